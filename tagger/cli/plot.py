"""Training curves: ``plot_history`` draws dev scores and the loss per epoch to a PNG or SVG file (matplotlib,
the ``plot`` extra, on the Agg backend: no display needed); ``sparkline`` draws dev F1 as block characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tagger.errors import MissingExtra, TaggerError
from tagger.training.evaluation import headline, headline_name

BLOCKS = "▁▂▃▄▅▆▇█"
ASCII_BLOCKS = "_.-~=+*#"  # for a terminal whose encoding has no block characters
FORMATS = (".png", ".svg")


def sparkline(
    values: Sequence[float], low: float | None = None, high: float | None = None, blocks: str = BLOCKS
) -> str:
    """One character of ``blocks`` per value, from the first (``low``, default the smallest value)
    to the last (``high``, default the largest)."""
    if not values:
        return ""
    low = min(values) if low is None else low
    high = max(values) if high is None else high
    if high <= low:  # all equal: a flat line in the middle
        return blocks[len(blocks) // 2] * len(values)
    top = len(blocks) - 1
    levels = (round((min(max(v, low), high) - low) / (high - low) * top) for v in values)
    return "".join(blocks[level] for level in levels)


def blocks_for(stream) -> str:
    """``BLOCKS`` where ``stream``'s encoding can write them, else ``ASCII_BLOCKS``."""
    try:
        BLOCKS.encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return ASCII_BLOCKS
    return BLOCKS


def dev_f1(history: Sequence[dict]) -> list[float]:
    """Dev F1 per epoch of a training history (the rows ``train`` returns and keeps in the model file); dev
    accuracy for a plain label set."""
    return [headline(row["dev"]) for row in history]


def _pyplot():
    try:
        import matplotlib
    except ImportError:
        raise MissingExtra("drawing a curve needs matplotlib", "plot") from None
    matplotlib.use("Agg")  # files only; never opens a window or needs a display
    import matplotlib.pyplot as plt

    return plt


def plot_history(history: Sequence[dict], path: str | Path, title: str | None = None) -> Path:
    """Draw dev precision/recall/F1 (left axis, %) and the training loss (right axis) per epoch to ``path``.

    The format follows the file name: ``.png`` or ``.svg``. The best epoch (highest dev F1) is circled;
    the legend is below the axes, where it hides no point.
    """
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise TaggerError(f"cannot draw a {path.suffix or 'suffix-less'} file; name it .png or .svg", str(path))
    if not history:
        raise TaggerError("no training history to draw (the model file has none)", str(path))
    plt = _pyplot()
    fig = figure(history, title)
    try:
        fig.savefig(path)
    except OSError as err:
        raise TaggerError(f"cannot write the picture: {err.strerror}", str(path)) from None
    finally:
        plt.close(fig)
    return path


def figure(history: Sequence[dict], title: str | None = None):
    """The matplotlib figure of ``plot_history`` (the caller closes it)."""
    fig, scores = _pyplot().subplots(figsize=(7, 4), dpi=150, layout="constrained")
    _draw(scores, history)
    if title:
        scores.set_title(title)
    return fig


def _draw(scores, history: Sequence[dict]) -> None:
    """Dev scores on ``scores`` (a matplotlib Axes), the loss on a second y axis beside it."""
    from matplotlib.ticker import MaxNLocator

    epochs = [row["epoch"] for row in history]
    best = max(history, key=lambda row: headline(row["dev"]))
    key = "f1" if "f1" in best["dev"] else "accuracy"  # a plain label set's rows have accuracy alone
    labels = {
        "precision": "dev precision",
        "recall": "dev recall",
        key: f"dev {headline_name(best['dev'])} (best {100 * headline(best['dev']):.2f}, epoch {best['epoch']})",
    }
    styles = {"precision": ("#4C72B0", "--", 1.4), "recall": ("#55A868", "--", 1.4), key: ("#C44E52", "-", 2.4)}
    styles = {k: v for k, v in styles.items() if k in best["dev"]}
    for key, (colour, line, width) in styles.items():
        values = [100 * row["dev"][key] for row in history]
        marker = "." if len(epochs) < 40 else ""
        scores.plot(epochs, values, line, color=colour, label=labels[key], lw=width, marker=marker)
    scores.scatter(best["epoch"], 100 * headline(best["dev"]), s=90, facecolors="none", edgecolors="#C44E52", zorder=5)
    scores.set_xlabel("epoch")
    scores.set_ylabel("dev score (%)")
    scores.xaxis.set_major_locator(MaxNLocator(integer=True))
    scores.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
    scores.grid(alpha=0.3)
    loss = scores.twinx()
    loss.plot(epochs, [row["loss"] for row in history], ":", color="#7f7f7f", label="training loss", lw=1.8)
    loss.set_ylabel("training loss (per sentence)")
    loss.set_ylim(bottom=0)
    handles = scores.get_legend_handles_labels()[0] + loss.get_legend_handles_labels()[0]
    # below the axes, not on them: inside, any place can be where the curves are (at "center right" it hid the best
    # point of a run whose best epoch was its last)
    scores.figure.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=9, frameon=False)
