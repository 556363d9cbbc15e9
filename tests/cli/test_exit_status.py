"""How a command ends: one line and a documented exit status, a full disk included."""

from __future__ import annotations

import errno
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tagger.cli.exit_status import EXIT_STATUSES, debug_flag, exit_status_help
from tagger.data.output import CheckedOutput
from tagger.errors import EX_IOERR, OutputError

ROOT = Path(__file__).resolve().parents[2]


class FailingStream(io.StringIO):
    def __init__(self, error: OSError):
        super().__init__()
        self.error = error

    def write(self, text):
        raise self.error

    def flush(self):
        raise self.error


@pytest.mark.parametrize(
    ("code", "reason"),
    [(errno.ENOSPC, "no space left on device"), (errno.EIO, "input/output error")],
)
def test_a_failed_write_or_flush_is_an_output_error(code, reason):
    out = CheckedOutput(FailingStream(OSError(code, os.strerror(code))))
    for action in (lambda: out.write("x"), out.flush):
        with pytest.raises(OutputError) as info:
            action()
        assert str(info.value) == f"cannot write the output: {reason}"
        assert info.value.exit_code == EX_IOERR == 74


def test_a_closed_pipe_stays_a_broken_pipe():
    out = CheckedOutput(FailingStream(BrokenPipeError(errno.EPIPE, "Broken pipe")))
    with pytest.raises(BrokenPipeError):
        out.write("x")


def test_writes_pass_through():
    stream = io.StringIO()
    out = CheckedOutput(stream)
    assert out.write("abc") == 3
    out.flush()
    assert stream.getvalue() == "abc"
    assert out.isatty() is False  # anything else goes to the stream


def test_the_help_block_lists_every_status():
    block = exit_status_help()
    assert block.startswith("\b\nExit status:")
    for code, meaning in EXIT_STATUSES:
        assert f"  {code:<4} {meaning}" in block


FULL = Path("/dev/full")
needs_dev_full = pytest.mark.skipif(not FULL.exists(), reason="needs /dev/full")


def _cli(args: list[str], *, stdout=subprocess.PIPE, stderr=subprocess.PIPE, prelude: str = ""):
    """``cli.py ARGS`` in a real process; ``prelude`` runs first (to break an import on purpose)."""
    run = "runpy.run_path('cli.py', run_name='__main__')"
    code = f"import runpy, sys\n{prelude}\nsys.argv = ['tagger', *{args!r}]\n{run}"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, stdout=stdout, stderr=stderr, timeout=120)


@pytest.mark.slow
@needs_dev_full
@pytest.mark.parametrize("args", [["--help"], ["tag", "--help"], ["--version"]])
def test_help_and_version_to_a_full_disk_exit_with_the_output_status(args):
    with open(FULL, "w") as full:
        result = _cli(args, stdout=full)
    assert result.returncode == EX_IOERR, result.stderr
    lines = result.stderr.decode().strip().splitlines()
    assert lines == ["tagger: error: cannot write the output: no space left on device"]


@pytest.mark.slow
@needs_dev_full
def test_an_error_that_cannot_be_written_to_a_full_stderr_exits_with_the_output_status(tmp_path):
    with open(FULL, "w") as full:
        result = _cli(["info", "-m", str(tmp_path / "missing.pt")], stderr=full)
    assert result.returncode == EX_IOERR


BROKEN_IMPORT = "sys.modules['tagger.cli.info'] = None  # importing the command now fails"


@pytest.mark.slow
def test_debug_shows_the_traceback_of_an_error_raised_while_importing_the_commands():
    result = _cli(["--debug", "info"], prelude=BROKEN_IMPORT)
    stderr = result.stderr.decode()
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in stderr and 'import_module(f"tagger.cli.{name}")' in stderr
    assert stderr.strip().splitlines()[-1].startswith("tagger: internal error: ModuleNotFoundError")


@pytest.mark.slow
def test_without_debug_an_import_error_is_one_line():
    result = _cli(["info"], prelude=BROKEN_IMPORT)
    lines = result.stderr.decode().strip().splitlines()
    assert result.returncode == 1
    assert len(lines) == 1 and lines[0].startswith("tagger: internal error: ModuleNotFoundError")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--debug", "tag"], True),
        (["tag", "--debug"], True),  # where a user adds it after the internal-error line said "run with --debug"
        (["tag", "a.txt", "--debug", "-m", "m.pt"], True),
        (["--version", "--debug", "info"], True),
        (["tag", "--", "--debug"], False),  # a file named --debug
        ([], False),
    ],
)
def test_debug_is_read_before_or_after_the_command(args, expected):
    assert debug_flag(args) is expected


@pytest.mark.parametrize(
    ("typed", "command", "offered"),
    [
        ("--foo", "tag", None),  # the library offered --format: only '--' in common
        ("--out", "evaluate", None),
        ("--formt", "tag", "--format"),
        ("--epoch", "train", "--epochs"),
        ("--bach-size", "tag", "--batch-size"),
    ],
)
def test_an_unknown_option_is_offered_only_close_matches(cli_env, typed, command, offered):
    from tests.helpers import one_line_error, run_cli

    line = one_line_error(run_cli(command, typed), f"No such option: {typed}")
    if offered is None:
        assert "Possible options" not in line
    else:
        assert f"(Possible options: {offered})" in line


def test_a_torch_import_that_did_not_ask_first_says_what_to_install(capsys):
    """A path that imports torch without asking ``torch_needed`` first: the install's line, not an internal error."""
    from tagger.cli.exit_status import _run_and_report

    def run():
        raise ModuleNotFoundError("No module named 'torch'", name="torch")

    assert _run_and_report(run) == 2
    assert capsys.readouterr().err == 'tagger: error: this needs torch: pip install -c constraints.txt -e ".[train]"\n'
