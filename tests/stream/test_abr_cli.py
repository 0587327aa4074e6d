"""``reelkit abr simulate | compare | train | optimal`` end to end on small synthetic inputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reelkit.cli import main
from reelkit.testing.executors import MAPS

KEYS = {
    "algo",
    "traces",
    "qoe_per_chunk_mean",
    "qoe_sum_mean",
    "avg_bitrate_kbps",
    "rebuffer_s_mean",
    "switches_mean",
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("abr")
    traces, video = root / "traces", root / "video"
    traces.mkdir()
    video.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        t = np.concatenate([[0.0], np.cumsum(rng.uniform(0.5, 1.5, size=300))])
        bw = rng.lognormal(np.log(1.5), 0.6, size=301)
        (traces / f"trace_{i}").write_text("".join(f"{a:.3f}\t{b:.4f}\n" for a, b in zip(t, bw, strict=True)))
    ladder = [300, 750, 1200, 1850, 2850, 4300]
    for lv, kbps in enumerate(ladder):
        sizes = (kbps * 500 * rng.uniform(0.8, 1.2, size=49)).astype(int)
        (video / f"video_size_{lv}").write_text("\n".join(map(str, sizes)) + "\n")
    return traces, video


def _run(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def _simulate(
    capsys: pytest.CaptureFixture[str], traces: Path, video: Path, *extra: str, cmd: str = "simulate"
) -> tuple[int, str, str]:
    """``reelkit abr CMD --traces TRACES --video VIDEO EXTRA...`` (CMD: simulate by default)."""
    return _run(capsys, ["abr", cmd, "--traces", str(traces), "--video", str(video), *extra])


@pytest.mark.parametrize("algo", ["robustmpc", "bba", "best"])
def test_simulate_json(capsys: pytest.CaptureFixture[str], inputs: tuple[Path, Path], algo: str) -> None:
    traces, video = inputs
    code, out, _ = _simulate(capsys, traces, video, "--algo", algo, "--json")
    assert code == 0
    doc = json.loads(out)
    assert set(doc) >= KEYS and doc["algo"] == algo and doc["traces"] == 3
    assert np.isfinite(doc["qoe_per_chunk_mean"])
    assert doc["qoe_sum_mean"] == pytest.approx(doc["qoe_per_chunk_mean"] * 47)
    # the issue reports QoE per trace too (sum over chunks 1..47 and per chunk); the means are theirs
    per = doc["per_trace"]
    assert len(per) == 3 and all(p["qoe_sum"] == pytest.approx(p["qoe_per_chunk"] * 47) for p in per)
    assert np.mean([p["qoe_sum"] for p in per]) == pytest.approx(doc["qoe_sum_mean"])


def test_a_kbps_trace_is_warned_about_once_per_file(
    capsys: pytest.CaptureFixture[str], inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    """The trace loader's unit warning is one line per file, not one per line of it."""
    _, video = inputs
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text("".join(f"{i} 500\n" for i in range(50)))
    code, _, err = _simulate(capsys, tmp_path, video, "--algo", "bba", "--json")
    assert code == 0
    for name in ("a.txt", "b.txt"):
        assert err.count(f"warning: {tmp_path / name}: the median throughput is 500 Mbit/s") == 1, err
    assert err.count("warning:") == 2, err


def test_results_name_the_policy_not_the_spelling_typed(
    capsys: pytest.CaptureFixture[str], inputs: tuple[Path, Path]
) -> None:
    traces, video = inputs
    code, out, _ = _simulate(capsys, traces, video, "--algo", "RMPC", "--json")
    assert code == 0 and json.loads(out)["algo"] == "robustmpc"
    code, out, _ = _simulate(
        capsys, traces, video, "--algos", "bb,Robust-MPC,opt,BBA", "--json", cmd="compare"
    )
    assert code == 0 and [r["algo"] for r in json.loads(out)["results"]] == ["bba", "robustmpc", "optimal"]
    assert all(len(r["per_trace"]) == r["traces"] for r in json.loads(out)["results"])


def _without_timing(doc: dict[str, Any]) -> dict[str, Any]:
    for r in doc["results"]:
        r.pop("seconds")
    return doc


def test_compare_on_two_workers_is_the_same_as_on_one(
    capsys: pytest.CaptureFixture[str], inputs: tuple[Path, Path]
) -> None:
    """--workers simulates the traces in parallel (the command was serial, with no way to use another core);
    the results, sessions included, are the same, timing aside."""
    traces, video = inputs
    docs = []
    for workers in ("1", "2"):
        args = ("--algos", "bba,bola,robustmpc,best", "--json", "--workers", workers)
        code, out, err = _simulate(capsys, traces, video, *args, cmd="compare")
        assert code == 0, err
        docs.append(_without_timing(json.loads(out)))
    assert [len(r["per_trace"]) for r in docs[0]["results"]] == [3] * 4 and docs[0] == docs[1]


@pytest.mark.parametrize(("cmd", "algo"), [("simulate", "robustmpc"), ("optimal", None)])
def test_simulate_and_optimal_run_on_the_executor_reelkit_executor_names(
    capsys: pytest.CaptureFixture[str],
    inputs: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    cmd: str,
    algo: str | None,
) -> None:
    """$REELKIT_EXECUTOR plugs another executor into abr simulate and abr optimal (with --workers' count)."""
    traces, video = inputs
    args = ("--json", "--workers", "3", *(("--algo", algo) if algo else ()))
    code, out, _ = _simulate(capsys, traces, video, *args, cmd=cmd)
    assert code == 0
    local = json.loads(out)
    MAPS.clear()
    monkeypatch.setenv("REELKIT_EXECUTOR", "reelkit.testing.executors:recording_executor")
    code, out, err = _simulate(capsys, traces, video, *args, cmd=cmd)
    assert code == 0, err
    assert [(3, f"simulating {algo}" if algo else "offline optimum", 3)] == MAPS
    local.pop("seconds")
    assert {k: v for k, v in json.loads(out).items() if k != "seconds"} == local


def test_simulate_qoe_variants_differ(capsys: pytest.CaptureFixture[str], inputs: tuple[Path, Path]) -> None:
    traces, video = inputs
    vals = []
    for q in ("lin", "log", "hd"):
        code, out, _ = _simulate(capsys, traces, video, "--algo", "bba", "--qoe", q, "--json")
        assert code == 0
        vals.append(json.loads(out)["qoe_per_chunk_mean"])
    assert len(set(vals)) == 3


def test_the_simulate_table_has_each_mean_under_its_own_column(
    capsys: pytest.CaptureFixture[str], inputs: tuple[Path, Path]
) -> None:
    """Pins the table's row against its --json: the 8 cells are the 7 keys and startup_s_mean, in order."""
    traces, video = inputs
    code, out, _ = _simulate(capsys, traces, video, "--algo", "bba", "--json")
    assert code == 0
    doc = json.loads(out)
    code, out, _ = _simulate(capsys, traces, video, "--algo", "bba")
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("│ bba"))
    cells = [c.strip() for c in row.split("│")[1:-1]]
    keys = ["algo", "traces", "qoe_per_chunk_mean", "qoe_sum_mean", "avg_bitrate_kbps", "rebuffer_s_mean"]
    want = [f"{doc[k]:.4g}" if isinstance(doc[k], float) else str(doc[k]) for k in keys]
    assert cells == [*want, f"{doc['switches_mean']:.4g}", f"{doc['startup_s_mean']:.4g}"]


def test_compare_with_plot(
    capsys: pytest.CaptureFixture[str], inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    traces, video = inputs
    png = tmp_path / "cmp.png"
    code, out, _ = _run(
        capsys,
        [
            "abr",
            "compare",
            "--traces",
            str(traces),
            "--video",
            str(video),
            "--algos",
            "bba,rate,optimal",
            "--plot",
            str(png),
            "--json",
        ],
    )
    assert code == 0
    doc = json.loads(out)
    by = {r["algo"]: r for r in doc["results"]}
    assert set(by) == {"bba", "rate", "optimal"}
    assert by["optimal"]["qoe_per_chunk_mean"] >= max(
        by["bba"]["qoe_per_chunk_mean"], by["rate"]["qoe_per_chunk_mean"]
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_optimal_and_train(
    capsys: pytest.CaptureFixture[str], inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    traces, video = inputs
    code, out, _ = _simulate(capsys, traces, video, "--json", cmd="optimal")
    assert code == 0
    doc = json.loads(out)
    assert len(doc["per_trace"]) == 3 and len(doc["per_trace"][0]["levels"]) == 48
    model = tmp_path / "m.npz"
    code, out, _ = _simulate(
        capsys, traces, video, "-o", str(model), "--episodes", "1", "--epochs", "2", "--json", cmd="train"
    )
    assert code == 0 and model.is_file()
    from reelkit.stream.abr.stochastic import SMOOTH_FADE_CANDIDATES, StochasticMPC

    fade = json.loads(out)["smooth_fade_chunks"]
    assert fade in SMOOTH_FADE_CANDIDATES and StochasticMPC.load(model).smooth_fade_chunks == fade
    code, out, _ = _simulate(capsys, traces, video, "--algo", "fugu", "--model", str(model), "--json")
    assert code == 0 and json.loads(out)["traces"] == 3


def test_optimal_takes_the_ladder_cells_and_chunks_given(
    capsys: pytest.CaptureFixture[str], inputs: tuple[Path, Path]
) -> None:
    """Pins abr optimal's options reaching the library: --bitrates is the ladder the levels are read in
    (avg_bitrate_kbps: its mean at the levels after the first, as Pensieve counts), --time-step and
    --buffer-step are the DP cells in that order, --chunks the session length (run_optimal's QoE)."""
    from reelkit.stream.abr.base import load_video_dir
    from reelkit.stream.abr.evaluate import run_optimal
    from reelkit.stream.abr.sim import SimConfig
    from reelkit.stream.abr.traces import load_traces

    traces, video = inputs
    ladder = [100.0, 200.0, 400.0, 800.0, 1600.0, 3200.0]
    args = ["--bitrates", ",".join(f"{b:g}" for b in ladder), "--chunks", "10"]
    code, out, err = _simulate(
        capsys, traces, video, *args, "--time-step", "1", "--buffer-step", "3", "--json", cmd="optimal"
    )
    assert code == 0, err
    per = json.loads(out)["per_trace"]
    assert [len(p["levels"]) for p in per] == [10, 10, 10]
    for p in per:
        assert p["avg_bitrate_kbps"] == pytest.approx(np.mean([ladder[lv] for lv in p["levels"][1:]]))
    trs, vid = load_traces(traces), load_video_dir(video, bitrates_kbps=ladder)
    lib = run_optimal(trs, vid, config=SimConfig(total_chunks=10), time_step_s=1.0, buffer_step_s=3.0)
    swapped = run_optimal(trs, vid, config=SimConfig(total_chunks=10), time_step_s=3.0, buffer_step_s=1.0)
    assert [p["qoe_sum"] for p in per] == pytest.approx([s.summary()["qoe_sum"] for s in lib.sessions])
    assert [p["qoe_sum"] for p in per] != pytest.approx([s.summary()["qoe_sum"] for s in swapped.sessions])


def test_the_mahimahi_window_reaches_the_trace_reader(
    capsys: pytest.CaptureFixture[str], inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    """Pins --mahimahi-window: a bursty Mahimahi trace read in 0.5 s windows gives the library's result
    for that window, not the default 1 s one."""
    from reelkit.stream.abr.base import load_video_dir
    from reelkit.stream.abr.evaluate import run_algorithm
    from reelkit.stream.abr.sim import SimConfig
    from reelkit.stream.abr.traces import load_traces

    _, video = inputs
    folder = tmp_path / "mm"
    folder.mkdir()
    # a packet a ms for the first 400 ms of each 3 s, over 90 s
    ms = [t + k for t in range(0, 90_000, 3000) for k in range(400)]
    (folder / "burst.down").write_text("\n".join(map(str, ms)) + "\n")
    code, out, err = _simulate(
        capsys, folder, video, "--algo", "rate", "--mahimahi-window", "0.5", "--chunks", "12", "--json"
    )
    assert code == 0, err
    vid, cfg = load_video_dir(video), SimConfig(total_chunks=12)
    want = run_algorithm("rate", load_traces(folder, mahimahi_window_s=0.5), vid, config=cfg).summary()
    default = run_algorithm("rate", load_traces(folder), vid, config=cfg).summary()
    got = json.loads(out)
    assert got["qoe_sum_mean"] == pytest.approx(want["qoe_sum_mean"])
    assert got["qoe_sum_mean"] != pytest.approx(default["qoe_sum_mean"])


def test_bad_inputs_exit_2(
    capsys: pytest.CaptureFixture[str], inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    traces, video = inputs
    code, _, err = _simulate(capsys, tmp_path / "nope", video, "--algo", "bba", "--json")
    assert code == 2 and "does not exist" in err and len(err.strip().splitlines()) == 1
    code, _, err = _simulate(capsys, traces, video, "--algo", "xyz")
    assert code == 2 and "unknown ABR algorithm 'xyz'" in err
    code, _, err = _simulate(capsys, traces, video, "--algo", "xyz", "--model", "m.npz")  # said "takes none"
    assert code == 2 and "unknown ABR algorithm 'xyz'" in err
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "t").write_text("0 1.0\n1 2.0\n2 oops\n")
    code, _, err = _simulate(capsys, bad, video, "--algo", "bba")
    assert code == 2 and f"{bad / 't'}:3:" in err
    (bad / "t").write_text("")
    code, _, err = _simulate(capsys, bad, video, "--algo", "bba")
    assert code == 2 and "empty" in err
    code, _, err = _simulate(capsys, traces, tmp_path, "--algo", "bba")
    assert code == 2 and "video_size" in err
    code, _, err = _simulate(
        capsys, traces, video, "-o", str(tmp_path / "x.npz"), "--epochs", "0", cmd="train"
    )
    assert code == 2
    code, _, err = _simulate(
        capsys, traces, video, "--algo", "fugu", "--model", str(tmp_path / "missing.npz")
    )
    assert code == 2 and "missing.npz: no such model file" in err
    (tmp_path / "empty.npz").write_bytes(b"")  # a damaged model file is one line too, not a traceback
    code, _, err = _simulate(capsys, traces, video, "--algo", "fugu", "--model", str(tmp_path / "empty.npz"))
    assert code == 2 and "truncated or corrupt" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        (["--algos", "bba,rate", "--model", "m.npz"], "--model is for the learned policies"),
        (["--algos", "bba", "--plot-traces", "trace_0"], "--plot-traces chooses the traces of the plot"),
        (["--algos", "bba", "--plot", "PLOT", "--plot-traces", "trace_9"], "no trace named trace_9"),
    ],
)
def test_compare_options_that_would_be_ignored_are_refused_first(
    capsys: pytest.CaptureFixture[str],
    inputs: tuple[Path, Path],
    tmp_path: Path,
    extra: list[str],
    needle: str,
) -> None:
    traces, video = inputs
    args = [str(tmp_path / "p.png") if a == "PLOT" else a for a in extra]
    code, _, err = _simulate(capsys, traces, video, *args, cmd="compare")
    assert code == 2 and needle in err and err.count("\n") == 1, err
    assert not (tmp_path / "p.png").exists()


def test_a_short_video_plays_all_its_chunks_by_default(
    capsys: pytest.CaptureFixture[str], inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    """A packaged 48 s stream has 12 chunks of 4 s: the Pensieve default of 48 failed on every one."""
    traces, _ = inputs
    short = tmp_path / "short"
    short.mkdir()
    for lv, kbps in enumerate([300, 750, 1200, 1850, 2850, 4300]):
        (short / f"video_size_{lv}").write_text(f"{kbps * 500}\n" * 12)
    code, out, err = _simulate(capsys, traces, short, "--algo", "bba", "--json")
    assert code == 0, err
    assert json.loads(out)["traces"] == 3
    code, _, err = _simulate(capsys, traces, short, "--algo", "bba", "--chunks", "13")
    assert code == 2 and "has only 12 chunks" in err


def test_bitrates_of_the_wrong_count_for_an_mpd_are_refused(
    capsys: pytest.CaptureFixture[str], inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    """--bitrates with an MPD was dropped unread, 2 rates for a 4-level stream included."""
    traces, _ = inputs
    rungs = "".join(f'<Representation id="{i}" bandwidth="{(i + 1) * 300_000}"/>' for i in range(4))
    (tmp_path / "m.mpd").write_text(
        '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011"><Period><AdaptationSet mimeType="video/mp4">'
        f'<SegmentTemplate timescale="1" duration="4" media="c-$RepresentationID$-$Number$.m4s"/>{rungs}'
        "</AdaptationSet></Period></MPD>"
    )
    for i in range(4):
        for k in range(1, 13):
            (tmp_path / f"c-{i}-{k}.m4s").write_bytes(b"x" * (i + 1) * 150_000)
    code, out, err = _simulate(capsys, traces, tmp_path, "--algo", "bba", "--json", "--bitrates", "1,2")
    assert code == 2 and err.count("\n") == 1
    assert "--bitrates: " in err and "m.mpd has 4 video Representations but 2 bitrates were given" in err
    code, out, err = _simulate(capsys, traces, tmp_path, "--algo", "bba", "--json", "--bitrates", "5,6,7,8")
    assert code == 0, err
    assert 5 <= json.loads(out)["avg_bitrate_kbps"] <= 8
    # a folder of size files: the message names the option too (it read '6 video_size_ files but 2 bitrates')
    code, out, err = _simulate(capsys, traces, inputs[1], "--algo", "bba", "--json", "--bitrates", "1,2")
    assert code == 2 and err.count("\n") == 1
    assert "--bitrates: " in err and "has 6 video_size_ files but 2 bitrates were given" in err


def test_a_plot_kept_in_the_trace_folder_does_not_block_the_next_run(
    capsys: pytest.CaptureFixture[str], inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    """The second run refused: an existing file in an input folder counted as an input, though the trace
    reader skips plots."""
    import shutil

    traces, video = inputs
    mine = tmp_path / "traces"
    shutil.copytree(traces, mine)
    for _ in range(2):
        code, _, err = _simulate(
            capsys, mine, video, "--algos", "bba", "--plot", str(mine / "c.png"), cmd="compare"
        )
        assert code == 0, err
    victim = sorted(p for p in mine.iterdir() if p.suffix != ".png")[0]
    code, _, err = _simulate(
        capsys, mine, video, "--algos", "bba", "--plot", str(victim) + ".png", cmd="compare"
    )
    assert code == 0, err  # a new name beside the traces is fine; a trace itself is not:
    code, _, err = _run(
        capsys, ["abr", "train", "--traces", str(mine), "--video", str(video), "-o", str(victim)]
    )
    assert code == 2 and "overwrite an input" in err


def _damaged(tmp_path: Path, change: str) -> Path:
    """The shipped fugu model with one thing changed, as a reviewer broke it."""
    from reelkit.stream.abr.models import __file__ as models_init

    with np.load(Path(models_init).parent / "fugu_ttp.npz", allow_pickle=False) as z:
        m = {k: z[k] for k in z.files}
    meta = json.loads(str(m["meta_json"]))
    first = "ttp0_" if "ttp_members" in m else "ttp_"
    if change == "meta-not-object":
        m["meta_json"] = np.array("5")
    elif change == "format-text":
        m["meta_json"] = np.array(json.dumps({**meta, "format": "x"}))
    elif change == "zero-buffer-step":
        m["meta_json"] = np.array(json.dumps({**meta, "buffer_step_s": 0}))
    elif change == "tiny-buffer-step":
        m["meta_json"] = np.array(json.dumps({**meta, "buffer_step_s": 1e-9}))
    elif change == "nan-smooth-weight":
        m["meta_json"] = np.array(json.dumps({**meta, "smooth_weight": float("nan")}))
    elif change == "nan-weights":
        m[f"{first}w0"] = m[f"{first}w0"] * np.nan
    elif change == "short-bins":
        m[f"{first}centers"] = m[f"{first}centers"][:5]
    elif change == "repeated-bin":  # every member's, so that no ensemble check catches it first
        for key in [k for k in m if k.endswith("centers")]:
            m[key] = np.concatenate([m[key][:1], m[key][:-1]])
    elif change == "wrong-layer":
        m[f"{first}w0"] = np.zeros((10, m[f"{first}w0"].shape[1]))
    elif change == "other-lag":
        m[f"{first}max_lag"] = np.array(1 if int(m.get(f"{first}max_lag", 1)) > 1 else 4)
    path = tmp_path / f"{change}.npz"
    np.savez(path, **m)
    return path


@pytest.mark.parametrize(
    "change",
    [
        "meta-not-object",
        "format-text",
        "zero-buffer-step",
        "tiny-buffer-step",
        "nan-smooth-weight",
        "nan-weights",
        "short-bins",
        "repeated-bin",
        "wrong-layer",
        "other-lag",
    ],
)
def test_a_damaged_model_is_refused_at_load_in_one_line(
    capsys: pytest.CaptureFixture[str], inputs: tuple[Path, Path], tmp_path: Path, change: str
) -> None:
    """Tracebacks at the first decision (ZeroDivisionError, matmul shapes, 'int' has no .get), or worse, a
    model of NaN weights streaming the lowest rung with exit 0."""
    traces, video = inputs
    model = _damaged(tmp_path, change)
    code, _, err = _simulate(capsys, traces, video, "--algo", "fugu", "--model", str(model))
    assert code == 2 and err.startswith(f"error: {model}: ") and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ("tiny-buffer-step", "buffer_step_s 1e-09 cuts buffer_cap_s 60 into 6e+10 steps, more than 10,000"),
        ("nan-smooth-weight", "smooth_weight nan is not a finite number"),
    ],
)
def test_a_models_planning_settings_are_checked_at_load(tmp_path: Path, change: str, said: str) -> None:
    """A smooth_weight of NaN planned level 0 at every chunk (exit 0); a buffer step of 1e-9 s asked for a
    grid of 6e10 buffer steps at the first decision (MemoryError traceback)."""
    from reelkit.errors import ModelFormatError
    from reelkit.stream.abr.stochastic import StochasticMPC

    model = _damaged(tmp_path, change)
    with pytest.raises(ModelFormatError) as info:
        StochasticMPC.load(model)
    assert str(info.value) == f"{model}: {said}; retrain it"


def test_a_ladder_numbered_top_down_is_refused(
    capsys: pytest.CaptureFixture[str], inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    """Pensieve's video1 is its top rendition: size files copied the wrong way round (video_size_0 the
    largest) passed the median check and every policy "streamed 4300 kbps" on the smallest chunks."""
    import shutil

    traces, video = inputs
    flipped = tmp_path / "flipped"
    flipped.mkdir()
    for lv in range(6):
        shutil.copy(video / f"video_size_{5 - lv}", flipped / f"video_size_{lv}")
    code, _, err = _simulate(capsys, traces, flipped, "--algo", "rate")
    assert code == 2
    assert "video_size_1 (750 kbps) holds smaller chunks on average" in err and "top down" in err
    assert "Traceback" not in err


def test_a_mahimahi_window_too_small_is_refused_by_name(
    capsys: pytest.CaptureFixture[str], inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    """1e-9 s windows over a 1 s trace asked for 1e9 windows: "out of memory ... fewer members or titles"."""
    _, video = inputs
    folder = tmp_path / "mm"
    folder.mkdir()
    (folder / "one.down").write_text("\n".join(map(str, range(1, 1001))) + "\n")
    code, _, err = _simulate(capsys, folder, video, "--algo", "bba", "--mahimahi-window", "1e-9")
    assert code == 2 and "Mahimahi window of 1e-09 s" in err and "use a longer one" in err
    assert "memory" not in err


def test_train_takes_its_seed_and_ensemble_size(
    capsys: pytest.CaptureFixture[str], inputs: tuple[Path, Path], tmp_path: Path
) -> None:
    """--seed and --members reached the trainer, but no test read them (a trainer seeded 0 whatever was
    asked passed, while --json said the seed asked for): seeds 1 and 2 train different models, seed 1 twice
    the same one, and --members 1 saves a one-member ensemble."""
    from reelkit.stream.abr.stochastic import StochasticMPC

    traces, video = inputs

    def trained(name: str, seed: str) -> Path:
        out = tmp_path / name
        args = (
            "-o",
            str(out),
            "--episodes",
            "1",
            "--epochs",
            "1",
            "--members",
            "1",
            "--seed",
            seed,
            "--json",
        )
        code, text, err = _simulate(capsys, traces, video, *args, cmd="train")
        assert code == 0, err
        assert json.loads(text)["seed"] == int(seed)
        return out

    one, again, two = trained("a.npz", "1"), trained("b.npz", "1"), trained("c.npz", "2")
    assert one.read_bytes() == again.read_bytes() and one.read_bytes() != two.read_bytes()
    predictor = StochasticMPC.load(one).predictor
    assert len(getattr(predictor, "members", [predictor])) == 1  # one member: no ensemble around it
