"""Choosing a similarity threshold from labelled pairs, for any backend.

Given pairs of images a user knows to be the same picture (positives) and pairs known
to differ (negatives), :func:`calibrate_pairs` scores every pair with the backend's own
``compare_images`` and :func:`calibrate` picks the lowest threshold at which at most
``target_fpr`` of the negatives would be accepted, reporting how many positives it
accepts. The local engine's defaults were chosen this way on the benchmark
(BENCHMARKS.md); ``ris calibrate`` runs the same on a CSV of pairs.

A threshold from a handful of pairs is a guess, so :class:`Calibration` carries
warnings when there are too few pairs of either kind: fewer than :data:`MIN_PAIRS`
same-picture pairs (the accepted share is then too coarse to trust), or fewer
different-picture pairs than it takes to observe ``target_fpr`` at all
(``ceil(1 / target_fpr)``, and at least :data:`MIN_PAIRS`; with fewer, the threshold
merely rejects every different pair it was shown).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ris_core.errors import InvalidArgumentError
from ris_core.images import ImageInput

if TYPE_CHECKING:
    from ris_core.system import ImageSearch

__all__ = ["MIN_PAIRS", "Calibration", "LabelledPair", "calibrate", "calibrate_pairs", "score_pairs"]

#: Fewer pairs than this of either kind make a threshold a guess (see the module's docstring).
MIN_PAIRS = 20

#: Called after each pair is scored with (pairs done, pairs in all).
PairProgress = Callable[[int, int], None]


@dataclass(frozen=True)
class Calibration:
    """A threshold and what it does on the pairs it was derived from."""

    threshold: float
    false_positive_rate: float
    true_positive_rate: float
    positives: int
    negatives: int
    #: Why the threshold should not be trusted yet (too few pairs), if it should not.
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class LabelledPair:
    """Two images and whether a person calls them the same picture."""

    first: ImageInput
    second: ImageInput
    same: bool


def calibrate(positive: Sequence[float], negative: Sequence[float], target_fpr: float = 0.01) -> Calibration:
    """The lowest threshold (similarity >= threshold is a match) accepting at most
    ``target_fpr`` of ``negative``; InvalidArgumentError without negatives or with a bad rate."""
    if not 0.0 <= target_fpr < 1.0:
        raise InvalidArgumentError(f"target_fpr must be in [0, 1), not {target_fpr}")
    neg = np.sort(np.asarray(negative, dtype=np.float64))[::-1]
    pos = np.asarray(positive, dtype=np.float64)
    if not len(neg):
        raise InvalidArgumentError("calibration needs at least one pair labelled as different pictures")
    allowed = math.floor(target_fpr * len(neg))
    # Just above the highest negative that must be rejected; ties are rejected too.
    threshold = float(np.nextafter(neg[allowed], np.inf)) if allowed < len(neg) else float(neg[-1])
    threshold = min(threshold, 100.0)
    return Calibration(
        threshold,
        float(np.mean(neg >= threshold)),
        float(np.mean(pos >= threshold)) if len(pos) else float("nan"),
        len(pos),
        len(neg),
        _warnings(len(pos), len(neg), target_fpr),
    )


def _warnings(positives: int, negatives: int, target_fpr: float) -> tuple[str, ...]:
    found = []
    if positives < MIN_PAIRS:
        found.append(
            f"only {positives} same-picture pair(s): the share accepted is a rough estimate; label at least {MIN_PAIRS}"
        )
    needed = max(MIN_PAIRS, math.ceil(1 / target_fpr) if target_fpr > 0 else MIN_PAIRS)
    if negatives < needed:
        found.append(
            f"only {negatives} different-picture pair(s): a false-positive rate of {target_fpr:.2%} "
            f"cannot be observed on fewer than {needed}; the threshold just rejects the pairs given"
        )
    return tuple(found)


def score_pairs(
    system: ImageSearch, pairs: Iterable[LabelledPair], on_progress: PairProgress | None = None
) -> list[tuple[float, bool]]:
    """``(similarity, same)`` of each pair, from the backend's ``compare_images``.

    Works in a temporary context that is deleted afterwards, whatever happens.
    ``on_progress(done, total)`` is called after each pair.
    """
    pairs = list(pairs)
    context = system.create_context(f"calibrate-{uuid.uuid4().hex[:12]}")
    try:
        stored: dict[str, str] = {}
        scores = []
        for pair in pairs:
            first = system.load(pair.first)
            if first.sha256 not in stored:
                stored[first.sha256] = f"image-{len(stored)}"
                context.add_image(stored[first.sha256], first)
            comparison = context.compare_images(stored[first.sha256], other_image=pair.second)
            scores.append((comparison.similarity, pair.same))
            if on_progress is not None:
                on_progress(len(scores), len(pairs))
        return scores
    finally:
        system.delete_context(context.name)


def calibrate_pairs(
    system: ImageSearch,
    pairs: Iterable[LabelledPair],
    target_fpr: float = 0.01,
    on_progress: PairProgress | None = None,
) -> Calibration:
    """The threshold for ``system``'s backend that admits at most ``target_fpr`` of the
    pairs labelled different, and the share of same-picture pairs it accepts."""
    scores = score_pairs(system, pairs, on_progress)
    return calibrate([s for s, same in scores if same], [s for s, same in scores if not same], target_fpr)
