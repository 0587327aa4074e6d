"""What every CLI command shares: output (rich tables or JSON), progress bars, parameter parsing."""

from __future__ import annotations

import importlib
import inspect
import json
import math
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from reelkit._files import existing_ancestor
from reelkit.errors import ConfigError
from reelkit.executor import Executor, LocalExecutor
from reelkit.progress import SILENT, ProgressTask

__all__ = [
    "EXECUTOR_ENV",
    "JsonOpt",
    "RichProgress",
    "WorkersOpt",
    "check_folder",
    "console",
    "emit_json",
    "err_console",
    "executor_for",
    "out_of_memory_message",
    "parse_params",
    "print_table",
    "progress_for",
]

#: The ``--json`` switch every reporting command takes.
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

#: The variable naming a custom executor (``package.module:factory``) for every command that takes --workers.
EXECUTOR_ENV = "REELKIT_EXECUTOR"

#: The ``--workers`` option of the commands made of independent tasks (see :func:`executor_for`).
WorkersOpt = Annotated[
    int,
    typer.Option(
        "--workers",
        help=f"Tasks in parallel on this machine; ${EXECUTOR_ENV}=package.module:factory runs them on "
        "another executor instead.",
    ),
]

# ":b:" in a title id is text, not an emoji code. Piped or redirected, rich would lay tables out for 80
# columns and cut their cells ("robust…") and wrap long lines mid-command: out of a terminal, as $COLUMNS
# says or 200 wide, and lines are not wrapped
_piped = not sys.stdout.isatty()
_columns = os.environ.get("COLUMNS", "")
# no rich markup: what is printed holds file names and user data, and "[b]" in a folder's name was taken for
# bold and dropped from every message naming it
console = Console(
    emoji=False,
    markup=False,
    soft_wrap=_piped,
    width=(int(_columns) if _columns.isdigit() and int(_columns) > 0 else 200) if _piped else None,
)
err_console = Console(stderr=True, soft_wrap=True, emoji=False, markup=False)


class _RichTask:
    def __init__(self, progress: Progress, task_id: Any) -> None:
        self._progress = progress
        self._id = task_id

    def advance(self, n: float = 1) -> None:
        self._progress.advance(self._id, n)


class RichProgress:
    """The :class:`reelkit.progress.Progress` protocol drawn as rich progress bars on stderr."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    @contextmanager
    def task(self, description: str, total: float | None = None) -> Iterator[ProgressTask]:
        task_id = self._progress.add_task(escape(description), total=total)  # its column reads markup
        try:
            yield _RichTask(self._progress, task_id)
        finally:
            if total is not None:
                self._progress.update(task_id, completed=total)
            self._progress.stop_task(task_id)


@contextmanager
def progress_for(enabled: bool = True) -> Iterator[RichProgress]:
    """Rich progress bars on stderr (hidden when ``enabled`` is false or stderr is not a terminal)."""
    bar = Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        # rich would still write a blank line to a non-terminal when the bar stops
        disable=not enabled or not err_console.is_terminal,
    )
    with bar:
        yield RichProgress(bar)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating | float):
        f = float(obj)
        return f if math.isfinite(f) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def emit_json(obj: Any) -> None:
    """Print ``obj`` as JSON on stdout (NaN/inf become null; numpy types become plain ones)."""
    sys.stdout.write(json.dumps(_jsonable(obj), indent=2) + "\n")
    sys.stdout.flush()


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    # file names and user data ("[INT] kitchen.srt") are plain text: the consoles take no markup
    table = Table(title=title, title_justify="left")
    for c in columns:
        table.add_column(c)
    for r in rows:
        table.add_row(*[_cell(v) for v in r])
    console.print(table)


def _cell(v: Any) -> str:
    """A table cell: floats to 4 significant digits, but from 10,000 up in whole units with separators
    (money, bytes and counts read as 1.234e+04 lost their digits)."""
    if not isinstance(v, float | np.floating):
        return str(v)
    x = float(v)
    if 1e4 <= abs(x) < 1e18:
        return f"{x:,.0f}"
    return f"{x:.4g}"


def refuse_unused(ctx: typer.Context, unless: str, *params: str, fix: str | None = None) -> None:
    """Refuse the options (parameter names) given on the command line that the command would ignore without
    ``unless`` (an option, or what the user chose), rather than run without them in silence; ``fix`` says
    what to do (default: drop them or add ``unless``)."""
    given = []
    for name in params:
        source = ctx.get_parameter_source(name)
        if source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT"):
            given.append("--" + name.replace("_", "-"))
    if given:
        raise ConfigError(f"{', '.join(given)}: only with {unless}; {fix or f'drop it or add {unless}'}")


def check_folder(path: Path, option: str, holds: str) -> Path:
    """``path`` when it is a folder or can be made one (the command makes the missing folders); a file there
    or on the way to it is refused, naming ``option``, before any work (mkdir said only "File exists").
    ``holds``: what the folder is for, for the message."""
    above = existing_ancestor(path)
    if above.exists() and not above.is_dir():
        where = "is a file" if above == path else f"{above} is a file"
        raise ConfigError(f"{option} {path}: {where}, not a folder; give a folder for {holds}")
    return path


def parse_params(items: Sequence[str] | None, example: str = "factors=64") -> dict[str, Any]:
    """``["l2=500", "factors=64", "weighting=binary"]`` -> typed values (JSON literals where they parse);
    ``example``: one of the command's own, for the error (a cache policy's is not a recommender's)."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--param {item!r}: expected key=value, e.g. --param {example}")
        try:
            value: Any = json.loads(raw)
        except (json.JSONDecodeError, RecursionError):  # not JSON (or nested too deeply): the text
            value = raw
        out[key.strip()] = value
    return out


def executor_for(workers: int, kind: Literal["process", "thread"] = "process") -> Executor:
    """The executor of a command's ``--workers``: a local pool of ``workers`` (``kind``: threads for tasks
    that wait on ffmpeg or release the GIL), or, when ``$REELKIT_EXECUTOR`` is set, what its
    ``package.module:factory`` returns (a distributed engine's executor). The factory is called with the
    worker count when it takes an argument, else with none; a bad value is refused naming the variable."""
    if isinstance(workers, bool) or workers < 1:
        raise ConfigError("--workers must be at least 1")
    spec = os.environ.get(EXECUTOR_ENV, "").strip()
    if not spec:
        return LocalExecutor(workers, kind=kind)
    where = f"{EXECUTOR_ENV}={spec}"
    module_name, sep, attr = (part.strip() for part in spec.partition(":"))
    if not sep or not module_name or not attr:
        raise ConfigError(f"{where}: give package.module:factory, a callable that returns an executor")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:  # the README's mycluster.py in the current folder, without PYTHONPATH
        hint = (
            f"; put the folder holding {module_name.split('.')[0]} on PYTHONPATH (e.g. PYTHONPATH=. for the "
            "current one)"
            if e.name == module_name.split(".")[0]
            else ""
        )
        raise ConfigError(f"{where}: cannot import {module_name} (ModuleNotFoundError: {e}){hint}") from None
    except Exception as e:  # one that fails as it is imported: said in one line
        raise ConfigError(f"{where}: cannot import {module_name} ({type(e).__name__}: {e})") from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ConfigError(f"{where}: {module_name} has no callable {attr}")
    try:
        inspect.signature(factory).bind(workers)
        takes_workers = True
    except TypeError:  # a factory of no arguments
        takes_workers = False
    except ValueError:  # no signature to read (a builtin): given the count
        takes_workers = True
    try:
        executor = factory(workers) if takes_workers else factory()
    except Exception as e:  # the factory's own failure: one line, as a bad value is
        raise ConfigError(f"{where}: {attr} failed ({type(e).__name__}: {e})") from None
    run = getattr(executor, "map", None)
    if not callable(run):
        raise ConfigError(f"{where}: {attr} returned a {type(executor).__name__}, not an executor (no map)")
    try:  # reelkit's contract (reelkit.executor.Executor), not concurrent.futures' map(fn, *iterables)
        inspect.signature(run).bind(len, [], progress=SILENT, description="")
    except TypeError:
        raise ConfigError(
            f"{where}: {attr} returned a {type(executor).__name__}, whose map does not take reelkit's "
            "map(fn, tasks, *, progress, description) (wrap a concurrent.futures executor as the README "
            "shows)"
        ) from None
    except ValueError:  # no signature to read: taken as it is
        pass
    return executor  # type: ignore[no-any-return]


def out_of_memory_message(exc: MemoryError, command: str) -> str:
    """The one line a command that ran out of memory ends with: what ran out (numpy names the array it
    could not allocate: its size and shape), the command, and what to reduce."""
    size, shape = getattr(exc, "_total_size", None), getattr(exc, "shape", None)
    needed = ""
    if isinstance(size, int) and shape is not None:
        unit, scale = next(
            ((u, 2**e) for u, e in (("PiB", 50), ("TiB", 40), ("GiB", 30)) if size >= 2**e), ("MiB", 2**20)
        )
        dims = " x ".join(str(int(n)) for n in shape)
        amount = f"{size / scale:,.0f}" if size / scale >= 100 else f"{size / scale:.3g}"  # never 1.49e+03
        needed = f" (needed {amount} {unit} for a {dims} array)"
    return (
        f"out of memory{needed} while running {command}; use a smaller input (fewer members or titles) "
        "or a machine with more memory"
    )
