"""A throwaway PostgreSQL server for tests: never a shared one.

:class:`TemporaryPostgres` runs Debian's (or any) PostgreSQL server binaries, ``initdb``
and ``pg_ctl``, in a temporary folder. It listens on a Unix socket in that folder only
(``listen_addresses=''``: no TCP port, nothing another machine could reach), trusts the
local socket (the folder is private to its owner), and is deleted when stopped.

``initdb`` refuses to run as root, so under root the server runs as the ``postgres``
user (created when missing), which is given the folder. Without the binaries,
:func:`server_binaries` raises :class:`PostgresMissingError` saying what to install; the
tests that need a server fail with that message rather than skip.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from types import TracebackType

__all__ = ["PostgresMissingError", "TemporaryPostgres", "server_binaries"]

#: Where Debian installs each major version's server binaries; the newest one wins.
DEBIAN_BINARIES = "/usr/lib/postgresql/*/bin"
#: The user the server runs as when the tests run as root.
SERVER_USER = "postgres"


class PostgresMissingError(RuntimeError):
    """No PostgreSQL server binaries (``initdb``, ``pg_ctl``) are installed."""


def server_binaries() -> Path:
    """The folder holding ``initdb`` and ``pg_ctl``: ``$RIS_PG_BIN``, Debian's newest, or on PATH."""
    candidates = [os.environ.get("RIS_PG_BIN", "")]
    candidates += sorted(glob.glob(DEBIAN_BINARIES), key=lambda p: int(Path(p).parent.name or 0), reverse=True)
    found = shutil.which("initdb")
    candidates.append(str(Path(found).parent) if found else "")
    for folder in filter(None, candidates):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "pg_ctl").exists():
            return Path(folder)
    raise PostgresMissingError(
        "the PostgreSQL tests need a PostgreSQL server's binaries (initdb, pg_ctl) and found none in "
        f"$RIS_PG_BIN, {DEBIAN_BINARIES} or PATH; install them: apt-get install postgresql-15 "
        "(or postgresql), as .ci/run does"
    )


def _server_user() -> str | None:
    """The user to run the server as: None when not root, else ``postgres`` (created if missing)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", SERVER_USER], check=True)
    return SERVER_USER


class TemporaryPostgres:
    """A PostgreSQL server in a temporary folder, for as long as the ``with`` block lasts.

    :meth:`new_database` makes an empty database and returns its ``postgresql://`` URL
    (over the socket, as the superuser ``ris``); :meth:`replica` starts a streaming
    replica of it in another temporary folder.
    """

    def __init__(self, settings: dict[str, str] | None = None) -> None:
        self.binaries = server_binaries()
        self.user = _server_user()
        self.folder = Path(tempfile.mkdtemp(prefix="ris-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        # Speed over durability: a test server is thrown away, and the tests kill clients, not it.
        self.settings = {"fsync": "off", "full_page_writes": "off", "max_connections": "200", **(settings or {})}
        self.running = False

    def _run(self, *command: str) -> None:
        result = subprocess.run(
            [str(self.binaries / command[0]), *command[1:]],
            user=self.user,
            capture_output=True,
            text=True,
            check=False,
            cwd=self.folder,
        )
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"{command[0]} failed ({result.returncode}): {result.stderr.strip()}\n{log}")

    def start(self, primary: TemporaryPostgres | None = None) -> TemporaryPostgres:
        """Create the cluster (a new one, or a streaming replica of ``primary``) and start
        the server; returns self."""
        if self.user is not None:
            shutil.chown(self.folder, self.user)
        os.chmod(self.folder, 0o700)
        if primary is None:
            self._run("initdb", "-D", str(self.data), "-U", "ris", "--auth=trust", "--encoding=UTF8", "--locale=C")
        else:  # initdb's trust rules let the local socket replicate; -R makes it a standby
            self._run(
                "pg_basebackup", "-D", str(self.data), "-h", str(primary.folder), "-U", "ris",
                "-R", "-X", "stream", "--checkpoint=fast",
            )  # fmt: skip
        options = " ".join(f"-c {name}={value}" for name, value in self.settings.items())
        self._run(
            "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
            "-o", f"-c listen_addresses='' -k {self.folder} {options}", "start",
        )  # fmt: skip
        self.running = True
        return self

    def replica(self) -> TemporaryPostgres:
        """A hot-standby streaming replica of this server, started (stop it before this one)."""
        return TemporaryPostgres(self.settings).start(primary=self)

    def url(self, database: str = "postgres") -> str:
        """The URL of ``database`` on this server."""
        return f"postgresql://ris@/{database}?host={self.folder}"

    def new_database(self) -> str:
        """A new, empty database; its URL."""
        import psycopg

        name = f"ris_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def restart(self) -> None:
        """Restart the server (a fast shutdown: open connections are dropped)."""
        # -l again: the new server must not hold this process's output pipes open.
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-m", "fast", "-w", "restart")

    def stop(self) -> None:
        """Stop the server (fast shutdown) and delete its folder."""
        if self.running:
            with contextlib.suppress(RuntimeError):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
            self.running = False
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> TemporaryPostgres:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
