"""Errors a user can cause: one line naming the file and line, and the exit status the CLI gives them; a package
to install: the README's own command for the extra that brings it."""

from __future__ import annotations

import pickle
import re

import pytest

from tagger.errors import DataError, MissingExtra, ModelFileError, TaggerError, counted, install_command
from tests.helpers import ROOT

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")


def test_the_message_names_the_file_and_line_when_known():
    assert str(DataError("bad tag 'X'", "train.txt", 12)) == "train.txt:12: bad tag 'X'"
    assert str(ModelFileError("not a model file", "m.pt")) == "m.pt: not a model file"
    assert str(TaggerError("--lr must be positive")) == "--lr must be positive"


def test_counts_in_messages_are_singular_for_one():
    assert [counted(n, "column") for n in (0, 1, 2, 12000)] == ["0 columns", "1 column", "2 columns", "12000 columns"]
    assert counted(1, "entry", "entries") == "1 entry" and counted(3, "entry", "entries") == "3 entries"


def test_user_errors_are_status_2_and_subclasses_of_tagger_error():
    for error in (TaggerError("x"), DataError("x"), ModelFileError("x")):
        assert isinstance(error, TaggerError)
        assert error.exit_code == 2


# Install hints. The registry's project called ``tagger`` is another one, and pip without constraints.txt pulls a
# multi-GB CUDA torch: every hint says the README's command from the checkout, with the extra that brings the package.

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
EXTRAS = set(PYPROJECT["project"]["optional-dependencies"])
COMMAND = re.compile(r'pip install -c constraints\.txt -e "\.\[([\w,{}]+)\]"')


def test_a_missing_extra_says_the_readmes_command_for_its_extra():
    error = MissingExtra("a .pt model needs torch", "train", "m.pt", " (or use an exported .onnx model)")
    command = 'pip install -c constraints.txt -e ".[train]"'
    assert str(error) == f"m.pt: a .pt model needs torch: {command} (or use an exported .onnx model)"
    assert install_command("train") == command and command in (ROOT / "README.md").read_text(encoding="utf-8")
    assert isinstance(error, TaggerError) and error.exit_code == 2
    again = pickle.loads(pickle.dumps(error))  # out of a worker process: the same line
    assert (str(again), again.extra, again.path) == (str(error), "train", "m.pt")


def test_every_install_hint_in_the_package_names_constraints_and_an_extra_of_pyproject():
    """Messages, docstrings and comments alike: each ``pip install`` is the README's command for an extra that
    exists, and each ``MissingExtra`` names one."""
    sources = {path.relative_to(ROOT): path.read_text(encoding="utf-8") for path in (ROOT / "tagger").rglob("*.py")}
    hints = [(name, line) for name, text in sources.items() for line in re.findall(r"pip install.*", text)]
    assert hints
    assert [(name, line) for name, line in hints if not COMMAND.match(line)] == []
    named = {e for _, line in hints for extras in COMMAND.match(line).groups() for e in extras.split(",")}
    raised = {e for text in sources.values() for e in re.findall(r'MissingExtra\(\s*[^,]+,\s*["\'](\w+)["\']', text)}
    assert {"train", "serve", "plot", "evaluate"} <= raised
    assert (named | raised) - {"{extra}"} <= EXTRAS


def test_the_distribution_is_not_the_registrys_other_tagger():
    """``pip install NAME`` must one day get this project: ``tagger`` on the registry is an unrelated 2006 package.
    The import package and the command keep the name ``tagger``."""
    project = PYPROJECT["project"]
    assert project["name"] == "bilstm-crf-tagger"
    assert project["scripts"] == {"tagger": "tagger.cli:app"}
    assert PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"] == ["tagger*"]
