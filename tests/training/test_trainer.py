"""tagger.training.trainer: the context a model reads chosen from the data; with document context, batches of
whole documents, and under torchrun each rank's share of them."""

from __future__ import annotations

from pathlib import Path

from tagger.nn.config import ModelConfig, TrainConfig
from tagger.training.data import load_data
from tagger.training.run import Run
from tagger.training.trainer import build_trainer
from tests.corpora import make_sentences, write_conll

TINY_CONFIG = dict(word_dim=10, char_size=6, hidden_size=8)


# Document context: batches of whole documents


def documents_file(path: Path, sizes: list[int], seed: int) -> Path:
    """A CoNLL file of documents of ``sizes`` sentences, each begun by -DOCSTART-."""
    sentences = make_sentences(sum(sizes), seed)
    parts, at = [], 0
    for size in sizes:
        write_conll(path, sentences[at : at + size])
        parts.append(path.read_text(encoding="utf-8"))
        at += size
    path.write_text("\n\n".join(parts) + "\n", encoding="utf-8")
    return path


def context_trainer(tmp_path: Path, sizes: list[int], rank: int = 0, world: int = 1):
    from tagger.training.distributed import Rank

    config = TrainConfig(batch_size=8, seed=3)
    run = Run(tmp_path / "m.pt", lambda m: None)
    train_file = documents_file(tmp_path / "train.txt", sizes, 1)
    dev_file = documents_file(tmp_path / "dev.txt", [3, 4], 2)
    data = load_data(train_file, dev_file, None, -1, None, config, run)
    trainer = build_trainer(data, ModelConfig(**TINY_CONFIG, context="document"), config, run)
    trainer.rank = Rank(rank, world)
    made = []  # the sentence rows of each batch made, as (document number, tokens)
    real = trainer.maker.batch

    def batch(sentences, tags=None, docs=None):
        made.append(list(zip(docs, map(tuple, sentences))))
        return real(sentences, tags, docs)

    trainer.maker.batch = batch
    return trainer, data, made


SIZES = [1, 9, 3, 2, 5, 1, 1, 4, 7, 2, 3, 6]


def test_auto_context_is_document_for_a_file_of_documents_and_none_otherwise(tmp_path):
    config = TrainConfig(batch_size=8, seed=3)
    logged = []
    run = Run(tmp_path / "m.pt", logged.append)
    dev_file = documents_file(tmp_path / "dev.txt", [3, 4], 2)
    with_documents = load_data(documents_file(tmp_path / "train.txt", [4, 6], 1), dev_file, None, -1, None, config, run)
    trainer = build_trainer(with_documents, ModelConfig(**TINY_CONFIG), config, run)
    assert trainer.model.config.context == "document" and trainer.maker.context
    assert "document context: on (the training file holds 2 documents)" in logged
    for docstart in (True, False):  # one -DOCSTART- atop the file, or none: not divided into documents
        plain = write_conll(tmp_path / f"plain-{docstart}.txt", make_sentences(10, 1), docstart)
        without = load_data(plain, dev_file, None, -1, None, config, run)
        assert build_trainer(without, ModelConfig(**TINY_CONFIG), config, run).model.config.context == "none"
    forced = build_trainer(without, ModelConfig(**TINY_CONFIG, context="document"), config, run)
    assert forced.model.config.context == "document"


def shuffled_rows(tmp_path: Path, rank: int = 0, world: int = 1) -> tuple[list, list, list]:
    from tagger.training.trainer import shuffled_batches

    trainer, data, made = context_trainer(tmp_path, SIZES, rank, world)
    sizes = []
    for batch, total in shuffled_batches(trainer, [s.tokens for s in data.train.sentences]):
        assert batch is None or batch.docs is not None and batch.keys is not None
        sizes.append(total)
    return made, sizes, data.train.sentences


def test_with_context_an_epoch_is_shuffled_whole_documents_in_batches_of_about_the_batch_size(tmp_path):
    made, sizes, sentences = shuffled_rows(tmp_path)
    rows = [row for batch in made for row in batch]
    assert sorted(rows) == sorted((s.doc, tuple(s.tokens)) for s in sentences)  # every sentence once
    docs = [[row[0] for row in batch] for batch in made]
    for batch in docs:  # a document's sentences together, in one batch
        assert all(batch.count(d) == sum(s.doc == d for s in sentences) for d in set(batch))
    assert sizes == [len(b) for b in made] and all(n <= 12 or len(set(d)) == 1 for n, d in zip(sizes, docs))
    order = [d for batch in docs for d in dict.fromkeys(batch)]
    assert order != sorted(order)  # shuffled
    (tmp_path / "again").mkdir()
    assert shuffled_rows(tmp_path / "again")[0] == made  # seeded


def test_with_context_and_torchrun_each_rank_takes_whole_documents(tmp_path):
    (tmp_path / "all").mkdir()
    whole, sizes, _ = shuffled_rows(tmp_path / "all")
    shares = []
    for rank in (0, 1):
        (tmp_path / str(rank)).mkdir()
        made, rank_sizes, _ = shuffled_rows(tmp_path / str(rank), rank, 2)
        assert rank_sizes == sizes  # every rank walks the same batches
        shares.append(made)
    # Each batch of the whole is its documents dealt out by rank; a rank may get none of a one-document batch.
    it = [iter(shares[0]), iter(shares[1])]
    for batch in whole:
        docs = list(dict.fromkeys(d for d, _ in batch))
        for rank in (0, 1):
            mine = docs[rank::2]
            if mine:
                assert next(it[rank]) == [row for row in batch if row[0] in mine]
