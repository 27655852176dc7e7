"""Calibrating a threshold from labelled pairs, in the library and with ``ris calibrate``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ris_core
from ris_core import errors
from ris_core.calibration import LabelledPair, calibrate, calibrate_pairs
from ris_core.cli import main
from ris_core.testing.images import encode, near_copy, photo


def test_the_threshold_admits_at_most_the_target_share_of_negatives() -> None:
    result = calibrate([95.0, 99.5, 50.0], [float(i) for i in range(100)], target_fpr=0.01)
    assert 98.0 < result.threshold <= 99.0 + 1e-9
    assert result.false_positive_rate == pytest.approx(0.01)
    assert result.true_positive_rate == pytest.approx(1 / 3)
    with pytest.raises(errors.InvalidArgumentError, match="different pictures"):
        calibrate([1.0], [])
    with pytest.raises(errors.InvalidArgumentError):
        calibrate([1.0], [1.0], 1.5)


def _pairs() -> list[LabelledPair]:
    same = [LabelledPair(encode(photo(s)), encode(near_copy(photo(s)), "JPEG"), True) for s in range(4)]
    different = [LabelledPair(encode(photo(s)), encode(photo(s + 50)), False) for s in range(4)]
    return same + different


def test_pairs_are_scored_by_the_backend_in_a_temporary_context() -> None:
    with ris_core.open("memory") as system:
        result = calibrate_pairs(system, _pairs(), target_fpr=0.0)
        assert (result.positives, result.negatives) == (4, 4)
        assert result.false_positive_rate == 0.0 and result.true_positive_rate == 1.0
        assert system.list_contexts() == []


def test_ris_calibrate_reads_a_csv_of_pairs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = ["first,second,same"]
    for number, pair in enumerate(_pairs()):
        (tmp_path / f"a{number}.png").write_bytes(pair.first)  # type: ignore[arg-type]
        (tmp_path / f"b{number}.jpg").write_bytes(pair.second)  # type: ignore[arg-type]
        lines.append(f"a{number}.png,b{number}.jpg,{'same' if pair.same else 'different'}")
    (tmp_path / "pairs.csv").write_text("\n".join(lines))
    assert main(["--backend", "memory", "calibrate", str(tmp_path / "pairs.csv"), "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["positives"] == 4 and found["negatives"] == 4 and found["true_positive_rate"] == 1.0
    (tmp_path / "bad.csv").write_text("a0.png,b0.jpg,maybe\n")
    assert main(["--backend", "memory", "calibrate", str(tmp_path / "bad.csv")]) == 2
