"""The request forecaster: features use only past days (property test), it beats yesterday's count on a
synthetic trace, evaluate_forecast on a hand case, top_pick_counts."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reelkit.errors import ConfigError, NotFittedError
from reelkit.stream.cache import SynthConfig, synthesize
from reelkit.stream.forecast import (
    DailyCounts,
    ForecastConfig,
    RequestForecaster,
    daily_counts,
    evaluate_forecast,
    top_pick_counts,
    walk_forward_forecast,
)

FAST = ForecastConfig(max_iter=20, min_samples_leaf=5)


def _random_counts(seed: int, n_items: int = 30, n_days: int = 20) -> DailyCounts:
    rng = np.random.default_rng(seed)
    lam = rng.gamma(0.5, 2.0, size=(n_items, 1)) * rng.uniform(0.5, 1.5, size=(1, n_days))
    counts = rng.poisson(lam).astype(np.float32)
    release = np.where(rng.random(n_items) < 0.3, rng.uniform(0, n_days, n_items), np.nan)
    return DailyCounts(counts=counts, day0_s=19676 * 86400.0, release_day=release)


SIGNAL = np.random.default_rng(5).random((30, 20))


@pytest.fixture(scope="module")
def fitted() -> tuple[DailyCounts, RequestForecaster, RequestForecaster]:
    data = _random_counts(0)
    plain = RequestForecaster(FAST).fit(data, range(1, 12))
    return data, plain, RequestForecaster(FAST).fit(data, range(1, 12), signal=SIGNAL)


@settings(max_examples=25, deadline=None)
@given(day=st.integers(1, 19), seed=st.integers(0, 10_000), signal_on=st.booleans())
def test_forecast_uses_only_past_days(
    fitted: tuple[DailyCounts, RequestForecaster, RequestForecaster], day: int, seed: int, signal_on: bool
) -> None:
    data, fc, fs = fitted
    rng = np.random.default_rng(seed)
    changed = data.counts.copy()
    changed[:, day:] = rng.poisson(3.0, size=changed[:, day:].shape)
    other = DailyCounts(counts=changed, day0_s=data.day0_s, release_day=data.release_day)
    assert np.array_equal(fc.predict(data, day), fc.predict(other, day))
    assert np.array_equal(fc.predict_days(data, range(day, day + 1))[:, 0], fc.predict(other, day))
    if signal_on:  # the signal of day d - 1 (known at the end of it) is used, never day d's
        sig2 = SIGNAL.copy()
        sig2[:, day:] = rng.random(sig2[:, day:].shape)
        assert np.array_equal(fs.predict(data, day, signal=SIGNAL), fs.predict(other, day, signal=sig2))


def test_walk_forward_matches_one_fit_per_block() -> None:
    data = _random_counts(1)
    wf = walk_forward_forecast(data, range(10, 20), config=FAST, refit_every=5, fit_window=6)
    first = RequestForecaster(FAST).fit(data, range(4, 10)).predict_days(data, range(10, 15))
    second = RequestForecaster(FAST).fit(data, range(9, 15)).predict_days(data, range(15, 20))
    assert np.allclose(wf, np.hstack([first, second]))


@pytest.fixture(scope="module")
def synth_counts() -> DailyCounts:
    wl = synthesize(SynthConfig(seed=2, days=21, n_titles=200, views_per_day=2000))
    # forecast per title (every rendition of a title counts)
    return daily_counts(
        wl.trace.timestamps, wl.request_title, len(wl.title_ids), release_s=wl.title_release_s
    )


def test_forecaster_beats_yesterday(synth_counts: DailyCounts) -> None:
    gbm = RequestForecaster().fit(synth_counts, range(1, 14))
    ewma = RequestForecaster(ForecastConfig(model="ewma")).fit(synth_counts, range(1, 14))
    rep = evaluate_forecast(synth_counts, range(14, 21), {"gbm": gbm, "ewma": ewma})
    assert rep.days == 7
    assert rep.wape["gbm"] < rep.wape["yesterday"]
    assert rep.spearman["gbm"] > rep.spearman["yesterday"] + 0.05
    assert rep.spearman["gbm"] > 0.5
    assert set(rep.wape) == {"gbm", "ewma", "yesterday", "week-mean", "zero"}
    assert rep.wape["zero"] == 1.0  # forecasting nothing: the line a forecaster must stay below


def test_evaluate_forecast_hand_case() -> None:
    counts = np.array([[1, 2, 4], [0, 2, 0]], dtype=np.float32)
    data = DailyCounts(counts=counts, day0_s=0.0, release_day=np.full(2, np.nan))
    rep = evaluate_forecast(data, range(2, 3), {})
    # yesterday [2, 2] against [4, 0]: |2 - 4| + |2 - 0| = 4 over 4 requested
    assert rep.wape["yesterday"] == pytest.approx(1.0)
    assert rep.mae["yesterday"] == pytest.approx(2.0)
    # week mean (3/7, 2/7): 25/7 + 2/7
    assert rep.wape["week-mean"] == pytest.approx(27 / 28)
    assert rep.wape["zero"] == 1.0


def test_mae_is_per_item_and_day_over_several_days() -> None:
    """Pins MAE as the mean absolute error per item-day: yesterday errs 1 + 2 on day 1 and 2 + 2 on day 2,
    7 over 2 items x 2 days = 1.75 (WAPE 7 over 8 requested)."""
    counts = np.array([[1, 2, 4], [0, 2, 0]], dtype=np.float32)
    data = DailyCounts(counts=counts, day0_s=0.0, release_day=np.full(2, np.nan))
    rep = evaluate_forecast(data, range(1, 3), {})
    assert rep.mae["yesterday"] == pytest.approx(7 / 4)
    assert rep.wape["yesterday"] == pytest.approx(7 / 8)


def test_evaluate_forecast_checks_its_days_and_averages_spearman_over_the_same_ones() -> None:
    counts = np.array([[1, 2, 4, 1], [0, 2, 0, 3], [3, 1, 2, 2], [2, 2, 1, 0]], dtype=np.float32)
    data = DailyCounts(counts=counts, day0_s=0.0, release_day=np.full(4, np.nan))
    for bad in (
        range(0, 1),
        range(3, 5),
    ):  # day 0 read the trace's last day as "yesterday"; day 4 a traceback
        with pytest.raises(ConfigError, match=r"test days must lie in 1\.\.3"):
            evaluate_forecast(data, bad, {})
    # A is constant on day 2 and perfect on day 3; B is perfect on both: a constant day counts 0 for A
    perfect = counts[:, 2:4].astype(np.float64)
    a = perfect.copy()
    a[:, 0] = 1.0
    rep = evaluate_forecast(data, range(2, 4), {"A": a, "B": perfect})
    assert rep.spearman["B"] == pytest.approx(1.0)
    assert rep.spearman["A"] == pytest.approx(0.5)  # was 1.0: its flat day was left out of its mean only


def test_a_day_with_two_requested_items_is_not_ranked() -> None:
    """Pins the Spearman days as those with more than two relevant items: two items rank +-1 whatever the
    forecast (yesterday [1, 3] against [2, 0] would be -1), so with no other day Spearman is NaN."""
    counts = np.array([[0, 1, 2], [0, 3, 0]], dtype=np.float32)
    data = DailyCounts(counts=counts, day0_s=0.0, release_day=np.full(2, np.nan))
    rep = evaluate_forecast(data, range(2, 3), {})
    assert np.isnan(rep.spearman["yesterday"])
    assert rep.wape["yesterday"] == pytest.approx(4 / 2)


def test_spearman_ranks_the_items_requested_in_the_last_28_days() -> None:
    """Pins the ranked items: one requested 11 days before (outside a week, inside 28 days) is ranked too.
    Actual 0, 1, 2, 3 against forecast 4, 1, 2, 3: rho = 1 - 6 x 12 / (4 x 15) = -0.2 (1.0 without it)."""
    ts = np.array([3.0, 14.0, 14.0, 14.0, 14.0, 14.0, 14.0]) * 86400.0 + 10
    data = daily_counts(ts, np.array([0, 1, 2, 2, 3, 3, 3]), 4, start_s=0.0, end_s=15 * 86400.0)
    report = evaluate_forecast(data, range(14, 15), {"f": np.array([[4.0], [1.0], [2.0], [3.0]])})
    assert report.spearman["f"] == pytest.approx(-0.2)


def test_daily_counts_and_errors() -> None:
    ts = np.array([0.0, 3600.0, 86400.0 + 7200.0, 2 * 86400.0])
    dc = daily_counts(ts, np.array([0, 1, 0, 1]), 2, day_start_hour=2.0)
    # days start at 02:00: [-22h, 2h) holds the first two requests
    assert dc.day0_s == -22 * 3600.0
    assert dc.counts.tolist() == [[1, 0, 1], [1, 0, 1]]
    with pytest.raises(ConfigError):
        daily_counts(ts, np.array([0, 1]), 2)
    # negative or NaN weights made negative or NaN counts (and forecasts of them) in silence
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match=r"weights must be finite and >= 0; request 2 has"):
            daily_counts(ts, np.array([0, 1, 0, 1]), 2, weights=[1.0, 0.0, bad, 1.0])
    weighted = daily_counts(ts, np.array([0, 1, 0, 1]), 2, day_start_hour=2.0, weights=[0.5, 0.0, 2.0, 1.0])
    assert weighted.counts.tolist() == [[0.5, 0, 2.0], [0, 0, 1.0]]
    # a clock in milliseconds is named as such; a time past any clock is not blamed on the unit (it was
    # "the requests span 1,157,407,407,...(a 300-digit count) days ... look like milli- or nanoseconds")
    with pytest.raises(ConfigError, match=r"span 11,574,074,075 days; .* look like milli- or nanoseconds"):
        daily_counts(np.array([0.0, 1e15]), np.array([0, 1]), 2)
    # the second was an overflow (a traceback), the third blamed on milliseconds
    for bad, shown in (
        ([0.0, 1e308], "1e\\+308"),
        ([-1e308, 1e308], "-1e\\+308"),
        ([-1e20, 0.0], "-1e\\+20"),
    ):
        with pytest.raises(ConfigError, match=rf"^a request's timestamp, {shown}, is beyond any date"):
            daily_counts(np.array(bad), np.array([0, 1]), 2)
    with pytest.raises(
        ConfigError, match=r"span 11,574,076 days; timestamps must be in seconds \(from -1e\+12 s"
    ):
        daily_counts(np.array([-1e12, 0.0]), np.array([0, 1]), 2)  # before 1970: no clock's unit to blame
    with pytest.raises(
        ConfigError, match=r"^start_s\.\.end_s spans 11,574,074,075 days, more than a century"
    ):
        daily_counts(ts, np.array([0, 1, 0, 1]), 2, end_s=1e15)  # the caller's end, not the requests
    with pytest.raises(ConfigError, match=r"^end_s 1e\+20 is beyond any date in seconds"):
        daily_counts(ts, np.array([0, 1, 0, 1]), 2, end_s=1e20)
    with pytest.raises(NotFittedError):
        RequestForecaster().predict(dc, 1)
    with pytest.raises(ConfigError):
        RequestForecaster().fit(dc, range(0, 2))


def test_a_last_request_just_before_midnight_makes_no_empty_day() -> None:
    """The data's end was its last request + 1 s: with fractional times (synthetic traces, traces from
    events) a last request 0.5 s before midnight opened an empty day, which `cache plan` filled for a night
    and forecasts were scored on."""
    assert daily_counts(np.array([0.0, 2 * 86400 - 0.5]), np.array([0, 0]), 1).counts.tolist() == [[1.0, 1.0]]
    assert daily_counts(np.array([0.0, 2 * 86400 - 1.0]), np.array([0, 0]), 1).n_days == 2


def test_a_request_on_the_last_instant_of_a_day_boundary_is_counted() -> None:
    """Pins the data's end as past its last request: one at exactly 24:00 opens day 1 (it was dropped)."""
    dc = daily_counts(np.array([0.0, 86400.0]), np.array([0, 0]), 1)
    assert dc.counts.tolist() == [[1.0, 1.0]]


def test_a_request_at_the_given_end_is_left_out() -> None:
    """Pins [start_s, end_s) as half-open: a request at exactly end_s (24:00) is not counted, neither on a
    day past the end nor as the next item's first day."""
    dc = daily_counts(np.array([0.0, 86400.0]), np.array([0, 0]), 2, end_s=86400.0)
    assert dc.counts.tolist() == [[1.0], [0.0]]


def test_history_features_by_hand() -> None:
    """Pins the features where day d has d + 1 requests: the weekday (2023-11-15 + 29 days is a Thursday,
    3), the same weekday over the 4 weeks before (days 22, 15, 8, 1: 23 + 16 + 9 + 2 = 50), the service's
    last 7 days (days 22-28: 23 + ... + 29 = 182), the days since the last and first requests, and which
    items are known before any request (released within 28 days either side)."""
    from reelkit.stream.forecast import _FEATURES, _walk_features

    counts = np.zeros((3, 30), np.float32)
    counts[0] = np.arange(1, 31)
    release = np.array([np.nan, 29.0 + 28.0, 29.0 + 29.0])
    data = DailyCounts(counts=counts, day0_s=19676 * 86400.0, release_day=release)
    seen: dict[str, np.ndarray] = {}

    def rows(day: int, known: np.ndarray) -> None:
        seen["known"] = known

    (d28, _, x28), (day, _, x) = list(_walk_features(data, np.array([28, 29]), None, rows))
    assert d28 == 28
    assert x28[0, _FEATURES.index("same_weekday4")] == 22 + 15 + 8 + 1  # days 21, 14, 7 and 0
    f = dict(zip(_FEATURES, x[0], strict=True))
    assert day == 29 and f["weekday"] == 3.0
    assert f["same_weekday4"] == 50.0 and f["volume7"] == 182.0 and f["last7"] == 182.0
    assert f["days_since_last"] == 1.0 and f["age_days"] == 29.0  # requested yesterday, first on day 0
    assert seen["known"].tolist() == [True, True, False]


def test_decayed_rates_halve_a_request_over_their_half_life() -> None:
    """Pins the decayed rates: 2 requests on day 0 and none for 30 days weigh 2 x 0.5^(30/h) at day 31,
    over the decayed day count sum 0.5^(k/h), k = 0..30 (h = 30 and 365 days)."""
    from reelkit.stream.forecast import _FEATURES, _walk_features

    counts = np.zeros((1, 32), np.float32)
    counts[0, 0] = 2.0
    data = DailyCounts(counts=counts, day0_s=19676 * 86400.0, release_day=np.full(1, np.nan))
    ((_, _, x),) = list(_walk_features(data, np.array([31]), None))
    f = dict(zip(_FEATURES, x[0], strict=True))
    for name, h in (("rate30", 30.0), ("rate365", 365.0)):
        expected = 2.0 * 0.5 ** (30 / h) / sum(0.5 ** (k / h) for k in range(31))
        assert f[name] == pytest.approx(expected, rel=1e-9)
    assert f["rate30"] == pytest.approx(1.0 / sum(0.5 ** (k / 30) for k in range(31)))  # 1/21.7


def test_top_pick_counts() -> None:
    top = np.array([[0, 2, -1], [2, 1, 0]])
    assert top_pick_counts(top, 4).tolist() == [2.0, 1.0, 2.0, 0.0]
    assert top_pick_counts(top, 4, member_weights=[1.0, 0.5]).tolist() == [1.5, 0.5, 1.5, 0.0]
    with pytest.raises(ConfigError, match="names item 5, past the 3 items"):  # was 6 counts for 3 items
        top_pick_counts(np.array([[0, 5]]), 3)
    with pytest.raises(ConfigError, match="1 value"):
        top_pick_counts(top, 4, member_weights=[1.0])


def test_top_pick_counts_refuses_the_first_index_past_the_items() -> None:
    """Pins the bound: item 3 of 3 items (0..2) is refused, not counted in a fourth slot."""
    with pytest.raises(ConfigError, match="names item 3, past the 3 items"):
        top_pick_counts(np.array([[0, 3]]), 3)


def test_horizon_target_stays_within_the_fit_days() -> None:
    data = _random_counts(3)
    cfg = ForecastConfig(max_iter=20, min_samples_leaf=5, horizon_days=7)
    changed = data.counts.copy()
    changed[:, 12:] += 5.0
    other = DailyCounts(counts=changed, day0_s=data.day0_s, release_day=data.release_day)
    a = RequestForecaster(cfg).fit(data, range(1, 12)).predict(data, 12)
    b = RequestForecaster(cfg).fit(other, range(1, 12)).predict(data, 12)
    assert np.array_equal(a, b)
    one = RequestForecaster(FAST).fit(data, range(1, 12)).predict(data, 12)
    assert not np.array_equal(a, one)  # the longer target is another model


def test_calibrated_forecasts_sum_to_the_recent_volume() -> None:
    data = _random_counts(4)
    fc = RequestForecaster(ForecastConfig(max_iter=20, min_samples_leaf=5, calibrate_total=True))
    fc.fit(data, range(1, 12))
    plain = RequestForecaster(FAST).fit(data, range(1, 12))
    for day in (3, 12, 19):
        f = fc.predict(data, day)
        lo = max(0, day - 7)
        assert f.sum() == pytest.approx(data.counts[:, lo:day].sum() / (day - lo))
        # the same ranking as the uncalibrated model
        assert np.array_equal(
            np.argsort(f, kind="stable"), np.argsort(plain.predict(data, day), kind="stable")
        )
    assert np.allclose(fc.predict_days(data, range(12, 15))[:, 1], fc.predict(data, 13))


def _cold_start_counts() -> DailyCounts:
    """10 items requested exactly twice a day; every day one item never seen before is requested once (its
    first and only request); 190 more items are never requested at all."""
    n_days = 40
    counts = np.zeros((10 + n_days + 190, n_days), dtype=np.float32)
    counts[:10] = 2.0
    for d in range(n_days):
        counts[10 + d, d] = 1.0
    return DailyCounts(counts=counts, day0_s=19676 * 86400.0, release_day=np.full(len(counts), np.nan))


def test_items_without_history_get_the_first_request_rate() -> None:
    # regression: training rows were chosen by the target day's own counts, so every item with no history in
    # the training set had been requested that day; the model then forecast about one request a day for each
    # of the thousands of never-seen objects (WAPE 403 on ml-latest-small)
    data = _cold_start_counts()
    fc = RequestForecaster(FAST).fit(data, range(1, 30))
    test = range(30, 40)
    f = fc.predict_days(data, test)
    for j, day in enumerate(test):
        never_seen = data.counts[:, :day].sum(axis=1) == 0
        # one first request a day among them: the forecasts of the never-seen items add up to about 1
        assert 0.3 < f[never_seen, j].sum() < 3.0
        assert f[:10, j] == pytest.approx(2.0, rel=0.2)
    rep = evaluate_forecast(data, test, {"gbm": f})
    # actual 21 a day; errors: about 1 on the new item, a little on the steady ones (the bug gave ~10)
    assert rep.wape["gbm"] < 0.3


def test_signal_reaches_items_without_history() -> None:
    # regression: items with no history were scored as one (their first row's forecast copied to all), so
    # the recommender signal never reached the never-seen titles it exists for. Here the signal of day d - 1
    # names exactly the never-seen item that day d brings
    data = _cold_start_counts()
    signal = np.zeros(data.counts.shape)
    for d in range(1, data.n_days):
        signal[10 + d, d - 1] = 50.0
    fc = RequestForecaster(FAST).fit(data, range(1, 30), signal=signal)
    test = range(30, 40)
    f = fc.predict_days(data, test, signal=signal)
    for j, day in enumerate(test):
        never_seen = data.counts[:, :day].sum(axis=1) == 0
        never_seen[10 + day] = False
        assert f[10 + day, j] > 0.5
        assert f[never_seen, j].max() < 0.1


def test_predict_refuses_inputs_unlike_the_fits(
    fitted: tuple[DailyCounts, RequestForecaster, RequestForecaster],
) -> None:
    """A model fitted with a signal predicting without one (a new title's forecast fell from 0.96 to
    0.007) and counts of other items are refused; a signal given to a model fitted without one is ignored,
    as documented, so evaluate_forecast compares models with and without one in one call (refusing it
    broke that)."""
    data, plain, with_signal = fitted
    with pytest.raises(ConfigError, match="fitted with a signal; pass the same signal= to predict"):
        with_signal.predict(data, 15)
    np.testing.assert_array_equal(
        plain.predict_days(data, range(15, 17), signal=SIGNAL), plain.predict_days(data, range(15, 17))
    )
    scores = evaluate_forecast(data, range(14, 17), {"plain": plain, "signal": with_signal}, signal=SIGNAL)
    assert {"plain", "signal"} <= set(scores.wape)
    fewer = DailyCounts(counts=data.counts[:20], day0_s=data.day0_s, release_day=data.release_day[:20])
    with pytest.raises(ConfigError, match="fitted on 30 items but these counts have 20"):
        plain.predict(fewer, 15)
    rates = RequestForecaster(ForecastConfig(model="rates")).fit(data, range(1, 12))
    with pytest.raises(ConfigError, match="fitted on 30 items but these counts have 20"):
        rates.predict(fewer, 15)
    assert with_signal.predict(data, 15, signal=SIGNAL).shape == plain.predict(data, 15).shape == (30,)


def test_rates_known_answer_with_title_split() -> None:
    # a title of two files (renditions 0 and 1): file 0 requested once a day for 10 days, file 1 never
    counts = np.zeros((2, 11), dtype=np.float32)
    counts[0, :10] = 1.0
    data = DailyCounts(
        counts=counts,
        day0_s=0.0,
        release_day=np.full(2, np.nan),
        group=np.array([0, 0]),
        kind=np.array([0, 1]),
    )
    f = RequestForecaster(ForecastConfig(model="rates")).fit(data, range(1, 10)).predict(data, 10)
    # own rate 1 (a constant's decayed mean); title rate 1 split by the shrunk shares: kind 0 has
    # (10 + 1) / (10 + 2) of all requests, file 0 (10 + 11/12) / 11 of its title's, file 1 (1/12) / 11
    assert f[0] == pytest.approx(0.5 * (1.0 + (10 + 11 / 12) / 11))
    assert f[1] == pytest.approx(0.5 * (1 / 12) / 11)
    alone = DailyCounts(counts=counts, day0_s=0.0, release_day=np.full(2, np.nan))
    g = RequestForecaster(ForecastConfig(model="rates")).fit(alone, range(1, 10)).predict(alone, 10)
    assert g.tolist() == pytest.approx([1.0, 0.0])


def test_daily_counts_checks_groups() -> None:
    ts = np.array([0.0, 10.0])
    dc = daily_counts(ts, np.array([0, 1]), 2, groups=[0, 0], kinds=[1, 0])
    assert dc.group is not None and dc.group.tolist() == [0, 0]
    with pytest.raises(ConfigError, match="groups"):
        daily_counts(ts, np.array([0, 1]), 2, groups=[0])


def _spy_gbm_fit(monkeypatch: pytest.MonkeyPatch) -> dict[str, np.ndarray]:
    """What the forecaster's last GBM fit was given (``x``, ``y``, sample weights ``w``); the fit runs."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    got: dict[str, np.ndarray] = {}
    fit = HistGradientBoostingRegressor.fit

    def captured(self, x, y, sample_weight=None):  # type: ignore[no-untyped-def]
        got.update(x=x, y=y, w=sample_weight)
        return fit(self, x, y, sample_weight=sample_weight)

    monkeypatch.setattr(HistGradientBoostingRegressor, "fit", captured)
    return got


def test_each_fit_day_weighs_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """Weights summed per fit day are equal (day 1, every row kept, weighed 5x a sampled day before)."""

    import reelkit.stream.forecast as fc

    rows: list[int] = []
    walk = fc._walk_features

    def counted(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        for day, idx, x in walk(*args, **kwargs):  # type: ignore[arg-type]
            rows.append(len(x))
            yield day, idx, x

    monkeypatch.setattr(fc, "_walk_features", counted)
    got = _spy_gbm_fit(monkeypatch)
    wl = synthesize(SynthConfig(seed=0, days=10, n_titles=1500, views_per_day=3000))
    data = daily_counts(wl.trace.timestamps, wl.trace.objects, wl.trace.n_objects, day_start_hour=2.0)
    RequestForecaster(ForecastConfig(max_rows=20000)).fit(data, range(1, 9))
    sums = np.add.reduceat(got["w"], np.cumsum([0, *rows[:-1]]))
    assert len(sums) == 8 and len(set(rows)) > 1  # some days are sampled, some kept whole
    assert np.allclose(sums, sums[0])


def test_a_file_of_a_requested_title_is_known_before_its_own_first_request() -> None:
    """Pins the known rows: a file never requested itself is known once its title (group) was requested."""
    from reelkit.stream.forecast import _walk_features

    counts = np.array([[1, 0], [0, 0], [0, 0]], np.float32)
    data = DailyCounts(counts, 0.0, np.full(3, np.nan), group=np.array([0, 0, 1]))
    seen: list[list[bool]] = []
    list(_walk_features(data, np.array([1]), None, lambda day, known: seen.append(known.tolist())))
    assert seen == [[True, True, False]]


def test_the_smearing_factor_restores_the_weighted_total(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pins the log model's rescaling: over the weighted training rows, the forecasts sum to the targets
    (a sampled row stands for the rows it was drawn from)."""

    got = _spy_gbm_fit(monkeypatch)
    data = _random_counts(6, n_items=800, n_days=8)
    fc = RequestForecaster(ForecastConfig(max_rows=1000, max_iter=20, min_samples_leaf=5)).fit(
        data, range(1, 6)
    )
    w = got["w"]
    assert np.ptp(w) > 0  # rows weighed differently
    fitted = np.expm1(fc.model_.predict(got["x"])).clip(0.0) * fc.scale_
    assert (fitted * w).sum() == pytest.approx((np.expm1(got["y"]) * w).sum(), rel=1e-9)


def test_a_sampled_day_weighs_its_known_and_cold_rows_by_their_numbers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Pins the sampling weights: within each fit day the known rows drawn weigh, together, their share of
    all items (a drawn row stands for the rows of its kind it was drawn from), the cold rows the rest."""

    import reelkit.stream.forecast as fc

    share: list[float] = []
    rows: list[npt.NDArray[np.bool_]] = []
    walk = fc._walk_features

    def spied(data, days, signal, pick):  # type: ignore[no-untyped-def]
        def picked(day, known):  # type: ignore[no-untyped-def]
            idx = pick(day, known)
            share.append(float(known.mean()))
            rows.append(known[idx])
            return idx

        yield from walk(data, days, signal, picked)

    monkeypatch.setattr(fc, "_walk_features", spied)
    got = _spy_gbm_fit(monkeypatch)
    counts = np.zeros((3000, 6), np.float32)
    counts[:600, 0] = 1.0  # 600 items known from day 1 on, 2400 never requested
    data = DailyCounts(counts=counts, day0_s=19676 * 86400.0, release_day=np.full(3000, np.nan))
    RequestForecaster(ForecastConfig(max_rows=1000, max_iter=10)).fit(data, range(1, 5))
    at = 0
    for s_known, known in zip(share, rows, strict=True):
        w = got["w"][at : at + len(known)]
        at += len(known)
        assert len(known) == 250 and 0 < known.sum() < 250  # sampled: 225 known, 25 cold drawn
        assert w[known].sum() / w.sum() == pytest.approx(s_known) and s_known == pytest.approx(0.2)


def test_the_training_rows_stay_within_max_rows() -> None:
    """Pins max_rows: 4 fit days of 250 rows each (225 of the 240 known items and 25 cold ones) make 1000;
    keeping all 240 known items because they are fewer than 250 made 265 a day."""
    counts = np.zeros((3000, 6), np.float32)
    counts[:240, 0] = 1.0
    data = DailyCounts(counts=counts, day0_s=19676 * 86400.0, release_day=np.full(3000, np.nan))
    fc = RequestForecaster(ForecastConfig(max_rows=1000, max_iter=10)).fit(data, range(1, 5))
    assert fc.train_rows_ == 1000


@pytest.mark.parametrize(("n_fit_days", "rows_a_day"), [(10, 100), (60, 20)])
def test_max_rows_bounds_the_training_rows_however_many_fit_days(
    monkeypatch: pytest.MonkeyPatch, n_fit_days: int, rows_a_day: int
) -> None:
    """max_rows=1000 over 10 fit days is 100 rows a day (at least 200 a day made 2000 rows); over 60 days,
    50 of them evenly spread (the first and last among them) of 20 rows each."""
    import reelkit.stream.forecast as fc

    walked: list[list[int]] = []
    walk = fc._walk_features

    def spied(data, days, signal, pick):  # type: ignore[no-untyped-def]
        walked.append(sorted(np.unique(days).tolist()))
        yield from walk(data, days, signal, pick)

    monkeypatch.setattr(fc, "_walk_features", spied)
    counts = np.zeros((3000, n_fit_days + 2), np.float32)
    counts[:600, 0] = 1.0
    data = DailyCounts(counts=counts, day0_s=19676 * 86400.0, release_day=np.full(3000, np.nan))
    model = RequestForecaster(ForecastConfig(max_rows=1000, max_iter=10)).fit(data, range(1, n_fit_days + 1))
    assert model.train_rows_ == 1000
    (days,) = walked
    assert len(days) == 1000 // rows_a_day and days[0] == 1 and days[-1] == n_fit_days


def test_ewma_weighs_yesterday_most() -> None:
    """Pins the EWMA on a hand case: 8 requests two days ago, none yesterday, half-life 1 day: 8 * 0.5 /
    (1 + 0.5) = 8/3; the day after the data and a window of 8 half-lives."""
    data = daily_counts(np.r_[np.full(8, 10.0), 2 * 86400.0 + 10], np.zeros(9, np.int64), 1)
    fc = RequestForecaster(ForecastConfig(model="ewma", halflife_days=1.0)).fit(data, range(1, 2))
    assert fc.predict(data, 2) == pytest.approx([8 / 3])
    # the day after the data (tomorrow) is forecast too: 1, 0 and 8 requests weigh 1, 1/2, 1/4
    assert fc.predict(data, 3) == pytest.approx([(1 + 8 / 4) / 1.75])
    # the window spans 8 half-lives: 16 requests 5 days ago still count, 16 x 1/16 / (1 + ... + 1/16)
    old = daily_counts(np.r_[np.full(16, 10.0), 5 * 86400.0 + 10], np.zeros(17, np.int64), 1)
    assert fc.predict(old, 5) == pytest.approx([16 / 31])


def test_week_mean_is_the_seven_days_before() -> None:
    """Pins the week-mean baseline: day k has k + 1 requests; day 7's week mean is (1 + ... + 7) / 7 = 4,
    its error |4 - 8| = 4."""
    ts = np.concatenate([np.full(k + 1, k * 86400.0 + 10) for k in range(8)])
    data = daily_counts(ts, np.zeros(len(ts), np.int64), 1)
    assert evaluate_forecast(data, range(7, 8), {}).mae["week-mean"] == pytest.approx(4.0)
