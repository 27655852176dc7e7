"""Searches against a streaming read replica, writes against the primary."""

from __future__ import annotations

import time

import psycopg
import pytest

import ris_core
from ris_core import errors
from ris_core.testing.contract.base import near_copy_bytes, photo_bytes
from ris_core.testing.postgres import TemporaryPostgres


def _caught_up(primary_url: str, replica_url: str) -> None:
    """Wait until the replica has replayed everything the primary has written."""
    with psycopg.connect(primary_url) as primary:
        row = primary.execute("SELECT pg_current_wal_lsn()").fetchone()
    assert row is not None
    deadline = time.monotonic() + 60
    with psycopg.connect(replica_url, autocommit=True) as replica:
        while True:
            done = replica.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (row[0],)).fetchone()
            if done and done[0]:
                return
            assert time.monotonic() < deadline, "the replica did not catch up within 60 s"
            time.sleep(0.1)


@pytest.mark.slow
def test_a_search_server_on_a_read_replica_sees_the_primarys_writes(postgres_server: TemporaryPostgres) -> None:
    primary_url = postgres_server.new_database()
    with ris_core.open("local", database=primary_url) as writer:
        context = writer.create_context("shared")
        for seed in range(4):
            context.add_image(f"p{seed}", photo_bytes(seed), metadata={"seed": seed})
    replica = postgres_server.replica()
    try:
        replica_url = replica.url(primary_url.split("@/", 1)[1].split("?")[0])
        _caught_up(primary_url, replica_url)
        with ris_core.open("local", database=replica_url) as reader:
            watching = reader.context("shared")
            assert watching.image_ids(where={"seed": {"$gte": 2}}) == ["p2", "p3"]
            assert watching.find_similar_images(image=near_copy_bytes(1), max_count=1)[0].image_id == "p1"
            with ris_core.open("local", database=primary_url) as writer:
                writer.context("shared").add_image("p9", photo_bytes(9))
            _caught_up(primary_url, replica_url)
            assert watching.find_similar_images(image=photo_bytes(9), max_count=1)[0].image_id == "p9"
            with pytest.raises(errors.ReadOnlyStorageError):
                watching.add_image("p10", photo_bytes(10))
    finally:
        replica.stop()
