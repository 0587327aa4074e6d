"""Recommendation inputs a review found handled wrongly: repeated titles in a history, a rating scale set
by a few wild ratings, time splits on data without times, title ids with commas on the command line, and
more communities asked for than there are distinct tastes."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from reelkit.cli.recommend import _parse_history
from reelkit.data.dataset import Dataset, Interactions
from reelkit.errors import ConfigError, RatingScaleWarning
from reelkit.evaluate.splits import split_last, split_time
from reelkit.recommend.communities import CommunityPopularity
from reelkit.recommend.itemknn import ItemKNN


def _ratings(rows: list[tuple[str, str, float]], ts: bool = True) -> Dataset:
    ev = pd.DataFrame(rows, columns=["member_id", "title_id", "value"])
    ev["kind"] = "rating"
    ev["timestamp"] = np.arange(len(ev)) if ts else 0
    return Dataset.from_events(ev)


def _grid(n_members: int = 30, n_titles: int = 12, seed: int = 0) -> list[tuple[str, str, float]]:
    rng = np.random.default_rng(seed)
    return [
        (f"u{u}", f"t{t}", float(rng.integers(1, 6)))
        for u in range(n_members)
        for t in rng.choice(n_titles, 6, replace=False)
    ]


def test_a_title_listed_twice_in_a_history_counts_once() -> None:
    model = ItemKNN().fit(_ratings(_grid()).interactions())
    once = model.recommend_history([["t1", "t2"]], 5)
    twice = model.recommend_history([["t1", "t1", "t2"]], 5)
    assert once.items(0) == twice.items(0)
    hist, _ = model.histories_matrix([["t1", "t1", "t2"]])
    assert sorted(hist.data.tolist()) == [1.0, 1.0]


def test_history_weights_are_one_plus_the_clipped_normalised_rating() -> None:
    """A given history's weight is 1 + clip((r - lo) / (hi - lo), 0, 1): 3 of 1-5 weighs 1.5, a 9 or a 0
    off the scale weighs as 5 or 1 would, an unrated title 1."""
    rows = [(f"u{u}", f"t{t}", float(1 + (u + t) % 5)) for u in range(5) for t in range(5)]
    model = ItemKNN().fit(_ratings(rows).interactions())
    assert model.rating_scale_ == (1.0, 5.0)
    hist, ratings = model.histories_matrix([{"t0": 3.0, "t1": 9.0, "t2": 0.0, "t3": float("nan")}])
    assert hist.toarray()[0].tolist() == [1.5, 2.0, 1.0, 1.0, 0.0]
    assert ratings.toarray()[0].tolist() == [3.0, 9.0, 0.0, 0.0, 0.0]


def test_cli_history_reads_quoted_ids_and_counts_a_title_once() -> None:
    assert _parse_history('"Amélie, le film",260,260') == ["Amélie, le film", "260"]
    assert _parse_history('"a, b"=4, c=3') == {"a, b": 4.0, "c": 3.0}
    with pytest.raises(ConfigError, match="empty"):
        _parse_history(" , ")


def test_a_few_wild_ratings_are_warned_about() -> None:
    rows = _grid()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RatingScaleWarning)
        _ratings(rows).interactions()  # a clean 1-5 file: no warning
    with pytest.warns(RatingScaleWarning, match="-3 to 50"):
        inter = _ratings([*rows, ("u0", "t11", 50.0), ("u1", "t10", -3.0)]).interactions()
    assert inter.rating_scale == (-3.0, 50.0)  # still the data's own, as documented; the warning says so


@pytest.mark.parametrize("n", [25, 100, 150])
def test_one_wild_rating_in_a_small_file_is_warned_about(n: int) -> None:
    """n ratings of 1-5 and one 50: under ~200 ratings the interpolated 99.5% quantile took the 50 in."""
    rows = [(f"u{i % 7}", f"t{i}", float(1 + i % 5)) for i in range(n)] + [("u0", "wild", 50.0)]
    with pytest.warns(RatingScaleWarning, match="1 rating"):
        _ratings(rows).interactions()


def test_one_wild_low_rating_is_warned_about() -> None:
    """A -40 among 100 ratings of 1-5 (more than the core width 4 below 1) stretches the scale downwards."""
    rows = [(f"u{i % 7}", f"t{i}", float(1 + i % 5)) for i in range(100)] + [("u0", "wild", -40.0)]
    with pytest.warns(RatingScaleWarning, match=r"1 rating.*-40 to 5"):
        _ratings(rows).interactions()


def test_the_scale_check_starts_at_20_ratings_and_flags_beyond_one_core_width() -> None:
    """19 ratings of 1-5 and a 50 (20 in all) are checked; among 100 ratings of 1-5 (core 1 to 5, width 4)
    a 10 lies beyond 5 + 4 and is warned about, a 9 is not."""
    small = [(f"u{i % 7}", f"t{i}", float(1 + i % 5)) for i in range(19)] + [("u0", "wild", 50.0)]
    with pytest.warns(RatingScaleWarning, match="1 rating"):
        _ratings(small).interactions()
    rows = [(f"u{i % 7}", f"t{i}", float(1 + i % 5)) for i in range(100)]
    with pytest.warns(RatingScaleWarning, match=r"1 rating.*1 to 10"):
        _ratings([*rows, ("u0", "wild", 10.0)]).interactions()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RatingScaleWarning)
        _ratings([*rows, ("u0", "wild", 9.0)]).interactions()


def test_time_splits_need_times() -> None:
    ds = _ratings(_grid(), ts=False)
    for split in (lambda d: split_last(d), lambda d: split_time(d, 0.8)):
        with pytest.raises(ConfigError, match="same time"):
            split(ds)
    _, test = split_last(_ratings(_grid()))
    assert len(test.events) > 0


def test_no_more_communities_than_distinct_tastes() -> None:
    # two members with the same taste: one community, not one empty and one with both
    rows = [(m, t, 4.0) for m in ("a", "b") for t in ("x", "y", "z")]
    model = CommunityPopularity(n_communities=2).fit(_ratings(rows).interactions())
    sizes = np.bincount(model.labels_, minlength=model.n_communities_)
    assert model.n_communities_ == 1 and sizes.tolist() == [2]


def test_distinctive_titles_need_min_support_members() -> None:
    """Two disjoint tastes of 6 members each: every title one side watches has lift 12/6 = 2 there, and is
    distinctive exactly when at least ``min_support`` (3) of that side watched it ("r3" by 3: in; "r2" by
    2: out)."""
    rows = [(f"a{m}", t, 4.0) for m in range(6) for t in ("x1", "x2", "x3")]
    rows += [(f"b{m}", t, 4.0) for m in range(6) for t in ("y1", "y2", "y3")]
    rows += [(f"a{m}", "r3", 4.0) for m in range(3)] + [(f"a{m}", "r2", 4.0) for m in range(3, 5)]
    model = CommunityPopularity(n_communities=2, dims=2, min_support=3).fit(_ratings(rows).interactions())
    profiles = {min(t for t, _ in c.favourites): c for c in model.communities()}
    a, b = profiles["r2"], profiles["y1"]
    assert (a.size, b.size) == (6, 6)
    assert {t for t, _ in a.distinctive} == {"x1", "x2", "x3", "r3"}
    assert [lift for _, lift in a.distinctive] == pytest.approx([2.0] * 4)
    assert {t for t, _ in b.distinctive} == {"y1", "y2", "y3"}


def test_a_community_is_named_by_its_two_genres_of_highest_lift() -> None:
    """Pins community names and genres: genre lift = the genre's share of the community's views / its share
    of all views; a's views are a third each Drama, Horror, Mystery against 1/3, 1/6, 1/6 of all (lift 1, 2,
    2): "Horror & Mystery fans" (highest lift, ties alphabetical; not Drama, the largest share), with its
    three genres listed."""
    rows = [(f"a{m}", t, 4.0) for m in range(6) for t in ("x1", "x2", "x3")]
    rows += [(f"b{m}", t, 4.0) for m in range(6) for t in ("y1", "y2", "y3")]
    ev = pd.DataFrame(rows, columns=["member_id", "title_id", "value"])
    ev["kind"], ev["timestamp"] = "rating", np.arange(len(ev))
    titles = pd.DataFrame(
        {
            "title_id": ["x1", "x2", "x3", "y1", "y2", "y3"],
            "name": ["X1", "X2", "X3", "Y1", "Y2", "Y3"],
            "genres": ["Drama|Horror|Mystery"] * 3 + ["Comedy|Drama|Family"] * 3,
        }
    )
    model = CommunityPopularity(n_communities=2, dims=2).fit(Dataset.from_events(ev, titles).interactions())
    got = {c.name: c.genres for c in model.communities()}
    assert got == {
        "Horror & Mystery fans": [("Horror", 2.0), ("Mystery", 2.0), ("Drama", 1.0)],
        "Comedy & Family fans": [("Comedy", 2.0), ("Family", 2.0), ("Drama", 1.0)],
    }


def test_no_scale_warning_when_nearly_every_rating_is_the_same() -> None:
    rows = [(f"u{i}", f"t{i % 50}", 1.0) for i in range(1992)] + [(f"v{i}", "t0", 0.0) for i in range(8)]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RatingScaleWarning)
        assert _ratings(rows).interactions().rating_scale == (0.0, 1.0)


def test_trending_does_not_count_a_one_second_sample() -> None:
    from reelkit.recommend.popularity import Trending

    rows = [(f"s{i}", "D", 0.001) for i in range(4)] + [(f"h{i}", "B", 0.5) for i in range(3)]
    ev = pd.DataFrame(rows, columns=["member_id", "title_id", "fraction"])
    ev["kind"] = "play"
    ev["value"] = ev["fraction"] * 1000
    ev["timestamp"] = 1_700_000_000
    model = Trending().fit(Dataset.from_events(ev).interactions())
    scores = dict(zip(model.title_ids_.tolist(), model.item_scores_.tolist(), strict=True))
    assert scores["B"] == pytest.approx(3.0) and scores["D"] == 0.0  # D ranked first before


def _one_title(weights: list[float], ages_days: list[float], now: int = 1_700_000_000) -> Interactions:
    n = len(weights)
    return Interactions(
        member_ids=np.asarray([f"m{i}" for i in range(n)]),
        title_ids=np.asarray(["T"]),
        rows=np.arange(n, dtype=np.int32),
        cols=np.zeros(n, dtype=np.int32),
        weight=np.asarray(weights, dtype=np.float32),
        rating=np.full(n, np.nan, dtype=np.float32),
        timestamp=np.asarray([now - round(a * 86400) for a in ages_days], dtype=np.int64),
        titles=pd.DataFrame(index=pd.Index(["T"], name="title_id")),
    )


def test_trending_min_weight_is_inclusive_and_weights_scale_the_decay() -> None:
    """Trending counts a pair whose weight equals ``min_weight``; ``weighting='weight'`` sums w * 2^-age/h."""
    from reelkit.recommend.popularity import Trending

    data = _one_title([1.0, 1.5, 2.0], [0.0, 7.0, 14.0])
    now = int(data.timestamp.max())
    counted = Trending(min_weight=1.5, now=now).fit(data).item_scores_
    assert counted[0] == pytest.approx(0.5 + 0.25)  # weights 1.5 (a half-life old) and 2.0 (two)
    weighted = Trending(weighting="weight", now=now).fit(data).item_scores_
    assert weighted[0] == pytest.approx(1.0 * 1 + 1.5 * 0.5 + 2.0 * 0.25)


def test_trending_counts_an_event_after_now_as_new_not_as_more() -> None:
    """An event dated after the reference time weighs 1 (age 0), not 2 ** (7 / 7) for a week ahead."""
    from reelkit.recommend.popularity import Trending

    data = _one_title([1.0, 1.0], [0.0, -7.0])
    now = int(data.timestamp.min())  # the first event's time: the second is a week after it
    assert Trending(now=now).fit(data).item_scores_[0] == pytest.approx(2.0)


def test_trending_clock_stops_at_the_wall_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ``now``, an event dated a year ahead does not move the clock: the week-old view still counts
    a half (2 ** -1), the one ahead 1 (it counted 2 ** -(372 / 7), about 0, with the clock a year on)."""
    from reelkit.recommend.popularity import Trending

    wall = 1_700_000_000
    monkeypatch.setattr("reelkit.recommend.popularity.time.time", lambda: float(wall))
    model = Trending().fit(_one_title([1.0, 1.0], [7.0, -365.0], now=wall))
    assert model.reference_time_ == wall
    assert model.item_scores_[0] == pytest.approx(1.5)


def test_trending_by_weight_leaves_out_sample_plays() -> None:
    """With ``weighting='weight'`` a pair of sample plays only adds nothing; a full view its weight."""
    from reelkit.recommend.popularity import Trending

    now = 1_790_000_000
    rows = [(f"p{m}", "promo", now, 100.0, 100 / 1320) for m in range(6)]
    rows += [("w0", "hit", now, 1320.0, 1.0)]
    ev = pd.DataFrame(rows, columns=["member_id", "title_id", "timestamp", "value", "fraction"])
    inter = Dataset.from_events(ev.assign(kind="play")).interactions()
    model = Trending(weighting="weight").fit(inter)
    scores = dict(zip(model.title_ids_.tolist(), model.item_scores_.tolist(), strict=True))
    hit = inter.weight[inter.cols == inter.title_ids.tolist().index("hit")]
    assert scores == {"hit": pytest.approx(float(hit[0])), "promo": 0.0}


def test_trending_counts_plays_not_thumbs_unless_the_data_has_no_plays() -> None:
    """Trending decayed each pair by its latest event of any kind: three thumbs-up today made a title
    nobody had played for 200 days the first (3 against a title played by two this week, 1.5). Where the
    data has plays, a pair counts at its last play, and a pair of thumbs or ratings only not at all; data
    with no plays (a ratings file) still counts every rating at its time."""
    from reelkit.recommend.popularity import Trending

    day, now = 86400, 1_790_000_000
    rows = [(f"a{m}", "old", "play", now - 200 * day, 6000.0, 1.0) for m in range(3)]
    rows += [(f"a{m}", "old", "thumb", now, 1.0, np.nan) for m in range(3)]
    rows += [(f"b{m}", "old", "thumb", now, 1.0, np.nan) for m in range(2)]
    rows += [(f"c{m}", "new", "play", now - 7 * day, 6000.0, 1.0) for m in range(2)]
    rows += [("c0", "new", "rating", now, 5.0, np.nan)]
    cols = ["member_id", "title_id", "kind", "timestamp", "value", "fraction"]
    inter = Dataset.from_events(pd.DataFrame(rows, columns=cols)).interactions()
    model = Trending().fit(inter)
    scores = dict(zip(model.title_ids_.tolist(), model.item_scores_.tolist(), strict=True))
    assert scores == {"new": pytest.approx(2 * 0.5), "old": pytest.approx(3 * 2 ** (-200 / 7), rel=1e-5)}
    assert model.counts_plays_ and model.reference_time_ == now
    ratings = [(f"r{m}", "x", "rating", now - 7 * day * m, 4.0, np.nan) for m in range(3)]
    only_ratings = Dataset.from_events(pd.DataFrame(ratings, columns=cols)).interactions()
    model = Trending().fit(only_ratings)
    assert not model.counts_plays_ and model.item_scores_[0] == pytest.approx(1 + 0.5 + 0.25)


def test_previews_are_not_views_for_trending_nor_communities() -> None:
    """Six 100 s autoplays of a 22-minute episode outranked four full views in Trending, a 10 s preview
    today of a title finished 60 days ago counted as viewed today, and previews counted as "watched by" a
    community: sample plays (the home page's rule) count for neither."""
    from reelkit.recommend.popularity import Trending

    day, now = 86400, 1_790_000_000
    rows = [(f"p{m}", "promo", now, 100.0, 100 / 1320) for m in range(6)]
    rows += [(f"w{m}", "hit", now, 1320.0, 1.0) for m in range(4)]
    rows += [(f"o{m}", "old", now - 60 * day, 6000.0, 1.0) for m in range(5)]
    rows += [(f"o{m}", "old", now, 10.0, 10 / 6000) for m in range(5)]
    ev = pd.DataFrame(rows, columns=["member_id", "title_id", "timestamp", "value", "fraction"])
    ev["kind"] = "play"
    inter = Dataset.from_events(ev).interactions()
    model = Trending().fit(inter)
    scores = dict(zip(model.title_ids_.tolist(), model.item_scores_.tolist(), strict=True))
    assert scores["hit"] == pytest.approx(4.0) and scores["promo"] == 0.0
    assert scores["old"] == pytest.approx(5 * 2 ** (-60 / 7), rel=1e-5)
    comm = CommunityPopularity(n_communities=1).fit(inter)
    watched = dict(zip(comm.title_ids_.tolist(), comm.global_popularity_.tolist(), strict=True))
    assert watched == {"hit": 4.0, "old": 5.0, "promo": 0.0}
    assert comm.community_popularity_.tolist() == [[watched[t] for t in comm.title_ids_.tolist()]]
