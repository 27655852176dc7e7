"""A wavelet-hash engine: each image is two 64-bit Haar wavelet hashes (the picture and
its mirror), scored by Hamming distance, searched by brute force over a numpy array.

Brute force is exact and fast enough for an example (a few ms per query over 100k
images); a real engine would add a multi-index, as ``ris_local`` does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import ClassVar

import imagehash
import numpy as np
import numpy.typing as npt
from PIL import Image, ImageOps

from ris_core.images import ImageData
from ris_local import BlobReader, Engine, FeatureIndex, Hit, Keys, Progress, Score

__all__ = ["WaveletHashEngine", "WaveletIndex"]

BITS = 64
#: The hash is taken of a fixed-size reduction, so every size of one picture agrees.
IMAGE_SCALE = 64
_CODES = np.dtype("<u8")


def _code(image: Image.Image) -> int:
    bits = imagehash.whash(image, hash_size=8, image_scale=IMAGE_SCALE).hash.flatten()
    return int(np.packbits(bits.astype(np.uint8)).view(">u8")[0])


def _score(distance: int) -> Score:
    return Score(100.0 * (1.0 - distance / BITS), float(distance), "wavelet hash")


def _distances(codes: npt.NDArray[np.uint64], blob: bytes) -> npt.NDArray[np.int64]:
    """Each row's distance to the blob: the picture against the picture or its mirror."""
    query = np.frombuffer(blob, _CODES)
    upright = np.bitwise_count(codes[:, 0] ^ query[0])
    mirrored = np.bitwise_count(codes[:, 0] ^ query[1])
    distances: npt.NDArray[np.int64] = np.minimum(upright, mirrored).astype(np.int64)
    return distances


class WaveletIndex(FeatureIndex):
    """Keys and codes in two numpy arrays, kept in key order."""

    def __init__(self) -> None:
        self.keys = np.empty(0, np.int64)
        self.codes = np.empty((0, 2), _CODES)

    def __len__(self) -> int:
        return len(self.keys)

    def add(self, keys: Sequence[int], blobs: Sequence[bytes]) -> None:
        """Insert or replace."""
        self.remove(keys)
        codes = np.frombuffer(b"".join(blobs), _CODES).reshape(-1, 2)
        keys_array = np.concatenate([self.keys, np.asarray(keys, np.int64)])
        order = np.argsort(keys_array, kind="stable")
        self.keys, self.codes = keys_array[order], np.concatenate([self.codes, codes])[order]

    def remove(self, keys: Sequence[int]) -> None:
        """Drop the keys (unknown ones are ignored)."""
        keep = ~np.isin(self.keys, np.asarray(keys, np.int64))
        self.keys, self.codes = self.keys[keep], self.codes[keep]

    def search(
        self, blob: bytes, threshold: float, max_count: int, allowed: Keys | None, blobs: BlobReader | None = None
    ) -> list[Hit]:
        """Best first, ties by key (the arrays are in key order and the sort is stable)."""
        rows = np.arange(len(self.keys)) if allowed is None else np.flatnonzero(np.isin(self.keys, allowed))
        distances = _distances(self.codes[rows], blob)
        order = np.argsort(distances, kind="stable")
        hits = (Hit(int(self.keys[rows[i]]), _score(int(distances[i]))) for i in order[:max_count])
        return [hit for hit in hits if hit.score.similarity >= threshold]

    def pairs(
        self,
        threshold: float,
        allowed: Keys | None,
        blobs: BlobReader | None = None,
        progress: Progress | None = None,
    ) -> Iterator[tuple[int, int, Score]]:
        """Every pair once, by scoring each row against the rows after it (``progress``
        counts the rows done)."""
        rows = np.arange(len(self.keys)) if allowed is None else np.flatnonzero(np.isin(self.keys, allowed))
        for position, row in enumerate(rows):
            if progress is not None:
                progress(position, len(rows))
            later = rows[position + 1 :]
            distances = _distances(self.codes[later], self.codes[row].tobytes())
            for other, distance in zip(later, distances, strict=True):
                score = _score(int(distance))
                if score.similarity >= threshold:
                    yield int(self.keys[row]), int(self.keys[other]), score
        if progress is not None:
            progress(len(rows), len(rows))

    def to_blocks(self) -> dict[str, bytes]:
        """The two arrays, little-endian."""
        return {"keys": self.keys.astype("<i8").tobytes(), "codes": self.codes.tobytes()}

    def load_blocks(self, blocks: Mapping[str, bytes | bytearray]) -> None:
        """Replace the contents with :meth:`to_blocks` output."""
        keys, codes = np.frombuffer(blocks["keys"], "<i8"), np.frombuffer(blocks["codes"], _CODES)
        if len(codes) != 2 * len(keys):
            raise ValueError("keys and codes blocks disagree in length")
        self.keys, self.codes = keys.astype(np.int64), codes.reshape(-1, 2).copy()


class WaveletHashEngine(Engine):
    """Two wavelet hashes per image; similarity is 100 * (1 - bits apart / 64)."""

    algorithm: ClassVar[str] = "ris-whash"
    version: ClassVar[str] = "1"
    default_threshold: ClassVar[float] = 80.0
    duplicate_threshold: ClassVar[float] = 87.5

    def extract(self, image: ImageData) -> bytes:
        """Decode small and hash the picture and its mirror."""
        picture = image.decode(draft_size=(2 * IMAGE_SCALE, 2 * IMAGE_SCALE))
        return np.array([_code(picture), _code(ImageOps.mirror(picture))], _CODES).tobytes()

    def describe(self, blob: bytes) -> tuple[int, int]:
        """Two 64-bit codes."""
        return 2, BITS

    def compare(self, first: bytes, second: bytes) -> Score:
        """The nearer of picture-to-picture and picture-to-mirror."""
        codes = np.frombuffer(first, _CODES).reshape(1, 2)
        return _score(int(_distances(codes, second)[0]))

    def new_index(self) -> WaveletIndex:
        """An empty index."""
        return WaveletIndex()
