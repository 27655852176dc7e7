"""Geometric verification of keypoint matches, and how much of one picture the other covers.

Matches between a query and a candidate are first filtered by weak geometric
consistency (the orientation differences of true matches agree), then a similarity
transform (rotation, uniform scale, translation) is fitted with OpenCV's RANSAC. A
match counts only if the transform is plausible (scale 1/4..4) and its inliers are
spread over the picture, and each keypoint counts once on each side.

*Coverage* is the area the two frames share under that transform, over the smaller
frame: 1.0 when one picture lies inside the other (a crop, a caption bar, a rotation
inside its frame), about 0.5 or less when two different crops of a scene merely
overlap. Crops of one photograph are different pictures, so the similarity needs both
enough inliers and a high coverage.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["Match", "similarity", "unpack", "verify"]

_ANGLE_STEPS = 64
_MIN_MATCHES = 5
_RANSAC_PIXELS = 1.5  # reprojection threshold, in 128-step grid units
# Plausible scales from query to candidate: both frames are normalised, so a copy is
# near 1 and a crop of 5-20% per side maps to 0.6-1; zooming far in or out is not the
# same picture, and random consensus mostly has extreme scales.
_MIN_SCALE, _MAX_SCALE = 0.5, 1.35
_MIN_SPREAD = 0.02  # inliers' convex hull over the query frame's area
# Inliers and coverage at which the robust similarity starts and saturates.
_INLIERS_LOW, _INLIERS_HIGH = 9.0, 25.0
_COVER_LOW, _COVER_HIGH = 0.8, 0.95
_CHANCE = 0.5
_CELL = 8.0
_SPREAD_LOW, _SPREAD_HIGH = 0.03, 0.10


@dataclass(frozen=True, slots=True)
class Match:
    """A verified match: distinct inliers, coverage (0..1), the transform's scale (query
    to candidate), the tentative matches and the inliers' hull over the shared area."""

    inliers: int
    coverage: float
    scale: float = 1.0
    tentative: int = 0
    spread: float = 0.0
    cells: int = 0


def unpack(
    packed: npt.NDArray[np.uint32],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64], npt.NDArray[np.uint32]]:
    """``(xy on the 128 grid, orientation step 0..63, 12-bit signature)`` of packed keypoints."""
    x = (packed & 127).astype(np.float32)
    y = ((packed >> 7) & 127).astype(np.float32)
    angle = ((packed >> 14) & 63).astype(np.int64)
    return np.stack([x, y], axis=1), angle, (packed >> 20).astype(np.uint32)


def _consistent(query_angle: npt.NDArray[np.int64], cand_angle: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Matches whose orientation change is near the most common one (weak consistency)."""
    turn = (cand_angle - query_angle) % _ANGLE_STEPS
    votes = np.bincount(turn, minlength=_ANGLE_STEPS)
    smoothed = votes + np.roll(votes, 1) + np.roll(votes, -1)
    best = int(np.argmax(smoothed))
    gap = np.abs((turn - best + _ANGLE_STEPS // 2) % _ANGLE_STEPS - _ANGLE_STEPS // 2)
    return np.asarray(gap <= 3, dtype=bool)


def _coverage(
    matrix: npt.NDArray[np.float64], query_size: tuple[float, float], cand_size: tuple[float, float]
) -> tuple[float, float]:
    qw, qh = query_size
    cw, ch = cand_size
    corners = np.array([[0, 0], [qw, 0], [qw, qh], [0, qh]], dtype=np.float32)
    mapped = (corners @ matrix[:, :2].T.astype(np.float32) + matrix[:, 2].astype(np.float32)).astype(np.float32)
    frame = np.array([[0, 0], [cw, 0], [cw, ch], [0, ch]], dtype=np.float32)
    shared, _ = cv2.intersectConvexConvex(mapped, frame)
    smaller = min(abs(cv2.contourArea(mapped)), cw * ch)
    return (float(shared / smaller) if smaller > 0 else 0.0), float(shared)


def verify(
    query_idx: npt.NDArray[np.int64],
    query_xy: npt.NDArray[np.float32],
    query_angle: npt.NDArray[np.int64],
    cand_idx: npt.NDArray[np.int64],
    cand_xy: npt.NDArray[np.float32],
    cand_angle: npt.NDArray[np.int64],
    query_size: tuple[float, float],
    cand_size: tuple[float, float],
) -> Match | None:
    """Verify tentative matches (keypoint ids and positions on both sides); None if none hold."""
    if len(query_idx) < _MIN_MATCHES:
        return None
    keep = _consistent(query_angle, cand_angle)
    if keep.sum() < _MIN_MATCHES:
        return None
    src, dst = query_xy[keep], cand_xy[keep]
    matrix, inlier_mask = cv2.estimateAffinePartial2D(
        src, dst, method=cv2.RANSAC, ransacReprojThreshold=_RANSAC_PIXELS, maxIters=400, confidence=0.995
    )
    if matrix is None:
        return None
    inliers = inlier_mask.ravel().astype(bool)
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    if not _MIN_SCALE <= scale <= _MAX_SCALE:
        return None
    distinct = min(len(np.unique(query_idx[keep][inliers])), len(np.unique(cand_idx[keep][inliers])))
    if distinct < _MIN_MATCHES:
        return None
    hull = cv2.contourArea(cv2.convexHull(src[inliers].astype(np.float32)))
    if hull < _MIN_SPREAD * query_size[0] * query_size[1]:
        return None
    coverage, shared = _coverage(np.asarray(matrix, np.float64), query_size, cand_size)
    spread = hull * scale * scale / shared if shared > 0 else 0.0
    cells = len(np.unique((src[inliers] // _CELL).astype(np.int64) @ np.array([1, 1 << 16])))
    return Match(distinct, coverage, scale, len(query_idx), spread, cells)


def similarity(match: Match | None) -> float:
    """The robust stage's 0..100 similarity: half from inliers, half from coverage, and
    nothing unless both are past their lower bounds."""
    if match is None:
        return 0.0
    # Repetitive structure (text, flat shapes) yields many tentative matches, and random
    # consensus among them grows with their number: only inliers beyond that count.
    inliers = match.inliers - _CHANCE * np.sqrt(match.tentative)
    evidence = np.clip((inliers - _INLIERS_LOW) / (_INLIERS_HIGH - _INLIERS_LOW), 0.0, 1.0)
    cover = np.clip((match.coverage - _COVER_LOW) / (_COVER_HIGH - _COVER_LOW), 0.0, 1.0)
    # Inliers bunched on one shape (an ellipse's rim, a rectangle's corners) are weaker
    # evidence than the same number spread over the shared area.
    evidence *= np.clip((match.spread - _SPREAD_LOW) / (_SPREAD_HIGH - _SPREAD_LOW), 0.0, 1.0)
    if evidence <= 0 or cover <= 0:
        return 0.0
    return float(50.0 + 25.0 * evidence + 25.0 * cover)
