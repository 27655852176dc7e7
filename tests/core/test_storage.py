"""Storage faults: every sqlite3 failure is a typed StorageError with its own exit code
and a one-line message, and nothing acknowledged is lost.

The faults are real where the machine allows: a database at its size limit
(``PRAGMA max_page_count``, SQLite's own "database or disk is full"), an immutable file
(``chattr +i``, which even root cannot write), bytes overwritten in the file, a schema
version from the future, and a second process holding the write lock.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import ris_core
from ris_core import errors
from ris_core.cli import main
from ris_core.cli.shell import Shell
from ris_core.testing.images import encode, photo
from ris_local.defaults import DEFAULT_ENGINE

Capture = pytest.CaptureFixture[str]


def build(database: Path, count: int = 3) -> None:
    with ris_core.open("local", database=database) as system:
        context = system.create_context("default")
        for seed in range(count):
            context.add_image(f"p{seed}.png", encode(photo(seed)), metadata={"seed": seed})


def run(capsys: Capture, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "ris.db"
    build(path)
    return path


# --- a full disk -------------------------------------------------------------------


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every connection opened from now on may not grow its file: SQLite then fails
    with SQLITE_FULL exactly as on a full disk."""
    connect = sqlite3.connect

    def capped(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection: sqlite3.Connection = connect(*args, **kwargs)
        pages = connection.execute("PRAGMA page_count").fetchone()[0]
        connection.execute(f"PRAGMA max_page_count = {max(pages, 1)}")
        return connection

    monkeypatch.setattr(sqlite3, "connect", capped)


def test_a_full_disk_is_a_typed_error_and_keeps_what_was_stored(database: Path, full_disk: None) -> None:
    big = encode(photo(7, (900, 700)))
    with ris_core.open("local", database=database) as system:
        context = system.context("default")
        with pytest.raises(errors.StorageFullError, match="is full") as raised:
            context.add_image("big.png", big)
        assert isinstance(raised.value, OSError)
        assert len(context) == 3 and "big.png" not in context
        assert context.find_similar_images(image=encode(photo(1)))[0].image_id == "p1.png"


def test_a_full_disk_exits_10(capsys: Capture, database: Path, tmp_path: Path, full_disk: None) -> None:
    (tmp_path / "big.png").write_bytes(encode(photo(7, (900, 700))))
    code, _, err = run(capsys, "-d", str(database), "image", "add", "big.png", str(tmp_path / "big.png"))
    assert code == 10 and "is full" in one_line_error(err)
    code, out, _ = run(capsys, "-d", str(database), "image", "list")
    assert (code, out.split()) == (0, ["p0.png", "p1.png", "p2.png"])


# --- a read-only file ----------------------------------------------------------------


@pytest.fixture
def read_only(database: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The database made immutable."""
    yield from made_read_only(database, monkeypatch)


def made_read_only(database: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The database made immutable (root cannot write it either). Where the filesystem
    has no immutable flag, the file is reported unwritable instead, as os.access tells a
    user without write permission, and ris opens it read-only as it would then."""
    if subprocess.run(["chattr", "+i", str(database)], capture_output=True).returncode == 0:
        try:
            yield database
        finally:
            subprocess.run(["chattr", "-i", str(database)], check=True)
        return
    access = os.access

    def no_write(path: Any, mode: int, **kwargs: Any) -> bool:
        if mode & os.W_OK and os.fspath(path) == str(database):
            return False
        return access(path, mode, **kwargs)

    monkeypatch.setattr(os, "access", no_write)
    yield database


def test_a_read_only_database_is_searched_and_listed(read_only: Path) -> None:
    with ris_core.open("local", database=read_only) as system:
        context = system.context("default")
        assert context.image_ids() == ["p0.png", "p1.png", "p2.png"]
        assert context.find_similar_images(image=encode(photo(2)))[0].image_id == "p2.png"
        assert context.get_metadata("p1.png") == {"seed": 1}
        with pytest.raises(errors.ReadOnlyStorageError, match="read-only") as raised:
            context.add_image("new.png", encode(photo(9)))
        assert isinstance(raised.value, PermissionError)
        assert len(context) == 3
    # Closing dropped the statistics and the index cache it could not write; no error.


def test_statistics_a_read_only_database_could_not_keep_are_reported(read_only: Path) -> None:
    with ris_core.open("local", database=read_only) as system:
        context = system.context("default")
        for seed in (0, 1):
            context.find_similar_images(image=encode(photo(seed)))
        found = context.stats()
        assert (sum(found.searches.values()), found.dropped) == (0, 2)
        assert system.context("default").stats().dropped == 2  # reported again, not reset by reading
        replies = iter(["13", "q"])  # the shell's menu: statistics, quit
        printed: list[str] = []
        Shell(system, "default", lambda prompt: next(replies), printed.append).run()
    text = "\n".join(printed)
    assert "0 searches, 0 answered from the cache" in text
    assert "2 more searches of this process are not counted" in text and "read-only" in text


def test_a_read_only_database_on_the_command_line(capsys: Capture, read_only: Path, tmp_path: Path) -> None:
    base = ["-d", str(read_only)]
    assert run(capsys, *base, "image", "list")[:2] == (0, "p0.png\np1.png\np2.png\n")
    (tmp_path / "query.png").write_bytes(encode(photo(0)))
    code, out, err = run(capsys, *base, "search", str(tmp_path / "query.png"))
    assert (code, err) == (0, "") and "p0.png" in out
    assert run(capsys, *base, "contexts")[0] == 0
    (tmp_path / "new.png").write_bytes(encode(photo(9)))
    code, _, err = run(capsys, *base, "image", "add", "new.png", str(tmp_path / "new.png"))
    assert code == 11 and "read-only" in one_line_error(err)


@pytest.fixture
def stale_read_only(database: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A read-only database whose feature rows another engine made: opened once with the
    ``hash`` engine, which re-extracted every image, recorded itself and defined a tag,
    then made immutable. Opening it with the default engine finds every row stale."""
    with ris_core.open("local", database=database, engine="hash") as system:
        context = system.context("default")
        context.create_tag("two", encode(photo(2)))
        assert len(context) == 3
    yield from made_read_only(database, monkeypatch)


def test_a_read_only_database_of_another_engine_is_searched_in_memory(
    stale_read_only: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.INFO, logger="ris_local"),
        ris_core.open("local", database=stale_read_only, engine=DEFAULT_ENGINE) as system,
    ):
        context = system.context("default")
        assert context.image_ids() == ["p0.png", "p1.png", "p2.png"]
        assert context.find_similar_images(image=encode(photo(2)))[0].image_id == "p2.png"
        # Stored images and tags are read through the features made again in memory.
        fresh = context.extract_features(encode(photo(0)))
        stored = context.get_features("p0.png")
        assert (stored.algorithm, stored.version, stored.data) == (fresh.algorithm, fresh.version, fresh.data)
        assert context.compare_images("p0.png", other_image=encode(photo(0))).similarity == 100.0
        assert "p1.png" not in [result.image_id for result in context.find_similar_images("p1.png")]
        assert context.find_images_by_tags("two")[0].image_id == "p2.png"
    assert "not saved" in caplog.text


def test_a_read_only_database_of_another_engine_on_the_command_line(
    capsys: Capture, stale_read_only: Path, tmp_path: Path
) -> None:
    base = ["-d", str(stale_read_only), "-o", f"engine={DEFAULT_ENGINE}"]
    assert run(capsys, *base, "image", "list")[:2] == (0, "p0.png\np1.png\np2.png\n")
    (tmp_path / "query.png").write_bytes(encode(photo(1)))
    code, out, err = run(capsys, *base, "search", str(tmp_path / "query.png"))
    assert (code, err) == (0, "") and "p1.png" in out.splitlines()[1].split()


# --- damaged files and newer schemas -------------------------------------------------------


def test_a_file_that_is_not_a_database_exits_13(capsys: Capture, tmp_path: Path) -> None:
    notes = tmp_path / "notes.db"
    notes.write_bytes(b"not SQLite at all " * 500)
    code, _, err = run(capsys, "-d", str(notes), "image", "list")
    assert code == 13 and "not a SQLite database or is damaged" in one_line_error(err)


def test_a_corrupted_page_is_a_typed_error(capsys: Capture, database: Path) -> None:
    size = database.stat().st_size
    page = 4096
    with database.open("r+b") as handle:  # keep page 1 (the header and schema), ruin the rest
        handle.seek(page)
        handle.write(b"\xa5" * (size - page))
    with pytest.raises(errors.CorruptStorageError), ris_core.open("local", database=database) as system:
        system.context("default").image_ids()
    code, _, err = run(capsys, "-d", str(database), "image", "list")
    assert code == 13 and "damaged" in one_line_error(err)


def test_a_newer_schema_exits_14_and_is_left_untouched(capsys: Capture, database: Path) -> None:
    with sqlite3.connect(database) as raw:
        raw.execute("UPDATE ris_schema SET version = 99 WHERE component = 'local'")
    raw.close()
    before = database.read_bytes()
    code, _, err = run(capsys, "-d", str(database), "image", "list")
    assert code == 14 and "newer than this ris understands" in one_line_error(err)
    with pytest.raises(errors.NewerSchemaError):
        ris_core.open("local", database=database)
    assert database.read_bytes() == before


def test_opening_and_listing_never_write(capsys: Capture, database: Path) -> None:
    before = database.read_bytes()
    assert run(capsys, "-d", str(database), "image", "list")[0] == 0
    assert run(capsys, "-d", str(database), "contexts")[0] == 0
    assert run(capsys, "-d", str(database), "metadata", "get", "p1.png")[0] == 0
    assert database.read_bytes() == before


# --- another process holds the write lock ----------------------------------------------------

HOLD_LOCK = textwrap.dedent(
    """
    import sqlite3, sys
    connection = sqlite3.connect(sys.argv[1], isolation_level=None)
    connection.execute("BEGIN IMMEDIATE")
    print("locked", flush=True)
    sys.stdin.read()  # hold it until the test closes our stdin
    connection.execute("ROLLBACK")
    """
)


@pytest.fixture
def locked(database: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A second process holds the write lock (BEGIN IMMEDIATE) until the test ends.

    RIS_BUSY_TIMEOUT is short so that a write which (wrongly) waited for the lock fails
    the test quickly rather than hanging it."""
    monkeypatch.setenv("RIS_BUSY_TIMEOUT", "1")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(database)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    try:
        yield database
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)


def test_a_search_answers_while_another_process_holds_the_write_lock(capsys: Capture, locked: Path) -> None:
    (locked.parent / "query.png").write_bytes(encode(photo(1)))
    code, out, err = run(capsys, "-d", str(locked), "search", str(locked.parent / "query.png"))
    assert (code, err) == (0, "") and "p1.png" in out
    assert run(capsys, "-d", str(locked), "image", "list")[:2] == (0, "p0.png\np1.png\np2.png\n")


def test_a_write_gives_up_after_the_bounded_wait(capsys: Capture, locked: Path, tmp_path: Path) -> None:
    (tmp_path / "new.png").write_bytes(encode(photo(9)))
    code, _, err = run(capsys, "-d", str(locked), "image", "add", "new.png", str(tmp_path / "new.png"))
    assert code == 12 and "stayed locked by another process for 1 s" in one_line_error(err)
    with ris_core.open("local", database=locked) as system, pytest.raises(errors.StorageLockedError) as raised:
        system.context("default").delete_image("p0.png")
    assert isinstance(raised.value, TimeoutError)


def test_statistics_never_fail_a_search_and_count_what_was_dropped(locked: Path) -> None:
    from ris_core.stats import FLUSH_EVERY

    searches = FLUSH_EVERY * 2 + 5  # past two periodic flushes, both refused by the lock
    system = ris_core.open("local", database=locked)
    context = system.context("default")
    query = encode(photo(0))
    for _ in range(searches):
        assert context.find_similar_images(image=query)[0].image_id == "p0.png"
    assert system.stats_recorder.dropped == 0  # held in memory while the lock is taken
    system.close()  # the last flush cannot wait: what it could not write is counted
    assert system.stats_recorder.dropped == searches


def test_statistics_held_back_by_the_lock_are_written_later(database: Path) -> None:
    from ris_core.stats import FLUSH_EVERY

    def hold(path: Path) -> Callable[[], None]:
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_LOCK, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"

        def release() -> None:
            assert holder.stdin is not None
            holder.stdin.close()
            holder.wait(timeout=30)

        return release

    with ris_core.open("local", database=database) as system:
        context = system.context("default")
        release = hold(database)
        for _ in range(FLUSH_EVERY):  # the flush at the 64th search meets the lock
            context.find_similar_images(image=encode(photo(0)))
        release()
        stats = context.stats()
        assert stats.searches.get("find_similar_images") == FLUSH_EVERY
        assert system.stats_recorder.dropped == 0


# --- migrations ------------------------------------------------------------------------


def test_migrations_keep_triggers_and_strings_whole_and_apply_atomically(tmp_path: Path) -> None:
    from ris_core.sqlite import Database

    first = """
        CREATE TABLE notes (text TEXT);
        CREATE TABLE log (entry TEXT);
        CREATE TRIGGER noted AFTER INSERT ON notes BEGIN INSERT INTO log VALUES ('noted; ' || new.text); END;
        INSERT INTO notes VALUES ('a; b')
    """
    database = Database(tmp_path / "m.db")
    database.migrate("test", [first])
    assert database.query("SELECT entry FROM log") == [("noted; a; b",)]
    broken = "CREATE TABLE later (x); INSERT INTO nowhere VALUES (1)"
    with pytest.raises(errors.StorageError, match="no such table: nowhere"):
        database.migrate("test", [first, broken])
    assert database.schema_version("test") == 1  # the failed script left nothing behind
    assert database.query("SELECT name FROM sqlite_master WHERE name = 'later'") == []
    database.close()
