"""The client secret (and the access token) never show in logs, errors, reprs or files."""

from __future__ import annotations

import http.client
import logging
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from ris_aspose.emulator import Emulator
from ris_aspose.settings import AsposeSettings, Secret
from ris_core import errors
from ris_core.system import ImageSearch
from ris_core.testing.contract.base import photo_bytes

OpenSystem = Callable[..., ImageSearch]


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _texts(exc: BaseException) -> list[str]:
    return [
        text
        for found in _chain(exc)
        for text in (str(found), repr(found), repr(found.args), repr(vars(found)) if hasattr(found, "__dict__") else "")
    ]


def _forms(*secrets: str) -> list[str]:
    """Each secret as written, and as it looks inside a URL or a form body."""
    return [form for secret in secrets for form in {secret, quote(secret, safe=""), quote_plus(secret)}]


@pytest.fixture
def everything_logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Capture every logger at DEBUG, the SDK's and urllib3's included."""
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "asposeimagingcloud", "ris_aspose", "ris_core"):
        caplog.set_level(logging.DEBUG, logger=name)
    yield caplog


def test_secret_is_absent_from_reprs_and_options(system: ImageSearch, credentials: tuple[str, str]) -> None:
    _, secret = credentials
    backend = system.backend
    shown = [
        repr(system),
        repr(backend),
        str(backend.backend_options),
        repr(backend.settings),  # type: ignore[attr-defined]
        str(backend.settings),
        repr(backend.client),
        repr(vars(backend.client.configuration)),
    ]  # type: ignore[attr-defined]
    assert not [text for text in shown if secret in text]
    assert backend.backend_options["client_secret"] == "***"


def test_secret_stays_out_of_a_whole_session_with_failures(
    emulator: Emulator,
    open_system: OpenSystem,
    credentials: tuple[str, str],
    everything_logged: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    isolated_home: Path,
) -> None:
    _, secret = credentials
    system = open_system()
    context = system.create_context("photos")
    context.add_image("a", photo_bytes(1))
    failures: list[BaseException] = []
    for kind in ("rate_limit", "server_error", "drop", "malformed_json", "unauthorized"):
        emulator.inject(kind, times=5, retry_after=0)
        try:
            context.find_similar_images(image=photo_bytes(1))
        except errors.RisError as exc:
            failures.append(exc)
        emulator.clear_faults()
    emulator.inject("expire_tokens")
    context.find_similar_images("a")
    with Emulator(credentials=("other", "other")) as strict:
        try:
            open_system(base_url=strict.url).create_context("refused")
        except errors.AuthenticationError as exc:
            failures.append(exc)
    assert len(failures) == 6
    tokens = emulator.issued_tokens()
    assert len(tokens) >= 2  # the first and the one after expiry, at least
    texts = [everything_logged.text, *capsys.readouterr()]
    texts += [text for failure in failures for text in _texts(failure)]
    texts += [repr(record) for record in emulator.requests]
    assert not [text for text in texts for leak in _forms(secret, *tokens) if leak in text]
    system.close()
    for path in isolated_home.rglob("*"):  # the catalog database and anything else written
        if path.is_file():
            data = path.read_bytes()
            assert not [leak for leak in _forms(secret) if leak.encode() in data], path


def test_http_debug_output_is_not_switched_on(system: ImageSearch) -> None:
    # The SDK sets http.client's global debug level, which prints request bodies (the
    # token request carries the secret) to stdout; the backend puts it back.
    assert http.client.HTTPConnection.debuglevel == 0


def test_the_secret_object_never_shows_itself() -> None:
    secret = Secret("hunter2")
    assert "hunter2" not in repr(secret) + str(secret) + f"{secret}" + repr([secret])
    assert secret.reveal() == "hunter2"
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_configuration_errors_never_echo_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASPOSE_CLIENT_ID", raising=False)
    monkeypatch.delenv("ASPOSE_CLIENT_SECRET", raising=False)
    with pytest.raises(errors.ConfigurationError) as caught:
        AsposeSettings.from_options({"client_secret": "hunter2"})
    assert "hunter2" not in str(caught.value) and "client_id" in str(caught.value)
    with pytest.raises(errors.ConfigurationError, match="timeout"):
        AsposeSettings.from_options({"client_id": "x", "client_secret": "hunter2", "timeout": -1})
