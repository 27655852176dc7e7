"""``ris parity``: the same workload on two backends, and where they agree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ris_core.api import open as open_system
from ris_core.cli.app import CliState, cli, pass_state
from ris_core.cli.output import echo, emit, json_option, progress_option, working
from ris_core.cli.params import parse_key_values
from ris_core.parity import compare_backends


@cli.command()
@click.argument("images", type=click.Path(path_type=Path))
@click.argument("queries", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--against", "other", required=True, help="The backend to compare with the --backend one.")
@click.option(
    "--against-option",
    "other_options",
    multiple=True,
    metavar="KEY=VALUE",
    help="An option of the --against backend, repeatable (e.g. base_url=http://127.0.0.1:8080).",
)
@click.option(
    "--against-catalog",
    "other_catalog",
    default=":memory:",
    show_default=True,
    help="Catalog of the --against backend (the workload's context is temporary).",
)
@click.option(
    "-k",
    "top_k",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="How many top matches to compare per query.",
)
@click.option(
    "--duplicate-threshold",
    type=float,
    default=None,
    help="Threshold for both backends' duplicate groups (default: each backend's own).",
)
@progress_option
@json_option
@pass_state
def parity(
    state: CliState,
    images: Path,
    queries: tuple[Path, ...],
    other: str,
    other_options: tuple[str, ...],
    other_catalog: str,
    top_k: int,
    duplicate_threshold: float | None,
    progress: bool | None,
    as_json: bool,
) -> None:
    """Index IMAGES (a folder) in two backends, search both with QUERIES (files or
    folders), and report top-1 agreement, top-k overlap, rank correlation, duplicate
    groups in common and the queries where they disagree."""
    options: dict[str, Any] = dict(parse_key_values(other_options, "--against-option"))
    with (
        open_system(other, catalog=other_catalog, **options) as second,
        working(f"running the workload on {state.system().backend_name} and {second.backend_name}", progress),
    ):
        report = compare_backends(
            state.system(), second, images, list(queries), top_k, duplicate_threshold=duplicate_threshold
        )
    if as_json:
        emit(report.to_dict())
    else:
        echo(report.format())
