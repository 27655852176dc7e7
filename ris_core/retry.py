"""One retry policy for every backend: exponential backoff with full jitter and a cap.

A failure is retried only if it is a :class:`~ris_core.errors.BackendError` whose
``transient`` flag the backend set (a dropped connection, 429, 5xx); a server's
``Retry-After`` (``BackendError.retry_after``) replaces the computed delay when longer.
Backends that retry per request themselves (``Backend.manages_retries``) run this same
policy inside; for the others the core wraps every call in it.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ris_core.errors import BackendError

__all__ = ["NO_RETRY", "RetryPolicy", "RetryingBackend"]

logger = logging.getLogger("ris_core.retry")

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry transient backend failures.

    ``attempts`` counts the first try (1 means never retry). The n-th retry waits a
    random time in ``[0, min(max_delay, base_delay * multiplier ** (n - 1))]`` ("full
    jitter"), or the server's Retry-After if that is longer, but never more than
    ``max_delay``.
    """

    attempts: int = 4
    base_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 30.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.multiplier < 1:
            raise ValueError("delays must be >= 0 and the multiplier >= 1")

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * self.multiplier ** (retry - 1))
        chosen = self.random() * ceiling
        if retry_after is not None:
            chosen = max(chosen, retry_after)
        return min(chosen, self.max_delay)

    def call(self, operation: Callable[[], T], description: str = "call") -> T:
        """Run ``operation``, retrying transient BackendErrors; re-raise the last one."""
        for attempt in range(1, self.attempts + 1):
            try:
                return operation()
            except BackendError as exc:
                if not exc.transient or attempt == self.attempts:
                    raise
                wait = self.delay(attempt, exc.retry_after)
                logger.warning(
                    "%s failed (attempt %d of %d): %s; retrying in %.2f s",
                    description,
                    attempt,
                    self.attempts,
                    exc,
                    wait,
                )
                self.sleep(wait)
        raise AssertionError("unreachable: the loop returns or raises")


#: No retries at all, for tests and for callers that retry themselves.
NO_RETRY = RetryPolicy(attempts=1)


class RetryingBackend:
    """A backend whose every operation runs under a retry policy.

    The core wraps backends that do not retry per request themselves
    (``manages_retries = False``); attributes and ``close`` pass straight through.
    A retried write that had in fact succeeded is safe: the core completes an add
    the backend already holds, and treats a delete of a missing image as done.
    """

    def __init__(self, backend: Any, policy: RetryPolicy) -> None:
        self.wrapped = backend
        self.policy = policy

    def __getattr__(self, name: str) -> Any:
        value = getattr(self.wrapped, name)
        if name.startswith("_") or name == "close" or not callable(value):
            return value

        @functools.wraps(value)
        def retried(*args: Any, **kwargs: Any) -> Any:
            return self.policy.call(lambda: value(*args, **kwargs), f"{self.wrapped.name}.{name}")

        return retried
