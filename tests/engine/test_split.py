"""The benchmark's split: each photograph on one side only, and composites never leak."""

from __future__ import annotations

import os

import pytest

from benchmarks.dataset import Sizes, build_dataset
from benchmarks.sources import load_photos
from benchmarks.split import SPLITS, is_backdrop, split_of, split_photos
from benchmarks.transforms import TRANSFORMS

SIZES = Sizes(
    targets=6, index=12, negatives=4, queries_per_transform=2, duplicate_groups=2, graphics=2, graphic_negatives=2
)
COMPOSITES = tuple(t for t in TRANSFORMS if t.composite is not None)


def test_every_photograph_falls_in_exactly_one_half() -> None:
    photos = load_photos(("skimage",))
    halves = {split: split_photos(photos, split) for split in SPLITS}
    names = {split: {p.name for part in halves[split] for p in part} for split in SPLITS}
    assert names["tuning"].isdisjoint(names["held-out"])
    assert names["tuning"] | names["held-out"] == {p.name for p in photos}
    assert all(names["tuning"]) and all(names["held-out"])


def test_a_photographs_half_depends_on_its_name_alone() -> None:
    assert split_of("skimage/astronaut.png") == split_of("skimage/astronaut.png")
    halves = {split_of(f"example/{k}.jpg") for k in range(200)}
    assert halves == {"tuning", "held-out"}
    share = sum(split_of(f"example/{k}.jpg") == "tuning" for k in range(2000)) / 2000
    assert 0.45 < share < 0.55


def test_backdrops_are_photographs_of_their_half_that_are_never_cut() -> None:
    photos = load_photos(("skimage",))
    for split in SPLITS:
        cut, backdrops = split_photos(photos, split)
        assert all(split_of(p.name) == split and is_backdrop(p.name) for p in backdrops)
        assert not any(is_backdrop(p.name) for p in cut)


@pytest.fixture(scope="module")
def halves():  # type: ignore[no-untyped-def]
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    transforms = (TRANSFORMS[0], *COMPOSITES)
    return {split: build_dataset(("skimage",), SIZES, seed=5, split=split, transforms=transforms) for split in SPLITS}


def test_no_photograph_has_crops_in_both_halves(halves) -> None:  # type: ignore[no-untyped-def]
    used = {}
    for split, data in halves.items():
        crops = data.crops
        used[split] = {c.photo for c in crops.targets + crops.distractors + crops.negatives} | set(data.backdrops)
        assert {c.photo for c in crops.targets} <= set(data.photos)
        assert all(split_of(name) == split for name in used[split])
    assert used["tuning"].isdisjoint(used["held-out"])


def test_composites_paste_onto_backdrops_that_are_not_indexed(halves) -> None:  # type: ignore[no-untyped-def]
    for data in halves.values():
        assert data.backdrops, "each half of the scikit-image photographs keeps a backdrop"
        assert set(data.backdrops).isdisjoint(data.photos)
        assert set(data.backdrops).isdisjoint(c.photo for c in data.crops.distractors + data.crops.targets)
        assert {q.transform for q in data.positives} >= {t.name for t in COMPOSITES}


def test_the_halves_draw_different_graphics(halves) -> None:  # type: ignore[no-untyped-def]
    tuning, held_out = (set(data.index) for data in (halves["tuning"], halves["held-out"]))
    graphic_keys = [{k for k in keys if k >= 10_000_000} for keys in (tuning, held_out)]
    assert graphic_keys[0] and graphic_keys[1] and graphic_keys[0].isdisjoint(graphic_keys[1])
