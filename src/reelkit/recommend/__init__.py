"""Recommendation models behind one contract (:class:`Recommender`)."""

from reelkit.recommend.base import (
    Recommendations,
    Recommender,
    load_model,
    registered_models,
    top_k,
)
from reelkit.recommend.communities import Community, CommunityPopularity
from reelkit.recommend.popularity import Popularity, Trending

__all__ = [
    "Community",
    "CommunityPopularity",
    "Popularity",
    "Recommendations",
    "Recommender",
    "Trending",
    "load_model",
    "registered_models",
    "top_k",
]
