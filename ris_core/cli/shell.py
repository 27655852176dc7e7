"""``ris shell``: the interactive numbered menu (add, find similar, find duplicates, add
tag, find by tags, collections, metadata, statistics).

:class:`Shell` holds one method per menu entry and talks only through the ``ask`` and
``say`` functions it is given, so tests drive it with scripted answers as well as
through a real terminal. A bad answer or a library error prints its message and the
menu comes back; end of input (Ctrl-D) quits, Ctrl-C cancels the entry being answered.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from ris_core.cli.app import CliState, cli, cli_message, pass_state
from ris_core.cli.output import for_terminal, format_duplicates, format_results, format_table
from ris_core.cli.stats import format_stats
from ris_core.context.base import DEFAULT_MAX_COUNT
from ris_core.errors import RisError
from ris_core.images import ImageInput
from ris_core.ingest import IngestStatus
from ris_core.system import ImageSearch

__all__ = ["Ask", "BadAnswer", "Say", "Shell", "shell"]

#: Shows a prompt and returns the answer typed; raises EOFError at the end of input.
Ask = Callable[[str], str]
#: Prints one line.
Say = Callable[[str], None]

QUIT = frozenset({"q", "quit", "exit", "0"})


class BadAnswer(ValueError):
    """An answer that cannot be used (not a number, not JSON, missing)."""


def read_line(prompt: str) -> str:
    """The default ``ask``: the terminal's own line editing, via ``input``."""
    return input(f"{prompt}: ")


@dataclass(frozen=True)
class Entry:
    """One line of the menu."""

    key: str
    label: str
    action: Callable[[], None]


class Shell:
    """The menu over one system, starting in context ``context_name`` (created if new)."""

    def __init__(self, system: ImageSearch, context_name: str, ask: Ask = read_line, say: Say = click.echo) -> None:
        self.system = system
        self.context = system.context(context_name, create=True)
        self._ask = ask
        # Every line goes through for_terminal: ids and paths come from file names.
        self.say: Say = lambda text: say("\n".join(for_terminal(line) for line in text.split("\n")))
        actions = [
            ("add images (a file or a folder)", self.add_image),
            ("find similar images", self.find_similar),
            ("find duplicates", self.find_duplicates),
            ("add tag", self.add_tag),
            ("find images by tags", self.find_by_tags),
            ("list images", self.list_images),
            ("list collections", self.list_collections),
            ("add images to a collection", self.add_to_collection),
            ("remove images from a collection", self.remove_from_collection),
            ("show metadata", self.show_metadata),
            ("set metadata", self.set_metadata),
            ("delete an image", self.delete_image),
            ("statistics", self.statistics),
            ("switch context", self.switch_context),
        ]
        self.entries = [Entry(str(number), label, action) for number, (label, action) in enumerate(actions, 1)]

    # --- the loop ------------------------------------------------------------------

    def run(self) -> None:
        """Show the menu and carry out choices until quit, end of input or Ctrl-C."""
        by_key = {entry.key: entry for entry in self.entries}
        while True:
            self.show_menu()
            try:
                choice = self._ask(f"choice [1-{len(self.entries)}, q]").strip().lower()
            except (EOFError, KeyboardInterrupt):
                self.say("")
                break
            if choice in QUIT:
                break
            if not choice:
                continue
            entry = by_key.get(choice)
            if entry is None:
                self.say(f"no menu entry {choice!r}: choose 1 to {len(self.entries)}, or q to quit")
            elif not self.perform(entry):
                break
        self.say("bye")

    def show_menu(self) -> None:
        """The header (context, backend, image count) and the numbered entries."""
        self.say("")
        self.say(f"ris shell - context {self.context.name!r} on {self.system.backend_name}, {len(self.context)} images")
        # Two columns keep the whole menu and the last answer on one screen.
        cells = [f"{entry.key:>3}  {entry.label}" for entry in self.entries] + ["  q  quit"]
        half = (len(cells) + 1) // 2
        width = max(len(cell) for cell in cells[:half]) + 3
        for left, right in itertools.zip_longest(cells[:half], cells[half:], fillvalue=""):
            self.say(f"{left:<{width}}{right}".rstrip())

    def perform(self, entry: Entry) -> bool:
        """Carry out one entry; False when input ended and the shell should stop."""
        try:
            entry.action()
        except EOFError:
            self.say("")
            return False
        except KeyboardInterrupt:
            self.say("\ncancelled")
        except (RisError, BadAnswer) as exc:
            self.say(f"error: {cli_message(str(exc))}")
        except OSError as exc:  # a path that cannot be read: the user's answer, not a crash
            self.say(f"error: {exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""))
        return True

    # --- asking --------------------------------------------------------------------

    def ask(self, prompt: str, default: str | None = None) -> str:
        """An answer, stripped of blanks and of the quotes a terminal adds to dropped
        files; ``default`` when blank, BadAnswer when blank without a default."""
        shown = f"{prompt} [{default}]" if default else prompt
        answer = self._ask(shown).strip()
        if len(answer) > 1 and answer[0] == answer[-1] and answer[0] in "'\"":
            answer = answer[1:-1]
        if answer:
            return answer
        if default is None:
            raise BadAnswer(f"{prompt}: an answer is needed")
        return default

    def ask_number(self, prompt: str, default: float | None, kind: type[int] | type[float] = float) -> Any:
        """A number, or ``default`` when blank (None: the backend decides)."""
        answer = self.ask(
            prompt + (" (blank: backend default)" if default is None else ""), "" if default is None else str(default)
        )
        if not answer:
            return None
        try:
            return kind(answer)
        except ValueError:
            raise BadAnswer(f"{answer!r} is not {'a whole number' if kind is int else 'a number'}") from None

    def ask_json(self, prompt: str, optional: bool) -> dict[str, Any] | None:
        """A JSON object (None when blank and ``optional``)."""
        answer = self.ask(prompt, "" if optional else None)
        if not answer:
            return None
        try:
            value = json.loads(answer)
        except ValueError as exc:
            raise BadAnswer(f"not valid JSON: {exc}") from None
        if not isinstance(value, dict):
            raise BadAnswer("a JSON object ({...}) is needed")
        return value

    def ask_ids(self, prompt: str) -> list[str]:
        """Image ids separated by commas."""
        ids = [part.strip() for part in self.ask(prompt + " (separated by commas)").split(",")]
        return [image_id for image_id in ids if image_id]

    def ask_scope(self) -> dict[str, Any]:
        """Where to search: everywhere, a collection, or a metadata filter."""
        answer = self.ask("only among (blank: all; a collection name, or a metadata filter as JSON)", "")
        if answer.startswith("{"):
            try:
                return {"where": json.loads(answer), "collection": None}
            except ValueError as exc:
                raise BadAnswer(f"not valid JSON: {exc}") from None
        return {"where": None, "collection": answer or None}

    def ask_limits(self) -> dict[str, Any]:
        """A search's threshold, how many results at most, and where to search: the
        keyword arguments of ``find_similar_images`` and ``find_images_by_tags``."""
        threshold = self.ask_number("threshold 0-100", None)
        max_count = self.ask_number("at most how many", DEFAULT_MAX_COUNT, int)
        return {"threshold": threshold, "max_count": max_count, **self.ask_scope()}

    def image_or_id(self, answer: str) -> tuple[str | None, ImageInput | None]:
        """An indexed id (preferred when it is one) or a file path."""
        if answer in self.context:
            return answer, None
        path = Path(answer).expanduser()
        if not path.is_file():
            raise BadAnswer(f"{answer!r} is neither an indexed image id nor a file")
        return None, path

    def lines(self, lines: list[str]) -> None:
        """Say each line."""
        for line in lines:
            self.say(line)

    # --- the entries ---------------------------------------------------------------

    def add_image(self) -> None:
        """Add one file under an id (with optional metadata), or every image of a folder."""
        path = Path(self.ask("image file or folder")).expanduser()
        if not path.exists():
            raise BadAnswer(f"no file or folder {str(path)!r}")
        if path.is_dir():
            report = self.context.add_images(path)  # a progress bar on a terminal
            counts = ", ".join(f"{n} {status}" for status, n in report.summary().items() if n)
            self.say(f"{counts or 'no images found'}; {len(self.context)} images in all")
            for item in report.items:
                if item.status is IngestStatus.FAILED:
                    self.say(f"  failed {item.source or item.image_id}: {item.error}")
            return
        image_id = self.ask("image id", path.name)
        metadata = self.ask_json("metadata as JSON (blank: none)", optional=True)
        self.context.add_image(image_id, path, metadata)
        self.say(f"added {image_id!r}; {len(self.context)} images in all")

    def find_similar(self) -> None:
        """Images similar to a file or an indexed image."""
        image_id, image = self.image_or_id(self.ask("image file or indexed id"))
        self.lines(format_results(self.context.find_similar_images(image_id, image=image, **self.ask_limits())))

    def find_duplicates(self) -> None:
        """Groups of near-duplicates."""
        threshold = self.ask_number("threshold 0-100", None)
        self.lines(format_duplicates(self.context.find_duplicates(threshold, **self.ask_scope())))

    def add_tag(self) -> None:
        """Define a tag by reference images (files or indexed ids)."""
        tag = self.ask("tag name")
        references: list[ImageInput] = []
        while True:
            answer = self.ask("reference image, file or indexed id (blank: done)", "")
            if not answer:
                break
            image_id, image = self.image_or_id(answer)
            if image_id is not None:
                references.append(self.context.get_image(image_id))
            elif image is not None:
                references.append(image)
        if not references:
            raise BadAnswer("a tag needs at least one reference image")
        self.context.create_tag(tag, references)
        self.say(f"tag {tag!r} has {self.context.list_tags()[tag]} reference image(s)")

    def find_by_tags(self) -> None:
        """Images similar to the references of any of some tags."""
        tags = [tag.strip() for tag in self.ask("tags (separated by commas)").split(",") if tag.strip()]
        self.lines(format_results(self.context.find_images_by_tags(tags, **self.ask_limits())))

    def list_images(self) -> None:
        """The images (of a collection, or matching a filter) with their metadata."""
        ids = self.context.image_ids(**self.ask_scope())
        rows = [(image_id, json.dumps(self.context.get_metadata(image_id), ensure_ascii=False)) for image_id in ids]
        self.lines(format_table(["image", "metadata"], rows) if rows else ["no images"])

    def list_collections(self) -> None:
        """The collections with their image counts."""
        infos = self.context.list_collections()
        self.lines(
            format_table(["collection", "images"], [(i.name, i.image_count) for i in infos])
            if infos
            else ["no collections"]
        )

    def add_to_collection(self) -> None:
        """Put images in a collection, creating it if it is new."""
        name = self.ask("collection")
        ids = self.ask_ids("image ids")
        if name in {info.name for info in self.context.list_collections()}:
            self.context.add_to_collection(name, ids)
        else:
            self.context.create_collection(name, ids)
            self.say(f"created collection {name!r}")
        self.say(f"collection {name!r} has {len(self.context.collection_images(name))} image(s)")

    def remove_from_collection(self) -> None:
        """Take images out of a collection."""
        name = self.ask("collection")
        self.context.remove_from_collection(name, self.ask_ids("image ids"))
        self.say(f"collection {name!r} has {len(self.context.collection_images(name))} image(s)")

    def show_metadata(self) -> None:
        """An image's metadata and collections."""
        image_id = self.ask("image id")
        metadata = self.context.get_metadata(image_id)
        self.lines(json.dumps(metadata, indent=2, ensure_ascii=False).splitlines() if metadata else ["no metadata"])
        self.say(f"collections: {', '.join(self.context.collections_of(image_id)) or '-'}")

    def set_metadata(self) -> None:
        """Replace an image's metadata (shown first, to edit)."""
        image_id = self.ask("image id")
        self.say(f"now: {json.dumps(self.context.get_metadata(image_id), ensure_ascii=False)}")
        metadata = self.ask_json("new metadata as JSON (replaces it; {} clears it)", optional=False)
        assert metadata is not None
        self.context.set_metadata(image_id, metadata)
        self.say(f"metadata of {image_id!r} set")

    def delete_image(self) -> None:
        """Delete an image, after a yes."""
        image_id = self.ask("image id")
        if image_id not in self.context:
            raise BadAnswer(f"no image {image_id!r} in context {self.context.name!r}")
        if self.ask(f"delete {image_id!r}? (y/N)", "n").lower() in ("y", "yes"):
            self.context.delete_image(image_id)
            self.say(f"deleted {image_id!r}")
        else:
            self.say("kept")

    def statistics(self) -> None:
        """Counts, searches, latencies and analytics of the context."""
        self.lines(format_stats(self.context.stats()))

    def switch_context(self) -> None:
        """Work in another context, created if new."""
        infos = self.system.list_contexts()
        self.lines(format_table(["context", "images"], [(i.name, i.image_count) for i in infos]))
        self.context = self.system.context(self.ask("context name (created if new)"), create=True)


@cli.command()
@pass_state
def shell(state: CliState) -> None:
    """Interactive menu: add, search, tag, collections, metadata.

    Works in the --context context (created if new). Ctrl-D quits; Ctrl-C cancels
    the entry being answered.
    """
    Shell(state.system(), state.context_name).run()
