"""How the columns of an events table are named: the aliases a file's header or a frame's columns may use
(:data:`EVENT_ALIASES`), and the warning for a column that may be the missing rating or time. Shared by the
file readers (:mod:`reelkit.data.loaders`) and :meth:`~reelkit.data.dataset.Dataset.from_events`, so that
a frame and a file with the same columns read alike (but for one thing: a frame's column named exactly as
its field wins over its twins, ``member_id`` over ``memberId``, which a file's header refuses)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from reelkit.errors import DataFormatError, ReelkitWarning

__all__ = [
    "EVENT_ALIASES",
    "EVENT_LOOKUP",
    "RATING_NAMES",
    "alias_lookup",
    "dtype_kinds",
    "fields_from_header",
    "norm_name",
    "warn_unused",
]

#: Accepted column names of event files per canonical field (compared without case, ``_``, ``-``, spaces).
#: ``title`` is a last-resort alias of ``title_id``: a real id column wins over it.
EVENT_ALIASES: dict[str, tuple[str, ...]] = {
    "member_id": ("member_id", "member", "user_id", "user", "uid", "customer_id"),
    "title_id": ("title_id", "movie_id", "movie", "item_id", "item", "iid", "title"),
    "value": ("value", "rating", "score"),
    "timestamp": ("timestamp", "time", "ts", "datetime", "date"),
    "kind": ("kind", "event", "event_type"),
    "fraction": ("fraction", "progress"),
}


def norm_name(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name.strip().strip('"').lstrip("\ufeff").lower())


def alias_lookup(table: Mapping[str, tuple[str, ...]]) -> dict[str, tuple[str, int]]:
    out: dict[str, tuple[str, int]] = {}
    for field, names in table.items():
        for prio, name in enumerate(names):
            out.setdefault(norm_name(name), (field, prio))
    return out


#: Names of a value column that say it holds ratings (beside fractions watched, a ``value`` is a position).
RATING_NAMES = frozenset({"rating", "score"})

EVENT_LOOKUP = alias_lookup(EVENT_ALIASES)


def fields_from_header(
    names: Sequence[str], path: str | Path, line: int | None = 1, *, exact_wins: bool = False
) -> list[str | None]:
    """The event field of each column name (None: no known name); two names of one field at the same
    priority (``user_id`` and ``userId``) are an error, otherwise the earlier alias wins.

    ``exact_wins`` (a frame's columns): a column named exactly as its field (``member_id``) is that field,
    whatever other names of it there are (``memberId`` beside it, as a merge leaves): frames were read by
    their exact names before they were read by aliases too. A file's header refuses such twins, as it
    always did."""
    exact = {f: names.index(f) for f in EVENT_ALIASES if exact_wins and list(names).count(f) == 1}
    best: dict[str, tuple[int, int]] = {f: (0, pos) for f, pos in exact.items()}  # field -> (prio, position)
    for pos, name in enumerate(names):
        hit = EVENT_LOOKUP.get(norm_name(name))
        if hit is None:
            continue
        field, prio = hit
        if field in exact:
            continue
        if field in best and best[field][0] == prio:
            raise DataFormatError(
                f"columns {names[best[field][1]]!r} and {name!r} both look like {field}; "
                "pass columns= to say which to use",
                path=str(path),
                line=line,
            )
        if field not in best or prio < best[field][0]:
            best[field] = (prio, pos)
    fields: list[str | None] = [None] * len(names)
    for field, (_, pos) in best.items():
        fields[pos] = field
    return fields


def warn_unused(
    names: Sequence[str],
    fields: Sequence[str | None],
    path: str | Path,
    kinds: Sequence[tuple[bool, bool]],
    *,
    frame: bool = False,
    stacklevel: int = 2,
) -> None:
    """Warn when a header column that could be the rating (numbers) or the time (numbers or dates) goes
    unused while the events have none: a ``stars`` or ``watched_at`` column was dropped without a word,
    and ratings became plays at time 0. ``kinds``: per column, (numbers, numbers or dates) in a sample.
    ``frame``: the columns are a DataFrame's, which the advice says to rename (no ``columns=`` there)."""

    def say(pairs: Sequence[tuple[str, str]]) -> str:
        if frame:
            return ".rename(columns={" + ", ".join(f"{a!r}: {b!r}" for a, b in pairs) + "})"
        return "--columns '" + ",".join(f"{a}={b}" for a, b in pairs) + "'"

    no_value = "value" not in fields and "kind" not in fields  # with a kind column a rating needs a value
    no_time = "timestamp" not in fields
    # a column named as a field another column took (``rating`` beside ``value``, ``memberId`` beside
    # ``member_id``) is that field's, not a candidate for what is missing: ``rating`` was offered as the time
    unused = [
        (str(n), k)
        for n, f, k in zip(names, fields, kinds, strict=True)
        if f is None and str(n).strip() and norm_name(str(n)) not in EVENT_LOOKUP
    ]
    rating = [n for n, (numbers, _) in unused if no_value and numbers]
    time = [n for n, (_, timelike) in unused if no_time and timelike]
    if not rating and not time:  # a tag or a title: nothing that could be read as what is missing
        return
    lacking = " or ".join(w for w, gone in (("rating", no_value), ("time", no_time)) if gone)
    read_as = "plays" if no_value else "events"
    read_as += " without times (all at 0)" if no_time else " (implicit feedback)"
    name, field = (rating[0], "rating") if rating else (time[0], "timestamp")
    where = "" if frame else " (columns= in Python)"
    advice = f"if one is the {lacking}, say so: {say([(name, field)])}{where}"
    # a rating is not what every number is: seconds watched and thumbs read as ratings were stars (3000 of
    # them) and liked thumbs-down
    key = {n: norm_name(n) for n in rating}
    seconds = [n for n in rating if any(w in key[n] for w in ("sec", "watch", "position", "duration"))]
    share = [n for n in rating if any(w in key[n] for w in ("complet", "frac", "percent", "share"))]
    thumbs = [n for n in rating if "thumb" in key[n]]
    if thumbs:
        advice = (
            f"'{thumbs[0]}' as a rating would make a thumbs-down (-1) the low end of a rating scale: for "
            f"thumbs (1 up, -1 down) add a kind column saying thumb and map {say([(thumbs[0], 'value')])}"
        )
    elif seconds:
        frac = share[0] if share else "FRACTION_COLUMN"
        advice = (
            f"for a play log (seconds watched, a fraction of the title) say so: "
            f"{say([(seconds[0], 'value'), (frac, 'fraction')])} (events with a fraction are plays"
            f"{'' if frame else '; columns= in Python'})"
        )
    warnings.warn(
        f"{path}: column(s) {', '.join(map(repr, dict.fromkeys(rating + time)))} not used and no {lacking} "
        f"column found, so the events are read as {read_as}; {advice}",
        ReelkitWarning,
        stacklevel=stacklevel,
    )


def dtype_kinds(frame: pd.DataFrame) -> list[tuple[bool, bool]]:
    """Per typed column (a frame's, a Parquet file's): (numbers, numbers or dates), as
    :func:`warn_unused` takes them."""
    out = []
    for t in frame.dtypes:
        numbers = bool(pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t))
        out.append((numbers, numbers or bool(pd.api.types.is_datetime64_any_dtype(t))))
    return out
