"""Run a cache policy over a trace and measure it: object and byte hit ratios overall, per hour and per
region, with a warm-up excluded; plus an offline upper bound for variable-size objects.

``simulate`` is the one entry point; :func:`compare` sweeps policies x capacities. Capacities are bytes;
:func:`parse_capacity` turns ``"50GB"``, ``"500MiB"`` or ``"5%"`` (of the bytes of all distinct objects) into
bytes.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from reelkit.errors import ConfigError, ReelkitWarning
from reelkit.executor import Executor, SerialExecutor
from reelkit.progress import SILENT, Progress
from reelkit.stream.cache._kernels import interval_pack
from reelkit.stream.cache.policies import CachePolicy, distinct_policies, make_policy
from reelkit.stream.cache.trace import RequestTrace

__all__ = [
    "SimResult",
    "UpperBound",
    "WindowStats",
    "compare",
    "offline_upper_bound",
    "parse_capacity",
    "simulate",
    "warmup_requests",
]

_UNITS = {
    "": 1,
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "PB": 10**15,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
    "PIB": 2**50,
    "K": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
}
_SIZE_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*$")


_MAX_BYTES = 2**63 - 1


def parse_capacity(text: str | int | float, trace: RequestTrace | None = None) -> int:
    """``"50GB"`` (SI), ``"500MiB"`` (binary), ``"123456"`` bytes, or ``"5%"`` of the bytes of all distinct
    objects in ``trace``; returns whole bytes."""
    if isinstance(text, int | np.integer):
        if not 0 <= text <= _MAX_BYTES:
            raise ConfigError(f"capacity must be between 0 and 2^63-1 bytes, got {text}")
        return int(text)
    if isinstance(text, float | np.floating):  # repr(np.float64(3.0)) is "np.float64(3.0)"
        text = repr(float(text))
    s = str(text).strip()
    if s.endswith("%"):
        try:
            pct = float(s[:-1])
        except ValueError:
            raise ConfigError(f"capacity {text!r}: expected a percentage such as 5%") from None
        if not 0 <= pct <= 100:  # 0% is a cache of no bytes, as a capacity of 0 is
            raise ConfigError(f"capacity {text!r}: a percentage must be in [0, 100]")
        if trace is None:
            raise ConfigError(f"capacity {text!r}: a percentage needs a trace to take it of")
        wss = trace.working_set_bytes()
        out = int(wss * pct / 100.0)
        if out == 0 and pct > 0:  # a cache of nothing, which every policy then misses on: say so
            warnings.warn(
                f"capacity {text!r}: {pct:g}% of the trace's {wss:,} bytes is less than one byte, so the "
                "cache holds nothing; give a larger share or a size in bytes",
                ReelkitWarning,
                stacklevel=2,
            )
        return out
    if s.isdigit():  # whole bytes, exactly (a float would round 2^63-1 up)
        return parse_capacity(int(s))
    m = _SIZE_RE.match(s)
    if m and m.group(2).endswith("b") and m.group(2).lower() != "b":  # "10Gb" is gigabits to most readers
        raise ConfigError(
            f"capacity {text!r}: a small b is bits; a cache holds bytes: write "
            f"{m.group(1)}{m.group(2)[0].upper()}{m.group(2)[1:-1]}B"  # 50gb: 50GB, not 50gB
        )
    unit = m.group(2).upper() if m else ""
    if not m or unit not in _UNITS:
        raise ConfigError(
            f"capacity {text!r}: expected a size such as 50GB, 500MiB, 1000000 (bytes) or 5% of the trace"
        )
    value = float(m.group(1)) * _UNITS[unit]
    if not value <= _MAX_BYTES:
        raise ConfigError(f"capacity {text!r}: more than 2^63-1 bytes; give a size such as 50GB or 5%")
    if _UNITS[unit] == 1 and value != int(value):
        raise ConfigError(
            f"capacity {text!r}: bytes are whole; for a share of the trace write a percentage (e.g. 40%)"
        )
    return round(value)


def warmup_requests(trace: RequestTrace, warmup: float | str) -> int:
    """How many leading requests a warm-up covers: a fraction of the requests (``0.1``), a percentage
    (``"10%"``), or a duration from the first request (``"3600s"``, ``"30m"``, ``"6h"``, ``"1d"``)."""
    n = trace.n_requests
    if isinstance(warmup, int | float):
        frac = float(warmup)
    else:
        w = str(warmup).strip().lower()
        if w.endswith("%"):
            try:
                frac = float(w[:-1]) / 100.0
            except ValueError:
                raise ConfigError(f"warm-up {warmup!r}: expected a percentage such as 10%") from None
        else:
            m = re.match(r"^([0-9]*\.?[0-9]+)\s*([smhd])$", w)
            if not m:
                try:
                    frac = float(w)
                except ValueError:
                    raise ConfigError(
                        f"warm-up {warmup!r}: expected a fraction (0.1), a percentage (10%) or a duration "
                        "(3600s, 6h, 1d)"
                    ) from None
            else:
                secs = float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
                if (np.diff(trace.timestamps) < 0).any():  # the warm-up cuts the replay, which is in order
                    raise ConfigError(
                        f"warm-up {warmup!r}: the requests are not in time order, so a duration does not "
                        "mark where the warm-up ends; sort the trace by time, or give a fraction"
                    )
                t0 = float(trace.timestamps.min())
                k = int(np.searchsorted(trace.timestamps, t0 + secs, side="left"))
                if k >= n:
                    span = float(trace.timestamps.max()) - t0
                    raise ConfigError(
                        f"warm-up {warmup!r} covers the whole trace ({span:g} s of requests); nothing is "
                        "left to measure: give a shorter warm-up"
                    )
                return k
    if not 0 <= frac < 1:
        raise ConfigError(f"warm-up {warmup!r}: a fraction must be in [0, 1)")
    # a hair over: 29% of 100 requests is 0.29 x 100 = 28.999999999999996 in floating point
    k = min(n, int(n * frac + 1e-9))
    if frac > 0 and k >= n:  # a share under 1 that still rounds to every request (0.9999999999999 of 3)
        raise ConfigError(
            f"warm-up {warmup!r} covers the whole trace ({n} requests); nothing is left to measure: give a "
            "shorter warm-up"
        )
    return k


@dataclass(frozen=True)
class WindowStats:
    """Counts per window (hour or region): ``key`` the hour start (s, float) or the region id (int64, exact;
    the regions with requests, in increasing order)."""

    key: npt.NDArray[np.float64] | npt.NDArray[np.int64]
    requests: npt.NDArray[np.int64]
    hits: npt.NDArray[np.int64]
    bytes_requested: npt.NDArray[np.int64]
    bytes_hit: npt.NDArray[np.int64]

    @property
    def hit_ratio(self) -> npt.NDArray[np.float64]:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.requests > 0, self.hits / np.maximum(self.requests, 1), np.nan)

    @property
    def byte_hit_ratio(self) -> npt.NDArray[np.float64]:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(
                self.bytes_requested > 0, self.bytes_hit / np.maximum(self.bytes_requested, 1), np.nan
            )

    def to_frame(self, key_name: str = "key") -> pd.DataFrame:
        return pd.DataFrame(
            {
                key_name: self.key,
                "requests": self.requests,
                "hits": self.hits,
                "bytes_requested": self.bytes_requested,
                "bytes_hit": self.bytes_hit,
                "hit_ratio": self.hit_ratio,
                "byte_hit_ratio": self.byte_hit_ratio,
            }
        )


@dataclass(frozen=True)
class SimResult:
    """One policy at one capacity over one trace. Ratios count the requests after the warm-up only;
    ``requests`` is the whole trace, ``measured_requests`` what the ratios cover."""

    policy: str
    capacity_bytes: int
    requests: int
    warmup_requests: int
    measured_requests: int
    hits: int
    bytes_requested: int
    bytes_hit: int
    hit_ratio: float
    byte_hit_ratio: float
    requests_per_s: float
    seconds: float
    max_occupied_bytes: int
    hourly: WindowStats
    by_region: WindowStats | None
    hit_mask: npt.NDArray[np.bool_]

    @property
    def miss_ratio(self) -> float:
        return 1.0 - self.hit_ratio

    @property
    def byte_miss_ratio(self) -> float:
        return 1.0 - self.byte_hit_ratio

    def summary(self) -> dict[str, Any]:
        """The headline numbers (what ``reelkit cache simulate --json`` prints): the issue's six keys, and
        with a warm-up also how many requests it took and how many the ratios cover."""
        out: dict[str, Any] = {
            "policy": self.policy,
            "capacity_bytes": self.capacity_bytes,
            "requests": self.requests,
            "hit_ratio": self.hit_ratio,
            "byte_hit_ratio": self.byte_hit_ratio,
            "requests_per_s": self.requests_per_s,
        }
        if self.warmup_requests:
            out.update(warmup_requests=self.warmup_requests, measured_requests=self.measured_requests)
        return out


def _window_stats(
    keys: npt.NDArray[np.int64], hits: npt.NDArray[np.bool_], sizes: npt.NDArray[np.int64], n_keys: int
) -> tuple[npt.NDArray[np.int64], ...]:
    # in int64 throughout: weighted bincounts sum in float64, and byte counts past 2^53 stopped adding up
    # to the totals
    req = np.bincount(keys, minlength=n_keys).astype(np.int64)
    hit = np.bincount(keys[hits], minlength=n_keys).astype(np.int64)
    byt = np.zeros(n_keys, np.int64)
    np.add.at(byt, keys, sizes.astype(np.int64, copy=False))
    bhit = np.zeros(n_keys, np.int64)
    np.add.at(bhit, keys[hits], sizes[hits].astype(np.int64, copy=False))
    return req, hit, byt, bhit


def _need_trace(trace: object) -> None:
    """A workload passed where its trace is meant says so (it failed on a missing attribute)."""
    if not isinstance(trace, RequestTrace):
        hint = " (a Workload: pass its .trace)" if hasattr(trace, "trace") else ""
        raise ConfigError(f"expected a RequestTrace, got {type(trace).__name__}{hint}")


def simulate(
    trace: RequestTrace,
    policy: str | CachePolicy,
    capacity_bytes: int | str,
    *,
    warmup: float | str = 0.0,
    window_s: float = 3600.0,
) -> SimResult:
    """Run ``policy`` (a name from :func:`~reelkit.stream.cache.policies.available_policies` or a policy
    object) over ``trace`` with a cache of ``capacity_bytes`` (bytes, or a string for :func:`parse_capacity`).

    ``warmup`` leading requests are simulated but not counted (see :func:`warmup_requests`; the default 0
    counts every request, as libCacheSim does). ``window_s`` is the width of the time windows of
    :attr:`SimResult.hourly` (an hour by default; windows start at the first request's hour boundary).
    """
    _need_trace(trace)
    if not 0 < window_s < math.inf:  # checked before the run (a NaN gave one window keyed NaN)
        raise ConfigError(f"window_s must be a finite number of seconds > 0; got {window_s!r}")
    pol = make_policy(policy)
    cap = parse_capacity(capacity_bytes, trace)
    n_warm = warmup_requests(trace, warmup)
    run = pol.run(trace, cap)
    hits = run.hits
    measured = slice(n_warm, None)
    h = hits[measured]
    sz = trace.sizes[measured]
    n_meas = len(h)
    n_hits = int(h.sum())
    b_req = int(sz.sum())
    b_hit = int(sz[h].sum())
    ts = trace.timestamps[measured]
    if n_meas:
        # only the windows that have requests (a trace in nanoseconds spans ~10^12 hour-long windows)
        origin = np.floor(float(trace.timestamps.min()) / window_s) * window_s
        slot = np.floor((ts - origin) / window_s)
        if np.all(slot[1:] >= slot[:-1]):  # time order (the usual): runs of equal windows, no sort
            starts = np.flatnonzero(np.concatenate(([True], slot[1:] != slot[:-1])))
            windows = slot[starts]
            req = np.diff(np.append(starts, n_meas)).astype(np.int64)
            hit = np.add.reduceat(h.astype(np.int64), starts)
            byt = np.add.reduceat(sz.astype(np.int64, copy=False), starts)
            bhit = np.add.reduceat(np.where(h, sz, 0).astype(np.int64, copy=False), starts)
        else:
            windows, widx = np.unique(slot, return_inverse=True)
            req, hit, byt, bhit = _window_stats(widx.reshape(-1), h, sz, len(windows))
        hourly = WindowStats(origin + window_s * windows, req, hit, byt, bhit)
    else:
        empty = np.zeros(0, np.int64)
        hourly = WindowStats(np.zeros(0), empty, empty, empty, empty)
    by_region = None
    if trace.regions is not None and n_meas:
        # the regions present, whatever their ids (a PoP or AS number such as 64512 is not an index)
        labels, codes = np.unique(trace.regions[measured], return_inverse=True)
        req, hit, byt, bhit = _window_stats(codes.reshape(-1), h, sz, len(labels))
        by_region = WindowStats(labels.astype(np.int64), req, hit, byt, bhit)
    rps = trace.n_requests / run.seconds if run.seconds > 0 else float("inf")
    return SimResult(
        policy=pol.label,
        capacity_bytes=cap,
        requests=trace.n_requests,
        warmup_requests=n_warm,
        measured_requests=n_meas,
        hits=n_hits,
        bytes_requested=b_req,
        bytes_hit=b_hit,
        hit_ratio=n_hits / n_meas if n_meas else float("nan"),
        byte_hit_ratio=b_hit / b_req if b_req else float("nan"),
        requests_per_s=rps,
        seconds=run.seconds,
        max_occupied_bytes=run.max_occupied_bytes,
        hourly=hourly,
        by_region=by_region,
        hit_mask=hits,
    )


def _compare_task(args: tuple[RequestTrace, str | CachePolicy, int, float | str]) -> SimResult:
    trace, policy, cap, warmup = args
    return simulate(trace, policy, cap, warmup=warmup)


def compare(
    trace: RequestTrace,
    policies: Sequence[str | CachePolicy],
    capacities: Sequence[int | str],
    *,
    warmup: float | str = 0.0,
    executor: Executor | None = None,
    progress: Progress = SILENT,
) -> list[SimResult]:
    """Every policy at every capacity (policy-major order), each pair once: a policy (same name and config)
    or a size given twice (``lru,LRU``; ``5%,5%``) is simulated once. The kernels release the GIL, so a
    thread executor (``LocalExecutor(kind="thread")``) runs them in parallel without copying the trace."""
    _need_trace(trace)
    caps = list(dict.fromkeys(parse_capacity(c, trace) for c in capacities))
    pols = distinct_policies(policies)
    tasks = [(trace, p, c, warmup) for p in pols for c in caps]
    ex = executor or SerialExecutor()
    return ex.map(_compare_task, tasks, progress=progress, description="simulating")


@dataclass(frozen=True)
class UpperBound:
    """Upper bounds on the hit ratios any policy (online or offline) can reach with a given capacity."""

    capacity_bytes: int
    hit_ratio: float
    byte_hit_ratio: float


def offline_upper_bound(
    trace: RequestTrace, capacity_bytes: int | str, *, warmup: float | str = 0.0
) -> UpperBound:
    """True upper bounds for variable-size objects and demand-fetch caches (no policy that fetches an object
    only when it is requested can beat them; a prefetching planner can).

    A hit on request ``j`` needs its object, of ``s`` bytes, kept through every gap between its previous
    request ``i`` and ``j``; the cache holds at most ``capacity`` bytes in each gap. Relaxing "the whole
    object" to "any fraction of its bytes" gives an upper bound (Berger et al.'s FOO, SIGMETRICS'18):

    - byte hit ratio: the relaxation solved exactly for every gap (``_kernels.interval_pack``, greedy by next
      request; the byte value of a kept fraction does not depend on the object, so the LP is an interval
      packing). Within a few percent of ``belady-size`` on the benchmark traces;
    - hit ratio: the looser PFOO-U, with the per-gap limits summed into one budget of ``capacity x
      n_requests`` byte-requests, solved by value per cost (smallest ``s x (j - i)`` first, fractionally at
      the end). The exact per-gap LP has no greedy solution when values depend on size.

    An object of one size larger than the cache never hits. An object whose size changes within the trace is
    left out of the relaxation and every request to it after its first counts as a hit: the simulators
    keep an object at the size it was admitted with and count a hit at the size requested, so its
    footprint is not known in advance. A looser bound, but still a bound."""
    _need_trace(trace)
    cap = parse_capacity(capacity_bytes, trace)
    n = trace.n_requests
    n_warm = warmup_requests(trace, warmup)
    nxt = trace.next_use()
    src = np.flatnonzero(nxt < n)
    dst = nxt[src]
    size = trace.sizes[src].astype(np.float64)
    obj = trace.objects
    lo = np.full(trace.n_objects, np.iinfo(np.int64).max, np.int64)
    hi = np.zeros(trace.n_objects, np.int64)
    np.minimum.at(lo, obj, trace.sizes)
    np.maximum.at(hi, obj, trace.sizes)
    varying = (lo != hi)[obj[src]]
    free = (dst >= n_warm) & varying
    free_hits, free_bytes = float(free.sum()), float(trace.sizes[dst[free]].sum())
    ok = (size <= cap) & (dst >= n_warm) & ~varying
    src, dst, size = src[ok], dst[ok], size[ok]
    cost = size * (dst - src).astype(np.float64)
    budget = float(cap) * float(n)
    meas = trace.sizes[n_warm:]
    n_meas = len(meas)
    order = np.argsort(cost, kind="stable")
    spent = np.cumsum(cost[order])
    k = int(np.searchsorted(spent, budget, side="right"))
    hits = float(k)
    if k < len(order):
        hits += (budget - (spent[k - 1] if k else 0.0)) / cost[order[k]]
    bhits = interval_pack(src, dst, size, n, float(cap)) if len(src) else 0.0
    hits, bhits = hits + free_hits, bhits + free_bytes
    return UpperBound(
        capacity_bytes=cap,
        hit_ratio=min(1.0, hits / n_meas) if n_meas else float("nan"),
        byte_hit_ratio=min(1.0, bhits / float(meas.sum())) if n_meas else float("nan"),
    )
