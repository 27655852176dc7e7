"""A search context: the images, features, tags, metadata and collections searched
together, and every operation on them. Obtained from
:meth:`ris_core.ImageSearch.create_context` or :meth:`ris_core.ImageSearch.context`.

The operations are grouped by area in the modules of this package; every one validates
its arguments before the backend sees them and raises only :mod:`ris_core.errors`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ris_core.context.collections import CollectionsPart
from ris_core.context.features import FeaturesPart
from ris_core.context.images import ImagesPart
from ris_core.context.metadata import MetadataPart
from ris_core.context.tags import TagsPart
from ris_core.models import ContextStats

__all__ = ["SearchContext"]


class SearchContext(ImagesPart, FeaturesPart, TagsPart, MetadataPart, CollectionsPart):
    """One named search context."""

    def stats(self) -> ContextStats:
        """Counts, search latencies and search analytics of this context."""
        from ris_core.stats import context_stats  # the stats module reads the catalog

        return context_stats(self)

    def export(
        self,
        path: str | Path,
        *,
        progress: bool | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> Path:
        """Write the context (images, metadata, collections, tags) to ``path``: a new or
        empty folder, or a ``.tar``, ``.tar.gz``, ``.tgz``, ``.tar.bz2`` or ``.tar.xz`` file
        (another archive suffix, such as ``.zip``, is an InvalidExportError). Nothing is
        left behind if it fails. ``progress`` shows a bar (default: when stderr is a
        terminal); ``on_progress(done, total)`` is
        called after each file. See :mod:`ris_core.transfer` for the format."""
        from ris_core.transfer import export_context

        return export_context(self, Path(path), progress=progress, on_progress=on_progress)
