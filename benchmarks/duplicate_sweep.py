"""Why ``find_duplicates`` slows down below a threshold of 62.5: its cost per threshold.

``python -m benchmarks.duplicate_sweep --cache /tmp/quick.pkl 80 65 62.5 60 50`` runs
``RobustIndex.pairs`` on the duplicate collection of the tuning half (``--size``, quick by
default, made and cached as :mod:`benchmarks.duplicates` makes it) at each threshold, and prints the
hash look's candidate pairs, the pairs scored, the pairs found, and the CPU seconds of
the hash candidates, of the scoring and of the whole call. ``--synthetic N`` runs the
hash stage alone (no keypoints) over ``N`` synthetic codes as :mod:`benchmarks.scale`
makes them, where the candidates' cost shows.

The two steps are counted by wrapping them in this process (``hash_pairs`` and
``gather`` as :mod:`ris_local.index.self_join` calls them); nothing in them is changed.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import ris_local.index.self_join as self_join
from ris_local.index.cascade import hash_radius
from ris_local.index.scored import RobustIndex

__all__ = ["sweep"]


def _counted(function: Callable[..., Any], totals: dict[str, float], name: str) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        began = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            totals[f"{name} s"] = totals.get(f"{name} s", 0.0) + time.process_time() - began
            totals[f"{name} calls"] = totals.get(f"{name} calls", 0.0) + 1

    return wrapper


def sweep(index: RobustIndex, thresholds: list[float], reader: Any = None) -> list[dict[str, float]]:
    """One row per threshold: hash radius, hash candidate pairs, pairs scored, pairs found, CPU seconds."""
    rows = []
    real_hash, real_gather = self_join.hash_pairs, self_join.gather
    totals: dict[str, float] = {}
    hash_pairs: list[int] = []

    def hash_step(*args: Any, **kwargs: Any) -> list[tuple[int, int, int]]:
        found = list(real_hash(*args, **kwargs))  # a generator: its work is counted here
        hash_pairs.append(len(found))
        return found

    self_join.hash_pairs = _counted(hash_step, totals, "hash")  # type: ignore[assignment]
    self_join.gather = _counted(real_gather, totals, "gather")  # type: ignore[assignment]
    try:
        for threshold in thresholds:
            totals.clear()
            hash_pairs.clear()
            began = time.process_time()
            found = sum(1 for _ in index.pairs(threshold, None, reader))
            rows.append(
                {
                    "threshold": threshold,
                    "hash radius": float(hash_radius(threshold, index.policy)),
                    "hash pairs": float(sum(hash_pairs)),
                    "scored pairs": totals.get("gather calls", 0.0),
                    "found": float(found),
                    "hash CPU s": totals.get("hash s", 0.0),
                    "scoring CPU s": totals.get("gather s", 0.0),
                    "total CPU s": time.process_time() - began,
                    "load (1 min)": os.getloadavg()[0],
                }
            )
    finally:
        self_join.hash_pairs, self_join.gather = real_hash, real_gather  # type: ignore[assignment]
    return rows


def main() -> None:
    """Print the sweep as a Markdown table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.duplicate_sweep", description=__doc__.splitlines()[0])
    parser.add_argument("thresholds", nargs="+", type=float)
    parser.add_argument("--size", choices=("quick", "medium", "full"), default="quick", help="the collection's size")
    parser.add_argument("--cache", type=Path, help="pickle of the extracted tuning collection, made if missing")
    parser.add_argument("--synthetic", type=int, help="the hash stage alone over this many synthetic codes")
    args = parser.parse_args()
    if args.synthetic:
        from benchmarks.duplicates import _SCALE_SEED
        from benchmarks.scale import _load_codes, _synthetic_codes

        index = RobustIndex(keypoint_duplicates=False)
        _load_codes(index, _synthetic_codes(args.synthetic, np.random.default_rng(_SCALE_SEED)))
        reader = None
        print(f"{args.synthetic} synthetic codes (hash stage only)")
    else:
        from benchmarks.duplicates import _reader, collection

        keys, blobs, _ = collection("tuning", args.size, args.cache)
        index = RobustIndex()
        index.add(keys, blobs)
        reader = _reader(keys, blobs)
        pairs = len(keys) * (len(keys) - 1) // 2
        print(f"tuning half, {args.size} duplicate collection: {len(keys)} images, {pairs} pairs")
    rows = sweep(index, args.thresholds, reader)
    print("| " + " | ".join(rows[0]) + " |")
    print("|" + "---|" * len(rows[0]))
    for row in rows:
        cells = (f"{value:g}" if float(value).is_integer() else f"{value:.2f}" for value in row.values())
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
