"""The benchmark's two halves: a tuning half and a held-out half, by photograph.

Every source photograph belongs to exactly one half, decided by its name alone: the
first 8 bytes of the SHA-256 of ``Photo.name`` (``"<source>/<file>"``), read as a
fraction of 2**64, below ``TUNING_SHARE`` is *tuning*, the rest *held-out*. A name's
half never changes when photographs are added or removed, and every crop, negative,
distractor, duplicate and backdrop of a photograph is cut from that photograph only,
so nothing of a held-out photograph reaches the tuning half. Tuning code builds its
dataset with ``split="tuning"`` (``python -m benchmarks run --split tuning``) and never
looks at the other half; the report's headline is the held-out half.

Within each half a second hash (the next 8 bytes) sets aside ``BACKDROP_SHARE`` of the
photographs as *backdrops*: they are never indexed and never cut into queries. The
compositing transforms (picture-in-picture, phone screenshots, collages) paste a target
onto a crop of one of them, so the other half of a composite is an unrelated
photograph that no search can find, from the same half of the split.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Literal

from benchmarks.sources import Photo

__all__ = ["BACKDROP_SHARE", "SPLITS", "TUNING_SHARE", "Split", "is_backdrop", "split_of", "split_photos"]

Split = Literal["tuning", "held-out"]
SPLITS: tuple[Split, ...] = ("tuning", "held-out")
TUNING_SHARE = 0.5
BACKDROP_SHARE = 0.2


def _fractions(name: str) -> tuple[float, float]:
    digest = hashlib.sha256(name.encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64, int.from_bytes(digest[8:16], "big") / 2**64


def split_of(name: str) -> Split:
    """The half a photograph (by its ``Photo.name``) belongs to."""
    return "tuning" if _fractions(name)[0] < TUNING_SHARE else "held-out"


def is_backdrop(name: str) -> bool:
    """True for the photographs kept out of the index, as backdrops for composites."""
    return _fractions(name)[1] < BACKDROP_SHARE


def split_photos(photos: Sequence[Photo], split: Split | None) -> tuple[list[Photo], list[Photo]]:
    """The photographs of ``split`` (all of them for None), as (to cut, backdrops)."""
    chosen = [p for p in photos if split is None or split_of(p.name) == split]
    return [p for p in chosen if not is_backdrop(p.name)], [p for p in chosen if is_backdrop(p.name)]
