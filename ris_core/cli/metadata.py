"""``ris metadata``: read, replace, merge and delete an image's metadata (a JSON object)."""

from __future__ import annotations

import json
from typing import Any

import click

from ris_core.cli.app import CliState, cli, pass_state
from ris_core.cli.output import echo, emit, json_option, report
from ris_core.cli.params import json_object

__all__ = ["metadata_group"]

_JSON_HELP = (
    "METADATA is a JSON object, inline or @FILE. Text that is not a JSON object exits 2; "
    "an object the library refuses (too large) exits 4."
)


@cli.group("metadata")
def metadata_group() -> None:
    """Per-image metadata: get, set, update, delete.

    Metadata is any JSON object.
    """


@metadata_group.command("get")
@click.argument("image_id", metavar="ID")
@json_option
@pass_state
def get_metadata(state: CliState, image_id: str, as_json: bool) -> None:
    """Show the metadata of image ID.

    With --json, an image without metadata prints {}.
    """
    metadata = state.context().get_metadata(image_id)
    if as_json or metadata:
        emit(metadata)
    else:
        echo(f"no metadata for {image_id!r}")


@metadata_group.command("set", epilog=_JSON_HELP)
@click.argument("image_id", metavar="ID")
@click.argument("metadata", callback=json_object)
@json_option
@pass_state
def set_metadata(state: CliState, image_id: str, metadata: dict[str, Any], as_json: bool) -> None:
    """Replace the metadata of image ID with METADATA."""
    context = state.context()
    context.set_metadata(image_id, metadata)
    report(
        as_json,
        f"set metadata of {image_id!r}: {json.dumps(metadata, ensure_ascii=False)}",
        context=context.name,
        action="set",
        image_id=image_id,
        metadata=metadata,
    )


@metadata_group.command("update", epilog=_JSON_HELP)
@click.argument("image_id", metavar="ID")
@click.argument("changes", metavar="METADATA", callback=json_object)
@json_option
@pass_state
def update_metadata(state: CliState, image_id: str, changes: dict[str, Any], as_json: bool) -> None:
    """Merge METADATA into image ID's metadata.

    Top-level keys of METADATA replace those of the same name; prints the result.
    """
    context = state.context()
    merged = context.update_metadata(image_id, changes)
    report(
        as_json,
        json.dumps(merged, indent=2, ensure_ascii=False),
        context=context.name,
        action="updated",
        image_id=image_id,
        metadata=merged,
    )


@metadata_group.command("delete")
@click.argument("image_id", metavar="ID")
@json_option
@pass_state
def delete_metadata(state: CliState, image_id: str, as_json: bool) -> None:
    """Remove all metadata of image ID (the image stays)."""
    context = state.context()
    context.delete_metadata(image_id)
    report(as_json, f"deleted metadata of {image_id!r}", context=context.name, action="deleted", image_id=image_id)
