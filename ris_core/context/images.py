"""Images in a context: add (one or many), update, read, delete, list."""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from tqdm import tqdm

from ris_core.backend import Capability
from ris_core.context.base import ContextBase, Filter
from ris_core.errors import ImageExistsError, ImageNotFoundError, InvalidArgumentError
from ris_core.images import ImageData, ImageInput, load_image
from ris_core.ingest import (
    IMAGE_PATTERNS,
    IngestItem,
    IngestReport,
    ProgressCallback,
    Work,
    collect_files,
    ingest,
    sync_one,
)
from ris_core.metadata import dump_metadata
from ris_core.models import ImageInfo
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

    @property
    def by_reference(self) -> bool:
        """Whether images added from files are stored by reference (see
        :meth:`ImageSearch.create_context`); bytes and other inputs are always copied."""
        record = self.system.catalog.get_context(self.name)
        return record.by_reference and Capability.REFERENCES in self.system.backend.capabilities

    def _prepared(self, image: ImageInput) -> ImageData:
        """The loaded image, marked to be stored by reference when the context says so."""
        data = self.system.load(image)
        if data.source is not None and self.by_reference:
            data = dataclasses.replace(data, by_reference=True)
        return data

    def add_image(self, image_id: str, image: ImageInput, metadata: Mapping[str, Any] | None = None) -> None:
        """Store an image under a new id and index it, with optional metadata.

        ImageExistsError if the id is taken (use :meth:`update_image` to replace);
        InvalidImageError for unreadable data; InvalidMetadataError for metadata that
        is not a JSON object. Nothing is stored when any of them is raised. In a
        context that stores by reference, a file is stored as its path, size, mtime
        and content hash rather than as a copy.
        """
        check_id(image_id)
        text = None if metadata is None else dump_metadata(metadata)
        self._add(image_id, self._prepared(image), text)

    def _add(self, image_id: str, data: ImageData, text: str | None) -> None:
        if self.system.catalog.has_image(self.name, image_id):
            raise ImageExistsError(
                f"image {image_id!r} is already in context {self.name!r}; use update_image() to replace it"
            )
        try:
            self.system.backend.add_image(self.ref, image_id, data)
        except ImageExistsError:
            if self.system.catalog.has_image(self.name, image_id):
                raise  # another writer added it meanwhile
            # The backend holds an image the catalog does not: an add interrupted
            # between the two writes, or another process between them right now.
            # Either way this add completes it; the catalog's insert decides who added.
            logger.info("completing image %r in context %r, stored but not yet recorded", image_id, self.name)
            self.system.backend.update_image(self.ref, image_id, data)
            if not self.system.catalog.insert_image(self.name, image_id, data, text, reference=data.by_reference):
                raise
            self.system.notify_write(self.name, "add_image", [image_id])
            return
        try:
            inserted = self.system.catalog.insert_image(self.name, image_id, data, text, reference=data.by_reference)
        except BaseException:
            self.system.backend.delete_image(self.ref, image_id)
            raise
        if not inserted:
            raise ImageExistsError(f"image {image_id!r} was added to context {self.name!r} by another writer")
        self.system.notify_write(self.name, "add_image", [image_id])

    def update_image(self, image_id: str, image: ImageInput, metadata: Mapping[str, Any] | None = None) -> None:
        """Replace a stored image and its features (and its metadata, if given)."""
        check_id(image_id)
        text = None if metadata is None else dump_metadata(metadata)
        self._update(image_id, self._prepared(image), text, metadata is not None)

    def _update(self, image_id: str, data: ImageData, text: str | None, with_metadata: bool) -> None:
        self._require(image_id)
        self.system.backend.update_image(self.ref, image_id, data)
        if with_metadata:
            self.system.catalog.put_image(self.name, image_id, data, text, reference=data.by_reference)
        else:
            self.system.catalog.put_image(self.name, image_id, data, reference=data.by_reference)
        self.system.notify_write(self.name, "update_image", [image_id])

    def get_image(self, image_id: str) -> bytes:
        """The stored bytes of an image, exactly as they were added.

        For an image stored by reference, the bytes of its file, checked against the
        hash it was indexed with: SourceFileMissingError when the file is gone,
        SourceFileChangedError when it holds other bytes (``sync`` re-indexes it).
        """
        return self.system.backend.get_image(self.ref, check_id(image_id))

    def image_info(self, image_id: str) -> ImageInfo:
        """What the catalog knows of an image: hash, size, dimensions, when it was
        added and, stored by reference, the file and its mtime."""
        info = self.system.catalog.image_info(self.name, check_id(image_id))
        if info is None:
            raise ImageNotFoundError(f"no image {image_id!r} in context {self.name!r}")
        if info.width is None:  # recorded before sizes were: read them from the bytes
            data = load_image(self.get_image(image_id), max_pixels=2**62, max_decode_bytes=2**62)
            info = dataclasses.replace(info, size=len(data.data), width=data.width, height=data.height)
        return info

    def delete_image(self, image_id: str) -> None:
        """Delete an image, its features, metadata and collection memberships.

        An image the backend holds but the catalog never recorded (an add cut short
        by a crash) is deleted too, rather than said not to exist.
        """
        check_id(image_id)
        if not self.system.catalog.has_image(self.name, image_id):
            try:
                self.system.backend.delete_image(self.ref, image_id)
            except ImageNotFoundError:
                raise ImageNotFoundError(f"no image {image_id!r} in context {self.name!r}") from None
            logger.info("deleted %r, which an interrupted add had left unrecorded", image_id)
            self.system.catalog.touch(self.name)
            return
        try:
            self.system.backend.delete_image(self.ref, image_id)
        except ImageNotFoundError:
            logger.warning("image %r was already gone from the backend", image_id)
        self.system.catalog.remove_image(self.name, image_id)
        self.system.notify_write(self.name, "delete_image", [image_id])

    def sync(self, *, progress: bool | None = None, on_progress: ProgressCallback | None = None) -> IngestReport:
        """Bring every image that came from a file up to date with it.

        An image whose file is gone is deleted (``removed``); one whose file changed
        is indexed again from it (``updated``); the others are ``skipped``. Applies to
        images stored by reference and to copies made from files alike.
        """
        records = self.system.catalog.sourced_images(self.name)
        show_bar = sys.stderr.isatty() if progress is None else progress
        report = IngestReport()
        with tqdm(total=len(records), disable=not show_bar, unit="image", desc=f"syncing {self.name}") as bar:
            for record in records:
                item = sync_one(self, record)  # type: ignore[arg-type]
                report.items.append(item)
                bar.update(1)
                if on_progress is not None:
                    on_progress(len(report.items), len(records), item)
        logger.info("sync of %r: %s", self.name, report.summary())
        return report

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
        and not ``exclude`` (glob patterns on the name or relative path). Ids: with
        one path, a file found in a folder gets its path relative to that folder, a
        file given directly its name; with several paths, each id is prefixed with its
        root's name (``cameraA/IMG_0001.jpg``). Work runs on ``workers`` threads
        (default: one per core). Bad items are reported, not raised, whatever went
        wrong with them; a failing store (StorageError) stops the batch, keeping every
        item reported. An id that already holds the same bytes is skipped, so
        re-running an interrupted batch resumes it; the same file with other bytes is
        updated; a file already indexed under another id (another link to it) is
        skipped; an id another file holds is a failed item (SourceConflictError).
        Files are stored by reference when the context says so (:attr:`by_reference`);
        tuples are always copied. ``progress`` shows a bar (default: when stderr is a
        terminal); ``on_progress(done, total, item)`` is called after each item, never
        from two threads at once.
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
