"""Forecast tomorrow's requests per object (or title) from its recent history and from the recommender.

An Open Connect style cache is filled at night with what will be watched tomorrow, so what matters is a good
*ranking* of tomorrow's demand with a sensible scale. :class:`RequestForecaster` predicts the number of
requests of every item on day ``d`` from what was known at the end of day ``d - 1``:

* history: requests yesterday, over the last 7 and 28 days, on the same weekday over the last 4 weeks; decayed
  mean daily rates (half-lives of a month and a year); days since the last request; the item's age;
* its title (``DailyCounts.group``, with the rendition as ``kind``): the same for all the title's files
  together, and the title's rates split by the file's share of the title's requests (shrunk towards its
  rendition's share of all requests), so a file seldom requested itself inherits its title's popularity;
* the calendar: the weekday of the target day;
* release age: days since the title's release when the catalog knows it (new releases spike, then decay);
* the recommender (optional ``signal``): for example how many active members have the title among their top
  picks (:func:`top_pick_counts`), the demand the home page will create;
* the volume of the whole service over the last week (a scale for the rest).

``model="gbm"`` is a gradient-boosted regressor on the log of the counts (scikit-learn's
``HistGradientBoostingRegressor``, rescaled to the mean; ``loss="poisson"`` fits the counts directly)
fitted on the history itself, so nothing is saved between runs (no pickle). Its training rows are drawn
from what is known before each day (items with history, near release, and a weighted sample of the rest),
never from the day's own counts. ``model="rates"`` is the long-run rate alone (the mean of the item's own
and its title's split year-half-life rates): on sparse traces (ml-latest-small: 20 views a day over 8,868
files) it ranks and scales better than any model fitted on a few weeks. ``model="ewma"`` is the classical
exponentially weighted baseline. :func:`evaluate_forecast` measures them on a time split together with the
naive baselines (yesterday's count; the last week's mean).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import Field
from scipy.stats import spearmanr

from reelkit.config import Config
from reelkit.errors import ConfigError, NotFittedError

__all__ = [
    "DailyCounts",
    "ForecastConfig",
    "ForecastReport",
    "RequestForecaster",
    "daily_counts",
    "evaluate_forecast",
    "top_pick_counts",
    "walk_forward_forecast",
]

DAY_S = 86400.0
#: half-lives (days) of the decayed request rates: a month (what is in vogue) and a year (the long run)
_HALF_LIVES = (30.0, 365.0)
_FEATURES = (
    "yesterday",
    "last7",
    "last28",
    "same_weekday4",
    "rate30",
    "rate365",
    "days_since_last",
    "age_days",
    "group_last7",
    "group_last28",
    "group_rate30",
    "group_rate365",
    "group_days_since_last",
    "share",
    "split_rate30",
    "split_rate365",
    "release_age_days",
    "weekday",
    "volume7",
    "signal",
)


@dataclass(frozen=True)
class DailyCounts:
    """Requests per item and day: ``counts[i, d]`` on day ``d`` (which starts at ``day0_s + d * 86400``).

    ``release_day[i]`` is the (fractional) day index of item ``i``'s release, NaN when unknown. Optional
    ``group[i]`` (the title of a rendition file) and ``kind[i]`` (its rendition) let the forecaster pool
    the requests of a title's files and split them by the observed rendition shares: a file seldom
    requested itself inherits its title's popularity.
    """

    counts: npt.NDArray[np.float32]
    day0_s: float
    release_day: npt.NDArray[np.float64]
    group: npt.NDArray[np.int64] | None = None
    kind: npt.NDArray[np.int64] | None = None

    @property
    def n_items(self) -> int:
        return int(self.counts.shape[0])

    @property
    def n_days(self) -> int:
        return int(self.counts.shape[1])


_MAX_DAYS = 100 * 366  # a century of days: beyond it the timestamps are not seconds
#: The fewest training rows a fit day is sampled with (past ``max_rows / 20`` fit days, some are left out)
_MIN_DAY_ROWS = 20


def daily_counts(
    timestamps: npt.ArrayLike,
    items: npt.ArrayLike,
    n_items: int,
    *,
    day_start_hour: float = 0.0,
    start_s: float | None = None,
    end_s: float | None = None,
    weights: npt.ArrayLike | None = None,
    release_s: npt.ArrayLike | None = None,
    groups: npt.ArrayLike | None = None,
    kinds: npt.ArrayLike | None = None,
) -> DailyCounts:
    """Count requests of each item per day; days start at ``day_start_hour`` (UTC) and span
    ``[start_s, end_s)`` (default: the data's range). ``weights`` counts each request as that much;
    ``groups`` / ``kinds``: each item's title and rendition (see :class:`DailyCounts`)."""
    ts = np.asarray(timestamps, dtype=np.float64)
    it = np.asarray(items, dtype=np.int64)
    if ts.shape != it.shape:
        raise ConfigError("timestamps and items must have one length")
    if len(ts) == 0:
        raise ConfigError("no requests to count")
    if not np.isfinite(ts).all():
        raise ConfigError("timestamps must be finite numbers of seconds")
    if weights is not None and np.shape(weights) != ts.shape:
        raise ConfigError(f"weights need one value per request ({len(ts)}), got shape {np.shape(weights)}")
    if weights is not None:  # negative or NaN weights made negative or NaN counts, and forecasts of them
        wa = np.asarray(weights, dtype=np.float64)
        bad = np.flatnonzero(~(np.isfinite(wa) & (wa >= 0)))
        if bad.size:
            raise ConfigError(f"weights must be finite and >= 0; request {int(bad[0])} has {wa[bad[0]]!r}")
    first, latest = float(ts.min()), float(ts.max())
    for t in (first, latest):  # a 300-digit count of days (or an overflow) was blamed on the unit
        if not abs(t) < 2.0**63:
            raise ConfigError(
                f"a request's timestamp, {t:g}, is beyond any date (in seconds, or even nanoseconds); fix or "
                "remove it"
            )
    offset = day_start_hour * 3600.0
    for name, given in (("start_s", start_s), ("end_s", end_s)):
        if given is not None and not abs(float(given)) < 2.0**63:
            raise ConfigError(f"{name} {float(given):g} is beyond any date in seconds")
    lo = first if start_s is None else float(start_s)
    day0 = np.floor((lo - offset) / DAY_S) * DAY_S + offset
    # through the day of the last request (its time + 1 s made an empty day of a last request less than a
    # second before midnight: fractional times, a night's fill for nothing), or to end_s
    span = np.floor((latest - day0) / DAY_S) + 1 if end_s is None else np.ceil((float(end_s) - day0) / DAY_S)
    if span > _MAX_DAYS:
        if (start_s is not None or end_s is not None) and (latest - first) / DAY_S < _MAX_DAYS:
            raise ConfigError(  # the requests are fine: the range asked for is not
                f"start_s..end_s spans {span:,.0f} days, more than a century; give a range in seconds"
            )
        why = "these look like milli- or nanoseconds" if first >= 0 else f"from {first:g} s to {latest:g} s"
        raise ConfigError(f"the requests span {span:,.0f} days; timestamps must be in seconds ({why})")
    n_days = max(1, int(span))
    keep = (ts >= day0) & (ts < day0 + n_days * DAY_S)
    if keep.any() and (it[keep].min() < 0 or it[keep].max() >= n_items):
        raise ConfigError(
            f"items must be indices 0..{n_items - 1}, got {int(it[keep].min())}..{int(it[keep].max())}"
        )
    d = np.floor((ts[keep] - day0) / DAY_S).astype(np.int64)
    w = None if weights is None else np.asarray(weights, dtype=np.float64)[keep]
    flat = np.bincount(it[keep] * n_days + d, weights=w, minlength=n_items * n_days)
    counts = flat.reshape(n_items, n_days).astype(np.float32)
    if release_s is None:
        rel = np.full(n_items, np.nan)
    else:
        rel = (np.asarray(release_s, dtype=np.float64) - day0) / DAY_S
        if rel.shape != (n_items,):
            raise ConfigError("release_s needs one entry per item")
    labels: list[npt.NDArray[np.int64] | None] = []
    for name, arr in (("groups", groups), ("kinds", kinds)):
        if arr is None:
            labels.append(None)
            continue
        a = np.asarray(arr, dtype=np.int64)
        if a.shape != (n_items,) or (len(a) and a.min() < 0):
            raise ConfigError(f"{name} needs one index >= 0 per item")
        labels.append(a)
    return DailyCounts(counts=counts, day0_s=float(day0), release_day=rel, group=labels[0], kind=labels[1])


class ForecastConfig(Config):
    """Settings of :class:`RequestForecaster` (round-trips through JSON)."""

    model: Literal["gbm", "ewma", "rates"] = "gbm"
    halflife_days: float = Field(default=3.0, gt=0, description="for model='ewma'")
    loss: Literal["log", "poisson"] = Field(
        default="log",
        description="log: squared error on log1p counts, rescaled to the mean (smearing); poisson: the "
        "Poisson deviance on the counts themselves",
    )
    max_rows: int = Field(
        default=150_000,
        ge=1000,
        description="training rows sampled at most, spread evenly over the fit days (at least 20 a day: past "
        "max_rows / 20 fit days, days evenly spread over them)",
    )
    cold_rows: float = Field(
        default=0.1,
        ge=0,
        lt=1,
        description="share of each day's training rows drawn from items with no history at all (weighted "
        "back to their true number)",
    )
    max_iter: int = Field(default=80, ge=10)
    learning_rate: float = Field(default=0.1, gt=0, le=1)
    max_leaf_nodes: int = Field(default=31, ge=4)
    min_samples_leaf: int = Field(default=100, ge=1)
    horizon_days: int = Field(
        default=1,
        ge=1,
        description="target: the (decayed) mean daily requests over this many days from the forecast day (a "
        "planner that keeps what it fetches for several nights values the longer run)",
    )
    horizon_decay: float = Field(
        default=1.0, gt=0, le=1, description="weight of day k of the horizon: horizon_decay ** k"
    )
    calibrate_total: bool = Field(
        default=False,
        description="rescale each day's forecasts to sum to the last 7 days' mean daily volume",
    )
    seed: int = 0


class _Prefix:
    """Cumulative sums over days so that any window sum is two lookups."""

    def __init__(self, counts: npt.NDArray[np.float32]) -> None:
        self.cum = np.zeros((counts.shape[0], counts.shape[1] + 1), dtype=np.float64)
        np.cumsum(counts, axis=1, out=self.cum[:, 1:])

    def window(self, day: int, length: int) -> npt.NDArray[np.float64]:
        """Sum over days ``[day - length, day)`` (clipped at 0)."""
        lo = max(0, day - length)
        return self.cum[:, day] - self.cum[:, lo]


class _Level:
    """Running history of some rows (items or groups) as the days go by: window sums, decayed rates, the
    last request and the first one. ``add(c)`` appends one day's counts."""

    def __init__(self, n: int) -> None:
        self.day = 0
        self.l7 = np.zeros(n)
        self.l28 = np.zeros(n)
        self.total = np.zeros(n)
        self.decayed = [np.zeros(n) for _ in _HALF_LIVES]
        self.weight = [0.0 for _ in _HALF_LIVES]
        self.last = np.full(n, -np.inf)
        self.first = np.full(n, np.inf)

    def add(
        self, c: npt.NDArray[np.float64], old7: npt.NDArray[np.float64], old28: npt.NDArray[np.float64]
    ) -> None:
        self.l7 += c - old7
        self.l28 += c - old28
        self.total += c
        for k, h in enumerate(_HALF_LIVES):
            g = 0.5 ** (1.0 / h)
            self.decayed[k] *= g
            self.decayed[k] += c
            self.weight[k] = self.weight[k] * g + 1.0
        seen = c > 0
        self.last[seen] = self.day
        self.first[seen & ~np.isfinite(self.first)] = self.day
        self.day += 1

    def rate(self, k: int) -> npt.NDArray[np.float64]:
        """Decayed mean daily requests (half-life ``_HALF_LIVES[k]``) over the days so far."""
        return self.decayed[k] / self.weight[k] if self.weight[k] > 0 else self.decayed[k]

    def since_last(self) -> npt.NDArray[np.float64]:
        out = self.day - self.last
        return np.where(np.isfinite(out), out, np.nan)


def _walk_features(
    data: DailyCounts,
    days: npt.NDArray[np.int64],
    signal: npt.NDArray[np.float64] | None,
    rows: Callable[[int, npt.NDArray[np.bool_]], npt.NDArray[np.int64] | None] | None = None,
) -> Iterator[tuple[int, npt.NDArray[np.int64] | None, npt.NDArray[np.float64]]]:
    """Walk the days in order and yield, for each of ``days``, the features of predicting that
    day from the days before it: ``(day, rows, x)``. ``rows(day, known)`` picks the rows (``None``: every
    item); ``known`` marks items with any history (their own or their group's) or near their release."""
    c = data.counts
    n = data.n_items
    group = data.group if data.group is not None else np.arange(n)
    n_groups = int(group.max()) + 1 if n else 0
    kind = data.kind if data.kind is not None else np.zeros(n, np.int64)
    n_kinds = int(kind.max()) + 1 if n else 1
    has_group = data.group is not None
    items = _Level(n)
    groups = _Level(n_groups) if has_group else items  # without titles each item is its own group
    kind_total = np.zeros(n_kinds)
    volume = np.zeros(data.n_days + 1)
    zero_i = np.zeros(n)
    zero_g = np.zeros(n_groups)
    gcounts: list[npt.NDArray[np.float64]] = []
    targets = iter(np.unique(days).tolist())
    nxt = next(targets, None)
    for day in range(0, data.n_days + 1):
        while nxt is not None and nxt == day:
            known = (items.total > 0) | (groups.total[group] > 0) | (np.abs(day - data.release_day) <= 28)
            idx = None if rows is None else rows(day, known)
            sel = slice(None) if idx is None else idx
            g = group[sel]
            same = np.zeros(n)[sel]
            for k in range(1, 5):
                if day - 7 * k >= 0:
                    same = same + c[sel, day - 7 * k]
            # the item's share of its group's requests, shrunk towards its kind's share of all requests
            p_kind = (kind_total + 1.0) / (kind_total.sum() + n_kinds)
            share = (items.total[sel] + p_kind[kind[sel]]) / (groups.total[g] + 1.0)
            age = day - items.first[sel]
            cols = [
                c[sel, day - 1].astype(np.float64) if day >= 1 else np.zeros(len(g)),
                items.l7[sel],
                items.l28[sel],
                same,
                items.rate(0)[sel],
                items.rate(1)[sel],
                items.since_last()[sel],
                np.where(np.isfinite(age), age, np.nan),
            ]
            if has_group:
                cols += [
                    groups.l7[g],
                    groups.l28[g],
                    groups.rate(0)[g],
                    groups.rate(1)[g],
                    groups.since_last()[g],
                    share,
                    groups.rate(0)[g] * share,
                    groups.rate(1)[g] * share,
                ]
            else:
                cols += [np.full(len(g), np.nan)] * 8
            weekday = float((np.floor(data.day0_s / DAY_S) + day + 3) % 7)  # 0 = Monday
            cols += [
                day - data.release_day[sel],
                np.full(len(g), weekday),
                np.full(len(g), volume[day] - volume[max(0, day - 7)]),
                np.full(len(g), np.nan) if signal is None else np.asarray(signal, np.float64)[sel, day - 1],
            ]
            yield day, idx, np.column_stack(cols)
            nxt = next(targets, None)
        if nxt is None or day == data.n_days:
            return
        cd = c[:, day].astype(np.float64)
        items.add(
            cd,
            c[:, day - 7].astype(np.float64) if day >= 7 else zero_i,
            c[:, day - 28].astype(np.float64) if day >= 28 else zero_i,
        )
        if has_group:
            gc = np.bincount(group, weights=cd, minlength=n_groups).astype(np.float64)
            gcounts.append(gc)
            old7 = gcounts[day - 7] if day >= 7 else zero_g
            groups.add(gc, old7, gcounts[day - 28] if day >= 28 else zero_g)
            if day >= 28:
                gcounts[day - 28] = zero_g  # no longer needed
        kind_total += np.bincount(kind, weights=cd, minlength=n_kinds)
        volume[day + 1] = volume[day] + cd.sum()


def _long_run_rate(x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """``model='rates'``: the mean of the item's own year-half-life request rate and its group's (title's)
    rate split by the item's share of the group; the item's rate alone without groups."""
    own = x[:, _FEATURES.index("rate365")]
    split = x[:, _FEATURES.index("split_rate365")]
    return np.where(np.isfinite(split), 0.5 * (own + split), own)


class RequestForecaster:
    """Predicts each item's requests on a day from the days before it (see the module docstring).

    ``fit(data, days=range(...), signal=...)`` learns from the given target days; ``predict(data, day)``
    returns the expected requests of every item on ``day`` using only days ``< day``. ``signal`` is an
    optional ``(n_items, n_days)`` array of a recommender-derived quantity known at the end of each day.
    """

    def __init__(self, config: ForecastConfig | None = None) -> None:
        self.config = config or ForecastConfig()

    def fit(
        self,
        data: DailyCounts,
        days: range | npt.ArrayLike,
        *,
        signal: npt.NDArray[np.float64] | None = None,
    ) -> RequestForecaster:
        cfg = self.config
        target_days = np.asarray(list(days) if isinstance(days, range) else days, dtype=np.int64)
        if len(target_days) == 0 or target_days.min() < 1 or target_days.max() >= data.n_days:
            raise ConfigError(f"fit days must lie in 1..{data.n_days - 1}")
        self.n_items_ = data.n_items
        self.with_signal_ = signal is not None
        if cfg.model != "gbm":
            self.model_ = None
            return self
        from sklearn.ensemble import HistGradientBoostingRegressor

        rng = np.random.default_rng(cfg.seed)
        last = int(target_days.max())
        fit_days = np.unique(target_days)
        if len(fit_days) * _MIN_DAY_ROWS > cfg.max_rows:
            # more fit days than max_rows can sample well: days evenly spread over them, the first and last
            # among them
            keep = np.round(np.linspace(0, len(fit_days) - 1, cfg.max_rows // _MIN_DAY_ROWS)).astype(np.int64)
            fit_days = fit_days[keep]
        # max_rows holds (at least 200 rows a day made 2000 rows of 10 fit days for max_rows=1000)
        per_day = cfg.max_rows // len(fit_days)
        n_cold = round(per_day * cfg.cold_rows)
        weights: dict[int, npt.NDArray[np.float64]] = {}

        def pick(day: int, known: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
            # rows are chosen from what is known before the day, never from the day's own counts: choosing
            # the rows that are requested on the day (as a first version did) taught the model that items
            # with no history are requested about once a day
            warm = np.flatnonzero(known)
            cold = np.flatnonzero(~known)
            w_warm = 1.0
            if len(warm) > per_day - min(n_cold, len(cold)):
                k = per_day - min(n_cold, len(cold))
                w_warm = len(warm) / k
                warm = rng.choice(warm, k, replace=False)
            k_cold = min(n_cold, len(cold))
            w_cold = len(cold) / k_cold if k_cold else 0.0
            cold = rng.choice(cold, k_cold, replace=False) if k_cold else cold[:0]
            idx = np.concatenate([warm, cold]).astype(np.int64)
            weights[day] = np.concatenate([np.full(len(warm), w_warm), np.full(len(cold), w_cold)])
            return idx

        xs: list[npt.NDArray[np.float64]] = []
        ys: list[npt.NDArray[np.float64]] = []
        ws: list[npt.NDArray[np.float64]] = []
        for day, idx, x in _walk_features(data, fit_days, signal, pick):
            assert idx is not None
            # the horizon never reaches past the last fit day (the days after it are the future)
            hi = min(last + 1, day + cfg.horizon_days)
            w_h = cfg.horizon_decay ** np.arange(hi - day)
            ys.append(data.counts[idx, day:hi].astype(np.float64) @ (w_h / w_h.sum()))
            xs.append(x)
            # each fit day counts once (its weights sum to per_day), however many rows it had or were drawn;
            # within a day a drawn row stands for the rows of its kind it was drawn from. (Dividing by the
            # rows drawn made a day with few rows, all kept, weigh up to 5x a sampled one.)
            w_day = weights.pop(day)
            ws.append(w_day / w_day.sum() * per_day if w_day.sum() > 0 else w_day)
        x = np.concatenate(xs)
        y = np.concatenate(ys)
        w = np.concatenate(ws)
        # a feature with no value at all (no release dates, no groups, no recommender signal) is left out
        self.columns_ = np.isfinite(x).any(axis=0)
        x = x[:, self.columns_]
        model = HistGradientBoostingRegressor(
            loss="poisson" if cfg.loss == "poisson" else "squared_error",
            max_iter=cfg.max_iter,
            learning_rate=cfg.learning_rate,
            max_leaf_nodes=cfg.max_leaf_nodes,
            min_samples_leaf=cfg.min_samples_leaf,
            early_stopping=False,
            random_state=cfg.seed,
        )
        if cfg.loss == "poisson":
            self.model_ = model.fit(x, y, sample_weight=w)
            self.scale_ = 1.0
        else:
            # log1p target: heavy-tailed counts (release spikes) would otherwise dominate the squared loss
            self.model_ = model.fit(x, np.log1p(y), sample_weight=w)
            # expm1 of a mean log under-predicts the mean (Jensen); one factor restores the total (smearing)
            fitted = np.expm1(np.asarray(self.model_.predict(x), dtype=np.float64)).clip(0.0)
            tot = float((fitted * w).sum())
            self.scale_ = float((y * w).sum() / tot) if tot > 0 else 1.0
        self.train_rows_ = len(y)
        return self

    def _output(self, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        assert self.model_ is not None
        p = np.asarray(self.model_.predict(x[:, self.columns_]), dtype=np.float64)
        if self.config.loss == "poisson":
            return np.maximum(p, 0.0)
        return np.maximum(np.expm1(p) * self.scale_, 0.0)

    def predict(
        self, data: DailyCounts, day: int, *, signal: npt.NDArray[np.float64] | None = None
    ) -> npt.NDArray[np.float64]:
        """Expected requests of every item on ``day`` (uses days ``< day`` only)."""
        return self.predict_days(data, range(day, day + 1), signal=signal)[:, 0]

    def _calibrate(
        self, f: npt.NDArray[np.float64], volume: npt.NDArray[np.float64], day: int
    ) -> npt.NDArray[np.float64]:
        """With ``calibrate_total``: rescale a day's forecasts so that they sum to the mean daily volume of
        the last 7 days (the model ranks; the service-wide rate, easy to forecast, sets the scale)."""
        if not self.config.calibrate_total:
            return f
        lo = max(0, day - 7)
        target = (volume[day] - volume[lo]) / max(1, day - lo)
        total = float(f.sum())
        return f * (target / total) if total > 0 else f

    def predict_days(
        self, data: DailyCounts, days: range, *, signal: npt.NDArray[np.float64] | None = None
    ) -> npt.NDArray[np.float64]:
        """Forecasts for several days at once: ``(n_items, len(days))``, each day from the days before it;
        the model is evaluated on batches of days (one call per batch is much faster). ``signal`` is read
        only by a model fitted with one (which then needs it); others ignore it, so one call can compare
        models with and without (``evaluate_forecast``)."""
        if not hasattr(self, "n_items_"):
            raise NotFittedError("RequestForecaster: call fit() first")
        if data.n_items != self.n_items_:
            raise ConfigError(
                f"the forecaster was fitted on {self.n_items_} items but these counts have {data.n_items}; "
                "predict on the counts it was fitted on (or on more days of the same items)"
            )
        if self.config.model == "gbm" and self.with_signal_ and signal is None:
            raise ConfigError("the forecaster was fitted with a signal; pass the same signal= to predict")
        day_list = list(days)
        if day_list and not (min(day_list) >= 1 and max(day_list) <= data.n_days):
            raise ConfigError(f"days must lie in 1..{data.n_days}")
        out = np.zeros((data.n_items, len(day_list)))
        if self.config.model == "ewma":
            for j, d in enumerate(day_list):
                out[:, j] = _ewma(data.counts, d, self.config.halflife_days)
            return out
        volume = np.concatenate([[0.0], np.cumsum(data.counts.sum(axis=0, dtype=np.float64))])
        if self.config.model == "rates":
            col_of = {d: j for j, d in enumerate(day_list)}
            for d, _, x in _walk_features(data, np.asarray(day_list, dtype=np.int64), None):
                out[:, col_of[d]] = self._calibrate(_long_run_rate(x), volume, d)
            return out
        col = {d: j for j, d in enumerate(day_list)}
        pending: list[tuple[int, npt.NDArray[np.float64]]] = []

        def flush() -> None:
            # items without history mostly share one feature row (their signal, release age or rendition
            # share may still differ): the model scores each distinct row once
            x_all = np.concatenate([x for _, x in pending])
            key = np.nan_to_num(x_all, nan=-1e308)  # np.unique never merges rows holding NaN
            _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
            y = self._output(x_all[first])[inverse.reshape(-1)]
            at = 0
            for d, x in pending:
                out[:, col[d]] = self._calibrate(y[at : at + len(x)], volume, d)
                at += len(x)
            pending.clear()

        rows = 0
        for d, _, x in _walk_features(data, np.asarray(day_list, dtype=np.int64), signal):
            pending.append((d, x))
            rows += len(x)
            if rows >= 400_000:
                flush()
                rows = 0
        if pending:
            flush()
        return out


def walk_forward_forecast(
    data: DailyCounts,
    days: range,
    *,
    config: ForecastConfig | None = None,
    refit_every: int = 28,
    fit_window: int | None = 56,
    signal: npt.NDArray[np.float64] | None = None,
) -> npt.NDArray[np.float64]:
    """Forecasts for ``days`` (``(n_items, len(days))``), refitting the model every ``refit_every`` days on
    the ``fit_window`` days before (``None``: on every day before, as a nightly job that keeps its history
    would); each forecast still uses only the days before its own day.

    A model fitted once on the first weeks of a long trace is applied to histories far longer than any it
    saw (``age_days`` grows without bound), which a tree model cannot extrapolate; refitting keeps the
    training days next to the forecast days."""
    if refit_every < 1 or (fit_window is not None and fit_window < 1):
        raise ConfigError("refit_every and fit_window must be >= 1 day")
    day_list = list(days)
    out = np.zeros((data.n_items, len(day_list)))
    for lo in range(0, len(day_list), refit_every):
        chunk = day_list[lo : lo + refit_every]
        start = chunk[0]
        fit_days = range(1 if fit_window is None else max(1, start - fit_window), start)
        if len(fit_days) == 0:
            raise ConfigError("the first forecast day needs at least one day of history before it")
        fc = RequestForecaster(config).fit(data, fit_days, signal=signal)
        out[:, lo : lo + len(chunk)] = fc.predict_days(data, range(chunk[0], chunk[-1] + 1), signal=signal)
    return out


def _ewma(counts: npt.NDArray[np.float32], day: int, halflife: float) -> npt.NDArray[np.float64]:
    lo = max(0, day - int(np.ceil(halflife * 8)))
    ages = np.arange(day - 1, lo - 1, -1) - (day - 1)
    w = 0.5 ** (-ages / halflife)
    window = counts[:, lo:day][:, ::-1].astype(np.float64)
    return np.asarray(window @ w[: window.shape[1]] / w[: window.shape[1]].sum())


@dataclass(frozen=True)
class ForecastReport:
    """Errors of each forecaster over the test days: WAPE (sum |error| / sum actual), MAE per item-day, and
    the mean over days of the Spearman correlation between forecast and actual over the items requested in the
    last 28 days or on the day."""

    days: int
    wape: dict[str, float]
    mae: dict[str, float]
    spearman: dict[str, float]


def evaluate_forecast(
    data: DailyCounts,
    test_days: range,
    forecasters: dict[str, RequestForecaster | npt.NDArray[np.float64]],
    *,
    signal: npt.NDArray[np.float64] | None = None,
) -> ForecastReport:
    """Compare fitted forecasters (or precomputed forecasts, ``(n_items, len(test_days))``) and the naive
    baselines (``yesterday``, ``week-mean``, and ``zero``, whose WAPE is 1 by definition: a forecaster above
    it is worse than forecasting nothing) on ``test_days`` (each from 1 to ``n_days - 1``: ``yesterday``
    reads the day before). Spearman is averaged over the same days for every forecaster (those whose counts
    vary among the relevant items); a forecast that ranks nothing that day (constant) counts as 0."""
    days = list(test_days)
    if not days or min(days) < 1 or max(days) >= data.n_days:
        raise ConfigError(
            f"test days must lie in 1..{data.n_days - 1} (the day before each is read); got {test_days}"
        )
    names = [*forecasters, "yesterday", "week-mean", "zero"]
    abs_err = dict.fromkeys(names, 0.0)
    rho: dict[str, list[float]] = {n: [] for n in names}
    actual_total = 0.0
    cells = 0
    pre = _Prefix(data.counts)
    tables: dict[str, npt.NDArray[np.float64]] = {}
    for n, f in forecasters.items():
        if isinstance(f, np.ndarray) and f.shape != (data.n_items, len(test_days)):
            shape = (data.n_items, len(test_days))
            raise ConfigError(f"forecasts {n!r} must be (items, test days) = {shape}")
        # one walk over the days per forecaster (predicting day by day would replay the history each time)
        tables[n] = f if isinstance(f, np.ndarray) else f.predict_days(data, test_days, signal=signal)
    for j, day in enumerate(test_days):
        actual = data.counts[:, day].astype(np.float64)
        preds = {n: t[:, j] for n, t in tables.items()}
        preds["yesterday"] = data.counts[:, day - 1].astype(np.float64)
        preds["week-mean"] = pre.window(day, 7) / 7.0
        preds["zero"] = np.zeros(data.n_items)
        relevant = (pre.window(day, 28) > 0) | (actual > 0)
        actual_total += float(actual.sum())
        cells += data.n_items
        ranked_day = relevant.sum() > 2 and np.ptp(actual[relevant]) > 0
        for n, p in preds.items():
            abs_err[n] += float(np.abs(p - actual).sum())
            if ranked_day:
                flat = np.ptp(p[relevant]) == 0
                rho[n].append(0.0 if flat else float(spearmanr(p[relevant], actual[relevant]).statistic))
    return ForecastReport(
        days=len(test_days),
        wape={n: abs_err[n] / actual_total if actual_total else float("nan") for n in names},
        mae={n: abs_err[n] / cells for n in names},
        spearman={n: float(np.mean(rho[n])) if rho[n] else float("nan") for n in names},
    )


def top_pick_counts(
    scores_topk: npt.NDArray[np.int64], n_items: int, *, member_weights: npt.ArrayLike | None = None
) -> npt.NDArray[np.float64]:
    """How many members have each item among their top picks (``scores_topk``: item index per member and
    rank, ``-1`` for none), optionally weighting members (for example by how active they were lately)."""
    top = np.asarray(scores_topk, dtype=np.int64)
    if top.ndim != 2:
        raise ConfigError("scores_topk must be 2-D: one row of item indices per member")
    if top.size and int(top.max()) >= n_items:
        raise ConfigError(f"scores_topk names item {int(top.max())}, past the {n_items} items")
    w = np.ones(top.shape[0]) if member_weights is None else np.asarray(member_weights, dtype=np.float64)
    if w.shape != (top.shape[0],):
        raise ConfigError(f"member_weights has {w.size} value(s) for {top.shape[0]} member(s); give one each")
    ww = np.broadcast_to(w[:, None], top.shape)
    ok = top >= 0
    return np.bincount(top[ok], weights=ww[ok], minlength=n_items).astype(np.float64)
