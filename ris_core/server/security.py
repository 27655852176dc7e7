"""Who may call the server, and from where: the token, the page's cookie, origins.

- **Token.** With a token set (``--token`` or ``$RIS_TOKEN``, required off loopback),
  every API request carries ``Authorization: Bearer <token>`` or the page's session
  cookie, which the login form sets. The cookie holds an HMAC of the token, never the
  token, and is ``HttpOnly; SameSite=Strict``. The token is never accepted in a URL, so
  it cannot reach an access log.
- **Cross-site requests are refused** unless their origin is allowed (``--allow-origin``,
  which also turns on CORS answers for those origins alone):
  a request a browser marks ``Sec-Fetch-Site: cross-site`` or ``same-site``, or whose
  ``Origin`` is not the server's own, gets 403. So another site can neither read the
  API nor forge a form post, with or without the cookie. A state-changing request
  authenticated by the cookie must also prove it came from the page itself (its own
  ``Origin``, or ``Sec-Fetch-Site: same-origin``).
- **DNS rebinding.** On loopback, the ``Host`` header must name loopback too, so a
  hostile name that resolves to 127.0.0.1 cannot reach the API through a browser.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import CookieError, SimpleCookie
from typing import Any

from ris_core.server.settings import ServerSettings, is_loopback

__all__ = ["SESSION_COOKIE", "SecurityMiddleware", "session_value"]

SESSION_COOKIE = "ris_session"

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: What needs the token: the API and its description. The page and its assets are
#: public (they hold no data); the page asks for the token when the API refuses it.
_PROTECTED_PREFIXES = ("/api/", "/openapi.json", "/docs", "/redoc")


def session_value(token: str) -> str:
    """What the session cookie holds for ``token``: an HMAC, so the cookie is not the token."""
    return hmac.new(token.encode(), b"ris-session-v1", hashlib.sha256).hexdigest()


def _host_name(host: str) -> str:
    """The name in a Host header, without its port: ``[::1]:8000`` -> ``::1``."""
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        return name if rest == "" or rest.startswith(":") else host
    return host.partition(":")[0]


def _cookie(header: str) -> str | None:
    try:
        morsel = SimpleCookie(header).get(SESSION_COOKIE)
    except CookieError:
        return None
    return None if morsel is None else morsel.value


class SecurityMiddleware:
    """Refuse cross-site, rebound and unauthenticated requests before any route runs."""

    def __init__(self, app: ASGIApp, settings: ServerSettings) -> None:
        self.app = app
        self.settings = settings
        self.session = None if settings.token is None else session_value(settings.token)
        self.bearer = None if settings.token is None else f"Bearer {settings.token}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        refusal = self.refusal(scope, headers)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, error_type, message = refusal
        body = json.dumps({"error": {"type": error_type, "message": message}}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str, str] | None:
        """Why the request is refused (status, type, message), or None to let it through."""
        path: str = scope["path"]
        host = headers.get("host", "")
        if is_loopback(self.settings.host) and not is_loopback(_host_name(host)):
            return 403, "ForbiddenHostError", f"this server answers only to a loopback host name, not {host!r}"
        guarded = path.startswith(_PROTECTED_PREFIXES) or path == "/login"
        if not guarded:
            return None
        own = f"{scope.get('scheme', 'http')}://{host}"
        origin = headers.get("origin")
        fetch_site = headers.get("sec-fetch-site")
        allowed = origin is not None and origin in self.settings.origins
        if not allowed and (fetch_site in ("cross-site", "same-site") or (origin not in (None, "null", own))):
            return 403, "CrossSiteRequestError", "cross-site requests are not allowed (see --allow-origin)"
        if origin == "null":
            return 403, "CrossSiteRequestError", "requests from an opaque origin are not allowed"
        if self.session is None or path == "/login":
            return None
        if allowed and scope["method"] == "OPTIONS":
            return None  # a CORS preflight carries no credentials; the CORS middleware answers it
        if self.bearer is not None and hmac.compare_digest(headers.get("authorization", ""), self.bearer):
            return None
        cookie = _cookie(headers.get("cookie", ""))
        if cookie is None or not hmac.compare_digest(cookie, self.session):
            return 401, "AuthenticationRequiredError", "this server needs its token (Authorization: Bearer ...)"
        if scope["method"] not in _SAFE_METHODS and not (origin == own or fetch_site == "same-origin" or allowed):
            return 403, "CrossSiteRequestError", "a cookie-authenticated change must come from the page itself"
        return None
