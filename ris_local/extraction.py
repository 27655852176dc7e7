"""Computing feature blobs, remembering recent ones by the image's content hash.

A query image searched again, or compared after it was searched, skips extraction.

Batch ingest (:meth:`Extractor.processes`, which the local backend's ``batch`` hook
opens) extracts in worker processes: each of the ingest's threads hands its image to a
process and waits, so the interpreter's lock never serialises the Python between the
decoder's and OpenCV's C calls, and each worker's memory is its own. On large photos
that is what lets two cores beat two imagehash processes (BENCHMARKS.md, "Large
photographs"); shipping an image's bytes to a worker costs a few milliseconds against
the tens or hundreds its extraction takes. Outside a batch (one query, one add) there is
no pool, so a single call never pays for starting one. Images whose preprocessing steps
do not pickle (a lambda, a closure) and engines that do not pickle are extracted in the
calling thread, as is everything after a worker died.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import multiprocessing
import os
import pickle
import threading
from collections import OrderedDict
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from ris_core.images import ImageData, PreprocessStep
from ris_local.engine import Engine

__all__ = ["CACHE_ENTRIES", "Extractor"]

logger = logging.getLogger("ris_local")

#: How many recent blobs are remembered.
CACHE_ENTRIES = 512

#: The engine of a worker process, set once when it starts.
_worker_engine: Engine | None = None


def _start_worker(engine: Engine) -> None:
    global _worker_engine
    # Idle OpenMP threads (faiss) must sleep, not spin, on a machine the batch keeps busy.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
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


class Extractor:
    """An engine's ``extract`` with a bounded content-hash cache."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cache: OrderedDict[tuple[str, tuple[str, ...]], bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

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
        # forkserver: forking a process that runs threads (the ingest's) is unsafe.
        context = multiprocessing.get_context("forkserver")
        pool = ProcessPoolExecutor(count, mp_context=context, initializer=_start_worker, initargs=(self.engine,))
        self._pool = pool
        try:
            yield
        finally:
            self._pool = None
            pool.shutdown(wait=True, cancel_futures=True)

    def _extract(self, image: ImageData) -> bytes:
        pool = self._pool
        if pool is None or not _travels(image.preprocessing):
            return self.engine.extract(image)
        try:
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
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        blob = self._extract(image)
        with self._lock:
            self._cache[key] = blob
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return blob
