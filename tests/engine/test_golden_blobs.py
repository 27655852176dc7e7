"""Whole feature blobs pinned, byte for byte, through the engine's public ``extract``.

The golden tests beside this file pin chosen fields of one picture's features; these pin
every byte the engine stores, for pictures that take each path of the extraction: no
draft, a JPEG draft, a PNG reduced like one, OpenCV's WebP decode, a grey JPEG, uniform
borders, a smooth picture (ORB's sensitive retry), a strip too thin for keypoints,
transparency, an EXIF rotation. Work that only makes extraction faster must leave every
digest here unchanged; a change of the engine's features (and of its version) re-pins them.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable

import numpy as np
import pytest
import skimage.data as skimage_data
from PIL import Image

from ris_core.images import load_image
from ris_core.preprocess import DEFAULT_STEPS
from ris_local.robust import HashStageEngine, RobustEngine

from .conftest import encode


def _large() -> Image.Image:
    return Image.fromarray(skimage_data.astronaut()).resize((2048, 1536), Image.Resampling.BICUBIC)


def _save(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _grey_jpeg() -> bytes:
    return _save(Image.fromarray(skimage_data.camera()).resize((1200, 1200), Image.Resampling.BICUBIC), "JPEG")


def _letterboxed() -> bytes:
    coffee = skimage_data.coffee()  # 400 x 600
    framed = np.zeros((640, 760, 3), np.uint8)
    framed[120:520, 80:680] = coffee
    return encode(Image.fromarray(framed), "JPEG", 92)


def _smooth() -> bytes:
    """A ramp with faint ripples: ORB's first corner test finds almost nothing on it."""
    ys, xs = np.mgrid[0:400, 0:600].astype(np.float64)
    ripples = 3 * (
        np.sin(xs / 7.3 + ys / 11.1) * np.cos(ys / 5.7 - xs / 13.9) + 0.5 * np.sin((xs * xs + ys * ys) / 900)
    )
    grey = xs * 200 / 599 + 20 + ripples
    pixels = np.stack([grey, grey * 0.9, grey * 0.8 + 30], axis=2).clip(0, 255).astype(np.uint8)
    return encode(Image.fromarray(pixels), "PNG")


def _strip() -> bytes:
    return encode(Image.fromarray(skimage_data.chelsea()[:10]), "PNG")


def _transparent() -> bytes:
    rgba = Image.fromarray(skimage_data.chelsea()).convert("RGBA")
    alpha = np.tile(np.linspace(0, 255, rgba.width, dtype=np.uint8), (rgba.height, 1))
    rgba.putalpha(Image.fromarray(alpha))
    return _save(rgba, "PNG")


def _rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: turn 90 degrees clockwise to view
    return _save(_large().resize((1024, 768)), "JPEG", quality=85, exif=exif.tobytes())


#: How each picture's file is made.
PICTURES: dict[str, Callable[[], bytes]] = {
    "png_no_draft": lambda: encode(Image.fromarray(skimage_data.astronaut()), "PNG"),
    "jpeg_no_draft": lambda: encode(Image.fromarray(skimage_data.astronaut()), "JPEG", 90),
    "jpeg_draft": lambda: encode(_large(), "JPEG"),
    "png_like_a_draft": lambda: encode(_large(), "PNG"),
    "webp_opencv": lambda: encode(_large(), "WEBP"),
    "grey_jpeg": _grey_jpeg,
    "borders": _letterboxed,
    "smooth": _smooth,
    "thin_strip": _strip,
    "transparent": _transparent,
    "exif_rotated": _rotated,
}

#: (picture, preprocessing, engine) -> sha256 of the blob. "none" is how ``load_image``
#: leaves an image; "default" is the chain the backend applies unless told otherwise.
DIGESTS: dict[tuple[str, str, str], str] = {
    ("png_no_draft", "none", "robust"): "48feaf0a9fef0e3b4f083ecb51d8b5e712bd8aaf02caca49b756698ee66a539f",
    ("png_no_draft", "none", "hashes"): "d2428bc3bcef2c7c04aecb2d0beec69ea1eefd0b5d401770115bbf85afb41eca",
    ("png_no_draft", "default", "robust"): "48feaf0a9fef0e3b4f083ecb51d8b5e712bd8aaf02caca49b756698ee66a539f",
    ("png_no_draft", "default", "hashes"): "d2428bc3bcef2c7c04aecb2d0beec69ea1eefd0b5d401770115bbf85afb41eca",
    ("jpeg_no_draft", "none", "robust"): "f36a5ca84f37f71202effc237aacb924684c2deb2e52c659c6f1b3076812a9e4",
    ("jpeg_no_draft", "none", "hashes"): "a0fc3f86a73289611c65736004a4295af102a77d48a4e1523bed75c061dcc559",
    ("jpeg_no_draft", "default", "robust"): "f36a5ca84f37f71202effc237aacb924684c2deb2e52c659c6f1b3076812a9e4",
    ("jpeg_no_draft", "default", "hashes"): "a0fc3f86a73289611c65736004a4295af102a77d48a4e1523bed75c061dcc559",
    ("jpeg_draft", "none", "robust"): "20d957b58080b3b00b57ce55e4bb15d13c27a128845f06fb4c5777bace180f36",
    ("jpeg_draft", "none", "hashes"): "c1f89e38fdd773e51d2c04373e47916d082a8706dc4148c1a4ddea41799b0c01",
    ("jpeg_draft", "default", "robust"): "20d957b58080b3b00b57ce55e4bb15d13c27a128845f06fb4c5777bace180f36",
    ("jpeg_draft", "default", "hashes"): "c1f89e38fdd773e51d2c04373e47916d082a8706dc4148c1a4ddea41799b0c01",
    ("png_like_a_draft", "none", "robust"): "b06095e13b80186f12dc406d0b79c68e3547d47cf322652423b5493e35c731ec",
    ("png_like_a_draft", "none", "hashes"): "c1f89e38fdd773e51d2c04373e47916d082a8706dc4148c1a4ddea41799b0c01",
    ("png_like_a_draft", "default", "robust"): "b06095e13b80186f12dc406d0b79c68e3547d47cf322652423b5493e35c731ec",
    ("png_like_a_draft", "default", "hashes"): "c1f89e38fdd773e51d2c04373e47916d082a8706dc4148c1a4ddea41799b0c01",
    ("webp_opencv", "none", "robust"): "918058ab2e8cfdab3341b5db959a08412c7b0c7851c0bba0e3cf9efba3341ad2",
    ("webp_opencv", "none", "hashes"): "c1f89e38fdd773e51d2c04373e47916d082a8706dc4148c1a4ddea41799b0c01",
    ("webp_opencv", "default", "robust"): "918058ab2e8cfdab3341b5db959a08412c7b0c7851c0bba0e3cf9efba3341ad2",
    ("webp_opencv", "default", "hashes"): "c1f89e38fdd773e51d2c04373e47916d082a8706dc4148c1a4ddea41799b0c01",
    ("grey_jpeg", "none", "robust"): "a071e4f3d3da47b7716bcc55217bd0d759966c40e9fe9b5792dd88e0e21012b7",
    ("grey_jpeg", "none", "hashes"): "97f74deb710d2353f5940e19fca0b0d61ecf096848f2a30bbb9c517cbd4e5438",
    ("grey_jpeg", "default", "robust"): "a071e4f3d3da47b7716bcc55217bd0d759966c40e9fe9b5792dd88e0e21012b7",
    ("grey_jpeg", "default", "hashes"): "97f74deb710d2353f5940e19fca0b0d61ecf096848f2a30bbb9c517cbd4e5438",
    ("borders", "none", "robust"): "2e4c79fa040ffe6a66b24bdff090464de23acb4a15328a7ff802d8139350ae52",
    ("borders", "none", "hashes"): "c7b2320dd39ff1c8009f612de4bc1aafaab827a3d4f4f322d598a80e6afa992a",
    ("borders", "default", "robust"): "2e4c79fa040ffe6a66b24bdff090464de23acb4a15328a7ff802d8139350ae52",
    ("borders", "default", "hashes"): "c7b2320dd39ff1c8009f612de4bc1aafaab827a3d4f4f322d598a80e6afa992a",
    ("smooth", "none", "robust"): "8bb34b17c109a615b1516610cba38497fb1d43a6a979ce09c587407ff6048ce5",
    ("smooth", "none", "hashes"): "a1b9531b1f97b14b8c8ff5e853eb526ab9d97ee223f8a92daed6fde7bbb9d0a4",
    ("smooth", "default", "robust"): "8bb34b17c109a615b1516610cba38497fb1d43a6a979ce09c587407ff6048ce5",
    ("smooth", "default", "hashes"): "a1b9531b1f97b14b8c8ff5e853eb526ab9d97ee223f8a92daed6fde7bbb9d0a4",
    ("thin_strip", "none", "robust"): "556f5f5538ebeed3360f43027561af617d7f046d3595d832666c1a58c9b88f35",
    ("thin_strip", "none", "hashes"): "311f1d04b570de210747d59dbcb963fa373f07cc360b758fb4f10ffb2583983d",
    ("thin_strip", "default", "robust"): "556f5f5538ebeed3360f43027561af617d7f046d3595d832666c1a58c9b88f35",
    ("thin_strip", "default", "hashes"): "311f1d04b570de210747d59dbcb963fa373f07cc360b758fb4f10ffb2583983d",
    ("transparent", "none", "robust"): "68a3f3da94b591f42160201b56dd75439516e46f5c189478922addb5f45a6b69",
    ("transparent", "none", "hashes"): "d00213ba0e34a16cc973ec0b8932f97c4a65838aa31e3e779544876da144fffa",
    ("transparent", "default", "robust"): "68a3f3da94b591f42160201b56dd75439516e46f5c189478922addb5f45a6b69",
    ("transparent", "default", "hashes"): "d00213ba0e34a16cc973ec0b8932f97c4a65838aa31e3e779544876da144fffa",
    ("exif_rotated", "none", "robust"): "ddee23f47a48fec4016de7f6db97d592daffb3104bb6e0a40d10b2c661bc261e",
    ("exif_rotated", "none", "hashes"): "c1f89e38fdd773e51d2c04373e47916d082a8706dc4148c1a4ddea41799b0c01",
    ("exif_rotated", "default", "robust"): "e7543f388e33aacbf7f93398415058fd997604a45cb4021cb867ea1d267b0cbb",
    ("exif_rotated", "default", "hashes"): "f824f11945ad1fd45bc5c04f164677809e09d6f65e50663263a53286eef4a9da",
}

_STEPS = {"none": (), "default": DEFAULT_STEPS}
_ENGINES = {"robust": RobustEngine(), "hashes": HashStageEngine()}


@pytest.mark.parametrize("key", sorted(DIGESTS), ids="/".join)
def test_every_stored_byte_is_pinned(key: tuple[str, str, str]) -> None:
    picture, steps, engine = key
    image = load_image(PICTURES[picture]()).with_preprocessing(_STEPS[steps])
    assert hashlib.sha256(_ENGINES[engine].extract(image)).hexdigest() == DIGESTS[key]


def test_every_picture_is_pinned_both_ways() -> None:
    assert {key[0] for key in DIGESTS} == set(PICTURES)
    assert len(DIGESTS) == len(PICTURES) * len(_STEPS) * len(_ENGINES)
