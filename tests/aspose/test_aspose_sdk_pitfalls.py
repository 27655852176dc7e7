"""The SDK's pitfalls (see the reference) and how the backend gets around each one.

* GET operations drop image data: queries by data go to storage first, and come back out.
* image data must be a file path: temporary files, always deleted.
* file answers land in a temporary folder: read and deleted.
* tags must be a JSON string.
* every ImagingApi adds log handlers, changes log levels and starts threads.
"""

from __future__ import annotations

import http.client
import logging
import os
import threading
from collections.abc import Callable

import pytest

from ris_aspose.emulator import Emulator
from ris_core import errors
from ris_core.context import SearchContext
from ris_core.system import ImageSearch
from ris_core.testing.contract.base import near_copy_bytes, photo_bytes

OpenSystem = Callable[..., ImageSearch]


@pytest.fixture
def photos(system: ImageSearch) -> SearchContext:
    context = system.create_context("photos")
    for seed in range(3):
        context.add_image(f"p{seed}", photo_bytes(seed))
    return context


def _scratch_files(emulator: Emulator) -> list[str]:
    return [path for path in emulator.storage_paths() if "/scratch/" in path]


def _local_temp_files(context: SearchContext) -> list[str]:
    return os.listdir(context.system.backend.client.scratch)  # type: ignore[attr-defined]


def test_query_by_data_is_uploaded_searched_by_id_and_deleted(emulator: Emulator, photos: SearchContext) -> None:
    emulator.clear_requests()
    results = photos.find_similar_images(image=near_copy_bytes(1), max_count=1)
    assert [r.image_id for r in results] == ["p1"]
    listing, upload, search, delete = emulator.requests
    assert listing.method == "GET" and "/imaging/storage/folder/ris%2Fscratch" in listing.path  # the first query sweeps
    assert upload.method == "PUT" and "/imaging/storage/file/" in upload.path
    assert upload.parts[0][0] == "file" and str(upload.parts[0][1]).endswith(".jpg")
    scratch = search.query["imageId"]
    assert "/scratch/" in scratch and search.path.endswith("/findSimilar")
    assert search.parts == () and search.method == "GET"
    assert delete.method == "DELETE" and delete.status == 200
    assert scratch.replace("/", "%2F") in delete.path
    assert _scratch_files(emulator) == [] and _local_temp_files(photos) == []


def test_extract_features_goes_through_storage_and_stores_nothing(emulator: Emulator, photos: SearchContext) -> None:
    features = photos.extract_features(photo_bytes(1))
    assert features.data == photos.get_features("p1").data and features.image_id is None
    assert _scratch_files(emulator) == [] and _local_temp_files(photos) == []
    assert len(photos) == 3


def test_scratch_upload_is_deleted_even_when_the_search_fails(emulator: Emulator, photos: SearchContext) -> None:
    emulator.inject("server_error", path="/findSimilar", times=10)
    with pytest.raises(errors.ServiceUnavailableError):
        photos.find_similar_images(image=photo_bytes(1))
    assert _scratch_files(emulator) == [] and _local_temp_files(photos) == []


def test_scratch_upload_is_deleted_when_the_upload_answer_is_lost(emulator: Emulator, photos: SearchContext) -> None:
    emulator.inject("malformed_json", path="/storage/file/", times=10)
    with pytest.raises(errors.BackendError):
        photos.find_similar_images(image=photo_bytes(1))
    assert _scratch_files(emulator) == []


def test_image_data_travels_as_a_multipart_file_part(emulator: Emulator, photos: SearchContext) -> None:
    emulator.clear_requests()
    photos.add_image("new.jpg", photo_bytes(5, "JPEG"))
    add = next(r for r in emulator.requests if r.method == "POST" and r.path.endswith("/image"))
    ((name, filename, size),) = add.parts
    assert name == "imageData" and str(filename).endswith(".jpg") and size == len(photo_bytes(5, "JPEG"))
    assert add.query["imageId"].endswith("/images/new.jpg")


def test_compare_with_new_data_posts_it_without_storage(emulator: Emulator, photos: SearchContext) -> None:
    emulator.clear_requests()
    assert photos.compare_images("p2", other_image=photo_bytes(2)).similarity == pytest.approx(100)
    (compare,) = emulator.requests
    assert compare.method == "POST" and compare.parts[0][0] == "imageData"


def test_tags_travel_as_a_json_string(emulator: Emulator, photos: SearchContext) -> None:
    photos.create_tag("My Tag", photo_bytes(1))
    emulator.clear_requests()
    photos.find_images_by_tags("My Tag")
    search = next(r for r in emulator.requests if r.path.endswith("/findByTags"))
    assert search.fields == {"tags": '["My Tag#0"]'}  # one service-side name per reference image


def test_file_answers_are_read_and_deleted(photos: SearchContext) -> None:
    client = photos.system.backend.client  # type: ignore[attr-defined]
    assert client.configuration.temp_folder_path == client.scratch
    assert photos.get_image("p0") == photo_bytes(0)
    assert _local_temp_files(photos) == []


def test_temporary_folder_is_removed_on_close(open_system: OpenSystem) -> None:
    system = open_system()
    context = system.create_context("photos")
    context.add_image("a", photo_bytes(1))
    context.get_image("a")
    scratch = system.backend.client.scratch  # type: ignore[attr-defined]
    assert os.path.isdir(scratch)
    system.close()
    assert not os.path.exists(scratch)


def test_ids_with_spaces_slashes_and_plus_signs_round_trip(emulator: Emulator, photos: SearchContext) -> None:
    odd = "holiday 2024/a+b&c=d/é.png"
    photos.add_image(odd, photo_bytes(7))
    assert photos.get_image(odd) == photo_bytes(7)
    assert photos.find_similar_images(image=photo_bytes(7), max_count=1)[0].image_id == odd


def test_opening_backends_leaves_logging_and_threads_alone(open_system: OpenSystem) -> None:
    watched = [logging.getLogger("urllib3"), logging.getLogger("asposeimagingcloud")]
    for found in watched:
        found.setLevel(logging.ERROR)
    before = [(found.level, list(found.handlers)) for found in watched]
    http.client.HTTPConnection.debuglevel = 0
    systems = [open_system() for _ in range(3)]
    for system in systems:
        system.create_context()
    assert [(found.level, list(found.handlers)) for found in watched] == before
    assert http.client.HTTPConnection.debuglevel == 0
    # The SDK starts a ThreadPool per instance (workers plus three helpers); it is closed at once.
    pool_targets = ("(worker)", "(_handle_workers)", "(_handle_tasks)", "(_handle_results)")
    assert not [t.name for t in threading.enumerate() if t.name.endswith(pool_targets)]


def test_one_sdk_instance_serves_every_call(photos: SearchContext) -> None:
    backend = photos.system.backend
    api = backend.client.api  # type: ignore[attr-defined]
    photos.find_similar_images(image=photo_bytes(1))
    photos.find_duplicates()
    assert backend.client.api is api  # type: ignore[attr-defined]


def test_unknown_tag_is_refused_before_searching(emulator: Emulator, photos: SearchContext) -> None:
    emulator.clear_requests()
    with pytest.raises(errors.TagNotFoundError):
        photos.find_images_by_tags("nothing")
    assert not any(r.path.endswith("/findByTags") for r in emulator.requests)


def test_undecodable_data_is_refused_before_any_upload(emulator: Emulator, photos: SearchContext) -> None:
    from ris_core.testing.images import truncated_jpeg

    emulator.clear_requests()
    with pytest.raises(errors.InvalidImageError):
        photos.add_image("bad", truncated_jpeg())
    assert emulator.requests == []
