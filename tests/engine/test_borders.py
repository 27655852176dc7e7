"""Border trimming: nested frames come off, a smooth sky stays picture."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps

from ris_core.images import load_image
from ris_local.features.decoding import content_box
from ris_local.robust import HashStageEngine, RobustEngine

from .conftest import encode


def _page() -> Image.Image:
    """A flat drawing on a white page: the kind of picture whose page is itself a border."""
    page = Image.new("RGB", (480, 360), "white")
    draw = ImageDraw.Draw(page)
    draw.rectangle((120, 90, 250, 170), fill=(40, 90, 200))
    draw.ellipse((230, 140, 360, 260), fill=(220, 60, 40))
    draw.line((130, 250, 330, 110), fill=(20, 20, 20), width=5)
    draw.text((140, 270), "Quarterly report", fill=(0, 0, 0))
    return page


def _screenshot(image: Image.Image) -> Image.Image:
    """Shown at 125% in a window: a grey title bar and thin frame round the page."""
    shown = image.resize((image.width * 5 // 4, image.height * 5 // 4), Image.Resampling.BILINEAR)
    return ImageOps.expand(shown, border=(2, 24, 2, 2), fill=(236, 236, 236))


def _box_share(image: Image.Image) -> np.ndarray:
    gray = np.asarray(image.convert("L"))
    left, top, right, bottom = content_box(gray)
    return np.array([left, top, right, bottom]) / np.array([gray.shape[1], gray.shape[0]] * 2)


def test_nested_borders_all_come_off() -> None:
    picture = Image.fromarray(np.random.default_rng(1).integers(0, 256, (200, 300), np.uint8)).convert("RGB")
    mat = ImageOps.expand(picture, border=20, fill=(255, 255, 255))
    framed = ImageOps.expand(mat, border=12, fill=(0, 0, 0))
    gray = np.asarray(framed.convert("L"))
    assert content_box(gray) == (32, 32, 332, 232)


def test_a_screenshot_of_a_page_trims_to_the_same_drawing() -> None:
    page = _page()
    bare, framed = _box_share(page), _box_share(_screenshot(page))
    # The window frame is 2-24 pixels of 600: the drawing's box is within 1.5% either way.
    frame = np.array([2, 24, 2, 24]) / np.array([page.width * 5 / 4 + 4, page.height * 5 / 4 + 26] * 2)
    assert np.abs(framed - bare).max() <= frame.max() + 0.015, (bare, framed)


@pytest.mark.parametrize("engine", [RobustEngine(), HashStageEngine()], ids=["robust", "hash stage alone"])
def test_a_screenshot_of_a_page_is_a_duplicate(engine: RobustEngine) -> None:
    # Even the hash stage alone: both frames end at the drawing, so the codes agree.
    page = _page()
    score = engine.compare(
        engine.extract(load_image(encode(_screenshot(page), "PNG"))), engine.extract(load_image(encode(page)))
    )
    assert score.similarity >= RobustEngine.duplicate_threshold, score


def test_a_smooth_sky_is_not_eaten_band_by_band() -> None:
    # The top half fades by 24 grey levels per tenth of the height: flat rows, each close
    # to its neighbour, so no sharp step ever marks a second border.
    height, width = 400, 300
    rows = np.arange(height // 2, dtype=np.float32)
    sky = np.repeat((120 + 240 * rows / height)[:, None], width, axis=1)
    ground = np.random.default_rng(2).integers(0, 256, (height - height // 2, width)).astype(np.float32)
    gray = np.vstack([sky, ground]).astype(np.uint8)
    left, top, right, bottom = content_box(gray)
    assert (left, right, bottom) == (0, width, height)
    assert top <= height * 0.06, top


def test_a_grainy_flat_stretch_of_the_picture_is_not_a_border() -> None:
    # A wall or an overcast sky with some grain (std 5): a crop of the picture would make
    # it a "border" that the whole picture does not have, so it must stay picture.
    rng = np.random.default_rng(3)
    wall = rng.normal(150, 5, (120, 300))
    scene = rng.integers(0, 256, (280, 300)).astype(np.float64)
    gray = np.clip(np.vstack([wall, scene]), 0, 255).astype(np.uint8)
    assert content_box(gray) == (0, 0, 300, 400)
