"""The issue-13 transforms make what their names say (checked on the decoded pixels)."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import skimage.data as skimage_data
from PIL import Image

from benchmarks.transforms import NEW_TRANSFORMS, TRANSFORMS, Transform

BY_NAME = {t.name: t for t in TRANSFORMS}
GREY = (128, 128, 128)


@pytest.fixture(scope="module")
def picture() -> Image.Image:
    """A landscape photograph (so that turns change the shape)."""
    return Image.fromarray(skimage_data.chelsea()).convert("RGB")  # 451 x 300


def pixels(transform: str, picture: Image.Image, backdrop: Image.Image | None = None, seed: int = 3) -> np.ndarray:
    data = BY_NAME[transform].make(picture, np.random.default_rng(seed), backdrop)
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float64)


def close(a: np.ndarray, b: np.ndarray, tolerance: float = 6.0) -> bool:
    return a.shape == b.shape and float(np.mean(np.abs(a - b))) < tolerance


def test_names_are_unique_and_every_new_family_is_named() -> None:
    assert len(BY_NAME) == len(TRANSFORMS)
    assert {t.family for t in NEW_TRANSFORMS} == {
        "quarter-turn",
        "big-rotation",
        "heavy-crop",
        "picture-in-picture",
        "collage",
        "occlusion",
        "thumbnail",
    }


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("rot90", lambda a: np.rot90(a, 1)),
        ("rot180", lambda a: np.rot90(a, 2)),
        ("rot270", lambda a: np.rot90(a, 3)),
        ("mirror_rot90", lambda a: np.rot90(a[:, ::-1], 1)),
    ],
)
def test_a_quarter_turn_is_the_rotated_array(name: str, expected, picture: Image.Image) -> None:  # type: ignore[no-untyped-def]
    original = np.asarray(picture, dtype=np.float64)
    turned = pixels(name, picture)
    assert close(turned, expected(original))
    others = [f(original) for f in (lambda a: np.rot90(a, 1), lambda a: np.rot90(a, 3), lambda a: a[::-1])]
    assert sum(close(turned, other) for other in others if other.shape == turned.shape) <= 1


def test_an_expanded_rotation_keeps_the_whole_picture_in_a_larger_frame(picture: Image.Image) -> None:
    turned = pixels("rotate_-45_expand", picture)
    w, h = picture.size
    side = math.cos(math.radians(45)) * (w + h)
    assert abs(turned.shape[1] - side) <= 3 and abs(turned.shape[0] - side) <= 3
    assert turned[:8, :8].mean() < 10  # a filled corner


def test_a_cropped_rotation_has_no_empty_corners(picture: Image.Image) -> None:
    for name in ("rotate_25", "rotate_-35", "rotate_45"):
        turned = pixels(name, picture)
        corners = [turned[:3, :3], turned[:3, -3:], turned[-3:, :3], turned[-3:, -3:]]
        assert min(float(c.mean()) for c in corners) > 20, name


@pytest.mark.parametrize("name", ["crop_quarter_centre", "crop_quarter_corner", "crop_12_22"])
def test_a_heavy_crop_keeps_a_quarter_of_the_area_or_less(name: str, picture: Image.Image) -> None:
    for seed in range(5):
        kept = pixels(name, picture, seed=seed)
        assert kept.shape[0] * kept.shape[1] <= 0.25 * picture.width * picture.height + picture.width


def test_the_centre_quarter_is_the_centre_of_the_picture(picture: Image.Image) -> None:
    original = np.asarray(picture, dtype=np.float64)
    kept = pixels("crop_quarter_centre", picture)
    h, w = original.shape[:2]
    top, left = round(h * 0.25), round(w * 0.25)
    assert close(kept, original[top : top + kept.shape[0], left : left + kept.shape[1]])


def test_picture_in_picture_contains_the_scaled_picture(picture: Image.Image) -> None:
    backdrop = Image.new("RGB", (800, 600), GREY)
    frame = pixels("pip_third", picture, backdrop)
    inside = np.argwhere(np.abs(frame - GREY[0]).max(axis=2) > 12)
    (top, left), (bottom, right) = inside.min(axis=0), inside.max(axis=0) + 1
    share = max((right - left) / frame.shape[1], (bottom - top) / frame.shape[0])
    assert 0.28 <= share <= 0.42  # about a third of the frame
    pasted = Image.fromarray(frame[top:bottom, left:right].astype(np.uint8))
    restored = np.asarray(pasted.resize(picture.size, Image.Resampling.BICUBIC), dtype=np.float64)
    assert close(restored, np.asarray(picture, dtype=np.float64), 12.0)


def test_a_phone_screenshot_shows_the_picture_at_full_width_in_a_portrait_frame(picture: Image.Image) -> None:
    backdrop = Image.new("RGB", (640, 480), GREY)
    screen = pixels("pip_phone_screenshot", picture, backdrop)
    assert screen.shape[:2] == (1480, 720)
    shown = picture.resize((720, round(picture.height * 720 / picture.width)), Image.Resampling.BILINEAR)
    expected = np.asarray(shown, dtype=np.float64)
    assert close(screen[160 : 160 + expected.shape[0]], expected, 4.0)


@pytest.mark.parametrize("name", ["collage_side_by_side", "collage_stacked"])
def test_a_collage_holds_the_picture_and_the_backdrop(name: str, picture: Image.Image) -> None:
    backdrop = Image.new("RGB", (500, 500), GREY)
    canvas = pixels(name, picture, backdrop)
    vertical = name == "collage_stacked"
    halves = np.array_split(canvas, 2, axis=0 if vertical else 1)
    grey = [float(np.mean(np.abs(half - GREY[0]) < 8)) for half in halves]
    assert sorted(grey)[0] < 0.2 and sorted(grey)[1] > 0.9  # one half is the picture, one the backdrop


def test_a_compositing_transform_refuses_to_run_without_a_backdrop(picture: Image.Image) -> None:
    with pytest.raises(ValueError, match="backdrop"):
        BY_NAME["pip_third"].make(picture, np.random.default_rng(0))


@pytest.mark.parametrize(("name", "low", "high"), [("stickers_15", 0.15, 0.19), ("stickers_25", 0.21, 0.25)])
def test_stickers_cover_the_share_they_promise(name: str, low: float, high: float) -> None:
    flat = Image.new("RGB", (400, 300), (0, 0, 0))
    for seed in range(3):
        covered = float(np.mean(pixels(name, flat, seed=seed).max(axis=2) > 40))
        assert low - 0.04 <= covered <= high + 0.02, (seed, covered)


def test_a_meme_caption_covers_the_top_and_the_bottom_and_leaves_the_middle(picture: Image.Image) -> None:
    original = np.asarray(picture, dtype=np.float64)
    captioned = pixels("meme_caption", picture)
    h = original.shape[0]
    changed = np.abs(captioned - original).max(axis=2) > 60
    assert changed[: h // 5].mean() > 0.05 and changed[-h // 5 :].mean() > 0.05
    assert changed[2 * h // 5 : 3 * h // 5].mean() < 0.01


@pytest.mark.parametrize(("name", "side"), [("thumb_64", 64), ("thumb_128", 128)])
def test_a_thumbnail_has_the_long_side_it_names(name: str, side: int, picture: Image.Image) -> None:
    small = pixels(name, picture)
    assert max(small.shape[:2]) == side
    assert abs(small.shape[1] / small.shape[0] - picture.width / picture.height) < 0.03


def test_whole_picture_copies_are_the_only_new_duplicates() -> None:
    new_duplicates = {t.family for t in NEW_TRANSFORMS if t.duplicate}
    assert new_duplicates == {"quarter-turn", "thumbnail"}
    assert all(
        isinstance(t, Transform) and (t.composite is None) == (not t.family.startswith(("picture", "coll")))
        for t in NEW_TRANSFORMS
    )
