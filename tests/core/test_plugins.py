"""Backend selection and plugin loading: lazy, defensive, with errors that say what to do."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest

import ris_core
from ris_core import errors, plugins
from ris_core.hookspecs import BackendRegistrar, hookimpl
from ris_local.backend import LocalBackend


class _Registers:
    """A plugin object that registers the given backends."""

    def __init__(self, **targets: Any) -> None:
        self.targets = targets

    @hookimpl
    def ris_register_backends(self, register: BackendRegistrar) -> None:
        for name, (target, requires) in self.targets.items():
            register(
                name,
                target,
                description=f"test {name}",
                requires=requires,
                install_hint="pip install 'ris[test-extra]'",
            )


@pytest.fixture
def fresh_discovery() -> Iterator[None]:
    plugins.discover_plugins.cache_clear()
    yield
    plugins.discover_plugins.cache_clear()


def test_default_backend_is_local_and_listed() -> None:
    with ris_core.open(database=":memory:") as system:
        assert system.backend_name == "local"
    names = {info.name for info in ris_core.available_backends()}
    assert {"local", "aspose"} <= names


def test_backend_names_are_normalised() -> None:
    with ris_core.open(" LOCAL ", database=":memory:") as system:
        assert system.backend_name == "local"


def test_unknown_backend_lists_the_installed_ones() -> None:
    with pytest.raises(errors.UnknownBackendError, match=r"no backend named 'nope'.*installed: .*local"):
        ris_core.open("nope")


def test_missing_dependency_names_the_extra_to_install() -> None:
    plugin = _Registers(needy=("ris_local.backend:LocalBackend", ("module_that_is_not_installed",)))
    with pytest.raises(errors.BackendUnavailableError, match=r"module_that_is_not_installed.*ris\[test-extra\]"):
        ris_core.open("needy", plugins=[plugin])
    info = next(i for i in plugins.PluginSet([plugin]).backend_infos() if i.name == "needy")
    assert not info.available and "pip install" in info.reason


def test_two_plugins_claiming_one_name_are_both_named() -> None:
    first = _Registers(twin=(LocalBackend, ()))
    second = _Registers(twin=(LocalBackend, ()))
    with pytest.raises(errors.BackendConflictError, match="claimed by plugins"):
        ris_core.open("twin", plugins=[first, second])


def test_unsupported_option_lists_the_accepted_ones() -> None:
    with pytest.raises(errors.UnsupportedOptionError, match=r"colour.*accepts: database"):
        ris_core.open("local", database=":memory:", colour="red")


def test_target_that_is_not_a_backend_is_refused() -> None:
    plugin = _Registers(fake=("ris_core.models:SearchResult", ()))
    with pytest.raises(errors.BackendUnavailableError, match=r"not a ris_core\.backend\.Backend"):
        ris_core.open("fake", plugins=[plugin])


def _fake_entry_points(good: types.ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.metadata.entry_points

    class Broken:
        name, value, group = "broken", "no_such_module_xyz", "ris"
        dist = types.SimpleNamespace(name="ris-broken")

        def load(self) -> Any:
            raise ImportError("No module named 'no_such_module_xyz'")

    class Good:
        name, value, group = "good", good.__name__, "ris"
        dist = types.SimpleNamespace(name="ris-good")

        def load(self) -> Any:
            return good

    def entry_points(**kwargs: Any) -> Any:
        if kwargs.get("group") == "ris":
            return [*real(**kwargs), Broken(), Good()]
        return real(**kwargs)

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)


def test_a_broken_plugin_is_reported_by_name_and_the_rest_work(
    monkeypatch: pytest.MonkeyPatch, fresh_discovery: None
) -> None:
    good = types.ModuleType("ris_good_plugin")
    good.ris_register_backends = hookimpl(  # type: ignore[attr-defined]
        lambda register: register("good", LocalBackend)
    )
    _fake_entry_points(good, monkeypatch)
    with pytest.warns(plugins.PluginLoadWarning, match=r"'broken' from distribution 'ris-broken'"):
        names = {info.name for info in ris_core.available_backends()}
    assert {"local", "good"} <= names and "broken" not in names


def test_autoload_switch_keeps_only_our_own_plugins(monkeypatch: pytest.MonkeyPatch, fresh_discovery: None) -> None:
    good = types.ModuleType("ris_good_plugin")
    good.ris_register_backends = hookimpl(  # type: ignore[attr-defined]
        lambda register: register("good", LocalBackend)
    )
    _fake_entry_points(good, monkeypatch)
    monkeypatch.setenv("RIS_DISABLE_PLUGIN_AUTOLOAD", "1")
    names = {info.name for info in ris_core.available_backends()}
    assert "local" in names and "good" not in names and "memory" not in names


def test_a_registration_hook_that_raises_does_not_break_the_host() -> None:
    class Raises:
        @hookimpl
        def ris_register_backends(self, register: BackendRegistrar) -> None:
            raise RuntimeError("bug in a third-party plugin")

    with (
        pytest.warns(plugins.PluginLoadWarning, match="bug in a third-party plugin"),
        ris_core.open("local", database=":memory:", plugins=[Raises()]) as system,
    ):
        assert system.backend_name == "local"


def test_importing_ris_core_loads_no_plugin_and_no_backend() -> None:
    code = (
        "import sys, ris_core; "
        "prefixes = ('ris_local', 'ris_aspose', 'ris_memory', 'asposeimagingcloud'); "
        "loaded = [m for m in sys.modules if m.startswith(prefixes)]; "
        "print(loaded)"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert output.stdout.strip() == "[]"


def test_listing_backends_does_not_import_the_aspose_sdk() -> None:
    code = "import sys, ris_core; ris_core.available_backends(); print('asposeimagingcloud' in sys.modules)"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert output.stdout.strip().splitlines()[-1] == "False"
