"""Retrieval and duplicate-finding metrics, as pure functions of ranks and scores.

Every positive query has exactly one right answer, so average precision is the
reciprocal of its rank (0 when it is not among the first ``k`` results) and mAP is
the mean of that. The operating threshold is the lowest similarity at which at most
``fpr`` of the negative queries return anything; a true match is *accepted* when it
comes back at or above it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ris_core.groups import connected_groups

__all__ = ["FamilyScores", "PairScores", "family_scores", "pair_scores", "threshold_for_fpr"]


@dataclass(frozen=True)
class FamilyScores:
    """Metrics for one transform family (or all positives together)."""

    queries: int
    recall_at_1: float
    recall_at_10: float
    mean_ap: float
    accepted: float


@dataclass(frozen=True)
class PairScores:
    """Pairwise precision, recall and F1 of a find-duplicates run."""

    found: int
    true: int
    precision: float
    recall: float
    f1: float


def threshold_for_fpr(negative_scores: Sequence[float], fpr: float = 0.01) -> float:
    """The lowest threshold that at most ``fpr`` of the negatives reach (scores >= it)."""
    scores = np.sort(np.asarray(negative_scores, dtype=np.float64))[::-1]
    allowed = int(np.floor(fpr * len(scores)))
    if allowed >= len(scores):
        return float("-inf")
    # Just above the first negative that must be rejected.
    return float(np.nextafter(scores[allowed], np.inf))


def family_scores(ranks: Sequence[int | None], scores: Sequence[float], threshold: float) -> FamilyScores:
    """Metrics from each query's rank of its answer (None: not in the top 10) and its score."""
    n = len(ranks)
    if n == 0:
        return FamilyScores(0, float("nan"), float("nan"), float("nan"), float("nan"))
    rank = np.array([r if r is not None else 0 for r in ranks])
    found = rank > 0
    reciprocal = np.where(found, 1.0 / np.maximum(rank, 1), 0.0)
    accepted = found & (np.asarray(scores, dtype=np.float64) >= threshold)
    return FamilyScores(
        n,
        float(np.mean(rank == 1)),
        float(np.mean(found & (rank <= 10))),
        float(reciprocal.mean()),
        float(accepted.mean()),
    )


def pair_scores(found: Iterable[tuple[int, int]], groups: dict[int, int]) -> PairScores:
    """Compare the groups that ``found`` pairs make with the true groups, pair by pair.

    ``find_duplicates`` returns the connected components of the pairs it finds, so a
    user gets every pair within a component: two crops of one photograph that do not
    contain each other still share a group through the photograph itself. Pairwise
    precision and recall are taken over those grouped pairs.
    """
    members: dict[int, list[int]] = {}
    for key, group in groups.items():
        members.setdefault(group, []).append(key)
    true = {(min(a, b), max(a, b)) for keys in members.values() for i, a in enumerate(keys) for b in keys[i + 1 :]}
    got = {(a, b) for keys in connected_groups(found) for i, a in enumerate(keys) for b in keys[i + 1 :]}
    hits = len(got & true)
    precision = hits / len(got) if got else 1.0
    recall = hits / len(true) if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PairScores(len(got), len(true), precision, recall, f1)
