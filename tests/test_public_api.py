"""The public surface stays honest: exports complete and documented, hooks in the README."""

from __future__ import annotations

import inspect
from pathlib import Path

import ris_core
from ris_core import errors, hookspecs
from ris_core.backend import Backend
from ris_core.context import SearchContext
from ris_core.system import ImageSearch

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def test_everything_in_all_exists_and_is_documented() -> None:
    for name in ris_core.__all__:
        value = getattr(ris_core, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"ris_core.{name} has no docstring"


def test_every_error_is_exported_and_part_of_the_tree() -> None:
    for name in errors.__all__:
        error = getattr(errors, name)
        assert issubclass(error, errors.RisError) and inspect.getdoc(error)
        assert name in (errors.__doc__ or ""), f"{name} is missing from the tree in errors.py's docstring"


def test_public_methods_are_documented() -> None:
    for cls in (ImageSearch, SearchContext, Backend):
        for name, member in inspect.getmembers(cls, inspect.isfunction):
            if not name.startswith("_"):
                assert inspect.getdoc(member), f"{cls.__name__}.{name} has no docstring"


def test_every_hook_is_documented_in_the_readme_with_its_signature() -> None:
    for name, function in inspect.getmembers(hookspecs, inspect.isfunction):
        if name.startswith("ris_"):
            parameters = ", ".join(inspect.signature(function).parameters)
            assert f"{name}({parameters})" in README, f"README does not document {name}({parameters})"


def test_the_engine_seam_is_exported_documented_and_described_in_the_readme() -> None:
    import ris_local

    for name in ris_local.__all__:
        value = getattr(ris_local, name)
        if inspect.isclass(value):
            assert inspect.getdoc(value), f"ris_local.{name} has no docstring"
    section = README.split("## Writing an engine", 1)[1].split("\n## ", 1)[0]
    for cls in (ris_local.Engine, ris_local.FeatureIndex):
        for method in sorted(cls.__abstractmethods__):
            assert f"`{method}" in section, f"README's 'Writing an engine' does not name {cls.__name__}.{method}"
