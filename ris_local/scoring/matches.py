"""The tentative matches of one keypoint set against another's indexed keypoints.

A query keypoint matches a candidate's keypoint when one of the query's words is the
candidate's first word (what the index keeps) and their signatures are within
``SIGNATURE_RADIUS`` bits, as the inverted file matches them. Each side's part of that
(the query's distinct words and signatures, the candidate's words in order, both sides'
unpacked positions) depends on that side alone, so it is made once per keypoint set
(:class:`~ris_local.scoring.memo.Memo`) and every pair the set is in reuses it: the
matches come out the same, in the same order, as when each pair made everything afresh.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from ris_local.features.layout import KeypointSet
from ris_local.index.invertedfile import SIGNATURE_RADIUS
from ris_local.scoring.memo import Memo
from ris_local.scoring.verification import signatures, unpack

__all__ = ["Tentative", "tentative"]

I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]
#: Keypoint sets whose sides are remembered: a query's side is about 110 KB (5,200 word
#: entries), a candidate's about 140 KB (its word table), so this bounds the memo near
#: 18 MB whatever the collection's size.
_MEMO = Memo(128)


@dataclass(frozen=True, slots=True)
class _QuerySide:
    words: npt.NDArray[np.intp]  # each (keypoint, word) entry's word, keypoint by keypoint
    owners: I64  # each entry's keypoint
    signatures: npt.NDArray[np.uint32]
    xy: F32
    angle: I64


@dataclass(frozen=True, slots=True)
class _CandidateSide:
    order: I64  # the indexed keypoints by first word (stable)
    #: Each word of the vocabulary's place in ``first`` and ``count``: the start of its
    #: run in the sorted words and its length (a word the side lacks has a run of 0).
    slot: npt.NDArray[np.uint16]
    first: I64
    count: I64
    absent: int  # the slot of every word the side lacks
    signatures: npt.NDArray[np.uint32]  # the indexed keypoints' signatures, in ``order``
    xy: F32
    angle: I64


@dataclass(frozen=True, slots=True)
class Tentative:
    """Tentative matches: each one's query and candidate keypoint, and both sides'
    positions (128-step grid) and orientation steps, as :func:`~ris_local.scoring.verification.verify` takes them."""

    query_idx: I64
    query_xy: F32
    query_angle: I64
    cand_idx: I64
    cand_xy: F32
    cand_angle: I64


def _query_side(query: KeypointSet) -> _QuerySide:
    n, per = query.words.shape
    owners = np.repeat(np.arange(n, dtype=np.int64), per)
    xy, angle = unpack(query.packed)
    words = query.words.astype(np.intp).ravel()
    return _QuerySide(words, owners, signatures(query.packed, query.rest), xy, angle)


def _candidate_side(cand: KeypointSet, n_cand: int) -> _CandidateSide:
    cand_words = cand.words[:n_cand, 0].astype(np.int64)
    order = np.argsort(cand_words, kind="stable")
    sorted_words = cand_words[order]
    changes = np.ones(len(sorted_words), bool)
    np.not_equal(sorted_words[1:], sorted_words[:-1], out=changes[1:])
    starts = np.flatnonzero(changes)  # each run of one word
    runs = np.diff(starts, append=len(sorted_words))
    # The vocabulary is the words' dtype (uint16); one slot past the runs counts 0.
    slot = np.full(np.iinfo(cand.words.dtype).max + 1, len(starts), np.uint16)
    slot[sorted_words[starts]] = np.arange(len(starts), dtype=np.uint16)
    first = np.append(starts, 0).astype(np.int64)
    count = np.append(runs, 0).astype(np.int64)
    xy, angle = unpack(cand.packed[:n_cand])
    ordered = signatures(cand.packed[:n_cand][order], cand.rest[:n_cand][order])
    return _CandidateSide(order, slot, first, count, len(starts), ordered, xy, angle)


def tentative(query: KeypointSet, cand: KeypointSet, n_cand: int) -> Tentative | None:
    """``query``'s keypoints (all their words) matched with the first ``n_cand`` of
    ``cand``'s (their first word) by word and signature; None when no word is shared."""
    q = _MEMO.get(query, "query", lambda: _query_side(query))
    c = _MEMO.get(cand, ("candidate", n_cand), lambda: _candidate_side(cand, n_cand))
    # Each entry's run among the candidate's words sorted (stable): where a binary search
    # of every entry would find it, read from the candidate's table instead.
    # Only entries whose word the candidate has (a few percent) are carried on; the
    # others match nothing, so dropping them first leaves the matches and their order.
    slot = c.slot[q.words]
    shared = np.flatnonzero(slot != c.absent)
    if not len(shared):
        return None
    slot = slot[shared]
    lo, counts = c.first[slot], c.count[slot]
    total = int(counts.sum())
    q_idx = np.repeat(q.owners[shared], counts)
    # Each match's place among the candidate's keypoints sorted by word: its run's start
    # plus its step along the run.
    place = np.repeat(lo - (np.cumsum(counts) - counts), counts)
    place += np.arange(total)
    close = np.bitwise_count(c.signatures[place] ^ q.signatures[q_idx]) <= SIGNATURE_RADIUS
    q_idx, c_idx = q_idx[close], c.order[place[close]]
    return Tentative(q_idx, q.xy[q_idx], q.angle[q_idx], c_idx, c.xy[c_idx], c.angle[c_idx])
