"""Which engine a local database uses: chosen by name, remembered in the file.

Engines are registered through :func:`ris_core.hookspecs.ris_register_engines` (the two
built-in ones by :mod:`ris_local.plugin`) and selected with
``ris_core.open("local", engine="name")``. The database records the engine it was last
opened with, so opening it again without ``engine=`` keeps that engine rather than
silently re-extracting every image with the default. Opening it with another engine
re-extracts the stored images' features before the backend is handed back (a read-only
file cannot take them, so they are held in memory for that process: see
:meth:`ris_local.storage.store.LocalStore.keep_features`); when an image's bytes cannot be read
(a reference to a file that is gone, bytes that no longer decode), opening stops with
:class:`~ris_core.errors.EngineMismatchError` naming the image and the engine to open
the database with instead. The record keeps the old engine's name, marked unfinished,
so the next open (with either engine) checks every row again and no blob is left made by
an engine the record does not name.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ris_core.errors import (
    EngineUnavailableError,
    InvalidImageError,
    NotFoundError,
    ReadOnlyStorageError,
    SourceNotFoundError,
    StorageError,
    UnknownEngineError,
)
from ris_core.plugins import PluginSet, current_plugins, normalize_name
from ris_core.sqlite import Database
from ris_local.defaults import DEFAULT_ENGINE
from ris_local.engine import Engine

__all__ = [
    "DEFAULT_ENGINE",
    "UNREADABLE_IMAGE_ERRORS",
    "EngineRecord",
    "RecordedEngine",
    "choose_engine",
    "load_engine",
    "mismatch_message",
    "registered_name",
]

logger = logging.getLogger("ris_local")

#: What reading or decoding a stored image raises when its bytes are gone or broken.
UNREADABLE_IMAGE_ERRORS = (InvalidImageError, SourceNotFoundError, NotFoundError)

_MIGRATIONS = (
    """
    CREATE TABLE local_engine (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        name TEXT NOT NULL,
        algorithm TEXT NOT NULL,
        version TEXT NOT NULL
    )
    """,
)


@dataclass(frozen=True, slots=True)
class RecordedEngine:
    """The engine a database was last opened with (``name`` is "" for an engine passed
    as an object that no plugin registers)."""

    name: str
    algorithm: str
    version: str

    @classmethod
    def of(cls, name: str, engine: Engine) -> RecordedEngine:
        """The record of ``engine`` selected as ``name``."""
        return cls(name, engine.algorithm, engine.version)


def load_engine(name: str, plugins: PluginSet | None = None) -> Engine:
    """A new instance of the engine registered as ``name``.

    UnknownEngineError lists the installed engines; EngineUnavailableError says what
    to install; EngineConflictError names both plugins claiming the name.
    """
    engine_class = (plugins or current_plugins()).engine_spec(name).load_class(Engine)  # type: ignore[type-abstract]
    return engine_class()


def registered_name(engine: Engine, plugins: PluginSet | None = None) -> str:
    """The name the engine's class is registered under, or "" (no class is imported
    that is not already: only class targets and already-imported modules are checked)."""
    plugins = plugins or current_plugins()
    cls = type(engine)
    qualified = f"{cls.__module__}:{cls.__qualname__}"
    for name, claims in plugins.engine_specs.items():
        if len(claims) == 1 and claims[0].target in (cls, qualified):
            return name
    return ""


def choose_engine(requested: Engine | str | None, recorded: RecordedEngine | None) -> tuple[str, Engine]:
    """The engine to open a database with, and its registered name."""
    if isinstance(requested, Engine):
        return registered_name(requested), requested
    if requested is not None:
        return normalize_name(requested), load_engine(requested)
    if recorded is None or not recorded.name:
        return DEFAULT_ENGINE, load_engine(DEFAULT_ENGINE)
    try:
        return recorded.name, load_engine(recorded.name)
    except (UnknownEngineError, EngineUnavailableError) as exc:
        raise type(exc)(
            f"this database's features were made by engine {recorded.name!r}, which cannot be loaded: {exc}; "
            "install it, or pass engine= to re-extract every image with another engine"
        ) from exc


class EngineRecord:
    """The one-row table naming a database's engine."""

    def __init__(self, database: Database) -> None:
        self.database = database
        try:
            database.migrate("local-engine", _MIGRATIONS)
            self.available = True
        except ReadOnlyStorageError:  # a read-only file made before engines were recorded
            self.available = False

    def read(self) -> RecordedEngine | None:
        """The recorded engine, or None for a new database or one made before records."""
        if not self.available:
            return None
        rows = self.database.query("SELECT name, algorithm, version FROM local_engine")
        return RecordedEngine(*map(str, rows[0])) if rows else None

    def write(self, record: RecordedEngine) -> None:
        """Record the engine (a read-only file keeps its record: it was not re-extracted)."""
        if not self.available:
            return
        try:
            with self.database.transaction() as db:
                db.execute(
                    "INSERT INTO local_engine (id, name, algorithm, version) VALUES (1, ?, ?, ?) "
                    "ON CONFLICT(id) DO UPDATE SET name = excluded.name, algorithm = excluded.algorithm, "
                    "version = excluded.version",
                    (record.name, record.algorithm, record.version),
                )
        except StorageError as exc:
            logger.info("engine record not written: %s", exc)


def mismatch_message(
    image_id: str, previous: RecordedEngine | None, current: RecordedEngine, exc: BaseException
) -> str:
    """Why the features of ``image_id`` cannot be re-extracted, and what to do instead."""
    made_by = f"engine {previous.name!r}" if previous and previous.name else "another engine"
    wanted = repr(current.name) if current.name else f"{current.algorithm} {current.version}"
    back = f"open it with engine={previous.name!r}, or " if previous and previous.name else ""
    return (
        f"this database's features were made by {made_by}; re-extracting them with engine {wanted} "
        f"needs the bytes of image {image_id!r}, which cannot be read ({type(exc).__name__}: {exc}); "
        f"{back}restore the image's file or delete the image (`ris index --prune` drops every image whose "
        "file is gone)"
    )
