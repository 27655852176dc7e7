"""Batch ingest extracts in worker processes: the same features as one add, bad files
still reported one by one, and no worker left behind."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2

import ris_core
from ris_core.images import load_image
from ris_core.ingest import IngestStatus
from ris_core.testing.images import encode, photo, truncated_jpeg
from ris_local.extraction import Extractor


def _workers() -> int:
    return sum(type(child).__name__ == "ForkServerProcess" for child in multiprocessing.active_children())


def test_a_batch_in_processes_extracts_what_one_add_does(tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for seed in range(6):
        (folder / f"p{seed}.jpg").write_bytes(encode(photo(seed, (1600, 1200)), "JPEG", quality=90))
    (folder / "p6.png").write_bytes(encode(photo(6, (1200, 900)), "PNG"))
    (folder / "broken.jpg").write_bytes(truncated_jpeg())
    with ris_core.open("local", database=tmp_path / "ris.db") as system:
        context = system.create_context("batch")
        workers_seen: list[int] = []
        report = context.add_images(
            folder, workers=2, progress=False, on_progress=lambda *_: workers_seen.append(_workers())
        )
        assert max(workers_seen) == 2  # two extraction processes while the batch ran
        statuses = {item.image_id: item.status for item in report.items}
        assert statuses.pop("broken.jpg") is IngestStatus.FAILED
        assert set(statuses.values()) == {IngestStatus.ADDED} and len(statuses) == 7
        for image_id in statuses:
            stored = context.get_features(image_id).data
            assert context.extract_features(folder / image_id).data == stored  # extracted in this process
        assert context.find_similar_images(image=folder / "p3.jpg", max_count=1)[0].image_id == "p3.jpg"
        assert _workers() == 0  # stopped with the batch: a search extracts its query here


def test_workers_run_opencv_on_one_thread_and_start_warm() -> None:
    from tests.local.worker_probe import ProbeEngine  # the workers import it by this name

    extractor = Extractor(ProbeEngine())
    images = [load_image(encode(photo(seed, (64, 48)), "PNG")) for seed in range(4)]
    here = json.loads(extractor.blob(images[0]))
    assert here["pid"] == os.getpid() and not here["warmed"]  # outside a batch: this process
    with extractor.processes(2):
        seen = [json.loads(extractor.blob(image)) for image in images[1:]]
    assert all(probe["pid"] != os.getpid() for probe in seen)
    assert {probe["opencv_threads"] for probe in seen} == {1}
    assert {probe["omp_wait_policy"] for probe in seen} == {"PASSIVE"}
    assert all(probe["warmed"] for probe in seen)  # forked from the fork server, warmed once
    assert cv2.getNumThreads() == here["opencv_threads"]  # this process's setting is untouched


def _processes_marked(mark: str) -> list[int]:
    """The processes whose environment holds ``RIS_TEST_MARK=mark`` (children inherit it)."""
    wanted, found = f"RIS_TEST_MARK={mark}".encode(), []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if wanted in (entry / "environ").read_bytes().split(b"\0"):
                    found.append(int(entry.name))
            except OSError:  # ended meanwhile
                continue
    return found


def test_a_killed_batch_leaves_no_worker_behind(tmp_path: Path) -> None:
    assert Path("/proc/self/environ").exists(), "this test finds the batch's workers through Linux's /proc"
    folder = tmp_path / "photos"
    folder.mkdir()
    for seed in range(120):
        (folder / f"p{seed:03d}.png").write_bytes(encode(photo(seed, (320, 240)), "PNG"))
    code = f"""
import ris_core
with ris_core.open("local", database={str(tmp_path / "ris.db")!r}) as system:
    context = system.create_context("album")
    context.add_images({str(folder)!r}, progress=False, workers=2,
                       on_progress=lambda done, total, item: print(item.image_id, flush=True))
"""
    mark = f"killed-batch-{os.getpid()}"
    child = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env={**os.environ, "RIS_TEST_MARK": mark}
    )
    assert child.stdout is not None
    for count, _ in enumerate(child.stdout, 1):
        if count == 10:
            break
    running = _processes_marked(mark)
    child.send_signal(signal.SIGKILL)  # no clean-up: the pool is never shut down
    child.wait()
    assert len(running) >= 4, running  # the batch, the fork server and two workers
    deadline = time.monotonic() + 20
    while (left := _processes_marked(mark)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"processes of the killed batch still running: {left}"


def test_a_worker_extracts_the_bytes_that_were_read_even_if_the_file_changes(tmp_path: Path) -> None:
    """A file's image reaches a worker as its path; the worker's copy of the bytes must be
    the one whose hash the image carries, or the bytes read first are extracted."""
    from ris_local.robust import RobustEngine

    kept, changed = tmp_path / "kept.png", tmp_path / "changed.png"
    kept.write_bytes(encode(photo(1, (400, 300)), "PNG"))
    changed.write_bytes(encode(photo(2, (400, 300)), "PNG"))
    images = [load_image(kept), load_image(changed)]
    changed.write_bytes(encode(photo(3, (400, 300)), "PNG"))  # after it was read, before its turn
    engine = RobustEngine()
    extractor = Extractor(engine)
    with extractor.processes(2):
        blobs = [extractor.blob(image) for image in images]
    assert blobs == [engine.extract(image) for image in images]  # the bytes read, in this process
    changed.unlink()  # gone altogether: still the bytes read
    again = Extractor(engine)
    with again.processes(2):
        assert again.blob(images[1]) == blobs[1]
