"""The simulator's measurements: capacities, warm-up, per-hour and per-region figures."""

from __future__ import annotations

import numpy as np
import pytest

from reelkit.errors import ConfigError
from reelkit.executor import LocalExecutor
from reelkit.stream.cache import RequestTrace, compare, make_policy, parse_capacity, simulate, warmup_requests


def _trace() -> RequestTrace:
    rng = np.random.default_rng(0)
    n = 5000
    ids = rng.zipf(1.3, size=n) % 400
    t = np.sort(rng.random(n)) * 3 * 86400.0 + 1_700_000_000.0
    return RequestTrace.from_arrays(t, ids, 100 + (ids % 7) * 50, regions=ids % 3)


def test_parse_capacity() -> None:
    tr = _trace()
    assert parse_capacity("50GB") == 50 * 10**9
    assert parse_capacity("500MiB") == 500 * 2**20
    assert parse_capacity("1.5 kB") == 1500
    assert parse_capacity("123") == 123
    assert parse_capacity(77) == 77
    # numbers from numpy, as a trace's own arithmetic gives them (np.float64 was refused by its repr)
    assert (
        parse_capacity(np.float64(300.0)) == parse_capacity(np.float32(300.0)) == parse_capacity(300.0) == 300
    )
    assert parse_capacity(np.int64(300)) == 300
    assert parse_capacity("5%", tr) == int(tr.working_set_bytes() * 0.05)
    assert parse_capacity("100%", tr) == tr.working_set_bytes()
    assert parse_capacity("0%", tr) == parse_capacity("0") == 0  # both say "no cache"
    for bad in ("5XB", "abc", "-3GB", "-1%", "150%", ""):
        with pytest.raises(ConfigError):
            parse_capacity(bad, tr)
    with pytest.raises(ConfigError, match="needs a trace"):
        parse_capacity("5%")


def test_capacity_units_are_the_si_and_binary_multiples() -> None:
    """Pins every unit: KiB to PiB are powers of 1024; kB to PB and the bare K, M, G, T powers of 1000."""
    binary = [parse_capacity(f"1{u}") for u in ("KiB", "MiB", "GiB", "TiB", "PiB")]
    assert binary == [2**10, 2**20, 2**30, 2**40, 2**50]
    si = [parse_capacity(f"1{u}") for u in ("kB", "MB", "GB", "TB", "PB", "K", "M", "G", "T")]
    assert si == [10**3, 10**6, 10**9, 10**12, 10**15, 10**3, 10**6, 10**9, 10**12]


def test_warmup_forms() -> None:
    tr = _trace()
    assert warmup_requests(tr, 0) == 0
    assert warmup_requests(tr, 0.1) == 500
    assert warmup_requests(tr, "10%") == 500
    day = warmup_requests(tr, "1d")
    assert day == int(np.sum(tr.timestamps < tr.timestamps.min() + 86400))
    assert warmup_requests(tr, "24h") == day
    for bad in (1.0, "soon", -0.1, "abc%", "nan", "150%"):
        with pytest.raises(ConfigError):
            warmup_requests(tr, bad)


def test_warmup_excluded_and_windows_add_up() -> None:
    tr = _trace()
    full = simulate(tr, "lru", "10%")
    warm = simulate(tr, "lru", "10%", warmup="1d")
    assert np.array_equal(full.hit_mask, warm.hit_mask)  # same simulation, different counting
    n0 = warm.warmup_requests
    assert warm.measured_requests == tr.n_requests - n0
    assert warm.hits == int(full.hit_mask[n0:].sum())
    assert warm.hit_ratio == pytest.approx(warm.hits / warm.measured_requests)
    # warming excludes the cold start, so the ratio goes up
    assert warm.hit_ratio > full.hit_ratio
    # hourly and regional windows partition the measured requests
    assert warm.hourly.requests.sum() == warm.measured_requests
    assert warm.hourly.hits.sum() == warm.hits
    assert warm.hourly.bytes_hit.sum() == warm.bytes_hit
    assert len(warm.hourly.key) <= 49 and np.all(np.diff(warm.hourly.key) >= 3600)
    assert warm.by_region is not None and warm.by_region.requests.sum() == warm.measured_requests
    assert warm.by_region.hits.sum() == warm.hits
    f = warm.hourly.to_frame("start")
    assert set(f.columns) >= {"start", "hit_ratio", "byte_hit_ratio"}


def test_windows_start_on_the_hour_and_regions_keep_their_ids() -> None:
    """Pins the window keys: requests at 00:30, 00:50 and 01:01:40 fall in the hours starting 0 s and 3600 s
    (windows from the first request's own time put all three in one), and regions 64512 and 7 are keyed by
    those ids, in increasing order (not by 0, 1)."""
    trace = RequestTrace.from_arrays([1800.0, 3000.0, 3700.0], [1, 1, 2], [5, 5, 5], regions=[64512, 7, 7])
    r = simulate(trace, "lru", 100)
    assert r.hourly.key.tolist() == [0.0, 3600.0] and r.hourly.requests.tolist() == [2, 1]
    assert r.hourly.hits.tolist() == [1, 0]
    assert r.by_region is not None and r.by_region.key.tolist() == [7.0, 64512.0]
    assert r.by_region.requests.tolist() == [2, 1] and r.by_region.hits.tolist() == [1, 0]


def test_hourly_and_regional_ratios_are_each_windows_own() -> None:
    """Pins the per-window ratios by hand: hour 0 asks A A B (100, 100, 10 bytes; A's second a hit), hit
    ratio 1/3 and byte hit ratio 100/210; hour 1 asks B C (10 and 1 bytes; B a hit), 1/2 and 10/11."""
    trace = RequestTrace.from_arrays(
        [0.0, 10.0, 20.0, 3600.0, 3700.0], [1, 1, 2, 2, 3], [100, 100, 10, 10, 1], regions=[0, 0, 0, 1, 1]
    )
    r = simulate(trace, "lru", 1000)
    np.testing.assert_allclose(r.hourly.hit_ratio, [1 / 3, 1 / 2])
    np.testing.assert_allclose(r.hourly.byte_hit_ratio, [100 / 210, 10 / 11])
    assert r.by_region is not None
    np.testing.assert_allclose(r.by_region.to_frame()["byte_hit_ratio"], [100 / 210, 10 / 11])
    # and the miss ratios are each the complement of their own hit ratio (2/5 hits, 110/221 bytes)
    assert r.miss_ratio == pytest.approx(3 / 5) and r.byte_miss_ratio == pytest.approx(111 / 221)


def test_result_summary_and_speed() -> None:
    res = simulate(_trace(), "s3fifo", "5%")
    s = res.summary()
    assert list(s) == [
        "policy",
        "capacity_bytes",
        "requests",
        "hit_ratio",
        "byte_hit_ratio",
        "requests_per_s",
    ]
    assert s["policy"] == "s3fifo" and s["requests"] == 5000 and s["requests_per_s"] > 0
    assert res.miss_ratio == pytest.approx(1 - res.hit_ratio)
    # the speed counts every request the policy replayed, the warm-up's too (they are all simulated)
    warm = simulate(_trace(), "lru", "5%", warmup=0.5)
    assert warm.requests_per_s * warm.seconds == pytest.approx(5000)


def test_compare_serial_equals_threads() -> None:
    tr = _trace()
    a = compare(tr, ["lru", "arc"], ["1%", "10%"])
    b = compare(tr, ["lru", "arc"], ["1%", "10%"], executor=LocalExecutor(2, kind="thread"))
    assert [(r.policy, r.capacity_bytes) for r in a] == [(r.policy, r.capacity_bytes) for r in b]
    assert [r.hits for r in a] == [r.hits for r in b]
    assert a[0].hit_ratio <= a[1].hit_ratio  # more space, more hits (LRU is a stack algorithm)


def test_compare_runs_each_policy_and_size_once() -> None:
    """A policy of the same name and config, or a size, given twice runs once, in the order first given;
    the same policy with another config still runs."""

    tr = _trace()
    got = compare(tr, ["lru", "LRU", "lfu", make_policy("lfu", aging=True), "lru"], ["1%", "10%", "1%"])
    assert [(r.policy, r.capacity_bytes) for r in got] == [
        (name, cap)
        for name in ("lru", "lfu", "lfu(aging=true)")  # each result names its config
        for cap in (got[0].capacity_bytes, got[1].capacity_bytes)
    ]
    assert got[2].hits != got[4].hits  # plain LFU and LFU-DA both ran


def test_compare_takes_a_policy_whose_config_does_not_hash() -> None:
    """A policy of one's own with a plain (unfrozen) dataclass config runs, once when given twice (the
    duplicate check hashed configs: TypeError)."""
    from dataclasses import dataclass

    from reelkit.stream.cache import _kernels as K
    from reelkit.stream.cache.policies import CachePolicy, Kernel

    @dataclass
    class Plain:
        k: int = 1

    class Mine(CachePolicy):
        name = "mine"
        config_type = Plain

        def kernel(self) -> Kernel:
            return K.lru_kernel

        def params(self, trace: RequestTrace) -> np.ndarray:
            return np.ones(1)

    tr = RequestTrace.from_arrays(np.arange(10.0), np.arange(10) % 3, np.ones(10, np.int64))
    got = compare(tr, [Mine(), Mine(), Mine(Plain(2))], [2])
    assert [r.policy for r in got] == ["mine", "mine(k=2)"] and got[0].hits == simulate(tr, "lru", 2).hits

    # a config with a required field has no default to compare with: its label shows every field (building
    # the default raised TypeError out of simulate)
    @dataclass(frozen=True)
    class Needs:
        k: int
        ratio: float = 0.1

    class Strict(Mine):
        name = "strict"
        config_type = Needs

        def __init__(self, config: Needs) -> None:
            super().__init__(config)

    assert simulate(tr, Strict(Needs(3)), 2).policy == "strict(k=3, ratio=0.1)"
    assert make_policy("s3fifo", small_size_ratio=0.1000001).label == "s3fifo(small_size_ratio=0.1000001)"


def test_a_trace_keeps_its_own_sizes() -> None:
    """The sizes are copied: changing the caller's array afterwards does not change the checked trace."""
    sizes = np.array([5, 6])
    tr = RequestTrace.from_arrays([0.0, 1.0], [1, 2], sizes)
    sizes[0] = 0
    assert tr.sizes.tolist() == [5, 6]


def test_lru_is_fast() -> None:
    """The speed target is measured by the benchmark; this only guards against a gross regression."""
    rng = np.random.default_rng(1)
    n = 400_000
    ids = rng.zipf(1.2, size=n) % 50_000
    tr = RequestTrace.from_arrays(np.arange(n, dtype=float), ids, np.ones(n, np.int64))
    best = max(simulate(tr, "lru", 5000).requests_per_s for _ in range(3))
    assert best > 1e6


def test_public_api() -> None:
    import reelkit.stream.cache as cache

    required = {
        "RequestTrace",
        "read_trace",
        "write_trace",
        "simulate",
        "SimResult",
        "make_policy",
        "available_policies",
        "parse_capacity",
        "synthesize",
        "trace_from_events",
        "CachePolicy",
        "offline_upper_bound",
    }
    assert required <= set(cache.__all__)
    assert all(hasattr(cache, name) for name in cache.__all__)


def test_tinylfu_with_a_capacity_far_past_the_catalogue() -> None:
    """The sketch was sized by capacity / mean size: 10 TB over a 5 MB catalogue ran out of memory."""
    rng = np.random.default_rng(0)
    n = 5000
    trace = RequestTrace.from_arrays(np.arange(n, dtype=float), rng.zipf(1.2, n) % 500, np.full(n, 1000))
    whole = simulate(trace, "tinylfu", 10**13)
    assert whole.hits == simulate(trace, "tinylfu", 10**9).hits == n - len(np.unique(trace.objects))


@pytest.mark.parametrize(
    ("warmup", "expected"), [("29%", 29), ("57%", 57), ("58%", 58), (0.57, 57), (0.015, 1), ("1.9%", 1)]
)
def test_a_warmup_share_is_not_a_request_short(warmup: object, expected: int) -> None:
    """0.29 x 100 is 28.999999999999996 in floating point: 29% of 100 requests warmed up 28. A share is
    cut to whole requests, not rounded: 1.5% and 1.9% of 100 are 1."""
    trace = RequestTrace.from_arrays(np.arange(100, dtype=float), np.arange(100) % 7, np.ones(100, np.int64))
    assert warmup_requests(trace, warmup) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("warmup", ["99.99999999999%", 0.9999999999999, "3s", "1d"])
def test_a_warmup_share_that_rounds_to_every_request_is_refused_as_a_duration_is(warmup: object) -> None:
    """0.9999999999999 of 3 requests is 3 after the hair over; it measured nothing (null ratios) where a
    duration over the whole trace is refused. Both say the warm-up covers the whole trace; 2/3 is taken."""
    trace = RequestTrace.from_arrays([0.0, 1.0, 2.0], [1, 2, 1], [5, 5, 5])
    with pytest.raises(ConfigError, match=r"covers the whole trace .*nothing is left to measure"):
        warmup_requests(trace, warmup)  # type: ignore[arg-type]
    assert warmup_requests(trace, 0.6666666666666666) == 2
    assert simulate(trace, "lru", 20, warmup="66.67%").measured_requests == 1


def test_breakdowns_add_up_to_the_totals_past_2_53_bytes() -> None:
    """Per-hour and per-region byte counts went through float64 and lost the last bytes."""
    s = 2**53 + 1
    trace = RequestTrace.from_arrays([0.0, 1.0, 2.0], [1, 1, 2], [s, s, 3], regions=[0, 0, 1])
    r = simulate(trace, "lru", 2**60)
    assert r.bytes_requested == 2 * s + 3 and r.bytes_hit == s
    for part in (r.hourly, r.by_region):
        assert part is not None
        assert int(part.bytes_requested.sum()) == r.bytes_requested
        assert int(part.bytes_hit.sum()) == r.bytes_hit


def test_byte_ratios_count_the_measured_requests_only() -> None:
    """Pins the warm-up's byte accounting by hand: A A B B (10, 10, 1, 1 bytes) with half the requests as
    warm-up measures B's miss and hit, 2 bytes of which 1 hit (counting the warm-up's 20 bytes too read
    byte_hit_ratio 1 / 22)."""
    trace = RequestTrace.from_arrays(np.arange(4.0), [1, 1, 2, 2], [10, 10, 1, 1])
    r = simulate(trace, "lru", 100, warmup=0.5)
    assert (r.warmup_requests, r.measured_requests, r.hits) == (2, 2, 1)
    assert (r.bytes_requested, r.bytes_hit) == (2, 1)
    assert r.hit_ratio == 0.5 and r.byte_hit_ratio == 0.5
    assert int(r.hourly.bytes_requested.sum()) == 2


def test_a_duration_warmup_ends_before_a_request_on_its_boundary() -> None:
    """Pins the half-open warm-up [t0, t0 + duration): a request exactly one hour after the first is the
    measured period's first, as it is the second hourly window's (``hourly`` floors (t - t0) / 3600)."""
    trace = RequestTrace.from_arrays([0.0, 1800.0, 3600.0, 3600.0, 5400.0], [1, 2, 1, 2, 3], [1, 1, 1, 1, 1])
    assert warmup_requests(trace, "1h") == warmup_requests(trace, "3600s") == 2
    assert warmup_requests(trace, "30m") == 1
    r = simulate(trace, "lru", 10, warmup="1h")
    assert (r.measured_requests, r.hits) == (3, 2)
    assert r.hourly.key.tolist() == [3600.0] and r.hourly.requests.tolist() == [3]


@pytest.mark.parametrize("in_time_order", [True, False])
def test_hourly_windows_equal_a_count_window_by_window(in_time_order: bool) -> None:
    """The hourly counts (runs of equal windows when the trace is in time order, a sort otherwise) equal
    counting each window's measured requests, hits and bytes one window at a time, with and without a
    warm-up; in 64-bit integers."""
    rng = np.random.default_rng(3)
    for _ in range(60):
        n = int(rng.integers(1, 300))
        ts = rng.uniform(0, float(rng.choice([10, 5000, 1e6])), n)
        ts = np.sort(ts) if in_time_order else ts
        ids, sz = rng.integers(0, 30, n), rng.integers(1, 100, n)
        tr = RequestTrace.from_arrays(ts, ids, sz)
        for warm in (0.0, 0.3):
            r = simulate(tr, "lru", 300, warmup=warm)
            k = warmup_requests(tr, warm)
            origin = np.floor(ts.min() / 3600) * 3600
            win, hit, size = np.floor((ts[k:] - origin) / 3600), r.hit_mask[k:], sz[k:]
            want = [
                (origin + 3600 * w, (win == w).sum(), hit[win == w].sum(), size[win == w].sum(),
                 size[(win == w) & hit].sum())
                for w in sorted(set(win.tolist()))
            ]  # fmt: skip
            h = r.hourly
            assert list(zip(h.key, h.requests, h.hits, h.bytes_requested, h.bytes_hit, strict=True)) == want
            assert {a.dtype for a in (h.requests, h.hits, h.bytes_requested, h.bytes_hit)} == {
                np.dtype(np.int64)
            }


def test_a_share_of_the_trace_below_one_byte_is_said() -> None:
    """5% of a 4-byte working set is a cache of 0 bytes: the capacity is still 0 (as asked), with a warning
    naming why every request misses; 0% asks for nothing and is not warned about."""
    import warnings

    from reelkit.errors import ReelkitWarning

    tr = RequestTrace.from_arrays([0.0, 1.0, 2.0], ["a", "b", "a"], [1, 3, 1])
    with pytest.warns(ReelkitWarning, match=r"'5%': 5% of the trace's 4 bytes is less than one byte"):
        assert parse_capacity("5%", tr) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert parse_capacity("0%", tr) == 0 and parse_capacity("25%", tr) == 1


def test_a_workload_or_a_bad_window_is_refused_before_the_run() -> None:
    """A Workload (what ``synthesize`` returns) where its trace is meant failed on a missing attribute (the
    package's own example passed one); a NaN window came back as one window keyed NaN, after the run."""
    from reelkit.stream.cache import SynthConfig, offline_upper_bound, synthesize

    work = synthesize(SynthConfig(seed=0, days=1, n_titles=20, views_per_day=100, n_members=50))
    for call in (
        lambda: simulate(work, "lru", "5%"),  # type: ignore[arg-type]
        lambda: compare(work, ["lru"], ["5%"]),  # type: ignore[arg-type]
        lambda: offline_upper_bound(work, "5%"),  # type: ignore[arg-type]
    ):
        with pytest.raises(
            ConfigError, match=r"expected a RequestTrace, got Workload \(a Workload: pass its "
        ):
            call()
    assert simulate(work.trace, "lru", "5%").requests == work.trace.n_requests
    for window in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="window_s must be a finite number of seconds > 0"):
            simulate(_trace(), "lru", "5%", window_s=window)


def test_the_upper_bound_is_exact_on_hand_traces_and_never_below_a_policy() -> None:
    """One object of 10 bytes requested 4 times on a 10-byte disk: 3 hits of 4 (the first is a cold miss), the
    bound 0.75, what LRU gets. An object that changes size after the warm-up (1, 2, 1, 1 at 20 bytes, 2, 1 on
    100 bytes, warm-up 2 requests): every measured request can hit, bound 1.0. A bound charged one byte too
    many per kept interval, or counting the size change from the warm-up's side, fell below LRU."""
    from reelkit.stream.cache.sim import offline_upper_bound

    one = RequestTrace.from_arrays(np.arange(4.0), [1, 1, 1, 1], [10] * 4)
    assert offline_upper_bound(one, 10).hit_ratio == 0.75 == simulate(one, "lru", 10).hit_ratio
    varying = RequestTrace.from_arrays(np.arange(6.0), [1, 2, 1, 1, 2, 1], [10, 10, 10, 20, 10, 10])
    warm = 2 / 6 + 1e-6
    bound = offline_upper_bound(varying, 100, warmup=warm).hit_ratio
    assert bound == 1.0 and bound >= simulate(varying, "lru", 100, warmup=warm).hit_ratio


def test_a_warm_up_in_minutes_is_sixty_seconds_a_minute() -> None:
    tr = RequestTrace.from_arrays(np.arange(3600.0), np.arange(3600) % 10, np.full(3600, 100))
    assert warmup_requests(tr, "30m") == warmup_requests(tr, "1800s") == warmup_requests(tr, "0.5h") == 1800
