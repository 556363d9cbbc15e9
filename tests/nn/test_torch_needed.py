"""Without torch (the tagging-only install), whatever needs it says in one line what to install, status 2, and the
API raises ``MissingExtra`` (a ``TaggerError``) with the same line; an exported model still tags.

Torch is taken away by a ``None`` in ``sys.modules`` (``import torch`` then fails, and the check finds nothing),
and in a fresh process by a finder that refuses it, never by uninstalling it."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tagger.errors import MissingExtra, TaggerError
from tagger.nn.export import export_model
from tagger.nn.model_file import load_model
from tagger.nn.torch_needed import has_torch, require_torch
from tests.helpers import ROOT, one_line_error, run_cli

INSTALL = 'needs torch: pip install -c constraints.txt -e ".[train]"'
SENTENCE = "John Smith lives in Paris .\n"


@pytest.fixture
def no_torch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)


@pytest.fixture(scope="module")
def onnx_model(trained_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("exported") / "model.onnx"
    export_model(load_model(trained_model), path)
    return path


def test_with_torch_nothing_is_said():
    assert has_torch()
    require_torch("training")


def test_without_torch_the_check_says_what_to_install(no_torch):
    assert not has_torch()
    with pytest.raises(MissingExtra) as raised:
        require_torch("training")
    assert str(raised.value) == f"training {INSTALL}"
    assert isinstance(raised.value, TaggerError) and raised.value.exit_code == 2


def test_torch_without_pytorch_crf_says_what_to_install(monkeypatch):
    """torch installed by hand without the train extra's pytorch-crf (the CRF layer): the same line, not a traceback
    at the first .pt model."""
    monkeypatch.setitem(sys.modules, "torchcrf", None)
    assert not has_torch()
    with pytest.raises(MissingExtra, match=re.escape(INSTALL)):
        require_torch("training")


@pytest.mark.usefixtures("cli_env", "no_torch")
@pytest.mark.parametrize(
    ("command", "said"),
    [
        (["train", "{data}", "-m", "{tmp}/m.pt"], f"tagger: error: training {INSTALL}"),
        (["export", "{pt}", "-o", "{tmp}/m.onnx"], f"tagger: error: export {INSTALL}"),
        (["tag", "-m", "{pt}"], f"tagger: error: {{pt}}: a .pt model {INSTALL} (or use an exported .onnx"),
        (["tag"], "tagger: error: {default}: a .pt model"),  # the model train wrote at the default path
        (
            ["tag", "-m", "{pt}", "--jobs", "2", "--input", "conll", "{data}/test.txt"],
            f"tagger: error: {{pt}}: a .pt model {INSTALL}",
        ),
        (["evaluate", "{data}/test.txt", "-m", "{pt}"], f"tagger: error: {{pt}}: a .pt model {INSTALL}"),
        (["info", "{pt}"], f"tagger: error: {{pt}}: a .pt model {INSTALL}"),
        (["tag", "--device", "cuda", "-m", "{pt}"], f"tagger: error: --device cuda {INSTALL}"),
    ],
)
def test_each_command_that_needs_torch_says_what_to_install(
    command, said, trained_model, tiny_dir, tmp_path, monkeypatch
):
    default = tmp_path / "share" / "tagger" / "model.pt"
    default.parent.mkdir(parents=True)
    default.write_bytes(trained_model.read_bytes())
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "share"))
    names = {"data": tiny_dir, "tmp": tmp_path, "pt": trained_model, "default": default}
    result = run_cli(*(c.format(**names) for c in command), input=SENTENCE)
    if command == ["tag"]:  # it names the model it uses first, then fails on it
        assert result.exit_code == 2 and result.stderr.startswith(f"tagger: using the model at {default} ")
        line = result.stderr.splitlines()[-1]
    else:
        line = one_line_error(result)
    assert line.startswith(said.format(**names)), line
    if "a .pt model" in said:  # the way out that needs no install: the shipped exported model
        assert line.endswith("(or use an exported .onnx model, which needs none, such as the shipped one: -m en-news)")
    assert not (tmp_path / "m.pt").exists() and not (tmp_path / "m.onnx").exists()


@pytest.mark.usefixtures("no_torch")
def test_the_api_raises_the_same_line(trained_model, tiny_dir, tmp_path):
    import tagger
    from tagger import Tagger

    with pytest.raises(MissingExtra, match=re.escape(f"model.pt: a .pt model {INSTALL}")):
        Tagger.load(trained_model)
    with pytest.raises(MissingExtra, match=re.escape(f"training {INSTALL}")):
        tagger.train(tiny_dir, model=tmp_path / "m.pt", epochs=1)
    with pytest.raises(MissingExtra, match=re.escape(INSTALL)):
        Tagger.from_checkpoint({})
    with pytest.raises(MissingExtra, match=re.escape(INSTALL)):
        tagger.evaluate(tiny_dir / "test.txt", trained_model)


@pytest.mark.usefixtures("cli_env", "no_torch")
def test_an_exported_model_tags_evaluates_and_tells_about_itself_without_torch(onnx_model, tiny_dir):
    from tagger import Tagger

    tagged = run_cli("tag", "-m", onnx_model, "--format", "inline", input=SENTENCE)
    assert tagged.exit_code == 0 and tagged.stdout == "[PER John Smith] lives in [LOC Paris] .\n", tagged.output
    assert run_cli("evaluate", tiny_dir / "test.txt", "-m", onnx_model).exit_code == 0
    assert Tagger.load(onnx_model)("John Smith lives in Paris.").entities
    info = run_cli("info", onnx_model)
    assert info.exit_code == 0 and "parameters" in info.stdout and "PER" in info.stdout, info.output


BLOCKED = """
import sys
class Refuse:  # as if torch and seqeval were not installed
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "seqeval", "torchcrf", "onnx"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, Refuse())
sys.argv[0] = "tagger"
from tagger.cli import main
main.app(sys.argv[1:])
"""


@pytest.mark.slow
def test_in_a_process_without_torch_commands_say_their_line_and_exported_models_work(
    trained_model, onnx_model, tiny_dir, tmp_path
):
    def tagger(*args, input=None):
        command = [sys.executable, "-c", BLOCKED, *map(str, args)]
        return subprocess.run(command, cwd=ROOT, input=input, capture_output=True, text=True, timeout=300)

    done = tagger("train", tiny_dir, "-m", tmp_path / "m.pt")
    assert (done.returncode, done.stderr) == (2, f"tagger: error: training {INSTALL}\n")
    done = tagger("serve", "-m", trained_model)  # the serve extra is here; a .pt model needs torch
    assert done.returncode == 2 and done.stderr.startswith(f"tagger: error: {trained_model}: a .pt model {INSTALL}")
    assert done.stderr.count("\n") == 1
    done = tagger("tag", "-m", trained_model, input=SENTENCE)
    assert done.returncode == 2 and done.stderr.startswith(f"tagger: error: {trained_model}: a .pt model {INSTALL}")
    done = tagger("tag", "-m", onnx_model, "--format", "inline", input=SENTENCE)
    assert (done.returncode, done.stdout) == (0, "[PER John Smith] lives in [LOC Paris] .\n"), done.stderr
    done = tagger("evaluate", tiny_dir / "test.txt", "-m", onnx_model, "--format", "json")  # without its extra
    said = 'tagger: error: entity scores need seqeval: pip install -c constraints.txt -e ".[evaluate]"\n'
    assert (done.returncode, done.stderr, done.stdout) == (2, said, "")
