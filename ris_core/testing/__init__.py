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

from ris_core.testing.contract import BackendContract

__all__ = ["BackendContract"]
