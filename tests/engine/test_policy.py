"""The rival and the border guard weigh by the one policy object, and each rule holds.

Each test compares the shipped policy with one that turns a rule off, through the public
``gather``/``decide`` seam, and pins what the rule does: take it out (or leave its numbers
beside its code again) and the test fails.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import skimage.data
from PIL import Image

from benchmarks.graphics import graphic
from benchmarks.transforms import TRANSFORMS
from ris_core.images import load_image
from ris_local.features.layout import Features, from_blob
from ris_local.robust import RobustEngine
from ris_local.scoring.decision import decide
from ris_local.scoring.gather import gather
from ris_local.scoring.policy import POLICY, ScoringPolicy

from .conftest import encode
from .test_scoring import screen

ENGINE = RobustEngine()
THRESHOLD = RobustEngine.default_threshold


def features(image: Image.Image, fmt: str = "PNG", quality: int = 90) -> Features:
    return from_blob(ENGINE.extract(load_image(encode(image, fmt, quality))))


def similarity(a: Features, b: Features, policy: ScoringPolicy = POLICY) -> float:
    return decide(gather(a, b, policy), policy).similarity


def test_the_rival_refuses_two_halves_of_a_tray_of_coins() -> None:
    """The coins repeat: the left half's keypoints line up with the right half's at some
    shift. The rival hypothesis (``rival_*``) says which coin matched is a guess."""
    coins = Image.fromarray(np.asarray(skimage.data.coins())).convert("RGB")
    width, height = coins.size
    left = features(coins.crop((0, 0, width // 2, height)), "JPEG", 70)
    right = features(coins.crop((width // 2, 0, width, height)), "JPEG", 90)
    assert similarity(left, right) < POLICY.weak_low
    no_rival = replace(POLICY, rival_share=100.0)
    assert similarity(left, right, no_rival) >= POLICY.weak_low


def test_a_strong_match_counts_its_rival_in_distinct_keypoints() -> None:
    """A chart turned a quarter and mirrored: its ticks give one keypoint many matches,
    a rival's too. Counted in raw matches (``rival_distinct_from`` out of reach), the
    copy would be refused as a repeating picture."""
    # Engine 14 (mirrored keypoints from the normal corner search) no longer needs the
    # rule on graphic 50, which the raw count now accepts too; graphic 38 is a chart that does.
    _, image = graphic(38)
    stored = features(image)
    transform = next(t for t in TRANSFORMS if t.name == "mirror_rot90")
    query = from_blob(ENGINE.extract(load_image(transform.apply(image, np.random.default_rng(38)))))
    assert similarity(query, stored) >= THRESHOLD
    raw_only = replace(POLICY, rival_distinct_from=float("inf"))
    assert similarity(query, stored, raw_only) < THRESHOLD


@pytest.mark.xfail(
    reason="engine 14: the pair is now refused before the guard (its keypoints verify and the colours clash); "
    "on engine 13 the guard was reached only through the shorter screen's mirrored keypoints, and no other "
    "screen pair tried (5-16 rows, other texts and heights) reaches it: the guard needs a new example",
    strict=True,
)
def test_the_border_guard_refuses_a_short_screen_inside_a_long_one() -> None:
    """A short list screen's blank foot, trimmed as a border, lands on the long screen's
    rows (``border_share``, ``border_detail``): a layout twin, not a crop."""
    copy, shorter = features(screen(11), "JPEG", 70), features(screen(8))
    assert similarity(copy, shorter) < THRESHOLD
    no_guard = replace(POLICY, border_share=2.0)
    assert similarity(copy, shorter, no_guard) >= THRESHOLD
