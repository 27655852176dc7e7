"""The colour check: same shapes in other colours are another picture; recoloured copies
that keep their hues (contrast, brightness, grayscale, sepia) are still the picture."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

from ris_core.images import load_image
from ris_local import engine
from ris_local.features import layout
from ris_local.robust import HashStageEngine, RobustEngine
from ris_local.scoring import colour

from .conftest import encode

ENGINE = RobustEngine()
IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
BACKGROUND, WHITE = (20, 20, 24), (240, 240, 240)


def blob(image: Image.Image) -> bytes:
    return ENGINE.extract(load_image(encode(image, "JPEG", 90)))


def reader(stored: dict[int, bytes]):  # type: ignore[no-untyped-def]
    def read(keys: Sequence[int]) -> dict[int, bytes]:
        return {key: stored[key] for key in keys if key in stored}

    return read


def logo(badge: tuple[int, int, int], bar: tuple[int, int, int], word: str) -> Image.Image:
    """A badge, a bar with a notch and a word on a dark ground: one layout, any colours."""
    image = Image.new("RGB", (480, 360), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.ellipse((60, 50, 220, 210), fill=badge, outline=WHITE, width=6)
    draw.rectangle((260, 70, 430, 190), fill=bar)
    draw.polygon([(280, 100), (400, 100), (340, 170)], fill=BACKGROUND)
    draw.text((60, 250), word, fill=WHITE, font=ImageFont.load_default(size=64))
    return image


RED_LOGO = logo((210, 50, 50), (230, 150, 30), "OUTPUT")
PURPLE_LOGO = logo((140, 70, 200), (40, 110, 220), "READY")


def crop(image: Image.Image, share: float) -> Image.Image:
    w, h = image.size
    return image.crop((round(w * share), round(h * share), round(w * (1 - share)), round(h * (1 - share))))


def sepia(image: Image.Image) -> Image.Image:
    return ImageOps.colorize(image.convert("L"), (40, 26, 13), (255, 240, 192))


def test_a_map_agrees_with_itself_and_not_with_its_hues_turned(astronaut: Image.Image) -> None:
    chroma = colour.make(np.asarray(astronaut))
    assert chroma.shape == (colour.SIDE, colour.SIDE, 2)
    assert not colour.clashes(chroma, chroma, IDENTITY)
    turned = np.asarray(astronaut)[:, :, [1, 2, 0]]  # red -> blue, green -> red, blue -> green
    assert colour.clashes(colour.make(turned), chroma, IDENTITY)


def test_grey_and_sparse_colour_say_nothing(astronaut: Image.Image) -> None:
    chroma = colour.make(np.asarray(astronaut))
    grey = colour.make(np.asarray(astronaut.convert("L").convert("RGB")))
    assert not np.abs(grey.astype(int)).max() > 1
    assert not colour.clashes(grey, chroma, IDENTITY) and not colour.clashes(chroma, grey, IDENTITY)
    # Carried off the stored map, or onto a corner of it, too few cells remain to judge.
    assert not colour.clashes(chroma[:, :, ::-1], chroma, np.array([[1.0, 0.0, 500.0], [0.0, 1.0, 0.0]]))
    assert not colour.clashes(chroma[:2, :2, ::-1], chroma, IDENTITY)


def test_a_tinted_copy_says_nothing(astronaut: Image.Image) -> None:
    chroma = colour.make(np.asarray(astronaut))
    assert not colour.clashes(colour.make(np.asarray(sepia(astronaut))), chroma, IDENTITY)


def test_the_map_is_stored_in_the_blob(astronaut: Image.Image) -> None:
    stored = blob(astronaut)
    chroma = layout.from_blob(stored).chroma
    assert chroma.shape == (colour.SIDE, colour.SIDE, 2) and np.abs(chroma.astype(int)).max() > 20
    assert np.array_equal(layout.chroma_of(stored), chroma)
    hashes_only = HashStageEngine().extract(load_image(encode(astronaut)))
    assert layout.chroma_of(hashes_only).size == 0


def test_logos_of_one_layout_in_other_colours_are_different_pictures() -> None:
    red, purple = blob(RED_LOGO), blob(PURPLE_LOGO)
    # Their letters repeat, so a rival transform explains nearly as many matches and the
    # grey shapes alone are no evidence of one picture (engine 10, see
    # ris_local.scoring.verification); the transform still carries the colours, which clash.
    score = ENGINE.compare(red, purple)
    assert score.similarity < RobustEngine.default_threshold and score.method == "orb keypoints, colours clash"
    stored = {1: red, 2: blob(logo((60, 170, 80), (40, 170, 170), "SERVER"))}
    index = ENGINE.new_index()
    index.add(list(stored), list(stored.values()))
    assert index.search(purple, RobustEngine.default_threshold, 5, None, reader(stored)) == []
    stored[3] = purple
    index.add([3], [purple])
    assert list(index.pairs(RobustEngine.duplicate_threshold, None, reader(stored))) == []


@pytest.mark.parametrize(
    "recolour",
    [
        lambda image: ImageEnhance.Contrast(image).enhance(0.6),
        lambda image: ImageEnhance.Brightness(image).enhance(1.3),
        lambda image: image.convert("L").convert("RGB"),
        sepia,
    ],
    ids=["contrast_down", "brighter", "grayscale", "sepia"],
)
def test_a_recoloured_crop_is_still_the_picture(photos: dict[str, Image.Image], recolour) -> None:  # type: ignore[no-untyped-def]
    # A crop, so that the hashes are unsure and the keypoints (and their check) decide.
    for name in ("astronaut", "coffee", "chelsea"):
        original, copy = blob(photos[name]), blob(recolour(crop(photos[name], 0.15)))
        score = ENGINE.compare(copy, original)
        assert score.similarity >= RobustEngine.default_threshold, (name, score)
    stored = {key: blob(photos[name]) for key, name in enumerate(photos)}
    index = ENGINE.new_index()
    index.add(list(stored), list(stored.values()))
    query = blob(recolour(crop(photos["coffee"], 0.15)))
    hits = index.search(query, RobustEngine.default_threshold, 3, None, reader(stored))
    assert hits and hits[0].key == list(photos).index("coffee")


def test_a_logo_copy_in_its_own_colours_still_matches() -> None:
    original = blob(RED_LOGO)
    for copy in (crop(RED_LOGO, 0.1), ImageEnhance.Contrast(RED_LOGO).enhance(0.6), ImageOps.mirror(RED_LOGO)):
        assert ENGINE.compare(blob(copy), original).similarity >= RobustEngine.default_threshold


def test_vivid_against_grey_clashes_unless_one_side_is_a_grey_copy() -> None:
    # A white badge where the other picture has a green one, on one blue ground.
    ground = np.zeros((240, 320, 3), np.uint8) + np.array([40, 90, 200], np.uint8)
    green, white = ground.copy(), ground.copy()
    green[20:220, 20:240], white[20:220, 20:240] = (40, 190, 60), (235, 235, 235)
    first, second = colour.make(green), colour.make(white)
    assert colour.clashes(first, second, IDENTITY) and colour.clashes(second, first, IDENTITY)
    grey = colour.make(np.repeat(np.asarray(Image.fromarray(green).convert("L"))[:, :, None], 3, axis=2))
    assert not colour.clashes(grey, first, IDENTITY) and not colour.clashes(first, grey, IDENTITY)


def test_a_cell_out_of_place_still_agrees(astronaut: Image.Image) -> None:
    chroma = colour.make(np.asarray(astronaut))
    one_cell = 128 / colour.SIDE  # grid units
    shifted = np.array([[1.0, 0.0, one_cell], [0.0, 1.0, -one_cell]])
    assert not colour.clashes(chroma, chroma, shifted)


def test_a_sure_hash_match_is_never_overruled(photos: dict[str, Image.Image], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(colour, "clashes", lambda *args: True)  # every keypoint match "clashes"
    original, copy = blob(photos["coffee"]), blob(photos["coffee"].resize((400, 300)))
    stored = {1: original, 2: copy}
    index = ENGINE.new_index()
    index.add(list(stored), list(stored.values()))
    assert [(a, b) for a, b, _ in index.pairs(RobustEngine.duplicate_threshold, None, reader(stored))] == [(1, 2)]
    assert ENGINE.compare(copy, original).method == "dct+gradient hash"
    # A crop leaves the hashes unsure: then the clash decides.
    cut = blob(crop(photos["coffee"], 0.15))
    assert ENGINE.compare(cut, original).similarity == 0.0


def test_one_query_reads_each_stored_blob_once() -> None:
    # The colour check and the thumbnail looks often want the same rows' blobs.
    calls: list[list[int]] = []

    def read(keys: Sequence[int]) -> dict[int, bytes]:
        calls.append(list(keys))
        return {key: b"blob %d" % key for key in keys if key != 9}

    remembering = engine.remembering(read)
    assert remembering([1, 2, 9]) == {1: b"blob 1", 2: b"blob 2"}
    assert remembering([2, 3]) == {2: b"blob 2", 3: b"blob 3"}
    assert calls == [[1, 2, 9], [3]]


def _clashing_in_floats(query: colour.Chroma, stored: colour.Chroma, matrix: np.ndarray) -> tuple[int, int]:
    """The rules of :func:`colour.clashing_cells` written out on float64 chroma and hue
    (hypot, arctan2, every threshold on the floats): what the tabled check must give."""
    height, width = query.shape[:2]
    rows, cols = stored.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width]
    gx, gy = (xs + 0.5) * (128 / colour.SIDE), (ys + 0.5) * (128 / colour.SIDE)
    to_x = np.floor((matrix[0, 0] * gx + matrix[0, 1] * gy + matrix[0, 2]) * (colour.SIDE / 128)).astype(np.int64)
    to_y = np.floor((matrix[1, 0] * gx + matrix[1, 1] * gy + matrix[1, 2]) * (colour.SIDE / 128)).astype(np.int64)
    inside = (to_x >= 0) & (to_y >= 0) & (to_x < cols) & (to_y < rows)
    if inside.sum() < colour.MIN_CELLS:
        return 0, 0
    to_x, to_y = to_x[inside], to_y[inside]
    mine = query[inside].astype(np.float64)
    steps = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    theirs = np.stack(
        [stored[np.clip(to_y + dy, 0, rows - 1), np.clip(to_x + dx, 0, cols - 1)] for dy, dx in steps]
    ).astype(np.float64)
    mine_chroma, theirs_chroma = np.hypot(mine[:, 0], mine[:, 1]), np.hypot(theirs[..., 0], theirs[..., 1])
    mine_hue, theirs_hue = np.arctan2(mine[:, 1], mine[:, 0]), np.arctan2(theirs[..., 1], theirs[..., 0])
    both = (mine_chroma >= colour.CHROMATIC) & (theirs_chroma >= colour.CHROMATIC)
    gap = np.abs((np.degrees(mine_hue - theirs_hue) + 180.0) % 360.0 - 180.0)
    apart = (gap > colour.HUE_GAP) & (np.hypot(*(mine - theirs).transpose(2, 0, 1)) >= colour.COLOUR_DISTANCE)
    hue_clash = both[4] & apart[4] & ~(both & ~apart).any(axis=0)
    sides = []
    for chroma, hue in ((mine_chroma, mine_hue), (theirs_chroma[4], theirs_hue[4])):
        coloured = chroma >= colour.CHROMATIC
        if not coloured.any():
            break
        concentration = float(np.hypot(np.cos(hue[coloured]).mean(), np.sin(hue[coloured]).mean()))
        sides.append((concentration, float(np.median(chroma[coloured]))))
    if len(sides) == 2:
        (one, one_chroma), (other, other_chroma) = sides
        tint, varied, soft = colour.TINTED, colour.VARIED, colour.TINT_CHROMA
        if (one >= tint and one_chroma < soft and other <= varied) or (
            other >= tint and other_chroma < soft and one <= varied
        ):
            return 0, 0
    shares = [
        float(np.mean(np.hypot(*m.astype(np.float64).transpose(2, 0, 1)) >= colour.CHROMATIC)) for m in (query, stored)
    ]
    tone_clash = np.zeros_like(hue_clash)
    if min(shares) >= colour.MIN_COLOURED:
        tone_clash = ((mine_chroma >= colour.VIVID) & (theirs_chroma < colour.NEUTRAL).all(axis=0)) | (
            (mine_chroma < colour.NEUTRAL) & (theirs_chroma >= colour.VIVID).all(axis=0)
        )
    coloured = (mine_chroma >= colour.CHROMATIC) | (theirs_chroma >= colour.CHROMATIC).any(axis=0)
    return int((hue_clash | tone_clash).sum()), int(coloured.sum())


#: (a*, b*) whose chroma is exactly a bar (4, 6, 20), and steps of exactly 15 (the colour distance).
_ON_THE_BARS = np.array([(0, 4), (-4, 0), (0, -6), (6, 0), (20, 0), (12, -16), (-16, 12), (0, 20)], np.int8)
_APART_BY_15 = np.array([(15, 0), (0, -15), (9, 12), (-12, 9), (12, -9), (-9, -12)], np.int64)


def test_the_tabled_check_counts_what_the_rules_count_in_floats(astronaut: Image.Image) -> None:
    """Random maps (faint, vivid, grey, one hue), copies with noise, and transforms that
    turn, scale and shift: the same clashing and coloured cells as the float rules."""
    rng = np.random.default_rng(5)
    real = colour.make(np.asarray(astronaut.convert("RGB")))
    cases = 0
    for trial in range(400):
        spread = int(rng.choice([3, 8, 25, 128]))
        shape = (int(rng.integers(6, 33)), int(rng.integers(6, 33)), 2)
        query = real if trial % 4 == 0 else rng.integers(-spread, spread, shape).clip(-128, 127).astype(np.int8)
        noise = rng.integers(-20, 21, query.shape)
        if trial % 3 == 2:  # chromas and distances right on the bars (4, 6, 20; 15)
            query = query.copy()
            on_bar = rng.random(query.shape[:2]) < 0.5
            query[on_bar] = _ON_THE_BARS[rng.integers(len(_ON_THE_BARS), size=int(on_bar.sum()))]
            noise = np.where(on_bar[..., None], _APART_BY_15[rng.integers(len(_APART_BY_15), size=query.shape[:2])], 0)
        stored = (query.astype(np.int64) + noise).clip(-128, 127).astype(np.int8) if trial % 2 else query[:, ::-1]
        if trial % 8 == 1:
            stored = np.full_like(stored, 0)
            stored[..., 0] = 10  # one soft hue: a tinted copy
        turn, scale = rng.normal(0, 0.2), rng.uniform(0.6, 1.6)
        matrix = np.array(
            [
                [scale * np.cos(turn), -scale * np.sin(turn), rng.uniform(-20, 20)],
                [scale * np.sin(turn), scale * np.cos(turn), rng.uniform(-20, 20)],
            ]
        )
        expected = _clashing_in_floats(query, stored, matrix)
        assert colour.clashing_cells(query, stored, matrix) == expected
        cases += expected != (0, 0)
    assert cases > 200  # most cases say something: the comparison is not between zeros
