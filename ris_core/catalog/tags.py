"""Catalog records of tags and their reference images (kept so a context can be exported)."""

from __future__ import annotations

from collections.abc import Sequence

from ris_core.catalog.base import CatalogBase

__all__ = ["TagRecords"]


class TagRecords(CatalogBase):
    """Tag names, their reference images, and counts."""

    def add_tag_references(self, context: str, tag: str, references: Sequence[bytes]) -> None:
        """Record reference images registered under ``tag``."""
        with self.database.transaction() as db:
            self.bump(db, context)
            db.execute(
                "INSERT INTO catalog_tags VALUES (?, ?, ?, ?) ON CONFLICT (backend, context, tag) "
                "DO UPDATE SET references_count = references_count + excluded.references_count",
                (self.backend, context, tag, len(references)),
            )
            start = db.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM catalog_tag_references "
                "WHERE backend = ? AND context = ? AND tag = ?",
                (self.backend, context, tag),
            ).fetchone()[0]
            db.executemany(
                "INSERT INTO catalog_tag_references VALUES (?, ?, ?, ?, ?)",
                [(self.backend, context, tag, start + n, data) for n, data in enumerate(references, 1)],
            )

    def tags(self, context: str) -> dict[str, int]:
        """Every tag of the context with its number of reference images."""
        rows = self.database.query(
            "SELECT tag, references_count FROM catalog_tags WHERE backend = ? AND context = ? ORDER BY tag",
            (self.backend, context),
        )
        return {str(tag): int(count) for tag, count in rows}

    def tag_references(self, context: str, tag: str) -> list[bytes]:
        """The reference images of a tag, in the order they were added."""
        rows = self.database.query(
            "SELECT data FROM catalog_tag_references WHERE backend = ? AND context = ? AND tag = ? ORDER BY seq",
            (self.backend, context, tag),
        )
        return [bytes(row[0]) for row in rows]
