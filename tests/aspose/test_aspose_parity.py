"""Parity end to end: the local backend against aspose on the emulator.

The emulator scores with the local engine after the same default preprocessing, so
every measure must agree exactly; a difference means the backend or the emulator
bends the answers (truncation, ties, exclusion, grouping)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import ris_core
from ris_aspose.emulator import Emulator
from ris_core.parity import compare_backends
from ris_core.testing.images import encode, near_copy, photo


def test_local_and_aspose_on_the_emulator_agree(
    tmp_path: Path, emulator: Emulator, open_on: Callable[..., Any]
) -> None:
    images, queries = tmp_path / "images", tmp_path / "queries"
    (images / "holiday").mkdir(parents=True)
    queries.mkdir()
    for seed in range(10):
        (images / f"p{seed}.png").write_bytes(encode(photo(seed)))
    for seed in (2, 7):
        (images / "holiday" / f"p{seed} copy.jpg").write_bytes(encode(near_copy(photo(seed)), "JPEG", quality=85))
    for seed in (0, 2, 5, 7, 40):
        (queries / f"q{seed}.jpg").write_bytes(encode(near_copy(photo(seed)), "JPEG", quality=80))
    with ris_core.open("local", database=":memory:") as local, open_on(emulator) as aspose:
        report = compare_backends(local, aspose, images, queries, k=5)
    assert report.disagreements == ()
    assert (report.top1_agreement, report.mean_overlap) == (1.0, 1.0)
    assert report.mean_spearman == pytest.approx(1.0)
    assert report.duplicates is not None and report.duplicates.only_a == report.duplicates.only_b == ()
    assert len(report.duplicates.common) == 2
    assert "aspose" in report.format() and not [p for p in emulator.storage_paths() if "/images/" in p]
