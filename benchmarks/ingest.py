"""Batch ingest throughput: ``python -m benchmarks.ingest`` (prints a Markdown table).

Writes crops of scikit-image's photographs as 1200x900 JPEGs, then indexes them with
``SearchContext.add_images`` into a fresh file database, once per worker count, and
reports images per second and the speed-up over one worker. Whole ingest is measured:
reading, header checks, decoding, both feature stages, and the SQLite commits.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before faiss is imported

import argparse
import tempfile
import time
from pathlib import Path

from PIL import Image

import ris_core
from ris_core.samples import PHOTOS, data_folder


def write_images(folder: Path, per_photo: int) -> int:
    """``per_photo`` different crops of each sample photograph; returns how many."""
    count = 0
    for name in PHOTOS:
        with Image.open(data_folder() / name) as original:
            photo = original.convert("RGB").resize((1400, 1050))
        for k in range(per_photo):
            box = (k * 13, k * 11, 1200 + k * 13, 900 + k * 11)
            photo.crop(box).save(folder / f"{count:05d}.jpg", quality=90)
            count += 1
    return count


def measure(folder: Path, workers: int, scratch: Path) -> float:
    """Seconds to ingest ``folder`` with ``workers`` threads into a new database."""
    database = scratch / f"ingest-{workers}.db"
    with ris_core.open("local", database=database) as system:
        context = system.create_context("bench")
        started = time.perf_counter()
        report = context.add_images(folder, workers=workers, progress=False)
        elapsed = time.perf_counter() - started
    assert not report.failed, report.failed
    return elapsed


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--per-photo", type=int, default=25, help="crops per sample photograph")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch) / "images"
        folder.mkdir()
        count = write_images(folder, args.per_photo)
        base = measure(folder, 1, Path(scratch))
        print(f"Ingest of {count} JPEGs (1200x900), local backend, whole add_images:\n")
        print("| workers | seconds | images / s | speed-up |\n|---|---|---|---|")
        print(f"| 1 | {base:.2f} | {count / base:.0f} | 1.00x |")
        if cores > 1:
            parallel = measure(folder, cores, Path(scratch))
            print(f"| {cores} | {parallel:.2f} | {count / parallel:.0f} | {base / parallel:.2f}x |")


if __name__ == "__main__":
    main()
