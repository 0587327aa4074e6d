"""The production file: scenes, people, locations, the shooting calendar and the hard constraints.

A production file is YAML or JSON (:func:`load_production`). Everything is validated by pydantic and then
cross-checked (ids referenced by scenes and constraints must exist, durations must fit a working day);
every problem is reported with the file and the field path, e.g. ``prod.yaml: scenes[3].cast[1]: unknown
person 'bob'``, as a :class:`ProductionFormatError` (a user error: the CLI exits 2, the service answers 422).

Conventions
    Durations are hours of shooting (``duration: 1.5``). Dates are ISO dates. ``available`` is a list of
    date windows (empty: always available); ``days_off`` are single dates inside them. Cast are paid their
    ``daily_rate`` for every shooting day from their first to their last working day (the classic holding
    rule); crew named by scenes (day players: stunt coordinator, steadicam, ...) are paid for the days they
    work; the core crew and the unit's overheads are ``costs.day_cost`` per shooting day. A location's
    ``setup_cost`` is paid for each day the unit shoots there; ``move_costs`` prices a company move between
    two locations on the same day (symmetric; ``costs.default_move_cost`` otherwise). A day visits each
    location once: its scenes at a location are shot together. So ``constraints.precedences`` and
    ``same_day`` groups that would send a day back to a location (scene A at the house, then B in the
    street, then C at the house, all on one day) cannot hold together.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, time, timedelta
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, TypeVar, get_args

import pydantic
import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    field_validator,
    model_validator,
)

from reelkit._files import atomic_write_bytes, atomic_write_text, check_input_file
from reelkit.config import error_message
from reelkit.errors import DataFormatError

__all__ = [
    "WEEKDAYS",
    "Calendar",
    "Constraints",
    "Costs",
    "Location",
    "NotBefore",
    "Person",
    "Precedence",
    "Production",
    "ProductionFormatError",
    "SameDay",
    "Scene",
    "Window",
    "atomic_write_bytes",
    "atomic_write_text",
    "dump_production",
    "load_production",
    "parse_production",
]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ProductionFormatError(DataFormatError):
    """A production (or pool, concept) file is invalid; ``fields`` lists ``(field path, message)`` pairs."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        fields: Sequence[tuple[str, str]] = (),
    ):
        super().__init__(message, path=path, line=line)
        self.fields = list(fields)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_loose_scalars(cls, v: Any, info: pydantic.ValidationInfo) -> Any:
        """Refuse what pydantic would convert silently: YAML's yes/true as the number 1 (``duration:
        yes`` was a one-hour scene, ``skills: {drama: yes}`` a full skill), numbers as dates (``start: 0``
        was 1 January 1970) and as times (YAML reads ``call_time: 7:30`` as 450: a 00:07 call)."""
        kinds = _field_kinds(cls, info.field_name or "")
        items = v if isinstance(v, list) else list(v.values()) if isinstance(v, dict) else [v]
        for x in items:
            if isinstance(x, bool) and kinds & {int, float} and bool not in kinds:
                raise ValueError(f"give a number, not {str(x).lower()}")
            iso = isinstance(x, date | None) or (isinstance(x, str) and _ISO_DATE.fullmatch(x.strip()))
            if date in kinds and not iso:
                raise ValueError(f"give a date as YYYY-MM-DD, not {x!r}")
            if time in kinds and isinstance(x, int | float) and not isinstance(x, bool):
                raise ValueError(
                    f"give a time as 'HH:MM' in quotes (YAML reads 7:30 as the number 450), not {x!r}"
                )
        return v


T = TypeVar("T")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@cache
def _field_kinds(model: type[BaseModel], name: str) -> frozenset[Any]:
    """The plain types of ``model``'s field ``name`` (once per field, not once per value checked)."""
    field = model.model_fields.get(name)
    return frozenset() if field is None else frozenset(_scalar_kinds(field.annotation))


def _scalar_kinds(annotation: Any) -> set[Any]:
    """The plain types inside an annotation (``float | None``, ``list[date]``, ``Annotated[...]``)."""
    args = get_args(annotation)
    if not args:
        return {annotation}
    out: set[Any] = set()
    for a in args:
        out |= _scalar_kinds(a)
    return out


Id = Annotated[str, StringConstraints(min_length=1, max_length=200)]


class Window(_Model):
    """Dates ``start`` to ``end``, both included."""

    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class _Available(_Model):
    available: list[Window] = Field(default_factory=list)
    days_off: list[date] = Field(default_factory=list)

    def is_available(self, day: date) -> bool:
        if day in self.days_off:
            return False
        return not self.available or any(w.start <= day <= w.end for w in self.available)


class Person(_Available):
    """A member of the cast or of the crew."""

    id: Id
    name: str = ""
    kind: Literal["cast", "crew"] = "cast"
    #: The character played (cast) or the job (crew).
    role: str = ""
    daily_rate: float = Field(0.0, ge=0, le=1e7)
    email: str = ""

    @field_validator("id")
    @classmethod
    def _no_list_separator(cls, v: str) -> str:
        if ";" in v:
            raise ValueError("a person id cannot hold ';' (it separates the people in the schedule CSV)")
        return v

    @property
    def label(self) -> str:
        return self.name or self.id


class Location(_Available):
    """A place the unit shoots at."""

    id: Id
    name: str = ""
    address: str = ""
    setup_cost: float = Field(0.0, ge=0, le=1e8)
    #: Cost of a company move from here to another location on the same day (by location id).
    move_costs: dict[str, float] = Field(default_factory=dict)

    @field_validator("move_costs")
    @classmethod
    def _non_negative(cls, v: dict[str, float]) -> dict[str, float]:
        for k, c in v.items():
            if not (c >= 0 and math.isfinite(c)):
                raise ValueError(f"move cost to {k!r} must be a non-negative number, not {c}")
        return v

    @property
    def label(self) -> str:
        return self.name or self.id


class Scene(_Model):
    """One scene (a strip on the board)."""

    id: Id
    name: str = ""
    description: str = ""
    #: Shooting time in hours.
    duration: float = Field(gt=0, le=24)
    cast: list[Id] = Field(default_factory=list)
    crew: list[Id] = Field(default_factory=list)
    location: Id
    int_ext: Literal["INT", "EXT"] = "INT"
    day_night: Literal["DAY", "NIGHT"] = "DAY"
    #: Script pages (a stripboard shows them in eighths); at most 1000, and finite: they are summed and
    #: shown, and an infinite count crashed the stripboard.
    pages: float | None = Field(None, ge=0, le=1000, allow_inf_nan=False)

    @field_validator("int_ext", "day_night", mode="before")
    @classmethod
    def _upper(cls, v: Any) -> Any:
        return v.strip().upper() if isinstance(v, str) else v

    @property
    def seconds(self) -> int:
        """The duration in whole seconds, rounded up: the working hours are checked on these (CP-SAT takes
        integers), so the scenes of a day never run past them (rounded minutes let twenty scenes of 0.508 h
        fill a 10-hour day, 10.16 h)."""
        return max(1, math.ceil(self.duration * 3600 - 1e-6))

    @property
    def minutes(self) -> int:
        """The duration in whole minutes, rounded (for display; the working hours are checked on
        :attr:`seconds`)."""
        return round(self.duration * 60)


class Calendar(_Model):
    """The shooting calendar."""

    #: The first date the shoot may use; a continuous shoot (``allow_gaps`` false) starts on the first working
    #: day from it. Before 3000 (the calendar looks years ahead of it; 9999-12-30 overflowed Python's dates).
    start: date = Field(lt=date(3000, 1, 1))
    hours_per_day: float = Field(10.0, gt=0, le=24)
    #: Weekdays without shooting (``mon`` ... ``sun``).
    rest_days: list[str] = Field(default_factory=lambda: ["sat", "sun"])
    holidays: list[date] = Field(default_factory=list)
    #: The shoot ends within this many working days of ``start`` (with ``allow_gaps`` it may shoot on fewer
    #: of them); default: 1.5 times the days the scenes need, plus 5.
    max_days: int | None = Field(None, ge=1, le=400)
    call_time: time = time(7, 0)
    #: Allow working days without shooting (default: the shoot is continuous: it starts on the first working
    #: day from ``start`` and shoots every working day until it ends).
    allow_gaps: bool = False
    #: IANA time zone of the call times (``Europe/Lisbon``); empty: local (floating) times in the calendars.
    timezone: str = ""

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        if v:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(v)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone {v!r}; use an IANA name such as Europe/Lisbon") from None
        return v

    @field_validator("rest_days", mode="before")
    @classmethod
    def _weekdays(cls, v: Any) -> Any:
        if isinstance(v, list):
            out = []
            for d in v:
                key = str(d).strip().lower()[:3]
                if key not in WEEKDAYS:
                    raise ValueError(f"unknown weekday {d!r}; use mon, tue, wed, thu, fri, sat, sun")
                out.append(key)
            if len(set(out)) == 7:
                raise ValueError("every weekday is a rest day")
            return out
        return v

    @property
    def seconds(self) -> int:
        """The working day in whole seconds, rounded down (see :attr:`Scene.seconds`)."""
        return math.floor(self.hours_per_day * 3600 + 1e-6)

    @property
    def minutes(self) -> int:
        """The working day in whole minutes, rounded (for display; see :attr:`seconds`)."""
        return round(self.hours_per_day * 60)

    def working_days(self, n: int) -> list[date]:
        """The first ``n`` dates from ``start`` that are neither rest days nor holidays."""
        rest = {WEEKDAYS.index(d) for d in self.rest_days}
        hol = set(self.holidays)
        out: list[date] = []
        day = self.start
        while len(out) < n:
            if day.weekday() not in rest and day not in hol:
                out.append(day)
            day += timedelta(days=1)
        return out


class Costs(_Model):
    #: Core crew, equipment and overheads per shooting day.
    day_cost: float = Field(0.0, ge=0, le=1e9)
    default_move_cost: float = Field(0.0, ge=0, le=1e8)


class Precedence(_Model):
    """Scene ``before`` is shot before scene ``after`` (an earlier day, or earlier the same day: a day visits
    each location once, so on one day it orders the scenes' locations)."""

    before: Id
    after: Id


class SameDay(_Model):
    """These scenes are shot on the same day (a day visits each location once: with precedences, their
    locations must fall in one order)."""

    scenes: list[Id] = Field(min_length=2)


class NotBefore(_Model):
    """Scene ``scene`` is not shot before ``date``."""

    scene: Id
    date: date


class Constraints(_Model):
    precedences: list[Precedence] = Field(default_factory=list)
    same_day: list[SameDay] = Field(default_factory=list)
    not_before: list[NotBefore] = Field(default_factory=list)


RoleKind = Literal["director", "dop", "editor", "composer", "lead", "supporting", "crew"]


class Role(_Model):
    """A position to fill in crew and cast matching (see :mod:`reelkit.produce.crew`)."""

    id: Id
    kind: RoleKind
    #: For cast roles: the person id (character) in ``people`` whose shooting days the actor works.
    character: str | None = None
    #: Skills the role asks for with their weights (``{"action": 2, "period": 1}``), each >= 0.
    skills: dict[str, Annotated[float, Field(ge=0, le=1e6, allow_inf_nan=False)]] = Field(
        default_factory=dict
    )
    #: Days engaged; default: the character's days (cast) or every shooting day (crew).
    days: int | None = Field(None, ge=1)


class Production(_Model):
    """A whole production file."""

    name: str = "production"
    calendar: Calendar
    costs: Costs = Costs()
    people: list[Person] = Field(default_factory=list)
    locations: list[Location] = Field(min_length=1)
    scenes: list[Scene] = Field(min_length=1)
    constraints: Constraints = Constraints()
    # crew and cast matching (optional)
    genres: list[str] = Field(default_factory=list)
    city: str = ""
    budget: float | None = Field(None, ge=0, le=1e15, allow_inf_nan=False)
    roles: list[Role] = Field(default_factory=list)

    def person(self, pid: str) -> Person:
        return self._people[pid]

    def location(self, lid: str) -> Location:
        return self._locations[lid]

    def scene(self, sid: str) -> Scene:
        return self._scenes[sid]

    _people: dict[str, Person] = PrivateAttr(default_factory=dict)
    _locations: dict[str, Location] = PrivateAttr(default_factory=dict)
    _scenes: dict[str, Scene] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any) -> None:
        self._people = {p.id: p for p in self.people}
        self._locations = {loc.id: loc for loc in self.locations}
        self._scenes = {s.id: s for s in self.scenes}

    def move_cost(self, a: str, b: str) -> float:
        """Cost of a company move between locations ``a`` and ``b`` (symmetric)."""
        if a == b:
            return 0.0
        la, lb = self._locations[a], self._locations[b]
        if b in la.move_costs:
            return la.move_costs[b]
        if a in lb.move_costs:
            return lb.move_costs[a]
        return self.costs.default_move_cost

    def cost_scale(self) -> int:
        """The power of ten that makes every cost of the production a whole number (10 for costs in
        thousands with one decimal, 100 for cents), at most 10**4; the solvers work in these units, since
        CP-SAT takes integer coefficients only (finer costs are rounded to 1e-4)."""
        values = [p.daily_rate for p in self.people]
        values += [self.costs.day_cost, self.costs.default_move_cost]
        for loc in self.locations:
            values += [loc.setup_cost, *loc.move_costs.values()]
        return cost_scale(values)

    def default_days(self) -> int:
        total = sum(s.seconds for s in self.scenes)
        return math.ceil(total / self.calendar.seconds * 1.5) + 5

    def horizon(self) -> int:
        return self.calendar.max_days if self.calendar.max_days is not None else self.default_days()


# ---------------------------------------------------------------------------------------------- loading
def _loc_str(loc: Sequence[Any]) -> str:
    out = ""
    for p in loc:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += ("." if out else "") + str(p)
    return out or "(top level)"


def _cross_check(prod: Production) -> list[tuple[str, str]]:
    errs: list[tuple[str, str]] = []

    def dup(items: Sequence[Any], name: str) -> None:
        seen: dict[str, int] = {}
        for i, it in enumerate(items):
            if it.id in seen:
                errs.append((f"{name}[{i}].id", f"duplicate id {it.id!r} (also {name}[{seen[it.id]}])"))
            seen.setdefault(it.id, i)

    dup(prod.people, "people")
    dup(prod.locations, "locations")
    dup(prod.scenes, "scenes")
    dup(prod.roles, "roles")
    people = {p.id: p for p in prod.people}
    locs = {loc.id for loc in prod.locations}
    scenes = {s.id for s in prod.scenes}
    cap = prod.calendar.seconds
    person_at = {p.id: k for k, p in enumerate(prod.people)}  # the entry `people` holds
    for i, s in enumerate(prod.scenes):
        for part in ("cast", "crew"):
            for j, c in enumerate(getattr(s, part)):
                if c not in people:
                    errs.append((f"scenes[{i}].{part}[{j}]", f"unknown person {c!r}; add it to people"))
                elif people[c].kind != part:  # paid and numbered by their kind, not by the list
                    kind = people[c].kind
                    errs.append(
                        (
                            f"scenes[{i}].{part}[{j}]",
                            f"{c} is {kind} (people[{person_at[c]}].kind); list them under {kind}",
                        )
                    )
        for part in ("cast", "crew"):
            listed = getattr(s, part)
            if len(set(listed)) != len(listed):
                errs.append((f"scenes[{i}].{part}", "a person is listed twice"))
        if s.location not in locs:
            errs.append((f"scenes[{i}].location", f"unknown location {s.location!r}; add it to locations"))
        if s.seconds > cap:
            errs.append(
                (
                    f"scenes[{i}].duration",
                    f"{s.duration} h does not fit a working day of {prod.calendar.hours_per_day} h; "
                    "split the scene or lengthen calendar.hours_per_day",
                )
            )
    by_id = {loc.id: loc for loc in prod.locations}
    for i, loc in enumerate(prod.locations):
        for other, cost in loc.move_costs.items():
            if other not in locs:
                errs.append((f"locations[{i}].move_costs.{other}", f"unknown location {other!r}"))
                continue
            back = by_id[other].move_costs.get(loc.id)
            if back is not None and back != cost and loc.id < other:  # each pair once
                errs.append(
                    (
                        f"locations[{i}].move_costs.{other}",
                        f"a move between {loc.id!r} and {other!r} costs {cost:g} one way and {back:g} the "
                        "other; moves are priced both ways alike: give one of them",
                    )
                )
    cons = prod.constraints
    for i, p in enumerate(cons.precedences):
        for f in ("before", "after"):
            if getattr(p, f) not in scenes:
                errs.append((f"constraints.precedences[{i}].{f}", f"unknown scene {getattr(p, f)!r}"))
        if p.before == p.after:
            errs.append((f"constraints.precedences[{i}]", "a scene cannot precede itself"))
    for i, g in enumerate(cons.same_day):
        for j, sid in enumerate(g.scenes):
            if sid not in scenes:
                errs.append((f"constraints.same_day[{i}].scenes[{j}]", f"unknown scene {sid!r}"))
    for i, nb in enumerate(cons.not_before):
        if nb.scene not in scenes:
            errs.append((f"constraints.not_before[{i}].scene", f"unknown scene {nb.scene!r}"))
    cast_as: dict[str, int] = {}
    for i, r in enumerate(prod.roles):
        if r.character is not None and r.character not in people:
            errs.append((f"roles[{i}].character", f"unknown person {r.character!r}"))
        elif r.character is not None and r.character in cast_as:  # one character, two people cast for it
            errs.append(
                (
                    f"roles[{i}].character",
                    f"{r.character!r} is already the character of roles[{cast_as[r.character]}] "
                    f"({prod.roles[cast_as[r.character]].id}); give each character one role",
                )
            )
        elif r.character is not None:
            cast_as[r.character] = i
    return errs


#: the most errors a refusal lists (a file with thousands of bad entries gets the first ones and a count)
MAX_FIELD_ERRORS = 100
#: the most list entries a production may hold in all (a feature film has a few thousand; validating a
#: million junk entries would build a million error objects)
MAX_ENTRIES = 250_000


def _raise(errs: Sequence[tuple[str, str]], source: str | None) -> NoReturn:
    shown = "; ".join(f"{f}: {m}" for f, m in errs[:5])
    more = f" (and {len(errs) - 5} more)" if len(errs) > 5 else ""
    fields = list(errs[:MAX_FIELD_ERRORS])
    if len(errs) > MAX_FIELD_ERRORS:
        fields.append(("", f"{len(errs) - MAX_FIELD_ERRORS} more errors not listed"))
    raise ProductionFormatError(shown + more, path=source, fields=fields)


def _count_entries(data: Any, limit: int) -> int:
    """List entries in ``data`` (nested), counting no further than just past ``limit``."""
    n, stack = 0, [data]
    while stack and n <= limit:
        x = stack.pop()
        if isinstance(x, Mapping):
            stack.extend(x.values())
        elif isinstance(x, list):
            n += len(x)
            stack.extend(x)
    return n


def _pydantic_fields(exc: pydantic.ValidationError, *, yaml: bool = True) -> list[tuple[str, str]]:
    out = []
    for e in exc.errors():
        out.append((_loc_str(e.get("loc", ())), _unquoted_text(e, yaml=yaml) or error_message(e)))
    return out


def _is_yaml(path: str | Path | None) -> bool:
    return not str(path or "").lower().endswith(".json")


def _unquoted_text(err: Any, *, yaml: bool = True) -> str | None:
    """A name or id given as a number or a yes/no (``title: 1917``, ``id: 010``, ``rating: NO`` in YAML,
    ``"id": 7`` in JSON): say to quote it, where pydantic says only that a string was expected."""
    raw = err.get("input")
    if err.get("type") != "string_type" or not isinstance(raw, int | float):
        return None
    if isinstance(raw, bool):
        why = " (YAML reads a bare yes, no, on or off as true/false)" if yaml else ""
        return f"must be text, not {str(raw).lower()}: quote it{why}"
    why = " (YAML reads bare digits as a number, 010 as 8)" if yaml else ""
    return f"must be text, not the number {raw!r}: quote it{why}"


def parse_production(data: Any, *, source: str | None = None, json: bool | None = None) -> Production:
    """A validated :class:`Production` from parsed YAML/JSON; errors name ``source`` and the field.
    ``json``: the data came from JSON (default: when ``source`` ends in ``.json``), which the messages
    about quoting a value take into account."""
    if not isinstance(data, Mapping):
        raise ProductionFormatError(
            "a production file is a mapping with calendar, locations, scenes (and people, constraints)",
            path=source,
        )
    if _count_entries(data, MAX_ENTRIES) > MAX_ENTRIES:
        raise ProductionFormatError(
            f"more than {MAX_ENTRIES:,} list entries in all; is this a production file?", path=source
        )
    try:
        prod = Production.model_validate(data)
    except pydantic.ValidationError as exc:
        _raise(_pydantic_fields(exc, yaml=not json if json is not None else _is_yaml(source)), source)
    errs = _cross_check(prod)
    if errs:
        _raise(errs, source)
    return prod


class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (YAML would keep the last silently,
    dropping, say, a whole first ``scenes:`` list) and impossible dates (2026-02-30), each at its line."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # <<: *defaults: a key written here overrides what it brings, as YAML says
            key = self.construct_object(key_node, deep=deep)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: the base class reports it
                break
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"the key {key!r} is given twice (first at line {first + 1}); keep one",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"{node.value!r} is not a valid date ({exc})", node.start_mark
            ) from None


_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _StrictLoader.construct_yaml_timestamp)


def _load_yaml(text: str | bytes) -> Any:
    return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass: no arbitrary objects


def _yaml_error(exc: yaml.YAMLError, source: str) -> ProductionFormatError:
    """The error for invalid YAML, naming ``source`` and the line when the parser knows it."""
    mark = getattr(exc, "problem_mark", None)
    where = f"{source}:{mark.line + 1}" if mark is not None else source
    return ProductionFormatError(f"invalid YAML: {getattr(exc, 'problem', exc)}", path=where)


_TOO_DEEP = "nested too deeply (lists or mappings hundreds of levels inside each other); not a data file"


def read_structured(path: str | Path) -> Any:
    """Parsed YAML or JSON (by extension; YAML otherwise, which also reads JSON)."""
    p = check_input_file(path, ProductionFormatError, "is a folder; give a YAML or JSON file")
    try:
        text = p.read_text(encoding="utf-8-sig")  # a byte-order mark is allowed
    except UnicodeDecodeError as exc:
        raise ProductionFormatError(
            f"not UTF-8 text (byte {exc.start}); save it as UTF-8 YAML or JSON", path=str(p)
        ) from None
    try:
        if p.suffix.lower() == ".json":
            return json.loads(text, object_pairs_hook=_json_object)
        return _load_yaml(text)
    except json.JSONDecodeError as exc:
        raise ProductionFormatError(f"invalid JSON: {exc.msg}", path=f"{p}:{exc.lineno}") from None
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, str(p)) from None
    except _DuplicateKeyError as exc:
        raise ProductionFormatError(
            f"invalid JSON: the key {exc.key!r} is given twice in one object; keep one", path=str(p)
        ) from None
    except RecursionError:  # the parsers recurse per level: '[' * 1000 was a traceback
        raise ProductionFormatError(_TOO_DEEP, path=str(p)) from None


class _DuplicateKeyError(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object, refusing a key given twice (``json`` keeps the last silently, as YAML would)."""
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKeyError(k)
        out[k] = v
    return out


def field_line(text: str, field: str) -> int | None:
    """The line (1-based) of ``field`` (``scenes[2].duration``) in YAML or JSON ``text``; for a field that
    is missing, the line of the nearest entry above it that is there. ``None`` if the text does not parse."""
    try:  # RecursionError: JSON nested deeper than YAML's parser, which recurses more per level, reads
        node = yaml.compose(text, Loader=_StrictLoader)
    except (yaml.YAMLError, ValueError, RecursionError):
        if "\t" not in text:
            return None
        try:  # JSON indented with tabs: valid JSON has tabs only as whitespace, which YAML refuses there
            node = yaml.compose(text.replace("\t", " "), Loader=_StrictLoader)
        except (yaml.YAMLError, ValueError, RecursionError):
            return None
    if node is None:
        return None
    line = node.start_mark.line
    for part in re.findall(r"\[(\d+)\]|([^.\[\]]+)", field):
        index, key = part
        nxt = None
        if key and isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.value == key:
                    nxt, line = v, k.start_mark.line
                    break
        elif index and isinstance(node, yaml.SequenceNode) and int(index) < len(node.value):
            nxt = node.value[int(index)]
            line = nxt.start_mark.line
        if nxt is None:
            break
        node = nxt
    return line + 1


def with_line(exc: ProductionFormatError, text: str) -> ProductionFormatError:
    """``exc`` naming the line of its first field in ``text`` (the file it came from), when it has none."""
    if not exc.fields or exc.path is None or exc.line is not None:
        return exc
    line = field_line(text, exc.fields[0][0])
    if line is None:
        return exc
    return ProductionFormatError(exc.message, path=exc.path, line=line, fields=exc.fields)


def load_validated(path: str | Path, parse: Callable[[Any], T]) -> T:
    """``parse(data)`` of the YAML/JSON file at ``path``; its field errors name their line in the file."""
    data = read_structured(path)
    try:
        return parse(data)
    except ProductionFormatError as exc:
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            raise exc from None
        raise with_line(exc, text) from None


def load_production(path: str | Path) -> Production:
    """Read and validate a production file (YAML or JSON); errors name the field and its line."""
    return load_validated(path, lambda data: parse_production(data, source=str(path)))


def parse_production_text(text: str | bytes, *, source: str = "upload") -> Production:
    """Validate a production given as YAML/JSON text (an upload)."""
    try:
        data = _load_yaml(text)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, source) from None
    try:
        return parse_production(data, source=source)
    except ProductionFormatError as exc:
        as_text = text.decode("utf-8-sig", errors="replace") if isinstance(text, bytes) else text
        raise with_line(exc, as_text) from None


def production_to_data(prod: Production) -> dict[str, Any]:
    """The production as plain JSON-compatible data (defaults left out)."""
    data: dict[str, Any] = prod.model_dump(mode="json", exclude_defaults=True)
    return data


def dump_production(prod: Production, path: str | Path) -> Path:
    """Write ``prod`` as YAML (or JSON for ``.json``), atomically."""
    return dump_structured(production_to_data(prod), path)


def dump_structured(data: Any, path: str | Path) -> Path:
    """Write plain data as YAML (or JSON for ``.json``), atomically (production and pool files)."""
    p = Path(path)
    if p.suffix.lower() == ".json":
        text = json.dumps(data, indent=2) + "\n"
    else:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    return atomic_write_text(p, text)


# ---------------------------------------------------------------------------------------------- writing


def cost_scale(values: Sequence[float], max_digits: int = 4) -> int:
    """The smallest power of ten (up to ``10**max_digits``) that makes every value a whole number."""
    vals = [float(v) for v in values if v]
    for k in range(max_digits + 1):
        scale = int(10**k)
        # a relative 1e-9 covers the float error of v * 10^k, and still tells 505050.5 from 505050
        if all(abs(v * scale - round(v * scale)) <= 1e-9 * max(1.0, abs(v * scale)) for v in vals):
            return scale
    return int(10**max_digits)
