"""``ris serve`` on a PostgreSQL database: two worker processes, one database, no local file."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from ris_core.testing.contract.base import near_copy_bytes, photo_bytes
from ris_core.testing.serve import ris_command, served


@pytest.mark.slow
def test_serve_with_two_workers_on_a_postgresql_url(postgres_url: str, tmp_path: Path) -> None:
    with (
        served(
            lambda port: ris_command(
                "serve", "--port", str(port), "--workers", "2", "--thumbnails", str(tmp_path / "thumbs")
            ),
            env={**os.environ, "RIS_DATABASE": postgres_url, "RIS_HOME": str(tmp_path / "home")},
            cwd=tmp_path,
            startup=180,  # two worker processes importing on a loaded machine
        ) as server,
        httpx.Client(timeout=30) as client,
    ):
        base = f"{server.url}/api"
        for seed in range(4):
            put = client.put(
                f"{base}/contexts/shared/images/p{seed}.png", content=photo_bytes(seed),
                headers={"Connection": "close"},
            )  # fmt: skip
            assert put.status_code == 201, put.text
            found = client.post(
                f"{base}/contexts/shared/search", files={"file": ("q.jpg", near_copy_bytes(seed))},
                headers={"Connection": "close"},
            ).json()["results"]  # fmt: skip
            assert found and found[0]["image_id"] == f"p{seed}.png"
    output = server.output
    assert output.count("Started server process") >= 2, output
    assert not list(tmp_path.glob("**/*.db"))  # everything went to the server
