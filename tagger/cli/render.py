"""What the commands print: the evaluation table, the training summary, warnings and counts.

Scores are percentages (two decimals) in tables and summaries, fractions 0-1 in JSON (the library's numbers).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TextIO

from tagger.cli.exit_status import err
from tagger.cli.plot import BLOCKS, dev_f1, sparkline
from tagger.data.output import CheckedOutput
from tagger.errors import counted
from tagger.training.evaluation import headline_name

SUMMARY_FORMATS = ("table", "json")
UNITS = "scores: percentages in the table, fractions 0-1 in json"


def percent(fraction: float) -> str:
    return f"{100 * fraction:.2f}"


def as_json(result: dict) -> str:
    return json.dumps(result, indent=2)


def warnings(result: dict) -> list[str]:
    return [f"warning: {w}" for w in result.get("warnings", ())]


def _scores(label: str, s: dict) -> str:
    if "f1" not in s:  # a plain label set
        return f"{label} accuracy {percent(s['accuracy'])}%"
    return f"{label} precision {percent(s['precision'])}%  recall {percent(s['recall'])}%  F1 {percent(s['f1'])}%"


def train_summary(result: dict, blocks: str = BLOCKS) -> str:
    """The lines of ``tagger train``'s summary (scores in percent), dev F1 per epoch as a sparkline
    of ``blocks`` (``plot.blocks_for`` picks them for the terminal). The run's warnings are no part of it: they
    are logs, said on stderr (``report``), and stdout holds results alone."""
    lines = [
        f"model: {result['model']}",
        f"best epoch: {result['best_epoch']} of {result['epochs_run']}",
        _scores("dev: ", result["dev"]),
    ]
    if "test" in result:
        lines.append(_scores("test:", result["test"]))
    lines.append(f"time: {result['seconds']:.1f} s")
    if result.get("history"):
        measure = headline_name(result["history"][0]["dev"])
        lines.append(f"dev {measure} per epoch: {sparkline(dev_f1(result['history']), blocks=blocks)}")
    return "\n".join(lines) + "\n"


def evaluation_table(result: dict, out: TextIO) -> None:
    """Per-type and micro-averaged precision, recall and F1 in percent, with each type's support, and the
    token accuracy; for a plain label set, each tag's (recall: the share of its tokens tagged right) and the
    token accuracy of all tags."""
    from rich.console import Console  # here, not above: `tagger --help` needs no rich
    from rich.table import Table

    size = f"{counted(result['sentences'], 'sentence')}, {counted(result['tokens'], 'token')}"
    table = Table(title=f"{result['file']}: {size}")
    plain = "per_tag" in result
    first, rows = ("tag", result["per_tag"]) if plain else ("type", result["per_type"])
    for column in (first, "precision %", "recall %", "F1 %", "support"):
        table.add_column(column, justify="left" if column == first else "right")
    for name, s in rows.items():
        table.add_row(name, percent(s["precision"]), percent(s["recall"]), percent(s["f1"]), str(s["support"]))
    table.add_section()
    if plain:
        table.add_row("accuracy", "", "", percent(result["accuracy"]), str(result["support"]))
    else:
        micro = (percent(result[k]) for k in ("precision", "recall", "f1"))
        table.add_row("all (micro)", *micro, str(result["support"]))
    Console(file=out).print(table)
    if "accuracy" in result and not plain:
        out.write(f"token accuracy: {percent(result['accuracy'])}%\n")


def tagged_count(count: int, name: str, files: int = 1) -> str:
    """The closing line of ``tagger tag`` on stderr (of its ``files`` inputs together, where several)."""
    if files > 1:
        return f"tagged {counted(count, 'sentence')} in {files} files"
    if count == 0:
        return f"tagged 0 sentences: {name} is empty or blank, nothing was written"
    return f"tagged {counted(count, 'sentence')}"


def report(result: dict, output: str, table: Callable[[TextIO], None], said: set[str] = frozenset()) -> None:
    """A command's warnings on stderr (but those already ``said``); its result on stdout, as JSON or as
    ``table(out)`` draws it."""
    for line in warnings(result):
        if line not in said:
            err(line)
    out = CheckedOutput(sys.stdout)
    if output == "json":
        out.write(as_json(result) + "\n")
    else:
        table(out)
