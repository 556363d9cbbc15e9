"""Training: data files in, a model file out, with early stopping on dev F1.

``train`` reads top to bottom in four stages: load the data; build the
vocabulary and the model; run the epochs (``epochs`` yields one row per
epoch, and ``train_epoch`` is the pass of optimizer steps over the batches);
finish (score the test data, save). After every epoch that improves dev F1 the
model file is rewritten, and after every epoch the resume file
(``checkpoint.py`` documents both), each atomically and with SIGINT/SIGTERM
held back (``interrupts.py``): an interrupted run leaves the best model so far,
and ``--resume`` continues as if it had never stopped.

No model is ever lost: a file at the model path that is not a tagger model is
refused before any work, and a model that was there before the run stays as it
was until the run ends; meanwhile the best model so far goes to
``MODEL.partial`` (``checkpoint.partial_path``), and the finished run replaces
the model in one rename and says so.
"""

from __future__ import annotations

import math
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from tagger import __version__
from tagger.data.arrays import DOC_MAX, document_batches, documents, length_batches
from tagger.data.corpus import TaggedData, load_tagged
from tagger.data.embeddings import Vectors, read_vectors
from tagger.data.schemes import tag_set
from tagger.data.vocabulary import UNK, Vocabulary, word_key
from tagger.errors import DataError, TaggerError
from tagger.nn.checkpoint import partial_path, read_checkpoint, resume_path
from tagger.nn.config import DEFAULTS, ModelConfig, TrainConfig
from tagger.nn.config import OPTIMIZERS as OPTIMIZERS
from tagger.nn.model import BiLSTMCRF
from tagger.nn.model_file import check_replaceable, check_writable, save_model
from tagger.nn.runtime import configure_torch
from tagger.nn.shipped import refuse_to_write
from tagger.nn.tensors import Batch, TensorMaker
from tagger.tagging.options import TagOptions
from tagger.tagging.predictor import Predictor
from tagger.training.distributed import Rank, average_gradients, broadcast_parameters, reduce_sum, session, share
from tagger.training.evaluation import score
from tagger.training.interrupts import Interrupted, Signals, caught_signals

# Fewer training sentences than this draw a warning: too little to learn from (the dev F1 usually stays 0).
MIN_SENTENCES = 50


class TrainingInterrupted(TaggerError):
    """SIGINT or SIGTERM arrived; the best model so far is on disk (if an epoch finished), and a model that
    was at the path before the run is as it was."""

    def __init__(self, signum: int, result: dict):
        self.signum = signum
        self.result = result
        self.exit_code = 128 + signum
        super().__init__(f"interrupted by {signal.Signals(signum).name}{where_the_best_is(result)}")


def where_the_best_is(result: dict) -> str:
    """The end of the line of a run that stopped early: where its best model is, that a model which was at
    the path before is unchanged, and how to go on."""
    kept = f"the previous model at {result['model']} is unchanged" if result.get("partial") else ""
    if not result.get("best_epoch"):
        return " before the first epoch ended: no model was saved" + (f"; {kept}" if kept else "")
    saved_at = result.get("partial") or result["model"]
    return (
        f": the best model so far (epoch {result['best_epoch']}, dev F1 {100 * result['dev']['f1']:.2f}) "
        f"is saved at {saved_at}" + (f"; {kept}" if kept else "") + "; continue with --resume"
    )


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
    log: Callable[[str], None] = lambda message: None,
    on_epoch: Callable[[dict], None] = lambda row: None,
    progress: Callable[[int], Callable[[int], None]] | None = None,
    encoding: str = TagOptions.encoding,
) -> dict:
    """Train a model and write it to ``model_path``; returns scores, history and paths as plain data.

    ``log`` gets progress and warnings (``result["warnings"]`` keeps the
    warnings too), ``on_epoch`` each epoch's row once its files are written,
    and ``progress(total)``, called at each epoch's start, returns a function
    to call with the number of sentences done after each batch. The configs
    given are not changed. ``skip_bad_sentences``: sentences with a tag that is not a tag are
    left out (one warning says how many); ``encoding``: of the data files (``-`` is stdin).
    A model already at ``model_path`` is kept as it is until the run ends (the
    best so far goes to ``MODEL.partial``); any other file there is refused.
    """
    config = config or TrainConfig()
    model_path, previous = model_paths_checked(refuse_to_write(model_path))  # never a shipped model
    started = time.perf_counter()
    configure_torch(config.threads)
    torch.manual_seed(config.seed)
    with session(config.device) as rank:  # torchrun's process group, if started by torchrun
        config, log, on_epoch, progress = _per_rank(rank, config, log, on_epoch, progress)
        run = Run(model_path, log, rank=rank, previous=previous)  # progress, best weights, metadata, warnings

        # 1. the data; 2. the vocabulary, the model and its optimizers (or an interrupted run's state)
        data = load_data(
            train_file, dev_file, test_file, tag_column, data_scheme, config, run, encoding, skip_bad_sentences
        )
        trainer = build_trainer(data, model_config or ModelConfig(), config, run)
        run.start(data, config)
        if resume:
            resume_run(run, trainer)
        train_epochs(trainer, data, run, progress, on_epoch)  # 3. the epochs
        # 4. the best epoch's weights, scored on the test data
        result = finish(trainer, data, run)
    result["seconds"] = time.perf_counter() - started
    return result


def _per_rank(rank: Rank, config: TrainConfig, log, on_epoch, progress) -> tuple:
    """The config and callbacks of this rank: under torchrun one device per rank, and only rank 0 logs, reports
    and writes files."""
    if not rank.distributed:
        return config, log, on_epoch, progress
    config = replace(config, device=rank.device(config.device))
    return (config, log, on_epoch, progress) if rank.is_main else (config, _quiet, _quiet, None)


def train_epochs(trainer, data, run, progress, on_epoch) -> None:
    """Epoch after epoch until the last, or until dev F1 stops improving; Ctrl-C keeps the best model."""
    with caught_signals() as signals:
        try:
            for row in epochs(trainer, data, run, signals, progress):
                on_epoch(row)
        except Interrupted as sig:
            raise TrainingInterrupted(sig.signum, run.result()) from None
        except Exception:  # a crash (diverged, out of memory): the error follows this line
            run.log(f"the run stopped{where_the_best_is(run.result())}")
            raise


def model_paths_checked(model_path: str | Path) -> tuple[Path, dict | None]:
    """``model_path`` checked before any work: its folder can be written, and nothing there or at the run's own
    files beside it (``MODEL.partial``, ``MODEL.resume``) is other than a tagger model; with the metadata of the
    model already there (None: none is)."""
    model_path = check_writable(model_path)
    previous = check_replaceable(model_path)
    for own in (partial_path(model_path), resume_path(model_path)):
        check_replaceable(own)
    return model_path, previous


@dataclass
class Data:
    """The data of a run, read; ``scheme`` is the training data's tag scheme (the model writes tags in it)."""

    train: TaggedData
    dev: TaggedData
    test: TaggedData | None
    files: dict[str, str | None]  # the files given: train, dev, test

    @property
    def scheme(self) -> str:
        return self.train.scheme


def load_data(
    train_file: str | Path,
    dev_file: str | Path | None,
    test_file: str | Path | None,
    tag_column: int,
    data_scheme: str | None,
    config: TrainConfig,
    run: Run,
    encoding: str = TagOptions.encoding,
    skip_bad: bool = False,
) -> Data:
    """Read the files (without a dev file, hold some training sentences out); warn about data too
    small to learn from. ``skip_bad``: leave out sentences with bad tags (with a warning) instead of failing."""
    train = load_tagged(train_file, tag_column, data_scheme, encoding, skip_bad=skip_bad)
    if dev_file is not None:
        dev = load_tagged(dev_file, tag_column, train.scheme, encoding, skip_bad=skip_bad)
    else:
        train, dev = _split_dev(train, config.dev_fraction, config.seed)
        run.log(f"no development file: holding out {len(dev.sentences)} training sentences for early stopping")
    test = load_tagged(test_file, tag_column, train.scheme, encoding, skip_bad=skip_bad) if test_file else None
    for message in [w for d in (train, dev, test) if d for w in d.warnings]:
        run.warn(message)
    if not train.types():
        raise DataError("the training data has only the tag 'O': there are no entities to learn", train.path)
    for message in too_little_data(train, dev):
        run.warn(message)
    files = {"train": train_file, "dev": dev_file, "test": test_file}
    return Data(train, dev, test, {k: str(v) if v else None for k, v in files.items()})


@dataclass
class Trainer:
    """The model, its vocabulary and optimizers, and the training examples as ids: what the epochs need."""

    config: TrainConfig
    vocab: Vocabulary
    model: BiLSTMCRF  # the weights trained
    scored: nn.Module  # the weights scored on dev and saved: the model, or its moving average
    averaged: AveragedModel | None
    optimizer: Optimizers
    maker: TensorMaker
    predictor: Predictor
    train_tags: list[list[int]]  # tag ids of each training sentence, in the scheme trained
    train_docs: list[int]  # document number of each training sentence (read when the model reads context)
    singleton: torch.Tensor  # shape: (words,) True for words seen once (word dropout replaces them)
    frozen: tuple[torch.Tensor, torch.Tensor] | None  # rows and values of pretrained vectors kept as they are
    shuffler: torch.Generator
    rank: Rank = field(default_factory=Rank)  # with torchrun: each rank steps on its share of every batch

    def step(self, batch: Batch | None, total: int | None = None) -> float:
        """One optimizer step on ``batch`` (this rank's share of a global batch of ``total`` sentences, or
        None for no share); its mean loss per sentence."""
        config, model = self.config, self.model
        self.optimizer.zero_grad()
        loss = torch.zeros(())
        if batch is not None:  # None: a global batch smaller than the world left this rank none (zero gradients)
            if config.word_dropout > 0:
                chance = torch.rand(batch.words.shape, device=batch.words.device)  # shape: (batch, time)
                replace_ = self.singleton[batch.words] & (chance < config.word_dropout)  # shape: (batch, time)
                batch.words = batch.words.masked_fill(replace_, UNK)
            loss = model.loss(batch)
            loss.backward()
        size = len(batch.lengths) if batch is not None else 0
        average_gradients(model, size, total or size, self.rank)  # the global batch's mean, over the ranks
        if config.clip > 0:
            clip_gradients(model.parameters(), config.clip)
        self.optimizer.step()
        if self.frozen is not None:  # put the pretrained vectors back as they were
            with torch.no_grad():
                model.word_embed.weight.index_copy_(0, *self.frozen)
        if self.averaged is not None:
            self.averaged.update_parameters(model)
        return loss.item()


def build_trainer(data: Data, model_config: ModelConfig, config: TrainConfig, run: Run) -> Trainer:
    """The vocabulary of the training data (and of the pretrained vectors), the model, its optimizers."""
    tags = tag_set(data.train.types(), config.scheme)
    vectors = read_embeddings(config, data, run) if config.embeddings else None
    if vectors is not None:
        model_config = replace(model_config, word_dim=vectors.dim, embeddings=Path(vectors.path).name)
    train_keys = {word_key(t, config.lowercase) for s in data.train.sentences for t in s.tokens}
    extra = [k for k in vectors.keys if k not in train_keys] if vectors else []
    vocab = Vocabulary.build((s.tokens for s in data.train.sentences), tags, extra, config.lowercase)
    model_config = replace(
        model_config,
        context=chosen_context(model_config.context, data.train, run),
        num_words=len(train_keys) + 2,  # and padding and the unknown word
        num_extra_words=len(vocab.words) - len(train_keys) - 2,
        num_chars=len(vocab.chars),
        num_tags=len(tags),
        scheme=config.scheme,
    )
    model = BiLSTMCRF(model_config, vocab.tags)
    pretrained = _init_word_vectors(model, vocab, vectors)
    frozen = None
    if config.freeze_vectors and pretrained:
        rows = torch.tensor(pretrained, device=config.device)
        frozen = (rows, model.word_embed.weight.detach()[pretrained].clone().to(config.device))
    model.to(config.device)
    broadcast_parameters(model, run.rank)  # every rank starts from rank 0's weights
    optimizer = Optimizers(model, config)  # before the average copies the model: its word table is sparse too
    averaged = AveragedModel(model, multi_avg_fn=moving_average(config.average)) if config.average else None
    scored = averaged.module if averaged is not None else model
    return Trainer(
        config=config,
        vocab=vocab,
        model=model,
        scored=scored,
        averaged=averaged,
        optimizer=optimizer,
        maker=TensorMaker(vocab, chars=model.char_encoder is not None, context=model.context),
        predictor=Predictor(scored, vocab, data.scheme, batch_size=64),
        train_tags=[[vocab.tag_index[t] for t in seq] for seq in data.train.tags_in(config.scheme)],
        train_docs=[s.doc for s in data.train.sentences],
        singleton=torch.tensor([c == 1 for c in vocab.word_counts], dtype=torch.bool, device=config.device),
        frozen=frozen,
        shuffler=torch.Generator().manual_seed(config.seed),
        rank=run.rank,
    )


def chosen_context(context: str, train: TaggedData, run: Run) -> str:
    """``auto`` made ``document`` when the training file is divided into documents (-DOCSTART-), else ``none``:
    on CoNLL-2003's documents document context gained dev F1; forced on WNUT-17, whose tweets have no
    documents, it lost some (bench/README.md, "Document context"). Divided: two documents or more, of
    ``DOC_MAX`` sentences or fewer on average (one -DOCSTART- atop a whole corpus divides nothing)."""
    if context != "auto":
        return context
    documents = len({s.doc for s in train.sentences})
    if 2 <= documents < len(train.sentences) <= DOC_MAX * documents:
        run.log(f"document context: on (the training file holds {documents} documents)")
        return "document"
    return "none"


def read_embeddings(config: TrainConfig, data: Data, run: Run) -> Vectors:
    """The pretrained vectors of the data's words, and of the file's ``keep_vectors`` most frequent ones."""
    tokens = {t for d in (data.train, data.dev, data.test) if d for s in d.sentences for t in s.tokens}
    vectors = read_vectors(config.embeddings, tokens, keep=config.keep_vectors)
    run.log(f"embeddings: {len(vectors.keys)} of the {vectors.file_words} vectors of {vectors.path} ({vectors.dim}d)")
    return vectors


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
        f"resuming after epoch {run.progress['epoch']} (best dev F1 so far {100 * max(run.progress['best_f1'], 0):.2f})"
    )


def epochs(
    trainer: Trainer,
    data: Data,
    run: Run,
    signals: Signals,
    progress: Callable[[int], Callable[[int], None]] | None = None,
) -> Iterator[dict]:
    """Train epoch after epoch, yielding each one's row (loss, dev scores, learning rate, times) once the
    model file (if dev F1 improved) and the resume file are written; stop early after ``patience``
    epochs without a dev F1 gain."""
    config = trainer.config
    train_tokens = [s.tokens for s in data.train.sentences]
    dev_tokens, dev_gold = [s.tokens for s in data.dev.sentences], data.dev.tags_in(data.scheme)
    dev_docs = [s.doc for s in data.dev.sentences]
    log_start(data, trainer, run)
    while run.progress["epoch"] < config.epochs:
        epoch = run.progress["epoch"] + 1
        started = time.perf_counter()
        lr = config.lr / (1 + config.lr_decay * (epoch - 1))
        trainer.optimizer.set_lr(lr)
        batches = shuffled_batches(trainer, train_tokens)
        advance = progress(len(train_tokens)) if progress else None
        total_loss, seen = train_epoch(trainer, batches, advance)
        total_loss, seen = reduce_sum(total_loss, trainer.rank), int(reduce_sum(seen, trainer.rank))  # all ranks'
        if not math.isfinite(total_loss):
            raise TaggerError(f"training diverged at epoch {epoch} (loss {total_loss}); try a smaller --lr")
        train_seconds = time.perf_counter() - started
        dev_scores = score(dev_gold, trainer.predictor.predict(dev_tokens, dev_docs))
        row = {
            "epoch": epoch,
            "loss": total_loss / max(seen, 1),
            "dev": {k: dev_scores[k] for k in ("precision", "recall", "f1")},
            "lr": lr,
            "train_seconds": train_seconds,
            "seconds": time.perf_counter() - started,
            "sentences_per_second": seen / train_seconds if train_seconds > 0 else 0.0,
        }
        with signals.held():  # a signal waits until the best model and the resume file are written
            save_epoch(trainer, run, row, dev_scores)
        yield row
        if config.patience and run.progress["bad_epochs"] >= config.patience:
            run.log(f"no dev F1 gain for {config.patience} epochs: stopping after epoch {epoch}")
            return


def log_start(data: Data, trainer: Trainer, run: Run) -> None:
    files = data.files
    run.log(f"train: {files['train']}  dev: {files['dev'] or '(held out of train)'}  test: {files['test'] or '(none)'}")
    vocab = trainer.vocab
    run.log(
        f"training on {len(data.train.sentences)} sentences ({data.train.tokens} tokens, {data.scheme.upper()} read, "
        f"{trainer.config.scheme.upper()} trained), {len(data.dev.sentences)} dev sentences; {len(vocab.words)} words, "
        f"{len(vocab.chars)} characters, {len(vocab.tags)} tags"
    )


def shuffled_batches(trainer: Trainer, sentences: list[list[str]]) -> Iterator[tuple[Batch | None, int]]:
    """The training sentences in batches of similar length, in a random order, as tensors with tags, each
    with its size; with torchrun, this rank's share of each batch (None for none: every rank walks the
    same order, the same seed), and the size of the whole."""
    config = trainer.config
    if trainer.maker.context:
        yield from _document_batches(trainer, sentences)
        return
    order = torch.randperm(len(sentences), generator=trainer.shuffler).tolist()
    groups = length_batches([len(s) for s in sentences], config.batch_size, order)
    for g in torch.randperm(len(groups), generator=trainer.shuffler).tolist():
        ids = share(groups[g], trainer.rank)
        batch = trainer.maker.batch([sentences[i] for i in ids], [trainer.train_tags[i] for i in ids]) if ids else None
        yield (batch.to(config.device) if batch is not None else None), len(groups[g])


def _document_batches(trainer: Trainer, sentences: list[list[str]]) -> Iterator[tuple[Batch | None, int]]:
    """``shuffled_batches`` for a model reading document context: the documents in a random order, cut
    into batches of about ``batch_size`` sentences made of whole documents (a token pools the mentions of
    its word over its whole document). With torchrun each rank takes whole documents of a batch (every
    ``world_size``-th), never part of one; the ranks' shares may then differ in size, and
    ``average_gradients`` weighs each by its sentences."""
    config = trainer.config
    groups = documents(len(sentences), trainer.train_docs)
    order = torch.randperm(len(groups), generator=trainer.shuffler).tolist()
    for batch_docs in document_batches([groups[g] for g in order], config.batch_size):
        ids = [i for group in share(batch_docs, trainer.rank) for i in group]
        batch = None
        if ids:
            tags, docs = [trainer.train_tags[i] for i in ids], [trainer.train_docs[i] for i in ids]
            batch = trainer.maker.batch([sentences[i] for i in ids], tags, docs).to(config.device)
        yield batch, sum(len(group) for group in batch_docs)


def train_epoch(
    trainer: Trainer, batches: Iterable[tuple[Batch | None, int]], advance: Callable[[int], None] | None = None
) -> tuple[float, int]:
    """One optimizer step per batch; the loss summed over the sentences, and how many there were.

    With torchrun, ``batches`` holds this rank's share of each batch (``shuffled_batches``).
    """
    trainer.model.train()
    total_loss, seen = 0.0, 0
    for batch, total in batches:
        size = len(batch.lengths) if batch is not None else 0
        total_loss += trainer.step(batch, total) * size
        seen += size
        if advance:
            advance(size)
    return total_loss, seen


def save_epoch(trainer: Trainer, run: Run, row: dict, dev_scores: dict) -> None:
    """Add the epoch's row to the history; write the model file if dev F1 improved, and the resume file."""
    progress = run.progress
    progress["history"].append(row)
    progress["epoch"] = row["epoch"]
    row["best"] = dev_scores["f1"] > progress["best_f1"]
    if row["best"]:
        progress["best_f1"], progress["best_epoch"], progress["bad_epochs"] = dev_scores["f1"], row["epoch"], 0
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
            data.test.tags_in(data.scheme), trainer.predictor.predict(tokens, docs)
        )
    if run.best_state is not None:  # the whole history (epochs after the best one too) and the test scores
        run.metadata["history"] = run.progress["history"]
        save_model(run.model_path, trainer.scored, trainer.vocab, run.data_scheme, run.metadata)  # one rename
        replaced(run, data)
    message = learned_nothing(run.progress["best_f1"], run.progress["epoch"], data.dev)
    if message:
        run.warn(message)
    resume_path(run.model_path).unlink(missing_ok=True)
    result.pop("partial", None)
    result["data_scheme"] = data.scheme
    result["files"] = data.files
    return result


# Helpers of the stages


def replaced(run: Run, data: Data) -> None:
    """Once the finished model is at the path: remove the run's partial file and say, with both dev F1s,
    that a model that was there before has been replaced."""
    if not run.keeps_previous:
        return
    partial_path(run.model_path).unlink(missing_ok=True)
    if run.previous is None:  # removed by the user since the run began
        return
    before = (run.previous.get("dev_scores") or {}).get("f1")
    scores = f"{100 * before:.2f} -> " if isinstance(before, float) else ""
    scores += f"{100 * run.progress['best_f1']:.2f}"
    other = run.previous.get("dev_file") != data.files["dev"]
    run.log(f"replaced the previous model at {run.model_path} (dev F1 {scores}{' on other dev data' if other else ''})")


def fit_temperature(trainer: Trainer, data: Data, run: Run) -> None:
    """Set the temperature of the saved model's probabilities (``tagger tag --scores``) to the one whose
    entity scores are best calibrated on dev: a raw CRF is overconfident. Decoding does not use it."""
    if not data.dev.types():
        return  # no entities on dev: nothing to calibrate against
    predictor = Predictor(trainer.scored, trainer.vocab, data.scheme, trainer.predictor.batch_size, scores=True)
    dev = data.dev
    sentences, docs = [s.tokens for s in dev.sentences], [s.doc for s in dev.sentences]
    temperature, error = predictor.fit_temperature(sentences, dev.tags_in(data.scheme), docs=docs)
    trainer.scored.config.temperature = temperature
    run.log(f"entity scores: temperature {temperature:g} fitted on dev (expected calibration error {error:.3f})")


def too_little_data(train: TaggedData, dev: TaggedData) -> list[str]:
    """Warnings, with what to do, for training data too small to learn from and dev data without entities."""
    found = []
    if len(train.sentences) < MIN_SENTENCES:
        found.append(
            f"only {len(train.sentences)} training sentences: too few to learn from (fewer than {MIN_SENTENCES}; "
            f"thousands are usual); give more training data"
        )
    if not dev.types():
        found.append(
            f"the development data ({dev.path}) holds no entities: its F1 stays 0 and cannot pick the best epoch; "
            f"give a --dev file with entities"
        )
    return found


def learned_nothing(best_f1: float, epochs_run: int, dev: TaggedData) -> str | None:
    """A warning, with what to try, when no epoch found a single dev entity (and dev holds some)."""
    if best_f1 > 0 or not dev.types():
        return None
    return (
        f"the model learned nothing: dev F1 was 0.00 after each of the {epochs_run} epochs; try more training "
        f"data, more --epochs, a longer --patience (0 never stops early), or a larger --lr"
    )


def _quiet(*args) -> None:
    """What a rank other than 0 does with its messages and rows."""


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
            # fused: one kernel updates all the dense parameters, instead of a loop over them
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
        table = torch.frombuffer(vectors.values, dtype=torch.float32).view(-1, vectors.dim)  # shape: (words, dim)
        if rows:
            mine, theirs = zip(*rows)
            weight[list(mine)] = table[list(theirs)]
        extra = [vectors.index[w] for w in vocab.words[trained:]]
        if extra:
            model.extra_vectors.copy_(table[extra])
        return [i for i, _ in rows]
