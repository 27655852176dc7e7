"""The hash stage's codes: a 64-bit DCT hash and a 64-bit gradient hash, and their mirrors.

Both are computed from the picture inside its uniform borders (see
:func:`~ris_local.features.decoding.content_box`), on OpenCV's area-averaged thumbnails, which
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

__all__ = ["HashCodes", "dct_codes", "hash_codes"]

#: Where the 8x8 lowest DCT frequencies sit in the flattened 32x32 DCT.
_LOW = (32 * np.arange(8)[:, None] + np.arange(8)).ravel()
#: Row 0 keeps the low frequencies, row 1 mirrors them: ``(v, u)`` times ``(-1)**u``.
_MIRROR = np.stack([np.ones(64), np.tile([1.0, -1.0], 32)]).astype(np.float32)
# Gradient bits as one comparison ``small[_RIGHT] > small[_LEFT]`` on the flattened 9x8
# thumbnail. Row 0: pixel (y, x + 1) against (y, x). Row 1, the mirror: its pixel x is
# the original's 8 - x, so it compares (y, 7 - x) against (y, 8 - x).
_ROWS, _COLUMNS = 9 * np.arange(8)[:, None], np.arange(8)
_RIGHT = np.stack([(_ROWS + _COLUMNS + 1).ravel(), (_ROWS + 7 - _COLUMNS).ravel()])
_LEFT = np.stack([(_ROWS + _COLUMNS).ravel(), (_ROWS + 8 - _COLUMNS).ravel()])
#: Eight packed bytes read as one big-endian 64-bit code.
_CODE = np.dtype(">u8")


@dataclass(frozen=True, slots=True)
class HashCodes:
    """Four 64-bit codes: the image's DCT and gradient hashes, then its mirror's."""

    dct: int
    gradient: int
    mirrored_dct: int
    mirrored_gradient: int


def _dct_bits(gray: npt.NDArray[np.uint8], out: npt.NDArray[np.bool_]) -> None:
    """The DCT code's bits, normal then mirrored, written into ``out`` (2 x 64)."""
    thumb = cv2.resize(gray, (32, 32), interpolation=cv2.INTER_AREA)
    low = cv2.dct(thumb.astype(np.float32)).ravel()[_LOW] * _MIRROR  # 2 x 64: normal, mirrored
    ordered = low.copy()
    ordered.partition((31, 32), axis=1)
    # Each row's median of 64 values: the mean of its 32nd and 33rd smallest (float32).
    medians = np.add.reduce(ordered[:, 31:33], axis=1, keepdims=True) / 2
    np.greater(low, medians, out=out)


def hash_codes(gray: npt.NDArray[np.uint8]) -> HashCodes:
    """The four codes of a (border-trimmed) grayscale picture; bit 63 of each is its
    first element, so codes read like imagehash's hex strings."""
    # At hash-stage sizes the C work is a few microseconds and NumPy's per-call overhead
    # is the rest, so both codes and their mirrors are made in a handful of array calls.
    bits = np.empty((4, 64), dtype=bool)  # dct, gradient, mirrored dct, mirrored gradient
    _dct_bits(gray, bits[0::2])
    small = cv2.resize(gray, (9, 8), interpolation=cv2.INTER_AREA).ravel()
    np.greater(small[_RIGHT], small[_LEFT], out=bits[1::2])
    dct, gradient, mirrored_dct, mirrored_gradient = np.packbits(bits).view(_CODE).tolist()
    return HashCodes(dct, gradient, mirrored_dct, mirrored_gradient)


def dct_codes(gray: npt.NDArray[np.uint8]) -> tuple[int, int]:
    """The DCT code of a grayscale picture and its mirror's: :func:`hash_codes`'
    ``dct`` and ``mirrored_dct``, without the gradient codes (whose 9x8 area-averaged
    thumbnail costs more than the 32x32 one), for views only their DCT code is kept of."""
    bits = np.empty((2, 64), dtype=bool)
    _dct_bits(gray, bits)
    dct, mirrored_dct = np.packbits(bits).view(_CODE).tolist()
    return dct, mirrored_dct
