"""A colour check of keypoint matches: two graphics of one layout in other colours.

Keypoints are found on grey pixels, so two logos with the same badge in the same place
and the same font (a red circle over "OUTPUT", a purple one over "READY"), two charts
of one template or two screens of one app verify geometrically, often at 100. Their
colours give them away. Each picture keeps a small chroma map (CIELAB a* and b*,
``SIDE`` cells on the longer side, at most 2 KB in the stored blob, nothing in the
index), and a keypoint match is checked by carrying the query's cells through the
fitted transform onto the stored picture's. A cell clashes when

* both sides have a colour (chroma at least ``CHROMATIC``) and their hues lie more
  than ``HUE_GAP`` degrees and ``COLOUR_DISTANCE`` apart, or
* one side is vivid (``VIVID``) and the other grey (under ``NEUTRAL``): a white badge
  against a green one, a black ground against a blue one,

and no neighbour of the stored cell agrees (a squeezed copy, which a similarity
transform aligns only near its middle, stays within a cell or so). When more than
``CLASH_SHARE`` of the cells with a colour on either side clash (and at least
``MIN_CELLS``), the match is a different picture.

What must not clash: a grey copy has no chroma at all (and then grey against vivid
says nothing), brightness and contrast scale chroma but keep hue, and a tinted copy
(sepia, a duotone: one soft hue where the picture has many, see ``TINTED``) says
nothing either. Measured on the benchmark's full dataset (BENCHMARKS.md), the check
turns away 36 of the 41 keypoint-verified false pairs at 70 or more in the
find-duplicates collection. The one true match that clashes is a copy brightened by
30%, whose clipped highlights lose their colour; its hashes settle it before any
keypoint is looked at, and a sure hash match is never overruled (see
:mod:`ris_local.index.cascade`).
"""

from __future__ import annotations

import functools

import cv2
import numpy as np
import numpy.typing as npt

from ris_local.features.decoding import area_resize

__all__ = ["CLASH_SHARE", "SIDE", "clashes", "clashing_cells", "make", "mirrored", "size_of"]

Chroma = npt.NDArray[np.int8]
#: Cells on the longer side of a chroma map.
SIDE = 32
#: A cell has a colour when its chroma (the length of (a*, b*)) reaches this, is grey
#: below NEUTRAL, and vivid from VIVID.
CHROMATIC, NEUTRAL, VIVID = 6.0, 4.0, 20.0
#: Two coloured cells disagree when their hues are further apart than this (degrees)
#: and their colours by at least COLOUR_DISTANCE (a* b* units): a brightened bluish
#: cell can turn its faint hue without changing colour much.
HUE_GAP, COLOUR_DISTANCE = 45.0, 15.0
#: Fewer clashing cells than this and the check says nothing.
MIN_CELLS = 10
#: A match clashes when more than this share of the cells where either side has a
#: colour clash.
CLASH_SHARE = 0.3
#: A picture with a colour in fewer than this share of its cells is a grey copy (or
#: nearly): grey against vivid says nothing then.
MIN_COLOURED = 0.02
#: Hue concentration (the length of the mean of the coloured cells' unit hue vectors,
#: 1.0 when every cell has one hue) of a tinted copy, whose median chroma stays under
#: TINT_CHROMA, and at most that of a picture with varied colours.
TINTED, VARIED, TINT_CHROMA = 0.95, 0.7, 30.0
#: Keypoint positions are on a grid this many units across the longer side (see
#: :mod:`ris_local.features.layout`); the fitted transforms are in those units.
_GRID = 128
#: A cell is compared with the stored cell it lands on and that cell's neighbours, so
#: that a transform a little off (a squeezed copy, fitted by a similarity) still agrees.
_NEIGHBOURS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
_STEPS = np.array((-1, 0, 1), np.int64)


def size_of(height: int, width: int) -> tuple[int, int]:
    """``(width, height)`` of the chroma map of a picture of that many pixels."""
    scale = SIDE / max(height, width)
    return max(1, round(width * scale)), max(1, round(height * scale))


def make(rgb: npt.NDArray[np.uint8]) -> Chroma:
    """The chroma map of an RGB picture (already cut to its content): ``(h, w, 2)``
    signed a* and b*, the longer side ``SIDE``; empty for an empty picture."""
    height, width = rgb.shape[:2]
    if not height or not width:
        return np.zeros((0, 0, 2), np.int8)
    small = area_resize(rgb, size_of(height, width))
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2Lab)
    return (lab[:, :, 1:].astype(np.int16) - 128).astype(np.int8)


def clashes(query: Chroma, stored: Chroma, matrix: npt.NDArray[np.float64]) -> bool:
    """Whether the colours of ``query`` carried onto ``stored`` by ``matrix`` (2 x 3,
    query grid to stored grid) disagree: see the module docstring."""
    clashing, coloured = clashing_cells(query, stored, matrix)
    return clashing >= MIN_CELLS and clashing > CLASH_SHARE * coloured


def clashing_cells(query: Chroma, stored: Chroma, matrix: npt.NDArray[np.float64]) -> tuple[int, int]:
    """How many of the query's cells carried onto ``stored`` clash in colour, and how
    many have a colour on either side; ``(0, 0)`` when the check cannot tell."""
    height, width = query.shape[:2]
    rows, cols = stored.shape[:2]
    if not height or not width or not rows or not cols:
        return 0, 0
    gx, gy = _centres(height, width)
    to_x = np.floor((matrix[0, 0] * gx + matrix[0, 1] * gy + matrix[0, 2]) * (SIDE / _GRID)).astype(np.int64)
    to_y = np.floor((matrix[1, 0] * gx + matrix[1, 1] * gy + matrix[1, 2]) * (SIDE / _GRID)).astype(np.int64)
    inside = (to_x >= 0) & (to_y >= 0) & (to_x < cols) & (to_y < rows)
    if inside.sum() < MIN_CELLS:
        return 0, 0
    to_x, to_y = to_x[inside], to_y[inside]
    # Each cell's (a*, b*) as one of the 65,536 codes of two int8s; the float chroma and
    # hue of every code are tabled (``_CHROMA``, ``_HUE``: the very values ``hypot`` and
    # ``arctan2`` give on the cells), and the thresholds on a chroma or a distance are
    # compared on the integer squares (a*, b* are integers: exact, see ``_square``).
    mine = _codes(query)[inside.ravel()]  # (n,)
    stored_codes = _codes(stored)
    # (9, n): the stored cell each lands on, and its neighbours, in ``_NEIGHBOURS``' order
    # (rows -1, 0, 1, each with columns -1, 0, 1).
    above = np.clip(to_y[None, :] + _STEPS[:, None], 0, rows - 1) * cols
    beside = np.clip(to_x[None, :] + _STEPS[:, None], 0, cols - 1)
    theirs = stored_codes[(above[:, None, :] + beside[None, :, :]).reshape(len(_NEIGHBOURS), -1)]
    mine_square, theirs_square = _SQUARE[mine], _SQUARE[theirs]
    mine_hue, theirs_hue = _HUE[mine], _HUE[theirs]
    both = (mine_square >= _square(CHROMATIC)) & (theirs_square >= _square(CHROMATIC))
    gap = np.abs((np.degrees(mine_hue - theirs_hue) + 180.0) % 360.0 - 180.0)
    da, db = _A[mine] - _A[theirs], _B[mine] - _B[theirs]
    apart = (gap > HUE_GAP) & (da * da + db * db >= _square(COLOUR_DISTANCE))
    centre = len(_NEIGHBOURS) // 2
    hue_clash = both[centre] & apart[centre] & ~(both & ~apart).any(axis=0)
    if _tinted(_CHROMA[mine], mine_hue, _CHROMA[theirs[centre]], theirs_hue[centre]):
        return 0, 0
    grey = min(_coloured_share(query), _coloured_share(stored)) < MIN_COLOURED
    tone_clash = np.zeros_like(hue_clash)
    if not grey:
        tone_clash = ((mine_square >= _square(VIVID)) & (theirs_square < _square(NEUTRAL)).all(axis=0)) | (
            (mine_square < _square(NEUTRAL)) & (theirs_square >= _square(VIVID)).all(axis=0)
        )
    coloured = (mine_square >= _square(CHROMATIC)) | (theirs_square >= _square(CHROMATIC)).any(axis=0)
    return int((hue_clash | tone_clash).sum()), int(coloured.sum())


@functools.lru_cache(maxsize=64)
def _centres(height: int, width: int) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Cell centres of a ``height`` x ``width`` map in grid units (made once per shape, read-only)."""
    ys, xs = np.mgrid[0:height, 0:width]
    gx, gy = (xs + 0.5) * (_GRID / SIDE), (ys + 0.5) * (_GRID / SIDE)
    gx.flags.writeable = False
    gy.flags.writeable = False
    return gx, gy


def _square(threshold: float) -> int:
    """The integer square a chroma (or a distance) of integer a*, b* is compared with:
    ``hypot(a, b) >= t`` exactly when ``a*a + b*b >= t*t`` for the whole-number bars
    here. Two different integer squares under 2**17 have roots at least 1/1024 apart,
    far beyond ``hypot``'s rounding, and on an exact root (3-4-5, 9-12-15) ``hypot``
    gives that root exactly (checked for every pair of a*, b* and of their differences;
    ``tests/engine/test_colour.py`` compares with the float rules on the bars)."""
    return int(threshold * threshold)


#: Every (a*, b*) of a chroma map as a code, (a* + 128) * 256 + (b* + 128): its a* and
#: b*, the square of its chroma, its chroma and its hue (radians) as ``hypot`` and
#: ``arctan2`` give them on float64 (1.3 MB in all).
_A = (np.arange(1 << 16, dtype=np.int32) >> 8) - 128
_B = (np.arange(1 << 16, dtype=np.int32) & 255) - 128
_SQUARE = _A * _A + _B * _B
_CHROMA = np.hypot(_A.astype(np.float64), _B.astype(np.float64))
_HUE = np.arctan2(_B.astype(np.float64), _A.astype(np.float64))


def _codes(chroma: Chroma) -> npt.NDArray[np.int32]:
    """Each cell's code (see ``_A``), row by row."""
    cells = chroma.reshape(-1, 2).astype(np.int32)
    return (cells[:, 0] + 128) * 256 + (cells[:, 1] + 128)


def _tinted(
    mine_chroma: npt.NDArray[np.float64],
    mine_hue: npt.NDArray[np.float64],
    theirs_chroma: npt.NDArray[np.float64],
    theirs_hue: npt.NDArray[np.float64],
) -> bool:
    """Whether one side is a tinted copy of the other (one soft hue against many)."""
    sides = []
    for chroma, hue in ((mine_chroma, mine_hue), (theirs_chroma, theirs_hue)):
        coloured = chroma >= CHROMATIC
        if not coloured.any():
            return False
        sides.append((_concentration(hue[coloured]), chroma[coloured]))
    (one, one_chroma), (other, other_chroma) = sides
    # A side's median chroma matters only when its hues are concentrated (rarely):
    # taken only then, the answer is the same.
    return (one >= TINTED and other <= VARIED and float(np.median(one_chroma)) < TINT_CHROMA) or (
        other >= TINTED and one <= VARIED and float(np.median(other_chroma)) < TINT_CHROMA
    )


def _coloured_share(chroma: Chroma) -> float:
    return float(np.count_nonzero(_SQUARE[_codes(chroma)] >= _square(CHROMATIC)) / chroma[..., 0].size)


def _concentration(hue: npt.NDArray[np.float64]) -> float:
    """How nearly all of ``hue`` (radians) point one way: 1.0 when they all agree."""
    return float(np.hypot(np.cos(hue).mean(), np.sin(hue).mean()))


def mirrored(chroma: Chroma) -> Chroma:
    """The chroma map of the mirrored picture (the mirrored keypoints' frame)."""
    return np.ascontiguousarray(chroma[:, ::-1])
