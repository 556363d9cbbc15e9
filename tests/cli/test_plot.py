"""tagger.cli.plot: the training curve file and the terminal sparkline."""

from __future__ import annotations

import io
import re
import sys

import pytest

from tagger.cli.plot import ASCII_BLOCKS, BLOCKS, blocks_for, dev_f1, plot_history, sparkline
from tagger.errors import MissingExtra, TaggerError

HISTORY = [
    {"epoch": e, "loss": 4.0 / e, "dev": {"precision": p, "recall": r, "f1": f}}
    for e, (p, r, f) in enumerate([(0.70, 0.60, 0.65), (0.80, 0.78, 0.79), (0.86, 0.84, 0.85), (0.85, 0.85, 0.85)], 1)
]


def test_sparkline_runs_from_the_lowest_block_to_the_highest():
    assert sparkline([0.0, 0.5, 1.0]) == "▁▅█"
    line = sparkline([0.2, 0.4, 0.3, 0.9])
    assert len(line) == 4
    assert line[0] == BLOCKS[0] and line[3] == BLOCKS[-1]
    assert BLOCKS.index(line[1]) > BLOCKS.index(line[2]) > BLOCKS.index(line[0])


def test_sparkline_of_a_rising_series_never_falls():
    line = sparkline([0.1 * i for i in range(12)])
    levels = [BLOCKS.index(c) for c in line]
    assert levels == sorted(levels) and levels[0] == 0 and levels[-1] == len(BLOCKS) - 1


def test_sparkline_edge_cases():
    assert sparkline([]) == ""
    assert sparkline([0.8, 0.8, 0.8]) == BLOCKS[len(BLOCKS) // 2] * 3
    assert sparkline([0.5], low=0.0, high=1.0) == BLOCKS[4]  # 0.5 * 7 rounds to 4
    assert sparkline([-1.0, 2.0], low=0.0, high=1.0) == BLOCKS[0] + BLOCKS[-1]  # clamped to the range


def test_a_terminal_without_block_characters_gets_ascii():
    assert sparkline([0.0, 1.0], blocks=ASCII_BLOCKS) == "_#"
    assert blocks_for(io.TextIOWrapper(io.BytesIO(), encoding="utf-8")) == BLOCKS
    assert blocks_for(io.TextIOWrapper(io.BytesIO(), encoding="cp1252")) == ASCII_BLOCKS
    assert blocks_for(object()) == ASCII_BLOCKS  # no encoding known: the safe choice


def test_dev_f1_of_a_history():
    assert dev_f1(HISTORY) == [0.65, 0.79, 0.85, 0.85]


@pytest.mark.usefixtures("matplotlib")
@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_the_curve_is_written(tmp_path, suffix):
    path = plot_history(HISTORY, tmp_path / f"curve{suffix}", title="tiny")
    data = path.read_bytes()
    if suffix == ".png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        assert len(data) > 5000  # a picture, not an empty canvas header
    else:
        assert b"<svg" in data[:2000] and b"</svg>" in data


def test_bad_requests_are_clear_errors(tmp_path):
    with pytest.raises(TaggerError, match="name it .png or .svg"):
        plot_history(HISTORY, tmp_path / "curve.gif")
    with pytest.raises(TaggerError, match="no training history"):
        plot_history([], tmp_path / "curve.png")


@pytest.mark.usefixtures("matplotlib")
def test_a_folder_that_does_not_exist(tmp_path):
    with pytest.raises(TaggerError, match="cannot write"):
        plot_history(HISTORY, tmp_path / "no" / "such" / "curve.png")


def test_without_matplotlib_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # an import of it raises ImportError
    with pytest.raises(MissingExtra, match=re.escape('matplotlib: pip install -c constraints.txt -e ".[plot]"')):
        plot_history(HISTORY, tmp_path / "curve.png")


# The best epoch ends the run at mid height on the right, where a legend at "center right" used to sit over it.
LATE_BEST = [
    {"epoch": e, "loss": 4.0 / e, "dev": {"precision": p, "recall": r, "f1": 2 * p * r / (p + r)}}
    for e, (p, r) in enumerate([(0.30, 0.10), (0.60, 0.20), (0.80, 0.30), (0.90, 0.40), (0.95, 0.45)], 1)
]


@pytest.mark.usefixtures("matplotlib")
@pytest.mark.parametrize("history", [HISTORY, LATE_BEST], ids=["best_inside", "best_last"])
def test_the_legend_does_not_hide_the_best_point(history):
    from tagger.cli.plot import _pyplot, figure

    fig = figure(history, title="tiny")
    try:
        fig.canvas.draw()
        scores = fig.axes[0]
        best = max(history, key=lambda row: row["dev"]["f1"])
        x, y = scores.transData.transform((best["epoch"], 100 * best["dev"]["f1"]))
        legends = [*fig.legends, *(axes.get_legend() for axes in fig.axes if axes.get_legend() is not None)]
        assert legends, "no legend drawn"
        for legend in legends:
            box = legend.get_window_extent().padded(20)  # the circle around the best point, and a margin
            assert not box.contains(x, y), (box, (x, y))
    finally:
        _pyplot().close(fig)


def test_dev_accuracy_of_a_plain_label_sets_history():
    assert dev_f1([{"epoch": 1, "dev": {"accuracy": 0.9}}, {"epoch": 2, "dev": {"accuracy": 0.95}}]) == [0.9, 0.95]
