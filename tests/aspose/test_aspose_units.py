"""Pure pieces of the backend, without HTTP: exact ranking, error translation, the layout."""

from __future__ import annotations

import email.utils
import itertools
import random
import time

import pytest
import urllib3
from asposeimagingcloud.models import Error
from asposeimagingcloud.rest import ApiException

from ris_aspose.layout import StorageLayout
from ris_aspose.ranking import best_matches, merge_best, rank
from ris_aspose.translate import (
    ServiceRefusedError,
    parse_retry_after,
    translate_api_error,
    translate_transport_error,
)
from ris_core import errors
from ris_core.groups import connected_groups

# --- ranking -----------------------------------------------------------------------


class FakeService:
    """Answers like the service: the best ``limit`` scores >= threshold, ties in an
    arbitrary (but fixed) order, so truncation may cut a tie anywhere."""

    def __init__(self, scores: dict[str, float], seed: int) -> None:
        order = list(scores)
        random.Random(seed).shuffle(order)
        self.ranked = sorted(order, key=lambda image_id: -scores[image_id])  # stable: ties keep the shuffle
        self.scores = scores
        self.calls: list[int] = []

    def __call__(self, threshold: float, limit: int) -> list[tuple[str | None, float]]:
        self.calls.append(limit)
        found = [(i, self.scores[i]) for i in self.ranked if self.scores[i] >= threshold]
        return [(image_id, score) for image_id, score in found[:limit]]


@pytest.mark.parametrize("seed", range(20))
def test_best_matches_is_exact_whatever_order_the_service_answers_in(seed: int) -> None:
    rng = random.Random(seed)
    scores = {f"i{n:02d}": float(rng.choice([0, 10, 50, 50, 50, 75, 90, 100])) for n in range(30)}
    within = frozenset(rng.sample(sorted(scores), 12))
    exclude = rng.choice(sorted(scores))
    for max_count, threshold in itertools.product((1, 3, 7, 40), (0.0, 50.0)):
        service = FakeService(scores, seed)

        def keep(image_id: str) -> bool:
            return image_id in within and image_id != exclude

        found = best_matches(service, threshold, max_count, keep, 1000)
        expected = rank((i, s) for i, s in scores.items() if keep(i) and s >= threshold)[:max_count]
        assert found == expected and service.calls == [1000]


def test_best_matches_ignores_paths_that_are_not_ours() -> None:
    def fetch(threshold: float, limit: int) -> list[tuple[str | None, float]]:
        return [(None, 99.0), ("a", 50.0)]

    assert best_matches(fetch, 0.0, 5, lambda i: True, 100) == [("a", 50.0)]


def test_merge_best_keeps_each_image_once_at_its_best() -> None:
    merged = merge_best([[("a", 50.0), ("b", 40.0)], [("b", 90.0), ("c", 50.0)]], 2)
    assert merged == [("b", 90.0), ("a", 50.0)]


def test_connected_groups_are_components_ordered_by_id() -> None:
    groups = connected_groups([("d", "c"), ("e", "b"), ("c", "e"), ("g", "f")], "abcdefg")
    assert groups == [["b", "c", "d", "e"], ["f", "g"]]


# --- translation -------------------------------------------------------------------


def _api_exception(status: int, code: str | None = None) -> ApiException:
    error = Error(code=code, message="the service says no") if code else None
    return ApiException(f"{status} Error connecting to the API http://x/y?z; Message: Reason", status, error)


@pytest.mark.parametrize(
    ("status", "code", "expected", "transient"),
    [
        (401, "Unauthorized", errors.AuthenticationError, False),
        (403, None, errors.AuthenticationError, False),
        (404, "SearchContextNotFound", errors.ContextNotFoundError, False),
        (404, "FeaturesNotFound", errors.FeaturesNotFoundError, False),
        (404, "TagNotFound", errors.TagNotFoundError, False),
        (404, None, errors.ImageNotFoundError, False),
        (400, "InvalidImageFormat", errors.InvalidImageError, False),
        (400, "BadRequest", ServiceRefusedError, False),
        (409, "NeverSeenBefore", ServiceRefusedError, False),
        (408, None, errors.BackendTimeoutError, True),
        (429, "TooManyRequests", errors.ServiceUnavailableError, True),
        (500, None, errors.ServiceUnavailableError, True),
        (503, "Maintenance", errors.ServiceUnavailableError, True),
    ],
)
def test_api_exceptions_become_typed_errors(
    status: int, code: str | None, expected: type[Exception], transient: bool
) -> None:
    error = translate_api_error(_api_exception(status, code), "op", {"Retry-After": "7"}, errors.ImageNotFoundError)
    assert type(error) is expected
    if isinstance(error, errors.BackendError):
        assert (error.status, error.code, error.transient) == (status, code, transient)
        assert error.retry_after == (7.0 if status in (429, 500, 503) else None)
    assert "op: HTTP" in str(error)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (
            400,
            b'{"error": {"code": "E1", "message": "Search context abc does not exist"}}',
            errors.ContextNotFoundError,
        ),
        (500, b'{"Error": {"Code": "ItemNotFound", "Message": "no such image"}}', errors.ImageNotFoundError),
        (410, b'{"message": "tag t not found"}', errors.TagNotFoundError),
        (422, b'{"error": {"code": "E2", "message": "Image format is not supported"}}', errors.InvalidImageError),
        (400, b"<html>bad gateway</html>", ServiceRefusedError),
    ],
)
def test_errors_are_read_by_meaning_from_any_error_body(status: int, body: bytes, expected: type[Exception]) -> None:
    exc = ApiException(f"{status} Error connecting to the API u; Message: Reason", status)
    error = translate_api_error(exc, "op", {}, errors.ImageNotFoundError, body)
    assert type(error) is expected
    if isinstance(error, errors.BackendError):
        assert not error.transient
    if isinstance(error, ServiceRefusedError):
        assert error.status == status and error.body == {"text": body.decode()}


def test_an_exception_without_error_body_still_translates() -> None:
    error = translate_api_error(
        ApiException("502 Error connecting to the API u; Message: Bad Gateway", 502),
        "op",
        {},
        errors.ImageNotFoundError,
    )
    assert isinstance(error, errors.ServiceUnavailableError) and "Bad Gateway" in str(error) and error.code is None


def test_retry_after_accepts_seconds_and_dates() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.25") == 0.25
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    now = time.time()
    assert parse_retry_after(email.utils.formatdate(now + 30, usegmt=True), now) == pytest.approx(30, abs=1)
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now) == 0.0


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (urllib3.exceptions.NewConnectionError(None, "refused"), errors.ServiceUnavailableError),  # type: ignore[arg-type]
        (urllib3.exceptions.ReadTimeoutError(None, "u", "timed out"), errors.BackendTimeoutError),  # type: ignore[arg-type]
        (urllib3.exceptions.ConnectTimeoutError("slow"), errors.BackendTimeoutError),
        (urllib3.exceptions.ProtocolError("aborted"), errors.ServiceUnavailableError),
        (ConnectionResetError(), errors.ServiceUnavailableError),
        (urllib3.exceptions.SSLError("bad cert"), errors.BackendError),
    ],
)
def test_transport_errors_become_typed_errors(raised: Exception, expected: type[errors.BackendError]) -> None:
    error = translate_transport_error(raised, "op")
    assert type(error) is expected and error.status is None
    assert error.transient == (expected is not errors.BackendError)


# --- layout ------------------------------------------------------------------------


def test_layout_maps_ids_to_paths_and_back() -> None:
    layout = StorageLayout("ris")
    path = layout.image_path("ctx", "a/b c.png")
    assert path == "ris/ctx/images/a/b c.png"
    assert layout.image_id("ctx", path) == "a/b c.png"
    assert layout.image_id("other", path) is None and layout.image_id("ctx", "ris/ctx/scratch/x.png") is None
    assert StorageLayout("").image_path("ctx", "a") == "ctx/images/a"
    assert layout.tag_marker("ctx", "a") != layout.tag_marker("ctx", "a/b")
    scratch = layout.scratch_path("JPEG")
    assert scratch.startswith("ris/scratch/") and scratch.endswith(".jpg")


def test_scratch_names_say_when_they_were_made() -> None:
    layout = StorageLayout("ris")
    name = layout.scratch_path("PNG").rsplit("/", 1)[1]
    assert not layout.scratch_is_stale(name, 60)
    assert layout.scratch_is_stale(name, 60, now=time.time() + 61)
    assert not layout.scratch_is_stale("someone-elses-file.png", 0)


def test_answers_with_unknown_keys_are_malformed_not_none() -> None:
    """PascalCase keys (the old docs' style) leave every SDK field None: refused, not passed on."""
    from asposeimagingcloud.models import ImageFeatures, SearchContextStatus, SearchResultsSet

    from ris_aspose import responses

    for read, model in (
        (responses.results, SearchResultsSet()),
        (responses.context_id, SearchContextStatus()),
        (responses.status_text, SearchContextStatus()),
    ):
        with pytest.raises(errors.BackendError) as caught:
            read(model, "op")
        assert caught.value.code == "MalformedResponse" and caught.value.transient
    with pytest.raises(errors.BackendError):
        responses.features(ImageFeatures(image_id="x", features_count=1, feature_length_in_bits=8), "op")
