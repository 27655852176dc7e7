"""The emulator as a faithful imageSearch service (issue 16, finding 9): the storage API
the SDK exposes, the documented busy states, refused detectors, concurrent requests,
scores where the vendor states them, and the self-hosted persistent server."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import ris_core
from ris_aspose.emulator import Emulator
from ris_core import errors
from ris_core.system import ImageSearch
from ris_core.testing.contract.base import near_copy_bytes, photo_bytes

OpenSystem = Callable[..., ImageSearch]


@pytest.fixture
def api(emulator: Emulator) -> Iterator[Any]:
    """The SDK itself, on the emulator."""
    from asposeimagingcloud import ImagingApi

    sdk = ImagingApi(client_secret="any-secret", client_id="any-id", base_url=emulator.url)
    with tempfile.TemporaryDirectory() as folder:
        sdk.api_client.configuration.temp_folder_path = folder
        yield sdk


def _upload(api: Any, path: str, data: bytes) -> None:
    from asposeimagingcloud.models import requests as rq

    with tempfile.NamedTemporaryFile(suffix=".png") as file:
        file.write(data)
        file.flush()
        assert api.upload_file(rq.UploadFileRequest(path, file.name)).uploaded == [path.rsplit("/", 1)[-1]]


# --- the storage API ---------------------------------------------------------------


def test_folders_can_be_created_listed_and_deleted(api: Any) -> None:
    from asposeimagingcloud.models import requests as rq
    from asposeimagingcloud.rest import ApiException

    api.create_folder(rq.CreateFolderRequest("album/empty"))
    _upload(api, "album/a.png", photo_bytes(1))
    listing = api.get_files_list(rq.GetFilesListRequest("album"))
    assert [(item.name, item.is_folder, item.path) for item in listing.value] == [
        ("a.png", False, "/album/a.png"),
        ("empty", True, "/album/empty"),
    ]
    assert listing.value[0].size == len(photo_bytes(1)) and listing.value[0].modified_date is not None
    found = api.object_exists(rq.ObjectExistsRequest("album/empty"))
    assert (found.exists, found.is_folder) == (True, True)
    with pytest.raises(ApiException) as refused:
        api.delete_folder(rq.DeleteFolderRequest("album"))  # not empty, not recursive
    assert refused.value.code == 400 and refused.value.error.code == "FolderNotEmpty"
    api.delete_folder(rq.DeleteFolderRequest("album", recursive=True))
    assert not api.object_exists(rq.ObjectExistsRequest("album")).exists
    with pytest.raises(ApiException) as missing:
        api.get_files_list(rq.GetFilesListRequest("album"))
    assert missing.value.code == 404 and missing.value.error.code == "FolderNotFound"


def test_files_can_be_copied_moved_and_versioned(api: Any) -> None:
    from asposeimagingcloud.models import requests as rq
    from asposeimagingcloud.rest import ApiException

    _upload(api, "a/one.png", photo_bytes(1))
    api.copy_file(rq.CopyFileRequest("a/one.png", "b/copy.png"))
    api.move_file(rq.MoveFileRequest("a/one.png", "c/moved.png", dest_storage_name="Other"))
    assert not api.object_exists(rq.ObjectExistsRequest("a/one.png")).exists
    assert api.object_exists(rq.ObjectExistsRequest("c/moved.png", storage_name="Other")).exists
    api.copy_folder(rq.CopyFolderRequest("b", "d"))
    api.move_folder(rq.MoveFolderRequest("d", "e"))
    assert [item.name for item in api.get_files_list(rq.GetFilesListRequest("e")).value] == ["copy.png"]
    versions = api.get_file_versions(rq.GetFileVersionsRequest("e/copy.png")).value
    assert [(version.name, version.is_latest) for version in versions] == [("copy.png", True)]
    with open(api.download_file(rq.DownloadFileRequest("e/copy.png")), "rb") as file:
        assert file.read() == photo_bytes(1)
    with pytest.raises(ApiException) as missing:
        api.download_file(rq.DownloadFileRequest("nowhere.png"))
    assert missing.value.code == 404 and missing.value.error.code == "FileNotFound"


def test_storages_and_disc_usage(api: Any) -> None:
    from asposeimagingcloud.models import requests as rq

    _upload(api, "x.png", photo_bytes(1))
    _upload(api, "y.png", photo_bytes(2))
    usage = api.get_disc_usage(rq.GetDiscUsageRequest())
    assert usage.used_size == len(photo_bytes(1)) + len(photo_bytes(2)) and usage.total_size > usage.used_size
    assert not api.storage_exists(rq.StorageExistsRequest("Nowhere")).exists
    api.create_folder(rq.CreateFolderRequest("f", storage_name="Second"))
    assert api.storage_exists(rq.StorageExistsRequest("Second")).exists


# --- the imageSearch service -------------------------------------------------------


def test_unknown_detectors_are_refused(emulator: Emulator, system: ImageSearch) -> None:
    with pytest.raises(errors.BackendError) as caught:
        system.create_context("x", detector="orb")
    assert caught.value.status == 400 and not caught.value.transient
    system.create_context("y", detector="AKAZE", matching_algorithm="RandomBinaryTree")  # the docs' spelling


def test_busy_states_are_the_documented_ones(emulator: Emulator, system: ImageSearch) -> None:
    context = system.create_context("x")
    for seed in range(3):
        context.add_image(f"p{seed}", photo_bytes(seed))
    seen: dict[str, set[str]] = {}
    for operation, search in (
        ("findSimilar", lambda: context.find_similar_images("p0")),
        ("findDuplicates", lambda: context.find_duplicates()),
    ):
        emulator.inject("slow", path=f"/{operation}", seconds=1.0)
        worker = threading.Thread(target=search)
        worker.start()
        states = seen.setdefault(operation, set())
        while worker.is_alive():
            states.add(context.status().detail)
            time.sleep(0.02)
        worker.join()
    assert "Searching" in seen["findSimilar"] and "MatchingFeatures" in seen["findDuplicates"]
    assert context.status().detail == "Idle"


def test_contexts_are_served_concurrently(emulator: Emulator, system: ImageSearch) -> None:
    slow, quick = system.create_context("slow"), system.create_context("quick")
    for context in (slow, quick):
        context.add_image("a", photo_bytes(1))
        context.add_image("b", near_copy_bytes(1))
    emulator.inject("slow", path=f"/{slow.ref}/findSimilar", seconds=3.0)
    worker = threading.Thread(target=lambda: slow.find_similar_images("a"))
    worker.start()
    while slow.status().detail != "Searching":
        time.sleep(0.01)
    assert [r.image_id for r in quick.find_similar_images("a")] == ["b"]
    assert slow.status().detail == "Searching"  # still running: the quick one did not wait for it
    worker.join()


def test_update_and_delete_of_a_never_added_image_are_not_found(wire_api: Any) -> None:
    from asposeimagingcloud.models import requests as rq
    from asposeimagingcloud.rest import ApiException

    api, context, image = wire_api
    for call in (
        lambda: api.update_search_image(rq.UpdateSearchImageRequest(context, "never.png", image_data=image)),
        lambda: api.delete_search_image(rq.DeleteSearchImageRequest(context, "never.png")),
    ):
        with pytest.raises(ApiException) as caught:
            call()
        assert caught.value.code == 404 and caught.value.error.code == "ImageNotFound"


@pytest.fixture
def wire_api(api: Any) -> Iterator[tuple[Any, str, str]]:
    from asposeimagingcloud.models import requests as rq

    context = api.create_image_search(rq.CreateImageSearchRequest()).id
    with tempfile.NamedTemporaryFile(suffix=".png") as file:
        file.write(photo_bytes(1))
        file.flush()
        yield api, context, file.name


def test_web_sources_are_refused_offline(wire_api: Any) -> None:
    from asposeimagingcloud.models import requests as rq
    from asposeimagingcloud.rest import ApiException

    api, context, _ = wire_api
    with pytest.raises(ApiException) as caught:
        api.create_web_site_image_features(rq.CreateWebSiteImageFeaturesRequest(context, "https://example.com/page"))
    assert caught.value.code == 501 and caught.value.error.code == "NotImplemented"


def test_scores_agree_with_the_vendors_stated_ones_on_our_pictures(system: ImageSearch) -> None:
    """The vendor's tests: a near copy scores >= 70, a different picture <= 15 (see the
    README for the vendor's own pictures)."""
    context = system.create_context("x")
    context.add_image("p", photo_bytes(1))
    assert context.compare_images("p", other_image=near_copy_bytes(1)).similarity >= 70
    assert context.compare_images("p", other_image=photo_bytes(2)).similarity <= 15


# --- the self-hosted server --------------------------------------------------------


def _serve(database: Path, env: dict[str, str], *extra: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "ris_aspose.emulator", "--port", "0", "--database", str(database), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert "listening on http://127.0.0.1:" in line, line + (process.stderr.read() if process.stderr else "")
    return process, line.split("listening on ")[1].split()[0]


def test_the_server_keeps_everything_in_its_database_and_checks_credentials(tmp_path: Path) -> None:
    env = {**os.environ, "RIS_EMULATOR_CLIENT_ID": "team", "RIS_EMULATOR_CLIENT_SECRET": "s3cret-value"}
    database = tmp_path / "imagesearch.db"
    process, url = _serve(database, env)
    try:
        with ris_core.open(
            "aspose", base_url=url, client_id="team", client_secret="s3cret-value", catalog=str(tmp_path / "c.db")
        ) as ris:
            context = ris.create_context("kept")
            context.add_image("a", photo_bytes(1))
            context.create_tag("t", [photo_bytes(1)])
        bad = ris_core.open("aspose", base_url=url, client_id="team", client_secret="wrong", catalog=":memory:")
        with bad, pytest.raises(errors.AuthenticationError):
            bad.create_context("x")
    finally:
        process.terminate()
        process.wait(10)
    assert "s3cret-value" not in " ".join(process.args)  # type: ignore[arg-type]
    process, url = _serve(database, env)
    try:
        with ris_core.open(
            "aspose", base_url=url, client_id="team", client_secret="s3cret-value", catalog=str(tmp_path / "c.db")
        ) as ris:
            context = ris.context("kept")
            assert [r.image_id for r in context.find_similar_images(image=near_copy_bytes(1))] == ["a"]
            assert context.get_image("a") == photo_bytes(1)
            assert [r.image_id for r in context.find_images_by_tags(["t"])] == ["a"]
    finally:
        process.terminate()
        process.wait(10)


def test_the_server_refuses_to_leave_loopback_without_credentials(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith("RIS_EMULATOR_")}
    done = subprocess.run(
        [sys.executable, "-m", "ris_aspose.emulator", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 2 and "credentials" in done.stderr
    with pytest.raises(ValueError, match="loopback"):
        Emulator("0.0.0.0", credentials=("id", "secret"), require_auth=False)
