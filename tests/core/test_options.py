"""Typed backend options: the same value from Python, from ``-o KEY=VALUE`` and from the environment."""

from __future__ import annotations

import math

import pytest

from ris_core import options
from ris_core.errors import ConfigurationError


@pytest.mark.parametrize(
    ("given", "seconds"),
    [(3, 3.0), ("3", 3.0), ("2.5s", 2.5), ("15m", 900.0), ("1h30m", 5400.0), ("250ms", 0.25), (" 2 h ", 7200.0)],
)
def test_durations_read_numbers_and_units(given: object, seconds: float) -> None:
    assert options.duration("timeout", given) == seconds


@pytest.mark.parametrize("given", ["soon", "3x", "-1", "0", "", "1h-2m", math.inf, True, None])
def test_bad_durations_name_the_option(given: object) -> None:
    with pytest.raises(ConfigurationError, match="timeout"):
        options.duration("timeout", given)


@pytest.mark.parametrize(
    ("given", "flag"),
    [
        (True, True),
        ("yes", True),
        ("ON", True),
        ("1", True),
        ("false", False),
        ("no", False),
        ("off", False),
        ("0", False),
    ],
)
def test_booleans_read_the_usual_words(given: object, flag: bool) -> None:
    assert options.boolean("sweep", given) is flag


@pytest.mark.parametrize("given", ["maybe", 1, None, ""])
def test_bad_booleans_are_refused(given: object) -> None:
    with pytest.raises(ConfigurationError, match="sweep"):
        options.boolean("sweep", given)


def test_numbers_and_integers_from_text_with_bounds() -> None:
    assert options.number("threshold", "65", minimum=0, maximum=100) == 65.0
    assert options.integer("max_fetch", "10_000") == 10_000 and options.integer("max_fetch", 7) == 7
    for bad in ("101", "nan", True):
        with pytest.raises(ConfigurationError, match="threshold"):
            options.number("threshold", bad, minimum=0, maximum=100)
    for bad in ("2.5", "0", 2.5, False):
        with pytest.raises(ConfigurationError, match="max_fetch"):
            options.integer("max_fetch", bad)
