"""Who may call the server: the token rule, the page's cookie, cross-site requests,
rebinding, and the token kept out of logs."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ris_core.server import ServerSettings, create_app
from ris_core.server.settings import is_loopback
from ris_core.system import ImageSearch
from ris_core.testing.serve import ris_command
from tests.server.conftest import LiveServer, png

TOKEN = "s3cret-token-for-tests-only"
#: The ris command, run by this interpreter.
RIS = ris_command()


@pytest.fixture
def guarded(settings: ServerSettings, system: ImageSearch) -> TestClient:
    app = create_app(ServerSettings(**{**settings.__dict__, "token": TOKEN}), system)
    return TestClient(app, base_url="http://127.0.0.1:8000", raise_server_exceptions=False)


def test_loopback_names() -> None:
    assert all(is_loopback(host) for host in ("127.0.0.1", "127.8.9.1", "::1", "[::1]", "localhost"))
    assert not any(is_loopback(host) for host in ("0.0.0.0", "::", "192.168.1.4", "example.org"))


def test_with_a_token_the_api_needs_it_and_the_page_signs_in(guarded: TestClient) -> None:
    assert guarded.get("/api/contexts").status_code == 401
    assert guarded.get("/api/contexts").json()["error"]["type"] == "AuthenticationRequiredError"
    assert guarded.get("/openapi.json").status_code == 401
    assert guarded.get("/api/contexts", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert guarded.get("/api/contexts", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert guarded.get(f"/api/contexts?token={TOKEN}").status_code == 401  # never in a URL
    assert guarded.get("/").status_code == 200  # the page itself holds no data
    assert guarded.post("/login", data={"token": "wrong"}).status_code == 401
    signed_in = guarded.post("/login", data={"token": TOKEN}, follow_redirects=False)
    assert signed_in.status_code == 303
    cookie = signed_in.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and TOKEN not in cookie
    assert guarded.get("/api/contexts").status_code == 200  # the cookie now signs requests
    same_origin = {"Origin": "http://127.0.0.1:8000"}
    assert guarded.put("/api/contexts/mine", headers=same_origin).status_code == 201
    # A change signed only by the cookie must show it came from the page itself.
    assert guarded.put("/api/contexts/other").status_code == 403
    assert guarded.put("/api/contexts/other", headers={"Sec-Fetch-Site": "same-origin"}).status_code == 201
    guarded.post("/logout", headers=same_origin)
    guarded.cookies.clear()
    assert guarded.get("/api/contexts").status_code == 401


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:9999"},
    ],
)
def test_cross_site_requests_are_refused_with_or_without_token(
    client: TestClient, guarded: TestClient, headers: dict[str, str]
) -> None:
    response = client.put("/api/contexts/forged/images/a.png", content=png(1), headers=headers)
    assert response.status_code == 403 and response.json()["error"]["type"] == "CrossSiteRequestError"
    assert client.get("/api/contexts", headers=headers).status_code == 403  # nor read
    assert client.get("/api/contexts").json() == {"contexts": []}
    # A form post from another origin cannot sign in or use the page's cookie either.
    guarded.post("/login", data={"token": TOKEN}, headers={"Origin": "http://127.0.0.1:8000"})
    assert guarded.post("/login", data={"token": TOKEN}, headers=headers).status_code == 403
    forged = guarded.post("/api/contexts/x/not-duplicates", json={"first": "a", "second": "b"}, headers=headers)
    assert forged.status_code == 403


def test_an_allowed_origin_may_call(settings: ServerSettings, system: ImageSearch) -> None:
    allowed = {"origins": ("https://app.example",), "token": TOKEN}
    app = create_app(ServerSettings(**{**settings.__dict__, **allowed}), system)
    client = TestClient(app, base_url="http://127.0.0.1:8000")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    answered = client.get("/api/contexts", headers={"Origin": "https://app.example", **auth})
    assert answered.status_code == 200 and answered.headers["access-control-allow-origin"] == "https://app.example"
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "PUT"}
    assert client.options("/api/contexts/x", headers=preflight).status_code == 200
    assert client.get("/api/contexts", headers={"Origin": "https://app.example"}).status_code == 401  # still the token
    refused = client.get("/api/contexts", headers={"Origin": "https://other.example", **auth})
    assert refused.status_code == 403 and "access-control-allow-origin" not in refused.headers


def test_a_rebound_host_name_is_refused_on_loopback(client: TestClient) -> None:
    assert client.get("/api/contexts", headers={"Host": "attacker.example"}).status_code == 403
    for host in ("localhost:8000", "127.0.0.1", "[::1]:8000", "[::1]"):
        assert client.get("/api/contexts", headers={"Host": host}).status_code == 200, host
    for host in ("127.0.0.1.attacker.example", "[::1].example", ""):
        assert client.get("/api/contexts", headers={"Host": host}).status_code == 403, host


def test_the_token_never_reaches_the_logs(
    settings: ServerSettings, system: ImageSearch, caplog: pytest.LogCaptureFixture
) -> None:
    import httpx

    app = create_app(ServerSettings(**{**settings.__dict__, "token": TOKEN}), system)
    caplog.set_level(logging.DEBUG)
    logging.getLogger("uvicorn.access").setLevel(logging.DEBUG)
    with LiveServer(app, log_level="debug") as server:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        httpx.put(f"{server.url}/api/contexts/c/images/a.png", content=png(1), headers=auth)
        httpx.get(f"{server.url}/api/contexts/c/similar/a.png", headers=auth)
        httpx.get(f"{server.url}/api/contexts", headers={"Authorization": "Bearer wrong-guess"})
        httpx.post(f"{server.url}/login", data={"token": TOKEN})
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "/api/contexts/c/similar/a.png" in text  # the access log was captured
    assert TOKEN not in text and TOKEN not in repr(settings.__class__(token=TOKEN))


def _ris(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*RIS, *args], capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )  # fmt: skip


def test_serve_refuses_off_loopback_without_a_token(tmp_path: Path) -> None:
    done = _ris("--database", str(tmp_path / "r.db"), "serve", "--host", "0.0.0.0", "--port", "8765")
    assert done.returncode == 6 and "without a token" in done.stderr


def test_serve_off_loopback_with_a_token_starts_inside_a_private_network(tmp_path: Path) -> None:
    # unshare -n gives the command a network namespace holding only its own lo, so
    # binding 0.0.0.0 there listens on nothing reachable from outside. Its lo starts
    # down; the script brings it up with the socket ioctl (no iproute2 needed).
    unshare = shutil.which("unshare")
    assert unshare is not None, "util-linux's unshare is needed: apt-get install util-linux"
    script = (
        "import fcntl, socket, struct, subprocess, sys, time, urllib.request\n"
        "probe = socket.socket()\n"
        "flags = struct.unpack('16sH', fcntl.ioctl(probe, 0x8913, struct.pack('16sH', b'lo', 0)))[1]\n"
        "fcntl.ioctl(probe, 0x8914, struct.pack('16sH', b'lo', flags | 1))\n"
        "ris = 'import sys; from ris_core.cli import main; sys.exit(main())'\n"
        "server = subprocess.Popen([sys.executable, '-c', ris, '--database', sys.argv[1], 'serve',"
        " '--host', '0.0.0.0', '--port', '8766'], stderr=subprocess.PIPE, text=True)\n"
        "status = 'none'\n"
        "for _ in range(200):\n"
        "    try:\n"
        "        request = urllib.request.Request('http://127.0.0.1:8766/api/contexts',"
        " headers={'Authorization': 'Bearer ' + sys.argv[2]})\n"
        "        status = urllib.request.urlopen(request, timeout=2).status\n"
        "        break\n"
        "    except OSError:\n"
        "        time.sleep(0.1)\n"
        "server.terminate()\n"
        "print('STATUS', status, server.communicate(timeout=20)[1])\n"
    )
    done = subprocess.run(
        [unshare, "-n", "--map-root-user", sys.executable, "-c", script, str(tmp_path / "r.db"), TOKEN],
        capture_output=True, text=True, timeout=120, env={**os.environ, "RIS_TOKEN": TOKEN},
    )  # fmt: skip
    assert "STATUS 200" in done.stdout, done.stdout + done.stderr
    assert TOKEN not in done.stdout + done.stderr
