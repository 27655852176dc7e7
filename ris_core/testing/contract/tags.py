"""Contract: tags defined by reference images, and finding images by tags."""

from __future__ import annotations

import pytest

from ris_core import errors
from ris_core.backend import Capability
from ris_core.context import SearchContext
from ris_core.testing.contract.base import ContractBase, near_copy_bytes, photo_bytes


class TagContract(ContractBase):
    """Tags."""

    def test_tag_finds_images_like_its_reference(self, gallery: SearchContext) -> None:
        self.require(gallery.system, Capability.TAGS)
        gallery.create_tag("sunset", near_copy_bytes(2))
        results = gallery.find_images_by_tags("sunset")
        assert [result.image_id for result in results] == ["p2"]
        assert results[0].similarity >= gallery.system.backend.default_threshold
        assert gallery.list_tags() == {"sunset": 1}

    def test_several_tags_match_any_of_them(self, gallery: SearchContext) -> None:
        self.require(gallery.system, Capability.TAGS)
        gallery.create_tag("cat", photo_bytes(1))
        gallery.create_tag("dog", photo_bytes(4))
        results = gallery.find_images_by_tags(["cat", "dog"])
        assert sorted(result.image_id for result in results) == ["p1", "p4"]

    def test_tag_with_several_references_and_growing_tags(self, gallery: SearchContext) -> None:
        self.require(gallery.system, Capability.TAGS)
        gallery.create_tag("mine", [photo_bytes(0), photo_bytes(3)])
        gallery.create_tag("mine", photo_bytes(5))
        found = gallery.find_images_by_tags("mine", max_count=10)
        assert sorted(result.image_id for result in found) == ["p0", "p3", "p5"]
        assert gallery.list_tags() == {"mine": 3}
        assert len(gallery.find_images_by_tags("mine", max_count=2)) == 2

    def test_tag_search_scores_each_image_by_its_best_reference(self, gallery: SearchContext) -> None:
        self.require(gallery.system, Capability.TAGS)
        gallery.create_tag("both", [photo_bytes(2), near_copy_bytes(2)])
        results = gallery.find_images_by_tags("both", threshold=0, max_count=10)
        assert [result.image_id for result in results].count("p2") == 1
        assert results[0].image_id == "p2"
        assert results[0].similarity == pytest.approx(100, abs=1e-6)

    def test_unknown_tag_fails(self, gallery: SearchContext) -> None:
        self.require(gallery.system, Capability.TAGS)
        gallery.create_tag("known", photo_bytes(1))
        with pytest.raises(errors.TagNotFoundError):
            gallery.find_images_by_tags(["known", "unknown"])

    def test_tag_arguments_are_checked(self, gallery: SearchContext) -> None:
        self.require(gallery.system, Capability.TAGS)
        with pytest.raises(errors.InvalidIdError):
            gallery.create_tag("../up", photo_bytes(1))
        with pytest.raises(errors.InvalidArgumentError):
            gallery.create_tag("empty", [])
        with pytest.raises(errors.InvalidImageError):
            gallery.create_tag("broken", b"definitely not an image")
        with pytest.raises(errors.InvalidArgumentError):
            gallery.find_images_by_tags([])
        with pytest.raises(errors.InvalidThresholdError):
            gallery.find_images_by_tags("x", threshold=101)
        assert gallery.list_tags() == {}
