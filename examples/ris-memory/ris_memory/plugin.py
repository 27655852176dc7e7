"""The plugin module named in the ``ris`` entry-point group: it only registers."""

from __future__ import annotations

from ris_core.hookspecs import BackendRegistrar, hookimpl


@hookimpl
def ris_register_backends(register: BackendRegistrar) -> None:
    """Offer the in-memory backend under the name ``memory``."""
    register(
        "memory",
        "ris_memory.backend:MemoryBackend",
        description="Example third-party backend: 64-bit average hashes, kept in memory.",
    )
