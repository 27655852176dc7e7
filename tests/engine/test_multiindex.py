"""Multi-index hashing and its joins are exact: the same answers as a brute-force scan."""

from __future__ import annotations

import numpy as np
import pytest

from ris_local.index import hamming_join
from ris_local.index.multiindex import MultiIndex


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


def brute_force(codes: np.ndarray, probes: np.ndarray, radius: int) -> set[tuple[int, int]]:
    """Pairs i < j where ``probes[i]`` is within ``radius`` of ``codes[j]`` or the other way."""
    near = np.bitwise_count(probes[:, None] ^ codes[None, :]) <= radius
    np.fill_diagonal(near, False)
    i, j = np.nonzero(near | near.T)
    return {(int(a), int(b)) for a, b in zip(i, j, strict=True) if a < b}


def skewed_codes(n: int, seed: int) -> np.ndarray:
    """Codes crowded into a few substring values, so some buckets run to hundreds of rows."""
    rng = np.random.default_rng(seed)
    codes = random_codes(n, seed)
    crowd = rng.choice(n, n // 3, replace=False)
    low = np.uint64((1 << 21) - 1)
    codes[crowd] = (codes[crowd] & ~low) | (codes[crowd[0]] & low)  # one first-substring value
    codes[crowd[: n // 10]] = codes[crowd[0]]  # and some identical codes
    return codes


def test_probe_join_matches_brute_force() -> None:
    codes = random_codes(1500, 3)
    rng = np.random.default_rng(4)
    probes = random_codes(1500, 5)
    # Probes near other rows' codes, and near their own row's code (never a pair).
    near = rng.choice(1500, 300, replace=False)
    probes[near] = codes[rng.permutation(near)] ^ np.uint64(0b1001 << 30)
    probes[::11] = codes[::11] ^ np.uint64(1)
    index = MultiIndex()
    index.append(codes)
    for radius in (0, 3, 8, 11):
        mirrored = brute_force(codes, probes, radius)
        assert {tuple(p) for p in index.pairs(radius, probes).tolist()} == mirrored
        both = mirrored | brute_force(codes, codes, radius)
        found = index.pairs(radius, probes, direct=True)
        assert {tuple(p) for p in found.tolist()} == both
        assert np.array_equal(found, np.unique(found, axis=0))  # sorted, each pair once


def test_joins_over_crowded_buckets_in_small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hamming_join, "CHUNK_SLOTS", 64)  # many chunks, in every layer
    codes = skewed_codes(900, 6)
    probes = skewed_codes(900, 7)
    index = MultiIndex()
    index.append(codes)
    for radius in (2, 8):
        assert {tuple(p) for p in index.pairs(radius).tolist()} == brute_force(codes, codes, radius)
        assert {tuple(p) for p in index.pairs(radius, probes).tolist()} == brute_force(codes, probes, radius)


def test_joins_of_tiny_indexes() -> None:
    far = np.array([0, 2**64 - 1], dtype=np.uint64)
    for n in (0, 1, 2):
        index = MultiIndex()
        index.append(far[:n])
        assert index.pairs(8).shape == (0, 2)
        assert index.pairs(8, far[:n], direct=True).shape == (0, 2)
    assert index.pairs(8, far[::-1], direct=True).tolist() == [[0, 1]]


def test_radius_queries_through_the_tables_match_brute_force(monkeypatch: pytest.MonkeyPatch) -> None:
    # Small indexes are scanned; force the multi-index path so it stays exact too.
    from ris_local.index import multiindex

    monkeypatch.setattr(multiindex, "_SCAN_PER_PROBE", 0)
    codes = random_codes(3000, 4)
    index = MultiIndex()
    index.append(codes[:2500])
    index.append(codes[2500:])
    for radius in (0, 5, 11, 15):
        for q in codes[::131]:
            expected = np.flatnonzero(np.bitwise_count(codes ^ q) <= radius)
            assert np.array_equal(index.within(int(q), radius), expected)


@pytest.mark.parametrize("scan_per_probe", [0, 10**9])  # the tables, then one scan
def test_queries_for_several_codes_match_brute_force(monkeypatch: pytest.MonkeyPatch, scan_per_probe: int) -> None:
    from ris_local.index import multiindex

    monkeypatch.setattr(multiindex, "_SCAN_PER_PROBE", scan_per_probe)
    codes = random_codes(2000, 5)
    index = MultiIndex()
    index.append(codes)
    for radius in (0, 4, 11):
        for first, second in zip(codes[::89], codes[40::89], strict=False):
            near = np.minimum(np.bitwise_count(codes ^ first), np.bitwise_count(codes ^ second)) <= radius
            assert np.array_equal(index.within_any([int(first), int(second)], radius), np.flatnonzero(near))
    assert len(MultiIndex().within_any([1, 2], 3)) == 0
