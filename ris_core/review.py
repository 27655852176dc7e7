"""Duplicate review: which image of each group to keep, what to do with the rest, as a
plan that is shown first and applied only when confirmed.

The CLI (``ris duplicates``) and the web page both go through this module, so a plan
reads and behaves the same everywhere:

- :func:`review_groups` fetches each member's :class:`~ris_core.models.ImageInfo`;
- :func:`make_plan` picks the keeper of every group by a :class:`KeepRule` (or by
  hand) and lists one :class:`Step` per other member, refusing with a reason the steps
  that cannot be done (a file action on an image with no source file);
- :func:`apply_plan` carries the steps out, each independently, and reports each one.

Actions on files (delete, move, link) need the image's source file, which only
reference-mode images have; removing from the index works on every image. A file
action also unindexes the image: the duplicate is dealt with, so the index stops
returning it. Before touching a file, apply checks it still holds the bytes the
catalog knows (its SHA-256), so a file changed since the plan is left alone.
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ris_core.context import SearchContext
from ris_core.errors import InvalidArgumentError, RisError
from ris_core.models import DuplicateGroup, ImageInfo

__all__ = [
    "Action",
    "KeepRule",
    "Member",
    "Outcome",
    "Plan",
    "Step",
    "apply_plan",
    "group_documents",
    "make_plan",
    "plan_document",
    "review_groups",
]


class KeepRule(enum.Enum):
    """How the image to keep is chosen in each group."""

    LARGEST_RESOLUTION = "largest-resolution"
    LARGEST_FILE = "largest-file"
    OLDEST = "oldest"
    NEWEST = "newest"
    #: The first member inside the preferred folder (then by largest resolution).
    IN_FOLDER = "in-folder"
    #: Chosen by a person, group by group.
    BY_HAND = "by-hand"


class Action(enum.Enum):
    """What happens to the members not kept."""

    UNINDEX = "unindex"
    DELETE = "delete"
    MOVE = "move"
    LINK = "link"


@dataclass(frozen=True, slots=True)
class Member:
    """One image of a duplicate group, with its similarity to the group's first image."""

    info: ImageInfo
    similarity: float

    @property
    def date(self) -> datetime:
        """The image's date: its file's mtime when it has one, else when it was stored."""
        return self.info.modified or self.info.added_at


@dataclass(frozen=True, slots=True)
class Step:
    """One thing the plan will do; ``refused`` says why it will not, when it will not."""

    image_id: str
    action: Action
    keep_id: str
    source: Path | None = None
    target: Path | None = None
    refused: str = ""


@dataclass(frozen=True, slots=True)
class Plan:
    """The keeper of each group and the steps for the others."""

    groups: tuple[tuple[Member, ...], ...]
    keep: tuple[str, ...]
    steps: tuple[Step, ...]

    @property
    def fingerprint(self) -> str:
        """A digest of what the plan does, so what is applied is what was shown."""
        text = json.dumps(
            [[s.image_id, s.action.value, s.keep_id, str(s.source), str(s.target), s.refused] for s in self.steps]
        )
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What applying one step did: ``done``, or ``error`` with the reason."""

    step: Step
    done: bool
    error: str = ""


def review_groups(context: SearchContext, groups: Sequence[DuplicateGroup]) -> list[tuple[Member, ...]]:
    """Every group's members with what the catalog knows about them."""
    return [
        tuple(Member(context.image_info(result.image_id), result.similarity) for result in group.images)
        for group in groups
    ]


def _keeper(group: Sequence[Member], rule: KeepRule, prefer: Path | None) -> Member:
    def resolution(member: Member) -> int:
        return (member.info.width or 0) * (member.info.height or 0)

    # Ties go to the smallest id (members come sorted), so a plan is reproducible.
    if rule is KeepRule.LARGEST_RESOLUTION:
        return max(group, key=resolution)
    if rule is KeepRule.LARGEST_FILE:
        return max(group, key=lambda member: member.info.size)
    if rule is KeepRule.OLDEST:
        return min(group, key=lambda member: member.date)
    if rule is KeepRule.NEWEST:
        return max(group, key=lambda member: member.date)
    if rule is KeepRule.IN_FOLDER:
        if prefer is None:
            raise InvalidArgumentError("the in-folder keep rule needs a preferred folder")
        inside = [m for m in group if m.info.source is not None and _within(m.info.source, prefer)]
        return max(inside or group, key=resolution)
    raise InvalidArgumentError("keeping by hand needs the id to keep in every group")


def _within(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def make_plan(
    groups: Sequence[Sequence[Member]],
    rule: KeepRule,
    action: Action,
    *,
    to: Path | None = None,
    prefer: Path | None = None,
    chosen: Mapping[int, str] | None = None,
) -> Plan:
    """Keep one image per group, by ``rule`` or by ``chosen`` (group number -> id to
    keep, overriding the rule for that group), and plan ``action`` for the others.
    ``to`` is the folder a move goes to. Raises InvalidArgumentError for a plan that
    cannot be made at all; steps that cannot be done are planned as refused."""
    if action is Action.MOVE and to is None:
        raise InvalidArgumentError("moving needs a folder to move to (--to)")
    chosen = dict(chosen or {})
    keep: list[str] = []
    steps: list[Step] = []
    taken: set[Path] = set()
    for number, group in enumerate(groups):
        by_id = {member.info.image_id: member for member in group}
        if number in chosen:
            if chosen[number] not in by_id:
                raise InvalidArgumentError(f"{chosen[number]!r} is not in duplicate group {number + 1}")
            keeper = by_id[chosen[number]]
        else:
            keeper = _keeper(group, rule, prefer)
        keep.append(keeper.info.image_id)
        for member in group:
            if member is not keeper:
                steps.append(_step(member.info, keeper.info, action, to, taken))
    return Plan(tuple(tuple(group) for group in groups), tuple(keep), tuple(steps))


def _step(info: ImageInfo, keeper: ImageInfo, action: Action, to: Path | None, taken: set[Path]) -> Step:
    step = Step(info.image_id, action, keeper.image_id, info.source)
    if action is Action.UNINDEX:
        return step
    if info.source is None:
        return _refuse(step, "stored as a copy, so there is no file to act on; unindex it instead")
    if keeper.source is not None and info.source.resolve() == keeper.source.resolve():
        # Two ids over one file: acting on it would act on the image kept.
        return _refuse(step, f"it is the same file as the kept image {keeper.image_id!r}; unindex it instead")
    if action is Action.LINK:
        if keeper.source is None:
            return _refuse(step, f"the kept image {keeper.image_id!r} has no file to link to")
        return Step(info.image_id, action, keeper.image_id, info.source, keeper.source)
    if action is Action.MOVE:
        assert to is not None
        target = _free_name(to / info.source.name, taken)
        taken.add(target)
        return Step(info.image_id, action, keeper.image_id, info.source, target)
    return step


def _refuse(step: Step, reason: str) -> Step:
    return Step(step.image_id, step.action, step.keep_id, step.source, step.target, reason)


def _free_name(wanted: Path, taken: set[Path]) -> Path:
    """``wanted``, or ``name (2).ext`` and so on: never over an existing file."""
    candidate, number = wanted, 1
    while candidate.exists() or candidate.is_symlink() or candidate in taken:
        number += 1
        candidate = wanted.with_name(f"{wanted.stem} ({number}){wanted.suffix}")
    return candidate


def apply_plan(context: SearchContext, plan: Plan) -> list[Outcome]:
    """Carry out every step not refused; one failure never stops the others."""
    infos = {member.info.image_id: member.info for group in plan.groups for member in group}
    outcomes = []
    for step in plan.steps:
        if step.refused:
            outcomes.append(Outcome(step, False, step.refused))
            continue
        try:
            _apply(context, step, infos[step.image_id])
        except (OSError, RisError) as exc:
            outcomes.append(Outcome(step, False, str(exc)))
        else:
            outcomes.append(Outcome(step, True))
    return outcomes


def _apply(context: SearchContext, step: Step, info: ImageInfo) -> None:
    if step.action is not Action.UNINDEX:
        assert step.source is not None
        if hashlib.sha256(step.source.read_bytes()).hexdigest() != info.sha256:
            raise InvalidArgumentError(f"{step.source} changed since it was indexed; left alone")
        if step.action is Action.DELETE:
            step.source.unlink()
        elif step.action is Action.MOVE:
            assert step.target is not None
            if step.target.exists():
                raise FileExistsError(f"{step.target} exists now; left {step.source} alone")
            step.target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(step.source, step.target)
        else:
            assert step.target is not None
            # Made beside the file, then renamed over it: the path is never missing.
            link = step.source.with_name(f".{step.source.name}.ris-link")
            link.unlink(missing_ok=True)
            os.symlink(step.target.resolve(), link)
            os.replace(link, step.source)
    context.delete_image(step.image_id)


def _member_document(member: Member) -> dict[str, Any]:
    info = member.info
    return {
        "image_id": info.image_id,
        "similarity": member.similarity,
        "width": info.width,
        "height": info.height,
        "size": info.size,
        "date": member.date.isoformat(),
        "added_at": info.added_at.isoformat(),
        "modified": None if info.modified is None else info.modified.isoformat(),
        "source": None if info.source is None else str(info.source),
        "reference": info.reference,
        "sha256": info.sha256,
    }


def group_documents(groups: Sequence[Sequence[Member]]) -> list[dict[str, Any]]:
    """The groups as JSON-ready dicts: ``{"images": [member, ...]}``."""
    return [{"images": [_member_document(member) for member in group]} for group in groups]


def _step_document(step: Step) -> dict[str, Any]:
    return {
        "image_id": step.image_id,
        "action": step.action.value,
        "keep_id": step.keep_id,
        "source": None if step.source is None else str(step.source),
        "target": None if step.target is None else str(step.target),
        "refused": step.refused,
    }


def plan_document(plan: Plan, outcomes: Sequence[Outcome] | None = None) -> dict[str, Any]:
    """The plan (and what applying it did, when given) as a JSON-ready dict."""
    document: dict[str, Any] = {
        "groups": group_documents(plan.groups),
        "keep": list(plan.keep),
        "steps": [_step_document(step) for step in plan.steps],
        "fingerprint": plan.fingerprint,
        "applied": outcomes is not None,
    }
    if outcomes is not None:
        document["outcomes"] = [{"image_id": o.step.image_id, "done": o.done, "error": o.error} for o in outcomes]
    return document
