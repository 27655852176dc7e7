"""What the core does for every backend: retries of transient failures, moving a
context between backends, and the preprocessing chain."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest
from PIL import Image
from ris_memory.backend import MemoryBackend

import ris_core
from ris_core import errors
from ris_core.hookspecs import hookimpl
from ris_core.retry import RetryPolicy
from ris_core.testing.images import encode, near_copy, photo


class FlakyBackend(MemoryBackend):
    """The memory backend, failing the first calls of chosen operations."""

    name = "flaky"
    failures: ClassVar[dict[str, list[errors.BackendError]]] = {}
    calls: ClassVar[dict[str, int]] = {}

    def _maybe_fail(self, operation: str) -> None:
        self.calls[operation] = self.calls.get(operation, 0) + 1
        pending = self.failures.get(operation)
        if pending:
            raise pending.pop(0)

    def find_similar(self, *args: Any, **kwargs: Any) -> Any:
        self._maybe_fail("find_similar")
        return super().find_similar(*args, **kwargs)

    def add_image(self, *args: Any, **kwargs: Any) -> None:
        self._maybe_fail("add_image")
        super().add_image(*args, **kwargs)


class RegistersFlaky:
    @hookimpl
    def ris_register_backends(self, register: Any) -> None:
        register("flaky", FlakyBackend)


@pytest.fixture
def flaky() -> Any:
    FlakyBackend.failures, FlakyBackend.calls = {}, {}
    waits: list[float] = []
    policy = RetryPolicy(attempts=3, base_delay=0.01, sleep=waits.append)
    with ris_core.open("flaky", plugins=[RegistersFlaky()], retry=policy, cache_size=0) as system:
        yield system, waits


def test_transient_failures_are_retried_by_the_core(flaky: Any) -> None:
    system, waits = flaky
    context = system.create_context("c")
    FlakyBackend.failures = {
        "add_image": [errors.ServiceUnavailableError("503", status=503, transient=True)],
        "find_similar": [errors.BackendError("reset", transient=True, retry_after=0.5)] * 2,
    }
    context.add_image("a", encode(photo(1)))
    assert [r.image_id for r in context.find_similar_images(image=encode(photo(1)))] == ["a"]
    assert FlakyBackend.calls == {"add_image": 2, "find_similar": 3}
    assert len(waits) == 3 and waits[1:] == [0.5, 0.5]


def test_permanent_failures_and_exhausted_retries_raise(flaky: Any) -> None:
    system, _ = flaky
    context = system.create_context("c")
    FlakyBackend.failures = {"add_image": [errors.BackendError("400 bad", status=400)]}
    with pytest.raises(errors.BackendError, match="400 bad"):
        context.add_image("a", encode(photo(1)))
    assert FlakyBackend.calls["add_image"] == 1 and "a" not in context
    FlakyBackend.failures = {"find_similar": [errors.BackendError(f"down {n}", transient=True) for n in range(5)]}
    with pytest.raises(errors.BackendError, match="down 2"):
        context.find_similar_images(image=encode(photo(1)))


def test_a_retried_add_that_had_succeeded_is_completed(flaky: Any) -> None:
    system, _ = flaky
    context = system.create_context("c")

    def succeed_then_fail(self: FlakyBackend, ref: str, image_id: str, image: Any) -> None:
        MemoryBackend.add_image(self, ref, image_id, image)
        if FlakyBackend.calls.setdefault("lost", 0) == 0:
            FlakyBackend.calls["lost"] = 1
            raise errors.BackendError("response lost", transient=True)

    FlakyBackend.add_image = succeed_then_fail  # type: ignore[method-assign]
    try:
        context.add_image("a", encode(photo(1)))
    finally:
        del FlakyBackend.add_image
    assert context.image_ids() == ["a"] and context.get_image("a") == encode(photo(1))


def test_export_from_local_imports_into_memory_and_back(tmp_path: Path) -> None:
    with ris_core.open("local", database=tmp_path / "ris.db") as local:
        source = local.create_context("album")
        for seed in range(5):
            source.add_image(f"p{seed}.png", encode(photo(seed)), metadata={"seed": seed})
        source.create_collection("firsts", ["p0.png", "p1.png"])
        source.create_tag("three", encode(photo(3)))
        source.export(tmp_path / "album.tar")
    with ris_core.open("memory") as memory:
        moved, report = memory.import_context(tmp_path / "album.tar")
        assert report.summary()["added"] == 5 and moved.name == "album"
        assert moved.get_metadata("p4.png") == {"seed": 4}
        assert moved.collection_images("firsts") == ["p0.png", "p1.png"]
        assert [r.image_id for r in moved.find_images_by_tags("three")] == ["p3.png"]
        hit = moved.find_similar_images(image=encode(near_copy(photo(2)), "JPEG"), max_count=1)
        assert hit[0].image_id == "p2.png" and hit[0].metadata == {"seed": 2}
        moved.export(tmp_path / "back")
    with ris_core.open("local", database=tmp_path / "ris.db") as local:
        back, _ = local.import_context(tmp_path / "back", name="round-trip")
        assert back.image_ids() == local.context("album").image_ids()


def test_imports_refuse_what_is_not_an_export(tmp_path: Path) -> None:
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "manifest.json").write_text('{"format": "other"}')
    with ris_core.open("memory") as system:
        with pytest.raises(errors.InvalidExportError, match="not a valid ris export"):
            system.import_context(tmp_path / "junk")
        with pytest.raises(errors.SourceNotFoundError):
            system.import_context(tmp_path / "missing")
        assert system.list_contexts() == []


def test_an_import_refuses_files_that_do_not_match_their_hash(tmp_path: Path) -> None:
    with ris_core.open("memory") as system:
        context = system.create_context("c")
        context.add_image("a", encode(photo(1)))
        context.add_image("b", encode(photo(2)))
        context.export(tmp_path / "out")
        (tmp_path / "out" / "images" / "000002.png").write_bytes(encode(photo(3)))
        with pytest.raises(errors.InvalidExportError, match=r"images/000002.png \(image 'b'\) does not match"):
            system.import_context(tmp_path / "out", name="copy")
        assert [info.name for info in system.list_contexts()] == ["c"]


def test_preprocessing_chain_by_name_and_from_a_plugin() -> None:
    framed = Image.new("RGB", (480, 360), (0, 0, 0))
    framed.paste(photo(7), (80, 60))

    class Grey:
        @hookimpl
        def ris_register_preprocessors(self, register: Any) -> None:
            register("to-grey", lambda image: image.convert("L"))

    with ris_core.open(
        "memory", preprocessing=["exif-orientation", "normalize-mode", "trim-borders", "to-grey"], plugins=[Grey()]
    ) as system:
        context = system.create_context("c")
        context.add_image("framed", framed)
        assert context.compare_images("framed", other_image=photo(7)).similarity == 100
    with ris_core.open("memory") as plain:
        context = plain.create_context("c")
        context.add_image("framed", framed)
        assert context.compare_images("framed", other_image=photo(7)).similarity < 100
    with pytest.raises(errors.ConfigurationError, match="unknown preprocessing step 'sharpen'"):
        ris_core.open("memory", preprocessing=["sharpen"])


def test_a_recreated_context_never_sees_the_old_contexts_cached_results() -> None:
    with ris_core.open("memory") as system:
        old = system.create_context("c")
        old.add_image("a", encode(photo(1)))
        assert [r.image_id for r in old.find_similar_images(image=encode(photo(1)))] == ["a"]
        system.delete_context("c")
        new = system.create_context("c")
        new.add_image("b", encode(photo(2)))  # the same number of writes as the old context
        assert new.find_similar_images(image=encode(photo(1))) == []
