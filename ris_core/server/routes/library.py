"""Tags (with their reference images) and collections of a context."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile

from ris_core.server.errors import ApiError
from ris_core.server.routes.common import SearchOptions, blocking, context_of, jsonable, settings_of
from ris_core.server.uploads import read_file, read_form

router = APIRouter(prefix="/api/contexts/{context}", tags=["tags and collections"])

#: How many reference images one tag request may carry.
MAX_TAG_IMAGES = 32


class ImageIds(BaseModel):
    """A list of image ids."""

    image_ids: list[str]


class NewName(BaseModel):
    """A collection's new name."""

    name: str


@router.get("/tags")
async def list_tags(request: Request, context: str) -> dict[str, Any]:
    """Every tag with its number of reference images."""
    return {"tags": await blocking(lambda: context_of(request, context).list_tags())}


@router.put("/tags/{tag}", status_code=201)
async def create_tag(request: Request, context: str, tag: str) -> dict[str, Any]:
    """Register reference images (multipart fields ``file``, one or more) under a tag."""
    limit = settings_of(request).max_upload
    form = await read_form(request, limit, MAX_TAG_IMAGES)
    uploads = [item for item in form.getlist("file") if isinstance(item, UploadFile)]
    if not uploads:
        raise ApiError(400, "InvalidRequestError", "send the tag's reference images as multipart fields 'file'")
    images = [await read_file(upload, limit) for upload in uploads]
    await blocking(lambda: context_of(request, context).create_tag(tag, images))
    return {"tag": tag, "references": len(images)}


@router.get("/tags/{tag}/images")
async def images_by_tag(
    request: Request, context: str, tag: str, options: Annotated[SearchOptions, Depends()]
) -> dict[str, Any]:
    """Images similar to the tag's reference images."""
    limits = options.limits()
    results = await blocking(lambda: context_of(request, context).find_images_by_tags(tag, **limits))
    return {"results": jsonable(results)}


@router.get("/collections")
async def list_collections(request: Request, context: str) -> dict[str, Any]:
    """Every collection with its size."""
    return {"collections": jsonable(await blocking(lambda: context_of(request, context).list_collections()))}


@router.put("/collections/{name}", status_code=201)
async def create_collection(request: Request, context: str, name: str) -> dict[str, Any]:
    """Create a collection (409 if it exists), optionally with ``{"image_ids": [...]}``."""
    body = await request.body()
    try:
        ids = ImageIds.model_validate_json(body).image_ids if body else []
    except ValidationError as exc:
        raise ApiError(400, "InvalidRequestError", f'the body must be {{"image_ids": [...]}}: {exc}') from None
    await blocking(lambda: context_of(request, context).create_collection(name, ids))
    return {"name": name, "image_ids": ids}


@router.get("/collections/{name}")
async def collection_images(request: Request, context: str, name: str) -> dict[str, Any]:
    """The ids in a collection."""
    return {"name": name, "image_ids": await blocking(lambda: context_of(request, context).collection_images(name))}


@router.post("/collections/{name}/rename")
async def rename_collection(request: Request, context: str, name: str, new: NewName) -> dict[str, Any]:
    """Rename a collection."""
    await blocking(lambda: context_of(request, context).rename_collection(name, new.name))
    return {"name": new.name}


@router.delete("/collections/{name}", status_code=204)
async def delete_collection(request: Request, context: str, name: str) -> Response:
    """Delete a collection (its images stay)."""
    await blocking(lambda: context_of(request, context).delete_collection(name))
    return Response(status_code=204)


@router.post("/collections/{name}/images")
async def add_to_collection(request: Request, context: str, name: str, ids: ImageIds) -> dict[str, Any]:
    """Add images to a collection."""
    await blocking(lambda: context_of(request, context).add_to_collection(name, ids.image_ids))
    return {"name": name, "added": ids.image_ids}


@router.post("/collections/{name}/remove")
async def remove_from_collection(request: Request, context: str, name: str, ids: ImageIds) -> dict[str, Any]:
    """Take images out of a collection."""
    await blocking(lambda: context_of(request, context).remove_from_collection(name, ids.image_ids))
    return {"name": name, "removed": ids.image_ids}
