"""The part of sqlite3's connection and cursor the stores use, over a psycopg connection.

The stores are typed against :class:`sqlite3.Connection` and call ``execute``,
``executemany``, ``fetchone``, ``fetchall``, ``rowcount`` and ``lastrowid``. These two
classes give exactly that inside a PostgreSQL transaction: statements are rewritten by
:mod:`ris_core.postgres.dialect`, constraint failures stay ``IntegrityError``, and an
insert into a table with a generated key returns it (``RETURNING``) as ``lastrowid``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

from ris_core.postgres.dialect import postgres_parameters, postgres_sql
from ris_core.postgres.errors import integrity

__all__ = ["GENERATED_KEYS", "ConnectionAdapter", "CursorAdapter"]

#: The generated key of each table whose inserts read ``cursor.lastrowid``.
GENERATED_KEYS = {"local_images": "key", "local_tag_references": "id", "catalog_latencies": "id"}


class CursorAdapter:
    """The part of sqlite3.Cursor the stores use, over a psycopg cursor."""

    def __init__(self, cursor: Any, lastrowid: int | None = None) -> None:
        self._cursor = cursor
        #: The generated key of the row an insert made (None for other statements).
        self.lastrowid = lastrowid

    @property
    def rowcount(self) -> int:
        """Rows the statement changed."""
        return int(self._cursor.rowcount)

    def fetchone(self) -> tuple[Any, ...] | None:
        """The next row, or None."""
        if self._cursor.description is None:
            return None
        row = self._cursor.fetchone()
        return None if row is None else tuple(row)

    def fetchall(self) -> list[tuple[Any, ...]]:
        """Every remaining row."""
        if self._cursor.description is None:
            return []
        return [tuple(row) for row in self._cursor.fetchall()]


class ConnectionAdapter:
    """The part of sqlite3.Connection the stores use inside a transaction, over psycopg."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def execute(self, sql: str, parameters: Sequence[object] = ()) -> CursorAdapter:
        """Run one statement (SQLite spelling) and return its cursor."""
        text = postgres_sql(sql)
        table = re.match(r"\s*INSERT INTO\s+(\w+)", text, re.IGNORECASE)
        generated = GENERATED_KEYS.get(table.group(1)) if table else None
        if generated and "RETURNING" not in text.upper():
            cursor = self._run(f"{text} RETURNING {generated}", parameters)
            row = cursor.fetchone()
            return CursorAdapter(cursor, None if row is None else int(row[0]))
        return CursorAdapter(self._run(text, parameters))

    def executemany(self, sql: str, rows: Sequence[Sequence[object]] | Iterator[Sequence[object]]) -> CursorAdapter:
        """Run one statement for each parameter row."""
        cursor = self._connection.cursor()
        with integrity():
            cursor.executemany(postgres_sql(sql), [postgres_parameters(row) for row in rows])
        return CursorAdapter(cursor)

    def _run(self, text: str, parameters: Sequence[object]) -> Any:
        with integrity():
            return self._connection.execute(text, postgres_parameters(parameters))
