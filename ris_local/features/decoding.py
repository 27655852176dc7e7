"""One decode per image, the views every stage derives from it, and border trimming.

:func:`decode` decodes an image once, at the size the keypoint stage needs (the longer
side at least ``longest``), and the hash stage, the thumbnail and the chroma map derive
their pixels from that decode instead of decoding again. JPEG files decode at reduced
scale through Pillow's ``draft``: libjpeg scales in the DCT domain (1/2, 1/4 or 1/8),
which is most of the saving, and is asked for YCbCr, whose Y plane is exactly the grey
of a grey draft decode and whose chroma the colour map reads. A progressive JPEG that
decodes at 1/8 is decoded without its luma's AC scans, which that scale never reads
(:mod:`ris_local.features.jpegscans`: the same pixels, 1.7-7x faster on the large
photographs). Other formats have no reduced decode: they decode once in full and are
reduced at once by the factor a JPEG draft would take (:meth:`ImageData.decode` with
``like_draft``, band by band above its pixel threshold), so a PNG and a JPEG of one
picture come out at the same size; an opaque WebP decodes through OpenCV, which holds
less of it at once than Pillow, and so does a plain 8-bit RGB PNG (libpng through
OpenCV, straight into RGB, decodes it ~10% faster than Pillow, into the same pixels,
which Pillow then reduces exactly as it reduces its own). Index and query images must be
decoded the same way, because reduced-scale decoding moves fine features (about as much
as a JPEG re-save at quality 75): every stage of every engine goes through
:func:`decode`. Images with preprocessing steps go through :meth:`ImageData.decode`, so
the steps see the pixels they expect, except a colour or grey JPEG and an opaque WebP
under the default steps, on which they amount to turning the picture upright.

:func:`content_box` finds uniform borders (letterbox bars, passe-partouts, window
frames) so that every stage describes the picture, not its frame.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt
from PIL import Image
from PIL.ImageFile import ImageFile

from ris_core.images import SUPPORTED_FORMATS, ImageData, draft_factor, like_draft_factor
from ris_core.preprocess import DEFAULT_STEPS, apply_exif_orientation
from ris_local.features import jpegscans

__all__ = ["Decoded", "area_resize", "content_box", "decode", "draft_size", "hash_view"]

Gray = npt.NDArray[np.uint8]
RGB = npt.NDArray[np.uint8]

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
#: A JPEG draft scales by at most this much; the hash view stops there too.
_MAX_DRAFT = 8
#: Pillow's failures to decode (the checked path of :meth:`ImageData.decode` maps them).
_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)
#: PNG chunks that change neither the pixels Pillow decodes nor what the default steps do
#: with them (no transparency, no EXIF, no text that may carry EXIF or XMP orientation).
_PLAIN_PNG_CHUNKS = frozenset({b"IHDR", b"IDAT", b"IEND", b"sRGB", b"gAMA", b"cHRM", b"pHYs", b"iCCP", b"tIME"})
#: Rows of one band when a PNG decoded by OpenCV is reduced: a few MB of copies at once.
_BAND_BYTES = 16 * 1024 * 1024


def _request(width: int, height: int, longest: int) -> tuple[int, int]:
    scale = min(1.0, longest / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def draft_size(image: ImageData, longest: int) -> tuple[int, int]:
    """The draft request that keeps the longer side at least ``longest`` pixels."""
    return _request(image.width, image.height, longest)


@dataclass(frozen=True)
class Decoded:
    """One decode of an image: its grey pixels and its colour picture, the same size.

    ``scale`` is how many of the file's pixels one decoded pixel spans along the longer
    side (1, 2, 4 or 8 for a draft; more for a huge file reduced to bound memory).
    ``colour`` stays in the mode it decoded to (YCbCr for a colour JPEG) until
    :meth:`rgb` is asked for it, since only the small chroma map needs RGB.
    """

    gray: Gray
    colour: Image.Image
    scale: int

    def rgb(self) -> RGB:
        """The colour picture as 8-bit RGB pixels."""
        colour = self.colour if self.colour.mode == "RGB" else self.colour.convert("RGB")
        return np.asarray(colour)


def decode(image: ImageData, longest: int) -> Decoded:
    """Decode ``image`` once, its longer side at least ``longest`` when the file is that
    large (transparent areas white, as most viewers show them)."""
    size = draft_size(image, longest)
    default_steps = image.preprocessing == DEFAULT_STEPS
    if (default_steps or not image.preprocessing) and image.format in ("JPEG", "MPO", "WEBP"):
        try:
            opened = Image.open(io.BytesIO(image.data), formats=SUPPORTED_FORMATS)
            # On an opaque colour or grey picture the default steps only turn it upright:
            # it has no transparency, and its mode is one the features read as it is.
            if opened.format == "WEBP" and opened.mode == "RGB":
                pixels = _opencv_webp(image, size, opened.getexif())
            elif opened.format != "WEBP" and opened.mode in ("RGB", "L"):
                pixels = _draft(image, opened, size)
            else:
                pixels = None
            if pixels is not None:
                return _decoded(image, apply_exif_orientation(pixels) if default_steps else pixels)
        except _DECODE_ERRORS:
            pass  # the checked path below raises the library's own error
    if (default_steps or not image.preprocessing) and image.format == "PNG" and _plain_rgb_png(image.data):
        # No transparency, no orientation, mode RGB: the default steps leave it as it is.
        rgb = _opencv_png(image, size)
        if rgb is not None:
            return _decoded(image, rgb)
    return _decoded(image, _opaque(image.decode(draft_size=size, like_draft=True)))


def _draft(image: ImageData, opened: ImageFile, size: tuple[int, int]) -> ImageFile:
    """A colour or grey JPEG's draft of ``size`` (YCbCr or L), loaded. A progressive one
    that decodes at 1/8 is decoded without the scans that scale never reads (the same
    pixels: :func:`~ris_local.features.jpegscans.dc_only`), or as it is if that fails."""
    mode = "YCbCr" if opened.mode == "RGB" else "L"
    if opened.format == "JPEG" and opened.info.get("progressive") and draft_factor(*opened.size, size) == _MAX_DRAFT:
        lighter = jpegscans.dc_only(image.data)
        if lighter is not None:
            try:
                light = Image.open(io.BytesIO(lighter), formats=("JPEG",))
                light.draft(mode, size)
                if light.mode == mode and light.size == (-(-opened.width // 8), -(-opened.height // 8)):
                    light.load()
                    return light
            except _DECODE_ERRORS:
                pass  # the whole file below, which reports its own errors
    opened.draft(mode, size)
    opened.load()
    return opened


def _plain_rgb_png(data: bytes) -> bool:
    """Whether ``data`` is an 8-bit truecolour PNG (Pillow's mode RGB) whose
    chunks are all in :data:`_PLAIN_PNG_CHUNKS`: read from the chunk headers alone."""
    if len(data) < 33 or data[24] != 8 or data[25] != 2:  # IHDR: bit depth 8, colour type 2
        return False
    offset = 8
    while offset + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, offset)
        if kind not in _PLAIN_PNG_CHUNKS:
            return False
        if kind == b"IEND":
            return True
        offset += 12 + length
    return False


def _opencv_png(image: ImageData, size: tuple[int, int]) -> Image.Image | None:
    """A plain RGB PNG decoded by OpenCV (libpng) and reduced by Pillow, band by band,
    by the factor :meth:`ImageData.decode` with ``like_draft`` takes: the same pixels
    as that path (both decoders are exact, and a box average of whole boxes does not
    depend on the band), with 3 bytes a pixel held at the peak instead of Pillow's 4.
    None if OpenCV cannot decode it (the checked path then reports the error)."""
    # Straight into RGB: libpng's own order, so no channel swap, no second full-size copy.
    rgb = cv2.imdecode(np.frombuffer(image.data, np.uint8), cv2.IMREAD_COLOR_RGB | cv2.IMREAD_IGNORE_ORIENTATION)
    if rgb is None or rgb.shape[:2] != (image.height, image.width):
        return None
    width, height = image.width, image.height
    factor = like_draft_factor(width, height, size)
    if factor == 1:
        return Image.fromarray(rgb, "RGB")
    out = Image.new("RGB", (-(-width // factor), -(-height // factor)))
    rows = factor * max(1, _BAND_BYTES // (3 * width * factor))
    for y in range(0, height, rows):
        out.paste(Image.fromarray(rgb[y : y + rows], "RGB").reduce(factor), (0, y // factor))
    return out


def _opencv_webp(image: ImageData, size: tuple[int, int], exif: Image.Exif) -> Image.Image | None:
    """An opaque WebP decoded by OpenCV and reduced like a JPEG draft; None if it fails.

    OpenCV hands over the picture as one 3-byte-a-pixel copy of libwebp's canvas, where
    Pillow makes two of 4 bytes (its frame as bytes, then the image): 7 bytes a pixel at
    the peak instead of 12 (a 20 MP photo: 140 MB instead of 250). The reduction drops
    the last ``factor - 1`` rows and columns at most, so each output pixel is a whole box.
    """
    bgr = cv2.imdecode(np.frombuffer(image.data, np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    if bgr is None or bgr.shape[:2] != (image.height, image.width):
        return None
    factor = draft_factor(image.width, image.height, size)
    width, height = max(1, image.width // factor), max(1, image.height // factor)
    if factor > 1:
        bgr = cv2.resize(bgr[: height * factor, : width * factor], (width, height), interpolation=cv2.INTER_AREA)
    pixels = Image.fromarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), "RGB")
    if exif:
        pixels.info["exif"] = exif.tobytes()  # so the orientation step sees it
    return pixels


def _decoded(image: ImageData, pixels: Image.Image) -> Decoded:
    if pixels.mode == "YCbCr":
        gray = np.asarray(pixels.getchannel(0))  # libjpeg's own grey, as a grey decode gives it
    else:
        gray = np.asarray(pixels if pixels.mode == "L" else pixels.convert("L"))
    return Decoded(gray, pixels, max(1, round(max(image.width, image.height) / max(gray.shape))))


def hash_view(decoded: Decoded, longest: int) -> Gray:
    """The grey picture the hash stage reads: the decode reduced (box averages) by the
    factor that a JPEG draft keeping the longer side at least ``longest`` would take
    from the file, less what the decode took already. For a JPEG that is what a draft
    at the hash stage's size gives, up to the rounding of its DCT scaling."""
    height, width = decoded.gray.shape
    factor = min(draft_factor(width, height, _request(width, height, longest)), max(1, _MAX_DRAFT // decoded.scale))
    if factor == 1:
        return decoded.gray
    return np.asarray(Image.fromarray(decoded.gray).reduce(factor))


def area_resize(pixels: npt.NDArray[np.uint8], size: tuple[int, int]) -> npt.NDArray[np.uint8]:
    """``pixels`` (grey or 3-channel) area-averaged to ``size`` (width, height): halved
    first through OpenCV's 2 x 2 box (its fast path) while both sides are even and stay
    at least twice the target's, then area-averaged once. OpenCV's area resize at a
    ratio that is not a whole number costs several times more per source pixel than a
    halving, so a small view of a large decode (the hash base, the chroma map) reads a
    quarter or a sixteenth of its pixels. At a whole ratio on both sides it is one area
    resize (OpenCV's fast path, exact). Otherwise it is not bit-identical to one area
    resize of the whole, though the boxes cover the same pixels: the halves round to
    whole levels, and a box edge inside a halved pixel weighs both its pixels alike
    (within a level of one resize on most pixels, a few levels at sharp edges)."""
    width, height = size
    if pixels.shape[1] % width == 0 and pixels.shape[0] % height == 0:
        # A whole ratio on both sides is OpenCV's fast path already, and exact.
        return np.asarray(cv2.resize(pixels, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    rows, cols = pixels.shape[:2]
    while cols >= 4 * width and rows >= 4 * height and not (rows | cols) & 1:
        rows, cols = rows // 2, cols // 2
        pixels = np.asarray(cv2.resize(pixels, (cols, rows), interpolation=cv2.INTER_AREA), dtype=np.uint8)
    return np.asarray(cv2.resize(pixels, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


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
