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

import hashlib
import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import IO, TypeAlias

from PIL import Image

from ris_core.errors import EmptyImageError, ImageTooLargeError, InvalidImageError, SourceNotFoundError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PIXELS",
    "SUPPORTED_FORMATS",
    "ImageData",
    "ImageInput",
    "PreprocessStep",
    "load_image",
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


@dataclass(frozen=True, slots=True)
class ImageData:
    """Checked image bytes with the facts read from their header.

    ``data`` is exactly what the caller supplied (a ``PIL.Image`` is stored as PNG),
    ``sha256`` its hex digest. ``preprocessing`` is applied by :meth:`decode`.
    """

    data: bytes = field(repr=False)
    format: str
    width: int
    height: int
    sha256: str
    preprocessing: tuple[PreprocessStep, ...] = field(default=(), repr=False, compare=False)

    def with_preprocessing(self, steps: Sequence[PreprocessStep]) -> ImageData:
        """Return the same image with ``steps`` as its preprocessing chain."""
        return replace(self, preprocessing=tuple(steps))

    def decode(self, *, draft_size: tuple[int, int] | None = None) -> Image.Image:
        """Decode the pixels and run the preprocessing chain.

        ``draft_size`` lets JPEG decode at 1/2, 1/4 or 1/8 scale while staying at least
        that large; other formats ignore it. Callers that compare images must decode
        every image the same way, since reduced-scale decoding moves fine features.
        """
        try:
            # Not a ``with`` block: the pixels outlive the in-memory file, which the
            # garbage collector closes; loaded images never read from it again.
            opened = Image.open(io.BytesIO(self.data), formats=SUPPORTED_FORMATS)
            if draft_size is not None and opened.format in ("JPEG", "MPO"):
                opened.draft(None, draft_size)
            opened.load()
            pixels: Image.Image = opened
            for step in self.preprocessing:
                pixels = step(pixels)
            return pixels
        except Image.DecompressionBombError as exc:
            raise ImageTooLargeError(f"image decodes to too many pixels: {exc}") from exc
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise InvalidImageError(
                f"the {self.format} image could not be decoded ({exc}); the file is probably truncated or corrupt"
            ) from exc


def load_image(
    source: ImageInput,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> ImageData:
    """Read ``source`` and check that it is an image ris can index.

    Raises :class:`~ris_core.errors.EmptyImageError` for zero bytes,
    :class:`~ris_core.errors.ImageTooLargeError` above ``max_pixels`` or ``max_bytes``,
    and :class:`~ris_core.errors.InvalidImageError` for anything else unreadable.
    """
    if isinstance(source, ImageData):
        return source
    data = _read_bytes(source, max_bytes)
    if not data:
        raise EmptyImageError("the image is empty (0 bytes)")
    try:
        with Image.open(io.BytesIO(data), formats=SUPPORTED_FORMATS) as header:
            image_format = header.format or "UNKNOWN"
            width, height = header.size
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
    return ImageData(
        data=data,
        format=image_format,
        width=width,
        height=height,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _read_bytes(source: ImageInput, max_bytes: int) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
    elif isinstance(source, Image.Image):
        data = _encode_pil(source)
    elif isinstance(source, str | os.PathLike):
        data = _read_file(os.fspath(source), max_bytes)
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
    return data


def _read_file(path: str, max_bytes: int) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(max_bytes + 1)
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
