"""Registers the ``local`` backend. Importing this module imports nothing heavy."""

from __future__ import annotations

from ris_core.hookspecs import BackendRegistrar, hookimpl


@hookimpl
def ris_register_backends(register: BackendRegistrar) -> None:
    """Offer the offline backend under the name ``local``."""
    register(
        "local",
        "ris_local.backend:LocalBackend",
        description="Offline perceptual-hash search in one SQLite file (the default).",
    )
