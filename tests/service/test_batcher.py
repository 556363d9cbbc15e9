"""The batcher with stand-in models: requests that come together share a call; one bad request fails alone."""

from __future__ import annotations

import asyncio
import threading

import pytest

from tagger.cli import main as cli
from tagger.service.batcher import Batcher
from tagger.service.model import Job, Options
from tests.helpers import one_line_error, run_cli


class Echo:
    """A stand-in model: answers each text with itself, and keeps the batches it was called with."""

    def __init__(self, fail_on: str | None = None):
        self.calls: list[list[str]] = []
        self.threads: set[str] = set()
        self.fail_on = fail_on

    def tag(self, jobs):
        self.threads.add(threading.current_thread().name)
        texts = [text for job in jobs for text in job.items]
        self.calls.append(texts)
        if self.fail_on in texts:
            raise ValueError("cannot tag that")
        return [[[text.upper()] for text in job.items] for job in jobs]


def _run(model, jobs, **options):
    async def main():
        batcher = Batcher(model, **options)
        await batcher.start()
        try:
            return await asyncio.gather(*(batcher.submit(job) for job in jobs), return_exceptions=True)
        finally:
            await batcher.stop()

    return asyncio.run(main())


def test_requests_that_arrive_together_share_one_call_off_the_event_loop():
    model = Echo()
    answers = _run(model, [Job("text", [f"t{i}"]) for i in range(50)], max_wait=0.05)
    assert answers == [[[f"T{i}"]] for i in range(50)]
    assert len(model.calls) <= 2
    assert all(name.startswith("tagger-network") for name in model.threads)


def test_a_batch_holds_at_most_max_lines_and_one_set_of_options():
    model = Echo()
    jobs = [Job("text", [f"t{i}"], lines=2) for i in range(10)] + [Job("text", ["s"], Options("entities"))]
    answers = _run(model, jobs, max_wait=0.05, max_lines=6)
    assert answers[-1] == [["S"]]
    assert max(len(call) for call in model.calls) == 3
    assert ["s"] in model.calls


def test_a_request_that_fails_the_model_fails_alone():
    model = Echo(fail_on="bad")
    answers = _run(model, [Job("text", ["a"]), Job("text", ["bad"]), Job("text", ["b"])], max_wait=0.05)
    assert answers[0] == [["A"]] and answers[2] == [["B"]]
    assert isinstance(answers[1], ValueError)


def test_serve_without_the_extra_says_what_to_install(monkeypatch):
    monkeypatch.setitem(cli.DEBUG, "on", False)
    monkeypatch.setitem(__import__("sys").modules, "tagger.service.app", None)  # as if starlette were missing
    result = run_cli("serve", "--port", "8999")
    one_line_error(result, 'tagger serve needs the serve extra: pip install -c constraints.txt -e ".[serve]"')


@pytest.mark.parametrize("args", [["--port", "0"], ["--port", "70000"], ["--max-wait-ms", "-1"]])
def test_serve_refuses_bad_option_values(args):
    result = run_cli("serve", *args)
    assert result.exit_code == 2
