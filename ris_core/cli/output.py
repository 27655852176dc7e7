"""How the CLI prints: aligned tables for people, JSON (``--json``) for programs.

The formatting functions return lines rather than printing them, so ``ris shell``
prints the same tables through its own output function.

Ids and paths come from file names, which may hold escape sequences or bytes that are
not UTF-8 (Python carries those as lone surrogates). Everything the CLI prints goes
through :func:`for_terminal` (or :func:`echo`, which applies it line by line), so no
name can move the cursor, recolour the terminal or fail the encoder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import json
import math
import sys
import threading
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import click
from tqdm import tqdm

from ris_core.context import SearchContext
from ris_core.ingest import IngestReport, IngestStatus
from ris_core.models import DuplicateGroup, SearchResult

__all__ = [
    "bar",
    "echo",
    "emit",
    "for_terminal",
    "format_duplicates",
    "format_results",
    "format_table",
    "json_option",
    "print_ingest",
    "print_results",
    "progress_option",
    "report",
    "shown",
    "table",
    "to_jsonable",
    "working",
]

F = TypeVar("F", bound=Callable[..., Any])


#: Format characters that reorder text on screen (bidirectional overrides and isolates).
_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _unsafe(char: str) -> bool:
    # Cc: C0, DEL and C1 controls; Cs: lone surrogates (undecodable bytes of a file
    # name); Zl/Zp: line and paragraph separators.
    return unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp") or char in _BIDI_CONTROLS


def _escape(char: str) -> str:
    point = ord(char)
    if 0xDC80 <= point <= 0xDCFF:  # a byte that was not UTF-8, as surrogateescape keeps it
        return f"\\x{point - 0xDC00:02x}"
    return f"\\x{point:02x}" if point <= 0xFF else f"\\u{point:04x}"


def for_terminal(text: str) -> str:
    """``text`` safe to print: control characters, bidirectional overrides and
    undecodable bytes are shown as Python-style escapes (``\\x1b``, ``\\x9b``, ``\\xff``)."""
    if text.isprintable():
        return text
    return "".join(_escape(char) if _unsafe(char) else char for char in text)


def echo(text: str = "", err: bool = False) -> None:
    """Print ``text`` like ``click.echo``, each line passed through :func:`for_terminal`."""
    click.echo("\n".join(for_terminal(line) for line in text.split("\n")), err=err)


def _json_safe(text: str) -> str:
    # JSON text that escapes what for_terminal escapes, as \uXXXX: still valid JSON
    # that decodes to the very same string (a lone surrogate included). json.dumps
    # already escapes C0 controls inside strings, so a raw newline is indentation.
    return "".join(f"\\u{ord(char):04x}" if char != "\n" and _unsafe(char) else char for char in text)


def json_option(function: F) -> F:
    """Add ``--json`` to a command."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(function)


def progress_option(function: F) -> F:
    """Add ``--progress/--no-progress`` (default: show it when stderr is a terminal)."""
    return click.option("--progress/--no-progress", default=None, help="Progress on stderr (default: on a terminal).")(
        function
    )


def shown(progress: bool | None) -> bool:
    """Whether to show progress: as asked, else when stderr is a terminal."""
    return sys.stderr.isatty() if progress is None else progress


def bar(progress: bool | None, total: int, description: str, unit: str = "pair") -> tqdm[Any]:
    """A tqdm bar on stderr, shown as :func:`shown` decides."""
    return tqdm(total=total, disable=not shown(progress), desc=description, unit=unit, file=sys.stderr)


@contextlib.contextmanager
def duplicates_bar(progress: bool | None, description: str) -> Iterator[Callable[[int, int], None]]:
    """A tqdm bar on stderr that a ``find_duplicates`` progress callback moves: its
    total comes with the first call (a share of the work: the backend's units mean
    nothing to a user, so the bar shows a percentage and the time left)."""
    with tqdm(
        total=None,
        disable=not shown(progress),
        desc=description,
        file=sys.stderr,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}<{remaining}",
        leave=False,
    ) as line:

        def advance(done: int, total: int) -> None:
            if line.total != total:
                line.reset(total=total)
            line.n = done
            line.refresh()

        yield advance


@contextlib.contextmanager
def working(description: str, progress: bool | None = None) -> Iterator[None]:
    """While a step of unknown length runs, a line with its elapsed time on stderr
    (redrawn four times a second from a helper thread), when :func:`shown`."""
    if not shown(progress):
        yield
        return
    stop = threading.Event()
    with tqdm(total=None, desc=description, bar_format="{desc}: {elapsed}", file=sys.stderr, leave=False) as line:

        def tick() -> None:
            while not stop.wait(0.25):
                line.refresh()

        ticker = threading.Thread(target=tick, name="ris-progress", daemon=True)
        ticker.start()
        try:
            yield
        finally:
            stop.set()
            ticker.join()


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
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def emit(value: Any) -> None:
    """Print ``value`` as indented JSON."""
    click.echo(_json_safe(json.dumps(to_jsonable(value), indent=2, ensure_ascii=False)))


def report(as_json: bool, message: str, **fields: Any) -> None:
    """What a write command prints when it succeeds: ``message``, or ``fields`` as JSON."""
    if as_json:
        emit(fields)
    else:
        echo(message)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """Rows under headers, each column as wide as its widest cell."""
    cells = [[for_terminal(str(cell)) for cell in row] for row in rows]
    widths = [max([len(header)] + [len(row[i]) for row in cells]) for i, header in enumerate(headers)]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [list(headers), *cells]
    ]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print rows under headers, each column as wide as its widest cell."""
    for line in format_table(headers, rows):
        echo(line)


def _compact(metadata: Mapping[str, Any] | None) -> str:
    return json.dumps(dict(metadata), ensure_ascii=False, separators=(",", ":")) if metadata else ""


def format_results(results: Sequence[SearchResult], empty: str = "no matches") -> list[str]:
    """Ranked search results as a table (with a metadata column if any has some)."""
    if not results:
        return [empty]
    headers = ["rank", "similarity", "distance", "image"]
    rows: list[list[object]] = [
        [rank, f"{r.similarity:6.2f}", f"{r.distance:g}", r.image_id] for rank, r in enumerate(results, 1)
    ]
    if any(r.metadata for r in results):
        headers.append("metadata")
        for row, result in zip(rows, results, strict=True):
            row.append(_compact(result.metadata))
    return format_table(headers, rows)


def print_results(results: Sequence[SearchResult], empty: str = "no matches") -> None:
    """Print ranked search results, or ``empty`` when there are none."""
    for line in format_results(results, empty):
        echo(line)


def format_duplicates(groups: Sequence[DuplicateGroup]) -> list[str]:
    """Groups of near-duplicates, each image with its link to the group: its best score
    against another member (``--json`` also names that member)."""
    if not groups:
        return ["no duplicates"]
    lines = []
    for number, group in enumerate(groups, 1):
        lines.append(f"group {number}:")
        lines.extend(f"  {result.similarity:6.2f}  {for_terminal(result.image_id)}" for result in group.images)
    return lines


def print_ingest(context: SearchContext, report: IngestReport, as_json: bool, nothing: str) -> int:
    """Print a batch's outcome (failures to stderr); return the exit code: 1 if any failed.

    Besides the counts, the text names each file skipped for a reason other than being
    unchanged (another link to a file already indexed: ``same file as 'a.jpg'``), as
    ``--json`` does in each item's ``detail``: a re-run's thousands of unchanged files
    stay silent, but a file that was found and not indexed is never only a count.
    """
    if as_json:
        emit({"context": context.name, "summary": report.summary(), "items": report.items})
    else:
        counts = ", ".join(f"{count} {status}" for status, count in report.summary().items() if count)
        echo(f"context {context.name!r}: {counts or nothing}; {len(context)} images in all")
        for item in report.items:
            if item.status is IngestStatus.SKIPPED and item.detail:
                echo(f"  skipped {for_terminal(str(item.source or item.image_id))}: {for_terminal(item.detail)}")
        for item in report.failed:
            name = for_terminal(str(item.source or item.image_id))
            echo(f"  failed {name}: {item.error}", err=True)
    return 1 if report.failed else 0
