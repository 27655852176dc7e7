"""A missing or unreachable server is a typed error within the connect timeout; the password never shows."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import ris_core
from ris_core import errors
from ris_core.testing.postgres import TemporaryPostgres

SECRET = "pw-Zq81-never-shown"
RIS = str(Path(sys.executable).with_name("ris"))


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts TCP connections and never answers (a hung server)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def test_no_server_on_the_socket_is_storage_unavailable(tmp_path: Path) -> None:
    with pytest.raises(errors.StorageUnavailableError) as raised:
        ris_core.open("local", database=f"postgresql://ris:{SECRET}@/ris?host={tmp_path}")
    assert isinstance(raised.value, ConnectionError)
    assert SECRET not in str(raised.value) and SECRET not in repr(raised.value.args)
    assert raised.value.__cause__ is None or SECRET not in str(raised.value.__cause__)


def test_a_server_that_never_answers_fails_after_the_connect_timeout(
    silent_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RIS_CONNECT_TIMEOUT", "2")
    started = time.monotonic()
    with pytest.raises(errors.StorageUnavailableError, match="within 2 s"):
        ris_core.open("local", database=f"postgresql://ris:{SECRET}@127.0.0.1:{silent_port}/ris")
    assert time.monotonic() - started < 30  # bounded: not a hang


def test_the_password_reaches_no_message_log_or_argv(
    postgres_server: TemporaryPostgres, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    url = postgres_server.new_database().replace("postgresql://ris@", f"postgresql://ris:{SECRET}@")
    caplog.set_level(logging.DEBUG)
    with ris_core.open("local", database=url) as system:
        assert SECRET not in system.backend.database.path  # type: ignore[attr-defined]
        system.create_context("c").add_image("p", _png())
        with pytest.raises(errors.ImageExistsError) as raised:
            system.context("c").add_image("p", _png())
        assert SECRET not in str(raised.value)
    assert SECRET not in caplog.text
    # The command line takes the URL from $RIS_DATABASE, so it is in no process's argv.
    result = subprocess.run(
        [RIS, "-vv", "contexts"],
        env={**os.environ, "RIS_DATABASE": url},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "c" in result.stdout
    assert SECRET not in result.stdout + result.stderr
    broken = url.replace(f"?host={postgres_server.folder}", f"?host={tmp_path}")
    failed = subprocess.run(
        [RIS, "contexts"],
        env={**os.environ, "RIS_DATABASE": broken},
        capture_output=True,
        text=True,
        check=False,
    )
    assert failed.returncode == 9
    assert "cannot reach database" in failed.stderr and SECRET not in failed.stderr + failed.stdout


def _png() -> bytes:
    from ris_core.testing.contract.base import photo_bytes

    return photo_bytes(4)
