"""Talent-scheduling instances and solutions as typed, immutable values.

An instance has scenes (each with a duration in days and the set of actors it needs) and actors (each with a
daily cost). An actor is paid from the first day of their first scene to the last day of their last scene.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from reelkit.errors import ConfigError

__all__ = ["TalentInstance", "TalentSolution", "schedule_cost"]


def _frozen(a: npt.ArrayLike, dtype: type) -> npt.NDArray[np.int64] | npt.NDArray[np.bool_]:
    arr: npt.NDArray[np.int64] | npt.NDArray[np.bool_] = np.array(a, dtype=dtype, copy=True)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class TalentInstance:
    """Scenes × actors of one talent-scheduling problem.

    ``requires[a, s]`` is true when actor ``a`` is in scene ``s``; ``durations[s]`` is in days; ``costs[a]``
    is the daily pay. ``scene_ids`` are the ids the source file uses (1-based column positions for every
    format we read); ``actor_names`` are labels for reports.
    """

    requires: npt.NDArray[np.bool_]
    durations: npt.NDArray[np.int64]
    costs: npt.NDArray[np.int64]
    name: str = "talent"
    scene_ids: tuple[int, ...] = ()
    actor_names: tuple[str, ...] = ()
    source: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        req = np.asarray(self.requires)
        if req.ndim != 2:
            raise ConfigError(f"{self.name}: requires must be a 2-D actors × scenes 0/1 matrix")
        m, n = req.shape
        if n == 0:
            raise ConfigError(f"{self.name}: an instance needs at least one scene")
        dur = np.asarray(self.durations)
        cost = np.asarray(self.costs)
        for name, arr in (("durations", dur), ("costs", cost)):
            if arr.size and not (np.issubdtype(arr.dtype, np.number) and np.isfinite(arr).all()):
                raise ConfigError(f"{self.name}: {name} must be finite numbers")
            if arr.size and not np.array_equal(arr, np.round(arr)):
                off = arr[arr != np.round(arr)][:5]
                raise ConfigError(f"{self.name}: {name} must be whole numbers (days, cost units), got {off}")
        if dur.shape != (n,):
            raise ConfigError(f"{self.name}: {dur.size} durations for {n} scenes")
        if cost.shape != (m,):
            raise ConfigError(f"{self.name}: {cost.size} actor costs for {m} actors")
        if np.any(dur < 0) or np.any(cost < 0):
            raise ConfigError(f"{self.name}: durations and costs must be non-negative")
        # every cost figure is at most (all costs) x (all days): keep it in 64-bit integers
        if sum(int(c) for c in cost.ravel()) * sum(int(d) for d in dur.ravel()) >= 2**62:
            raise ConfigError(
                f"{self.name}: costs times durations exceed 2^62, beyond the solver's 64-bit arithmetic; "
                "scale the costs or durations down"
            )
        object.__setattr__(self, "requires", _frozen(req != 0, np.bool_))
        object.__setattr__(self, "durations", _frozen(dur, np.int64))
        object.__setattr__(self, "costs", _frozen(cost, np.int64))
        ids = tuple(int(i) for i in self.scene_ids) or tuple(range(1, n + 1))
        if len(ids) != n or len(set(ids)) != n:
            raise ConfigError(f"{self.name}: scene_ids must be {n} distinct ids")
        object.__setattr__(self, "scene_ids", ids)
        names = tuple(str(x) for x in self.actor_names) or tuple(f"actor{a + 1}" for a in range(m))
        if len(names) != m:
            raise ConfigError(f"{self.name}: {len(names)} actor names for {m} actors")
        object.__setattr__(self, "actor_names", names)

    @property
    def n_scenes(self) -> int:
        return int(self.requires.shape[1])

    @property
    def n_actors(self) -> int:
        return int(self.requires.shape[0])

    @property
    def total_days(self) -> int:
        return int(self.durations.sum())

    @property
    def fixed_cost(self) -> int:
        """The pay every schedule has: each actor's cost times the days of their own scenes."""
        return int(self.costs @ (self.requires.astype(np.int64) @ self.durations))

    def cost(self, order: Sequence[int]) -> int:
        """Total pay of a schedule (scene indices 0..n-1, each exactly once)."""
        return schedule_cost(self, order)

    def holding_cost(self, order: Sequence[int]) -> int:
        """Pay for waiting days only: total cost minus :attr:`fixed_cost`."""
        return schedule_cost(self, order) - self.fixed_cost


def schedule_cost(inst: TalentInstance, order: Sequence[int]) -> int:
    """Total cost of ``order`` (0-based scene indices, a permutation); raises on anything else."""
    idx = np.asarray(list(order), dtype=np.int64)
    n = inst.n_scenes
    if idx.shape != (n,) or not np.array_equal(np.sort(idx), np.arange(n)):
        raise ConfigError(f"{inst.name}: a schedule must list each of the {n} scenes exactly once")
    dur = inst.durations[idx]
    end = np.cumsum(dur)
    start = end - dur
    req = inst.requires[:, idx]
    total = 0
    for a in range(inst.n_actors):
        pos = np.flatnonzero(req[a])
        if pos.size:
            total += int(inst.costs[a]) * int(end[pos[-1]] - start[pos[0]])
    return total


@dataclass(frozen=True)
class TalentSolution:
    """A schedule and what is known about it.

    ``order`` lists scene indices (0-based) in shooting order; :attr:`order_ids` gives the file's scene ids.
    ``optimal`` is true only when the search proved it; ``lower_bound`` is a proven bound on the total cost
    (equal to it when optimal). ``status``: ``optimal``, ``time_limit``, ``memory_limit`` or ``too_large``
    (more scenes than the exact search handles). ``nodes`` counts expanded search states.
    """

    order: tuple[int, ...]
    order_ids: tuple[int, ...]
    total_cost: int
    holding_cost: int
    optimal: bool
    lower_bound: int
    nodes: int
    time_s: float
    method: str
    status: str

    @property
    def gap(self) -> float:
        """Relative gap between the schedule's cost and the proven lower bound (0 when optimal)."""
        return (self.total_cost - self.lower_bound) / max(1, self.total_cost)
