"""The HTTP details of the imageSearch API, as the SDK puts them on the wire.

Paths are split on the *raw* ``/`` before each segment is percent-decoded (the SDK
encodes ``/`` inside a context id or storage path as ``%2F``); query strings are
form-encoded (``+`` is a space); image data is the first part of a
``multipart/form-data`` body, or the raw body when the request is not multipart;
answers are camelCase JSON and errors are ``{"error": {...}}``.
"""

from __future__ import annotations

import datetime
import email.parser
import email.policy
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

__all__ = ["ApiError", "Part", "Request", "Response", "error_response", "json_response", "parse_request"]

JSON_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True)
class Part:
    """One multipart part: its form name, file name (None for plain fields) and bytes."""

    name: str | None
    filename: str | None
    data: bytes


@dataclass(frozen=True)
class Request:
    """An HTTP request, parsed as the service would parse it."""

    method: str
    raw_path: str
    segments: tuple[str, ...]
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes
    parts: tuple[Part, ...] = ()
    #: An injected fault the service itself acts on (``sloppy_cut``), if any.
    fault: str | None = None
    #: Seconds an injected ``slow`` fault holds the request while the context is busy.
    delay: float = 0.0

    def param(self, name: str) -> str | None:
        """A query parameter, or None when absent."""
        return self.query.get(name)

    def image_data(self) -> bytes | None:
        """Image bytes: the first multipart part whatever its name, else the raw body.

        GET and DELETE bodies are never read, even when the SDK labels them multipart.
        """
        if self.method in ("GET", "DELETE", "HEAD"):
            return None
        if self.parts:
            return self.parts[0].data
        if _media_type(self.headers.get("Content-Type", "")) == "multipart/form-data":
            return None
        return self.body or None

    def field(self, name: str) -> str | None:
        """A plain (non-file) multipart field as text."""
        for part in self.parts:
            if part.name == name:
                return part.data.decode("utf-8")
        return None


@dataclass
class Response:
    """What the emulator sends back; Content-Length is always added."""

    status: int
    body: bytes = b""
    content_type: str | None = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)


class ApiError(Exception):
    """An error answer: HTTP status, the service's error code, and a message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def parse_request(method: str, target: str, headers: Mapping[str, str], body: bytes) -> Request:
    """Parse the request line's target, the headers and the body."""
    raw_path, _, query_string = target.partition("?")
    segments = tuple(unquote(segment) for segment in raw_path.split("/")[1:])
    query = dict(parse_qsl(query_string, keep_blank_values=True))
    parts: tuple[Part, ...] = ()
    content_type = headers.get("Content-Type", "")
    if method not in ("GET", "DELETE", "HEAD") and "boundary=" in content_type:
        parts = _multipart(content_type, body)
    return Request(method, raw_path, segments, query, headers, body, parts)


def _multipart(content_type: str, body: bytes) -> tuple[Part, ...]:
    # The stdlib email parser reads multipart bodies byte-exactly (cgi is gone in 3.13).
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise ApiError(400, "BadRequest", "the multipart body could not be parsed")
    found = []
    for part in message.iter_parts():
        payload = part.get_payload(decode=True)
        found.append(
            Part(
                part.get_param("name", header="content-disposition"),  # type: ignore[arg-type]
                part.get_filename(),
                payload if isinstance(payload, bytes) else b"",
            )
        )
    return tuple(found)


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def json_response(payload: Any, status: int = 200) -> Response:
    """A camelCase JSON answer."""
    return Response(status, json.dumps(payload).encode("utf-8"))


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """An error in the shape the SDK parses into ``ApiException.error``."""
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    payload = {
        "error": {
            "code": code,
            "message": message,
            "description": "Operation Failed. " + message,
            "innerError": {"requestId": uuid.uuid4().hex, "date": now},
        }
    }
    return Response(status, json.dumps(payload).encode("utf-8"), headers=headers or {})
