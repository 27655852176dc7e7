"""The HTTP API through FastAPI's test client: every route, and every error status
with its JSON body."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ris_core import errors
from ris_core.errors import ContextBusyError, ServiceUnavailableError
from ris_core.server import ServerSettings
from ris_core.server.errors import status_for
from ris_core.system import ImageSearch
from ris_core.testing.images import bomb_png, not_an_image
from tests.server.conftest import copy_jpeg, png

Client = TestClient


def error_of(response: object, status: int, error_type: str | None = None) -> str:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message"}
    if error_type is not None:
        assert body["error"]["type"] == error_type
    return str(body["error"]["message"])


@pytest.fixture
def filled(client: Client) -> Client:
    """Context 'photos': p1..p3 and a near copy of p1 under a sub-folder id."""
    for seed in (1, 2, 3):
        assert client.put(f"/api/contexts/photos/images/p{seed}.png", content=png(seed)).status_code == 201
    response = client.put(
        "/api/contexts/photos/images/copies/p1.jpg",
        files={"file": ("anything.jpg", copy_jpeg(1), "image/jpeg")},
        data={"metadata": '{"kind": "copy"}'},
    )
    assert response.status_code == 201
    return client


def test_contexts_list_create_read_delete(client: Client) -> None:
    assert client.get("/api/contexts").json() == {"contexts": []}
    assert client.put("/api/contexts/holiday").status_code == 201
    error_of(client.put("/api/contexts/holiday"), 409, "ContextExistsError")
    listed = client.get("/api/contexts").json()["contexts"]
    assert [(c["name"], c["image_count"]) for c in listed] == [("holiday", 0)]
    assert client.get("/api/contexts/holiday").json() == {
        "name": "holiday",
        "images": 0,
        "state": "idle",
        "detail": "Idle",
    }
    assert client.delete("/api/contexts/holiday").status_code == 204
    error_of(client.get("/api/contexts/holiday"), 404, "ContextNotFoundError")
    assert client.get("/api/backends").json()["current"] == "local"


def test_put_image_as_body_or_multipart_creates_the_context_and_replaces(filled: Client) -> None:
    assert filled.get("/api/contexts/photos").json()["images"] == 4
    assert filled.get("/api/contexts/photos/images/p1.png").content == png(1)
    assert filled.get("/api/contexts/photos/images/copies/p1.jpg").headers["content-type"] == "image/jpeg"
    replaced = filled.put("/api/contexts/photos/images/p2.png", content=png(5))
    assert replaced.status_code == 200 and replaced.json() == {"image_id": "p2.png", "created": False}
    assert filled.get("/api/contexts/photos/images/p2.png").content == png(5)
    error_of(filled.put("/api/contexts/photos/images/p2.png?replace=false", content=png(6)), 409, "ImageExistsError")
    assert filled.delete("/api/contexts/photos/images/p2.png").status_code == 204
    error_of(filled.get("/api/contexts/photos/images/p2.png"), 404, "ImageNotFoundError")


def test_list_images_pages_and_filters(filled: Client) -> None:
    page = filled.get("/api/contexts/photos/images?offset=1&limit=2").json()
    assert page["total"] == 4 and [i["image_id"] for i in page["images"]] == ["p1.png", "p2.png"]
    narrowed = filled.get("/api/contexts/photos/images", params={"where": '{"kind": "copy"}'}).json()
    assert [i["image_id"] for i in narrowed["images"]] == ["copies/p1.jpg"]
    assert narrowed["images"][0]["metadata"] == {"kind": "copy"}


def test_search_by_upload_returns_the_documented_shape(filled: Client) -> None:
    response = filled.post(
        "/api/contexts/photos/search", files={"file": ("q.jpg", copy_jpeg(3))}, data={"max_count": "2"}
    )
    results = response.json()["results"]
    assert results[0]["image_id"] == "p3.png" and len(results) <= 2
    assert set(results[0]) == {"image_id", "similarity", "method", "distance", "metadata"}
    by_query = filled.post("/api/contexts/photos/search?threshold=99.5", files={"file": ("q.png", png(2))}).json()
    assert [r["image_id"] for r in by_query["results"]] == ["p2.png"]
    by_id = filled.post("/api/contexts/photos/search", data={"image_id": "p1.png"}).json()["results"]
    assert [r["image_id"] for r in by_id] == ["copies/p1.jpg"] and by_id[0]["metadata"] == {"kind": "copy"}
    similar = filled.get("/api/contexts/photos/similar/copies/p1.jpg").json()["results"]
    assert [r["image_id"] for r in similar] == ["p1.png"]


def test_compare_stored_and_uploaded(filled: Client) -> None:
    stored = filled.get("/api/contexts/photos/compare", params={"first": "p1.png", "second": "copies/p1.jpg"}).json()
    assert stored["image_id"] == "p1.png" and stored["similarity"] > 80
    uploaded = filled.post("/api/contexts/photos/compare/p2.png", files={"file": ("q.png", png(2))}).json()
    assert uploaded["other_id"] is None and uploaded["similarity"] == 100


def test_thumbnails_are_small_and_made_once(filled: Client, settings: object) -> None:
    from pathlib import Path

    from PIL import Image

    response = filled.get("/api/contexts/photos/thumbnails/p1.png")
    thumbnail = Image.open(io.BytesIO(response.content))
    assert response.headers["content-type"] == "image/jpeg" and max(thumbnail.size) == 160
    cached = list(Path(settings.thumbnails).rglob("*.jpg"))  # type: ignore[attr-defined]
    assert len(cached) == 1
    stamp = cached[0].stat().st_mtime_ns
    assert filled.get("/api/contexts/photos/thumbnails/p1.png").content == response.content
    assert cached[0].stat().st_mtime_ns == stamp  # served from the cache, not made again
    assert (
        max(Image.open(io.BytesIO(filled.get("/api/contexts/photos/thumbnails/p1.png?size=320").content)).size) == 320
    )
    error_of(filled.get("/api/contexts/photos/thumbnails/p1.png?size=4000"), 400)
    error_of(filled.get("/api/contexts/photos/thumbnails/nope.png"), 404, "ImageNotFoundError")


def test_image_info_metadata_and_features(filled: Client) -> None:
    info = filled.get("/api/contexts/photos/info/p1.png").json()
    assert (info["width"], info["height"], info["size"], info["source"]) == (320, 240, len(png(1)), None)
    assert filled.put("/api/contexts/photos/metadata/p1.png", content=b'{"year": 2020}').json() == {"year": 2020}
    assert filled.patch("/api/contexts/photos/metadata/p1.png", content=b'{"place": "x"}').json() == {
        "year": 2020,
        "place": "x",
    }
    assert filled.get("/api/contexts/photos/metadata/p1.png").json() == {"year": 2020, "place": "x"}
    assert filled.delete("/api/contexts/photos/metadata/p1.png").status_code == 204
    assert filled.get("/api/contexts/photos/metadata/p1.png").json() == {}
    error_of(filled.put("/api/contexts/photos/metadata/p1.png", content=b"[1, 2]"), 400)
    features = filled.get("/api/contexts/photos/features/p1.png").json()
    assert features["image_id"] == "p1.png" and features["algorithm"]
    assert filled.post("/api/contexts/photos/features", content=png(1)).json()["data"] == features["data"]
    assert filled.delete("/api/contexts/photos/features/p1.png").status_code == 204
    error_of(filled.get("/api/contexts/photos/features/p1.png"), 404, "FeaturesNotFoundError")
    assert filled.put("/api/contexts/photos/features/p1.png").status_code == 204
    assert filled.get("/api/contexts/photos/features/p1.png").json()["data"] == features["data"]


def test_tags_and_collections(filled: Client) -> None:
    tag = filled.put("/api/contexts/photos/tags/three", files=[("file", ("r.jpg", copy_jpeg(3)))])
    assert tag.status_code == 201 and filled.get("/api/contexts/photos/tags").json() == {"tags": {"three": 1}}
    found = filled.get("/api/contexts/photos/tags/three/images").json()["results"]
    assert found[0]["image_id"] == "p3.png"
    error_of(filled.get("/api/contexts/photos/tags/none/images"), 404, "TagNotFoundError")
    created = filled.put("/api/contexts/photos/collections/best", json={"image_ids": ["p1.png"]})
    assert created.status_code == 201
    error_of(filled.put("/api/contexts/photos/collections/best"), 409, "CollectionExistsError")
    filled.post("/api/contexts/photos/collections/best/images", json={"image_ids": ["p3.png"]})
    assert filled.get("/api/contexts/photos/collections/best").json()["image_ids"] == ["p1.png", "p3.png"]
    filled.post("/api/contexts/photos/collections/best/remove", json={"image_ids": ["p1.png"]})
    assert filled.post("/api/contexts/photos/collections/best/rename", json={"name": "top"}).json() == {"name": "top"}
    listed = filled.get("/api/contexts/photos/collections").json()["collections"]
    assert [(c["name"], c["image_count"]) for c in listed] == [("top", 1)]
    page = filled.get("/api/contexts/photos/images?collection=top").json()
    assert [i["image_id"] for i in page["images"]] == ["p3.png"]
    assert filled.delete("/api/contexts/photos/collections/top").status_code == 204
    error_of(filled.get("/api/contexts/photos/collections/top"), 404, "CollectionNotFoundError")
    error_of(filled.put("/api/contexts/photos/collections/x", content=b"{not json"), 400)


def test_duplicates_review_plan_apply_and_not_duplicates(filled: Client) -> None:
    groups = filled.get("/api/contexts/photos/duplicates").json()["groups"]
    assert [[m["image_id"] for m in g["images"]] for g in groups] == [["copies/p1.jpg", "p1.png"]]
    member = groups[0]["images"][1]
    assert (member["width"], member["height"], member["size"]) == (320, 240, len(png(1)))
    plan = filled.post("/api/contexts/photos/duplicates/plan", json={"keep": "largest-resolution"}).json()
    assert plan["keep"] == ["p1.png"] and plan["applied"] is False
    assert [(s["image_id"], s["action"]) for s in plan["steps"]] == [("copies/p1.jpg", "unindex")]
    moved = filled.post("/api/contexts/photos/duplicates/plan", json={"action": "delete"}).json()
    assert "no file" in moved["steps"][0]["refused"]  # copies have no source file to delete
    stale = {"keep": "largest-resolution", "fingerprint": "0" * 16}
    error_of(filled.post("/api/contexts/photos/duplicates/apply", json=stale), 409, "PlanChangedError")
    assert filled.get("/api/contexts/photos").json()["images"] == 4  # nothing happened
    applied = filled.post(
        "/api/contexts/photos/duplicates/apply", json={"keep": "largest-resolution", "fingerprint": plan["fingerprint"]}
    ).json()
    assert applied["outcomes"] == [{"image_id": "copies/p1.jpg", "done": True, "error": ""}]
    assert filled.get("/api/contexts/photos").json()["images"] == 3
    filled.put("/api/contexts/photos/images/again.jpg", content=copy_jpeg(1))
    assert len(filled.get("/api/contexts/photos/duplicates").json()["groups"]) == 1
    marked = filled.post("/api/contexts/photos/not-duplicates", json={"first": "p1.png", "second": "again.jpg"})
    assert marked.status_code == 201
    assert filled.get("/api/contexts/photos/not-duplicates").json() == {"pairs": [["again.jpg", "p1.png"]]}
    assert filled.get("/api/contexts/photos/duplicates").json() == {"groups": []}
    assert filled.delete("/api/contexts/photos/not-duplicates?first=p1.png&second=again.jpg").status_code == 204
    assert len(filled.get("/api/contexts/photos/duplicates").json()["groups"]) == 1
    error_of(filled.post("/api/contexts/photos/duplicates/plan", json={"keep": "biggest"}), 400)
    error_of(filled.post("/api/contexts/photos/duplicates/plan", json={"action": "move"}), 400)
    outside = {"action": "move", "to": "/etc"}
    assert "not inside a folder" in error_of(filled.post("/api/contexts/photos/duplicates/plan", json=outside), 400)
    error_of(filled.post("/api/contexts/photos/not-duplicates", json={"first": "p1.png", "second": "gone"}), 404)


def test_ingest_uploads_streams_progress(client: Client) -> None:
    files = [("file", ("a.png", png(1))), ("file", ("b.png", png(2))), ("file", ("broken.png", not_an_image()))]
    response = client.post("/api/contexts/new/ingest", files=files)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [
        (block.split("\n")[0].removeprefix("event: "), json.loads(block.split("\n")[1].removeprefix("data: ")))
        for block in response.text.strip().split("\n\n")
    ]
    assert events[0] == ("start", {"context": "new", "total": 3})
    progress = [data for name, data in events if name == "progress"]
    assert sorted(p["done"] for p in progress) == [1, 2, 3]
    assert {p["image_id"]: p["status"] for p in progress} == {
        "a.png": "added",
        "b.png": "added",
        "broken.png": "failed",
    }
    assert events[-1] == ("done", {"summary": {"added": 2, "updated": 0, "skipped": 0, "failed": 1}, "images": 2})
    info = client.get("/api/contexts/new/info/a.png").json()
    assert info["reference"] is False and info["source"] is None  # an upload is stored as a copy


def test_ingest_from_an_allowed_server_folder_only(client: Client, settings: object, tmp_path: object) -> None:
    from pathlib import Path

    allowed = Path(settings.folders[0])  # type: ignore[attr-defined]
    (allowed / "trip").mkdir()
    (allowed / "trip" / "x.png").write_bytes(png(4))
    assert client.get("/api/folders").json() == {"folders": [str(allowed)]}
    response = client.post("/api/contexts/f/ingest", data={"folder": str(allowed)})
    assert '"image_id": "trip/x.png", "status": "added"' in response.text  # ids relative, never server paths
    assert client.get("/api/contexts/f/images").json()["images"][0]["image_id"] == "trip/x.png"
    # The files live on the server, so the new context refers to them, as ris index does.
    info = client.get("/api/contexts/f/info/trip/x.png").json()
    assert info["reference"] is True and info["source"] == str(allowed / "trip" / "x.png")
    error_of(client.post("/api/contexts/f/ingest", data={"folder": str(tmp_path)}), 400, "FolderNotAllowedError")
    error_of(client.post("/api/contexts/f/ingest", data={"folder": str(allowed / ".." / "..")}), 400)
    error_of(client.post("/api/contexts/f/ingest", data={}), 400)


def test_statistics(filled: Client) -> None:
    filled.post("/api/contexts/photos/search", files={"file": ("q.png", png(1))})
    filled.get("/api/contexts/photos/similar/p2.png")
    stats = filled.get("/api/contexts/photos/stats").json()
    assert stats["images"] == 4 and stats["searches"]["find_similar_images"] == 2
    assert set(stats["latency"]["find_similar_images"]) == {"count", "mean", "p50", "p90", "p99", "max"}
    assert ["p2.png", 1] in stats["most_searched"]
    assert stats["dropped"] == 0  # every search's statistics were written


def test_export_and_import(filled: Client) -> None:
    exported = filled.get("/api/contexts/photos/export")
    assert exported.headers["content-type"] == "application/gzip"
    with tarfile.open(fileobj=io.BytesIO(exported.content)) as archive:
        assert any(name.endswith("manifest.json") for name in archive.getnames())
    imported = filled.post("/api/import?name=restored", files={"file": ("photos.tar.gz", exported.content)}).json()
    assert imported["context"] == "restored" and imported["summary"]["added"] == 4
    assert filled.get("/api/contexts/restored/metadata/copies/p1.jpg").json() == {"kind": "copy"}
    error_of(filled.post("/api/import", files={"file": ("x.tar.gz", b"not a tar")}), 400)


def test_searches_of_stored_images_take_one_set_of_options(filled: Client) -> None:
    """By id, by tag and by upload: the same query parameters, documented alike, with
    the same effect."""
    paths = filled.get("/openapi.json").json()["paths"]

    def query_parameters(path: str, method: str) -> dict[str, object]:
        return {p["name"]: p["schema"] for p in paths[path][method]["parameters"] if p["in"] == "query"}

    by_id = query_parameters("/api/contexts/{context}/similar/{image_id}", "get")
    assert set(by_id) == {"threshold", "max_count", "where", "collection"}
    assert query_parameters("/api/contexts/{context}/tags/{tag}/images", "get") == by_id
    assert query_parameters("/api/contexts/{context}/search", "post") == by_id
    filled.put("/api/contexts/photos/tags/one", files=[("file", ("r.png", png(1)))])
    copies = {"where": '{"kind": "copy"}'}
    for path in ("/api/contexts/photos/similar/p1.png", "/api/contexts/photos/tags/one/images"):
        assert [r["image_id"] for r in filled.get(path, params=copies).json()["results"]] == ["copies/p1.jpg"]
        assert len(filled.get(path, params={"max_count": 1}).json()["results"]) == 1
        error_of(filled.get(path, params={"where": "[1]"}), 400, "InvalidRequestError")
    by_form = filled.post("/api/contexts/photos/search", files={"file": ("q.png", png(1))}, data=copies).json()
    assert [r["image_id"] for r in by_form["results"]] == ["copies/p1.jpg"]


def test_openapi_and_the_page(client: Client) -> None:
    document = client.get("/openapi.json").json()
    for path in (
        "/api/contexts",
        "/api/contexts/{context}/images/{image_id}",
        "/api/contexts/{context}/search",
        "/api/contexts/{context}/duplicates",
    ):
        assert path in document["paths"], path
    put = document["paths"]["/api/contexts/{context}/images/{image_id}"]["put"]
    assert "file" in put["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]
    search = document["paths"]["/api/contexts/{context}/search"]["post"]["requestBody"]["content"]
    assert {"file", "threshold", "max_count"} <= set(search["multipart/form-data"]["schema"]["properties"])
    page = client.get("/")
    assert page.status_code == 200 and 'id="results"' in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/docs").status_code == 404  # FastAPI's docs page would load a CDN
    for asset in ("/static/app.js", "/static/style.css"):
        assert client.get(asset).status_code == 200
    assert "http" not in page.text.replace("http-equiv", "")  # no CDN, nothing from elsewhere


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "error_type"),
    [
        ("put", "/api/contexts/photos/images/bad.png", {"content": not_an_image()}, 400, "InvalidImageError"),
        ("put", "/api/contexts/photos/images/x/%2E%2E/y.png", {"content": png(1)}, 400, "InvalidIdError"),
        ("put", "/api/contexts/photos/images/%2Fetc%2Fpasswd", {"content": png(1)}, 400, "InvalidIdError"),
        ("put", "/api/contexts/photos/images/a%5Cb.png", {"content": png(1)}, 400, "InvalidIdError"),
        ("put", "/api/contexts/photos/images/empty.png", {"content": b""}, 400, "EmptyImageError"),
        ("put", "/api/contexts/photos/images/bomb.png", {"content": bomb_png()}, 413, "ImageTooLargeError"),
        ("put", "/api/contexts/photos/images/huge.png", {"content": b"\0" * (3 * 1024 * 1024)}, 413, None),
        ("put", "/api/contexts/photos/images/form.png", {"data": {"x": "1"}}, 400, None),
        ("post", "/api/contexts/photos/search", {"files": {"file": ("q", b"\0" * (3 << 20))}}, 413, None),
        ("post", "/api/contexts/photos/search?threshold=150", {"files": {"file": ("q", png(1))}}, 400, None),
        (
            "post",
            "/api/contexts/photos/search",
            {"files": {"file": ("q", png(1))}, "data": {"max_count": "0"}},
            400,
            None,
        ),
        (
            "post",
            "/api/contexts/photos/search",
            {"files": {"file": ("q", png(1))}, "data": {"max_count": "x"}},
            400,
            None,
        ),
        ("post", "/api/contexts/photos/search", {"content": png(1)}, 400, None),
        ("post", "/api/contexts/photos/search?where=[1]", {"files": {"file": ("q", png(1))}}, 400, None),
        ("post", "/api/contexts/nowhere/search", {"files": {"file": ("q", png(1))}}, 404, "ContextNotFoundError"),
        ("get", "/api/contexts/photos/similar/missing.png", {}, 404, "ImageNotFoundError"),
        ("get", "/api/contexts/photos/images?limit=0", {}, 400, "InvalidRequestError"),
        ("get", "/api/no/such/route", {}, 404, "NotFoundError"),
        ("put", "/api/contexts/bad%20name%20/images/a.png", {"content": png(1)}, 400, "InvalidIdError"),
    ],
)
def test_error_statuses_and_bodies(
    filled: Client, method: str, path: str, kwargs: dict[str, object], status: int, error_type: str | None
) -> None:
    error_of(getattr(filled, method)(path, **kwargs), status, error_type)
    assert filled.get("/api/contexts/photos").json()["images"] == 4  # a refused request stored nothing


@pytest.mark.parametrize(
    "failure", [ServiceUnavailableError("the service is down for maintenance"), ContextBusyError("still indexing")]
)
def test_a_backend_that_is_down_or_busy_is_503(
    filled: Client, system: ImageSearch, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    def down(*args: object) -> None:
        raise failure

    monkeypatch.setattr(system.backend, "find_similar", down)
    message = error_of(filled.get("/api/contexts/photos/similar/p1.png"), 503, type(failure).__name__)
    assert message == str(failure)


def test_every_error_of_the_tree_has_its_status() -> None:
    # The base class says nothing about what went wrong: it alone is a 500.
    for name in set(errors.__all__) - {"RisError"}:
        error_class = getattr(errors, name)
        assert status_for(error_class("x")) < 500 or status_for(error_class("x")) in (501, 503), name
    assert status_for(errors.ImageTooLargeError("x")) == 413 and status_for(errors.ContextNotFoundError("x")) == 404
    assert status_for(errors.BackendUnavailableError("x")) == 503 and status_for(errors.InvalidIdError("x")) == 400
    assert status_for(KeyError("not ours")) == 500


def ingest_folder(client: Client, context: str, folder: Path) -> dict[str, int]:
    """Ingest a server folder over HTTP; the counts of its ``done`` event."""
    response = client.post(f"/api/contexts/{context}/ingest", data={"folder": str(folder)})
    assert response.status_code == 200, response.text
    name, data = response.text.strip().split("\n\n")[-1].split("\n")
    assert name == "event: done", response.text
    summary: dict[str, int] = json.loads(data.removeprefix("data: "))["summary"]
    return summary


def apply_review(client: Client, wanted: dict[str, object]) -> list[dict[str, object]]:
    """Plan ``wanted`` over HTTP, apply that plan, and return its outcomes."""
    plan = client.post("/api/contexts/photos/duplicates/plan", json=wanted).json()
    applied = client.post("/api/contexts/photos/duplicates/apply", json={**wanted, "fingerprint": plan["fingerprint"]})
    assert applied.status_code == 200, applied.text
    outcomes: list[dict[str, object]] = applied.json()["outcomes"]
    return outcomes


def test_file_actions_over_http_on_reference_images_stay_inside_the_allowed_folders(
    client: Client, system: ImageSearch, settings: ServerSettings, tmp_path: Path
) -> None:
    allowed, elsewhere = Path(settings.folders[0]), tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "p1.png").write_bytes(png(1))
    (allowed / "copies").mkdir()
    (allowed / "p3.png").write_bytes(png(3))
    (allowed / "copies" / "p1.jpg").write_bytes(copy_jpeg(1))
    (allowed / "copies" / "p3.jpg").write_bytes(copy_jpeg(3))
    # p1.png indexed by the library (as ``ris index`` would) from outside the folders
    # the server may change; the rest ingested over HTTP from an allowed folder.
    system.create_context("photos", by_reference=True).add_images([elsewhere], progress=False)
    assert ingest_folder(client, "photos", allowed)["added"] == 3
    groups = client.get("/api/contexts/photos/duplicates").json()["groups"]
    sources = {m["image_id"]: m["source"] for group in groups for m in group["images"]}
    assert sources == {
        "p1.png": str(elsewhere / "p1.png"),
        "copies/p1.jpg": str(allowed / "copies" / "p1.jpg"),
        "p3.png": str(allowed / "p3.png"),
        "copies/p3.jpg": str(allowed / "copies" / "p3.jpg"),
    }
    p1_group = next(n for n, group in enumerate(groups) if "p1.png" in [m["image_id"] for m in group["images"]])

    keep_copy = {"keep": "largest-file", "action": "delete", "chosen": {str(p1_group): "copies/p1.jpg"}}
    steps = {
        s["image_id"]: s for s in client.post("/api/contexts/photos/duplicates/plan", json=keep_copy).json()["steps"]
    }
    assert "outside the folders" in steps["p1.png"]["refused"] and steps["copies/p3.jpg"]["refused"] == ""
    assert (elsewhere / "p1.png").exists() and (allowed / "copies" / "p3.jpg").exists()  # a plan changes nothing

    aside = allowed / "aside"
    outcomes = apply_review(client, {"keep": "largest-resolution", "action": "move", "to": str(aside)})
    assert sorted((o["image_id"], o["done"]) for o in outcomes) == [("copies/p1.jpg", True), ("copies/p3.jpg", True)]
    assert sorted(f.name for f in aside.iterdir()) == ["p1.jpg", "p3.jpg"] and not list((allowed / "copies").iterdir())
    assert (elsewhere / "p1.png").exists() and (allowed / "p3.png").exists()
    images = {i["image_id"] for i in client.get("/api/contexts/photos/images").json()["images"]}
    assert images == {"p1.png", "p3.png"}  # a moved duplicate leaves the index
    assert client.get("/api/contexts/photos/duplicates").json() == {"groups": []}

    for name in ("p1.jpg", "p3.jpg"):
        (aside / name).rename(allowed / "copies" / name)
    assert ingest_folder(client, "photos", allowed)["added"] == 2
    outcomes = apply_review(client, {"keep": "largest-resolution", "action": "link"})
    assert all(o["done"] for o in outcomes) and len(outcomes) == 2
    for name, kept in (("p1.jpg", elsewhere / "p1.png"), ("p3.jpg", allowed / "p3.png")):
        link = allowed / "copies" / name
        assert link.is_symlink() and Path(os.readlink(link)) == kept.resolve()
    assert {i["image_id"] for i in client.get("/api/contexts/photos/images").json()["images"]} == images

    for name in ("p1.jpg", "p3.jpg"):
        (allowed / "copies" / name).unlink()
    (allowed / "copies" / "p3.jpg").write_bytes(copy_jpeg(3))
    assert ingest_folder(client, "photos", allowed)["added"] == 1
    (outcome,) = apply_review(client, {"keep": "largest-resolution", "action": "delete"})
    assert outcome["image_id"] == "copies/p3.jpg" and outcome["done"], outcome
    assert not (allowed / "copies" / "p3.jpg").exists() and (allowed / "p3.png").exists()
    assert {i["image_id"] for i in client.get("/api/contexts/photos/images").json()["images"]} == images
