"""Running one method over the dataset: ranks, scores, thresholds, duplicates, timings."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from benchmarks.dataset import Dataset, Query
from benchmarks.methods import extract_all, make
from benchmarks.metrics import FamilyScores, PairScores, family_scores, pair_scores, threshold_for_fpr
from ris_local.engine import BlobReader

__all__ = ["DUPLICATE_SWEEP", "MethodResult", "best_duplicates", "evaluate"]

_TOP = 10
#: find_duplicates is swept from this far below a method's own threshold up to 100.
DUPLICATE_SWEEP = 20.0
#: Families whose queries need more than a global hash (the robust stage's workload).
ROBUST_FAMILIES = ("crop", "rotation")


@dataclass
class MethodResult:
    """Everything measured for one method in one run."""

    name: str
    families: dict[str, FamilyScores]
    threshold: float
    default_threshold: float | None
    at_default: tuple[float, float] | None  # (accepted, negatives passing) at the default
    #: Share of graphic negatives (never indexed) whose best hit reaches the 1%-FPR
    #: threshold, and the default threshold (None for the anchors, which have none).
    graphics_passing: tuple[float, float | None]
    duplicates: PairScores
    duplicate_threshold: float
    duplicate_seconds: float
    extract_ms: list[float] = field(repr=False)
    search_ms: dict[str, list[float]] = field(repr=False)
    blob_bytes: float = 0.0
    #: (threshold, scores) from ``DUPLICATE_SWEEP`` below ``duplicate_threshold`` to 100,
    #: in steps of 1: the pairs found at the lowest, kept where they score >= each.
    duplicate_sweep: list[tuple[float, PairScores]] = field(repr=False, default_factory=list)
    #: Each positive query's rank of its answer (None: not in the top 10) and its score.
    ranks: list[int | None] = field(repr=False, default_factory=list)
    scores: list[float] = field(repr=False, default_factory=list)


def _reader(keys: list[int], blobs: list[bytes]) -> BlobReader:
    """Stored blobs by key, as the backend's store reads them for an index."""
    stored = dict(zip(keys, blobs, strict=True))
    return lambda wanted: {key: stored[key] for key in wanted}


def _search(
    index: object, blobs: list[bytes], queries: list[Query], stored: BlobReader
) -> tuple[list[int | None], list[float], list[float], list[float]]:
    ranks: list[int | None] = []
    scores: list[float] = []
    tops: list[float] = []
    millis: list[float] = []
    for blob, query in zip(blobs, queries, strict=True):
        started = time.perf_counter()
        hits = index.search(blob, 0.0, _TOP, None, stored)  # type: ignore[attr-defined]
        millis.append(1000 * (time.perf_counter() - started))
        keys = [hit.key for hit in hits]
        rank = keys.index(query.expected) + 1 if query.expected in keys else None
        ranks.append(rank)
        scores.append(hits[rank - 1].score.similarity if rank else 0.0)
        tops.append(hits[0].score.similarity if hits else 0.0)
    return ranks, scores, tops, millis


def evaluate(name: str, data: Dataset, workers: int = 2, log: object = print) -> MethodResult:
    """Index the dataset with the named method and measure it."""
    engine = make(name)
    keys = list(data.index)
    queries = data.positives + data.negatives
    log(f"[{name}] extracting {len(keys) + len(queries) + len(data.duplicates)} images")  # type: ignore[operator]
    blobs, seconds = extract_all(
        name, [data.index[k] for k in keys] + [q.data for q in queries] + list(data.duplicates.values()), workers
    )
    index_blobs, query_blobs, dup_blobs = (
        blobs[: len(keys)],
        blobs[len(keys) : len(keys) + len(queries)],
        blobs[len(keys) + len(queries) :],
    )
    index = engine.new_index()
    index.add(keys, index_blobs)
    log(f"[{name}] searching {len(queries)} queries")  # type: ignore[operator]
    ranks, scores, tops, millis = _search(index, query_blobs, queries, _reader(keys, index_blobs))
    positives = len(data.positives)
    # The operating point: negatives that are photographs (crops of the same
    # pictures). Graphic negatives are reported beside it (see benchmarks.graphics).
    negative_tops = list(zip(tops[positives:], data.negatives, strict=True))
    photo_tops = [t for t, q in negative_tops if q.family == "negative"]
    graphic_tops = np.asarray([t for t, q in negative_tops if q.family != "negative"])
    threshold = threshold_for_fpr(photo_tops)
    families: dict[str, FamilyScores] = {}
    by_family: dict[str, list[int]] = {}
    for i, query in enumerate(data.positives):
        by_family.setdefault(query.family, []).append(i)
    for family, members in by_family.items():
        families[family] = family_scores([ranks[i] for i in members], [scores[i] for i in members], threshold)
    families["all"] = family_scores(ranks[:positives], scores[:positives], threshold)
    default = getattr(engine, "default_threshold", None) if name.startswith("ris") else None
    at_default = None
    if default is not None:
        accepted = float(
            np.mean(
                [r is not None and s >= default for r, s in zip(ranks[:positives], scores[:positives], strict=True)]
            )
        )
        at_default = (accepted, float(np.mean(np.asarray(photo_tops) >= default)))
    graphics_passing = (
        float(np.mean(graphic_tops >= threshold)) if len(graphic_tops) else float("nan"),
        float(np.mean(graphic_tops >= default)) if default is not None and len(graphic_tops) else None,
    )
    dup_threshold = engine.duplicate_threshold if name.startswith("ris") else threshold
    log(f"[{name}] find-duplicates over {len(dup_blobs)} images")  # type: ignore[operator]
    dup_index = engine.new_index()
    dup_index.add(list(data.duplicates), dup_blobs)
    stored = _reader(list(data.duplicates), dup_blobs)
    started = time.perf_counter()
    found = [(a, b) for a, b, _ in dup_index.pairs(dup_threshold, None, stored)]
    duplicate_seconds = time.perf_counter() - started
    floor = max(0.0, float(np.floor(dup_threshold)) - DUPLICATE_SWEEP)
    scored = [(a, b, score.similarity) for a, b, score in dup_index.pairs(floor, None, stored)]
    sweep = [
        (float(t), pair_scores([(a, b) for a, b, s in scored if s >= t], data.duplicate_groups))
        for t in np.arange(floor, 100.0 + 1e-9, 1.0)
    ]
    search_ms = {"all": millis[:positives], "negative": millis[positives:]}
    for family in ROBUST_FAMILIES:
        search_ms[family] = [millis[i] for i in by_family.get(family, [])]
    return MethodResult(
        name,
        families,
        threshold,
        default,
        at_default,
        graphics_passing,
        pair_scores(found, data.duplicate_groups),
        dup_threshold,
        duplicate_seconds,
        [1000 * s for s in seconds],
        search_ms,
        float(np.mean([len(b) for b in index_blobs])),
        sweep,
        ranks[:positives],
        scores[:positives],
    )


def best_duplicates(result: MethodResult) -> tuple[float, PairScores]:
    """The threshold of the sweep with the highest find-duplicates F1, and its scores."""
    return max(result.duplicate_sweep, key=lambda item: (item[1].f1, -abs(item[0] - result.duplicate_threshold)))
