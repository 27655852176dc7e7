"""The plumbing under :class:`ris_aspose.backend.AsposeBackend`: options, the SDK
client, storage helpers, and waiting for a context to become idle.

Every SDK call goes through :meth:`AsposeBase._call`, which hands it to
:class:`ris_aspose.client.AsposeClient` with the backend's current retry policy (the
core sets ``retry_policy`` after construction, from ``ris_core.open(retry=)``). Every
public operation runs under :func:`operation`: one deadline for all its requests.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, TypeVar

from asposeimagingcloud.models import requests as rq

from ris_aspose import responses
from ris_aspose.client import AsposeClient
from ris_aspose.layout import StorageLayout
from ris_aspose.settings import CONTEXT_OPTIONS, OPTIONS, AsposeSettings
from ris_core.backend import Backend, Capability
from ris_core.errors import ContextNotFoundError, ImageNotFoundError, NotFoundError, RisError
from ris_core.images import ImageData
from ris_core.models import ContextState, ContextStatus
from ris_core.preprocess import DEFAULT_STEPS
from ris_core.retry import NO_RETRY

__all__ = ["AsposeBase", "operation"]

logger = logging.getLogger("ris_aspose")

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

_IDLE = "Idle"


def operation(deadline: Callable[[AsposeSettings], float] | None = None) -> Callable[[F], F]:
    """Run a backend method under one deadline for all its requests, retries, waits and
    clean-ups: the ``deadline`` option, or what ``deadline(settings)`` says."""

    def decorate(method: F) -> F:
        @functools.wraps(method)
        def bounded(self: AsposeBase, *args: Any, **kwargs: Any) -> Any:
            seconds = self.settings.deadline if deadline is None else deadline(self.settings)
            with self.client.operation(seconds):
                return method(self, *args, **kwargs)

        return bounded  # type: ignore[return-value]

    return decorate


class AsposeBase(Backend):
    """Options, the SDK client and the helpers every operation uses."""

    name: ClassVar[str] = "aspose"
    description: ClassVar[str] = "Aspose.Imaging Cloud imageSearch (AKAZE features, remote)."
    options: ClassVar[Mapping[str, str]] = OPTIONS
    context_options: ClassVar[Mapping[str, str]] = CONTEXT_OPTIONS
    capabilities: frozenset[Capability] = frozenset(Capability)
    manages_retries: ClassVar[bool] = True

    def __init__(self, **options: Any) -> None:
        settings = AsposeSettings.from_options(options)
        # The base class keeps the options for introspection: never the secret.
        super().__init__(**{key: ("***" if key == "client_secret" else value) for key, value in options.items()})
        self.settings = settings
        self.default_threshold = settings.default_threshold
        self.duplicate_threshold = settings.duplicate_threshold
        self.layout = StorageLayout(settings.folder)
        self.client = AsposeClient(settings)
        self._warned_preprocessing = False
        self._lock = threading.Lock()
        self._pending: dict[str, int] = {}
        self._leftovers: set[str] = set()
        self._last_sweep = -math.inf

    def __repr__(self) -> str:
        return f"<AsposeBackend {self.settings.base_url} folder={self.settings.folder!r}>"

    def close(self) -> None:
        """Retry scratch deletions that failed, close connections, delete the temporary folder."""
        try:
            if self._leftovers:
                with self.client.operation(min(self.settings.deadline, 30.0)):
                    self._retry_leftovers()
        finally:
            self.client.close()

    # --- plumbing ----------------------------------------------------------------

    def _call(
        self,
        what: str,
        operation: Callable[[Any], T],
        missing: type[NotFoundError] = ImageNotFoundError,
        **options: Any,
    ) -> T:
        return self.client.call(what, operation, self.retry_policy, missing, **options)

    def _scope(self) -> dict[str, str | None]:
        """The ``folder`` and ``storage`` of every imageSearch call.

        ``folder`` is never sent: the vendor's examples leave it None ("File will be
        saved at the root of the storage", Examples/asposeimagingcloudexamples/AI/
        imaging_ai_base.py) and name every image by its full storage path, as ris does.
        """
        return {"folder": None, "storage": self.settings.storage}

    def _wait_idle(self, context: str) -> ContextStatus:
        """Poll until the context is idle, or until ``status_timeout`` or the operation's
        deadline; returns the last status."""
        limit = time.monotonic() + min(self.settings.status_timeout, self.client.remaining())
        delay = min(0.05, self.settings.poll_interval)
        while True:
            status = self.context_status(context)
            if status.is_idle or time.monotonic() + delay > limit:
                return status
            time.sleep(delay)
            delay = min(delay * 2, self.settings.poll_interval)

    def _settle(self, context: str) -> None:
        """Wait until the write just made is searchable. A context still busy after the
        wait keeps the write, which the service accepted: it is pending, and
        ``context_status`` (so ``wait_until_idle``) says so until the service is idle."""
        status = self._wait_idle(context)
        if not status.is_idle:
            with self._lock:
                self._pending[context] = self._pending.get(context, 0) + 1
            logger.info("context %s still %s: the write was accepted and is pending", context, status.detail)

    def _check_pixels(self, image: ImageData) -> None:
        """Decode once, so undecodable data is refused before anything is uploaded."""
        if tuple(image.preprocessing) != DEFAULT_STEPS and not self._warned_preprocessing:
            self._warned_preprocessing = True
            logger.warning(
                "the aspose backend sends original image bytes: the service does not apply ris preprocessing steps"
            )
        image.decode(draft_size=(128, 128))

    def _exists(self, path: str) -> bool:
        request = rq.ObjectExistsRequest(path, storage_name=self.settings.storage)
        return self._call("check storage", lambda api: responses.exists(api.object_exists(request), "check storage"))

    def _download(self, path: str, what: str, missing: type[NotFoundError] = ImageNotFoundError) -> bytes:
        request = rq.DownloadFileRequest(path, storage_name=self.settings.storage)
        return self._call(what, lambda api: self.client.download(api, request, what), missing)

    def _upload(self, path: str, data: bytes, suffix: str, what: str) -> None:
        with self.client.upload(data, suffix) as file:
            request = rq.UploadFileRequest(path, file, storage_name=self.settings.storage)
            self._call(what, lambda api: responses.upload_ok(api.upload_file(request), what))

    def _delete_file(self, path: str, what: str) -> bool:
        """Delete a storage file; a missing file is fine. False (logged) if it failed."""
        request = rq.DeleteFileRequest(path, storage_name=self.settings.storage)
        try:
            self._call(what, lambda api: api.delete_file(request))
        except NotFoundError:
            pass
        except RisError as exc:
            logger.warning("%s: could not delete %s from storage: %s", what, path, exc)
            return False
        return True

    # --- scratch files -------------------------------------------------------------

    @contextlib.contextmanager
    def _scratch(self, image: ImageData) -> Iterator[str]:
        """Upload ``image`` to a fresh path in the scratch folder for the block, then
        delete it; a deletion that fails is retried after later searches and on close."""
        if self.settings.sweep_scratch and self._last_sweep == -math.inf:
            self._sweep_scratch()  # the first query of this backend: what earlier processes left
        path = self.layout.scratch_path(image.format)
        try:
            self._upload(path, image.data, self.layout.suffix(image.format), "upload query image")
            yield path
        finally:
            if not self._delete_file(path, "delete query image (scratch)"):
                with self._lock:
                    self._leftovers.add(path)
            self._after_search()

    def _after_search(self) -> None:
        if self._leftovers:
            self._retry_leftovers()
        if self.settings.sweep_scratch and time.monotonic() - self._last_sweep > self.settings.deadline:
            self._sweep_scratch()

    def _retry_leftovers(self) -> None:
        with self._lock:
            paths, self._leftovers = sorted(self._leftovers), set()
        for path in paths:
            if self.client.remaining() <= 0 or not self._delete_file(path, "delete query image (scratch, retried)"):
                with self._lock:
                    self._leftovers.add(path)

    def _sweep_scratch(self) -> None:
        """Delete scratch files older than the deadline: left by a killed process, or by
        a clean-up that failed in a process that is gone. Never raises."""
        self._last_sweep = time.monotonic()
        folder = self.layout.scratch_folder()
        request = rq.GetFilesListRequest(folder, storage_name=self.settings.storage)
        try:
            names = self.client.call(
                "list scratch files",
                lambda api: responses.file_names(api.get_files_list(request), "list scratch files"),
                NO_RETRY,
            )
            for name in names:
                if self.layout.scratch_is_stale(name, self.settings.deadline):
                    self._delete_file(f"{folder}/{name}", "sweep stale scratch file")
        except NotFoundError:
            pass
        except RisError as exc:
            logger.info("could not sweep stale scratch files in %s: %s", folder, exc)

    def _existing(self, context: str, image_id: str) -> str:
        path = self.layout.image_path(context, image_id)
        if not self._exists(path):
            raise ImageNotFoundError(f"no image {image_id!r} in context {context}")
        return path

    @operation()
    def context_status(self, context: str) -> ContextStatus:
        """The service's ``searchStatus``: ``Idle`` or a busy state (with the count of
        accepted writes still pending, if any)."""
        request = rq.GetImageSearchStatusRequest(context, **self._scope())
        status = self._call(
            "context status",
            lambda api: responses.status_text(api.get_image_search_status(request), "context status"),
            ContextNotFoundError,
        )
        with self._lock:
            if status == _IDLE:
                self._pending.pop(context, None)
                return ContextStatus(ContextState.IDLE, status)
            pending = self._pending.get(context, 0)
        detail = status + (f" ({pending} accepted write{'s' * (pending != 1)} pending)" if pending else "")
        return ContextStatus(ContextState.BUSY, detail)
