"""The schema on PostgreSQL: how migrations reach it, what it amends, and how it shards on Citus.

The stores' versioned migrations are the SQLite ones, rewritten by
:mod:`ris_core.postgres.dialect`. They run under a transaction-scoped advisory lock, and
DDL is transactional in PostgreSQL, so processes opening a new database at once apply
each version once. A few changes are made on PostgreSQL only (:data:`AMENDMENTS`), so
that every key of a table carries its Citus distribution column (:data:`CITUS_LAYOUT`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ris_core.database import Database
from ris_core.postgres.dialect import postgres_ddl, postgres_statements
from ris_core.sqlite import check_schema_version

__all__ = ["AMENDMENTS", "CITUS_LAYOUT", "citus_statements", "migrate", "schema_version"]

#: Changes to a shared component's schema made on PostgreSQL only, applied (as the
#: component ``<name>-postgresql``) right after the component's own migrations: here,
#: the context in the key of the one catalog table whose key lacked it (for Citus).
AMENDMENTS: dict[str, tuple[str, ...]] = {
    "catalog": (
        "ALTER TABLE catalog_latencies DROP CONSTRAINT catalog_latencies_pkey; "
        "ALTER TABLE catalog_latencies ADD PRIMARY KEY (backend, context, id)",
    ),
}

#: How the schema shards on Citus: each distributed table with its distribution column
#: (tables sharing a column's values are co-located in one group), then the reference
#: tables (small, copied to every node). Every primary, unique and foreign key of a
#: distributed table includes its distribution column (tests/postgres checks it).
CITUS_LAYOUT: dict[str, Any] = {
    "distributed": {
        # The local backend, by context ref: one context's rows live on one shard.
        "local_contexts": "ref",
        "local_images": "ref",
        "local_features": "ref",
        "local_changes": "ref",
        "local_tag_references": "ref",
        "local_index_state": "ref",
        "local_index_blocks": "ref",
        # The catalog, by context name (catalog_contexts calls it ``name``).
        "catalog_contexts": "name",
        "catalog_images": "context",
        "catalog_tags": "context",
        "catalog_collections": "context",
        "catalog_collection_members": "context",
        "catalog_tag_references": "context",
        "catalog_counters": "context",
        "catalog_latencies": "context",
        "catalog_not_duplicates": "context",
    },
    "reference": ("ris_schema", "local_engine"),
}


def citus_statements() -> list[str]:
    """The statements that shard an existing ris database on a Citus coordinator, in order:
    reference tables first, then each distributed table co-located with the first of its
    group (``local_contexts`` for the local tables, ``catalog_contexts`` for the catalog).

    Not run by ris: an operator runs them once, with ``citus.enable_unsafe_triggers = on``
    for the change-log triggers (which touch only their own ref's rows).
    """
    statements = [f"SELECT create_reference_table('{table}')" for table in CITUS_LAYOUT["reference"]]
    leaders: dict[str, str] = {}
    for table, column in CITUS_LAYOUT["distributed"].items():
        group = "local" if table.startswith("local_") else "catalog"
        if group not in leaders:
            leaders[group] = table
            statements.append(f"SELECT create_distributed_table('{table}', '{column}')")
        else:
            statements.append(
                f"SELECT create_distributed_table('{table}', '{column}', colocate_with => '{leaders[group]}')"
            )
    return statements


def schema_version(database: Database, component: str) -> int:
    """The schema version ``component``'s tables are at in ``database`` (0 if it has none yet)."""
    if not database.query("SELECT 1 FROM pg_catalog.pg_tables WHERE tablename = 'ris_schema' "
                          "AND schemaname = current_schema()"):  # fmt: skip
        return 0
    rows = database.query("SELECT version FROM ris_schema WHERE component = ?", (component,))
    return int(rows[0][0]) if rows else 0


def migrate(database: Database, component: str, migrations: Sequence[str]) -> None:
    """Bring ``component``'s tables to ``len(migrations)``, once, however many processes open at once.

    Reads first; when a migration is due, takes an advisory lock for the transaction,
    reads again, and applies the missing scripts (DDL included) in that one transaction.
    Then the component's PostgreSQL-only amendments (``<component>-postgresql``), the same way.
    """
    _migrate(database, component, migrations)
    if component in AMENDMENTS:
        _migrate(database, f"{component}-postgresql", AMENDMENTS[component])


def _migrate(database: Database, component: str, migrations: Sequence[str]) -> None:
    current = schema_version(database, component)
    if check_schema_version(database.path, component, current, migrations) == len(migrations):
        return
    with database.transaction() as connection:
        connection.execute("SELECT pg_advisory_xact_lock(hashtext('ris_schema'))")
        connection.execute(
            "CREATE TABLE IF NOT EXISTS ris_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL)"
        )
        row = connection.execute("SELECT version FROM ris_schema WHERE component = ?", (component,)).fetchone()
        current = check_schema_version(database.path, component, int(row[0]) if row else 0, migrations)
        for script in migrations[current:]:
            for statement in postgres_statements(script):
                connection.execute(postgres_ddl(statement))
        connection.execute(
            "INSERT INTO ris_schema (component, version) VALUES (?, ?) "
            "ON CONFLICT (component) DO UPDATE SET version = excluded.version",
            (component, len(migrations)),
        )
