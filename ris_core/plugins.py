"""Plugin discovery and backend selection.

Plugins are the modules named in the ``ris`` entry-point group, ours included
(``local`` and ``aspose`` come through the same door as third-party backends). They are
imported the first time something needs them, never at ``import ris_core``. A plugin
that fails to import or whose registration hook raises is reported with a
:class:`PluginLoadWarning` naming it, and the rest keep working.

Set ``RIS_DISABLE_PLUGIN_AUTOLOAD=1`` to load only the plugins of the ``ris``
distribution itself; pass others explicitly with ``ris_core.open(plugins=[...])``.
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import importlib.util
import logging
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pluggy

from ris_core import hookspecs
from ris_core.backend import Backend
from ris_core.errors import (
    BackendConflictError,
    BackendUnavailableError,
    UnknownBackendError,
)
from ris_core.images import PreprocessStep
from ris_core.models import BackendInfo

__all__ = [
    "BackendSpec",
    "LoadedPlugin",
    "PluginLoadWarning",
    "PluginSet",
    "discover_plugins",
    "normalize_name",
]

ENTRY_POINT_GROUP = "ris"
OWN_DISTRIBUTION = "ris"
AUTOLOAD_SWITCH = "RIS_DISABLE_PLUGIN_AUTOLOAD"

logger = logging.getLogger(__name__)


class PluginLoadWarning(UserWarning):
    """A plugin could not be loaded or registered; it is skipped."""


def normalize_name(name: str) -> str:
    """Backend names compare case-insensitively, with ``_`` and ``-`` alike."""
    return name.strip().lower().replace("_", "-")


@dataclass(frozen=True, slots=True)
class LoadedPlugin:
    """A plugin object and where it came from."""

    name: str
    plugin: object
    distribution: str


@dataclass(frozen=True, slots=True)
class BackendSpec:
    """One backend registration: enough to list it and, on demand, to import it."""

    name: str
    target: str | type[Backend]
    plugin: str
    description: str = ""
    requires: tuple[str, ...] = ()
    install_hint: str = ""

    def missing_requirements(self) -> list[str]:
        """Required modules that cannot be found (checked without importing them)."""
        return [module for module in self.requires if not _module_available(module)]

    def load(self) -> type[Backend]:
        """Import and return the backend class."""
        missing = self.missing_requirements()
        if missing:
            raise BackendUnavailableError(self._unavailable_message(missing))
        if not isinstance(self.target, str):
            return self.target
        module_name, _, attribute = self.target.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise BackendUnavailableError(self._unavailable_message([exc.name or module_name])) from exc
        backend_class = getattr(module, attribute)
        if not (isinstance(backend_class, type) and issubclass(backend_class, Backend)):
            raise BackendUnavailableError(
                f"plugin {self.plugin!r} registered {self.target!r} for backend {self.name!r}, "
                "which is not a ris_core.backend.Backend subclass"
            )
        return backend_class

    def _unavailable_message(self, missing: Sequence[str]) -> str:
        hint = self.install_hint or "install the plugin's optional dependencies"
        return f"backend {self.name!r} needs {', '.join(missing)}, which is not installed; {hint}"


@functools.cache
def discover_plugins() -> tuple[LoadedPlugin, ...]:
    """Import every module in the ``ris`` entry-point group, once per process."""
    autoload = os.environ.get(AUTOLOAD_SWITCH, "") in ("", "0")
    loaded: list[LoadedPlugin] = []
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        distribution = entry_point.dist.name if entry_point.dist else "?"
        if not autoload and normalize_name(distribution) != OWN_DISTRIBUTION:
            continue
        try:
            plugin = entry_point.load()
        except Exception as exc:  # a third party's bug must not break the host
            _warn_broken(entry_point.name, distribution, exc)
            continue
        loaded.append(LoadedPlugin(entry_point.name, plugin, distribution))
    return tuple(loaded)


def _warn_broken(name: str, distribution: str, exc: BaseException) -> None:
    message = (
        f"ris plugin {name!r} from distribution {distribution!r} failed to load and is "
        f"skipped: {type(exc).__name__}: {exc}"
    )
    logger.warning(message)
    warnings.warn(message, PluginLoadWarning, stacklevel=3)


@dataclass
class PluginSet:
    """A plugin manager with the plugins of one :class:`ris_core.ImageSearch`.

    Each system gets its own manager, so observers registered for one system (its
    statistics, its cache) see only that system's events.
    """

    extra_plugins: Sequence[object] = ()
    manager: pluggy.PluginManager = field(init=False)

    def __post_init__(self) -> None:
        self.manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self.manager.add_hookspecs(hookspecs)
        for loaded in discover_plugins():
            self._register(loaded.plugin, loaded.name)
        for index, plugin in enumerate(self.extra_plugins):
            self._register(plugin, getattr(plugin, "__name__", f"plugin-{index}"))

    def _register(self, plugin: object, name: str) -> None:
        try:
            self.manager.register(plugin, name=name)
        except ValueError as exc:  # already registered, or a hook not in our specs
            _warn_broken(name, "?", exc)

    @property
    def hook(self) -> Any:
        """The pluggy hook relay, for calling observer hooks."""
        return self.manager.hook

    @functools.cached_property
    def backend_specs(self) -> Mapping[str, tuple[BackendSpec, ...]]:
        """Every backend registration, by normalised name; more than one is a conflict."""
        specs: dict[str, list[BackendSpec]] = {}
        for plugin_name, register in self._bound_registrars():
            try:
                register(specs)
            except Exception as exc:
                _warn_broken(plugin_name, "?", exc)
        return {name: tuple(claims) for name, claims in specs.items()}

    def _bound_registrars(self) -> Iterable[tuple[str, Any]]:
        for impl in self.manager.hook.ris_register_backends.get_hookimpls():

            def run(specs: dict[str, list[BackendSpec]], impl: Any = impl) -> None:
                def register(
                    name: str,
                    target: str | type[Backend],
                    *,
                    description: str = "",
                    requires: Sequence[str] = (),
                    install_hint: str = "",
                ) -> None:
                    spec = BackendSpec(
                        normalize_name(name),
                        target,
                        impl.plugin_name,
                        description,
                        tuple(requires),
                        install_hint,
                    )
                    specs.setdefault(spec.name, []).append(spec)

                impl.function(register=register)

            yield impl.plugin_name, run

    def backend_spec(self, name: str) -> BackendSpec:
        """The one registration for ``name``, or a typed error saying what to do."""
        key = normalize_name(name)
        claims = self.backend_specs.get(key)
        if not claims:
            known = ", ".join(sorted(self.backend_specs)) or "none"
            raise UnknownBackendError(
                f"no backend named {name!r} is installed (installed: {known}); "
                "install a plugin that provides it, e.g. pip install ris-" + key
            )
        if len(claims) > 1:
            owners = " and ".join(repr(claim.plugin) for claim in claims)
            raise BackendConflictError(f"backend name {key!r} is claimed by plugins {owners}; uninstall one of them")
        return claims[0]

    def backend_infos(self, with_options: bool = False) -> list[BackendInfo]:
        """Every registered backend with whether it can be used, sorted by name.

        ``with_options`` imports each usable backend to read the options it accepts;
        otherwise nothing is imported.
        """
        infos = []
        for name, claims in sorted(self.backend_specs.items()):
            if len(claims) > 1:
                owners = " and ".join(claim.plugin for claim in claims)
                infos.append(BackendInfo(name, claims[0].description, owners, False, f"name claimed by {owners}"))
                continue
            spec = claims[0]
            missing = spec.missing_requirements()
            reason = spec._unavailable_message(missing) if missing else ""
            options = _declared_options(spec) if with_options and not missing else {}
            infos.append(BackendInfo(name, spec.description, spec.plugin, not missing, reason, options))
        return infos

    def preprocessors(self) -> dict[str, PreprocessStep]:
        """Every named preprocessing step that plugins registered."""
        steps: dict[str, PreprocessStep] = {}

        def register(name: str, step: PreprocessStep) -> None:
            steps[normalize_name(name)] = step

        self.manager.hook.ris_register_preprocessors(register=register)
        return steps


def _declared_options(spec: BackendSpec) -> Mapping[str, str]:
    try:
        return dict(spec.load().options)
    except Exception:  # listing must not fail because one backend cannot import
        return {}


def _module_available(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
