"""tagger/runtime/model.py: an exported model loads without torch, and a bad file (missing, cut short, foreign,
of a newer format, damaged metadata) is one ModelFileError naming it."""

from __future__ import annotations

import pytest

from tagger.errors import ModelFileError
from tagger.nn.export import export_model
from tagger.nn.model_file import LoadedModel
from tagger.runtime.model import load_onnx
from tests.nn.helpers import make_model


@pytest.fixture(scope="module")
def onnx_file(tmp_path_factory):
    model, vocab = make_model()
    model.eval()
    path = tmp_path_factory.mktemp("onnx") / "model.onnx"
    return export_model(LoadedModel(model, vocab, model.config, "iob1", {"seed": 0}), path)


def rewritten(onnx_file, tmp_path, **props):
    """The exported file with some metadata values replaced (None: removed)."""
    import onnx

    graph = onnx.load(str(onnx_file))
    kept = [(p.key, p.value) for p in graph.metadata_props if p.key not in props]
    del graph.metadata_props[:]
    for key, value in kept + [(k, v) for k, v in props.items() if v is not None]:
        graph.metadata_props.add(key=key, value=value)
    path = tmp_path / "changed.onnx"
    onnx.save(graph, str(path))
    return path


def test_loads_its_vocabulary_scheme_and_crf(onnx_file):
    model = load_onnx(onnx_file)
    assert model.data_scheme == "iob1" and model.metadata == {"seed": 0}
    assert model.config["scheme"] == "bioes" and model.chars
    assert model.crf.pairs.shape == (len(model.vocab.tags), len(model.vocab.tags))
    assert model.allowed is not None and not model.allowed.pairs.all()


def test_a_missing_file_names_it(tmp_path):
    with pytest.raises(ModelFileError, match="no such model file") as found:
        load_onnx(tmp_path / "none.onnx")
    assert str(tmp_path / "none.onnx") in str(found.value)


def test_a_cut_short_file_is_one_line(onnx_file, tmp_path):
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(onnx_file.read_bytes()[: onnx_file.stat().st_size // 2])
    with pytest.raises(ModelFileError, match="not a readable ONNX model") as found:
        load_onnx(cut)
    assert "\n" not in str(found.value) and str(cut) in str(found.value)


def test_text_is_not_a_model(tmp_path):
    text = tmp_path / "notes.onnx"
    text.write_text("John NNP B-PER\n")
    with pytest.raises(ModelFileError, match="not a readable ONNX model"):
        load_onnx(text)


def test_a_foreign_onnx_model_is_refused(onnx_file, tmp_path):
    with pytest.raises(ModelFileError, match="another program"):
        load_onnx(rewritten(onnx_file, tmp_path, format=None))


def test_a_newer_format_is_refused(onnx_file, tmp_path):
    with pytest.raises(ModelFileError, match="newer tagger .format 3; this tagger reads format 2"):
        load_onnx(rewritten(onnx_file, tmp_path, format_version="3"))


@pytest.fixture(scope="module")
def context_file(tmp_path_factory):
    model, vocab = make_model(context="document")
    path = tmp_path_factory.mktemp("context") / "context.onnx"
    return export_model(LoadedModel(model.eval(), vocab, model.config, "iob2", {}), path)


def test_a_runtime_reading_format_1_refuses_a_context_model_and_reads_the_others(onnx_file, context_file, monkeypatch):
    from tagger.runtime import model

    assert load_onnx(context_file).context and not load_onnx(onnx_file).context
    monkeypatch.setattr(model, "FORMAT_VERSION", 1)  # the runtime before document context was exported
    assert not load_onnx(onnx_file).context
    with pytest.raises(ModelFileError, match="newer tagger .format 2; this tagger reads format 1") as found:
        load_onnx(context_file)
    assert "\n" not in str(found.value) and str(context_file) in str(found.value)


def test_a_context_graph_in_a_format_1_file_is_refused(context_file, tmp_path):
    with pytest.raises(ModelFileError, match="graph and its document context disagree"):
        load_onnx(rewritten(context_file, tmp_path, format_version="1"))


def test_damaged_metadata_is_one_line(onnx_file, tmp_path):
    with pytest.raises(ModelFileError, match="damaged exported model"):
        load_onnx(rewritten(onnx_file, tmp_path, vocab="{not json"))
