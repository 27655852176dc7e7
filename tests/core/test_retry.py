"""The one retry policy: what it retries, how long it waits, when it gives up."""

from __future__ import annotations

import pytest

from ris_core import errors
from ris_core.retry import RetryPolicy


class Flaky:
    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


def policy(waits: list[float], **kwargs: float) -> RetryPolicy:
    return RetryPolicy(sleep=waits.append, random=lambda: 1.0, **kwargs)  # type: ignore[arg-type]


def test_transient_errors_are_retried_with_growing_capped_delays() -> None:
    waits: list[float] = []
    flaky = Flaky([errors.BackendError("boom", transient=True)] * 3)
    assert policy(waits, attempts=4, base_delay=1, max_delay=3).call(flaky) == "ok"
    assert flaky.calls == 4
    assert waits == [1.0, 2.0, 3.0]


def test_retry_after_is_honoured_up_to_the_cap() -> None:
    waits: list[float] = []
    flaky = Flaky(
        [
            errors.BackendError("429", transient=True, retry_after=7),
            errors.BackendError("429", transient=True, retry_after=99),
        ]
    )
    policy(waits, attempts=3, base_delay=0.1, max_delay=10).call(flaky)
    assert waits == [7.0, 10.0]


def test_permanent_errors_are_not_retried() -> None:
    waits: list[float] = []
    flaky = Flaky([errors.BackendError("400", status=400)])
    with pytest.raises(errors.BackendError, match="400"):
        policy(waits).call(flaky)
    assert flaky.calls == 1 and waits == []


def test_other_errors_are_not_retried() -> None:
    flaky = Flaky([errors.ImageNotFoundError("gone")])
    with pytest.raises(errors.ImageNotFoundError):
        policy([]).call(flaky)
    assert flaky.calls == 1


def test_the_last_error_is_raised_after_every_attempt() -> None:
    waits: list[float] = []
    flaky = Flaky([errors.BackendError(f"try {n}", transient=True) for n in range(5)])
    with pytest.raises(errors.BackendError, match="try 2"):
        policy(waits, attempts=3).call(flaky)
    assert flaky.calls == 3 and len(waits) == 2


def test_jitter_stays_within_the_exponential_ceiling() -> None:
    policy_ = RetryPolicy(base_delay=1, multiplier=2, max_delay=100)
    for retry in range(1, 6):
        assert all(0 <= policy_.delay(retry) <= 2 ** (retry - 1) for _ in range(50))


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError):
        RetryPolicy(multiplier=0.5)
