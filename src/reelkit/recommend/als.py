"""Implicit-feedback ALS (Hu, Koren & Volinsky 2008) with conjugate-gradient solves.

Every (member ``u``, title ``i``) cell has a preference ``p_ui`` (1 if ``u`` interacted with ``i``, else 0)
and a confidence ``c_ui = 1 + alpha * w_ui`` (``w`` the interaction's weight, or 1 with
``weighting="binary"``; ``c = 1`` for empty cells). ALS minimises

.. code-block:: text

    sum_{u,i} c_ui (p_ui - x_u . y_i)^2 + regularization * (|X|^2 + |Y|^2)

by alternating exact-in-expectation least-squares steps over members and titles. Each member's step solves
``(Y^T C_u Y + reg I) x_u = Y^T C_u p_u``; ``Y^T C_u Y = Y^T Y + Y^T (C_u - I) Y`` only needs the member's own
titles, and like ``implicit``'s CPU solver we run a few conjugate-gradient steps warm-started from the
previous factors instead of a Cholesky solve (Takács et al. 2011). Each CG step lowers that member's part of
the objective, so the training loss (recorded in ``loss_history_``, divided by the total confidence) falls
every iteration.

Members not seen in training (fold-in, ``rows == -1``) get the exact solution of the member step from the
history they are given, against the learned title factors; no refit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numba
import numpy as np
import scipy.sparse as sp
from numba import njit, prange
from pydantic import Field

from reelkit.data.dataset import Interactions
from reelkit.progress import Progress
from reelkit.recommend.base import ModelConfig, Recommender, Space, register

__all__ = ["ALS", "ALSConfig"]


class ALSConfig(ModelConfig):
    """Parameters of :class:`ALS`."""

    #: Latent dimensions (128 beats 64 by about 0.01 NDCG@10 on ml-latest-small, ties on ML-100K).
    factors: int = Field(128, ge=1, le=4096)
    #: L2 penalty on both factor matrices. With ``alpha`` it sets the balance between fitting the
    #: observed cells and shrinking towards popularity; on MovieLens the optimum is a ridge at about
    #: ``regularization = 10 * alpha`` (default tuned for NDCG@10 on ML-100K and ml-latest-small).
    regularization: float = Field(50.0, ge=0)
    #: Confidence slope: ``c = 1 + alpha * w``.
    alpha: float = Field(5.0, ge=0)
    #: ALS sweeps (one member step and one title step each).
    iterations: int = Field(15, ge=1, le=10_000)
    #: Conjugate-gradient steps per solve (``implicit`` uses 3).
    cg_steps: int = Field(3, ge=1)
    #: ``weight`` uses the interactions' confidence weights as ``w``; ``binary`` uses ``w = 1``.
    weighting: Literal["binary", "weight"] = "weight"
    #: Seed of the initial factors; the fit is deterministic given the seed (at any thread count, and
    #: whether the kernels were compiled in the process or loaded from numba's cache).
    seed: int = Field(0, ge=0)  # numpy's default_rng takes any non-negative integer
    #: Threads for the numba kernels during fit; 0 keeps numba's current setting.
    num_threads: int = Field(0, ge=0)


# ---------------------------------------------------------------------------------------------- kernels
#: LLVM fast-math flags of the kernels: all but ``arcp``. With ``reassoc`` and ``arcp`` together a fit
#: compiled in the process differed from one loaded from numba's cache (0.544 against 0.541 in a title
#: factor after 25 sweeps): the same machine code then rounds differently depending on which path of a
#: loop runs. ``reassoc`` alone keeps the sums vectorised (without it a fit is 7-10x slower).
_FASTMATH = {"reassoc", "nnan", "ninf", "nsz", "contract", "afn"}


@njit(parallel=True, fastmath=_FASTMATH, cache=True)
def _cg_sweep(
    indptr: np.ndarray,
    indices: np.ndarray,
    conf1: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    yty: np.ndarray,
    cg_steps: int,
) -> None:  # pragma: no cover - compiled
    """Update every row of ``x`` in place by ``cg_steps`` CG steps on its ALS normal equations.

    ``conf1`` holds ``c - 1 = alpha * w`` per stored cell; ``yty`` is ``Y^T Y + reg I``.
    """
    n_rows, f = x.shape
    for u in prange(n_rows):
        lo = indptr[u]
        hi = indptr[u + 1]
        if lo == hi:
            for a in range(f):
                x[u, a] = 0.0
            continue
        xu = x[u]
        r = np.empty(f, dtype=x.dtype)
        p = np.empty(f, dtype=x.dtype)
        ap = np.empty(f, dtype=x.dtype)
        # r = b - A x  with  A = YtY + reg I + sum_i (c_i - 1) y_i y_i^T,  b = sum_i c_i y_i
        for a in range(f):
            s = np.float32(0.0)
            for b in range(f):
                s += yty[a, b] * xu[b]
            r[a] = -s
        for k in range(lo, hi):
            yi = y[indices[k]]
            c1 = conf1[k]
            d = np.float32(0.0)
            for a in range(f):
                d += yi[a] * xu[a]
            coef = (c1 + np.float32(1.0)) - c1 * d
            for a in range(f):
                r[a] += coef * yi[a]
        # Every sum runs in a loop that only reads: a loop that also stores gets a runtime alias check
        # from LLVM, and its vector and scalar versions add in different orders under fastmath, so which
        # one ran (it depends on where the heap put the scratch arrays) changed the factors by an ulp.
        for a in range(f):
            p[a] = r[a]
        rsold = np.float32(0.0)
        for a in range(f):
            rsold += r[a] * r[a]
        if rsold < 1e-20:
            continue
        for _ in range(cg_steps):
            for a in range(f):
                s = np.float32(0.0)
                for b in range(f):
                    s += yty[a, b] * p[b]
                ap[a] = s
            for k in range(lo, hi):
                yi = y[indices[k]]
                d = np.float32(0.0)
                for a in range(f):
                    d += yi[a] * p[a]
                d *= conf1[k]
                for a in range(f):
                    ap[a] += d * yi[a]
            pap = np.float32(0.0)
            for a in range(f):
                pap += p[a] * ap[a]
            if pap <= 0.0:
                break
            step = rsold / pap
            for a in range(f):
                xu[a] += step * p[a]
                r[a] -= step * ap[a]
            rsnew = np.float32(0.0)
            for a in range(f):
                rsnew += r[a] * r[a]
            if rsnew < 1e-20:
                break
            ratio = rsnew / rsold
            for a in range(f):
                p[a] = r[a] + ratio * p[a]
            rsold = rsnew


@njit(parallel=True, fastmath=_FASTMATH, cache=True)
def _loss_terms(
    indptr: np.ndarray, indices: np.ndarray, conf1: np.ndarray, x: np.ndarray, y: np.ndarray, yty: np.ndarray
) -> np.ndarray:  # pragma: no cover - compiled
    """Per-member ``sum_i c_ui (p_ui - x_u.y_i)^2`` over all titles (``yty`` = ``Y^T Y``, no penalty)."""
    n_rows, f = x.shape
    out = np.zeros(n_rows, dtype=np.float64)
    for u in prange(n_rows):
        xu = x[u]
        # sum over all titles of (x_u . y_i)^2 = x_u^T (Y^T Y) x_u
        tot = 0.0
        for a in range(f):
            s = 0.0
            for b in range(f):
                s += yty[a, b] * xu[b]
            tot += s * xu[a]
        # observed cells: replace s^2 by c (1 - s)^2
        for k in range(indptr[u], indptr[u + 1]):
            yi = y[indices[k]]
            d = 0.0
            for a in range(f):
                d += yi[a] * xu[a]
            c = conf1[k] + 1.0
            tot += c * (1.0 - d) * (1.0 - d) - d * d
        out[u] = tot
    return out


def _gram(y: np.ndarray, reg: float) -> np.ndarray:
    g = (y.T @ y).astype(y.dtype)
    if reg:
        g[np.diag_indices_from(g)] += reg
    return np.ascontiguousarray(g)


# ---------------------------------------------------------------------------------------------- model
@register
class ALS(Recommender):
    """Weighted matrix factorisation for implicit feedback, trained by ALS with CG solves."""

    name = "als"
    kind = "top-n"
    Config = ALSConfig
    config: ALSConfig
    fast_params = {"factors": 16, "iterations": 8}  # noqa: RUF012
    search_space = {  # noqa: RUF012 - class-level constant, never mutated
        "factors": Space("choice", choices=(32, 64, 128, 256)),
        "regularization": Space("log", 0.01, 100.0),
        "alpha": Space("log", 0.5, 100.0),
        "iterations": Space("int", 5, 30),
        "weighting": Space("choice", choices=("binary", "weight")),
    }

    def _confidence_slope(self, history: sp.csr_matrix) -> sp.csr_matrix:
        """``alpha * w`` (i.e. ``c - 1``) on the stored cells, float32 CSR with sorted indices."""
        out = sp.csr_matrix(history, dtype=np.float32, copy=True)
        out.eliminate_zeros()
        if self.config.weighting == "binary":
            out.data = np.full(out.data.shape, self.config.alpha, dtype=np.float32)
        else:
            out.data = (self.config.alpha * np.maximum(out.data, 0)).astype(np.float32)
        out.sort_indices()
        return out

    def _fit(self, data: Interactions, progress: Progress) -> None:
        cfg = self.config
        cui = self._confidence_slope(data.matrix("weight"))
        ciu = sp.csr_matrix(cui.T, dtype=np.float32)
        ciu.sort_indices()
        ui = (cui.indptr.astype(np.int64), cui.indices.astype(np.int32), cui.data)
        iu = (ciu.indptr.astype(np.int64), ciu.indices.astype(np.int32), ciu.data)
        rng = np.random.default_rng(cfg.seed)
        n_u, n_i = cui.shape
        x = (rng.random((n_u, cfg.factors), dtype=np.float32) * 0.01).astype(np.float32)
        y = (rng.random((n_i, cfg.factors), dtype=np.float32) * 0.01).astype(np.float32)
        reg = float(cfg.regularization)
        total_conf = float(n_u) * float(n_i) + float(cui.data.sum(dtype=np.float64))
        losses: list[float] = []
        old_threads = numba.get_num_threads()
        if cfg.num_threads:
            numba.set_num_threads(min(cfg.num_threads, int(numba.config.NUMBA_NUM_THREADS)))  # type: ignore[attr-defined]
        try:
            with progress.task("ALS: iterations", total=cfg.iterations) as task:
                for _ in range(cfg.iterations):
                    _cg_sweep(*ui, x, y, _gram(y, reg), cfg.cg_steps)
                    _cg_sweep(*iu, y, x, _gram(x, reg), cfg.cg_steps)
                    err = float(_loss_terms(*ui, x, y, _gram(y, 0.0)).sum())
                    pen = reg * (
                        float(np.square(x, dtype=np.float64).sum())
                        + float(np.square(y, dtype=np.float64).sum())
                    )
                    losses.append((err + pen) / total_conf)
                    task.advance()
        finally:
            numba.set_num_threads(old_threads)
        self.user_factors_: np.ndarray = x
        self.item_factors_: np.ndarray = y
        self.loss_history_: np.ndarray = np.asarray(losses, dtype=np.float64)
        self._prepare()

    def _prepare(self) -> None:
        y = self.item_factors_.astype(np.float64)
        self._yty_reg: np.ndarray = _gram(y, float(self.config.regularization))
        norms = np.linalg.norm(self.item_factors_, axis=1)
        norms[norms == 0] = 1.0
        self._item_unit: np.ndarray = (self.item_factors_ / norms[:, None]).astype(np.float32)

    def fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        """Exact member factors for each row of ``history`` (weights over titles), float32 ``(m, factors)``.

        Solves ``(Y^T C_u Y + reg I) x = Y^T C_u p_u`` against the learned title factors.
        """
        self._check_fitted()
        h = self._confidence_slope(sp.csr_matrix(history))
        y = self.item_factors_.astype(np.float64)
        out = np.zeros((h.shape[0], y.shape[1]), dtype=np.float64)
        for r in range(h.shape[0]):
            lo, hi = h.indptr[r], h.indptr[r + 1]
            if lo == hi:
                continue
            yh = y[h.indices[lo:hi]]
            c1 = h.data[lo:hi].astype(np.float64)
            a = self._yty_reg + (yh * c1[:, None]).T @ yh
            b = yh.T @ (1.0 + c1)
            try:
                out[r] = np.linalg.solve(a, b)
            except np.linalg.LinAlgError:  # regularization 0 and fewer titles than factors: least norm
                out[r] = np.linalg.lstsq(a, b, rcond=None)[0]
        return out.astype(np.float32)

    def _score(self, rows: np.ndarray, history: sp.csr_matrix, ratings: sp.csr_matrix) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        users = np.empty((len(rows), self.item_factors_.shape[1]), dtype=np.float32)
        known = rows >= 0
        users[known] = self.user_factors_[rows[known]]
        if not known.all():
            users[~known] = self.fold_in(sp.csr_matrix(history)[np.flatnonzero(~known)])
        return np.asarray(users @ self.item_factors_.T, dtype=np.float32)

    def _similar(self, items: np.ndarray) -> np.ndarray:
        return np.asarray(self._item_unit[np.asarray(items)] @ self._item_unit.T, dtype=np.float32)

    def _state(self) -> dict[str, np.ndarray]:
        return {
            "user_factors": self.user_factors_,
            "item_factors": self.item_factors_,
            "loss_history": self.loss_history_,
        }

    def _set_state(self, state: Mapping[str, np.ndarray]) -> None:
        self.user_factors_ = np.ascontiguousarray(state["user_factors"], dtype=np.float32)
        self.item_factors_ = np.ascontiguousarray(state["item_factors"], dtype=np.float32)
        self.loss_history_ = np.asarray(state["loss_history"], dtype=np.float64)
        self._prepare()
