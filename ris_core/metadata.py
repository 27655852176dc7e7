"""Per-image metadata: checking it, and turning a metadata filter into SQL.

Metadata is any JSON object (a mapping with string keys whose values ``json.dumps``
accepts, NaN excluded). A filter (``where=``) is a mapping from top-level keys to a value
(equality) or to operators, all of which must hold::

    {"camera": "X100", "year": {"$gte": 2020, "$lt": 2024}, "tags": {"$contains": "cat"}}

``$eq $ne $gt $gte $lt $lte`` compare one scalar (a string, number, boolean or null;
order operators take strings or numbers, and compare only values of the same kind),
``$in $nin`` a list of scalars, ``$exists`` a boolean, ``$contains`` a scalar that must
be an element of an array value. An image without the key matches only ``$ne``,
``$nin`` and ``$exists: false``. The filter runs in SQLite's JSON functions, so it
selects candidates before any search rather than trimming results after it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from ris_core.errors import InvalidMetadataError

__all__ = ["MAX_METADATA_BYTES", "compile_filter", "dump_metadata", "load_metadata"]

MAX_METADATA_BYTES = 1_000_000

_ORDER = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_KNOWN = {"$eq", "$ne", "$in", "$nin", "$exists", "$contains", *_ORDER}


def dump_metadata(metadata: Any) -> str:
    """The metadata as compact JSON text, or InvalidMetadataError saying what is wrong."""
    if not isinstance(metadata, Mapping):
        raise InvalidMetadataError(f"metadata must be a mapping (a JSON object), not {type(metadata).__name__}")
    if not all(isinstance(key, str) for key in metadata):
        raise InvalidMetadataError("metadata keys must be strings")
    try:
        text = json.dumps(dict(metadata), allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise InvalidMetadataError(f"metadata is not JSON-serialisable: {exc}") from exc
    if len(text.encode()) > MAX_METADATA_BYTES:
        raise InvalidMetadataError(f"metadata is over {MAX_METADATA_BYTES:,} bytes as JSON")
    return text


def load_metadata(text: str | None) -> dict[str, Any]:
    """Stored JSON text back to a dict; no metadata is an empty dict."""
    return {} if text is None else dict(json.loads(text))


def _is_scalar(value: Any) -> bool:
    if isinstance(value, float) and not math.isfinite(value):
        return False
    return value is None or isinstance(value, str | int | float | bool)


def _path(key: Any) -> str:
    if not isinstance(key, str) or not key or '"' in key:
        raise InvalidMetadataError(f"filter key {key!r} must be a non-empty string without '\"'")
    return f'$."{key}"'


def _equals(column: str, path: str, value: Any, params: list[Any]) -> str:
    """An expression true when the value at ``path`` is ``value`` (NULL when missing)."""
    if not _is_scalar(value):
        raise InvalidMetadataError(f"filter values must be strings, numbers, booleans or null, not {value!r}")
    params.append(path)
    if value is None or isinstance(value, bool):
        params.append("null" if value is None else ("true" if value else "false"))
        return f"json_type({column}, ?) = ?"
    params.extend([path, value])
    kinds = "('text')" if isinstance(value, str) else "('integer', 'real')"
    return f"(json_type({column}, ?) IN {kinds} AND json_extract({column}, ?) = ?)"


def _operator(column: str, path: str, operator: str, operand: Any, params: list[Any]) -> str:
    if operator == "$eq":
        return f"COALESCE({_equals(column, path, operand, params)}, 0)"
    if operator == "$ne":
        return f"COALESCE({_equals(column, path, operand, params)}, 0) = 0"
    if operator in ("$in", "$nin"):
        if not isinstance(operand, list | tuple) or not operand:
            raise InvalidMetadataError(f"{operator} needs a non-empty list of values")
        either = " OR ".join(f"COALESCE({_equals(column, path, v, params)}, 0)" for v in operand)
        return f"({either})" if operator == "$in" else f"NOT ({either})"
    if operator == "$exists":
        if not isinstance(operand, bool):
            raise InvalidMetadataError("$exists needs true or false")
        params.append(path)
        return f"json_type({column}, ?) IS {'NOT ' if operand else ''}NULL"
    if operator == "$contains":
        if not _is_scalar(operand) or operand is None or isinstance(operand, bool):
            raise InvalidMetadataError("$contains needs a string or a number")
        params.extend([path, operand])
        return (
            f"EXISTS (SELECT 1 FROM json_each({column}, ?) AS element "
            f"WHERE element.type IN ('text', 'integer', 'real') AND element.value = ?)"
        )
    if operator in _ORDER:
        if isinstance(operand, bool) or not isinstance(operand, str | int | float) or not _is_scalar(operand):
            raise InvalidMetadataError(f"{operator} needs a string or a number, not {operand!r}")
        kinds = "('text')" if isinstance(operand, str) else "('integer', 'real')"
        params.extend([path, path, operand])
        return f"COALESCE(json_type({column}, ?) IN {kinds} AND json_extract({column}, ?) {_ORDER[operator]} ?, 0)"
    raise InvalidMetadataError(f"unknown filter operator {operator!r}; known: {', '.join(sorted(_KNOWN))}")


def compile_filter(where: Any, column: str = "metadata") -> tuple[str, list[Any]]:
    """A SQL condition over the JSON ``column`` and its parameters, for a filter."""
    if not isinstance(where, Mapping):
        raise InvalidMetadataError(f"a metadata filter must be a mapping, not {type(where).__name__}")
    clauses: list[str] = []
    params: list[Any] = []
    for key, condition in where.items():
        path = _path(key)
        if isinstance(condition, Mapping) and condition and all(str(op).startswith("$") for op in condition):
            clauses.extend(_operator(column, path, str(op), operand, params) for op, operand in condition.items())
        else:
            clauses.append(_operator(column, path, "$eq", condition, params))
    return (" AND ".join(clauses) or "1"), params
