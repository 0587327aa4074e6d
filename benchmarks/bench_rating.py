"""Rating-prediction benchmark: RMSE on the MovieLens-100K predefined splits u1..u5.

Fits a rating model (default ``bmf``) on each ``uN.base``, predicts every pair of ``uN.test`` (pairs with a
member or title unseen in training get the model's fallback, and count) and prints RMSE and fit time per fold,
then the mean. Usage::

    python benchmarks/bench_rating.py                       # bmf with its defaults, folds 1-5
    python benchmarks/bench_rating.py --folds 1 --json      # one fold, JSON on stdout
    python benchmarks/bench_rating.py --param rank=32 --param implicit='"none"'

The data is read from ``--data`` (a folder with ``u1.base`` ... ``u5.test``, tab-separated
``user item rating timestamp``), by default ``../shared/data/movielens/ml-100k`` next to the repository.
When it is absent the benchmark prints why and exits with status 0 (skipped).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import reelkit.recommend
import reelkit.recommend.bayes_mf  # registers "bmf" until reelkit.recommend imports it)
from reelkit.data.dataset import Dataset
from reelkit.recommend.base import Recommender

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "movielens" / "ml-100k"
COLUMNS = ["member_id", "title_id", "value", "timestamp"]


@dataclass(frozen=True)
class FoldResult:
    fold: int
    rmse: float
    fit_seconds: float
    fit_cpu_seconds: float
    n_test: int
    n_fallback: int


def read_split(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", names=COLUMNS, dtype={"member_id": str, "title_id": str})


def run_fold(folder: Path, fold: int, model_name: str, params: dict[str, Any]) -> FoldResult:
    train = read_split(folder / f"u{fold}.base").assign(kind="rating")
    test = read_split(folder / f"u{fold}.test")
    inter = Dataset.from_events(train, source=f"u{fold}.base").interactions()
    model: Recommender = reelkit.recommend.registered_models()[model_name](**params)
    wall, cpu = time.perf_counter(), time.process_time()
    model.fit(inter)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    members, titles = test["member_id"].to_numpy(), test["title_id"].to_numpy()
    pred = model.predict(members, titles)
    rmse = float(np.sqrt(np.mean((pred - test["value"].to_numpy(np.float64)) ** 2)))
    unknown = (model.member_rows(members, missing_ok=True) < 0) | (
        model.title_cols(titles, missing_ok=True) < 0
    )
    return FoldResult(fold, rmse, wall, cpu, len(test), int(unknown.sum()))


def parse_param(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"--param wants key=value (a JSON value), got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder holding u1.base .. u5.test")
    parser.add_argument("--model", default="bmf", help="registered rating model (default: bmf)")
    parser.add_argument("--folds", type=int, nargs="+", default=[1, 2, 3, 4, 5], choices=range(1, 6))
    parser.add_argument(
        "--param", type=parse_param, action="append", default=[], help="model param key=value"
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)

    missing = [
        f"u{k}.{part}"
        for k in args.folds
        for part in ("base", "test")
        if not (args.data / f"u{k}.{part}").is_file()
    ]
    if missing:
        print(
            f"skipped: MovieLens-100K splits not found in {args.data} (missing {', '.join(missing[:4])}); "
            "pass --data FOLDER",
            file=sys.stderr,
        )
        return 0
    params = dict(args.param)
    results = []
    for fold in args.folds:
        res = run_fold(args.data, fold, args.model, params)
        results.append(res)
        if not args.json:
            print(
                f"u{fold}: RMSE {res.rmse:.4f}  fit {res.fit_seconds:5.1f} s "
                f"(cpu {res.fit_cpu_seconds:5.1f} s)"
                f"  test pairs {res.n_test} ({res.n_fallback} with an unseen member or title)",
                flush=True,
            )
    mean_rmse = float(np.mean([r.rmse for r in results]))
    mean_fit = float(np.mean([r.fit_seconds for r in results]))
    if args.json:
        model_cls = reelkit.recommend.registered_models()[args.model]
        out = {
            "model": args.model,
            "params": model_cls(**params).get_params(),
            "folds": [asdict(r) for r in results],
            "mean_rmse": mean_rmse,
            "mean_fit_seconds": mean_fit,
        }
        print(json.dumps(out, indent=2))
    else:
        print(f"mean: RMSE {mean_rmse:.4f}  fit {mean_fit:.1f} s over {len(results)} fold(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
