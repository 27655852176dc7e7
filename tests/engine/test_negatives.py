"""A strong keypoint match of a shared part is not the picture (issue 13, the content check).

Two crops of one photograph that share a third of their area line up on that third; in a
collage the frame check (coverage) then says one lies inside the other, although the rest
of the smaller crop lies over another picture. The content check compares the smaller
picture with the other through the fitted transform, cell by cell, and a match agreeing
in too few cells scores as a weak consensus at most (``ScoringPolicy.content_*``). Each
test turns the rule off through ``dataclasses.replace`` on the policy and fails then.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import skimage.data
from PIL import Image

from ris_core.images import load_image
from ris_local.features.layout import from_blob
from ris_local.robust import RobustEngine
from ris_local.scoring.decision import Stage, decide
from ris_local.scoring.evidence import Evidence, KeypointEvidence
from ris_local.scoring.gather import gather
from ris_local.scoring.policy import POLICY, ScoringPolicy

from .conftest import encode

ENGINE = RobustEngine()
THRESHOLD = RobustEngine.default_threshold
#: The rule turned off: no agreement is under 0.
OFF = replace(POLICY, content_agree_low=0.0)


def strong(agreement: float, cells: int) -> Evidence:
    """A strong keypoint match (80 inliers of 400, the smaller frame fully covered) with
    the given content agreement; a hash far off, so the keypoints decide."""
    verified = KeypointEvidence(
        inliers=80,
        tentative=400,
        coverage=0.98,
        spread=0.3,
        scale=1.0,
        content_agreement=agreement,
        content_cells=cells,
    )
    return Evidence(hash_distance=40, keypoint_counts=(900, 900), keypoints=verified)


@pytest.mark.parametrize(
    ("agreement", "cells", "passes"),
    [
        (1.0, 16, True),  # a copy: every cell agrees
        (0.6, 14, True),  # a caption or stickers over a third
        (0.5, 16, True),  # at the bar
        (0.45, 16, False),  # two crops sharing half the smaller one
        (0.3, 16, False),  # ... a third of it
        (0.3, 7, True),  # too few cells with detail to tell
        (1.0, 0, True),  # not looked at
    ],
)
def test_the_content_check_as_a_table(agreement: float, cells: int, passes: bool) -> None:
    evidence = strong(agreement, cells)
    decision = decide(evidence)
    assert (decision.similarity >= THRESHOLD) is passes, decision
    assert decision.stage is Stage.KEYPOINTS
    if not passes:
        assert decision.similarity == POLICY.weak_high
        assert "part" in decision.explanation
        # Turned off, the same evidence is a strong match again.
        assert decide(evidence, OFF).similarity >= THRESHOLD


def test_a_shared_part_still_ranks_as_a_weak_consensus() -> None:
    """Capped, not refused: a partial overlap scores where a weak consensus does, above
    hash neighbours, under every default threshold."""
    assert POLICY.weak_low <= decide(strong(0.2, 16)).similarity == POLICY.weak_high < THRESHOLD


@pytest.fixture(scope="module")
def astronaut_crops() -> dict[str, bytes]:
    """Blobs of crops of one photograph: ``left`` (the left 60%), a collage of another
    picture beside ``right`` (the right 60%: a third of ``left`` is in it), a true crop
    of ``left``, a collage with the whole of ``left`` in it, and ``left`` turned 30 degrees."""
    photo = Image.fromarray(skimage.data.astronaut()).convert("RGB")
    other = Image.fromarray(skimage.data.coffee()).convert("RGB")
    width, height = photo.size
    kept = int(width * 0.6)
    left, right = photo.crop((0, 0, kept, height)), photo.crop((width - kept, 0, width, height))
    strip = other.resize((other.width * height // other.height, height)).crop((0, 0, int(0.45 * width), height))

    def collage(picture: Image.Image) -> Image.Image:
        out = Image.new("RGB", (strip.width + picture.width, height))
        out.paste(strip, (0, 0))
        out.paste(picture, (strip.width, 0))
        return out

    crop = left.crop((kept // 10, height // 10, kept * 9 // 10, height * 9 // 10))
    pictures = {
        "left": (left, 90),
        "overlapping collage": (collage(right), 85),
        "true crop": (crop, 85),
        "true collage": (collage(left), 85),
        "rotated copy": (left.rotate(30, expand=True), 85),
    }
    return {name: ENGINE.extract(load_image(encode(image, "JPEG", q))) for name, (image, q) in pictures.items()}


def similarity(first: bytes, second: bytes, policy: ScoringPolicy = POLICY) -> float:
    return decide(gather(from_blob(first), from_blob(second), policy), policy).similarity


def test_two_crops_sharing_a_third_do_not_pass(astronaut_crops: dict[str, bytes]) -> None:
    """The right crop, beside another picture, holds a third of the left one: the frame
    check says the left crop lies inside the collage, its keypoints verify on the shared
    third. Compared through the engine, they stay under the default threshold."""
    left, collage = astronaut_crops["left"], astronaut_crops["overlapping collage"]
    assert ENGINE.compare(collage, left).similarity < THRESHOLD
    assert ENGINE.compare(left, collage).similarity < THRESHOLD
    # Without the content check the shared third alone passes.
    assert similarity(collage, left, OFF) >= THRESHOLD


@pytest.mark.parametrize("name", ["true crop", "true collage", "rotated copy"])
def test_the_whole_picture_still_passes(astronaut_crops: dict[str, bytes], name: str) -> None:
    """A crop of the left crop, the left crop itself beside another picture, and the
    left crop turned: all of the smaller picture is there, and agrees."""
    assert ENGINE.compare(astronaut_crops[name], astronaut_crops["left"]).similarity >= THRESHOLD
