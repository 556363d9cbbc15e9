"""Training: data files in, a model file out, with early stopping on dev F1.

The best model so far (by dev F1) is written atomically after every epoch
that improves it, so an interrupted run always leaves a complete model. The
state after each epoch (weights, optimizer, random generators, history) is
kept in ``MODEL.resume`` so ``--resume`` continues where a run stopped.
"""

from __future__ import annotations

import copy
import math
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch.optim.swa_utils import AveragedModel

from . import __version__
from .arrays import length_batches
from .corpus import TaggedData, load_tagged
from .embeddings import Vectors, read_vectors
from .errors import DataError, TaggerError
from .evaluation import score
from .model import BiLSTMCRF, ModelConfig
from .model_file import check_writable, read_checkpoint, save_model
from .runtime import configure_torch
from .schemes import SCHEMES, tag_set
from .tagging import Predictor
from .tensors import TensorMaker
from .vocabulary import UNK, Vocabulary, word_key

OPTIMIZERS = ("sgd", "adam")


@dataclass
class TrainConfig:
    """How to train; saved in the model file beside the model's own config."""

    epochs: int = 30
    batch_size: int = 32
    optimizer: str = "adam"
    lr: float = 0.002
    momentum: float = 0.9
    lr_decay: float = 0.05  # learning rate at epoch e (from 0): lr / (1 + lr_decay * e)
    clip: float = 5.0  # gradient norm clipping; 0 turns it off
    word_dropout: float = 0.3  # chance a singleton word is replaced by <unk> while training
    patience: int = 5  # epochs without a dev F1 gain before stopping; 0 never stops early
    seed: int = 1
    scheme: str = "bioes"  # scheme the model is trained in
    dev_fraction: float = 0.1  # held out of train when there is no dev file
    embeddings: str | None = None  # pretrained word vectors (GloVe / word2vec text, plain or .gz)
    keep_vectors: int = 100_000  # most frequent pretrained words kept for tag time beyond the data's (-1: all)
    freeze_vectors: bool = False  # keep pretrained vectors as they are (only words without one are trained)
    average: float = 0.0  # decay of a moving average of the weights, which is scored and saved (0: off)
    lowercase: bool = True  # lowercase word keys (the characters and the case feature keep the case)
    threads: int = 0  # torch threads; 0 picks for the machine
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise TaggerError(f"--epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise TaggerError(f"--batch-size must be at least 1, got {self.batch_size}")
        if not self.lr > 0:
            raise TaggerError(f"--lr must be positive, got {self.lr}")
        if self.patience < 0:
            raise TaggerError(f"--patience must be 0 or more, got {self.patience}")
        if self.optimizer not in OPTIMIZERS:
            raise TaggerError(f"--optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.scheme not in SCHEMES:
            raise TaggerError(f"--scheme must be one of {', '.join(SCHEMES)}, got {self.scheme!r}")
        if not 0.0 <= self.word_dropout < 1.0:
            raise TaggerError(f"--word-dropout must be in [0, 1), got {self.word_dropout}")
        if not 0.0 <= self.average < 1.0:
            raise TaggerError(f"--average must be in [0, 1), got {self.average}")

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


class TrainingInterrupted(TaggerError):
    """SIGINT or SIGTERM arrived; the best model so far is on disk (if an epoch finished)."""

    def __init__(self, signum: int, result: dict):
        self.signum = signum
        self.result = result
        self.exit_code = 128 + signum
        name = signal.Signals(signum).name
        if result.get("best_epoch"):
            msg = (
                f"interrupted by {name}: the best model so far (epoch {result['best_epoch']}, "
                f"dev F1 {100 * result['dev']['f1']:.2f}) is saved at {result['model']}; "
                f"continue with --resume"
            )
        else:
            msg = f"interrupted by {name} before the first epoch ended: no model was saved"
        super().__init__(msg)


class _Signals:
    """SIGINT and SIGTERM as ``_Signal`` exceptions, held back while the epoch's files are written
    (``with signals.held():``) so an interrupted run never has a model without its resume file."""

    def __init__(self) -> None:
        self.holding = False
        self.pending: int | None = None

    def handle(self, signum, frame) -> None:
        if self.holding:
            self.pending = self.pending or signum
        else:
            raise _Signal(signum)

    @contextmanager
    def held(self) -> Iterator[None]:
        self.holding = True
        try:
            yield
        finally:
            self.holding = False
        if self.pending is not None:
            raise _Signal(self.pending)


class _Signal(BaseException):
    def __init__(self, signum: int):
        self.signum = signum


def resume_path(model_path: Path) -> Path:
    return model_path.with_name(model_path.name + ".resume")


def _split_dev(data: TaggedData, fraction: float, seed: int) -> tuple[TaggedData, TaggedData]:
    n = len(data.sentences)
    held = max(1, int(round(n * fraction)))
    if n - held < 1:
        raise DataError("too few sentences to hold some out for development; give a --dev file", data.path)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).tolist()
    dev_ids, train_ids = set(order[:held]), order[held:]
    train = TaggedData(data.path, [data.sentences[i] for i in sorted(train_ids)], data.scheme, data.warnings)
    dev = TaggedData(f"{data.path} (held out)", [data.sentences[i] for i in sorted(dev_ids)], data.scheme)
    return train, dev


class Optimizers:
    """The optimizer of the dense parameters, and a sparse one for the word embeddings.

    A batch touches a few hundred of the tens of thousands of word vectors;
    sparse gradients update just those rows (Adam's moments of the rest stay
    as they were, as in lazy Adam), instead of every row at every step.
    """

    def __init__(self, model: BiLSTMCRF, config: TrainConfig):
        model.word_embed.sparse = True
        words = [model.word_embed.weight]
        dense = [p for name, p in model.named_parameters() if name != "word_embed.weight"]
        if config.optimizer == "sgd":
            self.parts = [
                torch.optim.SGD(dense, lr=config.lr, momentum=config.momentum),
                torch.optim.SGD(words, lr=config.lr, momentum=config.momentum),
            ]
        else:
            # fused: one kernel for all the dense parameters (about 3x faster than the loop on a CPU)
            self.parts = [
                torch.optim.Adam(dense, lr=config.lr, fused=True),
                torch.optim.SparseAdam(words, lr=config.lr),
            ]

    def set_lr(self, lr: float) -> None:
        for part in self.parts:
            for group in part.param_groups:
                group["lr"] = lr

    def zero_grad(self) -> None:
        for part in self.parts:
            part.zero_grad()

    def step(self) -> None:
        for part in self.parts:
            part.step()

    def state_dict(self) -> dict:
        return {"parts": [part.state_dict() for part in self.parts]}

    def load_state_dict(self, state: dict) -> None:
        for part, saved in zip(self.parts, state["parts"], strict=True):
            part.load_state_dict(saved)


def moving_average(decay: float) -> Callable:
    """An exponential moving average for ``AveragedModel``, its decay ramped up from 0.1 as
    ``(1 + n) / (10 + n)`` after n updates, so the start of training is soon forgotten."""

    def update(averaged: list[torch.Tensor], current: list[torch.Tensor], num_averaged: torch.Tensor) -> None:
        n = int(num_averaged)
        weight = 1.0 - min(decay, (1 + n) / (10 + n))
        for a, c in zip(averaged, current, strict=True):
            a.lerp_(c, weight)

    return update


def clip_gradients(parameters, max_norm: float) -> float:
    """Scale all gradients (sparse ones too) so that their joint norm is at most ``max_norm``."""
    grads = [p.grad for p in parameters if p.grad is not None]
    norms = [(g.coalesce().values() if g.is_sparse else g).norm() for g in grads]
    total = float(torch.stack(norms).norm()) if norms else 0.0
    if total > max_norm:
        scale = max_norm / (total + 1e-6)
        for g in grads:
            g.mul_(scale)
    return total


def _init_word_vectors(model: BiLSTMCRF, vocab: Vocabulary, vectors: Vectors | None) -> list[int]:
    """Uniform random word vectors (scale sqrt(3 / dim)), pretrained ones where the file has the word.

    Returns the rows of the trained table that got a pretrained vector."""
    weight = model.word_embed.weight
    scale = math.sqrt(3.0 / weight.shape[1])
    with torch.no_grad():
        weight.uniform_(-scale, scale)
        weight[0].zero_()
        if vectors is None:
            return []
        trained = model.config.num_words
        # vectors are kept under lowercase keys; a vocabulary that keeps case takes "Apple" from "apple"
        found = ((i, vectors.index.get(word_key(w))) for i, w in enumerate(vocab.words[:trained]))
        rows = [(i, j) for i, j in found if j is not None]
        if rows:
            mine, theirs = zip(*rows)
            weight[list(mine)] = vectors.vectors[list(theirs)]
        extra = [vectors.index[w] for w in vocab.words[trained:]]
        if extra:
            model.extra_vectors.copy_(vectors.vectors[extra])
        return [i for i, _ in rows]


def train(
    train_file: str | Path,
    model_path: str | Path,
    dev_file: str | Path | None = None,
    test_file: str | Path | None = None,
    model_config: ModelConfig | None = None,
    config: TrainConfig | None = None,
    tag_column: int = -1,
    data_scheme: str | None = None,
    resume: bool = False,
    log: Callable[[str], None] = lambda message: None,
    on_epoch: Callable[[dict], None] = lambda row: None,
    progress: Callable[[int], Callable[[int], None]] | None = None,
) -> dict:
    """Train a model and write it to ``model_path``; returns scores, history and paths as plain data.

    ``progress(total)`` is called at each epoch's start and returns a function
    to call with the number of sentences done after each batch.
    """
    config = config or TrainConfig()
    model_config = model_config or ModelConfig()
    model_path = check_writable(model_path)
    started = time.perf_counter()
    configure_torch(config.threads)
    torch.manual_seed(config.seed)

    train_data = load_tagged(train_file, tag_column, data_scheme)
    for w in train_data.warnings:
        log(f"warning: {w}")
    scheme = train_data.scheme
    if dev_file is not None:
        dev_data = load_tagged(dev_file, tag_column, scheme)
    else:
        train_data, dev_data = _split_dev(train_data, config.dev_fraction, config.seed)
        log(f"no development file: holding out {len(dev_data.sentences)} training sentences for early stopping")
    test_data = load_tagged(test_file, tag_column, scheme) if test_file is not None else None
    for d in (dev_data, test_data):
        for w in d.warnings if d else ():
            log(f"warning: {w}")

    types = train_data.types()
    if not types:
        raise DataError("the training data has only the tag 'O': there are no entities to learn", train_data.path)
    tags = tag_set(types, config.scheme)
    vectors = None
    if config.embeddings:
        corpus_tokens = {t for d in (train_data, dev_data, test_data) if d for s in d.sentences for t in s.tokens}
        vectors = read_vectors(config.embeddings, corpus_tokens, keep=config.keep_vectors)
        log(f"embeddings: {len(vectors.keys)} of the {vectors.file_words} vectors of {vectors.path} ({vectors.dim}d)")
        model_config.word_dim = vectors.dim
        model_config.embeddings = Path(config.embeddings).name
    train_keys = {word_key(t, config.lowercase) for s in train_data.sentences for t in s.tokens}
    extra = [k for k in vectors.keys if k not in train_keys] if vectors else []
    vocab = Vocabulary.build(
        (s.tokens for s in train_data.sentences), tags, extra_words=extra, lowercase=config.lowercase
    )
    trained_words = len(train_keys) + 2
    model_config.num_words = trained_words
    model_config.num_extra_words = len(vocab.words) - trained_words
    model_config.num_chars = len(vocab.chars)
    model_config.num_tags = len(tags)
    model_config.scheme = config.scheme
    model = BiLSTMCRF(model_config, vocab.tags)
    pretrained_rows = _init_word_vectors(model, vocab, vectors)
    frozen = None
    if config.freeze_vectors and pretrained_rows:
        rows = torch.tensor(pretrained_rows, device=config.device)
        frozen = (rows, model.word_embed.weight.detach()[pretrained_rows].clone().to(config.device))
    model.to(config.device)

    train_tokens = [s.tokens for s in train_data.sentences]
    train_tags = [[vocab.tag_index[t] for t in tag_seq] for tag_seq in train_data.tags_in(config.scheme)]
    dev_tokens = [s.tokens for s in dev_data.sentences]
    dev_gold = dev_data.tags_in(scheme)
    maker = TensorMaker(vocab)
    singleton = torch.tensor([c == 1 for c in vocab.word_counts], dtype=torch.bool, device=config.device)
    optimizer = Optimizers(model, config)
    averaged = AveragedModel(model, multi_avg_fn=moving_average(config.average)) if config.average else None
    scored = averaged.module if averaged is not None else model  # the weights scored on dev and saved
    predictor = Predictor(scored, vocab, scheme, batch_size=64)
    shuffler = torch.Generator().manual_seed(config.seed)

    state = {"epoch": 0, "best_f1": -1.0, "best_epoch": 0, "bad_epochs": 0, "history": []}
    best_state: dict | None = None
    resume_file = resume_path(model_path)
    if resume:
        if not resume_file.exists():
            raise TaggerError(f"nothing to resume: no {resume_file.name} beside the model", str(model_path))
        saved = read_checkpoint(resume_file)
        differs = Vocabulary.from_dict(saved["vocab"]) != vocab or saved["config"] != model_config.to_dict()
        if differs or (averaged is not None) != (saved.get("average") is not None):
            raise TaggerError("cannot resume: the data or options differ from the interrupted run", str(resume_file))
        model.load_state_dict(saved["state_dict"])
        optimizer.load_state_dict(saved["optimizer"])
        if averaged is not None:
            averaged.load_state_dict(saved["average"])
        shuffler.set_state(saved["shuffler"])
        torch.set_rng_state(saved["rng"])
        state = saved["progress"]
        best_state = saved.get("best_state_dict")
        log(f"resuming after epoch {state['epoch']} (best dev F1 so far {100 * max(state['best_f1'], 0):.2f})")

    metadata = {
        "tagger_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "train_file": str(train_file),
        "dev_file": str(dev_file) if dev_file else None,
        "test_file": str(test_file) if test_file else None,
        "train_config": asdict(config),
        "data_scheme": scheme,
    }
    if resume:  # the best epoch and its dev scores, from before the interruption
        metadata.update(saved.get("best_metadata", {}))

    def result_so_far() -> dict:
        best_row = next((r for r in state["history"] if r["epoch"] == state["best_epoch"]), None)
        return {
            "model": str(model_path),
            "best_epoch": state["best_epoch"],
            "epochs_run": state["epoch"],
            "dev": best_row["dev"] if best_row else None,
            "history": state["history"],
        }

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    signals = _Signals()
    for s in previous:
        signal.signal(s, signals.handle)
    try:
        log(f"train: {train_file}  dev: {dev_file or '(held out of train)'}  test: {test_file or '(none)'}")
        log(
            f"training on {len(train_tokens)} sentences ({train_data.tokens} tokens, {scheme.upper()} read, "
            f"{config.scheme.upper()} trained), {len(dev_tokens)} dev sentences; {len(vocab.words)} words, "
            f"{len(vocab.chars)} characters, {len(tags)} tags"
        )
        lengths = [len(t) for t in train_tokens]
        while state["epoch"] < config.epochs:
            epoch = state["epoch"] + 1
            epoch_start = time.perf_counter()
            lr = config.lr / (1 + config.lr_decay * (epoch - 1))
            optimizer.set_lr(lr)
            model.train()
            order = torch.randperm(len(train_tokens), generator=shuffler).tolist()
            batches = length_batches(lengths, config.batch_size, order)
            perm = torch.randperm(len(batches), generator=shuffler).tolist()
            advance = progress(len(train_tokens)) if progress else None
            total_loss, seen = 0.0, 0
            for b in perm:
                ids = batches[b]
                batch = maker.batch([train_tokens[i] for i in ids], [train_tags[i] for i in ids]).to(config.device)
                if config.word_dropout > 0:
                    drop = singleton[batch.words] & (
                        torch.rand(batch.words.shape, device=config.device) < config.word_dropout
                    )
                    batch.words = batch.words.masked_fill(drop, UNK)
                loss = model.loss(batch)
                optimizer.zero_grad()
                loss.backward()
                if config.clip > 0:
                    clip_gradients(model.parameters(), config.clip)
                optimizer.step()
                if frozen is not None:  # put the pretrained vectors back as they were
                    with torch.no_grad():
                        model.word_embed.weight.index_copy_(0, frozen[0], frozen[1])
                if averaged is not None:
                    averaged.update_parameters(model)
                total_loss += loss.item() * len(ids)
                seen += len(ids)
                if advance:
                    advance(len(ids))
            if not math.isfinite(total_loss):
                raise TaggerError(f"training diverged at epoch {epoch} (loss {total_loss}); try a smaller --lr")
            train_seconds = time.perf_counter() - epoch_start
            dev_scores = score(dev_gold, predictor.predict(dev_tokens))
            row = {
                "epoch": epoch,
                "loss": total_loss / max(seen, 1),
                "dev": {k: dev_scores[k] for k in ("precision", "recall", "f1")},
                "lr": lr,
                "train_seconds": train_seconds,
                "seconds": time.perf_counter() - epoch_start,
                "sentences_per_second": seen / train_seconds if train_seconds > 0 else 0.0,
            }
            with signals.held():  # a signal waits until the best model and the resume file are written
                state["history"].append(row)
                state["epoch"] = epoch
                improved = dev_scores["f1"] > state["best_f1"]
                row["best"] = improved
                if improved:
                    state["best_f1"], state["best_epoch"], state["bad_epochs"] = dev_scores["f1"], epoch, 0
                    best_state = copy.deepcopy({k: v.detach().cpu() for k, v in scored.state_dict().items()})
                    metadata["dev_scores"] = dev_scores
                    metadata["best_epoch"] = epoch
                    save_model(model_path, scored, vocab, scheme, metadata)
                else:
                    state["bad_epochs"] += 1
                save_model(  # the state after this epoch, for --resume
                    resume_file,
                    model,
                    vocab,
                    scheme,
                    metadata={},
                    extra={
                        "optimizer": optimizer.state_dict(),
                        "shuffler": shuffler.get_state(),
                        "rng": torch.get_rng_state(),
                        "progress": state,
                        "best_state_dict": best_state,
                        "average": averaged.state_dict() if averaged is not None else None,
                        "best_metadata": {k: metadata[k] for k in ("best_epoch", "dev_scores") if k in metadata},
                    },
                )
            on_epoch(row)
            if config.patience and state["bad_epochs"] >= config.patience:
                log(f"no dev F1 gain for {config.patience} epochs: stopping after epoch {epoch}")
                break
    except _Signal as sig:
        raise TrainingInterrupted(sig.signum, result_so_far()) from None
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)

    result = result_so_far()
    if best_state is not None:
        scored.load_state_dict(best_state)
    if test_data is not None:
        test_scores = score(test_data.tags_in(scheme), predictor.predict([s.tokens for s in test_data.sentences]))
        result["test"] = test_scores
        metadata["test_scores"] = test_scores
        save_model(model_path, scored, vocab, scheme, metadata)
    resume_file.unlink(missing_ok=True)
    result["seconds"] = time.perf_counter() - started
    result["data_scheme"] = scheme
    result["files"] = {
        "train": str(train_file),
        "dev": str(dev_file) if dev_file else None,
        "test": str(test_file) if test_file else None,
    }
    return result
