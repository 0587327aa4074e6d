"""Workloads: viewing events to requests, and the synthetic VoD generator's stated properties."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reelkit.errors import (
    ConfigError,
    DataFormatError,
    EmptyDataError,
    MissingColumnsError,
    TimestampUnitWarning,
)
from reelkit.stream.cache import (
    AbrChoice,
    SynthConfig,
    catalog_path,
    default_ladder,
    read_object_catalog,
    read_trace,
    synthesize,
    trace_from_events,
    write_trace,
)
from reelkit.stream.cache.workload import Workload, decode_object_ids

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _events() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "member_id": ["m1", "m1", "m2", "m2"],
            "title_id": ["A", "B", "A", "B"],
            "timestamp": [1000, 5000, 2000, 9000],
            "kind": ["rating", "play", "play", "play"],
            "value": [4.0, np.nan, 1800.0, 600.0],
            "fraction": [np.nan, 0.5, np.nan, np.nan],
        }
    )


def test_events_to_whole_files() -> None:
    wl = trace_from_events(_events(), durations={"A": 3600.0, "B": 7200.0})
    tr = wl.trace
    assert tr.n_requests == 4  # one object per view
    assert np.all(np.diff(tr.timestamps) >= 0)
    title, rend, chunk = decode_object_ids(tr.original_ids[tr.objects])
    assert np.array_equal(title, wl.request_title) and np.array_equal(rend, wl.request_rendition)
    assert (chunk == 0).all()
    # size = duration x bitrate x the title's complexity factor / 8
    expect = wl.title_duration_s[title] * wl.ladder.bitrates[rend] * wl.title_complexity[title] / 8
    assert np.allclose(tr.sizes, np.round(expect))
    assert wl.title_ids.tolist() == ["A", "B"]


def test_events_to_chunks_follow_what_was_watched() -> None:
    wl = trace_from_events(_events(), chunk_s=60.0, durations={"A": 3600.0, "B": 7200.0})
    title, _, chunk = decode_object_ids(wl.trace.original_ids[wl.trace.objects])
    t = wl.trace.timestamps
    # m1 rated A at 1000 (a full view: 60 chunks); m1 played half of B at 5000 (60 chunks); m2 played 1800 s
    # of A at 2000 (30 chunks) and 600 s of B at 9000 (10 chunks)
    assert wl.trace.n_requests == 60 + 60 + 30 + 10
    first_view = (t >= 1000) & (t < 1000 + 3600) & (title == 0)
    assert sorted(chunk[first_view & (t < 2000)].tolist()) == list(range(17))  # paced at 60 s a chunk
    assert chunk.max() == 59
    # chunk requests are spaced by the chunk duration
    m2b = (t >= 9000) & (title == 1)
    assert np.allclose(np.diff(t[m2b]), 60.0)


def test_a_part_watched_chunk_is_requested_and_the_last_chunk_holds_the_rest() -> None:
    """Pins chunks = ceil(watched / chunk_s) and a last chunk of the title's remainder only (150 s at 60 s
    chunks: 60, 60 and 30 s of video; 70 s watched: 2 chunks)."""
    ev = pd.DataFrame(
        {
            "member_id": ["m1", "m2"],
            "title_id": ["A", "A"],
            "timestamp": [0, 10_000],
            "kind": ["rating", "play"],
            "value": [4.0, 70.0],
        }
    )
    wl = trace_from_events(ev, chunk_s=60.0, durations={"A": 150.0})
    tr = wl.trace
    rate = wl.ladder.bitrates[wl.request_rendition] * wl.title_complexity[0] / 8  # bytes per second
    _, _, chunk = decode_object_ids(tr.original_ids[tr.objects])
    assert chunk.tolist() == [0, 1, 2, 0, 1]
    np.testing.assert_array_equal(tr.sizes, np.round(rate * [60.0, 60.0, 30.0, 60.0, 60.0]))


def test_default_ladder_and_title_bytes() -> None:
    """Pins the default ladder (235 kbit/s at 240p to 5.8 Mbit/s at 1080p, bits per second) and a title's
    bytes as every rung's: an hour at complexity c is 3600 x c x 14,295,000 / 8 bytes."""
    lad = default_ladder()
    assert lad.bitrates.tolist() == [235e3, 560e3, 1050e3, 2350e3, 4300e3, 5800e3]
    assert [r.height for r in lad.renditions] == [240, 360, 480, 720, 1080, 1080]
    wl = trace_from_events(_events(), durations={"A": 3600.0, "B": 7200.0})
    want = np.array([3600.0, 7200.0]) * wl.title_complexity * 14_295_000 / 8
    np.testing.assert_allclose(wl.title_bytes(), want)


def test_a_plays_fraction_wins_over_its_seconds() -> None:
    """Pins the documented precedence: a play with both a fraction (0.25 of an hour: 15 one-minute chunks)
    and a value (600 s: 10 chunks) covers its fraction."""
    ev = pd.DataFrame(
        {
            "member_id": ["m1"],
            "title_id": ["A"],
            "timestamp": [0],
            "kind": ["play"],
            "value": [600.0],
            "fraction": [0.25],
        }
    )
    wl = trace_from_events(ev, chunk_s=60.0, durations={"A": 3600.0})
    assert wl.trace.n_requests == 15


def test_the_seed_redraws_the_abr_choices_not_the_titles() -> None:
    """Pins --seed to the ABR draws only: seeds 0 and 1 give 40 views of A and B the same title durations
    and complexities (those seed 0 always gave: A 7089.9 s at 1.1468, B 5755.4 s at 1.2681), so every
    (title, rendition) file has one size across seeds, while the renditions fetched differ."""
    ev = pd.DataFrame(
        {
            "member_id": [f"m{i}" for i in range(40)],
            "title_id": ["A", "B"] * 20,
            "timestamp": np.arange(40) * 100,
            "kind": "rating",
        }
    )
    w0, w1 = trace_from_events(ev, seed=0), trace_from_events(ev, seed=1)
    for wl in (w0, w1):
        np.testing.assert_allclose(wl.title_duration_s, [7089.907889203479, 5755.420303127797], rtol=1e-12)
        np.testing.assert_allclose(wl.title_complexity, [1.146812060505302, 1.268070324117212], rtol=1e-12)
    sizes: dict[int, int] = {}
    for wl in (w0, w1):
        for obj, size in zip(wl.trace.original_ids[wl.trace.objects], wl.trace.sizes, strict=True):
            assert sizes.setdefault(int(obj), int(size)) == int(size)
    assert not np.array_equal(w0.request_rendition, w1.request_rendition)


def test_a_title_may_have_exactly_2_18_chunks() -> None:
    """Pins the chunk-count limit to the 18 bits of the object id's chunk field: a title of 2^18 one-second
    chunks is taken, one of 2^18 + 1 refused."""
    ev = pd.DataFrame(
        {"member_id": ["m"], "title_id": ["A"], "timestamp": [0], "kind": ["play"], "value": [2.0]}
    )
    wl = trace_from_events(ev, chunk_s=1.0, durations={"A": float(2**18)})
    assert wl.trace.n_requests == 2
    with pytest.raises(ConfigError, match="more than 262144 chunks"):
        trace_from_events(ev, chunk_s=1.0, durations={"A": float(2**18 + 1)})


def test_views_split_into_more_requests_than_a_trace_may_hold_are_refused_first() -> None:
    """1,000 two-hour views in 50 ms chunks would be 144M requests (about 14 GB to build): refused at once,
    naming the chunk size that fits; 1 s chunks (7.2M) are taken."""
    from reelkit.stream.cache.workload import MAX_TRACE_REQUESTS

    ev = pd.DataFrame({"member_id": [f"m{i}" for i in range(1000)], "title_id": "A", "timestamp": 0})
    with pytest.raises(
        ConfigError, match=r"144,000,000 requests, more than the 100,000,000 .* at least 0.072 s"
    ):
        trace_from_events(ev, chunk_s=0.05, durations={"A": 7200.0})
    assert MAX_TRACE_REQUESTS == 100_000_000
    assert trace_from_events(ev[:10], chunk_s=1.0, durations={"A": 7200.0}).trace.n_requests == 72_000


def test_the_chunk_size_advised_fits_and_none_is_advised_when_none_fits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the limit at 1,000: 600 plays of a few seconds (one request each whatever the chunk) and one whole
    view make 6,356 requests in 1 s chunks; the advice, found by bisection, is a size that fits (scaling 1 s
    by 6,356 / 1,000 advised 6.4 s, refused again, four times over). 1,500 views cannot fit at any size."""
    import reelkit.stream.cache.workload as workload

    monkeypatch.setattr(workload, "MAX_TRACE_REQUESTS", 1000)
    plays = pd.DataFrame(
        {"member_id": [f"m{i}" for i in range(601)], "title_id": ["A"] * 600 + ["B"], "timestamp": 0,
         "kind": "play", "fraction": [1e-4] * 600 + [1.0]}
    )  # fmt: skip
    with pytest.raises(ConfigError, match=r"6,356 requests.*use chunks of at least ([\d.]+) s") as info:
        trace_from_events(plays, chunk_s=1.0)
    advised = float(str(info.value).split("at least ")[1].split(" s")[0])
    assert trace_from_events(plays, chunk_s=advised).trace.n_requests <= 1000
    assert advised >= 10  # the scaled guess (6.4 s) makes 1,500 requests
    many = pd.DataFrame({"member_id": [f"m{i}" for i in range(1500)], "title_id": "A", "timestamp": 0})
    with pytest.raises(ConfigError, match="even one request a view is too many: use fewer views, or whole"):
        trace_from_events(many, chunk_s=1e4)
    assert trace_from_events(many).trace.n_requests == 1500  # whole files: one request a view


def test_abr_choice() -> None:
    lad = default_ladder()
    rng = np.random.default_rng(0)
    slow = AbrChoice(median_mbps=1.0).choose(lad, np.arange(500), 500, rng)
    fast = AbrChoice(median_mbps=50.0).choose(lad, np.arange(500), 500, rng)
    assert slow.mean() < fast.mean()
    assert (fast == len(lad) - 1).mean() > 0.8
    # the rule: highest rung whose bitrate <= safety x harmonic mean throughput
    one = AbrChoice(median_mbps=3.0, member_sigma=0.0, session_sigma=0.0, safety=1.0)
    assert one.choose(lad, np.zeros(1, np.int64), 1, rng).tolist() == [3]  # 2.35 Mbit/s <= 3 < 4.3
    hook = AbrChoice(picker=lambda bitrates, thr: np.zeros(len(thr), np.int64))
    assert (hook.choose(lad, np.arange(10), 10, rng) == 0).all()
    bad = AbrChoice(picker=lambda bitrates, thr: np.full(len(thr), 99))
    with pytest.raises(ConfigError, match="picker"):
        bad.choose(lad, np.arange(3), 3, rng)


def test_abr_choice_takes_the_highest_rung_at_most_safety_times_the_harmonic_mean() -> None:
    """Pins the rule on each session's own samples: the harmonic mean (not the arithmetic), x safety, and a
    rung whose bitrate equals it is taken ("at most")."""
    lad = default_ladder()
    seen: list[np.ndarray] = []

    def capture(bitrates: np.ndarray, thr: np.ndarray) -> np.ndarray:
        seen.append(thr)
        return np.zeros(len(thr), np.int64)

    members = np.arange(400, dtype=np.int64)
    AbrChoice(median_mbps=3.0, session_sigma=1.0, picker=capture).choose(
        lad, members, 400, np.random.default_rng(3)
    )
    got = AbrChoice(median_mbps=3.0, session_sigma=1.0).choose(lad, members, 400, np.random.default_rng(3))
    (thr,) = seen  # the same draws: the same seed and draw order
    hm = np.array([len(row) / sum(1.0 / x for x in row) for row in thr])
    want = [max([0] + [i for i, b in enumerate(lad.bitrates) if b <= 0.8 * h]) for h in hm]
    assert got.tolist() == want
    # 2.35 Mbit/s of throughput at safety 1 is exactly the 720p rung's bitrate: 720p, not 480p
    exact = AbrChoice(median_mbps=2.35, member_sigma=0.0, session_sigma=0.0, safety=1.0)
    assert exact.choose(lad, np.zeros(1, np.int64), 1, np.random.default_rng(0)).tolist() == [3]


def test_events_bad_input() -> None:
    with pytest.raises(MissingColumnsError):
        trace_from_events(pd.DataFrame({"member_id": ["a"], "timestamp": [1]}))
    with pytest.raises(EmptyDataError):
        trace_from_events(_events(), kinds=("thumb",))
    with pytest.raises(ConfigError):
        trace_from_events(_events(), chunk_s=0)


@pytest.fixture(scope="module")
def synth() -> Workload:
    return synthesize(SynthConfig(seed=11, days=4, n_titles=600, views_per_day=6000))


def test_synth_is_seeded(synth: Workload) -> None:
    cfg = SynthConfig(seed=11, days=4, n_titles=600, views_per_day=6000)
    again = synthesize(cfg)
    assert np.array_equal(again.trace.objects, synth.trace.objects)
    assert np.array_equal(again.trace.timestamps, synth.trace.timestamps)
    other = synthesize(SynthConfig(seed=12, days=4, n_titles=600, views_per_day=6000))
    assert not np.array_equal(other.trace.sizes[:100], synth.trace.sizes[:100])


def test_synth_daily_cycle_and_regions(synth: Workload) -> None:
    wl = synth
    tr = wl.trace
    cfg = SynthConfig()
    assert tr.regions is not None and tr.n_regions == 3
    share = np.bincount(tr.regions) / tr.n_requests
    assert np.allclose(share, np.asarray(cfg.region_weights) / sum(cfg.region_weights), atol=0.03)
    for r, tz in enumerate(cfg.timezones):
        local = np.mod(tr.timestamps[tr.regions == r] / 3600.0 + tz, 24.0).astype(int)
        counts = np.bincount(local, minlength=24)
        # 1 + 0.7 cos: the peak (21:00) sees ~5.7x the trough (09:00); allow for noise
        assert counts[20:23].sum() > 3 * counts[8:11].sum()


def test_synth_popularity_and_releases(synth: Workload) -> None:
    wl = synth
    tr = wl.trace
    rel = wl.title_release_s
    released = np.isfinite(rel)
    assert released.sum() > 0
    views = np.bincount(wl.request_title, minlength=len(rel))
    # background: Zipf-Mandelbrot by rank, so popularity falls with rank (rank k = title n_rel + k)
    bg = views[~released]
    assert bg[:20].mean() > 5 * bg[-200:].mean()
    # releases spike and decay: most of a release's views come in its first two decay times
    t, title = tr.timestamps, wl.request_title
    inside = released & (rel > tr.timestamps.min())
    k = np.flatnonzero(inside)
    age = t[np.isin(title, k)] - rel[title[np.isin(title, k)]]
    assert (age >= 0).all()
    assert np.mean(age < 2 * 2 * 86400) > 0.7
    # a release's peak day is its first or second day
    assert np.median(age) < 2 * 86400


def test_synth_views_fall_in_the_window_with_releases_from_before_it(synth: Workload) -> None:
    """Pins the window and the release lead-in: every request is in [start, start + days); releases are
    drawn from 3 decay times (6 days here) before the start too, and those still draw views in the
    window (about 2 a day x 6 days of the 20 releases expected)."""
    cfg = SynthConfig(seed=11, days=4, n_titles=600, views_per_day=6000)
    t = synth.trace.timestamps
    assert t.min() >= cfg.start_s and t.max() < cfg.start_s + 4 * 86400
    rel = synth.title_release_s
    before = np.flatnonzero(rel < cfg.start_s)
    assert len(before) >= 4 and rel[before].min() >= cfg.start_s - 6 * 86400
    assert np.isin(before, synth.request_title).sum() >= 4


def test_synth_background_popularity_is_zipf_mandelbrot() -> None:
    """Pins the background's share of rank k as (k + q)^-s / sum (s = 1, q = 10 over 20 titles: rank 1 gets
    (1/11) / 1.0686 = 8.5%, rank 20 (1/30) / 1.0686 = 3.1%; without q, 27.8% and 1.4%)."""
    cfg = SynthConfig(
        seed=4,
        days=1,
        n_titles=20,
        views_per_day=60_000,
        zipf_s=1.0,
        zipf_q=10.0,
        releases_per_day=0,
        region_shuffle=0.0,
        daily_amplitude=0.0,
        timezones=(0.0,),
        region_weights=(1.0,),
    )
    wl = synthesize(cfg)
    share = np.bincount(wl.request_title, minlength=20) / wl.trace.n_requests
    want = 1.0 / (np.arange(1, 21) + 10.0)
    np.testing.assert_allclose(share, want / want.sum(), atol=0.004)


def _mean_release_views(daily_amplitude: float) -> float:
    """Mean views of the titles released in a 40-day window a day or more before its end (all their views
    are in the trace): 30 releases a day of release_views_mean 50, log-normal sigma 1, little background."""
    cfg = SynthConfig(
        seed=5,
        days=40,
        n_titles=3000,
        views_per_day=1,
        releases_per_day=30,
        release_views_mean=50,
        release_sigma=1.0,
        release_decay_days=0.05,
        daily_amplitude=daily_amplitude,
        timezones=(0.0,),
        region_weights=(1.0,),
    )
    wl = synthesize(cfg)
    rel = wl.title_release_s
    views = np.bincount(wl.request_title, minlength=len(rel))
    whole = np.isfinite(rel) & (rel >= cfg.start_s) & (rel <= cfg.start_s + (cfg.days - 1) * 86400)
    assert whole.sum() > 1000
    return float(views[whole].mean())


def test_synth_release_views_average_release_views_mean() -> None:
    """Pins the log-normal release amplitude's mean correction (exp(sigma z - sigma^2 / 2) has mean 1): the
    releases of the window average release_views_mean views (without it, e^0.5 = 1.65 times that)."""
    assert _mean_release_views(0.0) == pytest.approx(50, rel=0.12)


def test_synth_release_views_are_thinned_by_the_daily_cycle() -> None:
    """Pins the thinning of release views by the daily cycle: each is kept with probability
    (1 + a cos) / (1 + a), 1 / (1 + a) on average, so at a = 0.7 a release keeps 50 / 1.7 = 29.4 of its 50
    views on average (kept with min(1, 1 + a cos): 38.9; not thinned: 50)."""
    assert _mean_release_views(0.7) == pytest.approx(50 / 1.7, rel=0.12)


def test_titles_last_80_to_150_minutes_at_0_6_to_1_4_times_the_ladder(synth: Workload) -> None:
    """Pins the per-title draws as documented: durations uniform over 80-150 minutes (mean 115), encoding
    complexity uniform over 0.6-1.4 of the nominal bitrate (mean 1); 600 titles reach near both ends."""
    minutes = synth.title_duration_s / 60.0
    assert 80.0 <= minutes.min() < 81.0 and 149.0 < minutes.max() <= 150.0
    assert minutes.mean() == pytest.approx(115.0, abs=3.0)
    cx = synth.title_complexity
    assert 0.6 <= cx.min() < 0.62 and 1.38 < cx.max() <= 1.4
    assert cx.mean() == pytest.approx(1.0, abs=0.04)


def test_synth_chunks_and_sizes() -> None:
    wl = synthesize(SynthConfig(seed=2, days=1, n_titles=100, views_per_day=500, chunk_s=300.0))
    title, rend, chunk = decode_object_ids(wl.trace.original_ids[wl.trace.objects])
    rate = wl.ladder.bitrates[rend] * wl.title_complexity[title] / 8
    assert (wl.trace.sizes <= np.round(rate * 300.0) + 1).all()
    assert (chunk <= np.ceil(wl.title_duration_s[title] / 300.0)).all()


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".oracleGeneral"])
def test_object_catalog_round_trip(synth: Workload, tmp_path: Path, suffix: str) -> None:
    """The catalogue written next to a trace maps each object, as read back in any format, to its title,
    rendition and release time."""
    if suffix == ".oracleGeneral":  # 32-bit sizes: chunks
        synth = synthesize(SynthConfig(seed=11, days=4, n_titles=600, views_per_day=2000, chunk_s=600.0))
    path = write_trace(synth.trace, tmp_path / f"t{suffix}")
    synth.object_catalog().to_csv(catalog_path(path), index=False)
    assert catalog_path(path).name == f"t{suffix}.objects.csv"
    tr = read_trace(path)
    cat = read_object_catalog(catalog_path(path), tr)
    title, rend, _ = decode_object_ids(tr.original_ids.astype(np.int64))
    # same partition into titles and renditions (labels are the catalogue's own codes)
    assert len(set(zip(cat.groups.tolist(), title.tolist(), strict=True))) == len(np.unique(title))
    assert len(np.unique(cat.groups)) == len(np.unique(title)) == cat.n_titles
    names = np.asarray([r.name for r in synth.ladder.renditions])
    assert len(set(zip(cat.kinds.tolist(), names[rend].tolist(), strict=True))) == len(np.unique(rend))
    assert cat.release_s is not None
    np.testing.assert_array_equal(cat.release_s, synth.title_release_s[title])
    assert np.isfinite(cat.release_s).any()


def test_object_catalog_without_release_and_in_any_order(tmp_path: Path) -> None:
    tr = read_trace(_write(tmp_path / "t.csv", "timestamp,object_id,size_bytes\n1,a,5\n2,b,5\n3,c,7\n"))
    f = _write(tmp_path / "o.csv", "object_id,title_id,rendition\nc,T2,hd\na,T1,sd\nb,T1,hd\n")
    cat = read_object_catalog(f, tr)
    order = [str(v) for v in tr.original_ids]
    want_title = {"a": "T1", "b": "T1", "c": "T2"}
    want_kind = {"a": "sd", "b": "hd", "c": "hd"}
    assert cat.release_s is None and cat.n_titles == 2
    for i, j in [(0, 1), (0, 2), (1, 2)]:
        same_t = want_title[order[i]] == want_title[order[j]]
        same_k = want_kind[order[i]] == want_kind[order[j]]
        assert (cat.groups[i] == cat.groups[j]) == same_t
        assert (cat.kinds[i] == cat.kinds[j]) == same_k


def test_release_times_in_milliseconds_are_converted_to_seconds(tmp_path: Path) -> None:
    """Release times written in milliseconds are read as the trace reader reads its times, with its warning
    (read as seconds, every title was 50,000 years from its release)."""
    tr = read_trace(_write(tmp_path / "t.csv", "timestamp,object_id,size_bytes\n1,a,5\n2,b,5\n3,c,7\n"))
    f = _write(
        tmp_path / "o.csv",
        "object_id,title_id,rendition,release_s\na,T1,sd,1699597590993.5\nb,T1,hd,1699597590993.5\nc,T2,hd,\n",
    )
    with pytest.warns(
        TimestampUnitWarning, match=r"o\.csv column release_s: release times read as milliseconds"
    ):
        cat = read_object_catalog(f, tr)
    assert cat.release_s is not None
    order = [str(v) for v in tr.original_ids]
    want = {"a": 1699597590.9935, "b": 1699597590.9935, "c": np.nan}
    np.testing.assert_allclose(cat.release_s, [want[o] for o in order])
    # films from before 1970 (negative), in milliseconds or in seconds (an 1895 film): read as written
    old = _write(
        tmp_path / "old.csv",
        "object_id,title_id,rendition,release_s\na,T1,sd,-631152000000\n"
        "b,T1,hd,-631152000000\nc,T2,hd,1699597590993\n",
    )
    with pytest.warns(TimestampUnitWarning, match="release times read as milliseconds"):
        cat = read_object_catalog(old, tr)
    want = {"a": -631152000.0, "b": -631152000.0, "c": 1699597590.993}
    np.testing.assert_allclose(cat.release_s, [want[o] for o in order])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # seconds: no warning
        cat = read_object_catalog(
            _write(
                tmp_path / "s.csv",
                "object_id,title_id,rendition,release_s\na,T1,sd,-2366755200\n"
                "b,T1,hd,-2366755200\nc,T2,hd,1699597590\n",
            ),
            tr,
        )
    want = {"a": -2366755200.0, "b": -2366755200.0, "c": 1699597590.0}
    np.testing.assert_allclose(cat.release_s, [want[o] for o in order])


def test_a_catalogue_written_with_another_trace_is_refused(tmp_path: Path) -> None:
    tr = read_trace(_write(tmp_path / "t.csv", "timestamp,object_id,size_bytes\n1,a,5\n2,b,5\n3,c,7\n"))
    good = "object_id,title_id,rendition,release_s,size_bytes\na,T1,sd,,5\nb,T1,hd,,5\nc,T2,hd,,7\n"
    assert read_object_catalog(_write(tmp_path / "ok.csv", good), tr).n_titles == 2
    stale = _write(tmp_path / "old.csv", good.replace("c,T2,hd,,7", "c,T2,hd,,9"))
    with pytest.raises(DataFormatError, match=r"old\.csv:4: object c is 7 bytes in the trace but 9 here"):
        read_object_catalog(stale, tr)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        ("object_id,title\na,T\n", MissingColumnsError, "title_id, rendition"),
        (
            "object_id,title_id,rendition\na,T,sd\na,T,hd\nb,T,sd\n",
            DataFormatError,
            ":3: object a is listed twice",
        ),
        (
            "object_id,title_id,rendition\na,T,sd\n",
            DataFormatError,
            "1 object(s) of the trace are not listed (first: b)",
        ),
        (
            "object_id,title_id,rendition,release_s\na,T,sd,soon\nb,T,sd,\n",
            DataFormatError,
            ":2: release_s 'soon'",
        ),
        ("object_id,title_id,rendition\na,,sd\nb,T,sd\n", DataFormatError, ":2: empty title_id"),
        # an extra field on the first row: pandas took the ids for an index ("3: empty rendition")
        (
            "object_id,title_id,rendition\na,T,sd,x\nb,T,sd\n",
            DataFormatError,
            ":2: wrong number of fields",
        ),
        (
            "object_id,title_id,rendition,size_bytes\na,T,sd,\nb,T,sd,5\n",
            DataFormatError,
            ":2: empty size_bytes for object a",  # not "written with another trace"
        ),
        (
            "object_id,title_id,rendition,release_s\na,T,sd,inf\nb,T,sd,\n",
            DataFormatError,
            ":2: release_s 'inf' is not a number",  # not np.float64(inf)
        ),
        # no date from 1850 to 2200 in the unit the median release time gives the file
        (
            "object_id,title_id,rendition,release_s\na,T,sd,1700000000\nb,T,sd,90000000000\nc,T,sd,1600000000\n",
            DataFormatError,
            ":3: release_s '90000000000' is no date from 1850 to 2200 in seconds",
        ),
        (
            "object_id,title_id,rendition,release_s\na,T,sd,1700000000000\nb,T,sd,99000000000000\n"
            "c,T,sd,1600000000000\n",
            DataFormatError,
            ":3: release_s '99000000000000' is no date from 1850 to 2200 in milliseconds",
        ),
        (
            "object_id,title_id,rendition,release_s\na,T,sd,-5000000000\nb,T,sd,1700000000\nc,T,sd,1600000000\n",
            DataFormatError,
            ":2: release_s '-5000000000' is no date from 1850 to 2200 in seconds",
        ),
    ],
)
def test_object_catalog_bad_input(tmp_path: Path, content: str, error: type[Exception], message: str) -> None:
    tr = read_trace(_write(tmp_path / "t.csv", "timestamp,object_id,size_bytes\n1,a,5\n2,b,5\n"))
    with pytest.raises(error, match=re.escape(message)):
        read_object_catalog(_write(tmp_path / "o.csv", content), tr)
    with pytest.raises(DataFormatError, match="no such object catalogue"):
        read_object_catalog(tmp_path / "none.csv", tr)


def test_synth_bad_config() -> None:
    for bad in (
        {"days": 0},
        {"zipf_s": 0},
        {"timezones": (0.0,), "region_weights": (1.0, 1.0)},
        {"daily_amplitude": 1.5},
        {"chunk_s": -1.0},
        {"days": float("nan")},
        {"days": float("inf")},
        {"days": 1e9},  # billions of views: refused before any memory is taken
        {"zipf_q": float("nan")},
        {"timezones": (float("nan"), 0.0, 0.0)},
    ):
        with pytest.raises(ConfigError):
            SynthConfig(**bad)  # type: ignore[arg-type]
    # each named (no members failed in numpy's draw: "high <= 0"; a Beta of 0 or NaN in numpy's too)
    for field, value in (
        ("n_members", 0),
        ("n_members", float("nan")),  # passed "< 1", then failed in numpy
        ("watch_fraction_a", 0.0),
        ("watch_fraction_b", float("nan")),
    ):
        with pytest.raises(ConfigError, match=f"synth: .*{field}.* got .*{value}"):
            SynthConfig(**{field: value})  # type: ignore[arg-type]
    assert SynthConfig(n_members=100.0).n_members == 100  # a whole float is a count
    with pytest.raises(ConfigError, match="release_sigma must be >= 0"):
        SynthConfig(release_sigma=-1.0)
    # huge but finite: NaN popularities ('Probabilities contain NaN' from numpy, a traceback)
    with pytest.raises(ConfigError, match=r"zipf_s \(--zipf-s\) must be at most 20 .*got 1e\+308"):
        SynthConfig(zipf_s=1e308)
    assert SynthConfig(zipf_s=20).zipf_s == 20


@pytest.mark.data
def test_movielens_views() -> None:
    ml = DATA / "movielens" / "ml-latest-small" / "ratings.csv"
    if not ml.exists():
        pytest.skip(f"MovieLens ml-latest-small not found at {ml}")
    from reelkit.data.loaders import load_movielens_csv

    wl = trace_from_events(load_movielens_csv(ml), n_regions=2)
    assert wl.trace.n_requests == 100_836
    assert len(wl.title_ids) == 9_724
    assert wl.trace.n_regions == 2


@pytest.mark.parametrize("days", [0.5, 1.0, 1.5, 2.5])
def test_synth_views_per_day_hold_for_part_days(days: float) -> None:
    # 1.5 days gave 15,000 views a day for 20,000 asked (drawn for 1.5 days, spread over 2, cut to 1.5)
    wl = synthesize(
        SynthConfig(
            seed=1,
            days=days,
            n_titles=500,
            views_per_day=20_000,
            releases_per_day=0,
            daily_amplitude=0.0,
            timezones=(0.0,),
            region_weights=(1.0,),
        )
    )
    assert wl.trace.n_requests / days == pytest.approx(20_000, rel=0.03)


def test_the_synthetic_popularity_and_daily_peak_are_the_ones_asked_for() -> None:
    """One region at UTC: the background's rank-frequency slope over the top 300 titles is the Zipf exponent
    asked for (0.9; 0.99 passed every test), and the busiest hour is peak_hour (21), for the background and
    for the new releases alike (an hour late passed)."""
    cfg = SynthConfig(seed=1, days=2, views_per_day=20000, n_titles=2000, releases_per_day=0,
                      region_shuffle=0.0, timezones=(0.0,), region_weights=(1.0,), zipf_q=0.0)  # fmt: skip
    w = synthesize(cfg)
    counts = np.sort(np.bincount(w.request_title))[::-1][:300].astype(float)
    slope = -np.polyfit(np.log(np.arange(1, 301)), np.log(counts), 1)[0]
    assert slope == pytest.approx(cfg.zipf_s, abs=0.04)

    def busiest(t: np.ndarray) -> int:
        return int(np.argmax(np.bincount(((t % 86400) // 3600).astype(int), minlength=24)))

    assert busiest(w.trace.timestamps) == cfg.peak_hour == 21
    rel_cfg = SynthConfig(seed=1, days=3, views_per_day=200, n_titles=50, releases_per_day=4,
                          release_views_mean=3000, timezones=(0.0,), region_weights=(1.0,),
                          region_shuffle=0.0)  # fmt: skip
    r = synthesize(rel_cfg)
    released = r.title_release_s[r.request_title] > rel_cfg.start_s
    assert released.sum() > 5000 and busiest(r.trace.timestamps[released]) == 21
