"""Contract: creating, opening, listing, deleting search contexts, and their status."""

from __future__ import annotations

import pytest

from ris_core import errors
from ris_core.context import SearchContext
from ris_core.models import ContextState
from ris_core.system import ImageSearch
from ris_core.testing.contract.base import ContractBase, photo_bytes


class ContextContract(ContractBase):
    """Search contexts."""

    def test_new_context_is_empty_and_idle(self, system: ImageSearch) -> None:
        context = system.create_context("first")
        assert context.name == "first"
        assert len(context) == 0
        assert context.image_ids() == []
        status = context.status()
        assert status.state is ContextState.IDLE and status.is_idle

    def test_unnamed_contexts_get_distinct_names(self, system: ImageSearch) -> None:
        first, second = system.create_context(), system.create_context()
        assert first.name != second.name
        assert {first.name, second.name} <= {info.name for info in system.list_contexts()}

    def test_creating_a_taken_name_fails_and_keeps_the_context(self, system: ImageSearch) -> None:
        context = system.create_context("taken")
        context.add_image("a", photo_bytes(1))
        with pytest.raises(errors.ContextExistsError):
            system.create_context("taken")
        assert system.context("taken").image_ids() == ["a"]

    def test_opening_an_unknown_context_fails(self, system: ImageSearch) -> None:
        with pytest.raises(errors.ContextNotFoundError):
            system.context("never-created")

    def test_context_with_create_opens_or_creates(self, system: ImageSearch) -> None:
        created = system.context("lazy", create=True)
        created.add_image("a", photo_bytes(1))
        assert system.context("lazy", create=True).image_ids() == ["a"]

    def test_list_contexts_reports_backend_and_image_counts(self, system: ImageSearch) -> None:
        system.create_context("empty")
        full = system.create_context("full")
        full.add_image("a", photo_bytes(1))
        full.add_image("b", photo_bytes(2))
        listed = {info.name: info for info in system.list_contexts()}
        assert listed["empty"].image_count == 0
        assert listed["full"].image_count == 2
        assert listed["full"].backend == system.backend_name

    def test_delete_context_removes_it_and_its_images(self, system: ImageSearch) -> None:
        context = system.create_context("doomed")
        context.add_image("a", photo_bytes(1))
        system.delete_context("doomed")
        assert "doomed" not in {info.name for info in system.list_contexts()}
        with pytest.raises(errors.ContextNotFoundError):
            system.context("doomed")
        reborn = system.create_context("doomed")
        assert reborn.image_ids() == []
        assert reborn.find_similar_images(image=photo_bytes(1), threshold=0) == []

    def test_delete_unknown_context_fails(self, system: ImageSearch) -> None:
        with pytest.raises(errors.ContextNotFoundError):
            system.delete_context("never-created")

    def test_contexts_are_separate(self, system: ImageSearch) -> None:
        left, right = system.create_context("left"), system.create_context("right")
        left.add_image("same-id", photo_bytes(1))
        right.add_image("same-id", photo_bytes(2))
        assert left.get_image("same-id") == photo_bytes(1)
        assert right.get_image("same-id") == photo_bytes(2)
        assert left.find_similar_images(image=photo_bytes(2), threshold=0, max_count=5)[0].image_id == "same-id"
        right.delete_image("same-id")
        assert left.image_ids() == ["same-id"]

    def test_wait_until_idle_returns_idle_status(self, context: SearchContext) -> None:
        context.add_image("a", photo_bytes(1))
        assert context.wait_until_idle(timeout=60).is_idle

    @pytest.mark.parametrize("name", ["../escape", "/abs", "a//b", "", " padded", "back\\slash", "nul\x00"])
    def test_path_like_context_names_are_refused(self, system: ImageSearch, name: str) -> None:
        with pytest.raises(errors.InvalidIdError):
            system.create_context(name)
        assert name not in {info.name for info in system.list_contexts()}

    def test_unknown_context_option_is_refused(self, system: ImageSearch) -> None:
        with pytest.raises(errors.UnsupportedOptionError, match="no_such_option"):
            system.create_context("opts", no_such_option="1")
        assert "opts" not in {info.name for info in system.list_contexts()}
