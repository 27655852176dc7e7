"""Batch ingest: folders, patterns, pairs, bad files, resuming, progress."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import ris_core
from ris_core import errors
from ris_core.cli import main
from ris_core.context import SearchContext
from ris_core.ingest import IngestItem, IngestStatus
from ris_core.system import ImageSearch
from ris_core.testing.images import encode, not_an_image, photo, truncated_jpeg


@pytest.fixture
def system() -> ImageSearch:
    with ris_core.open(database=":memory:") as opened:
        yield opened


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    for seed in range(3):
        (root / f"p{seed}.jpg").write_bytes(encode(photo(seed), "JPEG", quality=90))
    (root / "sub" / "p3.PNG").write_bytes(encode(photo(3)))
    (root / "sub" / "broken.jpg").write_bytes(truncated_jpeg())
    (root / "notes.txt").write_text("not an image")
    (root / "fake.png").write_bytes(not_an_image())
    return root


def _statuses(items: list[IngestItem]) -> dict[str, str]:
    return {item.image_id: item.status.value for item in items}


def test_folder_ingest_reports_every_file_and_continues_past_bad_ones(system: ImageSearch, folder: Path) -> None:
    context = system.create_context("c")
    report = context.add_images(folder, progress=False)
    assert _statuses(report.items) == {
        "p0.jpg": "added",
        "p1.jpg": "added",
        "p2.jpg": "added",
        "sub/p3.PNG": "added",
        "sub/broken.jpg": "failed",
        "fake.png": "failed",
    }
    assert context.image_ids() == ["p0.jpg", "p1.jpg", "p2.jpg", "sub/p3.PNG"]
    failed = {item.image_id: item for item in report.failed}
    assert failed["sub/broken.jpg"].error_type == "InvalidImageError"
    assert failed["fake.png"].source == str(folder / "fake.png")


def test_rerun_skips_unchanged_and_updates_changed(system: ImageSearch, folder: Path) -> None:
    context = system.create_context("c")
    context.add_images(folder, progress=False)
    (folder / "p1.jpg").write_bytes(encode(photo(9), "JPEG", quality=90))
    report = context.add_images(folder, progress=False, exclude=["broken*", "fake*"])
    assert report.summary() == {"added": 0, "updated": 1, "skipped": 3, "failed": 0}
    assert context.find_similar_images(image=encode(photo(9)), max_count=1)[0].image_id == "p1.jpg"


def test_include_exclude_and_non_recursive(system: ImageSearch, folder: Path) -> None:
    context = system.create_context("c")
    report = context.add_images(folder, include=["*.jpg"], exclude=["p2*"], recursive=False, progress=False)
    assert sorted(item.image_id for item in report.items) == ["p0.jpg", "p1.jpg"]


def test_single_files_get_their_name_as_id(system: ImageSearch, folder: Path) -> None:
    context = system.create_context("c")
    context.add_images([folder / "p0.jpg", folder / "sub" / "p3.PNG"], progress=False)
    assert context.image_ids() == ["p0.jpg", "p3.PNG"]


def test_pairs_of_id_and_image(system: ImageSearch) -> None:
    context = system.create_context("c")
    report = context.add_images(
        [("a", encode(photo(1))), ("../bad", encode(photo(2))), ("b", photo(3))], progress=False
    )
    assert _statuses(report.items) == {"a": "added", "../bad": "failed", "b": "added"}
    assert next(i for i in report.items if i.image_id == "../bad").error_type == "InvalidIdError"


def test_progress_callback_sees_every_item(system: ImageSearch, folder: Path) -> None:
    seen: list[tuple[int, int, IngestStatus]] = []
    context = system.create_context("c")
    context.add_images(
        folder, progress=False, workers=2, on_progress=lambda done, total, item: seen.append((done, total, item.status))
    )
    assert sorted(done for done, _, _ in seen) == [1, 2, 3, 4, 5, 6]
    assert {total for _, total, _ in seen} == {6}


def test_a_batch_on_several_workers_is_reported_in_its_order(system: ImageSearch, tmp_path: Path) -> None:
    """The workers take the largest files first, but the report keeps the batch's order."""
    folder = tmp_path / "sizes"
    folder.mkdir()
    for number, side in enumerate((120, 640, 200, 480, 90, 360, 560, 150, 300)):
        (folder / f"{number}.png").write_bytes(encode(photo(number, (side, side * 3 // 4))))
    context = system.create_context("c")
    seen: list[str] = []
    report = context.add_images(
        folder, progress=False, workers=2, on_progress=lambda done, total, item: seen.append(item.image_id)
    )
    assert [item.image_id for item in report.items] == [f"{number}.png" for number in range(9)]
    assert {item.status for item in report.items} == {IngestStatus.ADDED}
    assert sorted(seen) == sorted(item.image_id for item in report.items)  # each once, as it finished


def test_missing_source_fails_before_anything_is_added(system: ImageSearch, folder: Path) -> None:
    context = system.create_context("c")
    with pytest.raises(errors.SourceNotFoundError):
        context.add_images([folder, folder / "nope"], progress=False)
    assert len(context) == 0


def test_mixing_paths_and_pairs_is_refused(system: ImageSearch, folder: Path) -> None:
    context: SearchContext = system.create_context("c")
    with pytest.raises(errors.InvalidArgumentError):
        context.add_images([folder / "p0.jpg", ("a", encode(photo(1)))], progress=False)  # type: ignore[list-item]


def _index(capsys: pytest.CaptureFixture[str], database: Path, folder: Path) -> dict[str, Any]:
    code = main(["-d", str(database), "index", str(folder), "--no-progress", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    found: dict[str, Any] = json.loads(captured.out)
    return found


def _skipped(report: dict[str, Any]) -> list[tuple[str, str]]:
    return [(item["image_id"], item["detail"]) for item in report["items"] if item["status"] == "skipped"]


def test_hard_links_to_one_file_are_indexed_once(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Two names of one file (same device and inode) are one image, as two symlinks to
    it are: the second name is reported as the same file, not read and stored again."""
    folder, elsewhere, database = tmp_path / "photos", tmp_path / "elsewhere", tmp_path / "ris.db"
    folder.mkdir()
    elsewhere.mkdir()
    (folder / "a.jpg").write_bytes(encode(photo(1), "JPEG", quality=90))
    os.link(folder / "a.jpg", folder / "b.jpg")
    (folder / "c.png").write_bytes(encode(photo(2)))
    first = _index(capsys, database, folder)
    assert first["summary"] == {"added": 2, "updated": 0, "skipped": 1, "failed": 0}
    assert _skipped(first) == [("b.jpg", "same file as 'a.jpg'")]
    # Later, from another folder: the link to a file indexed by an earlier run is known too.
    os.link(folder / "c.png", elsewhere / "c-link.png")
    later = _index(capsys, database, elsewhere)
    assert later["summary"] == {"added": 0, "updated": 0, "skipped": 1, "failed": 0}
    assert _skipped(later) == [("c-link.png", "same file as 'c.png'")]
    again = _index(capsys, database, folder)  # a re-run changes nothing
    assert again["summary"] == {"added": 0, "updated": 0, "skipped": 3, "failed": 0}
    with ris_core.open("local", database=database) as system:
        assert system.context("default").image_ids() == ["a.jpg", "c.png"]


def test_plain_text_index_names_each_skipped_link(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Without --json, the links skipped as another name of an indexed file are named
    with what they are the same file as, not only counted; unchanged files stay silent."""
    folder, database = tmp_path / "photos", tmp_path / "ris.db"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(encode(photo(1), "JPEG", quality=90))
    os.link(folder / "a.jpg", folder / "b.jpg")
    (folder / "c.jpg").symlink_to(folder / "a.jpg")

    def index() -> list[str]:
        code = main(["-d", str(database), "index", str(folder), "--no-progress"])
        captured = capsys.readouterr()
        assert (code, captured.err) == (0, "")
        return captured.out.splitlines()

    first = index()
    assert "context 'default': 1 added, 2 skipped; 1 images in all" in first
    skipped = [line for line in first if line.startswith("  skipped ")]
    assert skipped == [
        f"  skipped {folder / 'b.jpg'}: same file as 'a.jpg'",
        f"  skipped {folder / 'c.jpg'}: same file as 'a.jpg'",
    ]
    again = index()  # a re-run: a.jpg is unchanged (silent), the two links are named again
    assert "context 'default': 3 skipped; 1 images in all" in again
    assert [line for line in again if line.startswith("  skipped ")] == skipped


def test_a_copy_with_the_same_bytes_is_not_a_link(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Equal bytes in two files are two images (duplicates to review), not one file."""
    folder, database = tmp_path / "photos", tmp_path / "ris.db"
    folder.mkdir()
    for name in ("a.jpg", "copy.jpg"):
        (folder / name).write_bytes(encode(photo(1), "JPEG", quality=90))
    assert _index(capsys, database, folder)["summary"] == {"added": 2, "updated": 0, "skipped": 0, "failed": 0}
