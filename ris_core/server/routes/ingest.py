"""Ingest with live progress: uploaded files, or a folder on the server where allowed.

The answer to ``POST /api/contexts/{context}/ingest`` is a server-sent event stream:
``start`` (how many items), one ``progress`` per item as it finishes (its id, status
and error), then ``done`` with the counts. Streaming the progress on the request that
started the work keeps it on the worker process doing the work, so it needs no shared
job table between workers.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.datastructures import UploadFile

from ris_core.ingest import IMAGE_PATTERNS, IngestItem, IngestReport
from ris_core.server.errors import ApiError
from ris_core.server.routes.common import context_of, settings_of
from ris_core.server.routes.review import allowed_folder
from ris_core.server.uploads import read_file, read_form

router = APIRouter(prefix="/api", tags=["ingest"])

#: How many files one upload request may carry.
MAX_FILES = 1000


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


@router.get("/folders")
async def folders(request: Request) -> dict[str, Any]:
    """The server-side folders the page may ingest from and move into."""
    return {"folders": list(settings_of(request).folders)}


@router.post("/contexts/{context}/ingest")
async def ingest(request: Request, context: str) -> StreamingResponse:
    """Add the multipart ``file`` fields (id: each file's name), or every image under
    the form field ``folder`` (a server path inside an allowed folder; ids relative to
    it), creating the context if needed. Streams progress as server-sent events.

    A context made for a folder stores its images by reference, as ``ris index`` does:
    the files already live on the server, so they stay where they are (and the
    duplicate review can move, delete or link them). One made for uploads stores
    copies, as there is no file to refer to."""
    settings = settings_of(request)
    form = await read_form(request, settings.max_upload, MAX_FILES)
    folder = form.get("folder")
    source: Any
    total: int | None = None  # a folder's count is known only once it is walked
    from_folder = False
    if isinstance(folder, str) and folder:
        from_folder = True
        path = allowed_folder(settings, folder)
        if path is None or not path.is_dir():
            raise ApiError(400, "InvalidRequestError", f"{folder!r} is not a folder on the server")
        source = [path]
    else:
        uploads = [item for item in form.getlist("file") if isinstance(item, UploadFile)]
        if not uploads:
            raise ApiError(400, "InvalidRequestError", "send multipart fields 'file', or a 'folder' field")
        source = [(upload.filename or f"upload-{n}", await read_file(upload, settings.max_upload))
                  for n, upload in enumerate(uploads, 1)]  # fmt: skip
        total = len(source)
    opened = context_of(request, context, create=True, by_reference=from_folder)
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()

    def progress(done: int, total: int, item: IngestItem) -> None:
        update = {"done": done, "total": total, "image_id": item.image_id, "status": item.status.value}
        if item.error:
            update.update(error=item.error, error_type=item.error_type)
        loop.call_soon_threadsafe(queue.put_nowait, ("progress", update))

    def run() -> IngestReport:
        return opened.add_images(source, include=IMAGE_PATTERNS, progress=False, on_progress=progress)

    async def stream() -> AsyncIterator[str]:
        yield _event("start", {"context": context, "total": total})
        work: asyncio.Future[Any] = loop.run_in_executor(None, run)
        while True:
            getter: asyncio.Future[Any] = asyncio.ensure_future(queue.get())
            finished, _ = await asyncio.wait({getter, work}, return_when=asyncio.FIRST_COMPLETED)
            if getter in finished:
                name, data = getter.result()
                yield _event(name, data)
                continue
            getter.cancel()
            break
        while not queue.empty():
            name, data = queue.get_nowait()
            yield _event(name, data)
        try:
            report = work.result()
        except Exception as exc:  # reported in the stream: the response has already started
            yield _event("error", {"type": type(exc).__name__, "message": str(exc)})
            return
        yield _event("done", {"summary": report.summary(), "images": len(opened)})

    return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})
