"""A/B of the posting scan (``InvertedFile.lookup`` / ``lookup_rows``): another
revision's code (``main`` by default) against this checkout's, in one process, on one
in-memory index of synthetic distractors built as :func:`benchmarks.scale.robust_index_times`
builds it (the stores benchmark's 100 real photos on top, its 30 crops as queries).

The two versions' methods are swapped onto the class in turn, rounds alternating which
goes first; the CPU time (``time.process_time``) of whole ``RobustIndex.search`` calls and
of the lookups inside them is reported. Before timing, every query's lookups are compared
array by array (same postings, same order, same dtypes), and every round's hits must equal
the first round's (same keys, same scores, same order), else the script fails.

    python -m benchmarks.scan_ab DISTRACTORS [ROUNDS] [REVISION]
"""

import os
import statistics
import subprocess
import sys
import time
import types

import numpy as np

from benchmarks.scale import INDEXED_PER_IMAGE, _load_codes, _stored_blobs
from benchmarks.stores import _crop, _photo
from ris_core.images import load_image
from ris_local.features import layout
from ris_local.index import invertedfile as mine
from ris_local.index.scored import RobustIndex
from ris_local.robust import RobustEngine
from ris_local.scoring.verification import signatures

n = int(sys.argv[1])
rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
revision = sys.argv[3] if len(sys.argv) > 3 else "main"
src = subprocess.run(
    ["git", "-C", os.path.dirname(os.path.abspath(__file__)), "show", f"{revision}:ris_local/index/invertedfile.py"],
    capture_output=True,
    text=True,
    check=True,
).stdout
base = types.ModuleType("base_invertedfile")
exec(compile(src, "main:invertedfile.py", "exec"), base.__dict__)
variants = {
    "base": (base.InvertedFile.lookup, base.InvertedFile.lookup_rows),
    "scan": (mine.InvertedFile.lookup, mine.InvertedFile.lookup_rows),
}

engine = RobustEngine()
real_keys = list(range(1, 101))
real_blobs = [engine.extract(load_image(_photo(s))) for s in real_keys]
queries = [engine.extract(load_image(_crop(s))) for s in range(2, 32)]
rng = np.random.default_rng(6)
real = RobustIndex()
real.add(real_keys, real_blobs)
rs, _, rp, rr, _ = real.core.postings.arrays()
rw = np.repeat(np.arange(len(rs) - 1, dtype=np.int64), np.diff(rs))
copied = rng.integers(0, len(rw), size=n * INDEXED_PER_IMAGE)
words = rw[copied]
syn_rows = np.repeat(np.arange(n, dtype=np.uint32), INDEXED_PER_IMAGE)
position = rng.integers(0, 2**20, size=n * INDEXED_PER_IMAGE, dtype=np.uint32)
syn_packed = (rp[copied] & np.uint32(0xFFF00000)) | position
syn_rest = rr[copied]
index = RobustIndex()
core = index.core
codes = rng.integers(0, 2**63, size=(n, 4), dtype=np.int64).astype(np.uint64)
_load_codes(index, codes)
core.sizes = rng.integers(60, 129, size=(n, 2)).astype(np.uint8)
core.centre = rng.integers(0, 2**63, size=(4, n), dtype=np.int64).astype(np.uint64)
order = np.argsort(words, kind="stable")
csr = np.concatenate([[0], np.cumsum(np.bincount(words, minlength=len(rs) - 1))])
doc = np.bincount(words, minlength=len(rs) - 1).astype(np.int64)
core.postings.load(csr, syn_rows[order], syn_packed[order], syn_rest[order], doc, n)
del words, syn_rows, syn_packed, syn_rest, order, copied, position
index.add([n + k for k in real_keys], real_blobs)
stored = _stored_blobs(n, real_keys, real_blobs, rng)
print(f"{n} distractors + 100 real; load {os.getloadavg()}", flush=True)

# count time spent in lookup/lookup_rows
spent = {"t": 0.0}


def timed(f):
    def g(*a, **k):
        c = time.process_time()
        r = f(*a, **k)
        spent["t"] += time.process_time() - c
        return r

    return g


def use(name):
    lk, lr = variants[name]
    mine.InvertedFile.lookup = timed(lk)
    mine.InvertedFile.lookup_rows = timed(lr)


def run(name):
    use(name)
    spent["t"] = 0.0
    hits, cpus = [], []
    for q in queries:
        c = time.process_time()
        hits.append(index.search(q, RobustEngine.default_threshold, 10, None, stored))
        cpus.append(time.process_time() - c)
    return hits, cpus, spent["t"]


def same(first, second):
    """The same arrays, element by element and dtype by dtype."""
    pairs = zip(first, second, strict=True)
    return all(np.array_equal(x, y) and x.dtype == y.dtype for x, y in pairs)


# postings-level identity check on every query, both lookups

P = core.postings
for q in queries:
    f = layout.from_blob(q)
    for kps in (f.normal, f.mirrored):
        w = kps.words.astype(np.int64).ravel()
        own = np.repeat(np.arange(len(kps.packed)), kps.words.shape[1])
        s = signatures(kps.packed, kps.rest)[own]
        for budget in (1_000_000, 200_000):
            a, b = variants["base"][0](P, w, s, budget), variants["scan"][0](P, w, s, budget)
            assert all(
                np.array_equal(x, y) and x.dtype == y.dtype for x, y in zip(a[0] + (a[1],), b[0] + (b[1],), strict=True)
            ), "lookup differs"
        rows = np.sort(rng.choice(len(core.keys), 400, replace=False)).astype(np.int64)
        a, b = variants["base"][1](P, w, s, rows), variants["scan"][1](P, w, s, rows)
        assert all(np.array_equal(x, y) and x.dtype == y.dtype for x, y in zip(a, b, strict=True)), (
            "lookup_rows differs"
        )
print("postings identical", flush=True)

results = {"base": [], "scan": []}
ref = None
for r in range(rounds):
    for name in ("base", "scan") if r % 2 == 0 else ("scan", "base"):
        hits, cpus, scan = run(name)
        if ref is None:
            ref = hits
        assert hits == ref, f"{name} hits differ"
        results[name].append((sum(cpus) / len(cpus) * 1000, statistics.median(cpus) * 1000, scan / len(cpus) * 1000))
        print(
            name,
            "round",
            r,
            "mean query CPU ms {:.1f} median {:.1f} lookup ms/query {:.1f}".format(*results[name][-1]),
            flush=True,
        )
for name, rs_ in results.items():
    print(
        name,
        f"best-of-rounds mean query CPU ms {min(x[0] for x in rs_):.1f}, lookup ms/query {min(x[2] for x in rs_):.1f}",
    )
print("hits identical over all rounds; load", os.getloadavg())
