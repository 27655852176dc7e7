"""An offline emulator of Aspose.Imaging Cloud's imageSearch API: for tests, or self-hosted.

It speaks the REST contract the ``aspose-imaging-cloud`` SDK uses (token endpoint,
``/v3.0`` paths with percent-encoded segments, multipart image data, camelCase JSON,
``{"error": {...}}`` bodies, the storage API the SDK exposes, the documented busy
states), serves requests concurrently with one lock per context, and computes
similarity with the ris local engine. It needs only the standard library and ris
itself, so it runs without the SDK.

From a shell, as a persistent server that issues tokens to one client only::

    RIS_EMULATOR_CLIENT_ID=me RIS_EMULATOR_CLIENT_SECRET=... \\
        python -m ris_aspose.emulator --database imagesearch.db --port 8080

Without credentials it accepts any client id and secret, and listens on loopback only.

From Python, in-process, with faults injected on demand::

    import ris_core
    from ris_aspose.emulator import Emulator

    with Emulator() as emulator:  # the imageSearch API on a free loopback port, offline
        with ris_core.open("aspose", base_url=emulator.url, client_id="any", client_secret="any",
                           catalog=":memory:") as ris:  # names live as long as the emulator
            photos = ris.create_context("photos")
            print(photos.add_images("ris-samples/photos").summary())
            emulator.inject("rate_limit", retry_after=1)  # the next request gets 429 ...
            matches = photos.find_similar_images(image="ris-samples/queries/coffee-small.jpg")
            print([(m.image_id, round(m.similarity, 1)) for m in matches])  # ... retried, answered

Over HTTP, the same faults are injected with ``POST /_emulator/faults``::

    curl -X POST http://127.0.0.1:8080/_emulator/faults -d '{"kind": "server_error", "times": 2}'

Faults (:mod:`ris_aspose.emulator.faults`): ``unauthorized``, ``rate_limit``,
``server_error``, ``error``, ``stall``, ``slow``, ``drop``, ``malformed_json``, ``busy``,
``sloppy_cut`` and ``expire_tokens``; the control endpoints are listed in :mod:`ris_aspose.emulator.server`.
``busy_polls=N`` makes every index write asynchronous for N status polls. What the
emulator decides where Aspose documents nothing is in :mod:`ris_aspose.emulator.service`.
"""

from ris_aspose.emulator.faults import KINDS, Fault
from ris_aspose.emulator.server import Emulator, RecordedRequest

__all__ = ["KINDS", "Emulator", "Fault", "RecordedRequest"]
