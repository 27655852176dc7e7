"""``ris context``: create, list, delete search contexts and check their status
(and ``ris contexts``, the short form of ``ris context list``)."""

from __future__ import annotations

import click

from ris_core.cli.app import CliState, cli, pass_state
from ris_core.cli.output import echo, emit, json_option, report, table
from ris_core.cli.params import parse_key_values

__all__ = ["context_group", "contexts"]


def _list(state: CliState, as_json: bool) -> None:
    infos = state.system().list_contexts()
    if as_json:
        emit(infos)
    elif not infos:
        echo("no search contexts yet; 'ris index FOLDER' creates one")
    else:
        table(
            ["name", "images", "backend", "created"], [(i.name, i.image_count, i.backend, i.created_at) for i in infos]
        )


@cli.command()
@json_option
@pass_state
def contexts(state: CliState, as_json: bool) -> None:
    """List the search contexts with their image counts."""
    _list(state, as_json)


@cli.group("context")
def context_group() -> None:
    """Create, list, delete and check search contexts."""


@context_group.command("list")
@json_option
@pass_state
def list_contexts(state: CliState, as_json: bool) -> None:
    """List the search contexts with their image counts.

    The same as 'ris contexts'.
    """
    _list(state, as_json)


@context_group.command("create")
@click.argument("name")
@click.option(
    "-O",
    "--context-option",
    "context_options",
    multiple=True,
    metavar="KEY=VALUE",
    help="A backend context option, repeatable (e.g. -O detector=akaze on aspose).",
)
@click.option(
    "--by-reference/--by-copy",
    default=False,
    show_default=True,
    help="Store files added to it as references (path, size, mtime, hash), not copies.",
)
@json_option
@pass_state
def create_context(
    state: CliState, name: str, context_options: tuple[str, ...], by_reference: bool, as_json: bool
) -> None:
    """Create an empty search context NAME (exit 7 if it exists)."""
    options = parse_key_values(context_options, "--context-option")
    state.system().create_context(name, by_reference=by_reference, **options)
    mode = "by reference" if by_reference else "by copy"
    report(
        as_json,
        f"created context {name!r} (stores images {mode})",
        context=name,
        action="created",
        options=options,
        by_reference=by_reference,
    )


@context_group.command("delete")
@click.argument("name")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@pass_state
def delete_context(state: CliState, name: str, yes: bool, as_json: bool) -> None:
    """Delete context NAME and everything in it.

    Every image, tag and collection in the context goes. Asks first unless --yes;
    declining exits 130 and deletes nothing.
    """
    count = len(state.system().context(name))  # ContextNotFoundError before asking
    if not yes:
        click.confirm(f"Delete context {name!r} and its {count} image(s)?", abort=True, err=True)
    state.system().delete_context(name)
    report(as_json, f"deleted context {name!r} ({count} images)", context=name, action="deleted", images=count)


@context_group.command("status")
@click.argument("name", required=False)
@click.option("--wait", is_flag=True, help="Wait until the context is idle (exit 5 on timeout).")
@click.option("--timeout", type=click.FloatRange(min=0), default=300.0, show_default=True, help="Seconds --wait waits.")
@json_option
@pass_state
def context_status(state: CliState, name: str | None, wait: bool, timeout: float, as_json: bool) -> None:
    """Whether a context is idle or busy.

    NAME defaults to --context; the backend's own word for the state follows it.
    """
    context = state.system().context(name or state.context_name)
    status = context.wait_until_idle(timeout) if wait else context.status()
    if as_json:
        emit({"context": context.name, "state": status.state.value, "detail": status.detail})
    else:
        detail = f" ({status.detail})" if status.detail else ""
        echo(f"context {context.name!r}: {status.state.value}{detail}")
