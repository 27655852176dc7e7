"""A/B of the keypoint look (``InvertedFile.lookup`` / ``lookup_rows``, the scan, and
``CascadeIndex.keypoint_matches``, the vote): another revision's code (``main`` by
default) against this checkout's, in one process, on one
in-memory index of synthetic distractors built as :func:`benchmarks.scale.robust_index_times`
builds it (the stores benchmark's 100 real photos on top, its 30 crops as queries).

The two versions' methods are swapped onto the classes in turn, rounds alternating which
goes first; the CPU time (``time.process_time``) of whole ``RobustIndex.search`` calls and
of the lookups inside them is reported (the rest of a query's CPU: the vote, the
verification and the scoring). Before timing, every query's lookups are compared
array by array (same postings, same order, same dtypes), and every round's hits must equal
the first round's (same keys, same scores, same order), else the script fails.

    python -m benchmarks.scan_ab DISTRACTORS [ROUNDS] [REVISION]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
import types
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from benchmarks.scale import stored_blobs, synthetic_robust_index
from benchmarks.stores import _crop, _photo
from ris_core.images import load_image
from ris_local.engine import BlobReader, Hit
from ris_local.features import layout
from ris_local.index import invertedfile as mine
from ris_local.index.cascade import CascadeIndex
from ris_local.index.scored import RobustIndex
from ris_local.robust import RobustEngine
from ris_local.scoring.verification import signatures

__all__ = ["main"]

#: ``InvertedFile.lookup``, ``InvertedFile.lookup_rows`` and ``CascadeIndex.keypoint_matches``.
Lookups = tuple[Callable[..., Any], Callable[..., Any], Callable[..., Any]]


def _module_of(revision: str, path: str) -> types.ModuleType:
    """The module at ``path`` as ``revision`` wrote it (its own globals: a function
    taken from it calls that revision's helpers)."""
    here = os.path.dirname(os.path.abspath(__file__))
    source = subprocess.run(
        ["git", "-C", here, "show", f"{revision}:{path}"], capture_output=True, text=True, check=True
    ).stdout
    module = types.ModuleType("base_" + os.path.basename(path).removesuffix(".py"))
    exec(compile(source, f"{revision}:{path}", "exec"), module.__dict__)
    return module


def _other_revision(revision: str) -> Lookups:
    """The posting lookups and the keypoint look as ``revision`` wrote them."""
    inverted = _module_of(revision, "ris_local/index/invertedfile.py")
    cascade = _module_of(revision, "ris_local/index/cascade.py")
    return inverted.InvertedFile.lookup, inverted.InvertedFile.lookup_rows, cascade.CascadeIndex.keypoint_matches


def _same(first: Sequence[np.ndarray], second: Sequence[np.ndarray]) -> bool:
    """The same arrays, element by element and dtype by dtype."""
    pairs = zip(first, second, strict=True)
    return all(np.array_equal(x, y) and x.dtype == y.dtype for x, y in pairs)


def _check_postings(
    index: RobustIndex, queries: Sequence[bytes], variants: dict[str, Lookups], rng: np.random.Generator
) -> None:
    """Both versions' lookups give the same postings for every query, or this fails."""
    postings = index.core.postings
    for query in queries:
        f = layout.from_blob(query)
        for kps in (f.normal, f.mirrored):
            words = kps.words.astype(np.int64).ravel()
            owner = np.repeat(np.arange(len(kps.packed)), kps.words.shape[1])
            sigs = signatures(kps.packed, kps.rest)[owner]
            for budget in (1_000_000, 200_000):
                a = variants["base"][0](postings, words, sigs, budget)
                b = variants["scan"][0](postings, words, sigs, budget)
                assert _same(a[0] + (a[1],), b[0] + (b[1],)), "lookup differs"
            rows = np.sort(rng.choice(len(index.core.keys), 400, replace=False)).astype(np.int64)
            a = variants["base"][1](postings, words, sigs, rows)
            b = variants["scan"][1](postings, words, sigs, rows)
            assert _same(a, b), "lookup_rows differs"


def _run(
    index: RobustIndex, queries: Sequence[bytes], stored: BlobReader, lookups: Lookups
) -> tuple[list[list[Hit]], list[float], float]:
    """Every query searched with ``lookups`` swapped in: the hits, each query's CPU
    seconds, and the CPU seconds spent inside the lookups."""
    spent = [0.0]

    def timed(function: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            began = time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                spent[0] += time.process_time() - began

        return wrapper

    mine.InvertedFile.lookup = timed(lookups[0])  # type: ignore[method-assign]
    mine.InvertedFile.lookup_rows = timed(lookups[1])  # type: ignore[method-assign]
    CascadeIndex.keypoint_matches = lookups[2]  # type: ignore[method-assign]
    hits, cpus = [], []
    for query in queries:
        began = time.process_time()
        hits.append(index.search(query, RobustEngine.default_threshold, 10, None, stored))
        cpus.append(time.process_time() - began)
    return hits, cpus, spent[0]


def main() -> None:
    """Build the index, check the postings, then time alternating rounds."""
    n = int(sys.argv[1])
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    revision = sys.argv[3] if len(sys.argv) > 3 else "main"
    here = (mine.InvertedFile.lookup, mine.InvertedFile.lookup_rows, CascadeIndex.keypoint_matches)
    variants = {"base": _other_revision(revision), "scan": here}
    engine = RobustEngine()
    real_keys = list(range(1, 101))
    real_blobs = [engine.extract(load_image(_photo(s))) for s in real_keys]
    queries = [engine.extract(load_image(_crop(s))) for s in range(2, 32)]
    rng = np.random.default_rng(6)
    index = synthetic_robust_index(n, real_keys, real_blobs, rng)
    stored = stored_blobs(n, real_keys, real_blobs, rng)
    print(f"{n} distractors + 100 real; load {os.getloadavg()}", flush=True)
    _check_postings(index, queries, variants, rng)
    print("postings identical", flush=True)
    results: dict[str, list[tuple[float, float, float]]] = {"base": [], "scan": []}
    reference = None
    for round_ in range(rounds):
        for name in ("base", "scan") if round_ % 2 == 0 else ("scan", "base"):
            hits, cpus, scan = _run(index, queries, stored, variants[name])
            reference = hits if reference is None else reference
            assert hits == reference, f"{name} hits differ"
            figures = (sum(cpus) / len(cpus) * 1000, statistics.median(cpus) * 1000, scan / len(cpus) * 1000)
            results[name].append(figures)
            print(
                name, "round", round_, "mean query CPU ms {:.1f} median {:.1f} lookup ms/query {:.1f}".format(*figures)
            )
    for name, rows in results.items():
        best_mean, best_lookup = min(x[0] for x in rows), min(x[2] for x in rows)
        print(name, f"best-of-rounds mean query CPU ms {best_mean:.1f}, lookup ms/query {best_lookup:.1f}")
    print("hits identical over all rounds; load", os.getloadavg())


if __name__ == "__main__":
    main()
