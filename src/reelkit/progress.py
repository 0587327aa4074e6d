"""Progress reporting, injected by the caller.

Library code is silent by default: it takes an optional :class:`Progress` and uses :data:`SILENT` when none is
given. The CLI passes a rich progress bar (:func:`reelkit.cli.common.rich_progress`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

__all__ = ["SILENT", "Progress", "ProgressTask", "SilentProgress"]


class ProgressTask(Protocol):
    """One unit of long work; ``advance`` moves it forward by ``n`` steps."""

    def advance(self, n: float = 1) -> None: ...


class Progress(Protocol):
    """A factory of progress tasks: ``with progress.task("training", total=10) as t: t.advance()``."""

    def task(self, description: str, total: float | None = None) -> AbstractContextManager[ProgressTask]: ...


class _SilentTask:
    def advance(self, n: float = 1) -> None:
        return None


class SilentProgress:
    """Reports nothing (the library default)."""

    @contextmanager
    def task(self, description: str, total: float | None = None) -> Iterator[ProgressTask]:
        yield _SilentTask()


SILENT: Progress = SilentProgress()
