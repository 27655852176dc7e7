"""The rival and the border guard weigh by the one policy object, and each rule holds.

Each test compares the shipped policy with one that turns a rule off, through the public
``gather``/``decide`` seam (the border guard through its own public check,
``border_over_detail``), and pins what the rule does: take it out (or leave its numbers
beside its code again) and the test fails.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
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
from ris_local.scoring.verification import border_over_detail

from .conftest import encode

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


def test_the_border_guard_refuses_a_trimmed_foot_laid_over_detail() -> None:
    """A short list screen's blank foot, trimmed as a border, laid by the fit over the
    long screen's rows is a layout twin, not a crop (``border_share``, ``border_detail``).
    Engine 14's keypoints refuse the screens of ``test_scoring`` before the guard is
    reached (their colours clash), so the rule is pinned on its own evidence: a picture
    whose foot (its whole height again) was trimmed, carried as it is onto a thumbnail."""
    frame = (128.0, 64.0)  # the content covers the upper half of the other's grid
    foot = (0.0, 0.0, 0.0, 1.0)
    rows = np.random.default_rng(5).integers(0, 255, (64, 64)).astype(np.uint8)
    blank_foot = rows.copy()
    blank_foot[33:] = 245
    identity = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert border_over_detail(foot, frame, rows, identity)
    assert not border_over_detail(foot, frame, blank_foot, identity)
    assert not border_over_detail((0.0, 0.0, 0.0, 0.0), frame, rows, identity)
    assert not border_over_detail(foot, frame, rows, identity, replace(POLICY, border_share=2.0))
    assert not border_over_detail(foot, frame, rows, identity, replace(POLICY, border_detail=1e9))
