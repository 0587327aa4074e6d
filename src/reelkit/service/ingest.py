"""Loading a catalog and events into the store (``reelkit import``) and setting up a data folder.

Imported events get deterministic ids (a hash of member, title, kind, timestamp, value and fraction), so
importing the same file twice stores nothing new. Title durations, which the service uses for plays recorded
from the web page, are estimated from plays that carry both a position in seconds and a fraction.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import math
import os
import shlex
import socket
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reelkit.data.dataset import Dataset
from reelkit.errors import ConfigError, DataFormatError, ReelkitWarning
from reelkit.progress import SILENT, Progress
from reelkit.service.errors import StoreFullError, TitlesRenamedError
from reelkit.service.store import EventRecord, MemberRecord, Store, TitleRecord

__all__ = ["ImportSummary", "dataset_events", "import_dataset", "unfinished_import_warning"]


@dataclass(frozen=True)
class ImportSummary:
    """What an import stored."""

    titles: int
    members: int
    events_stored: int
    events_duplicate: int


def _opt_int(v: object) -> int | None:
    if v is None or v is pd.NA:
        return None
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return int(f) if math.isfinite(f) else None


def _durations(ds: Dataset) -> pd.Series:
    ev = ds.events
    plays = ev.loc[(ev["kind"] == "play") & (ev["fraction"] >= 0.2) & (ev["value"] > 0)]
    if len(plays) == 0:
        return pd.Series(dtype=np.float64)
    est = plays["value"] / plays["fraction"]
    return est.groupby(plays["title_id"], observed=True).median().round(0)


#: the notes unfinished imports leave in the store, one each (see :func:`import_dataset`):
#: ``import_pending:<fingerprint of its events>`` (:func:`import_key`) = its label; the same data imported
#: from another path (the first copy deleted) completes it too
PENDING_PREFIX = "import_pending:"
#: the one note (label, and beside it the fingerprint) data folders written before several unfinished imports
#: were remembered may hold: read as one more, and cleared when that import completes
IMPORT_PENDING = "import_pending"
IMPORT_PENDING_KEY = "import_pending_key"


#: ``import_owner:<fingerprint>``: the process running that import (JSON: pid, host, started), so that a
#: retrain meeting the pending note can tell an import in progress from one that was killed
OWNER_PREFIX = "import_owner:"


def _running_import(store: Store, key: str) -> dict[str, Any] | None:
    """The owner of the import with fingerprint ``key`` when that process is alive on this host (``None``:
    killed, on another host, or a note written before owners were kept)."""
    text = store.get_note(OWNER_PREFIX + key)
    if text is None:
        return None
    try:
        owner = json.loads(text)
        pid, host, started = int(owner["pid"]), str(owner["host"]), float(owner["started"])
    except (TypeError, ValueError, KeyError):
        return None
    if pid <= 0 or host != socket.gethostname():  # kill(0) would signal our own process group
        return None
    try:
        os.kill(pid, 0)  # signal 0: is it there?
    except ProcessLookupError:
        return None
    except PermissionError:  # another user's process: alive
        pass
    began = _process_start(pid)
    if began is not None and began > started + 2.0:  # the pid reused by a later process (a restart)
        return None
    return {"pid": pid, "host": host, "started": started}


def _process_start(pid: int) -> float | None:
    """When process ``pid`` started (Unix time), from Linux's ``/proc``; ``None`` where not known."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
        ticks = float(stat[stat.rindex(")") + 2 :].split()[19])  # field 22, after the name in parentheses
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _in_progress(store: Store) -> list[tuple[str, dict[str, Any]]]:
    """The unfinished imports whose process is still running here: (label, owner)."""
    running = []
    for key, label in pending_imports(store).items():
        owner = _running_import(store, key) if key else None
        if owner is not None:
            running.append((label, owner))
    return running


def stopped_imports(store: Store) -> dict[str, str]:
    """The unfinished imports whose process is gone (killed, or another host's): fingerprint -> label; one
    still running here is not "an import that did not finish"."""
    return {k: v for k, v in pending_imports(store).items() if not k or _running_import(store, k) is None}


def _started(ts: float) -> str:
    return _dt.datetime.fromtimestamp(ts, tz=_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def import_key(ds: Dataset) -> str:
    """A fingerprint of a dataset's events (member, title, kind, time, value, fraction; in order)."""
    cols = ["member_id", "title_id", "kind", "timestamp", "value", "fraction"]
    ev = ds.events[[c for c in cols if c in ds.events]]
    h = pd.util.hash_pandas_object(
        ev.astype({c: str for c in ("member_id", "title_id", "kind") if c in ev}), index=False
    )
    return hashlib.sha256(h.to_numpy().tobytes()).hexdigest()[:32]


def pending_imports(store: Store) -> dict[str, str]:
    """The store's unfinished imports: events fingerprint -> label (an old folder's single
    note without a fingerprint reads as fingerprint "")."""
    pending = {k[len(PENDING_PREFIX) :]: v for k, v in store.notes(PENDING_PREFIX).items()}
    old = store.get_note(IMPORT_PENDING)
    if old is not None:
        pending = {store.get_note(IMPORT_PENDING_KEY) or "": old, **pending}
    return pending


def _clear_pending(store: Store, label: str, key: str) -> None:
    """Remove the notes of the unfinished imports that importing ``label`` (fingerprint ``key``) completed,
    and only those."""
    for k, v in pending_imports(store).items():
        if k == key or v == label:
            if store.get_note(PENDING_PREFIX + k) is not None:
                store.set_note(PENDING_PREFIX + k, None)
            if store.get_note(OWNER_PREFIX + k) is not None:
                store.set_note(OWNER_PREFIX + k, None)
            if store.get_note(IMPORT_PENDING) == v:
                store.set_note(IMPORT_PENDING, None)
                store.set_note(IMPORT_PENDING_KEY, None)


#: how far past the clock an imported event may be dated (time zones, clock skew)
FUTURE_SLACK_S = 86_400


def _without_future_events(ds: Dataset, label: str) -> Dataset:
    """The dataset less events dated more than a day after now, with a warning: the service refuses such
    events from clients, and one of them stored made every real view look old (Trending emptied)."""
    ts = ds.events["timestamp"].to_numpy(np.int64)
    late = ts > int(time.time()) + FUTURE_SLACK_S
    if not late.any():
        return ds
    if late.all():  # the empty rest was refused as "no data rows", after this warning
        raise DataFormatError(
            f"every event ({int(late.sum())}) is dated more than a day after now (e.g. {int(ts.max())}); "
            "check the timestamps: seconds since 1970 in UTC",
            path=label,
        )
    warnings.warn(
        f"{label}: {int(late.sum())} event(s) dated after today (e.g. {int(ts[late].max())}) were not "
        "imported; check the timestamps",
        ReelkitWarning,
        stacklevel=3,
    )
    return Dataset.from_events(ds.events.loc[~late], ds.titles, ds.members, source=label)


def _made_up_title(t: TitleRecord) -> bool:
    """A title with nothing known but its id (the name :class:`~reelkit.data.dataset.Dataset` fills in)."""
    return t.name == f"Title {t.title_id}" and not t.genres and t.year is None and t.released is None


def _titles(ds: Dataset) -> list[TitleRecord]:
    t = ds.titles
    dur = _durations(ds)
    out = []
    for tid, row in zip(t.index.astype(str), t.itertuples(index=False), strict=True):
        d = dur.get(tid)
        out.append(
            TitleRecord(
                title_id=tid,
                name=str(row.name),
                genres=str(row.genres or ""),
                year=_opt_int(row.year),
                kind=str(row.kind or "movie"),
                released=_opt_int(row.released),
                duration=float(d) if d is not None and math.isfinite(d) and d > 0 else None,
            )
        )
    return out


def _event_id(member: str, title: str, kind: str, ts: int, value: float, fraction: float) -> str:
    key = f"{member}\x1f{title}\x1f{kind}\x1f{ts}\x1f{value!r}\x1f{fraction!r}".encode()
    return "imp-" + hashlib.blake2b(key, digest_size=12).hexdigest()


def dataset_events(ds: Dataset, chunk: int = 50_000) -> Iterator[list[EventRecord]]:
    """The dataset's events as store records, in chunks, with deterministic ids."""
    ev = ds.events
    members = ev["member_id"].astype(str).to_numpy()
    titles = ev["title_id"].astype(str).to_numpy()
    kinds = ev["kind"].astype(str).to_numpy()
    ts = ev["timestamp"].to_numpy(np.int64)
    vals = ev["value"].to_numpy(np.float64)
    fracs = ev["fraction"].to_numpy(np.float64)
    for start in range(0, len(ev), chunk):
        batch = []
        for i in range(start, min(start + chunk, len(ev))):
            v = float(vals[i])
            f = float(fracs[i])
            kind = str(kinds[i])
            batch.append(
                EventRecord(
                    event_id=_event_id(members[i], titles[i], kind, int(ts[i]), v, f),
                    member_id=str(members[i]),
                    title_id=str(titles[i]),
                    kind=kind,  # type: ignore[arg-type]
                    timestamp=int(ts[i]),
                    value=v if math.isfinite(v) else None,
                    fraction=f if math.isfinite(f) else None,
                )
            )
        yield batch


#: What the API's id routes end with, per kind of id: an id ending so reads as a shorter id and that route.
_ROUTE_SUFFIXES = {"member": ("/home", "/recommendations"), "title": ("/similar",)}


def _warn_unreachable_ids(ds: Dataset) -> None:
    from reelkit.service.schemas import DOT_SEGMENTS, MAX_ID_CHARS

    for what, ids in (("member", ds.members.index), ("title", ds.titles.index)):
        text = ids.astype(str)
        bad = [i for i in text if i.endswith(_ROUTE_SUFFIXES[what])]
        if bad:
            warnings.warn(
                f"{len(bad)} {what} id(s) end as an API route does ({', '.join(map(repr, bad[:3]))}): "
                f"/v1/{what}s/ID/... reads them as a shorter id; rename them to reach them through the API",
                ReelkitWarning,
                stacklevel=3,
            )
        # "..", "a/.": clients resolve such path segments before sending, so the request never names the id
        dots = [i for i in text if any(part in DOT_SEGMENTS for part in i.split("/"))]
        if dots:
            warnings.warn(
                f"{len(dots)} {what} id(s) are '.' or '..' or hold such a path segment "
                f"({', '.join(map(repr, dots[:3]))}): clients drop it from a URL, so the API cannot reach "
                "them; rename them to reach them through it",
                ReelkitWarning,
                stacklevel=3,
            )
        # the API refuses these ids (422): stored, they could never be asked about or sent events
        odd = [i for i in text if len(i) > MAX_ID_CHARS or any(ord(c) < 32 or ord(c) == 127 for c in i)]
        if odd:
            warnings.warn(
                f"{len(odd)} {what} id(s) are longer than {MAX_ID_CHARS} characters or hold control "
                f"characters ({', '.join(repr(i[:40]) for i in odd[:3])}): the API refuses such ids; shorten "
                "or clean them to reach them through it",
                ReelkitWarning,
                stacklevel=3,
            )


def _refuse_renamed_titles(store: Store, titles: Sequence[TitleRecord], label: str) -> None:
    """Raise :class:`TitlesRenamedError` when a catalogue renames many stored titles: it is most likely
    another catalogue whose ids overlap (ml-100k's "2" is GoldenEye, ml-latest-small's Jumanji), and the
    stored events would count for the new titles (a warning let it happen). Re-importing the same
    catalogue, or correcting a few names, renames nothing or little."""
    stored = store.titles_frame()["name"]
    if stored.empty:
        return
    new = {t.title_id: t.name for t in titles if t.title_id in stored.index}
    # a stored "Title 7" is the name made up for an id an events-only import met first: naming it is no rename
    renamed = [
        (tid, stored[tid], name)
        for tid, name in new.items()
        if stored[tid] != name and stored[tid] != f"Title {tid}"
    ]
    if len(renamed) >= 10 and len(renamed) >= 0.2 * len(new):
        tid, old, name = renamed[0]
        raise TitlesRenamedError(
            f"{label}: {len(renamed):,} of the {len(new):,} titles it shares ids with would be renamed "
            f"({tid!r}: {old!r} -> {name!r}) and its events mixed with the stored ones; nothing was "
            "imported. If it is another catalogue, import it into another --data-dir; if these are the "
            "right names, import it with --rename-titles"
        )


def abandon_pending_imports(store: Store) -> list[str]:
    """Forget every unfinished import (the way out when one cannot or should not be completed) and return
    their labels. The events they stored stay: events are append-only, and an imported event's id is a hash
    of its content, the same from any import, so nothing tells which import stored it."""
    labels = list(dict.fromkeys(pending_imports(store).values()))
    for k in [*store.notes(PENDING_PREFIX), *store.notes(OWNER_PREFIX)]:
        store.set_note(k, None)
    store.set_note(IMPORT_PENDING, None)
    store.set_note(IMPORT_PENDING_KEY, None)
    return labels


def _in_progress_said(store: Store, data_dir: str | Path) -> str | None:
    """ "DIR: an import of FILE is in progress (pid, start)" when one is (``None`` otherwise)."""
    running = _in_progress(store)
    if not running:
        return None
    label, owner = running[0]
    started = _started(owner["started"])
    return f"{data_dir}: an import of {label} is in progress (pid {owner['pid']}, started {started})"


def _did_not_finish(labels: Sequence[str]) -> str:
    if len(labels) == 1:
        return f"the import of {labels[0]} did not finish"
    return f"the imports of {', '.join(labels)} did not finish"


def refuse_unfinished_import(store: Store, data_dir: str | Path, before: str) -> None:
    """Raise :class:`ConfigError` when an import into ``store`` stopped part-way: training ``before`` it
    would make a model of part of the data (every such import is named). Serving warns instead
    (:func:`unfinished_import_warning`)."""
    running = _in_progress_said(store, data_dir)
    if running:  # rerunning or abandoning it would be wrong advice: it is being done
        raise ConfigError(f"{running}; retry {before} when it ends")
    labels = list(dict.fromkeys(pending_imports(store).values()))
    if labels:
        one = len(labels) == 1
        raise ConfigError(
            f"{data_dir}: {_did_not_finish(labels)}; run {'it' if one else 'each'} again (reelkit import "
            f"--data-dir {data_dir} ..., from that file or a copy of it: what is stored counts as "
            f"duplicates) before {before}, or give up on {'it' if one else 'them'} with 'reelkit import "
            f"--data-dir {data_dir} --abandon-pending' (what was stored stays)"
        )


def unfinished_import_warning(store: Store, data_dir: str | Path) -> str | None:
    """The warning ``serve`` gives when an import into ``store`` stopped part-way (``None`` when none did):
    the server still starts (a restart during an import must not leave the service down), its pages folding
    in the events stored so far, and names the command that completes or abandons each import."""
    running = _in_progress_said(store, data_dir)
    if running:
        return (
            f"{running}; serving the current model version meanwhile (pages fold in its events as they are "
            "stored); retrain when it ends"
        )
    labels = list(dict.fromkeys(pending_imports(store).values()))
    if not labels:
        return None
    one = len(labels) == 1
    shown = shlex.quote(str(data_dir))
    return (
        f"{data_dir}: {_did_not_finish(labels)}; serving the current model version anyway (pages fold in the "
        f"events stored so far); complete {'it' if one else 'each'} with 'reelkit import --data-dir "
        f"{shown} ...' from that file (or a copy of it), or give up on {'it' if one else 'them'} with "
        f"'reelkit import --data-dir {shown} --abandon-pending'"
    )


def import_dataset(
    store: Store,
    ds: Dataset,
    *,
    chunk: int = 50_000,
    progress: Progress = SILENT,
    label: str = "a dataset",
    key: str | None = None,
    rename_titles: bool = False,
) -> ImportSummary:
    """Store a dataset's catalog, members and events (each chunk of events is one transaction).

    Until the last chunk is stored the store keeps a note (``import_pending:<key>``: ``label``, one per
    unfinished import), so a run killed half-way is known as such: importing the same data again completes
    it (event ids are deterministic, so what is stored already counts as duplicates), from that path or any
    other (the note is keyed by the events' fingerprint, :func:`import_key`; ``key`` when the caller has
    it), and ``serve --demo`` does so by itself. Only the notes this import completes are cleared.

    A catalogue that would rename many stored titles (another catalogue, most likely) is refused with
    :class:`TitlesRenamedError` before anything is written, unless ``rename_titles`` is set."""
    ds = _without_future_events(ds, label)
    _warn_unreachable_ids(ds)
    # an events-only file has no catalog: its titles and members carry names made up from their ids
    # ("Title 1", "Member 7"), which must not replace what an earlier import or the service stored
    titles = _titles(ds)
    if not rename_titles:
        _refuse_renamed_titles(store, [t for t in titles if not _made_up_title(t)], label)
    # each unfinished import keeps its own note: other imports' notes are kept (they are still unfinished),
    # and only the notes this import completes are cleared when it completes
    if key is None:
        key = import_key(ds)
    store.set_note(PENDING_PREFIX + key, label)
    owner = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time()}
    store.set_note(OWNER_PREFIX + key, json.dumps(owner))
    try:
        return _import(store, ds, titles, label=label, key=key, chunk=chunk, progress=progress)
    except BaseException:
        # stopped here (an error, Ctrl-C): not in progress any more, still pending (a kill -9 leaves the
        # note, whose process is then gone)
        with contextlib.suppress(Exception):
            store.set_note(OWNER_PREFIX + key, None)
        raise


def _import(
    store: Store,
    ds: Dataset,
    titles: Sequence[TitleRecord],
    *,
    label: str,
    key: str,
    chunk: int,
    progress: Progress,
) -> ImportSummary:
    known = [t for t in titles if not _made_up_title(t)]
    n_titles = store.upsert_titles(known) + store.upsert_titles(
        [t for t in titles if _made_up_title(t)], only_new=True
    )
    members = [
        MemberRecord(member_id=str(m), name=str(n))
        for m, n in zip(ds.members.index, ds.members["name"], strict=True)
    ]
    made_up = [m.name == f"Member {m.member_id}" for m in members]
    n_members = store.upsert_members(
        [m for m, x in zip(members, made_up, strict=True) if not x]
    ) + store.upsert_members([m for m, x in zip(members, made_up, strict=True) if x], only_new=True)
    stored = dup = 0
    n_chunks = max(1, math.ceil(ds.n_events / chunk))
    with progress.task("storing events", total=n_chunks) as task:
        for batch in dataset_events(ds, chunk):
            try:
                res = store.append_events(batch)
            except StoreFullError as exc:  # the chunk was rolled back; the pending note stays
                raise StoreFullError(
                    f"{exc.path}: {exc.reason} while storing events ({stored:,} stored; free space and run "
                    "again to complete)",
                    path=exc.path,
                    reason=exc.reason,
                ) from None
            stored += res.stored
            dup += res.duplicates
            task.advance()
    _clear_pending(store, label, key)
    return ImportSummary(titles=n_titles, members=n_members, events_stored=stored, events_duplicate=dup)


def read_source(
    path: Path,
    *,
    columns: str | None = None,
    sep: str | None = None,
    header: bool | None = None,
    unknown_titles: str = "error",
    titles: Path | None = None,
) -> Dataset:
    """A dataset from a ratings/events file or folder (any format :mod:`reelkit.data.loaders` reads);
    ``unknown_titles`` as the loaders take it (event titles missing from a catalog beside the events);
    ``titles``: a catalogue file instead of the one beside a ratings file."""
    from reelkit.data.loaders import load_events

    if unknown_titles not in ("error", "keep", "drop"):
        raise ConfigError(f"unknown titles {unknown_titles!r}: use error, keep or drop")
    mode: Any = unknown_titles
    cols = [c.strip() for c in columns.split(",")] if columns else None
    return load_events(path, columns=cols, sep=sep, header=header, unknown_titles=mode, titles_path=titles)
