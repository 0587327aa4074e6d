"""The offline optimum: dynamic programming over the exact simulator with the whole trace known.

State after chunk k: the simulator's own state (trace pointer and clock, buffer) plus the last level and the
QoE so far. Every state is expanded with every level through the exact chunk step of
:mod:`reelkit.stream.abr.sim` (same arithmetic), and states are merged by the discretisation
``(elapsed wall time // time_step_s, buffer // buffer_step_s, level)``: of the paths that fall into one cell
only the one with the highest QoE so far survives. Everything else is exact, so the result is a real plan
whose QoE the simulator reproduces exactly (a lower bound on the true optimum that tightens as the cells
shrink; :func:`reelkit.stream.abr.evaluate.run_optimal` also keeps the best fixed policy's plan where that is
better, which the merged cells can lose by a fraction of a point). The default cells are 1 s of wall time
by 0.5 s of buffer: a few seconds per trace. Finer cells find better plans: on the 127 Pensieve train traces
(measured 2026-11-30) 0.25 s x 0.25 s cells raised a trace's total QoE by up to 0.80
(``trace_30637_http---www.amazon.com``: 122.05 -> 122.85), by 0.4 or more on 8 traces, and the mean over the
traces by 0.08 (39.01 -> 39.09, +0.2%); ``trace_797466_http---www.amazon.com`` gives 64.396 with the default
cells, 64.850 at 0.25 s and 64.967 at 0.1 s: the default is then 0.57 (0.9%) under what finer cells find,
and a share of "the optimum" computed with it reads that much high on such a trace.
Pensieve's own ``test/dp.cc`` uses 50 ms cells with floored download times instead (an optimistic bound).

Chunk 0 is fetched at the start level (as in the simulator); chunks 1..N-1 are chosen; the objective is
the scored QoE (chunks 1..N-1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np
from numba.typed import List

from reelkit.errors import ConfigError
from reelkit.stream.abr.base import Video
from reelkit.stream.abr.qoe import QoE, get_qoe
from reelkit.stream.abr.sim import PENSIEVE, Session, SimConfig, _chunk, _session_video, simulate_levels
from reelkit.stream.abr.traces import Trace

__all__ = ["MIN_CELL_S", "OptimalResult", "optimal_plan"]

#: the finest DP cell, seconds (finer ones overflow the 64-bit cell keys, merging unrelated states)
MIN_CELL_S = 1e-4
#: the most candidate states one chunk may expand to (about 0.5 GB); past it the cells are too fine
MAX_CANDIDATES = 8_000_000


@dataclass(frozen=True)
class OptimalResult:
    """The optimum's level sequence (chunk 0 first), its session, and the DP's size."""

    levels: np.ndarray
    session: Session
    dp_value: float
    max_states: int
    time_step_s: float
    buffer_step_s: float


@numba.njit(cache=True)
def _dp(
    times: np.ndarray,
    bw: np.ndarray,
    sizes: np.ndarray,
    q: np.ndarray,
    mu: float,
    smooth: float,
    n_chunks: int,
    start_level: int,
    ptr0: int,
    last_t0: float,
    chunk_ms: float,
    rtt_ms: float,
    payload: float,
    cap_ms: float,
    step_ms: float,
    t_cell_ms: float,
    b_cell_ms: float,
    lower_bound: float,
    q_max: float,
    max_candidates: int,
) -> tuple[np.ndarray, float, int]:
    n_levels = sizes.shape[0]
    nb = int(cap_ms / b_cell_ms) + 2
    delay, sleep, _rebuf, buf, ptr, lt = _chunk(
        times, bw, sizes[start_level, 0], ptr0, last_t0, 0.0, chunk_ms, rtt_ms, payload, cap_ms, step_ms, 1.0
    )
    s_ptr = np.array([ptr], dtype=np.int64)
    s_lt = np.array([lt])
    s_buf = np.array([buf])
    s_el = np.array([delay + sleep])
    s_lv = np.array([start_level], dtype=np.int64)
    s_r = np.array([0.0])
    parents = List()
    levels_hist = List()
    max_states = 1
    for k in range(1, n_chunks):
        n = s_ptr.shape[0]
        m = n * n_levels
        if m > max_candidates:  # the caller says the cells are too fine for this trace
            return np.empty(0, dtype=np.int64), -np.inf, -k
        c_ptr = np.empty(m, dtype=np.int64)
        c_lt = np.empty(m)
        c_buf = np.empty(m)
        c_el = np.empty(m)
        c_r = np.empty(m)
        keys = np.empty(m, dtype=np.int64)
        remaining = (n_chunks - 1 - k) * q_max
        for i in range(n):
            for lv in range(n_levels):
                d, s, rb, b2, p2, t2 = _chunk(
                    times,
                    bw,
                    sizes[lv, k],
                    s_ptr[i],
                    s_lt[i],
                    s_buf[i],
                    chunk_ms,
                    rtt_ms,
                    payload,
                    cap_ms,
                    step_ms,
                    1.0,
                )
                j = i * n_levels + lv
                c_ptr[j] = p2
                c_lt[j] = t2
                c_buf[j] = b2
                el = s_el[i] + d + s
                c_el[j] = el
                r = s_r[i] + (q[lv] - mu * (rb / 1000.0) - smooth * abs(q[lv] - q[s_lv[i]]))
                c_r[j] = r
                if r + remaining < lower_bound:
                    keys[j] = -1  # cannot beat a known plan
                else:
                    keys[j] = (np.int64(el / t_cell_ms) * nb + np.int64(b2 / b_cell_ms)) * n_levels + lv
        # stable: among states of equal QoE in a cell the first generated survives, so the pruned (-1) keys
        # cannot change which one does, and the bound never changes the answer
        order = np.argsort(keys, kind="mergesort")
        keep = np.empty(m, dtype=np.int64)
        nk = 0
        j = 0
        while j < m:
            key = keys[order[j]]
            best = order[j]
            j2 = j + 1
            while j2 < m and keys[order[j2]] == key:
                if c_r[order[j2]] > c_r[best]:
                    best = order[j2]
                j2 += 1
            if key >= 0:
                keep[nk] = best
                nk += 1
            j = j2
        if nk == 0:  # everything pruned (bound too tight): keep the best candidate
            keep[0] = np.argmax(c_r)
            nk = 1
        keep = keep[:nk]
        par = np.empty(nk, dtype=np.int64)
        lvs = np.empty(nk, dtype=np.int64)
        for t in range(nk):
            par[t] = keep[t] // n_levels
            lvs[t] = keep[t] % n_levels
        s_ptr = c_ptr[keep]
        s_lt = c_lt[keep]
        s_buf = c_buf[keep]
        s_el = c_el[keep]
        s_r = c_r[keep]
        s_lv = lvs
        parents.append(par)
        levels_hist.append(lvs)
        if nk > max_states:
            max_states = nk
    out = np.empty(n_chunks, dtype=np.int64)
    out[0] = start_level
    idx = np.argmax(s_r)
    value = s_r[idx]
    for k in range(n_chunks - 1, 0, -1):
        out[k] = levels_hist[k - 1][idx]
        idx = parents[k - 1][idx]
    return out, value, max_states


def optimal_plan(
    trace: Trace,
    video: Video,
    *,
    qoe: str | QoE = "lin",
    config: SimConfig = PENSIEVE,
    time_step_s: float = 1.0,
    buffer_step_s: float = 0.5,
    lower_bound: float | None = None,
) -> OptimalResult:
    """The best level sequence for ``trace`` (evaluation mode: first interval, no noise).

    ``lower_bound`` (the scored QoE of any known plan, e.g. robustMPC's) prunes states that cannot beat it
    even at the top bitrate from there on; it never changes the answer when it is a true achievable value.
    """
    if config.noise is not None or config.random_start:
        raise ConfigError("the offline optimum is defined for evaluation mode (no noise, first interval)")
    if not (MIN_CELL_S <= time_step_s < math.inf and MIN_CELL_S <= buffer_step_s < math.inf):
        raise ConfigError(f"DP cell sizes must be at least {MIN_CELL_S:g} s (and finite)")
    v = _session_video(video, config)
    q = get_qoe(qoe)
    qv = np.ascontiguousarray(q.quality(v.bitrates_kbps))
    start = min(config.start_level, v.n_levels - 1)
    lb = -np.inf if lower_bound is None else float(lower_bound) - 1e-6
    levels, value, max_states = _dp(
        trace.times_s,
        trace.mbps,
        np.ascontiguousarray(v.sizes),
        qv,
        q.rebuf_penalty,
        q.smooth_penalty,
        v.session_chunks,
        start,
        1,
        float(trace.times_s[0]),
        v.chunk_s * 1000.0,
        config.rtt_s * 1000.0,
        config.payload,
        config.buffer_cap_s * 1000.0,
        config.sleep_step_s * 1000.0,
        time_step_s * 1000.0,
        buffer_step_s * 1000.0,
        lb,
        float(np.max(qv)),
        MAX_CANDIDATES,
    )
    if max_states < 0:
        # suggest cells larger than the ones that failed (each side doubled: about a quarter of the states);
        # a bound prunes most states, so where none was given it is the other way out
        prune = (
            ""
            if lower_bound is not None
            else " or a lower_bound (`reelkit abr optimal` prunes with the best fixed policy's QoE, which "
            "keeps fewer states)"
        )
        raise ConfigError(
            f"DP cells of {time_step_s:g} s x {buffer_step_s:g} s merge too few states: chunk {-max_states} "
            f"would expand to more than {MAX_CANDIDATES:,}; give larger cells (e.g. {2 * time_step_s:g} s x "
            f"{2 * buffer_step_s:g} s; the default is 1 s x 0.5 s){prune}"
        )
    session = simulate_levels(levels, trace, v, qoe=q, config=config)
    return OptimalResult(levels, session, float(value), int(max_states), time_step_s, buffer_step_s)
