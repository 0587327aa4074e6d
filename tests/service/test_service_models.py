"""Model versions: written atomically, switched atomically, bad versions never served, old ones pruned."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from reelkit.errors import ConfigError, EmptyDataError
from reelkit.recommend.home import HomePage
from reelkit.service.errors import NoModelError
from reelkit.service.models import ModelBundle, ModelHolder, manifest_of, models_dir, train_store
from reelkit.service.store import EventRecord, ModelVersionRecord, open_store

COMMUNITY = {"n_communities": 4, "dims": 16}  # fast community training (as in conftest)


def test_train_writes_a_complete_version(data_dir: Path) -> None:
    rec = train_store(data_dir, community_params=COMMUNITY)
    assert rec.version == "v0002" and rec.personal_model == "ease"
    folder = models_dir(data_dir) / "v0002"
    assert {p.name for p in folder.iterdir()} == {
        "manifest.json",
        "personal.npz",
        "itemknn.npz",
        "trending.npz",
        "communities.npz",
    }
    assert manifest_of(data_dir, "v0002").events_seq == rec.events_seq
    assert not [p for p in models_dir(data_dir).iterdir() if p.name.startswith(".tmp")]
    store = open_store(data_dir)
    assert store.current_model_version() == rec
    store.close()


def test_other_personal_models_and_bad_names(data_dir: Path) -> None:
    rec = train_store(data_dir, personal="itemknn", community_params=COMMUNITY)
    store = open_store(data_dir)
    holder = ModelHolder(data_dir, store)
    assert holder.refresh() and holder.require().personal.name == "itemknn"
    store.close()
    assert rec.personal_model == "itemknn"
    with pytest.raises(ConfigError, match="unknown model"):
        train_store(data_dir, personal="no-such-model")


def test_training_weighs_events_with_the_services_home_settings(tmp_path: Path) -> None:
    """A service whose home page counts 100 s of a 22-minute episode as a start (``continue_min_seconds``
    60) and thumbs as nothing (``thumb_weight`` 0) trains with those rules too: the default rules make the
    100 s plays samples (no view in Trending) and count the thumbs up (in the personal model's history;
    Trending counts plays, never thumbs)."""
    from reelkit.data.confidence import ConfidenceConfig
    from reelkit.recommend.base import load_model
    from reelkit.recommend.home import HomeConfig
    from reelkit.service.store import MemberRecord, TitleRecord

    store = open_store(tmp_path)
    store.upsert_titles([TitleRecord(t, t.title(), duration=1320.0) for t in ("ep", "hit", "liked")])
    store.upsert_members([MemberRecord(f"m{m}", f"M{m}") for m in range(6)])
    now = 1_790_000_000
    events = [EventRecord(f"p{m}", f"m{m}", "ep", "play", now, 100.0, 100 / 1320) for m in range(4)]
    events += [EventRecord(f"h{m}", f"m{m}", "hit", "play", now, 1320.0, 1.0) for m in range(6)]
    events += [EventRecord(f"l{m}", f"m{m}", "liked", "thumb", now, 1.0) for m in range(3)]
    store.append_events(events)
    store.close()

    def trained(**home: object) -> tuple[dict[str, float], int]:
        """Trending's scores, and how many members' histories hold the liked title."""
        rec = train_store(tmp_path, personal="itemknn", home=HomeConfig(**home) if home else None)  # type: ignore[arg-type]
        model = load_model(models_dir(tmp_path) / rec.version / "trending.npz")
        personal = load_model(models_dir(tmp_path) / rec.version / "personal.npz")
        liked = int(personal.history_[:, personal.title_cols(["liked"])[0]].nnz)
        return dict(zip(model.title_ids_.tolist(), model.item_scores_.tolist(), strict=True)), liked

    assert trained() == (pytest.approx({"ep": 0.0, "hit": 6.0, "liked": 0.0}), 3)
    ours = trained(continue_min_seconds=60.0, confidence=ConfidenceConfig(thumb_weight=0.0))
    assert ours == (pytest.approx({"ep": 4.0, "hit": 6.0, "liked": 0.0}), 0)


def test_training_takes_the_services_sample_fraction(tmp_path: Path) -> None:
    """A service whose pages count a play under 30 % of the title as a preview (``continue_min_fraction``
    0.3) trains so too: 1200 s of a 6000 s film (20 %, far past the 120 s rule) is a view by default
    (Trending 4) and a preview under 0.3 (Trending 0)."""
    from reelkit.recommend.base import load_model
    from reelkit.recommend.home import HomeConfig
    from reelkit.service.store import MemberRecord, TitleRecord

    store = open_store(tmp_path)
    store.upsert_titles([TitleRecord(t, t.title(), duration=6000.0) for t in ("film", "hit")])
    store.upsert_members([MemberRecord(f"m{m}", f"M{m}") for m in range(4)])
    now = 1_790_000_000
    events = [EventRecord(f"p{m}", f"m{m}", "film", "play", now, 1200.0, 0.2) for m in range(4)]
    events += [EventRecord(f"h{m}", f"m{m}", "hit", "play", now, 6000.0, 1.0) for m in range(4)]
    store.append_events(events)
    store.close()

    def film_views(home: HomeConfig | None) -> float:
        rec = train_store(tmp_path, personal="itemknn", home=home)
        model = load_model(models_dir(tmp_path) / rec.version / "trending.npz")
        return float(dict(zip(model.title_ids_.tolist(), model.item_scores_.tolist(), strict=True))["film"])

    assert film_views(None) == pytest.approx(4.0)
    assert film_views(HomeConfig(continue_min_fraction=0.3)) == pytest.approx(0.0)


@pytest.mark.parametrize("n_raters", [25, 3])
def test_a_rating_is_a_dislike_only_on_a_known_scale(tmp_path: Path, n_raters: int) -> None:
    """Members who rate 4 and 5 of 5 (50 ratings): a 4 is liked on the usual 0-5 scale (their own 4-5 range
    made it the lowest, a dislike: Trending lost the title). With 8 ratings the scale is not known (0-10 is
    assumed: a 4 would read as 0.4) and no rating is a dislike, not even a 1, in training and on the pages of
    that model."""
    from reelkit.recommend.base import load_model
    from reelkit.service.store import MemberRecord, TitleRecord

    store = open_store(tmp_path)
    store.upsert_titles([TitleRecord(t, t.title(), duration=6000.0) for t in ("four", "five", "one")])
    store.upsert_members([MemberRecord(f"m{m}", f"M{m}") for m in range(n_raters)])
    now = 1_790_000_000
    events = [EventRecord(f"f{m}", f"m{m}", "four", "rating", now, 4.0) for m in range(n_raters)]
    events += [EventRecord(f"v{m}", f"m{m}", "five", "rating", now, 5.0) for m in range(n_raters)]
    known = n_raters == 25
    if not known:
        events += [EventRecord(f"o{m}", f"m{m}", "one", "rating", now, 1.0) for m in range(2)]
    store.append_events(events)
    store.close()
    rec = train_store(tmp_path, personal="itemknn")
    model = load_model(models_dir(tmp_path) / rec.version / "trending.npz")
    trending = dict(zip(model.title_ids_.tolist(), model.item_scores_.tolist(), strict=True))
    assert trending == pytest.approx({"four": n_raters, "five": n_raters, "one": 0.0 if known else 2.0})
    store = open_store(tmp_path)
    try:
        holder = ModelHolder(tmp_path, store)
        assert holder.refresh()
        assert holder.require().home.config.confidence.low_rating == ("dislike" if known else "positive")
    finally:
        store.close()


@pytest.mark.parametrize(("n_fives", "one_score"), [(18, 0.0), (17, 2.0)])
def test_training_knows_the_scale_from_exactly_twenty_ratings(
    tmp_path: Path, n_fives: int, one_score: float
) -> None:
    """Training, like ``stored_scale``, knows the scale from MIN_RATINGS_FOR_SCALE = 20 ratings on: 18 fives
    and two 1s (20) make the 1s dislikes (Trending 0); 17 fives and two 1s (19) do not (Trending 2)."""
    from reelkit.recommend.base import load_model
    from reelkit.service.store import MemberRecord, TitleRecord

    store = open_store(tmp_path)
    store.upsert_titles([TitleRecord(t, t.title(), duration=6000.0) for t in ("five", "one")])
    store.upsert_members([MemberRecord(f"m{m}", f"M{m}") for m in range(n_fives)])
    now = 1_790_000_000
    events = [EventRecord(f"v{m}", f"m{m}", "five", "rating", now, 5.0) for m in range(n_fives)]
    events += [EventRecord(f"o{m}", f"m{m}", "one", "rating", now, 1.0) for m in range(2)]
    store.append_events(events)
    store.close()
    rec = train_store(tmp_path, personal="itemknn")
    assert manifest_of(tmp_path, rec.version).rating_scale_known is (n_fives + 2 >= 20)
    model = load_model(models_dir(tmp_path) / rec.version / "trending.npz")
    trending = dict(zip(model.title_ids_.tolist(), model.item_scores_.tolist(), strict=True))
    assert trending == pytest.approx({"five": n_fives, "one": one_score})


@pytest.mark.parametrize("dislike", [0.0, -1.0])
def test_like_dislike_ratings_train_on_their_own_scale(tmp_path: Path, dislike: float) -> None:
    """Ratings of 1 and 0 (or -1), 20 or more, are a like/dislike scale: read on 0-5 every like was a low
    rating, a dislike under the page's formula, and retrain found nothing to train on. 20 members like
    "liked" (Trending 20) and two dislike "disliked" (Trending 0)."""
    from reelkit.recommend.base import load_model
    from reelkit.service.store import MemberRecord, TitleRecord

    store = open_store(tmp_path)
    store.upsert_titles([TitleRecord(t, t.title(), duration=6000.0) for t in ("liked", "disliked")])
    store.upsert_members([MemberRecord(f"m{m}", f"M{m}") for m in range(20)])
    now = 1_790_000_000
    events = [EventRecord(f"l{m}", f"m{m}", "liked", "rating", now, 1.0) for m in range(20)]
    events += [EventRecord(f"d{m}", f"m{m}", "disliked", "rating", now, dislike) for m in range(2)]
    store.append_events(events)
    store.close()
    rec = train_store(tmp_path, personal="itemknn")
    model = load_model(models_dir(tmp_path) / rec.version / "trending.npz")
    trending = dict(zip(model.title_ids_.tolist(), model.item_scores_.tolist(), strict=True))
    assert trending == pytest.approx({"liked": 20.0, "disliked": 0.0})
    assert model.rating_scale_ == (dislike, 1.0)


def test_nothing_to_train_on_names_the_services_setting(tmp_path: Path) -> None:
    """It said "check --min-rating", an option retrain does not have."""
    from reelkit.service.store import MemberRecord, TitleRecord

    store = open_store(tmp_path)
    store.upsert_titles([TitleRecord("low", "Low"), TitleRecord("top", "Top")])
    store.upsert_members([MemberRecord(f"m{m}", f"M{m}") for m in range(20)])
    now = 1_790_000_000
    store.append_events([EventRecord(f"l{m}", f"m{m}", "low", "rating", now, 1.0) for m in range(20)])
    store.append_events([EventRecord("t", "m0", "top", "rating", now, 0.0)])  # the scale's bottom
    store.append_events([EventRecord("t2", "m1", "top", "rating", now, 5.0)])  # 0-5, 1s in its lower half
    store.append_events([EventRecord("t3", "m1", "top", "thumb", now, -1.0)])  # and thumbed down
    store.close()
    with pytest.raises(EmptyDataError) as err:
        train_store(tmp_path, personal="itemknn")
    assert "--min-rating" not in str(err.value) and '"low_rating": "positive"' in str(err.value)


def test_ratings_beyond_ten_widen_the_trained_scale(tmp_path: Path) -> None:
    """Ratings on 0-100 (20 members rate 100, two rate 20) train on 0-100, the usual 0-10 widened to the
    highest rating: a 20 is in the lower half, a dislike (Trending 0); on 0-10 it read as above the top."""
    from reelkit.recommend.base import load_model
    from reelkit.service.store import MemberRecord, TitleRecord

    store = open_store(tmp_path)
    store.upsert_titles([TitleRecord(t, t.title(), duration=6000.0) for t in ("top", "low")])
    store.upsert_members([MemberRecord(f"m{m}", f"M{m}") for m in range(20)])
    now = 1_790_000_000
    events = [EventRecord(f"t{m}", f"m{m}", "top", "rating", now, 100.0) for m in range(20)]
    events += [EventRecord(f"l{m}", f"m{m}", "low", "rating", now, 20.0) for m in range(2)]
    store.append_events(events)
    store.close()
    rec = train_store(tmp_path, personal="itemknn")
    model = load_model(models_dir(tmp_path) / rec.version / "trending.npz")
    trending = dict(zip(model.title_ids_.tolist(), model.item_scores_.tolist(), strict=True))
    assert trending == pytest.approx({"top": 20.0, "low": 0.0})
    store = open_store(tmp_path)
    try:
        holder = ModelHolder(tmp_path, store)
        assert holder.refresh() and holder.require().rating_scale == (0.0, 100.0)
    finally:
        store.close()


def test_train_needs_events(tmp_path: Path) -> None:
    open_store(tmp_path).close()
    with pytest.raises(EmptyDataError, match="reelkit import"):
        train_store(tmp_path)


def test_holder_switches_atomically_while_serving(data_dir: Path) -> None:
    store = open_store(data_dir)
    holder = ModelHolder(data_dir, store)
    with pytest.raises(NoModelError):
        holder.require()
    assert holder.refresh()
    old = holder.require()
    members = [m.member_id for m in store.list_members(30)]
    seen: set[str] = set()
    errors: list[BaseException] = []
    stop = threading.Event()

    def requests() -> None:
        # each "request" reads the bundle once and uses only it, as the route handlers do
        try:
            while not stop.is_set():
                for m in members:
                    bundle = holder.current
                    assert isinstance(bundle, ModelBundle)
                    page = bundle.home.build(m, store.member_history(m))
                    assert page.rows
                    seen.add(bundle.version)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=requests) for _ in range(2)]
    for t in threads:
        t.start()
    in_flight = holder.current  # a request that started before the switch
    train_store(data_dir, community_params=COMMUNITY)
    assert holder.refresh()
    time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join()
    assert not errors
    assert holder.require().version == "v0002" and seen <= {"v0001", "v0002"} and "v0002" in seen
    # the request in flight finishes on the old bundle, which still works
    assert in_flight is old and in_flight is not None and in_flight.version == "v0001"
    assert in_flight.home.build(members[0], store.member_history(members[0])).rows
    assert not holder.refresh()  # already serving the current version
    store.close()


def test_a_broken_version_is_never_served(data_dir: Path) -> None:
    store = open_store(data_dir)
    holder = ModelHolder(data_dir, store)
    holder.refresh()
    good = holder.require()
    rec = train_store(data_dir, community_params=COMMUNITY)
    # damage the new version's files after it was recorded
    (models_dir(data_dir) / rec.version / "personal.npz").write_bytes(b"not a model")
    assert not holder.refresh()
    assert holder.require() is good
    assert holder.last_error is not None and rec.version in holder.last_error
    # a version record whose folder is missing is skipped too
    store.add_model_version(ModelVersionRecord("v0009", 0, "ease", 0, 0, 0, 0, 0.0))
    assert not holder.refresh() and holder.require() is good
    store.close()


def test_pages_use_the_home_settings_their_version_was_trained_with(data_dir: Path) -> None:
    """A server kept the home settings it started with for every version it switched to, while retrain
    read service.json afresh: a restart gave other pages for the same version. A version keeps the
    settings that weighed its events and its pages read a history with them; the display settings (row
    sizes) are the server's; a version written before versions kept them uses the server's throughout."""
    import json

    from reelkit.data.confidence import ConfidenceConfig
    from reelkit.recommend.home import HomeConfig
    from reelkit.service.models import load_bundle

    store = open_store(data_dir)
    started_with = HomeConfig(row_size=6)  # service.json when the server started
    holder = ModelHolder(data_dir, store, config=started_with)
    holder.refresh()
    member = store.active_members(1)[0]

    def widest(bundle: ModelBundle) -> int:
        page, _ = bundle.home_page(store, member)
        return max(len(r.titles) for r in page.rows)

    assert widest(holder.require()) == 6  # the server's row size
    assert holder.require().home.config.confidence.low_rating == "dislike"  # v0001: the default formula
    positive = ConfidenceConfig(low_rating="positive")
    edited = HomeConfig(row_size=4, confidence=positive, continue_min_seconds=5)
    train_store(data_dir, community_params=COMMUNITY, home=edited)  # service.json edited, then retrain
    assert holder.refresh() and holder.require().version == "v0002"
    assert manifest_of(data_dir, "v0002").home == edited
    switched = holder.require().home.config
    assert switched.confidence.low_rating == "positive" and switched.continue_min_seconds == 5
    assert widest(holder.require()) == 6  # row sizes stay the running server's until it restarts
    restarted = ModelHolder(data_dir, store, config=HomeConfig(row_size=4))
    restarted.refresh()
    assert restarted.require().home.config.confidence == switched.confidence
    assert widest(restarted.require()) == 4
    # a version written before versions kept their settings: the server's
    path = models_dir(data_dir) / "v0001" / "manifest.json"
    old = json.loads(path.read_text())
    del old["home"]
    path.write_text(json.dumps(old))
    v1 = next(r for r in store.model_versions() if r.version == "v0001")
    legacy = load_bundle(data_dir, v1, store.titles_frame(), config=edited)
    assert legacy.home.config.confidence.low_rating == "positive" and widest(legacy) == 4
    store.close()


def test_an_activation_racing_a_retrain_never_records_a_pruned_version(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A retrain that pruned v0001 while an activation of v0001 was loading it (seconds) let the activation
    record a deleted version as current: a restarted server then had no model. Pruning and recording the
    activation take one lock, and the activation checks the files again under it."""
    import reelkit.service.models as models
    from reelkit.service.errors import ModelVersionUnusableError

    store = open_store(data_dir)
    train_store(data_dir, community_params=COMMUNITY)  # v0002, current
    holder = ModelHolder(data_dir, store)
    holder.refresh()
    load = models.load_bundle

    def load_while_a_retrain_prunes(*args: object, **kwargs: object) -> ModelBundle:
        bundle = load(*args, **kwargs)  # type: ignore[arg-type]
        train_store(data_dir, community_params=COMMUNITY, keep_versions=1)  # another process's retrain
        return bundle

    monkeypatch.setattr(models, "load_bundle", load_while_a_retrain_prunes)
    with pytest.raises(ModelVersionUnusableError, match="v0001's files were deleted"):
        holder.activate("v0001")
    current = store.current_model_version()
    assert current is not None and current.version == "v0003"
    assert (models_dir(data_dir) / "v0003" / "manifest.json").is_file()
    assert not (models_dir(data_dir) / "v0001").exists()
    store.close()


def test_old_versions_are_pruned(data_dir: Path) -> None:
    for _ in range(3):
        train_store(data_dir, community_params=COMMUNITY, keep_versions=2)
    names = sorted(p.name for p in models_dir(data_dir).iterdir())
    assert names == ["v0003", "v0004"]


def test_pruning_keeps_the_version_being_served(data_dir: Path) -> None:
    """After a rollback to v0001, retrains that do not make their version current prune the older ones but
    never the one the service serves (its files deleted, a restarted server had no model: a mutant that
    ignored the protection passed every test)."""
    from reelkit.service.models import activate_version

    train_store(data_dir, community_params=COMMUNITY)  # v0002, current
    activate_version(data_dir, "v0001")  # rolled back
    for _ in range(3):
        train_store(data_dir, community_params=COMMUNITY, keep_versions=2, make_current=False)
    assert sorted(p.name for p in models_dir(data_dir).iterdir()) == ["v0001", "v0004", "v0005"]
    store = open_store(data_dir)
    current = store.current_model_version()
    store.close()
    assert current is not None and current.version == "v0001"
    assert (models_dir(data_dir) / "v0001" / "manifest.json").is_file()


def test_keeping_no_versions_keeps_only_the_new_one(data_dir: Path) -> None:
    """``keep_versions=0`` deletes every version but the one just trained (which serves), not none."""
    train_store(data_dir, community_params=COMMUNITY, keep_versions=0)
    assert sorted(p.name for p in models_dir(data_dir).iterdir()) == ["v0002"]


def test_fresh_events_do_not_need_a_new_version(data_dir: Path) -> None:
    store = open_store(data_dir)
    holder = ModelHolder(data_dir, store)
    holder.refresh()
    bundle = holder.require()
    member = store.list_members(1)[0].member_id
    page1, _ = bundle.home_page(store, member)
    tid = next(t.title_id for r in page1.rows if r.kind != "continue-watching" for t in r.titles)
    store.append_events([EventRecord("x1", member, tid, "play", 2_000_000_000, 100.0, 0.5)])
    page2, _ = bundle.home_page(store, member)
    assert page2.rows[0].kind == "continue-watching" and page2.rows[0].titles[0].title_id == tid
    current = store.current_model_version()
    assert current is not None and current.version == "v0001"
    store.close()


def test_a_cached_page_is_returned_with_its_rendered_body(data_dir: Path) -> None:
    """Asking twice for a page with ``render`` returns the cached rendering the second time (not ``None``),
    without rendering again."""
    store = open_store(data_dir)
    holder = ModelHolder(data_dir, store)
    holder.refresh()
    bundle = holder.require()
    member = store.list_members(1)[0].member_id
    calls: list[int] = []

    def render(page: object) -> bytes:
        calls.append(1)
        return b"rendered"

    assert bundle.home_page(store, member, render=render)[1] == b"rendered"
    assert bundle.home_page(store, member, render=render)[1] == b"rendered" and len(calls) == 1
    store.close()


def test_a_forced_refresh_retries_a_version_that_failed(data_dir: Path) -> None:
    store = open_store(data_dir)
    holder = ModelHolder(data_dir, store)
    holder.refresh()
    good = holder.require()
    rec = train_store(data_dir, community_params=COMMUNITY)
    personal = models_dir(data_dir) / rec.version / "personal.npz"
    saved = personal.read_bytes()
    personal.write_bytes(b"not a model")
    assert not holder.refresh() and holder.require() is good
    personal.write_bytes(saved)  # repaired (say, copied again)
    assert not holder.refresh()  # the failure is remembered by the poll ...
    assert holder.refresh(force=True)  # ... but a forced refresh tries again
    assert holder.require().version == rec.version
    store.close()


def test_page_cache_keeps_one_page_per_member() -> None:
    from reelkit.service.models import _PageCache

    cache = _PageCache(3)
    page = (HomePage("m", (), None, None, 0), b"{}")
    cache.put(("m1", 1), page)
    cache.put(("m1", 2), page)
    assert len(cache) == 1 and cache.get(("m1", 1)) is None and cache.get(("m1", 2)) == page
    cache.put(("m1", 1), page)  # built from an older history: not kept
    assert len(cache) == 1 and cache.get(("m1", 1)) is None
    for m in ("m2", "m3", "m4"):  # the LRU still evicts, and forgets the evicted member's sequence
        cache.put((m, 5), page)
    assert len(cache) == 3 and cache.get(("m1", 2)) is None
    cache.put(("m1", 1), page)
    assert cache.get(("m1", 1)) == page


def test_page_cache_reading_a_page_keeps_it_recent() -> None:
    """The page cache is an LRU: a page just read is kept over one written after it but not read since."""
    from reelkit.service.models import _PageCache

    cache = _PageCache(2)
    page = (HomePage("m", (), None, None, 0), b"{}")
    cache.put(("m1", 1), page)
    cache.put(("m2", 1), page)
    assert cache.get(("m1", 1)) == page  # m1 is now the most recent
    cache.put(("m3", 1), page)
    assert cache.get(("m2", 1)) is None and cache.get(("m1", 1)) == page


def test_the_stored_scale_is_taken_from_exactly_twenty_ratings() -> None:
    """At least (not more than) MIN_RATINGS_FOR_SCALE = 20 stored ratings set the scale: 20 up to 5 are 0-5,
    19 are not enough (0-10), and a highest rating of exactly 5 is on the 0-5 scale."""
    from reelkit.service.models import stored_scale

    assert stored_scale((1.0, 5.0, 20)) == (0.0, 5.0)
    assert stored_scale((1.0, 5.0, 19)) == (0.0, 10.0)
    assert stored_scale((-1.0, 7.0, 20)) == (-1.0, 10.0)
    assert stored_scale((0.0, 1.0, 20)) == (0.0, 1.0)  # like/dislike
    assert stored_scale((-1.0, 1.0, 20)) == (-1.0, 1.0)


def test_format_time_is_utc_on_the_24_hour_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unix second 1_790_000_000 is 2026-09-21 14:13:20 UTC: written "2026-09-21 14:13" (not 02:13, nor
    23:13 in the machine's zone: the check runs in Tokyo's, UTC+9, so a local time cannot pass on a UTC
    machine); none or NaN is ""."""
    from reelkit.service.models import format_time

    monkeypatch.setenv("TZ", "JST-9")  # a POSIX zone: no zoneinfo files needed
    time.tzset()
    try:
        assert time.localtime(0).tm_gmtoff == 9 * 3600
        assert format_time(1_790_000_000) == "2026-09-21 14:13"
    finally:
        monkeypatch.undo()
        time.tzset()
    assert format_time(None) == "" and format_time(float("nan")) == ""


def test_cache_warm_up_builds_no_more_pages_than_the_cache_holds(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``warm_pages`` 5 with a cache of 2 pages asks the store for the 2 most recent members, not 5 (the
    other 3 pages would be built only to be evicted)."""
    store = open_store(data_dir)
    asked: list[int] = []
    real = store.active_members
    monkeypatch.setattr(store, "active_members", lambda n: asked.append(n) or real(n))
    holder = ModelHolder(data_dir, store, cache_size=2, warm_pages=5)
    assert holder.refresh()
    for thread in holder._warmers:
        thread.join(10)
    holder.close()
    assert asked == [2] and holder.require().cached_pages == 2
    store.close()


def test_with_a_damaged_current_version_the_newest_earlier_one_is_served(data_dir: Path) -> None:
    """v0001 and v0002 load and the current v0003 does not: the fallback serves v0002 (the newest earlier
    version), not v0001."""
    import shutil

    store = open_store(data_dir)
    first = store.current_model_version()
    assert first is not None and first.version == "v0001"
    shutil.copytree(models_dir(data_dir) / "v0001", models_dir(data_dir) / "v0002")
    store.add_model_version(ModelVersionRecord("v0002", 1, "ease", first.events_seq, 0, 0, 0, 0.0))
    store.add_model_version(ModelVersionRecord("v0003", 2, "ease", first.events_seq, 0, 0, 0, 0.0))
    holder = ModelHolder(data_dir, store)  # v0003 has no folder
    assert holder.refresh() and holder.require().version == "v0002"
    store.close()


def test_a_file_system_without_folder_locks_still_activates(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """NFS emulates flock with byte-range locks, which a read-only folder handle cannot take (EBADF): the
    versions lock is skipped with a warning, not a failure of every activation and retrain."""
    import errno
    import types

    import reelkit.service.models as models

    def refuse(fd: int, op: int) -> None:
        raise OSError(errno.EBADF, "Bad file descriptor")

    monkeypatch.setattr(models, "fcntl", types.SimpleNamespace(flock=refuse, LOCK_EX=2))
    store = open_store(data_dir)
    train_store(data_dir, community_params=COMMUNITY)  # prunes under the (skipped) lock
    holder = ModelHolder(data_dir, store)
    holder.refresh()
    assert holder.activate("v0001").version == "v0001"
    current = store.current_model_version()
    assert current is not None and current.version == "v0001"
    assert "are not serialised there" in caplog.text
    store.close()


def test_a_server_holder_freezes_the_heap_after_a_switch_and_frees_the_old_one(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``freeze_heap``: after each switch the heap is collected and frozen out of later collections (their
    full passes paused every request for 80-200 ms); the version switched from still goes, even held in a
    reference cycle (only a collection over the thawed heap frees it); holders share the freeze (the last
    one closed thaws it) and one closed freezes nothing again. Without it, nothing is frozen."""
    import gc
    import weakref

    freezes: list[int] = []
    real_freeze = gc.freeze
    monkeypatch.setattr(gc, "freeze", lambda: (freezes.append(1), real_freeze())[1])
    store = open_store(data_dir)
    train_store(data_dir, community_params=COMMUNITY)  # v0002 current, v0001 kept
    plain = ModelHolder(data_dir, store)
    assert plain.refresh() and gc.get_freeze_count() == 0 and not freezes
    plain.close()
    holder = ModelHolder(data_dir, store, freeze_heap=True)
    other = ModelHolder(data_dir, store, freeze_heap=True)
    try:
        assert holder.refresh() and holder.require().version == "v0002" and len(freezes) == 1
        assert gc.get_freeze_count() > 10_000  # the libraries' modules and the models
        old = holder.require()
        old.cycle = old  # type: ignore[attr-defined]  # freed by a collection only
        gone = weakref.ref(old)
        del old
        assert holder.activate("v0001").version == "v0001" and len(freezes) == 2
        assert gone() is None and gc.get_freeze_count() > 10_000
        assert other.refresh() and len(freezes) == 3
        holder.close()
        assert gc.get_freeze_count() > 10_000  # the other still serves frozen
        assert holder.activate("v0002") and len(freezes) == 3  # closed: switches, freezes nothing
    finally:
        holder.close()
        other.close()
        store.close()
    assert gc.get_freeze_count() == 0


def test_a_page_the_cache_cannot_pack_is_served_not_cached(caplog: pytest.LogCaptureFixture) -> None:
    import numpy as np

    from reelkit.service.models import _PageCache

    cache = _PageCache(3)
    page = HomePage("m", (), None, None, np.int64(3))  # type: ignore[arg-type]
    cache.put(("m", 1), (page, b"{}"))
    assert len(cache) == 0 and "not cached" in caplog.text


def test_a_version_that_once_failed_to_load_is_served_again_once_activated(data_dir: Path) -> None:
    """v0002 did not load when the server met it (a file missing), was repaired and activated over the API,
    then rolled back and activated again from the command line: the server kept it on its list of versions
    that do not load and went on serving v0001, while the store named v0002."""
    from reelkit.service.models import activate_version

    store = open_store(data_dir)
    train_store(data_dir, community_params=COMMUNITY)  # v0002, current in the store
    personal = models_dir(data_dir) / "v0002" / "personal.npz"
    personal.rename(personal.with_suffix(".away"))
    holder = ModelHolder(data_dir, store)
    holder.refresh()
    assert holder.current.version == "v0001"  # v0002 does not load: the newest that does is served
    personal.with_suffix(".away").rename(personal)
    assert holder.activate("v0002").version == "v0002"
    activate_version(data_dir, "v0001")
    holder.refresh()
    assert holder.current.version == "v0001"
    activate_version(data_dir, "v0002")
    holder.refresh()
    current = store.current_model_version()
    assert holder.current.version == "v0002" and current is not None and current.version == "v0002"
    store.close()
