"""Local features for the keypoint stage: ORB keypoints on a normalised grayscale image.

ORB (OpenCV) is used rather than AKAZE: with default thresholds AKAZE finds few or no
keypoints on smooth photographs, and ORB is several times faster. Images are first
scaled so their longer side is ``WORK_SIDE`` pixels (small images are enlarged, so a
25% thumbnail still yields keypoints), then ORB looks for ``MAX_KEYPOINTS`` corners
over an 8-level pyramid, which gives scale invariance over about 1:3.6.
:func:`detect_with_mirror` also gives the keypoints of the mirror image from the same
corner search (ORB's corner test, score and orientation are mirror-symmetric), computing
only their descriptors on the mirror image.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

__all__ = [
    "GRID",
    "MAX_KEYPOINTS",
    "WORK_SIDE",
    "Keypoints",
    "concatenate",
    "detect",
    "detect_with_mirror",
    "level_budgets",
    "select",
    "shrink",
    "strongest",
    "work_image",
]

#: Longer side, in pixels, of the image ORB runs on.
WORK_SIDE = 384
#: Keypoint positions are stored on a grid this many cells across the longer side.
GRID = 256
MAX_KEYPOINTS = 400

# A low FAST threshold and small border let smooth, blurry photographs keep corners.
_SCALE_FACTOR, _LEVELS, _EDGE, _PATCH = 1.2, 8, 19, 19
_DETECTORS: dict[tuple[int, int], cv2.ORB] = {}


def _detector(count: int, fast_threshold: int) -> cv2.ORB:
    """One ORB detector per keypoint budget and FAST threshold, made once."""
    key = (count, fast_threshold)
    if key not in _DETECTORS:
        _DETECTORS[key] = cv2.ORB.create(
            nfeatures=count,
            scaleFactor=_SCALE_FACTOR,
            nlevels=_LEVELS,
            edgeThreshold=_EDGE,
            patchSize=_PATCH,
            fastThreshold=fast_threshold,
        )
    return _DETECTORS[key]


_FEW = 100
#: ORB finds nothing within ``edgeThreshold`` of a side, and its pyramid fails on an
#: image thinner than that (a 1000x1 strip is a valid file), so such images have none.
_MIN_SIDE = 2 * _EDGE + 1


@dataclass(frozen=True)
class Keypoints:
    """Keypoints of one image, strongest first.

    ``xy`` is in grid units (the longer side spans ``GRID``), ``angle`` in degrees,
    ``octave`` the pyramid level, ``descriptors`` the 256-bit ORB descriptors.
    ``size`` is the image's (width, height) in grid units.
    """

    xy: npt.NDArray[np.float32]
    angle: npt.NDArray[np.float32]
    octave: npt.NDArray[np.int32]
    descriptors: npt.NDArray[np.uint8]
    size: tuple[float, float]


def work_image(gray: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Scale ``gray`` so its longer side is ``WORK_SIDE`` (area averaging when shrinking)."""
    height, width = gray.shape
    scale = WORK_SIDE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    method = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(gray, size, interpolation=method), dtype=np.uint8)


def shrink(work: npt.NDArray[np.uint8], scale: float) -> npt.NDArray[np.uint8]:
    """``work`` scaled down by ``scale`` (area averaging); keypoints found on it keep
    the work image's grid units, since :func:`detect` measures in the longer side."""
    height, width = work.shape
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(cv2.resize(work, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def concatenate(first: Keypoints, second: Keypoints) -> Keypoints:
    """The keypoints of ``first`` then those of ``second`` (same picture, same grid)."""
    return Keypoints(
        np.concatenate([first.xy, second.xy]),
        np.concatenate([first.angle, second.angle]),
        np.concatenate([first.octave, second.octave]),
        np.concatenate([first.descriptors, second.descriptors]),
        first.size,
    )


def select(found: Keypoints, rows: npt.NDArray[np.intp]) -> Keypoints:
    """The keypoints of ``found`` at ``rows``, in that order."""
    return Keypoints(found.xy[rows], found.angle[rows], found.octave[rows], found.descriptors[rows], found.size)


def strongest(found: Keypoints, count: int) -> Keypoints:
    """The first ``count`` keypoints of ``found`` (:func:`detect` puts the strongest first)."""
    return select(found, np.arange(min(count, len(found.xy))))


def _found(work: npt.NDArray[np.uint8], count: int) -> tuple[Sequence[cv2.KeyPoint], npt.NDArray[np.uint8] | None]:
    """ORB's own keypoints and descriptors of a work image (in ORB's order)."""
    if min(work.shape) < _MIN_SIDE:
        return (), None
    found, descriptors = _detector(count, 5).detectAndCompute(work, None)
    if len(found) < _FEW:
        # A smooth picture: look again with the most sensitive corner test.
        found, descriptors = _detector(count, 1).detectAndCompute(work, None)
    return found, _bytes(descriptors)


def _bytes(descriptors: object) -> npt.NDArray[np.uint8] | None:
    """OpenCV's descriptors (``None`` when there are none) as uint8 rows."""
    return None if descriptors is None else np.asarray(descriptors, dtype=np.uint8)


@dataclass(frozen=True)
class _Found:
    """ORB's keypoints of one image read into arrays, in ORB's order."""

    xy: npt.NDArray[np.float32]
    angle: npt.NDArray[np.float32]
    response: npt.NDArray[np.float32]
    octave: npt.NDArray[np.int32]
    descriptors: npt.NDArray[np.uint8]


def _read(found: Sequence[cv2.KeyPoint], descriptors: npt.NDArray[np.uint8] | None) -> _Found | None:
    """The arrays of ORB's keypoints, or ``None`` when there are none."""
    if descriptors is None or not found:
        return None
    # Each attribute of a cv2.KeyPoint is a Python-level access (about a third of a
    # microsecond): read each once with a list comprehension (faster than a generator
    # into np.fromiter), rather than index the tuple per field.
    return _Found(
        np.asarray(cv2.KeyPoint.convert(found), dtype=np.float32).reshape(len(found), 2),
        np.array([kp.angle for kp in found], np.float32),
        np.array([kp.response for kp in found], np.float32),
        np.array([kp.octave for kp in found], np.int32),
        descriptors,
    )


def _as_keypoints(work: npt.NDArray[np.uint8], found: _Found | None) -> Keypoints:
    """ORB's keypoints of ``work`` as :class:`Keypoints`, strongest first (ties in ORB's order)."""
    height, width = work.shape
    unit = GRID / max(height, width)
    if found is None:
        return Keypoints(
            np.empty((0, 2), np.float32),
            np.empty(0, np.float32),
            np.empty(0, np.int32),
            np.empty((0, 32), np.uint8),
            (width * unit, height * unit),
        )
    order = np.argsort(-found.response, kind="stable")
    return Keypoints(
        found.xy[order] * unit,
        found.angle[order],
        found.octave[order],
        found.descriptors[order],
        (width * unit, height * unit),
    )


def detect(work: npt.NDArray[np.uint8], count: int = MAX_KEYPOINTS) -> Keypoints:
    """At most ``count`` ORB keypoints and descriptors of a work image, strongest first."""
    return _as_keypoints(work, _read(*_found(work, count)))


def level_budgets(count: int) -> list[int]:
    """How many of ``count`` keypoints ORB keeps on each pyramid level, finest first
    (OpenCV's split: a geometric series of ratio ``1 / scaleFactor``, the last level
    taking what is left)."""
    factor = 1 / _SCALE_FACTOR
    share = count * (1 - factor) / (1 - factor**_LEVELS)
    budgets = []
    for _ in range(_LEVELS - 1):
        budgets.append(round(share))
        share *= factor
    budgets.append(max(count - sum(budgets), 0))
    return budgets


def detect_with_mirror(work: npt.NDArray[np.uint8], count: int, mirrored: int) -> tuple[Keypoints, Keypoints]:
    """:func:`detect` of ``work`` with ``count`` keypoints, and of its horizontal mirror
    with ``mirrored``, from one corner search.

    ORB's corner test, corner score, orientation and pyramid are mirror-symmetric, so a
    corner of the mirror is a corner of ``work`` mirrored, its angle ``180 - angle``. The
    mirror's keypoints are the strongest of each level (``level_budgets(mirrored)``) of
    those found on ``work``, mirrored, with their descriptors computed on the mirror
    image: on the benchmark's large photographs each one has the very descriptor a
    search of the mirror finds at that place, and 65-98% of them are the ones it finds
    (a search with a smaller budget ranks fewer candidates per level). That spares the
    second corner search, about 60% of a search."""
    found = _read(*_found(work, count))
    normal = _as_keypoints(work, found)
    flipped = np.ascontiguousarray(work[:, ::-1])
    if found is None:
        return normal, _as_keypoints(flipped, None)
    # Strongest first within each level (ties in ORB's order), then each level's budget.
    order = np.lexsort((np.arange(len(found.octave)), -found.response, found.octave))
    level = found.octave[order]
    rank = np.arange(len(order)) - np.searchsorted(level, level, side="left")
    budgets = np.asarray(level_budgets(mirrored))
    kept = order[rank < budgets[np.minimum(level, _LEVELS - 1)]]
    # ORB places a keypoint of a level at its pixel there times the level's scale, and
    # the level is round(width / scale) pixels wide (OpenCV's cvRound: half to even).
    scale = _SCALE_FACTOR ** found.octave[kept].astype(np.float64)
    level_width = np.round(work.shape[1] / scale)
    x = (level_width - 1 - found.xy[kept, 0] / scale) * scale
    angle = np.mod(180.0 - found.angle[kept].astype(np.float64), 360.0)
    mirror = [
        cv2.KeyPoint(*fields)
        for fields in zip(
            x.tolist(),
            found.xy[kept, 1].tolist(),
            (_PATCH * scale).tolist(),  # ORB's size of a keypoint of that level (unused by compute)
            angle.tolist(),
            found.response[kept].tolist(),
            found.octave[kept].tolist(),
            strict=True,
        )
    ]
    mirror_found, descriptors = _detector(count, 5).compute(flipped, mirror)
    if descriptors is None or len(mirror_found) != len(mirror):
        # ORB dropped some at the border: read back the ones it kept.
        return normal, _as_keypoints(flipped, _read(mirror_found, _bytes(descriptors)))
    # ORB keeps keypoints sorted by level, in their order, as given: no need to read them back.
    xy = np.stack([x, found.xy[kept, 1]], axis=1).astype(np.float32)
    arrays = _Found(
        xy, angle.astype(np.float32), found.response[kept], found.octave[kept], np.asarray(descriptors, np.uint8)
    )
    return normal, _as_keypoints(flipped, arrays)
