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
