"""An in-memory backend on 64-bit average hashes, written only against ris_core.

It shows what a third-party backend needs: subclass :class:`ris_core.Backend`, implement
each operation, raise :mod:`ris_core.errors`, and pass the contract suite. Everything
lives in dictionaries guarded by one lock, so it is lost on ``close``.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from PIL import Image

from ris_core import Backend, Capability, errors
from ris_core.backend import Progress, Query
from ris_core.groups import connected_groups, strongest_links
from ris_core.images import ImageData
from ris_core.models import (
    Comparison,
    ContextState,
    ContextStatus,
    DuplicateGroup,
    ImageFeatures,
    SearchResult,
)

__all__ = ["MemoryBackend", "average_hash"]

METHOD = "ahash64 hamming"


def average_hash(image: ImageData) -> int:
    """64 bits: which cells of an 8x8 grey thumbnail are brighter than the mean."""
    grey = image.decode(draft_size=(64, 64)).convert("L").resize((8, 8), Image.Resampling.BOX)
    cells = np.asarray(grey, dtype=np.float64)
    bits = (cells > cells.mean()).flatten()
    return int("".join("1" if bit else "0" for bit in bits), 2)


def _similarity(first: int, second: int) -> tuple[float, float]:
    distance = (first ^ second).bit_count()
    return max(0.0, 100.0 * (1.0 - distance / 32.0)), float(distance)


@dataclass
class _Context:
    images: dict[str, bytes] = field(default_factory=dict)
    hashes: dict[str, int] = field(default_factory=dict)
    tags: dict[str, list[int]] = field(default_factory=dict)


class MemoryBackend(Backend):
    """Average-hash search over dictionaries."""

    name: ClassVar[str] = "memory"
    description: ClassVar[str] = "Example third-party backend: 64-bit average hashes, kept in memory."
    capabilities = frozenset(Capability) - {Capability.PERSISTENT, Capability.REFERENCES}
    default_threshold = 75.0
    duplicate_threshold = 85.0

    def __init__(self) -> None:
        super().__init__()
        self._contexts: dict[str, _Context] = {}
        self._lock = threading.RLock()

    def _context(self, ref: str) -> _Context:
        try:
            return self._contexts[ref]
        except KeyError:
            raise errors.ContextNotFoundError(f"no memory context {ref!r}") from None

    def _hash_of(self, context: _Context, image_id: str) -> int:
        if image_id not in context.images:
            raise errors.ImageNotFoundError(f"no image {image_id!r}")
        if image_id not in context.hashes:
            raise errors.FeaturesNotFoundError(f"image {image_id!r} has no features")
        return context.hashes[image_id]

    def _query_hash(self, context: _Context, query: Query) -> int:
        return self._hash_of(context, query) if isinstance(query, str) else average_hash(query)

    # --- contexts ------------------------------------------------------------------

    def create_context(self, options: Mapping[str, str]) -> str:
        """A new empty context."""
        with self._lock:
            ref = uuid.uuid4().hex
            self._contexts[ref] = _Context()
            return ref

    def delete_context(self, context: str) -> None:
        """Forget the context."""
        with self._lock:
            self._context(context)
            del self._contexts[context]

    def context_exists(self, context: str) -> bool:
        """Whether the context exists."""
        return context in self._contexts

    def context_status(self, context: str) -> ContextStatus:
        """Always idle."""
        self._context(context)
        return ContextStatus(ContextState.IDLE, "Idle")

    # --- images --------------------------------------------------------------------

    def add_image(self, context: str, image_id: str, image: ImageData) -> None:
        """Hash first (a broken image raises before anything is stored)."""
        code = average_hash(image)
        with self._lock:
            ctx = self._context(context)
            if image_id in ctx.images:
                raise errors.ImageExistsError(f"image {image_id!r} already exists")
            ctx.images[image_id], ctx.hashes[image_id] = image.data, code

    def update_image(self, context: str, image_id: str, image: ImageData) -> None:
        """Replace bytes and hash."""
        code = average_hash(image)
        with self._lock:
            ctx = self._context(context)
            if image_id not in ctx.images:
                raise errors.ImageNotFoundError(f"no image {image_id!r}")
            ctx.images[image_id], ctx.hashes[image_id] = image.data, code

    def get_image(self, context: str, image_id: str) -> bytes:
        """The stored bytes."""
        ctx = self._context(context)
        if image_id not in ctx.images:
            raise errors.ImageNotFoundError(f"no image {image_id!r}")
        return ctx.images[image_id]

    def delete_image(self, context: str, image_id: str) -> None:
        """Forget bytes and hash."""
        with self._lock:
            ctx = self._context(context)
            if ctx.images.pop(image_id, None) is None:
                raise errors.ImageNotFoundError(f"no image {image_id!r}")
            ctx.hashes.pop(image_id, None)

    # --- features ------------------------------------------------------------------

    def create_features(self, context: str, image_id: str, image: ImageData | None) -> None:
        """Hash ``image`` or the stored bytes."""
        from ris_core.images import load_image

        stored = self.get_image(context, image_id)
        code = average_hash(image if image is not None else load_image(stored))
        with self._lock:
            self._context(context).hashes[image_id] = code

    update_features = create_features

    def get_features(self, context: str, image_id: str) -> ImageFeatures:
        """The hash as 8 big-endian bytes."""
        code = self._hash_of(self._context(context), image_id)
        return ImageFeatures(image_id, "ahash64", "1", code.to_bytes(8, "big"), 1, 64)

    def delete_features(self, context: str, image_id: str) -> None:
        """Forget the hash."""
        with self._lock:
            ctx = self._context(context)
            self._hash_of(ctx, image_id)
            del ctx.hashes[image_id]

    def extract_features(self, context: str, image: ImageData) -> ImageFeatures:
        """Hash without storing."""
        self._context(context)
        return ImageFeatures(None, "ahash64", "1", average_hash(image).to_bytes(8, "big"), 1, 64)

    # --- search --------------------------------------------------------------------

    def _rank(self, scores: dict[str, tuple[float, float]], threshold: float, max_count: int) -> list[SearchResult]:
        ranked = sorted(
            (
                SearchResult(image_id, similarity, distance, METHOD)
                for image_id, (similarity, distance) in scores.items()
                if similarity >= threshold
            ),
            key=lambda result: (-result.similarity, result.image_id),
        )
        return ranked[:max_count]

    def find_similar(
        self,
        context: str,
        query: Query,
        threshold: float,
        max_count: int,
        within: frozenset[str] | None,
    ) -> list[SearchResult]:
        """Scan every hash."""
        with self._lock:
            ctx = self._context(context)
            code = self._query_hash(ctx, query)
            scores = {
                image_id: _similarity(code, other)
                for image_id, other in ctx.hashes.items()
                if image_id != query and (within is None or image_id in within)
            }
        return self._rank(scores, threshold, max_count)

    def find_duplicates(
        self, context: str, threshold: float, within: frozenset[str] | None, progress: Progress | None = None
    ) -> list[DuplicateGroup]:
        """Connected components of the pairs at or above the threshold (no progress:
        the pairs are scored in one pass too short to report on)."""
        with self._lock:
            hashes = {k: v for k, v in self._context(context).hashes.items() if within is None or k in within}
        ids = sorted(hashes)
        scored = (
            (first, second, _similarity(hashes[first], hashes[second]))
            for i, first in enumerate(ids)
            for second in ids[i + 1 :]
        )
        pairs = [(first, second, score) for first, second, score in scored if score[0] >= threshold]
        # Each member's score is its strongest link to the group, never below the threshold.
        links = strongest_links(pairs, lambda score: score[0])
        return [
            DuplicateGroup(
                tuple(SearchResult(member, *links[member][1], METHOD) for member in group),
                tuple(links[member][0] for member in group),
            )
            for group in connected_groups((first, second) for first, second, _ in pairs)
        ]

    def compare(self, context: str, image_id: str, other: Query) -> Comparison:
        """Hamming distance of the two hashes."""
        with self._lock:
            ctx = self._context(context)
            similarity, distance = _similarity(self._hash_of(ctx, image_id), self._query_hash(ctx, other))
        return Comparison(image_id, other if isinstance(other, str) else None, similarity, distance, METHOD)

    # --- tags ----------------------------------------------------------------------

    def create_tag(self, context: str, tag: str, images: Sequence[ImageData]) -> None:
        """Keep the reference images' hashes."""
        codes = [average_hash(image) for image in images]
        with self._lock:
            self._context(context).tags.setdefault(tag, []).extend(codes)

    def find_by_tags(
        self,
        context: str,
        tags: Sequence[str],
        threshold: float,
        max_count: int,
        within: frozenset[str] | None,
    ) -> list[SearchResult]:
        """Each image scored by its best reference."""
        with self._lock:
            ctx = self._context(context)
            missing = [tag for tag in tags if tag not in ctx.tags]
            if missing:
                raise errors.TagNotFoundError(f"no tag {missing[0]!r}")
            references = [code for tag in tags for code in ctx.tags[tag]]
            scores = {
                image_id: max((_similarity(ref, code) for ref in references), key=lambda s: s[0])
                for image_id, code in ctx.hashes.items()
                if within is None or image_id in within
            }
        return self._rank(scores, threshold, max_count)
