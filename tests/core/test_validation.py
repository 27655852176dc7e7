"""Argument checks shared by every backend."""

from __future__ import annotations

import math

import pytest

from ris_core import errors
from ris_core.validation import MAX_ID_LENGTH, check_id, check_max_count, check_threshold


@pytest.mark.parametrize("value", ["a", "a.jpg", "holiday/2024/a.jpg", "über café.png", "x" * MAX_ID_LENGTH])
def test_valid_ids(value: str) -> None:
    assert check_id(value) == value


@pytest.mark.parametrize(
    "value",
    [
        "",
        "..",
        ".",
        "../x",
        "a/../b",
        "a/./b",
        "/abs",
        "a//b",
        "a/",
        "C:/x",
        "c:x",
        "a\\b",
        "tab\there",
        "x" * (MAX_ID_LENGTH + 1),
        " lead",
        "trail ",
        None,
        3,
        b"bytes",
    ],
)
def test_invalid_ids(value: object) -> None:
    with pytest.raises(errors.InvalidIdError):
        check_id(value)


def test_id_errors_name_the_kind_of_id() -> None:
    with pytest.raises(errors.InvalidIdError, match="tag id"):
        check_id("../t", "tag")


@pytest.mark.parametrize("value", [0, 0.0, 50, 99.5, 100])
def test_valid_thresholds(value: float) -> None:
    assert check_threshold(value) == float(value)


@pytest.mark.parametrize("value", [-0.1, 100.01, math.nan, -math.inf, "50", True, None])
def test_invalid_thresholds(value: object) -> None:
    with pytest.raises(errors.InvalidThresholdError):
        check_threshold(value)


@pytest.mark.parametrize("value", [0, -5, 2.0, "1", False])
def test_invalid_counts(value: object) -> None:
    with pytest.raises(errors.InvalidCountError):
        check_max_count(value)


def test_errors_subclass_the_builtins_users_already_catch() -> None:
    assert issubclass(errors.InvalidIdError, ValueError)
    assert issubclass(errors.ImageNotFoundError, LookupError)
    assert issubclass(errors.UnknownBackendError, LookupError)
    assert issubclass(errors.BackendUnavailableError, ImportError)
    assert issubclass(errors.SourceNotFoundError, FileNotFoundError)
    assert issubclass(errors.ContextBusyError, TimeoutError)
