"""The one seam every store writes through: a :class:`Database`, on a SQLite file or a
PostgreSQL server, chosen by where it is.

A location is a file path, ``:memory:``, a ``sqlite:///`` URL (the embedded default) or a
``postgresql://`` URL. Both implementations keep the same contract: ``transaction()``
commits or rolls back, ``snapshot()`` reads one state, ``query()`` reads, ``migrate()``
applies the same versioned scripts once, and every driver failure leaves as a
:class:`~ris_core.errors.StorageError`.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

__all__ = ["Database", "is_postgres", "open_database"]


class Database(Protocol):
    """What the catalog and the local store need of a database."""

    #: The database as messages name it (a file path, or a URL without its password).
    path: str
    #: What opens the same database again (for PostgreSQL, the full URL: never show it).
    location: str
    #: "sqlite" or "postgresql", for the few statements written per database.
    dialect: str
    #: Whether writes are refused (a read-only SQLite file).
    read_only: bool
    #: Serialises this process's use of the one connection.
    lock: threading.RLock

    def transaction(self, wait: float | None = None) -> AbstractContextManager[sqlite3.Connection]:
        """A write transaction, committed on success and rolled back on any exception."""
        ...

    def snapshot(self) -> AbstractContextManager[sqlite3.Connection]:
        """A read transaction that sees one state of the database."""
        ...

    def query(self, sql: str, parameters: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run a read and return every row."""
        ...

    def migrate(self, component: str, migrations: Sequence[str]) -> None:
        """Bring ``component``'s tables to the newest of ``migrations``."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...


def is_postgres(location: str | os.PathLike[str]) -> bool:
    """Whether ``location`` is a ``postgresql://`` URL."""
    from ris_core.postgres import is_postgres_url

    return is_postgres_url(os.fspath(location))


def open_database(location: str | os.PathLike[str]) -> Database:
    """The database at ``location``: a PostgreSQL server for a ``postgresql://`` URL, else a SQLite file."""
    if is_postgres(location):
        from ris_core.postgres import PostgresDatabase

        return PostgresDatabase(os.fspath(location))
    from ris_core.sqlite import Database as SQLiteDatabase

    return SQLiteDatabase(location)
