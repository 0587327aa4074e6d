"""Forecast tomorrow's requests per object (or title) from its recent history and from the recommender.

An Open Connect style cache is filled at night with what will be watched tomorrow, so what matters is a good
*ranking* of tomorrow's demand. :class:`RequestForecaster` predicts the number of requests of every item on
day ``d`` from what was known at the end of day ``d - 1``:

* history: requests yesterday, over the last 7 and 28 days, on the same weekday over the last 4 weeks, in all;
  the trend (last 7 days against the 28-day rate); the item's age (days since its first request);
* the calendar: the weekday of the target day;
* release age: days since the title's release when the catalog knows it (new releases spike, then decay);
* the recommender (optional ``signal``): for example how many active members have the title among their top
  picks (:func:`top_pick_counts`), the demand the home page will create;
* the volume of the whole service over the last week (a scale for the rest).

The model is a gradient-boosted regressor on the log of the counts (scikit-learn's
``HistGradientBoostingRegressor``; a Poisson loss was tried and overshot badly on release spikes)
fitted on the history itself, so nothing is saved between runs (no pickle). ``model="ewma"`` is the classical
exponentially weighted baseline. :func:`evaluate_forecast` measures both on a time split together with the
naive baselines (yesterday's count; the last week's mean).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field
from scipy.stats import spearmanr

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
_FEATURES = (
    "yesterday",
    "last7",
    "last28",
    "same_weekday4",
    "total",
    "trend",
    "age_days",
    "release_age_days",
    "weekday",
    "volume7",
    "signal",
)


@dataclass(frozen=True)
class DailyCounts:
    """Requests per item and day: ``counts[i, d]`` on day ``d`` (which starts at ``day0_s + d * 86400``).

    ``release_day[i]`` is the (fractional) day index of item ``i``'s release, NaN when unknown.
    """

    counts: npt.NDArray[np.float32]
    day0_s: float
    release_day: npt.NDArray[np.float64]

    @property
    def n_items(self) -> int:
        return int(self.counts.shape[0])

    @property
    def n_days(self) -> int:
        return int(self.counts.shape[1])


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
) -> DailyCounts:
    """Count requests of each item per day; days start at ``day_start_hour`` (UTC) and span
    ``[start_s, end_s)`` (default: the data's range). ``weights`` counts each request as that much."""
    ts = np.asarray(timestamps, dtype=np.float64)
    it = np.asarray(items, dtype=np.int64)
    if ts.shape != it.shape:
        raise ConfigError("timestamps and items must have one length")
    if len(ts) == 0:
        raise ConfigError("no requests to count")
    offset = day_start_hour * 3600.0
    lo = float(ts.min()) if start_s is None else float(start_s)
    hi = float(ts.max()) + 1.0 if end_s is None else float(end_s)
    day0 = np.floor((lo - offset) / DAY_S) * DAY_S + offset
    n_days = max(1, int(np.ceil((hi - day0) / DAY_S)))
    keep = (ts >= day0) & (ts < day0 + n_days * DAY_S)
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
    return DailyCounts(counts=counts, day0_s=float(day0), release_day=rel)


class ForecastConfig(BaseModel):
    """Settings of :class:`RequestForecaster` (round-trips through JSON)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: Literal["gbm", "ewma"] = "gbm"
    halflife_days: float = Field(default=3.0, gt=0, description="for model='ewma'")
    max_rows: int = Field(default=150_000, ge=1000, description="training rows sampled at most")
    max_iter: int = Field(default=80, ge=10)
    learning_rate: float = Field(default=0.1, gt=0, le=1)
    max_leaf_nodes: int = Field(default=31, ge=4)
    min_samples_leaf: int = Field(default=100, ge=1)
    horizon_days: int = Field(
        default=1,
        ge=1,
        description="target: the mean daily requests over this many days from the forecast day (a planner "
        "that keeps what it fetches for several nights values the longer run)",
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
        first = np.where(counts.any(axis=1), (counts > 0).argmax(axis=1), counts.shape[1])
        self.first = first.astype(np.float64)
        self.volume = np.concatenate([[0.0], np.cumsum(counts.sum(axis=0, dtype=np.float64))])

    def window(self, day: int, length: int) -> npt.NDArray[np.float64]:
        """Sum over days ``[day - length, day)`` (clipped at 0)."""
        lo = max(0, day - length)
        return self.cum[:, day] - self.cum[:, lo]


def _features(
    data: DailyCounts,
    pre: _Prefix,
    day: int,
    signal: npt.NDArray[np.float64] | None,
    rows: npt.NDArray[np.int64] | None = None,
) -> npt.NDArray[np.float64]:
    """Feature matrix for predicting day ``day`` from days ``< day`` (one row per item, or per ``rows``)."""
    idx = np.arange(data.n_items) if rows is None else rows
    c = data.counts
    y1 = c[idx, day - 1].astype(np.float64) if day >= 1 else np.zeros(len(idx))
    l7 = pre.window(day, 7)[idx]
    l28 = pre.window(day, 28)[idx]
    same = np.zeros(len(idx))
    for k in range(1, 5):
        if day - 7 * k >= 0:
            same += c[idx, day - 7 * k]
    total = pre.cum[idx, day]
    trend = (l7 + 1.0) / (l28 / 4.0 + 1.0)
    first = pre.first[idx]
    age = np.where(first < day, day - first, np.nan)
    rel = day - data.release_day[idx]
    weekday = np.full(len(idx), float((np.floor(data.day0_s / DAY_S) + day + 3) % 7))  # 0 = Monday
    vol = np.full(len(idx), pre.volume[day] - pre.volume[max(0, day - 7)])
    sig = np.full(len(idx), np.nan) if signal is None else np.asarray(signal, dtype=np.float64)[idx]
    return np.column_stack([y1, l7, l28, same, total, trend, age, rel, weekday, vol, sig])


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
        if cfg.model == "ewma":
            self.model_ = None
            return self
        from sklearn.ensemble import HistGradientBoostingRegressor

        pre = _Prefix(data.counts)
        rng = np.random.default_rng(cfg.seed)
        per_day = max(200, cfg.max_rows // len(target_days))
        last = int(target_days.max())
        xs: list[npt.NDArray[np.float64]] = []
        ys: list[npt.NDArray[np.float64]] = []
        for day in target_days:
            active = np.flatnonzero(
                (pre.window(int(day), 28) > 0)
                | (np.abs(int(day) - data.release_day) <= 28)
                | (data.counts[:, day] > 0)
            )
            if len(active) > per_day:
                active = np.sort(rng.choice(active, per_day, replace=False))
            sig = None if signal is None else signal[:, day - 1]
            xs.append(_features(data, pre, int(day), sig, active))
            # the horizon never reaches past the last fit day (the days after it are the future)
            hi = min(last + 1, int(day) + cfg.horizon_days)
            ys.append(data.counts[active, day:hi].mean(axis=1, dtype=np.float64))
        x = np.concatenate(xs)
        y = np.concatenate(ys)
        # a feature with no value at all (no release dates, no recommender signal) is left out
        self.columns_ = np.isfinite(x).any(axis=0)
        x = x[:, self.columns_]
        model = HistGradientBoostingRegressor(
            loss="squared_error",
            max_iter=cfg.max_iter,
            learning_rate=cfg.learning_rate,
            max_leaf_nodes=cfg.max_leaf_nodes,
            min_samples_leaf=cfg.min_samples_leaf,
            early_stopping=False,
            random_state=cfg.seed,
        )
        # log1p target: heavy-tailed counts (release spikes) would otherwise dominate the squared loss; the
        # planner needs a ranking and a sensible scale, which expm1 of the predicted log gives
        self.model_ = model.fit(x, np.log1p(y))
        # expm1 of a mean log under-predicts the mean (Jensen); one factor restores the total (smearing)
        fitted = np.expm1(np.asarray(self.model_.predict(x), dtype=np.float64)).clip(0.0)
        self.scale_ = float(y.sum() / fitted.sum()) if fitted.sum() > 0 else 1.0
        self.train_rows_ = len(y)
        return self

    def _prefix(self, data: DailyCounts) -> _Prefix:
        # the features of day d read only days < d of the prefix sums, so one prefix serves every day
        cached = getattr(self, "_prefix_cache", None)
        if cached is None or cached[0] is not data.counts:
            cached = (data.counts, _Prefix(data.counts))
            self._prefix_cache = cached
        return cached[1]

    def predict(
        self, data: DailyCounts, day: int, *, signal: npt.NDArray[np.float64] | None = None
    ) -> npt.NDArray[np.float64]:
        """Expected requests of every item on ``day`` (uses days ``< day`` only)."""
        if not hasattr(self, "n_items_"):
            raise NotFittedError("RequestForecaster: call fit() first")
        if not 1 <= day <= data.n_days:
            raise ConfigError(f"day must lie in 1..{data.n_days}")
        if self.config.model == "ewma" or self.model_ is None:
            return _ewma(data.counts, day, self.config.halflife_days)
        pre = self._prefix(data)
        sig = None if signal is None else signal[:, day - 1]
        x = _features(data, pre, day, sig)[:, self.columns_]
        out = np.maximum(np.expm1(np.asarray(self.model_.predict(x), dtype=np.float64)) * self.scale_, 0.0)
        return self._calibrate(out, pre, day)

    def _calibrate(self, f: npt.NDArray[np.float64], pre: _Prefix, day: int) -> npt.NDArray[np.float64]:
        """With ``calibrate_total``: rescale a day's forecasts so that they sum to the mean daily volume of
        the last 7 days (the model ranks; the service-wide rate, easy to forecast, sets the scale)."""
        if not self.config.calibrate_total:
            return f
        lo = max(0, day - 7)
        target = (pre.volume[day] - pre.volume[lo]) / max(1, day - lo)
        total = float(f.sum())
        return f * (target / total) if total > 0 else f

    def predict_days(
        self, data: DailyCounts, days: range, *, signal: npt.NDArray[np.float64] | None = None
    ) -> npt.NDArray[np.float64]:
        """Forecasts for several days at once: ``(n_items, len(days))``; the same numbers as :meth:`predict`
        day by day, with the model evaluated on batches of days (one call per batch is much faster)."""
        if not hasattr(self, "n_items_"):
            raise NotFittedError("RequestForecaster: call fit() first")
        day_list = list(days)
        if day_list and not (min(day_list) >= 1 and max(day_list) <= data.n_days):
            raise ConfigError(f"days must lie in 1..{data.n_days}")
        out = np.zeros((data.n_items, len(day_list)))
        if self.config.model == "ewma" or self.model_ is None:
            for j, d in enumerate(day_list):
                out[:, j] = _ewma(data.counts, d, self.config.halflife_days)
            return out
        pre = self._prefix(data)
        batch = max(1, 400_000 // max(1, data.n_items))
        for lo in range(0, len(day_list), batch):
            chunk = day_list[lo : lo + batch]
            x = np.concatenate(
                [
                    _features(data, pre, d, None if signal is None else signal[:, d - 1])[:, self.columns_]
                    for d in chunk
                ]
            )
            y = np.expm1(np.asarray(self.model_.predict(x), dtype=np.float64)) * self.scale_
            y = np.maximum(y, 0.0).reshape(len(chunk), data.n_items)
            for k, d in enumerate(chunk):
                out[:, lo + k] = self._calibrate(y[k], pre, d)
        return out


def walk_forward_forecast(
    data: DailyCounts,
    days: range,
    *,
    config: ForecastConfig | None = None,
    refit_every: int = 28,
    fit_window: int = 56,
    signal: npt.NDArray[np.float64] | None = None,
) -> npt.NDArray[np.float64]:
    """Forecasts for ``days`` (``(n_items, len(days))``), refitting the model every ``refit_every`` days on
    the ``fit_window`` days before (each forecast still uses only the days before its own day).

    A model fitted once on the first weeks of a long trace is applied to histories far longer than any it
    saw (``total``, ``age`` grow without bound), which a tree model cannot extrapolate; refitting keeps the
    training days next to the forecast days, as a nightly job would. (On the sparse ml-latest-small trace it
    ranked worse than one fit on the first four weeks; see benchmarks/RESULTS.d/fill.md.)"""
    if refit_every < 1 or fit_window < 1:
        raise ConfigError("refit_every and fit_window must be >= 1 day")
    day_list = list(days)
    out = np.zeros((data.n_items, len(day_list)))
    for lo in range(0, len(day_list), refit_every):
        chunk = day_list[lo : lo + refit_every]
        start = chunk[0]
        fit_days = range(max(1, start - fit_window), start)
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
    baselines (``yesterday``, ``week-mean``) on ``test_days``."""
    names = [*forecasters, "yesterday", "week-mean"]
    abs_err = dict.fromkeys(names, 0.0)
    rho: dict[str, list[float]] = {n: [] for n in names}
    actual_total = 0.0
    cells = 0
    pre = _Prefix(data.counts)
    for n, f in forecasters.items():
        if isinstance(f, np.ndarray) and f.shape != (data.n_items, len(test_days)):
            shape = (data.n_items, len(test_days))
            raise ConfigError(f"forecasts {n!r} must be (items, test days) = {shape}")
    for j, day in enumerate(test_days):
        actual = data.counts[:, day].astype(np.float64)
        preds = {
            n: f[:, j] if isinstance(f, np.ndarray) else f.predict(data, day, signal=signal)
            for n, f in forecasters.items()
        }
        preds["yesterday"] = data.counts[:, day - 1].astype(np.float64)
        preds["week-mean"] = pre.window(day, 7) / 7.0
        relevant = (pre.window(day, 28) > 0) | (actual > 0)
        actual_total += float(actual.sum())
        cells += data.n_items
        for n, p in preds.items():
            abs_err[n] += float(np.abs(p - actual).sum())
            if relevant.sum() > 2 and np.ptp(actual[relevant]) > 0 and np.ptp(p[relevant]) > 0:
                rho[n].append(float(spearmanr(p[relevant], actual[relevant]).statistic))
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
    w = np.ones(top.shape[0]) if member_weights is None else np.asarray(member_weights, dtype=np.float64)
    ww = np.broadcast_to(w[:, None], top.shape)
    ok = top >= 0
    return np.bincount(top[ok], weights=ww[ok], minlength=n_items).astype(np.float64)
