"""The loopback HTTP server: tokens, authorisation, faults, the request log, control.

:class:`Emulator` runs a ``ThreadingHTTPServer`` in a background thread. Every answer
carries ``Content-Length`` (the SDK keeps connections alive and has no timeout of its
own, so an answer without one would hang it). The control endpoints under
``/_emulator/`` are never faulted and need no token:

=========================  =================================================
``POST /_emulator/faults``  inject: ``{"kind": "rate_limit", "times": 2, ...}``
``GET /_emulator/faults``   the faults still queued
``DELETE /_emulator/faults``  clear them
``GET /_emulator/requests``  the request log (no bodies, no credentials)
``POST /_emulator/reset``   forget contexts, storage, faults, tokens and the log
=========================  =================================================
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import logging
import secrets
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from ris_aspose.emulator.faults import Fault, FaultQueue
from ris_aspose.emulator.service import ImageSearchService
from ris_aspose.emulator.wire import (
    ApiError,
    Request,
    Response,
    error_response,
    json_response,
    parse_request,
)
from ris_local.defaults import default_engine
from ris_local.engine import Engine

__all__ = ["Emulator", "RecordedRequest", "is_loopback"]

logger = logging.getLogger("ris_aspose.emulator")

_GARBLED = b'{"results": [{"imageId": "truncated'


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the emulator saw it: no bodies, no credentials.

    ``parts`` lists ``(name, filename, size)`` of multipart parts; ``fields`` holds the
    text of parts without a file name (such as ``tags``); ``status`` is None when the
    connection was dropped, and for a stalled request (logged when it arrives).
    """

    method: str
    path: str
    query: Mapping[str, str]
    content_type: str | None
    parts: tuple[tuple[str | None, str | None, int], ...]
    fields: Mapping[str, str]
    status: int | None
    fault: str | None


class Emulator:
    """An imageSearch emulator on a loopback port; use as a context manager.

    ``port=0`` picks a free port (see :attr:`url`). ``credentials`` restricts the token
    endpoint to one ``(client_id, client_secret)`` pair; without it any pair is
    accepted, which is only allowed on a loopback address (so is ``require_auth=False``,
    which accepts API calls without a token, as an on-premise server would): anywhere
    else the emulator refuses to start. ``database`` is a SQLite file that keeps every
    context and stored file across restarts (default: memory). ``busy_polls`` and
    ``tag_references`` are described in :mod:`ris_aspose.emulator.service`.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        engine: Engine | None = None,
        busy_polls: int = 0,
        credentials: tuple[str, str] | None = None,
        require_auth: bool = True,
        database: str = ":memory:",
        tag_references: str = "add",
    ) -> None:
        if not is_loopback(host) and (credentials is None or not require_auth):
            raise ValueError(
                f"refusing to listen on {host}: off loopback the emulator needs credentials "
                "(a client id and secret) and token authentication"
            )
        if credentials is not None and not all(credentials):
            raise ValueError("credentials need a non-empty client id and secret")
        self.service = ImageSearchService(engine or default_engine(), busy_polls, database, tag_references)
        self.faults = FaultQueue()
        self.credentials = credentials
        self.require_auth = require_auth
        self._tokens: set[str] = set()
        self._issued: list[str] = []
        self._log: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server((host, port), _Handler, self)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The base URL to pass as the backend's ``base_url``."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Emulator:
        """Serve in a background thread."""
        # A short poll interval: stop() waits for the serving loop to notice the shutdown.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="aspose-emulator", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        self._server.serve_forever()

    def stop(self) -> None:
        """Stop serving, end stalled answers, and close the port."""
        self._stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
        self.service.close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- faults and inspection ---------------------------------------------------

    def inject(
        self,
        kind: str,
        *,
        times: int = 1,
        path: str | None = None,
        method: str | None = None,
        status: int | None = None,
        retry_after: float | None = None,
        seconds: float | None = None,
        code: str | None = None,
        message: str | None = None,
    ) -> Fault | None:
        """Queue a fault (see :mod:`ris_aspose.emulator.faults`); ``expire_tokens``
        acts at once and returns None."""
        if kind == "expire_tokens":
            with self._lock:
                self._tokens.clear()
            return None
        return self.faults.add(Fault(kind, times, path, method, status, retry_after, seconds, code, message))

    def clear_faults(self) -> None:
        """Forget every queued fault."""
        self.faults.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request served so far, oldest first."""
        with self._lock:
            return list(self._log)

    def clear_requests(self) -> None:
        """Empty the request log."""
        with self._lock:
            self._log.clear()

    def issued_tokens(self) -> list[str]:
        """Every access token issued so far, expired ones included (to check none leaks)."""
        with self._lock:
            return list(self._issued)

    def storage_paths(self, storage: str = "") -> list[str]:
        """Every file path in a storage, sorted."""
        return self.service.storage.paths(storage)

    def reset(self) -> None:
        """Forget contexts, storage, faults, tokens and the request log."""
        self.service.reset()
        self.faults.clear()
        with self._lock:
            self._tokens.clear()
            self._issued.clear()
            self._log.clear()

    # --- answering ---------------------------------------------------------------

    def answer(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Response | None:
        """The answer to one request, or None to drop the connection."""
        raw_path = target.partition("?")[0]
        if raw_path.startswith("/_emulator/"):
            return self._control(method, raw_path, body)
        fault = self.faults.take(method, raw_path)
        if fault is not None and fault.kind == "stall":
            # Logged on arrival: the client has usually given up before the answer.
            self._record(method, target, headers, None, None, fault)
            self._stopping.wait(30.0 if fault.seconds is None else fault.seconds)
        request: Request | None = None
        try:
            response = self._faulted(fault)
            if response is None and not (fault and fault.kind == "drop"):
                request = parse_request(method, target, headers, body)
                if fault is not None and fault.kind in ("slow", "sloppy_cut"):
                    delay = (1.0 if fault.seconds is None else fault.seconds) if fault.kind == "slow" else 0.0
                    request = dataclasses.replace(request, fault=fault.kind, delay=delay)
                response = self._serve(request)
        except ApiError as exc:
            response = error_response(exc.status, exc.code, exc.message)
        if response is not None and fault is not None and 200 <= response.status < 300:
            if fault.kind == "malformed_json":
                response = Response(200, _GARBLED)
            elif fault.kind == "busy":
                context_id = request.segments[4] if request is not None else ""
                response = json_response({"id": context_id, "searchStatus": "ExtractingFeatures"})
        if fault is None or fault.kind != "stall":
            self._record(method, target, headers, request, response, fault)
        return response

    def _faulted(self, fault: Fault | None) -> Response | None:
        if fault is None or fault.kind in ("malformed_json", "busy", "drop", "stall", "slow", "sloppy_cut"):
            return None
        if fault.kind == "error":
            return error_response(fault.status or 400, fault.code or "BadRequest", fault.message or "injected error")
        if fault.kind == "unauthorized":
            return error_response(401, "Unauthorized", "the access token is missing, invalid or expired")
        if fault.kind == "rate_limit":
            wait = 1.0 if fault.retry_after is None else fault.retry_after
            text = str(int(wait)) if wait == int(wait) else str(wait)
            return error_response(429, "TooManyRequests", "rate limit exceeded", {"Retry-After": text})
        return error_response(fault.status or 500, "InternalServerError", "injected server error")

    def _serve(self, request: Request) -> Response:
        if request.segments == ("connect", "token") and request.method == "POST":
            return self._token(request)
        authorization = request.headers.get("Authorization", "")
        token = authorization[len("Bearer ") :] if authorization.startswith("Bearer ") else ""
        with self._lock:
            known = token in self._tokens
        if self.require_auth and not known:
            raise ApiError(401, "Unauthorized", "the access token is missing, invalid or expired")
        return self.service.handle(request)

    def _token(self, request: Request) -> Response:
        form = dict(parse_qsl(request.body.decode("utf-8", "replace")))
        if form.get("grant_type") != "client_credentials":
            return Response(400, json.dumps({"error": "unsupported_grant_type"}).encode())
        given = (form.get("client_id", ""), form.get("client_secret", ""))
        if self.credentials is not None and not all(
            secrets.compare_digest(a.encode(), b.encode()) for a, b in zip(given, self.credentials, strict=True)
        ):
            return Response(400, json.dumps({"error": "invalid_client"}).encode())
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens.add(token)
            self._issued.append(token)
        return json_response({"access_token": token, "expires_in": 3600, "token_type": "Bearer"})

    def _record(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        request: Request | None,
        response: Response | None,
        fault: Fault | None,
    ) -> None:
        raw_path, _, _ = target.partition("?")
        is_token = raw_path == "/connect/token"
        parts = request.parts if request is not None else ()
        record = RecordedRequest(
            method=method,
            path=raw_path,
            query={} if request is None or is_token else dict(request.query),
            content_type=headers.get("Content-Type"),
            parts=tuple((part.name, part.filename, len(part.data)) for part in parts),
            fields={
                part.name or "": part.data.decode("utf-8", "replace")
                for part in parts
                if part.filename is None and len(part.data) <= 4096
            },
            status=response.status if response is not None else None,
            fault=fault.kind if fault is not None else None,
        )
        with self._lock:
            self._log.append(record)

    def _control(self, method: str, path: str, body: bytes) -> Response:
        if path == "/_emulator/faults" and method == "POST":
            try:
                spec: dict[str, Any] = json.loads(body or b"{}")
                fault = self.inject(**spec)
            except (TypeError, ValueError) as exc:
                return error_response(400, "BadFault", str(exc))
            return json_response(fault.to_dict() if fault else {"kind": "expire_tokens"}, 201)
        if path == "/_emulator/faults" and method == "GET":
            return json_response([fault.to_dict() for fault in self.faults.pending()])
        if path == "/_emulator/faults" and method == "DELETE":
            self.clear_faults()
            return Response(200)
        if path == "/_emulator/requests" and method == "GET":
            return json_response([asdict(record) for record in self.requests])
        if path == "/_emulator/reset" and method == "POST":
            self.reset()
            return Response(200)
        return error_response(404, "NotFound", f"no control endpoint {method} {path}")


def is_loopback(host: str) -> bool:
    """Whether ``host`` names a loopback address (``127.0.0.1``, ``::1``, ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[_Handler], emulator: Emulator) -> None:
        self.emulator = emulator
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real service
    timeout = 60  # an idle kept-alive connection frees its thread after a minute
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms stalls
    server: _Server

    def do_GET(self) -> None:
        """Serve a GET."""
        self._serve()

    do_POST = do_PUT = do_DELETE = do_GET

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {key.title(): value for key, value in self.headers.items()}  # case-blind lookups
        try:
            response = self.server.emulator.answer(self.command, self.path, headers, body)
        except Exception as exc:  # a bug in the emulator must still answer, not hang
            logger.exception("the emulator failed on %s %s", self.command, self.path)
            response = error_response(500, "InternalServerError", f"emulator failure: {type(exc).__name__}")
        if response is None:
            self.close_connection = True  # drop: no answer at all
            return
        try:
            self.send_response(response.status)
            if response.content_type:
                self.send_header("Content-Type", response.content_type)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up (a stall outlived its timeout)

    def log_message(self, format: str, *args: Any) -> None:
        """Log requests at DEBUG instead of printing them to stderr."""
        logger.debug("%s " + format, self.address_string(), *args)
