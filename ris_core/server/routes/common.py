"""What the route modules share: the opened system, contexts, JSON, the thread pool."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from ris_core.backend import Capability
from ris_core.cli.output import to_jsonable
from ris_core.context import SearchContext
from ris_core.context.base import DEFAULT_MAX_COUNT
from ris_core.server.errors import ApiError
from ris_core.server.settings import ServerSettings
from ris_core.server.thumbnails import ThumbnailCache
from ris_core.system import ImageSearch

__all__ = [
    "SearchOptions",
    "blocking",
    "context_of",
    "json_query",
    "jsonable",
    "settings_of",
    "system_of",
    "thumbnails_of",
]

T = TypeVar("T")

jsonable = to_jsonable


def system_of(request: Request) -> ImageSearch:
    """The system the app serves."""
    system: ImageSearch = request.app.state.system
    return system


def settings_of(request: Request) -> ServerSettings:
    """The settings the app was made with."""
    settings: ServerSettings = request.app.state.settings
    return settings


def thumbnails_of(request: Request) -> ThumbnailCache:
    """The thumbnail cache."""
    cache: ThumbnailCache = request.app.state.thumbnails
    return cache


def context_of(request: Request, name: str, create: bool = False, by_reference: bool = False) -> SearchContext:
    """The named context (ContextNotFoundError, so 404, unless ``create``). A context
    created here stores by reference if ``by_reference`` and the backend can (by copy
    on a backend that keeps only copies); an existing context keeps its mode."""
    system = system_of(request)
    by_reference = by_reference and Capability.REFERENCES in system.backend.capabilities
    return system.context(name, create=create, by_reference=by_reference)


async def blocking(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a library call (which blocks on SQLite or the network) off the event loop."""
    return await run_in_threadpool(function, *args, **kwargs)


def json_query(value: str | None, name: str) -> dict[str, Any] | None:
    """A JSON object given as a query or form field (400 if it is not one)."""
    if value is None or value == "":
        return None
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise ApiError(400, "InvalidRequestError", f"{name} is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise ApiError(400, "InvalidRequestError", f"{name} must be a JSON object")
    return parsed


@dataclass
class SearchOptions:
    """The query parameters every search of stored images takes (by id, by tag).

    A route declares ``options: Annotated[SearchOptions, Depends()]``, so the routes cannot drift
    apart and OpenAPI lists the same four parameters for each. ``where`` is the JSON
    text of a metadata filter; :meth:`limits` parses it (400 if it is not an object).
    The upload search also takes them as form fields: :meth:`or_form`.
    """

    threshold: float | None = None
    max_count: int = DEFAULT_MAX_COUNT
    where: str | None = None
    collection: str | None = None

    def limits(self) -> dict[str, Any]:
        """The keyword arguments of ``find_similar_images`` and ``find_images_by_tags``."""
        return {
            "threshold": self.threshold,
            "max_count": self.max_count,
            "where": json_query(self.where, "where"),
            "collection": self.collection,
        }

    def or_form(self, form: Mapping[str, Any], query: Mapping[str, str]) -> SearchOptions:
        """These options, each one the query string did not give taken from the form
        field of the same name when that is filled in (400 if a number is not one)."""
        taken: dict[str, Any] = {}
        for field in fields(self):
            value = form.get(field.name)
            if field.name in query or value is None or value == "":
                continue
            if field.name in ("threshold", "max_count"):
                taken[field.name] = _number(value, field.name, float if field.name == "threshold" else int)
            elif isinstance(value, str):  # a file sent under a text field's name is not its value
                taken[field.name] = value
        return replace(self, **taken)


def _number(value: Any, name: str, kind: type[int] | type[float]) -> int | float:
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ApiError(400, "InvalidRequestError", f"{name} must be a number, not {value!r}") from None
