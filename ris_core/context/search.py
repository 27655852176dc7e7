"""Searching a context: similar images, duplicates, comparisons, each cached and
narrowed by metadata filters and collections before the backend runs."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Hashable, Mapping, Sequence
from typing import Any, TypeVar

from ris_core.backend import Capability, Progress
from ris_core.cache import MISSING
from ris_core.context.base import DEFAULT_MAX_COUNT, ContextBase, Filter
from ris_core.declined import cut_declined
from ris_core.errors import InvalidArgumentError
from ris_core.groups import strongest_links
from ris_core.images import ImageInput
from ris_core.models import Comparison, DuplicateGroup, SearchResult
from ris_core.validation import check_id, check_threshold

__all__ = ["SearchPart"]

T = TypeVar("T")


class _Linker:
    """Whether two members of one backend group are alike: by comparing them when the
    backend can, else (no way to tell) every member of a group counts as linked."""

    def __init__(self, level: float, compare: Callable[[str, str], Comparison] | None) -> None:
        self.level = level
        self.compare = compare
        self.comparisons: dict[frozenset[str], Comparison] = {}

    def __call__(self, first: str, second: str) -> bool:
        if self.compare is None:
            return True
        comparison = self.compare(first, second)
        self.comparisons[frozenset((first, second))] = comparison
        return comparison.similarity >= self.level


class SearchPart(ContextBase):
    """Find similar images, find duplicates, compare two images."""

    def _cached(
        self,
        operation: str,
        key: Hashable,
        compute: Callable[[], T],
        flatten: Callable[[T], Sequence[SearchResult]],
        query: str | None,
        details: Mapping[str, Any],
    ) -> T:
        """Answer from the cache if nothing changed since, else compute and cache."""
        started = time.perf_counter()
        generation = self.system.catalog.generation(self.name)
        # The backend reference, not the name: a context deleted and created again under
        # the same name starts a new generation count and must not see old entries.
        full_key = (self.ref, operation, key)
        value = self.system.cache.get(full_key, generation)
        cached = value is not MISSING
        if not cached:
            value = compute()
            self.system.cache.put(full_key, generation, value)
        self.system.notify_search(self.name, operation, query, flatten(value), started, {**details, "cached": cached})
        return value  # type: ignore[no-any-return]

    def find_similar_images(
        self,
        image_id: str | None = None,
        *,
        image: ImageInput | None = None,
        threshold: float | None = None,
        max_count: int = DEFAULT_MAX_COUNT,
        where: Filter | None = None,
        collection: str | None = None,
    ) -> list[SearchResult]:
        """Images similar to a stored image (``image_id``) or to new data (``image``).

        Returns those with similarity >= ``threshold`` (the backend's calibrated
        default when None), best first, at most ``max_count``, each with its metadata.
        A stored query image is not among its own results. ``where`` (a metadata filter)
        and ``collection`` restrict the candidates before the search, so the answer is
        the best matches among them.
        """
        query = self._query(image_id, image, "image_id", "image")
        threshold, max_count = self._limits(threshold, max_count)
        query_key = ("id", query) if isinstance(query, str) else ("data", query.sha256)
        return self._narrowed_search(
            "find_similar_images",
            (query_key, threshold, max_count),
            lambda within: self.system.backend.find_similar(self.ref, query, threshold, max_count, within),
            where=where,
            collection=collection,
            query=query if isinstance(query, str) else None,
            details={"threshold": threshold, "max_count": max_count},
        )

    def _narrowed_search(
        self,
        operation: str,
        key: tuple[Hashable, ...],
        search: Callable[[frozenset[str] | None], Sequence[SearchResult]],
        *,
        where: Filter | None,
        collection: str | None,
        query: str | None,
        details: Mapping[str, Any],
    ) -> list[SearchResult]:
        """A cached ``search`` among the images ``where`` and ``collection`` leave (none
        left: no results, and the backend is not asked), best first, with metadata; the
        filter completes the cache ``key``."""

        def compute() -> list[SearchResult]:
            within = self._within(where, collection)
            if within is not None and not within:
                return []
            return self._ranked(self._with_metadata(search(within)))

        key = (*key, self._filter_key(where, collection))
        return self._cached(operation, key, compute, lambda results: results, query, details)

    def find_duplicates(
        self,
        threshold: float | None = None,
        *,
        where: Filter | None = None,
        collection: str | None = None,
        progress: Progress | None = None,
    ) -> list[DuplicateGroup]:
        """Groups of near-duplicate images at ``threshold`` (the backend's duplicate
        threshold when None), among the images the filter and collection select.

        ``progress(done, total)`` is called as a long run advances, when the backend
        can tell (the local backend can: its units are steps of its self-join, each
        image counted twice): ``total`` is fixed for the run and ``done`` never goes
        back. It always ends with ``done == total``: with ``(1, 1)`` when the backend
        reported nothing (an answer from the cache, a backend that cannot tell)."""
        self._capable(Capability.DUPLICATES, "find_duplicates")
        level = check_threshold(self.system.backend.duplicate_threshold if threshold is None else threshold)
        last = [0, 0]  # the last (done, total) the backend reported

        def reported(done: int, total: int) -> None:
            if progress is not None and total > 0 and last[0] <= done <= total:
                last[:] = [done, total]
                progress(done, total)

        def compute() -> list[DuplicateGroup]:
            within = self._within(where, collection)
            if within is not None and len(within) < 2:
                return []
            found = self.system.backend.find_duplicates(self.ref, level, within, progress=reported)
            groups = self._respect_declined(found, level)
            return [kept for group in groups if len((kept := self._recorded(group)).images) > 1]

        answer = self._cached(
            "find_duplicates",
            (level, self._filter_key(where, collection)),
            compute,
            lambda groups: [result for group in groups for result in group.images],
            None,
            {"threshold": level},
        )
        if progress is not None and (last[1] == 0 or last[0] < last[1]):
            progress(*((last[1], last[1]) if last[1] else (1, 1)))
        return answer

    def _recorded(self, group: DuplicateGroup) -> DuplicateGroup:
        """The group with metadata attached, without members the catalog does not hold."""
        images = self._with_metadata(group.images)
        if not group.links:
            return DuplicateGroup(tuple(images))
        link = dict(zip(group.image_ids, group.links, strict=True))
        return DuplicateGroup(tuple(images), tuple(link[result.image_id] for result in images))

    def mark_not_duplicates(self, image_id: str, other_id: str) -> None:
        """Record that two stored images are not duplicates: from now on no duplicate
        group holds both, whatever backend or interface asks."""
        if check_id(image_id) == check_id(other_id):
            raise InvalidArgumentError("an image cannot be declared not a duplicate of itself")
        self._require(image_id)
        self._require(other_id)
        self.system.catalog.add_not_duplicates(self.name, image_id, other_id)

    def unmark_not_duplicates(self, image_id: str, other_id: str) -> bool:
        """Forget a "not duplicates" decision; whether there was one."""
        return self.system.catalog.remove_not_duplicates(self.name, check_id(image_id), check_id(other_id))

    def not_duplicates(self) -> list[tuple[str, str]]:
        """The pairs declared not duplicates, each with the smaller id first, sorted."""
        return self.system.catalog.not_duplicates(self.name)

    def _respect_declined(self, groups: Sequence[DuplicateGroup], level: float) -> list[DuplicateGroup]:
        """The backend's groups, re-partitioned where a declined pair falls inside one."""
        declined = {frozenset(pair) for pair in self.not_duplicates()}
        if not declined:
            return list(groups)
        kept: list[DuplicateGroup] = []
        for group in groups:
            ids = set(group.image_ids)
            if not any(pair <= ids for pair in declined):
                kept.append(group)
                continue
            scores = {result.image_id: result for result in group.images}
            linked = self._linker(level)
            for members in cut_declined(group.image_ids, declined, linked):
                kept.append(_relinked(members, scores, linked, declined))
        return sorted(kept, key=lambda group: group.image_ids[0])

    def _linker(self, level: float) -> _Linker:
        compare = None
        if Capability.COMPARE in self.system.backend.capabilities:
            ref = self.ref

            def compare(a: str, b: str) -> Comparison:
                return self.system.backend.compare(ref, a, b)

        return _Linker(level, compare)

    def compare_images(
        self, image_id: str, other_id: str | None = None, *, other_image: ImageInput | None = None
    ) -> Comparison:
        """Similarity of a stored image to another stored image or to new image data."""
        self._capable(Capability.COMPARE, "compare_images")
        check_id(image_id)
        other = self._query(other_id, other_image, "other_id", "other_image")
        other_key = ("id", other) if isinstance(other, str) else ("data", other.sha256)

        def flatten(comparison: Comparison) -> list[SearchResult]:
            return [
                SearchResult(comparison.other_id or "", comparison.similarity, comparison.distance, comparison.method)
            ]

        return self._cached(
            "compare_images",
            (image_id, other_key),
            lambda: self.system.backend.compare(self.ref, image_id, other),
            flatten,
            image_id,
            {},
        )


def _relinked(
    members: Sequence[str],
    scores: Mapping[str, SearchResult],
    linked: _Linker,
    declined: Collection[frozenset[str]],
) -> DuplicateGroup:
    """A group re-drawn after a cut: each member with its strongest link among the pairs
    compared (or its backend score, when the backend could not compare)."""
    inside = set(members)
    edges = [
        (first, second, comparison)
        for pair, comparison in linked.comparisons.items()
        if pair <= inside and pair not in declined and comparison.similarity >= linked.level
        for first, second in [sorted(pair)]
    ]
    best = strongest_links(edges, lambda comparison: comparison.similarity)
    if len(best) < len(members):
        return DuplicateGroup(tuple(scores[member] for member in members))
    results = [
        SearchResult(member, comparison.similarity, comparison.distance, comparison.method)
        for member in members
        for comparison in [best[member][1]]
    ]
    return DuplicateGroup(tuple(results), tuple(best[member][0] for member in members))
