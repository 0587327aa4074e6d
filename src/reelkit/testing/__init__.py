"""A conformance kit that every reelkit recommender passes (shipped, so third-party models can use it).

Use :class:`RecommenderConformance` as a pytest mixin: subclass it and set ``model_class`` (and optionally
``params``). :func:`synthetic_dataset` makes small data with planted taste communities. Needs pytest
(``pip install 'reelkit[testing]'``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from reelkit.data.dataset import Dataset, Interactions
from reelkit.errors import NotFittedError, UnknownIdError
from reelkit.recommend.base import Recommender, load_model

__all__ = ["RecommenderConformance", "synthetic_dataset"]


def synthetic_dataset(
    n_members: int = 160, n_titles: int = 90, n_groups: int = 4, seed: int = 0, per_member: int = 18
) -> Dataset:
    """Members in ``n_groups`` taste groups, each preferring its own block of titles, with popularity skew and
    1-5 ratings (higher inside the member's block). Small enough for fast tests."""
    rng = np.random.default_rng(seed)
    group = rng.integers(n_groups, size=n_members)
    title_group = np.arange(n_titles) % n_groups
    base_pop = 1.0 / np.arange(1, n_titles + 1) ** 0.6
    rows: list[tuple[str, str, int, str, float]] = []
    t0 = 1_600_000_000
    for m in range(n_members):
        affinity = np.where(title_group == group[m], 6.0, 1.0) * base_pop
        p = affinity / affinity.sum()
        k = int(rng.integers(per_member // 2, per_member * 3 // 2 + 1))
        titles = rng.choice(n_titles, size=min(k, n_titles), replace=False, p=p)
        for t in titles:
            good = title_group[t] == group[m]
            rating = float(np.clip(round(rng.normal(4.0 if good else 2.6, 0.8)), 1, 5))
            rows.append((f"m{m}", f"t{t}", t0 + int(rng.integers(0, 86400 * 60)), "rating", rating))
    ev = pd.DataFrame(rows, columns=["member_id", "title_id", "timestamp", "kind", "value"])
    genres = np.array(["Action", "Comedy", "Drama", "Horror", "Romance", "Sci-Fi"])
    catalog = pd.DataFrame(
        {
            "title_id": [f"t{t}" for t in range(n_titles)],
            "name": [f"Title {t}" for t in range(n_titles)],
            "genres": [f"{genres[g % 6]}|{genres[(g + 1) % 6]}" for g in title_group],
            "year": 2000 + np.arange(n_titles) % 20,
        }
    )
    return Dataset.from_events(ev, catalog)


class RecommenderConformance:
    """Pytest mixin: the behaviour every :class:`Recommender` must have."""

    model_class: ClassVar[type[Recommender]]
    params: ClassVar[dict[str, Any] | None] = None
    #: Minimum mean top-10 overlap between fold-in and a refit that includes the member.
    foldin_overlap: ClassVar[float] = 0.5

    # ---- fixtures
    @pytest.fixture(scope="class")
    @classmethod
    def data(cls) -> Interactions:
        return synthetic_dataset().interactions()

    @classmethod
    def make(cls) -> Recommender:
        params = cls.params if cls.params is not None else cls.model_class.fast_params
        return cls.model_class(**params)

    @pytest.fixture(scope="class")
    @classmethod
    def fitted(cls, data: Interactions) -> Recommender:
        return cls.make().fit(data)

    # ---- the contract
    def test_fit_returns_self(self, data: Interactions) -> None:
        model = self.make()
        assert model.fit(data) is model
        assert model.n_titles == data.n_titles

    def test_unfitted_raises(self) -> None:
        with pytest.raises(NotFittedError):
            self.make().recommend(["m0"], 5)

    def test_params_round_trip(self) -> None:
        model = self.make()
        again = self.model_class(**model.get_params())
        assert again.get_params() == model.get_params()

    def test_recommend_shapes_and_order(self, fitted: Recommender, data: Interactions) -> None:
        members = list(data.member_ids[:7])
        recs = fitted.recommend(members, 10)
        assert recs.ids.shape == (7, 10) and recs.scores.shape == (7, 10)
        for i in range(7):
            k = int(recs.lengths[i])
            assert k > 0
            s = recs.scores[i, :k]
            assert np.all(np.isfinite(s))
            assert np.all(np.diff(s) <= 1e-6), "scores must be in rank order"
            assert len(set(recs.ids[i, :k])) == k, "no title twice in a list"

    def test_recommend_excludes_seen(self, fitted: Recommender, data: Interactions) -> None:
        hist = data.matrix("binary")
        members = data.member_ids[:20]
        recs = fitted.recommend(members, 15)
        for i in range(len(members)):
            seen = set(data.title_ids[hist[i].indices])
            assert not seen & set(recs.ids[i, : recs.lengths[i]])

    def test_include_seen_when_asked(self, fitted: Recommender, data: Interactions) -> None:
        """With ``exclude_seen=False`` every title with a finite score is listed, seen ones included, and
        a seen title keeps its place among the others (its score is the model's, not a placeholder)."""
        members = data.member_ids[:3]
        recs = fitted.recommend(members, data.n_titles, exclude_seen=False)
        scores = fitted.score_rows(np.arange(3))
        hist = data.matrix("binary")
        for i in range(3):
            listed = dict(recs.items(i))
            seen = data.title_ids[hist[i].indices]
            finite = np.isfinite(scores[i])
            assert len(listed) == int(finite.sum())
            for t in seen[finite[hist[i].indices]]:
                col = int(np.flatnonzero(data.title_ids == t)[0])
                assert listed[str(t)] == pytest.approx(float(scores[i, col]), rel=1e-5, abs=1e-6)

    def test_padding_when_few_candidates(self, fitted: Recommender, data: Interactions) -> None:
        recs = fitted.recommend(data.member_ids[:2], data.n_titles + 5)
        assert recs.ids.shape[1] == data.n_titles + 5
        for i in range(2):
            k = int(recs.lengths[i])
            assert np.all(recs.ids[i, k:] == "")
            assert np.all(np.isnan(recs.scores[i, k:]))

    def test_deterministic(self, data: Interactions) -> None:
        a = self.make().fit(data).score_rows(np.arange(10))
        b = self.make().fit(data).score_rows(np.arange(10))
        np.testing.assert_array_equal(a, b)

    def test_save_load_identical(self, fitted: Recommender, data: Interactions, tmp_path: Any) -> None:
        path = fitted.save(tmp_path / "model.npz")
        loaded = load_model(path)
        assert type(loaded) is type(fitted)
        assert loaded.get_params() == fitted.get_params()
        np.testing.assert_array_equal(loaded.score_rows(np.arange(12)), fitted.score_rows(np.arange(12)))
        r1, r2 = fitted.recommend(data.member_ids[:5], 10), loaded.recommend(data.member_ids[:5], 10)
        np.testing.assert_array_equal(r1.ids, r2.ids)

    def test_unknown_member(self, fitted: Recommender) -> None:
        with pytest.raises(UnknownIdError):
            fitted.recommend(["no-such-member"], 5)

    def test_empty_history(self, fitted: Recommender) -> None:
        recs = fitted.recommend_history([[]], 5)
        assert recs.ids.shape == (1, 5)
        assert np.all(np.isfinite(recs.scores[0, : recs.lengths[0]]))

    def test_history_with_unknown_titles_ignored(self, fitted: Recommender, data: Interactions) -> None:
        known = list(data.title_ids[:3])
        a = fitted.recommend_history([known], 10)
        b = fitted.recommend_history([[*known, "never-seen-title"]], 10)
        np.testing.assert_array_equal(a.ids, b.ids)

    def test_foldin_matches_refit(self, data: Interactions) -> None:
        """A member left out of training, folded in from history, gets about what a refit would give."""
        binary = data.matrix("binary")
        counts = np.diff(binary.indptr)
        held = [int(r) for r in np.argsort(-counts)[:8]]
        keep = ~np.isin(data.rows, held)
        reduced = Interactions(
            member_ids=data.member_ids,
            title_ids=data.title_ids,
            rows=data.rows[keep],
            cols=data.cols[keep],
            weight=data.weight[keep],
            rating=data.rating[keep],
            timestamp=data.timestamp[keep],
            titles=data.titles,
            rating_scale=data.rating_scale,
        )
        without = self.make().fit(reduced)
        full = self.make().fit(data)
        histories = []
        for r in held:
            sel = data.rows == r
            rated = ~np.isnan(data.rating[sel])
            cols = data.title_ids[data.cols[sel]]
            histories.append(dict(zip(cols, data.rating[sel], strict=True)) if rated.all() else list(cols))
        folded = without.recommend_history(histories, 10)
        refit = full.recommend(data.member_ids[held], 10)
        overlap = np.mean(
            [
                len(set(folded.ids[i, : folded.lengths[i]]) & set(refit.ids[i, : refit.lengths[i]])) / 10
                for i in range(len(held))
            ]
        )
        assert overlap >= self.foldin_overlap, f"fold-in top-10 overlap with refit only {overlap:.2f}"

    def test_similar_titles(self, fitted: Recommender, data: Interactions) -> None:
        q = list(data.title_ids[:4])
        sims = fitted.similar_titles(q, 5)
        for i, t in enumerate(q):
            assert t not in set(sims.ids[i, : sims.lengths[i]])
            assert sims.lengths[i] > 0

    def test_predict(self, fitted: Recommender, data: Interactions) -> None:
        if fitted.kind == "top-n":
            return
        lo, hi = data.rating_scale
        members = [*list(data.member_ids[:5]), "unknown"]
        titles = [*list(data.title_ids[:5]), "unknown"]
        pred = fitted.predict(members, titles)
        assert pred.shape == (6,)
        assert np.all(np.isfinite(pred))
        assert np.all((pred >= lo - 1e-6) & (pred <= hi + 1e-6))
