"""Registers the ``local`` backend and its built-in engines. Importing this module
imports nothing heavy: each class is named as ``"module:Class"``."""

from __future__ import annotations

from ris_core.hookspecs import BackendRegistrar, EngineRegistrar, hookimpl


@hookimpl
def ris_register_backends(register: BackendRegistrar) -> None:
    """Offer the offline backend under the name ``local``."""
    register(
        "local",
        "ris_local.backend:LocalBackend",
        description="Offline perceptual-hash search in one SQLite file (the default).",
    )


@hookimpl
def ris_register_engines(register: EngineRegistrar) -> None:
    """Offer the two built-in engines: ``robust`` (the default) and ``hash``."""
    register(
        "robust",
        "ris_local.robust:RobustEngine",
        description="Hash codes, then ORB keypoints with geometric verification (the default).",
    )
    register(
        "hash",
        "ris_local.robust:HashStageEngine",
        description="The hash stage alone: fast ingest, no crops or rotations.",
    )
