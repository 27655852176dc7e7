"""Both built-in engines pass the engine contract (and, through it, the backend contract)."""

from __future__ import annotations

import pytest

from ris_local import Engine
from ris_local.engines import load_engine
from ris_local.testing import EngineContract


class TestRobustEngine(EngineContract):
    @pytest.fixture
    def engine(self) -> Engine:
        return load_engine("robust")


class TestHashStageEngine(EngineContract):
    @pytest.fixture
    def engine(self) -> Engine:
        return load_engine("hash")
