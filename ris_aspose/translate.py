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
404, or any answer whose error      the NotFoundError its words name (context, features,
  body says "not found"/"does not    tag, image), else the caller's; never retried
  exist" (even a 400 or a 5xx)
400/413/415/422 naming a bad image InvalidImageError
other 4xx                          ServiceRefusedError (a BackendError with the status,
                                   code and error body), not transient
TLS errors                         BackendError, not transient
unreadable 2xx body                BackendError(code="MalformedResponse"), transient
=================================  ===============================================

Messages name the operation, the status and the service's code and message; they never
contain credentials or tokens (the SDK's own message holds the URL, which has neither).
"""

from __future__ import annotations

import email.utils
import http.client
import json
import re
import time
from collections.abc import Mapping
from typing import Any

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
    "ServiceRefusedError",
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


class ServiceRefusedError(BackendError):
    """A client error (4xx) whose meaning ris does not know: never retried.

    ``status`` and ``code`` are the service's; ``body`` is its error object (the
    ``{"error": {...}}`` contents, or ``{"text": ...}`` for a body that is not one).
    """

    def __init__(self, message: str, *, status: int, code: str | None, body: Mapping[str, Any]) -> None:
        super().__init__(message, status=status, code=code)
        self.body = dict(body)


def translate_api_error(
    exc: ApiException,
    what: str,
    headers: Mapping[str, str],
    missing: type[NotFoundError],
    body: bytes = b"",
) -> RisError:
    """The ris error for an ``ApiException``, by the answer's meaning.

    The status decides first; the documented error-body fields (``code``, ``message``,
    ``description``) refine it, read as words rather than matched against a list of
    codes, so a code ris has never seen still means what it says. ``missing`` is what
    a bare 404 means for the operation.
    """
    status = int(getattr(exc, "code", 0) or 0)
    error = _error_body(exc, body)
    code = _field(error, "code")
    detail = _field(error, "message") or _reason(getattr(exc, "message", ""))
    words = " ".join(filter(None, (code, detail, _field(error, "description"))))
    message = f"{what}: HTTP {status}" + (f" {code}" if code else "") + (f": {detail}" if detail else "")
    if status == 0:
        return BackendError(f"{what}: {detail or 'no HTTP answer'}", code=code)
    if status in (401, 403):
        return AuthenticationError(message, status=status, code=code)
    if status == 404 or (status not in (408, 429) and _NOT_FOUND.search(words)):
        # A final answer whatever the status: retrying "no such context" cannot help.
        return _not_found(code, detail, missing)(message)
    if status == 429 or status >= 500:
        retry_after = parse_retry_after(headers.get("Retry-After"))
        return ServiceUnavailableError(message, status=status, code=code, transient=True, retry_after=retry_after)
    if status == 408:
        return BackendTimeoutError(message, status=status, code=code, transient=True)
    if status in (400, 413, 415, 422) and _BAD_IMAGE.search(words):
        return InvalidImageError(message)
    return ServiceRefusedError(
        message, status=status, code=code, body=error or {"text": body.decode("utf-8", "replace")}
    )


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


_NOT_FOUND = re.compile(r"not\s*found|does\s*n[o']?t\s*exist|not\s*exist|no\s+such", re.IGNORECASE)
_BAD_IMAGE = re.compile(
    r"(image|file|format|picture).*(invalid|corrupt|unsupported|not\s*supported|cannot\s*be\s*(read|decoded|loaded))"
    r"|(invalid|corrupt|unsupported|unknown)\s*(image|file)?\s*format",
    re.IGNORECASE,
)
_KINDS: tuple[tuple[str, type[NotFoundError]], ...] = (
    ("context", ContextNotFoundError),
    ("feature", FeaturesNotFoundError),
    ("tag", TagNotFoundError),
    ("image", ImageNotFoundError),
    ("file", ImageNotFoundError),
)


def _not_found(code: str | None, detail: str | None, default: type[NotFoundError]) -> type[NotFoundError]:
    """The kind the code names (``ImageNotFound``), else the first the message names."""
    lowered = (code or "").lower()
    named = next((kind for word, kind in _KINDS if word in lowered), None)
    if named is not None:
        return named
    text = (detail or "").lower()
    found = [(text.find(word), kind) for word, kind in _KINDS if word in text]
    return min(found, key=lambda pair: pair[0])[1] if found else default


def _error_body(exc: ApiException, body: bytes) -> dict[str, Any]:
    """The error object: the SDK's parsed ``.error`` if any, else the raw body read as
    JSON with any key case (``{"error": ...}``, ``{"Error": ...}`` or flat)."""
    model = getattr(exc, "error", None)
    if model is not None and hasattr(model, "to_dict"):
        found = {key: value for key, value in model.to_dict().items() if value is not None}
        if found:
            return found
    try:
        data = json.loads(body) if body else None
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    inner = next((value for key, value in data.items() if key.lower() == "error"), data)
    return {key[:1].lower() + key[1:]: value for key, value in inner.items()} if isinstance(inner, dict) else {}


def _field(error: Mapping[str, Any], name: str) -> str | None:
    value = error.get(name)
    return value if isinstance(value, str) and value else None


def _reason(sdk_message: str) -> str:
    # The SDK's message is "{status} Error connecting to the API {url}; Message: {reason}".
    _, found, reason = sdk_message.rpartition("; Message: ")
    return reason if found else ""
