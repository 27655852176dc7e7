"""The emulator on the wire, spoken to with raw HTTP: what the reference requires of it."""

from __future__ import annotations

import base64
import http.client
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import pytest

from ris_aspose.emulator import Emulator
from ris_core.testing.contract.base import photo_bytes

API = "/v3.0/imaging/ai/imageSearch"


class Wire:
    """A raw HTTP/1.1 connection, kept alive like the SDK's."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
        self.token = ""

    def send(
        self,
        method: str,
        target: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        authorized: bool = True,
    ) -> tuple[int, dict[str, str], bytes]:
        sent = dict(headers or {})
        if authorized:
            sent["Authorization"] = f"Bearer {self.token}"
        self.connection.request(method, target, body=body, headers=sent)
        response = self.connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()

    def login(self) -> None:
        form = b"grant_type=client_credentials&client_id=&client_secret="
        status, _, body = self.send(
            "POST", "/connect/token", form, {"Content-Type": "application/x-www-form-urlencoded"}, authorized=False
        )
        assert status == 200
        self.token = json.loads(body)["access_token"]


@pytest.fixture
def wire(emulator: Emulator) -> Iterator[Wire]:
    connection = Wire(emulator.url)
    connection.login()
    yield connection
    connection.connection.close()


def _multipart(name: str, data: bytes, filename: str | None = "image.png") -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    body = (
        f"--{boundary}\r\nContent-Disposition: {disposition}\r\n"
        + ("Content-Type: image/png\r\n" if filename else "")
        + "\r\n"
    ).encode() + data
    return body + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _create(wire: Wire, query: str = "") -> str:
    status, _, body = wire.send("POST", f"{API}/create{query}", headers={"Content-Type": "application/json"})
    assert status == 200
    answer = json.loads(body)
    assert answer["searchStatus"] == "Idle"
    return str(answer["id"])


def test_every_answer_has_a_content_length(wire: Wire) -> None:
    context = _create(wire)
    answers = [
        wire.send("GET", f"{API}/{context}/status"),
        wire.send("GET", f"{API}/{context}/image?imageId=missing"),  # 404
        wire.send("DELETE", f"{API}/{context}"),  # void 200
        wire.send("GET", f"{API}/nope/status", authorized=False),  # 401
    ]
    for status, headers, body in answers:
        assert int(headers["Content-Length"]) == len(body), status
    assert [status for status, _, _ in answers] == [200, 404, 200, 401]


def test_errors_have_the_shape_the_sdk_parses(wire: Wire) -> None:
    status, headers, body = wire.send("GET", f"{API}/no-such-context/status")
    assert status == 404 and headers["Content-Type"].startswith("application/json")
    error = json.loads(body)["error"]
    assert error["code"] == "SearchContextNotFound" and error["message"]
    assert set(error["innerError"]) == {"requestId", "date"} and error["innerError"]["date"].endswith("Z")


def test_context_ids_and_storage_paths_are_split_before_decoding(wire: Wire, emulator: Emulator) -> None:
    context = _create(wire, "?folder=f")
    body, content_type = _multipart("imageData", photo_bytes(1))
    image_id = quote("dir/a b+c.png", safe="")
    status, _, _ = wire.send(
        "POST", f"{API}/{context}/image?imageId={image_id}&folder=f", body, {"Content-Type": content_type}
    )
    assert status == 200
    assert emulator.storage_paths() == ["dir/a b+c.png", f"f/{context}.search"]  # the context's file lies in f
    status, _, found = wire.send("GET", f"/v3.0/imaging/storage/exist/{quote('dir/a b+c.png', safe='')}")
    assert json.loads(found) == {"exists": True, "isFolder": False}
    # Found by its id whatever the folder (the vendor's tag example relies on it), not across storages.
    assert wire.send("GET", f"{API}/{context}/status")[0] == 200
    assert wire.send("GET", f"{API}/{context}/status?storage=other")[0] == 404
    # Query strings are form-encoded: "+" is a space.
    status, _, image = wire.send("GET", f"{API}/{context}/image?imageId=dir%2Fa+b%2Bc.png&folder=f")
    assert status == 200 and image == photo_bytes(1)


def test_raw_bodies_and_multipart_parts_both_carry_images(wire: Wire) -> None:
    context = _create(wire)
    raw = wire.send(
        "POST", f"{API}/{context}/image?imageId=raw", photo_bytes(1), {"Content-Type": "application/octet-stream"}
    )
    body, content_type = _multipart("anything", photo_bytes(2))  # the first part, whatever its name
    part = wire.send("POST", f"{API}/{context}/image?imageId=part", body, {"Content-Type": content_type})
    assert raw[0] == part[0] == 200
    status, _, found = wire.send(
        "GET",
        f"{API}/{context}/findSimilar?similarityThreshold=99.5&maxCount=5&imageId=raw",
        headers={"Content-Type": "multipart/form-data"},
    )
    assert status == 200 and json.loads(found) == {"results": [{"imageId": "raw", "similarity": 100.0}]}


def test_find_similar_without_an_image_id_is_a_bad_request(wire: Wire) -> None:
    context = _create(wire)
    # What the SDK produces when a caller passes image_data to this GET: the body is dropped.
    status, _, answer = wire.send(
        "GET",
        f"{API}/{context}/findSimilar?similarityThreshold=60&maxCount=3",
        headers={"Content-Type": "multipart/form-data"},
    )
    assert status == 400 and json.loads(answer)["error"]["code"] == "BadRequest"


def test_features_are_padded_base64_and_results_camel_case(wire: Wire) -> None:
    context = _create(wire)
    body, content_type = _multipart("imageData", photo_bytes(1))
    wire.send("POST", f"{API}/{context}/image?imageId=a", body, {"Content-Type": content_type})
    status, _, answer = wire.send("GET", f"{API}/{context}/features?imageId=a")
    features = json.loads(answer)
    assert set(features) == {"imageId", "featuresCount", "featureLengthInBits", "features"}
    assert base64.b64decode(features["features"], validate=True)
    status, _, answer = wire.send("GET", f"{API}/{context}/findDuplicates?similarityThreshold=80")
    assert status == 200 and json.loads(answer) == {"duplicates": []}


def test_tags_arrive_as_a_json_string_field(wire: Wire) -> None:
    context = _create(wire)
    image, image_type = _multipart("imageData", photo_bytes(1))
    wire.send("POST", f"{API}/{context}/image?imageId=a", image, {"Content-Type": image_type})
    wire.send("POST", f"{API}/{context}/addTag?tagName=My+Tag", image, {"Content-Type": image_type})
    tags, tags_type = _multipart("tags", b'["My Tag"]', filename=None)
    status, _, answer = wire.send(
        "POST", f"{API}/{context}/findByTags?similarityThreshold=90&maxCount=5", tags, {"Content-Type": tags_type}
    )
    assert status == 200 and [r["imageId"] for r in json.loads(answer)["results"]] == ["a"]
    unknown, unknown_type = _multipart("tags", b'["nope"]', filename=None)
    status, _, answer = wire.send(
        "POST", f"{API}/{context}/findByTags?similarityThreshold=90&maxCount=5", unknown, {"Content-Type": unknown_type}
    )
    assert status == 404 and json.loads(answer)["error"]["code"] == "TagNotFound"


def test_faults_can_be_injected_over_http(wire: Wire) -> None:
    spec = json.dumps({"kind": "rate_limit", "retry_after": 3, "path": "/status"}).encode()
    status, _, answer = wire.send("POST", "/_emulator/faults", spec, authorized=False)
    assert status == 201 and json.loads(answer)["kind"] == "rate_limit"
    assert len(json.loads(wire.send("GET", "/_emulator/faults", authorized=False)[2])) == 1
    context = _create(wire)
    status, headers, _ = wire.send("GET", f"{API}/{context}/status")
    assert status == 429 and headers["Retry-After"] == "3"
    assert wire.send("GET", f"{API}/{context}/status")[0] == 200
    status, _, answer = wire.send("POST", "/_emulator/faults", b'{"kind": "meteor"}', authorized=False)
    assert status == 400 and "unknown fault kind" in json.loads(answer)["error"]["message"]
    log = json.loads(wire.send("GET", "/_emulator/requests", authorized=False)[2])
    assert [entry["status"] for entry in log if entry["path"].endswith("/status")] == [429, 200]


def test_expired_tokens_and_reset_over_http(wire: Wire, emulator: Emulator) -> None:
    context = _create(wire)
    wire.send("POST", "/_emulator/faults", b'{"kind": "expire_tokens"}', authorized=False)
    assert wire.send("GET", f"{API}/{context}/status")[0] == 401
    wire.login()
    assert wire.send("GET", f"{API}/{context}/status")[0] == 200
    assert wire.send("POST", "/_emulator/reset", authorized=False)[0] == 200
    assert emulator.requests == [] and emulator.storage_paths() == []


def test_dropped_connections_close_without_an_answer(wire: Wire, emulator: Emulator) -> None:
    emulator.inject("drop")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        wire.send("GET", f"{API}/x/status")


def test_busy_polls_hold_writes_back(emulator: Emulator, wire: Wire) -> None:
    emulator.service.busy_polls = 2
    context = _create(wire)
    body, content_type = _multipart("imageData", photo_bytes(1))
    wire.send("POST", f"{API}/{context}/image?imageId=a", body, {"Content-Type": content_type})
    search = f"{API}/{context}/findSimilar?similarityThreshold=0&maxCount=5&imageId=a"
    assert json.loads(wire.send("GET", search)[2]) == {"results": []}
    statuses = [json.loads(wire.send("GET", f"{API}/{context}/status")[2])["searchStatus"] for _ in range(3)]
    assert statuses == ["ExtractingFeatures", "MatchingFeatures", "Idle"]
    assert [r["imageId"] for r in json.loads(wire.send("GET", search)[2])["results"]] == ["a"]


def test_the_command_line_serves_until_stopped() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "ris_aspose.emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "listening on http://127.0.0.1:" in line, line + (process.stderr.read() if process.stderr else "")
        connection = Wire(line.split("listening on ")[1].split()[0])
        connection.login()
        assert connection.token
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_emulator_needs_neither_the_sdk_nor_urllib3() -> None:
    code = "import sys, ris_aspose.emulator; assert not {'asposeimagingcloud', 'urllib3'} & set(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
