"""Reasons attached to recommendations ("because you watched X", "popular in your community: …").

The reason for recommending title ``t`` to a member is the title ``h`` of their history most similar to ``t``
by co-occurrence cosine (the same for every model, so reasons read alike whatever ranked the list), when that
similarity is at least ``min_similarity`` (never ``t`` itself, which ``include_seen`` lists), else "top pick
for you". Models whose ranking does not depend on the member's history always give their own reason, since
that is why they ranked the title: a taste community ("popular in your community: <name>", or, where the
list blends communities, "popular in a community near your taste: <name>" for a title owed most to another
one), trending ("trending now"), popularity ("popular on the service").
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from reelkit.data.confidence import rated_low
from reelkit.recommend.base import Recommendations, Recommender

__all__ = ["explain_recommendations"]


def explain_recommendations(
    model: Recommender,
    recs: Recommendations,
    *,
    min_similarity: float = 0.1,
    histories: sp.csr_matrix | None = None,
    ratings: sp.csr_matrix | None = None,
) -> list[list[str]]:
    """One reason string per recommended title.

    The queries are members known to ``model``, unless ``histories`` gives one history row per query
    (``model.histories_matrix``), as for ``recommend_history``'s new members, with their ``ratings`` (the
    same method's second matrix). A title rated in the lower half of the model's rating scale explains
    nothing ("because you watched" a film rated 1 of 5), as on the service's home page.
    """
    from reelkit.recommend.communities import CommunityPopularity
    from reelkit.recommend.popularity import Popularity, Trending

    if histories is None:
        rows = model.member_rows(recs.queries)
        hist_of = model.history_
        rated_of: sp.csr_matrix | None = model.ratings_
        liked_of: sp.csr_matrix | None = getattr(model, "liked_since_rated_", None)
    else:
        rows = np.arange(histories.shape[0])
        hist_of = histories.tocsr()
        rated_of = ratings.tocsr() if ratings is not None else None
        liked_of = None  # a history given as titles and ratings has no thumbs
    scale = model.rating_scale_
    if isinstance(model, CommunityPopularity):
        # each title is named by the community whose share of its blended score is largest: with a
        # temperature above 0 the list mixes communities, and a title popular only in a neighbouring one
        # read "popular in your community"
        names = {c.id: c.name for c in model.communities(top=1)}
        query_rows = np.asarray(rows) if histories is None else np.full(len(rows), -1)
        query_hist = hist_of[np.asarray(rows)] if histories is None else hist_of
        home = model.assign_rows(query_rows, query_hist)
        weights = model.community_weights(query_rows, query_hist)
        out_c: list[list[str]] = []
        for i in range(len(rows)):
            cols = model.title_cols(recs.ids[i, : int(recs.lengths[i])])
            owed = weights[i][:, None] * model.community_popularity_[:, cols]
            # a title no weighted community watched (its score 0) owes nothing to any: the member's own
            best = np.where(owed.max(axis=0) > 0, np.argmax(owed, axis=0), home[i])
            out_c.append(
                [
                    f"popular in your community: {names[int(c)]}"
                    if c == home[i]
                    else f"popular in a community near your taste: {names[int(c)]}"
                    for c in best
                ]
            )
        return out_c
    if isinstance(model, Trending | Popularity):
        own = "trending now" if isinstance(model, Trending) else "popular on the service"
        return [[own] * int(recs.lengths[i]) for i in range(len(rows))]
    fallback = "top pick for you"
    # co-occurrence cosine, built once for the whole batch
    x = (model.history_ > 0).astype(np.float32).tocsc()
    norms = np.sqrt(np.asarray(x.power(2).sum(axis=0)).ravel())
    norms[norms == 0] = 1.0
    out: list[list[str]] = []
    for i, r in enumerate(rows):
        k = int(recs.lengths[i])
        hist = hist_of[r].indices
        if not k or not len(hist):  # nothing known of the member: ranked by popularity (recommend_rows)
            out.append(["popular on the service"] * k)
            continue
        if rated_of is not None:  # a title rated low is no reason (unless a thumb up came after the rating)
            rated = rated_of[r]
            low = rated.indices[rated_low(rated.data, scale)]
            if liked_of is not None:
                low = np.setdiff1d(low, liked_of[r].indices)
            hist = np.setdiff1d(hist, low, assume_unique=True)
            if not len(hist):
                out.append([fallback] * k)
                continue
        cols = model.title_cols(recs.ids[i, :k])
        sims = (x[:, cols].T @ x[:, hist]).toarray() / norms[cols][:, None] / norms[hist][None, :]
        sims[cols[:, None] == hist[None, :]] = -np.inf  # a seen title listed again is not its own reason
        best = np.argmax(sims, axis=1)
        out.append(
            [
                f"because you watched {model.title_names_[hist[best[j]]]}"
                if sims[j, best[j]] >= min_similarity
                else fallback
                for j in range(k)
            ]
        )
    return out
