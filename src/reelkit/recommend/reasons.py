"""Reasons attached to recommendations ("because you watched X", "popular in your community: …").

The reason for recommending title ``t`` to a member is the title ``h`` of their history most similar to ``t``
by co-occurrence cosine (the same for every model, so reasons read alike whatever ranked the list), when that
similarity is at least ``min_similarity``; otherwise the model's own kind of reason (its community, trending,
popular), else "top pick for you".
"""

from __future__ import annotations

import numpy as np

from reelkit.recommend.base import Recommendations, Recommender

__all__ = ["explain_recommendations"]


def explain_recommendations(
    model: Recommender, recs: Recommendations, *, min_similarity: float = 0.1
) -> list[list[str]]:
    """One reason string per recommended title, for members known to ``model``."""
    from reelkit.recommend.communities import CommunityPopularity
    from reelkit.recommend.popularity import Popularity, Trending

    rows = model.member_rows(recs.queries)
    fallback = "top pick for you"
    community_names: dict[int, str] = {}
    labels = None
    if isinstance(model, CommunityPopularity):
        community_names = {c.id: c.name for c in model.communities(top=1)}
        labels = model.labels_
    elif isinstance(model, Trending):
        fallback = "trending now"
    elif isinstance(model, Popularity):
        fallback = "popular on the service"
    out: list[list[str]] = []
    for i, r in enumerate(rows):
        k = int(recs.lengths[i])
        cols = model.title_cols(recs.ids[i, :k])
        hist = model.history_[r].indices
        reasons = []
        own = fallback
        if labels is not None:
            own = f"popular in your community: {community_names[int(labels[r])]}"
        if k and len(hist):
            sims = model.cooccurrence_similarity(cols)[:, hist]
            best = np.argmax(sims, axis=1)
            for j in range(k):
                if sims[j, best[j]] >= min_similarity and labels is None:
                    reasons.append(f"because you watched {model.title_names_[hist[best[j]]]}")
                else:
                    reasons.append(own)
        else:
            reasons = [own] * k
        out.append(reasons)
    return out
