"""Cutting source photographs into many distinct crops: targets, distractors, negatives.

*Targets* are indexed crops that queries are made from; two targets of one photograph
share at most ``TARGET_OVERLAP`` of the smaller one's area, so each query has one right
answer. *Negatives* are crops of the same photographs that are not indexed, sharing at
most ``OTHER_OVERLAP`` with any target or other negative; half of them are *hard*,
sharing at least 15% with a target, which is what makes colour- or texture-alike hashes
fail. *Distractors* fill the index up to its size; they share at most
``OTHER_OVERLAP`` with any target or negative (so each negative stays a non-match) and
may overlap each other freely. Targets and negatives must show some detail (sky,
bokeh, black space and smooth gradients are skipped: no method can tell two of them
apart, and BENCHMARKS.md says so); distractors need only be not flat.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

from benchmarks.sources import Photo

__all__ = ["Crop", "CropSet", "cut_crops"]

TARGET_OVERLAP = 0.25
OTHER_OVERLAP = 0.5
_HARD_MIN_OVERLAP = 0.15
_MIN_SIDE, _MAX_SIDE, _MIN_OUTPUT, _MAX_OUTPUT = 200, 2000, 256, 640
_MIN_DISTRACTOR_SIDE = 128  # small distractors fit between the guarded crops
_TRIES_PER_CROP = 80
_THUMB = 8  # photos are checked for texture on a 1/8-scale copy
_EDGE_STEP, _MIN_EDGE_SHARE = 10.0, 0.03

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Crop:
    """A crop: its source, the box it came from (x0, y0, x1, y1) and its RGB pixels."""

    ident: int
    photo: str
    box: Box
    pixels: npt.NDArray[np.uint8]


@dataclass(frozen=True)
class CropSet:
    """The three kinds of crop the benchmark uses."""

    targets: list[Crop]
    distractors: list[Crop]
    negatives: list[Crop]


def _overlap(box: Box, others: list[Box]) -> float:
    """Largest shared area between ``box`` and any of ``others``, over the smaller area."""
    if not others:
        return 0.0
    arr = np.asarray(others)
    w = np.clip(np.minimum(arr[:, 2], box[2]) - np.maximum(arr[:, 0], box[0]), 0, None)
    h = np.clip(np.minimum(arr[:, 3], box[3]) - np.maximum(arr[:, 1], box[1]), 0, None)
    areas = (arr[:, 2] - arr[:, 0]) * (arr[:, 3] - arr[:, 1])
    own = (box[2] - box[0]) * (box[3] - box[1])
    return float(np.max(w * h / np.minimum(areas, own)))


def _is_textured(gray: npt.NDArray[np.float32]) -> bool:
    """False for nearly flat regions: low contrast, or mostly featureless blocks."""
    h, w = (gray.shape[0] // 4) * 4, (gray.shape[1] // 4) * 4
    if h < 8 or w < 8:
        return False
    blocks = gray[:h, :w].reshape(h // 4, 4, w // 4, 4).std(axis=(1, 3))
    return float(gray.std()) >= 16.0 and float(np.mean(blocks < 2.0)) <= 0.4


def _has_detail(pixels: npt.NDArray[np.uint8]) -> bool:
    """False when under ``_MIN_EDGE_SHARE`` of the crop (at 128x128) lies on a visible edge:
    bokeh, sky and smooth gradients, which no method can tell apart from their neighbours."""
    gray = np.asarray(Image.fromarray(pixels).convert("L").resize((128, 128), Image.Resampling.BOX), dtype=np.float32)
    gx = np.diff(gray, axis=1)[:-1, :]
    gy = np.diff(gray, axis=0)[:, :-1]
    return float(np.mean(np.hypot(gx, gy) > _EDGE_STEP)) >= _MIN_EDGE_SHARE


def _random_box(rng: np.random.Generator, height: int, width: int, smallest: int) -> Box | None:
    aspect = float(np.exp(rng.uniform(np.log(0.6), np.log(1.67))))
    top = min(_MAX_SIDE, 0.6 * max(height, width))
    if top <= smallest:
        return None
    longest = float(np.exp(rng.uniform(np.log(smallest), np.log(top))))
    w, h = (longest, longest / aspect) if aspect >= 1 else (longest * aspect, longest)
    w, h = int(w), int(h)
    if w > width or h > height or min(w, h) < smallest * 0.6:
        return None
    x0, y0 = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
    return (x0, y0, x0 + w, y0 + h)


def _render(photo: Photo, box: Box, rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    region = Image.fromarray(photo.pixels[box[1] : box[3], box[0] : box[2]])
    # Large regions are shrunk to a web-like size, as published copies usually are.
    target = min(max(region.size), int(rng.uniform(_MIN_OUTPUT, _MAX_OUTPUT)))
    if max(region.size) > target:
        scale = target / max(region.size)
        size = (max(1, round(region.width * scale)), max(1, round(region.height * scale)))
        region = region.resize(size, Image.Resampling.LANCZOS)
    return np.asarray(region)


class _Cutter:
    """Draws random boxes from the photographs and keeps those that pass a rule."""

    def __init__(self, photos: list[Photo], seed: int) -> None:
        self.photos = photos
        self.rng = np.random.default_rng(seed)
        roots = np.sqrt([p.pixels.shape[0] * p.pixels.shape[1] for p in photos])
        self.weights = roots / roots.sum()  # sqrt: big wallpapers do not swamp the rest
        self.thumbs = [
            np.asarray(Image.fromarray(p.pixels).convert("L").reduce(_THUMB), dtype=np.float32) for p in photos
        ]
        self.targets: list[list[Box]] = [[] for _ in photos]
        # Boxes new crops must keep clear of: targets and negatives (distractors may
        # overlap each other freely, since no query ever expects one as its answer).
        self.guarded: list[list[Box]] = [[] for _ in photos]
        self.count = 0

    def _draw(self, smallest: int) -> tuple[int, Box] | None:
        which = int(self.rng.choice(len(self.photos), p=self.weights))
        box = _random_box(self.rng, *self.photos[which].pixels.shape[:2], smallest)
        if box is None:
            return None
        thumb = self.thumbs[which][box[1] // _THUMB : box[3] // _THUMB, box[0] // _THUMB : box[2] // _THUMB]
        return (which, box) if _is_textured(thumb) else None

    def cut(self, kind: str, count: int) -> list[Crop]:
        """Up to ``count`` crops of ``kind`` ("target", "distractor" or "negative")."""
        out: list[Crop] = []
        failures = 0
        while len(out) < count and failures < count * _TRIES_PER_CROP:
            drawn = self._draw(_MIN_SIDE if kind != "distractor" else _MIN_DISTRACTOR_SIDE)
            if drawn is None or not self._allowed(kind, *drawn, hard=len(out) % 2 == 0):
                failures += 1
                continue
            which, box = drawn
            pixels = _render(self.photos[which], box, self.rng)
            if kind != "distractor" and not _has_detail(pixels):
                failures += 1
                continue
            out.append(Crop(self.count, self.photos[which].name, box, pixels))
            self.count += 1
            if kind != "distractor":
                self.guarded[which].append(box)
            if kind == "target":
                self.targets[which].append(box)
        return out

    def _allowed(self, kind: str, which: int, box: Box, hard: bool) -> bool:
        limit = TARGET_OVERLAP if kind == "target" else OTHER_OVERLAP
        if _overlap(box, self.guarded[which]) > limit:
            return False
        with_targets = _overlap(box, self.targets[which])
        if with_targets > OTHER_OVERLAP:
            return False
        return not (kind == "negative" and hard and with_targets < _HARD_MIN_OVERLAP)


def cut_crops(photos: list[Photo], n_targets: int, n_index: int, n_negatives: int, seed: int) -> CropSet:
    """Cut targets, then negatives, then distractors up to ``n_index`` indexed crops.

    Fewer crops come back when the photographs run out of room for them.
    """
    cutter = _Cutter(photos, seed)
    targets = cutter.cut("target", n_targets)
    negatives = cutter.cut("negative", n_negatives)
    distractors = cutter.cut("distractor", max(0, n_index - len(targets)))
    return CropSet(targets, distractors, negatives)
