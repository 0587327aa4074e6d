"""Nested tuning of the learned ABR policy's planner weights, without looking at the scored traces.

For each outer fold (the same seeded 5-fold split and per-fold seeds as ``bench_abr.py``) the fold's trained
predictor (cached in ``--fold-cache``, shared with ``bench_abr.py --fold-cache``) runs every variant of the
planning penalty weights (``smooth_weight`` x ``rebuf_weight``, optionally x ``smooth_fade_chunks``) on a
seeded subset of that fold's *training* traces; the variant with the best mean there is the fold's choice,
and only then is it scored on the held-out fold. Reports the nested held-out share of the offline optimum
(the optimum's mean is read from ``bench_abr.py``'s JSON) and, for information, every variant's held-out
mean.

Usage::

    python benchmarks/tune_abr.py [--grid 1:1,1.5:1,2:1 | --grid 3:1:0,3:1:8] [--n-train 20] [--workers 2]
        [--fold-cache benchmarks/out/abr_folds] [--bench-json benchmarks/out/abr.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reelkit.executor import LocalExecutor
from reelkit.stream.abr import load_video_dir
from reelkit.stream.abr.evaluate import kfold_splits
from reelkit.stream.abr.sim import simulate
from reelkit.stream.abr.stochastic import StochasticMPC
from reelkit.stream.abr.traces import load_traces

sys.path.insert(0, str(Path(__file__).parent))
from bench_abr import fold_model

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "abr"


@dataclass(frozen=True)
class Job:
    """One fold's traces (``which``: the training subset or the held-out fold) under every variant."""

    traces: Path
    video: Path
    fold: int
    folds: int
    seed: int
    which: str
    n_train: int
    grid: tuple[tuple[float, float, int], ...]
    cache: Path


def _run(job: Job) -> tuple[int, str, list[int], list[list[float]]]:
    traces = load_traces(job.traces)
    video = load_video_dir(job.video)
    tr, te = kfold_splits(len(traces), job.folds, job.seed)[job.fold]
    _, base = fold_model(job.cache, job.seed + job.fold, tr, traces, video)
    subset = np.random.default_rng(100 + job.fold).permutation(tr)[: job.n_train]
    idx = subset if job.which == "train" else te
    out = []
    for sw, rw, fade in job.grid:
        pol = StochasticMPC(
            base.predictor, horizon=base.horizon, smooth_weight=sw, rebuf_weight=rw, smooth_fade_chunks=fade
        )
        out.append([simulate(pol, traces[int(i)], video).qoe_sum for i in idx])
    return job.fold, job.which, [int(i) for i in idx], out


def _variant(text: str) -> tuple[float, float, int]:
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise SystemExit(f"--grid: {text!r} is not smooth_weight:rebuf_weight[:smooth_fade_chunks]")
    return float(parts[0]), float(parts[1]), int(parts[2]) if len(parts) == 3 else 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--traces", type=Path, default=DATA / "train_traces")
    ap.add_argument("--video", type=Path, default=DATA / "video")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--grid",
        default="1:1,1.5:1,2:1",
        help="smooth_weight:rebuf_weight[:smooth_fade_chunks] variants (fade 0 when left out)",
    )
    ap.add_argument("--n-train", type=int, default=20, help="training traces per fold used for selection")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--fold-cache", type=Path, default=Path(__file__).parent / "out" / "abr_folds")
    ap.add_argument("--bench-json", type=Path, default=Path(__file__).parent / "out" / "abr.json")
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "out" / "abr_tune.json")
    args = ap.parse_args()
    if not args.traces.is_dir() or not args.video.is_dir():
        print(f"note: {args.traces} or {args.video} absent; nothing to do")
        return 0
    grid = tuple(_variant(p) for p in args.grid.split(","))
    t0 = time.perf_counter()
    jobs = [
        Job(args.traces, args.video, f, args.folds, args.seed, w, args.n_train, grid, args.fold_cache)
        for f in range(args.folds)
        for w in ("train", "test")
    ]
    results = LocalExecutor(workers=args.workers).map(_run, jobs)
    by = {(f, w): (idx, q) for f, w, idx, q in results}
    n = sum(len(by[(f, "test")][0]) for f in range(args.folds))
    chosen = []
    nested_sum = 0.0
    per_variant = np.zeros(len(grid))
    for f in range(args.folds):
        train_means = [float(np.mean(q)) for q in by[(f, "train")][1]]
        c = int(np.argmax(train_means))
        test_q = by[(f, "test")][1]
        chosen.append(
            {
                "fold": f,
                "choice": grid[c],
                "train_means": train_means,
                "test_sums": [float(np.sum(q)) for q in test_q],
            }
        )
        nested_sum += float(np.sum(test_q[c]))
        per_variant += [float(np.sum(q)) for q in test_q]
    opt = None
    if args.bench_json.exists():
        rows = json.loads(args.bench_json.read_text())["held_out"]
        opt = next(r["qoe_sum_mean"] for r in rows if r["algo"] == "optimal")
    doc = {
        "grid": grid,
        "n_train_per_fold": args.n_train,
        "chosen": chosen,
        "nested_held_out_qoe_sum_mean": nested_sum / n,
        "nested_share_of_optimal": None if opt is None else nested_sum / n / opt,
        "per_variant_held_out_qoe_sum_mean": (per_variant / n).tolist(),
        "per_variant_share_of_optimal": None if opt is None else (per_variant / n / opt).tolist(),
        "wall_s": time.perf_counter() - t0,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=2))
    print(json.dumps(doc, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
