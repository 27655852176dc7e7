"""Contract: per-image metadata, returned with results and filtering the search itself."""

from __future__ import annotations

import math

import pytest

from ris_core import errors
from ris_core.context import SearchContext
from ris_core.testing.contract.base import ContractBase, near_copy_bytes, photo_bytes


class MetadataContract(ContractBase):
    """Metadata."""

    @pytest.fixture
    def labelled(self, context: SearchContext) -> SearchContext:
        """Six photos with metadata; p5 has none."""
        years = [2019, 2020, 2021, 2022, 2023]
        for seed, year in enumerate(years):
            context.add_image(
                f"p{seed}",
                photo_bytes(seed),
                metadata={
                    "year": year,
                    "camera": "X100" if seed % 2 else "Q2",
                    "tags": ["even" if seed % 2 == 0 else "odd"],
                    "flag": seed == 0,
                },
            )
        context.add_image("p5", photo_bytes(5))
        return context

    def test_metadata_round_trip(self, labelled: SearchContext) -> None:
        assert labelled.get_metadata("p1") == {"year": 2020, "camera": "X100", "tags": ["odd"], "flag": False}
        assert labelled.get_metadata("p5") == {}
        labelled.set_metadata("p5", {"note": "later", "nested": {"a": [1, 2.5, None]}})
        assert labelled.get_metadata("p5") == {"note": "later", "nested": {"a": [1, 2.5, None]}}
        assert labelled.update_metadata("p5", {"note": "changed", "extra": True}) == {
            "note": "changed",
            "nested": {"a": [1, 2.5, None]},
            "extra": True,
        }
        labelled.delete_metadata("p5")
        assert labelled.get_metadata("p5") == {}

    def test_update_image_keeps_metadata_unless_given(self, labelled: SearchContext) -> None:
        labelled.update_image("p1", photo_bytes(11))
        assert labelled.get_metadata("p1")["year"] == 2020
        labelled.update_image("p1", photo_bytes(12), metadata={"year": 1999})
        assert labelled.get_metadata("p1") == {"year": 1999}

    def test_results_carry_metadata(self, labelled: SearchContext) -> None:
        [top] = labelled.find_similar_images(image=near_copy_bytes(3), max_count=1)
        assert top.image_id == "p3" and top.metadata == labelled.get_metadata("p3")

    @pytest.mark.parametrize("bad", [{"x": object()}, {"x": math.nan}, {1: "int key"}, ["not", "a", "mapping"], "text"])
    def test_metadata_that_is_not_a_json_object_is_refused(self, labelled: SearchContext, bad: object) -> None:
        with pytest.raises(errors.InvalidMetadataError):
            labelled.add_image("new", photo_bytes(20), metadata=bad)  # type: ignore[arg-type]
        with pytest.raises(errors.InvalidMetadataError):
            labelled.set_metadata("p1", bad)  # type: ignore[arg-type]
        assert "new" not in labelled
        assert labelled.get_metadata("p1")["year"] == 2020

    def test_metadata_of_unknown_images_fails(self, labelled: SearchContext) -> None:
        with pytest.raises(errors.ImageNotFoundError):
            labelled.get_metadata("missing")
        with pytest.raises(errors.ImageNotFoundError):
            labelled.set_metadata("missing", {"a": 1})

    @pytest.mark.parametrize(
        ("where", "expected"),
        [
            ({"camera": "X100"}, ["p1", "p3"]),
            ({"year": {"$gte": 2021}}, ["p2", "p3", "p4"]),
            ({"year": {"$gt": 2019, "$lt": 2022}, "camera": "Q2"}, ["p2"]),
            ({"year": {"$in": [2019, 2023]}}, ["p0", "p4"]),
            ({"camera": {"$ne": "Q2"}}, ["p1", "p3", "p5"]),
            ({"camera": {"$nin": ["Q2"]}}, ["p1", "p3", "p5"]),
            ({"camera": {"$exists": False}}, ["p5"]),
            ({"tags": {"$contains": "even"}}, ["p0", "p2", "p4"]),
            ({"flag": True}, ["p0"]),
            ({"year": "2020"}, []),  # strings never equal numbers
            ({"missing": 1}, []),  # a missing key matches nothing but $ne, $nin, $exists: false
        ],
    )
    def test_filters_select_images(
        self, labelled: SearchContext, where: dict[str, object], expected: list[str]
    ) -> None:
        assert labelled.image_ids(where=where) == expected

    @pytest.mark.parametrize(
        "where",
        [
            {"year": {"$near": 1}},
            {"year": {"$gt": True}},
            {"year": {"$in": []}},
            {"year": [1, 2]},
            {'bad"key': 1},
            {"": 1},
            ["year"],
        ],
    )
    def test_malformed_filters_are_refused(self, labelled: SearchContext, where: object) -> None:
        with pytest.raises(errors.InvalidMetadataError):
            labelled.find_similar_images(image=photo_bytes(1), where=where)  # type: ignore[arg-type]

    def test_filter_narrows_the_search_itself(self, labelled: SearchContext) -> None:
        labelled.add_image("p3-copy", near_copy_bytes(3), metadata={"year": 1990})
        results = labelled.find_similar_images(
            image=photo_bytes(3), threshold=0, max_count=1, where={"year": {"$lt": 2000}}
        )
        assert [result.image_id for result in results] == ["p3-copy"]
        everything_else = labelled.find_similar_images(
            image=photo_bytes(3), threshold=0, max_count=10, where={"camera": "X100"}
        )
        assert everything_else[0].image_id == "p3"
        assert {result.image_id for result in everything_else} == {"p1", "p3"}
        assert labelled.find_similar_images(image=photo_bytes(3), where={"year": 1800}) == []

    def test_metadata_changes_are_seen_by_the_next_search(self, labelled: SearchContext) -> None:
        where = {"camera": "Z"}
        assert labelled.find_similar_images(image=photo_bytes(2), where=where) == []
        labelled.update_metadata("p2", {"camera": "Z"})
        [found] = labelled.find_similar_images(image=photo_bytes(2), where=where)
        assert found.image_id == "p2" and found.metadata is not None and found.metadata["camera"] == "Z"
