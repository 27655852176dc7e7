"""``ris export`` and ``ris import``: move a context between databases and backends."""

from __future__ import annotations

from pathlib import Path

import click

from ris_core.cli.app import CliState, cli, pass_state
from ris_core.cli.output import json_option, print_ingest, report

__all__ = ["export_command", "import_command"]


@cli.command("export")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
@json_option
@pass_state
def export_command(state: CliState, path: Path, progress: bool | None, as_json: bool) -> None:
    """Write the context to a folder or tar file.

    Images, metadata, collections and tags go to PATH: a new (or empty) folder, or a
    .tar, .tar.gz, .tgz, .tar.bz2 or .tar.xz file; another archive suffix (.zip) is an
    error. Features are not exported; the importing backend computes its own.
    """
    context = state.context()
    context.export(path, progress=progress)
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
    images already holding the same bytes are skipped. All or nothing: a malformed or
    damaged export, or an image this backend refuses, imports nothing (exit 4).
    """
    target = name or (state.context_name if state.context_given else None)
    context, result = state.system().import_context(path, target, progress=progress)
    ctx.exit(print_ingest(context, result, as_json, "nothing to import"))
