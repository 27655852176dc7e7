"""The example backend, found through its entry point, passes the ris contract suite."""

from __future__ import annotations

import pytest

import ris_core
from ris_core.testing import BackendContract
from ris_core.testing.contract.base import SystemFactory


def test_memory_backend_is_discovered_through_the_entry_point() -> None:
    names = {info.name: info for info in ris_core.available_backends()}
    assert "memory" in names, "ris-memory is not installed: pip install ./examples/ris-memory"
    assert names["memory"].available and names["memory"].plugin == "memory"


class TestMemoryBackend(BackendContract):
    @pytest.fixture
    def make_system(self) -> SystemFactory:
        return lambda: ris_core.open("memory")
