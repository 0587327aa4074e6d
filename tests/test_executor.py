"""The executors: results in task order, a failure or an interrupt cancels what has not started, the job's
time limit reaches the workers, and bad settings are refused."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from reelkit import media
from reelkit.errors import ConfigError, TimeLimitError
from reelkit.executor import LocalExecutor, SerialExecutor, available_cores

_RAN: list[int] = []
_LOCK = threading.Lock()


def _square(x: int) -> int:
    return x * x


def _fails_first(x: int) -> int:
    with _LOCK:
        _RAN.append(x)
    if x == 0:
        raise ValueError("task 0 failed")
    time.sleep(0.4)
    return x


def _interrupted_first(x: int) -> int:
    with _LOCK:
        _RAN.append(x)
    if x == 0:
        raise KeyboardInterrupt
    time.sleep(0.4)
    return x


def _deadline(_: int) -> float | None:
    return media.job_deadline()


def _pid(_: int) -> int:
    import os

    return os.getpid()


@pytest.mark.parametrize("kind", ["process", "thread"])
def test_results_come_in_task_order(kind: str) -> None:
    tasks = list(range(12))
    assert LocalExecutor(2, kind=kind).map(_square, tasks) == SerialExecutor().map(_square, tasks)  # type: ignore[arg-type]


class _CountingProgress:
    """Records each bar's total and how far it was advanced."""

    def __init__(self) -> None:
        self.bars: list[list[float | None]] = []

    @contextmanager
    def task(self, description: str, total: float | None = None) -> Iterator[_CountingProgress]:
        self.bars.append([total, 0])
        yield self

    def advance(self, n: float = 1) -> None:
        self.bars[-1][1] += n  # type: ignore[operator]


@pytest.mark.parametrize("executor", [SerialExecutor(), LocalExecutor(2, kind="thread")])
def test_the_progress_bar_counts_every_task(executor: SerialExecutor | LocalExecutor) -> None:
    """Pins the progress: one bar of 5 tasks advanced 5 times (a bar left at 0/5, or with no total, is what
    a user watching a ladder's encodes would see were either dropped)."""
    progress = _CountingProgress()
    assert executor.map(_square, range(5), progress=progress) == [0, 1, 4, 9, 16]
    assert progress.bars == [[5, 5]]


@pytest.mark.parametrize("task", [_fails_first, _interrupted_first])
def test_a_failure_or_an_interrupt_cancels_the_tasks_not_started(task: object) -> None:
    """Every queued task ran before the error was raised: 20 tasks on two threads took 2 s for a failure in
    the first (and a Ctrl-C ran a whole video ladder to the end). Up to 6 allows this thread a pause of
    under 0.8 s (two more 0.4 s tasks; a full garbage collection on a busy machine let two start, so none
    runs here); a pool that went on would have started 10 or more by the end of the 1.6 s wait."""
    import gc

    _RAN.clear()
    error = ValueError if task is _fails_first else KeyboardInterrupt
    gc.disable()
    try:
        with pytest.raises(error):
            LocalExecutor(2, kind="thread").map(task, range(20))  # type: ignore[arg-type]
    finally:
        gc.enable()
    time.sleep(1.6)  # what was running has finished; nothing else started
    assert 1 <= len(_RAN) <= 6, _RAN


@pytest.mark.parametrize("kind", ["process", "thread"])
def test_the_time_limit_reaches_the_workers(kind: str) -> None:
    """A ContextVar is not seen by pool threads (nor processes): ffmpeg runs in a ladder went on for 39 s
    under a 3 s limit."""
    assert LocalExecutor(2, kind=kind).map(_deadline, range(4)) == [None] * 4  # type: ignore[arg-type]
    with media.time_limit(60):
        deadline = media.job_deadline()
        got = LocalExecutor(2, kind=kind).map(_deadline, range(4))  # type: ignore[arg-type]
    assert deadline is not None and all(d is not None and abs(d - deadline) < 1e-6 for d in got)


def test_the_time_limit_reaches_process_workers_not_forked(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pins the deadline sent with each process task: a pool whose workers start without this thread's
    context (spawn, forkserver; here threads standing in for them) still sees the job's deadline. A forked
    worker inherits it, so the test above passed with the deadline dropped."""
    import concurrent.futures

    import reelkit.executor

    monkeypatch.setattr(reelkit.executor, "ProcessPoolExecutor", concurrent.futures.ThreadPoolExecutor)
    with media.time_limit(60):
        deadline = media.job_deadline()
        got = LocalExecutor(2, kind="process").map(_deadline, range(4))
    assert deadline is not None and all(d is not None and abs(d - deadline) < 0.5 for d in got)


def test_a_worker_task_ends_at_the_jobs_absolute_deadline() -> None:
    """A process worker's time limit is what is left of the job's (deadline less now), not the deadline's
    monotonic seconds taken as a duration (a limit of days)."""
    from reelkit.executor import _Bounded

    deadline = time.monotonic() + 30.0
    got = _Bounded(_deadline, deadline)(0)
    assert got is not None and abs(got - deadline) < 0.5


@pytest.mark.parametrize(("workers", "tasks"), [(1, 3), (4, 1)])
def test_one_worker_or_one_task_runs_in_this_process(workers: int, tasks: int) -> None:
    """One worker, or a single task, runs in-process (no pool started): the task sees this process's id."""
    import os

    assert LocalExecutor(workers).map(_pid, range(tasks)) == [os.getpid()] * tasks


def _slow_ffmpeg(_: int) -> None:
    media.run_ffmpeg(["-v", "error", "-re", "-f", "lavfi", "-i", "sine=duration=20", "-f", "null", "-"])


@pytest.mark.media
def test_ffmpeg_in_worker_threads_stops_at_the_time_limit() -> None:
    start = time.monotonic()
    with pytest.raises(TimeLimitError), media.time_limit(1.0):
        LocalExecutor(2, kind="thread").map(_slow_ffmpeg, range(4))
    assert time.monotonic() - start < 10


@pytest.mark.parametrize(
    ("workers", "kind"), [(0, "process"), (-4, "thread"), (2.5, "thread"), (2, "proces")]
)
def test_bad_settings_are_refused(workers: object, kind: str) -> None:
    """``workers=0`` started a pool of every core, -4 ran serially, and "proces" became a thread pool."""
    with pytest.raises(ConfigError):
        LocalExecutor(workers, kind=kind)  # type: ignore[arg-type]


def test_every_core_means_the_cores_this_process_may_use() -> None:
    import os

    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert available_cores() == expected


def test_every_core_is_the_machines_count_where_there_is_no_affinity(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pins the fallback (macOS, Windows: no sched_getaffinity): the machine's 8 cores, not 1."""
    import os

    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert available_cores() == 8


def test_every_core_is_the_affinity_not_the_machines_count(monkeypatch: pytest.MonkeyPatch) -> None:
    """A job allowed 3 of a machine's 64 cores gets 3 workers."""
    import os

    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0, 5, 9}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert available_cores() == 3


_CTRL_C_JOB = """
import sys, time
from reelkit.executor import LocalExecutor

def work(i):
    t = time.monotonic()
    while time.monotonic() - t < 0.5:
        pass
    return i

if __name__ == "__main__":
    print("started", flush=True)
    try:
        LocalExecutor(2).map(work, range(60))  # 15 s of work on two workers
    except KeyboardInterrupt:
        sys.exit(130)
"""


def test_ctrl_c_stops_a_process_pool_at_once(tmp_path: Path) -> None:
    """A terminal's Ctrl-C signals the whole process group: each worker took it as its task's error and
    went on with the next task, so `abr simulate` on two workers ran all its traces before exiting."""
    import signal
    import subprocess
    import sys

    script = tmp_path / "job.py"
    script.write_text(_CTRL_C_JOB)
    proc = subprocess.Popen(
        [sys.executable, str(script)], start_new_session=True, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "started"
    time.sleep(1.5)  # the pool is running its first tasks
    os.killpg(proc.pid, signal.SIGINT)
    sent = time.monotonic()
    assert proc.wait(timeout=60) == 130
    assert time.monotonic() - sent < 5.0  # it took the rest of the job, about 13 s, before
