"""Ranking, catalog and rating metrics, per member, plus a bootstrap confidence interval.

Top-N metrics take

``recs``
    an ``(m, k)`` integer array of recommended title columns per member, best first, ``-1`` as padding
    (what :meth:`Recommender.recommend_rows` returns); each row holds distinct titles;
``truth``
    an ``(m, n_all)`` binary sparse matrix of each member's held-out relevant titles (any stored non-zero
    counts as relevant). ``n_all`` may exceed the model's title count: titles never seen in training get
    columns ``>= n_model_titles``; they can never be recommended but still count in the ideal DCG and in
    recall's denominator, so a model is not rewarded for a catalog it never saw.

and return one value per member (``float64``) so a confidence interval can be computed over members. With
``rel_r = 1`` when the title at rank ``r`` (1-based) is relevant, ``R`` the member's relevant set and
``hits@k = sum_{r<=k} rel_r``:

.. code-block:: text

    precision@k = hits@k / k                     (k even when fewer titles were recommended)
    recall@k    = hits@k / |R|
    hitrate@k   = [hits@k >= 1]
    DCG@k       = sum_{r<=k} rel_r / log2(r + 1)
    IDCG@k      = sum_{r<=min(|R|, k)} 1 / log2(r + 1)
    nDCG@k      = DCG@k / IDCG@k
    AP@k        = sum_{r<=k} P@r * rel_r / min(|R|, k)        (P@r = hits@r / r)
    RR@k        = 1 / (rank of the first relevant title), 0 when none is in the top k

A member with no relevant title gets NaN for the metrics divided by ``|R|``; the caller excludes such
members. ``k`` defaults to the width of ``recs``.
"""

from __future__ import annotations

from typing import TypeAlias

import numpy as np
import scipy.sparse as sp

from reelkit.errors import ConfigError

__all__ = [
    "bootstrap_ci",
    "bootstrap_cis",
    "coverage",
    "hit_rate_at_k",
    "mae",
    "map_at_k",
    "mrr_at_k",
    "ndcg_at_k",
    "novelty",
    "precision_at_k",
    "recall_at_k",
    "rmse",
]

#: A held-out relevance matrix: any scipy sparse matrix or array (or a dense array).
Truth: TypeAlias = sp.spmatrix | sp.sparray | np.ndarray

#: Most resampled values held in memory at once by :func:`bootstrap_ci`.
_BOOTSTRAP_CHUNK = 4_000_000


def _relevant(truth: Truth) -> sp.csr_matrix:
    """``truth`` as a CSR matrix of ones at the relevant entries, indices sorted, no duplicates."""
    t = sp.csr_matrix(truth, copy=True)
    t.sum_duplicates()
    t.data = (t.data != 0).astype(np.float32)
    t.eliminate_zeros()
    t.sort_indices()
    return t


def _csr_contains(mat: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Whether ``mat`` stores an entry at each ``(rows[i], cols[i])`` (broadcast); negative or out-of-range
    columns are never contained. ``mat`` must have sorted indices and no duplicates."""
    n_rows, n_cols = mat.shape
    rows, cols = np.broadcast_arrays(np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64))
    valid = (cols >= 0) & (cols < n_cols) & (rows >= 0) & (rows < n_rows)
    if mat.nnz == 0:
        return np.zeros(rows.shape, dtype=bool)
    counts = np.diff(mat.indptr)
    keys = np.repeat(np.arange(n_rows, dtype=np.int64), counts) * n_cols + mat.indices.astype(np.int64)
    query = np.where(valid, rows * n_cols + cols, -1)
    pos = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    found: np.ndarray = valid & (keys[pos] == query)
    return found


def _two_d(recs: np.ndarray) -> np.ndarray:
    """``recs`` as an array, refused unless it is ``(members, k)`` (a flat list raised a raw IndexError)."""
    recs = np.asarray(recs)
    if recs.ndim != 2:
        raise ConfigError(f"recs must be a 2-d (members, k) array, got shape {recs.shape}")
    return recs


def _top(recs: np.ndarray, k: int | None) -> tuple[np.ndarray, int]:
    """The first ``k`` columns of ``recs`` and ``k``; with ``None`` all of them and their number, even 0
    (lists with no slots). A cutoff given under 1 is refused (``0`` measured nothing, ``-1`` all but the
    last slot)."""
    recs = _two_d(recs)
    if k is None:
        return recs, recs.shape[1]
    k = int(k)
    if k < 1:
        raise ConfigError(f"k must be at least 1, got {k}")
    return recs[:, :k], k


def _hits(recs: np.ndarray, truth: Truth, k: int | None) -> tuple[np.ndarray, np.ndarray, int]:
    """Boolean ``(m, min(k, width))`` hit matrix, ``|R|`` per member, and the effective ``k``."""
    recs = _two_d(recs)
    t = _relevant(truth)
    if t.shape[0] != recs.shape[0]:
        raise ConfigError(f"recs has {recs.shape[0]} rows but truth has {t.shape[0]}")
    top, k = _top(recs, k)
    if k < 1:  # lists with no slots: precision@0 and the ideal DCG@0 have no meaning
        raise ConfigError(f"k must be at least 1, got {k}")
    ordered = np.sort(top, axis=1)
    repeated = ((ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)).any(axis=1)
    if repeated.any():  # a title counted at two ranks made recall, AP and nDCG exceed 1
        row = int(np.flatnonzero(repeated)[0])
        raise ConfigError(
            f"recs row {row} names a title twice in its top {k}; each row holds distinct titles"
        )
    hits = _csr_contains(t, np.arange(top.shape[0])[:, None], top)
    return hits, np.diff(t.indptr).astype(np.float64), k


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


def precision_at_k(recs: np.ndarray, truth: Truth, k: int | None = None) -> np.ndarray:
    """``hits@k / k`` per member."""
    hits, _, k = _hits(recs, truth, k)
    return np.asarray(hits.sum(axis=1) / float(k), dtype=np.float64)


def recall_at_k(recs: np.ndarray, truth: Truth, k: int | None = None) -> np.ndarray:
    """``hits@k / |R|`` per member (NaN when ``|R| = 0``)."""
    hits, n_rel, _ = _hits(recs, truth, k)
    return _ratio(hits.sum(axis=1).astype(np.float64), n_rel)


def hit_rate_at_k(recs: np.ndarray, truth: Truth, k: int | None = None) -> np.ndarray:
    """``1`` when at least one of the top ``k`` is relevant, else ``0``, per member."""
    hits, _, _ = _hits(recs, truth, k)
    return np.asarray(hits.any(axis=1), dtype=np.float64)


def ndcg_at_k(recs: np.ndarray, truth: Truth, k: int | None = None) -> np.ndarray:
    """Binary-gain nDCG: ``sum_r rel_r / log2(r+1)`` over the ideal ``sum_{r<=min(|R|,k)} 1/log2(r+1)``."""
    hits, n_rel, k = _hits(recs, truth, k)
    disc = _discounts(k)
    dcg = hits.astype(np.float64) @ disc[: hits.shape[1]]
    ideal = np.concatenate([[0.0], np.cumsum(disc)])[np.minimum(n_rel, k).astype(np.int64)]
    return _ratio(dcg, ideal)


def map_at_k(recs: np.ndarray, truth: Truth, k: int | None = None) -> np.ndarray:
    """AP@k per member: ``sum_{r<=k} P@r * rel_r / min(|R|, k)``; its mean over members is MAP@k.

    With ``min(|R|, k)`` (the usual AP@k of top-N recommendation) a list of ``k`` hits scores 1; trec_eval
    and ranx divide by ``|R|``, so they read lower for members with more than ``k`` relevant titles (equal
    where ``|R| <= k``)."""
    hits, n_rel, k = _hits(recs, truth, k)
    h = hits.astype(np.float64)
    prec = np.cumsum(h, axis=1) / np.arange(1, h.shape[1] + 1, dtype=np.float64)
    return _ratio((prec * h).sum(axis=1), np.minimum(n_rel, k))


def mrr_at_k(recs: np.ndarray, truth: Truth, k: int | None = None) -> np.ndarray:
    """Reciprocal rank per member: ``1 / r`` for the first relevant title at rank ``r <= k``, else 0 (NaN
    when ``|R| = 0``); its mean over members is MRR@k (LensKit's ``RecipRank``, RecBole's ``MRR``)."""
    hits, n_rel, _ = _hits(recs, truth, k)
    first = np.argmax(hits, axis=1)
    rr = np.where(hits.any(axis=1), 1.0 / (first + 1.0), 0.0)
    return np.where(n_rel > 0, rr, np.nan)


def coverage(recs: np.ndarray, n_titles: int, k: int | None = None) -> float:
    """Catalog coverage: the fraction of the ``n_titles`` catalog recommended (in the top ``k``) to anyone."""
    if n_titles < 1:
        raise ConfigError(f"n_titles must be at least 1, got {n_titles}")
    top, _ = _top(recs, k)
    valid = top[(top >= 0) & (top < n_titles)]
    return float(np.unique(valid).shape[0] / n_titles)


def novelty(recs: np.ndarray, item_popularity: np.ndarray, k: int | None = None) -> np.ndarray:
    """Mean self-information ``-log2 p(i)`` of each member's recommended titles (NaN for an empty list).

    ``item_popularity[i] = p(i)`` is the fraction of training members who interacted with title ``i``; a
    title everyone has seen carries 0 bits, one seen by 1 member in 1024 carries 10 bits. Padding (``-1``)
    is skipped.
    """
    top, _ = _top(recs, k)
    pop = np.asarray(item_popularity, dtype=np.float64)
    valid = (top >= 0) & (top < pop.shape[0])
    p = pop[np.where(valid, top, 0)]
    if np.any(valid & ~(p > 0)):
        raise ConfigError("item_popularity must be > 0 for every recommended title")
    info = np.where(valid, -np.log2(np.where(valid, p, 1.0)), 0.0)
    return _ratio(info.sum(axis=1), valid.sum(axis=1).astype(np.float64))


def _pair_arrays(predicted: np.ndarray, actual: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(predicted, dtype=np.float64).ravel()
    a = np.asarray(actual, dtype=np.float64).ravel()
    if p.shape != a.shape:
        raise ConfigError(f"predicted has {p.shape[0]} values but actual has {a.shape[0]}")
    return p, a


def rmse(predicted: np.ndarray, actual: np.ndarray) -> float:
    """Root mean squared error ``sqrt(mean((p - a)^2))`` over rating pairs (NaN when there are none)."""
    p, a = _pair_arrays(predicted, actual)
    return float(np.sqrt(np.mean((p - a) ** 2))) if p.size else float("nan")


def mae(predicted: np.ndarray, actual: np.ndarray) -> float:
    """Mean absolute error ``mean(|p - a|)`` over rating pairs (NaN when there are none); ``MAE <= RMSE``."""
    p, a = _pair_arrays(predicted, actual)
    return float(np.mean(np.abs(p - a))) if p.size else float("nan")


def bootstrap_ci(
    values: np.ndarray, n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of per-member ``values``.

    Draws ``n_resamples`` resamples of the members with replacement (``numpy.random.default_rng(seed)``),
    takes each resample's mean, and returns the ``(1 - confidence) / 2`` and ``(1 + confidence) / 2``
    quantiles of those means. NaN values are dropped first; no values gives ``(nan, nan)``.
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    lo, hi = bootstrap_cis(v[~np.isnan(v)][None, :], n_resamples, confidence, seed)[0]
    return float(lo), float(hi)


def bootstrap_cis(
    values: np.ndarray, n_resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> np.ndarray:
    """Paired percentile bootstrap intervals for several per-member series at once.

    ``values`` is ``(n_series, n_members)``; every resample draws one multiset of members (as counts
    ``c_j``) shared by all series, whose resampled mean is ``sum_j c_j v_j / sum_j c_j`` over the members
    where the series is defined (not NaN). Returns an ``(n_series, 2)`` array of ``(lo, hi)``; a series with
    no defined value gets NaNs. Vectorised (one count matrix and one matrix product per chunk of resamples,
    chunks bounded in memory), so many metrics cost little more than one.
    """
    if n_resamples < 1:
        raise ConfigError(f"n_resamples must be at least 1, got {n_resamples}")
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence must be in (0, 1), got {confidence}")
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2:
        raise ConfigError(f"values must be 2-d (series, members), got shape {v.shape}")
    n_series, n = v.shape
    out = np.full((n_series, 2), np.nan)
    defined = ~np.isnan(v)
    has = defined.any(axis=1)
    if n == 0 or not has.any():
        return out
    x = np.where(defined, v, 0.0)[has].T  # (n, s)
    w = defined[has].astype(np.float64).T
    rng = np.random.default_rng(seed)
    chunk = max(1, _BOOTSTRAP_CHUNK // n)
    means = np.empty((n_resamples, x.shape[1]), dtype=np.float64)
    for start in range(0, n_resamples, chunk):
        b = min(chunk, n_resamples - start)
        idx = rng.integers(0, n, size=(b, n))
        counts = np.empty((b, n), dtype=np.float64)
        for r in range(b):
            counts[r] = np.bincount(idx[r], minlength=n)
        num, den = counts @ x, counts @ w
        block = np.full(num.shape, np.nan)
        np.divide(num, den, out=block, where=den > 0)
        means[start : start + b] = block
    alpha = (1.0 - confidence) / 2.0
    out[has] = np.nanquantile(means, [alpha, 1.0 - alpha], axis=0).T
    return out
