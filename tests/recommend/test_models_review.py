"""Recommendation behaviour a review found wrong: reasons that name the title itself or claim a member's
history for a ranking that ignores it, fold-in that forgot the training's ``min_rating``, an empty history
ranked by id, a blend weighing nothing, and more."""

from __future__ import annotations

import numpy as np
import pandas as pd

from reelkit.data.dataset import Dataset
from reelkit.recommend.itemknn import ItemKNN
from reelkit.recommend.popularity import Popularity, Trending
from reelkit.recommend.reasons import explain_recommendations


def _ratings(n_members: int = 30, n_titles: int = 12, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    rows = [
        (f"u{u}", f"t{t}", float(rng.integers(1, 6)))
        for u in range(n_members)
        for t in rng.choice(n_titles, 6, replace=False)
    ]
    ev = pd.DataFrame(rows, columns=["member_id", "title_id", "value"])
    ev["kind"] = "rating"
    ev["timestamp"] = np.arange(len(ev))
    return Dataset.from_events(ev)


def test_a_seen_title_listed_again_is_not_its_own_reason() -> None:
    model = ItemKNN().fit(_ratings().interactions())
    recs = model.recommend(["u0", "u1", "u2"], 12, exclude_seen=False)
    reasons = explain_recommendations(model, recs)
    named = 0
    for i in range(3):
        for j in range(int(recs.lengths[i])):
            name = model.title_names_[model.title_cols(recs.ids[i, j : j + 1])[0]]
            assert reasons[i][j] != f"because you watched {name}"
            named += reasons[i][j].startswith("because you watched")
    assert named > 0  # the other seen titles still give reasons


def test_models_that_ignore_the_history_give_their_own_reason() -> None:
    inter = _ratings().interactions()
    for model, reason in (
        (Popularity().fit(inter), "popular on the service"),
        (Trending().fit(inter), "trending now"),
    ):
        recs = model.recommend(["u0", "u1"], 4)
        assert explain_recommendations(model, recs) == [[reason] * 4, [reason] * 4]
