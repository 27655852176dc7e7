"""The ``ris`` command, driven as a user would, checking output and exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ris_core.cli import main
from ris_core.testing.images import encode, near_copy, photo, truncated_jpeg


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    root.mkdir()
    for seed in range(5):
        (root / f"p{seed}.png").write_bytes(encode(photo(seed)))
    (root / "p1-copy.jpg").write_bytes(encode(near_copy(photo(1)), "JPEG", quality=85))
    return root


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_index_search_duplicates_compare(capsys: pytest.CaptureFixture[str], photos: Path, tmp_path: Path) -> None:
    code, out, _ = run(capsys, "index", str(photos), "--no-progress")
    assert code == 0 and "6 added" in out
    query = tmp_path / "query.jpg"
    query.write_bytes(encode(near_copy(photo(3)), "JPEG", quality=80))
    code, out, _ = run(capsys, "search", str(query))
    assert code == 0 and out.splitlines()[1].split()[-1] == "p3.png"
    code, out, _ = run(capsys, "search", "p1.png", "--id", "--json")
    assert [r["image_id"] for r in json.loads(out)] == ["p1-copy.jpg"]
    code, out, _ = run(capsys, "duplicates", "--json")
    assert [[r["image_id"] for r in g["images"]] for g in json.loads(out)] == [["p1-copy.jpg", "p1.png"]]
    code, out, _ = run(capsys, "compare", str(photos / "p1.png"), "p1-copy.jpg", "--json")
    assert json.loads(out)["image_id"] == "p1.png" and json.loads(out)["other_id"] == "p1-copy.jpg"
    code, out, _ = run(capsys, "compare", str(query), "p3.png")
    assert code == 0 and out.startswith(("9", "100")) and "p3.png vs" in out


def test_contexts_and_backends(capsys: pytest.CaptureFixture[str], photos: Path) -> None:
    run(capsys, "--context", "holiday", "index", str(photos), "--no-progress")
    code, out, _ = run(capsys, "contexts", "--json")
    assert code == 0 and json.loads(out)[0] | {"created_at": None} == {
        "name": "holiday",
        "backend": "local",
        "image_count": 6,
        "created_at": None,
    }
    code, out, _ = run(capsys, "backends", "--json")
    assert {"local", "aspose"} <= {b["name"] for b in json.loads(out)}


def test_a_batch_with_a_bad_file_exits_1_and_names_it(capsys: pytest.CaptureFixture[str], photos: Path) -> None:
    (photos / "broken.jpg").write_bytes(truncated_jpeg())
    code, out, err = run(capsys, "index", str(photos), "--no-progress")
    assert code == 1 and "6 added, 1 failed" in out and "broken.jpg" in err


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["search", "missing.jpg"], 3, "no such file"),
        (["search", "p9", "--id"], 3, "no image 'p9'"),
        (["search", "p1.png", "--id", "-t", "150"], 4, "from 0 to 100"),
        (["search", "p1.png", "--id", "-n", "0"], 4, "at least 1"),
        (["--backend", "nope", "contexts"], 6, "no backend named 'nope'"),
        (["-o", "colour=red", "contexts"], 6, "does not accept option"),
        (["--context", "other", "duplicates"], 3, "no search context named 'other'"),
        (["compare", "nope", "p1.png"], 3, "neither an indexed image id nor a file"),
    ],
)
def test_errors_map_to_documented_exit_codes(
    capsys: pytest.CaptureFixture[str], photos: Path, args: list[str], code: int, message: str
) -> None:
    run(capsys, "index", str(photos), "--no-progress")
    returned, _, err = run(capsys, *args)
    assert returned == code and message in err


def test_console_script_runs(photos: Path) -> None:
    executable = shutil.which("ris", path=str(Path(sys.executable).parent))
    assert executable, "no 'ris' console script beside this Python: pip install -e . in this environment"
    done = subprocess.run([executable, "index", str(photos), "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["summary"]["added"] == 6


@pytest.mark.parametrize(
    ("argv", "starts"),
    [
        (["index", "photos", "--workers", "2"], True),
        (["-d", "ris.db", "-c", "index", "index", "photos", "--workers", "3"], True),
        (["--database=ris.db", "-blocal", "index", "photos", "--workers=2"], True),
        (["-v", "index", "photos", "--workers", "1"], False),
        (["-b", "aspose", "index", "photos"], False),
        (["index", "--help"], False),
        (["-c", "index", "search", "photos"], False),
        (["--help"], False),
    ],
)
def test_ris_index_starts_its_workers_before_anything_else(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], starts: bool
) -> None:
    """Only ``ris index`` with several workers on the local backend starts them early."""
    import ris_core.cli

    monkeypatch.delenv("RIS_BACKEND", raising=False)
    monkeypatch.setitem(ris_core.cli.WORKER_STARTERS, "local", "os:getpid")  # stands in for the fork server
    assert ris_core.cli.start_batch_workers(argv) is starts
    monkeypatch.setitem(ris_core.cli.WORKER_STARTERS, "local", "os:no_such_function")
    assert ris_core.cli.start_batch_workers(["index", "photos", "--workers", "2"]) is False  # no error either
    monkeypatch.setenv("RIS_BACKEND", "aspose")
    monkeypatch.setitem(ris_core.cli.WORKER_STARTERS, "local", "os:getpid")
    assert ris_core.cli.start_batch_workers(["index", "photos", "--workers", "2"]) is False


def test_duplicates_shows_a_progress_bar(capsys: pytest.CaptureFixture[str], photos: Path) -> None:
    run(capsys, "index", str(photos), "--no-progress")
    code, out, err = run(capsys, "duplicates", "--progress")
    assert code == 0 and "p1-copy.jpg" in out
    assert "finding duplicates among 6 images" in err and "100%|" in err, err
    code, out, err = run(capsys, "duplicates", "--no-progress")
    assert code == 0 and "p1-copy.jpg" in out and err == ""
