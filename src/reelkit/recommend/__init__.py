"""Recommendation models behind one contract (:class:`Recommender`).

Importing this package registers every model by name (``registered_models()``), for the CLI and
:func:`load_model`.
"""

from reelkit.recommend.als import ALS
from reelkit.recommend.base import (
    Recommendations,
    Recommender,
    load_model,
    registered_models,
    top_k,
)
from reelkit.recommend.bayes_mf import BayesianMF
from reelkit.recommend.blend import Blend
from reelkit.recommend.communities import Community, CommunityPopularity
from reelkit.recommend.ease import EASE, SessionEASE
from reelkit.recommend.itemknn import ItemKNN
from reelkit.recommend.popularity import Popularity, Trending
from reelkit.recommend.rp3beta import RP3beta

__all__ = [
    "ALS",
    "EASE",
    "BayesianMF",
    "Blend",
    "Community",
    "CommunityPopularity",
    "ItemKNN",
    "Popularity",
    "RP3beta",
    "Recommendations",
    "Recommender",
    "SessionEASE",
    "Trending",
    "load_model",
    "registered_models",
    "top_k",
]
