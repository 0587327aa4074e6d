"""The evaluation runner on tiny datasets with hand-made models whose scores are known."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from reelkit.data.dataset import Dataset, Interactions
from reelkit.errors import ConfigError, EmptyDataError
from reelkit.evaluate import EvalResult, evaluate, evaluate_folds, split_random
from reelkit.progress import Progress, ProgressTask
from reelkit.recommend import Popularity
from reelkit.recommend.base import ModelConfig, Recommender

LOG2_3 = math.log2(3)


class FixedOrderConfig(ModelConfig):
    order: tuple[str, ...] = ()


class FixedOrder(Recommender):
    """Ranks titles in the configured order for everyone (titles not listed come last)."""

    name = "test-fixed-order"
    kind = "top-n"
    Config = FixedOrderConfig
    config: FixedOrderConfig

    def _fit(self, data: Interactions, progress: Progress) -> None:
        pos = {t: i for i, t in enumerate(self.config.order)}
        self.item_scores_ = np.array([-pos.get(str(t), 10**6) for t in self.title_ids_], dtype=np.float32)

    def _score(self, rows: np.ndarray, history: sp.csr_matrix, ratings: sp.csr_matrix) -> np.ndarray:
        return np.broadcast_to(self.item_scores_, (len(rows), self.item_scores_.shape[0]))

    def _state(self) -> dict[str, np.ndarray]:
        return {"item_scores": self.item_scores_}

    def _set_state(self, state: Mapping[str, np.ndarray]) -> None:
        self.item_scores_ = state["item_scores"]


class ItemMean(Recommender):
    """Rating model: predicts a title's mean training rating; unknown titles get the global mean."""

    name = "test-item-mean"
    kind = "rating"

    def _fit(self, data: Interactions, progress: Progress) -> None:
        has = ~np.isnan(data.rating)
        r = data.rating[has].astype(np.float64)
        self.mu_ = float(r.mean())
        sums = np.bincount(data.cols[has], weights=r, minlength=data.n_titles)
        counts = np.bincount(data.cols[has], minlength=data.n_titles)
        self.item_mean_ = np.where(counts > 0, sums / np.maximum(counts, 1), self.mu_)

    def _score(self, rows: np.ndarray, history: sp.csr_matrix, ratings: sp.csr_matrix) -> np.ndarray:
        return np.broadcast_to(self.item_mean_, (len(rows), self.item_mean_.shape[0]))

    def _predict(self, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        return np.where(items >= 0, self.item_mean_[np.maximum(items, 0)], self.mu_)

    def _state(self) -> dict[str, np.ndarray]:
        return {"item_mean": self.item_mean_, "mu": np.asarray(self.mu_)}

    def _set_state(self, state: Mapping[str, np.ndarray]) -> None:
        self.item_mean_ = state["item_mean"]
        self.mu_ = float(state["mu"])


def ratings(rows: list[tuple[str, str, float]]) -> Dataset:
    ev = pd.DataFrame(rows, columns=["member_id", "title_id", "value"])
    ev["timestamp"] = np.arange(len(ev)) + 1
    return Dataset.from_events(ev)


# train: u1 rated A 5, B 3; u2 rated A 4, C 2; u3 rated D 1   (titles A-D; 3 members)
TRAIN = ratings([("u1", "A", 5), ("u1", "B", 3), ("u2", "A", 4), ("u2", "C", 2), ("u3", "D", 1)])
# test: u1 C 3 and E 4 (E never seen in training); u2 B 5; u4 A 4 (u4 has no training data)
TEST = ratings([("u1", "C", 3), ("u1", "E", 4), ("u2", "B", 5), ("u4", "A", 4)])


def test_hand_computed_top_n_metrics() -> None:
    result = evaluate(FixedOrder(order=("A", "B", "C", "D")), TRAIN, TEST, ks=(1, 10))
    # u1: A, B are seen -> recs [C, D]; relevant {C, E}: hit at rank 1, |R| = 2 (E counts though unknown)
    #     nDCG@10 = 1 / (1 + 1/log2 3) = 0.61315; recall = 1/2; AP = (P@1 * 1) / min(2, 10) = 1/2
    # u2: A, C are seen -> recs [B, D]; relevant {B}: nDCG = recall = AP = 1
    # u4 has no training data: skipped. u3 has no test data.
    u1_ndcg = 1 / (1 + 1 / LOG2_3)
    m = result.metrics
    assert m["ndcg@10"] == pytest.approx((u1_ndcg + 1) / 2)
    assert m["recall@10"] == pytest.approx(0.75)
    assert m["map@10"] == pytest.approx(0.75)
    assert m["hitrate@10"] == pytest.approx(1.0)
    assert m["precision@10"] == pytest.approx(0.1)  # 1 hit of 10 slots each
    # at k=1 both first titles are hits; u1's ideal DCG@1 = 1 too
    assert m["ndcg@1"] == pytest.approx(1.0)
    assert m["recall@1"] == pytest.approx(0.75)
    assert m["precision@1"] == pytest.approx(1.0)
    # recommended to anyone at 10: {B, C, D} of the 4 training titles
    assert m["coverage@10"] == pytest.approx(0.75)
    assert m["coverage@1"] == pytest.approx(0.5)
    # p(C) = p(D) = p(B) = 1/3 of training members: every recommended title carries log2(3) bits
    assert m["novelty@10"] == pytest.approx(LOG2_3)
    assert result.n_members == 2
    assert result.n_cold_members == 1  # u4
    assert result.n_test_pairs == 3  # (u1, C), (u1, E), (u2, B)
    assert "rmse" not in m and result.n_rating_pairs == 0
    assert result.model == "test-fixed-order"
    assert result.params == {"order": ["A", "B", "C", "D"]}
    for key in ("ndcg@10", "recall@10", "map@10", "hitrate@10", "precision@10", "novelty@10"):
        lo, hi = result.ci[key]
        assert lo - 1e-12 <= m[key] <= hi + 1e-12
    assert "coverage@10" not in result.ci


def test_metrics_are_the_mean_over_members_not_the_median() -> None:
    """Pins the per-member average: three members whose held-out title is at rank 1, 2 and 3."""
    # recs: u1 [C, D] (seen A, B), u2 [B, D] (seen A, C), u3 [A, B, C] (seen D)
    test = ratings([("u1", "C", 4), ("u2", "D", 4), ("u3", "C", 4)])
    m = evaluate(FixedOrder(order=("A", "B", "C", "D")), TRAIN, test, ks=(1, 10)).metrics
    assert m["ndcg@10"] == pytest.approx((1 + 1 / LOG2_3 + 0.5) / 3)  # median would be 1 / log2(3)
    assert m["recall@1"] == pytest.approx(1 / 3)  # median would be 0
    assert m["map@10"] == pytest.approx((1 + 1 / 2 + 1 / 3) / 3)


def test_unknown_test_title_counts_in_ideal_dcg() -> None:
    # without E, u1's relevant set is {C} and its nDCG would be 1
    no_e = ratings([("u1", "C", 3), ("u2", "B", 5)])
    with_e = evaluate(FixedOrder(order=("A", "B", "C", "D")), TRAIN, TEST, ks=(10,))
    without = evaluate(FixedOrder(order=("A", "B", "C", "D")), TRAIN, no_e, ks=(10,))
    assert without.metrics["ndcg@10"] == pytest.approx(1.0)
    assert with_e.metrics["ndcg@10"] < without.metrics["ndcg@10"]


def test_every_unknown_test_title_counts_once_in_ideal_dcg_and_recall() -> None:
    """Pins two unknown test titles of one member as two relevant titles (not one shared column)."""
    test = ratings([("u1", "C", 3), ("u1", "E", 4), ("u1", "F", 4)])
    result = evaluate(FixedOrder(order=("A", "B", "C", "D")), TRAIN, test, ks=(10,))
    # u1: recs [C, D]; relevant {C, E, F}: DCG = 1, ideal DCG = 1 + 1/log2(3) + 1/log2(4); recall = 1/3
    assert result.metrics["ndcg@10"] == pytest.approx(1 / (1 + 1 / LOG2_3 + 0.5))
    assert result.metrics["recall@10"] == pytest.approx(1 / 3)
    assert result.n_test_pairs == 3


def test_members_without_training_are_skipped() -> None:
    only_new = ratings([("u9", "A", 4), ("u8", "B", 5)])
    with pytest.raises(EmptyDataError, match="nothing to evaluate"):
        evaluate(FixedOrder(), TRAIN, only_new)
    mixed = ratings([("u9", "A", 4), ("u9", "B", 4), ("u2", "B", 5)])
    result = evaluate(FixedOrder(order=("B",)), TRAIN, mixed)
    assert result.n_members == 1 and result.metrics["ndcg@10"] == pytest.approx(1.0)
    assert result.n_cold_members == 1


def test_a_member_with_no_rating_at_min_rating_in_training_is_scored_with_an_empty_history() -> None:
    """With min_rating, a member whose training ratings all lie under it has no interactions, but is no
    cold member: u4 was counted as "without training data" and left out of the top-N metrics. It is now
    ranked as an empty history is (a personal model: by popularity), without the titles it rated in
    training, which are not held out either; only u5, absent from training, is left out."""
    # min_rating 4: positives u1 A B C, u2 A B, u3 A (A by 3 members, B by 2, C by 1); u2's D 2 and u4's
    # B 1, C 2 are seen, not liked; D has no positive, so no column
    liked = [("u1", "A", 5), ("u1", "B", 5), ("u1", "C", 5), ("u2", "A", 5), ("u2", "B", 4), ("u3", "A", 4)]
    train = ratings([*liked, ("u2", "D", 2), ("u4", "B", 1), ("u4", "C", 2)])
    test = ratings([("u3", "B", 5), ("u4", "A", 5), ("u4", "C", 4), ("u4", "D", 5), ("u5", "A", 5)])
    result = evaluate(FixedOrder(order=("C", "B", "A")), train, test, ks=(10,), min_rating=4, n_resamples=0)
    # u3 (history A): the fixed order less A -> [C, B]; relevant {B}: nDCG = (1/log2 3) / 1, recall 1
    # u4 (no history): popularity [A, B, C] less its seen B, C -> [A]; relevant {A, D} (C it rated in
    #     training is not held out; D, unknown to the model, counts): nDCG = 1 / (1 + 1/log2 3), recall 1/2
    assert result.metrics["ndcg@10"] == pytest.approx((1 / LOG2_3 + 1 / (1 + 1 / LOG2_3)) / 2)
    assert result.metrics["recall@10"] == pytest.approx((1 + 0.5) / 2)
    assert result.metrics["hitrate@10"] == pytest.approx(1.0)
    assert result.metrics["coverage@10"] == pytest.approx(1.0)  # A, B, C of the 3 training titles
    assert result.n_members == 2
    assert result.n_test_pairs == 3  # (u3, B), (u4, A), (u4, D)
    assert result.n_cold_members == 1  # u5


def test_seen_pairs_and_thumbs_down_are_not_held_out_titles() -> None:
    ev = pd.DataFrame(
        {
            "member_id": ["u1", "u1", "u2"],
            "title_id": ["A", "C", "B"],
            "kind": ["rating", "thumb", "rating"],
            "value": [5.0, -1.0, 5.0],
        }
    )
    # (u1, A) is already in u1's training history; (u1, C) is a thumbs-down: u1 has nothing held out
    result = evaluate(FixedOrder(order=("A", "B", "C", "D")), TRAIN, Dataset.from_events(ev))
    assert result.n_members == 1 and result.n_test_pairs == 1


def test_min_rating_filters_both_sides() -> None:
    train = ratings([("u1", "A", 5), ("u1", "B", 1), ("u2", "A", 4), ("u2", "C", 5)])
    test = ratings([("u1", "C", 4), ("u1", "D", 4), ("u1", "E", 2), ("u2", "B", 2)])
    result = evaluate(FixedOrder(order=("B", "C", "A")), train, test, min_rating=3, ks=(1,))
    # training keeps u1-A, u2-A, u2-C (B rated 1 is dropped, so B is not even a model title): titles {A, C}
    # u1 sees A -> recs [C]; relevant {C, D} (E rated 2 is not); hit at 1: nDCG@1 = 1, recall@1 = 1/2
    # u2's only test pair B is rated 2: not relevant, so u2 is skipped
    assert result.n_members == 1 and result.n_test_pairs == 2
    assert result.metrics["ndcg@1"] == pytest.approx(1.0)
    assert result.metrics["recall@1"] == pytest.approx(0.5)
    # without the filter B is a training title of u1, so u1 is recommended C first again, and u2 counts
    plain = evaluate(FixedOrder(order=("B", "C", "A")), train, test, ks=(1,))
    assert plain.n_members == 2


def test_min_rating_keeps_a_rating_at_the_threshold_and_unrated_pairs() -> None:
    """Pins relevance under min_rating: a rating equal to it is relevant (>=), and so is an unrated pair."""
    train = ratings([("u1", "A", 5), ("u2", "A", 4), ("u2", "C", 5), ("u2", "D", 4)])
    test = Dataset.from_events(
        pd.DataFrame(
            {
                "member_id": ["u1", "u1"],
                "title_id": ["C", "D"],
                "kind": ["rating", "play"],
                "value": [3.0, 3600.0],
                "fraction": [np.nan, 0.95],
                "timestamp": [10, 11],
            }
        )
    )
    result = evaluate(FixedOrder(order=("C", "D", "A")), train, test, min_rating=3, ks=(2,))
    # u1 sees A -> recs [C, D]; relevant {C (rated exactly 3), D (played, unrated)}: 2 hits of 2
    assert result.n_test_pairs == 2
    assert result.metrics["precision@2"] == pytest.approx(1.0)


def test_min_rating_keeps_a_low_rating_that_a_later_thumb_up_overrules() -> None:
    """A held-out pair rated 2 and then thumbed up is liked now: relevant under min_rating 3 (it dropped
    the whole pair); one thumbed up and then rated 2 is not."""
    train = ratings([("u1", "A", 5), ("u2", "A", 4), ("u2", "C", 5), ("u2", "D", 4)])
    test = Dataset.from_events(
        pd.DataFrame(
            {
                "member_id": ["u1"] * 4,
                "title_id": ["C", "C", "D", "D"],
                "kind": ["rating", "thumb", "thumb", "rating"],
                "value": [2.0, 1.0, 1.0, 2.0],
                "timestamp": [10, 11, 12, 13],
            }
        )
    )
    result = evaluate(FixedOrder(order=("C", "D", "A")), train, test, min_rating=3, ks=(1,))
    # u1 sees A -> recs [C]; relevant {C}: a hit at 1
    assert result.n_test_pairs == 1 and result.metrics["precision@1"] == pytest.approx(1.0)
    flipped = evaluate(FixedOrder(order=("D", "C", "A")), train, test, min_rating=3, ks=(1,))
    assert flipped.n_test_pairs == 1 and flipped.metrics["precision@1"] == pytest.approx(0.0)


def test_a_pair_kept_out_of_training_by_min_rating_is_not_held_out() -> None:
    """Pins the seen-pair rule for pairs outside the interactions: u1 rated B 1 in training (dropped by
    min_rating, and never recommended to u1), so u1's later B 4 in test is not a held-out title."""
    train = ratings([("u1", "A", 5), ("u1", "B", 1), ("u2", "A", 4), ("u2", "B", 5), ("u2", "C", 4)])
    test = ratings([("u1", "B", 4), ("u1", "C", 4)])
    result = evaluate(FixedOrder(order=("A", "B", "C")), train, test, min_rating=3, ks=(10,))
    # u1's recs exclude A (history) and B (kept out): [C]; relevant {C}: recall 1
    assert result.n_test_pairs == 1
    assert result.metrics["recall@10"] == pytest.approx(1.0)


def test_evaluate_folds_passes_min_rating_to_each_fold() -> None:
    """Pins evaluate_folds' min_rating: each fold's result is evaluate's with the same min_rating."""
    train = ratings([("u1", "A", 5), ("u1", "B", 1), ("u2", "A", 4), ("u2", "C", 5)])
    test = ratings([("u1", "C", 4), ("u1", "D", 4), ("u1", "E", 2), ("u2", "B", 2)])
    res = evaluate_folds(FixedOrder(order=("B", "C", "A")), [(train, test)], min_rating=3, ks=(1,))
    # as in test_min_rating_filters_both_sides: u2's only test pair is rated 2, so only u1 is evaluated
    assert res.folds[0].n_members == 1 and res.folds[0].n_test_pairs == 2
    assert res.metrics["recall@1"] == pytest.approx(0.5)


def test_no_rating_metrics_with_min_rating() -> None:
    # the model would be fitted without the ratings under 3 and then judged on them
    plain = evaluate(ItemMean(), TRAIN, TEST, ks=(10,))
    filtered = evaluate(ItemMean(), TRAIN, TEST, ks=(10,), min_rating=3)
    assert "rmse" in plain.metrics and plain.n_rating_pairs == 4
    assert "rmse" not in filtered.metrics and "mae" not in filtered.metrics and filtered.n_rating_pairs == 0
    from reelkit.errors import ConfigError
    from reelkit.evaluate import tune

    with pytest.raises(ConfigError, match="rmse with min_rating"):
        tune(ItemMean, TRAIN, metric="rmse", min_rating=3, budget=1)


def test_no_rating_metrics_with_low_ratings_as_dislikes() -> None:
    """As with min_rating: a model fitted without the low ratings is not judged on them (RMSE on ml-100k u1
    went from 0.89 to 1.06), and is not tuned on them."""
    from reelkit.data.confidence import ConfidenceConfig
    from reelkit.errors import ConfigError
    from reelkit.evaluate import tune

    dislike = ConfidenceConfig(low_rating="dislike")
    res = evaluate(ItemMean(), TRAIN, TEST, ks=(10,), confidence=dislike)
    assert "rmse" not in res.metrics and "mae" not in res.metrics and res.n_rating_pairs == 0
    with pytest.raises(ConfigError, match="rmse with low ratings as dislikes"):
        tune(ItemMean, TRAIN, metric="rmse", confidence=dislike, budget=1)


def test_rating_metrics_with_fallback() -> None:
    result = evaluate(ItemMean(), TRAIN, TEST, ks=(10,))
    # global mean 3; title means A 4.5, B 3, C 2, D 1
    # u1-C: 2 vs 3 (-1); u1-E: unknown title -> 3 vs 4 (-1); u2-B: 3 vs 5 (-2);
    # u4-A: unknown member -> 4.5 vs 4 (+0.5)
    # RMSE = sqrt((1 + 1 + 4 + 0.25) / 4) = 1.25; MAE = (1 + 1 + 2 + 0.5) / 4 = 1.125
    assert result.metrics["rmse"] == pytest.approx(1.25)
    assert result.metrics["mae"] == pytest.approx(1.125)
    assert result.n_rating_pairs == 4
    # it also ranks by predicted rating: u1 gets [C, D], u2 [B, D], as with the fixed order above
    assert result.metrics["recall@10"] == pytest.approx(0.75)


def test_rating_metrics_cover_rated_pairs_that_are_not_relevant() -> None:
    """Pins rmse/mae over every rated test pair: a rated pair with a later thumbs-down (weight 0, not a
    relevant title) still has its rating error counted."""
    test = Dataset.from_events(
        pd.DataFrame(
            {
                "member_id": ["u1", "u1", "u2"],
                "title_id": ["C", "C", "B"],
                "kind": ["rating", "thumb", "rating"],
                "value": [3.0, -1.0, 5.0],
                "timestamp": [10, 11, 12],
            }
        )
    )
    result = evaluate(ItemMean(), TRAIN, test, ks=(10,))
    # title means C 2, B 3: u1-C 2 vs 3 (-1), u2-B 3 vs 5 (-2): RMSE = sqrt(5 / 2), MAE = 1.5
    assert result.n_rating_pairs == 2
    assert result.metrics["rmse"] == pytest.approx(math.sqrt(2.5))
    assert result.metrics["mae"] == pytest.approx(1.5)
    assert result.n_test_pairs == 1  # only u2-B is relevant


def test_to_json_shape() -> None:
    result = evaluate(ItemMean(), TRAIN, TEST, ks=(10,))
    out = result.to_json()
    assert set(out) == {
        "model",
        "params",
        "metrics",
        "ci",
        "fit_seconds",
        "n_members",
        "n_test_pairs",
        "n_rating_pairs",
        "n_cold_members",
    }
    assert out["ci"]["ndcg@10"] == list(result.ci["ndcg@10"])
    json.dumps(out, allow_nan=False)
    assert isinstance(result, EvalResult)


class RecordingProgress:
    def __init__(self) -> None:
        self.tasks: list[tuple[str, float | None, float]] = []

    @contextmanager
    def task(self, description: str, total: float | None = None) -> Iterator[ProgressTask]:
        done = [0.0]

        class Task:
            def advance(self, n: float = 1) -> None:
                done[0] += n

        yield Task()
        self.tasks.append((description, total, done[0]))


def synthetic(n_members: int = 120, n_titles: int = 60, n_events: int = 2500, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    ev = pd.DataFrame(
        {
            "member_id": rng.integers(0, n_members, n_events),
            "title_id": rng.zipf(1.5, n_events) % n_titles,
            "timestamp": np.arange(n_events) + 1,
            "kind": "play",
            "fraction": rng.random(n_events),
        }
    )
    return Dataset.from_events(ev)


def test_popularity_end_to_end_batched() -> None:
    train, test = split_random(synthetic(), 0.2, seed=0)
    progress = RecordingProgress()

    class SmallBatches(Popularity):
        score_batch = 7

    result = evaluate(SmallBatches(), train, test, progress=progress)
    whole = evaluate(Popularity(), train, test)
    assert result.metrics == pytest.approx(whole.metrics)
    expected = [
        f"{n}@{k}"
        for k in (10, 20)
        for n in ("ndcg", "recall", "map", "mrr", "hitrate", "precision", "coverage", "novelty")
    ]
    assert list(result.metrics) == expected
    assert all(0 <= result.metrics[k] <= 1 for k in expected if not k.startswith("novelty"))
    assert result.metrics["recall@10"] <= result.metrics["recall@20"]
    assert ("evaluating", result.n_members, result.n_members) in progress.tasks
    assert result.fit_seconds >= 0


def test_evaluate_folds_averages() -> None:
    ds = synthetic(seed=1)
    folds = [split_random(ds, 0.2, seed=s) for s in range(3)]
    model = Popularity()
    res = evaluate_folds(model, folds, ks=(10,))
    assert len(res.folds) == 3
    for key in ("ndcg@10", "recall@10"):
        vals = [f.metrics[key] for f in res.folds]
        assert res.metrics[key] == pytest.approx(np.mean(vals))
        assert res.std[key] == pytest.approx(np.std(vals, ddof=1))
    out = res.to_json()
    assert out["n_folds"] == 3 and len(out["folds"]) == 3
    json.dumps(out, allow_nan=False)
    assert not hasattr(model, "history_")  # each fold fits a fresh copy


def test_the_seed_drives_the_bootstrap_intervals() -> None:
    """Pins evaluate's seed: the same seed gives the same intervals, another seed others (same metrics)."""
    train, test = split_random(synthetic(), 0.2, seed=0)
    a, b, c = (evaluate(Popularity(), train, test, ks=(10,), seed=s, n_resamples=200) for s in (0, 0, 1))
    assert a.ci == b.ci and a.metrics == c.metrics
    assert a.ci["ndcg@10"] != c.ci["ndcg@10"]


def test_evaluate_folds_passes_the_seed_to_each_folds_intervals() -> None:
    """Pins evaluate_folds' seed: each fold's intervals are evaluate's with that seed."""
    ds = synthetic(seed=1)
    folds = [split_random(ds, 0.2, seed=s) for s in range(2)]
    res = evaluate_folds(Popularity(), folds, ks=(10,), seed=1)
    for fold, (train, test) in zip(res.folds, folds, strict=True):
        assert fold.ci == evaluate(Popularity(), train, test, ks=(10,), seed=1).ci
    assert res.folds[0].ci != evaluate_folds(Popularity(), folds[:1], ks=(10,), seed=0).folds[0].ci


def test_evaluate_takes_a_dataset_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A folder from 'reelkit data demo' was refused, pointing to a --data option evaluate lacks."""
    import json

    from reelkit.testing.cli import run_cli

    assert (
        run_cli(capsys, "data", "demo", "-o", str(tmp_path / "demo"), "--members", "60", "--titles", "40")[0]
        == 0
    )
    code, out, err = run_cli(
        capsys, "evaluate", "--model", "popular", "--ratings", str(tmp_path / "demo"), "--json"
    )
    assert code == 0, err
    assert json.loads(out)["model"] == "popular"


def test_a_cutoff_past_the_padding_limit_is_refused_before_the_fit() -> None:
    """``--k 20000`` on a 4-title catalogue said "n=20000 is more titles ..." (a name the user never gave)
    after fitting the model."""
    model = Popularity()
    with pytest.raises(ConfigError, match=r"cutoff k=20000 is more than the 4 titles .*CLI --k"):
        evaluate(model, TRAIN, TEST, ks=(10, 20_000))
    assert not hasattr(model, "history_")  # refused before fitting
    assert evaluate(Popularity(), TRAIN, TEST, ks=(10_000,)).metrics["recall@10000"] == pytest.approx(0.75)


def test_cold_members_count_only_those_with_a_relevant_held_out_title() -> None:
    """Pins n_cold_members: a new member whose only test event is a thumbs-down is not a cold member."""
    ev = pd.DataFrame(
        {
            "member_id": ["u9", "u7", "u2"],
            "title_id": ["A", "C", "B"],
            "kind": ["rating", "thumb", "rating"],
            "value": [5.0, -1.0, 5.0],
        }
    )
    result = evaluate(FixedOrder(order=("A", "B", "C", "D")), TRAIN, Dataset.from_events(ev))
    assert result.n_cold_members == 1  # u9; u7 held out nothing it liked
