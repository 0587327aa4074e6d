"""One way to run CP-SAT that leaves the process's Ctrl-C to Python.

CP-SAT's own SIGINT handling (``catch_sigint_signal``, on by default) installs a C handler for the solve and
sets the system's default back when its solver is destroyed, perhaps long after: a Ctrl-C later in the same
process killed it outright (no "aborted", temporary files left behind), and a server that had solved a
schedule could no longer be stopped cleanly. So CP-SAT takes no signal here; in the main thread the search
runs in a worker thread (CP-SAT releases the GIL) while the main thread waits, so that a Ctrl-C stops the
search at once and is raised as KeyboardInterrupt, as anywhere else.
"""

from __future__ import annotations

import threading
from typing import Any

from ortools.sat.python import cp_model


def solve(solver: cp_model.CpSolver, model: cp_model.CpModel) -> cp_model.CpSolverStatus:
    """``solver.solve(model)``, stopped by a Ctrl-C (raised as KeyboardInterrupt once the search stopped)."""
    solver.parameters.catch_sigint_signal = False
    if threading.current_thread() is not threading.main_thread():
        return solver.solve(model)
    out: dict[str, Any] = {}
    done = threading.Event()

    def run() -> None:
        try:
            out["status"] = solver.solve(model)
        except BaseException as exc:  # raised in the caller's thread
            out["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name="cp-sat", daemon=True).start()
    # waited on an Event, not Thread.join: a KeyboardInterrupt inside join can leave the thread marked
    # stopped while CP-SAT still runs (the process then aborted at exit, "terminate called ...")
    try:
        while not done.wait(0.1):
            pass
    except KeyboardInterrupt:
        solver.stop_search()
        while True:  # a second Ctrl-C while it stops: still waited for
            try:
                if done.wait(0.1):
                    break
            except KeyboardInterrupt:
                solver.stop_search()
        raise
    if "error" in out:
        raise out["error"]
    status: cp_model.CpSolverStatus = out["status"]
    return status
