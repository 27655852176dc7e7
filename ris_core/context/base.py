"""What every part of :class:`~ris_core.SearchContext` shares: identity, argument
checks, and turning filters into the set of ids a search may return."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ris_core.backend import Capability, Query
from ris_core.errors import ContextBusyError, ImageNotFoundError, InvalidArgumentError, UnsupportedOperationError
from ris_core.images import ImageInput
from ris_core.models import ContextStatus, SearchResult
from ris_core.validation import check_id, check_max_count, check_threshold

if TYPE_CHECKING:
    from ris_core.system import ImageSearch

__all__ = ["ContextBase", "Filter"]

#: A metadata filter, see :mod:`ris_core.metadata`.
Filter = Mapping[str, Any]

DEFAULT_MAX_COUNT = 10


class ContextBase:
    """A named search context of one :class:`~ris_core.ImageSearch`."""

    def __init__(self, system: ImageSearch, name: str, ref: str) -> None:
        self.system = system
        self.name = name
        self.ref = ref

    def __repr__(self) -> str:
        return f"<SearchContext {self.name!r} backend={self.system.backend_name!r}>"

    def status(self) -> ContextStatus:
        """Whether the context is idle (ready) or busy, with the backend's own word."""
        return self.system.backend.context_status(self.ref)

    def wait_until_idle(self, timeout: float = 300.0, poll_interval: float = 1.0) -> ContextStatus:
        """Poll the status until idle; ContextBusyError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        delay = min(0.05, poll_interval)
        while True:
            status = self.status()
            if status.is_idle:
                return status
            if time.monotonic() + delay > deadline:
                raise ContextBusyError(f"context {self.name!r} still {status.detail or 'busy'} after {timeout:g} s")
            time.sleep(delay)
            delay = min(delay * 2, poll_interval)

    def _require(self, image_id: str) -> None:
        if not self.system.catalog.has_image(self.name, image_id):
            raise ImageNotFoundError(f"no image {image_id!r} in context {self.name!r}")

    def _capable(self, capability: Capability, operation: str) -> None:
        if capability not in self.system.backend.capabilities:
            raise UnsupportedOperationError(f"backend {self.system.backend_name!r} does not offer {operation}")

    def _query(self, image_id: str | None, image: ImageInput | None, id_name: str, image_name: str) -> Query:
        if (image_id is None) == (image is None):
            raise InvalidArgumentError(f"give exactly one of {id_name} (a stored image) or {image_name} (new data)")
        if image_id is not None:
            # The catalog says which ids exist: one an interrupted add left in the
            # backend alone is not an image of the context, as a query either.
            self._require(check_id(image_id))
            return image_id
        assert image is not None
        return self.system.load(image)

    def _limits(self, threshold: float | None, max_count: int) -> tuple[float, int]:
        level = self.system.backend.default_threshold if threshold is None else threshold
        return check_threshold(level), check_max_count(max_count)

    def _within(self, where: Filter | None, collection: str | None) -> frozenset[str] | None:
        """The ids a search may return, or None for all of them."""
        if where is None and collection is None:
            return None
        if collection is not None:
            check_id(collection, "collection")
        return frozenset(self.system.catalog.image_ids(self.name, where, collection))

    def _with_metadata(self, results: Sequence[SearchResult]) -> list[SearchResult]:
        """The results with each image's metadata attached, leaving out any image the
        catalog does not hold: one an add cut short by a crash left in the backend is
        not in ``len()`` or ``image_ids()``, so no search may return it either."""
        found = self.system.catalog.metadata_for(self.name, (result.image_id for result in results))
        return [
            dataclasses.replace(result, metadata=found[result.image_id])
            for result in results
            if result.image_id in found
        ]

    @staticmethod
    def _ranked(results: Sequence[SearchResult]) -> list[SearchResult]:
        """Best first, equal similarities by image id, whatever order the backend kept."""
        return sorted(results, key=lambda result: (-result.similarity, result.image_id))

    @staticmethod
    def _filter_key(where: Filter | None, collection: str | None) -> str:
        """A stable text for a filter and collection, to key caches by."""
        return json.dumps([where, collection], sort_keys=True, default=str)
