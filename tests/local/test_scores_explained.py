"""Issue 15: flat pictures never match each other at 100 and say why, a duplicate group
shows each member's link to it, and equal results tie by id."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageFilter

import ris_core
from ris_core.context import SearchContext
from ris_core.groups import strongest_links
from ris_core.testing.images import encode, photo


@pytest.fixture
def context() -> SearchContext:
    with ris_core.open("local", database=":memory:") as system:
        yield system.create_context("c")


def _ramp(width: int, height: int, low: int, high: int, vertical: bool = False) -> Image.Image:
    if vertical:
        return Image.fromarray(np.tile(np.linspace(low, high, height, dtype=np.uint8)[:, None], (1, width)))
    return Image.fromarray(np.tile(np.linspace(low, high, width, dtype=np.uint8), (height, 1)))


FLAT = {
    "red": Image.new("RGB", (200, 150), (200, 30, 30)),
    "blue": Image.new("RGB", (200, 150), (30, 30, 200)),
    "grey": Image.new("L", (300, 200), 128),
    "ramp": _ramp(200, 150, 0, 255),
    "ramp-dim": _ramp(200, 150, 40, 120),
    "ramp-down": _ramp(200, 150, 0, 255, vertical=True),
}


def test_flat_pictures_never_match_each_other_and_the_method_says_why(context: SearchContext) -> None:
    for image_id, image in FLAT.items():
        context.add_image(image_id, image)
    context.add_image("photo", photo(1, (200, 150)))
    for first in FLAT:
        for second in FLAT:
            if first < second:
                comparison = context.compare_images(first, second)
                assert comparison.similarity < context.system.backend.default_threshold, (first, second)
                assert "flat picture" in comparison.method
    assert context.find_duplicates() == []
    assert context.find_similar_images("red") == []
    # A picture with detail still finds its copy at the top of the scale.
    context.add_image("photo-copy", encode(photo(1, (200, 150)), "JPEG", quality=90))
    [match] = context.find_similar_images("photo", max_count=1)
    assert match.image_id == "photo-copy" and match.similarity > 90 and "flat" not in match.method


def test_each_group_member_shows_its_link_to_the_group(context: SearchContext) -> None:
    # Ever softer copies, each one step from the last.
    picture = photo(4, (320, 240))
    for step in range(6):
        softened = picture.filter(ImageFilter.GaussianBlur(step * 1.2))
        context.add_image(f"soft{step}", ImageEnhance.Contrast(softened).enhance(1 - step * 0.08))
    context.add_image("other", photo(11, (320, 240)))
    threshold = 80.0
    groups = context.find_duplicates(threshold)
    assert groups, "the softened copies group"
    for group in groups:
        assert len(group.links) == len(group.images)
        for result, link in zip(group.images, group.links, strict=True):
            assert result.similarity >= threshold
            assert link in group.image_ids and link != result.image_id


def test_strongest_links_are_each_nodes_best_edge_ties_to_the_smaller_id() -> None:
    edges = [("a", "b", 90.0), ("b", "c", 85.0), ("c", "d", 95.0), ("a", "c", 85.0)]
    links = strongest_links(edges, float)
    assert links == {"a": ("b", 90.0), "b": ("a", 90.0), "c": ("d", 95.0), "d": ("c", 95.0)}
    assert strongest_links([("x", "z", 80.0), ("x", "y", 80.0)], float)["x"] == ("y", 80.0)


def test_equal_results_tie_by_id_whatever_the_order_they_were_added(context: SearchContext) -> None:
    copy = encode(photo(2, (200, 150)))
    for image_id in ("c", "a", "d", "b"):
        context.add_image(image_id, copy)
    results = context.find_similar_images(image=copy)
    assert [result.image_id for result in results] == ["a", "b", "c", "d"]
    assert len({result.similarity for result in results}) == 1
