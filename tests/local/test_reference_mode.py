"""Issue 15: images stored by reference (path, size, mtime, hash), pruned when their
files go, one image per file however many links reach it, exported with their bytes."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import ris_core
from ris_core import errors
from ris_core.cli import main
from ris_core.ingest import IngestStatus
from ris_core.testing.images import encode, photo


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    root.mkdir()
    for seed in range(4):
        (root / f"p{seed}.jpg").write_bytes(encode(photo(seed, (640, 480)), "JPEG", quality=95))
    return root


def _ris(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_a_reference_is_read_back_from_its_file_and_checked(tmp_path: Path, folder: Path) -> None:
    database = tmp_path / "ris.db"
    with ris_core.open("local", database=database) as system:
        context = system.create_context("album", by_reference=True)
        assert context.by_reference
        report = context.add_images(folder, progress=False)
        assert report.count(IngestStatus.ADDED) == 4
        assert context.get_image("p1.jpg") == (folder / "p1.jpg").read_bytes()
        info = context.image_info("p1.jpg")
        assert info.reference and info.source == (folder / "p1.jpg").resolve()
        assert info.size == (folder / "p1.jpg").stat().st_size and (info.width, info.height) == (640, 480)
        assert info.modified is not None
        assert abs(info.modified.timestamp() - (folder / "p1.jpg").stat().st_mtime) < 1e-3
        [match] = context.find_similar_images(image=folder / "p2.jpg", max_count=1)
        assert match.image_id == "p2.jpg"
        # Bytes given as data are copied even here: there is no file to refer to.
        context.add_image("copied", encode(photo(9)))
        assert not context.image_info("copied").reference

        (folder / "p1.jpg").write_bytes(encode(photo(7, (640, 480)), "JPEG"))
        with pytest.raises(errors.SourceFileChangedError, match="has changed"):
            context.get_image("p1.jpg")
        (folder / "p2.jpg").unlink()
        with pytest.raises(errors.SourceFileMissingError, match="is gone"):
            context.get_image("p2.jpg")
        # The rest of the context still searches.
        [match] = context.find_similar_images(image=folder / "p3.jpg", max_count=1)
        assert match.image_id == "p3.jpg"

        synced = context.sync(progress=False)
        assert {item.image_id: item.status for item in synced.items} == {
            "p0.jpg": IngestStatus.SKIPPED,
            "p1.jpg": IngestStatus.UPDATED,
            "p2.jpg": IngestStatus.REMOVED,
            "p3.jpg": IngestStatus.SKIPPED,
        }
        assert context.image_ids() == ["copied", "p0.jpg", "p1.jpg", "p3.jpg"]
        assert context.get_image("p1.jpg") == (folder / "p1.jpg").read_bytes()
        assert "p2.jpg" not in [match.image_id for match in context.find_similar_images(image=photo(2, (640, 480)))]


def test_references_keep_the_database_free_of_copies(tmp_path: Path, folder: Path) -> None:
    sizes = {}
    for by_reference in (False, True):
        database = tmp_path / f"{by_reference}.db"
        with ris_core.open("local", database=database) as system:
            system.create_context("album", by_reference=by_reference).add_images(folder, progress=False)
        sizes[by_reference] = os.path.getsize(database)
    photos = sum(path.stat().st_size for path in folder.iterdir())
    assert sizes[False] - sizes[True] >= 0.9 * photos


def test_a_file_reached_through_several_links_is_one_image(tmp_path: Path, folder: Path) -> None:
    links = tmp_path / "links"
    links.mkdir()
    for number in range(3):
        (links / f"link{number}.jpg").symlink_to(folder / "p0.jpg")
    with ris_core.open("local", database=":memory:") as system:
        context = system.create_context("album", by_reference=True)
        first = context.add_images(links, progress=False)
        assert first.summary() == {"added": 1, "updated": 0, "skipped": 2, "failed": 0}
        assert {item.detail for item in first.items if item.status is IngestStatus.SKIPPED} == {
            "same file as 'link0.jpg'"
        }
        again = context.add_images(folder, progress=False)
        assert [(item.image_id, item.detail) for item in again.items if item.image_id == "p0.jpg"] == [
            ("p0.jpg", "same file as 'link0.jpg'")
        ]
        assert len(context) == 4


def test_export_and_import_carry_the_bytes_of_references(tmp_path: Path, folder: Path) -> None:
    with ris_core.open("local", database=tmp_path / "a.db") as system:
        context = system.create_context("album", by_reference=True)
        context.add_images(folder, progress=False)
        context.export(tmp_path / "album.tar.gz")
    for path in folder.iterdir():
        moved = tmp_path / "elsewhere" / path.name
        moved.parent.mkdir(exist_ok=True)
        path.rename(moved)
    with ris_core.open("local", database=tmp_path / "b.db") as system:
        context, report = system.import_context(tmp_path / "album.tar.gz", progress=False)
        assert not report.failed and len(context) == 4
        assert context.get_image("p3.jpg") == (tmp_path / "elsewhere" / "p3.jpg").read_bytes()


def test_ris_index_of_a_folder_stores_by_reference_and_prunes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, folder: Path
) -> None:
    database = str(tmp_path / "ris.db")
    code, output = _ris(capsys, "-d", database, "index", str(folder), "--no-progress")
    assert code == 0 and output.count("stores images by reference") == 1 and "4 added" in output
    (folder / "p0.jpg").unlink()
    (folder / "p1.jpg").write_bytes(encode(photo(8, (640, 480)), "JPEG"))
    code, output = _ris(capsys, "-d", database, "index", str(folder), "--prune", "--no-progress", "--json")
    assert code == 0, output
    assert json.loads(output)["summary"] == {"added": 0, "updated": 1, "skipped": 2, "removed": 1, "failed": 0}
    code, output = _ris(capsys, "-d", database, "image", "list")
    assert output.split() == ["p1.jpg", "p2.jpg", "p3.jpg"]
    # --by-copy for a new context keeps copies, and says so.
    code, output = _ris(capsys, "-d", database, "-c", "copies", "index", str(folder), "--by-copy", "--no-progress")
    assert code == 0 and "stores images by copy" in output
    with ris_core.open("local", database=database) as system:
        assert not system.context("copies").image_info("p2.jpg").reference


def test_a_backend_that_keeps_copies_refuses_reference_mode() -> None:
    with (
        ris_core.open("memory") as system,
        pytest.raises(errors.UnsupportedOperationError, match="cannot store them by reference"),
    ):
        system.create_context("album", by_reference=True)
