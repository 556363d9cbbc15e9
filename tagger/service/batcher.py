"""Dynamic batching: requests that arrive together share one call of the model, in one worker thread.

A batch takes the oldest request and those with the same options that wait or come within ``max_wait``, up
to one window of the reading path (``max_lines``, ``max_chars``), so joining requests never changes a window
cut. A batch that fails is tagged again request by request, so one request that trips the model fails alone.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from tagger.data.chunks import WINDOW_CHARS
from tagger.data.windows import WINDOW
from tagger.service.model import Job


class Batcher:
    """Gathers jobs into batches for ``model.tag`` (any object with that call) in one worker thread."""

    def __init__(
        self,
        model,
        max_wait: float = 0.002,
        max_lines: int = WINDOW,
        max_chars: int = WINDOW_CHARS,
        on_batch: Callable[[int, int], None] | None = None,
    ):
        self.model = model
        self.max_wait = max_wait
        self.max_lines = max_lines
        self.max_chars = max_chars
        self.on_batch = on_batch or (lambda requests, lines: None)  # metrics: requests and lines per batch
        self._waiting: collections.deque[tuple[Job, asyncio.Future]] = collections.deque()
        self._arrived: asyncio.Event | None = None
        self._task: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tagger-network")

    async def start(self) -> None:
        self._arrived = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="tagger-batcher")

    async def stop(self) -> None:
        """Answer what is queued, then stop (the server has stopped taking requests)."""
        while self._waiting:
            await asyncio.sleep(0.01)
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        self._executor.shutdown(wait=True)

    async def submit(self, job: Job) -> list[list[dict]]:
        """The job's answer: per text, its sentence records."""
        future = asyncio.get_running_loop().create_future()
        self._waiting.append((job, future))
        self._arrived.set()
        return await future

    async def _run(self) -> None:
        while True:
            if not self._waiting:
                self._arrived.clear()
                await self._arrived.wait()
            batch = await self._gather()
            batch = [(job, future) for job, future in batch if not future.done()]  # a client gone: skip it
            if batch:
                self.on_batch(len(batch), sum(job.lines for job, _ in batch))
                await self._answer(batch)

    async def _gather(self) -> list[tuple[Job, asyncio.Future]]:
        """The next batch: the oldest job and those like it that wait or come within ``max_wait``."""
        first = self._waiting.popleft()
        batch, lines, chars = [first], first[0].lines, first[0].chars
        deadline = time.monotonic() + self.max_wait
        while True:
            kept: collections.deque = collections.deque()
            while self._waiting:
                job, future = item = self._waiting.popleft()
                fits = lines + job.lines <= self.max_lines and chars + job.chars <= self.max_chars
                if job.options == first[0].options and fits:
                    batch.append(item)
                    lines, chars = lines + job.lines, chars + job.chars
                else:
                    kept.append(item)
            self._waiting.extendleft(reversed(kept))
            left = deadline - time.monotonic()
            if left <= 0 or kept or lines >= self.max_lines:
                return batch
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), left)
            except asyncio.TimeoutError:
                pass

    async def _answer(self, batch: list[tuple[Job, asyncio.Future]]) -> None:
        loop = asyncio.get_running_loop()
        jobs = [job for job, _ in batch]
        try:
            answers = await loop.run_in_executor(self._executor, self.model.tag, jobs)
        except Exception as error:
            if len(batch) == 1:
                _settle(batch[0][1], error=error)
                return
            for item in batch:  # one request may have tripped the model: the others are answered alone
                await self._answer([item])
            return
        for (_, future), answer in zip(batch, answers):
            _settle(future, answer)


def _settle(future: asyncio.Future, answer=None, error: BaseException | None = None) -> None:
    if future.done():  # the request was cancelled (its client left)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(answer)
