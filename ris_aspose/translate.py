"""Turning what the SDK and urllib3 raise into :mod:`ris_core.errors`.

The SDK raises ``ApiException`` for any non-2xx answer (``.code`` is the HTTP status;
``.error``, the parsed ``{"error": {...}}`` body, exists only sometimes) and lets
urllib3's transport errors through unwrapped. Everything leaves here as a ris error:

=================================  ===============================================
what happened                      raised (``transient`` -> retried by the policy)
=================================  ===============================================
connection refused / dropped       ServiceUnavailableError, transient
connect or read timeout            BackendTimeoutError, transient
429 (with Retry-After)             ServiceUnavailableError, transient, retry_after
408                                BackendTimeoutError, transient
5xx                                ServiceUnavailableError, transient
401, 403                           AuthenticationError (the client refreshes once)
404                                the NotFoundError the code names, else the caller's
400 naming an image problem        InvalidImageError
other 4xx, TLS errors              BackendError, not transient
unreadable 2xx body                BackendError(code="MalformedResponse"), transient
=================================  ===============================================

Messages name the operation, the status and the service's code and message; they never
contain credentials or tokens (the SDK's own message holds the URL, which has neither).
"""

from __future__ import annotations

import email.utils
import http.client
import time
from collections.abc import Mapping

import urllib3
from asposeimagingcloud.rest import ApiException

from ris_core.errors import (
    AuthenticationError,
    BackendError,
    BackendTimeoutError,
    ContextNotFoundError,
    FeaturesNotFoundError,
    ImageNotFoundError,
    InvalidImageError,
    NotFoundError,
    RisError,
    ServiceUnavailableError,
    TagNotFoundError,
)

__all__ = [
    "MALFORMED",
    "TRANSPORT_ERRORS",
    "malformed",
    "parse_retry_after",
    "translate_api_error",
    "translate_transport_error",
]

#: The code of the error raised when a 2xx answer cannot be read.
MALFORMED = "MalformedResponse"


def malformed(what: str, detail: str) -> BackendError:
    """A 2xx answer that is not what the API documents (garbled or PascalCase JSON).

    Transient: a proxy or a struggling server garbles one answer, not every answer.
    """
    return BackendError(f"{what}: the service sent an unreadable answer ({detail})", code=MALFORMED, transient=True)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def translate_api_error(
    exc: ApiException,
    what: str,
    headers: Mapping[str, str],
    missing: type[NotFoundError],
) -> RisError:
    """The ris error for an ``ApiException``; ``missing`` is what a bare 404 means."""
    status = int(getattr(exc, "code", 0) or 0)
    error = getattr(exc, "error", None)  # only set when the body had an "error" object
    code = getattr(error, "code", None) or None
    detail = getattr(error, "message", None) or _reason(getattr(exc, "message", ""))
    message = f"{what}: HTTP {status}" + (f" {code}" if code else "") + (f": {detail}" if detail else "")
    if status == 0:
        return BackendError(f"{what}: {detail or 'no HTTP answer'}", code=code)
    if status in (401, 403):
        return AuthenticationError(message, status=status, code=code)
    if status == 404:
        return _not_found(code, missing)(message)
    if status == 429:
        retry_after = parse_retry_after(headers.get("Retry-After"))
        return ServiceUnavailableError(message, status=status, code=code, transient=True, retry_after=retry_after)
    if status == 408:
        return BackendTimeoutError(message, status=status, code=code, transient=True)
    if status >= 500:
        retry_after = parse_retry_after(headers.get("Retry-After"))
        return ServiceUnavailableError(message, status=status, code=code, transient=True, retry_after=retry_after)
    if status in (400, 415, 422) and _names_bad_image(code):
        return InvalidImageError(message)
    return BackendError(message, status=status, code=code)


def translate_transport_error(exc: Exception, what: str) -> BackendError:
    """The ris error for a urllib3 / http.client / socket failure (no HTTP answer)."""
    if isinstance(exc, urllib3.exceptions.MaxRetryError) and isinstance(exc.reason, Exception):
        exc = exc.reason
    name = type(exc).__name__
    # NewConnectionError subclasses ConnectTimeoutError in urllib3, so test it first.
    if isinstance(exc, urllib3.exceptions.NewConnectionError | ConnectionRefusedError):
        return ServiceUnavailableError(f"{what}: cannot connect to the service ({name})", transient=True)
    if isinstance(exc, urllib3.exceptions.TimeoutError | TimeoutError):
        return BackendTimeoutError(f"{what}: the service did not answer in time ({name})", transient=True)
    if isinstance(exc, urllib3.exceptions.SSLError):
        return BackendError(f"{what}: TLS failure ({name}: {exc})")
    return ServiceUnavailableError(f"{what}: the connection failed ({name})", transient=True)


#: Transport failures: no HTTP answer arrived (or only part of one).
TRANSPORT_ERRORS: tuple[type[Exception], ...] = (
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    ConnectionError,
    TimeoutError,
)


def _not_found(code: str | None, default: type[NotFoundError]) -> type[NotFoundError]:
    lowered = (code or "").lower()
    if "context" in lowered:
        return ContextNotFoundError
    if "feature" in lowered:
        return FeaturesNotFoundError
    if "tag" in lowered:
        return TagNotFoundError
    if "image" in lowered or "file" in lowered:
        return ImageNotFoundError
    return default


def _names_bad_image(code: str | None) -> bool:
    lowered = (code or "").lower()
    return "image" in lowered and any(word in lowered for word in ("invalid", "format", "corrupt", "unsupported"))


def _reason(sdk_message: str) -> str:
    # The SDK's message is "{status} Error connecting to the API {url}; Message: {reason}".
    _, found, reason = sdk_message.rpartition("; Message: ")
    return reason if found else ""
