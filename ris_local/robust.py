"""The default local engine: hash codes for the easy cases, ORB keypoints for the rest.

:class:`RobustEngine` extracts, per image, four 64-bit hash codes (a DCT and a gradient
hash of the picture inside its borders, and of its mirror) and ORB keypoints: up to 400
of the picture at each of two scales and 400 of its mirror, quantised to a 65,536-word
vocabulary (the layout is in :mod:`ris_local.features.layout`). :class:`RobustIndex` answers
queries with the hash stage alone when a hash is sure, and otherwise verifies keypoint
matches geometrically (see :mod:`ris_local.index.cascade`). Thresholds come from the benchmark's calibration
(BENCHMARKS.md); :mod:`ris_core.calibration` derives them from other labelled pairs.

:class:`HashStageEngine` is the hash stage alone: the same codes, no keypoints, for
collections where crops and rotations do not matter and ingest speed does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from ris_core.images import ImageData
from ris_local.engine import BlobReader, Engine, FeatureIndex, Hit, Keys, Progress, Score
from ris_local.features import layout
from ris_local.features.layout import Features, KeypointSet
from ris_local.index import centres
from ris_local.index.blocks import from_blocks, to_blocks
from ris_local.index.cascade import (
    AGREEING_BONUS,
    CONFIRM_KEYPOINTS,
    FLAT,
    FLAT_SIMILARITY,
    HASH,
    KEYPOINTS,
    MIRROR_BELOW,
    THUMBNAIL,
    TURN_BELOW,
    UNCONFIRMED_PENALTY,
    ZERO_SIMILARITY_BITS,
    CascadeIndex,
    hash_radius,
    hash_similarity,
    hash_stages,
)
from ris_local.index.hamming_join import ranges
from ris_local.index.invertedfile import RowPostings, signature_close
from ris_local.index.keypoint_join import QueryBatch, voted_pairs
from ris_local.scoring import colour, thumbnails
from ris_local.scoring.verification import Match, signatures, similarity, unpack, verify

__all__ = ["HashStageEngine", "RobustEngine", "RobustIndex", "score_pair"]

#: A hash similarity at least this high (a summed distance of 9 bits or less) settles a
#: query without keypoints. Two screens of one app's list view (grey, the same rows) reach
#: 81-83, so an unsure hash hit in that band is checked against the keypoints.
SURE_SIMILARITY = 85.0
#: Summed Hamming radius of the hash stage's lookups (its similarity floor is 100*(1-r/64)).
SEARCH_RADIUS = 24
#: Below this similarity a row can qualify without being near in either stage, so
#: searches and self-joins fall back to scoring every row's hash codes.
FLOOR_SIMILARITY = 100.0 * (1.0 - SEARCH_RADIUS / 64.0)
#: The hash stage's self-join never looks further than this many DCT bits.
MAX_JOIN_BITS = 8
_COMPACT_SHARE = 0.2  # compact when this share of rows has been removed
_JOIN_SHORTLIST = 5  # rows verified per image in the keypoint self-join
_READ_BATCH = 256  # stored blobs read at a time by the searched self-join
_CLASHED = -1  # the searched self-join's mark for a pair whose colours clash
I64 = npt.NDArray[np.int64]
_SCORE_BATCH = 512  # candidate pairs scored per read of their stored blobs
_QUERY_BATCH = 64  # images whose keypoints are looked up together by the keypoint join


class RobustIndex(FeatureIndex):
    """A :class:`CascadeIndex` behind the backend's :class:`FeatureIndex` interface."""

    def __init__(
        self, always_verify: bool = False, keypoint_duplicates: bool = True, per_image_duplicates: bool = False
    ) -> None:
        self.core = CascadeIndex(SURE_SIMILARITY, SEARCH_RADIUS)
        self.always_verify, self.keypoint_duplicates = always_verify, keypoint_duplicates
        #: The earlier self-join, kept as the benchmark's anchor: each image searched as a query.
        self.per_image_duplicates = per_image_duplicates

    def __len__(self) -> int:
        return int(self.core.alive.sum())

    def add(self, keys: Sequence[int], blobs: Sequence[bytes]) -> None:
        """Insert blobs under keys (replacing earlier blobs of the same keys)."""
        if not len(keys):
            return
        self.remove(keys)
        self.core.append(np.asarray(keys, np.int64), [layout.from_blob(b) for b in blobs])

    def remove(self, keys: Sequence[int]) -> None:
        """Forget the keys (their rows are dropped at the next compaction)."""
        self.core.alive &= ~np.isin(self.core.keys, np.asarray(keys, np.int64))
        dead = len(self.core.alive) - int(self.core.alive.sum())
        if dead and dead >= _COMPACT_SHARE * len(self.core.alive):
            self.core.compact()

    def _rows_ok(self, allowed: Keys | None) -> npt.NDArray[np.bool_]:
        if allowed is None:
            return self.core.alive
        return self.core.alive & np.isin(self.core.keys, allowed)

    def search(
        self, blob: bytes, threshold: float, max_count: int, allowed: Keys | None, blobs: BlobReader | None = None
    ) -> list[Hit]:
        """Rows at or above ``threshold``, best first, ties by key; with the stored
        ``blobs``, thumbnails are tried where keypoints verified nothing good."""
        query, ok = layout.from_blob(blob), self._rows_ok(allowed)
        rows, sims, stages = self.core.scores(query, ok, self.always_verify, blobs)
        if threshold < FLOOR_SIMILARITY:
            # Below the stages' reach every row may qualify: add the hash score of the rest.
            rest = np.setdiff1d(np.flatnonzero(ok), rows)
            rows = np.concatenate([rows, rest])
            rest_codes = self.core.mih.codes[rest]
            sims = np.concatenate(
                [sims, hash_similarity(_distances(self.core, query, rest), query.codes.dct, rest_codes)]
            )
            rest_stages = np.broadcast_to(hash_stages(query.codes.dct, rest_codes), rest.shape)
            stages = np.concatenate([stages, rest_stages])
        keep = sims >= threshold
        rows, sims, stages = rows[keep], sims[keep], stages[keep]
        keys = self.core.keys[rows]
        order = np.lexsort((keys, -sims))[:max_count]
        return [Hit(int(keys[i]), _score(float(sims[i]), int(stages[i]))) for i in order]

    def pairs(
        self,
        threshold: float,
        allowed: Keys | None,
        blobs: BlobReader | None = None,
        progress: Progress | None = None,
    ) -> Iterable[tuple[int, int, Score]]:
        """Pairs at or above ``threshold``: a multi-index self-join of the hash codes
        and (with ``keypoint_duplicates``) a self-join of the inverted file's selective
        words (:mod:`ris_local.keypoint_join`); the hash stage settles a sure pair, and
        every other candidate is scored as :meth:`RobustEngine.compare` scores two
        images, from the stored ``blobs`` (without them, from the keypoints the index
        keeps). ``progress`` gets ``(done, total)`` as the work advances."""
        if self.per_image_duplicates:
            yield from self._per_image_pairs(threshold, allowed, blobs)
            return
        ok = self._rows_ok(allowed)
        yield from _joined_pairs(self.core, threshold, ok, self.keypoint_duplicates, blobs, progress)

    def _per_image_pairs(
        self, threshold: float, allowed: Keys | None, blobs: BlobReader | None
    ) -> Iterable[tuple[int, int, Score]]:
        """The earlier self-join: the hash join, then each image's keypoints searched in
        the index: all of them, as a query's, when the stored ``blobs`` can be read,
        otherwise the ones the index keeps."""
        ok = self._rows_ok(allowed).copy()
        best: dict[tuple[int, int], tuple[float, int]] = {}
        hash_pairs = _hash_pairs if threshold >= FLOOR_SIMILARITY else _all_hash_pairs
        codes = self.core.mih.codes
        for a, b, sim in hash_pairs(self.core, threshold, ok):
            best[(a, b)] = (sim, int(hash_stages(codes[a], codes[b])))
        sure = {pair for pair, (sim, _) in best.items() if sim >= SURE_SIMILARITY}
        if self.keypoint_duplicates:
            by_row = self.core.postings.by_row()
            confirmed = set()
            robust_pairs = _searched_pairs(self.core, ok, blobs) if blobs else _keypoint_pairs(self.core, ok, by_row)
            clashed = set()
            for a, b, sim, stage in robust_pairs:
                if stage == _CLASHED:
                    clashed.add((a, b))
                    continue
                confirmed.add((a, b))
                if sim >= threshold and sim > best.get((a, b), (0.0, HASH))[0]:
                    best[(a, b)] = (sim, stage)
            for pair in clashed - sure:
                best.pop(pair, None)  # as in a search: a clash in colour outweighs all but a sure hash
            for (a, b), (sim, stage) in list(best.items()):
                # As in a search: an unsure hash pair the keypoints do not confirm drops.
                unsure = stage in (HASH, FLAT) and sim < SURE_SIMILARITY and (a, b) not in confirmed
                if unsure and _contradicted(self.core, by_row, a, b):
                    sim -= UNCONFIRMED_PENALTY
                    best[(a, b)] = (sim, stage)
                    if sim < threshold:
                        del best[(a, b)]
        keys = self.core.keys
        for (a, b), (sim, stage) in sorted(best.items()):
            first, second = sorted((int(keys[a]), int(keys[b])))
            yield first, second, _score(sim, stage)

    def to_blocks(self) -> dict[str, bytes]:
        """The index as named byte blocks (see :mod:`ris_local.index.blocks`)."""
        return to_blocks(self.core)

    def load_blocks(self, blocks: Mapping[str, bytes | bytearray]) -> None:
        """Replace this index's contents with blocks from :meth:`to_blocks`."""
        from_blocks(self.core, blocks)


def _joined_pairs(
    core: CascadeIndex,
    threshold: float,
    ok: npt.NDArray[np.bool_],
    robust: bool,
    blobs: BlobReader | None,
    progress: Progress | None,
) -> Iterable[tuple[int, int, Score]]:
    """The one-pass self-join: candidates from the hash and keypoint joins, each scored
    once, as a pair (see :meth:`RobustIndex.pairs`)."""
    # Progress counts each live row twice: once as the candidates are found, once as
    # the pairs of its candidates are scored.
    live = int(ok.sum())
    total = 2 * live
    report = _Reporter(progress, total)
    hash_found: dict[tuple[int, int], tuple[float, int]] = {}
    hash_pairs = _hash_pairs if threshold >= FLOOR_SIMILARITY else _all_hash_pairs
    codes = core.mih.codes
    for a, b, sim in hash_pairs(core, min(threshold, FLOOR_SIMILARITY), ok):
        hash_found[(a, b)] = (sim, int(hash_stages(codes[a], codes[b])))
    candidates: set[tuple[int, int]] = set()
    if robust:
        starts, rows, packed, rest, _ = core.postings.arrays()
        idf = core.postings.idf(live)
        queries = np.flatnonzero(ok)
        step = max(1, _QUERY_BATCH)
        done = [0]

        def advance() -> None:
            done[0] = min(live, done[0] + step)
            report.to(done[0])

        batches = _query_batches(core, queries, blobs, step)
        found = voted_pairs(starts, rows, packed, rest, idf, ok, batches, advance)
        candidates = {(int(a), int(b)) for a, b in found.tolist()}
    report.to(live)
    # Pairs the hash stage reaches only by brute force (below its floor) keep their hash
    # score, as in a search; the rest are scored as pairs unless a hash is sure.
    to_score = sorted(
        candidates
        | {pair for pair, (sim, _) in hash_found.items() if sim < SURE_SIMILARITY and _hash_reach(core, pair)}
    )
    keys = core.keys
    scored: dict[tuple[int, int], Score] = {}
    if robust:
        score_pair = _stored_scorer(core, blobs) if blobs is not None else _indexed_scorer(core)
        for start in range(0, len(to_score), _SCORE_BATCH):
            batch = to_score[start : start + _SCORE_BATCH]
            scored.update(zip(batch, score_pair(batch), strict=True))
            report.to(live + int(live * (start + len(batch)) / len(to_score)))
    for pair, (sim, stage) in hash_found.items():
        if pair not in scored:
            scored[pair] = _score(sim, stage)
    report.to(total)
    for (a, b), score in sorted(scored.items()):
        if score.similarity >= threshold:
            first, second = sorted((int(keys[a]), int(keys[b])))
            yield first, second, score


def _query_batches(core: CascadeIndex, queries: I64, blobs: BlobReader | None, size: int) -> Iterable[QueryBatch]:
    """The keypoint join's query entries, ``size`` rows at a time: from the stored blobs,
    every keypoint with all its words, mirrored ones too, as a search looks them up;
    without blobs, the keypoints the index keeps, with their one word."""
    by_row = core.postings.by_row() if blobs is None else None
    for start in range(0, len(queries), size):
        chunk = queries[start : start + size].tolist()
        sets: list[tuple[int, KeypointSet]] = []
        if by_row is not None:
            for row in chunk:
                words, packed, rest = by_row(row)
                sets.append((row, KeypointSet(packed, rest, words[:, None])))
        else:
            assert blobs is not None
            stored = blobs([int(core.keys[row]) for row in chunk])
            for row in chunk:
                blob = stored.get(int(core.keys[row]))
                if blob is not None:
                    f = layout.from_blob(blob)
                    sets += [(row, f.normal), (row, f.mirrored)]
        entry_rows: list[I64] = []
        entry_keypoints: list[I64] = []
        entry_words: list[I64] = []
        entry_signatures: list[npt.NDArray[np.uint32]] = []
        offset = 0
        for row, kps in sets:
            n, per = kps.words.shape
            if not n:
                continue
            entry_rows.append(np.full(n * per, row, np.int64))
            entry_keypoints.append(np.repeat(np.arange(offset, offset + n, dtype=np.int64), per))
            entry_words.append(kps.words.astype(np.int64).ravel())
            entry_signatures.append(np.repeat(signatures(kps.packed, kps.rest), per))
            offset += n
        if entry_rows:
            yield (
                np.concatenate(entry_rows),
                np.concatenate(entry_keypoints),
                np.concatenate(entry_words),
                np.concatenate(entry_signatures),
            )


def _hash_reach(core: CascadeIndex, pair: tuple[int, int]) -> bool:
    """Whether the hash stage's own join would find the pair (its summed distance is
    within ``SEARCH_RADIUS``)."""
    a, b = pair
    codes, other = core.mih.codes, core.other
    direct = int(codes[a] ^ codes[b]).bit_count() + int(other[a, 0] ^ other[b, 0]).bit_count()
    mirror = int(other[a, 1] ^ codes[b]).bit_count() + int(other[a, 2] ^ other[b, 0]).bit_count()
    return min(direct, mirror) <= SEARCH_RADIUS


class _Reporter:
    """Calls ``progress(done, total)`` when ``done`` grows (never backwards)."""

    def __init__(self, progress: Progress | None, total: int) -> None:
        self.progress, self.total, self.done = progress, total, -1

    def to(self, done: int) -> None:
        done = min(max(done, 0), self.total)
        if self.progress is not None and done > self.done:
            self.done = done
            self.progress(done, self.total)


def _stored_scorer(core: CascadeIndex, blobs: BlobReader) -> Callable[[list[tuple[int, int]]], list[Score]]:
    """Scores pairs of rows from their stored blobs with :func:`score_pair`."""

    def score(batch: list[tuple[int, int]]) -> list[Score]:
        wanted = sorted({row for pair in batch for row in pair})
        stored = blobs([int(core.keys[row]) for row in wanted])
        parsed = {row: layout.from_blob(blob) for row in wanted if (blob := stored.get(int(core.keys[row])))}
        out = []
        for a, b in batch:
            if a not in parsed or b not in parsed:  # deleted meanwhile: scores nothing
                out.append(Score(0.0, 100.0, "no stored features"))
                continue
            out.append(score_pair(parsed[a], parsed[b], thumbnails_on_evidence=True))
        return out

    return score


def _indexed_scorer(core: CascadeIndex) -> Callable[[list[tuple[int, int]]], list[Score]]:
    """Scores pairs of rows from the hash codes and keypoints the index keeps (no stored
    blobs): the better of the hash similarity and the keypoints verified either way."""
    by_row = core.postings.by_row()
    codes, other = core.mih.codes, core.other

    def score(batch: list[tuple[int, int]]) -> list[Score]:
        out = []
        for a, b in batch:
            direct = int(codes[a] ^ codes[b]).bit_count() + int(other[a, 0] ^ other[b, 0]).bit_count()
            mirror = int(other[a, 1] ^ codes[b]).bit_count() + int(other[a, 2] ^ other[b, 0]).bit_count()
            sim = float(hash_similarity(min(direct, mirror), codes[a], codes[b]))
            best = (sim, int(hash_stages(codes[a], codes[b])))
            if sim < SURE_SIMILARITY:
                (first, first_size), (second, second_size) = (
                    _indexed_set(core, by_row, a),
                    _indexed_set(core, by_row, b),
                )
                robust = max(
                    similarity(_compare_sets(first, first_size, second, len(second.packed), second_size)),
                    similarity(_compare_sets(second, second_size, first, len(first.packed), first_size)),
                )
                best = max(best, (robust, KEYPOINTS))
            out.append(_score(*best))
        return out

    return score


def _score(sim: float, stage: int) -> Score:
    if stage == FLAT:
        return Score(
            sim,
            ZERO_SIMILARITY_BITS * (1 - sim / 100.0),
            f"dct+gradient hash, capped at {FLAT_SIMILARITY:g}: a flat picture has no detail to match",
        )
    if stage == KEYPOINTS:
        return Score(sim, 100.0 - sim, "orb keypoints, verified")
    if stage == THUMBNAIL:
        return Score(sim, 100.0 - sim, "grey thumbnail, correlated")
    return Score(sim, ZERO_SIMILARITY_BITS * (1 - sim / 100.0), "dct+gradient hash")


def _hash_pairs(core: CascadeIndex, threshold: float, ok: npt.NDArray[np.bool_]) -> Iterable[tuple[int, int, float]]:
    radius = hash_radius(threshold)
    if radius < 0:
        return
    dct_radius = min(radius, MAX_JOIN_BITS)
    # Direct and mirrored candidates in one pass over the tables (sorted, each pair once).
    pairs = core.mih.pairs(dct_radius, probes=core.other[:, 1], direct=True)
    pairs = pairs[ok[pairs[:, 0]] & ok[pairs[:, 1]]]
    a, b = pairs[:, 0], pairs[:, 1]
    codes, other = core.mih.codes, core.other
    direct = np.bitwise_count(codes[a] ^ codes[b]) + np.bitwise_count(other[a, 0] ^ other[b, 0])
    mirror = np.bitwise_count(other[a, 1] ^ codes[b]) + np.bitwise_count(other[a, 2] ^ other[b, 0])
    sims = hash_similarity(np.minimum(direct, mirror), codes[a], codes[b])
    for i in np.flatnonzero(sims >= threshold):
        yield int(a[i]), int(b[i]), float(sims[i])


def _distances(core: CascadeIndex, f: Features, rows: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Summed hash distance of the query (or its mirror) to each of ``rows``."""
    codes, other, c = core.mih.codes[rows], core.other[rows], f.codes
    direct = np.bitwise_count(codes ^ np.uint64(c.dct)) + np.bitwise_count(other[:, 0] ^ np.uint64(c.gradient))
    mirror = np.bitwise_count(codes ^ np.uint64(c.mirrored_dct)) + np.bitwise_count(
        other[:, 0] ^ np.uint64(c.mirrored_gradient)
    )
    return np.asarray(np.minimum(direct, mirror), dtype=np.int64)


def _all_hash_pairs(
    core: CascadeIndex, threshold: float, ok: npt.NDArray[np.bool_]
) -> Iterable[tuple[int, int, float]]:
    """Every pair by brute force, for thresholds below the self-join's reach (its cost
    is quadratic, like the number of pairs such a threshold admits)."""
    rows = np.flatnonzero(ok)
    codes, other = core.mih.codes, core.other
    for index, a in enumerate(rows[:-1]):
        b = rows[index + 1 :]
        direct = np.bitwise_count(codes[b] ^ codes[a]) + np.bitwise_count(other[b, 0] ^ other[a, 0])
        mirror = np.bitwise_count(codes[b] ^ other[a, 1]) + np.bitwise_count(other[b, 0] ^ other[a, 2])
        sims = hash_similarity(np.minimum(direct, mirror), codes[a], codes[b])
        for i in np.flatnonzero(sims >= threshold):
            yield int(a), int(b[i]), float(sims[i])


def _indexed_set(core: CascadeIndex, by_row: RowPostings, row: int) -> tuple[KeypointSet, tuple[int, int]]:
    """A row's indexed keypoints (with their one word) and frame."""
    words, packed, rest = by_row(row)
    return KeypointSet(packed, rest, words[:, None]), (
        int(core.sizes[row, 0]) * 2,
        int(core.sizes[row, 1]) * 2,
    )


def _contradicted(core: CascadeIndex, by_row: RowPostings, a: int, b: int) -> bool:
    """Whether two rows both have plenty of indexed keypoints and none verify either way."""
    (first, first_size), (second, second_size) = _indexed_set(core, by_row, a), _indexed_set(core, by_row, b)
    if min(len(first.packed), len(second.packed)) < CONFIRM_KEYPOINTS // 2:
        return False
    return (
        similarity(_compare_sets(first, first_size, second, len(second.packed), second_size)) <= 0
        and similarity(_compare_sets(second, second_size, first, len(first.packed), first_size)) <= 0
    )


def _keypoint_pairs(
    core: CascadeIndex, ok: npt.NDArray[np.bool_], by_row: RowPostings
) -> Iterable[tuple[int, int, float, int]]:
    """Each live row's indexed keypoints searched against the others."""
    for row in np.flatnonzero(ok):
        kps, size = _indexed_set(core, by_row, int(row))
        if not len(kps.packed):
            continue
        matches, _ = core.keypoint_matches(kps, size, ok, shortlist=_JOIN_SHORTLIST, words_per_keypoint=1)
        for other, match in matches.items():
            if other != row:
                yield min(int(row), other), max(int(row), other), similarity(match), KEYPOINTS


def _searched_pairs(
    core: CascadeIndex, ok: npt.NDArray[np.bool_], blobs: BlobReader
) -> Iterable[tuple[int, int, float, int]]:
    """Each live row searched in the others with its stored blob, exactly as a query
    would be: every keypoint at both scales with all its words, the mirror, then the
    thumbnail. The indexed keypoints alone, with one word each, find about a tenth
    fewer true pairs (BENCHMARKS.md)."""
    rows = np.flatnonzero(ok)
    for start in range(0, len(rows), _READ_BATCH):
        batch = rows[start : start + _READ_BATCH]
        stored = blobs(core.keys[batch].tolist())
        for row in batch.tolist():
            blob = stored.get(int(core.keys[row]))
            if blob is None:
                continue
            ok[row] = False  # a row is not its own duplicate (and would crowd the shortlist)
            try:
                robust, by_thumbnail, clashed = core.unsure_similarities(layout.from_blob(blob), ok, blobs)
            finally:
                ok[row] = True
            for stage, found in ((KEYPOINTS, robust), (THUMBNAIL, by_thumbnail)):
                for other, sim in found.items():
                    yield min(row, other), max(row, other), sim, stage
            for other in clashed:
                yield min(row, other), max(row, other), 0.0, _CLASHED


def _same_words(query_words: npt.NDArray[np.uint16], cand_words: npt.NDArray[np.uint16]) -> tuple[I64, I64]:
    """``(query keypoint, candidate keypoint)`` of every word the two share, ordered by
    query keypoint, then its word's slot, then candidate keypoint (the order of
    ``np.nonzero`` over the dense equality table, found by binary search instead)."""
    order = np.argsort(cand_words, kind="stable")
    sorted_words = cand_words[order]
    flat = query_words.ravel()
    low, high = np.searchsorted(sorted_words, flat, "left"), np.searchsorted(sorted_words, flat, "right")
    entry = np.repeat(np.arange(len(flat), dtype=np.int64), high - low)
    c_idx = order[ranges(low.astype(np.int64), high.astype(np.int64))].astype(np.int64)
    return entry // query_words.shape[1], c_idx


def _compare_sets(
    query: KeypointSet, query_size: tuple[int, int], cand: KeypointSet, n_cand: int, cand_size: tuple[int, int]
) -> Match | None:
    """The verified match of two blobs' keypoints, matched by word and signature."""
    if not len(query.packed) or not n_cand:
        return None
    q_idx, c_idx = _same_words(query.words, cand.words[:n_cand, 0])
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


class RobustEngine(Engine):
    """Hash codes plus ORB keypoints, searched as a cascade (see the module docstring)."""

    algorithm: ClassVar[str] = "ris-hash+orb"
    version: ClassVar[str] = "6"
    default_threshold: ClassVar[float] = 70.0
    duplicate_threshold: ClassVar[float] = 80.0

    def __init__(self, always_verify: bool = False, keypoint_duplicates: bool = True) -> None:
        self.always_verify, self.keypoint_duplicates = always_verify, keypoint_duplicates

    def extract(self, image: ImageData) -> bytes:
        """Decode at reduced scale and extract every stage's features."""
        return layout.to_blob(layout.extract(image))

    def describe(self, blob: bytes) -> tuple[int, int]:
        """``(keypoints + 2 hash codes, 256)``: ORB descriptors are 256-bit."""
        f = layout.from_blob(blob)
        return len(f.normal.packed) + 2, 256

    def compare(self, first: bytes, second: bytes) -> Score:
        """The best of the hash, keypoint and thumbnail similarities (either way round),
        scored as a search scores them: thumbnails tried only when keypoints verified
        nothing good (from ``thumbnails.AGREEING_LOW`` when one side's centre code agrees
        with the other's DCT code, with ``AGREEING_BONUS`` when keypoints weakly
        verified), turned ones only when upright ones matched under ``TURN_BELOW``; an
        unsure hash similarity that plentiful keypoints contradict loses
        ``UNCONFIRMED_PENALTY``, and keypoints whose colours clash score 0."""
        return score_pair(layout.from_blob(first), layout.from_blob(second))

    def new_index(self) -> RobustIndex:
        """An empty cascade index."""
        return RobustIndex(self.always_verify, self.keypoint_duplicates)


def score_pair(a: Features, b: Features, *, thumbnails_on_evidence: bool = False) -> Score:
    """The score :meth:`RobustEngine.compare` gives two images' features. With
    ``thumbnails_on_evidence`` (the self-join's setting), thumbnails are tried only for
    a pair that something else already links, as a search tries them only on the rows
    its vote or centre codes put forward: keypoints that verified weakly, a hash within
    the hash stage's reach, or a centre code that agrees (``centres.AGREEING_BITS``)."""
    distance = _pair_distance(a, b)
    sim = float(hash_similarity(distance, a.codes.dct, b.codes.dct))
    hash_stage = int(hash_stages(a.codes.dct, b.codes.dct))
    if sim >= SURE_SIMILARITY:
        return _score(sim, hash_stage)
    tries = (
        (_compare_sets(a.normal, a.size, b.normal, b.n_index, b.size), a.chroma, b.chroma),
        (_compare_sets(a.mirrored, a.size, b.normal, b.n_index, b.size), colour.mirrored(a.chroma), b.chroma),
        (_compare_sets(b.normal, b.size, a.normal, a.n_index, a.size), b.chroma, a.chroma),
    )
    match, query, stored = max(tries, key=lambda tried: similarity(tried[0]))
    if match is not None and match.matrix is not None and colour.clashes(query, stored, match.matrix):
        return Score(0.0, 100.0, "orb keypoints, colours clash")  # as in a search: left out
    robust = similarity(match)
    by_thumbnail = 0.0
    if robust < MIRROR_BELOW and (
        not thumbnails_on_evidence or robust > 0 or distance <= SEARCH_RADIUS or _centres_agree(a, b)
    ):
        by_thumbnail = _thumbnail_similarity(a, b)
    if by_thumbnail > 0 and robust > 0:
        by_thumbnail = min(100.0, by_thumbnail + AGREEING_BONUS)
    plentiful = min(len(a.normal.packed), len(b.normal.packed)) >= CONFIRM_KEYPOINTS
    if robust <= 0 and by_thumbnail <= 0 and plentiful:
        sim = max(0.0, sim - UNCONFIRMED_PENALTY)  # contradicted, as in a search
    best = max((sim, hash_stage), (robust, KEYPOINTS), (by_thumbnail, THUMBNAIL), key=lambda found: found[0])
    return _score(*best)


def _centres_agree(a: Features, b: Features) -> bool:
    """Whether either image's views lie within ``centres.AGREEING_BITS`` of the other's
    centre codes (the closeness that lets a search count a thumbnail from a lower floor)."""
    for query, candidate in ((a, b), (b, a)):
        stored_centre = np.array(centres.row_codes(candidate), np.uint64)[:, None]
        for codes in centres.views(query):
            if int(centres.distance(codes, stored_centre)[0]) <= centres.AGREEING_BITS:
                return True
    return False


def _thumbnail_similarity(a: Features, b: Features) -> float:
    """The best thumbnail similarity of ``a`` and ``b``, either way round, mirrored too,
    and turned when upright views matched under ``TURN_BELOW`` (plain correlation, not
    containment: a comparison must not depend on which image comes first)."""
    best = 0.0
    for query, candidate in ((a, b), (b, a)):
        stored_centre = np.array(centres.row_codes(candidate), np.uint64)[:, None]
        for view, codes in zip((query.thumbnail, np.fliplr(query.thumbnail)), centres.views(query), strict=True):
            agreeing = int(centres.distance(codes, stored_centre)[0]) <= centres.AGREEING_BITS
            low = thumbnails.AGREEING_LOW if agreeing else thumbnails.LOW
            best = max(best, thumbnails.similarity(thumbnails.correlation(view, candidate.thumbnail), low))
    if best < TURN_BELOW:
        for query, candidate in ((a, b), (b, a)):
            for degrees in thumbnails.TURNS:
                turned = thumbnails.turned(query.thumbnail, degrees)
                best = max(best, thumbnails.similarity(thumbnails.correlation(turned, candidate.thumbnail)))
    return best


def _pair_distance(a: Features, b: Features) -> int:
    def bits(x: int, y: int) -> int:
        return int(x ^ y).bit_count()

    direct = bits(a.codes.dct, b.codes.dct) + bits(a.codes.gradient, b.codes.gradient)
    mirror = bits(a.codes.mirrored_dct, b.codes.dct) + bits(a.codes.mirrored_gradient, b.codes.gradient)
    return min(direct, mirror)


class HashStageEngine(RobustEngine):
    """The hash stage alone: four codes per image, no keypoints, no keypoint stage."""

    algorithm: ClassVar[str] = "ris-hash"
    version: ClassVar[str] = "4"

    def extract(self, image: ImageData) -> bytes:
        """Decode small and hash (no keypoints)."""
        codes = layout.extract_hashes(image)
        return layout.to_blob(Features((0, 0), codes, KeypointSet.empty(), 0, KeypointSet.empty()))
