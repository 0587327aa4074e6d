"""Trace-driven ABR simulator with the semantics of Pensieve's test environment.

Sources: hongzimao/pensieve @ 1120bb1 ``sim/fixed_env.py`` (evaluation), ``sim/env.py`` (training switches),
``test/mpc.py`` / ``test/bb.py`` (test loop, first chunk, reward), ``test/plot_results.py`` (scoring).

One chunk of ``size`` bytes is fetched as follows (all of it as in ``fixed_env.get_video_chunk``):

1. Download: the trace's throughput ``bw[i]`` (Mbit/s) holds over ``(time[i-1], time[i]]``; the payload rate
   is ``bw * 1e6 / 8 * 0.95`` bytes/s. The clock walks along the trace until ``size`` bytes are delivered;
   at the last line it wraps to index 1 with the clock at 0.
2. ``delay = download + 80 ms`` (RTT). Training mode only: ``delay *= U(0.9, 1.1)`` (``sim/env.py``).
3. ``rebuffer = max(delay - buffer, 0)``; ``buffer = max(buffer - delay, 0) + chunk length`` (4 s).
4. Buffer cap 60 s: when the buffer exceeds it the player sleeps ``ceil(excess / 500 ms) * 500 ms``; the
   buffer drains by that much and the trace clock advances by it (no data is fetched while sleeping).
5. Sessions: chunk 0 is fetched at level 1 (``DEFAULT_QUALITY``) with an empty buffer (its stall is the
   startup delay); the policy picks chunks 1..N-1 from what it observed; N = 48 chunks (of the 49 sizes).
   Evaluation starts every trace at its first interval (pointer 1, clock ``time[0]``) without noise;
   training mode starts at a random line and adds the noise.
6. QoE (:mod:`reelkit.stream.abr.qoe`): reward of chunks 1..N-1 summed, per chunk = sum / (N-1).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numba
import numpy as np

from reelkit.errors import ConfigError
from reelkit.stream.abr.base import AbrPolicy, Observation, Video
from reelkit.stream.abr.qoe import QoE, get_qoe
from reelkit.stream.abr.traces import Trace

__all__ = [
    "PENSIEVE",
    "RunResult",
    "Session",
    "SimConfig",
    "simulate",
    "simulate_levels",
    "summarize",
]


@dataclass(frozen=True)
class SimConfig:
    """Simulator constants; the defaults are Pensieve's (``sim/fixed_env.py``)."""

    rtt_s: float = 0.08
    payload: float = 0.95
    buffer_cap_s: float = 60.0
    sleep_step_s: float = 0.5
    #: chunks a session plays: at most this many, at most the video's
    total_chunks: int = 48
    start_level: int = 1
    #: training switch: multiply each delay by U(lo, hi) (``sim/env.py`` NOISE_LOW/HIGH); None = off
    noise: tuple[float, float] | None = None
    #: training switch: start at a random trace line (``sim/env.py``)
    random_start: bool = False

    def __post_init__(self) -> None:
        # said here, by field: a zero payload divided by zero deep in a chunk's download, a negative RTT was
        # refused later as a "last_download_s" the caller never set
        def need(ok: bool, field: str, rule: str) -> None:
            if not ok:
                raise ConfigError(f"SimConfig.{field} must be {rule}; got {getattr(self, field)!r}")

        need(0 < self.payload <= 1, "payload", "in (0, 1] (the share of the link's bytes that is video)")
        need(0 <= self.rtt_s < math.inf, "rtt_s", "a finite number of seconds >= 0")
        need(0 < self.buffer_cap_s < math.inf, "buffer_cap_s", "a finite number of seconds > 0")
        need(0 < self.sleep_step_s < math.inf, "sleep_step_s", "a finite number of seconds > 0")

        def whole(x: object) -> bool:  # NaN and infinity are not (int() of them raised)
            return isinstance(x, (int, float, np.integer, np.floating)) and math.isfinite(x) and int(x) == x

        need(whole(self.total_chunks), "total_chunks", "a whole number")
        need(whole(self.start_level) and self.start_level >= 0, "start_level", "a level >= 0")
        if self.noise is not None:
            # any pair (a JSON config gives a list), of numbers
            ok = isinstance(self.noise, (tuple, list)) and len(self.noise) == 2
            ok = ok and all(isinstance(x, (int, float, np.integer, np.floating)) for x in self.noise)
            rule = "None or (low, high) with 0 < low <= high"
            need(ok and 0 < self.noise[0] <= self.noise[1] < math.inf, "noise", rule)
            object.__setattr__(self, "noise", (float(self.noise[0]), float(self.noise[1])))  # hashable

    def training(self) -> SimConfig:
        """The same constants with ``sim/env.py``'s training switches on (noise 0.9-1.1, random start)."""
        return SimConfig(
            self.rtt_s,
            self.payload,
            self.buffer_cap_s,
            self.sleep_step_s,
            self.total_chunks,
            self.start_level,
            (0.9, 1.1),
            True,
        )


PENSIEVE = SimConfig()


@numba.njit(cache=True)
def _download(
    times: np.ndarray, bw: np.ndarray, ptr: int, last_t: float, size: float, payload: float
) -> tuple[float, int, float]:
    """Seconds to deliver ``size`` bytes from trace position (ptr, last_t); returns (delay_s, ptr, last_t).

    At a wrap, all but the last whole periods the rest needs are taken at once (a slow, short trace took one
    pass per period: millions for one chunk); a download of under two periods' payload walks as Pensieve's."""
    n = times.shape[0]
    last_t = float(last_t)
    delay = 0.0
    sent = 0.0
    period_bytes = -1.0  # one period's payload from index 1 with the clock at 0, found at the first wrap
    done = False
    while not done:
        throughput = bw[ptr] * 1000000.0 / 8.0
        duration = times[ptr] - last_t
        packet_payload = throughput * duration * payload
        if sent + packet_payload > size:
            frac = (size - sent) / throughput / payload
            delay += frac
            last_t += frac
            done = True
            continue
        sent += packet_payload
        delay += duration
        last_t = times[ptr]
        ptr += 1
        if ptr >= n:
            ptr = 1
            last_t = 0.0
            if period_bytes < 0.0:
                period_bytes = 0.0
                for i in range(1, n):
                    start = times[i - 1] if i > 1 else 0.0
                    period_bytes += bw[i] * 1000000.0 / 8.0 * (times[i] - start) * payload
            whole = np.floor((size - sent) / period_bytes) - 1.0
            if whole > 0.0:
                sent += whole * period_bytes
                delay += whole * times[n - 1]
    return delay, ptr, last_t


@numba.njit(cache=True)
def _advance(times: np.ndarray, ptr: int, last_t: float, sleep_ms: float) -> tuple[int, float]:
    """Move the trace clock by ``sleep_ms`` (``fixed_env`` sleep loop)."""
    n = times.shape[0]
    done = False
    while not done:
        duration = times[ptr] - last_t
        if duration > sleep_ms / 1000.0:
            last_t += sleep_ms / 1000.0
            done = True
            continue
        sleep_ms -= duration * 1000.0
        last_t = times[ptr]
        ptr += 1
        if ptr >= n:
            ptr = 1
            last_t = 0.0
    return ptr, last_t


@numba.njit(cache=True)
def _chunk(
    times: np.ndarray,
    bw: np.ndarray,
    size: float,
    ptr: int,
    last_t: float,
    buffer_ms: float,
    chunk_ms: float,
    rtt_ms: float,
    payload: float,
    cap_ms: float,
    sleep_step_ms: float,
    mult: float,
) -> tuple[float, float, float, float, int, float]:
    """One chunk; returns (delay_ms, sleep_ms, rebuf_ms, buffer_ms, ptr, last_t)."""
    d, ptr, last_t = _download(times, bw, ptr, last_t, size, payload)
    delay = d * 1000.0
    delay += rtt_ms
    delay *= mult
    rebuf = max(delay - buffer_ms, 0.0)
    buffer_ms = max(buffer_ms - delay, 0.0)
    buffer_ms += chunk_ms
    sleep = 0.0
    if buffer_ms > cap_ms:
        drain = buffer_ms - cap_ms
        sleep = math.ceil(drain / sleep_step_ms) * sleep_step_ms
        buffer_ms -= sleep
        ptr, last_t = _advance(times, ptr, last_t, sleep)
    return delay, sleep, rebuf, buffer_ms, ptr, last_t


@numba.njit(cache=True)
def _replay(
    times: np.ndarray,
    bw: np.ndarray,
    sizes: np.ndarray,
    levels: np.ndarray,
    ptr: int,
    last_t: float,
    chunk_ms: float,
    rtt_ms: float,
    payload: float,
    cap_ms: float,
    sleep_step_ms: float,
    mults: np.ndarray,
    out: np.ndarray,
    stop_at_stall: bool,
) -> None:
    """Fetch chunk k at ``levels[k]``; out[k] = (delay_ms, sleep_ms, rebuf_ms, buffer_ms). With
    ``stop_at_stall``, stop after the first chunk past the start-up one that rebuffers."""
    buf = 0.0
    for k in range(levels.shape[0]):
        delay, sleep, rebuf, buf, ptr, last_t = _chunk(
            times,
            bw,
            sizes[levels[k], k],
            ptr,
            last_t,
            buf,
            chunk_ms,
            rtt_ms,
            payload,
            cap_ms,
            sleep_step_ms,
            mults[k],
        )
        out[k, 0] = delay
        out[k, 1] = sleep
        out[k, 2] = rebuf
        out[k, 3] = buf
        if stop_at_stall and k > 0 and rebuf > 0.0:
            break


@dataclass
class Session:
    """One simulated session: per-chunk arrays (chunk 0 = startup) and the QoE summary."""

    trace: str
    levels: np.ndarray
    bitrate_kbps: np.ndarray
    chunk_bytes: np.ndarray
    download_s: np.ndarray
    sleep_s: np.ndarray
    rebuffer_s: np.ndarray
    buffer_s: np.ndarray
    time_s: np.ndarray
    rewards: np.ndarray
    qoe: str = "lin"

    @property
    def scored(self) -> slice:
        return slice(1, len(self.levels))

    @property
    def qoe_sum(self) -> float:
        return float(np.sum(self.rewards[1:]))

    @property
    def qoe_per_chunk(self) -> float:
        n = len(self.levels) - 1
        return self.qoe_sum / n if n > 0 else 0.0

    @property
    def avg_bitrate_kbps(self) -> float:
        return float(np.mean(self.bitrate_kbps[1:])) if len(self.levels) > 1 else float(self.bitrate_kbps[0])

    @property
    def rebuffer_total_s(self) -> float:
        """Stall seconds after startup (chunks 1..N-1)."""
        return float(np.sum(self.rebuffer_s[1:]))

    @property
    def startup_s(self) -> float:
        return float(self.rebuffer_s[0])

    @property
    def switches(self) -> int:
        return int(np.count_nonzero(np.diff(self.levels)))

    @property
    def throughput_mbps(self) -> np.ndarray:
        """Measured throughput per chunk (bytes / delay including RTT), Mbit/s."""
        out: np.ndarray = self.chunk_bytes * 8.0 / self.download_s / 1e6
        return out

    def summary(self) -> dict[str, Any]:
        return {
            "trace": self.trace,
            "qoe_sum": self.qoe_sum,
            "qoe_per_chunk": self.qoe_per_chunk,
            "avg_bitrate_kbps": self.avg_bitrate_kbps,
            "rebuffer_s": self.rebuffer_total_s,
            "startup_s": self.startup_s,
            "switches": self.switches,
        }


def _make_session(
    trace: Trace, video: Video, levels: np.ndarray, out: np.ndarray, q: QoE, cfg: SimConfig
) -> Session:
    n = levels.shape[0]
    idx = np.arange(n)
    chunk_bytes = video.sizes[levels, idx]
    rebuf_s = out[:, 2] / 1000.0
    wall = np.cumsum(out[:, 0] + out[:, 1]) / 1000.0
    start = min(cfg.start_level, video.n_levels - 1)
    return Session(
        trace=trace.name,
        levels=levels.copy(),
        bitrate_kbps=video.bitrates_kbps[levels],
        chunk_bytes=chunk_bytes,
        download_s=out[:, 0] / 1000.0,
        sleep_s=out[:, 1] / 1000.0,
        rebuffer_s=rebuf_s,
        buffer_s=out[:, 3] / 1000.0,
        time_s=wall,
        rewards=q.rewards(levels, rebuf_s, video.bitrates_kbps, start),
        qoe=q.name,
    )


def _start(trace: Trace, cfg: SimConfig, rng: np.random.Generator | None) -> tuple[int, float]:
    if cfg.random_start:
        if rng is None:
            raise ConfigError("random_start needs a seed / rng")
        ptr = int(rng.integers(1, trace.times_s.shape[0]))
    else:
        ptr = 1
    return ptr, float(trace.times_s[ptr - 1])


def _mults(n: int, cfg: SimConfig, rng: np.random.Generator | None) -> np.ndarray:
    if cfg.noise is None:
        return np.ones(n)
    if rng is None:
        raise ConfigError("noise needs a seed / rng")
    return rng.uniform(cfg.noise[0], cfg.noise[1], size=n)


def _session_video(video: Video, cfg: SimConfig) -> Video:
    if cfg.total_chunks < 1:
        raise ConfigError(f"total_chunks must be >= 1; got {cfg.total_chunks}")
    return video.with_session(min(cfg.total_chunks, video.n_chunks))


def simulate_levels(
    levels: Sequence[int] | np.ndarray,
    trace: Trace,
    video: Video,
    *,
    qoe: str | QoE = "lin",
    config: SimConfig = PENSIEVE,
    seed: int | np.random.Generator | None = None,
    stop_at_stall: bool = False,
) -> Session:
    """Replay a fixed level sequence (chunk 0 first) through the simulator. ``stop_at_stall``: stop at the
    first rebuffer after the start-up chunk (the later chunks are left at zero), for a yes-or-no "does this
    quality hold" that need not play the rest of a session already lost."""
    lv = np.ascontiguousarray(levels, dtype=np.int64)
    if lv.ndim != 1 or lv.shape[0] < 1 or lv.shape[0] > video.n_chunks:
        raise ConfigError(f"need 1..{video.n_chunks} levels; got shape {lv.shape}")
    if lv.min() < 0 or lv.max() >= video.n_levels:
        raise ConfigError(f"levels must be in 0..{video.n_levels - 1}")
    rng = (
        seed
        if isinstance(seed, np.random.Generator)
        else (np.random.default_rng(seed) if seed is not None else None)
    )
    ptr, last_t = _start(trace, config, rng)
    mults = _mults(lv.shape[0], config, rng)
    out = np.zeros((lv.shape[0], 4))
    _replay(
        trace.times_s,
        trace.mbps,
        video.sizes,
        lv,
        ptr,
        last_t,
        video.chunk_s * 1000.0,
        config.rtt_s * 1000.0,
        config.payload,
        config.buffer_cap_s * 1000.0,
        config.sleep_step_s * 1000.0,
        mults,
        out,
        stop_at_stall,
    )
    return _make_session(trace, video, lv, out, get_qoe(qoe), config)


def simulate(
    policy: AbrPolicy,
    trace: Trace,
    video: Video,
    *,
    qoe: str | QoE = "lin",
    config: SimConfig = PENSIEVE,
    seed: int | np.random.Generator | None = None,
) -> Session:
    """Run one session of ``policy`` on ``trace``: ``reset`` once, then ``choose`` before chunks 1..N-1."""
    v = _session_video(video, config)
    n = v.session_chunks
    rng = (
        seed
        if isinstance(seed, np.random.Generator)
        else (np.random.default_rng(seed) if seed is not None else None)
    )
    ptr, last_t = _start(trace, config, rng)
    mults = _mults(n, config, rng)
    times, bw, sizes = trace.times_s, trace.mbps, v.sizes
    chunk_ms, rtt_ms = v.chunk_s * 1000.0, config.rtt_s * 1000.0
    cap_ms, step_ms, payload = config.buffer_cap_s * 1000.0, config.sleep_step_s * 1000.0, config.payload
    levels = np.zeros(n, dtype=np.int64)
    out = np.zeros((n, 4))
    policy.reset(v)
    level = min(config.start_level, v.n_levels - 1)
    buf = 0.0
    n_levels = v.n_levels
    for k in range(n):
        levels[k] = level
        size = float(sizes[level, k])
        delay, sleep, rebuf, buf, ptr, last_t = _chunk(
            times, bw, size, ptr, last_t, buf, chunk_ms, rtt_ms, payload, cap_ms, step_ms, float(mults[k])
        )
        out[k, 0] = delay
        out[k, 1] = sleep
        out[k, 2] = rebuf
        out[k, 3] = buf
        if k + 1 < n:
            obs = Observation(k + 1, level, size, delay / 1000.0, buf / 1000.0, rebuf / 1000.0)
            nxt = policy.choose(obs)
            if not (0 <= int(nxt) < n_levels) or int(nxt) != nxt:
                raise ConfigError(f"policy {policy.name!r} chose level {nxt!r}; valid: 0..{n_levels - 1}")
            level = int(nxt)
    return _make_session(trace, v, levels, out, get_qoe(qoe), config)


@dataclass
class RunResult:
    """Sessions of one algorithm over a trace set, with the means the CLI prints."""

    algo: str
    sessions: list[Session]
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def per_trace(self, key: str = "qoe_per_chunk") -> np.ndarray:
        return np.array([s.summary()[key] for s in self.sessions], dtype=np.float64)

    def summary(self) -> dict[str, Any]:
        return summarize(self.algo, self.sessions) | self.extra


def summarize(algo: str, sessions: Sequence[Session]) -> dict[str, Any]:
    """The CLI's JSON keys (means over traces)."""
    if not sessions:
        raise ConfigError("no sessions to summarise")

    def mean(f: Callable[[Session], float]) -> float:
        return float(np.mean([f(s) for s in sessions]))

    return {
        "algo": algo,
        "traces": len(sessions),
        "qoe": sessions[0].qoe,
        "qoe_per_chunk_mean": mean(lambda s: s.qoe_per_chunk),
        "qoe_sum_mean": mean(lambda s: s.qoe_sum),
        "avg_bitrate_kbps": mean(lambda s: s.avg_bitrate_kbps),
        "rebuffer_s_mean": mean(lambda s: s.rebuffer_total_s),
        "switches_mean": mean(lambda s: float(s.switches)),
        "startup_s_mean": mean(lambda s: s.startup_s),
    }
