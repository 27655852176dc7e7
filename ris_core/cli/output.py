"""How the CLI prints: aligned tables for people, JSON (``--json``) for programs."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

from ris_core.models import SearchResult

__all__ = ["emit", "json_option", "print_results", "table", "to_jsonable"]

F = TypeVar("F", bound=Callable[..., Any])


def json_option(function: F) -> F:
    """Add ``--json`` to a command."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")(function)


def to_jsonable(value: Any) -> Any:
    """Dataclasses, enums, bytes and NaN made fit for ``json.dumps``."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def emit(value: Any) -> None:
    """Print ``value`` as indented JSON."""
    click.echo(json.dumps(to_jsonable(value), indent=2, ensure_ascii=False))


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print rows under headers, each column as wide as its widest cell."""
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max([len(header)] + [len(row[i]) for row in cells]) for i, header in enumerate(headers)]
    click.echo("  ".join(header.ljust(width) for header, width in zip(headers, widths, strict=True)).rstrip())
    for row in cells:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


def print_results(results: Sequence[SearchResult], empty: str = "no matches") -> None:
    """Print ranked search results, or ``empty`` when there are none."""
    if not results:
        click.echo(empty)
        return
    table(
        ["rank", "similarity", "distance", "image"],
        [(rank, f"{r.similarity:6.2f}", f"{r.distance:g}", r.image_id) for rank, r in enumerate(results, 1)],
    )
