"""Offline evaluation of one model on a (train, test) pair, or averaged over several folds.

:func:`evaluate` fits the model on ``train`` and measures, over the test side:

* **top-N metrics, for every model** (rating models rank by predicted rating): each member's relevant
  held-out titles are its test pairs that are positive interactions (confidence weight > 0, so a thumbs-down
  is not relevant) and, when ``min_rating`` is given, whose rating is ``>= min_rating`` or that have no
  rating. Titles the member already has in training are excluded from the ranking (``exclude_seen``) and so
  are not held-out titles; a test title never seen in training cannot be recommended but still counts in the
  ideal DCG and in recall's denominator. Members absent from the training events are skipped (counted in
  ``n_cold_members``); a member in them without a positive interaction (every rating under ``min_rating``,
  thumbs-down only) is ranked as an empty history is (a personal model: by popularity), the titles it saw
  in training excluded and not held out. One top-``max(ks)``
  list per member is computed (batched through :meth:`Recommender.recommend_rows`) and cut at each ``k``.
  Per-member metrics get a paired percentile bootstrap confidence interval over members.
* **rating metrics** (``rmse``, ``mae``), for models of kind ``rating``/``both``: over *all* test pairs with
  an explicit rating (the last rating of the pair); unknown members or titles get the model's fallback
  through :meth:`Recommender.predict`. Not computed with ``min_rating`` or with low ratings as dislikes
  (``ConfidenceConfig.low_rating``): the model is then fitted without the lower ratings, and its errors on
  them would measure that, not the model.

See :mod:`reelkit.evaluate.metrics` for the formulas.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from reelkit.data.confidence import ConfidenceConfig, aggregate_events, rated_under
from reelkit.data.dataset import Dataset
from reelkit.errors import ConfigError, EmptyDataError
from reelkit.evaluate.metrics import (
    _csr_contains,
    bootstrap_cis,
    coverage,
    hit_rate_at_k,
    mae,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    novelty,
    precision_at_k,
    recall_at_k,
    rmse,
)
from reelkit.progress import SILENT, Progress
from reelkit.recommend.base import MAX_LIST_PADDING, Recommender

__all__ = ["EvalResult", "FoldsResult", "evaluate", "evaluate_folds"]

#: Per-member top-N metrics, by the name used in metric keys (``ndcg@10``).
_RANKING = {
    "ndcg": ndcg_at_k,
    "recall": recall_at_k,
    "map": map_at_k,
    "mrr": mrr_at_k,
    "hitrate": hit_rate_at_k,
    "precision": precision_at_k,
}

#: Metrics where lower is better (all others: higher is better).
LOWER_IS_BETTER = frozenset({"rmse", "mae"})


def _json_float(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


@dataclass(frozen=True)
class EvalResult:
    """The outcome of :func:`evaluate`.

    ``metrics`` maps keys such as ``ndcg@10``, ``recall@20``, ``map@10``, ``hitrate@10``, ``precision@10``,
    ``coverage@10``, ``novelty@10`` (and ``rmse``, ``mae`` for rating-capable models) to their value; ``ci``
    gives a bootstrap interval for each per-member metric (all top-N metrics but coverage). ``n_members`` is
    the number of members evaluated for top-N, ``n_test_pairs`` their relevant held-out pairs, and
    ``n_rating_pairs`` the rated test pairs behind ``rmse``/``mae``. ``n_cold_members`` counts the test
    members with relevant held-out titles but no training events, left out of the top-N metrics.
    """

    model: str
    params: dict[str, Any]
    metrics: dict[str, float]
    ci: dict[str, tuple[float, float]]
    fit_seconds: float
    n_members: int
    n_test_pairs: int
    n_rating_pairs: int = 0
    n_cold_members: int = 0

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (non-finite numbers become ``None``; intervals become ``[lo, hi]`` lists)."""
        return {
            "model": self.model,
            "params": dict(self.params),
            "metrics": {k: _json_float(v) for k, v in self.metrics.items()},
            "ci": {k: [_json_float(lo), _json_float(hi)] for k, (lo, hi) in self.ci.items()},
            "fit_seconds": float(self.fit_seconds),
            "n_members": int(self.n_members),
            "n_test_pairs": int(self.n_test_pairs),
            "n_rating_pairs": int(self.n_rating_pairs),
            "n_cold_members": int(self.n_cold_members),
        }


def _check_ks(ks: Sequence[int]) -> tuple[int, ...]:
    out = tuple(sorted({int(k) for k in ks}))
    if not out or out[0] < 1:
        raise ConfigError(f"ks must be one or more cutoffs >= 1, got {tuple(ks)}")
    return out


def _sorted_history(model: Recommender) -> sp.csr_matrix:
    h: sp.csr_matrix = model.history_
    if not h.has_sorted_indices:
        h = h.sorted_indices()
    return h


def evaluate(
    model: Recommender,
    train: Dataset,
    test: Dataset,
    *,
    ks: Sequence[int] = (10, 20),
    min_rating: float | None = None,
    confidence: ConfidenceConfig | None = None,
    progress: Progress = SILENT,
    seed: int = 0,
    n_resamples: int = 1000,
    rating_scale: tuple[float, float] | None = None,
) -> EvalResult:
    """Fit ``model`` on ``train`` and evaluate it on ``test`` (see the module docstring).

    The model is fitted in place on ``train.interactions(confidence=confidence, min_rating=min_rating,
    rating_scale=rating_scale)`` (``None``: the training ratings' range); the test pairs are read on the same
    scale. ``fit_seconds`` times that fit alone. ``seed`` and ``n_resamples`` drive the bootstrap intervals
    (``n_resamples=0``: no intervals, ``ci`` is empty).
    Raises :class:`~reelkit.errors.EmptyDataError` when nothing can be evaluated.
    """
    cutoffs = _check_ks(ks)
    max_k = cutoffs[-1]
    if test.n_events == 0:
        raise EmptyDataError("the test set has no events")
    cfg = confidence or ConfidenceConfig()
    inter = train.interactions(confidence=cfg, min_rating=min_rating, rating_scale=rating_scale)
    limit = max(inter.n_titles, MAX_LIST_PADDING)
    if max_k > limit:  # said before the fit, naming the cutoff (recommend_rows would say "n=")
        raise ConfigError(
            f"cutoff k={max_k} is more than the {inter.n_titles:,} titles of the training data; give cutoffs "
            f"up to {limit:,} (CLI --k)"
        )
    start = time.perf_counter()
    model.fit(inter, progress=progress)
    fit_seconds = time.perf_counter() - start

    pairs = aggregate_events(test.events, cfg, inter.rating_scale)
    member_ids = np.asarray(pairs["member_id"], dtype=str)
    title_ids = np.asarray(pairs["title_id"], dtype=str)
    rating = pairs["rating"].to_numpy(np.float64)
    relevant = pairs["weight"].to_numpy(np.float64) > 0
    if min_rating is not None:
        relevant &= ~rated_under(
            rating, pairs["thumb"].to_numpy(), pairs["thumb_last"].to_numpy(bool), min_rating
        )

    rows = model.member_rows(member_ids, missing_ok=True)
    cols = model.title_cols(title_ids, missing_ok=True)
    # titles seen in training are not held out: interactions, and pairs kept out of them (a thumbs-down, a
    # rating under min_rating), which the model does not recommend again either
    seen = _csr_contains(_sorted_history(model), rows, cols) | _csr_contains(model.seen_, rows, cols)
    # a member in the training events with no interaction (every rating under min_rating, thumbs-down
    # only) is no cold member: it is ranked as an empty history is, its training titles excluded, and gets
    # a row after the model's (n_members + its code)
    fresh_ids, fresh_seen, fresh_pairs = _members_without_interactions(model, train, member_ids, rows)
    if len(fresh_ids):
        code = pd.Index(fresh_ids).get_indexer(member_ids)
        fresh = code >= 0
        rows = np.where(fresh, model.history_.shape[0] + code, rows)
        at = np.flatnonzero(fresh)
        seen[at] |= pd.MultiIndex.from_arrays([member_ids[at], title_ids[at]]).isin(fresh_pairs)
    keep = relevant & (rows >= 0) & ~seen
    n_model = model.n_titles
    unknown = keep & (cols < 0)
    cols = cols.copy()
    if unknown.any():
        codes, _ = pd.factorize(title_ids[unknown], sort=True)
        cols[unknown] = n_model + np.asarray(codes, dtype=np.int64)
    n_all = int(cols[keep].max()) + 1 if keep.any() else n_model
    eval_rows, member_pos = np.unique(rows[keep], return_inverse=True)
    n_eval = int(eval_rows.shape[0])
    can_rate = model.kind in ("rating", "both") and min_rating is None and cfg.low_rating != "dislike"
    rated = ~np.isnan(rating)
    if n_eval == 0 and not (can_rate and rated.any()):
        raise EmptyDataError(
            "nothing to evaluate: no test member has both training data and a relevant held-out title "
            "(check the split, and that --min-rating does not drop every test pair)"
        )

    metrics: dict[str, float] = {}
    ci: dict[str, tuple[float, float]] = {}
    if n_eval:
        truth = sp.csr_matrix(
            (np.ones(int(keep.sum()), dtype=np.float32), (member_pos.ravel(), cols[keep])),
            shape=(n_eval, max(n_all, n_model)),
        )
        recs = _top_lists(model, eval_rows, max_k, progress, fresh_seen)
        n_train_members = max(int(model.history_.shape[0]), 1)
        popularity = np.bincount(model.history_.indices, minlength=n_model) / n_train_members
        series: dict[str, np.ndarray] = {}
        for k in cutoffs:
            for name, fn in _RANKING.items():
                series[f"{name}@{k}"] = fn(recs, truth, k)
            series[f"novelty@{k}"] = novelty(recs, popularity, k)
            metrics[f"coverage@{k}"] = coverage(recs, n_model, k)
        for key, values in series.items():
            metrics[key] = float(np.nanmean(values)) if np.any(~np.isnan(values)) else float("nan")
        if n_resamples > 0:
            keys = list(series)
            intervals = bootstrap_cis(np.vstack([series[key] for key in keys]), n_resamples, seed=seed)
            ci = {key: (float(lo), float(hi)) for key, (lo, hi) in zip(keys, intervals, strict=True)}
        metrics = {key: metrics[key] for key in _metric_order(cutoffs) if key in metrics}

    n_rating_pairs = 0
    if can_rate and rated.any():
        predicted = model.predict(member_ids[rated], title_ids[rated])
        metrics["rmse"] = rmse(predicted, rating[rated])
        metrics["mae"] = mae(predicted, rating[rated])
        n_rating_pairs = int(rated.sum())

    return EvalResult(
        model=model.name,
        params=model.get_params(),
        metrics=metrics,
        ci=ci,
        fit_seconds=fit_seconds,
        n_members=n_eval,
        n_test_pairs=int(keep.sum()),
        n_rating_pairs=n_rating_pairs,
        n_cold_members=int(np.unique(member_ids[relevant & (rows < 0)]).shape[0]),
    )


def _metric_order(cutoffs: Sequence[int]) -> list[str]:
    names = [*_RANKING, "coverage", "novelty"]
    return [f"{name}@{k}" for k in cutoffs for name in names]


def _members_without_interactions(
    model: Recommender, train: Dataset, member_ids: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, sp.csr_matrix, pd.MultiIndex]:
    """The test members the model has no row for that are in ``train``'s events (sorted), the titles each
    saw there as a matrix over the model's titles, and all their training pairs (member, title)."""
    unknown = np.unique(member_ids[rows < 0])
    events = train.events
    in_train = events["member_id"].isin(unknown).to_numpy()
    if not in_train.any():
        return (
            np.zeros(0, dtype=str),
            sp.csr_matrix((0, model.n_titles), dtype=np.bool_),
            pd.MultiIndex.from_arrays([[], []]),
        )
    pairs = events.loc[in_train, ["member_id", "title_id"]].drop_duplicates()
    who = np.asarray(pairs["member_id"], dtype=str)
    what = np.asarray(pairs["title_id"], dtype=str)
    ids = np.unique(who)
    r = np.searchsorted(ids, who)
    c = model.title_cols(what, missing_ok=True)
    known = c >= 0
    seen = sp.csr_matrix(
        (np.ones(int(known.sum()), dtype=np.bool_), (r[known], c[known])), shape=(len(ids), model.n_titles)
    )
    return ids, seen, pd.MultiIndex.from_arrays([who, what])


def _top_lists(
    model: Recommender, rows: np.ndarray, n: int, progress: Progress, fresh_seen: sp.csr_matrix
) -> np.ndarray:
    """Top-``n`` title columns of every row in ``rows``, batched: a training row's with its seen titles
    excluded; a row ``n_members + i`` is the member ``fresh_seen[i]`` describes, scored as an empty history
    with the titles it saw excluded."""
    n_model = int(model.history_.shape[0])
    trained, fresh = rows[rows < n_model], rows[rows >= n_model] - n_model
    batch = model.score_batch_rows()
    parts = []
    with progress.task("evaluating", total=len(rows)) as task:
        for start in range(0, len(trained), batch):
            chunk = trained[start : start + batch]
            idx, _ = model.recommend_rows(chunk, n, exclude_seen=True)
            parts.append(np.asarray(idx))
            task.advance(len(chunk))
        for start in range(0, len(fresh), batch):
            chunk = fresh[start : start + batch]
            empty = sp.csr_matrix((len(chunk), model.n_titles), dtype=np.float32)
            idx, _ = model.recommend_rows(
                np.full(len(chunk), -1, dtype=np.int64),
                n,
                exclude_seen=True,
                history=empty,
                ratings=empty,
                seen=fresh_seen[chunk],
            )
            parts.append(np.asarray(idx))
            task.advance(len(chunk))
    return np.vstack(parts)


@dataclass(frozen=True)
class FoldsResult:
    """:func:`evaluate` over several (train, test) folds: the mean and sample standard deviation of each
    metric (over the folds where it exists in every fold), and each fold's result."""

    model: str
    params: dict[str, Any]
    metrics: dict[str, float]
    std: dict[str, float]
    folds: tuple[EvalResult, ...]

    @property
    def fit_seconds(self) -> float:
        """Mean fit time over the folds."""
        return float(np.mean([f.fit_seconds for f in self.folds]))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: the means and deviations, then every fold's :meth:`EvalResult.to_json`."""
        return {
            "model": self.model,
            "params": dict(self.params),
            "metrics": {k: _json_float(v) for k, v in self.metrics.items()},
            "std": {k: _json_float(v) for k, v in self.std.items()},
            "fit_seconds": self.fit_seconds,
            "n_folds": len(self.folds),
            "folds": [f.to_json() for f in self.folds],
        }


def evaluate_folds(
    model: Recommender,
    folds: Iterable[tuple[Dataset, Dataset]],
    *,
    ks: Sequence[int] = (10, 20),
    min_rating: float | None = None,
    confidence: ConfidenceConfig | None = None,
    progress: Progress = SILENT,
    seed: int = 0,
    rating_scale: tuple[float, float] | None = None,
) -> FoldsResult:
    """Evaluate a fresh copy of ``model`` (same parameters) on each ``(train, test)`` fold and average.

    Folds are e.g. ``[split_random(ds, 0.2, s) for s in range(5)]`` or MovieLens ``u1``–``u5``. The
    standard deviation uses ``ddof=1`` (0 for a single fold). ``model`` itself is left as it was.
    """
    fold_list = list(folds)
    if not fold_list:
        raise ConfigError("evaluate_folds needs at least one (train, test) fold")
    results: list[EvalResult] = []
    params = model.get_params()
    with progress.task("folds", total=len(fold_list)) as task:
        for train, test in fold_list:
            fresh = type(model)(**params)
            results.append(
                evaluate(
                    fresh,
                    train,
                    test,
                    ks=ks,
                    min_rating=min_rating,
                    confidence=confidence,
                    seed=seed,
                    rating_scale=rating_scale,
                )
            )
            task.advance()
    keys = [k for k in results[0].metrics if all(k in r.metrics for r in results)]
    mean: dict[str, float] = {}
    std: dict[str, float] = {}
    for key in keys:
        vals = np.asarray([r.metrics[key] for r in results], dtype=np.float64)
        mean[key] = float(vals.mean())
        std[key] = float(vals.std(ddof=1)) if len(vals) > 1 else 0.0
    return FoldsResult(model=model.name, params=params, metrics=mean, std=std, folds=tuple(results))
