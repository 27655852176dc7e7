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
  the idf of its best word that the row shares, once. An image's ``PER_ROW`` best-voted
  rows with at least ``MIN_SHARED`` voting keypoints become candidate pairs, to be
  scored by the caller.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import numpy.typing as npt

from ris_local.index.hamming_join import ranges
from ris_local.index.invertedfile import SIGNATURE_RADIUS
from ris_local.scoring.verification import signatures

__all__ = ["MAX_LIST", "MIN_SHARED", "PER_ROW", "QueryBatch", "voted_pairs"]

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
#: Candidates kept per image, best-voted first.
PER_ROW = 2


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
    """Candidate pairs ``(a, b)``, ``a < b``, shape (p, 2), sorted, unique: for each
    query row of ``batches``, its ``PER_ROW`` best-voted ``rows_ok`` rows through the
    CSR postings (``starts`` per word; ``rows``, ``packed``, ``rest`` per posting).
    ``progress`` is called after each batch."""
    lengths = np.diff(starts)
    found = [np.empty(0, np.int64)]
    for batch in batches:
        found.append(_batch_pairs(starts, lengths, rows, packed, rest, idf, rows_ok, batch))
        if progress is not None:
            progress()
    keys = np.unique(np.concatenate(found))
    return np.stack([keys >> 32, keys & 0xFFFFFFFF], axis=1)


def _batch_pairs(
    starts: I64,
    lengths: I64,
    rows: U32,
    packed: U32,
    rest: U16,
    idf: F64,
    rows_ok: npt.NDArray[np.bool_],
    batch: QueryBatch,
) -> I64:
    """Keys ``min << 32 | max`` of one batch's candidate pairs."""
    query_row, keypoint, word, signature = batch
    selective = (lengths[word] > 0) & (lengths[word] <= MAX_LIST)
    query_row, keypoint, word, signature = (
        query_row[selective],
        keypoint[selective],
        word[selective],
        signature[selective],
    )
    where = ranges(starts[word], starts[word + 1])
    entry = np.repeat(np.arange(len(word), dtype=np.int64), lengths[word])
    other = rows[where].astype(np.int64)
    close = np.bitwise_count(signatures(packed[where], rest[where]) ^ signature[entry]) <= SIGNATURE_RADIUS
    close &= rows_ok[other] & (other != query_row[entry])
    entry, other = entry[close], other[close]
    if not len(entry):
        return np.empty(0, np.int64)
    # A keypoint votes once per row, with the idf of its best word the row shares: one
    # sort of (keypoint, row) keys (a batch numbers its keypoints from 0, far below 2**31).
    voter = keypoint[entry] << 32 | other
    order = np.argsort(voter)
    voter, weight = voter[order], idf[word[entry[order]]]
    first = np.flatnonzero(np.r_[True, voter[1:] != voter[:-1]])
    best = np.maximum.reduceat(weight, first) if len(first) else weight[:0]
    voter = voter[first]
    owner = np.empty(int(keypoint.max()) + 1, np.int64)
    owner[keypoint] = query_row
    pair = owner[voter >> 32] << 32 | (voter & 0xFFFFFFFF)
    pairs, where, voters = np.unique(pair, return_inverse=True, return_counts=True)
    votes = np.bincount(where, weights=best, minlength=len(pairs))
    strong = voters >= MIN_SHARED
    pairs, votes = pairs[strong], votes[strong]
    # Each query row's best-voted rows (pairs are sorted by query row already).
    query = pairs >> 32
    order = np.lexsort((pairs, -votes, query))
    pairs, query = pairs[order], query[order]
    first_of_query = np.flatnonzero(np.r_[True, query[1:] != query[:-1]])
    rank = np.arange(len(pairs)) - np.repeat(first_of_query, np.diff(np.r_[first_of_query, len(pairs)]))
    chosen = pairs[rank < PER_ROW]
    a, b = chosen >> 32, chosen & 0xFFFFFFFF
    keys: I64 = np.minimum(a, b) << 32 | np.maximum(a, b)
    return keys
