"""Signals sent to a running ``tagger tag`` and the processes of its group (the --jobs and window tests)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from time import monotonic, sleep

from tests.helpers import ROOT


def big_text(path: Path, tokens: int = 1_000_000) -> Path:
    """A raw text file of about ``tokens`` tokens, a sentence a line: tagging it takes a while."""
    line = "Mary lives in Paris and John Smith works for Google in Berlin .\n"
    path.write_text(line * (tokens // 13), encoding="utf-8")
    return path


def group_processes(group: int) -> list[tuple[int, int, str]]:
    """(pid, parent pid, command line) of each process in the process group ``group`` (one that has exited and
    waits to be reaped, a zombie, is not)."""
    shown = subprocess.run(["ps", "-ww", "-e", "-o", "pid=,ppid=,pgid=,stat=,args="], capture_output=True, text=True)
    found = [line.split(None, 4) for line in shown.stdout.splitlines()]
    alive = [(pid, ppid, pgid, args) for pid, ppid, pgid, stat, args in found if not stat.startswith("Z")]
    return [(int(pid), int(ppid), args) for pid, ppid, pgid, args in alive if int(pgid) == group]


def kill_while_tagging(args, pick=None, signum: int = signal.SIGKILL) -> tuple[int, float, str, list]:
    """Run ``python cli.py tag ARGS`` in a process group of its own; once output has come, send ``signum`` to
    the process that ``pick(pid of the tagger, group_processes(...))`` gives first (none until it has started),
    or without ``pick`` to the whole group (as a terminal's Ctrl-C does). Returns the exit status, the seconds
    from the signal to the exit, stderr, and the processes of the group left a second after the exit."""
    proc = subprocess.Popen(
        [sys.executable, "cli.py", "tag", *map(str, args)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        assert proc.stdout.read(1000), "no output"
        if pick is None:
            os.killpg(proc.pid, signum)
        else:
            deadline = monotonic() + 30
            while (victim := next(iter(pick(proc.pid, group_processes(proc.pid))), None)) is None:
                assert monotonic() < deadline, group_processes(proc.pid)
                sleep(0.1)  # not started yet
            os.kill(victim, signum)
        killed = monotonic()
        drain = threading.Thread(target=proc.stdout.read, daemon=True)  # held open by a process left: not awaited
        drain.start()
        code = proc.wait(60)
        took = monotonic() - killed
        sleep(1)
        return code, took, proc.stderr.read().decode(), group_processes(proc.pid)
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid, _, _ in group_processes(proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
