"""SQLite connections set up the same way everywhere, forward-only schema migrations, and
the one place a sqlite3 failure becomes a :class:`~ris_core.errors.StorageError`.

The catalog and the local backend may share one database file, so each keeps its
schema version under its own name in ``ris_schema`` rather than in ``user_version``.

Opening reads and never writes, unless a migration is due (or the file is new): a
reader must not need the write lock, and a file the user cannot write must still open.
A file that cannot be written is opened read-only (searches and listings work; a write
raises :class:`~ris_core.errors.ReadOnlyStorageError`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ris_core.errors import (
    ConfigurationError,
    CorruptStorageError,
    InvalidArgumentError,
    NewerSchemaError,
    ReadOnlyStorageError,
    StorageError,
    StorageFullError,
    StorageLockedError,
)

__all__ = ["BEST_EFFORT_WAIT", "WRITE_WAIT", "Database", "resolve_path", "statements", "storage_error"]

logger = logging.getLogger("ris_core.sqlite")

MEMORY = ":memory:"

#: Seconds a write waits for another connection's lock before StorageLockedError;
#: ``$RIS_BUSY_TIMEOUT`` overrides it.
WRITE_WAIT = 30.0
#: Seconds a write that may be dropped (statistics, the saved-index cache) waits.
BEST_EFFORT_WAIT = 0.05

# Primary result codes (the low byte of an extended code), from sqlite3.h.
_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 5, 6, 8, 10, 11, 13, 14, 26


def resolve_path(location: str | os.PathLike[str]) -> str:
    """Accept a path, ``:memory:`` or a URL as SQLAlchemy spells it (``sqlite:///relative``,
    ``sqlite:////absolute``, ``sqlite://`` for memory); return what sqlite3 opens."""
    text = os.fspath(location)
    if text in (MEMORY, "sqlite://"):
        return MEMORY
    if "://" in text:
        scheme, _, rest = text.partition("://")
        if scheme != "sqlite":
            raise ConfigurationError(
                f"unsupported database URL scheme {scheme!r}; use a file path, sqlite:///path or postgresql://..."
            )
        text = rest.removeprefix("/")
    path = Path(text).expanduser()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    return str(path)


def write_wait() -> float:
    """The bounded wait for the write lock, in seconds (``$RIS_BUSY_TIMEOUT`` or :data:`WRITE_WAIT`)."""
    text = os.environ.get("RIS_BUSY_TIMEOUT", "")
    try:
        return max(0.0, float(text)) if text else WRITE_WAIT
    except ValueError:
        raise ConfigurationError(f"RIS_BUSY_TIMEOUT must be a number of seconds, not {text!r}") from None


def storage_error(exc: sqlite3.Error, path: str, wait: float = WRITE_WAIT) -> StorageError:
    """The :class:`StorageError` for a sqlite3 failure on the database at ``path``: one line
    that says what happened and what to do."""
    code = (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF
    where = "the in-memory database" if path == MEMORY else f"database {path}"
    if code == _FULL:
        return StorageFullError(f"{where} is full (no space left on its disk); the failed write was undone", path=path)
    if code == _READONLY:
        return ReadOnlyStorageError(
            f"{where} is read-only: searching and listing work, changing it needs write access", path=path
        )
    if code in (_BUSY, _LOCKED):
        return StorageLockedError(
            f"{where} stayed locked by another process for {wait:g} s; retry when it is done "
            "(RIS_BUSY_TIMEOUT sets the wait)",
            path=path,
        )
    if code in (_CORRUPT, _NOTADB):
        return CorruptStorageError(f"{where} is not a SQLite database or is damaged ({exc})", path=path)
    if code == _CANTOPEN:
        return StorageError(f"cannot open {where} ({exc}); check the path and its permissions", path=path)
    return StorageError(f"{where} failed: {exc}", path=path)


def statements(script: str) -> Iterator[str]:
    """The statements of an SQL script, split where SQLite itself says one ends.

    Splitting on every ``;`` would cut triggers and string literals that hold one.
    """
    buffer = ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if buffer.strip().strip(";").strip():
                yield buffer
            buffer = ""
    if buffer.strip().strip(";").strip():
        raise ConfigurationError(f"incomplete SQL statement in a migration: {buffer.strip()[:60]!r}")


def check_schema_version(path: str, component: str, current: int, migrations: Sequence[str]) -> int:
    """``current``, or :class:`NewerSchemaError` when a newer ris wrote ``path``'s schema.

    Both stores (SQLite here, PostgreSQL in :mod:`ris_core.postgres`) refuse a schema
    they do not know rather than guess at it.
    """
    if current > len(migrations):
        raise NewerSchemaError(
            f"{path} holds {component} schema version {current}, newer than this "
            f"ris understands ({len(migrations)}); upgrade ris",
            path=path,
        )
    return current


class Database:
    """One SQLite connection shared by threads, writes serialised by a lock.

    WAL lets readers in other processes keep searching while one process writes;
    ``synchronous=NORMAL`` keeps every committed transaction across a process crash.
    Every sqlite3 failure leaves this class as a :class:`StorageError`.
    """

    def __init__(self, location: str | os.PathLike[str]) -> None:
        self.path = resolve_path(location)
        #: What opens this database again (the same as ``path`` for a file).
        self.location = self.path
        #: The SQL dialect, for the few statements written per database (metadata filters).
        self.dialect = "sqlite"
        self.wait = write_wait()
        self.lock = threading.RLock()
        #: Whether the file was opened read-only (it could not be opened for writing).
        self.read_only = False
        with self.translated():
            if self.path != MEMORY and Path(self.path).exists() and not os.access(self.path, os.W_OK):
                self.read_only = True
            self.connection = self._connect(self._uri("mode=ro") if self.read_only else self.path)
            try:
                self._probe()
            except sqlite3.OperationalError as exc:
                # A WAL file in a folder we cannot write has no shared-memory index to
                # read through; read the file as it stands instead.
                if (exc.sqlite_errorcode & 0xFF) not in (_CANTOPEN, _READONLY) or not Path(self.path).exists():
                    raise
                self.connection.close()
                self.connection = self._connect(self._uri("mode=ro&immutable=1"))
                self.read_only = True
                self._probe()

    def _uri(self, query: str) -> str:
        return Path(self.path).absolute().as_uri() + "?" + query

    def _connect(self, target: str) -> sqlite3.Connection:
        connection = sqlite3.connect(
            target, check_same_thread=False, isolation_level=None, timeout=self.wait, uri=target.startswith("file:")
        )
        connection.execute("PRAGMA foreign_keys=ON")
        return connection

    def _probe(self) -> None:
        """Read the schema (a damaged or foreign file fails here), and put a writable file
        in WAL mode: a new one, or one another program made (the one write opening may
        make besides a migration; a ris file is in WAL mode from its first open on)."""
        self.connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        if self.path == MEMORY:
            return
        mode = str(self.connection.execute("PRAGMA journal_mode").fetchone()[0]).lower()
        if mode != "wal" and not self.read_only:
            try:
                self.connection.execute("PRAGMA journal_mode=WAL")
            except sqlite3.OperationalError as exc:  # read-only or busy: read it as it is
                logger.info("database %s stays in %s mode: %s", self.path, mode, exc)
        self.connection.execute("PRAGMA synchronous=NORMAL")

    @contextlib.contextmanager
    def translated(self, wait: float | None = None) -> Iterator[None]:
        """Turn a sqlite3 failure raised inside into the matching :class:`StorageError`
        (and text SQLite cannot hold into an InvalidArgumentError)."""
        try:
            yield
        except sqlite3.Error as exc:
            raise storage_error(exc, self.path, self.wait if wait is None else wait) from exc
        except UnicodeEncodeError as exc:  # a lone surrogate cannot be bound as SQLite text
            raise InvalidArgumentError(
                f"{exc.object[:60]!r} is not valid text (a lone surrogate, as from a file name that is not UTF-8)"
            ) from exc

    @contextlib.contextmanager
    def transaction(self, wait: float | None = None) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed on success, rolled back on any exception.

        ``wait`` bounds the wait for another connection's lock (default: :func:`write_wait`);
        a write that may be dropped passes a short one.
        """
        with self.lock, self.translated(wait):
            if wait is not None:
                self.connection.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
            try:
                self.connection.execute("BEGIN IMMEDIATE")
                try:
                    yield self.connection
                    self.connection.execute("COMMIT")
                except BaseException:
                    self._rollback()
                    raise
            finally:
                if wait is not None:
                    self.connection.execute(f"PRAGMA busy_timeout = {int(self.wait * 1000)}")

    def _rollback(self) -> None:
        # SQLite rolls back by itself after some failures (a full disk, an I/O error).
        if self.connection.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.connection.execute("ROLLBACK")

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every read inside sees one state of the file."""
        with self.lock, self.translated():
            self.connection.execute("BEGIN")
            try:
                yield self.connection
            finally:
                self._rollback()

    def query(self, sql: str, parameters: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run a read and return every row (SQLite values are dynamically typed)."""
        with self.lock, self.translated():
            return self.connection.execute(sql, parameters).fetchall()

    def data_version(self) -> int:
        """Changes whenever another connection (another process) commits."""
        with self.lock, self.translated():
            return int(self.connection.execute("PRAGMA data_version").fetchone()[0])

    def schema_version(self, component: str) -> int:
        """The schema version ``component``'s tables are at (0 if it has none yet)."""
        if not self.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ris_schema'"):
            return 0
        rows = self.query("SELECT version FROM ris_schema WHERE component = ?", (component,))
        return int(rows[0][0]) if rows else 0

    def migrate(self, component: str, migrations: Sequence[str]) -> None:
        """Bring ``component``'s tables to ``len(migrations)``, applying scripts in order.

        Reads first and writes only when a migration is due. Refuses a file written by a
        newer version of ris instead of guessing.
        """
        if check_schema_version(self.path, component, self.schema_version(component), migrations) == len(migrations):
            return
        try:
            with self.transaction() as connection:
                connection.execute(
                    "CREATE TABLE IF NOT EXISTS ris_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
                )
                # Another process may have migrated between the read and the lock.
                current = check_schema_version(self.path, component, self.schema_version(component), migrations)
                for script in migrations[current:]:
                    for statement in statements(script):
                        connection.execute(statement)
                connection.execute(
                    "INSERT INTO ris_schema (component, version) VALUES (?, ?) "
                    "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                    (component, len(migrations)),
                )
        except ReadOnlyStorageError as exc:
            raise ReadOnlyStorageError(
                f"{self.path} needs its {component} tables upgraded, but it is read-only; "
                "open it once with write access",
                path=self.path,
            ) from exc

    def close(self) -> None:
        """Close the connection."""
        with self.lock, self.translated():
            self.connection.close()
