"""The thumbnail look: smooth crops that keypoints miss are found, plain gradients are not."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
from PIL import Image, ImageFilter, ImageOps

from ris_core.images import load_image
from ris_local.features import layout
from ris_local.index import centres
from ris_local.robust import HashStageEngine, RobustEngine
from ris_local.scoring import thumbnails
from ris_local.scoring.decision import Stage, decide, thumbnail_similarity
from ris_local.scoring.evidence import ThumbnailLook
from ris_local.scoring.gather import gather
from ris_local.scoring.policy import POLICY

from .conftest import encode

ENGINE = RobustEngine()
THUMBNAIL_METHOD = "grey thumbnail, correlated"


def blob(image: Image.Image, engine: RobustEngine = ENGINE) -> bytes:
    return engine.extract(load_image(encode(image, "JPEG", 85)))


def crop(image: Image.Image, share: float) -> Image.Image:
    w, h = image.size
    return image.crop((round(w * share), round(h * share), round(w * (1 - share)), round(h * (1 - share))))


def soft(image: Image.Image) -> Image.Image:
    """A photograph far out of focus: its shapes stay, its corners go."""
    return image.filter(ImageFilter.GaussianBlur(14))


def reader(stored: dict[int, bytes]):  # type: ignore[no-untyped-def]
    def read(keys: Sequence[int]) -> dict[int, bytes]:
        return {key: stored[key] for key in keys if key in stored}

    return read


def gradient(width: int, height: int, low: int, high: int, seed: int) -> Image.Image:
    """A clear sky: smooth shading plus a little sensor noise."""
    rng = np.random.default_rng(seed)
    column = np.linspace(low, high, height)[:, None] * np.ones((1, width))
    pixels = np.clip(column + rng.normal(0, 1.5, (height, width)), 0, 255).astype(np.uint8)
    return Image.fromarray(np.stack([pixels, pixels, np.clip(pixels.astype(int) + 40, 0, 255).astype(np.uint8)], -1))


def test_a_crop_correlates_inside_its_picture_and_not_inside_another(photos: dict[str, Image.Image]) -> None:
    coffee, camera = (layout.extract(load_image(encode(soft(photos[n])))).thumbnail for n in ("coffee", "camera"))
    cut = layout.extract(load_image(encode(crop(soft(photos["coffee"]), 0.2)))).thumbnail
    assert thumbnails.correlation(cut, coffee) >= 0.97
    assert thumbnails.correlation(cut, camera) < POLICY.thumbnail_low
    assert thumbnail_similarity((ThumbnailLook(thumbnails.correlation(cut, camera)),)) == 0.0


def test_plain_gradients_say_nothing() -> None:
    sky, other_sky = (
        layout.extract(load_image(encode(gradient(400, 300, a, b, s)))) for a, b, s in ((60, 200, 1), (90, 230, 2))
    )
    assert thumbnails.detail(sky.thumbnail) < thumbnails.MIN_DETAIL
    assert thumbnails.correlation(sky.thumbnail, other_sky.thumbnail) == 0.0


def test_a_soft_crop_is_found(photos: dict[str, Image.Image]) -> None:
    names = list(photos)
    stored = {key: blob(soft(photos[name])) for key, name in enumerate(names)}
    index = ENGINE.new_index()
    index.add(list(stored), list(stored.values()))
    query = blob(crop(soft(photos["astronaut"]), 0.2))
    hits = index.search(query, RobustEngine.default_threshold, 5, None, reader(stored))
    assert [h.key for h in hits] == [names.index("astronaut")]
    # The index's coarse keypoints (found on the picture shrunk, where a blur is small)
    # can verify it before the thumbnails are needed; the thumbnail path itself is tested
    # by the mirrored soft crop and the rotated copies below.
    assert hits[0].score.method in (THUMBNAIL_METHOD, "orb keypoints, verified")
    # compare() looks the same way, either way round.
    assert ENGINE.compare(query, stored[names.index("astronaut")]).similarity >= RobustEngine.default_threshold
    assert ENGINE.compare(stored[names.index("astronaut")], query).similarity >= RobustEngine.default_threshold


def test_a_sky_does_not_find_another_sky() -> None:
    stored = {key: blob(gradient(500, 320, 40 + 10 * key, 180 + 8 * key, key)) for key in range(6)}
    index = ENGINE.new_index()
    index.add(list(stored), list(stored.values()))
    query = blob(crop(gradient(500, 320, 70, 200, 99), 0.15))
    assert index.search(query, RobustEngine.default_threshold, 5, None, reader(stored)) == []


def test_the_thumbnail_is_read_alone_and_absent_for_the_hash_stage(astronaut: Image.Image) -> None:
    data = blob(astronaut)
    assert np.array_equal(layout.thumbnail_of(data), layout.from_blob(data).thumbnail)
    hashed = blob(astronaut, HashStageEngine())
    assert layout.thumbnail_of(hashed).shape == (0, 0)
    assert thumbnails.correlation(layout.thumbnail_of(hashed), layout.thumbnail_of(data)) == 0.0


def test_duplicates_join_finds_soft_crops_with_the_stored_blobs(photos: dict[str, Image.Image]) -> None:
    originals = [blob(soft(p)) for p in photos.values()]
    copies = [blob(crop(soft(p), 0.2)) for p in photos.values()]
    stored = dict(enumerate(originals + copies))
    index = ENGINE.new_index()
    index.add(list(stored), list(stored.values()))
    found = {(a, b) for a, b, _ in index.pairs(RobustEngine.duplicate_threshold, None, reader(stored))}
    n = len(originals)
    assert found == {(i, n + i) for i in range(n)}


def test_a_mirrored_soft_crop_is_found_by_its_centre_and_survives_a_reopen(photos: dict[str, Image.Image]) -> None:
    """The keypoint vote misses it; the mirror of its DCT code is near the picture's
    centre code, which makes it a candidate, and it is scored as compare scores it."""
    names = list(photos)
    stored = {key: blob(soft(photos[name])) for key, name in enumerate(names)}
    index = ENGINE.new_index()
    index.add(list(stored), list(stored.values()))
    query = blob(ImageOps.mirror(crop(soft(photos["coffee"]), 0.2)))
    _, mirrored = index.core.centre_candidates(layout.from_blob(query), index.core.alive)
    assert mirrored[0] == names.index("coffee")
    hits = index.search(query, RobustEngine.default_threshold, 5, None, reader(stored))
    assert [h.key for h in hits] == [names.index("coffee")]
    assert hits[0].score == ENGINE.compare(query, stored[names.index("coffee")])
    reopened = ENGINE.new_index()
    reopened.load_blocks(index.to_blocks())
    assert reopened.search(query, RobustEngine.default_threshold, 5, None, reader(stored)) == hits


def dark_band(image: Image.Image) -> Image.Image:
    """``image`` with a flat, near-black band across it from 12% to 36% of its height: a
    centre crop starts inside the band, where border trimming takes it for a border."""
    banded = image.copy()
    width, height = image.size
    banded.paste((10, 10, 10), (0, round(height * 0.12), width, round(height * 0.36)))
    return banded


def test_a_crop_whose_edge_runs_through_a_dark_band_is_found_by_its_whole_frame(
    photos: dict[str, Image.Image],
) -> None:
    """Trimming cuts the band off each crop and not off its picture, so the crop's code no
    longer lines up with the picture's centre codes; its whole frame still does."""
    names = list(photos)
    stored = {key: blob(dark_band(soft(photos[name]))) for key, name in enumerate(names)}
    index = ENGINE.new_index()
    index.add(list(stored), list(stored.values()))
    for key, name in enumerate(names):
        query = blob(crop(dark_band(soft(photos[name])), 0.2))
        f = layout.from_blob(query)
        assert f.untrimmed_codes is not None  # the band was trimmed, and the whole frame kept
        trimmed, whole = (
            centres.distance((code,), index.core.centre[:, [key]])[0]
            for code in (f.codes.dct, f.whole_frame_codes()[0])
        )
        assert whole <= 16 < trimmed, name  # unrelated codes differ by about 32 bits
        hits = index.search(query, RobustEngine.default_threshold, 5, None, reader(stored))
        assert hits and hits[0].key == key, name
        compared = ENGINE.compare(query, stored[key])
        assert compared.similarity >= RobustEngine.default_threshold, name
        assert compared == hits[0].score, name  # compare() scores it as the search did


def test_the_whole_frame_codes_survive_the_blob_and_are_absent_when_nothing_was_trimmed(
    photos: dict[str, Image.Image],
) -> None:
    untouched = layout.extract(load_image(encode(photos["coffee"])))
    assert untouched.untrimmed_codes is None
    assert untouched.whole_frame_codes() == (untouched.codes.dct, untouched.codes.mirrored_dct)
    cut = layout.extract(load_image(encode(crop(dark_band(photos["coffee"]), 0.2))))
    assert cut.untrimmed_codes is not None and cut.untrimmed_codes[0] != cut.codes.dct
    assert layout.from_blob(layout.to_blob(cut)).untrimmed_codes == cut.untrimmed_codes
    assert layout.from_blob(layout.to_blob(untouched)).untrimmed_codes is None


def rotated(image: Image.Image, degrees: float) -> Image.Image:
    """Turned, then cut to the largest upright rectangle with no empty corners."""
    turned = image.rotate(degrees, Image.Resampling.BICUBIC, expand=True)
    cos, sin = abs(np.cos(np.radians(degrees))), abs(np.sin(np.radians(degrees)))
    w, h = image.size
    shrink = min(w / (w * cos + h * sin), h / (w * sin + h * cos))
    left, top = (turned.width - w * shrink) / 2, (turned.height - h * shrink) / 2
    return turned.crop((round(left), round(top), round(left + w * shrink), round(top + h * shrink)))


def test_a_turned_thumbnail_lines_up_with_a_rotated_copy(photos: dict[str, Image.Image]) -> None:
    original = layout.extract(load_image(encode(soft(photos["astronaut"])))).thumbnail
    copy = layout.extract(load_image(encode(rotated(soft(photos["astronaut"]), 10)))).thumbnail
    assert thumbnails.correlation(copy, original) < POLICY.thumbnail_low  # upright, it does not line up
    assert max(thumbnails.correlation(thumbnails.turned(copy, d), original) for d in thumbnails.TURNS) >= 0.98


def soft_index(photos: dict[str, Image.Image]):  # type: ignore[no-untyped-def]
    """An index of every photograph far out of focus, its stored blobs and the names."""
    names = list(photos)
    stored = {key: blob(soft(photos[name])) for key, name in enumerate(names)}
    index = ENGINE.new_index()
    index.add(list(stored), list(stored.values()))
    return index, stored, names


def features(image: Image.Image) -> layout.Features:
    return layout.from_blob(blob(image))


def test_a_rotated_copy_is_found_by_its_turned_thumbnail_when_keypoints_fail(photos: dict[str, Image.Image]) -> None:
    index, stored, names = soft_index(photos)
    copy, original = features(rotated(soft(photos["astronaut"]), -10)), features(soft(photos["astronaut"]))
    # Keypoints verify this copy; a policy that always looks at thumbnails, and the
    # evidence without its keypoints, show the look that rotated copies of busy
    # textures rely on: only a turned thumbnail lines up.
    looking = replace(POLICY, thumbnails_below=101.0)
    without_keypoints = replace(gather(copy, original, looking), keypoints=None)
    found = decide(without_keypoints, looking)
    assert found.stage is Stage.THUMBNAIL and found.similarity >= RobustEngine.default_threshold
    upright = tuple(t for t in without_keypoints.thumbnails if not t.turned)
    assert decide(replace(without_keypoints, thumbnails=upright), looking).similarity < RobustEngine.default_threshold
    hits = index.search(
        blob(rotated(soft(photos["astronaut"]), -10)), RobustEngine.default_threshold, 5, None, reader(stored)
    )
    assert [h.key for h in hits] == [names.index("astronaut")]


def test_compare_turns_the_thumbnail_either_way_round(photos: dict[str, Image.Image]) -> None:
    original, copy = blob(soft(photos["astronaut"])), blob(rotated(soft(photos["astronaut"]), 10))
    assert ENGINE.compare(copy, original) == ENGINE.compare(original, copy)
    assert ENGINE.compare(copy, original).similarity >= RobustEngine.default_threshold


def test_compare_without_thumbnails_stays_with_the_hashes(photos: dict[str, Image.Image]) -> None:
    # The hash-stage engine stores no thumbnail: nothing to turn, and no error for it.
    engine = HashStageEngine()
    score = engine.compare(blob(photos["astronaut"], engine), blob(photos["coffee"], engine))
    assert score.method == "dct+gradient hash" and score.similarity < RobustEngine.default_threshold
    assert thumbnails.turned(np.zeros((0, 0), np.uint8), 10.0).shape == (0, 0)


def test_an_agreeing_centre_code_lowers_the_correlation_a_thumbnail_needs(photos: dict[str, Image.Image]) -> None:
    """A thumbnail that correlates between ``agreeing_low`` and ``thumbnail_low`` counts
    only when one side's centre code agrees with the other's."""
    stored = layout.extract(load_image(encode(photos["chelsea"]))).thumbnail
    pixels = stored.astype(np.float64)
    noise = np.random.default_rng(5).normal(0.0, 0.35 * pixels.std(), pixels.shape)
    query = np.clip(pixels + noise, 0, 255).astype(np.uint8)  # the same picture, fine detail lost
    value = max(thumbnails.correlation(query, stored), thumbnails.correlation(stored, query))
    assert POLICY.agreeing_low <= value < POLICY.thumbnail_low
    assert thumbnail_similarity((ThumbnailLook(value),)) == 0.0
    assert thumbnail_similarity((ThumbnailLook(value, centre_agrees=True),)) >= 55.0
