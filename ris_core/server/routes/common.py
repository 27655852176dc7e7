"""What the route modules share: the opened system, contexts, JSON, the thread pool."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from ris_core.backend import Capability
from ris_core.cli.output import to_jsonable
from ris_core.context import SearchContext
from ris_core.server.errors import ApiError
from ris_core.server.settings import ServerSettings
from ris_core.server.thumbnails import ThumbnailCache
from ris_core.system import ImageSearch

__all__ = ["blocking", "context_of", "json_query", "jsonable", "settings_of", "system_of", "thumbnails_of"]

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
