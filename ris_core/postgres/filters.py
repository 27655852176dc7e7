"""Metadata filters in PostgreSQL's JSON operators, with the meaning SQLite's give them.

:func:`ris_core.metadata.compile_filter` writes a filter in SQLite's JSON1 functions;
this writes the same filter over ``jsonb``. jsonb equality already has the rule the
SQLite form spells out (the same kind and the same value, integers and reals compared as
numbers, a missing key matching nothing), so ``$eq``, ``$in`` and ``$contains`` compare
jsonb values; the orderings guard on the kind first, and compare text in the "C"
collation (code point order, as SQLite's BINARY does).
"""

from __future__ import annotations

import json
from typing import Any

from ris_core.errors import InvalidMetadataError
from ris_core.metadata import (
    _KNOWN,
    _ORDER,
    MAX_LIST_VALUES,
    _check_scalar,
    _describe,
    _is_scalar,
    _scalar_operand,
    filter_conditions,
)

__all__ = ["compile_postgres_filter"]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def _operator(value: str, operator: str, operand: Any, params: list[Any]) -> str:
    if operator in ("$eq", "$ne"):
        _scalar_operand(operator, operand)
        params.append(_json(operand))
        equal = f"COALESCE({value} = ?::jsonb, false)"
        return equal if operator == "$eq" else f"NOT {equal}"
    if operator in ("$in", "$nin"):
        if not isinstance(operand, list | tuple) or not operand:
            raise InvalidMetadataError(f"{operator} needs a non-empty list of values")
        if len(operand) > MAX_LIST_VALUES:
            raise InvalidMetadataError(f"{operator} takes at most {MAX_LIST_VALUES:,} values, not {len(operand):,}")
        for item in operand:
            _scalar_operand(operator, item)
        params.append(_json(list(operand)))
        member = f"EXISTS (SELECT 1 FROM jsonb_array_elements(?::jsonb) AS wanted (x) WHERE wanted.x = {value})"
        return member if operator == "$in" else f"NOT {member}"
    if operator == "$exists":
        if not isinstance(operand, bool):
            raise InvalidMetadataError("$exists needs true or false")
        return f"{value} IS {'NOT ' if operand else ''}NULL"
    if operator == "$contains":
        if not _is_scalar(operand) or operand is None or isinstance(operand, bool):
            raise InvalidMetadataError("$contains needs a string or a number")
        _check_scalar(operand, "filter $contains")
        params.append(_json(operand))
        # SQLite's json_each walks an array's elements, an object's values, or the scalar itself.
        elements = (
            f"CASE jsonb_typeof({value}) WHEN 'array' THEN {value} "
            f"WHEN 'object' THEN (SELECT COALESCE(jsonb_agg(member.v), '[]'::jsonb) FROM jsonb_each({value}) "
            f"AS member (k, v)) ELSE jsonb_build_array({value}) END"
        )
        return f"EXISTS (SELECT 1 FROM jsonb_array_elements({elements}) AS element (x) WHERE element.x = ?::jsonb)"
    if operator in _ORDER:
        if isinstance(operand, bool) or not isinstance(operand, str | int | float) or not _is_scalar(operand):
            raise InvalidMetadataError(f"{operator} needs a string or a number, not {_describe(operand)}")
        _check_scalar(operand, f"filter {operator}")
        if isinstance(operand, str):
            params.append(operand)
            return (
                f"COALESCE(jsonb_typeof({value}) = 'string' AND ({value} #>> '{{}}') COLLATE \"C\" "
                f"{_ORDER[operator]} ?, false)"
            )
        params.append(_json(operand))
        return f"COALESCE(jsonb_typeof({value}) = 'number' AND {value} {_ORDER[operator]} ?::jsonb, false)"
    raise InvalidMetadataError(f"unknown filter operator {operator!r}; known: {', '.join(sorted(_KNOWN))}")


def compile_postgres_filter(where: Any, column: str = "metadata") -> tuple[str, list[Any]]:
    """A PostgreSQL condition over the JSON text ``column`` and its parameters, for a filter."""
    clauses: list[str] = []
    params: list[Any] = []
    for key, pairs in filter_conditions(where):
        for operator, operand in pairs:
            # The value is looked up once, in a one-row subquery, so the condition can name
            # it as often as it needs while its parameters stay in order.
            condition_sql = _operator("field.v", operator, operand, params)
            params.append(key)  # after the condition's own: its placeholder comes last
            clauses.append(f"(SELECT {condition_sql} FROM (SELECT {column}::jsonb -> ?::text AS v) AS field)")
    return (" AND ".join(clauses) or "true"), params
