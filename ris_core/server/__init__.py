"""``ris serve``: the library over HTTP, and a web page to search, browse, ingest and
review duplicates. Needs the ``server`` extra (``pip install 'ris[server]'``).

- :mod:`~ris_core.server.app`: the app factory;
- :mod:`~ris_core.server.routes`: the API, one module per area of the library;
- :mod:`~ris_core.server.errors`: the one table from errors to HTTP statuses;
- :mod:`~ris_core.server.security`: token, session cookie, cross-site refusal;
- :mod:`~ris_core.server.thumbnails`: thumbnails made once and cached;
- ``static/``: the page, its script and style (no CDN).
"""

from __future__ import annotations

from ris_core.server.app import app_from_environment, create_app
from ris_core.server.settings import ServerSettings

__all__ = ["ServerSettings", "app_from_environment", "create_app"]
