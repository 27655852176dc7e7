"""The values ris hands back: small frozen dataclasses with no behaviour of their own."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

__all__ = [
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
]


class ContextState(enum.Enum):
    """Whether a search context can answer queries right now."""

    IDLE = "idle"
    BUSY = "busy"


@dataclass(frozen=True, slots=True)
class ContextStatus:
    """The state of a search context; ``detail`` is the backend's own word for it.

    Aspose reports ``ExtractingFeatures``, ``MatchingFeatures`` or ``Searching`` while
    busy; the local backend reports ``Idle`` or ``Ingesting``.
    """

    state: ContextState
    detail: str = ""

    @property
    def is_idle(self) -> bool:
        """True when the context is ready for queries."""
        return self.state is ContextState.IDLE


@dataclass(frozen=True, slots=True)
class ContextInfo:
    """A named search context as listed by :meth:`ImageSearch.list_contexts`."""

    name: str
    backend: str
    image_count: int
    created_at: str


@dataclass(frozen=True, slots=True)
class ImageFeatures:
    """The features a backend computed for one image.

    ``algorithm`` and ``version`` name what made them, so features made by an older
    engine are recognised as such; ``data`` is the backend's own serialisation.
    """

    image_id: str | None
    algorithm: str
    version: str
    data: bytes = field(repr=False)
    count: int
    length_in_bits: int


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """What the catalog knows about one stored image."""

    image_id: str
    sha256: str
    size: int  # bytes of the image file
    width: int | None
    height: int | None
    added_at: datetime  # when it was stored (UTC)
    source: Path | None  # the file it references (reference mode), else None
    modified: datetime | None  # that file's mtime (reference mode), else None
    reference: bool  # stored by reference rather than by copy


@dataclass(frozen=True, slots=True)
class SearchResult:
    """One match: the image, its similarity (0 to 100) and how the score was made.

    ``distance`` is the raw distance the backend measured (for the local backend, a
    Hamming distance in bits; ``nan`` when the backend reports none) and ``method``
    names the algorithm that produced the score, so a score can be explained.
    """

    image_id: str
    similarity: float
    distance: float
    method: str
    metadata: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class DuplicateGroup:
    """Images that are near-duplicates of each other.

    ``images`` is ordered by image id. Each result's similarity is that member's link
    to the group: its best score against another member (so never below the threshold
    the group was made at), with the distance and method of that pair. ``links`` names,
    for each member in the same order, the member that link goes to (empty from a
    backend that does not say).
    """

    images: tuple[SearchResult, ...]
    links: tuple[str, ...] = ()

    @property
    def image_ids(self) -> tuple[str, ...]:
        """The ids of the images in the group, in order."""
        return tuple(result.image_id for result in self.images)


@dataclass(frozen=True, slots=True)
class Comparison:
    """The similarity of two images; ``other_id`` is None when the second was new data."""

    image_id: str
    other_id: str | None
    similarity: float
    distance: float
    method: str


@dataclass(frozen=True, slots=True)
class BackendInfo:
    """A backend that an installed plugin registered, and whether it can be used."""

    name: str
    description: str
    plugin: str
    available: bool
    reason: str = ""
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EngineInfo:
    """A feature engine of the local backend that an installed plugin registered, and
    whether it can be used."""

    name: str
    description: str
    plugin: str
    available: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class CollectionInfo:
    """A collection of a context, with how many images it holds."""

    name: str
    image_count: int
    created_at: str


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """How long one kind of search took, over the recent samples kept (seconds)."""

    count: int
    mean: float
    p50: float
    p90: float
    p99: float
    max: float


@dataclass(frozen=True, slots=True)
class ContextStats:
    """What a context holds and how it has been searched.

    ``searches`` counts each search operation; ``latency`` summarises their wall
    times; ``most_searched`` lists the stored images most often used as queries and
    ``most_matched`` the images most often returned, each as ``(image_id, count)``.
    ``cache_hits`` counts searches answered from the cache. ``dropped`` counts the
    searches this process made whose statistics it could not write (the database was
    read-only, full, or locked for too long), so the counts above are short by as many;
    other processes' drops are not known here.
    """

    context: str
    backend: str
    images: int
    tags: int
    collections: int
    searches: Mapping[str, int]
    latency: Mapping[str, LatencySummary]
    most_searched: tuple[tuple[str, int], ...]
    most_matched: tuple[tuple[str, int], ...]
    cache_hits: int
    dropped: int = 0
