"""Cutting source photographs into many distinct crops: the indexed images and the negatives.

Indexed crops of one photograph overlap little (the shared area is at most
``INDEX_OVERLAP`` of the smaller crop), so each crop query has one right answer.
Negatives are crops of the same photographs that are not indexed; about half of them
are *hard*, sharing between 15% and ``NEGATIVE_OVERLAP`` of their area with an indexed
crop, which is what makes colour- or texture-alike hashes fail. Nearly flat crops
(sky, bokeh, black space) are skipped: no method can tell two of them apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from PIL import Image

from benchmarks.sources import Photo

__all__ = ["Crop", "cut_crops"]

INDEX_OVERLAP = 0.25
NEGATIVE_OVERLAP = 0.5
_HARD_MIN_OVERLAP = 0.15
_MIN_SIDE, _MAX_SIDE, _MAX_OUTPUT = 160, 900, 640
_TRIES_PER_CROP = 60


@dataclass(frozen=True)
class Crop:
    """A crop: its source, the box it came from (x0, y0, x1, y1) and its RGB pixels."""

    ident: int
    photo: str
    box: tuple[int, int, int, int]
    pixels: npt.NDArray[np.uint8]


def _overlap(box: tuple[int, int, int, int], others: list[tuple[int, int, int, int]]) -> float:
    """Largest shared area between ``box`` and any of ``others``, over the smaller area."""
    if not others:
        return 0.0
    arr = np.asarray(others)
    w = np.clip(np.minimum(arr[:, 2], box[2]) - np.maximum(arr[:, 0], box[0]), 0, None)
    h = np.clip(np.minimum(arr[:, 3], box[3]) - np.maximum(arr[:, 1], box[1]), 0, None)
    areas = (arr[:, 2] - arr[:, 0]) * (arr[:, 3] - arr[:, 1])
    own = (box[2] - box[0]) * (box[3] - box[1])
    return float(np.max(w * h / np.minimum(areas, own)))


def _is_textured(pixels: npt.NDArray[np.uint8]) -> bool:
    """False for nearly flat crops: low contrast, or mostly featureless blocks."""
    gray = np.asarray(Image.fromarray(pixels).convert("L").resize((128, 128)), dtype=np.float32)
    blocks = gray.reshape(16, 8, 16, 8).std(axis=(1, 3))
    return float(gray.std()) >= 16.0 and float(np.mean(blocks < 4.0)) <= 0.4


def _random_box(rng: np.random.Generator, height: int, width: int) -> tuple[int, int, int, int] | None:
    aspect = float(np.exp(rng.uniform(np.log(0.6), np.log(1.67))))
    longest = rng.uniform(_MIN_SIDE, min(_MAX_SIDE, 0.75 * max(height, width)))
    w, h = (longest, longest / aspect) if aspect >= 1 else (longest * aspect, longest)
    w, h = int(w), int(h)
    if w > width or h > height or min(w, h) < _MIN_SIDE * 0.6:
        return None
    x0, y0 = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
    return (x0, y0, x0 + w, y0 + h)


def _render(photo: Photo, box: tuple[int, int, int, int], rng: np.random.Generator) -> npt.NDArray[np.uint8]:
    region = Image.fromarray(photo.pixels[box[1] : box[3], box[0] : box[2]])
    # Large regions are shrunk to a web-like size, as published copies usually are.
    target = min(max(region.size), int(rng.uniform(320, _MAX_OUTPUT)))
    if max(region.size) > target:
        scale = target / max(region.size)
        region = region.resize((max(1, round(region.width * scale)), max(1, round(region.height * scale))), Image.Resampling.LANCZOS)
    return np.asarray(region)


def cut_crops(photos: list[Photo], n_index: int, n_negative: int, seed: int) -> tuple[list[Crop], list[Crop]]:
    """Cut ``n_index`` indexed crops and ``n_negative`` negatives (fewer if the photos run out)."""
    rng = np.random.default_rng(seed)
    areas = np.array([p.pixels.shape[0] * p.pixels.shape[1] for p in photos], dtype=np.float64)
    weights = np.sqrt(areas) / np.sqrt(areas).sum()  # sqrt: big wallpapers do not swamp the rest
    boxes: list[list[tuple[int, int, int, int]]] = [[] for _ in photos]
    indexed: list[Crop] = []
    negatives: list[Crop] = []
    for kind, count in (("index", n_index), ("negative", n_negative)):
        out = indexed if kind == "index" else negatives
        failures = 0
        while len(out) < count and failures < count * _TRIES_PER_CROP:
            which = int(rng.choice(len(photos), p=weights))
            photo = photos[which]
            box = _random_box(rng, *photo.pixels.shape[:2])
            if box is None:
                failures += 1
                continue
            overlap = _overlap(box, boxes[which])
            hard_wanted = kind == "negative" and len(out) % 2 == 0
            if kind == "index" and overlap > INDEX_OVERLAP or kind == "negative" and (
                overlap > NEGATIVE_OVERLAP or hard_wanted and overlap < _HARD_MIN_OVERLAP
            ):
                failures += 1
                continue
            pixels = _render(photo, box, rng)
            if not _is_textured(pixels):
                failures += 1
                continue
            ident = len(indexed) + len(negatives)
            out.append(Crop(ident, photo.name, box, pixels))
            if kind == "index":
                boxes[which].append(box)
    return indexed, negatives
