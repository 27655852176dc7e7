"""What scoring remembers of a picture changes no score (issue 14 item 2: the cost of scoring pairs).

``find_duplicates`` scores each picture in several pairs and a search scores one query
against every candidate, so the work that depends on one picture alone (its keypoints'
words in order, its thumbnail's templates, turned and mirrored views) is remembered while
the picture's arrays live (:mod:`ris_local.scoring.memo`). A remembered value must be the
one the computation gives afresh, and never one made for another picture: a pair scores
the same the first time, the hundredth time, and through ``compare`` with nothing warm.
"""

from __future__ import annotations

import gc

import numpy as np
import pytest
from PIL import Image, ImageOps

from ris_core.images import load_image
from ris_local.features import layout
from ris_local.index.scored import RobustIndex
from ris_local.robust import RobustEngine
from ris_local.scoring import thumbnails
from ris_local.scoring.memo import Memo

from .conftest import encode

ENGINE = RobustEngine()
FLOOR = 60.0


def test_a_value_is_made_once_per_live_object_and_the_memo_stays_bounded() -> None:
    memo = Memo(4)
    made: list[int] = []
    first = np.arange(5)

    def make() -> int:
        made.append(1)
        return len(made)

    assert memo.get(first, "t", make) == memo.get(first, "t", make) == 1
    assert memo.get(first.copy(), "t", make) == 2  # equal content, another object: made again
    assert memo.get(first, "other tag", make) == 3
    alive = [np.arange(3) for _ in range(10)]
    for owner in alive:
        memo.get(owner, "t", make)
    assert len(memo) == 4  # the least recently used went first
    assert memo.get(alive[-1], "t", make) == 13  # the newest is still there
    assert memo.get(first, "t", make) == 14  # the oldest was dropped: made again


def test_a_value_is_never_served_for_another_object_at_a_reused_address() -> None:
    memo = Memo(8)
    for step in range(2000):
        owner = np.full(2, step)  # dies at the next step; CPython reuses its address

        def make(owner: np.ndarray = owner) -> int:
            return int(owner[0])

        assert memo.get(owner, "t", make) == step
        del owner
        if step % 500 == 0:
            gc.collect()


def test_turned_and_mirrored_views_are_remembered_read_only_and_equal_to_fresh_ones(astronaut: Image.Image) -> None:
    thumbnail = layout.from_blob(ENGINE.extract(load_image(encode(astronaut)))).thumbnail
    turned = thumbnails.turned(thumbnail, 10.0)
    assert thumbnails.turned(thumbnail, 10.0) is turned and not turned.flags.writeable
    assert np.array_equal(turned, thumbnails.turned(thumbnail.copy(), 10.0))
    mirrored = thumbnails.mirrored(thumbnail)
    assert not mirrored.flags.writeable and np.array_equal(mirrored, np.fliplr(thumbnail))
    warm = thumbnails.correlation(turned, thumbnail)
    assert warm == thumbnails.correlation(turned.copy(), thumbnail.copy())


@pytest.fixture(scope="module")
def stored(photos: dict[str, Image.Image]) -> dict[int, bytes]:
    """Photographs with a crop, a mirrored copy and a slightly turned copy of each."""
    pictures: list[Image.Image] = []
    for name in ("astronaut", "coffee", "chelsea", "rocket"):
        picture = photos[name]
        width, height = picture.size
        pictures += [
            picture,
            picture.crop((width // 8, height // 8, width - width // 8, height - height // 10)),
            ImageOps.mirror(picture),
            picture.rotate(3, resample=Image.Resampling.BILINEAR),
        ]
    return {key: ENGINE.extract(load_image(encode(p, "JPEG", 88))) for key, p in enumerate(pictures)}


def test_find_duplicates_scores_every_pair_as_compare_does_cold_or_warm(stored: dict[int, bytes]) -> None:
    index = RobustIndex()
    index.add(list(stored), list(stored.values()))
    reader = lambda keys: {key: stored[key] for key in keys if key in stored}  # noqa: E731
    first = {(a, b): score for a, b, score in index.pairs(FLOOR, None, reader)}
    assert sum(1 for a, b in first if a // 4 == b // 4) >= 8, first  # the copies are found
    # Every remembered part is warm now; a second run and compare (fresh decodes) agree.
    again = {(a, b): score for a, b, score in index.pairs(FLOOR, None, reader)}
    assert again == first
    for (a, b), score in first.items():
        assert ENGINE.compare(stored[a], stored[b]) == score, (a, b)
        assert ENGINE.compare(stored[b], stored[a]) == score, (a, b)
    # A search from each picture gives its found pairs the same scores too.
    for key, blob in stored.items():
        for hit in index.search(blob, FLOOR, len(stored), None, reader):
            pair = (min(key, hit.key), max(key, hit.key))
            if hit.key != key and pair in first:
                assert hit.score == first[pair], pair
