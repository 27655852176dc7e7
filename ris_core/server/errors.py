"""The error tree as HTTP statuses, in one table, and one JSON shape for every error.

Every error response is ``{"error": {"type": "ImageNotFoundError", "message": ...}}``
with the status of the first table row the error is an instance of. Order matters:
a ContextBusyError is a TimeoutError, and an ImageTooLargeError an invalid argument,
so the more specific rows come first.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from ris_core import errors

__all__ = ["STATUS_FOR_ERROR", "ApiError", "error_response", "install_error_handlers", "status_for"]

logger = logging.getLogger("ris_core.server")

#: The one table: error class -> HTTP status.
STATUS_FOR_ERROR: tuple[tuple[type[BaseException], int], ...] = (
    (errors.ImageTooLargeError, 413),
    (errors.NotFoundError, 404),
    (errors.AlreadyExistsError, 409),
    (errors.InvalidArgumentError, 400),
    (errors.UnsupportedOperationError, 501),
    (errors.ContextBusyError, 503),
    (errors.BackendError, 503),
    (errors.BackendUnavailableError, 503),
    # The database cannot take the request now (full, read-only, locked, damaged, from a
    # newer ris): the service is unavailable, and the body's type says which.
    (errors.StorageError, 503),
    (errors.ConfigurationError, 400),
)


class ApiError(Exception):
    """An error the server itself raises, with its status and a type name."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type


def status_for(exc: BaseException) -> int:
    """The HTTP status for an error of the tree (500 for anything else)."""
    for error_type, status in STATUS_FOR_ERROR:
        if isinstance(exc, error_type):
            return status
    return 500


def error_response(status: int, error_type: str, message: str) -> JSONResponse:
    """The JSON body every error has."""
    return JSONResponse({"error": {"type": error_type, "message": message}}, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
    """Map ris errors, the server's own, validation errors and HTTP errors to JSON."""

    async def ris_error(request: Request, exc: Exception) -> JSONResponse:
        return error_response(status_for(exc), type(exc).__name__, str(exc))

    async def api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc.status, exc.error_type, str(exc))

    async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: {error['msg']}" for error in exc.errors()
        )
        return error_response(400, "InvalidRequestError", problems or "invalid request")

    async def http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        names = {404: "NotFoundError", 405: "MethodNotAllowedError"}
        return error_response(exc.status_code, names.get(exc.status_code, "HTTPError"), str(exc.detail))

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(500, "InternalError", "unexpected server error; see the server log")

    app.add_exception_handler(errors.RisError, ris_error)
    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
