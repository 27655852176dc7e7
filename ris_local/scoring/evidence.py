"""What is known about one candidate pair: the evidence the decision is made from.

Gathered by :func:`ris_local.scoring.gather.gather` from the two pictures' features
alone (never from the rest of the index), so the same pair always has the same
evidence, whichever operation asks and whatever else is stored. Built by hand, it is
also how the decision is tested: a table of evidence in, decision out.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Evidence", "KeypointEvidence", "RegionEvidence", "ThumbnailLook"]


@dataclass(frozen=True, slots=True)
class KeypointEvidence:
    """The best geometric verification of the pair's keypoints (either way round,
    mirrored or not): distinct inliers, the tentative matches they were found among
    (their number sets the chance level), the share of the smaller frame the other
    covers under the fitted transform, the inliers' hull over that shared area,
    whether the colours carried through the transform clash (or a trimmed border lands
    on detail), the transform's scale (query side to stored side), and how much of the
    smaller picture agrees with the other through the transform."""

    inliers: int
    tentative: int
    coverage: float
    spread: float
    colours_clash: bool = False
    borders_clash: bool = False
    scale: float = 1.0
    #: The share of the smaller picture's cells (visible under the transform, with
    #: detail) whose grey agrees with the other's, and how many there were (see
    #: :mod:`ris_local.scoring.content`); ``(1.0, 0)`` when not looked at (a match too weak
    #: for it to matter, or no thumbnails).
    content_agreement: float = 1.0
    content_cells: int = 0


@dataclass(frozen=True, slots=True)
class ThumbnailLook:
    """One correlation of one side's grey thumbnail inside the other's: whether that
    side's centre code agreed with the other's DCT code (a lower bar), and whether the
    thumbnail was turned a few degrees (tried only when no upright look matched)."""

    correlation: float
    centre_agrees: bool = False
    turned: bool = False


@dataclass(frozen=True, slots=True)
class RegionEvidence:
    """The closest a proposed region of one side (a rectangle that looks like a picture
    pasted into a layout, see :mod:`ris_local.features.regions`) came to the other
    side's whole picture by hash: the summed DCT + gradient distance (0..128, the best
    of direct and either side mirrored, as for the whole pictures) and that region's
    share of its own frame's area."""

    distance: int
    share: float


@dataclass(frozen=True, slots=True)
class Evidence:
    """Everything the decision weighs about one pair.

    ``hash_distance`` is the summed DCT + gradient Hamming distance (0..128), the best of
    the direct and the mirrored codes; ``flat`` says a side's DCT code has no detail;
    ``keypoint_counts`` are each side's keypoints (their silence counts only when both
    have plenty); ``keypoints`` is ``None`` when nothing verified (or when the hash was
    sure and nothing was looked at); ``thumbnails`` are the thumbnail looks made;
    ``region`` is the closest region of either side to the other side whole (``None``
    when neither side has a region with detail, or the hash was sure).
    """

    hash_distance: int
    flat: bool = False
    keypoint_counts: tuple[int, int] = (0, 0)
    keypoints: KeypointEvidence | None = None
    thumbnails: tuple[ThumbnailLook, ...] = ()
    region: RegionEvidence | None = None
