"""Splits: pairs stay whole, fractions, leave-last, time cuts, determinism, single-title members."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from reelkit.data.dataset import Dataset
from reelkit.errors import ConfigError, EmptyDataError
from reelkit.evaluate.splits import split_last, split_random, split_time


def make_dataset(titles_per_member: dict[str, int], *, seed: int = 0) -> Dataset:
    """Member ``m`` watched titles ``t0..t{c-1}``; title ``tj`` at time ``1000 * (j + 1)`` (rated), and each
    even title also has a later play at ``+ 10`` seconds, so pairs have several events."""
    rows = []
    for m, c in titles_per_member.items():
        for j in range(c):
            t = 1000 * (j + 1)
            rows.append((m, f"t{j}", t, "rating", float(1 + j % 5), np.nan))
            if j % 2 == 0:
                rows.append((m, f"t{j}", t + 10, "play", 3600.0, 0.95))
    ev = pd.DataFrame(rows, columns=["member_id", "title_id", "timestamp", "kind", "value", "fraction"])
    ev = ev.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return Dataset.from_events(ev)


def pairs(ds: Dataset) -> set[tuple[str, str]]:
    return set(zip(ds.events["member_id"].astype(str), ds.events["title_id"].astype(str), strict=True))


def titles_of(ds: Dataset, member: str) -> set[str]:
    ev = ds.events
    return set(ev.loc[ev["member_id"] == member, "title_id"].astype(str))


DS = make_dataset({"a": 10, "b": 5, "c": 1, "d": 2, "e": 3})


SPLITS: list[Callable[[Dataset], tuple[Dataset, Dataset]]] = [
    lambda d: split_random(d, 0.2, 0),
    lambda d: split_last(d, 2),
    lambda d: split_time(d, 0.5),
]


@pytest.mark.parametrize("split", SPLITS)
def test_pairs_never_split_and_events_preserved(split: Callable[[Dataset], tuple[Dataset, Dataset]]) -> None:
    train, test = split(DS)
    assert not pairs(train) & pairs(test)
    assert pairs(train) | pairs(test) == pairs(DS)
    # every event kept, but for the time cut's: a training pair's events after the cut are dropped
    cut = float(np.quantile(DS.events["timestamp"], 0.5))
    late_train = DS.events["timestamp"].ge(cut) & pd.Series(
        [p in pairs(train) for p in zip(DS.events["member_id"], DS.events["title_id"], strict=True)]
    )
    dropped = int(late_train.sum()) if split is SPLITS[2] else 0
    assert train.n_events + test.n_events == DS.n_events - dropped
    # the catalog and members are shared
    assert train.titles is DS.titles and test.members is DS.members


def test_random_fractions_round_half_up_and_keep_one_in_train() -> None:
    train, test = split_random(DS, 0.2, seed=0)
    # round(0.2 * c) half-up, capped at c - 1: a 10 -> 2, b 5 -> 1, c 1 -> 0, d 2 -> 0 (0.4), e 3 -> 1 (0.6)
    expected = {"a": 2, "b": 1, "c": 0, "d": 0, "e": 1}
    for m, n in expected.items():
        assert len(titles_of(test, m)) == n
        assert len(titles_of(train, m)) == len(titles_of(DS, m)) - n
    # 0.5 of 5 is 2.5 -> 3 (half-up); 0.9 of 2 would be 2 -> capped at 1
    _, test = split_random(DS, 0.5, seed=0)
    assert len(titles_of(test, "b")) == 3
    _, test = split_random(DS, 0.9, seed=0)
    assert len(titles_of(test, "d")) == 1 and len(titles_of(test, "c")) == 0


def test_random_rounds_half_up_where_the_product_falls_an_ulp_short() -> None:
    """Pins half-up rounding of 0.7 * 45 (31.499999999999996 in floating point, 31.5 exactly): 32 held out."""
    train, test = split_random(make_dataset({"a": 45}), 0.7, seed=0)
    assert len(titles_of(test, "a")) == 32 and len(titles_of(train, "a")) == 13


def test_random_is_deterministic_and_ignores_row_order() -> None:
    a = split_random(DS, 0.3, seed=7)
    b = split_random(make_dataset({"a": 10, "b": 5, "c": 1, "d": 2, "e": 3}, seed=99), 0.3, seed=7)
    assert pairs(a[1]) == pairs(b[1])
    tests = {frozenset(pairs(split_random(DS, 0.3, seed=s)[1])) for s in range(6)}
    assert len(tests) > 1  # the seed matters


def test_random_rejects_bad_fraction_and_empty_test() -> None:
    with pytest.raises(ConfigError):
        split_random(DS, 1.0)
    with pytest.raises(ConfigError):
        split_random(DS, 0.0)
    with pytest.raises(EmptyDataError, match="test side would be empty"):
        split_random(make_dataset({"x": 1, "y": 1}), 0.2)


def test_an_empty_test_side_names_the_titles_a_member_needs_and_the_fraction_that_would_do() -> None:
    """Round-half-up holds one of c titles out when fraction * c >= 0.5: at 0.2 that takes 3 titles, so
    members of 2 get none ("at least two titles" was the advice), and 0.25 would hold one out."""
    two = make_dataset({"x": 2, "y": 2})
    with pytest.raises(
        EmptyDataError, match=r"needs at least 3 titles .*most any member has is 2\); use test_fraction 0.25"
    ):
        split_random(two, 0.2)
    assert len(pairs(split_random(two, 0.25)[1])) == 2  # the fraction named does hold one out each
    assert len(pairs(split_random(make_dataset({"x": 4}), 0.125)[1])) == 1
    with pytest.raises(
        EmptyDataError, match=r"at least 5 titles .*most any member has is 4\); use test_fraction 0.125 "
    ):
        split_random(make_dataset({"x": 4}), 0.1)
    with pytest.raises(
        EmptyDataError, match=r"at least 2 titles for one to be held out \(no member has two\)"
    ):
        split_random(make_dataset({"x": 1, "y": 1}), 0.5)


def test_last_holds_out_latest_titles() -> None:
    train, test = split_last(DS, n=1)
    # titles get later with their index: the latest of a is t9, of b t4, of e t2; c keeps its only title
    assert titles_of(test, "a") == {"t9"}
    assert titles_of(test, "b") == {"t4"}
    assert titles_of(test, "e") == {"t2"}
    assert titles_of(test, "c") == set() and titles_of(train, "c") == {"t0"}
    _, test2 = split_last(DS, n=3)
    assert titles_of(test2, "a") == {"t7", "t8", "t9"}
    assert titles_of(test2, "d") == {"t1"}  # 2 titles: at most 1 held out


def test_last_uses_the_pairs_latest_event_and_breaks_ties_by_id() -> None:
    ev = pd.DataFrame(
        {
            "member_id": ["m", "m", "m", "m", "m"],
            "title_id": ["x", "y", "x", "z", "w"],
            # x is first rated at 100 but played again at 500, so it is the most recent pair
            "timestamp": [100, 300, 500, 200, 200],
            "value": [4.0, 3.0, np.nan, 5.0, 5.0],
            "kind": ["rating", "rating", "play", "rating", "rating"],
        }
    )
    ds = Dataset.from_events(ev)
    _, test = split_last(ds, 1)
    assert pairs(test) == {("m", "x")}
    assert len(test.events) == 2  # both of x's events moved together
    _, test = split_last(ds, 3)
    # z and w tie at 200: the larger id (z) counts as more recent
    assert titles_of(test, "m") == {"x", "y", "z"}


def test_time_cut_by_timestamp_and_quantile() -> None:
    train, test = split_time(DS, 5000)
    # a pair's time is its first event: t4 (first at 5000) and later go to test, t0..t3 stay in train
    assert titles_of(test, "a") == {f"t{j}" for j in range(4, 10)}
    assert titles_of(test, "b") == {"t4"}
    assert titles_of(train, "e") == {"t0", "t1", "t2"}
    assert int(test.events["timestamp"].min()) >= 5000
    # quantile: the median event time
    median = float(np.quantile(DS.events["timestamp"], 0.5))
    train_q, test_q = split_time(DS, 0.5)
    first = test_q.events.groupby(["member_id", "title_id"])["timestamp"].min()
    assert (first >= median).all()
    first_train = train_q.events.groupby(["member_id", "title_id"])["timestamp"].min()
    assert (first_train < median).all()


def test_time_cut_keeps_pairs_begun_before_the_cut_in_train() -> None:
    # title t0 is rated at 1000 and played at 1010; a cut at 1005 keeps the pair in train, without its event
    # from after the cut: training holds nothing from the future
    train, test = split_time(DS, 1005)
    assert ("a", "t0") in pairs(train) and ("a", "t0") not in pairs(test)
    assert int(train.events["timestamp"].max()) == 1000
    assert int(train.events["timestamp"].max()) < 1005 <= int(test.events["timestamp"].min())


def test_time_cut_drops_a_training_pairs_event_exactly_at_the_cut() -> None:
    """Pins the drop rule ``ts >= cut``: a training pair's event at the cut itself is the future too."""
    ev = pd.DataFrame(
        {
            "member_id": ["m", "m", "m"],
            "title_id": ["x", "x", "y"],
            "timestamp": [100, 300, 300],
            "value": [4.0, np.nan, 5.0],
            "kind": ["rating", "play", "rating"],
        }
    )
    train, test = split_time(Dataset.from_events(ev), 300)
    # x began at 100: it stays in train with its rating only (its play at 300 is dropped); y is test
    assert pairs(train) == {("m", "x")} and list(train.events["timestamp"]) == [100]
    assert pairs(test) == {("m", "y")}


def test_time_quantile_interpolates_linearly() -> None:
    """Pins the quantile cut: events at 100, 200, 300, 400 with cut 0.5 cut at 250 (linear), so b (at 200)
    stays in train; numpy's 'lower' method would cut at 200 and send b to test."""
    ev = pd.DataFrame(
        {
            "member_id": ["m", "m", "m", "m"],
            "title_id": ["a", "b", "c", "d"],
            "timestamp": [100, 200, 300, 400],
            "value": [4.0, 4.0, 4.0, 4.0],
        }
    )
    train, test = split_time(Dataset.from_events(ev), 0.5)
    assert titles_of(train, "m") == {"a", "b"} and titles_of(test, "m") == {"c", "d"}


def test_time_cut_errors() -> None:
    with pytest.raises(ConfigError):
        split_time(DS, 0)
    with pytest.raises(EmptyDataError, match="test side"):
        split_time(DS, 10**9)
    with pytest.raises(EmptyDataError, match="training side"):
        split_time(DS, 1)
