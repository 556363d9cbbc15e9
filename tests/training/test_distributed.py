"""tagger.training.distributed: torchrun's environment, shares of a batch; steps on 2 gloo ranks equal to one process"""

from __future__ import annotations

import os
import socket

import pytest
import torch

from tagger.errors import TaggerError
from tagger.training.distributed import DataParallel, Rank, from_env, share
from tests.corpora import make_sentences


def test_from_env_reads_torchruns_variables():
    assert from_env({"RANK": "1", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}) == Rank(1, 4, 1)
    assert from_env({}) == Rank(0, 1, 0)


@pytest.mark.parametrize("env", [{"RANK": "x"}, {"RANK": "2", "WORLD_SIZE": "2"}])
def test_from_env_refuses_a_bad_environment(env):
    with pytest.raises(TaggerError, match="RANK"):
        from_env(env)


def test_shares_of_a_batch_cover_it_once():
    ids = list(range(7))
    shares = [share(ids, Rank(r, 3)) for r in range(3)]
    assert shares == [[0, 3, 6], [1, 4], [2, 5]]
    assert share([5], Rank(1, 2)) == []  # a batch smaller than the world leaves a rank idle


def test_only_rank_0_is_main_and_each_rank_has_its_gpu():
    assert Rank(0, 2).is_main and not Rank(1, 2).is_main
    assert Rank(1, 2, 1).device("cuda") == "cuda:1"
    assert Rank(1, 2, 1).device("cpu") == "cpu"
    assert Rank().device("cuda") == "cuda"


def test_one_process_is_the_models_own_loss_and_backward():
    model, _, maker, tokens, tag_ids = _setup()
    batch = maker.batch(tokens[:4], tag_ids[:4])
    expected = model.loss(batch)
    expected.backward()
    before = {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    parallel = DataParallel(model, Rank())
    assert parallel.ddp is None
    assert torch.equal(parallel.backward(batch, 4, 4), expected)
    for name, p in model.named_parameters():
        if name in before:
            assert torch.equal(p.grad.to_dense(), before[name].to_dense()), name


def _setup(seed: int = 3):
    """The same model, data and optimizers in every process: dropout off, sparse word gradients as in training."""
    from tagger.data.schemes import tag_set
    from tagger.data.vocabulary import Vocabulary
    from tagger.nn.config import ModelConfig, TrainConfig
    from tagger.nn.model import BiLSTMCRF
    from tagger.nn.tensors import TensorMaker
    from tagger.training.trainer import Optimizers

    sentences = make_sentences(12, seed)
    tags = tag_set(["PER", "LOC", "ORG"], "iob2")
    vocab = Vocabulary.build(([t for t, _ in s] for s in sentences), tags)
    torch.manual_seed(seed)
    config = ModelConfig(
        num_words=len(vocab.words),
        num_chars=len(vocab.chars),
        num_tags=len(tags),
        word_dim=8,
        char_dim=6,
        char_size=5,
        hidden_size=7,
        dropout=0.0,
        scheme="iob2",
    )
    model = BiLSTMCRF(config, tags)
    optimizer = Optimizers(model, TrainConfig(lr=0.05, batch_size=12))
    tokens = [[t for t, _ in s] for s in sentences]
    tag_ids = [[vocab.tag_index[tag] for _, tag in s] for s in sentences]
    return model, optimizer, TensorMaker(vocab), tokens, tag_ids


# Two optimizer steps (the second uses the moments the first left): 11 sentences (shares of 6 and 5),
# then 1 (rank 1 has none and takes part with zero gradients).
BATCHES = [list(range(11)), [11]]


def _step(model, optimizer, maker, tokens, tag_ids, ids, total, parallel) -> None:
    from tagger.training.trainer import clip_gradients

    optimizer.zero_grad()
    batch = maker.batch([tokens[i] for i in ids], [tag_ids[i] for i in ids]) if ids else None
    parallel.backward(batch, len(ids), total, stand_in=maker.batch(tokens[:1], tag_ids[:1]))
    clip_gradients(model.parameters(), 5.0)
    optimizer.step()


def _rank_main(rank_id: int, world: int, port: int, folder: str) -> None:
    from tagger.training.distributed import session

    torch.set_num_threads(1)
    env = {"RANK": str(rank_id), "WORLD_SIZE": str(world), "LOCAL_RANK": str(rank_id)}
    import os

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), **env)
    with session("cpu") as rank:
        model, optimizer, maker, tokens, tag_ids = _setup()
        parallel = DataParallel(model, rank)  # DistributedDataParallel on gloo
        for batch in BATCHES:
            _step(model, optimizer, maker, tokens, tag_ids, share(batch, rank), len(batch), parallel)
        torch.save(model.state_dict(), f"{folder}/rank{rank.rank}.pt")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_steps_on_2_gloo_ranks_equal_one_process_on_the_global_batch(tmp_path):
    import torch.multiprocessing as mp

    torch.set_num_threads(1)
    mp.spawn(_rank_main, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    model, optimizer, maker, tokens, tag_ids = _setup()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    parallel = DataParallel(model, Rank())
    for batch in BATCHES:
        _step(model, optimizer, maker, tokens, tag_ids, batch, len(batch), parallel)
    expected = model.state_dict()
    for r in range(2):
        got = torch.load(tmp_path / f"rank{r}.pt")
        for name, value in expected.items():
            assert torch.allclose(got[name], value, atol=1e-6, rtol=1e-5), (r, name)
    moved = {k for k in expected if not torch.equal(expected[k], before[k])}
    assert {"word_embed.weight", "project.weight", "crf.transitions"} <= moved  # the steps did train


@pytest.mark.slow
def test_a_short_torchrun_training_writes_a_model_that_loads_and_tags(tiny_dir, tmp_path):
    import io
    import subprocess
    import sys
    from pathlib import Path

    from tagger.nn.model_file import load_model
    from tagger.tagging.files import tag_file
    from tagger.tagging.options import TagOptions

    model = tmp_path / "run" / "model.pt"
    model.parent.mkdir()
    cli = Path(__file__).resolve().parents[2] / "cli.py"
    command = [
        sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", "2",
        "--master-addr", "127.0.0.1", "--master-port", str(_free_port()),
        str(cli), "train", "--train", str(tiny_dir / "train.txt"), "--dev", str(tiny_dir / "dev.txt"),
        "--model", str(model), "--epochs", "3", "--batch-size", "8", "--hidden-size", "8", "--word-dim", "10",
        "--char-encoder", "none", "--threads", "1", "--patience", "0",
    ]  # fmt: skip
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"}
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(p.name for p in model.parent.iterdir()) == ["model.pt"]  # rank 0 wrote it; no resume file left
    loaded = load_model(model)
    assert loaded.metadata["best_epoch"] >= 1
    assert done.stderr.count("training on 60 sentences") == 1  # rank 0 alone logs
    assert done.stdout.count("best epoch") == 1  # and prints the summary
    out = io.StringIO()
    assert tag_file(str(tiny_dir / "test.txt"), out, model, TagOptions(input_kind="conll")) == 20
    assert out.getvalue().count("\n\n") == 20
