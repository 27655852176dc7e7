"""Deterministic test images for the contract suite, made with Pillow and numpy only.

:func:`photo` draws a photograph-like picture from a seed: a smooth colour field with a
few shapes, different in its low frequencies from every other seed, so any perceptual
method tells two seeds apart while a re-encoded or resized copy stays close. The
``*_bytes`` helpers produce the bad inputs every backend must refuse.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance

__all__ = [
    "bomb_png",
    "encode",
    "near_copy",
    "not_an_image",
    "photo",
    "truncated_jpeg",
]


def photo(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A photograph-like RGB image, the same for the same seed on every platform."""
    rng = np.random.default_rng(seed)
    field = (rng.random((4, 5, 3)) * 255).astype(np.uint8)
    image = Image.fromarray(field, "RGB").resize(size, Image.Resampling.BICUBIC)
    draw = ImageDraw.Draw(image)
    width, height = size
    for _ in range(4):
        x0, y0 = int(rng.integers(0, width * 3 // 4)), int(rng.integers(0, height * 3 // 4))
        x1 = x0 + int(rng.integers(width // 8, width // 3))
        y1 = y0 + int(rng.integers(height // 8, height // 3))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    return image


def near_copy(image: Image.Image) -> Image.Image:
    """What a person calls the same picture: smaller, slightly brighter, re-encoded."""
    smaller = image.resize((image.width * 3 // 4, image.height * 3 // 4), Image.Resampling.LANCZOS)
    brighter = ImageEnhance.Brightness(smaller).enhance(1.06)
    return Image.open(io.BytesIO(encode(brighter, "JPEG", quality=70))).convert("RGB")


def encode(image: Image.Image, image_format: str = "PNG", **params: int) -> bytes:
    """The image saved in ``image_format``."""
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **params)
    return buffer.getvalue()


def truncated_jpeg(seed: int = 99) -> bytes:
    """A JPEG cut off halfway through its scan data."""
    data = encode(photo(seed), "JPEG", quality=90)
    return data[: len(data) // 2]


def not_an_image() -> bytes:
    """Bytes that no image decoder accepts."""
    return b"This is a text file, not a picture.\n" * 20


def bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A tiny, valid PNG that declares ``width`` x ``height`` pixels (a decompression bomb).

    Built by hand so it is a few hundred bytes instead of the gigabyte it unpacks to.
    """

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    row = b"\x00" + b"\x00" * ((width + 7) // 8)
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(64)) + compressor.flush()
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
