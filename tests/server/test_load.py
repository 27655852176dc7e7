"""Load on loopback: concurrent clients searching and adding for a fixed time lose no
write and see no error; and ``ris serve --workers 2`` shares one database."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest

from ris_core.testing.serve import ris_command, served
from tests.server.conftest import LiveServer, copy_jpeg, png

CLIENTS = 6
SECONDS = 4.0


@pytest.mark.slow
def test_concurrent_clients_searching_and_adding(live_server: LiveServer) -> None:
    pool = [png(seed, (160, 120)) for seed in range(8)]
    base = live_server.url + "/api/contexts/load"
    assert httpx.put(f"{base}/images/seed.png", content=pool[0]).status_code == 201
    acknowledged: dict[str, bytes] = {}
    errors: list[str] = []
    requests = [0]
    lock = threading.Lock()
    stop = time.monotonic() + SECONDS

    def client(number: int) -> None:
        with httpx.Client(timeout=30) as http:
            count = 0
            while time.monotonic() < stop:
                count += 1
                image_id, data = f"c{number}/{count}.png", pool[(number + count) % len(pool)]
                try:
                    added = http.put(f"{base}/images/{image_id}", content=data)
                    found = http.post(f"{base}/search", files={"file": ("q.png", data)}, data={"max_count": "3"})
                except httpx.HTTPError as exc:
                    with lock:
                        errors.append(f"{image_id}: {exc!r}")
                    continue
                with lock:
                    requests[0] += 2
                    if added.status_code == 201:
                        acknowledged[image_id] = data
                    else:
                        errors.append(f"add {image_id}: {added.status_code} {added.text}")
                    if found.status_code != 200 or not found.json()["results"]:
                        errors.append(f"search {image_id}: {found.status_code} {found.text}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert requests[0] > CLIENTS * 2  # every client got through several rounds
    listed = httpx.get(f"{base}/images", params={"limit": 1000}).json()
    stored = {image["image_id"] for image in listed["images"]}
    assert set(acknowledged) <= stored and listed["total"] == len(acknowledged) + 1  # no lost writes
    for image_id, data in list(acknowledged.items())[:: max(1, len(acknowledged) // 20)]:
        assert httpx.get(f"{base}/images/{image_id}").content == data


@pytest.mark.slow
def test_serve_with_two_workers_shares_one_database(tmp_path: Path) -> None:
    with (
        served(
            lambda port: ris_command(
                "--database",
                str(tmp_path / "ris.db"),
                "serve",
                "--port",
                str(port),
                "--workers",
                "2",
                "--thumbnails",
                str(tmp_path / "thumbs"),
            )
        ) as server,
        httpx.Client(timeout=30) as first,
        httpx.Client(timeout=30) as second,
    ):
        url = f"{server.url}/api/contexts/shared"
        for seed in range(6):
            # A fresh connection each time lands on either worker; each must see
            # the write the other made just before.
            added = first.put(f"{url}/images/p{seed}.png", content=png(seed), headers={"Connection": "close"})
            assert added.status_code == 201
            for _ in range(3):
                found = second.post(
                    f"{url}/search", files={"file": ("q.jpg", copy_jpeg(seed))}, headers={"Connection": "close"}
                ).json()["results"]
                assert found and found[0]["image_id"] == f"p{seed}.png"
    output = server.output
    assert output.count("Started server process") >= 2, output
