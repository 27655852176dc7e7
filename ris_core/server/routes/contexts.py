"""Contexts: list, create, read, delete; and the backends installed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from ris_core.api import available_backends
from ris_core.server.routes.common import blocking, context_of, jsonable, system_of

router = APIRouter(prefix="/api", tags=["contexts"])


@router.get("/contexts")
async def list_contexts(request: Request) -> dict[str, Any]:
    """Every context with its image count."""
    return {"contexts": jsonable(await blocking(system_of(request).list_contexts))}


@router.put("/contexts/{context}", status_code=201)
async def create_context(request: Request, context: str) -> dict[str, Any]:
    """Create a context (409 if it exists)."""
    created = await blocking(system_of(request).create_context, context)
    return {"name": created.name}


@router.get("/contexts/{context}")
async def read_context(request: Request, context: str) -> dict[str, Any]:
    """A context's status and size."""

    def read() -> dict[str, Any]:
        opened = context_of(request, context)
        status = opened.status()
        return {"name": opened.name, "images": len(opened), "state": status.state.value, "detail": status.detail}

    return await blocking(read)


@router.delete("/contexts/{context}", status_code=204)
async def delete_context(request: Request, context: str) -> Response:
    """Delete a context and everything in it."""
    await blocking(system_of(request).delete_context, context)
    return Response(status_code=204)


@router.get("/backends")
async def backends(request: Request) -> dict[str, Any]:
    """The installed backends, and which one this server uses."""
    infos = await blocking(available_backends)
    return {"current": system_of(request).backend_name, "backends": jsonable(infos)}
