"""Where ris keeps its files when the user does not say."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["default_database_path", "ris_home"]


def ris_home() -> Path:
    """``$RIS_HOME``, else ``$XDG_DATA_HOME/ris``, else ``~/.local/share/ris``."""
    home = os.environ.get("RIS_HOME")
    if home:
        return Path(home).expanduser()
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home) / "ris"


def default_database_path() -> str:
    """The database every persistent backend uses by default: ``ris_home()/ris.db``."""
    return str(ris_home() / "ris.db")
