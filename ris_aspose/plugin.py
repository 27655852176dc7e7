"""Registers the ``aspose`` backend without importing the Aspose SDK."""

from __future__ import annotations

from ris_core.hookspecs import BackendRegistrar, hookimpl


@hookimpl
def ris_register_backends(register: BackendRegistrar) -> None:
    """Offer the Aspose.Imaging Cloud backend under the name ``aspose``."""
    register(
        "aspose",
        "ris_aspose.backend:AsposeBackend",
        description="Aspose.Imaging Cloud imageSearch (AKAZE features, remote).",
        requires=("asposeimagingcloud",),
        install_hint="pip install 'ris[aspose]'",
    )
