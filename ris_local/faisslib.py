"""faiss, imported the one way this package needs it.

faiss's OpenMP threads spin while idle unless told otherwise, which slows a busy 2-core
machine 10-60x; the variable only works if set before faiss is imported. And the calls
made here are small (a few hundred descriptors, a scan of one query's codes): threads
cost more than they save (6x slower with two), and ingest runs one worker per core
instead. Both settings are process-wide: faiss has no per-call setting.
"""

from __future__ import annotations

import functools
import os
from typing import Any

__all__ = ["load_faiss"]


@functools.cache
def load_faiss() -> Any:
    """The faiss module, single-threaded, its idle threads asleep."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import faiss

    faiss.omp_set_num_threads(1)
    return faiss
