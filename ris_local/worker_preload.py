"""Imported once by the process that worker processes fork from (multiprocessing's
fork server; see :mod:`ris_local.workers`), never by anything else.

Every worker would otherwise import OpenCV, faiss and the engine, then pay on its first
image for what these libraries build on first use: OpenCV's RGB to Lab tables (the
chroma map; about 0.15 s of CPU), the vocabulary's faiss index, the ORB detectors.
Done here, before the fork, each worker starts with all of it in its memory. Nothing
done here changes a feature: the warm-up extracts one synthetic picture and drops it.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before faiss is imported

import logging

import cv2
import numpy as np

from ris_core.images import load_image
from ris_local.workers import WORKER_OPENCV_THREADS

cv2.setNumThreads(WORKER_OPENCV_THREADS)


def _warm() -> None:
    """Extract one noisy picture with the built-in engine, through every stage."""
    from ris_local.defaults import default_engine

    rng = np.random.default_rng(0)
    pixels = cv2.GaussianBlur(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8), (5, 5), 0)
    encoded, jpeg = cv2.imencode(".jpg", pixels)
    if encoded:
        default_engine().extract(load_image(jpeg.tobytes()))


try:
    _warm()
except Exception:  # a failure here must never stop the fork server: workers warm themselves
    logging.getLogger("ris_local").debug("worker warm-up failed", exc_info=True)
