"""Offline evaluation: train/test splits, per-member metrics with bootstrap intervals, the evaluation
runner, and random-search tuning on a validation split."""

from reelkit.evaluate.metrics import (
    bootstrap_ci,
    bootstrap_cis,
    coverage,
    hit_rate_at_k,
    mae,
    map_at_k,
    ndcg_at_k,
    novelty,
    precision_at_k,
    recall_at_k,
    rmse,
)
from reelkit.evaluate.runner import EvalResult, FoldsResult, evaluate, evaluate_folds
from reelkit.evaluate.splits import split_last, split_random, split_time
from reelkit.evaluate.tuning import DEFAULT_BUDGET, Trial, TuneResult, tune

__all__ = [
    "DEFAULT_BUDGET",
    "EvalResult",
    "FoldsResult",
    "Trial",
    "TuneResult",
    "bootstrap_ci",
    "bootstrap_cis",
    "coverage",
    "evaluate",
    "evaluate_folds",
    "hit_rate_at_k",
    "mae",
    "map_at_k",
    "ndcg_at_k",
    "novelty",
    "precision_at_k",
    "recall_at_k",
    "rmse",
    "split_last",
    "split_random",
    "split_time",
    "tune",
]
