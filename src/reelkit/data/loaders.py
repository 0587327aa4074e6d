"""Readers that turn event files and catalogs into a :class:`~reelkit.data.dataset.Dataset`.

Formats
-------
MovieLens 100K (:func:`load_movielens_100k`)
    ``u.data`` / ``uN.base`` / ``uN.test``: tab-separated ``user item rating timestamp``, no header;
    catalog ``u.item``: ``|``-separated, latin-1, ``id|title|release date|video release date|IMDb URL|``
    then 19 genre flags in the order of :data:`ML100K_GENRES`.
MovieLens CSV (:func:`load_movielens_csv`: ml-latest, ml-latest-small, ml-20m, ml-25m)
    ``ratings.csv`` with header ``userId,movieId,rating,timestamp``; catalog ``movies.csv``
    (``movieId,title,genres``, UTF-8, genres ``|``-separated).
MovieLens 1M (:func:`load_movielens_1m`; also ML-10M)
    ``ratings.dat`` ``UserID::MovieID::Rating::Timestamp``; catalog ``movies.dat``
    ``MovieID::Title::Genres`` (latin-1).
Generic delimited files (:func:`load_delimited`)
    comma, tab, whitespace, ``::``, ``;`` or ``|``, detected or given; with or without a header (detected).
    Columns come from the header (names matched through :data:`EVENT_ALIASES`, case, ``_`` and ``-``
    ignored) or from ``columns``: a positional spec such as ``"user,item,rating,timestamp"`` (``-`` skips a
    field) or a mapping ``"uid=member_id,sku=title_id"`` / ``{"uid": "member_id"}`` by header name. A file
    without a header and without ``columns`` is read as ``user,item[,rating[,timestamp]]``. Without a value
    or kind column the events are implicit plays; without a kind column a value beside a fraction column is
    a play's position in seconds (a play log), otherwise a rating. Timestamps may be unix seconds or dates.
Parquet (:func:`load_parquet`)
    the same column names and aliases; datetime columns become unix seconds.

:func:`load_events_file` picks the format from the file name and contents and loads a sibling catalog;
:func:`load_dataset` also accepts folders (a reelkit dataset saved by :meth:`Dataset.save`, or a MovieLens
folder). Gzip/bz2/zstd/lz4-compressed delimited files (``.gz``, ``.bz2``, ``.zst``, ``.lz4``) are read
transparently.

Speed and errors
----------------
Delimited files are parsed by pyarrow's multithreaded CSV reader (25 million rows in well under a minute;
``::``- and whitespace-separated files are first rewritten in memory, which needs about twice their size).
When that fails, or a value is invalid, a second, slower pass over the raw lines finds the first bad line,
and a :class:`~reelkit.errors.DataFormatError` names the file, the 1-based line number and the problem.

Rules
-----
* Exact duplicate events are dropped with a :class:`~reelkit.errors.DuplicateEventsWarning` (by
  :meth:`Dataset.from_events`). Repeated ratings of one title by one member are all kept as events; the
  last by timestamp is the rating that counts (see :mod:`reelkit.data.confidence`).
* Event title ids missing from the catalog: ``unknown_titles="error"`` (default) raises
  :class:`~reelkit.errors.UnknownIdError` naming both files; ``"keep"`` adds them with placeholder names,
  ``"drop"`` drops their events (both with a :class:`~reelkit.errors.ReelkitWarning`).
* Title names lose a trailing ``(1995)``: the year is its own column.
* A file without a time column reads every event at time 0; an empty time in a given column is an error at
  its line. Header columns left unused while no rating or no time column is found are named in a
  :class:`~reelkit.errors.ReelkitWarning` (a ``stars`` column is not a known name for the rating).
* Ids lose surrounding spaces (delimited files other than MovieLens, and Parquet).
"""

from __future__ import annotations

import bz2
import codecs
import csv
import functools
import gzip
import inspect
import io
import lzma
import re
import warnings
import zlib
from collections import Counter
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any, Literal, NamedTuple, NoReturn, TypeVar, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from reelkit._files import csv_records
from reelkit.data._columns import EVENT_ALIASES, RATING_NAMES, dtype_kinds
from reelkit.data._columns import EVENT_LOOKUP as _EVENT_LOOKUP
from reelkit.data._columns import alias_lookup as _alias_lookup
from reelkit.data._columns import fields_from_header as _fields_from_header
from reelkit.data._columns import norm_name as _norm_name
from reelkit.data._columns import warn_unused as _warn_unused
from reelkit.data.dataset import (
    _DECIMAL_COMMA,
    Dataset,
    _as_id,
    _is_number,
    _to_unix_seconds,
    datetime_to_unix,
)
from reelkit.errors import (
    ConfigError,
    DataFormatError,
    EmptyDataError,
    MissingColumnsError,
    ReelkitWarning,
    UnknownIdError,
)
from reelkit.errors import shown as _shown

__all__ = [
    "EVENT_ALIASES",
    "ML100K_GENRES",
    "TITLE_ALIASES",
    "ColumnsSpec",
    "UnknownTitles",
    "catalog_beside",
    "load_dataset",
    "load_delimited",
    "load_events",
    "load_events_file",
    "load_movielens_1m",
    "load_movielens_100k",
    "load_movielens_csv",
    "load_parquet",
    "load_titles",
]

#: Genre names of the 19 ``u.item`` flags, in file order (from ``u.genre``).
ML100K_GENRES: tuple[str, ...] = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama",
    "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip

#: Accepted column names of catalog files per canonical title column.
TITLE_ALIASES: dict[str, tuple[str, ...]] = {
    "title_id": ("title_id", "movie_id", "item_id", "item", "id", "movie"),
    "name": ("name", "title", "movie_title"),
    "genres": ("genres", "genre"),
    "year": ("year",),
    "kind": ("kind", "type"),
    "released": ("released", "release_date", "release"),
}

#: How ``columns`` may be given: a positional spec ``"user,item,rating"`` (or a list of names, ``-`` to
#: skip a field), a by-name spec ``"uid=member_id,sku=title_id"``, or a mapping header name -> field.
ColumnsSpec = str | Sequence[str | None] | Mapping[str, str]
UnknownTitles = Literal["error", "keep", "drop"]

_SEP_NAMES = {",": "commas", "\t": "tabs", " ": "whitespace", "::": "'::'", ";": "semicolons", "|": "'|'"}
_SEP_ALIASES = {
    ",": ",", "comma": ",", "csv": ",", "\t": "\t", "\\t": "\t", "tab": "\t", "tsv": "\t",
    " ": " ", "space": " ", "whitespace": " ", "\\s+": " ", "::": "::", ";": ";", "semicolon": ";",
    "|": "|", "pipe": "|",
}  # fmt: skip
_DETECT_ORDER = ("::", "\t", ",", ";", "|", " ")
_NUMERIC_FIELDS = ("value", "timestamp", "fraction")
_YEAR_RE = re.compile(r"\s*\((\d{4})(?:\s*[-–]\s*(?:\d{4})?)?\)\s*$")
_CATALOG_NAMES = ("titles.parquet", "titles.csv", "titles.tsv", "movies.csv", "items.csv")


_TITLE_LOOKUP = _alias_lookup(TITLE_ALIASES)


def _resolve_field(name: str) -> str:
    """Canonical event field of a user-given column name (for ``columns=``)."""
    key = _norm_name(name)
    if key in ("fraction", "kind", "value", "timestamp", "memberid", "titleid"):
        return {"memberid": "member_id", "titleid": "title_id"}.get(key, key)
    hit = _EVENT_LOOKUP.get(key)
    if hit is None:
        known = ", ".join(f"{f} ({'/'.join(a)})" for f, a in EVENT_ALIASES.items())
        raise ConfigError(
            f"unknown column name {name!r} in columns=; use one of {known}, or '-' to skip a field"
        )
    return hit[0]


# ---------------------------------------------------------------------------------------------- raw files
_ARROW_CODECS = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".zstd": "zstd", ".lz4": "lz4"}
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # only these end a line (not \x85, \x0c, \u2028 … as splitlines)


_F = TypeVar("_F", bound=Callable[..., Any])


def _names_damaged_input(fn: _F) -> _F:
    """A damaged compressed file (truncated, or not what its name says) raises errors that name no file
    (``Truncated compressed stream``; an EOFError, which the command line took for Ctrl-C): say which file,
    in one line, as a data error."""
    first = next(iter(inspect.signature(fn).parameters))  # the file or folder read, however it is passed

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (EOFError, zlib.error, lzma.LZMAError, OSError) as exc:
            if isinstance(exc, OSError) and exc.filename is not None:
                raise  # a file that is missing or unreadable says so itself
            path = args[0] if args else kwargs.get(first)
            what = (
                ""
                if isinstance(exc, EOFError | zlib.error | lzma.LZMAError)
                else ", or not the format its name says"
            )
            raise DataFormatError(
                f"corrupt or truncated compressed data{what} ({exc})", path=str(path)
            ) from None

    return cast(_F, wrapper)


def _open_binary(path: Path) -> IO[bytes]:
    suffix = path.suffix.lower()
    if suffix == ".gz":
        return cast(IO[bytes], gzip.open(path, "rb"))
    if suffix == ".bz2":
        return cast(IO[bytes], bz2.open(path, "rb"))
    if suffix in _ARROW_CODECS:  # zstd, lz4: through pyarrow's codecs
        return _arrow_stream(path)
    return path.open("rb")


def _arrow_stream(path: Path) -> IO[bytes]:
    """A pyarrow input stream of the file, decompressed according to its suffix (any case)."""
    codec = _ARROW_CODECS.get(path.suffix.lower())
    return cast(IO[bytes], pa.input_stream(str(path), compression=codec))


def _base_name(path: Path) -> str:
    """File name without a compression suffix, lower-cased."""
    name = path.name.lower()
    for suf in (".gz", ".bz2", ".zst", ".zstd", ".lz4"):
        if name.endswith(suf):
            return name[: -len(suf)]
    return name


def _windows_1252_codec() -> codecs.CodecInfo:
    """Windows-1252 as the WHATWG Encoding Standard (and every browser) reads it: the five bytes the code
    page leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) are U+0081 ... U+009D, so any byte string decodes,
    one byte to one character, whatever else the file holds."""
    chars = []
    for b in range(256):
        try:
            chars.append(bytes([b]).decode("cp1252"))
        except UnicodeDecodeError:
            chars.append(chr(b))
    decoding = "".join(chars)
    encoding_map = codecs.charmap_build(decoding)

    class Decoder(codecs.IncrementalDecoder):
        def decode(self, data: Any, final: bool = False) -> str:  # bytes-like (typing.Buffer: 3.12)
            return codecs.charmap_decode(bytes(data), self.errors, decoding)[0]

    class Encoder(codecs.IncrementalEncoder):
        def encode(self, text: str, final: bool = False) -> bytes:
            return codecs.charmap_encode(text, self.errors, encoding_map)[0]

    return codecs.CodecInfo(
        name=_LEGACY,
        encode=lambda text, errors="strict": codecs.charmap_encode(text, errors, encoding_map),
        decode=lambda data, errors="strict": codecs.charmap_decode(data, errors, decoding),
        incrementalencoder=Encoder,
        incrementaldecoder=Decoder,
    )


#: What a text file that is not UTF-8 is read as, events and catalogues alike (pyarrow's CSV reader takes
#: it by name): Windows-1252, what Excel and Windows tools write (read as latin-1 its quotes, dashes, euro
#: sign and ellipsis were invisible control characters); latin-1 reads every other byte alike
_LEGACY = "reelkit-windows-1252"
_LEGACY_CODEC = _windows_1252_codec()
codecs.register(lambda name: _LEGACY_CODEC if name == _LEGACY.replace("-", "_") else None)


def _decode(raw: bytes, encoding: str | None, path: Path | None = None) -> str:
    """Bytes as text: the given encoding, else UTF-16/32 by a byte-order mark, else UTF-8, falling back to
    Windows-1252 (:data:`_LEGACY`, which never fails) unless some lines are UTF-8 and others not (``path``
    names the file then)."""
    if encoding is None and raw.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        encoding = "utf-32"
    elif encoding is None and raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        # as the events reader (_sniff_encoding): a UTF-16 catalogue was "ÿþm o v i e I d"
        encoding = "utf-16"
    if encoding is not None:
        try:
            return raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise DataFormatError(f"cannot decode as {encoding}: {exc}; pass the right encoding") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        _check_one_encoding(raw.splitlines(), None if path is None else str(path))
        return raw.decode(_LEGACY)


def _refuse_mixed_encodings(path: Path) -> None:
    """A file that is not UTF-8 throughout is read as Windows-1252, unless some of its lines are UTF-8 (an
    appended log, old lines latin-1 and new ones UTF-8): read so those lines' ids changed ("josé"
    became "josÃ©", a second member) without a word. Refused, naming the first line that is not UTF-8."""
    with _open_binary(path) as fh:
        _check_one_encoding(fh, str(path))


def _check_one_encoding(lines: Iterable[bytes], path: str | None) -> None:
    """Raise when some of ``lines`` are UTF-8 (with characters past ASCII) and others are not."""
    first_bad = 0
    utf8_seen = False
    for number, line in enumerate(lines, 1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
            utf8_seen = True
        except UnicodeDecodeError:
            first_bad = first_bad or number
        if first_bad and utf8_seen:
            raise DataFormatError(
                "mixes text encodings: some lines are UTF-8 and others not, so neither reading keeps every "
                "id and name; convert the file to UTF-8 (e.g. iconv -f latin1 on the old lines) or pass the "
                "encoding",
                path=path,
                line=first_bad,
            )


def _split_line(line: str, sep: str) -> list[str]:
    if sep == " ":
        return line.split()
    if sep == "::":
        return line.split("::")
    if sep == "\t":
        return line.split("\t")
    return next(csv.reader([line], delimiter=sep))


def _iter_lines(path: Path, encoding: str | None, sep: str) -> Generator[tuple[int, str], None, None]:
    """``(1-based line number, text)`` of the non-blank lines, as the fast parser sees them."""
    blank = " \t" if sep == " " else ""
    # newline="": lines end at \n, \r or \r\n, as for the fast parser
    with io.TextIOWrapper(
        _open_binary(path), encoding=encoding or "utf-8", errors="replace", newline=""
    ) as fh:
        for no, raw in enumerate(fh, start=1):
            text = raw.rstrip("\r\n")
            if no == 1:
                text = text.lstrip("\ufeff")
            if text.strip(blank) == "":
                continue
            yield no, text


def _record_lines(path: Path, encoding: str | None, sep: str) -> Generator[int, None, None]:
    """The line each non-blank record starts on: with a quoting separator (comma, ``;``, ``|``) a quoted
    field may hold line breaks, so records are read as the CSV reader reads them, not line by line."""
    if sep not in (",", ";", "|"):
        yield from (no for no, _ in _iter_lines(path, encoding, sep))
        return
    with io.TextIOWrapper(
        _open_binary(path), encoding=encoding or "utf-8", errors="replace", newline=""
    ) as fh:
        yield from (start for start, _ in csv_records(fh, sep))


def _first_line_no(path: Path, encoding: str | None, sep: str) -> int:
    """1-based line number of the first line with more than whitespace (the header's); 0 if none."""
    lines = _iter_lines(path, encoding, sep)
    try:
        return next((no for no, text in lines if text.strip()), 0)
    finally:
        lines.close()


def _sniff_encoding(path: Path) -> str | None:
    """``utf-32`` or ``utf-16`` when the file starts with that byte-order mark; None (UTF-8, else
    Windows-1252)."""
    with _open_binary(path) as fh:
        head = fh.read(4096)
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):  # before UTF-16's, which it starts with
        return "utf-32"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if head.startswith(_ZIP):  # an Excel workbook (.xlsx) under another name, most often
        raise _not_a_table(path, _ZIP_KIND, "events")
    if b"\x00" in head:
        raise DataFormatError(
            "holds NUL bytes: not a text file, or UTF-16/32 text without a byte-order mark; convert it to "
            "UTF-8 (in Python, or pass encoding=)",
            path=str(path),
        )
    return None


def _sample_lines(path: Path, encoding: str | None, n: int = 50) -> list[str]:
    with _open_binary(path) as fh:
        raw = fh.read(1 << 16)
    if not raw:
        return []
    text = _decode(raw, encoding) if encoding else raw.decode("utf-8", errors="replace").lstrip("\ufeff")
    lines = _LINE_BREAK.split(text)
    if len(raw) == 1 << 16 and lines:
        lines = lines[:-1]  # the last one may be cut
        if not any(ln.strip() for ln in lines):  # no line ends in it: "the file is empty" was said
            raise DataFormatError(
                "its first line is over 64 KiB long: not an events file, which has one event per line "
                "(member, title[, rating, timestamp]; a member x title matrix is not read); give a CSV, TSV "
                "or Parquet file of such rows",
                path=str(path),
            )
    return [ln for ln in lines if ln.strip()][:n]


# ---------------------------------------------------------------------------------------------- layout
@dataclass(frozen=True)
class _Layout:
    """How one delimited events file is laid out."""

    sep: str
    header: bool
    fields: tuple[str | None, ...]  # canonical field per position, None = not read
    header_names: tuple[str, ...] = ()
    header_line: int = 0  # 1-based line number of the header (blank lines may come first); 0: none
    rating_named: bool = False  # the value column is called a rating (see _says_rating)

    @property
    def n_fields(self) -> int:
        return len(self.fields)

    def position(self, field: str) -> int | None:
        return self.fields.index(field) if field in self.fields else None


def _normalize_sep(sep: str) -> str:
    key = sep if sep in _SEP_ALIASES else sep.lower()
    if key not in _SEP_ALIASES:
        raise ConfigError(f"unknown separator {sep!r}; use one of ',', 'tab', 'whitespace', '::', ';', '|'")
    return _SEP_ALIASES[key]


def _detect_sep(lines: Sequence[str]) -> str | None:
    """The separator that splits every sample line into the same number (>= 2) of fields: of those, the one
    giving the most fields (``1;10;4,5;1000`` is four fields by ``;``, not two by the decimal comma), the
    earlier in :data:`_DETECT_ORDER` on a tie; whitespace only when no other one does."""
    even: list[tuple[int, int, str]] = []
    for rank, sep in enumerate(_DETECT_ORDER):
        if sep != " " and not all(sep in ln for ln in lines):
            continue
        try:
            counts = {len(_split_line(ln, sep)) for ln in lines}
        except csv.Error:
            continue
        if len(counts) == 1 and (n := counts.pop()) >= 2:
            if sep == " " and even:
                break  # whitespace also splits inside a field ("2020-01-01 10:00") of a tab or comma file
            even.append((n, -rank, sep))
    if even:
        return max(even)[2]
    # tolerate one bad line in the sample (a stray quote joins it to the next, or it lacks the separator):
    # the reader then names it precisely
    for sep in _DETECT_ORDER:
        try:
            counts_list = [len(_split_line(ln, sep)) for ln in lines if sep == " " or sep in ln]
        except csv.Error:  # a field over csv's 128 KiB limit: the reader names the line
            continue
        if len(counts_list) < max(2, len(lines) - 1):
            continue
        usual, seen = Counter(counts_list).most_common(1)[0]
        if min(counts_list) >= 2 or (usual >= 2 and seen >= len(lines) - 1):
            return sep
    return None


def _detect_header(first: list[str], second: list[str] | None) -> bool:
    # a column name is never a number: a first line holding one (a rating, a time) is data, whatever text
    # ids or title names stand beside it ("a1b2,77,5,1000" and "u1,movie,5,1000" were taken for headers
    # and their events dropped)
    if any(_is_number(t) for t in first if t.strip()):
        return False
    if any(_norm_name(t) in _EVENT_LOOKUP for t in first):
        return True
    if second is None:
        return not any(_is_number(t) for t in first)
    return any(
        not _is_number(a) and _is_number(b)
        for a, b in zip(first, second, strict=False)
        if a.strip() and b.strip()
    )


def _parse_columns_spec(columns: ColumnsSpec) -> tuple[list[str | None] | None, dict[str, str] | None]:
    """``(positional fields, by-name mapping)``; exactly one is not None."""
    if isinstance(columns, Mapping):
        return None, {str(k): _resolve_field(v) for k, v in columns.items()}
    items: list[str | None] = (
        [c.strip() for c in columns.split(",")] if isinstance(columns, str) else list(columns)
    )
    if any(c is not None and "=" in c for c in items):
        mapping: dict[str, str] = {}
        for c in items:
            if not c:
                continue
            if "=" not in c:
                raise ConfigError(f"columns entry {c!r} lacks '='; write every entry as header_name=field")
            src, dst = c.split("=", 1)
            mapping[src.strip()] = _resolve_field(dst)
        return None, mapping
    fields = [None if c is None or c in ("", "-", "_", "skip") else _resolve_field(c) for c in items]
    return fields, None


def _sample_kinds(rows: Sequence[Sequence[str]], n: int) -> list[tuple[bool, bool]]:
    """Per column of sampled data rows: (all numbers, all numbers or dates); empty cells are skipped."""
    out = []
    for i in range(n):
        cells = [r[i].strip().strip('"') for r in rows if i < len(r) and r[i].strip().strip('"')]
        numbers = bool(cells) and all(_is_number(c) for c in cells)
        dates = False
        if cells and not numbers:
            with warnings.catch_warnings():  # pandas' "could not infer format" on text that is no date
                warnings.simplefilter("ignore")
                try:
                    parsed = pd.to_datetime(pd.Series(cells), errors="coerce", format="mixed", utc=True)
                except (ValueError, TypeError, OverflowError):
                    parsed = pd.Series([pd.NaT])
            dates = bool(parsed.notna().all())
        out.append((numbers, numbers or dates))
    return out


def _check_dup_fields(fields: Sequence[str | None]) -> None:
    used = [f for f in fields if f is not None]
    dups = sorted({f for f in used if used.count(f) > 1})
    if dups:
        raise ConfigError(f"columns= names {', '.join(dups)} more than once; each field may appear once")


def _warn_unnamed_fields(
    positional: Sequence[str | None], n: int, lines: Sequence[str], sep: str, path: Path
) -> None:
    """Warn when ``columns=`` names fewer fields than the lines have and one left unnamed could be the time
    or the rating that no field is: ``item,user,rating`` on a file of four stored every event at time 0
    without a word (the unread fields are dropped; ``-`` skips one on purpose)."""
    no_time = "timestamp" not in positional
    no_value = "value" not in positional and "kind" not in positional
    if not (no_time or no_value):
        return
    rows = [_split_line(ln, sep) for ln in lines]
    kinds = _sample_kinds(rows, n)
    extra = range(len(positional), n)
    # per unnamed field, what it could be: a time (dates, or numbers past 1e6) or a rating (other numbers)
    guess: list[str] = []
    for i in extra:
        cells = [r[i].strip().strip('"') for r in rows if i < len(r)]
        big = kinds[i][0] and all(abs(float(c)) > 1e6 for c in cells if c)
        if no_time and "timestamp" not in guess and kinds[i][1] and (big or not kinds[i][0]):
            guess.append("timestamp")
        elif no_value and "rating" not in guess and kinds[i][0] and not big:
            guess.append("rating")
        else:
            guess.append("-")
    could = [i + 1 for i, g in zip(extra, guess, strict=True) if g != "-"]
    if not could:  # nothing left that could be what is missing (a genre, a second time)
        return
    lacking = " or ".join(w for w, gone in (("rating", no_value), ("time", no_time)) if gone)
    token = {"member_id": "user", "title_id": "item", "value": "rating"}  # as --columns takes them
    named = ",".join("-" if f is None else token.get(f, f) for f in positional)
    suggest = ",".join([named, *guess])
    skip = named + ",-" * len(extra)
    which = f"field {could[0]} is" if len(could) == 1 else f"fields {', '.join(map(str, could))} are"
    so = (
        "the events are read as plays at time 0"
        if no_value and no_time
        else "the events are read as plays (implicit feedback)"
        if no_value
        else "every event is at time 0"
    )
    warnings.warn(
        f"{path}: the lines have {n} fields and columns= names {len(positional)}: {which} not read and no "
        f"{lacking} field is named, so {so}; name it (CLI: --columns {suggest}), or skip the rest on purpose "
        f"with '-' ({skip})",
        ReelkitWarning,
        stacklevel=3,
    )


def _sniff_layout(
    path: Path, *, sep: str | None, columns: ColumnsSpec | None, header: bool | None, encoding: str | None
) -> _Layout:
    lines = _sample_lines(path, encoding)
    if not lines:
        raise EmptyDataError("the file is empty; it needs one event per line", path=str(path))
    if sep is None:
        detected = _detect_sep(lines)
        if detected is None and all(
            len(_split_line(ln, sep)) == 1 for ln in lines for sep in _DETECT_ORDER if sep != " "
        ):
            raise DataFormatError(
                f"holds one column only ({lines[0].strip()[:40]!r}, ...); an events file needs a member and "
                "a title column (and a rating, a time ...), separated by commas, tabs, ';', '|' or '::'",
                path=str(path),
            )
        if detected is None:
            raise DataFormatError(
                "cannot tell how fields are separated (tried '::', tab, comma, ';', '|', whitespace); "
                "pass sep= (CLI: --sep)",
                path=str(path),
            )
        sep = detected
    else:
        sep = _normalize_sep(sep)
    first = _split_line(lines[0], sep)
    second = _split_line(lines[1], sep) if len(lines) > 1 else None
    positional, mapping = (None, None) if columns is None else _parse_columns_spec(columns)
    if header is None:
        # columns named by the user that are all on the first line make it the header (ids that are all
        # text look like data to the detector: "viewer,show" over "alice,s1")
        named = [_norm_name(k) for k in (mapping or {}) if not k.isdigit()]
        firsts = {_norm_name(t.strip().lstrip("\ufeff")) for t in first}
        has_header = (bool(named) and all(k in firsts for k in named)) or _detect_header(first, second)
    else:
        has_header = header
    if has_header or len(lines) == 1:
        n = len(first)
    else:  # the most common field count, so that one bad line early on is the one reported
        n = Counter(len(_split_line(ln, sep)) for ln in lines).most_common(1)[0][0]
    header_names = tuple(t.strip().lstrip("\ufeff") for t in first) if has_header else ()
    header_line = _first_line_no(path, encoding, sep) if has_header else 0
    fields: list[str | None]
    if mapping is not None:
        if not has_header:
            bad = [k for k in mapping if not k.isdigit()]
            if bad:
                raise MissingColumnsError(
                    f"the file has no header line, so columns {', '.join(bad)} cannot be found by name; "
                    "give positions instead, e.g. --columns user,item,rating,timestamp (columns= in Python)",
                    path=str(path),
                )
        # the mapping overrides; other header columns are still matched by their names
        fields = _fields_from_header(header_names, path, header_line) if has_header else [None] * n
        norm_header = [_norm_name(h) for h in header_names]
        for src, dst in mapping.items():
            if src.isdigit() and (not has_header or _norm_name(src) not in norm_header):
                pos = int(src) - 1
                if not 0 <= pos < n:
                    raise MissingColumnsError(f"column position {src} is outside 1..{n}", path=str(path))
            elif _norm_name(src) in norm_header:
                pos = norm_header.index(_norm_name(src))
            else:
                raise MissingColumnsError(
                    f"no column {src!r} in the header ({', '.join(header_names)}); check --columns",
                    path=str(path),
                    line=header_line,
                )
            fields = [None if f == dst else f for f in fields]
            fields[pos] = dst
    elif positional is not None:
        if len(positional) > n:
            raise MissingColumnsError(
                f"columns= names {len(positional)} fields but the lines have {n} "
                f"(separated by {_SEP_NAMES[sep]}); check columns= and sep= (CLI: --columns, --sep)",
                path=str(path),
            )
        fields = [*positional, *([None] * (n - len(positional)))]
        if len(positional) < n:
            _warn_unnamed_fields(positional, n, lines[1:] if has_header else lines, sep, path)
    elif has_header:
        fields = _fields_from_header(header_names, path, header_line)
    else:
        default: list[str | None] = ["member_id", "title_id", "value", "timestamp"]
        fields = default[:n] + [None] * max(0, n - 4)
    _check_dup_fields(fields)
    missing = [f for f in ("member_id", "title_id") if f not in fields]
    if missing:
        have = ", ".join(header_names) if has_header else f"{n} unnamed fields"
        raise MissingColumnsError(
            f"no {' or '.join(missing)} column (have {have}); name them in the header "
            f"(e.g. {EVENT_ALIASES['member_id'][3]}, {EVENT_ALIASES['title_id'][3]}) or pass "
            "--columns user,item,rating,timestamp (columns= in Python)",
            path=str(path),
        )
    if has_header and positional is None:  # named by the header, or some by columns= and the rest by it
        rows = [_split_line(ln, sep) for ln in lines[1:]]
        _warn_unused(header_names, fields, path, _sample_kinds(rows, len(header_names)))
    at = fields.index("value") if "value" in fields else None
    rating_named = _says_rating(columns, header_names[at] if has_header and at is not None else None)
    return _Layout(
        sep=sep,
        header=has_header,
        fields=tuple(fields),
        header_names=header_names,
        header_line=header_line,
        rating_named=rating_named,
    )


def _says_rating(columns: ColumnsSpec | None, value_header: str | None) -> bool:
    """Whether the value column is called a rating (its header, or the word ``columns`` gives it): beside a
    fraction column only a value not so called is a play's position ('rating' there stays ratings)."""
    words = [value_header] if value_header else []
    if isinstance(columns, Mapping):
        words += [str(v) for v in columns.values()]
    elif columns is not None:
        items = columns.split(",") if isinstance(columns, str) else [c for c in columns if c]
        words += [c.split("=", 1)[-1] for c in items if c]
    return any(_norm_name(w) in RATING_NAMES for w in words)


# ---------------------------------------------------------------------------------------------- fast read
@dataclass
class _BadRow:
    expected: int
    actual: int
    text: str


def _pyarrow_input(path: Path, sep: str) -> tuple[IO[bytes], str, bool]:
    """``(source, one-byte delimiter, quoting)`` for pyarrow; ``::``/whitespace are rewritten in memory."""
    if sep not in ("::", " "):
        return _arrow_stream(path), sep, sep in (",", ";", "|")
    with _open_binary(path) as fh:
        data = fh.read()
    delim = next(c for c in ("\x1f", "\x1e", "\x1d", "\x1c", "\x01") if c.encode() not in data)
    if sep == "::":
        data = data.replace(b"::", delim.encode())
    else:
        data = re.sub(rb"(?m)^[ \t]+|[ \t]+(?=\r?$)", b"", data)
        data = re.sub(rb"[ \t]+", delim.encode(), data)
    return io.BytesIO(data), delim, False


def _read_arrow(
    path: Path, layout: _Layout, encoding: str | None, *, typed: bool
) -> tuple[pa.Table | None, _BadRow | None]:
    """Parse the used columns; ``typed`` converts numbers in the parser (fast path)."""
    names = [f"c{i}" for i in range(layout.n_fields)]
    used = {names[i]: f for i, f in enumerate(layout.fields) if f is not None}
    types: dict[str, pa.DataType] = {}
    for col, field in used.items():
        if typed and field in ("value", "fraction"):
            types[col] = pa.float64()
        elif typed and field == "timestamp":
            types[col] = pa.int64()
        else:
            types[col] = pa.string()
    bad: list[_BadRow] = []

    def on_bad(row: pacsv.InvalidRow) -> str:
        bad.append(_BadRow(int(row.expected_columns), int(row.actual_columns), str(row.text)))
        return "error"

    source, delim, quoted = _pyarrow_input(path, layout.sep)
    # skip through the header's own line: blank lines before it count as rows for skip_rows
    skip = (layout.header_line or 1) if layout.header else 0
    try:
        table = pacsv.read_csv(
            source,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=skip, encoding=encoding or "utf8"),
            parse_options=pacsv.ParseOptions(
                delimiter=delim, quote_char='"' if quoted else False, invalid_row_handler=on_bad
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                include_columns=list(used),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid:
        if bad:
            return None, bad[0]
        raise
    finally:
        source.close()
    return table.rename_columns([used[c] for c in table.column_names]), None


def _locate_field_count(
    path: Path, layout: _Layout, encoding: str | None, bad: _BadRow | None
) -> DataFormatError:
    expected = layout.n_fields
    skip = (layout.header_line or 1) if layout.header else 0
    for no, text in _iter_lines(path, encoding, layout.sep):
        if no <= skip:
            continue
        try:
            n = len(_split_line(text, layout.sep))
        except csv.Error:
            n = -1
        if n != expected:
            shown = _shown(text)
            return DataFormatError(
                f"expected {expected} fields separated by {_SEP_NAMES[layout.sep]}, found "
                f"{n if n >= 0 else 'an unreadable line'}: {shown!r}; fix or remove this line "
                "(or pass sep=/columns=, CLI --sep/--columns, if the whole file is laid out differently)",
                path=str(path),
                line=no,
            )
    detail = f": {bad.text[:80]!r}" if bad else ""
    return DataFormatError(
        f"a line has the wrong number of fields (expected {expected}){detail}; fix or remove it",
        path=str(path),
    )


def _line_of_row(path: Path, layout: _Layout, encoding: str | None, row: int) -> int | None:
    """1-based line number of data row ``row`` (0-based), counting as the parser does."""
    skip = (layout.header_line or 1) if layout.header else 0
    data = (no for no in _record_lines(path, encoding, layout.sep) if no > skip)
    for i, no in enumerate(data):
        if i == row:
            return no
    return None


def _first(bad: np.ndarray) -> int | None:
    """The first row where ``bad`` holds, or ``None``."""
    return int(np.argmax(bad)) if bad.any() else None


_FIELD_WORDS = {
    "member_id": "member id",
    "title_id": "title id",
    "value": "rating",
    "timestamp": "timestamp",
    "fraction": "fraction",
    "kind": "kind",
}


def _field_word(layout: _Layout, field: str) -> str:
    """How to call a field in a message: its header name when the file has one."""
    pos = layout.position(field)
    if layout.header_names and pos is not None and pos < len(layout.header_names):
        return f"{_FIELD_WORDS[field]} ({_shown(layout.header_names[pos])!r} column)"
    return _FIELD_WORDS[field]


def _value_word(layout: _Layout, kind: str) -> str:
    """The value field named for its row's kind (a thumb's value is not a rating), with its header name."""
    noun = {"rating": "rating", "thumb": "thumb (1 up or -1 down)", "play": "play position in seconds"}
    word = _field_word(layout, "value")
    rest = word[len(_FIELD_WORDS["value"]) :]  # ' (... column)' when the file names it
    return noun.get(kind.strip().lower(), "value") + rest


def _events_from_table(
    path: Path,
    layout: _Layout,
    encoding: str | None,
    table: pa.Table,
    *,
    required: Sequence[str],
    strip_ids: bool = True,
) -> pd.DataFrame:
    """Validate a parsed table (ids present, numbers numeric, kinds known) into an events frame."""
    frame: pd.DataFrame = table.to_pandas()
    n = len(frame)
    if n == 0:
        raise EmptyDataError(
            "no data rows (only a header or blank lines); it needs one event per line", path=str(path)
        )

    def at(row: int, message: str) -> NoReturn:
        """Refuse the file at the line that holds ``row``."""
        raise DataFormatError(message, path=str(path), line=_line_of_row(path, layout, encoding, row))

    for field in ("member_id", "title_id"):
        ids = frame[field]
        if ids.dtype != object and not pd.api.types.is_string_dtype(ids.dtype):
            ids = ids.astype(str)
        if strip_ids:  # whatever the separator, as the catalogue's ids are: 't1 ' in a TSV was another title
            ids = ids.str.strip()
        if (i := _first(ids.eq("").to_numpy() | ids.isna().to_numpy())) is not None:
            at(
                i,
                f"empty {_field_word(layout, field)}; every event needs a member and a title id: fill it "
                "in or remove this line",
            )
        frame[field] = ids
    for field in _NUMERIC_FIELDS:
        if field not in frame:
            continue
        col = frame[field]
        word = _field_word(layout, field)
        if not pd.api.types.is_numeric_dtype(col.dtype):
            what = "a number"
            if field == "timestamp":
                values, bad, what = _to_unix_seconds(col, str(path))
            else:
                raw = col.astype(str).str.strip()
                values = pd.to_numeric(raw.where(raw != "", None), errors="coerce").astype("float64")
                bad = values.isna().to_numpy() & (raw != "").to_numpy()
            if (i := _first(bad)) is not None:
                if field == "value" and "kind" in frame:  # the row's own kind: 'up' is a thumb, not a rating
                    word = _value_word(layout, str(frame["kind"].iloc[i]))
                shown = str(col.iloc[i])
                # a European spreadsheet's 3,5 (for a time, _to_unix_seconds says so already)
                if _DECIMAL_COMMA.fullmatch(shown) and "decimal comma" not in what:
                    what += " (a decimal comma: write it with a point, 3.5)"
                at(i, f"{word} {_shown(shown)!r} is not {what}; fix or remove this line")
            frame[field] = values
        if (i := _first(np.isinf(frame[field].to_numpy(np.float64)))) is not None:
            at(i, f"{word} {str(col.iloc[i])!r} is not a finite number; fix or remove this line")
        # a time too, where the file has the column: read as 0 it was the oldest event (a member's re-rating
        # lost to the rating it replaced)
        needed = field in required or field == "timestamp"
        if needed and (i := _first(frame[field].isna().to_numpy())) is not None:
            at(i, f"empty {word}; every line needs one: fill it in or remove this line")
    if "fraction" in frame:
        frac = frame["fraction"].to_numpy(np.float64)
        if (i := _first((frac < 0) | (frac > 1))) is not None:
            at(i, f"fraction {float(frac[i])} is outside [0, 1]; fix this line")
    if "kind" in frame:
        kind = frame["kind"].astype(str).str.strip().str.lower()
        if (i := _first(~kind.isin(("rating", "thumb", "play")).to_numpy())) is not None:
            at(i, f"unknown event kind {_shown(str(frame['kind'].iloc[i]))!r}; use rating, thumb or play")
        frame["kind"] = kind
        if "value" not in frame and (i := _first((kind == "rating").to_numpy())) is not None:
            at(
                i,
                "a rating event, but the file has no ratings: add a 'value' or 'rating' column, or remove "
                "this line",
            )
        if "value" in frame:
            value = frame["value"]
            if (i := _first((kind == "rating").to_numpy() & value.isna().to_numpy())) is not None:
                at(i, "a rating event without a rating value; fill it in or remove this line")
            # a thumb is up (1) or down (-1), as the API takes it: a 0/1 column's dislikes (0) were dropped
            # and a 7 counted as up
            if (i := _first((kind == "thumb").to_numpy() & ~value.isin((1, -1)).to_numpy())) is not None:
                at(i, f"thumb value {float(value.iloc[i]):g}: a thumb is 1 (up) or -1 (down)")
    elif "value" not in frame or (
        not layout.rating_named and "fraction" in frame and frame["fraction"].notna().any()
    ):
        # with fractions watched a value is the position in seconds: plays (a play log), not ratings
        frame["kind"] = np.full(n, "play", dtype=object)
    elif (i := _first(frame["value"].isna().to_numpy())) is not None:
        at(i, "empty rating; fill it in or remove this line (or add a 'kind' column for non-rating events)")
    elif "fraction" in frame:  # ratings said so: Dataset.from_events reads a value beside fractions as plays
        frame["kind"] = np.full(n, "rating", dtype=object)
    # a play's value is its position: -100 s was a short play (refused in files only: a store keeps what an
    # older reelkit accepted, and its folder must stay trainable)
    if "value" in frame and "kind" in frame:
        plays = (frame["kind"] == "play").to_numpy() & (frame["value"].to_numpy(np.float64) < 0)
        if (i := _first(plays)) is not None:
            at(i, f"play position {float(frame['value'].iloc[i]):g} s is negative; fix or remove this line")
    return frame


def _read_events(
    path: Path,
    layout: _Layout,
    encoding: str | None,
    *,
    required: Sequence[str] = (),
    strip_ids: bool = True,
) -> pd.DataFrame:
    """Fast typed parse; on any failure a string parse plus vectorised checks to find the bad line."""
    table: pa.Table | None = None
    try:
        table, bad = _read_arrow(path, layout, encoding, typed=True)
        if bad is not None:
            raise _locate_field_count(path, layout, encoding, bad)
    except pa.ArrowInvalid as exc:
        msg = str(exc)
        if "UTF8" in msg and encoding is None:
            _refuse_mixed_encodings(path)
            # as the catalogue beside it is read, byte for byte: ids in both decode alike
            return _read_events(path, layout, _LEGACY, required=required, strip_ids=strip_ids)
        if "Empty CSV file" in msg:
            raise EmptyDataError("no data rows; it needs one event per line", path=str(path)) from None
        table = None
    if table is None:
        try:
            table, bad = _read_arrow(path, layout, encoding, typed=False)
        except pa.ArrowInvalid as exc:
            raise DataFormatError(
                f"cannot parse: {exc}; check sep= and the encoding", path=str(path)
            ) from None
        if bad is not None:
            raise _locate_field_count(path, layout, encoding, bad)
        assert table is not None
    return _events_from_table(path, layout, encoding, table, required=required, strip_ids=strip_ids)


# ---------------------------------------------------------------------------------------------- catalogs
def _year_from_title(title: str) -> tuple[str, int | None]:
    m = _YEAR_RE.search(title)
    if m is None:
        return title.strip(), None
    return title[: m.start()].strip(), int(m.group(1))


def _date_to_unix(text: str, fmt: str) -> int | None:
    try:
        return int(datetime.strptime(text.strip(), fmt).replace(tzinfo=UTC).timestamp())
    except ValueError:
        return None


class _TitleRow(NamedTuple):
    title_id: str
    name: str | None
    genres: str
    year: int | None
    released: int | None
    kind: str = "movie"


def _titles_frame(rows: list[_TitleRow], path: Path) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "title_id": [r.title_id for r in rows],
            "name": pd.array([r.name for r in rows], dtype=object),
            "genres": [r.genres for r in rows],
            "year": pd.array([r.year for r in rows], dtype="Int64"),
            "kind": [r.kind for r in rows],
            "released": pd.array([r.released for r in rows], dtype="Int64"),
        }
    )
    return _dedupe_titles(frame.set_index("title_id"), path)


def _dedupe_titles(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    dup = frame.index.duplicated(keep="first")
    if dup.any():
        warnings.warn(
            f"{path}: {int(dup.sum())} title id(s) appear more than once "
            f"(e.g. {_shown(str(frame.index[dup][0]))!r}); the first row of each was kept",
            ReelkitWarning,
            stacklevel=4,
        )
        frame = frame.loc[~dup]
    return frame


def _catalog_text(path: Path, encoding: str | None) -> str:
    with _open_binary(path) as fh:
        raw = fh.read()
    return _decode(raw, encoding, path)


def _catalog_lines(path: Path, encoding: str | None, text: str | None = None) -> Iterator[tuple[int, str]]:
    text = _catalog_text(path, encoding) if text is None else text
    for no, line in enumerate(_LINE_BREAK.split(text), start=1):
        if line.strip():
            yield no, line


def _read_u_item(path: Path, encoding: str | None = None) -> pd.DataFrame:
    rows: list[_TitleRow] = []
    for no, line in _catalog_lines(path, encoding):
        parts = line.split("|")
        if len(parts) != 5 + len(ML100K_GENRES):
            raise DataFormatError(
                f"expected {5 + len(ML100K_GENRES)} '|'-separated fields (id|title|release date|video "
                f"release date|IMDb URL|19 genre flags), found {len(parts)}; fix or remove this line",
                path=str(path),
                line=no,
            )
        flags = parts[5:]
        if any(f.strip() not in ("0", "1") for f in flags):
            raise DataFormatError("genre flags must be 0 or 1; fix this line", path=str(path), line=no)
        if not parts[0].strip():
            raise DataFormatError("empty movie id; fill it in or remove this line", path=str(path), line=no)
        name, title_year = _year_from_title(parts[1])
        released = _date_to_unix(parts[2], "%d-%b-%Y") if parts[2].strip() else None
        # the film's year is the one in its title ("Taxi Driver (1976)"); the release date column holds
        # re-release dates for 190 of the 1,682 films (1996), and the other MovieLens catalogs use the
        # title's. Such a date is no release: left out, so New Releases does not call Das Boot (1981) new
        if (
            released is not None
            and title_year is not None
            and datetime.fromtimestamp(released, UTC).year - title_year > 1
        ):
            released = None
        year = (
            title_year
            if title_year is not None
            else (datetime.fromtimestamp(released, UTC).year if released is not None else None)
        )
        genres = "|".join(g for g, f in zip(ML100K_GENRES, flags, strict=True) if f.strip() == "1")
        rows.append(_TitleRow(parts[0].strip(), name, genres, year, released))
    return _titles_frame(rows, path)


def _read_movies_dat(path: Path, encoding: str | None = None) -> pd.DataFrame:
    rows: list[_TitleRow] = []
    for no, line in _catalog_lines(path, encoding):
        parts = line.split("::")
        if len(parts) != 3 or not parts[0].strip():
            raise DataFormatError(
                f"expected 'MovieID::Title::Genres', found {len(parts)} field(s); fix or remove this line",
                path=str(path),
                line=no,
            )
        name, year = _year_from_title(parts[1])
        rows.append(_TitleRow(parts[0].strip(), name, _clean_genres(parts[2]), year, None))
    return _titles_frame(rows, path)


def _clean_genres(text: str) -> str:
    text = text.strip()
    return "" if text.lower() in ("(no genres listed)", "") else "|".join(g.strip() for g in text.split("|"))


def _read_catalog_delimited(path: Path, encoding: str | None = None, sep: str | None = None) -> pd.DataFrame:
    """``movies.csv``-style catalog: a header naming an id column (plus name/title, genres, …)."""
    text = _catalog_text(path, encoding)
    lines = list(_catalog_lines(path, encoding, text))
    if not lines:
        raise EmptyDataError("the catalog is empty; it needs a header and one title per line", path=str(path))
    sep = (_detect_sep([ln for _, ln in lines[:50]]) or ",") if sep is None else _normalize_sep(sep)
    records: list[tuple[int, list[str] | str]]
    if sep in (",", ";", "|"):
        # as the CSV reader reads records: a quoted name may hold the separator or a line break (it was cut
        # at the break and refused as a short line); each record named by the line it starts on
        records = []
        for no, fields in csv_records(io.StringIO(text, newline=""), sep):
            if fields is None:
                what = "line" if records else "header"
                msg = f"unreadable {what} (an unclosed quote, or a field past csv's 128 KiB limit); fix it"
                raise DataFormatError(msg, path=str(path), line=no)
            if any(f.strip() for f in fields):
                records.append((no, fields))
    else:
        records = [(no, line) for no, line in lines]

    def fields_of(record: list[str] | str) -> list[str]:
        return _split_line(record, sep) if isinstance(record, str) else record

    try:
        header = [_norm_name(h) for h in fields_of(records[0][1])]
    except csv.Error as exc:
        msg = f"unreadable header ({exc}); fix it"
        raise DataFormatError(msg, path=str(path), line=records[0][0]) from None
    pos: dict[str, int] = {}
    for i, h in enumerate(header):
        hit = _TITLE_LOOKUP.get(h)
        if hit is not None and hit[0] not in pos:
            pos[hit[0]] = i
    if "title_id" not in pos:
        raise MissingColumnsError(
            f"no title id column in the catalog header (have {lines[0][1].strip()}); "
            f"name it one of {', '.join(TITLE_ALIASES['title_id'])}",
            path=str(path),
            line=records[0][0],
        )
    rows: list[_TitleRow] = []
    dated: list[tuple[int, int, str]] = []  # (row, line, text) of release dates written as dates
    for no, record in records[1:]:
        try:
            parts = fields_of(record)
        except csv.Error as exc:
            raise DataFormatError(f"unreadable line ({exc}); fix it", path=str(path), line=no) from None
        if len(parts) != len(header):
            raise DataFormatError(
                f"expected {len(header)} fields like the header, found {len(parts)}; fix or remove this line "
                "(quote names that contain the separator)",
                path=str(path),
                line=no,
            )
        tid = parts[pos["title_id"]].strip()
        if not tid:
            raise DataFormatError("empty title id; fill it in or remove this line", path=str(path), line=no)
        name_raw = parts[pos["name"]] if "name" in pos else ""
        name, title_year = _year_from_title(name_raw)
        year: int | None = title_year
        if "year" in pos and parts[pos["year"]].strip():
            try:
                year = int(float(parts[pos["year"]]))
            except ValueError:
                raise DataFormatError(
                    f"year {_shown(parts[pos['year']])!r} is not a number", path=str(path), line=no
                ) from None
        released: int | None = None
        if "released" in pos and parts[pos["released"]].strip():
            rel = parts[pos["released"]].strip()
            if _is_number(rel):
                released = int(float(rel))
            else:  # read below, the column at once
                dated.append((len(rows), no, rel))
        genres = _clean_genres(parts[pos["genres"]]) if "genres" in pos else ""
        kind = (parts[pos["kind"]].strip() if "kind" in pos else "") or "movie"
        rows.append(_TitleRow(tid, name or None, genres, year, released, kind))
    if dated:
        # in one format for the column, as an events file's times (each on its own read 04/03/2021 month
        # first and 13/02/2021 day first in one column), with the same warning when either reading fits
        values, bad, what = _to_unix_seconds(pd.Series([t for _, _, t in dated]), str(path))
        if bad.any():
            k = int(np.argmax(bad))
            what = "a date" if what.startswith("a number") else what
            what = "a date " + what if what.startswith("in the format") else what
            raise DataFormatError(
                f"release date {_shown(dated[k][2])!r} is neither unix seconds nor {what}",
                path=str(path),
                line=dated[k][1],
            )
        for (i, _, _), secs in zip(dated, values.to_numpy(), strict=True):
            rows[i] = rows[i]._replace(released=int(secs))
    return _titles_frame(rows, path)


def _dates_as_datetimes(col: pd.Series) -> pd.Series:
    """A Parquet ``date32``/``date64`` column (pandas reads Python ``date`` objects) as datetimes at midnight
    UTC, as a CSV's dates are read; any other column unchanged."""
    if col.dtype != object:
        return col
    present = col.dropna()
    if len(present) and all(isinstance(v, date) for v in present):
        return pd.to_datetime(col, utc=True)
    return col


def _read_catalog_parquet(path: Path) -> pd.DataFrame:
    try:
        raw = pd.read_parquet(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataFormatError(f"cannot read as Parquet: {exc}", path=str(path)) from None
    if raw.index.name is not None and _norm_name(str(raw.index.name)) in _TITLE_LOOKUP:
        raw = raw.reset_index()
    rename: dict[str, str] = {}
    for col in raw.columns:
        hit = _TITLE_LOOKUP.get(_norm_name(str(col)))
        if hit is not None and hit[0] not in rename.values():
            rename[str(col)] = hit[0]
    frame = raw.rename(columns=rename)
    if "title_id" not in frame:
        raise MissingColumnsError(
            f"no title id column (have {', '.join(map(str, raw.columns))}); "
            f"name it one of {', '.join(TITLE_ALIASES['title_id'])}",
            path=str(path),
        )
    keep = [c for c in ("title_id", "name", "genres", "year", "kind", "released") if c in frame]
    frame = frame[keep].copy()
    if "released" in frame:
        frame["released"] = _dates_as_datetimes(frame["released"])
    if "released" in frame and pd.api.types.is_datetime64_any_dtype(frame["released"]):
        frame["released"] = _datetime_to_unix(frame["released"])
    try:
        frame["title_id"] = _as_id(frame["title_id"])  # a float id column: 10.0 is title 10, as in the events
    except EmptyDataError:
        raise DataFormatError(
            "the catalogue's title id column has missing values; give every title an id", path=str(path)
        ) from None
    return _dedupe_titles(frame.set_index("title_id"), path)


@_names_damaged_input
def load_titles(path: str | Path, *, encoding: str | None = None) -> pd.DataFrame:
    """Read a catalog (``u.item``, ``movies.dat``, ``movies.csv``-like, Parquet), indexed by ``title_id``."""
    p = Path(path)
    if not p.is_file():
        raise DataFormatError("no such catalog file", path=str(p))
    name = _base_name(p)
    _refuse_not_a_table(p, "catalog")
    if name == "u.item":
        return _read_u_item(p, encoding)
    if name.endswith(".dat"):
        return _read_movies_dat(p, encoding)
    if _is_parquet(p):
        return _read_catalog_parquet(p)
    return _read_catalog_delimited(p, encoding)


# ---------------------------------------------------------------------------------------------- assembly
_datetime_to_unix = datetime_to_unix


def _check_titles(
    events: pd.DataFrame,
    titles: pd.DataFrame | None,
    events_path: Path,
    titles_path: Path | None,
    mode: UnknownTitles,
) -> pd.DataFrame:
    if titles is None:
        return events
    # the ids as the dataset will hold them (Parquet float ids: 10.0 is 10), on both sides
    events = events.assign(title_id=_as_id(events["title_id"]))
    seen = pd.Index(pd.unique(events["title_id"]))
    unknown = seen[~seen.isin(titles.index.astype(str))]
    if not len(unknown):
        return events
    example = ", ".join(repr(str(u)) for u in unknown[:5])
    where = f"the catalog {titles_path}" if titles_path is not None else "the catalog"
    if mode == "error":
        raise UnknownIdError(
            f"{events_path}: {len(unknown)} title id(s) in the events are not in {where}, e.g. {example}; "
            "check that both files use the same ids, or load with unknown_titles='keep' (placeholder "
            "titles) or 'drop' (drop those events); on the command line --unknown-titles keep or drop"
        )
    n_ev = int(events["title_id"].isin(unknown).sum())
    action = "added with placeholder names" if mode == "keep" else f"their {n_ev} event(s) were dropped"
    warnings.warn(
        f"{events_path}: {len(unknown)} title id(s) are not in {where} (e.g. {example}); {action}",
        ReelkitWarning,
        stacklevel=3,
    )
    if mode == "drop":
        events = events.loc[~events["title_id"].isin(unknown)].reset_index(drop=True)
        if len(events) == 0:
            raise EmptyDataError(
                f"no events left after dropping titles missing from {where}", path=str(events_path)
            )
    return events


def _build(
    events: pd.DataFrame,
    titles: pd.DataFrame | None,
    path: Path,
    titles_path: Path | None,
    unknown_titles: UnknownTitles,
) -> Dataset:
    if unknown_titles not in ("error", "keep", "drop"):
        raise ConfigError(f"unknown_titles must be 'error', 'keep' or 'drop', not {unknown_titles!r}")
    events = _check_titles(events, titles, path, titles_path, unknown_titles)
    return Dataset.from_events(events, titles, source=str(path))


def _need_file(path: Path) -> None:
    if not path.exists():
        raise DataFormatError("no such file or folder", path=str(path))
    if path.is_file() and path.stat().st_size == 0:
        raise EmptyDataError("the file is empty; it needs one event per line", path=str(path))


def _optional_catalog(
    path: Path | None, encoding: str | None = None
) -> tuple[pd.DataFrame | None, Path | None]:
    if path is None or not path.is_file():
        return None, None
    return load_titles(path, encoding=encoding), path


_ML_FIELDS = ("member_id", "title_id", "value", "timestamp")


@_names_damaged_input
def load_movielens_100k(
    folder_or_u_data: str | Path,
    *,
    titles_path: str | Path | None = None,
    unknown_titles: UnknownTitles = "error",
) -> Dataset:
    """MovieLens 100K: a folder (reads ``u.data``) or a ratings file (``u.data``, ``u1.base``, ``ua.test``…);
    the catalog is ``u.item`` next to it (genres, year, release date) when present."""
    p = Path(folder_or_u_data)
    if p.is_dir():
        p = p / "u.data"
    _need_file(p)
    layout = _Layout(sep="\t", header=False, fields=_ML_FIELDS)
    events = _read_events(p, layout, None, required=_ML_FIELDS, strip_ids=False)
    cat_path = Path(titles_path) if titles_path is not None else p.with_name("u.item")
    titles, used = _optional_catalog(cat_path)
    return _build(events, titles, p, used, unknown_titles)


def _movielens_csv_header(path: Path) -> bool:
    """Whether ``path`` starts with MovieLens' ``userId,movieId,rating,timestamp`` header: only then is a
    ``ratings.csv`` read as MovieLens (one of the user's own, ``userId,movieId,rating``, is read as any
    other events file)."""
    first = _first_line_no(path, None, ",")
    if not first:
        return False
    lines = _iter_lines(path, None, ",")
    try:
        text = next((t for no, t in lines if no == first), "")
    finally:
        lines.close()
    return [_norm_name(t) for t in text.split(",")] == ["userid", "movieid", "rating", "timestamp"]


@_names_damaged_input
def load_movielens_csv(
    ratings_csv: str | Path, *, titles_path: str | Path | None = None, unknown_titles: UnknownTitles = "error"
) -> Dataset:
    """MovieLens CSV (ml-latest, ml-latest-small, ml-20m, ml-25m): ``ratings.csv`` (or its folder) with the
    sibling ``movies.csv`` (year parsed from ``"Title (1995)"``)."""
    p = Path(ratings_csv)
    if p.is_dir():
        p = p / "ratings.csv"
    _need_file(p)
    layout = _sniff_layout(p, sep=",", columns=None, header=None, encoding=None)
    missing = [f for f in _ML_FIELDS if f not in layout.fields]
    if missing or not layout.header:
        raise MissingColumnsError(
            "expected the header userId,movieId,rating,timestamp"
            + (f" (missing {', '.join(missing)})" if missing else "")
            + "; for other layouts give --columns (load_delimited() with columns= in Python)",
            path=str(p),
            line=layout.header_line or 1,
        )
    events = _read_events(p, layout, None, required=_ML_FIELDS, strip_ids=False)
    titles, used = _optional_catalog(_movielens_catalog(p, titles_path, "movies.csv"))
    return _build(events, titles, p, used, unknown_titles)


def _movielens_catalog(ratings: Path, given: str | Path | None, usual: str) -> Path:
    """The catalogue of a MovieLens ratings file: the one given, else ``usual`` beside it (movies.csv,
    movies.dat), else the one any events file finds beside it (a titles.csv was passed over in silence)."""
    if given is not None:
        return Path(given)
    cat = ratings.with_name(usual)
    return cat if cat.is_file() else (_sibling_catalog(ratings) or cat)


@_names_damaged_input
def load_movielens_1m(
    ratings_dat: str | Path, *, titles_path: str | Path | None = None, unknown_titles: UnknownTitles = "error"
) -> Dataset:
    """MovieLens 1M/10M: ``ratings.dat`` (``UserID::MovieID::Rating::Timestamp``, or its folder) with the
    sibling ``movies.dat`` (``MovieID::Title::Genres``, latin-1)."""
    p = Path(ratings_dat)
    if p.is_dir():
        p = p / "ratings.dat"
    _need_file(p)
    layout = _Layout(sep="::", header=False, fields=_ML_FIELDS)
    events = _read_events(p, layout, None, required=_ML_FIELDS, strip_ids=False)
    titles, used = _optional_catalog(_movielens_catalog(p, titles_path, "movies.dat"))
    return _build(events, titles, p, used, unknown_titles)


@_names_damaged_input
def load_delimited(
    path: str | Path,
    *,
    columns: ColumnsSpec | None = None,
    sep: str | None = None,
    header: bool | None = None,
    encoding: str | None = None,
    titles_path: str | Path | None = None,
    unknown_titles: UnknownTitles = "error",
) -> Dataset:
    """A generic delimited events file (see the module docstring for separators, headers and ``columns``).

    ``encoding`` defaults to UTF-8 with a Windows-1252 fallback. ``titles_path`` names a catalog
    to join.
    """
    p = Path(path)
    _need_file(p)
    encoding = encoding or _sniff_encoding(p)
    layout = _sniff_layout(p, sep=sep, columns=columns, header=header, encoding=encoding)
    events = _read_events(p, layout, encoding)
    titles, used = _optional_catalog(Path(titles_path) if titles_path is not None else None)
    if titles_path is not None and titles is None:
        raise DataFormatError("no such catalog file", path=str(titles_path))
    return _build(events, titles, p, used, unknown_titles)


def _is_parquet(path: Path) -> bool:
    if path.suffix.lower() in (".parquet", ".pq"):
        return True
    try:
        with path.open("rb") as fh:
            return fh.read(4) == b"PAR1"
    except OSError:
        return False


@_names_damaged_input
def load_parquet(
    path: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
    titles_path: str | Path | None = None,
    unknown_titles: UnknownTitles = "error",
) -> Dataset:
    """An events table in Parquet, columns named as in delimited files (aliases apply); ``columns`` maps
    column names to fields explicitly. Datetime columns are converted to unix seconds."""
    p = Path(path)
    _need_file(p)
    try:
        raw = pd.read_parquet(p)
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataFormatError(f"cannot read as Parquet: {exc}", path=str(p)) from None
    if columns is not None:
        rename = {str(k): _resolve_field(v) for k, v in columns.items()}
        absent = [k for k in rename if k not in raw.columns]
        if absent:
            raise MissingColumnsError(
                f"no column(s) {', '.join(absent)} (have {', '.join(map(str, raw.columns))}); "
                "check --columns",
                path=str(p),
            )
        fields = _fields_from_header([str(c) for c in raw.columns if str(c) not in rename], p)
        auto = iter(fields)
        fields = [rename[str(c)] if str(c) in rename else next(auto) for c in raw.columns]
        fields = [
            f if str(c) in rename or f not in rename.values() else None
            for c, f in zip(raw.columns, fields, strict=True)
        ]
    else:
        fields = _fields_from_header([str(c) for c in raw.columns], p)
    _check_dup_fields(fields)
    frame = pd.DataFrame({f: raw[c] for c, f in zip(raw.columns, fields, strict=True) if f is not None})
    missing = [f for f in ("member_id", "title_id") if f not in frame]
    if missing:
        raise MissingColumnsError(
            f"no {' or '.join(missing)} column (have {', '.join(map(str, raw.columns))}); rename the columns "
            "or give --columns (columns= in Python)",
            path=str(p),
        )
    if len(frame) == 0:
        raise EmptyDataError("the table has no rows", path=str(p))
    _warn_unused(
        [str(c) for c in raw.columns],
        fields,
        p,
        dtype_kinds(raw),
    )
    for field in ("member_id", "title_id"):
        col = frame[field]
        if isinstance(col.dtype, pd.CategoricalDtype):  # pandas' and Polars' categoricals come back so
            col = col.astype(object)
        if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):
            # as a delimited file's ids are: ' 1' and '1' were two members here and one in the CSV
            col = col.map(lambda v: v.strip() if isinstance(v, str) else v)
        frame[field] = col
        empty = col.isna().to_numpy() | (col.astype(str).str.strip() == "").to_numpy()
        if empty.any():
            raise DataFormatError(
                f"row {int(np.argmax(empty)) + 1}: empty {_FIELD_WORDS[field]}; every event needs a member "
                "and a title id",
                path=str(p),
            )
    if "timestamp" in frame and (empty_ts := frame["timestamp"].isna().to_numpy()).any():
        # here, by the file's row: events of titles the catalogue lacks may be dropped before it is built
        raise DataFormatError(
            f"row {int(np.argmax(empty_ts)) + 1}: empty timestamp; give every event a time, or drop the "
            "column (then all are at 0)",
            path=str(p),
        )
    if "timestamp" in frame:
        frame["timestamp"] = _dates_as_datetimes(frame["timestamp"])
    if "timestamp" in frame and pd.api.types.is_datetime64_any_dtype(frame["timestamp"]):
        frame["timestamp"] = _datetime_to_unix(frame["timestamp"]).astype("float64")
    for field in _NUMERIC_FIELDS:
        if field in frame and not pd.api.types.is_numeric_dtype(frame[field].dtype):
            conv = pd.to_numeric(frame[field], errors="coerce")
            bad = conv.isna().to_numpy() & frame[field].notna().to_numpy()
            if bad.any():
                i = int(np.argmax(bad))
                raise DataFormatError(
                    f"row {i + 1}: {_FIELD_WORDS[field]} {_shown(str(frame[field].iloc[i]))!r} "
                    "is not a number",
                    path=str(p),
                )
            frame[field] = conv
    value_col = next((str(c) for c, f in zip(raw.columns, fields, strict=True) if f == "value"), None)
    if "kind" not in frame and (
        "value" not in frame
        or (not _says_rating(columns, value_col) and "fraction" in frame and frame["fraction"].notna().any())
    ):  # a value beside fractions watched is the position in seconds (a play log), not a rating
        frame["kind"] = "play"
    elif "kind" not in frame and "fraction" in frame:  # a column called a rating: ratings, said so
        frame["kind"] = "rating"
    if "kind" in frame and "value" in frame:  # files only: a store keeps what an older reelkit accepted
        kinds = frame["kind"].astype(str).str.strip().str.lower().to_numpy()
        negative = (kinds == "play") & (pd.to_numeric(frame["value"], errors="coerce").to_numpy() < 0)
        if negative.any():
            i = int(np.argmax(negative))
            raise DataFormatError(
                f"row {i + 1}: play position {float(frame['value'].iloc[i]):g} s is negative", path=str(p)
            )
    titles, used = _optional_catalog(Path(titles_path) if titles_path is not None else _sibling_catalog(p))
    return _build(frame, titles, p, used, unknown_titles)


def _sibling_catalog(path: Path) -> Path | None:
    for name in _CATALOG_NAMES:
        cand = path.with_name(name)
        if cand.is_file() and cand.resolve() != path.resolve():
            return cand
    return None


_ML100K_RATINGS = re.compile(r"^u(\.data|[1-5ab]\.(base|test))$")


#: suffixes that are never an events table (read as delimited text they made up members and titles)
_NOT_EVENTS = frozenset(
    {".yaml", ".yml", ".json", ".jsonl", ".ndjson", ".toml", ".ini", ".html", ".md", ".xml", ".xlsx", ".xls"}
)


def _refuse_not_a_table(p: Path, what: Literal["events", "catalog"]) -> None:
    """Refuse, by name, a file that is no table given by mistake: a concept or config file, JSON lines (read
    as comma-separated text they said "rating 'rating:3.5' is not a number"), an Excel workbook (said to be
    UTF-16 text, or a catalogue header of zip bytes), compressed or not."""
    suffix = Path(_base_name(p)).suffix  # ev.jsonl.gz is JSON lines too
    if suffix in _NOT_EVENTS:
        kind = "an Excel workbook" if suffix in (".xlsx", ".xls") else f"a {suffix.lstrip('.').upper()} file"
        raise _not_a_table(p, kind, what)
    try:
        with _open_binary(p) as fh:
            zipped = fh.read(len(_ZIP)) == _ZIP
    except (OSError, EOFError):
        return
    if zipped:
        raise _not_a_table(p, _ZIP_KIND, what)


#: A zip archive's first bytes (an .xlsx workbook is one), and what it is said to be
_ZIP = b"PK\x03\x04"
_ZIP_KIND = "a zip archive (an Excel workbook?)"


def _not_a_table(p: Path, kind: str, what: Literal["events", "catalog"]) -> DataFormatError:
    hint = "save it as CSV (UTF-8) from Excel, or " if "Excel" in kind else ""
    rows = "member, title[, rating, timestamp]" if what == "events" else "title_id, name, genres, ..."
    table = "a ratings/events table" if what == "events" else "a catalog"
    return DataFormatError(
        f"is {kind}, not {table}; {hint}give a CSV, TSV or Parquet file of {rows} rows", path=str(p)
    )


@_names_damaged_input
def load_events_file(
    path: str | Path,
    *,
    columns: ColumnsSpec | None = None,
    sep: str | None = None,
    titles_path: str | Path | None = None,
    header: bool | None = None,
    encoding: str | None = None,
    unknown_titles: UnknownTitles = "error",
) -> Dataset:
    """Read one events file, choosing the format from its name and contents, with its sibling catalog.

    ``u.data``/``uN.base``/``uN.test`` -> MovieLens 100K (+ ``u.item``); ``ratings.csv`` -> MovieLens CSV
    (+ ``movies.csv``); ``ratings.dat`` -> MovieLens 1M (+ ``movies.dat``); ``.parquet`` (or Parquet
    contents) -> Parquet; anything else -> the generic delimited reader (+ the first sibling of
    ``titles.parquet``, ``titles.csv``, ``movies.csv``… present). Giving ``columns`` or ``sep`` always
    selects the generic reader.
    """
    p = Path(path)
    _need_file(p)
    if p.is_dir():
        raise DataFormatError(
            "is a folder; give a ratings/events file (--ratings), or the folder as --data "
            "(load_dataset() in Python)",
            path=str(p),
        )
    name = _base_name(p)
    _refuse_not_a_table(p, "events")
    generic = columns is not None or sep is not None or header is not None or encoding is not None
    if _is_parquet(p):
        by_name: Mapping[str, str] | None = None
        if columns is not None:  # by name only: a Parquet file's columns have names, not positions
            _, by_name = _parse_columns_spec(columns)
            if by_name is None:
                raise ConfigError(
                    "for Parquet files give the columns by name: viewer=member_id,show=title_id,stars=value "
                    "(or a mapping {column name: field})"
                )
        return load_parquet(p, columns=by_name, titles_path=titles_path, unknown_titles=unknown_titles)
    if not generic:
        if _ML100K_RATINGS.match(name):
            return load_movielens_100k(p, titles_path=titles_path, unknown_titles=unknown_titles)
        if name == "ratings.csv" and _movielens_csv_header(p):
            return load_movielens_csv(p, titles_path=titles_path, unknown_titles=unknown_titles)
        if name == "ratings.dat":
            return load_movielens_1m(p, titles_path=titles_path, unknown_titles=unknown_titles)
    if titles_path is None:
        titles_path = _sibling_catalog(p)
    return load_delimited(
        p,
        columns=columns,
        sep=sep,
        header=header,
        encoding=encoding,
        titles_path=titles_path,
        unknown_titles=unknown_titles,
    )


def catalog_beside(path: str | Path, *, generic: bool = False) -> Path | None:
    """The catalog :func:`load_events_file` reads beside the events file ``path`` (``None``: none there), so
    that an output can be kept off it: ``u.item``, ``movies.csv`` or ``movies.dat`` for MovieLens ratings,
    else the first sibling of ``titles.parquet``, ``titles.csv``, … ``generic``: columns, separator, header
    or encoding were given (the generic reader's choice)."""
    p = Path(path)
    if not p.is_file():
        return None
    name = _base_name(p)
    cand: Path | None
    if generic or _is_parquet(p):
        cand = _sibling_catalog(p)
    elif _ML100K_RATINGS.match(name):
        cand = p.with_name("u.item")
    elif name == "ratings.csv" and _movielens_csv_header(p):
        cand = _movielens_catalog(p, None, "movies.csv")
    elif name == "ratings.dat":
        cand = _movielens_catalog(p, None, "movies.dat")
    else:
        cand = _sibling_catalog(p)
    return cand if cand is not None and cand.is_file() else None


@_names_damaged_input
def load_events(
    path: str | Path,
    *,
    columns: ColumnsSpec | None = None,
    sep: str | None = None,
    header: bool | None = None,
    unknown_titles: UnknownTitles = "error",
    titles_path: str | Path | None = None,
) -> Dataset:
    """A ratings/events file (:func:`load_events_file`, with ``columns``/``sep``/``header`` and a catalogue
    ``titles_path`` instead of the one beside it) or a dataset folder (:func:`load_dataset`): what a command
    or an import given either reads."""
    if Path(path).is_file():
        return load_events_file(
            path,
            columns=columns,
            sep=sep,
            header=header,
            unknown_titles=unknown_titles,
            titles_path=titles_path,
        )
    if Path(path).is_dir() and titles_path is not None:
        raise ConfigError(
            f"{path}: is a dataset folder, with its own titles; a titles file (--titles) is for a ratings "
            "file (give the file inside it instead)"
        )
    if Path(path).is_dir() and (columns is not None or sep is not None or header is not None):
        raise ConfigError(
            f"{path}: is a dataset folder, read by its own layout; the columns, separator and header options "
            "are for a ratings file (give the file inside it instead)"
        )
    return load_dataset(path, unknown_titles=unknown_titles)


@_names_damaged_input
def load_dataset(path: str | Path, *, unknown_titles: UnknownTitles = "error") -> Dataset:
    """Read a dataset folder or file.

    A folder may be a reelkit dataset (``events.parquet``, ``titles.parquet``, ``members.parquet`` from
    :meth:`Dataset.save`), a MovieLens 100K folder (``u.data``), a MovieLens CSV folder (``ratings.csv``)
    or a MovieLens 1M/10M folder (``ratings.dat``); a folder holding exactly one such folder (an unpacked
    archive) works too. A file goes to :func:`load_events_file`.
    """
    p = Path(path)
    if not p.exists():
        raise DataFormatError("no such file or folder", path=str(p))
    if p.is_file():
        return load_events_file(p, unknown_titles=unknown_titles)
    if not p.is_dir():  # a pipe (<(cat ratings.csv)) or a device: "Not a directory" was all it said
        raise DataFormatError(
            "is a pipe or device, not a file or folder: give a file (it is read more than once)", path=str(p)
        )
    if (p / "events.parquet").is_file():
        return Dataset.load(p)
    if (p / "u.data").is_file():
        return load_movielens_100k(p, unknown_titles=unknown_titles)
    if (p / "ratings.csv").is_file():
        return load_events_file(p / "ratings.csv", unknown_titles=unknown_titles)
    if (p / "ratings.dat").is_file():
        return load_movielens_1m(p / "ratings.dat", unknown_titles=unknown_titles)
    subdirs = [c for c in p.iterdir() if c.is_dir() and not c.name.startswith(".")]
    if len(subdirs) == 1 and not any(c.is_file() and not c.name.startswith(".") for c in p.iterdir()):
        return load_dataset(subdirs[0], unknown_titles=unknown_titles)
    raise DataFormatError(
        "not a dataset folder: expected events.parquet (a reelkit dataset), u.data (MovieLens 100K), "
        "ratings.csv (MovieLens latest/25M) or ratings.dat (MovieLens 1M); or give an events file",
        path=str(p),
    )
