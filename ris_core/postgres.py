"""A PostgreSQL database behind the same seam as :class:`ris_core.sqlite.Database`.

Every store in ris (the catalog, the local backend's tables, the engine record) talks to
a :class:`~ris_core.database.Database`: ``transaction()``, ``snapshot()``, ``query()``,
``migrate()``. This class gives that contract on a PostgreSQL server, so the same store
code and the same versioned migrations run on either. The stores' SQL is written once,
in the dialect both engines share; the few SQLite spellings it uses (``?`` parameters,
``INSERT OR IGNORE``/``OR REPLACE``, ``BLOB``, ``AUTOINCREMENT``) are rewritten here
once per statement and cached.

What differs from the SQLite file, and why:

- Text columns use the ``"C"`` collation, so ``ORDER BY image_id`` and ``first_id <
  second_id`` order by code point exactly as SQLite does, whatever the server's locale.
- Migrations run under a transaction-scoped advisory lock, and DDL is transactional in
  PostgreSQL, so processes opening a new database at once apply each version once.
- Writers do not serialise on one file lock. Each store's first write in a transaction
  updates its context's ``generation`` row, so writes to one context queue on that row
  lock (as they did on SQLite's lock) while other contexts proceed in parallel.
- A server that is down or unreachable fails within :func:`connect_timeout` seconds as a
  :class:`~ris_core.errors.StorageUnavailableError`; a lock held longer than the write
  wait is a :class:`~ris_core.errors.StorageLockedError`, as on SQLite.
- The password is kept only inside the connection string handed to libpq: ``path`` and
  every message name the database without it.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from typing import Any, cast
from urllib.parse import quote

from ris_core.errors import (
    BackendUnavailableError,
    ConfigurationError,
    CorruptStorageError,
    InvalidArgumentError,
    ReadOnlyStorageError,
    StorageError,
    StorageFullError,
    StorageLockedError,
    StorageUnavailableError,
)
from ris_core.sqlite import check_schema_version, write_wait

__all__ = [
    "CITUS_LAYOUT",
    "CONNECT_TIMEOUT",
    "SCHEMES",
    "IntegrityViolation",
    "PostgresDatabase",
    "citus_statements",
    "connect_timeout",
    "is_postgres_url",
    "postgres_ddl",
    "postgres_sql",
    "postgres_statements",
    "redacted",
]

logger = logging.getLogger("ris_core.postgres")

#: URL schemes that select PostgreSQL (``+psycopg`` as SQLAlchemy spells the driver).
SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")
#: Seconds to wait for the server to accept a connection; ``$RIS_CONNECT_TIMEOUT`` overrides it.
CONNECT_TIMEOUT = 10

#: A conflict target for each table the stores write with ``INSERT OR REPLACE``: its primary key.
_REPLACE_KEYS = {"local_features": ("ref", "key"), "local_index_state": ("ref",)}
#: Changes to a shared component's schema made on PostgreSQL only, applied (as the
#: component ``<name>-postgresql``) right after the component's own migrations: here,
#: the context in the key of the one catalog table whose key lacked it (for Citus).
_AMENDMENTS = {
    "catalog": (
        "ALTER TABLE catalog_latencies DROP CONSTRAINT catalog_latencies_pkey; "
        "ALTER TABLE catalog_latencies ADD PRIMARY KEY (backend, context, id)",
    ),
}

#: How the schema shards on Citus: each distributed table with its distribution column
#: (tables sharing a column's values are co-located in one group), then the reference
#: tables (small, copied to every node). Every primary, unique and foreign key of a
#: distributed table includes its distribution column (tests/postgres checks it).
CITUS_LAYOUT: dict[str, Any] = {
    "distributed": {
        # The local backend, by context ref: one context's rows live on one shard.
        "local_contexts": "ref",
        "local_images": "ref",
        "local_features": "ref",
        "local_changes": "ref",
        "local_tag_references": "ref",
        "local_index_state": "ref",
        "local_index_blocks": "ref",
        # The catalog, by context name (catalog_contexts calls it ``name``).
        "catalog_contexts": "name",
        "catalog_images": "context",
        "catalog_tags": "context",
        "catalog_collections": "context",
        "catalog_collection_members": "context",
        "catalog_tag_references": "context",
        "catalog_counters": "context",
        "catalog_latencies": "context",
        "catalog_not_duplicates": "context",
    },
    "reference": ("ris_schema", "local_engine"),
}
#: The generated key of each table whose inserts read ``cursor.lastrowid``.
_GENERATED_KEYS = {"local_images": "key", "local_tag_references": "id", "catalog_latencies": "id"}


class IntegrityViolation(sqlite3.IntegrityError):
    """A unique, foreign-key or check constraint refused a PostgreSQL write.

    The stores catch DB-API's ``IntegrityError`` to tell "already exists" from a failure;
    raising this subclass keeps that one ``except`` clause true on both databases. As on
    SQLite, the transaction it happened in is rolled back when the caller's error leaves it.
    """


def is_postgres_url(location: object) -> bool:
    """Whether ``location`` names a PostgreSQL database (a ``postgresql://`` URL)."""
    return isinstance(location, str) and location.lower().startswith(SCHEMES)


def connect_timeout() -> int:
    """Seconds to wait for the server (``$RIS_CONNECT_TIMEOUT`` or :data:`CONNECT_TIMEOUT`; libpq's minimum is 2)."""
    text = os.environ.get("RIS_CONNECT_TIMEOUT", "")
    try:
        return max(2, round(float(text))) if text else CONNECT_TIMEOUT
    except ValueError:
        raise ConfigurationError(f"RIS_CONNECT_TIMEOUT must be a number of seconds, not {text!r}") from None


def _conninfo(url: str) -> dict[str, Any]:
    from psycopg.conninfo import conninfo_to_dict

    text = re.sub(r"^postgresql\+psycopg://", "postgresql://", url, flags=re.IGNORECASE)
    try:
        return dict(conninfo_to_dict(text))
    except Exception:  # psycopg echoes the text it could not parse, password and all
        raise ConfigurationError(
            "the PostgreSQL URL cannot be parsed; write it as postgresql://user@host:port/database "
            "(with ?host=/socket/folder for a Unix socket)"
        ) from None


def redacted(url: str) -> str:
    """The URL without its password: what messages and ``path`` show."""
    info = _conninfo(url)
    user = f"{quote(str(info['user']), safe='')}@" if info.get("user") else ""
    host = str(info.get("host") or "")
    port = f":{info['port']}" if info.get("port") else ""
    database = quote(str(info.get("dbname") or ""), safe="")
    if host.startswith("/"):  # a Unix socket folder cannot sit in the authority part
        return f"postgresql://{user}{port}/{database}?host={host}"
    return f"postgresql://{user}{host}{port}/{database}"


@functools.lru_cache(maxsize=1024)
def postgres_sql(sql: str) -> str:
    """A store statement in PostgreSQL's spelling: ``%s`` parameters, upserts for
    ``INSERT OR REPLACE``/``OR IGNORE``."""
    text = sql.replace("%", "%%").replace("?", "%s")
    ignore = re.match(r"\s*INSERT OR IGNORE INTO", text, re.IGNORECASE)
    if ignore:
        return "INSERT INTO" + text[ignore.end() :] + " ON CONFLICT DO NOTHING"
    replace = re.match(r"\s*INSERT OR REPLACE INTO\s+(\w+)\s*\(([^)]*)\)", text, re.IGNORECASE)
    if replace:
        table, columns = replace.group(1), [c.strip() for c in replace.group(2).split(",")]
        if table not in _REPLACE_KEYS:
            raise ConfigurationError(f"no conflict target known for INSERT OR REPLACE INTO {table}")
        keys = _REPLACE_KEYS[table]
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
        rest = text[replace.end() :]
        return (
            f"INSERT INTO {table} ({', '.join(columns)}){rest} ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}"
        )
    upsert = re.match(r"\s*INSERT INTO\s+(\w+)", text, re.IGNORECASE)
    if upsert and "DO UPDATE SET" in text:
        # SQLite reads a bare column in DO UPDATE as the existing row's; PostgreSQL calls it ambiguous.
        text = re.sub(r"= (\w+) \+ excluded\.", lambda m: f"= {upsert.group(1)}.{m.group(1)} + excluded.", text)
    return text


def postgres_statements(script: str) -> Iterator[str]:
    """The statements of a migration script, split at each ``;`` outside quotes and comments.

    SQLite's own splitter (``sqlite3.complete_statement``) would wait for a ``BEGIN ...
    END`` body after PostgreSQL's one-line ``CREATE TRIGGER``.
    """
    start, index, quote = 0, 0, ""
    while index < len(script):
        char = script[index]
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif script.startswith("--", index):
            newline = script.find("\n", index)
            index = len(script) if newline < 0 else newline
            continue
        elif char == ";":
            if script[start:index].strip():
                yield script[start:index].strip()
            start = index + 1
        index += 1
    if quote:
        raise ConfigurationError(f"unterminated quote in a migration: {script[start:].strip()[:60]!r}")
    if script[start:].strip():
        yield script[start:].strip()


def postgres_ddl(statement: str) -> str:
    """A migration statement in PostgreSQL's types: BIGINT keys (identity for
    AUTOINCREMENT), BYTEA for BLOB, DOUBLE PRECISION for REAL, TEXT in the "C" collation."""
    text = re.sub(
        r"\bINTEGER PRIMARY KEY AUTOINCREMENT\b", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", statement
    )
    text = re.sub(r"\bINTEGER\b", "BIGINT", text)
    text = re.sub(r"\bBLOB\b", "BYTEA", text)
    text = re.sub(r"\bREAL\b", "DOUBLE PRECISION", text)
    return re.sub(r"\bTEXT\b", 'TEXT COLLATE "C"', text)


def citus_statements() -> list[str]:
    """The statements that shard an existing ris database on a Citus coordinator, in order:
    reference tables first, then each distributed table co-located with the first of its
    group (``local_contexts`` for the local tables, ``catalog_contexts`` for the catalog).

    Not run by ris: an operator runs them once, with ``citus.enable_unsafe_triggers = on``
    for the change-log triggers (which touch only their own ref's rows).
    """
    statements = [f"SELECT create_reference_table('{table}')" for table in CITUS_LAYOUT["reference"]]
    leaders: dict[str, str] = {}
    for table, column in CITUS_LAYOUT["distributed"].items():
        group = "local" if table.startswith("local_") else "catalog"
        if group not in leaders:
            leaders[group] = table
            statements.append(f"SELECT create_distributed_table('{table}', '{column}')")
        else:
            statements.append(
                f"SELECT create_distributed_table('{table}', '{column}', colocate_with => '{leaders[group]}')"
            )
    return statements


def _parameters(parameters: Sequence[object]) -> list[object]:
    # SQLite stores a bool as 0 or 1 in an INTEGER column; PostgreSQL refuses a boolean there.
    return [int(value) if isinstance(value, bool) else value for value in parameters]


class _Cursor:
    """The part of sqlite3.Cursor the stores use, over a psycopg cursor."""

    def __init__(self, cursor: Any, lastrowid: int | None = None) -> None:
        self._cursor = cursor
        self.lastrowid = lastrowid

    @property
    def rowcount(self) -> int:
        """Rows the statement changed."""
        return int(self._cursor.rowcount)

    def fetchone(self) -> tuple[Any, ...] | None:
        """The next row, or None."""
        if self._cursor.description is None:
            return None
        row = self._cursor.fetchone()
        return None if row is None else tuple(row)

    def fetchall(self) -> list[tuple[Any, ...]]:
        """Every remaining row."""
        if self._cursor.description is None:
            return []
        return [tuple(row) for row in self._cursor.fetchall()]


class _Connection:
    """The part of sqlite3.Connection the stores use inside a transaction, over psycopg."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def execute(self, sql: str, parameters: Sequence[object] = ()) -> _Cursor:
        """Run one statement (SQLite spelling) and return its cursor."""
        text = postgres_sql(sql)
        table = re.match(r"\s*INSERT INTO\s+(\w+)", text, re.IGNORECASE)
        generated = _GENERATED_KEYS.get(table.group(1)) if table else None
        if generated and "RETURNING" not in text.upper():
            cursor = self._run(f"{text} RETURNING {generated}", parameters)
            row = cursor.fetchone()
            return _Cursor(cursor, None if row is None else int(row[0]))
        return _Cursor(self._run(text, parameters))

    def executemany(self, sql: str, rows: Sequence[Sequence[object]] | Iterator[Sequence[object]]) -> _Cursor:
        """Run one statement for each parameter row."""
        cursor = self._connection.cursor()
        with _integrity():
            cursor.executemany(postgres_sql(sql), [_parameters(row) for row in rows])
        return _Cursor(cursor)

    def _run(self, text: str, parameters: Sequence[object]) -> Any:
        with _integrity():
            return self._connection.execute(text, _parameters(parameters))


@contextlib.contextmanager
def _integrity() -> Iterator[None]:
    import psycopg

    try:
        yield
    except psycopg.errors.IntegrityError as exc:
        raise IntegrityViolation(exc.diag.message_primary or type(exc).__name__) from exc


class PostgresDatabase:
    """One PostgreSQL connection shared by threads, with :class:`~ris_core.sqlite.Database`'s contract.

    ``path`` is the URL without its password (for messages); ``location`` is what to pass
    to open the same database again (it holds the password, so it is never shown).
    """

    #: A server is never opened read-only by ris: a role without write grants fails on write.
    read_only = False
    #: The SQL dialect, for the few statements written per database (metadata filters).
    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        try:
            import psycopg  # noqa: F401
        except ImportError as exc:
            raise BackendUnavailableError(
                f"a postgresql:// database needs psycopg: pip install 'ris[postgresql]' ({exc})"
            ) from exc
        self.location = url
        self.path = redacted(url)
        self._secret = str(_conninfo(url).get("password") or "")
        self.wait = write_wait()
        self.lock = threading.RLock()
        self.connection: Any = None
        with self.translated():
            self._connect()

    def _connect(self) -> None:
        import psycopg

        text = re.sub(r"^postgresql\+psycopg://", "postgresql://", self.location, flags=re.IGNORECASE)
        self.connection = psycopg.connect(
            text, autocommit=True, connect_timeout=connect_timeout(), application_name="ris"
        )

    def _ready(self) -> Any:
        """The connection, opened again if the server dropped it (a restart, an idle timeout)."""
        if self.connection is None or self.connection.closed or self.connection.broken:
            logger.info("reconnecting to %s", self.path)
            self._connect()
        return self.connection

    def _scrub(self, text: str) -> str:
        return text.replace(self._secret, "***") if self._secret else text

    def storage_error(self, exc: Exception, wait: float) -> StorageError:
        """The :class:`StorageError` for a psycopg failure: one line, no password."""
        import psycopg

        errors = psycopg.errors
        where = f"database {self.path}"
        detail = self._scrub(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        if isinstance(exc, errors.DiskFull | errors.OutOfMemory | errors.ProgramLimitExceeded):
            return StorageFullError(f"{where} is full ({detail}); the failed write was undone", path=self.path)
        if isinstance(exc, errors.ReadOnlySqlTransaction | errors.InsufficientPrivilege):
            return ReadOnlyStorageError(
                f"{where} refused a write ({detail}): searching and listing work, changing it needs write access",
                path=self.path,
            )
        if isinstance(exc, errors.LockNotAvailable | errors.DeadlockDetected | errors.SerializationFailure):
            return StorageLockedError(
                f"{where} stayed locked by another connection for {wait:g} s ({detail}); retry when it is done "
                "(RIS_BUSY_TIMEOUT sets the wait)",
                path=self.path,
            )
        if isinstance(exc, errors.DataCorrupted | errors.IndexCorrupted):
            return CorruptStorageError(f"{where} is damaged ({detail})", path=self.path)
        if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError) and (
            self.connection is None or self.connection.closed or self.connection.broken
        ):
            return StorageUnavailableError(
                f"cannot reach {where} within {connect_timeout()} s ({detail}); check that the server is "
                "running and the URL (RIS_CONNECT_TIMEOUT sets the wait)",
                path=self.path,
            )
        return StorageError(f"{where} failed: {detail}", path=self.path)

    @contextlib.contextmanager
    def translated(self, wait: float | None = None) -> Iterator[None]:
        """Turn a psycopg failure raised inside into the matching :class:`StorageError`."""
        import psycopg

        try:
            yield
        except psycopg.Error as exc:
            raise self.storage_error(exc, self.wait if wait is None else wait) from None
        except UnicodeEncodeError as exc:
            raise InvalidArgumentError(
                f"{exc.object[:60]!r} is not valid text (a lone surrogate, as from a file name that is not UTF-8)"
            ) from exc
        except ValueError as exc:  # psycopg refuses NUL characters in text
            if "NUL" not in str(exc):
                raise
            raise InvalidArgumentError("text holding a NUL character cannot be stored in PostgreSQL") from exc

    @contextlib.contextmanager
    def transaction(self, wait: float | None = None) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed on success, rolled back on any exception.

        ``wait`` bounds how long a statement waits for another connection's row lock.
        """
        with self.lock, self.translated(wait):
            connection = self._ready()
            with connection.transaction():
                milliseconds = max(1, int((self.wait if wait is None else wait) * 1000))
                connection.execute(f"SET LOCAL lock_timeout = {milliseconds}")
                # The stores are typed against sqlite3.Connection; this gives the part they use.
                yield cast(sqlite3.Connection, _Connection(connection))

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every read inside sees one state of the database."""
        with self.lock, self.translated():
            connection = self._ready()
            with connection.transaction():
                connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield cast(sqlite3.Connection, _Connection(connection))

    def query(self, sql: str, parameters: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run a read and return every row.

        A read that finds its connection dropped (the server restarted, a proxy timed it
        out) runs once more on a new one: reading twice changes nothing. Writes are not
        retried: the caller hears of the failure and decides.
        """
        import psycopg

        with self.lock, self.translated():
            try:
                cursor = self._ready().execute(postgres_sql(sql), _parameters(parameters))
            except psycopg.OperationalError:
                if not self.connection.broken:
                    raise
                cursor = self._ready().execute(postgres_sql(sql), _parameters(parameters))
            return [] if cursor.description is None else [tuple(row) for row in cursor.fetchall()]

    def schema_version(self, component: str) -> int:
        """The schema version ``component``'s tables are at (0 if it has none yet)."""
        if not self.query("SELECT 1 FROM pg_catalog.pg_tables WHERE tablename = 'ris_schema' "
                          "AND schemaname = current_schema()"):  # fmt: skip
            return 0
        rows = self.query("SELECT version FROM ris_schema WHERE component = ?", (component,))
        return int(rows[0][0]) if rows else 0

    def migrate(self, component: str, migrations: Sequence[str]) -> None:
        """Bring ``component``'s tables to ``len(migrations)``, once, however many processes open at once.

        Reads first; when a migration is due, takes an advisory lock for the transaction,
        reads again, and applies the missing scripts (DDL included) in that one transaction.
        Then the component's PostgreSQL-only amendments (``<component>-postgresql``), the same way.
        """
        self._migrate(component, migrations)
        if component in _AMENDMENTS:
            self._migrate(f"{component}-postgresql", _AMENDMENTS[component])

    def _migrate(self, component: str, migrations: Sequence[str]) -> None:
        if check_schema_version(self.path, component, self.schema_version(component), migrations) == len(migrations):
            return
        with self.transaction() as connection:
            connection.execute("SELECT pg_advisory_xact_lock(hashtext('ris_schema'))")
            connection.execute(
                "CREATE TABLE IF NOT EXISTS ris_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
            row = connection.execute("SELECT version FROM ris_schema WHERE component = ?", (component,)).fetchone()
            current = check_schema_version(self.path, component, int(row[0]) if row else 0, migrations)
            for script in migrations[current:]:
                for statement in postgres_statements(script):
                    connection.execute(postgres_ddl(statement))
            connection.execute(
                "INSERT INTO ris_schema (component, version) VALUES (?, ?) "
                "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
                (component, len(migrations)),
            )

    def close(self) -> None:
        """Close the connection."""
        with self.lock, contextlib.suppress(Exception):
            if self.connection is not None:
                self.connection.close()
