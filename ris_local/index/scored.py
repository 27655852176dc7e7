"""The local backend's index: the cascade proposes candidates, the one decision scores each.

:class:`RobustIndex` is what :class:`ris_local.robust.RobustEngine` hands the backend
(:class:`ris_local.engine.FeatureIndex`). Its :class:`~ris_local.index.cascade.CascadeIndex`
holds every row's codes, keypoint postings and centre codes and proposes candidates by
the three looks (hash, keypoints, thumbnails); every candidate pair is then scored from
its own evidence (:func:`ris_local.scoring.gather.gather`) by the one decision
(:func:`ris_local.scoring.decision.decide`), so a search, ``find_duplicates``
(:mod:`ris_local.index.self_join`) and ``compare`` give a pair one score, whatever else
is stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import numpy.typing as npt

from ris_local.engine import BlobReader, FeatureIndex, Hit, Keys, Progress, QueryFeatures, Score
from ris_local.features import layout
from ris_local.features.layout import Features
from ris_local.features.staged import StagedQuery
from ris_local.index.blocks import from_blocks, to_blocks
from ris_local.index.cascade import CascadeIndex, hash_distances, hash_radius
from ris_local.index.self_join import READ_BATCH, joined_pairs, per_image_pairs
from ris_local.scoring.decision import Decision, Stage, decide
from ris_local.scoring.evidence import Evidence
from ris_local.scoring.gather import gather
from ris_local.scoring.policy import POLICY, ScoringPolicy
from ris_local.workers import check_workers, usable_cores

__all__ = ["SEARCH_RADIUS", "RobustIndex", "score_of"]

#: Summed Hamming radius of the hash look's lookups (its similarity floor is 100*(1-r/64)).
#: Candidate generation: whole benchmark.
SEARCH_RADIUS = 24
_COMPACT_SHARE = 0.2  # compact when this share of rows has been removed


def score_of(decision: Decision, policy: ScoringPolicy = POLICY) -> Score:
    """A decision as the backend reports it: the distance is in hash bits for the hash
    look, ``100 - similarity`` otherwise."""
    if decision.stage in (Stage.HASH, Stage.FLAT_HASH):
        distance = policy.zero_similarity_bits * (1 - decision.similarity / 100.0)
    else:
        distance = 100.0 - decision.similarity
    return Score(decision.similarity, distance, decision.explanation)


class RobustIndex(FeatureIndex):
    """A :class:`CascadeIndex` behind the backend's :class:`FeatureIndex` interface: it
    finds candidates, and every candidate pair is scored by the one decision."""

    def __init__(
        self,
        always_verify: bool = False,
        keypoint_duplicates: bool = True,
        per_image_duplicates: bool = False,
        duplicate_workers: int | None = None,
    ) -> None:
        self.policy = POLICY
        self.core = CascadeIndex(self.policy, SEARCH_RADIUS)
        self.always_verify, self.keypoint_duplicates = always_verify, keypoint_duplicates
        #: The earlier self-join, kept as the benchmark's anchor: each image searched as a query.
        self.per_image_duplicates = per_image_duplicates
        #: Processes that score :meth:`pairs`' candidates (None: one per usable core; 1:
        #: this process alone). The pairs and scores are the same whatever the number.
        self.duplicate_workers = check_workers(duplicate_workers)

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
        return {
            row: layout.from_blob(source) if isinstance(source, bytes) else source
            for row, source in self._sources(rows, blobs).items()
        }

    def _sources(self, rows: Sequence[int], blobs: BlobReader | None) -> dict[int, bytes | Features]:
        """Each row's stored blob where it can be read (undecoded), otherwise the
        features the index holds of it."""
        read = blobs(self.core.keys[np.asarray(rows, np.int64)].tolist()) if blobs is not None and len(rows) else {}
        out: dict[int, bytes | Features] = {}
        for row in rows:
            blob = read.get(int(self.core.keys[row]))
            out[row] = blob if blob is not None else self.core.row_features(row)
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
        for start in range(0, len(unsure), READ_BATCH):
            batch = unsure[start : start + READ_BATCH]
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
        """Pairs at or above ``threshold``, found in one join and scored as
        :meth:`ris_local.robust.RobustEngine.compare` scores them (the steps are in
        :mod:`ris_local.index.self_join`): the hash look's pairs (the same reach at every
        threshold whose hash radius is under ``SEARCH_RADIUS``, so a run never misses a
        pair that a run at a lower threshold scores above it through the same
        candidates), then with ``keypoint_duplicates`` the keypoint join's and, with the
        stored ``blobs``, the thumbnail look's. ``per_image_duplicates`` searches each
        image as a query instead (the benchmark's anchor). ``progress`` gets
        ``(done, total)``: each image counts twice, once as its candidates are found,
        once as they are scored. The join's candidates are scored in
        ``duplicate_workers`` processes, to the same pairs and scores as in one."""
        ok = self._rows_ok(allowed)

        def read(rows: Sequence[int]) -> dict[int, Features]:
            return self._stored(rows, blobs)

        def sources(rows: Sequence[int]) -> dict[int, bytes | Features]:
            return self._sources(rows, blobs)

        if self.per_image_duplicates:
            decided = per_image_pairs(
                self.core, self.policy, threshold, ok, read, blobs is not None, SEARCH_RADIUS, self.keypoint_duplicates
            )
        else:
            workers = self.duplicate_workers or usable_cores()
            decided = joined_pairs(
                self.core,
                self.policy,
                threshold,
                ok,
                sources,
                blobs,
                progress,
                SEARCH_RADIUS,
                self.keypoint_duplicates,
                workers,
            )
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
