"""Choosing a similarity threshold from labelled pairs (what ``ris calibrate`` runs).

Given the similarities of pairs a user knows to be the same picture (positives) and of
pairs known to differ (negatives), :func:`calibrate` picks the lowest threshold at which
at most ``target_fpr`` of the negatives would be accepted, and reports how many
positives that threshold accepts. The engine's own defaults were chosen this way on the
benchmark (BENCHMARKS.md).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Calibration", "calibrate"]


@dataclass(frozen=True)
class Calibration:
    """A threshold and what it does on the pairs it was derived from."""

    threshold: float
    false_positive_rate: float
    true_positive_rate: float
    positives: int
    negatives: int


def calibrate(positive: Sequence[float], negative: Sequence[float], target_fpr: float = 0.01) -> Calibration:
    """The lowest threshold (similarity >= threshold is a match) accepting at most
    ``target_fpr`` of ``negative``; ValueError without negatives or with a bad rate."""
    if not 0.0 <= target_fpr < 1.0:
        raise ValueError(f"target_fpr must be in [0, 1), not {target_fpr}")
    neg = np.sort(np.asarray(negative, dtype=np.float64))[::-1]
    pos = np.asarray(positive, dtype=np.float64)
    if not len(neg):
        raise ValueError("calibration needs at least one negative pair")
    allowed = math.floor(target_fpr * len(neg))
    # Just above the highest negative that must be rejected; ties are rejected too.
    threshold = float(np.nextafter(neg[allowed], np.inf)) if allowed < len(neg) else float(neg[-1])
    return Calibration(
        threshold,
        float(np.mean(neg >= threshold)),
        float(np.mean(pos >= threshold)) if len(pos) else float("nan"),
        len(pos),
        len(neg),
    )
