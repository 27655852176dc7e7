"""Fixtures of the server tests: an opened system, the app over it, a test client, and
a real uvicorn server on a loopback port for the browser and load tests."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

import ris_core
from ris_core.server import ServerSettings, create_app
from ris_core.system import ImageSearch
from ris_core.testing.images import encode, near_copy, photo


@pytest.fixture(autouse=True)
def no_token(monkeypatch: pytest.MonkeyPatch) -> None:
    """A token in the developer's environment must not leak into the tests."""
    for name in ("RIS_TOKEN", "RIS_SERVE_SETTINGS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    return tmp_path / "ris.db"


@pytest.fixture
def system(database: Path) -> Iterator[ImageSearch]:
    opened = ris_core.open("local", database=str(database))
    yield opened
    opened.close()


@pytest.fixture
def settings(tmp_path: Path, database: Path) -> ServerSettings:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    return ServerSettings(
        options={"database": str(database)},
        thumbnails=str(tmp_path / "thumbnails"),
        max_upload=2 * 1024 * 1024,
        folders=(str(allowed),),
    )


@pytest.fixture
def app(settings: ServerSettings, system: ImageSearch) -> FastAPI:
    return create_app(settings, system)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://127.0.0.1:8000", raise_server_exceptions=False) as test_client:
        yield test_client


def png(seed: int, size: tuple[int, int] = (320, 240)) -> bytes:
    """A distinct test photo as PNG bytes."""
    return encode(photo(seed, size))


def copy_jpeg(seed: int) -> bytes:
    """A near copy of photo ``seed``: smaller, brighter, re-encoded as JPEG."""
    return encode(near_copy(photo(seed)), "JPEG", quality=85)


class LiveServer:
    """A uvicorn server in a thread, on a loopback port the OS picked."""

    def __init__(self, app: FastAPI, log_level: str = "warning") -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.socket.close()


@pytest.fixture
def live_server(app: FastAPI) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server
