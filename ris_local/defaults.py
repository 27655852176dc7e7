"""The engine the local backend (and the Aspose emulator) use unless told otherwise."""

from __future__ import annotations

from ris_local.engine import Engine

__all__ = ["DEFAULT_ENGINE", "default_engine"]

#: The registered name of the default engine (see :mod:`ris_local.plugin`).
DEFAULT_ENGINE = "robust"


def default_engine() -> Engine:
    """A new instance of the default local engine."""
    from ris_local.robust import RobustEngine  # imported on use: it pulls in OpenCV and faiss

    return RobustEngine()
