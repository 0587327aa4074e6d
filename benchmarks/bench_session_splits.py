"""Where ``session-ease``'s gain comes from: the same models on three kinds of split, default parameters.

``session-ease`` adds to EASE's Gram matrix the titles each member watched (here: rated) close together in
time. On a per-member random holdout the held-out titles sit in the same bursts as training titles, which
the session term reads; on a global time cut (the future after the cut is held out) or each member's last
ratings, it has less to read. The script fits, with default parameters (no tuning):

* ``ease``: EASE's defaults (regularization 300, binary input);
* ``ease-600-weight``: EASE with ``session-ease``'s regularization and input, so the session term alone
  is what differs from the next row;
* ``session-ease``: the defaults (regularization 600, confidence weights, session weight 8, window 120 s).

Usage::

    python benchmarks/bench_session_splits.py --dataset ml-100k --seeds 0 1 2 3 4 --json out.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from reelkit.data.loaders import load_events_file
from reelkit.evaluate import evaluate, split_last, split_random, split_time
from reelkit.recommend.ease import EASE, SessionEASE

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "movielens"
FILES = {"ml-100k": DATA / "ml-100k" / "u.data", "ml-latest-small": DATA / "ml-latest-small" / "ratings.csv"}
MODELS = {
    "ease": lambda: EASE(),
    "ease-600-weight": lambda: EASE(regularization=600.0, weighting="weight"),
    "session-ease": lambda: SessionEASE(),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=sorted(FILES), default="ml-100k")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    path = FILES[args.dataset]
    if not path.exists():
        print(f"skipped: {path} not found (needs ../shared/data/movielens)")
        return
    ds = load_events_file(path)
    splits = {f"random (seed {s})": split_random(ds, test_fraction=0.2, seed=s) for s in args.seeds}
    splits["time cut at the 80% quantile"] = split_time(ds, 0.8)
    splits["last 5 per member"] = split_last(ds, 5)
    rows: list[dict[str, Any]] = []
    for split, (train, test) in splits.items():
        for name, make in MODELS.items():
            res = evaluate(make(), train, test, ks=(10,), n_resamples=0)
            rows.append({"split": split, "model": name, "ndcg@10": res.metrics["ndcg@10"]})
    table: dict[str, dict[str, list[float]]] = {}
    for r in rows:
        key = "random (mean over seeds)" if r["split"].startswith("random") else r["split"]
        table.setdefault(key, {}).setdefault(r["model"], []).append(r["ndcg@10"])
    print(f"| split ({args.dataset}) | " + " | ".join(MODELS) + " | session / ease-600-weight |")
    print("|---|" + "---:|" * (len(MODELS) + 1))
    summary = {}
    for split, by_model in table.items():
        means = {m: float(np.mean(v)) for m, v in by_model.items()}
        summary[split] = means
        ratio = means["session-ease"] / means["ease-600-weight"]
        print(f"| {split} | " + " | ".join(f"{means[m]:.4f}" for m in MODELS) + f" | {ratio:.3f}x |")
    if args.json:
        out = {"dataset": args.dataset, "rows": rows, "summary": summary}
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
