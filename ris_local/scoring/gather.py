"""Gathering a pair's evidence from the two pictures' features, and nothing else.

:func:`gather` is symmetric (``gather(a, b)`` and ``gather(b, a)`` weigh the same
looks) and reads only the two :class:`~ris_local.features.layout.Features`, so a pair's
evidence, and with it its score, cannot depend on what else is stored or on which side
asked. It is lazy only where :func:`~ris_local.scoring.decision.decide` would ignore
the result: nothing past a sure hash, no thumbnails past a good keypoint match or a
colour clash, no turned thumbnails past a good upright one.
"""

from __future__ import annotations

import numpy as np

from ris_local.features.layout import Features, KeypointSet
from ris_local.index import centres
from ris_local.index.invertedfile import signature_close
from ris_local.scoring import colour, thumbnails
from ris_local.scoring.decision import hash_similarity, is_flat, keypoint_similarity, upright_similarity
from ris_local.scoring.evidence import Evidence, KeypointEvidence, ThumbnailLook
from ris_local.scoring.policy import POLICY, ScoringPolicy
from ris_local.scoring.verification import Match, signatures, unpack, verify

__all__ = ["gather", "hash_distance", "verify_sets"]


def _bits(x: int, y: int) -> int:
    return int(x ^ y).bit_count()


def hash_distance(a: Features, b: Features) -> int:
    """The summed DCT + gradient distance: the best of direct, ``a`` mirrored and ``b``
    mirrored (both mirrors, so the distance is the same either way round)."""
    ca, cb = a.codes, b.codes
    direct = _bits(ca.dct, cb.dct) + _bits(ca.gradient, cb.gradient)
    a_mirrored = _bits(ca.mirrored_dct, cb.dct) + _bits(ca.mirrored_gradient, cb.gradient)
    b_mirrored = _bits(ca.dct, cb.mirrored_dct) + _bits(ca.gradient, cb.mirrored_gradient)
    return min(direct, a_mirrored, b_mirrored)


def verify_sets(
    query: KeypointSet, query_size: tuple[int, int], cand: KeypointSet, n_cand: int, cand_size: tuple[int, int]
) -> Match | None:
    """The verified match of ``query``'s keypoints (all their words) with the first
    ``n_cand`` of ``cand``'s (their first word: what the index keeps), matched by word
    and signature, as the inverted file matches them."""
    if not len(query.packed) or not n_cand:
        return None
    cand_words = cand.words[:n_cand, 0].astype(np.int64)
    order = np.argsort(cand_words, kind="stable")
    sorted_words = cand_words[order]
    words = query.words.astype(np.int64)
    flat = words.ravel()
    lo, hi = np.searchsorted(sorted_words, flat, "left"), np.searchsorted(sorted_words, flat, "right")
    counts = hi - lo
    total = int(counts.sum())
    if not total:
        return None
    owners = np.repeat(np.repeat(np.arange(len(words), dtype=np.int64), words.shape[1]), counts)
    offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    c_idx = order[np.repeat(lo, counts) + offsets]
    q_idx = owners
    q_xy, q_angle = unpack(query.packed)
    c_xy, c_angle = unpack(cand.packed[:n_cand])
    close = signature_close(cand.packed[c_idx], cand.rest[c_idx], signatures(query.packed, query.rest)[q_idx])
    q_idx, c_idx = q_idx[close], c_idx[close]
    return verify(
        q_idx,
        q_xy[q_idx],
        q_angle[q_idx],
        c_idx,
        c_xy[c_idx],
        c_angle[c_idx],
        (query_size[0] / 2, query_size[1] / 2),
        (cand_size[0] / 2, cand_size[1] / 2),
    )


def _keypoints(a: Features, b: Features, policy: ScoringPolicy) -> KeypointEvidence | None:
    """The best of the four verifications (each side's keypoints, upright and mirrored,
    against the other's indexed ones), with the colour check of the best."""
    tries = (
        (a.normal, a, b, False),
        (a.mirrored, a, b, True),
        (b.normal, b, a, False),
        (b.mirrored, b, a, True),
    )
    best: tuple[float, Match, Features, Features, bool] | None = None
    for kps, query, stored, mirrored in tries:
        match = verify_sets(kps, query.size, stored.normal, stored.n_index, stored.size)
        sim = keypoint_similarity(match, policy)
        if match is not None and (best is None or sim > best[0]):
            best = (sim, match, query, stored, mirrored)
    if best is None:
        return None
    _, match, query, stored, mirrored = best
    clash = False
    if match.matrix is not None and query.chroma.size and stored.chroma.size:
        query_chroma = colour.mirrored(query.chroma) if mirrored else query.chroma
        clash = colour.clashes(query_chroma, stored.chroma, match.matrix)
    return KeypointEvidence(match.inliers, match.tentative, match.coverage, match.spread, clash)


def _agrees(query: Features, stored: Features, mirrored: bool, policy: ScoringPolicy) -> bool:
    codes = centres.views(query)[1 if mirrored else 0]
    stored_centre = np.array(centres.row_codes(stored), np.uint64)[:, None]
    return int(centres.distance(codes, stored_centre)[0]) <= policy.agreeing_bits


def _thumbnail_looks(a: Features, b: Features, policy: ScoringPolicy) -> tuple[ThumbnailLook, ...]:
    """Each side's thumbnail (and its mirror) inside the other's; turned ones when no
    upright look reached ``turn_below``."""
    looks = []
    for query, stored in ((a, b), (b, a)):
        for mirrored, view in ((False, query.thumbnail), (True, np.fliplr(query.thumbnail))):
            value = thumbnails.correlation(view, stored.thumbnail)
            looks.append(ThumbnailLook(value, _agrees(query, stored, mirrored, policy)))
    if upright_similarity(tuple(looks), policy) < policy.turn_below:
        for query, stored in ((a, b), (b, a)):
            for degrees in thumbnails.TURNS:
                value = thumbnails.correlation(thumbnails.turned(query.thumbnail, degrees), stored.thumbnail)
                looks.append(ThumbnailLook(value, turned=True))
    return tuple(looks)


def gather(a: Features, b: Features, policy: ScoringPolicy = POLICY) -> Evidence:
    """The evidence about the pair ``a``, ``b`` (see the module docstring)."""
    distance = hash_distance(a, b)
    flat = is_flat(a.codes.dct, policy) or is_flat(b.codes.dct, policy)
    counts = (len(a.normal.packed), len(b.normal.packed))
    if hash_similarity(distance, flat, policy) >= policy.sure_similarity:
        return Evidence(distance, flat, counts)
    verified = _keypoints(a, b, policy)
    if (verified is not None and verified.colours_clash) or keypoint_similarity(
        verified, policy
    ) >= policy.thumbnails_below:
        return Evidence(distance, flat, counts, verified)
    if not (a.thumbnail.size and b.thumbnail.size):
        return Evidence(distance, flat, counts, verified)
    return Evidence(distance, flat, counts, verified, _thumbnail_looks(a, b, policy))
