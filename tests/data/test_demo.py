"""The synthetic demo dataset: deterministic, well-formed, and structured like real data."""

from __future__ import annotations

import time
from datetime import datetime

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from reelkit.data.dataset import Dataset
from reelkit.data.demo import GENRES, make_demo
from reelkit.errors import ConfigError

START = 1704067200  # 2024-01-01 UTC, the default start
END = START + 365 * 86400


@pytest.fixture(scope="module")
def demo() -> Dataset:
    return make_demo(seed=0)


def test_deterministic_by_seed() -> None:
    a = make_demo(n_members=120, n_titles=80, n_communities=3, seed=7)
    b = make_demo(n_members=120, n_titles=80, n_communities=3, seed=7)
    c = make_demo(n_members=120, n_titles=80, n_communities=3, seed=8)
    pd.testing.assert_frame_equal(a.events, b.events)
    pd.testing.assert_frame_equal(a.titles, b.titles)
    pd.testing.assert_frame_equal(a.members, b.members)
    assert not a.events.equals(c.events)


def test_shapes_and_columns(demo: Dataset) -> None:
    assert len(demo.members) == 2000
    assert len(demo.titles) == 1000
    assert 100_000 <= demo.n_events <= 250_000
    assert list(demo.members.columns) == ["name", "community"]
    assert demo.members["community"].between(0, 7).all()
    assert demo.members["community"].nunique() == 8
    assert demo.events["member_id"].nunique() == 2000
    assert demo.events["title_id"].isin(demo.titles.index).all()
    assert set(demo.events["kind"].astype(str)) == {"play", "rating", "thumb"}
    assert demo.events["timestamp"].is_monotonic_increasing


def test_titles(demo: Dataset) -> None:
    t = demo.titles
    assert t["name"].is_unique
    assert set(t["kind"]) == {"movie", "series"}
    assert 0.1 < (t["kind"] == "series").mean() < 0.3
    genres = {g for gs in t["genres"] for g in gs.split("|")}
    assert genres <= set(GENRES) and len(genres) >= 10
    released = t["released"].to_numpy(np.int64)
    assert (released % 86400 == 0).all()
    years = pd.to_datetime(released, unit="s").year.to_numpy()
    assert (years == t["year"].to_numpy(np.int64)).all()
    new = (released >= START) & (released < END)
    assert 0.1 < new.mean() < 0.3  # new releases during the period
    assert ((released >= END - 30 * 86400) & (released < END)).sum() >= 5  # some very recent


def test_titles_take_an_before_a_vowel(demo: Dataset) -> None:
    """11 of the 1,000 titles read 'A Orbit in Venice', 'A Ember in Kyoto'."""
    names = demo.titles["name"]
    assert not names.str.contains(r"\bA [AEIOU]").any()
    an = sorted(names[names.str.startswith("An ")])
    assert len(an) == 11 and an[:3] == ["An Archive in Tokyo", "An Archive in Tokyo II", "An Echo in Havana"]
    assert "An Ember in Kyoto" in an and "A Canyon in Havana" in set(names)


def test_events_are_consistent(demo: Dataset) -> None:
    ev = demo.events
    released = demo.titles["released"].reindex(ev["title_id"]).to_numpy(np.int64)
    assert (ev["timestamp"].to_numpy() >= released).all()  # nobody watches before release
    assert ev["timestamp"].between(START, END - 1).all()
    kind = ev["kind"].astype(str)
    plays = ev[kind == "play"]
    assert plays["fraction"].between(0.01, 1.0).all()
    assert (plays["value"] > 0).all() and (plays["value"] <= 180 * 60).all()  # seconds watched
    assert 0.2 < (plays["fraction"] < 0.9).mean() < 0.6  # partial watching is common
    rated = ev[kind == "rating"]
    assert set(rated["value"]) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert len(set(rated["value"])) == 5
    assert 3.0 < rated["value"].mean() < 4.0
    assert rated["fraction"].isna().all()
    assert set(ev.loc[kind == "thumb", "value"]) == {-1.0, 1.0}
    pairs = plays.groupby(["member_id", "title_id"]).size()
    assert (pairs > 1).mean() > 0.05  # rewatches, resumed movies and series episodes
    n_pairs = len(ev.groupby(["member_id", "title_id"]).size())
    assert 0.1 < len(rated) / n_pairs < 0.4  # explicit ratings for a subset
    assert demo.events.duplicated(["member_id", "title_id", "kind", "timestamp", "value"]).sum() == 0


def test_an_abandoned_movie_resumed_is_played_to_the_end(demo: Dataset) -> None:
    """A movie first left before 90% and played again was resumed: the later play's fraction is 1.0 (the
    position reached), not the first play's again."""
    ev = demo.events
    plays = ev[ev["kind"].astype(str) == "play"]
    movie = demo.titles["kind"].reindex(plays["title_id"]).to_numpy() == "movie"
    movies = plays[movie].sort_values("timestamp", kind="stable")
    by_pair = movies.groupby(["member_id", "title_id"])
    later = movies[(by_pair.cumcount() > 0) & (by_pair["fraction"].transform("first") < 0.9)]
    assert len(later) > 1000 and (later["fraction"] == 1.0).all()


def test_a_plays_value_is_the_seconds_reached_its_fraction_of_the_runtime(demo: Dataset) -> None:
    """A play's value is round(fraction x runtime): a title's finished plays give its runtime, and a play
    that stopped halfway is worth half of it (not the whole runtime)."""
    plays = demo.events[demo.events["kind"].astype(str) == "play"]
    runtime = plays[plays["fraction"] == 1.0].groupby("title_id")["value"].first()
    rt = runtime.reindex(plays["title_id"]).to_numpy()
    known = ~np.isnan(rt)
    assert known.mean() > 0.9
    expected = np.round(plays["fraction"].to_numpy()[known] * rt[known])
    assert (plays["value"].to_numpy()[known] == expected).all()
    assert (plays["fraction"].to_numpy()[known] < 0.5).sum() > 1000


def test_a_resumed_movie_starts_after_the_seconds_first_watched(demo: Dataset) -> None:
    """A member resumes a movie after the first sitting ended: no later play of it starts within the first
    play's watched seconds (its value)."""
    ev = demo.events
    plays = ev[ev["kind"].astype(str) == "play"]
    movies = plays[demo.titles["kind"].reindex(plays["title_id"]).to_numpy() == "movie"]
    movies = movies.sort_values("timestamp", kind="stable")
    by_pair = movies.groupby(["member_id", "title_id"])
    first_end = by_pair["timestamp"].transform("first") + by_pair["value"].transform("first")
    later = by_pair.cumcount() > 0
    assert later.sum() > 1000 and (movies.loc[later, "timestamp"] >= first_end[later]).all()


def test_better_matches_are_finished_and_rated_higher(demo: Dataset) -> None:
    ev = demo.events
    kind = ev["kind"].astype(str)
    finished = ev[kind == "play"].groupby(["member_id", "title_id"])["fraction"].max() >= 0.9
    rating = ev[kind == "rating"].groupby(["member_id", "title_id"])["value"].last()
    joined = pd.concat([finished.rename("finished"), rating.rename("rating")], axis=1, join="inner")
    assert (
        joined.loc[joined["finished"], "rating"].mean()
        > joined.loc[~joined["finished"], "rating"].mean() + 0.3
    )


def test_plays_start_in_the_evening_more_than_the_morning(demo: Dataset) -> None:
    """Start hours follow the evening-heavy day (weights 8-12 at 18-22 h UTC, 1 at 3-7 h): 18-22 h holds
    about 40% of the plays, 3-7 h under 10%."""
    ts = demo.events.loc[demo.events["kind"].astype(str) == "play", "timestamp"].to_numpy()
    hours = np.bincount(ts % 86400 // 3600, minlength=24) / len(ts)
    assert hours[18:23].sum() > 0.35 and hours[3:8].sum() < 0.12


def test_abandoned_titles_are_thumbed_down_more_often(demo: Dataset) -> None:
    """A thumb on a title played under 30% is down about 80% of the time, against about half for the rest."""
    ev = demo.events
    kind = ev["kind"].astype(str)
    reached = ev[kind == "play"].groupby(["member_id", "title_id"])["fraction"].max()
    thumbs = ev[kind == "thumb"].set_index(["member_id", "title_id"])["value"]
    abandoned = reached.reindex(thumbs.index).to_numpy() < 0.3
    down = thumbs.to_numpy() < 0
    assert down[abandoned].mean() > 0.7 and down[~abandoned].mean() < 0.6


def test_new_releases_spike_then_decay(demo: Dataset) -> None:
    ev = demo.events
    plays = ev[ev["kind"].astype(str) == "play"]
    released = demo.titles["released"].reindex(plays["title_id"]).to_numpy(np.int64)
    new = released >= START
    weeks = (plays["timestamp"].to_numpy()[new] - released[new]) // (7 * 86400)
    per_week = np.bincount(np.minimum(weeks, 8), minlength=9)
    assert per_week[0] > per_week[1] > per_week[2] > per_week[4]
    assert per_week[0] > 3 * per_week[6]


def _holdout(ds: Dataset, seed: int = 0) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    """Binary member x title matrices: 80% of each member's titles to train on, 20% held out."""
    inter = ds.interactions()
    rng = np.random.default_rng(seed)
    test = rng.random(inter.nnz) < 0.2
    shape = (inter.n_members, inter.n_titles)
    train_m = sp.csr_matrix((np.ones((~test).sum()), (inter.rows[~test], inter.cols[~test])), shape=shape)
    test_m = sp.csr_matrix((np.ones(test.sum()), (inter.rows[test], inter.cols[test])), shape=shape)
    community = ds.members["community"].reindex(inter.member_ids).to_numpy()
    return train_m, test_m, community


def _recall_at_10(scores: np.ndarray, train: sp.csr_matrix, test: sp.csr_matrix) -> float:
    scores = np.array(scores, dtype=np.float64, copy=True)
    seen = train.tocoo()
    scores[seen.row, seen.col] = -np.inf
    top = np.argsort(-scores, axis=1, kind="stable")[:, :10]
    hits = np.take_along_axis(test.toarray(), top, axis=1).sum(axis=1)
    n_test = np.asarray(test.sum(axis=1)).ravel()
    ok = n_test > 0
    return float(np.mean(hits[ok] / np.minimum(n_test[ok], 10)))


def test_personal_beats_community_beats_global_popularity(demo: Dataset) -> None:
    train, test, community = _holdout(demo)
    n_members = train.shape[0]
    global_pop = np.asarray(train.sum(axis=0)).ravel()
    by_community = np.vstack([np.asarray(train[community == c].sum(axis=0)).ravel() for c in range(8)])
    x = train.toarray()
    norms = np.sqrt(x.sum(axis=0))
    norms[norms == 0] = 1
    cosine = (x.T @ x) / norms[:, None] / norms[None, :]
    np.fill_diagonal(cosine, 0)
    recall = {
        "global": _recall_at_10(np.broadcast_to(global_pop, (n_members, global_pop.size)), train, test),
        "community": _recall_at_10(by_community[community], train, test),
        "itemknn": _recall_at_10(x @ cosine, train, test),
    }
    assert recall["community"] > 1.3 * recall["global"], recall
    assert recall["itemknn"] > 1.1 * recall["community"], recall
    assert recall["itemknn"] > 1.5 * recall["global"], recall


def test_communities_are_detectable(demo: Dataset) -> None:
    """Community centroids (of half the members) classify the other half far better than chance."""
    inter = demo.interactions()
    x = inter.matrix("binary").toarray()
    x /= np.sqrt(np.maximum(x.sum(axis=0), 1))  # damp blockbusters
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    community = demo.members["community"].reindex(inter.member_ids).to_numpy()
    fit = np.arange(len(community)) % 2 == 0
    centroids = np.vstack([x[fit & (community == k)].mean(axis=0) for k in range(8)])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    accuracy = ((x[~fit] @ centroids.T).argmax(axis=1) == community[~fit]).mean()
    majority = np.bincount(community).max() / len(community)
    assert accuracy > 0.55 > 3 * majority


def test_custom_period_and_sizes() -> None:
    ds = make_demo(n_members=60, n_titles=40, n_communities=2, seed=1, start="2020-06-01", days=60)
    start = int(pd.Timestamp("2020-06-01", tz="UTC").timestamp())
    assert ds.events["timestamp"].between(start, start + 60 * 86400 - 1).all()
    assert len(ds.titles) == 40 and ds.members["community"].nunique() == 2


SMALL = {"n_members": 60, "n_titles": 40, "n_communities": 2, "seed": 1, "days": 60}


def test_a_start_within_a_day_means_that_day_from_midnight() -> None:
    """unix seconds at 13:00 UTC start the period at that day's midnight: the same world as the date."""
    at_one_pm = make_demo(**SMALL, start=START + 13 * 3600)
    pd.testing.assert_frame_equal(at_one_pm.events, make_demo(**SMALL, start="2024-01-01").events)


def test_ids_are_zero_padded_to_one_width_so_they_sort_in_number_order() -> None:
    """60 members and 40 titles are m01..m60 and t01..t40: one width, so text order is number order."""
    ds = make_demo(**SMALL)
    assert sorted(ds.members.index) == [f"m{i:02d}" for i in range(1, 61)]
    assert sorted(ds.titles.index) == [f"t{i:02d}" for i in range(1, 41)]


def test_a_naive_datetime_start_is_read_as_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    """datetime(2024, 3, 1) without a zone is 2024-03-01 UTC whatever the machine's zone (in Tokyo's local
    time it would be 2024-02-29 15:00 UTC, a day early)."""
    monkeypatch.setenv(
        "TZ", "JST-9"
    )  # a POSIX zone: no zoneinfo files needed (without them Tokyo read as UTC)
    time.tzset()
    try:
        assert time.localtime(0).tm_gmtoff == 9 * 3600
        naive = make_demo(**SMALL, start=datetime(2024, 3, 1))
    finally:
        monkeypatch.undo()
        time.tzset()
    pd.testing.assert_frame_equal(naive.events, make_demo(**SMALL, start="2024-03-01").events)


@pytest.mark.parametrize(
    "kwargs",
    [{"n_members": 1}, {"n_titles": 5}, {"n_communities": 0}, {"days": 3}, {"start": "not a date"}],
)
def test_bad_parameters(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        make_demo(**kwargs)  # type: ignore[arg-type]


def test_the_shortest_period_is_four_weeks() -> None:
    """days=28 is the shortest period made; 27 is refused, naming the bound."""
    assert make_demo(**{**SMALL, "days": 28}).n_events > 0
    with pytest.raises(ConfigError, match="days must be at least 28, not 27"):
        make_demo(**{**SMALL, "days": 27})
