"""The ``aspose`` backend: every operation on Aspose.Imaging Cloud's imageSearch API.

Select it with ``ris_core.open("aspose", client_id=..., client_secret=...)`` (or the
``ASPOSE_CLIENT_ID`` / ``ASPOSE_CLIENT_SECRET`` variables). Context references are the
service's own search-context ids; image ids map to storage paths as
:mod:`ris_aspose.layout` describes. The transport (timeouts, retries, tokens, error
translation) is :class:`ris_aspose.client.AsposeClient`.

How the backend meets the interface where the API falls short (the README's Aspose
section gives the request count of each operation):

* **paths**: every image is named by its full storage path under the ``folder``
  option, and imageSearch calls send no ``folder``, as the vendor's examples do
  (:mod:`ris_aspose.layout`).
* **query by image data**: ``find_similar_images`` and ``extract_image_features`` are
  GETs, and the SDK silently drops image data on GETs. The query is uploaded to the
  scratch folder, searched by ``imageId``, and deleted afterwards; a deletion that
  fails is retried later, and stale scratch files are swept on open and after searches.
* **exact results**: the service cannot exclude the query, restrict to ``within`` or
  break ties by id, and its cut to ``maxCount`` may not be the best N; each search asks
  for everything above the threshold and ranks it itself (:mod:`ris_aspose.ranking`).
* **duplicates**: one ``findDuplicates`` request, under its own ``duplicates_timeout``;
  groups and similarities are the service's own (the first image by id scores 100).
  A timed-out request is retried only once the context is idle again. With ``within``,
  a group that lost members outside it is checked pair by pair with ``compare``.
* **tags**: the API cannot list tags and does not say whether a second ``addTag`` adds
  or replaces, so each reference image is registered under its own tag name
  (``tag#0``, ``tag#1``...) and a marker file records the tag and its count. Tags are
  searched one reference at a time and merged (best score per image).
* **asynchronous writes**: every write polls the context status until ``Idle``; a
  write the service accepted is never undone because the context stays busy: after
  ``status_timeout`` it returns, and the context reports it pending until idle.
* **deadlines**: each operation has one deadline (the ``deadline`` option) covering
  its requests, retries, waits and clean-ups.
* **bad images** are refused before anything is uploaded: the pixels are decoded
  locally once, so a truncated file never reaches storage.

Known limits: ris preprocessing steps cannot run in the cloud (the service sees the
original bytes; a warning says so when the chain is not the default); tags cannot be
deleted, so a ``create_tag`` that fails after some references were sent keeps those;
a retried ``create_context`` whose first answer was lost may leave an empty context.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from asposeimagingcloud.models import requests as rq

from ris_aspose import responses
from ris_aspose.base import AsposeBase, operation
from ris_aspose.ranking import Match, best_matches, merge_best
from ris_aspose.translate import malformed
from ris_core.backend import Progress, Query
from ris_core.errors import (
    BackendError,
    ContextNotFoundError,
    FeaturesNotFoundError,
    ImageExistsError,
    ImageNotFoundError,
    NotFoundError,
    RisError,
    TagNotFoundError,
)
from ris_core.groups import connected_groups, strongest_links
from ris_core.images import ImageData
from ris_core.models import (
    Comparison,
    DuplicateGroup,
    ImageFeatures,
    SearchResult,
)

__all__ = ["FEATURES_ALGORITHM", "FEATURES_VERSION", "METHOD", "AsposeBackend"]

logger = logging.getLogger("ris_aspose")

#: How results say where their score came from.
METHOD = "aspose imageSearch akaze"
#: What :meth:`AsposeBackend.get_features` reports as the features' maker.
FEATURES_ALGORITHM = "akaze"
FEATURES_VERSION = "imagesearch-v3.0"
#: The service reports no distances; one shared NaN keeps equal results equal.
NO_DISTANCE = math.nan


class AsposeBackend(AsposeBase):
    """Aspose.Imaging Cloud imageSearch, through the official SDK."""

    # --- search contexts ---------------------------------------------------------

    @operation()
    def create_context(self, options: Mapping[str, str]) -> str:
        """Create a search context in the service; its id is the reference."""
        request = rq.CreateImageSearchRequest(
            detector=options.get("detector"), matching_algorithm=options.get("matching_algorithm"), **self._scope()
        )
        return self._call(
            "create context", lambda api: responses.context_id(api.create_image_search(request), "create context")
        )

    @operation()
    def delete_context(self, context: str) -> None:
        """Delete the search context, then the storage folder holding its images."""
        request = rq.DeleteImageSearchRequest(context, **self._scope())
        self._call("delete context", lambda api: api.delete_image_search(request), ContextNotFoundError)
        folder = rq.DeleteFolderRequest(
            self.layout.context_folder(context), storage_name=self.settings.storage, recursive=True
        )
        try:
            self._call("delete context folder", lambda api: api.delete_folder(folder))
        except NotFoundError:
            pass
        except RisError as exc:
            logger.warning("context %s deleted, but not its storage folder: %s", context, exc)
        with self._lock:
            self._pending.pop(context, None)

    @operation()
    def context_exists(self, context: str) -> bool:
        """Whether the service knows the context (False however it says it does not)."""
        try:
            self.context_status(context)
        except ContextNotFoundError:
            return False
        return True

    # --- images ------------------------------------------------------------------

    @operation()
    def add_image(self, context: str, image_id: str, image: ImageData) -> None:
        """Store and index the image at its storage path; undone if the add fails, never
        because the context stays busy afterwards (the add is then pending)."""
        self._check_pixels(image)
        path = self.layout.image_path(context, image_id)
        if self._exists(path):
            raise ImageExistsError(f"image {image_id!r} is already stored; use update_image() to replace it")
        try:
            with self.client.upload(image.data, self.layout.suffix(image.format)) as file:
                request = rq.AddSearchImageRequest(context, path, image_data=file, **self._scope())
                self._call("add image", lambda api: api.add_search_image(request), ContextNotFoundError)
        except BaseException:
            self._forget(context, path)
            raise
        self._settle(context)

    def _forget(self, context: str, path: str) -> None:
        request = rq.DeleteSearchImageRequest(context, path, **self._scope())
        with contextlib.suppress(RisError):
            self._call("undo add image", lambda api: api.delete_search_image(request))
        self._delete_file(path, "undo add image")

    @operation()
    def update_image(self, context: str, image_id: str, image: ImageData) -> None:
        """Replace the stored bytes and their features."""
        self._check_pixels(image)
        path = self._existing(context, image_id)
        with self.client.upload(image.data, self.layout.suffix(image.format)) as file:
            update = rq.UpdateSearchImageRequest(context, path, image_data=file, **self._scope())
            try:
                self._call("update image", lambda api: api.update_search_image(update))
            except ImageNotFoundError:
                # In our storage folder but not in the index: an add cut short between the
                # two (the core adopts such images through update). Index it again.
                add = rq.AddSearchImageRequest(context, path, image_data=file, **self._scope())
                self._call("update image", lambda api: api.add_search_image(add), ContextNotFoundError)
        self._settle(context)

    @operation()
    def get_image(self, context: str, image_id: str) -> bytes:
        """The stored bytes, read straight from the answer (no shared temporary file)."""
        request = rq.GetSearchImageRequest(context, self.layout.image_path(context, image_id), **self._scope())
        return self._call("get image", lambda api: self.client.download(api, request, "get image"))

    @operation()
    def delete_image(self, context: str, image_id: str) -> None:
        """Remove the image from the context and from storage."""
        path = self.layout.image_path(context, image_id)
        request = rq.DeleteSearchImageRequest(context, path, **self._scope())
        self._call("delete image", lambda api: api.delete_search_image(request))
        self._delete_file(path, "delete image")
        self._settle(context)

    # --- features ----------------------------------------------------------------

    @operation()
    def create_features(self, context: str, image_id: str, image: ImageData | None) -> None:
        """Extract features from ``image`` or, if None, from the stored bytes."""
        path = self._existing(context, image_id)

        def send(api: Any, file: str | None) -> None:
            api.create_image_features(
                rq.CreateImageFeaturesRequest(context, image_data=file, image_id=path, **self._scope())
            )

        self._write_features("create features", context, image, send)

    @operation()
    def update_features(self, context: str, image_id: str, image: ImageData | None) -> None:
        """Replace the features, from ``image`` or, if None, from the stored bytes."""
        path = self._existing(context, image_id)

        def send(api: Any, file: str | None) -> None:
            api.update_image_features(rq.UpdateImageFeaturesRequest(context, path, image_data=file, **self._scope()))

        self._write_features("update features", context, image, send)

    def _write_features(
        self, what: str, context: str, image: ImageData | None, send: Callable[[Any, str | None], None]
    ) -> None:
        """``send`` the features request with the image file (None: the stored bytes)."""
        if image is None:
            self._call(what, lambda api: send(api, None))
        else:
            self._check_pixels(image)
            with self.client.upload(image.data, self.layout.suffix(image.format)) as file:
                self._call(what, lambda api: send(api, file))
        self._settle(context)

    @operation()
    def get_features(self, context: str, image_id: str) -> ImageFeatures:
        """The service's features, base64-decoded, labelled ``akaze``."""
        path = self.layout.image_path(context, image_id)
        request = rq.GetImageFeaturesRequest(context, path, **self._scope())
        with self._features_missing(path):
            data, count, bits = self._call(
                "get features", lambda api: responses.features(api.get_image_features(request), "get features")
            )
        return ImageFeatures(image_id, FEATURES_ALGORITHM, FEATURES_VERSION, data, count, bits)

    @operation()
    def delete_features(self, context: str, image_id: str) -> None:
        """Delete the features; the image stays in storage."""
        path = self.layout.image_path(context, image_id)
        request = rq.DeleteImageFeaturesRequest(context, path, **self._scope())
        with self._features_missing(path):
            self._call("delete features", lambda api: api.delete_image_features(request))
        self._settle(context)

    @contextlib.contextmanager
    def _features_missing(self, path: str) -> Iterator[None]:
        """A bare 404 on features: FeaturesNotFoundError if the image itself exists."""
        try:
            yield
        except ImageNotFoundError as exc:
            if self._exists(path):
                raise FeaturesNotFoundError(f"{path} has no features; create them first") from exc
            raise

    @operation()
    def extract_features(self, context: str, image: ImageData) -> ImageFeatures:
        """Features of new data: uploaded to scratch, extracted by id, deleted."""
        self._check_pixels(image)
        with self._scratch(image) as path:
            request = rq.ExtractImageFeaturesRequest(context, path, **self._scope())
            data, count, bits = self._call(
                "extract features",
                lambda api: responses.features(api.extract_image_features(request), "extract features"),
                ContextNotFoundError,
            )
        return ImageFeatures(None, FEATURES_ALGORITHM, FEATURES_VERSION, data, count, bits)

    # --- search ------------------------------------------------------------------

    @operation()
    def find_similar(
        self,
        context: str,
        query: Query,
        threshold: float,
        max_count: int,
        within: frozenset[str] | None,
    ) -> list[SearchResult]:
        """The exact best matches; new data is searched through a scratch upload."""
        if isinstance(query, str):
            path = self.layout.image_path(context, query)
            matches = self._similar(context, path, threshold, max_count, within, query)
        else:
            self._check_pixels(query)
            with self._scratch(query) as path:
                matches = self._similar(context, path, threshold, max_count, within, None)
        return [SearchResult(image_id, score, NO_DISTANCE, METHOD) for image_id, score in matches]

    def _similar(
        self,
        context: str,
        path: str,
        threshold: float,
        max_count: int,
        within: frozenset[str] | None,
        exclude: str | None,
    ) -> list[Match]:
        def fetch(level: float, limit: int) -> list[tuple[str | None, float]]:
            request = rq.FindSimilarImagesRequest(context, level, limit, image_id=path, **self._scope())
            found = self._call(
                "find similar", lambda api: responses.results(api.find_similar_images(request), "find similar")
            )
            return [(self.layout.image_id(context, image_path), score) for image_path, score in found]

        def keep(image_id: str) -> bool:
            return image_id != exclude and (within is None or image_id in within)

        return best_matches(fetch, threshold, max_count, keep, self.settings.max_fetch)

    @operation(lambda settings: settings.deadline + settings.duplicates_timeout)
    def find_duplicates(
        self, context: str, threshold: float, within: frozenset[str] | None, progress: Progress | None = None
    ) -> list[DuplicateGroup]:
        """The service's own groups, from one ``findDuplicates`` request (the service
        says nothing of its progress, so ``progress`` is not called)."""
        request = rq.FindImageDuplicatesRequest(context, threshold, **self._scope())

        def until_idle(failure: BackendError) -> None:
            # The service may still be computing the answer that did not arrive: asking
            # again at once would start the same long job twice.
            self._wait_idle(context)

        found = self._call(
            "find duplicates",
            lambda api: responses.duplicate_groups(api.find_image_duplicates(request), "find duplicates"),
            ContextNotFoundError,
            read_timeout=self.settings.duplicates_timeout,
            before_retry=until_idle,
        )
        groups = []
        for members in found:
            kept = [
                (image_id, score)
                for path, score in members
                if (image_id := self.layout.image_id(context, path)) is not None
                and (within is None or image_id in within)
            ]
            if len(kept) < 2:
                continue
            if len(kept) < len(members):  # linked through images outside `within`, perhaps
                groups.extend(self._regroup(context, sorted(image_id for image_id, _ in kept), threshold))
            else:
                groups.append(self._group(kept))
        return sorted(groups, key=lambda group: group.image_ids[0])

    @staticmethod
    def _group(members: Sequence[tuple[str, float]]) -> DuplicateGroup:
        """A group as the service answered it: each score is that member's similarity to
        the group's first image, so the first image's own link is the best of them."""
        (reference, _), others = members[0], members[1:]
        return _linked(sorted(image_id for image_id, _ in members), [(reference, other, s) for other, s in others])

    def _regroup(self, context: str, members: list[str], threshold: float) -> list[DuplicateGroup]:
        """Split ``members`` into the groups their own links make (compare, pair by pair)."""
        edges = [
            (first, second, score)
            for index, first in enumerate(members)
            for second in members[index + 1 :]
            if (score := self.compare(context, first, second).similarity) >= threshold
        ]
        return [
            _linked(group, [edge for edge in edges if edge[0] in group])
            for group in connected_groups([(first, second) for first, second, _ in edges], frozenset(members))
        ]

    @operation()
    def compare(self, context: str, image_id: str, other: Query) -> Comparison:
        """``compare_images``: a POST, so new data travels in the request itself."""
        path = self.layout.image_path(context, image_id)
        if isinstance(other, str):
            request = rq.CompareImagesRequest(
                context, path, image_id2=self.layout.image_path(context, other), **self._scope()
            )
            score = self._call(
                "compare", lambda api: responses.first_similarity(api.compare_images(request), "compare")
            )
            return Comparison(image_id, other, score, NO_DISTANCE, METHOD)
        self._check_pixels(other)
        with self.client.upload(other.data, self.layout.suffix(other.format)) as file:
            request = rq.CompareImagesRequest(context, path, image_data=file, **self._scope())
            score = self._call(
                "compare", lambda api: responses.first_similarity(api.compare_images(request), "compare")
            )
        return Comparison(image_id, None, score, NO_DISTANCE, METHOD)

    # --- tags --------------------------------------------------------------------

    @operation()
    def create_tag(self, context: str, tag: str, images: Sequence[ImageData]) -> None:
        """Send each reference image under its own tag name, then record the count."""
        for image in images:
            self._check_pixels(image)
        marker = self.layout.tag_marker(context, tag)
        try:
            known = self._references(context, tag)
        except TagNotFoundError:
            known = 0
        for number, image in enumerate(images, start=known):
            with self.client.upload(image.data, self.layout.suffix(image.format)) as file:
                self._send_reference(context, _reference_name(tag, number), file)
        record = json.dumps({"tag": tag, "references": known + len(images)}).encode("utf-8")
        self._upload(marker, record, ".json", "record tag")
        self._settle(context)

    def _send_reference(self, context: str, name: str, file: str) -> None:
        request = rq.CreateImageTagRequest(file, context, name, **self._scope())
        self._call("create tag", lambda api: api.create_image_tag(request), ContextNotFoundError)

    def _references(self, context: str, tag: str) -> int:
        """How many reference images the tag has (TagNotFoundError if it has no marker)."""
        try:
            data = self._download(self.layout.tag_marker(context, tag), "read tag", TagNotFoundError)
        except NotFoundError as exc:
            raise TagNotFoundError(f"no tag {tag!r} in context {context}") from exc
        try:
            count = json.loads(data).get("references")
        except (ValueError, AttributeError):
            count = None
        if not isinstance(count, int) or count < 0:
            raise malformed("read tag", f"the marker of tag {tag!r} holds no reference count")
        return count

    @operation()
    def find_by_tags(
        self,
        context: str,
        tags: Sequence[str],
        threshold: float,
        max_count: int,
        within: frozenset[str] | None,
    ) -> list[SearchResult]:
        """One exact search per reference image of each tag, merged by best score."""
        names = list(dict.fromkeys(tags))
        counts = {}
        for tag in names:
            try:
                counts[tag] = self._references(context, tag)
            except TagNotFoundError:
                raise TagNotFoundError(f"no tag {tag!r} in context {context}") from None
        if within is not None and not within:
            return []
        lists = [
            self._tagged(context, _reference_name(tag, number), threshold, max_count, within)
            for tag in names
            for number in range(counts[tag])
        ]
        return [SearchResult(image_id, score, NO_DISTANCE, METHOD) for image_id, score in merge_best(lists, max_count)]

    def _tagged(
        self, context: str, name: str, threshold: float, max_count: int, within: frozenset[str] | None
    ) -> list[Match]:
        def fetch(level: float, limit: int) -> list[tuple[str | None, float]]:
            # The API takes the tag list as a JSON string; a Python list raises TypeError.
            request = rq.FindImagesByTagsRequest(json.dumps([name]), context, level, limit, **self._scope())
            found = self._call(
                "find by tags",
                lambda api: responses.results(api.find_images_by_tags(request), "find by tags"),
                TagNotFoundError,
            )
            return [(self.layout.image_id(context, path), score) for path, score in found]

        return best_matches(
            fetch, threshold, max_count, lambda image_id: within is None or image_id in within, self.settings.max_fetch
        )


def _reference_name(tag: str, number: int) -> str:
    """The service-side tag name of reference image ``number`` of ``tag``; unambiguous,
    since the number always follows the last ``#``."""
    return f"{tag}#{number}"


def _linked(members: list[str], edges: Sequence[tuple[str, str, float]]) -> DuplicateGroup:
    """``members`` in order, each with its strongest link among ``edges`` (issue 15's rule)."""
    best = strongest_links(edges, float)
    results = [SearchResult(member, best[member][1], NO_DISTANCE, METHOD) for member in members]
    return DuplicateGroup(tuple(results), tuple(best[member][0] for member in members))
