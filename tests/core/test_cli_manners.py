"""The CLI speaks CLI: messages name commands, names print safely on a terminal,
``compare`` takes two files, ``search`` hints at ``--id``, ``calibrate`` warns on too few
pairs, and long commands show progress."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import ris_core
from ris_core import errors
from ris_core.cli import main
from ris_core.testing.images import encode, near_copy, photo

Capture = pytest.CaptureFixture[str]


def run(capsys: Capture, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def photos(tmp_path: Path, capsys: Capture) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for seed in range(3):
        (folder / f"p{seed}.png").write_bytes(encode(photo(seed)))
    assert main(["index", str(folder), "--no-progress"]) == 0
    capsys.readouterr()
    return folder


def test_messages_name_commands_not_methods(capsys: Capture, photos: Path) -> None:
    code, _, err = run(capsys, "image", "add", "p0.png", str(photos / "p1.png"))
    assert code == 7 and "`ris image update`" in err and "update_image()" not in err
    code, _, err = run(capsys, "-c", "elsewhere", "image", "list")
    assert code == 3 and "`ris contexts`" in err and "list_contexts()" not in err
    # The library keeps naming its own methods for library users.
    with ris_core.open("local") as system, pytest.raises(errors.ImageExistsError, match=r"update_image\(\)"):
        system.context("default").add_image("p0.png", photos / "p1.png")


def test_compare_takes_two_plain_files(capsys: Capture, tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(encode(photo(4)))
    (tmp_path / "b.jpg").write_bytes(encode(near_copy(photo(4)), "JPEG", quality=85))
    code, out, err = run(capsys, "compare", str(tmp_path / "a.png"), str(tmp_path / "b.jpg"), "--json")
    assert (code, err) == (0, "")
    assert json.loads(out)["similarity"] > 80
    with ris_core.open("local") as system:
        assert system.list_contexts() == []  # the temporary context is gone
    code, _, err = run(capsys, "compare", str(tmp_path / "a.png"), str(tmp_path / "missing.png"))
    assert code == 3 and "no such file" in err


def test_search_of_an_indexed_id_without_id_gives_a_hint(capsys: Capture, photos: Path) -> None:
    code, out, err = run(capsys, "search", "p1.png")
    assert code == 3 and out == "" and "search with --id p1.png" in err


def test_calibrate_warns_when_it_has_too_few_pairs(capsys: Capture, tmp_path: Path) -> None:
    rows = []
    for seed in range(3):
        (tmp_path / f"a{seed}.png").write_bytes(encode(photo(seed)))
        (tmp_path / f"b{seed}.jpg").write_bytes(encode(near_copy(photo(seed)), "JPEG", quality=85))
        rows.append(f"a{seed}.png,b{seed}.jpg,same")
    rows += ["a0.png,a1.png,different", "a1.png,a2.png,different", "a0.png,b2.jpg,different"]
    (tmp_path / "pairs.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, out, err = run(capsys, "calibrate", str(tmp_path / "pairs.csv"))
    assert code == 0 and out.startswith("threshold ")
    assert "warning: only 3 same-picture pair(s)" in err
    assert "warning: only 3 different-picture pair(s)" in err and "fewer than 100" in err
    code, out, _ = run(capsys, "calibrate", str(tmp_path / "pairs.csv"), "--target-fpr", "0.2", "--json")
    assert code == 0 and len(json.loads(out)["warnings"]) == 2  # 20 of each kind is the floor


def test_long_commands_show_progress(capsys: Capture, photos: Path, tmp_path: Path) -> None:
    code, _, err = run(capsys, "duplicates", "--progress")
    assert code == 0 and "finding duplicates among 3 images" in err
    (tmp_path / "pairs.csv").write_text("p0.png,p1.png,different\n", encoding="utf-8")
    for name in ("p0.png", "p1.png"):
        (tmp_path / name).write_bytes((photos / name).read_bytes())
    code, _, err = run(capsys, "calibrate", str(tmp_path / "pairs.csv"), "--progress")
    assert code == 0 and "scoring pairs" in err
    code, _, err = run(capsys, "parity", str(photos), str(photos / "p0.png"), "--against", "memory", "--progress")
    assert code == 0 and "running the workload on local and memory" in err
    code, _, err = run(capsys, "duplicates")  # not a terminal, not asked: quiet
    assert (code, err) == (0, "")


# --- terminal safety ----------------------------------------------------------------------


def test_ids_with_c1_controls_or_lone_surrogates_are_refused() -> None:
    with ris_core.open("memory") as system:
        context = system.create_context("c")
        for bad in ("a\u0085b", "a\u009b31mb", "caf\udce9.jpg"):
            with pytest.raises(errors.InvalidIdError):
                context.add_image(bad, encode(photo(1)))
        assert len(context) == 0


def test_file_names_never_reach_the_terminal_raw(capsys: Capture, tmp_path: Path) -> None:
    folder = tmp_path / "hostile"
    folder.mkdir()
    (folder / "red\x1b[31m.png").write_bytes(encode(photo(1)))
    (folder / "csi\u009b2J.png").write_bytes(encode(photo(2)))
    with open(os.fsencode(folder) + b"/caf\xe9.png", "wb") as latin1:  # a Latin-1 name, not UTF-8
        latin1.write(encode(photo(3)))
    code, out, err = run(capsys, "index", str(folder), "--no-progress")
    assert code == 1 and "Traceback" not in err  # the control characters are reported failures
    for raw in ("\x1b", "\x9b", "\udce9"):
        assert raw not in out + err
    assert "red\\x1b[31m.png" in err and "csi\\x9b2J.png" in err


def test_printable_but_deceptive_ids_are_escaped_and_json_stays_exact(capsys: Capture, tmp_path: Path) -> None:
    sneaky = "report\u202egnp.exe"  # a right-to-left override: shows as "reportexe.png"
    with ris_core.open("local") as system:
        system.create_context("default").add_image(sneaky, encode(photo(1)))
    code, out, _ = run(capsys, "image", "list")
    assert code == 0 and out == "report\\u202egnp.exe\n"
    code, out, _ = run(capsys, "image", "list", "--json")
    assert code == 0 and "\u202e" not in out and json.loads(out) == [sneaky]


def test_the_readme_exit_code_table_is_what_the_cli_does() -> None:
    import re

    from ris_core.cli.app import exit_code_for

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d+) \| [^|]+ \| ([^|]*) \|$", readme, flags=re.MULTILINE)
    checked = 0
    for code, names in rows:
        for name in re.findall(r"`(\w+Error)`", names):
            error_type = getattr(errors, name)
            error = error_type("x", path="p") if issubclass(error_type, errors.StorageError) else error_type("x")
            assert exit_code_for(error) == int(code), name
            checked += 1
    assert checked >= 14  # the table was found and read


def test_usage_errors_escape_what_the_user_typed(capsys: Capture) -> None:
    code, _, err = run(capsys, "nonsense\x1b[2J\x9b")
    assert code == 2 and "No such command 'nonsense\\x1b[2J\\x9b'" in err and "\x1b" not in err
