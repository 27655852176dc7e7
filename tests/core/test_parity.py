"""Parity between two backends: the measures, the report, and the workload's housekeeping."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

import ris_core
from ris_core import errors
from ris_core.parity import ParityReport, compare_backends, spearman
from ris_core.system import ImageSearch
from ris_core.testing.images import encode, near_copy, photo, truncated_jpeg


@pytest.fixture
def workload(tmp_path: Path) -> tuple[Path, Path]:
    images, queries = tmp_path / "images", tmp_path / "queries"
    (images / "sub").mkdir(parents=True)
    queries.mkdir()
    for seed in range(6):
        (images / f"p{seed}.png").write_bytes(encode(photo(seed)))
    (images / "sub" / "p1-copy.jpg").write_bytes(encode(near_copy(photo(1)), "JPEG", quality=85))
    (images / "broken.jpg").write_bytes(truncated_jpeg())
    for seed in (0, 2, 4):
        (queries / f"q{seed}.jpg").write_bytes(encode(near_copy(photo(seed)), "JPEG", quality=80))
    return images, queries


@pytest.fixture
def pair() -> Iterator[tuple[ImageSearch, ImageSearch]]:
    with ris_core.open("local", database=":memory:") as first, ris_core.open("local", database=":memory:") as second:
        yield first, second


def _blank(image: Image.Image) -> Image.Image:
    """A preprocessing step that makes every image the same: a backend that sees nothing."""
    return Image.new("RGB", (64, 64), (128, 128, 128))


def test_spearman_matches_known_values() -> None:
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # With ties, average ranks: x ranks (1, 2.5, 2.5, 4), y ranks (1, 2, 3, 4).
    assert spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(0.9486832980505138)
    assert spearman([5, 5, 5], [1, 2, 3]) is None
    assert spearman([1], [2]) is None
    with pytest.raises(ValueError):
        spearman([1, 2], [1])


def test_identical_backends_agree_everywhere(
    pair: tuple[ImageSearch, ImageSearch], workload: tuple[Path, Path]
) -> None:
    first, second = pair
    images, queries = workload
    report = compare_backends(first, second, images, queries, k=3)
    assert (report.backend_a, report.backend_b) == ("local (A)", "local (B)")
    assert report.images == 7 and list(report.skipped_images) == ["broken.jpg"]
    assert [query.query for query in report.queries] == ["q0.jpg", "q2.jpg", "q4.jpg"]
    assert report.top1_agreement == 1.0 and report.mean_overlap == 1.0
    assert report.mean_spearman == pytest.approx(1.0)
    assert report.disagreements == ()
    assert report.queries[0].top_a[0] == "p0.png"
    assert report.duplicates is not None and report.duplicates.common == (("p1.png", "sub/p1-copy.jpg"),)
    assert first.list_contexts() == [] and second.list_contexts() == []


def test_a_backend_that_sees_nothing_disagrees(workload: tuple[Path, Path]) -> None:
    images, queries = workload
    with (
        ris_core.open("local", database=":memory:") as good,
        ris_core.open("local", database=":memory:", preprocessing=[_blank]) as blind,
    ):
        report = compare_backends(good, blind, images, [queries / "q2.jpg", queries / "q4.jpg"], k=2)
    assert report.top1_agreement == 0.0
    assert [query.query for query in report.disagreements] == ["q2.jpg", "q4.jpg"]
    assert report.mean_spearman is None  # the blind one finds nothing: no ranking
    # Blank pictures have no detail to match, so they never group (they once made one).
    assert report.duplicates is not None and report.duplicates.groups_b == 0


def test_report_serialises_and_prints(pair: tuple[ImageSearch, ImageSearch], workload: tuple[Path, Path]) -> None:
    images, queries = workload
    report = compare_backends(*pair, images, queries, k=3)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["top1_agreement"] == 1.0 and data["disagreements"] == [] and len(data["queries"]) == 3
    text = report.format()
    assert "top-1 agreement    3/3 (100.0%)" in text
    assert "They agree on every query." in text and "broken.jpg" in text


def test_disagreements_are_listed_in_the_text() -> None:
    from ris_core.parity import QueryParity

    report = ParityReport("a", "b", 3, 2, (QueryParity("q.jpg", ("x", "y"), ("y", "x"), 1.0, -1.0),), None)
    text = report.format()
    assert "q.jpg: top-1 a=x b=y, overlap 1.00, rho -1.000" in text
    assert "n/a (a backend does not offer find_duplicates)" in text


def test_keep_leaves_the_contexts(pair: tuple[ImageSearch, ImageSearch], workload: tuple[Path, Path]) -> None:
    images, queries = workload
    compare_backends(*pair, images, queries, context_name="kept", keep=True)
    assert [info.name for info in pair[0].list_contexts()] == ["kept"]
    assert pair[1].context("kept").image_ids()[0] == "p0.png"


def test_bad_workloads_are_refused(
    pair: tuple[ImageSearch, ImageSearch], workload: tuple[Path, Path], tmp_path: Path
) -> None:
    images, queries = workload
    with pytest.raises(errors.SourceNotFoundError):
        compare_backends(*pair, tmp_path / "missing", queries)
    with pytest.raises(errors.InvalidArgumentError):
        compare_backends(*pair, images, queries, k=0)
    (tmp_path / "empty").mkdir()
    with pytest.raises(errors.InvalidArgumentError, match="at least one"):
        compare_backends(*pair, images, tmp_path / "empty")
    assert pair[0].list_contexts() == []


def test_ris_parity_command_compares_two_backends(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ris_core.cli import main
    from ris_core.testing.images import encode, near_copy, photo

    images, queries = tmp_path / "images", tmp_path / "queries"
    images.mkdir()
    queries.mkdir()
    for seed in range(6):
        (images / f"p{seed}.png").write_bytes(encode(photo(seed)))
    for seed in (1, 4):
        (queries / f"q{seed}.jpg").write_bytes(encode(near_copy(photo(seed)), "JPEG"))
    code = main(
        ["--database", ":memory:", "parity", str(images), str(queries), "--against", "memory", "-k", "3", "--json"]
    )
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (report["backend_a"], report["backend_b"]) == ("local", "memory")
    assert report["top1_agreement"] == 1.0
    code = main(["--database", ":memory:", "parity", str(images), str(queries), "--against", "memory"])
    assert code == 0 and "top-1 agreement    2/2" in capsys.readouterr().out
