"""tagger/cli/export.py: `tagger export MODEL -o FILE.onnx` writes a file that `tagger tag -m FILE.onnx` tags with as
the model does, a document-context model included, and several models as one ensemble that tags as `tag -m a -m b`;
a wrong output name, a bad model file or models that cannot be combined is one line."""

from __future__ import annotations

import json

import pytest

from tests.helpers import one_line_error, run_cli


def test_export_then_tag_gives_the_models_tags(trained_model, tiny_dir, tmp_path, cli_env):
    out = tmp_path / "model.onnx"
    done = run_cli("export", trained_model, "-o", out)
    assert done.exit_code == 0, done.stderr
    assert done.stdout == "" and done.stderr.startswith(f"wrote {out}")
    want = run_cli("tag", "-m", trained_model, "--input", "tokens", tiny_dir / "test.txt")
    got = run_cli("tag", "-m", out, "--input", "tokens", tiny_dir / "test.txt")
    assert got.exit_code == 0 and got.stdout == want.stdout


def test_the_output_must_be_named_onnx(trained_model, tmp_path, cli_env):
    one_line_error(run_cli("export", trained_model, "-o", tmp_path / "model.pt"), "must end in .onnx")
    assert not (tmp_path / "model.pt").exists()


def test_a_context_model_exports_and_tags_a_file_of_documents_as_the_model_does(
    context_model, context_dir, tmp_path, cli_env
):
    out = tmp_path / "context.onnx"
    assert run_cli("export", context_model, "-o", out).exit_code == 0
    want = run_cli("tag", "-m", context_model, "--input", "conll", context_dir / "test.txt")
    got = run_cli("tag", "-m", out, "--input", "conll", context_dir / "test.txt")
    assert got.exit_code == 0 and got.stdout == want.stdout


def test_a_file_that_is_not_a_model_is_one_line(tiny_dir, tmp_path, cli_env):
    one_line_error(run_cli("export", tiny_dir / "train.txt", "-o", tmp_path / "m.onnx"), str(tiny_dir / "train.txt"))


def test_exporting_an_exported_model_says_it_is_one_already(onnx_model, tmp_path, cli_env):
    """Not "not a readable model file (damaged, or of another program)": it is a good model, to use as it is."""
    line = one_line_error(run_cli("export", onnx_model, "-o", tmp_path / "again.onnx"), str(onnx_model))
    assert line.endswith("is already an exported model (.onnx): tag, evaluate, info and serve run it as it is")
    assert not (tmp_path / "again.onnx").exists()


def test_exporting_en_news_names_its_pt_where_there_is_one(tmp_path, cli_env):
    from tagger.nn import shipped

    line = one_line_error(run_cli("export", "en-news", "-o", tmp_path / "again.onnx"), "is already an exported model")
    pt = shipped.FOLDER / "en-news.pt"
    assert line.endswith(f"; to export it again, give its .pt: {pt}") == pt.is_file()


def test_an_exported_model_in_an_ensemble_is_one_line(trained_model, tmp_path, cli_env):
    out = tmp_path / "model.onnx"
    run_cli("export", trained_model, "-o", out)
    one_line_error(run_cli("tag", "-m", out, "-m", trained_model, input="John lives here\n"), "not in an ensemble")


def test_several_models_export_as_one_ensemble_that_tags_as_the_torch_ensemble(
    trained_model, context_model, context_dir, tmp_path, cli_env
):
    out = tmp_path / "ensemble.onnx"
    assert run_cli("export", trained_model, context_model, "-o", out).exit_code == 0
    for args in ([], ["--format", "jsonl", "--scores", "entities", "--nbest", "2"]):
        want = run_cli(
            "tag", "-m", trained_model, "-m", context_model, "--input", "conll", *args, context_dir / "test.txt"
        )
        got = run_cli("tag", "-m", out, "--input", "conll", *args, context_dir / "test.txt")
        assert got.exit_code == 0, got.stderr
        for ours, theirs in zip(got.stdout.splitlines(), want.stdout.splitlines(), strict=True):
            if not args:
                assert ours == theirs
                continue
            ours, theirs = json.loads(ours), json.loads(theirs)
            assert ours["tags"] == theirs["tags"] and [n["tags"] for n in ours["nbest"]] == [
                n["tags"] for n in theirs["nbest"]
            ]
            assert [e["score"] for e in ours["entities"]] == pytest.approx(
                [e["score"] for e in theirs["entities"]], abs=1e-4
            )


def test_models_that_cannot_be_combined_are_one_line(trained_model, pos_model, tmp_path, cli_env):
    done = run_cli("export", trained_model, pos_model, "-o", tmp_path / "m.onnx")
    one_line_error(done, "cannot be combined", str(pos_model))
    assert not (tmp_path / "m.onnx").exists()


def test_a_shipped_models_description_travels_into_the_exported_file(trained_model, tmp_path, cli_env):
    import torch

    described = tmp_path / "described.pt"
    checkpoint = torch.load(trained_model, weights_only=False)
    checkpoint["about"] = {"name": "demo", "licence": "MIT, as tagger"}
    torch.save(checkpoint, described)
    out = tmp_path / "described.onnx"
    assert run_cli("export", described, "-o", out).exit_code == 0
    shown = run_cli("info", out, "--format", "json")
    assert shown.exit_code == 0, shown.stderr
    assert json.loads(shown.stdout)["about"] == {"name": "demo", "licence": "MIT, as tagger"}


def test_without_onnx_export_says_what_to_install(trained_model, tmp_path, cli_env, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "onnx", None)  # as if the onnx package were not installed
    line = one_line_error(run_cli("export", trained_model, "-o", tmp_path / "m.onnx"))
    assert line == 'tagger: error: export needs the onnx package: pip install -c constraints.txt -e ".[train]"'
    assert not (tmp_path / "m.onnx").exists()
