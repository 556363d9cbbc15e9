"""The shipped models (tagger/nn/shipped.py): found by name, used when there is no model at the default path, never
overwritten by train; and the real ready English model tags ordinary news."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
import torch

from tagger.nn import shipped
from tagger.nn.checkpoint import read_checkpoint, write_atomically
from tests.helpers import one_line_error, run_cli

pytestmark = pytest.mark.usefixtures("cli_env")

SENTENCE = "John Smith lives in Paris ."
ABOUT = {
    "name": "en-news",
    "description": "a test model",
    "licence": {"model": "MIT", "data": "made up"},
    "scores": {"dev_f1": 0.5, "test_f1": 0.25},
    "rebuild": "python bench/ready_model.py",
}


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """An empty data folder: no model at the default path."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    return tmp_path / "share"


@pytest.fixture
def folder(tmp_path, monkeypatch, trained_model, home) -> Path:
    """A shipped-models folder holding the tests' small model as en-news (with an ``about``)."""
    where = (tmp_path / "models").resolve()
    where.mkdir()
    checkpoint = read_checkpoint(trained_model)
    write_atomically(where / "en-news.pt", {**checkpoint, "about": ABOUT})
    monkeypatch.setattr(shipped, "FOLDER", where)
    return where


def test_no_model_at_the_default_path_uses_the_shipped_one_and_says_so_once(folder, home):
    result = run_cli("tag", "--format", "inline", input=SENTENCE + "\n" + SENTENCE + "\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == "[PER John Smith] lives in [LOC Paris] .\n" * 2
    notes = [line for line in result.stderr.splitlines() if "en-news" in line]
    assert notes == [
        f"tagger: no model at {home / 'tagger' / 'model.pt'}: using the ready English news model en-news "
        "(CoNLL-2003; PER, ORG, LOC, MISC); see `tagger info en-news`"
    ]


def test_a_model_at_the_default_path_is_named_in_one_line(folder, home, trained_model):
    """`train` without -m writes the default path: tag then uses that model, not en-news, and says so (issue 30)."""
    (home / "tagger").mkdir(parents=True)
    shutil.copy(trained_model, home / "tagger" / "model.pt")
    result = run_cli("tag", "--format", "inline", input=SENTENCE + "\n")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == (
        f"tagger: using the model at {home / 'tagger' / 'model.pt'} (the default path; -m en-news for the shipped one)"
    )
    assert "using the model" not in run_cli("tag", "-m", trained_model, input=SENTENCE + "\n").stderr  # chosen


def test_train_without_m_says_its_model_is_now_the_default_and_how_to_go_back(folder, home, tiny_dir, monkeypatch):
    from tagger.training import loop

    written = home / "tagger" / "model.pt"
    result = {"model": str(written), "best_epoch": 1, "epochs_run": 1, "dev": {"accuracy": 0.5}, "seconds": 1.0}
    monkeypatch.setattr(loop, "train", lambda *args, **kwargs: dict(result))
    done = run_cli("train", tiny_dir)
    assert done.exit_code == 0, done.output
    note = (
        f"tagger: {written} is now the default model: tag, evaluate, info and Tagger.load() use it when given none; "
        f"-m en-news uses the shipped en-news, and removing or renaming {written} makes it the default again"
    )
    assert done.stderr.splitlines() == [note] and note not in done.stdout  # stderr: a log, not a result
    monkeypatch.setattr(loop, "train", lambda *args, **kwargs: dict(result, model="mine.pt"))
    assert "default" not in run_cli("train", tiny_dir, "-m", "mine.pt").stderr  # -m elsewhere: nothing changes


def test_tagger_model_set_and_missing_is_an_error_not_the_shipped_model(folder, tmp_path, monkeypatch):
    monkeypatch.setenv("TAGGER_MODEL", str(tmp_path / "mine.pt"))
    one_line_error(run_cli("tag", input=SENTENCE + "\n"), "mine.pt", "no model file here", "shipped models: en-news")


def test_a_shipped_model_by_name(folder, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_cli("tag", "-m", "en-news", "--format", "inline", input=SENTENCE + "\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == "[PER John Smith] lives in [LOC Paris] .\n"
    assert "en-news" not in result.stderr  # chosen, not fallen back on: nothing to say


def test_an_existing_file_named_like_a_shipped_model_wins(folder, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("en-news").write_text("not a model\n")
    one_line_error(run_cli("tag", "-m", "en-news", input=SENTENCE + "\n"), "en-news: ", "this is a text file")


def test_an_unknown_name_names_the_shipped_models(folder, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    one_line_error(run_cli("tag", "-m", "de-news", input=SENTENCE + "\n"), "de-news: no model file here", "en-news")


def test_each_member_of_an_ensemble_resolves_by_name(folder, trained_model, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run_cli("tag", "-m", "en-news", "-m", trained_model, "--format", "inline", input=SENTENCE + "\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == "[PER John Smith] lives in [LOC Paris] .\n"


@pytest.mark.parametrize("how", ["name", "path", "new file in the folder"])
def test_train_never_writes_a_shipped_model(folder, tiny_dir, tmp_path, monkeypatch, how):
    monkeypatch.chdir(tmp_path)
    target = {"name": "en-news", "path": folder / "en-news.pt", "new file in the folder": folder / "other.pt"}[how]
    before = (folder / "en-news.pt").read_bytes()
    result = run_cli("train", tiny_dir, "-m", target, "--epochs", "1")
    line = [x for x in result.stderr.splitlines() if x.startswith("tagger: ")]
    assert result.exit_code == 2, result.output
    assert line == [
        f"tagger: error: {target}: is a model shipped with tagger and is never overwritten; give "
        "`train` another path with -m (e.g. -m my-model.pt)"
    ], result.stderr
    assert "epoch" not in result.stderr  # refused before any work
    assert (folder / "en-news.pt").read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["en-news.pt"]


def test_info_shows_what_a_shipped_model_is(folder, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    found = json.loads(run_cli("info", "en-news", "--format", "json").stdout)
    assert found["about"] == ABOUT
    assert found["path"] == str(folder / "en-news.pt")
    table = run_cli("info", "en-news").stdout
    assert "About en-news" in table and "python bench/ready_model.py" in table
    assert "dev_f1 50.00%; test_f1 25.00%" in table


def test_info_of_a_model_without_about(trained_model):
    found = json.loads(run_cli("info", trained_model, "--format", "json").stdout)
    assert found["about"] is None
    assert "About" not in run_cli("info", trained_model).stdout


def test_a_shipped_name_means_its_exported_model_where_there_is_one(
    folder, trained_model, tiny_dir, tmp_path, monkeypatch
):
    """The tagging-only install runs en-news.onnx: tag, the API, evaluate and info take it by name, or by default."""
    from tagger import Tagger, evaluate
    from tagger.nn.export import export_model
    from tagger.nn.model_file import load_model

    monkeypatch.chdir(tmp_path)
    export_model(load_model(folder / "en-news.pt"), folder / "en-news.onnx")
    assert shipped.names() == ["en-news"] and shipped.path_of("en-news") == folder / "en-news.onnx"
    assert shipped.default()[0] == folder / "en-news.onnx"
    for how in (["-m", "en-news"], []):
        result = run_cli("tag", *how, "--format", "inline", input=SENTENCE + "\n")
        assert result.exit_code == 0 and result.stdout == "[PER John Smith] lives in [LOC Paris] .\n", result.output
    assert Tagger.load("en-news").path == Tagger.load().path == folder / "en-news.onnx"
    found = json.loads(run_cli("info", "en-news", "--format", "json").stdout)
    assert (found["path"], found["format"]) == (str(folder / "en-news.onnx"), "tagger-onnx")
    pt_info = json.loads(run_cli("info", folder / "en-news.pt", "--format", "json").stdout)
    assert found["parameters"] == pt_info["parameters"]  # the count the export wrote
    torch_info = json.loads(run_cli("info", trained_model, "--format", "json").stdout)
    assert {k: found[k] for k in ("types", "tags", "dev", "history")} == {
        k: torch_info[k] for k in ("types", "tags", "dev", "history")
    }
    assert run_cli("info", "en-news").exit_code == 0
    assert evaluate(tiny_dir / "test.txt", "en-news")["model"] == str(folder / "en-news.onnx")
    (folder / "en-news.pt").unlink()  # the wheel may ship the exported model alone
    assert shipped.names() == ["en-news"] and shipped.path_of("en-news") == folder / "en-news.onnx"


def test_the_api_falls_back_on_the_shipped_model_and_logs_it(folder, caplog):
    from tagger import Tagger

    with caplog.at_level(logging.INFO, logger="tagger.api"):
        tagger = Tagger.load()
    assert tagger.path == folder / "en-news.pt"
    assert [e.text for e in tagger("John Smith lives in Paris.").entities] == ["John Smith", "Paris"]
    assert "using the ready English news model en-news" in caplog.text
    assert Tagger.load("en-news").path == folder / "en-news.pt"


def test_the_library_functions_resolve_names(folder, tiny_dir):
    from tagger import evaluate

    assert evaluate(tiny_dir / "test.txt", "en-news")["f1"] > 0.5


def test_without_shipped_models_the_default_path_is_used(tmp_path, monkeypatch, home):
    monkeypatch.setattr(shipped, "FOLDER", tmp_path / "nothing")
    assert shipped.names() == []
    assert shipped.default() == (home / "tagger" / "model.pt", None)
    one_line_error(run_cli("tag", input=SENTENCE + "\n"), "no model file here (train one with `tagger train DIR`)")


# The real ready English model, as the package ships it.


@pytest.fixture(scope="module")
def ready():
    from tagger import Tagger

    assert "en-news" in shipped.names(), "tagger/models/en-news.pt is missing (bench/ready_model.py makes it)"
    torch.set_num_threads(1)
    return Tagger.load("en-news")


def spans(tagger, text: str) -> list[tuple[str, str]]:
    return [(e.type, e.text) for e in tagger(text).entities]


def test_the_ready_model_tags_ordinary_news(ready):
    assert spans(ready, "Angela Merkel met Emmanuel Macron in Paris on Tuesday.") == [
        ("PER", "Angela Merkel"),
        ("PER", "Emmanuel Macron"),
        ("LOC", "Paris"),
    ]


def test_the_ready_model_says_what_it_is(ready):
    about = read_checkpoint(shipped.FOLDER / "en-news.pt")["about"]  # the model as trained, which export reads
    assert about["name"] == "en-news"
    assert about["scores"]["test_f1"] >= 0.905
    assert "bench/ready_model.py" in about["rebuild"]
    assert {"model", "data", "vectors"} <= set(about["licence"])
    assert (shipped.FOLDER / "README.md").is_file()
    assert shipped.path_of("en-news").stat().st_size <= 25_000_000


def test_the_ready_model_ships_in_the_form_the_tagging_only_install_runs(ready):
    """The tagging-only install (no torch) tags with en-news: by name and by default it is the exported file, with the
    same tags as the model it was exported from."""
    from tagger import Tagger

    assert shipped.path_of("en-news") == shipped.FOLDER / "en-news.onnx" and ready.path == shipped.path_of("en-news")
    torch_model = Tagger.load(shipped.FOLDER / "en-news.pt")
    text = "Angela Merkel met Emmanuel Macron in Paris on Tuesday. Shares of Siemens rose in Frankfurt."
    assert spans(ready, text) == spans(torch_model, text)
    assert shipped.path_of("en-news").stat().st_size <= 25_000_000
