"""Run the ``reelkit`` command in-process from a test: exit status, stdout and stderr."""

from __future__ import annotations

from typing import Protocol

__all__ = ["run_cli"]


class _Captured(Protocol):
    def readouterr(self) -> tuple[str, str]: ...


def run_cli(capsys: _Captured, *args: str) -> tuple[int, str, str]:
    """``reelkit ARGS...`` through :func:`reelkit.cli.main`; ``capsys`` is pytest's capture fixture."""
    from reelkit.cli import main

    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
