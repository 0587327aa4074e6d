"""A low rating as a dislike or as an interaction: which finds the titles members go on to like?

The home page counts a rating in the lower half of the scale as a dislike (weight 0, kept as seen, as a
thumbs-down; ``ConfidenceConfig(low_rating="dislike")``); the library's default counts every rating as an
interaction (``"positive"``), as the offline protocol of section 1 and its peer libraries do. This script
fits each model both ways on the same training split and scores both on the same held-out titles:

* **liked**: held-out titles rated 4 or more (what a home page is for);
* **every**: every held-out rating (the protocol of section 1), for the other side of the trade.

Splits: per-member random 20% holdout (seeds as given) and each member's last 5 ratings. Default parameters
(no tuning; the same for both settings). The dislike setting reads the ratings on the service's scale
(:func:`~reelkit.data.confidence.usual_scale`: 0-5 for MovieLens, where 2.5 is not low), as the home page and
``reelkit evaluate --low-ratings dislike`` do; the positive one on their own range, as the protocol does.
Figures are means over the random seeds, and the last-5 split.

Usage::

    python benchmarks/bench_low_ratings.py --dataset ml-latest-small --seeds 0 1 2 --json out.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from reelkit.data.confidence import ConfidenceConfig, usual_scale
from reelkit.data.dataset import Dataset
from reelkit.data.loaders import load_events_file
from reelkit.evaluate import evaluate, split_last, split_random
from reelkit.recommend import registered_models

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "movielens"
FILES = {"ml-100k": DATA / "ml-100k" / "u.data", "ml-latest-small": DATA / "ml-latest-small" / "ratings.csv"}
MODELS = ("ease", "als", "itemknn", "rp3beta", "bmf")
SETTINGS = ("positive", "dislike")


def _liked(test: Dataset) -> Dataset:
    ev = test.events
    return test.with_events(ev[(ev["kind"] == "rating") & (ev["value"] >= 4)])


def _every(test: Dataset) -> Dataset:
    """Every held-out rating relevant under both settings: a test pair is relevant when its weight is
    positive under the setting's formula, so its value is set to the top of the scale (values decide
    nothing else in a top-N evaluation)."""
    ev = test.events
    rated = ev["kind"] == "rating"
    return test.with_events(ev.assign(value=ev["value"].where(~rated, float(ev.loc[rated, "value"].max()))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", choices=sorted(FILES), default="ml-latest-small")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--json", type=Path, help="Write all results here.")
    args = ap.parse_args()
    path = FILES[args.dataset]
    if not path.exists():
        print(f"skipped: {path} not found (needs ../shared/data/movielens)")
        return
    ds = load_events_file(path)
    service_scale = usual_scale(ds.events.loc[ds.events["kind"] == "rating", "value"])
    catalog = registered_models()
    splits = {f"random{s}": split_random(ds, test_fraction=0.2, seed=s) for s in args.seeds}
    splits["last5"] = split_last(ds, n=5)
    rows: list[dict[str, Any]] = []
    for split, (train, test) in splits.items():
        for name in [m for m in args.models.split(",") if m]:
            for setting in SETTINGS:
                cfg = ConfidenceConfig(low_rating=setting)  # type: ignore[arg-type]
                for target, held in (("liked", _liked(test)), ("every", _every(test))):
                    model = catalog[name]()
                    scale = service_scale if setting == "dislike" else None
                    res = evaluate(
                        model, train, held, ks=(10,), confidence=cfg, n_resamples=0, rating_scale=scale
                    )
                    row = {"split": split, "model": name, "low_rating": setting, "target": target}
                    row |= {k: res.metrics[k] for k in ("ndcg@10", "recall@10")}
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"dataset": args.dataset, "rows": rows}, indent=1))

    def mean(model: str, setting: str, target: str, metric: str, random: bool) -> float:
        vals = [
            r[metric]
            for r in rows
            if r["model"] == model
            and r["low_rating"] == setting
            and r["target"] == target
            and r["split"].startswith("random") == random
        ]
        return float(np.mean(vals))

    print(f"\n{args.dataset}: NDCG@10, positive -> dislike (change)")
    head = "liked: positive | liked: dislike | change | every: positive | every: dislike | change"
    print(f"| model | split | {head} |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name in [m for m in args.models.split(",") if m]:
        for random, label in ((True, f"random x{len(args.seeds)}"), (False, "last 5")):
            cells = []
            for target in ("liked", "every"):
                p, d = (mean(name, s, target, "ndcg@10", random) for s in SETTINGS)
                cells += [f"{p:.4f}", f"{d:.4f}", f"{(d / p - 1) * 100:+.1f}%"]
            print(f"| {name} | {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
