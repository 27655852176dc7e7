"""Engines chosen by name, remembered by the database, re-extracted or refused on a change."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import ris_core
from ris_core import errors, plugins
from ris_core.cli import main
from ris_core.hookspecs import EngineRegistrar, hookimpl
from ris_core.testing.images import encode, near_copy, photo
from ris_local import Engine
from ris_local.engines import load_engine


class _RegistersEngines:
    """A plugin object that registers the given engines."""

    def __init__(self, **targets: Any) -> None:
        self.targets = targets

    @hookimpl
    def ris_register_engines(self, register: EngineRegistrar) -> None:
        for name, (target, requires) in self.targets.items():
            register(name, target, description=f"test {name}", requires=requires, install_hint="pip install ris-x")


def _algorithm(database: Path | str, **options: Any) -> str:
    with ris_core.open("local", database=database, **options) as system:
        return system.context("photos").get_features("p1").algorithm


@pytest.fixture
def made_with_hash(tmp_path: Path) -> Path:
    database = tmp_path / "ris.db"
    with ris_core.open("local", database=database, engine="hash") as system:
        photos = system.context("photos", create=True)
        for seed in range(3):
            photos.add_image(f"p{seed}", encode(photo(seed)))
    return database


def test_built_in_engines_are_listed_without_importing_them() -> None:
    code = (
        "import json, sys, ris_core; infos = ris_core.available_engines(); "
        "print(json.dumps([i.name for i in infos if i.available])); print('ris_local.robust' in sys.modules)"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    names, imported = output.stdout.strip().splitlines()[-2:]
    assert {"robust", "hash"} <= set(json.loads(names)) and imported == "False"


def test_an_engine_is_selected_by_normalised_name() -> None:
    with ris_core.open("local", database=":memory:", engine=" Hash ") as system:
        photos = system.create_context()
        photos.add_image("a", encode(photo(1)))
        assert photos.get_features("a").algorithm == load_engine("hash").algorithm
        assert photos.find_similar_images(image=encode(near_copy(photo(1)), "JPEG"))[0].image_id == "a"


def test_an_unknown_engine_lists_the_installed_ones() -> None:
    with pytest.raises(errors.UnknownEngineError, match=r"no engine named 'nope'.*installed: .*hash.*robust"):
        ris_core.open("local", database=":memory:", engine="nope")


def test_an_engine_object_can_be_passed_directly() -> None:
    engine = load_engine("hash")
    with ris_core.open("local", database=":memory:", engine=engine) as system:
        photos = system.create_context()
        photos.add_image("a", encode(photo(1)))
        assert photos.get_features("a").algorithm == engine.algorithm


def test_an_engine_from_a_plugin_passed_to_open_is_selectable() -> None:
    mine = _RegistersEngines(mine=("ris_local.robust:HashStageEngine", ()))
    with ris_core.open("local", database=":memory:", engine="mine", plugins=[mine]) as system:
        photos = system.create_context()
        photos.add_image("a", encode(photo(1)))
        assert photos.get_features("a").algorithm == load_engine("hash").algorithm
    with pytest.raises(errors.UnknownEngineError):  # only for the system it was passed to
        ris_core.open("local", database=":memory:", engine="mine")


def test_two_plugins_claiming_one_engine_name_are_both_named() -> None:
    first = _RegistersEngines(twin=("ris_local.robust:RobustEngine", ()))
    second = _RegistersEngines(twin=("ris_local.robust:HashStageEngine", ()))
    registry = plugins.PluginSet([first, second])
    with pytest.raises(errors.EngineConflictError, match=r"'twin' is claimed by plugins .* and "):
        registry.engine_spec("twin")
    assert [info.available for info in registry.engine_infos() if info.name == "twin"] == [False]


def test_a_missing_dependency_or_a_wrong_class_is_unavailable() -> None:
    registry = plugins.PluginSet(
        [
            _RegistersEngines(
                needy=("ris_local.robust:RobustEngine", ("module_that_is_not_installed",)),
                gone=("module_that_is_not_installed:Engine", ()),
                wrong=("ris_local.backend:LocalBackend", ()),
            )
        ]
    )
    with pytest.raises(errors.EngineUnavailableError, match=r"module_that_is_not_installed.*pip install ris-x"):
        registry.engine_spec("needy").load_class(Engine)  # type: ignore[type-abstract]
    with pytest.raises(errors.EngineUnavailableError, match="module_that_is_not_installed"):
        registry.engine_spec("gone").load_class(Engine)  # type: ignore[type-abstract]
    with pytest.raises(errors.EngineUnavailableError, match=r"not a ris_local.engine.Engine subclass"):
        registry.engine_spec("wrong").load_class(Engine)  # type: ignore[type-abstract]


def test_a_broken_engine_plugin_is_a_warning_naming_it() -> None:
    class Raises:
        __name__ = "broken_engines"

        @hookimpl
        def ris_register_engines(self, register: EngineRegistrar) -> None:
            raise RuntimeError("bug in a third-party engine plugin")

    registry = plugins.PluginSet([Raises()])
    with pytest.warns(plugins.PluginLoadWarning, match=r"'broken_engines'.*bug in a third-party engine plugin"):
        names = set(registry.engine_specs)
    assert {"robust", "hash"} <= names


def test_the_database_remembers_its_engine(made_with_hash: Path) -> None:
    assert _algorithm(made_with_hash) == load_engine("hash").algorithm


def test_another_engine_re_extracts_every_image(made_with_hash: Path) -> None:
    assert _algorithm(made_with_hash, engine="robust") == load_engine("robust").algorithm
    with ris_core.open("local", database=made_with_hash) as system:  # now remembered as robust
        photos = system.context("photos")
        assert {photos.get_features(f"p{seed}").algorithm for seed in range(3)} == {load_engine("robust").algorithm}
        assert photos.find_similar_images(image=encode(near_copy(photo(2)), "JPEG"))[0].image_id == "p2"


def test_unreadable_image_bytes_refuse_the_change_and_lose_nothing(made_with_hash: Path) -> None:
    with sqlite3.connect(made_with_hash) as db:  # what a moved or damaged source looks like
        db.execute("UPDATE local_images SET data = ? WHERE image_id = 'p1'", (b"\x89PNG\r\n\x1a\n broken",))
    with pytest.raises(errors.EngineMismatchError, match=r"engine 'hash'.*image 'p1'.*engine='hash'"):
        ris_core.open("local", database=made_with_hash, engine="robust")
    # The database still remembers the old engine: it opens, every blob made by the
    # refused engine before it stopped is made again, every image matches.
    with ris_core.open("local", database=made_with_hash) as system:
        photos = system.context("photos")
        assert {photos.get_features(f"p{seed}").algorithm for seed in range(3)} == {load_engine("hash").algorithm}
        assert photos.find_similar_images(image=encode(near_copy(photo(2)), "JPEG"))[0].image_id == "p2"
    assert _algorithm(made_with_hash) == load_engine("hash").algorithm


def test_the_cli_selects_an_engine_with_an_option(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, made_with_hash: Path
) -> None:
    assert main(["engines", "--json"]) == 0
    assert {"robust", "hash"} <= set(capsys.readouterr().out.replace('"', " ").split())
    query = tmp_path / "query.jpg"
    query.write_bytes(encode(near_copy(photo(1)), "JPEG"))
    args = ["-d", str(made_with_hash), "-c", "photos", "-o", "engine=robust", "search", str(query), "--json"]
    assert main(args) == 0
    assert '"p1"' in capsys.readouterr().out
    assert _algorithm(made_with_hash) == load_engine("robust").algorithm
    assert main(["-d", str(made_with_hash), "-o", "engine=nope", "contexts"]) == 6
    assert "no engine named 'nope'" in capsys.readouterr().err
