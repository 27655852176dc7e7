"""The baseline engine: pHash and dHash from imagehash, searched by Hamming distance.

A blob is 16 bytes: the 64-bit pHash then the 64-bit dHash, big-endian. The distance of
two images is the sum of the two Hamming distances (0 to 128 bits) and the similarity
falls linearly from 100 at distance 0 to 0 at 64 bits, which is where unrelated images
sit (each hash differs in about half its bits).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

import imagehash
import numpy as np
import numpy.typing as npt

from ris_core.images import ImageData
from ris_local.engine import BlobReader, Engine, FeatureIndex, Hit, Keys, Score

__all__ = ["HammingIndex", "HashEngine"]

_WORDS = 2  # 64-bit words per blob
_ZERO_SIMILARITY_BITS = 64.0
_DRAFT_SIZE = (256, 256)


def _similarity(distance: npt.NDArray[np.int64] | int) -> npt.NDArray[np.float64]:
    return np.clip(100.0 * (1.0 - np.asarray(distance, dtype=np.float64) / _ZERO_SIMILARITY_BITS), 0.0, 100.0)


def _words(blob: bytes) -> npt.NDArray[np.uint64]:
    return np.frombuffer(blob, dtype=">u8").astype(np.uint64)


class HashEngine(Engine):
    """pHash + dHash (imagehash), 128 bits per image."""

    algorithm: ClassVar[str] = "phash64+dhash64"
    version: ClassVar[str] = "1"
    default_threshold: ClassVar[float] = 70.0
    duplicate_threshold: ClassVar[float] = 85.0
    method: ClassVar[str] = "phash64+dhash64 hamming"

    def extract(self, image: ImageData) -> bytes:
        """Hash the image decoded at reduced scale (the same way for index and query)."""
        pixels = image.decode(draft_size=_DRAFT_SIZE)
        phash = imagehash.phash(pixels)
        dhash = imagehash.dhash(pixels)
        return _pack(phash.hash) + _pack(dhash.hash)

    def describe(self, blob: bytes) -> tuple[int, int]:
        """Two hashes of 64 bits."""
        return 2, 64

    def compare(self, first: bytes, second: bytes) -> Score:
        """Sum of the two Hamming distances, mapped to 0..100."""
        distance = int(np.bitwise_count(_words(first) ^ _words(second)).sum())
        return Score(float(_similarity(distance)), float(distance), self.method)

    def new_index(self) -> HammingIndex:
        """A brute-force numpy index over the 128-bit codes."""
        return HammingIndex(self.method)


def _pack(bits: npt.NDArray[np.bool_]) -> bytes:
    return np.packbits(bits.flatten()).tobytes()


class HammingIndex(FeatureIndex):
    """Codes in one contiguous array; queries XOR and popcount every row."""

    def __init__(self, method: str) -> None:
        self._method = method
        self._keys: npt.NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self._codes: npt.NDArray[np.uint64] = np.empty((0, _WORDS), dtype=np.uint64)

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, keys: Sequence[int], blobs: Sequence[bytes]) -> None:
        """Append the codes, replacing any already stored under the same keys."""
        if not keys:
            return
        self.remove(keys)
        new_codes = np.frombuffer(b"".join(blobs), dtype=">u8").astype(np.uint64).reshape(-1, _WORDS)
        self._keys = np.concatenate([self._keys, np.asarray(keys, dtype=np.int64)])
        self._codes = np.concatenate([self._codes, new_codes])

    def remove(self, keys: Sequence[int]) -> None:
        """Drop rows whose key is in ``keys``."""
        keep = ~np.isin(self._keys, np.asarray(keys, dtype=np.int64))
        self._keys, self._codes = self._keys[keep], self._codes[keep]

    def _rows(self, allowed: Keys | None) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint64]]:
        if allowed is None:
            return self._keys, self._codes
        mask = np.isin(self._keys, allowed)
        return self._keys[mask], self._codes[mask]

    def search(
        self, blob: bytes, threshold: float, max_count: int, allowed: Keys | None, blobs: BlobReader | None = None
    ) -> list[Hit]:
        """Scan every (allowed) row; keep those at or above the threshold."""
        keys, codes = self._rows(allowed)
        distances = np.bitwise_count(codes ^ _words(blob)).sum(axis=1, dtype=np.int64)
        similarities = _similarity(distances)
        selected = np.flatnonzero(similarities >= threshold)
        order = selected[np.lexsort((keys[selected], -similarities[selected]))][:max_count]
        return [Hit(int(keys[i]), Score(float(similarities[i]), float(distances[i]), self._method)) for i in order]

    def pairs(
        self, threshold: float, allowed: Keys | None, blobs: BlobReader | None = None
    ) -> Iterable[tuple[int, int, Score]]:
        """Compare each row with the rows after it."""
        keys, codes = self._rows(allowed)
        for row in range(len(keys) - 1):
            distances = np.bitwise_count(codes[row + 1 :] ^ codes[row]).sum(axis=1, dtype=np.int64)
            similarities = _similarity(distances)
            for offset in np.flatnonzero(similarities >= threshold):
                other = row + 1 + int(offset)
                yield (
                    int(keys[row]),
                    int(keys[other]),
                    Score(float(similarities[offset]), float(distances[offset]), self._method),
                )
