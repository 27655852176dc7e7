"""The same contract against the real Aspose cloud, run only when credentials are set.

    ASPOSE_CLIENT_ID=... ASPOSE_CLIENT_SECRET=... pytest -m live tests/aspose

``ASPOSE_BASE_URL`` and ``ASPOSE_STORAGE`` are honoured when set. Everything is created
under a fresh storage folder and every context is deleted afterwards. Note that the
contract's default thresholds were calibrated on the local engine; if Aspose's AKAZE
scores differ, the threshold tests say so.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import ris_core
from ris_core.system import ImageSearch
from ris_core.testing import BackendContract
from ris_core.testing.contract.base import SystemFactory, photo_bytes

HAVE_CREDENTIALS = bool(os.environ.get("ASPOSE_CLIENT_ID") and os.environ.get("ASPOSE_CLIENT_SECRET"))

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not HAVE_CREDENTIALS, reason="live tests need ASPOSE_CLIENT_ID and ASPOSE_CLIENT_SECRET"),
]


def _open_live(folder: str) -> ImageSearch:
    options: dict[str, Any] = {"folder": folder}
    for option, variable in (("base_url", "ASPOSE_BASE_URL"), ("storage", "ASPOSE_STORAGE")):
        if os.environ.get(variable):
            options[option] = os.environ[variable]
    return ris_core.open("aspose", **options)


@pytest.fixture
def live_factory() -> Iterator[SystemFactory]:
    """Systems on the real cloud under a fresh folder; their contexts are deleted afterwards."""
    folder = f"ris-live-tests/{uuid.uuid4().hex}"
    yield lambda: _open_live(folder)
    with _open_live(folder) as cleanup:
        for info in cleanup.list_contexts():
            cleanup.delete_context(info.name)


class TestLiveContract(BackendContract):
    @pytest.fixture
    def make_system(self, live_factory: SystemFactory) -> SystemFactory:
        return live_factory


def test_live_token_is_renewed_after_a_401(live_factory: SystemFactory) -> None:
    with live_factory() as system:
        context = system.create_context("token")
        client = system.backend.client  # type: ignore[attr-defined]
        client.configuration.access_token = "expired-" + uuid.uuid4().hex
        context.add_image("a", photo_bytes(1))
        assert context.image_ids() == ["a"]


def test_live_query_by_data_leaves_no_scratch_file(live_factory: SystemFactory) -> None:
    from asposeimagingcloud.models import requests as rq
    from asposeimagingcloud.rest import ApiException

    with live_factory() as system:
        context = system.create_context("scratch")
        context.add_image("a", photo_bytes(1))
        assert context.find_similar_images(image=photo_bytes(1), threshold=0)
        backend: Any = system.backend
        listing = rq.GetFilesListRequest(backend.layout.scratch_folder(), storage_name=backend.settings.storage)
        try:
            left = [item.name for item in backend.client.api.get_files_list(listing).value if not item.is_folder]
        except ApiException as exc:  # no scratch folder at all
            assert exc.code == 404
            left = []
        assert left == []
