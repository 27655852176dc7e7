"""faiss's ``IndexBinaryMultiHash`` against ris_local's ``MultiIndex`` for exact radius search.

``python -m benchmarks.multihash [--sizes 100000 1000000] [--queries 2000] [--radii 8 11]``

Both index the same uniformly random 64-bit codes; the queries are half near copies of
indexed codes (up to ``radius`` bits flipped, so every one has a true hit) and half
random codes. For each radius it checks that both return exactly the same rows for every
query, and times the 2,000 queries one at a time (as a search asks them) and, for faiss,
in one batch. Both are single-threaded (``ris_local.faisslib``). faiss's multi-hash probes
``nflip`` bit flips per table, so ``nflip = radius // nhash`` with ``nhash = 3`` tables of
21 bits is the same pigeonhole bound ``MultiIndex`` uses, and exact.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from ris_local.faisslib import load_faiss
from ris_local.index.multiindex import MultiIndex

U64 = npt.NDArray[np.uint64]
TABLES = 3


def near_copies(codes: U64, count: int, radius: int, rng: np.random.Generator) -> U64:
    """Indexed codes with up to ``radius`` random bits flipped."""
    picked = codes[rng.integers(0, len(codes), count)].copy()
    for row in range(count):
        for bit in rng.choice(64, int(rng.integers(0, radius + 1)), replace=False):
            picked[row] ^= np.uint64(1) << np.uint64(bit)
    return picked


def timed(run: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def faiss_index(codes: U64, radius: int) -> Any:
    faiss = load_faiss()
    index = faiss.IndexBinaryMultiHash(64, TABLES, 64 // TABLES)
    index.nflip = radius // TABLES
    index.add(codes.view(np.uint8).reshape(-1, 8))
    return index


def faiss_rows(index: Any, queries: U64, radius: int) -> list[npt.NDArray[np.int64]]:
    # faiss's radius is exclusive; ris's is inclusive.
    lims, _, labels = index.range_search(queries.view(np.uint8).reshape(-1, 8), radius + 1)
    return [np.sort(labels[lims[i] : lims[i + 1]]).astype(np.int64) for i in range(len(queries))]


def run(size: int, queries_count: int, radius: int, rng: np.random.Generator) -> dict[str, Any]:
    codes = rng.integers(0, 2**64, size, dtype=np.uint64)
    queries = np.concatenate(
        [near_copies(codes, queries_count // 2, radius, rng), rng.integers(0, 2**64, queries_count // 2, np.uint64)]
    )
    ours = MultiIndex()
    build_ours, _ = timed(lambda: ours.replace(codes))
    build_faiss, theirs = timed(lambda: faiss_index(codes, radius))
    ours_seconds, ours_rows = timed(lambda: [ours.within(int(q), radius) for q in queries])
    faiss_each, faiss_rows_each = timed(
        lambda: [faiss_rows(theirs, queries[i : i + 1], radius)[0] for i in range(len(queries))]
    )
    faiss_batch, faiss_rows_batch = timed(lambda: faiss_rows(theirs, queries, radius))
    identical = all(np.array_equal(a, b) for a, b in zip(ours_rows, faiss_rows_each, strict=True)) and all(
        np.array_equal(a, b) for a, b in zip(ours_rows, faiss_rows_batch, strict=True)
    )
    return {
        "codes": size,
        "radius": radius,
        "hits": sum(len(rows) for rows in ours_rows),
        "identical": identical,
        "build ours s": build_ours,
        "build faiss s": build_faiss,
        "ours ms": 1000 * ours_seconds,
        "faiss one by one ms": 1000 * faiss_each,
        "faiss batch ms": 1000 * faiss_batch,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--radii", type=int, nargs="+", default=[8, 11])
    args = parser.parse_args()
    rng = np.random.default_rng(14)
    print("| codes | radius | hits | identical | build ours / faiss (s) | ours | faiss each | faiss batch |")
    print("|---:|---:|---:|---|---|---:|---:|---:|")
    for size in args.sizes:
        for radius in args.radii:
            r = run(size, args.queries, radius, rng)
            print(
                f"| {size:,} | {radius} | {r['hits']:,} | {'yes' if r['identical'] else 'NO'} "
                f"| {r['build ours s']:.2f} / {r['build faiss s']:.2f} | {r['ours ms']:.0f} ms "
                f"| {r['faiss one by one ms']:.0f} ms | {r['faiss batch ms']:.0f} ms |"
            )


if __name__ == "__main__":
    main()
