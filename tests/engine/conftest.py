"""Shared images for the engine tests: scikit-image's bundled photographs, encoded once."""

from __future__ import annotations

import io

import numpy as np
import pytest
import skimage.data as skimage_data
from PIL import Image


def encode(image: Image.Image, fmt: str = "JPEG", quality: int = 90) -> bytes:
    """Image bytes in ``fmt``."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, fmt, **({"quality": quality} if fmt == "JPEG" else {}))
    return buffer.getvalue()


@pytest.fixture(scope="session")
def astronaut() -> Image.Image:
    """A 512x512 colour photograph."""
    return Image.fromarray(skimage_data.astronaut())


@pytest.fixture(scope="session")
def photos() -> dict[str, Image.Image]:
    """Several unrelated photographs."""
    names = ("astronaut", "camera", "coffee", "chelsea", "rocket", "motorcycle_left")
    out = {}
    for name in names:
        pixels = np.asarray(
            getattr(skimage_data, name)() if name != "motorcycle_left" else skimage_data.stereo_motorcycle()[0]
        )
        out[name] = Image.fromarray(pixels).convert("RGB")
    return out
