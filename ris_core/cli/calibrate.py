"""``ris calibrate``: a threshold for the selected backend from your own labelled pairs."""

from __future__ import annotations

import csv
from pathlib import Path

import click

from ris_core.calibration import LabelledPair, calibrate_pairs
from ris_core.cli.app import CliState, cli, pass_state
from ris_core.cli.output import bar, echo, emit, json_option, progress_option

_SAME = {"1", "true", "yes", "same", "y"}
_DIFFERENT = {"0", "false", "no", "different", "n"}


def read_pairs(path: Path) -> list[LabelledPair]:
    """Pairs from a CSV of ``first,second,same`` rows (a header row is optional); image
    paths are relative to the CSV's folder; ``same`` is 1/0, true/false, yes/no or
    same/different."""
    pairs = []
    with path.open(newline="", encoding="utf-8") as handle:
        for number, row in enumerate(csv.reader(handle), 1):
            if not row or row[0].startswith("#"):
                continue
            if len(row) != 3:
                raise click.BadParameter(f"line {number}: expected first,second,same", param_hint="PAIRS")
            first, second, label = (cell.strip() for cell in row)
            if number == 1 and (first.lower(), second.lower()) == ("first", "second"):
                continue  # the optional header
            if label.lower() not in _SAME | _DIFFERENT:
                raise click.BadParameter(f"line {number}: {label!r} is not same/different", param_hint="PAIRS")
            pairs.append(LabelledPair(path.parent / first, path.parent / second, label.lower() in _SAME))
    return pairs


@cli.command()
@click.argument("pairs_file", metavar="PAIRS", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--target-fpr",
    type=click.FloatRange(0, 1, max_open=True),
    default=0.01,
    show_default=True,
    help="The largest share of different-picture pairs the threshold may accept.",
)
@progress_option
@json_option
@pass_state
def calibrate(state: CliState, pairs_file: Path, target_fpr: float, progress: bool | None, as_json: bool) -> None:
    """Compute a similarity threshold from labelled pairs.

    PAIRS is a CSV of rows 'first,second,same' (same: 1/0, yes/no, same/different),
    image paths relative to the CSV. Each pair is scored by the selected backend in a
    temporary context; the threshold is the lowest that accepts at most --target-fpr
    of the different pairs. Use it with 'ris search -t' or threshold=. It warns (on
    stderr) with fewer than 20 same-picture pairs, or fewer different ones than it takes
    to observe --target-fpr (100 at the default 0.01).
    """
    pairs = read_pairs(pairs_file)
    with bar(progress, len(pairs), "scoring pairs") as shown_bar:

        def advance(done: int, total: int) -> None:
            shown_bar.update(1)

        result = calibrate_pairs(state.system(), pairs, target_fpr, advance)
    for warning in result.warnings:
        echo(f"warning: {warning}", err=True)
    if as_json:
        emit(result)
        return
    echo(
        f"threshold {result.threshold:.2f}: accepts {result.true_positive_rate:.1%} of {result.positives} "
        f"same-picture pairs and {result.false_positive_rate:.1%} of {result.negatives} different ones "
        f"(backend {state.system().backend_name}; default {state.system().backend.default_threshold:g})"
    )
