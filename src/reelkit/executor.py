"""Pluggable executors for jobs made of independent tasks (encoding a catalog, simulation sweeps, training).

A job is a picklable top-level function and a list of picklable task arguments; an :class:`Executor` runs
them and returns the results in task order. The default is a local process pool; :class:`SerialExecutor`
runs in-process (tests, debugging, tiny jobs). A distributed engine (Ray, Dask, Spark) plugs in by
implementing ``map`` with the same contract.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from typing import Literal, Protocol, TypeVar

from reelkit.progress import SILENT, Progress

__all__ = ["Executor", "LocalExecutor", "SerialExecutor"]

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    """Runs ``fn`` over ``tasks`` and returns the results in task order."""

    def map(
        self,
        fn: Callable[[T], R],
        tasks: Iterable[T],
        *,
        progress: Progress = SILENT,
        description: str = "working",
    ) -> list[R]: ...


class SerialExecutor:
    """Runs every task in this process, one after another."""

    def map(
        self,
        fn: Callable[[T], R],
        tasks: Iterable[T],
        *,
        progress: Progress = SILENT,
        description: str = "working",
    ) -> list[R]:
        items = list(tasks)
        out: list[R] = []
        with progress.task(description, total=len(items)) as bar:
            for item in items:
                out.append(fn(item))
                bar.advance()
        return out


class LocalExecutor:
    """A local pool of ``workers`` processes (or threads, for tasks that wait on subprocesses such as ffmpeg).

    ``workers=None`` uses every core. One worker, or a single task, runs in-process.
    """

    def __init__(self, workers: int | None = None, kind: Literal["process", "thread"] = "process") -> None:
        self.workers = workers
        self.kind = kind

    def map(
        self,
        fn: Callable[[T], R],
        tasks: Iterable[T],
        *,
        progress: Progress = SILENT,
        description: str = "working",
    ) -> list[R]:
        items: Sequence[T] = list(tasks)
        workers = self.workers or os.cpu_count() or 1
        if workers <= 1 or len(items) <= 1:
            return SerialExecutor().map(fn, items, progress=progress, description=description)
        pool_cls = ProcessPoolExecutor if self.kind == "process" else ThreadPoolExecutor
        results: list[R | None] = [None] * len(items)
        with progress.task(description, total=len(items)) as bar, pool_cls(max_workers=workers) as pool:
            futures: dict[Future[R], int] = {pool.submit(fn, item): i for i, item in enumerate(items)}
            for fut in as_completed(futures):
                results[futures[fut]] = fut.result()
                bar.advance()
        return results  # type: ignore[return-value]
