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
#: One pixel either side across a line (row boundaries: the rows above and below).
_ACROSS = np.ones((3, 1), np.uint8)
#: Closes gaps of up to ``GAP`` pixels along a line.
_ALONG = np.ones((1, 2 * GAP + 1), np.uint8)
#: Above any coordinate of a box (at most ``DETECT_SIDE``), so a box's four make one key
#: that orders boxes as their coordinates do.
_KEY = 1 << 12
#: ``np.triu_indices(n, 1)`` by ``n``, made once (see :func:`_pairs`).
_PAIRS: dict[int, tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]] = {}


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


def _row_support(gray: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    """Which pixels support a horizontal line at each row boundary (``(h + 1) x w``, the
    frame's top and bottom fully); a vertical line's support is this of the transpose.
    Grey levels are whole numbers, so every sum and step below is exact in float32."""
    # Boundary y lies between rows y - 1 and y. The step is the larger of the one from
    # row y - 1 to row y (a gutter a few pixels wide is a line or two at this scale:
    # both its edges step) and the one between the two rows either side (an edge a JPEG
    # or a resampling blurred over two rows).
    rows = cv2.copyMakeBorder(gray, 2, 2, 0, 0, cv2.BORDER_REPLICATE)
    pairs = rows[:-1] + rows[1:]  # pairs[p] = rows[p] + rows[p + 1]
    step = np.maximum(cv2.absdiff(rows[2:-1], rows[1:-2]), cv2.absdiff(pairs[2:], pairs[:-2]) * np.float32(0.5))
    # How much the picture changes along the line: the gradient along the rows, the
    # larger of the two rows the boundary lies between.
    along_x = np.abs(cv2.Sobel(gray, cv2.CV_32F, 1, 0, ksize=3)) * np.float32(0.25)
    along = np.empty_like(step)
    along[0], along[-1] = along_x[0], along_x[-1]
    np.maximum(along_x[:-1], along_x[1:], out=along[1:-1])
    # The line sits where the step is largest across it (not below either neighbour).
    peak = cv2.dilate(step, _ACROSS)
    support = (step >= STEP) & (step > along) & (step >= peak)
    # A line blurred or resampled off by one still supports: each pixel counts for its
    # boundary's neighbours too.
    support = cv2.dilate(support.view(np.uint8), _ACROSS).view(np.bool_)
    support[0], support[-1] = True, True
    return support


def _longest_runs(support: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
    """Each row's longest run of supporting pixels, gaps of up to ``GAP`` pixels closed:
    a straight edge is one long run, a texture's steps are many short ones."""
    closed = cv2.morphologyEx(support.view(np.uint8), cv2.MORPH_CLOSE, _ALONG)
    # Runs start where a row steps from 0 to 1 and end where it steps back (a zero
    # column either side closes the runs at the frame's edges), so the steps, row by
    # row, alternate: a start, its end, the next start.
    edges = np.diff(cv2.copyMakeBorder(closed, 0, 0, 1, 1, cv2.BORDER_CONSTANT, value=0).view(np.int8), axis=1)
    steps = np.flatnonzero(edges)
    start, end = steps[0::2], steps[1::2]
    row = start // edges.shape[1]
    longest = np.zeros(len(support), np.int64)
    if len(row):
        first = np.flatnonzero(np.diff(row, prepend=-1))
        longest[row[first]] = np.maximum.reduceat(end - start, first)
    return longest


def _candidates(runs: npt.NDArray[np.int64], length: int) -> npt.NDArray[np.int64]:
    """The candidate lines of one direction: the frame's two edges and the lines with
    the longest straight runs of support (see the module docstring)."""
    last = len(runs) - 1
    inner = runs[1:last]
    order = np.argsort(-inner, kind="stable") + 1
    # Longest first, so the lines long enough are a prefix of the order.
    long_enough = int(np.count_nonzero(inner >= MIN_SIDE * SUPPORTED * length))
    kept: list[int] = []
    # A line within SEPARATION of one kept already is that line's edge again.
    taken = bytearray(len(runs) + 2 * SEPARATION)
    for line in order[:long_enough].tolist():
        if len(kept) >= CANDIDATE_LINES:
            break
        if not taken[line + SEPARATION] and line >= SEPARATION and last - line >= SEPARATION:
            kept.append(line)
            taken[line + 1 : line + 2 * SEPARATION] = b"\x01" * (2 * SEPARATION - 1)
    return np.array(sorted({0, last, *kept}), np.int64)


def _pairs(n: int) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Every pair ``(a, b)``, ``a < b < n``, in order (``np.triu_indices(n, 1)``, made once per ``n``)."""
    if n not in _PAIRS:
        pairs = np.triu_indices(n, 1)
        for index in pairs:
            index.flags.writeable = False  # shared by every call
        _PAIRS[n] = pairs
    return _PAIRS[n]


def _strongest_columns(
    share: npt.NDArray[np.float64], chosen: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.bool_]]:
    """Per row pair, the ``CANDIDATE_LINES`` chosen columns of the largest share, in
    column order (``columns``, and which of them are real: ``usable``). Most row pairs
    have no more chosen columns than that, and keep them all; the others keep the
    ``CANDIDATE_LINES`` largest as ``np.argpartition`` picks them among equal shares."""
    count = np.count_nonzero(chosen, axis=1)
    k = min(CANDIDATE_LINES, share.shape[1])
    columns = np.full((len(share), k), -1, np.intp)
    row, column = np.nonzero(chosen)
    rank = np.arange(len(row)) - np.repeat(np.cumsum(count) - count, count)
    few = count[row] <= k
    columns[row[few], rank[few]] = column[few]
    many = np.flatnonzero(count > k)
    if len(many):
        ranked = np.where(chosen[many], share[many], -1.0)
        columns[many] = np.sort(np.argpartition(-ranked, k - 1, axis=1)[:, :k], axis=1)
    return columns, columns >= 0


def _rectangles(
    horizontal: npt.NDArray[np.bool_], vertical: npt.NDArray[np.bool_]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """Proposals (x0, y0, x1, y1) and their evidence: every pair of candidate rows, then
    the columns supported between those two rows (found per pair, so a short picture's
    sides are not outranked by a backdrop's long lines), then the pairs of those columns
    whose stretches of the two rows are supported too."""
    h, w = vertical.shape[0], horizontal.shape[1]
    ys = _candidates(_longest_runs(horizontal), w)
    # Supported pixels of each candidate row left of each column boundary, and of each
    # column boundary above each candidate row (counts, so every share below is exact).
    along_rows = np.zeros((len(ys), w + 1), np.int32)
    np.cumsum(horizontal[ys], axis=1, dtype=np.int32, out=along_rows[:, 1:])
    down_cols = np.diff(cv2.integral(vertical.view(np.uint8))[ys], axis=1)
    i, j = _pairs(len(ys))
    high = (ys[j] - ys[i]).astype(np.float64)
    tall = high >= MIN_SIDE * h
    i, j, high = i[tall], j[tall], high[tall]
    if not len(i):
        return np.empty((0, 4), np.int64), np.empty(0)
    # Each row pair's share of supported pixels in every column between the two rows.
    share = (down_cols[j] - down_cols[i]) / high[:, None]
    share[:, 0] = share[:, w] = 1.0
    peak = cv2.dilate(share.astype(np.float32), np.ones((1, 2 * SEPARATION + 1), np.uint8))
    chosen = (share >= SUPPORTED) & (share >= peak - 1e-6)
    columns, usable = _strongest_columns(share, chosen)
    k = columns.shape[1]
    a, b = _pairs(k)
    # Every pair of usable columns, row pair by row pair: the cheap tests first, on all
    # of them, and the costlier ones only on what is left.
    ok = usable[:, a] & usable[:, b] & (columns[:, b] - columns[:, a] >= MIN_SIDE * w)
    pair, which = np.nonzero(ok)
    x0, x1 = columns[pair, a[which]], columns[pair, b[which]]
    wide = (x1 - x0).astype(np.float64)
    tall_side = high[pair]
    y0, y1 = ys[i[pair]], ys[j[pair]]
    area = wide * tall_side / (w * h)
    ok = ((y0 > 0) | (y1 < h) | (x0 > 0) | (x1 < w)) & (area >= MIN_AREA) & (area <= MAX_AREA)
    pair, x0, x1, wide, tall_side, y0, y1, area = (v[ok] for v in (pair, x0, x1, wide, tall_side, y0, y1, area))
    top_row, bottom_row = i[pair], j[pair]
    sides = (
        (y0 > 0, (along_rows[top_row, x1] - along_rows[top_row, x0]) / wide, wide),
        (y1 < h, (along_rows[bottom_row, x1] - along_rows[bottom_row, x0]) / wide, wide),
        (x0 > 0, share[pair, x0], tall_side),
        (x1 < w, share[pair, x1], tall_side),
    )
    ok = np.ones(len(x0), bool)
    for is_inner, support, _ in sides:
        ok &= ~is_inner | (support >= SUPPORTED)
    pair, x0, x1, wide, tall_side, y0, y1, area = (v[ok] for v in (pair, x0, x1, wide, tall_side, y0, y1, area))
    supported = np.zeros(len(x0))
    inner_length = np.zeros(len(x0))
    for is_inner, support, length in sides:
        is_inner, support, length = is_inner[ok], support[ok], length[ok]
        supported += np.where(is_inner, support * length, 0.0)
        inner_length += np.where(is_inner, length, 0.0)
    # Ranked by how fully its inner sides are supported (a layout's edges are sharp and
    # unbroken, a picture's own edges are not), then by area.
    score = np.round(supported / np.maximum(inner_length, 1.0), 2) + area / 100
    # A box that a supported line crosses from side to side is two pictures (a header
    # above a photo, two photos of a collage), not one: it ranks after every unsplit box.
    inside_rows = (ys[None, :] >= (y0 + SEPARATION)[:, None]) & (ys[None, :] <= (y1 - SEPARATION)[:, None])
    crossing = (along_rows[:, x1] - along_rows[:, x0]).T / wide[:, None] >= SPLIT_SUPPORT
    splits = np.zeros((len(i), w + 2), np.int32)
    np.cumsum(chosen & (share >= SPLIT_SUPPORT), axis=1, dtype=np.int32, out=splits[:, 1:])
    inner_columns = splits[pair, np.maximum(x1 - SEPARATION + 1, 0)] - splits[pair, np.minimum(x0 + SEPARATION, w + 1)]
    split = (inside_rows & crossing).any(axis=1) | (inner_columns > 0)
    score = score - np.where(split, SPLIT_PENALTY, 0.0)
    return np.column_stack([x0, y0, x1, y1]).astype(np.int64), score


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
    pixels = small.astype(np.float32)
    # Both directions' supports, each as rows and as columns: _rectangles reads lines
    # as rows of its first argument and columns of its second.
    horizontal = _row_support(pixels)
    vertical_t = _row_support(np.ascontiguousarray(pixels.T))
    vertical, horizontal_t = np.ascontiguousarray(vertical_t.T), np.ascontiguousarray(horizontal.T)
    # Rows first, then the same search on the transposed picture (columns first), so
    # neither direction's candidates are chosen by a global ranking alone.
    rows_first, rows_score = _rectangles(horizontal, vertical)
    cols_first, cols_score = _rectangles(vertical_t, horizontal_t)
    boxes = np.concatenate([rows_first, cols_first[:, [1, 0, 3, 2]]])
    score = np.concatenate([rows_score, cols_score])
    # Each box once (with its first score), in the order of (x0, y0, x1, y1).
    key = ((boxes[:, 0] * _KEY + boxes[:, 1]) * _KEY + boxes[:, 2]) * _KEY + boxes[:, 3]
    where = np.unique(key, return_index=True)[1]
    boxes, score = boxes[where], score[where]
    order = np.lexsort((np.arange(len(score)), -score))
    # The best box, then the best that overlaps no kept one by OVERLAP, and so on.
    kept: list[tuple[int, int, int, int]] = []
    while len(order) and len(kept) < MAX_REGIONS:
        best = boxes[order[0]]
        kept.append((int(best[0]), int(best[1]), int(best[2]), int(best[3])))
        order = order[1:][_ious(boxes[order[1:]], best) < OVERLAP]
    return [(a / w, b / h, c / w, d / h) for a, b, c, d in kept]


def _ious(boxes: npt.NDArray[np.int64], box: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """Intersection over union of each of ``boxes`` (x0, y0, x1, y1) with ``box``."""
    wide = np.maximum(0, np.minimum(boxes[:, 2], box[2]) - np.maximum(boxes[:, 0], box[0]))
    high = np.maximum(0, np.minimum(boxes[:, 3], box[3]) - np.maximum(boxes[:, 1], box[1]))
    shared = wide * high
    union = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) + (box[2] - box[0]) * (box[3] - box[1]) - shared
    iou: npt.NDArray[np.float64] = np.divide(shared, union, out=np.zeros(len(boxes)), where=union != 0)
    return iou


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
