"""Real playback against the simulator: dash.js in headless chromium, levels from /v1/abr/decide, segments
paced by a network trace; each run compared with reelkit's simulator on the same trace, video and policy.

    .venv/bin/python benchmarks/bench_abr_playback.py [--repeats 3] [--quick] [--out DIR]

Scenarios: a synthetic step trace (4 Mbps for 2 s, then 0.3 Mbps) on a tiny 4-level stream (100..1000 kbps,
six 4 s segments) with robustMPC, BBA and rate-based; and two HSDPA traces from ../shared/data/abr on the
demo's 5-level stream (300..2850 kbps, twelve 4 s segments) with robustMPC, on the simulator's trace clock
(``busy``) and on wall time (``wall``). Prints one JSON object per run and a markdown table of medians.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from reelkit.stream.abr.traces import load_trace
from reelkit.stream.dash import DEFAULT_LADDER, SMALL_LADDER, load_stream, make_sample_clip, package_dash
from reelkit.stream.playback import compare_with_simulator, run_headless_playback
from reelkit.stream.shaping import step_trace

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "abr" / "train_traces"
REAL = [
    "bus.ljansbakken-oslo-report.2010-09-30_1133CEST.log",
    "metro.kalbakken-jernbanetorget-report.2010-11-16_1",
]


def _stream(out: Path, name: str, ladder: Any, seconds: float, size: tuple[int, int]) -> Path:
    folder = out / name
    if (folder / "stream.json").is_file():
        return folder
    clip = make_sample_clip(out / f"{name}.mp4", duration_s=seconds, size=size, audio=False)
    package_dash(clip, folder, renditions=ladder, preset="ultrafast", overwrite=True)
    return folder


def _real_trace(prefix: str) -> Path | None:
    hits = sorted(DATA.glob(prefix + "*")) if DATA.is_dir() else []
    return hits[0] if hits else None


def run_one(stream: Path, trace: Path, algo: str, clock: str) -> dict[str, Any]:
    t0 = time.monotonic()
    run = run_headless_playback(stream, trace, algo=algo, trace_clock=clock, timeout_s=300)
    cmp = compare_with_simulator(run.chunks, load_trace(trace), load_stream(stream).video(), algo)
    return {
        **cmp.summary(),
        "clock": clock,
        "stream": stream.name,
        "player_stalls": run.stalls,
        "player_startup_s": run.startup_s,
        "player_download_s": cmp.player_download_s.round(3).tolist(),
        "sim_download_s": cmp.sim_download_s.round(3).tolist(),
        "replay_download_s": cmp.replay_download_s.round(3).tolist(),
        "playback_wall_s": run.wall_s,
        "total_wall_s": time.monotonic() - t0,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3, help="runs per synthetic scenario (median reported)")
    ap.add_argument("--quick", action="store_true", help="synthetic scenarios only")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out" / "abr_playback")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    tiny = _stream(args.out, "tiny", SMALL_LADDER, 24, (320, 180))
    step = args.out / "step_4mbps_2s_then_0.3.txt"
    tr = step_trace([(2.0, 4.0), (200.0, 0.3)], name=step.name)
    step.write_text("".join(f"{t:.3f} {r:.3f}\n" for t, r in zip(tr.times_s, tr.mbps, strict=True)))
    plan: list[tuple[Path, Path, str, str, int]] = [
        (tiny, step, algo, "busy", args.repeats) for algo in ("robustmpc", "bba", "rate")
    ]
    plan.append((tiny, step, "robustmpc", "wall", args.repeats))
    if not args.quick:
        demo = _stream(args.out, "demo", DEFAULT_LADDER, 48, (1280, 720))
        for prefix in REAL:
            path = _real_trace(prefix)
            if path is None:
                print(f"skipping {prefix}: ../shared/data/abr is absent", file=sys.stderr)
                continue
            plan += [(demo, path, "robustmpc", "busy", 1), (demo, path, "robustmpc", "wall", 1)]
    results = []
    for stream, trace, algo, clock, repeats in plan:
        runs = []
        for _ in range(repeats):
            r = run_one(stream, trace, algo, clock)
            print(json.dumps(r), flush=True)
            runs.append(r)
        results.append(runs)
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    print(
        "\n| stream | trace | algo | clock | runs | player levels (first run) | simulator levels | "
        "level agreement | download ratio | player / sim rebuffer s | player / sim QoE_lin per chunk |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for runs in results:
        r0 = runs[0]

        def med(key: str, runs: list[dict[str, Any]] = runs) -> float:
            return statistics.median(float(r[key]) for r in runs)

        print(
            f"| {r0['stream']} | {r0['trace'][:28]} | {r0['algo']} | {r0['clock']} | {len(runs)} | "
            f"{r0['player_levels']} | {r0['sim_levels']} | {med('level_agreement'):.2f} | "
            f"{med('download_ratio'):.3f} | {med('player_rebuffer_s'):.2f} / {med('sim_rebuffer_s'):.2f} | "
            f"{med('player_qoe_lin_per_chunk'):.3f} / {med('sim_qoe_lin_per_chunk'):.3f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
