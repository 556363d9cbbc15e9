"""Training: data files in, a model file out, with early stopping on dev F1.

``train`` reads top to bottom in its stages. After every epoch that improves dev F1 the model file is
rewritten, and after every epoch the resume file, each atomically with SIGINT/SIGTERM held back: an
interrupted run leaves the best model so far, and ``--resume`` continues as if it had never stopped.
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import torch

from tagger.data.corpus import TaggedData
from tagger.data.schemes import PLAIN
from tagger.errors import TaggerError, counted
from tagger.nn.checkpoint import resume_path
from tagger.nn.config import DEFAULTS, ModelConfig, TrainConfig
from tagger.nn.device import configure_torch
from tagger.nn.model_file import save_model
from tagger.nn.shipped import refuse_to_write
from tagger.nn.tensors import Batch
from tagger.tagging.model import thread_count
from tagger.tagging.options import TagOptions
from tagger.tagging.predictor import Predictor
from tagger.training.checkpoints import model_paths_checked, replaced, resume_run, save_epoch
from tagger.training.data import Data, load_data
from tagger.training.distributed import Rank, reduce_sum, session
from tagger.training.evaluation import headline_name, score
from tagger.training.interrupts import Interrupted, Signals, caught_signals
from tagger.training.run import Run, where_the_best_is
from tagger.training.trainer import Trainer, build_trainer, shuffled_batches

Progress = Callable[[int], Callable[[int], None]]


class TrainingInterrupted(TaggerError):
    """SIGINT or SIGTERM arrived; the best model so far is on disk (if an epoch finished), and a model that
    was at the path before the run is as it was."""

    def __init__(self, signum: int, result: dict):
        self.signum = signum
        self.result = result
        self.exit_code = 128 + signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}{where_the_best_is(result)}")


def train(
    train_file: str | Path,
    model_path: str | Path,
    dev_file: str | Path | None = None,
    test_file: str | Path | None = None,
    model_config: ModelConfig | None = None,
    config: TrainConfig | None = None,
    tag_column: int = DEFAULTS.tag_column,
    data_scheme: str | None = DEFAULTS.data_scheme,
    resume: bool = DEFAULTS.resume,
    skip_bad_sentences: bool = DEFAULTS.skip_bad_sentences,
    data_format: str = DEFAULTS.data_format,
    conllu_field: str = DEFAULTS.conllu_field,
    log: Callable[[str], None] = lambda message: None,
    on_epoch: Callable[[dict], None] = lambda row: None,
    progress: Progress | None = None,
    encoding: str = TagOptions.encoding,
) -> dict:
    """Train a model and write it to ``model_path``; returns scores, history and paths as plain data.

    ``log`` gets progress and warnings (also kept in ``result["warnings"]``), ``on_epoch`` each epoch's row once
    its files are written; ``progress(total)``, called at each epoch's start, returns a function to call with the
    sentences done after each batch. ``skip_bad_sentences``: sentences with an unknown tag are left out (one
    warning); ``encoding``, ``data_format`` and ``conllu_field``: of the data files (``-`` is stdin). A model
    already at ``model_path`` stays until the run ends (``MODEL.partial``); any other file there is refused.
    """
    config = config or TrainConfig()
    model_path, previous = model_paths_checked(refuse_to_write(model_path))  # never a shipped model
    started = time.perf_counter()
    configure_torch(thread_count(config.threads))
    torch.manual_seed(config.seed)
    with session(config.device) as rank:  # torchrun's process group, if started by torchrun
        config, log, on_epoch, progress = for_rank(rank, config, log, on_epoch, progress)
        run = Run(model_path, log, rank=rank, previous=previous)  # progress, best weights, metadata, warnings
        files = (train_file, dev_file, test_file)
        formats = {"data_format": data_format, "conllu_field": conllu_field}
        data = load_data(*files, tag_column, data_scheme, config, run, encoding, skip_bad_sentences, **formats)  # 1.
        config = scheme_trained(config, data)
        trainer = build_trainer(data, model_config or ModelConfig(), config, run)  # 2. vocabulary, model, optimizers
        run.start(data, config)
        if resume:  # 3. an interrupted run's state
            resume_run(run, trainer)
        with best_model_kept(run) as signals:  # 4. the epochs, until the last or until dev F1 stops improving
            for row in epochs(trainer, data, run, signals, progress):
                on_epoch(row)
        result = finish(trainer, data, run)  # 5. the best epoch's weights, scored on the test data
    result["seconds"] = time.perf_counter() - started
    return result


def scheme_trained(config: TrainConfig, data: Data) -> TrainConfig:
    """The config with the scheme the network trains in: a plain label set trains as it is (no chunks to
    rewrite); chunk data in ``config.scheme``, which cannot be plain."""
    if data.train.plain:
        return replace(config, scheme=PLAIN)
    if config.scheme == PLAIN:
        raise TaggerError(
            f"{data.train.path}: the tags are chunk tags ({data.scheme.upper()}); they train in a chunk "
            f"scheme, not plain (--scheme plain reads them as plain labels)"
        )
    return config


def for_rank(rank: Rank, config: TrainConfig, log: Callable, on_epoch: Callable, progress: Progress | None) -> tuple:
    """The config, ``log``, ``on_epoch`` and ``progress`` of this process: under torchrun one device per rank,
    and only rank 0 logs and reports (and writes files)."""
    if not rank.distributed:
        return config, log, on_epoch, progress
    config = replace(config, device=rank.device(config.device))
    return (config, log, on_epoch, progress) if rank.is_main else (config, _quiet, _quiet, None)


@contextmanager
def best_model_kept(run: Run) -> Iterator[Signals]:
    """The epochs' block: SIGINT or SIGTERM in it becomes ``TrainingInterrupted``, which says where the best
    model so far is; a crash (diverged, out of memory) logs the same before its error."""
    with caught_signals() as signals:
        try:
            yield signals
        except Interrupted as sig:
            raise TrainingInterrupted(sig.signum, run.result()) from None
        except Exception:  # the error follows this line
            run.log(f"the run stopped{where_the_best_is(run.result())}")
            raise


def epochs(
    trainer: Trainer, data: Data, run: Run, signals: Signals, progress: Progress | None = None
) -> Iterator[dict]:
    """Train epoch after epoch, yielding each one's row (loss, dev scores, learning rate, times) once the
    model file (if dev F1 improved) and the resume file are written; stop early after ``patience``
    epochs without a dev F1 gain."""
    config = trainer.config
    sentences = [s.tokens for s in data.train.sentences]
    dev = data.dev.sentences
    dev_set = ([s.tokens for s in dev], data.dev.tags_in(data.scheme), [s.doc for s in dev], data.plain)
    log_start(data, trainer, run)
    while run.progress["epoch"] < config.epochs:
        row, dev_scores = one_epoch(trainer, run.progress["epoch"] + 1, sentences, dev_set, progress)
        with signals.held():  # a signal waits until the best model and the resume file are written
            save_epoch(trainer, run, row, dev_scores)
        yield row
        if config.patience and run.progress["bad_epochs"] >= config.patience:
            measure = headline_name(row["dev"])
            waited = counted(config.patience, "epoch")
            run.log(f"no dev {measure} gain for {waited}: stopping after epoch {row['epoch']}")
            return


def one_epoch(
    trainer: Trainer, epoch: int, sentences: list[list[str]], dev_set: tuple, progress: Progress | None
) -> tuple[dict, dict]:
    """Epoch ``epoch``: its learning rate, a pass over the training ``sentences`` in shuffled batches, then
    ``dev_set`` (tokens, gold tags, documents, plain labels or not) tagged and scored; its row, and the dev
    scores (the row's: precision, recall and F1 for chunks, accuracy for plain labels)."""
    config, started = trainer.config, time.perf_counter()
    lr = config.lr / (1 + config.lr_decay * (epoch - 1))
    trainer.optimizer.set_lr(lr)
    advance = progress(len(sentences)) if progress else None
    total_loss, seen = train_epoch(trainer, shuffled_batches(trainer, sentences), advance)
    total_loss, seen = reduce_sum(total_loss, trainer.rank), int(reduce_sum(seen, trainer.rank))  # all ranks'
    if not math.isfinite(total_loss):
        raise TaggerError(f"training diverged at epoch {epoch} (loss {total_loss}); try a smaller --lr")
    train_seconds = time.perf_counter() - started
    tokens, gold, docs, plain = dev_set
    dev_scores = score(gold, trainer.predictor.predict(tokens, docs), plain)
    row = {
        "epoch": epoch,
        "loss": total_loss / max(seen, 1),
        "dev": {k: dev_scores[k] for k in (("accuracy",) if plain else ("precision", "recall", "f1"))},
        "lr": lr,
        "train_seconds": train_seconds,
        "seconds": time.perf_counter() - started,
        "sentences_per_second": seen / train_seconds if train_seconds > 0 else 0.0,
    }
    return row, dev_scores


def train_epoch(
    trainer: Trainer, batches: Iterable[tuple[Batch | None, int]], advance: Callable[[int], None] | None = None
) -> tuple[float, int]:
    """One optimizer step per batch (with torchrun, on this rank's share); the summed loss and the sentences."""
    trainer.model.train()
    total_loss, seen = 0.0, 0
    for batch, total in batches:
        size = len(batch.lengths) if batch is not None else 0
        total_loss += trainer.step(batch, total) * size
        seen += size
        if advance:
            advance(size)
    return total_loss, seen


def log_start(data: Data, trainer: Trainer, run: Run) -> None:
    files = data.files
    run.log(f"train: {files['train']}  dev: {files['dev'] or '(held out of train)'}  test: {files['test'] or '(none)'}")
    vocab = trainer.vocab
    run.log(
        f"training on {counted(len(data.train.sentences), 'sentence')} ({counted(data.train.tokens, 'token')}, "
        f"{read_as(data, trainer)}), {counted(len(data.dev.sentences), 'dev sentence')}; "
        f"{counted(len(vocab.words), 'word')}, {counted(len(vocab.chars), 'character')}, "
        f"{counted(len(vocab.tags), 'tag')}"
    )


def read_as(data: Data, trainer: Trainer) -> str:
    """How the tags were read and are trained: ``IOB1 read, BIOES trained``, or a plain label set."""
    if data.plain:
        return "a plain label set (not chunks: scored by token accuracy; --scheme forces a chunk scheme)"
    return f"{data.scheme.upper()} read, {trainer.config.scheme.upper()} trained"


def finish(trainer: Trainer, data: Data, run: Run) -> dict:
    """Back to the best epoch's weights; score the test data (saved in the model file); warn if the
    model learned nothing; remove the resume file. Returns the result (under torchrun, rank 0 alone
    does this: the others' result is not reported)."""
    if not run.rank.is_main:
        return run.result()
    if run.best_state is not None:
        trainer.scored.load_state_dict(run.best_state)
        fit_temperature(trainer, data, run)
    result = run.result()
    if data.test is not None:
        tokens, docs = [s.tokens for s in data.test.sentences], [s.doc for s in data.test.sentences]
        result["test"] = run.metadata["test_scores"] = score(
            data.test.tags_in(data.scheme), trainer.predictor.predict(tokens, docs), data.plain
        )
    if run.best_state is not None:  # the whole history (epochs after the best one too) and the test scores
        run.metadata["history"] = run.progress["history"]
        save_model(run.model_path, trainer.scored, trainer.vocab, run.data_scheme, run.metadata)  # one rename
        replaced(run, data)
    message = None if data.plain else learned_nothing(run.progress["best_f1"], run.progress["epoch"], data.dev)
    if message:
        run.warn(message)
    resume_path(run.model_path).unlink(missing_ok=True)
    result.pop("partial", None)
    result["data_scheme"] = data.scheme
    result["files"] = data.files
    return result


def fit_temperature(trainer: Trainer, data: Data, run: Run) -> None:
    """Set the temperature of the saved model's probabilities (``tagger tag --scores``) to the one whose
    entity scores are best calibrated on dev: a raw CRF is overconfident. Decoding does not use it."""
    if not data.dev.types() or data.plain:
        return  # no entities on dev (or no chunks at all): nothing to calibrate entity scores against
    predictor = Predictor(trainer.predictor.model, trainer.predictor.batch_size, scores=True)
    dev = data.dev
    sentences, docs = [s.tokens for s in dev.sentences], [s.doc for s in dev.sentences]
    temperature, error = predictor.fit_temperature(sentences, dev.tags_in(data.scheme), docs=docs)
    trainer.scored.config.temperature = temperature
    run.log(f"entity scores: temperature {temperature:g} fitted on dev (expected calibration error {error:.3f})")


def learned_nothing(best_f1: float, epochs_run: int, dev: TaggedData) -> str | None:
    """A warning, with what to try, when no epoch found a single dev entity (and dev holds some)."""
    if best_f1 > 0 or not dev.types():
        return None
    after = "its only epoch" if epochs_run == 1 else f"each of the {epochs_run} epochs"
    return (
        f"the model learned nothing: dev F1 was 0.00 after {after}; try more training "
        f"data, more --epochs, a longer --patience (0 never stops early), or a larger --lr"
    )


def _quiet(*args) -> None:
    """What a rank other than 0 does with its messages and rows."""
