"""Random-search hyperparameter tuning on a validation split carved from the training data.

:func:`tune` holds out 20% of each member's training titles (:func:`split_random` with the given seed),
evaluates ``budget`` configurations on that validation split and returns the best one. The first trial is
the model's default parameters (with ``base_params``); the others draw every parameter of
``model_cls.search_space`` that ``base_params`` does not fix from its :class:`~reelkit.recommend.base.Space`,
with ``numpy.random.default_rng(seed)``. The search is deterministic by ``seed`` (as far as the model's own
fit is). The caller then fits the chosen parameters on the whole training set.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from reelkit.data.confidence import ConfidenceConfig
from reelkit.data.dataset import Dataset
from reelkit.errors import ConfigError, EmptyDataError
from reelkit.evaluate.runner import LOWER_IS_BETTER, evaluate
from reelkit.evaluate.splits import split_random
from reelkit.executor import Executor, SerialExecutor
from reelkit.progress import SILENT, Progress
from reelkit.recommend.base import Recommender

__all__ = ["DEFAULT_BUDGET", "Trial", "TuneResult", "tune"]

#: Configurations evaluated by :func:`tune` unless told otherwise (the defaults plus 19 random draws).
DEFAULT_BUDGET = 20


@dataclass(frozen=True)
class Trial:
    """One evaluated configuration: its full parameters, its score on the tuning metric, every metric of
    the validation run and the fit time. ``error`` says why an invalid configuration was skipped (then
    ``score`` is NaN and ``metrics`` empty)."""

    params: dict[str, Any]
    score: float
    metrics: dict[str, float]
    fit_seconds: float
    error: str | None = None


@dataclass(frozen=True)
class TuneResult:
    """The outcome of :func:`tune`: the best parameters and score, and every trial in the order run."""

    model: str
    metric: str
    lower_is_better: bool
    best_params: dict[str, Any]
    best_score: float
    trials: tuple[Trial, ...]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN scores of failed trials become ``None``)."""

        def num(x: float) -> float | None:
            return float(x) if np.isfinite(x) else None

        return {
            "model": self.model,
            "metric": self.metric,
            "lower_is_better": self.lower_is_better,
            "best_params": dict(self.best_params),
            "best_score": num(self.best_score),
            "trials": [
                {
                    "params": dict(t.params),
                    "score": num(t.score),
                    "metrics": {k: num(v) for k, v in t.metrics.items()},
                    "fit_seconds": t.fit_seconds,
                    "error": t.error,
                }
                for t in self.trials
            ],
        }


def _metric_cutoff(metric: str) -> int | None:
    if "@" not in metric:
        return None
    name, _, k = metric.partition("@")
    if not name or not k.isdigit() or int(k) < 1:
        raise ConfigError(f"metric {metric!r} is not of the form name@k (e.g. ndcg@10) nor rmse/mae")
    return int(k)


@dataclass(frozen=True)
class _TrialTask:
    """One configuration to fit and score on the validation split (picklable for process executors)."""

    model: Recommender
    fit_part: Dataset
    valid_part: Dataset
    metric: str
    ks: tuple[int, ...]
    min_rating: float | None
    confidence: ConfidenceConfig | None
    seed: int
    rating_scale: tuple[float, float] | None = None


def _run_trial(task: _TrialTask) -> tuple[dict[str, float], float] | str:
    """The metrics and fit seconds of one configuration, or why its fit refused it (a parameter the data
    cannot take, e.g. a regularization too small to invert: the trial is skipped, not the search)."""
    try:
        result = evaluate(
            task.model,
            task.fit_part,
            task.valid_part,
            ks=task.ks,
            min_rating=task.min_rating,
            confidence=task.confidence,
            seed=task.seed,
            n_resamples=0,
            rating_scale=task.rating_scale,
        )
    except ConfigError as exc:
        return str(exc)
    if task.metric not in result.metrics:  # raised by the first trial: the others are not started
        raise ConfigError(
            f"metric {task.metric!r} is not available for model {task.model.name!r}; "
            f"choose one of {', '.join(result.metrics)}"
        )
    return dict(result.metrics), result.fit_seconds


def tune(
    model_cls: type[Recommender],
    train: Dataset,
    *,
    budget: int = DEFAULT_BUDGET,
    metric: str | None = None,
    seed: int = 0,
    base_params: Mapping[str, Any] | None = None,
    min_rating: float | None = None,
    confidence: ConfidenceConfig | None = None,
    executor: Executor | None = None,
    progress: Progress = SILENT,
    rating_scale: tuple[float, float] | None = None,
) -> TuneResult:
    """Random search over ``model_cls.search_space`` on a validation split of ``train``.

    ``budget`` (default :data:`DEFAULT_BUDGET` = 20) configurations are evaluated: the defaults first (with
    ``base_params``, which also stay fixed in every later trial), then random draws. A repeated draw reuses
    the earlier score but still counts. Configurations that the model's config rejects are recorded as
    failed trials. ``metric`` defaults to ``ndcg@10`` for ``top-n`` and ``both`` models and ``rmse`` for
    ``rating`` models (``ndcg@10`` with ``min_rating`` or low ratings as dislikes, which keep the lower
    ratings out of training); ``rating_scale``: as :func:`~reelkit.evaluate.evaluate`'s.
    ``rmse``/``mae`` are minimised, every other metric maximised. Ties keep the earlier trial. The
    configurations are drawn first; each distinct one is then a task of ``executor`` (in this process by
    default), so the results do not depend on where or in which order they run.
    """
    if budget < 1:
        raise ConfigError(f"budget must be at least 1, got {budget}")
    drops_low = confidence is not None and confidence.low_rating == "dislike"
    if metric is None:
        metric = "rmse" if model_cls.kind == "rating" and min_rating is None and not drops_low else "ndcg@10"
    if metric in LOWER_IS_BETTER and model_cls.kind == "top-n":
        raise ConfigError(f"model {model_cls.name!r} does not predict ratings; tune it on a top-N metric")
    if metric in LOWER_IS_BETTER and min_rating is not None:
        raise ConfigError(
            f"{metric} with min_rating: the model would be fitted without the ratings under {min_rating:g} "
            "and judged on them; tune on a top-N metric, or without min_rating"
        )
    if metric in LOWER_IS_BETTER and drops_low:
        raise ConfigError(
            f"{metric} with low ratings as dislikes: the model would be fitted without them and judged on "
            "them; tune on a top-N metric, or with low ratings positive"
        )
    k = _metric_cutoff(metric)
    ks = (k,) if k is not None else (10,)
    lower = metric in LOWER_IS_BETTER
    fixed = dict(base_params or {})
    try:  # the validation split is the tuner's own: a failure is named as the tuner's
        fit_part, valid_part = split_random(train, 0.2, seed)
    except EmptyDataError as exc:
        raise EmptyDataError(
            "tuning holds out 20% of each member's training titles for validation, and none would be held "
            "out: a member needs at least 3 training titles (after the evaluation's own split); tune on "
            "more data, or evaluate without tuning"
        ) from exc
    rng = np.random.default_rng(seed)
    free = {name: space for name, space in model_cls.search_space.items() if name not in fixed}

    planned: list[Trial | str] = []  # a configuration its config refused, or the key of one to score
    models: dict[str, Recommender] = {}
    configs: dict[str, dict[str, Any]] = {}  # each one's full parameters, as drawn (before any fit)
    for i in range(budget):
        params = dict(fixed)
        if i > 0:
            params.update({name: space.sample(rng) for name, space in free.items()})
        try:
            model = model_cls(**params)
        except ConfigError as exc:
            failed = Trial(params=params, score=float("nan"), metrics={}, fit_seconds=0.0, error=str(exc))
            planned.append(failed)
            continue
        full = model.get_params()
        key = json.dumps(full, sort_keys=True, default=str)
        if key not in models:  # a repeated draw reuses the first one's score
            models[key], configs[key] = model, full
        planned.append(key)
    keys = list(models)
    tasks = [
        _TrialTask(models[key], fit_part, valid_part, metric, ks, min_rating, confidence, seed, rating_scale)
        for key in keys
    ]
    ex = executor if executor is not None else SerialExecutor()
    outcomes = ex.map(_run_trial, tasks, progress=progress, description=f"tuning {model_cls.name}")
    cache: dict[str, Trial] = {}
    for key, outcome in zip(keys, outcomes, strict=True):
        if isinstance(outcome, str):  # the fit refused it
            cache[key] = Trial(configs[key], float("nan"), {}, 0.0, error=outcome)
        else:
            cache[key] = Trial(configs[key], float(outcome[0][metric]), outcome[0], outcome[1])
    trials = [p if isinstance(p, Trial) else cache[p] for p in planned]

    scored = [t for t in trials if np.isfinite(t.score)]
    if not scored:
        raise ConfigError(
            f"no configuration of {model_cls.name!r} could be scored on {metric!r}: "
            + (trials[0].error or "every score was undefined")
        )
    best = min(scored, key=lambda t: t.score) if lower else max(scored, key=lambda t: t.score)
    return TuneResult(
        model=model_cls.name,
        metric=metric,
        lower_is_better=lower,
        best_params=dict(best.params),
        best_score=best.score,
        trials=tuple(trials),
    )
