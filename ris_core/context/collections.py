"""Collections in a context: named sets of images; an image may be in several."""

from __future__ import annotations

from collections.abc import Iterable

from ris_core.context.base import ContextBase
from ris_core.models import CollectionInfo
from ris_core.validation import check_id

__all__ = ["CollectionsPart"]


def _ids(image_ids: str | Iterable[str]) -> list[str]:
    return [check_id(i) for i in ([image_ids] if isinstance(image_ids, str) else image_ids)]


class CollectionsPart(ContextBase):
    """Creating, listing, renaming and deleting collections, and filling them."""

    def create_collection(self, name: str, image_ids: str | Iterable[str] = ()) -> None:
        """A new collection, optionally with images. CollectionExistsError if taken."""
        self.system.catalog.create_collection(self.name, check_id(name, "collection"))
        members = _ids(image_ids)
        if members:
            self.add_to_collection(name, members)
        self.system.notify_write(self.name, "collection", members)

    def list_collections(self) -> list[CollectionInfo]:
        """Every collection with its image count, by name."""
        return [
            CollectionInfo(name, count, created) for name, count, created in self.system.catalog.collections(self.name)
        ]

    def rename_collection(self, name: str, new_name: str) -> None:
        """Rename a collection. CollectionNotFoundError, CollectionExistsError."""
        self.system.catalog.rename_collection(self.name, check_id(name, "collection"), check_id(new_name, "collection"))
        self.system.notify_write(self.name, "collection", [])

    def delete_collection(self, name: str) -> None:
        """Delete a collection; its images stay in the context."""
        self.system.catalog.delete_collection(self.name, check_id(name, "collection"))
        self.system.notify_write(self.name, "collection", [])

    def add_to_collection(self, name: str, image_ids: str | Iterable[str]) -> None:
        """Put images in a collection; all or none (ImageNotFoundError names the first unknown)."""
        members = _ids(image_ids)
        self.system.catalog.add_members(self.name, check_id(name, "collection"), members)
        self.system.notify_write(self.name, "collection", members)

    def remove_from_collection(self, name: str, image_ids: str | Iterable[str]) -> None:
        """Take images out of a collection; they stay in the context."""
        members = _ids(image_ids)
        self.system.catalog.remove_members(self.name, check_id(name, "collection"), members)
        self.system.notify_write(self.name, "collection", members)

    def collection_images(self, name: str) -> list[str]:
        """The ids in a collection, sorted. CollectionNotFoundError if unknown."""
        return self.system.catalog.image_ids(self.name, None, check_id(name, "collection"))

    def collections_of(self, image_id: str) -> list[str]:
        """The collections an image is in."""
        self._require(check_id(image_id))
        return self.system.catalog.collections_of(self.name, image_id)
