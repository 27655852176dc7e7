"""Batch ingest: many images into one context, in parallel, past bad files, resumable.

Sources are files, folders (walked recursively, filtered by glob patterns) or an
iterable of ``(image_id, image)`` pairs. Each item ends in one :class:`IngestItem`:
``added``, ``updated`` (the same file, or the same id given as data, now holds other
bytes), ``skipped`` (the id already holds these exact bytes, so a re-run after an
interruption skips finished work; or the file is already indexed under another id,
reached through another link: a symlink or a hard link), ``removed`` (by :func:`sync_one`: its file is gone) or
``failed`` with a typed error and its message. Any exception while reading, decoding,
extracting or storing one item is that item's failure; only a failure of the store
itself (:class:`~ris_core.errors.StorageError`: disk full, database gone) stops the
batch. Every acknowledged add is committed before it is reported, so a crash or a
stop loses only items not yet reported.

Ids of files: one path given, a file's id is its path relative to that folder (a file
given directly: its name). Several paths given, each id is prefixed with its root's
name (``cameraA/IMG_0001.jpg``, ``cameraB/IMG_0001.jpg``). An id that two files of one
batch would share, or that already holds another file's image, is a failed item
(SourceConflictError), never a silent replace.
"""

from __future__ import annotations

import dataclasses
import enum
import errno
import fnmatch
import itertools
import logging
import os
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ris_core.errors import (
    ImageExistsError,
    InvalidIdError,
    RisError,
    SourceConflictError,
    SourceNotFoundError,
    StorageError,
)
from ris_core.images import ImageData, ImageInput
from ris_core.metadata import dump_metadata
from ris_core.validation import check_id

if TYPE_CHECKING:
    from ris_core.catalog.images import SourceRecord
    from ris_core.context import SearchContext

logger = logging.getLogger("ris_core.ingest")

__all__ = [
    "IMAGE_PATTERNS",
    "IngestItem",
    "IngestReport",
    "IngestStatus",
    "ProgressCallback",
    "Work",
    "collect_files",
    "ingest",
    "printable",
    "sync_one",
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
    REMOVED = "removed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class IngestItem:
    """The outcome for one image; ``source`` is its path when it came from a file.

    ``error`` and ``error_type`` say why an item failed; ``detail`` why one was
    skipped when it was not simply unchanged (``same file as 'a.jpg'``).
    """

    image_id: str
    status: IngestStatus
    source: str | None = None
    error: str = ""
    error_type: str = ""
    detail: str = ""


@dataclass
class IngestReport:
    """Every item's outcome, in the batch's order (the progress callback sees them in
    the order they finish)."""

    items: list[IngestItem] = field(default_factory=list)

    def count(self, status: IngestStatus) -> int:
        """How many items ended with ``status``."""
        return sum(1 for item in self.items if item.status is status)

    @property
    def failed(self) -> list[IngestItem]:
        """The items that failed, with their reasons."""
        return [item for item in self.items if item.status is IngestStatus.FAILED]

    def summary(self) -> dict[str, int]:
        """Counts per status, for printing; ``removed`` (which only a sync reports)
        only when there are any, so an add's summary keeps its four keys."""
        counts = {status.value: self.count(status) for status in IngestStatus}
        if not counts[IngestStatus.REMOVED.value]:
            del counts[IngestStatus.REMOVED.value]
        return counts


#: Called after each item with (items done, items in total, the item's outcome).
ProgressCallback = Callable[[int, int, IngestItem], None]

#: One item of work: image id, image, the file it came from (if any), metadata (if any).
Work = tuple[str, ImageInput, str | None, Mapping[str, Any] | None]


def printable(text: str) -> str:
    """``text`` with the bytes of an undecodable file name (surrogate escapes) shown as
    ``\\xNN``, so it can be printed and stored."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def collect_files(
    paths: Iterable[str | os.PathLike[str]],
    include: Sequence[str] = IMAGE_PATTERNS,
    exclude: Sequence[str] = (),
    recursive: bool = True,
) -> list[tuple[str, Path]]:
    """``(image_id, path)`` for each file, ids as the module docstring says: relative to
    the one folder given (a file given directly: its name), or, with several paths,
    prefixed with each root's name (``/``-separated).

    Patterns match the file name case-insensitively; ``exclude`` wins over ``include``.
    A missing path raises SourceNotFoundError before anything is ingested.
    """
    roots = [Path(raw) for raw in paths]
    found: list[tuple[str, Path]] = []
    for root in roots:
        prefix = f"{_root_name(root)}/" if len(roots) > 1 else ""
        if root.is_file():
            found.append((root.name, root))
        elif root.is_dir():
            walker = root.rglob("*") if recursive else root.glob("*")
            for path in sorted(walker):
                relative = path.relative_to(root).as_posix()
                if path.is_file() and _matches(path.name, relative, include, exclude):
                    found.append((prefix + relative, path))
        else:
            raise SourceNotFoundError(f"no such file or folder: {printable(str(root))}")
    return found


def _root_name(root: Path) -> str:
    """A folder's own name, also for ``.`` and ``..`` (the name of the folder they are)."""
    return root.name or root.resolve().name or "root"


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
    """Add every item of ``work`` to ``context``, ``workers`` items at a time.

    ``workers`` threads store the images, one more with several workers, so the next
    image is queued when a worker comes free (the local backend hands their feature
    extraction to ``workers`` processes for the batch, its ``batch`` hook; BENCHMARKS.md
    measures the gain; a remote one waits on the network in each), while ``workers``
    threads read the next few ahead of them (I/O, header checks, content hashes), so
    no store ever waits for a read but the first. With several workers the largest
    files go first, so the batch does not end on one worker finishing a big file while
    the others idle. Each item is committed before it is reported.
    A failure of the store raises StorageError after the items already reported.
    """
    report = IngestReport()
    total = len(work)
    # Never more workers than items: a one-item add extracts in this process instead of
    # starting (and stopping) a pool of worker processes for it.
    count = max(1, min(workers or os.cpu_count() or 1, total))
    by_reference = context.by_reference
    settled, sizes = _collisions(work)
    order = iter(_schedule(sizes, count))
    # With several workers, one more store than workers runs at a time: while one waits
    # for its commit (or its result to come back), the next image is already queued for
    # the worker that comes free, so no worker process idles between two images.
    stores = count + 1 if count > 1 else 1
    with (
        context.system.backend.batch(count),
        ThreadPoolExecutor(count, thread_name_prefix="ris-read") as readers,
        ThreadPoolExecutor(stores, thread_name_prefix="ris-ingest") as writers,
    ):
        positions: dict[Future[IngestItem], int] = {}

        def start(number: int) -> Future[IngestItem]:
            read = readers.submit(_load, context, work[number], settled.get(number), by_reference)
            future = writers.submit(lambda: _store(context, *read.result()))
            positions[future] = number
            return future

        finished_at: list[int] = []  # each reported item's position in the batch
        # A few items read ahead per store: a million-file batch never holds more than
        # these images in memory. Kept in the order started, so items that finish
        # together are reported in that order (one worker: the batch's).
        running = [start(number) for number in itertools.islice(order, stores * _READ_AHEAD)]
        try:
            while running:
                wait(running, return_when=FIRST_COMPLETED)
                finished: list[Future[IngestItem]] = []
                left: list[Future[IngestItem]] = []
                for future in running:
                    (finished if future.done() else left).append(future)
                running = left
                for future in finished:
                    try:
                        outcome = future.result()
                    except StorageError as exc:
                        # The same kind (full, read-only, locked...), so the CLI's exit code still says which.
                        raise type(exc)(
                            f"the store failed after {len(report.items)} of {total} items; every item reported "
                            f"before it is kept, and a re-run resumes: {exc}",
                            path=exc.path,
                        ) from exc
                    report.items.append(outcome)
                    finished_at.append(positions.pop(future))
                    if on_progress is not None:
                        on_progress(len(report.items), total, outcome)
                    running.extend(start(number) for number in itertools.islice(order, 1))
        finally:
            for future in running:  # stopped early: what has not started never will
                future.cancel()
    # Reported as they finished; returned in the batch's order, whatever order they ran in.
    report.items = [item for _, item in sorted(zip(finished_at, report.items, strict=True), key=lambda pair: pair[0])]
    return report


#: Items started ahead, per store thread (read, waiting for a store, or being stored).
_READ_AHEAD = 3


def _schedule(sizes: Sequence[int], count: int) -> list[int]:
    """The order to work through the items in (their positions in the batch): as given
    for one worker; the largest first for several, so the items left at the end, when
    workers start running out of work, are the small ones (sizes are bytes, a proxy
    for the decode's cost; a stable sort keeps equal sizes in the batch's order)."""
    if count < 2:
        return list(range(len(sizes)))
    return sorted(range(len(sizes)), key=lambda number: -sizes[number])


def _collisions(work: Sequence[Work]) -> tuple[dict[int, IngestItem], list[int]]:
    """Items settled before reading: a second file claiming an id already given to
    another file of the batch fails; a second link to one file (symlink or hard link)
    is skipped, so the file is read once. Also each item's size in bytes, as far as it
    is known before reading (0 when it is not), from the same look at each file."""
    settled: dict[int, IngestItem] = {}
    sizes: list[int] = []
    first_source: dict[str, str] = {}
    first_file: dict[object, str] = {}
    for number, (image_id, image, source, _) in enumerate(work):
        if isinstance(image, ImageData):
            sizes.append(len(image.data))
        elif isinstance(image, bytes | bytearray | memoryview):
            sizes.append(len(image))
        elif isinstance(image, str | os.PathLike):
            real, size = _file_identity(image)
            sizes.append(size)
        else:
            sizes.append(0)
        if source is None:
            continue
        if not isinstance(image, str | os.PathLike):
            real = source
        if real in first_file:
            detail = f"same file as {printable(first_file[real])!r}"
            settled[number] = IngestItem(printable(image_id), IngestStatus.SKIPPED, printable(source), detail=detail)
        elif image_id in first_source:
            settled[number] = IngestItem(
                printable(image_id),
                IngestStatus.FAILED,
                printable(source),
                f"id {printable(image_id)!r} is already given to {printable(first_source[image_id])} in this batch",
                SourceConflictError.__name__,
            )
        else:
            first_source[image_id], first_file[real] = source, image_id
    return settled, sizes


def _file_identity(path: str | os.PathLike[str]) -> tuple[object, int]:
    """What one file is however it is reached: its device and inode (alike through a
    symlink or a hard link), or its real path where there is none (an unreadable or
    missing file, whose read then says why; a file system without inode numbers);
    and its size (0 when it cannot be seen)."""
    try:
        facts = os.stat(path)
    except OSError:
        return os.path.realpath(path), 0
    return ((facts.st_dev, facts.st_ino) if facts.st_ino else os.path.realpath(path)), facts.st_size


def _linked_id(context: SearchContext, image_id: str, data: ImageData) -> str | None:
    """Another image of the context read from this very file through another hard link
    (the catalog keeps real paths, which differ between hard links): only images with
    the same bytes can be, so this costs one indexed lookup and, rarely, a stat."""
    assert data.source is not None
    catalog = context.system.catalog
    for other in catalog.ids_with_hash(context.name, data.sha256):
        record = catalog.image_record(context.name, other)
        held = None if record is None else record.source
        if other != image_id and held is not None and _same_file(held, data.source.path):
            return other
    return None


def _same_file(first: Path, second: Path) -> bool:
    try:
        return os.path.samefile(first, second)
    except OSError:  # one of them is gone: not the same file now
        return False


#: A read item: its data, or its outcome already, or the store failure to stop on
#: when its turn comes (so the items before it are still reported).
_Loaded = tuple[Work, ImageData | None, IngestItem | StorageError | None]


def _failure(item: Work, exc: Exception) -> IngestItem:
    """An item's failure, typed: a ris error as it is, anything else by its own type."""
    image_id, _, source, _ = item
    if not isinstance(exc, RisError):
        logger.error("unexpected %s on %r", type(exc).__name__, printable(image_id), exc_info=exc)
    return IngestItem(
        printable(image_id),
        IngestStatus.FAILED,
        None if source is None else printable(source),
        printable(str(exc)) or type(exc).__name__,
        type(exc).__name__,
    )


def _storage(exc: BaseException) -> StorageError | None:
    """The StorageError a failure of the store itself amounts to, or None."""
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, sqlite3.Error):
        return StorageError(f"the database failed: {exc}")
    if isinstance(exc, OSError) and not isinstance(exc, RisError) and exc.errno in _STORE_ERRNOS:
        return StorageError(f"the store failed: {exc.strerror or exc}")
    return None


#: OS errors that mean the store cannot take writes, not that one image was bad.
_STORE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO})


def _load(context: SearchContext, item: Work, settled: IngestItem | None, by_reference: bool) -> _Loaded:
    """Read an item; its outcome already when it failed or holds the same bytes."""
    if settled is not None:
        return item, None, settled
    image_id, image, source, _ = item
    try:
        _check_name(image_id, source)
        data = context.system.load(image)
        if source is None:
            # Only files named by path are sources: tuples (an import's temporary
            # files, say) are copied and never referenced.
            data = dataclasses.replace(data, source=None)
        elif by_reference and data.source is not None:
            data = dataclasses.replace(data, by_reference=True)
        return item, data, _settled(context, item, data)
    except Exception as exc:
        stop = _storage(exc)
        if stop is not None:
            return item, None, stop
        return item, None, _failure(item, exc)


def _check_name(image_id: str, source: str | None) -> None:
    """InvalidIdError for an id the file system gave as undecodable bytes, or any bad id."""
    try:
        image_id.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidIdError(
            f"the file name {printable(source or image_id)!r} is not valid UTF-8, so it cannot be an id; "
            "rename the file (ris stores ids as text)"
        ) from None
    check_id(image_id)


def _settled(context: SearchContext, item: Work, data: ImageData) -> IngestItem | None:
    """The outcome decided by what the catalog holds already, or None to store the item."""
    image_id, _, source, metadata = item
    catalog = context.system.catalog
    file = data.source
    if file is not None:
        other = catalog.id_with_source(context.name, file.path) or _linked_id(context, image_id, data)
        if other is not None and other != image_id:
            return IngestItem(image_id, IngestStatus.SKIPPED, source, detail=f"same file as {other!r}")
    record = catalog.image_record(context.name, image_id)
    held = None if record is None else record.source
    if record is not None and record.sha256 == data.sha256:
        if metadata is not None and context.get_metadata(image_id) != dict(metadata):
            context.set_metadata(image_id, metadata)
        if file is not None and held is not None and held != file.path and not held.exists():
            # The same bytes from a new place and the old file gone: the folder moved.
            context._update(image_id, data, None, False)
            return IngestItem(image_id, IngestStatus.UPDATED, source, detail=f"moved from {held}")
        if file is not None and held == file.path and (record.size, record.mtime_ns) != (file.size, file.mtime_ns):
            catalog.touch_source(context.name, image_id, file.size, file.mtime_ns)  # touched, not changed
        return IngestItem(image_id, IngestStatus.SKIPPED, source)
    if file is not None and held is not None and held != file.path:
        return IngestItem(
            image_id,
            IngestStatus.FAILED,
            source,
            f"id {image_id!r} already holds the image of {held}; {source} would replace it "
            "(index it from its own folder, or delete the id first)",
            SourceConflictError.__name__,
        )
    return None


def _store(
    context: SearchContext, item: Work, data: ImageData | None, outcome: IngestItem | StorageError | None
) -> IngestItem:
    """Add or update a read item, unless reading it already decided its outcome."""
    if isinstance(outcome, StorageError):
        raise outcome
    if outcome is not None:
        return outcome
    assert data is not None
    image_id, _, source, metadata = item
    text = None if metadata is None else dump_metadata(metadata)
    try:
        held = context.system.catalog.image_sha256(context.name, image_id)
        if held == data.sha256:  # another writer stored it since it was read
            return IngestItem(image_id, IngestStatus.SKIPPED, source)
        if held is not None:
            context._update(image_id, data, text, metadata is not None)
            return IngestItem(image_id, IngestStatus.UPDATED, source)
        try:
            context._add(image_id, data, text)
        except ImageExistsError:
            if context.system.catalog.image_sha256(context.name, image_id) == data.sha256:
                return IngestItem(image_id, IngestStatus.SKIPPED, source)  # another writer won the race
            raise
        return IngestItem(image_id, IngestStatus.ADDED, source)
    except Exception as exc:
        stop = _storage(exc)
        if stop is not None:
            raise stop from exc
        return _failure(item, exc)


def sync_one(context: SearchContext, record: SourceRecord) -> IngestItem:
    """Bring one image that came from a file up to date: ``removed`` if the file is gone,
    ``updated`` if its bytes changed, ``skipped`` if not; a failure is the item's."""
    image_id, source = record.image_id, str(record.source)
    assert record.source is not None
    try:
        try:
            facts = os.stat(record.source)
        except FileNotFoundError:
            context.delete_image(image_id)
            return IngestItem(image_id, IngestStatus.REMOVED, source, detail="its file is gone")
        if facts.st_size == record.size and facts.st_mtime_ns == record.mtime_ns:
            return IngestItem(image_id, IngestStatus.SKIPPED, source)
        data = context.system.load(record.source)
        if data.sha256 == record.sha256:
            context.system.catalog.touch_source(context.name, image_id, facts.st_size, facts.st_mtime_ns)
            return IngestItem(image_id, IngestStatus.SKIPPED, source)
        info = context.system.catalog.image_info(context.name, image_id)
        data = dataclasses.replace(data, by_reference=bool(info and info.reference))
        context._update(image_id, data, None, False)
        return IngestItem(image_id, IngestStatus.UPDATED, source)
    except Exception as exc:
        stop = _storage(exc)
        if stop is not None:
            raise stop from exc
        return _failure((image_id, source, source, None), exc)
