"""Stochastic MPC on a learned throughput distribution (Fugu: Yan et al., NSDI 2020).

At every decision the learned predictor (:class:`~reelkit.stream.abr.ttp.ThroughputDistribution`, or by
default an :class:`~reelkit.stream.abr.ttp.EnsembleDistribution` of two) gives, for each level and each of
the next ``horizon`` chunks, a distribution over ``K`` throughputs. Backward induction over a buffer grid
(``buffer_step_s``, linear interpolation) and the last level maximises the *expected* QoE over the horizon,
choosing each later chunk after its predecessor's outcome is known (closed loop, as Fugu's value iteration).
The plan model: download time = size / throughput (the throughput is measured with the RTT, so it includes
it), stall = max(download - buffer, 0), buffer capped at 60 s.

``smooth_weight`` and ``rebuf_weight`` scale the QoE's switch and stall penalties *in the plan only* (scoring
is unchanged): re-planning every chunk on noisy forecasts switches more often than any single plan intends,
and a heavier planned switch cost offsets that. That surcharge pays for switches that later re-plans would
undo, so it shrinks as the session runs out of re-plans: with ``smooth_fade_chunks = R > 0`` the planned
multiplier fades linearly from ``smooth_weight`` to 1 (the true cost) over the last ``R`` chunks. Without the
fade the policy ended sessions on buffer it never spent (20-30 s on steady traces, where the offline optimum
ends on 5-10 s), because a step up near the end cost three times what it does. :meth:`StochasticMPC.train`
fits ``R`` on its training traces.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from pathlib import Path

import numba
import numpy as np
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from reelkit.errors import ConfigError, ModelFormatError
from reelkit.progress import SILENT, Progress
from reelkit.stream.abr.base import AbrPolicy, Observation, Video
from reelkit.stream.abr.predictors import measured_mbyteps
from reelkit.stream.abr.qoe import get_qoe
from reelkit.stream.abr.sim import PENSIEVE, SimConfig, simulate
from reelkit.stream.abr.traces import Trace
from reelkit.stream.abr.ttp import (
    EnsembleDistribution,
    ThroughputDistribution,
    collect_sessions,
    load_distribution,
    load_npz,
    save_npz,
)

__all__ = ["ENSEMBLE_MEMBERS", "SMOOTH_FADE_CANDIDATES", "TUNED_SMOOTH_WEIGHT", "StochasticMPC"]

#: planned switch-cost multiplier that :meth:`StochasticMPC.train` gives its policy: chosen by nested
#: cross-validation on training traces only (``benchmarks/tune_abr.py``; see benchmarks/RESULTS.d/abr.md)
TUNED_SMOOTH_WEIGHT = 3.0

#: candidate lengths (chunks) of the end-of-session fade of that multiplier; :meth:`StochasticMPC.train`
#: keeps the one with the best mean QoE on its own training traces (0: no fade)
SMOOTH_FADE_CANDIDATES = (0, 8, 12, 16, 20, 24)

#: predictors in the trained ensemble (:meth:`StochasticMPC.train`); see benchmarks/RESULTS.d/abr.md
ENSEMBLE_MEMBERS = 2

#: most buffer steps (``buffer_cap_s / buffer_step_s``) a loaded model may plan over: the default is 120
#: (0.5 s to 60 s); a step of 1e-9 s asked for 6e10 and failed on memory
MAX_BUFFER_STEPS = 10_000


@numba.njit(cache=True)
def _interp(v: np.ndarray, b: float, step: float, lv: int) -> float:
    x = b / step
    i = int(x)
    nb = v.shape[0]
    if i >= nb - 1:
        return float(v[nb - 1, lv])
    f = x - i
    return float(v[i, lv] * (1.0 - f) + v[i + 1, lv] * f)


@numba.njit(cache=True)
def _smpc(
    sizes: np.ndarray,
    probs: np.ndarray,
    thr: np.ndarray,
    q: np.ndarray,
    mu: float,
    smooth: float,
    last_level: int,
    buffer_s: float,
    chunk_s: float,
    cap_s: float,
    step: float,
    n_eff: int,
    terminal_weight: float,
) -> int:
    n_levels = sizes.shape[0]
    k_bins = thr.shape[0]
    nb = int(cap_s / step) + 1
    v_next = np.zeros((nb, n_levels))
    v_cur = np.zeros((nb, n_levels))
    for bi in range(nb):  # value of the buffer left at the end of the horizon
        for lv in range(n_levels):
            v_next[bi, lv] = terminal_weight * bi * step
    for h in range(n_eff - 1, 0, -1):
        for bi in range(nb):
            b = bi * step
            for last in range(n_levels):
                best = -1e300
                for lv in range(n_levels):
                    val = q[lv] - smooth * abs(q[lv] - q[last])
                    for k in range(k_bins):
                        p = probs[lv, h, k]
                        if p < 1e-5:
                            continue
                        dt = sizes[lv, h] / (thr[k] * 1e6)
                        rb = dt - b
                        if rb > 0:
                            nb2 = chunk_s
                        else:
                            rb = 0.0
                            nb2 = b - dt + chunk_s
                        if nb2 > cap_s:
                            nb2 = cap_s
                        val += p * (-mu * rb + _interp(v_next, nb2, step, lv))
                    if val > best:
                        best = val
                v_cur[bi, last] = best
        for bi in range(nb):
            for last in range(n_levels):
                v_next[bi, last] = v_cur[bi, last]
    best = -1e300
    choice = 0
    for lv in range(n_levels):
        val = q[lv] - smooth * abs(q[lv] - q[last_level])
        for k in range(k_bins):
            p = probs[lv, 0, k]
            dt = sizes[lv, 0] / (thr[k] * 1e6)
            rb = dt - buffer_s
            if rb > 0:
                nb2 = chunk_s
            else:
                rb = 0.0
                nb2 = buffer_s - dt + chunk_s
            if nb2 > cap_s:
                nb2 = cap_s
            cont = _interp(v_next, nb2, step, lv)
            val += p * (-mu * rb + cont)
        if val > best:
            best = val
            choice = lv
    return choice


def _session_config(video: Video) -> SimConfig:
    """The simulator's settings with sessions of the length the video was given (``Video.with_session``),
    else the simulator's default (48 chunks, as Pensieve's)."""
    if video.total_chunks > 0:
        return dataclasses.replace(PENSIEVE, total_chunks=video.total_chunks)
    return PENSIEVE


class StochasticMPC(AbrPolicy):
    """Fugu-style stochastic MPC (see the module docstring)."""

    name = "fugu"

    def __init__(
        self,
        predictor: ThroughputDistribution | EnsembleDistribution,
        *,
        horizon: int = 20,
        buffer_step_s: float = 0.5,
        qoe: str = "lin",
        buffer_cap_s: float = 60.0,
        terminal_weight: float = 0.0,
        smooth_weight: float = 1.0,
        rebuf_weight: float = 1.0,
        smooth_fade_chunks: int = 0,
    ) -> None:
        super().__init__()
        if horizon < 1:
            raise ConfigError(f"horizon must be >= 1; got {horizon}")
        if smooth_fade_chunks < 0:
            raise ConfigError(f"smooth_fade_chunks must be >= 0; got {smooth_fade_chunks}")
        self.predictor = predictor
        self.horizon = int(horizon)
        self.buffer_step_s = float(buffer_step_s)
        self.qoe = get_qoe(qoe)
        self.buffer_cap_s = float(buffer_cap_s)
        self.terminal_weight = float(terminal_weight)
        self.smooth_weight = float(smooth_weight)
        self.rebuf_weight = float(rebuf_weight)
        self.smooth_fade_chunks = int(smooth_fade_chunks)
        self.tputs: list[float] = []
        self.downloads: list[float] = []
        self._q = np.zeros(1)

    def reset(self, video: Video) -> None:
        super().reset(video)
        self.tputs, self.downloads = [], []
        self._q = np.ascontiguousarray(self.qoe.quality(video.bitrates_kbps))

    def planned_smooth_weight(self, chunks_left: int) -> float:
        """The switch-cost multiplier planned with ``chunks_left`` chunks to fetch (this one included):
        ``smooth_weight``, fading linearly to 1 over the last ``smooth_fade_chunks``."""
        r = self.smooth_fade_chunks
        if r <= 0 or chunks_left >= r:
            return self.smooth_weight
        return 1.0 + (self.smooth_weight - 1.0) * max(chunks_left, 0) / r

    def choose(self, obs: Observation) -> int:
        v = self._require_video()
        if obs.chunk_index == 0:
            return self.first_level()
        self.tputs.append(measured_mbyteps(obs))
        self.downloads.append(float(obs.last_download_s))
        n_eff = min(self.horizon, v.session_chunks - obs.chunk_index)
        if n_eff <= 0:
            return int(obs.last_level)
        sizes = np.zeros((v.n_levels, n_eff))
        for h in range(n_eff):
            i = min(obs.chunk_index + h, v.n_chunks - 1)
            sizes[:, h] = v.sizes[:, i]
        rows, hm = self.predictor.rows(self.tputs, self.downloads, sizes)
        probs = self.predictor.predict(rows).reshape(v.n_levels, n_eff, -1)
        thr = hm * np.exp(self.predictor.centers)
        return int(
            _smpc(
                np.ascontiguousarray(sizes),
                np.ascontiguousarray(probs),
                thr,
                self._q,
                self.qoe.rebuf_penalty * self.rebuf_weight,
                self.qoe.smooth_penalty * self.planned_smooth_weight(v.session_chunks - obs.chunk_index),
                int(obs.last_level),
                float(obs.buffer_s),
                v.chunk_s,
                self.buffer_cap_s,
                self.buffer_step_s,
                n_eff,
                self.terminal_weight,
            )
        )

    @classmethod
    def train(
        cls,
        traces: Sequence[Trace],
        video: Video,
        *,
        seed: int = 0,
        episodes: int = 6,
        epochs: int = 60,
        horizon: int = 20,
        max_lag: int = 20,
        members: int = ENSEMBLE_MEMBERS,
        noise: bool = False,
        smooth_weight: float = TUNED_SMOOTH_WEIGHT,
        rebuf_weight: float = 1.0,
        smooth_fades: Sequence[int] = SMOOTH_FADE_CANDIDATES,
        progress: Progress = SILENT,
    ) -> StochasticMPC:
        """Collect training-mode sessions on ``traces`` and fit the throughput distribution (seeded);
        ``max_lag > 1`` predicts each horizon step's own distribution (as Fugu does), not one for all.
        With ``members > 1`` the predictor is an ensemble: member ``i`` has seed ``seed + 1000 i`` and its
        own sessions. ``noise`` turns on ``sim/env.py``'s 0.9-1.1 delay noise in those sessions (off by
        default: evaluation runs without it, and predictors trained without it are sharper; random starts
        stay on). Then the end-of-session fade of the switch surcharge is fitted: each of ``smooth_fades``
        plays every training trace (evaluation mode), and the best mean QoE wins (ties: the shorter fade).
        Sessions have the length the video was given (``Video.with_session``; else the simulator's 48): the
        default held them, whatever ``abr train --chunks`` said.
        """
        if members < 1:
            raise ConfigError(f"members must be >= 1; got {members}")
        if not smooth_fades or min(smooth_fades) < 0:
            raise ConfigError(f"smooth_fades must be chunk counts >= 0; got {list(smooth_fades)}")
        nets: list[ThroughputDistribution] = []
        with threadpool_limits(1):  # tiny matrices: extra BLAS threads only contend
            for i in range(members):
                s = seed + 1000 * i
                sessions = collect_sessions(
                    traces, video, episodes=episodes, seed=s, noise=noise, config=_session_config(video)
                )
                nets.append(
                    ThroughputDistribution.fit(
                        sessions, epochs=epochs, seed=s, max_lag=max_lag, progress=progress
                    )
                )
        ttp: ThroughputDistribution | EnsembleDistribution = (
            nets[0] if members == 1 else EnsembleDistribution(nets)
        )
        policy = cls(ttp, horizon=horizon, smooth_weight=smooth_weight, rebuf_weight=rebuf_weight)
        policy.smooth_fade_chunks = policy._best_fade(traces, video, smooth_fades, progress)
        return policy

    def _best_fade(
        self, traces: Sequence[Trace], video: Video, fades: Sequence[int], progress: Progress
    ) -> int:
        """The fade (of ``fades``) under which this policy's mean QoE over ``traces`` is highest."""
        candidates = sorted(set(int(f) for f in fades))
        if len(candidates) == 1:
            return candidates[0]
        scores = []
        with (
            threadpool_limits(1),
            progress.task("fitting the switch-cost fade", total=len(candidates) * len(traces)) as bar,
        ):
            for fade in candidates:
                pol = self.fresh()
                pol.smooth_fade_chunks = fade
                total = 0.0
                for tr in traces:
                    total += simulate(
                        pol, tr, video, qoe=self.qoe.name, config=_session_config(video)
                    ).qoe_sum
                    bar.advance()
                scores.append(total / max(len(traces), 1))
        return candidates[int(np.argmax(scores))]

    def fresh(self) -> StochasticMPC:
        """A new policy with this one's predictor and settings and no session state (the predictor is
        shared, read-only: a loaded model serves many sessions without being read again)."""
        return StochasticMPC(
            self.predictor,
            horizon=self.horizon,
            buffer_step_s=self.buffer_step_s,
            qoe=self.qoe.name,
            buffer_cap_s=self.buffer_cap_s,
            terminal_weight=self.terminal_weight,
            smooth_weight=self.smooth_weight,
            rebuf_weight=self.rebuf_weight,
            smooth_fade_chunks=self.smooth_fade_chunks,
        )

    def save(self, path: str | Path) -> None:
        meta = {
            "kind": "fugu",
            "format": 1,
            "horizon": self.horizon,
            "buffer_step_s": self.buffer_step_s,
            "qoe": self.qoe.name,
            "buffer_cap_s": self.buffer_cap_s,
            "terminal_weight": self.terminal_weight,
            "smooth_weight": self.smooth_weight,
            "rebuf_weight": self.rebuf_weight,
            "smooth_fade_chunks": self.smooth_fade_chunks,
        }
        save_npz(path, self.predictor.to_arrays(), meta)

    @classmethod
    def load(cls, path: str | Path) -> StochasticMPC:
        arrays, meta = load_npz(path, "fugu")
        try:
            return cls._from_saved(arrays, meta)
        except (KeyError, TypeError, ValueError, ConfigError) as exc:
            raise ModelFormatError(
                f"{path}: a damaged fugu model ({exc!r} missing or invalid); retrain it"
            ) from None
        except ModelFormatError as exc:
            raise ModelFormatError(f"{path}: {exc}; retrain it") from None

    @classmethod
    def _from_saved(cls, arrays: dict[str, np.ndarray], meta: dict[str, object]) -> StochasticMPC:
        for key in ("buffer_step_s", "buffer_cap_s"):  # 0 divided, a negative one sized arrays below zero
            if not 0 < float(meta[key]) < math.inf:  # type: ignore[arg-type]
                raise ValueError(f"{key} {meta[key]!r} is not a positive number of seconds")
        step, cap = float(meta["buffer_step_s"]), float(meta["buffer_cap_s"])  # type: ignore[arg-type]
        if cap / step > MAX_BUFFER_STEPS:
            raise ModelFormatError(
                f"buffer_step_s {step:g} cuts buffer_cap_s {cap:g} into {cap / step:.3g} steps, more than "
                f"{MAX_BUFFER_STEPS:,}"
            )
        for key in ("terminal_weight", "smooth_weight", "rebuf_weight"):  # NaN planned level 0 for ever
            if key in meta and not math.isfinite(float(meta[key])):  # type: ignore[arg-type]
                raise ModelFormatError(f"{key} {meta[key]!r} is not a finite number")
        return cls(
            load_distribution(arrays),
            horizon=int(meta["horizon"]),  # type: ignore[call-overload]
            buffer_step_s=float(meta["buffer_step_s"]),  # type: ignore[arg-type]
            qoe=str(meta["qoe"]),
            buffer_cap_s=float(meta["buffer_cap_s"]),  # type: ignore[arg-type]
            terminal_weight=float(meta.get("terminal_weight", 0.0)),  # type: ignore[arg-type]
            smooth_weight=float(meta.get("smooth_weight", 1.0)),  # type: ignore[arg-type]
            rebuf_weight=float(meta.get("rebuf_weight", 1.0)),  # type: ignore[arg-type]
            smooth_fade_chunks=int(meta.get("smooth_fade_chunks", 0)),  # type: ignore[call-overload]
        )
