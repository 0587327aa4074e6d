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
  (cues keep their order and do not pile up). Exact optimum of that objective (Viterbi with a
  running maximum), O(cues x offsets).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["ActivityReference", "Placement", "offset_scores", "split_fit"]

F64 = npt.NDArray[np.float64]


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
    """A scored placement of the cues: scale, one offset per cue, and the total score."""

    scale: float
    offsets: F64
    score: float


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
) -> Placement:
    """Piecewise-constant offsets, one per cue, maximising the summed cue scores minus ``split_penalty``
    per change of offset between consecutive cues (cues taken in order of start; at a change of offset a cue
    may not start before the previous one ends).

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
    arange = np.arange(n_off)
    v_prev = np.zeros(n_off)
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
        take = jump > v_prev
        v_prev = f + np.where(take, jump, v_prev)
        back[i] = np.where(take, pa[src], arange)
    k = int(np.argmax(v_prev))
    best = float(v_prev[k])
    path = np.zeros(n, dtype=np.int64)
    for i in range(n - 1, -1, -1):
        path[i] = k
        k = int(back[i, k])
    offsets = np.empty(n)
    offsets[order] = grid[path]
    return Placement(scale, offsets, best)
