"""The example engine, found through its entry point, passes the ris engine contract."""

from __future__ import annotations

import pytest
from ris_whash.engine import WaveletHashEngine

import ris_core
from ris_local.testing import EngineContract


def test_whash_is_discovered_through_the_entry_point() -> None:
    names = {info.name: info for info in ris_core.available_engines()}
    assert "whash" in names, "ris-whash is not installed: pip install -e ./examples/ris-whash"
    assert names["whash"].available and names["whash"].plugin == "whash"


class TestWaveletHashEngine(EngineContract):
    @pytest.fixture
    def engine(self) -> WaveletHashEngine:
        return WaveletHashEngine()
