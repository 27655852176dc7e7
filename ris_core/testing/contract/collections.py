"""Contract: collections narrow searches, duplicates and tag searches exactly."""

from __future__ import annotations

import pytest

from ris_core import errors
from ris_core.backend import Capability
from ris_core.context import SearchContext
from ris_core.testing.contract.base import ContractBase, near_copy_bytes, photo_bytes


class CollectionContract(ContractBase):
    """Collections."""

    def test_create_list_rename_delete(self, gallery: SearchContext) -> None:
        gallery.create_collection("evens", ["p0", "p2", "p4"])
        gallery.create_collection("empty")
        assert [(c.name, c.image_count) for c in gallery.list_collections()] == [("empty", 0), ("evens", 3)]
        gallery.rename_collection("evens", "even")
        assert gallery.collection_images("even") == ["p0", "p2", "p4"]
        with pytest.raises(errors.CollectionNotFoundError):
            gallery.collection_images("evens")
        gallery.delete_collection("even")
        assert [c.name for c in gallery.list_collections()] == ["empty"]
        assert len(gallery) == 6  # images stay

    def test_images_may_be_in_several_collections(self, gallery: SearchContext) -> None:
        gallery.create_collection("a", ["p1", "p2"])
        gallery.create_collection("b", "p2")
        gallery.add_to_collection("b", ["p3", "p2"])
        assert gallery.collections_of("p2") == ["a", "b"]
        gallery.remove_from_collection("a", "p2")
        assert gallery.collection_images("a") == ["p1"] and gallery.collections_of("p2") == ["b"]

    def test_deleting_an_image_takes_it_out_of_collections(self, gallery: SearchContext) -> None:
        gallery.create_collection("a", ["p1", "p2"])
        gallery.delete_image("p1")
        assert gallery.collection_images("a") == ["p2"]

    def test_errors(self, gallery: SearchContext) -> None:
        gallery.create_collection("a")
        with pytest.raises(errors.CollectionExistsError):
            gallery.create_collection("a")
        with pytest.raises(errors.CollectionNotFoundError):
            gallery.add_to_collection("nope", "p1")
        with pytest.raises(errors.ImageNotFoundError):
            gallery.add_to_collection("a", ["p1", "missing"])
        assert gallery.collection_images("a") == []  # all or none
        with pytest.raises(errors.CollectionNotFoundError):
            gallery.find_similar_images("p1", collection="nope")
        with pytest.raises(errors.InvalidIdError):
            gallery.create_collection("../up")
        gallery.create_collection("b")
        with pytest.raises(errors.CollectionExistsError):
            gallery.rename_collection("a", "b")

    def test_search_inside_a_collection_returns_its_best_matches(self, gallery: SearchContext) -> None:
        gallery.add_image("p3-copy", near_copy_bytes(3))
        gallery.create_collection("without-p3", ["p0", "p1", "p3-copy"])
        results = gallery.find_similar_images(image=photo_bytes(3), threshold=0, max_count=1, collection="without-p3")
        assert [r.image_id for r in results] == ["p3-copy"]
        inside = gallery.find_similar_images(image=photo_bytes(3), threshold=0, max_count=10, collection="without-p3")
        assert {r.image_id for r in inside} == {"p0", "p1", "p3-copy"}
        gallery.create_collection("none")
        assert gallery.find_similar_images(image=photo_bytes(3), threshold=0, collection="none") == []

    def test_duplicates_inside_a_collection(self, gallery: SearchContext) -> None:
        self.require(gallery.system, Capability.DUPLICATES)
        gallery.add_image("p1-copy", near_copy_bytes(1))
        gallery.add_image("p2-copy", near_copy_bytes(2))
        gallery.create_collection("some", ["p1", "p1-copy", "p2"])
        assert [g.image_ids for g in gallery.find_duplicates(collection="some")] == [("p1", "p1-copy")]
        assert len(gallery.find_duplicates()) == 2

    def test_tag_search_inside_a_collection(self, gallery: SearchContext) -> None:
        self.require(gallery.system, Capability.TAGS)
        gallery.create_tag("mine", [photo_bytes(1), photo_bytes(2)])
        gallery.create_collection("one", ["p2", "p5"])
        assert [r.image_id for r in gallery.find_images_by_tags("mine", collection="one")] == ["p2"]
