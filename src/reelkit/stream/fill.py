"""The nightly fill planner of an Open Connect style edge cache, and its simulation on a request trace.

Every night, in the fill window (for example 02:00-14:00 at a fill rate of 1.2 Gbit/s), the appliance fetches
what is forecast to be watched and evicts what is not. :class:`FillPlanner` chooses, from a forecast of each
object's requests over the next day, the set of objects to *pin*: it maximises the expected backbone bytes
saved (forecast requests x object bytes) minus the fill cost (``fill_cost`` per byte fetched) under two
budgets, the disk (``capacity x (1 - reserve)``) and the bytes the fill window can carry. The value of an
object per byte stored is its forecast request count (less ``fill_cost`` if it must be fetched), so the
choice is a knapsack whose greedy solution by value density is optimal up to the one object that straddles a
budget (the fractional relaxation); we take objects in that order and skip those that no longer fit.

During the day a reactive policy handles misses: the ``reserve`` share of the disk (plus whatever the plan
leaves free) is a SIEVE cache of objects fetched on demand (``reactive="sieve"``, the default; ``"lru"`` the
earlier one: where the fill window carries little, SIEVE keeps the one-off requests from flushing what is
requested again, 0.484 against 0.437 at 20 Mbit/s on the benchmark's synthetic trace at 5%, and the two tie
at 1.2 Gbit/s, where the plan holds almost the whole disk). Fetching an object costs ``fill_cost`` per byte
once, but it then stays for as long as the plan keeps it, so the cost is spread over the residency observed
so far (Little's law: mean pinned objects / mean objects newly pinned a night; ``horizon_days`` before
there is any): on a sparse, stable workload objects stay for months and the long tail is worth fetching.

Several forecasts may be offered (by default the gradient-boosted model and the long-run rates): each night
uses the one whose shadow cache saved the most on the nights so far (bytes served less ``fill_cost`` per byte
filled), and the reserve among ``adaptive_reserve`` (0, 25%, 50%) whose shadow saved the most over the last
``adapt_window_days``. Shadow caches run each candidate on the same requests; which forecast suits a cache is
known only from its own past requests. Objects being filled arrive one after another at the fill rate, in
the order of their value, from the start of the window.

:func:`simulate_fill` replays a trace day by day (days start at the fill window's start), forecasting each
night with a :class:`~reelkit.stream.forecast.RequestForecaster` fitted on the days before the measured
period, and reports object and byte hit ratios, fill bytes and the backbone bytes (misses + fill). With
``forecast="oracle"`` the forecast is replaced by the true next-day counts: the perfect-knowledge fill, the
reference for the same planner, budgets and reactive part with a perfect forecast (not a strict bound: the
greedy plan and the fill arrival order stay the same). :func:`compare_fill` runs the
planner, that reference, reactive policies and the offline references on the same measured requests (note that
:func:`~reelkit.stream.cache.sim.offline_upper_bound` bounds demand-fetch caches only: a prefetching planner
can exceed it).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numba
import numpy as np
import numpy.typing as npt
from pydantic import Field, field_validator

from reelkit.config import Config
from reelkit.errors import ConfigError, ReelkitWarning
from reelkit.progress import SILENT, Progress
from reelkit.stream.cache._kernels import _push_head, _unlink
from reelkit.stream.forecast import (
    DAY_S,
    DailyCounts,
    ForecastConfig,
    RequestForecaster,
    daily_counts,
    walk_forward_forecast,
)

if TYPE_CHECKING:
    from reelkit.stream.cache.policies import CachePolicy
    from reelkit.stream.cache.trace import RequestTrace

__all__ = [
    "ApproachResult",
    "FillComparison",
    "FillConfig",
    "FillPlanner",
    "FillResult",
    "NightPlan",
    "compare_fill",
    "order_by_id",
    "parse_fill_window",
    "parse_rate",
    "simulate_fill",
]

_RATE_RE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([kmgt]?)(bps|bit/s|b/s|Bps|B/s)?\s*$", re.IGNORECASE)


def parse_rate(text: str | float) -> float:
    """A network rate in bytes per second from ``"1.2Gbps"``, ``"800Mbit/s"``, ``"100MB/s"`` or bits/s."""
    if isinstance(text, int | float):
        if not 0 < text < math.inf:
            raise ConfigError(f"fill rate {text!r} bit/s must be a finite number > 0")
        return float(text) / 8.0
    m = _RATE_RE.match(str(text))
    if not m:
        raise ConfigError(f"rate {text!r}: expected a rate such as 1.2Gbps, 800Mbit/s or 100MB/s")
    if not m.group(3):  # "1.2" or "1.2G": bits or bytes? A wrong guess is a factor of 8
        raise ConfigError(f"rate {text!r}: give a unit, such as 1.2Gbps (bits) or 150MB/s (bytes)")
    value = float(m.group(1)) * {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}[m.group(2).lower()]
    unit = m.group(3) or "bps"
    # a capital B is bytes (100MB/s, 1.2GBps, 1GB/S); a small b or "bit" is bits (1.2Gbps, 800Mbit/s)
    bytes_unit = unit[0] == "B" and unit.lower() != "bit/s"
    if not 0 < value < math.inf:
        raise ConfigError(f"rate {text!r}: must be a finite rate > 0")
    return value if bytes_unit else value / 8.0


def parse_fill_window(text: str) -> tuple[float, float]:
    """``"02:00-14:00"`` → ``(2.0, 14.0)`` hours; a window may wrap past midnight (``"22:00-06:00"``)."""
    m = re.match(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$", text)
    if not m:
        raise ConfigError(f"fill window {text!r}: expected HH:MM-HH:MM, for example 02:00-14:00")
    if int(m.group(2)) > 59 or int(m.group(4)) > 59:
        raise ConfigError(f"fill window {text!r}: minutes must be 00-59")
    a = int(m.group(1)) + int(m.group(2)) / 60.0
    b = int(m.group(3)) + int(m.group(4)) / 60.0
    if not (0 <= a < 24 and 0 <= b <= 24) or a == b:
        raise ConfigError(f"fill window {text!r}: hours must be in 00:00-24:00 and the window not empty")
    return a, b


class FillConfig(Config):
    """Budgets and costs of the nightly fill (round-trips through JSON)."""

    capacity_bytes: int = Field(gt=0, le=2**63 - 1)
    fill_window: tuple[float, float] = (2.0, 14.0)
    fill_rate_bytes_per_s: float = Field(default=1.2e9 / 8, gt=0, allow_inf_nan=False)
    fill_cost: float = Field(
        default=0.05, ge=0, allow_inf_nan=False, description="cost of a filled byte, in backbone bytes"
    )
    reserve: float = Field(
        default=0.0,
        ge=0,
        lt=1,
        description="disk share kept for the reactive policy: on every night with adaptive_reserve=(), "
        "else on the first night only (then the shadows choose among adaptive_reserve)",
    )
    reactive: Literal["lru", "sieve"] = Field(
        default="sieve", description="the policy of the reactive part (misses between fills): sieve or lru"
    )
    horizon_days: float = Field(
        default=7.0,
        gt=0,
        allow_inf_nan=False,
        description="nights a fetched object is expected to stay (before any is observed, with "
        "observed_residency)",
    )
    observed_residency: bool = Field(
        default=True,
        description="spread the fill cost over the residency observed so far (Little's law over the last "
        "residency_window_days nights: mean pinned objects / mean objects added a night) instead of "
        "horizon_days",
    )
    adaptive_reserve: tuple[float, ...] = Field(
        default=(0.0, 0.25, 0.5),
        description="candidate reserves: each night use the one whose shadow cache saved the most (bytes "
        "served less fill_cost per byte filled) over the last adapt_window_days (ties: the first; "
        "``reserve`` on the first night; empty: always ``reserve``)",
    )
    adapt_window_days: int = Field(
        default=365,
        ge=1,
        description="nights over which the shadow caches' savings are compared (chosen on "
        "ml-latest-small 2005-2014, a period before the benchmark's; 14 there lost 2-4% of the bytes to "
        "reserve switching on noise)",
    )
    residency_window_days: int = Field(default=14, ge=1, description="nights behind the residency estimate")

    @field_validator("fill_window")
    @classmethod
    def _window(cls, v: tuple[float, float]) -> tuple[float, float]:
        a, b = v
        if not (0 <= a < 24 and 0 <= b <= 24) or a == b:
            raise ValueError(
                "fill_window hours must be in [0, 24) and [0, 24], start != end (00:00-24:00: all day)"
            )
        return v

    @field_validator("adaptive_reserve")
    @classmethod
    def _reserves(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if any(not 0 <= r < 1 for r in v):
            raise ValueError("adaptive_reserve values must lie in [0, 1)")
        return v

    @property
    def window_hours(self) -> float:
        a, b = self.fill_window
        return (b - a) % 24 or 24.0

    @property
    def fill_budget_bytes(self) -> float:
        return self.fill_rate_bytes_per_s * self.window_hours * 3600.0


@dataclass(frozen=True)
class NightPlan:
    """One night's decision: ``pinned`` (sorted object ids to hold tomorrow), of which ``added`` must be
    fetched (in this order) and ``evicted`` were pinned yesterday and are dropped."""

    pinned: npt.NDArray[np.int64]
    added: npt.NDArray[np.int64]
    evicted: npt.NDArray[np.int64]
    fill_bytes: int
    pinned_bytes: int
    expected_saved_bytes: float


class FillPlanner:
    """Chooses the pinned set for a night from forecast requests (see the module docstring)."""

    def __init__(self, config: FillConfig) -> None:
        if not isinstance(config, FillConfig):
            raise ConfigError(f"FillPlanner takes a FillConfig, not {type(config).__name__}")
        self.config = config

    def plan(
        self,
        forecast: npt.NDArray[np.float64],
        sizes: npt.NDArray[np.int64],
        present: npt.NDArray[np.bool_],
        previous: npt.NDArray[np.int64] | None = None,
        *,
        residency_days: float | None = None,
    ) -> NightPlan:
        """``forecast[i]``: expected requests of object ``i`` a day; ``present[i]``: object ``i`` is on
        disk (pinned or in the reactive part) and needs no fetch; ``previous``: yesterday's pinned ids;
        ``residency_days``: nights a fetched object is expected to stay (default ``horizon_days``)."""
        cfg = self.config
        f = np.asarray(forecast, dtype=np.float64)
        sizes = np.asarray(sizes, dtype=np.int64)
        present = np.asarray(present, dtype=np.bool_)
        if f.ndim != 1 or sizes.shape != f.shape or present.shape != f.shape:
            raise ConfigError(
                f"forecast, sizes and present need one value per object: got shapes {f.shape}, {sizes.shape} "
                f"and {present.shape}"
            )
        if not np.isfinite(f).all() or (f < 0).any():
            raise ConfigError("forecast: expected requests must be finite and >= 0")
        if (sizes <= 0).any():
            raise ConfigError("sizes: every object needs a positive size in bytes")
        # an object fetched tonight is likely kept for several nights: its fill cost is spread over its
        # expected residency when deciding whether it is worth fetching at all
        stay = cfg.horizon_days if residency_days is None else max(1.0, float(residency_days))
        density = f - np.where(present, 0.0, cfg.fill_cost / stay)
        cand = np.flatnonzero((density > 0) & (sizes <= cfg.capacity_bytes))
        order = cand[np.argsort(-density[cand], kind="stable")]
        chosen, added = _greedy_fill(
            order,
            sizes,
            present,
            float(cfg.capacity_bytes) * (1.0 - cfg.reserve),
            cfg.fill_budget_bytes,
        )
        pinned = np.sort(chosen)
        prev = np.zeros(0, np.int64) if previous is None else previous
        evicted = np.setdiff1d(prev, pinned, assume_unique=True)
        return NightPlan(
            pinned=pinned,
            added=added,
            evicted=evicted,
            fill_bytes=int(sizes[added].sum()),
            pinned_bytes=int(sizes[pinned].sum()),
            expected_saved_bytes=float(
                (f[pinned] * sizes[pinned]).sum() - cfg.fill_cost * sizes[added].sum()
            ),
        )


@numba.njit(cache=True)
def _greedy_fill(
    order: npt.NDArray[np.int64],
    sizes: npt.NDArray[np.int64],
    present: npt.NDArray[np.bool_],
    disk: float,
    fill: float,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    chosen = np.empty(len(order), np.int64)
    added = np.empty(len(order), np.int64)
    nc = 0
    na = 0
    used = 0.0
    filled = 0.0
    for o in order:
        s = float(sizes[o])
        if used + s > disk:
            continue
        if not present[o]:
            if filled + s > fill:
                continue
            filled += s
            added[na] = o
            na += 1
        used += s
        chosen[nc] = o
        nc += 1
    return chosen[:nc], added[:na]


# ---- the day simulation: pinned objects (arriving at their fill time) + a reactive SIEVE or LRU ---------


@numba.njit(cache=True)
def _reactive_trim(
    cap: float,
    sizes: npt.NDArray[np.int64],
    inres: npt.NDArray[np.bool_],
    lk: npt.NDArray[np.int64],
    st: npt.NDArray[np.int64],
    visited: npt.NDArray[np.bool_],
    sieve: bool,
) -> None:
    """Evict until the reactive part holds at most ``cap`` bytes (``st[2]`` = used): from the LRU tail, or
    with ``sieve`` the first unvisited object from SIEVE's hand (``st[3]``), which moves from the tail
    towards the head clearing visited bits."""
    while st[2] > cap and st[1] >= 0:
        if sieve:
            t = st[3] if st[3] >= 0 else st[1]
            while visited[t]:
                visited[t] = False
                t = lk[t, 0]
                if t < 0:
                    t = st[1]
            st[3] = lk[t, 0]
        else:
            t = st[1]
        _unlink(lk, st, 0, t)
        inres[t] = False
        st[2] -= sizes[t]


@numba.njit(cache=True)
def _run_day(
    times: npt.NDArray[np.float64],
    objects: npt.NDArray[np.int64],
    sizes: npt.NDArray[np.int64],
    pinned: npt.NDArray[np.bool_],
    arrival: npt.NDArray[np.float64],
    inres: npt.NDArray[np.bool_],
    lk: npt.NDArray[np.int64],
    st: npt.NDArray[np.int64],
    visited: npt.NDArray[np.bool_],
    sieve: bool,
    res_cap: float,
    hits: npt.NDArray[np.bool_],
) -> None:
    for k in range(len(objects)):
        o = objects[k]
        if pinned[o] and arrival[o] <= times[k]:
            hits[k] = True
            continue
        if inres[o]:
            hits[k] = True
            if sieve:
                visited[o] = True
            else:
                _unlink(lk, st, 0, o)
                _push_head(lk, st, 0, o)
            continue
        if pinned[o]:  # on its way but not yet arrived: served from the backbone, not cached twice
            continue
        s = sizes[o]
        if s > res_cap:
            continue
        st[2] += s
        if st[2] > res_cap:
            _reactive_trim(res_cap, sizes, inres, lk, st, visited, sieve)
        inres[o] = True
        visited[o] = False
        _push_head(lk, st, 0, o)


def _next_to_go(lk: npt.NDArray[np.int64], st: npt.NDArray[np.int64], x: int, sieve: bool) -> None:
    """Put ``x`` where the reactive part evicts next: LRU's tail; for SIEVE, under its hand (which examines
    its object, then moves towards the head: an object put at the tail behind the hand would be examined
    only after the hand wraps, the last of the unvisited ones to go)."""
    hand = sieve and st[3] >= 0
    a = int(st[3]) if hand else int(st[1])  # x goes on the tail side of the hand's object, or the tail
    if a < 0:  # an empty list
        lk[x, 0] = lk[x, 1] = -1
        st[0] = st[1] = x
    else:
        n = int(lk[a, 1])
        lk[x, 0], lk[x, 1], lk[a, 1] = a, n, x
        if n >= 0:
            lk[n, 0] = x
        else:
            st[1] = x
    if hand:
        st[3] = x  # examined first; without a hand SIEVE starts at the tail, which x now is


class _Cache:
    """One appliance's disk: the pinned set (arriving at its fill times) and the reactive part."""

    def __init__(self, n_obj: int, sieve: bool) -> None:
        self.pinned = np.zeros(n_obj, dtype=np.bool_)
        self.arrival = np.full(n_obj, np.inf)
        self.inres = np.zeros(n_obj, dtype=np.bool_)
        self.links = np.full((n_obj, 2), -1, np.int64)  # the reactive part's list: previous, next
        self.st = np.array([-1, -1, 0, -1], dtype=np.int64)  # head, tail, bytes used, SIEVE's hand
        self.visited = np.zeros(n_obj, dtype=np.bool_)
        self.pinned_ids: npt.NDArray[np.int64] = np.zeros(0, np.int64)
        self.res_cap = 0.0
        self.sieve = sieve  # the reactive part's policy: SIEVE, else LRU
        self.pinned_per_night: list[int] = []
        self.added_per_night: list[int] = []

    def residency(self, cfg: FillConfig) -> float | None:
        """Nights an object stays pinned, by Little's law over the last ``residency_window_days`` nights
        (mean pinned objects / mean objects newly pinned a night); ``None`` (use ``horizon_days``) until
        then."""
        if not cfg.observed_residency or len(self.pinned_per_night) < cfg.residency_window_days:
            return None
        w = cfg.residency_window_days
        pinned = float(np.mean(self.pinned_per_night[-w:]))
        added = float(np.mean(self.added_per_night[-w:]))
        return min(365.0, pinned / max(added, 1.0 / w))

    def night(
        self,
        planner: FillPlanner,
        forecast: npt.NDArray[np.float64],
        sizes: npt.NDArray[np.int64],
        day_start: float,
        cfg: FillConfig,
    ) -> int:
        """Plan and start tonight's fill; returns the bytes to fetch."""
        plan = planner.plan(
            forecast, sizes, self.pinned | self.inres, self.pinned_ids, residency_days=self.residency(cfg)
        )
        newly = np.count_nonzero(~self.pinned[plan.pinned])
        self.pinned_per_night.append(len(plan.pinned))
        self.added_per_night.append(int(newly))
        # objects the plan stops pinning stay on disk in the reactive part, where it evicts next (the first
        # to go when the disk is needed): deleting them with free disk made the perfect-knowledge fill fetch
        # the whole catalogue 1.5 times over a disk that holds it
        for o in np.setdiff1d(self.pinned_ids, plan.pinned, assume_unique=True):
            if self.arrival[o] <= day_start:  # arrived (one still on its way was never stored)
                _next_to_go(self.links, self.st, int(o), self.sieve)
                self.inres[o] = True
                self.visited[o] = False
                self.st[2] += sizes[o]
        self.pinned[:] = False
        self.pinned[plan.pinned] = True
        self.arrival[plan.pinned] = -np.inf
        # objects now pinned leave the reactive part (they are held by the plan)
        for o in plan.pinned[self.inres[plan.pinned]]:
            if self.st[3] == o:  # SIEVE's hand moves on before its object leaves
                self.st[3] = self.links[o, 0]
            _unlink(self.links, self.st, 0, int(o))
            self.inres[o] = False
            self.st[2] -= sizes[o]
        fetched = np.cumsum(sizes[plan.added].astype(np.float64))
        self.arrival[plan.added] = day_start + fetched / cfg.fill_rate_bytes_per_s
        self.res_cap = float(cfg.capacity_bytes - plan.pinned_bytes)
        _reactive_trim(self.res_cap, sizes, self.inres, self.links, self.st, self.visited, self.sieve)
        self.pinned_ids = plan.pinned
        return plan.fill_bytes

    def day(
        self,
        times: npt.NDArray[np.float64],
        objects: npt.NDArray[np.int64],
        sizes: npt.NDArray[np.int64],
        hits: npt.NDArray[np.bool_],
    ) -> None:
        _run_day(
            times,
            objects,
            sizes,
            self.pinned,
            self.arrival,
            self.inres,
            self.links,
            self.st,
            self.visited,
            self.sieve,
            self.res_cap,
            hits,
        )


@dataclass(frozen=True)
class FillResult:
    """Outcome of :func:`simulate_fill` over the measured days."""

    policy: str
    capacity_bytes: int
    days: int
    requests: int
    hit_ratio: float
    byte_hit_ratio: float
    fill_bytes: int
    miss_bytes: int
    backbone_bytes: float
    daily_byte_hit_ratio: npt.NDArray[np.float64] = field(repr=False)
    hit_mask: npt.NDArray[np.bool_] = field(repr=False)
    measured_from: int = 0
    reserve_per_day: npt.NDArray[np.float64] = field(default_factory=lambda: np.zeros(0), repr=False)
    forecast_per_day: tuple[str, ...] = field(default=(), repr=False)

    def summary(self) -> dict[str, float | int | str]:
        return {
            "policy": self.policy,
            "capacity_bytes": self.capacity_bytes,
            "days": self.days,
            "requests": self.requests,
            "hit_ratio": self.hit_ratio,
            "byte_hit_ratio": self.byte_hit_ratio,
            "fill_bytes": self.fill_bytes,
            "miss_bytes": self.miss_bytes,
            "backbone_bytes": self.backbone_bytes,
        }


def _model_forecasts(
    data: DailyCounts,
    train_days: int,
    forecaster: RequestForecaster | None,
    signal: npt.NDArray[np.float64] | None,
    refit_every: int | None,
) -> dict[str, npt.NDArray[np.float64]]:
    """The forecasts of the measured days: from ``forecaster`` (fitted on the training days unless it is
    already), or, without one, from both the gradient-boosted model and the long-run rates."""
    measured = range(train_days, data.n_days)
    if forecaster is None:
        models = {
            "gbm": RequestForecaster(ForecastConfig()),
            "rates": RequestForecaster(ForecastConfig(model="rates")),
        }
    else:
        models = {"model": forecaster}
    out: dict[str, npt.NDArray[np.float64]] = {}
    for name, fc in models.items():
        if hasattr(fc, "n_items_"):
            out[name] = fc.predict_days(data, measured, signal=signal)
        elif refit_every is None or fc.config.model != "gbm":
            fc.fit(data, range(1, train_days), signal=signal)
            out[name] = fc.predict_days(data, measured, signal=signal)
        else:
            # refitted every ``refit_every`` nights on the weeks before, as a nightly job would be
            out[name] = walk_forward_forecast(
                data,
                measured,
                config=fc.config,
                refit_every=refit_every,
                fit_window=max(train_days, 56),
                signal=signal,
            )
    return out


def order_by_id(trace: RequestTrace) -> tuple[RequestTrace, npt.NDArray[np.int64] | None]:
    """``trace`` with its objects numbered in the order of their ids, not of the file's rows (a trace
    numbers them by first request), and the permutation (``perm[new] = old``; ``None`` when nothing moves):
    per-object arrays (forecasts, release times) follow it as ``array[perm]``. The fill plans in this order,
    so the same requests in another row order give the same plan."""
    from reelkit.stream.cache.trace import RequestTrace as _Trace

    perm = np.argsort(trace.original_ids, kind="stable")
    if not np.any(perm != np.arange(len(perm))):
        return trace, None
    new_id = np.empty_like(perm)
    new_id[perm] = np.arange(len(perm))
    renumbered = _Trace(
        timestamps=trace.timestamps,
        objects=new_id[trace.objects],
        sizes=trace.sizes,
        original_ids=trace.original_ids[perm],
        regions=trace.regions,
        source=trace.source,
    )
    return renumbered, perm.astype(np.int64)


def simulate_fill(
    timestamps: npt.NDArray[np.float64],
    objects: npt.NDArray[np.int64],
    request_bytes: npt.NDArray[np.int64],
    object_sizes: npt.NDArray[np.int64],
    config: FillConfig,
    *,
    train_days: int = 14,
    forecaster: RequestForecaster | None = None,
    forecast: Literal["model", "oracle"]
    | npt.NDArray[np.float64]
    | Mapping[str, npt.NDArray[np.float64]] = "model",
    release_s: npt.NDArray[np.float64] | None = None,
    groups: npt.NDArray[np.int64] | None = None,
    kinds: npt.NDArray[np.int64] | None = None,
    signal: npt.NDArray[np.float64] | None = None,
    refit_every: int | None = None,
    progress: Progress = SILENT,
) -> FillResult:
    """Replay requests (sorted by time) with nightly fills; measure from day ``train_days`` on.

    The first ``train_days`` days (starting at the fill window's start) only train the forecaster (fitted on
    them, each day predicted from the days before, unless ``forecaster`` is already fitted); the cache is
    then warm at the first measured night as a reactive policy measured with the same warm-up is: the whole
    disk ran the reactive policy over the training days' requests, and what it holds needs no fetch.
    ``forecast`` may also be an array of precomputed forecasts, one column per measured day, or several
    named arrays. The model is fitted once on the training days, or (``refit_every``) refitted every that
    many nights on the (up to 56) days before. Without a ``forecaster``, both the gradient-boosted model
    and the long-run rates (``ForecastConfig(model="rates")``) forecast. ``groups`` / ``kinds``: each
    object's title and rendition (the forecasters pool a title's requests and split them by rendition).

    With several forecasts, each night uses the one whose shadow caches saved the most (bytes served less
    ``fill_cost`` per byte filled) over all the measured nights so far, with its reserve among
    ``adaptive_reserve`` whose shadow saved the most over the last ``adapt_window_days``: a dense workload
    with release spikes is best served by the model, a sparse one by the long-run rates, and which one a
    cache sees is known only from its own past requests.
    """
    cfg = config
    ts = np.asarray(timestamps, dtype=np.float64)
    obj = np.asarray(objects, dtype=np.int64)
    rb = np.asarray(request_bytes, dtype=np.int64)
    sizes = np.asarray(object_sizes, dtype=np.int64)
    n_obj = len(sizes)
    if len(ts) == 0:
        raise ConfigError("no requests to simulate")
    if train_days < 0:
        raise ConfigError(f"train_days={train_days}: give 0 or more training days")
    if np.any(np.diff(ts) < 0):
        raise ConfigError("requests must be sorted by time")
    data = daily_counts(
        ts, obj, n_obj, day_start_hour=cfg.fill_window[0], release_s=release_s, groups=groups, kinds=kinds
    )
    if data.n_days <= train_days + 1:
        raise ConfigError(
            f"the trace spans {data.n_days} day(s) (days start at the fill window's start, "
            f"{int(cfg.fill_window[0]):02d}:{round(cfg.fill_window[0] % 1 * 60):02d}): need more than "
            f"train_days={train_days} + 1; give a longer trace or fewer training days (--train-days)"
        )
    if isinstance(forecast, str) and forecast == "model" and forecaster is None and train_days < 2:
        raise ConfigError(
            f"train_days={train_days}: the forecaster needs at least 2 training days (it learns day 1 from "
            "day 0); give --train-days 2 or more"
        )
    shape = (n_obj, data.n_days - train_days)
    oracle = isinstance(forecast, str) and forecast == "oracle"
    forecasts: dict[str, npt.NDArray[np.float64]]
    if isinstance(forecast, str):
        if forecast not in ("model", "oracle"):
            raise ConfigError(f"forecast {forecast!r}: expected 'model', 'oracle' or an array")
        if oracle:  # the oracle knows each day's true counts
            forecasts = {"oracle": data.counts[:, train_days:].astype(np.float64)}
        else:
            forecasts = _model_forecasts(data, train_days, forecaster, signal, refit_every)
    elif isinstance(forecast, np.ndarray):
        forecasts = {"given": forecast}
    else:
        forecasts = {str(k): np.asarray(v, dtype=np.float64) for k, v in forecast.items()}
    if not forecasts:
        raise ConfigError("forecast: give at least one forecast")
    for f_arr in forecasts.values():
        if f_arr.shape != shape:
            raise ConfigError(f"forecast must be (objects, measured days) = {shape}")
    day_of = np.floor((ts - data.day0_s) / DAY_S).astype(np.int64)
    bounds = np.searchsorted(day_of, np.arange(data.n_days + 1))
    start = int(bounds[train_days])
    hits = np.zeros(len(ts), dtype=np.bool_)
    sieve = cfg.reactive == "sieve"
    real = _Cache(n_obj, sieve)
    names = list(forecasts)
    reserves = tuple(cfg.adaptive_reserve) or (cfg.reserve,)
    choices = [(n, r) for n in names for r in reserves]
    if len(choices) == 1 and not cfg.adaptive_reserve:
        choices = []  # one fixed candidate: no shadows needed
    shadows = [_Cache(n_obj, sieve) for _ in choices]
    shadow_hit = np.zeros((len(choices), data.n_days - train_days))
    planners = {r: FillPlanner(cfg.model_copy(update={"reserve": r})) for r in {cfg.reserve, *reserves}}
    scratch = np.zeros(len(ts), dtype=np.bool_)
    fill_total = 0
    daily: list[float] = []
    reserve_log: list[float] = []
    forecast_log: list[str] = []
    # the warm-up: before the first fill, the whole disk is the reactive part over the training days'
    # requests, as the reactive policies compared with the fill are warmed (it started cold: its first fill
    # and first day's misses counted against it)
    for cache in (real, *shadows):
        cache.res_cap = float(cfg.capacity_bytes)
        cache.day(ts[:start], obj[:start], sizes, np.zeros(start, dtype=np.bool_))
    with progress.task("simulating nightly fills", total=data.n_days - train_days) as bar:
        for day in range(train_days, data.n_days):
            k = day - train_days
            name, reserve = names[0], cfg.reserve
            if choices and k > 0:
                # the forecast whose shadow caches served the most bytes over all the nights so far (a
                # stable choice: switching forecasts reshuffles the disk), then its reserve whose shadow
                # served the most over the last nights (both known by now)
                total = shadow_hit[:, :k].sum(axis=1)
                recent = shadow_hit[:, max(0, k - cfg.adapt_window_days) : k].sum(axis=1)
                best = {n: max(total[j] for j, c in enumerate(choices) if c[0] == n) for n in names}
                name = max(names, key=lambda n: best[n])
                mine = [j for j, c in enumerate(choices) if c[0] == name]
                reserve = choices[max(mine, key=lambda j: recent[j])][1]
            reserve_log.append(reserve)
            forecast_log.append(name)
            day_start = data.day0_s + day * DAY_S
            lo, hi = int(bounds[day]), int(bounds[day + 1])
            fill_total += real.night(planners[reserve], forecasts[name][:, k], sizes, day_start, cfg)
            real.day(ts[lo:hi], obj[lo:hi], sizes, hits[lo:hi])
            b = rb[lo:hi]
            daily.append(float(b[hits[lo:hi]].sum() / b.sum()) if b.sum() else float("nan"))
            for j, ((n, r), sh) in enumerate(zip(choices, shadows, strict=True)):
                filled = sh.night(planners[r], forecasts[n][:, k], sizes, day_start, cfg)
                scratch[lo:hi] = False
                sh.day(ts[lo:hi], obj[lo:hi], sizes, scratch[lo:hi])
                # the planner's own objective: bytes served less the cost of tonight's fill
                shadow_hit[j, k] = float(b[scratch[lo:hi]].sum()) - cfg.fill_cost * filled
            bar.advance()
    meas = slice(start, None)
    h = hits[meas]
    b = rb[meas]
    miss_bytes = int(b[~h].sum())
    return FillResult(
        policy="fill-oracle" if oracle else "fill",
        capacity_bytes=cfg.capacity_bytes,
        days=data.n_days - train_days,
        requests=len(h),
        hit_ratio=float(h.mean()) if len(h) else float("nan"),
        byte_hit_ratio=float(b[h].sum() / b.sum()) if b.sum() else float("nan"),
        fill_bytes=fill_total,
        miss_bytes=miss_bytes,
        backbone_bytes=float(miss_bytes + fill_total),
        daily_byte_hit_ratio=np.asarray(daily),
        hit_mask=hits,
        measured_from=start,
        reserve_per_day=np.asarray(reserve_log),
        forecast_per_day=tuple(forecast_log),
    )


# ---- the planner against reactive policies and the offline bounds on the same measured requests -----------


@dataclass(frozen=True)
class ApproachResult:
    """One approach over the measured requests. ``kind``: ``fill`` (nightly fill + reactive part),
    ``reactive`` (a demand-fetch policy), ``offline`` (belady-size, a heuristic that knows the future) or
    ``bound`` (:func:`~reelkit.stream.cache.sim.offline_upper_bound`, a bound for demand-fetch caches).
    ``backbone_bytes`` = miss bytes + fill bytes."""

    name: str
    kind: Literal["fill", "reactive", "offline", "bound"]
    hit_ratio: float
    byte_hit_ratio: float
    fill_bytes: int
    backbone_bytes: float


@dataclass(frozen=True)
class FillComparison:
    """The fill planner, the perfect-knowledge fill, reactive policies and offline references at one
    capacity, all measured on the requests from day ``train_days`` on."""

    capacity_bytes: int
    train_days: int
    measured_days: int
    measured_requests: int
    warmup_requests: int
    approaches: tuple[ApproachResult, ...]
    #: The forecast the fill planner used each measured night (see :class:`FillResult`).
    forecast_per_day: tuple[str, ...] = ()
    #: The share of the disk the fill planner left to the reactive policy each measured night.
    reserve_per_day: tuple[float, ...] = ()

    def get(self, name: str) -> ApproachResult:
        for a in self.approaches:
            if a.name == name:
                return a
        raise KeyError(name)

    def best_reactive(self) -> ApproachResult | None:
        reactive = [a for a in self.approaches if a.kind == "reactive"]
        return max(reactive, key=lambda a: a.byte_hit_ratio) if reactive else None

    def ratios(self, name: str = "fill") -> dict[str, float]:
        """``name``'s byte hit ratio divided by every other approach's."""
        mine = self.get(name).byte_hit_ratio
        return {
            a.name: (mine / a.byte_hit_ratio if a.byte_hit_ratio > 0 else float("nan"))
            for a in self.approaches
            if a.name != name
        }


def compare_fill(
    trace: RequestTrace,
    config: FillConfig,
    *,
    train_days: int = 14,
    policies: Sequence[str | CachePolicy] = ("lru", "s3fifo"),
    forecaster: RequestForecaster | None = None,
    forecast: npt.NDArray[np.float64] | Mapping[str, npt.NDArray[np.float64]] | None = None,
    release_s: npt.NDArray[np.float64] | None = None,
    groups: npt.NDArray[np.int64] | None = None,
    kinds: npt.NDArray[np.int64] | None = None,
    signal: npt.NDArray[np.float64] | None = None,
    oracle: bool = True,
    offline: bool = True,
    progress: Progress = SILENT,
) -> FillComparison:
    """Run the fill planner on ``trace`` (measured after ``train_days``), the perfect-knowledge fill, the
    reactive ``policies`` with the same warm-up, ``belady-size`` and :func:`offline_upper_bound`."""
    from reelkit.stream.cache.policies import distinct_policies, make_policy
    from reelkit.stream.cache.sim import offline_upper_bound, simulate
    from reelkit.stream.cache.trace import RequestTrace as _Trace

    late = int(np.count_nonzero(np.diff(trace.timestamps) < 0))
    if late:
        # nights come in time order: every approach is measured on the requests sorted by time (stably),
        # as a file of several servers' logs one after the other is meant to be read here
        order = np.argsort(trace.timestamps, kind="stable")
        # the same dense object ids (the catalogue's groups, kinds and release times are indexed by them)
        trace = _Trace(
            timestamps=trace.timestamps[order],
            objects=trace.objects[order],
            sizes=trace.sizes[order],
            original_ids=trace.original_ids,
            regions=None if trace.regions is None else trace.regions[order],
            source=trace.source,
        )
        warnings.warn(
            f"{trace.source}: {late:,} request(s) come before the one above them; the nightly plan and "
            "every approach compared with it run on the requests sorted by time",
            ReelkitWarning,
            stacklevel=2,
        )
    # the reactive policies and the bound run on the trace as read, so that they give exactly what
    # `cache simulate` gives for it (TinyLFU's sketch hashes the object numbers)
    as_read = trace
    trace, perm = order_by_id(trace)
    if perm is not None:
        release_s = None if release_s is None else np.asarray(release_s)[perm]
        groups = None if groups is None else np.asarray(groups)[perm]
        kinds = None if kinds is None else np.asarray(kinds)[perm]
        signal = None if signal is None else np.asarray(signal)[perm]
        if isinstance(forecast, np.ndarray):
            forecast = forecast[perm]
        elif forecast is not None:
            forecast = {k: np.asarray(v)[perm] for k, v in forecast.items()}
    reactive = distinct_policies(policies)  # each (name, config) once
    not_reactive = [p.name for p in reactive if p.offline]
    if not_reactive:
        raise ConfigError(
            f"policies: {', '.join(not_reactive)} cannot be compared as reactive (belady-size and the "
            "bound are always added)"
        )
    sizes = trace.object_sizes()
    args = (trace.timestamps, trace.objects, trace.sizes, sizes, config)
    fill = simulate_fill(
        *args,
        train_days=train_days,
        forecaster=forecaster,
        forecast="model" if forecast is None else forecast,
        release_s=release_s,
        groups=groups,
        kinds=kinds,
        signal=signal,
        progress=progress,
    )
    out = [_from_fill("fill", fill)]
    if oracle:
        out.append(_from_fill("fill-oracle", simulate_fill(*args, train_days=train_days, forecast="oracle")))
    # the reactive policies skip the same leading requests (half a request of slack against float rounding)
    n = trace.n_requests
    warm = (fill.measured_from + 0.5) / n
    runs: list[CachePolicy] = reactive + ([make_policy("belady-size")] if offline else [])
    with progress.task("reactive policies", total=len(runs)) as bar:
        for pol in runs:
            r = simulate(as_read, pol, config.capacity_bytes, warmup=warm)
            miss = float(r.bytes_requested - r.bytes_hit)
            kind: Literal["reactive", "offline"] = "offline" if pol.offline else "reactive"
            out.append(ApproachResult(r.policy, kind, r.hit_ratio, r.byte_hit_ratio, 0, miss))
            bar.advance()
    if offline:
        ub = offline_upper_bound(as_read, config.capacity_bytes, warmup=warm)
        meas = float(trace.sizes[fill.measured_from :].sum())
        out.append(
            ApproachResult(
                "offline-bound", "bound", ub.hit_ratio, ub.byte_hit_ratio, 0, meas * (1 - ub.byte_hit_ratio)
            )
        )
    return FillComparison(
        capacity_bytes=config.capacity_bytes,
        train_days=train_days,
        measured_days=fill.days,
        measured_requests=fill.requests,
        warmup_requests=fill.measured_from,
        approaches=tuple(out),
        forecast_per_day=fill.forecast_per_day,
        reserve_per_day=tuple(float(r) for r in fill.reserve_per_day),
    )


def _from_fill(name: str, r: FillResult) -> ApproachResult:
    return ApproachResult(name, "fill", r.hit_ratio, r.byte_hit_ratio, r.fill_bytes, r.backbone_bytes)
