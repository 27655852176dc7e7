"""``ris shell``: the menu's logic driven with scripted answers, and the real console
script driven through a pseudo-terminal with pexpect."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest

import ris_core
from ris_core.cli import main
from ris_core.cli.shell import Shell
from ris_core.system import ImageSearch
from ris_core.testing.images import encode, near_copy, not_an_image, photo

Capture = pytest.CaptureFixture[str]
PROMPT = "choice [1-14, q]"


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """Five photos and a near copy of p1 in tmp_path/photos; queries beside it."""
    root = tmp_path / "photos"
    root.mkdir()
    for seed in range(5):
        (root / f"p{seed}.png").write_bytes(encode(photo(seed)))
    (root / "p1-copy.jpg").write_bytes(encode(near_copy(photo(1)), "JPEG", quality=85))
    (tmp_path / "query3.jpg").write_bytes(encode(near_copy(photo(3)), "JPEG", quality=80))
    (tmp_path / "notes.txt").write_bytes(not_an_image())
    return root


@pytest.fixture
def system(tmp_path: Path) -> Iterator[ImageSearch]:
    with ris_core.open("local", database=str(tmp_path / "ris.db")) as opened:
        yield opened


class Session:
    """Scripted answers in, printed lines out; the end of the script is end of input."""

    def __init__(self, system: ImageSearch, *answers: str | BaseException, context: str = "default") -> None:
        self.answers = list(answers)
        self.prompts: list[str] = []
        self.lines: list[str] = []
        self.shell = Shell(system, context, self.ask, self.lines.append)

    def ask(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if not self.answers:
            raise EOFError
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def run(self) -> str:
        self.shell.run()
        return "\n".join(self.lines)

    @property
    def menus(self) -> int:
        return sum(1 for line in self.lines if line.startswith("ris shell - context"))


def test_the_seed_menu_add_find_duplicates_tag_find_by_tags(system: ImageSearch, files: Path, tmp_path: Path) -> None:
    session = Session(
        system,
        "1",
        str(files),  # add a folder
        "2",
        str(tmp_path / "query3.jpg"),
        "",
        "",
        "",  # find similar, defaults
        "3",
        "",
        "",  # find duplicates
        "4",
        "three",
        str(tmp_path / "query3.jpg"),
        "",  # add tag, one reference
        "5",
        "three",
        "",
        "",
        "",  # find by tags
        "q",
    )
    out = session.run()
    assert "6 added; 6 images in all" in out
    tables = [i for i, line in enumerate(session.lines) if line.startswith("rank  similarity")]
    assert len(tables) == 2
    for start in tables:  # both searches: p3.png is the best match
        assert session.lines[start + 1].split()[-1] == "p3.png"
    group = session.lines.index("group 1:")
    assert [line.split()[-1] for line in session.lines[group + 1 : group + 3]] == ["p1-copy.jpg", "p1.png"]
    assert "tag 'three' has 1 reference image(s)" in out
    assert session.lines[-1] == "bye" and session.menus == 6
    assert len(system.context("default")) == 6 and system.context("default").list_tags() == {"three": 1}


def test_one_file_with_metadata_then_collections_metadata_and_delete(system: ImageSearch, files: Path) -> None:
    session = Session(
        system,
        "1",
        f"'{files / 'p0.png'}'",
        "",
        '{"year": 2020}',  # quoted path, default id
        "1",
        str(files / "p1.png"),
        "one",
        "",
        "8",
        "fav",
        "p0.png, one",  # creates the collection
        "7",
        "6",
        '{"year": 2020}',  # list images by a filter
        "11",
        "one",
        '{"year": 2021}',
        "10",
        "one",
        "9",
        "fav",
        "p0.png",
        "12",
        "p0.png",
        "n",
        "12",
        "p0.png",
        "y",
        "6",
        "",
        "quit",
    )
    out = session.run()
    context = system.context("default")
    assert "added 'p0.png'; 1 images in all" in out and "added 'one'; 2 images in all" in out
    assert "created collection 'fav'" in out and "collection 'fav' has 2 image(s)" in out
    assert "fav         2" in session.lines
    assert 'p0.png  {"year": 2020}' in session.lines
    assert '  "year": 2021' in session.lines and "collections: fav" in session.lines
    assert "collection 'fav' has 1 image(s)" in out
    assert "kept" in session.lines and "deleted 'p0.png'" in session.lines
    assert context.image_ids() == ["one"] and context.get_metadata("one") == {"year": 2021}
    assert context.collection_images("fav") == ["one"]


def test_bad_answers_print_the_error_and_the_menu_comes_back(system: ImageSearch, files: Path, tmp_path: Path) -> None:
    session = Session(
        system,
        "99",  # no such entry
        "1",
        str(files / "p0.png"),
        "a",
        "{not json",  # bad JSON
        "1",
        str(tmp_path / "notes.txt"),
        "b",
        "",  # not an image
        "1",
        str(tmp_path / "missing.png"),  # no such file
        "2",
        "p9.png",  # neither an id nor a file
        "1",
        str(files / "p0.png"),
        "d",
        "",
        "1",
        str(files / "p2.png"),
        "d",
        "",  # id taken
        "2",
        "d",
        "lots",  # not a number
        "2",
        "d",
        "150",
        "",
        "",  # out of range
        "2",
        "d",
        "",
        "1.5",  # not a whole number
        "2",
        "d",
        "",
        "",
        "nope",  # unknown collection
        "2",
        "d",
        "",
        "",
        "{bad",  # bad filter JSON
        "5",
        "nope",
        "",
        "",
        "",  # unknown tag
        "12",
        "ghost",  # unknown image
        "8",
        "",  # blank answer
        "",  # blank choice: just the menu again
        "q",
    )
    out = session.run()
    expected = [
        "no menu entry '99'",
        "error: not valid JSON",
        "error: not a supported image",
        "error: no file or folder",
        "error: 'p9.png' is neither an indexed image id nor a file",
        "is already in context",
        "error: 'lots' is not a number",
        "from 0 to 100",
        "error: '1.5' is not a whole number",
        "error: no collection 'nope'",
        "error: no tag 'nope'",
        "error: no image 'ghost'",
        "error: collection: an answer is needed",
    ]
    for message in expected:
        assert message in out
    # Every bad answer but the menu's own gave one error; the two bad JSON answers one each.
    assert out.count("error:") == len(expected) and out.count("error: not valid JSON") == 2
    assert session.menus == 17
    assert system.context("default").image_ids() == ["d"]


def test_end_of_input_inside_an_entry_quits_cleanly(system: ImageSearch, files: Path) -> None:
    session = Session(system, "1", str(files / "p0.png"))  # input ends at "image id"
    assert session.run().endswith("bye")
    assert session.prompts[-1] == "image id [p0.png]"
    assert len(system.context("default")) == 0


def test_ctrl_c_cancels_the_entry_and_at_the_menu_quits(system: ImageSearch, files: Path) -> None:
    session = Session(system, "1", str(files / "p0.png"), KeyboardInterrupt(), "7", KeyboardInterrupt())
    out = session.run()
    assert "cancelled" in out and "no collections" in out and out.endswith("bye")
    assert len(system.context("default")) == 0


def test_statistics_count_the_shells_searches_and_cache_hits(system: ImageSearch, files: Path) -> None:
    search_p1 = ("2", "p1.png", "", "", "")
    session = Session(system, "1", str(files), *search_p1, *search_p1, "13", "q")
    out = session.run()
    assert "2 searches, 1 answered from the cache" in out
    assert "most searched: p1.png (2)" in out and "most matched: p1-copy.jpg (2)" in out


def test_switch_context(system: ImageSearch, files: Path) -> None:
    session = Session(system, "14", "other", "1", str(files / "p0.png"), "", "", "q")
    session.run()
    assert any(line.startswith("ris shell - context 'other'") for line in session.lines)
    assert [(i.name, i.image_count) for i in system.list_contexts()] == [("default", 0), ("other", 1)]


def test_the_shell_works_on_a_third_party_backend(files: Path) -> None:
    with ris_core.open("memory") as memory:
        session = Session(memory, "1", str(files), "2", str(files / "p3.png"), "", "", "", "q")
        out = session.run()
    assert "on memory, 6 images" in out
    table = session.lines.index(next(line for line in session.lines if line.startswith("rank")))
    assert session.lines[table + 1].split()[-1] == "p3.png"


# --- through a real pseudo-terminal ------------------------------------------------


def spawn(*args: str) -> pexpect.spawn:
    executable = shutil.which("ris", path=str(Path(sys.executable).parent))
    assert executable, "no 'ris' console script beside this Python"
    env = {**os.environ, "TERM": "dumb"}  # RIS_HOME comes from the isolated_home fixture
    return pexpect.spawn(
        executable,
        list(args),
        env=env,
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 100),
        preexec_fn=_interruptible,
    )


def _interruptible() -> None:
    """Ctrl-C as in a terminal: a runner started in the background (``cmd &``) ignores
    SIGINT, and an ignored signal stays ignored across exec, so Python would never raise
    KeyboardInterrupt in the shell."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def answer(child: pexpect.spawn, prompt: str, text: str) -> None:
    child.expect_exact(prompt)
    child.sendline(text)


def test_ris_shell_in_a_pseudo_terminal(capsys: Capture, files: Path, tmp_path: Path) -> None:
    child = spawn("shell")
    child.expect_exact("ris shell - context 'default' on local, 0 images")
    answer(child, PROMPT, "1")
    answer(child, "image file or folder", str(files))
    child.expect_exact("6 added; 6 images in all")

    answer(child, PROMPT, "2")
    answer(child, "image file or indexed id", str(tmp_path / "query3.jpg"))
    answer(child, "threshold", "")
    answer(child, "at most how many [10]", "")
    answer(child, "only among", "")
    child.expect(r"rank +similarity +distance +image\r\n1 +\d+\.\d\d +\d+ +p3\.png")

    answer(child, PROMPT, "3")
    answer(child, "threshold", "")
    answer(child, "only among", "")
    # A near copy is settled by its sure hash (docs/scoring.md): both members show that score.
    child.expect(r"group 1:\r\n +(\d+\.\d\d) +p1-copy\.jpg\r\n +\1 +p1\.png")

    answer(child, PROMPT, "4")
    answer(child, "tag name", "three")
    answer(child, "reference image", str(files / "p3.png"))
    answer(child, "reference image", "")
    child.expect_exact("tag 'three' has 1 reference image(s)")
    answer(child, PROMPT, "5")
    answer(child, "tags", "three")
    for prompt in ("threshold", "at most how many", "only among"):
        answer(child, prompt, "")
    child.expect(r"1 +100\.00 +0 +p3\.png")

    answer(child, PROMPT, "8")
    answer(child, "collection", "fav")
    answer(child, "image ids", "p3.png, p1.png")
    child.expect_exact("collection 'fav' has 2 image(s)")
    answer(child, PROMPT, "11")
    answer(child, "image id", "p3.png")
    answer(child, "new metadata as JSON", "{broken")
    child.expect_exact("error: not valid JSON")
    answer(child, PROMPT, "11")
    answer(child, "image id", "p3.png")
    answer(child, "new metadata as JSON", '{"year": 2020}')
    child.expect_exact("metadata of 'p3.png' set")
    answer(child, PROMPT, "99")
    child.expect_exact("no menu entry '99'")

    answer(child, PROMPT, "2")
    child.expect_exact("image file or indexed id")
    child.sendintr()  # Ctrl-C: back to the menu
    child.expect_exact("cancelled")
    child.expect_exact(PROMPT)
    child.sendeof()  # Ctrl-D: quit
    child.expect_exact("bye")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    assert main(["image", "show", "p3.png", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert {key: shown[key] for key in ("image_id", "collections", "metadata")} == {
        "image_id": "p3.png",
        "collections": ["fav"],
        "metadata": {"year": 2020},
    }


def test_quit_from_the_menu_and_image_bytes_are_not_sent_to_a_terminal(files: Path) -> None:
    child = spawn("shell")
    answer(child, PROMPT, "1")
    answer(child, "image file or folder", str(files / "p0.png"))
    answer(child, "image id", "")
    answer(child, "metadata as JSON", "")
    child.expect_exact("added 'p0.png'; 1 images in all")
    answer(child, PROMPT, "q")
    child.expect_exact("bye")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    child = spawn("image", "get", "p0.png")
    child.expect_exact("image bytes would go to the terminal; give -o FILE or redirect stdout")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2
