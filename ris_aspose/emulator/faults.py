"""Faults the emulator injects on demand, to exercise a client's resilience.

=================  ==============================================================
kind               what the matching request gets
=================  ==============================================================
``unauthorized``   401 ``{"error": {"code": "Unauthorized"}}`` (as for an expired token)
``rate_limit``     429 with ``Retry-After: <retry_after>`` (default 1 second)
``server_error``   ``status`` (default 500) with an error body
``stall``          no answer for ``seconds`` (default 30), then the normal answer
``drop``           the connection is closed without any answer
``malformed_json`` the request is carried out, but a 2xx answer's body is garbled
``busy``           a status request answers ``ExtractingFeatures``
``error``          ``status`` (default 400) with ``{"error": {"code": <code>,
                   "message": <message>}}``, to try codes a client has never seen
``slow``           the request is carried out after ``seconds`` (default 1), while
                   its context reports itself busy (``Searching``...)
``sloppy_cut``     a search cut to ``maxCount`` keeps the *worst* matches above the
                   threshold, as an approximate matcher may
=================  ==============================================================

Each fault applies to the next ``times`` requests (default 1) whose path contains
``path`` and whose method is ``method``, when given; ``busy`` only ever matches status
requests. ``expire_tokens`` is not queued: it revokes every token issued so far, so
the next API call answers 401 until the client requests a new token.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["KINDS", "Fault", "FaultQueue"]

KINDS = (
    "unauthorized",
    "rate_limit",
    "server_error",
    "stall",
    "drop",
    "malformed_json",
    "busy",
    "error",
    "slow",
    "sloppy_cut",
)


@dataclass
class Fault:
    """One injected fault and how many more requests it will hit."""

    kind: str
    times: int = 1
    path: str | None = None
    method: str | None = None
    status: int | None = None
    retry_after: float | None = None
    seconds: float | None = None
    code: str | None = None
    message: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(KINDS)} and expire_tokens")
        if self.times < 1:
            raise ValueError("times must be at least 1")
        if self.kind == "busy" and self.path is None:
            self.path = "/status"

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to a request."""
        if self.method is not None and self.method.upper() != method:
            return False
        return self.path is None or self.path in path

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description."""
        return asdict(self)


class FaultQueue:
    """Faults waiting for their requests, first injected first used."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> Fault:
        """Queue a fault."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        """The first fault matching the request, with one use consumed."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    def clear(self) -> None:
        """Forget every queued fault."""
        with self._lock:
            self._faults.clear()

    def pending(self) -> list[Fault]:
        """The faults still queued."""
        with self._lock:
            return list(self._faults)
