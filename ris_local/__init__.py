"""ris_local: the offline backend, perceptual hashes in a SQLite file. Select it as ``local``.

The engine seam is public: a package adds a feature engine by subclassing
:class:`Engine` (and :class:`FeatureIndex` for its index), registering the class through
the ``ris_register_engines`` hook, and proving it with
:class:`ris_local.testing.EngineContract`. Users select it with
``ris_core.open("local", engine="name")``.
"""

from ris_local.defaults import DEFAULT_ENGINE
from ris_local.engine import BlobReader, Engine, FeatureIndex, Hit, Keys, Progress, Score

__all__ = ["DEFAULT_ENGINE", "BlobReader", "Engine", "FeatureIndex", "Hit", "Keys", "Progress", "Score"]
