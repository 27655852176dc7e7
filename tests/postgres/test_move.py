"""Moving a collection from the SQLite file to PostgreSQL (and reconnecting after a restart)."""

from __future__ import annotations

from pathlib import Path

import pytest

import ris_core
from ris_core import errors
from ris_core.testing.contract.base import near_copy_bytes, photo_bytes
from ris_core.testing.postgres import TemporaryPostgres


def test_a_context_exported_from_sqlite_imports_into_postgresql(postgres_url: str, tmp_path: Path) -> None:
    with ris_core.open("local", database=tmp_path / "ris.db") as local:
        context = local.create_context("holiday")
        for seed in range(3):
            context.add_image(f"p{seed}", photo_bytes(seed), metadata={"seed": seed})
        context.create_collection("best", ["p1"])
        context.create_tag("sunset", photo_bytes(2))
        exported = context.export(tmp_path / "holiday.tar.gz", progress=False)
    with ris_core.open("local", database=postgres_url) as server:
        moved, report = server.import_context(exported, progress=False)
        assert len(report.items) == 3
        assert moved.image_ids() == ["p0", "p1", "p2"]
        assert moved.get_metadata("p2") == {"seed": 2}
        assert moved.collection_images("best") == ["p1"]
        assert [r.image_id for r in moved.find_images_by_tags("sunset")][:1] == ["p2"]
        assert moved.find_similar_images(image=near_copy_bytes(0), max_count=1)[0].image_id == "p0"


def test_reads_reconnect_after_a_server_restart_and_writes_fail_typed_once() -> None:
    server = TemporaryPostgres().start()
    try:
        url = server.new_database()
        with ris_core.open("local", database=url) as system:
            system.create_context("c").add_image("p1", photo_bytes(1))
            server.restart()
            # A read finds its connection dropped, opens a new one and answers.
            assert system.context("c").image_ids() == ["p1"]
            assert system.context("c").find_similar_images(image=photo_bytes(1))[0].image_id == "p1"
            server.restart()
            # A write is not replayed behind the caller's back: it fails typed, and the next works.
            with pytest.raises(errors.StorageUnavailableError):
                system.context("c").add_image("p2", photo_bytes(2))
            system.context("c").add_image("p3", photo_bytes(3))
            assert system.context("c").image_ids() == ["p1", "p3"]
    finally:
        server.stop()
