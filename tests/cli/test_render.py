"""What the commands print: percentages for people, fractions for programs, counts in words."""

from __future__ import annotations

import io
import json
import re

import pytest

from tagger.cli.render import as_json, evaluation_table, percent, tagged_count, train_summary, warnings

SCORES = {"precision": 0.5, "recall": 0.25, "f1": 1 / 3}
EVALUATION = {
    "file": "gold.txt",
    "sentences": 3,
    "tokens": 12,
    **SCORES,
    "support": 7,
    "per_type": {"PER": {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 4}, "LOC": {**SCORES, "support": 3}},
    "warnings": [],
}


def test_percent_has_two_decimals():
    assert [percent(x) for x in (0.0, 1 / 3, 0.98765, 1.0)] == ["0.00", "33.33", "98.77", "100.00"]


def test_train_summary_in_percent_with_test_and_no_warnings():
    """The warnings are logs, said on stderr: the summary on stdout holds the results alone."""
    result = {
        "model": "m.pt",
        "best_epoch": 4,
        "epochs_run": 9,
        "dev": SCORES,
        "test": {"precision": 1.0, "recall": 0.75, "f1": 6 / 7},
        "seconds": 12.34,
        "warnings": ["the best dev F1 is 0"],
    }
    assert train_summary(result).splitlines() == [
        "model: m.pt",
        "best epoch: 4 of 9",
        "dev:  precision 50.00%  recall 25.00%  F1 33.33%",
        "test: precision 100.00%  recall 75.00%  F1 85.71%",
        "time: 12.3 s",
    ]


def test_train_summary_without_test_or_warnings():
    result = {"model": "m.pt", "best_epoch": 1, "epochs_run": 1, "dev": SCORES, "seconds": 1.0}
    lines = train_summary(result).splitlines()
    assert [line.split(":")[0] for line in lines] == ["model", "best epoch", "dev", "time"]


def test_evaluation_table_rows_in_percent():
    out = io.StringIO()
    evaluation_table(EVALUATION, out)
    text = out.getvalue()
    assert "gold.txt: 3 sentences, 12 tokens" in text
    assert re.search(r"precision %.*recall %.*F1 %.*support", text)
    rows = {line.split()[1]: line for line in text.splitlines() if re.match(r"^\S\s+(PER|LOC|all)\b", line)}
    assert re.search(r"100\.00\s.*50\.00\s.*66\.67\s.*4\b", rows["PER"])
    assert re.search(r"50\.00\s.*25\.00\s.*33\.33\s.*3\b", rows["LOC"])
    assert re.search(r"50\.00\s.*25\.00\s.*33\.33\s.*7\b", rows["all"])


def test_evaluation_table_of_one_sentence_says_it_in_the_singular():
    out = io.StringIO()
    evaluation_table({**EVALUATION, "sentences": 1, "tokens": 1}, out)
    assert "gold.txt: 1 sentence, 1 token" in out.getvalue()


def test_json_keeps_the_library_fractions():
    assert json.loads(as_json(EVALUATION)) == EVALUATION


def test_warnings():
    assert warnings({"warnings": ["a", "b"]}) == ["warning: a", "warning: b"]
    assert warnings({}) == []


@pytest.mark.parametrize(
    ("count", "line"),
    [
        (1, "tagged 1 sentence"),
        (2, "tagged 2 sentences"),
        (1000, "tagged 1000 sentences"),
        (0, "tagged 0 sentences: in.txt is empty or blank, nothing was written"),
    ],
)
def test_tagged_count(count, line):
    assert tagged_count(count, "in.txt") == line
