"""Hash-stage candidates from SQL or from memory, at 1M codes: ``python -m benchmarks.sql_hamming``.

The question it answers: should a search process on PostgreSQL ask the database for
its hash-stage candidates instead of holding the multi-index in memory? Both answer the
same exact radius query over the same synthetic codes (:mod:`benchmarks.scale`'s, 1%
planted near-copies):

- **SQL**: each 64-bit code as a ``bigint`` plus four 16-bit chunk columns, each with a
  B-tree index. A code within radius ``r`` of the query shares, by the pigeonhole
  principle, at least one chunk within ``r // 4`` bits, so the query looks up every chunk
  value that close (137 per chunk at radius 8) and rechecks the full distance with
  ``bit_count(int8send(a # b))`` (PostgreSQL 15 has ``bit_count`` on ``bytea``, not on
  ``bigint``).
- **memory**: the engine's own multi-index (:class:`ris_local.index.scored.RobustIndex`) over
  the same codes, as a search process holds it after loading from the database.

Both must return the same keys; the script checks that before it reports a time.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import itertools
import platform
import statistics
import time

import numpy as np

from benchmarks.scale import _load_codes, _synthetic_codes
from ris_core.testing.postgres import TemporaryPostgres
from ris_local.robust import RobustIndex

RADIUS = 8


def _near(chunk: int, bits: int) -> list[int]:
    """Every 16-bit value within ``bits`` bits of ``chunk``."""
    values = [chunk]
    for flips in range(1, bits + 1):
        for positions in itertools.combinations(range(16), flips):
            values.append(chunk ^ sum(1 << p for p in positions))
    return values


def _signed(code: int) -> int:
    return code - (1 << 64) if code >= 1 << 63 else code


def _chunks(code: int) -> list[int]:
    return [(code >> (16 * i)) & 0xFFFF for i in range(4)]


def main(argv: list[str] | None = None) -> None:
    """Load the codes into both, run the same queries, print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(5)
    codes = _synthetic_codes(args.size, rng)[:, 0]
    picks = rng.choice(args.size, args.queries, replace=False)
    queries = []
    for row in picks:  # a stored code with up to RADIUS // 2 bits flipped
        flipped = int(codes[row])
        for bit in rng.choice(64, int(rng.integers(0, RADIUS // 2 + 1)), replace=False):
            flipped ^= 1 << int(bit)
        queries.append(flipped)

    index = RobustIndex(keypoint_duplicates=False)
    _load_codes(index, np.stack([codes, codes, codes, codes], axis=1))
    mih = index.core.mih
    memory_times, memory_found = [], []
    for query in queries:
        began = time.perf_counter()
        rows = mih.within(query, RADIUS)
        memory_times.append(time.perf_counter() - began)
        memory_found.append(sorted(int(k) for k in np.asarray(rows)))

    sql_times, sql_found = [], []
    with TemporaryPostgres(settings={"fsync": "on"}) as server:
        import psycopg

        with psycopg.connect(server.new_database(), autocommit=True) as connection:
            connection.execute(
                "CREATE TABLE codes (key BIGINT PRIMARY KEY, code BIGINT NOT NULL, "
                "c0 INTEGER NOT NULL, c1 INTEGER NOT NULL, c2 INTEGER NOT NULL, c3 INTEGER NOT NULL)"
            )
            began = time.perf_counter()
            with connection.cursor().copy("COPY codes (key, code, c0, c1, c2, c3) FROM STDIN") as copy:
                for key, code in enumerate(int(c) for c in codes):
                    copy.write_row((key, _signed(code), *_chunks(code)))
            for column in ("c0", "c1", "c2", "c3"):
                connection.execute(f"CREATE INDEX codes_{column} ON codes ({column})")
            connection.execute("ANALYZE codes")
            load_seconds = time.perf_counter() - began
            size = connection.execute("SELECT pg_total_relation_size('codes')").fetchone()
            sql = (
                "SELECT key FROM codes WHERE (c0 = ANY(%s) OR c1 = ANY(%s) OR c2 = ANY(%s) OR c3 = ANY(%s)) "
                "AND bit_count(int8send(code # %s)) <= %s"
            )
            for query in queries:
                near = [_near(chunk, RADIUS // 4) for chunk in _chunks(query)]
                began = time.perf_counter()
                rows = connection.execute(sql, (*near, _signed(query), RADIUS)).fetchall()
                sql_times.append(time.perf_counter() - began)
                sql_found.append(sorted(int(row[0]) for row in rows))
            plan = connection.execute("EXPLAIN " + sql, (*near, _signed(query), RADIUS)).fetchall()
    if sql_found != memory_found:
        raise RuntimeError("SQL and the in-memory index disagree on the candidates")
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores; {args.size:,} codes, radius {RADIUS}")
    print(f"{args.queries} queries (stored codes with 0 to {RADIUS // 2} bits flipped); same candidates from both\n")
    print("| | median ms | p95 ms |")
    print("|---|---:|---:|")
    for name, times in (("SQL (chunk B-trees + bit_count)", sql_times), ("in-memory multi-index", memory_times)):
        ordered = sorted(times)
        print(f"| {name} | {1000 * statistics.median(times):.2f} | {1000 * ordered[int(0.95 * len(ordered))]:.2f} |")
    per_code = size[0] / args.size if size else 0
    print(f"\nSQL table + indexes: {per_code:.0f} bytes per code; load + index {load_seconds:.1f} s")
    print("plan: " + " / ".join(str(row[0]).strip()[:70] for row in plan[:6]))


if __name__ == "__main__":
    main()
