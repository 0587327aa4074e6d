"""ABR benchmark: every algorithm side by side on held-out folds of the Pensieve/Comyco trace set.

* k-fold over trace files (default 5, seeded): the learned policy (Fugu-style stochastic MPC) is trained on
  the other folds and evaluated on the held-out one; the fixed algorithms and the offline optimum run on every
  trace (they learn nothing). Every trace is thus scored once, held out, for every algorithm.
* Figures: mean QoE_lin per chunk (chunks 1..47), its ratio to robustMPC, its share of the offline optimum
  (mean over traces of the algorithm / mean of the optimum), average bitrate, stalls, switches.
* Speed: robustMPC over 100 traces (median of ``--repeats`` warm runs), learned-policy training time per fold,
  offline optimum seconds per trace. Folds and optimum traces run on ``--workers`` processes (default 2).

Usage::

    python benchmarks/bench_abr.py [--traces DIR] [--video DIR] [--folds 5] [--seed 0] [--repeats 3]
        [--workers 2] [--out benchmarks/out/abr.json] [--md benchmarks/RESULTS.d/abr.md]

Exits 0 with a note when the data is absent.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from reelkit.executor import LocalExecutor
from reelkit.stream.abr import Video, load_video_dir, make_policy
from reelkit.stream.abr.evaluate import kfold_splits, run_algorithm, run_optimal
from reelkit.stream.abr.sim import RunResult, Session, simulate, summarize
from reelkit.stream.abr.stochastic import TUNED_SMOOTH_WEIGHT, StochasticMPC
from reelkit.stream.abr.traces import Trace, load_traces

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_md import NOTES, write_section

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "abr"
#: planning penalty weights of the held-out learned policy (those ``StochasticMPC.train`` gives by default)
SMOOTH_WEIGHT = TUNED_SMOOTH_WEIGHT
REBUF_WEIGHT = 1.0
FIXED = ["rate", "bba", "bola", "mpc", "robustmpc", "mpc_ewma"]


def _recipe() -> str:
    """A tag of ``StochasticMPC.train``'s defaults: a changed training recipe never reuses cached folds."""
    params = inspect.signature(StochasticMPC.train).parameters
    keys = ("episodes", "epochs", "horizon", "max_lag", "members", "noise", "smooth_fades")
    blob = json.dumps({k: params[k].default for k in keys}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:8]


RECIPE = _recipe()


@dataclass(frozen=True)
class FoldTask:
    """One fold: train the learned policy on ``train`` trace indices, simulate it on ``test``."""

    traces: Path
    video: Path
    train: np.ndarray
    test: np.ndarray
    seed: int
    smooth_weight: float
    rebuf_weight: float
    smooth_fade_chunks: int | None
    cache: Path | None


def fold_model_path(cache: Path, seed: int, train: np.ndarray) -> Path:
    """Where a fold's trained policy is cached: training is deterministic given the recipe, the seed and the
    training trace indices, so those name the file (shared with ``tune_abr.py``)."""
    key = hashlib.sha256(train.astype(np.int64).tobytes()).hexdigest()[:12]
    return cache / f"fold_seed{seed}_{key}_{RECIPE}.npz"


def fold_model(
    cache: Path | None, seed: int, train: np.ndarray, traces: list[Trace], video: Video
) -> tuple[float, StochasticMPC]:
    """A fold's trained policy and its training seconds: from ``cache`` when a file for this recipe, seed
    and training set is there (0 s), else trained (``StochasticMPC.train`` defaults) and cached. Shared by
    ``tune_abr.py`` and ``bench_abr_shift.py``."""
    path = fold_model_path(cache, seed, train) if cache is not None else None
    if path is not None and path.exists():
        return 0.0, StochasticMPC.load(path)
    t0 = time.perf_counter()
    pol = StochasticMPC.train([traces[i] for i in train], video, seed=seed)
    train_s = time.perf_counter() - t0
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        pol.save(path)
    return train_s, pol


def _run_fold(task: FoldTask) -> tuple[float, int, list[Session]]:
    traces = load_traces(task.traces)
    video = load_video_dir(task.video)
    train_s, trained = fold_model(task.cache, task.seed, task.train, traces, video)
    pol = StochasticMPC(
        trained.predictor,
        horizon=trained.horizon,
        smooth_weight=task.smooth_weight,
        rebuf_weight=task.rebuf_weight,
        smooth_fade_chunks=(
            trained.smooth_fade_chunks if task.smooth_fade_chunks is None else task.smooth_fade_chunks
        ),
    )
    return train_s, pol.smooth_fade_chunks, [simulate(pol, traces[i], video) for i in task.test]


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    ap.add_argument("--traces", type=Path, default=DATA / "train_traces", help="folder of throughput traces")
    ap.add_argument("--video", type=Path, default=DATA / "video", help="folder of the video's chunk sizes")
    ap.add_argument("--folds", type=int, default=5, help="folds over the trace files")
    ap.add_argument("--seed", type=int, default=0, help="seed of the folds and the training")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs of the speed figures (median)")
    ap.add_argument("--workers", type=int, default=2, help="processes for the folds and the optimum")
    ap.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "out" / "abr.json", help="JSON of every figure"
    )
    ap.add_argument("--smooth-weight", type=float, default=SMOOTH_WEIGHT, help="QoE weight of switches")
    ap.add_argument("--rebuf-weight", type=float, default=REBUF_WEIGHT, help="QoE weight of a stall second")
    ap.add_argument("--smooth-fade", type=int, default=None, help="override the fade fitted per fold")
    ap.add_argument(
        "--fold-cache",
        type=Path,
        default=None,
        help="reuse/save each fold's trained predictor here (training time then reads 0 for cached folds)",
    )
    ap.add_argument(
        "--md", type=Path, default=Path(__file__).parent / "RESULTS.d" / "abr.md", help="the Markdown written"
    )
    ap.add_argument(
        "--fine-cells",
        type=float,
        default=0.25,
        help="also run the optimum at these cells (s of time = s of buffer; 0: not) and judge the share on "
        "the better plan per trace: the cells' error must not decide the target",
    )
    args = ap.parse_args()
    if not args.traces.is_dir() or not args.video.is_dir():
        print(f"note: {args.traces} or {args.video} absent; nothing to do")
        return 0
    traces = load_traces(args.traces)
    video = load_video_dir(args.video)
    t_all = time.perf_counter()

    # warm numba's caches so that no timing includes compilation
    for name in FIXED:
        simulate(make_policy(name), traces[0], video)

    fixed: dict[str, RunResult] = {n: run_algorithm(n, traces, video) for n in FIXED}

    t0 = time.perf_counter()
    optimal = run_optimal(traces, video, executor=LocalExecutor(workers=args.workers))
    opt_s = time.perf_counter() - t0
    fine = None
    if args.fine_cells > 0:
        step = args.fine_cells
        fine = run_optimal(
            traces, video, time_step_s=step, buffer_step_s=step, executor=LocalExecutor(workers=args.workers)
        )

    learned: list[Session | None] = [None] * len(traces)
    splits = kfold_splits(len(traces), args.folds, args.seed)
    tasks = [
        FoldTask(
            args.traces,
            args.video,
            tr_idx,
            te_idx,
            args.seed + f,
            args.smooth_weight,
            args.rebuf_weight,
            args.smooth_fade,
            args.fold_cache,
        )
        for f, (tr_idx, te_idx) in enumerate(splits)
    ]
    fold_out = LocalExecutor(workers=args.workers).map(_run_fold, tasks)
    train_s = [t for t, _, _ in fold_out if t > 0.0]  # cached folds were not trained in this run
    for (_, te_idx), (_, _, sessions) in zip(splits, fold_out, strict=True):
        for i, sess in zip(te_idx, sessions, strict=True):
            learned[int(i)] = sess
    fugu = RunResult("fugu (held out)", [s for s in learned if s is not None])

    # the shipped model, trained on all traces: in-sample here, reported for completeness only
    best = run_algorithm("best", traces, video)

    speed = []
    hundred = (traces * 2)[:100]
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        run_algorithm("robustmpc", hundred, video)
        speed.append(time.perf_counter() - t0)

    opt_mean = float(np.mean(optimal.per_trace("qoe_sum")))
    rmpc_mean = float(np.mean(fixed["robustmpc"].per_trace("qoe_sum")))
    rows = []
    for r in [*fixed.values(), fugu, optimal]:
        s = summarize(r.algo, r.sessions)
        s["vs_robustmpc"] = s["qoe_sum_mean"] / rmpc_mean
        s["share_of_optimal"] = s["qoe_sum_mean"] / opt_mean
        rows.append(s)
    sb = summarize("best (shipped, in-sample)", best.sessions)
    sb["vs_robustmpc"] = sb["qoe_sum_mean"] / rmpc_mean
    sb["share_of_optimal"] = sb["qoe_sum_mean"] / opt_mean
    fugu_q = fugu.per_trace("qoe_sum")
    rmpc_q = fixed["robustmpc"].per_trace("qoe_sum")
    fine_doc = None
    if fine is not None:
        coarse_q, fine_q = optimal.per_trace("qoe_sum"), fine.per_trace("qoe_sum")
        best_q = np.maximum(coarse_q, fine_q)  # each an achievable plan: the better is the tighter bound
        fine_doc = {
            "cells_s": args.fine_cells,
            "fine_qoe_sum_mean": float(np.mean(fine_q)),
            "best_qoe_sum_mean": float(np.mean(best_q)),
            "gain_of_mean": float(np.mean(best_q) / opt_mean - 1.0),
            "max_gain_per_trace": float(np.max(best_q - coarse_q)),
            "traces_gaining_over_0_4": int(np.sum(best_q - coarse_q > 0.4)),
            "fugu_share": float(np.mean(fugu_q) / np.mean(best_q)),
        }
    doc: dict[str, Any] = {
        "data": {"traces": str(args.traces), "n_traces": len(traces), "video": str(args.video)},
        "folds": args.folds,
        "seed": args.seed,
        "held_out": rows,
        "shipped_best_in_sample": sb,
        "fugu_beats_robustmpc_on_traces": float(np.mean(fugu_q > rmpc_q)),
        "robustmpc_100_traces_s": {"median": statistics.median(speed), "runs": speed},
        "train_s_per_fold": {"median": statistics.median(train_s) if train_s else None, "runs": train_s},
        "planner_weights": {
            "smooth": args.smooth_weight,
            "rebuf": args.rebuf_weight,
            "smooth_fade_chunks_per_fold": [fade for _, fade, _ in fold_out],
            "smooth_fade_overridden": args.smooth_fade is not None,
        },
        "optimal_finer": fine_doc,
        "optimal_s_total": opt_s,
        "optimal_s_per_trace_cpu": opt_s * args.workers / len(traces),
        "optimal_workers": args.workers,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores ({platform.python_version()})",
        "load_average": os.getloadavg(),
        "wall_s": time.perf_counter() - t_all,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2))
    args.md.parent.mkdir(parents=True, exist_ok=True)
    tuning = render_tuning(sorted(args.out.parent.glob("abr_tune*.json")))
    if not tuning and args.md.exists():  # the tuning runs' JSON is not here: their section stays as written
        old = args.md.read_text(encoding="utf-8")
        head = "\n## Planner-weight tuning"
        if head in old:
            tuning = old[old.index(head) : old.index(NOTES) if NOTES in old else len(old)].rstrip("\n") + "\n"
    write_section(args.md, render(doc) + tuning)
    print(json.dumps({k: doc[k] for k in ("robustmpc_100_traces_s", "train_s_per_fold", "wall_s")}, indent=2))
    for row in rows:
        print(
            f"{row['algo']:>18}  {row['qoe_per_chunk_mean']:.4f}  x{row['vs_robustmpc']:.3f}  "
            f"{row['share_of_optimal']:.1%}"
        )
    return 0


def render_tuning(paths: list[Path]) -> str:
    """The planner-weight tuning runs of ``tune_abr.py`` found next to the JSON (empty when none)."""
    if not paths:
        return ""
    lines = [
        "",
        "## Planner-weight tuning (`benchmarks/tune_abr.py`, cached fold predictors, seed 0)",
        "",
        "Per run: each candidate's mean QoE sum on the training traces used for selection (mean of",
        "the 5 folds' subsets; their number per fold is given with each run), its held-out share of the",
        "optimum (all 127 traces, for information), and the nested figure (each fold uses the candidate that",
        "was best on its own training traces). Candidates: switch-cost and stall multipliers of the plan,",
        "and the number of final chunks over which the switch multiplier fades to 1 (0: no fade).",
        "`abr_tune_ens*.json` ran with the shipped recipe's fold predictors (the ensemble); the others with",
        "the earlier single predictor trained with delay noise.",
        "",
    ]
    for p in paths:
        d = json.loads(p.read_text())
        grid = [(*g, 0)[:3] for g in d["grid"]]  # runs before the fade was a candidate: no fade
        spec = ",".join(f"{a:g}:{b:g}" + (f":{c:d}" if c else "") for a, b, c in grid)
        lines.append(f"`{p.name}` (`--grid {spec} --n-train {d['n_train_per_fold']}`):")
        lines.append("")
        lines.append("| switch x, stall x, fade | selection mean QoE sum | held-out share of optimum |")
        lines.append("|---|---|---|")
        train = np.mean([c["train_means"] for c in d["chosen"]], axis=0)
        shares = d["per_variant_share_of_optimal"] or [float("nan")] * len(grid)
        for (a, b, c), t, sh in zip(grid, train, shares, strict=True):
            lines.append(f"| {a:g}, {b:g}, {c:d} | {t:.2f} | {sh:.1%} |")
        picks = ", ".join("/".join(f"{x:g}" for x in ch["choice"]) for ch in d["chosen"])
        nested = d["nested_share_of_optimal"]
        lines.append("")
        lines.append(f"Nested choice per fold: {picks}; nested held-out share: {nested:.1%}.")
        lines.append("")
    return "\n".join(lines)


def render(doc: dict[str, Any]) -> str:
    lines = [
        "| algorithm | QoE_lin per chunk | vs robustMPC | share of optimum | avg bitrate kbps | stall s "
        "| switches |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in [*doc["held_out"], doc["shipped_best_in_sample"]]:
        lines.append(
            f"| {r['algo']} | {r['qoe_per_chunk_mean']:.4f} | {r['vs_robustmpc']:.3f} "
            f"| {r['share_of_optimal']:.1%} "
            f"| {r['avg_bitrate_kbps']:.0f} | {r['rebuffer_s_mean']:.2f} | {r['switches_mean']:.1f} |"
        )
    table = "\n".join(lines)
    fugu = next(r for r in doc["held_out"] if r["algo"].startswith("fugu"))
    up, share = fugu["vs_robustmpc"] - 1.0, fugu["share_of_optimal"]
    ok_up, ok_share = ("met" if up >= 0.05 else "missed"), ("met" if share >= 0.85 else "missed")
    targets = (
        f"* QoE_lin per chunk vs robustMPC: {up:+.1%} (target at least +5%: {ok_up}).\n"
        f"* Share of the offline optimum: {share:.1%} against the optimum at 1 s x 0.5 s cells (target at "
        f"least 85%: {ok_share} as run; the planner's "
        "switch weight in this run was chosen on training subsets that overlap other folds' held-out traces; "
        "the strictly nested figure is under 'Planner penalty weights')."
    )
    fine = doc.get("optimal_finer")
    if fine:
        ok_fine = "met" if fine["fugu_share"] >= 0.85 else "missed"
        cells = f"{fine['cells_s']:g} s x {fine['cells_s']:g} s"
        margin = fine["fugu_share"] - 0.85
        verdict = (
            (
                f"met against both bounds computed, but by only {margin * 100:.2f} points: the true share "
                "may be under 85%"
                if margin < 0.005
                else "met against both bounds"
            )
            if ok_fine == ok_share == "met"
            else "met only against the coarser cells, within the optimum's own discretisation error"
            if ok_share == "met"
            else "missed against both bounds"
        )
        targets += (
            f"\n* The same against a tighter bound, the better plan per trace of those cells and of {cells} "
            f"cells (mean optimum {fine['best_qoe_sum_mean']:.4f}, {fine['gain_of_mean']:+.2%}; up to "
            f"{fine['max_gain_per_trace']:+.2f} QoE on one trace, more than 0.4 on "
            f"{fine['traces_gaining_over_0_4']}): **{fine['fugu_share']:.2%}** ({ok_fine}). The true optimum "
            f"is higher still, so the true share is lower: the target is {verdict}."
        )
    return TEMPLATE.format(
        table=table,
        targets=targets,
        n=doc["data"]["n_traces"],
        folds=doc["folds"],
        seed=doc["seed"],
        rmpc=doc["robustmpc_100_traces_s"]["median"],
        rmpc_runs=", ".join(f"{x:.2f}" for x in doc["robustmpc_100_traces_s"]["runs"]),
        train=(
            f"median {doc['train_s_per_fold']['median']:.1f} s"
            if doc["train_s_per_fold"]["median"] is not None
            else "not timed in this run (fold models reused from `--fold-cache`)"
        ),
        opt=doc["optimal_s_per_trace_cpu"],
        wins=doc["fugu_beats_robustmpc_on_traces"],
        machine=doc["machine"],
        load=", ".join(f"{x:.1f}" for x in doc["load_average"]),
        wall=doc["wall_s"],
        fades=", ".join(str(f) for f in doc["planner_weights"]["smooth_fade_chunks_per_fold"])
        + (" (overridden by --smooth-fade)" if doc["planner_weights"]["smooth_fade_overridden"] else ""),
        sw=doc["planner_weights"]["smooth"],
        rw=doc["planner_weights"]["rebuf"],
    )


TEMPLATE = """# Adaptive bitrate (ABR core)

Command: `.venv/bin/python benchmarks/bench_abr.py` (JSON in `benchmarks/out/abr.json`).
Data: `../shared/data/abr/train_traces` ({n} cooked traces, FCC + Norway HSDPA, see its SOURCES.md) and the
Pensieve test video `../shared/data/abr/video` (6 levels, 300-4300 kbps, 4 s chunks, 48 chunks per session).
Machine: {machine}; load average at the end {load} (shared with other jobs: timings are upper bounds).

## Held-out results ({folds}-fold over trace files, seed {seed})

Every trace is scored once, held out from the learned policy's training. The fixed algorithms and the offline
optimum learn nothing, so they run on every trace. QoE_lin per chunk = (sum of chunk rewards 1..47) / 47,
averaged over traces; "share of optimum" = mean QoE of the algorithm / mean QoE of the offline optimum.

{table}

Targets (issue 4, held out):

{targets}

The held-out learned policy beats robustMPC on {wins:.0%} of the traces. The last row is the model shipped as
`--algo best` (trained on all {n} traces, so in-sample here; for information only).

## Speed

* robustMPC over 100 traces (all 6^5 sequences per decision, numba): median {rmpc:.2f} s ({rmpc_runs}).
* Learned policy training per fold (session collection, fitting both predictors, then fitting the fade: 6
  candidates x every training trace), two folds at once on the 2 cores: {train}.
* Offline optimum: {opt:.2f} CPU seconds per trace (1 s x 0.5 s cells).
* Whole benchmark: {wall:.0f} s.

## Simulator semantics and sources

The simulator reproduces Pensieve's test environment (hongzimao/pensieve @ 1120bb1, `sim/fixed_env.py`;
training switches from `sim/env.py`; test loop from `test/mpc.py`, `test/bb.py`; scoring from
`test/plot_results.py`):

* Cooked traces `time_s throughput_Mbps`; throughput[i] holds over (time[i-1], time[i]]; at the last line the
  trace wraps to index 1 with the clock at 0. Mahimahi traces (one delivery per line, ms, 1500-byte packets)
  are binned into 1 s windows first.
* A chunk of S bytes is delivered at throughput * 1e6 / 8 * 0.95 bytes/s; delay = download + 80 ms RTT.
  Stall = max(delay - buffer, 0); buffer = max(buffer - delay, 0) + 4 s. Above 60 s the player sleeps
  ceil(excess / 500 ms) * 500 ms, draining the buffer and moving the trace clock by that much.
* Chunk 0 is fetched at level 1 with an empty buffer (its stall is the startup delay); the policy chooses
  chunks 1..47 of a 48-chunk session. Evaluation: every trace starts at its first interval, no noise.
  Training mode (`SimConfig().training()`): random start line and delay * U(0.9, 1.1), as `sim/env.py`.
* QoE_lin = bitrate (Mbit/s) - 4.3 * stall (s) - |bitrate change|, summed over chunks 1..47 (chunk 0 is
  startup and is not scored); log (ln(R/R_min), 2.66) and HD (1,2,3,12,15,20; 8) variants via `--qoe`.
* BBA: `test/bb.py` (reservoir 5 s, cushion 10 s, linear and floored). robustMPC: `test/mpc.py` (all 6^5
  sequences over 5 chunks, harmonic mean of the last 5 chunk throughputs measured as bytes / delay
  including RTT, divided by 1 + the largest relative error of the last 5 predictions, plan model without
  buffer cap or RTT, ties to the later sequence, chunk sizes read one index ahead as that script does,
  errors reset per video). A test re-implements `test/mpc.py` directly and checks the per-trace QoE matches.
* Offline optimum: DP over the exact simulator with the whole trace known; states merged in cells of 1 s of
  wall time x 0.5 s of buffer x last level (the best QoE so far survives in each cell). Each state is an exact
  simulator state, so the optimum's plan replays to exactly its DP value (a true achievable QoE, a lower
  bound on the unconstrained optimum; finer cells raise it, by the figures in the targets above).
* Learned policy ("fugu"): a stochastic MPC (horizon 20 chunks, closed-loop value iteration over a 0.5 s
  buffer grid and the last level, maximising expected QoE) on a learned distribution of each future chunk's
  throughput: the mean of an ensemble of two MLPs (softmax over 24 log-ratio bins given the last 8
  throughputs, the last download time, the candidate size, the lag ahead and three whole-session features),
  each trained (seeds s and s + 1000, their own sessions) on training-mode sessions (random start, no delay
  noise) of a robustMPC exploring random levels 30% of the time. Saved as `.npz` arrays plus JSON metadata
  (no pickle). Earlier tuning, on one 25-trace fold held out from training only (traces
  ``permutation(127, seed 0)[:25]``), single predictor trained with noise: horizons 5 / 8 / 12 / 16 / 20 gave
  79.8 / 82.0 / 84.6 / 85.7 / 86.9% of the optimum with a smaller predictor (3 sessions per trace, 30 epochs);
  the final recipe (6 sessions, 60 epochs) gave 87.5% at horizon 20 and 87.3% at 30; per-lag prediction
  87.7%; a terminal value on the buffer (0.1, 0.25 per second) and a larger planning stall penalty (6, 8)
  were worse. That fold is easier than the average. Caveat: those few settings were picked on traces that
  are also among the 127 held-out scores (a mild selection bias); the network weights never saw them.
* End-of-session fade: the planned switch multiplier fades linearly to x1 over a session's last R chunks, R
  fitted by `StochasticMPC.train` on the fold's own training traces (each of R = 0, 8, 12, 16, 20, 24 plays
  every training trace; the best mean QoE wins), so the held-out figure above includes that choice. The
  folds of this run chose R = {fades}. See the last two sections.
* Planner penalty weights in this run: switch cost x {sw:g}, stall cost x {rw:g} (in the plan only; the score
  is plain QoE_lin). Re-planning every chunk on noisy forecasts switches far more often than the optimum
  (6.5 vs 2.2 switches per session at x1); a heavier planned switch cost offsets that. Tuning,
  `python benchmarks/tune_abr.py` (last section): every candidate weight ran with each fold's predictor on 20
  of that fold's *training* traces; the shipped weight is the best mean over those training subsets (x3). The
  subsets of different folds overlap other folds' held-out traces (not strictly nested); the strictly
  nested figure (each fold keeps its own training pick) is given per grid below and swings by several points
  with single outage traces (a few traces of -100 QoE dominate a 25-trace fold's mean). The weight was
  tuned with the single noisy predictor. Re-tuned for the ensemble (`abr_tune_ens.json` below): the
  training-subset means of x2 / x3 / x4 are within 1% of each other (x4 highest), the nested held-out share
  84.0%, x4 on every fold 83.2%; we kept x3 (84.5% held out), so by the strict protocol count 83-84%.

## Predictor ensembles (`benchmarks/abr_variants.py`; seed 0 folds, planned switch cost x3)

Where the learned policy loses to the optimum (per trace, single predictor, held out): 601 of the 793 points
of total QoE gap are on the 103 traces where neither stalls: it hoards buffer (up to 39 s at the end of a
session) at lower levels while the optimum runs at the top level on 5-8 s. Its per-lag distributions put
4-5% on a throughput below 0.2x the recent harmonic mean at lags 5-19 even on steady traces, and a closed-loop
plan that treats those as independent per chunk guards against many of them. Tried, each scored held out
with per-fold nested selection on 20 training traces per fold:

| predictor (members: seed, delay noise in training sessions) | held-out share of optimum |
|---|---|
| single, noise (seed f; the previous recipe) | 84.0% |
| single, no noise (3000 + f) | 84.4% |
| 2 members, both noise (f, 1000 + f) | 84.7% |
| 2 members, noise + no noise (f, 3000 + f) | 84.9% |
| 2 members, noise + no noise (1000 + f, 3000 + f) | 85.1% |
| 2 members, no noise (3000 + f, 4000 + f) | 85.2% |
| 3 members, noise (f, 1000 + f, 2000 + f) | 84.5% |
| 3 members (f, 1000 + f, 3000 + f) | 83.9% |
| 4 members (f, 1000 + f, 3000 + f, 4000 + f) | 82.8% |
| **2 members, no noise (f, 1000 + f): shipped recipe, trained fresh after the choice** | **84.5%** |
| 2 members, no noise (f, 1000 + f), 12 sessions per trace instead of 6 (tried after) | 83.7% |

Sources: the rows up to the 4-member one follow `benchmarks/abr_variants.py` (run first as a
scratch script with the same folds, seeds and training calls; `python benchmarks/abr_variants.py train
0,1,2,3,4`, then `grid 0,3,0+1,0+3` and `grid 3+4,0+1+3+4,1+3,0+1+3`; the 3-member noisy row held out
only); the shipped recipe's row is `bench_abr.py` itself; the 12-session row a one-off run of
`StochasticMPC.train(episodes=12)` per fold. Nested selection per fold among the first four rows: 85.2%;
among the 2-4-member ensembles with no-noise members: 85.9%. Averaging distributions widens them, so two
members help (lower variance) and more members
make the plan conservative again; sessions without the 0.9-1.1 delay noise give sharper predictors.
The spread between 2-member ensembles that differ only in seeds (84.5-85.2%) is as large as the distance to
the 85% target, so without the fade (last section) the target was not met reliably, and we counted the
recipe's fresh figure (84.5%). A planner
that keeps the throughput's quantile from chunk to chunk with probability 0.5 / 0.8 / 0.9 (a closed-loop DP
over buffer x level x quantile, so outages are not independent per chunk) scored 83.5 / 81.8 / 79.4% (x3)
and 81.2 / 80.7% (0.8 / 0.9 at x2): worse, and removed.

## Where the rest of the gap was: the end of the session (switch-cost fade)

Cumulative mean QoE over the held-out traces (shipped-recipe fold predictors, x3, no fade), through chunk
5 / 13 / 25 / 33 / 41 / 47: learned 0.68 / 4.54 / 13.17 / 18.71 / 26.35 / 32.96, optimum 1.79 / 5.98 / 14.29 /
21.17 / 30.52 / 39.01. The gap is 1.1 points after 25 chunks and 6.1 at the end: most of it opens in the
last 20 chunks, where the optimum spends its buffer and the learned policy, on steady traces, ends on 20-30
s it never used. A step up near the end pays the planned x3 switch cost for a one-off change, and that
surcharge is there to pay for oscillations that later re-plans would cause; with few chunks left there are
few re-plans. Hence the fade (module docstring of `reelkit.stream.abr.stochastic`), fitted on training traces.

Tuning run (`python benchmarks/tune_abr.py --grid 3:1:0,3:1:8,3:1:12,3:1:16,3:1:20,3:1:24 --n-train 102
--out benchmarks/out/abr_tune_ens_fade.json`, every training trace of each fold; table in the tuning section
above): every fold's training traces prefer a fade to none (by 0.19-0.49 QoE per session); folds choose R = 8,
12, 8, 8, 16; strictly nested held-out share 85.2%; each fixed R held out: 0 / 8 / 12 / 16 / 20 / 24 chunks:
84.5 / 84.9 / 85.2 / 85.3 / 84.9 / 84.9%. This selection is what `StochasticMPC.train` now does by itself,
so the benchmark's held-out row is the nested figure. Second split (other folds and predictor seeds:
`python benchmarks/bench_abr.py --seed 1 --fold-cache benchmarks/out/abr_folds --out
benchmarks/out/abr_seed1.json --md benchmarks/out/abr_seed1.md`, then the same with `--smooth-fade 0` and
`_nofade` names): **85.1%** held out (1.352x robustMPC; folds chose R = 20, 16, 16, 12, 12) against 84.6%
without the fade on the same predictors; seed 0: 85.2% against 84.5%. The margin over 85% is small next to
the seed-to-seed spread of the predictor (section above): the target is met on both splits, not by much.

Tried the same session and dropped (one-off scratch scripts on the same cached fold predictors, held-out
shares; the baseline is 84.5%): temperature scaling of the predicted distributions, T = 0.65 / 0.8 / 1.15 /
1.3: 79.9 / 83.6 / 82.0 / 77.3% (sharpening or widening both lose); dropping bins under 1% probability 84.1%;
a lighter switch cost at the *start* of a session (x1 or x2 for the first 8 or 16 chunks) 83.3-83.9%;
predictor labels on 31 bins with one centred on the recent harmonic mean / linearly split between the two
nearest bins / both (retrained ensembles) 83.7 / 82.3 / 84.5%; geometric instead of arithmetic pooling of
the two members 84.5%, of four members 84.5% (arithmetic, four: 84.6%).
"""


if __name__ == "__main__":
    sys.exit(main())
