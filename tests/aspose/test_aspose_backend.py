"""Backend behaviour beyond the contract: options, on-premise mode, exact ``within``
answers, duplicate groups rebuilt from the API's, and concurrent use."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

import ris_core
from ris_aspose.backend import AsposeBackend
from ris_aspose.emulator import Emulator
from ris_core import errors
from ris_core.backend import Capability
from ris_core.context import SearchContext
from ris_core.system import ImageSearch
from ris_core.testing.contract.base import near_copy_bytes, photo_bytes

OpenSystem = Callable[..., ImageSearch]


@pytest.fixture
def gallery(system: ImageSearch) -> SearchContext:
    context = system.create_context("gallery")
    for seed in range(8):
        context.add_image(f"p{seed}", photo_bytes(seed))
    for seed in (1, 4):
        context.add_image(f"p{seed}-copy", near_copy_bytes(seed))
    return context


# --- options -----------------------------------------------------------------------


def test_credentials_come_from_the_environment(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASPOSE_CLIENT_ID", "env-id")
    monkeypatch.setenv("ASPOSE_CLIENT_SECRET", "env-secret")
    with Emulator(credentials=("env-id", "env-secret")) as strict, ris_core.open("aspose", base_url=strict.url) as ris:
        assert ris.create_context("x").status().is_idle


def test_missing_credentials_are_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASPOSE_CLIENT_ID", raising=False)
    monkeypatch.delenv("ASPOSE_CLIENT_SECRET", raising=False)
    with pytest.raises(errors.ConfigurationError, match="ASPOSE_CLIENT_ID"):
        ris_core.open("aspose")


def test_unknown_options_are_refused() -> None:
    with pytest.raises(errors.UnsupportedOptionError, match="api_key"):
        ris_core.open("aspose", api_key="x")


def test_every_option_is_documented() -> None:
    assert set(AsposeBackend.options) >= {
        "client_id",
        "client_secret",
        "base_url",
        "storage",
        "folder",
        "timeout",
        "status_timeout",
        "poll_interval",
    }
    assert set(AsposeBackend.context_options) == {"detector", "matching_algorithm"}
    assert all(help_text for help_text in {**AsposeBackend.options, **AsposeBackend.context_options}.values())


def test_on_premise_mode_sends_no_token_request(open_system: OpenSystem, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASPOSE_CLIENT_ID", raising=False)
    monkeypatch.delenv("ASPOSE_CLIENT_SECRET", raising=False)
    with Emulator(require_auth=False) as on_premise:
        system = open_system(base_url=on_premise.url, client_id=None, client_secret=None)
        system.create_context("x").add_image("a", photo_bytes(1))
        assert not [r for r in on_premise.requests if r.path == "/connect/token"]


def test_context_options_reach_the_service(emulator: Emulator, system: ImageSearch) -> None:
    system.create_context("x", detector="akaze", matching_algorithm="randomBinaryTree")
    create = next(r for r in emulator.requests if r.path.endswith("/create"))
    assert (create.query["detector"], create.query["matchingAlgorithm"]) == ("akaze", "randomBinaryTree")


def test_storage_and_folder_options_place_everything(emulator: Emulator, open_system: OpenSystem) -> None:
    system = open_system(storage="Second Storage", folder="team/ris")
    context = system.create_context("x")
    context.add_image("a", photo_bytes(1))
    assert emulator.storage_paths() == []
    # The service keeps its own context file at the storage root, where folder=None puts it.
    assert emulator.storage_paths("Second Storage") == [f"{context.ref}.search", f"team/ris/{context.ref}/images/a"]
    assert context.find_similar_images(image=photo_bytes(1))[0].image_id == "a"


def test_thresholds_are_options(open_system: OpenSystem) -> None:
    backend = open_system(default_threshold=60, duplicate_threshold=80).backend
    assert (backend.default_threshold, backend.duplicate_threshold) == (60.0, 80.0)


def test_all_capabilities_are_declared(system: ImageSearch) -> None:
    assert system.backend.capabilities == frozenset(Capability)
    assert system.backend.manages_retries


def test_deleting_a_context_deletes_its_storage_folder(emulator: Emulator, system: ImageSearch) -> None:
    context = system.create_context("x")
    context.add_image("a", photo_bytes(1))
    context.create_tag("t", photo_bytes(1))
    system.delete_context("x")
    assert emulator.storage_paths() == []


# --- exact answers the API cannot give by itself ------------------------------------


def _brute_force(
    context: SearchContext, query: str, within: frozenset[str], threshold: float
) -> list[tuple[str, float]]:
    everything = context.find_similar_images(query, threshold=threshold, max_count=1000)
    return [(r.image_id, r.similarity) for r in everything if r.image_id in within]


@pytest.mark.parametrize("max_count", [1, 2, 5])
def test_within_gives_the_best_matches_inside_the_set(gallery: SearchContext, max_count: int) -> None:
    backend = gallery.system.backend
    within = frozenset({"p3", "p5", "p6", "p1-copy", "p7"})
    found = backend.find_similar(gallery.ref, "p1", 0.0, max_count, within)
    assert [(r.image_id, r.similarity) for r in found] == _brute_force(gallery, "p1", within, 0.0)[:max_count]


def test_within_applies_to_tags(gallery: SearchContext) -> None:
    gallery.create_tag("t", [photo_bytes(1), photo_bytes(4)])
    within = frozenset({"p4-copy", "p0"})
    found = gallery.system.backend.find_by_tags(gallery.ref, ["t"], 0.0, 10, within)
    assert {r.image_id for r in found} <= within and found[0].image_id == "p4-copy"


def test_ties_are_broken_by_id_in_one_request(emulator: Emulator, system: ImageSearch) -> None:
    context = system.create_context("ties")
    for name in ("e", "d", "c", "b", "a"):  # same bytes: five exact ties, added in reverse order
        context.add_image(name, photo_bytes(3))
    emulator.clear_requests()
    results = context.find_similar_images(image=photo_bytes(3), max_count=2)
    assert [r.image_id for r in results] == ["a", "b"]
    asked = [int(r.query["maxCount"]) for r in emulator.requests if r.path.endswith("/findSimilar")]
    assert asked == [10_000]  # everything above the threshold (max_fetch), ranked by ris, not the service's cut


def test_duplicates_within_split_groups_linked_only_through_outsiders(gallery: SearchContext) -> None:
    backend = gallery.system.backend
    groups = backend.find_duplicates(gallery.ref, backend.duplicate_threshold, frozenset({"p1", "p1-copy", "p4"}))
    assert [group.image_ids for group in groups] == [("p1", "p1-copy")]


def test_duplicate_similarities_are_relative_to_the_first_image(gallery: SearchContext) -> None:
    (first, second) = gallery.find_duplicates()
    assert first.image_ids == ("p1", "p1-copy") and second.image_ids == ("p4", "p4-copy")
    direct = gallery.compare_images("p4", "p4-copy").similarity
    assert second.images[0].similarity == 100.0 and second.images[1].similarity == pytest.approx(direct)


def test_too_small_max_fetch_warns_and_answers_what_it_found(
    open_system: OpenSystem, caplog: pytest.LogCaptureFixture
) -> None:
    context = open_system(max_fetch=3).create_context("small")
    for name in "abcde":
        context.add_image(name, photo_bytes(3))
    results = context.find_similar_images(image=photo_bytes(3), max_count=2)
    assert len(results) == 2 and "max_fetch" in caplog.text


# --- errors and concurrency --------------------------------------------------------


def test_features_of_an_image_without_features(gallery: SearchContext) -> None:
    gallery.delete_features("p1")
    with pytest.raises(errors.FeaturesNotFoundError):
        gallery.delete_features("p1")
    with pytest.raises(errors.FeaturesNotFoundError):
        gallery.get_features("p1")


def test_operations_on_a_deleted_context_raise_context_not_found(system: ImageSearch) -> None:
    context = system.create_context("gone")
    ref = context.ref
    system.backend.delete_context(ref)
    assert not system.backend.context_exists(ref)
    with pytest.raises(errors.ContextNotFoundError):
        system.backend.context_status(ref)
    with pytest.raises(errors.ContextNotFoundError):
        system.backend.find_duplicates(ref, 50.0, None)
    with pytest.raises(errors.ContextNotFoundError):
        system.backend.delete_context(ref)


def test_threads_share_one_backend_through_token_renewals(emulator: Emulator, gallery: SearchContext) -> None:
    failures: list[BaseException] = []

    def search(seed: int) -> None:
        try:
            for _ in range(5):
                found = gallery.find_similar_images(image=photo_bytes(seed % 8), max_count=1)
                assert found[0].image_id == f"p{seed % 8}"
        except BaseException as exc:  # collected, then reported by the main thread
            failures.append(exc)

    tokens = sum(1 for r in emulator.requests if r.path == "/connect/token")
    emulator.inject("expire_tokens")  # every thread's first request meets a 401
    threads = [threading.Thread(target=search, args=(seed,)) for seed in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert any(r.status == 401 for r in emulator.requests)
    assert sum(1 for r in emulator.requests if r.path == "/connect/token") == tokens + 1  # renewed once, for all
    assert gallery.system.backend.client.configuration.api_version == "/v3.0"  # type: ignore[attr-defined]


def test_an_image_left_in_storage_by_a_cut_short_add_is_adopted(emulator: Emulator, system: ImageSearch) -> None:
    context = system.create_context("adopt")
    orphan = f"ris/{context.ref}/images/a"
    emulator.service.storage.write("", orphan, photo_bytes(9))  # stored, never indexed
    context.add_image("a", photo_bytes(1))  # the backend says "exists"; the core adopts it
    assert context.get_image("a") == photo_bytes(1)
    assert context.find_similar_images(image=photo_bytes(1), max_count=1)[0].image_id == "a"
