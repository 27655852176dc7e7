"""Run the benchmark: ``python -m benchmarks run --quick``, ``--medium`` or ``--full``.

Each size builds one dataset per half of the split (:mod:`benchmarks.split`), runs the
anchors and ris's engines side by side on both, and prints the held-out report
(:mod:`benchmarks.halves`). ``--quick`` is a sanity run (a few minutes), ``--medium``
the size of the issue-13 run in BENCHMARKS.md, ``--full`` the whole dataset per half,
followed by the speed report (extraction, the indexes at 1M and 10M images) on the
held-out half. ``--split tuning`` (or ``held-out``) builds and measures one half only:
tuning work uses ``--split tuning`` and nothing else.
"""

from __future__ import annotations

import os

# Before anything imports faiss: idle OpenMP threads must sleep, not spin.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.accuracy import ROBUST_FAMILIES, MethodResult, evaluate
from benchmarks.dataset import Dataset, Sizes, build_dataset
from benchmarks.halves import render_halves
from benchmarks.methods import METHODS, extract_all
from benchmarks.report import render
from benchmarks.scale import ExtractionTimes, IndexTimes, extraction_times, hash_index_times, robust_index_times
from benchmarks.sources import available_sources, missing_sources
from benchmarks.split import SPLITS, Split

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
#: Per half of the split: the size of the issue-13 run in BENCHMARKS.md (about half an
#: hour on a shared 2-core machine for both halves).
MEDIUM = Sizes(
    targets=250,
    index=900,
    negatives=300,
    queries_per_transform=80,
    duplicate_groups=150,
    graphics=150,
    graphic_negatives=150,
    graphic_queries=70,
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


def run(size: str, split: Split | None, out: Path | None) -> None:
    """Build the dataset of each half, run every method, write the report."""
    missing = missing_sources()
    if size != "quick" and missing:
        listing = "; ".join(f"{name}: {hint}" for name, hint in missing.items())
        sys.exit(f"--{size} needs every source photograph. Missing sources and how to install them: {listing}")
    sizes = {"quick": QUICK, "medium": MEDIUM, "full": FULL}[size]
    sources = tuple(available_sources())
    runs: dict[Split, tuple[Dataset, list[MethodResult]]] = {}
    command = f"python -m benchmarks run --{size}" + (f" --split {split}" if split else "")
    # The held-out half first, and each half's own report as soon as it is done: on a
    # shared machine a run of both halves can outlast the time there is to read it.
    for half in tuple(reversed(SPLITS)) if split is None else (split,):
        _log(f"building the {half} dataset from {', '.join(sources)}")
        data = build_dataset(sources, sizes, split=half)
        runs[half] = (data, [evaluate(name, data, log=_log) for name in METHODS])
        if split is None and out is not None:
            partial = out.with_name(f"{out.stem}.{half}{out.suffix}")
            partial.write_text(render(f"{command} ({half} half only)", data, sizes, runs[half][1], [], [], []))
            _log(f"wrote {partial}")
    if split is not None:
        data, results = runs[split]
        text = render(command, data, sizes, results, [], [], [])
    else:
        text = render_halves(command, _commit(), f"--{size} ({_size_label(sizes)} per half)", runs, sizes)
        if size == "full":
            data, results = runs["held-out"]
            text += "\n" + render(command, data, sizes, results, *_speed(data, sources, full=True))
    if out is not None:
        out.write_text(text)
        _log(f"wrote {out}")
    else:
        print(text)


def _size_label(sizes: Sizes) -> str:
    return (
        f"{sizes.targets} targets, {sizes.index} indexed crops, {sizes.negatives} negatives, "
        f"{sizes.queries_per_transform} queries per transform"
    )


def _commit() -> str:
    try:
        found = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return found.stdout.strip()


def _speed(
    data: Dataset, sources: tuple[str, ...], full: bool
) -> tuple[list[ExtractionTimes], list[IndexTimes], list[IndexTimes]]:
    """Extraction times and the indexes at scale (the speed half of the report)."""
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
    return extraction, hash_times, robust_times


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
    mode.add_argument("--quick", action="store_true", help="small sanity run")
    mode.add_argument("--medium", action="store_true", help="the size of the issue-13 run in BENCHMARKS.md")
    mode.add_argument("--full", action="store_true", help="the whole benchmark on each half, then the speed report")
    runner.add_argument("--split", choices=SPLITS, help="build and measure one half only (tuning work: --split tuning)")
    runner.add_argument("--out", type=Path, help="where to write the report (default: print it)")
    args = parser.parse_args()
    size = "quick" if args.quick else "medium" if args.medium else "full"
    run(size, args.split, args.out)


if __name__ == "__main__":
    main()
