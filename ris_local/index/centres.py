"""Centre codes: where a crop's picture is looked for when its keypoints fail.

A crop from the middle of a picture has a DCT code close to the code of the picture's
centre at about the crop's share, so each row keeps the DCT codes of its picture's
central 60%, 70% and 80% (``features.CENTRE_SHARES``) and, fourth, of its whole frame with
borders kept. The last is for border trimming, which can cut a flat, dark edge off a
crop or a picture but not off the other: a query is looked up by the code of its picture
inside its borders and by the code of its whole frame (:func:`views`), so whichever side
lost an edge, one pair still lines up.

A lookup scans every row (a few popcounts per row), which at a million rows costs a few
milliseconds, and only the keypoint stage's unsure queries make it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ris_local.features.layout import Features

__all__ = ["CANDIDATES", "RADIUS", "distance", "nearest", "row_codes", "views"]

I64 = npt.NDArray[np.int64]
U64 = npt.NDArray[np.uint64]
#: Rows, nearest first, within RADIUS bits that a lookup returns.
CANDIDATES, RADIUS = 5, 24


def views(f: Features) -> tuple[tuple[int, int], tuple[int, int]]:
    """The DCT codes a query is looked up by, for itself and for its mirror: of the
    picture inside its borders and of its whole frame."""
    whole, mirrored_whole = f.whole_frame_codes()
    return (f.codes.dct, whole), (f.codes.mirrored_dct, mirrored_whole)


def row_codes(f: Features) -> tuple[int, int, int, int]:
    """The four codes a row is found by: its ``centre_codes``, then its whole frame's."""
    first, second, third = f.centre_codes
    return first, second, third, f.whole_frame_codes()[0]


def distance(codes: tuple[int, ...], centre: U64) -> I64:
    """The distance of the nearest of ``codes`` to the nearest code of each column of
    ``centre`` (one row per code kind, as :func:`row_codes` lists them)."""
    if not centre.shape[1]:
        return np.empty(0, np.int64)
    distinct = dict.fromkeys(codes)  # a picture with nothing trimmed has one code twice
    near: I64 = np.min([np.bitwise_count(centre ^ np.uint64(code)) for code in distinct], axis=(0, 1)).astype(np.int64)
    return near


def nearest(codes: tuple[int, ...], centre: U64, rows_ok: npt.NDArray[np.bool_]) -> I64:
    """Up to ``CANDIDATES`` of the ``rows_ok`` columns of ``centre`` nearest ``codes``
    (within ``RADIUS`` bits), nearest first, ties by row; a histogram of the distances
    finds the cut-off, which is cheaper than a partial sort."""
    near = np.where(rows_ok, distance(codes, centre), 64)
    histogram = np.cumsum(np.bincount(near, minlength=65)[: RADIUS + 1])
    cutoff = int(np.searchsorted(histogram, CANDIDATES)) if len(near) else -1
    rows = np.flatnonzero(near <= min(cutoff, RADIUS))
    found: I64 = rows[np.lexsort((rows, near[rows]))][:CANDIDATES].astype(np.int64)
    return found
