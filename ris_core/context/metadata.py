"""Per-image metadata in a context: set, merge, read, delete."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ris_core.context.base import ContextBase
from ris_core.metadata import dump_metadata
from ris_core.validation import check_id

__all__ = ["MetadataPart"]


class MetadataPart(ContextBase):
    """Metadata: any JSON object per image, returned with search results."""

    def get_metadata(self, image_id: str) -> dict[str, Any]:
        """An image's metadata ({} if it has none). ImageNotFoundError if unknown."""
        return self.system.catalog.get_metadata(self.name, check_id(image_id))

    def set_metadata(self, image_id: str, metadata: Mapping[str, Any]) -> None:
        """Replace an image's metadata. InvalidMetadataError if it is not a JSON object."""
        text = dump_metadata(metadata)
        self.system.catalog.set_metadata(self.name, check_id(image_id), text)
        self.system.notify_write(self.name, "set_metadata", [image_id])

    def update_metadata(self, image_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Merge ``changes`` into the top level of an image's metadata; return the result."""
        merged = {**self.get_metadata(image_id), **dict(changes)}
        self.set_metadata(image_id, merged)
        return merged

    def delete_metadata(self, image_id: str) -> None:
        """Remove all metadata of an image (the image stays)."""
        self.system.catalog.set_metadata(self.name, check_id(image_id), None)
        self.system.notify_write(self.name, "delete_metadata", [image_id])
