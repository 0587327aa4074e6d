"""Workloads for the cache simulator: request traces from viewing events, and a seeded synthetic VoD
generator.

A *view* (a member starts a title at a time, in a region) becomes requests for the title's files. Each title
is encoded as a :class:`Ladder` of renditions; the rendition a view streams is what a throughput-based ABR
rule picks for that session (:class:`AbrChoice`). A rendition is either one object (the whole file, as Open
Connect appliances store files: ``chunk_s=None``) or a run of chunks of ``chunk_s`` seconds requested at the
pace of playback. Sizes are duration x bitrate, scaled per title by an encoding-complexity factor (per-title
encoding).

Object ids encode what they are: ``(title_index << 24) | (rendition << 18) | chunk``;
:func:`decode_object_ids` splits them again. :class:`Workload` keeps the title of each index and, for
synthetic workloads, release times (what a popularity forecast needs).
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from reelkit._files import finish_commits
from reelkit.errors import (
    ConfigError,
    DataFormatError,
    EmptyDataError,
    MissingColumnsError,
    TimestampUnitWarning,
)
from reelkit.stream.cache.trace import RequestTrace, _csv_line, _find_bad_csv_line

__all__ = [
    "CATALOG_COLUMNS",
    "AbrChoice",
    "Ladder",
    "ObjectCatalog",
    "Rendition",
    "SynthConfig",
    "Workload",
    "catalog_path",
    "decode_object_ids",
    "default_ladder",
    "read_object_catalog",
    "synthesize",
    "trace_from_events",
]

#: The most views a synthetic trace may be asked for (about 3 GB of arrays while it is built).
MAX_SYNTH_VIEWS = 50_000_000
#: The most requests views may be split into (chunks): about 100 bytes each while the trace is built.
MAX_TRACE_REQUESTS = 100_000_000
MAX_ZIPF_S = 20.0  # popularity exponent: 2 ** -20, a millionth of the top title's views for the second
_TITLE_SHIFT = 24
_REND_SHIFT = 18
_MAX_CHUNKS = 1 << _REND_SHIFT
_MAX_RENDITIONS = 1 << (_TITLE_SHIFT - _REND_SHIFT)


@dataclass(frozen=True)
class Rendition:
    """One encoding of a title: its name (``1080p``), height in pixels and average bitrate (bits/s)."""

    name: str
    height: int
    bitrate_bps: float


@dataclass(frozen=True)
class Ladder:
    """A bitrate ladder, lowest bitrate first."""

    renditions: tuple[Rendition, ...]

    def __post_init__(self) -> None:
        if not self.renditions:
            raise ConfigError("a ladder needs at least one rendition")
        if len(self.renditions) > _MAX_RENDITIONS:
            raise ConfigError(f"a ladder has at most {_MAX_RENDITIONS} renditions")
        rates = [r.bitrate_bps for r in self.renditions]
        if any(b <= 0 for b in rates) or rates != sorted(rates):
            raise ConfigError("ladder bitrates must be positive and increasing")

    @property
    def bitrates(self) -> npt.NDArray[np.float64]:
        return np.asarray([r.bitrate_bps for r in self.renditions], dtype=np.float64)

    def __len__(self) -> int:
        return len(self.renditions)


def default_ladder() -> Ladder:
    """A typical H.264 ladder (240p at 235 kbit/s to 1080p at 5.8 Mbit/s)."""
    rungs = [
        ("240p", 240, 235e3),
        ("360p", 360, 560e3),
        ("480p", 480, 1050e3),
        ("720p", 720, 2350e3),
        ("1080p-lo", 1080, 4300e3),
        ("1080p", 1080, 5800e3),
    ]
    return Ladder(tuple(Rendition(n, h, b) for n, h, b in rungs))


ThroughputPicker = Callable[[npt.NDArray[np.float64], npt.NDArray[np.float64]], npt.NDArray[np.int64]]


@dataclass(frozen=True)
class AbrChoice:
    """Which rendition a session streams: the highest whose bitrate is at most ``safety`` x the harmonic mean
    of ``samples`` throughput samples. A member's typical throughput is log-normal (median
    ``median_mbps``, log-sd ``member_sigma``); each session varies around it (``session_sigma``).

    ``picker`` replaces the rule: it gets the ladder's bitrates and each session's throughput samples
    (sessions x samples, bits/s) and returns a rendition index per session (e.g. a policy from
    ``reelkit.stream.abr``)."""

    median_mbps: float = 12.0
    member_sigma: float = 0.8
    session_sigma: float = 0.35
    samples: int = 5
    safety: float = 0.8
    picker: ThroughputPicker | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.median_mbps <= 0 or self.samples < 1 or not 0 < self.safety <= 1:
            raise ConfigError("abr: median_mbps > 0, samples >= 1 and safety in (0, 1] are required")

    def choose(
        self, ladder: Ladder, member_index: npt.NDArray[np.int64], n_members: int, rng: np.random.Generator
    ) -> npt.NDArray[np.int64]:
        """A rendition index per session (sessions are given by their member's index)."""
        base = self.median_mbps * 1e6 * np.exp(self.member_sigma * rng.standard_normal(max(n_members, 1)))
        n = len(member_index)
        noise = np.exp(self.session_sigma * rng.standard_normal((n, self.samples)))
        thr = base[member_index][:, None] * noise
        if self.picker is not None:
            out = np.asarray(self.picker(ladder.bitrates, thr), dtype=np.int64)
            if out.shape != (n,) or (out < 0).any() or (out >= len(ladder)).any():
                raise ConfigError("abr picker must return one valid rendition index per session")
            return out
        hm = self.samples / np.sum(1.0 / thr, axis=1)
        idx = np.searchsorted(ladder.bitrates, self.safety * hm, side="right") - 1
        return np.asarray(np.clip(idx, 0, len(ladder) - 1), dtype=np.int64)


@dataclass(frozen=True)
class Workload:
    """A trace with what it was made from: ``title_ids[k]`` is title index ``k``; per request its title index
    and rendition; per title its duration (s), complexity factor and release time (NaN when unknown)."""

    trace: RequestTrace
    ladder: Ladder
    title_ids: npt.NDArray[np.str_]
    request_title: npt.NDArray[np.int64]
    request_rendition: npt.NDArray[np.int64]
    title_duration_s: npt.NDArray[np.float64]
    title_complexity: npt.NDArray[np.float64]
    title_release_s: npt.NDArray[np.float64]
    chunk_s: float | None

    def object_catalog(self) -> pd.DataFrame:
        """One row per object of the trace (:data:`CATALOG_COLUMNS`): its id, title, rendition name, the
        title's release time in seconds (NaN when unknown) and the object's size. Written next to a trace, it
        lets the fill planner pool a title's files and see release ages (:func:`read_object_catalog`); the
        sizes tell a catalogue left over from another trace."""
        ids = self.trace.original_ids
        title, rend, _ = decode_object_ids(ids.astype(np.int64))
        names = np.asarray([r.name for r in self.ladder.renditions])
        return pd.DataFrame(
            {
                "object_id": ids,
                "title_id": self.title_ids[title],
                "rendition": names[rend],
                "release_s": self.title_release_s[title],
                "size_bytes": self.trace.object_sizes(),
            }
        )

    def title_bytes(self) -> npt.NDArray[np.float64]:
        """Bytes of every rendition of each title (what storing the whole title costs)."""
        out = self.title_duration_s * self.title_complexity * float(self.ladder.bitrates.sum()) / 8.0
        return np.asarray(out, dtype=np.float64)


def decode_object_ids(ids: npt.ArrayLike) -> tuple[npt.NDArray[np.int64], ...]:
    """``(title_index, rendition, chunk)`` of object ids made by this module."""
    a = np.asarray(ids, dtype=np.int64)
    return a >> _TITLE_SHIFT, (a >> _REND_SHIFT) & (_MAX_RENDITIONS - 1), a & (_MAX_CHUNKS - 1)


#: Columns of an object catalogue: ``release_s`` (unix seconds; a file in milli-, micro- or nanoseconds is
#: converted, the unit read from the median) may be empty (unknown) or left out; ``size_bytes`` (each
#: object's size in the trace it was written with) may be left out.
CATALOG_COLUMNS: tuple[str, ...] = ("object_id", "title_id", "rendition", "release_s", "size_bytes")
_MIN_RELEASE_S = -3_786_825_600.0  # 1850-01-01: before the first films; a release time before it is no date
_MAX_RELEASE_S = 7_258_118_400.0  # 2200-01-01
#: Units release times may be written in, tried in this order for the median release time; the first in which
#: it is a date from 1850 to 2200 is the file's, and every release time must then be a date in it (release
#: dates go back before 1970, so event times' rule, "from 1e11 up", does not tell a catalogue's unit; the
#: median keeps one mistyped value from choosing the unit).
_RELEASE_UNITS = ((1.0, "seconds"), (1e3, "milliseconds"), (1e6, "microseconds"), (1e9, "nanoseconds"))


def _release_seconds(
    rel: npt.NDArray[np.float64], known: npt.NDArray[np.bool_], p: Path, column: pd.Series
) -> npt.NDArray[np.float64]:
    """Release times in unix seconds, in the unit :data:`_RELEASE_UNITS` gives the file (converted with a
    warning unless it is seconds); a release time that is no date in that unit is refused, naming its line."""
    median = float(np.median(rel[known]))
    fits = [(d, n) for d, n in _RELEASE_UNITS if _MIN_RELEASE_S <= median / d <= _MAX_RELEASE_S]
    div, name = fits[0] if fits else _RELEASE_UNITS[0]
    out = rel / div
    implausible = known & ((out < _MIN_RELEASE_S) | (out > _MAX_RELEASE_S))
    if implausible.any():
        i = int(np.argmax(implausible))
        raise DataFormatError(
            f"release_s {str(column.iloc[i])!r} is no date from 1850 to 2200 in {name}, the unit of the "
            f"file's other release times; write them all as unix seconds, as the trace's times (leave one "
            "empty when unknown)",
            path=str(p),
            line=_csv_line(p, i),
        )
    if div != 1.0:
        warnings.warn(
            f"{p} column release_s: release times read as {name} (e.g. {int(rel[known].max())}) and "
            "converted to seconds",
            TimestampUnitWarning,
            stacklevel=3,
        )
    return out


def catalog_path(trace_path: str | Path) -> Path:
    """Where ``reelkit cache trace`` / ``synth`` put a trace's object catalogue: ``<trace>.objects.csv``."""
    p = Path(trace_path)
    return p.with_name(p.name + ".objects.csv")


@dataclass(frozen=True)
class ObjectCatalog:
    """What each object of a trace is, aligned with the trace's dense object ids: ``groups`` its title (an
    index), ``kinds`` its rendition (an index), ``release_s`` its title's release time (NaN when unknown;
    ``None`` when the catalogue gives none)."""

    groups: npt.NDArray[np.int64]
    kinds: npt.NDArray[np.int64]
    release_s: npt.NDArray[np.float64] | None
    n_titles: int


def read_object_catalog(path: str | Path, trace: RequestTrace) -> ObjectCatalog:
    """Read a CSV catalogue (:data:`CATALOG_COLUMNS`, one row per object id) for ``trace``; every object of
    the trace must be listed. Bad input raises :class:`DataFormatError` naming the file and line."""
    p = Path(path)
    finish_commits(p.parent)  # a trace and catalogue stopped among their renames are completed first
    if not p.is_file():
        raise DataFormatError("no such object catalogue", path=str(p))
    bad_line = _find_bad_csv_line(p)  # before pandas, which takes a first row's extra field for an index
    if bad_line is not None:
        raise DataFormatError(
            "wrong number of fields (not as many as the header names); fix this row",
            path=str(p),
            line=bad_line,
        )
    try:
        # ids are text as written ("NA", "null" and "000001" are ids, as the trace reader keeps them)
        frame = pd.read_csv(
            p,
            dtype={"object_id": str, "title_id": str, "rendition": str},
            keep_default_na=False,
            na_values={
                "object_id": [""],
                "title_id": [""],
                "rendition": [""],
                "release_s": [""],
                "size_bytes": [""],
            },
        )
    except (ValueError, pd.errors.ParserError) as exc:
        raise DataFormatError(f"cannot read as CSV: {exc}".splitlines()[0], path=str(p)) from None
    missing = [c for c in CATALOG_COLUMNS[:3] if c not in frame.columns]
    if missing:
        raise MissingColumnsError(
            f"missing column(s) {', '.join(missing)}; expected header {','.join(CATALOG_COLUMNS)}",
            path=str(p),
        )
    for col in CATALOG_COLUMNS[:3]:
        blank = frame[col].isna().to_numpy()
        if blank.any():
            raise DataFormatError(f"empty {col}", path=str(p), line=_csv_line(p, int(np.argmax(blank))))
    dup = frame["object_id"].duplicated().to_numpy()
    if dup.any():
        i = int(np.argmax(dup))
        raise DataFormatError(
            f"object {frame['object_id'].iloc[i]} is listed twice; give one row per object",
            path=str(p),
            line=_csv_line(p, i),
        )
    release: npt.NDArray[np.float64] | None = None
    if "release_s" in frame.columns:
        rel = np.array(
            pd.to_numeric(frame["release_s"], errors="coerce"), dtype=np.float64
        )  # a copy to convert
        bad = (np.isnan(rel) & frame["release_s"].notna().to_numpy()) | np.isinf(rel)
        if bad.any():
            i = int(np.argmax(bad))
            raise DataFormatError(
                f"release_s {str(frame['release_s'].iloc[i])!r} is not a number of seconds (leave it empty "
                "when unknown)",
                path=str(p),
                line=_csv_line(p, i),
            )
        known = np.isfinite(rel)
        if known.any():
            rel = _release_seconds(rel, known, p, frame["release_s"])
        release = rel
    row = pd.Series(np.arange(len(frame)), index=frame["object_id"].to_numpy())
    want = pd.Index([str(v) for v in trace.original_ids])
    pos = row.reindex(want).to_numpy(dtype=np.float64)
    absent = np.isnan(pos)
    if absent.any():
        raise DataFormatError(
            f"{int(absent.sum())} object(s) of the trace are not listed (first: "
            f"{want[int(np.argmax(absent))]}); give one row per object of the trace",
            path=str(p),
        )
    idx = pos.astype(np.int64)
    if "size_bytes" in frame.columns:
        empty = frame["size_bytes"].isna().to_numpy()[idx]
        if empty.any():  # not "written with another trace": the field is just empty
            k = int(np.argmax(empty))
            raise DataFormatError(
                f"empty size_bytes for object {want[k]}; give its size, or leave the column out",
                path=str(p),
                line=_csv_line(p, int(idx[k])),
            )
        listed = pd.to_numeric(frame["size_bytes"], errors="coerce").to_numpy(dtype=np.float64)[idx]
        actual = trace.object_sizes().astype(np.float64)
        off = ~(listed == actual)
        if off.any():
            k = int(np.argmax(off))
            here = frame["size_bytes"].iloc[idx[k]]
            raise DataFormatError(
                f"object {want[k]} is {int(actual[k])} bytes in the trace but {here} here "
                f"({int(off.sum())} object(s) differ): this catalogue was written with another trace; "
                "write both again (reelkit cache synth / trace), or give the right one with --objects",
                path=str(p),
                line=_csv_line(p, int(idx[k])),
            )
    titles, title_codes = np.unique(frame["title_id"].to_numpy(dtype=str), return_inverse=True)
    _, kind_codes = np.unique(frame["rendition"].to_numpy(dtype=str), return_inverse=True)
    rel_obj = None if release is None or np.isnan(release).all() else release[idx]
    return ObjectCatalog(
        groups=title_codes[idx].astype(np.int64),
        kinds=kind_codes[idx].astype(np.int64),
        release_s=rel_obj,
        n_titles=len(titles),
    )


def _stable_unit(keys: npt.NDArray[np.str_], salt: str) -> npt.NDArray[np.float64]:
    """A deterministic uniform(0, 1) value per key (independent of order and of numpy's RNG)."""
    out = np.empty(len(keys), dtype=np.float64)
    for i, k in enumerate(keys):
        h = hashlib.blake2b(f"{salt}:{k}".encode(), digest_size=8).digest()
        out[i] = (int.from_bytes(h, "little") >> 11) / float(1 << 53)
    return out


def _expand_views(
    view_time: npt.NDArray[np.float64],
    view_title: npt.NDArray[np.int64],
    view_rend: npt.NDArray[np.int64],
    view_fraction: npt.NDArray[np.float64],
    view_region: npt.NDArray[np.int64] | None,
    duration: npt.NDArray[np.float64],
    complexity: npt.NDArray[np.float64],
    ladder: Ladder,
    chunk_s: float | None,
    source: str,
) -> tuple[RequestTrace, npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    rate = ladder.bitrates[view_rend] * complexity[view_title] / 8.0  # bytes per second of video
    dur = duration[view_title]
    if chunk_s is None:
        n_chunks = np.ones(len(view_time), dtype=np.int64)
    else:
        watched = np.clip(view_fraction, 0.0, 1.0) * dur
        if int(np.ceil(dur / chunk_s).max()) > _MAX_CHUNKS:
            raise ConfigError(f"chunk_s={chunk_s}: a title would have more than {_MAX_CHUNKS} chunks")
        n_chunks = _chunks_per_view(watched, dur, chunk_s)
        n_requests = int(n_chunks.sum())
        if n_requests > MAX_TRACE_REQUESTS:  # ~100 bytes a request while building
            raise ConfigError(
                f"chunk_s (--chunk-s) {chunk_s:g}: these {len(view_time):,} views would make "
                f"{n_requests:,} requests, more than the {MAX_TRACE_REQUESTS:,} a trace may have (about "
                f"{MAX_TRACE_REQUESTS * 100 / 2**30:.0f} GiB to build); "
                + _chunk_advice(watched, dur, chunk_s)
            )
    view_of = np.repeat(np.arange(len(view_time)), n_chunks)
    starts = np.cumsum(n_chunks) - n_chunks
    chunk = np.arange(len(view_of), dtype=np.int64) - starts[view_of]
    title = view_title[view_of]
    rend = view_rend[view_of]
    if chunk_s is None:
        t = view_time[view_of]
        size = rate[view_of] * dur[view_of]
    else:
        t = view_time[view_of] + chunk * chunk_s
        seconds = np.minimum(chunk_s, dur[view_of] - chunk * chunk_s)
        size = rate[view_of] * np.maximum(seconds, 1e-3)
    sizes = np.maximum(1, np.round(size)).astype(np.int64)
    ids = (title << _TITLE_SHIFT) | (rend << _REND_SHIFT) | chunk
    order = np.argsort(t, kind="stable")
    region = None if view_region is None else view_region[view_of][order]
    trace = RequestTrace.from_arrays(t[order], ids[order], sizes[order], regions=region, source=source)
    return trace, title[order], rend[order]


def _chunks_per_view(
    watched: npt.NDArray[np.float64], dur: npt.NDArray[np.float64], chunk_s: float
) -> npt.NDArray[np.int64]:
    """The requests each view makes in chunks of ``chunk_s``: the chunks it watched, at least one, at most its
    title's."""
    return np.minimum(np.maximum(1.0, np.ceil(watched / chunk_s)), np.ceil(dur / chunk_s)).astype(np.int64)


def _chunk_advice(watched: npt.NDArray[np.float64], dur: npt.NDArray[np.float64], chunk_s: float) -> str:
    """What to do when the views make too many requests: the smallest chunk of two significant digits that
    fits, found by bisection (the count only falls as chunks grow, but not in proportion: every view makes
    a request), or fewer views when even one request a view is too many."""
    if len(watched) > MAX_TRACE_REQUESTS:
        return "even one request a view is too many: use fewer views, or whole files (no chunk_s / --chunk-s)"
    lo, hi = chunk_s, float(dur.max())  # chunks of a whole title: one request a view, which fits
    while hi / lo > 1.0001:
        mid = math.sqrt(lo * hi)
        lo, hi = (
            (mid, hi) if int(_chunks_per_view(watched, dur, mid).sum()) > MAX_TRACE_REQUESTS else (lo, mid)
        )
    step = 10.0 ** (math.floor(math.log10(hi)) - 1)
    down = math.floor(hi / step) * step  # two significant digits: down when that still fits, else up
    fits = int(_chunks_per_view(watched, dur, down).sum()) <= MAX_TRACE_REQUESTS
    return f"use chunks of at least {down if fits else math.ceil(hi / step) * step:g} s, or fewer views"


_EVENTS_TITLE_SALT = 0  # salt of the titles' parameters in trace_from_events, whatever its seed


def _title_params(
    title_ids: npt.NDArray[np.str_], seed: int, durations: dict[str, float] | None
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Each title's duration and encoding complexity: a stable hash of its id salted with ``seed``."""
    u1 = _stable_unit(title_ids, f"duration-{seed}")
    u2 = _stable_unit(title_ids, f"complexity-{seed}")
    # feature length: 80 to 150 minutes; encoding complexity 0.6 to 1.4 of the ladder's nominal bitrate
    dur = 60.0 * (80.0 + 70.0 * u1)
    if durations:
        for i, t in enumerate(title_ids):
            if t in durations:
                if durations[t] <= 0:
                    raise ConfigError(f"title {t}: duration must be > 0 seconds")
                dur[i] = float(durations[t])
    return dur, 0.6 + 0.8 * u2


def trace_from_events(
    events: pd.DataFrame | object,
    *,
    ladder: Ladder | None = None,
    chunk_s: float | None = None,
    abr: AbrChoice | None = None,
    kinds: tuple[str, ...] = ("rating", "play"),
    n_regions: int = 1,
    durations: dict[str, float] | None = None,
    seed: int = 0,
) -> Workload:
    """Requests for the files of the titles that viewing events show being watched.

    ``events``: a :class:`reelkit.data.Dataset` or its events table (``member_id``, ``title_id``,
    ``timestamp``; optional ``kind``, ``value``, ``fraction``). Each event of a kind in ``kinds`` is one view;
    a rating counts as a full view, a play covers its ``fraction`` (or ``value`` seconds) of the title. Titles
    last 80-150 minutes unless ``durations`` says otherwise (seconds by title id). With ``n_regions > 1`` each
    member belongs to one region (a stable hash of the id). A title's duration and encoding complexity (so its
    files' sizes) are a stable hash of its id alone; ``seed`` draws only the members' ABR throughputs (which
    rendition each view fetches), so traces of several seeds share one catalogue. Deterministic for a given
    ``seed`` and row order: each view's ABR draw is taken in the events' order, so sort the events first (for
    example by member and timestamp) to make the trace independent of how they were stored.
    """
    table = getattr(events, "events", events)
    if not isinstance(table, pd.DataFrame):
        raise ConfigError("events must be a reelkit Dataset or a pandas DataFrame")
    missing = [c for c in ("member_id", "title_id", "timestamp") if c not in table.columns]
    if missing:
        raise MissingColumnsError(f"events lack column(s) {', '.join(missing)}")
    ev = table
    if "kind" in ev.columns:
        ev = ev[ev["kind"].isin(kinds)]
    if len(ev) == 0:
        raise EmptyDataError(f"no events of kind {', '.join(kinds)} to turn into views")
    if n_regions < 1:
        raise ConfigError("n_regions must be >= 1")
    if chunk_s is not None and not 0 < chunk_s < math.inf:
        raise ConfigError("chunk_s must be a number of seconds > 0 (or None for one object per file)")
    if seed < 0:
        raise ConfigError(f"seed must be >= 0, got {seed}")
    lad = ladder or default_ladder()
    choice = abr or AbrChoice()
    rng = np.random.default_rng(seed)
    ts = pd.to_numeric(ev["timestamp"], errors="coerce").to_numpy(dtype=np.float64)
    if not np.isfinite(ts).all():
        raise ConfigError("events need numeric unix-second timestamps")
    title_codes, title_ids = pd.factorize(ev["title_id"].astype(str), sort=True)
    member_codes, member_ids = pd.factorize(ev["member_id"].astype(str), sort=True)
    tids = np.asarray(title_ids, dtype=str)
    # the titles' salt is fixed (what seed 0 gave), so --seed re-draws the ABR choices, not the catalogue
    dur, cx = _title_params(tids, _EVENTS_TITLE_SALT, durations)
    frac = np.ones(len(ev), dtype=np.float64)
    has_fraction = np.zeros(len(ev), dtype=bool)
    if "fraction" in ev.columns:
        f = pd.to_numeric(ev["fraction"], errors="coerce").to_numpy(dtype=np.float64)
        has_fraction = np.isfinite(f)
        frac = np.where(has_fraction, f, frac)
    if "kind" in ev.columns and "value" in ev.columns:
        # a play without a fraction covers its value (seconds watched) of the title
        secs = pd.to_numeric(ev["value"], errors="coerce").to_numpy(dtype=np.float64)
        use = (ev["kind"] == "play").to_numpy() & ~has_fraction & np.isfinite(secs) & (secs > 0)
        frac = np.where(use, secs / dur[title_codes], frac)
    frac = np.clip(frac, 1e-6, 1.0)
    rend = choice.choose(lad, member_codes.astype(np.int64), len(member_ids), rng)
    region = None
    if n_regions > 1:
        u = _stable_unit(np.asarray(member_ids, dtype=str), "region")
        region = np.floor(u * n_regions).astype(np.int64)[member_codes]
    trace, req_title, req_rend = _expand_views(
        ts, title_codes.astype(np.int64), rend, frac, region, dur, cx, lad, chunk_s, "events"
    )
    return Workload(
        trace=trace,
        ladder=lad,
        title_ids=tids,
        request_title=req_title,
        request_rendition=req_rend,
        title_duration_s=dur,
        title_complexity=cx,
        title_release_s=np.full(len(tids), np.nan),
        chunk_s=chunk_s,
    )


@dataclass(frozen=True)
class SynthConfig:
    """A synthetic video-on-demand workload.

    Background popularity is Zipf-Mandelbrot: the title of rank ``k`` (from 1) is chosen with probability
    proportional to ``(k + zipf_q) ** -zipf_s``; each region permutes the ranks a little
    (``region_shuffle``: the log-normal noise added to log-popularity). New releases (``releases_per_day``)
    follow a shot-noise model: a release at time ``r`` draws ``release_views_mean`` views on average
    (log-normal spread ``release_sigma``), spread as ``exp(-(t - r) / release_decay_days)``, and the daily
    cycle keeps each with probability ``(1 + daily_amplitude cos) / (1 + daily_amplitude)``: a release keeps
    ``release_views_mean / (1 + daily_amplitude)`` on average (1,176 of 2,000 by default). Demand follows a
    daily cycle peaking at ``peak_hour`` local time with relative amplitude ``daily_amplitude``; regions are
    ``timezones`` hours from UTC with demand shares ``region_weights``. ``views_per_day`` counts background
    views (the cycle only moves them in the day); each view is expanded to requests as in
    :func:`trace_from_events`.
    """

    seed: int = 0
    days: float = 7.0
    n_titles: int = 2000
    views_per_day: float = 20000.0
    zipf_s: float = 0.9
    zipf_q: float = 10.0
    releases_per_day: float = 2.0
    release_views_mean: float = 2000.0
    release_sigma: float = 1.0
    release_decay_days: float = 2.0
    daily_amplitude: float = 0.7
    peak_hour: float = 21.0
    timezones: tuple[float, ...] = (0.0, -5.0, 8.0)
    region_weights: tuple[float, ...] = (0.4, 0.35, 0.25)
    region_shuffle: float = 0.5
    n_members: int = 20000
    watch_fraction_a: float = 2.0
    watch_fraction_b: float = 0.7
    chunk_s: float | None = None
    start_s: float = 1_700_000_000.0 - (1_700_000_000.0 % 86400.0)

    def __post_init__(self) -> None:
        if not (0 < self.days < math.inf and self.n_titles >= 1 and 0 < self.views_per_day < math.inf):
            raise ConfigError("synth: days > 0, n_titles >= 1 and views_per_day > 0 are required")
        if not all(
            math.isfinite(v)
            for v in (
                self.zipf_s,
                self.zipf_q,
                self.releases_per_day,
                self.release_views_mean,
                self.release_sigma,
                self.release_decay_days,
                self.daily_amplitude,
                self.peak_hour,
                self.region_shuffle,
                *self.timezones,
                *self.region_weights,
            )
        ):
            raise ConfigError("synth: every parameter must be a finite number")
        views = self.days * (self.views_per_day + self.releases_per_day * self.release_views_mean)
        if views > MAX_SYNTH_VIEWS:
            raise ConfigError(
                f"synth: about {views:.3g} views asked for; at most {MAX_SYNTH_VIEWS:.0e} "
                "(fewer --days or --views-per-day)"
            )
        if self.zipf_s <= 0 or self.zipf_q < 0:
            raise ConfigError("synth: zipf_s > 0 and zipf_q >= 0 are required")
        if self.zipf_s > MAX_ZIPF_S:  # 1e308 overflowed to NaN popularities (a traceback)
            raise ConfigError(
                f"synth: zipf_s (--zipf-s) must be at most {MAX_ZIPF_S:g} (the top title then has nearly "
                f"every view); got {self.zipf_s:g}"
            )
        if len(self.timezones) != len(self.region_weights) or not self.timezones:
            raise ConfigError("synth: give one timezone per region weight")
        if any(w < 0 for w in self.region_weights) or sum(self.region_weights) <= 0:
            raise ConfigError("synth: region weights must be >= 0 and not all 0")
        if not 0 <= self.daily_amplitude < 1:
            raise ConfigError("synth: daily_amplitude must be in [0, 1)")
        if self.release_decay_days <= 0 or self.releases_per_day < 0 or self.release_views_mean < 0:
            raise ConfigError("synth: release parameters must be >= 0 (decay > 0)")
        if self.chunk_s is not None and not 0 < self.chunk_s < math.inf:
            raise ConfigError("synth: chunk_s must be a number of seconds > 0, or None")
        if self.seed < 0:
            raise ConfigError(f"synth: seed must be >= 0, got {self.seed}")
        whole = isinstance(self.n_members, (int, float, np.integer, np.floating)) and math.isfinite(
            self.n_members
        )  # 100.0 is 100 members; NaN passed "< 1" and failed in numpy ("high <= 0" for none)
        if not (whole and self.n_members == int(self.n_members) and self.n_members >= 1):
            raise ConfigError(f"synth: n_members must be a whole number, 1 or more; got {self.n_members}")
        if not (0 < self.watch_fraction_a < math.inf and 0 < self.watch_fraction_b < math.inf):
            raise ConfigError(
                "synth: watch_fraction_a and watch_fraction_b (the Beta distribution of the share of a title "
                f"watched) must be finite numbers > 0; got {self.watch_fraction_a}, {self.watch_fraction_b}"
            )
        if self.release_sigma < 0:
            raise ConfigError(f"synth: release_sigma must be >= 0, got {self.release_sigma}")
        if any(abs(tz) > 14 for tz in self.timezones):
            raise ConfigError("synth: time zones are hours from UTC, between -14 and +14")


def _daily_times(
    n: int, days: float, tz: float, amp: float, peak: float, start: float, rng: np.random.Generator
) -> npt.NDArray[np.float64]:
    """``n`` times in ``[start, start + days)`` whose local hour-of-day density is 1 + amp cos(...)."""
    grid = np.linspace(0.0, 24.0, 24 * 60 + 1)
    dens = 1.0 + amp * np.cos(2 * np.pi * (grid - peak) / 24.0)
    cdf = np.concatenate([[0.0], np.cumsum((dens[1:] + dens[:-1]) / 2.0)])
    cdf /= cdf[-1]
    local_hour = np.interp(rng.random(n), cdf, grid)
    day = np.floor(rng.random(n) * np.ceil(days))
    t = start + day * 86400.0 + (local_hour - tz) * 3600.0
    # wrap into the window so that every region covers whole days
    span = np.ceil(days) * 86400.0
    t = start + np.mod(t - start, span)
    return np.asarray(t[t < start + days * 86400.0], dtype=np.float64)


def synthesize(
    config: SynthConfig | None = None, *, ladder: Ladder | None = None, abr: AbrChoice | None = None
) -> Workload:
    """A seeded synthetic VoD workload (see :class:`SynthConfig`); the same config gives the same trace."""
    cfg = config or SynthConfig()
    lad = ladder or default_ladder()
    choice = abr or AbrChoice()
    rng = np.random.default_rng(cfg.seed)
    n_reg = len(cfg.timezones)
    weights = np.asarray(cfg.region_weights, dtype=np.float64)
    weights /= weights.sum()
    span_s = cfg.days * 86400.0
    end = cfg.start_s + span_s

    # releases: a Poisson number over the window plus a decay-length lead-in before it
    lead = 3.0 * cfg.release_decay_days
    n_rel = min(rng.poisson(cfg.releases_per_day * (cfg.days + lead)), cfg.n_titles // 2)
    n_bg = cfg.n_titles - n_rel
    rel_time = cfg.start_s + (rng.random(n_rel) * (cfg.days + lead) - lead) * 86400.0
    rel_time.sort()

    times: list[npt.NDArray[np.float64]] = []
    titles: list[npt.NDArray[np.int64]] = []
    regions: list[npt.NDArray[np.int64]] = []
    # background: Zipf-Mandelbrot over titles n_rel..n_titles-1, ranks perturbed per region
    ranks = np.arange(1, n_bg + 1, dtype=np.float64)
    base_logp = -cfg.zipf_s * np.log(ranks + cfg.zipf_q)
    for r in range(n_reg):
        # drawn for the whole days _daily_times spreads them over, then cut to ``days``: drawn for ``days``
        # and spread over ceil(days), 1.5 days got 15,000 views a day for 20,000 asked
        n_views = rng.poisson(cfg.views_per_day * math.ceil(cfg.days) * weights[r])
        t = _daily_times(
            n_views, cfg.days, cfg.timezones[r], cfg.daily_amplitude, cfg.peak_hour, cfg.start_s, rng
        )
        logp = base_logp + cfg.region_shuffle * rng.standard_normal(n_bg)
        p = np.exp(logp - logp.max())
        p /= p.sum()
        times.append(t)
        titles.append(n_rel + rng.choice(n_bg, size=len(t), p=p).astype(np.int64))
        regions.append(np.full(len(t), r, dtype=np.int64))
    # releases: shot noise, thinned by the daily cycle of each viewer's region
    if n_rel:
        amp = cfg.release_views_mean * np.exp(
            cfg.release_sigma * rng.standard_normal(n_rel) - cfg.release_sigma**2 / 2
        )
        counts = rng.poisson(amp)
        rel_of = np.repeat(np.arange(n_rel, dtype=np.int64), counts)
        t = rel_time[rel_of] + rng.exponential(cfg.release_decay_days * 86400.0, size=len(rel_of))
        reg = rng.choice(n_reg, size=len(rel_of), p=weights).astype(np.int64)
        tz = np.asarray(cfg.timezones)[reg]
        local_hour = np.mod((t % 86400.0) / 3600.0 + tz, 24.0)
        accept = rng.random(len(t)) * (1 + cfg.daily_amplitude) < 1 + cfg.daily_amplitude * np.cos(
            2 * np.pi * (local_hour - cfg.peak_hour) / 24.0
        )
        keep = accept & (t >= cfg.start_s) & (t < end)
        times.append(t[keep])
        titles.append(rel_of[keep])
        regions.append(reg[keep])
    vt = np.concatenate(times)
    vtitle = np.concatenate(titles)
    vreg = np.concatenate(regions)
    if len(vt) == 0:
        raise EmptyDataError("synth: the configuration produced no views; raise views_per_day or days")
    member = rng.integers(0, int(cfg.n_members), size=len(vt)).astype(np.int64)
    rend = choice.choose(lad, member, int(cfg.n_members), rng)
    frac = rng.beta(cfg.watch_fraction_a, cfg.watch_fraction_b, size=len(vt))
    tids = np.asarray([f"t{k:05d}" for k in range(cfg.n_titles)], dtype=str)
    dur, cx = _title_params(tids, cfg.seed, None)
    trace, req_title, req_rend = _expand_views(
        vt,
        vtitle,
        rend,
        frac,
        vreg if n_reg > 1 else None,
        dur,
        cx,
        lad,
        cfg.chunk_s,
        f"synth(seed={cfg.seed})",
    )
    release = np.full(cfg.n_titles, np.nan)
    release[:n_rel] = rel_time
    return Workload(
        trace=trace,
        ladder=lad,
        title_ids=tids,
        request_title=req_title,
        request_rendition=req_rend,
        title_duration_s=dur,
        title_complexity=cx,
        title_release_s=release,
        chunk_s=cfg.chunk_s,
    )
