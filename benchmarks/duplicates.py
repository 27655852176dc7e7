"""find_duplicates: the one-pass join beside the per-image search (its anchor).

``python -m benchmarks.duplicates --split tuning --size medium`` builds the duplicate
collection of one half (:mod:`benchmarks.dataset`), extracts it with the default
engine, and runs ``RobustIndex.pairs`` both ways over the same blobs and the same
stored-blob reader: ``join`` (the default) and ``per-image`` (each image searched as a
query). It prints F1 at the engine's duplicate threshold, the best F1 of a sweep below
it, and milliseconds per image. Tuning work uses ``--split tuning`` only.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import pickle
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.dataset import build_dataset
from benchmarks.methods import extract_all
from benchmarks.metrics import PairScores, pair_scores
from benchmarks.sources import available_sources
from benchmarks.split import SPLITS
from ris_local.engine import BlobReader
from ris_local.robust import RobustEngine, RobustIndex

__all__ = ["collection", "measure"]

_ENGINE = "ris (RobustEngine)"


def collection(split: str, size: str, cache: Path | None) -> tuple[list[int], list[bytes], dict[int, int]]:
    """The duplicate collection's keys, blobs and true groups (cached in ``cache``)."""
    if cache is not None and cache.exists():
        with cache.open("rb") as file:
            loaded: tuple[list[int], list[bytes], dict[int, int]] = pickle.load(file)
        return loaded
    from benchmarks.__main__ import FULL, MEDIUM, QUICK

    sizes = {"quick": QUICK, "medium": MEDIUM, "full": FULL}[size]
    data = build_dataset(tuple(available_sources()), sizes, split=split)  # type: ignore[arg-type]
    keys = list(data.duplicates)
    blobs, _ = extract_all(_ENGINE, [data.duplicates[k] for k in keys])
    found = (keys, blobs, dict(data.duplicate_groups))
    if cache is not None:
        with cache.open("wb") as file:
            pickle.dump(found, file)
    return found


def _reader(keys: list[int], blobs: list[bytes]) -> BlobReader:
    stored = dict(zip(keys, blobs, strict=True))
    return lambda wanted: {key: stored[key] for key in wanted if key in stored}


def measure(
    keys: list[int], blobs: list[bytes], groups: dict[int, int], per_image: bool, sweep: float = 20.0
) -> dict[str, object]:
    """F1 at the duplicate threshold, the sweep's best, and ms per image, one way."""
    index = RobustIndex(per_image_duplicates=per_image)
    index.add(keys, blobs)
    stored = _reader(keys, blobs)
    threshold = RobustEngine.duplicate_threshold
    started = time.perf_counter()
    found = list(index.pairs(threshold, None, stored))
    seconds = time.perf_counter() - started
    at: PairScores = pair_scores([(a, b) for a, b, _ in found], groups)
    low = threshold - sweep
    scored = [(a, b, s.similarity) for a, b, s in index.pairs(low, None, stored)]
    best = max(
        ((float(t), pair_scores([(a, b) for a, b, s in scored if s >= t], groups)) for t in np.arange(low, 100.5, 1.0)),
        key=lambda item: item[1].f1,
    )
    return {
        "images": len(keys),
        "ms per image": 1000 * seconds / len(keys),
        "seconds": seconds,
        "at threshold": at,
        "best": best,
        "pairs": {(a, b): s for a, b, s in found},
    }


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.duplicates", description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=SPLITS, default="tuning")
    parser.add_argument("--size", choices=("quick", "medium", "full"), default="quick")
    parser.add_argument("--cache", type=Path, help="pickle of the extracted collection, made if missing")
    parser.add_argument("--only", choices=("join", "per-image"), help="one way only")
    args = parser.parse_args()
    keys, blobs, groups = collection(args.split, args.size, args.cache)
    results = {}
    for way in ("per-image", "join"):
        if args.only and way != args.only:
            continue
        results[way] = measure(keys, blobs, groups, per_image=way == "per-image")
        r = results[way]
        at, (bt, best) = r["at threshold"], r["best"]  # type: ignore[misc]
        print(
            f"{way:>9}: {r['images']} images, {r['ms per image']:.2f} ms/image ({r['seconds']:.2f} s); "
            f"at {RobustEngine.duplicate_threshold:g}: P {at.precision:.3f} R {at.recall:.3f} F1 {at.f1:.3f}; "
            f"best F1 {best.f1:.3f} at {bt:g}",
            flush=True,
        )
    if len(results) == 2:
        old, new = results["per-image"]["pairs"], results["join"]["pairs"]  # type: ignore[index]
        only_old = sorted(set(old) - set(new))  # type: ignore[arg-type]
        only_new = sorted(set(new) - set(old))  # type: ignore[arg-type]
        print(f"pairs only per-image: {len(only_old)}; only join: {len(only_new)}", file=sys.stderr)
        for pair in only_old[:40]:
            same = groups[pair[0]] == groups[pair[1]]
            print(f"  per-image only {pair} {old[pair]} true={same}", file=sys.stderr)  # type: ignore[index]
        for pair in only_new[:40]:
            same = groups[pair[0]] == groups[pair[1]]
            print(f"  join only {pair} {new[pair]} true={same}", file=sys.stderr)  # type: ignore[index]


if __name__ == "__main__":
    main()
