"""find_duplicates' candidate reach does not depend on its threshold (issue 14 item 2).

A pair's score comes from all its evidence (hash, keypoints, thumbnails), not from its
hash distance alone, so a pair whose hash codes are 20 bits apart can score above 80.
A run at a threshold must therefore find every pair that a run at a lower threshold
finds with a score at or above it: lowering the threshold may add pairs, never uncover
ones the higher run should have had.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Iterator

import numpy as np
import pytest
import skimage.data as skimage_data
from PIL import Image, ImageEnhance, ImageFilter, ImageOps

import ris_core

THRESHOLDS = (80.0, 70.0)


def _jpeg(image: Image.Image, quality: int = 85) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def _crop(image: Image.Image, left: float, top: float, right: float, bottom: float) -> Image.Image:
    w, h = image.size
    return image.crop((round(w * left), round(h * top), round(w * (1 - right)), round(h * (1 - bottom))))


def _transforms() -> list[Callable[[Image.Image], Image.Image]]:
    """Copies a user would call duplicates, from hash-easy to keypoint- or thumbnail-only."""
    return [
        lambda p: ImageEnhance.Contrast(p).enhance(1.5).filter(ImageFilter.GaussianBlur(2)),
        lambda p: _crop(p, 0.2, 0.0, 0.0, 0.15),  # off-centre: the hash moves, keypoints stay
        lambda p: p.rotate(10, Image.Resampling.BICUBIC),
        lambda p: ImageOps.mirror(_crop(p, 0.12, 0.05, 0.0, 0.1)),
        lambda p: ImageEnhance.Brightness(_crop(p, 0.08, 0.08, 0.08, 0.08)).enhance(1.3),
        lambda p: p.resize((p.width // 3, p.height // 3)).filter(ImageFilter.GaussianBlur(1)),
    ]


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A local database of pairs: the two halves of each of scikit-image's photographs
    are two pictures (they share no pixel), and each has one copy, a transform after
    another; each true group is a pair, so a pair a run misses is a group it misses."""
    names = ("astronaut", "camera", "coffee", "chelsea", "rocket", "coins", "brick", "grass", "gravel", "page")
    transforms = _transforms()
    with ris_core.open("local", database=tmp_path_factory.mktemp("reach") / "ris.db") as system:
        album = system.create_context("reach")
        count = 0
        for name in names:
            photo = Image.fromarray(np.asarray(getattr(skimage_data, name)())).convert("RGB")
            w, h = photo.size
            for side, picture in (("left", photo.crop((0, 0, w // 2, h))), ("right", photo.crop((w // 2, 0, w, h)))):
                copy = transforms[count % len(transforms)](picture)
                album.add_image(f"{name}-{side}/original.jpg", _jpeg(picture, quality=90))
                album.add_image(f"{name}-{side}/copy.jpg", _jpeg(copy, quality=70))
                count += 1
        yield album


def _groups(context: object, threshold: float) -> dict[str, int]:
    groups = context.find_duplicates(threshold=threshold)  # type: ignore[attr-defined]
    return {image: n for n, group in enumerate(groups) for image in group.image_ids}


@pytest.mark.parametrize("threshold", THRESHOLDS)
def test_a_run_finds_every_pair_a_lower_run_scores_above_its_threshold(context: object, threshold: float) -> None:
    high, low = _groups(context, threshold), _groups(context, threshold - 20)
    members: dict[int, list[str]] = {}
    for image, group in low.items():
        members.setdefault(group, []).append(image)
    checked = 0
    for images in members.values():
        for a, b in itertools.combinations(sorted(images), 2):
            score = context.compare_images(a, b).similarity  # type: ignore[attr-defined]
            if score >= threshold:
                checked += 1
                assert a in high and high[a] == high.get(b), (a, b, score)
    assert checked >= 10, "the collection should hold pairs above the threshold"


def test_no_group_mixes_two_pictures(context: object) -> None:
    for threshold in (80.0, 60.0):
        found = _groups(context, threshold)
        pictures: dict[int, set[str]] = {}
        for image, group in found.items():
            pictures.setdefault(group, set()).add(image.split("/")[0])
        assert all(len(names) == 1 for names in pictures.values()), (threshold, pictures)
