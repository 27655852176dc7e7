"""A picture reused small inside a larger one is found, and busy graphics are not refused as repeats."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from benchmarks.graphics import graphic
from benchmarks.transforms import TRANSFORMS
from ris_core.images import load_image
from ris_local.robust import RobustEngine

from .conftest import encode

ENGINE = RobustEngine()
BY_NAME = {t.name: t for t in TRANSFORMS}


def blob(image: Image.Image) -> bytes:
    return ENGINE.extract(load_image(encode(image)))


def reader(stored: dict[int, bytes]):  # type: ignore[no-untyped-def]
    return lambda wanted: {key: stored[key] for key in wanted}


def pasted(picture: Image.Image, backdrop: Image.Image, frame: tuple[int, int], share: float) -> Image.Image:
    """``picture`` shrunk to ``share`` of the frame's height, pasted off-centre on
    ``backdrop`` stretched to ``frame``."""
    canvas = backdrop.resize(frame)
    height = round(frame[1] * share)
    small = picture.resize((round(picture.width * height / picture.height), height), Image.Resampling.LANCZOS)
    canvas.paste(small, (frame[0] // 8, frame[1] // 2 - height // 3))
    return canvas


@pytest.mark.parametrize(
    ("frame", "share"),
    [
        ((900, 700), 0.36),  # a third of a nearly square frame: a scale of about 3 between the two
        ((1000, 560), 0.36),  # a third of a wide frame's height: a fifth of its width, scale 4-5
    ],
)
def test_a_picture_pasted_at_a_third_of_a_larger_frame_is_found(
    photos: dict[str, Image.Image], frame: tuple[int, int], share: float
) -> None:
    names = ("camera", "chelsea", "motorcycle_left")  # rocket, tall and smooth, keeps too few keypoints that small
    stored = {key: blob(photos[name]) for key, name in enumerate(names)}
    index = ENGINE.new_index()
    index.add(list(stored), list(stored.values()))
    for key, name in enumerate(names):
        query = blob(pasted(photos[name], photos["coffee"], frame, share))
        score = ENGINE.compare(query, stored[key])
        assert score.similarity >= RobustEngine.default_threshold, (name, score)
        hits = index.search(query, RobustEngine.default_threshold, 3, None, reader(stored))
        assert hits and hits[0].key == key and hits[0].score == score, (name, hits)


def _query(transform: str, image: Image.Image, seed: int) -> bytes:
    data = TRANSFORMS[list(BY_NAME).index(transform)].apply(image, np.random.default_rng(seed))
    return ENGINE.extract(load_image(data))


@pytest.mark.parametrize(("transform", "seed"), [("mirror_rot90", 50), ("meme_caption", 52)])
def test_a_busy_graphic_whose_shapes_repeat_is_still_found(transform: str, seed: int) -> None:
    """A chart's ticks and a caption's letters match many places at once; that is not a
    picture repeating by a period (a brick wall), so the copy still verifies."""
    _, image = graphic(seed)
    stored = ENGINE.extract(load_image(encode(image)))
    query = _query(transform, image, seed)
    assert ENGINE.compare(query, stored).similarity >= RobustEngine.default_threshold


def test_an_unrelated_frame_does_not_find_the_picture(photos: dict[str, Image.Image]) -> None:
    backdrop = Image.open(io.BytesIO(encode(photos["coffee"].resize((900, 700)))))
    for name in photos:
        if name != "coffee":
            score = ENGINE.compare(blob(backdrop), blob(photos[name]))
            assert score.similarity < RobustEngine.default_threshold, (name, score)
