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
import io
import multiprocessing
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

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


def _ingest_worker(database: str, first: int, count: int) -> None:
    with ris_core.open("local", database=database) as system:
        context = system.context(CONTEXT)
        context.add_images((f"p{seed}", _photo(seed)) for seed in range(first, first + count))


def ingest_rate(database: str, workers: int, per_worker: int, start: int) -> float:
    """Images per second with ``workers`` processes adding ``per_worker`` photos each."""
    processes = [
        multiprocessing.Process(target=_ingest_worker, args=(database, start + w * per_worker, per_worker))
        for w in range(workers)
    ]
    began = time.perf_counter()
    for process in processes:
        process.start()
    for process in processes:
        process.join()
        if process.exitcode != 0:
            raise RuntimeError(f"an ingest worker failed ({process.exitcode})")
    return workers * per_worker / (time.perf_counter() - began)


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


def main(argv: list[str] | None = None) -> None:
    """Run both stores and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-worker", type=int, default=40, help="photos each ingest worker adds")
    parser.add_argument("--distractors", type=int, default=20_000, help="synthetic stored rows added after ingest")
    args = parser.parse_args(argv)
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
    names = list(results)
    print("| figure | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for figure in results[names[0]]:
        print(f"| {figure} | " + " | ".join(f"{results[n][figure]:,.1f}" for n in names) + " |")


if __name__ == "__main__":
    main()
