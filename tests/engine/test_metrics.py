"""The benchmark's metrics score what a user gets."""

from __future__ import annotations

import pytest

from benchmarks.metrics import pair_scores


def test_duplicate_pairs_are_scored_on_the_groups_they_make() -> None:
    truth = {1: 0, 2: 0, 3: 0, 4: 1, 5: 1, 6: -1}
    # 1-2 and 2-3 group 1, 2 and 3 together, as find_duplicates returns them: 1-3 counts too.
    scores = pair_scores([(1, 2), (2, 3)], truth)
    assert (scores.found, scores.true, scores.precision, scores.recall) == (3, 4, 1.0, 0.75)
    # A wrong edge merges two groups: every pair across them is a false positive.
    merged = pair_scores([(1, 2), (2, 3), (4, 5), (3, 4)], truth)
    assert merged.found == 10
    assert merged.precision == pytest.approx(4 / 10)
    assert merged.recall == 1.0
