"""The plumbing under :class:`ris_aspose.backend.AsposeBackend`: options, the SDK
client, storage helpers, and waiting for a context to become idle.

Every SDK call goes through :meth:`AsposeBase._call`, which hands it to
:class:`ris_aspose.client.AsposeClient` with the backend's current retry policy (the
core sets ``retry_policy`` after construction, from ``ris_core.open(retry=)``).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, TypeVar

from asposeimagingcloud.models import requests as rq

from ris_aspose import responses
from ris_aspose.client import AsposeClient
from ris_aspose.layout import StorageLayout
from ris_aspose.settings import CONTEXT_OPTIONS, OPTIONS, AsposeSettings
from ris_core.backend import Backend, Capability
from ris_core.errors import ContextBusyError, ContextNotFoundError, ImageNotFoundError, NotFoundError, RisError
from ris_core.images import ImageData
from ris_core.models import ContextState, ContextStatus
from ris_core.preprocess import DEFAULT_STEPS

__all__ = ["AsposeBase"]

logger = logging.getLogger("ris_aspose")

T = TypeVar("T")

_IDLE = "Idle"


class AsposeBase(Backend):
    """Options, the SDK client and the helpers every operation uses."""

    name: ClassVar[str] = "aspose"
    description: ClassVar[str] = "Aspose.Imaging Cloud imageSearch (AKAZE features, remote)."
    options: ClassVar[Mapping[str, str]] = OPTIONS
    context_options: ClassVar[Mapping[str, str]] = CONTEXT_OPTIONS
    # A cloud service needs the bytes: images are always uploaded, never referenced.
    capabilities: frozenset[Capability] = frozenset(Capability) - {Capability.REFERENCES}
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

    def __repr__(self) -> str:
        return f"<AsposeBackend {self.settings.base_url} folder={self.settings.folder!r}>"

    def close(self) -> None:
        """Close connections and delete the temporary folder."""
        self.client.close()

    # --- plumbing ----------------------------------------------------------------

    def _call(self, what: str, operation: Callable[[Any], T], missing: type[NotFoundError] = ImageNotFoundError) -> T:
        return self.client.call(what, operation, self.retry_policy, missing)

    def _scope(self) -> dict[str, str | None]:
        return {"folder": self.settings.folder or None, "storage": self.settings.storage}

    def _settle(self, context: str) -> None:
        """Wait until the context is idle, so the write just made is searchable."""
        deadline = time.monotonic() + self.settings.status_timeout
        delay = min(0.05, self.settings.poll_interval)
        while True:
            status = self.context_status(context)
            if status.is_idle:
                return
            if time.monotonic() + delay > deadline:
                raise ContextBusyError(
                    f"context {context} still {status.detail} after {self.settings.status_timeout:g} s"
                )
            time.sleep(delay)
            delay = min(delay * 2, self.settings.poll_interval)

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

    def _delete_file(self, path: str, what: str) -> None:
        """Delete a storage file; a missing file is fine, a failure is only logged."""
        request = rq.DeleteFileRequest(path, storage_name=self.settings.storage)
        try:
            self._call(what, lambda api: api.delete_file(request))
        except NotFoundError:
            pass
        except RisError as exc:
            logger.warning("%s: could not delete %s from storage: %s", what, path, exc)

    @contextlib.contextmanager
    def _scratch(self, context: str, image: ImageData) -> Iterator[str]:
        """Upload ``image`` to a scratch path for the block, then always delete it."""
        path = self.layout.scratch_path(context, image.format)
        try:
            with self.client.upload(image.data, self.layout.suffix(image.format)) as file:
                request = rq.UploadFileRequest(path, file, storage_name=self.settings.storage)
                self._call(
                    "upload query image",
                    lambda api: responses.upload_ok(api.upload_file(request), "upload query image"),
                )
            yield path
        finally:
            self._delete_file(path, "delete query image")

    def _existing(self, context: str, image_id: str) -> str:
        path = self.layout.image_path(context, image_id)
        if not self._exists(path):
            raise ImageNotFoundError(f"no image {image_id!r} in context {context}")
        return path

    def context_status(self, context: str) -> ContextStatus:
        """The service's ``searchStatus``: ``Idle`` or a busy state."""
        request = rq.GetImageSearchStatusRequest(context, **self._scope())
        status = self._call(
            "context status",
            lambda api: responses.status_text(api.get_image_search_status(request), "context status"),
            ContextNotFoundError,
        )
        return ContextStatus(ContextState.IDLE if status == _IDLE else ContextState.BUSY, status)
