"""The combiner benchmark's measuring: hand-built pairs in, the figures it reports out.

``python -m benchmarks.combiner`` decides whether a fitted combiner replaces the rules,
so its figures (the 1%-FPR threshold, what is accepted there, why a match is missed)
must mean what BENCHMARKS.md says they mean.
"""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.combiner import FEATURES, Pair, calibrate, features, fit, measure, rules
from ris_local.scoring.evidence import Evidence, KeypointEvidence, ThumbnailLook
from ris_local.scoring.policy import POLICY

# The combiner fits and measures with scikit-learn, which the dev extra installs: without it
# these tests fail with this message rather than skip.
try:
    import sklearn  # noqa: F401
except ImportError as missing:  # pragma: no cover - only on an incomplete install
    raise ImportError('the combiner tests need scikit-learn: pip install -e ".[dev]"') from missing

GOOD = KeypointEvidence(inliers=40, tentative=100, coverage=1.0, spread=0.3)
PLENTY = (POLICY.confirm_keypoints, POLICY.confirm_keypoints)


def test_every_evidence_gives_one_fixed_vector() -> None:
    bare, full = (
        Evidence(64),
        Evidence(20, False, PLENTY, GOOD, (ThumbnailLook(0.99, True), ThumbnailLook(0.9, turned=True))),
    )
    assert features(bare).shape == features(full).shape == (len(FEATURES),)
    assert np.all(np.isfinite(features(full)))
    assert features(full)[FEATURES.index("inliers")] > features(bare)[FEATURES.index("inliers")] == 0.0


def table() -> list[Pair]:
    """Three positive queries (a sure hash, a weak keypoint consensus at 63, and one whose
    target is not a candidate) and 100 photograph negatives: one at 75 (the 1% the
    threshold lets through), one at 0, the rest a hash at 21.9."""
    pairs = [
        Pair(0, "crop", 1, 1, Evidence(0)),
        Pair(0, "crop", 1, 2, Evidence(40)),
        Pair(1, "crop", 3, 3, Evidence(64, keypoint_counts=PLENTY, keypoints=KeypointEvidence(10, 16, 1.0, 0.01))),
        Pair(2, "heavy-crop", 5, 4, Evidence(60)),
    ]
    pairs += [Pair(3, "negative", -1, 7, Evidence(16))]  # 75: an unsure hash, too few keypoints to tell
    pairs += [Pair(4, "negative", -1, 8, Evidence(64, keypoint_counts=PLENTY, thumbnails=(ThumbnailLook(0.9),)))]
    pairs += [Pair(5 + i, "negative", -1, 9, Evidence(50)) for i in range(98)]
    return pairs


def test_the_threshold_lets_in_one_percent_of_negatives_and_misses_say_why() -> None:
    scored = measure(table(), rules)
    assert scored.threshold == pytest.approx(np.nextafter(100 * (1 - 50 / 64), np.inf))
    assert scored.accepted == pytest.approx(2 / 3)  # the third target is never a candidate
    assert scored.misses == {"not a candidate": 1}
    assert scored.negatives_at_70 == pytest.approx(0.01)
    assert scored.recall_at_1 == pytest.approx(2 / 3)


def test_the_combiner_keeps_the_sure_hash_and_the_colour_veto() -> None:
    pairs = table() * 3
    combiner = calibrate(fit(pairs), pairs)
    assert combiner.similarity(Evidence(0)) == 100.0
    assert combiner.similarity(Evidence(20, keypoints=KeypointEvidence(40, 100, 1.0, 0.3, True))) == 0.0
    assert 0.0 <= combiner.similarity(Evidence(40, keypoint_counts=PLENTY, keypoints=GOOD)) < POLICY.sure_similarity
