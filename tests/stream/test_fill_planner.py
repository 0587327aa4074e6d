"""The nightly fill planner: the knapsack on hand cases, the day simulation on a hand-made trace with known
hits, and the perfect-knowledge fill against the model's on a synthetic trace."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from reelkit.errors import ConfigError
from reelkit.stream.cache import RequestTrace, SynthConfig, simulate, synthesize
from reelkit.stream.fill import (
    FillConfig,
    FillPlanner,
    FillResult,
    compare_fill,
    parse_fill_window,
    parse_rate,
    simulate_fill,
)

HOUR = 3600.0
DAY = 86400.0
T0 = 19676 * DAY  # a midnight (UTC)


def _planner(disk: int, fill_bytes: float, *, fill_cost: float = 0.0, reserve: float = 0.0) -> FillPlanner:
    """A planner whose 12-hour window carries exactly ``fill_bytes``."""
    return FillPlanner(
        FillConfig(
            capacity_bytes=disk,
            fill_window=(0.0, 12.0),
            fill_rate_bytes_per_s=fill_bytes / (12 * HOUR),
            fill_cost=fill_cost,
            reserve=reserve,
            horizon_days=1.0,
        )
    )


SIZES = np.array([6, 4, 3, 1], dtype=np.int64)
NONE = np.zeros(4, dtype=bool)


def test_disk_budget_by_density() -> None:
    plan = _planner(10, 1e9).plan(np.array([3.0, 2.0, 1.0, 0.5]), SIZES, NONE)
    assert plan.pinned.tolist() == [0, 1]  # 6 + 4 fill the disk; 3 and 1 no longer fit
    assert plan.added.tolist() == [0, 1]
    assert plan.fill_bytes == 10 and plan.pinned_bytes == 10
    assert plan.expected_saved_bytes == pytest.approx(3 * 6 + 2 * 4)


def test_fill_budget_skips_what_the_window_cannot_carry() -> None:
    plan = _planner(10, 5).plan(np.array([3.0, 2.0, 1.0, 0.5]), SIZES, NONE)
    # object 0 (6 bytes) exceeds the 5-byte window; 1 (4) fits, 2 (3) would make 7, 3 (1) makes 5
    assert plan.pinned.tolist() == [1, 3]
    assert plan.added.tolist() == [1, 3]
    assert plan.fill_bytes == 5


def test_present_objects_cost_no_fill() -> None:
    present = np.array([True, False, False, False])
    plan = _planner(10, 5).plan(np.array([3.0, 2.0, 1.0, 0.5]), SIZES, present, np.array([0, 2]))
    assert plan.pinned.tolist() == [0, 1]
    assert plan.added.tolist() == [1]
    assert plan.fill_bytes == 4
    assert plan.evicted.tolist() == [2]


def test_fill_cost_threshold_and_reserve() -> None:
    f = np.array([3.0, 0.5, 0.5, 0.0])
    present = np.array([False, False, True, False])
    plan = _planner(100, 1e9, fill_cost=0.7).plan(f, SIZES, present)
    # object 1 is worth 0.5 < 0.7 per byte to fetch; object 2 is already there; nothing forecast is not kept
    assert plan.pinned.tolist() == [0, 2]
    half = _planner(10, 1e9, reserve=0.5).plan(np.array([3.0, 2.0, 1.0, 0.5]), SIZES, NONE)
    assert half.pinned_bytes <= 5
    assert half.pinned.tolist() == [1, 3]  # 6 > 5; then 4, then 1


def test_added_in_density_order() -> None:
    sizes = np.array([1, 1, 1], dtype=np.int64)
    plan = _planner(10, 1e9).plan(np.array([1.0, 5.0, 3.0]), sizes, np.zeros(3, bool))
    assert plan.added.tolist() == [1, 2, 0]


def _hand_trace() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    rows = [
        (0, 13.0, 0),  # training day: the warm-up stores object 0 (the whole disk is the reactive part)
        (1, 0.5, 0),  # pinned from the disk, no fetch: hit
        (1, 5.0, 0),  # hit
        (1, 6.0, 2),  # miss, enters the reactive part (50 bytes free)
        (1, 8.0, 2),  # reactive hit
        (1, 9.0, 1),  # miss; 100 bytes do not fit the 50 left for the reactive part
        (2, 0.5, 1),  # pinned tonight, arrives at 01:00: miss
        (2, 2.0, 1),  # hit
        (2, 3.0, 2),  # still in the reactive part: hit
        (2, 4.0, 0),  # unpinned last night, handed to the reactive part as its oldest, evicted first: miss
    ]
    ts = np.array([T0 + d * DAY + h * HOUR for d, h, _ in rows])
    obj = np.array([o for _, _, o in rows], dtype=np.int64)
    sizes = np.array([100, 100, 50], dtype=np.int64)
    return ts, obj, sizes[obj], sizes


def test_simulate_fill_hand_trace() -> None:
    ts, obj, rb, sizes = _hand_trace()
    cfg = FillConfig(
        capacity_bytes=150,
        fill_window=(0.0, 12.0),
        fill_rate_bytes_per_s=100 / HOUR,
        fill_cost=0.0,
        adaptive_reserve=(),
    )
    forecast = np.array([[3.0, 0.0], [1.0, 2.0], [0.0, 0.0]])
    res = simulate_fill(ts, obj, rb, sizes, cfg, train_days=1, forecast=forecast)
    assert res.hit_mask.tolist() == [False, True, True, False, True, False, False, True, True, False]
    assert res.requests == 9 and res.days == 2
    assert res.hit_ratio == pytest.approx(5 / 9)
    assert res.byte_hit_ratio == pytest.approx(400 / 750)
    assert res.fill_bytes == 100  # object 0 came from the warm disk; only object 1 is fetched
    assert res.backbone_bytes == pytest.approx(350 + 100)
    assert res.daily_byte_hit_ratio.tolist() == pytest.approx([250 / 400, 150 / 350])


def test_a_request_at_the_instant_its_fill_completes_is_a_hit() -> None:
    """Pins arrival <= request time: 100 bytes at 0.5 byte/s from 00:00 arrive at 00:03:20, when requested."""
    # day 0 warms the disk with object 1; day 1 pins object 0 (fetched from 00:00); day 2 holds it
    ts = T0 + np.array([0.0, DAY + 199.0, DAY + 200.0, 2 * DAY + 1.0])
    obj = np.array([1, 0, 0, 0], dtype=np.int64)
    sizes = np.array([100, 100], dtype=np.int64)
    cfg = FillConfig(
        capacity_bytes=100,
        fill_window=(0.0, 12.0),
        fill_rate_bytes_per_s=0.5,
        fill_cost=0.0,
        adaptive_reserve=(),
    )
    res = simulate_fill(
        ts, obj, sizes[obj], sizes, cfg, train_days=1, forecast=np.array([[1.0, 1.0], [0.0, 0.0]])
    )
    assert res.fill_bytes == 100
    assert res.hit_mask.tolist() == [False, False, True, True]


def test_a_pinned_object_requested_before_it_arrives_is_a_miss_not_cached_twice() -> None:
    """Pins 'on its way': object 0 (100 bytes at 0.5 byte/s from 00:00) arrives at 00:03:20; requests at
    00:01:40 and 00:02:30 are both misses and do not enter the reactive part, so object 1 (kept there from
    the warm-up, the 100 bytes the plan leaves free) is still a hit at 00:05:00."""
    ts = T0 + np.array([0.0, DAY + 100.0, DAY + 150.0, DAY + 250.0, DAY + 300.0, 2 * DAY + 1.0])
    obj = np.array([1, 0, 0, 0, 1, 0], dtype=np.int64)
    sizes = np.array([100, 100], dtype=np.int64)
    cfg = FillConfig(
        capacity_bytes=200,
        fill_window=(0.0, 12.0),
        fill_rate_bytes_per_s=0.5,
        fill_cost=0.0,
        adaptive_reserve=(),
        reactive="lru",
    )
    res = simulate_fill(
        ts, obj, sizes[obj], sizes, cfg, train_days=1, forecast=np.array([[1.0, 1.0], [0.0, 0.0]])
    )
    assert res.fill_bytes == 100
    assert res.hit_mask.tolist() == [False, False, False, True, True, True]


def test_the_warm_up_fills_the_whole_disk_whatever_the_reserve() -> None:
    """Pins the warm-up: before the first fill the whole disk (100 bytes, not the 50-byte reserve) is the
    reactive part, so the 100-byte object requested on the training day is a hit the next day."""
    ts = T0 + np.array([HOUR, DAY + HOUR, 2 * DAY + HOUR])
    obj = np.zeros(3, dtype=np.int64)
    sizes = np.array([100], dtype=np.int64)
    cfg = FillConfig(capacity_bytes=100, fill_window=(0.0, 12.0), reserve=0.5, adaptive_reserve=())
    res = simulate_fill(ts, obj, sizes[obj], sizes, cfg, train_days=1, forecast=np.zeros((1, 2)))
    assert res.hit_mask.tolist() == [False, True, True] and res.fill_bytes == 0


def test_simulate_fill_rejects_bad_input() -> None:
    ts, obj, rb, sizes = _hand_trace()
    cfg = FillConfig(capacity_bytes=150, fill_window=(0.0, 12.0))
    with pytest.raises(ConfigError, match="sorted"):
        simulate_fill(ts[::-1], obj, rb, sizes, cfg, train_days=1, forecast="oracle")
    with pytest.raises(ConfigError, match="train_days"):
        simulate_fill(ts, obj, rb, sizes, cfg, train_days=2, forecast="oracle")
    with pytest.raises(ConfigError, match="forecast must be"):
        simulate_fill(ts, obj, rb, sizes, cfg, train_days=1, forecast=np.zeros((3, 5)))
    with pytest.raises(ConfigError, match="train_days=-1: give 0 or more"):  # was an empty result, nan
        simulate_fill(ts, obj, rb, sizes, cfg, train_days=-1, forecast="oracle")


def test_parse_rate_and_window() -> None:
    assert parse_rate("1.2Gbps") == pytest.approx(1.5e8)
    assert parse_rate("800Mbit/s") == pytest.approx(1e8)
    assert parse_rate("100MB/s") == pytest.approx(1e8)
    assert parse_fill_window("02:00-14:00") == (2.0, 14.0)
    assert FillConfig(capacity_bytes=1, fill_window=parse_fill_window("22:00-06:00")).window_hours == 8.0
    all_day = FillConfig(
        capacity_bytes=1, fill_window=parse_fill_window("00:00-24:00"), fill_rate_bytes_per_s=1e8
    )
    assert all_day.window_hours == 24.0 and all_day.fill_budget_bytes == 24 * 3600 * 1e8  # not 0 h, 0 bytes
    for bad in ("fast", "-1Gbps", "0bps"):
        with pytest.raises(ConfigError):
            parse_rate(bad)
    for bad in ("2-14", "25:00-03:00", "02:00-02:00"):
        with pytest.raises(ConfigError):
            parse_fill_window(bad)


@pytest.fixture(scope="module")
def synth() -> RequestTrace:
    return synthesize(SynthConfig(seed=1, days=12, n_titles=200, views_per_day=2000)).trace


def test_oracle_fill_beats_the_model_and_compare_is_consistent(synth: RequestTrace) -> None:
    cap = int(0.05 * synth.working_set_bytes())
    cfg = FillConfig(capacity_bytes=cap)
    res = compare_fill(synth, cfg, train_days=7, policies=("lru", "s3fifo"))
    names = [a.name for a in res.approaches]
    assert names == ["fill", "fill-oracle", "lru", "s3fifo", "belady-size", "offline-bound"]
    fill, oracle = res.get("fill"), res.get("fill-oracle")
    assert oracle.byte_hit_ratio >= fill.byte_hit_ratio
    assert 0 < fill.byte_hit_ratio < 1
    # the reactive policies are measured on exactly the requests the planner is measured on
    lru = simulate(synth, "lru", cap, warmup=(res.warmup_requests + 0.5) / synth.n_requests)
    assert lru.measured_requests == res.measured_requests
    assert res.get("lru").byte_hit_ratio == pytest.approx(lru.byte_hit_ratio)
    assert res.get("offline-bound").byte_hit_ratio >= res.get("belady-size").byte_hit_ratio - 1e-9
    assert res.ratios()["lru"] == pytest.approx(fill.byte_hit_ratio / lru.byte_hit_ratio)
    assert res.best_reactive() is not None


def test_backbone_of_the_compared_policies_is_their_missed_bytes() -> None:
    """Pins backbone bytes = measured bytes x (1 - byte hit ratio) for the rows that fetch nothing ahead."""
    ts, obj, rb, _ = _hand_trace()
    tr = RequestTrace.from_arrays(ts, obj, rb)
    cfg = FillConfig(capacity_bytes=150, fill_window=(0.0, 12.0), fill_rate_bytes_per_s=100 / HOUR)
    f = np.array([[3.0, 0.0], [1.0, 2.0], [0.0, 0.0]])
    res = compare_fill(tr, cfg, train_days=1, policies=("lru",), forecast=f)
    measured = float(rb[res.warmup_requests :].sum())
    assert measured == 750.0
    for a in res.approaches:
        if a.kind != "fill":
            assert a.backbone_bytes == pytest.approx(measured * (1 - a.byte_hit_ratio)), a.name
    assert 0 < res.get("offline-bound").byte_hit_ratio < 1


def test_compare_fill_renumbers_the_catalogue_with_the_objects(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pins the catalogue's renumbering: ids 20 then 10 (dense 0, 1 by first request) are planned as 10, 20,
    so each per-object array (release times, titles, renditions, forecast) is reordered with them."""
    import reelkit.stream.fill as fill

    seen: dict[str, object] = {}
    real = fill.simulate_fill

    def spy(*args: object, **kwargs: object) -> object:
        seen.setdefault("kw", kwargs)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(fill, "simulate_fill", spy)
    ts = T0 + np.array([0.0, 1.0, DAY, DAY + 1.0, 2 * DAY])
    tr = RequestTrace.from_arrays(ts, np.array([20, 10, 20, 10, 20]), np.full(5, 10))
    assert tr.original_ids.tolist() == [20, 10]
    f = np.array([[1.0, 2.0], [3.0, 4.0]])  # rows: objects 20, 10
    cfg = FillConfig(capacity_bytes=20, fill_window=(0.0, 12.0))
    fill.compare_fill(
        tr,
        cfg,
        train_days=1,
        policies=("lru",),
        forecast=f,
        release_s=np.array([200.0, 100.0]),
        groups=np.array([1, 0]),
        kinds=np.array([0, 1]),
        oracle=False,
        offline=False,
    )
    kw = seen["kw"]
    assert isinstance(kw, dict)
    assert kw["release_s"].tolist() == [100.0, 200.0]
    assert kw["groups"].tolist() == [0, 1] and kw["kinds"].tolist() == [1, 0]
    assert kw["forecast"].tolist() == [[3.0, 4.0], [1.0, 2.0]]


def test_best_reactive_is_the_highest_byte_hit_ratio() -> None:
    """Pins best_reactive: among the reactive rows (not fill or offline ones) the highest byte hit ratio."""
    from reelkit.stream.fill import ApproachResult, FillComparison

    rows = (
        ApproachResult("fill", "fill", 0.5, 0.9, 10, 1.0),
        ApproachResult("lru", "reactive", 0.5, 0.3, 0, 1.0),
        ApproachResult("s3fifo", "reactive", 0.4, 0.4, 0, 1.0),
        ApproachResult("belady-size", "offline", 0.6, 0.6, 0, 1.0),
    )
    best = FillComparison(1, 1, 1, 1, 0, rows).best_reactive()
    assert best is not None and best.name == "s3fifo"


def test_adaptive_reserve_follows_the_best_shadow() -> None:
    ts, obj, rb, sizes = _hand_trace()
    base = {"capacity_bytes": 150, "fill_window": (0.0, 12.0), "fill_rate_bytes_per_s": 100 / HOUR}
    forecast = np.array([[3.0, 0.0], [1.0, 2.0], [0.0, 0.0]])
    fixed = simulate_fill(
        ts, obj, rb, sizes, FillConfig(**base, adaptive_reserve=()), train_days=1, forecast=forecast
    )
    # one candidate equal to the fixed reserve: the same run
    one = simulate_fill(
        ts, obj, rb, sizes, FillConfig(**base, adaptive_reserve=(0.0,)), train_days=1, forecast=forecast
    )
    assert one.hit_mask.tolist() == fixed.hit_mask.tolist()
    # day 1 (object 0 on disk from the warm-up): reserve 0 serves 250 bytes (object 0 pinned, object 2 in
    # the reactive part); reserve 0.5 pins nothing (100 bytes > 75) and its 150-byte reactive part also
    # serves 250 bytes (objects 0 and 2). A tie goes to the first candidate: night 2 runs with reserve 0.5,
    # where object 1 (100 bytes) no longer fits the pinned share and comes from the reactive part instead:
    # the same hits, and no fill at all (reserve 0 fetches object 1 on night 2)
    two = simulate_fill(
        ts, obj, rb, sizes, FillConfig(**base, adaptive_reserve=(0.5, 0.0)), train_days=1, forecast=forecast
    )
    assert two.reserve_per_day.tolist() == [0.0, 0.5]
    assert two.hit_mask.tolist() == fixed.hit_mask.tolist()
    assert two.fill_bytes == 0 and fixed.fill_bytes == 100
    with pytest.raises(ValueError, match="adaptive_reserve"):
        FillConfig(capacity_bytes=1, adaptive_reserve=(1.5,))


def test_one_adaptive_reserve_is_used_from_the_second_night() -> None:
    """Pins ``reserve`` as the first night's only: with adaptive_reserve=(0.5,) the nights run 0, then 0.5."""
    ts, obj, rb, sizes = _hand_trace()
    cfg = FillConfig(
        capacity_bytes=150, fill_window=(0.0, 12.0), fill_rate_bytes_per_s=100 / HOUR, adaptive_reserve=(0.5,)
    )
    forecast = np.array([[3.0, 0.0], [1.0, 2.0], [0.0, 0.0]])
    res = simulate_fill(ts, obj, rb, sizes, cfg, train_days=1, forecast=forecast)
    assert res.reserve_per_day.tolist() == [0.0, 0.5]


def _shifting_trace(seed: int, days: int = 8, n_obj: int = 12) -> tuple[np.ndarray, ...]:
    """30 requests a day, 60% of them to three titles that change every day, and a random forecast."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(days):
        hot = rng.choice(n_obj, 3, replace=False)
        for _ in range(30):
            o = int(rng.choice(hot)) if rng.random() < 0.6 else int(rng.integers(n_obj))
            rows.append((T0 + d * DAY + rng.uniform(0, DAY), o))
    rows.sort()
    ts = np.array([r[0] for r in rows])
    obj = np.array([r[1] for r in rows], dtype=np.int64)
    return ts, obj, rng.integers(50, 150, n_obj).astype(np.int64), rng.uniform(0, 3, (n_obj, days - 1))


@pytest.mark.parametrize("window", [1, 2, 365])
def test_adaptive_reserve_compares_the_last_window_of_nights(window: int) -> None:
    """Each night's reserve is the candidate whose shadow served the most bytes over the last
    ``adapt_window_days`` nights (ties: the first). Each shadow is the fixed-reserve run, so the choices are
    recomputed from two fixed runs' bytes served a day; the three windows choose three different sequences."""
    ts, obj, sizes, fc = _shifting_trace(37)
    base = {"capacity_bytes": 400, "fill_window": (0.0, 12.0), "fill_rate_bytes_per_s": 400 / HOUR}
    served = []
    for r in (0.0, 0.5):
        res = simulate_fill(
            ts,
            obj,
            sizes[obj],
            sizes,
            FillConfig(**base, reserve=r, adaptive_reserve=()),
            train_days=1,
            forecast=fc,
        )
        day = np.floor((ts - T0) / DAY).astype(np.int64)[res.measured_from :] - 1
        served.append(np.bincount(day, weights=(sizes[obj] * res.hit_mask)[res.measured_from :], minlength=7))
    by_night = np.array(served)
    expected = [0.0] + [
        (0.0, 0.5)[int(np.argmax(by_night[:, max(0, k - window) : k].sum(axis=1)))] for k in range(1, 7)
    ]
    cfg = FillConfig(**base, adaptive_reserve=(0.0, 0.5), adapt_window_days=window)
    got = simulate_fill(ts, obj, sizes[obj], sizes, cfg, train_days=1, forecast=fc).reserve_per_day.tolist()
    assert got == expected
    assert (
        got
        == {
            1: [0.0, 0.5, 0.0, 0.5, 0.0, 0.5, 0.0],
            2: [0.0, 0.5, 0.5, 0.5, 0.0, 0.0, 0.5],
            365: [0.0, 0.5, 0.5, 0.5, 0.0, 0.5, 0.0],
        }[window]
    )


def test_fill_cost_spread_over_the_residency() -> None:
    f = np.array([0.01, 0.0, 0.0, 0.0])
    planner = FillPlanner(FillConfig(capacity_bytes=100, fill_cost=0.05, horizon_days=7.0))
    # 0.01 requests a day for 7 nights beat 0.05 of fill cost; for one night they do not
    assert planner.plan(f, SIZES, NONE).pinned.tolist() == [0]
    assert planner.plan(f, SIZES, NONE, residency_days=1.0).pinned.tolist() == []
    assert planner.plan(f, SIZES, NONE, residency_days=30.0).pinned.tolist() == [0]
    # an object fetched tonight is served at least one day: a residency under a night counts as one
    # (0.06 requests beat 0.05 of fill cost over one night; over half a night they would not)
    once = np.array([0.06, 0.0, 0.0, 0.0])
    assert planner.plan(once, SIZES, NONE, residency_days=0.5).pinned.tolist() == [0]


def test_residency_by_littles_law() -> None:
    from reelkit.stream.fill import _Cache

    cfg = FillConfig(capacity_bytes=100, residency_window_days=4)
    cache = _Cache(3, sieve=False)
    cache.pinned_per_night = [10, 10, 10]
    cache.added_per_night = [10, 0, 2]
    assert cache.residency(cfg) is None  # fewer nights than the window: horizon_days
    cache.pinned_per_night.append(10)
    cache.added_per_night.append(0)
    # 10 objects held on average, 3 newly pinned a night: each stays 10 / 3 nights
    assert cache.residency(cfg) == pytest.approx(10 / 3)
    assert cache.residency(cfg.model_copy(update={"observed_residency": False})) is None
    # nothing newly pinned over the window: at least one addition over the window is assumed (10 held / 0.25
    # a night = 40 nights), and a residency is capped at a year
    cache.added_per_night = [0, 0, 0, 0]
    assert cache.residency(cfg) == pytest.approx(40.0)
    cache.pinned_per_night = [100] * 4
    assert cache.residency(cfg) == 365.0


def test_an_object_promoted_from_the_reactive_part_counts_as_newly_pinned() -> None:
    """Pins Little's law's arrivals: an object the plan pins from the reactive part is newly pinned (1 a
    night) although nothing is fetched; one pinned again the next night is not."""
    from reelkit.stream.fill import _Cache

    sizes = np.full(2, 10, np.int64)
    cfg = FillConfig(capacity_bytes=20, adaptive_reserve=())
    cache = _Cache(2, sieve=True)
    cache.res_cap = 20.0
    cache.day(np.array([0.0]), np.array([0]), sizes, np.zeros(1, np.bool_))
    assert cache.inres[0]
    forecast = np.array([5.0, 0.0])
    assert cache.night(FillPlanner(cfg), forecast, sizes, 100.0, cfg) == 0  # on disk: no fetch
    cache.night(FillPlanner(cfg), forecast, sizes, 200.0, cfg)
    assert cache.added_per_night == [1, 0] and cache.pinned_per_night == [1, 1]


def test_residency_averages_the_last_window_of_nights() -> None:
    """Pins Little's law over exactly the last 4 nights: (4 + 8 + 12 + 16) / 4 = 10 held, 1 added a night."""
    from reelkit.stream.fill import _Cache

    cache = _Cache(1, sieve=False)
    cache.pinned_per_night = [100, 4, 8, 12, 16]
    cache.added_per_night = [100, 1, 1, 1, 1]
    assert cache.residency(FillConfig(capacity_bytes=1, residency_window_days=4)) == pytest.approx(10.0)


def test_forecast_chosen_by_its_shadow() -> None:
    # object 0 is requested three times a day, object 1 never; the disk holds one of them
    rows = [(d, h, 0) for d in range(4) for h in (5.0, 6.0, 7.0)]
    ts = np.array([T0 + d * DAY + h * HOUR for d, h, _ in rows])
    obj = np.zeros(len(rows), dtype=np.int64)
    sizes = np.array([100, 100], dtype=np.int64)
    good = np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    cfg = FillConfig(
        capacity_bytes=100,
        fill_window=(0.0, 12.0),
        fill_rate_bytes_per_s=100 / HOUR,
        fill_cost=0.0,
        adaptive_reserve=(),
    )
    res = simulate_fill(
        ts, obj, sizes[obj], sizes, cfg, train_days=1, forecast={"bad": good[::-1].copy(), "good": good}
    )
    # night 1 follows the first forecast (object 1 pinned: no hit); its shadow served nothing, the good
    # forecast's shadow 300 bytes, so the next nights follow the good one
    assert res.forecast_per_day == ("bad", "good", "good")
    assert res.hit_mask[3:].tolist() == [False] * 3 + [True] * 6
    with pytest.raises(ConfigError, match="forecast must be"):
        simulate_fill(ts, obj, sizes[obj], sizes, cfg, train_days=1, forecast={"a": np.zeros((2, 2))})


def test_forecasts_whose_shadows_tie_keep_the_first() -> None:
    """Pins the tie-break of the nightly forecast choice: two equal forecasts, the first named is used."""
    rows = [(d, h) for d in range(4) for h in (5.0, 6.0)]
    ts = np.array([T0 + d * DAY + h * HOUR for d, h in rows])
    obj = np.zeros(len(rows), dtype=np.int64)
    sizes = np.array([100, 100], dtype=np.int64)
    f = np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]])
    cfg = FillConfig(capacity_bytes=100, fill_window=(0.0, 12.0), fill_cost=0.0, adaptive_reserve=())
    res = simulate_fill(ts, obj, sizes[obj], sizes, cfg, train_days=1, forecast={"b": f, "a": f.copy()})
    assert res.forecast_per_day == ("b", "b", "b")


def _lean_or_junk(**extra: Any) -> FillResult:
    """Object 0 is requested three times a day over 4 days; objects 1-4 never. Both forecasts pin object 0
    and serve the same bytes; "junk" also fetches objects 1-4 into the free disk (400 bytes on the first
    night, 200 of fill cost at 0.5)."""
    rows = [(d, h) for d in range(4) for h in (15.0, 16.0, 17.0)]
    ts = np.array([T0 + d * DAY + h * HOUR for d, h in rows])
    obj = np.zeros(len(rows), dtype=np.int64)
    sizes = np.full(5, 100, dtype=np.int64)
    lean = np.zeros((5, 3))
    lean[0] = 3.0
    junk = lean.copy()
    junk[1:] = 1.0
    cfg = FillConfig(
        capacity_bytes=500,
        fill_window=(0.0, 12.0),
        fill_rate_bytes_per_s=1000 / HOUR,
        fill_cost=0.5,
        horizon_days=7.0,
        adaptive_reserve=(),
        **extra,
    )
    return simulate_fill(ts, obj, sizes[obj], sizes, cfg, train_days=1, forecast={"junk": junk, "lean": lean})


def test_forecast_shadows_count_the_fill_cost() -> None:
    # at fill_cost 0.5 the shadow of "junk" saved 200 bytes less, so the nights after the first follow
    # "lean" (a plain count of bytes served would tie and keep the first candidate)
    res = _lean_or_junk()
    assert res.forecast_per_day == ("junk", "lean", "lean")
    assert res.hit_mask[3:].all()


def test_the_forecast_is_chosen_on_all_the_nights_so_far_not_the_reserve_window() -> None:
    """Pins the forecast choice to every night so far: with adapt_window_days=1, "lean" stays ahead by the
    200 bytes "junk" paid on the first night, though the two tie on every later night (a choice over the
    last night alone would tie and go back to the first candidate, "junk")."""
    assert _lean_or_junk(adapt_window_days=1).forecast_per_day == ("junk", "lean", "lean")


@pytest.mark.parametrize("reactive", ["sieve", "lru"])
def test_with_nothing_pinned_the_reactive_part_is_that_policy(reactive: str) -> None:
    """A zero forecast pins nothing, so the whole disk is the reactive part: its hits must be exactly those
    of the simulator's own SIEVE (or LRU) on the measured requests, both warmed on the training day's."""
    rng = np.random.default_rng(7)
    n, n_obj = 6000, 300
    t = np.sort(rng.uniform(0, 4 * 86400.0, n)) + 2 * 3600.0  # days start at the fill window's 02:00
    obj = np.minimum(rng.zipf(1.3, n) - 1, n_obj - 1).astype(np.int64)
    sizes = rng.integers(1, 50, n_obj).astype(np.int64)
    cap = int(0.1 * sizes.sum())
    cfg = FillConfig(capacity_bytes=cap, reactive=reactive, adaptive_reserve=())  # type: ignore[arg-type]
    res = simulate_fill(t, obj, sizes[obj], sizes, cfg, train_days=1, forecast=np.zeros((n_obj, 3)))
    start = int(np.searchsorted(t, 86400.0 + 2 * 3600.0))
    tr = RequestTrace.from_arrays(t, obj, sizes[obj])
    ref = simulate(tr, reactive, cap, warmup=(start + 0.5) / n)
    assert ref.warmup_requests == start
    assert res.fill_bytes == 0
    assert res.hit_ratio == pytest.approx(ref.hit_ratio, abs=1e-12)
    assert res.byte_hit_ratio == pytest.approx(ref.byte_hit_ratio, abs=1e-12)


def test_sieve_hand_moves_off_an_object_the_plan_pins() -> None:
    """When tonight's plan pins an object that SIEVE's hand points at, the hand moves on first; the list
    stays consistent and the next eviction takes the next unvisited object towards the head."""
    from reelkit.stream.fill import _Cache

    sizes = np.full(4, 10, np.int64)
    cache = _Cache(4, sieve=True)
    cfg = FillConfig(capacity_bytes=30, adaptive_reserve=())
    cache.res_cap = 30.0
    hits = np.zeros(5, np.bool_)
    # 0, 1, 2 fill the part (list head to tail: 2 1 0); 0 is hit (visited); 3 evicts: the hand starts at the
    # tail, clears 0, evicts 1 and rests on 2 (towards the head); the list is 3 2 0
    cache.day(np.arange(5.0), np.array([0, 1, 2, 0, 3]), sizes, hits)
    assert hits.tolist() == [False, False, False, True, False]
    assert cache.inres.tolist() == [True, False, True, True] and cache.st[3] == 2
    forecast = np.array([0.0, 0.0, 5.0, 0.0])  # pin object 2, where the hand is
    cache.night(FillPlanner(cfg), forecast, sizes, 100.0, cfg)
    assert cache.pinned.tolist() == [False, False, True, False] and not cache.inres[2]
    assert cache.st[3] == 3 and cache.res_cap == 20.0  # the hand moved on towards the head
    hits[:] = False
    # 2 is served pinned; 1 misses and evicts 3, the unvisited object under the hand
    cache.day(np.array([200.0, 201.0]), np.array([2, 1]), sizes, hits[:2])
    assert hits[:2].tolist() == [True, False] and cache.inres.tolist() == [True, True, False, False]


def test_a_disk_that_holds_the_catalogue_keeps_it() -> None:
    """At 100% of the catalogue the perfect-knowledge fill deleted what tomorrow would not request and
    fetched it again later (1.5 catalogues over 8 nights, below a demand-fetch LRU); it started cold where
    the reactive policies were warm. Now nothing it holds is dropped while there is room."""
    from reelkit.stream.cache import SynthConfig, synthesize
    from reelkit.stream.fill import compare_fill

    wl = synthesize(SynthConfig(seed=0, days=9, n_titles=120, views_per_day=400, releases_per_day=0.5))
    tr = wl.trace
    cfg = FillConfig(capacity_bytes=tr.working_set_bytes(), fill_cost=0.05)
    cmp = compare_fill(tr, cfg, train_days=3, policies=("lru",), offline=False)
    oracle, lru = cmp.get("fill-oracle"), cmp.get("lru")
    assert oracle.byte_hit_ratio >= lru.byte_hit_ratio - 1e-9
    assert oracle.fill_bytes <= tr.working_set_bytes()


def test_sieve_takes_what_the_plan_hands_back_first() -> None:
    """An unpinned object goes where SIEVE evicts next (under its hand), not behind the hand at the tail,
    where it would be the last unvisited object to go."""
    from reelkit.stream.fill import _Cache, _next_to_go, _reactive_trim

    sizes = np.full(10, 1, np.int64)
    cache = _Cache(10, sieve=True)
    cache.res_cap = 4.0
    seq = np.array([0, 1, 2, 3, 0, 1, 4], dtype=np.int64)  # leaves SIEVE's hand on object 3
    cache.day(np.arange(7.0), seq, sizes, np.zeros(7, dtype=np.bool_))
    assert cache.st[3] >= 0
    _next_to_go(cache.links, cache.st, 9, True)
    cache.inres[9] = True
    cache.st[2] += 1
    _reactive_trim(4.0, sizes, cache.inres, cache.links, cache.st, cache.visited, True)
    assert not cache.inres[9] and cache.inres[3]  # object 3 (requested, unvisited) stays; 9 went first


def test_expected_saved_bytes_less_the_fill_cost_by_hand() -> None:
    """Pins the plan's objective: 2 x 100 + 1 x 50 bytes saved, less 0.5 x 50 filled = 225."""
    plan = _planner(10_000, 10_000, fill_cost=0.5).plan(
        np.array([2.0, 1.0]), np.array([100, 50]), np.array([True, False])
    )
    assert plan.added.tolist() == [1] and plan.expected_saved_bytes == pytest.approx(225.0)


def test_rate_prefixes_are_decimal() -> None:
    """Pins SI prefixes: 8 kbit/s is 1000 bytes/s (not 1024), 1 Tbit/s 1.25e11."""
    assert parse_rate("8kbps") == pytest.approx(1000.0)
    assert parse_rate("1Tbps") == pytest.approx(1.25e11) and parse_rate("2TB/s") == pytest.approx(2e12)
    assert parse_rate("800MBit/s") == pytest.approx(1e8)  # "bit" is bits, whatever its case
