"""The one-pass self-join of find_duplicates against the per-image self-join it replaced."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageEnhance, ImageOps

from ris_core.groups import connected_groups
from ris_core.images import load_image
from ris_local.index.scored import RobustIndex
from ris_local.robust import RobustEngine

from .conftest import encode

ENGINE = RobustEngine()


def _blob(image: Image.Image, quality: int = 90) -> bytes:
    return ENGINE.extract(load_image(encode(image, "JPEG", quality)))


def _crop(image: Image.Image, share: float) -> Image.Image:
    w, h = image.size
    return image.crop((round(w * share), round(h * share), round(w * (1 - share)), round(h * (1 - share))))


@pytest.fixture(scope="module")
def collection(photos: dict[str, Image.Image]) -> tuple[dict[int, bytes], list[set[int]]]:
    """Each photograph with copies that need the keypoints (a crop, a rotation, a
    mirrored crop) or only the hash (a brighter copy), plus unrelated singletons made
    from halves of the photographs; the true groups."""
    stored: dict[int, bytes] = {}
    groups = []
    for picture in photos.values():
        copies = [
            picture,
            _crop(picture, 0.15),
            picture.rotate(8, Image.Resampling.BICUBIC),
            ImageOps.mirror(_crop(picture, 0.1)),
            ImageEnhance.Brightness(picture).enhance(1.2),
        ]
        group = set()
        for copy in copies:
            key = len(stored)
            stored[key] = _blob(copy, quality=60)
            group.add(key)
        groups.append(group)
    for picture in photos.values():  # another picture each: the left quarter, upside down
        w, h = picture.size
        stored[len(stored)] = _blob(picture.crop((0, 0, w // 4, h)).rotate(180).resize((w // 2, h)))
    return stored, groups


def _reader(stored: dict[int, bytes]) -> object:
    return lambda keys: {key: stored[key] for key in keys if key in stored}


def _groups(index: RobustIndex, stored: dict[int, bytes], **options: object) -> list[list[int]]:
    pairs = index.pairs(RobustEngine.duplicate_threshold, None, _reader(stored), **options)  # type: ignore[arg-type]
    return connected_groups((a, b) for a, b, _ in pairs)


def _index(stored: dict[int, bytes], per_image: bool) -> RobustIndex:
    index = RobustIndex(per_image_duplicates=per_image)
    index.add(list(stored), list(stored.values()))
    return index


def test_the_join_finds_the_groups_the_per_image_search_finds(
    collection: tuple[dict[int, bytes], list[set[int]]],
) -> None:
    stored, truth = collection
    joined = _groups(_index(stored, per_image=False), stored)
    searched = _groups(_index(stored, per_image=True), stored)
    assert joined == searched
    assert joined == sorted(sorted(group) for group in truth)


def test_a_pair_scores_in_duplicates_what_compare_gives_it(
    collection: tuple[dict[int, bytes], list[set[int]]],
) -> None:
    stored, _ = collection
    index = _index(stored, per_image=False)
    found = list(index.pairs(RobustEngine.duplicate_threshold, None, _reader(stored)))  # type: ignore[arg-type]
    assert found
    for a, b, score in found:
        assert score == ENGINE.compare(stored[a], stored[b]), (a, b)


def test_progress_is_monotonic_and_ends_done(collection: tuple[dict[int, bytes], list[set[int]]]) -> None:
    stored, _ = collection
    calls: list[tuple[int, int]] = []
    index = _index(stored, per_image=False)
    with_progress = _groups(index, stored, progress=lambda done, total: calls.append((done, total)))
    assert with_progress == _groups(index, stored)
    assert len(calls) >= 2 and calls[0][0] < calls[0][1], f"no progress before the end: {calls}"
    assert len({total for _, total in calls}) == 1, "the total changed during one run"
    done = [d for d, _ in calls]
    assert done == sorted(done) and len(set(done)) == len(done), "progress went back or repeated"
    assert calls[-1][0] == calls[-1][1]


def test_the_join_keeps_to_the_allowed_keys(collection: tuple[dict[int, bytes], list[set[int]]]) -> None:
    stored, truth = collection
    first = sorted(truth[0])
    allowed = np.array(first[:3] + sorted(truth[1])[:1], np.int64)
    index = _index(stored, per_image=False)
    pairs = index.pairs(RobustEngine.duplicate_threshold, allowed, _reader(stored))  # type: ignore[arg-type]
    assert connected_groups((a, b) for a, b, _ in pairs) == [first[:3]]


def test_without_stored_blobs_the_join_still_groups_crops(
    collection: tuple[dict[int, bytes], list[set[int]]],
) -> None:
    """With only what the index keeps (no store to read), the keypoints the index holds
    still find the crops of most photographs, and never join two photographs."""
    stored, truth = collection
    index = _index(stored, per_image=False)
    found = {(a, b) for a, b, _ in index.pairs(RobustEngine.duplicate_threshold, None)}
    group_of = {key: n for n, group in enumerate(truth) for key in group}
    assert all(a in group_of and group_of[a] == group_of.get(b) for a, b in found)
    crops = [tuple(sorted(group)[:2]) for group in truth]
    assert sum(crop in found for crop in crops) >= len(crops) // 2, found


def _postings_and_queries(
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[tuple[np.ndarray, ...]]]:
    """A random inverted file (rows' keypoints with a word and a 28-bit signature, words
    shared often enough to form pairs) and every row's keypoints as query batches."""
    rng = np.random.default_rng(seed)
    n_rows, vocab = int(rng.integers(60, 300)), int(rng.integers(200, 2000))
    owners = np.repeat(np.arange(n_rows), int(rng.integers(10, 60)))
    words = rng.integers(0, vocab, len(owners))
    order = np.lexsort((owners, words))
    owners, words = owners[order], words[order]
    starts = np.searchsorted(words, np.arange(vocab + 1)).astype(np.int64)
    centre = rng.integers(0, 1 << 28, vocab)
    bits = (1 << np.arange(28)).astype(np.int64)

    def near(word: np.ndarray) -> np.ndarray:  # a word's signature with a few bits flipped
        return np.asarray(centre[word] ^ ((rng.random((len(word), 28)) < 0.08) @ bits), dtype=np.uint32)

    signature = near(words)
    packed = ((signature & 0xFFF) << 20).astype(np.uint32)
    rest = (signature >> 12).astype(np.uint16)
    batches = []
    for first in range(0, n_rows, 16):
        parts: list[list[np.ndarray]] = [[], [], [], []]
        offset = 0
        for row in range(first, min(n_rows, first + 16)):
            n, per = int(rng.integers(5, 120)), int(rng.integers(1, 4))
            named = rng.integers(0, vocab, (n, per))
            parts[0].append(np.full(n * per, row, np.int64))
            parts[1].append(np.repeat(np.arange(offset, offset + n, dtype=np.int64), per))
            parts[2].append(named.ravel().astype(np.int64))
            parts[3].append(np.repeat(near(named[:, 0]), per))
            offset += n
        batches.append(tuple(np.concatenate(part) for part in parts))
    idf = np.log((n_rows + 1) / (np.diff(starts) + 1.0))
    live = rng.random(n_rows) < 0.9
    return starts, owners.astype(np.uint32), packed, rest, idf, live, batches


@pytest.mark.parametrize("seed", range(6))
def test_the_votes_counted_first_never_change_the_pairs(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The keypoint join counts each image's votes exactly only for the rows an upper
    bound cannot rule out (``EXACT_FIRST`` of them, then all when that does not settle
    it): whatever that number, the candidate pairs are those of counting every vote."""
    from ris_local.index import keypoint_join

    starts, rows, packed, rest, idf, live, batches = _postings_and_queries(seed)
    monkeypatch.setattr(keypoint_join, "EXACT_FIRST", len(live) + 1)  # every vote counted
    everything = keypoint_join.voted_pairs(starts, rows, packed, rest, idf, live, batches)  # type: ignore[arg-type]
    assert len(everything)
    for first in (1, 2, 5, 30):
        monkeypatch.setattr(keypoint_join, "EXACT_FIRST", first)
        found = keypoint_join.voted_pairs(starts, rows, packed, rest, idf, live, batches)  # type: ignore[arg-type]
        assert np.array_equal(found, everything), first
