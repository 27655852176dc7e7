"""Catalog records of review decisions: pairs of images a person said are not duplicates."""

from __future__ import annotations

from ris_core.catalog.base import CatalogBase, now

__all__ = ["DecisionRecords"]


class DecisionRecords(CatalogBase):
    """Declined duplicate pairs per context, each stored once with the smaller id first."""

    def add_not_duplicates(self, context: str, first_id: str, second_id: str) -> None:
        """Record that two images are not duplicates (recording it twice is harmless)."""
        low, high = sorted((first_id, second_id))
        with self.database.transaction() as db:
            self.bump(db, context)
            db.execute(
                "INSERT INTO catalog_not_duplicates VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (self.backend, context, low, high, now()),
            )

    def remove_not_duplicates(self, context: str, first_id: str, second_id: str) -> bool:
        """Forget a decision; whether there was one."""
        low, high = sorted((first_id, second_id))
        with self.database.transaction() as db:
            self.bump(db, context)
            cursor = db.execute(
                "DELETE FROM catalog_not_duplicates "
                "WHERE backend = ? AND context = ? AND first_id = ? AND second_id = ?",
                (self.backend, context, low, high),
            )
            return cursor.rowcount > 0

    def not_duplicates(self, context: str) -> list[tuple[str, str]]:
        """Every declined pair of the context, sorted."""
        rows = self.database.query(
            "SELECT first_id, second_id FROM catalog_not_duplicates WHERE backend = ? AND context = ? "
            "ORDER BY first_id, second_id",
            (self.backend, context),
        )
        return [(str(first), str(second)) for first, second in rows]
