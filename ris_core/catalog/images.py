"""Catalog records of images: which ids a context holds, their content hash, metadata."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ris_core.catalog.base import CatalogBase, now
from ris_core.errors import CollectionNotFoundError, ImageNotFoundError
from ris_core.metadata import compile_filter, load_metadata

__all__ = ["ImageRecords"]

_KEEP = object()


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

    def put_image(self, context: str, image_id: str, sha256: str, metadata: str | object | None = _KEEP) -> None:
        """Record an image or its new content hash; ``metadata`` (JSON text or None)
        replaces the stored metadata unless omitted."""
        with self.database.transaction() as db:
            self.bump(db, context)
            db.execute(
                "INSERT INTO catalog_images (backend, context, image_id, sha256, added_at, metadata) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (backend, context, image_id) "
                "DO UPDATE SET sha256 = excluded.sha256",
                (self.backend, context, image_id, sha256, now(), None if metadata is _KEEP else metadata),
            )
            if metadata is not _KEEP:
                self._write_metadata(db, context, image_id, metadata)  # type: ignore[arg-type]

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
            condition, filter_params = compile_filter(where, "i.metadata")
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
