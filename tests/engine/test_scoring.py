"""The one scoring model: the decision as a table, and one score per pair whoever asks.

A pair's score comes from its own evidence only, so search, ``find_duplicates`` and
``compare`` must agree on it, and adding or removing other images must not move it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import replace

import pytest
from PIL import Image, ImageDraw, ImageFont

from benchmarks.dataset import Dataset, Sizes, build_dataset
from benchmarks.transforms import CORE_TRANSFORMS
from ris_core.images import load_image
from ris_local.engine import Score
from ris_local.robust import RobustEngine
from ris_local.scoring.decision import Stage, decide
from ris_local.scoring.evidence import Evidence, KeypointEvidence, ThumbnailLook
from ris_local.scoring.policy import POLICY

from .conftest import encode

ENGINE = RobustEngine()
PLENTY = (POLICY.confirm_keypoints, POLICY.confirm_keypoints)
GOOD = KeypointEvidence(inliers=40, tentative=100, coverage=1.0, spread=0.3)
WEAK = KeypointEvidence(inliers=10, tentative=16, coverage=1.0, spread=0.01)  # 55..65: a weak consensus
CLASHING = replace(GOOD, colours_clash=True)
BORDER_OVER_DETAIL = replace(GOOD, borders_clash=True)
GOOD_THUMBNAIL = (ThumbnailLook(0.99),)


SURE, UNSURE = 8, 16  # bits: a hash similarity of 87.5 and of 75
H = Evidence

# evidence in -> (similarity, stage) out; None: the similarity is checked by its bounds
TABLE: list[tuple[str, Evidence, tuple[float | None, Stage]]] = [
    ("identical codes", H(0), (100.0, Stage.HASH)),
    ("a sure hash ignores a colour clash", H(SURE, keypoints=CLASHING), (87.5, Stage.HASH)),
    ("a sure hash ignores silent keypoints", H(SURE, keypoint_counts=PLENTY), (87.5, Stage.HASH)),
    ("an unsure hash, keypoints silent", H(UNSURE, keypoint_counts=PLENTY), (65.0, Stage.HASH)),
    ("an unsure hash, too few keypoints to tell", H(UNSURE, keypoint_counts=(10, 900)), (75.0, Stage.HASH)),
    ("an unsure hash, a thumbnail confirms", H(UNSURE, False, PLENTY, None, GOOD_THUMBNAIL), (None, Stage.THUMBNAIL)),
    ("a flat picture's hash is capped", H(0, flat=True), (POLICY.flat_similarity, Stage.FLAT_HASH)),
    ("good keypoints", H(60, keypoint_counts=PLENTY, keypoints=GOOD), (100.0, Stage.KEYPOINTS)),
    ("keypoints whose colours clash", H(UNSURE, keypoint_counts=PLENTY, keypoints=CLASHING), (0.0, Stage.KEYPOINTS)),
    (
        "keypoints that lay a border over detail",
        H(UNSURE, keypoint_counts=PLENTY, keypoints=BORDER_OVER_DETAIL),
        (0.0, Stage.KEYPOINTS),
    ),
    ("a sure hash ignores a border", H(SURE, keypoints=BORDER_OVER_DETAIL), (87.5, Stage.HASH)),
    ("nothing at all", H(64, keypoint_counts=PLENTY), (0.0, Stage.HASH)),
    ("a weak consensus at a far scale is no evidence", H(64, keypoints=replace(WEAK, scale=4.5)), (0.0, Stage.HASH)),
    ("so is one far the other way", H(64, keypoints=replace(WEAK, scale=1 / 4.5)), (0.0, Stage.HASH)),
    ("good keypoints at a far scale", H(64, keypoints=replace(GOOD, scale=4.5)), (100.0, Stage.KEYPOINTS)),
]


@pytest.mark.parametrize(("case", "evidence", "expected"), TABLE, ids=[row[0] for row in TABLE])
def test_the_decision_table(case: str, evidence: Evidence, expected: tuple[float | None, Stage]) -> None:
    similarity, stage = expected
    decision = decide(evidence)
    assert decision.stage is stage, case
    if similarity is not None:
        assert decision.similarity == pytest.approx(similarity), case
    else:
        assert POLICY.thumbnail_score_low <= decision.similarity <= 100.0, case
    assert decision.explanation


def test_a_weak_consensus_alone_stays_under_the_default_threshold_and_adds_a_bonus() -> None:
    weak = decide(Evidence(64, keypoint_counts=PLENTY, keypoints=WEAK))
    assert weak.stage is Stage.KEYPOINTS and POLICY.weak_low <= weak.similarity < ENGINE.default_threshold
    alone = decide(Evidence(64, keypoint_counts=PLENTY, thumbnails=GOOD_THUMBNAIL))
    both = decide(Evidence(64, keypoint_counts=PLENTY, keypoints=WEAK, thumbnails=GOOD_THUMBNAIL))
    assert alone.stage is both.stage is Stage.THUMBNAIL
    assert both.similarity == pytest.approx(min(100.0, alone.similarity + POLICY.agreeing_bonus))


def test_thumbnails_count_only_under_a_good_keypoint_match_and_turned_ones_only_under_upright() -> None:
    good = decide(Evidence(64, keypoint_counts=PLENTY, keypoints=GOOD, thumbnails=(ThumbnailLook(1.0),)))
    assert good.stage is Stage.KEYPOINTS
    turned = (ThumbnailLook(0.99, turned=True),)
    assert decide(Evidence(64, thumbnails=turned)).stage is Stage.THUMBNAIL
    upright_good = (ThumbnailLook(1.0), ThumbnailLook(0.2, turned=True))
    assert decide(Evidence(64, thumbnails=upright_good)).similarity == pytest.approx(POLICY.thumbnail_score_high)
    near = (ThumbnailLook(POLICY.agreeing_low + 0.005),)
    assert decide(Evidence(64, thumbnails=near)).similarity == 0.0
    agreeing = (ThumbnailLook(POLICY.agreeing_low + 0.005, centre_agrees=True),)
    assert decide(Evidence(64, thumbnails=agreeing)).similarity >= POLICY.thumbnail_score_low


def test_a_policy_is_the_only_knob() -> None:
    evidence = Evidence(UNSURE, keypoint_counts=PLENTY)
    assert decide(evidence, replace(POLICY, unconfirmed_penalty=0.0)).similarity == pytest.approx(75.0)
    assert decide(evidence, replace(POLICY, sure_similarity=70.0)).similarity == pytest.approx(75.0)
    with pytest.raises(AttributeError):
        POLICY.sure_similarity = 1.0  # type: ignore[misc]


# -- the layout twin: a score must not depend on what else is stored ------------------


def screen(rows: int) -> Image.Image:
    """A list screen of an app: a header and ``rows`` rows of one layout."""
    image = Image.new("RGB", (480, 640), (245, 245, 245))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 480, 44), fill=(40, 90, 200))
    font = ImageFont.load_default(size=20)
    draw.text((12, 10), "Inbox", fill=(255, 255, 255), font=font)
    for i in range(rows):
        y = 56 + 52 * i
        draw.rectangle((8, y, 472, y + 44), outline=(200, 200, 200), fill=(255, 255, 255))
        draw.text((16, y + 10), f"Message from Alice {i}", fill=(40, 40, 40), font=font)
    return image


def reader(stored: dict[int, bytes]) -> Callable[[Sequence[int]], dict[int, bytes]]:
    return lambda keys: {key: stored[key] for key in keys if key in stored}


def scores_of(stored: dict[int, bytes], query: bytes, threshold: float = 0.0) -> dict[int, Score]:
    index = ENGINE.new_index()
    index.add(list(stored), list(stored.values()))
    return {hit.key: hit.score for hit in index.search(query, threshold, 50, None, reader(stored))}


def test_a_copy_of_one_screen_scores_the_other_screen_the_same_with_or_without_its_original() -> None:
    """Two screens of one layout share most of a hash. A JPEG copy of the first is a sure
    hit of the first; that must not spare the second its checks."""
    first, second = (ENGINE.extract(load_image(encode(screen(rows), "PNG"))) for rows in (11, 8))
    copy = ENGINE.extract(load_image(encode(screen(11), "JPEG", 70)))
    compared = ENGINE.compare(copy, second)
    assert compared.similarity < ENGINE.default_threshold
    with_original = scores_of({1: first, 2: second}, copy)
    without_original = scores_of({2: second}, copy)
    assert with_original[1].similarity >= POLICY.sure_similarity
    assert with_original[2] == without_original[2] == compared


# -- agreement and independence over the benchmark's pairs ----------------------------


@pytest.fixture(scope="module")
def collection() -> Dataset:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    sizes = Sizes(targets=16, index=24, negatives=8, queries_per_transform=6, duplicate_groups=4)
    return build_dataset(("skimage",), sizes, seed=13, workers=2, transforms=CORE_TRANSFORMS)


@pytest.fixture(scope="module")
def blobs(collection: Dataset) -> dict[int, bytes]:
    """Every indexed image and every query of the benchmark, as one collection."""
    images = list(collection.index.values()) + [q.data for q in collection.positives + collection.negatives]
    return {key: ENGINE.extract(load_image(data)) for key, data in enumerate(images)}


FLOOR = 62.5  # the hash look's reach: every pair at or above it is found by some look


def test_search_duplicates_and_compare_give_each_pair_one_score(blobs: dict[int, bytes]) -> None:
    index = ENGINE.new_index()
    index.add(list(blobs), list(blobs.values()))
    read = reader(blobs)
    by_pairs = {(a, b): score for a, b, score in index.pairs(FLOOR, None, read)}
    by_search: dict[tuple[int, int], Score] = {}
    for key, blob in blobs.items():
        for hit in index.search(blob, FLOOR, len(blobs), None, read):
            if hit.key != key:
                pair = (min(key, hit.key), max(key, hit.key))
                assert by_search.setdefault(pair, hit.score) == hit.score, pair  # either way round
    checked = set(by_pairs) | set(by_search)
    assert len(checked) >= 1000, len(checked)
    for a, b in sorted(checked):
        compared = ENGINE.compare(blobs[a], blobs[b])
        assert compared == ENGINE.compare(blobs[b], blobs[a]), (a, b)
        for found in (by_pairs.get((a, b)), by_search.get((a, b))):
            assert found is None or found == compared, (a, b, found, compared)


def test_a_pairs_score_does_not_move_when_unrelated_images_come_and_go(blobs: dict[int, bytes]) -> None:
    compared = 0
    for query in range(0, len(blobs), 9):
        everything = scores_of(blobs, blobs[query], FLOOR)
        for kept in (
            {key: blob for key, blob in blobs.items() if key % 3 != query % 3 or key in everything},
            {key: blobs[key] for key in everything},  # only the images it finds
            {key: blobs[key] for key in everything if key != query},  # and without itself
        ):
            fewer = scores_of(kept, blobs[query], FLOOR)
            for key in fewer.keys() & everything.keys():
                assert fewer[key] == everything[key], (query, key)
                compared += 1
    assert compared >= 100
