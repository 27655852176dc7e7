"""Exact Hamming-radius joins of 64-bit codes over multi-index tables.

A :class:`~ris_local.index.multiindex.MultiIndex` keeps, per substring, its rows sorted by the
substring's value. Two codes within ``radius`` bits agree within ``radius // 3`` bits in
one of the three substrings (pigeonhole), so a join visits, for every probe and every
mask of at most that many bits, the bucket of rows whose substring is the probe's XOR
the mask, and tests each row in it. The number of such tests is set by the tables; what
this module makes cheap is each test:

* Buckets are padded into a dense 2-D array of slots (the width that minimises the
  expected work, from the bucket sizes), so a probe's whole bucket is one row gather
  and the test is one vectorised XOR and popcount over the slots (no index arithmetic
  per pair). Buckets longer than the padding spill into wider layers, which are
  visited from their buckets (the probes with value ``bucket ^ mask`` are a range of
  the sorted probes): other probes pay nothing for them, and a skewed table costs
  what its pairs cost.
* A slot holds a 32-bit *filter word*: 32 code bits outside the table's substring. The
  substrings of a probe and a row in bucket ``value ^ mask`` differ in exactly the
  mask's bits, so the filter words may differ in at most ``radius - popcount(mask)``:
  a necessary test at half the memory traffic of the code. The few survivors are
  checked on the whole code.
* A self-join visits each unordered pair of buckets once: for a mask, only probes
  whose substring has the mask's highest bit clear.

Probes are taken in chunks of a few MB of slots, so memory stays bounded at any size,
and the chunks run on a small thread pool (NumPy releases the GIL in these loops). The
answer is sorted and unique, so it does not depend on the order the chunks finish in.

A few thousand codes are joined by comparing every pair instead (``BRUTE_FORCE_PAIRS``):
the tables' dense first layers and their hundreds of masks cost a few seconds whatever
the size, which is more than all pairs of a small collection cost. The answer is the same.
"""

from __future__ import annotations

import concurrent.futures
import functools
import itertools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["BRUTE_FORCE_PAIRS", "CHUNK_SLOTS", "radius_join", "ranges"]

U32 = npt.NDArray[np.uint32]
U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]
Table = tuple[U32, U32]  # a substring's sorted values and the row of each
Cut = tuple[int, int]  # (shift, bits) of a substring
Task = Callable[[], I64]  # one chunk of a join: its pair keys

#: Slots tested per chunk: a chunk's working arrays take a few MB and stay in cache.
CHUNK_SLOTS = 1 << 19
#: Up to this many pairs of codes, a join compares every pair (measured: 2,000 codes take
#: 0.1 s that way, the tables about 3 s at any size below 100k).
BRUTE_FORCE_PAIRS = 1 << 23
#: What a probe sent to a wider layer costs besides its slots, counted in slots (measured).
_DEEP_PROBE_COST = 12
#: What finding the probes of one wide bucket costs per mask, counted in slots (measured:
#: a few scattered lookups).
_DEEP_BUCKET_COST = 20
#: The widest first layer considered.
_MAX_WIDTH = 64
#: Worker threads: NumPy releases the GIL in the loops that matter here.
_THREADS = max(1, min(4, os.cpu_count() or 1))
# What a chunk keeps besides the radius test (see _pair_keys).
_ANY, _LATER, _OTHER_ROW = range(3)


@dataclass(frozen=True)
class _Layer:
    """Slots ``first .. first + width - 1`` of the buckets longer than ``first``."""

    first: int
    width: int
    values: I64 | None  # the substring value of each row of ``words``; None: all values in order
    words: U32  # (rows, width) filter words, 0 past a bucket's end


@dataclass(frozen=True)
class _Buckets:
    """One table: its rows by substring value, padded into layers of slots."""

    counts: I64  # rows per substring value
    starts: I64  # first sorted position of each value, then the total
    rows: I64  # row at each sorted position
    codes: U64  # every row's code
    layers: list[_Layer]


@dataclass(frozen=True)
class _Probes:
    """Codes looking for partners, sorted by substring value (so lookups stay local)."""

    values: I64
    starts: I64  # first probe of each value, then the total
    rows: I64  # the row each probe belongs to
    codes: U64
    words: U32


def radius_join(
    codes: U64,
    tables: Sequence[Table],
    cuts: Sequence[Cut],
    radius: int,
    *,
    direct: bool = True,
    probes: U64 | None = None,
) -> I64:
    """Pairs ``(i, j)``, ``i < j``, sorted, shape (p, 2): with ``direct``, those whose
    codes are within ``radius`` bits; with ``probes`` (one per row), also those where
    ``probes[i]`` is within ``radius`` of ``codes[j]`` or ``probes[j]`` of ``codes[i]``."""
    if any(bits > 32 for _, bits in cuts):
        raise ValueError("substrings wider than 32 bits leave no 32-bit filter word outside them")
    if len(codes) * len(codes) <= BRUTE_FORCE_PAIRS:
        return _every_pair(np.asarray(codes, np.uint64), radius, direct, probes)
    found = [np.empty(0, np.int64)]
    with concurrent.futures.ThreadPoolExecutor(_THREADS) as pool:
        for table, cut in zip(tables, cuts, strict=True):
            # One table at a time: its arrays are dropped before the next one's are made.
            tasks = _table_tasks(codes, table, cut, radius, radius // len(cuts), direct, probes)
            found += pool.map(_call, tasks)
            del tasks
    joined = np.unique(np.concatenate(found))
    return np.stack([joined >> 32, joined & 0xFFFFFFFF], axis=1)


def ranges(low: I64, high: I64) -> I64:
    """Concatenation of ``arange(low[i], high[i])`` for every i, without a Python loop."""
    count = high - low
    total = int(count.sum())
    if total == 0:
        return np.empty(0, dtype=np.int64)
    starts = np.repeat(low - np.concatenate([[0], np.cumsum(count)[:-1]]), count)
    out: I64 = np.asarray(starts + np.arange(total, dtype=np.int64), dtype=np.int64)
    return out


def _every_pair(codes: U64, radius: int, direct: bool, probes: U64 | None) -> I64:
    """:func:`radius_join`'s answer by comparing every pair, a block of rows at a time."""
    n, found = len(codes), [np.empty(0, np.int64)]
    others = None if probes is None else np.asarray(probes, np.uint64)
    step = max(1, CHUNK_SLOTS // max(1, n))
    for start in range(0, n, step):
        block = np.arange(start, min(n, start + step))
        close = np.zeros((len(block), n), bool)
        if direct:
            close |= np.bitwise_count(codes[block, None] ^ codes[None, :]) <= radius
        if others is not None:
            close |= np.bitwise_count(others[block, None] ^ codes[None, :]) <= radius
            close |= np.bitwise_count(codes[block, None] ^ others[None, :]) <= radius
        i, j = np.nonzero(close)
        i = block[i]
        keep = i < j
        found.append(i[keep] << 32 | j[keep])
    joined = np.unique(np.concatenate(found))
    return np.stack([joined >> 32, joined & 0xFFFFFFFF], axis=1)


def _call(task: Task) -> I64:
    return task()


def _table_tasks(
    codes: U64, table: Table, cut: Cut, radius: int, per_cut: int, direct: bool, probes: U64 | None
) -> list[Task]:
    """The chunks of the join through one table."""
    (values, rows), (shift, bits) = table, cut
    buckets = _buckets(values, rows, codes, shift, bits)
    masks = _masks(bits, per_cut)
    tasks = _self_tasks(buckets, shift, bits, masks, radius) if direct else []
    if probes is not None:
        queries = _sorted_probes(np.asarray(probes, np.uint64), shift, bits)
        tasks += _tasks(buckets, queries, masks, radius, _OTHER_ROW, None)
    return tasks


def _self_tasks(buckets: _Buckets, shift: int, bits: int, masks: list[int], radius: int) -> list[Task]:
    """Chunks covering every pair of rows whose substrings differ by one of ``masks``, once."""
    values = np.repeat(np.arange(len(buckets.counts), dtype=np.int64), buckets.counts)
    codes = buckets.codes[buckets.rows]
    everyone = _Probes(values, buckets.starts, buckets.rows, codes, _filter_words(codes, shift, bits))
    tasks = _tasks(buckets, everyone, [0], radius, _LATER, None)
    by_top: dict[int, list[int]] = {}
    for mask in masks[1:]:
        by_top.setdefault(mask.bit_length() - 1, []).append(mask)
    for top, group in sorted(by_top.items()):
        # Buckets v and v ^ mask meet once: from the one whose top mask bit is clear.
        tasks += _tasks(buckets, everyone, group, radius, _ANY, top)
    return tasks


def _masks(bits: int, radius: int) -> list[int]:
    """Every ``bits``-bit mask with at most ``radius`` bits set."""
    return [
        sum(1 << b for b in combo)
        for count in range(radius + 1)
        for combo in itertools.combinations(range(bits), count)
    ]


def _filter_words(codes: U64, shift: int, bits: int) -> U32:
    """32 code bits outside the substring: the code rotated to start just past it."""
    turn = (shift + bits) % 64
    rotated = codes >> np.uint64(turn) | codes << np.uint64((64 - turn) % 64) if turn else codes
    return (rotated & np.uint64(0xFFFFFFFF)).astype(np.uint32)


def _sorted_probes(probes: U64, shift: int, bits: int) -> _Probes:
    substring = (probes >> np.uint64(shift)) & np.uint64((1 << bits) - 1)
    # Value and row in one 64-bit key: one fast sort instead of a stable argsort.
    keys = np.sort(substring << np.uint64(32) | np.arange(len(probes), dtype=np.uint64))
    rows = (keys & np.uint64(0xFFFFFFFF)).astype(np.int64)
    codes = probes[rows]
    values = (keys >> np.uint64(32)).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(np.bincount(values, minlength=1 << bits))]).astype(np.int64)
    return _Probes(values, starts, rows, codes, _filter_words(codes, shift, bits))


def _buckets(values: U32, rows: U32, codes: U64, shift: int, bits: int) -> _Buckets:
    counts = np.bincount(values, minlength=1 << bits).astype(np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    sorted_rows = rows.astype(np.int64)
    words = _filter_words(codes[sorted_rows], shift, bits)
    slots = np.arange(len(values), dtype=np.int64) - starts[values]
    width, first, layers = _first_width(counts, len(values)), 0, []
    longest = int(counts.max(initial=0))
    while first == 0 or first < longest:
        layers.append(_layer(counts, values, slots, words, first, width))
        first, width = first + width, 2 * width
    return _Buckets(counts, starts, sorted_rows, codes, layers)


def _layer(counts: I64, values: U32, slots: I64, words: U32, first: int, width: int) -> _Layer:
    inside = np.flatnonzero((slots >= first) & (slots < first + width))
    if first == 0:
        # The first layer is dense, a row per value: a probe indexes it with its target.
        layer_values, where = None, values[inside].astype(np.int64)
        padded = np.zeros((len(counts), width), np.uint32)
    else:
        layer_values = np.flatnonzero(counts > first)
        where = np.searchsorted(layer_values, values[inside])
        padded = np.zeros((len(layer_values), width), np.uint32)
    padded[where, slots[inside] - first] = words[inside]
    return _Layer(first, width, layer_values, padded)


def _first_width(counts: I64, rows: int) -> int:
    """The first layer's width with the least expected work per probe (for a probe whose
    bucket is taken at random), counting what the wider layers cost."""
    longest = int(counts.max(initial=0))
    tail = 1.0 - np.cumsum(np.bincount(counts)) / max(1, len(counts))  # tail[s]: share longer than s
    per_probe = _DEEP_PROBE_COST + _DEEP_BUCKET_COST * len(counts) / max(1, rows)
    best, best_cost = 1, float("inf")
    # Powers of two only: NumPy gathers rows of 4, 8, 16 or 32 bytes fastest.
    for width in (1 << p for p in range(_MAX_WIDTH.bit_length()) if 1 << p <= max(1, longest)):
        cost, first, wide = float(width), width, 2 * width
        while first < longest:
            cost += float(tail[first]) * (wide + per_probe)
            first, wide = first + wide, 2 * wide
        if cost < best_cost:
            best, best_cost = width, cost
    return best


def _tasks(buckets: _Buckets, probes: _Probes, masks: list[int], radius: int, rule: int, top: int | None) -> list[Task]:
    """The chunks of ``probes`` (with ``top``, those with that bit clear) against buckets
    ``value ^ mask`` for each mask: the first layer a slice of probes at a time (each
    slice tries every mask while it is in cache), the wider layers a mask at a time."""
    size = max(1, CHUNK_SLOTS // buckets.layers[0].width) * (1 if top is None else 2)
    tasks: list[Task] = [
        functools.partial(_first_layer, buckets, probes, start, start + size, masks, radius, rule, top)
        for start in range(0, len(probes.values), size)
    ]
    if len(buckets.layers) > 1:
        tasks += [functools.partial(_wider_layers, buckets, probes, mask, radius, rule, top) for mask in masks]
    return tasks


def _first_layer(
    buckets: _Buckets, probes: _Probes, start: int, stop: int, masks: list[int], radius: int, rule: int, top: int | None
) -> I64:
    layer = buckets.layers[0]
    index = np.arange(start, min(stop, len(probes.values)))
    if top is not None:
        index = index[(probes.values[start:stop] >> top) & 1 == 0]
    values, words = probes.values[index], probes.words[index]
    # Flat operands for the XOR: NumPy's inner loops are slow over a short broadcast axis.
    repeated = np.repeat(words, layer.width) if layer.width > 1 else words
    found = [np.empty(0, np.int64)]
    for mask in masks:
        which, slots = _slots_near(layer, values ^ mask, repeated, radius - mask.bit_count())
        found.append(_pair_keys(buckets, probes, index[which], values[which] ^ mask, slots, radius, rule))
    return np.concatenate(found)


def _wider_layers(buckets: _Buckets, probes: _Probes, mask: int, radius: int, rule: int, top: int | None) -> I64:
    found, limit = [np.empty(0, np.int64)], radius - mask.bit_count()
    for layer in buckets.layers[1:]:
        assert layer.values is not None
        # Probes with the top bit clear look into buckets with it set.
        rows = np.arange(len(layer.values)) if top is None else np.flatnonzero((layer.values >> top) & 1)
        wanted = layer.values[rows] ^ mask  # the probe value that looks into each bucket
        low, high = probes.starts[wanted], probes.starts[wanted + 1]
        which, rows = ranges(low, high), np.repeat(rows, high - low)
        step = max(1, CHUNK_SLOTS // layer.width)
        for begin in range(0, len(which), step):
            part, part_rows = which[begin : begin + step], rows[begin : begin + step]
            repeated = np.repeat(probes.words[part], layer.width)
            near, slots = _slots_near(layer, part_rows, repeated, limit)
            found.append(_pair_keys(buckets, probes, part[near], layer.values[part_rows[near]], slots, radius, rule))
    return np.concatenate(found)


def _slots_near(layer: _Layer, rows: I64, repeated: U32, limit: int) -> tuple[I64, I64]:
    """(index into ``rows``, slot) of the slots of ``layer.words[rows]`` whose filter
    word is within ``limit`` bits of the probe's (given once per slot in ``repeated``)."""
    block = np.take(layer.words, rows, axis=0).reshape(-1)
    np.bitwise_xor(block, repeated, out=block)
    which, slot = np.divmod(np.flatnonzero(np.bitwise_count(block) <= limit), layer.width)
    return which, slot + layer.first


def _pair_keys(buckets: _Buckets, probes: _Probes, which: I64, bucket: I64, slots: I64, radius: int, rule: int) -> I64:
    """Keys ``min << 32 | max`` of the candidates (probe, slot of bucket) within ``radius``."""
    valid = slots < buckets.counts[bucket]  # not the padding past a bucket's end
    which, positions = which[valid], buckets.starts[bucket[valid]] + slots[valid]
    left, right = probes.rows[which], buckets.rows[positions]
    keep = np.bitwise_count(probes.codes[which] ^ buckets.codes[right]) <= radius
    if rule == _LATER:  # a self-join within one bucket meets each pair from both ends
        keep &= positions > which
    elif rule == _OTHER_ROW:  # a row's probe against its own code
        keep &= left != right
    left, right = left[keep], right[keep]
    keys: I64 = (np.minimum(left, right) << 32) | np.maximum(left, right)
    return keys
