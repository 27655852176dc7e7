"""The anchors: imagehash pHash, dHash, their pair, and Facebook's PDQ, as plain engines.

Each decodes in full (imagehash's own way; PDQ's reference code takes full RGB pixels),
hashes once, and searches by brute-force Hamming distance with no mirrored query,
border trimming or second stage: the numbers a user gets from the library as shipped.
Similarity is ``100 * (1 - distance / bits)``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from typing import ClassVar

import imagehash
import numpy as np
import numpy.typing as npt
import pdqhash
from PIL import Image

from ris_core.images import ImageData
from ris_local.engine import BlobReader, Engine, FeatureIndex, Hit, Keys, Score

__all__ = ["ANCHORS", "BruteHammingIndex", "HashAnchor"]


def _bits(values: npt.NDArray[np.generic]) -> bytes:
    return np.packbits(np.asarray(values, dtype=bool).ravel()).tobytes()


def _phash(image: Image.Image) -> bytes:
    return _bits(imagehash.phash(image).hash)


def _dhash(image: Image.Image) -> bytes:
    return _bits(imagehash.dhash(image).hash)


def _pdq(image: Image.Image) -> bytes:
    bits, _quality = pdqhash.compute(np.asarray(image.convert("RGB")))
    return _bits(bits)


class BruteHammingIndex(FeatureIndex):
    """Every code in one uint8 matrix; each query scans all of them."""

    def __init__(self, bits: int, method: str) -> None:
        self._bits, self._method = bits, method
        self._keys = np.empty(0, dtype=np.int64)
        self._codes = np.empty((0, bits // 8), dtype=np.uint8)

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, keys: Sequence[int], blobs: Sequence[bytes]) -> None:
        """Append (replacing existing keys)."""
        self.remove(keys)
        codes = np.frombuffer(b"".join(blobs), dtype=np.uint8).reshape(len(blobs), -1)
        self._keys = np.concatenate([self._keys, np.asarray(keys, dtype=np.int64)])
        self._codes = np.concatenate([self._codes, codes])

    def remove(self, keys: Sequence[int]) -> None:
        """Drop the keys."""
        keep = ~np.isin(self._keys, np.asarray(keys, dtype=np.int64))
        self._keys, self._codes = self._keys[keep], self._codes[keep]

    def _similarity(self, codes: npt.NDArray[np.uint8], code: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
        distance = np.bitwise_count(codes ^ code).sum(axis=1, dtype=np.int64)
        return 100.0 * (1.0 - distance / self._bits)

    def search(
        self, blob: bytes, threshold: float, max_count: int, allowed: Keys | None, blobs: BlobReader | None = None
    ) -> list[Hit]:
        """The best ``max_count`` at or above ``threshold``."""
        sims = self._similarity(self._codes, np.frombuffer(blob, dtype=np.uint8))
        order = np.lexsort((self._keys, -sims))[:max_count]
        return [
            Hit(int(self._keys[i]), Score(float(sims[i]), float((100 - sims[i]) * self._bits / 100), self._method))
            for i in order
            if sims[i] >= threshold
        ]

    def pairs(
        self, threshold: float, allowed: Keys | None, blobs: BlobReader | None = None
    ) -> Iterable[tuple[int, int, Score]]:
        """Every pair at or above ``threshold``."""
        for row in range(len(self._keys) - 1):
            sims = self._similarity(self._codes[row + 1 :], self._codes[row])
            for offset in np.flatnonzero(sims >= threshold):
                other = row + 1 + int(offset)
                yield int(self._keys[row]), int(self._keys[other]), Score(float(sims[offset]), 0.0, self._method)


class HashAnchor(Engine):
    """One or more global hashes computed on the fully decoded image."""

    algorithm: ClassVar[str] = "anchor"
    version: ClassVar[str] = "0"
    default_threshold: ClassVar[float] = 80.0
    duplicate_threshold: ClassVar[float] = 90.0

    def __init__(self, name: str, hashers: Sequence[Callable[[Image.Image], bytes]], bits: int) -> None:
        self.name, self._hashers, self._bits = name, tuple(hashers), bits

    def extract(self, image: ImageData) -> bytes:
        """Decode in full and concatenate the hashes."""
        pixels = Image.open(io.BytesIO(image.data))
        pixels.load()
        return b"".join(hasher(pixels) for hasher in self._hashers)

    def describe(self, blob: bytes) -> tuple[int, int]:
        """One code of all the bits."""
        return 1, self._bits

    def compare(self, first: bytes, second: bytes) -> Score:
        """Hamming similarity."""
        a, b = np.frombuffer(first, dtype=np.uint8), np.frombuffer(second, dtype=np.uint8)
        distance = int(np.bitwise_count(a ^ b).sum())
        return Score(100.0 * (1 - distance / self._bits), float(distance), self.name)

    def new_index(self) -> BruteHammingIndex:
        """A brute-force index."""
        return BruteHammingIndex(self._bits, self.name)


#: name -> factory, in report order.
ANCHORS: dict[str, Callable[[], HashAnchor]] = {
    "imagehash pHash": lambda: HashAnchor("imagehash pHash", [_phash], 64),
    "imagehash dHash": lambda: HashAnchor("imagehash dHash", [_dhash], 64),
    "pHash+dHash": lambda: HashAnchor("pHash+dHash", [_phash, _dhash], 128),
    "PDQ": lambda: HashAnchor("PDQ", [_pdq], 256),
}
