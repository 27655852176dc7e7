"""Plugin discovery, and selection of backends and feature engines by name.

Plugins are the modules named in the ``ris`` entry-point group, ours included
(``local`` and ``aspose`` come through the same door as third-party backends). They are
imported the first time something needs them, never at ``import ris_core``. A plugin
that fails to import or whose registration hook raises is reported with a
:class:`PluginLoadWarning` naming it, and the rest keep working.

Set ``RIS_DISABLE_PLUGIN_AUTOLOAD=1`` to load only the plugins of the ``ris``
distribution itself; pass others explicitly with ``ris_core.open(plugins=[...])``.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import importlib
import importlib.metadata
import importlib.util
import logging
import os
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import pluggy

from ris_core import hookspecs
from ris_core.backend import Backend
from ris_core.errors import (
    BackendConflictError,
    BackendUnavailableError,
    ConfigurationError,
    EngineConflictError,
    EngineUnavailableError,
    UnknownBackendError,
    UnknownEngineError,
)
from ris_core.images import PreprocessStep
from ris_core.models import BackendInfo, EngineInfo

__all__ = [
    "BackendSpec",
    "EngineSpec",
    "LoadedPlugin",
    "PluginLoadWarning",
    "PluginSet",
    "Registration",
    "current_plugins",
    "discover_plugins",
    "normalize_name",
    "opening_with",
]

ENTRY_POINT_GROUP = "ris"
OWN_DISTRIBUTION = "ris"
AUTOLOAD_SWITCH = "RIS_DISABLE_PLUGIN_AUTOLOAD"

logger = logging.getLogger(__name__)

T = TypeVar("T")
S = TypeVar("S", bound="Registration")


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
class Registration:
    """One registration of a named class: enough to list it and, on demand, to import it.

    Subclasses say what kind of thing it is and which typed errors selecting it raises.
    """

    name: str
    target: str | type[Any]
    plugin: str
    description: str = ""
    requires: tuple[str, ...] = ()
    install_hint: str = ""

    kind: ClassVar[str] = "plugin class"
    unknown_error: ClassVar[type[ConfigurationError]] = ConfigurationError
    unavailable_error: ClassVar[type[ConfigurationError]] = ConfigurationError
    conflict_error: ClassVar[type[ConfigurationError]] = ConfigurationError

    def missing_requirements(self) -> list[str]:
        """Required modules that cannot be found (checked without importing them)."""
        return [module for module in self.requires if not _module_available(module)]

    def load_class(self, base: type[T]) -> type[T]:
        """Import the class and check that it subclasses ``base``."""
        missing = self.missing_requirements()
        if missing:
            raise self.unavailable_error(self._unavailable_message(missing))
        target: object = self.target
        if isinstance(target, str):
            module_name, _, attribute = target.partition(":")
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:
                raise self.unavailable_error(self._unavailable_message([exc.name or module_name])) from exc
            target = getattr(module, attribute, None)
        if not (isinstance(target, type) and issubclass(target, base)):
            raise self.unavailable_error(
                f"plugin {self.plugin!r} registered {self.target!r} for {self.kind} {self.name!r}, "
                f"which is not a {base.__module__}.{base.__qualname__} subclass"
            )
        return target

    def _unavailable_message(self, missing: Sequence[str]) -> str:
        hint = self.install_hint or "install the plugin's optional dependencies"
        return f"{self.kind} {self.name!r} needs {', '.join(missing)}, which is not installed; {hint}"


@dataclass(frozen=True, slots=True)
class BackendSpec(Registration):
    """One backend registration (from :func:`ris_core.hookspecs.ris_register_backends`)."""

    kind: ClassVar[str] = "backend"
    unknown_error: ClassVar[type[ConfigurationError]] = UnknownBackendError
    unavailable_error: ClassVar[type[ConfigurationError]] = BackendUnavailableError
    conflict_error: ClassVar[type[ConfigurationError]] = BackendConflictError

    def load(self) -> type[Backend]:
        """Import and return the backend class."""
        return self.load_class(Backend)  # type: ignore[type-abstract]  # any subclass, abstract base


@dataclass(frozen=True, slots=True)
class EngineSpec(Registration):
    """One feature-engine registration (from :func:`ris_core.hookspecs.ris_register_engines`).

    The engine interface lives in ``ris_local`` (the backend that uses engines), so the
    caller passes the base class to :meth:`Registration.load_class`.
    """

    kind: ClassVar[str] = "engine"
    unknown_error: ClassVar[type[ConfigurationError]] = UnknownEngineError
    unavailable_error: ClassVar[type[ConfigurationError]] = EngineUnavailableError
    conflict_error: ClassVar[type[ConfigurationError]] = EngineConflictError


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
        return self._registrations("ris_register_backends", BackendSpec)

    @functools.cached_property
    def engine_specs(self) -> Mapping[str, tuple[EngineSpec, ...]]:
        """Every engine registration, by normalised name; more than one is a conflict."""
        return self._registrations("ris_register_engines", EngineSpec)

    def _registrations(self, hook_name: str, spec_class: type[S]) -> Mapping[str, tuple[S, ...]]:
        # Each implementation is called on its own, so a plugin whose registration
        # raises is named in a warning and the others' registrations are kept.
        specs: dict[str, list[S]] = {}
        for impl in getattr(self.manager.hook, hook_name).get_hookimpls():
            try:
                impl.function(register=_registrar(specs, spec_class, impl.plugin_name))
            except Exception as exc:
                _warn_broken(impl.plugin_name, "?", exc)
        return {name: tuple(claims) for name, claims in specs.items()}

    def backend_spec(self, name: str) -> BackendSpec:
        """The one registration for ``name``, or a typed error saying what to do."""
        return _select(self.backend_specs, name, BackendSpec)

    def engine_spec(self, name: str) -> EngineSpec:
        """The one engine registration for ``name``, or a typed error saying what to do."""
        return _select(self.engine_specs, name, EngineSpec)

    def backend_infos(self, with_options: bool = False) -> list[BackendInfo]:
        """Every registered backend with whether it can be used, sorted by name.

        ``with_options`` imports each usable backend to read the options it accepts;
        otherwise nothing is imported.
        """
        infos = []
        for name, claims in sorted(self.backend_specs.items()):
            description, plugin, usable, reason = _availability(claims)
            options = _declared_options(claims[0]) if with_options and usable else {}
            infos.append(BackendInfo(name, description, plugin, usable, reason, options))
        return infos

    def engine_infos(self) -> list[EngineInfo]:
        """Every registered engine with whether it can be used, sorted by name (nothing
        is imported)."""
        return [EngineInfo(name, *_availability(claims)) for name, claims in sorted(self.engine_specs.items())]

    def preprocessors(self) -> dict[str, PreprocessStep]:
        """Every named preprocessing step that plugins registered."""
        steps: dict[str, PreprocessStep] = {}

        def register(name: str, step: PreprocessStep) -> None:
            steps[normalize_name(name)] = step

        self.manager.hook.ris_register_preprocessors(register=register)
        return steps


def _registrar(specs: dict[str, list[S]], spec_class: type[S], plugin: str) -> Callable[..., None]:
    """The ``register`` callable one plugin's registration hook receives."""

    def register(
        name: str,
        target: str | type[Any],
        *,
        description: str = "",
        requires: Sequence[str] = (),
        install_hint: str = "",
    ) -> None:
        spec = spec_class(normalize_name(name), target, plugin, description, tuple(requires), install_hint)
        specs.setdefault(spec.name, []).append(spec)

    return register


_opening: contextvars.ContextVar[PluginSet | None] = contextvars.ContextVar("ris_opening", default=None)


@contextlib.contextmanager
def opening_with(plugin_set: PluginSet) -> Iterator[None]:
    """Make ``plugin_set`` :func:`current_plugins` while a backend is constructed."""
    token = _opening.set(plugin_set)
    try:
        yield
    finally:
        _opening.reset(token)


def current_plugins() -> PluginSet:
    """The plugins of the ``ris_core.open`` call constructing a backend right now, else a
    new set of the installed ones. A backend with registries of its own (the local
    backend's engines) looks names up here, so plugins passed to ``open(plugins=...)``
    are seen too."""
    return _opening.get() or PluginSet()


def _select(registry: Mapping[str, tuple[S, ...]], name: str, spec_class: type[S]) -> S:
    key = normalize_name(name)
    claims = registry.get(key)
    if not claims:
        known = ", ".join(sorted(registry)) or "none"
        raise spec_class.unknown_error(
            f"no {spec_class.kind} named {name!r} is installed (installed: {known}); "
            f"install a plugin that provides it, e.g. pip install ris-{key}"
        )
    if len(claims) > 1:
        owners = " and ".join(repr(claim.plugin) for claim in claims)
        raise spec_class.conflict_error(
            f"{spec_class.kind} name {key!r} is claimed by plugins {owners}; uninstall one of them"
        )
    return claims[0]


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


def _availability(claims: Sequence[Registration]) -> tuple[str, str, bool, str]:
    """``(description, plugin, usable, reason)`` of a registered name: unusable when two
    plugins claim it, or when its requirements are missing."""
    if len(claims) > 1:
        owners = " and ".join(claim.plugin for claim in claims)
        return claims[0].description, owners, False, f"name claimed by {owners}"
    spec = claims[0]
    missing = spec.missing_requirements()
    return spec.description, spec.plugin, not missing, spec._unavailable_message(missing) if missing else ""
