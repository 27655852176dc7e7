""":class:`PostgresDatabase`: the :class:`~ris_core.database.Database` contract on a PostgreSQL server.

How it keeps the contract, and where it differs from the SQLite file:

- Writers do not serialise on one file lock. Each store's first write in a transaction
  updates its context's ``generation`` row, so writes to one context queue on that row
  lock (as they did on SQLite's lock) while other contexts proceed in parallel; a lock
  held longer than the write wait is a :class:`~ris_core.errors.StorageLockedError`.
- One connection is shared by the process's threads under a lock, and opened again when
  the server dropped it (a restart, an idle timeout); a read that found it dropped runs
  once more, a write never does.
- A snapshot is a ``REPEATABLE READ, READ ONLY`` transaction, so every read inside it sees
  one state; a lone ``query()`` runs on its own (autocommit).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from typing import Any, cast

from ris_core.errors import BackendUnavailableError, InvalidArgumentError, StorageError
from ris_core.postgres import schema
from ris_core.postgres.adapter import ConnectionAdapter
from ris_core.postgres.connection import connect, conninfo, redacted
from ris_core.postgres.dialect import postgres_parameters, postgres_sql
from ris_core.postgres.errors import storage_error
from ris_core.sqlite import write_wait

__all__ = ["PostgresDatabase"]

logger = logging.getLogger("ris_core.postgres")


class PostgresDatabase:
    """One PostgreSQL connection shared by threads, with :class:`~ris_core.sqlite.Database`'s contract.

    ``path`` is the URL without its password (for messages); ``location`` is what to pass
    to open the same database again (it holds the password, so it is never shown).
    Raises :class:`~ris_core.errors.BackendUnavailableError` without psycopg, and a
    :class:`~ris_core.errors.StorageError` if the server cannot be reached.
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
        self._secret = str(conninfo(url).get("password") or "")
        self.wait = write_wait()
        self.lock = threading.RLock()
        self.connection: Any = None
        with self.translated():
            self.connection = connect(self.location)

    def _connected(self) -> bool:
        return not (self.connection is None or self.connection.closed or self.connection.broken)

    def _ready(self) -> Any:
        """The connection, opened again if the server dropped it (a restart, an idle timeout)."""
        if not self._connected():
            logger.info("reconnecting to %s", self.path)
            self.connection = connect(self.location)
        return self.connection

    def storage_error(self, exc: Exception, wait: float) -> StorageError:
        """The :class:`StorageError` for a psycopg failure: one line, no password."""
        return storage_error(exc, path=self.path, wait=wait, secret=self._secret, connected=self._connected())

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
                yield cast(sqlite3.Connection, ConnectionAdapter(connection))

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: every read inside sees one state of the database."""
        with self.lock, self.translated():
            connection = self._ready()
            with connection.transaction():
                connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                yield cast(sqlite3.Connection, ConnectionAdapter(connection))

    def query(self, sql: str, parameters: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run a read and return every row.

        A read that finds its connection dropped (the server restarted, a proxy timed it
        out) runs once more on a new one: reading twice changes nothing. Writes are not
        retried: the caller hears of the failure and decides.
        """
        import psycopg

        with self.lock, self.translated():
            try:
                cursor = self._ready().execute(postgres_sql(sql), postgres_parameters(parameters))
            except psycopg.OperationalError:
                if not self.connection.broken:
                    raise
                cursor = self._ready().execute(postgres_sql(sql), postgres_parameters(parameters))
            return [] if cursor.description is None else [tuple(row) for row in cursor.fetchall()]

    def schema_version(self, component: str) -> int:
        """The schema version ``component``'s tables are at (0 if it has none yet)."""
        return schema.schema_version(self, component)

    def migrate(self, component: str, migrations: Sequence[str]) -> None:
        """Bring ``component``'s tables to ``len(migrations)``, once, however many processes
        open at once (see :func:`ris_core.postgres.schema.migrate`)."""
        schema.migrate(self, component, migrations)

    def close(self) -> None:
        """Close the connection."""
        with self.lock, contextlib.suppress(Exception):
            if self.connection is not None:
                self.connection.close()
