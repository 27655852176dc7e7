"""The cascade index: where a query's candidates come from, hash codes first, then keypoints, then thumbnails.

Rows are numbered in insertion order; ``keys`` maps them to the backend's keys and
``alive`` marks removed rows until the next compaction. Per row the hash look holds
four 64-bit codes and three multi-index tables (8 + 32 + 24 = 64 bytes with the key)
and the keypoint look up to 400 postings of 10 bytes (``layout.INDEX_KEYPOINTS`` of the
work scale and ``layout.COARSE_KEYPOINTS`` coarse ones), a 2-byte frame size and four
64-bit centre codes (4,034 bytes: issue 13 allows 8 KB where accuracy needs it).

This module only finds candidates; it never scores them. Every candidate it returns is
scored from the pair's own evidence (:mod:`ris_local.scoring`), so which rows are found
may depend on the rest of the index (a shortlist is a shortlist), but a found row's
score never does.

The looks, in turn: rows within the hash radius of the query or its mirror; when one of
them is sure (``sure_similarity``), that is all. Otherwise the keypoint look votes for
rows through the inverted file (scanning at most ``SCAN_BUDGET`` postings, rarest words
first; the frequent words count only for the rows the rare ones put forward; each
word weighs its idf squared, ``VOTE_IDF_POWER``), verifies
the best ``SHORTLIST`` geometrically (stopping after ``CONFIDENT_AFTER`` when a match is
already good), and tries the mirrored keypoints when nothing verified well. A row
whose indexed keypoints verified only ambiguously is a candidate too
(``AMBIGUOUS_CANDIDATES``): the pair's whole evidence decides. When no
keypoint match was good and the stored thumbnails can be read, the best-voted rows and
the rows whose centre code is near the query's (:mod:`ris_local.index.centres`) join
the candidates for the thumbnail look: smooth pictures give keypoints too little to hold.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ris_local.features import vocabulary
from ris_local.features.hashcodes import HashCodes
from ris_local.features.layout import Features, KeypointSet
from ris_local.index import centres
from ris_local.index.invertedfile import InvertedFile, RowPostings
from ris_local.index.multiindex import MultiIndex
from ris_local.scoring import thumbnails
from ris_local.scoring.decision import hash_similarity, keypoint_similarity
from ris_local.scoring.policy import ScoringPolicy
from ris_local.scoring.verification import Match, signatures, unpack, verify

__all__ = ["CascadeIndex"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
#: Best-voted rows verified per query. Crops and rotations of busy pictures (many
#: tentative matches with every row) can rank their picture 40th to 80th, and a crop
#: keeping a quarter of the area (a quarter of its picture's indexed keypoints) 100th
#: to 200th; queries that find a good match early stop after CONFIDENT_AFTER, so the
#: longer list mostly costs queries that match nothing. Candidate generation, not
#: scoring. Tuning half, --quick (branch heavycrop, /tmp harness over cached blobs):
#: 80 -> 160 lifts heavy crops 0.792 -> 0.800 with the vote and ambiguous candidates
#: below, 240 adds nothing more; 80 was fitted on the whole issue-5 benchmark.
SHORTLIST = 160
#: Past this many verified rows, the shortlist ends early once a match scores the
#: policy's ``thumbnails_below``: most queries find their picture among the first few.
CONFIDENT_AFTER = 20
#: DCT radius of the first, cheap lookup (nearly every sure hit is within it) and the
#: second one made when the hash look is unsure and keypoints will be searched anyway.
SURE_DCT_BITS, WIDE_DCT_BITS = 11, 15
#: Postings a query's vote may scan; longer lists (frequent words) only feed verification.
SCAN_BUDGET = 1_000_000
#: When frequent words were left out, this many shortlists' worth of rows are re-voted.
PRESELECT = 5
#: Best-voted rows that join the candidates for the thumbnail look (with the rows
#: nearest in centre code) when keypoints verified nothing good.
THUMBNAIL_CANDIDATES = 10
#: Power of a word's idf in the vote: 2 is the tf-idf dot product (the query's and the
#: row's weight of the word, each its idf), 1 the plain idf sum it replaces. Squaring
#: lets a few rare words (the part of a picture a heavy crop keeps) outvote many common
#: ones (busy rows that match every query a little). Tuning half, --quick (branch
#: heavycrop): the picture of a heavy crop within the best 80 votes 0.84 -> 0.90,
#: within 10 0.68 -> 0.75; every other family's ranks as good or better; heavy-crop
#: recall@1 0.750 -> 0.767 alone. Power 3 ranks as 2 does.
VOTE_IDF_POWER = 2
#: Best-voted rows verified for each of the query's region keypoint sets
#: (``Features.region_keypoints``: a picture pasted into the query, looked up as a query
#: of its own when nothing verified well). Not fitted: a quarter of ``SHORTLIST``, the
#: region's keypoints being a picture's own with few rows sharing its rare words
#: (branch cropver).
REGION_SHORTLIST = 20
#: Whether rows whose indexed keypoints verified only ambiguously (a rival transform
#: nearly as good) are candidates all the same. A heavy crop's query keypoints meet only
#: a quarter of its picture's indexed ones, and that one-way match can come out
#: ambiguous where the pair's whole evidence (both ways, :func:`ris_local.scoring.gather.gather`)
#: verifies cleanly. The pair's score is its own, so this decides only what is scored.
#: Tuning half, --quick (branch heavycrop): heavy crops 0.750 -> 0.775 alone.
AMBIGUOUS_CANDIDATES = True


def hash_distances(codes: HashCodes, stored: npt.NDArray[np.uint64]) -> I64:
    """The summed hash distance of a query's ``codes`` to each stored row's four codes
    (``stored``: DCT, gradient, mirrored DCT, mirrored gradient), the best of direct and
    either side mirrored, as :func:`ris_local.scoring.gather.hash_distance` counts it."""
    dct, gradient, mirrored_dct, mirrored_gradient = (stored[:, i] for i in range(4))
    direct = np.bitwise_count(dct ^ np.uint64(codes.dct)) + np.bitwise_count(gradient ^ np.uint64(codes.gradient))
    query_mirrored = np.bitwise_count(dct ^ np.uint64(codes.mirrored_dct)) + np.bitwise_count(
        gradient ^ np.uint64(codes.mirrored_gradient)
    )
    row_mirrored = np.bitwise_count(mirrored_dct ^ np.uint64(codes.dct)) + np.bitwise_count(
        mirrored_gradient ^ np.uint64(codes.gradient)
    )
    found: I64 = np.minimum(np.minimum(direct, query_mirrored), row_mirrored).astype(np.int64)
    return found


def hash_radius(threshold: float, policy: ScoringPolicy) -> int:
    """The largest summed distance whose (unflat) hash similarity still reaches
    ``threshold``, from the decision's own formula; -1 when none does."""
    reaching = [d for d in range(129) if hash_similarity(d, False, policy) >= threshold]
    return max(reaching, default=-1)


def sure(
    distance: I64, query_dct: int, stored_dct: npt.NDArray[np.uint64], policy: ScoringPolicy
) -> npt.NDArray[np.bool_]:
    """Which distances make a sure hash, as the decision would say (a flat side never does)."""
    flat = (np.bitwise_count(stored_dct) < policy.flat_bits) | (int(query_dct).bit_count() < policy.flat_bits)
    return np.asarray((distance <= hash_radius(policy.sure_similarity, policy)) & ~flat)


def _votes(entry: I64, rows: I64, owners: I64, words: I64, idf: F64, n: int, row_count: int, by_idf: I64) -> F64:
    """Each row's vote: the idf of its best word for each query keypoint it matches
    (a keypoint votes once per row, so a repeated word cannot stuff the ballot).

    ``by_idf`` is ``np.argsort(idf)`` (any order that sorts ``idf`` will do: tied words
    carry the same float). Each match becomes one 64-bit key, its row, its query
    keypoint and the rank of its word's idf in bit fields, and the keys are sorted in
    place: a direct sort of integers is several times cheaper than the indirect sort
    of the pairs it replaces, and the last key of each (row, keypoint) pair carries the
    pair's best idf. The fields are powers of two wide, so the row is a shift of the key
    (not a division): the same order as ``row * n + keypoint``, hence the same floats,
    summed in the same (pair) order, whichever input order the matches come in."""
    if not len(entry):
        return np.zeros(row_count, np.float64)
    bits = max(1, (len(idf) - 1).bit_length())
    owner_bits = max(1, (n - 1).bit_length())
    if row_count >> (62 - bits - owner_bits):  # the key would not fit: the indirect sort instead
        pair = rows * n + owners[entry]
        order = np.argsort(pair)
        pair = pair[order]
        starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
        best = np.maximum.reduceat(idf[words[entry[order]]], starts)
        return np.bincount(pair[starts] // n, weights=best, minlength=row_count).astype(np.float64, copy=False)
    rank = np.empty(len(idf), np.int64)
    rank[by_idf] = np.arange(len(idf), dtype=np.int64)
    low = (owners << bits) | rank[words]  # per query entry: its keypoint and its word's rank
    key = rows << (owner_bits + bits)
    key |= low[entry]
    key.sort()
    pair = key >> bits
    last = np.flatnonzero(np.r_[pair[1:] != pair[:-1], True])
    ends = key[last]
    best = idf[by_idf[ends & ((1 << bits) - 1)]]
    votes = np.bincount(ends >> (owner_bits + bits), weights=best, minlength=row_count)
    return votes.astype(np.float64, copy=False)


def _recount(
    votes: F64, ahead: I64, entry: I64, rows: I64, owners: I64, words: I64, idf: F64, n: int, by_idf: I64
) -> F64:
    """``votes`` with the rows of ``ahead`` counted again from the matches
    (``entry``, ``rows``): what :func:`_votes` of all the matches gives when every
    match outside ``ahead`` was already in ``votes``. A row's vote is the sum of its own
    pairs' best idfs in pair order, so counting only the ahead rows' matches gives their
    same floats; the others' votes are unchanged. Saves sorting every match twice."""
    if not len(ahead):
        return votes
    wanted = np.zeros(len(votes), dtype=bool)
    wanted[ahead] = True
    mine = np.flatnonzero(wanted[rows])
    # counted only as far as the last ahead row: the rows past it have no match here
    counted = _votes(entry[mine], rows[mine], owners, words, idf, n, int(ahead.max()) + 1, by_idf)
    out = votes.copy()
    out[ahead] = counted[ahead]
    return out


def _top(votes: F64, count: int) -> I64:
    """Rows of the ``count`` highest positive votes, best first (ties by row)."""
    if count < len(votes):
        candidates = np.argpartition(-votes, count)[:count]
        candidates = candidates[np.lexsort((candidates, -votes[candidates]))]
    else:
        candidates = np.argsort(-votes, kind="stable")
    best: I64 = candidates[votes[candidates] > 0].astype(np.int64)
    return best


class CascadeIndex:
    """The storage and all three stages; :class:`~ris_local.index.scored.RobustIndex` wraps it."""

    def __init__(self, policy: ScoringPolicy, search_radius: int) -> None:
        self.policy, self.search_radius = policy, search_radius
        self.keys: I64 = np.empty(0, np.int64)
        self.alive = np.empty(0, bool)
        self.mih = MultiIndex()  # over the DCT codes
        self.other = np.empty((0, 3), np.uint64)  # gradient, mirrored DCT, mirrored gradient
        self.sizes = np.empty((0, 2), np.uint8)  # frame on the 128-step grid
        #: DCT codes of each picture's centre, by share, then of its whole frame, borders kept
        self.centre = np.empty((4, 0), np.uint64)
        self.postings = InvertedFile(vocabulary.load().size)
        self._by_row: RowPostings | None = None  # each row's postings, built on first use

    def forget_rows(self) -> None:
        """Drop the per-row lookup of postings after the rows changed."""
        self._by_row = None

    # -- storage -------------------------------------------------------------------
    def append(self, keys: I64, features: list[Features]) -> None:
        """Add rows (the caller has removed any earlier rows of these keys)."""
        self.forget_rows()
        start = len(self.keys)
        self.keys = np.concatenate([self.keys, keys])
        self.alive = np.concatenate([self.alive, np.ones(len(keys), bool)])
        codes = np.array(
            [[f.codes.dct, f.codes.gradient, f.codes.mirrored_dct, f.codes.mirrored_gradient] for f in features],
            dtype=np.uint64,
        ).reshape(-1, 4)
        self.mih.append(codes[:, 0])
        self.other = np.concatenate([self.other, codes[:, 1:]])
        sizes = np.array(
            [[min(255, (f.size[0] + 1) // 2), min(255, (f.size[1] + 1) // 2)] for f in features], np.uint8
        ).reshape(-1, 2)
        self.sizes = np.concatenate([self.sizes, sizes])
        centre = np.array([centres.row_codes(f) for f in features], np.uint64).reshape(-1, 4)
        self.centre = np.concatenate([self.centre, centre.T], axis=1)
        for offset, f in enumerate(features):
            if f.n_index:
                kps, count = f.normal, f.n_index
                self.postings.add(start + offset, kps.words[:count, 0], kps.packed[:count], kps.rest[:count])

    def compact(self) -> None:
        """Drop removed rows for good and renumber the rest."""
        self.forget_rows()
        keep = self.alive
        renumber = np.cumsum(keep) - 1
        self.postings.merge(keep, renumber)
        self.keys, self.other, self.sizes = self.keys[keep], self.other[keep], self.sizes[keep]
        self.centre = self.centre[:, keep]
        self.mih.replace(self.mih.codes[keep])
        self.alive = np.ones(len(self.keys), bool)

    # -- the hash look -------------------------------------------------------------
    def stored_codes(self, rows: I64) -> npt.NDArray[np.uint64]:
        """The four hash codes of each of ``rows`` (DCT, gradient, mirrored DCT and gradient)."""
        return np.column_stack([self.mih.codes[rows], self.other[rows]]).astype(np.uint64).reshape(-1, 4)

    def hash_candidates(
        self, f: Features, radius: int, rows_ok: npt.NDArray[np.bool_], dct_radius: int
    ) -> tuple[I64, I64]:
        """Rows within ``radius`` summed bits of the query whose DCT code is within
        ``dct_radius`` bits of the query's or its mirror's, with their distances."""
        found = self.mih.within_any([f.codes.dct, f.codes.mirrored_dct], dct_radius)
        found = found[rows_ok[found]]
        distance = hash_distances(f.codes, self.stored_codes(found))
        close = distance <= radius
        return found[close], distance[close]

    def region_candidates(self, f: Features, rows_ok: npt.NDArray[np.bool_]) -> I64:
        """Rows whose whole hash codes are within the policy's ``region_max_bits`` of one
        of the query's proposed regions (:mod:`ris_local.features.regions`), looked up
        in the hash look's multi-index as the query's own codes are: the picture pasted
        into a screenshot or a collage. (The converse, a stored row's region matching
        the query whole, is weighed when a pair is scored but proposes no candidate:
        the index does not hold the rows' regions.)"""
        kept = [r for r in f.regions if r.share >= self.policy.region_min_share]
        if not kept or not len(self.keys):
            return np.empty(0, np.int64)
        probes = [code for r in kept for code in (r.codes.dct, r.codes.mirrored_dct)]
        rows = self.mih.within_any(probes, WIDE_DCT_BITS)
        rows = rows[rows_ok[rows]]
        stored = self.stored_codes(rows)
        near = np.zeros(len(rows), bool)
        for region in kept:
            near |= hash_distances(region.codes, stored) <= self.policy.region_max_bits
        found: I64 = rows[near].astype(np.int64)
        return found

    def row_features(self, row: int) -> Features:
        """What the index itself holds of a row, as features: its hash codes, frame,
        centre codes and indexed keypoints (one word each); no thumbnail, no colours.
        Used to score a row whose stored blob cannot be read."""
        dct, gradient, mirrored_dct, mirrored_gradient = (int(c) for c in self.stored_codes(np.array([row]))[0])
        if self._by_row is None:
            self._by_row = self.postings.by_row()
        words, packed, rest = self._by_row(row)
        normal = KeypointSet(packed, rest, words[:, None])
        size = (int(self.sizes[row, 0]) * 2, int(self.sizes[row, 1]) * 2)
        first, second, third, whole = (int(c) for c in self.centre[:, row])
        return Features(
            size,
            HashCodes(dct, gradient, mirrored_dct, mirrored_gradient),
            normal,
            len(packed),
            KeypointSet.empty(),
            centre_codes=(first, second, third),
            untrimmed_codes=None if whole == dct else (whole, whole),
        )

    # -- the keypoint look -----------------------------------------------------------
    def keypoint_matches(
        self,
        kps: KeypointSet,
        size: tuple[int, int],
        rows_ok: npt.NDArray[np.bool_],
        shortlist: int | None = None,
        words_per_keypoint: int | None = None,
        keep_ambiguous: bool = False,
    ) -> tuple[dict[int, Match], I64]:
        """Verified matches of a query keypoint set with the best-voted rows, looking up
        the first ``words_per_keypoint`` words of each keypoint (all by default), and
        the shortlist of rows, best-voted first (``SHORTLIST`` of them by default).
        Ambiguous matches are left out unless ``keep_ambiguous``; they never end the
        shortlist early."""
        n = len(kps.packed)
        shortlist = shortlist or SHORTLIST
        words_per_keypoint = words_per_keypoint or kps.words.shape[1]
        none = np.empty(0, np.int64)
        if n == 0 or not len(self.keys):
            return {}, none
        words = kps.words[:, :words_per_keypoint].astype(np.int64).ravel()
        owners = np.repeat(np.arange(n, dtype=np.int64), words_per_keypoint)
        query_xy, query_angle = unpack(kps.packed)
        query_signatures = signatures(kps.packed, kps.rest)[owners]
        (entry, rows, packed), skipped = self.postings.lookup(words, query_signatures, SCAN_BUDGET)
        usable = rows_ok[rows]
        if not usable.all():  # (nearly always all are: three copies of every match saved)
            entry, rows, packed = entry[usable], rows[usable], packed[usable]
        if not len(rows):
            return {}, none
        idf = np.maximum(self.postings.idf(int(self.alive.sum())), 0.0) ** VOTE_IDF_POWER
        by_idf = self.postings.idf_order()
        if len(skipped):
            # The frequent words left out of the vote still count, but only for the rows
            # the rare words put forward; then the full vote picks the shortlist.
            votes = _votes(entry, rows, owners, words, idf, n, len(self.keys), by_idf)
            ahead = _top(votes, shortlist * PRESELECT)
            more_entry, more_rows, more_packed = self.postings.lookup_rows(
                words[skipped], query_signatures[skipped], np.sort(ahead)
            )
            entry = np.concatenate([entry, skipped[more_entry]])
            rows, packed = np.concatenate([rows, more_rows]), np.concatenate([packed, more_packed])
            # lookup_rows found postings in the ahead rows only: only their votes change.
            votes = _recount(votes, ahead, entry, rows, owners, words, idf, n, by_idf)
        else:
            votes = _votes(entry, rows, owners, words, idf, n, len(self.keys), by_idf)
        best = _top(votes, shortlist)
        # Only the shortlisted rows' postings, grouped by row, go on to verification.
        shortlisted = np.zeros(len(self.keys), dtype=bool)
        shortlisted[best] = True
        kept = np.flatnonzero(shortlisted[rows])
        kept = kept[np.argsort(rows[kept], kind="stable")]
        owner, packed, sorted_rows = owners[entry[kept]], packed[kept], rows[kept]
        cand_xy, cand_angle = unpack(packed)
        matches: dict[int, Match] = {}
        query_frame = (size[0] / 2.0, size[1] / 2.0)
        confident = False
        for count, row in enumerate(best):
            if confident and count >= CONFIDENT_AFTER:
                break
            lo, hi = np.searchsorted(sorted_rows, row, "left"), np.searchsorted(sorted_rows, row, "right")
            sel = slice(lo, hi)
            match = verify(
                owner[sel],
                query_xy[owner[sel]],
                query_angle[owner[sel]],
                np.asarray(packed[sel], np.int64),
                cand_xy[sel],
                cand_angle[sel],
                query_frame,
                (float(self.sizes[row, 0]), float(self.sizes[row, 1])),
                self.policy,
            )
            if match is not None and match.ambiguous and keep_ambiguous:
                matches[int(row)] = match
            elif match is not None and not match.ambiguous:
                matches[int(row)] = match
                confident = confident or keypoint_similarity(match, self.policy) >= self.policy.thumbnails_below
        return matches, best

    def keypoint_candidates(self, f: Features, rows_ok: npt.NDArray[np.bool_]) -> tuple[dict[int, float], I64]:
        """Rows whose keypoints verified with the query's (mirrored ones tried when none
        reached ``thumbnails_below``), with that similarity (0 for a row that verified
        only ambiguously, with ``AMBIGUOUS_CANDIDATES``), and the normal keypoints'
        shortlist, best-voted first."""
        keep = AMBIGUOUS_CANDIDATES
        best: dict[int, float] = {}

        def take(found: dict[int, Match]) -> None:
            for row, m in found.items():
                if m.ambiguous:  # a candidate, but no evidence of its own here
                    best.setdefault(row, 0.0)
                elif (sim := keypoint_similarity(m, self.policy)) > 0:
                    best[row] = max(best.get(row, 0.0), sim)

        matches, shortlist = self.keypoint_matches(f.normal, f.size, rows_ok, keep_ambiguous=keep)
        take(matches)
        if max(best.values(), default=0.0) < self.policy.thumbnails_below and len(f.mirrored.packed):
            take(self.keypoint_matches(f.mirrored, f.size, rows_ok, keep_ambiguous=keep)[0])
        if max(best.values(), default=0.0) < self.policy.thumbnails_below:
            # A picture pasted into the query: its region's own keypoints, looked up as
            # a query of their own (the pair's evidence weighs them the same way).
            for _, kps, size in f.region_keypoints:
                take(self.keypoint_matches(kps, size, rows_ok, shortlist=REGION_SHORTLIST)[0])
        return best, shortlist

    def centre_candidates(self, f: Features, rows_ok: npt.NDArray[np.bool_]) -> tuple[I64, I64]:
        """The rows whose centre codes are nearest the query's and its mirror's (see
        :mod:`ris_local.index.centres`): a crop from the middle of a smooth picture, which the
        keypoint vote misses, is usually among them."""
        view, mirrored_view = centres.views(f)
        return centres.nearest(view, self.centre, rows_ok), centres.nearest(mirrored_view, self.centre, rows_ok)

    def unsure_candidates(self, f: Features, rows_ok: npt.NDArray[np.bool_], thumbnails_too: bool) -> I64:
        """The keypoint look's candidates: the rows whose keypoints verified, and (with
        ``thumbnails_too``, when none verified well and the query's thumbnail has detail)
        the ``THUMBNAIL_CANDIDATES`` best-voted rows and those nearest in centre code."""
        verified, shortlist = self.keypoint_candidates(f, rows_ok)
        found = np.fromiter(verified, np.int64, len(verified))
        if (
            not thumbnails_too
            or max(verified.values(), default=0.0) >= self.policy.thumbnails_below
            or thumbnails.detail(f.thumbnail) < thumbnails.MIN_DETAIL
        ):
            return found
        centred, mirrored = self.centre_candidates(f, rows_ok)
        return np.unique(np.concatenate([found, shortlist[:THUMBNAIL_CANDIDATES], centred, mirrored]))

    # -- all three -------------------------------------------------------------------
    def candidates(self, f: Features, rows_ok: npt.NDArray[np.bool_], always_verify: bool, thumbnails_too: bool) -> I64:
        """The rows a query is scored against: the hash look's, and unless one of them is
        sure (or ``always_verify``), the keypoint and thumbnail looks' too."""
        if not always_verify:
            settled = self.settled_candidates(f, rows_ok)
            if settled is not None:
                return settled
        return self.unsettled_candidates(f, rows_ok, thumbnails_too)

    def settled_candidates(self, f: Features, rows_ok: npt.NDArray[np.bool_]) -> I64 | None:
        """The hash look's rows when one of them is sure (then they are all the query is
        scored against), else None. Reads only ``f.codes``, so a query's hashes answer
        it before its keypoints are extracted."""
        # A sure hit has a DCT distance of at most SURE_DCT_BITS: probe that cheaply first.
        rows, distance = self.hash_candidates(f, self.search_radius, rows_ok, SURE_DCT_BITS)
        if sure(distance, f.codes.dct, self.mih.codes[rows], self.policy).any():
            return rows
        return None

    def unsettled_candidates(self, f: Features, rows_ok: npt.NDArray[np.bool_], thumbnails_too: bool) -> I64:
        """The rows of a query no sure hash settled: the wider hash look's, the keypoint
        and thumbnail looks'."""
        rows, _ = self.hash_candidates(f, self.search_radius, rows_ok, WIDE_DCT_BITS)
        more = self.unsure_candidates(f, rows_ok, thumbnails_too)
        return np.union1d(np.union1d(rows, more), self.region_candidates(f, rows_ok)).astype(np.int64)
