"""How the backend holds against the real service's behaviour (issue 16), one section
per finding: duplicates in one request, the folder rule, errors by meaning, downloads
under threads, asynchronous writes, retries within a deadline, scratch files, typed
options, and ranking that does not trust the service's cut."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import ris_core
from ris_aspose.emulator import Emulator
from ris_core import errors
from ris_core.cli.app import main as cli_main
from ris_core.retry import RetryPolicy
from ris_core.system import ImageSearch
from ris_core.testing.contract.base import near_copy_bytes, photo_bytes

OpenSystem = Callable[..., ImageSearch]
SEARCH_API = "/imaging/ai/imageSearch/"


def _operations(emulator: Emulator) -> list[str]:
    """The imageSearch operation of each request, in order (``status``, ``findDuplicates``...)."""
    return [r.path.rsplit("/", 1)[-1] for r in emulator.requests if SEARCH_API in r.path]


def _gallery(system: ImageSearch, name: str = "gallery", seeds: range = range(8)) -> ris_core.SearchContext:
    context = system.create_context(name)
    for seed in seeds:
        context.add_image(f"p{seed}", photo_bytes(seed))
    for seed in (1, 4):
        context.add_image(f"p{seed}-copy", near_copy_bytes(seed))
    return context


def _recording(attempts: int = 4) -> tuple[RetryPolicy, list[float]]:
    waits: list[float] = []
    return RetryPolicy(attempts=attempts, base_delay=0.001, max_delay=30.0, sleep=waits.append), waits


# --- 1. duplicates in one request --------------------------------------------------


def test_find_duplicates_is_one_request_with_the_services_groups(emulator: Emulator, system: ImageSearch) -> None:
    gallery = _gallery(system)
    emulator.clear_requests()
    groups = gallery.find_duplicates()
    assert [group.image_ids for group in groups] == [("p1", "p1-copy"), ("p4", "p4-copy")]
    assert _operations(emulator) == ["findDuplicates"]
    assert all(group.images[0].similarity == 100.0 for group in groups)


def test_find_duplicates_has_its_own_timeout(emulator: Emulator, open_system: OpenSystem) -> None:
    gallery = _gallery(open_system(timeout=0.3, duplicates_timeout=5), seeds=range(3))
    gallery.find_duplicates(threshold=50)  # the engine's first pairing is slow: warm it up
    emulator.clear_requests()
    emulator.inject("stall", path="/findDuplicates", seconds=0.8)  # beyond timeout, within duplicates_timeout
    assert [group.image_ids for group in gallery.find_duplicates()] == [("p1", "p1-copy")]
    assert _operations(emulator) == ["findDuplicates"]


def test_a_timed_out_find_duplicates_is_retried_only_after_a_status_check(
    emulator: Emulator, open_system: OpenSystem
) -> None:
    gallery = _gallery(open_system(duplicates_timeout=3), seeds=range(3))
    gallery.find_duplicates(threshold=50)  # the engine's first pairing is slow: warm it up
    emulator.clear_requests()
    emulator.inject("stall", path="/findDuplicates", seconds=8.0)
    assert [group.image_ids for group in gallery.find_duplicates()] == [("p1", "p1-copy")]
    operations = _operations(emulator)
    assert operations[0] == "findDuplicates" and operations[-1] == "findDuplicates"
    assert operations.count("findDuplicates") == 2 and "status" in operations[1:-1]


# --- 2. folder and paths as the vendor uses them ------------------------------------


def test_image_search_calls_follow_the_vendor_folder_rule(emulator: Emulator, open_system: OpenSystem) -> None:
    system = open_system(folder="team/ris")
    gallery = _gallery(system, seeds=range(3))
    gallery.find_similar_images(image=photo_bytes(1))
    gallery.find_duplicates()
    gallery.create_tag("t", [photo_bytes(2)])
    gallery.find_images_by_tags(["t"])
    search_calls = [r for r in emulator.requests if SEARCH_API in r.path]
    assert search_calls and all("folder" not in r.query for r in search_calls)
    image_ids = {r.query["imageId"] for r in search_calls if "imageId" in r.query}
    assert image_ids and all(image_id.startswith("team/ris/") for image_id in image_ids)
    # Only the service's own context files lie outside it, at the root (where folder=None puts them).
    assert all(path.startswith("team/ris/") or path.endswith(".search") for path in emulator.storage_paths())


def test_the_vendors_example_request_shapes_run_unchanged(emulator: Emulator) -> None:
    """The calls of the SDK's Examples/asposeimagingcloudexamples/AI/*.py, with our pictures."""
    from asposeimagingcloud import ImagingApi
    from asposeimagingcloud.models import requests as rq

    api = ImagingApi(client_secret="any-secret", client_id="any-id", base_url=emulator.url)
    api.api_client.configuration.temp_folder_path = tempfile.mkdtemp()
    context = api.create_image_search(rq.CreateImageSearchRequest("akaze", "randomBinaryTree", None, None)).id
    with tempfile.TemporaryDirectory() as local:
        for seed in range(1, 5):
            path = Path(local, f"{seed}.jpg")
            path.write_bytes(photo_bytes(seed, "JPEG"))
            api.upload_file(rq.UploadFileRequest(f"Examples/AI/FindSimilar/{seed}.jpg", str(path)))
        copy = Path(local, "copy.jpg")
        copy.write_bytes(near_copy_bytes(4))
        api.upload_file(rq.UploadFileRequest("Examples/AI/Copy.jpg", str(copy)))
        api.create_image_features(rq.CreateImageFeaturesRequest(context, images_folder="Examples/AI/FindSimilar"))
        api.create_image_features(rq.CreateImageFeaturesRequest(context, image_id="Examples/AI/Copy.jpg"))
        while api.get_image_search_status(rq.GetImageSearchStatusRequest(context)).search_status != "Idle":
            time.sleep(0.01)
        similar = api.find_similar_images(
            rq.FindSimilarImagesRequest(context, 60, 3, image_id="Examples/AI/FindSimilar/4.jpg")
        )
        assert "Examples/AI/Copy.jpg" in [result.image_id for result in similar.results]
        duplicates = api.find_image_duplicates(rq.FindImageDuplicatesRequest(context, 60, None, None))
        assert len(duplicates.duplicates) == 1
        # The tag example addresses the context with folder=Examples/AI, although it was
        # created at the storage root: the service finds a context by its id.
        api.create_image_tag(rq.CreateImageTagRequest(str(copy), context, "ImageTag", "Examples/AI", None))
        found = api.find_images_by_tags(
            rq.FindImagesByTagsRequest(json.dumps(["ImageTag"]), context, 60, 5, "Examples/AI", None)
        )
        assert any("4.jpg" in result.image_id for result in found.results)
        compared = api.compare_images(
            rq.CompareImagesRequest(context, "Examples/AI/FindSimilar/4.jpg", image_id2="Examples/AI/Copy.jpg")
        )
        assert len(compared.results) == 1 and compared.results[0].similarity >= 70
    api.delete_image_search(rq.DeleteImageSearchRequest(context, None, None))


# --- 3. errors by meaning ----------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (404, "SomethingNobodyDocumented", "gone"),
        (400, "BadRequest", "Search context 123 does not exist"),
        (500, "SearchContextNotFound", "the search context was not found"),
    ],
)
def test_context_exists_is_false_however_the_service_says_unknown(
    emulator: Emulator, system: ImageSearch, status: int, code: str, message: str
) -> None:
    context = system.create_context("x")
    emulator.clear_requests()
    emulator.inject("error", path="/status", status=status, code=code, message=message)
    assert system.backend.context_exists(context.ref) is False
    assert _operations(emulator) == ["status"]  # no retries: the answer is final


def test_an_unknown_client_error_keeps_its_status_and_body(emulator: Emulator, system: ImageSearch) -> None:
    context = _gallery(system, seeds=range(2))
    emulator.clear_requests()
    emulator.inject("error", path="/findSimilar", status=409, code="NeverSeenBefore", message="odd")
    with pytest.raises(errors.BackendError) as caught:
        context.find_similar_images("p0", threshold=0)
    assert not caught.value.transient and caught.value.status == 409 and caught.value.code == "NeverSeenBefore"
    assert caught.value.body["message"] == "odd"  # type: ignore[attr-defined]
    assert _operations(emulator) == ["findSimilar"]


def test_an_invalid_image_is_recognised_by_its_message(emulator: Emulator, system: ImageSearch) -> None:
    context = system.create_context("x")
    emulator.inject(
        "error", path="/image", method="POST", status=400, code="E1234", message="Image format is not supported"
    )
    with pytest.raises(errors.InvalidImageError):
        context.add_image("a", photo_bytes(1))


# --- 4. downloads without a shared temporary path -----------------------------------


def test_sixteen_threads_read_same_named_images_of_two_contexts(system: ImageSearch) -> None:
    first, second = system.create_context("one"), system.create_context("two")
    first.add_image("a.png", photo_bytes(1))
    second.add_image("a.png", photo_bytes(2))
    expected = {"one": photo_bytes(1), "two": photo_bytes(2)}
    wrong: list[str] = []

    def read(index: int) -> None:
        name = ("one", "two")[index % 2]
        for _ in range(30):  # the SDK's shared temp path fails ~1 call in 10 this way
            try:
                if system.context(name).get_image("a.png") != expected[name]:
                    wrong.append(f"{name}: other bytes")
            except Exception as exc:
                wrong.append(f"{name}: {type(exc).__name__}")

    threads = [threading.Thread(target=read, args=(index,)) for index in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


def test_downloads_carry_content_disposition(emulator: Emulator, system: ImageSearch) -> None:
    context = system.create_context("x")
    context.add_image("dir/a.png", photo_bytes(1))
    import http.client
    from urllib.parse import quote, urlsplit

    token = system.backend.client.configuration.access_token  # type: ignore[attr-defined]
    parts = urlsplit(emulator.url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    image_id = quote(f"ris/{context.ref}/images/dir/a.png", safe="")
    connection.request(
        "GET",
        f"/v3.0/imaging/ai/imageSearch/{context.ref}/image?imageId={image_id}",
        headers={"Authorization": f"Bearer {token}"},
    )
    response = connection.getresponse()
    assert response.status == 200 and response.read() == photo_bytes(1)
    assert response.getheader("Content-Disposition") == 'attachment; filename="a.png"'


# --- 5. async-safe writes ----------------------------------------------------------


def test_an_accepted_add_is_kept_while_the_context_stays_busy(open_on: Callable[..., ImageSearch]) -> None:
    with Emulator(busy_polls=60) as slow, open_on(slow, status_timeout=0.2) as system:
        context = system.create_context("x")
        context.add_image("a", photo_bytes(1))  # accepted, still indexing: no ContextBusyError
        assert context.image_ids() == ["a"]
        assert any(path.endswith("/images/a") for path in slow.storage_paths())
        status = context.status()
        assert not status.is_idle and "pending" in status.detail
        assert context.wait_until_idle(timeout=30, poll_interval=0.01).is_idle
        assert [r.image_id for r in context.find_similar_images(image=photo_bytes(1))] == ["a"]
        slow.clear_requests()
        report = context.add_images([("a", photo_bytes(1))])  # a resumed batch
        assert report.summary().get("skipped") == 1
        assert not [r for r in slow.requests if r.path.endswith("/image") and r.method == "POST"]


# --- 6. retries within a deadline --------------------------------------------------


def test_retry_after_is_honoured_beyond_thirty_seconds(emulator: Emulator, open_system: OpenSystem) -> None:
    policy, waits = _recording()
    context = _gallery(open_system(retry=policy), seeds=range(2))
    emulator.inject("rate_limit", path="/findSimilar", retry_after=45)
    context.find_similar_images("p0", threshold=0)
    assert waits == [45.0]


def test_retry_after_is_capped_by_the_option(emulator: Emulator, open_system: OpenSystem) -> None:
    policy, waits = _recording()
    context = _gallery(open_system(retry=policy, retry_after_cap="10s"), seeds=range(2))
    emulator.inject("rate_limit", path="/findSimilar", retry_after=45)
    context.find_similar_images("p0", threshold=0)
    assert waits == [10.0]


def test_no_retry_waits_past_the_operation_deadline(emulator: Emulator, open_system: OpenSystem) -> None:
    policy, waits = _recording()
    context = _gallery(open_system(retry=policy, deadline=5), seeds=range(2))
    emulator.inject("rate_limit", path="/findSimilar", retry_after=60)
    with pytest.raises(errors.ServiceUnavailableError, match="deadline"):
        context.find_similar_images("p0", threshold=0)
    assert waits == []


def test_a_stalled_call_ends_at_the_operation_deadline(emulator: Emulator, open_system: OpenSystem) -> None:
    context = _gallery(open_system(timeout=30, deadline=2), seeds=range(2))
    emulator.inject("stall", path="/findSimilar", seconds=60, times=5)
    started = time.monotonic()
    with pytest.raises(errors.BackendTimeoutError):
        context.find_similar_images(image=photo_bytes(1), threshold=0)
    # A behaviour bound, not a speed figure: without the deadline this takes 3 x 30 s.
    assert time.monotonic() - started < 25


# --- 7. no scratch leaks -----------------------------------------------------------

_KILLED_SEARCH = """
import sys, ris_core
from ris_core.testing.contract.base import photo_bytes
with ris_core.open("aspose", base_url=sys.argv[1], timeout=60, deadline=1, poll_interval=0.01) as ris:
    context = ris.create_context("victim")
    context.add_image("a", photo_bytes(1))
    print("ready", flush=True)
    context.find_similar_images(image=photo_bytes(2))
"""


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_scratch_left_by_a_killed_search_is_swept_by_the_next_backend(
    emulator: Emulator,
    tmp_path: Path,
    credentials: tuple[str, str],
    how: signal.Signals,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emulator.inject("stall", path="/findSimilar", seconds=30)
    env = {
        **os.environ,
        "TMPDIR": str(tmp_path),
        "ASPOSE_CLIENT_ID": credentials[0],
        "ASPOSE_CLIENT_SECRET": credentials[1],
    }
    child = subprocess.Popen([sys.executable, "-c", _KILLED_SEARCH, emulator.url], env=env, stdout=subprocess.PIPE)
    assert child.stdout is not None and child.stdout.readline().strip() == b"ready"
    deadline = time.monotonic() + 20
    while not any("/scratch/" in path for path in emulator.storage_paths()) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)  # the search request itself is on its way
    child.send_signal(how)
    child.wait(10)
    assert any("/scratch/" in path for path in emulator.storage_paths())
    time.sleep(1.1)  # older than the deadline
    emulator.clear_faults()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("ASPOSE_CLIENT_ID", credentials[0])
    monkeypatch.setenv("ASPOSE_CLIENT_SECRET", credentials[1])
    with ris_core.open("aspose", base_url=emulator.url, deadline=1, catalog=":memory:") as system:
        system.create_context("next").find_similar_images(image=photo_bytes(1))  # its first query sweeps
        assert not [path for path in emulator.storage_paths() if "/scratch/" in path]
        assert not [entry for entry in tmp_path.iterdir() if entry.name.startswith(f"ris-aspose-{child.pid}-")]
    assert not [entry for entry in tmp_path.iterdir() if entry.name.startswith("ris-aspose")]


def test_a_failed_clean_up_is_logged_and_retried_later(
    emulator: Emulator, system: ImageSearch, caplog: pytest.LogCaptureFixture
) -> None:
    context = _gallery(system, seeds=range(2))
    emulator.inject("server_error", path="/storage/file/", method="DELETE", times=10)
    with caplog.at_level(logging.WARNING, logger="ris_aspose"):
        assert context.find_similar_images(image=photo_bytes(1))[0].image_id == "p1"
    assert "scratch" in caplog.text
    assert [path for path in emulator.storage_paths() if "/scratch/" in path]
    emulator.clear_faults()
    context.find_similar_images(image=photo_bytes(0))
    assert not [path for path in emulator.storage_paths() if "/scratch/" in path]


def test_scratch_files_live_in_one_dedicated_folder(emulator: Emulator, system: ImageSearch) -> None:
    context = _gallery(system, seeds=range(2))
    emulator.inject("stall", path="/findSimilar", seconds=0.3)
    seen: list[str] = []

    def watch() -> None:
        for _ in range(100):
            seen.extend(path for path in emulator.storage_paths() if "scratch" in path)
            time.sleep(0.005)

    watcher = threading.Thread(target=watch)
    watcher.start()
    context.find_similar_images(image=photo_bytes(1))
    watcher.join()
    assert seen and all(path.startswith("ris/scratch/") for path in seen)


# --- 8. options parsed by type -----------------------------------------------------


def test_the_cli_sets_numeric_boolean_and_duration_options(
    emulator: Emulator,
    credentials: tuple[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ASPOSE_CLIENT_ID", credentials[0])
    monkeypatch.setenv("ASPOSE_CLIENT_SECRET", credentials[1])
    monkeypatch.setenv("ASPOSE_STATUS_TIMEOUT", "2m")
    monkeypatch.setenv("RIS_CATALOG", ":memory:")
    options = ["-o", f"base_url={emulator.url}", "-o", "timeout=3", "-o", "poll_interval=0.01", "-o", "max_fetch=500"]
    options += ["-o", "default_threshold=65", "-o", "duplicates_timeout=15m", "-o", "sweep_scratch=no"]
    assert cli_main(["-b", "aspose", *options, "context", "create", "typed"]) == 0, capsys.readouterr().err


def test_options_are_typed_from_text_and_the_environment(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASPOSE_TIMEOUT", "3")
    monkeypatch.setenv("ASPOSE_SWEEP_SCRATCH", "off")
    with ris_core.open(
        "aspose", base_url=emulator.url, client_id="i", client_secret="s", duplicates_timeout="1h30m", max_fetch="20"
    ) as system:
        settings = system.backend.settings  # type: ignore[attr-defined]
        assert (settings.timeout, settings.sweep_scratch, settings.duplicates_timeout) == (3.0, False, 5400.0)
        assert settings.max_fetch == 20
    with pytest.raises(errors.ConfigurationError, match="timeout"):
        ris_core.open("aspose", base_url=emulator.url, client_id="i", client_secret="s", timeout="soon")


# --- 9. a faithful emulator: see test_aspose_emulator_service.py ----------------------
# --- 10. ranking that does not trust the service's cut ------------------------------


def test_ranking_survives_a_service_that_cuts_its_answer_badly(emulator: Emulator, system: ImageSearch) -> None:
    context = _gallery(system)
    emulator.inject("sloppy_cut", path="/findSimilar", times=10)
    results = context.find_similar_images("p1", threshold=0, max_count=1)
    assert [r.image_id for r in results] == ["p1-copy"]


def test_multi_image_tags_hold_when_the_service_replaces_references(open_on: Callable[..., ImageSearch]) -> None:
    with Emulator(tag_references="replace") as replacing, open_on(replacing) as system:
        context = _gallery(system)
        context.create_tag("both", [photo_bytes(1), photo_bytes(4)])
        found = {r.image_id for r in context.find_images_by_tags(["both"], max_count=10)}
        assert {"p1", "p4"} <= found
