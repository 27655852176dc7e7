"""The default local engine: hash codes for the easy cases, ORB keypoints for the rest.

:class:`RobustEngine` extracts, per image, four 64-bit hash codes (a DCT and a gradient
hash of the picture inside its borders, and of its mirror), ORB keypoints (up to 400 of
the picture at each of two scales and 400 of its mirror, quantised to a 65,536-word
vocabulary), a grey thumbnail, centre codes and a chroma map (the layout is in
:mod:`ris_local.features.layout`).

Every operation scores a pair the same way: the index only proposes candidates
(:mod:`ris_local.index.cascade`), and each candidate pair is scored from its own evidence
(:func:`ris_local.scoring.gather.gather`) by the one decision
(:func:`ris_local.scoring.decision.decide`). A search, ``find_duplicates`` and
``compare`` therefore give a pair one score, whatever else is stored and in whatever
order the work is done (``docs/scoring.md``). Thresholds come from the benchmark's
calibration (BENCHMARKS.md); :mod:`ris_core.calibration` derives them from other
labelled pairs.

:class:`HashStageEngine` is the hash look alone: the same codes, no keypoints, for
collections where crops and rotations do not matter and ingest speed does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from ris_core.images import ImageData
from ris_local.engine import (
    BlobReader,
    Engine,
    ExtractedQuery,
    FeatureIndex,
    Hit,
    Keys,
    Progress,
    QueryFeatures,
    Score,
)
from ris_local.features import layout
from ris_local.features.decoding import Decoded
from ris_local.features.hashcodes import HashCodes
from ris_local.features.layout import Features, KeypointSet
from ris_local.index import centres
from ris_local.index.blocks import from_blocks, to_blocks
from ris_local.index.cascade import CascadeIndex, hash_distances, hash_radius
from ris_local.index.centre_join import centre_pairs
from ris_local.index.keypoint_join import QueryBatch, voted_pairs
from ris_local.index.multiindex import MultiIndex
from ris_local.scoring.decision import Decision, Stage, decide, is_flat
from ris_local.scoring.evidence import Evidence
from ris_local.scoring.gather import gather
from ris_local.scoring.policy import POLICY, ScoringPolicy
from ris_local.scoring.verification import signatures

__all__ = ["HashStageEngine", "RobustEngine", "RobustIndex", "StagedQuery", "score_of"]

#: Summed Hamming radius of the hash look's lookups (its similarity floor is 100*(1-r/64)).
#: Candidate generation: whole benchmark.
SEARCH_RADIUS = 24
#: The hash look's self-join never looks further than this many DCT bits.
MAX_JOIN_BITS = 8
_COMPACT_SHARE = 0.2  # compact when this share of rows has been removed
_JOIN_SHORTLIST = 5  # rows verified per image in the keypoint self-join without blobs
_READ_BATCH = 256  # stored blobs read at a time by the self-join
_QUERY_BATCH = 64  # images whose keypoints the keypoint join looks up together
#: The centre-code candidates of the self-join: each image's ``centres.CANDIDATES``
#: nearest rows per orientation, as a search's thumbnail look takes them, but within this
#: many bits (a search looks up to ``centres.RADIUS``; see :mod:`ris_local.index.centre_join`).
#: Tuning half, medium duplicate collection: 4 to 10 bits find the same six true pairs the
#: join missed (crops and mirrored copies of smooth pictures, 0 to 8 bits away); 12 adds
#: a false thumbnail pair.
CENTRE_JOIN_BITS = 8
I64 = npt.NDArray[np.int64]


def score_of(decision: Decision, policy: ScoringPolicy = POLICY) -> Score:
    """A decision as the backend reports it: the distance is in hash bits for the hash
    look, ``100 - similarity`` otherwise."""
    if decision.stage in (Stage.HASH, Stage.FLAT_HASH):
        distance = policy.zero_similarity_bits * (1 - decision.similarity / 100.0)
    else:
        distance = 100.0 - decision.similarity
    return Score(decision.similarity, distance, decision.explanation)


class StagedQuery(QueryFeatures):
    """A query decoded once and hashed at once; its keypoints, thumbnail and colours are
    extracted from that same decode only when :meth:`features` is first asked for.

    A query the hash stage settles (:meth:`RobustIndex.search_settled`) is answered from
    :attr:`codes` alone. :meth:`blob` is what :meth:`RobustEngine.extract` returns for
    the image, made from the decode the codes came from.
    """

    def __init__(self, image: ImageData) -> None:
        self._decoded: Decoded | None = layout.decode_for_extract(image)
        #: The hash codes, as :func:`ris_local.features.layout.extract` computes them.
        self.codes = layout.hashes_decoded(self._decoded)
        self._blob: bytes | None = None
        self._features: Features | None = None

    def hashed(self) -> Features:
        """The query as far as the hash look reads it: its codes, no keypoints."""
        if self._features is not None:
            return self._features
        return Features((0, 0), self.codes, KeypointSet.empty(), 0, KeypointSet.empty())

    def features(self) -> Features:
        """Every look's features, extracted on first call from the one decode."""
        if self._features is None:
            assert self._decoded is not None
            self._blob = layout.to_blob(layout.extract_decoded(self._decoded))
            self._decoded = None  # the pixels are not needed again
            # Through the blob, as a stored or cached query is read (the borders round there).
            self._features = layout.from_blob(self._blob)
        return self._features

    def blob(self) -> bytes:
        """The whole blob, as :meth:`RobustEngine.extract` makes it."""
        self.features()
        assert self._blob is not None
        return self._blob

    @property
    def extracted(self) -> bool:
        """Whether the keypoints (and the rest) have been extracted."""
        return self._blob is not None


class RobustIndex(FeatureIndex):
    """A :class:`CascadeIndex` behind the backend's :class:`FeatureIndex` interface: it
    finds candidates, and every candidate pair is scored by the one decision."""

    def __init__(
        self, always_verify: bool = False, keypoint_duplicates: bool = True, per_image_duplicates: bool = False
    ) -> None:
        self.policy = POLICY
        self.core = CascadeIndex(self.policy, SEARCH_RADIUS)
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

    def _stored(self, rows: Sequence[int], blobs: BlobReader | None) -> dict[int, Features]:
        """Each row's features: from its stored blob where it can be read, otherwise what
        the index holds of it (no thumbnail, no colours: the looks that need them abstain)."""
        read = blobs(self.core.keys[np.asarray(rows, np.int64)].tolist()) if blobs is not None and len(rows) else {}
        out = {}
        for row in rows:
            blob = read.get(int(self.core.keys[row]))
            out[row] = layout.from_blob(blob) if blob is not None else self.core.row_features(row)
        return out

    def _flat(self, query: Features, rows: npt.NDArray[np.int64]) -> list[bool]:
        """Whether the query's or each row's DCT code is a flat picture's."""
        flat = np.bitwise_count(self.core.mih.codes[rows]) < self.policy.flat_bits
        return (flat | (query.codes.dct.bit_count() < self.policy.flat_bits)).tolist()  # type: ignore[no-any-return]

    def _hash_decisions(self, query: Features, rows: npt.NDArray[np.int64]) -> tuple[dict[int, Decision], list[int]]:
        """The sure hashes among ``rows``, decided from the index's codes and the query's
        (nothing else of the query is read), and the rows left unsure."""
        distance = hash_distances(query.codes, self.core.stored_codes(rows))
        decided: dict[int, Decision] = {}
        unsure = []
        for row, d, f in zip(rows.tolist(), distance.tolist(), self._flat(query, rows), strict=True):
            first = decide(Evidence(d, f), self.policy)
            if first.similarity >= self.policy.sure_similarity:
                decided[row] = first
            else:
                unsure.append(row)
        return decided, unsure

    def _decisions(self, query: Features, rows: npt.NDArray[np.int64], blobs: BlobReader | None) -> list[Decision]:
        """The decision for the query and each of ``rows``: sure hashes straight from the
        index's codes, the rest from the pair's full evidence."""
        decided, unsure = self._hash_decisions(query, rows)
        looks_further = bool(len(query.normal.packed) or query.thumbnail.size)
        for start in range(0, len(unsure), _READ_BATCH):
            batch = unsure[start : start + _READ_BATCH]
            stored = self._stored(batch, blobs) if looks_further else {r: self.core.row_features(r) for r in batch}
            for row in batch:
                decided[row] = decide(gather(query, stored[row], self.policy), self.policy)
        return [decided[row] for row in rows.tolist()]

    def _ranked(
        self, rows: npt.NDArray[np.int64], decisions: list[Decision], threshold: float, max_count: int
    ) -> list[Hit]:
        """The rows at or above ``threshold``, best first, ties by key, at most ``max_count``."""
        sims = np.fromiter((d.similarity for d in decisions), np.float64, len(decisions))
        keep = np.flatnonzero(sims >= threshold)
        keys = self.core.keys[rows[keep]]
        order = np.lexsort((keys, -sims[keep]))[:max_count]
        return [Hit(int(keys[i]), score_of(decisions[keep[i]], self.policy)) for i in order]

    def search(
        self, blob: bytes, threshold: float, max_count: int, allowed: Keys | None, blobs: BlobReader | None = None
    ) -> list[Hit]:
        """Rows at or above ``threshold``, best first, ties by key; with the stored
        ``blobs``, candidates are scored with their thumbnails and colours too."""
        query, ok = layout.from_blob(blob), self._rows_ok(allowed)
        rows = self.core.candidates(query, ok, self.always_verify, blobs is not None)
        decisions = self._decisions(query, rows, blobs)
        if hash_radius(threshold, self.policy) > SEARCH_RADIUS:
            # Below the looks' reach every row may qualify. Gathering every row's evidence
            # would verify the whole collection, so the ``max_count`` rows nearest in hash
            # that no look proposed join the candidates, scored like every other.
            rest = np.setdiff1d(np.flatnonzero(ok), rows).astype(np.int64)
            distance = hash_distances(query.codes, self.core.stored_codes(rest))
            nearest = rest[np.lexsort((self.core.keys[rest], distance))[:max_count]]
            decisions += self._decisions(query, nearest, blobs)
            rows = np.concatenate([rows, nearest])
        return self._ranked(rows, decisions, threshold, max_count)

    def search_settled(
        self, query: QueryFeatures, threshold: float, max_count: int, allowed: Keys | None
    ) -> list[Hit] | None:
        """:meth:`search`'s hits when the query's hash codes alone settle it, else None.

        Settled means what :meth:`search` would do with no more than the codes: a sure
        hash among the hash look's candidates (``CascadeIndex.settled_candidates``, so no
        keypoint or thumbnail look runs), every one of those candidates sure too (an
        unsure one is scored from the pair's whole evidence), and a ``threshold`` within
        the hash look's reach (below it the nearest rows are scored in full)."""
        if not isinstance(query, StagedQuery) or self.always_verify:
            return None
        if hash_radius(threshold, self.policy) > SEARCH_RADIUS:
            return None
        codes = query.hashed()
        rows = self.core.settled_candidates(codes, self._rows_ok(allowed))
        if rows is None:
            return None
        decided, unsure = self._hash_decisions(codes, rows)
        if unsure:
            return None
        return self._ranked(rows, [decided[row] for row in rows.tolist()], threshold, max_count)

    def pairs(
        self,
        threshold: float,
        allowed: Keys | None,
        blobs: BlobReader | None = None,
        progress: Progress | None = None,
    ) -> Iterable[tuple[int, int, Score]]:
        """Pairs at or above ``threshold``, in one join: candidates from multi-index
        self-joins of the DCT and gradient codes (the same reach at every threshold whose
        hash radius is under ``SEARCH_RADIUS``, see :func:`_hash_pairs`, so a run never
        misses a pair that a run at a lower threshold scores above it through the same
        candidates) and (with ``keypoint_duplicates``) from the keypoint
        join (:mod:`ris_local.index.keypoint_join`: every image's keypoints, as a query's
        when the stored ``blobs`` can be read, looked up a batch at a time over the
        selective words) and, with the stored ``blobs``, from the rows nearest in centre
        code, the thumbnail look's candidates (:mod:`ris_local.index.centre_join`); each
        candidate pair is then scored as
        :meth:`RobustEngine.compare` scores it. ``progress`` gets ``(done, total)``:
        each image counts twice, once as its candidates are found, once as they are scored."""
        if self.per_image_duplicates:
            yield from self._per_image_pairs(threshold, allowed, blobs)
            return
        yield from self._joined_pairs(threshold, self._rows_ok(allowed), blobs, _Reporter(progress))

    def _joined_pairs(
        self, threshold: float, ok: npt.NDArray[np.bool_], blobs: BlobReader | None, report: _Reporter
    ) -> Iterable[tuple[int, int, Score]]:
        live = int(ok.sum())
        report.total = 2 * live
        decided: dict[tuple[int, int], Decision] = {}
        candidates: set[tuple[int, int]] = set()
        dct = self.core.mih.codes
        for a, b, distance in _hash_pairs(self.core, threshold, ok, self.policy):
            flat = is_flat(int(dct[a]), self.policy) or is_flat(int(dct[b]), self.policy)
            by_hash = decide(Evidence(distance, flat), self.policy)
            if by_hash.similarity >= self.policy.sure_similarity:
                decided[(a, b)] = by_hash  # a sure hash needs nothing more
            else:
                candidates.add((a, b))
        if self.keypoint_duplicates:
            starts, rows, packed, rest, _ = self.core.postings.arrays()
            done = [0]

            def advance() -> None:
                done[0] = min(live, done[0] + _QUERY_BATCH)
                report.to(done[0])

            views = _index_views(self.core)
            batches = _query_batches(self.core, np.flatnonzero(ok), blobs, _QUERY_BATCH, views)
            idf = self.core.postings.idf(live)
            found = voted_pairs(starts, rows, packed, rest, idf, ok, batches, advance)
            candidates.update((int(a), int(b)) for a, b in found.tolist())
            if blobs is not None:
                # The thumbnail look's candidates, as a search takes them (only with the
                # stored blobs: without them there are no thumbnails to look at).
                live_rows = np.flatnonzero(ok)
                near = centre_pairs(
                    np.ascontiguousarray(self.core.centre[:, live_rows].T),
                    views[live_rows],
                    np.ones(len(live_rows), bool),
                    CENTRE_JOIN_BITS,
                    centres.CANDIDATES,
                )
                candidates.update((int(a), int(b)) for a, b in live_rows[near].tolist())
        report.to(live)
        to_score = sorted(candidates - decided.keys())
        for start in range(0, len(to_score), _READ_BATCH):
            batch = to_score[start : start + _READ_BATCH]
            stored = self._stored(sorted({row for pair in batch for row in pair}), blobs)
            for a, b in batch:
                decided[(a, b)] = decide(gather(stored[a], stored[b], self.policy), self.policy)
            report.to(live + live * (start + len(batch)) // len(to_score))
        report.to(2 * live)
        keys = self.core.keys
        for (a, b), decision in sorted(decided.items()):
            if decision.similarity >= threshold:
                first, second = sorted((int(keys[a]), int(keys[b])))
                yield first, second, score_of(decision, self.policy)

    def _per_image_pairs(
        self, threshold: float, allowed: Keys | None, blobs: BlobReader | None
    ) -> Iterable[tuple[int, int, Score]]:
        """The earlier self-join (the benchmark's anchor): candidates from the hash join
        and from each image's keypoints searched in the index, scored as pairs."""
        ok = self._rows_ok(allowed).copy()
        candidates: dict[int, set[int]] = {}
        decided: dict[tuple[int, int], Decision] = {}
        dct = self.core.mih.codes
        for a, b, distance in _hash_pairs(self.core, threshold, ok, self.policy):
            flat = is_flat(int(dct[a]), self.policy) or is_flat(int(dct[b]), self.policy)
            by_hash = decide(Evidence(distance, flat), self.policy)
            if by_hash.similarity >= self.policy.sure_similarity:
                decided[(a, b)] = by_hash  # a sure hash needs nothing more
            else:
                candidates.setdefault(a, set()).add(b)
        if self.keypoint_duplicates and blobs is None:
            for a, b in _keypoint_pairs(self.core, ok):
                candidates.setdefault(a, set()).add(b)
        searched = self.keypoint_duplicates and blobs is not None
        rows = np.flatnonzero(ok).tolist() if searched else sorted(candidates)
        for start in range(0, len(rows), _READ_BATCH):
            batch = rows[start : start + _READ_BATCH]
            stored = self._stored(batch, blobs)
            for row in batch:
                found = set(candidates.pop(row, ()))
                if searched:
                    ok[row] = False  # a row is not its own duplicate (and would crowd the shortlist)
                    try:
                        found.update(self.core.unsure_candidates(stored[row], ok, True).tolist())
                    finally:
                        ok[row] = True
                others = [o for o in sorted(found - {row}) if (min(row, o), max(row, o)) not in decided]
                known = {o: stored[o] for o in others if o in stored}
                known.update(self._stored([o for o in others if o not in stored], blobs))
                for other in others:
                    pair = (min(row, other), max(row, other))
                    decided[pair] = decide(gather(stored[row], known[other], self.policy), self.policy)
        keys = self.core.keys
        for (a, b), decision in sorted(decided.items()):
            if decision.similarity >= threshold:
                first, second = sorted((int(keys[a]), int(keys[b])))
                yield first, second, score_of(decision, self.policy)

    def to_blocks(self) -> dict[str, bytes]:
        """The index as named byte blocks (see :mod:`ris_local.index.blocks`)."""
        return to_blocks(self.core)

    def load_blocks(self, blocks: Mapping[str, bytes | bytearray]) -> None:
        """Replace this index's contents with blocks from :meth:`to_blocks`."""
        from_blocks(self.core, blocks)
        self.core.forget_rows()


def _index_views(core: CascadeIndex) -> npt.NDArray[np.uint64]:
    """Each row's centre-code views (:func:`ris_local.index.centres.views`: DCT code and
    whole frame's, upright then mirrored) from what the index holds; the mirrored whole
    frame is not held, so the mirrored DCT code stands in until the blob is read."""
    mirrored = core.other[:, 1]
    return np.ascontiguousarray(np.stack([core.mih.codes, core.centre[3], mirrored, mirrored], axis=1), np.uint64)


def _hash_pairs(
    core: CascadeIndex, threshold: float, ok: npt.NDArray[np.bool_], policy: ScoringPolicy
) -> Iterable[tuple[int, int, int]]:
    """Row pairs the hash look proposes (the smaller row first), with their summed hash
    distance: those within ``SEARCH_RADIUS`` summed bits whose DCT codes or whose
    gradient codes (direct or mirrored) are within ``MAX_JOIN_BITS``, whatever the
    threshold; and, at a threshold whose hash similarity alone reaches further, every
    pair within that radius.

    The reach is fixed rather than the threshold's own hash radius because a pair's score
    is not its hash similarity: keypoints or thumbnails can lift a pair 20 bits apart
    above any threshold. A reach that shrank with the threshold made a run at 80 miss
    pairs that a run at 60 scored above 80; with a fixed reach, a run at a higher
    threshold proposes every hash pair a lower one does (down to the brute-force floor).
    Both codes are joined because a summed distance of ``2 * MAX_JOIN_BITS + 1`` or less
    puts one of them within ``MAX_JOIN_BITS`` (pigeonhole): every such pair is found,
    and a thumbnail-linked crop whose DCT code moved 16 bits but its gradient code 2
    (held-out half, quick size) is not lost."""
    radius = hash_radius(threshold, policy)
    live = np.flatnonzero(ok)
    if radius >= SEARCH_RADIUS:
        # Below the self-join's reach: every pair, by brute force (quadratic, like the
        # number of pairs such a threshold admits); this covers the fixed reach too.
        for index, a in enumerate(live[:-1].tolist()):
            rest = live[index + 1 :]
            codes = core.stored_codes(np.array([a]))[0]
            distance = hash_distances(HashCodes(*(int(c) for c in codes)), core.stored_codes(rest))
            close = distance <= radius
            for b, d in zip(rest[close].tolist(), distance[close].tolist(), strict=True):
                yield a, b, d
        return
    radius = SEARCH_RADIUS
    # Direct and mirrored candidates in one pass over the tables (sorted, each pair once).
    by_dct = core.mih.pairs(MAX_JOIN_BITS, probes=core.other[:, 1], direct=True)
    gradient = MultiIndex()
    gradient.replace(np.ascontiguousarray(core.other[:, 0]))
    by_gradient = gradient.pairs(MAX_JOIN_BITS, probes=np.ascontiguousarray(core.other[:, 2]), direct=True)
    del gradient
    pairs = np.unique(np.concatenate([by_dct, by_gradient]), axis=0)
    pairs = pairs[ok[pairs[:, 0]] & ok[pairs[:, 1]]]
    codes = core.stored_codes(np.arange(len(core.keys)))
    a, b = pairs[:, 0], pairs[:, 1]
    direct = np.bitwise_count(codes[a, 0] ^ codes[b, 0]) + np.bitwise_count(codes[a, 1] ^ codes[b, 1])
    a_mirrored = np.bitwise_count(codes[a, 2] ^ codes[b, 0]) + np.bitwise_count(codes[a, 3] ^ codes[b, 1])
    b_mirrored = np.bitwise_count(codes[a, 0] ^ codes[b, 2]) + np.bitwise_count(codes[a, 1] ^ codes[b, 3])
    distance = np.minimum(np.minimum(direct, a_mirrored), b_mirrored)
    close = distance <= radius
    for first, second, d in zip(a[close].tolist(), b[close].tolist(), distance[close].tolist(), strict=True):
        yield min(first, second), max(first, second), d


class _Reporter:
    """Calls ``progress(done, total)`` when ``done`` grows (never backwards)."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress, self.total, self.done = progress, 0, -1

    def to(self, done: int) -> None:
        done = min(max(done, 0), self.total)
        if self.progress is not None and self.total and done > self.done:
            self.done = done
            self.progress(done, self.total)


def _query_batches(
    core: CascadeIndex, queries: I64, blobs: BlobReader | None, size: int, views: npt.NDArray[np.uint64]
) -> Iterable[QueryBatch]:
    """The keypoint join's query entries, ``size`` rows at a time: from the stored blobs,
    every keypoint with all its words, mirrored ones too, as a search looks them up;
    without blobs, the keypoints the index keeps, with their one word. Each blob read
    also fills its row of ``views`` (see :func:`_index_views`), so no blob is read twice."""
    for start in range(0, len(queries), size):
        chunk = queries[start : start + size].tolist()
        sets: list[tuple[int, KeypointSet]] = []
        stored = blobs(core.keys[np.asarray(chunk, np.int64)].tolist()) if blobs is not None else {}
        for row in chunk:
            blob = stored.get(int(core.keys[row]))
            if blob is not None:
                f = layout.from_blob(blob)
                sets += [(row, f.normal), (row, f.mirrored)]
                upright, mirrored = centres.views(f)
                views[row] = (*upright, *mirrored)
            else:
                sets.append((row, core.row_features(row).normal))
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


def _keypoint_pairs(core: CascadeIndex, ok: npt.NDArray[np.bool_]) -> Iterable[tuple[int, int]]:
    """Each live row's indexed keypoints searched against the others (without blobs)."""
    for row in np.flatnonzero(ok).tolist():
        f = core.row_features(row)
        if not len(f.normal.packed):
            continue
        matches, _ = core.keypoint_matches(f.normal, f.size, ok, shortlist=_JOIN_SHORTLIST, words_per_keypoint=1)
        for other in matches:
            if other != row:
                yield min(row, other), max(row, other)


class RobustEngine(Engine):
    """Hash codes plus ORB keypoints, searched as a cascade (see the module docstring)."""

    algorithm: ClassVar[str] = "ris-hash+orb"
    #: 7: every operation scores a pair by the one decision (the scores of 6 differed
    #: between search, duplicates and compare). 8: every view comes from one decode
    #: (issue 14), which moves the hash codes and chroma maps a little. 9: gather gates its
    #: looks on the pair's own evidence. 10: containment and heavy crops (issue 13): wider
    #: scales, coarse keypoints indexed, more keypoints in the blob, the border and
    #: repetition checks (blob layout 6).
    version: ClassVar[str] = "10"
    default_threshold: ClassVar[float] = 70.0
    duplicate_threshold: ClassVar[float] = 80.0

    def __init__(self, always_verify: bool = False, keypoint_duplicates: bool = True) -> None:
        self.always_verify, self.keypoint_duplicates = always_verify, keypoint_duplicates

    def extract(self, image: ImageData) -> bytes:
        """Decode at reduced scale and extract every look's features."""
        return layout.to_blob(layout.extract(image))

    def query(self, image: ImageData) -> QueryFeatures:
        """The query decoded and hashed; the rest is extracted only if its search needs it."""
        return StagedQuery(image)

    def describe(self, blob: bytes) -> tuple[int, int]:
        """``(keypoints + 2 hash codes, 256)``: ORB descriptors are 256-bit."""
        f = layout.from_blob(blob)
        return len(f.normal.packed) + 2, 256

    def compare(self, first: bytes, second: bytes) -> Score:
        """The pair's score: its evidence, gathered from both blobs, decided as a search
        and ``find_duplicates`` decide it (the order of the two does not matter)."""
        a, b = layout.from_blob(first), layout.from_blob(second)
        return score_of(decide(gather(a, b, POLICY), POLICY), POLICY)

    def new_index(self) -> RobustIndex:
        """An empty cascade index."""
        return RobustIndex(self.always_verify, self.keypoint_duplicates)


class HashStageEngine(RobustEngine):
    """The hash look alone: four codes per image, no keypoints, no thumbnails."""

    algorithm: ClassVar[str] = "ris-hash"
    #: 5: the mirrored distance counts either side's mirror, as the robust engine's does.
    #: 6: a PNG or WebP is reduced like a JPEG draft before it is hashed (issue 14).
    version: ClassVar[str] = "6"

    def query(self, image: ImageData) -> QueryFeatures:
        """The whole (hash-only) blob at once: there is nothing to put off."""
        return ExtractedQuery(self.extract(image))

    def extract(self, image: ImageData) -> bytes:
        """Decode small and hash (no keypoints)."""
        codes = layout.extract_hashes(image)
        return layout.to_blob(Features((0, 0), codes, KeypointSet.empty(), 0, KeypointSet.empty()))
