"""Every ``ris`` subcommand over the library, run in-process on real images, with the
``--json`` output parsed and checked against what the library itself reports."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import pytest
from PIL import Image

from ris_core.cli import cli, commands, main
from ris_core.testing.images import encode, near_copy, photo

Capture = pytest.CaptureFixture[str]


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """Five photos and a near copy of p1, in tmp_path/photos."""
    root = tmp_path / "photos"
    root.mkdir()
    for seed in range(5):
        (root / f"p{seed}.png").write_bytes(encode(photo(seed)))
    (root / "p1-copy.jpg").write_bytes(encode(near_copy(photo(1)), "JPEG", quality=85))
    return root


@pytest.fixture
def indexed(capsys: Capture, files: Path) -> Path:
    """The photos indexed into the default context."""
    ok(capsys, "index", str(files), "--no-progress")
    return files


def run(capsys: Capture, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def ok(capsys: Capture, *args: str) -> str:
    code, out, err = run(capsys, *args)
    assert code == 0, f"ris {' '.join(args)} exited {code}: {err}"
    return out


def js(capsys: Capture, *args: str) -> Any:
    return json.loads(ok(capsys, *args, "--json"))


def ids(results: list[dict[str, Any]]) -> list[str]:
    return [result["image_id"] for result in results]


# --- images ------------------------------------------------------------------------


def test_image_add_get_update_show_delete(capsys: Capture, files: Path, tmp_path: Path) -> None:
    added = js(capsys, "image", "add", "a", str(files / "p0.png"), "--metadata", '{"year": 2020}')
    assert added == {"context": "default", "action": "added", "image_id": "a"}
    assert "added 'b'" in ok(capsys, "image", "add", "b", str(files / "p2.png"))
    copy = tmp_path / "out.png"
    ok(capsys, "image", "get", "a", "-o", str(copy))
    assert copy.read_bytes() == (files / "p0.png").read_bytes()
    shown = js(capsys, "image", "show", "a")
    assert {k: shown[k] for k in ("image_id", "collections", "metadata")} == {
        "image_id": "a",
        "collections": [],
        "metadata": {"year": 2020},
    }

    updated = js(capsys, "image", "update", "a", str(files / "p1.png"), "-m", '{"year": 2021}')
    assert updated["action"] == "updated"
    ok(capsys, "image", "get", "a", "-o", str(copy))
    assert copy.read_bytes() == (files / "p1.png").read_bytes()
    assert json.loads(ok(capsys, "metadata", "get", "a")) == {"year": 2021}
    # The update replaced the features too: the near copy of p1 now finds "a".
    assert ids(js(capsys, "search", str(files / "p1-copy.jpg"))) == ["a"]

    assert ok(capsys, "image", "list").split() == ["a", "b"]
    assert js(capsys, "image", "delete", "a", "b")["image_ids"] == ["a", "b"]
    assert js(capsys, "image", "list") == []


def test_image_show_tells_what_the_catalog_knows_of_a_copy(capsys: Capture, files: Path) -> None:
    original = files / "p0.png"
    before = datetime.now(UTC).replace(microsecond=0)
    ok(capsys, "image", "add", "a", str(original))
    after = datetime.now(UTC)
    ok(capsys, "collection", "create", "trip", "a")
    with Image.open(original) as opened:
        width, height = opened.size
    shown = js(capsys, "image", "show", "a")
    added_at = datetime.fromisoformat(shown.pop("added_at"))
    assert added_at.tzinfo is not None and before <= added_at <= after  # when it was stored, in UTC
    assert shown == {
        "image_id": "a",
        "sha256": hashlib.sha256(original.read_bytes()).hexdigest(),
        "size": original.stat().st_size,
        "width": width,
        "height": height,
        "reference": False,
        "source": None,  # a copy refers to no file: deleting the original loses nothing
        "modified": None,
        "collections": ["trip"],
        "metadata": {},
    }
    text = ok(capsys, "image", "show", "a")
    for line in (
        "stored:      as a copy",
        "source:      -",
        f"sha256:      {shown['sha256']}",
        f"size:        {shown['size']} bytes",
        f"dimensions:  {width}x{height}",
        "collections: trip",
    ):
        assert line in text.splitlines(), (line, text)


def test_image_show_tells_the_file_a_reference_points_at(capsys: Capture, files: Path) -> None:
    ok(capsys, "index", str(files), "--no-progress")  # a folder is stored by reference
    source = files / "p1.png"
    shown = js(capsys, "image", "show", "p1.png")
    assert shown["reference"] is True
    assert shown["source"] == str(source)
    assert datetime.fromisoformat(shown["modified"]).timestamp() == pytest.approx(source.stat().st_mtime, abs=1)
    assert shown["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert shown["size"] == source.stat().st_size
    text = ok(capsys, "image", "show", "p1.png").splitlines()
    assert "stored:      by reference" in text
    assert f"source:      {source}" in text


def test_image_show_escapes_control_characters_in_the_source_path(capsys: Capture, tmp_path: Path) -> None:
    # An id may hold no control character, but the folder it was indexed from may.
    folder = tmp_path / "red\x1b[31m"
    folder.mkdir()
    (folder / "p.png").write_bytes(encode(photo(3)))
    ok(capsys, "index", str(folder), "--no-progress")
    text = ok(capsys, "image", "show", "p.png")
    assert "\x1b" not in text  # a file name cannot recolour or drive the terminal
    assert f"source:      {tmp_path}/red\\x1b[31m/p.png" in text.splitlines()
    assert js(capsys, "image", "show", "p.png")["source"] == str(folder / "p.png")


def test_update_without_metadata_keeps_it(capsys: Capture, files: Path) -> None:
    ok(capsys, "image", "add", "a", str(files / "p0.png"), "-m", '{"k": "v"}')
    ok(capsys, "image", "update", "a", str(files / "p3.png"))
    assert js(capsys, "metadata", "get", "a") == {"k": "v"}


def test_image_bytes_through_stdin_and_stdout(files: Path, tmp_path: Path) -> None:
    """``-`` reads stdin, and ``image get`` writes raw bytes to a stdout that is a pipe."""
    executable = shutil.which("ris", path=str(Path(sys.executable).parent))
    assert executable, "no 'ris' console script beside this Python"
    data = (files / "p4.png").read_bytes()
    added = subprocess.run([executable, "image", "add", "piped", "-"], input=data, capture_output=True)
    assert added.returncode == 0, added.stderr
    got = subprocess.run([executable, "image", "get", "piped"], capture_output=True)
    assert got.returncode == 0 and got.stdout == data


def test_image_list_filters_by_metadata_and_collection(capsys: Capture, indexed: Path) -> None:
    ok(capsys, "metadata", "set", "p0.png", '{"year": 2019}')
    ok(capsys, "metadata", "set", "p2.png", '{"year": 2022, "tags": ["cat"]}')
    ok(capsys, "metadata", "set", "p3.png", '{"year": 2023}')
    assert js(capsys, "image", "list", "--where", '{"year": {"$gte": 2020}}') == ["p2.png", "p3.png"]
    assert js(capsys, "image", "list", "--where", '{"tags": {"$contains": "cat"}}') == ["p2.png"]
    ok(capsys, "collection", "create", "best", "p0.png", "p3.png")
    assert js(capsys, "image", "list", "--collection", "best") == ["p0.png", "p3.png"]
    assert js(capsys, "image", "list", "--collection", "best", "--where", '{"year": 2023}') == ["p3.png"]


# --- features ----------------------------------------------------------------------


def test_features_get_extract_delete_create(capsys: Capture, indexed: Path) -> None:
    stored = js(capsys, "features", "get", "p1.png")
    assert stored["image_id"] == "p1.png" and stored["algorithm"] and stored["version"]
    assert len(bytes.fromhex(stored["data"])) * 8 >= stored["length_in_bits"] > 0
    extracted = js(capsys, "features", "extract", str(indexed / "p1.png"))
    assert extracted["data"] == stored["data"] and extracted["image_id"] is None
    table = ok(capsys, "features", "get", "p1.png").splitlines()
    assert table[0].split() == ["image", "algorithm", "version", "count", "bits", "bytes"]

    assert ids(js(capsys, "search", "p1-copy.jpg", "--id")) == ["p1.png"]
    ok(capsys, "features", "delete", "p1.png")
    assert js(capsys, "search", "p1-copy.jpg", "--id") == []  # stored, but no longer matches
    assert run(capsys, "features", "get", "p1.png")[0] == 3
    ok(capsys, "features", "create", "p1.png")
    assert ids(js(capsys, "search", "p1-copy.jpg", "--id")) == ["p1.png"]
    # update from another file: p1.png now looks like p2, so p2 finds it.
    assert js(capsys, "features", "update", "p1.png", str(indexed / "p2.png"))["action"] == "updated"
    assert "p1.png" in ids(js(capsys, "search", "p2.png", "--id"))


# --- metadata ----------------------------------------------------------------------


def test_metadata_set_get_update_delete(capsys: Capture, indexed: Path, tmp_path: Path) -> None:
    assert ok(capsys, "metadata", "get", "p0.png").strip() == "no metadata for 'p0.png'"
    assert js(capsys, "metadata", "get", "p0.png") == {}
    document = tmp_path / "meta.json"
    document.write_text('{"camera": "X100", "year": 2020}', encoding="utf-8")
    ok(capsys, "metadata", "set", "p0.png", f"@{document}")
    assert js(capsys, "metadata", "get", "p0.png") == {"camera": "X100", "year": 2020}
    merged = js(capsys, "metadata", "update", "p0.png", '{"year": 2021, "place": "Oslo"}')
    assert merged["metadata"] == {"camera": "X100", "year": 2021, "place": "Oslo"}
    assert json.loads(ok(capsys, "metadata", "update", "p0.png", "{}")) == merged["metadata"]
    ok(capsys, "metadata", "delete", "p0.png")
    assert js(capsys, "metadata", "get", "p0.png") == {}


def test_search_results_carry_metadata(capsys: Capture, indexed: Path) -> None:
    ok(capsys, "metadata", "set", "p1-copy.jpg", '{"source": "phone"}')
    results = js(capsys, "search", "p1.png", "--id")
    assert results == [
        {
            "image_id": "p1-copy.jpg",
            "similarity": results[0]["similarity"],
            "distance": results[0]["distance"],
            "method": results[0]["method"],
            "metadata": {"source": "phone"},
        }
    ]
    header, row = ok(capsys, "search", "p1.png", "--id").splitlines()
    assert header.split()[-1] == "metadata" and row.endswith('{"source":"phone"}')


# --- search filters, duplicates, collections ---------------------------------------


def test_search_and_duplicates_narrowed_by_filters(capsys: Capture, indexed: Path) -> None:
    query = str(indexed / "p1.png")
    assert ids(js(capsys, "search", query)) == ["p1.png", "p1-copy.jpg"]
    ok(capsys, "metadata", "set", "p1-copy.jpg", '{"kind": "copy"}')
    assert ids(js(capsys, "search", query, "--where", '{"kind": "copy"}')) == ["p1-copy.jpg"]
    assert ids(js(capsys, "search", query, "--where", '{"kind": {"$ne": "copy"}}')) == ["p1.png"]
    assert js(capsys, "search", query, "-n", "1") == js(capsys, "search", query)[:1]

    ok(capsys, "collection", "create", "originals", "p0.png", "p1.png", "p2.png")
    assert ids(js(capsys, "search", "p1-copy.jpg", "--id", "--collection", "originals")) == ["p1.png"]
    groups = js(capsys, "duplicates")
    assert [ids(group["images"]) for group in groups] == [["p1-copy.jpg", "p1.png"]]
    assert js(capsys, "duplicates", "--collection", "originals") == []
    assert js(capsys, "duplicates", "--where", '{"kind": "copy"}') == []
    assert ok(capsys, "duplicates", "--collection", "originals").strip() == "no duplicates"


def test_collection_lifecycle(capsys: Capture, indexed: Path) -> None:
    created = js(capsys, "collection", "create", "trip", "p0.png")
    assert created == {"context": "default", "action": "created", "collection": "trip", "image_ids": ["p0.png"]}
    ok(capsys, "collection", "create", "empty")
    ok(capsys, "collection", "add", "trip", "p1.png", "p2.png")
    assert js(capsys, "collection", "show", "trip") == {"name": "trip", "image_ids": ["p0.png", "p1.png", "p2.png"]}
    ok(capsys, "collection", "remove", "trip", "p0.png")
    assert ok(capsys, "collection", "show", "trip").split() == ["p1.png", "p2.png"]
    listed = js(capsys, "collection", "list")
    assert [(c["name"], c["image_count"]) for c in listed] == [("empty", 0), ("trip", 2)]
    assert set(listed[0]) == {"name", "image_count", "created_at"}
    assert js(capsys, "image", "show", "p1.png")["collections"] == ["trip"]

    ok(capsys, "collection", "rename", "trip", "holiday")
    assert [c["name"] for c in js(capsys, "collection", "list")] == ["empty", "holiday"]
    ok(capsys, "collection", "delete", "holiday")
    assert ok(capsys, "collection", "list").splitlines()[1].split()[:2] == ["empty", "0"]
    assert len(js(capsys, "image", "list")) == 6  # the images stayed


# --- tags --------------------------------------------------------------------------


def test_tags_by_files_and_by_ids(capsys: Capture, indexed: Path, tmp_path: Path) -> None:
    assert "no tags yet" in ok(capsys, "tag", "list")
    reference = tmp_path / "ref.jpg"
    reference.write_bytes(encode(near_copy(photo(3)), "JPEG", quality=80))
    created = js(capsys, "tag", "create", "three", str(reference))
    assert created["tag"] == "three" and created["references"] == 1
    assert js(capsys, "tag", "create", "three", "p3.png", "--id")["references"] == 2
    ok(capsys, "tag", "create", "one", "p1.png", "--id")
    assert js(capsys, "tag", "list") == [{"name": "one", "references": 1}, {"name": "three", "references": 2}]
    assert ids(js(capsys, "tag", "search", "three")) == ["p3.png"]
    assert set(ids(js(capsys, "tag", "search", "one", "three"))) == {"p1.png", "p1-copy.jpg", "p3.png"}
    ok(capsys, "collection", "create", "copies", "p1-copy.jpg")
    assert ids(js(capsys, "tag", "search", "one", "three", "--collection", "copies")) == ["p1-copy.jpg"]
    assert ok(capsys, "tag", "search", "three").splitlines()[1].split()[-1] == "p3.png"


# --- contexts ----------------------------------------------------------------------


def test_context_create_list_status_delete(capsys: Capture, files: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "no search contexts yet" in ok(capsys, "context", "list")
    assert js(capsys, "context", "create", "work") == {
        "context": "work",
        "action": "created",
        "options": {},
        "by_reference": False,
    }
    ok(capsys, "-c", "work", "image", "add", "a", str(files / "p0.png"))
    listed = js(capsys, "context", "list")
    assert [(c["name"], c["image_count"], c["backend"]) for c in listed] == [("work", 1, "local")]
    assert js(capsys, "contexts") == listed
    assert js(capsys, "context", "status", "work") == {"context": "work", "state": "idle", "detail": "Idle"}
    assert js(capsys, "-c", "work", "context", "status", "--wait", "--timeout", "5")["state"] == "idle"
    assert ok(capsys, "-c", "work", "context", "status").startswith("context 'work': idle")

    monkeypatch.setattr(sys, "stdin", io.StringIO("n\n"))
    code, _, err = run(capsys, "context", "delete", "work")
    assert code == 130 and "Delete context 'work' and its 1 image(s)?" in err
    assert [c["name"] for c in js(capsys, "contexts")] == ["work"]
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))
    assert "deleted context 'work' (1 images)" in ok(capsys, "context", "delete", "work")
    assert js(capsys, "contexts") == []
    ok(capsys, "context", "create", "again")
    assert js(capsys, "context", "delete", "again", "--yes") == {"context": "again", "action": "deleted", "images": 0}


# --- export and import -------------------------------------------------------------


def test_export_then_import_into_another_database(capsys: Capture, indexed: Path, tmp_path: Path) -> None:
    ok(capsys, "metadata", "set", "p2.png", '{"year": 2022}')
    ok(capsys, "collection", "create", "pair", "p1.png", "p1-copy.jpg")
    ok(capsys, "tag", "create", "two", str(indexed / "p2.png"))
    archive = tmp_path / "export.tar.gz"
    exported = js(capsys, "export", str(archive))
    assert exported == {"context": "default", "action": "exported", "path": str(archive), "images": 6}
    assert archive.is_file()

    other = str(tmp_path / "other.db")
    imported = js(capsys, "-d", other, "import", str(archive), "--name", "copy")
    assert imported["context"] == "copy" and imported["summary"]["added"] == 6
    assert {item["status"] for item in imported["items"]} == {"added"}
    assert js(capsys, "-d", other, "-c", "copy", "metadata", "get", "p2.png") == {"year": 2022}
    assert js(capsys, "-d", other, "-c", "copy", "collection", "show", "pair")["image_ids"] == ["p1-copy.jpg", "p1.png"]
    assert ids(js(capsys, "-d", other, "-c", "copy", "tag", "search", "two")) == ["p2.png"]
    # Re-importing skips what is there; --context names the target when --name is absent.
    again = ok(capsys, "-d", other, "-c", "copy", "import", str(archive))
    assert again.startswith("context 'copy': 6 skipped")
    ok(capsys, "-d", other, "import", str(archive))  # the exported name, "default"
    assert sorted(c["name"] for c in js(capsys, "-d", other, "contexts")) == ["copy", "default"]


# --- statistics --------------------------------------------------------------------


def test_stats_count_searches_cache_hits_and_analytics(capsys: Capture, indexed: Path) -> None:
    ok(capsys, "search", "p1.png", "--id")
    ok(capsys, "search", "p3.png", "--id")
    ok(capsys, "duplicates")
    ok(capsys, "tag", "create", "t", "p0.png", "--id")
    found = js(capsys, "stats")
    assert found | {"latency_ms": None} == {
        "context": "default",
        "backend": "local",
        "images": 6,
        "tags": 1,
        "collections": 0,
        "searches": {"find_similar_images": 2, "find_duplicates": 1},
        "cache_hits": 0,
        "dropped": 0,
        "latency_ms": None,
        "most_searched": [{"image_id": "p1.png", "count": 1}, {"image_id": "p3.png", "count": 1}],
        "most_matched": [{"image_id": "p1-copy.jpg", "count": 2}, {"image_id": "p1.png", "count": 1}],
    }
    assert set(found["latency_ms"]) == {"find_similar_images", "find_duplicates"}
    latency = found["latency_ms"]["find_similar_images"]
    assert latency["count"] == 2 and 0 < latency["p50"] <= latency["p90"] <= latency["p99"] <= latency["max"]
    text = ok(capsys, "stats")
    assert "6 images, 1 tags, 0 collections" in text and "3 searches" in text
    assert "p50 ms" in text and "most matched: p1-copy.jpg (2)" in text
    header, row = next(
        (line.split(), following.split())
        for line, following in zip(text.splitlines(), text.splitlines()[1:], strict=False)
        if line.startswith("operation")
    )
    # Every figure of the JSON's latency is in the table, the mean too.
    assert header == ["operation", "searches", "mean", "ms", "p50", "ms", "p90", "ms", "p99", "ms", "max", "ms"]
    shown = {"find_duplicates": found["latency_ms"]["find_duplicates"], "find_similar_images": latency}[row[0]]
    assert [float(cell) for cell in row[2:]] == [round(shown[key], 2) for key in ("mean", "p50", "p90", "p99", "max")]
    assert "not counted" not in text  # nothing was dropped


# --- the README lists every command ------------------------------------------------

README = Path(__file__).resolve().parents[2] / "README.md"
assert commands  # importing it registers every subcommand on ``cli``
GLOBAL_WITH_VALUE = {"-b", "--backend", "-d", "--database", "-c", "--context", "-o", "--option", "--catalog"}


def _documented() -> set[str]:
    section = README.read_text(encoding="utf-8").split("## The `ris` command")[1].split("\n## ")[0]
    block = section.split("```sh\n")[1].split("```")[0]
    paths = set()
    for line in block.splitlines():
        words = line.split("#")[0].split()
        if not words or words[0] != "ris":
            continue
        words = words[1:]
        while words and words[0] in GLOBAL_WITH_VALUE:
            words = words[2:]
        if words[0] in _groups():
            paths.update(f"{words[0]} {sub}" for sub in words[1].split("|"))
        else:
            paths.add(words[0])
    return paths


def _groups() -> dict[str, list[str]]:
    return {name: list(command.commands) for name, command in cli.commands.items() if isinstance(command, click.Group)}


def test_the_readme_lists_every_command_and_no_other() -> None:
    groups = _groups()
    every = {f"{group} {sub}" for group, subs in groups.items() for sub in subs}
    every |= {name for name in cli.commands if name not in groups}
    assert _documented() == every


def test_samples_json_lists_the_files_written(capsys: Capture, tmp_path: Path) -> None:
    written = js(capsys, "samples", str(tmp_path / "s"))
    assert written["action"] == "wrote" and written["photos"] and written["queries"]
    assert all(Path(path).is_file() for path in written["photos"] + written["queries"])


def test_every_command_but_image_get_shell_and_serve_takes_json() -> None:
    leaves = {name: command for name, command in cli.commands.items() if not isinstance(command, click.Group)}
    for group, subs in _groups().items():
        group_command = cli.commands[group]
        assert isinstance(group_command, click.Group)
        leaves.update({f"{group} {sub}": group_command.commands[sub] for sub in subs})
    without = {name for name, command in leaves.items() if "as_json" not in {p.name for p in command.params}}
    assert without == {"image get", "serve", "shell"}  # serve runs a server: nothing to print
