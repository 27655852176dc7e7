"""Region proposals: a picture pasted into a layout is found by its own hash codes.

The detector is tested on constructed layouts (a photo pasted into a larger photo, a
collage with a gutter, a screenshot-like page), the decision's region rule as a table
(evidence in, decision out), and the whole route through the public API.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

import ris_core
from ris_core.images import load_image
from ris_local.features.layout import from_blob
from ris_local.features.regions import MAX_REGIONS, propose
from ris_local.robust import RobustEngine
from ris_local.scoring.decision import Stage, decide
from ris_local.scoring.evidence import Evidence, RegionEvidence
from ris_local.scoring.gather import gather
from ris_local.scoring.policy import POLICY

from .conftest import encode

ENGINE = RobustEngine()
Box = tuple[float, float, float, float]


def grey(image: Image.Image) -> np.ndarray:
    """The picture as the engine decodes it after a JPEG round trip."""
    return np.asarray(Image.open(io.BytesIO(encode(image, "JPEG", 85))).convert("L"))


def near(found: list[Box], wanted: Box, tolerance: float = 0.02) -> bool:
    return any(max(abs(a - b) for a, b in zip(box, wanted, strict=True)) <= tolerance for box in found)


def pip(picture: Image.Image, backdrop: Image.Image, frame: tuple[int, int], at: tuple[int, int], share: float):  # type: ignore[no-untyped-def]
    """``picture`` at ``share`` of the frame's height, pasted at ``at`` onto ``backdrop``
    stretched to ``frame``, and the box it covers (shares of the frame)."""
    canvas = backdrop.resize(frame)
    height = round(frame[1] * share)
    small = picture.resize((round(picture.width * height / picture.height), height), Image.Resampling.LANCZOS)
    canvas.paste(small, at)
    box = (at[0] / frame[0], at[1] / frame[1], (at[0] + small.width) / frame[0], (at[1] + small.height) / frame[1])
    return canvas, box


# Not every paste is found (an edge that fades into a backdrop of the same grey breaks a
# side): the benchmark measures how often; these are pastes the detector should find.
@pytest.mark.parametrize(
    ("name", "at"),
    [("astronaut", (400, 300)), ("camera", (90, 60)), ("rocket", (520, 330)), ("motorcycle_left", (300, 100))],
)
def test_a_photo_pasted_into_a_larger_photo_is_proposed(
    photos: dict[str, Image.Image], name: str, at: tuple[int, int]
) -> None:
    canvas, box = pip(photos[name], photos["coffee"], (900, 700), at, 0.36)
    found = propose(grey(canvas))
    assert len(found) <= MAX_REGIONS
    assert near(found, box), (found, box)


@pytest.mark.parametrize("stacked", [False, True])
def test_each_half_of_a_collage_with_a_gutter_is_proposed(photos: dict[str, Image.Image], stacked: bool) -> None:
    first, second = photos["chelsea"].resize((420, 300)), photos["coffee"].resize((420, 300))
    gutter = 8
    if stacked:
        canvas = Image.new("RGB", (420, 600 + gutter), "white")
        canvas.paste(first, (0, 0))
        canvas.paste(second, (0, 300 + gutter))
        halves = [(0.0, 0.0, 1.0, 300 / 608), (0.0, 308 / 608, 1.0, 1.0)]
    else:
        canvas = Image.new("RGB", (840 + gutter, 300), "white")
        canvas.paste(first, (0, 0))
        canvas.paste(second, (420 + gutter, 0))
        halves = [(0.0, 0.0, 420 / 848, 1.0), (428 / 848, 0.0, 1.0, 1.0)]
    found = propose(grey(canvas))
    for half in halves:
        assert near(found, half), (found, half)


def screenshot(picture: Image.Image) -> tuple[Image.Image, Box]:
    """A phone-like page: a dark status bar, a header with an avatar and a name, the
    picture at full width, a row of icons and grey caption bars, a tab bar."""
    width, height = 600, 1200
    page = Image.new("RGB", (width, height), (250, 250, 250))
    draw = ImageDraw.Draw(page)
    draw.rectangle((0, 0, width, 40), fill=(30, 30, 30))
    draw.ellipse((20, 55, 80, 115), fill=(90, 140, 200))
    draw.rectangle((100, 75, 300, 95), fill=(60, 60, 60))
    shown = picture.resize((width, round(picture.height * width / picture.width)))
    top = 130
    page.paste(shown, (0, top))
    y = top + shown.height + 20
    for k in range(4):
        draw.rectangle((20 + 50 * k, y, 50 + 50 * k, y + 30), outline=(40, 40, 40), width=3)
    for k in range(3):
        draw.rectangle((20, y + 50 + 30 * k, width - 20 - 100 * k, y + 64 + 30 * k), fill=(200, 200, 200))
    draw.rectangle((0, height - 70, width, height), fill=(235, 235, 235))
    return page, (0.0, top / height, 1.0, (top + shown.height) / height)


def test_the_picture_of_a_screenshot_like_page_is_proposed(photos: dict[str, Image.Image]) -> None:
    page, box = screenshot(photos["chelsea"])
    found = propose(np.asarray(page.convert("L")))
    assert near(found, box), (found, box)


def test_a_plain_photo_yields_no_region_that_is_nearly_the_whole_frame(photos: dict[str, Image.Image]) -> None:
    for name, picture in photos.items():
        for left, top, right, bottom in propose(grey(picture)):
            assert (right - left) * (bottom - top) <= 0.8, name


# -- the decision's region rule, as a table ---------------------------------------------

ROWS = [
    # (evidence, similarity at least / below, stage)
    (Evidence(60, region=RegionEvidence(6, 0.12)), (90.0, 91.0), Stage.REGION),  # 100 * (1 - 6/64) = 90.6
    (Evidence(60, region=RegionEvidence(16, 0.5)), (75.0, 75.1), Stage.REGION),  # over the default threshold
    (Evidence(60, region=RegionEvidence(20, 0.5)), (68.75, 68.76), Stage.REGION),  # the bar: ranks, not accepted
    (Evidence(60, region=RegionEvidence(21, 0.5)), (0.0, 70.0), Stage.HASH),  # past the bar: nothing
    (Evidence(60, region=RegionEvidence(6, 0.02)), (0.0, 70.0), Stage.HASH),  # too small a region
    (Evidence(4, region=RegionEvidence(6, 0.3)), (93.75, 93.76), Stage.HASH),  # a sure whole hash settles first
]


@pytest.mark.parametrize(("evidence", "bounds", "stage"), ROWS)
def test_the_region_rule(evidence: Evidence, bounds: tuple[float, float], stage: Stage) -> None:
    decision = decide(evidence, POLICY)
    assert bounds[0] <= decision.similarity < bounds[1] and decision.stage is stage, decision
    if stage is Stage.REGION:
        assert evidence.region is not None
        assert "region" in decision.explanation and f"{evidence.region.share:.0%}" in decision.explanation
        # With the rule turned off the same evidence scores by its whole hash alone.
        off = dataclasses.replace(POLICY, region_max_bits=-1)
        assert decide(evidence, off).stage is Stage.HASH and decide(evidence, off).similarity < decision.similarity


def test_region_evidence_is_the_same_either_way_round(photos: dict[str, Image.Image]) -> None:
    canvas, _ = pip(photos["rocket"], photos["coffee"], (900, 700), (520, 330), 0.36)
    query = from_blob(ENGINE.extract(load_image(encode(canvas, "JPEG", 85))))
    stored = from_blob(ENGINE.extract(load_image(encode(photos["rocket"]))))
    one, other = gather(query, stored), gather(stored, query)
    assert one == other and one.region is not None and one.region.distance <= POLICY.region_max_bits


# -- end to end, through the public API ---------------------------------------------------


def test_a_picture_in_picture_is_found_and_compares_the_same(photos: dict[str, Image.Image], tmp_path: Path) -> None:
    """Rocket pasted at a third of a frame keeps too few keypoints to verify; its region's
    hash finds it, above the default threshold, and compare_images agrees with the search."""
    names = ("rocket", "camera", "astronaut")
    canvas, _ = pip(photos["rocket"], photos["coffee"], (900, 700), (520, 330), 0.36)
    query = encode(canvas, "JPEG", 85)
    with ris_core.open("local", database=str(tmp_path / "ris.db")) as system:
        context = system.create_context("c")
        context.add_images([(name, encode(photos[name])) for name in names], workers=1, progress=False)
        hits = context.find_similar_images(image=query)
        assert hits and hits[0].image_id == "rocket", hits
        assert hits[0].similarity >= RobustEngine.default_threshold
        comparison = context.compare_images("rocket", other_image=query)
        assert (comparison.similarity, comparison.method) == (hits[0].similarity, hits[0].method)
