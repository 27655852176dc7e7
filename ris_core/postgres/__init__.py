"""A PostgreSQL database behind the same seam as :class:`ris_core.sqlite.Database`.

Every store in ris (the catalog, the local backend's tables, the engine record) talks to
a :class:`~ris_core.database.Database`: ``transaction()``, ``snapshot()``, ``query()``,
``migrate()``. :class:`PostgresDatabase` gives that contract on a PostgreSQL server, so
the same store code and the same versioned migrations run on either. One module per idea:

- :mod:`~ris_core.postgres.connection`: which URLs select PostgreSQL, the connect
  timeout, and the URL without its password (all that messages and ``path`` show).
- :mod:`~ris_core.postgres.dialect`: the stores' SQL, written once in the dialect both
  engines share, with its few SQLite spellings (``?`` parameters, ``INSERT OR
  IGNORE``/``OR REPLACE``, ``BLOB``, ``AUTOINCREMENT``) rewritten, and text in the
  ``"C"`` collation so ordering matches SQLite's.
- :mod:`~ris_core.postgres.errors`: psycopg's failures as the typed
  :class:`~ris_core.errors.StorageError` tree (an unreachable server within
  :func:`connect_timeout` seconds is a ``StorageUnavailableError``, a held lock a
  ``StorageLockedError``, as on SQLite), with the password scrubbed.
- :mod:`~ris_core.postgres.adapter`: the part of ``sqlite3.Connection`` the stores use,
  over psycopg.
- :mod:`~ris_core.postgres.database`: :class:`PostgresDatabase` itself (one shared
  connection, transactions, snapshots, reconnecting reads).
- :mod:`~ris_core.postgres.schema`: migrations under an advisory lock, the
  PostgreSQL-only amendments, and how the schema shards on Citus (:data:`CITUS_LAYOUT`,
  :func:`citus_statements`).
- :mod:`~ris_core.postgres.filters`: metadata filters in PostgreSQL's JSON operators.

Nothing here imports psycopg until a database is opened.
"""

from __future__ import annotations

from ris_core.postgres.connection import CONNECT_TIMEOUT, SCHEMES, connect_timeout, is_postgres_url, redacted
from ris_core.postgres.database import PostgresDatabase
from ris_core.postgres.dialect import postgres_ddl, postgres_sql, postgres_statements
from ris_core.postgres.errors import IntegrityViolation
from ris_core.postgres.schema import CITUS_LAYOUT, citus_statements

__all__ = [
    "CITUS_LAYOUT",
    "CONNECT_TIMEOUT",
    "SCHEMES",
    "IntegrityViolation",
    "PostgresDatabase",
    "citus_statements",
    "connect_timeout",
    "is_postgres_url",
    "postgres_ddl",
    "postgres_sql",
    "postgres_statements",
    "redacted",
]
