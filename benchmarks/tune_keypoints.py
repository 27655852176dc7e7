"""The keypoint curve: keypoints the robust index keeps per image against recall@1.

``python -m benchmarks.tune_keypoints --size quick --keep 200,400,600`` builds the
*tuning* half only (it never looks at the held-out half), extracts the queries once with
the engine as it stands, then for each count extracts the indexed images again with the index keeping ``k``
keypoints of the work scale per image (``features.INDEX_KEYPOINTS``; the coarse ones
come on top) and measures, per family, recall@1 of the positives, and the share of photograph
and graphic negatives whose best hit reaches the default threshold. ``--families``
narrows the positives (the negatives always run), so a question about the new families
costs a fraction of a full ``python -m benchmarks run``.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import multiprocessing
import pickle
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from benchmarks.dataset import Dataset, Query, build_dataset
from benchmarks.sources import available_sources

_ENGINE = "ris (RobustEngine)"


def _dataset(size: str, cache: Path | None) -> Dataset:
    from benchmarks.__main__ import MEDIUM, QUICK

    if cache is not None and cache.exists():
        with cache.open("rb") as handle:
            data: Dataset = pickle.load(handle)
        return data
    data = build_dataset(tuple(available_sources()), {"quick": QUICK, "medium": MEDIUM}[size], split="tuning")
    if cache is not None:
        with cache.open("wb") as handle:
            pickle.dump(data, handle)
    return data


def _start(keep: int) -> None:
    from ris_local.features import layout as features

    features.INDEX_KEYPOINTS = keep


def _extract(data: bytes) -> bytes:
    from ris_core.images import load_image
    from ris_local.robust import RobustEngine

    return RobustEngine().extract(load_image(data))


def _extracted(images: list[bytes], keep: int, cache: Path | None) -> list[bytes]:
    """Blobs of ``images`` made with the index keeping ``keep`` work-scale keypoints."""
    if cache is not None and cache.exists():
        blobs: list[bytes] = pickle.loads(cache.read_bytes())
        return blobs
    with multiprocessing.get_context("forkserver").Pool(2, initializer=_start, initargs=(keep,)) as pool:
        blobs = pool.map(_extract, images, chunksize=32)
    if cache is not None:
        cache.write_bytes(pickle.dumps(blobs))
    return blobs


def _reader(stored: dict[int, bytes]) -> Callable[[list[int]], dict[int, bytes]]:
    return lambda wanted: {key: stored[key] for key in wanted}


def measure(
    data: Dataset, families: set[str] | None, keeps: list[int], threshold: float, blob_cache: Path | None = None
) -> list[str]:
    """One line per kept count: recall@1 per family, negatives passing, query time."""
    from ris_local.robust import RobustEngine

    positives = [q for q in data.positives if families is None or q.family in families]
    queries: list[Query] = positives + data.negatives
    keys = list(data.index)
    from ris_local.features.layout import INDEX_KEYPOINTS

    queries_cache = blob_cache and blob_cache.with_suffix(".queries")
    query_blobs = _extracted([q.data for q in queries], INDEX_KEYPOINTS, queries_cache)
    lines = []
    for keep in keeps:
        index_cache = blob_cache and blob_cache.with_suffix(f".index{keep}")
        index_blobs = _extracted([data.index[k] for k in keys], keep, index_cache)
        stored = dict(zip(keys, index_blobs, strict=True))
        index = RobustEngine().new_index()
        index.add(keys, index_blobs)
        reader = _reader(stored)
        hits_at: dict[str, list[float]] = {}
        passing: dict[str, list[float]] = {}
        millis = []
        for blob, query in zip(query_blobs, queries, strict=True):
            started = time.perf_counter()
            hits = index.search(blob, 0.0, 10, None, reader)
            millis.append(1000 * (time.perf_counter() - started))
            if query.expected >= 0:
                top = hits[0] if hits else None
                found = top is not None and top.key == query.expected
                hits_at.setdefault(query.family, []).append(float(found))
                hits_at.setdefault("accepted@default", []).append(
                    float(found and top is not None and top.score.similarity >= threshold)
                )
            else:
                best = hits[0].score.similarity if hits else 0.0
                passing.setdefault(query.family, []).append(float(best >= threshold))
        cells = [f"{family} {np.mean(v):.3f}" for family, v in sorted(hits_at.items())]
        cells += [f"{family} passing {np.mean(v):.3f} of {len(v)}" for family, v in sorted(passing.items())]
        lines.append(f"keep {keep}: " + "; ".join(cells) + f"; query median {statistics.median(millis):.1f} ms")
        print(lines[-1], flush=True)
    return lines


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tune_keypoints", description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=("quick", "medium"), default="quick")
    parser.add_argument("--keep", default="200", help="comma-separated keypoint counts the index keeps")
    parser.add_argument("--families", help="comma-separated families of positives (default: all)")
    parser.add_argument("--cache", type=Path, help="pickle the tuning dataset here and reuse it")
    parser.add_argument("--blob-cache", type=Path, help="pickle the extracted blobs here and reuse them")
    args = parser.parse_args()
    data = _dataset(args.size, args.cache)
    families = set(args.families.split(",")) if args.families else None
    print(f"tuning half, --{args.size}: {len(data.index)} indexed images", file=sys.stderr)
    from ris_local.robust import RobustEngine

    measure(data, families, [int(k) for k in args.keep.split(",")], RobustEngine.default_threshold, args.blob_cache)


if __name__ == "__main__":
    main()
