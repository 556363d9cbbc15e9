"""tagger/nn/export.py: the exported graph gives the torch network's emissions on padded batches of any size, for
every encoder (LSTM and GRU, char CNN, char BiLSTM, none, pretrained extra rows), with document context (pooled
by the runtime over the window's batches) and for ensembles (one graph, mixed members), and carries what decoding
needs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tagger.data.arrays import WindowMaker
from tagger.nn.export import export_model
from tagger.nn.model_file import LoadedModel
from tagger.nn.network import TorchNetwork
from tagger.nn.tensors import window_tensors
from tagger.runtime.context import window_emissions
from tagger.runtime.model import load_onnx
from tests.nn.helpers import SENTENCES, SENTENCES_TO_TAG, make_model

ENCODERS = [("lstm", "cnn"), ("gru", "lstm"), ("lstm", "none"), ("gru", "cnn")]


def exported(tmp_path, cell: str, char_encoder: str, **config):
    """A random model, its LoadedModel and its exported onnxruntime session."""
    import onnxruntime

    model, vocab = make_model(cell=cell, char_encoder=char_encoder, **config)
    model.eval()
    loaded = LoadedModel(model, vocab, model.config, "iob2", {"note": "made in a test"})
    path = export_model(loaded, tmp_path / "model.onnx")
    return loaded, onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def feeds(loaded: LoadedModel, sentences, batch_size: int, docs=None):
    """Each batch of a window: its torch Batch, the torch backend's form features and the graph's inputs (the
    window's whole char table; with document context ``docs`` are the sentences' documents, and the inputs carry
    the batch's docs and keys)."""
    context = loaded.model.config.context == "document"
    maker = WindowMaker(loaded.vocab, batch_size, chars=loaded.model.char_encoder is not None, context=context)
    arrays = maker(sentences, docs)
    buckets, batches = window_tensors(arrays)
    width = max((b.chars.shape[1] for b in buckets), default=1)
    chars = np.zeros((max(arrays.forms, 1), width), np.int64)
    for b in buckets:
        chars[b.start : b.start + b.chars.shape[0], : b.chars.shape[1]] = b.chars.numpy()
    forms = torch_network(loaded).forms(arrays)  # each member's character features of the window's forms
    for _, batch in batches:
        names = ("words", "cases", "forms", "lengths") + (("docs", "keys") if context else ())
        feed = {k: getattr(batch, k).numpy() for k in names}
        yield batch, forms, {**feed, "chars": chars}


def torch_network(loaded: LoadedModel) -> TorchNetwork:
    return TorchNetwork(loaded.model, loaded.vocab, loaded.data_scheme, loaded.metadata)


def own_scores(exported, feed) -> np.ndarray:
    """The graph's ``emissions`` of one batch (with document context: before its mentions are pooled)."""
    return exported.session.run(["emissions"], {name: feed[name] for name in exported.inputs})[0]


def pooled_window(exported, found, masks) -> list[np.ndarray]:
    """The graph's outputs of a window's batches (``feeds``), each token's mentions pooled as the predictor pools
    them (``runtime.context``)."""
    outputs = [exported.session.run(list(exported.outputs), {n: f[n] for n in exported.inputs}) for _, _, f in found]
    return pooled(outputs, found, masks, exported.context)


def torch_pooled_window(loaded: LoadedModel, found, masks) -> list[np.ndarray]:
    """The torch backend's outputs of the same batches, pooled alike."""
    network = torch_network(loaded)
    with torch.inference_mode():
        outputs = [network.run(feed, forms) for _, forms, feed in found]
    return pooled(outputs, found, masks, network.context)


def pooled(outputs, found, masks, context: bool) -> list[np.ndarray]:
    if not context:
        return [own for own, *_ in outputs]
    docs, keys = [f["docs"] for _, _, f in found], [f["keys"] for _, _, f in found]
    return window_emissions([own for own, _ in outputs], [lent for _, lent in outputs], masks, docs, keys)


@pytest.mark.parametrize(("cell", "char_encoder"), ENCODERS)
@pytest.mark.parametrize("batch_size", [1, 5])
def test_exported_emissions_equal_torch_on_padded_batches(tmp_path, cell, char_encoder, batch_size):
    loaded, session = exported(tmp_path, cell, char_encoder)
    names = [i.name for i in session.get_inputs()]
    for batch, forms, feed in feeds(loaded, SENTENCES, batch_size):
        with torch.inference_mode():
            want = loaded.model.emissions(batch, forms[0]).numpy()  # shape: (batch, time, tags)
        got = session.run(None, {n: feed[n] for n in names})[0]
        assert got.shape == want.shape
        mask = batch.mask.numpy()
        np.testing.assert_allclose(got[mask], want[mask], atol=1e-5)


def test_pretrained_extra_rows_are_looked_up(tmp_path):
    loaded, session = exported(tmp_path, "lstm", "cnn")
    model = loaded.model
    model.config.num_extra_words = 3
    model.extra_vectors = torch.randn(3, model.config.word_dim)
    session = exported_again(tmp_path, loaded)
    words = torch.tensor([[2, model.config.num_words + 1, model.config.num_words + 2]])
    batch_words = words.numpy()
    for batch, forms, feed in feeds(loaded, [["a", "b", "c"]], 4):
        batch.words = words
        with torch.inference_mode():
            want = model.emissions(batch, forms[0]).numpy()
        feed["words"] = batch_words
        got = session.run(None, {i.name: feed[i.name] for i in session.get_inputs()})[0]
        np.testing.assert_allclose(got, want, atol=1e-5)


def exported_again(tmp_path, loaded):
    import onnxruntime

    path = export_model(loaded, tmp_path / "again.onnx")
    return onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def test_metadata_holds_vocabulary_scheme_options_and_crf(tmp_path):
    import onnx

    loaded, _ = exported(tmp_path, "lstm", "cnn")
    props = {p.key: p.value for p in onnx.load(str(tmp_path / "model.onnx")).metadata_props}
    assert props["format"] == "tagger-onnx" and props["format_version"] == "1"
    assert json.loads(props["vocab"])["tags"] == loaded.vocab.tags
    assert json.loads(props["config"]) == loaded.config.to_dict()
    assert props["data_scheme"] == "iob2" and json.loads(props["metadata"]) == {"note": "made in a test"}
    crf = loaded.model.crf
    np.testing.assert_array_equal(np.float32(json.loads(props["crf"])["pairs"]), crf.transitions.detach().numpy())
    assert json.loads(props["constraints"])["pairs"] == crf.allowed.tolist()


def test_document_context_pooled_over_the_window_equals_torch(tmp_path):
    model, vocab = make_model(context="document")
    model.eval()
    loaded = LoadedModel(model, vocab, model.config, "iob2", {})
    exported = load_onnx(export_model(loaded, tmp_path / "context.onnx"))
    assert exported.context and exported.outputs == ("emissions", "mentions")
    sentences = SENTENCES + SENTENCES_TO_TAG + SENTENCES[:2]  # documents whose words recur across batches
    for batch_size in (1, 2, 5):
        found = list(feeds(loaded, sentences, batch_size, docs=[0, 0, 0, 1, 1, 2, 2, 2, 2, 3, 3]))
        masks = [batch.mask.numpy() for batch, _, _ in found]
        want = torch_pooled_window(loaded, found, masks)  # each shape: (batch, time, tags)
        got = pooled_window(exported, found, masks)
        changed = False
        for ours, theirs, mask, (_, _, feed) in zip(got, want, masks, found):
            np.testing.assert_allclose(ours[mask], theirs[mask], atol=1e-5)
            changed |= not np.allclose(ours[mask], own_scores(exported, feed)[mask], atol=1e-3)
        assert changed  # the mentions changed some tokens' scores: the pooling was tested


def test_format_version_1_unless_the_graph_needs_pooling(tmp_path):
    import onnx

    for context, version in (("none", "1"), ("document", "2")):
        model, vocab = make_model(context=context)
        path = export_model(LoadedModel(model.eval(), vocab, model.config, "iob2", {}), tmp_path / f"{context}.onnx")
        props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
        assert props["format_version"] == version


MEMBERS = {
    "no context": [("lstm", "cnn", "none"), ("gru", "lstm", "none"), ("lstm", "none", "none")],
    "mixed context": [("gru", "lstm", "none"), ("lstm", "cnn", "document"), ("lstm", "none", "document")],
}


@pytest.mark.parametrize("kinds", MEMBERS.values(), ids=MEMBERS.keys())
def test_an_ensemble_exports_as_one_graph_with_the_torch_ensembles_scores(tmp_path, kinds):
    import onnx

    from tagger.nn.ensemble import Ensemble

    members = [make_model(cell=c, char_encoder=e, context=x, seed=i)[0].eval() for i, (c, e, x) in enumerate(kinds)]
    ensemble, vocab = Ensemble(members).eval(), make_model()[1]
    loaded = LoadedModel(ensemble, vocab, members[0].config, "iob2", {"ensemble": ["a.pt", "b.pt", "c.pt"]})
    path = export_model(loaded, tmp_path / "ensemble.onnx")
    exported = load_onnx(path)
    assert exported.context == (ensemble.config.context == "document")
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    assert props["format_version"] == ("2" if exported.context else "1")
    for ours, theirs in zip(exported.crf, zip(*(m.crf.scores() for m in members))):
        np.testing.assert_array_equal(ours, torch.stack(theirs).mean(dim=0).detach().numpy())
    for batch_size in (1, 4):
        found = list(feeds(loaded, SENTENCES + SENTENCES_TO_TAG, batch_size, docs=[0, 0, 0, 1, 1, 2, 2, 2, 2]))
        masks = [batch.mask.numpy() for batch, _, _ in found]
        want = torch_pooled_window(loaded, found, masks)  # each shape: (batch, time, tags)
        for ours, theirs, mask in zip(pooled_window(exported, found, masks), want, masks):
            np.testing.assert_allclose(ours[mask], theirs[mask], atol=1e-5)


def test_half_word_tables_stay_half_in_the_file_and_give_the_same_scores(tmp_path):
    import onnx

    from tagger.nn.model_file import HALF_TABLES

    loaded, _ = exported(tmp_path, "lstm", "cnn")
    model = loaded.model
    model.config.num_extra_words = 3
    model.extra_vectors = torch.randn(3, model.config.word_dim)
    for name, table in (("word_embed.weight", model.word_embed.weight), ("extra_vectors", model.extra_vectors)):
        assert name in HALF_TABLES
        table.data = table.data.half()
    session = exported_again(tmp_path, loaded)
    graph = onnx.load(str(tmp_path / "again.onnx"))
    sizes = {t.data_type for t in graph.graph.initializer if len(t.dims) == 2 and t.dims[1] == model.config.word_dim}
    assert onnx.TensorProto.FLOAT16 in sizes
    for batch, forms, feed in feeds(loaded, SENTENCES, 5):
        with torch.inference_mode():
            want = model.emissions(batch, forms[0]).numpy()  # shape: (batch, time, tags)
        got = session.run(None, {i.name: feed[i.name] for i in session.get_inputs()})[0]
        mask = batch.mask.numpy()
        np.testing.assert_allclose(got[mask], want[mask], atol=1e-5)
