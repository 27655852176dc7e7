"""Catalog records of collections: named sets of images within a context."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from ris_core.catalog.base import CatalogBase, now
from ris_core.errors import CollectionExistsError, CollectionNotFoundError, ImageNotFoundError

__all__ = ["CollectionRecords"]


class CollectionRecords(CatalogBase):
    """Create, rename, delete collections; add and remove their images."""

    def create_collection(self, context: str, name: str) -> None:
        """A new empty collection; CollectionExistsError if the name is taken."""
        with self.database.transaction() as db:
            try:
                db.execute("INSERT INTO catalog_collections VALUES (?, ?, ?, ?)", (self.backend, context, name, now()))
            except sqlite3.IntegrityError as exc:
                raise CollectionExistsError(f"a collection named {name!r} already exists") from exc

    def collections(self, context: str) -> list[tuple[str, int, str]]:
        """(name, image count, created at) of every collection, by name."""
        rows = self.database.query(
            "SELECT c.name, (SELECT COUNT(*) FROM catalog_collection_members m WHERE m.backend = c.backend "
            "AND m.context = c.context AND m.collection = c.name), c.created_at "
            "FROM catalog_collections c WHERE c.backend = ? AND c.context = ? ORDER BY c.name",
            (self.backend, context),
        )
        return [(str(name), int(count), str(created)) for name, count, created in rows]

    def rename_collection(self, context: str, old: str, new: str) -> None:
        """Rename a collection; its members follow (ON UPDATE CASCADE)."""
        with self.database.transaction() as db:
            self.bump(db, context)
            try:
                cursor = db.execute(
                    "UPDATE catalog_collections SET name = ? WHERE backend = ? AND context = ? AND name = ?",
                    (new, self.backend, context, old),
                )
            except sqlite3.IntegrityError as exc:
                raise CollectionExistsError(f"a collection named {new!r} already exists") from exc
            if cursor.rowcount == 0:
                raise CollectionNotFoundError(f"no collection {old!r} in context {context!r}")

    def delete_collection(self, context: str, name: str) -> None:
        """Delete a collection; its images stay in the context."""
        with self.database.transaction() as db:
            self.bump(db, context)
            cursor = db.execute(
                "DELETE FROM catalog_collections WHERE backend = ? AND context = ? AND name = ?",
                (self.backend, context, name),
            )
            if cursor.rowcount == 0:
                raise CollectionNotFoundError(f"no collection {name!r} in context {context!r}")

    def add_members(self, context: str, name: str, image_ids: Sequence[str]) -> None:
        """Put images in a collection (all or none); already-present ones are fine."""
        with self.database.transaction() as db:
            self.bump(db, context)
            self._require(db, context, name)
            for image_id in image_ids:
                if (
                    db.execute(
                        "SELECT 1 FROM catalog_images WHERE backend = ? AND context = ? AND image_id = ?",
                        (self.backend, context, image_id),
                    ).fetchone()
                    is None
                ):
                    raise ImageNotFoundError(f"no image {image_id!r} in context {context!r}; nothing was added")
                db.execute(
                    "INSERT OR IGNORE INTO catalog_collection_members VALUES (?, ?, ?, ?)",
                    (self.backend, context, name, image_id),
                )

    def remove_members(self, context: str, name: str, image_ids: Sequence[str]) -> None:
        """Take images out of a collection (the images stay in the context)."""
        with self.database.transaction() as db:
            self.bump(db, context)
            self._require(db, context, name)
            db.executemany(
                "DELETE FROM catalog_collection_members WHERE backend = ? AND context = ? AND collection = ? "
                "AND image_id = ?",
                [(self.backend, context, name, image_id) for image_id in image_ids],
            )

    def collections_of(self, context: str, image_id: str) -> list[str]:
        """The collections an image is in, by name."""
        rows = self.database.query(
            "SELECT collection FROM catalog_collection_members WHERE backend = ? AND context = ? AND image_id = ? "
            "ORDER BY collection",
            (self.backend, context, image_id),
        )
        return [str(row[0]) for row in rows]

    def _require(self, db: sqlite3.Connection, context: str, name: str) -> None:
        if (
            db.execute(
                "SELECT 1 FROM catalog_collections WHERE backend = ? AND context = ? AND name = ?",
                (self.backend, context, name),
            ).fetchone()
            is None
        ):
            raise CollectionNotFoundError(f"no collection {name!r} in context {context!r}")
