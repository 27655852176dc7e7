"""The keypoint stage's index: an inverted file from visual words to keypoints.

Each posting is 10 bytes, the image row (u32), the packed keypoint (u32: position,
orientation, the signature's first 12 bits) and the rest of its 28-bit signature (u16;
see :mod:`ris_local.features.layout`), stored in CSR form ordered by word. A query looks up
the postings of its words, keeps those whose signature is within ``SIGNATURE_RADIUS``
bits of its own keypoint's (Hamming embedding: it rejects most unrelated keypoints that
share the word), and votes for rows with the words' inverse document frequency, each
(query keypoint, row) pair once. Only the best-voted rows are verified geometrically.

New postings wait in a tail that queries search through a sorted copy; the tail is merged into the
CSR arrays when it passes ``max(65536, 5%)`` of the postings.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from ris_local.index.hamming_join import ranges
from ris_local.scoring.verification import signatures as signature_of

__all__ = ["SIGNATURE_RADIUS", "InvertedFile", "Postings", "RowPostings", "signature_close"]

SIGNATURE_RADIUS = 6

U16 = npt.NDArray[np.uint16]
U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]
#: (query entry index, row, packed keypoint) of each matching posting.
Postings = tuple[I64, I64, U32]
#: A row's (words, packed keypoints, signature rests), as :meth:`InvertedFile.by_row` returns them.
RowPostings = Callable[[int], tuple[U16, U32, U16]]


def signature_close(packed: U32, rest: U16, signatures: U32) -> npt.NDArray[np.bool_]:
    """Which keypoints (packed, with their signature rests) have a signature within
    ``SIGNATURE_RADIUS`` bits of the matching one of ``signatures``."""
    return np.asarray(np.bitwise_count(signature_of(packed, rest) ^ signatures) <= SIGNATURE_RADIUS)


class InvertedFile:
    """Postings of ``words``-word vocabulary, row numbers assigned by the caller."""

    def __init__(self, words: int) -> None:
        self.words = words
        self._starts = np.zeros(words + 1, dtype=np.int64)
        self._rows: U32 = np.empty(0, np.uint32)
        self._packed: U32 = np.empty(0, np.uint32)
        self._rest: U16 = np.empty(0, np.uint16)
        self._tail: list[tuple[U16, U32, U32, U16]] = []
        self._sorted_tail: tuple[I64, I64, I64, U32, U16] | None = None  # built on the first lookup
        self._tail_size = 0
        self._doc_freq = np.zeros(words, dtype=np.int64)
        self._idf_order: I64 | None = None  # built on first use, dropped when _doc_freq changes
        self.row_count = 0

    def nbytes(self) -> int:
        """Memory held by the postings (CSR and tail)."""
        tail = sum(sum(part.nbytes for part in parts) for parts in self._tail)
        arrays = (self._starts, self._rows, self._packed, self._rest, self._doc_freq)
        return int(sum(array.nbytes for array in arrays) + tail)

    def add(self, row: int, words: U16, packed: U32, rest: U16) -> None:
        """Add one image's postings under ``row``."""
        self._tail.append((words, np.full(len(words), row, dtype=np.uint32), packed, rest))
        self._sorted_tail = None
        self._tail_size += len(words)
        self._doc_freq[np.unique(words.astype(np.int64))] += 1
        self._idf_order = None
        self.row_count = max(self.row_count, row + 1)
        if self._tail_size > max(65536, len(self._rows) // 20):
            self.merge()

    def merge(self, keep: npt.NDArray[np.bool_] | None = None, renumber: I64 | None = None) -> None:
        """Fold the tail into the CSR arrays; with ``keep``/``renumber``, drop dead rows
        and renumber the live ones."""
        counts = np.diff(self._starts)
        words = [np.repeat(np.arange(self.words, dtype=np.int64), counts)]
        rows, packed, rest = [self._rows], [self._packed], [self._rest]
        for w, r, p, s in self._tail:
            words.append(w.astype(np.int64))
            rows.append(r)
            packed.append(p)
            rest.append(s)
        all_words, all_rows = np.concatenate(words), np.concatenate(rows)
        all_packed, all_rest = np.concatenate(packed), np.concatenate(rest)
        if keep is not None and renumber is not None:
            live = keep[all_rows]
            all_words, all_rows = all_words[live], renumber[all_rows[live]].astype(np.uint32)
            all_packed, all_rest = all_packed[live], all_rest[live]
            self.row_count = int(keep.sum())
            pairs = np.unique(all_rows.astype(np.int64) * self.words + all_words)
            self._doc_freq = np.bincount(pairs % self.words, minlength=self.words).astype(np.int64)
            self._idf_order = None
        order = np.argsort(all_words, kind="stable")
        self._rows, self._packed, self._rest = all_rows[order], all_packed[order], all_rest[order]
        self._starts = np.concatenate([[0], np.cumsum(np.bincount(all_words, minlength=self.words))])
        self._tail, self._tail_size, self._sorted_tail = [], 0, None

    def idf(self, live_rows: int) -> npt.NDArray[np.float64]:
        """Inverse document frequency of every word."""
        return np.log((live_rows + 1) / (self._doc_freq + 1))

    def idf_order(self) -> I64:
        """The words by ascending idf, ties in word order: ``np.argsort(idf(n), kind="stable")``
        for every ``n``, since idf falls as the document frequency rises. Kept between
        queries: sorting 65,536 words cost about 9 ms of every keypoint look."""
        if self._idf_order is None:
            self._idf_order = np.argsort(-self._doc_freq, kind="stable")
        return self._idf_order

    def lookup(self, words: I64, signatures: U32, budget: int | None = None) -> tuple[Postings, I64]:
        """Postings of each query entry's word whose signature is within
        ``SIGNATURE_RADIUS`` bits of the entry's ``signatures``, and the entries left out.

        With a ``budget``, the entries with the longest lists are left out until the
        lists to scan hold at most ``budget`` postings: frequent words cost the most and
        say the least (their idf is low). :meth:`lookup_rows` finds their postings in
        the few rows worth verifying.
        """
        low, high = self._starts[words], self._starts[words + 1]
        length = high - low
        chosen = np.ones(len(words), dtype=bool)
        if budget is not None and int(length.sum()) > budget:
            by_length = np.argsort(length, kind="stable")
            chosen[by_length[np.cumsum(length[by_length]) > budget]] = False
        kept = np.flatnonzero(chosen)
        found = self._scan(kept, low[kept], high[kept], signatures[kept])
        if self._tail:
            tail = self._lookup_tail(words, signatures)
            found = (
                np.concatenate([found[0], tail[0]]),
                np.concatenate([found[1], tail[1]]),
                np.concatenate([found[2], tail[2]]),
            )
        return found, np.flatnonzero(~chosen)

    def lookup_rows(self, words: I64, signatures: U32, rows: I64) -> Postings:
        """Like :meth:`lookup`, but only postings in ``rows`` (ascending), found by binary
        search: within a word's list, postings are in row order (rows are numbered in
        insertion order and lists are merged stably). Each distinct word is searched once,
        for the start of every wanted row at a time (the end is stepped to over the row's
        few postings of the word). The tail is not searched
        here; :meth:`lookup` already scanned it for every entry."""
        if not len(words) or not len(rows):
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.uint32)
        wanted = rows.astype(self._rows.dtype)  # the lists' own dtype: no conversion per search
        distinct, entry_word = np.unique(words, return_inverse=True)
        found = np.empty((len(distinct), len(wanted)), dtype=np.int64)
        for index, word in enumerate(distinct.tolist()):
            start, end = int(self._starts[word]), int(self._starts[word + 1])
            found[index] = start + np.searchsorted(self._rows[start:end], wanted)
        low = found.ravel()
        high = self._run_ends(low, np.repeat(self._starts[distinct + 1], len(wanted)), np.tile(wanted, len(distinct)))
        # The wanted rows' postings of each distinct word, gathered once (in row order),
        # then each entry takes its word's block: the same postings in the same order as
        # gathering them entry by entry, at a fraction of the random reads.
        at = ranges(low, high)
        packed, rest, rows_of = self._packed[at], self._rest[at], self._rows[at]
        block_end = np.cumsum((high - low).reshape(len(distinct), len(wanted)).sum(axis=1))
        block = (block_end - np.diff(block_end, prepend=0))[entry_word], block_end[entry_word]
        pick = ranges(*block)
        owner = np.repeat(np.arange(len(words), dtype=np.int64), block[1] - block[0])
        close = np.flatnonzero(signature_close(packed[pick], rest[pick], signatures[owner]))
        pick = pick[close]
        return owner[close], rows_of[pick].astype(np.int64), packed[pick]

    def _run_ends(self, low: I64, end: I64, wanted: U32) -> I64:
        """Where the run of postings of row ``wanted[i]`` that starts at ``low[i]`` ends
        (its list ends at ``end[i]``). A row has few postings of one word, so stepping
        over them costs less than a second binary search per row (which this replaces:
        the same positions)."""
        high = low.copy()
        active = np.flatnonzero(high < end)
        while len(active):
            active = active[self._rows[high[active]] == wanted[active]]
            high[active] += 1
            active = active[high[active] < end[active]]
        return high

    def _scan(self, entries: I64, low: I64, high: I64, signatures: U32) -> Postings:
        """The CSR postings ``low[i]:high[i]`` of each of ``entries`` whose signature is
        within ``SIGNATURE_RADIUS`` bits of ``signatures[i]``, in entry then list order.

        The lists are copied as slices (contiguous copies, not a gather through an index
        of every posting), and the entry of each survivor is found from where the
        survivors of each list end, a search of a few thousand list ends in the
        survivors instead of an index of every scanned posting: about half the CPU of
        the gather it replaces, for the same postings in the same order."""
        if not len(entries):
            return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.uint32)
        spans = [slice(start, end) for start, end in zip(low.tolist(), high.tolist(), strict=True)]
        counts = high - low
        packed = np.concatenate([self._packed[span] for span in spans])
        rest = np.concatenate([self._rest[span] for span in spans])
        at = np.flatnonzero(signature_close(packed, rest, np.repeat(signatures, counts)))
        rows = np.concatenate([self._rows[span] for span in spans])
        per_entry = np.diff(np.searchsorted(at, np.cumsum(counts)), prepend=0)
        return np.repeat(entries, per_entry), rows[at].astype(np.int64), packed[at]

    def _lookup_tail(self, words: I64, signatures: U32) -> Postings:
        """The same for postings not yet merged (few: searched in a sorted copy, which
        lasts until the next add)."""
        if self._sorted_tail is None:
            tail_words = np.concatenate([parts[0] for parts in self._tail]).astype(np.int64)
            order = np.argsort(tail_words, kind="stable")
            self._sorted_tail = (
                tail_words[order],
                order,
                np.concatenate([parts[1] for parts in self._tail]).astype(np.int64),
                np.concatenate([parts[2] for parts in self._tail]),
                np.concatenate([parts[3] for parts in self._tail]),
            )
        tw, order, tail_rows, tail_packed, tail_rest = self._sorted_tail
        low, high = np.searchsorted(tw, words, "left"), np.searchsorted(tw, words, "right")
        where = order[ranges(low, high)]
        owner = np.repeat(np.arange(len(words), dtype=np.int64), high - low)
        packed = tail_packed[where]
        close = signature_close(packed, tail_rest[where], signatures[owner])
        return owner[close], tail_rows[where[close]], packed[close]

    def by_row(self) -> RowPostings:
        """A lookup of each row's (words, packed keypoints, signature rests), for a self-join."""
        starts, rows, packed, rest, _ = self.arrays()
        words = np.repeat(np.arange(self.words, dtype=np.uint16), np.diff(starts))
        order = np.argsort(rows, kind="stable")
        sorted_rows = rows[order]
        bounds = np.searchsorted(sorted_rows, np.arange(self.row_count + 1))

        def lookup(row: int) -> tuple[U16, U32, U16]:
            if row + 1 >= len(bounds):  # a row after the last one with keypoints has none
                return words[:0], packed[:0], rest[:0]
            chosen = order[bounds[row] : bounds[row + 1]]
            return words[chosen], packed[chosen], rest[chosen]

        return lookup

    def arrays(self) -> tuple[I64, U32, U32, U16, I64]:
        """``(starts, rows, packed, rest, doc_freq)`` after merging, for persistence."""
        if self._tail:
            self.merge()
        return self._starts, self._rows, self._packed, self._rest, self._doc_freq

    def load(self, starts: I64, rows: U32, packed: U32, rest: U16, doc_freq: I64, row_count: int) -> None:
        """Adopt arrays saved by :meth:`arrays`."""
        self._starts, self._rows, self._packed, self._rest, self._doc_freq = starts, rows, packed, rest, doc_freq
        self._tail, self._tail_size, self._sorted_tail, self.row_count = [], 0, None, row_count
        self._idf_order = None
