"""The community's ABR baselines, each behind the per-step :class:`~reelkit.stream.abr.base.AbrPolicy`.

* :class:`RateBased`: highest level whose bitrate is at most the harmonic mean of the last 5 throughputs.
* :class:`BBA` (Huang et al., SIGCOMM 2014) as Pensieve's ``test/bb.py``: level 0 below a 5 s reservoir,
  the top level above reservoir + 10 s cushion, linear (floored) in between.
* :class:`Bola` (Spiteri et al., INFOCOM 2016), BOLA-BASIC with dash.js's parameter choice: utilities
  ``ln(bitrate / lowest) + 1``, ``gp = (u_max - 1) / (target / 10 s - 1)``, ``V = 10 s / gp`` so that the
  lowest level is chosen below 10 s of buffer and the highest from ``target`` (22 s for 6 levels) upward;
  picks ``argmax (V (u_m + gp) - buffer) / bitrate_m``.
* :class:`MPC` / robustMPC (Yin et al., SIGCOMM 2015) as Pensieve's ``test/mpc.py``: all L^5 level
  sequences over a 5-chunk horizon (fewer near the end), throughput = harmonic mean of the last 5 measured
  chunk throughputs, robustMPC divides it by 1 + the largest relative error of the last 5 predictions; the
  plan model ignores the buffer cap and the RTT; ties go to the later sequence; chunk sizes are read one
  index ahead (``get_chunk_size(q, last_index + position + 1)``), exactly as that script does.
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import numba
import numpy as np

from reelkit.errors import ConfigError
from reelkit.stream.abr.base import AbrPolicy, Observation, Video
from reelkit.stream.abr.predictors import HarmonicMean, ThroughputPredictor, make_predictor, measured_mbyteps
from reelkit.stream.abr.qoe import QoE, get_qoe

__all__ = ["BBA", "MPC", "Bola", "RateBased", "RobustMPC", "level_combos", "mpc_plan"]


class RateBased(AbrPolicy):
    """Highest level with bitrate <= the predicted throughput (harmonic mean of the last 5 by default)."""

    name = "rate"

    def __init__(self, predictor: ThroughputPredictor | None = None) -> None:
        super().__init__()
        self.predictor = predictor if predictor is not None else HarmonicMean(5)

    def reset(self, video: Video) -> None:
        super().reset(video)
        self.predictor.reset()

    def choose(self, obs: Observation) -> int:
        v = self._require_video()
        if obs.chunk_index == 0:
            return self.first_level()
        self.predictor.update(measured_mbyteps(obs))
        est = self.predictor.predict()
        kbps = (est or 0.0) * 8000.0
        ok = np.nonzero(v.bitrates_kbps <= kbps)[0]
        return int(ok[-1]) if ok.size else 0


class BBA(AbrPolicy):
    """Buffer-based adaptation exactly as Pensieve's ``test/bb.py`` (reservoir 5 s, cushion 10 s)."""

    name = "bba"

    def __init__(self, reservoir_s: float = 5.0, cushion_s: float = 10.0) -> None:
        super().__init__()
        if reservoir_s < 0 or cushion_s <= 0:
            raise ConfigError("BBA needs reservoir >= 0 and cushion > 0")
        self.reservoir_s, self.cushion_s = float(reservoir_s), float(cushion_s)

    def choose(self, obs: Observation) -> int:
        v = self._require_video()
        if obs.chunk_index == 0:
            return self.first_level()
        top = v.n_levels - 1
        b = obs.buffer_s
        if b < self.reservoir_s:
            return 0
        if b >= self.reservoir_s + self.cushion_s:
            return top
        return int(top * (b - self.reservoir_s) / float(self.cushion_s))


class Bola(AbrPolicy):
    """BOLA-BASIC with dash.js's choice of V and gamma*p (see the module docstring)."""

    name = "bola"

    def __init__(self, min_buffer_s: float = 10.0, buffer_target_s: float | None = None) -> None:
        super().__init__()
        if not min_buffer_s > 0 or (buffer_target_s is not None and not buffer_target_s > 0):
            raise ConfigError(
                f"BOLA needs min_buffer_s > 0 and buffer_target_s > 0; got {min_buffer_s}, {buffer_target_s}"
            )
        self.min_buffer_s = float(min_buffer_s)
        self.buffer_target_s = buffer_target_s
        self._u = np.zeros(1)
        self._gp = 0.0
        self._vp = 0.0

    def reset(self, video: Video) -> None:
        super().reset(video)
        b = video.bitrates_kbps
        self._u = np.log(b / b[0]) + 1.0
        # dash.js: max(stable buffer time, 10 s + 2 s per level); a target given is floored the same way
        # (one at or under the minimum buffer made gamma*p infinite and every score NaN: always the bottom)
        floor = self.min_buffer_s + 2.0 * video.n_levels
        target = max(float(self.buffer_target_s) if self.buffer_target_s is not None else 12.0, floor)
        if video.n_levels > 1:
            self._gp = (self._u[-1] - 1.0) / (target / self.min_buffer_s - 1.0)
            self._vp = self.min_buffer_s / self._gp
        else:
            self._gp, self._vp = 1.0, 1.0

    def choose(self, obs: Observation) -> int:
        v = self._require_video()
        if obs.chunk_index == 0:
            return self.first_level()
        if v.n_levels == 1:
            return 0
        score = (self._vp * (self._u + self._gp) - obs.buffer_s) / v.bitrates_kbps
        return int(np.argmax(score))


#: the most plans an MPC weighs per decision (16 levels over 5 chunks; 24 levels took a server to 1.3 GB)
MAX_PLANS = 16**5


@lru_cache(maxsize=4)
def level_combos(n_levels: int, horizon: int) -> np.ndarray:
    """All ``n_levels ** horizon`` level sequences in ``itertools.product`` order, shape (count, horizon)."""
    if n_levels**horizon > MAX_PLANS:
        raise ConfigError(
            f"MPC over {n_levels} levels and {horizon} chunks would weigh {n_levels**horizon:,} plans per "
            f"decision (at most {MAX_PLANS:,}): give a ladder of at most 16 levels, or a shorter horizon"
        )
    arr = np.array(list(itertools.product(range(n_levels), repeat=horizon)), dtype=np.int64)
    arr.setflags(write=False)
    return arr


@numba.njit(cache=True)
def _plan(
    combos: np.ndarray,
    n_eff: int,
    future_sizes: np.ndarray,
    q_units: np.ndarray,
    q_div: float,
    rebuf_penalty: float,
    smooth_penalty: float,
    last_level: int,
    buffer_s: float,
    bandwidth_mbyteps: float,
    chunk_s: float,
    exact: bool = True,
) -> int:
    """``test/mpc.py``'s inner loop over the distinct ``n_eff``-chunk prefixes (product order); ``exact``:
    score plans with its rounding (see :class:`MPC`)."""
    n_levels = q_units.shape[0]
    horizon = combos.shape[1]
    stride = 1
    for _ in range(horizon - n_eff):
        stride *= n_levels
    max_reward = -100000000.0
    best = 0
    have = False
    c = 0
    while c < combos.shape[0]:
        curr_rebuffer = 0.0
        curr_buffer = buffer_s
        qsum = 0.0
        smooth = 0.0
        last = last_level
        for pos in range(n_eff):
            q = combos[c, pos]
            download = (future_sizes[q, pos] / 1000000.0) / bandwidth_mbyteps
            if curr_buffer < download:
                curr_rebuffer += download - curr_buffer
                curr_buffer = 0.0
            else:
                curr_buffer -= download
            curr_buffer += chunk_s
            qsum += q_units[q]
            smooth += abs(q_units[q] - q_units[last])
            last = q
        if exact:
            # as test/mpc.py rounds it: bitrate_sum / 1000. - 4.3 * rebuffer - smoothness_diffs / 1000. (many
            # plans tie exactly, and multiplying by 0.001 instead breaks some of those ties the other way)
            reward = qsum / q_div - rebuf_penalty * curr_rebuffer - smooth_penalty * (smooth / q_div)
        else:  # the x 0.001 scoring the learned policy's data-collection recipe was built with
            q_scale = 1.0 / q_div
            reward = qsum * q_scale - rebuf_penalty * curr_rebuffer - smooth_penalty * smooth * q_scale
        if reward >= max_reward:
            max_reward = reward
            best = combos[c, 0]
            have = True
        c += stride
    if not have:
        return 0
    return best


def _q_units(qoe: QoE, bitrates_kbps: np.ndarray) -> tuple[np.ndarray, float]:
    """Quality units per level and what their sums are divided by (Pensieve sums kbps, divides by 1000)."""
    if qoe.name == "lin":
        return np.ascontiguousarray(bitrates_kbps, dtype=np.float64), 1000.0
    return np.ascontiguousarray(qoe.quality(bitrates_kbps), dtype=np.float64), 1.0


def _lookahead_sizes(
    video: Video, next_index: int, n_eff: int, index_offset: int, horizon: int
) -> np.ndarray:
    """Chunk sizes (levels, horizon) of the ``n_eff`` chunks a plan from ``next_index`` looks at.

    Pensieve reads sizes one chunk ahead (``index_offset=1``); it plays 48 of 49 chunks, so the look-up
    stays in the video. A session of every chunk would read past the end on its last decisions: size 0
    makes every plan tie and the tie goes to the top rung. The window is kept inside the video."""
    start = min(next_index + index_offset, video.n_chunks - n_eff)
    fs = np.zeros((video.n_levels, horizon))
    hi = min(start + n_eff, video.n_chunks)
    if hi > start:
        fs[:, : hi - start] = video.sizes[:, start:hi]
    return fs


def mpc_plan(
    video: Video,
    next_index: int,
    last_level: int,
    buffer_s: float,
    bandwidth_mbyteps: float,
    *,
    horizon: int = 5,
    qoe: str | QoE = "lin",
    index_offset: int = 1,
) -> int:
    """First level of the best ``horizon``-chunk plan (``test/mpc.py`` model) from chunk ``next_index``."""
    q = get_qoe(qoe)
    n_eff = min(horizon, video.session_chunks - next_index)
    if n_eff <= 0:
        return 0
    fs = _lookahead_sizes(video, next_index, n_eff, index_offset, horizon)
    units, div = _q_units(q, video.bitrates_kbps)
    return int(
        _plan(
            level_combos(video.n_levels, horizon),
            n_eff,
            fs,
            units,
            div,
            q.rebuf_penalty,
            q.smooth_penalty,
            int(last_level),
            float(buffer_s),
            float(bandwidth_mbyteps),
            video.chunk_s,
        )
    )


class MPC(AbrPolicy):
    """MPC over ``horizon`` chunks with a point throughput prediction (``robust`` divides it by 1 + the
    largest relative error of the last 5 predictions). ``index_offset=1`` reproduces ``test/mpc.py``'s
    one-ahead chunk-size lookup; 0 uses the sizes of the chunks actually planned."""

    name = "mpc"
    robust = False

    def __init__(
        self,
        *,
        horizon: int = 5,
        qoe: str | QoE = "lin",
        predictor: str = "harmonic",
        index_offset: int = 1,
        robust: bool | None = None,
        pensieve_rounding: bool = True,
    ) -> None:
        super().__init__()
        # pensieve_rounding: score plans as test/mpc.py does (divide by 1000); False multiplies by 0.001,
        # which breaks some exact ties the other way: kept only for the learned policy's data collection
        # (ttp._Explorer), whose recipe and shipped model were built with it
        self.pensieve_rounding = bool(pensieve_rounding)
        if horizon < 1 or horizon > 7:
            raise ConfigError(f"MPC horizon must be 1..7; got {horizon}")
        self.horizon = int(horizon)
        self.qoe = get_qoe(qoe)
        self.index_offset = int(index_offset)
        if robust is not None:
            self.robust = bool(robust)
        # make_predictor's names (harmonic or hm, ewma; any case); an unknown one is refused, not read as ewma
        self.predictor: ThroughputPredictor = make_predictor(predictor)
        self.errors: list[float] = []
        self.estimates: list[float] = []
        self._combos = np.zeros((1, 1), dtype=np.int64)
        self._units = np.zeros(1)
        self._div = 1.0

    def reset(self, video: Video) -> None:
        super().reset(video)
        self.predictor.reset()
        self.errors = []
        self.estimates = []
        self._combos = level_combos(video.n_levels, self.horizon)
        self._units, self._div = _q_units(self.qoe, video.bitrates_kbps)

    def predict_bandwidth(self, obs: Observation) -> float:
        """Record the last measurement and return the (robust) throughput forecast in MB/s."""
        tp = measured_mbyteps(obs)
        err = abs(self.estimates[-1] - tp) / float(tp) if self.estimates else 0.0
        self.errors.append(err)
        self.predictor.update(tp)
        est = self.predictor.predict()
        assert est is not None
        self.estimates.append(est)
        if self.robust:
            return est / (1.0 + float(max(self.errors[-5:])))
        return est

    def choose(self, obs: Observation) -> int:
        v = self._require_video()
        if obs.chunk_index == 0:
            return self.first_level()
        bw = self.predict_bandwidth(obs)
        n_eff = min(self.horizon, v.session_chunks - obs.chunk_index)
        if n_eff <= 0:
            return int(obs.last_level)
        fs = _lookahead_sizes(v, obs.chunk_index, n_eff, self.index_offset, self.horizon)
        return int(
            _plan(
                self._combos,
                n_eff,
                fs,
                self._units,
                self._div,
                self.qoe.rebuf_penalty,
                self.qoe.smooth_penalty,
                int(obs.last_level),
                float(obs.buffer_s),
                float(bw),
                v.chunk_s,
                self.pensieve_rounding,
            )
        )


class RobustMPC(MPC):
    """robustMPC: :class:`MPC` with the throughput divided by 1 + max recent relative error."""

    name = "robustmpc"
    robust = True
