"""The SQLite store: idempotent, all-or-nothing, append-only, durable settings, thread-safe."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

from reelkit.errors import ConfigError
from reelkit.service.errors import (
    EventConflictError,
    MemberExistsError,
    StoreError,
    UnknownReferenceError,
)
from reelkit.service.store import (
    EventRecord,
    MemberRecord,
    ModelVersionRecord,
    SQLiteStore,
    TitleRecord,
    open_store,
)


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    s = SQLiteStore(tmp_path / "reelkit.db")
    s.upsert_titles(
        [TitleRecord(f"t{i}", f"Title {i}", "Drama|Comedy", 2020, "movie", 1_700_000_000) for i in range(5)]
    )
    s.upsert_members([MemberRecord("m1", "Ann"), MemberRecord("m2", "Bob")])
    return s


def ev(event_id: str, member: str = "m1", title: str = "t0", kind: str = "play", **kw: float) -> EventRecord:
    return EventRecord(
        event_id=event_id,
        member_id=member,
        title_id=title,
        kind=kind,  # type: ignore[arg-type]
        timestamp=int(kw.get("ts", 1_700_000_000)),
        value=kw.get("value", 600.0),
        fraction=kw.get("fraction", 0.1 if kind == "play" else None),
    )


def test_durability_settings(store: SQLiteStore) -> None:
    con = sqlite3.connect(store.path)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
    own = store._con()
    assert own.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert own.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert store.integrity_check() == "ok"


def test_counting_events_reads_only_those_stored_since_the_last_count(store: SQLiteStore) -> None:
    """/health, /metrics and the event list counted the whole table on every request (a scan of 26-41 ms a
    million events): the count is kept and only newer events are counted, exact whatever writes them (this
    store, another process's, a batch refused whole)."""
    statements: list[str] = []
    store._con().set_trace_callback(statements.append)
    assert store.count_events() == 0
    store.append_events([ev(f"a{i}", title=f"t{i % 5}") for i in range(7)])
    assert store.count_events() == 7
    other = SQLiteStore(store.path)  # another process importing into the same folder
    other.append_events([ev("b1"), ev("b2", member="m2")])
    other.close()
    with pytest.raises(UnknownReferenceError):
        store.append_events([ev("c1"), ev("c2", title="nope")])  # all or nothing: none stored
    assert store.count_events() == 9
    statements.clear()
    assert store.count_events() == 9  # nothing new: no count at all
    assert not any("count(" in q for q in statements)
    store.append_events([ev("d1")])
    assert store.count_events() == 10
    assert [q for q in statements if "count(" in q] == [
        "SELECT count(*) FROM events WHERE seq > 9 AND seq <= 10"
    ]
    assert store.count_events() == store._con().execute("SELECT count(*) FROM events").fetchone()[0]


def test_the_event_count_follows_a_store_put_back_from_a_copy(store: SQLiteStore, tmp_path: Path) -> None:
    """The store put back from a copy one event shorter, under the running process, is counted again (a
    recount only at two or more events shorter passed every test, and kept the higher figure for good)."""
    store.append_events([ev("a"), ev("b", title="t1")])
    copy = sqlite3.connect(tmp_path / "copy.db")
    with sqlite3.connect(store.path) as live:
        live.backup(copy)
    store.append_events([ev("c", title="t2")])
    assert store.count_events() == 3
    with sqlite3.connect(store.path) as live:
        copy.backup(live)
    copy.close()
    assert store.count_events() == 2 and [e.seq for e in store.latest_events(10)] == [2, 1]


def test_idempotent_by_event_id(store: SQLiteStore) -> None:
    first = store.append_events([ev("a"), ev("b", title="t1")])
    assert (first.stored, first.duplicates) == (2, 0)
    again = store.append_events([ev("a"), ev("b", title="t1"), ev("c", title="t2")])
    assert (again.stored, again.duplicates) == (1, 2)
    # the same id twice within one batch is one event
    inside = store.append_events([ev("d"), ev("d")])
    assert (inside.stored, inside.duplicates) == (1, 1)
    assert store.count_events() == 4
    # the server may fill in the timestamp: a retry with another timestamp is still the same event
    assert store.append_events([ev("a", ts=1_800_000_000)]).duplicates == 1


def test_a_retried_event_without_a_fraction_is_a_duplicate(store: SQLiteStore) -> None:
    """NaN and None both mean no value: SQLite stores a NaN as NULL, so a retried batch holding a NaN fraction
    was refused as a conflict with itself."""
    e = ev("n1", kind="rating", value=4.0, fraction=float("nan"))
    first = store.append_events([e, e])
    assert (first.stored, first.duplicates) == (1, 1)
    again = store.append_events([e, e])
    assert (again.stored, again.duplicates) == (0, 2)
    assert store.append_events([ev("n1", kind="rating", value=4.0, fraction=None)]).duplicates == 1  # type: ignore[arg-type]
    with pytest.raises(EventConflictError):
        store.append_events([ev("n1", kind="rating", value=4.0, fraction=0.5)])


def test_conflicting_reuse_of_an_id_refuses_the_whole_batch(store: SQLiteStore) -> None:
    store.append_events([ev("a")])
    with pytest.raises(EventConflictError) as info:
        store.append_events([ev("new1"), ev("a", fraction=0.9)])
    assert info.value.fields == [("events[1].event_id", "a")]
    with pytest.raises(EventConflictError):
        store.append_events([ev("new2"), ev("new2", title="t3")])
    assert store.count_events() == 1


def test_unknown_references_store_nothing(store: SQLiteStore) -> None:
    batch = [ev("x1"), ev("x2", title="nope"), ev("x3", member="ghost")]
    with pytest.raises(UnknownReferenceError) as info:
        store.append_events(batch)
    assert ("events[1].title_id", "nope") in info.value.fields
    assert ("events[2].member_id", "ghost") in info.value.fields
    assert store.count_events() == 0


def test_the_unknown_reference_message_names_five_and_counts_the_rest(store: SQLiteStore) -> None:
    """Six unknown titles: the message names the first five and says '(and 1 more)'; all six are fields."""
    with pytest.raises(UnknownReferenceError) as info:
        store.append_events([ev(f"u{i}", title=f"gone{i}") for i in range(6)])
    assert len(info.value.fields) == 6
    assert "'gone4'" in str(info.value) and "'gone5'" not in str(info.value)
    assert "(and 1 more)" in str(info.value)


def test_a_batch_over_one_lookup_chunk_is_stored_whole_and_retried_as_duplicates(store: SQLiteStore) -> None:
    """Ids are looked up 500 per query: 1001 events over 1001 new titles are all stored, and their retry is
    1001 duplicates (an id lost at a chunk's edge was called unknown, or stored twice)."""
    store.upsert_titles([TitleRecord(f"c{i}", f"C {i}") for i in range(1001)])
    batch = [ev(f"e{i}", title=f"c{i}") for i in range(1001)]
    first = store.append_events(batch)
    assert (first.stored, first.duplicates) == (1001, 0)
    again = store.append_events(batch)
    assert (again.stored, again.duplicates, again.last_seq) == (0, 1001, 1001)


def test_failure_inside_the_transaction_rolls_back(store: SQLiteStore) -> None:
    # a CHECK constraint fails on the third row, after two rows were inserted in the same transaction
    bad = [ev("ok1"), ev("ok2", title="t1"), ev("bad", fraction=1.5)]
    with pytest.raises(sqlite3.IntegrityError):
        store.append_events(bad)
    assert store.count_events() == 0
    assert store.append_events([ev("ok1")]).stored == 1


def test_events_are_append_only(store: SQLiteStore) -> None:
    store.append_events([ev("a")])
    con = store._con()
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("UPDATE events SET value = 1")
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        con.execute("DELETE FROM events")
    assert store.count_events() == 1


def test_member_history_and_latest(store: SQLiteStore) -> None:
    store.append_events(
        [ev("a", ts=10), ev("b", title="t1", kind="rating", value=4.0, ts=5), ev("c", member="m2")]
    )
    h = store.member_history("m1")
    assert list(h.title_ids) == ["t0", "t1"]
    assert list(h.kinds) == ["play", "rating"]
    assert h.last_seq == store.member_last_seq("m1") == 2
    assert store.member_last_seq("m2") == 3
    assert store.member_last_seq("nobody") == 0
    assert len(store.member_history("nobody")) == 0
    latest = store.latest_events(2)
    assert [e.event_id for e in latest] == ["c", "b"]
    # the events of some (member, title) pairs, per member in store order; the pairs after a sequence number
    some = store.pair_histories([("m1", "t1"), ("m2", "t0"), ("m1", "t0"), ("nobody", "t0")])
    assert sorted(some) == ["m1", "m2"]  # a pair without events gives nothing
    assert some["m1"].title_ids.tolist() == ["t0", "t1"] and some["m1"].seqs.tolist() == [1, 2]
    np.testing.assert_array_equal(some["m1"].values, store.member_history("m1").values)
    assert store.pair_histories([("m1", "t1")])["m1"].kinds.tolist() == ["rating"]
    assert store.pairs_after(0, 10) == ([("m1", "t0"), ("m1", "t1"), ("m2", "t0")], 3)
    assert store.pairs_after(0, 2) == ([("m1", "t0"), ("m1", "t1")], 2)
    assert store.pairs_after(2, 10) == ([("m2", "t0")], 3)
    assert store.pairs_after(3, 10) == ([], 3)
    frame, seq = store.events_frame()
    assert seq == 3 and list(frame.columns) == [
        "member_id",
        "title_id",
        "timestamp",
        "kind",
        "value",
        "fraction",
    ]


def test_pair_histories_read_each_event_once_whatever_the_chunks(store: SQLiteStore) -> None:
    """A member whose pairs fall in two query chunks (250 pairs each) had the second chunk's events read by
    the first too: 245 events for 128."""
    store.upsert_titles([TitleRecord(f"x{k}", f"X {k}") for k in range(260)])
    store.upsert_members([MemberRecord("m8", "Cy"), MemberRecord("m9", "Di")])
    store.append_events(
        [
            ev(f"e{m}{k}-{r}", member=m, title=f"x{k}", ts=k)
            for m in ("m8", "m9")
            for k in range(260)
            for r in (0, 1)
        ]
    )
    # chunk 1: m8's x250-x259 and m9's x0-x239 (so its query names m9 and x250-x259); chunk 2: m9's x250-x259
    pairs = [("m8", f"x{k}") for k in range(250, 260)] + [
        ("m9", f"x{k}") for k in [*range(240), *range(250, 260)]
    ]
    got = store.pair_histories(pairs)
    assert len(got["m9"]) == 2 * 250 and len(set(got["m9"].seqs.tolist())) == 2 * 250
    assert got["m9"].seqs.tolist() == sorted(got["m9"].seqs.tolist()) and len(got["m8"]) == 2 * 10
    # a member's pairs in two chunks with another member's between: the rows, read chunk by chunk as
    # m9, m8, m9, are grouped by member (unsorted, m9's first run was replaced by its last: 20 of 520)
    pairs = [("m9", f"x{k}") for k in range(250)] + [("m8", f"x{k}") for k in range(10)]
    got = store.pair_histories([*pairs, *[("m9", f"x{k}") for k in range(250, 260)]])
    assert len(got["m9"]) == 2 * 260 and len(got["m8"]) == 2 * 10
    assert got["m9"].seqs.tolist() == sorted(got["m9"].seqs.tolist())


def test_rating_range_counts_ratings_only(store: SQLiteStore) -> None:
    """rating_range is (min, max, count) of rating events: a 600 s play and a -1 thumb are not ratings."""
    assert store.rating_range() is None
    store.append_events(
        [
            ev("r1", kind="rating", value=2.0),
            ev("r2", member="m2", kind="rating", value=4.0),
            ev("p1", value=600.0),
            ev("h1", title="t1", kind="thumb", value=-1.0),
        ]
    )
    assert store.rating_range() == (2.0, 4.0, 2)


def test_create_member_is_atomic(store: SQLiteStore) -> None:
    with pytest.raises(UnknownReferenceError) as info:
        store.create_member(
            MemberRecord("new", "New"), [ev("s1", member="new"), ev("s2", member="new", title="zz")]
        )
    assert info.value.fields == [("liked_titles[1]", "zz")]
    assert store.get_member("new") is None and store.count_events() == 0
    res = store.create_member(MemberRecord("new", "New"), [ev("s1", member="new")])
    assert res.stored == 1 and store.get_member("new") is not None
    with pytest.raises(MemberExistsError):
        store.create_member(MemberRecord("new", "Again"))


def test_members_titles_and_versions(store: SQLiteStore) -> None:
    assert [m.member_id for m in store.list_members(10)] == ["m1", "m2"]
    assert [m.member_id for m in store.list_members(1, 1)] == ["m2"]
    assert store.count_members() == 2 and store.count_titles() == 5
    t = store.get_title("t1")
    assert t is not None and t.genres == "Drama|Comedy" and t.year == 2020
    assert store.get_title("missing") is None
    assert store.titles_frame().loc["t1", "name"] == "Title 1"
    assert store.current_model_version() is None
    rec = ModelVersionRecord("v0001", 1, "ease", 0, 0, 0, 0, 0.5)
    store.add_model_version(rec)
    assert store.current_model_version() == rec
    store.add_model_version(ModelVersionRecord("v0002", 2, "ease", 0, 0, 0, 0, 0.5), make_current=False)
    assert store.current_model_version() == rec
    assert [r.version for r in store.model_versions()] == ["v0001", "v0002"]


def test_title_durations_and_the_catalog_stamp(store: SQLiteStore) -> None:
    """A full import replaces a stored duration, an events-only one (only_new) only fills a missing one and
    keeps names; each upsert with rows moves the catalog stamp by one (the holder reloads titles on it)."""
    stamp = store.catalog_stamp()
    assert stamp == 1  # the fixture's one upsert
    store.upsert_titles([TitleRecord("t1", "Title 1", duration=5400.0)])
    store.upsert_titles([TitleRecord("t1", "Renamed", duration=6000.0)])
    assert store.get_title("t1") == TitleRecord("t1", "Renamed", duration=6000.0)
    store.upsert_titles([TitleRecord("t1", "Renamed")])  # no duration given: the stored one stays
    assert store.get_title("t1").duration == 6000.0  # type: ignore[union-attr]
    store.upsert_titles([TitleRecord("t1", "t1", duration=100.0)], only_new=True)
    store.upsert_titles([TitleRecord("t2", "t2", duration=7200.0)], only_new=True)
    t1, t2 = store.get_title("t1"), store.get_title("t2")
    assert t1 is not None and (t1.name, t1.duration) == ("Renamed", 6000.0)
    assert t2 is not None and (t2.name, t2.duration) == ("Title 2", 7200.0)
    assert store.catalog_stamp() == stamp + 5
    store.upsert_titles([])
    assert store.catalog_stamp() == stamp + 5


def test_members_are_listed_in_the_order_they_joined(store: SQLiteStore) -> None:
    """Paging follows the order members were added (Al joined last though "Al" sorts first by name)."""
    store.upsert_members([MemberRecord("a0", "Al")])
    assert [m.member_id for m in store.list_members(10)] == ["m1", "m2", "a0"]
    assert [m.member_id for m in store.list_members(2, 1)] == ["m2", "a0"]


def test_concurrent_writers_all_land(store: SQLiteStore) -> None:
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for j in range(20):
                store.append_events([ev(f"w{k}-{j}-{i}", title=f"t{i % 5}") for i in range(10)])
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert store.count_events() == 4 * 20 * 10
    seqs = [e.seq for e in store.latest_events(1000)]
    assert len(set(seqs)) == len(seqs)


def test_second_process_style_connection_sees_commits(store: SQLiteStore, tmp_path: Path) -> None:
    other = open_store(tmp_path)  # a folder: the same reelkit.db
    store.append_events([ev("a")])
    assert other.count_events() == 1
    other.close()


def test_open_store_locations(tmp_path: Path) -> None:
    s = open_store(f"sqlite:///{tmp_path}/x.db")
    assert isinstance(s, SQLiteStore) and s.path == tmp_path / "x.db"
    s.close()
    with pytest.raises(ConfigError, match="not supported yet"):
        open_store("postgresql://localhost/reelkit")


def test_schema_version_mismatch_is_refused(tmp_path: Path) -> None:
    s = SQLiteStore(tmp_path / "r.db")
    s._con().execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    s.close()
    with pytest.raises(StoreError, match="schema version 99"):
        SQLiteStore(tmp_path / "r.db")


def test_closed_store_refuses(tmp_path: Path) -> None:
    s = SQLiteStore(tmp_path / "r.db")
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.count_events()


def test_active_members_most_recent_first(store: SQLiteStore) -> None:
    store.upsert_members([MemberRecord("m3", "Cy")])
    store.append_events(
        [ev("a", member="m2"), ev("b", member="m1", title="t1"), ev("c", member="m2", title="t2")]
    )
    assert store.active_members(10) == ["m2", "m1", "m3"]
    assert store.active_members(1) == ["m2"]


def test_a_failed_commit_is_rolled_back(store: SQLiteStore) -> None:
    # a deferred foreign key check fails at COMMIT, which leaves the transaction open unless rolled back
    with pytest.raises(sqlite3.IntegrityError), store._write() as con:
        con.execute("PRAGMA defer_foreign_keys=ON")
        con.execute(
            "INSERT INTO events(event_id, member_id, title_id, kind, timestamp, value, fraction, "
            "received_at) VALUES ('e1', 'nobody', 't0', 'play', 1, 1.0, 0.1, 1)"
        )
    assert not store._con().in_transaction
    assert store.count_events() == 0
    assert store.append_events([ev("ok1")]).stored == 1


def test_release_thread_closes_the_threads_connection(store: SQLiteStore) -> None:
    before = len(store._conns)
    seen: list[sqlite3.Connection] = []

    def work() -> None:
        store.count_events()
        seen.append(store._con())
        store.release_thread()
        store.release_thread()  # a second call is harmless

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert len(store._conns) == before
    with pytest.raises(sqlite3.ProgrammingError):
        seen[0].execute("SELECT 1")  # closed
    assert store.count_events() == 0  # the store and this thread's connection still work
