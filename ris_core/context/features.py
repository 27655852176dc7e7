"""Features in a context: what makes each image findable."""

from __future__ import annotations

from ris_core.backend import Capability
from ris_core.context.base import ContextBase
from ris_core.images import ImageInput
from ris_core.models import ImageFeatures
from ris_core.validation import check_id

__all__ = ["FeaturesPart"]


class FeaturesPart(ContextBase):
    """Creating, reading, replacing, deleting and extracting features."""

    def create_features(self, image_id: str, image: ImageInput | None = None) -> None:
        """(Re)compute the features of a stored image, from ``image`` if given."""
        self._features_write("create_features", image_id, image)

    def update_features(self, image_id: str, image: ImageInput | None = None) -> None:
        """Replace the features of a stored image, from ``image`` if given."""
        self._features_write("update_features", image_id, image)

    def _features_write(self, operation: str, image_id: str, image: ImageInput | None) -> None:
        self._require(check_id(image_id))
        data = None if image is None else self.system.load(image)
        getattr(self.system.backend, operation)(self.ref, image_id, data)
        self.system.catalog.touch(self.name)
        self.system.notify_write(self.name, operation, [image_id])

    def get_features(self, image_id: str) -> ImageFeatures:
        """The stored features of an image, tagged with the algorithm that made them."""
        self._capable(Capability.FEATURE_DATA, "get_features")
        return self.system.backend.get_features(self.ref, check_id(image_id))

    def delete_features(self, image_id: str) -> None:
        """Delete the features of an image; it stays stored but matches no search."""
        self._require(check_id(image_id))
        self.system.backend.delete_features(self.ref, image_id)
        self.system.catalog.touch(self.name)
        self.system.notify_write(self.name, "delete_features", [image_id])

    def extract_features(self, image: ImageInput) -> ImageFeatures:
        """Compute the features of new image data without storing anything."""
        self._capable(Capability.FEATURE_DATA, "extract_features")
        return self.system.backend.extract_features(self.ref, self.system.load(image))
