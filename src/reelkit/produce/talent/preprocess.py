"""Preprocessing that keeps every optimal schedule's cost (de la Banda, Stuckey & Chu 2011, §3).

* An actor in at most one scene is never held: their pay is fixed, so they leave the problem.
* An actor in every scene is on location from the first day to the last whatever the order: fixed too.
* Scenes that need exactly the same actors can be shot back to back without loss (their Lemma 1), so they
  merge into one scene whose duration is the sum.

Removing actors can make more scenes identical, and merging scenes can leave an actor in a single scene, so
the steps repeat until nothing changes. :class:`Reduced` keeps the map back to the original scenes and the
fixed pay that left with the removed actors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from .instance import TalentInstance

__all__ = ["Reduced", "reduce_instance"]


@dataclass(frozen=True)
class Reduced:
    """The reduced problem: ``requires`` (actors × scenes), ``durations``, ``costs``; ``groups[s]`` lists the
    original scenes that reduced scene ``s`` stands for; ``offset`` is the pay of the removed actors (the same
    for every schedule), so original cost = reduced cost + offset."""

    requires: npt.NDArray[np.bool_]
    durations: npt.NDArray[np.int64]
    costs: npt.NDArray[np.int64]
    groups: tuple[tuple[int, ...], ...]
    offset: int

    @property
    def n_scenes(self) -> int:
        return int(self.requires.shape[1])

    @property
    def n_actors(self) -> int:
        return int(self.requires.shape[0])

    def expand(self, order: npt.ArrayLike) -> list[int]:
        """Reduced order → order of the original scenes (each group in its original order)."""
        return [s for r in np.asarray(order, dtype=np.int64).tolist() for s in self.groups[r]]


def reduce_instance(inst: TalentInstance, *, merge: bool = True, drop_actors: bool = True) -> Reduced:
    """Apply the preprocessing steps until a fixed point (see the module docstring)."""
    req = inst.requires.copy()
    dur = inst.durations.astype(np.int64).copy()
    cost = inst.costs.astype(np.int64).copy()
    groups: list[tuple[int, ...]] = [(s,) for s in range(inst.n_scenes)]
    offset = 0
    total_days = int(dur.sum())
    while True:
        changed = False
        if drop_actors and req.shape[0]:
            counts = req.sum(axis=1)
            n = req.shape[1]
            drop = (counts <= 1) | (counts == n)
            if drop.any():
                for a in np.flatnonzero(drop):
                    if counts[a] == n:
                        offset += int(cost[a]) * total_days
                    elif counts[a] == 1:
                        offset += int(cost[a]) * int(dur[np.flatnonzero(req[a])[0]])
                keep = ~drop
                req, cost = req[keep], cost[keep]
                changed = True
        if merge and req.shape[1] > 1:
            seen: dict[bytes, int] = {}
            new_cols: list[int] = []
            new_groups: list[tuple[int, ...]] = []
            new_dur: list[int] = []
            for s in range(req.shape[1]):
                key = np.packbits(req[:, s]).tobytes() + req.shape[0].to_bytes(4, "little")
                if key in seen:
                    k = seen[key]
                    new_groups[k] = new_groups[k] + groups[s]
                    new_dur[k] += int(dur[s])
                    changed = True
                else:
                    seen[key] = len(new_cols)
                    new_cols.append(s)
                    new_groups.append(groups[s])
                    new_dur.append(int(dur[s]))
            req = req[:, new_cols]
            groups = new_groups
            dur = np.array(new_dur, dtype=np.int64)
        if not changed:
            break
    return Reduced(requires=req, durations=dur, costs=cost, groups=tuple(groups), offset=offset)
