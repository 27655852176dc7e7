"""``ris serve`` on a PostgreSQL database: two worker processes, one database, no local file."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ris_core.testing.contract.base import near_copy_bytes, photo_bytes


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.slow
def test_serve_with_two_workers_on_a_postgresql_url(postgres_url: str, tmp_path: Path) -> None:
    port = _free_port()
    command = [sys.executable, "-c", "import sys; from ris_core.cli import main; sys.exit(main(sys.argv[1:]))"]
    server = subprocess.Popen(
        [*command, "serve", "--port", str(port), "--workers", "2", "--thumbnails", str(tmp_path / "thumbs")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
        env={**os.environ, "RIS_DATABASE": postgres_url, "RIS_HOME": str(tmp_path / "home")},
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 180  # two worker processes importing on a loaded machine
        while True:
            try:
                httpx.get(f"{base}/contexts", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and server.poll() is None, "ris serve did not start"
                time.sleep(0.2)
        with httpx.Client(timeout=30) as client:
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
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert output.count("Started server process") >= 2, output
    assert not list(tmp_path.glob("**/*.db"))  # everything went to the server
