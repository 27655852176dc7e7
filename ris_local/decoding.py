"""Grayscale pixels at reduced scale, the cheapest way Pillow can give them, and border trimming.

JPEG files are decoded with Pillow's ``draft`` mode straight to grayscale: libjpeg then
skips the colour conversion and scales in the DCT domain (1/2, 1/4 or 1/8), which is
most of the cost of a hash. Index and query images must be decoded the same way,
because reduced-scale decoding moves fine features (about as much as a JPEG re-save at
quality 75). Images with preprocessing steps go through :meth:`ImageData.decode`, so
the steps see the pixels they expect.

:func:`content_box` finds uniform borders (letterbox bars, passe-partouts, window
frames) so that both stages describe the picture, not its frame.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from ris_core.images import SUPPORTED_FORMATS, ImageData

__all__ = ["content_box", "decode_gray", "draft_size"]

Gray = npt.NDArray[np.uint8]

#: A border row or column varies by less than this (0..255 gray levels)...
_FLAT_STD = 6.0
#: ...and its mean is within this of the outermost row's or column's mean.
_SAME_COLOUR = 12.0
#: Never trim more than this share of a side (a uniform sky stays picture).
_MAX_TRIM = 0.4


def draft_size(image: ImageData, longest: int) -> tuple[int, int]:
    """The draft request that keeps the longer side at least ``longest`` pixels."""
    scale = min(1.0, longest / max(image.width, image.height))
    return max(1, round(image.width * scale)), max(1, round(image.height * scale))


def decode_gray(image: ImageData, size: tuple[int, int]) -> Gray:
    """8-bit grayscale pixels at least ``size`` (width, height) when the file is that large."""
    if not image.preprocessing and image.format in ("JPEG", "MPO"):
        try:
            opened = Image.open(io.BytesIO(image.data), formats=SUPPORTED_FORMATS)
            opened.draft("L", size)
            opened.load()
            return np.asarray(opened if opened.mode == "L" else opened.convert("L"))
        except (OSError, ValueError, SyntaxError, EOFError):
            pass  # the checked path below raises the library's own error
    pixels = image.decode(draft_size=size)
    if pixels.mode in ("RGBA", "LA", "PA") or (pixels.mode == "P" and "transparency" in pixels.info):
        # Transparent areas become white, as most viewers show them.
        rgba = pixels.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        pixels = Image.alpha_composite(flat, rgba)
    return np.asarray(pixels if pixels.mode == "L" else pixels.convert("L"))


def _first_content(means: npt.NDArray[np.float64], stds: npt.NDArray[np.float64]) -> int:
    """How many leading lines are border: flat and the colour of the outermost line."""
    limit = int(len(means) * _MAX_TRIM)
    border = (stds[:limit] < _FLAT_STD) & (np.abs(means[:limit] - means[0]) < _SAME_COLOUR)
    if not border.size or not border[0]:
        return 0
    return int(np.argmin(border)) if not border.all() else limit


def content_box(gray: Gray) -> tuple[int, int, int, int]:
    """``(left, top, right, bottom)`` of the picture inside uniform borders (exclusive ends)."""
    height, width = gray.shape
    if height < 8 or width < 8:
        return 0, 0, width, height
    # Most pictures have no border: four flat-line tests settle that cheaply.
    edges = (gray[:1], gray[-1:], gray[:, :1], gray[:, -1:])
    if min(float(cv2.meanStdDev(line)[1][0, 0]) for line in edges) >= _FLAT_STD:
        return 0, 0, width, height
    values = gray.astype(np.float32)
    row_mean, row_std = values.mean(axis=1), values.std(axis=1)
    col_mean, col_std = values.mean(axis=0), values.std(axis=0)
    top = _first_content(row_mean, row_std)
    bottom = height - _first_content(row_mean[::-1], row_std[::-1])
    left = _first_content(col_mean, col_std)
    right = width - _first_content(col_mean[::-1], col_std[::-1])
    if bottom - top < height // 4 or right - left < width // 4:
        return 0, 0, width, height  # nearly all "border": an almost flat image, keep it whole
    return left, top, right, bottom
