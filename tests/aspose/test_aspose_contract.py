"""The contract suite against the aspose backend, through the real SDK and the emulator.

It runs twice: against a synchronous emulator, and against one where every index
write stays invisible for two status polls (as feature extraction is asynchronous in
the real service), which proves that writes wait until the context is idle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from ris_aspose.emulator import Emulator
from ris_core.testing import BackendContract
from ris_core.testing.contract.base import SystemFactory


class TestAsposeContract(BackendContract):
    @pytest.fixture
    def make_system(self, shared_emulator: Emulator, open_on: Callable[..., Any]) -> SystemFactory:
        return lambda: open_on(shared_emulator)


@pytest.fixture(scope="module")
def busy_emulator() -> Iterator[Emulator]:
    """Index writes become visible only after two status polls."""
    with Emulator(busy_polls=2) as running:
        yield running


class TestAsposeContractAsynchronous(BackendContract):
    @pytest.fixture
    def make_system(self, busy_emulator: Emulator, open_on: Callable[..., Any]) -> SystemFactory:
        return lambda: open_on(busy_emulator)
