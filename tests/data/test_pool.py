"""tagger.data.pool: the package's process pool: results in order, a dead process ends the run at once with its
user's error, and a run stopped early leaves no process. (Its users' own tests: tests/data/test_workers.py and
tests/tagging/test_jobs.py, with real commands, signals and fork servers.)"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import pytest

from tagger.data.pool import Pool, in_order


class Died(Exception):
    pass


def _pool(workers: int = 2) -> Pool:
    return Pool(workers, multiprocessing.get_context("spawn"), lambda processes: Died(len(processes)), "test-pool")


def _square(n: int) -> int:
    return n * n


def _sleep(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


@pytest.mark.slow  # starts processes
def test_results_come_in_order_and_the_processes_exit():
    tasks = [(n, (n,), False) for n in range(20)]
    pool = _pool()
    assert list(in_order(pool, _square, tasks, ahead=3)) == [(n, n * n) for n in range(20)]
    assert [p.name for p in pool.processes] == ["test-pool-1", "test-pool-2"][: len(pool.processes)]
    assert not [p for p in pool.processes if p.is_alive()]


@pytest.mark.slow  # starts processes, kills one
def test_a_killed_process_ends_the_run_with_the_users_error_and_none_is_left():
    pool = _pool()
    results = in_order(pool, _sleep, [(n, (0.05 if n == 0 else 30,), False) for n in range(4)], ahead=3)
    _, first = next(results)
    os.kill(first, signal.SIGKILL)
    started = time.monotonic()
    with pytest.raises(Died):
        next(results)
    assert time.monotonic() - started < 5
    assert not [p for p in pool.processes if p.is_alive()]


@pytest.mark.slow  # starts processes
def test_a_run_stopped_early_kills_its_processes_at_once():
    pool = _pool()
    results = in_order(pool, _sleep, [(n, (0.05 if n == 0 else 30,), False) for n in range(4)], ahead=3)
    next(results)
    started = time.monotonic()
    results.close()  # what a closed pipe, an error or Ctrl-C in the caller does
    assert time.monotonic() - started < 5
    assert not [p for p in pool.processes if p.is_alive()]
