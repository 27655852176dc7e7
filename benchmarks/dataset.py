"""The benchmark's images and queries, built deterministically from the source photographs.

* ``index``: targets and distractors, each a JPEG (quality 90) under an integer key.
* ``positives``: every transform applied to (a seeded sample of) the targets; each
  query expects its target's key at rank 1.
* ``negatives``: crops that are not indexed, each passed through a random transform
  that keeps the whole frame, so that its format and quality look like a positive's.
* ``duplicates``: a collection for find-duplicates: targets, one or two transformed
  copies of some of them (transforms whose output is a copy of the whole picture:
  not heavy crops, composites or occlusion), and negatives as singletons; the true
  pairs are those within one target's group.

A dataset is built from one half of :mod:`benchmarks.split` (``split="tuning"`` or
``"held-out"``) or, with ``split=None``, from every photograph. Compositing transforms
paste the picture onto a random crop of a *backdrop* photograph of the same half that
is never indexed.

Synthetic graphics (:mod:`benchmarks.graphics`) join as hard negatives: some are
indexed (keys from ``GRAPHIC_KEYS``), others are negative queries (family
``negative-graphic``) and duplicate-collection singletons, so a method that calls two
different logos, charts or documents the same picture loses precision. A few indexed
graphics also get whole-frame transformed copies (family ``graphic``), reported apart
from the photograph families, so precision is not bought by missing graphics entirely.
"""

from __future__ import annotations

import itertools
import multiprocessing
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from benchmarks.crops import Crop, CropSet, cut_crops
from benchmarks.graphics import KINDS, graphic
from benchmarks.sources import Photo, load_photos
from benchmarks.split import Split, split_photos
from benchmarks.transforms import TRANSFORMS, Transform, original

__all__ = ["GRAPHIC_KEYS", "Dataset", "Query", "Sizes", "build_dataset"]

#: Indexed graphics get keys from here up (crop keys stay far below).
GRAPHIC_KEYS = 10_000_000
#: The held-out half draws its graphics from seeds from here up (a multiple of the
#: number of kinds, so kinds keep their turns), the tuning half from 0.
HELD_OUT_GRAPHIC_SEEDS = 100_000 * len(KINDS)
_BACKDROP_SIDE = 640  # backdrop crops are shrunk to this long side before pasting


@dataclass(frozen=True)
class Query:
    """A query image, its transform and family, and the key it should find (-1: none)."""

    data: bytes
    transform: str
    family: str
    expected: int


@dataclass(frozen=True)
class Sizes:
    """How big a benchmark to build."""

    targets: int
    index: int
    negatives: int
    queries_per_transform: int
    duplicate_groups: int
    graphics: int = 0  # indexed synthetic graphics
    graphic_negatives: int = 0  # graphics that are not indexed, as negative queries
    graphic_queries: int = 0  # transformed copies of indexed graphics (family "graphic")


@dataclass(frozen=True)
class Dataset:
    """Everything one benchmark run searches: see the module docstring."""

    index: dict[int, bytes]
    positives: list[Query]
    negatives: list[Query]
    duplicates: dict[int, bytes]
    duplicate_groups: dict[int, int]
    sources: tuple[str, ...]
    crops: CropSet
    split: Split | None = None
    #: Names of the photographs cut into crops, and of the backdrops (never indexed).
    photos: tuple[str, ...] = ()
    backdrops: tuple[str, ...] = ()


Job = tuple[Crop, int, int, "np.ndarray[Any, Any] | None"]


def _transformed(job: Job) -> tuple[int, int, bytes]:
    crop, which, seed, backdrop = job
    rng = np.random.default_rng(seed)
    behind = Image.fromarray(backdrop) if backdrop is not None else None
    return crop.ident, which, TRANSFORMS[which].make(Image.fromarray(crop.pixels), rng, behind)


class _Backdrops:
    """Random crops of the backdrop photographs, for the transforms that need one."""

    def __init__(self, photos: list[Photo], rng: np.random.Generator) -> None:
        self.photos = photos
        self.rng = rng

    def for_transform(self, transform: Transform) -> np.ndarray[Any, Any] | None:
        if transform.composite is None:
            return None
        if not self.photos:
            raise ValueError(f"{transform.name} needs backdrop photographs and this half of the split has none")
        pixels = self.photos[int(self.rng.integers(len(self.photos)))].pixels
        h, w = pixels.shape[:2]
        ch, cw = int(h * self.rng.uniform(0.5, 1.0)), int(w * self.rng.uniform(0.5, 1.0))
        y, x = int(self.rng.integers(0, h - ch + 1)), int(self.rng.integers(0, w - cw + 1))
        region = Image.fromarray(pixels[y : y + ch, x : x + cw])
        region.thumbnail((_BACKDROP_SIDE, _BACKDROP_SIDE), Image.Resampling.LANCZOS)
        return np.asarray(region)


def _original(crop: Crop) -> tuple[int, bytes]:
    return crop.ident, original(crop.pixels)


def _graphic_job(job: tuple[int, int | None, int]) -> tuple[int, bytes]:
    """A graphic as stored (JPEG q90) or through a transform (``which``)."""
    seed, which, transform_seed = job
    _, image = graphic(seed)
    if which is None:
        return seed, original(np.asarray(image))
    return seed, TRANSFORMS[which].apply(image, np.random.default_rng(transform_seed))


def build_dataset(
    sources: tuple[str, ...],
    sizes: Sizes,
    seed: int = 20240501,
    workers: int = 2,
    split: Split | None = None,
    transforms: tuple[Transform, ...] = TRANSFORMS,
) -> Dataset:
    """Cut the crops and make every indexed image and query (deterministic for a seed).

    ``split`` picks one half of the photographs (None: all); ``transforms`` the query
    transforms (a subset of ``TRANSFORMS``).
    """
    photos = load_photos(sources)
    cut, backdrop_photos = split_photos(photos, split)
    if not any(t.composite for t in transforms):
        # Nothing to paste onto: backdrops are cut like the rest, in the sources' order.
        kept = {p.name for p in cut + backdrop_photos}
        cut, backdrop_photos = [p for p in photos if p.name in kept], []
    crops = cut_crops(cut, sizes.targets, sizes.index, sizes.negatives, seed)
    rng = np.random.default_rng(seed + 1)
    backdrops = _Backdrops(backdrop_photos, np.random.default_rng(seed + 2))
    chosen = [TRANSFORMS.index(t) for t in transforms]
    targets = crops.targets
    jobs: list[Job] = []
    for which in chosen:
        count = min(sizes.queries_per_transform, len(targets))
        for position in sorted(rng.choice(len(targets), count, replace=False)):
            jobs.append(
                (targets[position], which, int(rng.integers(2**31)), backdrops.for_transform(TRANSFORMS[which]))
            )
    whole = [i for i in chosen if not TRANSFORMS[i].cuts]
    negative_jobs: list[Job] = []
    for crop in crops.negatives:
        which = int(rng.choice(whole))
        negative_jobs.append((crop, which, int(rng.integers(2**31)), backdrops.for_transform(TRANSFORMS[which])))
    group_heads = [
        targets[i] for i in sorted(rng.choice(len(targets), min(sizes.duplicate_groups, len(targets)), replace=False))
    ]
    copies_from = [i for i in chosen if TRANSFORMS[i].duplicate]
    copy_jobs: list[Job] = []
    for crop in group_heads:
        count = int(rng.integers(1, 3))
        for pick in rng.choice(len(copies_from), min(count, len(copies_from)), replace=False):
            which = copies_from[int(pick)]
            copy_jobs.append((crop, which, int(rng.integers(2**31)), backdrops.for_transform(TRANSFORMS[which])))
    # forkserver: never fork a process that already runs threads (it can deadlock)
    with multiprocessing.get_context("forkserver").Pool(workers) as pool:
        originals = dict(pool.map(_original, [*targets, *crops.distractors, *crops.negatives], chunksize=16))
        made = pool.map(_transformed, jobs, chunksize=16)
        negative_made = pool.map(_transformed, negative_jobs, chunksize=16)
        copies = pool.map(_transformed, copy_jobs, chunksize=16)
        first_seed = HELD_OUT_GRAPHIC_SEEDS if split == "held-out" else 0
        graphics = _graphics(pool, sizes, rng, [i for i in whole if TRANSFORMS[i].composite is None], first_seed)
    index = {crop.ident: originals[crop.ident] for crop in itertools.chain(targets, crops.distractors)}
    index.update(graphics.index)
    positives = [Query(data, TRANSFORMS[w].name, TRANSFORMS[w].family, ident) for ident, w, data in made]
    positives += graphics.positives
    negatives = [Query(data, TRANSFORMS[w].name, "negative", -1) for _, w, data in negative_made]
    negatives += graphics.negatives
    duplicates, groups = _duplicate_collection(group_heads, copies, crops.negatives, originals)
    for data in graphics.singletons:
        key = len(duplicates)
        duplicates[key], groups[key] = data, -1 - key
    return Dataset(
        index,
        positives,
        negatives,
        duplicates,
        groups,
        tuple(sources),
        crops,
        split,
        tuple(p.name for p in cut),
        tuple(p.name for p in backdrop_photos),
    )


@dataclass(frozen=True)
class _Graphics:
    index: dict[int, bytes]
    positives: list[Query]
    negatives: list[Query]
    singletons: list[bytes]


def _graphics(pool: Any, sizes: Sizes, rng: np.random.Generator, whole: list[int], first_seed: int) -> _Graphics:
    """Indexed graphics, copies of some of them, and graphics that are never indexed."""
    indexed = list(range(first_seed, first_seed + sizes.graphics))
    unseen = list(range(first_seed + sizes.graphics, first_seed + sizes.graphics + sizes.graphic_negatives))
    jobs: list[tuple[int, int | None, int]] = [(seed, None, 0) for seed in indexed]
    chosen = (
        sorted(rng.choice(len(indexed), min(sizes.graphic_queries, len(indexed)), replace=False)) if indexed else []
    )
    copy_jobs = [(indexed[i], int(rng.choice(whole)), int(rng.integers(2**31))) for i in chosen]
    negative_jobs = [(seed, int(rng.choice(whole)), int(rng.integers(2**31))) for seed in unseen]
    stored = pool.map(_graphic_job, jobs + [(seed, None, 0) for seed in unseen], chunksize=16)
    copies = pool.map(_graphic_job, copy_jobs, chunksize=16)
    negatives = pool.map(_graphic_job, negative_jobs, chunksize=16)
    return _Graphics(
        {GRAPHIC_KEYS + seed: data for seed, data in stored[: len(indexed)]},
        [
            Query(data, TRANSFORMS[job[1]].name, "graphic", GRAPHIC_KEYS + seed)  # type: ignore[index]
            for (seed, data), job in zip(copies, copy_jobs, strict=True)
        ],
        [
            Query(data, TRANSFORMS[job[1]].name, "negative-graphic", -1)  # type: ignore[index]
            for (_, data), job in zip(negatives, negative_jobs, strict=True)
        ],
        [data for _, data in stored[len(indexed) :]],
    )


def _duplicate_collection(
    heads: list[Crop], copies: list[tuple[int, int, bytes]], singles: list[Crop], originals: dict[int, bytes]
) -> tuple[dict[int, bytes], dict[int, int]]:
    """Keys 0.. for the heads, their copies and the singletons; each key's group id."""
    images: dict[int, bytes] = {}
    groups: dict[int, int] = {}
    for crop in heads:
        key = len(images)
        images[key], groups[key] = originals[crop.ident], crop.ident
    for ident, _, data in copies:
        key = len(images)
        images[key], groups[key] = data, ident
    for crop in singles:
        key = len(images)
        images[key], groups[key] = originals[crop.ident], crop.ident
    return images, groups
