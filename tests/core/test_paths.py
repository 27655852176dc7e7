"""The default data folder: $RIS_HOME first, else the platform's, where Linux users' databases already are."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ris_core.paths import default_database_path, ris_home


def test_ris_home_overrides_everything(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RIS_HOME", str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert ris_home() == tmp_path / "mine"
    assert default_database_path() == str(tmp_path / "mine" / "ris.db")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the XDG layout is Linux's")
def test_linux_keeps_the_xdg_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("RIS_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert ris_home() == tmp_path / "xdg" / "ris"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_database_path() == str(tmp_path / "home" / ".local" / "share" / "ris" / "ris.db")
