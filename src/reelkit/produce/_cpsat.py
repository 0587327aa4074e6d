"""One way to run CP-SAT: its Ctrl-C handling without losing the process's own.

CP-SAT installs a C-level SIGINT handler while it solves (``catch_sigint_signal``, on by default) and leaves
it, or the system's default, in place afterwards: a Ctrl-C later in the same process killed it outright (no
"aborted", temporary files left behind), and a server that solved one schedule could no longer be stopped
cleanly. In the main thread CP-SAT still takes a Ctrl-C during the search (it stops and returns the best
plan found), and Python's handler is put back after; elsewhere (the service's worker threads) it takes
none, as the process's signals are not a worker's to change.
"""

from __future__ import annotations

import signal
import threading
from typing import Any

from ortools.sat.python import cp_model


def solve(solver: cp_model.CpSolver, model: cp_model.CpModel) -> Any:
    """``solver.solve(model)`` with the process's SIGINT handler as it was before."""
    main = threading.current_thread() is threading.main_thread()
    solver.parameters.catch_sigint_signal = main
    try:
        return solver.solve(model)
    finally:
        if main:  # re-installs, at the C level, the handler Python believes is there
            signal.signal(signal.SIGINT, signal.getsignal(signal.SIGINT))
