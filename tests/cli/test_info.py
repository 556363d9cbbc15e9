"""`tagger info` (tagger.cli.info): a model file's data (tagging.info.model_info) laid out for people and as JSON."""

from __future__ import annotations

import io
import json

import pytest
import torch
from rich.console import Console

from tagger.cli.info import render_info
from tagger.data.vocabulary import Vocabulary
from tagger.nn.model_file import load_model
from tagger.tagging.info import model_info
from tests.helpers import TRAINED_EPOCHS, one_line_error, raw_checkpoint, run_cli


def show(info: dict) -> str:
    console = Console(file=io.StringIO(), width=160, color_system=None)
    console.print(render_info(info))
    return console.file.getvalue()


def test_history_is_read_when_the_file_has_it(trained_model, tmp_path, no_network):
    checkpoint = raw_checkpoint(trained_model)
    rows = [{"epoch": e, "loss": 1.0 / e, "dev": {"precision": 0.5, "recall": 0.4, "f1": 0.44}} for e in (1, 2)]
    checkpoint["metadata"]["history"] = rows
    torch.save(checkpoint, tmp_path / "m.pt")
    info = model_info(tmp_path / "m.pt")
    assert info["history"] == rows
    text = show(info)
    assert "Training history" in text and "44.00" in text


def test_a_model_file_of_format_1(trained_model, tmp_path, no_network):
    """Format 1 kept the vocabulary's words and counts as lists, and older files may lack metadata."""
    checkpoint = raw_checkpoint(trained_model)
    vocab = Vocabulary.from_dict(checkpoint["vocab"])
    checkpoint["format_version"] = 1
    checkpoint["vocab"] = {**checkpoint["vocab"], "words": list(vocab.words), "word_counts": list(vocab.word_counts)}
    del checkpoint["metadata"]
    torch.save(checkpoint, tmp_path / "old.pt")
    info = model_info(tmp_path / "old.pt")
    assert info["format_version"] == 1
    assert info["vocabulary"]["words"] == len(vocab.words) - 2
    assert info["tagger_version"] is None and info["history"] is None and info["dev"] is None
    assert "no training history" in show(info)


def test_render_info_shows_the_model(trained_model):
    info = model_info(trained_model)
    text = show(info)
    for expected in ("LOC, ORG, PER", "BIOES", "IOB2", str(trained_model), "per direction", "Scores"):
        assert expected in text
    assert f"{100 * info['test']['f1']:.2f}" in text


def test_a_path_with_brackets_is_shown_as_written(trained_model, tmp_path):
    odd = tmp_path / "[red]model.pt"  # rich markup would drop [red]
    odd.write_bytes(trained_model.read_bytes())
    assert "[red]model.pt" in show(model_info(odd))


def test_a_model_with_document_context_says_so(context_model, trained_model):
    info = model_info(context_model)
    assert info["network"]["context"] == "document"
    assert info["parameters"]["trained"] == sum(p.numel() for p in load_model(context_model).model.parameters())
    assert "dropout 0.5, document context" in show(info)
    assert "document context" not in show(model_info(trained_model))


# The command: tagger info


@pytest.mark.usefixtures("cli_env")
def test_info_json_has_every_key(trained_model):
    result = run_cli("info", trained_model, "--format", "json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert set(info) >= {
        "path", "format", "format_version", "tagger_version", "created", "tags", "types", "scheme", "data_scheme",
        "vocabulary", "embeddings", "network", "parameters", "training", "best_epoch", "dev", "test", "history",
    }  # fmt: skip
    assert info["types"] == ["LOC", "ORG", "PER"]
    assert len(info["history"]) == TRAINED_EPOCHS and 0.0 <= info["dev"]["f1"] <= 1.0


@pytest.mark.usefixtures("cli_env")
def test_info_table_names_the_model_and_draws_dev_f1(trained_model):
    result = run_cli("info", trained_model)
    assert result.exit_code == 0, result.output
    assert "LOC, ORG, PER" in result.stdout and "dev F1 per epoch" in result.stdout


@pytest.mark.usefixtures("cli_env")
def test_info_reads_the_default_model(trained_model, monkeypatch):
    monkeypatch.setenv("TAGGER_MODEL", str(trained_model))
    result = run_cli("info", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["path"] == str(trained_model)


@pytest.mark.usefixtures("cli_env", "matplotlib")
def test_info_plot_writes_a_png(trained_model, tmp_path):
    path = tmp_path / "curve.png"
    result = run_cli("info", trained_model, "--format", "json", "--plot", path)
    assert result.exit_code == 0, result.output
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(result.stdout)["best_epoch"] >= 1
    assert result.stderr.strip() == f"wrote {path}"


@pytest.mark.usefixtures("cli_env")
def test_info_plot_of_another_kind_of_file_is_a_usage_error(trained_model, tmp_path):
    one_line_error(run_cli("info", trained_model, "--plot", tmp_path / "curve.gif"), "--plot", "curve.gif")
    assert not (tmp_path / "curve.gif").exists()


@pytest.mark.usefixtures("cli_env")
def test_info_of_a_missing_model_is_one_line(tmp_path):
    one_line_error(run_cli("info", tmp_path / "nope.pt"), str(tmp_path / "nope.pt"))


def test_info_of_a_plain_label_set_shows_its_labels_and_accuracy(pos_model):
    result = run_cli("info", pos_model)
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "a plain label set" in out and "entity types" not in out
    assert "dev accuracy" in out and "dev accuracy per epoch" in out
    found = json.loads(run_cli("info", pos_model, "--format", "json").stdout)
    assert found["kind"] == "plain" and found["types"] == [] and "NNP" in found["tags"]
    assert "accuracy" in found["dev"] and found["history"][0]["dev"].keys() == {"accuracy"}


def test_info_of_an_old_model_file_is_chunk_kind():
    found = json.loads(run_cli("info", "en-news", "--format", "json").stdout)
    assert found["kind"] == "chunks" and "PER" in found["types"]


# An exported model (.onnx): the same data from its metadata, without torch


def _exported(pt, path):
    from tagger.nn.export import export_model

    return export_model(load_model(pt), path)


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize("which", ["trained_model", "context_model", "pos_model"])
def test_an_exported_models_info_is_its_pt_models(which, request, tmp_path):
    """Every key of the .pt's ``--format json``, with the same values (the weights' count written by the export)
    but for the file's own: path, size and format."""
    pt = request.getfixturevalue(which)
    onnx = _exported(pt, tmp_path / "model.onnx")
    theirs, ours = (json.loads(run_cli("info", m, "--format", "json").stdout) for m in (pt, onnx))
    own = {"path", "size_bytes", "format", "format_version"}
    assert set(ours) == set(theirs)
    assert {k: v for k, v in ours.items() if k not in own} == {k: v for k, v in theirs.items() if k not in own}
    assert ours["parameters"]["total"] > 0 and ours["history"]
    assert (ours["path"], ours["size_bytes"], ours["format"]) == (str(onnx), onnx.stat().st_size, "tagger-onnx")
    table = run_cli("info", onnx)
    assert table.exit_code == 0, table.output
    assert "exported model (ONNX) format" in table.stdout
    assert f"{ours['parameters']['trained']:,} trained" in table.stdout


def test_a_file_exported_before_the_weights_count_was_written_shows_the_rest(trained_model, tmp_path):
    import onnx

    path = _exported(trained_model, tmp_path / "model.onnx")
    graph = onnx.load(path)
    kept = [p for p in graph.metadata_props if p.key != "parameters"]
    del graph.metadata_props[:]
    graph.metadata_props.extend(kept)
    onnx.save(graph, path)
    info = model_info(path)
    assert info["parameters"] is None and info["tags"] == model_info(trained_model)["tags"]
    shown = show(info)
    assert "parameters" not in shown and "vocabulary" in shown


def test_an_exported_shipped_models_description_is_shown(trained_model, tmp_path):
    import onnx

    path = _exported(trained_model, tmp_path / "model.onnx")
    graph = onnx.load(path)
    about = {"name": "en-test", "licence": "CC BY 4.0 (the data's terms apply)"}
    graph.metadata_props.add(key="about", value=json.dumps(about))
    onnx.save(graph, path)
    info = model_info(path)
    assert info["about"] == about
    assert "CC BY 4.0 (the data's terms apply)" in show(info)


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize("damage", ["cut", "junk", "foreign", "newer"])
def test_info_of_a_damaged_exported_model_is_one_line_status_2(onnx_model, tmp_path, damage):
    import onnx

    path = tmp_path / "bad.onnx"
    data = onnx_model.read_bytes()
    if damage == "cut":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "junk":
        path.write_bytes(b"not a model at all")
    else:
        graph = onnx.load(onnx_model)
        props = {p.key: p.value for p in graph.metadata_props}
        props.update({"foreign": {"format": "someone-else"}, "newer": {"format_version": "99"}}[damage])
        del graph.metadata_props[:]
        for key, value in props.items():
            graph.metadata_props.add(key=key, value=value)
        onnx.save(graph, path)
    one_line_error(run_cli("info", path), "bad.onnx", code=2)


NO_TORCH = """
import sys
from tagger.cli import main
try:
    main.app(["info", sys.argv[1], "--format", "json"])
except SystemExit as end:
    assert end.code in (0, None), end.code
print("torch imported" if "torch" in sys.modules else "no torch")
"""


@pytest.mark.slow  # starts a process
def test_info_of_an_exported_model_never_imports_torch(onnx_model):
    import subprocess
    import sys

    from tests.helpers import ROOT

    done = subprocess.run(
        [sys.executable, "-c", NO_TORCH, str(onnx_model)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    *shown, last = done.stdout.splitlines()
    assert json.loads("\n".join(shown))["format"] == "tagger-onnx"
    assert last == "no torch"
