"""``ris features``: compute, read, replace, delete and extract image features."""

from __future__ import annotations

import click

from ris_core.cli.app import CliState, cli, pass_state
from ris_core.cli.output import emit, json_option, report, table
from ris_core.cli.params import image_source
from ris_core.models import ImageFeatures

__all__ = ["features_group"]


def _show(features: ImageFeatures, as_json: bool) -> None:
    if as_json:
        emit(features)  # the feature bytes as hex, under "data"
    else:
        table(
            ["image", "algorithm", "version", "count", "bits", "bytes"],
            [
                (
                    features.image_id or "-",
                    features.algorithm,
                    features.version,
                    features.count,
                    features.length_in_bits,
                    len(features.data),
                )
            ],
        )


@cli.group("features")
def features_group() -> None:
    """Compute, read, replace, delete, extract features."""


def _write(state: CliState, operation: str, image_id: str, file: str | None, as_json: bool) -> None:
    context = state.context()
    getattr(context, f"{operation}_features")(image_id, None if file is None else image_source(file))
    source = f" from {file}" if file is not None else ""
    report(
        as_json,
        f"{operation}d features of {image_id!r}{source}",
        context=context.name,
        action=f"{operation}d",
        image_id=image_id,
    )


@features_group.command("create")
@click.argument("image_id", metavar="ID")
@click.argument("file", required=False)
@json_option
@pass_state
def create_features(state: CliState, image_id: str, file: str | None, as_json: bool) -> None:
    """(Re)compute the features of stored image ID.

    From FILE if given (- reads stdin), else from the stored image.
    """
    _write(state, "create", image_id, file, as_json)


@features_group.command("update")
@click.argument("image_id", metavar="ID")
@click.argument("file", required=False)
@json_option
@pass_state
def update_features(state: CliState, image_id: str, file: str | None, as_json: bool) -> None:
    """Replace the features of stored image ID.

    From FILE if given (- reads stdin), else from the stored image.
    """
    _write(state, "update", image_id, file, as_json)


@features_group.command("get")
@click.argument("image_id", metavar="ID")
@json_option
@pass_state
def get_features(state: CliState, image_id: str, as_json: bool) -> None:
    """Show the stored features of image ID.

    With the algorithm and version that made them; --json adds the bytes as hex.
    """
    _show(state.context().get_features(image_id), as_json)


@features_group.command("delete")
@click.argument("image_id", metavar="ID")
@json_option
@pass_state
def delete_features(state: CliState, image_id: str, as_json: bool) -> None:
    """Delete the features of image ID.

    The image stays stored but matches no search until 'features create'.
    """
    context = state.context()
    context.delete_features(image_id)
    report(as_json, f"deleted features of {image_id!r}", context=context.name, action="deleted", image_id=image_id)


@features_group.command("extract")
@click.argument("file")
@json_option
@pass_state
def extract_features(state: CliState, file: str, as_json: bool) -> None:
    """Compute the features of FILE, storing nothing.

    FILE is a path, or - to read stdin.
    """
    _show(state.context().extract_features(image_source(file)), as_json)
