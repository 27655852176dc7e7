"""Duplicate review: keep rules, plans, applying them to files, "not a duplicate"
decisions in find_duplicates, and the ``ris duplicates`` command."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

import ris_core
from ris_core.cli import main
from ris_core.context import SearchContext
from ris_core.errors import ImageNotFoundError, InvalidArgumentError
from ris_core.models import ImageInfo
from ris_core.review import Action, KeepRule, Member, apply_plan, make_plan, review_groups
from ris_core.system import ImageSearch
from ris_core.testing.images import encode, near_copy, photo


@pytest.fixture
def system(tmp_path: Path) -> ImageSearch:
    return ris_core.open("local", database=str(tmp_path / "ris.db"))


@pytest.fixture
def context(system: ImageSearch) -> SearchContext:
    context = system.create_context("review")
    context.add_image("big.png", encode(photo(1, (400, 300))))
    context.add_image("small.jpg", encode(near_copy(photo(1, (400, 300))), "JPEG", quality=80))
    context.add_image("other.png", encode(photo(2)))
    return context


def info(image_id: str, size: int = 100, width: int = 10, day: int = 1, source: Path | None = None) -> ImageInfo:
    sha = hashlib.sha256(source.read_bytes()).hexdigest() if source else "0" * 64
    modified = datetime(2020, 1, day, tzinfo=UTC) if source else None
    added = datetime(2024, 1, day, tzinfo=UTC)
    return ImageInfo(image_id, sha, size, width, width, added, source, modified, source is not None)


def test_image_info_in_copy_mode(context: SearchContext) -> None:
    big = context.image_info("big.png")
    assert (big.width, big.height, big.size) == (400, 300, len(context.get_image("big.png")))
    assert big.source is None and big.modified is None and not big.reference
    assert big.added_at.tzinfo is not None and big.sha256 == hashlib.sha256(context.get_image("big.png")).hexdigest()
    with pytest.raises(ImageNotFoundError):
        context.image_info("missing.png")


@pytest.mark.parametrize(
    ("rule", "kept"),
    [
        (KeepRule.LARGEST_RESOLUTION, "b"),
        (KeepRule.LARGEST_FILE, "c"),
        (KeepRule.OLDEST, "a"),
        (KeepRule.NEWEST, "c"),
    ],
)
def test_keep_rules(rule: KeepRule, kept: str) -> None:
    group = [
        Member(info("a", size=10, width=10, day=1), 100),
        Member(info("b", size=20, width=30, day=2), 95),
        Member(info("c", size=30, width=20, day=3), 90),
    ]
    plan = make_plan([group], rule, Action.UNINDEX)
    assert plan.keep == (kept,)
    assert sorted(step.image_id for step in plan.steps) == sorted({"a", "b", "c"} - {kept})


def test_keep_inside_a_preferred_folder_and_by_hand(tmp_path: Path) -> None:
    (tmp_path / "best").mkdir()
    for name in ("best/x.png", "y.png"):
        (tmp_path / name).write_bytes(encode(photo(3)))
    group = [
        Member(info("x", width=5, source=tmp_path / "best/x.png"), 100),
        Member(info("y", width=50, source=tmp_path / "y.png"), 99),
    ]
    assert make_plan([group], KeepRule.IN_FOLDER, Action.UNINDEX, prefer=tmp_path / "best").keep == ("x",)
    assert make_plan([group], KeepRule.LARGEST_RESOLUTION, Action.UNINDEX, chosen={0: "x"}).keep == ("x",)
    with pytest.raises(InvalidArgumentError, match="not in duplicate group 1"):
        make_plan([group], KeepRule.OLDEST, Action.UNINDEX, chosen={0: "zzz"})
    with pytest.raises(InvalidArgumentError, match="preferred folder"):
        make_plan([group], KeepRule.IN_FOLDER, Action.UNINDEX)


def test_file_actions_are_refused_for_copies_with_a_reason(context: SearchContext) -> None:
    groups = review_groups(context, context.find_duplicates())
    for action in (Action.DELETE, Action.LINK):
        plan = make_plan(groups, KeepRule.LARGEST_RESOLUTION, action)
        assert [step.image_id for step in plan.steps] == ["small.jpg"]
        assert "stored as a copy" in plan.steps[0].refused
    with pytest.raises(InvalidArgumentError, match="--to"):
        make_plan(groups, KeepRule.LARGEST_RESOLUTION, Action.MOVE)
    outcomes = apply_plan(context, make_plan(groups, KeepRule.LARGEST_RESOLUTION, Action.DELETE))
    assert not outcomes[0].done and "small.jpg" in context  # refused steps do nothing


@pytest.fixture
def files(tmp_path: Path) -> Path:
    """A folder of image files: big.png, a smaller near copy small.jpg, and other.png."""
    folder = tmp_path / "files"
    folder.mkdir()
    (folder / "big.png").write_bytes(encode(photo(1, (400, 300))))
    (folder / "small.jpg").write_bytes(encode(near_copy(photo(1, (400, 300))), "JPEG", quality=80))
    (folder / "other.png").write_bytes(encode(photo(2)))
    return folder


@pytest.fixture
def referenced(system: ImageSearch, files: Path) -> SearchContext:
    """A by-reference context over ``files``: each image is its file there."""
    context = system.create_context("referenced", by_reference=True)
    assert context.add_images([files], progress=False).summary()["added"] == 3
    return context


def test_unindex_move_delete_link_on_reference_images(referenced: SearchContext, files: Path, tmp_path: Path) -> None:
    small = (files / "small.jpg").read_bytes()
    groups = review_groups(referenced, referenced.find_duplicates())
    assert [[m.info.source for m in group] for group in groups] == [[files / "big.png", files / "small.jpg"]]
    plan = make_plan(groups, KeepRule.LARGEST_RESOLUTION, Action.MOVE, to=tmp_path / "set-aside")
    assert plan.keep == ("big.png",) and plan.steps[0].target == tmp_path / "set-aside" / "small.jpg"
    assert (files / "small.jpg").exists() and "small.jpg" in referenced  # a plan changes nothing
    (outcome,) = apply_plan(referenced, plan)
    assert outcome.done, outcome.error
    assert not (files / "small.jpg").exists() and (tmp_path / "set-aside" / "small.jpg").read_bytes() == small
    assert "small.jpg" not in referenced and "big.png" in referenced and (files / "big.png").exists()

    (tmp_path / "set-aside" / "small.jpg").rename(files / "small.jpg")
    assert referenced.add_images([files], progress=False).summary()["added"] == 1
    groups = review_groups(referenced, referenced.find_duplicates())
    (outcome,) = apply_plan(referenced, make_plan(groups, KeepRule.LARGEST_RESOLUTION, Action.LINK))
    assert outcome.done and (files / "small.jpg").is_symlink() and "small.jpg" not in referenced
    assert os.readlink(files / "small.jpg") == str((files / "big.png").resolve())
    assert (files / "small.jpg").read_bytes() == (files / "big.png").read_bytes()

    (files / "small.jpg").unlink()
    (files / "small.jpg").write_bytes(small)
    assert referenced.add_images([files], progress=False).summary()["added"] == 1
    groups = review_groups(referenced, referenced.find_duplicates())
    (outcome,) = apply_plan(referenced, make_plan(groups, KeepRule.LARGEST_RESOLUTION, Action.DELETE))
    assert outcome.done and not (files / "small.jpg").exists() and "small.jpg" not in referenced
    assert sorted(p.name for p in files.iterdir()) == ["big.png", "other.png"]


def test_a_file_shared_with_the_kept_image_is_never_acted_on(tmp_path: Path) -> None:
    shared = tmp_path / "one.png"
    shared.write_bytes(encode(photo(4)))
    group = [Member(info("a", width=50, source=shared), 100), Member(info("b", width=5, source=shared), 100)]
    for action in (Action.DELETE, Action.LINK, Action.MOVE):
        (step,) = make_plan([group], KeepRule.LARGEST_RESOLUTION, action, to=tmp_path / "aside").steps
        assert "same file as the kept image 'a'" in step.refused


def test_a_file_changed_since_the_plan_or_a_taken_target_is_left_alone(
    referenced: SearchContext, files: Path, tmp_path: Path
) -> None:
    aside = tmp_path / "aside"
    aside.mkdir()
    (aside / "small.jpg").write_bytes(b"already here")
    groups = review_groups(referenced, referenced.find_duplicates())
    plan = make_plan(groups, KeepRule.LARGEST_RESOLUTION, Action.MOVE, to=aside)
    assert plan.steps[0].target == aside / "small (2).jpg"  # never over an existing file
    (files / "small.jpg").write_bytes(b"edited since")
    (outcome,) = apply_plan(referenced, plan)
    assert not outcome.done and "changed since" in outcome.error
    assert (files / "small.jpg").read_bytes() == b"edited since" and "small.jpg" in referenced
    assert (aside / "small.jpg").read_bytes() == b"already here" and not (aside / "small (2).jpg").exists()


def test_not_duplicates_is_respected_and_splits_a_chain(system: ImageSearch) -> None:
    context = system.create_context("chain")
    base = photo(7)
    context.add_image("a.png", encode(base))
    context.add_image("b.jpg", encode(near_copy(base), "JPEG", quality=85))
    context.add_image("c.jpg", encode(near_copy(near_copy(base)), "JPEG", quality=85))
    assert [g.image_ids for g in context.find_duplicates()] == [("a.png", "b.jpg", "c.jpg")]
    context.mark_not_duplicates("c.jpg", "a.png")
    assert context.not_duplicates() == [("a.png", "c.jpg")]
    groups = [g.image_ids for g in context.find_duplicates()]
    assert groups and all(not {"a.png", "c.jpg"} <= set(group) for group in groups)
    assert all(group.images[0].similarity == 100 for group in context.find_duplicates())
    # Remembered by the catalog: another opening of the database sees the decision.
    again = ris_core.open("local", database=system.catalog.database.path).context("chain")
    assert [g.image_ids for g in again.find_duplicates()] == groups
    with pytest.raises(InvalidArgumentError):
        context.mark_not_duplicates("a.png", "a.png")
    with pytest.raises(ImageNotFoundError):
        context.mark_not_duplicates("a.png", "nope.png")
    assert context.unmark_not_duplicates("a.png", "c.jpg")
    assert [g.image_ids for g in context.find_duplicates()] == [("a.png", "b.jpg", "c.jpg")]
    context.mark_not_duplicates("a.png", "b.jpg")
    context.delete_image("b.jpg")
    assert context.not_duplicates() == []  # forgotten with the image


# --- the CLI -------------------------------------------------------------------------


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_prints_the_plan_and_applies_only_when_asked(
    capsys: pytest.CaptureFixture[str], context: SearchContext, tmp_path: Path
) -> None:
    db = ["--database", context.system.catalog.database.path, "--context", "review"]
    code, out, _ = run(capsys, *db, "duplicates", "--keep", "largest-resolution")
    assert code == 0 and "small.jpg" in out and "keep" in out and "unindex" in out and "--apply" in out
    assert "small.jpg" in context
    code, out, _ = run(capsys, *db, "duplicates", "--keep", "largest-file", "--action", "move", "--to", str(tmp_path))
    assert code == 0 and "cannot move: stored as a copy" in out
    code, out, _ = run(capsys, *db, "duplicates", "--json", "--keep", "largest-resolution")
    plan = json.loads(out)
    assert plan["keep"] == ["big.png"] and plan["applied"] is False and plan["steps"][0]["image_id"] == "small.jpg"
    code, out, _ = run(capsys, *db, "duplicates", "--csv", "-")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["group"], r["image_id"], r["width"]) for r in rows] == [
        ("1", "big.png", "400"),
        ("1", "small.jpg", "300"),
    ]
    out_file = tmp_path / "groups.csv"
    assert run(capsys, *db, "duplicates", "--csv", str(out_file))[0] == 0 and "small.jpg" in out_file.read_text()
    code, out, _ = run(capsys, *db, "duplicates", "--json")
    assert [[m["image_id"] for m in g["images"]] for g in json.loads(out)] == [["big.png", "small.jpg"]]
    assert run(capsys, *db, "duplicates", "--apply")[0] == 2  # --apply needs --keep
    code, out, _ = run(capsys, *db, "duplicates", "--keep", "largest-resolution", "--apply")
    assert code == 0 and "applied: 1 of 1" in out and "small.jpg" not in context


def test_cli_records_not_duplicates(capsys: pytest.CaptureFixture[str], context: SearchContext) -> None:
    db = ["--database", context.system.catalog.database.path, "--context", "review"]
    code, out, _ = run(capsys, *db, "duplicates", "--not-duplicates", "big.png", "small.jpg")
    assert code == 0 and "not duplicates" in out
    assert run(capsys, *db, "duplicates")[1].strip() == "no duplicates"
    assert run(capsys, *db, "duplicates", "--not-duplicates", "big.png", "gone.png")[0] == 3


def test_cli_index_a_folder_then_move_its_duplicates_aside(
    capsys: pytest.CaptureFixture[str], files: Path, tmp_path: Path
) -> None:
    db = ["--database", str(tmp_path / "cli.db"), "--context", "library"]
    code, out, _ = run(capsys, *db, "index", str(files))
    assert code == 0 and "by reference" in out
    aside = tmp_path / "aside"
    move = ["duplicates", "--keep", "largest-resolution", "--action", "move", "--to", str(aside)]
    code, out, _ = run(capsys, *db, *move)
    assert code == 0 and "small.jpg" in out and "--apply" in out
    assert (files / "small.jpg").exists() and not aside.exists()  # printed, not done
    code, out, _ = run(capsys, *db, *move, "--apply")
    assert code == 0 and "applied: 1 of 1" in out
    assert not (files / "small.jpg").exists() and (aside / "small.jpg").exists() and (files / "big.png").exists()
    context = ris_core.open("local", database=str(tmp_path / "cli.db")).context("library")
    assert sorted(context.image_ids()) == ["big.png", "other.png"]
    assert run(capsys, *db, "duplicates")[1].strip() == "no duplicates"
