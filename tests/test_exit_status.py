"""How a command ends: one line and a documented exit status, a full disk included."""

from __future__ import annotations

import errno
import io
import os

import pytest

from tagger.exit_status import EX_IOERR, EXIT_STATUSES, CheckedOutput, OutputError, exit_status_help


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
    from conftest import one_line_error, run_cli

    line = one_line_error(run_cli(command, typed), f"No such option: {typed}")
    if offered is None:
        assert "Possible options" not in line
    else:
        assert f"(Possible options: {offered})" in line
