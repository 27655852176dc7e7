"""A search context: the images, features, tags, metadata and collections searched
together, and every operation on them. Obtained from
:meth:`ris_core.ImageSearch.create_context` or :meth:`ris_core.ImageSearch.context`.

The operations are grouped by area in the modules of this package; every one validates
its arguments before the backend sees them and raises only :mod:`ris_core.errors`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ris_core.context.collections import CollectionsPart
from ris_core.context.features import FeaturesPart
from ris_core.context.images import ImagesPart
from ris_core.context.metadata import MetadataPart
from ris_core.context.tags import TagsPart
from ris_core.errors import ImageNotFoundError
from ris_core.images import load_image
from ris_core.models import ContextStats, ImageInfo
from ris_core.validation import check_id

__all__ = ["SearchContext"]


class SearchContext(ImagesPart, FeaturesPart, TagsPart, MetadataPart, CollectionsPart):
    """One named search context."""

    def stats(self) -> ContextStats:
        """Counts, search latencies and search analytics of this context."""
        from ris_core.stats import context_stats  # the stats module reads the catalog

        return context_stats(self)

    def image_info(self, image_id: str) -> ImageInfo:
        """What the catalog knows about a stored image (ImageNotFoundError when unknown).

        Copy mode only: the size and resolution are read from the stored bytes' header.
        """
        rows = self.system.catalog.database.query(
            "SELECT sha256, added_at FROM catalog_images WHERE backend = ? AND context = ? AND image_id = ?",
            (self.system.catalog.backend, self.name, check_id(image_id)),
        )
        if not rows:
            raise ImageNotFoundError(f"no image {image_id!r} in context {self.name!r}")
        data = load_image(self.get_image(image_id), max_pixels=self.system.max_pixels)
        added_at = datetime.fromisoformat(str(rows[0][1]))
        sha256 = str(rows[0][0])
        return ImageInfo(image_id, sha256, len(data.data), data.width, data.height, added_at, None, None, False)

    def export(self, path: str | Path) -> Path:
        """Write the context (images, metadata, collections, tags) to ``path``: a folder,
        or a ``.tar``/``.tar.gz`` file. See :mod:`ris_core.transfer` for the format."""
        from ris_core.transfer import export_context

        return export_context(self, Path(path))
