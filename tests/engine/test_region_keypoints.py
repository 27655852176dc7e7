"""A picture pasted small into another: its region's own keypoints verify it.

A picture pasted at a third of a frame holds a ninth of the frame's keypoints, and its
region's hash is often too far from the picture's (a box a few pixels off moves many
bits). The proposed regions small enough to be a pasted picture keep keypoints found on
the region alone (``Features.region_keypoints``); the pair's evidence verifies them
against the other picture, and a search looks them up as a sub-query. These tests go
through the engine's public ``extract``, ``gather``/``decide`` and the public API.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import pytest
from PIL import Image

import ris_core
from ris_core.images import load_image
from ris_local.features import layout
from ris_local.features.layout import from_blob, to_blob
from ris_local.robust import RobustEngine
from ris_local.scoring.decision import Stage, decide
from ris_local.scoring.gather import gather
from ris_local.scoring.policy import POLICY

from .conftest import encode

ENGINE = RobustEngine()
#: The region look's hash turned off, so only keypoints can carry a pasted picture.
NO_REGION_HASH = dataclasses.replace(POLICY, region_max_bits=-1)


def pasted(picture: Image.Image, backdrop: Image.Image, share: float = 0.3) -> bytes:
    """``picture`` at ``share`` of a 900 x 700 frame's height, pasted onto ``backdrop``, as JPEG."""
    canvas = backdrop.resize((900, 700))
    height = round(700 * share)
    small = picture.resize((round(picture.width * height / picture.height), height), Image.Resampling.LANCZOS)
    canvas.paste(small, (300, 200))
    return bytes(encode(canvas, "JPEG", 85))


def features(data: bytes) -> layout.Features:
    return from_blob(ENGINE.extract(load_image(data)))


@pytest.mark.parametrize("backdrop", ["coffee", "chelsea", "astronaut"])
def test_a_picture_pasted_at_a_third_verifies_by_its_regions_keypoints(
    photos: dict[str, Image.Image], backdrop: str
) -> None:
    query = features(pasted(photos["rocket"], photos[backdrop]))
    stored = features(encode(photos["rocket"]))
    assert query.region_keypoints
    decision = decide(gather(query, stored, NO_REGION_HASH), NO_REGION_HASH)
    assert decision.stage is Stage.KEYPOINTS and decision.similarity >= RobustEngine.default_threshold
    # Without the region's own keypoints the whole frame's do not verify it.
    bare = dataclasses.replace(query, region_keypoints=())
    assert decide(gather(bare, stored, NO_REGION_HASH), NO_REGION_HASH).similarity < 50


def test_the_region_keypoints_are_weighed_the_same_either_way_round(photos: dict[str, Image.Image]) -> None:
    query = features(pasted(photos["rocket"], photos["coffee"]))
    stored = features(encode(photos["rocket"]))
    assert gather(query, stored) == gather(stored, query)


def test_a_pasted_picture_does_not_match_another_picture(photos: dict[str, Image.Image]) -> None:
    query = features(pasted(photos["rocket"], photos["coffee"]))
    for name in ("camera", "astronaut", "chelsea", "motorcycle_left"):
        other = features(encode(photos[name]))
        assert decide(gather(query, other)).similarity < RobustEngine.default_threshold, name


def test_region_keypoints_are_kept_only_for_small_regions_that_are_not_bands(photos: dict[str, Image.Image]) -> None:
    for picture in [*photos.values(), Image.open(io.BytesIO(pasted(photos["rocket"], photos["coffee"])))]:
        found = features(encode(picture))
        assert len(found.region_keypoints) <= layout.REGION_KEYPOINT_REGIONS
        for position, kps, size in found.region_keypoints:
            region = found.regions[position]
            left, top, right, bottom = region.box
            assert region.share <= layout.REGION_KEYPOINT_SHARE
            assert max(right - left, bottom - top) < layout.REGION_KEYPOINT_SPAN
            assert 0 < len(kps.packed) <= layout.REGION_KEYPOINTS and max(size) == 256


def test_region_keypoints_survive_the_blob(photos: dict[str, Image.Image]) -> None:
    blob = ENGINE.extract(load_image(pasted(photos["rocket"], photos["coffee"])))
    read = from_blob(blob)
    assert read.region_keypoints and to_blob(read) == blob
    # A blob without any reads as having none, and writes back byte for byte.
    bare = to_blob(dataclasses.replace(read, region_keypoints=()))
    assert from_blob(bare).region_keypoints == () and to_blob(from_blob(bare)) == bare
    with pytest.raises(ValueError):
        from_blob(blob[:-3])


def test_a_pasted_picture_is_found_through_the_public_api(photos: dict[str, Image.Image], tmp_path: Path) -> None:
    """The search looks the region's keypoints up as a sub-query, and compare_images
    gives the hit's score."""
    names = ("rocket", "camera", "astronaut")
    query = pasted(photos["rocket"], photos["chelsea"])
    with ris_core.open("local", database=str(tmp_path / "ris.db")) as system:
        context = system.create_context("c")
        context.add_images([(name, encode(photos[name])) for name in names], workers=1, progress=False)
        hits = context.find_similar_images(image=query)
        assert hits and hits[0].image_id == "rocket", hits
        assert hits[0].similarity >= RobustEngine.default_threshold
        comparison = context.compare_images("rocket", other_image=query)
        assert (comparison.similarity, comparison.method) == (hits[0].similarity, hits[0].method)
