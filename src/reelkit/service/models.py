"""Model bundles: trained from the stored events, saved as versions, served with an atomic switch.

A *bundle* is what a home page needs: the personal model, :class:`~reelkit.recommend.itemknn.ItemKNN`
(similar titles), :class:`~reelkit.recommend.popularity.Trending` and
:class:`~reelkit.recommend.communities.CommunityPopularity`, all fitted on the same interactions (every
catalog title is a column, so new releases without events can be ranked too).

On disk (``<data folder>/models/<version>/``)
    ``manifest.json`` and one ``.npz`` per model. :func:`train_store` writes a new version into a temporary
    folder, syncs it, renames it into place and only then records it in the store as the current version,
    so a reader never sees a partial version.

Serving
    :class:`ModelHolder` holds the bundle being served. :meth:`ModelHolder.refresh` loads a newer version
    completely (models, precomputed lists) *before* replacing the one reference the request handlers read;
    a request takes that reference once, so requests in flight finish on the old bundle and no request
    ever sees a half-loaded one.

Fresh events
    A home page is built from the member's full history as stored (fold-in), so an event is reflected on
    the next page without retraining (Continue Watching, Top Picks, Because You Watched, the titles left
    out as seen). Trending and community popularity (and the communities' profiles: sizes, favourites,
    distinctive titles) are kept up to date too: the server's poll counts the events stored since into
    them (:meth:`ModelBundle.count_new_events`, every ``model_poll_seconds``), and the pages see the counts
    every ``popularity_refresh_s`` (the page JSON's ``popularity_computed_at`` says when they were last up
    to date). Pages are cached per bundle, keyed by the member and the sequence number of their latest
    event: a new event changes the key.
    When an announced title comes out (the builder's ``release_epoch`` moves), or counting new events
    changed the head of a popularity row, the cached pages go. After a switch, a background thread
    fills the new bundle's cache with the pages of the most recently active members (``warm_pages``),
    pausing between pages so that requests come first.

Garbage collection
    The cache keeps each page as one bytes object (:func:`pack_page`), and a server's holder
    (``freeze_heap``) collects once after a switch and freezes what is left (``gc.freeze``): a full
    collection otherwise walked the models, the libraries and thousands of cached pages' objects while
    holding the interpreter, 80-200 ms every few seconds under traffic, which was the whole tail of the
    page latency while events streamed in.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import gc
import importlib
import json
import logging
import os
import re
import shutil
import tempfile
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pydantic

try:  # POSIX; elsewhere pruning and activation are not serialised
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

from reelkit._files import give_folder_umask
from reelkit.data.confidence import usual_top
from reelkit.data.dataset import Dataset, Interactions
from reelkit.errors import ConfigError, EmptyDataError, ModelFormatError, ReelkitWarning, UnknownIdError
from reelkit.progress import SILENT, Progress
from reelkit.recommend.base import Recommender, load_model, registered_models
from reelkit.recommend.communities import CommunityPopularity
from reelkit.recommend.home import HomeBuilder, HomeConfig, HomeModels, HomePage, HomeRow, HomeTitle
from reelkit.recommend.itemknn import ItemKNN
from reelkit.recommend.popularity import Trending
from reelkit.service.errors import ModelVersionUnusableError, NoModelError, without_folder
from reelkit.service.store import ModelVersionRecord, Store, open_store

__all__ = [
    "BUNDLE_FILES",
    "DEFAULT_PERSONAL",
    "BundleManifest",
    "ModelBundle",
    "ModelHolder",
    "activate_version",
    "load_bundle",
    "models_dir",
    "train_store",
    "training_interactions",
]

log = logging.getLogger(__name__)

DEFAULT_PERSONAL = "ease"
BUNDLE_FILES: dict[str, str] = {
    "personal": "personal.npz",
    "similar": "itemknn.npz",
    "trending": "trending.npz",
    "communities": "communities.npz",
}
_VERSION_RE = re.compile(r"^v(\d{4,9})$")
MANIFEST_FORMAT = 1


class BundleManifest(pydantic.BaseModel):
    """``manifest.json`` of a model version."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    format: int = MANIFEST_FORMAT
    version: str
    created_at: int
    personal_model: str
    personal_params: dict[str, Any]
    events_seq: int
    n_events: int
    n_members: int
    n_titles: int
    train_seconds: float
    files: dict[str, str]
    #: Whether enough ratings were stored to know the rating scale (:data:`MIN_RATINGS_FOR_SCALE`): until
    #: then a rating is never a dislike (a 4 of 5 on the 0-10 scale assumed would read as one).
    rating_scale_known: bool = True
    #: The home settings the version was trained with: pages built on it weigh a history with their
    #: :data:`TRAINED_HOME_FIELDS` (the formula that weighed its events), so a server that switched to it
    #: and one restarted on it agree, and a rollback brings its own back; the display settings (row sizes,
    #: new-release window) are the server's. ``None`` in versions written before they were kept.
    home: HomeConfig | None = None


#: The home settings that weigh the events a version trains on (:func:`training_interactions`): a
#: version's pages read a history with the values it was trained with, whatever the server started with.
TRAINED_HOME_FIELDS = ("confidence", "continue_min_fraction", "continue_min_seconds")


#: Model modules imported before training or loading, so that their models are registered even when
#: :mod:`reelkit.recommend` does not import them itself.
_MODEL_MODULES = ("ease", "itemknn", "als", "rp3beta", "bayes_mf")


def _register_models() -> None:
    for name in _MODEL_MODULES:
        try:
            importlib.import_module(f"reelkit.recommend.{name}")
        except ImportError:  # pragma: no cover - an optional model's dependency is missing
            log.debug("model module %s not available", name)


def models_dir(data_dir: str | Path) -> Path:
    return Path(data_dir) / "models"


def _version_path(data_dir: str | Path, version: str) -> Path:
    """The folder of a version; the name must look like ``v0001`` (it never comes from a request)."""
    if not _VERSION_RE.match(version):
        raise ModelFormatError(f"invalid model version name {version!r}")
    return models_dir(data_dir) / version


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _next_version(store: Store, root: Path) -> int:
    numbers = [0]
    for rec in store.model_versions():
        m = _VERSION_RE.match(rec.version)
        if m:
            numbers.append(int(m.group(1)))
    if root.is_dir():
        for child in root.iterdir():
            m = _VERSION_RE.match(child.name)
            if m:
                numbers.append(int(m.group(1)))
    return max(numbers) + 1


#: Stored ratings needed before their range sets the scale (an imported catalog has many; a few posted ones
#: must not decide it for a fresh 10-star service).
MIN_RATINGS_FOR_SCALE = 20


def stored_scale(stored: tuple[float, float, int] | None) -> tuple[float, float]:
    """The usual rating scale of the stored ratings (the events endpoint's before a model is trained, and the
    one training widens to them): from 0 to 1, 5 or 10, the first that holds the highest stored rating, once
    at least :data:`MIN_RATINGS_FOR_SCALE` are stored; 0-10 before. 0-1 (-1 to 1 with -1s) is a like/dislike
    scale: read as 0-5 its likes were low ratings, dislikes under the page's formula, and nothing was left
    to train on."""
    if stored is None or stored[2] < MIN_RATINGS_FOR_SCALE:
        return 0.0, 10.0
    lo, hi, _ = stored
    return min(0.0, lo), usual_top(hi)


def _home_for_scale(home: HomeConfig, scale_known: bool) -> HomeConfig:
    """``home`` with low ratings counted as interactions while the rating scale is not known (training and
    the pages of its model alike)."""
    if scale_known or home.confidence.low_rating == "positive":
        return home
    return home.model_copy(
        update={"confidence": home.confidence.model_copy(update={"low_rating": "positive"})}
    )


def training_interactions(
    ds: Dataset, home: HomeConfig | None = None, rated: np.ndarray | None = None
) -> Interactions:
    """The interactions the service trains on from ``ds``: weighed by the home page's formula (``home``,
    default :class:`HomeConfig`'s: a low rating is a dislike) with its sample-play thresholds, every catalog
    title a column, the ratings read on the scale of the stored ones (``rated``: the stored ratings, by
    default ``ds``'s), where no rating is a dislike until :data:`MIN_RATINGS_FOR_SCALE` are stored. Also
    ``reelkit communities --low-ratings dislike``, so that it makes the service's communities."""
    if rated is None:
        rated = ds.events.loc[ds.events["kind"] == "rating", "value"].dropna().to_numpy(np.float64)
    # the scale the events endpoint accepts ratings on: with few ratings stored (none: a service of plays
    # so far) it is 0-10, and a rating posted later is read on it, not on the 1-5 a model without
    # ratings assumed (a 4 of 10 was "liked", 0.75 of 1-5, and named a Because You Rated row)
    # enough ratings: the usual scale that holds them (0-1, 0-5 or 0-10), widened to their own range; their
    # range alone made a service whose members rate 4 and 5 a 4-5 scale, where a 4 is the lowest (a
    # dislike, under the page's formula)
    scale_known = len(rated) >= MIN_RATINGS_FOR_SCALE
    stored = (float(rated.min()), float(rated.max()), len(rated)) if len(rated) else None
    lo, hi = stored_scale(stored)
    scale = (float(np.min(rated, initial=lo)), float(np.max(rated, initial=hi)))
    h = _home_for_scale(home or HomeConfig(), scale_known)
    return ds.interactions(
        all_titles=True,
        rating_scale=scale,
        confidence=h.confidence,
        sample_fraction=h.continue_min_fraction,
        sample_seconds=h.continue_min_seconds,
    )


def train_store(
    data_dir: str | Path,
    *,
    personal: str = DEFAULT_PERSONAL,
    params: Mapping[str, Any] | None = None,
    community_params: Mapping[str, Any] | None = None,
    make_current: bool = True,
    keep_versions: int = 3,
    home: HomeConfig | None = None,
    progress: Progress = SILENT,
) -> ModelVersionRecord:
    """Train a new model bundle from every event stored in ``data_dir`` and make it the current version.

    ``personal`` names the personal model (any registered top-N model; see ``reelkit models``) and
    ``params`` its parameters. ``home``: the service's home page settings, whose confidence formula and
    sample-play thresholds weigh the stored events as the page weighs a member's history (default:
    :class:`HomeConfig`'s); the version keeps them and its pages weigh a history with them
    (:data:`TRAINED_HOME_FIELDS`; the display settings are the server's). The files of all
    but the newest ``keep_versions`` recorded versions are deleted (the current one is always kept; a
    server keeps serving a version it has loaded), and a folder no record names once it is an hour old.
    Returns the new record.
    """
    _register_models()
    models = registered_models()
    if personal not in models:
        raise ConfigError(f"unknown model {personal!r}; choose one of {', '.join(sorted(models))}")
    store = open_store(data_dir, create=False)  # a mistyped folder is an error, not a new empty store
    try:
        from reelkit.service.ingest import refuse_unfinished_import

        refuse_unfinished_import(store, data_dir, "training")  # a model of part of the data served as whole
        t0 = time.perf_counter()
        events, seq = store.events_frame()
        odd = (events["kind"] == "thumb").to_numpy() & ~events["value"].isin((1.0, -1.0)).to_numpy()
        if odd.any():  # stored by an import before thumbs other than 1 / -1 were refused: events stay
            warnings.warn(
                f"{data_dir}: {int(odd.sum()):,} stored thumb event(s) have a value other than 1 or -1 "
                f"({events['value'][odd].iloc[0]:g}, ...); they are left out of training",
                ReelkitWarning,
                stacklevel=2,
            )
            events = events[~odd]
        if len(events) == 0:
            raise EmptyDataError(
                "no events stored yet; load some with 'reelkit import --data-dir DIR --ratings FILE'",
                path=str(data_dir),
            )
        titles = store.titles_frame()
        members = store.members_frame()
        with warnings.catch_warnings():
            # two stored plays with the same second and value are both real; training may merge them
            warnings.simplefilter("ignore", ReelkitWarning)
            ds = Dataset.from_events(events, titles.drop(columns=["duration"]), members, source=str(data_dir))
        rated = events.loc[events["kind"] == "rating", "value"].dropna().to_numpy(np.float64)
        scale_known = len(rated) >= MIN_RATINGS_FOR_SCALE
        try:
            inter = training_interactions(ds, home, rated)
        except EmptyDataError as exc:  # its advice names the library's options, not the service's
            h = _home_for_scale(home or HomeConfig(), scale_known)
            advice = (
                'to count low ratings as interactions, set "home": {"confidence": {"low_rating": '
                '"positive"}} in the service\'s settings (service.json) and retrain'
                if h.confidence.low_rating == "dislike"
                else "store some plays, likes or ratings first"
            )
            raise EmptyDataError(f"{exc.message}; {advice}", path=str(data_dir)) from None
        fitted: dict[str, Recommender] = {}
        with progress.task("training the model bundle", total=4) as task:
            fitted["personal"] = models[personal](**dict(params or {})).fit(inter, progress=progress)
            task.advance()
            fitted["similar"] = ItemKNN().fit(inter, progress=progress)
            task.advance()
            fitted["trending"] = Trending().fit(inter, progress=progress)
            task.advance()
            fitted["communities"] = CommunityPopularity(**dict(community_params or {})).fit(
                inter, progress=progress
            )
            task.advance()
        train_s = time.perf_counter() - t0
        root = models_dir(data_dir)
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=root))
        try:
            # readable as the rest of the data folder is (mkdtemp's 0700: a server run as another account
            # than the retrain could not load the version)
            give_folder_umask(tmp)
            for key, model in fitted.items():
                model.save(tmp / BUNDLE_FILES[key])
            for _ in range(100):
                version = f"v{_next_version(store, root):04d}"
                manifest = BundleManifest(
                    version=version,
                    created_at=int(time.time()),
                    personal_model=personal,
                    personal_params=fitted["personal"].get_params(),
                    events_seq=seq,
                    n_events=len(events),
                    n_members=inter.n_members,
                    n_titles=inter.n_titles,
                    train_seconds=round(train_s, 3),
                    files=dict(BUNDLE_FILES),
                    rating_scale_known=scale_known,
                    home=home or HomeConfig(),
                )
                (tmp / "manifest.json").write_text(
                    manifest.model_dump_json(indent=2) + "\n", encoding="utf-8"
                )
                for f in tmp.iterdir():
                    with open(f, "rb") as fh:
                        os.fsync(fh.fileno())
                _fsync_dir(tmp)
                try:
                    os.rename(tmp, root / version)  # fails if another trainer took this number
                except OSError:
                    continue
                _fsync_dir(root)
                break
            else:  # pragma: no cover - 100 concurrent trainers
                raise ModelFormatError(f"{root}: could not pick a new version name")
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        record = ModelVersionRecord(
            version=manifest.version,
            created_at=manifest.created_at,
            personal_model=personal,
            events_seq=seq,
            n_events=manifest.n_events,
            n_members=manifest.n_members,
            n_titles=manifest.n_titles,
            train_seconds=manifest.train_seconds,
        )
        store.add_model_version(record, make_current=make_current)
        with _versions_lock(data_dir):  # the current version read and kept as one step (see the lock)
            current = store.current_model_version()
            _prune(
                root,
                keep=max(1, keep_versions),
                protect={record.version, current.version if current else ""},
                recorded=[r.version for r in store.model_versions()],
            )
        return record
    finally:
        store.close()


#: what loading a version may raise when its files are damaged or incompatible
_LOAD_ERRORS = (ModelFormatError, ConfigError, OSError, ValueError)


def _recorded_with_files(
    store: Store, data_dir: str | Path, version: str, *, name_folder: bool = True
) -> ModelVersionRecord:
    """The record of ``version`` when its files are kept (:class:`UnknownIdError`: not recorded;
    :class:`ModelVersionUnusableError`: its files were deleted). ``name_folder=False``: the message does
    not name the data folder (an HTTP reply keeps the server's paths to itself)."""
    record = next((r for r in store.model_versions() if r.version == version), None)
    if record is None or not _VERSION_RE.match(version):
        known = ", ".join(r.version for r in store.model_versions()[-5:]) or "none yet"
        shown = version if len(version) <= 60 else version[:57] + "..."  # a 5000-letter one came back whole
        where = f" in {data_dir}" if name_folder else ""
        raise UnknownIdError(f"no model version {shown!r} is recorded{where} (the newest recorded: {known})")
    if not (models_dir(data_dir) / version).is_dir():
        raise ModelVersionUnusableError(
            f"model version {version}'s files were deleted (retraining keeps the newest few); activate a "
            "version whose files are kept (GET /v1/models: files_kept), or retrain"
        )
    return record


@contextlib.contextmanager
def _versions_lock(data_dir: str | Path) -> Iterator[None]:
    """Hold the lock that pruning and activation share (an exclusive lock on the ``models`` folder itself,
    released by the system when the process ends): an activation that loaded a version for seconds while a
    retrain pruned it recorded a deleted version as current, and a restarted server had no model to serve."""
    root = models_dir(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    fd = os.open(root, os.O_RDONLY)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError:  # a file system without it (NFS emulates flock on writable handles only)
                log.warning("cannot lock %s: pruning and activation are not serialised there", root)
        yield
    finally:
        os.close(fd)  # releases the lock


def _record_current(store: Store, data_dir: str | Path, version: str) -> None:
    """Record ``version`` current, its files checked again under the lock pruning takes (they may have
    been deleted while it loaded)."""
    with _versions_lock(data_dir):
        _recorded_with_files(store, data_dir, version)
        store.set_current_model(version)


def _unusable(version: str, exc: Exception, hide: str | Path | None = None) -> ModelVersionUnusableError:
    """``hide``: a data folder said as DATA in the message (an HTTP reply keeps the server's paths)."""
    why = str(exc) if hide is None else without_folder(str(exc), hide)
    return ModelVersionUnusableError(f"model version {version} does not load ({why}); activate another one")


def activate_version(data_dir: str | Path, version: str) -> ModelVersionRecord:
    """Make a recorded version whose files are kept the current one (a rollback), once it is known to
    load; a running server switches to it by itself. The next retrain's version becomes current again (it
    saw at least the events this one did)."""
    store = open_store(data_dir, create=False)
    try:
        record = _recorded_with_files(store, data_dir, version)
        try:
            load_bundle(data_dir, record, store.titles_frame(), cache_size=0)
        except _LOAD_ERRORS as exc:
            raise _unusable(version, exc) from None
        _record_current(store, data_dir, version)
        return record
    finally:
        store.close()


#: age after which a trainer's temporary folder is taken as abandoned (see :func:`_prune`)
STALE_TMP_S = 3600.0


def _prune(root: Path, *, keep: int, protect: set[str], recorded: Sequence[str]) -> None:
    """Delete the folders of the ``recorded`` versions beyond the newest ``keep`` of them (never those in
    ``protect``), and version folders no record names once they are :data:`STALE_TMP_S` old.

    Recorded versions are ranked, not folders: a trainer killed between renaming its folder into place and
    recording it leaves a folder no store names, which ranked among them pushed out a usable recorded
    version and stayed for ever. Such a folder younger than the cutoff may be a trainer about to record it.
    """
    cutoff = time.time() - STALE_TMP_S
    names = set(recorded)
    kept = set(sorted(names, key=lambda v: int(m.group(1)) if (m := _VERSION_RE.match(v)) else -1)[-keep:])
    for child in root.iterdir():
        if not _VERSION_RE.match(child.name) or child.name in protect or child.name in kept:
            continue
        with contextlib.suppress(OSError):
            if child.is_dir() and (child.name in names or child.stat().st_mtime < cutoff):
                shutil.rmtree(child, ignore_errors=True)
    # a trainer killed while saving leaves its temporary folder; one lives only while its files are written
    # (seconds), so one an hour old is abandoned
    for child in root.glob(".tmp-*"):
        with contextlib.suppress(OSError):
            if child.is_dir() and child.stat().st_mtime < cutoff:
                shutil.rmtree(child, ignore_errors=True)


_PAGE_FIELDS = tuple(f.name for f in dataclasses.fields(HomePage))
_ROW_FIELDS = tuple(f.name for f in dataclasses.fields(HomeRow))
_TITLE_FIELDS = tuple(f.name for f in dataclasses.fields(HomeTitle))


def pack_page(page: HomePage) -> bytes:
    """``page`` as one bytes object (its fields as nested JSON arrays, about 0.1 ms). The garbage collector
    walks every container it tracks at each full collection, holding the interpreter: a cached page of 90
    dataclasses made 2,000 cached pages 100 ms of every full collection; bytes are not tracked. JSON, not
    ``marshal``: marshal writes a numpy scalar as its raw bytes where JSON refuses it. Read back by
    :func:`unpack_page` (in memory only, never written)."""

    def titles(row: HomeRow) -> list[list[Any]]:
        return [[getattr(t, f) for f in _TITLE_FIELDS] for t in row.titles]

    rows = [[titles(r) if f == "titles" else getattr(r, f) for f in _ROW_FIELDS] for r in page.rows]
    return json.dumps([rows if f == "rows" else getattr(page, f) for f in _PAGE_FIELDS]).encode()


def unpack_page(packed: bytes) -> HomePage:
    """The page :func:`pack_page` packed (its tuples, JSON arrays there, tuples again)."""

    def tuples(values: list[Any]) -> list[Any]:
        return [tuple(v) if isinstance(v, list) else v for v in values]

    fields = dict(zip(_PAGE_FIELDS, json.loads(packed), strict=True))
    rows = []
    for r in fields["rows"]:
        row = dict(zip(_ROW_FIELDS, r, strict=True))
        row["titles"] = tuple(HomeTitle(*tuples(t)) for t in row["titles"])
        rows.append(HomeRow(**row))
    fields["rows"] = tuple(rows)
    return HomePage(**fields)


class _PageCache:
    """A small thread-safe LRU of home pages keyed by (member, last event sequence), one page per member: a
    page for a newer sequence replaces the member's older one, which no request can ask for again (it
    would otherwise stay, pushing out other members' valid pages and holding memory: 10,000 entries for 610
    members under event traffic). Pages are kept packed (:func:`pack_page`), with their JSON when rendered."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[tuple[str, int], tuple[bytes, bytes | None]] = OrderedDict()
        self._seq: dict[str, int] = {}  # each member's cached sequence
        self._lock = threading.Lock()

    def get_packed(self, key: tuple[str, int]) -> tuple[bytes, bytes | None] | None:
        """The packed page and its JSON (the page is unpacked only where it is read)."""
        with self._lock:
            hit = self._data.get(key)
            if hit is not None:
                self._data.move_to_end(key)
            return hit

    def get(self, key: tuple[str, int]) -> tuple[HomePage, bytes | None] | None:
        hit = self.get_packed(key)
        return None if hit is None else (unpack_page(hit[0]), hit[1])

    def put(self, key: tuple[str, int], value: tuple[HomePage, bytes | None]) -> None:
        if self.size <= 0:
            return
        member, seq = key
        try:
            packed = (pack_page(value[0]), value[1])
        except TypeError as exc:  # a value JSON cannot take (a numpy integer): served, not cached
            log.warning("home page of %s not cached: %s", member, exc)
            return
        with self._lock:
            old = self._seq.get(member)
            if old is not None and old > seq:
                return  # a page for an older history, built while a newer one was cached
            if old is not None and old != seq:
                self._data.pop((member, old), None)
            self._seq[member] = seq
            self._data[key] = packed
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                (gone, gone_seq), _ = self._data.popitem(last=False)
                if self._seq.get(gone) == gone_seq:
                    del self._seq[gone]

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._seq.clear()


#: (member, title) pairs counted into the popularity rows at a time, and the pause after each such step
#: (see :meth:`ModelBundle.count_new_events`).
COUNT_CHUNK = 50
COUNT_PAUSE_S = 0.01


class ModelBundle:
    """One loaded model version, ready to serve: its models never change; its Trending and community counts
    move with the events stored since training (:meth:`count_new_events`)."""

    def __init__(self, record: ModelVersionRecord, home: HomeBuilder, *, cache_size: int = 10_000) -> None:
        self.record = record
        self.version = record.version
        self.home = home
        self.loaded_at = time.time()
        self.warmed = False
        self._pages = _PageCache(cache_size)
        #: The store's catalog stamp the names and genres were read at (see ``Store.catalog_stamp``).
        self.catalog_stamp = 0
        self._catalog_lock = threading.Lock()
        #: How many catalog titles were out when the cached pages were built (see ``_release_epoch_now``).
        self.release_epoch = home.release_epoch()
        self._computed: dict[str, Any] = {}
        #: The store sequence number up to which events are counted in the popularity rows.
        self.counted_seq = record.events_seq
        #: When the popularity rows the pages show were last up to date with every stored event (Unix
        #: seconds): the training time until :meth:`count_new_events` has caught up and published.
        self.popularity_computed_at = record.created_at
        self._count_lock = threading.Lock()
        self._unpublished = False
        self._published_at = 0.0

    def count_new_events(
        self, store: Store, *, batch: int = 5_000, budget_s: float = 1.0, publish_every_s: float = 0.0
    ) -> int:
        """Count the events stored since the last call into the Trending and community rows (each (member,
        title) pair they belong to is counted again from all its events, as training counts it: see
        :meth:`HomeBuilder.count_members`). Reads ``batch`` events at a time for up to about ``budget_s``
        seconds (a backlog is taken over several calls). The counts reach the pages at most every
        ``publish_every_s`` seconds (each time, the cached pages go when a popularity row's head changed:
        on a busy service it always does, so publishing at every poll would leave no page cached). Once the
        counts have caught up the rows say they are "now". Returns the number of members counted; 0 at once
        when another thread is counting."""
        if not self._count_lock.acquire(blocking=False):
            return 0
        try:
            t0 = time.monotonic()
            counted = 0
            caught_up = False
            while time.monotonic() - t0 < budget_s:
                pairs, last = store.pairs_after(self.counted_seq, batch)
                if not pairs:
                    caught_up = True
                    break
                # only the (member, title) pairs with new events are counted again, COUNT_CHUNK at a time
                # with a pause between: counting whole histories (800 members, 64,000 events a poll) held
                # the interpreter long enough to add 200 ms to the pages served meanwhile
                for i in range(0, len(pairs), COUNT_CHUNK):
                    chunk = pairs[i : i + COUNT_CHUNK]
                    self.home.count_members(store.pair_histories(chunk), self.record.events_seq)
                    time.sleep(COUNT_PAUSE_S)
                counted += len({m for m, _ in pairs})
                self.counted_seq = last
            self._unpublished |= counted > 0
            now = time.time()
            live = caught_up and not self.home.live_popularity  # the rows' wording changes once
            publish = live or (self._unpublished and now - self._published_at >= publish_every_s)
            if publish:
                with self._catalog_lock:
                    changed = self.home.publish_popularity()
                    self.home.live_popularity |= live
                    if changed or live:
                        self._pages.clear()
                self._unpublished = False
                self._published_at = now
            if caught_up and not self._unpublished:
                self.popularity_computed_at = int(now)
            return counted
        finally:
            self._count_lock.release()

    def update_catalog(self, titles: pd.DataFrame, stamp: int) -> None:
        """Names, genres and release dates from a catalog changed since loading; cached pages go."""
        with self._catalog_lock:
            self.home.update_catalog(titles)
            self._pages.clear()
            self.catalog_stamp = stamp
            self.release_epoch = self.home.release_epoch()

    def cached(self, name: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per loaded version (what is costly to read and may lag until the next one, such
        as the stored ratings' scale)."""
        if name not in self._computed:
            self._computed[name] = compute()
        return self._computed[name]

    def _release_epoch_now(self) -> int:
        """The builder's release epoch now; when a title has come out since the cached pages were built
        (the New Releases pool and the Top Picks filter moved with the clock), they go."""
        epoch = self.home.release_epoch()
        if epoch != self.release_epoch:
            with self._catalog_lock:
                if epoch != self.release_epoch:
                    self._pages.clear()
                    self.release_epoch = epoch
        return epoch

    def _keep(
        self,
        key: tuple[str, int],
        value: tuple[HomePage, bytes | None],
        stamp: int,
        epoch: int,
        popularity: int,
    ) -> None:
        """Cache a page built at catalog ``stamp``, release ``epoch`` and ``popularity`` epoch; one built
        while the catalog was taken again may hold the old names, one built as a title came out the old
        rows, one built as new events were counted the old Trending: served once, not kept."""
        with self._catalog_lock:
            if (
                stamp == self.catalog_stamp
                and epoch == self.release_epoch
                and popularity == self.home.popularity_epoch
            ):
                self._pages.put(key, value)

    @property
    def cached_pages(self) -> int:
        return len(self._pages)

    @property
    def personal(self) -> Recommender:
        return self.home.models.personal

    @property
    def rating_scale(self) -> tuple[float, float]:
        return self.home.models.personal.rating_scale_

    def cached_page(self, member_id: str, last_seq: int) -> tuple[HomePage, bytes | None] | None:
        """The cached page of a member whose latest event has sequence ``last_seq``, and its JSON when
        cached rendered, if any (none built before a title came out)."""
        self._release_epoch_now()
        return self._pages.get((member_id, last_seq))

    def cached_json(self, member_id: str, last_seq: int) -> bytes | None:
        """The JSON of the cached page of a member whose latest event has sequence ``last_seq``, if one is
        cached rendered (none built before a title came out)."""
        self._release_epoch_now()
        hit = self._pages.get_packed((member_id, last_seq))
        return None if hit is None else hit[1]

    def home_page(
        self,
        store: Store,
        member_id: str,
        *,
        last_seq: int | None = None,
        render: Callable[[HomePage], bytes] | None = None,
    ) -> tuple[HomePage, bytes | None]:
        """The member's home page (cached by their latest event and the release epoch), and
        ``render(page)`` when given.

        The member must exist (callers check); their full stored history is folded in.
        """
        seq = store.member_last_seq(member_id) if last_seq is None else last_seq
        key = (member_id, seq)
        epoch = self._release_epoch_now()
        stamp = self.catalog_stamp
        popularity = self.home.popularity_epoch
        hit = self._pages.get(key)
        if hit is not None:
            if render is None or hit[1] is not None:
                return hit
            rendered: tuple[HomePage, bytes | None] = (hit[0], render(hit[0]))  # cached without JSON
            self._keep(key, rendered, stamp, epoch, popularity)
            return rendered
        history = store.member_history(member_id)
        page = _with_new_titles(self.home.build(member_id, history), self.home, store)
        value = (page, render(page) if render is not None else None)
        # the key is the sequence number the history was read at (a newer event makes a newer key)
        self._keep((member_id, history.last_seq), value, stamp, epoch, popularity)
        return value


def _with_new_titles(page: HomePage, home: HomeBuilder, store: Store) -> HomePage:
    """``page`` with the names and genres of titles added to the catalog after the model was trained (the
    model knows only its own titles; Continue Watching shows any title the member played)."""

    def fix(t: Any) -> Any:
        if home.knows(t.title_id):
            return t
        rec = store.get_title(t.title_id)
        if rec is None:
            return t
        genres = tuple(g for g in rec.genres.split("|") if g and g != "(no genres listed)")
        return dataclasses.replace(t, name=rec.name, genres=genres)

    rows = tuple(dataclasses.replace(r, titles=tuple(fix(t) for t in r.titles)) for r in page.rows)
    return dataclasses.replace(page, rows=rows)


def load_bundle(
    data_dir: str | Path,
    record: ModelVersionRecord,
    titles: pd.DataFrame,
    *,
    config: HomeConfig | None = None,
    cache_size: int = 10_000,
) -> ModelBundle:
    """Load a saved version completely and precompute what its pages share; its pages weigh a history
    with the home settings it was trained with (:data:`TRAINED_HOME_FIELDS`) and are laid out with
    ``config``'s (the server's, which also stand in for a version that kept none)."""
    _register_models()
    folder = _version_path(data_dir, record.version)
    try:
        manifest = BundleManifest.model_validate_json((folder / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFormatError(f"{folder}: model version has no manifest.json; retrain it") from None
    except pydantic.ValidationError as exc:
        raise ModelFormatError(
            f"{folder}/manifest.json: invalid manifest ({exc.error_count()} errors)"
        ) from None
    if manifest.format != MANIFEST_FORMAT:
        raise ModelFormatError(f"{folder}: manifest format {manifest.format} is not supported; retrain")
    loaded = {key: load_model(folder / BUNDLE_FILES[key]) for key in BUNDLE_FILES}
    similar, trending, comm = loaded["similar"], loaded["trending"], loaded["communities"]
    if not (
        isinstance(similar, ItemKNN)
        and isinstance(trending, Trending)
        and isinstance(comm, CommunityPopularity)
    ):
        raise ModelFormatError(f"{folder}: the bundle's files hold the wrong model kinds; retrain")
    models = HomeModels(
        personal=loaded["personal"], similar=similar, trending=trending, communities=comm, titles=titles
    )
    home = config or HomeConfig()
    if manifest.home is not None:  # how the version weighed its events; the display settings: the server's
        home = home.model_copy(update={f: getattr(manifest.home, f) for f in TRAINED_HOME_FIELDS})
    home = _home_for_scale(home, manifest.rating_scale_known)
    return ModelBundle(record, HomeBuilder(models, home), cache_size=cache_size)


class _Freeze:
    """The process's ``gc.freeze`` as the holders share it (``ModelHolder.freeze_heap``), under ``lock``."""

    lock = threading.Lock()
    holders = 0  # holders that froze the heap and are not closed
    process_froze = False  # the process had frozen objects of its own before the first of them froze


class ModelHolder:
    """The bundle being served, switched atomically (see the module docstring)."""

    def __init__(
        self,
        data_dir: str | Path,
        store: Store,
        *,
        config: HomeConfig | None = None,
        cache_size: int = 10_000,
        warm_pages: int = 0,
        popularity_refresh_s: float = 0.0,
        live_popularity: bool = False,
        freeze_heap: bool = False,
    ) -> None:
        self.data_dir = Path(data_dir)
        #: Whether a version switched to is followed by one full garbage collection and a ``gc.freeze()``
        #: (see :meth:`_settle_heap`); a server sets it, a library caller decides for its own process.
        self.freeze_heap = freeze_heap
        self._froze = False
        #: At most this often, counts of new events reach the pages (see ModelBundle.count_new_events).
        self.popularity_refresh_s = popularity_refresh_s
        #: Whether the server counts new events (its poll runs): a version loaded is then brought up to
        #: date before it serves or warms its cache (else the first count, saying "now", dropped the pages)
        self.live_popularity = live_popularity
        self.store = store
        #: the home settings for versions that kept none of their own (trained before they were kept)
        self.config = config
        self.cache_size = cache_size
        self.warm_pages = min(warm_pages, cache_size)
        self._bundle: ModelBundle | None = None
        self._load_lock = threading.Lock()
        self._failed: set[str] = set()
        self._closed = threading.Event()
        self._warmers: list[threading.Thread] = []
        self.last_error: str | None = None

    def close(self, timeout: float = 10.0) -> None:
        """Stop background work (cache warm-up) and wait for it, so that the store can be closed next; the
        bundle keeps serving until the process ends."""
        self._closed.set()
        deadline = time.monotonic() + timeout
        for thread in self._warmers:
            thread.join(max(0.0, deadline - time.monotonic()))
        with _Freeze.lock:
            if self._froze:
                self._froze = False
                _Freeze.holders -= 1
                if _Freeze.holders == 0 and not _Freeze.process_froze:  # the last one: as it was
                    gc.unfreeze()

    def _settle_heap(self) -> None:
        """After a switch (``freeze_heap``): collect once, the old version's objects going with it, then
        freeze what is left (the models, the libraries' modules: 200,000 objects in the server) out of the
        later collections. A full collection walks every tracked object while holding the interpreter:
        80-200 ms every few seconds under traffic, the whole tail of the page latency (p99 of 70-200 ms at
        500 events/s against 19 ms with the heap frozen); this one pause comes once per version.

        The freeze is the process's: holders that freeze share it (the last one closed thaws the heap,
        unless the process had frozen objects of its own before the first, which then stay frozen), and
        a holder closed does not freeze again (a load finishing after shutdown)."""
        if not self.freeze_heap:
            return
        with _Freeze.lock:
            if self._closed.is_set():
                return
            if not self._froze:
                if _Freeze.holders == 0:
                    _Freeze.process_froze = gc.get_freeze_count() > 0
                _Freeze.holders += 1
                self._froze = True
            gc.unfreeze()
            gc.collect()
            gc.freeze()

    def _warm(self, bundle: ModelBundle) -> None:
        """Build the pages of the most recently active members into the new bundle's cache, in the
        background and gently (it pauses between pages so that requests go first)."""
        from reelkit.service.schemas import home_json

        try:
            members = self.store.active_members(self.warm_pages)
            for member in members:
                if self._closed.is_set() or self._bundle is not bundle:
                    return
                bundle.home_page(
                    self.store,
                    member,
                    render=lambda page: home_json(page, bundle.version, bundle.popularity_computed_at),
                )
                time.sleep(0.002)
            bundle.warmed = True
        except Exception as exc:  # the store closed under us at shutdown, or a bad history: not fatal
            if not self._closed.is_set():
                log.warning("home page cache warm-up of %s stopped: %s", bundle.version, exc)
        finally:
            try:
                self.store.release_thread()  # the thread ends: close its connection
            except Exception:  # pragma: no cover - closing never matters more than the warm-up
                log.debug("could not release the warm-up thread's store connection", exc_info=True)

    def _start_warmup(self, bundle: ModelBundle) -> None:
        if self.warm_pages > 0:
            thread = threading.Thread(
                target=self._warm, args=(bundle,), name=f"warm-{bundle.version}", daemon=True
            )
            self._warmers = [t for t in self._warmers if t.is_alive()] + [thread]
            thread.start()

    def count_events(self) -> int:
        """Count the events stored since into the served bundle's Trending and community rows
        (:meth:`ModelBundle.count_new_events`; the server's poll does it every ``model_poll_seconds``, and
        the pages see the counts every ``popularity_refresh_s``)."""
        bundle = self._bundle
        if bundle is None:
            return 0
        return bundle.count_new_events(self.store, publish_every_s=self.popularity_refresh_s)

    @property
    def current(self) -> ModelBundle | None:
        """The bundle to serve this request with (read it once per request)."""
        return self._bundle

    def require(self) -> ModelBundle:
        bundle = self._bundle
        if bundle is None:
            raise NoModelError(
                "no model version is loaded yet; train one with 'reelkit retrain --data-dir DIR' on the "
                "server's data folder" + (f" (last load error: {self.last_error})" if self.last_error else "")
            )
        return bundle

    def refresh(self, *, force: bool = False) -> bool:
        """Load the store's current version if it is not the one served; True when switched.

        A version that fails to load is logged, remembered and skipped by later refreshes (the old bundle
        keeps serving) unless ``force`` (``POST /v1/models/reload``), which tries it again.
        """
        current = self._bundle
        if current is not None:  # a catalog imported again (titles renamed) reaches pages without a retrain
            stamp = self.store.catalog_stamp()
            if stamp != current.catalog_stamp:
                current.update_catalog(self.store.titles_frame(), stamp)
        record = self.store.current_model_version()
        if record is None or (current is not None and current.version == record.version):
            return False
        if force:
            self._failed.discard(record.version)
        elif record.version in self._failed:
            return False
        with self._load_lock:
            current = self._bundle
            # read again under the lock: an activation may have switched since (it must not be undone)
            record = self.store.current_model_version() or record
            if current is not None and current.version == record.version:
                return False
            try:
                bundle = self._load(record)
            except _LOAD_ERRORS as exc:
                self._failed.add(record.version)
                self.last_error = f"{record.version}: {exc}"
                log.error("could not load model version %s: %s", record.version, exc)
                if self._bundle is not None:
                    return False  # the bundle being served keeps serving
                fallback = self._load_fallback(record.version)
                if fallback is None:
                    return False
                bundle = fallback
            self._bundle = bundle  # the switch: one reference assignment
            log.info("serving model version %s", bundle.version)
        current = None  # the version switched from, not held here while the heap is collected
        self._settle_heap()
        self._start_warmup(bundle)
        return True

    def activate(self, version: str) -> ModelBundle:
        """Make a recorded version with kept files current and serve it now (``POST
        /v1/models/{version}/activate``): loaded first, then recorded as current (one store transaction),
        then switched to. Raises as :func:`activate_version`."""
        record = _recorded_with_files(self.store, self.data_dir, version, name_folder=False)
        with self._load_lock:
            current = self._bundle
            if current is not None and current.version == version:
                bundle = current
            else:
                try:
                    bundle = self._load(record)
                except _LOAD_ERRORS as exc:
                    # the reply names the version's folder by DATA (it gave the server's whole path); the
                    # log keeps the path
                    log.warning("model version %s does not load: %s", version, exc)
                    raise _unusable(version, exc, hide=self.data_dir) from None
            _record_current(self.store, self.data_dir, version)
            self._failed.discard(version)
            switched = bundle is not current
            self._bundle = bundle
        if switched:
            log.info("serving model version %s (activated)", version)
            current = None  # the version switched from, not held here while the heap is collected
            self._settle_heap()
            self._start_warmup(bundle)
        return bundle

    def _load(self, record: ModelVersionRecord) -> ModelBundle:
        stamp = self.store.catalog_stamp()  # before the titles: a change in between is taken next refresh
        bundle = load_bundle(
            self.data_dir, record, self.store.titles_frame(), config=self.config, cache_size=self.cache_size
        )
        bundle.catalog_stamp = stamp
        if self.live_popularity:  # the events stored since training, before any page is built
            bundle.count_new_events(self.store, budget_s=5.0)
        return bundle

    def _load_fallback(self, broken: str) -> ModelBundle | None:
        """With nothing served yet and the current version unreadable (a damaged file), the newest earlier
        version that loads: a stale model serves members better than none. ``None`` when none loads."""

        def number(version: str) -> int:
            m = _VERSION_RE.match(version)
            return int(m.group(1)) if m else -1

        for record in sorted(self.store.model_versions(), key=lambda r: number(r.version), reverse=True):
            if number(record.version) >= number(broken) or record.version in self._failed:
                continue
            try:
                bundle = self._load(record)
            except _LOAD_ERRORS as exc:
                self._failed.add(record.version)
                log.error("could not load model version %s either: %s", record.version, exc)
                continue
            log.warning("model version %s does not load; serving the earlier %s", broken, record.version)
            return bundle
        return None


def format_time(ts: int | float | None) -> str:
    """Unix seconds as ``YYYY-MM-DD HH:MM`` (UTC), or ``""``."""
    if ts is None or not np.isfinite(ts):
        return ""
    return _dt.datetime.fromtimestamp(float(ts), tz=_dt.UTC).strftime("%Y-%m-%d %H:%M")


def describe_record(record: ModelVersionRecord) -> dict[str, Any]:
    """A version record as plain JSON-ready values."""
    return {
        "version": record.version,
        "created_at": record.created_at,
        "personal_model": record.personal_model,
        "events_seq": record.events_seq,
        "n_events": record.n_events,
        "n_members": record.n_members,
        "n_titles": record.n_titles,
        "train_seconds": record.train_seconds,
    }


def manifest_of(data_dir: str | Path, version: str) -> BundleManifest:
    path = _version_path(data_dir, version) / "manifest.json"
    try:
        return BundleManifest.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError, pydantic.ValidationError) as exc:
        raise ModelFormatError(f"{path}: cannot read the manifest ({exc})") from None
