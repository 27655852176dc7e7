"""Catalog records of images: which ids a context holds, their content hash, metadata."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ris_core.catalog.base import CatalogBase, now
from ris_core.errors import CollectionNotFoundError, ImageNotFoundError
from ris_core.images import ImageData
from ris_core.metadata import compile_filter, load_metadata
from ris_core.models import ImageInfo

__all__ = ["ImageRecords", "SourceRecord"]

_KEEP = object()

#: The columns an ImageInfo is made from, in its order.
_INFO = "image_id, sha256, size, width, height, added_at, source, mtime_ns, reference"


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """An image's id, the file it came from (None if it came as data), that file's size
    and mtime when it was read, and the content hash."""

    image_id: str
    source: Path | None
    size: int | None
    mtime_ns: int | None
    sha256: str


def _facts(data: ImageData, reference: bool) -> tuple[Any, ...]:
    """The source, size, width, height, mtime and reference columns of an image."""
    source = data.source
    return (
        None if source is None else str(source.path),
        len(data.data),
        data.width,
        data.height,
        None if source is None else source.mtime_ns,
        int(reference),
    )


def _source_record(row: tuple[Any, ...]) -> SourceRecord:
    image_id, source, size, mtime_ns, sha256 = row
    return SourceRecord(
        str(image_id),
        None if source is None else Path(source),
        None if size is None else int(size),
        None if mtime_ns is None else int(mtime_ns),
        str(sha256),
    )


def _info(row: tuple[Any, ...]) -> ImageInfo:
    image_id, sha256, size, width, height, added_at, source, mtime_ns, reference = row
    return ImageInfo(
        image_id=str(image_id),
        sha256=str(sha256),
        size=int(size or 0),
        width=None if width is None else int(width),
        height=None if height is None else int(height),
        added_at=datetime.datetime.fromisoformat(str(added_at)),
        source=None if not reference or source is None else Path(source),
        modified=None
        if not reference or mtime_ns is None
        else datetime.datetime.fromtimestamp(int(mtime_ns) / 1e9, datetime.UTC),
        reference=bool(reference),
    )


class ImageRecords(CatalogBase):
    """Image ids, hashes and metadata per context."""

    def has_image(self, context: str, image_id: str) -> bool:
        """Whether the image id is recorded in the context."""
        return bool(
            self.database.query(
                "SELECT 1 FROM catalog_images WHERE backend = ? AND context = ? AND image_id = ?",
                (self.backend, context, image_id),
            )
        )

    def insert_image(
        self, context: str, image_id: str, data: ImageData, metadata: str | None, *, reference: bool = False
    ) -> bool:
        """Record a new image; False (and nothing written) if the id is already recorded.

        The insert is the one place two writers racing for an id are told apart: the
        one whose row lands added the image, the other finds it there.
        """
        with self.database.transaction() as db:
            cursor = db.execute(
                "INSERT INTO catalog_images (backend, context, image_id, sha256, added_at, metadata, "
                "source, size, width, height, mtime_ns, reference) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (backend, context, image_id) DO NOTHING",
                (self.backend, context, image_id, data.sha256, now(), metadata, *_facts(data, reference)),
            )
            if cursor.rowcount == 0:
                return False
            self.bump(db, context)
        return True

    def put_image(
        self,
        context: str,
        image_id: str,
        data: ImageData,
        metadata: str | object | None = _KEEP,
        *,
        reference: bool = False,
    ) -> None:
        """Record an image or its new content; ``metadata`` (JSON text or None)
        replaces the stored metadata unless omitted."""
        with self.database.transaction() as db:
            self.bump(db, context)
            db.execute(
                "INSERT INTO catalog_images (backend, context, image_id, sha256, added_at, metadata, "
                "source, size, width, height, mtime_ns, reference) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (backend, context, image_id) DO UPDATE SET sha256 = excluded.sha256, "
                "source = excluded.source, size = excluded.size, width = excluded.width, "
                "height = excluded.height, mtime_ns = excluded.mtime_ns, reference = excluded.reference",
                (
                    self.backend,
                    context,
                    image_id,
                    data.sha256,
                    now(),
                    None if metadata is _KEEP else metadata,
                    *_facts(data, reference),
                ),
            )
            if metadata is not _KEEP:
                self._write_metadata(db, context, image_id, metadata)  # type: ignore[arg-type]

    def touch_source(self, context: str, image_id: str, size: int, mtime_ns: int) -> None:
        """Record a file's new size and mtime when its content is unchanged (a touch)."""
        with self.database.transaction() as db:
            db.execute(
                "UPDATE catalog_images SET size = ?, mtime_ns = ? WHERE backend = ? AND context = ? AND image_id = ?",
                (size, mtime_ns, self.backend, context, image_id),
            )

    def image_info(self, context: str, image_id: str) -> ImageInfo | None:
        """What is recorded of one image, or None if it is not recorded."""
        rows = self.database.query(
            f"SELECT {_INFO} FROM catalog_images WHERE backend = ? AND context = ? AND image_id = ?",
            (self.backend, context, image_id),
        )
        return _info(rows[0]) if rows else None

    def image_record(self, context: str, image_id: str) -> SourceRecord | None:
        """Where an image came from and its hash, or None if it is not recorded."""
        rows = self.database.query(
            "SELECT image_id, source, size, mtime_ns, sha256 FROM catalog_images "
            "WHERE backend = ? AND context = ? AND image_id = ?",
            (self.backend, context, image_id),
        )
        return _source_record(rows[0]) if rows else None

    def id_with_source(self, context: str, source: Path) -> str | None:
        """The id of the image read from ``source``, if one was."""
        rows = self.database.query(
            "SELECT image_id FROM catalog_images WHERE backend = ? AND context = ? AND source = ? "
            "ORDER BY image_id LIMIT 1",
            (self.backend, context, str(source)),
        )
        return str(rows[0][0]) if rows else None

    def sourced_images(self, context: str) -> list[SourceRecord]:
        """Every image of the context that came from a file, by id."""
        rows = self.database.query(
            "SELECT image_id, source, size, mtime_ns, sha256 FROM catalog_images "
            "WHERE backend = ? AND context = ? AND source IS NOT NULL ORDER BY image_id",
            (self.backend, context),
        )
        return [_source_record(row) for row in rows]

    def image_sha256(self, context: str, image_id: str) -> str | None:
        """The recorded content hash of an image, or None if it is not recorded."""
        rows = self.database.query(
            "SELECT sha256 FROM catalog_images WHERE backend = ? AND context = ? AND image_id = ?",
            (self.backend, context, image_id),
        )
        return str(rows[0][0]) if rows else None

    def remove_image(self, context: str, image_id: str) -> None:
        """Forget an image (and its collection memberships)."""
        with self.database.transaction() as db:
            self.bump(db, context)
            db.execute(
                "DELETE FROM catalog_images WHERE backend = ? AND context = ? AND image_id = ?",
                (self.backend, context, image_id),
            )

    def image_ids(
        self, context: str, where: Mapping[str, Any] | None = None, collection: str | None = None
    ) -> list[str]:
        """Image ids in the context, sorted, narrowed by a metadata filter and a collection."""
        sql = "SELECT image_id FROM catalog_images i WHERE backend = ? AND context = ?"
        params: list[Any] = [self.backend, context]
        if where:
            condition, filter_params = compile_filter(where, "i.metadata", self.database.dialect)
            sql += f" AND ({condition})"
            params += filter_params
        if collection is not None:
            self.require_collection(context, collection)
            sql += (
                " AND EXISTS (SELECT 1 FROM catalog_collection_members m WHERE m.backend = i.backend "
                "AND m.context = i.context AND m.collection = ? AND m.image_id = i.image_id)"
            )
            params.append(collection)
        return [str(row[0]) for row in self.database.query(sql + " ORDER BY image_id", params)]

    def require_collection(self, context: str, collection: str) -> None:
        """CollectionNotFoundError unless the collection exists."""
        if not self.database.query(
            "SELECT 1 FROM catalog_collections WHERE backend = ? AND context = ? AND name = ?",
            (self.backend, context, collection),
        ):
            raise CollectionNotFoundError(f"no collection {collection!r} in context {context!r}")

    def count_images(self, context: str) -> int:
        """How many images the context holds."""
        rows = self.database.query(
            "SELECT COUNT(*) FROM catalog_images WHERE backend = ? AND context = ?", (self.backend, context)
        )
        return int(rows[0][0])

    def ids_with_hash(self, context: str, sha256: str) -> list[str]:
        """Ids of images in the context whose bytes have this SHA-256."""
        rows = self.database.query(
            "SELECT image_id FROM catalog_images WHERE backend = ? AND context = ? AND sha256 = ? ORDER BY image_id",
            (self.backend, context, sha256),
        )
        return [str(row[0]) for row in rows]

    # --- metadata ------------------------------------------------------------------

    def set_metadata(self, context: str, image_id: str, metadata: str | None) -> None:
        """Replace an image's metadata (JSON text), or remove it with None."""
        with self.database.transaction() as db:
            self.bump(db, context)
            self._write_metadata(db, context, image_id, metadata)

    def _write_metadata(self, db: Any, context: str, image_id: str, metadata: str | None) -> None:
        cursor = db.execute(
            "UPDATE catalog_images SET metadata = ? WHERE backend = ? AND context = ? AND image_id = ?",
            (metadata, self.backend, context, image_id),
        )
        if cursor.rowcount == 0:
            raise ImageNotFoundError(f"no image {image_id!r} in context {context!r}")

    def get_metadata(self, context: str, image_id: str) -> dict[str, Any]:
        """An image's metadata; an empty dict if it has none."""
        rows = self.database.query(
            "SELECT metadata FROM catalog_images WHERE backend = ? AND context = ? AND image_id = ?",
            (self.backend, context, image_id),
        )
        if not rows:
            raise ImageNotFoundError(f"no image {image_id!r} in context {context!r}")
        return load_metadata(rows[0][0])

    def metadata_for(self, context: str, image_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Metadata of several images at once (images without metadata map to {})."""
        wanted = sorted(set(image_ids))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(wanted), 500):  # SQLite caps the number of parameters
            chunk = wanted[start : start + 500]
            rows = self.database.query(
                f"SELECT image_id, metadata FROM catalog_images WHERE backend = ? AND context = ? "
                f"AND image_id IN ({','.join('?' * len(chunk))})",
                [self.backend, context, *chunk],
            )
            found.update({str(image_id): load_metadata(text) for image_id, text in rows})
        return found
