"""Exact talent scheduling: preprocessing, a heuristic upper bound, then the memoised subset search.

:func:`solve_talent` is the entry point. With ``method="dp"`` it reduces the instance (single-scene and
all-scene actors out, identical scenes merged), builds a schedule with a greedy + iterated local search (the
anytime upper bound), and runs the compiled best-first dynamic program over scene subsets
(:mod:`._kernels`) until it proves the optimum, the time limit passes, or the state table reaches its
memory cap. Stopped early, it returns the best schedule with the proven lower bound. ``method="cpsat"``
runs the CP-SAT model of :mod:`.cpsat` instead.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from reelkit.config import check_numbers
from reelkit.errors import ConfigError
from reelkit.progress import SILENT, Progress

from . import _kernels as K
from .instance import TalentInstance, TalentSolution
from .preprocess import Reduced, reduce_instance

__all__ = ["TalentConfig", "solve_talent"]

Method = Literal["dp", "cpsat"]


@dataclass(frozen=True)
class TalentConfig:
    """Settings of :func:`solve_talent`.

    ``time_limit`` in seconds, finite (None: none); ``memory_mb`` caps the state table, heap and bound
    cache of the exact search;
    ``ils_iters`` rounds of iterated local search for the first upper bound; ``chunk`` expansions between
    clock checks at most (under a time limit fewer: about 10 ms of them); ``seed`` for the local search's
    perturbations. ``eager_bound`` says when a new state's full bound is computed: 0 when it first reaches
    the front of the open list (every generated state is stored), 1 when it is generated (every generated
    state stored), 2 when it is generated and only states below the incumbent are stored, the bounds of the
    others kept in a lossy cache of ``2**cache_bits`` entries (default: the same states expanded in a fifth
    of the memory; 0 and 1 are kept for comparison).
    """

    time_limit: float | None = None
    method: Method = "dp"
    memory_mb: int = 1024
    ils_iters: int = 200
    chunk: int = 5000
    seed: int = 0
    cpsat_workers: int = 1
    eager_bound: Literal[0, 1, 2] = 2
    cache_bits: int = 22

    def __post_init__(self) -> None:
        check_numbers(
            "TalentConfig",
            time_limit=(self.time_limit, float),
            memory_mb=(self.memory_mb, int),
            ils_iters=(self.ils_iters, int),
            chunk=(self.chunk, int),
            seed=(self.seed, int),
            cpsat_workers=(self.cpsat_workers, int),
            cache_bits=(self.cache_bits, int),
        )
        # an infinite limit had no end: over 63 scenes the local search runs until the limit passes
        if self.time_limit is not None and not 0 < self.time_limit < math.inf:
            raise ConfigError(
                f"time limit must be positive and finite (seconds; None for no limit), not {self.time_limit}"
            )
        if self.method not in ("dp", "cpsat"):
            raise ConfigError(f"method must be 'dp' or 'cpsat', not {self.method!r}")
        if self.memory_mb < 16:
            raise ConfigError(f"memory_mb must be at least 16, not {self.memory_mb}")
        if self.eager_bound not in (0, 1, 2) or not 4 <= self.cache_bits <= 28:
            raise ConfigError(
                "eager_bound must be 0, 1 or 2 and cache_bits 4..28, "
                f"not {self.eager_bound} and {self.cache_bits}"
            )
        if self.ils_iters < 0 or self.chunk < 1 or self.cpsat_workers < 1:
            raise ConfigError("ils_iters must be >= 0, chunk >= 1 and cpsat_workers >= 1")


@dataclass(frozen=True)
class _Arrays:
    """The reduced instance in the flat layout the kernels read."""

    n: int
    m: int
    full: np.uint64
    sc: npt.NDArray[np.uint64]
    cost: npt.NDArray[np.int64]
    dur: npt.NDArray[np.int64]
    base: npt.NDArray[np.int64]
    sa_ptr: npt.NDArray[np.int64]
    sa_idx: npt.NDArray[np.int64]
    sub_ptr: npt.NDArray[np.int64]
    sub_idx: npt.NDArray[np.int64]


def _arrays(red: Reduced) -> _Arrays:
    req = red.requires
    m, n = req.shape
    cost = red.costs.astype(np.int64)
    dur = red.durations.astype(np.int64)
    sa_ptr = np.zeros(n + 1, dtype=np.int64)
    sa_ptr[1:] = np.cumsum(req.sum(axis=0))
    sa_idx = np.concatenate([np.flatnonzero(req[:, s]) for s in range(n)] + [np.zeros(0, np.int64)])
    base = dur * (cost @ req.astype(np.int64)) if m else np.zeros(n, dtype=np.int64)
    words = n <= 64
    sc = np.zeros(m, dtype=np.uint64)
    if words:
        w = np.uint64(1) << np.arange(n, dtype=np.uint64)
        for a in range(m):
            sc[a] = np.bitwise_or.reduce(w[req[a]]) if req[a].any() else np.uint64(0)
    full = (np.uint64(1) << np.uint64(n)) - np.uint64(1) if n < 64 else np.uint64(2**64 - 1)
    # j dominates i when a(i) is a proper subset of a(j)
    sub_lists: list[list[int]] = []
    for i in range(n):
        ai = req[:, i]
        sub_lists.append(
            [j for j in range(n) if j != i and np.all(req[:, j] >= ai) and req[:, j].sum() > ai.sum()]
        )
    sub_ptr = np.zeros(n + 1, dtype=np.int64)
    sub_ptr[1:] = np.cumsum([len(x) for x in sub_lists])
    sub_idx = np.array([j for x in sub_lists for j in x], dtype=np.int64)
    return _Arrays(
        n,
        m,
        full,
        sc,
        cost,
        dur,
        base.astype(np.int64),
        sa_ptr,
        sa_idx.astype(np.int64),
        sub_ptr,
        sub_idx,
    )


def _solution(
    inst: TalentInstance,
    red: Reduced,
    order_red: npt.ArrayLike,
    *,
    lower_bound: int,
    optimal: bool,
    nodes: int,
    t0: float,
    method: str,
    status: str,
) -> TalentSolution:
    order = red.expand(order_red)
    total = inst.cost(order)
    lb = min(int(lower_bound), total)
    if optimal:
        lb = total
    return TalentSolution(
        order=tuple(order),
        order_ids=tuple(inst.scene_ids[s] for s in order),
        total_cost=total,
        holding_cost=total - inst.fixed_cost,
        optimal=optimal,
        lower_bound=lb,
        nodes=nodes,
        time_s=time.perf_counter() - t0,
        method=method,
        status=status,
    )


def solve_talent(
    inst: TalentInstance, config: TalentConfig | None = None, *, progress: Progress = SILENT
) -> TalentSolution:
    """Solve ``inst``: the proven optimum, or the best schedule found with a lower bound when stopped."""
    cfg = config or TalentConfig()
    if cfg.method == "cpsat":
        from .cpsat import solve_cpsat

        return solve_cpsat(inst, time_limit=cfg.time_limit, workers=cfg.cpsat_workers)
    t0 = time.perf_counter()
    deadline = None if cfg.time_limit is None else t0 + cfg.time_limit
    red = reduce_instance(inst)
    arr = _arrays(red)
    n, m = arr.n, arr.m
    if n <= 1 or m == 0:
        return _solution(
            inst,
            red,
            np.arange(n),
            lower_bound=0,
            optimal=True,
            nodes=0,
            t0=t0,
            method="dp",
            status="optimal",
        )
    fits = n <= 63  # the exact search keys states by a uint64 with one value kept free
    order_ub, ub = K.heuristic_order(
        n, m, arr.cost, arr.dur, arr.base, arr.sa_ptr, arr.sa_idx, arr.sc, arr.full, fits
    )
    best_order = np.asarray(order_ub, dtype=np.int64)
    # local search, then iterated local search in rounds, within a tenth of the time left after the greedy
    # start (the first compiled call: in a new process it loads the kernels, about 0.3-0.5 s, which had
    # used up the tenth of a limit under 5 s and left the greedy schedule as it was), or all of it when no
    # exact search follows (over 63 scenes). The first descent runs to its end up to 63 scenes (sweeps of
    # O(n^3 m), milliseconds there); over 63 scenes the clock is read between sweeps, after the first, so
    # that large instances stay within the limit
    t1 = time.perf_counter()
    ils_end = None if deadline is None else (t1 + 0.1 * max(0.0, deadline - t1) if fits else deadline)
    first = True
    while first or fits or ils_end is None or time.perf_counter() < ils_end:
        first = False
        new = K.descend(best_order, ub, n, m, arr.cost, arr.dur, arr.sa_ptr, arr.sa_idx, 1)
        if new >= ub:
            break
        ub = new
    left = cfg.ils_iters if n > 8 else 0
    if not fits and ils_end is not None:  # nothing follows: rounds until the time limit, however many
        left = max(left, 1 << 62)
    rnd = 0
    while left > 0 and (ils_end is None or time.perf_counter() < ils_end):
        step = min(10 if n <= 63 else 1, left)
        ub = K.improve_order(
            best_order, ub, n, m, arr.cost, arr.dur, arr.sa_ptr, arr.sa_idx, step, cfg.seed * 1000003 + rnd
        )
        left -= step
        rnd += 1
    ub = int(ub)
    fixed_red = int(arr.base.sum())
    if not fits:
        return _solution(
            inst,
            red,
            best_order,
            lower_bound=fixed_red + red.offset,
            optimal=ub == fixed_red,
            nodes=0,
            t0=t0,
            method="dp",
            status="optimal" if ub == fixed_red else "too_large",
        )
    h0 = int(
        K.lower_bound(
            arr.full, arr.full, n, m, arr.sc, arr.cost, arr.dur, arr.base, arr.sa_ptr, arr.sa_idx,
            np.zeros(m, dtype=np.int8), np.zeros(m), np.zeros(m, dtype=np.int64),
        )
    )  # fmt: skip
    if h0 >= ub:
        return _solution(
            inst, red, best_order, lower_bound=ub + red.offset, optimal=True, nodes=0, t0=t0,
            method="dp", status="optimal",
        )  # fmt: skip
    res = _search_front(arr, ub, h0, cfg, deadline, progress)
    if res.order is not None:
        best_order = res.order
    return _solution(
        inst,
        red,
        best_order,
        lower_bound=res.lower_bound + red.offset,
        optimal=res.status == "optimal",
        nodes=res.nodes,
        t0=t0,
        method="dp",
        status=res.status,
    )


@dataclass(frozen=True)
class _SearchResult:
    order: npt.NDArray[np.int64] | None  # None: nothing better than the heuristic's schedule
    lower_bound: int  # on the reduced instance's cost
    status: str
    nodes: int


def _search_front(
    arr: _Arrays, ub: int, h0: int, cfg: TalentConfig, deadline: float | None, progress: Progress
) -> _SearchResult:
    """Front-to-back best-first search in chunks: the clock is read, and the table or queue grown, between
    chunks; a full table at the memory cap stops the search with the best schedule and a lower bound."""
    n, m = arr.n, arr.m
    budget = cfg.memory_mb * 2**20
    # the lossy bound cache (16 bytes an entry) takes at most a sixteenth of the cap, out of it: 64 MiB of
    # the default 1 GiB; at a 16 MiB cap its fixed 64 MiB had made the peak 81 MiB
    cbits = min(cfg.cache_bits, max(4, n), max(4, int(np.log2(budget / 16 / 16))))
    budget -= (1 << cbits) * 16
    span = max(1, ub - h0 + 1)
    shift = max(0, int(np.ceil(np.log2(span))) - 22)
    nb = (span >> shift) + 1
    budget -= nb * 8
    max_cap = 1 << max(10, int(np.log2(max(budget, 2**20) * 0.6 / 32)))  # 32 bytes a row
    max_q = max(1 << 12, int(max(budget, 2**20) * 0.4 / 24))
    cap = min(1 << 16, max_cap)
    qcap = min(1 << 17, max_q)
    tab = np.zeros((cap, 4), dtype=np.int64)
    tab[:, 0] = K.EMPTY
    bhead = np.full(nb, -1, dtype=np.int64)
    e_slot = np.zeros(qcap, dtype=np.int64)
    e_g = np.zeros(qcap, dtype=np.int64)
    e_next = np.zeros(qcap, dtype=np.int64)
    ctr = np.zeros(8, dtype=np.int64)
    ub_arr = np.array([ub], dtype=np.int64)
    c_key = np.full(1 << cbits, -1, dtype=np.int64)
    c_val = np.zeros(1 << cbits, dtype=np.int64)
    K.dp_init(arr.full, tab, bhead, e_slot, e_g, e_next, ctr, np.int64(h0), np.int64(shift), np.int64(h0))
    status = "time_limit"
    # under a time limit a chunk is about 10 ms of expansions (the first 64, then at the rate measured):
    # 5,000 expansions at 63 scenes had taken 0.4 s past a 0.2 s limit; the chunks do not change the search
    step = cfg.chunk if deadline is None else min(cfg.chunk, 64)
    with progress.task("talent search (states expanded)", total=None) as task:
        while True:
            before = int(ctr[2])
            t_run = time.perf_counter()
            code = K.dp_run(
                n, m, arr.full, arr.sc, arr.cost, arr.dur, arr.base, arr.sa_ptr, arr.sa_idx, arr.sub_ptr,
                arr.sub_idx, tab, bhead, e_slot, e_g, e_next, ctr, ub_arr, np.int64(h0),
                np.int64(shift), step, int(cap * 0.7), cfg.eager_bound, c_key, c_val,
            )  # fmt: skip
            done = int(ctr[2]) - before
            task.advance(done)
            if deadline is not None and done > 0:
                took = time.perf_counter() - t_run
                step = max(1, min(cfg.chunk, round(done * 0.01 / max(took, 1e-6))))
            if code == K.EXHAUSTED:
                status = "optimal"
                break
            if code == K.TABLE_FULL:
                if cap >= max_cap:
                    status = "memory_limit"
                    break
                ncap = cap * 2
                ntab = np.zeros((ncap, 4), dtype=np.int64)
                ntab[:, 0] = K.EMPTY
                remap = np.zeros(cap, dtype=np.int64)
                K.dp_rehash(tab, ntab, remap)
                hw = int(ctr[7])
                e_slot[:hw] = remap[e_slot[:hw]]
                if ctr[3] >= 0:
                    ctr[3] = remap[ctr[3]]
                tab, cap = ntab, ncap
            elif code == K.HEAP_FULL:
                if qcap >= max_q:
                    status = "memory_limit"
                    break
                qcap = min(qcap * 2, max_q)
                e_slot = np.resize(e_slot, qcap)
                e_g = np.resize(e_g, qcap)
                e_next = np.resize(e_next, qcap)
            if deadline is not None and time.perf_counter() >= deadline:
                status = "time_limit"
                break
    ub = int(ub_arr[0])
    order = K.dp_trace(ctr[3], arr.full, tab, n) if ctr[3] >= 0 else None
    lb = ub
    if status != "optimal":
        lb = int(K.dp_open_min(tab, bhead, e_slot, e_g, e_next, ctr, np.int64(ub)))
    return _SearchResult(order=order, lower_bound=lb, status=status, nodes=int(ctr[2]))
