"""Gathering a pair's evidence from the two pictures' features, and nothing else.

:func:`gather` is symmetric (``gather(a, b)`` and ``gather(b, a)`` weigh the same
looks) and reads only the two :class:`~ris_local.features.layout.Features`, so a pair's
evidence, and with it its score, cannot depend on what else is stored or on which side
asked: the pair is put in one canonical order (:func:`canonical`) before any look that
runs one way only. It skips a look where :func:`~ris_local.scoring.decision.decide`
would ignore the result (nothing past a sure hash, no thumbnails past a good keypoint
match or a colour clash, no turned thumbnails past a good upright one) and where the
pair's own evidence makes it implausible (see :func:`_thumbnail_looks`): each look a
false pair is given is one more chance to pass, and most of a search's time.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ris_local.features.hashcodes import HashCodes
from ris_local.features.layout import Features, KeypointSet
from ris_local.index import centres
from ris_local.scoring import colour, content, thumbnails
from ris_local.scoring.decision import (
    hash_similarity,
    is_flat,
    keypoint_similarity,
    upright_similarity,
    verified_similarity,
)
from ris_local.scoring.evidence import Evidence, KeypointEvidence, RegionEvidence, ThumbnailLook
from ris_local.scoring.matches import tentative
from ris_local.scoring.policy import POLICY, ScoringPolicy
from ris_local.scoring.verification import Match, border_over_detail, frame_overlap, verify

__all__ = ["canonical", "gather", "hash_distance", "region_evidence", "verify_sets"]


def _bits(x: int, y: int) -> int:
    return int(x ^ y).bit_count()


def hash_distance(a: Features, b: Features) -> int:
    """The summed DCT + gradient distance: the best of direct, ``a`` mirrored and ``b``
    mirrored (both mirrors, so the distance is the same either way round)."""
    return _codes_distance(a.codes, b.codes)


def _codes_distance(ca: HashCodes, cb: HashCodes) -> int:
    """:func:`hash_distance` of two sets of codes (a picture's, or a region's)."""
    direct = _bits(ca.dct, cb.dct) + _bits(ca.gradient, cb.gradient)
    a_mirrored = _bits(ca.mirrored_dct, cb.dct) + _bits(ca.mirrored_gradient, cb.gradient)
    b_mirrored = _bits(ca.dct, cb.mirrored_dct) + _bits(ca.gradient, cb.mirrored_gradient)
    return min(direct, a_mirrored, b_mirrored)


def region_evidence(a: Features, b: Features, policy: ScoringPolicy = POLICY) -> RegionEvidence | None:
    """The closest region of either side to the other side whole (both ways round, so
    the same either way the pair comes), skipping flat regions and a flat whole side, as
    the whole-picture hash is guarded; ``None`` when no region was compared."""
    best: RegionEvidence | None = None
    for side, other in ((a, b), (b, a)):
        if is_flat(other.codes.dct, policy):
            continue
        for region in side.regions:
            if is_flat(region.codes.dct, policy) or region.share < policy.region_min_share:
                continue
            found = RegionEvidence(_codes_distance(region.codes, other.codes), round(region.share, 3))
            if best is None or (found.distance, -found.share) < (best.distance, -best.share):
                best = found
    return best


def verify_sets(
    query: KeypointSet,
    query_size: tuple[int, int],
    cand: KeypointSet,
    n_cand: int,
    cand_size: tuple[int, int],
    policy: ScoringPolicy = POLICY,
) -> Match | None:
    """The verified match of ``query``'s keypoints (all their words) with the first
    ``n_cand`` of ``cand``'s (their first word: what the index keeps), matched by word
    and signature, as the inverted file matches them."""
    if not len(query.packed) or not n_cand:
        return None
    found = tentative(query, cand, n_cand)  # each side's part made once per keypoint set
    if found is None:
        return None
    return verify(
        found.query_idx,
        found.query_xy,
        found.query_angle,
        found.cand_idx,
        found.cand_xy,
        found.cand_angle,
        (query_size[0] / 2, query_size[1] / 2),
        (cand_size[0] / 2, cand_size[1] / 2),
        policy,
    )


def _order_key(f: Features) -> tuple[object, ...]:
    return (-len(f.normal.packed), -f.n_index, f.size, f.codes.dct, f.codes.gradient, f.codes.mirrored_dct)


def canonical(a: Features, b: Features) -> tuple[Features, Features]:
    """The pair in one order whichever way round it came: the side with more keypoints
    (then the smaller frame, then the smaller codes; then the raw keypoints, thumbnail
    and colours) first. Looks that run one way only run from the first side, so
    ``gather(a, b)`` and ``gather(b, a)`` make the same looks without making both."""
    key_a, key_b = _order_key(a), _order_key(b)
    if key_a == key_b:
        key_a, key_b = (
            tuple(x.tobytes() for x in (f.normal.packed, f.normal.words, f.thumbnail, f.chroma)) for f in (a, b)
        )
    return (a, b) if key_a <= key_b else (b, a)


def _keypoints(first: Features, second: Features, policy: ScoringPolicy) -> KeypointEvidence | None:
    """The best verification of one side's keypoints (all their words) against the
    other's indexed ones: the first side's, then the second's, then the first side's
    mirrored, each tried only while none has reached ``thumbnails_below``; with the
    colour check of the best. The fourth direction (the second side mirrored) weighs
    the mirror a second time and mostly gives a false pair one more chance."""
    tries = ((first, second, False), (second, first, False), (first, second, True))
    best: tuple[float, Match, Features, Features, bool] | None = None
    ambiguous: tuple[Match, Features, Features, bool] | None = None
    for query, stored, mirrored in tries:
        if best is not None and best[0] >= policy.thumbnails_below:
            break
        kps = query.mirrored if mirrored else query.normal
        match = verify_sets(kps, query.size, stored.normal, stored.n_index, stored.size, policy)
        if match is not None and match.ambiguous:
            ambiguous = ambiguous or (match, query, stored, mirrored)
            continue
        sim = keypoint_similarity(match, policy)
        if match is not None and (best is None or sim > best[0]):
            best = (sim, match, query, stored, mirrored)
    if best is None or best[0] < policy.thumbnails_below:
        for match, query, stored in _region_matches(first, second, policy):
            sim = keypoint_similarity(match, policy)
            if sim > policy.weak_high and (best is None or sim > best[0]):
                best = (sim, match, query, stored, False)
    if best is None:
        # A repeating picture's match says nothing for the pair, but its colours can
        # still say it is another picture (two logos of one layout repeat their letters).
        if ambiguous is not None and _colours_clash(*ambiguous):
            match = ambiguous[0]
            return KeypointEvidence(
                match.inliers, match.tentative, match.coverage, match.spread, True, scale=match.scale
            )
        return None
    similarity, match, query, stored, mirrored = best
    clash = _colours_clash(match, query, stored, mirrored)
    # The border check judges only a match that keypoints do not count as evidence
    # (below the weak range): a chance consensus (two screens of one layout: 7 inliers of
    # 330, mirrored and upside down) can lay a trimmed foot over the other's rows. A match
    # that is evidence (a meme caption's 27 inliers score 78, a sticker copy's 112 score
    # 100) is a copy whose query gained detail where the original had a plain margin
    # (stickers, a pasted logo, a caption) or lost some of it to a rotation's fill:
    # vetoing those cost rank 1 to three graphic copies on the tuning half (rotated 45
    # degrees, a pasted logo, stickers; benchmarks.graphics).
    borders = (
        similarity < policy.weak_low
        and match.matrix is not None
        and _borders_clash(query, stored, mirrored, match.matrix, policy)
    )
    agreement, cells = (1.0, 0)
    if similarity > policy.weak_high and match.matrix is not None:
        agreement, cells = _content_agreement(query, stored, mirrored, match.matrix, policy)
    return KeypointEvidence(
        match.inliers, match.tentative, match.coverage, match.spread, clash, borders, match.scale, agreement, cells
    )


def _region_matches(first: Features, second: Features, policy: ScoringPolicy) -> list[tuple[Match, Features, Features]]:
    """Each side's region keypoints (``Features.region_keypoints``: a picture pasted into
    it) verified against the other side's indexed keypoints, as (the match carried into
    the region's side's whole frame, that side, the other side). Only a match that lays
    the other picture almost wholly inside the region's side (``region_cover_low``)
    counts: the other picture is then pasted there (the region may be a part of it,
    or hold it with a margin: proposals are rarely exact). A region that matches a part
    of the other while the rest of the other falls outside the frame (two overlapping
    crops of one photograph) is not a picture pasted there."""
    found = []
    for side, other in ((first, second), (second, first)):
        for position, kps, size in side.region_keypoints:
            match = verify_sets(kps, size, other.normal, other.n_index, other.size, policy)
            if match is None or match.ambiguous or match.matrix is None:
                continue
            whole = _in_whole_frame(match, side, side.regions[position].box, size)
            assert whole.matrix is not None
            inverse = np.linalg.inv(np.vstack([whole.matrix, [0, 0, 1]]))[:2]
            # Sizes are in grid units; the matrices map half-grid positions.
            half_other, half_side = (other.size[0] / 2, other.size[1] / 2), (side.size[0] / 2, side.size[1] / 2)
            shared, laid = frame_overlap(inverse, half_other, half_side)
            if laid <= 0 or shared / laid < policy.region_cover_low:
                continue
            found.append((whole, side, other))
    return found


def _in_whole_frame(
    match: Match, side: Features, box: tuple[float, float, float, float], size: tuple[int, int]
) -> Match:
    """A region's match carried into its side's whole (trimmed) frame, so the checks
    that read the whole picture (colours, borders, content) read it where it lies. The
    region's box is a share of the untrimmed frame; ``side.border`` says how much of it
    was trimmed, as shares of the trimmed frame."""
    left, top, right, bottom = side.border
    frame_w, frame_h = side.size[0] / 2, side.size[1] / 2
    region_w, region_h = max(size[0], 1) / 2, max(size[1], 1) / 2
    full_w, full_h = 1 + left + right, 1 + top + bottom
    offset = np.array([(box[0] * full_w - left) * frame_w, (box[1] * full_h - top) * frame_h])
    per_unit = np.array(
        [(box[2] - box[0]) * full_w * frame_w / region_w, (box[3] - box[1]) * full_h * frame_h / region_h]
    )
    assert match.matrix is not None
    linear = match.matrix[:, :2] / per_unit[None, :]
    matrix = np.column_stack([linear, match.matrix[:, 2] - linear @ offset])
    return Match(
        match.inliers,
        match.coverage,
        match.scale / float(np.sqrt(per_unit[0] * per_unit[1])),
        match.tentative,
        match.spread,
        matrix,
    )


def _content_agreement(
    query: Features, stored: Features, mirrored: bool, matrix: npt.NDArray[np.float64], policy: ScoringPolicy
) -> tuple[float, int]:
    """How much of the smaller picture (by its area under the transform) agrees with the
    other through ``matrix`` (the query's grid to the stored one's; see
    :func:`ris_local.scoring.content.agreement`). Only a strong match is looked at: the
    decision caps nothing weaker."""
    query_thumbnail = np.fliplr(query.thumbnail) if mirrored else query.thumbnail
    (qw, qh), (sw, sh) = query.size, stored.size
    if qw * qh * abs(np.linalg.det(matrix[:, :2])) <= sw * sh:
        return content.agreement(query_thumbnail, stored.thumbnail, matrix, policy)
    inverse = np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))[:2]
    return content.agreement(stored.thumbnail, query_thumbnail, inverse, policy)


def _colours_clash(match: Match, query: Features, stored: Features, mirrored: bool) -> bool:
    """Whether the colours carried through the match's transform clash (see :mod:`ris_local.scoring.colour`)."""
    if match.matrix is None or not query.chroma.size or not stored.chroma.size:
        return False
    query_chroma = colour.mirrored(query.chroma) if mirrored else query.chroma
    return colour.clashes(query_chroma, stored.chroma, match.matrix)


def _borders_clash(
    query: Features, stored: Features, mirrored: bool, matrix: npt.NDArray[np.float64], policy: ScoringPolicy
) -> bool:
    """Whether the fitted transform lays either side's trimmed border over the other's
    detail (see :func:`~ris_local.scoring.verification.border_over_detail`), each way."""
    left, top, right, bottom = query.border
    query_border = (right, top, left, bottom) if mirrored else query.border
    query_thumbnail = np.fliplr(query.thumbnail) if mirrored else query.thumbnail
    query_frame = (query.size[0] / 2, query.size[1] / 2)
    stored_frame = (stored.size[0] / 2, stored.size[1] / 2)
    inverse = np.linalg.inv(np.vstack([matrix, [0, 0, 1]]))[:2]
    return border_over_detail(query_border, query_frame, stored.thumbnail, matrix, policy) or border_over_detail(
        stored.border, stored_frame, query_thumbnail, inverse, policy
    )


def _centre_distance(query: Features, stored: Features, mirrored: bool) -> int:
    """Bits between ``query``'s (mirrored) codes and the nearest of ``stored``'s centre codes."""
    codes = centres.views(query)[1 if mirrored else 0]
    stored_centre = np.array(centres.row_codes(stored), np.uint64)[:, None]
    return int(centres.distance(codes, stored_centre)[0])


def _mirror_first(a: Features, b: Features, upright: int, mirrored: int) -> bool:
    """Whether the pair looks more alike with one side mirrored than as it is: by the
    nearest centre codes, upright and mirrored (made to find crops, see
    :mod:`ris_local.index.centres`), then, on a tie, by the hash codes."""
    if mirrored != upright:
        return mirrored < upright
    ca, cb = a.codes, b.codes
    direct = _bits(ca.dct, cb.dct) + _bits(ca.gradient, cb.gradient)
    return (
        min(
            _bits(ca.mirrored_dct, cb.dct) + _bits(ca.mirrored_gradient, cb.gradient),
            _bits(ca.dct, cb.mirrored_dct) + _bits(ca.gradient, cb.mirrored_gradient),
        )
        < direct
    )


def _thumbnail_looks(
    first: Features, second: Features, verified: KeypointEvidence | None, policy: ScoringPolicy
) -> tuple[ThumbnailLook, ...]:
    """Each side's thumbnail inside the other's, upright or mirrored, whichever the
    pair's codes say it is more alike (see :func:`_mirror_first`): two looks, not four.
    Turned ones, each way round (a rotated copy lines up far better as the turned side:
    0.998 against 0.93 on the tests' astronaut), only when no upright look reached
    ``turn_below`` and the pair is plausible by its own evidence: some keypoint
    consensus, or a centre code within ``turn_centre_bits``."""
    sides = ((first, second), (second, first))
    near = {m: [_centre_distance(q, s, m) for q, s in sides] for m in (False, True)}
    mirrored = _mirror_first(first, second, min(near[False]), min(near[True]))
    looks = []
    for (query, stored), bits in zip(sides, near[mirrored], strict=True):
        view = thumbnails.mirrored(query.thumbnail) if mirrored else query.thumbnail
        looks.append(ThumbnailLook(thumbnails.correlation(view, stored.thumbnail), bits <= policy.agreeing_bits))
    if upright_similarity(tuple(looks), policy) >= policy.turn_below:
        return tuple(looks)
    if verified is None and min(near[False] + near[True]) > policy.turn_centre_bits:
        return tuple(looks)
    for query, stored in sides:
        for degrees in thumbnails.TURNS:
            value = thumbnails.correlation(thumbnails.turned(query.thumbnail, degrees), stored.thumbnail)
            looks.append(ThumbnailLook(value, turned=True))
    return tuple(looks)


def gather(a: Features, b: Features, policy: ScoringPolicy = POLICY) -> Evidence:
    """The evidence about the pair ``a``, ``b`` (see the module docstring)."""
    distance = hash_distance(a, b)
    flat = is_flat(a.codes.dct, policy) or is_flat(b.codes.dct, policy)
    first, second = canonical(a, b)
    counts = (len(first.normal.packed), len(second.normal.packed))
    if hash_similarity(distance, flat, policy) >= policy.sure_similarity:
        return Evidence(distance, flat, counts)
    region = region_evidence(first, second, policy)
    verified = _keypoints(first, second, policy)
    if (verified is not None and (verified.colours_clash or verified.borders_clash)) or verified_similarity(
        verified, policy
    ) >= policy.thumbnails_below:
        return Evidence(distance, flat, counts, verified, region=region)
    if not (a.thumbnail.size and b.thumbnail.size):
        return Evidence(distance, flat, counts, verified, region=region)
    looks = _thumbnail_looks(first, second, verified, policy)
    return Evidence(distance, flat, counts, verified, looks, region)
