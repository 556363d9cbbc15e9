"""Training progress on stderr: a header once, then one row per epoch with scores in percent and a mark for the best."""

from __future__ import annotations

import io

from rich.console import Console

from tagger.cli.progress import EpochReporter


def row(epoch: int, f1: float, best: bool) -> dict:
    dev = {"precision": f1, "recall": f1, "f1": f1}
    return {
        "epoch": epoch,
        "loss": 1.5 / epoch,
        "dev": dev,
        "sentences_per_second": 900.0,
        "seconds": 2.0,
        "best": best,
    }


def test_one_row_per_epoch_in_percent_with_the_best_marked():
    out = io.StringIO()
    with EpochReporter(Console(file=out, width=200)) as reporter:
        reporter.progress(100)(50)  # not a terminal: no bar, nothing printed
        reporter.epoch(row(1, 0.5, True))
        reporter.epoch(row(2, 0.25, False))
    lines = out.getvalue().splitlines()
    assert len(lines) == 3  # the header, then the two rows
    assert "F1" in lines[0]
    assert "50.00" in lines[1] and lines[1].rstrip().endswith("*")
    assert "25.00" in lines[2] and not lines[2].rstrip().endswith("*")


def test_log_lines_are_printed_as_given():
    out = io.StringIO()
    reporter = EpochReporter(Console(file=out, width=200))
    reporter.log("warning: [red]not markup[/red]")
    assert out.getvalue() == "warning: [red]not markup[/red]\n"


def test_a_plain_label_sets_rows_show_dev_accuracy():
    out = io.StringIO()
    with EpochReporter(Console(file=out, width=200)) as reporter:
        reporter.epoch({**row(1, 0.5, True), "dev": {"accuracy": 0.9512}})
    header, line = out.getvalue().splitlines()
    assert "dev acc%" in header and "F1" not in header
    assert "95.12" in line and line.rstrip().endswith("*")
