"""``ris collection``: named sets of images in a context (an image may be in several)."""

from __future__ import annotations

import click

from ris_core.cli.app import CliState, cli, pass_state
from ris_core.cli.output import echo, emit, json_option, report, table

__all__ = ["collection_group"]


@cli.group("collection")
def collection_group() -> None:
    """Named sets of images: create, fill, show, rename, delete."""


@collection_group.command("create")
@click.argument("name")
@click.argument("image_ids", metavar="[ID]...", nargs=-1)
@json_option
@pass_state
def create_collection(state: CliState, name: str, image_ids: tuple[str, ...], as_json: bool) -> None:
    """Create collection NAME, optionally with images.

    Exit 7 if a collection of that name exists.
    """
    context = state.context()
    context.create_collection(name, image_ids)
    report(
        as_json,
        f"created collection {name!r} with {len(image_ids)} image(s)",
        context=context.name,
        action="created",
        collection=name,
        image_ids=list(image_ids),
    )


@collection_group.command("list")
@json_option
@pass_state
def list_collections(state: CliState, as_json: bool) -> None:
    """List the collections with their image counts."""
    infos = state.context().list_collections()
    if as_json:
        emit(infos)
    elif not infos:
        echo("no collections yet; 'ris collection create NAME [ID]...' makes one")
    else:
        table(["collection", "images", "created"], [(i.name, i.image_count, i.created_at) for i in infos])


@collection_group.command("rename")
@click.argument("old")
@click.argument("new")
@json_option
@pass_state
def rename_collection(state: CliState, old: str, new: str, as_json: bool) -> None:
    """Rename collection OLD to NEW."""
    context = state.context()
    context.rename_collection(old, new)
    report(
        as_json,
        f"renamed collection {old!r} to {new!r}",
        context=context.name,
        action="renamed",
        collection=new,
        old_name=old,
    )


@collection_group.command("delete")
@click.argument("name")
@json_option
@pass_state
def delete_collection(state: CliState, name: str, as_json: bool) -> None:
    """Delete collection NAME; its images stay in the context."""
    context = state.context()
    context.delete_collection(name)
    report(as_json, f"deleted collection {name!r}", context=context.name, action="deleted", collection=name)


@collection_group.command("add")
@click.argument("name")
@click.argument("image_ids", metavar="ID...", nargs=-1, required=True)
@json_option
@pass_state
def add_to_collection(state: CliState, name: str, image_ids: tuple[str, ...], as_json: bool) -> None:
    """Put images in collection NAME.

    All or none: an unknown ID exits 3, naming it, and adds nothing.
    """
    context = state.context()
    context.add_to_collection(name, image_ids)
    report(
        as_json,
        f"collection {name!r}: added {len(image_ids)} image(s)",
        context=context.name,
        action="added",
        collection=name,
        image_ids=list(image_ids),
    )


@collection_group.command("remove")
@click.argument("name")
@click.argument("image_ids", metavar="ID...", nargs=-1, required=True)
@json_option
@pass_state
def remove_from_collection(state: CliState, name: str, image_ids: tuple[str, ...], as_json: bool) -> None:
    """Take images out of collection NAME.

    The images stay in the context.
    """
    context = state.context()
    context.remove_from_collection(name, image_ids)
    report(
        as_json,
        f"collection {name!r}: removed {len(image_ids)} image(s)",
        context=context.name,
        action="removed",
        collection=name,
        image_ids=list(image_ids),
    )


@collection_group.command("show")
@click.argument("name")
@json_option
@pass_state
def show_collection(state: CliState, name: str, as_json: bool) -> None:
    """List the image ids in collection NAME, sorted, one a line."""
    ids = state.context().collection_images(name)
    if as_json:
        emit({"name": name, "image_ids": ids})
    else:
        for image_id in ids:
            echo(image_id)
