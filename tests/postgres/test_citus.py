"""The schema stays shardable by Citus: every key carries the distribution column, and an
existing database is brought there by its migrations.

Citus itself cannot be installed here; these tests check on plain PostgreSQL what Citus
would refuse (a primary, unique or foreign key without the distribution column, a table
that is neither distributed nor a reference table).
"""

from __future__ import annotations

import psycopg

import ris_core
from ris_core.postgres import CITUS_LAYOUT, citus_statements
from ris_core.testing.contract.base import photo_bytes


def _filled(url: str) -> None:
    """A database with every component's tables, some rows in each of the busy ones."""
    with ris_core.open("local", database=url) as system:
        context = system.create_context("photos")
        context.add_images([(f"p{seed}", photo_bytes(seed)) for seed in range(3)], workers=1, progress=False)
        context.create_tag("tagged", [photo_bytes(7)])
        context.find_similar_images(image=photo_bytes(1), max_count=3)


def _keys(connection: psycopg.Connection) -> list[tuple[str, str, str, list[str], str | None, list[str]]]:
    """(table, constraint, kind, columns, referenced table, referenced columns) of every
    primary, unique and foreign key in the current schema."""
    rows = connection.execute(
        """
        SELECT c.conrelid::regclass::text, c.conname, c.contype,
               ARRAY(SELECT a.attname::text FROM unnest(c.conkey) k JOIN pg_attribute a
                     ON a.attrelid = c.conrelid AND a.attnum = k),
               CASE WHEN c.contype = 'f' THEN c.confrelid::regclass::text END,
               ARRAY(SELECT a.attname::text FROM unnest(coalesce(c.confkey, '{}')) k JOIN pg_attribute a
                     ON a.attrelid = c.confrelid AND a.attnum = k)
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
        WHERE n.nspname = current_schema() AND c.contype IN ('p', 'u', 'f')
        """
    ).fetchall()
    return [(str(t), str(n), str(k), list(cols), ref, list(rcols)) for t, n, k, cols, ref, rcols in rows]


def _tables(connection: psycopg.Connection) -> set[str]:
    rows = connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()").fetchall()
    return {str(name) for (name,) in rows}


def _check_shardable(url: str) -> None:
    distributed: dict[str, str] = CITUS_LAYOUT["distributed"]
    reference = set(CITUS_LAYOUT["reference"])
    with psycopg.connect(url) as connection:
        tables = _tables(connection)
        assert tables == set(distributed) | reference, "every table is either distributed or a reference table"
        for table, name, kind, columns, referenced, referenced_columns in _keys(connection):
            if table in reference:
                continue
            column = distributed[table]
            assert column in columns, f"{table}.{name} ({kind}: {columns}) lacks the distribution column {column}"
            if kind == "f":
                assert referenced in distributed, f"{table}.{name} references {referenced}, not a distributed table"
                # The distribution columns must be matched with each other, for co-location.
                position = columns.index(column)
                assert referenced_columns[position] == distributed[referenced], f"{table}.{name}: {referenced_columns}"


def test_every_key_of_a_distributed_table_holds_its_distribution_column(postgres_url: str) -> None:
    _filled(postgres_url)
    _check_shardable(postgres_url)


def test_the_citus_statements_name_every_table_reference_tables_first(postgres_url: str) -> None:
    _filled(postgres_url)
    statements = citus_statements()
    with psycopg.connect(postgres_url) as connection:
        tables = _tables(connection)
    named = [statement.split("'")[1] for statement in statements]
    assert sorted(named) == sorted(tables)
    kinds = ["create_reference_table" in statement for statement in statements]
    assert kinds == sorted(kinds, reverse=True), "reference tables come before the distributed ones"
    assert "colocate_with => 'local_contexts'" in statements[named.index("local_features")]
    assert "colocate_with => 'catalog_contexts'" in statements[named.index("catalog_images")]


#: The keys as ris left them before the migration that put the context in every key.
_BEFORE = """
    ALTER TABLE local_features DROP CONSTRAINT local_features_image;
    ALTER TABLE local_features DROP CONSTRAINT local_features_pkey;
    DROP INDEX local_features_by_key;
    ALTER TABLE local_images DROP CONSTRAINT local_images_pkey;
    DROP INDEX local_images_by_key;
    ALTER TABLE local_images ADD PRIMARY KEY (key);
    ALTER TABLE local_features DROP COLUMN ref;
    ALTER TABLE local_features ADD PRIMARY KEY (key);
    ALTER TABLE local_features ADD CONSTRAINT local_features_key_fkey
        FOREIGN KEY (key) REFERENCES local_images (key) ON DELETE CASCADE;
    ALTER TABLE local_tag_references DROP CONSTRAINT local_tag_references_pkey;
    DROP INDEX local_tag_references_by_id;
    ALTER TABLE local_tag_references ADD PRIMARY KEY (id);
    ALTER TABLE catalog_latencies DROP CONSTRAINT catalog_latencies_pkey;
    ALTER TABLE catalog_latencies ADD PRIMARY KEY (id);
    UPDATE ris_schema SET version = 3 WHERE component = 'local';
    UPDATE ris_schema SET version = 1 WHERE component = 'local-changes';
    DELETE FROM ris_schema WHERE component = 'catalog-postgresql'
"""


def test_an_existing_database_is_upgraded_in_place_and_keeps_working(postgres_url: str) -> None:
    _filled(postgres_url)
    with psycopg.connect(postgres_url) as connection:
        for statement in _BEFORE.split(";"):
            connection.execute(statement)
    with psycopg.connect(postgres_url) as connection:
        assert "ref" not in {
            str(name)
            for (name,) in connection.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = 'local_features'"
            ).fetchall()
        }
    # A search process already holding the context's index when the upgrade happens.
    with (
        ris_core.open("local", database=postgres_url) as reader,
        ris_core.open("local", database=postgres_url) as writer,
    ):
        assert writer.context("photos").image_ids() == ["p0", "p1", "p2"]
        found = reader.context("photos").find_similar_images(image=photo_bytes(2), max_count=1)
        assert [hit.image_id for hit in found] == ["p2"]
        writer.context("photos").add_image("p3", photo_bytes(3))
        writer.context("photos").update_image("p0", photo_bytes(9))
        found = reader.context("photos").find_similar_images(image=photo_bytes(3), max_count=1)
        assert [hit.image_id for hit in found] == ["p3"], "the change log still reaches a reader after the upgrade"
        found = reader.context("photos").find_similar_images(image=photo_bytes(9), max_count=1)
        assert [hit.image_id for hit in found] == ["p0"]
        writer.context("photos").delete_image("p1")
        assert "p1" not in [hit.image_id for hit in reader.context("photos").find_similar_images(image=photo_bytes(1))]
        assert reader.context("photos").find_images_by_tags(["tagged"]) is not None  # tag references still read
    _check_shardable(postgres_url)
    with psycopg.connect(postgres_url) as connection:
        rows = connection.execute("SELECT count(*), count(DISTINCT ref) FROM local_features").fetchone()
        assert rows == (3, 1), "every feature row kept, each with its context filled in"
