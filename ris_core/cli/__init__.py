"""The ``ris`` command. Every subcommand is a thin layer over the library API.

Importing this package imports nothing heavy, so that :func:`main` can start a batch's
worker processes first (:func:`start_batch_workers`) and the command's own imports (the
library, NumPy, Pillow, the plugins: about half a second) run beside their warm-up.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ris_core.cli.app import cli

__all__ = ["cli", "main", "start_batch_workers"]

#: Backends whose batch ingest extracts in worker processes that can be started before
#: the command opens anything: the function that starts them (``module:function``, no
#: arguments, importing nothing heavy). Looked up by name, not through the plugins,
#: because finding the plugins costs what starting early saves.
WORKER_STARTERS: dict[str, str] = {"local": "ris_local.workers:start_fork_server"}

#: The global options that take a value (see :func:`ris_core.cli.app.cli`).
_VALUED = frozenset({"-b", "--backend", "-d", "--database", "-o", "--option", "--catalog", "-c", "--context"})


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (the console script's entry point)."""
    if argv is None:  # the console script (a caller passing argv runs no early start)
        start_batch_workers(sys.argv[1:])
    from ris_core.cli.app import main as run

    return run(argv)


def start_batch_workers(argv: Sequence[str]) -> bool:
    """Start the worker processes of the batch the command line ``argv`` (without the
    program's name) is about to run, if it is ``ris index`` on a backend that has them
    (:data:`WORKER_STARTERS`) with more than one worker; whether it did. Only a head
    start: the batch starts them anyway, and a guess that proves wrong (the command
    fails, or finds nothing to index) costs one idle process that ends with the command."""
    backend = os.environ.get("RIS_BACKEND") or "local"
    position = 0
    while position < len(argv):
        argument = argv[position]
        if argument == "--" or not argument.startswith("-") or argument == "-":
            break
        name, equals, value = argument.partition("=")
        attached = name[:2] in _VALUED and len(name) > 2 and not name.startswith("--")
        if name in _VALUED and not equals:
            value = argv[position + 1] if position + 1 < len(argv) else ""
            position += 1
        elif attached:  # -blocal
            name, value = name[:2], argument[2:]
        if name in ("-b", "--backend"):
            backend = value
        position += 1
    if argv[position : position + 1] != ["index"] or backend not in WORKER_STARTERS:
        return False
    if _workers(argv[position + 1 :]) < 2:
        return False
    module, _, function = WORKER_STARTERS[backend].partition(":")
    try:
        getattr(importlib.import_module(module), function)()
    except Exception:  # never in the way of the command: the batch starts its workers itself
        return False
    return True


def _workers(arguments: Sequence[str]) -> int:
    """How many workers ``ris index``'s ``arguments`` ask for (default: the usable cores);
    0 for a request for help."""
    workers = None
    for number, argument in enumerate(arguments):
        if argument in ("-h", "--help"):
            return 0
        if argument == "--workers" and number + 1 < len(arguments):
            workers = arguments[number + 1]
        elif argument.startswith("--workers="):
            workers = argument.partition("=")[2]
    if workers is None:
        try:
            return len(os.sched_getaffinity(0))
        except AttributeError:  # not on Linux
            return os.cpu_count() or 1
    try:
        return int(workers)
    except ValueError:
        return 0  # click will refuse it


def __getattr__(name: str) -> Any:
    """``cli``, the command group, imported on first use."""
    if name == "cli":
        return importlib.import_module("ris_core.cli.app").cli
    raise AttributeError(f"module 'ris_core.cli' has no attribute {name!r}")
