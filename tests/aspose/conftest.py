"""Fixtures for the aspose tests: the emulator on a free loopback port, and systems on it.

The emulator is always started here, never by hand. Everything runs offline except the
tests marked ``live``, which talk to the real cloud when ASPOSE_CLIENT_ID and
ASPOSE_CLIENT_SECRET are set. (Tests are imported with ``--import-mode=importlib``, so
helpers reach them as fixtures, not imports.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

try:
    import asposeimagingcloud  # noqa: F401 - only checks that the extra is installed
except ImportError as exc:  # fail loudly: a silent skip would hide a broken install
    raise ImportError("tests/aspose need the Aspose SDK: pip install -e '.[aspose]' (or '.[dev]')") from exc

import ris_core
from ris_aspose.emulator import Emulator
from ris_core.retry import RetryPolicy
from ris_core.system import ImageSearch

#: Distinctive, so a leak is easy to grep for.
CLIENT_ID = "ris-test-client"
SECRET = "s3cr3t-Zq8+&=/never-shown"

#: Retries that cost microseconds.
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.001, multiplier=2.0, max_delay=0.01)

OpenOn = Callable[..., ImageSearch]
OpenSystem = Callable[..., ImageSearch]


def _open_on(emulator: Emulator, retry: RetryPolicy = FAST_RETRY, **options: Any) -> ImageSearch:
    engine = emulator.service.engine
    settings: dict[str, Any] = {
        "base_url": emulator.url,
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "timeout": 10,
        "status_timeout": 10,
        "poll_interval": 0.01,
        # The emulator scores with the local engine: use the thresholds calibrated for it.
        "default_threshold": engine.default_threshold,
        "duplicate_threshold": engine.duplicate_threshold,
        **options,
    }
    return ris_core.open("aspose", retry=retry, **settings)


@pytest.fixture(scope="session")
def open_on() -> OpenOn:
    """``open_on(emulator, retry=..., **options)``: a system on the aspose backend
    pointed at ``emulator``, with quick polling and retries (the caller closes it)."""
    return _open_on


@pytest.fixture(scope="session")
def credentials() -> tuple[str, str]:
    """The client id and secret every test system uses."""
    return CLIENT_ID, SECRET


@pytest.fixture(scope="session")
def shared_emulator() -> Iterator[Emulator]:
    """One emulator for the contract suite (contexts have unique ids, so tests do not meet)."""
    with Emulator() as running:
        yield running


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A fresh emulator for one test: its own faults, storage and request log."""
    with Emulator() as running:
        yield running


@pytest.fixture
def open_system(emulator: Emulator) -> Iterator[OpenSystem]:
    """``open_system(retry=..., **options)`` on the test's emulator; all closed afterwards."""
    opened: list[ImageSearch] = []

    def open_system(retry: RetryPolicy = FAST_RETRY, **options: Any) -> ImageSearch:
        system = _open_on(emulator, retry, **options)
        opened.append(system)
        return system

    yield open_system
    for system in opened:
        system.close()


@pytest.fixture
def system(open_system: OpenSystem) -> ImageSearch:
    """A system on the test's emulator."""
    return open_system()
