"""ris: reverse image search with one API over an offline engine and cloud services.

::

    import ris_core

    with ris_core.open() as ris:                       # the offline "local" backend
        photos = ris.context("photos", create=True)
        photos.add_image("beach.jpg", "holiday/beach.jpg")
        for match in photos.find_similar_images(image="query.jpg"):
            print(match.image_id, match.similarity)

:func:`open` selects a backend by name; :func:`available_backends` (and, for the local
backend's feature engines, :func:`available_engines`) list what the
installed plugins offer. Errors are in :mod:`ris_core.errors`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the same names, imported on first use below (a command starts faster)
    from ris_core.api import DEFAULT_BACKEND, available_backends, available_engines, open
    from ris_core.backend import Backend, Capability
    from ris_core.context import SearchContext
    from ris_core.hookspecs import hookimpl
    from ris_core.images import ImageData, load_image
    from ris_core.ingest import IngestItem, IngestReport, IngestStatus
    from ris_core.models import (
        BackendInfo,
        CollectionInfo,
        Comparison,
        ContextInfo,
        ContextState,
        ContextStats,
        ContextStatus,
        DuplicateGroup,
        EngineInfo,
        ImageFeatures,
        ImageInfo,
        LatencySummary,
        SearchResult,
    )
    from ris_core.retry import RetryPolicy
    from ris_core.system import ImageSearch

__all__ = [
    "DEFAULT_BACKEND",
    "Backend",
    "BackendInfo",
    "Capability",
    "CollectionInfo",
    "Comparison",
    "ContextInfo",
    "ContextState",
    "ContextStats",
    "ContextStatus",
    "DuplicateGroup",
    "EngineInfo",
    "ImageData",
    "ImageFeatures",
    "ImageInfo",
    "ImageSearch",
    "IngestItem",
    "IngestReport",
    "IngestStatus",
    "LatencySummary",
    "RetryPolicy",
    "SearchContext",
    "SearchResult",
    "available_backends",
    "available_engines",
    "hookimpl",
    "load_image",
    "open",
]

__version__ = "0.1.0"

#: Where each public name lives. Importing ``ris_core`` (which every ``ris`` command and
#: every submodule import does first) imports none of them: the first use of a name
#: imports its module, so a command can start its worker processes before it pays for
#: NumPy, Pillow and the plugins.
_HOMES = {
    "DEFAULT_BACKEND": "api",
    "available_backends": "api",
    "available_engines": "api",
    "open": "api",
    "Backend": "backend",
    "Capability": "backend",
    "SearchContext": "context",
    "hookimpl": "hookspecs",
    "ImageData": "images",
    "load_image": "images",
    "IngestItem": "ingest",
    "IngestReport": "ingest",
    "IngestStatus": "ingest",
    "RetryPolicy": "retry",
    "ImageSearch": "system",
    **{
        name: "models"
        for name in (
            "BackendInfo",
            "CollectionInfo",
            "Comparison",
            "ContextInfo",
            "ContextState",
            "ContextStats",
            "ContextStatus",
            "DuplicateGroup",
            "EngineInfo",
            "ImageFeatures",
            "ImageInfo",
            "LatencySummary",
            "SearchResult",
        )
    },
}


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use (then kept here); a
    submodule (``ris_core.ingest``) as an attribute, as an eager import made it."""
    import importlib

    home = _HOMES.get(name)
    if home is not None:
        value = getattr(importlib.import_module(f"ris_core.{home}"), name)
        globals()[name] = value
        return value
    if not name.startswith("_"):
        try:
            return importlib.import_module(f"ris_core.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"ris_core.{name}":
                raise
    raise AttributeError(f"module 'ris_core' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
