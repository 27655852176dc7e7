"""Peak memory of indexing hostile files: ``python -m benchmarks.hostile [--out DIR]``.

Builds a corpus of files that are small on disk and large when decoded (16-bit grey,
transparent, palette, thin strips, a JPEG at the pixel limit, a WebP at the decode limit), then adds each one to an
in-memory context in a fresh subprocess and reads that process's peak resident memory
(``VmHWM``, the high-water mark of its own address space: ``ru_maxrss`` would carry the
parent's over ``exec``), so one file's cost never hides another's. The baseline row is the
same process adding a 64x64 PNG: the interpreter, numpy, OpenCV and Pillow alone.
"""

from __future__ import annotations

import argparse
import io
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

#: Peak resident memory a worker may reach on any accepted file (issue 15).
TARGET_MB = 400

_CHILD = """
import sys, time
import ris_core
from ris_core.errors import RisError
with ris_core.open("local", database=":memory:") as system:
    context = system.create_context("hostile")
    started = time.perf_counter()
    try:
        context.add_image("file", sys.argv[1])
        outcome = "added"
    except RisError as exc:
        outcome = type(exc).__name__
    seconds = time.perf_counter() - started
with open("/proc/self/status") as status:
    peak = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(outcome, seconds, peak / 1024)
"""


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _gray16() -> bytes:
    # 9459 x 9459 = 89.5 MP, the pixel limit; sparse lines compress to ~170 KB.
    pixels = np.zeros((9459, 9459), np.uint16)
    pixels[::64] = 40000
    return _png(Image.fromarray(pixels))


def _transparent(size: tuple[int, int]) -> Callable[[], bytes]:
    def build() -> bytes:
        picture = Image.new("RGBA", size, (0, 0, 0, 0))
        picture.paste((200, 30, 30, 255), (size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2))
        return _png(picture)

    return build


def _palette() -> bytes:
    picture = Image.new("P", (9459, 9459), 0)
    picture.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    picture.paste(1, (2000, 2000, 4000, 4000))
    buffer = io.BytesIO()
    picture.save(buffer, "PNG", transparency=0)
    return buffer.getvalue()


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (9459, 9459), (90, 120, 150)).save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def _webp(size: tuple[int, int]) -> Callable[[], bytes]:
    def build() -> bytes:
        picture = Image.new("RGB", size, (90, 120, 150))
        picture.paste((200, 30, 30), (size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2))
        buffer = io.BytesIO()
        picture.save(buffer, "WEBP", quality=50, method=0)
        return buffer.getvalue()

    return build


def _strip() -> bytes:
    return _png(Image.new("L", (1000, 1), 128))


def _small() -> bytes:
    return _png(Image.new("RGB", (64, 64), (10, 20, 30)))


CORPUS: dict[str, Callable[[], bytes]] = {
    "baseline: 64x64 RGB PNG": _small,
    "16-bit grey PNG, 89.5 MP": _gray16,
    "transparent RGBA PNG, 8000x7000 (56 MP)": _transparent((8000, 7000)),
    "transparent RGBA PNG, 9459x9459 (89.5 MP)": _transparent((9459, 9459)),
    "palette PNG with transparency, 89.5 MP": _palette,
    "RGB JPEG, 89.5 MP": _jpeg,
    # A WebP decode holds 7 bytes a pixel (its decoder's canvas and the picture): the
    # first is just under max_decode_bytes, the second over it.
    "RGB WebP, 9000x4200 (37.8 MP)": _webp((9000, 4200)),
    "RGB WebP, 16000x4000 (64 MP)": _webp((16000, 4000)),
    "1000x1 grey strip PNG": _strip,
}


def measure(folder: Path) -> list[tuple[str, int, str, float, float]]:
    """(file, bytes on disk, outcome, seconds, peak MB) for every file of the corpus."""
    rows = []
    for number, (name, build) in enumerate(CORPUS.items()):
        path = folder / f"hostile{number}"
        path.write_bytes(build())
        done = subprocess.run([sys.executable, "-c", _CHILD, str(path)], capture_output=True, text=True, check=True)
        outcome, seconds, peak = done.stdout.split()
        rows.append((name, path.stat().st_size, outcome, float(seconds), float(peak)))
    return rows


def render(rows: list[tuple[str, int, str, float, float]]) -> str:
    """The rows as the Markdown table BENCHMARKS.md holds."""
    lines = ["| file | size on disk | outcome | seconds | peak RSS (MB) |", "|---|---:|---|---:|---:|"]
    for name, size, outcome, seconds, peak in rows:
        lines.append(f"| {name} | {size / 1024:,.0f} KB | {outcome} | {seconds:.1f} | {peak:.0f} |")
    return "\n".join(lines)


def main() -> int:
    """Build the corpus, measure it, print the table; exit 1 if an accepted file broke the target."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=None, help="Keep the corpus in this folder.")
    arguments = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        folder = arguments.out or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        rows = measure(folder)
    print(render(rows))
    print(f"\n{platform.machine()}, {platform.python_version()}, {time.perf_counter() - started:.0f} s in all")
    over = [row for row in rows if row[2] == "added" and row[4] > TARGET_MB]
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
