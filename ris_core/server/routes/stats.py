"""Statistics, export and import."""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile

from ris_core.server.errors import ApiError
from ris_core.server.routes.common import blocking, context_of, jsonable, settings_of, system_of
from ris_core.server.uploads import read_form

router = APIRouter(prefix="/api", tags=["statistics and transfer"])

#: An import archive may be this many times the single-upload limit.
IMPORT_FACTOR = 16


@router.get("/contexts/{context}/stats")
async def stats(request: Request, context: str) -> dict[str, Any]:
    """Counts, latency percentiles (seconds), most searched and most matched images."""
    document: dict[str, Any] = jsonable(await blocking(lambda: context_of(request, context).stats()))
    return document


@router.get("/contexts/{context}/export")
async def export(request: Request, context: str) -> FileResponse:
    """The context as a ``.tar.gz`` export (images, metadata, collections, tags)."""
    folder = Path(tempfile.mkdtemp(prefix="ris-export-"))
    archive = folder / f"{context}.tar.gz"
    try:
        await blocking(lambda: context_of(request, context).export(archive))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        archive,
        media_type="application/gzip",
        filename=archive.name,
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


@router.post("/import")
async def import_context(request: Request, name: str | None = None) -> dict[str, Any]:
    """Load an export (multipart ``file``, a ``.tar.gz``) into context ``name``
    (default: the exported context's name)."""
    limit = settings_of(request).max_upload * IMPORT_FACTOR
    form = await read_form(request, limit)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ApiError(400, "InvalidRequestError", "send the export as a multipart field 'file'")
    folder = Path(tempfile.mkdtemp(prefix="ris-import-"))
    try:
        archive = folder / "import.tar.gz"
        with archive.open("wb") as stream:
            size = 0
            while chunk := await upload.read(1 << 20):
                size += len(chunk)
                if size > limit:
                    raise ApiError(413, "UploadTooLargeError", f"the export is larger than {limit:,} bytes")
                stream.write(chunk)
        try:
            context, report = await blocking(lambda: system_of(request).import_context(archive, name, progress=False))
        except tarfile.TarError as exc:
            raise ApiError(400, "InvalidArchiveError", f"the upload is not a ris export archive: {exc}") from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return {"context": context.name, "summary": report.summary(), "failed": jsonable(report.failed)}
