"""The inverted file: a budgeted lookup plus a per-row lookup finds what a full one does."""

from __future__ import annotations

import numpy as np

from ris_local.index.invertedfile import SIGNATURE_RADIUS, InvertedFile


def filled(rows: int, words: int, seed: int) -> InvertedFile:
    """Random postings whose signatures keep to their first 12 bits (the rest is 0), so
    that random query signatures of 12 bits are often within the radius."""
    rng = np.random.default_rng(seed)
    index = InvertedFile(words)
    # Skewed word frequencies, as real vocabularies have: some lists are long.
    weights = 1.0 / np.arange(1, words + 1)
    for row in range(rows):
        chosen = rng.choice(words, 40, p=weights / weights.sum()).astype(np.uint16)
        packed = rng.integers(0, 2**32, 40, dtype=np.uint64).astype(np.uint32)
        index.add(row, chosen, packed, np.zeros(40, np.uint16))
    index.merge()
    return index


def as_set(entries: np.ndarray, rows: np.ndarray, packed: np.ndarray) -> set[tuple[int, int, int]]:
    return set(zip(entries.tolist(), rows.tolist(), packed.tolist(), strict=True))


def test_budgeted_lookup_and_row_lookup_cover_the_full_lookup() -> None:
    index = filled(500, 64, 1)
    rng = np.random.default_rng(2)
    words = rng.integers(0, 64, 30).astype(np.int64)
    signatures = rng.integers(0, 4096, 30).astype(np.uint32)
    full, none_skipped = index.lookup(words, signatures)
    assert len(none_skipped) == 0
    assert len(full[0]) > 0
    assert (np.bitwise_count((full[2] >> 20) ^ signatures[full[0]]) <= SIGNATURE_RADIUS).all()
    (entries, rows, packed), skipped = index.lookup(words, signatures, budget=2000)
    assert len(skipped) > 0  # the budget left the longest lists out
    wanted = np.unique(full[1])[::3]
    more = index.lookup_rows(words[skipped], signatures[skipped], wanted)
    got = as_set(entries, rows, packed) | as_set(skipped[more[0]], more[1], more[2])
    expected = {t for t in as_set(*full) if t[0] not in set(skipped.tolist()) or t[1] in set(wanted.tolist())}
    assert got == expected


def test_lookup_sees_postings_not_yet_merged() -> None:
    index = filled(50, 16, 3)
    index.add(50, np.array([7], np.uint16), np.array([(123 << 20) | 5], np.uint32), np.array([9], np.uint16))
    (_, rows, _), _ = index.lookup(np.array([7], np.int64), np.array([123 | (9 << 12)], np.uint32), budget=1)
    assert 50 in rows.tolist()


def one_by_one(
    index: InvertedFile, words: np.ndarray, signatures: np.ndarray, rows: np.ndarray | None = None
) -> list[tuple[int, int, int]]:
    """The postings a lookup promises, posting by posting: entry by entry, each list in
    its stored order, only ``rows`` if given."""
    starts, stored_rows, packed, rest, _ = index.arrays()
    allowed = None if rows is None else set(rows.tolist())
    out = []
    for entry, (word, signature) in enumerate(zip(words.tolist(), signatures.tolist(), strict=True)):
        for at in range(int(starts[word]), int(starts[word + 1])):
            row = int(stored_rows[at])
            full = (int(packed[at]) >> 20) | (int(rest[at]) << 12)
            if (allowed is None or row in allowed) and (full ^ signature).bit_count() <= SIGNATURE_RADIUS:
                out.append((entry, row, int(packed[at])))
    return out


def test_lookups_return_every_posting_in_entry_then_list_order() -> None:
    # Few words and 40 postings a row: most rows hold several postings of one word, and
    # the last row ends every list it is in, the edge cases of the vectorised scans.
    index = filled(300, 24, 4)
    rng = np.random.default_rng(5)
    words = rng.integers(0, 24, 50).astype(np.int64)
    signatures = rng.integers(0, 4096, 50).astype(np.uint32)
    (entries, rows, packed), skipped = index.lookup(words, signatures)
    assert len(skipped) == 0
    assert (entries.dtype, rows.dtype, packed.dtype) == (np.int64, np.int64, np.uint32)
    assert list(zip(entries.tolist(), rows.tolist(), packed.tolist(), strict=True)) == one_by_one(
        index, words, signatures
    )
    wanted = np.unique(np.concatenate([rng.choice(300, 40, replace=False), [0, 299]])).astype(np.int64)
    entries, rows, packed = index.lookup_rows(words, signatures, wanted)
    assert (entries.dtype, rows.dtype, packed.dtype) == (np.int64, np.int64, np.uint32)
    got = list(zip(entries.tolist(), rows.tolist(), packed.tolist(), strict=True))
    assert got == one_by_one(index, words, signatures, wanted)


def test_row_lookup_in_long_lists_finds_every_run_of_a_row() -> None:
    # Lists of about 10,000 postings with about five of each row: the per-row lookup's
    # first search (every FENCE_STEP-th row of a list) leaves runs that straddle its
    # steps, and wanted rows with no posting of a word, at the start, middle and end.
    index = filled(2000, 8, 7)
    rng = np.random.default_rng(8)
    words = np.arange(8, dtype=np.int64).repeat(2)
    signatures = rng.integers(0, 4096, 16).astype(np.uint32)
    wanted = np.unique(np.concatenate([rng.choice(2000, 300, replace=False), [0, 1, 1998, 1999]])).astype(np.int64)
    entries, rows, packed = index.lookup_rows(words, signatures, wanted)
    got = list(zip(entries.tolist(), rows.tolist(), packed.tolist(), strict=True))
    assert len(got) > 0
    assert got == one_by_one(index, words, signatures, wanted)
