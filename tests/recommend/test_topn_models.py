"""Known-answer, round-trip and determinism tests of the top-N models (EASE, ItemKNN, RP3beta, ALS)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from reelkit.data.dataset import Interactions
from reelkit.errors import ConfigError
from reelkit.recommend.als import ALS
from reelkit.recommend.base import Recommender, load_model, top_k
from reelkit.recommend.ease import EASE, SessionEASE, add_session_gram
from reelkit.recommend.itemknn import ItemKNN
from reelkit.recommend.rp3beta import RP3beta


def make_interactions(matrix: np.ndarray) -> Interactions:
    """Interactions whose ``weight`` matrix is ``matrix`` (members x titles, zeros = no interaction)."""
    m = np.asarray(matrix, dtype=np.float32)
    rows, cols = np.nonzero(m)
    title_ids = np.asarray([f"t{j}" for j in range(m.shape[1])])
    return Interactions(
        member_ids=np.asarray([f"m{i}" for i in range(m.shape[0])]),
        title_ids=title_ids,
        rows=rows.astype(np.int32),
        cols=cols.astype(np.int32),
        weight=m[rows, cols],
        rating=np.full(len(rows), np.nan, dtype=np.float32),
        timestamp=np.zeros(len(rows), dtype=np.int64),
        titles=pd.DataFrame(index=pd.Index(title_ids, name="title_id")),
    )


#: 6 members x 5 titles, binary.
SMALL = np.array(
    [
        [1, 1, 0, 0, 1],
        [1, 0, 1, 0, 0],
        [0, 1, 1, 1, 0],
        [1, 1, 1, 0, 0],
        [0, 0, 1, 1, 1],
        [1, 0, 0, 1, 0],
    ],
    dtype=np.float32,
)


def synthetic(n_members: int = 120, n_titles: int = 60, seed: int = 7) -> np.ndarray:
    """A low-rank implicit matrix with weights in [1, 2] (like rated MovieLens)."""
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(n_members, 4))
    v = rng.normal(size=(n_titles, 4))
    logits = u @ v.T - 1.5
    seen = rng.random(logits.shape) < 1 / (1 + np.exp(-logits))
    weights = 1.0 + rng.integers(0, 5, size=logits.shape) / 4.0
    out = np.where(seen, weights, 0.0).astype(np.float32)
    out[np.arange(n_members), rng.integers(0, n_titles, n_members)] = 1.0  # nobody empty
    return out


# ------------------------------------------------------------------------------------------------ EASE
def test_ease_matches_per_column_constrained_ridge() -> None:
    lam = 2.0
    model = EASE(regularization=lam).fit(make_interactions(SMALL))
    x = SMALL.astype(np.float64)
    n = x.shape[1]
    expected = np.zeros((n, n))
    for j in range(n):
        # B[:, j] = argmin |x_j - X_{-j} b|^2 + lam |b|^2 with b_j = 0 (EASE's definition, solved directly)
        others = [i for i in range(n) if i != j]
        xo = x[:, others]
        expected[others, j] = np.linalg.solve(xo.T @ xo + lam * np.eye(n - 1), xo.T @ x[:, j])
    np.testing.assert_allclose(model.weights_, expected, rtol=1e-5, atol=1e-6)
    assert np.all(np.diag(model.weights_) == 0)
    np.testing.assert_allclose(model.score_rows(np.arange(6)), x @ expected, rtol=1e-5, atol=1e-6)


def test_ease_float32_and_float64_agree() -> None:
    inter = make_interactions(synthetic())
    b64 = EASE(regularization=5.0, precision="float64").fit(inter).weights_
    b32 = EASE(regularization=5.0, precision="float32").fit(inter).weights_
    np.testing.assert_allclose(b32, b64, atol=1e-4)


def test_ease_auto_precision_is_float64_for_a_small_catalog() -> None:
    """Pins precision=auto under 4,000 titles: the very weights of float64 (float32's differ in low bits)."""
    inter = make_interactions(synthetic())
    auto = EASE(regularization=5.0).fit(inter).weights_
    assert np.array_equal(auto, EASE(regularization=5.0, precision="float64").fit(inter).weights_)
    assert not np.array_equal(auto, EASE(regularization=5.0, precision="float32").fit(inter).weights_)


def _ease_by_inverse(x: np.ndarray, lam: float) -> np.ndarray:
    """EASE's closed form with numpy's inverse: B = -P / diag(P) by column, diagonal 0."""
    p = np.linalg.inv(x.T @ x + lam * np.eye(x.shape[1]))
    b = -p / np.diag(p)[None, :]
    np.fill_diagonal(b, 0.0)
    return b


def test_ease_weights_past_one_symmetrising_block() -> None:
    """Pins the weights of 600 titles, where the inverse is made symmetric in blocks of 512 rows."""
    rng = np.random.default_rng(3)
    x = (rng.random((300, 600)) < 0.05).astype(np.float64)
    x[np.arange(300), rng.integers(0, 600, 300)] = 1.0
    model = EASE(regularization=10.0, precision="float64").fit(make_interactions(x))
    np.testing.assert_allclose(model.weights_, _ease_by_inverse(x, 10.0), rtol=1e-4, atol=1e-6)


def test_ease_gram_built_in_column_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pins the Gram matrix built a block of columns at a time (over ~2,800 titles it takes several)."""
    import functools

    import reelkit.recommend.ease as ease

    monkeypatch.setattr(ease, "_gram", functools.partial(ease._gram, cells=10))  # 10 // 5 titles = 2 columns
    model = EASE(regularization=2.0).fit(make_interactions(SMALL))
    np.testing.assert_allclose(
        model.weights_, _ease_by_inverse(SMALL.astype(np.float64), 2.0), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize(("n_titles", "dtype"), [(4000, np.float64), (4001, np.float32)])
def test_ease_auto_precision_switches_above_4000_titles(
    monkeypatch: pytest.MonkeyPatch, n_titles: int, dtype: type
) -> None:
    """Pins precision=auto's documented bound: float64 up to and including 4,000 titles, float32 above."""
    import reelkit.recommend.ease as ease

    used: list[type] = []

    def record(x: object, regularization: float, dt: type = np.float64, **kw: object) -> np.ndarray:
        used.append(dt)
        return np.zeros((n_titles, n_titles), dtype=np.float32)

    monkeypatch.setattr(ease, "ease_weights", record)
    m = np.zeros((2, n_titles), dtype=np.float32)
    m[0, 0] = m[1, -1] = 1.0
    EASE().fit(make_interactions(m))
    assert used == [dtype]


def test_ease_binary_weighting_learns_and_scores_who_watched_not_how_much() -> None:
    """Pins weighting=binary: B is fitted on, and scores are, the 0/1 history, not the confidence weights
    (which weighting=weight uses for both)."""
    x = synthetic()  # weights in [1, 2]
    inter = make_interactions(x)
    binary = EASE(regularization=5.0).fit(inter)
    b01 = _ease_by_inverse((x > 0).astype(np.float64), 5.0)
    np.testing.assert_allclose(binary.weights_, b01, rtol=1e-4, atol=1e-6)
    expected = (x > 0).astype(np.float64) @ binary.weights_.astype(np.float64)
    np.testing.assert_allclose(binary.score_rows(np.arange(10)), expected[:10], rtol=1e-4, atol=1e-4)
    weighted = EASE(regularization=5.0, weighting="weight").fit(inter)
    bw = _ease_by_inverse(x.astype(np.float64), 5.0)
    np.testing.assert_allclose(weighted.weights_, bw, rtol=1e-4, atol=1e-6)
    expected_w = x.astype(np.float64) @ weighted.weights_.astype(np.float64)
    np.testing.assert_allclose(weighted.score_rows(np.arange(10)), expected_w[:10], rtol=1e-4, atol=1e-4)


def _with_times(matrix: np.ndarray, times: np.ndarray) -> Interactions:
    """``make_interactions(matrix)`` with each pair's timestamp taken from ``times`` (same shape)."""
    inter = make_interactions(matrix)
    stamps = np.asarray(times)[inter.rows, inter.cols].astype(np.int64) + 1_700_000_000  # real unix seconds
    return dataclasses.replace(inter, timestamp=stamps)


def _session_gram_by_hand(inter: Interactions, weight: float, seconds: float) -> np.ndarray:
    """The session term as documented, pair by pair."""
    g = np.zeros((inter.n_titles, inter.n_titles))
    for m in range(inter.n_members):
        k = np.flatnonzero(inter.rows == m)
        t = inter.timestamp[k].astype(np.float64)
        if len(k) < 2 or t.max() == t.min():
            continue
        for a in k:
            for b in k:
                dt = abs(float(inter.timestamp[a]) - float(inter.timestamp[b]))
                if dt < seconds:
                    g[inter.cols[a], inter.cols[b]] += weight * (1 - dt / seconds) ** 2
    return g


def test_session_gram_known_answer() -> None:
    """Hand-computed: titles 0 and 1 watched 30 s apart with a 60 s window ((1 - 1/2)^2 = 1/4), title 2 an
    hour later (outside: only its own diagonal); a member whose pairs share one time adds nothing."""
    x = np.array([[1, 1, 1], [1, 1, 0]], dtype=np.float32)
    times = np.array([[0, 30, 3600], [500, 500, 0]])
    g = np.zeros((3, 3))
    add_session_gram(g, _with_times(x, times), weight=2.0, seconds=60.0)
    e = 2.0 * 0.25
    np.testing.assert_allclose(g, [[2.0, e, 0.0], [e, 2.0, 0.0], [0.0, 0.0, 2.0]], rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    hnp.arrays(np.int8, (5, 6), elements=st.integers(0, 1)),
    hnp.arrays(np.int64, (5, 6), elements=st.integers(0, 400)),
    st.floats(1.0, 200.0),
)
def test_session_gram_matches_the_pairwise_definition(
    x: np.ndarray, times: np.ndarray, seconds: float
) -> None:
    """Property: the compiled kernel equals the definition summed pair by pair (symmetric, ties included)."""
    x[:, 0] = 1  # nobody empty
    inter = _with_times(x.astype(np.float32), times)
    g = np.zeros((6, 6))
    add_session_gram(g, inter, weight=1.5, seconds=seconds)
    np.testing.assert_allclose(g, _session_gram_by_hand(inter, 1.5, seconds), rtol=1e-9, atol=1e-12)
    assert np.linalg.eigvalsh(g).min() > -1e-9  # positive semi-definite: EASE's inverse always exists


def test_session_ease_without_times_or_weight_is_ease() -> None:
    """No timestamps (all 0), or session_weight 0: exactly EASE with the same regularization."""
    inter = make_interactions(synthetic())
    plain = EASE(regularization=20.0, weighting="weight").fit(inter).weights_
    no_times = SessionEASE(regularization=20.0).fit(inter).weights_
    timed = _with_times(synthetic(), np.arange(120 * 60).reshape(120, 60))
    off = SessionEASE(regularization=20.0, session_weight=0.0).fit(timed).weights_
    assert np.array_equal(no_times, plain)
    assert np.array_equal(off, plain)
    assert not np.allclose(SessionEASE(regularization=20.0).fit(timed).weights_, plain)


def test_session_ease_ranks_the_title_watched_in_the_same_session_first() -> None:
    """Every member watched titles 0-3; 0 and 1 in the same minute, 2 and 3 days apart. EASE cannot tell
    1, 2 and 3 apart for a member who has seen 0; with sessions, 1 comes first."""
    x = np.zeros((30, 5), dtype=np.float32)
    x[:, :4] = 1.0
    x[::3, 4] = 1.0
    day = 86_400
    times = np.tile(np.array([0, 40, 3 * day, 6 * day, 9 * day]), (30, 1)) + np.arange(30)[:, None] * 10 * day
    inter = _with_times(x, times)
    one = {"t0": 1.0}
    plain = EASE(regularization=5.0).fit(inter).recommend_history([one], 3)
    sess = SessionEASE(regularization=5.0, weighting="binary").fit(inter).recommend_history([one], 3)
    plain_scores = dict(plain.items(0))
    assert plain_scores["t1"] == pytest.approx(plain_scores["t2"]) == pytest.approx(plain_scores["t3"])
    assert sess.items(0)[0][0] == "t1"
    got = dict(sess.items(0))
    assert got["t1"] > got["t2"] + 0.05


def test_session_ease_fits_a_bulk_import_with_little_regularization() -> None:
    """A member who rated 350 titles in one second (a bulk import) beside spread-out ones: the session term
    stays positive semi-definite, so a small regularization and a large weight still invert (a neighbour
    limit in time made it indefinite and the fit failed on ML-100K)."""
    rng = np.random.default_rng(0)
    x = (rng.random((12, 400)) < 0.3).astype(np.float32)
    x[0] = 1.0
    times = rng.integers(0, 10_000, size=x.shape)
    times[0, :350] = 5_000
    model = SessionEASE(regularization=1.0, session_weight=32.0, session_seconds=3600.0)
    weights = model.fit(_with_times(x, times)).weights_
    assert np.isfinite(weights).all()


def test_blend_ease_component_from_old_files_and_plain_configs_has_no_sessions() -> None:
    """The blend's EASE learns from sessions by default; a blend saved before the session fields existed
    (its EASE dump names precision but not session_weight) keeps the EASE it was fitted with, and an
    EASEConfig passed in is taken as given (it failed validation as not a SessionEASEConfig)."""
    from reelkit.recommend.blend import Blend
    from reelkit.recommend.ease import EASEConfig

    assert Blend().config.ease.session_weight == 8.0
    assert Blend(ease={"regularization": 50.0}).config.ease.session_weight == 8.0  # partial: defaults
    assert Blend(ease={"precision": "float32"}).config.ease.session_weight == 8.0
    old = Blend(ease={"regularization": 300.0, "weighting": "binary", "precision": "auto"}).config.ease
    assert (old.session_weight, old.regularization, old.weighting) == (0.0, 300.0, "binary")
    plain = Blend(ease=EASEConfig(regularization=50.0)).config.ease
    assert (plain.session_weight, plain.regularization, plain.weighting) == (0.0, 50.0, "binary")
    sess = Blend(ease=EASEConfig(regularization=50.0, session_weight=2.0)).config.ease
    assert sess.session_weight == 2.0


def test_session_ease_skips_sample_plays() -> None:
    """Pairs made of sample plays only (autoplay previews) add no session term."""
    x = np.array([[1, 1, 1]], dtype=np.float32)
    inter = _with_times(x, np.array([[0, 10, 20]]))
    inter = dataclasses.replace(inter, sample_only=np.array([False, True, False]))
    g = np.zeros((3, 3))
    add_session_gram(g, inter, weight=1.0, seconds=40.0)
    np.testing.assert_allclose(g, [[1.0, 0.0, 0.25], [0.0, 0.0, 0.0], [0.25, 0.0, 1.0]], rtol=1e-12)


def test_session_ease_rejects_a_non_positive_time_scale() -> None:
    with pytest.raises(ConfigError, match="session_seconds"):
        SessionEASE(session_seconds=0)


def test_ease_similar_titles_are_rows_of_b() -> None:
    """Pins "because you watched t": similar titles score B[t, j] (what t adds to j), not B[j, t]."""
    lam = 2.0
    model = EASE(regularization=lam).fit(make_interactions(SMALL))
    b = _ease_by_inverse(SMALL.astype(np.float64), lam)
    assert not np.allclose(b, b.T)  # B is not symmetric: rows and columns differ
    for t in range(SMALL.shape[1]):
        recs = model.similar_titles([f"t{t}"], 4)
        expected = {f"t{j}": b[t, j] for j in range(SMALL.shape[1]) if j != t and b[t, j] > 0}
        got = dict(recs.items(0))
        assert set(got) == set(expected)
        for tid, score in got.items():
            assert score == pytest.approx(expected[tid], rel=1e-4)


# ------------------------------------------------------------------------------------------------ ItemKNN
def _shrunk_cosine(x: np.ndarray, shrink: float) -> np.ndarray:
    n = x.shape[1]
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i != j:
                dot = float(x[:, i] @ x[:, j])
                out[i, j] = dot / (np.linalg.norm(x[:, i]) * np.linalg.norm(x[:, j]) + shrink)
    return out


@pytest.mark.parametrize("weighting", ["binary", "weight"])
def test_itemknn_shrunk_cosine(weighting: str) -> None:
    m = SMALL * np.array([1.0, 2.0, 1.5, 1.0, 2.0], dtype=np.float32)
    shrink = 3.0
    model = ItemKNN(k=10, shrink=shrink, weighting=weighting).fit(make_interactions(m))
    x = (m > 0).astype(np.float64) if weighting == "binary" else m.astype(np.float64)
    expected = _shrunk_cosine(x, shrink)
    np.testing.assert_allclose(model._similar(np.arange(5)), expected, rtol=1e-5, atol=1e-7)
    # target neighbourhood: score_j = sum_i x_ui sim(j, i)
    np.testing.assert_allclose(model.score_rows(np.arange(6)), x @ expected.T, rtol=1e-5, atol=1e-6)


def test_itemknn_built_block_by_block_is_the_shrunk_cosine(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks of 2 rows (a catalogue over ~2,800 titles takes several): each block's diagonal and rows are
    placed at its own offset, so the similarity is the one-block hand-computed one."""
    import reelkit.recommend.itemknn as itemknn

    monkeypatch.setattr(itemknn, "_BLOCK_CELLS", 10)  # 10 // 5 titles = 2 rows per block
    model = ItemKNN(k=10, shrink=3.0, weighting="binary").fit(make_interactions(SMALL))
    expected = _shrunk_cosine(SMALL.astype(np.float64), 3.0)
    np.testing.assert_allclose(model.similarity_.toarray(), expected, rtol=1e-5, atol=1e-7)


def test_itemknn_keeps_top_k_per_title() -> None:
    x = SMALL.astype(np.float64)
    model = ItemKNN(k=1, shrink=0.0).fit(make_interactions(SMALL))
    full = _shrunk_cosine(x, 0.0)
    s = model.similarity_.toarray()
    assert (np.count_nonzero(s, axis=1) <= 1).all()
    for i in range(5):
        j = int(np.flatnonzero(s[i])[0])
        assert full[i, j] == pytest.approx(full[i].max(), rel=1e-6)
    # titles that share no member are not neighbours at all
    disjoint = ItemKNN(k=5, shrink=0.0).fit(make_interactions(np.eye(3, dtype=np.float32)))
    assert disjoint.similarity_.nnz == 0
    # so "similar" lists only the kept neighbour, not unrelated titles padded in at score 0
    recs = model.similar_titles(list(model.title_ids_), 4)
    assert recs.lengths.tolist() == [1] * 5
    assert (recs.scores[:, 0] > 0).all() and np.isnan(recs.scores[:, 1:]).all()
    assert disjoint.similar_titles(list(disjoint.title_ids_), 2).lengths.tolist() == [0, 0, 0]


def test_itemknn_scores_orient_the_pruned_similarity() -> None:
    """Pruned to k=1 the similarity is asymmetric, so target scores are x @ S.T and source scores x @ S.

    (score_j = sum_i x_ui sim(j, i) over j's kept neighbours i, or over the i that kept j.)
    """
    x = SMALL.astype(np.float64)
    target = ItemKNN(k=1, shrink=0.0).fit(make_interactions(SMALL))
    s = target.similarity_.toarray()
    assert not np.allclose(s, s.T)
    np.testing.assert_allclose(target.score_rows(np.arange(6)), x @ s.T, rtol=1e-6)
    source = ItemKNN(k=1, shrink=0.0, neighbourhood="source").fit(make_interactions(SMALL))
    np.testing.assert_allclose(source.score_rows(np.arange(6)), x @ s, rtol=1e-6)


# ------------------------------------------------------------------------------------------------ RP3beta
def test_rp3beta_tiny_graph_by_walks() -> None:
    # members: a watched {0, 1}, b watched {1, 2}, c watched {1}
    m = np.array([[1, 1, 0], [0, 1, 1], [0, 1, 0]], dtype=np.float32)
    alpha, beta = 1.0, 0.5
    model = RP3beta(alpha=alpha, beta=beta, k=10, normalize=False).fit(make_interactions(m))
    # W[i, j] = sum_u P(i -> u) P(u -> j) / deg(j)^beta, by enumerating the walks
    deg_title = m.sum(axis=0)
    deg_member = m.sum(axis=1)
    expected = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            if i == j:
                continue
            walk = sum((m[u, i] / deg_title[i]) * (m[u, j] / deg_member[u]) for u in range(3))
            expected[i, j] = walk / deg_title[j] ** beta
    # spelled out: title 0 -> member a (1) -> title 1 (1/2); popularity of title 1 is 3
    assert expected[0, 1] == pytest.approx(0.5 / np.sqrt(3))
    np.testing.assert_allclose(model.weights_.toarray(), expected, rtol=1e-6)
    np.testing.assert_allclose(model.score_rows(np.arange(3)), m @ expected, rtol=1e-6)

    normed = RP3beta(alpha=alpha, beta=beta, k=1, normalize=True).fit(make_interactions(m))
    w = normed.weights_.toarray()
    assert (np.count_nonzero(w, axis=1) <= 1).all()
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-6)


def test_rp3beta_normalize_divides_each_kept_row_by_its_sum() -> None:
    """With ``normalize`` every kept row of W is divided by its own L1 sum (row 1 keeps two entries)."""
    m = np.array([[1, 1, 0], [0, 1, 1], [0, 1, 0]], dtype=np.float32)
    raw = RP3beta(alpha=1.0, beta=0.5, k=10, normalize=False).fit(make_interactions(m)).weights_.toarray()
    # row 1 (the title all three watched): walks to title 0 and title 2 alike, 1/6 / 1 each
    assert raw[1, 0] == pytest.approx(1 / 6) and raw[1, 2] == pytest.approx(1 / 6)
    normed = RP3beta(alpha=1.0, beta=0.5, k=10, normalize=True).fit(make_interactions(m)).weights_.toarray()
    np.testing.assert_allclose(normed, raw / raw.sum(axis=1, keepdims=True), rtol=1e-6)
    assert normed[1, 0] == pytest.approx(0.5)


def test_rp3beta_alpha_sharpens_transitions() -> None:
    m = synthetic(40, 20)
    a1 = RP3beta(alpha=1.0, beta=0.0, k=100, normalize=False).fit(make_interactions(m)).weights_.toarray()
    a2 = RP3beta(alpha=2.0, beta=0.0, k=100, normalize=False).fit(make_interactions(m)).weights_.toarray()
    x = (m > 0).astype(np.float64)
    p_ui = x / x.sum(axis=1, keepdims=True)
    p_iu = x.T / x.T.sum(axis=1, keepdims=True)
    exp2 = (p_iu**2) @ (p_ui**2)
    np.fill_diagonal(exp2, 0)
    np.testing.assert_allclose(a2, exp2, rtol=1e-5, atol=1e-9)
    assert not np.allclose(a1, a2)


def test_rp3beta_weighted_walks_divide_by_the_member_count() -> None:
    """With weighting='weight' the walk steps are weight shares, but the popularity penalty is still the
    number of members with the title to the power beta (title 1: 3 members, weights 1 + 1 + 3)."""
    m = np.array([[2, 1, 0], [0, 1, 1], [0, 3, 0]], dtype=np.float32)
    beta = 0.5
    model = RP3beta(alpha=1.0, beta=beta, k=10, normalize=False, weighting="weight").fit(make_interactions(m))
    members = (m > 0).sum(axis=0)
    expected = np.zeros((3, 3))
    for i in range(3):
        for j in range(3):
            if i != j:
                walk = sum((m[u, i] / m[:, i].sum()) * (m[u, j] / m[u].sum()) for u in range(3))
                expected[i, j] = walk / members[j] ** beta
    assert expected[0, 1] == pytest.approx(1 / 3 / np.sqrt(3))  # t0 -> m0 (all) -> t1 (1/3)
    np.testing.assert_allclose(model.weights_.toarray(), expected, rtol=1e-6)


# ------------------------------------------------------------------------------------------------ ALS
@pytest.fixture(scope="module")
def als_data() -> Interactions:
    return make_interactions(synthetic())


@pytest.fixture(scope="module")
def als_model(als_data: Interactions) -> ALS:
    return ALS(factors=8, regularization=0.5, alpha=5.0, iterations=25, cg_steps=4, seed=3).fit(als_data)


def test_als_loss_decreases(als_model: ALS) -> None:
    loss = als_model.loss_history_
    assert loss.shape == (25,)
    assert np.all(np.isfinite(loss))
    assert np.all(np.diff(loss) <= 1e-6 * loss[:-1])
    assert loss[-1] < 0.8 * loss[0]


def test_als_loss_is_the_objective(als_model: ALS, als_data: Interactions) -> None:
    # recompute the final loss densely: sum c (p - x.y)^2 + reg (|X|^2 + |Y|^2), over the total confidence
    w = als_data.matrix("weight").toarray().astype(np.float64)
    c = 1.0 + 5.0 * w
    p = (w > 0).astype(np.float64)
    x = als_model.user_factors_.astype(np.float64)
    y = als_model.item_factors_.astype(np.float64)
    obj = (c * (p - x @ y.T) ** 2).sum() + 0.5 * ((x**2).sum() + (y**2).sum())
    assert als_model.loss_history_[-1] == pytest.approx(obj / c.sum(), rel=1e-4)


@pytest.mark.parametrize("weighting", ["weight", "binary"])
def test_als_steps_solve_their_normal_equations(als_data: Interactions, weighting: str) -> None:
    """One sweep with as many CG steps as factors solves both steps exactly (CG is exact in f steps).

    Members against the starting titles Y0 (drawn after X0 from default_rng(seed), as the fit draws them),
    then titles against those members: (A^T C A + reg I) z = A^T C p with c = 1 + alpha * w (w = 1 binary).
    """
    reg, alpha, f = 5.0, 5.0, 8
    model = ALS(
        factors=f, regularization=reg, alpha=alpha, iterations=1, cg_steps=f, seed=3, weighting=weighting
    )
    model.fit(als_data)
    w = als_data.matrix("weight").toarray().astype(np.float64)
    p = (w > 0).astype(np.float64)
    c = 1.0 + alpha * (w if weighting == "weight" else p)
    rng = np.random.default_rng(3)
    rng.random((w.shape[0], f), dtype=np.float32)
    y0 = (rng.random((w.shape[1], f), dtype=np.float32) * 0.01).astype(np.float64)
    x = model.user_factors_.astype(np.float64)
    y = model.item_factors_.astype(np.float64)
    for fixed, got, cm, pm in ((y0, x, c, p), (x, y, c.T, p.T)):
        want = np.stack(
            [
                np.linalg.solve(fixed.T @ (cr[:, None] * fixed) + reg * np.eye(f), fixed.T @ (cr * pr))
                for cr, pr in zip(cm, pm, strict=True)
            ]
        )
        rel = np.linalg.norm(got - want, axis=1) / np.linalg.norm(want, axis=1)
        assert rel.max() < 1e-3


def test_als_member_step_is_taken_when_its_residual_is_small() -> None:
    """One title per member, alpha 0: the first step's residual is tiny (start factors are at most 0.01),
    yet the step still solves (Y0^T Y0 + reg I) x_u = Y0^T p_u (it is not skipped as converged)."""
    reg, f = 1.0, 4
    data = make_interactions(np.eye(6, dtype=np.float32))
    model = ALS(factors=f, regularization=reg, alpha=0.0, iterations=1, cg_steps=f, seed=3).fit(data)
    # the title factors ALS starts from: its seed draws the member factors first, then these (als.py's fit)
    rng = np.random.default_rng(3)
    rng.random((6, f), dtype=np.float32)  # the member factors, which the first step replaces
    y0 = (rng.random((6, f), dtype=np.float32) * 0.01).astype(np.float64)
    want = np.linalg.solve(y0.T @ y0 + reg * np.eye(f), y0.T)  # column u: the solution for member u
    np.testing.assert_allclose(model.user_factors_, want.T, rtol=1e-3, atol=1e-7)


def test_als_member_and_title_without_interactions_get_zero_factors() -> None:
    """Pins the exact step for an empty row: (Y^T Y + reg I) x = 0 gives x = 0, so a title nobody watched
    scores 0 and is similar to nothing (its random start factors are not kept)."""
    m = SMALL.copy()
    m[:, 4] = 0.0  # title t4: no member
    m[5] = 0.0  # member m5: no title
    model = ALS(factors=4, regularization=1.0, iterations=2, seed=3).fit(make_interactions(m))
    assert not model.item_factors_[4].any() and not model.user_factors_[5].any()
    assert not model.score_rows(np.arange(6))[:, 4].any()
    assert not model._similar(np.array([0]))[0, 4]


def test_als_fold_in_solves_the_member_step(als_model: ALS, als_data: Interactions) -> None:
    hist = als_data.matrix("weight")[:5]
    xs = als_model.fold_in(hist).astype(np.float64)
    y = als_model.item_factors_.astype(np.float64)
    for r in range(5):
        c = 1.0 + 5.0 * hist[r].toarray().ravel()
        p = (hist[r].toarray().ravel() > 0).astype(np.float64)
        a = y.T @ (c[:, None] * y) + 0.5 * np.eye(8)
        b = y.T @ (c * p)
        np.testing.assert_allclose(xs[r], np.linalg.solve(a, b), rtol=1e-4, atol=1e-5)


def test_als_fold_in_of_training_member_is_close(als_model: ALS, als_data: Interactions) -> None:
    rows = np.arange(20)
    hist = als_data.matrix("weight")[rows]
    learned = als_model.user_factors_[rows]
    folded = als_model.fold_in(hist)
    rel = np.linalg.norm(folded - learned, axis=1) / np.linalg.norm(learned, axis=1)
    assert np.median(rel) < 0.05
    known = als_model.score_rows(rows)
    fresh = als_model.score_rows(np.full(20, -1), history=hist)
    for r in range(20):
        assert np.corrcoef(known[r], fresh[r])[0, 1] > 0.99


def test_als_scores_a_mix_of_known_and_new_members_row_by_row(als_model: ALS, als_data: Interactions) -> None:
    """Rows (4, -1, 7, -1): the known rows score with their learned factors and each new row with the
    fold-in of its own history row (1 and 3), not of the first new-member rows of the batch."""
    hist = als_data.matrix("weight")[[4, 10, 7, 11]]
    got = als_model.score_rows(np.array([4, -1, 7, -1]), history=hist)
    y = als_model.item_factors_
    np.testing.assert_allclose(got[[0, 2]], als_model.user_factors_[[4, 7]] @ y.T, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[[1, 3]], als_model.fold_in(hist[[1, 3]]) @ y.T, rtol=1e-5, atol=1e-6)


def test_als_is_deterministic_by_seed(als_data: Interactions) -> None:
    a = ALS(factors=6, iterations=3, seed=1).fit(als_data)
    b = ALS(factors=6, iterations=3, seed=1).fit(als_data)
    c = ALS(factors=6, iterations=3, seed=2).fit(als_data)
    np.testing.assert_array_equal(a.user_factors_, b.user_factors_)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)
    np.testing.assert_array_equal(a.loss_history_, b.loss_history_)
    assert not np.array_equal(a.item_factors_, c.item_factors_)


_FIT_IN_A_PROCESS = """
import hashlib, sys
sys.path.insert(0, sys.argv[1])
from test_topn_models import make_interactions, synthetic
from reelkit.recommend.als import ALS
m = ALS(factors=8, regularization=0.5, alpha=5.0, iterations=25, cg_steps=4, seed=3).fit(
    make_interactions(synthetic())
)
print(hashlib.sha1(m.item_factors_.tobytes() + m.user_factors_.tobytes()).hexdigest())
"""


@pytest.mark.slow
def test_als_fit_is_the_same_compiled_or_loaded_from_numba_cache(tmp_path: Path) -> None:
    """A fit compiled in the process equals one whose kernels come from numba's cache, bit for bit.

    With fastmath's ``reassoc`` and ``arcp`` together they differed (0.544 against 0.541 in a title factor).
    """
    import os
    import subprocess
    import sys

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba"), "NUMBA_NUM_THREADS": "1"}
    run = [sys.executable, "-c", _FIT_IN_A_PROCESS, str(Path(__file__).parent)]
    compiled = subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout
    assert any((tmp_path / "numba").rglob("*_cg_sweep*.nbc"))  # the second process loads it
    cached = subprocess.run(run, env=env, capture_output=True, text=True, check=True).stdout
    assert compiled == cached


def test_als_thread_count_does_not_change_result(als_data: Interactions) -> None:
    a = ALS(factors=6, iterations=2, seed=1, num_threads=1).fit(als_data)
    b = ALS(factors=6, iterations=2, seed=1).fit(als_data)
    np.testing.assert_array_equal(a.item_factors_, b.item_factors_)


def test_als_similar_is_cosine_of_title_factors(als_model: ALS) -> None:
    y = als_model.item_factors_.astype(np.float64)
    unit = y / np.linalg.norm(y, axis=1, keepdims=True)
    np.testing.assert_allclose(als_model._similar(np.array([0, 3])), unit[[0, 3]] @ unit.T, atol=1e-5)


# ------------------------------------------------------------------------------------------------ all models
MODELS: list[tuple[type[Recommender], dict[str, object]]] = [
    (EASE, {"regularization": 3.0}),
    (ItemKNN, {"k": 5, "shrink": 2.0}),
    (ItemKNN, {"k": 5, "shrink": 2.0, "weighting": "weight", "neighbourhood": "source"}),
    (RP3beta, {"k": 5, "alpha": 0.7, "beta": 0.4}),
    (ALS, {"factors": 6, "iterations": 3, "seed": 5}),
]


@pytest.mark.parametrize(("cls", "params"), MODELS, ids=lambda v: getattr(v, "name", ""))
def test_save_load_round_trip(cls: type[Recommender], params: dict[str, object], tmp_path: Path) -> None:
    inter = make_interactions(synthetic(50, 30))
    model = cls(**params).fit(inter)
    path = model.save(tmp_path / "model.npz")
    loaded = load_model(path)
    assert type(loaded) is cls
    assert loaded.get_params() == model.get_params()
    rows = np.arange(inter.n_members)
    np.testing.assert_array_equal(loaded.score_rows(rows), model.score_rows(rows))
    hist = inter.matrix("weight")[:7]
    np.testing.assert_array_equal(
        loaded.score_rows(np.full(7, -1), history=hist), model.score_rows(np.full(7, -1), history=hist)
    )
    np.testing.assert_array_equal(loaded._similar(np.arange(3)), model._similar(np.arange(3)))
    a = model.recommend(["m1", "m2"], n=5)
    b = loaded.recommend(["m1", "m2"], n=5)
    np.testing.assert_array_equal(a.ids, b.ids)


@pytest.mark.parametrize(("cls", "params"), MODELS[:4], ids=lambda v: getattr(v, "name", ""))
def test_item_models_fold_in_equals_known_member(cls: type[Recommender], params: dict[str, object]) -> None:
    inter = make_interactions(synthetic(50, 30))
    model = cls(**params).fit(inter)
    rows = np.arange(10)
    hist = inter.matrix("weight")[rows]
    np.testing.assert_allclose(
        model.score_rows(np.full(10, -1), history=hist), model.score_rows(rows), rtol=1e-6, atol=1e-7
    )
    # refitting is deterministic too
    again = cls(**params).fit(inter)
    np.testing.assert_array_equal(again.score_rows(rows), model.score_rows(rows))


@pytest.mark.parametrize(("cls", "params"), MODELS, ids=lambda v: getattr(v, "name", ""))
def test_recommend_excludes_seen_and_new_member_works(
    cls: type[Recommender], params: dict[str, object]
) -> None:
    inter = make_interactions(synthetic(50, 30))
    model = cls(**params).fit(inter)
    recs = model.recommend(["m0"], n=5)
    seen = set(inter.title_ids[inter.cols[inter.rows == 0]])
    assert not seen & set(recs.ids[0][: recs.lengths[0]])
    new = model.recommend_history([["t1", "t2", "t3"], {"t4": 5.0, "t5": 1.0}], n=5)
    assert len(new) == 2
    assert new.lengths[0] > 0
    assert not {"t1", "t2", "t3"} & set(new.ids[0][: new.lengths[0]])
    sims = model.similar_titles(["t0"], n=5)
    assert "t0" not in set(sims.ids[0])


def test_top_k_breaks_ties_by_the_lower_index() -> None:
    """Equal scores rank by title index even where argpartition splits the tie (it picks 0, 2 of the 0s)."""
    scores = np.zeros((1, 10), dtype=np.float32)
    scores[0, 9] = 1.0
    idx, val = top_k(scores, 3)
    assert idx.tolist() == [[9, 0, 1]]
    assert val.tolist() == [[1.0, 0.0, 0.0]]


def test_top_k_never_lists_non_finite_scores_and_pads_only_at_the_end() -> None:
    """A +inf score was ranked first and then masked to padding in place: [-1, 0, 3, 4, -1], so a list read
    by its count of valid entries took the pad and lost the last real title."""
    idx, val = top_k(np.array([[2.0, -np.inf, np.inf, 2.0, 0.0]], np.float32), 5)
    assert idx.tolist() == [[0, 3, 4, -1, -1]]
    assert val.tolist() == [[2.0, 2.0, 0.0, -np.inf, -np.inf]]


@settings(max_examples=300, deadline=None)
@given(
    hnp.arrays(
        np.float32,
        hnp.array_shapes(min_dims=2, max_dims=2, max_side=12),
        elements=st.sampled_from([0.0, 1.0, 2.0, 3.0, -np.inf, np.inf, np.nan]),
    ),
    st.integers(1, 15),
)
def test_top_k_matches_a_lexsort_of_the_finite_scores(scores: np.ndarray, k: int) -> None:
    """The k largest finite scores (few values: many ties), ties by the lower index, then -1 padding, as a
    reference lexsort of each row's finite entries gives them."""
    idx, val = top_k(scores, k)
    for r, row in enumerate(scores):
        fin = np.flatnonzero(np.isfinite(row))
        order = fin[np.lexsort((fin, -row[fin]))][:k]
        expected = np.full(k, -1)
        expected[: len(order)] = order
        assert idx[r].tolist() == expected.tolist()
        assert val[r, : len(order)].tolist() == row[order].tolist()
        assert np.all(val[r, len(order) :] == -np.inf)


def test_recommend_rows_only_lists_the_candidates() -> None:
    """A ``candidates`` mask keeps every other title out of the list (padded when too few remain)."""
    model = EASE(regularization=10.0).fit(make_interactions(SMALL))
    allowed = np.zeros(SMALL.shape[1], dtype=bool)
    allowed[[0, 3]] = True
    idx, _ = model.recommend_rows(np.arange(SMALL.shape[0]), 3, exclude_seen=False, candidates=allowed)
    assert set(idx.ravel().tolist()) == {0, 3, -1}
    assert (idx[:, 2] == -1).all() and (idx[:, :2] >= 0).all()


def test_configs_reject_bad_values() -> None:
    from reelkit.errors import ConfigError

    with pytest.raises(ConfigError):
        EASE(regularization=0)
    with pytest.raises(ConfigError):
        ItemKNN(k=0)
    with pytest.raises(ConfigError):
        ALS(factors=0)
    with pytest.raises(ConfigError):
        RP3beta(beta=-1)


@pytest.mark.parametrize("cls", [EASE, ItemKNN, RP3beta, ALS])
def test_search_space_samples_are_valid_configs(cls: type[Recommender]) -> None:
    rng = np.random.default_rng(0)
    for _ in range(5):
        params = {k: space.sample(rng) for k, space in cls.search_space.items()}
        cls(**params)  # validates


def test_titles_seen_but_not_liked_are_not_recommended_again(tmp_path: Path) -> None:
    from reelkit.data.dataset import Dataset
    from reelkit.evaluate import evaluate
    from reelkit.recommend.popularity import Popularity

    ev = pd.DataFrame(
        {
            "member_id": ["u1", "u1", "u1", "u2", "u2", "u2", "u3", "u3", "u3"],
            "title_id": ["a", "b", "d", "a", "b", "c", "b", "c", "a"],
            "kind": ["play", "thumb", "rating", "play", "play", "play", "play", "play", "play"],
            "value": [np.nan, -1.0, 1.0, np.nan, np.nan, np.nan, np.nan, np.nan, np.nan],
            "timestamp": [100] * 9,
        }
    )
    data = Dataset.from_events(ev)
    # u1 thumbed b down and rated d 1 star: neither is an interaction (with min_rating 3 for d), and b is
    # the most popular title, yet u1 has seen both
    inter = data.interactions(min_rating=3)
    seen = inter.seen_matrix()
    u1 = int(np.flatnonzero(inter.member_ids == "u1")[0])
    assert sorted(inter.title_ids[seen[u1].indices]) == ["b"]  # d is nobody's interaction: no column
    model = Popularity().fit(inter)
    assert model.recommend(["u1"], 5).items(0) == [("c", pytest.approx(2.0))]
    assert "b" in model.recommend(["u1"], 5, exclude_seen=False).ids[0]
    back = load_model(model.save(tmp_path / "pop.npz"))
    assert back.recommend(["u1"], 5).items(0) == [("c", pytest.approx(2.0))]
    # in evaluation a seen title is not a held-out one either: u1's test pairs b (seen) and c count as c
    # alone, which is then ranked first
    test = Dataset.from_events(
        pd.DataFrame({"member_id": ["u1", "u1"], "title_id": ["b", "c"], "kind": ["play"] * 2})
    )
    res = evaluate(Popularity(), data, test, ks=(1,), min_rating=3)
    assert (res.n_members, res.n_test_pairs) == (1, 1)
    assert res.metrics["ndcg@1"] == pytest.approx(1.0)


def test_als_title_step_takes_every_cg_step_it_is_given() -> None:
    """Two factors, two CG steps: the title step solves (X'CX + lambda I) y = X'Cp exactly (CG is exact in
    f steps); one step fewer left a 3% error and passed every test (the solve test gives 8 steps to f = 8,
    where seven already meet its tolerance)."""
    data = make_interactions(synthetic())
    reg, alpha, f = 5.0, 5.0, 2
    m = ALS(factors=f, regularization=reg, alpha=alpha, iterations=1, cg_steps=2, seed=3, weighting="binary")
    m.fit(data)
    p = (data.matrix("weight").toarray() > 0).astype(np.float64)
    c = 1 + alpha * p
    x, y = m.user_factors_.astype(np.float64), m.item_factors_.astype(np.float64)
    want = np.stack(
        [
            np.linalg.solve(x.T @ (cr[:, None] * x) + reg * np.eye(f), x.T @ (cr * pr))
            for cr, pr in zip(c.T, p.T, strict=True)
        ]
    )
    assert (np.linalg.norm(y - want, axis=1) / np.linalg.norm(want, axis=1)).max() < 1e-5


def test_neighbourhoods_keep_exactly_k_when_there_are_more() -> None:
    """k = 2 of 4 other titles: every row keeps 2 neighbours, the two most similar (only k = 1 and k >= n
    were tested, where keeping k - 1 cannot be told apart)."""
    knn = ItemKNN(k=2, shrink=0.0, weighting="binary").fit(make_interactions(SMALL))
    assert np.diff(knn.similarity_.indptr).tolist() == [2] * 5
    sim = knn.similarity_.toarray().astype(np.float64)
    assert sim[0] == pytest.approx([0.0, 1 / np.sqrt(3), 0.5, 0.0, 0.0], abs=1e-6)
    assert sim[3] == pytest.approx([0.0, 0.0, 1 / np.sqrt(3), 0.0, 1 / np.sqrt(6)], abs=1e-6)
    rp3 = RP3beta(k=2, normalize=False).fit(make_interactions(SMALL))
    assert np.diff(rp3.weights_.indptr).tolist() == [2] * 5


def test_a_saved_model_keeps_its_rating_scale(tmp_path: Path) -> None:
    """A 2-10 scale came back as 1-5 from a file without it (what "rated low" and fold-in ratings read)."""
    inter = make_interactions(SMALL)
    inter = dataclasses.replace(inter, rating=inter.rating * 2, rating_scale=(2.0, 10.0))
    model = EASE().fit(inter)
    assert tuple(load_model(model.save(tmp_path / "m.npz")).rating_scale_) == (2.0, 10.0)
