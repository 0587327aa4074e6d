"""Request traces: one typed container of numpy arrays, and readers/writers for CSV, Parquet and libCacheSim's
oracleGeneral binary format.

A trace is a time-ordered list of requests ``(timestamp, object, size)``, optionally tagged with a region.
Object ids are remapped to dense integers ``0..n_objects-1`` (in order of first request) so that simulators
can use plain arrays instead of hash maps; :attr:`RequestTrace.original_ids` maps them back.

File formats
------------
CSV
    header ``timestamp,object_id,size_bytes`` (an optional fourth column ``region``; names in any case);
    ``object_id`` may be any text or integer. ``timestamp`` is in seconds (unix or from any start); numbers
    all from 1e11 up are unix milli-, micro- or nanoseconds and are converted, with a
    :class:`~reelkit.errors.TimestampUnitWarning`, as the events reader converts them (a trace with a
    time below 1e9 is relative and read as it is).
Parquet
    the same columns (a datetime or duration ``timestamp`` column is read in seconds).
oracleGeneral (libCacheSim)
    little-endian packed records of 24 bytes: ``uint32 clock_time, uint64 obj_id, uint32 obj_size,
    int64 next_access_vtime`` where ``next_access_vtime`` is the index of the object's next request (-1 when
    there is none). Timestamps are whole seconds; sizes must fit in 32 bits. Files ending in
    ``.oracleGeneral``, ``.oracleGeneral.bin`` or ``.bin`` are read and written in this format.
"""

from __future__ import annotations

import gzip
import hashlib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from reelkit._files import atomic_path, check_input_file, csv_records, finish_commits
from reelkit.errors import ConfigError, DataFormatError, EmptyDataError, MissingColumnsError, ReelkitWarning

__all__ = [
    "TRACE_COLUMNS",
    "RequestTrace",
    "TraceFormat",
    "next_use",
    "read_trace",
    "trace_format",
    "write_trace",
]

TRACE_COLUMNS: tuple[str, str, str] = ("timestamp", "object_id", "size_bytes")
TraceFormat = Literal["csv", "parquet", "oracle"]

_ORACLE_DTYPE = np.dtype([("t", "<u4"), ("id", "<u8"), ("size", "<u4"), ("next", "<i8")])
_U32_MAX = 2**32 - 1


def next_use(objects: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """For each request, the index of the next request to the same object (``len(objects)`` when none)."""
    n = len(objects)
    out = np.full(n, n, dtype=np.int64)
    if n == 0:
        return out
    order = np.argsort(objects, kind="stable")
    same = objects[order[1:]] == objects[order[:-1]]
    out[order[:-1][same]] = order[1:][same]
    return out


@dataclass(frozen=True, eq=False)
class RequestTrace:
    """A request trace as parallel numpy arrays (build one with :meth:`from_arrays`).

    ``timestamps`` float64 seconds (replayed in array order, as libCacheSim does; :func:`read_trace` warns
    when a file's rows are out of time order, and a duration warm-up needs them in order); ``objects`` int64
    dense ids in
    ``0..n_objects-1``; ``sizes`` int64 bytes (>= 1); ``regions`` int64 region index per request or ``None``;
    ``original_ids`` the original id of each dense object (``original_ids[objects[i]]``).
    """

    timestamps: npt.NDArray[np.float64]
    objects: npt.NDArray[np.int64]
    sizes: npt.NDArray[np.int64]
    original_ids: npt.NDArray[np.generic]
    regions: npt.NDArray[np.int64] | None = None
    source: str = "trace"
    _next: list[npt.NDArray[np.int64]] = field(default_factory=list, repr=False, compare=False)

    @classmethod
    def from_arrays(
        cls,
        timestamps: npt.ArrayLike,
        object_ids: npt.ArrayLike,
        sizes: npt.ArrayLike,
        *,
        regions: npt.ArrayLike | None = None,
        source: str = "trace",
    ) -> RequestTrace:
        """Validate the columns and remap object ids to dense integers in order of first request."""
        ts = np.asarray(timestamps, dtype=np.float64)
        raw = np.asarray(object_ids)
        sz = np.asarray(sizes)
        n = len(ts)
        if raw.ndim != 1 or sz.ndim != 1 or ts.ndim != 1 or len(raw) != n or len(sz) != n:
            raise ConfigError("timestamps, object_ids and sizes must be 1-D arrays of one length")
        if n == 0:
            raise EmptyDataError("the trace has no requests", path=source)
        if not np.issubdtype(sz.dtype, np.number):
            raise DataFormatError("size_bytes must be numeric", path=source)
        bad = np.flatnonzero(~np.isfinite(ts))
        if len(bad):
            raise DataFormatError(f"request {bad[0]}: timestamp is not a finite number", path=source)
        # an empty or missing id (None, NaN) is no object: a CSV written with it would not read back
        if raw.dtype.kind in "USOf":
            blank = np.zeros(n, dtype=bool)
            if raw.dtype.kind in "USO":
                blank |= np.asarray(raw == (b"" if raw.dtype.kind == "S" else ""), dtype=bool)
            if raw.dtype.kind in "Of":
                blank |= np.asarray(pd.isna(raw), dtype=bool)
            empty = np.flatnonzero(blank)
            if len(empty):
                raise DataFormatError(f"request {empty[0]}: object_id is empty", path=source)
        if sz.dtype.kind in "iu":  # whole numbers already: only their range to check (a third of reading)
            out_of_range = int(sz.min()) < 1 or int(sz.max()) > 2**63 - 1
            bad = np.flatnonzero((sz < 1) | (sz > 2**63 - 1)) if out_of_range else np.zeros(0, np.int64)
        else:
            szf = sz.astype(np.float64)
            bad = np.flatnonzero(~np.isfinite(szf) | (szf < 1) | (szf != np.floor(szf)) | (szf >= 2.0**63))
        if len(bad):
            raise DataFormatError(
                f"request {bad[0]}: size_bytes must be a whole number from 1 to below 2^63 "
                f"(got {sz[bad[0]]})",
                path=source,
            )
        total = float(sz.sum(dtype=np.float64))
        if total >= 2.0**62:  # byte totals and hit counts are summed in 64-bit integers
            raise DataFormatError(
                f"the requests add up to {total:.3g} bytes, beyond the 2^62 that byte counts can "
                "sum to; give sizes in a larger unit (kB, MB)",
                path=source,
            )
        # dense ids in order of first request (deterministic and independent of the id type's sort order), by
        # hashing: a sort (np.unique, then ordering by first index) took most of reading a 5M-request trace
        codes, uniques = pd.factorize(raw, sort=False, use_na_sentinel=False)
        objects = np.asarray(codes, dtype=np.int64)
        original = np.asarray(uniques, dtype=raw.dtype) if raw.dtype.kind in "US" else np.asarray(uniques)
        reg: npt.NDArray[np.int64] | None = None
        if regions is not None:
            reg = np.asarray(regions).astype(np.int64)
            if reg.shape != (n,):
                raise ConfigError("regions must have one entry per request")
            if (reg < 0).any():
                raise DataFormatError("region must be a non-negative integer", path=source)
        return cls(
            timestamps=ts,
            objects=objects,
            sizes=sz.astype(np.int64),  # a copy: the caller's array may change after it was checked
            original_ids=original,
            regions=reg,
            source=source,
        )

    def __len__(self) -> int:
        return len(self.objects)

    @property
    def n_requests(self) -> int:
        return len(self.objects)

    @property
    def n_objects(self) -> int:
        return len(self.original_ids)

    @property
    def n_regions(self) -> int:
        """How many distinct regions the requests come from (0 without regions)."""
        return 0 if self.regions is None else len(np.unique(self.regions))

    def object_sizes(self) -> npt.NDArray[np.int64]:
        """Size of each dense object: the size of its first request."""
        out = np.zeros(self.n_objects, dtype=np.int64)
        # reversed assignment so that the first occurrence wins
        out[self.objects[::-1]] = self.sizes[::-1]
        return out

    def working_set_bytes(self) -> int:
        """Bytes of all distinct objects (what ``5%`` capacities refer to)."""
        return int(self.object_sizes().sum())

    def warn_if_sizes_change(self) -> int:
        """Warn (ReelkitWarning) when objects change size between requests, and return how many do: the
        simulators keep an object at the size it was admitted with and count a hit at the size requested (as
        libCacheSim does), and ``5%`` capacities count each object at its first size, so such a trace can
        show more bytes hit than the cache holds."""
        first = self.object_sizes()
        changed = np.flatnonzero(self.sizes != first[self.objects])
        if changed.size == 0:
            return 0
        n = len(np.unique(self.objects[changed]))
        k = int(changed[0])
        warnings.warn(
            f"{self.source or 'trace'}: {n:,} object(s) change size between requests (first: "
            f"{self.original_ids[self.objects[k]]}, {int(first[self.objects[k]])} then {int(self.sizes[k])} "
            "bytes); an object is kept at the size it was admitted with and a hit counts the bytes "
            "requested, as libCacheSim counts them, and capacities in % use each object's first size",
            ReelkitWarning,
            stacklevel=2,
        )
        return n

    def next_use(self) -> npt.NDArray[np.int64]:
        """Index of each request's next request to the same object (``n_requests`` when none); cached."""
        if not self._next:
            self._next.append(next_use(self.objects))
        return self._next[0]

    def slice(self, start: int, stop: int) -> RequestTrace:
        """Requests ``start:stop`` as a new trace (object ids remapped again)."""
        return RequestTrace.from_arrays(
            self.timestamps[start:stop],
            self.original_ids[self.objects[start:stop]],
            self.sizes[start:stop],
            regions=None if self.regions is None else self.regions[start:stop],
            source=self.source,
        )

    def to_frame(self) -> pd.DataFrame:
        """The trace as a table with the file columns (original ids)."""
        frame = pd.DataFrame(
            {
                "timestamp": self.timestamps,
                "object_id": self.original_ids[self.objects],
                "size_bytes": self.sizes,
            }
        )
        if self.regions is not None:
            frame["region"] = self.regions
        return frame


def trace_format(path: str | Path) -> TraceFormat:
    """The format a path's name implies: ``.csv`` (also ``.csv.gz``), ``.parquet``/``.pq``, or
    oracleGeneral."""
    name = Path(path).name.lower()
    if name.endswith((".csv", ".csv.gz", ".txt")):
        return "csv"
    if name.endswith((".parquet", ".pq")):
        return "parquet"
    if name.endswith((".oraclegeneral", ".oraclegeneral.bin", ".bin")):
        return "oracle"
    if name.endswith((".zst", ".gz", ".xz", ".bz2")):
        raise ConfigError(
            f"{path}: compressed traces other than .csv.gz are not read; decompress it first (e.g. zstd -d)"
        )
    raise ConfigError(
        f"{path}: cannot tell the trace format from the name; name it .csv, .parquet or .oracleGeneral "
        "(in Python, pass fmt=)"
    )


def _refuse_repeated_columns(names: list[str], path: Path, *, csv: bool) -> None:
    """Column names are matched ignoring case, so ``Timestamp`` and ``timestamp`` are one column twice."""
    twice = sorted({c for c in names if names.count(c) > 1})
    if twice:
        raise DataFormatError(
            f"column {', '.join(twice)} appears more than once; keep one of each",
            path=str(path),
            line=1 if csv else None,
        )
    cased: dict[str, list[str]] = {}
    for name in names:
        cased.setdefault(name.lower(), []).append(name)
    twice = [" and ".join(spelt) for spelt in cased.values() if len(spelt) > 1]
    if twice:
        raise DataFormatError(
            f"columns {'; '.join(twice)} name one column (names ignore case); keep one of each",
            path=str(path),
            line=1 if csv else None,
        )


def _whole_numbers(
    column: pd.Series, low: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
    """A column of whole numbers, exactly: its values as int64, where an entry is not a whole number in
    ``[low, 2^63)``, and where one is 2^53 or more in a column with decimals. Integers (a Parquet integer
    column, CSV digits) are taken as they are; a column with decimals (5.0, 1e3, a Parquet double) is read
    through float64, which holds whole numbers exactly only below 2^53 (2^53 + 1 read as 2^53)."""
    num = pd.to_numeric(column, errors="coerce")
    if pd.api.types.is_integer_dtype(num.dtype) and not num.isna().any():
        unsigned = pd.api.types.is_unsigned_integer_dtype(num.dtype)  # digits past 2^63 - 1
        ints = num.to_numpy(dtype=np.uint64 if unsigned else np.int64)
        bad = np.asarray((ints >= 2**63) if unsigned else (ints < low), dtype=bool)
        return np.where(bad, 0, ints).astype(np.int64), bad, np.zeros(len(ints), dtype=bool)
    f = num.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(f) | (f < low) | (f != np.floor(f)) | (f >= 2.0**63)
    inexact = ~bad & (f >= 2.0**53)
    return np.where(bad, 0, f).astype(np.int64), bad, inexact


def _frame_to_trace(frame: pd.DataFrame, path: Path, *, csv: bool) -> RequestTrace:
    cols = [str(c).strip() for c in frame.columns]
    _refuse_repeated_columns(cols, path, csv=csv)
    # in any case (Timestamp, OBJECT_ID), as the events and catalogue readers take them
    cols = [c.lower() if c.lower() in (*TRACE_COLUMNS, "region") else c for c in cols]
    frame.columns = pd.Index(cols)
    missing = [c for c in TRACE_COLUMNS if c not in cols]
    if missing:
        raise MissingColumnsError(
            f"missing column(s) {', '.join(missing)}; expected the header timestamp,object_id,size_bytes",
            path=str(path),
            line=1 if csv else None,
        )
    if len(frame) == 0:
        raise EmptyDataError("the trace has no requests", path=str(path))

    def _where(mask: npt.NDArray[np.bool_]) -> int | None:
        idx = np.flatnonzero(mask)
        if not len(idx):
            return None
        return int(idx[0])

    stamp = frame["timestamp"]
    numbers = False  # plain numbers, which may be unix milli-, micro- or nanoseconds
    if pd.api.types.is_datetime64_any_dtype(stamp):  # a Parquet timestamp column: seconds since the epoch
        # the epoch in seconds: a microsecond column's date outside the nanosecond range (before 1677)
        # overflowed to an OutOfBoundsDatetime traceback against a nanosecond one
        since = pd.to_datetime(stamp, utc=True) - pd.Timestamp(0, tz="UTC").as_unit("s")
        ts = (since / pd.Timedelta(seconds=1)).to_numpy(dtype=np.float64, na_value=np.nan)
    elif pd.api.types.is_timedelta64_dtype(stamp):  # a duration column: seconds (it read as nanoseconds)
        ts = (pd.to_timedelta(stamp).dt.total_seconds()).to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        ts = pd.to_numeric(stamp, errors="coerce").to_numpy(dtype=np.float64)
        numbers = True
    sz, sz_bad, sz_inexact = _whole_numbers(frame["size_bytes"], 1)
    obj = frame["object_id"]
    # whole numbers read as float64 lose the last digits from 2^53 on: refused, not changed
    inexact = "is 2^53 or more in a column with decimals (5.0, 1e3, a float column), so not read exactly"
    checks: list[tuple[npt.NDArray[np.bool_], str]] = [
        (~np.isfinite(ts), "timestamp is not a number"),
        (sz_bad, "size_bytes must be a whole number from 1 to below 2^63"),
        (sz_inexact, f"size_bytes {inexact}; write the sizes as integers (digits only)"),
        (obj.isna().to_numpy(), "object_id is empty"),
    ]
    reg = None
    if "region" in cols:
        reg, reg_bad, reg_inexact = _whole_numbers(frame["region"], 0)
        checks.append(
            (
                reg_bad,
                "region must be an int from 0 to below 2^63 (a column named region, in any case, numbers the "
                "regions)",
            )
        )
        checks.append((reg_inexact, f"region {inexact}; write the regions as integers (digits only)"))
    for mask, what in checks:
        row = _where(mask)
        if row is not None:
            line = _csv_line(path, row) if csv else None
            where = "" if csv else f"row {row}: "
            raise DataFormatError(where + what, path=str(path), line=line)
    if numbers and ts.min() >= 1e9 and ts.max() >= 1e11:
        # unix milli-, micro- or nanoseconds (year 5138 on as seconds): read as the events reader reads
        # them, with its warning (a 1d warm-up took 3 requests of a 3-day millisecond trace, not 672); unix
        # seconds (2001 on) among them are a mix of units. A trace with a time below 1e9 (from 0, or from
        # 5 us) is relative and read as it is, in any unit
        from reelkit.data.dataset import epoch_seconds

        ts = epoch_seconds(ts, str(path), whole=False)
    ids = obj.to_numpy()
    if not pd.api.types.is_numeric_dtype(obj.dtype):
        # integers only when every id is written as one in canonical form and fits 64 bits ("7", "-3");
        # otherwise all are kept as text, so "007", "+7", " 7", "7.0" and "7" stay five ids, and ids beyond
        # 64 bits are never merged through a float
        text = obj.astype(str)
        as_int = pd.to_numeric(text, errors="coerce")
        # unsigned 64-bit ids (an oracleGeneral trace written as CSV) stay the same numbers
        canonical = as_int.dtype in (np.int64, np.uint64) and bool((as_int.astype(str) == text).all())
        ids = as_int.to_numpy() if canonical else text.to_numpy()
    return _in_file_order(ts, ids, sz, reg, str(path))


def _in_file_order(
    ts: npt.NDArray[np.floating[Any]],
    ids: npt.NDArray[Any],
    sizes: npt.NDArray[np.int64],
    regions: npt.NDArray[np.int64] | None,
    source: str,
) -> RequestTrace:
    """A file's requests as a trace, replayed in the file's order as libCacheSim replays it (two servers'
    logs one after the other stay so; an oracleGeneral file's next-access field counts in that order),
    with a warning saying how many rows come before the one above them: a duration warm-up, which needs time
    order, is then refused."""
    late = int(np.count_nonzero(ts[1:] < ts[:-1]))
    if late:
        warnings.warn(
            f"{source}: {late:,} request(s) come before the one above them; the trace is replayed in the "
            "file's order, as libCacheSim replays it (a warm-up by duration needs time order; cache plan "
            "sorts it)",
            ReelkitWarning,
            stacklevel=4,
        )
    return RequestTrace.from_arrays(ts, ids, sizes, regions=regions, source=source)


def _read_csv(path: Path) -> RequestTrace:
    import pyarrow as pa
    import pyarrow.csv as pacsv

    gz = path.name.lower().endswith(".gz")  # pyarrow's own detection wants ".gz" in lower case
    try:
        with gzip.open(path, "rb") if gz else open(path, "rb") as fh:
            head = fh.read(4096)
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile, a truncated stream
        raise DataFormatError(f"not a readable gzip file ({exc})", path=str(path)) from None
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head:
        raise DataFormatError(
            "is not UTF-8 text (UTF-16, or a binary file); save the trace as UTF-8 CSV", path=str(path)
        )
    # the trace columns are read as text under the names the header spells them with (a header Object_ID
    # would otherwise read id 007 as 7, merging it with id 7)
    with _open_text(path) as fh:
        header = next((fields for _, fields in csv_records(fh)), None) or []
    as_text = {
        name: pa.string() for name in (*TRACE_COLUMNS, *header) if name.strip().lower() in TRACE_COLUMNS
    }
    try:
        table = pacsv.read_csv(
            pa.input_stream(str(path), compression="gzip" if gz else None),
            convert_options=pacsv.ConvertOptions(
                column_types=as_text,
                strings_can_be_null=False,
            ),
            parse_options=pacsv.ParseOptions(invalid_row_handler=None),
        )
    except OSError as exc:  # pyarrow's zlib errors (a damaged .csv.gz) are OSErrors
        raise DataFormatError(f"cannot read the trace ({exc})", path=str(path)) from None
    except pa.ArrowInvalid as exc:
        line = _find_bad_csv_line(path)
        msg = str(exc).splitlines()[0]
        if line is not None:
            raise DataFormatError(f"wrong number of fields ({msg})", path=str(path), line=line) from None
        raise DataFormatError(f"not a valid CSV trace: {msg}", path=str(path)) from None
    try:
        frame = table.to_pandas()
    except UnicodeDecodeError:
        raise DataFormatError(
            "is not UTF-8 text (a binary file, or another encoding); save the trace as UTF-8 CSV",
            path=str(path),
        ) from None
    frame = frame.replace("", np.nan)
    return _frame_to_trace(frame, path, csv=True)


def _csv_line(path: Path, row: int) -> int:
    """The line data row ``row`` (from 0) starts on: as the reader, blank lines are skipped and a quoted
    field may hold commas and line breaks (counting raw lines put later errors a line early per break)."""
    with _open_text(path) as fh:
        # the header is record 0; an unreadable record (an unclosed quote) is as far as lines go
        for i, (start, fields) in enumerate(csv_records(fh)):
            if fields is None or i == row + 1:
                return start
    return row + 2


def _open_text(path: Path) -> IO[str]:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8-sig", errors="replace")
    return open(path, encoding="utf-8-sig", errors="replace")


def _find_bad_csv_line(path: Path) -> int | None:
    """The line the first row with another number of fields than the header starts on (quoted commas and
    line breaks read as the reader reads them)."""
    with _open_text(path) as fh:
        want: int | None = None
        for start, fields in csv_records(fh):
            if fields is None:  # a stray quote made one field of the rest of the file: its row is the bad one
                return start
            if want is None:
                want = len(fields)
            elif len(fields) != want:
                return start
    return None


def _read_parquet(path: Path) -> RequestTrace:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        _refuse_repeated_columns([f.strip() for f in pq.read_schema(path).names], path, csv=False)
        frame = pq.read_table(path).to_pandas()
    except (pa.ArrowInvalid, OSError) as exc:
        msg = str(exc).splitlines()[0]  # pyarrow may add the whole schema
        raise DataFormatError(f"not a readable Parquet file ({msg})", path=str(path)) from None
    return _frame_to_trace(frame, path, csv=False)


def _read_oracle(path: Path) -> RequestTrace:
    nbytes = path.stat().st_size
    if nbytes % _ORACLE_DTYPE.itemsize:
        raise DataFormatError(
            f"size {nbytes} is not a multiple of the 24-byte oracleGeneral record; the file is truncated or "
            "not an oracleGeneral trace",
            path=str(path),
        )
    rec = np.fromfile(path, dtype=_ORACLE_DTYPE)
    if len(rec) == 0:
        raise EmptyDataError("the trace has no requests", path=str(path))
    # libCacheSim's reader skips records of size 0 (some public traces have them); so do we
    kept = rec["size"] > 0
    if not kept.any():
        raise EmptyDataError("every record has object size 0; the trace has no requests", path=str(path))
    if not kept.all():
        warnings.warn(
            f"{path}: {int((~kept).sum()):,} of {len(rec):,} records have object size 0 and were skipped, "
            "as libCacheSim skips them",
            ReelkitWarning,
            stacklevel=3,
        )
        rec = rec[kept]
    sizes = rec["size"].astype(np.int64)
    stamps: npt.NDArray[np.float64] = rec["t"].astype(np.float64)
    return _in_file_order(stamps, rec["id"].astype(np.uint64), sizes, None, str(path))


def read_trace(path: str | Path, *, fmt: TraceFormat | None = None) -> RequestTrace:
    """Read a CSV, Parquet or oracleGeneral trace; bad input raises :class:`DataFormatError` naming
    file:line."""
    finish_commits(Path(path).parent)  # a trace and its catalogue stopped among their renames: completed
    p = check_input_file(
        path,
        DataFormatError,
        "is a folder; give a trace file (.csv, .parquet or .oracleGeneral)",
        "no such trace file",
    )
    kind = fmt or trace_format(p)
    if kind == "csv":
        return _read_csv(p)
    if kind == "parquet":
        return _read_parquet(p)
    return _read_oracle(p)


def _oracle_ids(trace: RequestTrace) -> npt.NDArray[np.uint64]:
    ids = trace.original_ids
    if np.issubdtype(ids.dtype, np.integer):
        if (ids.astype(np.int64) < 0).any() if ids.dtype.kind == "i" else False:
            return ids.astype(np.int64).view(np.uint64)
        return ids.astype(np.uint64)
    # textual ids: a stable 64-bit hash (libCacheSim hashes string ids too)
    out = np.empty(len(ids), dtype=np.uint64)
    for i, v in enumerate(ids):
        out[i] = int.from_bytes(hashlib.blake2b(str(v).encode(), digest_size=8).digest(), "little")
    if len(np.unique(out)) != len(out):  # pragma: no cover - 64-bit collision
        raise DataFormatError("object ids collide after hashing to 64 bits", path=trace.source)
    return out


def write_trace(
    trace: RequestTrace,
    path: str | Path,
    *,
    fmt: TraceFormat | None = None,
    shown_as: str | Path | None = None,
) -> Path:
    """Write ``trace`` atomically in the format its name implies (or ``fmt``); returns the path.
    ``shown_as``: the name messages give, when ``path`` is a temporary file to be renamed to it."""
    p = Path(path)
    name = Path(shown_as) if shown_as is not None else p
    kind = fmt or trace_format(name)
    if p.is_dir():
        raise ConfigError(f"{name}: is a folder; give a file name for the trace (e.g. trace.parquet)")
    # what oracleGeneral cannot hold is said, not dropped in silence (a synth trace's 3 regions were gone
    # when the file was simulated)
    lost = []
    if kind == "oracle" and trace.regions is not None:
        lost.append("its regions (per-region results need .parquet or .csv)")
    if kind == "oracle" and not np.array_equal(trace.timestamps, np.round(trace.timestamps)):
        lost.append("the fractions of a second of its timestamps (rounded to whole seconds)")
    with atomic_path(p) as tmp:
        if kind == "oracle":
            if trace.sizes.max() > _U32_MAX:
                raise ConfigError(
                    "oracleGeneral stores sizes in 32 bits and an object is 4 GiB or larger; write .parquet "
                    "or .csv, or split files into chunks (--chunk-s / chunk_s=)"
                )
            if trace.timestamps.min() < 0 or trace.timestamps.max() > _U32_MAX:
                raise ConfigError("oracleGeneral stores timestamps as unsigned 32-bit seconds")
            rec = np.empty(trace.n_requests, dtype=_ORACLE_DTYPE)
            rec["t"] = np.round(trace.timestamps).astype(np.uint32)
            rec["id"] = _oracle_ids(trace)[trace.objects]
            rec["size"] = trace.sizes.astype(np.uint32)
            nxt = trace.next_use().copy()
            nxt[nxt >= trace.n_requests] = -1
            rec["next"] = nxt
            rec.tofile(tmp)
        else:
            frame = trace.to_frame()
            if kind == "csv":  # the temporary name hides ".gz" from pandas: say it
                gz = p.name.lower().endswith(".gz")
                frame.to_csv(tmp, index=False, compression="gzip" if gz else None)
            else:
                import pyarrow as pa
                import pyarrow.parquet as pq

                pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
    if lost:
        warnings.warn(
            f"{name}: oracleGeneral holds time, object, size and next use only; not kept: {'; '.join(lost)}",
            ReelkitWarning,
            stacklevel=2,
        )
    return p
