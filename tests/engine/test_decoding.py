"""One decode per image: every format comes out at a JPEG draft's size, and the views
the stages read (hash view, keypoint image, chroma) come from that one decode."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from ris_core.errors import InvalidImageError
from ris_core.images import load_image
from ris_local.features import decoding, jpegscans, keypoints, layout

from .conftest import encode


@pytest.fixture(scope="module")
def large(astronaut: Image.Image) -> Image.Image:
    """The astronaut at 2048x1536: a 1/4 draft keeps the keypoint stage's 384 pixels."""
    return astronaut.resize((2048, 1536), Image.Resampling.BICUBIC)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_every_format_decodes_once_at_a_jpeg_drafts_size(large: Image.Image, fmt: str) -> None:
    decoded = decoding.decode(load_image(encode(large, fmt)), keypoints.WORK_SIDE)
    assert decoded.gray.shape == (384, 512) and decoded.scale == 4
    assert decoded.rgb().shape == (384, 512, 3)
    # The hash view is the decode reduced to what a 1/8 draft gives.
    assert decoding.hash_view(decoded, layout.HASH_SIDE).shape == (192, 256)


def test_a_jpeg_decodes_to_libjpegs_own_grey(large: Image.Image) -> None:
    data = encode(large, "JPEG")
    decoded = decoding.decode(load_image(data), keypoints.WORK_SIDE)
    grey = Image.open(io.BytesIO(data))
    grey.draft("L", (512, 384))
    assert np.array_equal(decoded.gray, np.asarray(grey))


def test_formats_of_one_picture_give_nearly_the_same_features(large: Image.Image) -> None:
    jpeg, png = (layout.extract(load_image(encode(large, fmt))) for fmt in ("JPEG", "PNG"))
    assert jpeg.size == png.size
    assert (jpeg.codes.dct ^ png.codes.dct).bit_count() <= 4
    assert np.abs(jpeg.chroma.astype(int) - png.chroma).max() <= 6


def test_index_and_query_paths_hash_identically(large: Image.Image) -> None:
    from ris_local.robust import HashStageEngine, RobustEngine

    for engine in (RobustEngine(), HashStageEngine()):
        blob = engine.extract(load_image(encode(large, "PNG")))
        assert engine.extract(load_image(encode(large, "PNG"))) == blob
    # The hash stage alone decodes smaller, so its codes are the robust engine's up to rounding.
    alone = layout.from_blob(HashStageEngine().extract(load_image(encode(large, "PNG")))).codes
    robust = layout.from_blob(RobustEngine().extract(load_image(encode(large, "PNG")))).codes
    assert (alone.dct ^ robust.dct).bit_count() + (alone.gradient ^ robust.gradient).bit_count() <= 3


def test_a_truncated_jpeg_fails_with_a_typed_error(large: Image.Image) -> None:
    data = encode(large, "JPEG")
    image = load_image(data[: len(data) // 2])
    with pytest.raises(InvalidImageError, match="truncated or corrupt"):
        layout.extract(image)


def test_the_default_steps_turn_a_jpeg_upright(large: Image.Image) -> None:
    from ris_core.preprocess import DEFAULT_STEPS

    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # stored on its side: turn 90 degrees clockwise to view
    large.save(buffer, "JPEG", quality=90, exif=exif.tobytes())
    image = load_image(buffer.getvalue()).with_preprocessing(DEFAULT_STEPS)
    decoded = decoding.decode(image, keypoints.WORK_SIDE)
    assert decoded.gray.shape == (512, 384) and decoded.rgb().shape == (512, 384, 3)
    assert decoded.scale == 4


def test_a_transparent_webp_is_flattened_onto_white_and_a_cut_one_fails(large: Image.Image) -> None:
    rgba = large.convert("RGBA")
    rgba.putalpha(0)  # fully transparent: white once flattened
    buffer = io.BytesIO()
    rgba.save(buffer, "WEBP", lossless=True)
    decoded = decoding.decode(load_image(buffer.getvalue()), keypoints.WORK_SIDE)
    assert decoded.gray.shape == (384, 512) and int(decoded.gray.min()) == 255
    data = encode(large, "WEBP")
    with pytest.raises(InvalidImageError):
        layout.extract(load_image(data[: len(data) // 2]))


@pytest.mark.parametrize("size", [(512, 384), (2048, 1536), (2051, 1537)])
def test_a_plain_png_has_the_features_of_one_with_metadata(astronaut: Image.Image, size: tuple[int, int]) -> None:
    # A plain 8-bit RGB PNG decodes through OpenCV; one carrying a text chunk (which
    # could hold an EXIF orientation) through Pillow. The pixels, so every stored byte,
    # must be the same, at no reduction, a whole reduction and one with partial boxes.
    from PIL import PngImagePlugin

    from ris_core.preprocess import DEFAULT_STEPS
    from ris_local.robust import RobustEngine

    picture = astronaut.resize(size, Image.Resampling.BICUBIC)
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "a text chunk")
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", pnginfo=text)
    plain, annotated = load_image(encode(picture, "PNG")), load_image(buffer.getvalue())
    engine = RobustEngine()
    for steps in ((), DEFAULT_STEPS):
        assert engine.extract(plain.with_preprocessing(steps)) == engine.extract(annotated.with_preprocessing(steps))
    first, second = decoding.decode(plain, keypoints.WORK_SIDE), decoding.decode(annotated, keypoints.WORK_SIDE)
    assert np.array_equal(first.rgb(), second.rgb()) and first.scale == second.scale


def test_area_resize_is_one_area_resize_at_a_whole_ratio(astronaut: Image.Image) -> None:
    import cv2

    pixels = np.asarray(astronaut)  # 512 x 512: 32 x 32 is a 16 x 16 box
    direct = cv2.resize(pixels, (32, 32), interpolation=cv2.INTER_AREA)
    assert np.array_equal(decoding.area_resize(pixels, (32, 32)), direct)


@pytest.mark.parametrize("size", [(128, 128), (32, 21), (9, 8)])
def test_area_resize_by_halvings_stays_near_one_area_resize(astronaut: Image.Image, size: tuple[int, int]) -> None:
    import cv2

    # 1504 x 1000: even sides and no whole ratio, so it halves first (three times for 9 x 8).
    grey = np.asarray(astronaut.convert("L").resize((1504, 1000), Image.Resampling.BICUBIC))
    halved = decoding.area_resize(grey, size).astype(np.int16)
    direct = cv2.resize(grey, size, interpolation=cv2.INTER_AREA).astype(np.int16)
    assert halved.shape == direct.shape == (size[1], size[0])
    assert np.abs(halved - direct).mean() < 1.0 and np.abs(halved - direct).max() <= 12


def test_a_colour_jpegs_chroma_map_is_made_before_its_rgb(large: Image.Image) -> None:
    from ris_local.scoring import colour

    image = load_image(encode(large, "JPEG"))
    decoded = layout.decode_for_extract(image)
    assert decoded.colour.mode == "YCbCr"
    chroma = layout.extract_decoded(decoded).chroma.astype(np.int16)
    from_rgb = colour.make(decoded.rgb()).astype(np.int16)  # no border to trim here
    assert chroma.shape == from_rgb.shape == (24, 32, 2)
    assert np.abs(chroma - from_rgb).mean() < 1.0 and np.abs(chroma - from_rgb).max() <= 4


@pytest.fixture(scope="module")
def huge(astronaut: Image.Image) -> Image.Image:
    """The astronaut at 3200x2400: a 1/8 draft keeps the keypoint stage's 384 pixels."""
    return astronaut.resize((3200, 2400), Image.Resampling.BICUBIC)


@pytest.mark.parametrize("subsampling", [0, 1, 2])
@pytest.mark.parametrize("grey", [False, True])
def test_a_progressive_jpeg_at_an_eighth_decodes_to_the_pixels_of_the_whole_file(
    huge: Image.Image, subsampling: int, grey: bool
) -> None:
    buffer = io.BytesIO()
    options = {} if grey else {"subsampling": subsampling}
    (huge.convert("L") if grey else huge).save(buffer, "JPEG", quality=85, progressive=True, **options)
    data = buffer.getvalue()
    lighter = jpegscans.dc_only(data)
    assert lighter is not None and len(lighter) < len(data) / 2
    for longest in (keypoints.WORK_SIDE, layout.HASH_SIDE):
        decoded = decoding.decode(load_image(data), longest)
        plain = Image.open(io.BytesIO(data))
        plain.draft(plain.mode if grey else "YCbCr", decoding.draft_size(load_image(data), longest))
        plain.load()
        assert decoded.scale == 8
        assert np.array_equal(np.asarray(decoded.colour), np.asarray(plain))


def test_only_a_whole_progressive_jpeg_loses_scans(huge: Image.Image) -> None:
    baseline = encode(huge, "JPEG")
    assert jpegscans.dc_only(baseline) is None
    buffer = io.BytesIO()
    huge.save(buffer, "JPEG", quality=85, progressive=True)
    progressive = buffer.getvalue()
    assert jpegscans.dc_only(progressive[: len(progressive) // 2]) is None  # truncated: decoded as it is
    assert jpegscans.dc_only(b"not a jpeg") is None


def test_a_progressive_jpeg_at_an_eighth_keeps_its_orientation(huge: Image.Image) -> None:
    from ris_core.preprocess import DEFAULT_STEPS

    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # stored on its side: turn 90 degrees clockwise to view
    huge.save(buffer, "JPEG", quality=85, progressive=True, exif=exif.tobytes())
    image = load_image(buffer.getvalue()).with_preprocessing(DEFAULT_STEPS)
    decoded = decoding.decode(image, keypoints.WORK_SIDE)
    plain = Image.open(io.BytesIO(buffer.getvalue()))
    plain.draft("L", (400, 300))
    assert decoded.scale == 8
    assert np.array_equal(decoded.gray, np.asarray(plain.transpose(Image.Transpose.ROTATE_270)))


def test_a_progressive_jpeg_whose_scans_stop_short_is_decoded_whole(huge: Image.Image) -> None:
    buffer = io.BytesIO()
    huge.save(buffer, "JPEG", quality=85, progressive=True)
    data = buffer.getvalue()
    # Without its last scan (the luma's last AC refinement) the file is still whole, but
    # libjpeg smooths its blocks on output, which the scans' removal would change.
    short = data[: data.rindex(b"\xff\xda")] + b"\xff\xd9"
    assert jpegscans.dc_only(short) is None
    decoded = decoding.decode(load_image(short), keypoints.WORK_SIDE)
    plain = Image.open(io.BytesIO(short))
    plain.draft("YCbCr", (384, 288))
    plain.load()
    assert np.array_equal(np.asarray(decoded.colour), np.asarray(plain))
