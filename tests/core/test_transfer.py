"""Import and export: the manifest checked before anything is written, only the members
it names read (bounded), all or nothing, progress, and archive suffixes."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import ris_core
from ris_core import errors
from ris_core.cli import main
from ris_core.system import ImageSearch
from ris_core.testing.images import encode, not_an_image, photo

Capture = pytest.CaptureFixture[str]


@pytest.fixture
def exported(tmp_path: Path) -> Path:
    """A folder export of three photos with metadata, a collection and a tag."""
    with ris_core.open("memory") as system:
        context = system.create_context("photos")
        for seed in range(3):
            context.add_image(f"p{seed}.png", encode(photo(seed)), metadata={"seed": seed})
        context.create_collection("best", ["p0.png", "p2.png"])
        context.create_tag("sea", encode(photo(5)))
        context.export(tmp_path / "export")
    return tmp_path / "export"


def edit_manifest(folder: Path, change: Callable[[dict[str, Any]], None]) -> None:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    change(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def nothing_written(system: ImageSearch) -> bool:
    return system.list_contexts() == []


BAD_MANIFESTS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("no id", lambda m: m["images"][1].pop("id"), r"images\[1\] has no 'id'"),
    ("images not a list", lambda m: m.update(images={"a": 1}), "'images' must be a list, not dict"),
    ("an entry not an object", lambda m: m["images"].append("p9.png"), r"images\[3\] must be an object"),
    ("a path-like id", lambda m: m["images"][0].update(id="../escape.png"), "path-like"),
    ("a C1 control in an id", lambda m: m["images"][0].update(id="a\u009bb"), "control character"),
    ("a duplicate id", lambda m: m["images"][2].update(id="p0.png"), "appears twice"),
    ("a file outside the export", lambda m: m["images"][0].update(file="../../etc/passwd"), "outside images/"),
    ("a bad sha256", lambda m: m["images"][0].update(sha256=17), "64 lowercase hex"),
    ("a metadata integer over 64 bits", lambda m: m["images"][0].update(metadata={"n": 2**70}), "64-bit range"),
    ("metadata not an object", lambda m: m["images"][0].update(metadata=[1]), "must be a mapping"),
    ("collections not an object", lambda m: m.update(collections=["best"]), "'collections' must be an object"),
    ("a collection of numbers", lambda m: m["collections"].update(best=[1, 2]), "must list image ids"),
    ("a tag without files", lambda m: m["tags"].update(sea=[]), "must list its reference files"),
    ("a file the export lacks", lambda m: m["images"][0].update(file="images/999999.png"), "does not hold"),
]


@pytest.mark.parametrize(("case", "change", "message"), BAD_MANIFESTS, ids=[c[0] for c in BAD_MANIFESTS])
def test_a_malformed_manifest_is_refused_before_anything_is_written(
    exported: Path, case: str, change: Callable[[dict[str, Any]], None], message: str
) -> None:
    edit_manifest(exported, change)
    with ris_core.open("memory") as system:
        with pytest.raises(errors.InvalidExportError, match=message):
            system.import_context(exported)
        assert nothing_written(system)


def test_a_bad_tag_image_leaves_nothing_behind(exported: Path) -> None:
    [tag_file] = json.loads((exported / "manifest.json").read_text())["tags"]["sea"]
    (exported / tag_file).write_bytes(not_an_image())
    with ris_core.open("memory") as system:
        with pytest.raises(errors.InvalidExportError, match="tag 'sea'"):
            system.import_context(exported)
        assert nothing_written(system)


def test_an_image_the_backend_refuses_undoes_the_whole_import(exported: Path) -> None:
    import hashlib

    bad = not_an_image()
    (exported / "images" / "000002.png").write_bytes(bad)
    edit_manifest(exported, lambda m: m["images"][1].update(sha256=hashlib.sha256(bad).hexdigest()))
    with ris_core.open("memory") as system:
        with pytest.raises(errors.InvalidExportError, match="1 of 3 images could not be imported"):
            system.import_context(exported)
        assert nothing_written(system)
        # Merged into an existing context, only what the import added is taken back.
        kept = system.create_context("photos")
        kept.add_image("mine.png", encode(photo(8)))
        kept.create_collection("best", ["mine.png"])
        with pytest.raises(errors.InvalidExportError):
            system.import_context(exported)
        assert kept.image_ids() == ["mine.png"]
        assert kept.collection_images("best") == ["mine.png"]
        assert kept.list_tags() == {}


def test_an_import_never_replaces_other_bytes_under_an_id(exported: Path) -> None:
    with ris_core.open("memory") as system:
        mine = system.create_context("photos")
        mine.add_image("p1.png", encode(photo(9)))
        with pytest.raises(errors.InvalidExportError, match=r"'p1\.png' already holds other bytes"):
            system.import_context(exported)
        assert mine.image_ids() == ["p1.png"] and mine.get_image("p1.png") == encode(photo(9))


def _tar(path: Path, members: dict[str, bytes], sizes: dict[str, int] | None = None) -> Path:
    """A tar.gz of ``members``; ``sizes`` adds members of that many zero bytes, streamed."""

    class Zeros(io.RawIOBase):
        def __init__(self, size: int) -> None:
            self.left = size

        def read(self, size: int = -1) -> bytes:
            count = self.left if size < 0 else min(size, self.left)
            self.left -= count
            return bytes(count)

    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, size in (sizes or {}).items():
            info = tarfile.TarInfo(name)
            info.size = size
            archive.addfile(info, Zeros(size))
    return path


def _members(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_members_the_manifest_does_not_name_are_never_read(exported: Path, tmp_path: Path) -> None:
    members = _members(exported)
    named = sum(len(data) for name, data in members.items() if name != "manifest.json")
    archive = _tar(tmp_path / "x.tar.gz", members, sizes={"images/999999.png": 64 * 1024 * 1024, "huge.bin": 10**8})
    with ris_core.open("memory") as system:
        # The total limit counts only what the manifest names, so the big members pass.
        context, report = system.import_context(archive, max_total_bytes=named)
        assert context.image_ids() == ["p0.png", "p1.png", "p2.png"] and not report.failed
        assert context.collection_images("best") == ["p0.png", "p2.png"]
        assert context.list_tags() == {"sea": 1}
        assert context.get_metadata("p2.png") == {"seed": 2}


def test_member_and_total_limits(exported: Path, tmp_path: Path) -> None:
    archive = _tar(tmp_path / "x.tar.gz", _members(exported))
    biggest = max(p.stat().st_size for p in (exported / "images").iterdir())
    with ris_core.open("memory") as system:
        with pytest.raises(errors.InvalidExportError, match="over the limit of"):
            system.import_context(archive, max_member_bytes=biggest - 1)
        with pytest.raises(errors.InvalidExportError, match="the files the manifest names hold"):
            system.import_context(archive, max_total_bytes=biggest)
        with pytest.raises(errors.InvalidExportError, match="over the limit of"):
            system.import_context(exported, max_member_bytes=biggest - 1)  # a folder too
        assert nothing_written(system)


def test_a_manifest_that_is_not_json_or_too_deep(tmp_path: Path) -> None:
    deep = '{"format": "ris-export", "version": 1, "context": "c", "images": ' + "[" * 100_000 + "]" * 100_000 + "}"
    for text, message in [("{nope", "not readable JSON"), (deep, "not readable JSON")]:
        archive = _tar(tmp_path / "bad.tar.gz", {"manifest.json": text.encode()})
        with ris_core.open("memory") as system:
            with pytest.raises(errors.InvalidExportError, match=message):
                system.import_context(archive)
            assert nothing_written(system)


def test_progress_of_export_and_import(tmp_path: Path) -> None:
    calls: list[tuple[int, int]] = []
    with ris_core.open("memory") as system:
        context = system.create_context("c")
        for seed in range(3):
            context.add_image(f"p{seed}.png", encode(photo(seed)))
        context.export(tmp_path / "c.tar.xz", on_progress=lambda done, total: calls.append((done, total)))
        assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]  # three images, then the manifest
        calls.clear()
        copy, _ = system.import_context(tmp_path / "c.tar.xz", name="copy", on_progress=lambda *a: calls.append(a))
        assert copy.image_ids() == ["p0.png", "p1.png", "p2.png"]
        assert [done for done, _ in calls] == list(range(1, 7)) and calls[-1] == (6, 6)  # 3 read, 3 stored


@pytest.mark.parametrize("suffix", [".zip", ".7z", ".gz", ".rar"])
def test_an_unsupported_archive_suffix_is_an_error_not_a_folder(tmp_path: Path, suffix: str) -> None:
    with ris_core.open("memory") as system:
        context = system.create_context("c")
        context.add_image("a", encode(photo(1)))
        with pytest.raises(errors.InvalidExportError, match="not a format ris writes"):
            context.export(tmp_path / f"x{suffix}")
    assert list(tmp_path.iterdir()) == []


def test_an_export_never_writes_into_a_non_empty_folder_or_leaves_a_partial_one(tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    with ris_core.open("memory") as system:
        context = system.create_context("c")
        context.add_image("a", encode(photo(1)))
        with pytest.raises(errors.InvalidExportError, match="not an empty folder"):
            context.export(tmp_path / "full")
        (tmp_path / "empty").mkdir()
        context.export(tmp_path / "empty")
        assert (tmp_path / "empty" / "manifest.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "full"]  # no partial exports left


def test_the_cli_shows_progress_and_refuses_zip(capsys: Capture, tmp_path: Path) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for seed in range(2):
        (photos / f"p{seed}.png").write_bytes(encode(photo(seed)))
    assert main(["index", str(photos), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["export", str(tmp_path / "out.tar"), "--progress"]) == 0
    assert "exporting default" in capsys.readouterr().err
    assert main(["export", str(tmp_path / "out.zip")]) == 4
    assert "not a format ris writes" in capsys.readouterr().err
    assert main(["-c", "copy", "import", str(tmp_path / "out.tar"), "--progress"]) == 0
    captured = capsys.readouterr()
    assert "importing" in captured.err and "2 added" in captured.out
