"""``ris tag``: define tags by reference images, list them, find images by them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ris_core.cli.app import CliState, cli, pass_state
from ris_core.cli.output import echo, emit, json_option, print_results, report, table
from ris_core.cli.params import search_limits
from ris_core.images import ImageInput

__all__ = ["tag_group"]


@cli.group("tag")
def tag_group() -> None:
    """Tags defined by reference images: create, list, search."""


@tag_group.command("create")
@click.argument("name")
@click.argument("images", metavar="IMAGE...", nargs=-1, required=True)
@click.option("--id", "by_id", is_flag=True, help="Each IMAGE is the id of an indexed image, not a file.")
@json_option
@pass_state
def create_tag(state: CliState, name: str, images: tuple[str, ...], by_id: bool, as_json: bool) -> None:
    """Define tag NAME by reference images.

    IMAGE is a file, or an indexed id with --id. An existing tag gains the new
    references.
    """
    context = state.context()
    references: list[ImageInput] = (
        [context.get_image(image) for image in images] if by_id else [Path(image) for image in images]
    )
    context.create_tag(name, references)
    total = context.list_tags().get(name, len(references))
    report(
        as_json,
        f"tag {name!r}: {len(references)} reference image(s) added, {total} in all",
        context=context.name,
        action="tagged",
        tag=name,
        added=len(references),
        references=total,
    )


@tag_group.command("list")
@json_option
@pass_state
def list_tags(state: CliState, as_json: bool) -> None:
    """List the tags with their number of reference images."""
    tags = state.context().list_tags()
    if as_json:
        emit([{"name": name, "references": count} for name, count in sorted(tags.items())])
    elif not tags:
        echo("no tags yet; 'ris tag create NAME IMAGE...' makes one")
    else:
        table(["tag", "references"], sorted(tags.items()))


@tag_group.command("search")
@click.argument("names", metavar="NAME...", nargs=-1, required=True)
@search_limits
@json_option
@pass_state
def search_tags(state: CliState, names: tuple[str, ...], limits: dict[str, Any], as_json: bool) -> None:
    """Find images by tags, best first.

    Images similar to the reference images of any tag NAME.
    """
    results = state.context().find_images_by_tags(list(names), **limits)
    if as_json:
        emit(results)
    else:
        print_results(results)
