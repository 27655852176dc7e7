"""The object ``ris_core.open`` returns: a backend, its catalog and its plugins."""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, cast

from ris_core.backend import Backend, Capability
from ris_core.cache import SearchCache
from ris_core.catalog import Catalog
from ris_core.context import SearchContext
from ris_core.database import open_database
from ris_core.errors import (
    ContextExistsError,
    ContextNotFoundError,
    RisError,
    UnsupportedOperationError,
    UnsupportedOptionError,
)
from ris_core.images import (
    DEFAULT_MAX_DECODE_BYTES,
    DEFAULT_MAX_PIXELS,
    ImageData,
    ImageInput,
    PreprocessStep,
    load_image,
)
from ris_core.ingest import IngestReport
from ris_core.models import ContextInfo, SearchResult
from ris_core.plugins import PluginSet
from ris_core.retry import RetryingBackend, RetryPolicy
from ris_core.stats import StatsRecorder
from ris_core.validation import check_id

__all__ = ["ImageSearch"]

logger = logging.getLogger("ris_core")


class ImageSearch:
    """A reverse image search system over one backend. Use as a context manager, or
    call :meth:`close` when done.

    Create it with :func:`ris_core.open`; reach images through the search contexts
    that :meth:`create_context` and :meth:`context` return.
    """

    def __init__(
        self,
        backend: Backend,
        catalog: Catalog,
        plugins: PluginSet,
        preprocessing: Sequence[PreprocessStep],
        max_pixels: int = DEFAULT_MAX_PIXELS,
        cache_size: int = 1024,
        retry: RetryPolicy | None = None,
        max_decode_bytes: int = DEFAULT_MAX_DECODE_BYTES,
    ) -> None:
        policy = retry or RetryPolicy()
        backend.retry_policy = policy
        # One policy, applied once: inside backends that retry per request, around
        # every operation for the others.
        self.backend: Backend = backend if backend.manages_retries else cast(Backend, RetryingBackend(backend, policy))
        self.catalog = catalog
        self.plugins = plugins
        self.preprocessing = tuple(preprocessing)
        self.max_pixels = max_pixels
        self.max_decode_bytes = max_decode_bytes
        self.cache = SearchCache(cache_size)
        self.stats_recorder = StatsRecorder(catalog)
        plugins.manager.register(self.stats_recorder, name="ris-stats")
        self._closed = False

    @property
    def backend_name(self) -> str:
        """The name of the backend in use."""
        return self.backend.name

    def __repr__(self) -> str:
        return f"<ImageSearch backend={self.backend_name!r} catalog={self.catalog.database.path!r}>"

    # --- contexts ----------------------------------------------------------------

    def create_context(self, name: str | None = None, *, by_reference: bool = False, **options: str) -> SearchContext:
        """Create an empty search context; ``name`` defaults to a fresh unique one.

        ``by_reference`` stores images added from files as their path, size, mtime and
        content hash instead of a copy (``get_image`` reads the file back and checks
        it); UnsupportedOperationError if the backend cannot. ``options`` are the
        backend's context options (``detector`` and ``matching_algorithm`` for
        Aspose). ContextExistsError if the name is taken.
        """
        if by_reference and Capability.REFERENCES not in self.backend.capabilities:
            raise UnsupportedOperationError(
                f"backend {self.backend_name!r} keeps copies of images; it cannot store them by reference"
            )
        name = check_id(name if name is not None else uuid.uuid4().hex, "context")
        unknown = sorted(set(options) - set(self.backend.context_options))
        if unknown:
            accepted = ", ".join(sorted(self.backend.context_options)) or "none"
            raise UnsupportedOptionError(
                f"backend {self.backend_name!r} does not accept context option(s) "
                f"{', '.join(unknown)}; it accepts: {accepted}"
            )
        if self.catalog.has_context(name):
            # Checked first so a taken name never creates (and leaks) a backend context.
            raise ContextExistsError(f"a search context named {name!r} already exists")
        ref = self.backend.create_context(options)
        try:
            self.catalog.add_context(name, ref, options, by_reference=by_reference)
        except BaseException:
            self.backend.delete_context(ref)
            raise
        logger.info("created context %r (backend %s, ref %s)", name, self.backend_name, ref)
        return SearchContext(self, name, ref)

    def context(self, name: str, *, create: bool = False, by_reference: bool = False) -> SearchContext:
        """Open an existing search context; with ``create=True``, create it if missing
        (storing by reference if ``by_reference``; an existing context keeps its mode)."""
        check_id(name, "context")
        try:
            record = self.catalog.get_context(name)
        except ContextNotFoundError:
            if not create:
                raise
            return self.create_context(name, by_reference=by_reference)
        return SearchContext(self, name, record.ref)

    def list_contexts(self) -> list[ContextInfo]:
        """Every search context of this backend with its image count, by name."""
        return [
            ContextInfo(record.name, self.backend_name, count, record.created_at)
            for record, count in self.catalog.list_contexts()
        ]

    def delete_context(self, name: str) -> None:
        """Delete a search context and every image, feature and tag in it."""
        record = self.catalog.get_context(check_id(name, "context"))
        try:
            self.backend.delete_context(record.ref)
        except ContextNotFoundError:
            logger.warning("context %r was already gone from the backend", name)
        self.catalog.remove_context(name)
        self.notify_write(name, "delete_context", ())

    def import_context(
        self,
        path: str | os.PathLike[str],
        name: str | None = None,
        *,
        progress: bool | None = None,
        on_progress: Callable[[int, int], None] | None = None,
        max_member_bytes: int | None = None,
        max_total_bytes: int | None = None,
    ) -> tuple[SearchContext, IngestReport]:
        """Load an export (from any backend) into context ``name``, creating it if needed
        (default: the exported context's name), all or nothing: a malformed or damaged
        export raises InvalidExportError before anything is written, and a failure while
        writing undoes the import. Returns the context and a per-image report (added or
        skipped); ``progress`` shows a bar (default: when stderr is a terminal) and
        ``on_progress(done, total)`` is called after each step. Each file may hold at most
        ``max_member_bytes`` and all of them ``max_total_bytes`` (defaults:
        :data:`ris_core.transfer.MAX_MEMBER_BYTES`, :data:`~ris_core.transfer.MAX_TOTAL_BYTES`).
        See :mod:`ris_core.transfer` for the format."""
        from ris_core import transfer

        return transfer.import_context(
            self,
            Path(path),
            name,
            progress,
            on_progress=on_progress,
            max_member_bytes=transfer.MAX_MEMBER_BYTES if max_member_bytes is None else max_member_bytes,
            max_total_bytes=transfer.MAX_TOTAL_BYTES if max_total_bytes is None else max_total_bytes,
        )

    def __iter__(self) -> Iterator[SearchContext]:
        for info in self.list_contexts():
            yield self.context(info.name)

    # --- plumbing shared by contexts ---------------------------------------------

    def load(self, image: ImageInput | ImageData) -> ImageData:
        """Read and check an image input, attaching this system's preprocessing.

        An :class:`ImageData` (already read and checked) is only given the chain.
        """
        if not isinstance(image, ImageData):
            image = load_image(image, max_pixels=self.max_pixels, max_decode_bytes=self.max_decode_bytes)
        return image.with_preprocessing(self.preprocessing)

    def notify_write(self, context: str, operation: str, image_ids: Sequence[str]) -> None:
        """Tell observer plugins that a write succeeded."""
        self._notify(
            "ris_after_write",
            backend=self.backend_name,
            context=context,
            operation=operation,
            image_ids=list(image_ids),
        )

    def notify_search(
        self,
        context: str,
        operation: str,
        query: str | None,
        results: Sequence[SearchResult],
        started: float,
        details: Mapping[str, Any],
    ) -> None:
        """Tell observer plugins that a search succeeded; ``started`` is its perf_counter."""
        self._notify(
            "ris_after_search",
            backend=self.backend_name,
            context=context,
            operation=operation,
            query=query,
            results=list(results),
            seconds=time.perf_counter() - started,
            details=dict(details),
        )

    def _notify(self, hook_name: str, **kwargs: Any) -> None:
        try:
            getattr(self.plugins.hook, hook_name)(**kwargs)
        except Exception:  # an observer's bug must not fail the user's operation
            logger.exception("an observer plugin failed in %s", hook_name)

    # --- lifetime ----------------------------------------------------------------

    def close(self) -> None:
        """Close the backend and the catalog. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        try:
            self.stats_recorder.flush(final=True)
            self.backend.close()
        finally:
            self.catalog.database.close()

    def __enter__(self) -> ImageSearch:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def open_catalog(backend: Backend, location: str | os.PathLike[str] | None) -> Catalog:
    """The catalog at ``location``, or where the backend suggests."""
    where = location if location is not None else backend.catalog_location()
    try:
        return Catalog(open_database(where), backend.name)
    except RisError:
        backend.close()
        raise
