"""``reelkit schedule solve``: the exact talent-scheduling solver on a benchmark file (.dat or .dzn)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Literal

import typer

from reelkit.cli.common import emit_json, err_console, print_table, progress_for

__all__ = ["add_commands", "solve_cmd"]


def solve_cmd(
    file: Annotated[
        Path, typer.Argument(help="Instance file: Stuckey .dat (or DDOLib .txt) or MiniZinc .dzn.")
    ],
    time_limit: Annotated[
        float | None,
        typer.Option(
            "--time-limit",
            help="Stop after S seconds with the best schedule and a lower bound (leave it out for no limit).",
        ),
    ] = None,
    method: Annotated[
        str, typer.Option("--method", help="dp: exact dynamic program (default); cpsat: the CP-SAT model.")
    ] = "dp",
    memory_mb: Annotated[
        int, typer.Option("--memory-mb", help="Memory cap of the DP's state table, heap and bound cache.")
    ] = 1024,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Order the scenes so that the actors' pay is least; prove it optimal or report a lower bound.

    Scene ids in the output are the file's 1-based scene (column) numbers. Total cost counts every paid day;
    holding cost only the days actors wait. The exact search takes up to 63 distinct scenes (after actors in
    one or every scene leave and identical scenes merge); a larger instance gets the local search's best
    schedule (it searches for the whole --time-limit when one is given) and the fixed pay as its lower bound
    (status too_large).
    """
    from reelkit.errors import ConfigError
    from reelkit.produce.talent import TalentConfig, read_instance, solve_talent

    if method not in ("dp", "cpsat"):
        raise ConfigError(f"--method must be dp or cpsat, not {method!r}")
    if time_limit is not None and not 0 < time_limit < math.inf:
        raise ConfigError(
            f"--time-limit must be a positive, finite number of seconds (leave it out for no limit), "
            f"not {time_limit}"
        )
    if memory_mb < 16:
        raise ConfigError(f"--memory-mb must be at least 16 (megabytes), not {memory_mb}")
    meth: Literal["dp", "cpsat"] = "dp" if method == "dp" else "cpsat"
    cfg = TalentConfig(time_limit=time_limit, method=meth, memory_mb=memory_mb)
    inst = read_instance(file)
    with progress_for(not json_out) as progress:
        sol = solve_talent(inst, cfg, progress=progress)
    # why a schedule is not proved optimal, which the JSON's fields alone did not say
    why = {
        "time_limit": f"the time limit ({time_limit} s) passed",
        "memory_limit": f"the search reached its memory cap (--memory-mb {memory_mb}; more may prove it)",
        "too_large": "more than 63 distinct scenes are beyond the exact search (local search only)",
    }.get(sol.status, sol.status)
    if not sol.optimal:
        err_console.print(
            f"note: not proved optimal ({sol.status}): {why}; lower bound {sol.lower_bound}, "
            f"gap {sol.gap:.1%}",
            highlight=False,
            markup=False,
        )
    if json_out:
        emit_json(
            {
                "total_cost": sol.total_cost,
                "holding_cost": sol.holding_cost,
                "optimal": sol.optimal,
                "status": sol.status,
                "lower_bound": sol.lower_bound,
                "order": list(sol.order_ids),
            }
        )
        return
    print_table(
        f"{inst.name}: {inst.n_scenes} scenes × {inst.n_actors} actors ({sol.method})",
        ["total cost", "holding cost", "optimal", "lower bound", "states", "seconds", "status"],
        [
            (
                sol.total_cost,
                sol.holding_cost,
                sol.optimal,
                sol.lower_bound,
                sol.nodes,
                round(sol.time_s, 3),
                sol.status,
            )
        ],
    )
    typer.echo("order: " + " ".join(str(s) for s in sol.order_ids))


def add_commands(group: typer.Typer, app: typer.Typer) -> None:
    """Add this module's commands to the ``schedule`` group (``group``) or the root app (``app``)."""
    group.command("solve")(solve_cmd)
