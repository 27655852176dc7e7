"""The seam between the local backend and the way it computes and indexes features.

An :class:`Engine` turns image pixels into a feature blob, scores two blobs, and makes
a :class:`FeatureIndex` that answers nearest-neighbour and self-join queries over many
blobs. The backend stores blobs (tagged with ``algorithm`` and ``version``) and never
looks inside them, so a better engine replaces this one without touching the API or
the store.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from ris_core.images import ImageData

__all__ = [
    "BlobReader",
    "Engine",
    "ExtractedQuery",
    "FeatureIndex",
    "Hit",
    "Progress",
    "QueryFeatures",
    "Score",
    "remembering",
]

#: Integer keys the backend assigns to images (their row ids).
Keys = npt.NDArray[np.int64]
#: Reads stored blobs by key (the backend's store), for an index that keeps less in
#: memory than a blob holds.
BlobReader = Callable[[Sequence[int]], Mapping[int, bytes]]
#: ``progress(done, total)``: how far a long self-join has come, in units the index
#: chooses; ``total`` stays the same through one run and ``done`` never goes back.
Progress = Callable[[int, int], None]


def remembering(blobs: BlobReader) -> BlobReader:
    """``blobs`` that reads each key once (for the several looks of one query)."""
    seen: dict[int, bytes] = {}

    def read(keys: Sequence[int]) -> Mapping[int, bytes]:
        missing = [key for key in keys if key not in seen]
        if missing:
            seen.update(blobs(missing))
        return {key: seen[key] for key in keys if key in seen}

    return read


@dataclass(frozen=True, slots=True)
class Score:
    """How alike two images are: similarity 0..100, the raw distance, and the method."""

    similarity: float
    distance: float
    method: str


@dataclass(frozen=True, slots=True)
class Hit:
    """A scored index entry."""

    key: int
    score: Score


class QueryFeatures(abc.ABC):
    """A query image's features, computed only as far as its search needs them.

    An engine whose cheap features can settle a query (the robust engine's hash codes)
    returns one from :meth:`Engine.query` that holds the decoded image and those cheap
    features. The backend asks its index's :meth:`FeatureIndex.search_settled` first, and
    only when that cannot settle the search asks for :meth:`blob` (the whole extraction,
    from that same decode) and searches with it. The results are the same either way;
    only the work differs.
    """

    @abc.abstractmethod
    def blob(self) -> bytes:
        """The whole feature blob, as :meth:`Engine.extract` makes it (computed once)."""

    @property
    @abc.abstractmethod
    def extracted(self) -> bool:
        """Whether :meth:`blob` has been computed (or was given)."""


class ExtractedQuery(QueryFeatures):
    """A query whose whole blob is already known (cached, stored, or extracted at once)."""

    def __init__(self, blob: bytes) -> None:
        self._blob = blob

    def blob(self) -> bytes:
        """The blob it was made with."""
        return self._blob

    @property
    def extracted(self) -> bool:
        """Always true."""
        return True


class FeatureIndex(abc.ABC):
    """An in-memory index over feature blobs, keyed by integer."""

    @abc.abstractmethod
    def add(self, keys: Sequence[int], blobs: Sequence[bytes]) -> None:
        """Insert (or replace) the blobs under their keys."""

    @abc.abstractmethod
    def remove(self, keys: Sequence[int]) -> None:
        """Remove the keys; unknown keys are ignored."""

    @abc.abstractmethod
    def __len__(self) -> int:
        """How many keys the index holds."""

    @abc.abstractmethod
    def search(
        self, blob: bytes, threshold: float, max_count: int, allowed: Keys | None, blobs: BlobReader | None = None
    ) -> list[Hit]:
        """Entries scoring >= ``threshold``, best first (ties by key), at most
        ``max_count``, restricted to the ``allowed`` keys when given. An index may read
        the stored ``blobs`` of a few candidates to look closer."""

    def search_settled(
        self, query: QueryFeatures, threshold: float, max_count: int, allowed: Keys | None
    ) -> list[Hit] | None:
        """:meth:`search`'s hits for ``query`` when what it has extracted so far settles
        the search, else None (the caller then searches with its whole blob). An index
        must return exactly what :meth:`search` would, or None; this default always
        returns None."""
        return None

    @abc.abstractmethod
    def pairs(
        self,
        threshold: float,
        allowed: Keys | None,
        blobs: BlobReader | None = None,
        progress: Progress | None = None,
    ) -> Iterable[tuple[int, int, Score]]:
        """Every pair of distinct keys scoring >= ``threshold`` (each pair once). An
        index may read the stored ``blobs`` to score with each image's full features,
        and may report how far it has come to ``progress`` (an index that cannot still
        accepts the argument)."""

    def to_blocks(self) -> dict[str, bytes] | None:
        """The whole index as a few named byte blocks, for a store to save as large
        BLOBs and reopen without re-adding one blob per image; None when this index
        cannot (the backend then rebuilds it from the stored blobs)."""
        return None

    def load_blocks(self, blocks: Mapping[str, bytes | bytearray]) -> None:
        """Replace the contents with blocks from :meth:`to_blocks` (ValueError if they
        were written by another layout)."""
        raise NotImplementedError(f"{type(self).__name__} does not load index blocks")


class Engine(abc.ABC):
    """Feature extraction, scoring and indexing for the local backend."""

    #: Stored with every blob; a mismatch on reopen means the blob must be recomputed.
    algorithm: ClassVar[str]
    version: ClassVar[str]
    #: Calibrated thresholds on the 0..100 scale (see BENCHMARKS.md).
    default_threshold: ClassVar[float]
    duplicate_threshold: ClassVar[float]

    @abc.abstractmethod
    def extract(self, image: ImageData) -> bytes:
        """Decode ``image`` and compute its feature blob."""

    def query(self, image: ImageData) -> QueryFeatures:
        """A query's features for :meth:`FeatureIndex.search_settled`. By default the whole
        blob at once; an engine may decode here and extract the rest only when asked."""
        return ExtractedQuery(self.extract(image))

    @abc.abstractmethod
    def describe(self, blob: bytes) -> tuple[int, int]:
        """``(feature count, bits per feature)`` of a blob, for ImageFeatures."""

    @abc.abstractmethod
    def compare(self, first: bytes, second: bytes) -> Score:
        """Score two blobs."""

    @abc.abstractmethod
    def new_index(self) -> FeatureIndex:
        """An empty index for this engine's blobs."""
