"""The robust stage's self-join: candidate pairs from one pass over the inverted file.

Searching every image as a query costs one inverted-file lookup, a long shortlist of
geometric verifications and thumbnail correlations per image (tens of milliseconds
each). This module does the lookup part for a whole batch of images at once and keeps
the verification for a few pairs:

* Each image's keypoints (every keypoint with all its words, mirrored ones too, as a
  query has them) are looked up in the inverted file together, a batch of images at a
  time: the batch's entries are matched against the posting lists of their words, and
  a posting counts when its signature is within ``SIGNATURE_RADIUS`` bits (the Hamming
  embedding a query uses). That is the sparse product of the batch's keypoint-by-word
  matrix with the index's word-by-row matrix, with the signature test applied to each
  product term (which a library's product cannot do).
* Only *selective* words take part: a word whose list holds more than ``MAX_LIST``
  postings forms no pairs. Its list would cost every entry that names it the whole
  list, and a frequent word says the least (the lowest idf).
* Each (image, other row) pair gets the vote a search gives: per keypoint of the image,
  the idf of its best word that the row shares, once. Each image ranks the rows with at
  least ``MIN_SHARED`` voting keypoints, best-voted first. Only the best ``MUTUAL`` ranks
  are used, so the votes are counted exactly (a sort of every match) only for the rows
  an upper bound cannot rule out: the idf summed over every match, one dense sum per
  (image, row) (see :func:`_ranked`; the same ranks, at a sixth of the sorting).
* A pair is a candidate, to be scored by the caller, when one image ranks the other
  first (what a search verifies first), or ranks it among its ``PER_ROW`` best and the
  other ranks it back among its ``MUTUAL`` best (a mutual-neighbour test). Two copies
  of one picture share their keypoints both ways; an image that has no copy still has
  best-voted rows, and scoring them was most of the join's time (the tuning half's
  duplicate collection: 1,106 pairs scored for 295 found; a false pair costs about 6 ms
  of CPU to score).
"""

from __future__ import annotations

import collections
import concurrent.futures
import os
from collections.abc import Callable, Iterable

import numpy as np
import numpy.typing as npt

from ris_local.index.hamming_join import ranges
from ris_local.index.invertedfile import SIGNATURE_RADIUS
from ris_local.scoring.verification import signatures

__all__ = ["EXACT_FIRST", "MAX_LIST", "MIN_SHARED", "MUTUAL", "PER_ROW", "QueryBatch", "voted_pairs"]

I64 = npt.NDArray[np.int64]
U16 = npt.NDArray[np.uint16]
U32 = npt.NDArray[np.uint32]
F64 = npt.NDArray[np.float64]
#: One batch of query entries: ``(row, keypoint, word, signature)`` per entry, where
#: ``keypoint`` numbers the batch's keypoints (an entry per word of each).
QueryBatch = tuple[I64, I64, I64, U32]

#: Words with longer posting lists form no pairs.
MAX_LIST = 32
#: Keypoints of an image that must vote for a row to make a candidate: geometric
#: verification needs at least five tentative matches.
MIN_SHARED = 5
#: A pair is a candidate when one image ranks the other first, or among its ``PER_ROW``
#: best-voted rows while the other ranks it back among its ``MUTUAL`` best. Tuning half,
#: medium duplicate collection (BENCHMARKS.md, "find_duplicates with centre codes"): 2 and
#: 10 give F1 0.993 with 788 pairs scored, 2 and any rank (the join until now) 0.989 with
#: 1,118; requiring the mutual rank of the first-ranked row too scored 611 but lost four
#: true pairs there and four of 43 on a collection of blurred textures (the tests' photographs).
PER_ROW = 2
MUTUAL = 10
#: Rows per query image whose votes are counted exactly first, the most promising by an
#: upper bound on the vote (see :func:`_ranked`); a query whose bound cannot rule out the
#: rest has all its votes counted, so this changes the cost, never the pairs. Tuning half,
#: medium duplicate collection (827 images): 30 counts about a sixth of the matches and
#: every image settles on it (20: one image needs the second count).
EXACT_FIRST = 30
#: The bound's (query image, row) tables are dense: past this many cells a batch has every
#: vote counted instead (about 24 MB of tables).
_DENSE_CELLS = 1 << 21
#: Threads matching batches (NumPy releases the GIL in the loops that matter).
_THREADS = max(1, min(2, os.cpu_count() or 1))


def voted_pairs(
    starts: I64,
    rows: U32,
    packed: U32,
    rest: U16,
    idf: F64,
    rows_ok: npt.NDArray[np.bool_],
    batches: Iterable[QueryBatch],
    progress: Callable[[], None] | None = None,
) -> I64:
    """Candidate pairs ``(a, b)``, ``a < b``, shape (p, 2), sorted, unique: the pairs
    of query rows of ``batches`` where one ranks the other (among the ``rows_ok`` rows,
    through the CSR postings: ``starts`` per word; ``rows``, ``packed``, ``rest`` per
    posting) first, or among its ``PER_ROW`` best-voted while the other ranks it back
    among its ``MUTUAL`` best. ``progress`` is called after each batch."""
    selective = _Selective.of(starts, rows, packed, rest, rows_ok)
    weights = _Weights.of(idf)
    found = [np.empty((0, 2), np.int64)]
    # Batches are made (reading blobs: Python, under the GIL) while earlier ones are
    # matched on the pool (NumPy's sorts and bit tests release it); a few in flight
    # bound the memory.
    with concurrent.futures.ThreadPoolExecutor(_THREADS) as pool:
        pending: collections.deque[concurrent.futures.Future[I64]] = collections.deque()
        for batch in batches:
            pending.append(pool.submit(_batch_pairs, selective, weights, batch))
            while len(pending) > 2 * _THREADS or (pending and pending[0].done()):
                found.append(pending.popleft().result())
                if progress is not None:
                    progress()
        while pending:
            found.append(pending.popleft().result())
            if progress is not None:
                progress()
    return _mutual(np.concatenate(found))


def _mutual(ranked: I64) -> I64:
    """The candidate pairs of ``ranked`` rows ``(query << 32 | row, rank)``: each
    unordered pair whose better rank is 1, or at most ``PER_ROW`` with its worse at most
    ``MUTUAL`` (a side that did not rank the pair counts as past ``MUTUAL``)."""
    if not len(ranked):
        return np.empty((0, 2), np.int64)
    query, row, rank = ranked[:, 0] >> 32, ranked[:, 0] & 0xFFFFFFFF, ranked[:, 1]
    pairs, where = np.unique(np.minimum(query, row) << 32 | np.maximum(query, row), return_inverse=True)
    sides = np.full((len(pairs), 2), MUTUAL + 1, np.int64)
    np.minimum.at(sides, (where, (query > row).astype(np.int64)), rank)
    best, worst = sides.min(axis=1), sides.max(axis=1)
    keep = (best == 1) | ((best <= PER_ROW) & (worst <= MUTUAL))
    kept = pairs[keep]
    return np.stack([kept >> 32, kept & 0xFFFFFFFF], axis=1)


class _Selective:
    """The postings of the selective words only, ``rows_ok`` rows only, with their
    signatures worked out once (a batch would otherwise unpack each posting again for
    every query entry that names its word)."""

    def __init__(self, starts: I64, rows: npt.NDArray[np.int32], signatures: U32, n_rows: int) -> None:
        self.starts, self.rows, self.signatures, self.n_rows = starts, rows, signatures, n_rows
        self.lengths = np.diff(starts)

    @classmethod
    def of(cls, starts: I64, rows: U32, packed: U32, rest: U16, rows_ok: npt.NDArray[np.bool_]) -> _Selective:
        lengths = np.diff(starts)
        keep = (lengths > 0) & (lengths <= MAX_LIST)
        where = ranges(starts[:-1][keep], starts[1:][keep])
        owner = rows[where].astype(np.int64)
        usable = rows_ok[owner]
        kept_lengths = np.zeros(len(lengths), np.int64)
        word = np.repeat(np.flatnonzero(keep), lengths[keep])
        kept_lengths[:] = np.bincount(word[usable], minlength=len(lengths))
        kept_starts = np.concatenate([[0], np.cumsum(kept_lengths)]).astype(np.int64)
        where = where[usable]
        return cls(kept_starts, owner[usable].astype(np.int32), signatures(packed[where], rest[where]), len(rows_ok))


class _Weights:
    """Each word's vote (its idf), with the distinct values and each word's rank among
    them, worked out once for the join rather than once per batch."""

    def __init__(self, idf: F64, levels: F64, rank: I64) -> None:
        self.idf, self.levels, self.rank = idf, levels, rank

    @classmethod
    def of(cls, idf: F64) -> _Weights:
        levels, rank = np.unique(idf, return_inverse=True)
        return cls(idf, levels, rank.astype(np.int64, copy=False))


class _Entries:
    """One batch's query entries that name a selective word: each one's query row, its
    place among the batch's query rows, keypoint and word. A match is an entry (its index
    here) and another row; what a match needs of its entry is read from here, so the
    matches themselves carry two small arrays."""

    def __init__(self, query: I64, keypoint: I64, word: I64) -> None:
        self.query, self.keypoint, self.word = query, keypoint, word
        changes = np.empty(len(query), bool)
        changes[:1] = True
        np.not_equal(query[1:], query[:-1], out=changes[1:])
        #: The first entry of each query row, and each entry's query row's place.
        self.firsts = np.flatnonzero(changes)
        self.local = np.cumsum(changes, dtype=np.int64) - 1
        #: Each query row's entries together, in order (as the batches are made).
        self.contiguous = bool(np.all(query[1:] >= query[:-1]))

    @property
    def n_queries(self) -> int:
        return len(self.firsts)


def _votes(entries: _Entries, entry: I64, other: I64, weights: _Weights) -> tuple[I64, F64, I64]:
    """Each (query row, other row) pair's key ``query << 32 | other`` (sorted), vote and
    voting keypoints, from the matches of ``entries[entry]`` with rows ``other``: a
    keypoint votes once per row, with the idf of its best word the row shares.

    One sort of 64-bit keys (query's place in the batch, row, keypoint, the idf's rank
    among the vocabulary's, high bits to low) leaves each keypoint's matches with a row
    together, best word last, and each pair's keypoints together in keypoint order (the
    order the sum was always taken in); keys that would not fit 64 bits take two sorts."""
    if not len(entry):
        return np.empty(0, np.int64), np.empty(0, np.float64), np.empty(0, np.int64)
    idf, levels, rank = weights.idf, weights.levels, weights.rank
    bits = [
        int(entries.n_queries - 1).bit_length(),
        int(other.max(initial=0)).bit_length(),
        int(entries.keypoint.max(initial=0)).bit_length(),
        int(len(levels) - 1).bit_length(),
    ]
    if not entries.contiguous or sum(bits) > 63:
        return _votes_in_two_sorts(entries.query[entry], entries.keypoint[entry], other, idf[entries.word[entry]])
    row_shift = bits[2] + bits[3]
    query_shift = bits[1] + row_shift
    # The entry's part of the key, made once per entry rather than once per match.
    high = entries.local << query_shift | entries.keypoint << bits[3] | rank[entries.word]
    key = high[entry]
    key |= other << row_shift
    key.sort()
    voter = key >> bits[3]  # (query, row, keypoint)
    last = np.flatnonzero(np.r_[voter[1:] != voter[:-1], True])
    best = levels[key[last] & ((1 << bits[3]) - 1)]
    pair = key[last] >> row_shift  # (query, row)
    first = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
    group = np.repeat(np.arange(len(first)), np.diff(np.r_[first, len(pair)]))
    votes: F64 = np.bincount(group, weights=best, minlength=len(first)).astype(np.float64, copy=False)
    voters: I64 = np.diff(np.r_[first, len(pair)]).astype(np.int64, copy=False)
    chosen = pair[first]
    query_rows = entries.query[entries.firsts][chosen >> bits[1]]
    keys: I64 = query_rows << 32 | (chosen & ((1 << bits[1]) - 1))
    return keys, votes, voters


def _votes_in_two_sorts(query: I64, keypoint: I64, other: I64, weight: F64) -> tuple[I64, F64, I64]:
    """:func:`_votes` by a sort of (keypoint, row) keys, then one of the pairs."""
    voter = keypoint << 32 | other
    order = np.argsort(voter)
    voter, weight = voter[order], weight[order]
    first = np.flatnonzero(np.r_[True, voter[1:] != voter[:-1]])
    best = np.maximum.reduceat(weight, first) if len(first) else weight[:0]
    owner = np.empty(int(keypoint.max(initial=0)) + 1, np.int64)
    owner[keypoint] = query
    voter = voter[first]
    pair = owner[voter >> 32] << 32 | (voter & 0xFFFFFFFF)
    pairs, where, counts = np.unique(pair, return_inverse=True, return_counts=True)
    votes: F64 = np.bincount(where, weights=best, minlength=len(pairs)).astype(np.float64, copy=False)
    return pairs.astype(np.int64, copy=False), votes, counts.astype(np.int64, copy=False)


def _batch_pairs(selective: _Selective, weights: _Weights, batch: QueryBatch) -> I64:
    """One batch's ranked rows, shape (p, 2): ``query << 32 | row`` and the rank (1 for
    the best-voted) of each query row's ``MUTUAL`` best-voted rows."""
    query_row, keypoint, word, signature = batch
    lengths = selective.lengths[word]
    named = np.flatnonzero(lengths)
    entries = _Entries(query_row[named], keypoint[named], word[named])
    signature, lengths = signature[named], lengths[named]
    # The expansion of every entry over its word's postings is most of the join's work:
    # 32-bit positions, the entry's signature repeated rather than gathered, and the rows
    # read only for the few postings whose signature is close (positions fit 32 bits:
    # selective postings number at most MAX_LIST per word of the vocabulary).
    total = int(lengths.sum())
    if not total:
        return np.empty((0, 2), np.int64)
    begin = selective.starts[entries.word]
    shift = (begin - (np.cumsum(lengths) - lengths)).astype(np.int32)
    where = np.repeat(shift, lengths)
    where += np.arange(total, dtype=np.int32)
    differ = selective.signatures[where]
    differ ^= np.repeat(signature, lengths)
    close = np.flatnonzero(np.bitwise_count(differ) <= SIGNATURE_RADIUS)
    del differ
    entry = np.repeat(np.arange(len(lengths), dtype=np.int32), lengths)[close]
    other = selective.rows[where[close]]
    del where
    mine = np.flatnonzero(other != entries.query[entry])
    if not len(mine):
        return np.empty((0, 2), np.int64)
    return _ranked(entries, entry[mine].astype(np.int64), other[mine].astype(np.int64), weights, selective.n_rows)


def _ranked(entries: _Entries, entry: I64, other: I64, weights: _Weights, n_rows: int) -> I64:
    """:func:`_rank` of :func:`_votes` of the matches (``entries[entry]`` with rows
    ``other``), counting few of the votes exactly.

    Only each query's ``MUTUAL`` best-voted rows are kept, and a vote is at most the sum
    of the idf of every match the pair has (a keypoint votes its best word once; the
    idf is never negative). So each query's ``EXACT_FIRST`` rows with the highest such
    bound (among those with ``MIN_SHARED`` matches, which voting keypoints cannot
    outnumber) have their votes counted exactly, every match of theirs as before; when
    the ``MUTUAL``-th best of those votes is above the bound of every row left out,
    no row left out could have ranked among the ``MUTUAL`` best, and those ranks are the
    ranks all the votes give (the votes are the same sums, of the same matches, in the
    same order). A query where that does not hold has all its votes counted."""
    n_queries = entries.n_queries
    weight = weights.idf[entries.word]
    if (
        n_queries * n_rows > _DENSE_CELLS
        or n_rows <= EXACT_FIRST
        or not entries.contiguous
        or (len(weight) and weight.min() < 0)
    ):
        return _rank(*_votes(entries, entry, other, weights))
    local = entries.local[entry]
    cell = local * n_rows
    cell += other
    size = n_queries * n_rows
    # A row twice in one entry's list (two of its keypoints with the word) votes once:
    # the bound counts the first only (an entry's matches come in its list's row order).
    spent = weight[entry]
    spent[1:][(entry[1:] == entry[:-1]) & (other[1:] == other[:-1])] = 0.0
    bound = np.bincount(cell, weights=spent, minlength=size).reshape(n_queries, n_rows)
    possible = np.bincount(cell, minlength=size).reshape(n_queries, n_rows) >= MIN_SHARED
    bound[~possible] = -1.0
    nth = -np.partition(-bound, EXACT_FIRST - 1, axis=1)[:, EXACT_FIRST - 1]
    first = possible & (bound >= nth[:, None])
    left_out = np.where(possible & ~first, bound, -np.inf).max(axis=1)
    counted = np.flatnonzero(first.ravel()[cell])
    ranked, votes = _rank_with_votes(*_votes(entries, entry[counted], other[counted], weights))
    # Each query's MUTUAL-th best vote counted (none when fewer rows were ranked).
    place = np.searchsorted(entries.query[entries.firsts], ranked[:, 0] >> 32)
    last = np.full(n_queries, -np.inf)
    at_last = ranked[:, 1] == MUTUAL
    last[place[at_last]] = votes[at_last]
    # A margin far above the sums' rounding (both are sums of at most a few thousand
    # positive terms, so each is within about 1e-12 of its exact value, relatively).
    unsettled = (left_out > -np.inf) & ~(left_out * (1 + 1e-9) < last)
    if not unsettled.any():
        return ranked
    again = np.flatnonzero(unsettled[local])
    redone = _rank(*_votes(entries, entry[again], other[again], weights))
    both = np.concatenate([ranked[~unsettled[place]], redone])
    return both[np.lexsort((both[:, 1], both[:, 0] >> 32))]


def _rank(pairs: I64, votes: F64, voters: I64) -> I64:
    """:func:`_rank_with_votes` without the votes."""
    return _rank_with_votes(pairs, votes, voters)[0]


def _rank_with_votes(pairs: I64, votes: F64, voters: I64) -> tuple[I64, F64]:
    """Each query row's ``MUTUAL`` best-voted rows among those with ``MIN_SHARED``
    voting keypoints, shape (p, 2): ``query << 32 | row`` and the rank (1 for the
    best-voted; ties by row), by query row then rank; and their votes."""
    strong = voters >= MIN_SHARED
    pairs, votes = pairs[strong], votes[strong]
    query = pairs >> 32
    order = np.lexsort((pairs, -votes, query))
    pairs, query, votes = pairs[order], query[order], votes[order]
    first_of_query = np.flatnonzero(np.r_[True, query[1:] != query[:-1]])
    rank = np.arange(len(pairs)) - np.repeat(first_of_query, np.diff(np.r_[first_of_query, len(pairs)]))
    kept = rank < MUTUAL
    ranked: I64 = np.stack([pairs[kept], rank[kept] + 1], axis=1)
    return ranked, votes[kept]
