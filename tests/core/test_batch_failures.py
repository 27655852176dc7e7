"""Issue 15: one item never stops a batch, a failing store stops it cleanly, and ids
from several roots never collide silently."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest
from PIL import Image

import ris_core
from ris_core import errors
from ris_core.cli import main
from ris_core.ingest import IngestStatus
from ris_core.testing.images import encode, photo


def _ris(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """Run the CLI; its exit code and everything it printed."""
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _statuses(report: ris_core.IngestReport) -> dict[str, str]:
    return {item.image_id: item.status.value for item in report.items}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    root.mkdir()
    for seed in range(3):
        (root / f"p{seed}.png").write_bytes(encode(photo(seed, (160, 120))))
    return root


def test_a_valid_1000x1_image_is_indexed_not_a_crash(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, folder: Path
) -> None:
    Image.new("L", (1000, 1), 128).save(folder / "strip.png")
    Image.new("L", (1, 1000), 128).save(folder / "column.png")
    code, output = _ris(capsys, "-d", str(tmp_path / "x.db"), "index", str(folder), "--no-progress")
    assert code == 0, output
    assert "5 added" in output
    with ris_core.open("local", database=tmp_path / "x.db") as system:
        assert system.context("default").get_image("strip.png") == (folder / "strip.png").read_bytes()


def test_any_exception_on_one_item_is_that_items_typed_failure(folder: Path) -> None:
    def picky(image: Image.Image) -> Image.Image:
        if image.size == (90, 60):
            raise RuntimeError("this step cannot take 90x60")
        return image

    (folder / "odd.png").write_bytes(encode(photo(7, (90, 60))))
    with ris_core.open("local", database=":memory:", preprocessing=[picky]) as system:
        report = system.create_context("c").add_images(folder, progress=False, workers=2)
    assert _statuses(report) == {"odd.png": "failed", "p0.png": "added", "p1.png": "added", "p2.png": "added"}
    [failure] = report.failed
    assert failure.error_type == "RuntimeError" and "cannot take 90x60" in failure.error


def test_a_file_name_that_is_not_utf8_is_refused_clearly_and_the_rest_indexed(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, folder: Path
) -> None:
    bad = os.path.join(os.fsencode(folder), b"caf\xe9.png")
    with open(bad, "wb") as handle:
        handle.write(encode(photo(5, (160, 120))))
    with ris_core.open("local", database=":memory:") as system:
        report = system.create_context("c").add_images(folder, progress=False)
    [failure] = report.failed
    assert failure.error_type == "InvalidIdError"
    assert failure.image_id == "caf\\xe9.png" and "not valid UTF-8" in failure.error
    assert report.count(IngestStatus.ADDED) == 3
    # The CLI prints it (escaped) and exits 1.
    code, output = _ris(capsys, "-d", str(tmp_path / "x.db"), "index", str(folder), "--no-progress")
    assert code == 1
    assert "caf\\xe9.png" in output and "not valid UTF-8" in output


def test_a_full_disk_stops_the_batch_with_storage_error_and_keeps_what_was_acknowledged(
    tmp_path: Path, folder: Path
) -> None:
    for seed in range(3, 12):
        (folder / f"p{seed}.png").write_bytes(encode(photo(seed, (160, 120))))
    database = tmp_path / "ris.db"
    acknowledged: list[str] = []
    with ris_core.open("local", database=database) as system:
        context = system.create_context("c")

        def fill_the_disk(done: int, total: int, item: ris_core.IngestItem) -> None:
            acknowledged.append(item.image_id)
            if done == 4:
                # SQLite's own "database or disk is full" from here on, on both
                # connections: the store's, and the catalog's.
                for database_ in (system.backend.database, system.catalog.database):  # type: ignore[attr-defined]
                    pages = database_.connection.execute("PRAGMA page_count").fetchone()[0]
                    database_.connection.execute(f"PRAGMA max_page_count = {pages}")

        with pytest.raises(errors.StorageFullError, match="full") as raised:
            context.add_images(folder, progress=False, workers=1, on_progress=fill_the_disk)
        assert isinstance(raised.value, OSError) and "a re-run resumes" in str(raised.value)
    assert len(acknowledged) == 4
    with sqlite3.connect(database) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with ris_core.open("local", database=database) as system:
        context = system.context("c")
        assert set(acknowledged) <= set(context.image_ids())
        for image_id in acknowledged:
            assert context.get_image(image_id) == (folder / image_id).read_bytes()
        resumed = context.add_images(folder, progress=False)
        assert not resumed.failed and len(context) == 12


def test_several_roots_get_distinct_ids_and_reruns_change_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    for number, camera in enumerate(("cameraA", "cameraB")):
        (tmp_path / camera).mkdir()
        (tmp_path / camera / "IMG_0001.jpg").write_bytes(encode(photo(number, (160, 120)), "JPEG"))
    database = str(tmp_path / "x.db")
    roots = [str(tmp_path / "cameraA"), str(tmp_path / "cameraB")]
    code, output = _ris(capsys, "-d", database, "index", *roots, "--no-progress", "--json")
    assert code == 0, output
    assert json.loads(output)["summary"]["added"] == 2
    for _ in range(2):
        code, output = _ris(capsys, "-d", database, "index", *roots, "--no-progress", "--json")
        assert json.loads(output)["summary"] == {"added": 0, "updated": 0, "skipped": 2, "failed": 0}
    with ris_core.open("local", database=database) as system:
        context = system.context("default")
        assert context.image_ids() == ["cameraA/IMG_0001.jpg", "cameraB/IMG_0001.jpg"]
        for camera in ("cameraA", "cameraB"):
            assert context.get_image(f"{camera}/IMG_0001.jpg") == (tmp_path / camera / "IMG_0001.jpg").read_bytes()


def test_an_id_another_file_holds_is_a_failure_never_a_silent_replace(tmp_path: Path) -> None:
    for number, camera in enumerate(("cameraA", "cameraB")):
        (tmp_path / camera).mkdir()
        (tmp_path / camera / "IMG_0001.jpg").write_bytes(encode(photo(number, (160, 120)), "JPEG"))
    with ris_core.open("local", database=":memory:") as system:
        context = system.create_context("c")
        context.add_images(tmp_path / "cameraA", progress=False)
        for _ in range(2):
            report = context.add_images(tmp_path / "cameraB", progress=False)
            [failure] = report.failed
            assert failure.error_type == "SourceConflictError" and "cameraA" in failure.error
            assert context.get_image("IMG_0001.jpg") == (tmp_path / "cameraA" / "IMG_0001.jpg").read_bytes()
        # The same file changed is updated, as before.
        (tmp_path / "cameraA" / "IMG_0001.jpg").write_bytes(encode(photo(9, (160, 120)), "JPEG"))
        assert _statuses(context.add_images(tmp_path / "cameraA", progress=False)) == {"IMG_0001.jpg": "updated"}


def test_two_roots_of_one_name_in_one_batch_collide_as_a_reported_failure(tmp_path: Path) -> None:
    for number, parent in enumerate(("x", "y")):
        (tmp_path / parent / "photos").mkdir(parents=True)
        (tmp_path / parent / "photos" / "a.png").write_bytes(encode(photo(number, (160, 120))))
    with ris_core.open("local", database=":memory:") as system:
        context = system.create_context("c")
        report = context.add_images([tmp_path / "x" / "photos", tmp_path / "y" / "photos"], progress=False)
        assert report.summary() == {"added": 1, "updated": 0, "skipped": 0, "failed": 1}
        assert report.failed[0].error_type == "SourceConflictError"
        assert context.get_image("photos/a.png") == (tmp_path / "x" / "photos" / "a.png").read_bytes()


def test_decoding_memory_is_bounded_or_refused(tmp_path: Path) -> None:
    # A 16-bit grey picture above the reduce-at-decode size is accepted and found by
    # its 8-bit copy; a decode the limit cannot cover is refused before decoding.
    import numpy as np

    gray = np.asarray(photo(3, (4200, 4000)).convert("L"), dtype=np.uint16) * 257
    wide = tmp_path / "wide.png"
    Image.fromarray(gray).save(wide)
    with ris_core.open("local", database=":memory:", max_decode_bytes=40 * 2**20) as system:
        context = system.create_context("c")
        context.add_image("wide", wide)
        [match] = context.find_similar_images(image=photo(3, (420, 400)).convert("L"), max_count=1)
        assert match.image_id == "wide"
        with pytest.raises(errors.ImageTooLargeError, match="needs 64 MiB to decode"):
            context.add_image("rgba", Image.new("RGBA", (4096, 4096), (0, 0, 0, 0)))
        assert context.image_ids() == ["wide"]
