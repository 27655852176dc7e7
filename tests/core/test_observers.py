"""Observer hooks see every write and search; a failing observer never fails the user."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

import ris_core
from ris_core.hookspecs import hookimpl
from ris_core.testing.images import encode, photo


class Recorder:
    def __init__(self) -> None:
        self.writes: list[tuple[str, str, list[str]]] = []
        self.searches: list[dict[str, Any]] = []

    @hookimpl
    def ris_after_write(self, backend: str, context: str, operation: str, image_ids: Sequence[str]) -> None:
        self.writes.append((context, operation, list(image_ids)))

    @hookimpl
    def ris_after_search(
        self,
        backend: str,
        context: str,
        operation: str,
        query: str | None,
        results: Sequence[Any],
        seconds: float,
        details: dict[str, Any],
    ) -> None:
        self.searches.append(
            {
                "operation": operation,
                "query": query,
                "count": len(results),
                "seconds": seconds,
                "details": details,
                "backend": backend,
            }
        )


def test_writes_and_searches_reach_observers() -> None:
    recorder = Recorder()
    with ris_core.open(database=":memory:", plugins=[recorder]) as system:
        context = system.create_context("c")
        context.add_image("a", encode(photo(1)))
        context.add_image("b", encode(photo(2)))
        context.find_similar_images("a", threshold=0)
        context.find_similar_images(image=encode(photo(1)))
        context.delete_image("b")
        system.delete_context("c")
    assert recorder.writes == [
        ("c", "add_image", ["a"]),
        ("c", "add_image", ["b"]),
        ("c", "delete_image", ["b"]),
        ("c", "delete_context", []),
    ]
    assert [(s["operation"], s["query"], s["count"]) for s in recorder.searches] == [
        ("find_similar_images", "a", 1),
        ("find_similar_images", None, 1),
    ]
    assert all(s["seconds"] >= 0 and s["backend"] == "local" for s in recorder.searches)
    assert recorder.searches[0]["details"] == {"threshold": 0.0, "max_count": 10, "cached": False}


def test_observers_are_per_system() -> None:
    first, second = Recorder(), Recorder()
    with (
        ris_core.open(database=":memory:", plugins=[first]) as one,
        ris_core.open(database=":memory:", plugins=[second]) as two,
    ):
        one.create_context("x").add_image("a", encode(photo(1)))
        two.create_context("y")
    assert first.writes == [("x", "add_image", ["a"])]
    assert second.writes == []


def test_a_failing_observer_is_logged_and_the_operation_succeeds(caplog: pytest.LogCaptureFixture) -> None:
    class Broken:
        @hookimpl
        def ris_after_write(self, operation: str) -> None:
            raise RuntimeError("observer bug")

    with ris_core.open(database=":memory:", plugins=[Broken()]) as system:
        context = system.create_context("c")
        context.add_image("a", encode(photo(1)))
        assert context.image_ids() == ["a"]
    assert "observer plugin failed" in caplog.text
