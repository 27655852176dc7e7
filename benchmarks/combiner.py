"""Issue 13's "measure both": the hand-written decision against a fitted logistic combiner.

``python -m benchmarks.combiner`` builds the tuning and held-out datasets of
``python -m benchmarks run --quick`` (the same builders and sizes), gathers the
:class:`~ris_local.scoring.evidence.Evidence` of every pair a search scores (each query
against every candidate the cascade proposes, plus the ``max_count`` rows nearest in hash
that a threshold-0 search adds: the benchmark's own searches), and scores each pair two
ways:

* **rules**: :func:`~ris_local.scoring.decision.decide`, as shipped;
* **combiner**: a logistic regression over a small fixed feature vector of the evidence
  (:func:`features`), fitted on the tuning half's pairs only (a query with its target is
  a positive, every other scored pair a negative), with the sure-hash shortcut and the
  colour veto kept as rules.

Both are reported on the held-out half (and, beside it, the tuning half they were fitted
or tuned on): ROC AUC over the scored pairs and over queries (a positive query's target
against a negative query's best candidate), true matches accepted at the 1%-FPR
threshold, photograph and graphic negatives passing the default threshold, and recall@1
(the combiner re-ranks each query's candidates). ``--cache`` keeps the gathered evidence
(JSON) so a second run, or an experiment on the decision, skips extraction.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import dataclasses
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from benchmarks.__main__ import QUICK
from benchmarks.dataset import Dataset, build_dataset
from benchmarks.methods import extract_all
from benchmarks.metrics import threshold_for_fpr
from benchmarks.sources import available_sources
from benchmarks.split import SPLITS
from ris_local.features import layout
from ris_local.index.cascade import hash_distances
from ris_local.robust import RobustEngine
from ris_local.scoring.decision import decide, hash_similarity
from ris_local.scoring.evidence import Evidence, KeypointEvidence, ThumbnailLook
from ris_local.scoring.gather import gather
from ris_local.scoring.policy import POLICY

__all__ = ["FEATURES", "Pair", "Scored", "features", "gathered", "measure"]

_ENGINE = "ris (RobustEngine)"
_TOP = 10  # the benchmark's searches keep this many hits (benchmarks.accuracy)
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Pair:
    """One scored pair: the query (its index in the half), the query's family and
    expected key, the candidate's key, and the pair's evidence."""

    query: int
    family: str
    expected: int
    key: int
    evidence: Evidence


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _candidates(index: object, blob: bytes) -> list[int]:
    """The rows a threshold-0, top-10 search of ``blob`` scores: the cascade's
    candidates and the ``_TOP`` nearest rows in hash that no look proposed."""
    core = index.core  # type: ignore[attr-defined]
    query, ok = layout.from_blob(blob), core.alive.copy()
    rows = core.candidates(query, ok, False, True)
    rest = np.setdiff1d(np.flatnonzero(ok), rows).astype(np.int64)
    distance = hash_distances(query.codes, core.stored_codes(rest))
    nearest = rest[np.lexsort((core.keys[rest], distance))[:_TOP]]
    return np.concatenate([rows, nearest]).astype(np.int64).tolist()  # type: ignore[no-any-return]


def gathered(data: Dataset) -> list[Pair]:
    """Every pair the benchmark's searches of ``data`` score, with its evidence."""
    keys = list(data.index)
    queries = data.positives + data.negatives
    _log(f"extracting {len(keys) + len(queries)} images")
    blobs, _ = extract_all(_ENGINE, [data.index[k] for k in keys] + [q.data for q in queries])
    index = RobustEngine().new_index()
    index.add(keys, blobs[: len(keys)])
    stored = {key: layout.from_blob(blob) for key, blob in zip(keys, blobs, strict=False)}
    row_keys = index.core.keys
    pairs = []
    _log(f"gathering the evidence of {len(queries)} queries")
    for i, (query, blob) in enumerate(zip(queries, blobs[len(keys) :], strict=True)):
        features_ = layout.from_blob(blob)
        for row in _candidates(index, blob):
            key = int(row_keys[row])
            pairs.append(Pair(i, query.family, query.expected, key, gather(features_, stored[key], POLICY)))
        if i % 500 == 499:
            _log(f"  {i + 1} queries")
    return pairs


def _to_json(pair: Pair) -> dict[str, object]:
    return dataclasses.asdict(pair)


def _from_json(item: dict[str, object]) -> Pair:
    ev = dict(item["evidence"])  # type: ignore[call-overload]
    kp = ev["keypoints"]
    evidence = Evidence(
        ev["hash_distance"],
        ev["flat"],
        tuple(ev["keypoint_counts"]),
        KeypointEvidence(**kp) if kp is not None else None,
        tuple(ThumbnailLook(**look) for look in ev["thumbnails"]),
    )
    return Pair(item["query"], item["family"], item["expected"], item["key"], evidence)  # type: ignore[arg-type]


def load_or_gather(cache: Path | None) -> dict[str, list[Pair]]:
    """Each half's pairs: from ``cache`` when it exists, else gathered (and cached)."""
    if cache is not None and cache.exists():
        raw = json.loads(cache.read_text())
        return {half: [_from_json(p) for p in pairs] for half, pairs in raw.items()}
    sources = tuple(available_sources())
    halves: dict[str, list[Pair]] = {}
    for half in SPLITS:
        _log(f"building the {half} dataset (--quick sizes) from {', '.join(sources)}")
        halves[half] = gathered(build_dataset(sources, QUICK, split=half))
        if cache is not None:  # each half as it is done: the tuning half can be studied early
            cache.with_suffix(f".{half}.json").write_text(json.dumps([_to_json(p) for p in halves[half]]))
    if cache is not None:
        cache.write_text(json.dumps({h: [_to_json(p) for p in pairs] for h, pairs in halves.items()}))
    return halves


# -- the combiner's features ------------------------------------------------------------

#: The feature vector's names, in order (see :func:`features`).
FEATURES = (
    "hash",
    "flat",
    "inliers",
    "coverage",
    "spread",
    "inliers x coverage",
    "upright thumbnail",
    "agreeing thumbnail",
    "turned thumbnail",
    "keypoint silence",
)


def _closeness(correlation: float) -> float:
    """-log(1 - r): the informative end of a correlation (0.9 to 1) spread out."""
    return float(-np.log(max(1e-4, 1.0 - max(0.0, correlation))))


def features(evidence: Evidence) -> F64:
    """The fixed feature vector of a pair's evidence (names in :data:`FEATURES`)."""
    kp = evidence.keypoints
    excess = 0.0 if kp is None else max(0.0, kp.inliers - POLICY.chance * float(np.sqrt(kp.tentative)))
    inliers = float(np.log1p(excess))
    coverage = 0.0 if kp is None else min(1.0, kp.coverage)
    spread = 0.0 if kp is None else min(1.0, kp.spread / POLICY.spread_high)
    upright = [look for look in evidence.thumbnails if not look.turned]
    turned = [look.correlation for look in evidence.thumbnails if look.turned]
    best_upright = max(upright, key=lambda look: look.correlation, default=None)
    silence = float(min(evidence.keypoint_counts) >= POLICY.confirm_keypoints and excess < POLICY.weak_inliers)
    return np.array(
        [
            hash_similarity(evidence.hash_distance, evidence.flat, POLICY) / 100.0,
            float(evidence.flat),
            inliers,
            coverage,
            spread,
            inliers * coverage,
            _closeness(best_upright.correlation) if best_upright else 0.0,
            float(best_upright is not None and best_upright.centre_agrees) * _closeness(best_upright.correlation)
            if best_upright
            else 0.0,
            _closeness(max(turned, default=0.0)),
            silence,
        ]
    )


@dataclass
class Combiner:
    """A logistic model over :func:`features`, its probability mapped onto 0..100 so
    that ``at_70`` (a logit) scores the default threshold; the sure hash and the colour
    veto stay rules."""

    mean_: F64
    scale_: F64
    coef_: F64
    intercept_: float
    at_70: float = 0.0
    slope: float = 10.0

    def logit(self, evidence: Evidence) -> float:
        """The model's log-odds that the pair is the same picture."""
        x = (features(evidence) - self.mean_) / self.scale_
        return float(x @ self.coef_ + self.intercept_)

    def similarity(self, evidence: Evidence) -> float:
        """0..100: the sure hash and the colour veto as the rules have them, else the
        logit mapped linearly (``slope`` per unit of log-odds, 70 at ``at_70``)."""
        by_hash = hash_similarity(evidence.hash_distance, evidence.flat, POLICY)
        if by_hash >= POLICY.sure_similarity:
            return by_hash
        if evidence.keypoints is not None and evidence.keypoints.colours_clash:
            return 0.0
        return float(
            min(POLICY.sure_similarity - 1e-6, max(0.0, 70.0 + self.slope * (self.logit(evidence) - self.at_70)))
        )


def fit(pairs: Sequence[Pair], c: float = 1.0) -> Combiner:
    """The combiner fitted on ``pairs`` (the tuning half's): target pairs against every
    other scored pair, the sure-hash and colour-veto pairs left to their rules."""
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

    ruled = [_ruled(p.evidence) for p in pairs]
    x = np.array([features(p.evidence) for p, r in zip(pairs, ruled, strict=True) if not r])
    y = np.array([p.key == p.expected for p, r in zip(pairs, ruled, strict=True) if not r])
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    model = LogisticRegression(C=c, max_iter=2000, class_weight="balanced").fit((x - mean) / scale, y)
    return Combiner(mean, scale, model.coef_[0], float(model.intercept_[0]))


def _ruled(evidence: Evidence) -> bool:
    by_hash = hash_similarity(evidence.hash_distance, evidence.flat, POLICY)
    clash = evidence.keypoints is not None and evidence.keypoints.colours_clash
    return by_hash >= POLICY.sure_similarity or clash


def calibrate(combiner: Combiner, pairs: Sequence[Pair]) -> Combiner:
    """``at_70`` set on ``pairs`` (the tuning half's) so that the default threshold lets
    in at most 1% of the photograph negatives: the logit just above the one the 1%-FPR
    threshold rejects, plus a margin of half a unit of log-odds."""
    best: dict[int, float] = {}
    for p in pairs:
        if p.family == "negative" and not _ruled(p.evidence):
            best[p.query] = max(best.get(p.query, -np.inf), combiner.logit(p.evidence))
    negatives = sorted(best.values(), reverse=True)
    queries = len({p.query for p in pairs if p.family == "negative"})
    allowed = int(np.floor(0.01 * queries))
    rejected = negatives[allowed] if allowed < len(negatives) else -np.inf
    return dataclasses.replace(combiner, at_70=float(rejected) + 0.5)


# -- measuring a scorer -------------------------------------------------------------------


@dataclass(frozen=True)
class Scored:
    """One scorer's figures on one half."""

    pair_auc: float
    query_auc: float
    threshold: float
    accepted: float
    negatives_at_70: float
    graphics_at_70: float
    recall_at_1: float
    accepted_by_family: dict[str, float]
    #: Why each true match that is not accepted is not: never a candidate, a candidate
    #: ranked past the top 10, or in the top 10 below the threshold (by its stage).
    misses: dict[str, int]


def measure(pairs: Sequence[Pair], score: Callable[[Evidence], float]) -> Scored:
    """A scorer's figures on one half's pairs (see the module docstring)."""
    from sklearn.metrics import roc_auc_score  # type: ignore[import-untyped]

    by_query: dict[int, list[tuple[float, int, Pair]]] = {}
    for p in pairs:
        by_query.setdefault(p.query, []).append((score(p.evidence), p.key, p))
    labels = [p.key == p.expected for q in by_query.values() for _, _, p in q]
    pair_auc = float(roc_auc_score(labels, [s for q in by_query.values() for s, _, _ in q]))
    tops: dict[int, float] = {}
    ranks: dict[int, int | None] = {}
    target_scores: dict[int, float] = {}
    families: dict[int, str] = {}
    for qid, scored in by_query.items():
        scored.sort(key=lambda item: (-item[0], item[1]))
        tops[qid] = scored[0][0]
        first = scored[0][2]
        families[qid] = first.family
        if first.expected >= 0:
            keys = [key for _, key, _ in scored]
            rank = keys.index(first.expected) + 1 if first.expected in keys else None
            ranks[qid] = rank if rank is not None and rank <= _TOP else None
            target_scores[qid] = scored[rank - 1][0] if rank is not None and rank <= _TOP else 0.0
    photo = [tops[q] for q in tops if families[q] == "negative"]
    graphic = [tops[q] for q in tops if families[q] == "negative-graphic"]
    threshold = threshold_for_fpr(photo)
    positives = sorted(ranks)
    accepted = {q: ranks[q] is not None and target_scores[q] >= threshold for q in positives}
    query_auc = float(
        roc_auc_score([1] * len(positives) + [0] * len(photo), [target_scores[q] for q in positives] + photo)
    )
    by_family: dict[str, list[bool]] = {}
    for q in positives:
        by_family.setdefault(families[q], []).append(accepted[q])
    misses: dict[str, int] = {}
    for q in positives:
        if not accepted[q]:
            target = [p for _, _, p in by_query[q] if p.key == p.expected]
            why = (
                "not a candidate"
                if not target
                else "a candidate past the top 10"
                if ranks[q] is None
                else f"top 10, under the threshold ({decide(target[0].evidence, POLICY).stage.value} stage)"
            )
            misses[why] = misses.get(why, 0) + 1
    return Scored(
        pair_auc,
        query_auc,
        threshold,
        float(np.mean(list(accepted.values()))),
        float(np.mean(np.asarray(photo) >= 70.0)),
        float(np.mean(np.asarray(graphic) >= 70.0)) if graphic else float("nan"),
        float(np.mean([ranks[q] == 1 for q in positives])),
        {f: float(np.mean(v)) for f, v in sorted(by_family.items())},
        dict(sorted(misses.items())),
    )


def rules(evidence: Evidence) -> float:
    """Today's hand-written decision."""
    return decide(evidence, POLICY).similarity


def render(halves: dict[str, list[Pair]], combiner: Combiner, sweep: dict[float, Combiner], command: str) -> str:
    """The side-by-side table, held-out first, each cell reading held-out / tuning."""
    scorers = {"rules (decide)": rules, "logistic combiner": combiner.similarity}
    results = {name: {h: measure(halves[h], fn) for h in ("held-out", "tuning")} for name, fn in scorers.items()}
    rows = [
        ("ROC AUC over scored pairs", "pair_auc", "{:.4f}"),
        ("ROC AUC, positive queries' target vs photo negatives' best", "query_auc", "{:.4f}"),
        ("threshold at 1% FPR", "threshold", "{:.1f}"),
        ("true matches accepted at the 1%-FPR threshold", "accepted", "{:.3f}"),
        ("photo negatives passing 70", "negatives_at_70", "{:.3f}"),
        ("graphic negatives passing 70", "graphics_at_70", "{:.3f}"),
        ("recall@1", "recall_at_1", "{:.3f}"),
    ]
    lines = [
        f"Generated by `{command}`. Each cell reads **held-out / tuning**; the combiner was fitted, and its",
        "default-threshold point set, on the tuning half only.",
        "",
        "| figure | " + " | ".join(scorers) + " |",
        "|---|" + "---|" * len(scorers),
    ]
    for label, attr, fmt in rows:
        cells = [" / ".join(fmt.format(getattr(results[n][h], attr)) for h in ("held-out", "tuning")) for n in scorers]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines += ["", "Accepted at the 1%-FPR threshold, per family (held-out / tuning):", ""]
    lines += ["| family | " + " | ".join(scorers) + " |", "|---|" + "---|" * len(scorers)]
    for family in results["rules (decide)"]["held-out"].accepted_by_family:
        cells = [
            " / ".join(
                f"{results[n][h].accepted_by_family.get(family, float('nan')):.3f}" for h in ("held-out", "tuning")
            )
            for n in scorers
        ]
        lines.append(f"| {family} | " + " | ".join(cells) + " |")
    lines += ["", "True matches not accepted at the 1%-FPR threshold, and why (held-out / tuning):", ""]
    lines += ["| why | " + " | ".join(scorers) + " |", "|---|" + "---|" * len(scorers)]
    reasons = sorted({r for n in scorers for h in ("held-out", "tuning") for r in results[n][h].misses})
    for reason in reasons:
        cells = [" / ".join(str(results[n][h].misses.get(reason, 0)) for h in ("held-out", "tuning")) for n in scorers]
        lines.append(f"| {reason} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "The combiner at other regularisations (held-out / tuning), each fitted and calibrated on tuning:",
        "",
    ]
    lines += [
        "| C | pair AUC | threshold at 1% FPR | accepted there | photo negatives at 70 | graphics at 70 | recall@1 |"
    ]
    lines += ["|---|---|---|---|---|---|---|"]
    for c, other in sweep.items():
        got = {h: measure(halves[h], other.similarity) for h in ("held-out", "tuning")}
        cells = [
            " / ".join(fmt.format(getattr(got[h], attr)) for h in ("held-out", "tuning"))
            for _, attr, fmt in rows
            if attr not in ("query_auc",)
        ]
        lines.append(f"| {c:g} | " + " | ".join(cells) + " |")
    weights = ", ".join(f"{name} {w:+.2f}" for name, w in zip(FEATURES, combiner.coef_, strict=True))
    lines += ["", f"Combiner (standardised features): intercept {combiner.intercept_:+.2f}; {weights}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.combiner", description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, help="JSON of the gathered evidence, made if missing")
    parser.add_argument("--c", type=float, default=1.0, help="the logistic regression's inverse regularisation")
    parser.add_argument("--out", type=Path, help="where to write the report (default: print it)")
    args = parser.parse_args()
    halves = load_or_gather(args.cache)
    tuning = halves["tuning"]
    combiner = calibrate(fit(tuning, args.c), tuning)
    sweep = {c: calibrate(fit(tuning, c), tuning) for c in (0.01, 0.1, 10.0) if c != args.c}
    text = render(halves, combiner, sweep, "python -m benchmarks.combiner")
    if args.out is not None:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
