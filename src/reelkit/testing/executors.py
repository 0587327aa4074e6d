"""Executors for testing jobs of independent tasks (shipped: a job of your own can be checked the same way).

* :class:`ReverseExecutor` runs the tasks last first, as a pool may finish them, and returns the results in
  task order: a job whose results depend on the order its tasks run in gives other results under it.
* :class:`ElsewhereExecutor` runs each task in another working folder, as a cluster's worker does: a path a
  task carries relative to the caller's folder names nothing (or something else) there.
* :class:`RecordingExecutor` runs in this process and records each ``map`` (the worker count its factory was
  given, the description, the number of tasks) in :data:`MAPS`; :func:`recording_executor` and
  :func:`recording_executor_of_no_arguments` are factories for ``REELKIT_EXECUTOR``
  (``reelkit.testing.executors:recording_executor``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

from reelkit.executor import SerialExecutor
from reelkit.progress import SILENT, Progress

__all__ = [
    "MAPS",
    "ElsewhereExecutor",
    "RecordingExecutor",
    "ReverseExecutor",
    "recording_executor",
    "recording_executor_of_no_arguments",
]

T = TypeVar("T")
R = TypeVar("R")

#: (workers the factory was given, description, number of tasks) of each map of a RecordingExecutor
MAPS: list[tuple[int | None, str, int]] = []


class ReverseExecutor:
    """Runs the tasks last first and returns the results in task order; ``calls`` records each map's
    description and number of tasks."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def map(
        self,
        fn: Callable[[T], R],
        tasks: Iterable[T],
        *,
        progress: Progress = SILENT,
        description: str = "working",
    ) -> list[R]:
        items = list(tasks)
        self.calls.append((description, len(items)))
        out: list[R | None] = [None] * len(items)
        with progress.task(description, total=len(items)) as bar:
            for i in reversed(range(len(items))):
                out[i] = fn(items[i])
                bar.advance()
        return out  # type: ignore[return-value]


class RecordingExecutor(SerialExecutor):
    """Runs in this process, recording each map in :data:`MAPS`."""

    def __init__(self, workers: int | None) -> None:
        self.workers = workers

    def map(
        self,
        fn: Callable[[T], R],
        tasks: Iterable[T],
        *,
        progress: Progress = SILENT,
        description: str = "working",
    ) -> list[R]:
        items = list(tasks)
        MAPS.append((self.workers, description, len(items)))
        return super().map(fn, items, progress=progress, description=description)


class ElsewhereExecutor(SerialExecutor):
    """Runs each task in this process with ``folder`` as the working folder (restored after each task)."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder)

    def map(
        self,
        fn: Callable[[T], R],
        tasks: Iterable[T],
        *,
        progress: Progress = SILENT,
        description: str = "working",
    ) -> list[R]:
        here = os.getcwd()

        def elsewhere(item: T) -> R:
            os.chdir(self.folder)
            try:
                return fn(item)
            finally:
                os.chdir(here)

        return super().map(elsewhere, tasks, progress=progress, description=description)


def recording_executor(workers: int) -> RecordingExecutor:
    """A ``REELKIT_EXECUTOR`` factory given the worker count."""
    return RecordingExecutor(workers)


def recording_executor_of_no_arguments() -> RecordingExecutor:
    """A ``REELKIT_EXECUTOR`` factory of no arguments."""
    return RecordingExecutor(None)
