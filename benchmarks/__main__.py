"""Run the benchmark: ``python -m benchmarks run --quick`` or ``--full`` (writes BENCHMARKS.md).

``--quick`` is a sanity run on a small dataset (a few minutes). ``--full`` builds the
whole dataset (2,000 indexed crops, every transform), runs the anchors and ris's
engines side by side, times extraction and the indexes at 1M and 10M images, and
writes the report (about an hour on a 2-core machine).
"""

from __future__ import annotations

import os

# Before anything imports faiss: idle OpenMP threads must sleep, not spin.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import sys
import time
from pathlib import Path

from benchmarks.accuracy import ROBUST_FAMILIES, evaluate
from benchmarks.dataset import Sizes, build_dataset
from benchmarks.methods import METHODS, extract_all
from benchmarks.report import render
from benchmarks.scale import extraction_times, hash_index_times, robust_index_times
from benchmarks.sources import available_sources, missing_sources

QUICK = Sizes(
    targets=100,
    index=400,
    negatives=150,
    queries_per_transform=40,
    duplicate_groups=40,
    graphics=70,
    graphic_negatives=70,
    graphic_queries=35,
)
FULL = Sizes(
    targets=600,
    index=2000,
    negatives=600,
    queries_per_transform=300,
    duplicate_groups=300,
    graphics=350,
    graphic_negatives=350,
    graphic_queries=175,
)


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(full: bool, out: Path | None) -> None:
    """Build the dataset, run every method, time everything, write the report."""
    missing = missing_sources()
    if full and missing:
        sys.exit("--full needs every source photograph; install: " + "; ".join(missing.values()))
    sizes = FULL if full else QUICK
    sources = tuple(available_sources())
    _log(f"building the dataset from {', '.join(sources)}")
    data = build_dataset(sources, sizes)
    results = [evaluate(name, data, log=_log) for name in METHODS]
    _log("timing extraction")
    index_images = list(data.index.values())
    extraction = [extraction_times("benchmark crops (web-sized JPEG)", index_images[: 400 if full else 100])]
    extraction.append(extraction_times("large photos (1600 px JPEG)", _large_photos(sources, 40 if full else 10)))
    _log("timing the hash stage at scale")
    hash_sizes = (1_000_000, 10_000_000) if full else (100_000,)
    hash_times = [hash_index_times(n) for n in hash_sizes]
    _log("timing the robust stage at scale")
    engine_name = "ris (RobustEngine)"
    robust_queries = [q for q in data.positives if q.family in ROBUST_FAMILIES][: 300 if full else 60]
    blobs, _ = extract_all(engine_name, [data.index[k] for k in data.index] + [q.data for q in robust_queries])
    keys = list(data.index)
    robust_times = [
        robust_index_times(
            1_000_000 if full else 100_000,
            keys,
            blobs[: len(keys)],
            [(b, q.expected) for b, q in zip(blobs[len(keys) :], robust_queries, strict=True)],
        )
    ]
    command = "python -m benchmarks run " + ("--full" if full else "--quick")
    text = render(command, data, sizes, results, extraction, hash_times, robust_times)
    if out is not None:
        out.write_text(text)
        _log(f"wrote {out}")
    else:
        print(text)


def _large_photos(sources: tuple[str, ...], count: int) -> list[bytes]:
    """Whole source photographs shrunk to 1600 px, as JPEG quality 90."""
    import io

    from PIL import Image

    from benchmarks.sources import load_photos

    photos = [p for p in load_photos(sources) if max(p.pixels.shape[:2]) >= 1000][:count]
    out = []
    for photo in photos:
        image = Image.fromarray(photo.pixels)
        image.thumbnail((1600, 1600), Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=90)
        out.append(buffer.getvalue())
    return out


def main() -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    runner = sub.add_parser("run", help="run the benchmark")
    mode = runner.add_mutually_exclusive_group(required=True)
    mode.add_argument("--quick", action="store_true", help="small sanity run, prints the report")
    mode.add_argument("--full", action="store_true", help="the whole benchmark, writes BENCHMARKS.md")
    runner.add_argument("--out", type=Path, help="where to write the report (default: BENCHMARKS.md with --full)")
    args = parser.parse_args()
    out = args.out if args.out else (Path(__file__).resolve().parent.parent / "BENCHMARKS.md" if args.full else None)
    run(args.full, out)


if __name__ == "__main__":
    main()
