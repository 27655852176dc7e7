"""Every pair of a collection above a threshold, in one join rather than one search per image.

``find_duplicates`` over a million images cannot afford a search per image (issue 14), so
the candidates come from self-joins over what the index already holds:

1. the hash look's pairs (:func:`hash_pairs`): multi-index self-joins of the DCT and
   gradient codes, direct and mirrored (:mod:`ris_local.index.hamming_join`);
2. the keypoint look's pairs: every image's keypoints, as a query's, looked up a batch
   at a time over the selective words (:func:`ris_local.index.keypoint_join.voted_pairs`);
3. the thumbnail look's pairs: the rows nearest in centre code
   (:mod:`ris_local.index.centre_join`), only where the stored blobs can be read.

A pair the hash decides as sure needs nothing more; every other candidate is scored from
its own evidence by the one decision (:func:`ris_local.scoring.gather.gather`,
:func:`ris_local.scoring.decision.decide`), so a pair scores here what a search and
``compare`` give it. That scoring is most of the join's time, and it runs in ``workers``
processes (:mod:`ris_local.workers`, which batch ingest's extraction shares): a pair's
decision is a function of its two pictures alone, so it is the same in whichever
process, in whatever order, and the join's pairs and scores do not depend on the number
of workers. :func:`per_image_pairs` is the earlier join, each image searched as a query,
kept as the benchmark's anchor.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import numpy.typing as npt

from ris_core.groups import connected_groups
from ris_local.engine import BlobReader, Progress
from ris_local.features import layout
from ris_local.features.hashcodes import HashCodes
from ris_local.features.layout import Features, KeypointSet
from ris_local.index import centres
from ris_local.index.cascade import CascadeIndex, hash_distances, hash_radius
from ris_local.index.centre_join import centre_pairs
from ris_local.index.keypoint_join import QueryBatch, voted_pairs
from ris_local.index.multiindex import MultiIndex
from ris_local.scoring.decision import Decision, decide, is_flat
from ris_local.scoring.evidence import Evidence
from ris_local.scoring.gather import gather
from ris_local.scoring.policy import ScoringPolicy
from ris_local.scoring.verification import signatures
from ris_local.workers import pool_size, prepare_worker, process_pool, start_fork_server

__all__ = ["FeatureReader", "RowPair", "SourceReader", "hash_pairs", "joined_pairs", "per_image_pairs"]

logger = logging.getLogger("ris_local")

#: The hash look's self-join never looks further than this many DCT bits.
MAX_JOIN_BITS = 8
#: Rows verified per image in the keypoint self-join without blobs.
JOIN_SHORTLIST = 5
#: Stored blobs read (and pairs scored) at a time.
READ_BATCH = 256
#: Decoded pictures the scoring keeps between its batches (least recently used out; a
#: decoded blob is mostly views of its bytes, about 25 KB). A picture is in several
#: pairs, and what scoring derives from one side (:mod:`ris_local.scoring.memo`) is
#: remembered by the identity of its arrays: read again in a later batch, it is a new
#: object and all of that is made again. Tuning half, medium duplicate collection: the
#: pairs' scoring takes 10-15% less CPU than reading each batch afresh.
FEATURES_KEPT = 1024
#: Pairs a worker process scores per task: small enough that two workers share a read
#: batch evenly, large enough that a task's pairs share rows (the pairs are sorted, so a
#: row's pairs are mostly in one task) and that shipping the task's blobs (about 30 KB
#: each) is a small part of its few hundred milliseconds. Tuning half, medium duplicate
#: collection, two workers (one probe on a shared machine): its 786 pairs took 3.0 s in
#: tasks of 32 or 64, 5.0 s in tasks of 128 (too few to share evenly), 4.6 s in one process.
SCORING_TASK = 32
#: Fewest pairs to score that are worth starting worker processes for (forking them
#: from a running fork server costs some tens of milliseconds, a pair about 5 ms of one
#: core; not tuned further); fewer are scored here.
POOL_MIN_PAIRS = 2 * SCORING_TASK
#: Images whose keypoints the keypoint join looks up together.
QUERY_BATCH = 64
#: The centre-code candidates of the self-join: each image's ``centres.CANDIDATES``
#: nearest rows per orientation, as a search's thumbnail look takes them, but within this
#: many bits (a search looks up to ``centres.RADIUS``; see :mod:`ris_local.index.centre_join`).
#: Tuning half, medium duplicate collection: 4 to 10 bits find the same six true pairs the
#: join missed (crops and mirrored copies of smooth pictures, 0 to 8 bits away); 12 adds
#: a false thumbnail pair.
CENTRE_JOIN_BITS = 8

I64 = npt.NDArray[np.int64]
#: Two rows of the index, the smaller first.
RowPair = tuple[int, int]
#: Each asked row's features: from its stored blob where it can be read, otherwise what
#: the index holds of it.
FeatureReader = Callable[[Sequence[int]], dict[int, Features]]
#: Each asked row's stored blob where it can be read (undecoded, so it can be sent to a
#: worker process as it is), otherwise what the index holds of it.
SourceReader = Callable[[Sequence[int]], dict[int, bytes | Features]]


def hash_pairs(
    core: CascadeIndex, threshold: float, ok: npt.NDArray[np.bool_], policy: ScoringPolicy, reach: int
) -> Iterable[tuple[int, int, int]]:
    """Row pairs the hash look proposes (the smaller row first), with their summed hash
    distance: those within ``reach`` summed bits (the search's
    ``SEARCH_RADIUS``) whose DCT codes or whose
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
    if radius >= reach:
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
    radius = reach
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


def _sure_by_hash(
    core: CascadeIndex, threshold: float, ok: npt.NDArray[np.bool_], policy: ScoringPolicy, reach: int
) -> tuple[dict[RowPair, Decision], list[RowPair]]:
    """The hash look's pairs: those its distance alone decides as sure, and the rest,
    which need their whole evidence."""
    decided: dict[RowPair, Decision] = {}
    unsure: list[RowPair] = []
    dct = core.mih.codes
    for a, b, distance in hash_pairs(core, threshold, ok, policy, reach):
        flat = is_flat(int(dct[a]), policy) or is_flat(int(dct[b]), policy)
        by_hash = decide(Evidence(distance, flat), policy)
        if by_hash.similarity >= policy.sure_similarity:
            decided[(a, b)] = by_hash  # a sure hash needs nothing more
        else:
            unsure.append((a, b))
    return decided, unsure


def joined_pairs(
    core: CascadeIndex,
    policy: ScoringPolicy,
    threshold: float,
    ok: npt.NDArray[np.bool_],
    read: SourceReader,
    blobs: BlobReader | None,
    progress: Progress | None,
    reach: int,
    keypoints: bool = True,
    workers: int = 1,
) -> dict[RowPair, Decision]:
    """Every candidate pair among the ``ok`` rows (see the module docstring), decided.

    ``keypoints`` adds the keypoint and (with ``blobs``) the thumbnail look's candidates
    to the hash look's. ``workers`` processes score the candidates (1: this process
    alone; the decisions are the same). ``progress`` gets ``(done, total)``: each image
    counts twice, once as its candidates are found, once as they are scored."""
    live = int(ok.sum())
    report = _Reporter(progress)
    report.total = 2 * live
    workers = pool_size(workers)
    if workers > 1 and live >= POOL_MIN_PAIRS:
        # The fork server's first start imports for most of a second: begun now, that
        # runs beside the candidate search (a collection this large usually has the pairs
        # to score that make workers worth it). Scoring extracts nothing, so the server
        # skips the extraction's warm-up, whose CPU would come out of the candidate
        # search's two threads (a fresh server, five probes each on a shared machine:
        # 0.66-0.97 s of CPU with it, 0.47-0.79 s without).
        start_fork_server([__name__], warm=False)
    decided, unsure = _sure_by_hash(core, threshold, ok, policy, reach)
    candidates = set(unsure)
    if keypoints:
        starts, rows, packed, rest, _ = core.postings.arrays()
        done = [0]

        def advance() -> None:
            done[0] = min(live, done[0] + QUERY_BATCH)
            report.to(done[0])

        views = _index_views(core)
        batches = _query_batches(core, np.flatnonzero(ok), blobs, QUERY_BATCH, views)
        idf = core.postings.idf(live)
        found = voted_pairs(starts, rows, packed, rest, idf, ok, batches, advance)
        candidates.update((int(a), int(b)) for a, b in found.tolist())
        if blobs is not None:
            # The thumbnail look's candidates, as a search takes them (only with the
            # stored blobs: without them there are no thumbnails to look at).
            live_rows = np.flatnonzero(ok)
            near = centre_pairs(
                np.ascontiguousarray(core.centre[:, live_rows].T),
                views[live_rows],
                np.ones(len(live_rows), bool),
                CENTRE_JOIN_BITS,
                centres.CANDIDATES,
            )
            candidates.update((int(a), int(b)) for a, b in live_rows[near].tolist())
    report.to(live)
    to_score = sorted(candidates - decided.keys())

    def scored(count: int) -> None:
        report.to(live + live * count // len(to_score))

    scores: dict[RowPair, Decision] = {}
    if workers > 1 and len(to_score) >= POOL_MIN_PAIRS:
        try:
            _score_in_workers(to_score, read, policy, workers, scores, scored)
        except (BrokenProcessPool, OSError, EOFError):
            # A worker died (killed, out of memory) or none could start: the pairs it
            # had not answered are scored here, to the same decisions.
            logger.warning("a pair-scoring worker failed; scoring the rest of find_duplicates' pairs in this process")
    left = [pair for pair in to_score if pair not in scores] if scores else to_score
    kept: collections.OrderedDict[int, Features] = collections.OrderedDict()
    for start in range(0, len(left), READ_BATCH):
        batch = left[start : start + READ_BATCH]
        stored = _kept_features(kept, sorted({row for pair in batch for row in pair}), _decoding(read))
        for a, b in batch:
            scores[(a, b)] = decide(gather(stored[a], stored[b], policy), policy)
        scored(len(scores))
    decided.update(scores)
    report.to(2 * live)
    return decided


def _decoding(read: SourceReader) -> FeatureReader:
    """``read``'s rows as features: their blobs decoded, the index's rows as they are."""
    return lambda rows: {row: _decoded(source) for row, source in read(rows).items()}


def _decoded(source: bytes | Features) -> Features:
    return layout.from_blob(source) if isinstance(source, bytes) else source


def _score_in_workers(
    to_score: list[RowPair],
    read: SourceReader,
    policy: ScoringPolicy,
    workers: int,
    scores: dict[RowPair, Decision],
    scored: Callable[[int], None],
) -> None:
    """Decide ``to_score`` in ``workers`` processes into ``scores``: in the order of their
    groups (:func:`_by_group`), the blobs are read here ``READ_BATCH`` pairs at a time,
    as in-process scoring reads them, and each batch goes out as tasks of
    ``SCORING_TASK`` pairs with the blobs they need. Answers are taken in the order the
    tasks went out (``scored`` gets the count so far), and no more than two read
    batches are out at once, so memory stays bounded."""
    tasks = -(-len(to_score) // SCORING_TASK)
    to_score = _by_group(to_score)
    pool = process_pool(min(workers, tasks), _start_scoring_worker, (policy,), [__name__], warm=False)
    out: collections.deque[tuple[list[RowPair], Future[list[Decision]]]] = collections.deque()

    def take() -> None:
        pairs, answer = out.popleft()
        scores.update(zip(pairs, answer.result(), strict=True))
        scored(len(scores))

    try:
        for start in range(0, len(to_score), READ_BATCH):
            batch = to_score[start : start + READ_BATCH]
            sources = read(sorted({row for pair in batch for row in pair}))
            for first in range(0, len(batch), SCORING_TASK):
                task = batch[first : first + SCORING_TASK]
                needed = {row: sources[row] for row in sorted({row for pair in task for row in pair})}
                out.append((task, pool.submit(_score_task, task, needed)))
            while len(out) > -(-READ_BATCH // SCORING_TASK):  # the batch just sent, and no more
                take()
        while out:
            take()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _by_group(pairs: list[RowPair]) -> list[RowPair]:
    """``pairs`` in the order of the connected groups they draw (the pairs of a group
    together, each group's in sorted order), so that a row's pairs mostly land in one
    task, and the worker decodes the row and derives what scoring needs of it once
    rather than in each worker that gets one of its pairs. Tuning half, medium duplicate
    collection: the 786 pairs' tasks of 32 name 894 rows rather than 1,168 in sorted
    order (724 distinct)."""
    group_of = {row: n for n, members in enumerate(connected_groups(pairs)) for row in members}
    return sorted(pairs, key=lambda pair: (group_of[pair[0]], pair))


#: A scoring worker's policy, set when it starts.
_worker_policy: ScoringPolicy | None = None
#: A scoring worker's decoded pictures, kept between its tasks as in-process scoring keeps
#: them between batches (:data:`FEATURES_KEPT`): a worker serves one join only (its pool
#: is made for it), so a row always names the same picture.
_worker_kept: collections.OrderedDict[int, Features] = collections.OrderedDict()


def _start_scoring_worker(policy: ScoringPolicy) -> None:
    global _worker_policy
    prepare_worker(warm=False)
    _worker_policy = policy


def _score_task(pairs: list[RowPair], sources: dict[int, bytes | Features]) -> list[Decision]:
    """In a worker: each pair's decision, from the pictures in ``sources``."""
    policy = _worker_policy
    assert policy is not None
    stored = _kept_features(_worker_kept, list(sources), _decoding(lambda rows: {row: sources[row] for row in rows}))
    return [decide(gather(stored[a], stored[b], policy), policy) for a, b in pairs]


def per_image_pairs(
    core: CascadeIndex,
    policy: ScoringPolicy,
    threshold: float,
    ok: npt.NDArray[np.bool_],
    read: FeatureReader,
    searched: bool,
    reach: int,
    keypoints: bool = True,
) -> dict[RowPair, Decision]:
    """The earlier self-join (the benchmark's anchor): candidates from the hash join and,
    with ``keypoints``, from each image's keypoints searched in the index (``searched``:
    its full query look, from its stored blob; otherwise the keypoints the index holds),
    every pair decided as :func:`joined_pairs` decides it."""
    ok = ok.copy()
    decided, unsure = _sure_by_hash(core, threshold, ok, policy, reach)
    candidates: dict[int, set[int]] = {}
    for a, b in unsure:
        candidates.setdefault(a, set()).add(b)
    if keypoints and not searched:
        for a, b in _keypoint_pairs(core, ok):
            candidates.setdefault(a, set()).add(b)
    searched = keypoints and searched
    rows = np.flatnonzero(ok).tolist() if searched else sorted(candidates)
    for start in range(0, len(rows), READ_BATCH):
        batch = rows[start : start + READ_BATCH]
        stored = read(batch)
        for row in batch:
            found = set(candidates.pop(row, ()))
            if searched:
                ok[row] = False  # a row is not its own duplicate (and would crowd the shortlist)
                try:
                    found.update(core.unsure_candidates(stored[row], ok, True).tolist())
                finally:
                    ok[row] = True
            others = [o for o in sorted(found - {row}) if (min(row, o), max(row, o)) not in decided]
            known = {o: stored[o] for o in others if o in stored}
            known.update(read([o for o in others if o not in stored]))
            for other in others:
                pair = (min(row, other), max(row, other))
                decided[pair] = decide(gather(stored[row], known[other], policy), policy)
    return decided


def _kept_features(
    kept: collections.OrderedDict[int, Features], rows: list[int], read: FeatureReader
) -> dict[int, Features]:
    """``rows``' features: those ``kept`` from earlier batches (the very same objects, so
    what scoring remembers of them is found again), the others read; ``kept`` then holds
    the ``FEATURES_KEPT`` most recently used (and at least every row asked for)."""
    missing = [row for row in rows if row not in kept]
    kept.update(read(missing) if missing else {})
    for row in rows:
        kept.move_to_end(row)
    while len(kept) > max(FEATURES_KEPT, len(rows)):
        kept.popitem(last=False)
    return {row: kept[row] for row in rows}


class _Reporter:
    """Calls ``progress(done, total)`` when ``done`` grows (never backwards)."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress, self.total, self.done = progress, 0, -1

    def to(self, done: int) -> None:
        done = min(max(done, 0), self.total)
        if self.progress is not None and self.total and done > self.done:
            self.done = done
            self.progress(done, self.total)


def _index_views(core: CascadeIndex) -> npt.NDArray[np.uint64]:
    """Each row's centre-code views (:func:`ris_local.index.centres.views`: DCT code and
    whole frame's, upright then mirrored) from what the index holds; the mirrored whole
    frame is not held, so the mirrored DCT code stands in until the blob is read."""
    mirrored = core.other[:, 1]
    return np.ascontiguousarray(np.stack([core.mih.codes, core.centre[3], mirrored, mirrored], axis=1), np.uint64)


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
        # The batch's keypoint sets joined first and expanded once (one call per array
        # for the batch, not four per set: the same entries, in the same order).
        sets = [(row, kps) for row, kps in sets if len(kps.words)]
        if not sets:
            continue
        counts = np.array([len(kps.words) for _, kps in sets], np.int64)
        words_each = np.array([kps.words.shape[1] for _, kps in sets], np.int64)
        per = np.repeat(words_each, counts)  # each keypoint's words
        packed = np.concatenate([kps.packed for _, kps in sets])
        rest = np.concatenate([kps.rest for _, kps in sets])
        yield (
            np.repeat(np.array([row for row, _ in sets], np.int64), counts * words_each),
            np.repeat(np.arange(len(per), dtype=np.int64), per),
            np.concatenate([kps.words.ravel() for _, kps in sets]).astype(np.int64),
            np.repeat(signatures(packed, rest), per),
        )


def _keypoint_pairs(core: CascadeIndex, ok: npt.NDArray[np.bool_]) -> Iterable[tuple[int, int]]:
    """Each live row's indexed keypoints searched against the others (without blobs)."""
    for row in np.flatnonzero(ok).tolist():
        f = core.row_features(row)
        if not len(f.normal.packed):
            continue
        matches, _ = core.keypoint_matches(f.normal, f.size, ok, shortlist=JOIN_SHORTLIST, words_per_keypoint=1)
        for other in matches:
            if other != row:
                yield min(row, other), max(row, other)
