"""A third look for the pictures keypoints cannot hold: a small grey thumbnail, correlated.

Smooth photographs (out-of-focus petals, blurred motion, clouds, bark) give ORB few
corners, and a crop of one gives even fewer that the indexed picture shares; the
keypoint stage then verifies nothing. Their shapes survive at thumbnail size, though:
a crop of a picture is a region of the picture's thumbnail, scaled. So the query's
thumbnail is slid over a candidate's at the scales a crop can have (OpenCV's
``matchTemplate``, normalised correlation), and the candidate's over the query's (a
border or caption bar), and the best correlation is evidence for the decision
(:mod:`ris_local.scoring.decision` maps it to a similarity).

Only a few candidates are tried (those the keypoint vote ranks first and those whose
centre codes are near the query's, see :mod:`ris_local.index.cascade`), and only when the
keypoints verified nothing good; thumbnails live in the feature blob on disk (64 x 64
bytes at most), not in the index. A pure gradient (a clear sky) correlates with any
other gradient, so a query thumbnail needs some structure (``MIN_DETAIL``) to count.
On a 1,000-image run of the benchmark's dataset builder no photograph negative reached
a correlation of 0.97, and crops of the right picture mostly score 0.98 and above.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from ris_local.scoring.memo import Memo

__all__ = ["MIN_DETAIL", "SIDE", "TURNS", "correlation", "detail", "make", "mirrored", "turned"]

U8 = npt.NDArray[np.uint8]
F32 = npt.NDArray[np.float32]
#: Longer side of a thumbnail, in pixels.
SIDE = 64
#: Scales at which the query's thumbnail is tried inside the candidate's: a crop of 20%
#: per side is 0.6 of the picture, a centre 70% crop 0.7; slightly above 1 covers a
#: query with a thin border left on it.
SCALES = np.round(np.arange(0.45, 1.051, 0.05), 2)
#: ``SCALES`` as Python floats (the same values, and rounding their products is cheaper).
_SCALE_LIST = [float(scale) for scale in SCALES]
#: Fewer pixels than this on a side and a thumbnail says too little.
MIN_SIDE = 8
#: The query thumbnail's detail (standard deviation, in grey levels, of the thumbnail
#: minus its blur at ``_DETAIL_SIGMA``) must reach this: a noisy gradient has about 2.
MIN_DETAIL = 4.0
_DETAIL_SIGMA = 4.0
#: A half-size correlation below this ends the search (true crops reach 0.9 and more).
COARSE_GATE = 0.8
#: Scales refined at full size on each side of the best half-size one.
REFINE = 2


def make(gray: U8) -> U8:
    """The thumbnail of a grey picture (already cut to its content): longer side ``SIDE``."""
    height, width = gray.shape
    scale = SIDE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(cv2.resize(gray, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def detail(thumbnail: U8) -> float:
    """How much structure a thumbnail has beyond smooth shading (see ``MIN_DETAIL``);
    0.0 for one too small to tell."""
    if min(thumbnail.shape) < MIN_SIDE:
        return 0.0
    pixels = thumbnail.astype(np.float32)
    return float(np.std(pixels - cv2.GaussianBlur(pixels, (0, 0), _DETAIL_SIGMA)))


def _best(target: F32, source: F32, scales: Iterable[float], min_side: int) -> tuple[float, float]:
    """The best correlation of ``source`` scaled into ``target`` over ``scales``, and its scale."""
    return _best_of(target, _templates(source, scales, min_side))


def _templates(source: F32, scales: Iterable[float], min_side: int) -> list[tuple[float, F32]]:
    """``source`` resized to each of ``scales`` (in order) that keeps ``min_side`` pixels a side."""
    made: list[tuple[float, F32]] = []
    for scale in scales:
        width, height = round(source.shape[1] * scale), round(source.shape[0] * scale)
        if min(width, height) < min_side:
            continue
        template = cv2.resize(source, (width, height), interpolation=cv2.INTER_AREA)
        made.append((float(scale), np.asarray(template, dtype=np.float32)))
    return made


def _best_of(target: F32, templates: list[tuple[float, F32]]) -> tuple[float, float]:
    """The best correlation in ``target`` of those ``templates`` that fit in it, and its scale."""
    best, best_scale = 0.0, 0.0
    for scale, template in templates:
        if template.shape[1] > target.shape[1] or template.shape[0] > target.shape[0]:
            continue
        # minMaxLoc's maximum is the map's largest value, as ``.max()`` gives it (the map is
        # finite: OpenCV clamps a flat window's correlation), at a third of the call's cost.
        value = cv2.minMaxLoc(cv2.matchTemplate(target, template, cv2.TM_CCOEFF_NORMED))[1]
        if value > best:
            best, best_scale = value, scale
    return best, best_scale


def _half(pixels: F32) -> F32:
    height, width = pixels.shape
    size = (max(1, width // 2), max(1, height // 2))
    return np.asarray(cv2.resize(pixels, size, interpolation=cv2.INTER_AREA), dtype=np.float32)


@dataclass(frozen=True, slots=True)
class _Prepared:
    """One thumbnail's part of every correlation it is in (see :mod:`ris_local.scoring.memo`)."""

    pixels: F32
    half: F32


#: Thumbnails' parts remembered (a thumbnail's about 50 KB in all: at most about 25 MB).
_MEMO = Memo(512)


def _plain(thumbnail: U8) -> bool:
    """Whether ``detail(thumbnail) < MIN_DETAIL``, remembered while the thumbnail lives.

    The standard deviation is taken by OpenCV (in double precision) and only a value
    within ``_DETAIL_MARGIN`` of the bar is taken again exactly as :func:`detail` takes
    it (numpy's float32 sum is within about 1e-6 of it, relatively), so the answer is
    :func:`detail`'s at a fraction of the cost."""

    def make() -> bool:
        if min(thumbnail.shape) < MIN_SIDE:
            return True  # detail() is 0.0 for a thumbnail too small to tell
        pixels = thumbnail.astype(np.float32)
        rough = float(cv2.meanStdDev(pixels - cv2.GaussianBlur(pixels, (0, 0), _DETAIL_SIGMA))[1][0, 0])
        if abs(rough - MIN_DETAIL) > _DETAIL_MARGIN:
            return rough < MIN_DETAIL
        return detail(thumbnail) < MIN_DETAIL

    return _MEMO.get(thumbnail, "plain", make)


#: How far from ``MIN_DETAIL`` a rough detail must be to decide alone (grey levels).
_DETAIL_MARGIN = 1e-3


def _prepared(thumbnail: U8) -> _Prepared:
    def make() -> _Prepared:
        pixels = thumbnail.astype(np.float32)
        return _Prepared(pixels, _half(pixels))

    return _MEMO.get(thumbnail, "prepared", make)


def _coarse(thumbnail: U8) -> list[tuple[float, F32]]:
    """The half-size thumbnail at each of ``SCALES`` that keeps ``MIN_SIDE // 2`` pixels:
    the coarse pass's templates, made only for a thumbnail that is slid over another (a
    look's target needs its float and half-size copies only)."""
    return _MEMO.get(thumbnail, "coarse", lambda: _templates(_prepared(thumbnail).half, _SCALE_LIST, MIN_SIDE // 2))


def correlation(query: U8, candidate: U8, scales: npt.NDArray[np.float64] = SCALES) -> float:
    """The best normalised correlation of ``query`` scaled into ``candidate`` over
    ``scales``; 0.0 when either is too small or the query too plain to tell.

    Coarse to fine: every scale is tried on half-size thumbnails (a sixteenth of the
    work), and only when that reaches ``COARSE_GATE`` are the best scale and ``REFINE``
    neighbours on each side tried at full size. Each thumbnail's detail, float and
    half-size copies and coarse templates are made once while the array lives
    (:mod:`ris_local.scoring.memo`): the same arrays, so the same correlations."""
    if min(candidate.shape) < MIN_SIDE or _plain(query):
        return 0.0
    source, target = _prepared(query), _prepared(candidate)
    if scales is SCALES:
        coarse, scale = _best_of(target.half, _coarse(query))
    else:
        coarse, scale = _best(target.half, source.half, scales, MIN_SIDE // 2)
    if coarse < COARSE_GATE:
        return coarse
    step = float(SCALES[1] - SCALES[0])
    nearby = [s for s in scale + step * np.arange(-REFINE, REFINE + 1) if scales[0] - 1e-9 <= s <= scales[-1] + 1e-9]
    return _best(target.pixels, source.pixels, nearby, MIN_SIDE)[0]


#: Turns tried for a rotated copy (degrees): the benchmark's 3 and 10 either way.
TURNS = (-10.0, -3.0, 3.0, 10.0)


def turned(thumbnail: U8, degrees: float) -> U8:
    """``thumbnail`` turned by ``degrees`` (counter-clockwise, as Pillow's ``rotate``),
    cut to the largest upright rectangle of the same aspect with no empty corners; one
    too small to tell (``MIN_SIDE``, or none at all) comes back as it is. A turned
    thumbnail is made once while ``thumbnail`` lives, and comes back read-only."""
    return _MEMO.get(thumbnail, ("turned", float(degrees)), lambda: _turned(thumbnail, degrees))


def mirrored(thumbnail: U8) -> U8:
    """``thumbnail`` mirrored left to right (made once while it lives, read-only)."""

    def make() -> U8:
        flipped = np.ascontiguousarray(np.fliplr(thumbnail))
        flipped.flags.writeable = False
        return flipped

    return _MEMO.get(thumbnail, "mirrored", make)


def _turned(thumbnail: U8, degrees: float) -> U8:
    height, width = thumbnail.shape
    if min(height, width) < MIN_SIDE:
        return thumbnail
    cos, sin = np.cos(np.radians(abs(degrees))), np.sin(np.radians(abs(degrees)))
    shrink = min(width / (width * cos + height * sin), height / (width * sin + height * cos))
    matrix = cv2.getRotationMatrix2D((width / 2.0, height / 2.0), degrees, 1.0)
    rotated = cv2.warpAffine(thumbnail, matrix, (width, height), flags=cv2.INTER_LINEAR)
    inner_w, inner_h = max(1, int(width * shrink)), max(1, int(height * shrink))
    left, top = (width - inner_w) // 2, (height - inner_h) // 2
    inner: U8 = np.ascontiguousarray(rotated[top : top + inner_h, left : left + inner_w], dtype=np.uint8)
    inner.flags.writeable = False
    return inner
