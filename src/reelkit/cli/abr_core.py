"""``reelkit abr simulate | compare | train | optimal``: the trace-driven ABR core."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from reelkit._files import check_output_file
from reelkit.cli.common import JsonOpt, WorkersOpt, emit_json, executor_for, print_table, progress_for
from reelkit.errors import ConfigError

TracesOpt = Annotated[
    Path,
    typer.Option(
        "--traces",
        help="Folder of traces (cooked 'time Mbps' lines, whitespace- or comma-separated; Mahimahi; raw "
        "Norway HSDPA logs; .gz read).",
    ),
]
VideoOpt = Annotated[
    Path,
    typer.Option(
        "--video",
        help="Folder with video_size_<level> files (and a *ladder*.json), an MPD, or a folder from 'reelkit "
        "abr package' (scored on its stream.json's nominal ladder).",
    ),
]
QoeOpt = Annotated[
    str,
    typer.Option(
        "--qoe", help="QoE metric: lin, log or hd (hd's table spans 300-4300 kbps and is held at its ends)."
    ),
]
BitratesOpt = Annotated[
    str | None,
    typer.Option(
        "--bitrates",
        help="Ladder in kbps (e.g. 300,750,1200); overrides the folder's *ladder*.json or the MPD's "
        "bandwidths.",
    ),
]
ChunksOpt = Annotated[
    int | None,
    typer.Option("--chunks", help="Chunks per session (default: 48 as Pensieve, or all of a shorter video)."),
]
WindowOpt = Annotated[float, typer.Option("--mahimahi-window", help="Seconds per bin for Mahimahi traces.")]

_KEYS = (
    "algo",
    "traces",
    "qoe_per_chunk_mean",
    "qoe_sum_mean",
    "avg_bitrate_kbps",
    "rebuffer_s_mean",
    "switches_mean",
)


def _inputs(
    traces: Path, video: Path, bitrates: str | None, chunks: int | None, window: float
) -> tuple[Any, Any, Any]:
    from reelkit.stream.abr.base import load_video_dir
    from reelkit.stream.abr.sim import SimConfig
    from reelkit.stream.abr.traces import load_traces

    rates: list[float] | None = None
    if bitrates is not None:  # given, even empty: '' used the folder's ladder without a word
        try:
            rates = [float(x) for x in bitrates.split(",")]
        except ValueError:
            raise ConfigError(f"--bitrates {bitrates!r}: expected kbps values like 300,750,1200") from None
    if chunks is not None and chunks < 2:
        raise ConfigError(f"--chunks must be at least 2; got {chunks}")
    if not (window > 0 and window < float("inf")):  # checked whatever the traces' format
        raise ConfigError(f"--mahimahi-window must be a positive number of seconds; got {window}")
    vid = load_video_dir(video, bitrates_kbps=rates)
    if chunks is None:  # a packaged 48 s stream has 12 chunks: the Pensieve default failed on every one
        chunks = min(48, vid.n_chunks)
        if chunks < 2:
            raise ConfigError(f"the video at {video} has {vid.n_chunks} chunk(s); a session needs 2 or more")
    if chunks > vid.n_chunks:
        raise ConfigError(f"--chunks {chunks}: the video at {video} has only {vid.n_chunks} chunks")
    trs = load_traces(traces, mahimahi_window_s=window)
    return trs, vid, SimConfig(total_chunks=chunks)


def _row(summary: dict[str, Any]) -> list[Any]:
    return [summary[k] for k in _KEYS] + [summary.get("startup_s_mean", float("nan"))]


def simulate_cmd(
    traces: TracesOpt,
    video: VideoOpt,
    algo: Annotated[
        str, typer.Option("--algo", help="rate, bba, bola, mpc, robustmpc, fugu, optimal, best, ...")
    ],
    model: Annotated[
        Path | None,
        # --model-file as recommend's; --model as before (a model's name elsewhere, a file here)
        typer.Option("--model-file", "--model", "-m", help="Model file for a learned policy."),
    ] = None,
    qoe: QoeOpt = "lin",
    json_out: JsonOpt = False,
    bitrates: BitratesOpt = None,
    chunks: ChunksOpt = None,
    mahimahi_window: WindowOpt = 1.0,
    workers: WorkersOpt = 2,
) -> None:
    """Simulate one algorithm on every trace (Pensieve's test semantics) and print the mean QoE."""
    from reelkit.stream.abr.evaluate import run_algorithm
    from reelkit.stream.abr.qoe import get_qoe
    from reelkit.stream.abr.registry import available_policies, make_policy, takes_model

    get_qoe(qoe)
    if _canonical(algo) not in (*available_policies(), "optimal"):  # before "--model ... takes none"
        make_policy(algo)  # the registry's own message: unknown, and the names it knows
    if model is not None and not takes_model(algo):
        raise ConfigError(f"--model is for the learned policies (fugu, best); {algo!r} takes none")
    ex = executor_for(workers)
    trs, vid, cfg = _inputs(traces, video, bitrates, chunks, mahimahi_window)
    with progress_for(not json_out) as prog:
        res = run_algorithm(algo, trs, vid, model=model, qoe=qoe, config=cfg, progress=prog, executor=ex)
    summary = res.summary()
    summary["algo"] = _canonical(algo)
    summary["seconds"] = res.seconds
    if json_out:  # the means, and each trace's QoE (sum over chunks and per chunk), as `abr optimal` gives
        emit_json(summary | {"per_trace": [s.summary() for s in res.sessions]})
        return
    print_table(f"abr simulate ({qoe})", [*_KEYS, "startup_s_mean"], [_row(summary)])


def compare_cmd(
    traces: TracesOpt,
    video: VideoOpt,
    algos: Annotated[str, typer.Option("--algos", help="Comma-separated algorithm names.")] = (
        "rate,bba,bola,mpc,robustmpc,fugu,best"
    ),
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write the comparison plots (PNG) here.")
    ] = None,
    plot_traces: Annotated[
        str | None, typer.Option("--plot-traces", help="Comma-separated trace file names to plot over time.")
    ] = None,
    model: Annotated[
        Path | None,
        typer.Option("--model-file", "--model", "-m", help="Model file for the learned policies."),
    ] = None,
    qoe: QoeOpt = "lin",
    json_out: JsonOpt = False,
    bitrates: BitratesOpt = None,
    chunks: ChunksOpt = None,
    mahimahi_window: WindowOpt = 1.0,
    workers: WorkersOpt = 2,
) -> None:
    """Run several algorithms on the same traces: a table (and plots) side by side."""
    from reelkit.stream.abr.evaluate import plot_comparison, run_algorithm
    from reelkit.stream.abr.qoe import get_qoe

    get_qoe(qoe)
    if plot is not None:  # before any simulation: a PNG, not over an input trace or video file
        if plot.suffix.lower() != ".png":
            raise ConfigError(f"--plot {plot}: the plot is a PNG; give a name ending in .png")
        from reelkit.stream.abr.traces import trace_files

        check_output_file(
            plot, ConfigError, "compare.png", inputs=[*trace_files(traces), *_video_inputs(video)]
        )
    # bba,bb,BB name one policy: run once, as cache compare takes each policy once
    names = list(dict.fromkeys(_canonical(a.strip()) for a in algos.split(",") if a.strip()))
    if not names:
        raise ConfigError("--algos is empty; give names like robustmpc,bba")
    from reelkit.stream.abr.registry import is_optimal, make_policy, takes_model

    if model is not None and not any(takes_model(n) for n in names):  # as simulate says
        raise ConfigError(
            f"--model is for the learned policies (fugu, best); none of {', '.join(names)} takes one"
        )
    if plot_traces and plot is None:
        raise ConfigError("--plot-traces chooses the traces of the plot: give --plot FILE.png too")
    # fail fast on unknown names and missing models, before any simulation; each model is loaded once
    policies = {
        i: make_policy(n, model=model if takes_model(n) else None)
        for i, n in enumerate(names)
        if not is_optimal(n)
    }
    ex = executor_for(workers)
    trs, vid, cfg = _inputs(traces, video, bitrates, chunks, mahimahi_window)
    chosen = [t.strip() for t in plot_traces.split(",") if t.strip()] if plot_traces else []
    unknown = sorted(set(chosen) - {t.name for t in trs})
    if unknown:  # said now, not after every simulation
        raise ConfigError(f"--plot-traces: no trace named {', '.join(unknown)} in {traces}")
    with progress_for(not json_out) as prog:
        results = [
            run_algorithm(
                n, trs, vid, qoe=qoe, config=cfg, progress=prog, policy=policies.get(i), executor=ex
            )
            for i, n in enumerate(names)
        ]
    summaries = [r.summary() | {"seconds": r.seconds} for r in results]
    per_trace = [[s.summary() for s in r.sessions] for r in results]
    plot_path = None
    if plot is not None:
        plot_path = str(plot_comparison(results, plot, trace_names=chosen))
    if json_out:
        emit_json(
            {
                "results": [s | {"per_trace": p} for s, p in zip(summaries, per_trace, strict=True)],
                "plot": plot_path,
            }
        )
        return
    print_table(
        f"abr compare ({qoe}, {len(trs)} traces)", [*_KEYS, "startup_s_mean"], [_row(s) for s in summaries]
    )
    if plot_path:
        typer.echo(f"plot: {plot_path}")


def _canonical(name: str) -> str:
    """The name the results report: ``RMPC`` and ``robust-mpc`` are ``robustmpc`` (unknown names as given,
    for the registry's own error)."""
    from reelkit.stream.abr.registry import is_optimal, policy_name

    return policy_name(name) or ("optimal" if is_optimal(name) else name)


def _video_inputs(video: Path) -> list[Path]:
    """The files ``--video`` reads: a folder's chunk-size files and ladder JSON (other files in it, such
    as a plot written there by an earlier run, are not inputs), or the MPD given."""
    if not video.is_dir():
        return [video]
    return [*video.glob("video_size_*"), *video.glob("*ladder*.json")]


def train_cmd(
    traces: TracesOpt,
    video: VideoOpt,
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the model (.npz).")],
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed (sessions, initialisation).")] = 0,
    # bounds far past any sensible run: a mistyped 99999999999999999999 ran until stopped
    episodes: Annotated[
        int, typer.Option("--episodes", min=1, max=10_000, help="Training sessions per trace.")
    ] = 6,
    epochs: Annotated[
        int, typer.Option("--epochs", min=1, max=100_000, help="Passes over the collected chunks.")
    ] = 60,
    members: Annotated[
        int | None,
        typer.Option(
            "--members",
            min=1,
            max=64,
            help="Predictors in the ensemble, each its own seed and sessions [default: 2].",
        ),
    ] = None,
    json_out: JsonOpt = False,
    bitrates: BitratesOpt = None,
    chunks: ChunksOpt = None,
    mahimahi_window: WindowOpt = 1.0,
) -> None:
    """Train reelkit's learned policy (Fugu-style stochastic MPC on a learned throughput distribution)."""
    import time

    from reelkit.stream.abr.stochastic import ENSEMBLE_MEMBERS, StochasticMPC

    members = ENSEMBLE_MEMBERS if members is None else members
    if episodes < 1 or epochs < 1 or members < 1:
        raise ConfigError("--episodes, --epochs and --members must be at least 1")
    from reelkit.stream.abr.traces import trace_files

    check_output_file(
        out, ConfigError, "fugu.npz", inputs=[*trace_files(traces), *_video_inputs(video)]
    )  # before training
    trs, vid, cfg = _inputs(traces, video, bitrates, chunks, mahimahi_window)
    t0 = time.perf_counter()
    with progress_for(not json_out) as prog:
        pol = StochasticMPC.train(
            trs,
            vid.with_session(cfg.total_chunks),
            seed=seed,
            episodes=episodes,
            epochs=epochs,
            members=members,
            progress=prog,
        )
    pol.save(out)
    info = {
        "model": str(out),
        "algo": "fugu",
        "traces": len(trs),
        "seed": seed,
        "members": members,
        "smooth_fade_chunks": pol.smooth_fade_chunks,
        "seconds": time.perf_counter() - t0,
    }
    if json_out:
        emit_json(info)
        return
    typer.echo(
        f"wrote {out} (fugu, {len(trs)} traces, switch-cost fade over the last {pol.smooth_fade_chunks}"
        f" chunks, {info['seconds']:.1f} s)"
    )


def optimal_cmd(
    traces: TracesOpt,
    video: VideoOpt,
    qoe: QoeOpt = "lin",
    time_step: Annotated[
        float, typer.Option("--time-step", help="DP cell width in wall-clock seconds.")
    ] = 1.0,
    buffer_step: Annotated[
        float, typer.Option("--buffer-step", help="DP cell width in buffer seconds.")
    ] = 0.5,
    json_out: JsonOpt = False,
    bitrates: BitratesOpt = None,
    chunks: ChunksOpt = None,
    mahimahi_window: WindowOpt = 1.0,
    workers: WorkersOpt = 2,
) -> None:
    """The offline optimum on every trace, and its levels: dynamic programming with the whole trace known
    (states merged in cells; smaller cells come closer to the exact optimum), never below a fixed policy."""
    from reelkit.stream.abr.evaluate import run_optimal
    from reelkit.stream.abr.qoe import get_qoe

    get_qoe(qoe)
    from reelkit.stream.abr.optimal import MIN_CELL_S

    if not (MIN_CELL_S <= time_step < math.inf and MIN_CELL_S <= buffer_step < math.inf):
        raise ConfigError(f"--time-step and --buffer-step must be at least {MIN_CELL_S:g} s (and finite)")
    ex = executor_for(workers)
    trs, vid, cfg = _inputs(traces, video, bitrates, chunks, mahimahi_window)
    with progress_for(not json_out) as prog:
        res = run_optimal(
            trs,
            vid,
            qoe=qoe,
            config=cfg,
            time_step_s=time_step,
            buffer_step_s=buffer_step,
            executor=ex,
            progress=prog,
        )
    summary = res.summary() | {"seconds": res.seconds, "time_step_s": time_step, "buffer_step_s": buffer_step}
    per = [s.summary() | {"levels": s.levels.tolist()} for s in res.sessions]
    if json_out:
        emit_json(summary | {"per_trace": per})
        return
    print_table(
        f"abr optimal ({qoe}; cells {time_step:g} s x {buffer_step:g} s)",
        ["trace", "qoe_sum", "qoe_per_chunk", "avg_bitrate_kbps", "rebuffer_s"],
        [(p["trace"], p["qoe_sum"], p["qoe_per_chunk"], p["avg_bitrate_kbps"], p["rebuffer_s"]) for p in per],
    )
    print_table("mean", [*_KEYS, "startup_s_mean"], [_row(summary)])


def add_commands(group: typer.Typer, app: typer.Typer) -> None:
    """Add this module's commands to the ``abr`` group (``group``) or the root app (``app``)."""
    group.command("simulate")(simulate_cmd)
    group.command("compare")(compare_cmd)
    group.command("train")(train_cmd)
    group.command("optimal")(optimal_cmd)
