"""The ASGI application: :func:`create_app` builds it over an opened system, and
:func:`app_from_environment` is the factory each ``uvicorn`` worker calls."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.resources import files
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from ris_core.api import open as open_system
from ris_core.paths import ris_home
from ris_core.server.errors import install_error_handlers
from ris_core.server.routes import contexts, images, ingest, library, page, review, search, stats
from ris_core.server.security import SecurityMiddleware
from ris_core.server.settings import ServerSettings
from ris_core.server.thumbnails import ThumbnailCache
from ris_core.system import ImageSearch

__all__ = ["app_from_environment", "create_app", "open_for"]

logger = logging.getLogger("ris_core.server")


def open_for(settings: ServerSettings) -> ImageSearch:
    """The system the settings name, opened as ``ris`` opens it."""
    options: dict[str, Any] = dict(settings.options)
    return open_system(settings.backend, catalog=settings.catalog, **options)


def create_app(settings: ServerSettings, system: ImageSearch | None = None) -> FastAPI:
    """The app over ``system`` (opened from ``settings`` when None, and then closed
    when the app shuts down)."""
    owned = system is None
    served = open_for(settings) if system is None else system

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:
            served.close()

    app = FastAPI(
        title="ris",
        summary="Reverse image search over HTTP: the ris library's operations, and a page to use them.",
        version="1",
        lifespan=lifespan,
        # FastAPI's /docs and /redoc pages load their scripts from a CDN; the page and
        # /openapi.json are served from the package alone.
        docs_url=None,
        redoc_url=None,
    )
    app.state.system = served
    app.state.settings = settings
    app.state.thumbnails = ThumbnailCache(settings.thumbnails or ris_home() / "thumbnails")
    install_error_handlers(app)
    for module in (contexts, images, search, library, review, ingest, stats, page):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=str(files("ris_core.server").joinpath("static"))), name="static")
    if settings.origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.origins),
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    # Added last, so it runs first: nothing reaches a route, or CORS, unchecked.
    app.add_middleware(SecurityMiddleware, settings=settings)
    return app


def app_from_environment() -> FastAPI:
    """The app for one worker process, from the settings ``ris serve`` put in the environment."""
    return create_app(ServerSettings.from_environment())
