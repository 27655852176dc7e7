"""The local backend passes the whole contract suite, on a file and in memory."""

from __future__ import annotations

from pathlib import Path

import pytest

import ris_core
from ris_core.testing import BackendContract
from ris_core.testing.contract.base import SystemFactory


class TestLocalOnFile(BackendContract):
    @pytest.fixture
    def make_system(self, tmp_path: Path) -> SystemFactory:
        return lambda: ris_core.open("local", database=tmp_path / "ris.db")


class TestLocalInMemory(BackendContract):
    @pytest.fixture
    def make_system(self) -> SystemFactory:
        return lambda: ris_core.open("local", database=":memory:")
