"""The catalog: what the core remembers about contexts and images, for every backend.

Backends address contexts by their own references (Aspose hands out UUIDs); the catalog
maps the names users choose to those references, and records which image ids each
context holds (the Aspose API cannot list them) with their content hash and metadata,
the collections, the pairs declared not duplicates, the tags with their reference images, and usage statistics. It lives
in a SQLite database: for the local backend, the same file as its store.
"""

from __future__ import annotations

from ris_core.catalog.collections import CollectionRecords
from ris_core.catalog.contexts import ContextRecord, ContextRecords
from ris_core.catalog.decisions import DecisionRecords
from ris_core.catalog.images import ImageRecords
from ris_core.catalog.schema import MIGRATIONS
from ris_core.catalog.stats import StatsRecords
from ris_core.catalog.tags import TagRecords
from ris_core.database import Database

__all__ = ["Catalog", "ContextRecord"]


class Catalog(ContextRecords, ImageRecords, CollectionRecords, TagRecords, StatsRecords, DecisionRecords):
    """Everything the core records, for the contexts of one backend."""

    def __init__(self, database: Database, backend: str) -> None:
        self.database = database
        self.backend = backend
        database.migrate("catalog", MIGRATIONS)
