"""The page, its assets, and signing in with the token.

The page is one HTML file with its script and style beside it, in the package: no CDN,
nothing fetched at run time. With a token set, ``POST /login`` (the form the page shows
when the API answers 401) sets the session cookie; ``POST /logout`` clears it.
"""

from __future__ import annotations

import hmac
from importlib.resources import files

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from ris_core.server.errors import ApiError
from ris_core.server.routes.common import settings_of
from ris_core.server.security import SESSION_COOKIE, session_value

router = APIRouter(include_in_schema=False)

#: Security headers every page response carries: no framing, no outside scripts.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    # Not no-referrer: under it Chromium sends "Origin: null" with the page's own form
    # posts, which the cross-site check must refuse.
    "Referrer-Policy": "same-origin",
}


@router.get("/", response_class=HTMLResponse)
async def page() -> HTMLResponse:
    """The web page."""
    html = files("ris_core.server").joinpath("static/index.html").read_text(encoding="utf-8")
    return HTMLResponse(html, headers=PAGE_HEADERS)


@router.post("/login")
async def login(request: Request, token: str = Form(...)) -> Response:
    """Sign the browser in: check the token, set the session cookie, back to the page."""
    expected = settings_of(request).token
    if expected is None:
        return RedirectResponse("/", status_code=303)
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise ApiError(401, "AuthenticationError", "wrong token")
    response = RedirectResponse("/", status_code=303)
    secure = request.url.scheme == "https"
    response.set_cookie(SESSION_COOKIE, session_value(expected), httponly=True, samesite="strict", secure=secure)
    return response


@router.post("/logout")
async def logout() -> Response:
    """Forget the session cookie."""
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
