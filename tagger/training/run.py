"""Where a training run stands (``Run``): its progress, saved for ``--resume``; the best weights so far; the
model file's metadata; the warnings given; and its result, with where its best model is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import torch

from tagger import __version__
from tagger.nn.checkpoint import partial_path
from tagger.nn.config import TrainConfig
from tagger.training.data import Data
from tagger.training.distributed import Rank
from tagger.training.evaluation import headline, headline_name


@dataclass
class Run:
    """Where a run stands: its progress (saved for ``--resume``), the best weights so far, the model
    file's metadata, and the warnings given."""

    model_path: Path
    log: Callable[[str], None]
    metadata: dict = field(default_factory=dict)
    progress: dict = field(
        default_factory=lambda: {"epoch": 0, "best_f1": -1.0, "best_epoch": 0, "bad_epochs": 0, "history": []}
    )
    best_state: dict[str, torch.Tensor] | None = None
    data_scheme: str = ""
    warnings: list[str] = field(default_factory=list)
    rank: Rank = field(default_factory=Rank)  # with torchrun, this process's; only rank 0 writes files
    previous: dict | None = None  # the metadata of the model at model_path before the run; None: none was there
    keeps_previous: bool = False  # a model was at model_path as the run (or the run it resumes) began

    def __post_init__(self) -> None:
        self.keeps_previous = self.previous is not None

    @property
    def best_path(self) -> Path:
        """Where the best model so far is written during the run: beside a model that was there before, so
        that it stays as it was until the run ends; else the model path itself (an interrupted run leaves a
        model where the user asked for one)."""
        return partial_path(self.model_path) if self.keeps_previous else self.model_path

    @property
    def measure(self) -> str:
        """The dev measure that picks the best epoch: ``accuracy`` for a plain label set, else ``F1``."""
        return "accuracy" if self.data_scheme == "plain" else "F1"

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        self.log(f"warning: {message}")

    def start(self, data: Data, config: TrainConfig) -> None:
        self.data_scheme = data.scheme
        self.metadata = {
            "tagger_version": __version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "train_file": data.files["train"],
            "dev_file": data.files["dev"],
            "test_file": data.files["test"],
            "train_config": asdict(config),
            "data_scheme": data.scheme,
        }

    def result(self) -> dict:
        """The result so far: the model's path, the best epoch and its dev scores, every epoch's row."""
        best = next((r for r in self.progress["history"] if r["epoch"] == self.progress["best_epoch"]), None)
        return {
            "model": str(self.model_path),
            **({"partial": str(self.best_path)} if self.best_path != self.model_path else {}),
            "best_epoch": self.progress["best_epoch"],
            "epochs_run": self.progress["epoch"],
            "dev": best["dev"] if best else None,
            "history": self.progress["history"],
            "warnings": self.warnings,
        }


def where_the_best_is(result: dict) -> str:
    """The end of the line of a run that stopped early: where its best model is, that a model which was at
    the path before is unchanged, and how to go on."""
    kept = f"the previous model at {result['model']} is unchanged" if result.get("partial") else ""
    if not result.get("best_epoch"):
        return " before the first epoch ended: no model was saved" + (f"; {kept}" if kept else "")
    saved_at = result.get("partial") or result["model"]
    return (
        f": the best model so far (epoch {result['best_epoch']}, "
        f"dev {headline_name(result['dev'])} {100 * headline(result['dev']):.2f}) "
        f"is saved at {saved_at}" + (f"; {kept}" if kept else "") + "; continue with --resume"
    )
