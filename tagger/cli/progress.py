"""Training progress on stderr: a bar per epoch and a row per finished epoch (rich), scores in percent."""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)


class EpochReporter:
    """Prints log lines and epoch rows to stderr; shows a transient progress bar while an epoch runs."""

    def __init__(self, console: Console | None = None):
        self.console = console or Console(stderr=True, highlight=False)
        self.bar = Progress(
            TextColumn("epoch {task.fields[epoch]}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("sentences"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self.epoch_number = 0
        self.task = None
        self.header_done = False
        self.said: set[str] = set()  # the lines logged (the command does not print a warning twice)

    def __enter__(self) -> EpochReporter:
        if self.console.is_terminal:  # a bar only for people; logs and pipes get the rows alone
            self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.console.is_terminal:
            self.bar.stop()

    def hooks(self) -> dict:
        """The reporting arguments of ``training.train``, filled by this reporter."""
        return {"log": self.log, "on_epoch": self.epoch, "progress": self.progress}

    def log(self, message: str) -> None:
        self.said.add(message)
        self.console.print(message, markup=False, soft_wrap=True)

    def progress(self, total: int) -> Callable[[int], None]:
        self.epoch_number += 1
        if not self.console.is_terminal:
            return lambda n: None
        if self.task is not None:
            self.bar.remove_task(self.task)
        self.task = self.bar.add_task("train", total=total, epoch=self.epoch_number)
        task = self.task
        return lambda n: self.bar.advance(task, n)

    def epoch(self, row: dict) -> None:
        if self.task is not None:
            self.bar.remove_task(self.task)
            self.task = None
        self.epoch_number = row["epoch"]
        dev = row["dev"]
        plain = "f1" not in dev  # a plain label set's rows have dev accuracy alone
        if not self.header_done:
            measures = f"{'dev acc%':>9}" if plain else f"{'dev P%':>7} {'dev R%':>7} {'dev F1%':>8}"
            self.log(f"{'epoch':>5} {'loss':>9} {measures} {'sent/s':>7} {'seconds':>8}")
            self.header_done = True
        mark = " *" if row.get("best") else ""
        if plain:
            scores = f"{100 * dev['accuracy']:>9.2f}"
        else:
            scores = f"{100 * dev['precision']:>7.2f} {100 * dev['recall']:>7.2f} {100 * dev['f1']:>8.2f}"
        speed = f"{row['sentences_per_second']:>7.0f} {row['seconds']:>8.1f}"
        self.log(f"{row['epoch']:>5} {row['loss']:>9.3f} {scores} {speed}{mark}")
