"""The ``ris`` command group: global options, opening the system, errors to exit codes.

Exit codes, the same in every command (the README's table lists them): 0 success;
1 some items of a batch failed; 2 usage error (including JSON text that is not a JSON
object); 3 not found (an id, a context, or a file or folder named on the command line);
4 invalid input (including a JSON object the library refuses, and files that cannot be
read or written); 5 backend failure (including a context that stays busy);
6 configuration (unknown or unavailable backend, bad option); 7 already exists;
8 operation not offered by the backend; 9 the database failed (another storage error);
10 the database's disk is full; 11 the database is read-only; 12 the database stayed
locked by another process; 13 the database is damaged or not a database; 14 the
database was written by a newer ris; 130 interrupted, or a confirmation declined.
"""

from __future__ import annotations

import io
import logging
import sys
from dataclasses import dataclass, field
from typing import Any

import click

from ris_core import errors
from ris_core.api import open as open_system
from ris_core.cli.output import echo, for_terminal
from ris_core.cli.params import parse_key_values
from ris_core.context import SearchContext
from ris_core.system import ImageSearch

__all__ = ["EXIT_CODES", "CliState", "cli", "cli_message", "exit_code_for", "main", "pass_state"]

#: The first matching entry wins, so a subclass comes before its base.
EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (errors.StorageFullError, 10),
    (errors.ReadOnlyStorageError, 11),
    (errors.StorageLockedError, 12),
    (errors.CorruptStorageError, 13),
    (errors.NewerSchemaError, 14),
    (errors.StorageError, 9),
    (errors.NotFoundError, 3),
    (errors.SourceNotFoundError, 3),
    (FileNotFoundError, 3),
    (errors.InvalidArgumentError, 4),
    (errors.BackendError, 5),
    (errors.ContextBusyError, 5),
    (errors.ConfigurationError, 6),
    (errors.AlreadyExistsError, 7),
    (errors.UnsupportedOperationError, 8),
)


@dataclass
class CliState:
    """What the global options chose; opens the system on first use."""

    backend: str | None
    options: dict[str, str]
    catalog: str | None
    context_name: str
    #: Whether --context (or $RIS_CONTEXT) was given, rather than left at its default.
    context_given: bool = False
    _system: ImageSearch | None = field(default=None, repr=False)

    def system(self) -> ImageSearch:
        """The opened system (opened once, closed when the command ends)."""
        if self._system is None:
            options: dict[str, Any] = dict(self.options)
            self._system = open_system(self.backend, catalog=self.catalog, **options)
        return self._system

    def context(self, create: bool = False, by_reference: bool = False) -> SearchContext:
        """The ``--context`` context; created on demand by commands that write (storing
        by reference if ``by_reference``)."""
        return self.system().context(self.context_name, create=create, by_reference=by_reference)

    def close(self) -> None:
        """Close the system if it was opened."""
        if self._system is not None:
            self._system.close()


pass_state = click.make_pass_decorator(CliState)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-b", "--backend", envvar="RIS_BACKEND", help="Backend name (default: local).")
@click.option(
    "-d",
    "--database",
    envvar="RIS_DATABASE",
    help="Database of the local backend: a file (default: $RIS_HOME/ris.db) or a postgresql:// URL "
    "(prefer $RIS_DATABASE for a URL: a command line is visible to other users).",
)
@click.option(
    "-o",
    "--option",
    "option_values",
    multiple=True,
    metavar="KEY=VALUE",
    help="A backend option, repeatable (e.g. -o base_url=http://127.0.0.1:8080).",
)
@click.option("--catalog", envvar="RIS_CATALOG", help="Catalog database (default: where the backend says).")
@click.option(
    "-c",
    "--context",
    "context_name",
    envvar="RIS_CONTEXT",
    default="default",
    show_default=True,
    help="Search context to work in.",
)
@click.option("-v", "--verbose", count=True, help="Log more (-v info, -vv debug).")
@click.version_option(package_name="ris")
@click.pass_context
def cli(
    ctx: click.Context,
    backend: str | None,
    database: str | None,
    option_values: tuple[str, ...],
    catalog: str | None,
    context_name: str,
    verbose: int,
) -> None:
    """Reverse image search: index folders of images, then find similar ones."""
    logging.basicConfig(
        level=(logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)],
        format="%(levelname)s %(name)s: %(message)s",
    )
    options = parse_key_values(option_values, "--option")
    if database is not None:
        options.setdefault("database", database)
    given = ctx.get_parameter_source("context_name") is not click.core.ParameterSource.DEFAULT
    state = CliState(backend, options, catalog, context_name, given)
    ctx.obj = state
    ctx.call_on_close(state.close)


#: Library messages name the Python method to use; on the command line, the command.
METHOD_COMMANDS: dict[str, str] = {
    "update_image()": "`ris image update`",
    "add_image()": "`ris image add`",
    "delete_image()": "`ris image delete`",
    "list_contexts()": "`ris contexts`",
    "create_context()": "`ris context create`",
    "create_features()": "`ris features create`",
}


def cli_message(message: str) -> str:
    """A library error message as the CLI says it: commands instead of method names."""
    for method, command in METHOD_COMMANDS.items():
        message = message.replace(method, command)
    return message


def exit_code_for(exc: BaseException) -> int:
    """The documented exit code for an error."""
    for error_type, code in EXIT_CODES:
        if isinstance(exc, error_type):
            return code
    return 1


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (the console script's entry point)."""
    from ris_core.cli import commands  # noqa: F401 - registers the subcommands

    try:
        # Without standalone mode, click returns a command's ctx.exit(code) as a value.
        returned = cli.main(args=argv, prog_name="ris", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        shown = io.StringIO()  # click repeats what the user typed: escape it like the rest
        exc.show(file=shown)
        echo(shown.getvalue().rstrip("\n"), err=True)
        return exc.exit_code
    except errors.RisError as exc:
        click.echo(f"error: {for_terminal(cli_message(str(exc)))}", err=True)
        return exit_code_for(exc)
    except OSError as exc:
        # A path the user gave cannot be read or written: their input, not our bug.
        where = f": {for_terminal(str(exc.filename))}" if exc.filename else ""
        click.echo(f"error: {exc.strerror or exc}{where}", err=True)
        return 3 if isinstance(exc, FileNotFoundError) else 4
    return returned if isinstance(returned, int) else 0


if __name__ == "__main__":
    sys.exit(main())
