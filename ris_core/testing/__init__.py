"""The contract suite: the executable specification every backend must pass.

Install with ``pip install 'ris[testing]'``, then subclass :class:`BackendContract` in
your own test module and define one fixture, ``make_system``, that returns a new
:class:`ris_core.ImageSearch` on your backend each time it is called (for a persistent
backend, each call must see what earlier ones stored)::

    import pytest
    import ris_core
    from ris_core.testing import BackendContract

    class TestMyBackend(BackendContract):
        @pytest.fixture
        def make_system(self, tmp_path):
            return lambda: ris_core.open("my-backend", path=tmp_path / "data")

Tests of capabilities a backend does not declare (see
:class:`ris_core.backend.Capability`) are skipped with the reason.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BackendContract"]


def __getattr__(name: str) -> Any:
    # Imported on use: the contract needs pytest (the ``testing`` extra), while the
    # test images in ``ris_core.testing.images`` need only Pillow and numpy.
    if name == "BackendContract":
        from ris_core.testing.contract import BackendContract

        return BackendContract
    raise AttributeError(f"module 'ris_core.testing' has no attribute {name!r}")
