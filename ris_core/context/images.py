"""Images in a context: add (one or many), update, read, delete, list."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tqdm import tqdm

from ris_core.context.base import ContextBase, Filter
from ris_core.errors import ImageExistsError, ImageNotFoundError, InvalidArgumentError
from ris_core.images import ImageData, ImageInput
from ris_core.ingest import IMAGE_PATTERNS, IngestItem, IngestReport, ProgressCallback, Work, collect_files, ingest
from ris_core.metadata import dump_metadata
from ris_core.validation import check_id

__all__ = ["ImagesPart", "Sources"]

logger = logging.getLogger("ris_core.context")

#: What add_images accepts: paths, or (id, image) and (id, image, metadata) tuples.
Sources = (
    str
    | os.PathLike[str]
    | Iterable[str | os.PathLike[str]]
    | Iterable[tuple[str, ImageInput]]
    | Iterable[tuple[str, ImageInput, Mapping[str, Any] | None]]
)


def _work_items(source: Sources, include: Sequence[str], exclude: Sequence[str], recursive: bool) -> list[Work]:
    """Normalise add_images' sources to (id, image, source path, metadata) work."""
    items: list[object] = [source] if isinstance(source, str | os.PathLike) else list(source)
    tuples = [item for item in items if isinstance(item, tuple) and len(item) in (2, 3)]
    paths = [item for item in items if isinstance(item, str | os.PathLike)]
    if len(tuples) + len(paths) != len(items) or (tuples and paths):
        raise InvalidArgumentError("add_images takes paths, or (image_id, image[, metadata]) tuples, not a mix")
    if tuples:
        return [(item[0], item[1], None, item[2] if len(item) == 3 else None) for item in tuples]
    return [(image_id, path, str(path), None) for image_id, path in collect_files(paths, include, exclude, recursive)]


class ImagesPart(ContextBase):
    """Storing and reading images."""

    def add_image(self, image_id: str, image: ImageInput, metadata: Mapping[str, Any] | None = None) -> None:
        """Store an image under a new id and index it, with optional metadata.

        ImageExistsError if the id is taken (use :meth:`update_image` to replace);
        InvalidImageError for unreadable data; InvalidMetadataError for metadata that
        is not a JSON object. Nothing is stored when any of them is raised.
        """
        check_id(image_id)
        text = None if metadata is None else dump_metadata(metadata)
        data = self.system.load(image)
        if self.system.catalog.has_image(self.name, image_id):
            raise ImageExistsError(
                f"image {image_id!r} is already in context {self.name!r}; use update_image() to replace it"
            )
        try:
            self.system.backend.add_image(self.ref, image_id, data)
        except ImageExistsError:
            # The backend kept an image the catalog never acknowledged (a crash between
            # the two writes, or a retried request that had succeeded): complete it.
            logger.warning("adopting unacknowledged image %r in context %r", image_id, self.name)
            self.system.backend.update_image(self.ref, image_id, data)
        self._record(image_id, data, text)
        self.system.notify_write(self.name, "add_image", [image_id])

    def _record(self, image_id: str, data: ImageData, metadata: str | None) -> None:
        try:
            self.system.catalog.put_image(self.name, image_id, data.sha256, metadata)
        except BaseException:
            self.system.backend.delete_image(self.ref, image_id)
            raise

    def update_image(self, image_id: str, image: ImageInput, metadata: Mapping[str, Any] | None = None) -> None:
        """Replace a stored image and its features (and its metadata, if given)."""
        check_id(image_id)
        text = None if metadata is None else dump_metadata(metadata)
        data = self.system.load(image)
        self._require(image_id)
        self.system.backend.update_image(self.ref, image_id, data)
        if metadata is None:
            self.system.catalog.put_image(self.name, image_id, data.sha256)
        else:
            self.system.catalog.put_image(self.name, image_id, data.sha256, text)
        self.system.notify_write(self.name, "update_image", [image_id])

    def get_image(self, image_id: str) -> bytes:
        """The stored bytes of an image, exactly as they were added."""
        return self.system.backend.get_image(self.ref, check_id(image_id))

    def delete_image(self, image_id: str) -> None:
        """Delete an image, its features, metadata and collection memberships."""
        self._require(check_id(image_id))
        try:
            self.system.backend.delete_image(self.ref, image_id)
        except ImageNotFoundError:
            logger.warning("image %r was already gone from the backend", image_id)
        self.system.catalog.remove_image(self.name, image_id)
        self.system.notify_write(self.name, "delete_image", [image_id])

    def add_images(
        self,
        source: Sources,
        *,
        include: Sequence[str] = IMAGE_PATTERNS,
        exclude: Sequence[str] = (),
        recursive: bool = True,
        workers: int | None = None,
        progress: bool | None = None,
        on_progress: ProgressCallback | None = None,
    ) -> IngestReport:
        """Add many images: files, folders, or ``(image_id, image[, metadata])`` tuples.

        Folders are walked (recursively by default) for files matching ``include``
        and not ``exclude`` (glob patterns on the name or relative path); a file found
        in a folder gets its path relative to that folder as id, a file given directly
        its name. Work runs on ``workers`` threads (default: one per core). Bad items
        are reported, not raised. An id that already holds the same bytes is skipped,
        so re-running an interrupted batch resumes it; an id holding other bytes is
        updated. ``progress`` shows a bar (default: when stderr is a terminal);
        ``on_progress(done, total, item)`` is called after each item, never from two
        threads at once.
        """
        work = _work_items(source, include, exclude, recursive)
        show_bar = sys.stderr.isatty() if progress is None else progress
        with tqdm(total=len(work), disable=not show_bar, unit="image", desc=f"indexing into {self.name}") as bar:

            def advance(done: int, total: int, item: IngestItem) -> None:
                bar.update(1)
                if on_progress is not None:
                    on_progress(done, total, item)

            report = ingest(self, work, workers, advance)  # type: ignore[arg-type]
        self.wait_until_idle()
        logger.info("ingest into %r: %s", self.name, report.summary())
        return report

    def image_ids(self, where: Filter | None = None, collection: str | None = None) -> list[str]:
        """Image ids in the context, sorted; narrowed by a metadata filter and a collection."""
        if collection is not None:
            check_id(collection, "collection")
        return self.system.catalog.image_ids(self.name, where, collection)

    def __len__(self) -> int:
        return self.system.catalog.count_images(self.name)

    def __contains__(self, image_id: object) -> bool:
        return isinstance(image_id, str) and self.system.catalog.has_image(self.name, image_id)
