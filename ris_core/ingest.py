"""Batch ingest: many images into one context, in parallel, past bad files, resumable.

Sources are files, folders (walked recursively, filtered by glob patterns) or an
iterable of ``(image_id, image)`` pairs. Each item ends in one :class:`IngestItem`:
``added``, ``updated`` (the id existed with other bytes), ``skipped`` (the id already
holds these exact bytes, so a re-run after an interruption skips finished work) or
``failed`` with the reason. Items are independent: every acknowledged add is committed
before the next is reported, so a crash loses only items not yet reported.
"""

from __future__ import annotations

import enum
import fnmatch
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ris_core.errors import RisError, SourceNotFoundError
from ris_core.images import ImageData, ImageInput

if TYPE_CHECKING:
    from ris_core.context import SearchContext

__all__ = [
    "IMAGE_PATTERNS",
    "IngestItem",
    "IngestReport",
    "IngestStatus",
    "ProgressCallback",
    "Work",
    "collect_files",
    "ingest",
]

#: What a folder walk picks up unless told otherwise.
IMAGE_PATTERNS: tuple[str, ...] = (
    "*.jpg",
    "*.jpeg",
    "*.png",
    "*.webp",
    "*.gif",
    "*.bmp",
    "*.tif",
    "*.tiff",
)


class IngestStatus(enum.Enum):
    """What happened to one item of a batch."""

    ADDED = "added"
    UPDATED = "updated"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class IngestItem:
    """The outcome for one image; ``source`` is its path when it came from a file."""

    image_id: str
    status: IngestStatus
    source: str | None = None
    error: str = ""
    error_type: str = ""


@dataclass
class IngestReport:
    """Every item's outcome, in the order they finished."""

    items: list[IngestItem] = field(default_factory=list)

    def count(self, status: IngestStatus) -> int:
        """How many items ended with ``status``."""
        return sum(1 for item in self.items if item.status is status)

    @property
    def failed(self) -> list[IngestItem]:
        """The items that failed, with their reasons."""
        return [item for item in self.items if item.status is IngestStatus.FAILED]

    def summary(self) -> dict[str, int]:
        """Counts per status, for printing."""
        return {status.value: self.count(status) for status in IngestStatus}


#: Called after each item with (items done, items in total, the item's outcome).
ProgressCallback = Callable[[int, int, IngestItem], None]

#: One item of work: image id, image, the file it came from (if any), metadata (if any).
Work = tuple[str, ImageInput, str | None, Mapping[str, Any] | None]


def collect_files(
    paths: Iterable[str | os.PathLike[str]],
    include: Sequence[str] = IMAGE_PATTERNS,
    exclude: Sequence[str] = (),
    recursive: bool = True,
) -> list[tuple[str, Path]]:
    """``(image_id, path)`` for each file: a file given directly gets its name as id;
    a file found in a folder gets its path relative to that folder (``/``-separated).

    Patterns match the file name case-insensitively; ``exclude`` wins over ``include``.
    A missing path raises SourceNotFoundError before anything is ingested.
    """
    found: list[tuple[str, Path]] = []
    for raw in paths:
        root = Path(raw)
        if root.is_file():
            found.append((root.name, root))
        elif root.is_dir():
            walker = root.rglob("*") if recursive else root.glob("*")
            for path in sorted(walker):
                relative = path.relative_to(root).as_posix()
                if path.is_file() and _matches(path.name, relative, include, exclude):
                    found.append((relative, path))
        else:
            raise SourceNotFoundError(f"no such file or folder: {root}")
    return found


def _matches(name: str, relative: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    lowered = (name.lower(), relative.lower())

    def hit(patterns: Sequence[str]) -> bool:
        return any(fnmatch.fnmatch(text, pattern.lower()) for pattern in patterns for text in lowered)

    return hit(include) and not hit(exclude)


def ingest(
    context: SearchContext,
    work: Sequence[Work],
    workers: int | None = None,
    on_progress: ProgressCallback | None = None,
) -> IngestReport:
    """Add every item of ``work`` to ``context``, a chunk at a time.

    For each chunk, ``workers`` threads read the images (I/O, header checks, content
    hashes), then add the new ones. Threads suit every backend: remote ones wait on the
    network, and the local one's decoding and feature extraction release the GIL
    (BENCHMARKS.md measures the gain). Each item is committed before it is reported.
    """
    report = IngestReport()
    total = len(work)
    count = workers or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=count, thread_name_prefix="ris-ingest") as pool:
        # A few items per worker per chunk: a million-file batch never holds more
        # than a chunk of images in memory.
        for start in range(0, total, count * 8):
            chunk = work[start : start + count * 8]
            loaded = list(pool.map(lambda item: _load(context, item), chunk))
            for outcome in pool.map(lambda entry: _store(context, *entry), loaded):
                report.items.append(outcome)
                if on_progress is not None:
                    on_progress(len(report.items), total, outcome)
    return report


_Loaded = tuple[Work, ImageData | None, IngestItem | None]


def _load(context: SearchContext, item: Work) -> _Loaded:
    """Read an item; its outcome already when it failed or holds the same bytes."""
    image_id, image, source, metadata = item
    try:
        data = context.system.load(image)
        if context.system.catalog.image_sha256(context.name, image_id) == data.sha256:
            if metadata is not None and context.get_metadata(image_id) != dict(metadata):
                context.set_metadata(image_id, metadata)
            return item, data, IngestItem(image_id, IngestStatus.SKIPPED, source)
        return item, data, None
    except RisError as exc:
        return item, None, IngestItem(image_id, IngestStatus.FAILED, source, str(exc), type(exc).__name__)


def _store(context: SearchContext, item: Work, data: ImageData | None, outcome: IngestItem | None) -> IngestItem:
    """Add or update a read item, unless reading it already decided its outcome."""
    if outcome is not None:
        return outcome
    assert data is not None
    image_id, _, source, metadata = item
    try:
        if image_id in context:
            context.update_image(image_id, data, metadata)
            return IngestItem(image_id, IngestStatus.UPDATED, source)
        context.add_image(image_id, data, metadata)
        return IngestItem(image_id, IngestStatus.ADDED, source)
    except RisError as exc:
        return IngestItem(image_id, IngestStatus.FAILED, source, str(exc), type(exc).__name__)
