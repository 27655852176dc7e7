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

Limits, each refused with :class:`~ris_core.errors.InvalidMetadataError` naming it:

- metadata: at most :data:`MAX_METADATA_BYTES` as JSON, nested at most
  :data:`MAX_DEPTH` levels; integers within 64 bits (:data:`MIN_INTEGER` to
  :data:`MAX_INTEGER`, what SQLite stores); strings valid text (no lone surrogates);
- keys (top-level metadata keys and filter keys): 1 to :data:`MAX_KEY_LENGTH`
  characters, no control characters (C0, DEL, C1), no ``"``, valid text;
- filters: at most :data:`MAX_FILTER_TERMS` conditions, at most
  :data:`MAX_LIST_VALUES` values in one ``$in``/``$nin`` list, operands scalars (a
  filter is therefore at most two levels deep).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from ris_core.errors import InvalidMetadataError

__all__ = [
    "MAX_DEPTH",
    "MAX_FILTER_TERMS",
    "MAX_INTEGER",
    "MAX_KEY_LENGTH",
    "MAX_LIST_VALUES",
    "MAX_METADATA_BYTES",
    "MIN_INTEGER",
    "check_key",
    "compile_filter",
    "dump_metadata",
    "filter_conditions",
    "load_metadata",
]

MAX_METADATA_BYTES = 1_000_000
#: Levels of nesting in metadata (the object itself is level 1).
MAX_DEPTH = 32
#: Characters in a top-level key.
MAX_KEY_LENGTH = 256
#: SQLite integers are 64-bit; a larger one would lose digits or fail to bind.
MIN_INTEGER, MAX_INTEGER = -(2**63), 2**63 - 1
#: Conditions in one filter (keys, and operators under them).
MAX_FILTER_TERMS = 100
#: Values in one ``$in`` or ``$nin`` list (they go to SQLite as one JSON parameter).
MAX_LIST_VALUES = 10_000

_BAD_KEY = re.compile(r'[\x00-\x1f\x7f-\x9f"]')
_SURROGATE = re.compile("[\ud800-\udfff]")

_ORDER = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_KNOWN = {"$eq", "$ne", "$in", "$nin", "$exists", "$contains", *_ORDER}


def _describe(value: Any) -> str:
    """A short description of a value for a message (never a repr of a huge or deep one)."""
    if isinstance(value, str | int | float | bool) or value is None:
        text = repr(value)
        return text if len(text) <= 40 else text[:37] + "..."
    return f"a {type(value).__name__}"


def check_key(key: Any, what: str = "metadata key") -> str:
    """``key`` if it is a valid top-level key (see the module's limits), else InvalidMetadataError."""
    if not isinstance(key, str):
        raise InvalidMetadataError(f"{what} must be a string, not {_describe(key)}")
    if not key or len(key) > MAX_KEY_LENGTH:
        raise InvalidMetadataError(f"{what} must be 1 to {MAX_KEY_LENGTH} characters long")
    if _BAD_KEY.search(key):
        raise InvalidMetadataError(f"{what} {key!r} holds a control character or '\"'")
    if _SURROGATE.search(key):
        raise InvalidMetadataError(f"{what} {key!r} is not valid text (a lone surrogate)")
    return key


def _check_scalar(value: Any, where: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and not MIN_INTEGER <= value <= MAX_INTEGER:
        raise InvalidMetadataError(f"{where}: integer {_describe(value)} is outside the 64-bit range ris stores")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidMetadataError(f"{where}: {value!r} is not a JSON number")
    if isinstance(value, str) and _SURROGATE.search(value):
        raise InvalidMetadataError(f"{where}: string {_describe(value)} is not valid text (a lone surrogate)")


def _check_tree(metadata: Mapping[Any, Any]) -> None:
    """Depth, key types, integer range and text validity, without recursion (a deep
    value must get a clear error, not a RecursionError)."""
    pending: list[tuple[Any, int, str]] = [(metadata, 1, "metadata")]
    while pending:
        value, depth, where = pending.pop()
        if isinstance(value, Mapping | list | tuple):
            if depth > MAX_DEPTH:
                raise InvalidMetadataError(f"metadata is nested more than {MAX_DEPTH} levels deep")
            if isinstance(value, Mapping):
                for key, item in value.items():
                    if not isinstance(key, str):
                        raise InvalidMetadataError(f"{where}: keys must be strings, not {_describe(key)}")
                    _check_scalar(key, where)
                    pending.append((item, depth + 1, f"{where}.{key}"[:80]))
            else:
                pending.extend((item, depth + 1, f"{where}[{i}]"[:80]) for i, item in enumerate(value))
        else:
            _check_scalar(value, where)


def dump_metadata(metadata: Any) -> str:
    """The metadata as compact JSON text, or InvalidMetadataError saying what is wrong."""
    if not isinstance(metadata, Mapping):
        raise InvalidMetadataError(f"metadata must be a mapping (a JSON object), not {type(metadata).__name__}")
    for key in metadata:
        check_key(key)
    _check_tree(metadata)
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


def _scalar_operand(operator: str, value: Any) -> None:
    if not _is_scalar(value):
        raise InvalidMetadataError(f"{operator} needs a string, number, boolean or null, not {_describe(value)}")
    _check_scalar(value, f"filter {operator}")


def _equals(column: str, path: str, value: Any, params: list[Any]) -> str:
    """An expression true when the value at ``path`` is ``value`` (NULL when missing)."""
    _scalar_operand("$eq", value)
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
        return _membership(column, path, operator, operand, params)
    if operator == "$exists":
        if not isinstance(operand, bool):
            raise InvalidMetadataError("$exists needs true or false")
        params.append(path)
        return f"json_type({column}, ?) IS {'NOT ' if operand else ''}NULL"
    if operator == "$contains":
        if not _is_scalar(operand) or operand is None or isinstance(operand, bool):
            raise InvalidMetadataError("$contains needs a string or a number")
        _check_scalar(operand, "filter $contains")
        params.extend([path, operand])
        return (
            f"EXISTS (SELECT 1 FROM json_each({column}, ?) AS element "
            f"WHERE element.type IN ('text', 'integer', 'real') AND element.value = ?)"
        )
    if operator in _ORDER:
        if isinstance(operand, bool) or not isinstance(operand, str | int | float) or not _is_scalar(operand):
            raise InvalidMetadataError(f"{operator} needs a string or a number, not {_describe(operand)}")
        _check_scalar(operand, f"filter {operator}")
        kinds = "('text')" if isinstance(operand, str) else "('integer', 'real')"
        params.extend([path, path, operand])
        return f"COALESCE(json_type({column}, ?) IN {kinds} AND json_extract({column}, ?) {_ORDER[operator]} ?, 0)"
    raise InvalidMetadataError(f"unknown filter operator {operator!r}; known: {', '.join(sorted(_KNOWN))}")


def _membership(column: str, path: str, operator: str, operand: Any, params: list[Any]) -> str:
    """``$in``/``$nin`` as one JSON-array parameter walked by ``json_each``: an OR of one
    term per value would pass SQLite's expression-depth limit near 1000 values."""
    if not isinstance(operand, list | tuple) or not operand:
        raise InvalidMetadataError(f"{operator} needs a non-empty list of values")
    if len(operand) > MAX_LIST_VALUES:
        raise InvalidMetadataError(f"{operator} takes at most {MAX_LIST_VALUES:,} values, not {len(operand):,}")
    for value in operand:
        _scalar_operand(operator, value)
    params.extend([json.dumps(list(operand), ensure_ascii=False), path, path])
    # Same kind (numbers of either kind are one), then same value (true, false and null
    # are decided by their kind alone); a missing key has no kind and matches nothing.
    member = (
        f"EXISTS (SELECT 1 FROM json_each(?) AS wanted, (SELECT json_type({column}, ?) AS kind) AS have "
        "WHERE (wanted.type = have.kind OR (wanted.type IN ('integer', 'real') AND have.kind IN ('integer', 'real'))) "
        f"AND (wanted.type IN ('null', 'true', 'false') OR wanted.value = json_extract({column}, ?)))"
    )
    return member if operator == "$in" else f"NOT {member}"


def filter_conditions(where: Any) -> list[tuple[str, list[tuple[str, Any]]]]:
    """A filter checked and spelled out: each key with its ``(operator, operand)`` pairs.

    Shared by both SQL dialects, so a filter is refused the same way on SQLite and on
    PostgreSQL: a non-mapping, more than :data:`MAX_FILTER_TERMS` conditions, a bad key.
    A bare value means ``$eq``.
    """
    if not isinstance(where, Mapping):
        raise InvalidMetadataError(f"a metadata filter must be a mapping, not {type(where).__name__}")
    terms = sum(len(c) if isinstance(c, Mapping) and c else 1 for c in where.values())
    if terms > MAX_FILTER_TERMS:
        raise InvalidMetadataError(f"a metadata filter holds at most {MAX_FILTER_TERMS} conditions, not {terms}")
    conditions: list[tuple[str, list[tuple[str, Any]]]] = []
    for key, condition in where.items():
        key = check_key(key, "filter key")
        if isinstance(condition, Mapping) and condition and all(str(op).startswith("$") for op in condition):
            conditions.append((key, [(str(op), operand) for op, operand in condition.items()]))
        else:
            conditions.append((key, [("$eq", condition)]))
    return conditions


def compile_filter(where: Any, column: str = "metadata", dialect: str = "sqlite") -> tuple[str, list[Any]]:
    """A SQL condition over the JSON ``column`` and its parameters, for a filter
    (in PostgreSQL's operators for ``dialect="postgresql"``)."""
    if dialect == "postgresql":
        from ris_core.postgres.filters import compile_postgres_filter

        return compile_postgres_filter(where, column)
    clauses: list[str] = []
    params: list[Any] = []
    for key, pairs in filter_conditions(where):
        path = f'$."{key}"'
        clauses.extend(_operator(column, path, operator, operand, params) for operator, operand in pairs)
    return (" AND ".join(clauses) or "1"), params
