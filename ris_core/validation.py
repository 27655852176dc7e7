"""Checks on the scalar arguments of the public API, shared by every backend.

Ids may be plain names or relative paths (``holiday/beach.jpg``: that is what
``ris index`` produces, and what Aspose's storage paths look like) but never something
that could step outside a folder: no ``..`` or ``.`` segments, no leading ``/``, no
backslashes or drive letters, no control characters (C0, DEL and C1: U+0000-U+001F,
U+007F-U+009F), and only valid text (no lone surrogates, which is how Python carries the
undecodable bytes of a file name).
"""

from __future__ import annotations

import math
import re
from typing import Any

from ris_core.errors import InvalidCountError, InvalidIdError, InvalidThresholdError

__all__ = ["MAX_ID_LENGTH", "check_id", "check_max_count", "check_threshold"]

MAX_ID_LENGTH = 512
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\\]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def check_id(value: Any, kind: str = "image") -> str:
    """Return ``value`` if it is a valid id, else raise :class:`InvalidIdError`.

    ``kind`` names what the id is for ("image", "context", "tag", "collection") so the
    message says which argument was wrong.
    """
    if not isinstance(value, str):
        raise InvalidIdError(f"{kind} id must be a string, not {type(value).__name__}")
    if not value or value.strip() != value:
        raise InvalidIdError(f"{kind} id {value!r} is empty or has surrounding whitespace")
    if len(value) > MAX_ID_LENGTH:
        raise InvalidIdError(f"{kind} id is {len(value)} characters long; the limit is {MAX_ID_LENGTH}")
    if _FORBIDDEN.search(value):
        raise InvalidIdError(f"{kind} id {value!r} contains a backslash or a control character")
    if _SURROGATE.search(value):
        raise InvalidIdError(
            f"{kind} id {value!r} is not valid text: it holds a lone surrogate (a file name that is not UTF-8?)"
        )
    if value.startswith("/") or re.match(r"^[A-Za-z]:", value):
        raise InvalidIdError(f"{kind} id {value!r} is an absolute path; use a relative name")
    segments = value.split("/")
    if any(segment in ("", ".", "..") for segment in segments):
        raise InvalidIdError(f"{kind} id {value!r} is path-like: empty, '.' and '..' segments are not allowed")
    return value


def check_threshold(value: Any) -> float:
    """Return ``value`` as a float if it is a similarity threshold between 0 and 100."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidThresholdError(f"similarity threshold must be a number from 0 to 100, not {type(value).__name__}")
    threshold = float(value)
    if not math.isfinite(threshold) or not 0.0 <= threshold <= 100.0:
        raise InvalidThresholdError(f"similarity threshold must be from 0 to 100, got {value!r}")
    return threshold


def check_max_count(value: Any) -> int:
    """Return ``value`` if it is a positive integer result count."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidCountError(f"max_count must be a positive integer, not {type(value).__name__}")
    if value < 1:
        raise InvalidCountError(f"max_count must be at least 1, got {value}")
    return value
