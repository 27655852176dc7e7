"""Region proposals: rectangles of a picture that look like a picture pasted into a layout.

A photo reposted inside a screenshot, one half of a collage, a picture in a web page:
the picture people search for is an axis-aligned rectangle of the frame, bounded by
long straight edges (where the pasted picture meets its backdrop, a gutter, a page's
background) or by the frame itself. The whole frame's hash codes describe the layout,
not the picture; a region's codes describe the picture, and can be looked up and
compared like any picture's (:mod:`ris_local.features.hashcodes`).

The detector is generic (nothing here knows how any benchmark makes its layouts):

1. On the grey picture shrunk to ``DETECT_SIDE``, a pixel *supports* a horizontal line
   where the grey level steps by at least ``STEP`` from the row above to the row
   below, more than it changes along the row (an edge running along the line,
   not a corner of texture), and the step is the largest of its neighbours across the
   line (the line sits where the step does). Vertical lines likewise.
2. Candidate rows are the ones with the longest straight runs of support (gaps up to
   ``GAP`` closed; at least ``SUPPORTED`` of ``MIN_SIDE`` of the frame), ``SEPARATION``
   lines apart, at most ``CANDIDATE_LINES``, plus the frame's own top and bottom (which
   support fully: a collage's halves and a feed's full-width picture end at the frame).
3. For every pair of candidate rows, the columns supported along ``SUPPORTED`` of the
   stretch between them are found (per pair, so a short picture's sides are not
   outranked by a backdrop's long lines), and every pair of those columns whose
   stretches of the two rows are supported along ``SUPPORTED`` too makes a proposal,
   when at least one side is not the frame's edge, its sides are at least ``MIN_SIDE``
   of the frame's and its area ``MIN_AREA``..``MAX_AREA`` of it. The same search runs
   columns first, on the transposed picture.
4. Proposals are ranked by the supported share of their inner sides (a layout's edges
   are sharp and unbroken, a picture's own are not), then by area; a box that a line
   supported along ``SPLIT_SUPPORT`` crosses from side to side (a header above a photo:
   two pictures, not one) after every other; one overlapping a better one by
   ``OVERLAP`` (intersection over union) or more is dropped; ``MAX_REGIONS`` are kept.

A rectangle costs a few hash codes, so false proposals (the sky above a horizon in a
plain photograph) cost only bytes: a region counts only when its codes come close to
another picture's whole codes (see :mod:`ris_local.scoring.decision`).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from ris_local.features.decoding import content_box
from ris_local.features.hashcodes import HashCodes, hash_codes

__all__ = ["MAX_REGIONS", "Region", "propose", "region_codes"]

#: The detector works on the picture with its longer side this many pixels: a pasted
#: picture at a third of a frame is still ~80 pixels, its box within about 1% of its side.
DETECT_SIDE = 256
#: Grey step (0..255) between the two lines on either side for a pixel to support a line.
#: Not fitted: JPEG ringing and sensor noise stay under 10, a picture's edge against a
#: white page or another photograph is usually far over it.
STEP = 18.0
#: A side of a proposal must be supported along this share of its length (the step
#: fades where the pasted picture happens to match its backdrop). Not fitted.
SUPPORTED = 0.6
#: A proposal's sides are at least this share of the frame's and its area at least
#: ``MIN_AREA`` of the frame (a picture pasted at a third of each side covers a ninth:
#: a smaller one has too few pixels for its hash), at most ``MAX_AREA`` (nearly the
#: whole frame is the whole frame's codes again). Not fitted.
MIN_SIDE = 0.15
MIN_AREA = 0.04
MAX_AREA = 0.8
#: Candidate lines kept per direction (the strongest), and how many lines apart two
#: candidates must be (one edge blurred over two lines is one candidate).
CANDIDATE_LINES = 20
SEPARATION = 3
#: Gaps of up to this many pixels in a line's support do not break its run.
GAP = 2
#: Ranks a box split by a line crossing it after every unsplit one (more than any evidence).
SPLIT_PENALTY = 1e6
#: ...a line supported along this share of the box's width (or height) at least: a
#: layout's line (a header's edge, a gutter) is straight and unbroken, a picture's own
#: edges (a horizon, a wall) rarely are. Not fitted.
SPLIT_SUPPORT = 0.97
#: A proposal overlapping a better one this much (IoU) says nothing new; less, it is
#: another picture (a screenshot's photo with and without the header above it: 0.88).
OVERLAP = 0.85
#: Regions kept per picture (40 bytes each in the blob).
MAX_REGIONS = 4
#: The region's codes are made on its pixels shrunk to this longer side, as the whole
#: picture's are made on its hash view (:data:`ris_local.features.layout.HASH_SIDE`).
HASH_SIDE = 64


@dataclass(frozen=True, slots=True)
class Region:
    """A proposed rectangle as shares of the frame (left, top, right, bottom, 0..1) and
    the hash codes of the picture inside it (inside its own uniform borders)."""

    box: tuple[float, float, float, float]
    codes: HashCodes

    @property
    def share(self) -> float:
        """The region's share of its frame's area."""
        left, top, right, bottom = self.box
        return max(0.0, right - left) * max(0.0, bottom - top)


def _supports(gray: npt.NDArray[np.float32]) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """Which pixels support a horizontal line at each row boundary (``(h + 1) x w``) and a
    vertical one at each column boundary (``h x (w + 1)``); the frame's edges support fully."""
    # Boundary y lies between rows y - 1 and y. The step is the larger of the one from
    # row y - 1 to row y (a gutter a few pixels wide is a line or two at this scale:
    # both its edges step) and the one between the two rows either side (an edge a JPEG
    # or a resampling blurred over two rows).
    padded = cv2.copyMakeBorder(gray, 2, 2, 2, 2, cv2.BORDER_REPLICATE)
    rows = padded[:, 2:-2]
    step_h = np.maximum(np.abs(rows[2:-1] - rows[1:-2]), np.abs(rows[2:-1] + rows[3:] - rows[0:-3] - rows[1:-2]) / 2)
    cols = padded[2:-2, :]
    step_v = np.maximum(
        np.abs(cols[:, 2:-1] - cols[:, 1:-2]), np.abs(cols[:, 2:-1] + cols[:, 3:] - cols[:, 0:-3] - cols[:, 1:-2]) / 2
    )
    # How much the picture changes along the line: the other direction's gradient.
    along_x = np.abs(cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)) / 4
    along_y = np.abs(cv2.Sobel(gray, cv2.CV_32F, 0, 1, ksize=3)) / 4
    along_h = np.vstack([along_x[:1], np.maximum(along_x[:-1], along_x[1:]), along_x[-1:]])
    along_v = np.hstack([along_y[:, :1], np.maximum(along_y[:, :-1], along_y[:, 1:]), along_y[:, -1:]])
    peak_h = step_h >= np.maximum(np.vstack([step_h[1:], step_h[-1:]]), np.vstack([step_h[:1], step_h[:-1]]))
    peak_v = step_v >= np.maximum(
        np.hstack([step_v[:, 1:], step_v[:, -1:]]), np.hstack([step_v[:, :1], step_v[:, :-1]])
    )
    horizontal = (step_h >= STEP) & (step_h > along_h) & peak_h
    vertical = (step_v >= STEP) & (step_v > along_v) & peak_v
    # A line blurred or resampled off by one still supports: each pixel counts for its
    # boundary's neighbours too.
    horizontal = cv2.dilate(horizontal.astype(np.uint8), np.ones((3, 1), np.uint8)).astype(bool)
    vertical = cv2.dilate(vertical.astype(np.uint8), np.ones((1, 3), np.uint8)).astype(bool)
    horizontal[0], horizontal[-1] = True, True
    vertical[:, 0], vertical[:, -1] = True, True
    return horizontal, vertical


def _longest_runs(support: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """Each row's longest run of supporting pixels, gaps of up to ``GAP`` pixels closed:
    a straight edge is one long run, a texture's steps are many short ones."""
    closed = cv2.morphologyEx(support.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((1, 2 * GAP + 1), np.uint8))
    ones = closed.astype(np.int64)
    count = np.cumsum(ones, axis=1)
    reset = np.maximum.accumulate(np.where(ones == 0, count, 0), axis=1)
    return np.asarray((count - reset).max(axis=1), np.int64)


def _candidates(runs: npt.NDArray[np.int64], length: int) -> npt.NDArray[np.int64]:
    """The candidate lines of one direction: the frame's two edges and the lines with
    the longest straight runs of support (see the module docstring)."""
    last = len(runs) - 1
    order = np.argsort(-runs[1:last], kind="stable") + 1
    kept: list[int] = []
    for line in order.tolist():
        if runs[line] < MIN_SIDE * SUPPORTED * length or len(kept) >= CANDIDATE_LINES:
            break
        if all(abs(line - k) >= SEPARATION for k in kept) and line >= SEPARATION and last - line >= SEPARATION:
            kept.append(line)
    return np.array(sorted({0, last, *kept}), np.int64)


def _rectangles(
    horizontal: npt.NDArray[np.bool_], vertical: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Proposals (x0, y0, x1, y1) and their evidence: every pair of candidate rows, then
    the columns supported between those two rows (found per pair, so a short picture's
    sides are not outranked by a backdrop's long lines), then the pairs of those columns
    whose stretches of the two rows are supported too."""
    h, w = vertical.shape[0], horizontal.shape[1]
    ys = _candidates(_longest_runs(horizontal), w)
    along_rows = np.concatenate([np.zeros((len(ys), 1)), np.cumsum(horizontal[ys], axis=1)], axis=1)
    down_cols = np.concatenate([np.zeros((1, w + 1)), np.cumsum(vertical, axis=0)], axis=0)
    i, j = np.triu_indices(len(ys), 1)
    high = (ys[j] - ys[i]).astype(np.float64)
    tall = high >= MIN_SIDE * h
    i, j, high = i[tall], j[tall], high[tall]
    if not len(i):
        return np.empty((0, 4), np.int64), np.empty(0)
    # Each row pair's share of supported pixels in every column between the two rows.
    share = (down_cols[ys[j]] - down_cols[ys[i]]) / high[:, None]
    share[:, 0] = share[:, w] = 1.0
    peak = cv2.dilate(share.astype(np.float32), np.ones((1, 2 * SEPARATION + 1), np.uint8))
    chosen = np.where((share >= SUPPORTED) & (share >= peak - 1e-6), share, -1.0)
    k = min(CANDIDATE_LINES, w + 1)
    columns = np.sort(np.argpartition(-chosen, k - 1, axis=1)[:, :k], axis=1)
    usable = np.take_along_axis(chosen, columns, axis=1) >= 0
    a, b = np.triu_indices(k, 1)
    pair = np.repeat(np.arange(len(i)), len(a))
    x0, x1 = columns[:, a].ravel(), columns[:, b].ravel()
    ok = (usable[:, a] & usable[:, b]).ravel()
    wide = (x1 - x0).astype(np.float64)
    ok &= wide >= MIN_SIDE * w
    pair, x0, x1, wide = pair[ok], x0[ok], x1[ok], wide[ok]
    top_row, bottom_row, tall_side = i[pair], j[pair], high[pair]
    y0, y1 = ys[top_row], ys[bottom_row]
    sides = (
        (y0 > 0, (along_rows[top_row, x1] - along_rows[top_row, x0]) / wide, wide),
        (y1 < h, (along_rows[bottom_row, x1] - along_rows[bottom_row, x0]) / wide, wide),
        (x0 > 0, share[pair, x0], tall_side),
        (x1 < w, share[pair, x1], tall_side),
    )
    ok = (y0 > 0) | (y1 < h) | (x0 > 0) | (x1 < w)
    supported = np.zeros(len(x0))
    inner_length = np.zeros(len(x0))
    for is_inner, support, length in sides:
        ok &= ~is_inner | (support >= SUPPORTED)
        supported += np.where(is_inner, support * length, 0.0)
        inner_length += np.where(is_inner, length, 0.0)
    # Ranked by how fully its inner sides are supported (a layout's edges are sharp and
    # unbroken, a picture's own edges are not), then by area.
    area_share = wide * tall_side / (w * h)
    score = np.round(supported / np.maximum(inner_length, 1.0), 2) + area_share / 100
    area = wide * tall_side / (w * h)
    ok &= (area >= MIN_AREA) & (area <= MAX_AREA)
    # A box that a supported line crosses from side to side is two pictures (a header
    # above a photo, two photos of a collage), not one: it ranks after every unsplit box.
    inside_rows = (ys[None, :] >= (y0 + SEPARATION)[:, None]) & (ys[None, :] <= (y1 - SEPARATION)[:, None])
    crossing = (along_rows[:, x1] - along_rows[:, x0]).T / wide[:, None] >= SPLIT_SUPPORT
    splits = np.concatenate([np.zeros((len(i), 1)), np.cumsum(chosen >= SPLIT_SUPPORT, axis=1)], axis=1)
    inner_columns = splits[pair, np.maximum(x1 - SEPARATION + 1, 0)] - splits[pair, np.minimum(x0 + SEPARATION, w + 1)]
    split = (inside_rows & crossing).any(axis=1) | (inner_columns > 0)
    score = score - np.where(split, SPLIT_PENALTY, 0.0)
    boxes = np.column_stack([x0[ok], y0[ok], x1[ok], y1[ok]]).astype(np.int64)
    return boxes, score[ok]


def propose(gray: npt.NDArray[np.uint8]) -> list[tuple[float, float, float, float]]:
    """Up to ``MAX_REGIONS`` boxes (left, top, right, bottom as shares of the frame) that
    look like pictures pasted into this one, best first (see the module docstring)."""
    height, width = gray.shape
    if min(height, width) < 16:
        return []
    scale = DETECT_SIDE / max(height, width)
    small = gray
    if scale < 1:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = np.asarray(cv2.resize(gray, size, interpolation=cv2.INTER_AREA), np.uint8)
    h, w = small.shape
    horizontal, vertical = _supports(small.astype(np.float32))
    # Rows first, then the same search on the transposed picture (columns first), so
    # neither direction's candidates are chosen by a global ranking alone.
    rows_first, rows_score = _rectangles(horizontal, vertical)
    cols_first, cols_score = _rectangles(vertical.T, horizontal.T)
    boxes = np.concatenate([rows_first, cols_first[:, [1, 0, 3, 2]]])
    score = np.concatenate([rows_score, cols_score])
    boxes, where = np.unique(boxes, axis=0, return_index=True)
    score = score[where]
    order = np.lexsort((np.arange(len(score)), -score))
    kept: list[tuple[int, int, int, int]] = []
    for i in order.tolist():
        box = (int(boxes[i, 0]), int(boxes[i, 1]), int(boxes[i, 2]), int(boxes[i, 3]))
        if all(_iou(box, other) < OVERLAP for other in kept):
            kept.append(box)
            if len(kept) == MAX_REGIONS:
                break
    return [(a / w, b / h, c / w, d / h) for a, b, c, d in kept]


def _iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    wide = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    high = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    shared = wide * high
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - shared
    return shared / union if union else 0.0


def region_codes(gray: npt.NDArray[np.uint8]) -> tuple[Region, ...]:
    """The proposed regions of a (whole, untrimmed) grey picture with their hash codes,
    each made as the whole picture's are: shrunk to ``HASH_SIDE``, inside its borders."""
    height, width = gray.shape
    regions = []
    for box in propose(gray):
        left, top = round(box[0] * width), round(box[1] * height)
        right, bottom = round(box[2] * width), round(box[3] * height)
        crop = gray[top:bottom, left:right]
        scale = HASH_SIDE / max(crop.shape)
        if scale < 1:
            size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
            crop = np.asarray(cv2.resize(crop, size, interpolation=cv2.INTER_AREA), np.uint8)
        a, b, c, d = content_box(crop)
        regions.append(Region(box, hash_codes(np.ascontiguousarray(crop[b:d, a:c]))))
    return tuple(regions)
