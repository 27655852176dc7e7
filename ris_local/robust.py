"""The default local engine: hash codes for the easy cases, ORB keypoints for the rest.

:class:`RobustEngine` extracts, per image, four 64-bit hash codes (a DCT and a gradient
hash of the picture inside its borders, and of its mirror), ORB keypoints (up to 400 of
the picture at each of two scales and 400 of its mirror, quantised to a 65,536-word
vocabulary), a grey thumbnail, centre codes and a chroma map (the layout is in
:mod:`ris_local.features.layout`).

Every operation scores a pair the same way: the index only proposes candidates
(:mod:`ris_local.index.cascade`), and each candidate pair is scored from its own evidence
(:func:`ris_local.scoring.gather.gather`) by the one decision
(:func:`ris_local.scoring.decision.decide`). A search, ``find_duplicates`` and
``compare`` therefore give a pair one score, whatever else is stored and in whatever
order the work is done (``docs/scoring.md``). Thresholds come from the benchmark's
calibration (BENCHMARKS.md); :mod:`ris_core.calibration` derives them from other
labelled pairs.

:class:`HashStageEngine` is the hash look alone: the same codes, no keypoints, for
collections where crops and rotations do not matter and ingest speed does.
"""

from __future__ import annotations

from typing import ClassVar

from ris_core.images import ImageData
from ris_local.engine import Engine, ExtractedQuery, QueryFeatures, Score
from ris_local.features import layout
from ris_local.features.layout import Features, KeypointSet
from ris_local.features.staged import StagedQuery
from ris_local.index.scored import RobustIndex, score_of
from ris_local.scoring.decision import decide
from ris_local.scoring.gather import gather
from ris_local.scoring.policy import POLICY
from ris_local.workers import check_workers

__all__ = ["HashStageEngine", "RobustEngine"]


class RobustEngine(Engine):
    """Hash codes plus ORB keypoints, searched as a cascade (see the module docstring)."""

    algorithm: ClassVar[str] = "ris-hash+orb"
    #: 7: every operation scores a pair by the one decision (the scores of 6 differed
    #: between search, duplicates and compare). 8: every view comes from one decode
    #: (issue 14), which moves the hash codes and chroma maps a little. 9: gather gates its
    #: looks on the pair's own evidence. 10: containment and heavy crops (issue 13): wider
    #: scales, coarse keypoints indexed, more keypoints in the blob, the border and
    #: repetition checks (blob layout 6). 11: scores change, not stored bytes: scales
    #: 0.18-5.5 with no weak consensus past ``far_scale``, and the rival counted in
    #: distinct keypoints for a match strong beyond doubt (branch acc3). 12: region
    #: proposals (a collage's half, a screenshot's photo, a picture pasted on another)
    #: with their hash codes in the blob (layout 7) and scored as a look of their own;
    #: a strong keypoint match whose content disagrees through its transform (a shared
    #: part, not the picture) scores a weak consensus at most. 13: the codes and centre
    #: codes come from one small reduction of the hash view (``layout.HASH_BASE``), and
    #: the chroma map is reduced before its colour conversion, each by halvings first
    #: (``decoding.area_resize``): cheaper, and a few bits of a large picture's codes move.
    #: 14: the mirrored keypoints come from the normal corner search, mirrored, with their
    #: descriptors computed on the mirror image (``keypoints.detect_with_mirror``): the
    #: same descriptors where both find a keypoint, 65-98% of the same keypoints.
    #: 15: the proposed regions small enough to be a pasted picture keep their own
    #: keypoints (``layout.REGION_KEYPOINTS`` each, found on the region alone), looked up
    #: as a sub-query when nothing verified well and weighed by the pair's evidence.
    version: ClassVar[str] = "15"
    default_threshold: ClassVar[float] = 70.0
    duplicate_threshold: ClassVar[float] = 80.0

    def __init__(
        self, always_verify: bool = False, keypoint_duplicates: bool = True, duplicate_workers: int | None = None
    ) -> None:
        self.always_verify, self.keypoint_duplicates = always_verify, keypoint_duplicates
        #: Processes that score ``find_duplicates``' candidate pairs (None: one per usable
        #: core; 1: the calling process alone); the pairs and scores are the same.
        self.duplicate_workers = check_workers(duplicate_workers)

    def extract(self, image: ImageData) -> bytes:
        """Decode at reduced scale and extract every look's features."""
        return layout.to_blob(layout.extract(image))

    def query(self, image: ImageData) -> QueryFeatures:
        """The query decoded and hashed; the rest is extracted only if its search needs it."""
        return StagedQuery(image)

    def describe(self, blob: bytes) -> tuple[int, int]:
        """``(keypoints + 2 hash codes, 256)``: ORB descriptors are 256-bit."""
        f = layout.from_blob(blob)
        return len(f.normal.packed) + 2, 256

    def compare(self, first: bytes, second: bytes) -> Score:
        """The pair's score: its evidence, gathered from both blobs, decided as a search
        and ``find_duplicates`` decide it (the order of the two does not matter)."""
        a, b = layout.from_blob(first), layout.from_blob(second)
        return score_of(decide(gather(a, b, POLICY), POLICY), POLICY)

    def new_index(self) -> RobustIndex:
        """An empty cascade index."""
        return RobustIndex(self.always_verify, self.keypoint_duplicates, duplicate_workers=self.duplicate_workers)


class HashStageEngine(RobustEngine):
    """The hash look alone: four codes per image, no keypoints, no thumbnails."""

    algorithm: ClassVar[str] = "ris-hash"
    #: 5: the mirrored distance counts either side's mirror, as the robust engine's does.
    #: 6: a PNG or WebP is reduced like a JPEG draft before it is hashed (issue 14).
    #: 7: blob layout 7 (an empty region list), which layout 6's reader refuses.
    version: ClassVar[str] = "7"

    def query(self, image: ImageData) -> QueryFeatures:
        """The whole (hash-only) blob at once: there is nothing to put off."""
        return ExtractedQuery(self.extract(image))

    def extract(self, image: ImageData) -> bytes:
        """Decode small and hash (no keypoints)."""
        codes = layout.extract_hashes(image)
        return layout.to_blob(Features((0, 0), codes, KeypointSet.empty(), 0, KeypointSet.empty()))
