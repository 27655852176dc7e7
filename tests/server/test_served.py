"""``ris_core.testing.serve``: a server process that cannot start is an error that says
why, not a wait until the timeout."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ris_core.testing.serve import ServerDidNotStartError, ris_command, served


def test_a_server_that_exits_is_reported_with_its_output(tmp_path: Path) -> None:
    database = str(tmp_path / "ris.db")
    started = time.monotonic()
    off_loopback = ["--database", database, "serve", "--host", "0.0.0.0"]  # refused: no token
    with (
        pytest.raises(ServerDidNotStartError, match="exited with 6") as raised,
        served(lambda port: ris_command(*off_loopback, "--port", str(port))),
    ):
        pytest.fail("the block ran for a server that refused to start")
    assert "without a token" in str(raised.value)  # the server's own explanation is kept
    assert time.monotonic() - started < 50  # it noticed the exit, it did not wait out the 60 s
