"""Fixtures and helpers shared by every part of the contract suite."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from ris_core.backend import Capability
from ris_core.context import SearchContext
from ris_core.system import ImageSearch
from ris_core.testing.images import encode, near_copy, photo

__all__ = ["ContractBase", "SystemFactory", "photo_bytes"]

SystemFactory = Callable[[], ImageSearch]


def photo_bytes(seed: int, image_format: str = "PNG") -> bytes:
    """The seed's photo, encoded."""
    params = {"quality": 90} if image_format == "JPEG" else {}
    return encode(photo(seed), image_format, **params)


def near_copy_bytes(seed: int) -> bytes:
    """A resized, brightened, re-encoded copy of the seed's photo, as JPEG."""
    return encode(near_copy(photo(seed)), "JPEG", quality=85)


class ContractBase:
    """Holds the fixtures; a subclass supplies ``make_system``."""

    @pytest.fixture
    def make_system(self) -> SystemFactory:
        """Override in your subclass: return a callable that opens your backend."""
        pytest.fail(
            "the contract suite needs a 'make_system' fixture: define it in your subclass "
            "of BackendContract to return a callable that opens your backend"
        )

    @pytest.fixture
    def system(self, make_system: SystemFactory) -> Iterator[ImageSearch]:
        """A system on the backend under test, closed afterwards."""
        opened = make_system()
        try:
            yield opened
        finally:
            opened.close()

    @pytest.fixture
    def context(self, system: ImageSearch) -> SearchContext:
        """A fresh, empty search context."""
        return system.create_context()

    @pytest.fixture
    def gallery(self, context: SearchContext) -> SearchContext:
        """A context holding six unrelated photos, ``p0`` ... ``p5``."""
        for seed in range(6):
            context.add_image(f"p{seed}", photo_bytes(seed))
        return context

    @staticmethod
    def require(system: ImageSearch, capability: Capability) -> None:
        """Skip the test, saying why, if the backend does not declare ``capability``."""
        if capability not in system.backend.capabilities:
            pytest.skip(f"backend {system.backend_name!r} does not declare {capability.value!r}")
