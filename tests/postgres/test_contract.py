"""The local backend passes the whole contract suite on a PostgreSQL database."""

from __future__ import annotations

import pytest

import ris_core
from ris_core.testing import BackendContract
from ris_core.testing.contract.base import SystemFactory


class TestLocalOnPostgres(BackendContract):
    @pytest.fixture
    def make_system(self, postgres_url: str) -> SystemFactory:
        return lambda: ris_core.open("local", database=postgres_url)
