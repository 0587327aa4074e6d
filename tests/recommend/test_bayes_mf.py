"""Known-answer, determinism, round-trip and fallback tests of the Bayesian factorisation (``bmf``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from reelkit.data.dataset import Dataset, Interactions
from reelkit.errors import ConfigError, EmptyDataError
from reelkit.progress import ProgressTask
from reelkit.recommend.base import load_model
from reelkit.recommend.bayes_mf import BayesianMF
from reelkit.recommend.blend import Blend
from reelkit.recommend.ease import EASE

FAST = {"rank": 4, "n_iter": 40, "burn_in": 5}


def make_interactions(
    rows: np.ndarray,
    cols: np.ndarray,
    ratings: np.ndarray,
    shape: tuple[int, int],
    scale: tuple[float, float] = (1.0, 5.0),
) -> Interactions:
    """Interactions over ``shape`` members x titles; NaN ratings are unrated interactions (e.g. plays)."""
    order = np.lexsort((cols, rows))
    rows, cols, ratings = rows[order], cols[order], ratings[order]
    title_ids = np.asarray([f"t{j}" for j in range(shape[1])])
    return Interactions(
        member_ids=np.asarray([f"m{i}" for i in range(shape[0])]),
        title_ids=title_ids,
        rows=rows.astype(np.int32),
        cols=cols.astype(np.int32),
        weight=np.ones(len(rows), dtype=np.float32),
        rating=ratings.astype(np.float32),
        timestamp=np.zeros(len(rows), dtype=np.int64),
        titles=pd.DataFrame(index=pd.Index(title_ids, name="title_id")),
        rating_scale=scale,
    )


def planted(
    n_members: int = 80, n_titles: int = 50, noise: float = 0.1, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, Interactions]:
    """Global mean + member and title biases + a rank-2 interaction, half observed with Gaussian noise.

    Returns the noiseless truth, the observed mask and the training interactions (scale wide enough that
    clipping never bites)."""
    rng = np.random.default_rng(seed)
    truth = (
        3.0
        + rng.normal(0, 0.4, (n_members, 1))
        + rng.normal(0, 0.4, (1, n_titles))
        + rng.normal(0, 0.6, (n_members, 2)) @ rng.normal(0, 0.6, (2, n_titles))
    )
    observed = rng.random(truth.shape) < 0.5
    rows, cols = np.nonzero(observed)
    noisy = truth[rows, cols] + rng.normal(0, noise, rows.shape[0])
    return truth, observed, make_interactions(rows, cols, noisy, truth.shape, scale=(-10.0, 20.0))


@pytest.fixture(scope="module")
def ml_like() -> Interactions:
    """Small 1-5 star data with taste structure (the conformance kit's generator)."""
    from reelkit.testing import synthetic_dataset

    return synthetic_dataset(n_members=60, n_titles=40, seed=3).interactions()


# ------------------------------------------------------------------------------------------ known answers
@pytest.mark.parametrize("implicit", ["none", "member", "both"])
def test_recovers_planted_low_rank_matrix(implicit: str) -> None:
    truth, observed, inter = planted()
    model = BayesianMF(rank=4, n_iter=60, burn_in=5, implicit=implicit).fit(inter)
    held_r, held_c = np.nonzero(~observed)
    err = model._predict(held_r, held_c) - truth[held_r, held_c]
    rmse = float(np.sqrt(np.mean(err**2)))
    # the noise is 0.1 and a bias-only model is off by ~0.52 on these held-out cells
    assert rmse < 0.09, f"held-out RMSE against the planted matrix {rmse:.3f}"
    # the learned noise precision is about 1 / 0.1^2
    assert 50.0 < model.noise_prec_ < 200.0


def test_global_mean_and_biases_of_an_additive_matrix() -> None:
    """With ratings = 3 + member bias + title bias (no noise to speak of), bias-only prediction is exact."""
    rng = np.random.default_rng(1)
    bu, bt = rng.normal(0, 0.5, 30), rng.normal(0, 0.5, 20)
    rows, cols = np.nonzero(rng.random((30, 20)) < 0.7)
    values = 3.0 + bu[rows] + bt[cols] + rng.normal(0, 0.01, rows.shape[0])
    model = BayesianMF(rank=2, n_iter=60, burn_in=10, implicit="none").fit(
        make_interactions(rows, cols, values, (30, 20), scale=(0.0, 6.0))
    )
    all_r, all_c = np.divmod(np.arange(600), 20)
    err = model._predict(all_r, all_c) - (3.0 + bu[all_r] + bt[all_c])
    assert float(np.sqrt(np.mean(err**2))) < 0.05


# ------------------------------------------------------------------------------------------ contract details
def test_deterministic_given_seed(ml_like: Interactions) -> None:
    a = BayesianMF(**FAST, seed=5).fit(ml_like)
    b = BayesianMF(**FAST, seed=5).fit(ml_like)
    c = BayesianMF(**FAST, seed=6).fit(ml_like)
    rows, cols = np.divmod(np.arange(ml_like.n_members * ml_like.n_titles), ml_like.n_titles)
    np.testing.assert_array_equal(a._predict(rows, cols), b._predict(rows, cols))
    assert not np.array_equal(a._predict(rows, cols), c._predict(rows, cols))


def test_save_load_identical(ml_like: Interactions, tmp_path: Path) -> None:
    model = BayesianMF(**FAST).fit(ml_like)
    loaded = load_model(model.save(tmp_path / "bmf.npz"))
    assert isinstance(loaded, BayesianMF)
    members = [*ml_like.member_ids[:10], "nobody"]
    titles = [*ml_like.title_ids[:10], "nothing"]
    np.testing.assert_array_equal(loaded.predict(members, titles), model.predict(members, titles))
    np.testing.assert_array_equal(loaded.score_rows(np.arange(8)), model.score_rows(np.arange(8)))
    history = [{str(ml_like.title_ids[0]): 5.0, str(ml_like.title_ids[3]): 2.0}]
    np.testing.assert_array_equal(
        loaded.recommend_history(history, 5).scores, model.recommend_history(history, 5).scores
    )


def test_predictions_within_the_rating_scale() -> None:
    # one member rates everything 5, another everything 1: raw predictions overshoot the scale
    rng = np.random.default_rng(2)
    rows, cols = np.nonzero(rng.random((40, 30)) < 0.5)
    values = np.where(rows == 0, 5.0, np.where(rows == 1, 1.0, rng.integers(1, 6, rows.shape[0])))
    values = np.round(values * 2) / 2 / 5 * 4.5 + 0.5  # half stars 0.5 .. 5
    inter = make_interactions(rows, cols, values, (40, 30), scale=(0.5, 5.0))
    model = BayesianMF(**FAST).fit(inter)
    all_r, all_c = np.divmod(np.arange(40 * 30), 30)
    pred = model._predict(np.r_[all_r, -1, 0, -1], np.r_[all_c, 0, -1, -1])
    assert np.all(np.isfinite(pred))
    assert pred.min() >= 0.5 and pred.max() <= 5.0


def _random_stars(seed: int) -> BayesianMF:
    """BMF fitted on 20 members x 15 titles, half of the pairs rated 1-5 stars at random."""
    rng = np.random.default_rng(seed)
    rows, cols = np.nonzero(rng.random((20, 15)) < 0.5)
    return BayesianMF(**FAST).fit(
        make_interactions(rows, cols, rng.integers(1, 6, rows.shape[0]) * 1.0, (20, 15))
    )


def test_predictions_are_the_raw_scores_clipped_to_the_scale() -> None:
    """predict is clip(mu + b_u + c_i + <p_u, q_i>, lo, hi): the unclipped scores, shifted 3 stars up and
    down so that they overshoot both ends, come back as the clipped values."""
    model = _random_stars(2)
    all_r, all_c = np.divmod(np.arange(20 * 15), 15)
    raw = model.score_rows(np.arange(20)).astype(np.float64)[all_r, all_c]
    for shift in (3.0, -3.0):
        model.mu_ += shift
        np.testing.assert_allclose(model._predict(all_r, all_c), np.clip(raw + shift, 1.0, 5.0), atol=1e-5)
        assert ((raw + shift > 5.0) | (raw + shift < 1.0)).mean() > 0.5  # the clip bites
        model.mu_ -= shift


def test_an_unknown_title_is_predicted_with_the_mean_title() -> None:
    """An unknown title gets the mean of the titles' (bias, vector): mu + b_u + mean(c) + <p_u, mean(q)>."""
    model = _random_stars(4)
    mean_title = model.item_factors_.mean(axis=0)
    u = model.user_factors_
    expected = model.mu_ + u[:, 0] + mean_title[0] + u[:, 1:] @ mean_title[1:]
    got = model._predict(np.arange(20), np.full(20, -1))
    np.testing.assert_allclose(got, np.clip(expected, 1.0, 5.0), rtol=1e-6)


def test_fold_in_of_an_unrated_history_is_the_prior_plus_its_scaled_implicit_sum() -> None:
    """With no ratings the direct part is the prior mean; the implicit part is |N(u)|^-1/2 * sum of y_j:
    four titles seen give prior_mean + (y_0 + y_1 + y_2 + y_3) / 2."""
    model = _random_stars(5)
    hist = sp.csr_matrix((np.ones(4), ([0, 0, 0, 0], [0, 1, 2, 3])), shape=(1, 15))
    got = model._fold_in(hist, sp.csr_matrix((1, 15)))[0]
    expected = model.prior_mean_ + model.implicit_factors_[:4].sum(axis=0) / 2.0
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-12)


def test_a_history_rating_off_the_trained_scale_is_refused_where_the_scale_is_known() -> None:
    """The fold-in reads a rating as it is: 50 on a 1-5 scale predicted 33 stars, -40 a negative rating.
    A model trained without ratings has only a default scale, and a top-n model clips a rating into a
    weight: both take any finite rating, as before."""
    model = _random_stars(5)
    assert model.explicit_rating_scale == (1.0, 5.0)
    for rating, shown in ((50.0, "50"), (-40.0, "-40"), (5.0001, "5.0001")):
        message = f"history 1: t2={shown} is outside the model's rating scale 1-5"
        with pytest.raises(ConfigError, match=message):
            model.recommend_history([{"t0": 5.0}, {"t1": 1.0, "t2": rating}], 3)
    ok = model.recommend_history([{"t0": 1.0, "t1": 5.0, "t2": float("nan")}, ["t3"]], 3)
    assert ok.lengths.tolist() == [3, 3]
    rows, cols = np.nonzero(np.random.default_rng(0).random((20, 15)) < 0.5)
    unrated = make_interactions(rows, cols, np.full(rows.shape[0], np.nan), (20, 15))
    plays_only = EASE(regularization=10.0).fit(unrated)
    assert plays_only.explicit_rating_scale is None
    assert plays_only.recommend_history([{"t0": 50.0}], 3).lengths.tolist() == [3]
    stars = make_interactions(rows, cols, 1.0 + rows % 5, (20, 15))
    assert EASE(regularization=10.0).fit(stars).recommend_history([{"t0": 50.0}], 3).lengths.tolist() == [3]
    # a blend reads ratings as they are through its Bayesian MF, and only then
    for bmf_weight, refused in ((0.3, True), (0.0, False)):
        blend = Blend(**{**Blend.fast_params, "bmf_weight": bmf_weight}).fit(stars)
        assert (blend.explicit_rating_scale == (1.0, 5.0)) is refused
        if refused:
            with pytest.raises(ConfigError, match="t0=50 is outside the model's rating scale 1-5"):
                blend.recommend_history([{"t0": 50.0}], 3)
        else:
            assert blend.recommend_history([{"t0": 50.0}], 3).lengths.tolist() == [3]


def test_similar_titles_are_the_cosine_of_the_title_vectors_without_their_biases() -> None:
    """BMF's similar titles are cos(q_i, q_j) of the posterior-mean vectors; the bias c_i takes no part."""
    model = _random_stars(6)
    q = model.item_factors_[:, 1:]
    expected = (q[:3] @ q.T) / np.linalg.norm(q[:3], axis=1)[:, None] / np.linalg.norm(q, axis=1)[None, :]
    np.testing.assert_allclose(model._similar(np.arange(3)), expected, rtol=1e-5, atol=1e-6)


def test_unknown_member_and_title_fall_back(ml_like: Interactions) -> None:
    model = BayesianMF(**FAST).fit(ml_like)
    titles = list(ml_like.title_ids[:6])
    # an unknown member gets what an empty fold-in gives: the prior member
    empty = sp.csr_matrix((1, ml_like.n_titles), dtype=np.float32)
    cold = model.score_rows(np.array([-1]), empty, empty)[0, :6]
    np.testing.assert_allclose(model.predict(["nobody"] * 6, titles), np.clip(cold, 1, 5), rtol=1e-6)
    # ... which ranks titles by their biases, close to the global mean on average
    assert abs(float(np.mean(model.predict(["nobody"] * 40, ml_like.title_ids))) - model.mu_) < 0.5
    # an unknown title gets the known member's bias: same for every unknown title, differs across members
    members = list(ml_like.member_ids[:5])
    unknown_title = model.predict(members, ["x"] * 5)
    np.testing.assert_array_equal(unknown_title, model.predict(members, ["y"] * 5))
    assert np.unique(unknown_title).size > 1
    both = model.predict(["nobody", "nobody2"], ["x", "y"])
    assert both[0] == both[1] and np.isfinite(both[0])


def test_foldin_of_training_members_matches_learned_scores(ml_like: Interactions) -> None:
    model = BayesianMF(rank=8, n_iter=60, burn_in=5).fit(ml_like)
    rows = np.arange(20)
    learned = model.score_rows(rows)
    folded = model.score_rows(np.full(20, -1), model.history_[rows], model.ratings_[rows])
    for i in range(20):
        ranks_l = np.argsort(np.argsort(learned[i]))
        ranks_f = np.argsort(np.argsort(folded[i]))
        rho = np.corrcoef(ranks_l, ranks_f)[0, 1]
        assert rho > 0.9, f"member {i}: rank correlation {rho:.3f}"


def test_unrated_interactions_feed_the_implicit_terms() -> None:
    """A member with plays but no ratings is described by what they played (SVD++), not by the prior."""
    *_, inter = planted(seed=4)
    extra_rows = np.zeros(10, dtype=np.int32) + inter.n_members  # a new member with 10 plays, no rating
    n_m = inter.n_members + 1
    data = make_interactions(
        np.r_[inter.rows, extra_rows],
        np.r_[inter.cols, np.arange(10)],
        np.r_[inter.rating, np.full(10, np.nan)],
        (n_m, inter.n_titles),
        scale=inter.rating_scale,
    )
    model = BayesianMF(**FAST, implicit="member").fit(data)
    assert not np.allclose(model.user_factors_[-1], model.prior_mean_)
    plain = BayesianMF(**FAST, implicit="none").fit(data)
    np.testing.assert_allclose(plain.user_factors_[-1, 0], plain.prior_mean_[0], atol=0.3)


def test_similar_titles_use_factor_cosine(ml_like: Interactions) -> None:
    model = BayesianMF(**FAST).fit(ml_like)
    sims = model._similar(np.arange(5))
    assert sims.shape == (5, ml_like.n_titles)
    np.testing.assert_allclose(sims[np.arange(5), np.arange(5)], 1.0, rtol=1e-5)
    assert np.all(np.abs(sims) <= 1.0 + 1e-5)


class _CountingProgress:
    def __init__(self) -> None:
        self.calls: list[tuple[str, float | None]] = []
        self.advanced = 0.0

    @contextmanager
    def task(self, description: str, total: float | None = None) -> Iterator[ProgressTask]:
        self.calls.append((description, total))
        outer = self

        class _Task:
            def advance(self, n: float = 1) -> None:
                outer.advanced += n

        yield _Task()


def test_reports_progress(ml_like: Interactions) -> None:
    progress = _CountingProgress()
    BayesianMF(rank=2, n_iter=12, burn_in=2).fit(ml_like, progress=progress)
    assert progress.calls == [("sampling", 12)]
    assert progress.advanced == 12


def test_invalid_config_and_data() -> None:
    with pytest.raises(ConfigError, match="burn_in"):
        BayesianMF(n_iter=10, burn_in=10)
    with pytest.raises(ConfigError):
        BayesianMF(rank=0)
    with pytest.raises(ConfigError):
        BayesianMF(implicit="sometimes")
    plays = pd.DataFrame({"member_id": ["a", "b"], "title_id": ["x", "y"], "kind": ["play", "play"]})
    with pytest.raises(EmptyDataError, match="no explicit ratings"):
        BayesianMF(**FAST).fit(Dataset.from_events(plays))


def test_member_side_implicit_terms_are_learnt_only_when_asked() -> None:
    """implicit="member" (SVD++'s member side) fitted as plain biased MF passed every test: its implicit
    factors must be learnt (not all zero), and its predictions differ from implicit="none"'s."""
    from reelkit.testing import synthetic_dataset

    inter = synthetic_dataset(n_members=60, n_titles=40, seed=3).interactions()
    member = BayesianMF(rank=2, n_iter=20, burn_in=5, implicit="member").fit(inter)
    none = BayesianMF(rank=2, n_iter=20, burn_in=5, implicit="none").fit(inter)
    assert np.abs(member.implicit_factors_).max() > 0.1 and not np.abs(none.implicit_factors_).any()
    assert not np.allclose(member.item_factors_, none.item_factors_)


def test_the_hyperprior_draw_is_libfms_normal_gamma() -> None:
    """libFM's normal-gamma hyperprior (alpha_0 = beta_0 = gamma_0 = 1, mu_0 = 0) for a block theta (k x n)
    with the current mean m: precision ~ Gamma((n + 2) / 2, scale 2 / (1 + sum (theta - m)^2 + m^2)), then
    mean ~ N(sum theta / (n + 1), 1 / ((n + 1) precision)). A shape of (n + 1) / 2, or the sum without the
    m^2 of gamma_0, moved every score a little and passed every test."""
    from types import SimpleNamespace

    from reelkit.recommend.bayes_mf import _Sampler

    theta = np.array([[0.2, -0.4, 1.1], [0.7, 0.0, -0.3]])
    m_old = np.array([0.5, -1.0])
    state = SimpleNamespace(hyper={"P": (m_old, np.ones(2))}, rng=np.random.default_rng(0), k=2)
    _Sampler._sample_hyper(state, "P", theta)  # type: ignore[arg-type]
    rng, n = np.random.default_rng(0), 3
    sq = ((theta - m_old[:, None]) ** 2).sum(axis=1) + m_old**2
    lam = rng.gamma((n + 2) / 2, 2 / (1 + sq))
    mean = theta.sum(axis=1) / (n + 1) + rng.standard_normal(2) / np.sqrt((n + 1) * lam)
    got_mean, got_lam = state.hyper["P"]
    assert got_lam == pytest.approx(lam, rel=1e-12) and got_mean == pytest.approx(mean, rel=1e-12)
