"""The columnar dataset model: members, titles and events, and the aggregated interaction matrix.

A :class:`Dataset` holds three pandas tables:

``events``
    one row per event, columns ``member_id`` (str), ``title_id`` (str), ``timestamp`` (int64 unix seconds,
    0 when unknown), ``kind`` (``rating`` | ``thumb`` | ``play``), ``value`` (float: the rating, +1/-1 for a
    thumb, for a play the position it reached in seconds, NaN when unknown) and ``fraction`` (float in
    [0, 1]: for a play, the position it reached over the title's length, as the service records plays, so a
    play from the start covered that much and a resumed play that ends at 1.0 finished the title; NaN for
    other kinds).
``titles``
    indexed by ``title_id`` (str); columns ``name``, ``genres`` (``|``-separated), ``year`` (nullable Int64),
    ``kind`` (``movie`` | ``series`` | …) and ``released`` (unix seconds, nullable Int64).
``members``
    indexed by ``member_id`` (str); column ``name``.

Ids are strings everywhere, so that files with numeric and textual ids behave alike.

:meth:`Dataset.interactions` aggregates events into one entry per (member, title) pair, in index space, for
the models: see :mod:`reelkit.data.confidence` for how implicit signals become weights.
"""

from __future__ import annotations

import os
import re
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from reelkit._files import existing_ancestor, naming_output, recover_folder, staging_folder, swap_in_folder
from reelkit.data._columns import RATING_NAMES, dtype_kinds, fields_from_header, norm_name, warn_unused
from reelkit.data.confidence import (
    SAMPLE_FRACTION,
    SAMPLE_SECONDS,
    ConfidenceConfig,
    aggregate_events,
    rated_under,
)
from reelkit.errors import (
    DataFormatError,
    DuplicateEventsWarning,
    EmptyDataError,
    MissingColumnsError,
    RatingScaleWarning,
    ReelkitWarning,
    TimestampUnitWarning,
    UnknownIdError,
)

__all__ = ["EVENT_COLUMNS", "EVENT_KINDS", "MAX_RATING", "Dataset", "Interactions", "epoch_seconds"]

EVENT_KINDS: tuple[str, ...] = ("rating", "thumb", "play")
#: The largest rating (either sign) taken: past any rating scale, and far inside the float32 the models hold.
MAX_RATING = 1e6
EVENT_COLUMNS: tuple[str, ...] = ("member_id", "title_id", "timestamp", "kind", "value", "fraction")
TITLE_COLUMNS: tuple[str, ...] = ("name", "genres", "year", "kind", "released")


def _as_id(series: pd.Series) -> pd.Series:
    """Ids as plain strings; integral floats (a typed column: Parquet, a frame) lose their ``.0`` so ``1.0``
    and ``1`` are the same id; text ids are kept as written ('1.0' in a CSV stays '1.0': a store may hold
    them so). A missing id (in any column type: ``astype(str)`` keeps None and NaN, whose events then went
    to another member) is an error."""
    if series.isna().any():
        raise EmptyDataError("an id column has missing values; every event needs a member and a title id")
    if pd.api.types.is_float_dtype(series.dtype):
        whole = series == np.floor(series)
        if bool(whole.all()) and float(series.abs().max()) < 2.0**63:
            return series.astype(np.int64).astype(str)
        # value by value: 7.0 is '7' whatever the other rows hold (one 9.5 made it '7.0', so a train file
        # and a test file converted apart disagreed on member 7); beyond 64 bits each float's exact integer
        return series.map(lambda v: str(int(v)) if v == np.floor(v) else str(v))
    return series.astype(str)


def datetime_to_unix(col: pd.Series) -> pd.Series:
    """Datetimes (naive ones taken as UTC) as whole unix seconds, nullable ``Int64``."""
    ts = pd.to_datetime(col, utc=True)
    # the epoch in seconds, so that a date outside the nanosecond range (before 1677) is not converted to it
    secs = ((ts - pd.Timestamp(0, tz="UTC").as_unit("s")) // pd.Timedelta(seconds=1)).astype("Int64")
    return pd.Series(secs.to_numpy(), index=col.index, dtype="Int64")


#: Unix times at or above 1e11 s (the year 5138) are in smaller units: (lower bound, divisor, name).
_TIME_UNITS = ((1e17, 10**9, "nanoseconds"), (1e14, 10**6, "microseconds"), (1e11, 10**3, "milliseconds"))


def epoch_seconds(ts: np.ndarray, source: str, *, whole: bool = True) -> np.ndarray:
    """Numeric timestamps as unix seconds: all in milli-, micro- or nanoseconds are divided (with a
    :class:`~reelkit.errors.TimestampUnitWarning`); a mix of units is an error. ``whole=False`` keeps the
    fractions of a second (float seconds, as request traces hold them)."""
    set_ = ts[ts != 0]
    if len(set_) and set_.min() >= 19000101 and set_.max() <= 21001231 and np.all(set_ == np.floor(set_)):
        # 20210304 as a date, written as a number: read as unix seconds it is 1970-08-23, in silence
        day, month = set_ % 100, (set_ // 100) % 100
        if np.all((day >= 1) & (day <= 31) & (month >= 1) & (month <= 12)):
            warnings.warn(
                f"{source}: timestamps such as {int(set_.max())} look like dates written YYYYMMDD; they are "
                "read as unix seconds (1970); write them as dates (2021-03-04) if they are dates",
                TimestampUnitWarning,
                stacklevel=3,
            )
    if len(set_) == 0 or set_.max() < 1e11:
        return ts
    for lower, div, name in _TIME_UNITS:
        if set_.max() >= lower:
            upper = lower * 1000
            if set_.min() >= lower and set_.max() < upper:  # every one of them in this unit
                warnings.warn(
                    f"{source}: timestamps read as {name} (e.g. {int(set_.max())}) and converted to seconds",
                    TimestampUnitWarning,
                    stacklevel=3,
                )
                if not whole:
                    return np.asarray(ts / div, dtype=np.float64)
                return np.asarray(ts // div, dtype=np.int64)
            break
    raise DataFormatError(
        f"timestamps mix units: from {int(set_.min())} to {int(set_.max())}; give unix seconds (a value from "
        "1e11 up reads as milli-, micro- or nanoseconds only when all of them do)",
        path=source,
    )


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _dates(given: pd.Series, fmt: str | None) -> pd.Series | None:
    """``given`` parsed as dates in one format (``None``: the one pandas infers from the first), or ``None``
    when pandas refuses the format outright."""
    try:
        with warnings.catch_warnings():  # "could not infer format": then it is each date on its own
            warnings.simplefilter("ignore", UserWarning)
            return pd.to_datetime(given, errors="coerce", utc=True, format=fmt)
    except (ValueError, TypeError):
        return None


#: A number written with a decimal comma (a European spreadsheet's 3,5), not a date (pandas read 3,5 as a
#: date in year 1)
_DECIMAL_COMMA = re.compile(r"\s*-?\d+,\d+\s*")
_DAY_MONTH = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-]\d{2,4}\b")


def _warn_if_day_month_ambiguous(given: pd.Series, dates: pd.Series, source: str | None) -> None:
    """Warn when every date of a column reads day first as well as month first (``04/03/2021``): the
    column's first date chose one, and a European file whose days are all 12 or less was read months off in
    silence."""
    texts = given.dropna().astype(str)
    parts = texts.str.extract(_DAY_MONTH)
    if len(texts) == 0 or parts.isna().any().any():
        return
    a, b = parts[0].astype(int), parts[1].astype(int)
    if (a > 12).any() or (b > 12).any() or (a == b).all():
        return
    first = texts.iloc[0].strip()
    parsed = dates.dropna()
    if len(parsed) == 0:
        return
    month_first = int(parsed.iloc[0].month) == int(a.iloc[0])
    reading = "month first (mm/dd)" if month_first else "day first (dd/mm)"
    warnings.warn(
        f"{source + ': ' if source else ''}dates such as {first!r} read {reading}, as the column's first "
        f"date suggests ({parsed.iloc[0]:%Y-%m-%d}); every date there reads either way: write them as ISO "
        "dates (2021-03-04) to be sure",
        ReelkitWarning,
        stacklevel=4,
    )


def _to_unix_seconds(col: pd.Series, source: str | None = None) -> tuple[pd.Series, np.ndarray, str]:
    """Numbers as they are; otherwise dates parsed to unix seconds, in one format for the whole column.
    Returns values, a bad-value mask and what is wrong with the first bad value."""
    raw = col.astype(str)
    filled = (raw.str.strip() != "").to_numpy()
    given = raw.where(filled, None)
    num = pd.to_numeric(given, errors="coerce")
    bad = num.isna().to_numpy() & filled
    if not bad.any() or _is_number(str(raw[bad].iloc[0])):
        return num.astype("float64"), bad, "a number (unix seconds) or a date"
    if raw[bad].str.fullmatch(_DECIMAL_COMMA).any():
        return num.astype("float64"), bad, "a number (a decimal comma: write it with a point, 3.5)"
    # one format for the column: ISO 8601 (of any precision), else the one pandas infers from the first
    # date. Each date on its own ("mixed") read 01/02/2020 month first and 13/02/2020 day first.
    tried = [(d, fmt) for fmt in ("ISO8601", None) if (d := _dates(given, fmt)) is not None]
    if not tried:
        return num.astype("float64"), bad, "a number (unix seconds) or a date"
    dates, fmt = min(tried, key=lambda t: int((t[0].isna().to_numpy() & filled).sum()))  # the first on ties
    date_bad = dates.isna().to_numpy() & filled
    if date_bad.sum() >= bad.sum():  # numbers read more of it: the dates are the odd ones
        mixed = bool(num.notna().any() and dates.notna().to_numpy()[bad].any())
        why = "a number like the others (the column mixes unix seconds and dates)" if mixed else None
        return num.astype("float64"), bad, why or "a number (unix seconds) or a date"
    if fmt is None:
        _warn_if_day_month_ambiguous(given, dates, source)
    iso = "an ISO 8601 date like the others" if fmt == "ISO8601" else None  # name the format that read it
    why = iso or "a date in the format of the column's first date"
    if date_bad.any():
        each = _dates(given, "mixed")
        if each is not None and not (each.isna().to_numpy() & filled).any():  # each parses: formats differ
            why = (
                iso or "in the format of the column's first date"
            ) + " (one format a column: 2020-02-13 is safe)"
        elif num.notna().to_numpy()[date_bad].any():
            why = "a date like the others (the column mixes unix seconds and dates)"
    # whole seconds as datetime_to_unix counts them (a date before 1677 or after 2262 included)
    secs = datetime_to_unix(dates).astype("float64")
    return pd.Series(secs.to_numpy(), index=col.index), date_bad, why


def _numbers(col: pd.Series, field: str, source: str) -> pd.Series:
    """A numeric column (a value, a fraction) as numbers; text that is no number (a word) is refused naming
    the row, as a Parquet file's is (a raw pandas "Unable to parse string")."""
    if pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
        return col
    num = pd.to_numeric(col, errors="coerce")
    bad = (num.isna() & col.notna()).to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        shown = str(col.iloc[i])[:40]
        raise DataFormatError(f"row {i + 1}: {field} {shown!r} is not a number; give numbers", path=source)
    return num


def normalize_events(events: pd.DataFrame, *, source: str = "events") -> pd.DataFrame:
    """Return ``events`` with the canonical columns and dtypes; missing optional columns are filled.

    Columns are found by the names a file's header may use (:data:`~reelkit.data.loaders.EVENT_ALIASES`:
    ``user``/``userId`` is the member, ``item``/``movieId`` the title, ``rating`` the value; case, ``_``,
    ``-`` and spaces ignored; a canonical name wins over an alias, and a column named exactly as its field
    over its other names: ``member_id`` beside ``memberId`` is read, where a file refuses the pair), and,
    as for a file, a numeric column no name matches while there is no rating or time is named in a
    :class:`~reelkit.errors.ReelkitWarning`; other columns are ignored.
    ``member_id`` and ``title_id`` are required; ``kind`` defaults to ``rating`` when a ``value`` is given
    and to ``play`` otherwise (a bare member-title list is implicit feedback; a value beside fractions
    watched is a play's position unless its column is called ``rating`` or ``score``); a datetime
    ``timestamp`` is converted to unix seconds, and dates as text (``pd.read_csv``'s) as a file's are,
    ``timestamp`` to 0 (an empty one in a given column is an error), ``fraction`` to NaN.
    """
    names = [str(c) for c in events.columns]
    fields = fields_from_header(names, source, None, exact_wins=True)
    kinds = dtype_kinds(events)
    value_named_rating = any(
        f == "value" and norm_name(n) in RATING_NAMES for n, f in zip(names, fields, strict=True)
    )
    if fields != names:  # named otherwise than canonically: the columns as their fields, others left out
        events = pd.DataFrame(
            {f: events.iloc[:, i] for i, f in enumerate(fields) if f is not None}, index=events.index
        )
    missing = [c for c in ("member_id", "title_id") if c not in events.columns]
    if missing:
        raise MissingColumnsError(
            f"missing column(s) {', '.join(missing)}; have {', '.join(names) or 'none'}",
            path=source,
        )
    warn_unused(names, fields, source, kinds, frame=True, stacklevel=4)
    out = pd.DataFrame(
        {
            "member_id": _as_id(events["member_id"]),
            "title_id": _as_id(events["title_id"]),
        }
    )
    n = len(out)
    if "timestamp" in events.columns and events["timestamp"].isna().any():
        # read as 0 it was the oldest event: a member's re-rating lost to the rating it replaced
        i = int(np.argmax(events["timestamp"].isna().to_numpy()))
        raise DataFormatError(
            f"row {i + 1}: empty timestamp; give every event a time, or leave the column out (all at 0)",
            path=source,
        )
    if "timestamp" not in events.columns:
        out["timestamp"] = np.zeros(n, dtype=np.int64)
    elif pd.api.types.is_datetime64_any_dtype(events["timestamp"]):
        out["timestamp"] = datetime_to_unix(events["timestamp"]).astype(np.int64).to_numpy()
    else:
        stamps = events["timestamp"]
        if not (pd.api.types.is_numeric_dtype(stamps.dtype) or pd.api.types.is_bool_dtype(stamps.dtype)):
            # dates as text (pd.read_csv's): parsed as a file's are, one format for the column
            stamps, undated, what = _to_unix_seconds(stamps, source)
            if undated.any():
                i = int(np.argmax(undated))
                shown = str(events["timestamp"].iloc[i])[:40]
                raise DataFormatError(f"row {i + 1}: timestamp {shown!r} is not {what}", path=source)
            if stamps.isna().any():  # blank text, as an empty cell (see above)
                i = int(np.argmax(stamps.isna().to_numpy()))
                raise DataFormatError(
                    f"row {i + 1}: empty timestamp; give every event a time, or leave the column out (all "
                    "at 0)",
                    path=source,
                )
        if stamps.dtype == object or (len(stamps) and float(stamps.abs().max()) >= 2.0**63):
            # beyond 64 bits (1e30, 99999999999999999999999): it wrapped to -2^63, the earliest event
            raise DataFormatError(
                "a timestamp is beyond any date (over 2^63); give unix seconds or dates", path=source
            )
        if pd.api.types.is_float_dtype(stamps.dtype) and np.isinf(stamps.to_numpy()).any():
            raise DataFormatError("a timestamp is infinite; give unix seconds or dates", path=source)
        out["timestamp"] = epoch_seconds(stamps.astype(np.int64).to_numpy(), source)
    if "kind" in events.columns:
        kind = events["kind"].astype(str).str.lower()
        bad = ~kind.isin(EVENT_KINDS)
        if bad.any():
            first = kind[bad].iloc[0]
            raise EmptyDataError(
                f"unknown event kind {first!r}; use one of {', '.join(EVENT_KINDS)}", path=source
            )
        out["kind"] = pd.Categorical(kind.to_numpy(), categories=list(EVENT_KINDS))
    else:  # one kind for all: codes directly (a list of n strings is slow for tens of millions of rows)
        # a value beside fractions watched is a position in seconds (a play log), not a rating
        fractions = "fraction" in events.columns and bool(events["fraction"].notna().any())
        default = "rating" if "value" in events.columns and (value_named_rating or not fractions) else "play"
        codes = np.full(n, EVENT_KINDS.index(default), dtype=np.int8)
        out["kind"] = pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(list(EVENT_KINDS)))
    out["value"] = (
        _numbers(events["value"], "value", source).astype(np.float64).to_numpy()
        if "value" in events.columns
        else np.full(n, np.nan)
    )
    out["fraction"] = (
        _numbers(events["fraction"], "fraction", source).astype(np.float64).to_numpy()
        if "fraction" in events.columns
        else np.full(n, np.nan)
    )
    # what the delimited reader refuses row by row, for every source (a Parquet file, a frame)
    value, fraction = out["value"].to_numpy(), out["fraction"].to_numpy()
    if np.isinf(value).any():  # an infinite rating made the scale (4, inf) and every weight 1
        raise DataFormatError("a value is infinite; ratings and thumbs are finite numbers", path=source)
    rating = (out["kind"] == "rating").to_numpy()
    if np.isnan(value[rating]).any():  # such a pair had weight 0 and left training unseen
        row = int(np.flatnonzero(rating & np.isnan(value))[0])
        raise DataFormatError(
            f"a rating event (row {row + 1}) has no value; give each rating its number", path=source
        )
    huge = rating & (np.abs(value) > MAX_RATING)
    if huge.any():  # 1e39 is inf as the float32 the models hold: a model trained that no load would take
        row = int(np.flatnonzero(huge)[0])
        raise DataFormatError(
            f"rating {float(value[row]):g} (row {row + 1}) is beyond any rating scale (at most "
            f"{MAX_RATING:,.0f} either way); fix or remove it",
            path=source,
        )
    thumb = (out["kind"] == "thumb").to_numpy()
    bad_thumb = value[thumb][~np.isin(value[thumb], (1.0, -1.0))]
    if len(bad_thumb):  # a 0 was no thumb at all and a 7 an up-thumb
        raise DataFormatError(
            f"thumb value {float(bad_thumb[0]):g}: a thumb is 1 (up) or -1 (down)", path=source
        )
    # outside 0-1 beyond rounding (0.1 * 3 / 0.3 is 1.0000000000000002: clipped, not refused)
    bad = ~np.isnan(fraction) & ((fraction < -1e-9) | (fraction > 1 + 1e-9))
    if bad.any():  # 1.5 was clipped to 1 where the reader refuses it
        raise DataFormatError(
            f"fraction {float(fraction[bad][0])!r} is not a share of the title watched (0 to 1)", path=source
        )
    out["fraction"] = np.clip(fraction, 0.0, 1.0)
    return out.reset_index(drop=True)


def normalize_titles(titles: pd.DataFrame | None, title_ids: pd.Index | None = None) -> pd.DataFrame:
    """Canonical titles table indexed by string ``title_id``; adds rows for ids seen only in events."""
    if titles is None:
        titles = pd.DataFrame(index=pd.Index([], name="title_id", dtype=str))
    if titles.index.name != "title_id":
        if "title_id" in titles.columns:
            titles = titles.set_index("title_id")
        else:
            titles = titles.copy()
            titles.index.name = "title_id"
    titles = titles.copy()
    titles.index = pd.Index(_as_id(titles.index.to_series()).to_numpy(), name="title_id")
    if title_ids is not None:
        extra = title_ids.difference(titles.index)
        if len(extra):
            titles = pd.concat([titles, pd.DataFrame(index=pd.Index(extra, name="title_id"))])
    out = pd.DataFrame(index=titles.index)
    out["name"] = (
        titles["name"].astype(object) if "name" in titles else pd.Series(index=titles.index, dtype=object)
    )
    out["name"] = out["name"].where(out["name"].notna(), "Title " + out.index.to_series()).astype(str)
    out["genres"] = titles["genres"].fillna("").astype(str) if "genres" in titles else ""
    out["year"] = (
        pd.to_numeric(titles["year"], errors="coerce").astype("Int64")
        if "year" in titles
        else pd.array([pd.NA] * len(out), dtype="Int64")
    )
    out["kind"] = titles["kind"].fillna("movie").astype(str) if "kind" in titles else "movie"
    out["released"] = (
        pd.to_numeric(titles["released"], errors="coerce").astype("Int64")
        if "released" in titles
        else pd.array([pd.NA] * len(out), dtype="Int64")
    )
    return out


@dataclass(frozen=True)
class Interactions:
    """Aggregated (member, title) interactions in index space: what models are trained on.

    Row ``k`` of the coordinate arrays says member ``member_ids[rows[k]]`` interacted with title
    ``title_ids[cols[k]]`` with confidence weight ``weight[k]`` (> 0), last at ``timestamp[k]``, with explicit
    rating ``rating[k]`` (NaN when none). Entries are unique per (row, col) and sorted by (row, col).
    """

    member_ids: np.ndarray
    title_ids: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    weight: np.ndarray
    rating: np.ndarray
    timestamp: np.ndarray
    titles: pd.DataFrame = field(repr=False)
    rating_scale: tuple[float, float] = (1.0, 5.0)
    #: Ratings under this were dropped (``Dataset.interactions(min_rating=...)``): a model folds a new
    #: member's history in the same way.
    min_rating: float | None = None
    #: Pairs the member has seen that are not interactions (a thumbs-down, a rating under ``min_rating``),
    #: in the same index space (rows, cols): recommenders do not recommend them again.
    seen_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32), repr=False)
    seen_cols: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32), repr=False)
    #: Per entry: whether every event of the pair is a sample play (an autoplay preview, a misclick; see
    #: :func:`reelkit.data.confidence.sample_plays`): a weak interaction, not a viewing. ``None``: none is.
    sample_only: np.ndarray | None = field(default=None, repr=False)
    #: Per entry: the pair's latest play that is not a sample (:data:`~reelkit.data.confidence.NO_PLAY`
    #: for a pair of ratings or thumbs only): when the title was last watched. ``None``: not known (the
    #: entries' ``timestamp`` stands for it).
    play_timestamp: np.ndarray | None = field(default=None, repr=False)
    #: Per entry: the pair's last thumb is up and came after its last rating (a low rating it overrules is
    #: a reason for recommendations again). ``None``: no entry's is.
    thumb_up_last: np.ndarray | None = field(default=None, repr=False)

    def viewed(self) -> np.ndarray:
        """Per entry: whether the pair was viewed (it is not made of sample plays only)."""
        if self.sample_only is None:
            return np.ones(self.nnz, dtype=bool)
        return ~np.asarray(self.sample_only, dtype=bool)

    def seen_matrix(self) -> sp.csr_matrix:
        """Members x titles boolean CSR of the seen pairs that are not interactions (see ``seen_rows``)."""
        data = np.ones(len(self.seen_rows), dtype=np.bool_)
        m = sp.csr_matrix((data, (self.seen_rows, self.seen_cols)), shape=(self.n_members, self.n_titles))
        m.sum_duplicates()
        m.sort_indices()
        return m

    @property
    def n_members(self) -> int:
        return int(self.member_ids.shape[0])

    @property
    def n_titles(self) -> int:
        return int(self.title_ids.shape[0])

    @property
    def nnz(self) -> int:
        return int(self.rows.shape[0])

    def matrix(
        self, values: Literal["binary", "viewed", "weight", "rating", "timestamp", "thumb_up_last"] = "weight"
    ) -> sp.csr_matrix:
        """Members x titles CSR matrix (float32; float64 for timestamps) of the chosen values.

        ``rating`` keeps only entries with an explicit rating; ``viewed`` is ``binary`` without the pairs
        made of sample plays only (see :meth:`viewed`); ``thumb_up_last`` is 1 where that flag is set.
        """
        rows, cols = self.rows, self.cols
        if values == "binary":
            data: np.ndarray = np.ones(self.nnz, dtype=np.float32)
        elif values == "viewed":
            keep = self.viewed()
            rows, cols, data = rows[keep], cols[keep], np.ones(int(keep.sum()), dtype=np.float32)
        elif values == "weight":
            data = self.weight.astype(np.float32, copy=False)
        elif values == "rating":
            keep = ~np.isnan(self.rating)
            rows, cols, data = rows[keep], cols[keep], self.rating[keep].astype(np.float32)
        elif values == "timestamp":
            data = self.timestamp.astype(np.float64)
        elif values == "thumb_up_last":
            keep = np.zeros(self.nnz, dtype=bool) if self.thumb_up_last is None else self.thumb_up_last
            rows, cols, data = rows[keep], cols[keep], np.ones(int(keep.sum()), dtype=np.float32)
        else:  # pragma: no cover - guarded by the Literal type
            raise ValueError(f"unknown values {values!r}")
        m = sp.csr_matrix((data, (rows, cols)), shape=(self.n_members, self.n_titles))
        m.sort_indices()
        return m


DATASET_FILES = frozenset({"events.parquet", "titles.parquet", "members.parquet"})


def check_dataset_output(folder: Path) -> None:
    """:meth:`Dataset.save` replaces ``folder`` whole: refuse a file, or a folder holding anything but an
    earlier dataset's files (a user's folder given as ``-o`` would otherwise be deleted with its files)."""
    if folder.is_file() or (folder.exists() and not folder.is_dir()):
        raise DataFormatError(
            "is a file; a dataset is written as a folder: give a new folder name", path=str(folder)
        )
    above = existing_ancestor(folder.parent)
    if above.exists() and not above.is_dir():  # said only "File exists", after the work
        raise DataFormatError(
            f"{above} is a file, not a folder; give a folder path for the dataset", path=str(folder)
        )
    if folder.is_dir():
        other = sorted(p.name for p in folder.iterdir() if p.name not in DATASET_FILES)
        if other:
            raise DataFormatError(
                f"is a folder with other files ({', '.join(other[:3])}{', ...' if len(other) > 3 else ''}), "
                "which writing a dataset there would delete; give a new or empty folder",
                path=str(folder),
            )


def _warn_stretched_scale(rated: np.ndarray) -> None:
    """Warn when the scale taken from the data (its lowest and highest rating) is set by a few ratings far
    outside the rest: a 50 in a 1-5 file makes every real rating look low, flattening the confidence
    weights (5 stars: 1.15 instead of 2) and a rating model's clipping range."""
    if len(rated) < 20:
        return
    # order statistics, not interpolated ones: in a small file (under ~200 ratings) the interpolated 99.5%
    # quantile lies between the wild rating and the next, and hid the one "50 in a 1-5 file" it is for
    lo = float(np.quantile(rated, 0.005, method="higher"))
    hi = float(np.quantile(rated, 0.995, method="lower"))
    core = hi - lo
    if core <= 0:  # nearly every rating the same (binary, or all 5s): nothing to compare the rest against
        return
    out = (rated < lo - core) | (rated > hi + core)
    if out.any():
        warnings.warn(
            f"{int(out.sum())} rating(s) lie far outside the others ({rated.min():g} to {rated.max():g}, "
            f"where 99% lie in {lo:g} to {hi:g}); the rating scale is taken from the lowest and highest "
            "rating, so check those rows (the library takes rating_scale=(lo, hi) too)",
            RatingScaleWarning,
            stacklevel=3,
        )


@dataclass
class Dataset:
    """Members, titles and events; see the module docstring for the columns."""

    events: pd.DataFrame
    titles: pd.DataFrame
    members: pd.DataFrame

    @classmethod
    def from_events(
        cls,
        events: pd.DataFrame,
        titles: pd.DataFrame | None = None,
        members: pd.DataFrame | None = None,
        *,
        source: str = "events",
        strict_titles: bool = False,
    ) -> Dataset:
        """Build a validated dataset.

        Exact duplicate events (same member, title, kind, timestamp, value and fraction) are dropped with a
        :class:`~reelkit.errors.DuplicateEventsWarning`. When ``strict_titles`` is true, events that name a
        title missing from ``titles`` are an error; otherwise such titles are added with placeholder names.
        """
        ev = normalize_events(events, source=source)
        if len(ev) == 0:
            raise EmptyDataError("no events: the file or table has no data rows", path=source)
        # a play to 30% and one to the end at the same time are two plays, not one (fraction in the key)
        key = ["member_id", "title_id", "kind", "timestamp", "value", "fraction"]
        dup = ev.duplicated(subset=key, keep="first")
        if dup.any():
            warnings.warn(
                f"{source}: dropped {int(dup.sum())} exact duplicate event(s) (same member, title, kind, "
                "timestamp, value and fraction)",
                DuplicateEventsWarning,
                stacklevel=2,
            )
            ev = ev.loc[~dup].reset_index(drop=True)
        seen_titles = pd.Index(pd.unique(ev["title_id"]))
        if strict_titles and titles is not None:
            cat = normalize_titles(titles)
            unknown = seen_titles.difference(list(cat.index))
            if len(unknown):
                raise UnknownIdError(
                    f"{source}: {len(unknown)} event title id(s) are not in the catalog, e.g. "
                    f"{', '.join(map(str, unknown[:5]))}; add them to the titles file or drop those events"
                )
        tt = normalize_titles(titles, seen_titles)
        mem_ids = pd.Index(pd.unique(ev["member_id"]), name="member_id")
        if members is None:
            mm = pd.DataFrame({"name": ["Member " + m for m in mem_ids]}, index=mem_ids)
        else:
            mm = members.copy()
            if mm.index.name != "member_id" and "member_id" in mm.columns:
                mm = mm.set_index("member_id")
            mm.index = pd.Index(_as_id(mm.index.to_series()).to_numpy(), name="member_id")
            extra = mem_ids.difference(list(mm.index))
            if len(extra):
                mm = pd.concat([mm, pd.DataFrame(index=pd.Index(extra, name="member_id"))])
            if "name" not in mm:
                mm["name"] = np.nan
            mm["name"] = mm["name"].where(mm["name"].notna(), "Member " + mm.index.to_series()).astype(str)
            # other member columns (e.g. the demo's ground-truth community) are kept as they are
        return cls(events=ev, titles=tt, members=mm)

    @property
    def n_events(self) -> int:
        return len(self.events)

    def with_events(self, events: pd.DataFrame) -> Dataset:
        """The same catalog and members with other (already normalised) events, e.g. a split."""
        return Dataset(events=events.reset_index(drop=True), titles=self.titles, members=self.members)

    def interactions(
        self,
        *,
        confidence: ConfidenceConfig | None = None,
        min_rating: float | None = None,
        all_titles: bool = False,
        rating_scale: tuple[float, float] | None = None,
        sample_fraction: float = SAMPLE_FRACTION,
        sample_seconds: float = SAMPLE_SECONDS,
    ) -> Interactions:
        """Aggregate events into one entry per (member, title); see :mod:`reelkit.data.confidence`.

        ``min_rating`` drops pairs whose explicit rating is below it (pairs with no rating are kept, and so
        are those whose low rating a later thumb up overrules).
        ``all_titles`` keeps every catalog title as a column, not only those with interactions.
        ``sample_fraction`` / ``sample_seconds``: the thresholds of
        :func:`~reelkit.data.confidence.sample_plays`.
        """
        cfg = confidence or ConfidenceConfig()
        ev = self.events
        if rating_scale is None:
            rated = ev.loc[ev["kind"] == "rating", "value"].dropna()
            rating_scale = (float(rated.min()), float(rated.max())) if len(rated) else (1.0, 5.0)
            if rating_scale[0] == rating_scale[1]:
                rating_scale = (min(rating_scale[0], 0.0), max(rating_scale[1], 1.0))
            _warn_stretched_scale(rated.to_numpy(np.float64))
        everything = aggregate_events(
            ev, cfg, rating_scale, sample_fraction=sample_fraction, sample_seconds=sample_seconds
        )
        agg = everything
        if min_rating is not None:  # a rating under it followed by a thumb up no longer stands
            under = rated_under(
                agg["rating"].to_numpy(), agg["thumb"].to_numpy(), agg["thumb_last"].to_numpy(), min_rating
            )
            agg = agg.loc[~under]
        agg = agg.loc[agg["weight"] > 0]
        dropped = everything.loc[everything.index.difference(agg.index)]
        if len(agg) == 0:
            lo, hi = rating_scale
            why = ["a thumbs-down"]
            if cfg.low_rating == "dislike":
                why.append(f"a rating in the lower half of the {lo:g}-{hi:g} scale (a dislike)")
            if min_rating is not None:
                why.append(f"a rating under min_rating {min_rating:g} (--min-rating)")
            raise EmptyDataError(
                f"no positive interactions left after aggregation: each pair is {' or '.join(why)}, or "
                "weighs nothing"
            )
        member_codes, member_ids = pd.factorize(agg["member_id"], sort=True)
        if all_titles:
            title_ids = np.sort(self.titles.index.to_numpy().astype(str))
            title_codes = pd.Index(title_ids).get_indexer(agg["title_id"])
        else:
            title_codes, tids = pd.factorize(agg["title_id"], sort=True)
            title_ids = np.asarray(tids, dtype=str)
        order = np.lexsort((title_codes, member_codes))
        title_ids_arr = np.asarray(title_ids, dtype=str)
        seen_r = pd.Index(np.asarray(member_ids, dtype=str)).get_indexer(dropped["member_id"].astype(str))
        seen_c = pd.Index(title_ids_arr).get_indexer(dropped["title_id"].astype(str))
        both = (seen_r >= 0) & (seen_c >= 0)
        return Interactions(
            member_ids=np.asarray(member_ids, dtype=str),
            title_ids=title_ids_arr,
            rows=member_codes[order].astype(np.int32),
            cols=np.asarray(title_codes)[order].astype(np.int32),
            weight=agg["weight"].to_numpy(np.float32)[order],
            rating=agg["rating"].to_numpy(np.float32)[order],
            timestamp=agg["timestamp"].to_numpy(np.int64)[order],
            titles=self.titles.reindex(title_ids_arr),
            rating_scale=rating_scale,
            min_rating=None if min_rating is None else float(min_rating),
            seen_rows=seen_r[both].astype(np.int32),
            seen_cols=seen_c[both].astype(np.int32),
            sample_only=agg["sample_only"].to_numpy(bool)[order],
            play_timestamp=agg["play_timestamp"].to_numpy(np.int64)[order],
            thumb_up_last=(agg["thumb_last"].to_numpy(bool) & (agg["thumb"].to_numpy() > 0))[order],
        )

    # ------------------------------------------------------------------ persistence
    def save(self, folder: str | Path) -> None:
        """Write the three tables as Parquet files into ``folder``, all or nothing: they are written and
        fsynced in a temporary folder beside it, which then replaces ``folder`` by renames."""
        folder = Path(folder)
        check_dataset_output(folder)
        with naming_output(folder):  # a full disk names the folder given (it named no file, and exit 1)
            folder.parent.mkdir(parents=True, exist_ok=True)
            recover_folder(folder)  # what a killed save left: the old folder put back, its staging removed
            tmp = staging_folder(folder)
            try:
                for name, frame in (
                    ("events", self.events),
                    ("titles", self.titles),
                    ("members", self.members),
                ):
                    frame.to_parquet(tmp / f"{name}.parquet")
                    with open(tmp / f"{name}.parquet", "rb") as fh:
                        os.fsync(fh.fileno())
                swap_in_folder(tmp, folder)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise

    @classmethod
    def load(cls, folder: str | Path) -> Dataset:
        """Read a dataset written by :meth:`save`."""
        import pyarrow as pa

        folder = Path(folder)
        if not folder.exists():  # a save killed between its renames left the complete old folder beside it
            recover_folder(folder)
        frames: list[pd.DataFrame] = []
        for name in ("events", "titles", "members"):
            path = folder / f"{name}.parquet"
            try:
                frames.append(pd.read_parquet(path))
            except FileNotFoundError as exc:
                raise EmptyDataError(
                    "not a reelkit dataset folder (needs events/titles/members.parquet); "
                    "create one with 'reelkit data demo' or 'reelkit data convert'",
                    path=str(folder),
                ) from exc
            except (pa.ArrowInvalid, OSError) as exc:  # cut short or overwritten: as a lone file says it
                raise DataFormatError(f"cannot read as Parquet: {exc}", path=str(path)) from None
        events, titles, members = frames
        return cls.from_events(events, titles, members, source=str(folder))
