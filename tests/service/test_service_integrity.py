"""Data integrity and resource limits of the service found by a review: catalog metadata kept through an
events-only import, unfinished imports known and completed, out-of-order retrains, abandoned temporary
folders, a damaged current model, a busy database, the JSON API's body limit and the ABR session memory."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import pytest

from reelkit.data.dataset import Dataset
from reelkit.errors import ConfigError, DataFormatError
from reelkit.produce.production import (
    MAX_ENTRIES,
    MAX_FIELD_ERRORS,
    ProductionFormatError,
    parse_production,
)
from reelkit.service.app import create_app
from reelkit.service.bootstrap import DEMO_START, bootstrap
from reelkit.service.ingest import (
    IMPORT_PENDING,
    IMPORT_PENDING_KEY,
    import_dataset,
    pending_imports,
    refuse_unfinished_import,
    stopped_imports,
)
from reelkit.service.models import STALE_TMP_S, ModelHolder, _prune, train_store
from reelkit.service.routers.abr import AbrSession, SessionTable
from reelkit.service.store import (
    EventRecord,
    MemberRecord,
    ModelVersionRecord,
    SQLiteStore,
    TitleRecord,
    open_store,
)

from .conftest import AUTH, COMMUNITY, TestClient, make_settings


def _import_killed_after_one_chunk(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch, ds: Dataset, label: str
) -> None:
    """Import ``ds`` one event a chunk, stopped (Ctrl-C) after its first chunk was stored."""
    append = store.append_events
    calls = {"n": 0}

    def dies_after_one_chunk(batch: Any) -> Any:
        calls["n"] += 1
        if calls["n"] > 1:
            raise KeyboardInterrupt
        return append(batch)

    monkeypatch.setattr(store, "append_events", dies_after_one_chunk)
    with pytest.raises(KeyboardInterrupt):
        import_dataset(store, ds, chunk=1, label=label)
    monkeypatch.setattr(store, "append_events", append)


def _events_only(members: list[str], titles: list[str]) -> Dataset:
    ev = pd.DataFrame(
        {
            "member_id": members,
            "title_id": titles,
            "kind": "rating",
            "value": 4.0,
            "timestamp": 1_700_000_000,
        }
    )
    return Dataset.from_events(ev)


def test_events_only_import_keeps_stored_catalog_and_member_names(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "reelkit.db")
    store.upsert_titles([TitleRecord("1", "Toy Story", "Animation|Children", 1995, "movie", None)])
    store.upsert_members([MemberRecord("alice", "Alice Smith")])
    import_dataset(store, _events_only(["alice", "bob"], ["1", "2"]))
    one = store.get_title("1")
    assert one is not None and (one.name, one.genres, one.year) == ("Toy Story", "Animation|Children", 1995)
    two = store.get_title("2")  # new ids still get their placeholder rows
    assert two is not None and two.name == "Title 2"
    names = {m.member_id: m.name for m in store.list_members(10)}
    assert names == {"alice": "Alice Smith", "bob": "Member bob"}
    # a catalog that does carry metadata still updates what is stored
    store.upsert_titles([TitleRecord("1", "Toy Story (1995)", "Animation", 1995, "movie", None)])
    assert store.get_title("1").name == "Toy Story (1995)"  # type: ignore[union-attr]
    store.close()


def test_a_catalogue_title_named_like_a_placeholder_with_metadata_updates_the_stored_one(
    tmp_path: Path,
) -> None:
    """Only a title with nothing known but its id is made up: "Title 7" with genres and a year from a
    catalogue replaces the stored placeholder's empty genres and year."""
    store = SQLiteStore(tmp_path / "reelkit.db")
    import_dataset(store, _events_only(["alice"], ["7"]))
    ev = pd.DataFrame({"member_id": ["alice"], "title_id": ["7"], "value": [4.0], "timestamp": 1_700_000_000})
    titles = pd.DataFrame({"title_id": ["7"], "name": ["Title 7"], "genres": ["Drama"], "year": [1999]})
    import_dataset(store, Dataset.from_events(ev, titles))
    seven = store.get_title("7")
    assert seven is not None and (seven.name, seven.genres, seven.year) == ("Title 7", "Drama", 1999)
    store.close()


def test_an_imported_titles_duration_is_the_median_of_its_plays_from_a_fifth_watched(tmp_path: Path) -> None:
    """Duration = median over plays with fraction >= 0.2 of seconds / fraction: 600 s at 0.2 (3000),
    1000 s at 0.5 (2000), 1500 s at 1.0 (1500) give 2000; 50 s at 0.1 is too little to count."""
    ev = pd.DataFrame(
        {
            "member_id": ["a", "b", "c", "d"],
            "title_id": "x",
            "kind": "play",
            "value": [600.0, 1000.0, 1500.0, 50.0],
            "fraction": [0.2, 0.5, 1.0, 0.1],
            "timestamp": 1_700_000_000,
        }
    )
    store = SQLiteStore(tmp_path / "reelkit.db")
    import_dataset(store, Dataset.from_events(ev))
    title = store.get_title("x")
    assert title is not None and title.duration == 2000.0
    store.close()


def test_an_imported_titles_duration_from_complete_plays_is_their_length(tmp_path: Path) -> None:
    """1202.8 s at 0.4 and 3007 s at 1.0 both say 3007 s: the duration is exactly that, to the second."""
    ev = pd.DataFrame(
        {"member_id": ["a", "b"], "title_id": "x", "kind": "play", "value": [1202.8, 3007.0]}
    ).assign(fraction=[0.4, 1.0], timestamp=1_700_000_000)
    store = SQLiteStore(tmp_path / "reelkit.db")
    import_dataset(store, Dataset.from_events(ev))
    title = store.get_title("x")
    assert title is not None and title.duration == 3007.0
    store.close()


def test_a_play_at_zero_seconds_says_nothing_of_the_duration(tmp_path: Path) -> None:
    """1000 s at 0.5 says 2000 s; a play to half recorded at 0 s (no position) is left out, not a duration
    of 0 that halves the median."""
    ev = pd.DataFrame(
        {"member_id": ["a", "b"], "title_id": "x", "kind": "play", "value": [1000.0, 0.0]}
    ).assign(fraction=[0.5, 0.5], timestamp=1_700_000_000)
    store = SQLiteStore(tmp_path / "reelkit.db")
    import_dataset(store, Dataset.from_events(ev))
    title = store.get_title("x")
    assert title is not None and title.duration == 2000.0
    store.close()


def test_a_catalogue_renaming_a_fifth_of_the_shared_titles_is_refused(tmp_path: Path) -> None:
    """40 shared titles: 10 renamed (a quarter: at least 10 and a fifth) is refused, nothing written (it
    was a warning, after which the other catalogue's events mixed with the stored ones); 9 renamed is
    taken without a word; ``rename_titles=True`` takes the 10."""
    from reelkit.errors import ReelkitWarning
    from reelkit.service.errors import TitlesRenamedError

    ev = pd.DataFrame({"member_id": "m", "title_id": [str(i) for i in range(40)], "value": 4.0})

    def catalogue(renamed: int) -> Dataset:
        names = [f"Other {i}" if i < renamed else f"Film {i}" for i in range(40)]
        return Dataset.from_events(ev, pd.DataFrame({"title_id": ev["title_id"], "name": names}))

    store = SQLiteStore(tmp_path / "reelkit.db")
    import_dataset(store, catalogue(0))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReelkitWarning)
        import_dataset(store, catalogue(9), label="nine.csv")
    store.upsert_titles([TitleRecord(str(i), f"Film {i}", "", None, "movie", None) for i in range(40)])
    events = store.count_events()
    with pytest.raises(
        TitlesRenamedError, match=r"^nb\.csv: 10 of the 40 titles it shares ids with would be renamed"
    ):
        import_dataset(store, catalogue(10), label="nb.csv")
    title = store.get_title("0")
    assert title is not None and title.name == "Film 0"
    assert store.count_events() == events and pending_imports(store) == {} and store.notes("") == {}
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReelkitWarning)
        import_dataset(store, catalogue(10), label="nb.csv", rename_titles=True)
    title = store.get_title("0")
    assert title is not None and title.name == "Other 0"
    store.close()


def test_a_catalogue_renaming_exactly_a_fifth_of_the_shared_titles_is_refused(tmp_path: Path) -> None:
    """60 shared titles, 12 renamed (at least 10 and exactly a fifth): refused."""
    from reelkit.service.errors import TitlesRenamedError

    ids = [str(i) for i in range(60)]
    ev = pd.DataFrame({"member_id": "m", "title_id": ids, "value": 4.0})
    store = SQLiteStore(tmp_path / "reelkit.db")
    import_dataset(
        store, Dataset.from_events(ev, pd.DataFrame({"title_id": ids, "name": [f"F{i}" for i in ids]}))
    )
    names = [f"Other {i}" if int(i) < 12 else f"F{i}" for i in ids]
    with pytest.raises(TitlesRenamedError, match=r"12 of the 60 titles it shares ids with would be renamed"):
        import_dataset(store, Dataset.from_events(ev, pd.DataFrame({"title_id": ids, "name": names})))
    store.close()


def test_imported_events_differing_only_in_fraction_are_two_events(tmp_path: Path) -> None:
    """An imported event's id covers every field: two plays alike but for the fraction are both stored."""
    ev = pd.DataFrame(
        {
            "member_id": "a",
            "title_id": "x",
            "kind": "play",
            "value": 600.0,
            "fraction": [0.3, 0.5],
            "timestamp": 1_700_000_000,
        }
    )
    store = SQLiteStore(tmp_path / "reelkit.db")
    summary = import_dataset(store, Dataset.from_events(ev))
    assert summary.events_stored == 2
    assert sorted(store.member_history("a").fractions.tolist()) == [0.3, 0.5]
    store.close()


def test_imported_ratings_differing_only_in_value_are_two_events(tmp_path: Path) -> None:
    """A file without times: a member who rated a title 4 and later 5 has both stored (the id covers the
    value), not one and a duplicate."""
    ev = pd.DataFrame({"member_id": "a", "title_id": "x", "kind": "rating", "value": [4.0, 5.0]})
    store = SQLiteStore(tmp_path / "reelkit.db")
    summary = import_dataset(store, Dataset.from_events(ev))
    assert (summary.events_stored, summary.events_duplicate) == (2, 0)
    store.close()


def test_the_import_warns_about_ids_by_the_routes_of_their_kind_and_the_apis_limits(tmp_path: Path) -> None:
    """A title ending /similar is warned about and one ending /home is not (only member routes end so); an
    id of exactly 128 characters is taken as the API takes it, and DEL (127) is a control character."""
    from reelkit.errors import ReelkitWarning

    def warned(members: list[str], titles: list[str]) -> list[str]:
        store = SQLiteStore(tmp_path / f"{len(list(tmp_path.iterdir()))}.db")
        with warnings.catch_warnings(record=True) as got:
            warnings.simplefilter("always", ReelkitWarning)
            import_dataset(store, _events_only(members, titles))
        store.close()
        return [str(w.message) for w in got if issubclass(w.category, ReelkitWarning)]

    assert [m[:40] for m in warned(["m"], ["t/similar"])] == ["1 title id(s) end as an API route does ("]
    assert warned(["m"], ["t/home"]) == []
    assert warned(["m" * 128], ["t"]) == []
    assert len(warned(["m" * 129], ["t"])) == 1
    assert len(warned(["m\x7fx"], ["t"])) == 1


def test_an_unfinished_import_is_known_and_bootstrap_completes_it(tmp_path: Path) -> None:
    from reelkit.data.demo import make_demo

    data = tmp_path / "data"
    label = "demo catalog (30 members, 40 titles)"  # what bootstrap imports with these sizes
    store = open_store(data)
    with pytest.raises(RuntimeError):  # serve --demo killed after the first chunk: the note stays
        import_dataset(
            store, make_demo(n_members=30, n_titles=40), chunk=50, progress=_FailAfter(1), label=label
        )
    assert store.count_events() == 50 and list(pending_imports(store).values()) == [label]
    store.close()
    report = bootstrap(data, n_members=30, n_titles=40)
    store = open_store(data)
    assert report.imported is not None and pending_imports(store) == {}
    assert report.trained is not None and report.trained.n_events == store.count_events() > 50
    # begun before the demo's start was kept: completed with the generator's default dates, not doubled
    assert store.count_events() == make_demo(n_members=30, n_titles=40).n_events
    store.close()


def test_the_demo_served_ends_the_day_it_is_set_up(tmp_path: Path) -> None:
    """The demo was dated 2024 and Trending's clock is the latest event: after one live play and a retrain
    every demo title was two years old (half-life 7 days), and Trending held only the titles played live."""
    data = tmp_path / "data"
    bootstrap(data, n_members=60, n_titles=40)
    today = int(time.time()) // 86_400 * 86_400
    store = open_store(data)
    ts = store.events_frame()[0]["timestamp"]
    assert store.get_note(DEMO_START) == str(today - 365 * 86_400)
    assert today - 365 * 86_400 <= ts.min() and today - 14 * 86_400 < ts.max() < today
    now = int(time.time())
    store.append_events([EventRecord("live-1", "m01", "t39", "play", now, 600.0, 0.1)])
    store.close()
    train_store(data, community_params=COMMUNITY)
    with TestClient(create_app(make_settings(data))) as client:
        bundle = client.app.state.reelkit.models.current  # type: ignore[attr-defined]
        scores = sorted(bundle.home.models.trending.item_scores_, reverse=True)
    assert scores[4] > 1.0  # demo titles still trend (the live play scores 1, a two-year-old play ~0)


def test_a_demo_import_resumed_another_day_makes_the_same_events(tmp_path: Path) -> None:
    from reelkit.data.demo import make_demo

    data = tmp_path / "data"
    label = "demo catalog (30 members, 40 titles)"
    start = int(time.time()) // 86_400 * 86_400 - 370 * 86_400  # begun five days ago
    full = make_demo(n_members=30, n_titles=40, start=start).n_events
    store = open_store(data)
    store.set_note(DEMO_START, str(start))
    with pytest.raises(RuntimeError):
        import_dataset(
            store,
            make_demo(n_members=30, n_titles=40, start=start),
            chunk=50,
            progress=_FailAfter(1),
            label=label,
        )
    store.close()
    report = bootstrap(data, n_members=30, n_titles=40)
    assert report.imported is not None and report.imported.events_duplicate == 50
    store = open_store(data)
    assert store.count_events() == full and store.get_note(DEMO_START) == str(start)
    store.close()


def test_bootstrap_leaves_another_sources_unfinished_import_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    store = open_store(data)
    with pytest.raises(RuntimeError):  # the user's own import, killed
        import_dataset(
            store,
            _events_only(["a", "a", "b", "c"], ["1", "2", "2", "3"]),
            chunk=2,
            progress=_FailAfter(1),
            label="mydata.csv",
        )
    store.close()
    with pytest.raises(ConfigError, match=r"mydata\.csv did not finish"):
        bootstrap(data, n_members=30, n_titles=40)
    store = open_store(data)
    # no demo data mixed into the user's, no model trained on half of it; the note still names the file
    assert store.count_events() == 2 and store.current_model_version() is None
    assert list(pending_imports(store).values()) == ["mydata.csv"]
    store.close()


def test_retrain_refuses_a_store_whose_import_did_not_finish(tmp_path: Path) -> None:
    """It trained on the chunks stored (and a server switched to that model): a store that trains fine
    once its note is gone."""
    data = tmp_path / "data"
    store = open_store(data)
    members = [f"m{i}" for i in range(30) for _ in range(4)]
    titles = [f"t{(i * 7 + k) % 25}" for i in range(30) for k in range(4)]
    import_dataset(store, _events_only(members, titles))
    store.set_note(IMPORT_PENDING, "mydata.csv")  # the next import of mydata.csv was killed
    store.close()
    with pytest.raises(ConfigError, match=r"import of mydata\.csv did not finish; run it again"):
        train_store(data, personal="popular")
    store = open_store(data)
    store.set_note(IMPORT_PENDING, None)
    store.close()
    assert train_store(data, personal="popular").n_events == 120


class _FailAfter:
    """A progress sink that raises after ``n`` advances (the process killed mid-import)."""

    def __init__(self, n: int) -> None:
        self.n = n

    def task(self, description: str, total: float | None = None) -> _FailAfter:
        return self

    def __enter__(self) -> _FailAfter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def advance(self, amount: float = 1.0) -> None:
        self.n -= 1
        if self.n <= 0:
            raise RuntimeError("killed")


def test_a_retrain_on_fewer_events_does_not_replace_the_current_one(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "reelkit.db")
    rec = {"created_at": 1, "personal_model": "ease", "n_events": 1, "n_members": 1, "n_titles": 1}
    store.add_model_version(ModelVersionRecord(version="v0002", events_seq=900, train_seconds=1.0, **rec))
    # the trainer that read the store first finishes last
    store.add_model_version(ModelVersionRecord(version="v0003", events_seq=700, train_seconds=1.0, **rec))
    assert store.current_model_version().version == "v0002"  # type: ignore[union-attr]
    store.add_model_version(ModelVersionRecord(version="v0004", events_seq=900, train_seconds=1.0, **rec))
    assert store.current_model_version().version == "v0004"  # type: ignore[union-attr]
    store.close()


def test_abandoned_trainer_folders_are_pruned(tmp_path: Path) -> None:
    old, fresh = tmp_path / ".tmp-old", tmp_path / ".tmp-new"
    for d in (old, fresh):
        d.mkdir()
        (d / "x.npz").write_bytes(b"x")
    past = time.time() - STALE_TMP_S - 60
    os.utime(old, (past, past))
    _prune(tmp_path, keep=3, protect=set(), recorded=[])
    assert not old.exists() and fresh.exists()  # one being written right now is left alone


def test_pruning_ranks_recorded_versions_and_removes_old_orphan_folders(data_dir: Path) -> None:
    """A retrain killed between renaming its folder into place and recording it left a folder no store
    names (~400 MB); pruning ranked folders, so later retrains deleted a recorded usable version and kept
    the orphan for ever. The newest recorded versions are kept; an orphan goes once it is an hour old (a
    younger one may be a retrain about to record it)."""
    import shutil

    from reelkit.service.models import models_dir

    train_store(data_dir, community_params=COMMUNITY)  # v0002, recorded
    root = models_dir(data_dir)
    for orphan in ("v0003", "v0009"):  # killed before its record
        shutil.copytree(root / "v0002", root / orphan)
    past = time.time() - STALE_TMP_S - 60
    os.utime(root / "v0003", (past, past))
    rec = train_store(data_dir, community_params=COMMUNITY, keep_versions=2)
    assert rec.version == "v0010"
    assert sorted(p.name for p in root.iterdir()) == ["v0002", "v0009", "v0010"]


def test_a_damaged_current_model_falls_back_to_the_previous_version(data_dir: Path) -> None:
    train_store(data_dir, community_params=COMMUNITY)  # v0002, current
    store = open_store(data_dir)
    current = store.current_model_version()
    assert current is not None and current.version == "v0002"
    personal = data_dir / "models" / "v0002" / "personal.npz"
    personal.write_bytes(personal.read_bytes()[:100])  # truncated
    holder = ModelHolder(data_dir, store)
    assert holder.refresh()
    assert holder.require().version == "v0001" and "v0002" in (holder.last_error or "")
    assert not holder.refresh()  # the damaged version is not tried again on every poll
    store.close()


def test_a_busy_database_is_503_with_retry_after(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with TestClient(create_app(make_settings(data_dir))) as c:
        store = c.app.state.reelkit.store  # type: ignore[attr-defined]

        def locked(*a: object, **k: object) -> None:
            raise sqlite3.OperationalError("database is locked")

        monkeypatch.setattr(store, "list_members", locked)
        r = c.get("/v1/members")
        assert r.status_code == 503 and r.headers["Retry-After"] == "2"
        assert r.json()["error"] == "unavailable"


T = TypeVar("T")


def _hold_the_database(data_dir: Path) -> sqlite3.Connection:
    """Another process's writer (an import, a retrain): a connection holding ``BEGIN IMMEDIATE``."""
    holder = sqlite3.connect(data_dir / "reelkit.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def _at_once_on_a_held_database(data_dir: Path, n: int, write: Callable[[int], T]) -> list[tuple[float, T]]:
    """``write(0)`` .. ``write(n - 1)`` in ``n`` threads at once while another connection holds the database:
    each one's seconds and result (the hold is released once all have answered, or after 10 s each)."""
    holder = _hold_the_database(data_dir)
    took: list[tuple[float, T]] = []

    def timed(i: int) -> None:
        start = time.monotonic()
        result = write(i)
        took.append((time.monotonic() - start, result))

    threads = [threading.Thread(target=timed, args=(i,)) for i in range(n)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    return took


def test_writers_queued_behind_a_busy_database_each_answer_within_the_busy_timeout(tmp_path: Path) -> None:
    """Four writers waiting on a database another process held failed after 10, 20, 30 and 40 s: each
    waited for the process's write lock (no timeout of its own), then for its own busy timeout."""
    store = SQLiteStore(tmp_path / "reelkit.db", busy_timeout_s=0.5)

    def write(i: int) -> str:
        try:
            store.set_note(f"n{i}", "x")
            return "stored"
        except sqlite3.OperationalError as exc:
            return str(exc)

    took = _at_once_on_a_held_database(tmp_path, 4, write)
    # each answers after about the busy timeout (0.5 s), not 0.5, 1.0, 1.5 and 2.0 s
    assert len(took) == 4 and all("locked" in what for _, what in took), took
    assert max(s for s, _ in took) < 1.2, took
    store.set_note("after", "x")  # the lock is free again
    assert store.get_note("after") == "x" and store.notes("n") == {}
    store.close()


def test_health_and_ready_answer_while_waiting_writers_fill_the_thread_pool(data_dir: Path) -> None:
    """With 45 writers waiting on a busy database, GET /health took 17 s: it ran in the thread pool the
    waiting writers filled. Here the pool has one thread, which a waiting writer takes."""
    import anyio.to_thread

    async def one_thread() -> None:
        anyio.to_thread.current_default_thread_limiter().total_tokens = 1

    async def borrowed() -> int:
        return int(anyio.to_thread.current_default_thread_limiter().borrowed_tokens)

    with TestClient(create_app(make_settings(data_dir, busy_timeout_s=2.0))) as c:
        member = c.get("/v1/members?limit=1").json()["members"][0]["member_id"]
        title = c.get("/v1/events?limit=1").json()["events"][0]["title_id"]
        assert c.portal is not None
        c.portal.call(one_thread)
        holder = _hold_the_database(data_dir)
        answers: list[tuple[float, Any]] = []

        def post() -> None:
            start = time.monotonic()
            event = {"event_id": "busy-1", "member_id": member, "title_id": title, "kind": "thumb"}
            event["value"] = 1
            r = c.post("/v1/events", json={"events": [event]}, headers=AUTH)
            answers.append((time.monotonic() - start, r))

        writer = threading.Thread(target=post)
        try:
            writer.start()
            deadline = time.monotonic() + 5
            while c.portal.call(borrowed) < 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert c.portal.call(borrowed) == 1  # the writer waits in the pool's only thread
            for path in ("/health", "/ready"):
                start = time.monotonic()
                r = c.get(path)
                assert r.status_code == 200 and time.monotonic() - start < 1.0, (path, r.text)
                assert r.json()["status"] == "ok"
            writer.join(10)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        (took, r), *_ = answers
        assert r.status_code == 503 and r.headers["Retry-After"] == "2" and took < 3.5, (took, r.text)
        assert c.get("/health").json()["events"] == c.get("/v1/events?limit=1").json()["total"]


def _two_writes_on_one_thread(c: TestClient, data_dir: Path, send: Callable[[int], Any]) -> list[int]:
    """Two writes ``send(0)``, ``send(1)`` at once on a thread pool of one thread, the database held by
    another connection: their status codes, once each has answered within 1.6 s (busy timeout 1 s)."""
    import anyio.to_thread

    async def one_thread() -> None:
        anyio.to_thread.current_default_thread_limiter().total_tokens = 1

    assert c.portal is not None
    c.portal.call(one_thread)
    answers = _at_once_on_a_held_database(data_dir, 2, lambda i: send(i).status_code)
    # both answer after about the busy timeout (1 s), not 1 and 2 s
    assert max(t for t, _ in answers) < 1.6, answers
    return [code for _, code in answers]


def test_a_write_queued_for_a_thread_counts_its_wait_from_its_arrival(data_dir: Path) -> None:
    """More writers than the thread pool has threads: those queued for a thread waited for one (a busy
    timeout, as the writers ahead of them) and then their own busy timeout: 45 writers on 40 threads
    answered after up to twice the timeout. Here the pool has one thread and two writers arrive at once."""
    with TestClient(create_app(make_settings(data_dir, busy_timeout_s=1.0))) as c:
        member = c.get("/v1/members?limit=1").json()["members"][0]["member_id"]
        title = c.get("/v1/events?limit=1").json()["events"][0]["title_id"]

        def post(i: int) -> Any:
            event = {"event_id": f"q-{i}", "member_id": member, "title_id": title, "kind": "thumb"}
            return c.post("/v1/events", json={"events": [{**event, "value": 1}]}, headers=AUTH)

        assert _two_writes_on_one_thread(c, data_dir, post) == [503, 503]


def test_a_web_play_queued_for_a_thread_counts_its_wait_from_its_arrival(data_dir: Path) -> None:
    """The page's play button (``/ui/play``) is a write too: queued for a thread behind another play
    waiting on a busy database, it waited for the thread (a busy timeout) and then its own busy timeout
    (about 2 s here); its wait counts from its arrival, as the API's writes do."""
    with TestClient(create_app(make_settings(data_dir, busy_timeout_s=1.0, web_ui_writes=True))) as c:
        member = c.get("/v1/members?limit=1").json()["members"][0]["member_id"]
        title = c.get("/v1/events?limit=1").json()["events"][0]["title_id"]
        assert c.get(f"/?member={member}").status_code == 200  # the profile cookie

        def play(i: int) -> Any:
            body = {"title_id": title, "fraction": 0.3}
            return c.post("/ui/play", json=body, headers={"X-Reelkit-UI": "1"})

        assert _two_writes_on_one_thread(c, data_dir, play) == [503, 503]


def test_the_plan_api_has_the_api_body_limit(data_dir: Path) -> None:
    with TestClient(create_app(make_settings(data_dir, max_body_bytes=64 * 1024))) as c:
        body = '{"scenes": [' + ",".join(["[]"] * 40_000) + "]}"
        r = c.post("/v1/produce/plan", content=body, headers={"content-type": "application/json"})
        assert r.status_code == 413


def test_production_validation_is_bounded() -> None:
    with pytest.raises(ProductionFormatError, match="list entries"):
        parse_production({"scenes": [[]] * (MAX_ENTRIES + 1)})
    with pytest.raises(ProductionFormatError) as err:
        parse_production({"calendar": {}, "locations": [], "scenes": [[]] * 500})
    assert len(err.value.fields) == MAX_FIELD_ERRORS + 1 and "more errors" in err.value.fields[-1][1]


def test_abr_sessions_share_a_memory_budget() -> None:
    """Past the budget the oldest entries go, never a session: a player that is still playing keeps its
    policy state (evicting whole sessions reset 37 playing sessions in two hours of 60 viewers)."""
    table = SessionTable(max_sessions=100, max_entries=100)

    def session(sid: str, n: int) -> AbrSession:
        s = AbrSession(sid, "bba", (300.0,), 4.0, None, None)
        s.log.extend({"e": i} for i in range(n))
        s.decisions.extend({"d": i} for i in range(n))
        table.put(s)
        return s

    a, b = session("a", 40), session("b", 40)
    table.trim()  # 160 entries > 100: each session keeps its newest 50
    assert sum(len(x.log) + len(x.decisions) for x in (a, b)) <= 100
    assert a.log[-1] == {"e": 39} and a.decisions[-1] == {"d": 39}  # the newest stay
    assert table.get("a") is a and table.get("b") is b


def test_events_dated_after_today_are_not_imported(tmp_path: Path) -> None:
    from reelkit.errors import ReelkitWarning

    ds = _events_only(["a", "b"], ["1", "2"])
    ev = ds.events.copy()
    ev.loc[ev.index[1], "timestamp"] = 1_900_000_000  # 2030: it emptied Trending for everyone
    ds = Dataset.from_events(ev)
    store = SQLiteStore(tmp_path / "reelkit.db")
    with pytest.warns(ReelkitWarning, match="dated after today"):
        summary = import_dataset(store, ds)
    assert summary.events_stored == 1 and store.count_events() == 1
    store.close()


def test_events_more_than_a_day_ahead_are_not_imported_and_hours_ahead_are(tmp_path: Path) -> None:
    """The import's slack for clocks is one day: an event 2 days ahead is dropped, ones 12 and 23 hours ahead
    kept."""
    from reelkit.errors import ReelkitWarning

    now = int(time.time())
    ev = pd.DataFrame(
        {
            "member_id": ["a", "b", "a"],
            "title_id": ["1", "2", "3"],
            "kind": "rating",
            "value": 4.0,
            "timestamp": [now + 12 * 3600, now + 2 * 86400, now + 23 * 3600],
        }
    )
    store = SQLiteStore(tmp_path / "reelkit.db")
    with pytest.warns(ReelkitWarning, match="1 event"):
        summary = import_dataset(store, Dataset.from_events(ev))
    assert summary.events_stored == 2 and store.member_history("a").title_ids.tolist() == ["1", "3"]
    store.close()


def test_a_failed_import_leaves_no_note_and_another_import_keeps_a_pending_one(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "reelkit.db")
    ev = _events_only(["a"], ["1"]).events.copy()
    ev["timestamp"] = 4_100_000_000  # every event dated 2100: nothing to import
    # named as what it is (it was "no events: the file or table has no data rows", of a file that has one)
    with pytest.raises(
        DataFormatError, match=r"^future\.csv: every event \(1\) is dated more than a day after"
    ):
        import_dataset(store, Dataset.from_events(ev), label="future.csv")
    assert pending_imports(store) == {}  # not "did not finish": it never started
    store.set_note(IMPORT_PENDING, "a.csv")  # an import of a.csv was killed
    import_dataset(store, _events_only(["b"], ["2"]), label="b.csv")
    assert store.get_note(IMPORT_PENDING) == "a.csv"  # b.csv's success does not hide it
    store.close()


def test_a_whole_import_of_the_same_file_completes_its_unfinished_import_though_it_changed(
    tmp_path: Path,
) -> None:
    """An import of ratings.csv was killed, the file then edited (another fingerprint): importing it whole
    under the same name completes it (the note was otherwise kept, and retrain refused the folder)."""
    store = SQLiteStore(tmp_path / "reelkit.db")
    store.set_note("import_pending:deadbeef", "ratings.csv")  # the killed import's content was other
    import_dataset(store, _events_only(["a"], ["1"]), label="ratings.csv")
    assert pending_imports(store) == {}
    store.close()


def test_the_same_data_from_another_path_completes_an_unfinished_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first copy was imported part-way and then deleted: the same events from elsewhere complete
    its import (the note was kept for good: retrain and serve refused the folder with no way out)."""
    store = SQLiteStore(tmp_path / "reelkit.db")
    ds = _events_only(["a", "b", "c"], ["1", "2", "3"])
    _import_killed_after_one_chunk(store, monkeypatch, ds, "/tmp/copy/ratings.csv")
    assert list(pending_imports(store).values()) == ["/tmp/copy/ratings.csv"] and store.count_events() == 1
    other = _events_only(["z"], ["9"])  # other data does not complete it
    import_dataset(store, other, label="other.csv")
    assert list(pending_imports(store).values()) == ["/tmp/copy/ratings.csv"]
    summary = import_dataset(store, ds, label="/data/ratings.csv")  # the same events, another path
    assert summary.events_stored == 2 and summary.events_duplicate == 1
    assert pending_imports(store) == {}
    store.close()


def test_every_unfinished_import_is_remembered_and_only_its_own_completion_clears_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second import killed while a first was unfinished left no note: once the first was completed,
    retrain trained on half of the second (whose interruption said retrain would refuse)."""
    store = SQLiteStore(tmp_path / "reelkit.db")
    a = _events_only(["a1", "a2", "a3"], ["1", "2", "3"])
    b = _events_only(["b1", "b2", "b3"], ["4", "5", "6"])
    _import_killed_after_one_chunk(store, monkeypatch, a, "a.csv")
    _import_killed_after_one_chunk(store, monkeypatch, b, "b.csv")
    assert sorted(pending_imports(store).values()) == ["a.csv", "b.csv"] and store.count_events() == 2
    with pytest.raises(ConfigError, match=r"the imports of (a\.csv, b\.csv|b\.csv, a\.csv) did not finish"):
        refuse_unfinished_import(store, tmp_path, "training")
    import_dataset(store, a, label="a.csv")  # a completed: b is still unfinished
    assert list(pending_imports(store).values()) == ["b.csv"]
    with pytest.raises(ConfigError, match=r"the import of b\.csv did not finish"):
        refuse_unfinished_import(store, tmp_path, "training")
    import_dataset(store, b, label="b.csv")
    assert pending_imports(store) == {} and store.count_events() == 6
    refuse_unfinished_import(store, tmp_path, "training")
    store.close()


def test_an_old_folders_single_pending_note_is_kept_beside_new_ones(tmp_path: Path) -> None:
    """A data folder from before several were remembered holds one note (label and fingerprint)."""
    store = SQLiteStore(tmp_path / "reelkit.db")
    old = _events_only(["a"], ["1"])
    store.set_note(IMPORT_PENDING, "old.csv")
    store.set_note(IMPORT_PENDING_KEY, "0123")
    store.set_note("import_pending:4567", "new.csv")  # another one, killed since
    with pytest.raises(ConfigError, match=r"the imports of old\.csv, new\.csv did not finish"):
        refuse_unfinished_import(store, tmp_path, "serving")
    import_dataset(store, old, label="old.csv")
    assert pending_imports(store) == {"4567": "new.csv"}
    assert store.get_note(IMPORT_PENDING) is None and store.get_note(IMPORT_PENDING_KEY) is None
    store.close()


def test_a_retrain_during_an_import_is_told_it_is_in_progress(tmp_path: Path) -> None:
    """A retrain started while an import ran was told the import 'did not finish' and to run it again or
    abandon it (a second import beside the live one, or giving up a live one): while the importing process
    lives on this host it is named, with its start, and the advice is to retry when it ends; a killed one,
    one elsewhere and a note from before owners were kept read as before."""
    import json
    import socket
    import subprocess
    import sys

    store = SQLiteStore(tmp_path / "reelkit.db")
    store.set_note("import_pending:0123", "big.csv")
    import datetime as dt
    import time

    started = time.time()  # this process (the "importer") started before it wrote its note
    owner = {"pid": os.getpid(), "host": socket.gethostname(), "started": started}
    store.set_note("import_owner:0123", json.dumps(owner))
    with pytest.raises(ConfigError) as live:
        refuse_unfinished_import(store, tmp_path, "training")
    when = dt.datetime.fromtimestamp(started, dt.UTC).strftime("%Y-%m-%d %H:%M")
    assert str(live.value) == (
        f"{tmp_path}: an import of big.csv is in progress (pid {os.getpid()}, started {when} UTC); "
        "retry training when it ends"
    )
    # nor is a running import one that "did not finish" to `reelkit import` (it warned so beside a live one)
    assert stopped_imports(store) == {}
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()  # an importer killed with -9: its process is gone
    # its pid reused after a restart by a process that started later than the import (this one, against
    # an import of 2026-01-01): not the importer (it read 'in progress' for as long as that process ran)
    reused = {**owner, "started": 1_767_225_600.0}
    for other in ({**owner, "pid": gone.pid}, {**owner, "host": "another-host"}, reused, None):
        store.set_note("import_owner:0123", json.dumps(other) if other is not None else None)
        with pytest.raises(ConfigError, match=r"the import of big\.csv did not finish; run it again"):
            refuse_unfinished_import(store, tmp_path, "training")
        assert stopped_imports(store) == {"0123": "big.csv"}
    # an import that stopped in this process (an error) is no longer in progress: its owner goes
    with pytest.raises(RuntimeError):
        import_dataset(
            store, _events_only(["a", "b", "c"], ["1", "2", "3"]), chunk=1, progress=_FailAfter(1), label="x"
        )
    assert store.notes("import_owner:") == {} and "x" in pending_imports(store).values()
    store.close()


def test_serve_demo_does_not_serve_one_source_from_anothers_folder(tmp_path: Path) -> None:
    """`REELKIT_DATA=ml make run` after a demo run printed 'reusing the data' and served the demo."""
    data = tmp_path / "data"
    bootstrap(data, n_members=30, n_titles=40)
    again = bootstrap(data, n_members=30, n_titles=40)  # the same source: reused
    assert again.imported is None and again.trained is None
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("userId,movieId,rating,timestamp\n1,10,4,1000000000\n2,10,3,1000000001\n")
    with pytest.raises(ConfigError, match="already holds demo catalog"):
        bootstrap(data, source=ratings)


def test_thumbs_stored_before_they_were_checked_do_not_stop_a_retrain(tmp_path: Path) -> None:
    """An import before thumbs had to be 1 or -1 stored 0s; every retrain then failed on them."""
    from reelkit.errors import ReelkitWarning
    from reelkit.service.store import EventRecord

    data = tmp_path / "data"
    store = open_store(data)
    members = [f"m{i}" for i in range(30) for _ in range(4)]
    titles = [f"t{(i * 7 + k) % 25}" for i in range(30) for k in range(4)]
    import_dataset(store, _events_only(members, titles))
    store.append_events([EventRecord("old-thumb", "m1", "t3", "thumb", 1_700_000_100, value=0.0)])
    store.close()
    with pytest.warns(ReelkitWarning, match=r"1 stored thumb event\(s\) have a value other than 1 or -1 \(0"):
        record = train_store(data, personal="popular")
    assert record.n_events == 120
