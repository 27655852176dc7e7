"""The ``aspose`` backend's options: their help text, defaults, checks, and the secret.

Every option comes from its keyword (``timeout=30``), from text (``-o timeout=30s`` on
the command line) or else from ``$ASPOSE_<NAME>`` (``ASPOSE_CLIENT_ID``,
``ASPOSE_TIMEOUT``...); each is parsed by its kind with :mod:`ris_core.options`. The secret lives
in a :class:`Secret`, whose ``repr`` and ``str`` never show it, so it cannot leak
through a log line, an exception message or a debugger's view of the settings.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ris_core import options as typed
from ris_core.errors import ConfigurationError

__all__ = ["CONTEXT_OPTIONS", "DEFAULT_BASE_URL", "OPTIONS", "AsposeSettings", "Secret"]

DEFAULT_BASE_URL = "https://api.aspose.cloud"
ID_VARIABLE = "ASPOSE_CLIENT_ID"
SECRET_VARIABLE = "ASPOSE_CLIENT_SECRET"

T = TypeVar("T")

#: What ``ris_core.open("aspose", ...)`` accepts, with a line of help each. Every option
#: may also come from ``$ASPOSE_<NAME>`` (``ASPOSE_TIMEOUT=30``); durations take 90, 90s,
#: 15m or 1h30m, booleans true/false, yes/no, on/off or 1/0.
OPTIONS: Mapping[str, str] = {
    "client_id": f"Aspose Cloud client id (default ${ID_VARIABLE})",
    "client_secret": f"Aspose Cloud client secret (default ${SECRET_VARIABLE}); never logged or shown",
    "base_url": f"API host (default {DEFAULT_BASE_URL}); point it at an emulator or an on-premise server",
    "storage": "storage name (default: the account's default storage)",
    "folder": "storage folder holding every file ris stores: images, tag markers, scratch files (default 'ris')",
    "timeout": "duration to wait for each HTTP connection and answer (default 60s)",
    "duplicates_timeout": "duration to wait for the one findDuplicates answer (default 15m)",
    "deadline": "total duration of one operation: requests, retries, waits and clean-ups (default 10m)",
    "retry_after_cap": "longest Retry-After wait honoured (default 120s)",
    "status_timeout": "duration a write waits for the context to become idle before it returns pending (default 5m)",
    "poll_interval": "longest pause between context status polls (default 1s)",
    "max_fetch": "result count asked of the service per search, ranked by ris itself (default 10000)",
    "default_threshold": "similarity threshold (0-100) when a search gives none (default 70)",
    "duplicate_threshold": "threshold (0-100) find_duplicates uses when none is given (default 85)",
    "sweep_scratch": "delete stale query scratch files on open and after searches (default true)",
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
    """Checked backend options. ``client_secret`` is a :class:`Secret`; durations are seconds."""

    client_id: str
    client_secret: Secret = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    storage: str | None = None
    folder: str = "ris"
    timeout: float = 60.0
    duplicates_timeout: float = 900.0
    deadline: float = 600.0
    retry_after_cap: float = 120.0
    status_timeout: float = 300.0
    poll_interval: float = 1.0
    max_fetch: int = 10_000
    default_threshold: float = 70.0
    duplicate_threshold: float = 85.0
    sweep_scratch: bool = True

    @property
    def on_premise(self) -> bool:
        """No credentials and a custom host: an on-premise server that needs no token."""
        return not self.client_id and not self.client_secret

    @classmethod
    def from_options(cls, given: Mapping[str, Any]) -> AsposeSettings:
        """Build settings from backend options and the environment, or raise
        ConfigurationError saying which option is wrong (never echoing the secret)."""
        options = {**_from_environment(), **{key: value for key, value in given.items() if value is not None}}
        client_id = _text(options, "client_id")
        secret = _text(options, "client_secret")
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
        defaults = cls("", Secret(""))

        def pick(name: str, parse: Callable[[str, Any], T]) -> T:
            return parse(f"aspose {name}", options[name]) if name in options else getattr(defaults, name)

        return cls(
            client_id=client_id,
            client_secret=Secret(secret),
            base_url=base_url.rstrip("/"),
            storage=_text(options, "storage") or None,
            folder=(_text(options, "folder") if "folder" in options else defaults.folder).strip("/"),
            timeout=pick("timeout", typed.duration),
            duplicates_timeout=pick("duplicates_timeout", typed.duration),
            deadline=pick("deadline", typed.duration),
            retry_after_cap=pick("retry_after_cap", typed.duration),
            status_timeout=pick("status_timeout", typed.duration),
            poll_interval=pick("poll_interval", typed.duration),
            max_fetch=pick("max_fetch", typed.integer),
            default_threshold=pick("default_threshold", _threshold),
            duplicate_threshold=pick("duplicate_threshold", _threshold),
            sweep_scratch=pick("sweep_scratch", typed.boolean),
        )


def _from_environment() -> dict[str, str]:
    """``$ASPOSE_<OPTION>`` for every option that is set (and not empty)."""
    found = {name: os.environ.get(f"ASPOSE_{name.upper()}", "") for name in OPTIONS}
    return {name: value for name, value in found.items() if value}


def _text(options: Mapping[str, Any], name: str) -> str:
    value = options.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ConfigurationError(f"aspose option {name} must be a string, not {type(value).__name__}")
    return value


def _threshold(name: str, value: Any) -> float:
    return typed.number(name, value, minimum=0, maximum=100)
