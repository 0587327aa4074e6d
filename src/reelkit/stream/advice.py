"""Download advice: will this member's network carry a title at a chosen quality, or should they download it?

From a member's recent throughput samples (timestamped, Mbit/s, as the player measures them per chunk), we
build the network they are likely to have at each hour of the day, replay sessions of the title through the
ABR simulator (:mod:`reelkit.stream.abr`, Pensieve semantics and buffer cap; no RTT or payload factor on
top, since a measured per-chunk throughput has them in it already) with the
player held at the chosen quality, on traces drawn from the samples of that hour (a block bootstrap that keeps
runs of consecutive samples together), and estimate the probability that the quality holds without a stall.
Then:

* ``stream``: it holds now (probability >= ``confidence``);
* ``download``: it does not, but downloading the title now at that quality finishes before the member is
  likely to watch (``deadline_s`` after now) on the median throughput of this hour;
* ``wait``: neither; the advice names the next hour whose network would carry it (stream or download).

The candidate titles (what the member is likely to watch next: the next episode of a series in progress,
their top picks) come from the caller, usually the recommender's home page.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import numpy as np
import numpy.typing as npt

from reelkit.errors import ConfigError, EmptyDataError, ReelkitWarning
from reelkit.stream.abr.traces import MAX_MBPS

__all__ = [
    "MAX_SAMPLE_MBPS",
    "MAX_SAMPLE_TIME_S",
    "Advice",
    "AdviceConfig",
    "NetworkProfile",
    "TitleAdvice",
    "TitleToWatch",
    "advise",
    "hold_probability",
]

Action = Literal["stream", "download", "wait"]


@dataclass(frozen=True)
class TitleToWatch:
    """A title the member is likely to watch next, and why (``next episode``, ``top pick``)."""

    title_id: str
    duration_s: float
    name: str = ""
    reason: str = ""


#: Highest rung the advisor simulates (100 Mbit/s, above any streaming ladder).
MAX_RUNG_KBPS = 100_000.0
#: A throughput sample's bounds, for every reader (the CLI's, the service's, NetworkProfile.from_samples):
#: unix seconds from 1970 to 2100, and Mbit/s up to what a simulated trace carries
MAX_SAMPLE_TIME_S = 4_102_444_800.0
MAX_SAMPLE_MBPS = MAX_MBPS


@dataclass(frozen=True)
class AdviceConfig:
    """How the advice is computed."""

    ladder_kbps: tuple[float, ...] = (300.0, 750.0, 1200.0, 1850.0, 2850.0, 4300.0)
    chunk_s: float = 4.0
    sessions: int = 24  # bootstrap traces per hour
    max_session_s: float = 1800.0  # simulate at most this much of a title (stalls grow with length)
    confidence: float = 0.9
    deadline_s: float = 3600.0  # when the member is likely to start watching, from now
    # an hour with min_samples of its own is judged on them alone; a thinner one on the samples within
    # +- this many hours (its neighbours' 2:1 outvoted an hour that was always fast)
    hour_window: int = 1
    min_samples: int = 8  # fewer than this within the window: the window widens, hour by hour...
    # ...unless it holds this many, or min_samples if fewer (the hour's own samples first)
    min_samples_at_hour: int = 3
    seed: int = 0

    def __post_init__(self) -> None:
        if len(self.ladder_kbps) < 1 or not all(0 < b <= MAX_RUNG_KBPS for b in self.ladder_kbps):
            raise ConfigError(
                f"ladder_kbps: give one or more bitrates in (0, {MAX_RUNG_KBPS:g}] kbps (the playback "
                "simulation's work grows with the rung)"
            )
        if list(self.ladder_kbps) != sorted(self.ladder_kbps):
            raise ConfigError("ladder_kbps must be ascending")
        # written so that NaN fails them (NaN <= 0 is False: a NaN chunk_s passed, then failed deep inside)
        if not 0 < self.confidence <= 1:
            raise ConfigError(f"confidence must be in (0, 1]; got {self.confidence!r}")
        for name in ("chunk_s", "max_session_s"):
            if not 0 < getattr(self, name) < math.inf:
                raise ConfigError(
                    f"{name} must be a finite number of seconds > 0; got {getattr(self, name)!r}"
                )
        if not 0 <= self.deadline_s < math.inf:  # a negative or NaN one advised "wait" in silence
            raise ConfigError(f"deadline_s must be a finite number of seconds >= 0; got {self.deadline_s!r}")
        for name, low in (
            ("sessions", 1),
            ("min_samples", 1),
            ("min_samples_at_hour", 1),
            ("hour_window", 0),
        ):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < low:
                raise ConfigError(f"{name} must be a whole number >= {low}; got {v!r}")


@dataclass(frozen=True)
class NetworkProfile:
    """A member's throughput samples by local hour of day (``utc_offset_h`` from UTC)."""

    times_s: npt.NDArray[np.float64]
    mbps: npt.NDArray[np.float64]
    utc_offset_h: float = 0.0

    @classmethod
    def from_samples(
        cls, times_s: npt.ArrayLike, mbps: npt.ArrayLike, *, utc_offset_h: float = 0.0
    ) -> NetworkProfile:
        t = np.asarray(times_s, dtype=np.float64).reshape(-1)
        b = np.asarray(mbps, dtype=np.float64).reshape(-1)
        if t.shape != b.shape:
            raise ConfigError("throughput samples: times and Mbit/s differ in length")
        if len(t) == 0:
            raise EmptyDataError("no throughput samples: the advice needs the member's recent measurements")
        if not (np.isfinite(t).all() and np.isfinite(b).all()) or (b < 0).any():
            raise ConfigError("throughput samples must be finite, with Mbit/s >= 0")
        # checked here, not by the simulated trace: it named its own line ("bootstrap:1: throughput 2e+06
        # Mbit/s is outside ..."), and timestamps of 1e300 or before 1970 passed
        odd = np.flatnonzero((t < 0) | (t > MAX_SAMPLE_TIME_S) | (b > MAX_SAMPLE_MBPS))
        if odd.size:
            i = int(odd[0])
            raise ConfigError(
                f"throughput sample {i + 1} (time {t[i]:g}, {b[i]:g} Mbit/s): give unix seconds from 1970 to "
                f"2100 (0..{MAX_SAMPLE_TIME_S:.0f}) and Mbit/s from 0 to {MAX_SAMPLE_MBPS:g}"
            )
        # by time, then throughput: samples taken at one time come out in one order however they were given
        # (the runs and blocks the advice draws from depend on the order)
        order = np.lexsort((b, t))
        return cls(t[order], b[order], utc_offset_h)

    def hours(self) -> npt.NDArray[np.int64]:
        return (np.floor((self.times_s / 3600.0 + self.utc_offset_h) % 24)).astype(np.int64)

    def hours_from(self, hour: int) -> npt.NDArray[np.int64]:
        """Each sample's distance in hours of the day from ``hour`` (0 to 12)."""
        return np.abs(((self.hours() - hour) + 12) % 24 - 12)

    def samples_at(
        self, hour: int, window: int, minimum: int, *, widen: bool = True, enough_here: int | None = None
    ) -> npt.NDArray[np.int64]:
        """Indices of samples within ``window`` hours of ``hour``; widened until ``minimum`` are found unless
        ``widen`` is false (then possibly empty) or the first window holds ``enough_here`` (the hour's own
        samples, however few, say more of its network than many from another time of day)."""
        d = self.hours_from(hour)
        for w in range(window, 13 if widen else window + 1):
            idx = np.flatnonzero(d <= w)
            if len(idx) >= minimum or (w == window and enough_here is not None and len(idx) >= enough_here):
                return idx
        return np.arange(len(self.times_s)) if widen else np.zeros(0, np.int64)


#: A gap this long (or up to SESSION_GAP_FACTOR sampling intervals) between samples still keeps them in one
#: run: a player measuring every chunk pauses between fetches
RUN_GAP_S = 120.0
#: A gap over this many typical sampling intervals ends a run (a session, or a probe's series)...
SESSION_GAP_FACTOR = 4.0
#: ...and so does any gap over 30 minutes, however sparse the sampling
MAX_SESSION_GAP_S = 1800.0
#: How long a stretch of consecutive samples a bootstrapped trace copies at a time (seconds, drawn
#: uniformly): long enough to keep a slow spell of minutes together, whatever the sampling interval
BLOCK_S = (120.0, 600.0)


def _runs(
    times_s: npt.NDArray[np.float64], idx: npt.NDArray[np.int64], step_s: float
) -> tuple[list[npt.NDArray[np.int64]], float]:
    """``idx`` (sorted by time) split into runs of consecutive samples, and the typical sampling interval
    (the median gap, at least ``step_s``, a chunk). A run ends at a gap over SESSION_GAP_FACTOR intervals
    (at least RUN_GAP_S, at most MAX_SESSION_GAP_S): a fixed 2 minutes made samples taken every 130 s
    lone 4-s slices, and an hour with 18 slow minutes held 0.96 sampled so, 0.13 sampled every minute."""
    gaps = np.diff(times_s[idx])
    typical = max(float(np.median(gaps)), step_s) if gaps.size else step_s
    split = min(MAX_SESSION_GAP_S, max(RUN_GAP_S, SESSION_GAP_FACTOR * typical))
    runs = [r for r in np.split(idx, np.flatnonzero(gaps > split) + 1) if len(r)]
    return runs, typical


def _holds(
    times_s: npt.NDArray[np.float64], runs: list[npt.NDArray[np.int64]], step_s: float, lone_s: float = 0.0
) -> list[npt.NDArray[np.float64]]:
    """How long each sample of each run stands for: the time to the next sample of its run (at least
    ``step_s``, a chunk), the last of a run its run's median, a lone sample ``lone_s`` (the typical sampling
    interval: a measurement says what the network was until the next one would have been taken; at least a
    chunk). Held for one chunk each, samples taken a minute apart squeezed a slow half hour into seconds (a
    hold probability of 0.79 where playing the network gave 0.46)."""
    out = []
    for run in runs:
        gaps = np.maximum(np.diff(times_s[run]), step_s)
        out.append(np.append(gaps, float(np.median(gaps)) if gaps.size else max(lone_s, step_s)))
    return out


def _bootstrap_trace(
    mbps: npt.NDArray[np.float64],
    runs: list[npt.NDArray[np.int64]],
    holds: list[npt.NDArray[np.float64]],
    length_s: float,
    rng: np.random.Generator,
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """A throughput trace of ``length_s`` (and a little more) made of runs of consecutive samples, each held
    for as long as it stood for (``holds``: :func:`_holds` of ``runs``)."""
    ends = [np.cumsum(h) for h in holds]  # time from each run's start to the end of each sample
    values: list[float] = []
    spans: list[float] = []
    total = 0.0
    while total < length_s + 2 * RUN_GAP_S:
        r = int(rng.integers(len(runs)))
        run, end = runs[r], ends[r]
        start = int(rng.integers(len(run)))
        block = float(rng.uniform(*BLOCK_S))  # a stretch of the network in time, however densely sampled
        # up to the first sample that completes the block (or the run's end)
        before = end[start - 1] if start else 0.0
        stop = min(int(np.searchsorted(end, before + block, side="left")), len(run) - 1) + 1
        values.extend(mbps[run[start:stop]].tolist())
        spans.extend(holds[r][start:stop].tolist())
        total += float(end[stop - 1] - before)
    v = np.maximum(np.asarray(values, dtype=np.float64), 1e-3)
    # a Trace's throughput i holds over (times[i-1], times[i]] and its first line only marks time 0: the
    # times are where each sample's span ends (as starts, each value was held over the span before its own)
    t = np.concatenate([[0.0], np.cumsum(spans)])
    return t, np.concatenate([v[:1], v])


def _samples_for(profile: NetworkProfile, hour: int, config: AdviceConfig) -> npt.NDArray[np.int64]:
    """The samples that judge the network at ``hour``: the hour's own when it has ``min_samples``, else
    those around it (see :class:`AdviceConfig`)."""
    own = np.flatnonzero(profile.hours_from(hour) == 0)
    if len(own) >= config.min_samples:
        return own
    enough = min(config.min_samples_at_hour, config.min_samples)
    return profile.samples_at(hour, config.hour_window, config.min_samples, enough_here=enough)


def hold_probability(
    profile: NetworkProfile, hour: int, level: int, duration_s: float, config: AdviceConfig
) -> tuple[float, float, float]:
    """(probability the quality holds without stalls, median Mbit/s of that hour, mean seconds of the first
    stall per session).

    The session plays the title (up to ``max_session_s``) at ``level`` throughout; a stall after the start-up
    chunk means the quality does not hold."""
    from reelkit.stream.abr import Video
    from reelkit.stream.abr.sim import SimConfig, simulate_levels
    from reelkit.stream.abr.traces import Trace

    idx = _samples_for(profile, hour, config)
    runs, typical = _runs(profile.times_s, idx, config.chunk_s)
    holds = _holds(profile.times_s, runs, config.chunk_s, typical)
    mbps = profile.mbps
    median = float(np.median(mbps[idx]))
    seconds = min(duration_s, config.max_session_s)
    n_chunks = max(2, int(np.ceil(seconds / config.chunk_s)))
    video = Video.constant_bitrate(np.asarray(config.ladder_kbps), config.chunk_s, n_chunks)
    # the samples are what the player measured per chunk (bytes over the whole fetch): the round trip and
    # the protocol's overhead are already in them, so the simulator adds neither again
    cfg = SimConfig(total_chunks=n_chunks, rtt_s=0.0, payload=1.0)
    levels = np.full(n_chunks, level, dtype=np.int64)
    # the same networks for every level (common random numbers): a lower level then holds wherever a higher
    # one does, so the probabilities fall with the level (a seed per level gave 0.04 at 2850 kbps over 0.00
    # at 1850 on a network slow half the time)
    rng = np.random.default_rng([config.seed, hour])
    ok = 0
    stall = 0.0
    for _ in range(config.sessions):
        t, v = _bootstrap_trace(mbps, runs, holds, seconds * 3 + 60, rng)
        # a session is lost at its first stall: the rest need not be played (at a few kbit/s that rest
        # was most of the work, minutes for one request)
        session = simulate_levels(
            levels, Trace(t, v, name="bootstrap"), video, config=cfg, stop_at_stall=True
        )
        stall += session.rebuffer_total_s
        ok += int(session.rebuffer_total_s <= 0.0)
    return ok / config.sessions, median, stall / config.sessions


def _download_s(size_bytes: float, mbps: float) -> float:
    """Seconds to download ``size_bytes`` at ``mbps`` as measured (a goodput: overheads are in it; at least
    1 byte/s)."""
    return size_bytes / max(mbps * 1e6 / 8.0, 1.0)


def _nothing_better(profile: NetworkProfile, kbps: float, size_bytes: float, config: AdviceConfig) -> str:
    """Where to stream or download when no hour's advice would. An hour with ``min_samples`` of its own was
    judged on them; a thinner one with its neighbours', which may outvote a fast one: "none seen yet" only
    when no thin hour's own samples would carry it either (median Mbit/s at least the quality, or the
    download within the deadline), else the fastest such hour is named."""
    hours = profile.hours()
    fits = []
    for h in range(24):
        own = profile.mbps[hours == h]
        m = float(np.median(own)) if 0 < len(own) < config.min_samples else 0.0
        if m * 1000.0 >= kbps or (m > 0 and _download_s(size_bytes, m) <= config.deadline_s):
            fits.append((m, len(own), h))
    if not fits:
        return "on a faster network (none seen yet)"
    m, n, h = max(fits)
    return (
        f"on a faster network: {n} measurement(s) around {h:02d}:00 had a median of {m:.1f} Mbit/s, too "
        "few to judge that hour alone (measure then)"
    )


@dataclass(frozen=True)
class TitleAdvice:
    """The advice for one title."""

    title_id: str
    name: str
    reason: str
    action: Action
    quality_kbps: float
    hold_probability_now: float
    download_s_now: float
    best_streamable_kbps: float | None
    better_hour: int | None
    message: str


@dataclass(frozen=True)
class Advice:
    """Advice for each candidate title, with the network seen now: ``samples_now`` measurements judged it,
    taken up to ``hours_from_now`` hours of the day from now; ``note`` says when that is thin evidence."""

    hour: int
    median_mbps_now: float
    titles: list[TitleAdvice] = field(default_factory=list)
    samples_now: int = 0
    hours_from_now: int = 0
    note: str | None = None


def advise(
    profile: NetworkProfile,
    titles: Sequence[TitleToWatch],
    *,
    quality_kbps: float,
    now_s: float | None = None,
    config: AdviceConfig | None = None,
) -> Advice:
    """Stream, download now, or wait, for each title at ``quality_kbps`` (a rung of the ladder, or the
    highest rung at or below it)."""
    cfg = config or AdviceConfig()
    if not titles:
        raise ConfigError("no titles to advise on")
    ladder = np.asarray(cfg.ladder_kbps)
    if not math.isfinite(quality_kbps):
        raise ConfigError(f"quality {quality_kbps} kbps must be a finite number (a rung of the ladder)")
    if now_s is not None and not math.isfinite(now_s):
        raise ConfigError(f"time {now_s} must be a finite number of unix seconds")
    if quality_kbps < ladder[0]:
        raise ConfigError(f"quality {quality_kbps} kbps is below the lowest rung ({ladder[0]:g} kbps)")
    level = int(np.searchsorted(ladder, quality_kbps, side="right") - 1)
    kbps = float(ladder[level])
    if quality_kbps > ladder[-1]:  # between rungs the one below is expected; past the top it is a surprise
        warnings.warn(
            f"quality {quality_kbps:g} kbps is above the top rung: advising at {kbps:g} kbps, the ladder's "
            "highest (give a ladder that reaches it to ask about more)",
            ReelkitWarning,
            stacklevel=2,
        )
    now = datetime.now(UTC).timestamp() if now_s is None else float(now_s)
    hour = int(np.floor((now / 3600.0 + profile.utc_offset_h) % 24))
    out: list[TitleAdvice] = []
    median_now = float("nan")
    cache: dict[tuple[int, int, float], tuple[float, float, float]] = {}

    def prob(h: int, lv: int, dur: float) -> tuple[float, float, float]:
        key = (h, lv, min(dur, cfg.max_session_s))  # exact: a second's rounding can change the chunk count
        if key not in cache:
            cache[key] = hold_probability(profile, h, lv, dur, cfg)
        return cache[key]

    for t in titles:
        if not 0 < t.duration_s < math.inf:
            raise ConfigError(f"title {t.title_id}: duration must be a finite number of seconds > 0")
        p_now, med, _ = prob(hour, level, t.duration_s)
        median_now = med
        size_bytes = kbps * 1000.0 / 8.0 * t.duration_s
        dl_now = _download_s(size_bytes, med)
        best = None
        for lv in range(level, -1, -1):
            if prob(hour, lv, t.duration_s)[0] >= cfg.confidence:
                best = float(ladder[lv])
                break
        better = None
        if p_now >= cfg.confidence:
            action: Action = "stream"
            msg = f"stream: {kbps:g} kbps holds without stalls with probability {p_now:.0%} on this network"
        elif dl_now <= cfg.deadline_s:
            action = "download"
            msg = (
                f"download now: streaming {kbps:g} kbps would stall or drop (holds {p_now:.0%}); "
                f"the download takes about {dl_now / 60:.0f} min here"
            )
        else:
            action = "wait"
            # an hour is judged on its own samples when it has as many as the advice at that hour would use
            # (min_samples_at_hour): fewer than min_samples were "nothing seen" here, yet "stream" there
            enough = min(cfg.min_samples_at_hour, cfg.min_samples)
            for step in range(1, 24):
                h = (hour + step) % 24
                if len(profile.samples_at(h, cfg.hour_window, enough, widen=False)) == 0:
                    continue  # no measurements around that hour: nothing to promise
                p, m, _ = prob(h, level, t.duration_s)
                if p >= cfg.confidence or _download_s(size_bytes, m) <= cfg.deadline_s:
                    better = h
                    break
            where = (
                f"around {better:02d}:00"
                if better is not None
                else _nothing_better(profile, kbps, size_bytes, cfg)
            )
            msg = (
                f"wait: {kbps:g} kbps holds {p_now:.0%} now and the download would take "
                f"{dl_now / 3600:.1f} h; stream or download {where}"
            )
        out.append(TitleAdvice(t.title_id, t.name, t.reason, action, kbps, p_now, dl_now, best, better, msg))
    used = _samples_for(profile, hour, cfg)
    reach = int(profile.hours_from(hour)[used].max())
    note = None
    if reach > cfg.hour_window:
        here = len(profile.samples_at(hour, cfg.hour_window, 1, widen=False))
        few = f"only {here}" if here else "no"
        note = (
            f"{few} measurement(s) within {cfg.hour_window} h of {hour:02d}:00: the network now is "
            f"judged on {len(used)} taken up to {reach} h of the day away; measure at this hour for better "
            "advice"
        )
    elif len(used) < cfg.min_samples:
        note = f"the network now is judged on {len(used)} measurement(s) only"
    return Advice(
        hour=hour,
        median_mbps_now=median_now,
        titles=out,
        samples_now=len(used),
        hours_from_now=reach,
        note=note,
    )
