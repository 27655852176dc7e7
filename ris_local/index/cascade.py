"""The cascade index: hash codes first, then keypoints, then thumbnails, each when the last was unsure.

Rows are numbered in insertion order; ``keys`` maps them to the backend's keys and
``alive`` marks removed rows until the next compaction. Per row the hash stage holds
four 64-bit codes and three multi-index tables (8 + 32 + 24 = 64 bytes with the key)
and the keypoint stage up to 400 postings of 10 bytes (``layout.INDEX_KEYPOINTS`` of the
work scale and ``layout.COARSE_KEYPOINTS`` coarse ones), a 2-byte frame size and four
64-bit centre codes (4,034 bytes: the issue allows 8 KB where accuracy needs it).

A query is settled by the hash stage when its best hash similarity reaches
``sure_similarity``: nothing a hash that close has ever been a different picture in
the benchmark. Otherwise the keypoint stage votes for rows through the inverted file
(scanning at most ``SCAN_BUDGET`` postings, rarest words first; the frequent words count
only for the rows the rare ones put forward), verifies the best ``shortlist``
geometrically (stopping halfway when a match is already good), tries the mirrored
keypoints when nothing verified well, and each row scores the better of its two
similarities. When keypoints verified nothing good and the stored blobs can be read,
the query's thumbnail is correlated with those of the best-voted rows and of the rows
whose centre code is near the query's DCT code (:mod:`ris_local.scoring.thumbnails`): smooth
pictures give keypoints too little to hold. Border trimming can cut a flat, dark edge off
a crop or a picture but not off the other, so each side's whole frame, borders kept, is
looked up too (:mod:`ris_local.index.centres`). A candidate within ``centres.AGREEING_BITS``
of the query counts its thumbnail from a lower ``thumbnails.AGREEING_LOW``, and a
thumbnail match that keypoints weakly verified gains ``AGREEING_BONUS``. If none
matches well, the query's thumbnail
turned a few degrees either way is tried on the best-voted rows: rotated copies of busy
textures are voted high but rarely verify. An unsure hash hit that plentiful query
keypoints do not confirm loses ``UNCONFIRMED_PENALTY``. With the stored blobs, each
verified row's colours are checked through its match (:mod:`ris_local.scoring.colour`): a row
whose colours clash is a different picture of the same shapes, and is left out, hash
hit and thumbnails included, unless its hash is sure.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ris_local.engine import BlobReader, remembering
from ris_local.features import vocabulary
from ris_local.features.layout import Features, KeypointSet, chroma_of, thumbnail_of
from ris_local.index import centres
from ris_local.index.invertedfile import InvertedFile
from ris_local.index.multiindex import MultiIndex
from ris_local.scoring import colour, thumbnails
from ris_local.scoring.verification import Match, signatures, similarity, unpack, verify

__all__ = ["CascadeIndex"]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
#: Hash similarity falls linearly from 100 to 0 as the summed distance reaches this.
ZERO_SIMILARITY_BITS = 64.0
#: Best-voted rows verified per query. Crops and rotations of busy pictures (many
#: tentative matches with every row) can rank their picture 40th to 80th; queries that
#: find a good match early stop after CONFIDENT_AFTER, so the longer list mostly costs
#: queries that match nothing.
SHORTLIST = 80
#: Past this many verified rows, the shortlist ends early once a match scores MIRROR_BELOW:
#: most queries find their picture among the first few, and hard ones get the whole list.
CONFIDENT_AFTER = 20
#: DCT radius of the first, cheap lookup (nearly every sure hit is within it) and the
#: second one made when the hash stage is unsure and keypoints will be searched anyway.
SURE_DCT_BITS, WIDE_DCT_BITS = 11, 15
MIRROR_BELOW = 80.0  # try the mirrored keypoints when no keypoint match reached this
#: Postings a query's vote may scan; longer lists (frequent words) only feed verification.
SCAN_BUDGET = 1_000_000
#: Unsure hash hits lose this much similarity unless keypoints confirm them, when the
#: query has at least CONFIRM_KEYPOINTS keypoints (see ``scores``).
UNCONFIRMED_PENALTY = 10.0
CONFIRM_KEYPOINTS = 200
#: When frequent words were left out, this many shortlists' worth of rows are re-voted.
PRESELECT = 5
#: Best-voted rows whose thumbnails are correlated when keypoints verified nothing good.
THUMBNAIL_CANDIDATES = 10
#: When no thumbnail matched at TURN_BELOW or more, the query's thumbnail turned by each
#: of ``thumbnails.TURNS`` is tried on this many best-voted rows and the TURNED_CENTRED
#: rows nearest in centre code: a rotated copy of a busy picture is voted high but its
#: keypoints rarely verify, a rotated crop of a smooth one is nearest in centre code, and
#: an upright thumbnail lines up with neither.
TURNED_CANDIDATES, TURNED_CENTRED = 3, 1
TURN_BELOW = 70.0
#: A thumbnail match of a row that the keypoints also verified, if only weakly (a weak
#: consensus scores 55 to 65), gains this much: two looks that agree are surer than
#: either. No false thumbnail pair of the benchmark's duplicate collection had any
#: keypoint consensus; a third of the true ones did.
AGREEING_BONUS = 5.0
#: Where a similarity came from (FLAT: the hash stage, capped for a flat picture).
HASH, KEYPOINTS, THUMBNAIL, FLAT = 0, 1, 2, 3
#: A DCT code sets the bits of the 64 low frequencies above their median, so a picture
#: with any detail sets 32 of them. A flat one (a solid colour, a plain gradient) has
#: nearly all at the median, zero, and sets a handful: two solid colours, or the same
#: gradient in two colours, share one code. Below this many set bits a code holds no
#: detail to tell pictures apart (solid colours set 1, linear gradients 2 to 8, the
#: photos of the benchmark 32)...
FLAT_BITS = 16
#: ...and a hash similarity involving it is capped here, under every default threshold
#: (70 to search, 85 for duplicates); keypoints and thumbnails may still match it.
FLAT_SIMILARITY = 50.0


def hash_similarity(distance: F64 | I64 | int, *dct_codes: object) -> F64:
    """0..100 from the summed DCT and gradient Hamming distance (0..128 bits), capped at
    ``FLAT_SIMILARITY`` where any of ``dct_codes`` (a code or an array of them, one per
    distance) is flat."""
    sims = np.clip(100.0 * (1.0 - np.asarray(distance, np.float64) / ZERO_SIMILARITY_BITS), 0.0, 100.0)
    flat = is_flat(*dct_codes)
    return np.where(flat, np.minimum(sims, FLAT_SIMILARITY), sims) if np.any(flat) else sims


def is_flat(*dct_codes: object) -> npt.NDArray[np.bool_]:
    """Whether any of ``dct_codes`` (elementwise) is the code of a flat picture."""
    flat = np.zeros((), dtype=bool)
    for codes in dct_codes:
        flat = flat | (np.bitwise_count(np.asarray(codes, dtype=np.uint64)) < FLAT_BITS)
    return flat


def hash_stages(*dct_codes: object) -> npt.NDArray[np.int8]:
    """``FLAT`` where a hash similarity was capped for a flat picture, else ``HASH``."""
    return np.where(is_flat(*dct_codes), FLAT, HASH).astype(np.int8)


def hash_radius(threshold: float) -> int:
    """The largest summed distance whose similarity still reaches ``threshold``."""
    return int(np.floor(ZERO_SIMILARITY_BITS * (1.0 - threshold / 100.0) + 1e-9))


def _votes(entry: I64, rows: I64, owners: I64, words: I64, idf: F64, n: int, row_count: int) -> F64:
    """Each row's vote: the idf of its best word for each query keypoint it matches
    (a keypoint votes once per row, so a repeated word cannot stuff the ballot)."""
    if not len(entry):
        return np.zeros(row_count, np.float64)
    pair = rows * n + owners[entry]
    order = np.argsort(pair)
    pair = pair[order]
    starts = np.flatnonzero(np.r_[True, pair[1:] != pair[:-1]])
    best = np.maximum.reduceat(idf[words[entry[order]]], starts)
    votes = np.bincount(pair[starts] // n, weights=best, minlength=row_count)
    return votes.astype(np.float64, copy=False)


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
    """The storage and all three stages; :class:`~ris_local.robust.RobustIndex` wraps it."""

    def __init__(self, sure_similarity: float, search_radius: int) -> None:
        self.sure_similarity, self.search_radius = sure_similarity, search_radius
        self.keys: I64 = np.empty(0, np.int64)
        self.alive = np.empty(0, bool)
        self.mih = MultiIndex()  # over the DCT codes
        self.other = np.empty((0, 3), np.uint64)  # gradient, mirrored DCT, mirrored gradient
        self.sizes = np.empty((0, 2), np.uint8)  # frame on the 128-step grid
        #: DCT codes of each picture's centre, by share, then of its whole frame, borders kept
        self.centre = np.empty((4, 0), np.uint64)
        self.postings = InvertedFile(vocabulary.load().size)

    # -- storage -------------------------------------------------------------------
    def append(self, keys: I64, features: list[Features]) -> None:
        """Add rows (the caller has removed any earlier rows of these keys)."""
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
        keep = self.alive
        renumber = np.cumsum(keep) - 1
        self.postings.merge(keep, renumber)
        self.keys, self.other, self.sizes = self.keys[keep], self.other[keep], self.sizes[keep]
        self.centre = self.centre[:, keep]
        self.mih.replace(self.mih.codes[keep])
        self.alive = np.ones(len(self.keys), bool)

    # -- the hash stage ------------------------------------------------------------
    def hash_candidates(
        self, f: Features, radius: int, rows_ok: npt.NDArray[np.bool_], dct_radius: int
    ) -> tuple[I64, I64]:
        """Rows within ``radius`` summed bits of the query or its mirror whose DCT code is
        within ``dct_radius`` bits of either, with their distances."""
        found = self.mih.within_any([f.codes.dct, f.codes.mirrored_dct], dct_radius)
        found = found[rows_ok[found]]
        codes, other = self.mih.codes[found], self.other[found]
        c = f.codes
        direct = np.bitwise_count(codes ^ np.uint64(c.dct)) + np.bitwise_count(other[:, 0] ^ np.uint64(c.gradient))
        mirror = np.bitwise_count(codes ^ np.uint64(c.mirrored_dct)) + np.bitwise_count(
            other[:, 0] ^ np.uint64(c.mirrored_gradient)
        )
        distance = np.minimum(direct, mirror).astype(np.int64)
        close = distance <= radius
        return found[close], distance[close]

    # -- the keypoint stage -------------------------------------------------------
    def keypoint_matches(
        self,
        kps: KeypointSet,
        size: tuple[int, int],
        rows_ok: npt.NDArray[np.bool_],
        shortlist: int = SHORTLIST,
        words_per_keypoint: int | None = None,
    ) -> tuple[dict[int, Match], I64]:
        """Verified matches of a query keypoint set with the best-voted rows, looking up
        the first ``words_per_keypoint`` words of each keypoint (all by default), and
        the shortlist of rows, best-voted first."""
        n = len(kps.packed)
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
        entry, rows, packed = entry[usable], rows[usable], packed[usable]
        if not len(rows):
            return {}, none
        idf = self.postings.idf(int(self.alive.sum()))
        if len(skipped):
            # The frequent words left out of the vote still count, but only for the rows
            # the rare words put forward; then the full vote picks the shortlist.
            ahead = _top(_votes(entry, rows, owners, words, idf, n, len(self.keys)), shortlist * PRESELECT)
            more_entry, more_rows, more_packed = self.postings.lookup_rows(
                words[skipped], query_signatures[skipped], np.sort(ahead)
            )
            entry = np.concatenate([entry, skipped[more_entry]])
            rows, packed = np.concatenate([rows, more_rows]), np.concatenate([packed, more_packed])
        best = _top(_votes(entry, rows, owners, words, idf, n, len(self.keys)), shortlist)
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
            )
            if match is not None:
                matches[int(row)] = match
                confident = confident or similarity(match) >= MIRROR_BELOW
        return matches, best

    def keypoint_similarities(
        self, f: Features, rows_ok: npt.NDArray[np.bool_], blobs: BlobReader | None = None
    ) -> tuple[dict[int, float], I64, set[int]]:
        """Robust similarity of each verified row, mirrored keypoints tried if needed,
        the normal keypoints' shortlist, and (with ``blobs``) the verified rows whose
        colours clash with the query's, which are left out (see :mod:`ris_local.scoring.colour`)."""
        matches, shortlist = self.keypoint_matches(f.normal, f.size, rows_ok)
        best = {row: (similarity(m), m, False) for row, m in matches.items()}
        if max((found[0] for found in best.values()), default=0.0) < MIRROR_BELOW and len(f.mirrored.packed):
            for row, m in self.keypoint_matches(f.mirrored, f.size, rows_ok)[0].items():
                sim = similarity(m)
                if row not in best or sim > best[row][0]:
                    best[row] = (sim, m, True)
        best = {row: found for row, found in best.items() if found[0] > 0}
        clashed = self.colour_clashes(f, best, blobs) if blobs is not None and f.chroma.size else set()
        return {row: found[0] for row, found in best.items() if row not in clashed}, shortlist, clashed

    def colour_clashes(
        self, f: Features, verified: dict[int, tuple[float, Match, bool]], blobs: BlobReader
    ) -> set[int]:
        """The ``verified`` rows (similarity, match, whether the mirrored keypoints made
        it) whose stored colours, carried through the match, disagree with the query's."""
        if not verified:
            return set()
        rows = np.fromiter(verified, np.int64, len(verified))
        stored = blobs(self.keys[rows].tolist())
        query = {False: f.chroma, True: colour.mirrored(f.chroma)}
        clashed = set()
        for row in rows.tolist():
            blob = stored.get(int(self.keys[row]))
            _, match, mirrored = verified[row]
            if blob is None or match.matrix is None:
                continue
            if colour.clashes(query[mirrored], chroma_of(blob), match.matrix):
                clashed.add(row)
        return clashed

    def centre_candidates(self, f: Features, rows_ok: npt.NDArray[np.bool_]) -> tuple[I64, I64]:
        """The rows whose centre codes are nearest the query's and its mirror's (see
        :mod:`ris_local.index.centres`): a crop from the middle of a smooth picture, which the
        keypoint vote misses, is usually among them."""
        view, mirrored_view = centres.views(f)
        return centres.nearest(view, self.centre, rows_ok), centres.nearest(mirrored_view, self.centre, rows_ok)

    def stored_thumbnails(self, rows: I64, blobs: BlobReader) -> dict[int, npt.NDArray[np.uint8]]:
        """The thumbnails of ``rows`` (those whose blob ``blobs`` still has), by row."""
        if not len(rows):
            return {}
        stored = blobs(self.keys[rows].tolist())
        out = {}
        for row in rows.tolist():
            blob = stored.get(int(self.keys[row]))
            if blob is not None:
                out[row] = thumbnail_of(blob)
        return out

    def unsure_similarities(
        self, f: Features, rows_ok: npt.NDArray[np.bool_], blobs: BlobReader | None
    ) -> tuple[dict[int, float], dict[int, float], set[int]]:
        """The keypoint stage: keypoint similarities, then (with ``blobs``, when keypoints
        verified nothing good) thumbnail similarities of the best-voted rows and of the
        rows whose centre looks like the query, or like its mirror (those within
        ``centres.AGREEING_BITS`` from ``thumbnails.AGREEING_LOW``), and (when those
        matched under ``TURN_BELOW``) of the query's turned thumbnails with the
        ``TURNED_CANDIDATES`` best-voted rows and the ``TURNED_CENTRED`` nearest in centre
        code. A query thumbnail without detail is never tried (see
        ``thumbnails.MIN_DETAIL``). A thumbnail match of a row the keypoints
        verified too gains ``AGREEING_BONUS``. Rows whose verified keypoints clash in
        colour come back apart, and no thumbnail is tried on them: their shapes do match."""
        if blobs is not None:
            blobs = remembering(blobs)  # the colour check and the thumbnails share rows
        robust, shortlist, clashed = self.keypoint_similarities(f, rows_ok, blobs)
        if (
            blobs is None
            or max(robust.values(), default=0.0) >= MIRROR_BELOW
            or thumbnails.detail(f.thumbnail) < thumbnails.MIN_DETAIL
        ):
            return robust, {}, clashed
        centred, mirrored = self.centre_candidates(f, rows_ok)
        if clashed:
            known = np.fromiter(clashed, np.int64, len(clashed))
            shortlist, centred, mirrored = (r[~np.isin(r, known)] for r in (shortlist, centred, mirrored))
        voted = shortlist[:THUMBNAIL_CANDIDATES]
        rows = np.concatenate([voted, centred[~np.isin(centred, voted)]])
        # One read of the stored blobs serves every look (the turned rows are among these).
        stored = self.stored_thumbnails(np.union1d(rows, mirrored), blobs)
        view, mirrored_view = centres.views(f)
        agreeing = (
            rows[centres.distance(view, self.centre[:, rows]) <= centres.AGREEING_BITS].tolist(),
            mirrored[centres.distance(mirrored_view, self.centre[:, mirrored]) <= centres.AGREEING_BITS].tolist(),
        )
        found = thumbnails.similarities(f.thumbnail, rows.tolist(), mirrored.tolist(), stored, agreeing)
        if max(found.values(), default=0.0) < TURN_BELOW:
            tried = voted[:TURNED_CANDIDATES].tolist()
            tried += [row for row in centred[:TURNED_CENTRED].tolist() if row not in tried]
            turned = thumbnails.turned_similarities(f.thumbnail, tried, stored)
            for row, sim in turned.items():
                found[row] = max(sim, found.get(row, 0.0))
        for row in found.keys() & robust.keys():
            found[row] = min(100.0, found[row] + AGREEING_BONUS)
        return robust, found, clashed

    # -- both ----------------------------------------------------------------------
    def scores(
        self, f: Features, rows_ok: npt.NDArray[np.bool_], always_verify: bool, blobs: BlobReader | None = None
    ) -> tuple[I64, F64, npt.NDArray[np.int8]]:
        """Rows with a similarity, the similarity, and the stage it came from (``HASH``,
        ``KEYPOINTS`` or ``THUMBNAIL``); ``blobs`` reads stored blobs for thumbnails."""
        # A sure hit has a DCT distance of at most SURE_DCT_BITS: probe that cheaply first.
        rows, distance = self.hash_candidates(f, self.search_radius, rows_ok, SURE_DCT_BITS)
        sims = hash_similarity(distance, f.codes.dct, self.mih.codes[rows])
        if not always_verify and len(sims) and sims.max() >= self.sure_similarity:
            return rows, sims, np.broadcast_to(hash_stages(f.codes.dct, self.mih.codes[rows]), rows.shape).copy()
        rows, distance = self.hash_candidates(f, self.search_radius, rows_ok, WIDE_DCT_BITS)
        sims = hash_similarity(distance, f.codes.dct, self.mih.codes[rows])
        hash_stage = np.broadcast_to(hash_stages(f.codes.dct, self.mih.codes[rows]), rows.shape)
        robust, by_thumbnail, clashed = self.unsure_similarities(f, rows_ok, blobs)
        if clashed:  # a different picture of the same shapes, unless a hash is sure
            keep = (sims >= self.sure_similarity) | ~np.isin(rows, np.fromiter(clashed, np.int64, len(clashed)))
            rows, sims, hash_stage = rows[keep], sims[keep], hash_stage[keep]
        if len(f.normal.packed) >= CONFIRM_KEYPOINTS:
            # An unsure hash hit that the query's keypoints, plentiful, did not confirm
            # is most likely a different picture of the same layout (two screens of one
            # app, two pages of one document): it drops below the default threshold.
            confirmed = (sims >= self.sure_similarity) | np.isin(rows, [*robust, *by_thumbnail])
            sims = np.where(confirmed, sims, sims - UNCONFIRMED_PENALTY)
        merged = {
            row: (sim, stage) for row, sim, stage in zip(rows.tolist(), sims.tolist(), hash_stage.tolist(), strict=True)
        }
        for stage, found in ((KEYPOINTS, robust), (THUMBNAIL, by_thumbnail)):
            for row, s in found.items():
                if s > merged.get(row, (0.0, HASH))[0]:
                    merged[row] = (s, stage)
        out_rows = np.fromiter(merged.keys(), np.int64, len(merged))
        values = list(merged.values())
        out_sims = np.fromiter((v[0] for v in values), np.float64, len(values))
        return out_rows, out_sims, np.fromiter((v[1] for v in values), np.int8, len(values))
