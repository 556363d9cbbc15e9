"""How a command ends: one line on stderr for every failure, and an exit status that says which kind
(``EXIT_STATUSES``): ``tagger: error: ...`` for a ``TaggerError`` or bad usage, ``tagger: internal error: ...``
for a bug.
"""

from __future__ import annotations

import errno
import os
import sys
import traceback
from difflib import get_close_matches

import typer
from typer.core import TyperGroup

from tagger.data.output import CheckedOutput
from tagger.errors import EX_IOERR, MissingExtra, OutputError, TaggerError

# Errors that only a write gives: out of space or quota, or past the largest file allowed.
_WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)

EXIT_STATUSES = (
    (0, "success (also when the output's reader stops early, as head does)"),
    (1, "a bug in the tagger: internal error (--debug shows the traceback)"),
    (2, "bad input or usage: an option value, a data file or a model file; a package to install (torch)"),
    (EX_IOERR, "the output cannot be written (disk full, I/O error)"),
    (130, "interrupted: Ctrl-C (SIGINT); 128 + n for signal n (143: SIGTERM)"),
)

DEBUG = {"on": bool(os.environ.get("TAGGER_DEBUG"))}
DEBUG_HELP = "Show tracebacks of errors."


def exit_status_help() -> str:
    """The exit statuses as a block for --help (``\\b`` keeps the formatter from rewrapping it)."""
    rows = "\n".join(f"  {code:<4} {meaning}" for code, meaning in EXIT_STATUSES)
    return f"\b\nExit status:\n{rows}"


class UsageError(Exception):
    """Bad usage found after parsing (an option that does not apply to the chosen format): one line, status 2.

    The command-line library's own ``UsageError`` is not public API (typer vendors its own click), so the
    tagger keeps one of the same shape: ``format_message``, ``exit_code`` and the ``ctx`` that names the command."""

    exit_code = 2

    def __init__(self, message: str, ctx=None):
        super().__init__(message)
        self.ctx = ctx

    def format_message(self) -> str:
        return str(self)


class StderrError(OutputError):
    """stderr itself cannot be written (a full disk under ``2> file``): nothing more can be said, status 74."""


def err(message: str) -> None:
    try:
        typer.echo(message, err=True)
    except OSError as e:
        raise StderrError(e) from None


def _stdout_to_devnull() -> None:
    """Point stdout at /dev/null, so the flush at exit cannot fail again (a closed pipe, a full disk)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (a test's captured output)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def _close_suggestions(e: Exception) -> None:
    """Keep only the suggestions for an unknown option that are close to it without their dashes: the
    command-line library compares the names with their dashes, which every long option shares, so
    ``--foo`` was offered ``--format``."""
    name, offered = getattr(e, "option_name", None), getattr(e, "possibilities", None)
    if not name or not offered:
        return
    close = set(get_close_matches(name.lstrip("-"), [p.lstrip("-") for p in offered]))
    e.possibilities = [p for p in offered if p.lstrip("-") in close]


def _usage_error_status(e: Exception) -> int:
    _close_suggestions(e)
    ctx = getattr(e, "ctx", None)
    if type(e).__name__ == "NoArgsIsHelpError" and ctx is not None:
        err(ctx.get_help())
    else:
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        err(f"tagger: error: {e.format_message()}{hint}")
    return e.exit_code


def _bug_status(e: Exception) -> int:
    if isinstance(e, ModuleNotFoundError) and e.name == "torch":
        # A path that needs torch and did not ask first (tagger.nn.torch_needed): the install, not a bug.
        err(f"tagger: error: {MissingExtra('this needs torch', 'train')}")
        return MissingExtra.exit_code
    if isinstance(e, OSError) and e.errno in _WRITE_ERRNOS:
        # A write that failed for want of space (`tagger --help > /dev/full`): the output, not a bug.
        _stdout_to_devnull()
        err(f"tagger: error: {OutputError(e)}")
        return EX_IOERR
    if DEBUG["on"]:
        err(traceback.format_exc().rstrip("\n"))
    first = str(e).splitlines()[0] if str(e) else ""
    err(f"tagger: internal error: {type(e).__name__}: {first} (run with --debug for the traceback)")
    return 1


class OneLineErrors(TyperGroup):
    """Every failure is one line on stderr and an exit status (``EXIT_STATUSES``)."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # The reader went away (`tagger tag big.txt | head`): stop quietly with status 0
            # (caught here, before click turns it into status 1).
            _stdout_to_devnull()
            raise typer.Exit(0) from None
        except KeyboardInterrupt:
            # Ctrl-C (training handles its own, saying what was saved): said in one line here,
            # before the command-line library turns it into a silent status 130.
            err("tagger: interrupted")
            raise typer.Exit(130) from None

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        # Read --debug before the command is looked up: building a command imports its modules, and the
        # traceback of an error there is what --debug is for (the group's callback runs only after that).
        if debug_flag(sys.argv[1:] if args is None else args):
            DEBUG["on"] = True

        def run() -> int:
            rv = TyperGroup.main(self, args, prog_name or "tagger", complete_var, standalone_mode=False, **extra)
            return rv if isinstance(rv, int) else 0

        code = _finish(run)
        if standalone_mode:
            if code == 130:
                _exit_at_once(code)
            sys.exit(code)
        return code


def _exit_at_once(code: int) -> None:
    """After Ctrl-C: run the exit handlers (multiprocessing's stops the worker processes and removes
    their semaphores), then end without the interpreter's teardown of torch's modules, which can take
    over a second on a busy machine: Ctrl-C is promised to stop the tagger at once."""
    import atexit
    import multiprocessing

    # multiprocessing's exit handler joins every child it started: one that did not stop on the Ctrl-C
    # (caught between two jobs of a pool, say) would hold the exit forever. The run is over; end them first.
    for child in multiprocessing.active_children():
        child.kill()
    atexit._run_exitfuncs()  # no public way to run them early; os._exit alone would skip them
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def debug_flag(args) -> bool:
    """Whether ``--debug`` is given, before the command's name or after it (the internal-error line says "run with
    --debug", and a user adds it at the end), up to a ``--`` that ends the options."""
    args = list(args)
    return "--debug" in args[: args.index("--") if "--" in args else len(args)]


def _finish(run) -> int:
    """Run a command and write out what it printed; every failure becomes one line and a status,
    EX_IOERR when even that line cannot be written (stderr on a full disk)."""
    try:
        return _run_and_report(run)
    except StderrError:
        return EX_IOERR


def _run_and_report(run) -> int:
    try:
        try:
            code = run()
        except typer.Exit as e:
            code = e.exit_code
        # Written here, not at interpreter exit, so a full disk is reported like any other failure.
        CheckedOutput(sys.stdout).flush()
        return code
    except typer.Abort:
        err("tagger: aborted")
        return 130
    except StderrError:
        return EX_IOERR
    except TaggerError as e:
        if isinstance(e, OutputError):
            _stdout_to_devnull()
        elif DEBUG["on"]:
            traceback.print_exc()
        err(f"tagger: error: {e}")
        return e.exit_code
    except KeyboardInterrupt:
        err("tagger: interrupted")
        return 130
    except BrokenPipeError:
        # The reader went away (`tagger tag big.txt | head`): stop quietly.
        _stdout_to_devnull()
        return 0
    except Exception as e:
        is_usage_error = hasattr(e, "format_message") and hasattr(e, "exit_code")
        return _usage_error_status(e) if is_usage_error else _bug_status(e)
