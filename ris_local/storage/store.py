"""The local backend's tables: contexts, image bytes, feature blobs and tag references.

Every image row has an integer ``key`` (its rowid) that the in-memory index uses. Each
context carries a ``generation`` counter, bumped by every write in the same transaction,
so a process can tell cheaply whether another process changed the context since it
built its index.

A read-only database cannot take the features a newer engine makes again from a stale
row, so :meth:`LocalStore.keep_features` holds them in memory instead, and every read of
features here returns them in place of the stored row for as long as this store lives.
Each held row remembers a digest of the stored blob it stands for, and is used only while
the file still holds that blob: a row another process rewrote is read as it now stands.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ris_core.database import Database
from ris_core.errors import (
    ContextNotFoundError,
    FeaturesNotFoundError,
    ImageExistsError,
    ImageNotFoundError,
    SourceFileChangedError,
    SourceFileMissingError,
    TagNotFoundError,
)
from ris_core.images import ImageData
from ris_local.storage.index_store import MIGRATION

__all__ = ["Changes", "FeatureRow", "LocalStore"]

_MIGRATIONS = (
    """
    CREATE TABLE local_contexts (
        ref TEXT PRIMARY KEY,
        options TEXT NOT NULL,
        created_at TEXT NOT NULL,
        generation INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE local_images (
        key INTEGER PRIMARY KEY AUTOINCREMENT,
        ref TEXT NOT NULL REFERENCES local_contexts (ref) ON DELETE CASCADE,
        image_id TEXT NOT NULL,
        data BLOB NOT NULL,
        format TEXT NOT NULL,
        width INTEGER NOT NULL,
        height INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        UNIQUE (ref, image_id)
    );
    CREATE TABLE local_features (
        key INTEGER PRIMARY KEY REFERENCES local_images (key) ON DELETE CASCADE,
        algorithm TEXT NOT NULL,
        version TEXT NOT NULL,
        blob BLOB NOT NULL
    );
    CREATE TABLE local_tag_references (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ref TEXT NOT NULL REFERENCES local_contexts (ref) ON DELETE CASCADE,
        tag TEXT NOT NULL,
        data BLOB NOT NULL,
        algorithm TEXT NOT NULL,
        version TEXT NOT NULL,
        blob BLOB NOT NULL
    );
    CREATE INDEX local_tag_references_by_tag ON local_tag_references (ref, tag)
    """,
    MIGRATION,
    # An image stored by reference keeps its file's path here and no bytes.
    "ALTER TABLE local_images ADD COLUMN source TEXT",
    # Each feature row names its context, as every other table does: on PostgreSQL that
    # column is in the key, so the tables can be sharded by context (Citus, README).
    """
    ALTER TABLE local_features ADD COLUMN ref TEXT;
    UPDATE local_features SET ref = (SELECT i.ref FROM local_images i WHERE i.key = local_features.key)
    """,
)


def _stored(image: ImageData) -> tuple[bytes, str | None]:
    """The bytes and source path a row keeps: the path alone for a reference."""
    if image.by_reference and image.source is not None:
        return b"", str(image.source.path)
    return image.data, None


def _read_reference(path: str, sha256: str) -> bytes:
    """The bytes of a referenced file, checked against the hash it was indexed with."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError as exc:
        raise SourceFileMissingError(f"the file {path!r} this image references is gone") from exc
    except OSError as exc:
        raise SourceFileMissingError(f"the file {path!r} this image references cannot be read: {exc.strerror}") from exc
    if hashlib.sha256(data).hexdigest() != sha256:
        raise SourceFileChangedError(
            f"the file {path!r} this image references has changed since it was indexed; index it again"
        )
    return data


@dataclass(frozen=True, slots=True)
class FeatureRow:
    """A stored feature blob with the image it belongs to and what made it."""

    key: int
    image_id: str
    algorithm: str
    version: str
    blob: bytes


def _made(row: FeatureRow) -> tuple[str, str, bytes]:
    return row.algorithm, row.version, row.blob


def _digest(blob: bytes) -> bytes:
    return hashlib.blake2b(blob, digest_size=16).digest()


@dataclass(frozen=True, slots=True)
class Changes:
    """What other processes wrote to a context between two generations: blobs put, keys dropped."""

    put: list[tuple[int, bytes]]
    removed: list[int]


@dataclass(frozen=True, slots=True)
class _Held:
    """Features kept in memory in place of the stored blob whose digest is ``replaces``."""

    replaces: bytes
    row: FeatureRow


class LocalStore:
    """Typed reads and transactional writes over the local backend's tables."""

    def __init__(self, database: Database) -> None:
        self.database = database
        database.migrate("local", _MIGRATIONS)
        self._held: dict[int, _Held] = {}  # by image key
        self._held_tags: dict[int, _Held] = {}  # by tag reference row id

    def changes(self, ref: str, after: int, upto: int) -> Changes | None:
        """The writes between two generations, where a change log keeps them; None (rebuild) here."""
        return None

    # --- contexts ----------------------------------------------------------------

    def create_context(self, options: Mapping[str, str]) -> str:
        """Insert a context under a fresh reference and return it."""
        ref = uuid.uuid4().hex
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        with self.database.transaction() as db:
            db.execute(
                "INSERT INTO local_contexts (ref, options, created_at) VALUES (?, ?, ?)",
                (ref, json.dumps(dict(options)), now),
            )
        return ref

    def delete_context(self, ref: str) -> None:
        """Delete a context; cascades to its images, features and tags."""
        with self.database.transaction() as db:
            if db.execute("DELETE FROM local_contexts WHERE ref = ?", (ref,)).rowcount == 0:
                raise ContextNotFoundError(f"no local context {ref!r}")

    def context_exists(self, ref: str) -> bool:
        """Whether the context exists."""
        return bool(self.database.query("SELECT 1 FROM local_contexts WHERE ref = ?", (ref,)))

    def generation(self, ref: str) -> int:
        """The context's write counter; ContextNotFoundError if it does not exist."""
        rows = self.database.query("SELECT generation FROM local_contexts WHERE ref = ?", (ref,))
        if not rows:
            raise ContextNotFoundError(f"no local context {ref!r}")
        return int(rows[0][0])

    @staticmethod
    def _bump(db: sqlite3.Connection, ref: str) -> int:
        row = db.execute(
            "UPDATE local_contexts SET generation = generation + 1 WHERE ref = ? RETURNING generation",
            (ref,),
        ).fetchone()
        if row is None:
            raise ContextNotFoundError(f"no local context {ref!r}")
        return int(row[0])

    # --- images and features -----------------------------------------------------

    def add_image(self, ref: str, image_id: str, image: ImageData, features: FeatureRow) -> tuple[int, int]:
        """Insert an image with its features in one transaction; return (key, generation)."""
        with self.database.transaction() as db:
            generation = self._bump(db, ref)
            data, source = _stored(image)
            try:
                cursor = db.execute(
                    "INSERT INTO local_images (ref, image_id, data, format, width, height, sha256, source) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (ref, image_id, data, image.format, image.width, image.height, image.sha256, source),
                )
            except sqlite3.IntegrityError as exc:
                raise ImageExistsError(f"image {image_id!r} already exists") from exc
            key = int(cursor.lastrowid or 0)
            self._put_features(db, ref, key, features)
        return key, generation

    def replace_image(self, ref: str, image_id: str, image: ImageData, features: FeatureRow) -> tuple[int, int]:
        """Replace the bytes and features of an existing image; return (key, generation)."""
        with self.database.transaction() as db:
            generation = self._bump(db, ref)
            key = self._key(db, ref, image_id)
            data, source = _stored(image)
            db.execute(
                "UPDATE local_images SET data = ?, format = ?, width = ?, height = ?, sha256 = ?, source = ? "
                "WHERE key = ?",
                (data, image.format, image.width, image.height, image.sha256, source, key),
            )
            self._put_features(db, ref, key, features)
        return key, generation

    def put_features(self, ref: str, image_id: str, features: FeatureRow) -> tuple[int, int]:
        """Store (or replace) the features of an existing image; return (key, generation)."""
        with self.database.transaction() as db:
            generation = self._bump(db, ref)
            key = self._key(db, ref, image_id)
            self._put_features(db, ref, key, features)
        return key, generation

    @staticmethod
    def _put_features(db: sqlite3.Connection, ref: str, key: int, features: FeatureRow) -> None:
        db.execute(
            "INSERT OR REPLACE INTO local_features (key, ref, algorithm, version, blob) VALUES (?, ?, ?, ?, ?)",
            (key, ref, features.algorithm, features.version, features.blob),
        )

    def delete_image(self, ref: str, image_id: str) -> tuple[int, int]:
        """Delete an image and its features; return (key, generation)."""
        with self.database.transaction() as db:
            generation = self._bump(db, ref)
            key = self._key(db, ref, image_id)
            db.execute("DELETE FROM local_images WHERE key = ?", (key,))
        return key, generation

    def delete_features(self, ref: str, image_id: str) -> tuple[int, int]:
        """Delete the features of an image; return (key, generation)."""
        with self.database.transaction() as db:
            generation = self._bump(db, ref)
            key = self._key(db, ref, image_id)
            if db.execute("DELETE FROM local_features WHERE key = ?", (key,)).rowcount == 0:
                raise FeaturesNotFoundError(f"image {image_id!r} has no features")
        return key, generation

    def image_data(self, ref: str, image_id: str) -> bytes:
        """The stored bytes of an image; for a reference, its file's, checked by hash."""
        rows = self.database.query(
            "SELECT data, source, sha256 FROM local_images WHERE ref = ? AND image_id = ?", (ref, image_id)
        )
        if not rows:
            raise self._missing(ref, image_id)
        data, source, sha256 = rows[0]
        return bytes(data) if source is None else _read_reference(str(source), str(sha256))

    def features(self, ref: str, image_id: str) -> FeatureRow:
        """The stored features of an image."""
        rows = self.database.query(
            "SELECT i.key, f.algorithm, f.version, f.blob FROM local_images i "
            "LEFT JOIN local_features f ON f.ref = i.ref AND f.key = i.key WHERE i.ref = ? AND i.image_id = ?",
            (ref, image_id),
        )
        if not rows:
            raise self._missing(ref, image_id)
        key, algorithm, version, blob = rows[0]
        if blob is None:
            raise FeaturesNotFoundError(f"image {image_id!r} has no features; create them first")
        return self._current(FeatureRow(int(key), image_id, str(algorithm), str(version), bytes(blob)))

    def feature_rows(self, ref: str, chunk: int = 10_000) -> Iterator[list[FeatureRow]]:
        """Every feature row of the context, ``chunk`` rows at a time, in key order.

        Each chunk is its own read, so a long scan does not hold a lock that would stop
        writers in other processes; the caller compares generations to see if it raced.
        """
        after = -1
        while True:
            rows = self.database.query(
                "SELECT i.key, i.image_id, f.algorithm, f.version, f.blob FROM local_images i "
                "JOIN local_features f ON f.ref = i.ref AND f.key = i.key "
                "WHERE i.ref = ? AND i.key > ? ORDER BY i.key LIMIT ?",
                (ref, after, chunk),
            )
            if not rows:
                return
            yield [self._current(FeatureRow(int(k), str(i), str(a), str(v), bytes(b))) for k, i, a, v, b in rows]
            after = int(rows[-1][0])

    def stale_features(self, ref: str, algorithm: str, version: str) -> list[FeatureRow]:
        """Feature rows of the context made by another engine than ``algorithm`` ``version``
        (rows whose features are held in memory count as the held ones)."""
        rows = self.database.query(
            "SELECT i.key, i.image_id, f.algorithm, f.version, f.blob FROM local_images i "
            "JOIN local_features f ON f.ref = i.ref AND f.key = i.key "
            "WHERE i.ref = ? AND (f.algorithm != ? OR f.version != ?)",
            (ref, algorithm, version),
        )
        current = (self._current(FeatureRow(int(k), str(i), str(a), str(v), bytes(b))) for k, i, a, v, b in rows)
        return [row for row in current if (row.algorithm, row.version) != (algorithm, version)]

    def keep_features(self, stale: FeatureRow, fresh: FeatureRow) -> None:
        """Hold ``fresh`` in memory in place of the stored ``stale`` row (of the same
        image), for a database that cannot be written: every read here returns it."""
        self._held[stale.key] = _Held(_digest(stale.blob), FeatureRow(stale.key, stale.image_id, *_made(fresh)))

    def _current(self, row: FeatureRow) -> FeatureRow:
        """The stored row, or the features held in its place while it is unchanged."""
        held = self._held.get(row.key)
        return held.row if held is not None and held.replaces == _digest(row.blob) else row

    def ids_of(self, keys: Iterable[int]) -> dict[int, str]:
        """The image id of each key."""
        return {int(k): str(i) for k, i in self._in("SELECT key, image_id FROM local_images WHERE key IN", keys)}

    def keys_of(self, ref: str, image_ids: Iterable[str]) -> dict[str, int]:
        """The key of each image id of the context (unknown ids are left out)."""
        rows = self._in("SELECT image_id, key FROM local_images WHERE ref = ? AND image_id IN", image_ids, [ref])
        return {str(i): int(k) for i, k in rows}

    def _in(self, sql: str, values: Iterable[object], before: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        wanted, found = list(values), []
        for start in range(0, len(wanted), 500):  # SQLite caps the number of parameters
            chunk = wanted[start : start + 500]
            found += self.database.query(f"{sql} ({','.join('?' * len(chunk))})", [*before, *chunk])
        return found

    def blobs_for(self, keys: Iterable[int]) -> dict[int, bytes]:
        """Feature blobs of the given keys."""
        found = {int(k): bytes(b) for k, b in self._in("SELECT key, blob FROM local_features WHERE key IN", keys)}
        for key in found.keys() & self._held.keys():
            if self._held[key].replaces == _digest(found[key]):
                found[key] = self._held[key].row.blob
        return found

    def _key(self, db: sqlite3.Connection, ref: str, image_id: str) -> int:
        row = db.execute("SELECT key FROM local_images WHERE ref = ? AND image_id = ?", (ref, image_id)).fetchone()
        if row is None:
            raise self._missing(ref, image_id)
        return int(row[0])

    def _missing(self, ref: str, image_id: str) -> Exception:
        if not self.context_exists(ref):
            return ContextNotFoundError(f"no local context {ref!r}")
        return ImageNotFoundError(f"no image {image_id!r} in this context")

    # --- tags --------------------------------------------------------------------

    def add_tag_references(self, ref: str, tag: str, references: list[tuple[ImageData, FeatureRow]]) -> None:
        """Store reference images (and their features) under a tag."""
        with self.database.transaction() as db:
            self._bump(db, ref)
            db.executemany(
                "INSERT INTO local_tag_references (ref, tag, data, algorithm, version, blob) VALUES (?, ?, ?, ?, ?, ?)",
                [(ref, tag, image.data, row.algorithm, row.version, row.blob) for image, row in references],
            )

    def tag_references(self, ref: str, tag: str) -> list[tuple[int, bytes, FeatureRow]]:
        """(row id, image bytes, features) of a tag's reference images; TagNotFoundError if none."""
        rows = self.database.query(
            "SELECT id, data, algorithm, version, blob FROM local_tag_references WHERE ref = ? AND tag = ? ORDER BY id",
            (ref, tag),
        )
        if not rows:
            if not self.context_exists(ref):
                raise ContextNotFoundError(f"no local context {ref!r}")
            raise TagNotFoundError(f"no tag {tag!r} in this context")
        references = []
        for reference_id, data, algorithm, version, blob in rows:
            row = FeatureRow(0, tag, str(algorithm), str(version), bytes(blob))
            held = self._held_tags.get(int(reference_id))
            if held is not None and held.replaces == _digest(row.blob):
                row = held.row
            references.append((int(reference_id), bytes(data), row))
        return references

    def keep_tag_features(self, reference_id: int, stale: FeatureRow, fresh: FeatureRow) -> None:
        """Hold ``fresh`` in memory in place of a tag reference's stored ``stale`` features,
        for a database that cannot be written (see :meth:`keep_features`)."""
        self._held_tags[reference_id] = _Held(_digest(stale.blob), FeatureRow(0, stale.image_id, *_made(fresh)))

    def replace_tag_features(self, reference_id: int, features: FeatureRow) -> None:
        """Store recomputed features of one tag reference image (made by a newer engine)."""
        with self.database.transaction() as db:
            db.execute(
                "UPDATE local_tag_references SET algorithm = ?, version = ?, blob = ? WHERE id = ?",
                (features.algorithm, features.version, features.blob, reference_id),
            )
