"""SQLite and PostgreSQL side by side, in one run: ``python -m benchmarks.stores``.

What the store changes, measured through the public API on each store in turn:

- ingest throughput with 1, 2 and 4 worker processes adding photos to one context
  (each worker its own slice; then every row is counted: none lost, none twice);
- database size per image after that ingest (file size; ``pg_database_size`` less an
  empty database's);
- query latency on the ingested images plus synthetic distractors (the distractors are
  stored rows holding copies of the real images' feature blobs, as :mod:`benchmarks.scale`
  copies real postings): a hash-settled query (an exact copy) and a robust one (a crop);
- a search right after another process's write, which SQLite answers by rebuilding the
  reader's index and PostgreSQL by applying its change log;
- reopening the context (a new process's first search, from the saved index).

The PostgreSQL server is a throwaway one (:class:`~ris_core.testing.postgres.TemporaryPostgres`)
with ``fsync`` on, like a real one; SQLite runs in WAL mode with ``synchronous=NORMAL`` as ris opens it.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import contextlib
import io
import multiprocessing
import platform
import statistics
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

import ris_core
from ris_core.testing.images import encode, photo
from ris_core.testing.postgres import TemporaryPostgres

CONTEXT = "bench"


def _photo(seed: int) -> bytes:
    return encode(photo(seed, (480, 360)), "JPEG", quality=90)


def _crop(seed: int) -> bytes:
    image = Image.open(io.BytesIO(_photo(seed)))
    out = io.BytesIO()
    image.crop((60, 40, 400, 320)).save(out, "JPEG", quality=85)
    return out.getvalue()


def _ingest_worker(database: str, first: int, count: int, ready: Any, go: Any, out: Any) -> None:
    """One ingest process: its photos made and the database opened before the start signal,
    so a round times the adds alone; one thread, extracting in this process (``workers=1``),
    so N processes are N extractors, not N times the default pool of one per core."""
    # Its own session, as an ingest worker started on its own (a service, another shell,
    # another machine) is: Linux's autogroup scheduler gives each session one share of the
    # CPU, so workers left in the benchmark's session would split one share between them.
    os.setsid()
    photos = [(f"p{seed}", _photo(seed)) for seed in range(first, first + count)]
    with ris_core.open("local", database=database) as system:
        context = system.context(CONTEXT)
        ready.set()
        go.wait()
        began = time.monotonic()
        cpu = time.process_time()
        context.add_images(photos, workers=1, progress=False)
        out.put((began, time.monotonic(), time.process_time() - cpu))


def _server_cpu(server: TemporaryPostgres | None) -> float:
    """CPU seconds the server's processes used so far: the postmaster with every backend it
    reaped, plus the live ones (0 for SQLite, which runs inside the workers)."""
    if server is None:
        return 0.0
    postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a process that ended meanwhile
        pid, parent = int(stat.parent.name), int(fields[1])
        if pid == postmaster:
            total += sum(int(f) for f in fields[11:15])  # utime, stime, cutime, cstime
        elif parent == postmaster:
            total += int(fields[11]) + int(fields[12])
    return total / tick


class _WaitSampler:
    """What the writers' server connections are doing, sampled every 10 ms from
    ``pg_stat_activity``: waiting on a lock, on the WAL flush, on the client (inside a
    transaction, or between two), or running."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.connection = psycopg.connect(url, autocommit=True, application_name="ris-bench-sampler")
        self.counts: Counter[str] = Counter()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(0.01):
            for wait_type, event, state in self.connection.execute(
                "SELECT wait_event_type, wait_event, state FROM pg_stat_activity "
                "WHERE application_name = 'ris' AND backend_type = 'client backend'"
            ).fetchall():
                if state == "idle":
                    self.counts["idle between transactions (client working)"] += 1
                elif state == "idle in transaction":
                    self.counts["idle in a transaction (client working)"] += 1
                elif wait_type is None:
                    self.counts["server running a statement"] += 1
                else:
                    self.counts[f"waiting: {wait_type}/{event}"] += 1

    def __enter__(self) -> _WaitSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self.connection.close()


def ingest_round(
    database: str, workers: int, per_worker: int, start: int, server: TemporaryPostgres | None = None
) -> dict[str, float]:
    """``workers`` processes adding ``per_worker`` photos each: images per second (from the
    start signal to the last add), CPU milliseconds per image in the workers and in the
    server, and the load average when the round started."""
    context = multiprocessing.get_context("spawn")
    go, out = context.Event(), context.Queue()
    ready = [context.Event() for _ in range(workers)]
    processes = [
        context.Process(target=_ingest_worker, args=(database, start + w * per_worker, per_worker, ready[w], go, out))
        for w in range(workers)
    ]
    for process in processes:
        process.start()
    for event in ready:
        if not event.wait(300):
            raise RuntimeError("an ingest worker did not start")
    load = os.getloadavg()[0]
    server_cpu = _server_cpu(server)
    sampler = _WaitSampler(database) if server is not None else contextlib.nullcontext()
    with sampler:
        began = time.monotonic()
        go.set()
        results = [out.get(timeout=1800) for _ in range(workers)]
        ended = time.monotonic()
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise RuntimeError(f"an ingest worker failed ({process.exitcode})")
    images = workers * per_worker
    figures = {
        "img/s": images / (ended - began),
        "worker CPU ms/img": 1000 * sum(cpu for _, _, cpu in results) / images,
        "server CPU ms/img": 1000 * (_server_cpu(server) - server_cpu) / images,
        "load average (1 min) at start": load,
    }
    if isinstance(sampler, _WaitSampler):
        samples = sum(sampler.counts.values()) or 1
        for state, count in sampler.counts.most_common():
            figures[f"% {state}"] = 100 * count / samples
    return figures


def ingest_rate(database: str, workers: int, per_worker: int, start: int) -> float:
    """Images per second with ``workers`` processes adding ``per_worker`` photos each."""
    return ingest_round(database, workers, per_worker, start)["img/s"]


def _median_ms(calls: list[Callable[[], object]]) -> float:
    times = []
    for call in calls:
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return 1000 * statistics.median(times)


def _add_distractors(database: str, count: int, sources: int) -> None:
    """``count`` stored rows whose feature blobs are copies of the real images' (engine
    internals are not needed: the rows go in through the backend's own store)."""
    with ris_core.open("local", database=database) as system:
        backend = system.backend
        store = backend.store  # type: ignore[attr-defined]
        ref = system.catalog.get_context(CONTEXT).ref
        rows = [store.features(ref, f"p{seed}") for seed in range(sources)]
        from ris_core.images import load_image

        image = load_image(_photo(0))
        for number in range(count):
            store.add_image(ref, f"d{number}", image, rows[number % len(rows)])


def measure(
    name: str, database: str, size_of: Callable[[], int], per_worker: int, distractors: int
) -> dict[str, float]:
    """Every figure for one store."""
    figures: dict[str, float] = {}
    with ris_core.open("local", database=database) as system:
        system.create_context(CONTEXT)
    empty = size_of()
    start = 0
    for workers in (1, 2, 4):
        figures[f"ingest img/s, {workers} worker(s)"] = ingest_rate(database, workers, per_worker, start)
        start += workers * per_worker
    with ris_core.open("local", database=database) as system:
        listed = system.context(CONTEXT).image_ids()
    if sorted(listed) != sorted(f"p{seed}" for seed in range(start)):
        raise RuntimeError(f"{name}: rows lost or duplicated ({len(listed)} listed, {start} added)")
    figures["bytes per image"] = (size_of() - empty) / start
    _add_distractors(database, distractors, start)
    total = start + distractors
    figures["images in the context"] = total
    with ris_core.open("local", database=database) as reader, ris_core.open("local", database=database) as writer:
        context = reader.context(CONTEXT)
        began = time.perf_counter()
        context.find_similar_images(image=_photo(1), max_count=10)
        figures["first search (load index) ms"] = 1000 * (time.perf_counter() - began)
        # Each query once: ris caches results per context generation, and a repeat would time the cache.
        exact = [_photo(seed) for seed in range(2, 22)]
        crops = [_crop(seed) for seed in range(2, 22)]
        figures["hash-settled query median ms"] = _median_ms(
            [lambda data=data: context.find_similar_images(image=data, max_count=10) for data in exact]
        )
        figures["robust query median ms"] = _median_ms(
            [lambda data=data: context.find_similar_images(image=data, max_count=10) for data in crops]
        )
        after: list[float] = []
        for number in range(5):
            writer.context(CONTEXT).add_image(f"w{number}", _photo(10_000 + number))
            began = time.perf_counter()
            found = context.find_similar_images(image=_photo(10_000 + number), max_count=1)
            after.append(time.perf_counter() - began)
            if not found or found[0].image_id != f"w{number}":
                raise RuntimeError(f"{name}: a search after another process's write missed it")
        figures["search after another process's write ms"] = 1000 * statistics.median(after)
    began = time.perf_counter()
    with ris_core.open("local", database=database) as system:
        system.context(CONTEXT).find_similar_images(image=_photo(2), max_count=10)
    figures["reopen + first search ms"] = 1000 * (time.perf_counter() - began)
    return figures


def ingest_scaling(
    name: str, database: str, server: TemporaryPostgres | None, per_worker: int, repeats: int
) -> list[dict[str, float]]:
    """Rounds of 1 and 2 worker processes, alternated ``repeats`` times (so a change in the
    machine's load falls on both), then one of 4; every row counted at the end."""
    with ris_core.open("local", database=database) as system:
        system.create_context(CONTEXT)
    rounds, start = [], 0
    for workers in [1, 2] * repeats + [4]:
        figures = {"workers": float(workers), **ingest_round(database, workers, per_worker, start, server)}
        rounds.append(figures)
        print(name, {k: round(v, 1) for k, v in figures.items()}, flush=True)
        start += workers * per_worker
    with ris_core.open("local", database=database) as system:
        listed = system.context(CONTEXT).image_ids()
    if sorted(listed) != sorted(f"p{seed}" for seed in range(start)):
        raise RuntimeError(f"{name}: rows lost or duplicated ({len(listed)} listed, {start} added)")
    return rounds


def _print_scaling(name: str, rounds: list[dict[str, float]]) -> None:
    print(f"\n{name}: {len(rounds)} rounds, every row there once")
    for workers in (1, 2, 4):
        mine = [r for r in rounds if r["workers"] == workers]
        if not mine:
            continue
        rate = statistics.median(r["img/s"] for r in mine)
        print(
            f"| {name} | {workers} | {rate:.1f} | "
            + " | ".join(
                f"{statistics.median(r[k] for r in mine):.1f}"
                for k in ("worker CPU ms/img", "server CPU ms/img", "load average (1 min) at start")
            )
            + " |"
        )
    one = statistics.median(r["img/s"] for r in rounds if r["workers"] == 1)
    two = statistics.median(r["img/s"] for r in rounds if r["workers"] == 2)
    print(f"2 workers / 1 worker: {two / one:.2f}x")


def main(argv: list[str] | None = None) -> None:
    """Run both stores and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-worker", type=int, default=40, help="photos each ingest worker adds")
    parser.add_argument("--distractors", type=int, default=20_000, help="synthetic stored rows added after ingest")
    parser.add_argument(
        "--ingest-only", type=int, metavar="REPEATS", default=0,
        help="only the ingest rounds: 1 and 2 workers alternated REPEATS times, then 4, with CPU per image",
    )  # fmt: skip
    parser.add_argument(
        "--scale", metavar="N[,N...]", default="",
        help="only the figures at scale: N bulk-loaded distractors in both stores, queried from a fresh process; "
        "several sizes (ascending, comma-separated) are measured on the way in one run",
    )  # fmt: skip
    parser.add_argument(
        "--duplicates", action="store_true",
        help="with --scale: then find_duplicates over the largest size on PostgreSQL, from a fresh process",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.scale:
        print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
        print(f"load average at start: {os.getloadavg()}")
        print(f"started {time.strftime('%Y-%m-%d %H:%M:%S %Z')}", flush=True)
        at_scale = scale(sorted(int(n) for n in args.scale.split(",")), args.duplicates)
        print(f"ended {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
        print(f"load average at end: {os.getloadavg()}\n")
        _print_table(at_scale)
        return
    if args.ingest_only:
        print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
        with tempfile.TemporaryDirectory() as folder:
            sqlite_rounds = ingest_scaling(
                "SQLite", str(Path(folder) / "ris.db"), None, args.per_worker, args.ingest_only
            )
        with TemporaryPostgres(settings={"fsync": "on", "full_page_writes": "on"}) as server:
            pg_rounds = ingest_scaling("PostgreSQL", server.new_database(), server, args.per_worker, args.ingest_only)
        _print_scaling("SQLite", sqlite_rounds)
        _print_scaling("PostgreSQL 15", pg_rounds)
        return
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "ris.db"

        def file_size() -> int:
            return sum(p.stat().st_size for p in Path(folder).glob("ris.db*"))

        results["SQLite"] = measure("SQLite", str(path), file_size, args.per_worker, args.distractors)
    with TemporaryPostgres(settings={"fsync": "on", "full_page_writes": "on"}) as server:
        url = server.new_database()
        import psycopg

        def database_size() -> int:
            with psycopg.connect(url) as connection:
                row = connection.execute("SELECT pg_database_size(current_database())").fetchone()
                return int(row[0]) if row else 0

        results["PostgreSQL 15"] = measure("PostgreSQL", url, database_size, args.per_worker, args.distractors)
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"per worker: {args.per_worker} photos (480x360 JPEG); distractors: {args.distractors}\n")
    _print_table(results)


def _print_table(results: dict[str, dict[str, float]]) -> None:
    names = list(results)
    print("| figure | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    figures = list(dict.fromkeys(figure for n in names for figure in results[n]))
    for figure in figures:
        cells = (f"{results[n][figure]:,.1f}" if figure in results[n] else "-" for n in names)
        print(f"| {figure} | " + " | ".join(cells) + " |")


# --- at scale: ``--scale N`` -------------------------------------------------------------

#: How many distinct synthetic keypoint sets the distractors cycle through (their hash codes are all distinct).
SYNTHETIC_SETS = 4096
#: Rows written per batch while bulk-loading distractors.
LOAD_CHUNK = 20_000
#: Real photos ingested (through ``add_images``) before the distractors: the queries' answers.
REAL_PHOTOS = 100


def _synthetic_sets(real: list[bytes], count: int, rng: Any) -> list[bytes]:
    """``count`` feature blobs whose keypoints are made as :mod:`benchmarks.scale` makes
    its postings: each keypoint is a copy of the words and signature of a random keypoint
    of any real image, at a random position and orientation (so a distractor shares a
    few words with each real image, not all of one image's); the rest of the blob (size,
    keypoint counts) is a real image's, and the thumbnail is noise (as costly to
    correlate, never a match)."""
    import dataclasses

    import numpy as np

    from ris_local.features import layout

    parsed = [layout.from_blob(blob) for blob in real]
    pool = {
        "packed": np.concatenate([f.normal.packed for f in parsed] + [f.mirrored.packed for f in parsed]),
        "rest": np.concatenate([f.normal.rest for f in parsed] + [f.mirrored.rest for f in parsed]),
        "words": np.concatenate([f.normal.words for f in parsed] + [f.mirrored.words for f in parsed]),
    }

    def drawn(n: int) -> layout.KeypointSet:
        rows = rng.integers(0, len(pool["packed"]), n)
        position = rng.integers(0, 2**20, n, dtype=np.uint32)
        packed = (pool["packed"][rows] & np.uint32(0xFFF00000)) | position
        return layout.KeypointSet(packed, pool["rest"][rows], pool["words"][rows])

    out = []
    for number in range(count):
        features = parsed[number % len(parsed)]
        noise = rng.integers(0, 256, size=features.thumbnail.shape, dtype=np.uint8)
        normal, mirrored = drawn(len(features.normal.packed)), drawn(len(features.mirrored.packed))
        # No region proposals: a real photo's region codes would make every distractor
        # drawn from it a near twin of that photo's regions (engine 12, blob layout 7).
        synthetic = dataclasses.replace(features, normal=normal, mirrored=mirrored, thumbnail=noise, regions=())
        out.append(layout.to_blob(synthetic))
    return out


def _codes_at(blob: bytes) -> int:
    """Where the centre (3Q) and untrimmed (2Q) codes start: before the chroma map (its
    2-byte size and pixels), the borders (4H) and the region list (its 1-byte count and
    40 bytes a region) that end the blob (layout 7)."""
    from ris_local.features import layout

    features = layout.from_blob(blob)
    regions = 1 + 40 * len(features.regions)
    return len(blob) - regions - 8 - 2 - features.chroma.nbytes - 40


def _with_codes(blob: bytes, codes: Any, tail_at: int | None = None) -> bytes:
    """``blob`` with its eight 64-bit codes (the four hash codes in the header, three centre
    codes and two whole-frame codes near the end) replaced: so no two distractors share a
    hash and none settles a query by hash. ``tail_at`` is :func:`_codes_at` of the blob."""
    import struct

    head = struct.Struct("<4sHH4QHH")
    magic, width, height, _, _, _, _, normal, index = head.unpack_from(blob)
    header = head.pack(magic, width, height, *(int(c) for c in codes[:4]), normal, index)
    if tail_at is None:
        tail_at = _codes_at(blob)
    tail = struct.pack("<3Q2Q", *(int(c) for c in codes[4:9]))
    return header + blob[head.size : tail_at] + tail + blob[tail_at + 40 :]


def _context_row(database: str) -> tuple[str, int]:
    """The local ref and generation of the benchmark context."""
    with ris_core.open("local", database=database) as system:
        ref = system.catalog.get_context(CONTEXT).ref
        return ref, int(system.backend.store.generation(ref))  # type: ignore[attr-defined]


class _DistractorLoader:
    """Bulk-loads distractors into both stores, ``load(n)`` at a time (so one run can
    measure at several sizes), writing the rows each store's own writes would leave
    (image row by reference, features, catalog row; on PostgreSQL the change-log rows
    too, by COPY), then one index over every row, saved at a new generation in both, so
    a search process opens it as it opens any saved index."""

    def __init__(self, sqlite_path: str, url: str, seed: int = 18) -> None:
        import numpy as np

        from ris_local.robust import RobustEngine

        self.sqlite_path, self.url = sqlite_path, url
        self.rng = np.random.default_rng(seed)
        p_ref, _ = _context_row(url)
        with ris_core.open("local", database=url) as system:
            store = system.backend.store  # type: ignore[attr-defined]
            real_rows = [row for rows in store.feature_rows(p_ref) for row in rows]
        self.engine = RobustEngine()
        self.index = self.engine.new_index()
        self.index.add([row.key for row in real_rows], [row.blob for row in real_rows])
        self.sets = _synthetic_sets([row.blob for row in real_rows], SYNTHETIC_SETS, self.rng)
        self.tails = [_codes_at(blob) for blob in self.sets]
        self.first = 1 + max(row.key for row in real_rows)
        self.loaded = 0

    def load(self, count: int) -> dict[str, float]:
        """``count`` more distractors in both stores, and the index saved at a new generation."""
        import sqlite3

        import numpy as np
        import psycopg

        from ris_core.database import open_database
        from ris_local.storage.postgres_store import index_store_for

        engine, index, rng = self.engine, self.index, self.rng
        (s_ref, s_gen), (p_ref, p_gen) = _context_row(self.sqlite_path), _context_row(self.url)
        lite = sqlite3.connect(self.sqlite_path)
        pg = psycopg.connect(self.url, autocommit=True)  # each chunk its own transaction below
        pg.execute("SET session_replication_role = replica")  # no per-row triggers: the change log is written below
        timings = {"make + index s": 0.0, "SQLite load s": 0.0, "PostgreSQL COPY s": 0.0}
        now = "2026-12-02T00:00:00+00:00"
        s_next, p_next = s_gen + 1, p_gen + 1
        for start in range(self.loaded, self.loaded + count, LOAD_CHUNK):
            began = time.perf_counter()
            n = min(LOAD_CHUNK, self.loaded + count - start)
            keys = np.arange(self.first + start, self.first + start + n, dtype=np.int64)
            codes = rng.integers(0, 2**63, size=(n, 9), dtype=np.int64)
            sets = [(start + i) % SYNTHETIC_SETS for i in range(n)]
            blobs = [_with_codes(self.sets[k], codes[i], self.tails[k]) for i, k in enumerate(sets)]
            index.add(keys.tolist(), blobs)
            ids = [f"d{start + i}" for i in range(n)]
            shas = [f"{int(k):064x}" for k in keys]
            timings["make + index s"] += time.perf_counter() - began
            began = time.perf_counter()
            with lite:
                lite.executemany(
                    "INSERT INTO local_images (key, ref, image_id, data, format, width, height, sha256, source) "
                    "VALUES (?, ?, ?, x'', 'JPEG', 480, 360, ?, ?)",
                    [
                        (int(k), s_ref, i, sha, f"/distractors/{i}.jpg")
                        for k, i, sha in zip(keys, ids, shas, strict=True)
                    ],
                )
                lite.executemany(
                    "INSERT INTO local_features (key, ref, algorithm, version, blob) VALUES (?, ?, ?, ?, ?)",
                    [(int(k), s_ref, engine.algorithm, engine.version, b) for k, b in zip(keys, blobs, strict=True)],
                )
                lite.executemany(
                    "INSERT INTO catalog_images (backend, context, image_id, sha256, added_at, source, size, width, "
                    "height, mtime_ns, reference) VALUES ('local', ?, ?, ?, ?, ?, 0, 480, 360, 0, 1)",
                    [(CONTEXT, i, sha, now, f"/distractors/{i}.jpg") for i, sha in zip(ids, shas, strict=True)],
                )
            timings["SQLite load s"] += time.perf_counter() - began
            began = time.perf_counter()
            with pg.transaction(), pg.cursor() as cursor:
                with cursor.copy(
                    "COPY local_images (key, ref, image_id, data, format, width, height, sha256, source) FROM STDIN"
                ) as copy:
                    for k, i, sha in zip(keys, ids, shas, strict=True):
                        copy.write_row((int(k), p_ref, i, b"", "JPEG", 480, 360, sha, f"/distractors/{i}.jpg"))
                with cursor.copy("COPY local_features (ref, key, algorithm, version, blob) FROM STDIN") as copy:
                    for k, b in zip(keys, blobs, strict=True):
                        copy.write_row((p_ref, int(k), engine.algorithm, engine.version, b))
                with cursor.copy("COPY local_changes (ref, generation, key, removed) FROM STDIN") as copy:
                    for k in keys:
                        copy.write_row((p_ref, p_next, int(k), False))
                with cursor.copy(
                    "COPY catalog_images (backend, context, image_id, sha256, added_at, source, size, width, height, "
                    "mtime_ns, reference) FROM STDIN"
                ) as copy:
                    for i, sha in zip(ids, shas, strict=True):
                        copy.write_row(("local", CONTEXT, i, sha, now, f"/distractors/{i}.jpg", 0, 480, 360, 0, 1))
            timings["PostgreSQL COPY s"] += time.perf_counter() - began
            del blobs
            print(
                f"{time.strftime('%H:%M:%S')} loaded {start + n:,} of {self.loaded + count:,} "
                f"({ {k: round(v) for k, v in timings.items()} })",
                flush=True,
            )
        self.loaded += count
        # One generation for the whole load, as one write of every row would make.
        with lite:
            lite.execute("UPDATE local_contexts SET generation = ? WHERE ref = ?", (s_next, s_ref))
            lite.execute("UPDATE catalog_contexts SET generation = generation + 1 WHERE backend = 'local' AND name = ?",
                         (CONTEXT,))  # fmt: skip
        lite.close()
        with pg.transaction():
            pg.execute("UPDATE local_contexts SET generation = %s WHERE ref = %s", (p_next, p_ref))
            pg.execute("INSERT INTO local_changes (ref, generation, key, removed) VALUES (%s, %s, -1, false)",
                       (p_ref, p_next))  # fmt: skip
            pg.execute("UPDATE catalog_contexts SET generation = generation + 1 WHERE backend = 'local' AND name = %s",
                       (CONTEXT,))  # fmt: skip
            pg.execute(
                "SELECT setval(pg_get_serial_sequence('local_images', 'key'), (SELECT max(key) FROM local_images))"
            )
        pg.close()
        began = time.perf_counter()
        blocks = index.to_blocks()
        for location, ref, generation in ((self.sqlite_path, s_ref, s_next), (self.url, p_ref, p_next)):
            database = open_database(location)
            try:
                if not index_store_for(database).save(ref, generation, engine.algorithm, engine.version, blocks):
                    raise RuntimeError("the index was not saved: the context moved on")
            finally:
                database.close()
        del blocks
        timings["save index s"] = time.perf_counter() - began
        return timings


def _peak_rss_mb() -> float:
    """This process's own peak resident size (``VmHWM``). Not ``ru_maxrss``: Linux keeps
    that across ``execve``, so a spawned child reports its parent's peak (the loader's,
    several GB) when its own is smaller; the figures of the first session did."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _scale_queries(database: str, out: Any) -> None:
    """A fresh search process: open, first search (the saved index), then the queries."""

    from ris_core.images import load_image
    from ris_local.features.staged import StagedQuery
    from ris_local.robust import RobustEngine

    figures: dict[str, float] = {"load average (1 min) at start": os.getloadavg()[0]}
    exact = [_photo(seed) for seed in range(2, 32)]
    crops = [_crop(seed) for seed in range(2, 32)]
    began = time.perf_counter()
    with ris_core.open("local", database=database) as system:
        context = system.context(CONTEXT)
        first = context.find_similar_images(image=_photo(1), max_count=10)
        figures["open + first search (saved index) s"] = time.perf_counter() - began
        if not first or first[0].image_id != "p1":
            raise RuntimeError(f"the first search missed p1: {first[:1]}")
        figures["images in the context"] = float(len(context))
        # The query's own extraction, alone (CPU): the part no store changes. Whole, and
        # as far as a hash-settled query goes (one decode, the hash codes).
        engine = RobustEngine()
        cpu = time.process_time()
        for data in exact:
            engine.extract(load_image(data))
        figures["query extraction alone (whole), CPU ms"] = 1000 * (time.process_time() - cpu) / len(exact)
        cpu = time.process_time()
        for data in exact:
            StagedQuery(load_image(data))
        figures["query decode + hash codes alone, CPU ms"] = 1000 * (time.process_time() - cpu) / len(exact)
        backend = system.backend
        for kind, queries in (("hash-settled", exact), ("robust", crops)):
            times, cpus, found = [], [], 0
            before = backend.extraction_statistics()  # type: ignore[attr-defined]
            for seed, data in enumerate(queries, 2):
                began, cpu = time.perf_counter(), time.process_time()
                hits = context.find_similar_images(image=data, max_count=10)
                times.append(time.perf_counter() - began)
                cpus.append(time.process_time() - cpu)
                found += bool(hits) and hits[0].image_id == f"p{seed}"
            after = backend.extraction_statistics()  # type: ignore[attr-defined]
            figures[f"{kind} query median ms"] = 1000 * statistics.median(times)
            figures[f"{kind} query p90 ms"] = 1000 * sorted(times)[int(0.9 * len(times))]
            figures[f"{kind} query median CPU ms"] = 1000 * statistics.median(cpus)
            figures[f"{kind} found first /{len(queries)}"] = found
            figures[f"{kind}: settled without keypoints /{len(queries)}"] = after.hash_settled - before.hash_settled
    figures["search process peak RSS MB (VmHWM)"] = _peak_rss_mb()
    figures["load average (1 min) at end"] = os.getloadavg()[0]
    out.put(figures)


def _scale_duplicates(database: str, out: Any) -> None:
    """A fresh process: open, then ``find_duplicates`` over the whole context at the
    duplicate threshold (the self-join reads the stored blobs through the store)."""

    figures: dict[str, float] = {"load average (1 min) at start": os.getloadavg()[0]}
    began, cpu = time.perf_counter(), time.process_time()
    with ris_core.open("local", database=database) as system:
        context = system.context(CONTEXT)
        last = [0.0]

        def progress(done: int, total: int) -> None:
            if time.perf_counter() - last[0] > 60:
                last[0] = time.perf_counter()
                print(f"{time.strftime('%H:%M:%S')} find_duplicates {done:,} / {total:,}", flush=True)

        groups = context.find_duplicates(progress=progress)
    figures["find_duplicates wall s"] = time.perf_counter() - began
    figures["find_duplicates CPU s"] = time.process_time() - cpu
    figures["duplicate groups"] = len(groups)
    figures["images in groups"] = sum(len(group.images) for group in groups)
    figures["find_duplicates process peak RSS MB (VmHWM)"] = _peak_rss_mb()
    figures["load average (1 min) at end"] = os.getloadavg()[0]
    out.put(figures)


def scale(counts: list[int], duplicates: bool = False) -> dict[str, dict[str, float]]:
    """Both stores with ``counts[-1]`` distractors plus :data:`REAL_PHOTOS` real photos,
    measured at each of ``counts`` on the way (ascending): load, size per image, and query
    latency from a fresh search process on each store. Each size's table is printed as
    soon as it is measured."""
    import psycopg

    results: dict[str, dict[str, float]] = {}
    with (
        tempfile.TemporaryDirectory(dir=os.environ.get("RIS_BENCH_DIR")) as folder,
        TemporaryPostgres(settings={"fsync": "on", "full_page_writes": "on", "max_wal_size": "4GB"}) as server,
    ):
        path = str(Path(folder) / "ris.db")
        url = server.new_database()
        for location in (path, url):
            with ris_core.open("local", database=location) as system:
                system.create_context(CONTEXT)
                system.context(CONTEXT).add_images(
                    ((f"p{seed}", _photo(seed)) for seed in range(REAL_PHOTOS)), workers=1, progress=False
                )
        print(f"{time.strftime('%H:%M:%S')} {REAL_PHOTOS} real photos ingested in both", flush=True)
        loader = _DistractorLoader(path, url)
        for count in counts:
            load = loader.load(count - loader.loaded)
            print(f"{time.strftime('%H:%M:%S')} load:", {k: round(v, 1) for k, v in load.items()}, flush=True)
            total = count + REAL_PHOTOS
            at = {"SQLite": {}, "PostgreSQL 15": {}}  # type: dict[str, dict[str, float]]
            with psycopg.connect(url, autocommit=True) as connection:
                connection.execute("VACUUM ANALYZE")
                size = int(connection.execute("SELECT pg_database_size(current_database())").fetchone()[0])  # type: ignore[index]
                index_bytes = int(connection.execute("SELECT sum(length(data)) FROM local_index_blocks").fetchone()[0])  # type: ignore[index]
            at["PostgreSQL 15"]["bytes per image (database)"] = size / total
            at["SQLite"]["bytes per image (database)"] = (
                sum(p.stat().st_size for p in Path(folder).glob("ris.db*")) / total
            )
            for name in at:
                at[name]["of which saved index, bytes per image"] = index_bytes / total
            at["SQLite"]["load s (rows only, this step)"] = load["SQLite load s"]
            at["PostgreSQL 15"]["load s (rows only, this step)"] = load["PostgreSQL COPY s"]
            context = multiprocessing.get_context("spawn")
            for name, location in (("SQLite", path), ("PostgreSQL 15", url)):
                out = context.Queue()
                process = context.Process(target=_scale_queries, args=(location, out))
                process.start()
                at[name].update(out.get(timeout=3600))
                process.join()
                print(time.strftime("%H:%M:%S"), name, count, {k: round(v, 1) for k, v in at[name].items()}, flush=True)
            for name, figures in at.items():
                results[f"{name} {count:,}"] = figures
            print(f"\n{time.strftime('%H:%M:%S')} at {count:,} distractors, load average {os.getloadavg()}:")
            _print_table({f"{name} {count:,}": figures for name, figures in at.items()})
            print(flush=True)
        del loader  # its index: the processes below load their own
        if duplicates:
            context = multiprocessing.get_context("spawn")
            out = context.Queue()
            process = context.Process(target=_scale_duplicates, args=(url, out))
            process.start()
            found = out.get(timeout=7200)
            process.join()
            results[f"PostgreSQL 15 {counts[-1]:,}, find_duplicates"] = found
            print(time.strftime("%H:%M:%S"), "find_duplicates on PostgreSQL:", found, flush=True)
    return results


if __name__ == "__main__":
    main()
