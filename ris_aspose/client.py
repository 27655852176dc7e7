"""One ``ImagingApi`` for the backend's lifetime, with what the SDK leaves out.

The SDK (``aspose-imaging-cloud`` 22.4.0) has no timeout, no token refresh and no
retry; it leaks urllib3's exceptions; its token call blanks the shared
``configuration.api_version`` while it runs (so a concurrent or later request loses its
``/v3.0``); and every ``ImagingApi`` adds handlers to global loggers, resets their
level and ``http.client``'s debug level, and starts a thread pool. :class:`AsposeClient`
fixes each of these around one reused instance:

* **timeouts**: ``pool_manager.request`` is wrapped to pass ``urllib3.Timeout`` instead
  of the SDK's ``timeout=None`` and ``retries=False``, so the only retry loop is ours;
* **retries**: :meth:`AsposeClient.call` retries each HTTP request with the project's
  :class:`~ris_core.retry.RetryPolicy` (attempts, backoff, jitter), honouring
  ``Retry-After`` up to the ``retry_after_cap`` option;
* **tokens**: the client requests tokens itself, under a lock, and replaces a token
  the service rejects with 401 exactly once per call. The SDK never sees an empty token,
  so it never runs its own token call and never blanks ``api_version`` (which is reset
  after every call anyway, should anything else have blanked it). The client's own
  token request does not go through the SDK's REST layer, which logs response bodies
  (the token included) at DEBUG level;
* **errors**: everything is translated by :mod:`ris_aspose.translate`;
* **deadlines**: every request of one operation shares its deadline (the ``deadline``
  option): request timeouts shrink to fit it, and no retry waits past it;
* **files**: uploads are written to a private temporary folder (``ris-aspose-<pid>-*``,
  removed on close and at exit; one left by a killed process is swept by the next
  client) and deleted after the call; file answers are read straight from the response;
* **side effects**: logger handlers, levels and ``HTTPConnection.debuglevel`` are put
  back, and the SDK's thread pool (only used by its ``*_async`` methods, which return
  None anyway) is closed at once.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar
from urllib.parse import urlencode

import urllib3
from asposeimagingcloud import ImagingApi
from asposeimagingcloud.rest import ApiException

from ris_aspose.settings import AsposeSettings
from ris_aspose.translate import (
    TRANSPORT_ERRORS,
    malformed,
    parse_retry_after,
    translate_api_error,
    translate_transport_error,
)
from ris_core.errors import (
    AuthenticationError,
    BackendError,
    BackendTimeoutError,
    ImageNotFoundError,
    NotFoundError,
    RisError,
    ServiceUnavailableError,
)
from ris_core.retry import RetryPolicy

__all__ = ["API_VERSION", "AsposeClient"]

logger = logging.getLogger("ris_aspose")

T = TypeVar("T")

API_VERSION = "/v3.0"
#: Sent as the bearer token to on-premise servers, which need none.
ON_PREMISE_TOKEN = "on-premise"
_SDK_LOGGERS = ("urllib3", "asposeimagingcloud")
#: Local temporary folders are named ``ris-aspose-<pid>-<random>``: a folder whose
#: process is gone (killed before it could clean up) is swept by the next client.
LOCAL_PREFIX = "ris-aspose-"
_LOCAL_NAME = re.compile(re.escape(LOCAL_PREFIX) + r"(\d+)-")


class AsposeClient:
    """The backend's connection to the service: one SDK instance, made safe to share
    between threads."""

    def __init__(self, settings: AsposeSettings) -> None:
        self.settings = settings
        sweep_local_scratch()
        self.scratch = tempfile.mkdtemp(prefix=f"{LOCAL_PREFIX}{os.getpid()}-")
        self._remove_scratch = weakref.finalize(self, shutil.rmtree, self.scratch, True)
        self.api: Any = _quiet_imaging_api(settings.base_url, self.scratch)
        self.configuration: Any = self.api.api_client.configuration
        self._pool: Any = self.api.api_client.rest_client.pool_manager
        self._send: Callable[..., Any] = self._pool.request
        self._pool.request = self._request
        self._local = threading.local()
        self._token_lock = threading.Lock()
        if settings.on_premise:
            self.configuration.access_token = ON_PREMISE_TOKEN

    def __repr__(self) -> str:
        return f"<AsposeClient {self.settings.base_url} client_id={self.settings.client_id!r}>"

    def close(self) -> None:
        """Close pooled connections and delete the temporary folder."""
        self._pool.clear()
        self._remove_scratch()

    # --- deadlines ---------------------------------------------------------------

    @contextlib.contextmanager
    def operation(self, seconds: float) -> Iterator[None]:
        """Give every request of the block one shared deadline ``seconds`` from now;
        a block inside another keeps the outer (earlier) one."""
        outer: float | None = getattr(self._local, "deadline", None)
        self._local.deadline = time.monotonic() + seconds if outer is None else outer
        try:
            yield
        finally:
            self._local.deadline = outer

    def remaining(self) -> float:
        """Seconds left before the current operation's deadline (its whole length if none)."""
        deadline: float | None = getattr(self._local, "deadline", None)
        return self.settings.deadline if deadline is None else deadline - time.monotonic()

    # --- calls -------------------------------------------------------------------

    def call(
        self,
        what: str,
        operation: Callable[[Any], T],
        policy: RetryPolicy,
        missing: type[NotFoundError] = ImageNotFoundError,
        *,
        read_timeout: float | None = None,
        before_retry: Callable[[BackendError], None] | None = None,
    ) -> T:
        """Run ``operation(api)`` (one HTTP request plus reading its answer), retrying
        transient failures under ``policy`` within the operation's deadline.

        ``what`` names it in errors and logs; ``missing`` is the error a bare 404 means;
        ``read_timeout`` replaces the ``timeout`` option for this request;
        ``before_retry`` runs before each retry (to check the service is done first).
        A ``Retry-After`` is honoured up to ``retry_after_cap``; a wait that would pass
        the deadline is not made, and the last error is raised instead.
        """
        attempt = 0
        while True:
            attempt += 1
            if self.remaining() <= 0:
                raise BackendTimeoutError(f"{what}: the operation's deadline passed before the request was sent")
            try:
                return self._authorised(what, operation, missing, read_timeout)
            except BackendError as exc:
                if not exc.transient or attempt >= policy.attempts:
                    raise
                wait = policy.delay(attempt)
                if exc.retry_after is not None:
                    wait = max(wait, min(exc.retry_after, self.settings.retry_after_cap))
                if wait >= self.remaining():
                    exc.args = (f"{exc} (not retried: waiting {wait:g} s would pass the operation's deadline)",)
                    raise
                logger.warning(
                    "%s failed (attempt %d of %d): %s; retrying in %.2f s", what, attempt, policy.attempts, exc, wait
                )
                policy.sleep(wait)
                if before_retry is not None:
                    before_retry(exc)

    def _authorised(
        self, what: str, operation: Callable[[Any], T], missing: type[NotFoundError], read_timeout: float | None
    ) -> T:
        token = self._token(what)
        try:
            return self._once(what, operation, missing, read_timeout)
        except AuthenticationError as exc:
            if exc.status != 401 or self.settings.on_premise:
                raise
        # Tokens expire without notice (and the SDK never refreshes them): renew once.
        logger.info("%s: the service rejected the token (401); requesting a new one", what)
        self._renew(token, what)
        return self._once(what, operation, missing, read_timeout)

    def _once(
        self, what: str, operation: Callable[[Any], T], missing: type[NotFoundError], read_timeout: float | None
    ) -> T:
        self._local.response = None
        self._local.read_timeout = read_timeout
        try:
            return operation(self.api)
        except ApiException as exc:
            response = self._local.response
            headers = response.headers if response is not None else {}
            body = response.data if response is not None else b""
            raise translate_api_error(exc, what, headers, missing, body) from exc
        except RisError:
            raise
        except TRANSPORT_ERRORS as exc:
            raise translate_transport_error(exc, what) from exc
        except ValueError as exc:  # the SDK's models validate fields (e.g. base64 features)
            raise malformed(what, str(exc)) from exc
        finally:
            self._local.read_timeout = None
            if self.configuration.api_version != API_VERSION:
                self.configuration.api_version = API_VERSION

    def download(self, api: Any, request: Any, what: str) -> bytes:
        """The body of a file answer, read straight from the response.

        The SDK would write it to a temporary file named after the answer's
        ``Content-Disposition`` (so two threads downloading ``a.png`` share one path);
        asking for no answer type skips that, and the bytes come from the response.
        """
        info = request.to_http_info(api.api_client.configuration)
        api.api_client.call_api(
            resource_path=info.resource_path,
            method="GET",
            path_params=info.path_params,
            query_params=info.query_params,
            header_params=info.header_params,
            body=info.body_params,
            post_params=info.form_params,
            files=info.files,
            response_type=None,
            auth_settings=info.auth_settings,
            _return_http_data_only=True,
            _preload_content=True,
            collection_formats=info.collection_formats,
        )
        response = self._local.response
        if response is None or not isinstance(response.data, bytes):
            raise malformed(what, "no file in the answer")
        return bytes(response.data)

    def _request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        """Every HTTP request of the SDK passes here: add the timeout (never past the
        operation's deadline), switch off urllib3's own retries, and keep the answer
        for Retry-After, error bodies and file downloads."""
        if kwargs.get("timeout") is None:
            wanted = getattr(self._local, "read_timeout", None) or self.settings.timeout
            limit = max(0.001, min(wanted, self.remaining()))
            kwargs["timeout"] = urllib3.Timeout(connect=min(self.settings.timeout, limit), read=limit)
        kwargs["retries"] = False
        response = self._send(method, url, *args, **kwargs)
        self._local.response = response
        return response

    # --- tokens ------------------------------------------------------------------

    def _token(self, what: str) -> str:
        token: str = self.configuration.access_token
        if token:
            return token
        with self._token_lock:
            if not self.configuration.access_token:
                self.configuration.access_token = self._fetch_token(what)
            return str(self.configuration.access_token)

    def _renew(self, rejected: str, what: str) -> None:
        with self._token_lock:
            # Another thread may have renewed it already; the token is never left empty.
            if self.configuration.access_token == rejected:
                self.configuration.access_token = self._fetch_token(what)

    def _fetch_token(self, what: str) -> str:
        body = urlencode(
            [
                ("grant_type", "client_credentials"),
                ("client_id", self.settings.client_id),
                ("client_secret", self.settings.client_secret.reveal()),
            ]
        )
        headers = {
            **self.api.api_client.default_headers,
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        try:
            response = self._request("POST", f"{self.settings.base_url}/connect/token", body=body, headers=headers)
        except TRANSPORT_ERRORS as exc:
            raise translate_transport_error(exc, f"{what} (token request)") from exc
        if not 200 <= response.status < 300:
            raise _token_refused(response.status, response.data, response.headers, what)
        try:
            data = json.loads(response.data)
        except ValueError as exc:
            raise malformed(f"{what} (token request)", "not JSON") from exc
        token = data.get("access_token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise malformed(f"{what} (token request)", "no access_token")
        return token

    # --- files -------------------------------------------------------------------

    @contextlib.contextmanager
    def upload(self, data: bytes, suffix: str) -> Iterator[str]:
        """A temporary file holding ``data`` (the SDK only sends files it can open),
        deleted when the block ends, whatever happens in it."""
        handle, path = tempfile.mkstemp(suffix=suffix, dir=self.scratch)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            yield path
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)


def sweep_local_scratch() -> None:
    """Delete this user's ``ris-aspose-<pid>-*`` temporary folders whose process has ended."""
    root = tempfile.gettempdir()
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    for entry in entries:
        found = _LOCAL_NAME.match(entry.name)
        if found is None or not entry.is_dir(follow_symlinks=False):
            continue
        with contextlib.suppress(OSError):
            if entry.stat(follow_symlinks=False).st_uid == os.getuid() and not _alive(int(found.group(1))):
                shutil.rmtree(entry.path, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _token_refused(status: int, body: bytes, headers: Mapping[str, str], what: str) -> BackendError:
    code = _oauth_code(body)
    message = f"{what}: the token request failed with HTTP {status}" + (f" ({code})" if code else "")
    if status in (400, 401, 403):
        return AuthenticationError(message + "; check client_id and client_secret", status=status, code=code)
    if status == 429 or status >= 500:
        return ServiceUnavailableError(
            message, status=status, code=code, transient=True, retry_after=parse_retry_after(headers.get("Retry-After"))
        )
    return BackendError(message, status=status, code=code)


def _oauth_code(body: bytes) -> str | None:
    """The error code of an OAuth (``{"error": "invalid_client"}``) or Aspose body."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        error = error.get("code")
    return error if isinstance(error, str) else None


def _quiet_imaging_api(base_url: str, temp_folder: str) -> Any:
    """An ``ImagingApi`` whose construction leaves no trace on global state."""
    saved = {name: _logger_state(name) for name in _SDK_LOGGERS}
    debuglevel = http.client.HTTPConnection.debuglevel
    try:
        # Keyword arguments only: the SDK's first positional parameter is the secret.
        api = ImagingApi(client_secret=None, client_id=None, base_url=base_url, api_version="v3.0")
    finally:
        for name, (level, handlers) in saved.items():
            sdk_logger = logging.getLogger(name)
            for handler in list(sdk_logger.handlers):
                if handler not in handlers:
                    sdk_logger.removeHandler(handler)
            sdk_logger.setLevel(level)
        http.client.HTTPConnection.debuglevel = debuglevel
    api.api_client.pool.close()
    api.api_client.pool.join()
    api.api_client.configuration.temp_folder_path = temp_folder
    return api


def _logger_state(name: str) -> tuple[int, list[logging.Handler]]:
    found = logging.getLogger(name)
    return found.level, list(found.handlers)
