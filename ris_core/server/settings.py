"""What ``ris serve`` was told: the system to open, where to listen, and the limits.

Settings travel to worker processes through the environment (``uvicorn --workers``
starts each worker from an import string, not from objects): everything but the token
as JSON in ``RIS_SERVE_SETTINGS``, the token in ``RIS_TOKEN``, so it never appears in
a process's argv or in a file.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["ENV_SETTINGS", "ENV_TOKEN", "ServerSettings", "is_loopback"]

ENV_SETTINGS = "RIS_SERVE_SETTINGS"
ENV_TOKEN = "RIS_TOKEN"

#: Uploads above this many bytes are refused with 413 before they are decoded.
DEFAULT_MAX_UPLOAD = 32 * 1024 * 1024


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name that resolves elsewhere, or every interface ("0.0.0.0" is an address)


@dataclass(frozen=True)
class ServerSettings:
    """How to open the system, and what the server allows.

    ``folders`` are the server-side folders the page may ingest from and move
    duplicates into (none by default); ``origins`` the other origins allowed to call
    the API (none by default: cross-site requests are refused).
    """

    backend: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    catalog: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = field(default=None, repr=False)
    max_upload: int = DEFAULT_MAX_UPLOAD
    folders: tuple[str, ...] = ()
    origins: tuple[str, ...] = ()
    thumbnails: str | None = None

    @property
    def needs_token(self) -> bool:
        """Whether requests must carry the token: always when a token is set."""
        return self.token is not None

    def to_environment(self) -> dict[str, str]:
        """The environment variables a worker process reads the settings from."""
        values = asdict(self)
        token = values.pop("token")
        environment = {ENV_SETTINGS: json.dumps(values)}
        if token is not None:
            environment[ENV_TOKEN] = token
        return environment

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> ServerSettings:
        """The settings a parent process wrote with :meth:`to_environment`."""
        values: dict[str, Any] = json.loads(environ.get(ENV_SETTINGS, "{}"))
        for name in ("folders", "origins"):
            values[name] = tuple(values.get(name, ()))
        return cls(**values, token=environ.get(ENV_TOKEN) or None)
