"""The service's store: catalog, members, events (append-only) and model versions behind one interface.

:class:`Store` is the interface every caller uses; :class:`SQLiteStore` is the embedded implementation
(one SQLite file in the data folder). :func:`open_store` picks the implementation from a location, so a
PostgreSQL implementation can be added later as another class and another URL scheme, without touching
callers.

SQLite schema (``reelkit.db``)
------------------------------
``meta(key, value)``
    ``schema_version``; ``current_model`` (the model version the service serves); ``created:<member_id>``
    (the digest of the request that created a member through the API).
``titles(title_id PK, name, genres, year, kind, released, duration)``
    the catalog; ``released`` in unix seconds, ``duration`` in seconds (both nullable).
``members(member_id PK, name, created_at)``
``events(seq INTEGER PK AUTOINCREMENT, event_id UNIQUE, member_id FK, title_id FK, kind, timestamp, value,
fraction, received_at)``
    append-only: triggers refuse ``UPDATE`` and ``DELETE``. ``event_id`` is the client's id, which makes
    ingest idempotent. An index on ``(member_id, seq)`` serves a member's history and latest event.
``model_versions(version PK, created_at, personal_model, events_seq, n_events, n_members, n_titles,
train_seconds)``
    one row per trained model bundle (the files live in ``models/<version>/``).

Durability and atomicity
    The database runs in WAL mode with ``synchronous=FULL``: a commit returns only after the write-ahead log
    is on disk, so an acknowledged batch survives a process or machine crash. Every write (a batch of
    events, a new member with their first events, a catalog import chunk) is one ``BEGIN IMMEDIATE`` …
    ``COMMIT`` transaction: all of it is stored or none of it.

Idempotency
    An event whose ``event_id`` is already stored with the same content (member, title, kind, value,
    fraction; the timestamp is not compared because the server may have filled it in) is acknowledged as a
    duplicate and not stored again. The same id with different content is a conflict: the whole batch is
    refused (:class:`~reelkit.service.errors.EventConflictError`).
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

import numpy as np
import pandas as pd

from reelkit.errors import ConfigError
from reelkit.recommend.home import MemberHistory
from reelkit.service.errors import (
    EventConflictError,
    MemberExistsError,
    StoreError,
    StoreFullError,
    StoreLocationError,
    UnknownReferenceError,
)

__all__ = [
    "DB_NAME",
    "SCHEMA_VERSION",
    "AppendResult",
    "EventKind",
    "EventRecord",
    "MemberRecord",
    "ModelVersionRecord",
    "SQLiteStore",
    "Store",
    "StoredEvent",
    "TitleRecord",
    "open_store",
]

SCHEMA_VERSION = 1
#: What a command says when another writer held the store past the busy timeout
BUSY_MESSAGE = (
    "the store is busy with another writer (an import, a retrain, or a server taking events) for longer "
    "than the wait; retry when it is done"
)
DB_NAME = "reelkit.db"
#: When a write of the current context stops waiting for another writer (``time.monotonic()`` seconds),
#: earlier than its busy timeout would: the server sets it as a write request arrives, so that the time it
#: spent queued for a thread counts (see :meth:`SQLiteStore._write`); unset, the busy timeout alone counts.
write_deadline: ContextVar[float | None] = ContextVar("reelkit_write_deadline", default=None)
EventKind = Literal["play", "rating", "thumb"]
_IN_CHUNK = 500  # ids per "IN (...)" query (well under SQLite's parameter limit)
_T = TypeVar("_T")
_CREATED_BY = "created:"  # meta key prefix: a member's creating request's digest (create_member)


@dataclass(frozen=True)
class TitleRecord:
    """One catalog title."""

    title_id: str
    name: str
    genres: str = ""
    year: int | None = None
    kind: str = "movie"
    released: int | None = None
    duration: float | None = None


@dataclass(frozen=True)
class MemberRecord:
    """One member."""

    member_id: str
    name: str
    created_at: int = 0


@dataclass(frozen=True)
class EventRecord:
    """One event as a client sends it (``value``/``fraction`` None when not applicable)."""

    event_id: str
    member_id: str
    title_id: str
    kind: EventKind
    timestamp: int
    value: float | None = None
    fraction: float | None = None


@dataclass(frozen=True)
class StoredEvent:
    """An event as stored: with its sequence number and the time it was received."""

    seq: int
    event_id: str
    member_id: str
    title_id: str
    kind: EventKind
    timestamp: int
    value: float | None
    fraction: float | None
    received_at: int


@dataclass(frozen=True)
class AppendResult:
    """What a write did: events newly stored, duplicates acknowledged, and the store's last sequence."""

    stored: int
    duplicates: int
    last_seq: int


@dataclass(frozen=True)
class ModelVersionRecord:
    """One trained model bundle."""

    version: str
    created_at: int
    personal_model: str
    events_seq: int
    n_events: int
    n_members: int
    n_titles: int
    train_seconds: float


class Store(Protocol):
    """What the service needs from a store; every implementation keeps the guarantees of the module doc."""

    location: str

    def close(self) -> None: ...
    def release_thread(self) -> None: ...

    # catalog
    def upsert_titles(self, titles: Iterable[TitleRecord], *, only_new: bool = False) -> int: ...
    def get_title(self, title_id: str) -> TitleRecord | None: ...
    def count_titles(self) -> int: ...
    def titles_frame(self) -> pd.DataFrame: ...
    def catalog_stamp(self) -> int: ...

    # members
    def upsert_members(self, members: Iterable[MemberRecord], *, only_new: bool = False) -> int: ...
    def create_member(
        self, member: MemberRecord, events: Sequence[EventRecord] = (), *, signature: str | None = None
    ) -> AppendResult: ...
    def created_signature(self, member_id: str) -> str | None: ...
    def events_with_prefix(self, member_id: str, prefix: str) -> list[tuple[str, str]]: ...
    def get_member(self, member_id: str) -> MemberRecord | None: ...
    def list_members(self, limit: int, offset: int = 0) -> list[MemberRecord]: ...
    def count_members(self) -> int: ...
    def members_frame(self) -> pd.DataFrame: ...

    # events
    def append_events(
        self, events: Sequence[EventRecord], *, received_at: int | None = None
    ) -> AppendResult: ...
    def member_history(self, member_id: str) -> MemberHistory: ...
    def pair_histories(self, pairs: Sequence[tuple[str, str]]) -> dict[str, MemberHistory]: ...
    def member_last_seq(self, member_id: str) -> int: ...
    def pairs_after(self, seq: int, limit: int) -> tuple[list[tuple[str, str]], int]: ...
    def active_members(self, limit: int) -> list[str]: ...
    def latest_events(self, limit: int = 50, *, before_seq: int | None = None) -> list[StoredEvent]: ...
    def count_events(self) -> int: ...
    def rating_range(self) -> tuple[float, float, int] | None: ...
    def events_frame(self) -> tuple[pd.DataFrame, int]: ...

    # model versions
    def add_model_version(self, record: ModelVersionRecord, *, make_current: bool = True) -> None: ...
    def set_current_model(self, version: str) -> ModelVersionRecord | None: ...
    def current_model_version(self) -> ModelVersionRecord | None: ...
    def model_versions(self) -> list[ModelVersionRecord]: ...

    # notes kept with the data (e.g. an import that has not finished)
    def get_note(self, key: str) -> str | None: ...
    def set_note(self, key: str, value: str | None) -> None: ...
    def notes(self, prefix: str) -> dict[str, str]: ...

    # maintenance
    def integrity_check(self) -> str: ...


def _put_meta(con: sqlite3.Connection, key: str, value: str) -> None:
    """Set one ``meta`` row, inside the caller's write transaction."""
    con.execute(
        "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def open_store(location: str | Path, *, create: bool = True, busy_timeout_s: float = 10.0) -> Store:
    """Open the store at ``location``: a data folder or ``sqlite:///path/to/file.db``.

    Other URL schemes (``postgresql://``) are reserved for implementations to come. With ``create=False``
    a store that is not there is an error instead of a new, empty one (a mistyped ``--data-dir``). A write
    waiting for another writer longer than ``busy_timeout_s`` fails (the server's 503).
    """
    text = str(location)
    if "://" in text:
        scheme, _, rest = text.partition("://")
        if scheme == "sqlite":
            return SQLiteStore(
                Path(rest.removeprefix("/")) if rest.startswith("//") else Path(rest),
                create=create,
                busy_timeout_s=busy_timeout_s,
            )
        raise ConfigError(
            f"store URL scheme {scheme!r} is not supported yet; use a data folder or sqlite:///path/file.db"
        )
    path = Path(text)
    if path.suffix == ".db":
        return SQLiteStore(path, create=create, busy_timeout_s=busy_timeout_s)
    return SQLiteStore(path / DB_NAME, create=create, busy_timeout_s=busy_timeout_s)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS titles (
    title_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    genres TEXT NOT NULL DEFAULT '',
    year INTEGER,
    kind TEXT NOT NULL DEFAULT 'movie',
    released INTEGER,
    duration REAL
);
CREATE TABLE IF NOT EXISTS members (
    member_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    member_id TEXT NOT NULL REFERENCES members(member_id),
    title_id TEXT NOT NULL REFERENCES titles(title_id),
    kind TEXT NOT NULL CHECK (kind IN ('play', 'rating', 'thumb')),
    timestamp INTEGER NOT NULL,
    value REAL,
    fraction REAL CHECK (fraction IS NULL OR (fraction >= 0 AND fraction <= 1)),
    received_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS events_member_seq ON events(member_id, seq);
CREATE TRIGGER IF NOT EXISTS events_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TABLE IF NOT EXISTS model_versions (
    version TEXT PRIMARY KEY,
    created_at INTEGER NOT NULL,
    personal_model TEXT NOT NULL,
    events_seq INTEGER NOT NULL,
    n_events INTEGER NOT NULL,
    n_members INTEGER NOT NULL,
    n_titles INTEGER NOT NULL,
    train_seconds REAL NOT NULL
);
"""


def _same_float(a: float | None, b: float | None) -> bool:
    """Equal values, None and NaN both being no value (SQLite stores a NaN as NULL)."""
    a_none, b_none = a is None or math.isnan(a), b is None or math.isnan(b)
    return a_none and b_none if a_none or b_none else a == b


def _same_content(a: EventRecord, b: EventRecord | tuple[str, str, str, float | None, float | None]) -> bool:
    other = (b.member_id, b.title_id, b.kind, b.value, b.fraction) if isinstance(b, EventRecord) else b
    return (
        a.member_id == other[0]
        and a.title_id == other[1]
        and a.kind == other[2]
        and _same_float(a.value, other[3])
        and _same_float(a.fraction, other[4])
    )


def _history(rows: Sequence[tuple[Any, ...]]) -> MemberHistory:
    """A member's history from rows of (title_id, kind, timestamp, value, fraction, seq), in store order."""
    tids, kinds, ts, vals, fracs, seqs = zip(*rows, strict=True)
    return MemberHistory(
        title_ids=np.asarray(tids, dtype=object),
        kinds=np.asarray(kinds, dtype=object),
        timestamps=np.asarray(ts, dtype=np.int64),
        values=np.asarray([np.nan if v is None else v for v in vals], dtype=np.float64),
        fractions=np.asarray([np.nan if f is None else f for f in fracs], dtype=np.float64),
        seqs=np.asarray(seqs, dtype=np.int64),
    )


def _chunks(items: Sequence[_T], size: int = _IN_CHUNK) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SQLiteStore:
    """The embedded store: one SQLite database file (WAL, ``synchronous=FULL``), safe across threads.

    Each thread gets its own connection; writes within this process are serialised by a lock and, across
    processes, by SQLite's own locking (``busy_timeout``).
    """

    def __init__(self, path: str | Path, *, busy_timeout_s: float = 10.0, create: bool = True) -> None:
        self.path = Path(path)
        self.location = f"sqlite:///{self.path}"
        self._busy_ms = int(busy_timeout_s * 1000)
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._counted = (0, 0)  # (the last seq counted, the events up to it): count_events
        self._closed = False
        if self.path.is_dir():  # said "cannot open the database (unable to open database file)", exit 1
            raise StoreLocationError(
                f"{self.path}: is a folder, not the store's database file; move it away, or give another "
                "--data-dir"
            )
        if not create and not self.path.is_file():
            raise StoreLocationError(
                f"{self.path.parent}: no reelkit store here (no {self.path.name}); check --data-dir, or load "
                "data first with 'reelkit import'"
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreLocationError(
                f"{self.path.parent}: cannot create the data folder ({exc.strerror}); give another --data-dir"
            ) from None
        try:
            con = self._con()
            mode = con.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(
                    f"{self.path}: the file system does not support SQLite's WAL mode (got {mode})"
                )
            self._init_schema()
        except StoreError:
            self.close()
            raise
        except sqlite3.DatabaseError as exc:
            self.close()
            text = str(exc)
            if "locked" in text or "busy" in text:  # another writer held it past the busy timeout
                raise StoreError(f"{self.path}: {BUSY_MESSAGE}") from None
            if "not a database" in text:
                what = "is not a reelkit store (not an SQLite database); give another --data-dir"
            elif "malformed" in text:  # SQLITE_CORRUPT: damaged, not unwritable
                what = f"is damaged ({text}); restore it from a backup, or give another --data-dir"
            elif "full" in text or "disk I/O error" in text:
                what = (
                    f"cannot be used ({text}: disk full or not writable); free space or give another "
                    "--data-dir"
                )
            else:
                what = f"cannot be used ({text}; is the folder writable?); give another --data-dir"
            raise StoreLocationError(f"{self.path}: {what}") from None

    # ------------------------------------------------------------------ connections
    def _con(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is not None:
            return con
        if self._closed:
            raise StoreError(f"{self.path}: the store is closed")
        try:
            con = sqlite3.connect(
                self.path, timeout=self._busy_ms / 1000, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(f"{self.path}: cannot open the database ({exc})") from None
        con.execute("PRAGMA synchronous=FULL")
        con.execute("PRAGMA foreign_keys=ON")
        con.execute(f"PRAGMA busy_timeout={self._busy_ms}")
        self._local.con = con
        with self._conns_lock:
            self._conns.append(con)
        return con

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``): committed on success, rolled back on any error.

        The busy timeout bounds the whole wait, for this process's write lock and then for SQLite's: a
        writer queued behind others waiting on a busy database fails after about the timeout (the server's
        503), not after the timeouts of every writer ahead of it in turn. A :data:`write_deadline` set
        earlier (the request's arrival plus the timeout) ends the wait then; a write whose deadline has
        passed is still made when nobody holds the database."""
        con = self._con()
        deadline = time.monotonic() + self._busy_ms / 1000
        given = write_deadline.get()
        if given is not None:
            deadline = min(deadline, given)
        if not self._write_lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise sqlite3.OperationalError(
                "database is locked (another write of this process waited past the busy timeout)"
            )
        try:
            left_ms = max(0, int((deadline - time.monotonic()) * 1000))
            if left_ms < self._busy_ms:
                con.execute(f"PRAGMA busy_timeout={left_ms}")
            try:
                con.execute("BEGIN IMMEDIATE")  # busy past the timeout: OperationalError (the server's 503)
            finally:
                if left_ms < self._busy_ms:
                    con.execute(f"PRAGMA busy_timeout={self._busy_ms}")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException as exc:
                # SQLite has already rolled back after a full disk or an I/O error (a second ROLLBACK
                # fails: "no transaction is active"); a failed COMMIT may leave it open: end it
                if con.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        con.execute("ROLLBACK")
                if isinstance(exc, sqlite3.OperationalError) and (full := self._full(exc)) is not None:
                    raise full from None
                raise
        finally:
            self._write_lock.release()

    def _full(self, exc: sqlite3.OperationalError) -> StoreFullError | None:
        """The store's error for a write that failed for want of space (SQLITE_FULL, or SQLITE_IOERR,
        which a full disk gives as often as a read-only one); None for any other error (busy: the
        server's 503)."""
        text = str(exc)
        if "full" in text:
            reason = "disk full"
        elif "disk I/O error" in text:
            reason = "disk full or not writable"
        else:
            return None
        return StoreFullError(
            f"{self.path}: {reason} ({text}); free space and run again", path=str(self.path), reason=reason
        )

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: a consistent snapshot of the database."""
        con = self._con()
        con.execute("BEGIN")
        try:
            yield con
        finally:
            con.execute("COMMIT")

    def _init_schema(self) -> None:
        con = self._con()
        with self._write_lock:
            con.executescript("BEGIN IMMEDIATE;" + _SCHEMA + "COMMIT;")
        with self._write() as w:
            row = w.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                w.execute("INSERT INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            elif row[0] != str(SCHEMA_VERSION):
                raise StoreLocationError(
                    f"{self.path}: store schema version {row[0]} is not supported by this reelkit "
                    f"(uses version {SCHEMA_VERSION}); upgrade reelkit or use another data folder"
                )

    def close(self) -> None:
        """Close every connection (the WAL is checkpointed by the last one)."""
        self._closed = True
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for con in conns:
            with contextlib.suppress(sqlite3.Error):
                con.close()
        self._local = threading.local()

    def release_thread(self) -> None:
        """Close the calling thread's connection, if it has one (for threads that end, such as the cache
        warm-up thread; the thread gets a new one if it uses the store again)."""
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            return
        self._local.con = None
        with self._conns_lock:
            self._conns = [c for c in self._conns if c is not con]
        with contextlib.suppress(sqlite3.Error):
            con.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ catalog
    def upsert_titles(self, titles: Iterable[TitleRecord], *, only_new: bool = False) -> int:
        """Add titles, replacing the metadata of those already stored; with ``only_new`` those are left as
        they are (records with no metadata of their own, from an events-only file)."""
        rows = [(t.title_id, t.name, t.genres, t.year, t.kind, t.released, t.duration) for t in titles]
        update = (
            "DO UPDATE SET duration = COALESCE(titles.duration, excluded.duration)"
            if only_new
            else "DO UPDATE SET name = excluded.name, genres = excluded.genres, year = excluded.year, "
            "kind = excluded.kind, released = excluded.released, "
            "duration = COALESCE(excluded.duration, titles.duration)"
        )
        with self._write() as con:
            con.executemany(
                "INSERT INTO titles(title_id, name, genres, year, kind, released, duration) "
                f"VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(title_id) {update}",
                rows,
            )
            if rows:  # a serving process reloads names and genres when the stamp moves
                con.execute(
                    "INSERT INTO meta(key, value) VALUES ('catalog_stamp', '1') "
                    "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
                )
        return len(rows)

    def catalog_stamp(self) -> int:
        """A number that changes whenever titles are added or their metadata replaced (0: never)."""
        row = self._con().execute("SELECT value FROM meta WHERE key = 'catalog_stamp'").fetchone()
        return int(row[0]) if row is not None else 0

    def get_title(self, title_id: str) -> TitleRecord | None:
        row = (
            self._con()
            .execute(
                "SELECT title_id, name, genres, year, kind, released, duration FROM titles "
                "WHERE title_id = ?",
                (title_id,),
            )
            .fetchone()
        )
        return TitleRecord(*row) if row is not None else None

    def count_titles(self) -> int:
        return int(self._con().execute("SELECT count(*) FROM titles").fetchone()[0])

    def titles_frame(self) -> pd.DataFrame:
        """The catalog as a titles table (see :mod:`reelkit.data.dataset`) plus ``duration``."""
        rows = (
            self._con()
            .execute(
                "SELECT title_id, name, genres, year, kind, released, duration FROM titles ORDER BY rowid"
            )
            .fetchall()
        )
        frame = pd.DataFrame(
            rows, columns=["title_id", "name", "genres", "year", "kind", "released", "duration"]
        )
        frame["title_id"] = frame["title_id"].astype(str)
        frame["year"] = pd.array(frame["year"].tolist(), dtype="Int64")
        frame["released"] = pd.array(frame["released"].tolist(), dtype="Int64")
        frame["duration"] = pd.to_numeric(frame["duration"], errors="coerce").astype(np.float64)
        return frame.set_index("title_id")

    # ------------------------------------------------------------------ members
    def upsert_members(self, members: Iterable[MemberRecord], *, only_new: bool = False) -> int:
        """Add members, renaming those already stored; with ``only_new`` those keep their names."""
        now = int(time.time())
        rows = [(m.member_id, m.name, m.created_at or now) for m in members]
        update = "DO NOTHING" if only_new else "DO UPDATE SET name = excluded.name"
        with self._write() as con:
            con.executemany(
                "INSERT INTO members(member_id, name, created_at) VALUES (?, ?, ?) "
                f"ON CONFLICT(member_id) {update}",
                rows,
            )
        return len(rows)

    def create_member(
        self, member: MemberRecord, events: Sequence[EventRecord] = (), *, signature: str | None = None
    ) -> AppendResult:
        """Add a new member and their first events in one transaction (refused if the id exists).

        ``signature`` (the creating request's digest) is kept with them, in the same transaction, for
        :meth:`created_signature`: a create repeated tells its own member from one imported or created
        with another body under that id."""
        created = member.created_at or int(time.time())
        with self._write() as con:
            exists = con.execute("SELECT 1 FROM members WHERE member_id = ?", (member.member_id,)).fetchone()
            if exists is not None:
                raise MemberExistsError(f"member {member.member_id!r} already exists; choose another id")
            con.execute(
                "INSERT INTO members(member_id, name, created_at) VALUES (?, ?, ?)",
                (member.member_id, member.name, created),
            )
            stored, dup = self._append(con, events, created, field="liked_titles")
            if signature is not None:
                _put_meta(con, _CREATED_BY + member.member_id, signature)
            last = self._last_seq(con)
        return AppendResult(stored, dup, last)

    def created_signature(self, member_id: str) -> str | None:
        """The ``signature`` the member was created with (:meth:`create_member`); None for a member
        imported, or created without one."""
        key = _CREATED_BY + member_id
        row = self._con().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0]) if row is not None else None

    def events_with_prefix(self, member_id: str, prefix: str) -> list[tuple[str, str]]:
        """``(event_id, title_id)`` of the member's events whose id starts with ``prefix``, in store order
        (a create's sign-up events, for members created before their create's signature was kept)."""
        rows = (
            self._con()
            .execute(
                "SELECT event_id, title_id FROM events WHERE member_id = ? AND substr(event_id, 1, ?) = ? "
                "ORDER BY seq",
                (member_id, len(prefix), prefix),
            )
            .fetchall()
        )
        return [(str(e), str(t)) for e, t in rows]

    def get_member(self, member_id: str) -> MemberRecord | None:
        row = (
            self._con()
            .execute("SELECT member_id, name, created_at FROM members WHERE member_id = ?", (member_id,))
            .fetchone()
        )
        return MemberRecord(*row) if row is not None else None

    def list_members(self, limit: int, offset: int = 0) -> list[MemberRecord]:
        rows = (
            self._con()
            .execute(
                "SELECT member_id, name, created_at FROM members ORDER BY rowid LIMIT ? OFFSET ?",
                (int(limit), int(offset)),
            )
            .fetchall()
        )
        return [MemberRecord(*r) for r in rows]

    def count_members(self) -> int:
        return int(self._con().execute("SELECT count(*) FROM members").fetchone()[0])

    def members_frame(self) -> pd.DataFrame:
        rows = self._con().execute("SELECT member_id, name FROM members ORDER BY rowid").fetchall()
        frame = pd.DataFrame(rows, columns=["member_id", "name"])
        frame["member_id"] = frame["member_id"].astype(str)
        return frame.set_index("member_id")

    # ------------------------------------------------------------------ events
    def append_events(self, events: Sequence[EventRecord], *, received_at: int | None = None) -> AppendResult:
        """Store a batch in one transaction: all new events, or nothing (see the module docstring)."""
        now = received_at if received_at is not None else int(time.time())
        with self._write() as con:
            stored, dup = self._append(con, events, now, field="events")
            last = self._last_seq(con)
        return AppendResult(stored, dup, last)

    def _append(
        self, con: sqlite3.Connection, events: Sequence[EventRecord], now: int, *, field: str
    ) -> tuple[int, int]:
        if not events:
            return 0, 0
        first: dict[str, int] = {}
        unique: list[tuple[int, EventRecord]] = []
        conflicts: list[tuple[str, str]] = []
        dup = 0
        for i, e in enumerate(events):
            j = first.get(e.event_id)
            if j is None:
                first[e.event_id] = i
                unique.append((i, e))
            elif _same_content(events[j], e):
                dup += 1
            else:
                conflicts.append((f"{field}[{i}].event_id", e.event_id))
        if conflicts:
            raise EventConflictError(
                f"event id {conflicts[0][1]!r} appears twice in the batch with different content", conflicts
            )
        self._check_refs(con, unique, field)
        existing: dict[str, tuple[str, str, str, float | None, float | None]] = {}
        ids = [e.event_id for _, e in unique]
        for chunk in _chunks(ids):
            q = ",".join("?" * len(chunk))
            for row in con.execute(
                "SELECT event_id, member_id, title_id, kind, value, fraction FROM events "
                f"WHERE event_id IN ({q})",
                list(chunk),
            ):
                existing[row[0]] = (row[1], row[2], row[3], row[4], row[5])
        new: list[tuple[object, ...]] = []
        for i, e in unique:
            old = existing.get(e.event_id)
            if old is None:
                new.append(
                    (e.event_id, e.member_id, e.title_id, e.kind, e.timestamp, e.value, e.fraction, now)
                )
            elif _same_content(e, old):
                dup += 1
            else:
                conflicts.append((f"{field}[{i}].event_id", e.event_id))
        if conflicts:
            raise EventConflictError(
                f"event id {conflicts[0][1]!r} was already stored with different content; "
                "a retried event must repeat the original exactly (or use a new event id)",
                conflicts,
            )
        con.executemany(
            "INSERT INTO events(event_id, member_id, title_id, kind, timestamp, value, fraction, "
            "received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            new,
        )
        return len(new), dup

    def _check_refs(
        self, con: sqlite3.Connection, events: Sequence[tuple[int, EventRecord]], field: str
    ) -> None:
        missing: list[tuple[str, str]] = []
        for attr, table in (("member_id", "members"), ("title_id", "titles")):
            wanted = sorted({getattr(e, attr) for _, e in events})
            found: set[str] = set()
            for chunk in _chunks(wanted):
                q = ",".join("?" * len(chunk))
                found.update(
                    r[0]
                    for r in con.execute(f"SELECT {attr} FROM {table} WHERE {attr} IN ({q})", list(chunk))
                )
            if len(found) < len(wanted):
                for i, e in events:
                    value = getattr(e, attr)
                    if value not in found:
                        loc = f"{field}[{i}].{attr}" if field == "events" else f"{field}[{i}]"
                        missing.append((loc, value))
        if missing:
            what = "; ".join(f"{loc}: unknown id {v!r}" for loc, v in missing[:5])
            more = f" (and {len(missing) - 5} more)" if len(missing) > 5 else ""
            raise UnknownReferenceError(
                f"unknown member or title id(s): {what}{more}; add them to the catalog or members first",
                missing,
            )

    @staticmethod
    def _last_seq(con: sqlite3.Connection) -> int:
        row = con.execute("SELECT max(seq) FROM events").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def member_history(self, member_id: str) -> MemberHistory:
        rows = (
            self._con()
            .execute(
                "SELECT title_id, kind, timestamp, value, fraction, seq FROM events "
                "WHERE member_id = ? ORDER BY seq",
                (member_id,),
            )
            .fetchall()
        )
        if not rows:
            return MemberHistory.empty()
        return _history(rows)

    def pair_histories(self, pairs: Sequence[tuple[str, str]]) -> dict[str, MemberHistory]:
        """Per member, the events of the given (member, title) pairs, in store order (one query per few
        hundred pairs)."""
        rows: list[tuple[Any, ...]] = []
        con = self._con()
        for chunk in _chunks(list(dict.fromkeys(pairs)), _IN_CHUNK // 2):
            wanted = set(chunk)  # this chunk's own pairs: a member's others are another chunk's to read
            members = list(dict.fromkeys(m for m, _ in chunk))
            titles = list(dict.fromkeys(t for _, t in chunk))
            # by member (the index), then title; "(member_id, title_id) IN (VALUES ...)" scanned the table
            rows += [
                r
                for r in con.execute(
                    "SELECT member_id, title_id, kind, timestamp, value, fraction, seq FROM events "
                    f"WHERE member_id IN ({','.join('?' * len(members))}) "
                    f"AND title_id IN ({','.join('?' * len(titles))}) ORDER BY member_id, seq",
                    (*members, *titles),
                ).fetchall()
                if (r[0], r[1]) in wanted
            ]
        rows.sort(key=lambda r: (r[0], r[6]))  # chunks may split a member
        out: dict[str, MemberHistory] = {}
        start = 0
        for i in range(1, len(rows) + 1):
            if i == len(rows) or rows[i][0] != rows[start][0]:
                out[str(rows[start][0])] = _history([r[1:] for r in rows[start:i]])
                start = i
        return out

    def member_last_seq(self, member_id: str) -> int:
        row = self._con().execute("SELECT max(seq) FROM events WHERE member_id = ?", (member_id,)).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def pairs_after(self, seq: int, limit: int) -> tuple[list[tuple[str, str]], int]:
        """The (member, title) pairs of the first ``limit`` events stored after sequence number ``seq``
        (each once, in order), and the sequence number of the last of those events (``seq`` if none)."""
        rows = (
            self._con()
            .execute(
                "SELECT seq, member_id, title_id FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                (seq, int(limit)),
            )
            .fetchall()
        )
        if not rows:
            return [], seq
        return list(dict.fromkeys((str(r[1]), str(r[2])) for r in rows)), int(rows[-1][0])

    def active_members(self, limit: int) -> list[str]:
        """Up to ``limit`` member ids, the most recently active first (members without events last)."""
        rows = (
            self._con()
            .execute(
                "SELECT m.member_id FROM members m LEFT JOIN (SELECT member_id, max(seq) AS last FROM events "
                "GROUP BY member_id) e ON e.member_id = m.member_id ORDER BY e.last DESC NULLS LAST LIMIT ?",
                (int(limit),),
            )
            .fetchall()
        )
        return [str(r[0]) for r in rows]

    def latest_events(self, limit: int = 50, *, before_seq: int | None = None) -> list[StoredEvent]:
        """The ``limit`` latest events, newest first (``before_seq``: only those stored before it)."""
        rows = (
            self._con()
            .execute(
                "SELECT seq, event_id, member_id, title_id, kind, timestamp, value, fraction, received_at "
                "FROM events WHERE seq < ? ORDER BY seq DESC LIMIT ?",
                (2**63 - 1 if before_seq is None else int(before_seq), int(limit)),
            )
            .fetchall()
        )
        return [StoredEvent(*r) for r in rows]

    def count_events(self) -> int:
        """How many events are stored: counted once, then only those stored since (events are append-only
        and ``seq`` grows), so ``/health``, ``/metrics`` and the event list do not scan the table on every
        request (26-41 ms a million events, per probe and scrape)."""
        con = self._con()
        with self._count_lock:
            top = self._last_seq(con)
            last, counted = self._counted
            if top < last:  # a store put back from an earlier copy under this process: count it all again
                last, counted = 0, 0
            if top != last:
                # every seq up to ``top`` is final once ``top`` is seen: SQLite has one writer at a time
                row = con.execute("SELECT count(*) FROM events WHERE seq > ? AND seq <= ?", (last, top))
                counted += int(row.fetchone()[0])
                self._counted = (top, counted)
            return counted

    def get_note(self, key: str) -> str | None:
        """A note kept in the store's ``meta`` table under ``note:<key>`` (``None`` when there is none)."""
        row = self._con().execute("SELECT value FROM meta WHERE key = ?", (f"note:{key}",)).fetchone()
        return str(row[0]) if row is not None else None

    def set_note(self, key: str, value: str | None) -> None:
        """Set (or with ``None`` remove) a note."""
        with self._write() as con:
            if value is None:
                con.execute("DELETE FROM meta WHERE key = ?", (f"note:{key}",))
            else:
                _put_meta(con, f"note:{key}", value)

    def notes(self, prefix: str) -> dict[str, str]:
        """Every note whose key starts with ``prefix`` (key: value, in key order)."""
        rows = self._con().execute(
            "SELECT key, value FROM meta WHERE substr(key, 1, ?) = ? ORDER BY key",
            (len("note:" + prefix), "note:" + prefix),
        )
        return {str(k)[len("note:") :]: str(v) for k, v in rows}

    def rating_range(self) -> tuple[float, float, int] | None:
        """The lowest and highest stored rating and how many there are (the catalog's scale before any model
        is trained); None with none."""
        lo, hi, n = (
            self._con()
            .execute("SELECT min(value), max(value), count(*) FROM events WHERE kind = 'rating'")
            .fetchone()
        )
        return None if lo is None else (float(lo), float(hi), int(n))

    def events_frame(self) -> tuple[pd.DataFrame, int]:
        """Every event as a normalised events table (oldest first) and the last sequence number included."""
        with self._read() as con:
            last = self._last_seq(con)
            frame = pd.read_sql_query(
                "SELECT member_id, title_id, timestamp, kind, value, fraction FROM events WHERE seq <= ? "
                "ORDER BY seq",
                con,
                params=(last,),
            )
        for col in ("value", "fraction"):
            frame[col] = pd.to_numeric(frame[col], errors="coerce").astype(np.float64)
        frame["timestamp"] = frame["timestamp"].astype(np.int64)
        frame["member_id"] = frame["member_id"].astype(str)
        frame["title_id"] = frame["title_id"].astype(str)
        return frame, last

    # ------------------------------------------------------------------ model versions
    def add_model_version(self, record: ModelVersionRecord, *, make_current: bool = True) -> None:
        with self._write() as con:
            con.execute(
                "INSERT INTO model_versions(version, created_at, personal_model, events_seq, n_events, "
                "n_members, n_titles, train_seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.version,
                    record.created_at,
                    record.personal_model,
                    record.events_seq,
                    record.n_events,
                    record.n_members,
                    record.n_titles,
                    record.train_seconds,
                ),
            )
            if make_current:
                # two trainers finishing out of order: the one that saw more events stays current (the
                # later to finish may have read the store first)
                newer = con.execute(
                    "SELECT v.events_seq FROM meta m JOIN model_versions v ON v.version = m.value "
                    "WHERE m.key = 'current_model' AND v.events_seq > ?",
                    (record.events_seq,),
                ).fetchone()
                if newer is None:
                    _put_meta(con, "current_model", record.version)

    def set_current_model(self, version: str) -> ModelVersionRecord | None:
        """Make a recorded version the current one (``reelkit activate``: a rollback), in one transaction;
        ``None`` (nothing changed) when no such version is recorded."""
        with self._write() as con:
            row = con.execute(
                "SELECT version, created_at, personal_model, events_seq, n_events, n_members, n_titles, "
                "train_seconds FROM model_versions WHERE version = ?",
                (version,),
            ).fetchone()
            if row is not None:
                _put_meta(con, "current_model", version)
        return ModelVersionRecord(*row) if row is not None else None

    def current_model_version(self) -> ModelVersionRecord | None:
        row = (
            self._con()
            .execute(
                "SELECT v.version, v.created_at, v.personal_model, v.events_seq, v.n_events, v.n_members, "
                "v.n_titles, v.train_seconds FROM meta m JOIN model_versions v ON v.version = m.value "
                "WHERE m.key = 'current_model'"
            )
            .fetchone()
        )
        return ModelVersionRecord(*row) if row is not None else None

    def model_versions(self) -> list[ModelVersionRecord]:
        rows = (
            self._con()
            .execute(
                "SELECT version, created_at, personal_model, events_seq, n_events, n_members, n_titles, "
                "train_seconds FROM model_versions ORDER BY version"
            )
            .fetchall()
        )
        return [ModelVersionRecord(*r) for r in rows]

    # ------------------------------------------------------------------ maintenance
    def integrity_check(self) -> str:
        """``"ok"``, or SQLite's description of what is wrong."""
        rows = self._con().execute("PRAGMA integrity_check").fetchall()
        return "; ".join(str(r[0]) for r in rows)
