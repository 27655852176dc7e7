"""ris_local: the offline backend, perceptual hashes in a SQLite file. Select it as ``local``.

The engine seam is public: a package adds a feature engine by subclassing
:class:`Engine` (and :class:`FeatureIndex` for its index), registering the class through
the ``ris_register_engines`` hook, and proving it with
:class:`ris_local.testing.EngineContract`. Users select it with
``ris_core.open("local", engine="name")``.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the same names, imported on first use below
    from ris_local.defaults import DEFAULT_ENGINE
    from ris_local.engine import BlobReader, Engine, FeatureIndex, Hit, Keys, Progress, Score

__all__ = ["DEFAULT_ENGINE", "BlobReader", "Engine", "FeatureIndex", "Hit", "Keys", "Progress", "Score"]


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use (then kept here): importing
    a light submodule (:mod:`ris_local.workers`, which ``ris index`` uses to start its
    worker processes before anything else) imports no NumPy. A submodule
    (``ris_local.engine``) as an attribute, as an eager import made it."""
    import importlib

    if name in __all__:
        home = "ris_local.defaults" if name == "DEFAULT_ENGINE" else "ris_local.engine"
        value = getattr(importlib.import_module(home), name)
        globals()[name] = value
        return value
    if not name.startswith("_"):
        try:
            return importlib.import_module(f"ris_local.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"ris_local.{name}":
                raise
    raise AttributeError(f"module 'ris_local' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
