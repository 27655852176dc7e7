"""SQLite connections set up the same way everywhere, and forward-only schema migrations.

The catalog and the local backend may share one database file, so each keeps its
schema version under its own name in ``ris_schema`` rather than in ``user_version``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ris_core.errors import ConfigurationError

__all__ = ["Database", "resolve_path"]

MEMORY = ":memory:"


def resolve_path(location: str | os.PathLike[str]) -> str:
    """Accept a path, ``:memory:`` or a URL as SQLAlchemy spells it (``sqlite:///relative``,
    ``sqlite:////absolute``, ``sqlite://`` for memory); return what sqlite3 opens."""
    text = os.fspath(location)
    if text in (MEMORY, "sqlite://"):
        return MEMORY
    if "://" in text:
        scheme, _, rest = text.partition("://")
        if scheme != "sqlite":
            raise ConfigurationError(f"unsupported database URL scheme {scheme!r}; use a file path or sqlite:///path")
        text = rest.removeprefix("/")
    path = Path(text).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path)


class Database:
    """One SQLite connection shared by threads, writes serialised by a lock.

    WAL lets readers in other processes keep searching while one process writes;
    ``synchronous=NORMAL`` keeps every committed transaction across a process crash.
    """

    def __init__(self, location: str | os.PathLike[str]) -> None:
        self.path = resolve_path(location)
        try:
            self.connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30.0)
            if self.path != MEMORY:
                self.connection.execute("PRAGMA journal_mode=WAL")
            self.connection.execute("PRAGMA synchronous=NORMAL")
            self.connection.execute("PRAGMA foreign_keys=ON")
        except sqlite3.DatabaseError as exc:
            raise ConfigurationError(f"cannot open database {self.path!r}: {exc}") from exc
        self.lock = threading.RLock()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed on success, rolled back on any exception."""
        with self.lock:
            self.connection.execute("BEGIN IMMEDIATE")
            try:
                yield self.connection
            except BaseException:
                # SQLite has already rolled back after some errors (SQLITE_FULL, say);
                # a second rollback would replace the real error with its own.
                if self.connection.in_transaction:
                    self.connection.execute("ROLLBACK")
                raise
            self.connection.execute("COMMIT")

    def query(self, sql: str, parameters: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run a read and return every row (SQLite values are dynamically typed)."""
        with self.lock:
            return self.connection.execute(sql, parameters).fetchall()

    def data_version(self) -> int:
        """Changes whenever another connection (another process) commits."""
        with self.lock:
            return int(self.connection.execute("PRAGMA data_version").fetchone()[0])

    def migrate(self, component: str, migrations: Sequence[str]) -> None:
        """Bring ``component``'s tables to ``len(migrations)``, applying scripts in order.

        Refuses a file written by a newer version of ris instead of guessing.
        """
        with self.transaction() as connection:
            connection.execute(
                "CREATE TABLE IF NOT EXISTS ris_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
            )
            row = connection.execute("SELECT version FROM ris_schema WHERE component = ?", (component,)).fetchone()
            current = int(row[0]) if row else 0
            if current > len(migrations):
                raise ConfigurationError(
                    f"{self.path!r} holds {component} schema version {current}, newer than this "
                    f"ris understands ({len(migrations)}); upgrade ris"
                )
            for script in migrations[current:]:
                for statement in script.split(";"):
                    if statement.strip():
                        connection.execute(statement)
            connection.execute(
                "INSERT INTO ris_schema (component, version) VALUES (?, ?) "
                "ON CONFLICT(component) DO UPDATE SET version = excluded.version",
                (component, len(migrations)),
            )

    def close(self) -> None:
        """Close the connection."""
        with self.lock:
            self.connection.close()
