"""The ``reelkit`` script's entry point (and ``python -m reelkit``'s).

The command line takes about half a second to load its commands; a Ctrl-C then came before
:func:`reelkit.cli.main` could catch it and printed a traceback of the imports. Here it ends as one during a
command does: "aborted" and exit status 130.
"""

from __future__ import annotations

import sys

__all__ = ["main"]


def main() -> None:
    """Load the command line and run it; an interrupt before the command's own handling is "aborted"."""
    try:
        from reelkit.cli import main as run

        run()
    except KeyboardInterrupt:
        sys.stderr.write("aborted\n")
        raise SystemExit(130) from None
