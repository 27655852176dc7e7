"""Reading uploaded images with a size limit: a raw request body or a multipart ``file``.

The limit is checked against ``Content-Length`` before anything is read and again while
reading, so an upload that lies about its length still stops at the limit.
"""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import FormData, UploadFile

from ris_core.server.errors import ApiError

__all__ = ["SEARCH_SCHEMA", "UPLOAD_SCHEMA", "image_bytes", "read_body", "read_file", "read_form"]

#: The OpenAPI request body of a route that takes one image: raw bytes, or a multipart
#: form with the image in ``file`` (the routes read the body themselves, to bound it).
UPLOAD_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "metadata": {"type": "string", "description": "a JSON object"},
                    },
                    "required": ["file"],
                }
            },
        },
    }
}

#: The OpenAPI request body of a search: a multipart form.
SEARCH_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "image_id": {"type": "string", "description": "search by a stored image instead"},
                        "threshold": {"type": "number"},
                        "max_count": {"type": "integer"},
                        "where": {"type": "string", "description": "a metadata filter, a JSON object"},
                        "collection": {"type": "string"},
                    },
                }
            }
        },
    }
}


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "UploadTooLargeError", f"the upload is larger than the server's limit of {limit:,} bytes")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, at most ``limit`` bytes (413 beyond)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_file(upload: UploadFile, limit: int) -> bytes:
    """An uploaded file's bytes, at most ``limit`` (413 beyond)."""
    data = await upload.read(limit + 1)
    if len(data) > limit:
        raise _too_large(limit)
    return data


async def read_form(request: Request, limit: int, max_files: int = 1) -> FormData:
    """A multipart or urlencoded form; the whole request may hold ``max_files`` uploads."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit * max_files + 65536:
        raise _too_large(limit * max_files)
    return await request.form(max_files=max_files)


def is_form(request: Request) -> bool:
    """Whether the request body is a form (multipart or urlencoded)."""
    kind = request.headers.get("content-type", "")
    return kind.startswith(("multipart/form-data", "application/x-www-form-urlencoded"))


async def image_bytes(request: Request, limit: int) -> tuple[bytes, FormData | None]:
    """The image of a request: the multipart field ``file``, else the raw body; with the
    form, when there was one, for its other fields."""
    if not is_form(request):
        return await read_body(request, limit), None
    form = await read_form(request, limit)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ApiError(400, "InvalidRequestError", "the form has no file field named 'file'")
    return await read_file(upload, limit), form
