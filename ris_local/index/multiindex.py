"""Exact multi-index hashing over 64-bit codes: radius queries and a radius self-join.

Each code is cut into three substrings (21, 21 and 22 bits). If two codes differ in at
most ``r`` bits, one of the substrings differs in at most ``r // 3`` (pigeonhole), so
probing every substring value within that many bits of the query's finds every code
within ``r`` without scanning the others (Norouzi et al., "Fast exact search in Hamming
space with multi-index hashing", 2014). Each table is a sorted array of substring
values with the rows in that order: 8 bytes per code per table, 24 in all, plus the
8-byte code.

Rows are appended unsorted to a small tail that queries scan directly; the tail is
merged into the sorted tables when it passes ``max(4096, 5%)`` of the index. The radius
self-join (:meth:`MultiIndex.pairs`) is in :mod:`ris_local.index.hamming_join`.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from ris_local.faisslib import load_faiss
from ris_local.index.hamming_join import radius_join, ranges

__all__ = ["MultiIndex"]

U64 = npt.NDArray[np.uint64]
Rows = npt.NDArray[np.int64]

_CUTS = ((0, 21), (21, 21), (42, 22))  # (shift, bits) of each substring
#: Codes one probe of the tables costs as much as scanning them (measured from 100K to 10M:
#: at 1M radius 8 takes the tables and 11 the scan; at 10M radius 11 the tables, 15 the scan).
_SCAN_PER_PROBE = 600


@functools.cache
def _masks(bits: int, radius: int) -> npt.NDArray[np.uint32]:
    """Every ``bits``-bit mask with at most ``radius`` bits set."""
    masks = [0]
    for count in range(1, radius + 1):
        masks += [sum(1 << b for b in combo) for combo in itertools.combinations(range(bits), count)]
    return np.array(masks, dtype=np.uint32)


def _scan(codes: U64, queries: U64, radius: int) -> Rows:
    """Rows within ``radius`` of any query, by one compiled pass over every code."""
    faiss = load_faiss()
    codes, queries = np.ascontiguousarray(codes), np.ascontiguousarray(queries)
    result = faiss.RangeSearchResult(len(queries))
    # faiss's radius is exclusive, hence radius + 1; codes are 8 bytes each.
    faiss.hamming_range_search(
        faiss.swig_ptr(queries.view(np.uint8)),
        faiss.swig_ptr(codes.view(np.uint8)),
        len(queries),
        len(codes),
        radius + 1,
        8,
        result,
    )
    limits = faiss.rev_swig_ptr(result.lims, len(queries) + 1)
    labels = np.array(faiss.rev_swig_ptr(result.labels, int(limits[-1])), dtype=np.int64)
    return np.unique(labels)


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
        return self.within_any([query], radius)

    def within_any(self, queries: Sequence[int], radius: int) -> Rows:
        """Rows whose code differs from one of ``queries`` in at most ``radius`` bits (sorted).

        A wide radius takes so many probes that one streaming pass over every code is
        cheaper (faiss's compiled Hamming range search, on these arrays in place): the
        tables are used only when their probes are few for the index's size.
        """
        wanted = np.asarray(queries, dtype=np.uint64)
        if not len(self.codes) or not len(wanted):
            return np.empty(0, np.int64)
        probes_per_table = len(_masks(_CUTS[0][1], radius // 3))
        if len(_CUTS) * probes_per_table * _SCAN_PER_PROBE >= len(self.codes):
            return _scan(self.codes, wanted, radius)
        found = [np.arange(self._sorted, len(self.codes), dtype=np.int64)]  # the tail: scan it
        for t, (shift, bits) in enumerate(_CUTS):
            if not len(self._values[t]):
                continue
            probes = np.unique(_masks(bits, radius // 3)[None, :] ^ _substring(wanted, shift, bits)[:, None])
            low = np.searchsorted(self._values[t], probes, "left")
            high = np.searchsorted(self._values[t], probes, "right")
            hit = high > low
            if hit.any():
                found.append(self._rows[t][ranges(low[hit], high[hit])].astype(np.int64))
        rows = np.unique(np.concatenate(found))
        distance = np.bitwise_count(self.codes[rows][:, None] ^ wanted[None, :]).min(axis=1)
        close: Rows = rows[distance <= radius]
        return close

    def pairs(self, radius: int, probes: U64 | None = None, *, direct: bool | None = None) -> npt.NDArray[np.int64]:
        """Pairs of rows ``(i, j)``, ``i < j``, within ``radius`` bits, shape (p, 2), sorted.

        With ``probes`` (one code per row), the pairs are instead those where row
        ``i``'s or row ``j``'s probe is within ``radius`` of the other row's code (for
        instance the mirrored codes, to find mirrored copies); ``direct=True`` adds the
        pairs within ``radius`` too, in the same pass over the tables (see
        :mod:`ris_local.index.hamming_join`).
        """
        with_direct = probes is None if direct is None else direct
        queries = None if probes is None else np.asarray(probes, np.uint64)
        return radius_join(self.codes, self.tables(), _CUTS, radius, direct=with_direct, probes=queries)
