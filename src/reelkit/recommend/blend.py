"""A blend of complementary models: EASE (with sessions), implicit ALS, item-kNN and Bayesian MF.

Each component scores every title for the member; the scores are standardised per member over the titles
the member has not seen (z-scores, so the components' scales do not matter), and summed with weights:

.. code-block:: text

    score = ease_weight * z(EASE) + als_weight * z(ALS) + knn_weight * z(ItemKNN) + bmf_weight * z(BMF)

The components make different errors (a linear item-item model that also knows what was watched together
in time, a low-rank factorisation of who watched what, a sparse neighbourhood, and a rating model that knows
how much each member liked each title), so the blend ranks better than any of them alone
(``benchmarks/RESULTS.md``). A component with weight 0 is not fitted (item-kNN always is). Fold-in,
save/load and similar titles come from the components: ``similar_titles`` uses item-kNN, the "because you
watched" engine.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from pydantic import Field, model_validator

from reelkit.data.dataset import Interactions
from reelkit.errors import EmptyDataError
from reelkit.progress import Progress
from reelkit.recommend.als import ALS, ALSConfig
from reelkit.recommend.base import ModelConfig, Recommender, Space, register
from reelkit.recommend.bayes_mf import BayesianMF, BayesianMFConfig
from reelkit.recommend.ease import EASE, EASEConfig, SessionEASEConfig
from reelkit.recommend.itemknn import ItemKNN, ItemKNNConfig

__all__ = ["Blend", "BlendConfig"]


#: Every field of a blend's EASE settings as saved before the session fields, and those fields.
_OLD_EASE_DUMP = frozenset({"regularization", "weighting", "precision"})
_SESSION_FIELDS = frozenset({"session_weight", "session_seconds"})


class BlendConfig(ModelConfig):
    """Weights of the components and each component's own parameters."""

    #: Default weights tuned for NDCG@10 on ML-100K and ml-latest-small validation splits.
    ease_weight: float = Field(1.0, ge=0)
    als_weight: float = Field(0.75, ge=0)
    knn_weight: float = Field(0.15, ge=0)
    bmf_weight: float = Field(0.3, ge=0)
    #: The EASE component learns from sessions too (``session-ease``'s defaults; on data without times it is
    #: EASE with regularization 600 and confidence weights); see ``benchmarks/RESULTS.md``.
    ease: SessionEASEConfig = SessionEASEConfig()
    als: ALSConfig = ALSConfig()
    itemknn: ItemKNNConfig = ItemKNNConfig()
    bmf: BayesianMFConfig = BayesianMFConfig()

    @model_validator(mode="before")
    @classmethod
    def _ease_as_saved(cls, data: Any) -> Any:
        """An :class:`EASEConfig` is taken as its fields; a complete EASE configuration without the session
        fields (a blend saved before they existed: its dump names regularization, weighting and precision)
        keeps its EASE without sessions, as it was fitted. A partial one (``{"precision": "float32"}``)
        keeps the session defaults."""
        if not isinstance(data, Mapping) or "ease" not in data:
            return data
        ease = data["ease"]
        if isinstance(ease, EASEConfig) and not isinstance(ease, SessionEASEConfig):
            ease = ease.model_dump()  # its own session fields (0: plain EASE) with it
        elif isinstance(ease, Mapping) and set(ease) >= _OLD_EASE_DUMP and not _SESSION_FIELDS & set(ease):
            ease = {**ease, "session_weight": 0.0}
        return {**data, "ease": ease}

    @model_validator(mode="after")
    def _weighs_something(self) -> BlendConfig:
        if not any((self.ease_weight, self.als_weight, self.knn_weight, self.bmf_weight)):
            raise ValueError("every component weight is 0: give at least one a positive weight")
        return self


def _unseen_mask(seen: sp.csr_matrix) -> np.ndarray:
    """Dense boolean mask of the titles each row has not seen."""
    mask = np.ones(seen.shape, dtype=bool)
    coo = seen.tocoo()
    mask[coo.row, coo.col] = False
    return mask


def _standardise(scores: np.ndarray, unseen: np.ndarray) -> np.ndarray:
    """Per-row z-scores, with the mean and spread taken over the unseen titles (the candidates) and applied
    to every title, so seen titles keep their standing when they are not excluded. Computed in place in two
    float64 arrays of the scores' shape (the arithmetic of the plain expressions, which took six)."""
    s = np.array(scores, dtype=np.float64)  # a copy: standardised in place
    n = np.maximum(unseen.sum(axis=1, keepdims=True), 1)
    masked = np.where(unseen, s, 0.0)
    mean = masked.sum(axis=1, keepdims=True) / n
    s -= mean
    np.square(s, out=masked)
    masked[~unseen] = 0.0
    var = masked.sum(axis=1, keepdims=True) / n
    del masked
    # a row with no spread (one or no candidate) has nothing to standardise: its scores are only centred
    # (a 1e-12 floor blew them up to a million)
    sd = np.sqrt(var)
    s /= np.where(sd > 1e-6, sd, 1.0)
    return s


@register
class Blend(Recommender):
    """EASE + ALS + item-kNN + Bayesian MF, z-scored per member and summed with weights."""

    name = "blend"
    kind = "top-n"
    Config = BlendConfig
    config: BlendConfig
    search_space: ClassVar[dict[str, Space]] = {
        "als_weight": Space("float", 0.0, 1.5),
        "knn_weight": Space("float", 0.0, 0.6),
        "bmf_weight": Space("float", 0.0, 0.6),
    }
    fast_params: ClassVar[dict[str, Any]] = {
        "ease": {"regularization": 50.0},
        "als": {"factors": 8, "iterations": 4, "regularization": 1.0, "alpha": 2.0},
        "itemknn": {"k": 20},
        "bmf": {"rank": 4, "n_iter": 20, "burn_in": 5},
    }

    def _components(self) -> dict[str, Recommender]:
        c = self.config
        return {
            "ease": EASE(**c.ease.model_dump()),
            "als": ALS(**c.als.model_dump()),
            "itemknn": ItemKNN(**c.itemknn.model_dump()),
            "bmf": BayesianMF(**c.bmf.model_dump()),
        }

    def _weights(self) -> dict[str, float]:
        c = self.config
        return {"ease": c.ease_weight, "als": c.als_weight, "itemknn": c.knn_weight, "bmf": c.bmf_weight}

    def _fit(self, data: Interactions, progress: Progress) -> None:
        self.components_ = {}
        weights = self._weights()
        with progress.task("fitting blend components", total=len(weights)) as task:
            has_ratings = bool((~np.isnan(data.rating)).any())
            if not has_ratings and not any(w > 0 for n, w in weights.items() if n != "bmf"):
                raise EmptyDataError(
                    "the blend weighs only bmf, which needs ratings, and the data has none (plays or thumbs "
                    "only): give another component a positive weight"
                )
            for name, model in self._components().items():
                wanted = weights[name] > 0 or name == "itemknn"  # item-kNN also serves similar_titles
                if name == "bmf" and not has_ratings:
                    wanted = False  # nothing to learn ratings from: the blend runs without it
                if wanted:
                    self.components_[name] = model.fit(data)
                task.advance()

    def _score(self, rows: np.ndarray, history: sp.csr_matrix, ratings: sp.csr_matrix) -> np.ndarray:
        total = np.zeros((len(rows), self.n_titles), dtype=np.float64)
        unseen = _unseen_mask(history)
        for name, w in self._weights().items():
            if w <= 0 or name not in self.components_:
                continue
            z = _standardise(self.components_[name]._score(rows, history, ratings), unseen)
            z *= w
            total += z
            del z  # not held while the next component scores
        return total.astype(np.float32)

    def _similar(self, items: np.ndarray) -> np.ndarray:
        return self.components_["itemknn"]._similar(items)

    def _reads_ratings(self) -> bool:
        return "bmf" in self.components_  # Bayesian MF reads a given rating as it is

    def _state(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for name, model in self.components_.items():
            for k, v in model._state().items():
                out[f"{name}.{k}"] = v
        return out

    def _set_state(self, state: Mapping[str, np.ndarray]) -> None:
        self.components_ = {}
        weights = self._weights()
        has_ratings = self.ratings_.nnz > 0 and bool((~np.isnan(self.ratings_.data)).any())
        for name, model in self._components().items():
            prefix = f"{name}."
            sub = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
            if not sub:
                # a component the fit would have made must be there: without it the blend scored with what
                # was left (all zeros for an empty file) and similar titles failed on a missing item-kNN
                needed = weights[name] > 0 or name == "itemknn"
                if needed and not (name == "bmf" and not has_ratings):
                    raise ValueError(f"the blend's {name} component is missing")
                continue
            for attr in (
                "member_ids_",
                "title_ids_",
                "history_",
                "ratings_",
                "rating_scale_",
                "title_names_",
            ):
                setattr(model, attr, getattr(self, attr))
            model._build_indexes()
            model._set_state(sub)
            model._fitted_params = model.get_params()
            self.components_[name] = model
