"""The download advisor: a fast network streams, a slow one downloads or waits for the right hour."""

from __future__ import annotations

import numpy as np
import pytest

from reelkit.errors import ConfigError, EmptyDataError, ReelkitWarning
from reelkit.stream.advice import AdviceConfig, NetworkProfile, TitleToWatch, advise

DAY = 86400.0
BASE = 19676 * DAY  # a midnight, UTC
CFG = AdviceConfig(sessions=8, max_session_s=600.0)


def _samples(hours: list[int], mbps: float, days: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """One sample every 5 s for 10 minutes at each given hour on each day."""
    t = np.array(
        [BASE + d * DAY + h * 3600 + k * 5.0 for d in range(days) for h in hours for k in range(120)]
    )
    return t, np.full(len(t), mbps)


def _profile(*parts: tuple[list[int], float]) -> NetworkProfile:
    ts = np.concatenate([_samples(h, m)[0] for h, m in parts])
    bs = np.concatenate([_samples(h, m)[1] for h, m in parts])
    return NetworkProfile.from_samples(ts, bs)


FILM = TitleToWatch("film", 7200.0, "A film", "top pick")


def test_fast_network_streams() -> None:
    prof = _profile((list(range(24)), 50.0))
    res = advise(prof, [FILM], quality_kbps=4300, now_s=BASE + 20 * 3600, config=CFG)
    t = res.titles[0]
    assert res.hour == 20
    assert res.median_mbps_now == pytest.approx(50.0)
    assert t.action == "stream"
    assert t.hold_probability_now == 1.0
    assert t.best_streamable_kbps == 4300.0


def test_quality_between_rungs_uses_the_rung_below() -> None:
    prof = _profile((list(range(24)), 50.0))
    assert advise(prof, [FILM], quality_kbps=3000, now_s=BASE, config=CFG).titles[0].quality_kbps == 2850.0


def test_quality_above_the_top_rung_says_it_uses_the_top() -> None:
    prof = _profile((list(range(24)), 50.0))
    with pytest.warns(ReelkitWarning, match="above the top rung: advising at 4300 kbps"):
        res = advise(prof, [FILM], quality_kbps=20000, now_s=BASE, config=CFG)
    assert res.titles[0].quality_kbps == 4300.0


def test_slow_network_short_title_downloads() -> None:
    prof = _profile((list(range(24)), 3.0))
    short = TitleToWatch("ep", 1200.0, "An episode", "next episode")
    t = advise(prof, [short], quality_kbps=4300, now_s=BASE + 20 * 3600, config=CFG).titles[0]
    assert t.action == "download"
    assert t.hold_probability_now == 0.0
    # 1200 s x 4.3 Mbit/s over the 3 Mbit/s measured
    assert t.download_s_now == pytest.approx(1200 * 4.3 / 3.0, rel=1e-6)
    # 2850 kbit/s needs 3.8 s per 4-s chunk at the 3 Mbit/s the player measures: it holds
    assert t.best_streamable_kbps == 2850.0


def test_the_download_time_is_judged_on_the_hours_median_not_its_mean() -> None:
    """Pins the median: 7 samples at 2 Mbit/s and 3 at 100 (mean 31.4) say 2 Mbit/s now, so 600 s at
    4300 kbps downloads in 600 x 4.3 / 2 = 1290 s (the mean would promise 82 s)."""
    t = BASE + 20 * 3600 + 5.0 * np.arange(10)
    prof = NetworkProfile.from_samples(t, [2.0] * 7 + [100.0] * 3)
    ep = TitleToWatch("ep", 600.0, "An episode", "next episode")
    res = advise(prof, [ep], quality_kbps=4300, now_s=BASE + 20 * 3600, config=CFG)
    assert res.median_mbps_now == 2.0
    assert res.titles[0].download_s_now == pytest.approx(600 * 4.3 / 2.0)


def test_slow_evening_waits_for_the_fast_night() -> None:
    # 1 Mbit/s in the evening (18-22 h), 50 Mbit/s in the early morning (02-06 h), nothing else measured
    prof = _profile(([18, 19, 20, 21, 22], 1.0), ([2, 3, 4, 5, 6], 50.0))
    t = advise(prof, [FILM], quality_kbps=4300, now_s=BASE + 20 * 3600 + 60, config=CFG).titles[0]
    assert t.action == "wait"
    # 21-23 h see only the slow samples (within an hour), 00 h none; 01 h sees the fast ones from 02 h
    assert t.better_hour == 1
    assert "01:00" in t.message


def test_a_few_fast_samples_are_a_better_hour_when_they_would_be_streamed_on() -> None:
    # the slow evening, and one 25 s session (5 samples) at 50 Mbit/s at 03:00: asked at 03:00 the advice
    # streams on those 5 samples, so asked at 20:01 it must name that hour, not "none seen yet"
    ts, bs = _samples([18, 19, 20, 21, 22], 1.0)
    fast = BASE + 3 * 3600 + np.arange(5) * 5.0
    prof = NetworkProfile.from_samples(np.concatenate([ts, fast]), np.concatenate([bs, np.full(5, 50.0)]))
    assert (
        advise(prof, [FILM], quality_kbps=4300, now_s=BASE + 3 * 3600 + 60, config=CFG).titles[0].action
        == "stream"
    )
    t = advise(prof, [FILM], quality_kbps=4300, now_s=BASE + 20 * 3600 + 60, config=CFG).titles[0]
    assert t.action == "wait" and t.better_hour == 2  # 02 h sees the 03:00 samples within its hour
    assert "around 02:00" in t.message and "none seen" not in t.message


def test_an_hour_with_enough_samples_of_its_own_is_judged_on_them() -> None:
    """Fast (50 Mbit/s) at 03:00 on three days and slow (0.5) at every other hour: the hour's 360 samples
    were pooled with its neighbours' 720 slow ones, so at 03:10 the advice said "wait ... none seen yet"
    and from 20:00 no hour was better. The hour is judged on its own samples."""
    prof = _profile(([h for h in range(24) if h != 3], 0.5), ([3], 50.0))
    res = advise(prof, [FILM], quality_kbps=4300, now_s=BASE + 3 * 3600 + 600, config=CFG)
    assert res.median_mbps_now == 50.0 and res.samples_now == 360 and res.note is None
    assert res.titles[0].action == "stream"
    t = advise(prof, [FILM], quality_kbps=4300, now_s=BASE + 20 * 3600, config=CFG).titles[0]
    assert t.action == "wait" and t.better_hour == 3 and t.message.endswith("around 03:00")


def test_none_seen_yet_is_said_only_when_no_hour_was_faster() -> None:
    """A thin hour (5 samples, fewer than min_samples) is judged with its slow neighbours, so it is no
    better hour; yet its own samples were fast: the advice names them instead of "none seen yet"."""
    ts, bs = _samples([h for h in range(24) if h != 3], 0.5)
    fast = BASE + 3 * 3600 + np.arange(5) * 5.0
    prof = NetworkProfile.from_samples(np.r_[ts, fast], np.r_[bs, np.full(5, 50.0)])
    t = advise(prof, [FILM], quality_kbps=4300, now_s=BASE + 20 * 3600, config=CFG).titles[0]
    assert t.action == "wait" and t.better_hour is None
    assert "none seen" not in t.message
    assert "5 measurement(s) around 03:00 had a median of 50.0 Mbit/s, too few" in t.message
    slow = advise(_profile((list(range(24)), 0.5)), [FILM], quality_kbps=4300, now_s=BASE, config=CFG)
    assert slow.titles[0].message.endswith("on a faster network (none seen yet)")


def test_an_hour_where_the_download_would_finish_is_a_better_hour() -> None:
    """Pins the better hour as one where streaming holds or the download fits the deadline: 1200 s at
    4300 kbps take 1.4 h at 1 Mbit/s now (20:00) and 1720 s at the 3 Mbit/s seen from 01:00 (02:00 within
    the hour), where 4300 kbps never streams."""
    prof = _profile(([18, 19, 20, 21, 22], 1.0), ([2, 3, 4, 5, 6], 3.0))
    short = TitleToWatch("ep", 1200.0)
    t = advise(prof, [short], quality_kbps=4300, now_s=BASE + 20 * 3600, config=CFG).titles[0]
    assert t.action == "wait" and t.better_hour == 1


def test_utc_offset_shifts_the_hour() -> None:
    prof = NetworkProfile.from_samples(*_samples(list(range(24)), 50.0), utc_offset_h=-5.0)
    assert advise(prof, [FILM], quality_kbps=750, now_s=BASE + 20 * 3600, config=CFG).hour == 15


def test_samples_are_read_in_local_hours() -> None:
    """Pins the sign of utc_offset_h: 10:00 UTC is 12:00 at UTC+2 and 07:00 at UTC-3."""
    t = [BASE + 10 * 3600.0]
    assert NetworkProfile.from_samples(t, [5.0], utc_offset_h=2.0).hours().tolist() == [12]
    assert NetworkProfile.from_samples(t, [5.0], utc_offset_h=-3.0).hours().tolist() == [7]


def test_bad_input() -> None:
    prof = _profile((list(range(24)), 50.0))
    with pytest.raises(ConfigError, match="below the lowest rung"):
        advise(prof, [FILM], quality_kbps=100, now_s=BASE, config=CFG)
    with pytest.raises(ConfigError, match="no titles"):
        advise(prof, [], quality_kbps=750, now_s=BASE, config=CFG)
    with pytest.raises(ConfigError, match="duration"):
        advise(prof, [TitleToWatch("x", 0.0)], quality_kbps=750, now_s=BASE, config=CFG)
    with pytest.raises(EmptyDataError):
        NetworkProfile.from_samples([], [])
    with pytest.raises(ConfigError, match="differ in length"):
        NetworkProfile.from_samples([1.0, 2.0], [1.0])
    with pytest.raises(ConfigError, match=">= 0"):
        NetworkProfile.from_samples([1.0], [-1.0])
    # the service's bounds: 2e6 Mbit/s failed later as "bootstrap:1: throughput ...", and a time of 1e300
    # or before 1970 passed
    for t, b in ((BASE, 2e6), (1e300, 5.0), (-60.0, 5.0)):
        with pytest.raises(ConfigError, match=r"sample 2 .*from 1970 to 2100 .* Mbit/s from 0 to 1e\+06"):
            NetworkProfile.from_samples([BASE, t], [5.0, b])
    assert len(NetworkProfile.from_samples([0.0, 4_102_444_800.0], [0.0, 1e6]).times_s) == 2
    with pytest.raises(ConfigError, match="ascending"):
        AdviceConfig(ladder_kbps=(750.0, 300.0))
    # NaN passed the checks (NaN <= 0 is False) and failed deep inside; a negative deadline advised "wait"
    for field, value in (
        ("chunk_s", float("nan")),
        ("max_session_s", float("inf")),
        ("deadline_s", -5.0),
        ("deadline_s", float("nan")),
        ("sessions", 1.5),
        ("hour_window", -3),
        ("min_samples", True),
        ("confidence", float("nan")),
    ):
        with pytest.raises(ConfigError, match=f"^{field} must be"):
            AdviceConfig(**{field: value})  # type: ignore[arg-type]
    assert AdviceConfig(deadline_s=0.0, hour_window=0, sessions=np.int64(3)).sessions == 3


def test_a_measured_throughput_is_not_charged_its_overheads_twice() -> None:
    """A player measuring a steady 2.0 Mbit/s per chunk fetches a 4 s chunk of 1900 kbps (950 kB) in 3.8 s:
    the quality holds (the advice said 'download', holds 0%: it took 5% payload and 80 ms off again)."""
    prof = _profile((list(range(24)), 2.0))
    cfg = AdviceConfig(sessions=8, max_session_s=600.0, ladder_kbps=(300.0, 1850.0, 1900.0, 2100.0))
    holds = advise(prof, [FILM], quality_kbps=1900, now_s=BASE, config=cfg).titles[0]
    assert holds.action == "stream" and holds.hold_probability_now == 1.0
    stalls = advise(prof, [FILM], quality_kbps=2100, now_s=BASE, config=cfg).titles[0]
    assert stalls.action != "stream" and stalls.hold_probability_now == 0.0
    assert stalls.best_streamable_kbps == 1900.0
    # downloading 2 h at 2100 kbps (1.89 GB) at 2.0 Mbit/s takes 2.1 h, the measured rate as it is
    assert stalls.download_s_now == pytest.approx(7200 * 2100 / 2000)


def test_the_hours_own_few_samples_come_before_many_from_another_time() -> None:
    """90 fast samples at 03:00 and 7 slow ones at 15:00: at 15:10 the advice is the slow network's (it
    widened to every sample and said 50 Mbit/s and "download", 154 s, where it takes 4.3 h)."""
    t_night, b_night = _samples([3], 50.0, days=1)
    t_day = BASE - DAY + 15 * 3600 + np.arange(7) * 4.0
    prof = NetworkProfile.from_samples(
        np.concatenate([t_night[:90], t_day]), np.concatenate([b_night[:90], np.full(7, 0.5)])
    )
    res = advise(prof, [FILM], quality_kbps=2850, now_s=BASE + 15 * 3600 + 600, config=CFG)
    assert res.median_mbps_now == 0.5 and res.samples_now == 7 and res.hours_from_now == 0
    assert res.titles[0].action == "wait" and res.note == "the network now is judged on 7 measurement(s) only"
    # none at this hour: judged on the others, and said so
    night = _profile(([3], 50.0))
    res = advise(night, [FILM], quality_kbps=2850, now_s=BASE + 15 * 3600, config=CFG)
    assert res.titles[0].action == "stream" and res.hours_from_now == 12
    assert res.note is not None and res.note.startswith("no measurement(s) within 1 h of 15:00")
    # enough at the hour: no note
    full = _profile((list(range(24)), 50.0))
    assert advise(full, [FILM], quality_kbps=2850, now_s=BASE + 15 * 3600, config=CFG).note is None


def test_the_note_names_how_far_the_widened_samples_reach() -> None:
    """Pins hours_from_now as the farthest sample used: 2 at 15:00 are too few, so the window widens to the
    120 at 13:00 (2 h away); 8 samples at the hour (min_samples) need no note."""
    t13, b13 = _samples([13], 5.0, days=1)
    t15 = BASE + 15 * 3600 + np.arange(2) * 4.0
    prof = NetworkProfile.from_samples(np.r_[t13, t15], np.r_[b13, 5.0, 5.0])
    res = advise(prof, [FILM], quality_kbps=750, now_s=BASE + 15 * 3600 + 60, config=CFG)
    assert res.hours_from_now == 2 and res.samples_now == 122
    assert res.note is not None and res.note.startswith("only 2 measurement(s) within 1 h of 15:00")
    eight = NetworkProfile.from_samples(BASE + 15 * 3600 + np.arange(8) * 4.0, np.full(8, 5.0))
    res = advise(eight, [FILM], quality_kbps=750, now_s=BASE + 15 * 3600 + 60, config=CFG)
    assert res.samples_now == 8 and res.note is None


def test_a_small_min_samples_is_still_a_config() -> None:
    """min_samples 1 or 2 was refused once min_samples_at_hour (3) came in."""
    prof = _profile((list(range(24)), 50.0))
    for n in (1, 2):
        res = advise(
            prof, [FILM], quality_kbps=4300, now_s=BASE, config=AdviceConfig(min_samples=n, sessions=4)
        )
        assert res.titles[0].action == "stream"
    with pytest.raises(ConfigError, match="min_samples must be a whole number >= 1"):
        AdviceConfig(min_samples=0)


def test_the_advice_stops_each_lost_session_at_its_first_stall(monkeypatch: pytest.MonkeyPatch) -> None:
    """Playing the rest of a lost session was most of the work (a 20-rung request took 371 s)."""
    import reelkit.stream.abr.sim as sim

    seen: list[bool] = []
    real = sim.simulate_levels

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(bool(kwargs.get("stop_at_stall")))
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sim, "simulate_levels", spy)
    prof = _profile((list(range(24)), 0.5))
    advise(prof, [FILM], quality_kbps=4300, now_s=BASE, config=CFG)
    assert seen and all(seen)


def test_the_hold_probability_does_not_depend_on_how_often_the_network_was_sampled() -> None:
    """Each sample was held for one chunk (4 s) whatever its spacing: a network of half-hour slow and fast
    spells read 0.38 sampled every 4 s and 0.79 every 110 s (playing it through gives 0.46). Then samples
    over 2 minutes apart were lone 4-s slices: 0.42-0.54 up to 119 s, 0.875 from 121 s; and a network slow
    (2 Mbit/s) 18 minutes of every hour held 2850 kbps for a 45-min episode 0.13 sampled every minute,
    0.96 ("stream") every 130 s (playing it through from any minute gives 0.27). 240 sessions: with 24 the
    estimate alone varies by +-0.1."""
    base = 19676 * 86400.0
    cfg = AdviceConfig(sessions=240)

    def hold(spacing: float, slow_s: float, slow_mbps: float, duration_s: float) -> float:
        t = np.arange(base, base + 3 * 86400, spacing)
        mbps = np.where((t % 3600) < slow_s, slow_mbps, 10.0)
        advice = advise(
            NetworkProfile.from_samples(t, mbps),
            [TitleToWatch("ep", duration_s)],
            quality_kbps=2850,
            now_s=base + 2 * 86400 + 20 * 3600,
            config=cfg,
        )
        return advice.titles[0].hold_probability_now

    probs = [hold(s, 1800.0, 2.75, 1800.0) for s in (4.0, 60.0, 110.0, 130.0, 300.0)]
    assert max(probs) - min(probs) <= 0.15, probs
    assert all(abs(p - 0.46) <= 0.15 for p in probs), probs
    probs = [hold(s, 1080.0, 2.0, 2700.0) for s in (60.0, 110.0, 130.0, 300.0)]
    assert max(probs) - min(probs) <= 0.15, probs
    assert all(abs(p - 0.27) <= 0.15 for p in probs), probs


def test_each_sample_stands_until_the_next_of_its_run() -> None:
    """A sample stands for the time to the next one of its run (at least a chunk), the last one for its
    run's median gap (not the mean: one long gap would stretch it), and a lone sample for one chunk."""
    from reelkit.stream.advice import _holds

    times = np.array([0.0, 10.0, 20.0, 100.0, 101.0, 500.0])
    runs = [np.array([0, 1, 2, 3, 4]), np.array([5])]
    holds = _holds(times, runs, 4.0)
    # gaps 10, 10, 80, 1 -> 1 held for a chunk (4 s); the last sample holds the median of 10, 10, 80, 4
    assert holds[0].tolist() == [10.0, 10.0, 80.0, 4.0, 10.0]
    assert holds[1].tolist() == [4.0]


def test_samples_taken_every_few_minutes_each_stand_until_the_next() -> None:
    """Samples 150 s apart, alternating 10 and 0.1 Mbit/s, are a network slow half the time in spells of
    2.5 minutes: each stands for its 150 s, and every session of 750 kbps stalls on a slow one (a 60-s buffer
    lasts 60 s; a 4-s chunk takes 30 s at 0.1 Mbit/s). Over 2 minutes apart they were once each a run of
    its own held for one chunk, and the 5 Mbit/s mean was read as carrying 750 kbps (held 1.0)."""
    from reelkit.stream.advice import hold_probability

    t = BASE + np.arange(0, 3 * DAY, 150.0)
    prof = NetworkProfile.from_samples(t, np.where(np.arange(len(t)) % 2 == 0, 10.0, 0.1))
    p, median, _ = hold_probability(prof, 20, 1, 1200.0, AdviceConfig(sessions=16, max_session_s=600.0))
    assert median == pytest.approx(5.05) and p == 0.0


def test_a_run_ends_at_a_gap_of_several_sampling_intervals() -> None:
    """Pins where runs end: a gap over 4 typical (median) intervals, at least 2 minutes, at most 30 minutes;
    a lone sample stands for the typical interval."""
    from reelkit.stream.advice import _holds, _runs

    def split(times: list[float]) -> list[list[int]]:
        t = np.asarray(times)
        return [r.tolist() for r in _runs(t, np.arange(len(t)), 4.0)[0]]

    # every 5 s: a 120-s pause keeps the run, 121 s ends it
    assert split([0, 5, 10, 130, 135, 140, 261, 266]) == [[0, 1, 2, 3, 4, 5], [6, 7]]
    # every 300 s: 1200 s keeps the run, 1201 s ends it
    assert split([0, 300, 600, 900, 2100, 2400, 2700, 3901, 4201]) == [[0, 1, 2, 3, 4, 5, 6], [7, 8]]
    # every 20 minutes: one 31-minute gap ends a run however sparse the sampling
    assert split([0, 1200, 2400, 3600, 5460, 6660]) == [[0, 1, 2, 3], [4, 5]]
    t = np.array([0.0, 300.0, 600.0, 5000.0])
    runs, typical = _runs(t, np.arange(4), 4.0)
    assert typical == 300.0 and _holds(t, runs, 4.0, typical)[1].tolist() == [300.0]


def test_the_hold_probability_falls_with_the_level() -> None:
    """Every level plays the same bootstrapped networks: on a network slow (0.8-1.6 Mbit/s) in about half of
    its runs and fast (3-6) in the rest, a higher rung never holds more often than a lower one (a seed per
    level gave 2850 kbps 0.04 and 1850 kbps 0.00)."""
    from reelkit.stream.advice import hold_probability

    for seed in (3, 12):
        rng = np.random.default_rng(seed)
        t, v = [], []
        for run in range(6):
            lo, hi = (0.8, 1.6) if rng.random() < 0.5 else (3.0, 6.0)
            for k in range(30):
                t.append(BASE + 20 * 3600.0 + run * 2000 + k * 10.0)
                v.append(rng.uniform(lo, hi))
        prof = NetworkProfile.from_samples(t, v)
        ps = [hold_probability(prof, 20, lv, 1200.0, AdviceConfig(seed=seed))[0] for lv in range(6)]
        assert ps == sorted(ps, reverse=True) and ps[0] == 1.0 and ps[-1] < 0.1, (seed, ps)


def _session_lengths(monkeypatch: pytest.MonkeyPatch, titles: list[TitleToWatch]) -> list[int]:
    """The chunk count of every simulated session while advising on ``titles`` on a fast network."""
    import reelkit.stream.abr.sim as sim

    lengths: list[int] = []
    real = sim.simulate_levels

    def spy(levels: np.ndarray, *args: object, **kwargs: object) -> object:
        lengths.append(len(levels))
        return real(levels, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sim, "simulate_levels", spy)
    advise(_profile((list(range(24)), 50.0)), titles, quality_kbps=4300, now_s=BASE, config=CFG)
    return lengths


def test_a_title_is_played_to_its_last_partial_chunk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pins the session length: 10 s of title in 4-s chunks are 3 chunks (a partial last one counts)."""
    lengths = _session_lengths(monkeypatch, [TitleToWatch("clip", 10.0)])
    assert lengths and set(lengths) == {3}


def test_titles_of_nearly_the_same_length_are_judged_each_on_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """7.6 s and 8.4 s of title are 2 and 3 four-second chunks: one's result is not reused for the other."""
    lengths = _session_lengths(monkeypatch, [TitleToWatch("a", 7.6), TitleToWatch("b", 8.4)])
    assert set(lengths) == {2, 3}


def test_a_long_title_is_played_up_to_max_session_s(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pins the cap: a 2-hour film is judged on its first 600 s (CFG), 150 four-second chunks, not 1800."""
    assert set(_session_lengths(monkeypatch, [FILM])) == {150}


def test_a_bootstrapped_trace_starts_at_zero_and_holds_each_sample_its_span() -> None:
    """Pins the trace's times: one run of samples 10 s apart gives 0, 10, 20, ... (each value starts where
    the one before ended, the first at 0)."""
    from reelkit.stream.advice import _bootstrap_trace, _holds

    times = np.arange(0.0, 600.0, 10.0)
    runs = [np.arange(len(times))]
    t, v = _bootstrap_trace(
        np.full(len(times), 2.0), runs, _holds(times, runs, 4.0), 300.0, np.random.default_rng(0)
    )
    assert t[0] == 0.0 and np.diff(t).tolist() == [10.0] * (len(t) - 1) and (v == 2.0).all()


def test_each_bootstrapped_sample_holds_over_its_own_span_as_the_simulator_reads_a_trace() -> None:
    """Samples alternate 1 Mbit/s (the next 100 s later) and 10 Mbit/s (the next 4 s later): a network slow
    96% of the time. The trace's times were the spans' starts, and a Trace holds throughput i over
    (times[i-1], times[i]]: 10 Mbit/s covered the 100 s spans, and the advice said "stream" for 1.2 Mbit/s
    of video on it. Each value now covers its own hold: 1 Mbit/s over 100 s, 10 Mbit/s over 4 s."""
    from reelkit.stream.abr.traces import Trace
    from reelkit.stream.advice import _bootstrap_trace, _holds

    times = np.concatenate([[0.0], np.cumsum(np.tile([100.0, 4.0], 40))[:-1]])  # 0, 100, 104, 204, ...
    mbps = np.tile([1.0, 10.0], 40) + np.arange(80) * 1e-4  # each sample told apart by its value
    runs = [np.arange(len(times))]
    holds = _holds(times, runs, 4.0)
    own = dict(zip(mbps.tolist(), holds[0].tolist(), strict=True))  # (the run's last: its median, 100 s)
    t, v = _bootstrap_trace(mbps, runs, holds, 2000.0, np.random.default_rng(3))
    trace = Trace(t, v)
    slow = 0.0
    for span, value in zip(np.diff(trace.times_s), trace.mbps[1:], strict=True):
        assert span == own[value]  # every sample over its own hold
        slow += span if value < 5 else 0.0
    assert slow / trace.times_s[-1] > 0.85
    # and the simulator plays it so: 1.2 Mbit/s of video stalls on the slow spans
    prof = NetworkProfile.from_samples(BASE + times, mbps)
    slow = advise(prof, [TitleToWatch("ep", 1800.0)], quality_kbps=1200, now_s=BASE + 2000, config=CFG)
    assert slow.titles[0].hold_probability_now < 0.8


def test_a_network_that_is_always_down_waits() -> None:
    """Pins outages (0 Mbit/s) as a network that carries nothing: no quality holds and the download is
    timed at 1 byte/s (300 kbps x 600 s = 22.5 MB: 22.5e6 s), not a refused trace."""
    prof = NetworkProfile.from_samples(*_samples(list(range(24)), 0.0))
    t = advise(prof, [TitleToWatch("ep", 600.0)], quality_kbps=300, now_s=BASE, config=CFG).titles[0]
    assert t.action == "wait" and t.hold_probability_now == 0.0 and t.better_hour is None
    assert t.download_s_now == pytest.approx(22.5e6) and t.best_streamable_kbps is None


def test_hours_of_the_day_wrap_at_midnight() -> None:
    """Pins hours_from: 00:00 and 22:00 are one hour from 23:00, noon eleven."""
    prof = NetworkProfile.from_samples(BASE + np.array([0.0, 12.0, 22.0]) * 3600, [5.0, 5.0, 5.0])
    assert prof.hours_from(23).tolist() == [1, 11, 1]


def test_a_hold_probability_at_the_confidence_streams() -> None:
    """Pins "stream" as p >= confidence: with confidence 1, a network that never stalls streams."""
    prof = _profile((list(range(24)), 50.0))
    cfg = AdviceConfig(sessions=8, max_session_s=600.0, confidence=1.0)
    assert (
        advise(prof, [FILM], quality_kbps=4300, now_s=BASE + 20 * 3600, config=cfg).titles[0].action
        == "stream"
    )


def test_a_download_ending_at_the_deadline_is_advised() -> None:
    """Pins "download" as download time <= deadline: 1200 s at 4300 kbps over 3 Mbit/s takes 1720 s."""
    prof = _profile((list(range(24)), 3.0))
    short = TitleToWatch("ep", 1200.0, "An episode", "next episode")
    cfg = AdviceConfig(sessions=8, max_session_s=600.0, deadline_s=1720.0)
    t = advise(prof, [short], quality_kbps=4300, now_s=BASE + 20 * 3600, config=cfg).titles[0]
    assert t.download_s_now == pytest.approx(1720.0) and t.action == "download"


def test_the_next_hour_can_be_the_better_hour() -> None:
    """Pins the search for a better hour to start at the next hour (21:00 when it is 20:00)."""
    prof = _profile(([h for h in range(24) if h != 21], 1.0), ([21], 50.0))
    cfg = AdviceConfig(sessions=8, max_session_s=600.0, hour_window=0)
    t = advise(prof, [FILM], quality_kbps=4300, now_s=BASE + 20 * 3600, config=cfg).titles[0]
    assert t.action == "wait" and t.better_hour == 21


def test_the_hour_before_now_can_be_the_better_hour() -> None:
    """Pins the search for a better hour to reach 23 hours ahead (19:00 tomorrow when it is 20:00)."""
    prof = _profile(([h for h in range(24) if h != 19], 1.0), ([19], 50.0))
    cfg = AdviceConfig(sessions=8, max_session_s=600.0, hour_window=0)
    t = advise(prof, [FILM], quality_kbps=4300, now_s=BASE + 20 * 3600, config=cfg).titles[0]
    assert t.action == "wait" and t.better_hour == 19


# ------------------------------------------------------------- boundaries a mutation pass found unpinned
_MIDNIGHT = 1_700_000_000 - 1_700_000_000 % 86400  # a UTC midnight
_H = 3600.0


def test_a_network_that_holds_only_the_lowest_rung_says_that_rung_streams() -> None:
    """0.6 Mbit/s asked 750 kbps: 300 kbps (the ladder's lowest) is what streams; a search that stopped
    above the lowest rung said nothing did."""
    t = _MIDNIGHT + np.arange(60) * 60.0
    a = advise(
        NetworkProfile.from_samples(t, np.full(60, 0.6)),
        [TitleToWatch("x", 600.0)],
        quality_kbps=750,
        now_s=_MIDNIGHT + 600,
    )
    assert a.titles[0].best_streamable_kbps == 300.0


def test_a_faster_hour_is_named_when_its_download_fits_though_it_cannot_stream() -> None:
    """Slow (0.1 Mbit/s) from 00:00 to 11:00, one 2 Mbit/s measurement at 18:00: 4300 kbps streams nowhere,
    but at 2 Mbit/s a 600 s title downloads in time: that hour is the one to wait for."""
    ts = [_MIDNIGHT + h * _H + i * 60.0 for h in range(12) for i in range(20)] + [_MIDNIGHT + 18 * _H + 60.0]
    mbps = [0.1] * (len(ts) - 1) + [2.0]
    a = advise(
        NetworkProfile.from_samples(ts, mbps),
        [TitleToWatch("x", 600.0)],
        quality_kbps=4300,
        now_s=_MIDNIGHT + 5 * _H + 30,
    )
    (title,) = a.titles
    assert title.action == "wait" and "around 18:00 had a median of 2.0 Mbit/s" in title.message


def test_an_hour_with_exactly_min_samples_is_judged_on_them_alone() -> None:
    """8 measurements (min_samples) at 03:00 of 5 Mbit/s and 20 at 04:00 of 0.2: 03:00 is judged on its own
    8 (stream), not pooled with the next hour's (download)."""
    ts = [_MIDNIGHT + 3 * _H + i * 60.0 for i in range(8)] + [
        _MIDNIGHT + 4 * _H + i * 60.0 for i in range(20)
    ]
    a = advise(
        NetworkProfile.from_samples(ts, [5.0] * 8 + [0.2] * 20),
        [TitleToWatch("x", 600.0)],
        quality_kbps=750,
        now_s=_MIDNIGHT + 3 * _H + 30,
    )
    assert AdviceConfig().min_samples == 8
    assert a.samples_now == 8 and a.median_mbps_now == 5.0 and a.titles[0].action == "stream"


def test_measurements_one_window_away_are_within_reach() -> None:
    """None at 03:00, 5 at 04:00 (hour_window 1 h away): judged on those 5, said as few, not as taken
    from beyond the window ("measure at this hour")."""
    ts = [_MIDNIGHT + 4 * _H + i * 60.0 for i in range(5)]
    a = advise(
        NetworkProfile.from_samples(ts, [5.0] * 5),
        [TitleToWatch("x", 600.0)],
        quality_kbps=750,
        now_s=_MIDNIGHT + 3 * _H + 30,
    )
    assert a.samples_now == 5 and a.hours_from_now == 1
    assert a.note == "the network now is judged on 5 measurement(s) only"
