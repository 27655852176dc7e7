"""A crop keeping a quarter of the picture or less finds its picture, scored as compare scores it.

A heavy crop meets only the quarter of its picture's indexed keypoints that lie inside
it, so the keypoint look must still put that picture among the candidates it verifies;
once it is a candidate, the score is the pair's own (the one ``compare`` gives).
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from benchmarks.transforms import TRANSFORMS
from ris_core.images import load_image
from ris_local.robust import RobustEngine

from .conftest import encode
from .test_scoring import reader

ENGINE = RobustEngine()
BY_NAME = {t.name: t for t in TRANSFORMS}
BUSY = ("astronaut", "coffee", "chelsea", "motorcycle_left")


def blob(image: Image.Image) -> bytes:
    return ENGINE.extract(load_image(encode(image)))


def query(transform: str, image: Image.Image, seed: int) -> bytes:
    return ENGINE.extract(load_image(BY_NAME[transform].apply(image, np.random.default_rng(seed))))


@pytest.fixture(scope="module")
def collection(photos: dict[str, Image.Image]) -> dict[int, bytes]:
    """The photographs, and as distractors the four halves of each (crops of the same
    scenes that overlap every quarter crop, as the benchmark's other crops do)."""
    stored: dict[int, bytes] = {}
    for key, name in enumerate(photos):
        picture = photos[name]
        stored[key] = blob(picture)
        w, h = picture.size
        for offset, box in enumerate(((0, 0, w, h // 2), (0, h // 2, w, h), (0, 0, w // 2, h), (w // 2, 0, w, h))):
            stored[100 * (key + 1) + offset] = blob(picture.crop(box))
    return stored


@pytest.mark.parametrize("transform", ["crop_quarter_centre", "crop_quarter_corner", "crop_12_22"])
def test_a_heavy_crop_finds_its_picture_with_the_pairs_own_score(
    photos: dict[str, Image.Image], collection: dict[int, bytes], transform: str
) -> None:
    index = ENGINE.new_index()
    index.add(list(collection), list(collection.values()))

    names = list(photos)
    for name in BUSY:
        key = names.index(name)
        found = query(transform, photos[name], seed=11 + key)
        best = max(collection, key=lambda k: ENGINE.compare(found, collection[k]).similarity)
        hits = index.search(found, 0.0, 5, None, reader(collection))
        assert hits, (name, transform)
        # Whichever stored picture the pair scores best (the picture itself, or the
        # half that holds the crop), search puts it first with compare's score.
        assert hits[0].score == ENGINE.compare(found, collection[hits[0].key]), (name, hits[0])
        assert hits[0].score.similarity == ENGINE.compare(found, collection[best]).similarity, (name, best, hits)
