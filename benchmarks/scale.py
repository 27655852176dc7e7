"""Speed and memory: extraction against the anchors, and the indexes at 1M and 10M images.

At 1M and 10M images the index holds synthetic distractors: uniformly random 64-bit
codes for the hash stage (with 1% planted near-copies so find-duplicates has work) and,
for the keypoint stage, as many postings per image as the engine indexes of a real one
(``layout.INDEX_KEYPOINTS`` + ``layout.COARSE_KEYPOINTS``: 400 since engine 10), each a
copy of the word and signature of a random posting of the benchmark's real images (signatures of one word are alike, and
random ones would make the signature filter look better than it is) at a random
position and orientation. The real benchmark
images are added on top, so the robust queries (real crops and rotations) still have
their true answer among a million rows.
"""

from __future__ import annotations

import dataclasses
import io
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image

from ris_core.images import ImageData, load_image
from ris_core.sqlite import Database
from ris_local.engine import BlobReader
from ris_local.features import layout
from ris_local.features.decoding import draft_size
from ris_local.index.scored import RobustIndex
from ris_local.robust import RobustEngine
from ris_local.storage.index_store import IndexStore
from ris_local.storage.store import LocalStore

__all__ = [
    "INDEXED_PER_IMAGE",
    "ExtractionTimes",
    "IndexTimes",
    "extraction_times",
    "hash_index_times",
    "robust_index_times",
    "stored_blobs",
    "synthetic_robust_index",
]

#: Postings a synthetic distractor gets: what the engine indexes of a real image with
#: keypoints enough (the work scale's ``INDEX_KEYPOINTS`` and the ``COARSE_KEYPOINTS``;
#: engine 10 added the coarse ones, so 400 where engine 9 had 200).
INDEXED_PER_IMAGE = layout.INDEX_KEYPOINTS + layout.COARSE_KEYPOINTS


@dataclass
class ExtractionTimes:
    """Median milliseconds per image, one core, for one set of images."""

    label: str
    images: int
    median_side: int
    ms: dict[str, float]


@dataclass
class IndexTimes:
    """Timings and memory of one index size."""

    size: int
    figures: dict[str, float] = field(default_factory=dict)


def _median_ms(function: Callable[[ImageData], object], images: Sequence[ImageData], repeat: int = 3) -> float:
    times = []
    for image in images:
        best = float("inf")
        for _ in range(repeat):
            started = time.perf_counter()
            function(image)
            best = min(best, time.perf_counter() - started)
        times.append(best)
    return 1000 * statistics.median(times)


def _draft(mode: str | None) -> Callable[[ImageData], object]:
    def decode(image: ImageData) -> object:
        pixels = Image.open(io.BytesIO(image.data))
        pixels.draft(mode, draft_size(image, layout.HASH_SIDE))
        pixels.load()
        return pixels

    return decode


def _full_phash(image: ImageData) -> object:
    pixels = Image.open(io.BytesIO(image.data))
    pixels.load()
    return imagehash.phash(pixels)


def extraction_times(label: str, datas: Sequence[bytes]) -> ExtractionTimes:
    """Decode references, the hash stage, imagehash, and the whole extraction."""
    images = [load_image(data) for data in datas]
    engine = RobustEngine()
    ms = {
        "Pillow draft decode (RGB)": _median_ms(_draft(None), images),
        "Pillow draft decode (L)": _median_ms(_draft("L"), images),
        "ris hash stage": _median_ms(layout.extract_hashes, images),
        "imagehash.phash, full decode": _median_ms(_full_phash, images),
        "ris whole extraction": _median_ms(engine.extract, images, repeat=1),
    }
    side = int(statistics.median(max(i.width, i.height) for i in images))
    return ExtractionTimes(label, len(images), side, ms)


def _synthetic_codes(n: int, rng: np.random.Generator) -> np.ndarray:
    codes = rng.integers(0, 2**63, size=(n, 4), dtype=np.int64).astype(np.uint64) << np.uint64(1)
    codes |= rng.integers(0, 2, size=(n, 4)).astype(np.uint64)
    planted = rng.choice(n, n // 100, replace=False)
    sources = rng.choice(n, n // 100)
    flips = np.zeros(n // 100, dtype=np.uint64)
    for _ in range(3):  # up to 3 bits flipped in the DCT code
        flips |= np.uint64(1) << rng.integers(0, 64, n // 100).astype(np.uint64)
    codes[planted] = codes[sources]
    codes[planted, 0] ^= flips
    return codes


def _load_codes(index: RobustIndex, codes: np.ndarray) -> None:
    core = index.core
    n = len(codes)
    core.keys = np.arange(n, dtype=np.int64)
    core.alive = np.ones(n, bool)
    core.other = np.ascontiguousarray(codes[:, 1:])
    core.sizes = np.full((n, 2), 128, np.uint8)
    core.centre = np.zeros((4, n), np.uint64)  # the keypoint stage's; saved and reopened all the same
    core.mih.replace(np.ascontiguousarray(codes[:, 0]))
    core.postings.row_count = n


def hash_index_times(n: int, seed: int = 5) -> IndexTimes:
    """The hash stage over ``n`` synthetic codes: memory, queries, self-join, reopen."""
    rng = np.random.default_rng(seed)
    codes = _synthetic_codes(n, rng)
    index = RobustIndex(keypoint_duplicates=False)
    out = IndexTimes(n)
    started = time.perf_counter()
    _load_codes(index, codes)
    out.figures["build s"] = time.perf_counter() - started
    core = index.core
    tables = sum(v.nbytes + r.nbytes for v, r in core.mih.tables())
    out.figures["bytes per image"] = (core.keys.nbytes + core.mih.codes.nbytes + core.other.nbytes + tables) / n
    # Queries: near-copies of stored images (a few bits off), which the hash stage settles.
    picks = rng.choice(n, 300, replace=False)
    times = []
    for row in picks:
        c = codes[row].copy()
        c[0] ^= np.uint64(1) << np.uint64(int(rng.integers(64)))
        f = layout.Features(
            (256, 256),
            layout.HashCodes(*(int(x) for x in c)),
            layout.KeypointSet.empty(),
            0,
            layout.KeypointSet.empty(),
        )
        blob = layout.to_blob(f)
        started = time.perf_counter()
        hits = index.search(blob, RobustEngine.default_threshold, 10, None)
        times.append(time.perf_counter() - started)
        assert (hits and hits[0].key == row) or codes[hits[0].key, 0] == codes[row, 0]
    out.figures["find_similar median ms"] = 1000 * statistics.median(times)
    started = time.perf_counter()
    found = sum(1 for _ in index.pairs(RobustEngine.duplicate_threshold, None))
    out.figures["find_duplicates s"] = time.perf_counter() - started
    out.figures["duplicate pairs found"] = found
    out.figures.update(_reopen(index))
    return out


def _reopen(index: RobustIndex) -> dict[str, float]:
    """Save the index the way the local backend does (:class:`IndexStore` in a real
    SQLite file, opened like the backend opens it), then time what a new process does to
    get it back: open the file, read the saved blocks, load a fresh index from them."""
    engine = RobustEngine()
    blocks = index.to_blocks()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ris.db"
        database = Database(path)
        store = LocalStore(database)
        ref = store.create_context({})
        if not IndexStore(database).save(ref, store.generation(ref), engine.algorithm, engine.version, blocks):
            raise RuntimeError("the index was not saved")
        database.close()
        del blocks
        started = time.perf_counter()
        database = Database(path)
        store = LocalStore(database)
        read = IndexStore(database).load(ref, store.generation(ref), engine.algorithm, engine.version)
        if read is None:
            raise RuntimeError("the saved index was not found")
        fresh = engine.new_index()
        fresh.load_blocks(read)
        seconds = time.perf_counter() - started
        database.close()
        if len(fresh) != len(index):
            raise RuntimeError("the reopened index lost rows")
        size = path.stat().st_size
    return {"reopen from SQLite s": seconds, "saved MB": size / 2**20}


def stored_blobs(n: int, real_keys: Sequence[int], real_blobs: Sequence[bytes], rng: np.random.Generator) -> BlobReader:
    """The store a query's closer look reads: the real blobs under their keys, and for a
    synthetic image one of 64 real blobs whose thumbnail is replaced by noise (as costly
    to correlate as a picture's, and never the query's answer)."""
    real = {n + key: blob for key, blob in zip(real_keys, real_blobs, strict=True)}
    synthetic = []
    for blob in real_blobs[:64]:
        f = layout.from_blob(blob)
        noise = rng.integers(0, 256, size=f.thumbnail.shape, dtype=np.uint8)
        # No region proposals either (engine 12): a copy's regions could match a query.
        synthetic.append(layout.to_blob(dataclasses.replace(f, thumbnail=noise, regions=())))
    return lambda keys: {key: real[key] if key >= n else synthetic[key % len(synthetic)] for key in keys}


def synthetic_robust_index(
    n: int, real_keys: Sequence[int], real_blobs: Sequence[bytes], rng: np.random.Generator
) -> RobustIndex:
    """``n`` synthetic images (keys ``0..n-1``) and the real ones (under ``n + key``) in one
    index: each synthetic image has ``INDEXED_PER_IMAGE`` postings whose words and
    signatures are copied from the real images' postings at random, at random positions,
    with random hash and centre codes; the real images are added the ordinary way."""
    real = RobustIndex()
    real.add(list(real_keys), list(real_blobs))
    real_starts, _, real_packed, real_rest, _ = real.core.postings.arrays()
    real_words = np.repeat(np.arange(len(real_starts) - 1, dtype=np.int64), np.diff(real_starts))
    per_image = INDEXED_PER_IMAGE
    copied = rng.integers(0, len(real_words), size=n * per_image)
    words = real_words[copied]
    syn_rows = np.repeat(np.arange(n, dtype=np.uint32), per_image)
    position = rng.integers(0, 2**20, size=n * per_image, dtype=np.uint32)  # x, y, orientation
    syn_packed = (real_packed[copied] & np.uint32(0xFFF00000)) | position
    syn_rest = real_rest[copied]
    del copied, position
    index = RobustIndex()
    core = index.core
    codes = rng.integers(0, 2**63, size=(n, 4), dtype=np.int64).astype(np.uint64)
    _load_codes(index, codes)
    core.sizes = rng.integers(60, 129, size=(n, 2)).astype(np.uint8)
    core.centre = rng.integers(0, 2**63, size=(4, n), dtype=np.int64).astype(np.uint64)
    order = np.argsort(words, kind="stable")
    csr = np.concatenate([[0], np.cumsum(np.bincount(words, minlength=len(real_starts) - 1))])
    doc = np.bincount(words, minlength=len(real_starts) - 1).astype(np.int64)
    core.postings.load(csr, syn_rows[order], syn_packed[order], syn_rest[order], doc, n)
    del words, syn_rows, syn_packed, syn_rest, order
    # The real images join under keys after the synthetic ones.
    index.add([n + k for k in real_keys], list(real_blobs))
    return index


def robust_index_times(
    n: int, real_keys: Sequence[int], real_blobs: Sequence[bytes], queries: Sequence[tuple[bytes, int]], seed: int = 6
) -> IndexTimes:
    """Robust-stage queries against ``n`` synthetic images plus the real ones."""
    rng = np.random.default_rng(seed)
    index = synthetic_robust_index(n, real_keys, real_blobs, rng)
    core = index.core
    out = IndexTimes(n + len(real_keys))
    robust_bytes = core.postings.nbytes() + core.sizes.nbytes + core.centre.nbytes
    out.figures["robust bytes per image"] = robust_bytes / len(core.keys)
    stored = stored_blobs(n, real_keys, real_blobs, rng)
    times, correct = [], 0
    for blob, expected in queries:
        started = time.perf_counter()
        hits = index.search(blob, RobustEngine.default_threshold, 10, None, stored)
        times.append(time.perf_counter() - started)
        correct += bool(hits) and hits[0].key == n + expected
    out.figures["robust query median ms"] = 1000 * statistics.median(times)
    out.figures["robust query recall@1"] = correct / max(1, len(queries))
    return out
