"""Shared test setup: every test gets its own RIS_HOME, so nothing touches ~/.local."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point RIS_HOME at a fresh folder and clear backend selection from the env."""
    home = tmp_path / "ris-home"
    monkeypatch.setenv("RIS_HOME", str(home))
    for name in ("RIS_BACKEND", "RIS_DATABASE", "RIS_CONTEXT", "RIS_CATALOG"):
        monkeypatch.delenv(name, raising=False)
    return home
