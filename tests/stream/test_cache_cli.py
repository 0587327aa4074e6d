"""``reelkit cache simulate | compare | trace | synth`` end to end: JSON shapes, files, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from reelkit.cli import main
from reelkit.errors import ConfigError
from reelkit.stream.cache import RequestTrace, read_trace, simulate
from reelkit.testing.cli import run_cli as run
from reelkit.testing.executors import MAPS

SYNTH_ARGS = ("--seed", "3", "--days", "2", "--titles", "300", "--views-per-day", "3000", "--json")


@pytest.fixture(scope="module")
def synth_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cache") / "synth.parquet"
    try:
        main(["cache", "synth", "-o", str(out), *SYNTH_ARGS])
    except SystemExit as exc:
        assert not exc.code
    return out


def test_synth_is_seeded(synth_trace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "cache", "synth", "-o", str(tmp_path / "again.parquet"), *SYNTH_ARGS)
    assert code == 0
    info = json.loads(out)
    assert info["regions"] == 3 and info["titles"] == 300
    a, b = read_trace(synth_trace), read_trace(tmp_path / "again.parquet")
    assert a.n_requests == b.n_requests == info["requests"]
    assert (a.objects == b.objects).all() and (a.sizes == b.sizes).all()


def test_synth_is_the_librarys_trace_with_its_region_shares(
    synth_trace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Pins the CLI's synth to SynthConfig's defaults (regions' shares 0.4, 0.35, 0.25; the CLI gave each
    region a third), so the benchmark's synthetic trace can be written from the command line; --region-shares
    sets them."""
    from dataclasses import replace

    from reelkit.stream.cache import SynthConfig, synthesize

    small = SynthConfig(seed=3, days=2.0, n_titles=300, views_per_day=3000.0)  # SYNTH_ARGS
    cli, lib = read_trace(synth_trace), synthesize(small).trace
    assert cli.n_requests == lib.n_requests
    assert (cli.original_ids[cli.objects] == lib.original_ids[lib.objects]).all()
    assert (cli.sizes == lib.sizes).all() and (cli.regions == lib.regions).all()
    args = ("--region-shares", "1,1,1", "-o", str(tmp_path / "even.parquet"))
    code, _, err = run(capsys, "cache", "synth", *SYNTH_ARGS, *args)
    even = synthesize(replace(small, region_weights=(1.0, 1.0, 1.0))).trace
    assert code == 0, err
    assert (read_trace(tmp_path / "even.parquet").regions == even.regions).all()
    assert not np.array_equal(np.bincount(even.regions), np.bincount(lib.regions))


def test_synth_summary_counts_bytes_of_every_request_and_the_time_span(
    synth_trace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Pins the synth summary: bytes_requested sums every request (repeats too), apart from the working
    set (each object once), and start/end are the first and last request times."""
    code, out, _ = run(capsys, "cache", "synth", "-o", str(tmp_path / "again.parquet"), *SYNTH_ARGS)
    assert code == 0
    info, tr = json.loads(out), read_trace(synth_trace)
    assert info["bytes_requested"] == int(tr.sizes.sum()) > info["working_set_bytes"]
    assert info["working_set_bytes"] == tr.working_set_bytes()
    assert (info["start"], info["end"]) == (float(tr.timestamps.min()), float(tr.timestamps.max()))


def test_one_region_is_one_region_and_small_sizes_keep_their_unit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from reelkit.cli.cache_sim import _gb, _unit

    args = ("--seed", "1", "--days", "1", "--titles", "20", "--views-per-day", "50", "--timezones", "0")
    code, out, err = run(capsys, "cache", "synth", "-o", str(tmp_path / "one.parquet"), *args, "--json")
    assert code == 0, err
    assert json.loads(out)["regions"] == 1  # was 0: a trace without a region column
    # the compare plot's axis takes the unit of its largest capacity (it drew 1e-7 GB)
    assert _unit(4_500) == ("kB", 1e3) and _unit(999) == ("B", 1.0) and _unit(2e9) == ("GB", 1e9)
    assert _gb(4_500) == "4.50 kB" and _gb(999) == "999 B"


def test_a_size_of_exactly_one_unit_is_written_in_that_unit() -> None:
    """Pins _unit/_gb at the unit boundaries: 1 GB is '1.00 GB' (not '1,000.00 MB'), 1000 B is '1.00 kB'."""
    from reelkit.cli.cache_sim import _gb, _unit

    assert _unit(1e9) == ("GB", 1e9) and _unit(1e12) == ("TB", 1e12) and _unit(1e6) == ("MB", 1e6)
    assert _gb(1e9) == "1.00 GB" and _gb(1_000) == "1.00 kB" and _gb(1) == "1 B"


def test_simulate_json_exact_keys(synth_trace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "cache",
        "simulate",
        "--trace",
        str(synth_trace),
        "--policy",
        "lru",
        "--capacity",
        "5%",
        "--json",
    )
    assert code == 0
    res = json.loads(out)
    assert list(res) == [
        "policy",
        "capacity_bytes",
        "requests",
        "hit_ratio",
        "byte_hit_ratio",
        "requests_per_s",
    ]
    tr = read_trace(synth_trace)
    lib = simulate(tr, "lru", "5%")
    assert res["policy"] == "lru" and res["capacity_bytes"] == lib.capacity_bytes
    assert res["requests"] == tr.n_requests
    assert res["hit_ratio"] == pytest.approx(lib.hit_ratio)
    assert res["byte_hit_ratio"] == pytest.approx(lib.byte_hit_ratio)
    assert res["requests_per_s"] > 0
    # with a warm-up the ratios cover fewer requests than "requests": the JSON says how many
    code, out, _ = run(
        capsys, "cache", "simulate", "--trace", str(synth_trace), "--policy", "lru", "--capacity", "5%",
        "--warmup", "0.5", "--json",
    )  # fmt: skip
    res = json.loads(out)
    lib = simulate(tr, "lru", "5%", warmup=0.5)
    assert res["requests"] == tr.n_requests and res["warmup_requests"] == lib.warmup_requests > 0
    assert res["measured_requests"] == lib.measured_requests == tr.n_requests - lib.warmup_requests
    assert res["hit_ratio"] == pytest.approx(lib.hit_ratio)


@pytest.mark.parametrize("cap", ["50GB", "500MiB", "123456789", "10%"])
def test_simulate_capacities(synth_trace: Path, capsys: pytest.CaptureFixture[str], cap: str) -> None:
    code, out, _ = run(
        capsys,
        "cache",
        "simulate",
        "--trace",
        str(synth_trace),
        "--policy",
        "s3fifo",
        "--capacity",
        cap,
        "--json",
    )
    assert code == 0
    got = json.loads(out)["capacity_bytes"]
    expect = {"50GB": 50 * 10**9, "500MiB": 500 * 2**20, "123456789": 123456789}
    if cap in expect:
        assert got == expect[cap]
    else:
        assert got == int(read_trace(synth_trace).working_set_bytes() * 0.10)


def test_simulate_table_with_regions_and_hours(synth_trace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys,
        "cache",
        "simulate",
        "--trace",
        str(synth_trace),
        "--policy",
        "lfu",
        "--param",
        "aging=true",
        "--capacity",
        "5%",
        "--warmup",
        "6h",
        "--hourly",
    )
    assert code == 0
    assert "per region" in out and "per hour" in out
    # the JSON can carry what the table shows per region (it had no way to)
    args = ["cache", "simulate", "--trace", str(synth_trace), "--policy", "lru", "--capacity", "5%", "--json"]
    code, out, _ = run(capsys, *args)
    plain = json.loads(out)
    assert "regions" not in plain
    code, out, _ = run(capsys, *args, "--regions")
    regions = json.loads(out)["regions"]
    assert len(regions) >= 2 and sum(r["requests"] for r in regions) == plain["requests"]
    hits = sum(r["hit_ratio"] * r["requests"] for r in regions)
    assert hits == pytest.approx(plain["hit_ratio"] * plain["requests"])


def test_compare_table_json_and_plot(
    synth_trace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png = tmp_path / "cmp.png"
    code, out, _ = run(
        capsys,
        "cache",
        "compare",
        "--trace",
        str(synth_trace),
        "--policies",
        "lru,arc,belady",
        "--capacities",
        "1%,5%,10%",
        "--plot",
        str(png),
        "--json",
    )
    assert code == 0
    res = json.loads(out)
    assert len(res["results"]) == 9 and len(res["upper_bound"]) == 3
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for b in res["upper_bound"]:
        for r in res["results"]:
            if r["capacity_bytes"] == b["capacity_bytes"]:
                assert r["hit_ratio"] <= b["hit_ratio"] + 1e-9
    from reelkit.stream.cache import offline_upper_bound, parse_capacity

    tr = read_trace(synth_trace)
    # the library's bound, key by key
    for b, cap in zip(res["upper_bound"], ("1%", "5%", "10%"), strict=True):
        lib = offline_upper_bound(tr, parse_capacity(cap, tr))
        assert (b["capacity_bytes"], b["hit_ratio"], b["byte_hit_ratio"]) == (
            lib.capacity_bytes,
            pytest.approx(lib.hit_ratio),
            pytest.approx(lib.byte_hit_ratio),
        )
        assert b["hit_ratio"] != pytest.approx(b["byte_hit_ratio"])  # so a swap of the two keys shows
    code, out, _ = run(
        capsys,
        "cache",
        "compare",
        "--trace",
        str(synth_trace),
        "--policies",
        "lru,sieve",
        "--capacities",
        "1%,10%",
    )
    assert code == 0 and "sieve" in out and "upper bound" in out


def _without_timing(doc: dict[str, Any]) -> dict[str, Any]:
    for r in doc["results"]:
        r.pop("requests_per_s")
    return doc


NOT_AN_EXECUTOR = "text"


def _failing_factory() -> object:
    raise RuntimeError("no cluster")


def _not_an_executor(workers: int) -> str:
    return "text"


COMPARE = ("--policies", "lru,s3fifo,gdsf,belady", "--capacities", "1%,5%", "--json")


def test_compare_on_two_workers_is_the_same_as_on_one(
    synth_trace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--workers runs the policy x capacity simulations in parallel (the command was serial, with no way to
    use another core); the results are the same, timing aside."""
    docs = []
    for workers in ("1", "2"):
        code, out, err = run(
            capsys, "cache", "compare", "--trace", str(synth_trace), *COMPARE, "--workers", workers
        )
        assert code == 0, err
        docs.append(_without_timing(json.loads(out)))
    assert len(docs[0]["results"]) == 8 and docs[0] == docs[1]


@pytest.mark.parametrize(
    ("factory", "workers"), [("recording_executor", 3), ("recording_executor_of_no_arguments", None)]
)
def test_compare_runs_on_the_executor_reelkit_executor_names(
    synth_trace: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    factory: str,
    workers: int | None,
) -> None:
    """$REELKIT_EXECUTOR=module:factory plugs in another executor: called with --workers when it takes an
    argument, its map given the 8 simulations; the results are the local pool's."""
    code, out, _ = run(capsys, "cache", "compare", "--trace", str(synth_trace), *COMPARE)
    assert code == 0
    local = _without_timing(json.loads(out))
    MAPS.clear()
    monkeypatch.setenv("REELKIT_EXECUTOR", f"reelkit.testing.executors:{factory}")
    code, out, err = run(capsys, "cache", "compare", "--trace", str(synth_trace), *COMPARE, "--workers", "3")
    assert code == 0, err
    assert [(workers, "simulating", 8)] == MAPS
    assert _without_timing(json.loads(out)) == local


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("reelkit.executor", "give package.module:factory"),
        ("no_such_module_here:make", "cannot import no_such_module_here (ModuleNotFoundError"),
        # the README's mycluster.py in the current folder, run without PYTHONPATH: say what to do
        ("no_such_module_here:make", "put the folder holding no_such_module_here on PYTHONPATH"),
        (f"{__name__}:missing", f"{__name__} has no callable missing"),
        (f"{__name__}:NOT_AN_EXECUTOR", "has no callable NOT_AN_EXECUTOR"),
        (f"{__name__}:_not_an_executor", "_not_an_executor returned a str, not an executor"),
        # a factory that fails, and a standard-library pool (map(fn, *iterables)): tracebacks before
        (f"{__name__}:_failing_factory", "_failing_factory failed (RuntimeError: no cluster)"),
        ("concurrent.futures:ThreadPoolExecutor", "whose map does not take reelkit's map(fn, tasks"),
    ],
)
def test_a_bad_reelkit_executor_is_one_line_naming_the_variable(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    value: str,
    needle: str,
) -> None:
    monkeypatch.setenv("REELKIT_EXECUTOR", value)
    code, _, err = run(capsys, "cache", "compare", "--trace", str(tmp_path / "none.csv"))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert f"REELKIT_EXECUTOR={value}: " in err and needle in err


def test_trace_from_events(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ev = pd.DataFrame(
        {
            "userId": [1, 1, 2, 3],
            "movieId": [10, 20, 10, 10],
            "rating": [4, 3, 5, 2],
            "timestamp": [100, 200, 300, 400],
        }
    )
    src = tmp_path / "ratings.csv"
    ev.to_csv(src, index=False)
    out = tmp_path / "trace.parquet"
    code, text, _ = run(capsys, "cache", "trace", "--from-events", str(src), "-o", str(out), "--json")
    assert code == 0, text
    info = json.loads(text)
    assert info["requests"] == 4 and info["titles"] == 2
    tr = read_trace(out)
    assert tr.n_requests == 4
    code, text, _ = run(
        capsys,
        "cache",
        "trace",
        "--from-events",
        str(src),
        "-o",
        str(tmp_path / "c.csv"),
        "--chunk-s",
        "600",
        "--regions",
        "2",
        "--json",
    )
    assert code == 0
    assert json.loads(text)["requests"] > 4


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--policy", "nope", "--capacity", "5%"], "unknown cache policy"),
        (["--policy", "lru", "--capacity", "5XB"], "capacity"),
        (["--policy", "lru", "--capacity", "101%"], "percentage"),
        (["--policy", "lru", "--capacity", "5%", "--param", "x=1"], "unknown parameter"),
        (["--policy", "lru", "--capacity", "5%", "--warmup", "soon"], "warm-up"),
        (["--policy", "lru", "--capacity", "5%", "--warmup", "abc%"], "warm-up"),
        (["--policy", "lru", "--capacity", "nan"], "capacity"),
    ],
)
def test_bad_input_exit_2_one_line(
    synth_trace: Path, capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    code, out, err = run(capsys, "cache", "simulate", "--trace", str(synth_trace), *args, "--json")
    assert code == 2
    assert needle in err and len(err.strip().splitlines()) == 1 and out == ""


def test_bad_trace_file_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("timestamp,object_id,size_bytes\n1,a,10\n2,b,ten\n")
    code, _, err = run(
        capsys, "cache", "simulate", "--trace", str(bad), "--policy", "lru", "--capacity", "1%"
    )
    assert code == 2 and "bad.csv:3:" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(
        capsys,
        "cache",
        "simulate",
        "--trace",
        str(tmp_path / "none.csv"),
        "--policy",
        "lru",
        "--capacity",
        "1%",
    )
    assert code == 2 and "no such trace file" in err
    code, _, err = run(
        capsys, "cache", "simulate", "--trace", str(tmp_path), "--policy", "lru", "--capacity", "1%"
    )
    assert code == 2 and "is a folder" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(capsys, "cache", "compare", "--trace", str(bad), "--plot", str(tmp_path / "x.jpg"))
    assert code == 2 and ".png" in err
    code, _, err = run(capsys, "cache", "synth", "-o", str(tmp_path / "x.txt2"))
    assert code == 2 and "trace format" in err


def _csv(path: Path, rows: list[str], header: str = "timestamp,object_id,size_bytes") -> Path:
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_the_bound_stays_above_policies_when_an_object_changes_size(tmp_path: Path) -> None:
    """``A`` requested at size 1 then twice at size 2: LRU hits twice (as libCacheSim does); the bound used
    to take the earlier size for the later hit and fell below it."""
    from reelkit.stream.cache import offline_upper_bound

    tr = read_trace(_csv(tmp_path / "resize.csv", ["1,A,1", "2,A,2", "3,A,2"]))
    lru = simulate(tr, "lru", 2)
    assert (lru.hit_ratio, lru.byte_hit_ratio) == (pytest.approx(2 / 3), pytest.approx(4 / 5))
    ub = offline_upper_bound(tr, 2)
    assert ub.hit_ratio >= lru.hit_ratio and ub.byte_hit_ratio >= lru.byte_hit_ratio
    assert (ub.hit_ratio, ub.byte_hit_ratio) == (pytest.approx(2 / 3), pytest.approx(4 / 5))
    # the simulators keep an object at its admitted size, so it can go on hitting at a size above the cache
    grown = RequestTrace.from_arrays(np.arange(3.0), [0, 0, 0], [1, 100, 100])
    assert (
        offline_upper_bound(grown, 2).hit_ratio >= simulate(grown, "lru", 2).hit_ratio == pytest.approx(2 / 3)
    )
    mixed = RequestTrace.from_arrays(np.arange(7.0), [0, 1, 0, 1, 0, 1, 0], [1, 9, 10, 9, 10, 9, 10])
    ub = offline_upper_bound(mixed, 10)
    for policy in ("lru", "fifo", "sieve", "lfu", "arc", "gdsf", "belady-size"):
        res = simulate(mixed, policy, 10)
        assert ub.hit_ratio >= res.hit_ratio - 1e-12 and ub.byte_hit_ratio >= res.byte_hit_ratio - 1e-12, (
            policy
        )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--capacity", "1e400"), "more than 2^63-1 bytes"),
        (("--capacity", "99999999999999999999"), "between 0 and 2^63-1 bytes"),
        (("--capacity", "10", "--policy", "lfu", "--param", "aging=maybe"), "aging takes true or false"),
        (("--capacity", "10", "--policy", "sieve", "--param", "n_samples=1"), "unknown parameter"),
        (("--capacity", "10", "--policy", "belady-size", "--param", "n_samples=1.5"), "takes a whole number"),
        (("--capacity", "10", "--policy", "belady-size", "--param", "n_samples=abc"), "takes a whole number"),
        (("--capacity", "10", "--policy", "belady-size", "--param", "n_samples=Infinity"), "whole number"),
        (("--capacity", "10", "--policy", "belady-size", "--param", "n_samples=NaN"), "whole number"),
        (("--capacity", "10", "--policy", "belady-size", "--param", "n_samples=0"), "error: belady-size: n_"),
        (("--capacity", "10", "--warmup", "1000d"), "covers the whole trace"),
    ],
)
def test_simulate_refuses_bad_values_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    trace = _csv(tmp_path / "t.csv", ["1,A,4", "2,B,4", "3,A,4"])
    base = ["cache", "simulate", "--trace", str(trace), "--json"]
    if "--policy" not in args:
        base += ["--policy", "lru"]
    code, _, err = run(capsys, *base, *args)
    assert code == 2 and message in err and "Traceback" not in err, err


def test_lfu_aging_flag_accepts_words(tmp_path: Path) -> None:
    from reelkit.stream.cache import make_policy

    assert make_policy("lfu", aging="True").config.aging is True  # type: ignore[attr-defined]
    assert make_policy("belady-size", n_samples=64.0).config.n_samples == 64  # type: ignore[attr-defined]
    assert make_policy("lfu", aging=np.True_).config.aging is True  # type: ignore[attr-defined]
    assert make_policy("lfu", aging=1).config.aging is True  # type: ignore[attr-defined]
    assert make_policy("belady-size", n_samples=np.int64(32)).config.n_samples == 32  # type: ignore[attr-defined]


def test_a_run_with_parameters_reports_them_beside_the_policy(
    synth_trace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--policy lfu --param aging=true`` runs LFU-DA and reported ``"policy": "lfu"``, as plain LFU does;
    the policy now carries the fields that differ from its defaults (lfuda's own default is aging on)."""
    from reelkit.stream.cache import make_policy

    code, out, _ = run(
        capsys, "cache", "simulate", "--trace", str(synth_trace), "--policy", "lfu", "--capacity", "5%",
        "--param", "aging=true", "--json",
    )  # fmt: skip
    doc = json.loads(out)
    assert code == 0 and doc["policy"] == "lfu(aging=true)"
    lfuda = json.loads(
        run(capsys, "cache", "simulate", "--trace", str(synth_trace), "--policy", "lfuda", "--capacity", "5%",
            "--json")[1]
    )  # fmt: skip
    assert lfuda["policy"] == "lfuda" and lfuda["hit_ratio"] == doc["hit_ratio"]
    assert make_policy("lfuda", aging=False).label == "lfuda(aging=false)"
    assert make_policy("s3fifo", small_size_ratio=0.2, move_to_main_threshold=3).label == (
        "s3fifo(small_size_ratio=0.2, move_to_main_threshold=3)"
    )
    assert make_policy("lfu").label == "lfu" and make_policy("belady-bypass").label == "belady-bypass"


def test_a_flag_takes_only_true_false_one_or_zero() -> None:
    """Pins the flag parse: 1 and 0 are the only numbers read as true/false; 2 or -1 is a one-line error,
    not a truthy value."""
    from reelkit.stream.cache import make_policy

    assert make_policy("lfu", aging=0).config.aging is False
    for bad in (2, -1):
        with pytest.raises(ConfigError, match=f"aging takes true or false, got {bad}"):
            make_policy("lfu", aging=bad)


def test_nanosecond_and_datetime_timestamps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A trace in nanoseconds spans 10^12 hour windows: only the windows with requests are built. A Parquet
    datetime column is read as seconds since the epoch."""
    ns = _csv(tmp_path / "ns.csv", [f"{t * 3_600_000_000_000},{o},5" for t, o in enumerate("ABAB")])
    res = simulate(read_trace(ns), "lru", 10)
    assert res.hit_ratio == 0.5 and len(res.hourly.key) == 4
    when = pd.to_datetime(["2026-01-01T00:00Z", "2026-01-01T01:30Z", "2026-01-01T03:00Z"])
    frame = pd.DataFrame({"timestamp": when, "object_id": [1, 2, 1], "size_bytes": [5, 5, 5]})
    frame.to_parquet(tmp_path / "dt.parquet")
    tr = read_trace(tmp_path / "dt.parquet")
    assert tr.timestamps.tolist() == [1767225600.0, 1767231000.0, 1767236400.0]
    code, out, err = run(
        capsys, "cache", "simulate", "--trace", str(tmp_path / "dt.parquet"), "--policy", "lru",
        "--capacity", "10", "--warmup", "1h", "--hourly", "--json",
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert data["hit_ratio"] == 0.5 and [h["requests"] for h in data["hourly"]] == [1, 1]


def test_object_ids_are_never_merged_through_floats(tmp_path: Path) -> None:
    mixed = read_trace(_csv(tmp_path / "mix.csv", ["1,-1,5", "2,18446744073709551615,5", "3,-1,5"]))
    assert mixed.n_objects == 2 and simulate(mixed, "lru", 5).hits == 0  # -1 was evicted by the other id
    text = read_trace(_csv(tmp_path / "txt.csv", ["1,1,5", "2,1.0,5"]))
    assert text.n_objects == 2
    ints = read_trace(_csv(tmp_path / "int.csv", ["1,7,5", "2,7,5"]))
    assert ints.original_ids.dtype == "int64" and ints.n_objects == 1


def test_bad_sizes_and_lines_after_blank_lines(tmp_path: Path) -> None:
    from reelkit.errors import DataFormatError

    path = tmp_path / "blank.csv"
    path.write_text("timestamp,object_id,size_bytes\n\n1,A,5\n\n2,B,-3\n")
    with pytest.raises(DataFormatError, match=r"blank\.csv:5: size_bytes"):
        read_trace(path)
    with pytest.raises(
        DataFormatError, match=r"huge\.csv:2: size_bytes must be a whole number from 1 to below"
    ):
        read_trace(_csv(tmp_path / "huge.csv", ["1,A,1e30"]))


@pytest.mark.parametrize(
    "args",
    [
        ("cache", "synth", "--chunk-s", "nan"),
        ("cache", "synth", "--chunk-s", "inf"),
        ("cache", "synth", "--seed", "-1"),
        ("cache", "synth", "--timezones", "30"),
        ("cache", "synth", "--region-shares", "0.5,0.5"),
        ("cache", "synth", "--region-shares", "1,-1,1"),
        ("cache", "synth", "--timezones", "0", "--region-shares", "nan"),
    ],
)
def test_synth_refuses_bad_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    code, _, err = run(capsys, *args, "-o", str(tmp_path / "s.parquet"), "--days", "1", "--titles", "50")
    assert code == 2 and "Traceback" not in err and err.count("\n") == 1, err


def test_outputs_that_are_folders_are_named(
    synth_trace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "d.parquet").mkdir()
    code, _, err = run(capsys, "cache", "synth", "-o", str(tmp_path / "d.parquet"), "--days", "1")
    assert code == 2 and f"{tmp_path / 'd.parquet'}: is a folder" in err, err
    (tmp_path / "p.png").mkdir()
    code, out, err = run(
        capsys, "cache", "compare", "--trace", str(synth_trace), "--plot", str(tmp_path / "p.png"),
        "--policies", "lru", "--capacities", "5%",
    )  # fmt: skip
    assert code == 2 and f"{tmp_path / 'p.png'}: is a folder" in err and not out.strip(), err


def test_ids_written_differently_stay_different_and_catalogues_match_them(tmp_path: Path) -> None:
    from reelkit.stream.cache import read_object_catalog

    tr = read_trace(
        _csv(tmp_path / "pad.csv", ["1,007,100", "2,7,200", "3,+7,300", "4,NA,50", "5,000001,60"])
    )
    assert tr.n_objects == 5 and tr.original_ids.tolist() == ["007", "7", "+7", "NA", "000001"]
    cat = tmp_path / "pad.objects.csv"
    cat.write_text("object_id,title_id,rendition\n007,t1,hd\n7,t1,sd\n\n+7,t2,hd\nNA,null,sd\n000001,t3,hd\n")
    got = read_object_catalog(cat, tr)
    assert got.n_titles == 4 and got.groups.tolist() == [1, 1, 2, 0, 3]  # titles sorted: null, t1, t2, t3
    cat.write_text("object_id,title_id,rendition\n007,t1,hd\n\n7,,sd\n")
    from reelkit.errors import DataFormatError

    with pytest.raises(DataFormatError, match=r"pad\.objects\.csv:4: empty title_id"):
        read_object_catalog(cat, tr)


def test_capacity_of_exactly_2_63_minus_1_bytes() -> None:
    from reelkit.stream.cache import parse_capacity

    assert parse_capacity("9223372036854775807") == 2**63 - 1


def test_a_decimal_capacity_rounds_to_the_nearest_byte() -> None:
    """Pins parse_capacity's rounding: 1.001kB is 1001 bytes and 1.005GB 1,005,000,000, though the floats
    1.001 * 1000 and 1.005 * 1e9 fall just below (truncation gave 1000 and 1,004,999,999)."""
    from reelkit.stream.cache import parse_capacity

    assert parse_capacity("1.001kB") == 1001 and parse_capacity("1.005GB") == 1_005_000_000


def test_trace_and_catalogue_are_written_as_a_pair(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "pair.parquet"
    args = ("--days", "1", "--titles", "50", "--views-per-day", "200")
    assert run(capsys, "cache", "synth", "-o", str(out), "--seed", "1", *args)[0] == 0
    before = out.read_bytes()
    out.with_name("pair.parquet.objects.csv").unlink()
    out.with_name("pair.parquet.objects.csv").mkdir()
    code, _, err = run(capsys, "cache", "synth", "-o", str(out), "--seed", "2", *args)
    assert code == 2 and "object catalogue" in err and out.read_bytes() == before  # the trace is untouched


def test_a_failed_catalogue_write_leaves_the_old_trace_and_catalogue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The trace was replaced before the catalogue was written: a full disk at the catalogue left a new
    trace beside the old catalogue (of other objects)."""
    import errno

    out = tmp_path / "pair.parquet"
    catalogue = out.with_name("pair.parquet.objects.csv")
    args = ("--days", "1", "--titles", "50", "--views-per-day", "200")
    assert run(capsys, "cache", "synth", "-o", str(out), "--seed", "1", *args)[0] == 0
    before = out.read_bytes(), catalogue.read_bytes()

    write_text = Path.write_text

    def full(path: Path, text: str, **kwargs: Any) -> int:
        if path.name.startswith(f".{catalogue.name}."):  # the catalogue's temporary file
            raise OSError(errno.ENOSPC, "No space left on device")
        return write_text(path, text, **kwargs)

    monkeypatch.setattr(Path, "write_text", full)
    code, _, err = run(capsys, "cache", "synth", "-o", str(out), "--seed", "2", *args)
    assert code == 2 and err == f"error: {catalogue}: No space left on device\n"
    assert (out.read_bytes(), catalogue.read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name, catalogue.name]  # no temporary left
    monkeypatch.undo()
    # killed among the two renames (the catalogue renamed, the trace not): the old trace beside the new
    # catalogue was refused by every reader, and the old pair was gone; the next reader completes the pair
    import subprocess
    import sys

    kill = (
        "import os, sys, reelkit._files as f; real = f.replace_file; n = []\n"
        "def once(a, b):\n    n.append(1)\n    if len(n) == 2: os._exit(9)\n    real(a, b)\n"
        "f.replace_file = once\nfrom reelkit.cli import main\nmain(sys.argv[1:])\n"
    )
    synth = ["cache", "synth", "-o", str(out), "--seed", "2", *args, "--json"]
    killed = subprocess.run([sys.executable, "-c", kill, *synth], capture_output=True, check=False)
    assert killed.returncode == 9
    assert out.read_bytes() == before[0] and any(
        p.name.startswith(".reelkit-commit-") for p in tmp_path.iterdir()
    )
    trace = read_trace(out)  # completes the commit
    assert out.read_bytes() != before[0] and catalogue.read_bytes() != before[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name, catalogue.name]
    from reelkit.stream.cache import read_object_catalog

    assert len(read_object_catalog(catalogue, trace).groups) == trace.n_objects


def test_review_three_cache_edges(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import numpy as np

    from reelkit.errors import ConfigError, DataFormatError
    from reelkit.stream.advice import NetworkProfile
    from reelkit.stream.cache import parse_capacity, read_trace

    # byte totals that would overflow 64-bit sums are refused, not turned into negative ratios
    big = tmp_path / "big.csv"
    big.write_text(
        "timestamp,object_id,size_bytes\n" + "".join(f"{i},a,3000000000000000000\n" for i in range(4))
    )
    with pytest.raises(DataFormatError, match="2\\^62"):
        read_trace(big)
    # a fraction of a byte is not a capacity
    with pytest.raises(ConfigError, match="percentage"):
        parse_capacity("0.4")
    # samples taken at the same time: the profile does not depend on the order they came in
    t = np.repeat(np.arange(0, 600, 20.0), 2)
    b = np.where(np.arange(len(t)) % 3 == 0, 0.5, 9.0)
    p = np.random.default_rng(0).permutation(len(t))
    one, two = NetworkProfile.from_samples(t, b), NetworkProfile.from_samples(t[p], b[p])
    assert np.array_equal(one.mbps, two.mbps) and np.array_equal(one.times_s, two.times_s)
    # two capacities of one size keep both labels
    h = tmp_path / "h.csv"
    h.write_text("timestamp,object_id,size_bytes\n0,a,10\n1,b,40\n2,a,10\n")
    code, out, err = run(
        capsys, "cache", "compare", "--trace", str(h), "--policies", "lru", "--capacities", "40%,20B"
    )
    assert code == 0, err
    assert "40% = 20B" in out
    # ... and it is simulated once: one row (and one JSON result) per size, not one per text
    code, out, err = run(
        capsys,
        "cache",
        "compare",
        "--trace",
        str(h),
        "--policies",
        "lru",
        "--capacities",
        "40%,20B,40%",
        "--json",
    )
    assert code == 0 and [r["capacity_bytes"] for r in json.loads(out)["results"]] == [20], err
    # a policy given twice (any case) is simulated once too, in the order first given (it ran twice, and the
    # plot drew both runs as one line doubling back)
    code, out, err = run(
        capsys, "cache", "compare", "--trace", str(h), "--policies", "lru,fifo,LRU",
        "--capacities", "20B,40B", "--json", "--no-bound",
    )  # fmt: skip
    got = [(r["policy"], r["capacity_bytes"]) for r in json.loads(out)["results"]]
    assert code == 0 and got == [("lru", 20), ("lru", 40), ("fifo", 20), ("fifo", 40)], err


def test_csv_gz_traces_are_gzip_both_ways(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import gzip

    out = tmp_path / "s.csv.gz"
    code, _, err = run(capsys, "cache", "synth", "-o", str(out), "--days", "1", "--titles", "50",
                       "--views-per-day", "200", "--json")  # fmt: skip
    assert code == 0, err
    assert out.read_bytes()[:2] == b"\x1f\x8b"  # gzip's magic: compressed (was plain text)
    with gzip.open(out, "rt") as fh:
        assert fh.readline().startswith("timestamp,object_id,size_bytes")
    assert read_trace(out).n_requests > 100
    fake = tmp_path / "fake.csv.gz"
    fake.write_text("timestamp,object_id,size_bytes\n1,a,1\n")  # named .gz, not compressed
    code, _, err = run(
        capsys, "cache", "simulate", "--trace", str(fake), "--policy", "lru", "--capacity", "5%"
    )
    assert code == 2 and "fake.csv.gz: not a readable gzip file" in err and err.count("\n") == 1


def test_trace_refuses_a_catalogue_name_that_is_its_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = tmp_path / "q.parquet.objects.csv"
    events.write_text("userId,movieId,rating,timestamp\n1,10,4,964982703\n2,10,5,964982704\n")
    before = events.read_bytes()
    code, _, err = run(
        capsys, "cache", "trace", "--from-events", str(events), "-o", str(tmp_path / "q.parquet")
    )
    assert code == 2 and "would overwrite an input" in err
    assert events.read_bytes() == before and not (tmp_path / "q.parquet").exists()


@pytest.mark.parametrize(
    ("events_name", "catalogue"), [("ratings.csv", "movies.csv"), ("plays.csv", "titles.csv")]
)
def test_trace_refuses_to_overwrite_the_catalogue_read_beside_its_events(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], events_name: str, catalogue: str
) -> None:
    """-o movies.csv beside ratings.csv overwrote the catalogue the titles were just read from (refused only
    when the folder was the input)."""
    events = tmp_path / events_name
    events.write_text("userId,movieId,rating,timestamp\n1,10,4,964982703\n2,10,5,964982704\n")
    (tmp_path / catalogue).write_text("movieId,title,genres\n10,Heat (1995),Action\n")
    before = (tmp_path / catalogue).read_bytes()
    code, _, err = run(
        capsys, "cache", "trace", "--from-events", str(events), "-o", str(tmp_path / catalogue)
    )
    assert code == 2 and err.count("\n") == 1
    assert f"{catalogue}: the output would overwrite an input file" in err
    assert (tmp_path / catalogue).read_bytes() == before
    assert not (tmp_path / f"{catalogue}.objects.csv").exists()


def test_region_ids_are_labels_not_positions(tmp_path: Path) -> None:
    path = _csv(tmp_path / "r.csv", ["0,a,1,1000000000", "1,a,1,64512", "2,b,1,64512"],
                header="timestamp,object_id,size_bytes,region")  # fmt: skip
    res = simulate(read_trace(path), "lru", 10)  # was a 1e9-long table (21 GB, killed)
    assert res.by_region is not None
    assert res.by_region.key.tolist() == [64512.0, 1e9]
    assert res.by_region.requests.tolist() == [2, 1] and res.by_region.hits.tolist() == [1, 0]
    assert read_trace(path).n_regions == 2


def test_rows_out_of_time_order_are_replayed_in_file_order_with_a_warning(tmp_path: Path) -> None:
    """As libCacheSim replays them (two servers' logs one after the other: sorting them made the miss
    ratio 0.408 where libCacheSim's was 0.020); a duration warm-up, which needs time order, is refused."""
    from reelkit.errors import ConfigError, ReelkitWarning

    path = _csv(tmp_path / "u.csv", ["100,a,1", "0,b,1", "50,a,1", "7200,b,1"])
    with pytest.warns(ReelkitWarning, match="1 request.* come before the one above them; .* file's order"):
        tr = read_trace(path)
    assert tr.timestamps.tolist() == [100, 0, 50, 7200]
    assert simulate(tr, "lru", 2).hit_mask.tolist() == [False, False, True, True]  # a b a b, in file order
    with pytest.raises(ConfigError, match="not in time order"):
        simulate(tr, "lru", 1, warmup="60s")
    assert simulate(tr, "lru", 1, warmup=0.5).warmup_requests == 2  # a fraction is a count of rows


def test_s3fifo_warns_when_objects_do_not_fit_its_small_queue(tmp_path: Path) -> None:
    from reelkit.errors import ReelkitWarning

    tr = RequestTrace.from_arrays(np.arange(8.0), list("abcdabcd"), [1] * 8)
    with pytest.warns(ReelkitWarning, match=r"s3fifo: 100\.0% of the requests .* never caches"):
        assert simulate(tr, "s3fifo", 4).hits == 0
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        simulate(tr, "s3fifo", 40)  # a queue of 4 bytes holds these 1-byte objects: no warning


def test_unsigned_64_bit_ids_survive_a_csv_round_trip(tmp_path: Path) -> None:
    from reelkit.stream.cache import write_trace

    ids = np.array([2**64 - 5, 3, 2**64 - 5, 2**63 + 1], dtype=np.uint64)
    tr = RequestTrace.from_arrays([0.0, 1.0, 2.0, 3.0], ids, [10, 10, 10, 10])
    write_trace(tr, tmp_path / "a.oracleGeneral")
    write_trace(read_trace(tmp_path / "a.oracleGeneral"), tmp_path / "a.csv")
    back = read_trace(tmp_path / "a.csv")
    write_trace(back, tmp_path / "b.oracleGeneral")
    assert (tmp_path / "b.oracleGeneral").read_bytes() == (tmp_path / "a.oracleGeneral").read_bytes()
    assert back.original_ids[back.objects].tolist() == ids.tolist()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("cache", "simulate", "--policy", "lru", "--capacity", "10Gb"), "a small b is bits"),
        (("cache", "simulate", "--policy", "lru", "--capacity", "50gb"), "write 50GB"),  # was "50gB"
        (("cache", "simulate", "--policy", "lru", "--capacity", "2mib"), "write 2MiB"),
        (("cache", "plan", "--capacity", "5%", "--fill-rate", "1.2"), "give a unit"),
        (("cache", "synth", "--days", "0"), "--days 0: must be"),
        (("cache", "synth", "--chunk-s", "0"), "--chunk-s 0: must be"),
        # refused before the requests are made (8.2 billion of them: memory would run out first)
        (("cache", "synth", "--chunk-s", "0.1"), "(--chunk-s) 0.1: these"),
    ],
)
def test_units_and_options_are_named(
    synth_trace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], needle: str
) -> None:
    extra = ("-o", str(tmp_path / "s.parquet")) if args[1] == "synth" else ("--trace", str(synth_trace))
    code, _, err = run(capsys, *args, *extra)
    assert code == 2 and needle in err and err.count("\n") == 1, err


def test_reactive_policy_names_ignore_case_and_titles_print_as_written(
    synth_trace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    short = tmp_path / "short.parquet"
    assert run(capsys, "cache", "synth", "-o", str(short), "--days", "4", "--titles", "60",
               "--views-per-day", "300")[0] == 0  # fmt: skip
    code, _, err = run(capsys, "cache", "plan", "--trace", str(short), "--capacity", "5%",
                       "--reactive", "LRU", "--train-days", "2", "--json")  # fmt: skip
    assert code == 0, err
    samples = tmp_path / "s.csv"
    samples.write_text("timestamp,mbps\n" + "".join(f"{1_700_000_000 + 600 * i},50\n" for i in range(200)))
    code, out, err = run(capsys, "cache", "advise", "--samples", str(samples), "--quality", "750",
                         "--title", "a:b:60:3600", "--at", "1700050000")  # fmt: skip
    assert code == 0, err
    assert "a:b:60" in out


def test_an_upper_case_csv_gz_name_reads_back(tmp_path: Path) -> None:
    from reelkit.stream.cache import write_trace

    tr = RequestTrace.from_arrays([0.0, 1.0, 2.0], ["a", "b", "a"], [5, 6, 5])
    write_trace(tr, tmp_path / "W.CSV.GZ")
    assert read_trace(tmp_path / "W.CSV.GZ").n_requests == 3  # pyarrow took it for plain text


def test_the_plots_lines_run_by_size_whatever_order_the_capacities_were_typed(
    synth_trace: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import matplotlib.axes

    drawn: dict[str, list[float]] = {}
    plot = matplotlib.axes.Axes.plot

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        drawn[str(kwargs.get("label"))] = list(args[0])
        return plot(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.axes.Axes, "plot", spy)
    args = ["--policies", "lru", "--capacities", "10%,1%,5%", "--plot", str(tmp_path / "p.png")]
    code, _, _ = run(capsys, "cache", "compare", "--trace", str(synth_trace), *args)
    assert code == 0 and set(drawn) == {"lru", "upper bound"}
    for xs in drawn.values():  # the bound zigzagged 10% -> 1% -> 5%
        assert len(xs) == 3 and xs == sorted(xs)


def test_a_millisecond_trace_is_simulated_in_seconds_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 1-day warm-up of a 3-day trace in unix milliseconds took 3 requests, as if the trace were 1,000
    times as long, with no word; it takes the day's requests and the warning names the file."""
    day = 86_400
    stamps = [1_600_000_000 + i * 3 * day // 30 for i in range(30)]  # 30 requests over 3 days, 10 a day
    rows = "".join(f"{t * 1000},{i % 4},10\n" for i, t in enumerate(stamps))
    (tmp_path / "ms.csv").write_text("timestamp,object_id,size_bytes\n" + rows)
    args = ("--policy", "lru", "--capacity", "10", "--warmup", "1d", "--json")
    code, out, err = run(capsys, "cache", "simulate", "--trace", str(tmp_path / "ms.csv"), *args)
    assert code == 0, err
    assert json.loads(out)["warmup_requests"] == 10
    assert "warning:" in err and "ms.csv: timestamps read as milliseconds" in err


def test_trace_regions_has_a_bound_named_in_the_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--regions 99999999999999999999 reached numpy (a cast warning, then an error naming no option)."""
    events = tmp_path / "ratings.csv"
    events.write_text("userId,movieId,rating,timestamp\n1,10,4,964982703\n2,10,5,964982704\n")
    out = tmp_path / "q.parquet"
    code, _, err = run(
        capsys,
        "cache",
        "trace",
        "--from-events",
        str(events),
        "-o",
        str(out),
        "--regions",
        "99999999999999999999",
    )
    assert code == 2 and err.startswith("error: reelkit cache trace: Invalid value for '--regions'"), err
    assert "1000000" in err and err.count("\n") == 1 and not out.exists()


def test_objects_that_change_size_are_said_and_compare_names_its_warm_up(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An object requested at 10 then 1000 bytes showed 2000 bytes hit from a 15-byte cache with no word;
    compare's table did not say it measured after a warm-up (simulate's does)."""
    trace = tmp_path / "vs.csv"
    trace.write_text("timestamp,object_id,size_bytes\n1,a,10\n2,a,1000\n3,a,1000\n4,b,5\n5,b,5\n")
    code, out, err = run(
        capsys, "cache", "compare", "--trace", str(trace), "--capacities", "15", "--policies", "lru"
    )
    assert code == 0 and "1 object(s) change size between requests (first: a, 10 then 1000 bytes)" in err
    code, out, err = run(
        capsys,
        "cache",
        "compare",
        "--trace",
        str(trace),
        "--policies",
        "lru",
        "--capacities",
        "15",
        "--warmup",
        "40%",
    )
    assert code == 0 and "measured after 2 warm-up requests" in out


# ------------------------------------------------------- options that reach the library (a mutation pass)
def test_compare_measures_the_bound_after_the_same_warm_up(
    synth_trace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--warmup reached the policies but not the upper bound, which was then over other requests."""
    from reelkit.stream.cache.sim import offline_upper_bound, parse_capacity

    args = ("--trace", str(synth_trace), "--policies", "lru", "--capacities", "5%", "--json")
    code, out, _ = run(capsys, "cache", "compare", *args, "--warmup", "50%")
    assert code == 0
    bound = json.loads(out)["upper_bound"][0]["hit_ratio"]
    tr = read_trace(synth_trace)
    cap = parse_capacity("5%", tr)
    assert bound == pytest.approx(offline_upper_bound(tr, cap, warmup="50%").hit_ratio, abs=1e-6)
    assert bound != pytest.approx(offline_upper_bound(tr, cap).hit_ratio, abs=1e-3)


def test_trace_from_events_takes_its_seed_and_regions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(0)
    ev = pd.DataFrame(
        {
            "userId": rng.integers(1, 40, 300),
            "movieId": rng.integers(1, 30, 300),
            "rating": 4,
            "timestamp": np.sort(rng.integers(0, 5 * 86400, 300)),
        }
    )
    src = tmp_path / "ratings.csv"
    ev.to_csv(src, index=False)

    def made(name: str, *args: str) -> tuple[dict[str, Any], RequestTrace]:
        code, text, _ = run(capsys, "cache", "trace", "--from-events", str(src), "-o", str(tmp_path / name),
                            *args, "--json")  # fmt: skip
        assert code == 0, text
        return json.loads(text), read_trace(tmp_path / name)

    info, three = made("r3.parquet", "--regions", "3", "--seed", "1")
    assert info["regions"] == 3 and sorted(set(three.regions.tolist())) == [0, 1, 2]
    _, again = made("again.parquet", "--regions", "3", "--seed", "1")
    _, other = made("other.parquet", "--regions", "3", "--seed", "2")
    assert (again.objects == three.objects).all() and (again.regions == three.regions).all()
    assert not (
        len(other.objects) == len(three.objects)
        and (other.objects == three.objects).all()
        and (other.regions == three.regions).all()
    )


def test_synth_takes_its_zipf_offset_and_release_rate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ("--seed", "1", "--days", "1", "--titles", "100", "--views-per-day", "1000")

    def made(name: str, *args: str) -> RequestTrace:
        code, text, _ = run(capsys, "cache", "synth", "-o", str(tmp_path / name), *base, *args)
        assert code == 0, text
        return read_trace(tmp_path / name)

    default = made("d.parquet")
    for option in (("--zipf-q", "1"), ("--releases-per-day", "20")):
        other = made(f"{option[0][2:]}.parquet", *option)
        assert not (len(other.objects) == len(default.objects) and (other.objects == default.objects).all())
    released = pd.read_csv(tmp_path / "releases-per-day.parquet.objects.csv")
    fewer = pd.read_csv(tmp_path / "d.parquet.objects.csv")
    assert released["title_id"].nunique() > fewer["title_id"].nunique()
