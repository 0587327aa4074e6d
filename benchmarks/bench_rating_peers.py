"""Rating prediction side by side: reelkit's Bayesian MF against scikit-surprise SVD and SVD++.

Same folds (MovieLens-100K u1..u5), same evaluation code (``reelkit.evaluate.evaluate``: every test pair is
predicted, unseen members/titles through each model's fallback), and the same tuning budget for every
model: ``reelkit.evaluate.tune`` with ``--budget`` trials (defaults first, then random draws from the model's
search space), per fold, on a validation split carved from that fold's own base file (20% of each member's
titles), so no fold's test pairs are seen by its tuning (u2-u5.test all lie inside u1.base: tuning once on
u1.base tuned on their test pairs). ``bmf`` is also reported at its defaults (no tuning), which is what
``reelkit evaluate --model bmf`` runs.

Usage::

    python benchmarks/bench_rating_peers.py --budget 6 --json benchmarks/out/rating-peers.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import PEERS

from reelkit.data.loaders import load_events_file
from reelkit.evaluate import evaluate, tune
from reelkit.recommend import registered_models

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "movielens" / "ml-100k"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget", type=int, default=6)
    ap.add_argument("--folds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    ap.add_argument("--models", default="bmf,surprise-svd,surprise-svdpp")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if not (DATA / "u1.base").exists():
        print(f"skipped: {DATA} not found")
        return
    folds = {
        k: (load_events_file(DATA / f"u{k}.base"), load_events_file(DATA / f"u{k}.test")) for k in args.folds
    }
    catalog: dict[str, Any] = {**registered_models(), **PEERS}
    runs: list[tuple[str, dict[str, Any] | None]] = [("bmf", None)]  # defaults, untuned
    runs += [(m, {}) for m in args.models.split(",")]
    results = []
    for name, params in runs:
        cls = catalog[name]
        t0 = time.perf_counter()
        label = f"{name} (defaults)" if params is None else f"{name} (tuned, budget {args.budget})"
        tuned = params is not None
        per_fold = []
        chosen = []
        for k, (train, test) in folds.items():
            if tuned:  # on this fold's own base file only
                params = tune(cls, train, budget=args.budget, metric="rmse", seed=0).best_params
            else:
                params = cls().get_params()
            chosen.append(params)
            res = evaluate(cls(**params), train, test, ks=(10,), n_resamples=0)
            per_fold.append((k, res.metrics["rmse"], res.fit_seconds))
        params = chosen[0]
        tune_s = time.perf_counter() - t0 - sum(s for _, _, s in per_fold)
        rmses = np.array([r for _, r, _ in per_fold])
        row = {
            "model": label,
            "params": params,
            "params_per_fold": {f"u{k}": p for k, p in zip(folds, chosen, strict=True)},
            "rmse_per_fold": {f"u{k}": r for k, r, _ in per_fold},
            "rmse_u1": float(dict((k, r) for k, r, _ in per_fold).get(1, np.nan)),
            "rmse_mean": float(rmses.mean()),
            "fit_seconds_median": float(np.median([s for _, _, s in per_fold])),
            "tune_seconds": tune_s,
        }
        results.append(row)
        print(
            f"{label:36s} u1={row['rmse_u1']:.4f} mean={row['rmse_mean']:.4f} "
            f"fit={row['fit_seconds_median']:.1f}s tune={tune_s:.0f}s "
            f"folds={' '.join(f'{r:.4f}' for r in rmses)}",
            flush=True,
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"budget": args.budget, "results": results}, indent=2))


if __name__ == "__main__":
    main()
