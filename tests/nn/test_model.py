"""The network: shapes, document context, padding invariance, overfitting (the CRF's own tests are in test_crf.py;
tagging's pooling over a window is test_network.py's)."""

from __future__ import annotations

import pytest
import torch
import torchcrf

from tagger.nn.config import ModelConfig
from tagger.nn.model import CharCNN, Dropout, pool_mentions
from tagger.nn.tensors import TensorMaker
from tests.nn.helpers import SENTENCES, decode, make_model

ENCODERS = [(cell, chars) for cell in ("lstm", "gru") for chars in ("cnn", "lstm", "none")]


@pytest.mark.parametrize("cell, char_encoder", ENCODERS)
def test_emission_shapes_and_encoder_width(cell, char_encoder):
    model, vocab = make_model(cell=cell, char_encoder=char_encoder, hidden_size=7)
    model.eval()
    batch = TensorMaker(vocab).batch(SENTENCES)
    seen = {}
    model.project.register_forward_hook(lambda module, args, out: seen.update(shape=tuple(args[0].shape)))
    with torch.no_grad():
        emissions = model.emissions(batch)
    longest = max(len(s) for s in SENTENCES)
    assert tuple(emissions.shape) == (len(SENTENCES), longest, len(vocab.tags))
    assert seen["shape"] == (len(SENTENCES), longest, 2 * 7)  # forward and backward states concatenated
    assert torch.isfinite(emissions).all()
    decoded = decode(model, vocab, batch)
    assert [len(d) for d in decoded] == [len(s) for s in SENTENCES]
    assert all(0 <= t < len(vocab.tags) for d in decoded for t in d)


def brute_force_context(states, docs, keys, lengths):
    """document_context token by token: the mean of the other same-key tokens' states of the document."""
    out = torch.zeros_like(states)
    tokens = [(r, t) for r in range(len(lengths)) for t in range(int(lengths[r]))]
    for r, t in tokens:
        same = [(q, u) for q, u in tokens if docs[q] == docs[r] and keys[q, u] == keys[r, t]]
        others = [states[q, u] for q, u in same if (q, u) != (r, t)]
        if others:
            out[r, t] = torch.stack(others).mean(dim=0)
    return out


def test_document_context_is_the_mean_of_the_other_mentions_in_the_document():
    torch.manual_seed(0)
    lengths = torch.tensor([5, 3, 4, 2])
    docs = torch.tensor([0, 1, 0, 1])
    keys = torch.randint(1, 4, (4, 5)).masked_fill(torch.arange(5) >= lengths.unsqueeze(1), 0)
    states = torch.randn(4, 5, 6)
    mask = torch.arange(5) < lengths.unsqueeze(1)
    found = pool_mentions(states[mask], docs.unsqueeze(1).expand(4, 5)[mask], keys[mask])
    assert torch.allclose(found, brute_force_context(states, docs, keys, lengths)[mask], atol=1e-6)


def test_a_tokens_context_depends_only_on_its_own_documents_mentions():
    model, vocab = make_model(context="document")
    model.eval()
    maker = TensorMaker(vocab, context=True)
    ours = [["John", "Smith", "lives", "in", "Paris", "."], ["Acme", "hired", "John"]]
    theirs = [["Paris", "John", "John"], ["ok", "Paris"]]
    with torch.no_grad():
        alone = model.emissions(maker.batch(ours, docs=[0, 0]))
        beside = model.emissions(maker.batch(ours + theirs, docs=[0, 0, 1, 1]))[:2, : alone.shape[1]]
        apart = model.emissions(maker.batch(ours, docs=[0, 1]))  # the two sentences in documents of their own
    mask = maker.batch(ours).mask
    assert torch.allclose(alone[mask], beside[mask], atol=1e-5)
    assert not torch.allclose(alone[0, 0], apart[0, 0])  # "John" has another mention in its document
    assert torch.allclose(alone[0, 1], apart[0, 1], atol=1e-6)  # "Smith" has none either way: zeros
    with pytest.raises(ValueError, match="needs batches with docs and keys"):
        model.emissions(TensorMaker(vocab).batch(ours))


def test_context_model_trains_with_gradients_through_the_pooled_states():
    model, vocab = make_model(context="document")
    tags = [[i % len(vocab.tags) for i in range(len(s))] for s in SENTENCES]
    loss = model.loss(TensorMaker(vocab, context=True).batch(SENTENCES, tags, docs=[0] * len(SENTENCES)))
    loss.backward()
    assert torch.isfinite(loss) and model.project.weight.shape[1] == 4 * model.config.hidden_size
    assert model.project.weight.grad[:, 2 * model.config.hidden_size :].abs().sum() > 0


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_two_layers(cell):
    model, vocab = make_model(cell=cell, layers=2, hidden_size=4)
    model.eval()
    with torch.no_grad():
        emissions = model.emissions(TensorMaker(vocab).batch(SENTENCES[:2]))
    assert tuple(emissions.shape) == (2, 6, len(vocab.tags))


def test_loss_is_a_finite_positive_scalar_with_gradients():
    model, vocab = make_model()
    tags = [[i % len(vocab.tags) for i in range(len(s))] for s in SENTENCES]
    loss = model.loss(TensorMaker(vocab).batch(SENTENCES, tags))
    assert loss.dim() == 0 and torch.isfinite(loss) and loss.item() > 0
    loss.backward()
    assert model.word_embed.weight.grad is not None


def test_loss_is_pytorch_crfs_mean_negative_log_likelihood():
    """The model's loss is -torchcrf.CRF(...)(emissions, tags, mask, reduction="mean") on the model's CRF
    parameters, values and gradients."""
    model, vocab = make_model()
    reference = torchcrf.CRF(len(vocab.tags), batch_first=True)
    reference.load_state_dict(model.crf.state_dict())
    tags = [[(3 * i + 1) % len(vocab.tags) for i in range(len(s))] for s in SENTENCES]
    batch = TensorMaker(vocab).batch(SENTENCES, tags)
    torch.manual_seed(5)  # the same dropout masks for both
    loss = model.loss(batch)
    torch.manual_seed(5)
    expected = -reference(model.emissions(batch), batch.tags, batch.mask, reduction="mean")
    assert torch.equal(loss, expected)
    own = torch.autograd.grad(loss, [model.crf.transitions, model.project.weight])
    theirs = torch.autograd.grad(expected, [reference.transitions, model.project.weight])
    for a, b in zip(own, theirs, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("cell, char_encoder", ENCODERS)
def test_padding_invariance(cell, char_encoder):
    """In eval mode a sentence gets the same scores and tags alone as in a batch with longer sentences."""
    model, vocab = make_model(cell=cell, char_encoder=char_encoder, layers=2)
    # Random CRF transitions, so decoding depends on them too.
    with torch.no_grad():
        for p in (model.crf.transitions, model.crf.start_transitions, model.crf.end_transitions):
            p.normal_(0, 1)
    model.eval()
    maker = TensorMaker(vocab)
    batch = maker.batch(SENTENCES)
    with torch.no_grad():
        together = model.emissions(batch)
        together_tags = decode(model, vocab, batch)
        for i, sentence in enumerate(SENTENCES):
            alone_batch = maker.batch([sentence])
            alone = model.emissions(alone_batch)
            assert torch.allclose(together[i, : len(sentence)], alone[0], atol=1e-5), i
            assert together_tags[i] == decode(model, vocab, alone_batch)[0], i
        # Also the other way round: the order of sentences in a batch does not matter.
        reordered = model.emissions(maker.batch(SENTENCES[::-1]))
    for i, sentence in enumerate(SENTENCES[::-1]):
        j = len(SENTENCES) - 1 - i
        assert torch.allclose(reordered[i, : len(sentence)], together[j, : len(sentence)], atol=1e-5)


def test_dropout_is_on_in_training_and_off_in_eval():
    model, vocab = make_model(dropout=0.5)
    batch = TensorMaker(vocab).batch(SENTENCES)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model.emissions(batch), model.emissions(batch))
        model.train()
        assert not torch.equal(model.emissions(batch), model.emissions(batch))


@pytest.mark.parametrize("locked", [False, True])
def test_dropout_masks_per_token_or_per_sentence(locked):
    torch.manual_seed(0)
    dropout = Dropout(0.5, locked=locked)
    x = torch.ones(4, 7, 300)  # shape: (batch, time, features)
    y = dropout(x)
    kept = y != 0  # shape: (batch, time, features)
    assert set(y.unique().tolist()) == {0.0, 2.0}  # kept values scaled by 1 / (1 - p)
    assert 0.4 < kept.float().mean() < 0.6
    same_over_time = bool((kept == kept[:, :1]).all())
    assert same_over_time == locked  # locked: one mask per sentence, shared by its tokens
    assert not torch.equal(kept[0], kept[1])  # each sentence draws its own mask
    dropout.eval()
    assert torch.equal(dropout(x), x)


def test_model_config_rejects_bad_values():
    with pytest.raises(ValueError, match="cell"):
        ModelConfig(cell="rnn")
    with pytest.raises(ValueError, match="char encoder"):
        ModelConfig(char_encoder="transformer")
    with pytest.raises(ValueError, match="hidden_size"):
        ModelConfig(hidden_size=0)
    with pytest.raises(ValueError, match="dropout"):
        ModelConfig(dropout=1.0)
    with pytest.raises(ValueError, match="char_kernel"):
        ModelConfig(char_kernel=4)
    with pytest.raises(ValueError, match="temperature must be above 0, got -1"):
        ModelConfig(temperature=-1.0)
    old_file = ModelConfig().to_dict()
    del old_file["temperature"]  # a model file from before temperatures: probabilities as the CRF gives them
    assert ModelConfig.from_dict(old_file).temperature == 1.0
    assert ModelConfig.from_dict({**ModelConfig(hidden_size=3).to_dict(), "unknown": 1}).hidden_size == 3


@pytest.mark.parametrize("kernel", [1, 3, 5])
def test_char_cnn_equals_a_masked_conv1d_over_the_padded_forms(kernel):
    torch.manual_seed(kernel)
    cnn = CharCNN(num_chars=20, dim=6, filters=7, kernel=kernel)
    lengths = torch.tensor([1, 9, 4, 2, 9, 3])
    chars = torch.randint(1, 20, (6, 9)).masked_fill(torch.arange(9) >= lengths.unsqueeze(1), 0)

    def reference(chars: torch.Tensor) -> torch.Tensor:
        x = cnn.conv(cnn.embed(chars).transpose(1, 2))  # shape: (forms, filters, chars)
        return x.masked_fill((chars == 0).unsqueeze(1), float("-inf")).max(dim=2).values

    ours, theirs = cnn(chars), reference(chars)
    assert ours.shape == (6, 7)
    torch.testing.assert_close(ours, theirs)
    grads = [torch.autograd.grad(out.square().sum(), list(cnn.parameters())) for out in (ours, theirs)]
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a, b)
    # A form's features do not depend on its neighbours.
    torch.testing.assert_close(cnn(chars[2:3, :4]), ours[2:3])


# Learning


OVERFIT_DATA = """\
John B-PER
Smith I-PER
lives O
in O
Paris B-LOC
. O

Acme B-ORG
hired O
Mary B-PER
yesterday O

The O
United B-ORG
Nations I-ORG
met O
in O
New B-LOC
York I-LOC

Paris B-PER
visited O
Berlin B-LOC
and O
John B-LOC
"""


@pytest.mark.slow
def test_overfits_a_tiny_data_set(tmp_path):
    from tagger.nn.config import TrainConfig
    from tagger.training.evaluation import evaluate
    from tagger.training.loop import train

    data = tmp_path / "tiny.txt"
    data.write_text(OVERFIT_DATA, encoding="utf-8")
    model_path = tmp_path / "model.pt"
    result = train(
        data,
        model_path,
        dev_file=data,
        model_config=ModelConfig(word_dim=16, char_dim=8, char_size=8, hidden_size=16, dropout=0.0),
        config=TrainConfig(epochs=25, batch_size=2, optimizer="adam", lr=0.02, word_dropout=0.0, patience=0, seed=1),
    )
    assert result["dev"]["f1"] == 1.0
    scores = evaluate(data, model_path)
    assert scores["f1"] == 1.0
    assert scores["support"] == 9
    assert set(scores["per_type"]) == {"PER", "LOC", "ORG"}


def test_moving_average_of_the_weights():
    from tagger.training.trainer import moving_average

    update = moving_average(0.5)
    averaged, current = [torch.zeros(3)], [torch.full((3,), 10.0)]
    update(averaged, current, torch.tensor(0))  # decay min(0.5, 1 / 10): 90% of the new weights
    torch.testing.assert_close(averaged[0], torch.full((3,), 9.0))
    update(averaged, [torch.full((3,), 1.0)], torch.tensor(100))  # decay 0.5 after many updates
    torch.testing.assert_close(averaged[0], torch.full((3,), 5.0))
