"""Grayscale pixels at reduced scale, the cheapest way Pillow or OpenCV can give them, and border trimming.

JPEG files are decoded straight to grayscale at reduced scale, the way Pillow's
``draft`` mode does it: libjpeg then skips the colour conversion and scales in the DCT
domain (1/2, 1/4 or 1/8), which is most of the cost of a hash. Index and query images
must be decoded the same way, because reduced-scale decoding moves fine features (about
as much as a JPEG re-save at quality 75). Plain JPEG files (8-bit, one or three
components, complete) take OpenCV's ``imdecode``, whose libjpeg-turbo gives the same
pixels as Pillow's draft decode with less overhead; everything else takes Pillow's
draft decode. (One visible difference: libjpeg's warnings about corrupt but complete
files, which Pillow swallows, reach stderr through OpenCV.) Images with preprocessing
steps go through :meth:`ImageData.decode`, so the steps see the pixels they expect.

:func:`content_box` finds uniform borders (letterbox bars, passe-partouts, window
frames) so that every stage describes the picture, not its frame. :func:`decode_rgb`
gives the small colour picture that the colour check (:mod:`ris_local.scoring.colour`) needs.
"""

from __future__ import annotations

import functools
import io
import struct

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image

from ris_core.images import SUPPORTED_FORMATS, ImageData

__all__ = ["content_box", "decode_gray", "decode_rgb", "draft_size"]

Gray = npt.NDArray[np.uint8]

#: A border row or column varies by less than this (0..255 gray levels)...
_FLAT_STD = 4.0
#: ...and its mean is within this of the outermost row's or column's mean. Both are
#: strict because a flat stretch of the picture itself (a sky, a wall, highlights a
#: brightened copy clips) is trimmed in one copy and not in another: a crop's rows are
#: shorter, so flatter, than the same rows of the whole picture.
_SAME_COLOUR = 8.0
#: Never trim more than this share of a side (a uniform sky stays picture).
_MAX_TRIM = 0.4
#: Borders nest at most this deep (a window frame round a mat round a page).
_NESTED_BORDERS = 3
#: A side trimmed again must step at least this much (grey levels) from the border
#: already trimmed: a smooth sky drifts less than that from one line to the next.
_STEP = _SAME_COLOUR / 2

#: OpenCV's reduced grayscale decodes by scale; orientation ignored, as Pillow does.
_CV_GRAY = {
    scale: flag | cv2.IMREAD_IGNORE_ORIENTATION
    for scale, flag in (
        (8, cv2.IMREAD_REDUCED_GRAYSCALE_8),
        (4, cv2.IMREAD_REDUCED_GRAYSCALE_4),
        (2, cv2.IMREAD_REDUCED_GRAYSCALE_2),
        (1, cv2.IMREAD_GRAYSCALE),
    )
}
#: Frame headers of Huffman-coded baseline, extended and progressive JPEG.
_PLAIN_FRAMES = frozenset((0xC0, 0xC1, 0xC2))
#: Markers without a length field: TEM and the restart markers.
_BARE_MARKERS = frozenset((0x01, *range(0xD0, 0xD8)))


def draft_size(image: ImageData, longest: int) -> tuple[int, int]:
    """The draft request that keeps the longer side at least ``longest`` pixels."""
    scale = min(1.0, longest / max(image.width, image.height))
    return max(1, round(image.width * scale)), max(1, round(image.height * scale))


def _plain_jpeg(image: ImageData) -> bool:
    """Whether OpenCV decodes ``image`` to exactly the pixels of Pillow's draft decode.

    That needs a frame libjpeg converts to gray itself (one component, or three in
    YCbCr or RGB; Pillow and OpenCV convert CMYK differently), 8-bit samples, and a
    file that ends with its EOI marker: libjpeg pads a truncated scan where Pillow
    raises, so a cut-off file must take Pillow's path to fail the same way. Pillow
    also warns or refuses above ``Image.MAX_IMAGE_PIXELS``; such images take its path.
    """
    data = image.data
    limit = Image.MAX_IMAGE_PIXELS
    if image.format != "JPEG" or not data.endswith(b"\xff\xd9") or (limit and image.width * image.height > limit):
        return False
    # Walk the marker segments to the frame header (a few segments, microseconds).
    position, end = 2, len(data) - 10
    if not data.startswith(b"\xff\xd8"):
        return False
    while position < end:
        if data[position] != 0xFF:
            return False
        marker = data[position + 1]
        if marker == 0xFF:  # a fill byte before the marker
            position += 1
        elif marker in _BARE_MARKERS:
            position += 2
        elif 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # SOFn, not DHT/JPG/DAC
            precision, height, width, components = struct.unpack_from(">BHHB", data, position + 4)
            return (
                marker in _PLAIN_FRAMES
                and precision == 8
                and components in (1, 3)
                and (width, height) == (image.width, image.height)
            )
        elif marker in (0xD8, 0xD9, 0xDA):  # SOI, EOI or a scan before any frame header
            return False
        else:
            position += 2 + (data[position + 2] << 8 | data[position + 3])
    return False


def _draft_scale(width: int, height: int, size: tuple[int, int]) -> int:
    """Pillow's choice of scale (``JpegImageFile.draft``): the largest of 8, 4, 2, 1 that
    keeps both sides at least ``size``."""
    ratio = min(width // size[0], height // size[1])
    return 8 if ratio >= 8 else 4 if ratio >= 4 else 2 if ratio >= 2 else 1


def _opencv_gray(data: bytes, width: int, height: int, size: tuple[int, int]) -> Gray | None:
    """Pillow's draft decode of a plain JPEG to ``L``, done by OpenCV; ``None`` if it fails."""
    scale = _draft_scale(width, height, size)
    try:
        pixels = cv2.imdecode(np.frombuffer(data, np.uint8), _CV_GRAY[scale])
    except cv2.error:
        return None
    # libjpeg rounds the scaled sides up, as Pillow's draft does.
    expected = (-(-height // scale), -(-width // scale))
    if pixels is None or pixels.shape != expected or pixels.dtype != np.uint8:
        return None
    return np.asarray(pixels, dtype=np.uint8)


def _pillow_gray(data: bytes, size: tuple[int, int]) -> Gray:
    """Pillow's draft decode of a JPEG (or MPO) straight to ``L``; raises what Pillow raises."""
    opened = Image.open(io.BytesIO(data), formats=SUPPORTED_FORMATS)
    opened.draft("L", size)
    opened.load()
    return np.asarray(opened if opened.mode == "L" else opened.convert("L"))


@functools.cache
def _opencv_agrees() -> bool:
    """Whether this installation's OpenCV decodes JPEG to Pillow's pixels (checked once).

    Both wheels bundle libjpeg-turbo, whose scaled decodes agree to the bit; an OpenCV
    built on another libjpeg would not, and would change the codes, so it is not used.
    """
    noise = np.random.default_rng(5).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    picture = Image.fromarray(cv2.resize(noise, (67, 53), interpolation=cv2.INTER_CUBIC))
    for mode, options in (("RGB", {"subsampling": 2}), ("RGB", {"progressive": True}), ("L", {})):
        buffer = io.BytesIO()
        picture.convert(mode).save(buffer, "JPEG", quality=90, **options)
        data = buffer.getvalue()
        for side in (67, 33, 16, 8):
            size = (side, side * 53 // 67)
            fast = _opencv_gray(data, 67, 53, size)
            if fast is None or not np.array_equal(fast, _pillow_gray(data, size)):
                return False
    return True


def decode_gray(image: ImageData, size: tuple[int, int]) -> Gray:
    """8-bit grayscale pixels at least ``size`` (width, height) when the file is that large."""
    if not image.preprocessing and image.format in ("JPEG", "MPO"):
        if _plain_jpeg(image) and _opencv_agrees():
            fast = _opencv_gray(image.data, image.width, image.height, size)
            if fast is not None:
                return fast
        try:
            return _pillow_gray(image.data, size)
        except (OSError, ValueError, SyntaxError, EOFError):
            pass  # the checked path below raises the library's own error
    pixels = _opaque(image.decode(draft_size=size))
    return np.asarray(pixels if pixels.mode == "L" else pixels.convert("L"))


def decode_rgb(image: ImageData, size: tuple[int, int]) -> npt.NDArray[np.uint8]:
    """8-bit RGB pixels at least ``size`` (width, height) when the file is that large
    (Pillow's draft decode for JPEG; transparent areas white, as in :func:`decode_gray`)."""
    pixels = _opaque(image.decode(draft_size=size))
    return np.asarray(pixels if pixels.mode == "RGB" else pixels.convert("RGB"))


def _opaque(pixels: Image.Image) -> Image.Image:
    """``pixels`` with transparent areas made white, as most viewers show them."""
    if pixels.mode in ("RGBA", "LA", "PA") or (pixels.mode == "P" and "transparency" in pixels.info):
        rgba = pixels.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(flat, rgba)
    return pixels


def _first_content(means: npt.NDArray[np.float64], stds: npt.NDArray[np.float64], limit: int) -> int:
    """How many leading lines (at most ``limit``) are border: flat and the colour of the
    outermost line."""
    border = (stds[:limit] < _FLAT_STD) & (np.abs(means[:limit] - means[0]) < _SAME_COLOUR)
    if not border.size or not border[0]:
        return 0
    return int(np.argmin(border)) if not border.all() else limit


def _has_border(gray: Gray) -> bool:
    """Whether any outermost line is flat (most pictures have no border, and four
    flat-line tests settle that cheaply; written out, as the Python around four C calls
    costs as much as the calls)."""
    std = cv2.meanStdDev
    return not (
        std(gray[0])[1][0, 0] >= _FLAT_STD
        and std(gray[-1])[1][0, 0] >= _FLAT_STD
        and std(gray[:, 0])[1][0, 0] >= _FLAT_STD
        and std(gray[:, -1])[1][0, 0] >= _FLAT_STD
    )


def content_box(gray: Gray) -> tuple[int, int, int, int]:
    """``(left, top, right, bottom)`` of the picture inside uniform borders (exclusive ends).

    Borders nest (a window frame round a white page, a black mat inside a white
    passe-partout), so trimming repeats, and a framed copy ends at the same box as the
    bare picture. A side trimmed again must step sharply from one border's colour to the
    next, or a smooth sky would be eaten band by band, and no side loses more than
    ``_MAX_TRIM`` in all."""
    height, width = gray.shape
    if height < 8 or width < 8 or not _has_border(gray):
        return 0, 0, width, height
    cut = [0, 0, 0, 0]  # lines trimmed from the left, top, right and bottom
    for _ in range(_NESTED_BORDERS):
        inner = gray[cut[1] : height - cut[3], cut[0] : width - cut[2]].astype(np.float32)
        rows, cols = (inner.mean(axis=1), inner.std(axis=1)), (inner.mean(axis=0), inner.std(axis=0))
        grown = list(cut)
        for side, (means, stds) in enumerate((cols, rows, cols, rows)):
            if side >= 2:
                means, stds = means[::-1], stds[::-1]
            room = int((width if side % 2 == 0 else height) * _MAX_TRIM) - cut[side]
            if room <= 0 or (cut[side] and abs(_outer_line(gray, cut, side) - means[0]) < _STEP):
                continue
            grown[side] += _first_content(means, stds, room)
        if grown == cut:
            break
        if height - grown[1] - grown[3] < height // 4 or width - grown[0] - grown[2] < width // 4:
            break  # nearly all "border": an almost flat image, keep what is left
        cut = grown
    return cut[0], cut[1], width - cut[2], height - cut[3]


def _outer_line(gray: Gray, cut: list[int], side: int) -> float:
    """The mean of the last border line trimmed on ``side``, along the inner box."""
    height, width = gray.shape
    left, top, right, bottom = cut[0], cut[1], width - cut[2], height - cut[3]
    if side % 2 == 0:
        return float(gray[top:bottom, left - 1 if side == 0 else right].mean())
    return float(gray[top - 1 if side == 1 else bottom, left:right].mean())
