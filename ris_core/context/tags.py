"""Tags in a context: a name defined by reference images, and finding images by tags."""

from __future__ import annotations

from collections.abc import Sequence

from ris_core.backend import Capability
from ris_core.context.base import DEFAULT_MAX_COUNT, Filter
from ris_core.context.search import SearchPart
from ris_core.errors import InvalidArgumentError
from ris_core.images import ImageInput
from ris_core.models import SearchResult
from ris_core.validation import check_id

__all__ = ["TagsPart"]


class TagsPart(SearchPart):
    """Creating tags and searching by them."""

    def create_tag(self, tag: str, images: ImageInput | Sequence[ImageInput]) -> None:
        """Define ``tag`` by one or more reference images (a list or tuple of them).

        An existing tag gains the new reference images.
        """
        self._capable(Capability.TAGS, "create_tag")
        check_id(tag, "tag")
        sources: list[ImageInput] = list(images) if isinstance(images, list | tuple) else [images]  # type: ignore[list-item]
        if not sources:
            raise InvalidArgumentError("create_tag needs at least one reference image")
        loaded = [self.system.load(source) for source in sources]
        self.system.backend.create_tag(self.ref, tag, loaded)
        self.system.catalog.add_tag_references(self.name, tag, [image.data for image in loaded])
        self.system.notify_write(self.name, "create_tag", [tag])

    def list_tags(self) -> dict[str, int]:
        """Every tag of the context with its number of reference images."""
        return self.system.catalog.tags(self.name)

    def find_images_by_tags(
        self,
        tags: str | Sequence[str],
        *,
        threshold: float | None = None,
        max_count: int = DEFAULT_MAX_COUNT,
        where: Filter | None = None,
        collection: str | None = None,
    ) -> list[SearchResult]:
        """Images similar to the reference images of any of ``tags``, scored by their
        best match, narrowed like :meth:`find_similar_images`. TagNotFoundError if a
        tag is unknown."""
        self._capable(Capability.TAGS, "find_images_by_tags")
        names = [tags] if isinstance(tags, str) else list(tags)
        if not names:
            raise InvalidArgumentError("find_images_by_tags needs at least one tag")
        for name in names:
            check_id(name, "tag")
        threshold, max_count = self._limits(threshold, max_count)
        return self._narrowed_search(
            "find_images_by_tags",
            (tuple(names), threshold, max_count),
            lambda within: self.system.backend.find_by_tags(self.ref, names, threshold, max_count, within),
            where=where,
            collection=collection,
            query=None,
            details={"threshold": threshold, "max_count": max_count, "tags": names},
        )
