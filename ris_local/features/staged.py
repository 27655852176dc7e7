"""A query decoded once and hashed at once, whose other features wait until a look needs them.

Most queries of a photo library are settled by the hash look alone (a copy, a resize, a
re-encode): for those, decoding and hashing is the whole cost, and extracting keypoints,
a thumbnail and a chroma map would triple it (issue 18, hashes first). The index asks
:meth:`StagedQuery.hashed` first and :meth:`StagedQuery.features` only when the hash look
did not settle the query.
"""

from __future__ import annotations

from ris_core.images import ImageData
from ris_local.engine import QueryFeatures
from ris_local.features import layout
from ris_local.features.decoding import Decoded
from ris_local.features.layout import Features, KeypointSet

__all__ = ["StagedQuery"]


class StagedQuery(QueryFeatures):
    """A query decoded once and hashed at once; its keypoints, thumbnail and colours are
    extracted from that same decode only when :meth:`features` is first asked for.

    A query the hash stage settles (:meth:`ris_local.index.scored.RobustIndex.search_settled`)
    is answered from :attr:`codes` alone. :meth:`blob` is what
    :meth:`ris_local.robust.RobustEngine.extract` returns for the image, made from the
    decode the codes came from.
    """

    def __init__(self, image: ImageData) -> None:
        self._decoded: Decoded | None = layout.decode_for_extract(image)
        #: The hash codes, as :func:`ris_local.features.layout.extract` computes them.
        self.codes = layout.hashes_decoded(self._decoded)
        self._blob: bytes | None = None
        self._features: Features | None = None

    def hashed(self) -> Features:
        """The query as far as the hash look reads it: its codes, no keypoints."""
        if self._features is not None:
            return self._features
        return Features((0, 0), self.codes, KeypointSet.empty(), 0, KeypointSet.empty())

    def features(self) -> Features:
        """Every look's features, extracted on first call from the one decode."""
        if self._features is None:
            assert self._decoded is not None
            self._blob = layout.to_blob(layout.extract_decoded(self._decoded))
            self._decoded = None  # the pixels are not needed again
            # Through the blob, as a stored or cached query is read (the borders round there).
            self._features = layout.from_blob(self._blob)
        return self._features

    def blob(self) -> bytes:
        """The whole blob, as :meth:`RobustEngine.extract` makes it."""
        self.features()
        assert self._blob is not None
        return self._blob

    @property
    def extracted(self) -> bool:
        """Whether the keypoints (and the rest) have been extracted."""
        return self._blob is not None
