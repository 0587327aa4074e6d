"""Alignment of subtitle cues to a reference activity signal: global fit and piecewise (split) fit.

The reference is a speech-activity probability ``v(t)`` in [0, 1] on a grid of ``dt`` seconds (from a
voice-activity detector, or from a well-timed reference subtitle file); outside the media ``v = 0``. A set
of cues ``[a_i, b_i)`` with weights ``w_i`` is placed by ``t -> s * t + o`` and scored by

    S(s, o) = sum_i w_i * integral over [s a_i + o, s b_i + o] of (2 v(t) - 1) dt          (seconds)

— a second of cue over speech earns +1, a second of cue over silence costs 1. Up to terms that do not
depend on the placement this is the dot product of the +/-1 subtitle and speech signals that ffsubsync
maximises, and the interval-overlap score of alass. With ``C`` the running integral of ``2v - 1``, each cue
costs two look-ups, so any placement is scored in O(cues).

* :func:`offset_scores` — ``S(s, o)`` for every offset on the grid in a range, by FFT cross-correlation of
  the rasterised cue signal with ``2v - 1`` (O(n log n) for all offsets at once).
* :func:`split_fit` — piecewise offsets by dynamic programming over the cues in time order (the idea of
  alass): each cue takes an offset from a grid; consecutive cues pay ``split_penalty`` (seconds of score)
  when their offsets differ; a change of offset may not make a cue start before the previous one ends
  (cues keep their order and do not pile up). A scene cut from the media whose cues are still in the file
  needs the offset to fall by the cut's length where those cues stand: up to ``max_drop`` cues before a
  change of offset may be *dropped* (their audio is gone), each costing half a cue over silence, plus a
  second ``split_penalty`` (other programmes' files otherwise drop cues to fit better). At the full cost
  of a cue over silence a cut scene's cues laid over a pause cost the same as dropping them, and over
  other speech less, so the fit showed them and dropped real cues instead (or never fitted a cut). Such a
  jump starts from the best offset so far at the cue before the dropped ones and falls by at least the
  dropped cues' span less a second. Exact optimum of that objective but for the last restriction
  (Viterbi with a running maximum), O(cues x offsets).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["DROP_FACTOR", "ActivityReference", "Placement", "offset_scores", "split_fit"]

F64 = npt.NDArray[np.float64]
#: What a cue dropped at a cut costs, as a share of what it would cost laid over silence
DROP_FACTOR = 0.5


@dataclass(frozen=True)
class ActivityReference:
    """``2 v - 1`` on a grid of ``dt`` seconds from time 0, and its running integral."""

    dt: float
    v: F64  # speech probability per grid step
    #: Where the programme the signal describes begins: a reference subtitle file on a 10:00:00 timeline
    #: starts at its first cue, not at 0 (ten hours of "silence" made any short reel "almost no speech").
    start_s: float = 0.0

    @property
    def duration_s(self) -> float:
        return float(len(self.v) * self.dt)

    @property
    def speech_fraction(self) -> float:
        """The share of the programme (from ``start_s``) that is speech: a cue's overlap by chance."""
        v = self.v[min(len(self.v), int(self.start_s / self.dt)) :]
        return float(v.mean()) if len(v) else 0.0

    def cumulative(self) -> F64:
        y = 2.0 * self.v - 1.0
        return np.concatenate([[0.0], np.cumsum(y) * self.dt])

    def speech_integral_at(self, cum_v: F64, t: F64) -> F64:
        """The integral of ``v`` from 0 to ``t`` (``cum_v`` from :meth:`cumulative_v`)."""
        return _lerp(cum_v, np.clip(np.asarray(t, dtype=np.float64), 0.0, self.duration_s) / self.dt)

    def coarsen(self, factor: int) -> ActivityReference:
        """The same signal on a grid ``factor`` times coarser (means over each group of steps), for fast
        wide searches whose result is then refined on the fine grid."""
        if factor <= 1:
            return self
        n = len(self.v) // factor * factor
        v = self.v[:n].reshape(-1, factor).mean(axis=1)
        if n < len(self.v):
            v = np.concatenate([v, [self.v[n:].mean()]])
        return ActivityReference(self.dt * factor, v, self.start_s)

    def cumulative_v(self) -> F64:
        return np.concatenate([[0.0], np.cumsum(self.v) * self.dt])


def _lerp(table: F64, pos: F64) -> F64:
    """``table`` linearly interpolated at fractional indices ``pos`` (clipped to the table)."""
    pos = np.clip(pos, 0.0, len(table) - 1.0)
    i = np.minimum(pos.astype(np.int64), len(table) - 2) if len(table) > 1 else np.zeros(pos.shape, np.int64)
    frac = pos - i
    if len(table) == 1:
        return np.full(pos.shape, table[0])
    lo = table[i]
    return np.asarray(lo + frac * (table[i + 1] - lo), dtype=np.float64)


def _c_at(ref: ActivityReference, cum: F64, t: F64) -> F64:
    """Running integral of ``2v - 1`` at times ``t``; ``v = 0`` (so ``2v - 1 = -1``) outside the media."""
    t = np.asarray(t, dtype=np.float64)
    end = ref.duration_s
    inside = _lerp(cum, np.clip(t, 0.0, end) / ref.dt)
    # before 0: C(t) = -t (integrating -1 backwards); after the end: C(end) - (t - end)
    return inside - np.maximum(t - end, 0.0) + np.maximum(-t, 0.0)


@dataclass(frozen=True)
class Placement:
    """A scored placement of the cues: scale, one offset per cue, and the total score; ``dropped`` marks
    the cues dropped at a cut (their offset is that of the cue before them)."""

    scale: float
    offsets: F64
    score: float
    dropped: npt.NDArray[np.bool_] | None = None


def cue_scores(
    ref: ActivityReference, cum: F64, starts: F64, ends: F64, weights: F64, scale: float, offsets: F64
) -> F64:
    """Per-cue score ``w_i * (C(s b_i + o_i) - C(s a_i + o_i))`` (``offsets`` broadcast against cues)."""
    return weights * (_c_at(ref, cum, scale * ends + offsets) - _c_at(ref, cum, scale * starts + offsets))


def offset_scores(
    ref: ActivityReference,
    starts: F64,
    ends: F64,
    weights: F64,
    scale: float,
    lo: float,
    hi: float,
) -> tuple[F64, F64]:
    """``(offsets, S(scale, offset))`` for offsets on the ``dt`` grid in ``[lo, hi]``, by FFT correlation.

    Cues are rasterised on the grid (each step counts the weights of the cues that cover its centre); the
    reference is padded with ``-1`` beyond the media so cues placed outside it are penalised.
    """
    from scipy.signal import correlate

    dt = ref.dt
    a = scale * starts
    b = scale * ends
    u0 = float(np.floor(a.min() / dt) * dt) if len(a) else 0.0
    m = round((b.max() - u0) / dt) + 1 if len(b) else 1
    x = np.zeros(m + 1, dtype=np.float64)
    ia = np.clip(np.round((a - u0) / dt).astype(np.int64), 0, m)
    ib = np.clip(np.round((b - u0) / dt).astype(np.int64), 0, m)
    np.add.at(x, ia, weights)
    np.add.at(x, ib, -weights)
    x = np.cumsum(x)[:m]
    k_lo = int(np.floor(lo / dt))
    k_hi = int(np.ceil(hi / dt))
    # Y_ext covers times [u0 + k_lo dt, u0 + (m + k_hi) dt)
    start_t = u0 + k_lo * dt
    n_ext = m + (k_hi - k_lo)
    idx0 = round(start_t / dt)
    idx = idx0 + np.arange(n_ext)
    y = 2.0 * ref.v - 1.0
    inside = (idx >= 0) & (idx < len(y))
    y_ext = np.full(n_ext, -1.0)
    y_ext[inside] = y[idx[inside]]
    corr = np.asarray(correlate(y_ext, x, mode="valid", method="fft"), dtype=np.float64) * dt
    offs = start_t - u0 + np.arange(len(corr), dtype=np.float64) * dt
    return offs, corr


def split_fit(
    ref: ActivityReference,
    cum: F64,
    starts: F64,
    ends: F64,
    weights: F64,
    scale: float,
    center: float,
    radius: float,
    *,
    step: float = 0.1,
    split_penalty: float = 6.0,
    max_drop: int = 16,
    drop_factor: float = DROP_FACTOR,
) -> Placement:
    """Piecewise-constant offsets, one per cue, maximising the summed cue scores minus ``split_penalty``
    per change of offset between consecutive cues (cues taken in order of start; at a change of offset a cue
    may not start before the previous kept one ends, and up to ``max_drop`` cues just before it may be
    dropped, each costing ``drop_factor`` times a cue over silence (one that would start past the media's
    end at the offset before it: as much as over silence), for a second ``split_penalty``).

    Offsets are searched on a grid of ``step`` seconds in ``[center - radius, center + radius]``.
    """
    n = len(starts)
    order = np.argsort(starts, kind="stable")
    a = starts[order]
    b = ends[order]
    w = weights[order]
    grid = center + np.arange(-round(radius / step), round(radius / step) + 1) * step
    n_off = len(grid)
    idx_dtype = np.int16 if n_off < 32767 else np.int32
    back = np.zeros((n, n_off), dtype=idx_dtype)
    skip = np.zeros((n, n_off), dtype=np.int8)  # cues dropped just before cue i on the best path to (i, k)
    max_drop = max(0, min(max_drop, 127))
    arange = np.arange(n_off)
    v_prev = np.zeros(n_off)
    # running maxima (and where they are) of the last cues' values, for jumps over dropped cues (cue i's in
    # row i % ring)
    ring = max_drop + 1
    hist_pm = np.zeros((ring, n_off))
    hist_pa = np.zeros((ring, n_off), dtype=np.intp)
    cue_time = w * scale * np.maximum(b - a, 0.0)
    drop_cost = drop_factor * cue_time
    time_sum = np.concatenate([[0.0], np.cumsum(cue_time)])  # the cues' time before cue i: time_sum[i]
    end = ref.duration_s
    # C on the fine grid over every time a cue edge can reach; each cue then reads two strided rows of it
    ratio = round(step / ref.dt)
    strided = ratio >= 1 and abs(ratio * ref.dt - step) < 1e-9
    i_lo = int(np.floor((scale * min(a.min(), b.min()) + grid[0]) / ref.dt)) - 2
    i_hi = int(np.ceil((scale * max(a.max(), b.max()) + grid[-1]) / ref.dt)) + 3
    t_ext = (i_lo + np.arange(i_hi - i_lo, dtype=np.float64)) * ref.dt
    c_ext = _c_at(ref, cum, t_ext) if strided else cum

    def edge(t0: float) -> F64:
        if not strided:
            return _c_at(ref, cum, np.asarray(t0 + grid, dtype=np.float64))
        pos = (t0 + grid[0]) / ref.dt - i_lo
        k = int(np.floor(pos))
        frac = pos - k
        lo_row = c_ext[k : k + ratio * n_off : ratio]
        hi_row = c_ext[k + 1 : k + 1 + ratio * n_off : ratio]
        return np.asarray(lo_row + frac * (hi_row - lo_row), dtype=np.float64)

    for i in range(n):
        f = w[i] * (edge(scale * b[i]) - edge(scale * a[i]))
        if i == 0:
            v_prev = f
            back[i] = arange
            continue
        # a jump from offset k' to k must not make cue i start before cue i-1 ends:
        # s a_i + g_k >= s b_{i-1} + g_k'  <=>  k' <= k + s (a_i - b_{i-1}) / step
        gap = int(np.floor(scale * (a[i] - b[i - 1]) / step + 1e-9))
        pm = np.maximum.accumulate(v_prev)
        pa = np.maximum.accumulate(np.where(v_prev >= pm, arange, 0))
        src = arange + gap
        ok = src >= 0
        src = np.clip(src, 0, n_off - 1)
        jump = np.where(ok, pm[src] - split_penalty, -np.inf)
        jump_src = pa[src]
        jump_skip = np.zeros(n_off, dtype=np.int8)
        # or drop cues i-d .. i-1 and jump from cue j = i-d-1 (the room is then from the end of cue j) to an
        # offset lower by at least the dropped cues' span less a second (what a cut of their scene removes).
        # Keeping the dropped cues where cue j was instead scores at least minus their time, so such a jump
        # can only win at an offset k where the running maximum of the previous cue's values rises by over
        # split_penalty (less what dropping saves on cues over silence) from k + gap to k + gap_d.
        hist_pm[(i - 1) % ring], hist_pa[(i - 1) % ring] = pm, pa
        n_d = min(max_drop, i - 1)
        if n_d > 0:
            ds = np.arange(1, n_d + 1)
            gaps = np.floor(scale * (a[i] - b[i - ds - 1]) / step + 1e-9).astype(np.intp)
            widest = int(gaps.max())
            # a dropped cue costs less than one over silence (drop_factor < 1): the drop may win by that much
            slack = (1.0 - drop_factor) * float(cue_time[i - n_d : i].sum())
            ks = np.flatnonzero(
                ~ok  # k + gap before the grid: no plain jump at all
                | (pm[np.minimum(arange + widest, n_off - 1)] - pm[src] > split_penalty - slack)
            )
            ks = ks[ks + widest >= 0]
        cost = 2 * split_penalty
        for d in range(1, n_d + 1 if n_d > 0 and len(ks) else 0):
            cost += float(drop_cost[i - d])
            gap_d = int(gaps[d - 1])
            if gap_d <= gap:
                continue
            least = int(np.ceil((scale * (b[i - 1] - a[i - d]) - 1.0) / step))
            row = (i - 1 - d) % ring
            src_d = np.minimum(ks + gap_d, n_off - 1)
            from_k = hist_pa[row][np.maximum(src_d, 0)]
            # a dropped cue past the media's end (at the offset before it) costs what keeping it costs: it
            # was not heard at all (an excerpt, a cut-short download), and dropping such cues at the cut
            # rate hid 16 real cues of a programme's first 180 s as a "cut scene"
            first_past = np.maximum(np.searchsorted(a, (end - grid[from_k]) / scale, side="left"), i - d)
            unheard = (1.0 - drop_factor) * (time_sum[i] - time_sum[np.minimum(first_past, i)])
            cand = hist_pm[row][np.maximum(src_d, 0)] - cost - unheard
            cand[(src_d < 0) | (from_k - ks < least)] = -np.inf
            better = cand > jump[ks]
            if better.any():
                kb = ks[better]
                jump[kb] = cand[better]
                jump_src[kb] = from_k[better]
                jump_skip[kb] = d
        take = jump > v_prev
        v_prev = f + np.where(take, jump, v_prev)
        back[i] = np.where(take, jump_src, arange)
        skip[i] = np.where(take, jump_skip, 0)
    k = int(np.argmax(v_prev))
    best = float(v_prev[k])
    path = np.zeros(n, dtype=np.int64)
    drop = np.zeros(n, dtype=bool)
    i = n - 1
    while i >= 0:
        path[i] = k
        d = int(skip[i, k])
        k = int(back[i, k])
        path[i - d : i] = k  # dropped cues keep the offset of the cue before them
        drop[i - d : i] = True
        i -= d + 1
    offsets = np.empty(n)
    offsets[order] = grid[path]
    dropped = np.zeros(n, dtype=bool)
    dropped[order] = drop
    return Placement(scale, offsets, best, dropped)
