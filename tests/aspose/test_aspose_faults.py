"""Every fault the emulator injects, and the resilience rule it exercises.

Rules (``ris_aspose.client`` and ``ris_aspose.translate``): connection errors, timeouts,
429 and 5xx are retried by the backend's RetryPolicy (429 waits Retry-After); 401
renews the token once; other 4xx are never retried; a failed token request leaves
later URLs intact; writes wait until the context is idle (and return pending after
``status_timeout``, never undone). Each test counts the requests the emulator saw.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ris_aspose.emulator import Emulator
from ris_core import errors
from ris_core.context import SearchContext
from ris_core.retry import RetryPolicy
from ris_core.system import ImageSearch
from ris_core.testing.contract.base import photo_bytes

OpenSystem = Callable[..., ImageSearch]
SEARCH = "/findSimilar"
TOKEN = "/connect/token"


def _count(emulator: Emulator, path: str) -> int:
    return sum(1 for request in emulator.requests if path in request.path)


def _recording(attempts: int = 3, max_delay: float = 30.0) -> tuple[RetryPolicy, list[float]]:
    """A policy that records its waits instead of sleeping."""
    waits: list[float] = []
    return RetryPolicy(attempts=attempts, base_delay=0.001, max_delay=max_delay, sleep=waits.append), waits


@pytest.fixture
def photos(system: ImageSearch) -> SearchContext:
    context = system.create_context("photos")
    context.add_image("a", photo_bytes(1))
    context.add_image("b", photo_bytes(2))
    return context


def _search(context: SearchContext) -> list[Any]:
    return context.find_similar_images("a", threshold=0)


# --- 401 and tokens ----------------------------------------------------------------


def test_expired_token_is_renewed_once_and_the_call_succeeds(emulator: Emulator, photos: SearchContext) -> None:
    tokens = _count(emulator, TOKEN)
    emulator.inject("expire_tokens")
    assert [r.image_id for r in _search(photos)] == ["b"]
    assert _count(emulator, TOKEN) == tokens + 1
    assert [r.status for r in emulator.requests if SEARCH in r.path] == [401, 200]


def test_unauthorized_answer_renews_the_token_once(emulator: Emulator, photos: SearchContext) -> None:
    tokens = _count(emulator, TOKEN)
    emulator.inject("unauthorized", path=SEARCH)
    assert [r.image_id for r in _search(photos)] == ["b"]
    assert _count(emulator, TOKEN) == tokens + 1


def test_a_second_401_is_an_authentication_error_without_retries(emulator: Emulator, photos: SearchContext) -> None:
    tokens, searches = _count(emulator, TOKEN), _count(emulator, SEARCH)
    emulator.inject("unauthorized", path=SEARCH, times=10)
    with pytest.raises(errors.AuthenticationError) as caught:
        _search(photos)
    assert caught.value.status == 401 and caught.value.code == "Unauthorized"
    assert not caught.value.transient
    assert _count(emulator, SEARCH) == searches + 2  # the call and its one retry with a new token
    assert _count(emulator, TOKEN) == tokens + 1


def test_refused_credentials_fail_at_once(open_system: OpenSystem) -> None:
    with Emulator(credentials=("right-id", "right-secret")) as strict:
        system = open_system(base_url=strict.url)
        with pytest.raises(errors.AuthenticationError) as caught:
            system.create_context("x")
        assert caught.value.status == 400 and caught.value.code == "invalid_client"
        assert _count(strict, TOKEN) == 1
        assert "client_secret" in str(caught.value)  # it says what to check, never the value


def test_failed_token_request_is_retried(emulator: Emulator, open_system: OpenSystem) -> None:
    emulator.inject("server_error", path=TOKEN)
    system = open_system()
    system.create_context("x")
    assert [r.status for r in emulator.requests if TOKEN in r.path] == [500, 200]


def test_a_failed_token_request_does_not_break_later_urls(emulator: Emulator, open_system: OpenSystem) -> None:
    """The SDK blanks api_version during its token call and never restores it on failure."""
    emulator.inject("server_error", path=TOKEN, times=3)
    system = open_system()
    with pytest.raises(errors.ServiceUnavailableError):
        system.create_context("x")
    assert system.backend.client.configuration.api_version == "/v3.0"  # type: ignore[attr-defined]
    context = system.create_context("y")
    context.add_image("a", photo_bytes(1))
    api_paths = [r.path for r in emulator.requests if TOKEN not in r.path]
    assert api_paths and all(path.startswith("/v3.0/imaging/") for path in api_paths)


# --- 429, 5xx and other statuses ---------------------------------------------------


def test_rate_limit_waits_retry_after_then_succeeds(emulator: Emulator, photos: SearchContext) -> None:
    policy, waits = _recording()
    photos.system.backend.retry_policy = policy
    emulator.inject("rate_limit", path=SEARCH, times=2, retry_after=2)
    assert [r.image_id for r in _search(photos)] == ["b"]
    assert waits == [2.0, 2.0]
    assert [r.status for r in emulator.requests if SEARCH in r.path] == [429, 429, 200]


def test_retry_after_is_not_capped_by_the_policys_backoff(emulator: Emulator, photos: SearchContext) -> None:
    policy, waits = _recording(max_delay=0.5)  # caps the computed backoff only
    photos.system.backend.retry_policy = policy
    emulator.inject("rate_limit", path=SEARCH, retry_after=20)
    _search(photos)
    assert waits == [20.0]  # retry_after_cap (default 120 s) is the cap for what the server asks


def test_persistent_rate_limit_ends_in_service_unavailable(emulator: Emulator, photos: SearchContext) -> None:
    policy, waits = _recording(attempts=4)
    photos.system.backend.retry_policy = policy
    emulator.inject("rate_limit", path=SEARCH, times=10, retry_after=1)
    with pytest.raises(errors.ServiceUnavailableError) as caught:
        _search(photos)
    assert (caught.value.status, caught.value.code, caught.value.retry_after) == (429, "TooManyRequests", 1.0)
    assert caught.value.transient
    assert _count(emulator, SEARCH) == 4 and len(waits) == 3


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_error_is_retried_then_succeeds(emulator: Emulator, photos: SearchContext, status: int) -> None:
    emulator.inject("server_error", path=SEARCH, status=status)
    assert [r.image_id for r in _search(photos)] == ["b"]
    assert [r.status for r in emulator.requests if SEARCH in r.path] == [status, 200]


def test_persistent_server_error_ends_after_the_policy_attempts(emulator: Emulator, photos: SearchContext) -> None:
    emulator.inject("server_error", path=SEARCH, times=10)
    with pytest.raises(errors.ServiceUnavailableError) as caught:
        _search(photos)
    assert (caught.value.status, caught.value.code) == (500, "InternalServerError")
    assert _count(emulator, SEARCH) == 3  # FAST_RETRY.attempts


@pytest.mark.parametrize("status", [400, 403, 409, 422])
def test_other_client_errors_are_never_retried(emulator: Emulator, photos: SearchContext, status: int) -> None:
    emulator.inject("server_error", path=SEARCH, status=status, times=10)
    with pytest.raises(errors.BackendError) as caught:
        _search(photos)
    assert caught.value.status == status and not caught.value.transient
    assert _count(emulator, SEARCH) == 1


def test_not_found_is_a_typed_error_without_retries(emulator: Emulator, photos: SearchContext) -> None:
    with pytest.raises(errors.ImageNotFoundError):
        photos.system.backend.get_image(photos.ref, "missing")
    assert [r.status for r in emulator.requests if r.path.endswith("/image")][-1:] == [404]
    assert sum(1 for r in emulator.requests if r.path.endswith("/image") and r.method == "GET") == 1


# --- transport failures ------------------------------------------------------------


def test_stalled_answer_times_out_and_the_retry_succeeds(emulator: Emulator, open_system: OpenSystem) -> None:
    system = open_system(timeout=0.5)
    context = system.create_context("photos")
    context.add_image("a", photo_bytes(1))
    emulator.inject("stall", path=SEARCH, seconds=3)
    assert _search(context) == []
    assert [r.fault for r in emulator.requests if SEARCH in r.path] == ["stall", None]


def test_persistent_stall_ends_in_a_timeout_error(emulator: Emulator, open_system: OpenSystem) -> None:
    system = open_system(timeout=0.3, retry=RetryPolicy(attempts=2, base_delay=0.001, max_delay=0.01))
    context = system.create_context("photos")
    emulator.inject("stall", path="/status", seconds=3, times=5)
    with pytest.raises(errors.BackendTimeoutError) as caught:
        context.status()
    assert caught.value.transient and caught.value.status is None
    assert _count(emulator, "/status") == 2


def test_slow_answer_within_the_timeout_is_not_retried(emulator: Emulator, photos: SearchContext) -> None:
    emulator.inject("stall", path=SEARCH, seconds=0.2)
    _search(photos)
    assert _count(emulator, SEARCH) == 1


def test_dropped_connection_is_retried_then_succeeds(emulator: Emulator, photos: SearchContext) -> None:
    emulator.inject("drop", path=SEARCH)
    assert [r.image_id for r in _search(photos)] == ["b"]
    assert [r.status for r in emulator.requests if SEARCH in r.path] == [None, 200]


def test_persistent_drops_end_in_service_unavailable(emulator: Emulator, photos: SearchContext) -> None:
    emulator.inject("drop", path=SEARCH, times=10)
    with pytest.raises(errors.ServiceUnavailableError) as caught:
        _search(photos)
    assert caught.value.status is None and caught.value.transient
    assert _count(emulator, SEARCH) == 3


def test_unreachable_service_is_service_unavailable(open_system: OpenSystem) -> None:
    stopped = Emulator()  # bound, never started, then closed: its port refuses connections
    url = stopped.url
    stopped.stop()
    system = open_system(base_url=url)
    with pytest.raises(errors.ServiceUnavailableError) as caught:
        system.create_context("x")
    assert "cannot connect" in str(caught.value)
    assert isinstance(caught.value.__cause__, Exception)


# --- garbled answers ---------------------------------------------------------------


def test_malformed_json_is_retried_then_succeeds(emulator: Emulator, photos: SearchContext) -> None:
    emulator.inject("malformed_json", path=SEARCH)
    assert [r.image_id for r in _search(photos)] == ["b"]
    assert [r.fault for r in emulator.requests if SEARCH in r.path] == ["malformed_json", None]


def test_persistent_malformed_json_is_a_backend_error(emulator: Emulator, photos: SearchContext) -> None:
    emulator.inject("malformed_json", path="/features", times=10)
    with pytest.raises(errors.BackendError) as caught:
        photos.get_features("a")
    assert caught.value.code == "MalformedResponse"
    assert _count(emulator, "/features") == 3


# --- asynchronous status -----------------------------------------------------------


def test_writes_wait_while_the_context_is_busy(emulator: Emulator, photos: SearchContext) -> None:
    statuses = _count(emulator, "/status")
    emulator.inject("busy", times=3)
    photos.add_image("c", photo_bytes(3))
    assert _count(emulator, "/status") == statuses + 4
    assert photos.status().is_idle


def test_a_context_that_stays_busy_keeps_the_accepted_add(emulator: Emulator, open_system: OpenSystem) -> None:
    system = open_system(status_timeout=0.2)
    context = system.create_context("photos")
    emulator.inject("busy", times=1000)
    context.add_image("a", photo_bytes(1))  # returns after status_timeout: pending, not undone
    assert "pending" in context.status().detail
    emulator.clear_faults()
    assert context.image_ids() == ["a"]
    assert any(path.endswith("/images/a") for path in emulator.storage_paths())
    assert context.status().is_idle


def test_wait_until_idle_polls_through_busy(emulator: Emulator, photos: SearchContext) -> None:
    emulator.inject("busy", times=2)
    assert photos.wait_until_idle(timeout=5, poll_interval=0.01).is_idle
