"""Multi-index hashing is exact: the same answers as a brute-force scan."""

from __future__ import annotations

import numpy as np

from ris_local.multiindex import MultiIndex


def random_codes(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 2**63, n, dtype=np.int64).astype(np.uint64) << np.uint64(1)
    # Plant near copies so there is something within small radii.
    for i in range(0, n, 10):
        flips = rng.choice(64, int(rng.integers(0, 10)), replace=False)
        codes[i + 1] = codes[i] ^ np.uint64(sum(1 << int(b) for b in flips))
    return codes


def test_radius_queries_match_brute_force() -> None:
    codes = random_codes(3000, 1)
    index = MultiIndex()
    index.append(codes[:2000])
    index.append(codes[2000:])  # part of it stays in the unsorted tail
    for radius in (0, 3, 8, 11):
        for q in codes[::97]:
            expected = np.flatnonzero(np.bitwise_count(codes ^ q) <= radius)
            assert np.array_equal(index.within(int(q), radius), expected)


def test_self_join_matches_brute_force() -> None:
    codes = random_codes(1500, 2)
    index = MultiIndex()
    index.append(codes)
    for radius in (2, 8):
        expected = {
            (i, j)
            for i in range(len(codes))
            for j in np.flatnonzero(np.bitwise_count(codes[i + 1 :] ^ codes[i]) <= radius) + i + 1
        }
        assert {tuple(p) for p in index.pairs(radius).tolist()} == expected
