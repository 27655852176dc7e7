"""Searching: similar images by upload or by id, by tags, and comparing two images."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from starlette.datastructures import UploadFile

from ris_core.models import SearchResult
from ris_core.server.errors import ApiError
from ris_core.server.routes.common import SearchOptions, blocking, context_of, jsonable, settings_of
from ris_core.server.uploads import SEARCH_SCHEMA, UPLOAD_SCHEMA, image_bytes, is_form, read_file, read_form

router = APIRouter(prefix="/api/contexts/{context}", tags=["search"])


def _results(results: list[SearchResult]) -> dict[str, Any]:
    return {"results": jsonable(results)}


@router.post("/search", openapi_extra=SEARCH_SCHEMA)
async def search(request: Request, context: str, options: Annotated[SearchOptions, Depends()]) -> dict[str, Any]:
    """Images similar to the multipart ``file`` (or to the stored ``image_id`` form
    field). ``threshold``, ``max_count``, ``where`` and ``collection`` may be query or
    form fields. Returns ``{"results": [{image_id, similarity, method, distance, metadata}]}``."""
    limit = settings_of(request).max_upload
    if not is_form(request):
        raise ApiError(400, "InvalidRequestError", "send the query image as a multipart field 'file'")
    form = await read_form(request, limit)
    image_id = form.get("image_id") or None
    upload = form.get("file")
    if image_id is None and not isinstance(upload, UploadFile):
        raise ApiError(400, "InvalidRequestError", "send a multipart field 'file' (or 'image_id' for a stored image)")
    data = None if image_id is not None else await read_file(upload, limit)  # type: ignore[arg-type]
    limits = options.or_form(form, request.query_params).limits()

    def run() -> list[SearchResult]:
        opened = context_of(request, context)
        if data is None:
            return opened.find_similar_images(str(image_id), **limits)
        return opened.find_similar_images(image=data, **limits)

    return _results(await blocking(run))


@router.get("/similar/{image_id:path}")
async def similar(
    request: Request, context: str, image_id: str, options: Annotated[SearchOptions, Depends()]
) -> dict[str, Any]:
    """Images similar to a stored image (not itself)."""
    limits = options.limits()
    return _results(await blocking(lambda: context_of(request, context).find_similar_images(image_id, **limits)))


@router.get("/compare")
async def compare(request: Request, context: str, first: str, second: str) -> dict[str, Any]:
    """The similarity of two stored images."""
    comparison = await blocking(lambda: context_of(request, context).compare_images(first, second))
    document: dict[str, Any] = jsonable(comparison)
    return document


@router.post("/compare/{image_id:path}", openapi_extra=UPLOAD_SCHEMA)
async def compare_upload(request: Request, context: str, image_id: str) -> dict[str, Any]:
    """The similarity of a stored image to an uploaded one (multipart ``file``)."""
    data, _ = await image_bytes(request, settings_of(request).max_upload)
    comparison = await blocking(lambda: context_of(request, context).compare_images(image_id, other_image=data))
    document: dict[str, Any] = jsonable(comparison)
    return document
