"""The plugin module named in the ``ris`` entry-point group: it only registers."""

from __future__ import annotations

from ris_core.hookspecs import EngineRegistrar, hookimpl


@hookimpl
def ris_register_engines(register: EngineRegistrar) -> None:
    """Offer the wavelet-hash engine under the name ``whash``."""
    register(
        "whash",
        "ris_whash.engine:WaveletHashEngine",
        description="Example third-party engine: 64-bit wavelet hashes of the image and its mirror.",
        requires=("imagehash", "pywt"),
        install_hint="pip install ris-whash",
    )
