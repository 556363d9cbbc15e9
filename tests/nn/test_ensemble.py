"""Ensembles: one member tags as the model does, scores are the members' means, mismatches are refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from tagger.data.corpus import load_tagged
from tagger.data.schemes import convert
from tagger.data.vocabulary import Vocabulary
from tagger.errors import ModelFileError
from tagger.nn.ensemble import Ensemble, load_ensemble, load_models
from tagger.nn.model import BiLSTMCRF
from tagger.nn.model_file import load_model
from tagger.nn.network import TorchNetwork
from tagger.tagging.model import Model, open_model
from tagger.tagging.predictor import Predictor
from tagger.training.evaluation import score
from tests.helpers import raw_checkpoint, torch_model
from tests.nn.helpers import SENTENCES_TO_TAG, run_window, window_of


def write_changed(source: Path, target: Path, change) -> Path:
    """A copy of a model file with ``change(checkpoint)`` applied."""
    checkpoint = raw_checkpoint(source)
    change(checkpoint)
    torch.save(checkpoint, target)
    return target


def change_vocab(edit):
    """A checkpoint change that edits the Vocabulary (words, chars, tags lists) in place."""

    def change(checkpoint: dict) -> None:
        vocab = Vocabulary.from_dict(checkpoint["vocab"])
        edit(vocab)
        checkpoint["vocab"] = Vocabulary(vocab.words, vocab.chars, vocab.tags, vocab.word_counts).to_dict()

    return change


@pytest.fixture(scope="module")
def perturbed_model(trained_model, tmp_path_factory) -> Path:
    """The trained model with every weight moved by fixed noise: a second member without training."""
    generator = torch.Generator().manual_seed(7)

    def change(checkpoint: dict) -> None:
        for name, value in checkpoint["state_dict"].items():
            if value.is_floating_point():
                checkpoint["state_dict"][name] = value + 0.3 * torch.randn(value.shape, generator=generator)

    return write_changed(trained_model, tmp_path_factory.mktemp("perturbed") / "model.pt", change)


def sentences_of(tiny_dir) -> list[list[str]]:
    """The test file's sentences, the ones to tag and an empty one."""
    return [s.tokens for s in load_tagged(tiny_dir / "test.txt").sentences] + SENTENCES_TO_TAG + [[]]


def networks(paths: list[Path]) -> tuple[TorchNetwork, list[TorchNetwork]]:
    """The torch backend of the ensemble of ``paths``, and of each of its members."""
    loaded = load_ensemble(paths)
    members = [TorchNetwork(m, loaded.vocab, loaded.data_scheme, {}) for m in loaded.model.members]
    return TorchNetwork(loaded.model, loaded.vocab, loaded.data_scheme, loaded.metadata), members


def member_and_ensemble_scores(paths: list[Path], sentences):
    """For the first batch of ``sentences``: each member's emissions and the ensemble's, and the networks."""
    ensemble, members = networks(paths)
    arrays = window_of(ensemble, sentences, batch_size=32)
    each = [run_window(m, arrays)[0][0] for m in members]  # each shape: (batch, time, tags)
    return ensemble, members, each, run_window(ensemble, arrays)[0][0]


def test_ensemble_of_one_tags_exactly_like_the_model(trained_model, tiny_dir):
    sentences = sentences_of(tiny_dir)
    alone = Predictor(open_model(trained_model), batch_size=4).predict(sentences)
    loaded = load_ensemble([trained_model])
    assert isinstance(loaded.model, Ensemble)
    assert Predictor(torch_model(loaded), batch_size=4).predict(sentences) == alone
    assert any(t != "O" for tags in alone for t in tags)  # it does tag entities


def test_ensemble_of_a_model_with_itself_has_its_scores_and_tags(trained_model, tiny_dir):
    sentences = sentences_of(tiny_dir)
    ensemble, members, each, together = member_and_ensemble_scores([trained_model, trained_model], sentences)
    np.testing.assert_array_equal(together, each[0])
    for mine, its in zip(ensemble.crf, members[0].crf):
        np.testing.assert_array_equal(mine, its)
    alone = Predictor(open_model(trained_model)).predict(sentences)
    assert Predictor(open_model([trained_model, trained_model])).predict(sentences) == alone


def check_averaging(paths: list[Path], sentences) -> None:
    ensemble, members, each, together = member_and_ensemble_scores(paths, sentences)
    assert not np.allclose(each[0], each[1])  # the members differ, so the mean is a real test
    np.testing.assert_allclose(together, np.mean(each, axis=0), atol=1e-6)
    crfs = [m.crf for m in members]
    assert not np.array_equal(crfs[0][1], crfs[1][1])
    for mine, parts in zip(ensemble.crf, zip(*crfs)):
        np.testing.assert_allclose(mine, np.mean(parts, axis=0), atol=1e-6)
    # Forbidden moves stay forbidden (e.g. O followed by I-X in BIOES): -inf for probabilities.
    exact, allowed = Model(ensemble).transitions(exact=True).pairs, ensemble.allowed[1]
    assert np.isinf(exact[~allowed]).all() and (~allowed).any()
    np.testing.assert_array_equal(exact[allowed], ensemble.crf[1][allowed])


def test_ensemble_scores_are_the_members_means(trained_model, perturbed_model, tiny_dir):
    check_averaging([trained_model, perturbed_model], sentences_of(tiny_dir))


@pytest.mark.slow
def test_two_seeds_share_a_vocabulary_and_average(trained_model, second_seed_model, tiny_dir):
    sentences = sentences_of(tiny_dir)
    check_averaging([trained_model, second_seed_model], sentences)
    gold = load_tagged(tiny_dir / "test.txt")
    tokens = [s.tokens for s in gold.sentences]
    tags = Predictor(open_model([trained_model, second_seed_model])).predict(tokens)
    assert score(gold.tags_in(gold.scheme), [convert(t, gold.scheme) for t in tags])["f1"] >= 0.8


def with_context(source: Path, target: Path, pooled: float = 0.0) -> Path:
    """A copy of a model file reading document context: its projection widened to 4 x hidden, the pooled
    half's weights ``pooled`` times fixed noise (0: it tags exactly as the source model)."""
    generator = torch.Generator().manual_seed(3)

    def change(checkpoint: dict) -> None:
        checkpoint["config"]["context"] = "document"
        weight = checkpoint["state_dict"]["project.weight"]  # shape: (tags, 2 * hidden)
        extra = pooled * torch.randn(weight.shape, generator=generator)
        checkpoint["state_dict"]["project.weight"] = torch.cat([weight, extra], dim=1)  # shape: (tags, 4 * hidden)

    return write_changed(source, target, change)


def test_members_differing_in_context_tag_with_documents(trained_model, tiny_dir, tmp_path):
    sentences = sentences_of(tiny_dir)
    docs = [i // 5 for i in range(len(sentences))]
    silent = with_context(trained_model, tmp_path / "silent.pt")
    alone = Predictor(open_model(trained_model)).predict(sentences)
    assert Predictor(open_model(silent)).predict(sentences, docs) == alone
    for members in ([trained_model, silent], [silent, trained_model]):
        loaded = load_ensemble(members)
        assert loaded.model.config.context == "document"  # batches carry documents for the member reading them
        assert Predictor(torch_model(loaded)).predict(sentences, docs) == alone
    assert load_ensemble([trained_model, trained_model]).model.config.context == "none"
    ensemble, (plain, loud) = networks([trained_model, with_context(trained_model, tmp_path / "loud.pt", pooled=1.0)])
    arrays = window_of(ensemble, sentences, docs)
    found = zip(*(run_window(n, arrays) for n in (plain, loud, ensemble)))
    for (own, none), (louds, lent), (together, mentions) in found:
        assert none is None and np.abs(lent).max() > 0.1  # the loud member's pooled part counts
        np.testing.assert_allclose(together, (own + louds) / 2, atol=1e-6)
        np.testing.assert_allclose(mentions, lent / 2, atol=1e-6)  # the member without context lends nothing


def test_load_models_gives_the_plain_model_for_one_path(trained_model):
    assert isinstance(load_models(trained_model).model, BiLSTMCRF)
    assert isinstance(load_models([trained_model]).model, BiLSTMCRF)
    assert isinstance(load_models([trained_model, trained_model]).model, Ensemble)


def test_ensemble_lists_its_members(trained_model):
    loaded = load_ensemble([trained_model, trained_model])
    assert loaded.metadata["ensemble"] == [str(trained_model)] * 2
    assert len(loaded.metadata["members"]) == 2
    assert not loaded.model.training
    assert loaded.vocab.tags == load_model(trained_model).vocab.tags


def _swap_tags(vocab):
    vocab.tags[1], vocab.tags[2] = vocab.tags[2], vocab.tags[1]


def _rename_word(vocab):
    vocab.words[5] = "zzzz"


def _drop_char(vocab):
    vocab.chars.pop()


def _other_scheme(checkpoint):
    checkpoint["data_scheme"] = "iob1" if checkpoint["data_scheme"] != "iob1" else "iob2"


@pytest.mark.parametrize(
    "change, what",
    [
        (change_vocab(_swap_tags), "the tags differ"),
        (change_vocab(_rename_word), "the word vocabularies differ"),
        (change_vocab(_drop_char), "the character vocabularies differ"),
        (_other_scheme, "the output tag scheme differs"),
    ],
)
def test_mismatched_models_give_a_one_line_error(trained_model, tmp_path, change, what):
    other = write_changed(trained_model, tmp_path / "other.pt", change)
    with pytest.raises(ModelFileError) as caught:
        load_ensemble([trained_model, other])
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{other}: cannot be combined with {trained_model}: {what}")


def test_no_models_is_an_error():
    with pytest.raises(ModelFileError, match="at least one"):
        load_ensemble([])


# The command line and the Python API: repeated -m, a list of paths.


def test_tag_and_evaluate_take_several_models(trained_model, perturbed_model, tiny_dir, cli_env):
    from tests.helpers import run_cli

    text = "John Smith lives in Paris .\nAcme Corp hired Mary .\n"
    alone = run_cli("tag", "-m", trained_model, "--input", "tokens", input=text)
    doubled = run_cli("tag", "-m", trained_model, "-m", trained_model, "--input", "tokens", input=text)
    assert alone.exit_code == doubled.exit_code == 0
    assert doubled.stdout == alone.stdout  # a model averaged with itself is that model
    pair = run_cli("evaluate", tiny_dir / "test.txt", "-m", trained_model, "-m", perturbed_model, "--format", "json")
    assert pair.exit_code == 0, pair.stderr
    assert " + " in json.loads(pair.stdout)["model"]


def test_mismatched_models_on_the_command_line_are_one_line(trained_model, tmp_path, cli_env):
    from tests.helpers import one_line_error, run_cli

    other = write_changed(trained_model, tmp_path / "other.pt", change_vocab(_swap_tags))
    result = run_cli("tag", "-m", trained_model, "-m", other, "--input", "tokens", input="John lives in Paris\n")
    one_line_error(result, "cannot be combined with")


def test_the_python_api_takes_a_list_of_models(trained_model, perturbed_model):
    import pickle

    from tagger import Tagger

    one = Tagger.load(trained_model)
    pair = Tagger.load([trained_model, perturbed_model])
    again = pickle.loads(pickle.dumps(pair))
    text = "Angela Merkel met John Smith in Berlin ."
    assert [e.type for e in Tagger.load([trained_model, trained_model])(text).entities] == [
        e.type for e in one(text).entities
    ]
    assert again(text).to_dict() == pair(text).to_dict()
