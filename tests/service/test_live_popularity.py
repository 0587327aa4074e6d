"""Trending and community rows kept live: the events stored after training are counted into them exactly
as a retrain would count them (same rules, same communities for the members the model knows)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reelkit.data.dataset import Dataset
from reelkit.errors import ReelkitWarning
from reelkit.recommend.home import MemberHistory
from reelkit.recommend.popularity import Trending
from reelkit.service.models import ModelBundle, ModelHolder, training_interactions
from reelkit.service.store import EventRecord, MemberRecord, SQLiteStore, open_store

DAY = 86400


@pytest.fixture
def served(data_dir: Path) -> Iterator[tuple[SQLiteStore, ModelHolder, ModelBundle]]:
    store: SQLiteStore = open_store(data_dir)  # type: ignore[assignment]
    holder = ModelHolder(data_dir, store)
    assert holder.refresh()
    yield store, holder, holder.require()
    store.close()


def retrained(store: SQLiteStore, bundle: ModelBundle, now: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What a retrain on every stored event counts: Trending's scores at ``now``, and community popularity
    and sizes with the served model's communities (a new member in the one their titles project to)."""
    events, _ = store.events_frame()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ReelkitWarning)
        ds = Dataset.from_events(
            events, store.titles_frame().drop(columns=["duration"]), store.members_frame()
        )
    inter = training_interactions(ds)
    home = bundle.home
    assert list(inter.title_ids) == list(home.title_ids)
    trend = Trending(now=now).fit(inter).item_scores_.astype(np.float64)
    viewed = inter.matrix("viewed").tocsr()
    comm = home.models.communities
    rows = comm.member_rows(list(inter.member_ids), missing_ok=True)
    k = comm.n_communities_
    pop, sizes = np.zeros((k, home.n_titles)), np.zeros(k)
    for i, row in enumerate(rows):
        cols = viewed.indices[viewed.indptr[i] : viewed.indptr[i + 1]]
        if row >= 0:
            label = int(comm.labels_[row])
        elif len(cols):
            label = home._assign_community(np.asarray(cols, dtype=np.int64))
        else:
            continue
        pop[label, cols] += 1
        sizes[label] += 1
    return trend, pop, sizes


def check_exact(store: SQLiteStore, bundle: ModelBundle, now: int) -> None:
    trend, pop, sizes = retrained(store, bundle, now)
    live = bundle.home._popularity
    got = live.shown
    # the same decayed counts up to the scale (the live ones are as of the wall clock)
    assert got / got.max() == pytest.approx(trend / trend.max(), rel=1e-5, abs=1e-9)
    np.testing.assert_array_equal(live.community_sizes, sizes)
    np.testing.assert_allclose(live.community_share * np.maximum(sizes, 1)[:, None], pop, atol=1e-9)
    np.testing.assert_allclose(live.global_popularity, pop.sum(axis=0), atol=1e-6)
    # the communities' profiles (the communities page, a title's "loved by") count the same, names as trained
    trained = {c.id: c.name for c in bundle.home.models.communities.communities(top=20)}
    profiles = bundle.home.community_profiles
    assert {c.id: c.name for c in profiles} == trained
    assert [c.size for c in profiles] == sorted(sizes.astype(int).tolist(), reverse=True)
    for c in profiles:
        assert c.size == sizes[c.id] and c.favourites
        assert [n for _, n in c.favourites] == sorted(pop[c.id], reverse=True)[: len(c.favourites)]
        assert all(n == pop[c.id, bundle.home._col(t)] for t, n in c.favourites)
    for t in bundle.home.title_ids[:50]:
        assert all(tc.size == sizes[tc.community_id] for tc in bundle.home.title_communities(str(t)))


def play(eid: str, member: str, title: str, ts: int, fraction: float = 1.0) -> EventRecord:
    return EventRecord(eid, member, title, "play", ts, 6000.0 * fraction, fraction)


def test_new_events_are_counted_as_a_retrain_counts_them(
    served: tuple[SQLiteStore, ModelHolder, ModelBundle],
) -> None:
    store, _holder, bundle = served
    home = bundle.home
    t0 = int(home.models.trending.reference_time_)
    members = [m.member_id for m in store.list_members(6)]
    titles = [str(t) for t in home.title_ids]
    h1 = store.member_history(members[1])
    replayed = str(h1.title_ids[np.flatnonzero(h1.kinds == "play")[0]])
    unseen = [t for t in titles if t not in set(store.member_history(members[2]).title_ids.tolist())]
    store.upsert_members([MemberRecord("live-new", "New member", t0)])
    store.append_events(
        [
            # a new member: in the community their titles project to
            *(play(f"n{i}", "live-new", titles[i], t0 + DAY + i) for i in range(3)),
            # a pair counted in training, played again: counted once, at its latest play
            play("r1", members[1], replayed, t0 + 2 * DAY),
            # played and then thumbed down: a dislike counts nowhere
            play("d1", members[2], unseen[0], t0 + DAY),
            EventRecord("d2", members[2], unseen[0], "thumb", t0 + DAY + 60, -1.0, None),
            # a 20 s preview is no viewing
            EventRecord("s1", members[3], titles[5], "play", t0 + DAY, 20.0, 20.0 / 6000),
            # a thumb up without a play: watched for the communities, no play for Trending
            EventRecord("u1", members[4], titles[7], "thumb", t0 + DAY, 1.0, None),
        ]
    )
    assert bundle.count_new_events(store) == 5  # the members of the new events
    check_exact(store, bundle, t0 + 2 * DAY)
    assert bundle.counted_seq == store.member_last_seq(members[4])
    # more events later: each member counted again from their full history, not added twice
    store.append_events(
        [
            play("r2", members[1], replayed, t0 + 3 * DAY, 0.5),
            play("n9", "live-new", titles[9], t0 + 3 * DAY),
            play("u2", members[4], titles[7], t0 + 3 * DAY),
        ]
    )
    assert bundle.count_new_events(store) == 3
    check_exact(store, bundle, t0 + 3 * DAY)
    assert bundle.count_new_events(store) == 0  # nothing new: nothing counted


def test_counting_a_member_again_changes_nothing(
    served: tuple[SQLiteStore, ModelHolder, ModelBundle],
) -> None:
    """count_member replaces what the member added before: the same history twice is a no-op, and a
    member's history up to the training counts exactly what training counted (nothing moves)."""
    store, _holder, bundle = served
    home = bundle.home
    before = home._trend_counts.copy(), home._community_counts.copy(), home._size_counts.copy()
    for member in [m.member_id for m in store.list_members(20)]:
        for _ in range(2):
            home.count_member(member, store.member_history(member), bundle.record.events_seq)
    assert home._trend_counts == pytest.approx(before[0], rel=1e-6, abs=1e-12)
    np.testing.assert_allclose(home._community_counts, before[1])
    np.testing.assert_allclose(home._size_counts, before[2])
    assert not home.publish_popularity()  # nothing visible changed: cached pages stay


def test_a_title_everyone_plays_now_tops_trending_on_the_next_poll(
    served: tuple[SQLiteStore, ModelHolder, ModelBundle],
) -> None:
    store, holder, bundle = served
    home = bundle.home
    now = int(home.models.trending.reference_time_) + DAY
    store.upsert_members([MemberRecord("viewer", "Viewer", now)])
    page, _ = bundle.home_page(store, "viewer")
    last = str(home.title_ids[home._popularity.trending[-1]])  # far down the list: on no row
    assert last not in {t.title_id for r in page.rows for t in r.titles}
    old_stamp = bundle.popularity_computed_at
    members = [m.member_id for m in store.list_members(40)]
    store.append_events([play(f"b{i}", m, last, now + i) for i, m in enumerate(members)])
    # until counted, the cached page stands
    assert bundle.cached_page("viewer", store.member_last_seq("viewer")) is not None
    assert holder.count_events() == len(members)
    assert bundle.cached_page("viewer", store.member_last_seq("viewer")) is None  # its rows moved
    assert home._popularity.trending[0] == home._col(last)
    assert home._popularity.trending_rank[home._col(last)] == 1
    page, _ = bundle.home_page(store, "viewer")
    # the most played title now: on the page of a member who has seen nothing (Top Picks or Trending)
    assert last in {t.title_id for r in page.rows for t in r.titles}
    (trending,) = [r for r in page.rows if r.kind == "trending"]
    assert trending.reason.startswith("Most watched on the service now")
    assert bundle.popularity_computed_at >= old_stamp


def test_a_live_server_counts_new_events_on_its_poll(data_dir: Path) -> None:
    """Through the HTTP API: events posted to one server show in every member's Trending row within the
    poll, and ``popularity_computed_at`` moves past the training time."""
    from fastapi.testclient import TestClient

    from reelkit.service.app import create_app
    from tests.service.conftest import AUTH, make_settings

    settings = make_settings(data_dir, model_poll_seconds=0.05, popularity_refresh_s=0)
    with TestClient(create_app(settings)) as client:
        ids = [m["member_id"] for m in client.get("/v1/members?limit=41").json()["members"]]
        first = client.get(f"/v1/members/{ids[0]}/home").json()
        trained_at = first["popularity_computed_at"]
        state = client.app.state.reelkit  # type: ignore[attr-defined]
        home = state.models.require().home
        last = str(home.title_ids[home._popularity.trending[-1]])
        now = int(home.models.trending.reference_time_) + DAY
        events = [
            {
                "event_id": f"p{i}",
                "member_id": ids[i],
                "title_id": last,
                "kind": "play",
                "timestamp": now,
                "position": 6000,
                "duration": 6000,
            }
            for i in range(1, 41)
        ]
        assert client.post("/v1/events", json={"events": events}, headers=AUTH).status_code == 200
        behind = client.get("/health").json()["popularity_behind"]
        assert behind in (0, 40)  # 40 until the next poll counts them
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and home._popularity.trending[0] != home._col(last):
            time.sleep(0.05)
        assert home._popularity.trending[0] == home._col(last)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and client.get("/health").json()["popularity_behind"]:
            time.sleep(0.05)
        assert client.get("/health").json()["popularity_behind"] == 0
        page = client.get(f"/v1/members/{ids[0]}/home").json()
        assert page["popularity_computed_at"] >= trained_at
        assert any(r["kind"] == "trending" and "now" in r["reason"] for r in page["rows"])


def test_history_subset_keeps_the_events_up_to_training() -> None:
    from reelkit.recommend.home import _history_subset

    h = MemberHistory(
        title_ids=np.asarray(["a", "b", "c"], dtype=object),
        kinds=np.asarray(["play", "rating", "thumb"], dtype=object),
        timestamps=np.asarray([1, 2, 3], dtype=np.int64),
        values=np.asarray([10.0, 4.0, 1.0]),
        fractions=np.asarray([0.5, np.nan, np.nan]),
        seqs=np.asarray([4, 9, 12], dtype=np.int64),
    )
    sub = _history_subset(h, h.seqs <= 9)
    assert sub.title_ids.tolist() == ["a", "b"] and sub.seqs.tolist() == [4, 9] and len(sub) == 2


def test_health_says_how_many_events_are_not_counted_yet(client: object) -> None:
    """``popularity_behind``: events stored after the last count (no poll here: model_poll_seconds 0)."""
    from tests.service.conftest import AUTH

    c: Any = client
    assert c.get("/health").json()["popularity_behind"] == 0  # trained on every stored event
    member = c.get("/v1/members?limit=1").json()["members"][0]["member_id"]
    title = c.get(f"/v1/members/{member}/home").json()["rows"][0]["titles"][0]["title_id"]
    events = [
        {"event_id": f"h{i}", "member_id": member, "title_id": title, "kind": "thumb", "value": 1}
        for i in range(3)
    ]
    assert c.post("/v1/events", json={"events": events}, headers=AUTH).status_code == 200
    assert c.get("/health").json()["popularity_behind"] == 3
    assert c.app.state.reelkit.models.count_events() == 1  # one member counted again
    assert c.get("/health").json()["popularity_behind"] == 0


def test_a_play_decades_after_the_models_data_ranks_by_its_age(
    served: tuple[SQLiteStore, ModelHolder, ModelBundle],
) -> None:
    """A model trained on 1998 ratings, played in 2026: each live play weighed 2^(age / half-life) on the
    model's scale, clipped at 2^1000 (19 years): 10 plays 60 days ago outranked 3 today, and every score
    shown was 0. Long doubles hold 2^16000 (300 years)."""
    import copy
    import dataclasses

    from reelkit.recommend.home import HomeBuilder

    _, _, bundle = served
    trending = copy.copy(bundle.home.models.trending)
    now = int(time.time())
    trending.reference_time_ = now - 28 * 365 * DAY  # the model's data ends 28 years ago
    home = HomeBuilder(dataclasses.replace(bundle.home.models, trending=trending), bundle.home.config)
    a, b = (str(t) for t in home.title_ids[:2])

    def plays(title: str, when: int) -> MemberHistory:
        return MemberHistory(
            title_ids=np.asarray([title], dtype=object),
            kinds=np.asarray(["play"], dtype=object),
            timestamps=np.asarray([when], dtype=np.int64),
            values=np.asarray([6000.0]),
            fractions=np.asarray([1.0]),
            seqs=np.asarray([10**9], dtype=np.int64),
        )

    histories = {f"a{i}": plays(a, now - 60 * DAY) for i in range(10)}
    histories |= {f"b{i}": plays(b, now) for i in range(3)}
    home.count_members(histories, trained_through=0)
    home.publish_popularity()
    pop = home._popularity
    assert pop.trending[:2].tolist() == [home._col(b), home._col(a)]  # 3 today, then 10 two months ago
    assert pop.shown[home._col(b)] == pytest.approx(3.0)  # weighted views at the clock (now)
    assert pop.shown[home._col(a)] == pytest.approx(10 * 2 ** (-60 / 7))


def test_the_rows_say_now_only_once_the_counts_have_caught_up(
    served: tuple[SQLiteStore, ModelHolder, ModelBundle],
) -> None:
    """Before any count (and on a server that never counts: model_poll_seconds 0) the rows are as trained
    and say so; once counted, "now", and the pages built before go."""
    store, _, bundle = served
    store.upsert_members([MemberRecord("viewer", "Viewer", 0)])

    def reason() -> str:
        page, _ = bundle.home_page(store, "viewer")
        return next(r.reason for r in page.rows if r.kind == "trending")

    assert reason().startswith("Most watched up to the last model update")
    assert bundle.count_new_events(store) == 0  # nothing new, but caught up: the counts are live now
    assert reason().startswith("Most watched on the service now")


def test_counts_reach_the_pages_at_most_every_refresh_interval(
    served: tuple[SQLiteStore, ModelHolder, ModelBundle],
) -> None:
    """Every poll changes a busy service's Trending order: publishing at each one dropped every cached page
    every 2 s. Counted events wait for the refresh interval; the cached pages stay until then."""
    store, _, bundle = served
    home = bundle.home
    now = int(home.models.trending.reference_time_) + DAY
    assert bundle.count_new_events(store, publish_every_s=3600) == 0  # caught up: published, live
    store.upsert_members([MemberRecord("viewer", "Viewer", now)])
    bundle.home_page(store, "viewer")
    stamp, epoch = bundle.popularity_computed_at, home.popularity_epoch
    last = str(home.title_ids[home._popularity.trending[-1]])
    members = [m.member_id for m in store.list_members(40)]
    store.append_events([play(f"q{i}", m, last, now + i) for i, m in enumerate(members)])
    assert bundle.count_new_events(store, publish_every_s=3600) == len(members)
    assert home.popularity_epoch == epoch and bundle.popularity_computed_at == stamp  # counted, not shown
    assert bundle.cached_page("viewer", store.member_last_seq("viewer")) is not None
    assert home._popularity.trending[0] != home._col(last)
    assert bundle.count_new_events(store, publish_every_s=0) == 0  # the interval is over: shown now
    assert home._popularity.trending[0] == home._col(last) and home.popularity_epoch == epoch + 1
    assert bundle.cached_page("viewer", store.member_last_seq("viewer")) is None
    assert bundle.popularity_computed_at >= stamp


def test_a_counting_server_brings_a_version_up_to_date_before_it_serves(data_dir: Path) -> None:
    """The first poll's count (saying "now") dropped every page the warm-up had just built: a server that
    counts counts the events stored since training as it loads a version, before pages are built."""
    store: SQLiteStore = open_store(data_dir)  # type: ignore[assignment]
    member = store.list_members(1)[0].member_id
    title = str(store.member_history(member).title_ids[0])
    store.append_events([play("late", member, title, 2_000_000_000)])
    holder = ModelHolder(data_dir, store, live_popularity=True)
    assert holder.refresh()
    bundle = holder.require()
    assert bundle.counted_seq == store.member_last_seq(member) and bundle.home.live_popularity
    page, _ = bundle.home_page(store, member)
    assert next(r.reason for r in page.rows if r.kind == "trending").startswith(
        "Most watched on the service now"
    )
    quiet = ModelHolder(data_dir, store)  # a server that does not count: as trained
    assert quiet.refresh() and not quiet.require().home.live_popularity
    assert quiet.require().counted_seq < bundle.counted_seq
    store.close()
