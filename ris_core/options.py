"""Typed backend options: one parser per kind, for values from Python or from text.

Backend options arrive as Python values from ``ris_core.open(timeout=3)`` and as text
from the command line (``-o timeout=3``) or the environment. A backend declares each
option's kind by reading it through one of these parsers, so ``3``, ``"3"`` and
``"3s"`` mean the same thing everywhere, and a bad value is a ConfigurationError that
names the option::

    number("timeout", "2.5")        -> 2.5
    integer("max_fetch", "10_000")  -> 10000
    boolean("sweep", "no")          -> False     (true/false, yes/no, on/off, 1/0)
    duration("deadline", "1h30m")   -> 5400.0    (seconds; plain numbers are seconds)
"""

from __future__ import annotations

import math
import re
from typing import Any

from ris_core.errors import ConfigurationError

__all__ = ["boolean", "duration", "integer", "number"]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|min|s|m|h|d)")


def number(
    name: str, value: Any, *, minimum: float = -math.inf, maximum: float = math.inf, positive: bool = False
) -> float:
    """A finite float from a number or its text, within ``[minimum, maximum]``
    (and above 0 when ``positive``)."""
    if isinstance(value, str):
        try:
            value = float(value.strip().replace("_", ""))
        except ValueError:
            raise ConfigurationError(f"option {name} must be a number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigurationError(f"option {name} must be a number, got {value!r}")
    if positive and not value > 0:
        raise ConfigurationError(f"option {name} must be a positive number, got {value!r}")
    if not minimum <= value <= maximum:
        raise ConfigurationError(f"option {name} must be a number from {minimum:g} to {maximum:g}, got {value!r}")
    return float(value)


def integer(name: str, value: Any, *, minimum: int = 1) -> int:
    """An int of at least ``minimum`` from an int or its text (``"10_000"`` too)."""
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ConfigurationError(f"option {name} must be a whole number, got {value!r}") from None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigurationError(f"option {name} must be a whole number of at least {minimum}, got {value!r}")
    return value


def boolean(name: str, value: Any) -> bool:
    """A bool from a bool or from true/false, yes/no, on/off, 1/0 (any case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ConfigurationError(f"option {name} must be true or false (yes/no, on/off, 1/0), got {value!r}")


def duration(name: str, value: Any) -> float:
    """Positive seconds from a number, or text such as ``90``, ``90s``, ``15m``,
    ``1h30m`` or ``250ms``."""
    if isinstance(value, str):
        text = value.strip().lower()
        try:
            return number(name, text, positive=True)
        except ConfigurationError:
            pass
        parts = _DURATION_PART.findall(text)
        if not parts or _DURATION_PART.sub("", text).strip():
            raise ConfigurationError(
                f"option {name} must be a duration such as 90, 90s, 15m or 1h30m, got {value!r}"
            ) from None
        value = sum(float(amount) * _UNITS[unit] for amount, unit in parts)
    return number(name, value, positive=True)
