"""``ris image``: add, replace, read, delete, list and show single images.

(Many files at once: ``ris index``.)
"""

from __future__ import annotations

import json
import sys
from typing import IO, Any

import click

from ris_core.cli.app import CliState, cli, pass_state
from ris_core.cli.output import echo, emit, json_option, report
from ris_core.cli.params import METADATA, filters, image_source

__all__ = ["image_group"]


@cli.group("image")
def image_group() -> None:
    """Add, replace, read, delete, list, show images.

    Many files at once: 'ris index'.
    """


@image_group.command("add")
@click.argument("image_id", metavar="ID")
@click.argument("file")
@METADATA
@json_option
@pass_state
def add_image(state: CliState, image_id: str, file: str, metadata: dict[str, Any] | None, as_json: bool) -> None:
    """Store FILE under a new ID.

    Exit 7 if ID is taken ('image update' replaces an image). FILE is a path, or -
    to read the image from stdin. The context is created if it does not exist yet.
    """
    context = state.context(create=True)
    context.add_image(image_id, image_source(file), metadata)
    report(
        as_json,
        f"added {image_id!r} to context {context.name!r} ({len(context)} in all)",
        context=context.name,
        action="added",
        image_id=image_id,
    )


@image_group.command("update")
@click.argument("image_id", metavar="ID")
@click.argument("file")
@METADATA
@json_option
@pass_state
def update_image(state: CliState, image_id: str, file: str, metadata: dict[str, Any] | None, as_json: bool) -> None:
    """Replace image ID with FILE.

    FILE is a path, or - to read stdin. The metadata is replaced too when --metadata
    is given, and kept otherwise.
    """
    context = state.context()
    context.update_image(image_id, image_source(file), metadata)
    report(
        as_json,
        f"updated {image_id!r} in context {context.name!r}",
        context=context.name,
        action="updated",
        image_id=image_id,
    )


@image_group.command("get")
@click.argument("image_id", metavar="ID")
@click.option(
    "-o",
    "--output",
    type=click.File("wb"),
    default=None,
    help="Write to this file ('-': stdout). Default: stdout, unless it is a terminal.",
)
@pass_state
def get_image(state: CliState, image_id: str, output: IO[bytes] | None) -> None:
    """Write the stored bytes of image ID.

    Exactly the bytes that were added, to -o FILE or to stdout when it is not a
    terminal.
    """
    if output is None:
        if sys.stdout.isatty():
            raise click.UsageError("image bytes would go to the terminal; give -o FILE or redirect stdout")
        output = sys.stdout.buffer
    output.write(state.context().get_image(image_id))
    output.flush()


@image_group.command("delete")
@click.argument("image_ids", metavar="ID...", nargs=-1, required=True)
@json_option
@pass_state
def delete_image(state: CliState, image_ids: tuple[str, ...], as_json: bool) -> None:
    """Delete images by ID.

    Their features, metadata and collection memberships go too. Stops at the first
    unknown ID (exit 3); those before it are deleted.
    """
    context = state.context()
    for image_id in image_ids:
        context.delete_image(image_id)
    report(
        as_json,
        f"deleted {', '.join(map(repr, image_ids))} from context {context.name!r}",
        context=context.name,
        action="deleted",
        image_ids=list(image_ids),
    )


@image_group.command("list")
@filters
@json_option
@pass_state
def list_images(state: CliState, where: dict[str, Any] | None, collection: str | None, as_json: bool) -> None:
    """List the image ids, sorted, one a line.

    Narrowed by --where and --collection when given.
    """
    ids = state.context().image_ids(where, collection)
    if as_json:
        emit(ids)
    else:
        for image_id in ids:
            echo(image_id)


@image_group.command("show")
@click.argument("image_id", metavar="ID")
@json_option
@pass_state
def show_image(state: CliState, image_id: str, as_json: bool) -> None:
    """Show what the catalog knows about image ID, its collections and metadata.

    The catalog's facts: its SHA-256, size in bytes, width and height, when it was
    added, and whether it is a copy or a reference to a file (then that file's path
    and modification time).
    """
    context = state.context()
    info = context.image_info(image_id)
    collections = context.collections_of(image_id)
    metadata = context.get_metadata(image_id)
    if as_json:
        emit(
            {
                "image_id": image_id,
                "sha256": info.sha256,
                "size": info.size,
                "width": info.width,
                "height": info.height,
                "added_at": info.added_at.isoformat(),
                "reference": info.reference,
                "source": None if info.source is None else str(info.source),
                "modified": None if info.modified is None else info.modified.isoformat(),
                "collections": collections,
                "metadata": metadata,
            }
        )
        return
    dimensions = f"{info.width}x{info.height}" if info.width is not None and info.height is not None else "-"
    # echo passes every line through for_terminal: a file name cannot drive the terminal.
    echo(f"image:       {image_id}")
    echo(f"stored:      {'by reference' if info.reference else 'as a copy'}")
    echo(f"source:      {info.source if info.source is not None else '-'}")
    echo(f"modified:    {info.modified.isoformat(timespec='seconds') if info.modified else '-'}")
    echo(f"sha256:      {info.sha256}")
    echo(f"size:        {info.size} bytes")
    echo(f"dimensions:  {dimensions}")
    echo(f"added:       {info.added_at.isoformat(timespec='seconds')}")
    echo(f"collections: {', '.join(collections) or '-'}")
    echo(f"metadata:    {json.dumps(metadata, ensure_ascii=False) if metadata else '-'}")
