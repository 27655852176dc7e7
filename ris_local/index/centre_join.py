"""The thumbnail look's candidates for the self-join: rows nearest in centre code.

A search whose keypoints verified nothing good tries its thumbnail on the rows whose
centre codes are nearest its own views (:meth:`CascadeIndex.centre_candidates
<ris_local.index.cascade.CascadeIndex.centre_candidates>`, :mod:`ris_local.index.centres`):
a crop from the middle of a smooth picture, which keypoints miss, has a DCT code near
the picture's centre code at about the crop's share. The self-join makes the same
lookup for every image at once. Each row has four codes it is found by
(:func:`~ris_local.index.centres.row_codes`) and four it looks with
(:func:`~ris_local.index.centres.views`: the DCT code inside the borders and of the whole
frame, upright and mirrored), and a query's distance to a row is the nearest of its
upright (or mirrored) views to the nearest of the row's codes.

:func:`centre_pairs` keeps, for each query row and each of its two orientations, the
``nearest`` rows within ``radius`` bits, ties by row: what a search keeps, except that
a search takes its nearest ``centres.CANDIDATES`` within ``centres.RADIUS`` (24 bits)
whatever the size of the collection. The join keeps a smaller radius because its
candidates come from a radius join over multi-index tables (four codes per row against
four views per row), whose cost grows with the radius; and in a large collection a
search's five nearest lie well inside it anyway (the nearest of a million random 64-bit
codes to a query is about 14 bits away). A small collection is compared pair by pair.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ris_local.index.hamming_join import BRUTE_FORCE_PAIRS
from ris_local.index.multiindex import MultiIndex

__all__ = ["VIEWS", "centre_pairs"]

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
#: The codes a row looks with, as columns of ``views``: DCT inside the borders and whole
#: frame, upright, then the same mirrored (see :func:`ris_local.index.centres.views`).
VIEWS = 4
_CODES = 4  # the codes a row is found by: its three centre shares and its whole frame


def centre_pairs(row_codes: U64, views: U64, queries: npt.NDArray[np.bool_], radius: int, nearest: int) -> I64:
    """Candidate pairs ``(a, b)``, ``a < b``, sorted, unique, shape (p, 2): for each row
    ``q`` with ``queries[q]``, the ``nearest`` other rows (nearest first, ties by row)
    within ``radius`` bits of its upright views, and the ``nearest`` of its mirrored ones.

    ``row_codes`` is (n, 4), the codes each row is found by (``centres.row_codes``);
    ``views`` is (n, 4), each row's upright views then its mirrored ones. Rows that
    should take no part at all are left out by the caller (pass their subsets)."""
    n = len(row_codes)
    if n < 2 or not queries.any() or nearest <= 0:
        return np.empty((0, 2), np.int64)
    if n * n * _CODES * VIEWS <= 4 * BRUTE_FORCE_PAIRS:
        first, second, distance = _every_pair(row_codes, views, queries, radius)
    else:
        first, second, distance = _joined(row_codes, views, queries, radius)
    keys = _nearest(first, second, distance, nearest)
    a, b = keys[:, 0], keys[:, 1]
    joined = np.unique(np.minimum(a, b) << 32 | np.maximum(a, b))
    return np.stack([joined >> 32, joined & 0xFFFFFFFF], axis=1)


def _distance(views: U64, codes: U64) -> I64:
    """Bits from the nearest of two views (rows of ``views``, shape (m, 2)) to the
    nearest of four codes (rows of ``codes``, shape (m, 4)), row by row."""
    near = np.full(len(views), 64, np.int64)
    for v in range(2):
        for c in range(_CODES):
            np.minimum(near, np.bitwise_count(views[:, v] ^ codes[:, c]), out=near)
    return near


def _every_pair(row_codes: U64, views: U64, queries: npt.NDArray[np.bool_], radius: int) -> tuple[I64, I64, I64]:
    """(query, row, orientation * 64 + distance) of every query's pairs within ``radius``,
    by comparing every pair."""
    n = len(row_codes)
    found: list[tuple[I64, I64, I64]] = []
    asking = np.flatnonzero(queries)
    step = max(1, (1 << 20) // n)
    for start in range(0, len(asking), step):
        block = asking[start : start + step]
        for side in range(2):
            look = views[block, 2 * side : 2 * side + 2]
            near = np.full((len(block), n), 64, np.int64)
            for v in range(2):
                for c in range(_CODES):
                    np.minimum(near, np.bitwise_count(look[:, v, None] ^ row_codes[None, :, c]), out=near)
            near[np.arange(len(block)), block] = 64  # not itself
            q, r = np.nonzero(near <= radius)
            found.append((block[q], r.astype(np.int64), side * 64 + near[q, r]))
    return _concatenate(found)


def _joined(row_codes: U64, views: U64, queries: npt.NDArray[np.bool_], radius: int) -> tuple[I64, I64, I64]:
    """What :func:`_every_pair` gives, through a radius join of the ``4n`` row codes
    against the ``4n`` views (virtual row ``4 * row + k``: its ``k``-th code and view)."""
    index = MultiIndex()
    index.replace(np.ascontiguousarray(row_codes.reshape(-1)))
    virtual = index.pairs(radius, probes=np.ascontiguousarray(views.reshape(-1)), direct=False)
    del index
    a, b = virtual[:, 0] // VIEWS, virtual[:, 1] // VIEWS
    pairs = np.unique(a[a != b] << 32 | b[a != b])
    a, b = pairs >> 32, pairs & 0xFFFFFFFF
    found: list[tuple[I64, I64, I64]] = []
    for query, row in ((a, b), (b, a)):
        asks = queries[query]
        query, row = query[asks], row[asks]
        for side in range(2):
            near = _distance(views[query, 2 * side : 2 * side + 2], row_codes[row])
            close = near <= radius
            found.append((query[close], row[close], side * 64 + near[close]))
    return _concatenate(found)


def _concatenate(found: list[tuple[I64, I64, I64]]) -> tuple[I64, I64, I64]:
    if not found:
        empty = np.empty(0, np.int64)
        return empty, empty, empty
    return (
        np.concatenate([f[0] for f in found]),
        np.concatenate([f[1] for f in found]),
        np.concatenate([f[2] for f in found]),
    )


def _nearest(query: I64, row: I64, distance: I64, nearest: int) -> I64:
    """(query, row) of each query's ``nearest`` rows per orientation (``distance // 64``),
    nearest first, ties by row."""
    group = query * 2 + distance // 64
    order = np.lexsort((row, distance, group))
    group, query, row = group[order], query[order], row[order]
    first = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    rank = np.arange(len(group)) - np.repeat(first, np.diff(np.r_[first, len(group)]))
    keep = rank < nearest
    return np.stack([query[keep], row[keep]], axis=1)
