"""Top-N benchmark: reelkit's models against implicit (ALS, BPR) and cornac (EASE), side by side.

Protocol (the same for every model, ours and theirs):
1. Per-member random 20% holdout of the ratings, seeds 0-4 (``reelkit.evaluate.split_random``); every rated
   title is an interaction; training titles are excluded from the ranking; held-out titles never seen in
   training still count in the ideal DCG.
2. Tuning: ``reelkit.evaluate.tune`` with the same budget for every model (default first, then random draws
   from its search space), per seed, on a validation split carved from that seed's own training set
   (validation = 20% of each member's training titles), so no seed's test pairs are seen by its tuning.
   (Tuning once on seed 0's training set and reusing the pick for seeds 1-4 let about 80% of their test
   pairs into the tuning data.)
3. Metrics: NDCG@10, Recall@20 etc. from ``reelkit.evaluate``; per seed with 95% bootstrap CIs over members;
   the table reports the mean over seeds and a 95% t-interval over the seed means.

Usage::

    python benchmarks/bench_topn.py --dataset ml-100k --budget 10 --json benchmarks/out/topn-ml100k.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import PEERS

from reelkit.data.loaders import load_events_file
from reelkit.evaluate import evaluate, split_random, tune
from reelkit.recommend import registered_models

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "movielens"
FILES = {"ml-100k": DATA / "ml-100k" / "u.data", "ml-latest-small": DATA / "ml-latest-small" / "ratings.csv"}
OURS = ("popular", "community-pop", "itemknn", "rp3beta", "ease", "session-ease", "als")
THEIRS = ("implicit-als", "implicit-bpr", "cornac-ease")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=sorted(FILES), default="ml-100k")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--budget", type=int, default=10)
    ap.add_argument("--models", default=",".join(OURS + THEIRS))
    ap.add_argument(
        "--params-from",
        type=Path,
        help="Reuse tuned parameters (per seed) from an earlier --json output of the same seeds.",
    )
    ap.add_argument("--json", type=Path, help="Write all results here.")
    args = ap.parse_args()

    path = FILES[args.dataset]
    if not path.exists():
        print(f"skipped: {path} not found (needs ../shared/data/movielens)")
        return
    ds = load_events_file(path)
    catalog: dict[str, Any] = {**registered_models(), **PEERS}
    names = [m for m in args.models.split(",") if m]
    reuse: dict[str, Any] = {}
    if args.params_from and args.params_from.exists():
        reuse = {
            r["model"]: r.get("params_per_seed", [r["params"]] * len(args.seeds))
            for r in json.loads(args.params_from.read_text())["results"]
        }

    splits = {s: split_random(ds, test_fraction=0.2, seed=s) for s in args.seeds}
    results = []
    for name in names:
        cls = catalog[name]
        per_seed = []
        chosen = []
        tune_s = 0.0
        for i, s in enumerate(args.seeds):
            train, test = splits[s]
            t0 = time.perf_counter()
            if name in reuse:
                params = reuse[name][i]
            elif cls.search_space and args.budget > 1:  # on this seed's training side only
                params = tune(cls, train, budget=args.budget, metric="ndcg@10", seed=0).best_params
            else:
                params = cls().get_params()
            tune_s += time.perf_counter() - t0
            chosen.append(params)
            res = evaluate(cls(**params), train, test, ks=(10, 20), seed=s)
            per_seed.append(res)
        params = chosen[0]
        ndcg = np.array([r.metrics["ndcg@10"] for r in per_seed])
        lo, hi = _t_interval(ndcg)
        row = {
            "model": name,
            "library": "reelkit" if name in registered_models() else name.split("-")[0],
            "params": params,
            "params_per_seed": chosen,
            "ndcg@10": float(ndcg.mean()),
            "ndcg@10_ci95_over_seeds": [lo, hi],
            "recall@20": float(np.mean([r.metrics["recall@20"] for r in per_seed])),
            "map@10": float(np.mean([r.metrics["map@10"] for r in per_seed])),
            "coverage@10": float(np.mean([r.metrics["coverage@10"] for r in per_seed])),
            "per_seed_ndcg@10": ndcg.tolist(),
            "per_seed_ci95": [r.ci["ndcg@10"] for r in per_seed],
            "fit_seconds_median": float(np.median([r.fit_seconds for r in per_seed])),
            "tune_seconds": tune_s,
        }
        results.append(row)
        print(
            f"{name:15s} ndcg@10={row['ndcg@10']:.4f} [{lo:.4f}, {hi:.4f}] recall@20={row['recall@20']:.4f} "
            f"fit={row['fit_seconds_median']:.2f}s tune={tune_s:.0f}s params(seed {args.seeds[0]})={params}",
            flush=True,
        )
    ours = [r for r in results if r["library"] == "reelkit"]
    theirs = [r for r in results if r["library"] != "reelkit"]
    summary: dict[str, Any] = {"dataset": args.dataset, "seeds": args.seeds, "budget": args.budget}
    if ours and theirs:
        best_ours = max(ours, key=lambda r: r["ndcg@10"])
        best_peer = max(theirs, key=lambda r: r["ndcg@10"])
        ratios = np.array(best_ours["per_seed_ndcg@10"]) / np.array(best_peer["per_seed_ndcg@10"])
        summary.update(
            best_ours=best_ours["model"],
            best_peer=best_peer["model"],
            ratio=float(best_ours["ndcg@10"] / best_peer["ndcg@10"]),
            ratio_per_seed=ratios.tolist(),
        )
        print(
            f"best reelkit {best_ours['model']} / best peer {best_peer['model']}: {summary['ratio']:.3f}x "
            f"(per seed {', '.join(f'{x:.3f}' for x in ratios)})"
        )
    pop = next((r for r in results if r["model"] == "popular"), None)
    comm = next((r for r in results if r["model"] == "community-pop"), None)
    if pop and comm:
        summary["community_vs_popular"] = comm["ndcg@10"] / pop["ndcg@10"]
        print(f"community-pop / popular: {summary['community_vs_popular']:.3f}x")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"summary": summary, "results": results}, indent=2))


def _t_interval(x: np.ndarray) -> tuple[float, float]:
    if len(x) < 2:
        return float(x.mean()), float(x.mean())
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return float(x.mean() - half), float(x.mean() + half)


if __name__ == "__main__":
    main()
