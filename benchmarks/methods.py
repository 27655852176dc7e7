"""The methods a benchmark run compares, by name, and parallel feature extraction.

Workers build their own engine from its name (engines need not pickle), so extraction
uses every core the way batch ingest does.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Sequence

from ris_core.images import load_image
from ris_local.engine import Engine

__all__ = ["METHODS", "extract_all", "make"]


def _anchor(name: str) -> Callable[[], Engine]:
    def build() -> Engine:
        from benchmarks.anchors import ANCHORS

        return ANCHORS[name]()

    return build


def _ris() -> Engine:
    from ris_local.robust import RobustEngine

    return RobustEngine()


def _baseline() -> Engine:
    from benchmarks.hashing import HashEngine

    return HashEngine()


#: name -> factory, in report order: the anchors first, then ris's engines.
METHODS: dict[str, Callable[[], Engine]] = {
    "imagehash pHash": _anchor("imagehash pHash"),
    "imagehash dHash": _anchor("imagehash dHash"),
    "pHash+dHash": _anchor("pHash+dHash"),
    "PDQ": _anchor("PDQ"),
    "ris baseline (HashEngine)": _baseline,
    "ris (RobustEngine)": _ris,
}

_engine: Engine | None = None


def make(name: str) -> Engine:
    """A fresh engine of the named method."""
    return METHODS[name]()


def _start(name: str) -> None:
    global _engine
    _engine = make(name)


def _extract(data: bytes) -> tuple[bytes, float]:
    assert _engine is not None
    started = time.perf_counter()
    blob = _engine.extract(load_image(data))
    return blob, time.perf_counter() - started


def extract_all(name: str, images: Sequence[bytes], workers: int = 2) -> tuple[list[bytes], list[float]]:
    """Blobs of every image and the seconds each took (on its own core)."""
    # forkserver: never fork a process that already runs threads (it can deadlock)
    with multiprocessing.get_context("forkserver").Pool(workers, initializer=_start, initargs=(name,)) as pool:
        done = pool.map(_extract, images, chunksize=32)
    return [blob for blob, _ in done], [seconds for _, seconds in done]
