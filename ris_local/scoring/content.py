"""Whether the whole of the smaller picture is there, or only a part it shares.

A keypoint match says where the two pictures line up; it does not say how much of the
smaller one ("inner") the other actually shows. Two crops of one photograph that share
half their area line up on that half, and after a rotation or in a collage the frame
check (coverage) says one lies inside the other, although the other half of the inner
crop lies over something else. Two screens, charts or documents of one template line
up on the repeated frame, glyphs and ticks, while their content differs.

So the grey thumbnails are compared through the fitted transform over the part of the
inner picture the transform says is visible, cell by cell on a coarse grid
(``ScoringPolicy.content_grid``): a cell agrees when the two correlate
(``content_cell_corr``). A copy, a crop or a picture pasted inside another agrees
nearly everywhere (stickers and captions cover a quarter or so); a partial overlap
agrees only over the part it shares. Cells with no detail on either side
(``content_detail``: sky, a flat margin) say nothing and are left out.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from ris_local.scoring.policy import POLICY, ScoringPolicy

__all__ = ["agreement"]


def agreement(
    inner: npt.NDArray[np.uint8],
    outer: npt.NDArray[np.uint8],
    matrix: npt.NDArray[np.float64],
    policy: ScoringPolicy = POLICY,
) -> tuple[float, int]:
    """The share of the ``inner`` thumbnail's cells (those visible in ``outer`` under
    ``matrix``, the inner picture's keypoint grid to the outer's, and with detail) whose
    grey agrees with ``outer``'s, and how many such cells there were; ``(1.0, 0)`` when
    the check cannot tell."""
    if not inner.size or not outer.size:
        return 1.0, 0
    # Thumbnails have their longer side at 64 pixels, keypoint grids at 128 steps: the
    # same linear part, half the translation; then from pixel centres to pixel indices.
    pixels = np.array(matrix, np.float64)[:2].copy()
    pixels[:, 2] = pixels[:, 2] / 2.0 + pixels[:, :2] @ np.array([0.5, 0.5]) - 0.5
    height, width = inner.shape
    flags = cv2.WARP_INVERSE_MAP
    shown = np.asarray(
        cv2.warpAffine(outer.astype(np.float32), pixels, (width, height), flags=cv2.INTER_LINEAR | flags), np.float32
    )
    ones = np.ones(outer.shape, np.float32)
    visible = cv2.warpAffine(ones, pixels, (width, height), flags=cv2.INTER_NEAREST | flags, borderValue=0.0) > 0
    mine = inner.astype(np.float32)
    scale = float(np.sqrt(abs(np.linalg.det(pixels[:, :2]))))
    if scale < 1.0:
        # The inner picture is smaller in the outer one: compare at the outer's detail.
        mine = np.asarray(cv2.GaussianBlur(mine, (0, 0), 0.5 / scale), np.float32)
    if not visible.any():
        return 1.0, 0
    ys, xs = np.nonzero(visible)
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    n = policy.content_grid
    # Each pixel's cell of the n x n grid over the visible part's bounding box (the
    # moments of every cell at once: a loop over cells costs more than the warps).
    rows = np.searchsorted(y0 + (y1 - y0) * np.arange(1, n) // n, np.arange(y0, y1), side="right")
    cols = np.searchsorted(x0 + (x1 - x0) * np.arange(1, n) // n, np.arange(x0, x1), side="right")
    cell = (rows[:, None] * n + cols[None, :]).ravel()
    inside = visible[y0:y1, x0:x1].ravel()
    a = mine[y0:y1, x0:x1].ravel().astype(np.float64)[inside]
    b = shown[y0:y1, x0:x1].ravel().astype(np.float64)[inside]
    size = np.bincount(cell, minlength=n * n)
    count = np.bincount(cell[inside], minlength=n * n).astype(np.float64)
    moments = [np.bincount(cell[inside], weights=w, minlength=n * n) for w in (a, b, a * a, b * b, a * b)]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_a, mean_b, mean_aa, mean_bb, mean_ab = (m / count for m in moments)
        var_a = np.maximum(mean_aa - mean_a * mean_a, 0.0)
        var_b = np.maximum(mean_bb - mean_b * mean_b, 0.0)
        covariance = mean_ab - mean_a * mean_b
        correlation = np.where(var_a * var_b > 0, covariance / np.sqrt(var_a * var_b), 0.0)
    # A cell counts when at least half of it is visible and either side has detail there.
    detail = policy.content_detail**2
    counted = (count > 0) & (count >= 0.5 * size) & ((var_a >= detail) | (var_b >= detail))
    cells = int(counted.sum())
    if not cells:
        return 1.0, 0
    agreeing = int((counted & (correlation >= policy.content_cell_corr)).sum())
    return agreeing / cells, cells
