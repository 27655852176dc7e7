"""Computing feature blobs, remembering recent ones by the image's content hash.

A query image searched again, or compared after it was searched, skips extraction. Batch
ingest runs extraction on the core's worker threads: Pillow's decoder, OpenCV's ORB and
numpy release the GIL, which measured 1.7x faster on two cores than one, while a pool of
processes measured slower still (shipping image bytes between processes costs more than
it saves), so there is none.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from ris_core.images import ImageData
from ris_local.engine import Engine

__all__ = ["CACHE_ENTRIES", "Extractor"]

#: How many recent blobs are remembered.
CACHE_ENTRIES = 512


class Extractor:
    """An engine's ``extract`` with a bounded content-hash cache."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cache: OrderedDict[tuple[str, tuple[str, ...]], bytes] = OrderedDict()
        self._lock = threading.Lock()

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
        with self._lock:
            self._cache[key] = blob
            while len(self._cache) > CACHE_ENTRIES:
                self._cache.popitem(last=False)
        return blob
