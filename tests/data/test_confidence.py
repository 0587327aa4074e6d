"""The confidence formula of :mod:`reelkit.data.confidence`, checked against hand-computed weights, and the
Parquet round-trip of :class:`Dataset`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from reelkit.data.confidence import ConfidenceConfig, aggregate_events, aggregate_pairs, sample_plays
from reelkit.data.dataset import Dataset
from reelkit.data.demo import make_demo

# (member, title, timestamp, kind, value, fraction)
EVENTS = [
    ("a", "only5", 10, "rating", 5.0, np.nan),
    ("a", "only3", 11, "rating", 3.0, np.nan),
    ("a", "only1", 12, "rating", 1.0, np.nan),
    ("a", "rerated", 30, "rating", 2.0, np.nan),  # later by timestamp, earlier in the file: wins
    ("a", "rerated", 20, "rating", 4.0, np.nan),
    ("a", "half", 40, "play", 1800.0, 0.5),
    ("a", "twice", 50, "play", 6000.0, 1.0),
    ("a", "twice", 60, "play", 6000.0, 1.0),
    ("a", "unknown", 70, "play", np.nan, np.nan),
    ("b", "liked", 80, "play", 5700.0, 0.95),
    ("b", "liked", 81, "thumb", 1.0, np.nan),
    ("b", "changed", 90, "play", 6000.0, 1.0),
    ("b", "changed", 91, "thumb", 1.0, np.nan),
    ("b", "changed", 92, "thumb", -1.0, np.nan),
    ("b", "forgiven", 93, "thumb", -1.0, np.nan),
    ("b", "forgiven", 94, "thumb", 1.0, np.nan),
    ("b", "binge", 100, "play", 1000.0, 0.3),
    ("b", "binge", 101, "play", 3000.0, 0.92),
    ("b", "binge", 102, "play", 3000.0, 1.0),
    ("b", "both", 110, "play", 6000.0, 1.0),
    ("b", "both", 111, "rating", 5.0, np.nan),
]

# by the docstring's formula with the defaults (play 1, completion at 0.9 +0.5, each further completion
# +0.5, unknown fraction 0.5, rating 1 + (r - 1) / 4, thumb up +1.5, last thumb down -> 0)
EXPECTED = {
    ("a", "only5"): 2.0,  # 1 + 1
    ("a", "only3"): 1.5,  # 1 + 0.5
    ("a", "only1"): 1.0,  # 1 + 0
    ("a", "rerated"): 1.25,  # last rating (t=30) is 2: 1 + 0.25
    ("a", "half"): 0.5,
    ("a", "twice"): 3.0,  # 2 + 0.5 + 0.5
    ("a", "unknown"): 0.5,  # a play without a fraction counts as half, no completion
    ("b", "liked"): 2.95,  # 0.95 + 0.5 + 1.5
    ("b", "forgiven"): 1.5,  # last thumb is up
    ("b", "binge"): 1.5,  # plays to 0.3, 0.92 and 1.0 are one viewing: 1.0 + 0.5
    ("b", "both"): 3.5,  # 1 + 0.5 + (1 + 1)
}


def dataset() -> Dataset:
    frame = pd.DataFrame(EVENTS, columns=["member_id", "title_id", "timestamp", "kind", "value", "fraction"])
    return Dataset.from_events(frame)


def weights(ds: Dataset, **kw: object) -> dict[tuple[str, str], float]:
    inter = ds.interactions(**kw)  # type: ignore[arg-type]
    return {
        (str(inter.member_ids[r]), str(inter.title_ids[c])): float(w)
        for r, c, w in zip(inter.rows, inter.cols, inter.weight, strict=True)
    }


def test_default_weights_match_hand_computation() -> None:
    got = weights(dataset())
    assert set(got) == set(EXPECTED)  # ("b", "changed") ends on a thumb down: not a positive interaction
    for pair, want in EXPECTED.items():
        assert got[pair] == pytest.approx(want, abs=1e-6), pair


@pytest.mark.parametrize(
    ("fractions", "watched", "completions", "weight"),
    [
        ((1.0,), 1.0, 1, 1.5),
        ((0.5, 1.0), 1.0, 1, 1.5),  # resumed to the end: one viewing
        ((0.3, 0.6, 0.91, 1.0), 1.0, 1, 1.5),  # progress reports of one viewing (was 2.81, 2, 3.81)
        ((1.0, 1.0), 2.0, 2, 3.0),  # a real rewatch
        ((1.0, 0.4), 1.4, 1, 1.9),  # a rewatch stopped at 40%
        ((0.6, 0.6), 1.2, 0, 1.2),  # the same position twice: two viewings
        ((0.5, 0.005, 1.0), 1.0, 1, 1.5),  # a preview between a start and its resume splits nothing
    ],
)
def test_plays_of_one_viewing_count_once(
    fractions: tuple[float, ...], watched: float, completions: int, weight: float
) -> None:
    """A play's fraction is the position it reached: a play that reached further than the one before
    continues its viewing; the pair's watched is the sum of each viewing's furthest position."""
    n = len(fractions)
    agg = aggregate_pairs(
        np.zeros(n, np.int64),
        1,
        np.full(n, "play", dtype=object),
        np.full(n, 100, np.int64),  # one second: ties keep event order
        np.asarray(fractions) * 6000,
        np.asarray(fractions),
        ConfidenceConfig(),
        (1.0, 5.0),
    )
    assert agg.watched.tolist() == pytest.approx([watched])
    assert agg.completions.tolist() == [completions]
    assert agg.weight.tolist() == pytest.approx([weight])


def test_plays_listed_out_of_time_order_are_split_into_viewings_in_time_order() -> None:
    """A play to 1.0 at t=20 listed before a play to 0.4 at t=10: in time order the 0.4 starts the viewing
    the 1.0 continues (watched 1.0, one completion: 1.5), not two viewings in file order (1.4: 1.9)."""
    agg = aggregate_pairs(
        np.zeros(2, np.int64),
        1,
        np.array(["play", "play"], dtype=object),
        np.array([20, 10], np.int64),
        np.array([6000.0, 2400.0]),
        np.array([1.0, 0.4]),
        ConfidenceConfig(),
        (1.0, 5.0),
    )
    assert agg.watched.tolist() == pytest.approx([1.0])
    assert agg.completions.tolist() == [1]
    assert agg.weight.tolist() == pytest.approx([1.5])


def test_sample_cut_completion_threshold_and_rating_clip_boundaries() -> None:
    """Boundaries of the formula: a sample is under 120 s *and* under a tenth (100 s at 15% is viewing);
    a play reaching the completion threshold completes (threshold 1.0, a full play: 1 + 0.5); a rating
    outside the scale is clipped to it (7 on 1..5 weighs as 5: 1 + 1, and -3 as 1: 1 + 0)."""
    plays = np.array(["play"] * 3, dtype=object)
    assert sample_plays(plays, np.array([100.0, 100.0, 100.0]), np.array([0.15, 0.099, 0.01])).tolist() == [
        False,
        True,
        True,
    ]
    # past 120 s only the share counts: under 2% is a sample, 2% itself is not
    long = sample_plays(plays[:2], np.array([600.0, 600.0]), np.array([0.0199, 0.02]))
    assert long.tolist() == [True, False]

    def one(kind: str, value: float, fraction: float, cfg: ConfidenceConfig) -> tuple[int, float]:
        agg = aggregate_pairs(
            np.zeros(1, np.int64),
            1,
            np.array([kind], dtype=object),
            np.array([100], np.int64),
            np.array([value]),
            np.array([fraction]),
            cfg,
            (1.0, 5.0),
        )
        return int(agg.completions[0]), float(agg.weight[0])

    assert one("play", 6000.0, 1.0, ConfidenceConfig(completion_threshold=1.0)) == (1, pytest.approx(1.5))
    assert one("rating", 7.0, np.nan, ConfidenceConfig())[1] == pytest.approx(2.0)
    assert one("rating", -3.0, np.nan, ConfidenceConfig())[1] == pytest.approx(1.0)


def test_sample_seconds_and_a_tenth_are_strict_and_events_take_the_given_thresholds() -> None:
    """A sample is under 120 *seconds* (119 s at 5% is one, 120 s or 130 s at 5% is not) and under a tenth
    (60 s at exactly 0.1 is not); aggregate_events applies the thresholds it is given (with 30 s, a 60 s
    play at 5% is a viewing); a fraction over 1 given to aggregate_pairs is capped (watched 1.0 at 1.2)."""
    plays = np.array(["play"] * 4, dtype=object)
    got = sample_plays(plays, np.array([119.0, 120.0, 130.0, 60.0]), np.array([0.05, 0.05, 0.05, 0.1]))
    assert got.tolist() == [True, False, False, False]
    ev = pd.DataFrame(
        [("m", "t", 1, "play", 60.0, 0.05)],
        columns=["member_id", "title_id", "timestamp", "kind", "value", "fraction"],
    )
    assert aggregate_events(ev, ConfidenceConfig(), (1.0, 5.0))["sample_only"].tolist() == [True]
    tight = aggregate_events(ev, ConfidenceConfig(), (1.0, 5.0), sample_seconds=30.0)
    assert tight["sample_only"].tolist() == [False]
    over = aggregate_pairs(
        np.zeros(1, np.int64),
        1,
        np.array(["play"], dtype=object),
        np.array([1], np.int64),
        np.array([7200.0]),
        np.array([1.2]),
        ConfidenceConfig(),
        (1.0, 5.0),
    )
    assert over.watched.tolist() == pytest.approx([1.0])


def test_ratings_timestamps_and_scale() -> None:
    inter = dataset().interactions()
    assert inter.rating_scale == (1.0, 5.0)
    pos = {
        (str(inter.member_ids[r]), str(inter.title_ids[c])): k
        for k, (r, c) in enumerate(zip(inter.rows, inter.cols, strict=True))
    }
    assert inter.rating[pos[("a", "rerated")]] == 2.0
    assert np.isnan(inter.rating[pos[("a", "half")]])
    assert inter.timestamp[pos[("a", "rerated")]] == 30  # the latest event
    assert inter.timestamp[pos[("b", "binge")]] == 102


def test_a_sample_play_moves_no_pair_time_and_samples_alone_are_not_viewed() -> None:
    """A 10 s preview today of a title finished 60 days ago made it recent (its time was the preview's),
    and a pair of previews only counted as watched in the binary matrix."""
    frame = pd.DataFrame(
        [
            ("m", "old", 100, "play", 6000.0, 1.0),
            ("m", "old", 900, "play", 10.0, 10 / 6000),  # a sample: under 2% of the title
            ("m", "promo", 800, "play", 100.0, 100 / 1320),  # a sample: under 120 s and 10%
            ("m", "promo", 700, "play", 30.0, 30 / 1320),
            ("m", "rated", 50, "rating", 4.0, np.nan),
            ("m", "rated", 60, "play", 5.0, 5 / 6000),
        ],
        columns=["member_id", "title_id", "timestamp", "kind", "value", "fraction"],
    )
    inter = Dataset.from_events(frame).interactions()
    got = {
        str(inter.title_ids[c]): (int(t), bool(s))
        for c, t, s in zip(inter.cols, inter.timestamp, inter.sample_only, strict=True)
    }
    assert got == {"old": (100, False), "promo": (800, True), "rated": (50, False)}
    viewed = inter.matrix("viewed").toarray()[0]
    assert dict(zip(inter.title_ids.tolist(), viewed.tolist(), strict=True)) == {
        "old": 1.0,
        "promo": 0.0,
        "rated": 1.0,
    }


def test_explicit_scale_and_custom_coefficients() -> None:
    ds = dataset()
    assert weights(ds, rating_scale=(0.0, 10.0))[("a", "only5")] == pytest.approx(1.5)  # 1 + 5/10
    cfg = ConfidenceConfig(play_weight=2.0, completion_bonus=0.0, rewatch_bonus=1.0, thumb_weight=0.0)
    got = weights(ds, confidence=cfg)
    assert got[("a", "twice")] == pytest.approx(2 * 2.0 + 0.0 + 1.0)
    assert got[("b", "liked")] == pytest.approx(2 * 0.95)
    assert ("b", "forgiven") not in got  # a thumb up with thumb_weight 0 is weight 0: dropped
    cfg = ConfidenceConfig(completion_threshold=0.3, unknown_fraction=1.0)
    got = weights(ds, confidence=cfg)
    assert got[("a", "half")] == pytest.approx(0.5 + 0.5)
    assert got[("a", "unknown")] == pytest.approx(1.0 + 0.5)


def test_min_rating_keeps_unrated_pairs() -> None:
    got = weights(dataset(), min_rating=3.0)
    assert ("a", "only1") not in got and ("a", "rerated") not in got
    assert ("a", "only3") in got and ("a", "half") in got


def test_low_ratings_as_dislikes_weigh_nothing_but_stay_seen() -> None:
    """``low_rating="dislike"``: a last rating under the scale's midpoint (3 on 1-5) is weight 0 however far
    the title was watched, and the pair is kept as seen (not recommended again), as a thumbs-down's; 3 itself
    is not low (1 + 0.5), and a play without a rating is untouched."""
    frame = pd.DataFrame(
        [
            *EVENTS,
            ("b", "hated", 120, "play", 6000.0, 1.0),
            ("b", "hated", 121, "rating", 2.5, np.nan),
            *[("c", t, 130, "play", 6000.0, 1.0) for t in ("only1", "rerated", "hated")],  # known titles
        ],
        columns=["member_id", "title_id", "timestamp", "kind", "value", "fraction"],
    )
    ds = Dataset.from_events(frame)
    cfg = ConfidenceConfig(low_rating="dislike")
    got = weights(ds, confidence=cfg)
    dropped = {("a", "only1"), ("a", "rerated"), ("b", "hated")}  # 1, 2 (the last rating), 2.5 after a watch
    liked_by_c = {("c", "only1"), ("c", "rerated"), ("c", "hated")}
    assert set(got) == (set(EXPECTED) | {("b", "hated")} | liked_by_c) - dropped
    assert got[("a", "only3")] == pytest.approx(1.5) and got[("a", "twice")] == pytest.approx(3.0)
    assert weights(ds)[("b", "hated")] == pytest.approx(1.0 + 0.5 + 1.0 + 1.5 / 4)  # positive: counted
    inter = ds.interactions(confidence=cfg)
    seen = {
        (str(inter.member_ids[r]), str(inter.title_ids[c]))
        for r, c in zip(inter.seen_rows, inter.seen_cols, strict=True)
    }
    assert seen == dropped


def test_the_later_of_a_thumb_and_a_rating_says_whether_the_title_is_disliked() -> None:
    """A low rating followed by a thumb up is no dislike, and a thumbs-down followed by a rating not in the
    lower half no longer counts; the reverse orders still do; ties in time go by event order. Both signals
    stay as data (the rating is still the pair's rating). Weights by the formula: rating 1 + (r - 1) / 4,
    thumb up +1.5."""
    rows = [
        ("a", "up_after_low", 10, "rating", 1.0, np.nan),
        ("a", "up_after_low", 11, "thumb", 1.0, np.nan),  # 1 + 0 + 1.5
        ("a", "low_after_up", 20, "thumb", 1.0, np.nan),
        ("a", "low_after_up", 21, "rating", 2.0, np.nan),  # dislike: 0
        ("a", "good_after_down", 30, "thumb", -1.0, np.nan),
        ("a", "good_after_down", 31, "rating", 3.0, np.nan),  # the midpoint is not low: 1 + 0.5
        ("a", "low_after_down", 40, "thumb", -1.0, np.nan),
        ("a", "low_after_down", 41, "rating", 1.0, np.nan),  # 0 however low ratings count
        ("a", "down_after_good", 50, "rating", 5.0, np.nan),
        ("a", "down_after_good", 51, "thumb", -1.0, np.nan),  # 0
        ("a", "tie_thumb_last", 60, "rating", 1.0, np.nan),
        ("a", "tie_thumb_last", 60, "thumb", 1.0, np.nan),  # same time, the thumb listed later: 1 + 1.5
        ("a", "tie_rating_last", 70, "thumb", 1.0, np.nan),
        ("a", "tie_rating_last", 70, "rating", 1.0, np.nan),  # same time, the rating listed later: 0
        ("b", "anchor", 80, "rating", 5.0, np.nan),  # fixes the scale at 1-5
    ]
    frame = pd.DataFrame(rows, columns=["member_id", "title_id", "timestamp", "kind", "value", "fraction"])
    cfg = ConfidenceConfig(low_rating="dislike")
    agg = aggregate_events(frame, cfg, (1.0, 5.0)).set_index("title_id")
    w = agg["weight"].to_dict()
    assert w["up_after_low"] == pytest.approx(2.5) and w["tie_thumb_last"] == pytest.approx(2.5)
    assert w["good_after_down"] == pytest.approx(1.5)
    assert w["low_after_up"] == 0 and w["low_after_down"] == 0 and w["down_after_good"] == 0
    assert w["tie_rating_last"] == 0
    assert agg.loc["up_after_low", "rating"] == 1.0 and agg.loc["good_after_down", "thumb"] == -1.0
    # counting every rating as an interaction: only the thumbs-downs that stand weigh nothing
    pos = aggregate_events(frame, ConfidenceConfig(), (1.0, 5.0)).set_index("title_id")["weight"].to_dict()
    assert pos["low_after_up"] == pytest.approx(1.25 + 1.5) and pos["tie_rating_last"] == pytest.approx(2.5)
    assert pos["good_after_down"] == pytest.approx(1.5)
    assert pos["low_after_down"] == 0 and pos["down_after_good"] == 0


# ------------------------------------------------------------------------------------ Parquet round-trip
def test_roundtrip_hand_made(tmp_path: Path) -> None:
    titles = pd.DataFrame(
        {
            "title_id": ["only5", "half"],
            "name": ["Five Stars", "Half Way"],
            "genres": ["Drama|Comedy", ""],
            "year": pd.array([1999, None], dtype="Int64"),
            "kind": ["movie", "series"],
            "released": pd.array([915148800, None], dtype="Int64"),
        }
    )
    frame = pd.DataFrame(EVENTS, columns=["member_id", "title_id", "timestamp", "kind", "value", "fraction"])
    ds = Dataset.from_events(frame, titles)
    ds.save(tmp_path / "ds")
    assert sorted(p.name for p in (tmp_path / "ds").iterdir()) == [
        "events.parquet",
        "members.parquet",
        "titles.parquet",
    ]
    again = Dataset.load(tmp_path / "ds")
    pd.testing.assert_frame_equal(again.events, ds.events)
    pd.testing.assert_frame_equal(again.titles, ds.titles)
    pd.testing.assert_frame_equal(again.members, ds.members)
    assert weights(again) == weights(ds)


def test_roundtrip_demo(tmp_path: Path) -> None:
    ds = make_demo(n_members=150, n_titles=100, n_communities=3, seed=2)
    ds.save(tmp_path / "demo")
    again = Dataset.load(tmp_path / "demo")
    pd.testing.assert_frame_equal(again.events, ds.events)
    pd.testing.assert_frame_equal(again.titles, ds.titles)
    pd.testing.assert_series_equal(again.members["name"], ds.members["name"])
