"""The robust stage's index: an inverted file from visual words to keypoints.

Each posting is 8 bytes, the image row (u32) and the packed keypoint (u32: position,
orientation, 12-bit signature; see :mod:`ris_local.features`), stored in CSR form
ordered by word. A query looks up the postings of its words, keeps those whose
signature is within ``SIGNATURE_RADIUS`` bits of its own keypoint's (Hamming
embedding), and votes for rows with the words' inverse document frequency, each
(query keypoint, row) pair once. Only the best-voted rows are verified geometrically.

New postings wait in a tail that queries scan with a mask; the tail is merged into the
CSR arrays when it passes ``max(65536, 5%)`` of the postings.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from ris_local.multiindex import _ranges

__all__ = ["SIGNATURE_RADIUS", "InvertedFile", "Postings"]

SIGNATURE_RADIUS = 3

U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]
#: (query entry index, row, packed keypoint) of each matching posting.
Postings = tuple[I64, I64, U32]


class InvertedFile:
    """Postings of ``words``-word vocabulary, row numbers assigned by the caller."""

    def __init__(self, words: int) -> None:
        self.words = words
        self._starts = np.zeros(words + 1, dtype=np.int64)
        self._rows: U32 = np.empty(0, np.uint32)
        self._packed: U32 = np.empty(0, np.uint32)
        self._tail: list[tuple[npt.NDArray[np.uint16], U32, U32]] = []
        self._tail_size = 0
        self._doc_freq = np.zeros(words, dtype=np.int64)
        self.row_count = 0

    def nbytes(self) -> int:
        """Memory held by the postings (CSR and tail)."""
        tail = sum(w.nbytes + r.nbytes + p.nbytes for w, r, p in self._tail)
        return int(self._starts.nbytes + self._rows.nbytes + self._packed.nbytes + tail + self._doc_freq.nbytes)

    def add(self, row: int, words: npt.NDArray[np.uint16], packed: U32) -> None:
        """Add one image's postings under ``row``."""
        self._tail.append((words, np.full(len(words), row, dtype=np.uint32), packed))
        self._tail_size += len(words)
        self._doc_freq[np.unique(words.astype(np.int64))] += 1
        self.row_count = max(self.row_count, row + 1)
        if self._tail_size > max(65536, len(self._rows) // 20):
            self.merge()

    def merge(self, keep: npt.NDArray[np.bool_] | None = None, renumber: I64 | None = None) -> None:
        """Fold the tail into the CSR arrays; with ``keep``/``renumber``, drop dead rows
        and renumber the live ones."""
        counts = np.diff(self._starts)
        words = [np.repeat(np.arange(self.words, dtype=np.int64), counts)]
        rows, packed = [self._rows], [self._packed]
        for w, r, p in self._tail:
            words.append(w.astype(np.int64))
            rows.append(r)
            packed.append(p)
        all_words, all_rows, all_packed = np.concatenate(words), np.concatenate(rows), np.concatenate(packed)
        if keep is not None and renumber is not None:
            live = keep[all_rows]
            all_words, all_rows, all_packed = (
                all_words[live],
                renumber[all_rows[live]].astype(np.uint32),
                all_packed[live],
            )
            self.row_count = int(keep.sum())
            pairs = np.unique(all_rows.astype(np.int64) * self.words + all_words)
            self._doc_freq = np.bincount(pairs % self.words, minlength=self.words).astype(np.int64)
        order = np.argsort(all_words, kind="stable")
        self._rows, self._packed = all_rows[order], all_packed[order]
        self._starts = np.concatenate([[0], np.cumsum(np.bincount(all_words, minlength=self.words))])
        self._tail, self._tail_size = [], 0

    def idf(self, live_rows: int) -> npt.NDArray[np.float64]:
        """Inverse document frequency of every word."""
        return np.log((live_rows + 1) / (self._doc_freq + 1))

    def lookup(self, words: I64, signatures: U32) -> Postings:
        """Postings of each query entry's word whose signature is within
        ``SIGNATURE_RADIUS`` bits of the entry's ``signatures``."""
        low, high = self._starts[words], self._starts[words + 1]
        where = _ranges(low, high)
        entries = np.arange(len(words), dtype=np.int64)
        owner = np.repeat(entries, high - low)
        rows, packed = self._rows[where].astype(np.int64), self._packed[where]
        if self._tail:
            tail_words = np.concatenate([w for w, _, _ in self._tail]).astype(np.int64)
            tail_rows = np.concatenate([r for _, r, _ in self._tail]).astype(np.int64)
            tail_packed = np.concatenate([p for _, _, p in self._tail])
            order = np.argsort(tail_words, kind="stable")
            tw = tail_words[order]
            t_low, t_high = np.searchsorted(tw, words, "left"), np.searchsorted(tw, words, "right")
            t_where = order[_ranges(t_low, t_high)]
            owner = np.concatenate([owner, np.repeat(entries, t_high - t_low)])
            rows = np.concatenate([rows, tail_rows[t_where]])
            packed = np.concatenate([packed, tail_packed[t_where]])
        close = np.bitwise_count((packed >> 20) ^ signatures[owner]) <= SIGNATURE_RADIUS
        return owner[close], rows[close], packed[close]

    def by_row(self) -> Callable[[int], tuple[npt.NDArray[np.uint16], U32]]:
        """A lookup of each row's (words, packed keypoints), for a self-join."""
        starts, rows, packed, _ = self.arrays()
        words = np.repeat(np.arange(self.words, dtype=np.uint16), np.diff(starts))
        order = np.argsort(rows, kind="stable")
        sorted_rows = rows[order]
        bounds = np.searchsorted(sorted_rows, np.arange(self.row_count + 1))

        def lookup(row: int) -> tuple[npt.NDArray[np.uint16], U32]:
            if row + 1 >= len(bounds):  # a row after the last one with keypoints has none
                return words[:0], packed[:0]
            chosen = order[bounds[row] : bounds[row + 1]]
            return words[chosen], packed[chosen]

        return lookup

    def arrays(self) -> tuple[I64, U32, U32, I64]:
        """``(starts, rows, packed, doc_freq)`` after merging, for persistence."""
        if self._tail:
            self.merge()
        return self._starts, self._rows, self._packed, self._doc_freq

    def load(self, starts: I64, rows: U32, packed: U32, doc_freq: I64, row_count: int) -> None:
        """Adopt arrays saved by :meth:`arrays`."""
        self._starts, self._rows, self._packed, self._doc_freq = starts, rows, packed, doc_freq
        self._tail, self._tail_size, self.row_count = [], 0, row_count
