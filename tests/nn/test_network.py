"""tagger/nn/network.py: the torch backend runs a model's own layers on a window's arrays and gives what the model
gives (its emissions; with document context the scores to pool, which pooled over a window's batches give the
emissions of its states pooled over one batch, as training has them); it reads a model in memory as it is at each
call, and leaves it in the mode it was in."""

from __future__ import annotations

import numpy as np
import torch

from tagger.nn.model_file import load_model
from tagger.nn.network import TorchNetwork
from tagger.nn.tensors import TensorMaker, window_tensors
from tagger.runtime.context import window_emissions
from tests.nn.helpers import SENTENCES, make_model, run_window, window_of


def outputs(network: TorchNetwork, sentences, docs=None):
    """The window's arrays, their batches' tensors, and the network's outputs of each batch."""
    arrays = window_of(network, sentences, docs)
    return arrays, window_tensors(arrays), run_window(network, arrays)


def test_emissions_are_the_models_own(trained_model):
    loaded = load_model(trained_model)
    network = TorchNetwork(loaded.model, loaded.vocab, loaded.data_scheme, loaded.metadata)
    arrays, (buckets, batches), found = outputs(network, SENTENCES)
    with torch.inference_mode():
        table = loaded.model.form_features(buckets, arrays.forms)
        for (_, batch), (emissions, mentions) in zip(batches, found):
            assert mentions is None and emissions.dtype == np.float32
            np.testing.assert_array_equal(emissions, loaded.model.emissions(batch, table).numpy())


def test_context_scores_pooled_over_a_window_are_the_models_emissions_of_pooled_states():
    """The projection is applied before the pooling (it is linear) and the pooling runs over the window's batches:
    the scores of pooling each state over one batch of all the documents, and projecting 4 x hidden."""
    model, vocab = make_model(context="document", seed=3)
    network = TorchNetwork(model.eval(), vocab, "iob2", {})
    docs = [0, 0, 1, 1, 1]
    arrays, (_, batches), found = outputs(network, SENTENCES, docs)
    assert len(batches) == 3
    masks = [b.mask.numpy() for _, b in batches]
    keys = [np.frombuffer(b.keys, dtype=np.int64).reshape(-1, b.width) for b in arrays.batches]
    pooled = window_emissions(
        [e for e, _ in found], [m for _, m in found], masks, [np.frombuffer(b.docs, np.int64) for b in arrays.batches],
        keys,
    )  # fmt: skip
    with torch.inference_mode():
        whole = model.emissions(TensorMaker(vocab, context=True).batch(SENTENCES, docs=docs)).numpy()
    for (index, _), got in zip(batches, pooled):
        for r, i in enumerate(index):
            n = len(SENTENCES[i])
            np.testing.assert_allclose(got[r, :n], whole[i, :n], atol=1e-5)


def test_a_model_in_memory_is_read_as_it_is_and_left_in_its_mode():
    model, vocab = make_model(seed=1)
    network = TorchNetwork(model.train(), vocab, "bioes", {})
    before = network.crf[1].copy()
    _, _, first = outputs(network, SENTENCES)
    assert model.training  # put back in training mode after each call
    with torch.no_grad():
        model.crf.transitions.add_(1.0)
        model.project.bias.add_(1.0)
    assert np.allclose(network.crf[1], before + 1.0)
    _, _, again = outputs(network, SENTENCES)
    assert np.allclose(again[0][0], first[0][0] + 1.0, atol=1e-5)  # dropout is off: only the bias moved them
    assert network.allowed is not None and network.config["scheme"] == "bioes" and network.device == "cpu"
