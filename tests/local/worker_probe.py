"""An engine whose blob says how the process that extracted it is set up (imported by
the extraction workers, so it lives in a module of its own, not in a test file)."""

from __future__ import annotations

import json
import os
import sys

import cv2

from ris_core.images import ImageData
from ris_local.engine import Engine, FeatureIndex, Score


class ProbeEngine(Engine):
    """``extract`` returns JSON: the process id, OpenCV's thread count, faiss's OpenMP
    wait policy and whether the worker warm-up module was loaded."""

    algorithm = "probe"
    version = "1"
    default_threshold = 50.0
    duplicate_threshold = 90.0

    def extract(self, image: ImageData) -> bytes:
        return json.dumps(
            {
                "pid": os.getpid(),
                "opencv_threads": cv2.getNumThreads(),
                "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
                "warmed": "ris_local.worker_preload" in sys.modules,
            }
        ).encode()

    def describe(self, blob: bytes) -> tuple[int, int]:
        return 1, 8

    def compare(self, first: bytes, second: bytes) -> Score:
        raise NotImplementedError("the probe only extracts")

    def new_index(self) -> FeatureIndex:
        raise NotImplementedError("the probe only extracts")
