"""Behaviour of the engine: small changes stay close, unrelated pictures stay far."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageOps

from ris_core.images import load_image
from ris_local.features import layout
from ris_local.robust import HashStageEngine, RobustEngine

from .conftest import encode

ENGINE = RobustEngine()


def blob(image: Image.Image, fmt: str = "JPEG", quality: int = 90) -> bytes:
    return ENGINE.extract(load_image(encode(image, fmt, quality)))


def crop(image: Image.Image, share: float) -> Image.Image:
    w, h = image.size
    return image.crop((round(w * share), round(h * share), round(w * (1 - share)), round(h * (1 - share))))


SAME = {
    "jpeg q30": lambda im: Image.open(__import__("io").BytesIO(encode(im, "JPEG", 30))),
    "half size": lambda im: im.resize((im.width // 2, im.height // 2)),
    "brighter": lambda im: ImageEnhance.Brightness(im).enhance(1.3),
    "grayscale": lambda im: im.convert("L"),
    "mirrored": ImageOps.mirror,
    "white border": lambda im: ImageOps.expand(im, border=40, fill=(255, 255, 255)),
    "centre 70%": lambda im: crop(im, 0.15),
    "rotated 10 degrees": lambda im: im.rotate(10, Image.Resampling.BICUBIC),
}


@pytest.mark.parametrize("name", SAME)
def test_small_transforms_stay_above_the_default_threshold(photos: dict[str, Image.Image], name: str) -> None:
    for photo in photos.values():
        score = ENGINE.compare(blob(SAME[name](photo)), blob(photo))
        assert score.similarity >= RobustEngine.default_threshold, (name, score)


def test_unrelated_photographs_stay_below_the_default_threshold(photos: dict[str, Image.Image]) -> None:
    blobs = {name: blob(photo) for name, photo in photos.items()}
    for a in blobs:
        for b in blobs:
            if a < b:
                score = ENGINE.compare(blobs[a], blobs[b])
                assert score.similarity < RobustEngine.default_threshold, (a, b, score)


def test_blob_round_trips(astronaut: Image.Image) -> None:
    data = blob(astronaut)
    assert layout.to_blob(layout.from_blob(data)) == data
    # 800 keypoints at the work scale, 100 at the coarse one, 400 at SECOND_SCALE, 2 hash codes
    assert ENGINE.describe(data) == (1302, 256)
    with pytest.raises(ValueError):
        layout.from_blob(b"not a blob")


def test_index_search_threshold_order_and_filters(photos: dict[str, Image.Image]) -> None:
    names = list(photos)
    index = ENGINE.new_index()
    index.add(list(range(len(names))), [blob(photos[n]) for n in names])
    query = blob(crop(photos["coffee"], 0.1))
    hits = index.search(query, RobustEngine.default_threshold, 10, None)
    assert [h.key for h in hits] == [names.index("coffee")]
    # Threshold 0 admits every allowed image, however unlike: here only the camera.
    [camera] = index.search(query, 0.0, 10, np.array([names.index("camera")]))
    assert camera.key == names.index("camera") and camera.score.similarity < RobustEngine.default_threshold
    index.remove([names.index("coffee")])
    assert len(index) == len(names) - 1
    assert index.search(query, RobustEngine.default_threshold, 10, None) == []


def test_replacing_a_key_keeps_one_entry(astronaut: Image.Image) -> None:
    index = ENGINE.new_index()
    index.add([7], [blob(astronaut)])
    index.add([7], [blob(astronaut)])
    assert len(index) == 1
    assert [h.key for h in index.search(blob(astronaut), 50.0, 10, None)] == [7]


def test_pairs_find_copies_and_nothing_else(photos: dict[str, Image.Image]) -> None:
    index = ENGINE.new_index()
    items = [blob(p) for p in photos.values()]
    copies = [blob(ImageOps.mirror(photos["rocket"])), blob(crop(photos["chelsea"], 0.12))]
    index.add(list(range(len(items) + 2)), items + copies)
    found = {(a, b) for a, b, _ in index.pairs(RobustEngine.duplicate_threshold, None)}
    names = list(photos)
    assert found == {(names.index("rocket"), len(items)), (names.index("chelsea"), len(items) + 1)}


def test_pairs_search_each_image_with_its_stored_blob(photos: dict[str, Image.Image]) -> None:
    """With the stored blobs, the self-join looks up every image's keypoints as a query
    has them (both scales, all words, the mirror): it finds hard copies the indexed
    keypoints alone miss."""
    originals = [blob(p) for p in photos.values()]
    copies = [blob(ImageOps.mirror(crop(p, 0.12)), quality=40) for p in photos.values()]
    copies += [blob(crop(p, 0.2), quality=40) for p in photos.values()]
    stored = dict(enumerate(originals + copies))
    read: list[int] = []

    def reader(keys: Sequence[int]) -> dict[int, bytes]:
        read.extend(keys)
        return {key: stored[key] for key in keys}

    index = ENGINE.new_index()
    index.add(list(stored), list(stored.values()))
    found = {(a, b) for a, b, _ in index.pairs(RobustEngine.duplicate_threshold, None, reader)}
    n = len(originals)
    groups = [{i, n + i, 2 * n + i} for i in range(n)]
    assert found == {(a, b) for group in groups for a in group for b in group if a < b}
    # Every blob is read for its lookup (one batch here); the later reads are of the
    # candidate pairs being scored.
    assert read[: len(stored)] == list(stored)
    assert set(read[len(stored) :]) <= set(stored)


def test_blocks_reopen_to_the_same_answers(photos: dict[str, Image.Image]) -> None:
    index = ENGINE.new_index()
    index.add(list(range(len(photos))), [blob(p) for p in photos.values()])
    index.remove([0])
    reopened = ENGINE.new_index()
    reopened.load_blocks(index.to_blocks())
    query = blob(crop(photos["camera"], 0.1))
    assert reopened.search(query, 0.0, 5, None) == index.search(query, 0.0, 5, None)
    assert len(reopened) == len(index)


def test_hash_stage_engine_finds_copies_without_keypoints(astronaut: Image.Image) -> None:
    engine = HashStageEngine()
    data = engine.extract(load_image(encode(astronaut)))
    assert layout.from_blob(data).normal.packed.size == 0
    index = engine.new_index()
    index.add([1], [data])
    query = engine.extract(load_image(encode(ImageOps.mirror(astronaut), "JPEG", 40)))
    assert [h.key for h in index.search(query, engine.default_threshold, 5, None)] == [1]
