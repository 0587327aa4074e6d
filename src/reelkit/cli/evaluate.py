"""``reelkit evaluate``: fit a model on training data and measure it on held-out data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from reelkit.cli.common import (
    JsonOpt,
    console,
    emit_json,
    executor_for,
    parse_params,
    print_table,
    progress_for,
    refuse_unused,
)
from reelkit.cli.inputs import HeaderOpt, TitlesOpt, UnknownTitlesOpt, parse_columns, read_data
from reelkit.cli.recommend import ColumnsOpt, ParamOpt, SepOpt, low_ratings_rule, model_class
from reelkit.errors import ConfigError


def evaluate_cmd(
    ctx: typer.Context,
    model: Annotated[str, typer.Option("--model", help="Model name (see 'reelkit models').")],
    train: Annotated[Path | None, typer.Option("--train", help="Training file (with --test).")] = None,
    test: Annotated[Path | None, typer.Option("--test", help="Test file (with --train).")] = None,
    ratings: Annotated[
        Path | None, typer.Option("--ratings", help="One file or dataset folder to split (with --split).")
    ] = None,
    split: Annotated[str, typer.Option("--split", help="random | last | time")] = "random",
    test_fraction: Annotated[
        float, typer.Option(help="For --split random: the share of each member's titles held out, in (0, 1).")
    ] = 0.2,
    last_n: Annotated[
        int, typer.Option(min=1, max=1_000_000, help="For --split last: titles held out per member.")
    ] = 1,
    cut: Annotated[
        float, typer.Option(help="For --split time: a unix time, or a quantile of event times in (0, 1).")
    ] = 0.8,
    seed: Annotated[int, typer.Option(min=0, help="Seed for the split, tuning and bootstrap.")] = 0,
    param: ParamOpt = None,
    columns: ColumnsOpt = None,
    sep: SepOpt = None,
    header: HeaderOpt = None,
    unknown_titles: UnknownTitlesOpt = "error",
    titles: TitlesOpt = None,
    min_rating: Annotated[
        float | None, typer.Option(help="Only ratings >= this count as interactions (default: all).")
    ] = None,
    low_ratings: Annotated[
        str,
        typer.Option(
            help="positive: a rating in the lower half of the scale is an interaction like any (the offline "
            "protocol's); dislike: weight 0, as a thumbs-down, in training and in what counts as relevant "
            "(the home page's setting, with its scale: 0-1, 0-5 or 0-10, the first that holds the ratings)."
        ),
    ] = "positive",
    k: Annotated[
        list[int] | None, typer.Option("--k", min=1, help="Cut-offs for top-N metrics (repeatable).")
    ] = None,
    tune: Annotated[
        bool, typer.Option("--tune", help="Tune parameters on a validation split of train first.")
    ] = False,
    budget: Annotated[
        int | None, typer.Option(min=1, max=100_000, help="Tuning trials (default: the tuner's).")
    ] = None,
    tune_metric: Annotated[
        str | None,
        typer.Option(
            help="Metric to tune (default ndcg@10; rmse only for a model that predicts ratings and does not "
            "rank, which no built-in one is: pass rmse to tune bmf on RMSE)."
        ),
    ] = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            help="With --tune: trials in parallel on this machine (each worker holds a copy of the training "
            "data); $REELKIT_EXECUTOR=package.module:factory runs them on another executor instead.",
        ),
    ] = 1,
    json_out: JsonOpt = False,
) -> None:
    """Evaluate a model: given train/test files, or one ratings file split by --split."""
    from reelkit.evaluate import evaluate, split_last, split_random, split_time

    def load(path: Path) -> Any:  # a file, or a folder written by 'reelkit data' (or a MovieLens folder)
        return read_data(
            None, path, columns=columns, sep=sep, header=header, unknown_titles=unknown_titles, titles=titles
        )

    from reelkit.data.confidence import ConfidenceConfig, usual_scale
    from reelkit.evaluate import tune as tune_fn

    cls = model_class(model)
    params: dict[str, Any] = parse_params(param)
    cls(**params)  # validate parameters before any data is read
    parse_columns(columns)  # a malformed --columns is refused before the model is checked against data
    ks = tuple(sorted(set(k or [10, 20])))
    confidence = ConfidenceConfig(low_rating=low_ratings_rule(low_ratings))
    if not tune:
        refuse_unused(ctx, "--tune", "budget", "tune_metric", "workers")
    executor = executor_for(workers) if tune else None  # a bad $REELKIT_EXECUTOR before any data is read
    if ratings is None:
        refuse_unused(ctx, "--ratings", "split", "test_fraction", "last_n", "cut")
    elif split != "random":
        refuse_unused(ctx, "--split random", "test_fraction")
    if split != "last":
        refuse_unused(ctx, "--split last", "last_n")
    if split != "time":
        refuse_unused(ctx, "--split time", "cut")
    with progress_for(not json_out) as progress:
        if train is not None or test is not None:
            if train is None or test is None or ratings is not None:
                raise ConfigError("give --train and --test together (or --ratings with --split)")
            train_ds, test_ds = load(train), load(test)
        elif ratings is not None:
            ds = load(ratings)
            if split == "random":
                train_ds, test_ds = split_random(ds, test_fraction=test_fraction, seed=seed)
            elif split == "last":
                train_ds, test_ds = split_last(ds, n=last_n)
            elif split == "time":
                train_ds, test_ds = split_time(ds, cut)
            else:
                raise ConfigError(f"--split {split!r}: use random, last or time")
        else:
            raise ConfigError("give --train FILE --test FILE, or --ratings FILE --split random|last|time")
        # low ratings as dislikes read the ratings on the service's scale (0-1, 0-5 or 0-10, widened to the
        # data's range), as the home page does: on their own range (0.5-5) a 2.5 was a dislike here only
        scale = None
        if confidence.low_rating == "dislike":
            scale = usual_scale(
                np.concatenate(
                    [
                        d.events.loc[d.events["kind"] == "rating", "value"].to_numpy(float)
                        for d in (train_ds, test_ds)
                    ]
                )
            )
        tuned: dict[str, Any] | None = None
        if tune:
            kwargs: dict[str, Any] = {
                "metric": tune_metric,  # None: tune()'s default (rmse for rating models, else ndcg@10)
                "seed": seed,
                "base_params": params,
                "progress": progress,
                "executor": executor,
            }
            if budget is not None:
                kwargs["budget"] = budget
            result = tune_fn(
                cls, train_ds, min_rating=min_rating, confidence=confidence, rating_scale=scale, **kwargs
            )
            params = dict(result.best_params)
            failed = [t for t in result.trials if t.error is not None]
            tuned = {
                "metric": result.metric,
                "best_score": result.best_score,
                "trials": len(result.trials),
                "skipped": len(failed),
                "first_skip_reason": failed[0].error if failed else None,
            }
        est = cls(**params)
        res = evaluate(
            est,
            train_ds,
            test_ds,
            ks=ks,
            min_rating=min_rating,
            confidence=confidence,
            progress=progress,
            seed=seed,
            rating_scale=scale,
        )
    out = res.to_json()
    if tuned is not None:
        out["tuning"] = tuned
    if json_out:
        emit_json(out)
        return
    if tuned is not None:
        chosen = ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())
        skipped = f", {tuned['skipped']} skipped: {tuned['first_skip_reason']}" if tuned["skipped"] else ""
        console.print(
            f"tuned on {tuned['metric']} ({tuned['trials']} trials{skipped}): {chosen or 'the defaults'}",
            highlight=False,
            markup=False,
        )
    ci = out.get("ci", {})
    cold = int(out.get("n_cold_members", 0))
    print_table(
        f"{model}  (fit {out['fit_seconds']:.2f} s, {out.get('n_members', '?')} members"
        + (
            f"; {cold} test member{'s' if cold != 1 else ''} with no training events left out of the top-N "
            "metrics"
            if cold
            else ""
        )
        + ")",
        ["metric", "value", "95% CI"],
        [
            (name, value, f"[{ci[name][0]:.4f}, {ci[name][1]:.4f}]" if name in ci else "")
            for name, value in out["metrics"].items()
        ],
    )


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate_cmd)
