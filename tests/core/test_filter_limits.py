"""Malformed metadata and filters are InvalidMetadataError with a clear message, at the
documented limits, through the library and the CLI (exit 4), never a traceback."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

import ris_core
from ris_core import errors
from ris_core.cli import main
from ris_core.context import SearchContext
from ris_core.metadata import MAX_DEPTH, MAX_FILTER_TERMS, MAX_INTEGER, MAX_KEY_LENGTH, MAX_LIST_VALUES, MIN_INTEGER
from ris_core.testing.images import encode, photo

Capture = pytest.CaptureFixture[str]


@pytest.fixture
def context() -> Any:
    with ris_core.open("memory") as system:
        context = system.create_context("c")
        context.add_image("a", encode(photo(1)), metadata={"year": 2020, "tag": "x", "flag": True, "none": None})
        context.add_image("b", encode(photo(2)), metadata={"year": 2021.0, "tag": "y"})
        context.add_image("c", encode(photo(3)))
        yield context


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth - 1):
        value = [value]
    return value


def test_long_in_lists_work_up_to_the_limit(context: SearchContext) -> None:
    for size in (995, 5000, MAX_LIST_VALUES):
        years = [10_000 + i for i in range(size - 2)] + [2020, 2021]
        assert context.image_ids(where={"year": {"$in": years}}) == ["a", "b"]
    assert context.image_ids(where={"year": {"$nin": list(range(3000, 6000))}}) == ["a", "b", "c"]
    with pytest.raises(errors.InvalidMetadataError, match=f"at most {MAX_LIST_VALUES:,} values"):
        context.image_ids(where={"year": {"$in": list(range(MAX_LIST_VALUES + 1))}})


def test_in_keeps_the_kinds_of_values_apart(context: SearchContext) -> None:
    assert context.image_ids(where={"year": {"$in": [2021]}}) == ["b"]  # 2021.0 is the number 2021
    assert context.image_ids(where={"tag": {"$in": ["x", 2020]}}) == ["a"]
    assert context.image_ids(where={"flag": {"$in": [True]}}) == ["a"]
    assert context.image_ids(where={"flag": {"$in": [1]}}) == []  # true is not 1
    assert context.image_ids(where={"none": {"$in": [None]}}) == ["a"]
    assert context.image_ids(where={"tag": {"$nin": ["x"]}}) == ["b", "c"]  # a missing key matches $nin


BAD_FILTERS: list[tuple[dict[str, Any], str]] = [
    ({"year": {"$gt": 18446744073709551616}}, "outside the 64-bit range"),
    ({"year": MAX_INTEGER + 1}, "outside the 64-bit range"),
    ({"year": {"$in": [1, MIN_INTEGER - 1]}}, "outside the 64-bit range"),
    ({"a\x00b": 1}, "control character"),
    ({"a\x85b": 1}, "control character"),
    ({'say "hi"': 1}, "control character or '\"'"),
    ({"": 1}, "1 to 256 characters"),
    ({"k" * (MAX_KEY_LENGTH + 1): 1}, "1 to 256 characters"),
    ({"tag": "\udc80"}, "not valid text"),
    ({"caf\udce9": 1}, "not valid text"),
    ({"tag": {"$in": ["ok", "\ud800"]}}, "not valid text"),
    ({"tag": {"$eq": nested(100_000)}}, "needs a string, number, boolean or null, not a list"),
    ({"tag": {"$in": [[1]]}}, "not a list"),
    ({f"k{i}": i for i in range(MAX_FILTER_TERMS + 1)}, f"at most {MAX_FILTER_TERMS} conditions"),
]


@pytest.mark.parametrize(("where", "message"), BAD_FILTERS, ids=[m for _, m in BAD_FILTERS])
def test_malformed_filters(context: SearchContext, where: dict[str, Any], message: str) -> None:
    with pytest.raises(errors.InvalidMetadataError, match=re.escape(message)):
        context.image_ids(where=where)


BAD_METADATA: list[tuple[Any, str]] = [
    ({"n": 2**64}, "outside the 64-bit range"),
    ({"deep": {"n": [1, {"x": -(2**63) - 1}]}}, r"metadata\.deep\.n\[1\]\.x: integer"),
    ({"nest": nested(MAX_DEPTH + 1)}, f"nested more than {MAX_DEPTH} levels"),  # the object is level 1
    ({"nest": nested(100_000)}, f"nested more than {MAX_DEPTH} levels"),
    ({"a\x00b": 1}, "control character"),
    ({"name": "caf\udce9"}, "not valid text"),
    ({"inner": {"caf\udce9": 1}}, "not valid text"),
]


@pytest.mark.parametrize(("metadata", "message"), BAD_METADATA, ids=[m for _, m in BAD_METADATA])
def test_malformed_metadata(context: SearchContext, metadata: Any, message: str) -> None:
    with pytest.raises(errors.InvalidMetadataError, match=message):
        context.set_metadata("a", metadata)
    assert context.get_metadata("a")["year"] == 2020  # unchanged


def test_metadata_at_the_limits_is_kept(context: SearchContext) -> None:
    value = {"max": MAX_INTEGER, "min": MIN_INTEGER, "nest": nested(MAX_DEPTH), "k" * MAX_KEY_LENGTH: "é"}
    context.set_metadata("c", value)
    assert context.get_metadata("c") == value
    assert context.image_ids(where={"max": MAX_INTEGER}) == ["c"]


def test_the_cli_repro_exits_4_with_one_line(capsys: Capture, tmp_path: Path) -> None:
    (tmp_path / "a.png").write_bytes(encode(photo(1)))
    assert main(["image", "add", "a", str(tmp_path / "a.png"), "-m", '{"year": 2020}']) == 0
    capsys.readouterr()
    deep = tmp_path / "deep.json"
    deep.write_text('{"a": ' + "[" * 50_000 + "]" * 50_000 + "}", encoding="utf-8")
    for where in ['{"year":{"$gt":18446744073709551616}}', '{"a\\u0000b": 1}', '{"a": "\\udc80"}', f"@{deep}"]:
        code = main(["image", "list", "--where", where])
        err = capsys.readouterr().err
        assert code == 4 and err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
    years = json.dumps({"year": {"$in": list(range(2000, 3000))}})
    assert main(["image", "list", "--where", years]) == 0
    assert capsys.readouterr().out == "a\n"
