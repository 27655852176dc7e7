"""Catalog records of search contexts: user-facing names mapped to backend references."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ris_core.catalog.base import CatalogBase, now
from ris_core.errors import ContextExistsError, ContextNotFoundError

__all__ = ["ContextRecord", "ContextRecords"]


@dataclass(frozen=True, slots=True)
class ContextRecord:
    """A context as the catalog knows it."""

    name: str
    ref: str
    options: Mapping[str, str]
    created_at: str
    by_reference: bool = False


class ContextRecords(CatalogBase):
    """Create, find, list and forget contexts."""

    def add_context(
        self, name: str, ref: str, options: Mapping[str, str], *, by_reference: bool = False
    ) -> ContextRecord:
        """Record a new context; ContextExistsError if the name is taken."""
        record = ContextRecord(name, ref, dict(options), now(), by_reference)
        with self.database.transaction() as db:
            try:
                db.execute(
                    "INSERT INTO catalog_contexts (backend, name, ref, options, created_at, by_reference) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (self.backend, name, ref, json.dumps(record.options), record.created_at, int(by_reference)),
                )
            except sqlite3.IntegrityError as exc:
                raise ContextExistsError(f"a search context named {name!r} already exists") from exc
        return record

    def get_context(self, name: str) -> ContextRecord:
        """The record of ``name``; ContextNotFoundError if there is none."""
        rows = self.database.query(
            "SELECT name, ref, options, created_at, by_reference FROM catalog_contexts WHERE backend = ? AND name = ?",
            (self.backend, name),
        )
        if not rows:
            raise ContextNotFoundError(
                f"no search context named {name!r} (backend {self.backend!r}); "
                "create it first, or list them with list_contexts()"
            )
        return self._record(rows[0])

    def has_context(self, name: str) -> bool:
        """Whether a context of that name is recorded."""
        return bool(
            self.database.query("SELECT 1 FROM catalog_contexts WHERE backend = ? AND name = ?", (self.backend, name))
        )

    def list_contexts(self) -> list[tuple[ContextRecord, int]]:
        """Every context with its image count, by name."""
        rows = self.database.query(
            "SELECT c.name, c.ref, c.options, c.created_at, c.by_reference, "
            "(SELECT COUNT(*) FROM catalog_images i WHERE i.backend = c.backend AND i.context = c.name) "
            "FROM catalog_contexts c WHERE c.backend = ? ORDER BY c.name",
            (self.backend,),
        )
        return [(self._record(row), int(row[5])) for row in rows]

    def remove_context(self, name: str) -> None:
        """Forget the context and everything recorded in it."""
        with self.database.transaction() as db:
            db.execute("DELETE FROM catalog_contexts WHERE backend = ? AND name = ?", (self.backend, name))

    @staticmethod
    def _record(row: tuple[Any, ...]) -> ContextRecord:
        name, ref, options, created_at, by_reference = row[:5]
        return ContextRecord(str(name), str(ref), json.loads(str(options)), str(created_at), bool(by_reference))
