"""The same talent-scheduling problem as a CP-SAT model, for comparison with the dynamic program.

Each (reduced) scene is an interval of its duration on one machine without gaps: ``add_no_overlap`` over
``[0, total days)``. Actor ``a`` starts at the earliest start of its scenes and ends at the latest end
(``add_min_equality`` / ``add_max_equality``); the objective is ``Σ c(a)·(end(a) − start(a))``. Reversing a
schedule keeps its cost, so ``start(scene 0) ≤ start(scene 1)`` removes the mirrored half of the search
space. The model gets the same preprocessing as the dynamic program (it solves the reduced instance).
"""

from __future__ import annotations

import time

import numpy as np
from ortools.sat.python import cp_model

from reelkit.produce._cpsat import solve

from .instance import TalentInstance, TalentSolution
from .preprocess import reduce_instance

__all__ = ["solve_cpsat"]


def solve_cpsat(inst: TalentInstance, *, time_limit: float | None = None, workers: int = 1) -> TalentSolution:
    """Solve with CP-SAT; ``optimal`` is true only when CP-SAT proves it within ``time_limit``."""
    t0 = time.perf_counter()
    red = reduce_instance(inst)
    req, dur, cost = red.requires, red.durations, red.costs
    m, n = req.shape
    horizon = int(dur.sum())
    model = cp_model.CpModel()
    start = [model.new_int_var(0, horizon - int(dur[s]), f"start{s}") for s in range(n)]
    ivs = [model.new_fixed_size_interval_var(start[s], int(dur[s]), f"scene{s}") for s in range(n)]
    model.add_no_overlap(ivs)
    terms = []
    for a in range(m):
        scenes = np.flatnonzero(req[a]).tolist()
        lo = model.new_int_var(0, horizon, f"first{a}")
        hi = model.new_int_var(0, horizon, f"last{a}")
        model.add_min_equality(lo, [start[s] for s in scenes])
        model.add_max_equality(hi, [start[s] + int(dur[s]) for s in scenes])
        # an actor is on location at least for their own scenes
        model.add(hi - lo >= int(dur[scenes].sum()))
        terms.append(int(cost[a]) * (hi - lo))
    if n >= 2:
        model.add(start[0] <= start[1])  # reversal symmetry
    model.minimize(sum(terms) if terms else 0)
    solver = cp_model.CpSolver()
    if time_limit is not None:
        solver.parameters.max_time_in_seconds = float(time_limit)
    solver.parameters.num_workers = int(workers)
    status = solve(solver, model)
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        # a zero-length scene starting where another starts goes first (it lies where the model put it)
        order_red = sorted(range(n), key=lambda s: (solver.value(start[s]), int(dur[s])))
        bound = int(np.ceil(solver.best_objective_bound - 1e-6))
    else:  # no schedule within the limit: report the given order with the trivial bound
        order_red = list(range(n))
        bound = int(dur @ (cost @ req.astype(np.int64))) if m else 0
    order = red.expand(order_red)
    total = inst.cost(order)
    optimal = status == cp_model.OPTIMAL
    lb = total if optimal else min(total, bound + red.offset)
    return TalentSolution(
        order=tuple(order),
        order_ids=tuple(inst.scene_ids[s] for s in order),
        total_cost=total,
        holding_cost=total - inst.fixed_cost,
        optimal=optimal,
        lower_bound=lb,
        nodes=int(solver.num_branches),
        time_s=time.perf_counter() - t0,
        method="cpsat",
        status="optimal" if optimal else "time_limit",
    )
