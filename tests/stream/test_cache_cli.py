"""``reelkit cache simulate | compare | trace | synth`` end to end: JSON shapes, files, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from reelkit.cli import main
from reelkit.stream.cache import read_trace, simulate
from reelkit.testing.cli import run_cli as run

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
        (["--policy", "lru", "--capacity", "0%"], "percentage"),
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
