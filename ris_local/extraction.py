"""Computing feature blobs, remembering recent ones by the image's content hash.

A query image searched again, or compared after it was searched, skips extraction.
A query searched by data is extracted in stages (:meth:`Extractor.query`): the robust
engine decodes and hashes it, and extracts its keypoints, thumbnail and colours from that
decode only if the hash stage did not settle its search; :meth:`Extractor.statistics`
counts how often that happened.

Batch ingest (:meth:`Extractor.processes`, which the local backend's ``batch`` hook
opens) extracts in worker processes: each of the ingest's threads hands its image to a
process and waits, so the interpreter's lock never serialises the Python between the
decoder's and OpenCV's C calls, and each worker's memory is its own. On large photos
that is what lets two cores beat two imagehash processes (BENCHMARKS.md, "Large
photographs"). An image read from a file goes to the worker as its path, and the worker
reads the file again (from the page cache) and checks the bytes' SHA-256 against the
image's: a 7 MB PNG through a pipe kept a worker idle for 20-40 ms, the read and the hash
take 3-5 ms; if the file changed since, the bytes read first are sent after all. Other
images go as their bytes. Outside a batch (one query, one add) there is
no pool, so a single call never pays for starting one. Images whose preprocessing steps
do not pickle (a lambda, a closure) and engines that do not pickle are extracted in the
calling thread, as is everything after a worker died. The processes come from
:mod:`ris_local.workers`, which ``find_duplicates``' pair scoring shares.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import logging
import pickle
import threading
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from ris_core.images import ImageData, PreprocessStep
from ris_local.engine import Engine, ExtractedQuery, QueryFeatures
from ris_local.workers import WORKER_OPENCV_THREADS, prepare_worker, process_pool, start_fork_server

__all__ = ["CACHE_ENTRIES", "WORKER_OPENCV_THREADS", "ExtractionStatistics", "Extractor"]

logger = logging.getLogger("ris_local")

#: How many recent blobs are remembered.
CACHE_ENTRIES = 512

#: The engine of a worker process, set once when it starts.
_worker_engine: Engine | None = None


def _start_worker(engine: Engine) -> None:
    global _worker_engine
    prepare_worker()
    _worker_engine = engine


@functools.lru_cache(maxsize=64)
def _travels(steps: tuple[PreprocessStep, ...]) -> bool:
    """Whether a preprocessing chain can be sent to a worker (module-level functions can)."""
    try:
        pickle.dumps(steps)
    except Exception:  # a lambda, a closure, a bound method of something local
        return False
    return True


def _extract_in_worker(image: ImageData) -> bytes:
    assert _worker_engine is not None
    return _worker_engine.extract(image)


def _extract_file_in_worker(image: ImageData) -> bytes | None:
    """Extract an image sent without its bytes, reading them from its file; None when
    the file no longer holds the bytes read before (its SHA-256 differs, or it is gone),
    so features are only ever made from the bytes the image's hash names."""
    assert _worker_engine is not None and image.source is not None
    try:
        with open(image.source.path, "rb") as handle:
            data = handle.read()
    except OSError:
        return None
    if hashlib.sha256(data).hexdigest() != image.sha256:
        return None
    return _worker_engine.extract(dataclasses.replace(image, data=data))


class _Cached(ExtractedQuery):
    """A query blob served from the cache."""


@dataclass(frozen=True, slots=True)
class ExtractionStatistics:
    """What an :class:`Extractor` has done since it was made (one backend, one process)."""

    #: Whole feature extractions: images added (in this process or its workers), queries
    #: and compared images whose blob was not cached, staged queries completed.
    extractions: int = 0
    #: Blobs served from the content-hash cache.
    cached: int = 0
    #: Queries searched by data in stages (hashes first), not from a cached blob.
    staged_queries: int = 0
    #: Of those, the queries the hash stage settled: no keypoints, thumbnail or colours
    #: were extracted for them.
    hash_settled: int = 0


class Extractor:
    """An engine's ``extract`` with a bounded content-hash cache."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cache: OrderedDict[tuple[str, tuple[str, ...]], bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        self._counts = {"extractions": 0, "cached": 0, "staged_queries": 0, "hash_settled": 0}

    def statistics(self) -> ExtractionStatistics:
        """The counts so far (a snapshot)."""
        with self._lock:
            return ExtractionStatistics(**self._counts)

    def _count(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    @staticmethod
    def _key(image: ImageData) -> tuple[str, tuple[str, ...]]:
        # The same bytes under another preprocessing chain make other features.
        return image.sha256, tuple(getattr(step, "__qualname__", repr(step)) for step in image.preprocessing)

    @contextlib.contextmanager
    def processes(self, count: int) -> Iterator[None]:
        """Extract in ``count`` worker processes until the block ends (nothing when
        ``count`` is under 2, or the engine cannot be sent to a process)."""
        if count < 2 or self._pool is not None:
            yield
            return
        try:
            pickle.dumps(self.engine)
        except Exception:  # any engine that cannot travel stays in-process
            logger.info("engine %s cannot be sent to worker processes; extracting in threads", self.engine.algorithm)
            yield
            return
        modules = [type(self.engine).__module__]
        # Started now, not at the first extraction: the fork server warms up (imports,
        # the engine's first extraction) while the batch reads its first images.
        start_fork_server(modules)
        pool = process_pool(count, _start_worker, (self.engine,), modules)
        self._pool = pool
        try:
            yield
        finally:
            self._pool = None
            pool.shutdown(wait=True, cancel_futures=True)

    def _extract(self, image: ImageData) -> bytes:
        self._count("extractions")
        pool = self._pool
        if pool is None or not _travels(image.preprocessing):
            return self.engine.extract(image)
        try:
            if image.source is not None:
                # A file's image goes as its path: the worker reads the file again (from
                # the page cache, and checks its hash) faster than the bytes go through a
                # pipe, and this process does not pickle them.
                blob = pool.submit(_extract_file_in_worker, dataclasses.replace(image, data=b"")).result()
                if blob is not None:
                    return blob
                # The file changed since it was read: the bytes read then are extracted.
            return pool.submit(_extract_in_worker, image).result()
        except BrokenProcessPool:
            # A worker died (killed, out of memory): this image is tried here, and the
            # rest of the batch too, rather than failing on a pool that is gone.
            logger.warning("an extraction worker died; extracting in threads for the rest of the batch")
            if self._pool is pool:
                self._pool = None
            return self.engine.extract(image)

    def blob(self, image: ImageData) -> bytes:
        """The image's blob, from the cache or freshly extracted (and then cached)."""
        key = self._key(image)
        cached = self._cached(key)
        if cached is not None:
            return cached
        blob = self._extract(image)
        self._remember(key, blob)
        return blob

    def _cached(self, key: tuple[str, tuple[str, ...]]) -> bytes | None:
        """The cached blob under ``key``, counted as a hit and kept recent, or None."""
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                self._counts["cached"] += 1
            return cached

    def _remember(self, key: tuple[str, tuple[str, ...]], blob: bytes) -> None:
        with self._lock:
            self._cache[key] = blob
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)

    def query(self, image: ImageData) -> QueryFeatures:
        """A query's features for a search: its cached blob, or the engine's staged
        query (:meth:`Engine.query`), extracted in this thread (a search is no batch).
        Call :meth:`searched` once the search is done."""
        cached = self._cached(self._key(image))
        if cached is not None:
            return _Cached(cached)
        return self.engine.query(image)

    def searched(self, image: ImageData, query: QueryFeatures) -> None:
        """Count how far ``query`` (from :meth:`query`) was extracted, and cache its
        blob if it was extracted in full."""
        if isinstance(query, _Cached):
            return
        if isinstance(query, ExtractedQuery):  # an engine that extracts a query whole
            self._count("extractions")
            self._remember(self._key(image), query.blob())
            return
        self._count("staged_queries")
        if query.extracted:
            self._count("extractions")
            self._remember(self._key(image), query.blob())
        else:
            self._count("hash_settled")
