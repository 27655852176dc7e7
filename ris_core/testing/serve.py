"""A server in its own process for tests and benchmarks: ``ris serve`` or any command
that serves the API on a loopback port.

:func:`served` picks a free port, starts the command, waits until ``GET /api/contexts``
answers, and stops the process on leaving the ``with`` block, keeping what it printed::

    from ris_core.testing.serve import ris_command, served

    with served(lambda port: ris_command("--database", db, "serve", "--port", str(port))) as server:
        httpx.get(f"{server.url}/api/contexts")
    assert "Started server process" in server.output

Only the standard library: the ready check is ``urllib``, so a third party's tests
need no HTTP client for it.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ServedProcess", "ServerDidNotStartError", "free_port", "ris_command", "served"]

#: How long :func:`served` waits for the first answer by default: a loaded CI machine
#: imports the engine (numpy, faiss) slowly, once per worker process.
STARTUP_SECONDS = 60.0


class ServerDidNotStartError(RuntimeError):
    """The server process exited, or did not answer within the startup time."""


@dataclass
class ServedProcess:
    """A running server process: its ``url`` (``http://127.0.0.1:<port>``, no slash at
    the end) and, once the ``with`` block of :func:`served` has ended, its ``output``
    (standard output and error together, when captured)."""

    url: str
    process: subprocess.Popen[str]
    output: str = field(default="")


def ris_command(*arguments: str) -> list[str]:
    """The argv that runs the ``ris`` CLI with ``arguments`` in this interpreter, so the
    code under test runs whether or not the ``ris`` script is installed or on PATH."""
    run = "import sys; from ris_core.cli import main; sys.exit(main(sys.argv[1:]))"
    return [sys.executable, "-c", run, *arguments]


def free_port() -> int:
    """A loopback TCP port nobody listens on now (the OS's pick; it may be taken again
    before the server binds it, which is rare enough for tests)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def served(
    command: Callable[[int], Sequence[str]],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    capture: bool = True,
    startup: float = STARTUP_SECONDS,
) -> Iterator[ServedProcess]:
    """Run ``command(port)`` on a free port until the block ends.

    The block starts once ``GET /api/contexts`` gets any HTTP answer (a 401 of a server
    with a token counts: it is up). ``env`` replaces the environment (None: inherit);
    with ``capture`` the output goes to :attr:`ServedProcess.output`, else to this
    process's. On leaving, the process is terminated (SIGTERM, which uvicorn takes as a
    graceful shutdown) and waited for. Raises :class:`ServerDidNotStartError` with the
    output when the process exits or stays silent for ``startup`` seconds.
    """
    port = free_port()
    pipe = subprocess.PIPE if capture else None
    process = subprocess.Popen(
        list(command(port)),
        stdout=pipe,
        stderr=subprocess.STDOUT if capture else None,
        text=True,
        env=None if env is None else dict(env),
        cwd=cwd,
    )
    server = ServedProcess(f"http://127.0.0.1:{port}", process)
    try:
        _wait_until_up(server, startup)
    except ServerDidNotStartError as exc:
        _stop(server)
        raise ServerDidNotStartError(f"{exc}: {server.output[-2000:]}") from None
    try:
        yield server
    finally:
        _stop(server)


def _wait_until_up(server: ServedProcess, startup: float) -> None:
    deadline = time.monotonic() + startup
    while True:
        try:
            with urllib.request.urlopen(f"{server.url}/api/contexts", timeout=2):
                return
        except urllib.error.HTTPError:
            return  # an answer, even a refusal, means it is serving
        except OSError:  # refused or reset: not listening yet (URLError is an OSError)
            pass
        if (code := server.process.poll()) is not None:
            raise ServerDidNotStartError(f"the server exited with {code} before answering")
        if time.monotonic() > deadline:
            raise ServerDidNotStartError(f"the server did not answer within {startup:g} s")
        time.sleep(0.2)


def _stop(server: ServedProcess) -> None:
    server.process.terminate()
    try:
        server.output = server.process.communicate(timeout=30)[0] or ""
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.output = server.process.communicate()[0] or ""
