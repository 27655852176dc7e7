"""The threshold calibration behind ``ris calibrate``."""

from __future__ import annotations

import pytest

from ris_core.calibration import calibrate


def test_threshold_admits_at_most_the_target_share_of_negatives() -> None:
    negatives = [float(i) for i in range(100)]  # 0..99
    result = calibrate([95.0, 99.5, 50.0], negatives, target_fpr=0.01)
    assert 98.0 < result.threshold <= 99.0 + 1e-9
    assert result.false_positive_rate == pytest.approx(0.01)
    assert result.true_positive_rate == pytest.approx(1 / 3)


def test_zero_fpr_rejects_every_negative() -> None:
    result = calibrate([90.0], [10.0, 80.0], target_fpr=0.0)
    assert result.threshold > 80.0 and result.false_positive_rate == 0.0 and result.true_positive_rate == 1.0


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        calibrate([1.0], [], 0.01)
    with pytest.raises(ValueError):
        calibrate([1.0], [1.0], 1.5)
