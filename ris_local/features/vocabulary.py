"""A two-level vocabulary of binary visual words, and how it was trained.

ORB descriptors (256 bits) are quantised to one of ``BRANCHES * LEAVES`` words by a
vocabulary tree: the nearest of ``BRANCHES`` coarse centres by Hamming distance, then
the nearest of that branch's ``LEAVES`` centres. Each centre is the bitwise majority of
its cluster (k-majority), trained with faiss k-means on the bits as floats and rounded.
Quantising costs ``BRANCHES + LEAVES`` Hamming distances per descriptor, not one per
word; faiss's binary inverted-file index does the search (the branches are its lists).
The tree ships as ``data/vocabulary-<version>.npz`` (two uint8 arrays, no pickle);
:func:`train` rebuilds it from descriptors (see ``benchmarks/train_vocabulary.py``).
"""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

from ris_local.faisslib import load_faiss

__all__ = ["BRANCHES", "LEAVES", "VERSION", "Vocabulary", "load", "train"]

BRANCHES = 256
LEAVES = 256
VERSION = "1"

Descriptors = npt.NDArray[np.uint8]


def _hamming(a: Descriptors, b: Descriptors) -> npt.NDArray[np.int32]:
    """Pairwise Hamming distances of two uint8 descriptor matrices, shape (len(a), len(b))."""
    a64 = np.ascontiguousarray(a).view(np.uint64)
    b64 = np.ascontiguousarray(b).view(np.uint64)
    distance: npt.NDArray[np.int32] = np.bitwise_count(a64[:, None, :] ^ b64[None, :, :]).sum(axis=2, dtype=np.int32)
    return distance


class Vocabulary:
    """The tree: ``coarse`` (BRANCHES, 32) and ``fine`` (BRANCHES, LEAVES, 32) uint8 centres."""

    def __init__(self, coarse: Descriptors, fine: Descriptors) -> None:
        self.coarse = np.ascontiguousarray(coarse, dtype=np.uint8)
        self.fine = np.ascontiguousarray(fine, dtype=np.uint8)
        self._fine64 = self.fine.view(np.uint64)  # (BRANCHES, LEAVES, 4)
        self.size = self.fine.shape[0] * self.fine.shape[1]

    def quantize(self, descriptors: Descriptors, assign: int = 1) -> npt.NDArray[np.int32]:
        """Words of each descriptor, shape (n, assign): the ``assign`` nearest leaves,
        searched within the ``assign`` nearest branches (multiple assignment)."""
        if len(descriptors) == 0:
            return np.empty((0, assign), dtype=np.int32)
        self._searcher.nprobe = assign
        _, words = self._searcher.search(np.ascontiguousarray(descriptors, dtype=np.uint8), assign)
        # faiss pads with -1 when a probed branch has too few leaves; reuse the nearest.
        words = np.where(words < 0, words[:, :1], words)
        return np.asarray(words, dtype=np.int32)

    @functools.cached_property
    def _searcher(self) -> Any:
        """The tree as a faiss binary inverted-file index: branches are its lists."""
        faiss = load_faiss()
        coarse = faiss.IndexBinaryFlat(256)
        coarse.add(self.coarse)
        tree = faiss.IndexBinaryIVF(coarse, 256, self.fine.shape[0])
        tree.is_trained = True
        leaves = np.ascontiguousarray(self.fine.reshape(-1, 32))
        ids = np.arange(len(leaves), dtype=np.int64)
        branch = np.repeat(np.arange(self.fine.shape[0], dtype=np.int64), self.fine.shape[1])
        tree.add_core(len(leaves), faiss.swig_ptr(leaves), faiss.swig_ptr(ids), faiss.swig_ptr(branch))
        return tree


def _smallest(distance: npt.NDArray[np.int32], count: int) -> npt.NDArray[np.intp]:
    """Column indices of each row's ``count`` smallest values, nearest first."""
    if count == 1:
        return np.asarray(np.argmin(distance, axis=1)[:, None], dtype=np.intp)
    part = np.argpartition(distance, count - 1, axis=1)[:, :count]
    order = np.argsort(np.take_along_axis(distance, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


@functools.cache
def load(version: str = VERSION) -> Vocabulary:
    """The shipped vocabulary of ``version``."""
    path = resources.files("ris_local") / "data" / f"vocabulary-{version}.npz"
    with resources.as_file(path) as file, np.load(file, allow_pickle=False) as arrays:
        return Vocabulary(arrays["coarse"], arrays["fine"])


def _k_majority(bits: npt.NDArray[np.float32], k: int, seed: int) -> Descriptors:
    faiss = load_faiss()
    kmeans = faiss.Kmeans(bits.shape[1], k, niter=20, seed=seed, verbose=False, min_points_per_centroid=1)
    kmeans.train(bits)
    return np.packbits(kmeans.centroids >= 0.5, axis=1)


def train(descriptors: Descriptors, seed: int = 1) -> Vocabulary:
    """Train the tree on ``descriptors`` (n, 32) uint8 (a few hundred thousand suffice)."""
    bits = np.unpackbits(descriptors, axis=1).astype(np.float32)
    coarse = _k_majority(bits, BRANCHES, seed)
    branch = np.argmin(_chunked_hamming(descriptors, coarse), axis=1)
    fine = np.empty((BRANCHES, LEAVES, 32), dtype=np.uint8)
    rng = np.random.default_rng(seed)
    for b in range(BRANCHES):
        members = bits[branch == b]
        if len(members) >= LEAVES:
            fine[b] = _k_majority(members, LEAVES, seed + b)
        else:  # a tiny branch: reuse its members (and random codes) as leaves
            picks = rng.integers(0, 256, size=(LEAVES, 32), dtype=np.uint8)
            picks[: len(members)] = np.packbits(members >= 0.5, axis=1)
            fine[b] = picks
    return Vocabulary(coarse, fine)


def _chunked_hamming(a: Descriptors, b: Descriptors, chunk: int = 4096) -> npt.NDArray[np.int32]:
    return np.concatenate([_hamming(a[i : i + chunk], b) for i in range(0, len(a), chunk)])
