"""The ``aspose`` backend's options: their help text, defaults, checks, and the secret.

Credentials come from the ``client_id`` / ``client_secret`` options or else from the
``ASPOSE_CLIENT_ID`` / ``ASPOSE_CLIENT_SECRET`` environment variables. The secret lives
in a :class:`Secret`, whose ``repr`` and ``str`` never show it, so it cannot leak
through a log line, an exception message or a debugger's view of the settings.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ris_core.errors import ConfigurationError

__all__ = ["CONTEXT_OPTIONS", "DEFAULT_BASE_URL", "OPTIONS", "AsposeSettings", "Secret"]

DEFAULT_BASE_URL = "https://api.aspose.cloud"
ID_VARIABLE = "ASPOSE_CLIENT_ID"
SECRET_VARIABLE = "ASPOSE_CLIENT_SECRET"

#: What ``ris_core.open("aspose", ...)`` accepts, with a line of help each.
OPTIONS: Mapping[str, str] = {
    "client_id": f"Aspose Cloud client id (default ${ID_VARIABLE})",
    "client_secret": f"Aspose Cloud client secret (default ${SECRET_VARIABLE}); never logged or shown",
    "base_url": f"API host (default {DEFAULT_BASE_URL}); point it at an emulator or an on-premise server",
    "storage": "storage name (default: the account's default storage)",
    "folder": "storage folder holding contexts, images and scratch files (default 'ris')",
    "timeout": "seconds to wait for each HTTP connection and response (default 60)",
    "status_timeout": "seconds to wait for a context to become idle after a write (default 300)",
    "poll_interval": "longest pause between context status polls, in seconds (default 1)",
    "max_fetch": "largest result count asked of the service when over-fetching (default 10000)",
    "default_threshold": "similarity threshold (0-100) when a search gives none (default 70)",
    "duplicate_threshold": "threshold (0-100) find_duplicates uses when none is given (default 85)",
}

#: What ``create_context`` accepts.
CONTEXT_OPTIONS: Mapping[str, str] = {
    "detector": "feature detector, sent as given (the service's default, 'akaze', is the only one Aspose documents)",
    "matching_algorithm": "matching algorithm, sent as given (the service's default is 'randomBinaryTree')",
}


class Secret:
    """A string that never shows itself in ``repr``, ``str`` or formatting."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one place that sends it."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        # Pickling would copy the secret to wherever the pickle goes.
        raise TypeError("a Secret cannot be pickled")


@dataclass(frozen=True)
class AsposeSettings:
    """Checked backend options. ``client_secret`` is a :class:`Secret`."""

    client_id: str
    client_secret: Secret = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    storage: str | None = None
    folder: str = "ris"
    timeout: float = 60.0
    status_timeout: float = 300.0
    poll_interval: float = 1.0
    max_fetch: int = 10_000
    default_threshold: float = 70.0
    duplicate_threshold: float = 85.0

    @property
    def on_premise(self) -> bool:
        """No credentials and a custom host: an on-premise server that needs no token."""
        return not self.client_id and not self.client_secret

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> AsposeSettings:
        """Build settings from backend options and the environment, or raise
        ConfigurationError saying which option is wrong (never echoing the secret)."""
        client_id = _text(options, "client_id") or os.environ.get(ID_VARIABLE, "")
        secret = _text(options, "client_secret") or os.environ.get(SECRET_VARIABLE, "")
        base_url = _text(options, "base_url") or DEFAULT_BASE_URL
        if bool(client_id) != bool(secret):
            missing = "client_secret" if client_id else "client_id"
            raise ConfigurationError(
                f"the aspose backend got only half of its credentials: {missing} is missing "
                f"(pass it, or set ${ID_VARIABLE} and ${SECRET_VARIABLE})"
            )
        if not client_id and base_url == DEFAULT_BASE_URL:
            raise ConfigurationError(
                "the aspose backend needs credentials: pass client_id= and client_secret=, "
                f"or set ${ID_VARIABLE} and ${SECRET_VARIABLE}"
            )
        folder = (_text(options, "folder") if options.get("folder") is not None else "ris").strip("/")
        return cls(
            client_id=client_id,
            client_secret=Secret(secret),
            base_url=base_url.rstrip("/"),
            storage=_text(options, "storage") or None,
            folder=folder,
            timeout=_positive(options, "timeout", 60.0),
            status_timeout=_positive(options, "status_timeout", 300.0),
            poll_interval=_positive(options, "poll_interval", 1.0),
            max_fetch=int(_positive(options, "max_fetch", 10_000)),
            default_threshold=_threshold(options, "default_threshold", 70.0),
            duplicate_threshold=_threshold(options, "duplicate_threshold", 85.0),
        )


def _text(options: Mapping[str, Any], name: str) -> str:
    value = options.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ConfigurationError(f"aspose option {name} must be a string, not {type(value).__name__}")
    return value


def _positive(options: Mapping[str, Any], name: str, default: float) -> float:
    value = options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0 or not math.isfinite(value):
        raise ConfigurationError(f"aspose option {name} must be a positive number, got {value!r}")
    return float(value)


def _threshold(options: Mapping[str, Any], name: str, default: float) -> float:
    value = options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
        raise ConfigurationError(f"aspose option {name} must be a number from 0 to 100, got {value!r}")
    return float(value)
