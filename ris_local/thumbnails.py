"""A third look for the pictures keypoints cannot hold: a small grey thumbnail, correlated.

Smooth photographs (out-of-focus petals, blurred motion, clouds, bark) give ORB few
corners, and a crop of one gives even fewer that the indexed picture shares; the
keypoint stage then verifies nothing. Their shapes survive at thumbnail size, though:
a crop of a picture is a region of the picture's thumbnail, scaled. So the query's
thumbnail is slid over a candidate's at the scales a crop can have (OpenCV's
``matchTemplate``, normalised correlation) and the best correlation scores.

Only the few candidates the keypoint vote ranks first are tried, and only when the
keypoints verified nothing good; thumbnails live in the feature blob on disk (64 x 64
bytes at most), not in the index. A pure gradient (a clear sky) correlates with any
other gradient, so a query thumbnail needs some structure (``MIN_DETAIL``) to count.
On the benchmark (BENCHMARKS.md) no negative reached a correlation of 0.97, and crops
of the right picture mostly score 0.98 and above.
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["SIDE", "correlation", "make", "similarity"]

U8 = npt.NDArray[np.uint8]
#: Longer side of a thumbnail, in pixels.
SIDE = 64
#: Scales at which the query's thumbnail is tried inside the candidate's: a crop of 20%
#: per side is 0.6 of the picture, a centre 70% crop 0.7; slightly above 1 covers a
#: query with a thin border left on it.
SCALES = np.round(np.arange(0.45, 1.051, 0.05), 2)
#: Fewer pixels than this on a side and a thumbnail says too little.
MIN_SIDE = 8
#: The query thumbnail's detail (standard deviation, in grey levels, of the thumbnail
#: minus its blur at ``_DETAIL_SIGMA``) must reach this: a noisy gradient has about 2.
MIN_DETAIL = 4.0
_DETAIL_SIGMA = 4.0
#: Correlation mapped to similarity: LOW -> SCORE_LOW, 1.0 -> SCORE_HIGH, nothing below LOW.
LOW, SCORE_LOW, SCORE_HIGH = 0.96, 55.0, 90.0


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


def correlation(query: U8, candidate: U8) -> float:
    """The best normalised correlation of ``query`` scaled into ``candidate`` over
    ``SCALES``; 0.0 when either is too small or the query too plain to tell."""
    if min(candidate.shape) < MIN_SIDE or detail(query) < MIN_DETAIL:
        return 0.0
    target = candidate.astype(np.float32)
    source = query.astype(np.float32)
    best = 0.0
    for scale in SCALES:
        width, height = round(query.shape[1] * scale), round(query.shape[0] * scale)
        if min(width, height) < MIN_SIDE or width > target.shape[1] or height > target.shape[0]:
            continue
        template = cv2.resize(source, (width, height), interpolation=cv2.INTER_AREA)
        if float(template.std()) < 1e-3:
            continue
        best = max(best, float(cv2.matchTemplate(target, template, cv2.TM_CCOEFF_NORMED).max()))
    return best


def similarity(value: float) -> float:
    """0..100 from a correlation: 0 below ``LOW``, then linear to ``SCORE_HIGH``."""
    if value < LOW:
        return 0.0
    return SCORE_LOW + (SCORE_HIGH - SCORE_LOW) * min(1.0, (value - LOW) / (1.0 - LOW))
