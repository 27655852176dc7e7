"""Parameters the commands share: JSON objects, KEY=VALUE pairs, search limits and filters.

JSON given on the command line is checked in two steps, and the exit code says which
failed: text that is not a JSON object (a syntax error, a list, NaN) is a usage error,
exit 2, like ``-t abc``; a JSON object the library refuses (a filter with an unknown
operator, metadata over the size limit) is invalid input, exit 4, like ``-t 150``.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ris_core.context.base import DEFAULT_MAX_COUNT
from ris_core.errors import InvalidMetadataError, SourceNotFoundError
from ris_core.images import ImageInput
from ris_core.metadata import MAX_DEPTH

__all__ = [
    "COLLECTION",
    "MAX_COUNT",
    "METADATA",
    "THRESHOLD",
    "WHERE",
    "filters",
    "image_source",
    "json_object",
    "parse_key_values",
    "search_limits",
]

F = TypeVar("F", bound=Callable[..., Any])

_JSON_TYPES = {dict: "object", list: "array", str: "string", int: "number", float: "number", bool: "boolean"}


def _no_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity; JSON does not, and neither does ris.
    raise ValueError(f"{name} is not valid JSON")


def json_object(ctx: click.Context | None, param: click.Parameter | None, value: str | None) -> dict[str, Any] | None:
    """A click callback: the JSON object given inline or as ``@FILE`` (None if not given).

    Anything but a JSON object is a usage error that says what is wrong with the text.
    (A callback rather than a ``click.ParamType``: the latter is generic only in newer
    click releases than the ones ris supports.)
    """
    if value is None:
        return None
    text = value
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except FileNotFoundError as exc:  # exit 3, as for every missing file
            raise SourceNotFoundError(f"no such file: {value[1:]!r}") from exc
        except OSError as exc:
            raise click.BadParameter(f"cannot read {value[1:]!r}: {exc.strerror or exc}", ctx, param) from None
    try:
        parsed = json.loads(text, parse_constant=_no_constant)
    except RecursionError:  # valid JSON, but past any limit the library takes: exit 4
        raise InvalidMetadataError(f"{value[:20]!r} is nested too deeply (the limit is {MAX_DEPTH} levels)") from None
    except ValueError as exc:
        raise click.BadParameter(f"not valid JSON ({exc}): {text[:60]!r}", ctx, param) from None
    if not isinstance(parsed, dict):
        kind = _JSON_TYPES.get(type(parsed), "null")
        raise click.BadParameter(f"must be a JSON object ({{...}}), not a JSON {kind}", ctx, param)
    return parsed


_JSON_HELP = "Inline or @FILE; text that is not a JSON object exits 2, an object the library refuses exits 4."

#: ``-t/--threshold``: the similarity a match needs (default: the backend's).
THRESHOLD = click.option(
    "-t",
    "--threshold",
    type=float,
    default=None,
    help="Similarity threshold, 0 to 100 (default: the backend's calibrated one).",
)
#: ``-n/--max-count``: how many results at most.
MAX_COUNT = click.option(
    "-n",
    "--max-count",
    type=int,
    default=DEFAULT_MAX_COUNT,
    show_default=True,
    help="At most this many results.",
)
#: ``--where``: a metadata filter (see :mod:`ris_core.metadata`).
WHERE = click.option(
    "--where",
    callback=json_object,
    default=None,
    metavar="JSON",
    help='Only images whose metadata matches this filter, e.g. \'{"year": {"$gte": 2020}}\'. ' + _JSON_HELP,
)
#: ``--collection``: only images in this collection.
COLLECTION = click.option("--collection", default=None, metavar="NAME", help="Only images in this collection.")
#: ``-m/--metadata``: an image's metadata, a JSON object.
METADATA = click.option(
    "-m",
    "--metadata",
    callback=json_object,
    default=None,
    metavar="JSON",
    help="The image's metadata, a JSON object. " + _JSON_HELP,
)


def filters(function: F) -> F:
    """Add ``--where`` and ``--collection`` to a command."""
    return WHERE(COLLECTION(function))


def search_limits(function: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``-t``, ``-n``, ``--where`` and ``--collection`` to a search command, handed
    to it as one ``limits`` keyword: the keyword arguments of ``find_similar_images``
    and ``find_images_by_tags``, so the search commands cannot drift apart."""

    @functools.wraps(function)
    def command(
        *args: Any,
        threshold: float | None,
        max_count: int,
        where: dict[str, Any] | None,
        collection: str | None,
        **kwargs: Any,
    ) -> Any:
        limits = {"threshold": threshold, "max_count": max_count, "where": where, "collection": collection}
        return function(*args, limits=limits, **kwargs)

    return THRESHOLD(MAX_COUNT(filters(command)))


def parse_key_values(values: tuple[str, ...], hint: str) -> dict[str, str]:
    """``KEY=VALUE`` strings as a dict (dashes in keys become underscores)."""
    options = {}
    for value in values:
        key, sep, setting = value.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"{value!r} is not KEY=VALUE", param_hint=hint)
        options[key.strip().replace("-", "_")] = setting
    return options


def image_source(argument: str) -> ImageInput:
    """A FILE argument as the library takes it: ``-`` reads the bytes from stdin."""
    return sys.stdin.buffer.read() if argument == "-" else Path(argument)
