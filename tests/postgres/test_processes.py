"""Many processes on one PostgreSQL database: ingest workers, searchers, kill -9s, late readers."""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import psycopg
import pytest

import ris_core
from ris_core.testing.contract.base import photo_bytes

WORKERS = Path(__file__).with_name("workers.py")
PHOTOS = 24


def _start(*arguments: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, str(WORKERS), *arguments], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )


@pytest.mark.slow
def test_four_writers_and_two_searchers_killed_at_random_lose_and_duplicate_nothing(
    postgres_url: str, tmp_path: Path
) -> None:
    with ris_core.open("local", database=postgres_url) as system:
        system.create_context("shared")
    acks = tmp_path / "acks.txt"
    acks.touch()
    rng = random.Random(18)
    writers = {
        w: _start("ingest", postgres_url, "shared", str(acks), str(w * PHOTOS // 4), str(PHOTOS)) for w in range(4)
    }
    searchers = {s: _start("search", postgres_url, "shared", str(PHOTOS)) for s in range(2)}
    kills = 0
    deadline = time.monotonic() + 420
    while any(p.poll() is None for p in writers.values()) and time.monotonic() < deadline:
        time.sleep(rng.uniform(0.5, 2.0))
        if kills < 8:
            # kill -9 one writer (then start it again from the top) and one searcher
            victim = rng.choice([w for w, p in writers.items() if p.poll() is None] or [0])
            if writers[victim].poll() is None:
                writers[victim].send_signal(signal.SIGKILL)
                writers[victim].wait()
                writers[victim] = _start(
                    "ingest", postgres_url, "shared", str(acks), str(rng.randrange(PHOTOS)), str(PHOTOS)
                )
                kills += 1
            searcher = rng.randrange(2)
            assert searchers[searcher].poll() is None, searchers[searcher].stderr.read().decode()  # type: ignore[union-attr]
            searchers[searcher].send_signal(signal.SIGKILL)
            searchers[searcher].wait()
            searchers[searcher] = _start("search", postgres_url, "shared", str(PHOTOS))
    for process in writers.values():
        process.wait(timeout=max(1.0, deadline - time.monotonic()))
        assert process.returncode == 0, process.stderr.read().decode()  # type: ignore[union-attr]
    for process in searchers.values():
        assert process.poll() is None, process.stderr.read().decode()  # type: ignore[union-attr]  # still searching
        process.send_signal(signal.SIGKILL)
        process.wait()
    assert kills >= 4

    acknowledged = set(acks.read_text().split())
    assert acknowledged == {f"p{seed}" for seed in range(PHOTOS)}  # the last run of each writer finished
    with ris_core.open("local", database=postgres_url) as system:
        context = system.context("shared")
        listed = context.image_ids()
        assert sorted(listed) == sorted(acknowledged)  # each exactly once, nothing extra
        for seed in range(PHOTOS):
            assert context.get_image(f"p{seed}") == photo_bytes(seed)
            assert context.find_similar_images(image=photo_bytes(seed), max_count=1)[0].image_id == f"p{seed}"
    with psycopg.connect(postgres_url) as connection:
        stored = Counter(row[0] for row in connection.execute("SELECT image_id FROM local_images"))
        with_features = connection.execute(
            "SELECT count(*) FROM local_images i JOIN local_features f ON f.key = i.key"
        ).fetchone()
    assert stored == Counter(acknowledged)  # no half-written or duplicated row in the engine's tables
    assert with_features == (PHOTOS,)


def test_a_search_process_started_after_the_writes_sees_them(postgres_url: str) -> None:
    with ris_core.open("local", database=postgres_url) as system:
        context = system.create_context("late")
        for seed in range(5):
            context.add_image(f"p{seed}", photo_bytes(seed))
        # A process that opens only the URL, with no file of this one's, after the writes.
        program = (
            "import sys, ris_core\n"
            "from ris_core.testing.contract.base import photo_bytes\n"
            "with ris_core.open('local', database=sys.argv[1]) as system:\n"
            "    context = system.context('late')\n"
            "    print(context.image_ids())\n"
            "    print(context.find_similar_images(image=photo_bytes(3), max_count=1)[0].image_id)\n"
        )
        seen = subprocess.run(
            [sys.executable, "-c", program, postgres_url], capture_output=True, text=True, check=True, cwd="/"
        ).stdout.splitlines()
        assert seen == [str([f"p{seed}" for seed in range(5)]), "p3"]
        # ...and a write made while that reader's twin is open shows on its next search.
        context.add_image("p7", photo_bytes(7))
    with ris_core.open("local", database=postgres_url) as reader:
        assert reader.context("late").find_similar_images(image=photo_bytes(7), max_count=1)[0].image_id == "p7"


def test_writes_of_one_process_show_in_a_search_of_another_already_open(postgres_url: str) -> None:
    with (
        ris_core.open("local", database=postgres_url) as writer,
        ris_core.open("local", database=postgres_url) as reader,
    ):
        writer.create_context("c").add_image("p1", photo_bytes(1))
        watching = reader.context("c")
        assert [r.image_id for r in watching.find_similar_images(image=photo_bytes(1))] == ["p1"]
        writer.context("c").add_image("p2", photo_bytes(2))
        assert [r.image_id for r in watching.find_similar_images(image=photo_bytes(2))][:1] == ["p2"]


def test_an_open_reader_follows_adds_replacements_and_deletes_made_elsewhere(postgres_url: str) -> None:
    with (
        ris_core.open("local", database=postgres_url) as writer,
        ris_core.open("local", database=postgres_url) as reader,
    ):
        written = writer.create_context("c")
        for seed in range(4):
            written.add_image(f"p{seed}", photo_bytes(seed))
        watching = reader.context("c")

        def top(seed: int) -> str | None:
            found = watching.find_similar_images(image=photo_bytes(seed), max_count=1)
            return found[0].image_id if found else None

        assert [top(seed) for seed in range(4)] == ["p0", "p1", "p2", "p3"]
        written.add_image("p5", photo_bytes(5))
        written.delete_image("p1")
        written.update_image("p2", photo_bytes(6))
        written.delete_features("p3")
        assert top(5) == "p5"
        assert top(1) != "p1"
        assert top(6) == "p2" and top(2) != "p2"
        assert top(3) != "p3"
        assert top(0) == "p0"
