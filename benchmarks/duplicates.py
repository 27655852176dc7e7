"""find_duplicates: the one-pass join beside the per-image search (its anchor).

``python -m benchmarks.duplicates --split tuning --size medium`` builds the duplicate
collection of one half (:mod:`benchmarks.dataset`), extracts it with the default
engine, and runs ``RobustIndex.pairs`` both ways over the same blobs and the same
stored-blob reader: ``join`` (the default) and ``per-image`` (each image searched as a
query). It prints F1 at the engine's duplicate threshold, the best F1 of a sweep below
it, and milliseconds per image: wall, and CPU summed over this process and every process
it started (the join's scoring workers, their fork server), with the number of workers
(``--workers``, default one per usable core). Tuning work uses ``--split tuning`` only.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import multiprocessing
import pickle
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks import dataset
from benchmarks.crops import cut_crops
from benchmarks.dataset import Sizes
from benchmarks.methods import extract_all
from benchmarks.metrics import PairScores, pair_scores
from benchmarks.scale import INDEXED_PER_IMAGE
from benchmarks.sources import available_sources, load_photos
from benchmarks.split import SPLITS, Split, split_photos
from benchmarks.transforms import TRANSFORMS
from ris_local.engine import BlobReader
from ris_local.index.scored import RobustIndex
from ris_local.robust import RobustEngine
from ris_local.workers import usable_cores

__all__ = ["collection", "measure"]

_ENGINE = "ris (RobustEngine)"


def collection(split: str, size: str, cache: Path | None) -> tuple[list[int], list[bytes], dict[int, int]]:
    """The duplicate collection's keys, blobs and true groups (cached in ``cache``)."""
    if cache is not None and cache.exists():
        with cache.open("rb") as file:
            loaded: tuple[list[int], list[bytes], dict[int, int]] = pickle.load(file)
        return loaded
    from benchmarks.__main__ import FULL, MEDIUM, QUICK

    sizes = {"quick": QUICK, "medium": MEDIUM, "full": FULL}[size]
    duplicates, duplicate_groups = _duplicates_only(tuple(available_sources()), sizes, split)  # type: ignore[arg-type]
    keys = list(duplicates)
    blobs, _ = extract_all(_ENGINE, [duplicates[k] for k in keys])
    found = (keys, blobs, dict(duplicate_groups))
    if cache is not None:
        with cache.open("wb") as file:
            pickle.dump(found, file)
    return found


def _duplicates_only(
    sources: tuple[str, ...], sizes: Sizes, split: Split, seed: int = 20240501
) -> tuple[dict[int, bytes], dict[int, int]]:
    """``build_dataset(sources, sizes, seed, split=split)``'s duplicate collection and
    groups, without making its thousands of queries: the same draws from the same
    generators in the same order (a query's transform has a seed of its own, drawn when
    its job is made), and only the images the collection holds."""
    photos = load_photos(sources)
    cut, backdrop_photos = split_photos(photos, split)
    crops = cut_crops(cut, sizes.targets, sizes.index, sizes.negatives, seed)
    rng = np.random.default_rng(seed + 1)
    backdrops = dataset._Backdrops(backdrop_photos, np.random.default_rng(seed + 2))
    chosen = list(range(len(TRANSFORMS)))
    targets = crops.targets
    for which in chosen:  # the positive queries' draws
        count = min(sizes.queries_per_transform, len(targets))
        for _ in sorted(rng.choice(len(targets), count, replace=False)):
            rng.integers(2**31)
            backdrops.for_transform(TRANSFORMS[which])
    whole = [i for i in chosen if not TRANSFORMS[i].cuts]
    for _ in crops.negatives:  # the negative queries' draws
        which = int(rng.choice(whole))
        rng.integers(2**31)
        backdrops.for_transform(TRANSFORMS[which])
    picked = rng.choice(len(targets), min(sizes.duplicate_groups, len(targets)), replace=False)
    heads = [targets[i] for i in sorted(picked)]
    copies_from = [i for i in chosen if TRANSFORMS[i].duplicate]
    copy_jobs = []
    for crop in heads:
        count = int(rng.integers(1, 3))
        for pick in rng.choice(len(copies_from), min(count, len(copies_from)), replace=False):
            which = copies_from[int(pick)]
            copy_jobs.append((crop, which, int(rng.integers(2**31)), backdrops.for_transform(TRANSFORMS[which])))
    first_seed = dataset.HELD_OUT_GRAPHIC_SEEDS if split == "held-out" else 0
    unseen = range(first_seed + sizes.graphics, first_seed + sizes.graphics + sizes.graphic_negatives)
    with multiprocessing.get_context("forkserver").Pool(2) as pool:
        originals = dict(pool.map(dataset._original, [*heads, *crops.negatives], chunksize=16))
        copies = pool.map(dataset._transformed, copy_jobs, chunksize=16)
        singletons = pool.map(dataset._graphic_job, [(s, None, 0) for s in unseen], chunksize=16)
    duplicates, groups = dataset._duplicate_collection(heads, copies, crops.negatives, originals)
    for _, data in singletons:
        key = len(duplicates)
        duplicates[key], groups[key] = data, -1 - key
    return duplicates, groups


def _reader(keys: list[int], blobs: list[bytes]) -> BlobReader:
    stored = dict(zip(keys, blobs, strict=True))
    return lambda wanted: {key: stored[key] for key in wanted if key in stored}


def _tree_cpu() -> float:
    """CPU seconds of this process and of every process under it, living or reaped
    (Linux ``/proc``): the scoring workers are the fork server's children, not this
    process's, so ``RUSAGE_CHILDREN`` alone would miss them."""
    tick = os.sysconf("SC_CLK_TCK")
    parents: dict[int, int] = {}
    times: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as file:
                fields = file.read().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        # After the name: state, ppid, ... utime (14th field), stime, cutime, cstime.
        parents[int(entry)] = int(fields[1])
        times[int(entry)] = sum(int(f) for f in fields[11:15])
    total, seen, todo = 0, set(), [os.getpid()]
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += times.get(pid, 0)
        todo.extend(child for child, parent in parents.items() if parent == pid)
    return total / tick


def measure(
    keys: list[int],
    blobs: list[bytes],
    groups: dict[int, int],
    per_image: bool,
    sweep: float = 20.0,
    workers: int | None = None,
) -> dict[str, object]:
    """F1 at the duplicate threshold, the sweep's best, and ms per image, one way, the
    join scoring its pairs in ``workers`` processes (None: one per usable core)."""
    index = RobustIndex(per_image_duplicates=per_image, duplicate_workers=workers)
    index.add(keys, blobs)
    stored = _reader(keys, blobs)
    threshold = RobustEngine.duplicate_threshold
    marks: list[tuple[int, int, float]] = []
    started, started_cpu, started_tree = time.perf_counter(), time.process_time(), _tree_cpu()
    found = list(
        index.pairs(threshold, None, stored, lambda done, total: marks.append((done, total, time.process_time())))
    )
    seconds, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    tree = _tree_cpu() - started_tree
    # CPU (all threads): the figure to compare on a shared machine; split at the progress
    # callback's half-way mark into the candidates and their scoring (the join only).
    half = next((c - started_cpu for done, total, c in marks if done >= total // 2), cpu)
    at: PairScores = pair_scores([(a, b) for a, b, _ in found], groups)
    low = threshold - sweep
    scored = [(a, b, s.similarity) for a, b, s in index.pairs(low, None, stored)]
    best = max(
        ((float(t), pair_scores([(a, b) for a, b, s in scored if s >= t], groups)) for t in np.arange(low, 100.5, 1.0)),
        key=lambda item: item[1].f1,
    )
    return {
        "images": len(keys),
        "ms per image": 1000 * seconds / len(keys),
        "seconds": seconds,
        "CPU ms per image": 1000 * cpu / len(keys),
        "all processes CPU ms per image": 1000 * tree / len(keys),
        "workers": index.duplicate_workers or usable_cores(),
        "candidates CPU ms per image": 1000 * half / len(keys),
        "load average (1 min)": os.getloadavg()[0],
        "at threshold": at,
        "best": best,
        "pairs": {(a, b): s for a, b, s in found},
    }


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.duplicates", description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=SPLITS, default="tuning")
    parser.add_argument("--size", choices=("quick", "medium", "full"), default="quick")
    parser.add_argument("--cache", type=Path, help="pickle of the extracted collection, made if missing")
    parser.add_argument("--only", choices=("join", "per-image"), help="one way only")
    parser.add_argument("--workers", type=int, help="processes scoring the join's pairs (default: one per usable core)")
    parser.add_argument("--scale", type=int, help="the join over this many synthetic images plus the collection")
    parser.add_argument(
        "--hash-scale", type=int, nargs="+", help="the hash stage's part alone over this many synthetic codes"
    )
    parser.add_argument(
        "--centre-scale", type=int, nargs="+", help="the centre-code candidates alone over this many synthetic images"
    )
    args = parser.parse_args()
    if args.hash_scale or args.centre_scale:
        for part, sizes in ((hash_part, args.hash_scale), (centre_part, args.centre_scale)):
            for n in sizes or ():
                print(" ".join(f"{name}: {value:,.3f};" for name, value in part(n).items()), flush=True)
        return
    keys, blobs, groups = collection(args.split, args.size, args.cache)
    if args.scale:
        for name, value in at_scale(args.scale, keys, blobs, groups).items():
            print(f"{name}: {value:,.3f}", flush=True)
        return
    results = {}
    for way in ("per-image", "join"):
        if args.only and way != args.only:
            continue
        results[way] = measure(keys, blobs, groups, per_image=way == "per-image", workers=args.workers)
        r = results[way]
        at, (bt, best) = r["at threshold"], r["best"]  # type: ignore[misc]
        print(
            f"{way:>9}: {r['images']} images, {r['workers']} workers, {r['ms per image']:.2f} ms wall/image "
            f"({r['seconds']:.2f} s, load {r['load average (1 min)']:.1f}), "
            f"{r['all processes CPU ms per image']:.2f} ms CPU/image in all processes "
            f"({r['CPU ms per image']:.2f} in this one, candidates {r['candidates CPU ms per image']:.2f}); "
            f"at {RobustEngine.duplicate_threshold:g}: P {at.precision:.3f} R {at.recall:.3f} F1 {at.f1:.3f}; "
            f"best F1 {best.f1:.3f} at {bt:g}",
            flush=True,
        )
    if len(results) == 2:
        old, new = results["per-image"]["pairs"], results["join"]["pairs"]  # type: ignore[index]
        only_old = sorted(set(old) - set(new))  # type: ignore[arg-type]
        only_new = sorted(set(new) - set(old))  # type: ignore[arg-type]
        print(f"pairs only per-image: {len(only_old)}; only join: {len(only_new)}", file=sys.stderr)
        for pair in only_old[:40]:
            same = groups[pair[0]] == groups[pair[1]]
            print(f"  per-image only {pair} {old[pair]} true={same}", file=sys.stderr)  # type: ignore[index]
        for pair in only_new[:40]:
            same = groups[pair[0]] == groups[pair[1]]
            print(f"  join only {pair} {new[pair]} true={same}", file=sys.stderr)  # type: ignore[index]


# --- at scale ----------------------------------------------------------------------

_SCALE_SEED = 7
#: Keypoints a synthetic blob holds, as a real one of engine 10 does (the tuning half's
#: median: 800 of the work scale, 100 coarse and 400 at the second scale; 400 mirrored).
_SYNTHETIC_NORMAL, _SYNTHETIC_MIRRORED = 1300, 400


class SyntheticCollection:
    """``n`` synthetic images built as :mod:`benchmarks.scale` builds its distractors
    (hash codes from ``scale._synthetic_codes`` with 1% planted near-copies;
    ``scale.INDEXED_PER_IMAGE`` postings, keypoints whose word and signature copy a
    random posting of the real images, at a random position and orientation), each
    with a stored blob consistent with its index rows: the first ``_INDEX_KEYPOINTS``
    of its keypoints are its postings, and it has as many
    keypoints (with four words each, mirrored ones too) as a real image, so looking an
    image up costs what a real one costs. Blobs are made again from a seed per image when
    read, so nothing of size ``n`` but the index is held."""

    def __init__(self, n: int, real_blobs: list[bytes]) -> None:
        from benchmarks.scale import _synthetic_codes

        self.n = n
        real = RobustIndex()
        real.add(list(range(len(real_blobs))), real_blobs)
        starts, _, packed, rest, _ = real.core.postings.arrays()
        self.words = np.repeat(np.arange(len(starts) - 1, dtype=np.int64), np.diff(starts)).astype(np.uint16)
        self.packed, self.rest = packed, rest
        self.codes = _synthetic_codes(n, np.random.default_rng(_SCALE_SEED))
        rng = np.random.default_rng(_SCALE_SEED + 1)
        self.sizes = rng.integers(60, 129, size=(n, 2)).astype(np.uint8)
        self.centre = rng.integers(0, 2**63, size=(n, 4), dtype=np.int64).astype(np.uint64)
        self._cached: tuple[int, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
        self._noise = np.random.default_rng(_SCALE_SEED + 2).integers(0, 256, size=(64, 48, 64), dtype=np.uint8)

    def _block(self, block: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Packed keypoints, signature rests and words of the images of one block of
        ``_BLOCK`` rows (made at once from the block's seeds; the last block is kept)."""
        if self._cached is not None and self._cached[0] == block:
            return self._cached[1]
        parts = [self._part(block, 0, _INDEX_KEYPOINTS), self._part(block, 1, _KEYPOINTS - _INDEX_KEYPOINTS)]
        made = tuple(np.concatenate([first, rest], axis=1) for first, rest in zip(*parts, strict=True))
        self._cached = (block, made)  # type: ignore[assignment]
        return made  # type: ignore[return-value]

    def _part(self, block: int, part: int, per: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Keypoints ``per`` per image of one block, from a generator of their own: part 0
        is what the index holds (its first ``_INDEX_KEYPOINTS``), so the index is built
        without making the rest."""
        rng = np.random.default_rng((_SCALE_SEED, block, part))
        count = _BLOCK * per
        copied = rng.integers(0, len(self.words), count)
        position = rng.integers(0, 2**20, count, dtype=np.uint32)
        packed = (self.packed[copied] & np.uint32(0xFFF00000)) | position
        words = np.empty((count, 4), np.uint16)
        words[:, 0] = self.words[copied]
        words[:, 1:] = self.words[rng.integers(0, len(self.words), (count, 3))]
        shape = (_BLOCK, per)
        return packed.reshape(shape), self.rest[copied].reshape(shape), words.reshape(*shape, 4)

    def keypoints(self, row: int) -> tuple[object, object]:
        """The normal and mirrored keypoint sets of synthetic image ``row``."""
        from ris_local.features.layout import KeypointSet

        packed, rest, words = (part[row % _BLOCK] for part in self._block(row // _BLOCK))
        cut = _SYNTHETIC_NORMAL
        return (
            KeypointSet(packed[:cut], rest[:cut], words[:cut]),
            KeypointSet(packed[cut:], rest[cut:], words[cut:]),
        )

    def blob(self, row: int) -> bytes:
        """Synthetic image ``row``'s stored blob."""
        from ris_local.features import layout
        from ris_local.features.hashcodes import HashCodes

        normal, mirrored = self.keypoints(row)
        width, height = (int(s) * 2 for s in self.sizes[row])
        c = [int(x) for x in self.codes[row]]
        centre = [int(x) for x in self.centre[row]]
        f = layout.Features(
            (width, height),
            HashCodes(*c),
            normal,  # type: ignore[arg-type]
            _INDEX_KEYPOINTS,
            mirrored,  # type: ignore[arg-type]
            thumbnail=self._noise[row % len(self._noise)],
            centre_codes=tuple(centre[:3]),
            untrimmed_codes=(centre[3], c[2]),
            chroma=np.zeros((0, 0, 2), np.int8),
        )
        return layout.to_blob(f)

    def index(self, real_keys: list[int], real_blobs: list[bytes]) -> RobustIndex:
        """The index over the synthetic images (rows 0..n-1, keys equal to rows) and the
        real ones after them (rows n.., under ``real_keys``).

        Every posting goes straight into one set of CSR arrays, in the order a merged
        inverted file keeps them (by word, rows ascending within a word): the real images'
        postings are not left in the inverted file's tail, whose merge on the join's first
        read would copy and sort every posting (about 22 GB at a million images). Two
        passes over the synthetic blocks (count, then place) hold nothing of size ``n``
        but the final arrays."""
        from benchmarks.scale import _load_codes

        index = RobustIndex()
        _load_codes(index, self.codes)
        core = index.core
        core.sizes = self.sizes
        core.centre = np.ascontiguousarray(self.centre.T)
        # The real rows (codes, frame, centre codes) the usual way; their postings are
        # few, so the inverted file merges them into small CSR arrays of their own.
        index.add(real_keys, real_blobs)
        real_starts, real_rows, real_packed, real_rest, real_doc = core.postings.arrays()
        vocabulary = len(real_starts) - 1
        per, blocks = _INDEX_KEYPOINTS, (self.n + _BLOCK - 1) // _BLOCK
        counts = np.zeros(vocabulary, np.int64)
        for block in range(blocks):
            taken = min(self.n, (block + 1) * _BLOCK) - block * _BLOCK
            counts += np.bincount(self._part(block, 0, per)[2][:taken, :, 0].ravel(), minlength=vocabulary)
        real_counts = np.diff(real_starts)
        starts = np.concatenate([[0], np.cumsum(counts + real_counts)]).astype(np.int64)
        total = int(starts[-1])
        rows, packed, rest = np.empty(total, np.uint32), np.empty(total, np.uint32), np.empty(total, np.uint16)
        cursor = starts[:-1].copy()
        for block in range(blocks):
            first, last = block * _BLOCK, min(self.n, (block + 1) * _BLOCK)
            block_packed, block_rest, block_words = self._part(block, 0, per)
            taken = last - first
            words = block_words[:taken, :, 0].ravel().astype(np.int64)
            order = np.argsort(words, kind="stable")  # rows ascending within a word
            placed = words[order]
            in_block = np.bincount(words, minlength=vocabulary)
            rank = np.arange(len(placed)) - (np.cumsum(in_block) - in_block)[placed]
            at = cursor[placed] + rank
            rows[at] = (first + order // per).astype(np.uint32)
            packed[at] = block_packed[:taken].ravel()[order]
            rest[at] = block_rest[:taken].ravel()[order]
            cursor += in_block
        # The real rows come after every synthetic row, so last in each word's list.
        real_word = np.repeat(np.arange(vocabulary), real_counts)
        at = cursor[real_word] + np.arange(len(real_word)) - real_starts[:-1][real_word]
        rows[at], packed[at], rest[at] = real_rows, real_packed, real_rest
        doc = counts + real_doc  # each synthetic image names a word about once
        core.postings.load(starts, rows, packed, rest, doc, len(core.keys))
        return index


_INDEX_KEYPOINTS = INDEXED_PER_IMAGE  # the postings of a synthetic image (400 since engine 10)
_KEYPOINTS = _SYNTHETIC_NORMAL + _SYNTHETIC_MIRRORED
_BLOCK = 256  # synthetic images whose keypoints are made together


def _peak_reset() -> None:
    """Reset the process's peak resident size (Linux), so the join's own peak is read."""
    with open("/proc/self/clear_refs", "w") as file:
        file.write("5")


def _peak_mb() -> float:
    with open("/proc/self/status") as file:
        for line in file:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def hash_part(n: int) -> dict[str, float]:
    """The hash stage's part of ``find_duplicates`` alone (no keypoints) over ``n``
    synthetic codes as :mod:`benchmarks.scale` makes them: the part of the join that
    grows faster than linearly, measurable at sizes whose keypoint index would not fit."""
    from benchmarks.scale import _load_codes, _synthetic_codes

    index = RobustIndex(keypoint_duplicates=False)
    _load_codes(index, _synthetic_codes(n, np.random.default_rng(_SCALE_SEED)))
    _peak_reset()
    began, began_cpu = time.perf_counter(), time.process_time()
    found = sum(1 for _ in index.pairs(RobustEngine.duplicate_threshold, None))
    return {
        "images": float(n),
        "hash part s": time.perf_counter() - began,
        "hash part CPU s (all threads)": time.process_time() - began_cpu,
        "peak MB": _peak_mb(),
        "pairs": float(found),
        "load average (1 min)": os.getloadavg()[0],
    }


def centre_part(n: int) -> dict[str, float]:
    """The centre-code candidates of ``find_duplicates`` alone over ``n`` synthetic
    images (random centre codes and views, as :class:`SyntheticCollection` makes them):
    a multi-index radius join of ``4n`` codes against ``4n`` views, measurable at sizes
    whose keypoint index would not fit."""
    from ris_local.index import centres
    from ris_local.index.centre_join import centre_pairs
    from ris_local.index.self_join import CENTRE_JOIN_BITS

    rng = np.random.default_rng(_SCALE_SEED)
    row_codes = rng.integers(0, 2**63, size=(n, 4), dtype=np.int64).astype(np.uint64)
    views = rng.integers(0, 2**63, size=(n, 4), dtype=np.int64).astype(np.uint64)
    _peak_reset()
    began, began_cpu = time.perf_counter(), time.process_time()
    found = centre_pairs(row_codes, views, np.ones(n, bool), CENTRE_JOIN_BITS, centres.CANDIDATES)
    return {
        "images": float(n),
        "centre part s": time.perf_counter() - began,
        "centre part CPU s (all threads)": time.process_time() - began_cpu,
        "peak MB": _peak_mb(),
        "pairs": float(len(found)),
        "load average (1 min)": os.getloadavg()[0],
    }


def at_scale(n: int, keys: list[int], blobs: list[bytes], groups: dict[int, int]) -> dict[str, float]:
    """``find_duplicates`` (``RobustIndex.pairs`` with a stored-blob reader) over ``n``
    synthetic images plus the real collection under keys after them."""
    started = time.perf_counter()
    synthetic = SyntheticCollection(n, blobs)
    index = synthetic.index([n + k for k in keys], blobs)
    real = {n + k: b for k, b in zip(keys, blobs, strict=True)}
    read_seconds = [0.0]

    def reader(wanted: object) -> dict[int, bytes]:
        began = time.process_time()
        out = {key: real[key] if key >= n else synthetic.blob(key) for key in wanted}  # type: ignore[attr-defined]
        read_seconds[0] += time.process_time() - began
        return out

    built = time.perf_counter() - started
    marks: list[tuple[float, float, int, int]] = []
    _peak_reset()
    began, began_cpu = time.perf_counter(), time.process_time()

    def mark(done: int, total: int) -> None:
        marks.append((time.perf_counter() - began, time.process_time() - began_cpu, done, total))

    found = list(index.pairs(RobustEngine.duplicate_threshold, None, reader, progress=mark))
    seconds, cpu = time.perf_counter() - began, time.process_time() - began_cpu
    # The progress callback's half-way mark splits the candidates from the scoring.
    half, half_cpu = next(((t, c) for t, c, done, total in marks if done >= total // 2), (seconds, cpu))
    real_pairs = [(a - n, b - n) for a, b, _ in found if a >= n and b >= n]
    scores = pair_scores(real_pairs, groups)
    return {
        "images": float(n + len(keys)),
        "build s (not counted)": built,
        "find_duplicates s": seconds,
        "find_duplicates CPU s (all threads)": cpu,
        "candidates phase s": half,
        "scoring phase s": seconds - half,
        "candidates phase CPU s": half_cpu,
        "scoring phase CPU s": cpu - half_cpu,
        "progress calls": float(len(marks)),
        "of which making the synthetic blobs CPU s": read_seconds[0],
        "peak MB during find_duplicates": _peak_mb(),
        "pairs found": float(len(found)),
        "real collection P": scores.precision,
        "real collection R": scores.recall,
        "real collection F1": scores.f1,
    }


if __name__ == "__main__":
    main()
