"""Persistence and recovery: a killed batch loses nothing acknowledged, two processes
share one database file, and old database files migrate forward."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import ris_core
from ris_core import errors
from ris_core.catalog.schema import MIGRATIONS
from ris_core.sqlite import Database
from ris_core.testing.images import encode, photo

BATCH = 160


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    root.mkdir()
    for seed in range(BATCH):
        (root / f"p{seed:03d}.png").write_bytes(encode(photo(seed, (160, 120))))
    return root


def _python(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def test_a_batch_killed_midway_keeps_every_acknowledged_image(tmp_path: Path, folder: Path) -> None:
    database = tmp_path / "ris.db"
    child = subprocess.Popen(
        _python(f"""
            import sys, ris_core
            with ris_core.open("local", database={str(database)!r}) as system:
                context = system.context("album", create=True)
                def acknowledge(done, total, item):
                    print(item.status.value, item.image_id, flush=True)
                context.add_images({str(folder)!r}, progress=False, workers=2, on_progress=acknowledge)
        """),
        stdout=subprocess.PIPE,
        text=True,
    )
    acknowledged = []
    assert child.stdout is not None
    for line in child.stdout:
        status, image_id = line.split()
        assert status == "added"
        acknowledged.append(image_id)
        if len(acknowledged) == 40:
            child.send_signal(signal.SIGKILL)  # no clean-up, no atexit, mid-write
            break
    child.wait()
    assert child.returncode == -signal.SIGKILL

    with sqlite3.connect(database) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with ris_core.open("local", database=database) as system:
        context = system.context("album")
        stored = set(context.image_ids())
        assert set(acknowledged) <= stored
        for image_id in acknowledged:
            assert context.get_image(image_id) == (folder / image_id).read_bytes()
        [match] = context.find_similar_images(image=folder / acknowledged[-1], max_count=1)
        assert match.image_id == acknowledged[-1]
        resumed = context.add_images(folder, progress=False)
        assert not resumed.failed
        assert resumed.count(ris_core.ingest.IngestStatus.SKIPPED) >= len(acknowledged)
        assert len(context) == BATCH


def test_one_process_writes_while_another_searches(tmp_path: Path, folder: Path) -> None:
    database = tmp_path / "ris.db"
    with ris_core.open("local", database=database) as system:
        system.create_context("shared").add_image("seed", encode(photo(999)))
    writer = subprocess.Popen(
        _python(f"""
        import ris_core
        with ris_core.open("local", database={str(database)!r}) as system:
            report = system.context("shared").add_images({str(folder)!r}, progress=False, workers=1)
            assert not report.failed, report.failed
        print("written")
    """),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    searcher = subprocess.Popen(
        _python(f"""
        import json, ris_core
        from ris_core.testing.images import encode, photo
        seen = []
        with ris_core.open("local", database={str(database)!r}) as system:
            context = system.context("shared")
            for round in range(60):
                results = context.find_similar_images(image=encode(photo(5, (160, 120))), max_count=1)
                seen.append(len(context))
        print(json.dumps({{"rounds": len(seen), "grew": seen[-1] >= seen[0]}}))
    """),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    written, writer_errors = writer.communicate(timeout=300)
    searched, searcher_errors = searcher.communicate(timeout=300)
    assert writer.returncode == 0, writer_errors
    assert searcher.returncode == 0, searcher_errors
    assert written.strip() == "written"
    assert json.loads(searched) == {"rounds": 60, "grew": True}
    with ris_core.open("local", database=database) as system:
        context = system.context("shared")
        assert len(context) == BATCH + 1
        assert context.find_similar_images(image=folder / "p005.png", max_count=1)[0].image_id == "p005.png"


def test_a_second_connection_sees_writes_through_the_cache(tmp_path: Path) -> None:
    database = tmp_path / "ris.db"
    with ris_core.open("local", database=database) as first, ris_core.open("local", database=database) as second:
        first.create_context("c").add_image("a", encode(photo(1)))
        reader = second.context("c")
        assert [r.image_id for r in reader.find_similar_images(image=encode(photo(2)), threshold=0)] == ["a"]
        first.context("c").add_image("b", encode(photo(2)))
        assert reader.find_similar_images(image=encode(photo(2)), max_count=1)[0].image_id == "b"
        first.context("c").delete_image("b")
        assert [r.image_id for r in reader.find_similar_images(image=encode(photo(2)), threshold=0)] == ["a"]


def test_an_old_catalog_migrates_forward_and_keeps_its_data(tmp_path: Path) -> None:
    database = tmp_path / "old.db"
    old = Database(database)
    old.migrate("catalog", MIGRATIONS[:1])  # a file written by the first schema version
    with old.transaction() as db:
        db.execute("INSERT INTO catalog_contexts VALUES ('memory', 'kept', 'ref-1', '{}', '2026-01-01T00:00:00')")
        db.execute("INSERT INTO catalog_images VALUES ('memory', 'kept', 'img', 'abc', '2026-01-01T00:00:00')")
    old.close()
    with ris_core.open("memory", catalog=database) as system:
        [info] = system.list_contexts()
        assert (info.name, info.image_count) == ("kept", 1)
        assert system.catalog.get_metadata("kept", "img") == {}
        assert system.catalog.generation("kept") == 0
    with sqlite3.connect(database) as raw:
        assert raw.execute("SELECT version FROM ris_schema WHERE component = 'catalog'").fetchone()[0] == len(
            MIGRATIONS
        )


def test_a_database_from_a_newer_ris_is_refused(tmp_path: Path) -> None:
    database = tmp_path / "new.db"
    with sqlite3.connect(database) as raw:
        raw.execute("CREATE TABLE ris_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL)")
        raw.execute("INSERT INTO ris_schema VALUES ('catalog', 99)")
    with pytest.raises(errors.NewerSchemaError, match="newer than this ris"):
        ris_core.open("memory", catalog=database)


def test_a_file_that_is_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    database = tmp_path / "notes.db"
    database.write_text("these are notes, not SQLite" * 100)
    with pytest.raises(errors.CorruptStorageError, match="is not a SQLite database"):
        ris_core.open("local", database=database)


def test_unsupported_database_urls_are_refused() -> None:
    with pytest.raises(errors.ConfigurationError, match="unsupported database URL scheme"):
        ris_core.open("local", database="mysql://localhost/ris")


def test_sqlite_urls_are_accepted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with ris_core.open("local", database="sqlite:///relative.db") as system:
        system.create_context("c")
    assert (tmp_path / "relative.db").exists()
    absolute = tmp_path / "absolute.db"
    with ris_core.open("local", database=f"sqlite:///{absolute}") as system:
        system.create_context("c")
    assert absolute.exists()


def test_an_add_cut_short_between_its_two_commits_leaves_no_phantom(tmp_path: Path, folder: Path) -> None:
    database = tmp_path / "ris.db"
    ghost = folder / "p007.png"
    # The backend commits, then the process dies before the catalog's commit.
    child = subprocess.run(
        _python(f"""
            import os, signal, ris_core
            system = ris_core.open("local", database={str(database)!r})
            context = system.context("album", create=True)
            context.add_image("kept", {str(folder / "p001.png")!r})
            system.backend.add_image(context.ref, "ghost", system.load({str(ghost)!r}))
            os.kill(os.getpid(), signal.SIGKILL)
        """),
        check=False,
    )
    assert child.returncode == -signal.SIGKILL
    with ris_core.open("local", database=database) as system:
        context = system.context("album")
        assert context.image_ids() == ["kept"] and len(context) == 1
        found = context.find_similar_images(image=ghost, threshold=0, max_count=10)
        assert "ghost" not in [result.image_id for result in found]
        with pytest.raises(errors.ImageNotFoundError):
            context.find_similar_images("ghost")
        context.delete_image("ghost")  # what a crash left behind can be deleted...
        with pytest.raises(errors.ImageNotFoundError):
            context.delete_image("ghost")  # ...once
        context.add_image("ghost", ghost)  # and the id is free again
        [match] = context.find_similar_images(image=ghost, max_count=1)
        assert match.image_id == "ghost"
    # Added again over the leftover instead of deleting it: the add completes it.
    subprocess.run(
        _python(f"""
            import os, signal, ris_core
            system = ris_core.open("local", database={str(database)!r})
            context = system.context("album")
            system.backend.add_image(context.ref, "ghost2", system.load({str(ghost)!r}))
            os.kill(os.getpid(), signal.SIGKILL)
        """),
        check=False,
    )
    with ris_core.open("local", database=database) as system:
        context = system.context("album")
        context.add_image("ghost2", ghost)
        assert "ghost2" in context and context.get_image("ghost2") == ghost.read_bytes()


def test_two_concurrent_index_runs_over_one_folder_report_each_image_once(tmp_path: Path) -> None:
    root = tmp_path / "many"
    root.mkdir()
    for seed in range(300):
        (root / f"q{seed:03d}.png").write_bytes(encode(photo(seed, (96, 72))))
    database = tmp_path / "ris.db"
    ris = [sys.executable, "-c", "import sys; from ris_core.cli import main; sys.exit(main(sys.argv[1:]))"]
    subprocess.run([*ris, "-d", str(database), "context", "create", "default"], check=True, capture_output=True)
    command = [*ris, "-d", str(database), "index", str(root), "--json", "--no-progress"]
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate() for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    summaries = [json.loads(out)["summary"] for out, _ in outputs]
    assert sum(summary["added"] for summary in summaries) == 300
    assert all(summary["updated"] == 0 and summary["failed"] == 0 for summary in summaries)
    assert all(summary["added"] + summary["skipped"] == 300 for summary in summaries)
    assert not any("unacknowledged" in err or "WARNING" in err for _, err in outputs), outputs
    with ris_core.open("local", database=database) as system:
        assert len(system.context("default")) == 300
