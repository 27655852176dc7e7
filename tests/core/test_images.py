"""Reading image inputs: every accepted form, every refusal, and the preprocessing steps."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ris_core import errors
from ris_core.images import load_image
from ris_core.preprocess import (
    DEFAULT_STEPS,
    apply_exif_orientation,
    flatten_transparency,
    normalize_mode,
    trim_borders,
)
from ris_core.testing.images import bomb_png, encode, not_an_image, photo, truncated_jpeg


def test_header_facts_and_hash_are_read_without_decoding() -> None:
    data = encode(photo(1), "JPEG", quality=80)
    image = load_image(data)
    assert (image.format, image.width, image.height) == ("JPEG", 320, 240)
    assert image.data == data and len(image.sha256) == 64


def test_every_input_form_gives_the_same_bytes(tmp_path: Path) -> None:
    data = encode(photo(2))
    path = tmp_path / "p.png"
    path.write_bytes(data)
    forms = [data, bytearray(data), memoryview(data), path, str(path), io.BytesIO(data)]
    assert {load_image(form).sha256 for form in forms} == {load_image(data).sha256}


def test_pil_images_are_stored_losslessly_as_png() -> None:
    image = load_image(photo(3))
    assert image.format == "PNG"
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(image.data))), np.asarray(photo(3)))


def test_cmyk_pil_image_is_accepted() -> None:
    assert load_image(photo(3).convert("CMYK")).format == "PNG"


@pytest.mark.parametrize(
    ("data", "error", "message"),
    [
        (b"", errors.EmptyImageError, "empty"),
        (not_an_image(), errors.InvalidImageError, "not a supported image"),
        (bomb_png(), errors.ImageTooLargeError, "decompression-bomb"),
    ],
)
def test_refusals_happen_before_decoding(data: bytes, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        load_image(data)


def test_pixel_limit_is_configurable() -> None:
    data = encode(photo(1))
    with pytest.raises(errors.ImageTooLargeError, match="76,800 pixels"):
        load_image(data, max_pixels=1000)
    assert load_image(data, max_pixels=320 * 240).width == 320


def test_truncated_jpeg_fails_on_decode_with_a_typed_error() -> None:
    image = load_image(truncated_jpeg())
    with pytest.raises(errors.InvalidImageError, match="truncated"):
        image.decode()


def test_formats_outside_the_allow_list_are_refused() -> None:
    buffer = io.BytesIO()
    photo(1).save(buffer, format="PPM")
    with pytest.raises(errors.InvalidImageError):
        load_image(buffer.getvalue())


def test_text_mode_file_objects_are_refused() -> None:
    with pytest.raises(errors.InvalidImageError, match="binary mode"):
        load_image(io.StringIO("abc"))  # type: ignore[arg-type]


def test_directory_is_not_an_image(tmp_path: Path) -> None:
    with pytest.raises(errors.InvalidImageError, match="directory"):
        load_image(tmp_path)


def test_draft_decoding_is_at_least_the_requested_size() -> None:
    big = load_image(encode(photo(1, (1600, 1200)), "JPEG", quality=90))
    small = big.decode(draft_size=(200, 150))
    assert 200 <= small.width < 1600 and 150 <= small.height < 1200


def test_like_draft_reduces_other_formats_as_a_jpeg_draft_would() -> None:
    picture = photo(1, (1600, 1200))
    png, jpeg = load_image(encode(picture, "PNG")), load_image(encode(picture, "JPEG", quality=90))
    assert png.decode(draft_size=(200, 150)).size == (1600, 1200)  # unchanged without it
    assert png.decode(draft_size=(200, 150), like_draft=True).size == (200, 150)  # 1/8, as the JPEG's draft
    assert jpeg.decode(draft_size=(200, 150), like_draft=True).size == (200, 150)
    assert png.decode(draft_size=(500, 300), like_draft=True).size == (800, 600)  # 1/2 keeps 500 wide


# --- preprocessing ------------------------------------------------------------------


def test_exif_orientation_is_applied() -> None:
    image = photo(1)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    data = encode(image, "JPEG", quality=95, exif=exif.tobytes())  # type: ignore[arg-type]
    upright = load_image(data).with_preprocessing([apply_exif_orientation]).decode()
    assert upright.size == (240, 320)


def test_transparency_is_flattened_onto_white() -> None:
    clear = Image.new("RGBA", (4, 4), (255, 0, 0, 0))
    flattened = flatten_transparency(clear)
    assert flattened.mode == "RGB" and flattened.getpixel((0, 0)) == (255, 255, 255)


@pytest.mark.parametrize("mode", ["CMYK", "P", "1", "LA", "I;16", "RGBA", "L", "RGB"])
def test_every_mode_becomes_rgb_or_grey(mode: str) -> None:
    source = photo(4).convert(mode) if mode != "I;16" else _sixteen_bit_grey()[1]
    image = load_image(source).with_preprocessing(DEFAULT_STEPS).decode()
    assert image.mode in ("RGB", "L")


def _sixteen_bit_grey() -> tuple[np.ndarray, Image.Image]:
    grey = np.asarray(photo(4).convert("L"), dtype=np.uint16)
    wide = Image.fromarray(grey * 257)
    assert wide.mode == "I;16"
    return grey, wide


def test_16_bit_grey_is_scaled_not_clipped() -> None:
    grey, wide = _sixteen_bit_grey()
    assert np.abs(np.asarray(normalize_mode(wide), dtype=int) - grey).max() <= 1


def test_trim_borders_removes_a_uniform_frame() -> None:
    framed = Image.new("RGB", (400, 300), (0, 0, 0))
    framed.paste(photo(5), (40, 30))
    assert trim_borders(framed).size == (320, 240)
    assert trim_borders(photo(5)).size == (320, 240)


def test_a_webp_is_charged_what_its_decoder_holds() -> None:
    picture = photo(2, (1000, 1000))
    # 4 MB of RGB pixels either way, but libwebp's canvas comes on top for a WebP (7 bytes a pixel).
    assert load_image(encode(picture, "PNG"), max_decode_bytes=6_000_000).format == "PNG"
    with pytest.raises(errors.ImageTooLargeError, match="WEBP"):
        load_image(encode(picture, "WEBP"), max_decode_bytes=6_000_000)
