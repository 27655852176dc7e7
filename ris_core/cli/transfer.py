"""``ris export`` and ``ris import``: move a context between databases and backends."""

from __future__ import annotations

from pathlib import Path

import click

from ris_core.cli.app import CliState, cli, pass_state
from ris_core.cli.output import json_option, print_ingest, report

__all__ = ["export_command", "import_command"]


@cli.command("export")
@click.argument("path", type=click.Path(path_type=Path))
@json_option
@pass_state
def export_command(state: CliState, path: Path, as_json: bool) -> None:
    """Write the context to a folder or tar file.

    Images, metadata, collections and tags go to PATH: a new folder, or a .tar, .tar.gz
    or .tgz file. Features are not exported; the importing backend computes its own.
    """
    context = state.context()
    context.export(path)
    count = len(context)
    report(
        as_json,
        f"exported context {context.name!r} ({count} images) to {path}",
        context=context.name,
        action="exported",
        path=str(path),
        images=count,
    )


@cli.command("import")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--name",
    default=None,
    help="Context to import into (default: --context if given, else the exported context's name).",
)
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
@json_option
@pass_state
@click.pass_context
def import_command(
    ctx: click.Context, state: CliState, path: Path, name: str | None, progress: bool | None, as_json: bool
) -> None:
    """Load an export into a context.

    PATH is what 'ris export' wrote, on any backend. The context is created if needed;
    images already holding the same bytes are skipped. Exit 1 if any image failed.
    """
    target = name or (state.context_name if state.context_given else None)
    context, result = state.system().import_context(path, target, progress=progress)
    ctx.exit(print_ingest(context, result, as_json, "nothing to import"))
