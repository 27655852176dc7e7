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
    ("png_no_draft", "none", "robust"): "83cfec2a1d4016976382001b68de464c0534db7398bccf391edbfa026e71e7a7",
    ("png_no_draft", "none", "hashes"): "cb18403adf433144b9f822d804ee7248ff0878f5559828d3837563eab9f3bfe9",
    ("png_no_draft", "default", "robust"): "83cfec2a1d4016976382001b68de464c0534db7398bccf391edbfa026e71e7a7",
    ("png_no_draft", "default", "hashes"): "cb18403adf433144b9f822d804ee7248ff0878f5559828d3837563eab9f3bfe9",
    ("jpeg_no_draft", "none", "robust"): "df7c091e9ee561c1c13d9719ff3704e689ebd4b651f921222775154594c8a714",
    ("jpeg_no_draft", "none", "hashes"): "1dc067db3af9dfbe7789e405299609a65f07aaef7d1f63ceaeba969575a3d5a6",
    ("jpeg_no_draft", "default", "robust"): "df7c091e9ee561c1c13d9719ff3704e689ebd4b651f921222775154594c8a714",
    ("jpeg_no_draft", "default", "hashes"): "1dc067db3af9dfbe7789e405299609a65f07aaef7d1f63ceaeba969575a3d5a6",
    ("jpeg_draft", "none", "robust"): "f6658d853a4f0d5b8b564ae7d3e5b5ee6dd61fd4b8a677ab4f9b55e1163aa54c",
    ("jpeg_draft", "none", "hashes"): "96ffa615a9e9aa5823417aebcf28e542b37a8e155f0d8529152178887348e2ce",
    ("jpeg_draft", "default", "robust"): "f6658d853a4f0d5b8b564ae7d3e5b5ee6dd61fd4b8a677ab4f9b55e1163aa54c",
    ("jpeg_draft", "default", "hashes"): "96ffa615a9e9aa5823417aebcf28e542b37a8e155f0d8529152178887348e2ce",
    ("png_like_a_draft", "none", "robust"): "ca35e55678d77146f3ba0af5690b02247a3b1dd5ec55255c4d9f4738ab51fdab",
    ("png_like_a_draft", "none", "hashes"): "96ffa615a9e9aa5823417aebcf28e542b37a8e155f0d8529152178887348e2ce",
    ("png_like_a_draft", "default", "robust"): "ca35e55678d77146f3ba0af5690b02247a3b1dd5ec55255c4d9f4738ab51fdab",
    ("png_like_a_draft", "default", "hashes"): "96ffa615a9e9aa5823417aebcf28e542b37a8e155f0d8529152178887348e2ce",
    ("webp_opencv", "none", "robust"): "bee742b11421146608a0dae3508b46a57a5de58ada091afc32d27eed7d38b9ac",
    ("webp_opencv", "none", "hashes"): "96ffa615a9e9aa5823417aebcf28e542b37a8e155f0d8529152178887348e2ce",
    ("webp_opencv", "default", "robust"): "bee742b11421146608a0dae3508b46a57a5de58ada091afc32d27eed7d38b9ac",
    ("webp_opencv", "default", "hashes"): "96ffa615a9e9aa5823417aebcf28e542b37a8e155f0d8529152178887348e2ce",
    ("grey_jpeg", "none", "robust"): "e9cdafedfc8878234e19c98ff1fe110035d38076ad1af293fbadf074e12cec9a",
    ("grey_jpeg", "none", "hashes"): "f9e03b579a6f20c48f40eeb2df4174cb9c5cf409b8662c23a6e1b310626d3184",
    ("grey_jpeg", "default", "robust"): "e9cdafedfc8878234e19c98ff1fe110035d38076ad1af293fbadf074e12cec9a",
    ("grey_jpeg", "default", "hashes"): "f9e03b579a6f20c48f40eeb2df4174cb9c5cf409b8662c23a6e1b310626d3184",
    ("borders", "none", "robust"): "b0d30a7a03b69b16eafd1cff567251448347821b03f0797b641f46783c486746",
    ("borders", "none", "hashes"): "4f407ce7fd519289a46a8186a7f52818612993f157cf069493eda8e6c2b4d3db",
    ("borders", "default", "robust"): "b0d30a7a03b69b16eafd1cff567251448347821b03f0797b641f46783c486746",
    ("borders", "default", "hashes"): "4f407ce7fd519289a46a8186a7f52818612993f157cf069493eda8e6c2b4d3db",
    ("smooth", "none", "robust"): "41f9bdd945418cc61312b451c9b032c60ee5cdba4602fef2f74d3a67a3c7bc27",
    ("smooth", "none", "hashes"): "b1e4e2e0d3495894f8dcdce6287319005c12168c0da3129ada4b881b8d2b2d42",
    ("smooth", "default", "robust"): "41f9bdd945418cc61312b451c9b032c60ee5cdba4602fef2f74d3a67a3c7bc27",
    ("smooth", "default", "hashes"): "b1e4e2e0d3495894f8dcdce6287319005c12168c0da3129ada4b881b8d2b2d42",
    ("thin_strip", "none", "robust"): "a56def362c7d24c1751f83077c592159d57747f92891439fc1e22b18a9cfc955",
    ("thin_strip", "none", "hashes"): "9f72f0661e053c691aab53b2c942cce289e7e5ef6946c8c197f3807e1999cc79",
    ("thin_strip", "default", "robust"): "a56def362c7d24c1751f83077c592159d57747f92891439fc1e22b18a9cfc955",
    ("thin_strip", "default", "hashes"): "9f72f0661e053c691aab53b2c942cce289e7e5ef6946c8c197f3807e1999cc79",
    ("transparent", "none", "robust"): "f82fb0d064527dc36b17d0f1b753d3247d2f4900d3cb27183c0dbd7b778d7bb7",
    ("transparent", "none", "hashes"): "ea73f01245d18722b62e325846f5061721828cf14a3b5db794cfd733ced806de",
    ("transparent", "default", "robust"): "f82fb0d064527dc36b17d0f1b753d3247d2f4900d3cb27183c0dbd7b778d7bb7",
    ("transparent", "default", "hashes"): "ea73f01245d18722b62e325846f5061721828cf14a3b5db794cfd733ced806de",
    ("exif_rotated", "none", "robust"): "a81848ced00d2e001ef604fef37a50e238df528a18c9fdfaaae6599a843959a8",
    ("exif_rotated", "none", "hashes"): "96ffa615a9e9aa5823417aebcf28e542b37a8e155f0d8529152178887348e2ce",
    ("exif_rotated", "default", "robust"): "bcd9153f06cadabdacb60ffdec3fed1e78ddbfc95e26c29fe14ba5ae027a195c",
    ("exif_rotated", "default", "hashes"): "636fb106a2ffa78e5330cc3308d4695aab53921cc121182599c6c76d46883c87",
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
