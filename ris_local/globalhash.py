"""The hash stage's codes: a 64-bit DCT hash and a 64-bit gradient hash, and their mirrors.

Both are computed from the picture inside its uniform borders (see
:func:`~ris_local.decoding.content_box`), on OpenCV's area-averaged thumbnails, which
costs tens of microseconds on top of the decode:

* ``dct``: the 8x8 lowest frequencies of the 32x32 thumbnail's DCT (the DC term
  included), each compared with their median; like imagehash's pHash.
* ``gradient``: each pixel of the 9x8 thumbnail compared with its right neighbour;
  like imagehash's dHash.

Mirroring an image left to right multiplies DCT coefficient ``(v, u)`` by ``(-1)**u``
and reverses each gradient row, so the mirrored codes cost almost nothing and a
mirrored copy is found with one more lookup instead of a second decode.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["HashCodes", "hash_codes"]

_SIGN = np.where(np.arange(8) % 2 == 0, 1.0, -1.0).astype(np.float32)[None, :]


@dataclass(frozen=True, slots=True)
class HashCodes:
    """Four 64-bit codes: the image's DCT and gradient hashes, then its mirror's."""

    dct: int
    gradient: int
    mirrored_dct: int
    mirrored_gradient: int


def _dct_bits(low: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    ordered = np.sort(low, axis=None)
    return np.asarray(low > (ordered[31] + ordered[32]) / 2, dtype=bool)  # the median of 64 values


def hash_codes(gray: npt.NDArray[np.uint8]) -> HashCodes:
    """The four codes of a (border-trimmed) grayscale picture; bit 63 of each is its
    first element, so codes read like imagehash's hex strings."""
    thumb = cv2.resize(gray, (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)
    low = np.asarray(cv2.dct(thumb)[:8, :8], dtype=np.float32)
    small = cv2.resize(gray, (9, 8), interpolation=cv2.INTER_AREA).astype(np.int16)
    right = small[:, 1:] > small[:, :-1]
    # The mirror's gradient compares each pixel with its left neighbour, read mirrored.
    mirrored_right = (small[:, :-1] > small[:, 1:])[:, ::-1]
    bits = np.concatenate(
        [_dct_bits(low).ravel(), right.ravel(), _dct_bits(low * _SIGN).ravel(), mirrored_right.ravel()]
    )
    packed = np.packbits(bits).tobytes()
    return HashCodes(*(int.from_bytes(packed[i : i + 8], "big") for i in range(0, 32, 8)))
