"""The everyday commands: backends, samples, index, search, duplicates, compare.

Importing this module registers every subcommand: the groups live in the sibling
modules imported below, one module per area of the library.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from ris_core.api import available_backends, available_engines
from ris_core.cli import (  # noqa: F401 - each module registers its commands on import
    calibrate,
    collections,
    contexts,
    duplicates,
    features,
    images,
    metadata,
    parity,
    serve,
    shell,
    stats,
    tags,
    transfer,
)
from ris_core.cli.app import CliState, cli, pass_state
from ris_core.cli.output import (
    echo,
    emit,
    json_option,
    print_ingest,
    print_results,
    report,
    table,
)
from ris_core.cli.params import search_limits
from ris_core.context import SearchContext
from ris_core.errors import ContextNotFoundError, ImageNotFoundError, SourceNotFoundError
from ris_core.images import load_image
from ris_core.ingest import IMAGE_PATTERNS, IngestStatus
from ris_core.models import BackendInfo, Comparison, EngineInfo
from ris_core.samples import write_samples
from ris_core.system import ImageSearch


@cli.command()
@click.option("--options", "with_options", is_flag=True, help="Also list each backend's options.")
@json_option
def backends(with_options: bool, as_json: bool) -> None:
    """List the installed backends and whether each can be used."""
    infos = available_backends(with_options)
    if as_json:
        emit(infos)
        return
    _availability_table(infos)
    for info in infos:
        if not info.available:
            echo(f"\n{info.name}: {info.reason}")
        for option, help_text in info.options.items():
            echo(f"  {info.name} -o {option}=...  {help_text}")


def _availability_table(infos: Sequence[BackendInfo | EngineInfo]) -> None:
    table(
        ["name", "usable", "plugin", "description"],
        [(i.name, "yes" if i.available else "no", i.plugin, i.description or i.reason) for i in infos],
    )


@cli.command()
@json_option
def engines(as_json: bool) -> None:
    """List the local backend's installed feature engines (select one with -o engine=NAME)."""
    infos = available_engines()
    if as_json:
        emit(infos)
        return
    _availability_table(infos)


@cli.command()
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@json_option
def samples(folder: Path, as_json: bool) -> None:
    """Write sample photos and edited copies of them.

    Photos go to FOLDER/photos, edited copies to FOLDER/queries.
    """
    photos, queries = write_samples(folder)
    report(
        as_json,
        f"wrote {len(photos)} photos to {folder / 'photos'} and {len(queries)} edited copies to {folder / 'queries'}",
        action="wrote",
        photos=[str(path) for path in photos],
        queries=[str(path) for path in queries],
    )


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--include",
    multiple=True,
    metavar="GLOB",
    help=f"File patterns to index in folders (default: {' '.join(IMAGE_PATTERNS)}).",
)
@click.option("--exclude", multiple=True, metavar="GLOB", help="File patterns to leave out.")
@click.option("--recursive/--no-recursive", default=True, show_default=True, help="Walk sub-folders.")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Parallel workers (default: cores).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
@click.option(
    "--by-reference/--by-copy",
    "by_reference",
    default=None,
    help="How a new context stores files (default: by reference when indexing a folder).",
)
@click.option("--prune", is_flag=True, help="Also drop entries whose files are gone and re-index changed ones.")
@json_option
@pass_state
@click.pass_context
def index(
    ctx: click.Context,
    state: CliState,
    paths: tuple[Path, ...],
    include: tuple[str, ...],
    exclude: tuple[str, ...],
    recursive: bool,
    workers: int | None,
    progress: bool | None,
    by_reference: bool | None,
    prune: bool,
    as_json: bool,
) -> None:
    """Index image files and folders, with a progress bar.

    One path: ids are paths relative to it (a file given directly: its name). Several
    paths: each id starts with its folder's name (cameraA/IMG_0001.jpg). A new context
    made for a folder stores files by reference (their path, size, mtime and hash;
    the files stay where they are): --by-copy stores copies. Files already indexed with
    the same content are skipped, so re-running resumes an interrupted run; a file
    reached through several links is indexed once, and each other link is named as
    skipped. --prune then drops images whose files are gone and re-indexes changed
    ones. Bad files are reported and the exit code is 1 if any failed.
    """
    for path in paths:  # before a context is made for them, or anything printed
        if not os.path.lexists(path):
            raise SourceNotFoundError(f"no such file or folder: {str(path)!r}")
    if by_reference is None:
        by_reference = any(path.is_dir() for path in paths)
    context = state.context(create=True, by_reference=by_reference)
    report = context.add_images(
        list(paths),
        include=include or IMAGE_PATTERNS,
        exclude=exclude,
        recursive=recursive,
        workers=workers,
        progress=progress,
    )
    if prune:
        report.items.extend(
            item for item in context.sync(progress=progress).items if item.status is not IngestStatus.SKIPPED
        )
    if not as_json:
        mode = "by reference (the files stay where they are)" if context.by_reference else "by copy"
        echo(f"context {context.name!r} stores images {mode}")
    ctx.exit(print_ingest(context, report, as_json, "nothing to index"))


@cli.command()
@click.argument("image")
@click.option("--id", "by_id", is_flag=True, help="IMAGE is the id of an indexed image, not a file.")
@search_limits
@json_option
@pass_state
def search(state: CliState, image: str, by_id: bool, limits: dict[str, Any], as_json: bool) -> None:
    """Find indexed images similar to IMAGE.

    IMAGE is a file, or an indexed id with --id. --where and --collection narrow the
    candidates before the search, so the answer is the best matches among them.
    """
    context = state.context()
    if not by_id and not Path(image).exists() and image in context:
        raise SourceNotFoundError(f"no such file: {image!r}; it is an indexed image id, so search with --id {image}")
    if by_id:
        results = context.find_similar_images(image, **limits)
    else:
        results = context.find_similar_images(image=Path(image), **limits)
    if as_json:
        emit(results)
    else:
        print_results(results)


def _resolve(context: SearchContext | None, argument: str) -> tuple[str | None, Path | None]:
    """An argument names an indexed id, or a file (found by content if indexed)."""
    if context is not None and argument in context:
        return argument, None
    path = Path(argument)
    if not path.is_file():
        if context is None:
            raise SourceNotFoundError(f"no such file: {argument!r} (and no context to look it up as an id)")
        raise ImageNotFoundError(f"{argument!r} is neither an indexed image id nor a file")
    if context is None:
        return None, path
    same = context.system.catalog.ids_with_hash(context.name, load_image(path).sha256)
    return (same[0], None) if same else (None, path)


def _compare_files(system: ImageSearch, first: Path, second: Path) -> Comparison:
    """Two files that are not indexed, compared in a temporary context deleted afterwards."""
    scratch = system.create_context(f"compare-{uuid.uuid4().hex[:12]}")
    try:
        scratch.add_image(first.name, first)
        return scratch.compare_images(first.name, other_image=second)
    finally:
        system.delete_context(scratch.name)


@cli.command()
@click.argument("first")
@click.argument("second")
@json_option
@pass_state
def compare(state: CliState, first: str, second: str, as_json: bool) -> None:
    """Compare two images: indexed ids or files.

    Either may be an indexed id or a file; two files that are not indexed are compared
    in a temporary context, deleted afterwards.
    """
    system = state.system()
    try:
        context: SearchContext | None = system.context(state.context_name)
    except ContextNotFoundError:
        context = None  # two plain files need no context
    (first_id, first_path), (second_id, second_path) = _resolve(context, first), _resolve(context, second)
    if first_id is None and second_id is not None:
        (first_id, first_path), (second_id, second_path) = (second_id, second_path), (first_id, first_path)
    if first_id is None or context is None:
        assert first_path is not None and second_path is not None
        comparison = _compare_files(system, first_path, second_path)
        first_id = str(first_path)
    elif second_id is not None:
        comparison = context.compare_images(first_id, second_id)
    else:
        comparison = context.compare_images(first_id, other_image=second_path)
    if as_json:
        emit(comparison)
    else:
        other = comparison.other_id or str(second_path)
        echo(
            f"{comparison.similarity:.2f}  {first_id} vs {other} "
            f"(distance {comparison.distance:g}, {comparison.method})"
        )
