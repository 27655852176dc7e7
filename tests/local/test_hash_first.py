"""Issue 18: a query by data is extracted hashes first. When the hash stage settles its
search, no keypoints are extracted; whichever path runs, the results are the ones a
search from the query's whole feature blob gives: same ids, order, scores, method."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageEnhance, ImageOps

import ris_core
from ris_core.images import ImageData
from ris_core.testing.images import encode, near_copy, photo
from ris_local.engine import ExtractedQuery, QueryFeatures
from ris_local.extraction import ExtractionStatistics
from ris_local.robust import RobustEngine

STORED = 24


class WholeQueries(RobustEngine):
    """The robust engine with every query extracted whole before its search: the path
    every search took before hashes came first (the base Engine's ``query``)."""

    def query(self, image: ImageData) -> QueryFeatures:
        return ExtractedQuery(self.extract(image))


def jpeg(image: Image.Image, quality: int = 90) -> bytes:
    return encode(image.convert("RGB"), "JPEG", quality=quality)


def hash_first_queries() -> dict[str, bytes]:
    """Sure hash copies, weaker re-encodes, crops, mirrors, near copies and negatives."""
    out: dict[str, bytes] = {}
    for seed in range(0, STORED, 3):
        picture = photo(seed, (400, 300))
        out[f"copy-{seed}"] = jpeg(picture, 90)
        out[f"reencode-{seed}"] = jpeg(picture.resize((200, 150)), 40)
        out[f"png-{seed}"] = encode(picture, "PNG")
        out[f"mirror-{seed}"] = jpeg(ImageOps.mirror(picture))
        out[f"crop-{seed}"] = jpeg(picture.crop((50, 40, 330, 250)))
        out[f"near-{seed}"] = jpeg(near_copy(picture))
        out[f"dark-{seed}"] = jpeg(ImageEnhance.Brightness(picture).enhance(0.6))
    for seed in range(1000, 1008):
        out[f"negative-{seed}"] = jpeg(photo(seed, (400, 300)))
    # The twin of a stored picture whose brighter twin is stored too: settled by the
    # one, with the other (unsure) still scored from the whole features.
    out["twin-0"] = jpeg(photo(0, (400, 300)), 75)
    return out


def fill(database: str) -> None:
    """The stored pictures: photos, and near twins of two (brighter: unsure by hash)."""
    with ris_core.open("local", database=database) as system:
        context = system.create_context("c")
        images = [(f"p{seed}", jpeg(photo(seed, (400, 300)), 92)) for seed in range(STORED)]
        images += [(f"bright{seed}", jpeg(ImageEnhance.Brightness(photo(seed, (400, 300))).enhance(1.25)))
                   for seed in (0, 3)]  # fmt: skip
        context.add_images(images, workers=1, progress=False)


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hashfirst") / "ris.db"
    fill(str(path))
    return path


Hits = list[tuple[str, float, float, str]]


def search_all(
    path: Path | str, engine: RobustEngine, queries: dict[str, bytes], **limits: Any
) -> tuple[dict[str, Hits], ExtractionStatistics]:
    """Every query searched in a fresh system opened with ``engine``, and its statistics."""
    with ris_core.open("local", database=str(path), engine=engine) as system:
        context = system.context("c")
        found = {}
        for name, data in queries.items():
            hits = context.find_similar_images(image=data, **limits)
            found[name] = [(h.image_id, h.similarity, h.distance, h.method) for h in hits]
        return found, system.backend.extraction_statistics()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "limits",
    [{}, {"max_count": 1}, {"threshold": 85.0, "max_count": 3}, {"threshold": 40.0, "max_count": 5}],
    ids=["default", "top-1", "sure-only", "below-the-hash-reach"],
)
def test_hashes_first_gives_the_whole_extractions_results(database: Path, limits: dict[str, Any]) -> None:
    queries = hash_first_queries()
    staged, stats = search_all(database, RobustEngine(), queries, **limits)
    whole, _ = search_all(database, WholeQueries(), queries, **limits)
    assert staged == whole
    # Both paths ran: some queries were settled by their hashes, others extracted in full.
    assert stats.staged_queries == len(queries)
    if limits.get("threshold") != 40.0:  # below the hash look's reach every query is scored in full
        assert 0 < stats.hash_settled < len(queries)
    # Every hit scores as compare_images scores the pair.
    with ris_core.open("local", database=str(database)) as system:
        context = system.context("c")
        for name, hits in staged.items():
            for image_id, similarity, distance, method in hits:
                comparison = context.compare_images(image_id, other_image=queries[name])
                assert (comparison.similarity, comparison.distance, comparison.method) == (
                    similarity,
                    distance,
                    method,
                ), name


def test_a_hash_settled_query_extracts_no_keypoints(database: Path) -> None:
    copy = jpeg(photo(6, (400, 300)), 90)
    crop = jpeg(photo(6, (400, 300)).crop((50, 40, 330, 250)))
    with ris_core.open("local", database=str(database)) as system:
        context, backend = system.context("c"), system.backend
        before = backend.extraction_statistics()  # type: ignore[attr-defined]
        [hit] = context.find_similar_images(image=copy, max_count=1)
        after = backend.extraction_statistics()  # type: ignore[attr-defined]
        assert hit.image_id == "p6" and hit.method == "dct+gradient hash"
        assert after.hash_settled == before.hash_settled + 1
        assert after.extractions == before.extractions  # no keypoints, no thumbnail, no colours
        # A crop is not settled by its hashes: it is extracted in full, once, and cached.
        found = context.find_similar_images(image=crop, max_count=1)
        assert found and found[0].image_id == "p6"
        crop_done = backend.extraction_statistics()  # type: ignore[attr-defined]
        assert crop_done.extractions == after.extractions + 1 and crop_done.hash_settled == after.hash_settled
        context.compare_images("p6", other_image=crop)  # the crop's blob is cached: nothing extracted again
        assert backend.extraction_statistics().extractions == crop_done.extractions  # type: ignore[attr-defined]


def test_the_staged_query_decodes_once(database: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The keypoint stage of a staged query reuses its decode (features/decoding.py)."""
    from ris_local.features import decoding, layout

    sizes: list[int] = []
    real = decoding.decode

    def counting(image: ImageData, longest: int) -> decoding.Decoded:
        sizes.append(longest)
        return real(image, longest)

    monkeypatch.setattr(layout, "decode", counting)
    crop = jpeg(photo(9, (400, 300)).crop((50, 40, 330, 250)))
    with ris_core.open("local", database=str(database)) as system:
        found = system.context("c").find_similar_images(image=crop, max_count=1)
        stats = system.backend.extraction_statistics()  # type: ignore[attr-defined]
    assert found and found[0].image_id == "p9"
    assert stats.extractions == 1 and stats.hash_settled == 0  # extracted in full...
    assert len(sizes) == 1  # ...from the one decode its hashes came from
