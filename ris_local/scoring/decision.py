"""The one decision: evidence about a pair in, similarity, stage and explanation out.

Search, ``find_duplicates`` and ``compare_images`` all end here, and this is the only
place where the sure hash, the colour veto, the unconfirmed-hash penalty and the
agreement bonus live. The rules, in order (the numbers are :class:`ScoringPolicy`'s):

1. **Hash.** Similarity falls linearly from 100 at distance 0 to 0 at
   ``zero_similarity_bits``; capped at ``flat_similarity`` when a side is flat.
   At ``sure_similarity`` or more the hash settles the pair: nothing else is weighed.
2. **Colour and border veto.** Keypoints that verified but whose colours clash are a
   different picture of the same shapes (two logos of one template); so are keypoints
   whose transform lays one picture's trimmed border over the other's detail (two
   screens of one layout, the shorter one "inside" the longer): similarity 0.
3. **Keypoints.** Inliers are discounted by ``chance * sqrt(tentative)``; the strong
   score needs coverage past ``cover_low`` and spread inliers, a weak consensus scores
   ``weak_low..weak_high`` (never enough alone), and none past ``far_scale``; a match
   whose smaller picture agrees with the other (grey, through the transform) in too few
   of its cells is a shared part, not the picture, and scores ``weak_high`` at most.
4. **Thumbnails**, weighed only when keypoints scored under ``thumbnails_below``: the
   best upright correlation (from ``agreeing_low`` when the centre code agrees, else
   ``thumbnail_low``), turned looks only when upright ones scored under ``turn_below``;
   plus ``agreeing_bonus`` when keypoints also verified, if weakly.
5. **Region.** A proposed region of one side (a picture pasted into a layout: a
   collage's half, a screenshot's photo) within ``region_max_bits`` of the other side
   whole scores by the hash formula; never a sure hash, never penalised (keypoints
   often cannot see a picture pasted at a third of a frame, which is why it is looked at).
6. **Unconfirmed hash.** When both sides have ``confirm_keypoints`` keypoints and
   neither keypoints nor thumbnails confirm anything, the hash loses
   ``unconfirmed_penalty``: two screens of one layout share a hash, not keypoints.
7. The best of the four looks is the similarity, and names the stage.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ris_local.scoring.evidence import Evidence, KeypointEvidence, RegionEvidence, ThumbnailLook
from ris_local.scoring.policy import POLICY, ScoringPolicy

__all__ = [
    "Decision",
    "Stage",
    "decide",
    "hash_similarity",
    "is_flat",
    "keypoint_similarity",
    "partial_overlap",
    "region_similarity",
    "thumbnail_similarity",
    "verified_similarity",
]


class Stage(enum.Enum):
    """The look a similarity came from."""

    HASH = "hash"
    #: The hash look, capped because a side is a flat picture.
    FLAT_HASH = "flat hash"
    KEYPOINTS = "keypoints"
    THUMBNAIL = "thumbnail"
    #: The hash look between a region of one picture and the other picture whole.
    REGION = "region hash"


@dataclass(frozen=True, slots=True)
class Decision:
    """A pair's similarity (0..100), the stage it came from, and why, in words."""

    similarity: float
    stage: Stage
    explanation: str


class _Verified(Protocol):
    @property
    def inliers(self) -> int: ...
    @property
    def tentative(self) -> int: ...
    @property
    def coverage(self) -> float: ...
    @property
    def spread(self) -> float: ...
    @property
    def scale(self) -> float: ...


def is_flat(dct_code: int, policy: ScoringPolicy = POLICY) -> bool:
    """Whether a DCT code is a flat picture's (too few bits set to tell pictures apart)."""
    return int(dct_code).bit_count() < policy.flat_bits


def hash_similarity(distance: int, flat: bool, policy: ScoringPolicy = POLICY) -> float:
    """0..100 from a summed hash distance, capped for a flat picture."""
    sim = min(100.0, max(0.0, 100.0 * (1.0 - distance / policy.zero_similarity_bits)))
    return min(sim, policy.flat_similarity) if flat else sim


def keypoint_similarity(match: _Verified | None, policy: ScoringPolicy = POLICY) -> float:
    """0..100 from a verification: half from inliers (beyond chance, and spread), half
    from coverage, nothing unless both pass their lower bounds; a weaker consensus
    scores ``weak_low..weak_high``, but only within ``far_scale`` (either way)."""
    if match is None:
        return 0.0
    inliers = match.inliers - policy.chance * float(np.sqrt(match.tentative))
    cover = min(1.0, max(0.0, (match.coverage - policy.cover_low) / (policy.cover_high - policy.cover_low)))
    if cover <= 0 or inliers < policy.weak_inliers:
        return 0.0
    far = not 1.0 / policy.far_scale <= match.scale <= policy.far_scale
    if far and inliers < policy.inliers_low:
        return 0.0
    weak = policy.weak_low + (policy.weak_high - policy.weak_low) * min(
        1.0, (inliers - policy.weak_inliers) / (policy.inliers_low - policy.weak_inliers)
    )
    evidence = min(1.0, max(0.0, (inliers - policy.inliers_low) / (policy.inliers_high - policy.inliers_low)))
    evidence *= min(1.0, max(0.0, (match.spread - policy.spread_low) / (policy.spread_high - policy.spread_low)))
    strong = 50.0 + 25.0 * evidence + 25.0 * cover * min(1.0, evidence / policy.evidence_for_cover)
    return float(max(weak, strong))


def region_similarity(region: RegionEvidence | None, policy: ScoringPolicy = POLICY) -> float:
    """0..100 from the closest region: the hash formula, within ``region_max_bits`` only."""
    if region is None or region.distance > policy.region_max_bits or region.share < policy.region_min_share:
        return 0.0
    return hash_similarity(region.distance, False, policy)


def partial_overlap(verified: KeypointEvidence | None, policy: ScoringPolicy = POLICY) -> bool:
    """Whether a verification's smaller picture agrees with the other, through the
    fitted transform, in too few of its cells (``content_agree_low``): the two share a
    part (two overlapping crops, two screens of one template), not the picture."""
    return (
        verified is not None
        and verified.content_cells >= policy.content_min_cells
        and verified.content_agreement < policy.content_agree_low
    )


def verified_similarity(verified: KeypointEvidence | None, policy: ScoringPolicy = POLICY) -> float:
    """The keypoint look of a pair's evidence: :func:`keypoint_similarity`, at most
    ``weak_high`` for a :func:`partial_overlap` (a shared part is a weak consensus)."""
    similarity = keypoint_similarity(verified, policy)
    if partial_overlap(verified, policy):
        return min(similarity, policy.weak_high)
    return similarity


def _correlated(value: float, low: float, policy: ScoringPolicy) -> float:
    if value < low:
        return 0.0
    span = policy.thumbnail_score_high - policy.thumbnail_score_low
    return policy.thumbnail_score_low + span * min(1.0, (value - low) / (1.0 - low))


def upright_similarity(looks: tuple[ThumbnailLook, ...], policy: ScoringPolicy = POLICY) -> float:
    """The best upright thumbnail look, each from its own bar."""
    bars = ((look, policy.agreeing_low if look.centre_agrees else policy.thumbnail_low) for look in looks)
    return max((_correlated(look.correlation, low, policy) for look, low in bars if not look.turned), default=0.0)


def thumbnail_similarity(looks: tuple[ThumbnailLook, ...], policy: ScoringPolicy = POLICY) -> float:
    """The best thumbnail look: upright ones, and turned ones only when no upright one
    reached ``turn_below``."""
    best = upright_similarity(looks, policy)
    if best < policy.turn_below:
        turned = (_correlated(look.correlation, policy.thumbnail_low, policy) for look in looks if look.turned)
        best = max(best, max(turned, default=0.0))
    return best


def decide(evidence: Evidence, policy: ScoringPolicy = POLICY) -> Decision:
    """The pair's similarity, stage and explanation (the rules are in the module docstring)."""
    by_hash = hash_similarity(evidence.hash_distance, evidence.flat, policy)
    hash_stage = Stage.FLAT_HASH if evidence.flat else Stage.HASH
    hash_words = (
        f"dct+gradient hash, capped at {policy.flat_similarity:g}: a flat picture has no detail to match"
        if evidence.flat
        else "dct+gradient hash"
    )
    if by_hash >= policy.sure_similarity:
        return Decision(by_hash, hash_stage, hash_words)
    verified = evidence.keypoints
    if verified is not None and verified.colours_clash:
        return Decision(0.0, Stage.KEYPOINTS, "orb keypoints, colours clash")
    if verified is not None and verified.borders_clash:
        return Decision(0.0, Stage.KEYPOINTS, "orb keypoints, a border lies over the other picture's detail")
    by_keypoints = verified_similarity(verified, policy)
    keypoint_words = "orb keypoints, verified"
    if by_keypoints < keypoint_similarity(verified, policy):
        keypoint_words += ", but the smaller picture agrees with the other in only part of it"
    by_thumbnail = 0.0
    if by_keypoints < policy.thumbnails_below:
        by_thumbnail = thumbnail_similarity(evidence.thumbnails, policy)
        if by_thumbnail > 0 and by_keypoints > 0:
            by_thumbnail = min(100.0, by_thumbnail + policy.agreeing_bonus)
    plentiful = min(evidence.keypoint_counts) >= policy.confirm_keypoints
    if plentiful and by_keypoints <= 0 and by_thumbnail <= 0 and by_hash > 0:
        by_hash = max(0.0, by_hash - policy.unconfirmed_penalty)
        hash_words += f", unconfirmed by keypoints (-{policy.unconfirmed_penalty:g})"
    by_region = region_similarity(evidence.region, policy)
    region_words = ""
    if evidence.region is not None:
        region_words = (
            f"a region of one picture ({100 * evidence.region.share:.0f}% of its frame) matches the other "
            f"picture whole by dct+gradient hash ({evidence.region.distance} bits)"
        )
    looks = (
        (by_hash, hash_stage, hash_words),
        (by_keypoints, Stage.KEYPOINTS, keypoint_words),
        (by_thumbnail, Stage.THUMBNAIL, "grey thumbnail, correlated"),
        (by_region, Stage.REGION, region_words),
    )
    similarity, stage, words = max(looks, key=lambda look: look[0])
    return Decision(similarity, stage, words)
