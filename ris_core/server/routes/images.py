"""Images of a context: upload, read, list with paging, delete; their thumbnails,
metadata and features. Ids may hold slashes (``holiday/beach.jpg``), so each kind of
resource has its own prefix and the id is the rest of the path."""

from __future__ import annotations

import mimetypes
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from ris_core.errors import ImageExistsError
from ris_core.images import load_image
from ris_core.server.errors import ApiError
from ris_core.server.routes.common import blocking, context_of, json_query, jsonable, settings_of, thumbnails_of
from ris_core.server.thumbnails import SIZES
from ris_core.server.uploads import UPLOAD_SCHEMA, image_bytes, read_body
from ris_core.validation import check_id

router = APIRouter(prefix="/api/contexts/{context}", tags=["images"])


@router.get("/images")
async def list_images(
    request: Request,
    context: str,
    offset: int = Query(0, ge=0),
    limit: int = Query(60, ge=1, le=1000),
    where: str | None = None,
    collection: str | None = None,
) -> dict[str, Any]:
    """A page of the context's image ids (sorted) with their metadata."""
    condition = json_query(where, "where")

    def page() -> dict[str, Any]:
        opened = context_of(request, context)
        ids = opened.image_ids(condition, collection)
        chosen = ids[offset : offset + limit]
        metadata = opened.system.catalog.metadata_for(opened.name, chosen)
        images = [{"image_id": image_id, "metadata": metadata.get(image_id, {})} for image_id in chosen]
        return {"total": len(ids), "offset": offset, "limit": limit, "images": images}

    return await blocking(page)


@router.put("/images/{image_id:path}", status_code=201, openapi_extra=UPLOAD_SCHEMA)
async def put_image(
    request: Request, context: str, image_id: str, replace: bool = True, metadata: str | None = None
) -> JSONResponse:
    """Store an image (the body, or the multipart field ``file``) under ``image_id``,
    creating the context if needed; replaces an existing image unless ``replace=false``
    (then 409). ``metadata`` is a JSON object, as a query or form field."""
    check_id(image_id)
    data, form = await image_bytes(request, settings_of(request).max_upload)
    text = metadata if form is None or form.get("metadata") is None else str(form.get("metadata"))
    values = json_query(text, "metadata")

    def store() -> int:
        opened = context_of(request, context, create=True)
        if image_id in opened:
            if not replace:
                raise ImageExistsError(f"image {image_id!r} is already in context {context!r}")
            opened.update_image(image_id, data, values)
            return 200
        opened.add_image(image_id, data, values)
        return 201

    status = await blocking(store)
    return JSONResponse({"image_id": image_id, "created": status == 201}, status_code=status)


@router.get("/images/{image_id:path}")
async def get_image(request: Request, context: str, image_id: str) -> Response:
    """The stored bytes, exactly as they were added."""
    data = await blocking(lambda: context_of(request, context).get_image(image_id))
    kind = load_image(data).format.lower()
    return Response(data, media_type=mimetypes.types_map.get(f".{kind}", f"image/{kind}"))


@router.delete("/images/{image_id:path}", status_code=204)
async def delete_image(request: Request, context: str, image_id: str) -> Response:
    """Delete the image with its features, metadata and memberships."""
    await blocking(lambda: context_of(request, context).delete_image(image_id))
    return Response(status_code=204)


@router.get("/info/{image_id:path}")
async def image_info(request: Request, context: str, image_id: str) -> dict[str, Any]:
    """What the catalog knows: size, resolution, dates, source, metadata, collections."""

    def read() -> dict[str, Any]:
        opened = context_of(request, context)
        info = opened.image_info(image_id)
        document: dict[str, Any] = jsonable(info)
        document.update(
            added_at=info.added_at.isoformat(),
            modified=None if info.modified is None else info.modified.isoformat(),
            source=None if info.source is None else str(info.source),
            metadata=opened.get_metadata(image_id),
            collections=opened.collections_of(image_id),
        )
        return document

    return await blocking(read)


@router.get("/thumbnails/{image_id:path}")
async def thumbnail(request: Request, context: str, image_id: str, size: int = 160) -> Response:
    """A JPEG thumbnail (``size`` 160 or 320), made once and then served from the cache."""
    if size not in SIZES:
        raise ApiError(400, "InvalidRequestError", f"size must be one of {', '.join(map(str, SIZES))}")
    check_id(image_id)
    data = await blocking(lambda: thumbnails_of(request).get(context_of(request, context), image_id, size))
    # Named by content, so a browser may keep it a while; a changed image gets new bytes
    # under the same URL only after an update, which the grid asks for again.
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=60"})


# --- metadata ------------------------------------------------------------------------


@router.get("/metadata/{image_id:path}")
async def get_metadata(request: Request, context: str, image_id: str) -> dict[str, Any]:
    """The image's metadata."""
    return await blocking(lambda: context_of(request, context).get_metadata(image_id))


async def _metadata_body(request: Request) -> dict[str, Any]:
    body = await read_body(request, 1024 * 1024)
    parsed = json_query(body.decode("utf-8", "replace"), "the body")
    if parsed is None:
        raise ApiError(400, "InvalidRequestError", "the body must be a JSON object")
    return parsed


@router.put("/metadata/{image_id:path}")
async def set_metadata(request: Request, context: str, image_id: str) -> dict[str, Any]:
    """Replace the metadata with the JSON object in the body."""
    values = await _metadata_body(request)
    await blocking(lambda: context_of(request, context).set_metadata(image_id, values))
    return values


@router.patch("/metadata/{image_id:path}")
async def update_metadata(request: Request, context: str, image_id: str) -> dict[str, Any]:
    """Merge the JSON object in the body into the top level of the metadata."""
    changes = await _metadata_body(request)
    return await blocking(lambda: context_of(request, context).update_metadata(image_id, changes))


@router.delete("/metadata/{image_id:path}", status_code=204)
async def delete_metadata(request: Request, context: str, image_id: str) -> Response:
    """Remove the image's metadata."""
    await blocking(lambda: context_of(request, context).delete_metadata(image_id))
    return Response(status_code=204)


# --- features ------------------------------------------------------------------------


@router.get("/features/{image_id:path}")
async def get_features(request: Request, context: str, image_id: str) -> dict[str, Any]:
    """The features the backend computed (``data`` in hex)."""
    features = await blocking(lambda: context_of(request, context).get_features(image_id))
    document: dict[str, Any] = jsonable(features)
    return document


@router.put("/features/{image_id:path}", status_code=204)
async def update_features(request: Request, context: str, image_id: str) -> Response:
    """Compute the image's features again (from the stored image)."""
    await blocking(lambda: context_of(request, context).update_features(image_id))
    return Response(status_code=204)


@router.delete("/features/{image_id:path}", status_code=204)
async def delete_features(request: Request, context: str, image_id: str) -> Response:
    """Delete the image's features (the image stays)."""
    await blocking(lambda: context_of(request, context).delete_features(image_id))
    return Response(status_code=204)


@router.post("/features", openapi_extra=UPLOAD_SCHEMA)
async def extract_features(request: Request, context: str) -> dict[str, Any]:
    """The features of an uploaded image, without storing it."""
    data, _ = await image_bytes(request, settings_of(request).max_upload)
    features = await blocking(lambda: context_of(request, context).extract_features(data))
    document: dict[str, Any] = jsonable(features)
    return document
