"""The two entry points: :func:`open` a system on a backend, list :func:`available_backends`."""

from __future__ import annotations

import builtins
import os
from collections.abc import Sequence
from typing import Any

from ris_core.errors import ConfigurationError, UnsupportedOptionError
from ris_core.images import DEFAULT_MAX_DECODE_BYTES, DEFAULT_MAX_PIXELS, PreprocessStep
from ris_core.models import BackendInfo, EngineInfo
from ris_core.plugins import PluginSet, normalize_name, opening_with
from ris_core.preprocess import BUILTIN_STEPS, DEFAULT_STEPS
from ris_core.retry import RetryPolicy
from ris_core.system import ImageSearch, open_catalog

__all__ = ["DEFAULT_BACKEND", "available_backends", "available_engines", "open"]

#: The embedded backend used when no name is given: offline, file-backed, no account.
DEFAULT_BACKEND = "local"


def open(
    backend: str | None = None,
    *,
    catalog: str | os.PathLike[str] | None = None,
    preprocessing: Sequence[str | PreprocessStep] | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    max_decode_bytes: int = DEFAULT_MAX_DECODE_BYTES,
    cache_size: int = 1024,
    retry: RetryPolicy | None = None,
    plugins: Sequence[object] = (),
    **options: Any,
) -> ImageSearch:
    """Open a reverse image search system on the backend named ``backend``.

    ``backend`` defaults to ``$RIS_BACKEND`` or ``"local"``. ``options`` go to the
    backend (``database=`` and ``engine=`` for local; ``client_id=``, ``base_url=`` ... for aspose) and
    unknown ones are refused. ``catalog`` is where names and bookkeeping live (by
    default where the backend suggests: the local database file itself).
    ``preprocessing`` is the chain of steps (names or callables) applied to pixels
    before features are computed; ``max_pixels`` the decompression-bomb limit;
    ``max_decode_bytes`` the most memory one decode's full-size pixels may take
    (an image that would need more, and cannot be decoded reduced, is refused with
    ImageTooLargeError);
    ``cache_size`` how many search results to cache (0: none); ``retry`` the policy for
    transient backend failures; ``plugins`` extra plugin objects to register.

    Raises UnknownBackendError, BackendUnavailableError (a missing optional
    dependency, with the extra to install), BackendConflictError or
    UnsupportedOptionError.
    """
    plugin_set = PluginSet(plugins)
    name = backend or os.environ.get("RIS_BACKEND") or DEFAULT_BACKEND
    backend_class = plugin_set.backend_spec(name).load()
    unknown = sorted(set(options) - set(backend_class.options))
    if unknown:
        accepted = ", ".join(sorted(backend_class.options)) or "none"
        raise UnsupportedOptionError(
            f"backend {normalize_name(name)!r} does not accept option(s) {', '.join(unknown)}; it accepts: {accepted}"
        )
    steps = _resolve_steps(preprocessing, plugin_set)
    with opening_with(plugin_set):
        instance = backend_class(**options)
    return ImageSearch(
        instance, open_catalog(instance, catalog), plugin_set, steps, max_pixels, cache_size, retry, max_decode_bytes
    )


def available_backends(with_options: bool = False) -> list[BackendInfo]:
    """Every backend the installed plugins register, with whether it can be used now.

    With ``with_options``, each usable backend is imported to list the options it
    accepts; without, no backend module is imported.
    """
    return PluginSet().backend_infos(with_options)


def available_engines() -> list[EngineInfo]:
    """Every feature engine the installed plugins register for the ``local`` backend
    (select one with ``open("local", engine=name)``); nothing is imported."""
    return PluginSet().engine_infos()


def _resolve_steps(chain: Sequence[str | PreprocessStep] | None, plugin_set: PluginSet) -> list[PreprocessStep]:
    if chain is None:
        return list(DEFAULT_STEPS)
    named = {**BUILTIN_STEPS, **plugin_set.preprocessors()}
    steps: list[PreprocessStep] = []
    for step in chain:
        if callable(step):
            steps.append(step)
        elif isinstance(step, builtins.str) and normalize_name(step) in named:
            steps.append(named[normalize_name(step)])
        else:
            raise ConfigurationError(f"unknown preprocessing step {step!r}; known: {', '.join(sorted(named))}")
    return steps
