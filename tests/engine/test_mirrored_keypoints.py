"""The mirrored keypoints derived from the normal corner search (``keypoints.detect_with_mirror``).

They must be what a corner search of the mirror image would find: the same places, angles
and descriptors wherever both have a keypoint, and mostly the same keypoints.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from ris_local.features import keypoints


def _work(photo: Image.Image) -> np.ndarray:
    return keypoints.work_image(np.asarray(photo.convert("L")))


def _by_place(found: keypoints.Keypoints) -> dict[tuple[float, float, int], tuple[float, bytes]]:
    return {
        (round(float(x), 2), round(float(y), 2), int(o)): (float(a), d.tobytes())
        for (x, y), a, o, d in zip(found.xy, found.angle, found.octave, found.descriptors, strict=True)
    }


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea", "rocket"])
def test_mirrored_keypoints_are_those_of_the_mirror_image(photos: dict[str, Image.Image], name: str) -> None:
    work = _work(photos[name])
    normal, mirrored = keypoints.detect_with_mirror(work, 800, 400)
    searched = keypoints.detect(np.ascontiguousarray(work[:, ::-1]), 400)
    # The normal keypoints are exactly those of a search alone.
    alone = keypoints.detect(work, 800)
    assert np.array_equal(normal.xy, alone.xy) and np.array_equal(normal.descriptors, alone.descriptors)
    assert len(mirrored.xy) == len(searched.xy)
    assert mirrored.size == searched.size
    derived, found = _by_place(mirrored), _by_place(searched)
    shared = derived.keys() & found.keys()
    assert len(shared) >= 0.6 * len(found)
    for place in shared:
        angle, descriptor = derived[place]
        assert abs((angle - found[place][0] + 180) % 360 - 180) < 0.01
        assert descriptor == found[place][1]


def test_a_picture_without_corners_has_no_mirrored_keypoints() -> None:
    flat = np.full((300, 400), 128, np.uint8)
    normal, mirrored = keypoints.detect_with_mirror(flat, 800, 400)
    assert len(normal.xy) == len(mirrored.xy) == 0
    assert mirrored.size == normal.size


def test_a_strip_too_thin_for_corners_has_no_mirrored_keypoints() -> None:
    strip = np.random.default_rng(1).integers(0, 256, (20, 384), dtype=np.uint8)
    normal, mirrored = keypoints.detect_with_mirror(strip, 800, 400)
    assert len(normal.xy) == len(mirrored.xy) == 0


def test_level_budgets_split_the_count_as_orb_does() -> None:
    assert keypoints.level_budgets(400) == [87, 72, 60, 50, 42, 35, 29, 25]
    assert sum(keypoints.level_budgets(800)) == 800
