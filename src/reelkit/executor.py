"""Pluggable executors for jobs made of independent tasks (encoding a catalog, simulation sweeps, training).

A job is a picklable top-level function and a list of picklable task arguments; an :class:`Executor` runs
them and returns the results in task order. The default is a local process pool; :class:`SerialExecutor`
runs in-process (tests, debugging, tiny jobs). A distributed engine (Ray, Dask, Spark) plugs in by
implementing ``map`` with the same contract.
"""

from __future__ import annotations

import contextvars
import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from typing import Any, Literal, Protocol, TypeVar

from reelkit.errors import ConfigError
from reelkit.progress import SILENT, Progress

__all__ = ["Executor", "LocalExecutor", "SerialExecutor", "available_cores"]

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

    ``workers=None`` uses every core this process may run on (its CPU affinity: a cluster job's allocation,
    not the machine's count). One worker, or a single task, runs in-process. The first failed task, or an
    interrupt, cancels the tasks not yet started and is raised; a :func:`reelkit.media.time_limit` around
    the call holds in the workers too.
    """

    def __init__(self, workers: int | None = None, kind: Literal["process", "thread"] = "process") -> None:
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
            raise ConfigError(f"workers={workers!r}: give a number of workers from 1, or None for every core")
        if kind not in ("process", "thread"):
            raise ConfigError(f"kind={kind!r}: use 'process' or 'thread'")
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
        workers = self.workers or available_cores()
        if workers <= 1 or len(items) <= 1:
            return SerialExecutor().map(fn, items, progress=progress, description=description)
        from reelkit.media import job_deadline

        deadline = job_deadline()
        pool: ProcessPoolExecutor | ThreadPoolExecutor
        if self.kind == "process":
            pool = ProcessPoolExecutor(max_workers=workers)
            # a process starts without this thread's context: the job's deadline goes with each task
            run: Callable[[T], R] = fn if deadline is None else _Bounded(fn, deadline)

            def submit(item: T) -> Future[R]:
                return pool.submit(run, item)

        else:
            pool = ThreadPoolExecutor(max_workers=workers)

            def submit(item: T) -> Future[R]:  # each task in a copy of this context (the time limit)
                return pool.submit(contextvars.copy_context().run, fn, item)

        results: list[R | None] = [None] * len(items)
        try:
            with progress.task(description, total=len(items)) as bar:
                futures: dict[Future[R], int] = {submit(item): i for i, item in enumerate(items)}
                for fut in as_completed(futures):
                    results[futures[fut]] = fut.result()
                    bar.advance()
        except Exception:
            # a failed task: the tasks not started are dropped (they all ran before the error was raised)
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        except BaseException:  # interrupted: drop what has not started and stop what runs
            # a worker process takes Ctrl-C (the terminal signals the whole group) as its task's error and
            # goes on with the next task: shut down alone, the pool ran the whole job before the exit
            running = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for proc in running:
                proc.terminate()
            raise
        pool.shutdown(wait=True)
        return results  # type: ignore[return-value]


def available_cores() -> int:
    """The cores this process may run on (its affinity where the platform has one, else the count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class _Bounded:
    """``fn`` run under the job's time limit (an absolute :func:`time.monotonic` deadline, the same clock in
    every process of the machine); picklable when ``fn`` is."""

    def __init__(self, fn: Callable[[Any], Any], deadline: float) -> None:
        self.fn = fn
        self.deadline = deadline

    def __call__(self, item: Any) -> Any:
        from reelkit.media import time_limit

        with time_limit(self.deadline - time.monotonic()):
            return self.fn(item)
