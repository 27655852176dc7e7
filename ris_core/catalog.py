"""The catalog: what the core remembers about contexts and images, for every backend.

Backends address contexts by their own references (Aspose hands out UUIDs); the catalog
maps the names users choose to those references, and records which image ids each
context holds (the Aspose API cannot list them), with their content hash and time of
addition. It lives in a SQLite file: for the local backend, the same file as its store.
"""

from __future__ import annotations

import datetime
import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass

from ris_core.errors import ContextExistsError, ContextNotFoundError
from ris_core.sqlite import Database

__all__ = ["Catalog", "ContextRecord"]

_MIGRATIONS = (
    """
    CREATE TABLE catalog_contexts (
        backend TEXT NOT NULL,
        name TEXT NOT NULL,
        ref TEXT NOT NULL,
        options TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (backend, name)
    );
    CREATE TABLE catalog_images (
        backend TEXT NOT NULL,
        context TEXT NOT NULL,
        image_id TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        added_at TEXT NOT NULL,
        PRIMARY KEY (backend, context, image_id),
        FOREIGN KEY (backend, context) REFERENCES catalog_contexts (backend, name) ON DELETE CASCADE
    );
    CREATE INDEX catalog_images_by_hash ON catalog_images (backend, context, sha256);
    CREATE TABLE catalog_tags (
        backend TEXT NOT NULL,
        context TEXT NOT NULL,
        tag TEXT NOT NULL,
        references_count INTEGER NOT NULL,
        PRIMARY KEY (backend, context, tag),
        FOREIGN KEY (backend, context) REFERENCES catalog_contexts (backend, name) ON DELETE CASCADE
    )
    """,
)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class ContextRecord:
    """A context as the catalog knows it."""

    name: str
    ref: str
    options: Mapping[str, str]
    created_at: str


class Catalog:
    """Names, image ids and tags of one backend's contexts, in a SQLite database."""

    def __init__(self, database: Database, backend: str) -> None:
        self.database = database
        self.backend = backend
        database.migrate("catalog", _MIGRATIONS)

    # --- contexts ----------------------------------------------------------------

    def add_context(self, name: str, ref: str, options: Mapping[str, str]) -> ContextRecord:
        """Record a new context; ContextExistsError if the name is taken."""
        record = ContextRecord(name, ref, dict(options), _now())
        try:
            with self.database.transaction() as db:
                db.execute(
                    "INSERT INTO catalog_contexts VALUES (?, ?, ?, ?, ?)",
                    (self.backend, name, ref, json.dumps(record.options), record.created_at),
                )
        except sqlite3.IntegrityError as exc:
            raise ContextExistsError(f"a search context named {name!r} already exists") from exc
        return record

    def get_context(self, name: str) -> ContextRecord:
        """The record of ``name``; ContextNotFoundError if there is none."""
        rows = self.database.query(
            "SELECT name, ref, options, created_at FROM catalog_contexts WHERE backend = ? AND name = ?",
            (self.backend, name),
        )
        if not rows:
            raise ContextNotFoundError(
                f"no search context named {name!r} (backend {self.backend!r}); "
                "create it first or list them with list_contexts()"
            )
        return self._record(rows[0])

    def has_context(self, name: str) -> bool:
        """Whether a context of that name is recorded."""
        return bool(self.database.query(
            "SELECT 1 FROM catalog_contexts WHERE backend = ? AND name = ?", (self.backend, name)
        ))

    def list_contexts(self) -> list[tuple[ContextRecord, int]]:
        """Every context with its image count, by name."""
        rows = self.database.query(
            "SELECT c.name, c.ref, c.options, c.created_at, "
            "(SELECT COUNT(*) FROM catalog_images i WHERE i.backend = c.backend AND i.context = c.name) "
            "FROM catalog_contexts c WHERE c.backend = ? ORDER BY c.name",
            (self.backend,),
        )
        return [(self._record(row), int(row[4])) for row in rows]

    def remove_context(self, name: str) -> None:
        """Forget the context and everything recorded in it."""
        with self.database.transaction() as db:
            db.execute(
                "DELETE FROM catalog_contexts WHERE backend = ? AND name = ?", (self.backend, name)
            )

    @staticmethod
    def _record(row: tuple[object, ...]) -> ContextRecord:
        name, ref, options, created_at = row[:4]
        return ContextRecord(str(name), str(ref), json.loads(str(options)), str(created_at))

    # --- images ------------------------------------------------------------------

    def has_image(self, context: str, image_id: str) -> bool:
        """Whether the image id is recorded in the context."""
        return bool(self.database.query(
            "SELECT 1 FROM catalog_images WHERE backend = ? AND context = ? AND image_id = ?",
            (self.backend, context, image_id),
        ))

    def put_image(self, context: str, image_id: str, sha256: str) -> None:
        """Record an image (or its new content hash after an update)."""
        with self.database.transaction() as db:
            db.execute(
                "INSERT INTO catalog_images VALUES (?, ?, ?, ?, ?) ON CONFLICT (backend, context, image_id) "
                "DO UPDATE SET sha256 = excluded.sha256",
                (self.backend, context, image_id, sha256, _now()),
            )

    def image_sha256(self, context: str, image_id: str) -> str | None:
        """The recorded content hash of an image, or None if it is not recorded."""
        rows = self.database.query(
            "SELECT sha256 FROM catalog_images WHERE backend = ? AND context = ? AND image_id = ?",
            (self.backend, context, image_id),
        )
        return str(rows[0][0]) if rows else None

    def remove_image(self, context: str, image_id: str) -> None:
        """Forget an image."""
        with self.database.transaction() as db:
            db.execute(
                "DELETE FROM catalog_images WHERE backend = ? AND context = ? AND image_id = ?",
                (self.backend, context, image_id),
            )

    def image_ids(self, context: str) -> list[str]:
        """Every image id in the context, sorted."""
        rows = self.database.query(
            "SELECT image_id FROM catalog_images WHERE backend = ? AND context = ? ORDER BY image_id",
            (self.backend, context),
        )
        return [str(row[0]) for row in rows]

    def count_images(self, context: str) -> int:
        """How many images the context holds."""
        rows = self.database.query(
            "SELECT COUNT(*) FROM catalog_images WHERE backend = ? AND context = ?",
            (self.backend, context),
        )
        return int(rows[0][0])

    def ids_with_hash(self, context: str, sha256: str) -> list[str]:
        """Ids of images in the context whose bytes have this SHA-256."""
        rows = self.database.query(
            "SELECT image_id FROM catalog_images WHERE backend = ? AND context = ? AND sha256 = ? ORDER BY image_id",
            (self.backend, context, sha256),
        )
        return [str(row[0]) for row in rows]

    # --- tags --------------------------------------------------------------------

    def add_tag_references(self, context: str, tag: str, count: int) -> None:
        """Record that ``count`` more reference images were registered under ``tag``."""
        with self.database.transaction() as db:
            db.execute(
                "INSERT INTO catalog_tags VALUES (?, ?, ?, ?) ON CONFLICT (backend, context, tag) "
                "DO UPDATE SET references_count = references_count + excluded.references_count",
                (self.backend, context, tag, count),
            )

    def tags(self, context: str) -> dict[str, int]:
        """Every tag of the context with its number of reference images."""
        rows = self.database.query(
            "SELECT tag, references_count FROM catalog_tags WHERE backend = ? AND context = ? ORDER BY tag",
            (self.backend, context),
        )
        return {str(tag): int(count) for tag, count in rows}
