"""What a schedule is written as: JSON, CSV (a row per scene), an HTML stripboard, an iCalendar file
per person.

The stripboard follows the production-office convention: one strip per scene coloured by interior/exterior
and day/night (white INT DAY, yellow EXT DAY, blue INT NIGHT, green EXT NIGHT) with its page count in
eighths (``5 3/8``) when the production gives one, and a black strip at the end of each shooting day (with
the day's total pages). Every file is written atomically (temporary file and ``os.replace``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import jinja2
from markupsafe import Markup

from reelkit._files import atomic_paths, finish_commits, naming_output, resolve_path
from reelkit.errors import ConfigError
from reelkit.produce.production import Production
from reelkit.produce.shoot import Schedule, ScheduledScene

__all__ = [
    "CSV_COLUMNS",
    "PlanFiles",
    "person_calendar",
    "read_schedule_csv",
    "schedule_csv",
    "stripboard_fragment",
    "stripboard_html",
    "write_plan",
]

CSV_COLUMNS = (
    "day",
    "date",
    "order",
    "scene_id",
    "name",
    "location",
    "int_ext",
    "day_night",
    "hours",
    "start",
    "end",
    "cast",
    "crew",
    "start_at",
    "end_at",
    "pages",
)


@lru_cache(maxsize=1)
def _env() -> jinja2.Environment:
    folder = resources.files("reelkit.produce").joinpath("templates")
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _number(x: float) -> str:
    """A number as written in the CSV: ``4`` for 4.0, and every digit otherwise (``%g`` keeps six)."""
    return str(int(x)) if x.is_integer() else repr(x)


def _eighths(pages: float) -> int:
    """A page count in eighths of a page, the stripboard's unit: the nearest eighth, and at least one for
    a scene with any pages (a few lines are 1/8)."""
    n = round(pages * 8)
    return 1 if n == 0 and pages > 0 else n


def _in_eighths(n: int) -> str:
    """Eighths written as a stripboard does: ``5 3/8``, ``4/8`` (never reduced), ``4``."""
    whole, part = divmod(n, 8)
    if not part:
        return str(whole)
    return f"{whole} {part}/8" if whole else f"{part}/8"


def scene_times(scene: ScheduledScene, zone: ZoneInfo | None, sep: str = "–") -> str:
    """A scene's wall-clock times as a call sheet shows them, with the zone's abbreviation on a time in the
    repeated hour of an autumn change: a scene from the first 01:30 to the second read "01:30–01:30", as if
    it took no time and overlapped the next (now "01:30 EDT–01:30 EST")."""

    def label(hhmm: str, at: str) -> str:
        if zone is None or not at:
            return hhmm
        moment = datetime.fromisoformat(at).astimezone(zone)
        if moment.replace(fold=0).utcoffset() == moment.replace(fold=1).utcoffset():
            return hhmm
        return f"{hhmm} {moment.tzname()}"

    return f"{label(scene.start, scene.start_at)}{sep}{label(scene.end, scene.end_at)}"


def stripboard_fragment(schedule: Schedule, production: Production) -> Markup:
    """The stripboard as an HTML fragment (its own scoped styles), for the standalone page and the service.

    Cast carry their number in the production's cast list on the strips and in the cast table alike (the
    table's own count skips cast with no scene)."""
    numbers = {p.id: i + 1 for i, p in enumerate(p for p in production.people if p.kind == "cast")}
    names = {p.id: p.label for p in production.people}

    def cast_numbers(ids: tuple[str, ...]) -> Markup:
        # each name isolated (<bdi>): a right-to-left name would take the numbers and commas beside it
        return Markup(", ").join(
            Markup("{}. <bdi>{}</bdi>").format(numbers.get(i, "?"), names.get(i, i)) for i in ids
        )

    cast = [p for p in schedule.people if p.kind == "cast" and p.work_days]
    cast.sort(key=lambda p: numbers.get(p.person_id, 10**6))
    # page counts in eighths, a strip's and a day's total (of its scenes that have one); none, no column
    strip_pages = {
        s.scene_id: _in_eighths(_eighths(s.pages))
        for d in schedule.days
        for s in d.scenes
        if s.pages is not None
    }
    day_pages: dict[int, str] = {}
    for d in schedule.days:
        counted = [_eighths(s.pages) for s in d.scenes if s.pages is not None]
        if counted:
            total = sum(counted)
            day_pages[d.number] = f"{_in_eighths(total)} page{'' if 0 < total <= 8 else 's'}"
    zone = ZoneInfo(schedule.timezone) if schedule.timezone else None
    html = (
        _env()
        .get_template("_strips.html")
        .render(
            schedule=schedule,
            n_scenes=sum(len(d.scenes) for d in schedule.days),
            location_names={loc.id: loc.label for loc in production.locations},
            descriptions={sc.id: sc.description for sc in production.scenes},
            cast_numbers=cast_numbers,
            cast=cast,
            numbers=numbers,
            roles={p.id: p.role for p in production.people},
            show_pages=bool(strip_pages),
            strip_pages=strip_pages,
            day_pages=day_pages,
            times={s.scene_id: scene_times(s, zone) for d in schedule.days for s in d.scenes},
        )
    )
    return Markup(html)


def stripboard_html(schedule: Schedule, production: Production) -> str:
    """A standalone HTML page with the stripboard."""
    board = stripboard_fragment(schedule, production)
    return _env().get_template("stripboard.html").render(schedule=schedule, board=board)


def schedule_csv(schedule: Schedule) -> str:
    """One row per scene in shooting order (columns :data:`CSV_COLUMNS`; cast and crew ``;``-joined; ``date``
    is the shoot day's, ``start_at``/``end_at`` the scene's own date-times, past midnight included;
    ``pages`` as a number, empty for a scene without a page count)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    for day in schedule.days:
        for k, s in enumerate(day.scenes):
            w.writerow(
                [
                    day.number,
                    day.date.isoformat(),
                    k + 1,
                    s.scene_id,
                    s.name,
                    s.location,
                    s.int_ext,
                    s.day_night,
                    f"{s.hours:g}",
                    s.start,
                    s.end,
                    ";".join(s.cast),
                    ";".join(s.crew),
                    s.start_at,
                    s.end_at,
                    "" if s.pages is None else _number(s.pages),
                ]
            )
    return buf.getvalue()


@dataclass(frozen=True)
class CsvRow:
    day: int
    date: date
    order: int
    scene_id: str
    location: str
    start: str
    end: str
    cast: tuple[str, ...]


def read_schedule_csv(text: str) -> list[CsvRow]:
    """Rows of a CSV written by :func:`schedule_csv` (for checks and round trips)."""
    out = []
    for row in csv.DictReader(io.StringIO(text)):
        out.append(
            CsvRow(
                day=int(row["day"]),
                date=date.fromisoformat(row["date"]),
                order=int(row["order"]),
                scene_id=row["scene_id"],
                location=row["location"],
                start=row["start"],
                end=row["end"],
                cast=tuple(c for c in row["cast"].split(";") if c),
            )
        )
    return out


def _slug(text: str) -> str:
    """``text`` in ASCII letters, digits and ``_.-`` (calendar UIDs, kept as earlier plans wrote them)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "person"


def _file_slug(text: str) -> str:
    """A calendar's file name for a person id: letters and digits of any script kept (李 and 王 were both
    ``person``), anything else a path or a shell would read (``/``, spaces, ``:``) made ``-``."""
    return re.sub(r"[^\w.-]+", "-", unicodedata.normalize("NFC", text)).strip("-.") or "person"


PRODID = "-//reelkit//shoot schedule//EN"
"""The PRODID of the calendars reelkit writes (how a plan tells its own stale calendars from others)."""


def _written_by_us(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return f"PRODID:{PRODID}".encode() in head


def person_calendar(
    schedule: Schedule,
    production: Production,
    person_id: str,
    *,
    stamp: datetime | None = None,
    cancelled: Sequence[icalendar.Event] = (),
    earlier: Mapping[str, icalendar.Event] | None = None,
) -> bytes:
    """An iCalendar file for one person: a timed event per working day (their first scene's start to their
    last scene's end, with the scenes and locations) and an all-day "hold" event per paid day off set.

    Each event's UID is the person's and the date's, whether worked or held, so that a re-issued plan
    replaces what an earlier one put on that date; ``DTSTAMP`` is ``stamp`` (default now), the revision
    time RFC 5545 asks for when there is no METHOD (a fixed one told a calendar app that a changed day was
    the one it had). ``cancelled`` are events of an earlier plan this one drops (:func:`write_plan` finds
    them), written after the plan's own. ``earlier``: the earlier plan's events by UID, whose ``SEQUENCE``
    each event carries on (one more where it changed, :func:`_sequence`)."""
    earlier = earlier or {}
    person = production.person(person_id)
    call = next(p for p in schedule.people if p.person_id == person_id)
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    # an X- property is written as given: TEXT-escaped here (RFC 5545 3.3.11), so a newline, comma, semicolon
    # or backslash in a name neither breaks the line (icalendar refused it: a traceback) nor reads as markup
    cal.add("x-wr-calname", icalendar.vText(f"{schedule.production} — {person.label}"))
    stamp = (stamp or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    zone = ZoneInfo(schedule.timezone) if schedule.timezone else None  # None: floating local times
    for day in schedule.days:
        mine = [s for s in day.scenes if person_id in s.cast or person_id in s.crew]
        if not mine:
            continue
        ev = icalendar.Event()
        ev.add("uid", _uid(schedule.production, person_id, day.date))
        ev.add("dtstamp", stamp)
        # a shoot day runs from its call time: a clock time before the call is the next morning
        call_time = production.calendar.call_time

        def at(hhmm: str, day_date: date = day.date, call_time: time = call_time) -> datetime:
            t = time.fromisoformat(hhmm)
            return datetime.combine(day_date + timedelta(days=t < call_time), t, tzinfo=zone)

        if mine[0].start_at and mine[-1].end_at:  # the real date-times (a schedule.json of before has none)
            start = datetime.fromisoformat(mine[0].start_at)
            end = datetime.fromisoformat(mine[-1].end_at)
            if zone is not None:  # the zone's rules (TZID), not the fixed offset written
                start, end = start.astimezone(zone), end.astimezone(zone)
        else:
            start, end = at(mine[0].start), at(mine[-1].end)
            if end <= start:
                end += timedelta(days=1)  # past midnight
        ev.add("dtstart", _as_written(start))
        ev.add("dtend", _as_written(end))
        ev.add("summary", f"Shoot day {day.number}: scenes {', '.join(s.scene_id for s in mine)}")
        locs = list(dict.fromkeys(production.location(s.location).label for s in mine))
        ev.add("location", ", ".join(locs))
        ev.add(
            "description",
            "\n".join(
                f"{scene_times(s, zone, '-')} scene {s.scene_id} {s.int_ext} {s.day_night} {s.name}"
                for s in mine
            ),
        )
        ev.add("sequence", _sequence(ev, earlier.get(str(ev["uid"]))))
        cal.add_component(ev)
    for d in call.hold_days:
        ev = icalendar.Event()
        ev.add("uid", _uid(schedule.production, person_id, d))
        ev.add("dtstamp", stamp)
        ev.add("dtstart", d)
        ev.add("dtend", d + timedelta(days=1))
        ev.add("summary", "On hold (paid, not called)")
        ev.add("transp", "TRANSPARENT")
        ev.add("sequence", _sequence(ev, earlier.get(str(ev["uid"]))))
        cal.add_component(ev)
    for ev in cancelled:
        cal.add_component(_cancellation(ev, stamp))
    # an earlier plan's cancelled day keeps the zone it was written in: its VTIMEZONE is added here too,
    # whether or not this plan has a zone (RFC 5545 3.2.19: every TZID used is defined in the file)
    dates = [d.date for d in schedule.days] + [_event_date(ev) for ev in cancelled]
    if (zone is not None or cancelled) and dates:
        # the VTIMEZONE's transitions must cover the shoot: icalendar's default stops at 2038, and a calendar
        # app reading its rules put a July 2040 call in Lisbon at +00:00 (a year's margin past the last day)
        first, last = min(dates), max(dates)
        cal.add_missing_timezones(
            first_date=min(date(1970, 1, 1), first - timedelta(days=366)),
            last_date=max(date(2038, 1, 1), last + timedelta(days=366)),
        )
    data: bytes = cal.to_ical()
    return data


def _as_written(moment: datetime) -> datetime:
    """``moment`` as an event writes it: in its zone (TZID and wall time) when that wall time is one instant,
    in UTC when it is not: RFC 5545 3.3.5 reads a time in the repeated hour of an autumn change as the first
    occurrence (an end at the second 01:30 in Lisbon was an hour short) and one skipped in spring is no time.
    """
    if moment.tzinfo is not None and moment.replace(fold=0).utcoffset() != moment.replace(fold=1).utcoffset():
        return moment.astimezone(UTC)
    return moment


_CANCELLED = "Cancelled: "


def _cancellation(event: icalendar.Event, stamp: datetime) -> icalendar.Event:
    """An earlier plan's event, written again as cancelled (RFC 5545 ``STATUS:CANCELLED``, same UID and
    times): a re-plan that drops a day must say so, since a calendar that imported the earlier file keeps
    every event the new file merely leaves out."""
    ev = icalendar.Event()
    ev.add("uid", str(event["uid"]))
    ev.add("dtstamp", stamp.astimezone(UTC).replace(microsecond=0))
    for key in ("dtstart", "dtend", "location"):
        if key in event:
            ev[key] = event[key]
    summary = str(event.get("summary", ""))
    ev.add("summary", summary if summary.startswith(_CANCELLED) else _CANCELLED + summary)
    ev.add("status", "CANCELLED")
    ev.add("transp", "TRANSPARENT")
    ev.add("sequence", _sequence(ev, event))
    return ev


#: What a revision of an event changes (RFC 5545 3.8.7.4: DTSTAMP alone is not a revision).
_REVISED = ("dtstart", "dtend", "summary", "location", "description", "status", "transp")


def _sequence(event: icalendar.Event, earlier: icalendar.Event | None) -> int:
    """The event's ``SEQUENCE`` (RFC 5545 3.8.7.4): 0 when it is new, the earlier one's when unchanged, one
    more when its times, summary, place, description or status changed. Calendar apps that go by it
    (Outlook's import among them) kept a moved day where the earlier file put it: every event was 0."""
    if earlier is None:
        return 0
    try:
        seq = int(earlier.get("sequence", 0))
    except (TypeError, ValueError):  # not a number: written by hand, not by us
        seq = 0

    def value(ev: icalendar.Event, key: str) -> Any:
        return ev.decoded(key) if key in ev else None

    return seq if all(value(event, k) == value(earlier, k) for k in _REVISED) else seq + 1


def _event_date(event: icalendar.Event) -> date:
    """The date an event starts on (a timed event's in its own zone)."""
    start = event.decoded("dtstart")
    return start.date() if isinstance(start, datetime) else start


def _uid(production: str, person_id: str, day: date) -> str:
    """A calendar event's UID: the person's and the date's, worked or held (a re-issued plan replaces it)."""
    return f"{_uid_stem(production, person_id)}-{day.isoformat()}@reelkit"


def _uid_stem(production: str, person_id: str) -> str:
    """The readable part of a calendar event's UID plus a short hash of the exact ids: slugs alone made
    ``a b`` and ``a-b`` one UID, so importing both calendars into one would overwrite one's events."""
    digest = hashlib.sha1(f"{production}\x1f{person_id}".encode(), usedforsecurity=False).hexdigest()[:8]
    return f"{_slug(production)}-{_slug(person_id)}-{digest}"


@dataclass(frozen=True)
class PlanFiles:
    """The files a plan wrote. ``calendars``: one per person the plan calls; ``cancelled``: how many events
    of an earlier plan in the folder each calendar (also one for someone no longer called) now cancels."""

    schedule_json: Path
    schedule_csv: Path
    stripboard: Path
    calendars: dict[str, Path]
    cancelled: dict[Path, int] = field(default_factory=dict)


def check_plan_folder(out_dir: str | Path, production_file: str | Path | None = None) -> Path:
    """The folder :func:`write_plan` writes to, refused when it is a file or when the production file is one
    of the files a plan replaces there (``schedule.json`` and the rest)."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"-o {out}: is a file; the plan is written into a folder")
    if production_file is not None:
        src = resolve_path(production_file)
        o = resolve_path(out)
        written = {"schedule.json", "schedule.csv", "stripboard.html"}
        if (src.parent == o and src.name in written) or o / "calendars" in src.parents:
            raise ConfigError(
                f"-o {out}: the production file {src.name} is one of the files the plan writes there; "
                "rename it or choose another folder"
            )
    return out


def write_plan(schedule: Schedule, production: Production, out_dir: str | Path) -> PlanFiles:
    """Write ``schedule.json``, ``schedule.csv``, ``stripboard.html`` and ``calendars/<person>.ics``.

    Every file is written to a temporary file first and all are renamed into place only when all are
    written, so a plan that cannot be written whole (a calendar's name taken by a folder, a full disk)
    leaves the folder's earlier plan as it was, not half replaced. Days an earlier plan of the same
    production there gave someone, and this one does not, are written again as cancelled events."""
    out = Path(out_dir)
    finish_commits(out)  # an earlier plan stopped among its renames is completed before it is read
    sj, sc, sb = out / "schedule.json", out / "schedule.csv", out / "stripboard.html"
    contents: dict[Path, bytes] = {
        sj: (json.dumps(schedule.to_dict(), indent=2) + "\n").encode(),
        sc: schedule_csv(schedule).encode(),
        sb: stripboard_html(schedule, production).encode(),
    }
    cals: dict[str, Path] = {}
    used: set[str] = set()  # lower case: ids "Ana" and "ana" are one file on macOS and Windows
    stamp = datetime.now(UTC)  # one revision time for the whole plan
    for call in schedule.people:
        if not call.work_days:
            continue
        name = _file_slug(call.person_id)
        while name.lower() in used:
            name += "_"
        used.add(name.lower())
        cals[call.person_id] = out / "calendars" / f"{name}.ics"
    # days an earlier plan of this production in the folder gave someone and this one does not: written
    # again as cancelled, in the person's new calendar or, for someone no longer called, in their old file
    live = {  # the events person_calendar wrote: each day worked or held
        _uid(schedule.production, call.person_id, d)
        for call in schedule.people
        if call.person_id in cals
        for d in (*call.work_days, *call.hold_days)
    }
    owner = {_uid_stem(schedule.production, pid): pid for pid in cals}
    mine: dict[str, list[icalendar.Event]] = {}
    # by file and person: two people dropped whose ids slug alike get a calendar each, not one between them
    orphans: dict[tuple[Path, str], tuple[icalendar.Calendar, list[icalendar.Event]]] = {}
    seen: set[str] = set()
    earlier_cals = _earlier_calendars(out / "calendars", schedule.production)
    earlier = {str(ev.get("uid", "")): ev for _, old_cal in earlier_cals for ev in old_cal.events}
    for old, old_cal in earlier_cals:
        for ev in old_cal.events:
            uid = str(ev.get("uid", ""))
            # plans written before a held day shared its UID with a worked day named it ...-DATE-hold: the
            # same day (a re-plan cancelled holds still held, in extra calendars for people still called)
            day_uid = uid[: -len("-hold@reelkit")] + "@reelkit" if uid.endswith("-hold@reelkit") else uid
            stem = day_uid[: -len("-YYYY-MM-DD@reelkit")]
            if day_uid in live or uid in seen or day_uid in seen or not uid.endswith("@reelkit"):
                continue
            seen.update((uid, day_uid))
            if stem in owner:
                mine.setdefault(owner[stem], []).append(ev)
            else:
                orphans.setdefault((old, ""), (old_cal, []))[1].append(ev)
    # a day the earlier schedule.json gave someone whose earlier calendar is gone (deleted, moved): its
    # cancellation is made from the schedule alone (all day: a calendar matches it by its UID)
    for pid, days in _earlier_days(out / "schedule.json", schedule.production).items():
        for d, held in days:
            uid = _uid(schedule.production, pid, d)
            if uid in live or uid in seen:
                continue
            seen.add(uid)
            ev = icalendar.Event()
            ev.add("uid", uid)
            ev.add("dtstart", d)
            ev.add("dtend", d + timedelta(days=1))
            ev.add("summary", "On hold (paid, not called)" if held else "Shoot day")
            if pid in cals:
                mine.setdefault(pid, []).append(ev)
            else:
                path = out / "calendars" / f"{_file_slug(pid)}.ics"
                label = next((x.label for x in production.people if x.id == pid), pid)
                own = icalendar.Calendar()
                own.add("x-wr-calname", icalendar.vText(f"{schedule.production} — {label}"))
                orphans.setdefault((path, pid), (own, []))[1].append(ev)
    cancelled: dict[Path, int] = {}
    for pid, path in cals.items():  # each event carries on its earlier SEQUENCE
        events = mine.get(pid, [])
        contents[path] = person_calendar(
            schedule, production, pid, stamp=stamp, cancelled=events, earlier=earlier
        )
        if events:
            cancelled[path] = len(events)
    for (old, _), (old_cal, events) in orphans.items():
        name = old.stem
        while name.lower() in used:  # the file now belongs to someone else: the old name, made unique
            name += "_"
        used.add(name.lower())
        path = out / "calendars" / f"{name}.ics"
        contents[path] = _cancellations_calendar(old_cal, events, stamp)
        cancelled[path] = len(events)
    # all renamed together, or (a kill among the renames) completed by the next reader or writer
    with atomic_paths(list(contents), out) as temps:
        for tmp, (path, data) in zip(temps, contents.items(), strict=True):
            with naming_output(path):  # a full disk named no file
                tmp.write_bytes(data)
    # other calendars of ours here (another production's, or an earlier plan's with nothing left to cancel)
    # would be sent out with the new ones: they go (only ours: a calendar of the user's own stays)
    # by file, not name: on a case-insensitive disk the listing may give an earlier plan's "Ana.ics" for the
    # "ana.ics" just written over it
    keep = {(st.st_dev, st.st_ino) for st in (c.stat() for c in [*cals.values(), *cancelled])}
    folder = out / "calendars"
    for old in folder.glob("*.ics") if folder.is_dir() else ():
        try:
            st = old.stat()
        except OSError:  # a broken link: no calendar of ours
            continue
        if (st.st_dev, st.st_ino) not in keep and _written_by_us(old):
            old.unlink(missing_ok=True)
    return PlanFiles(sj, sc, sb, cals, cancelled)


def _earlier_calendars(folder: Path, production: str) -> list[tuple[Path, icalendar.Calendar]]:
    """The calendars an earlier plan of ``production`` wrote in ``folder`` (by their PRODID and name);
    one that cannot be read is passed over (it is not ours to rewrite)."""
    found = []
    for path in sorted(folder.glob("*.ics")) if folder.is_dir() else ():
        if not _written_by_us(path):
            continue
        try:
            cal = icalendar.Calendar.from_ical(path.read_bytes())
        except (OSError, ValueError):
            continue
        if _calname(cal).startswith(f"{production} — "):
            found.append((path, cal))
    return found


def _earlier_days(path: Path, production: str) -> dict[str, list[tuple[date, bool]]]:
    """Each person's (date, held) in the ``schedule.json`` an earlier plan of ``production`` left at
    ``path``; empty when there is none or it cannot be read."""
    try:
        earlier = Schedule.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):  # not ours, or not a schedule
        return {}
    if earlier.production != production:
        return {}
    return {
        c.person_id: [(d, False) for d in c.work_days] + [(d, True) for d in c.hold_days]
        for c in earlier.people
    }


def _calname(cal: icalendar.Calendar) -> str:
    """A calendar's X-WR-CALNAME as text: icalendar reads an X- property as its TEXT-escaped bytes (RFC 5545
    3.3.11), which its own ``vText.from_ical`` leaves escaped."""
    value = cal.get("x-wr-calname")
    if value is None:
        return ""
    raw = value.to_ical()
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m[1] in "nN" else m[1], text)


def _cancellations_calendar(
    earlier: icalendar.Calendar, events: Sequence[icalendar.Event], stamp: datetime
) -> bytes:
    """The calendar of someone a re-plan no longer calls: each of their earlier days, cancelled."""
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", icalendar.vText(_calname(earlier)))
    for tz in earlier.walk("VTIMEZONE"):
        cal.add_component(tz)
    for ev in events:
        cal.add_component(_cancellation(ev, stamp))
    data: bytes = cal.to_ical()
    return data
