"""psycopg's failures as ris's typed errors: one line each, never the password.

As on SQLite (:func:`ris_core.sqlite.storage_error`), a driver failure leaves the store
as the matching :class:`~ris_core.errors.StorageError`::

    disk full, out of memory, a program limit   -> StorageFullError
    read-only transaction, missing privilege    -> ReadOnlyStorageError
    lock timeout, deadlock, serialisation       -> StorageLockedError
    data or index corrupted                     -> CorruptStorageError
    connection refused, dropped or timed out    -> StorageUnavailableError
    anything else                               -> StorageError

A constraint violation is the one exception: it stays a DB-API ``IntegrityError``
(:class:`IntegrityViolation`), because the stores catch that to tell "already exists"
from a failure.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

from ris_core.errors import (
    CorruptStorageError,
    ReadOnlyStorageError,
    StorageError,
    StorageFullError,
    StorageLockedError,
    StorageUnavailableError,
)
from ris_core.postgres.connection import connect_timeout

__all__ = ["IntegrityViolation", "integrity", "storage_error"]


class IntegrityViolation(sqlite3.IntegrityError):
    """A unique, foreign-key or check constraint refused a PostgreSQL write.

    The stores catch DB-API's ``IntegrityError`` to tell "already exists" from a failure;
    raising this subclass keeps that one ``except`` clause true on both databases. As on
    SQLite, the transaction it happened in is rolled back when the caller's error leaves it.
    """


@contextlib.contextmanager
def integrity() -> Iterator[None]:
    """Turn psycopg's ``IntegrityError`` raised inside into :class:`IntegrityViolation`."""
    import psycopg

    try:
        yield
    except psycopg.errors.IntegrityError as exc:
        raise IntegrityViolation(exc.diag.message_primary or type(exc).__name__) from exc


def storage_error(exc: Exception, *, path: str, wait: float, secret: str = "", connected: bool = True) -> StorageError:
    """The :class:`StorageError` for a psycopg failure on the database ``path``.

    ``wait`` is the lock wait the statement had (for the message), ``secret`` the password
    to scrub from the driver's text, and ``connected`` whether the connection is still
    usable: a connection-level failure on a dead connection means the server is unreachable.
    """
    import psycopg

    errors = psycopg.errors
    where = f"database {path}"
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    detail = first_line.replace(secret, "***") if secret else first_line
    if isinstance(exc, errors.DiskFull | errors.OutOfMemory | errors.ProgramLimitExceeded):
        return StorageFullError(f"{where} is full ({detail}); the failed write was undone", path=path)
    if isinstance(exc, errors.ReadOnlySqlTransaction | errors.InsufficientPrivilege):
        return ReadOnlyStorageError(
            f"{where} refused a write ({detail}): searching and listing work, changing it needs write access",
            path=path,
        )
    if isinstance(exc, errors.LockNotAvailable | errors.DeadlockDetected | errors.SerializationFailure):
        return StorageLockedError(
            f"{where} stayed locked by another connection for {wait:g} s ({detail}); retry when it is done "
            "(RIS_BUSY_TIMEOUT sets the wait)",
            path=path,
        )
    if isinstance(exc, errors.DataCorrupted | errors.IndexCorrupted):
        return CorruptStorageError(f"{where} is damaged ({detail})", path=path)
    if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError) and not connected:
        return StorageUnavailableError(
            f"cannot reach {where} within {connect_timeout()} s ({detail}); check that the server is "
            "running and the URL (RIS_CONNECT_TIMEOUT sets the wait)",
            path=path,
        )
    return StorageError(f"{where} failed: {detail}", path=path)
