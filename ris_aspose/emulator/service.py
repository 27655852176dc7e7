"""The imageSearch service and the storage it reads, in one SQLite database.

Behaviour follows the REST contract the SDK speaks (see the package docstring);
where Aspose documents nothing, the emulator picks the natural reading and says so:

* a search context is found by its id (within its ``storage``) whatever ``folder`` a
  request names: the vendor's tag example addresses a context created at the storage
  root with ``folder=Examples/AI``. Its ``(id).search`` file lies in the folder it was
  created in, as the vendor's blog describes;
* ``detector`` must be ``akaze`` and ``matchingAlgorithm`` ``randomBinaryTree`` (the
  only values Aspose documents; any case): anything else is a 400;
* results are sorted by descending similarity (ties by insertion order) and cut to
  ``maxCount``; ``findSimilar`` by the id of an image in the context includes that
  image; ``addSearchImage`` on an existing ``imageId`` replaces it;
* ``updateSearchImage`` and ``deleteSearchImage`` of an image never added answer 404
  ``ImageNotFound`` (the vendor's tests expect an ``ApiException`` for an image that
  is gone); ``findByTags`` with an unknown tag answers 404 ``TagNotFound``;
* ``features/web`` (images from a web page) answers 501: the emulator is offline;
* ``addTag`` adds a reference image to the tag (``tag_references="add"``), or replaces
  its references (``"replace"``), since Aspose does not say which;
* the documented busy states: index writes are ``ExtractingFeatures`` (for
  ``busy_polls`` status polls, then ``MatchingFeatures`` for one more), and a context
  answering ``findDuplicates`` is ``MatchingFeatures``, one answering another search
  ``Searching``, for as long as the request runs.

Requests run concurrently: each context has its own lock, and storage and the
database share one. Features and similarity come from the ris local engine
(:func:`ris_local.defaults.default_engine`) after ris's default preprocessing, not from
AKAZE. With a database file, contexts, features, tags and storage survive a restart.
"""

from __future__ import annotations

import base64
import functools
import json
import posixpath
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from ris_aspose.emulator.storage import Storage
from ris_aspose.emulator.wire import ApiError, Request, Response, json_response
from ris_core.errors import RisError
from ris_core.groups import connected_groups
from ris_core.images import load_image
from ris_core.preprocess import DEFAULT_STEPS
from ris_local.engine import Engine, FeatureIndex

__all__ = ["ImageSearchService"]

_SEARCH_PREFIX = ("v3.0", "imaging", "ai", "imageSearch")
_STORAGE_PREFIX = ("v3.0", "imaging", "storage")
Handler = Callable[["_Context", Request], Response]
#: The one detector and matching algorithm Aspose documents (lower-cased).
DETECTORS = frozenset({"akaze"})
MATCHING_ALGORITHMS = frozenset({"randombinarytree"})
#: What each searching operation makes the context report while it runs.
_SEARCH_STATES = {"findDuplicates": "MatchingFeatures"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS contexts (storage TEXT, id TEXT, folder TEXT, PRIMARY KEY (storage, id));
CREATE TABLE IF NOT EXISTS members (context TEXT, image TEXT, PRIMARY KEY (context, image));
CREATE TABLE IF NOT EXISTS features (context TEXT, image TEXT, blob BLOB, PRIMARY KEY (context, image));
CREATE TABLE IF NOT EXISTS tags (context TEXT, tag TEXT, position INTEGER, blob BLOB);
"""


@dataclass
class _Context:
    """One search context: its images, their features in an index, and its tags.

    Every change is written through to the database (``db``) under its lock.
    """

    id: str
    storage: str
    index: FeatureIndex
    db: sqlite3.Connection
    db_lock: threading.RLock
    lock: threading.RLock = field(default_factory=threading.RLock)
    members: set[str] = field(default_factory=set)
    keys: dict[str, int] = field(default_factory=dict)
    blobs: dict[int, bytes] = field(default_factory=dict)
    ids: dict[int, str] = field(default_factory=dict)
    tags: dict[str, list[bytes]] = field(default_factory=dict)
    busy_left: int = 0
    pending: list[Callable[[], None]] = field(default_factory=list)
    running: list[str] = field(default_factory=list)

    def key(self, image_id: str) -> int:
        """The index key of an image, assigned on first use."""
        if image_id not in self.keys:
            self.keys[image_id] = len(self.ids) + 1
            self.ids[self.keys[image_id]] = image_id
        return self.keys[image_id]

    def add_member(self, image_id: str) -> None:
        """Record the image as part of the context."""
        self.members.add(image_id)
        self._execute("INSERT OR IGNORE INTO members VALUES (?, ?)", (self.id, image_id))

    def drop_member(self, image_id: str) -> None:
        """Forget the image (its features go separately)."""
        self.members.discard(image_id)
        self._execute("DELETE FROM members WHERE context=? AND image=?", (self.id, image_id))

    def set_features(self, image_id: str, blob: bytes, save: bool = True) -> None:
        """Index ``blob`` as the image's features."""
        key = self.key(image_id)
        self.index.add([key], [blob])
        self.blobs[key] = blob
        if save:
            self._execute("INSERT OR REPLACE INTO features VALUES (?, ?, ?)", (self.id, image_id, blob))

    def drop_features(self, image_id: str) -> None:
        """Remove the image's features from the index; the image stays a member."""
        key = self.keys.get(image_id)
        if key is not None and key in self.blobs:
            self.index.remove([key])
            del self.blobs[key]
        self._execute("DELETE FROM features WHERE context=? AND image=?", (self.id, image_id))

    def set_tag(self, tag: str, blobs: list[bytes]) -> None:
        """Make ``blobs`` the reference images of ``tag``."""
        self.tags[tag] = blobs
        with self.db_lock, self.db:
            self.db.execute("DELETE FROM tags WHERE context=? AND tag=?", (self.id, tag))
            self.db.executemany(
                "INSERT INTO tags VALUES (?, ?, ?, ?)", [(self.id, tag, n, blob) for n, blob in enumerate(blobs)]
            )

    def features(self, image_id: str) -> bytes | None:
        """The image's indexed features, if any."""
        key = self.keys.get(image_id)
        return self.blobs.get(key) if key is not None else None

    def read_blobs(self, keys: Sequence[int]) -> dict[int, bytes]:
        """Stored blobs by key, for an index that looks closer at a few candidates."""
        return {key: self.blobs[key] for key in keys if key in self.blobs}

    def status(self) -> str:
        """The documented searchStatus: a running search, pending writes, or Idle."""
        if self.running:
            return self.running[-1]
        if self.busy_left > 0:
            return "ExtractingFeatures" if self.busy_left > 1 else "MatchingFeatures"
        return "Idle"

    def _execute(self, sql: str, arguments: tuple[object, ...]) -> None:
        with self.db_lock, self.db:
            self.db.execute(sql, arguments)


class ImageSearchService:
    """Routes parsed requests to the operations and keeps all state.

    ``database`` is a SQLite file (``":memory:"``: nothing survives the process).
    """

    def __init__(
        self, engine: Engine, busy_polls: int = 0, database: str = ":memory:", tag_references: str = "add"
    ) -> None:
        if tag_references not in ("add", "replace"):
            raise ValueError("tag_references must be 'add' or 'replace'")
        self.engine = engine
        self.busy_polls = busy_polls
        self.tag_references = tag_references
        self.db = sqlite3.connect(database, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL" if database != ":memory:" else "PRAGMA journal_mode=MEMORY")
        self.db_lock = threading.RLock()
        with self.db_lock:
            self.db.executescript(_SCHEMA)
        self.storage = Storage(self.db, self.db_lock)
        self.contexts: dict[tuple[str, str], _Context] = {}
        #: Guards ``contexts`` only; each context has its own lock for its work.
        self.lock = threading.RLock()
        self._search_routes: dict[tuple[str, str], Handler] = {
            ("GET", "status"): self._status,
            ("DELETE", ""): self._delete_context,
            ("POST", "image"): self._add_image,
            ("GET", "image"): self._get_image,
            ("PUT", "image"): self._update_image,
            ("DELETE", "image"): self._delete_image,
            ("POST", "features"): self._create_features,
            ("GET", "features"): self._get_features,
            ("PUT", "features"): self._update_features,
            ("DELETE", "features"): self._delete_features,
            ("GET", "image2features"): self._extract_features,
            ("GET", "findSimilar"): self._find_similar,
            ("GET", "findDuplicates"): self._find_duplicates,
            ("POST", "compare"): self._compare,
            ("POST", "addTag"): self._add_tag,
            ("POST", "findByTags"): self._find_by_tags,
        }
        self._load()

    def _load(self) -> None:
        """Rebuild every context, its index and its tags from the database."""
        with self.db_lock:
            contexts = self.db.execute("SELECT storage, id FROM contexts").fetchall()
            for storage, context_id in contexts:
                context = self._new_context(storage, context_id)
                for (image,) in self.db.execute("SELECT image FROM members WHERE context=?", (context_id,)):
                    context.members.add(image)
                for image, blob in self.db.execute("SELECT image, blob FROM features WHERE context=?", (context_id,)):
                    context.set_features(image, bytes(blob), save=False)
                rows = self.db.execute("SELECT tag, blob FROM tags WHERE context=? ORDER BY position", (context_id,))
                for tag, blob in rows:
                    context.tags.setdefault(tag, []).append(bytes(blob))

    def _new_context(self, storage: str, context_id: str) -> _Context:
        context = _Context(context_id, storage, self.engine.new_index(), self.db, self.db_lock)
        self.contexts[(storage, context_id)] = context
        return context

    def close(self) -> None:
        """Close the database."""
        with self.db_lock:
            self.db.close()

    def reset(self) -> None:
        """Forget every context and stored file."""
        with self.lock, self.db_lock, self.db:
            self.storage.clear()
            self.contexts.clear()
            for table in ("contexts", "members", "features", "tags"):
                self.db.execute(f"DELETE FROM {table}")

    def handle(self, request: Request) -> Response:
        """Answer one API request (the token endpoint is the server's business)."""
        segments = request.segments
        if segments[:4] == _SEARCH_PREFIX:
            return self._search(request, segments[4:])
        if segments[:3] == _STORAGE_PREFIX:
            return self.storage.handle(request, segments[3:])
        raise ApiError(404, "NotFound", f"no API operation at {request.raw_path}")

    # --- routing -----------------------------------------------------------------

    def _search(self, request: Request, rest: tuple[str, ...]) -> Response:
        if rest == ("create",) and request.method == "POST":
            return self._create_context(request)
        if len(rest) == 3 and rest[1:] == ("features", "web") and request.method == "POST":
            self._context(request, rest[0])
            raise ApiError(501, "NotImplemented", "the offline emulator cannot fetch images from web pages")
        if len(rest) not in (1, 2) or not rest[0]:
            raise ApiError(404, "NotFound", f"no imageSearch operation at {request.raw_path}")
        operation = rest[1] if len(rest) == 2 else ""
        handler = self._search_routes.get((request.method, operation))
        if handler is None:
            raise ApiError(405, "MethodNotAllowed", f"{request.method} is not allowed on {request.raw_path}")
        context = self._context(request, rest[0])
        if handler == self._status:
            return handler(context, request)  # never waits for the context's work
        with context.lock, self._running(context, operation, request.delay):
            return handler(context, request)

    @contextmanager
    def _running(self, context: _Context, operation: str, delay: float) -> Iterator[None]:
        """Report the context busy while a search runs (and for an injected ``slow``)."""
        searching = operation.startswith("find") or operation == "compare"
        state = _SEARCH_STATES.get(operation, "Searching") if searching else "ExtractingFeatures"
        if searching or delay:
            context.running.append(state)
        try:
            if delay:
                time.sleep(delay)
            yield
        finally:
            if searching or delay:
                context.running.remove(state)

    def _context(self, request: Request, context_id: str) -> _Context:
        with self.lock:
            context = self.contexts.get((request.param("storage") or "", context_id))
        if context is None:
            raise ApiError(404, "SearchContextNotFound", f"search context {context_id} not found")
        return context

    # --- helpers -----------------------------------------------------------------

    def _extract(self, data: bytes) -> bytes:
        try:
            return self.engine.extract(load_image(data).with_preprocessing(DEFAULT_STEPS))
        except RisError as exc:
            raise ApiError(400, "InvalidImageFormat", f"the image cannot be read: {exc}") from exc

    def _write(self, context: _Context, change: Callable[[], None]) -> None:
        """Apply an index change now, or after ``busy_polls`` status polls."""
        if self.busy_polls > 0:
            context.pending.append(change)
            context.busy_left = self.busy_polls
        else:
            change()

    def _member(self, context: _Context, request: Request, name: str = "imageId") -> str:
        image_id = _required(request, name)
        if image_id not in context.members:
            raise ApiError(404, "ImageNotFound", f"image {image_id} is not in search context {context.id}")
        return image_id

    def _query_features(self, context: _Context, image_id: str) -> bytes:
        """Features of a context image, else of the storage file at ``image_id``."""
        blob = context.features(image_id)
        if blob is not None:
            return blob
        data = self.storage.get(context.storage, image_id)
        if data is None:
            raise ApiError(404, "ImageNotFound", f"image {image_id} not found")
        return self._extract(data)

    def _results(
        self, context: _Context, blob: bytes, threshold: float, max_count: int, sloppy: bool = False
    ) -> list[dict[str, object]]:
        """The best ``max_count`` matches; with ``sloppy`` (an injected fault, as an
        approximate matcher may do) the *worst* ``max_count`` above the threshold."""
        limit = max(1, len(context.index)) if sloppy else max_count
        hits = context.index.search(blob, threshold, limit, None, context.read_blobs)
        if sloppy:
            hits = hits[::-1][:max_count]
        return [{"imageId": context.ids[hit.key], "similarity": hit.score.similarity} for hit in hits]

    # --- contexts ----------------------------------------------------------------

    def _create_context(self, request: Request) -> Response:
        detector, algorithm = (
            request.param("detector") or "akaze",
            request.param("matchingAlgorithm") or "randomBinaryTree",
        )
        if detector.lower() not in DETECTORS:
            raise ApiError(400, "BadRequest", f"detector {detector!r} is not supported (supported: akaze)")
        if algorithm.lower() not in MATCHING_ALGORITHMS:
            raise ApiError(400, "BadRequest", f"matching algorithm {algorithm!r} is not supported")
        context_id = str(uuid.uuid4())
        storage, folder = request.param("storage") or "", (request.param("folder") or "").strip("/")
        with self.lock, self.db_lock, self.db:
            self._new_context(storage, context_id)
            self.db.execute("INSERT INTO contexts VALUES (?, ?, ?)", (storage, context_id, folder))
        self.storage.write(storage, posixpath.join(folder, f"{context_id}.search"), b"")
        return json_response({"id": context_id, "searchStatus": "Idle"})

    def _status(self, context: _Context, request: Request) -> Response:
        status = context.status()
        # Never wait for a running request: a poll that finds the context locked only reads.
        if context.lock.acquire(blocking=False):
            try:
                if not context.running and context.busy_left > 0:
                    context.busy_left -= 1
                    if context.busy_left == 0:
                        for change in context.pending:
                            change()
                        context.pending.clear()
            finally:
                context.lock.release()
        return json_response({"id": context.id, "searchStatus": status})

    def _delete_context(self, context: _Context, request: Request) -> Response:
        with self.lock, self.db_lock, self.db:
            del self.contexts[(context.storage, context.id)]
            row = self.db.execute("SELECT folder FROM contexts WHERE storage=? AND id=?", (context.storage, context.id))
            folder = (row.fetchone() or ("",))[0]
            for table, column in (
                ("contexts", "id"),
                ("members", "context"),
                ("features", "context"),
                ("tags", "context"),
            ):
                self.db.execute(f"DELETE FROM {table} WHERE {column}=?", (context.id,))
        self.storage.remove(context.storage, posixpath.join(folder, f"{context.id}.search"))
        return Response(200)

    # --- images ------------------------------------------------------------------

    def _add_image(self, context: _Context, request: Request) -> Response:
        image_id = _required(request, "imageId")
        data = request.image_data() or self.storage.get(context.storage, image_id)
        if data is None:
            raise ApiError(400, "BadRequest", "no image data and no such file in storage")
        blob = self._extract(data)
        self.storage.write(context.storage, image_id, data)
        context.add_member(image_id)
        self._write(context, lambda: context.set_features(image_id, blob))
        return Response(200)

    def _get_image(self, context: _Context, request: Request) -> Response:
        image_id = self._member(context, request)
        # As the service does: the SDK would name its temporary file after it.
        name = posixpath.basename(image_id).replace('"', "")
        disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(200, self.storage.read(context.storage, image_id), "application/octet-stream", disposition)

    def _update_image(self, context: _Context, request: Request) -> Response:
        image_id = self._member(context, request)
        data = request.image_data()
        if data is None:
            raise ApiError(400, "BadRequest", "imageData is required")
        blob = self._extract(data)
        self.storage.write(context.storage, image_id, data)
        self._write(context, lambda: context.set_features(image_id, blob))
        return Response(200)

    def _delete_image(self, context: _Context, request: Request) -> Response:
        image_id = self._member(context, request)
        context.drop_member(image_id)
        self.storage.remove(context.storage, image_id)
        self._write(context, lambda: context.drop_features(image_id))
        return Response(200)

    # --- features ----------------------------------------------------------------

    def _create_features(self, context: _Context, request: Request) -> Response:
        folder = request.param("imagesFolder")
        if folder is not None and request.param("imageId") is None:
            paths = self.storage.under(context.storage, folder.rstrip("/"))
        else:
            paths = [_required(request, "imageId")]
        data = request.image_data()
        for image_id in paths:
            source = data if data is not None else self.storage.read(context.storage, image_id)
            blob = self._extract(source)
            context.add_member(image_id)
            self._write(context, functools.partial(context.set_features, image_id, blob))
        return Response(200)

    def _get_features(self, context: _Context, request: Request) -> Response:
        image_id = self._member(context, request)
        blob = context.features(image_id)
        if blob is None:
            raise ApiError(404, "FeaturesNotFound", f"image {image_id} has no features")
        return self._features_response(image_id, blob)

    def _features_response(self, image_id: str, blob: bytes) -> Response:
        count, bits = self.engine.describe(blob)
        return json_response(
            {
                "imageId": image_id,
                "featuresCount": count,
                "featureLengthInBits": bits,
                "features": base64.b64encode(blob).decode("ascii"),
            }
        )

    def _update_features(self, context: _Context, request: Request) -> Response:
        image_id = self._member(context, request)
        data = request.image_data()
        blob = self._extract(data if data is not None else self.storage.read(context.storage, image_id))
        self._write(context, lambda: context.set_features(image_id, blob))
        return Response(200)

    def _delete_features(self, context: _Context, request: Request) -> Response:
        image_id = self._member(context, request)
        if context.features(image_id) is None:
            raise ApiError(404, "FeaturesNotFound", f"image {image_id} has no features")
        self._write(context, lambda: context.drop_features(image_id))
        return Response(200)

    def _extract_features(self, context: _Context, request: Request) -> Response:
        image_id = _required(request, "imageId")
        return self._features_response(image_id, self._extract(self.storage.read(context.storage, image_id)))

    # --- search ------------------------------------------------------------------

    def _find_similar(self, context: _Context, request: Request) -> Response:
        threshold, max_count = _threshold(request), _count(request)
        image_id = request.param("imageId")
        if image_id is None:  # what the SDK sends when a caller passes image_data to this GET
            raise ApiError(400, "BadRequest", "imageId or image data is required")
        blob = self._query_features(context, image_id)
        sloppy = request.fault == "sloppy_cut"
        return json_response({"results": self._results(context, blob, threshold, max_count, sloppy)})

    def _find_duplicates(self, context: _Context, request: Request) -> Response:
        """Connected components at the threshold, sorted; similarities are relative to
        each group's first image (Aspose does not say relative to what)."""
        threshold = _threshold(request)
        edges = [
            (context.ids[first], context.ids[second])
            for first, second, _ in context.index.pairs(threshold, None, context.read_blobs)
        ]
        duplicates = []
        for members in connected_groups(edges):
            head = context.blobs[context.keys[members[0]]]
            scores = [self.engine.compare(head, context.blobs[context.keys[member]]) for member in members]
            pairs = zip(members, scores, strict=True)
            duplicates.append({"duplicateImages": [{"imageId": m, "similarity": s.similarity} for m, s in pairs]})
        return json_response({"duplicates": duplicates})

    def _compare(self, context: _Context, request: Request) -> Response:
        first_id = self._member(context, request, "imageId1")
        first = self._query_features(context, first_id)
        data = request.image_data()
        second_id = request.param("imageId2")
        if data is not None:
            second = self._extract(data)
        elif second_id is not None:
            second = self._query_features(context, second_id)
        else:
            raise ApiError(400, "BadRequest", "imageId2 or image data is required")
        similarity = self.engine.compare(first, second).similarity
        return json_response({"results": [{"imageId": second_id or "", "similarity": similarity}]})

    def _add_tag(self, context: _Context, request: Request) -> Response:
        tag = _required(request, "tagName")
        data = request.image_data()
        if data is None:
            raise ApiError(400, "BadRequest", "imageData is required")
        blob = self._extract(data)
        if self.tag_references == "replace":
            self._write(context, lambda: context.set_tag(tag, [blob]))
        else:
            self._write(context, lambda: context.set_tag(tag, [*context.tags.get(tag, []), blob]))
        return Response(200)

    def _find_by_tags(self, context: _Context, request: Request) -> Response:
        threshold, max_count = _threshold(request), _count(request)
        text = request.field("tags") or (request.body.decode("utf-8") if not request.parts else "")
        try:
            tags = json.loads(text)
        except ValueError as exc:
            raise ApiError(400, "BadRequest", "tags must be a JSON array of strings") from exc
        if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
            raise ApiError(400, "BadRequest", "tags must be a JSON array of strings")
        best: dict[int, float] = {}
        for tag in tags:
            if tag not in context.tags:
                raise ApiError(404, "TagNotFound", f"tag {tag} not found in search context {context.id}")
            for blob in context.tags[tag]:
                for hit in context.index.search(blob, threshold, max(1, len(context.index)), None, context.read_blobs):
                    best[hit.key] = max(best.get(hit.key, -1.0), hit.score.similarity)
        ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))[:max_count]
        return json_response({"results": [{"imageId": context.ids[key], "similarity": score} for key, score in ranked]})


def _required(request: Request, name: str) -> str:
    value = request.param(name)
    if value is None or value == "":
        raise ApiError(400, "BadRequest", f"the parameter {name} is required")
    return value


def _threshold(request: Request) -> float:
    try:
        value = float(_required(request, "similarityThreshold"))
    except ValueError as exc:
        raise ApiError(400, "BadRequest", "similarityThreshold must be a number") from exc
    if not 0 <= value <= 100:
        raise ApiError(400, "BadRequest", "similarityThreshold must be from 0 to 100")
    return value


def _count(request: Request) -> int:
    try:
        value = int(_required(request, "maxCount"))
    except ValueError as exc:
        raise ApiError(400, "BadRequest", "maxCount must be an integer") from exc
    if value < 1:
        raise ApiError(400, "BadRequest", "maxCount must be positive")
    return value
