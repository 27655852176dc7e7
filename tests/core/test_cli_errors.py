"""Each kind of failure ends ``ris`` with its documented exit code and a message on
stderr, never a traceback: usage 2, not found 3 (ids and files alike), invalid input 4,
backend 5, configuration 6, already exists 7, unsupported 8, storage 9 to 14, declined or
interrupted 130."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import ris_core
from ris_core.backend import Capability
from ris_core.cli import main
from ris_core.errors import ServiceUnavailableError
from ris_core.models import ContextState, ContextStatus
from ris_core.testing.images import encode, near_copy, not_an_image, photo
from ris_local.backend import LocalBackend

Capture = pytest.CaptureFixture[str]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once: three photos and a near copy indexed into the default context, a
    collection, a tag, a text file that is not an image and a JSON array."""
    root = tmp_path_factory.mktemp("cli-errors")
    photos = root / "photos"
    photos.mkdir()
    for seed in range(3):
        (photos / f"p{seed}.png").write_bytes(encode(photo(seed)))
    (photos / "p1-copy.jpg").write_bytes(encode(near_copy(photo(1)), "JPEG", quality=85))
    (root / "notes.txt").write_bytes(not_an_image())
    (root / "list.json").write_text("[1, 2]", encoding="utf-8")
    with ris_core.open("local", database=str(root / "ris.db")) as system:
        context = system.create_context("default")
        context.add_images(photos, progress=False)
        context.create_collection("c", ["p0.png"])
        context.create_tag("t", photos / "p0.png")
    return root


@pytest.fixture
def files(prepared: Path, isolated_home: Path) -> Path:
    """A fresh copy of the prepared database as this test's default one; the inputs
    are shared (no test writes beside them)."""
    isolated_home.mkdir(parents=True, exist_ok=True)
    for database in prepared.glob("ris.db*"):
        shutil.copyfile(database, isolated_home / database.name)
    return prepared / "photos"


def run(capsys: Capture, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


CASES: list[tuple[list[str], int, str]] = [
    # 2: the command line itself is wrong, including JSON text that is not an object.
    (["image", "add", "only-an-id"], 2, "Missing argument 'FILE'"),
    (["search", "p1.png", "--id", "-t", "abc"], 2, "'abc' is not a valid float"),
    (["search", "p1.png", "--id", "--where", "year=2020"], 2, "Invalid value for '--where': not valid JSON"),
    (["image", "list", "--where", "[1, 2]"], 2, "must be a JSON object ({...}), not a JSON array"),
    (["image", "list", "--where", "@{tmp}/list.json"], 2, "not a JSON array"),
    (["metadata", "set", "p0.png", '"just a string"'], 2, "not a JSON string"),
    (["image", "add", "x", "{tmp}/photos/p0.png", "-m", '{"a": NaN}'], 2, "NaN is not valid JSON"),
    (["context", "create", "x", "-O", "novalue"], 2, "'novalue' is not KEY=VALUE"),
    (["nonsense"], 2, "No such command 'nonsense'"),
    # 3: something named does not exist.
    (["image", "get", "nope", "-o", "{tmp}/out"], 3, "no image 'nope'"),
    (["image", "show", "nope"], 3, "no image 'nope'"),
    (["image", "delete", "nope"], 3, "no image 'nope'"),
    (["metadata", "get", "nope"], 3, "no image 'nope'"),
    (["metadata", "set", "nope", "{}"], 3, "no image 'nope'"),
    (["collection", "show", "nope"], 3, "no collection 'nope'"),
    (["collection", "add", "c", "nope"], 3, "no image 'nope'"),
    (["search", "p1.png", "--id", "--collection", "nope"], 3, "no collection 'nope'"),
    (["tag", "search", "nope"], 3, "no tag 'nope'"),
    (["features", "get", "nope"], 3, "no image 'nope'"),
    (["-c", "elsewhere", "image", "list"], 3, "no search context named 'elsewhere'"),
    (["context", "delete", "elsewhere", "--yes"], 3, "no search context named 'elsewhere'"),
    # 3 too: a file or folder named on the command line does not exist, in every command.
    (["image", "list", "--where", "@{tmp}/missing.json"], 3, "no such file"),
    (["image", "add", "x", "{tmp}/missing.png"], 3, "missing.png"),
    (["index", "{tmp}/missing"], 3, "no such file or folder"),
    (["search", "{tmp}/missing.png"], 3, "no such file"),
    (["compare", "p0.png", "{tmp}/missing.png"], 3, "neither an indexed image id nor a file"),
    (["calibrate", "{tmp}/missing.csv"], 3, "missing.csv"),
    (["import", "{tmp}/missing.tar"], 3, "no export at"),
    (["parity", "{tmp}/missing", "{tmp}/photos/p0.png", "--against", "memory"], 3, "missing"),
    (["features", "extract", "{tmp}/missing.png"], 3, "missing.png"),
    (["tag", "create", "t2", "{tmp}/missing.png"], 3, "missing.png"),
    # 4: invalid input: values, JSON objects and files the library refuses.
    (["search", "p1.png", "--id", "-t", "150"], 4, "from 0 to 100"),
    (["image", "list", "--where", '{"year": {"$near": 1}}'], 4, "unknown filter operator '$near'"),
    (["duplicates", "--where", '{"year": {"$in": []}}'], 4, "$in needs a non-empty list"),
    (["image", "add", "x", "{tmp}/notes.txt"], 4, "not a supported image"),
    (["image", "add", "../x", "{tmp}/photos/p0.png"], 4, "path-like"),
    (["tag", "create", "t2", "{tmp}/notes.txt"], 4, "not a supported image"),
    (["features", "extract", "{tmp}/notes.txt"], 4, "not a supported image"),
    (["import", "{tmp}/photos"], 4, "not a valid ris export"),
    (["export", "{tmp}/notes.txt/inside"], 4, "is a file, not a folder"),
    (["export", "{tmp}/out.zip"], 4, "not a format ris writes"),
    # 6: configuration.
    (["--backend", "nope", "contexts"], 6, "no backend named 'nope'"),
    (["context", "create", "x", "-O", "detector=akaze"], 6, "does not accept context option(s) detector"),
    # 7: already exists.
    (["image", "add", "p0.png", "{tmp}/photos/p1.png"], 7, "already in context"),
    (["collection", "create", "c"], 7, "a collection named 'c' already exists"),
    (["context", "create", "default"], 7, "already exists"),
]


@pytest.mark.parametrize(("args", "code", "message"), CASES, ids=[" ".join(c[0])[:50] for c in CASES])
def test_exit_codes(capsys: Capture, files: Path, args: list[str], code: int, message: str) -> None:
    returned, out, err = run(capsys, *[arg.replace("{tmp}", str(files.parent)) for arg in args])
    assert (returned, message in err) == (code, True), err
    assert "Traceback" not in err and out == ""


def test_a_failed_write_changes_nothing(capsys: Capture, files: Path) -> None:
    before = run(capsys, "image", "list", "--json")[1]
    assert run(capsys, "image", "add", "x", str(files.parent / "notes.txt"))[0] == 4
    assert run(capsys, "collection", "add", "c", "p1.png", "nope")[0] == 3
    assert run(capsys, "image", "list", "--json")[1] == before
    assert run(capsys, "collection", "show", "c")[1].split() == ["p0.png"]


def _patched(monkeypatch: pytest.MonkeyPatch, name: str, replacement: Callable[..., Any]) -> None:
    monkeypatch.setattr(LocalBackend, name, replacement)


def test_backend_failure_exits_5(capsys: Capture, files: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def down(*args: Any, **kwargs: Any) -> Any:
        raise ServiceUnavailableError("the service is down")

    _patched(monkeypatch, "find_similar", down)
    code, _, err = run(capsys, "search", "p1.png", "--id")
    assert code == 5 and "the service is down" in err


def test_a_context_that_stays_busy_exits_5(capsys: Capture, files: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _patched(monkeypatch, "context_status", lambda self, ref: ContextStatus(ContextState.BUSY, "Ingesting"))
    code, out, _ = run(capsys, "context", "status", "--json")
    assert code == 0 and '"state": "busy"' in out and '"detail": "Ingesting"' in out
    code, _, err = run(capsys, "context", "status", "--wait", "--timeout", "0")
    assert code == 5 and "still Ingesting" in err


@pytest.mark.parametrize(
    ("args", "operation"),
    [
        (["duplicates"], "find_duplicates"),
        (["compare", "p0.png", "p1.png"], "compare_images"),
        (["tag", "search", "t"], "find_images_by_tags"),
        (["tag", "create", "t", "p1.png", "--id"], "create_tag"),
        (["features", "get", "p0.png"], "get_features"),
    ],
)
def test_operations_the_backend_lacks_exit_8(
    capsys: Capture, files: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], operation: str
) -> None:
    original = LocalBackend.__init__

    def bare(self: LocalBackend, **options: Any) -> None:
        original(self, **options)
        self.capabilities = frozenset({Capability.PERSISTENT})

    _patched(monkeypatch, "__init__", bare)
    code, _, err = run(capsys, *args)
    assert code == 8 and f"backend 'local' does not offer {operation}" in err


def test_a_batch_with_failures_exits_1(capsys: Capture, files: Path, tmp_path: Path) -> None:
    batch = shutil.copytree(files, tmp_path / "batch")
    (batch / "broken.png").write_bytes(not_an_image())
    code, out, err = run(capsys, "index", str(batch), "--no-progress", "--json")
    assert code == 1 and '"failed": 1' in out and '"skipped": 4' in out and err == ""
