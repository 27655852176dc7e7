"""``ris duplicates``: find the groups, review them with a keep rule, act on the rest.

Without ``--keep`` it lists the groups (``--csv`` and ``--json`` write them with each
member's size, resolution and date). With ``--keep`` it prints the plan, and carries
it out only with ``--apply``. ``--not-duplicates A B`` records a decision that every
later search for duplicates respects.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import click

from ris_core.cli.app import CliState, cli, pass_state
from ris_core.cli.output import duplicates_bar, echo, emit, for_terminal, format_duplicates, progress_option
from ris_core.cli.params import THRESHOLD, filters
from ris_core.review import (
    Action,
    KeepRule,
    Member,
    Plan,
    apply_plan,
    group_documents,
    make_plan,
    plan_document,
    review_groups,
)

__all__ = ["duplicates", "format_plan", "write_csv"]

CSV_COLUMNS = ("group", "image_id", "similarity", "width", "height", "size", "date", "source", "sha256")


def write_csv(groups: list[tuple[Member, ...]], stream: Any) -> None:
    """The groups as CSV, one row per member."""
    writer = csv.writer(stream)
    writer.writerow(CSV_COLUMNS)
    for number, group in enumerate(groups, 1):
        for member in group:
            info = member.info
            writer.writerow(
                (number, info.image_id, f"{member.similarity:.2f}", info.width, info.height, info.size,
                 member.date.isoformat(), info.source or "", info.sha256)
            )  # fmt: skip


def format_plan(plan: Plan) -> list[str]:
    """The plan as lines for people: each group's keeper, then what happens to the rest."""
    steps = {step.image_id: step for step in plan.steps}
    lines = []
    for number, (group, keep) in enumerate(zip(plan.groups, plan.keep, strict=True), 1):
        lines.append(f"group {number}:")
        for member in group:
            info, step = member.info, steps.get(member.info.image_id)
            facts = f"{info.width}x{info.height}, {info.size:,} bytes, {member.date:%Y-%m-%d %H:%M}"
            if info.image_id == keep:
                doing = "keep"
            elif step is not None and step.refused:
                doing = f"cannot {step.action.value}: {step.refused}"
            else:
                assert step is not None
                doing = step.action.value + (f" -> {step.target}" if step.target else "")
            lines.append(f"  {member.similarity:6.2f}  {for_terminal(info.image_id)}  ({facts})  {for_terminal(doing)}")
    return lines


@cli.command()
@THRESHOLD
@filters
@click.option(
    "--keep",
    type=click.Choice([rule.value for rule in KeepRule if rule is not KeepRule.BY_HAND]),
    default=None,
    help="Plan a review: which image of each group to keep.",
)
@click.option(
    "--action",
    type=click.Choice([action.value for action in Action]),
    default=Action.UNINDEX.value,
    show_default=True,
    help="What to do with the others (delete, move and link need reference-mode images).",
)
@click.option("--to", type=click.Path(file_okay=False, path_type=Path), help="Folder --action move moves to.")
@click.option(
    "--prefer", type=click.Path(file_okay=False, path_type=Path), help="Preferred folder for --keep in-folder."
)
@click.option("--apply", "apply_it", is_flag=True, help="Carry the plan out (default: only print it).")
@click.option("--csv", "csv_path", metavar="FILE", help="Write the groups as CSV to FILE ('-' for stdout).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option(
    "--not-duplicates",
    nargs=2,
    metavar="A B",
    default=None,
    help="Record that images A and B are not duplicates, then exit.",
)
@progress_option
@pass_state
@click.pass_context
def duplicates(
    ctx: click.Context,
    state: CliState,
    threshold: float | None,
    where: dict[str, Any] | None,
    collection: str | None,
    keep: str | None,
    action: str,
    to: Path | None,
    prefer: Path | None,
    apply_it: bool,
    csv_path: str | None,
    as_json: bool,
    not_duplicates: tuple[str, str] | None,
    progress: bool | None,
) -> None:
    """Find groups of near-duplicate images, and review them.

    Only among the images --where and --collection select, when given. With --keep,
    prints which image of each group is kept and what is done with the others;
    --apply does it.
    """
    context = state.context()
    if not_duplicates is not None:
        context.mark_not_duplicates(*not_duplicates)
        echo(f"recorded: {for_terminal(not_duplicates[0])} and {for_terminal(not_duplicates[1])} are not duplicates")
        return
    if keep is None and apply_it:
        raise click.UsageError("--apply needs --keep RULE (which image of each group to keep)")
    with duplicates_bar(progress, f"finding duplicates among {len(context)} images") as advance:
        groups = context.find_duplicates(threshold, where=where, collection=collection, progress=advance)
    if keep is None and csv_path is None:
        if as_json:
            emit(group_documents(review_groups(context, groups)))
        else:
            for line in format_duplicates(groups):
                echo(line)
        return
    members = review_groups(context, groups)
    if csv_path is not None:
        if csv_path == "-":
            write_csv(members, sys.stdout)
        else:
            with open(csv_path, "w", newline="", encoding="utf-8") as stream:
                write_csv(members, stream)
        if keep is None:
            return
    assert keep is not None
    plan = make_plan(members, KeepRule(keep), Action(action), to=to, prefer=prefer)
    outcomes = apply_plan(context, plan) if apply_it else []
    if as_json:
        emit(plan_document(plan, outcomes if apply_it else None))
    elif not plan.groups:
        echo("no duplicates")
    else:
        for line in format_plan(plan):
            echo(line)
        if not apply_it:
            echo("plan only: nothing changed; run again with --apply to carry it out")
        for outcome in outcomes:
            if not outcome.done:
                echo(f"  not done {for_terminal(outcome.step.image_id)}: {outcome.error}", err=True)
        done = sum(outcome.done for outcome in outcomes)
        if apply_it:
            echo(f"applied: {done} of {len(plan.steps)} steps done")
    if any(not outcome.done for outcome in outcomes):
        ctx.exit(1)
