"""One throwaway PostgreSQL server per test process, and a fresh database per test.

The server is started from the project's own fixture (:mod:`ris_core.testing.postgres`);
without PostgreSQL's binaries every test here fails, saying what to install.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ris_core.testing.postgres import PostgresMissingError, TemporaryPostgres


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[TemporaryPostgres]:
    """A PostgreSQL server on a Unix socket in a temporary folder, for this test process."""
    try:
        server = TemporaryPostgres()
    except PostgresMissingError as exc:
        pytest.fail(str(exc), pytrace=False)
    with server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: TemporaryPostgres) -> str:
    """The URL of a new, empty database on the test server."""
    return postgres_server.new_database()
