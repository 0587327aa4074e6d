"""Metrics: hand-computed examples (worked out in the comments) and property tests."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from reelkit.errors import ConfigError
from reelkit.evaluate.metrics import (
    bootstrap_ci,
    bootstrap_cis,
    coverage,
    hit_rate_at_k,
    mae,
    map_at_k,
    mrr_at_k,
    ndcg_at_k,
    novelty,
    precision_at_k,
    recall_at_k,
    rmse,
)

LOG2_3 = math.log2(3)
LOG2_5 = math.log2(5)


def truth_matrix(rel: list[list[int]], n_all: int) -> sp.csr_matrix:
    rows = [i for i, r in enumerate(rel) for _ in r]
    cols = [c for r in rel for c in r]
    return sp.csr_matrix((np.ones(len(cols), dtype=bool), (rows, cols)), shape=(len(rel), n_all))


# Member 0 is recommended [0, 1, 2, 3]; its relevant titles are {1, 3, 7}, where 7 was never seen in
# training (a column past the model's titles), so rel = [0, 1, 0, 1] and |R| = 3.
# Member 1 is recommended [4, 5] (then padding); its only relevant title 9 is not among them.
RECS = np.array([[0, 1, 2, 3], [4, 5, -1, -1]])
TRUTH = truth_matrix([[1, 3, 7], [9]], n_all=10)


def test_precision_hand_computed() -> None:
    # member 0: 2 hits / k=4 = 0.5; at k=2: 1 hit / 2 = 0.5; member 1: 0
    np.testing.assert_allclose(precision_at_k(RECS, TRUTH), [0.5, 0.0])
    np.testing.assert_allclose(precision_at_k(RECS, TRUTH, 2), [0.5, 0.0])
    # at k=1 member 0's first title (0) is not relevant: 0 / 1
    np.testing.assert_allclose(precision_at_k(RECS, TRUTH, 1), [0.0, 0.0])


def test_precision_divides_by_k_when_the_list_is_shorter() -> None:
    """precision@5 of a 2-title list with 2 hits is 2/5, not 2/2: it divides by k even when fewer."""
    np.testing.assert_allclose(precision_at_k(np.array([[0, 1]]), truth_matrix([[0, 1]], n_all=3), 5), [0.4])


def test_recall_hand_computed() -> None:
    # member 0: 2 hits / |R|=3 (the unseen title 7 counts in the denominator); at k=2: 1/3
    np.testing.assert_allclose(recall_at_k(RECS, TRUTH), [2 / 3, 0.0])
    np.testing.assert_allclose(recall_at_k(RECS, TRUTH, 2), [1 / 3, 0.0])


def test_hit_rate_hand_computed() -> None:
    # member 0 hits at rank 2, so hitrate@1 = 0 and hitrate@2 = 1; member 1 never hits
    np.testing.assert_allclose(hit_rate_at_k(RECS, TRUTH, 1), [0.0, 0.0])
    np.testing.assert_allclose(hit_rate_at_k(RECS, TRUTH, 2), [1.0, 0.0])


def test_mrr_hand_computed() -> None:
    # member 0's first relevant title is at rank 2: 1/2 at k >= 2, 0 at k = 1; member 1 never hits: 0;
    # a member with no relevant title: NaN (left out of the mean, as for recall)
    np.testing.assert_allclose(mrr_at_k(RECS, TRUTH), [0.5, 0.0])
    np.testing.assert_allclose(mrr_at_k(RECS, TRUTH, 1), [0.0, 0.0])
    both = mrr_at_k(np.array([[3, 1, 0], [2, 0, 1]]), truth_matrix([[1, 3], []], n_all=4))
    assert both[0] == 1.0 and np.isnan(both[1])


def test_ndcg_hand_computed() -> None:
    # member 0 at k=4: DCG = 1/log2(3) + 1/log2(5) = 0.63093 + 0.43068 = 1.06161
    #   IDCG over min(|R|=3, 4) = 3 ranks: 1 + 1/log2(3) + 1/log2(4) = 2.13093  ->  nDCG = 0.49819
    # at k=2: DCG = 1/log2(3) = 0.63093; IDCG over min(3, 2) = 2 ranks: 1 + 0.63093  ->  0.38685
    dcg4 = 1 / LOG2_3 + 1 / LOG2_5
    idcg4 = 1 + 1 / LOG2_3 + 0.5
    np.testing.assert_allclose(ndcg_at_k(RECS, TRUTH), [dcg4 / idcg4, 0.0])
    np.testing.assert_allclose(ndcg_at_k(RECS, TRUTH, 2), [(1 / LOG2_3) / (1 + 1 / LOG2_3), 0.0])
    assert ndcg_at_k(RECS, TRUTH)[0] == pytest.approx(0.49819, abs=1e-5)


def test_map_hand_computed() -> None:
    # member 0 at k=4: hits at ranks 2 and 4 with P@2 = 1/2, P@4 = 2/4; AP = (1/2 + 1/2) / min(3, 4) = 1/3
    # at k=2: only rank 2: AP = (1/2) / min(3, 2) = 1/4
    np.testing.assert_allclose(map_at_k(RECS, TRUTH), [1 / 3, 0.0])
    np.testing.assert_allclose(map_at_k(RECS, TRUTH, 2), [0.25, 0.0])


def test_ndcg_and_map_ideal_runs_to_k_past_a_short_list() -> None:
    """A 2-title list, both hits, |R| = 3, at k = 5: the ideal counts min(|R|, k) = 3 ranks, not the list's 2.
    nDCG = (1 + 1/log2 3) / (1 + 1/log2 3 + 1/2) = 0.76536 and AP = (1 + 1) / 3, not 1 for both."""
    recs, truth = np.array([[0, 1]]), truth_matrix([[0, 1, 2]], n_all=4)
    np.testing.assert_allclose(ndcg_at_k(recs, truth, 5), [(1 + 1 / LOG2_3) / (1.5 + 1 / LOG2_3)])
    assert ndcg_at_k(recs, truth, 5)[0] == pytest.approx(0.76536, abs=1e-5)
    np.testing.assert_allclose(map_at_k(recs, truth, 5), [2 / 3])


def test_member_without_relevant_titles_is_nan() -> None:
    recs = np.array([[0, 1]])
    empty = truth_matrix([[]], n_all=3)
    assert np.isnan(recall_at_k(recs, empty)[0])
    assert np.isnan(ndcg_at_k(recs, empty)[0])
    assert np.isnan(map_at_k(recs, empty)[0])
    assert hit_rate_at_k(recs, empty)[0] == 0.0


def test_explicit_zeros_and_dense_truth() -> None:
    # a stored 0 is not relevant; a dense 0/1 array works the same as a sparse matrix
    t = sp.csr_matrix((np.array([1.0, 0.0]), (np.array([0, 0]), np.array([1, 0]))), shape=(1, 3))
    np.testing.assert_allclose(recall_at_k(np.array([[0, 1]]), t, 1), [0.0])
    np.testing.assert_allclose(recall_at_k(np.array([[0, 1]]), t.toarray()), [1.0])


def test_duplicate_and_negative_truth_entries() -> None:
    """A title stored twice in a CSR row is one relevant title (|R| = 1, recall@1 of [[1]] is 1, not 1/2),
    and a stored negative value is non-zero, so relevant, as the module says."""
    dup = sp.csr_matrix((np.ones(2), np.array([1, 1]), np.array([0, 2])), shape=(1, 3))
    np.testing.assert_allclose(recall_at_k(np.array([[1]]), dup), [1.0])
    neg = sp.csr_matrix((np.array([-1.0]), (np.array([0]), np.array([2]))), shape=(1, 3))
    np.testing.assert_allclose(recall_at_k(np.array([[2]]), neg), [1.0])


def test_a_column_past_the_truth_is_no_hit_on_the_next_row() -> None:
    """Member 0's title 3, one past a 3-column truth, is no hit, not member 1's title 0 (row * 3 + 3)."""
    t = truth_matrix([[], [0]], n_all=3)
    np.testing.assert_allclose(precision_at_k(np.array([[3], [2]]), t), [0.0, 0.0])


def test_a_title_twice_in_a_list_is_an_error() -> None:
    """A title counted at two ranks gave recall@3 3.0, AP@3 3.0 and nDCG@3 2.13 for one relevant title;
    padding repeats and a repeat past the cut-off are fine."""
    truth = sp.csr_matrix(np.array([[0, 0, 0, 1], [0, 1, 0, 0]]))
    for metric in (precision_at_k, recall_at_k, ndcg_at_k, map_at_k, mrr_at_k, hit_rate_at_k):
        with pytest.raises(ConfigError, match="recs row 1 names a title twice in its top 3"):
            metric(np.array([[3, -1, -1], [0, 1, 1]]), truth)
    assert recall_at_k(np.array([[3, -1, -1, 2], [1, 0, 2, 1]]), truth, k=3).tolist() == [1.0, 1.0]


def test_shape_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="rows"):
        ndcg_at_k(np.zeros((3, 2), dtype=int), TRUTH)


def test_coverage_hand_computed() -> None:
    # recommended (any member): {0, 1, 2, 3, 4, 5} of 8 titles = 0.75; at k=1: {0, 4} -> 2/8
    assert coverage(RECS, 8) == pytest.approx(0.75)
    assert coverage(RECS, 8, k=1) == pytest.approx(0.25)


def test_coverage_ignores_titles_past_the_catalog() -> None:
    """A recommended column at or past ``n_titles`` is outside the catalog: [[0, 3]] over 3 titles is 1/3."""
    assert coverage(np.array([[0, 3, -1]]), 3) == pytest.approx(1 / 3)


def test_novelty_hand_computed() -> None:
    # p = [0.5, 0.25]: title 0 carries -log2(0.5) = 1 bit, title 1 carries 2 bits
    # member 0 gets [0, 1] -> (1 + 2) / 2 = 1.5; member 1 gets [1] (padding skipped) -> 2
    pop = np.array([0.5, 0.25])
    np.testing.assert_allclose(novelty(np.array([[0, 1], [1, -1]]), pop), [1.5, 2.0])
    np.testing.assert_allclose(novelty(np.array([[0, 1], [1, -1]]), pop, k=1), [1.0, 2.0])
    assert np.isnan(novelty(np.array([[-1, -1]]), pop)[0])
    with pytest.raises(ValueError, match="> 0"):
        novelty(np.array([[0]]), np.array([0.0]))


@pytest.mark.parametrize("k", [0, -1])
def test_coverage_and_novelty_refuse_a_cutoff_below_one_as_the_ranking_metrics_do(k: int) -> None:
    """k=0 gave coverage 0.0 and novelty NaN for everyone, and k=-1 measured all but the last slot
    (coverage of [[0, 1]] over 2 titles: 0.5), where nDCG and the others refuse such a cutoff."""
    from reelkit.errors import ConfigError

    recs = np.array([[0, 1], [1, 0]])
    with pytest.raises(ConfigError, match=f"k must be at least 1, got {k}"):
        ndcg_at_k(recs, np.eye(2), k=k)
    with pytest.raises(ConfigError, match=f"k must be at least 1, got {k}"):
        coverage(recs, 2, k=k)
    with pytest.raises(ConfigError, match=f"k must be at least 1, got {k}"):
        novelty(recs, np.array([0.5, 0.25]), k=k)
    # k=1 still works: titles 0 and 1 both lead a list (coverage 1); 1 bit and 2 bits
    assert coverage(recs, 2, k=1) == pytest.approx(1.0)
    np.testing.assert_allclose(novelty(recs, np.array([0.5, 0.25]), k=1), [1.0, 2.0])


def test_coverage_and_novelty_take_lists_with_no_slots_and_refuse_a_flat_list() -> None:
    """With no k given, every column counts, even none: lists with no slots (5 members, width 0) were
    refused "k must be at least 1, got 0" though no k was given; they recommend nothing: coverage 0, and
    novelty NaN per member (an empty list). A 1-d array raised a raw IndexError: it is refused as the
    ranking metrics refuse it."""
    from reelkit.errors import ConfigError

    assert coverage(np.zeros((5, 0), dtype=int), 10) == 0.0
    assert coverage(np.zeros((0, 0), dtype=int), 10) == 0.0
    got = novelty(np.zeros((3, 0), dtype=int), np.array([0.5, 0.25]))
    assert got.shape == (3,) and np.isnan(got).all()
    for flat in (np.array([1, 2, 3]), np.array(7)):
        with pytest.raises(ConfigError, match=r"recs must be a 2-d \(members, k\) array"):
            coverage(flat, 10)
        with pytest.raises(ConfigError, match=r"recs must be a 2-d \(members, k\) array"):
            novelty(flat, np.full(10, 0.5))
    # the ranking metrics still refuse lists with no slots: precision@0 has no meaning
    with pytest.raises(ConfigError, match="k must be at least 1, got 0"):
        ndcg_at_k(np.zeros((2, 0), dtype=int), np.eye(2))


def test_rmse_mae_hand_computed() -> None:
    # errors -1, 0, +2: MSE = (1 + 0 + 4) / 3 = 5/3 -> RMSE = 1.29099; MAE = (1 + 0 + 2) / 3 = 1
    p, a = np.array([3.0, 4.0, 5.0]), np.array([4.0, 4.0, 3.0])
    assert rmse(p, a) == pytest.approx(math.sqrt(5 / 3))
    assert mae(p, a) == pytest.approx(1.0)
    assert math.isnan(rmse(np.array([]), np.array([])))
    with pytest.raises(ValueError):
        rmse(np.array([1.0]), np.array([1.0, 2.0]))


def test_bootstrap_ci_basic() -> None:
    # constant values: every resample mean is the value itself
    assert bootstrap_ci(np.full(50, 0.3)) == pytest.approx((0.3, 0.3))
    # NaNs are dropped; no values at all gives (nan, nan)
    assert bootstrap_ci(np.array([1.0, np.nan])) == pytest.approx((1.0, 1.0))
    lo, hi = bootstrap_ci(np.array([np.nan]))
    assert math.isnan(lo) and math.isnan(hi)
    # dropped before resampling: the interval is the one of the defined values alone, for the same seed
    mixed = np.array([0.0, np.nan, 1.0, np.nan, 0.5, 0.2, np.nan, 0.9])
    assert bootstrap_ci(mixed, seed=5) == bootstrap_ci(mixed[~np.isnan(mixed)], seed=5)
    # deterministic by seed; wider at higher confidence; about +-1.96 * sd / sqrt(n) for n = 400
    v = np.random.default_rng(1).normal(size=400)
    assert bootstrap_ci(v, seed=3) == bootstrap_ci(v, seed=3)
    lo95, hi95 = bootstrap_ci(v)
    lo50, hi50 = bootstrap_ci(v, confidence=0.5)
    assert lo95 < lo50 < hi50 < hi95
    half = 1.96 * v.std() / math.sqrt(len(v))
    assert (hi95 - lo95) / 2 == pytest.approx(half, rel=0.15)
    # chunked resampling (many resamples of many members) gives the same kind of interval
    lo_big, hi_big = bootstrap_ci(np.tile(v, 50), n_resamples=300)
    assert lo_big < v.mean() < hi_big


def test_bootstrap_ci_is_the_two_sided_percentile_interval() -> None:
    """The 95% interval is the 2.5% and 97.5% quantiles of the resample means (not 5%/95% or 1.25%/98.75%).

    The resamples are rebuilt as the function draws them (one default_rng(seed) call for all 1000 x n).
    """
    v = np.random.default_rng(1).normal(size=40)
    idx = np.random.default_rng(0).integers(0, len(v), size=(1000, len(v)))
    means = v[idx].mean(axis=1)
    for conf, q in ((0.95, [0.025, 0.975]), (0.8, [0.1, 0.9])):
        np.testing.assert_allclose(bootstrap_ci(v, confidence=conf), np.quantile(means, q), rtol=1e-12)


# ----------------------------------------------------------------------------- property tests
Case = tuple[np.ndarray, sp.csr_matrix, int]


@st.composite
def ranking_case(draw: st.DrawFn) -> Case:
    """Random recs (distinct titles per row, -1 padded) over n_model titles, and truth over n_all >= n_model
    titles with at least one relevant title per member."""
    m = draw(st.integers(1, 6))
    n_model = draw(st.integers(1, 12))
    n_all = n_model + draw(st.integers(0, 4))
    k = draw(st.integers(1, 8))
    recs = np.full((m, k), -1, dtype=np.int64)
    rel: list[list[int]] = []
    for i in range(m):
        row = draw(st.lists(st.integers(0, n_model - 1), unique=True, max_size=min(k, n_model)))
        recs[i, : len(row)] = row
        rel.append(draw(st.lists(st.integers(0, n_all - 1), unique=True, min_size=1, max_size=n_all)))
    return recs, truth_matrix(rel, n_all), k


def reference(recs: np.ndarray, truth: sp.csr_matrix, k: int) -> dict[str, list[float]]:
    """Plain-Python metrics, straight from the definitions."""
    out: dict[str, list[float]] = {"ndcg": [], "recall": [], "map": [], "precision": [], "hitrate": []}
    for i in range(recs.shape[0]):
        rel = set(truth[i].indices.tolist())
        top = [int(c) for c in recs[i, :k]]
        gains = [1.0 if c >= 0 and c in rel else 0.0 for c in top]
        hits = sum(gains)
        dcg = sum(g / math.log2(r + 2) for r, g in enumerate(gains))
        idcg = sum(1 / math.log2(r + 2) for r in range(min(len(rel), k)))
        ap = sum(sum(gains[: r + 1]) / (r + 1) * g for r, g in enumerate(gains)) / min(len(rel), k)
        out["ndcg"].append(dcg / idcg)
        out["recall"].append(hits / len(rel))
        out["map"].append(ap)
        out["precision"].append(hits / k)
        out["hitrate"].append(float(hits > 0))
    return out


FUNCS = {
    "ndcg": ndcg_at_k,
    "recall": recall_at_k,
    "map": map_at_k,
    "precision": precision_at_k,
    "hitrate": hit_rate_at_k,
}


@settings(max_examples=60, deadline=None)
@given(ranking_case())
def test_metrics_match_reference_and_lie_in_unit_interval(case: Case) -> None:
    recs, truth, k = case
    ref = reference(recs, truth, k)
    for name, fn in FUNCS.items():
        got = fn(recs, truth, k)
        assert np.all((got >= 0) & (got <= 1 + 1e-12)), name
        np.testing.assert_allclose(got, ref[name], atol=1e-12, err_msg=name)


@settings(max_examples=40, deadline=None)
@given(ranking_case())
def test_recall_and_hitrate_monotone_in_k(case: Case) -> None:
    recs, truth, k = case
    for kk in range(1, k):
        assert np.all(recall_at_k(recs, truth, kk) <= recall_at_k(recs, truth, kk + 1) + 1e-12)
        assert np.all(hit_rate_at_k(recs, truth, kk) <= hit_rate_at_k(recs, truth, kk + 1))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 15), unique=True, min_size=1, max_size=8), min_size=1, max_size=5),
    st.integers(1, 10),
)
def test_perfect_ranking_scores_one(rel: list[list[int]], k: int) -> None:
    # every relevant title first, then filler titles 100+ that are not relevant
    recs = np.array([(r + list(range(100, 100 + k)))[:k] for r in rel])
    truth = truth_matrix(rel, 120)
    np.testing.assert_allclose(ndcg_at_k(recs, truth, k), 1.0)
    np.testing.assert_allclose(map_at_k(recs, truth, k), 1.0)
    np.testing.assert_allclose(hit_rate_at_k(recs, truth, k), 1.0)
    expected_recall = [min(len(r), k) / len(r) for r in rel]
    np.testing.assert_allclose(recall_at_k(recs, truth, k), expected_recall)


@settings(max_examples=40, deadline=None)
@given(ranking_case())
def test_no_hits_scores_zero(case: Case) -> None:
    recs, truth, k = case
    # recommend only titles past every relevant column
    far = np.where(recs >= 0, recs + truth.shape[1], -1)
    m, n_all = truth.shape
    wide = sp.csr_matrix((truth.data, truth.indices, truth.indptr), shape=(m, 2 * n_all))
    for fn in FUNCS.values():
        np.testing.assert_array_equal(fn(far, wide, k), 0.0)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=60),
    st.integers(0, 2**16),
)
def test_bootstrap_ci_contains_the_mean(values: list[float], seed: int) -> None:
    v = np.asarray(values)
    lo, hi = bootstrap_ci(v, n_resamples=200, seed=seed)
    assert lo - 1e-9 <= v.mean() <= hi + 1e-9
    assert lo <= hi


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-10, 10), st.floats(-10, 10)), min_size=1, max_size=30))
def test_rmse_at_least_mae(pairs: list[tuple[float, float]]) -> None:
    p = np.array([a for a, _ in pairs])
    a = np.array([b for _, b in pairs])
    assert rmse(p, a) >= mae(p, a) - 1e-12
    assert mae(p, a) >= 0


def test_bootstrap_cis_is_paired_and_handles_nan_series() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.random(200), rng.random(200)
    both = bootstrap_cis(np.vstack([a, b, np.full(200, np.nan)]), n_resamples=300, seed=4)
    # the first series sees exactly the resamples that bootstrap_ci draws with the same seed
    assert tuple(both[0]) == pytest.approx(bootstrap_ci(a, n_resamples=300, seed=4))
    assert both[1, 0] < b.mean() < both[1, 1]
    assert np.isnan(both[2]).all()


def test_bootstrap_cis_averages_a_series_over_its_defined_members_only() -> None:
    """A series defined on half the members (1.0 there, NaN elsewhere) has every resample mean 1.0, so its
    interval is (1, 1): the NaNs are neither counted as 0 nor in the denominator."""
    half = np.where(np.arange(40) % 2 == 0, 1.0, np.nan)
    both = bootstrap_cis(np.vstack([np.full(40, 0.5), half]), n_resamples=200, seed=2)
    np.testing.assert_allclose(both, [[0.5, 0.5], [1.0, 1.0]])


def test_bad_arguments_raise_reelkits_config_error() -> None:
    """They were bare ValueErrors, outside reelkit's exception tree (errors.py promises every error raised
    on purpose derives from ReelkitError); ConfigError is a ValueError too, so callers catching that still
    do. A subtitle file's with_times was the same."""
    from reelkit.errors import ConfigError, ReelkitError
    from reelkit.post.subs.io import Cue, SubtitleFile

    one = np.array([[1, 2]])
    cases = [
        (lambda: ndcg_at_k(one, [[1]], k=0), "k must be at least 1, got 0"),
        (lambda: ndcg_at_k(np.array([1, 2]), [[1]]), r"recs must be a 2-d \(members, k\) array"),
        (lambda: ndcg_at_k(np.zeros((3, 2), dtype=int), TRUTH), "recs has 3 rows but truth has 2"),
        (lambda: coverage(one, 0), "n_titles must be at least 1, got 0"),
        (lambda: novelty(np.array([[0]]), np.array([0.0])), "item_popularity must be > 0"),
        (lambda: rmse(np.array([1.0]), np.array([1.0, 2.0])), "predicted has 1 values but actual has 2"),
        (lambda: bootstrap_ci(np.ones(4), confidence=1.5), r"confidence must be in \(0, 1\), got 1.5"),
        (lambda: bootstrap_ci(np.ones(4), n_resamples=0), "n_resamples must be at least 1, got 0"),
        (
            lambda: SubtitleFile([Cue(0, 1.0, 2.0, "hi")], "srt").with_times([]),
            r"0 \(start, end\) pairs for 1 cues",
        ),
    ]
    for call, message in cases:
        with pytest.raises(ConfigError, match=message) as info:
            call()
        assert isinstance(info.value, ReelkitError) and isinstance(info.value, ValueError)
