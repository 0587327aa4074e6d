"""The ``reelkit`` command line: a thin layer over the library.

Exceptions map to exit codes in one place (:func:`main`): user errors (:class:`~reelkit.errors.UserInputError`
and bad command-line usage) print one line and exit 2; other reelkit errors exit 1; no tracebacks. Running out
of memory (an input too large for this machine) is one line naming the command and what to reduce, exit 2.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Sequence

import pydantic
import typer

from reelkit.config import error_message
from reelkit.errors import ReelkitError, UserInputError

__all__ = ["app", "main"]

app = typer.Typer(
    name="reelkit",
    help="reelkit: machine learning for streaming platforms.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _register() -> None:
    from reelkit.cli import abr, audio, cache, data, demo, evaluate, produce, recommend, service, subs, video

    app.add_typer(data.app, name="data")
    for module in (recommend, evaluate, demo, service, abr, cache, subs, audio, video, produce):
        module.register(app)


_register()


def _click_class(name: str) -> type[Exception]:
    """click's ``UsageError`` or ``ClickException`` as this typer raises them (typer 0.2x carries its own
    copy of click, older ones use click itself): the classes ``typer.BadParameter`` derives from."""
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == name)


_USAGE_ERROR = _click_class("UsageError")
_CLICK_ERROR = _click_class("ClickException")


def _stop_children() -> None:
    """Told to stop (Ctrl-C, SIGTERM): encodes still running in worker threads are killed, so that the
    command ends now and leaves no ffmpeg behind (a Ctrl-C sent to the process alone, not its group, does
    not reach them)."""
    from reelkit.media import stop_children

    stop_children()


def _by_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` was raised while handling a KeyboardInterrupt (its cause or context chain)."""
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        if isinstance(cur, KeyboardInterrupt):
            return True
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return False


def _command_path(argv: Sequence[str] | None) -> str:
    """The command ``argv`` runs (``reelkit data info``), its words matched against the command tree."""
    words = list(argv) if argv is not None else sys.argv[1:]
    command: object = typer.main.get_command(app)
    path = ["reelkit"]
    for word in words:
        sub = getattr(command, "commands", {}).get(word)
        if sub is None:
            break
        path.append(word)
        command = sub
    return " ".join(path)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``reelkit`` script."""
    import signal
    import threading
    import warnings

    from reelkit.cli.common import err_console
    from reelkit.errors import ReelkitWarning
    from reelkit.media import allow_children

    allow_children()  # an earlier command in this process that was interrupted stopped ffmpeg for good
    python_show = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], *args: object, **kwargs: object) -> None:
        # reelkit's own warnings (duplicates dropped, timestamp units read) as one plain line
        if issubclass(category, ReelkitWarning):
            err_console.print(f"warning: {message}", highlight=False, markup=False)
        else:
            python_show(message, category, *args, **kwargs)  # type: ignore[arg-type]

    warnings.showwarning = show

    def terminate(signum: int, frame: object) -> None:
        # told to stop (kill, timeout, a job scheduler): encodes and VMAF runs in worker threads must not
        # outlive the command as orphaned ffmpeg processes
        _stop_children()
        raise SystemExit(128 + signum)

    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, terminate) if in_main else None
    try:
        # not standalone: the parser's own errors come here, to be told in one line as every other user
        # error is (click prints a usage block of four); an exit code (typer.Exit, --help) comes back
        code = app(args=list(argv) if argv is not None else None, prog_name="reelkit", standalone_mode=False)
        if code == 130:  # typer's answer to Ctrl-C inside a command
            _stop_children()
            err_console.print("aborted")
        sys.exit(code if isinstance(code, int) else 0)  # as standalone mode ends, even on success
    except _USAGE_ERROR as exc:  # a missing, unknown or unreadable option or argument
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare command group: its help, as click shows it
            exc.show()  # type: ignore[attr-defined]
            sys.exit(2)
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx is not None else "reelkit"
        message = exc.format_message()  # type: ignore[attr-defined]
        err_console.print(f"error: {where}: {message} (see {where} --help)", highlight=False, markup=False)
        sys.exit(2)
    except _CLICK_ERROR as exc:  # the parser's other errors (a file option it could not open)
        message = exc.format_message()  # type: ignore[attr-defined]
        err_console.print(f"error: {message}", highlight=False, markup=False)
        sys.exit(int(getattr(exc, "exit_code", 1)))
    except typer.Abort:  # end of input at a prompt
        _stop_children()
        err_console.print("aborted")
        sys.exit(1)
    except KeyboardInterrupt:
        _stop_children()
        err_console.print("aborted")
        sys.exit(130)
    except SystemExit as exc:
        # typer turns Ctrl-C inside a command into a bare exit 130, which said nothing at all
        if exc.code == 130 and _by_interrupt(exc):
            _stop_children()
            err_console.print("aborted")
        raise
    except UserInputError as exc:
        err_console.print(f"error: {exc}", highlight=False, markup=False)
        sys.exit(2)
    except ReelkitError as exc:
        err_console.print(f"error: {exc}", highlight=False, markup=False)
        sys.exit(int(getattr(exc, "exit_code", 1)))
    except MemoryError as exc:  # an input too large for this machine (numpy's array it could not allocate)
        from reelkit.cli.common import out_of_memory_message

        message = out_of_memory_message(exc, _command_path(argv))
        err_console.print(f"error: {message}", highlight=False, markup=False)
        sys.exit(2)
    except UnicodeEncodeError as exc:  # bytes that are not UTF-8 in an argument or a file name (surrogates)
        err_console.print(
            f"error: an argument or file name is not UTF-8 text ({exc.object[exc.start : exc.end]!a}); give "
            "it in UTF-8 (rename the file)",
            highlight=False,
            markup=False,
        )
        sys.exit(2)
    except pydantic.ValidationError as exc:  # a typed config built from the options: a user error
        fields = "; ".join(
            f"{'.'.join(str(x) for x in e['loc']) or exc.title}: {error_message(e)}" for e in exc.errors()
        )
        err_console.print(f"error: {exc.title}: {fields}", highlight=False, markup=False)
        sys.exit(2)
    except sqlite3.OperationalError as exc:  # the store held by another writer past the busy timeout
        if "locked" not in str(exc) and "busy" not in str(exc):
            raise
        from reelkit.service.store import BUSY_MESSAGE

        err_console.print(f"error: {BUSY_MESSAGE}", highlight=False, markup=False)
        sys.exit(1)
    except OSError as exc:  # a file we were told to read or write
        if exc.filename is not None:
            err_console.print(f"error: {exc.filename}: {exc.strerror}", highlight=False, markup=False)
            sys.exit(2)
        # the system's, naming no file (a full disk in a library's own write): one line, not a traceback
        err_console.print(f"error: {exc.strerror or exc}", highlight=False, markup=False)
        sys.exit(1)
    except Exception as exc:
        # Ctrl-C that landed inside a library (numba loading a cached function turns the KeyboardInterrupt
        # into a SystemError): "aborted", not a traceback
        if not _by_interrupt(exc):
            raise
        _stop_children()
        err_console.print("aborted")
        sys.exit(130)
    finally:
        warnings.showwarning = python_show
        if in_main:
            signal.signal(signal.SIGTERM, previous)
