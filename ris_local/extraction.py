"""Computing feature blobs: one at a time, or many at once on worker processes.

Feature extraction is CPU-bound Python around OpenCV and numpy, so batch ingest runs it
on a pool of processes (one per core) rather than threads. Blobs are remembered by the
image's content hash, so an image prepared for ingest is not extracted twice, and a
query image searched again skips extraction altogether.
"""

from __future__ import annotations

import inspect
import multiprocessing
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor

from ris_core.images import ImageData, PreprocessStep
from ris_local.engine import Engine

__all__ = ["Extractor"]

#: How many recent blobs (queries, prepared images) are remembered.
CACHE_ENTRIES = 512


def _shippable(steps: Sequence[PreprocessStep]) -> bool:
    """Whether worker processes can import the steps by name (module-level functions)."""
    return all(
        inspect.isfunction(step) and step.__qualname__ == step.__name__ and not step.__name__.startswith("<")
        for step in steps
    )


class Extractor:
    """An engine's ``extract`` with a content-hash cache and a lazily started process pool."""

    def __init__(self, engine: Engine, workers: int | None = None) -> None:
        self.engine = engine
        self.workers = workers or os.cpu_count() or 1
        self._cache: OrderedDict[tuple[str, tuple[str, ...]], bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    @staticmethod
    def _key(image: ImageData) -> tuple[str, tuple[str, ...]]:
        # The same bytes under another preprocessing chain make other features.
        return image.sha256, tuple(getattr(step, "__qualname__", repr(step)) for step in image.preprocessing)

    def blob(self, image: ImageData) -> bytes:
        """The image's blob, from the cache or freshly extracted (and then cached)."""
        key = self._key(image)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        blob = self.engine.extract(image)
        self._remember(key, blob)
        return blob

    def prepare(self, images: Sequence[ImageData]) -> None:
        """Extract the blobs of ``images`` on the pool so later :meth:`blob` calls find them."""
        with self._lock:
            todo = list({self._key(image): image for image in images if self._key(image) not in self._cache}.items())
        if len(todo) < 2 or self.workers < 2 or not all(_shippable(image.preprocessing) for _, image in todo):
            return  # not worth a round trip, or the steps cannot travel: extract on demand
        try:
            blobs = list(self._executor().map(self.engine.extract, [image for _, image in todo]))
        except Exception:  # a broken image: leave every one to blob(), which reports it
            return
        for (key, _), blob in zip(todo, blobs, strict=True):
            self._remember(key, blob)

    def _remember(self, key: tuple[str, tuple[str, ...]], blob: bytes) -> None:
        with self._lock:
            self._cache[key] = blob
            self._cache.move_to_end(key)
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                # forkserver: workers start from a clean process, not a fork of one that
                # holds threads, SQLite connections and OpenMP state.
                context = multiprocessing.get_context("forkserver")
                self._pool = ProcessPoolExecutor(self.workers, mp_context=context)
            return self._pool

    def close(self) -> None:
        """Stop the worker processes, if any were started."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
