"""Contract: creating, reading, replacing, deleting and extracting image features."""

from __future__ import annotations

import pytest

from ris_core import errors
from ris_core.backend import Capability
from ris_core.context import SearchContext
from ris_core.testing.contract.base import ContractBase, photo_bytes


def _ids(context: SearchContext, seed: int) -> list[str]:
    return [result.image_id for result in context.find_similar_images(image=photo_bytes(seed))]


class FeatureContract(ContractBase):
    """Features: what makes an image findable."""

    def test_get_features_names_what_made_them(self, gallery: SearchContext) -> None:
        self.require(gallery.system, Capability.FEATURE_DATA)
        features = gallery.get_features("p1")
        assert features.image_id == "p1"
        assert features.algorithm and features.version
        assert features.data and features.count > 0 and features.length_in_bits > 0

    def test_extract_features_matches_stored_and_stores_nothing(self, gallery: SearchContext) -> None:
        self.require(gallery.system, Capability.FEATURE_DATA)
        extracted = gallery.extract_features(photo_bytes(1))
        stored = gallery.get_features("p1")
        assert extracted.data == stored.data
        assert (extracted.algorithm, extracted.version) == (stored.algorithm, stored.version)
        assert len(gallery) == 6

    def test_extract_features_of_different_images_differ(self, context: SearchContext) -> None:
        self.require(context.system, Capability.FEATURE_DATA)
        assert context.extract_features(photo_bytes(1)).data != context.extract_features(photo_bytes(2)).data

    def test_delete_features_keeps_the_image_but_hides_it(self, gallery: SearchContext) -> None:
        gallery.delete_features("p1")
        assert gallery.get_image("p1") == photo_bytes(1)
        assert "p1" in gallery
        assert "p1" not in _ids(gallery, 1)
        if Capability.FEATURE_DATA in gallery.system.backend.capabilities:
            with pytest.raises(errors.FeaturesNotFoundError):
                gallery.get_features("p1")

    def test_create_features_makes_the_image_findable_again(self, gallery: SearchContext) -> None:
        gallery.delete_features("p1")
        gallery.create_features("p1")
        assert _ids(gallery, 1)[0] == "p1"

    def test_update_features_from_other_data_changes_what_matches(self, gallery: SearchContext) -> None:
        gallery.update_features("p1", photo_bytes(9))
        assert gallery.get_image("p1") == photo_bytes(1)  # the bytes are untouched
        assert _ids(gallery, 9)[:1] == ["p1"]
        assert "p1" not in _ids(gallery, 1)

    def test_update_features_without_data_recomputes_from_the_stored_image(self, gallery: SearchContext) -> None:
        gallery.update_features("p1", photo_bytes(9))
        gallery.update_features("p1")
        assert _ids(gallery, 1)[:1] == ["p1"]

    def test_feature_operations_on_unknown_images_fail(self, gallery: SearchContext) -> None:
        with pytest.raises(errors.ImageNotFoundError):
            gallery.create_features("missing")
        with pytest.raises(errors.ImageNotFoundError):
            gallery.update_features("missing", photo_bytes(1))
        with pytest.raises(errors.ImageNotFoundError):
            gallery.delete_features("missing")
        if Capability.FEATURE_DATA in gallery.system.backend.capabilities:
            with pytest.raises(errors.ImageNotFoundError):
                gallery.get_features("missing")
        assert len(gallery) == 6

    def test_features_from_bad_data_are_refused_and_keep_the_old_ones(self, gallery: SearchContext) -> None:
        with pytest.raises(errors.InvalidImageError):
            gallery.update_features("p1", b"not an image at all")
        assert _ids(gallery, 1)[:1] == ["p1"]
