"""Peer libraries wrapped in reelkit's Recommender contract, so that they run through exactly the same splits,
tuning budget and metric code as reelkit's own models.

* implicit: ``AlternatingLeastSquares`` (CG) and ``BayesianPersonalizedRanking``;
* cornac: ``EASE``;
* scikit-surprise: ``SVD`` and ``SVDpp`` (rating prediction; they rank by predicted rating).

The adapters score known members only (the benchmarks never fold in); they are not registered with reelkit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from reelkit.data.dataset import Interactions
from reelkit.progress import Progress
from reelkit.recommend.base import ModelConfig, Recommender, Space


class _PeerBase(Recommender):
    kind: ClassVar[Any] = "top-n"

    def _state(self) -> dict[str, np.ndarray]:  # peers are never saved
        return {}

    def _set_state(self, state: Mapping[str, np.ndarray]) -> None:
        return None


class ImplicitALSConfig(ModelConfig):
    # the same starting point as reelkit's ALS (its defaults are the tuner's first trial, so they are this
    # peer's too), and the same input choice: a fair audit found implicit on binary input from
    # regularization 0.05 / alpha 2 compared inputs and starting points, not implementations
    factors: int = Field(128, ge=1)
    regularization: float = Field(50.0, gt=0)
    alpha: float = Field(5.0, gt=0)
    iterations: int = Field(15, ge=1)
    weighting: Literal["binary", "weight"] = "weight"
    # "implicit": the values times alpha as the confidence, as implicit documents it (c = alpha * w);
    # "reelkit": c = 1 + alpha * w, reelkit's loss exactly (given 1 + alpha * w with implicit's alpha 1)
    confidence: Literal["implicit", "reelkit"] = "implicit"
    seed: int = 0
    threads: int = 1


class ImplicitALS(_PeerBase):
    """implicit's AlternatingLeastSquares (conjugate gradient). implicit takes the values it is given, times
    its own ``alpha``, as the confidence ``c``: ``alpha * w`` as implicit documents it, or (``confidence=
    "reelkit"``) reelkit's ``1 + alpha * w``, given as values with implicit's alpha 1 (``w`` the confidence
    weights, or 1, as ``weighting`` says)."""

    name = "implicit-als"
    Config = ImplicitALSConfig
    config: ImplicitALSConfig
    search_space: ClassVar[dict[str, Space]] = {
        "factors": Space("choice", choices=(32, 64, 128, 200)),
        # wide enough to reach the region where implicit ALS does best on MovieLens (regularization about
        # ten times alpha when alpha is large), so its random search can find it
        "regularization": Space("log", 1e-2, 200.0),
        "alpha": Space("log", 0.5, 50.0),
        "iterations": Space("choice", choices=(10, 15, 25)),
        "weighting": Space("choice", choices=("binary", "weight")),
        "confidence": Space("choice", choices=("implicit", "reelkit")),
    }

    def _fit(self, data: Interactions, progress: Progress) -> None:
        from implicit.cpu.als import AlternatingLeastSquares

        x = data.matrix(self.config.weighting)
        alpha = self.config.alpha
        if self.config.confidence == "reelkit":
            x.data = 1.0 + alpha * x.data
            alpha = 1.0
        self.model_ = AlternatingLeastSquares(
            factors=self.config.factors,
            regularization=self.config.regularization,
            alpha=alpha,
            iterations=self.config.iterations,
            use_cg=True,
            num_threads=self.config.threads,
            random_state=self.config.seed,
        )
        self.model_.fit(x, show_progress=False)

    def _score(self, rows: np.ndarray, history: sp.csr_matrix, ratings: sp.csr_matrix) -> np.ndarray:
        uf = np.asarray(self.model_.user_factors)
        itf = np.asarray(self.model_.item_factors)
        out = np.zeros((len(rows), itf.shape[0]), dtype=np.float32)
        known = rows >= 0
        out[known] = uf[rows[known]] @ itf.T
        return out


class ImplicitBPRConfig(ModelConfig):
    factors: int = Field(64, ge=1)
    learning_rate: float = Field(0.01, gt=0)
    regularization: float = Field(0.01, gt=0)
    iterations: int = Field(100, ge=1)
    seed: int = 0
    threads: int = 1


class ImplicitBPR(_PeerBase):
    """implicit's BayesianPersonalizedRanking."""

    name = "implicit-bpr"
    Config = ImplicitBPRConfig
    config: ImplicitBPRConfig
    search_space: ClassVar[dict[str, Space]] = {
        "factors": Space("choice", choices=(32, 64, 128)),
        "learning_rate": Space("log", 1e-3, 0.1),
        "regularization": Space("log", 1e-4, 0.1),
        "iterations": Space("choice", choices=(50, 100, 200)),
    }

    def _fit(self, data: Interactions, progress: Progress) -> None:
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        self.model_ = BayesianPersonalizedRanking(
            factors=self.config.factors,
            learning_rate=self.config.learning_rate,
            regularization=self.config.regularization,
            iterations=self.config.iterations,
            num_threads=self.config.threads,
            random_state=self.config.seed,
        )
        self.model_.fit(data.matrix("binary"), show_progress=False)

    _score = ImplicitALS._score


class CornacEASEConfig(ModelConfig):
    lamb: float = Field(500.0, gt=0)
    pos_b: bool = True
    # the same input choice as reelkit's EASE (cornac learns from the values it is given): on binary input
    # only it lost to reelkit's EASE on weights by exactly the input (the same weights give equal NDCG)
    weighting: Literal["binary", "weight"] = "binary"


class CornacEASE(_PeerBase):
    """cornac's EASE, on binary interactions or on the confidence weights (as reelkit's EASE chooses)."""

    name = "cornac-ease"
    Config = CornacEASEConfig
    config: CornacEASEConfig
    search_space: ClassVar[dict[str, Space]] = {
        "lamb": Space("log", 10.0, 5000.0),
        "pos_b": Space("choice", choices=(True, False)),
        "weighting": Space("choice", choices=("binary", "weight")),
    }

    def _fit(self, data: Interactions, progress: Progress) -> None:
        import cornac

        values = data.weight.astype(float).tolist() if self.config.weighting == "weight" else [1.0] * data.nnz
        triplets = list(
            zip(data.rows.astype(str).tolist(), data.cols.astype(str).tolist(), values, strict=True)
        )
        ds = cornac.data.Dataset.from_uir(triplets, seed=0)
        self.model_ = cornac.models.EASE(lamb=self.config.lamb, posB=self.config.pos_b, verbose=False)
        self.model_.fit(ds)
        # cornac's internal ids follow first appearance; map back to our columns
        u_map, i_map = ds.uid_map, ds.iid_map
        self.user_inner_ = np.array([u_map.get(str(r), -1) for r in range(data.n_members)])
        self.item_inner_ = np.array([i_map.get(str(c), -1) for c in range(data.n_titles)])

    def _score(self, rows: np.ndarray, history: sp.csr_matrix, ratings: sp.csr_matrix) -> np.ndarray:
        u = self.model_.U
        b = self.model_.B
        out = np.zeros((len(rows), self.n_titles), dtype=np.float32)
        known_items = self.item_inner_ >= 0
        for i, r in enumerate(rows):
            inner = self.user_inner_[r] if r >= 0 else -1
            if inner < 0:
                continue
            s = np.asarray(u[inner] @ b).ravel()
            out[i, known_items] = s[self.item_inner_[known_items]]
        return out


class SurpriseConfig(ModelConfig):
    n_factors: int = Field(100, ge=1)
    n_epochs: int = Field(20, ge=1)
    lr_all: float = Field(0.005, gt=0)
    reg_all: float = Field(0.02, gt=0)
    seed: int = 0


class SurpriseSVD(_PeerBase):
    """scikit-surprise SVD (biased MF by SGD)."""

    name = "surprise-svd"
    kind: ClassVar[Any] = "both"
    Config = SurpriseConfig
    config: SurpriseConfig
    algo_name: ClassVar[str] = "SVD"
    search_space: ClassVar[dict[str, Space]] = {
        "n_factors": Space("choice", choices=(20, 50, 100, 150)),
        "n_epochs": Space("choice", choices=(20, 40, 60)),
        "lr_all": Space("log", 0.002, 0.02),
        "reg_all": Space("log", 0.01, 0.2),
    }

    def _fit(self, data: Interactions, progress: Progress) -> None:
        import pandas as pd
        import surprise

        keep = ~np.isnan(data.rating)
        df = pd.DataFrame({"u": data.rows[keep], "i": data.cols[keep], "r": data.rating[keep].astype(float)})
        reader = surprise.Reader(rating_scale=data.rating_scale)
        trainset = surprise.Dataset.load_from_df(df, reader).build_full_trainset()
        algo_cls = getattr(surprise, self.algo_name)
        c = self.config
        self.algo_ = algo_cls(
            n_factors=c.n_factors,
            n_epochs=c.n_epochs,
            lr_all=c.lr_all,
            reg_all=c.reg_all,
            random_state=c.seed,
        )
        self.algo_.fit(trainset)
        ts = self.algo_.trainset
        self.u_inner_ = np.array([_inner(ts.to_inner_uid, r) for r in range(data.n_members)])
        self.i_inner_ = np.array([_inner(ts.to_inner_iid, c_) for c_ in range(data.n_titles)])
        self._user_vectors()

    def _user_vectors(self) -> None:
        self.uvec_ = np.asarray(self.algo_.pu)

    def _matrix(self, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        a = self.algo_
        mu = a.trainset.global_mean
        ui = self.u_inner_[np.maximum(rows, 0)]
        ui = np.where(rows >= 0, ui, -1)
        ii = self.i_inner_[np.maximum(items, 0)]
        ii = np.where(items >= 0, ii, -1)
        bu = np.where(ui >= 0, a.bu[np.maximum(ui, 0)], 0.0)
        bi = np.where(ii >= 0, a.bi[np.maximum(ii, 0)], 0.0)
        pu = np.where((ui >= 0)[:, None], self.uvec_[np.maximum(ui, 0)], 0.0)
        qi = np.where((ii >= 0)[:, None], a.qi[np.maximum(ii, 0)], 0.0)
        return np.asarray(mu + bu + bi + np.sum(pu * qi, axis=1))

    def _predict(self, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        lo, hi = self.rating_scale_
        return np.clip(self._matrix(np.asarray(rows), np.asarray(items)), lo, hi)

    def _score(self, rows: np.ndarray, history: sp.csr_matrix, ratings: sp.csr_matrix) -> np.ndarray:
        n = self.n_titles
        r = np.repeat(np.asarray(rows), n)
        i = np.tile(np.arange(n), len(rows))
        return self._matrix(r, i).reshape(len(rows), n).astype(np.float32)


class SurpriseSVDppConfig(SurpriseConfig):
    n_factors: int = Field(20, ge=1)
    lr_all: float = Field(0.007, gt=0)


class SurpriseSVDpp(SurpriseSVD):
    """scikit-surprise SVD++ (implicit feedback of which items were rated)."""

    name = "surprise-svdpp"
    Config = SurpriseSVDppConfig
    algo_name = "SVDpp"
    search_space: ClassVar[dict[str, Space]] = {
        "n_factors": Space("choice", choices=(10, 20, 50)),
        "n_epochs": Space("choice", choices=(20, 30)),
        "lr_all": Space("log", 0.002, 0.02),
        "reg_all": Space("log", 0.01, 0.2),
    }

    def _user_vectors(self) -> None:
        a = self.algo_
        ts = a.trainset
        vec = np.asarray(a.pu).copy()
        for u in range(ts.n_users):
            items = [j for j, _ in ts.ur[u]]
            if items:
                vec[u] += np.asarray(a.yj)[items].sum(axis=0) / np.sqrt(len(items))
        self.uvec_ = vec


def _inner(to_inner: Any, raw: int) -> int:
    """Surprise's inner id of a raw id, or -1 when the trainset does not know it."""
    try:
        return int(to_inner(raw))
    except ValueError:
        return -1


PEERS: dict[str, type[Recommender]] = {
    c.name: c for c in (ImplicitALS, ImplicitBPR, CornacEASE, SurpriseSVD, SurpriseSVDpp)
}
