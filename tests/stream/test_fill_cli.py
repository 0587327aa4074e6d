"""``reelkit cache plan | advise`` end to end: JSON shapes, consistency with the library, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from reelkit.stream.cache import (
    SynthConfig,
    catalog_path,
    read_object_catalog,
    read_trace,
    simulate,
    synthesize,
    write_trace,
)
from reelkit.stream.fill import FillConfig, compare_fill
from reelkit.testing.cli import run_cli as run


@pytest.fixture(scope="module")
def trace_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wl = synthesize(SynthConfig(seed=4, days=8, n_titles=80, views_per_day=600))
    return write_trace(wl.trace, tmp_path_factory.mktemp("plan") / "t.parquet")


def test_plan_json(trace_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "plan.png"
    code, out, err = run(
        capsys,
        "cache",
        "plan",
        "--trace",
        str(trace_file),
        "--capacity",
        "5%",
        "--fill-window",
        "02:00-14:00",
        "--fill-rate",
        "1.2Gbps",
        "--train-days",
        "5",
        "--compare",
        "lru,s3fifo",
        "--reserve",
        "0.1",
        "--plot",
        str(png),
        "--json",
    )
    assert code == 0, err
    res = json.loads(out)
    names = [a["name"] for a in res["approaches"]]
    assert names == ["fill", "fill-oracle", "lru", "s3fifo", "belady-size", "offline-bound"]
    by = {a["name"]: a for a in res["approaches"]}
    assert res["train_days"] == 5 and res["measured_days"] >= 3
    assert res["fill_rate_bytes_per_s"] == pytest.approx(1.5e8)
    assert by["fill-oracle"]["byte_hit_ratio"] >= by["fill"]["byte_hit_ratio"]
    assert by["fill"]["fill_bytes"] > 0 and by["lru"]["fill_bytes"] == 0
    assert res["fill_ratio_to"]["s3fifo"] == pytest.approx(
        by["fill"]["byte_hit_ratio"] / by["s3fifo"]["byte_hit_ratio"]
    )
    assert res["best_reactive"] in ("lru", "s3fifo")
    assert res["objects_file"] is None  # write_trace alone writes no catalogue
    assert png.stat().st_size > 1000
    assert res["reserve"] == 0.1 and res["reserve_per_day"] == [0.1] * res["measured_days"]
    assert len(res["forecast_per_day"]) == res["measured_days"]


def test_plan_json_says_what_reserve_auto_chose_and_one_warning_for_an_unsorted_trace(
    trace_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--reserve auto read "reserve": 0.0 in the JSON with nothing on the nights' choices; a trace out of
    time order was said to be "replayed in the file's order" and then "sorted by time"."""
    import pandas as pd

    rows = pd.read_parquet(trace_file).sample(frac=1.0, random_state=0)
    shuffled = tmp_path / "shuffled.csv"
    rows.to_csv(shuffled, index=False)
    args = ("--capacity", "5%", "--train-days", "5", "--reserve", "auto", "--json")
    code, out, err = run(capsys, "cache", "plan", "--trace", str(shuffled), *args)
    assert code == 0, err
    res = json.loads(out)
    assert res["reserve"] == "auto" and len(res["reserve_per_day"]) == res["measured_days"]
    assert set(res["reserve_per_day"]) <= {0.0, 0.25, 0.5}
    assert err.count("come before the one above them") == 1 and "replayed in the file's order" not in err


def test_plan_pools_titles_from_the_catalogue_synth_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``cache synth`` writes ``<trace>.objects.csv``; ``cache plan`` finds it and forecasts with titles,
    renditions and release ages, exactly as the library does when given them."""
    trace = tmp_path / "s.parquet"
    synth = ("--seed", "4", "--days", "8", "--titles", "80", "--views-per-day", "600", "--json")
    code, out, err = run(capsys, "cache", "synth", "-o", str(trace), *synth)
    assert code == 0, err
    sidecar = catalog_path(trace)
    assert json.loads(out)["objects_file"] == str(sidecar) and sidecar.is_file()
    args = ("cache", "plan", "--trace", str(trace), "--capacity", "10%", "--train-days", "5", "--json")
    code, out, err = run(capsys, *args)
    assert code == 0, err
    res = json.loads(out)
    assert res["objects_file"] == str(sidecar)
    tr = read_trace(trace)
    cat = read_object_catalog(sidecar, tr)
    cfg = FillConfig(capacity_bytes=res["capacity_bytes"])
    pooled = compare_fill(tr, cfg, train_days=5, groups=cat.groups, kinds=cat.kinds, release_s=cat.release_s)
    alone = compare_fill(tr, cfg, train_days=5)
    fill = next(a for a in res["approaches"] if a["name"] == "fill")
    assert fill["byte_hit_ratio"] == pytest.approx(pooled.approaches[0].byte_hit_ratio)
    assert fill["byte_hit_ratio"] != pytest.approx(alone.approaches[0].byte_hit_ratio)
    # the forecast the fill used each measured night, one entry per night (the benchmark's "forecast used")
    assert len(pooled.forecast_per_day) == pooled.measured_days
    assert set(pooled.forecast_per_day) <= {"gbm", "rates"}
    # a bad catalogue is a one-line error naming it
    sidecar.write_text("object_id,title_id\n1,T\n")
    code, _, err = run(capsys, *args)
    assert code == 2 and "objects.csv" in err and "rendition" in err
    assert len(err.strip().splitlines()) == 1


def test_plan_table(trace_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "cache", "plan", "--trace", str(trace_file), "--capacity", "10%", "--train-days", "6"
    )
    assert code == 0, err
    assert "s3fifo" in out and "lru" in out and "training" in out


def test_train_days_say_where_days_start(trace_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """'measured 3 days after 6 training days' of an 8-day trace read as a miscount: days start at the fill
    window (02:00), so a trace from midnight has 9 (2 h, 7 whole, 22 h); --help says so."""
    code, out, err = run(
        capsys,
        "cache",
        "plan",
        "--trace",
        str(trace_file),
        "--capacity",
        "10%",
        "--train-days",
        "6",
        "--json",
    )
    assert code == 0, err
    assert json.loads(out)["measured_days"] == 3
    code, out, _ = run(capsys, "cache", "plan", "--help")
    assert code == 0
    assert "Days are counted from the fill window's start, the first possibly partial" in " ".join(
        out.split()
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--capacity", "lots"], "capacity"),
        (["--capacity", "0%"], "--capacity 0%: the cache must hold at least one byte"),  # 0 bytes, by name
        (["--capacity", "5%", "--fill-window", "2-14"], "fill window"),
        (["--capacity", "5%", "--fill-rate", "fast"], "rate"),
        (["--capacity", "5%", "--compare", "nope"], "nope"),
        (["--capacity", "5%", "--compare", "belady"], "reactive"),
        (["--capacity", "5%", "--train-days", "30"], "train_days"),
        (["--capacity", "5%", "--plot", "x.jpg"], ".png"),
        (["--capacity", "5%", "--reserve", "lots"], "--reserve"),
        (["--capacity", "5%", "--reserve", "1.5"], "--reserve"),
        (["--capacity", "5%", "--reserve", "1"], "--reserve '1': give a share"),  # 1 is not below 1
        (["--capacity", "5%", "--reactive", "fifo"], "--reactive"),
    ],
)
def test_plan_bad_input(
    trace_file: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, err = run(capsys, "cache", "plan", "--trace", str(trace_file), *args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_plan_missing_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "cache", "plan", "--trace", str(tmp_path / "no.csv"), "--capacity", "1GB")
    assert code == 2 and "no such trace file" in err


def _samples_csv(path: Path, mbps: float) -> Path:
    t = 19676 * 86400.0 + np.arange(0, 86400 * 2, 30.0)
    lines = ["timestamp,mbps", *(f"{x:.0f},{mbps}" for x in t)]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_advise_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fast = _samples_csv(tmp_path / "fast.csv", 40.0)
    code, out, err = run(
        capsys,
        "cache",
        "advise",
        "--samples",
        str(fast),
        "--quality",
        "4300",
        "--title",
        "tt1:600",
        "--title",
        "tt2:1200",
        "--at",
        "2023-11-15T20:00:00Z",
        "--json",
    )
    assert code == 0, err
    res = json.loads(out)
    assert res["hour"] == 20
    assert [t["title_id"] for t in res["titles"]] == ["tt1", "tt2"]
    assert all(t["action"] == "stream" for t in res["titles"])
    slow = _samples_csv(tmp_path / "slow.csv", 2.0)
    code, out, err = run(
        capsys,
        "cache",
        "advise",
        "--samples",
        str(slow),
        "--quality",
        "4300",
        "--title",
        "ep:900",
        "--ladder",
        "300,750,1200,1850,2850,4300",
        "--at",
        "1700000000",
        "--utc-offset",
        "1",
    )
    assert code == 0, err
    assert "download" in out


def test_advise_table_shows_the_download_in_minutes_and_the_hold_in_percent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Pins the table's units: an hour at 4300 kbps over a steady 2 Mbit/s downloads in 4300 * 3600 / 2000
    = 7740 s, shown as 129 min; 40 Mbit/s holds 4300 kbps in every session, 100%, and takes 387 s, 6 min."""
    slow = _samples_csv(tmp_path / "slow.csv", 2.0)
    args = ["cache", "advise", "--quality", "4300", "--title", "ep:3600", "--at", "1700000000"]
    code, out, err = run(capsys, *args, "--samples", str(slow), "--json")
    assert code == 0, err
    assert json.loads(out)["titles"][0]["download_s_now"] == pytest.approx(7740.0)
    code, out, err = run(capsys, *args, "--samples", str(slow))
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.lstrip("│| ").startswith("ep"))
    assert "129 min" in row, out
    fast = _samples_csv(tmp_path / "fast.csv", 40.0)
    code, out, err = run(capsys, *args, "--samples", str(fast))
    assert code == 0, err
    row = next(line for line in out.splitlines() if line.lstrip("│| ").startswith("ep"))
    assert "100%" in row and "6 min" in row, out


def test_advise_reads_the_hour_in_the_members_local_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Pins --utc-offset: 20:00 UTC is 22:00 for a member at UTC+2 (JSON hour and the table's title)."""
    fast = _samples_csv(tmp_path / "fast.csv", 40.0)
    args = ["cache", "advise", "--samples", str(fast), "--quality", "4300", "--title", "ep:600"]
    args += ["--at", "2023-11-15T20:00:00Z", "--utc-offset", "2"]
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    assert json.loads(out)["hour"] == 22
    code, out, err = run(capsys, *args)
    assert code == 0, err
    assert "local hour 22:00" in out


def test_samples_read_outages_and_naive_iso_times_as_utc(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pins the samples reader: 0 Mbit/s (an outage) is a sample; 2023-11-14T22:13:20 without a zone is UTC
    (1700000000) whatever the machine's zone; unix seconds pass through."""
    import time

    from reelkit.cli.cache_plan import _read_samples

    monkeypatch.setenv("TZ", "JST-9")  # a POSIX zone: no zoneinfo files needed
    time.tzset()
    try:
        assert time.localtime(0).tm_gmtoff == 9 * 3600  # the zone took (else the test proves nothing)
        f = tmp_path / "s.csv"
        f.write_text("timestamp,mbps\n2023-11-14T22:13:20,0\n1700000030,2.5\n2023-11-14T22:14:00Z,4\n")
        times, mbps = _read_samples(f)
    finally:
        monkeypatch.undo()  # TZ as it was (deleting it left the worker in UTC under a TZ that says not)
        time.tzset()
    assert times.tolist() == [1700000000.0, 1700000030.0, 1700000040.0]
    assert mbps.tolist() == [0.0, 2.5, 4.0]


@pytest.mark.parametrize(
    ("content", "args", "message"),
    [
        ("timestamp,mbps\n1700000000,5\n1700000030,abc\n", [], ":3:"),
        ("time,mbps\n1700000000,5\n", [], "missing column"),
        ("timestamp,mbps\n", [], "no samples"),
        ("timestamp,mbps\n1700000000,5\n", ["--title", "nodur"], "ID:DURATION_S"),
        ("timestamp,mbps\n1700000000,5\n", ["--ladder", "750,300"], "ascending"),
        ("timestamp,mbps\n1700000000,5\n", ["--at", "yesterday"], "--at"),
        ("timestamp,mbps\n1700000000,5\n", ["--quality", "10"], "lowest rung"),
        ("timestamp,mbps\n1700000000,5\n", ["--quality", "nan"], "finite"),
        ("timestamp,mbps\n1700000000,5\n", ["--at", "nan"], "--at"),
        ("timestamp,mbps\n1700000000,5\n", ["--at", "inf"], "--at"),
        ("timestamp,mbps\n1700000000,5\n", ["--title", "a:inf"], "ID:DURATION_S"),
        ("timestamp,mbps\nnan,5\n", [], ":2:"),
        # every row a field longer than the header: pandas read 1700000000 as the index, 5 as the time
        ("timestamp,mbps\n1700000000,5,7\n", [], "s.csv:2: 3 fields where the header has 2"),
        ("timestamp,mbps\n\n1700000000,5\n1700000030\n", [], "s.csv:4: 1 fields"),
        ("", [], "empty"),
        ("timestamp,mbps\n1700000000,5\n", ["--ladder", "300,1e300"], "ladder_kbps"),
        # the service's bounds (1970-2100, up to 1e6 Mbit/s): 2e6 failed as "bootstrap:1: throughput ...",
        # 1e308 with a numpy overflow warning first, and such timestamps passed
        (
            "timestamp,mbps\n1700000000,5\n1700000010,2e6\n",
            [],
            "s.csv:3: mbps must be a number from 0 to 1e+06",
        ),
        ("timestamp,mbps\n1700000000,1e308\n", [], "s.csv:2: mbps must be a number from 0 to 1e+06, got"),
        ("timestamp,mbps\n1700000000,5\n1e300,5\n", [], "s.csv:3: timestamp '1e300' is outside 1970-2100"),
        ("timestamp,mbps\n-1e12,5\n", [], "s.csv:2: timestamp '-1e12' is outside 1970-2100"),
        ("timestamp,mbps\n2100-01-02T00:00Z,5\n", [], "s.csv:2: timestamp '2100-01-02T00:00Z' is outside"),
        # --at and --title within the same bounds: 1e308 and -5 were taken, a:1e308 said "download inf min"
        (
            "timestamp,mbps\n1700000000,5\n",
            ["--at", "1e308"],
            "error: --at '1e308': give a time from 1970 to 2100 (unix seconds 0..4102444800)",
        ),
        ("timestamp,mbps\n1700000000,5\n", ["--at", "-5"], "error: --at '-5': give a time from 1970 to 2100"),
        (
            "timestamp,mbps\n1700000000,5\n",
            ["--title", "a:1e308"],
            "error: --title 'a:1e308': the duration is at most 1,000,000 s (about 11 days)",
        ),
    ],
)
def test_advise_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, args: list[str], message: str
) -> None:
    f = tmp_path / "s.csv"
    f.write_text(content)
    base = {"--quality": "750", "--title": "t:600"}
    for k in list(base):
        if k in args:
            del base[k]
    flat = [x for kv in base.items() for x in kv]
    code, _, err = run(capsys, "cache", "advise", "--samples", str(f), *flat, *args)
    assert code == 2, err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_rates_windows_and_configs_are_checked() -> None:

    from reelkit.errors import ConfigError
    from reelkit.stream.fill import FillConfig, parse_fill_window, parse_rate

    # a capital B is bytes, a small b or "bit" bits
    assert parse_rate("100MB/s") == parse_rate("100MB/S") == parse_rate("100MBps") == 1e8
    assert parse_rate("1.2Gbps") == parse_rate("1200Mbit/s") == pytest.approx(1.5e8)
    for bad in ("1" + "0" * 400 + "Gbps", "0Mbps", "fast"):
        with pytest.raises(ConfigError):
            parse_rate(bad)
    with pytest.raises(ConfigError, match="minutes"):
        parse_fill_window("02:75-14:00")
    cfg = FillConfig(capacity_bytes=10**9, fill_window=(22.0, 6.0))
    assert FillConfig.model_validate_json(cfg.model_dump_json()) == cfg
    for bad_kw in ({"fill_cost": float("inf")}, {"fill_window": (30.0, -5.0)}, {"fill_window": (5.0, 5.0)}):
        with pytest.raises(ConfigError, match="FillConfig: "):  # the project's error, naming the field
            FillConfig(capacity_bytes=10**9, **bad_kw)  # type: ignore[arg-type]


def test_fill_windows_and_bare_rates_by_hand() -> None:
    """Pins parse_fill_window's minutes (02:30 is 2.5 h), its 24:00 end and wrap past midnight, and that a
    bare number rate is bits/s (1.2e9 bit/s = 1.5e8 bytes/s)."""
    from reelkit.stream.fill import parse_fill_window, parse_rate

    assert parse_fill_window("02:30-14:45") == (2.5, 14.75)
    assert parse_fill_window("22:00-24:00") == (22.0, 24.0)
    assert parse_fill_window("22:00-06:00") == (22.0, 6.0)
    assert parse_rate(1.2e9) == pytest.approx(1.5e8)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--fill-cost", "inf"], "fill_cost: must be a finite number, not inf"),
        (["--fill-window", "02:75-14:00"], "--fill-window / --fill-rate: fill window"),
        (["--train-days", "1"], "--train-days"),
        (["--compare", "lru,belady"], "reactive"),
    ],
)
def test_plan_refuses_configs_in_one_line(
    trace_file: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, err = run(capsys, "cache", "plan", "--trace", str(trace_file), "--capacity", "5%", *args)
    assert code == 2 and message in err and "Traceback" not in err, err


def test_compare_fill_takes_reactive_policies_once(trace_file: Path) -> None:
    from reelkit.errors import ConfigError
    from reelkit.stream.cache import read_trace
    from reelkit.stream.fill import FillConfig, compare_fill

    tr = read_trace(trace_file)
    with pytest.raises(ConfigError, match="belady cannot be compared as reactive"):
        compare_fill(tr, FillConfig(capacity_bytes=10**9), policies=["lru", "belady"])


def test_daily_counts_refuse_timestamps_that_are_not_seconds() -> None:
    from reelkit.errors import ConfigError
    from reelkit.stream.forecast import daily_counts

    ns = np.array([0.0, 4 * 86400e9])
    with pytest.raises(ConfigError, match="timestamps must be in seconds"):
        daily_counts(ns, np.array([0, 1]), 2)


def test_plan_names_the_file_of_an_unsorted_trace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "unsorted.csv"
    path.write_text("timestamp,object_id,size_bytes\n" + "".join(f"{t},{t % 3},10\n" for t in (5, 3, 9, 20)))
    code, _, err = run(capsys, "cache", "plan", "--trace", str(path), "--capacity", "10")
    # the warnings name the file; the plan runs on the requests sorted by time (several servers' logs one
    # after the other: it was refused), so the error is only that this trace is too short to plan on
    # one warning (reading it said "replayed in the file's order" first, which the plan does not do)
    assert err.count("warning:") == 1, err
    assert f"warning: {path}: 1 request(s) come before the one above them; the nightly plan and every" in err
    assert code == 2 and "the trace spans 1 day(s)" in err, err


def test_sorting_an_unsorted_trace_keeps_each_objects_catalogue_entry(tmp_path: Path) -> None:
    """The plan sorts a trace whose rows are out of time order; the object ids must stay those the
    catalogue (titles, renditions, release times) is indexed by (a re-made trace renumbered them)."""
    import warnings

    from reelkit.errors import ReelkitWarning
    from reelkit.stream.cache import RequestTrace

    wl = synthesize(SynthConfig(seed=1, days=6, n_titles=60, views_per_day=300))
    tr = wl.trace
    (tmp_path / "c.csv").write_text(wl.object_catalog().to_csv(index=False))
    half = tr.n_requests // 2  # the second half first: two servers' logs one after the other
    order = np.r_[np.arange(half, tr.n_requests), np.arange(half)]
    # as read from such a file: dense ids in the file's order of first requests, the catalogue read for it
    shuffled = RequestTrace.from_arrays(
        tr.timestamps[order], tr.original_ids[tr.objects[order]], tr.sizes[order]
    )
    cat = read_object_catalog(tmp_path / "c.csv", shuffled)
    kw = {"train_days": 3, "groups": cat.groups, "kinds": cat.kinds, "release_s": cat.release_s}
    cfg = FillConfig(capacity_bytes=tr.working_set_bytes() // 20)
    by_time = np.argsort(shuffled.timestamps, kind="stable")
    same_ids = RequestTrace(
        shuffled.timestamps[by_time],
        shuffled.objects[by_time],
        shuffled.sizes[by_time],
        shuffled.original_ids,
    )
    expected = compare_fill(same_ids, cfg, **kw).get("fill").byte_hit_ratio
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReelkitWarning)
        assert compare_fill(shuffled, cfg, **kw).get("fill").byte_hit_ratio == expected


def test_the_plan_does_not_depend_on_the_order_of_the_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The same requests written region by region (so objects are first seen in another order) give the
    same plan: it depended on which objects a trace numbered first (0.4247 against 0.4269 in a review)."""
    import shutil

    import pandas as pd

    trace = tmp_path / "s.parquet"
    synth = (
        "--seed",
        "1",
        "--days",
        "6",
        "--titles",
        "120",
        "--views-per-day",
        "1500",
        "--timezones",
        "0,1,-5",
    )
    code, _, err = run(capsys, "cache", "synth", "-o", str(trace), *synth)
    assert code == 0, err
    frame = pd.read_parquet(trace)
    other = tmp_path / "by_region.parquet"
    frame.sort_values("region", kind="stable").to_parquet(other)
    shutil.copy(catalog_path(trace), catalog_path(other))
    assert read_trace(other).original_ids.tolist() != read_trace(trace).original_ids.tolist()
    got = []
    for path in (trace, other):
        code, out, err = run(
            capsys, "cache", "plan", "--trace", str(path), "--capacity", "5%", "--train-days", "3", "--json"
        )
        assert code == 0, err
        got.append({a["name"]: a["byte_hit_ratio"] for a in json.loads(out)["approaches"]})
    assert got[0] == got[1]
    # the reactive rows are what cache simulate gives for the file as read (TinyLFU hashes object numbers)
    tr = read_trace(trace)
    cfg = FillConfig(capacity_bytes=int(tr.working_set_bytes() * 0.05))
    cmp = compare_fill(tr, cfg, train_days=3, policies=("tinylfu",), oracle=False, offline=False)
    sim = simulate(tr, "tinylfu", cfg.capacity_bytes, warmup=(cmp.warmup_requests + 0.5) / tr.n_requests)
    assert cmp.get("tinylfu").byte_hit_ratio == sim.byte_hit_ratio
    # a policy given with a config runs with it, under its label (it ran by name, the plain policy's config)
    from reelkit.stream.cache import make_policy

    aged = make_policy("lfu", aging=True)
    cmp = compare_fill(tr, cfg, train_days=3, policies=("lfu", aged, "LFU"), oracle=False, offline=False)
    assert [a.name for a in cmp.approaches] == ["fill", "lfu", "lfu(aging=true)"]
    warm = (cmp.warmup_requests + 0.5) / tr.n_requests
    assert (
        cmp.get("lfu(aging=true)").hit_ratio == simulate(tr, aged, cfg.capacity_bytes, warmup=warm).hit_ratio
    )
    assert cmp.get("lfu(aging=true)").hit_ratio != cmp.get("lfu").hit_ratio


def test_plan_takes_its_reactive_policy(trace_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--reactive lru reached nothing a test read: the fill's reactive part is the one asked for."""
    base = (
        "--trace",
        str(trace_file),
        "--capacity",
        "5%",
        "--train-days",
        "5",
        "--reserve",
        "0.25",
        "--json",
    )
    found = {}
    for reactive in ("lru", "sieve"):
        code, out, err = run(capsys, "cache", "plan", *base, "--reactive", reactive)
        assert code == 0, err
        res = json.loads(out)
        assert res["config"]["reactive"] == reactive
        found[reactive] = next(a for a in res["approaches"] if a["name"] == "fill")["hit_ratio"]
    assert found["lru"] != found["sieve"]
