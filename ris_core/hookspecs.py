"""The hooks a ris plugin can implement.

Two kinds, for two kinds of relationship:

* **Registration hooks** (``ris_register_*``) are called once when plugins load; each
  plugin hands named things to ``register``. The core builds a name -> thing map and
  later calls the one the user picked. Selecting a backend is one-of-many, so backend
  operations are *not* hooks: they are methods of :class:`ris_core.backend.Backend`.
* **Observer hooks** (``ris_after_*``) are one-to-many: every plugin that implements
  them is told about each write and each search, for logging, statistics, analytics or
  exporting them elsewhere. Their return values are ignored and an exception in one is
  logged, never raised into the operation that triggered it.

Implement hooks with the :data:`hookimpl` marker and expose the module (or object)
through the ``ris`` entry-point group::

    [project.entry-points.ris]
    memory = "ris_memory.plugin"
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import pluggy

if TYPE_CHECKING:
    from ris_core.backend import Backend
    from ris_core.images import PreprocessStep
    from ris_core.models import SearchResult

__all__ = [
    "BackendRegistrar",
    "EngineRegistrar",
    "PreprocessorRegistrar",
    "hookimpl",
    "hookspec",
    "ris_after_search",
    "ris_after_write",
    "ris_register_backends",
    "ris_register_engines",
    "ris_register_preprocessors",
]

PROJECT_NAME = "ris"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
#: Decorate a plugin's hook implementations with this.
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


class BackendRegistrar(Protocol):
    """The ``register`` callable that :func:`ris_register_backends` receives."""

    def __call__(
        self,
        name: str,
        target: str | type[Backend],
        *,
        description: str = "",
        requires: Sequence[str] = (),
        install_hint: str = "",
    ) -> None:
        """Register ``target`` (a Backend subclass, or ``"module:Class"`` to import it only
        when selected) under ``name``. ``requires`` lists modules that must be importable
        for the backend to work; ``install_hint`` says how to get them."""


class EngineRegistrar(Protocol):
    """The ``register`` callable that :func:`ris_register_engines` receives."""

    def __call__(
        self,
        name: str,
        target: str | type[Any],
        *,
        description: str = "",
        requires: Sequence[str] = (),
        install_hint: str = "",
    ) -> None:
        """Register ``target`` (a :class:`ris_local.Engine` subclass whose constructor
        takes no arguments, or ``"module:Class"`` to import it only when selected) under
        ``name``. ``requires`` and ``install_hint`` are as for backends."""


class PreprocessorRegistrar(Protocol):
    """The ``register`` callable that :func:`ris_register_preprocessors` receives."""

    def __call__(self, name: str, step: PreprocessStep) -> None:
        """Register a preprocessing step under ``name``."""


@hookspec
def ris_register_backends(register: BackendRegistrar) -> None:
    """Register the backends this plugin provides by calling ``register`` once for each.

    Keep this cheap: name the class as ``"module:Class"`` so its module (and the heavy
    dependencies it imports) load only when a user selects the backend.
    """


@hookspec
def ris_register_engines(register: EngineRegistrar) -> None:
    """Register the feature engines this plugin provides to the ``local`` backend.

    Users select one by name with ``ris_core.open("local", engine="name")`` (or
    ``-o engine=name`` on the command line). As with backends, name the class as
    ``"module:Class"`` so nothing heavy is imported until it is selected.
    """


@hookspec
def ris_register_preprocessors(register: PreprocessorRegistrar) -> None:
    """Register named image preprocessing steps that users can add to their chain."""


@hookspec
def ris_after_write(backend: str, context: str, operation: str, image_ids: Sequence[str]) -> None:
    """Called after a write succeeded.

    ``operation`` is one of ``add_image``, ``update_image``, ``delete_image``,
    ``create_features``, ``update_features``, ``delete_features``, ``create_tag``,
    ``delete_context``, ``set_metadata``, ``delete_metadata``, ``collection``;
    ``context`` is the user-facing context name.
    """


@hookspec
def ris_after_search(
    backend: str,
    context: str,
    operation: str,
    query: str | None,
    results: Sequence[SearchResult],
    seconds: float,
    details: dict[str, Any],
) -> None:
    """Called after a search succeeded.

    ``operation`` is ``find_similar_images``, ``find_images_by_tags``,
    ``find_duplicates`` or ``compare_images``; ``query`` is the stored image id that was
    searched for (None for new image data); ``seconds`` is the wall time it took;
    ``details`` holds operation-specific facts (threshold, max_count, tags, cache hit).
    """
