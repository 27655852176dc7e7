"""Geometric verification of keypoint matches, and how much of one picture the other covers.

Matches between a query and a candidate are first filtered by weak geometric
consistency (the orientation differences of true matches agree), then a similarity
transform (rotation, uniform scale, translation) is fitted by RANSAC over plausible
hypotheses only (see :func:`fit_similarity`). A match counts only if the transform's scale is
plausible and its inliers are spread over the picture, and each keypoint counts once
on each side.

How much a match is worth (the chance level of its tentative matches, its coverage,
its spread) is the decision's to say: :func:`ris_local.scoring.decision.keypoint_similarity`.

*Coverage* is the area the two frames share under that transform, over the smaller
frame: 1.0 when one picture lies inside the other (a crop, a caption bar, a rotation
inside its frame), about 0.5 or less when two different crops of a scene merely
overlap. Crops of one photograph are different pictures, so the similarity needs both
enough inliers and a high coverage.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from ris_local.scoring.policy import POLICY, ScoringPolicy

__all__ = [
    "COPY_SCALES",
    "Match",
    "border_over_detail",
    "fit_similarity",
    "frame_overlap",
    "signatures",
    "unpack",
    "verify",
]

_ANGLE_STEPS = 64
_MIN_MATCHES = 5
_RANSAC_PIXELS = 1.5  # reprojection threshold, in 128-step grid units
_HYPOTHESES = 256  # two-match hypotheses drawn per verification
_MIN_BASELINE = 3.0  # the two matches of a hypothesis lie at least this far apart
_MAX_TURN_GAP = np.radians(20.0)  # hypothesis rotation vs the dominant orientation change
# Plausible scales from query to candidate: both frames are normalised, so a copy is
# near 1 and a crop of 5-20% per side maps to 0.6-1; a crop keeping a quarter of the area
# maps to about 0.5, a picture pasted at a third of a larger frame (picture-in-picture,
# half of a collage) to about 3. ORB's pyramid spans about 1:3.6. Tuning half
# (``benchmarks.tune_keypoints``, BENCHMARKS.md "accuracy branch"): 0.5-1.35 left
# picture-in-picture at 0.19 and collages at 0.11; 0.33-3.6 lifts them to 0.41 and 0.76.
#: 0.33-3.6 (engine 10) still refused most pictures pasted at a third of a frame: the
#: grid measures each picture by its longer side, so a third of a wide frame's height is
#: a quarter to a fifth of a taller picture (scales 4-5); the coarse keypoints the index
#: keeps carry the match past ORB's own 1:3.6. Tuning half (branch acc2's harness, engine
#: 10's blobs, 2026-12-02): 5.5 lifts heavy crops 0.742 -> 0.783, picture-in-picture
#: 0.550 -> 0.575, graphics (full index) 0.914 -> 1.000 with the rival below; the weak
#: consensus it let in at far scales (three photograph negatives at 57-62) is refused by
#: the decision (ScoringPolicy.far_scale).
_MIN_SCALE, _MAX_SCALE = 1 / 5.5, 5.5
#: Scales of whole-picture copies and light crops, where the tolerance was tuned (whole
#: benchmark); outside them the query's grid rounding is magnified (see fit_similarity).
COPY_SCALES = (0.5, 1.35)
_MIN_SPREAD = 0.02  # inliers' convex hull over the area of the query both pictures share


@dataclass(frozen=True, slots=True)
class Match:
    """A verified match: distinct inliers, coverage (0..1), the transform's scale (query
    to candidate), the tentative matches, the inliers' hull over the shared area and the
    fitted transform (query grid to candidate grid, a 2 x 3 matrix)."""

    inliers: int
    coverage: float
    scale: float = 1.0
    tentative: int = 0
    spread: float = 0.0
    matrix: npt.NDArray[np.float64] | None = None
    #: A rival transform explains nearly as much (see ``_fit``): the picture repeats, and
    #: the match is no evidence that the two are one picture; its transform still carries
    #: the colours for the colour check (two logos of one layout repeat their letters).
    ambiguous: bool = False


def unpack(packed: npt.NDArray[np.uint32]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    """``(xy on the 128 grid, orientation step 0..63)`` of packed keypoints."""
    x = (packed & 127).astype(np.float32)
    y = ((packed >> 7) & 127).astype(np.float32)
    angle = ((packed >> 14) & 63).astype(np.int64)
    return np.stack([x, y], axis=1), angle


def signatures(packed: npt.NDArray[np.uint32], rest: npt.NDArray[np.uint16]) -> npt.NDArray[np.uint32]:
    """The 28-bit signatures of keypoints: 12 bits in the packed keypoint, 16 beside it
    (see :mod:`ris_local.features.layout`)."""
    return np.asarray((packed >> 20) | (rest.astype(np.uint32) << 12), dtype=np.uint32)


def _dominant_step(query_angle: npt.NDArray[np.int64], cand_angle: npt.NDArray[np.int64]) -> int:
    """The most common orientation change, in steps of 1/64 turn (smoothed over neighbours)."""
    turn = (cand_angle - query_angle) % _ANGLE_STEPS
    votes = np.bincount(turn, minlength=_ANGLE_STEPS)
    ring = np.concatenate([votes[-1:], votes, votes[:1]])  # the steps wrap around
    return int(np.argmax(ring[:-2] + votes + ring[2:]))


def _consistent(
    query_angle: npt.NDArray[np.int64], cand_angle: npt.NDArray[np.int64], step: int
) -> npt.NDArray[np.bool_]:
    """Matches whose orientation change is near the dominant ``step`` (weak consistency)."""
    turn = (cand_angle - query_angle) % _ANGLE_STEPS
    gap = np.abs((turn - step + _ANGLE_STEPS // 2) % _ANGLE_STEPS - _ANGLE_STEPS // 2)
    return np.asarray(gap <= 3, dtype=bool)


def fit_similarity(
    src: npt.NDArray[np.float32],
    dst: npt.NDArray[np.float32],
    src_ids: npt.NDArray[np.int64],
    dst_ids: npt.NDArray[np.int64],
    turn: float,
    policy: ScoringPolicy = POLICY,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]] | None:
    """A similarity transform ``src -> dst`` by RANSAC over plausible hypotheses only
    (see :func:`_fit`, which also counts the best rival hypothesis's inliers)."""
    fitted = _fit(src, dst, src_ids, dst_ids, turn, policy)
    return None if fitted is None else fitted[:2]


def _fit(
    src: npt.NDArray[np.float32],
    dst: npt.NDArray[np.float32],
    src_ids: npt.NDArray[np.int64],
    dst_ids: npt.NDArray[np.int64],
    turn: float,
    policy: ScoringPolicy,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_], tuple[int, Callable[[], int]]] | None:
    """A similarity transform ``src -> dst`` by RANSAC over plausible hypotheses only.

    Tentative matches are many-to-many (visual words repeat), so plain RANSAC is drawn
    to degenerate models: a scale near zero sends every point onto one busy keypoint and
    "explains" all its matches. Here each hypothesis comes from two matches with
    distinct keypoints on both sides, and only those whose scale is plausible and whose
    rotation agrees with the dominant orientation change are scored. Points are complex
    numbers, so a hypothesis is ``z -> a z + b``. Seeded by the input size: the same
    matches always give the same answer.

    The third value is the *rival* (raw matches, and distinct keypoints counted when
    asked: see ``_rival``):
    the most inliers, outside the best one's, of a
    hypothesis that puts the best one's inliers somewhere else (``ScoringPolicy.rival_shift`` or
    more away). A repeating picture (a brick wall, a tiled floor) aligns with another
    part of itself shifted by a period nearly as well as with itself.
    """
    zs = src[:, 0].astype(np.float64) + 1j * src[:, 1]
    zd = dst[:, 0].astype(np.float64) + 1j * dst[:, 1]
    count = len(zs)
    i, j = _draws(count)
    ok = (src_ids[i] != src_ids[j]) & (dst_ids[i] != dst_ids[j]) & (np.abs(zs[j] - zs[i]) >= _MIN_BASELINE)
    i, j = i[ok], j[ok]
    a = (zd[j] - zd[i]) / (zs[j] - zs[i])
    rotation_gap = np.abs(np.angle(a * np.exp(-1j * turn)))
    plausible = (np.abs(a) >= _MIN_SCALE) & (np.abs(a) <= _MAX_SCALE) & (rotation_gap <= _MAX_TURN_GAP)
    a, i = a[plausible], i[plausible]
    if not len(a):
        return None
    b = zd[i] - a * zs[i]
    close = _close(a, b, zs, zd)
    explained = close.sum(axis=1)
    best = int(np.argmax(explained))
    inliers = close[best]
    centre = zs[inliers].mean()  # also the refinement's mean below (the same value)
    elsewhere = np.flatnonzero(np.abs((a - a[best]) * centre + b - b[best]) >= policy.rival_shift)
    # Each rival's matches outside the best one's inliers: its own count less those it
    # shares with the best (a few columns), so only the rows ``_rival`` reads are made.
    shared = close[np.ix_(elsewhere, np.flatnonzero(inliers))].sum(axis=1)
    outside = ~inliers  # the inliers before the refinement below rebinds them
    rival = _rival(
        explained[elsewhere] - shared,
        lambda chosen: close[elsewhere[chosen]] & outside,
        src_ids,
        dst_ids,
        policy.rival_candidates,
    )
    # Refine on the inliers by least squares, and take the inliers of the refined model.
    ms, md = centre, zd[inliers].mean()
    spread = np.vdot(zs[inliers] - ms, zs[inliers] - ms).real
    if spread > 0:
        refined = np.vdot(zs[inliers] - ms, zd[inliers] - md) / spread
        if _MIN_SCALE <= abs(refined) <= _MAX_SCALE:
            again = np.abs(refined * zs + (md - refined * ms) - zd) <= _tolerance(np.abs(refined))
            if again.sum() >= inliers.sum():
                a[best], b[best], inliers = refined, md - refined * ms, again
    ar, ai, br, bi = a[best].real, a[best].imag, b[best].real, b[best].imag
    return np.array([[ar, -ai, br], [ai, ar, bi]]), inliers, rival


#: Residuals are made a block of hypotheses at a time, of about this many cells
#: (hypotheses x matches): a block's complex residuals (16 bytes a cell) and their
#: magnitudes stay in a core's cache, where one buffer for all 256 hypotheses of a
#: verification with thousands of matches (a busy picture, 10 MB) did not. Tuning half,
#: medium duplicate collection (branch dupfast, the 2,539 verifications its join's pairs
#: make, replayed): 0.48 s -> 0.34 s; blocks of 8k and 64k cells took 0.41 and 0.46 s.
_BLOCK_CELLS = 1 << 15


_C128 = npt.NDArray[np.complex128]


def _close(a: _C128, b: _C128, zs: _C128, zd: _C128) -> npt.NDArray[np.bool_]:
    """Which matches each hypothesis ``z -> a z + b`` explains: ``|a zs + b - zd|`` within
    the tolerance at its scale. Each cell is the same operations in the same order as
    ``a * zs + b - zd`` over the whole table, in one buffer per block rather than three
    temporaries: NumPy works a row at a time through a product with a broadcast side,
    and its complex magnitude does not depend on where an element sits, so every cell
    comes out as it did in one table (checked bit for bit on the tuning join's 2,539
    verifications, branch dupfast)."""
    tolerance = _tolerance(np.abs(a))
    close = np.empty((len(a), len(zs)), dtype=bool)
    rows = max(1, _BLOCK_CELLS // max(1, len(zs)))
    for start in range(0, len(a), rows):
        block = slice(start, start + rows)
        residual = np.multiply(a[block, None], zs[None, :])
        residual += b[block, None]
        residual -= zd[None, :]
        np.less_equal(np.abs(residual), tolerance[block, None], out=close[block])
    return close


@functools.lru_cache(maxsize=2048)
def _draws(count: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """The hypotheses' two matches, drawn from a generator seeded by ``count`` (so the same
    for every verification of that many matches); made once per count (a generator's
    start costs more than the draws), read-only so the remembered ones cannot change.
    2,048 counts of 2 x 256 draws: at most 8 MB."""
    rng = np.random.default_rng(count)
    i, j = rng.integers(count, size=_HYPOTHESES), rng.integers(count, size=_HYPOTHESES)
    i.flags.writeable = False
    j.flags.writeable = False
    return i, j


def _rival(
    raw: npt.NDArray[np.int64],
    rows: Callable[[npt.NDArray[np.intp]], npt.NDArray[np.bool_]],
    src_ids: npt.NDArray[np.int64],
    dst_ids: npt.NDArray[np.int64],
    candidates: int,
) -> tuple[int, Callable[[], int]]:
    """The best rival's raw matches, and (counted when called) its inliers in the best
    one's units: distinct keypoints on both sides (the fewer), for the ``candidates``
    rival hypotheses with the most matches. Raw matches overcount a busy picture whose
    words repeat (the letters of a caption, a chart's ticks: one keypoint matched to
    many), which is not a picture that repeats shifted by a period: a brick wall's rival
    matches distinct bricks. The distinct count is never above the raw one.

    ``raw`` is each rival's number of matches; ``rows(chosen)`` gives the chosen rivals'
    matches (one boolean row each), made only for the few looked at."""
    if not len(raw):
        return 0, lambda: 0

    def distinct() -> int:
        top = np.argsort(-raw, kind="stable")[:candidates]
        rivals = rows(top)
        if min(src_ids.min(), dst_ids.min()) < 0 or max(src_ids.max(), dst_ids.max()) >= _COUNTED_IDS:
            best = 0
            for k in range(len(top)):
                if raw[top[k]] <= best:
                    break
                chosen = rivals[k]
                best = max(best, min(_distinct(src_ids[chosen]), _distinct(dst_ids[chosen])))
            return best
        # The best of the top candidates' distinct counts, all counted at once: the same
        # as taking them in turn and stopping at the first whose raw matches cannot beat
        # the best so far (a rival's distinct keypoints are at most its raw matches, and
        # the candidates come most raw matches first, so none after it could have).
        rows_of, matches = np.nonzero(rivals)
        counts = [np.count_nonzero(_seen(len(top), ids, rows_of, matches), axis=1) for ids in (src_ids, dst_ids)]
        return int(np.minimum(*counts).max())

    return int(raw.max()), distinct


def _seen(
    n_rows: int, ids: npt.NDArray[np.int64], rows: npt.NDArray[np.intp], matches: npt.NDArray[np.intp]
) -> npt.NDArray[np.bool_]:
    """Which keypoints each of ``n_rows`` rows names: row ``rows[m]`` names ``ids[matches[m]]``."""
    seen = np.zeros((n_rows, int(ids.max()) + 1), dtype=bool)
    seen[rows, ids[matches]] = True
    return seen


def _distinct(ids: npt.NDArray[np.int64]) -> int:
    """How many distinct keypoints ``ids`` name: ``len(np.unique(ids))``, by counting
    rather than sorting when they are small indices (a keypoint set's), else by sorting
    (a caller may name keypoints by any integer)."""
    if not len(ids):
        return 0
    if ids.min() >= 0 and ids.max() < _COUNTED_IDS:
        return int(np.count_nonzero(np.bincount(ids)))
    return len(np.unique(ids))


_COUNTED_IDS = 1 << 16  # a count array this long costs less than sorting the ids


def _tolerance(scale: npt.NDArray[np.float64] | float) -> npt.NDArray[np.float64]:
    """The reprojection tolerance at a scale: positions are rounded on both 128-step
    grids, and the query's rounding is magnified by the scale (a picture shrunk to a third
    of the query lands three times as far off); within the scales of copies it stays as tuned."""
    return np.asarray(_RANSAC_PIXELS * np.maximum(1.0, np.asarray(scale) / COPY_SCALES[1]), np.float64)


def frame_overlap(
    matrix: npt.NDArray[np.float64], size: tuple[float, float], frame: tuple[float, float]
) -> tuple[float, float]:
    """Where ``matrix`` lays a frame of ``size`` (width, height) over a frame of
    ``frame``, in the units the matrix maps: the area of the two frames' overlap, and the
    laid frame's own area: how much of one picture lies on the other, read one way for a
    match's coverage and for a region's pasted picture alike."""
    w, h = size
    corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    mapped = (corners @ matrix[:, :2].T.astype(np.float32) + matrix[:, 2].astype(np.float32)).astype(np.float32)
    fw, fh = frame
    box = np.array([[0, 0], [fw, 0], [fw, fh], [0, fh]], dtype=np.float32)
    # intersectConvexConvex takes either orientation; a mirrored matrix reverses the laid one.
    shared, _ = cv2.intersectConvexConvex(mapped, box)
    return float(shared), abs(float(cv2.contourArea(mapped)))


def _coverage(
    matrix: npt.NDArray[np.float64], query_size: tuple[float, float], cand_size: tuple[float, float]
) -> tuple[float, float]:
    """The overlap as a share of the smaller picture, and the overlap's area."""
    shared, laid = frame_overlap(matrix, query_size, cand_size)
    smaller = min(laid, cand_size[0] * cand_size[1])
    return (shared / smaller if smaller > 0 else 0.0), shared


def verify(
    query_idx: npt.NDArray[np.int64],
    query_xy: npt.NDArray[np.float32],
    query_angle: npt.NDArray[np.int64],
    cand_idx: npt.NDArray[np.int64],
    cand_xy: npt.NDArray[np.float32],
    cand_angle: npt.NDArray[np.int64],
    query_size: tuple[float, float],
    cand_size: tuple[float, float],
    policy: ScoringPolicy = POLICY,
) -> Match | None:
    """Verify tentative matches (keypoint ids and positions on both sides); None if none
    hold. The rival rules are ``policy``'s (``rival_*``)."""
    if len(query_idx) < _MIN_MATCHES:
        return None
    step = _dominant_step(query_angle, cand_angle)
    keep = _consistent(query_angle, cand_angle, step)
    if keep.sum() < _MIN_MATCHES:
        return None
    src, dst = query_xy[keep], cand_xy[keep]
    fitted = _fit(src, dst, query_idx[keep], cand_idx[keep], step * 2 * np.pi / _ANGLE_STEPS, policy)
    if fitted is None:
        return None
    matrix, inliers, rival = fitted
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))  # in range: fit_similarity keeps only such models
    distinct = min(_distinct(query_idx[keep][inliers]), _distinct(cand_idx[keep][inliers]))
    if distinct < _MIN_MATCHES:
        return None
    # A rival nearly as good as the best says the picture repeats: which of its places
    # matched is a guess, and two crops of one brick wall match that way. Both counts are
    # taken beyond the chance level (see ScoringPolicy.chance), which random rivals reach.
    chance = policy.rival_chance * np.sqrt(len(query_idx))
    # A match strong beyond doubt counts its rival in distinct keypoints, as it counts
    # itself: a chart's ticks or a caption's letters give one keypoint many matches, a
    # rival's too. Below that, engine 10's raw count stays: a brick wall's or a tray of
    # coins' rival is caught only that way (their rivals' distinct keypoints stay near chance).
    raw_rival, distinct_rival = rival
    bar = policy.rival_share * (distinct - chance)
    if distinct - chance >= policy.rival_distinct_from:
        # The distinct count is at most the raw one: counted only when the raw one passes.
        ambiguous = bool(raw_rival - chance >= bar) and bool(distinct_rival() - chance >= bar)
    else:
        ambiguous = bool(raw_rival - chance >= bar)
    hull = cv2.contourArea(cv2.convexHull(src[inliers].astype(np.float32)))
    coverage, shared = _coverage(np.asarray(matrix, np.float64), query_size, cand_size)
    # The inliers must spread over the part of the query the two pictures share, not its
    # whole frame: a picture reused small inside a larger one is a small part of it.
    if hull < _MIN_SPREAD * min(query_size[0] * query_size[1], shared / (scale * scale)):
        return None
    spread = hull * scale * scale / shared if shared > 0 else 0.0
    return Match(distinct, coverage, scale, len(query_idx), spread, matrix, ambiguous)


def border_over_detail(
    border: tuple[float, float, float, float],
    frame: tuple[float, float],
    other: npt.NDArray[np.uint8],
    matrix: npt.NDArray[np.float64],
    policy: ScoringPolicy = POLICY,
) -> bool:
    """Whether a picture's trimmed borders (left, top, right, bottom, as shares of its
    ``frame`` in grid units), carried by ``matrix`` (its grid to the other's), land on the
    other picture's detail: ``other`` is that picture's grey thumbnail.

    A crop of a picture has no border where the picture goes on; a short list screen,
    whose blank foot was trimmed as a border, is a "crop" of a long one only to keypoints."""
    if not any(share > 0 for share in border) or not other.size:
        return False
    width, height = frame
    left, top, right, bottom = border
    rows, cols = other.shape
    ys, xs = np.mgrid[0:rows, 0:cols]
    # Thumbnails have their longer side at 64 pixels, keypoint grids at 128 steps.
    points = np.stack([(xs.ravel() + 0.5) * 2.0, (ys.ravel() + 0.5) * 2.0], axis=1)
    inverse = np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))[:2]
    x, y = (points @ inverse[:, :2].T + inverse[:, 2]).T
    margin = 1.0  # a grid step: the content box and the fit are each a little off
    whole = (x >= -left * width) & (x <= width * (1 + right)) & (y >= -top * height) & (y <= height * (1 + bottom))
    content = (x >= -margin) & (x <= width + margin) & (y >= -margin) & (y <= height + margin)
    under = whole & ~content
    if under.sum() < policy.border_share * rows * cols:
        return False
    return float(other.ravel()[under].astype(np.float64).std()) >= policy.border_detail
