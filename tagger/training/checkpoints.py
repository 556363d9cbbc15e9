"""The files a run keeps (``nn/checkpoint.py`` documents them), and taking up an interrupted run.

No model is ever lost: a file at the model path that is not a tagger model is refused before any work, and a
model there before the run stays as it was until the run ends (the best so far goes to ``MODEL.partial``).
"""

from __future__ import annotations

from pathlib import Path

import torch

from tagger.data.vocabulary import Vocabulary
from tagger.errors import TaggerError
from tagger.nn.checkpoint import partial_path, read_checkpoint, resume_path
from tagger.nn.model_file import check_replaceable, check_writable, save_model
from tagger.training.data import Data
from tagger.training.evaluation import headline
from tagger.training.run import Run
from tagger.training.trainer import Trainer


def model_paths_checked(model_path: str | Path) -> tuple[Path, dict | None]:
    """``model_path`` checked before any work: its folder can be written, and nothing there or at the run's own
    files beside it (``MODEL.partial``, ``MODEL.resume``) is other than a tagger model; with the metadata of the
    model already there (None: none is)."""
    model_path = check_writable(model_path)
    previous = check_replaceable(model_path)
    for own in (partial_path(model_path), resume_path(model_path)):
        check_replaceable(own)
    return model_path, previous


def resume_run(run: Run, trainer: Trainer) -> None:
    """Take up the state of an interrupted run from its resume file (``checkpoint.TRAIN_STATE``)."""
    path = resume_path(run.model_path)
    if not path.exists():
        raise TaggerError(f"nothing to resume: no {path.name} beside the model", str(run.model_path))
    saved = read_checkpoint(path)
    state = saved.get("train_state") or {}
    differs = Vocabulary.from_dict(saved["vocab"]) != trainer.vocab
    differs |= saved["config"] != trainer.model.config.to_dict()
    if differs or not state or (trainer.averaged is not None) != (state.get("average") is not None):
        raise TaggerError("cannot resume: the data or options differ from the interrupted run", str(path))
    trainer.model.load_state_dict(saved["state_dict"])
    trainer.optimizer.load_state_dict(state["optimizer"])
    if trainer.averaged is not None:
        trainer.averaged.load_state_dict(state["average"])
    trainer.shuffler.set_state(state["shuffler"])
    torch.set_rng_state(state["rng"])
    run.progress = state["progress"]
    run.best_state = state["best_state_dict"]
    run.keeps_previous = bool(state.get("keeps_previous"))
    if not run.keeps_previous:  # the model at the path is the interrupted run's own best: go on writing there
        run.previous = None
    # the best epoch and its dev scores, from before the interruption
    run.metadata.update({k: v for k, v in saved["metadata"].items() if k in ("best_epoch", "dev_scores")})
    run.log(
        f"resuming after epoch {run.progress['epoch']} "
        f"(best dev {run.measure} so far {100 * max(run.progress['best_f1'], 0):.2f})"
    )


def save_epoch(trainer: Trainer, run: Run, row: dict, dev_scores: dict) -> None:
    """Add the epoch's row to the history; write the model file if dev F1 improved, and the resume file."""
    progress = run.progress
    progress["history"].append(row)
    progress["epoch"] = row["epoch"]
    # "best_f1" holds the measure that fits the tag set (accuracy for plain labels): resume files keep the key
    row["best"] = headline(dev_scores) > progress["best_f1"]
    if row["best"]:
        progress["best_f1"], progress["best_epoch"], progress["bad_epochs"] = headline(dev_scores), row["epoch"], 0
        run.best_state = {k: v.detach().cpu().clone() for k, v in trainer.scored.state_dict().items()}
        run.metadata.update(dev_scores=dev_scores, best_epoch=row["epoch"], history=progress["history"])
        if run.rank.is_main:  # with torchrun, one process writes
            save_model(run.best_path, trainer.scored, trainer.vocab, run.data_scheme, run.metadata)
    else:
        progress["bad_epochs"] += 1
    if not run.rank.is_main:  # with torchrun, one process writes
        return
    train_state = {
        "progress": progress,
        "optimizer": trainer.optimizer.state_dict(),
        "shuffler": trainer.shuffler.get_state(),
        "rng": torch.get_rng_state(),
        "best_state_dict": run.best_state,
        "average": trainer.averaged.state_dict() if trainer.averaged is not None else None,
        "keeps_previous": run.keeps_previous,
    }
    save_model(resume_path(run.model_path), trainer.model, trainer.vocab, run.data_scheme, run.metadata, train_state)


def replaced(run: Run, data: Data) -> None:
    """Once the finished model is at the path: remove the run's partial file and say, with both dev F1s,
    that a model that was there before has been replaced."""
    if not run.keeps_previous:
        return
    partial_path(run.model_path).unlink(missing_ok=True)
    if run.previous is None:  # removed by the user since the run began
        return
    previous = run.previous.get("dev_scores") or {}
    before = headline(previous) if "f1" in previous or "accuracy" in previous else None
    scores = f"{100 * before:.2f} -> " if isinstance(before, float) else ""
    scores += f"{100 * run.progress['best_f1']:.2f}"
    other = run.previous.get("dev_file") != data.files["dev"]
    where = " on other dev data" if other else ""
    run.log(f"replaced the previous model at {run.model_path} (dev {run.measure} {scores}{where})")
