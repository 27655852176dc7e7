"""Exact multi-index hashing over 64-bit codes: radius queries and a radius self-join.

Each code is cut into three substrings (21, 21 and 22 bits). If two codes differ in at
most ``r`` bits, one of the substrings differs in at most ``r // 3`` (pigeonhole), so
probing every substring value within that many bits of the query's finds every code
within ``r`` without scanning the others (Norouzi et al., "Fast exact search in Hamming
space with multi-index hashing", 2014). Each table is a sorted array of substring
values with the rows in that order: 8 bytes per code per table, 24 in all, plus the
8-byte code.

Rows are appended unsorted to a small tail that queries scan directly; the tail is
merged into the sorted tables when it passes ``max(4096, 5%)`` of the index.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import numpy.typing as npt

__all__ = ["MultiIndex"]

U64 = npt.NDArray[np.uint64]
Rows = npt.NDArray[np.int64]

_CUTS = ((0, 21), (21, 21), (42, 22))  # (shift, bits) of each substring


@functools.cache
def _masks(bits: int, radius: int) -> npt.NDArray[np.uint32]:
    """Every ``bits``-bit mask with at most ``radius`` bits set."""
    masks = [0]
    for count in range(1, radius + 1):
        masks += [sum(1 << b for b in combo) for combo in itertools.combinations(range(bits), count)]
    return np.array(masks, dtype=np.uint32)


def _substring(codes: U64, shift: int, bits: int) -> npt.NDArray[np.uint32]:
    return ((codes >> np.uint64(shift)) & np.uint64((1 << bits) - 1)).astype(np.uint32)


class MultiIndex:
    """Row numbers 0..n-1 of 64-bit codes, searchable by Hamming radius."""

    def __init__(self) -> None:
        self.codes: U64 = np.empty(0, dtype=np.uint64)
        self._sorted = 0  # rows below this are in the tables
        self._values: list[npt.NDArray[np.uint32]] = [np.empty(0, np.uint32) for _ in _CUTS]
        self._rows: list[npt.NDArray[np.uint32]] = [np.empty(0, np.uint32) for _ in _CUTS]

    def __len__(self) -> int:
        return len(self.codes)

    def append(self, codes: U64) -> None:
        """Add codes as the next rows."""
        self.codes = np.concatenate([self.codes, np.asarray(codes, dtype=np.uint64)])
        if len(self.codes) - self._sorted > max(4096, len(self.codes) // 20):
            self.rebuild()

    def replace(self, codes: U64) -> None:
        """Start over with exactly these codes (after removals compacted the rows)."""
        self.codes = np.asarray(codes, dtype=np.uint64)
        self.rebuild()

    def rebuild(self) -> None:
        """Sort every row into the tables."""
        for t, (shift, bits) in enumerate(_CUTS):
            values = _substring(self.codes, shift, bits)
            order = np.argsort(values, kind="stable").astype(np.uint32)
            self._values[t], self._rows[t] = values[order], order
        self._sorted = len(self.codes)

    def tables(self) -> list[tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]]:
        """The sorted (values, rows) arrays, for persistence."""
        self.rebuild() if self._sorted < len(self.codes) else None
        return list(zip(self._values, self._rows, strict=True))

    def load(self, codes: U64, tables: list[tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]]) -> None:
        """Adopt codes and tables saved by :meth:`tables` (no sorting)."""
        self.codes = codes
        self._values = [values for values, _ in tables]
        self._rows = [rows for _, rows in tables]
        self._sorted = len(codes)

    def within(self, query: int, radius: int) -> Rows:
        """Rows whose code differs from ``query`` in at most ``radius`` bits (sorted)."""
        q = np.uint64(query)
        found = [np.arange(self._sorted, len(self.codes), dtype=np.int64)]  # the tail: scan it
        for t, (shift, bits) in enumerate(_CUTS):
            if not len(self._values[t]):
                continue
            probes = _masks(bits, radius // 3) ^ np.uint32((query >> shift) & ((1 << bits) - 1))
            low = np.searchsorted(self._values[t], probes, "left")
            high = np.searchsorted(self._values[t], probes, "right")
            hit = high > low
            if hit.any():
                found.append(self._rows[t][_ranges(low[hit], high[hit])].astype(np.int64))
        rows = np.unique(np.concatenate(found))
        close: Rows = rows[np.bitwise_count(self.codes[rows] ^ q) <= radius]
        return close

    def pairs(self, radius: int, probes: U64 | None = None) -> npt.NDArray[np.int64]:
        """Pairs of rows ``(i, j)``, ``i < j``, within ``radius`` bits, shape (p, 2).

        With ``probes`` (one code per row), the pairs are instead those where row
        ``i``'s or row ``j``'s probe is within ``radius`` of the other row's code (for
        instance the mirrored codes, to find mirrored copies).
        """
        self.rebuild() if self._sorted < len(self.codes) else None
        queries = self.codes if probes is None else np.asarray(probes, np.uint64)
        found: list[npt.NDArray[np.int64]] = [np.empty(0, np.int64)]
        for t, (shift, bits) in enumerate(_CUTS):
            values, rows = self._values[t], self._rows[t]
            # Bucket offsets of every substring value: one lookup per probe, no search.
            offsets = np.concatenate([[0], np.cumsum(np.bincount(values, minlength=1 << bits))])
            own = values if probes is None else _substring(queries[rows], shift, bits)
            for mask in _masks(bits, radius // 3):
                target = (own ^ mask).astype(np.int64)
                low, high = offsets[target], offsets[target + 1]
                count = high - low
                if not count.any():
                    continue
                left = np.repeat(rows, count).astype(np.int64)
                right = rows[_ranges(low, high)].astype(np.int64)
                keep = left < right if probes is None else left != right
                left, right = left[keep], right[keep]
                close = np.bitwise_count(queries[left] ^ self.codes[right]) <= radius
                left, right = left[close], right[close]
                found.append((np.minimum(left, right) << 32) | np.maximum(left, right))
        joined = np.unique(np.concatenate(found))
        return np.stack([joined >> 32, joined & 0xFFFFFFFF], axis=1)


def _ranges(low: npt.NDArray[np.int64], high: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Concatenation of ``arange(low[i], high[i])`` for every i, without a Python loop."""
    count = high - low
    total = int(count.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    starts = np.repeat(low - np.concatenate([[0], np.cumsum(count)[:-1]]), count)
    out: npt.NDArray[np.int64] = np.asarray(starts + np.arange(total, dtype=np.int64), dtype=np.int64)
    return out
