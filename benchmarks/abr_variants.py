"""Predictor-ensemble variants of the learned ABR policy, scored held out and selected nested.

Members per fold ``f`` of the seeded 5-fold split (``bench_abr.py``'s): single predictors trained with
``StochasticMPC.train(members=1)`` on the fold's training traces; member 0 (seed ``f``), 1 (``1000 + f``) and
2 (``2000 + f``) on sessions with ``sim/env.py``'s delay noise, members 3 (``3000 + f``) and 4 (``4000 + f``)
without it. A variant is a set of members whose distributions are averaged. For each fold every variant runs
on 20 of the fold's *training* traces (seeded) and on the held-out fold; the nested figure lets each fold use
the variant that was best on its training subset. Shares are of the offline optimum's mean in
``benchmarks/out/abr.json`` (run ``bench_abr.py`` first).

Usage::

    python benchmarks/abr_variants.py train 0,1,3,4
    python benchmarks/abr_variants.py grid 0,3,0+1,0+3,3+4 [--tag NAME]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reelkit.executor import LocalExecutor
from reelkit.stream.abr import load_video_dir
from reelkit.stream.abr.evaluate import kfold_splits
from reelkit.stream.abr.sim import simulate
from reelkit.stream.abr.stochastic import StochasticMPC
from reelkit.stream.abr.traces import load_traces
from reelkit.stream.abr.ttp import EnsembleDistribution

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "abr"
CACHE = Path(__file__).parent / "out" / "abr_folds"
NOISY = (0, 1, 2)


def member_path(fold: int, member: int, train: np.ndarray) -> tuple[Path, int]:
    key = hashlib.sha256(train.astype(np.int64).tobytes()).hexdigest()[:12]
    seed = fold if member == 0 else 1000 * member + fold
    tag = "" if member in NOISY else "_nonoise"
    return CACHE / f"fold_seed{seed}_{key}{tag}.npz", seed


@dataclass(frozen=True)
class TrainJob:
    fold: int
    member: int


def _train(job: TrainJob) -> float:
    import time

    traces = load_traces(DATA / "train_traces")
    video = load_video_dir(DATA / "video")
    tr, _ = kfold_splits(len(traces), 5, 0)[job.fold]
    path, seed = member_path(job.fold, job.member, tr)
    if path.exists():
        return 0.0
    t0 = time.perf_counter()
    pol = StochasticMPC.train([traces[i] for i in tr], video, seed=seed, members=1, noise=job.member in NOISY)
    path.parent.mkdir(parents=True, exist_ok=True)
    pol.save(path)
    return time.perf_counter() - t0


@dataclass(frozen=True)
class GridJob:
    fold: int
    variants: tuple[tuple[int, ...], ...]
    n_train: int = 20


def _grid(job: GridJob) -> dict[str, tuple[list[float], list[float]]]:
    traces = load_traces(DATA / "train_traces")
    video = load_video_dir(DATA / "video")
    tr, te = kfold_splits(len(traces), 5, 0)[job.fold]
    sub = np.random.default_rng(1000 + job.fold).permutation(tr)[: job.n_train]
    out = {}
    for members in job.variants:
        nets = [StochasticMPC.load(member_path(job.fold, m, tr)[0]).predictor for m in members]
        pred = nets[0] if len(nets) == 1 else EnsembleDistribution(nets)  # type: ignore[arg-type]
        pol = StochasticMPC(pred, horizon=20, smooth_weight=3.0)
        out["+".join(map(str, members))] = (
            [simulate(pol, traces[i], video).qoe_sum for i in sub],
            [simulate(pol, traces[i], video).qoe_sum for i in te],
        )
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["train", "grid"])
    ap.add_argument("spec", help="train: members, e.g. 0,3; grid: variants, e.g. 0,0+3,3+4")
    ap.add_argument("--tag", default="variants")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    ex = LocalExecutor(workers=args.workers)
    if args.mode == "train":
        jobs = [TrainJob(f, int(m)) for m in args.spec.split(",") for f in range(5)]
        print("train s", ex.map(_train, jobs))
        return 0
    variants = tuple(tuple(int(x) for x in v.split("+")) for v in args.spec.split(","))
    outs = ex.map(_grid, [GridJob(f, variants) for f in range(5)])
    bench = json.loads((Path(__file__).parent / "out" / "abr.json").read_text())
    opt = next(r for r in bench["held_out"] if r["algo"] == "optimal")["qoe_sum_mean"]
    keys = list(outs[0])
    nested: list[float] = []
    rows = []
    for f, o in enumerate(outs):
        best = max(keys, key=lambda k: float(np.mean(o[k][0])))
        nested += o[best][1]
        print(f"fold {f}: choice {best}", {k: round(float(np.mean(o[k][0])), 2) for k in keys})
    for k in keys:
        held = [x for o in outs for x in o[k][1]]
        train = float(np.mean([np.mean(o[k][0]) for o in outs]))
        rows.append({"variant": k, "train_subset_mean": train, "held_out_share": float(np.mean(held)) / opt})
        print(f"{k:>10}  training-subset mean {train:.2f}  held-out share {np.mean(held) / opt:.4f}")
    share = float(np.mean(nested)) / opt
    print(f"nested held-out share {share:.4f}")
    doc = {"variants": rows, "nested_share": share, "folds": outs}
    (Path(__file__).parent / "out" / f"abr_variants_{args.tag}.json").write_text(json.dumps(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
