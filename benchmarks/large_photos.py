"""Large photographs at the speed of one decode: ``python -m benchmarks.large_photos``.

Fetches the large photographs of three Debian packages itself (``apt-get download`` and
``dpkg -x`` into a cache folder; the Lomiri wallpapers' photographs and MATE's nature
backgrounds, every one of at least 4 MP), writes PNG and WebP copies of them, then
measures, in one run:

* **Extraction against one decode**, per format: for each photo, in the same process and
  interleaved, one decode at the size the engine needs (Pillow's draft for JPEG at the
  keypoint stage's size; a full decode for PNG and WebP, which have no reduced decode)
  and the local engine's whole extraction (``RobustEngine.extract``: the decode, both
  stages' features, the thumbnail and the chroma map), best of ``--repeat`` each, with
  OpenCV on one thread. The target is judged on wall time; the ratio of CPU times (this
  process's, best of each kept apart) is printed beside it, because on a shared machine
  a call can wait for a core. ``--per-photo`` also prints each photo's times and how
  many milliseconds its extraction is over 1.5x its decode.
* **Batch ingest against imagehash**, per format folder: ``ris index FOLDER --workers 2``
  into a new database, against imagehash's pHash + dHash of every file in two processes
  (``multiprocessing.Pool(2)``, each file opened once), both as fresh commands, wall time
  from start to exit (the best of ``--rounds``, the two commands taking turns), and the
  peak resident memory (``VmHWM``) of every process each command starts, read from
  ``/proc`` while it runs, with the CPU time of all those processes (the least of the
  rounds; on a shared machine wall time also counts waiting for a core).

Pictures from endless-sky-high-dpi, plasma-workspace-wallpapers, ukui-wallpapers,
gnome-backgrounds, stellarium-data, palapeli-data and sddm-theme-maldives are kept for
an independent evaluation and are never used here.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before faiss is imported

import argparse
import io
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
from PIL import Image

from ris_core.images import ImageData, load_image
from ris_local.features import keypoints
from ris_local.features.decoding import draft_size
from ris_local.robust import RobustEngine

#: The Debian packages the photographs come from.
PACKAGES = ("lomiri-wallpapers-20.04", "lomiri-wallpapers-16.04", "mate-backgrounds")
#: The photographs among the Lomiri wallpapers (the others are renders), as in
#: :mod:`benchmarks.sources`, and MATE's nature folder; those under 4 MP are left out.
PHOTOS = (
    *(
        f"usr/share/backgrounds/{name}.jpg"
        for name in (
            "Bridge_by_Sander_Klootwijk",
            "Dragonfly_by_Bolly",
            "Kleiber_by_Lukas_Baubkus",
            "Picture_0B_by_freespace",
            "Picture_1A_by_freespace",
            "Wine_by_Jakkub_Mede",
            "aitzgorri_by_Aitzol_Berasategi",
            "analogpattern_by_Peter_Nerlich",
            "free_by_Peter_Nerlich",
            "friends_by_Aitzol_Berasategi",
            "greentock_by_Peter_Nerlich",
            "life_by_Aitzol_Berasategi",
            "picosdeeuropa_by_Aitzol_Berasategi",
            "seeding_by_Clements_Engelhardt",
            "sunset_by_Aitzol_Berasategi",
        )
    ),
    "usr/share/backgrounds/mate/nature/*.jpg",
)
MIN_PIXELS = 4_000_000
FORMATS = ("JPEG", "PNG", "WEBP")
_SUFFIX = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp"}
#: Peak resident memory a worker may reach (issue 14).
WORKER_TARGET_MB = 400
#: /proc's CPU times are in clock ticks.
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

_IMAGEHASH = """
import sys
from multiprocessing import Pool
from pathlib import Path

import imagehash
from PIL import Image

def hashes(path):
    with Image.open(path) as image:
        return str(imagehash.phash(image)), str(imagehash.dhash(image))

if __name__ == "__main__":
    files = sorted(Path(sys.argv[1]).iterdir())
    with Pool(2) as pool:
        print(len(pool.map(hashes, files, chunksize=1)))
"""


def default_cache() -> Path:
    """Where the packages and the photo copies are kept between runs."""
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ris-benchmarks" / "large-photos"


def fetch(cache: Path) -> Path:
    """Download and unpack :data:`PACKAGES` into ``cache`` (once); the unpacked root."""
    root, debs = cache / "root", cache / "debs"
    if (cache / "unpacked").exists():
        return root
    debs.mkdir(parents=True, exist_ok=True)
    missing = [name for name in PACKAGES if not list(debs.glob(f"{name}_*.deb"))]
    if missing:
        print(f"fetching {' '.join(missing)} with apt-get download", file=sys.stderr)
        result = subprocess.run(["apt-get", "download", *missing], cwd=debs, capture_output=True, text=True)
        if result.returncode:
            sys.exit(f"apt-get download failed (run 'apt-get update' first?):\n{result.stderr}")
    for deb in sorted(debs.glob("*.deb")):
        subprocess.run(["dpkg", "-x", str(deb), str(root)], check=True)
    (cache / "unpacked").touch()
    return root


def photo_folders(cache: Path) -> dict[str, Path]:
    """One folder per format holding every large photograph (the copies made once)."""
    root = fetch(cache)
    sources = sorted({path for pattern in PHOTOS for path in root.glob(pattern)})
    large = []
    for path in sources:
        with Image.open(path) as image:
            if image.width * image.height >= MIN_PIXELS:
                large.append(path)
    folders = {fmt: cache / fmt.lower() for fmt in FORMATS}
    for fmt, folder in folders.items():
        folder.mkdir(exist_ok=True)
        for path in large:
            target = folder / (path.stem + _SUFFIX[fmt])
            if target.exists():
                continue
            if fmt == "JPEG":
                shutil.copyfile(path, target)
                continue
            with Image.open(path) as image:
                # The WebP encoder refuses a side over 16383 pixels; none of these has one.
                image.convert("RGB").save(target, fmt, **({"quality": 90} if fmt == "WEBP" else {}))
    return folders


def _one_decode(image: ImageData) -> None:
    """One decode at the size the engine needs: the draft of the keypoint stage's size
    for JPEG, everything for formats without a reduced decode."""
    pixels = Image.open(io.BytesIO(image.data))
    if image.format == "JPEG":
        pixels.draft("RGB", draft_size(image, keypoints.WORK_SIDE))
    pixels.load()


def _timed(function: Callable[[ImageData], object], image: ImageData) -> tuple[float, float]:
    """One call's wall time and this process's CPU time over it (seconds). On a shared
    machine a call can wait for a core; the CPU time leaves that wait out."""
    wall, cpu = time.perf_counter(), time.process_time()
    function(image)
    return time.perf_counter() - wall, time.process_time() - cpu


@dataclass
class FormatTimes:
    """Extraction against one decode over one format's photos (seconds per photo, the
    best of each clock kept separately)."""

    fmt: str
    names: list[str]
    megapixels: list[float]
    decode: list[float]
    extract: list[float]
    decode_cpu: list[float]
    extract_cpu: list[float]

    def ratios(self, cpu: bool = False) -> list[float]:
        extract, decode = (self.extract_cpu, self.decode_cpu) if cpu else (self.extract, self.decode)
        return [e / d for e, d in zip(extract, decode, strict=True)]


def time_extraction(folder: Path, fmt: str, repeat: int) -> FormatTimes:
    """Best-of-``repeat`` decode and extraction of every photo in ``folder``."""
    engine = RobustEngine()
    engine.extract(load_image(next(iter(sorted(folder.iterdir())))))  # the vocabulary, loaded once
    times = FormatTimes(fmt, [], [], [], [], [], [])
    for path in sorted(folder.iterdir()):
        image = load_image(path)
        decode = extract = decode_cpu = extract_cpu = float("inf")
        for _ in range(repeat):  # interleaved, so a busy moment of the machine hits both
            wall, cpu = _timed(_one_decode, image)
            decode, decode_cpu = min(decode, wall), min(decode_cpu, cpu)
            wall, cpu = _timed(engine.extract, image)
            extract, extract_cpu = min(extract, wall), min(extract_cpu, cpu)
        times.names.append(path.name)
        times.megapixels.append(image.width * image.height / 1e6)
        times.decode.append(decode)
        times.extract.append(extract)
        times.decode_cpu.append(decode_cpu)
        times.extract_cpu.append(extract_cpu)
    return times


def per_photo(times: FormatTimes) -> None:
    """Each photo's decode and extraction, and how much extraction must lose to reach 1.5x."""
    print(f"\n{times.fmt}, per photo (best of each clock):\n")
    print("| photo | MP | one decode ms | extraction ms | ratio | ratio by CPU time | ms over 1.5x |")
    print("|---|---|---|---|---|---|---|")
    columns = (times.names, times.megapixels, times.decode, times.extract, times.ratios(), times.ratios(cpu=True))
    rows = zip(*columns, strict=True)
    for name, mp, decode, extract, ratio, cpu_ratio in sorted(rows, key=lambda row: row[4]):
        over = 1000 * (extract - 1.5 * decode)
        print(
            f"| {name} | {mp:.1f} | {1000 * decode:.1f} | {1000 * extract:.1f} | {ratio:.2f}x | {cpu_ratio:.2f}x | "
            f"{over:+.1f} |"
        )


class PeakWatcher:
    """Reads the peak resident memory of a process and all its descendants from /proc
    while they run (each process's ``VmHWM``, its own high-water mark), and the CPU time
    each has used (user + system, the last value read before it ended: at most one poll,
    20 ms, short per process)."""

    def __init__(self, pid: int) -> None:
        self.root = pid
        self.peaks: dict[int, int] = {}
        self.cpu: dict[int, float] = {}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                children.setdefault(int(fields[1]), []).append(int(entry.name))
        tree, todo = [], [self.root]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo.extend(children.get(pid, []))
        return tree

    def _watch(self) -> None:
        while not self._done.is_set():
            for pid in self._tree():
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                self.cpu[pid] = (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS  # utime + stime
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        self.peaks[pid] = max(self.peaks.get(pid, 0), int(line.split()[1]) // 1024)
            time.sleep(0.02)

    def stop(self) -> dict[int, int]:
        """The peaks in MB, by pid (the command's own process first)."""
        self._done.set()
        self._thread.join()
        return {pid: self.peaks[pid] for pid in sorted(self.peaks, key=lambda pid: pid != self.root)}


@dataclass
class Run:
    """One command's wall time and the peak memory of each of its processes."""

    seconds: float
    peaks_mb: dict[int, int]
    #: CPU seconds of all its processes (user + system).
    cpu_seconds: float = 0.0
    #: The highest worker peak over several runs of the command, when known.
    highest_worker_peak: int | None = None

    def worker_peak(self) -> int:
        """The largest peak of any process but the command's own (its workers)."""
        if self.highest_worker_peak is not None:
            return self.highest_worker_peak
        workers = list(self.peaks_mb.values())[1:]
        return max(workers) if workers else self.main_peak()

    def main_peak(self) -> int:
        return next(iter(self.peaks_mb.values()))


def run_command(command: list[str]) -> Run:
    """Run ``command`` to its end, timing it and watching its processes' memory."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    watcher = PeakWatcher(process.pid)
    _, errors = process.communicate()
    seconds = time.perf_counter() - started
    peaks = watcher.stop()
    if process.returncode:
        sys.exit(f"{' '.join(command)} failed ({process.returncode}):\n{errors}")
    return Run(seconds, peaks, sum(watcher.cpu.values()))


def time_ingest(folder: Path, scratch: Path, rounds: int) -> tuple[Run, Run]:
    """``ris index`` with two workers, and imagehash in two processes, over ``folder``:
    ``rounds`` of each, taking turns, so a busy spell of a shared machine falls on both;
    the fastest round of each, and the highest peak of any."""
    ris = shutil.which("ris") or sys.exit("the ris command is not installed (pip install -e .)")
    script = scratch / "imagehash_two_processes.py"
    script.write_text(_IMAGEHASH)
    index_runs, anchor_runs = [], []
    for _ in range(rounds):
        database = scratch / f"{folder.name}.db"
        database.unlink(missing_ok=True)
        command = [ris, "--database", str(database), "index", str(folder), "--workers", "2", "--no-progress"]
        index_runs.append(run_command(command))
        anchor_runs.append(run_command([sys.executable, str(script), str(folder)]))
    return _fastest(index_runs), _fastest(anchor_runs)


def _fastest(runs: list[Run]) -> Run:
    """The fastest run by wall time, with the least CPU time of any run (kept apart, as
    a busy spell inflates both) and the highest worker peak of any."""
    best = min(runs, key=lambda run: run.seconds)
    cpu = min(run.cpu_seconds for run in runs)
    return Run(best.seconds, best.peaks_mb, cpu, max(run.worker_peak() for run in runs))


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "unknown"


def _machine() -> str:
    cpu = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = next((line.split(":", 1)[1].strip() for line in cpu.splitlines() if "model name" in line), "unknown CPU")
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    system = f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    return f"{os.cpu_count()} cores ({model}), {system}; load average at the end {load}"


def main() -> None:
    """Fetch, convert, measure and print the Markdown report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=default_cache(), help="where packages and copies are kept")
    parser.add_argument("--repeat", type=int, default=3, help="timings per photo and step (the best is kept)")
    parser.add_argument("--formats", nargs="+", default=list(FORMATS), choices=FORMATS)
    parser.add_argument("--rounds", type=int, default=3, help="ingest runs of each command, taking turns")
    parser.add_argument("--no-ingest", action="store_true", help="only time extraction against one decode")
    parser.add_argument("--per-photo", action="store_true", help="also print each photo's times")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    started, load_at_start = time.strftime("%H:%M UTC", time.gmtime()), os.getloadavg()
    folders = photo_folders(args.cache)
    extraction = [time_extraction(folders[fmt], fmt, args.repeat) for fmt in args.formats]
    ingest = {}
    if not args.no_ingest:
        with tempfile.TemporaryDirectory() as scratch:
            ingest = {fmt: time_ingest(folders[fmt], Path(scratch), args.rounds) for fmt in args.formats}
    first = extraction[0]
    print(f"{len(first.megapixels)} photographs from {', '.join(PACKAGES)} (Debian), ")
    print(
        f"median {statistics.median(first.megapixels):.1f} MP, {min(first.megapixels):.1f} to "
        f"{max(first.megapixels):.1f} MP; commit {_commit()}; {_machine()}; "
        f"started {started} (load average {load_at_start[0]:.1f}), ended {time.strftime('%H:%M UTC', time.gmtime())}.\n"
    )
    print("Extraction against one decode at the size the engine needs (best of", args.repeat, "per photo):\n")
    print(
        "| format | one decode, median ms | whole extraction, median ms | ratio, median | ratio, all photos "
        "(sum / sum) | ratio, worst | photos over 1.5x | by CPU time: median (sum / sum) | target |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for times in extraction:
        ratios, cpu = times.ratios(), times.ratios(cpu=True)
        over = sum(ratio > 1.5 for ratio in ratios)
        print(
            f"| {times.fmt} | {1000 * statistics.median(times.decode):.0f} | "
            f"{1000 * statistics.median(times.extract):.0f} | {statistics.median(ratios):.2f}x | "
            f"{sum(times.extract) / sum(times.decode):.2f}x | {max(ratios):.2f}x | {over} of {len(ratios)} | "
            f"{statistics.median(cpu):.2f}x ({sum(times.extract_cpu) / sum(times.decode_cpu):.2f}x) | <= 1.5x |"
        )
    if args.per_photo:
        for times in extraction:
            per_photo(times)
    if ingest:
        print(f"\nBatch ingest on 2 cores, wall time from start to exit, best of {args.rounds} taking turns:\n")
        print(
            "| format | `ris index --workers 2` s | imagehash pHash + dHash, 2 processes s | ris / imagehash | "
            "CPU s, all processes: ris, imagehash (ratio) | "
            "ris peak MB per worker (main process) | imagehash peak MB per worker |"
        )
        print("|---|---|---|---|---|---|---|")
        for fmt, (index, anchor) in ingest.items():
            print(
                f"| {fmt} | {index.seconds:.1f} | {anchor.seconds:.1f} | {index.seconds / anchor.seconds:.2f}x | "
                f"{index.cpu_seconds:.1f}, {anchor.cpu_seconds:.1f} ({index.cpu_seconds / anchor.cpu_seconds:.2f}x) | "
                f"{index.worker_peak()} ({index.main_peak()}) | {anchor.worker_peak()} |"
            )
        print(f"\nTargets: ris / imagehash <= 1.00x; peak per worker < {WORKER_TARGET_MB} MB.")
    flags = " --per-photo" if args.per_photo else ""
    print(f"\nCommand: `python -m benchmarks.large_photos --repeat {args.repeat} --rounds {args.rounds}{flags}`")


if __name__ == "__main__":
    main()
