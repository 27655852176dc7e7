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

from collections.abc import Iterable, Mapping, Sequence
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from ris_core.images import ImageData
from ris_local.engine import BlobReader, Engine, FeatureIndex, Hit, Keys, Score
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
from ris_local.index.invertedfile import RowPostings, signature_close
from ris_local.scoring import colour, thumbnails
from ris_local.scoring.verification import Match, signatures, similarity, unpack, verify

__all__ = ["HashStageEngine", "RobustEngine", "RobustIndex"]

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


class RobustIndex(FeatureIndex):
    """A :class:`CascadeIndex` behind the backend's :class:`FeatureIndex` interface."""

    def __init__(self, always_verify: bool = False, keypoint_duplicates: bool = True) -> None:
        self.core = CascadeIndex(SURE_SIMILARITY, SEARCH_RADIUS)
        self.always_verify, self.keypoint_duplicates = always_verify, keypoint_duplicates

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
        self, threshold: float, allowed: Keys | None, blobs: BlobReader | None = None
    ) -> Iterable[tuple[int, int, Score]]:
        """Pairs at or above ``threshold``: a multi-index self-join of the hash codes,
        then (with ``keypoint_duplicates``) each image's keypoints searched in the index:
        all of them, as a query's, when the stored ``blobs`` can be read, otherwise the
        ones the index keeps."""
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


def _compare_sets(
    query: KeypointSet, query_size: tuple[int, int], cand: KeypointSet, n_cand: int, cand_size: tuple[int, int]
) -> Match | None:
    """The verified match of two blobs' keypoints, matched by word and signature."""
    if not len(query.packed) or not n_cand:
        return None
    cand_words = cand.words[:n_cand, 0].astype(np.int64)
    equal = query.words.astype(np.int64)[:, :, None] == cand_words[None, None, :]
    q_idx, _, c_idx = np.nonzero(equal)
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
    version: ClassVar[str] = "7"
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
        a, b = layout.from_blob(first), layout.from_blob(second)
        sim = float(hash_similarity(_pair_distance(a, b), a.codes.dct, b.codes.dct))
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
        by_thumbnail = _thumbnail_similarity(a, b) if robust < MIRROR_BELOW else 0.0
        if by_thumbnail > 0 and robust > 0:
            by_thumbnail = min(100.0, by_thumbnail + AGREEING_BONUS)
        plentiful = min(len(a.normal.packed), len(b.normal.packed)) >= CONFIRM_KEYPOINTS
        if robust <= 0 and by_thumbnail <= 0 and plentiful:
            sim = max(0.0, sim - UNCONFIRMED_PENALTY)  # contradicted, as in a search
        best = max((sim, hash_stage), (robust, KEYPOINTS), (by_thumbnail, THUMBNAIL), key=lambda found: found[0])
        return _score(*best)

    def new_index(self) -> RobustIndex:
        """An empty cascade index."""
        return RobustIndex(self.always_verify, self.keypoint_duplicates)


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
