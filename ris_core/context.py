"""A search context: the images, features and tags searched together, and every
operation on them. Obtained from :meth:`ris_core.ImageSearch.create_context` or
:meth:`ris_core.ImageSearch.context`."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from tqdm import tqdm

from ris_core.backend import Capability, Query
from ris_core.errors import (
    ContextBusyError,
    ImageExistsError,
    ImageNotFoundError,
    InvalidArgumentError,
    UnsupportedOperationError,
)
from ris_core.images import ImageData, ImageInput
from ris_core.ingest import (
    IMAGE_PATTERNS,
    IngestItem,
    IngestReport,
    ProgressCallback,
    collect_files,
    ingest,
)
from ris_core.models import Comparison, ContextStatus, DuplicateGroup, ImageFeatures, SearchResult
from ris_core.validation import check_id, check_max_count, check_threshold

if TYPE_CHECKING:
    from ris_core.system import ImageSearch


def _work_items(
    source: str | os.PathLike[str] | Iterable[str | os.PathLike[str]] | Iterable[tuple[str, ImageInput]],
    include: Sequence[str],
    exclude: Sequence[str],
    recursive: bool,
) -> tuple[Iterable[tuple[str, ImageInput, str | None]], int]:
    """Normalise add_images' sources to (id, image, source path) work and its size."""
    items: list[object] = [source] if isinstance(source, str | os.PathLike) else list(source)
    pairs = [item for item in items if isinstance(item, tuple)]
    paths = [item for item in items if isinstance(item, str | os.PathLike)]
    if len(pairs) + len(paths) != len(items) or (pairs and paths):
        raise InvalidArgumentError("add_images takes paths or (image_id, image) pairs, not a mix")
    if pairs:
        return [(image_id, image, None) for image_id, image in pairs], len(pairs)
    files = collect_files(paths, include, exclude, recursive)
    return [(image_id, path, str(path)) for image_id, path in files], len(files)

__all__ = ["SearchContext"]

logger = logging.getLogger("ris_core.context")

DEFAULT_MAX_COUNT = 10


class SearchContext:
    """One named search context. Every method validates its arguments before the
    backend sees them and raises only :mod:`ris_core.errors` types."""

    def __init__(self, system: ImageSearch, name: str, ref: str) -> None:
        self.system = system
        self.name = name
        self.ref = ref

    def __repr__(self) -> str:
        return f"<SearchContext {self.name!r} backend={self.system.backend_name!r}>"

    # --- status ------------------------------------------------------------------

    def status(self) -> ContextStatus:
        """Whether the context is idle (ready) or busy, with the backend's own word."""
        return self.system.backend.context_status(self.ref)

    def wait_until_idle(self, timeout: float = 300.0, poll_interval: float = 1.0) -> ContextStatus:
        """Poll the status until idle; ContextBusyError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        delay = min(0.05, poll_interval)
        while True:
            status = self.status()
            if status.is_idle:
                return status
            if time.monotonic() + delay > deadline:
                raise ContextBusyError(
                    f"context {self.name!r} still {status.detail or 'busy'} after {timeout:g} s"
                )
            time.sleep(delay)
            delay = min(delay * 2, poll_interval)

    # --- images ------------------------------------------------------------------

    def add_image(self, image_id: str, image: ImageInput) -> None:
        """Store an image under a new id and index it.

        ImageExistsError if the id is taken (use :meth:`update_image` to replace);
        InvalidImageError for unreadable data. Nothing is stored when either is raised.
        """
        check_id(image_id)
        data = self.system.load(image)
        catalog = self.system.catalog
        if catalog.has_image(self.name, image_id):
            raise ImageExistsError(
                f"image {image_id!r} is already in context {self.name!r}; "
                "use update_image() to replace it"
            )
        try:
            self.system.backend.add_image(self.ref, image_id, data)
        except ImageExistsError:
            # The backend kept an image that the catalog never acknowledged (a crash
            # between the two writes): the caller's add completes it.
            logger.warning("adopting unacknowledged image %r in context %r", image_id, self.name)
            self.system.backend.update_image(self.ref, image_id, data)
        self._record(image_id, data)
        self.system.notify_write(self.name, "add_image", [image_id])

    def _record(self, image_id: str, data: ImageData) -> None:
        try:
            self.system.catalog.put_image(self.name, image_id, data.sha256)
        except BaseException:
            self.system.backend.delete_image(self.ref, image_id)
            raise

    def update_image(self, image_id: str, image: ImageInput) -> None:
        """Replace a stored image and its features. ImageNotFoundError if unknown."""
        check_id(image_id)
        data = self.system.load(image)
        self._require(image_id)
        self.system.backend.update_image(self.ref, image_id, data)
        self.system.catalog.put_image(self.name, image_id, data.sha256)
        self.system.notify_write(self.name, "update_image", [image_id])

    def get_image(self, image_id: str) -> bytes:
        """The stored bytes of an image, exactly as they were added."""
        return self.system.backend.get_image(self.ref, check_id(image_id))

    def delete_image(self, image_id: str) -> None:
        """Delete an image and its features. ImageNotFoundError if unknown."""
        self._require(check_id(image_id))
        try:
            self.system.backend.delete_image(self.ref, image_id)
        except ImageNotFoundError:
            logger.warning("image %r was already gone from the backend", image_id)
        self.system.catalog.remove_image(self.name, image_id)
        self.system.notify_write(self.name, "delete_image", [image_id])

    def add_images(
        self,
        source: str | os.PathLike[str] | Iterable[str | os.PathLike[str]] | Iterable[tuple[str, ImageInput]],
        *,
        include: Sequence[str] = IMAGE_PATTERNS,
        exclude: Sequence[str] = (),
        recursive: bool = True,
        workers: int | None = None,
        progress: bool | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> IngestReport:
        """Add many images: files, folders, or ``(image_id, image)`` pairs.

        Folders are walked (recursively by default) for files matching ``include``
        and not ``exclude`` (glob patterns on the name or relative path); a file found
        in a folder gets its path relative to that folder as id, a file given directly
        its name. Bad items are reported, not raised. An id that already holds the same
        bytes is skipped, so re-running an interrupted batch resumes it; an id holding
        other bytes is updated. ``progress`` shows a bar (default: when stderr is a
        terminal); ``on_progress(done, total, item)`` is called after each item.
        """
        pairs, total = _work_items(source, include, exclude, recursive)
        show_bar = sys.stderr.isatty() if progress is None else progress
        with tqdm(total=total, disable=not show_bar, unit="image", desc=f"indexing into {self.name}") as bar:

            def advance(done: int, count: int, item: IngestItem) -> None:
                bar.update(1)
                if on_progress is not None:
                    on_progress(done, count, item)

            report = ingest(self, pairs, total, workers, advance)
        self.wait_until_idle()
        logger.info("ingest into %r: %s", self.name, report.summary())
        return report

    def image_ids(self) -> list[str]:
        """Every image id in the context, sorted."""
        return self.system.catalog.image_ids(self.name)

    def __len__(self) -> int:
        return self.system.catalog.count_images(self.name)

    def __contains__(self, image_id: object) -> bool:
        return isinstance(image_id, str) and self.system.catalog.has_image(self.name, image_id)

    def _require(self, image_id: str) -> None:
        if not self.system.catalog.has_image(self.name, image_id):
            raise ImageNotFoundError(f"no image {image_id!r} in context {self.name!r}")

    # --- features ----------------------------------------------------------------

    def create_features(self, image_id: str, image: ImageInput | None = None) -> None:
        """(Re)compute the features of a stored image, from ``image`` if given."""
        self._require(check_id(image_id))
        data = None if image is None else self.system.load(image)
        self.system.backend.create_features(self.ref, image_id, data)
        self.system.notify_write(self.name, "create_features", [image_id])

    def get_features(self, image_id: str) -> ImageFeatures:
        """The stored features of an image, tagged with the algorithm that made them."""
        self._capable(Capability.FEATURE_DATA, "get_features")
        return self.system.backend.get_features(self.ref, check_id(image_id))

    def update_features(self, image_id: str, image: ImageInput | None = None) -> None:
        """Replace the features of a stored image, from ``image`` if given."""
        self._require(check_id(image_id))
        data = None if image is None else self.system.load(image)
        self.system.backend.update_features(self.ref, image_id, data)
        self.system.notify_write(self.name, "update_features", [image_id])

    def delete_features(self, image_id: str) -> None:
        """Delete the features of an image; it stays stored but matches no search."""
        self._require(check_id(image_id))
        self.system.backend.delete_features(self.ref, image_id)
        self.system.notify_write(self.name, "delete_features", [image_id])

    def extract_features(self, image: ImageInput) -> ImageFeatures:
        """Compute the features of new image data without storing anything."""
        self._capable(Capability.FEATURE_DATA, "extract_features")
        return self.system.backend.extract_features(self.ref, self.system.load(image))

    # --- search ------------------------------------------------------------------

    def find_similar_images(
        self,
        image_id: str | None = None,
        *,
        image: ImageInput | None = None,
        threshold: float | None = None,
        max_count: int = DEFAULT_MAX_COUNT,
    ) -> list[SearchResult]:
        """Images similar to a stored image (``image_id``) or to new data (``image``).

        Returns those with similarity >= ``threshold`` (the backend's calibrated
        default when None), best first, at most ``max_count``; a stored query image is
        not among its own results.
        """
        query = self._query(image_id, image, "image_id", "image")
        threshold, max_count = self._limits(threshold, max_count)
        started = time.perf_counter()
        results = self.system.backend.find_similar(self.ref, query, threshold, max_count, None)
        self.system.notify_search(
            self.name, "find_similar_images", query if isinstance(query, str) else None,
            results, started, {"threshold": threshold, "max_count": max_count},
        )
        return results

    def find_duplicates(self, threshold: float | None = None) -> list[DuplicateGroup]:
        """Groups of near-duplicate images at ``threshold`` (the backend's duplicate
        threshold when None)."""
        self._capable(Capability.DUPLICATES, "find_duplicates")
        level = check_threshold(self.system.backend.duplicate_threshold if threshold is None else threshold)
        started = time.perf_counter()
        groups = self.system.backend.find_duplicates(self.ref, level, None)
        flat = [result for group in groups for result in group.images]
        self.system.notify_search(self.name, "find_duplicates", None, flat, started,
                                  {"threshold": level, "groups": len(groups)})
        return groups

    def compare_images(
        self,
        image_id: str,
        other_id: str | None = None,
        *,
        other_image: ImageInput | None = None,
    ) -> Comparison:
        """Similarity of a stored image to another stored image or to new image data."""
        self._capable(Capability.COMPARE, "compare_images")
        check_id(image_id)
        other = self._query(other_id, other_image, "other_id", "other_image")
        started = time.perf_counter()
        comparison = self.system.backend.compare(self.ref, image_id, other)
        result = SearchResult(comparison.other_id or "", comparison.similarity,
                              comparison.distance, comparison.method)
        self.system.notify_search(self.name, "compare_images", image_id, [result], started, {})
        return comparison

    # --- tags --------------------------------------------------------------------

    def create_tag(self, tag: str, images: ImageInput | Sequence[ImageInput]) -> None:
        """Define ``tag`` by one or more reference images (a list or tuple of them).

        An existing tag gains the new reference images.
        """
        self._capable(Capability.TAGS, "create_tag")
        check_id(tag, "tag")
        sources: list[ImageInput] = list(images) if isinstance(images, list | tuple) else [images]  # type: ignore[list-item]
        if not sources:
            raise InvalidArgumentError("create_tag needs at least one reference image")
        loaded = [self.system.load(source) for source in sources]
        self.system.backend.create_tag(self.ref, tag, loaded)
        self.system.catalog.add_tag_references(self.name, tag, len(loaded))
        self.system.notify_write(self.name, "create_tag", [tag])

    def list_tags(self) -> dict[str, int]:
        """Every tag of the context with its number of reference images."""
        return self.system.catalog.tags(self.name)

    def find_images_by_tags(
        self,
        tags: str | Sequence[str],
        *,
        threshold: float | None = None,
        max_count: int = DEFAULT_MAX_COUNT,
    ) -> list[SearchResult]:
        """Images similar to the reference images of any of ``tags``, scored by their
        best match. TagNotFoundError if a tag is unknown."""
        self._capable(Capability.TAGS, "find_images_by_tags")
        names = [tags] if isinstance(tags, str) else list(tags)
        if not names:
            raise InvalidArgumentError("find_images_by_tags needs at least one tag")
        for name in names:
            check_id(name, "tag")
        threshold, max_count = self._limits(threshold, max_count)
        started = time.perf_counter()
        results = self.system.backend.find_by_tags(self.ref, names, threshold, max_count, None)
        self.system.notify_search(self.name, "find_images_by_tags", None, results, started,
                                  {"threshold": threshold, "max_count": max_count, "tags": names})
        return results

    # --- argument handling -------------------------------------------------------

    def _query(
        self, image_id: str | None, image: ImageInput | None, id_name: str, image_name: str
    ) -> Query:
        if (image_id is None) == (image is None):
            raise InvalidArgumentError(f"give exactly one of {id_name} (a stored image) or {image_name} (new data)")
        if image_id is not None:
            return check_id(image_id)
        assert image is not None
        return self.system.load(image)

    def _limits(self, threshold: float | None, max_count: int) -> tuple[float, int]:
        level = self.system.backend.default_threshold if threshold is None else threshold
        return check_threshold(level), check_max_count(max_count)

    def _capable(self, capability: Capability, operation: str) -> None:
        if capability not in self.system.backend.capabilities:
            raise UnsupportedOperationError(
                f"backend {self.system.backend_name!r} does not offer {operation}"
            )
