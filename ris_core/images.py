"""Turning what a user passes as "an image" into checked bytes, and bytes into pixels.

Every operation that takes an image accepts bytes, a path, a binary file object or a
``PIL.Image``. :func:`load_image` reads any of them into an :class:`ImageData`: the
original bytes (what ``get_image`` hands back), the format and size read from the
header, and a content hash. It rejects empty data, unknown formats and images that
declare more pixels than allowed *before* anything is decoded, so a decompression bomb
costs a header parse. Decoding waits until a backend asks for pixels with
:meth:`ImageData.decode`, which maps every decoder failure (a truncated JPEG, say) to
:class:`~ris_core.errors.InvalidImageError` and applies the preprocessing steps.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TypeAlias

import numpy as np
from PIL import Image

from ris_core.errors import EmptyImageError, ImageTooLargeError, InvalidImageError, SourceNotFoundError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_DECODE_BYTES",
    "DEFAULT_MAX_PIXELS",
    "REDUCE_ABOVE_PIXELS",
    "SUPPORTED_FORMATS",
    "ImageData",
    "ImageInput",
    "PreprocessStep",
    "SourceFile",
    "decode_cost",
    "draft_factor",
    "gray8",
    "like_draft_factor",
    "load_image",
    "within_reduce_bound",
]

#: Anything an operation accepts as an image.
ImageInput: TypeAlias = "bytes | bytearray | memoryview | str | os.PathLike[str] | IO[bytes] | Image.Image | ImageData"

#: A preprocessing step takes decoded pixels and returns (possibly new) pixels.
PreprocessStep: TypeAlias = Callable[[Image.Image], Image.Image]

#: Raster formats ris decodes. An allow-list, so Pillow never hands untrusted bytes to
#: plugins that shell out (EPS runs Ghostscript) or to rarely fuzzed decoders.
SUPPORTED_FORMATS: tuple[str, ...] = ("JPEG", "PNG", "WEBP", "GIF", "BMP", "TIFF")

#: Pillow's own decompression-bomb limit; ris refuses images above it instead of warning.
DEFAULT_MAX_PIXELS = 89_478_485

#: Files larger than this are refused before they are read into memory.
DEFAULT_MAX_BYTES = 256 * 1024 * 1024

#: The most memory the full-size pixels of one decode may take. JPEG always fits (it
#: decodes at 1/8 scale when it must); PNG, WebP, GIF, BMP and TIFF decode at full
#: size, in Pillow's layout (1 byte a pixel for L, P and 1; 2 for 16-bit grey; 4 for
#: everything else, RGB included). 256 MiB keeps a worker under 400 MB in all
#: (BENCHMARKS.md, "Hostile files"): the interpreter and its libraries take ~110 MB
#: and the pipeline after the decode works on a reduced copy.
DEFAULT_MAX_DECODE_BYTES = 256 * 1024 * 1024

#: Non-JPEG images above this many pixels are reduced right after decoding. Below it,
#: decoding is exactly what it always was, so features of ordinary files never move.
REDUCE_ABOVE_PIXELS = 16_000_000

#: Pillow's bytes per pixel by mode (anything else: 4).
_PIXEL_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
#: What a WebP decode holds at once, in bytes a pixel: the decoder's RGBA canvas (4),
#: then for an opaque file OpenCV's BGR copy (3; see ``ris_local.features.decoding``),
#: for one with transparency Pillow's frame bytes and its image (4 + 4).
_WEBP_BYTES = {"RGB": 7, "RGBA": 12}
#: Rows of one band when reducing: enough to keep the band's copies to a few MB.
_BAND_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class SourceFile:
    """The file an image was read from: its resolved path, size and modification time."""

    path: Path
    size: int
    mtime_ns: int

    @property
    def modified(self) -> datetime.datetime:
        """The modification time, in UTC."""
        return datetime.datetime.fromtimestamp(self.mtime_ns / 1e9, datetime.UTC)


@dataclass(frozen=True, slots=True)
class ImageData:
    """Checked image bytes with the facts read from their header.

    ``data`` is exactly what the caller supplied (a ``PIL.Image`` is stored as PNG),
    ``sha256`` its hex digest. ``preprocessing`` is applied by :meth:`decode`.
    ``source`` is the file it was read from, if any. ``by_reference`` asks a backend
    with :attr:`~ris_core.backend.Capability.REFERENCES` to keep only ``source``
    rather than the bytes.
    """

    data: bytes = field(repr=False)
    format: str
    width: int
    height: int
    sha256: str
    preprocessing: tuple[PreprocessStep, ...] = field(default=(), repr=False, compare=False)
    source: SourceFile | None = field(default=None, compare=False)
    by_reference: bool = field(default=False, compare=False)

    def with_preprocessing(self, steps: Sequence[PreprocessStep]) -> ImageData:
        """Return the same image with ``steps`` as its preprocessing chain."""
        return replace(self, preprocessing=tuple(steps))

    def decode(self, *, draft_size: tuple[int, int] | None = None, like_draft: bool = False) -> Image.Image:
        """Decode the pixels and run the preprocessing chain.

        ``draft_size`` lets JPEG decode at 1/2, 1/4 or 1/8 scale while staying at least
        that large. Other formats have no reduced decode: when they decode to more
        than :data:`REDUCE_ABOVE_PIXELS`, the full pixels are reduced band by band
        (still at least ``draft_size``) before any step runs, so no step makes a
        full-size copy. ``like_draft`` reduces them at any size, by the factor a JPEG
        draft of ``draft_size`` would take (1, 2, 4 or 8), so every format comes out
        at the size a JPEG of the same picture would. Callers that compare images must
        decode every image the same way, since reduced-scale decoding moves fine
        features.
        """
        try:
            # Not a ``with`` block: the pixels outlive the in-memory file, which the
            # garbage collector closes; loaded images never read from it again.
            opened = Image.open(io.BytesIO(self.data), formats=SUPPORTED_FORMATS)
            if draft_size is not None and opened.format in ("JPEG", "MPO"):
                opened.draft(None, draft_size)
            opened.load()
            pixels: Image.Image = _bounded(opened, draft_size, like_draft)
            del opened  # the full-size pixels go as soon as the reduced copy exists
            for step in self.preprocessing:
                pixels = step(pixels)
            return pixels
        except Image.DecompressionBombError as exc:
            raise ImageTooLargeError(f"image decodes to too many pixels: {exc}") from exc
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise InvalidImageError(
                f"the {self.format} image could not be decoded ({exc}); the file is probably truncated or corrupt"
            ) from exc


def decode_cost(image_format: str, mode: str, width: int, height: int) -> int:
    """Bytes the full-size pixels of a decode take at least, read from the header.

    JPEG decodes at 1/8 scale when it must, so its cost is that of the reduced decode.
    WebP costs more than its pixels: libwebp's animation decoder, which Pillow and
    OpenCV both use, keeps an RGBA canvas beside the picture it hands over.
    """
    if image_format in ("JPEG", "MPO"):
        width, height = -(-width // 8), -(-height // 8)
    if image_format == "WEBP":
        return width * height * _WEBP_BYTES.get(mode, _WEBP_BYTES["RGBA"])
    return width * height * _PIXEL_BYTES.get(mode, 4)


def load_image(
    source: ImageInput,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_decode_bytes: int = DEFAULT_MAX_DECODE_BYTES,
) -> ImageData:
    """Read ``source`` and check that it is an image ris can index.

    Raises :class:`~ris_core.errors.EmptyImageError` for zero bytes,
    :class:`~ris_core.errors.ImageTooLargeError` above ``max_pixels`` or ``max_bytes``
    or when decoding would hold more than ``max_decode_bytes`` of pixels, and
    :class:`~ris_core.errors.InvalidImageError` for anything else unreadable.
    """
    if isinstance(source, ImageData):
        return source
    data, origin = _read_bytes(source, max_bytes)
    if not data:
        raise EmptyImageError("the image is empty (0 bytes)")
    try:
        with Image.open(io.BytesIO(data), formats=SUPPORTED_FORMATS) as header:
            image_format = header.format or "UNKNOWN"
            width, height = header.size
            mode = header.mode
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(
            f"the image is over Pillow's decompression-bomb limit ({exc}); ris refuses it rather than decode it"
        ) from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise InvalidImageError(
            f"not a supported image ({len(data)} bytes); ris reads " + ", ".join(SUPPORTED_FORMATS)
        ) from exc
    if width < 1 or height < 1:
        raise InvalidImageError(f"the image has no pixels ({width}x{height})")
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"the image is {width}x{height} = {width * height:,} pixels, over the limit of "
            f"{max_pixels:,} (a decompression-bomb guard; raise max_pixels to allow it)"
        )
    cost = decode_cost(image_format, mode, width, height)
    if cost > max_decode_bytes:
        raise ImageTooLargeError(
            f"the {width}x{height} {image_format} image ({mode}) needs {cost / 2**20:,.0f} MiB to decode, over the "
            f"limit of {max_decode_bytes / 2**20:,.0f} MiB; {image_format} has no reduced decode "
            "(raise max_decode_bytes to allow it)"
        )
    return ImageData(
        data=data,
        format=image_format,
        width=width,
        height=height,
        sha256=hashlib.sha256(data).hexdigest(),
        source=origin,
    )


def _read_bytes(source: ImageInput, max_bytes: int) -> tuple[bytes, SourceFile | None]:
    origin = None
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    elif isinstance(source, Image.Image):
        data = _encode_pil(source)
    elif isinstance(source, str | os.PathLike):
        data, origin = _read_file(os.fspath(source), max_bytes)
    elif hasattr(source, "read"):
        chunk = source.read(max_bytes + 1)
        if not isinstance(chunk, bytes | bytearray):
            raise InvalidImageError("the file object must be opened in binary mode ('rb')")
        data = bytes(chunk)
    else:
        raise InvalidImageError(
            f"cannot read an image from {type(source).__name__}; pass bytes, a path, "
            "a binary file object or a PIL.Image"
        )
    if len(data) > max_bytes:
        raise ImageTooLargeError(f"the image is over {max_bytes:,} bytes")
    return data, origin


def _read_file(path: str, max_bytes: int) -> tuple[bytes, SourceFile]:
    try:
        with open(path, "rb") as handle:
            facts = os.fstat(handle.fileno())
            data = handle.read(max_bytes + 1)
            # Symlinks resolved: a file reached by several links is one source.
            return data, SourceFile(Path(os.path.realpath(path)), facts.st_size, facts.st_mtime_ns)
    except FileNotFoundError as exc:
        raise SourceNotFoundError(f"no such file: {path!r}") from exc
    except IsADirectoryError as exc:
        raise InvalidImageError(f"{path!r} is a directory, not an image file") from exc
    except OSError as exc:
        raise InvalidImageError(f"cannot read image file {path!r}: {exc.strerror}") from exc


def _encode_pil(image: Image.Image) -> bytes:
    # PNG keeps every pixel; modes PNG cannot hold are converted first.
    if image.mode not in {"1", "L", "LA", "P", "RGB", "RGBA", "I;16"}:
        has_alpha = "A" in image.getbands()
        image = image.convert("RGBA" if has_alpha else "RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def gray8(image: Image.Image) -> Image.Image:
    """A 16-bit or 32-bit grey image as 8-bit ``L``, scaled (not clipped as Pillow's
    ``convert`` does), one band of rows at a time so no full-size wide copy is made.

    16-bit modes span 0..65535; ``I`` and ``F`` span 0..65535 when any value is above
    255, else 0..255.
    """
    if image.mode.startswith("I;16"):
        top = 65535.0
    else:
        extrema = image.getextrema()
        top = 65535.0 if float(extrema[1]) > 255 else 255.0  # type: ignore[arg-type]
    out = Image.new("L", image.size)
    rows = max(1, _BAND_BYTES // (8 * image.width))
    for y in range(0, image.height, rows):
        band = np.asarray(image.crop((0, y, image.width, min(image.height, y + rows))), dtype=np.float64)
        out.paste(Image.fromarray(np.clip(band * (255.0 / top), 0, 255).astype(np.uint8), "L"), (0, y))
    return out


def _reduces_as_is(mode: str) -> bool:
    """Whether ``Image.reduce`` takes this mode without :func:`_reducible`'s conversion."""
    return mode not in ("1", "P") and not mode.startswith("I;16")


def _reducible(band: Image.Image) -> Image.Image:
    """A band in a mode ``Image.reduce`` takes, keeping colour and transparency."""
    if band.mode.startswith("I;16"):
        return gray8(band)
    if band.mode == "P":
        return band.convert("RGBA" if "transparency" in band.info else "RGB")
    if band.mode == "1":
        return band.convert("L")
    return band


def draft_factor(width: int, height: int, draft_size: tuple[int, int]) -> int:
    """The scale a JPEG draft of ``draft_size`` takes (Pillow's ``JpegImageFile.draft``):
    the largest of 8, 4, 2 and 1 that keeps both sides at least ``draft_size``."""
    ratio = min(width // max(1, draft_size[0]), height // max(1, draft_size[1]))
    return 8 if ratio >= 8 else 4 if ratio >= 4 else 2 if ratio >= 2 else 1


def within_reduce_bound(width: int, height: int, factor: int) -> int:
    """``factor``, raised until a reduction by it leaves at most :data:`REDUCE_ABOVE_PIXELS`
    pixels: never more than the threshold's worth, whatever was asked."""
    while (width // factor) * (height // factor) > REDUCE_ABOVE_PIXELS:
        factor += 1
    return factor


def like_draft_factor(width: int, height: int, draft_size: tuple[int, int]) -> int:
    """The factor :meth:`ImageData.decode` with ``like_draft`` reduces a non-JPEG by:
    :func:`draft_factor`, within :data:`REDUCE_ABOVE_PIXELS`."""
    return within_reduce_bound(width, height, draft_factor(width, height, draft_size))


def _bounded(opened: Image.Image, draft_size: tuple[int, int] | None, like_draft: bool = False) -> Image.Image:
    """``opened``, or when it holds more than :data:`REDUCE_ABOVE_PIXELS`, a copy reduced
    by the largest integer factor that keeps it at least ``draft_size``, made band by
    band so it costs a few MB beyond the decoded pixels. ``like_draft`` reduces at any
    size by :func:`draft_factor` (a JPEG, already drafted, has nothing left to take)."""
    width, height = opened.size
    wanted = draft_size or (1, 1)
    if like_draft and opened.format not in ("JPEG", "MPO"):
        factor = like_draft_factor(width, height, wanted)
    elif width * height <= REDUCE_ABOVE_PIXELS:
        return opened
    else:
        factor = within_reduce_bound(
            width, height, max(1, min(width // max(1, wanted[0]), height // max(1, wanted[1])))
        )
    if factor == 1:
        return opened
    if width * height <= REDUCE_ABOVE_PIXELS and _reduces_as_is(opened.mode):
        out = opened.reduce(factor)  # small enough to reduce in one call, no band copies
    else:
        first = _reducible(opened.crop((0, 0, width, min(height, factor))))
        out = Image.new(first.mode, (-(-width // factor), -(-height // factor)))
        rows = factor * max(1, _BAND_BYTES // (4 * width * factor))
        for y in range(0, height, rows):
            band = _reducible(opened.crop((0, y, width, min(height, y + rows))))
            out.paste(band.reduce(factor), (0, y // factor))
    out.info = {key: value for key, value in opened.info.items() if key != "transparency"}
    exif = opened.getexif()
    if exif and "exif" not in out.info:
        out.info["exif"] = exif.tobytes()  # so the orientation step still sees it
    return out
