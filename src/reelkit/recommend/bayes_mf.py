"""Bayesian factorisation for rating prediction, sampled by Gibbs sampling (``BayesianMF``, name ``bmf``).

The model is the "flipped SVD++" Bayesian factorisation machine of Rendle (libFM MCMC; Rendle 2013,
"Scaling factorization machines to relational data"; Rendle, Zhang & Koren 2019, "On the difficulty of
evaluating baselines"), restricted to the member and title blocks:

.. code-block:: text

    r(u, i) = mu + b_u + c_i + s_u * sum_{j in N(u)} d_j + t_i * sum_{v in M(i)} g_v
            + < p_u + s_u * sum_{j in N(u)} y_j ,  q_i + t_i * sum_{v in M(i)} z_v >

``N(u)`` is every title the member interacted with in the training data (rated or not), ``M(i)`` every
member who interacted with the title, ``s_u = |N(u)|^-1/2`` and ``t_i = |M(i)|^-1/2``. Without the implicit
terms (``implicit="none"``) this is Bayesian biased matrix factorisation (Salakhutdinov & Mnih 2008, with
biases). Only the training data's interactions enter ``N`` and ``M``: nothing about the pairs to be predicted
is used (the "stricter protocol" of Rendle et al. 2019).

Every parameter group (member biases, title biases, each factor column of each block, ...) has a Gaussian
prior ``N(m, 1/lambda)`` with a normal-gamma hyperprior, and the noise precision a gamma prior, as in libFM.
The sampler updates one scalar at a time from its Gaussian conditional, keeping the residuals of every rating
up to date (the implicit blocks are updated through per-member / per-title sums, so a sweep costs
``O(ratings * rank)``); hyperparameters are drawn from their conjugate conditionals between sweeps.

Predictions are posterior means over the samples kept after burn-in: the linear terms are averaged exactly;
the interaction term uses the posterior-mean member and title vectors (the stored state is one vector per
member and title). Member fold-in (``recommend_history``) solves the member's bias and vector posterior mean
given the posterior-mean title parameters and the learned priors, without refitting.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from numba import njit
from pydantic import Field

from reelkit.data.dataset import Interactions
from reelkit.errors import ConfigError
from reelkit.progress import Progress
from reelkit.recommend.base import ModelConfig, Recommender, Space, register

__all__ = ["BayesianMF", "BayesianMFConfig"]


class BayesianMFConfig(ModelConfig):
    """Parameters of :class:`BayesianMF`."""

    #: Number of latent factors.
    rank: int = Field(16, ge=1, le=512)
    #: Gibbs sweeps in all (burn-in included).
    n_iter: int = Field(300, ge=2)
    #: Sweeps discarded before samples are averaged.
    burn_in: int = Field(50, ge=0)
    #: Implicit-feedback terms: ``none`` (Bayesian MF), ``member`` (SVD++-like: members are also described by
    #: the titles they interacted with) or ``both`` ("flipped": titles also by the members who watched them).
    implicit: Literal["none", "member", "both"] = "both"
    #: Standard deviation of the initial factor values.
    init_std: float = Field(0.1, gt=0)
    #: Seed of the sampler; fits are deterministic given it.
    seed: int = 0


def _check(cfg: BayesianMFConfig) -> None:
    if cfg.burn_in >= cfg.n_iter:
        raise ConfigError(
            f"invalid parameter(s) for model 'bmf': burn_in ({cfg.burn_in}) must be smaller than n_iter "
            f"({cfg.n_iter}) so that some samples are kept"
        )


# ---------------------------------------------------------------------------------------------- kernels
# Parameter blocks are stored transposed, ``(1 + rank, n)``: row 0 holds biases, rows 1.. factors, so that the
# sampler walks contiguous memory. "Totals" hold, per member (title), the bias and vector that enter the
# prediction (direct + implicit parts):
#   pred(n) = mu + U[0, u] + T[0, i] + sum_{f >= 1} U[f, u] * T[f, i].
# The regressor of a row-0 parameter is 1 (``other`` is a vector of ones); of a row-f parameter, the other
# side's total ``T[f, .]``.


@njit(cache=True)
def _sample_direct(theta, total, ptr, ridx, rating_other, other, e, alpha, m, lam, noise, a, b):  # type: ignore[no-untyped-def]
    """Sample ``theta`` (one scalar per owner, e.g. member) from its Gaussian conditionals, in turn.

    Leaves in ``a[o]``/``b[o]`` the owner's sums of regressor squared and regressor times (new) residual,
    which :func:`_sample_implicit` needs next.
    """
    for o in range(ptr.shape[0] - 1):
        sh2 = 0.0
        she = 0.0
        for k in range(ptr[o], ptr[o + 1]):
            n = ridx[k]
            h = other[rating_other[n]]
            sh2 += h * h
            she += h * e[n]
        old = theta[o]
        prec = alpha * sh2 + lam
        mean = (alpha * (she + old * sh2) + lam * m) / prec
        new = mean + noise[o] / np.sqrt(prec)
        delta = new - old
        theta[o] = new
        total[o] += delta
        a[o] = sh2
        b[o] = she - delta * sh2
        for k in range(ptr[o], ptr[o + 1]):
            n = ridx[k]
            e[n] -= delta * other[rating_other[n]]


@njit(cache=True)
def _sample_implicit(  # type: ignore[no-untyped-def]
    theta, total, feat_ptr, feat_owner, owner_norm, rating_owner, rating_other, other, e, alpha, m, lam, noise,
    a, b,
):
    """Sample implicit parameters ``theta``: feature ``j`` enters the total of every owner ``o`` listed in
    ``feat_owner[feat_ptr[j]:feat_ptr[j+1]]`` with weight ``owner_norm[o]``.

    ``a``/``b`` are the per-owner sums of regressor squared and regressor times residual (as left by
    :func:`_sample_direct`); keeping ``b`` current makes each conditional cost O(owners of j).
    """
    n_owner = a.shape[0]
    d_total = np.zeros(n_owner)
    for j in range(feat_ptr.shape[0] - 1):
        sh2 = 0.0
        she = 0.0
        for k in range(feat_ptr[j], feat_ptr[j + 1]):
            o = feat_owner[k]
            s = owner_norm[o]
            sh2 += s * s * a[o]
            she += s * b[o]
        old = theta[j]
        prec = alpha * sh2 + lam
        mean = (alpha * (she + old * sh2) + lam * m) / prec
        new = mean + noise[j] / np.sqrt(prec)
        delta = new - old
        theta[j] = new
        for k in range(feat_ptr[j], feat_ptr[j + 1]):
            o = feat_owner[k]
            s = owner_norm[o]
            b[o] -= s * a[o] * delta
            d_total[o] += s * delta
    for o in range(n_owner):
        total[o] += d_total[o]
    for n in range(e.shape[0]):
        e[n] -= d_total[rating_owner[n]] * other[rating_other[n]]


@njit(cache=True)
def _totals(direct, implicit, imp_ptr, imp_idx, norm, out):  # type: ignore[no-untyped-def]
    """``out[:, o] = direct[:, o] + norm[o] * sum_{j in imp_idx[imp_ptr[o]:imp_ptr[o+1]]} implicit[:, j]``."""
    for f in range(direct.shape[0]):
        for o in range(direct.shape[1]):
            acc = 0.0
            for k in range(imp_ptr[o], imp_ptr[o + 1]):
                acc += implicit[f, imp_idx[k]]
            out[f, o] = direct[f, o] + norm[o] * acc


@njit(cache=True)
def _pair_predict(mu, ut, it, rows, cols):  # type: ignore[no-untyped-def]
    """Predictions for pairs; ``ut``/``it`` are ``(n, 1 + rank)`` totals (bias first)."""
    out = np.empty(rows.shape[0])
    for n in range(rows.shape[0]):
        u = rows[n]
        i = cols[n]
        acc = mu + ut[u, 0] + it[i, 0]
        for f in range(1, ut.shape[1]):
            acc += ut[u, f] * it[i, f]
        out[n] = acc
    return out


# ---------------------------------------------------------------------------------------------- sampler
class _Sampler:
    """The Gibbs chain over one training set (index space); see the module docstring."""

    def __init__(
        self,
        rows: np.ndarray,
        cols: np.ndarray,
        values: np.ndarray,
        implicit: sp.csr_matrix,
        rank: int,
        mode: str,
        init_std: float,
        rng: np.random.Generator,
    ) -> None:
        n_users, n_items = implicit.shape
        self.rng = rng
        self.mode = mode
        self.k = rank + 1
        self.r_user = rows.astype(np.int64)
        self.r_item = cols.astype(np.int64)
        self.values = values.astype(np.float64)
        self.u_ptr = np.concatenate([[0], np.cumsum(np.bincount(self.r_user, minlength=n_users))]).astype(np.int64)
        self.i_ptr = np.concatenate([[0], np.cumsum(np.bincount(self.r_item, minlength=n_items))]).astype(np.int64)
        self.u_ridx = np.argsort(self.r_user, kind="stable").astype(np.int64)
        self.i_ridx = np.argsort(self.r_item, kind="stable").astype(np.int64)
        imp = (implicit != 0).astype(np.float64).tocsr()
        imp.sort_indices()
        imp_t = imp.T.tocsr()
        imp_t.sort_indices()
        # N(u): titles of member u; M(i): members of title i
        self.n_ptr, self.n_idx = imp.indptr.astype(np.int64), imp.indices.astype(np.int64)
        self.m_ptr, self.m_idx = imp_t.indptr.astype(np.int64), imp_t.indices.astype(np.int64)
        cnt_u = np.diff(self.n_ptr).astype(np.float64)
        cnt_i = np.diff(self.m_ptr).astype(np.float64)
        self.s_user = np.where(cnt_u > 0, 1.0 / np.sqrt(np.maximum(cnt_u, 1.0)), 0.0)
        self.t_item = np.where(cnt_i > 0, 1.0 / np.sqrt(np.maximum(cnt_i, 1.0)), 0.0)
        self.ones_u = np.ones(n_users)
        self.ones_i = np.ones(n_items)

        k = self.k
        self.mu = float(self.values.mean())
        self.P = np.zeros((k, n_users))
        self.Q = np.zeros((k, n_items))
        self.P[1:] = rng.normal(0.0, init_std, (rank, n_users))
        self.Q[1:] = rng.normal(0.0, init_std, (rank, n_items))
        self.Y = np.zeros((k, n_items))  # implicit, member side: feature j = title j
        self.Z = np.zeros((k, n_users))  # implicit, title side: feature v = member v
        self.U = np.zeros((k, n_users))
        self.T = np.zeros((k, n_items))
        # hyperparameters: mean and precision per row of each block
        self.hyper = {name: (np.zeros(k), np.ones(k)) for name in ("P", "Q", "Y", "Z")}
        self.alpha = 1.0
        self.n_sweeps = 0
        self.refresh()

    def refresh(self) -> None:
        """Recompute totals and residuals from the parameters (bounds round-off drift)."""
        _totals(self.P, self.Y, self.n_ptr, self.n_idx, self.s_user, self.U)
        _totals(self.Q, self.Z, self.m_ptr, self.m_idx, self.t_item, self.T)
        self.e = self.values - _pair_predict(self.mu, self.U.T, self.T.T, self.r_user, self.r_item)

    def _sample_hyper(self, name: str, theta: np.ndarray) -> None:
        # normal-gamma hyperprior (libFM): alpha_0 = beta_0 = 1, mu_0 = 0, gamma_0 = 1; theta is (k, n)
        m_old, _ = self.hyper[name]
        n = theta.shape[1]
        sq = ((theta - m_old[:, None]) ** 2).sum(axis=1) + m_old**2
        lam = self.rng.gamma((1.0 + n + 1.0) / 2.0, 2.0 / (1.0 + sq))
        m = theta.sum(axis=1) / (n + 1.0) + self.rng.standard_normal(self.k) / np.sqrt((n + 1.0) * lam)
        self.hyper[name] = (m, lam)

    def sweep(self) -> None:
        rng = self.rng
        n = self.e.shape[0]
        self.alpha = float(rng.gamma((1.0 + n) / 2.0, 2.0 / (1.0 + float(self.e @ self.e))))
        alpha = self.alpha
        use_member = self.mode in ("member", "both")
        use_title = self.mode == "both"
        blocks = ["P", "Q"] + (["Y"] if use_member else []) + (["Z"] if use_title else [])
        for name in blocks:
            self._sample_hyper(name, getattr(self, name))
        # global mean (flat prior)
        prec = alpha * n + 1e-6
        delta = (alpha * float(self.e.sum())) / prec + rng.standard_normal() / np.sqrt(prec)
        self.mu += delta
        self.e -= delta
        n_u, n_i = self.P.shape[1], self.Q.shape[1]
        mp, lp = self.hyper["P"]
        mq, lq = self.hyper["Q"]
        my, ly = self.hyper["Y"]
        mz, lz = self.hyper["Z"]
        a_u, b_u = np.empty(n_u), np.empty(n_u)
        a_i, b_i = np.empty(n_i), np.empty(n_i)
        for f in range(self.k):
            # member side: direct then implicit parameters; then the title side
            other_t = self.ones_i if f == 0 else self.T[f]
            _sample_direct(self.P[f], self.U[f], self.u_ptr, self.u_ridx, self.r_item, other_t, self.e, alpha,
                           mp[f], lp[f], rng.standard_normal(n_u), a_u, b_u)
            if use_member:
                _sample_implicit(self.Y[f], self.U[f], self.m_ptr, self.m_idx, self.s_user, self.r_user,
                                 self.r_item, other_t, self.e, alpha, my[f], ly[f], rng.standard_normal(n_i),
                                 a_u, b_u)
            other_u = self.ones_u if f == 0 else self.U[f]
            _sample_direct(self.Q[f], self.T[f], self.i_ptr, self.i_ridx, self.r_user, other_u, self.e, alpha,
                           mq[f], lq[f], rng.standard_normal(n_i), a_i, b_i)
            if use_title:
                _sample_implicit(self.Z[f], self.T[f], self.n_ptr, self.n_idx, self.t_item, self.r_item,
                                 self.r_user, other_u, self.e, alpha, mz[f], lz[f], rng.standard_normal(n_u),
                                 a_i, b_i)
        self.n_sweeps += 1
        if self.n_sweeps % 10 == 0:
            self.refresh()


# ---------------------------------------------------------------------------------------------- model
@register
class BayesianMF(Recommender):
    """Bayesian (flipped SVD++) factorisation by Gibbs sampling: predicts ratings and ranks by them."""

    name = "bmf"
    kind = "both"
    Config = BayesianMFConfig
    config: BayesianMFConfig
    search_space = {
        "rank": Space("logint", 8, 64),
        "n_iter": Space("logint", 100, 600),
        "implicit": Space("choice", choices=("none", "member", "both")),
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        _check(self.config)

    # ------------------------------------------------------------------ fitting
    def _fit(self, data: Interactions, progress: Progress) -> None:
        self._fit_chain(data, progress)

    def _fit_chain(
        self,
        data: Interactions,
        progress: Progress,
        on_sample: Callable[[_Sampler], None] | None = None,
    ) -> None:
        cfg = self.config
        keep = ~np.isnan(data.rating)
        implicit = sp.csr_matrix(
            (np.ones(data.nnz), (data.rows, data.cols)), shape=(data.n_members, data.n_titles)
        )
        rng = np.random.default_rng(cfg.seed)
        chain = _Sampler(
            data.rows[keep], data.cols[keep], data.rating[keep], implicit, cfg.rank, cfg.implicit, cfg.init_std,
            rng,
        )
        k = cfg.rank + 1
        n_u, n_i = data.n_members, data.n_titles
        acc_mu = 0.0
        acc_u = np.zeros((n_u, k))
        acc_t = np.zeros((n_i, k))
        acc_y = np.zeros((n_i, k))
        acc_prior_m = np.zeros(k)
        acc_prior_l = np.zeros(k)
        acc_alpha = 0.0
        kept = 0
        with progress.task("sampling", total=cfg.n_iter) as task:
            for it in range(cfg.n_iter):
                chain.sweep()
                if it >= cfg.burn_in:
                    kept += 1
                    acc_mu += chain.mu
                    acc_u += chain.U.T
                    acc_t += chain.T.T
                    acc_y += chain.Y.T
                    m, lam = chain.hyper["P"]
                    acc_prior_m += m
                    acc_prior_l += lam
                    acc_alpha += chain.alpha
                    if on_sample is not None:
                        on_sample(chain)
                task.advance()
        self.mu_ = acc_mu / kept
        self.user_factors_ = acc_u / kept
        self.item_factors_ = acc_t / kept
        self.implicit_factors_ = acc_y / kept
        self.prior_mean_ = acc_prior_m / kept
        self.prior_prec_ = acc_prior_l / kept
        self.noise_prec_ = acc_alpha / kept

    # ------------------------------------------------------------------ prediction
    def _fallback_user(self) -> np.ndarray:
        """Bias and vector of a member the model knows nothing about: the prior mean."""
        return np.asarray(self.prior_mean_, dtype=np.float64)

    def _fallback_item(self) -> np.ndarray:
        return np.asarray(self.item_factors_.mean(axis=0), dtype=np.float64)

    def _raw(self, ut: np.ndarray, it: np.ndarray) -> np.ndarray:
        return np.asarray(self.mu_ + ut[:, :1] + it[:, 0][None, :] + ut[:, 1:] @ it[:, 1:].T)

    def _predict(self, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        ut = np.vstack([self.user_factors_, self._fallback_user()[None, :]])
        it = np.vstack([self.item_factors_, self._fallback_item()[None, :]])
        r = np.where(rows >= 0, rows, ut.shape[0] - 1)
        c = np.where(items >= 0, items, it.shape[0] - 1)
        pred = _pair_predict(float(self.mu_), ut, it, r, c)
        lo, hi = self.rating_scale_
        return np.clip(pred, lo, hi)

    def _fold_in(self, history: sp.csr_matrix, ratings: sp.csr_matrix) -> np.ndarray:
        """Posterior-mean bias and vector of members given by history and ratings (no refit)."""
        k = self.item_factors_.shape[1]
        hist = sp.csr_matrix(history)
        hist.sort_indices()
        rat = sp.csr_matrix(ratings)
        rat.sort_indices()
        m0 = self.prior_mean_
        lam = np.maximum(self.prior_prec_, 1e-12)
        alpha = float(self.noise_prec_)
        out = np.empty((hist.shape[0], k))
        for r in range(hist.shape[0]):
            seen = hist.indices[hist.indptr[r] : hist.indptr[r + 1]][hist.data[hist.indptr[r] : hist.indptr[r + 1]] != 0]
            imp = np.zeros(k)
            if seen.size:
                imp = self.implicit_factors_[seen].sum(axis=0) / np.sqrt(seen.size)
            lo, hi = rat.indptr[r], rat.indptr[r + 1]
            cols, vals = rat.indices[lo:hi], rat.data[lo:hi].astype(np.float64)
            x = np.hstack([np.ones((cols.size, 1)), self.item_factors_[cols, 1:]])
            target = vals - self.mu_ - self.item_factors_[cols, 0] - x @ imp
            a = alpha * (x.T @ x) + np.diag(lam)
            rhs = alpha * (x.T @ target) + lam * m0
            out[r] = np.linalg.solve(a, rhs) + imp
        return out

    def _score(self, rows: np.ndarray, history: sp.csr_matrix, ratings: sp.csr_matrix) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        ut = np.empty((rows.shape[0], self.item_factors_.shape[1]))
        known = rows >= 0
        ut[known] = self.user_factors_[rows[known]]
        if (~known).any():
            idx = np.flatnonzero(~known)
            ut[idx] = self._fold_in(history[idx], ratings[idx])
        return self._raw(ut, self.item_factors_).astype(np.float32)

    def _similar(self, items: np.ndarray) -> np.ndarray:
        v = self.item_factors_[:, 1:]
        norms = np.linalg.norm(v, axis=1)
        norms[norms == 0] = 1.0
        vn = v / norms[:, None]
        return np.asarray(vn[items] @ vn.T, dtype=np.float32)

    # ------------------------------------------------------------------ persistence
    def _state(self) -> dict[str, np.ndarray]:
        return {
            "mu": np.asarray(self.mu_),
            "user_factors": self.user_factors_,
            "item_factors": self.item_factors_,
            "implicit_factors": self.implicit_factors_,
            "prior_mean": self.prior_mean_,
            "prior_prec": self.prior_prec_,
            "noise_prec": np.asarray(self.noise_prec_),
        }

    def _set_state(self, state: Mapping[str, np.ndarray]) -> None:
        self.mu_ = float(state["mu"])
        self.user_factors_ = np.asarray(state["user_factors"], dtype=np.float64)
        self.item_factors_ = np.asarray(state["item_factors"], dtype=np.float64)
        self.implicit_factors_ = np.asarray(state["implicit_factors"], dtype=np.float64)
        self.prior_mean_ = np.asarray(state["prior_mean"], dtype=np.float64)
        self.prior_prec_ = np.asarray(state["prior_prec"], dtype=np.float64)
        self.noise_prec_ = float(state["noise_prec"])
