"""Every error ris raises, in one tree.

Each error subclasses the builtin a Python programmer would already catch for that
kind of failure, so ``except LookupError`` or ``except ValueError`` keep working::

    RisError
    ├── ConfigurationError
    │   ├── UnknownBackendError            (LookupError)
    │   ├── BackendUnavailableError        (ImportError)
    │   ├── BackendConflictError
    │   ├── UnsupportedOptionError         (TypeError)
    │   ├── UnknownEngineError             (LookupError)
    │   ├── EngineUnavailableError         (ImportError)
    │   ├── EngineConflictError
    │   └── EngineMismatchError
    ├── NotFoundError                      (LookupError)
    │   ├── ContextNotFoundError
    │   ├── ImageNotFoundError
    │   ├── FeaturesNotFoundError
    │   ├── TagNotFoundError
    │   ├── CollectionNotFoundError
    │   ├── SourceFileMissingError         (FileNotFoundError)
    │   └── SourceFileChangedError
    ├── AlreadyExistsError
    │   ├── ContextExistsError
    │   ├── ImageExistsError
    │   │   └── SourceConflictError
    │   └── CollectionExistsError
    ├── InvalidArgumentError               (ValueError)
    │   ├── InvalidIdError
    │   ├── InvalidThresholdError
    │   ├── InvalidCountError
    │   ├── InvalidMetadataError
    │   ├── InvalidExportError
    │   ├── SourceNotFoundError            (FileNotFoundError)
    │   └── InvalidImageError
    │       ├── EmptyImageError
    │       └── ImageTooLargeError
    ├── UnsupportedOperationError          (NotImplementedError)
    ├── BackendError
    │   ├── AuthenticationError
    │   ├── BackendTimeoutError            (TimeoutError)
    │   └── ServiceUnavailableError
    ├── StorageError                       (OSError)
    │   ├── StorageFullError
    │   ├── ReadOnlyStorageError           (PermissionError)
    │   ├── StorageLockedError             (TimeoutError)
    │   ├── CorruptStorageError
    │   ├── NewerSchemaError
    │   └── StorageUnavailableError        (ConnectionError)
    └── ContextBusyError                   (TimeoutError)

Backends translate their own failures into these at their boundary (``raise ... from
exc``), so user code never sees an SDK's or a driver's exception type. Every sqlite3
failure becomes a :class:`StorageError` in ``ris_core.sqlite``, and every psycopg failure
in ``ris_core.postgres``: the two places SQL runs.
"""

from __future__ import annotations

__all__ = [
    "AlreadyExistsError",
    "AuthenticationError",
    "BackendConflictError",
    "BackendError",
    "BackendTimeoutError",
    "BackendUnavailableError",
    "CollectionExistsError",
    "CollectionNotFoundError",
    "ConfigurationError",
    "ContextBusyError",
    "ContextExistsError",
    "ContextNotFoundError",
    "CorruptStorageError",
    "EmptyImageError",
    "EngineConflictError",
    "EngineMismatchError",
    "EngineUnavailableError",
    "FeaturesNotFoundError",
    "ImageExistsError",
    "ImageNotFoundError",
    "ImageTooLargeError",
    "InvalidArgumentError",
    "InvalidCountError",
    "InvalidExportError",
    "InvalidIdError",
    "InvalidImageError",
    "InvalidMetadataError",
    "InvalidThresholdError",
    "NewerSchemaError",
    "NotFoundError",
    "ReadOnlyStorageError",
    "RisError",
    "ServiceUnavailableError",
    "SourceConflictError",
    "SourceFileChangedError",
    "SourceFileMissingError",
    "SourceNotFoundError",
    "StorageError",
    "StorageFullError",
    "StorageLockedError",
    "StorageUnavailableError",
    "TagNotFoundError",
    "UnknownBackendError",
    "UnknownEngineError",
    "UnsupportedOperationError",
    "UnsupportedOptionError",
]


class RisError(Exception):
    """Base of every error raised by ris and its backends."""


# --- configuration ---------------------------------------------------------------


class ConfigurationError(RisError):
    """The system cannot be set up as asked (backend selection, options, plugins)."""


class UnknownBackendError(ConfigurationError, LookupError):
    """No installed plugin provides a backend of that name."""


class BackendUnavailableError(ConfigurationError, ImportError):
    """The backend is registered but its optional dependencies are not installed."""


class BackendConflictError(ConfigurationError):
    """Two plugins claim the same backend name."""


class UnsupportedOptionError(ConfigurationError, TypeError):
    """An option was passed that the selected backend does not understand."""


class UnknownEngineError(ConfigurationError, LookupError):
    """No installed plugin provides a feature engine of that name."""


class EngineUnavailableError(ConfigurationError, ImportError):
    """The engine is registered but its optional dependencies are not installed."""


class EngineConflictError(ConfigurationError):
    """Two plugins claim the same engine name."""


class EngineMismatchError(ConfigurationError):
    """A database's features were made by another engine and cannot be made again by
    this one, because the bytes of a stored image cannot be read."""


# --- lookups ---------------------------------------------------------------------


class NotFoundError(RisError, LookupError):
    """Something named by the caller does not exist."""


class ContextNotFoundError(NotFoundError):
    """No search context of that name exists."""


class ImageNotFoundError(NotFoundError):
    """No image with that id exists in the search context."""


class FeaturesNotFoundError(NotFoundError):
    """The image exists but has no stored features (they were deleted)."""


class TagNotFoundError(NotFoundError):
    """No tag of that name exists in the search context."""


class SourceFileMissingError(NotFoundError, FileNotFoundError):
    """An image stored by reference: the file it references is gone."""


class CollectionNotFoundError(NotFoundError):
    """No collection of that name exists in the search context."""


class AlreadyExistsError(RisError):
    """Something with that name already exists; nothing was changed."""


class ContextExistsError(AlreadyExistsError):
    """A search context of that name already exists."""


class ImageExistsError(AlreadyExistsError):
    """An image with that id is already stored; use ``update_image`` to replace it."""


class SourceConflictError(ImageExistsError):
    """An add would give an id to a second file, or replace the image another file holds."""


class CollectionExistsError(AlreadyExistsError):
    """A collection of that name already exists."""


# --- bad arguments ---------------------------------------------------------------


class InvalidArgumentError(RisError, ValueError):
    """An argument is outside what the operation accepts."""


class InvalidIdError(InvalidArgumentError):
    """An id (context, image, tag, collection) is empty, too long or path-like."""


class InvalidThresholdError(InvalidArgumentError):
    """A similarity threshold is not a number between 0 and 100."""


class InvalidCountError(InvalidArgumentError):
    """A maximum count is not a positive integer."""


class InvalidMetadataError(InvalidArgumentError):
    """Metadata is not a JSON object, or a metadata filter is malformed."""


class InvalidExportError(InvalidArgumentError):
    """An export to import is malformed, damaged or over a limit; nothing was imported."""


class SourceNotFoundError(InvalidArgumentError, FileNotFoundError):
    """A file or folder given as a source of images does not exist."""


class InvalidImageError(InvalidArgumentError):
    """The data is not a readable image of a supported format."""


class EmptyImageError(InvalidImageError):
    """The image data is zero bytes long."""


class ImageTooLargeError(InvalidImageError):
    """The image declares more pixels, or would cost more memory to decode, than allowed."""


class SourceFileChangedError(NotFoundError):
    """An image stored by reference: its file no longer holds the bytes that were indexed
    (they are not found where they were)."""


# --- backends --------------------------------------------------------------------


class UnsupportedOperationError(RisError, NotImplementedError):
    """The selected backend does not offer this operation."""


class BackendError(RisError):
    """The backend failed to carry out a valid request.

    ``status`` is the HTTP status (or ``None`` when there was no response), ``code`` the
    service's own error code when it sent one, ``transient`` says whether the same
    call may succeed if retried, and ``retry_after`` is the wait in seconds the service
    asked for (HTTP ``Retry-After``), if any.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        transient: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.transient = transient
        self.retry_after = retry_after


class AuthenticationError(BackendError):
    """The backend refused the credentials."""


class BackendTimeoutError(BackendError, TimeoutError):
    """The backend did not answer in time."""


class ServiceUnavailableError(BackendError):
    """The backend could not be reached or kept failing after every retry."""


# --- storage ---------------------------------------------------------------------


class StorageError(RisError, OSError):
    """The database could not be read or written (a sqlite3 or psycopg failure, translated).

    ``path`` is the database file, or a PostgreSQL URL without its password. The message
    is one line that says what to do.
    """

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path

    def __str__(self) -> str:
        # OSError's own __str__ would print the args tuple.
        return str(self.args[0]) if self.args else ""


class StorageFullError(StorageError):
    """The disk (or the database's size limit) is full; nothing of the failed write was kept."""


class ReadOnlyStorageError(StorageError, PermissionError):
    """The database can be read but not written (file permissions, a read-only mount)."""


class StorageLockedError(StorageError, TimeoutError):
    """Another connection kept the database locked for longer than the bounded wait."""


class CorruptStorageError(StorageError):
    """The file is not a SQLite database, or a page of it is damaged."""


class NewerSchemaError(StorageError):
    """The database was written by a newer version of ris; it is left untouched."""


class StorageUnavailableError(StorageError, ConnectionError):
    """The database server cannot be reached: down, refusing, or slower than the connect timeout."""


class ContextBusyError(RisError, TimeoutError):
    """The search context did not become idle within the time allowed."""
