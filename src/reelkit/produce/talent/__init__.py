"""Talent scheduling solved exactly: order the scenes so that the actors' pay (first to last day) is least.

Readers for the benchmark formats (:func:`read_instance`), typed instances and solutions, the memoised
subset dynamic program with de la Banda, Stuckey & Chu's preprocessing, bounds and dominance rules
(:func:`solve_talent`), and a CP-SAT model of the same problem for comparison (:func:`solve_cpsat`).
"""

from __future__ import annotations

from .formats import parse_dat, parse_dzn, read_instance
from .instance import TalentInstance, TalentSolution, schedule_cost
from .preprocess import Reduced, reduce_instance
from .solver import TalentConfig, solve_talent


def solve_cpsat(inst: TalentInstance, *, time_limit: float | None = None, workers: int = 1) -> TalentSolution:
    """The CP-SAT model of :mod:`.cpsat` (OR-Tools is imported on first use)."""
    from .cpsat import solve_cpsat as run

    return run(inst, time_limit=time_limit, workers=workers)


__all__ = [
    "Reduced",
    "TalentConfig",
    "TalentInstance",
    "TalentSolution",
    "parse_dat",
    "parse_dzn",
    "read_instance",
    "reduce_instance",
    "schedule_cost",
    "solve_cpsat",
    "solve_talent",
]
