"""The benchmark's images and queries, built deterministically from the source photographs.

* ``index``: targets and distractors, each a JPEG (quality 90) under an integer key.
* ``positives``: every transform applied to (a seeded sample of) the targets; each
  query expects its target's key at rank 1.
* ``negatives``: crops that are not indexed, each passed through a random transform
  that keeps the whole frame, so that its format and quality look like a positive's.
* ``duplicates``: a collection for find-duplicates: targets, one or two transformed
  copies of some of them, and negatives as singletons; the true pairs are those
  within one target's group.

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
from benchmarks.graphics import graphic
from benchmarks.sources import load_photos
from benchmarks.transforms import TRANSFORMS, original

__all__ = ["GRAPHIC_KEYS", "Dataset", "Query", "Sizes", "build_dataset"]

#: Indexed graphics get keys from here up (crop keys stay far below).
GRAPHIC_KEYS = 10_000_000


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


def _transformed(job: tuple[Crop, int, int]) -> tuple[int, int, bytes]:
    crop, which, seed = job
    rng = np.random.default_rng(seed)
    return crop.ident, which, TRANSFORMS[which].apply(Image.fromarray(crop.pixels), rng)


def _original(crop: Crop) -> tuple[int, bytes]:
    return crop.ident, original(crop.pixels)


def _graphic_job(job: tuple[int, int | None, int]) -> tuple[int, bytes]:
    """A graphic as stored (JPEG q90) or through a transform (``which``)."""
    seed, which, transform_seed = job
    _, image = graphic(seed)
    if which is None:
        return seed, original(np.asarray(image))
    return seed, TRANSFORMS[which].apply(image, np.random.default_rng(transform_seed))


def build_dataset(sources: tuple[str, ...], sizes: Sizes, seed: int = 20240501, workers: int = 2) -> Dataset:
    """Cut the crops and make every indexed image and query (deterministic for a seed)."""
    crops = cut_crops(load_photos(sources), sizes.targets, sizes.index, sizes.negatives, seed)
    rng = np.random.default_rng(seed + 1)
    targets = crops.targets
    jobs: list[tuple[Crop, int, int]] = []
    for which in range(len(TRANSFORMS)):
        count = min(sizes.queries_per_transform, len(targets))
        for position in sorted(rng.choice(len(targets), count, replace=False)):
            jobs.append((targets[position], which, int(rng.integers(2**31))))
    whole = [i for i, transform in enumerate(TRANSFORMS) if not transform.cuts]
    negative_jobs = [(crop, int(rng.choice(whole)), int(rng.integers(2**31))) for crop in crops.negatives]
    group_heads = [
        targets[i] for i in sorted(rng.choice(len(targets), min(sizes.duplicate_groups, len(targets)), replace=False))
    ]
    copy_jobs = [
        (crop, int(which), int(rng.integers(2**31)))
        for crop in group_heads
        for which in rng.choice(len(TRANSFORMS), int(rng.integers(1, 3)), replace=False)
    ]
    # forkserver: never fork a process that already runs threads (it can deadlock)
    with multiprocessing.get_context("forkserver").Pool(workers) as pool:
        originals = dict(pool.map(_original, [*targets, *crops.distractors, *crops.negatives], chunksize=16))
        made = pool.map(_transformed, jobs, chunksize=16)
        negative_made = pool.map(_transformed, negative_jobs, chunksize=16)
        copies = pool.map(_transformed, copy_jobs, chunksize=16)
        graphics = _graphics(pool, sizes, rng, whole)
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
    return Dataset(index, positives, negatives, duplicates, groups, tuple(sources), crops)


@dataclass(frozen=True)
class _Graphics:
    index: dict[int, bytes]
    positives: list[Query]
    negatives: list[Query]
    singletons: list[bytes]


def _graphics(pool: Any, sizes: Sizes, rng: np.random.Generator, whole: list[int]) -> _Graphics:
    """Indexed graphics, copies of some of them, and graphics that are never indexed."""
    indexed = list(range(sizes.graphics))
    unseen = list(range(sizes.graphics, sizes.graphics + sizes.graphic_negatives))
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
