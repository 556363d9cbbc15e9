"""The trainer of a run: the vocabulary, the model and its optimizers, the training sentences in shuffled
batches (with torchrun, each rank's share of each) and the optimizer step each batch takes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from tagger.data.arrays import DOC_MAX, document_batches, documents, length_batches
from tagger.data.corpus import TaggedData
from tagger.data.embeddings import Vectors, read_vectors
from tagger.data.schemes import tag_set
from tagger.data.vocabulary import UNK, Vocabulary, word_key
from tagger.nn.config import ModelConfig, TrainConfig
from tagger.nn.model import BiLSTMCRF
from tagger.nn.tensors import Batch, TensorMaker
from tagger.tagging.model import from_torch
from tagger.tagging.predictor import Predictor
from tagger.training.data import Data
from tagger.training.distributed import DataParallel, Rank, broadcast_parameters, share
from tagger.training.run import Run


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
    parallel: DataParallel  # loss and backward: under torchrun, DistributedDataParallel's
    stand_in: Batch | None  # under torchrun, what a rank without a share of a batch runs (its loss times 0)
    rank: Rank = field(default_factory=Rank)  # with torchrun: each rank steps on its share of every batch

    def step(self, batch: Batch | None, total: int | None = None) -> float:
        """One optimizer step on ``batch`` (this rank's share of a global batch of ``total`` sentences, or
        None for no share); its mean loss per sentence."""
        config, model = self.config, self.model
        self.optimizer.zero_grad()
        if batch is not None and config.word_dropout > 0:
            chance = torch.rand(batch.words.shape, device=batch.words.device)  # shape: (batch, time)
            replace_ = self.singleton[batch.words] & (chance < config.word_dropout)  # shape: (batch, time)
            batch.words = batch.words.masked_fill(replace_, UNK)
        size = len(batch.lengths) if batch is not None else 0
        loss = self.parallel.backward(batch, size, total or size, self.stand_in)  # the global batch's mean
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
    maker = TensorMaker(vocab, chars=model.char_encoder is not None, context=model.context)
    train_tags = [[vocab.tag_index[t] for t in seq] for seq in data.train.tags_in(config.scheme)]
    return Trainer(
        config=config,
        vocab=vocab,
        model=model,
        scored=scored,
        averaged=averaged,
        optimizer=optimizer,
        maker=maker,
        predictor=Predictor(from_torch(scored, vocab, data.scheme), batch_size=64),
        train_tags=train_tags,
        train_docs=[s.doc for s in data.train.sentences],
        singleton=torch.tensor([c == 1 for c in vocab.word_counts], dtype=torch.bool, device=config.device),
        frozen=frozen,
        shuffler=torch.Generator().manual_seed(config.seed),
        parallel=DataParallel(model, run.rank),
        stand_in=stand_in(data, maker, train_tags[0], config.device) if run.rank.distributed else None,
        rank=run.rank,
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
    """``shuffled_batches`` for a model reading document context: the documents shuffled, cut into batches of about
    ``batch_size`` sentences of whole documents; with torchrun each rank takes whole documents of a batch (shares
    may differ in size: ``distributed.DataParallel`` weighs them)."""
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


def stand_in(data: Data, maker: TensorMaker, tags: list[int], device: str) -> Batch:
    """The first training sentence (its tag ids ``tags``) as a batch: what a rank with no share of a batch runs
    under torchrun."""
    first = data.train.sentences[0]
    return maker.batch([first.tokens], [tags], [first.doc] if maker.context else None).to(device)


def chosen_context(context: str, train: TaggedData, run: Run) -> str:
    """``auto`` made ``document`` when the training file is divided into documents (two or more, of ``DOC_MAX``
    sentences or fewer on average), else ``none`` (bench/README.md, "Document context")."""
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


class Optimizers:
    """The optimizer of the dense parameters, and a sparse one for the word embeddings.

    Sparse gradients update only the word rows a batch touches (the rest's moments stay, as in lazy Adam).
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
