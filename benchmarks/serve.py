"""HTTP throughput and overhead of ``ris serve``: ``python -m benchmarks.serve``
(prints a Markdown table for BENCHMARKS.md).

Indexes ``--images`` test photos into a fresh database, then starts the server in its
own process on a loopback port (one uvicorn worker, as ``ris serve`` runs it) and
measures, against the same database:

- the latency of a hash-settled search (the query is the exact bytes of a stored image,
  so the hash stage answers) through the library and through ``POST /search``, and
  their ratio at p50 and p90: the HTTP overhead, multipart upload included;
- requests per second of that search with 1 and with ``--clients`` concurrent clients,
  and of ``GET /thumbnails`` (cached) for the cheap end.

The search cache is off in both processes, so every request really searches.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before faiss is imported

import argparse
import platform
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

import ris_core
from ris_core.testing.images import encode, photo
from ris_core.testing.serve import served


def _server(database: str, port: int) -> None:
    """The server process: the app over a system with the search cache off."""
    import uvicorn

    from ris_core.server import ServerSettings, create_app

    system = ris_core.open("local", database=database, cache_size=0)
    settings = ServerSettings(options={"database": database}, port=port, thumbnails=database + ".thumbs")
    uvicorn.run(create_app(settings, system), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _client(url: str) -> httpx.Client:
    # TCP_NODELAY: httpx writes a request's head and body separately, and Nagle's
    # algorithm would hold the body until the server's delayed ACK (~40 ms on Linux).
    transport = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    return httpx.Client(base_url=url, timeout=60, transport=transport)


def _percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _timed(call: Callable[[int], object], count: int) -> list[float]:
    times = []
    for number in range(count):
        started = time.perf_counter()
        call(number)
        times.append(time.perf_counter() - started)
    return times


def _throughput(
    call: Callable[[httpx.Client, int], object], url: str, clients: int, seconds: float, spread: int = 1000
) -> float:
    done = [0] * clients
    stop = time.monotonic() + seconds

    def run(slot: int) -> None:
        # Each client starts at its own place in the query pool, so no two clients
        # send the same query near the same time (the engine would remember it).
        start = slot * spread // clients
        with _client(url) as http:
            while time.monotonic() < stop:
                call(http, start + done[slot])
                done[slot] += 1

    threads = [threading.Thread(target=run, args=(slot,)) for slot in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.monotonic() - started)


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--serve", metavar="DATABASE:PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        database, port = args.serve.rsplit(":", 1)
        _server(database, int(port))
        return

    folder = Path(tempfile.mkdtemp(prefix="ris-bench-serve-"))
    database = str(folder / "ris.db")
    images = [encode(photo(seed), "JPEG", quality=85) for seed in range(args.images)]

    def queries(quality: int) -> list[bytes]:
        # Re-encoded copies: new bytes, so the engine's content-hash cache of recent
        # features never answers, and every query is decoded and hashed; near-identical,
        # so the hash stage settles it.
        return [encode(photo(n % args.images), "JPEG", quality=quality) for n in range(args.queries)]

    library_queries, http_queries = queries(80), queries(81)
    # Throughput cycles through more distinct queries than that cache holds (512).
    load_queries = [q for quality in (70, 72, 74, 76, 78) for q in queries(quality)]
    system = ris_core.open("local", database=database, cache_size=0)
    context = system.create_context("bench")
    context.add_images([(f"p{n}.jpg", data) for n, data in enumerate(images)], progress=False)
    missed = sum(not context.find_similar_images(image=q, max_count=1) for q in queries(90)[:20])
    assert missed == 0, "a re-encoded copy was not found"

    def serve(port: int) -> list[str]:
        return [sys.executable, "-m", "benchmarks.serve", "--serve", f"{database}:{port}"]

    # The server stops first, then the library's system closes.
    with system, served(serve, capture=False) as server:
        url = server.url
        search_path = "/api/contexts/bench/search"

        def search(http: httpx.Client, number: int, pool: list[bytes] = load_queries) -> None:
            response = http.post(search_path, files={"file": ("q.jpg", pool[number % len(pool)])},
                                 data={"max_count": "5"})  # fmt: skip
            assert response.status_code == 200 and response.json()["results"], response.text

        def thumbnail(http: httpx.Client, number: int) -> None:
            assert http.get(f"/api/contexts/bench/thumbnails/p{number % min(50, args.images)}.jpg").status_code == 200

        library: list[float] = []
        over_http: list[float] = []
        with _client(url) as http:
            for number in range(20):
                search(http, number, queries(91))
            # Interleaved, so a busy moment on a shared machine falls on both alike.
            for number in range(args.queries):
                query = library_queries[number]
                library += _timed(lambda n, query=query: context.find_similar_images(image=query, max_count=5), 1)
                over_http += _timed(lambda n, number=number: search(http, number, http_queries), 1)
        rps_one = _throughput(search, url, 1, args.seconds, len(load_queries))
        rps_many = _throughput(search, url, args.clients, args.seconds, len(load_queries))
        rps_thumbs = _throughput(thumbnail, url, args.clients, args.seconds)

    lib50, lib90 = _percentile(library, 0.5), _percentile(library, 0.9)
    http50, http90 = _percentile(over_http, 0.5), _percentile(over_http, 0.9)
    cpu = "unknown"
    if Path("/proc/cpuinfo").exists():
        names = [line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                 if line.startswith("model name")]  # fmt: skip
        cpu = names[0] if names else cpu
    print(f"- Machine: {cpu}, {os.cpu_count()} cores; {platform.platform()}; Python {platform.python_version()}")
    print(f"- {args.images} images (320x240 JPEG) in one context; {args.queries} hash-settled queries; "
          f"search cache off; one uvicorn worker; client and server on the same machine")  # fmt: skip
    print()
    print("| measure | library | HTTP | ratio |")
    print("|---|---|---|---|")
    print(f"| hash-settled search p50 | {lib50 * 1000:.2f} ms | {http50 * 1000:.2f} ms | {http50 / lib50:.2f}x |")
    print(f"| hash-settled search p90 | {lib90 * 1000:.2f} ms | {http90 * 1000:.2f} ms | {http90 / lib90:.2f}x |")
    print(f"| mean | {statistics.mean(library) * 1000:.2f} ms | {statistics.mean(over_http) * 1000:.2f} ms | |")
    print()
    print("| requests per second | value |")
    print("|---|---|")
    print(f"| search, 1 client | {rps_one:.0f} |")
    print(f"| search, {args.clients} clients | {rps_many:.0f} |")
    print(f"| cached thumbnail, {args.clients} clients | {rps_thumbs:.0f} |")


if __name__ == "__main__":
    main()
