"""Where ris keeps its files when the user does not say.

The data folder is the platform's per-user data folder, as platformdirs knows it on
every OS: ``$XDG_DATA_HOME/ris`` or ``~/.local/share/ris`` on Linux (where ris has always
kept it, so existing databases are found), ``~/Library/Application Support/ris`` on
macOS, ``%LOCALAPPDATA%\\ris`` on Windows. ``$RIS_HOME`` overrides it everywhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

__all__ = ["default_database_path", "ris_home"]


def ris_home() -> Path:
    """``$RIS_HOME``, else the platform's user data folder for ris (see the module)."""
    home = os.environ.get("RIS_HOME")
    if home:
        return Path(home).expanduser()
    return Path(platformdirs.user_data_dir("ris", appauthor=False))


def default_database_path() -> str:
    """The database every persistent backend uses by default: ``ris_home()/ris.db``."""
    return str(ris_home() / "ris.db")
