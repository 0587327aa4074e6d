"""Shoot scheduling for a real production with CP-SAT: scenes to shooting days, and their order in a day.

Model
    ``x[s, d]``: scene ``s`` is shot on working day ``d`` (one day per scene; only days on which its cast,
    crew and location are available and that respect its "not before" date). Each day's scenes fit the
    working hours. ``y[l, d]``: the unit shoots at location ``l`` on day ``d`` (setup cost); ``used[d]``: day
    ``d`` is a shooting day (``costs.day_cost``); unless ``calendar.allow_gaps``, the shooting days are the
    first working days from ``calendar.start`` (a continuous shoot starts on its first working day:
    ``used[d + 1] => used[d]``). The order of a day's locations is a circuit through a depot
    (``AddCircuit``; an unused location takes its self-loop) whose arcs carry the company-move costs; a
    day's scenes at one location are shot together (day scenes before night scenes), so a day visits each
    location once. A day's locations go in the order that shoots the fewest DAY scenes after NIGHT scenes:
    without a circuit (no move costs, no precedence across locations) by night scenes per day scene
    (night-only locations last), then in scene order; with one, the fewest of the circuit's orders of equal
    move cost that keep the day's precedences (days of up to 7 locations). Precedences bound the scenes'
    days (and, on a shared day, the locations' positions in the circuit: precedences that would send a day
    back to a location cannot hold on one day); "same day" groups share their day.

    Cast pay is the holding rule of talent scheduling: a person is paid ``daily_rate`` for every shooting day
    from their first working day to their last. In a continuous shoot that is ``last - first + 1`` with
    integer ``first <= day(s) <= last`` over their scenes; with gaps allowed, boolean chains ``started[p, d]``
    (monotone up) and ``going[p, d]`` (monotone down) give ``on[p, d] >= started + going + used[d] - 2``.
    Crew named by scenes are paid for the days they work. Redundant cuts (enough days for all the hours, for
    each location's and each person's hours; a day's moves = its locations - 1) tighten the bound.

Objective
    cast pay + crew pay + day cost x shooting days + setup costs + company moves, in whole currency units.
    The solver starts from a greedy schedule (a hint it repairs), runs with a time limit, at most 2 workers
    (an LP-heavy one and a quick-restart one by default) and a seed; stopped by the limit, its best
    schedule is compared with the greedy one completed (its days fixed, the order solved; a quarter of the
    limit more, at least 5 s) and the cheaper is returned. The result carries the status, the cost, the
    best bound and the relative gap ``(cost - bound) / cost``.

Infeasibility
    When the model has no solution, it is rebuilt with one assumption literal per constraint group (each
    person's and each location's availability, the working hours, the number of shooting days, each
    precedence, each "same day" group, each "not before" date, a day's one visit to each location) over days
    past the shoot's window too (so that the window is named when it is part of the conflict) and solved
    again (one worker, as CP-SAT's cores need); ``SufficientAssumptionsForInfeasibility`` gives a
    conflicting set, which is then shrunk by deletion (drop a group, re-solve, keep it out while still
    infeasible) and raised as :class:`~reelkit.errors.InfeasibleError` whose ``conflicts`` describe each
    group.
"""

from __future__ import annotations

import bisect
import itertools
import math
import time as _time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ortools.sat.python import cp_model

from reelkit.config import check_numbers
from reelkit.errors import ConfigError, InfeasibleError, ReelkitError
from reelkit.produce._cpsat import solve
from reelkit.produce.production import Location, Person, Production

__all__ = [
    "CostBreakdown",
    "PersonCall",
    "Schedule",
    "ScheduledScene",
    "ShootDay",
    "SolveOptions",
    "check_schedule_of",
    "load_schedule",
    "plan_shoot",
]


@dataclass(frozen=True)
class SolveOptions:
    """How long and how the solver runs."""

    time_limit: float = 30.0
    num_workers: int = 2
    seed: int = 0
    #: CP-SAT's linearization level (2 puts the pay chains' clauses in the LP: a tighter bound).
    linearization: int = 2
    #: Start the search from a greedy schedule when one is found.
    hint: bool = True
    #: CP-SAT subsolvers for two workers (empty: CP-SAT's default pair).
    portfolio: tuple[str, ...] = ("max_lp", "quick_restart")

    def __post_init__(self) -> None:
        check_numbers(
            "SolveOptions",
            time_limit=(self.time_limit, float),
            num_workers=(self.num_workers, int),
            seed=(self.seed, int),
            linearization=(self.linearization, int),
        )
        if not self.time_limit > 0:
            raise ConfigError(f"time limit must be positive, not {self.time_limit}")
        if not 0 <= self.seed <= 2**31 - 1:  # CP-SAT's random_seed is a 32-bit int
            raise ConfigError(f"seed {self.seed} must be from 0 to {2**31 - 1}")
        if not 1 <= self.num_workers <= 2:
            raise ConfigError("num_workers must be 1 or 2")


@dataclass(frozen=True)
class ScheduledScene:
    scene_id: str
    name: str
    location: str
    int_ext: str
    day_night: str
    hours: float
    start: str  # HH:MM, local
    end: str
    cast: tuple[str, ...]
    crew: tuple[str, ...]
    #: Start and end as ISO 8601 local date-times (with the UTC offset when the production has a time zone):
    #: the date a scene after midnight falls on, and real elapsed time across a clock change.
    start_at: str = ""
    end_at: str = ""
    #: The scene's script pages (the production's ``pages``; ``None`` when it gives none).
    pages: float | None = None


@dataclass(frozen=True)
class ShootDay:
    number: int
    date: date
    scenes: tuple[ScheduledScene, ...]
    locations: tuple[str, ...]
    hours: float
    setup_cost: float
    move_cost: float


@dataclass(frozen=True)
class PersonCall:
    person_id: str
    name: str
    kind: str
    work_days: tuple[date, ...]
    #: Paid days without work (cast only: between the first and last working day).
    hold_days: tuple[date, ...]
    cost: float

    @property
    def first(self) -> date | None:
        return self.work_days[0] if self.work_days else None

    @property
    def last(self) -> date | None:
        return self.work_days[-1] if self.work_days else None


@dataclass(frozen=True)
class CostBreakdown:
    cast_pay: float
    #: The part of cast pay for days on hold (paid, not working).
    holding: float
    crew_pay: float
    days: float
    setup: float
    moves: float
    total: float


@dataclass(frozen=True)
class Schedule:
    """A day-by-day shooting schedule and how good it is."""

    production: str
    status: str  # OPTIMAL or FEASIBLE
    objective: float
    bound: float
    gap: float
    wall_s: float
    days: tuple[ShootDay, ...]
    people: tuple[PersonCall, ...]
    costs: CostBreakdown
    n_moves: int = 0
    timezone: str = ""
    stats: Mapping[str, int] = field(default_factory=dict)

    @property
    def optimal(self) -> bool:
        return self.status == "OPTIMAL"

    @property
    def n_days(self) -> int:
        return len(self.days)

    def day_of(self) -> dict[str, int]:
        """Scene id -> shooting day number."""
        return {sc.scene_id: d.number for d in self.days for sc in d.scenes}

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["optimal"] = self.optimal
        out["n_days"] = self.n_days
        out["stats"] = dict(self.stats)
        for d in out["days"]:
            d["date"] = d["date"].isoformat()
        for p, pc in zip(out["people"], self.people, strict=True):
            p["work_days"] = [x.isoformat() for x in p["work_days"]]
            p["hold_days"] = [x.isoformat() for x in p["hold_days"]]
            p["first"] = pc.first.isoformat() if pc.first else None
            p["last"] = pc.last.isoformat() if pc.last else None
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schedule:
        """Inverse of :meth:`to_dict` (reads a ``schedule.json``)."""
        try:
            days = tuple(
                ShootDay(
                    number=int(d["number"]),
                    date=date.fromisoformat(d["date"]),
                    scenes=tuple(
                        ScheduledScene(**{**s, "cast": tuple(s["cast"]), "crew": tuple(s["crew"])})
                        for s in d["scenes"]
                    ),
                    locations=tuple(d["locations"]),
                    hours=float(d["hours"]),
                    setup_cost=float(d["setup_cost"]),
                    move_cost=float(d["move_cost"]),
                )
                for d in data["days"]
            )
            people = tuple(
                PersonCall(
                    person_id=p["person_id"],
                    name=p["name"],
                    kind=p["kind"],
                    work_days=tuple(date.fromisoformat(x) for x in p["work_days"]),
                    hold_days=tuple(date.fromisoformat(x) for x in p["hold_days"]),
                    cost=float(p["cost"]),
                )
                for p in data["people"]
            )
            return cls(
                production=str(data["production"]),
                status=str(data["status"]),
                objective=float(data["objective"]),
                bound=float(data["bound"]),
                gap=float(data["gap"]),
                wall_s=float(data["wall_s"]),
                days=days,
                people=people,
                costs=CostBreakdown(**data["costs"]),
                n_moves=int(data.get("n_moves", 0)),
                timezone=str(data.get("timezone", "")),
                stats=dict(data.get("stats", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            from reelkit.produce.production import ProductionFormatError

            # a KeyError's text is the bare key ('days'): said as the field missing (at the top or in a day)
            why = (
                f"a field {exc.args[0]!r} is missing" if isinstance(exc, KeyError) and exc.args else str(exc)
            )
            raise ProductionFormatError(
                f"not a schedule written by 'reelkit schedule plan' ({why}); give the schedule.json that "
                "'reelkit schedule plan -o DIR' writes in DIR"
            ) from None


def load_schedule(path: str | Path, prod: Production | None = None) -> Schedule:
    """Read a ``schedule.json`` written by ``reelkit schedule plan``; with ``prod``, check that it schedules
    that production (its name, and exactly its scenes). Errors name the file."""
    from reelkit._files import finish_commits
    from reelkit.produce.production import ProductionFormatError, read_structured

    finish_commits(Path(path).parent)  # a plan stopped among its renames is completed first
    data = read_structured(path)
    if not isinstance(data, Mapping):
        raise ProductionFormatError("not a schedule written by 'reelkit schedule plan'", path=str(path))
    try:
        sched = Schedule.from_dict(data)
    except ProductionFormatError as exc:
        raise ProductionFormatError(str(exc), path=str(path)) from None
    if prod is not None:
        check_schedule_of(sched, prod, source=str(path))
    return sched


def check_schedule_of(sched: Schedule, prod: Production, *, source: str | None = None) -> None:
    """Refuse a schedule made for another production (another name, or other scenes), or one that breaks
    the production's rules as they are now (someone's days off changed since it was planned)."""
    from reelkit.produce.production import ProductionFormatError

    planned = {sc.scene_id for d in sched.days for sc in d.scenes}
    wanted = {sc.id for sc in prod.scenes}
    if sched.production != prod.name or planned != wanted:
        odd = sorted(planned ^ wanted)
        raise ProductionFormatError(
            f"this schedule is for production {sched.production!r}, not {prod.name!r}"
            + (f" (scenes {', '.join(odd[:5])} are in only one of them)" if odd else "")
            + "; plan this production first ('reelkit schedule plan')",
            path=source,
        )
    breaches = check_schedule(prod, sched)
    if breaches:
        more = f" (and {len(breaches) - 3} more)" if len(breaches) > 3 else ""
        raise ProductionFormatError(
            f"this schedule breaks the production as it is now: {'; '.join(breaches[:3])}{more}; plan it "
            "again ('reelkit schedule plan')",
            path=source,
        )


# ---------------------------------------------------------------------------------------------- the model
VISITS_ONCE = "a day visits each location once (its scenes at a location are shot together)"
"""The rule of the day's circuit, as an explanation names it."""


def _dates(item: Person | Location) -> str:
    parts = [
        w.start.isoformat() if w.start == w.end else f"{w.start.isoformat()} to {w.end.isoformat()}"
        for w in item.available
    ]
    text = ", ".join(parts) if parts else "any day"
    if item.days_off:
        text += "; off " + ", ".join(d.isoformat() for d in item.days_off[:5])
        if len(item.days_off) > 5:
            text += f" and {len(item.days_off) - 5} more"
    return text


def precedence_cycle(prod: Production) -> list[int] | None:
    """Indexes of precedences that form a cycle (no order can satisfy them), or ``None``.

    Depth-first with an explicit stack (a chain of thousands of scenes is deeper than Python's recursion).
    """
    edges: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for k, p in enumerate(prod.constraints.precedences):
        edges[p.before].append((p.after, k))
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for root in list(edges):
        if root in state:
            continue
        # the path: (node, index of the edge that reached it, its next edge to try)
        path: list[tuple[str, int, int]] = [(root, -1, 0)]
        state[root] = 1
        while path:
            node, via, i = path[-1]
            out = edges.get(node, [])
            if i == len(out):
                state[node] = 2
                path.pop()
                continue
            path[-1] = (node, via, i + 1)
            nxt, k = out[i]
            if state.get(nxt) == 1:  # back to a node on the path: the edges from there round to it
                start = next(j for j, (n, _, _) in enumerate(path) if n == nxt)
                return sorted({kk for _, kk, _ in path[start + 1 :]} | {k})
            if nxt not in state:
                state[nxt] = 1
                path.append((nxt, k, 0))
    return None


@dataclass
class _Groups:
    """Assumption literals per constraint group (explain mode) and what each means."""

    explain: bool
    model: cp_model.CpModel
    lits: dict[str, cp_model.IntVar] = field(default_factory=dict)
    text: dict[str, str] = field(default_factory=dict)

    def lit(self, key: str, text: str) -> cp_model.IntVar | None:
        if not self.explain:
            return None
        if key not in self.lits:
            self.lits[key] = self.model.new_bool_var(f"assume[{key}]")
            self.text[key] = text
        return self.lits[key]


def _enforce(ct: cp_model.Constraint, lit: cp_model.IntVar | None) -> None:
    if lit is not None:
        ct.only_enforce_if(lit)


@dataclass
class _Built:
    model: cp_model.CpModel
    days: list[date]
    x: dict[tuple[int, int], cp_model.IntVar]
    y: dict[tuple[int, int], cp_model.IntVar]
    used: list[cp_model.IntVar]
    arcs: dict[int, list[tuple[int, int, cp_model.IntVar]]]
    groups: _Groups
    objective_terms: int
    cost_scale: int = 1  # the objective is in units of 1 / cost_scale


class _ClosedDays:
    """Why a day is closed to a scene: keyed constraint groups with their text (the groups explain mode
    can drop), for the model and for naming a scene no day is open to."""

    def __init__(self, prod: Production) -> None:
        self.prod = prod
        self.horizon = prod.horizon()
        h = self.horizon
        # the window of working days the shoot fits in (with gaps allowed, it may shoot on fewer)
        default = (
            "" if prod.calendar.max_days is not None else ": by default 1.5 x the days the scenes need + 5"
        )
        self.horizon_text = (
            f"the shoot ends within {h} working day{'s' if h != 1 else ''} of its start "
            f"(calendar.max_days{default})"
        )
        index = {s.id: i for i, s in enumerate(prod.scenes)}
        # each scene's location and people, looked up once (reasons are asked for every scene and day)
        self._at = [
            (prod.location(s.location), [prod.person(p) for p in dict.fromkeys([*s.cast, *s.crew])])
            for s in prod.scenes
        ]
        self.not_before: dict[int, list[tuple[int, date]]] = defaultdict(list)
        for k, nb in enumerate(prod.constraints.not_before):
            self.not_before[index[nb.scene]].append((k, nb.date))

    def look_days(self) -> int:
        """Working days to look at when explaining why no schedule exists: enough past the window for it to
        show when it is part of the conflict. Twice the window, and at least the default window (days
        enough for all the hours: a ``max_days`` too small for them); when a scene has no open day in those,
        up to where it opens (its "not before" date, the start of its people's and location's next windows,
        the day after a day off) and the default window after it. Dates where nothing opens for a closed
        scene (a window ending far past the shoot) do not count: they made the explain model hundreds of
        days long. At most 1,000 working days past twice the window, and 100,000 scene-days."""
        h = self.horizon
        cap = max(2 * h, min(2 * h + 1000, 100_000 // max(len(self.prod.scenes), 1)))
        n = max(2 * h, self.prod.default_days())
        days = self.prod.calendar.working_days(n)
        opens: list[date] = []
        for si, (loc, persons) in enumerate(self._at):
            if any(not self._closed(si, day) for day in days):
                continue
            last = days[-1]
            opens += [nb for _, nb in self.not_before[si] if nb > last]
            for it in (loc, *persons):
                opens += [w.start for w in it.available if w.start > last]
                opens += [d + timedelta(days=1) for d in it.days_off if d >= last]
        if opens:
            before = bisect.bisect_left(self.prod.calendar.working_days(cap), max(opens))
            if before >= n:
                n = before + 1 + self.prod.default_days()
        return min(n, cap)

    def _closed(self, si: int, day: date) -> bool:
        """Whether ``day`` is closed to scene ``si`` by its location, people or "not before" dates."""
        loc, persons = self._at[si]
        return (
            not loc.is_available(day)
            or any(not p.is_available(day) for p in persons)
            or any(day < nb for _, nb in self.not_before[si])
        )

    def reasons(self, si: int, d: int, day: date) -> list[tuple[str, str]]:
        loc, persons = self._at[si]
        out: list[tuple[str, str]] = []
        if d >= self.horizon:
            out.append(("horizon", self.horizon_text))
        if not loc.is_available(day):
            out.append((f"loc:{loc.id}", f"availability of location {loc.label} ({_dates(loc)})"))
        for p in persons:
            if not p.is_available(day):
                out.append((f"person:{p.id}", f"availability of {p.label} ({_dates(p)})"))
        for k, nb_date in self.not_before[si]:
            if day < nb_date:
                sid = self.prod.scenes[si].id
                out.append((f"notbefore:{k}", f"scene {sid} not before {nb_date.isoformat()}"))
        return out

    def scene_conflicts(self) -> list[tuple[str, list[str]]]:
        """Each scene no day within the shoot is open to, with the fewest groups that close every day of
        :meth:`look_days` (a greedy cover: the group closing most days first), as text; ``[]`` when every
        scene has a day. No solver: cheap, and exact for the commonest infeasible plan (someone never
        free)."""
        days = self.prod.calendar.working_days(self.look_days())
        out: list[tuple[str, list[str]]] = []
        for si, s in enumerate(self.prod.scenes):
            if any(not self.reasons(si, d, day) for d, day in enumerate(days[: self.horizon])):
                continue
            per_day = [dict(self.reasons(si, d, day)) for d, day in enumerate(days)]
            text = {k: t for r in per_day for k, t in r.items()}
            left, chosen = [r for r in per_day if r], []
            while left:
                best = max(text, key=lambda k: sum(k in r for r in left))
                chosen.append(best)
                left = [r for r in left if best not in r]
            out.append((s.id, [text[k] for k in chosen]))
        return out


def _build(prod: Production, *, explain: bool, interval_pay: bool = True) -> _Built:
    m = cp_model.CpModel()
    groups = _Groups(explain, m)
    cal = prod.calendar
    scale = prod.cost_scale()  # costs in whole units of 1/scale (CP-SAT takes integers)
    horizon = prod.horizon()
    closed = _ClosedDays(prod)
    # explaining, days past the window too: without them, dropping the window could not help, and a
    # conflict with it was put down to the other groups alone
    days = cal.working_days(closed.look_days() if explain else horizon)
    scenes = prod.scenes
    loc_index = {loc.id: i for i, loc in enumerate(prod.locations)}
    scene_index = {s.id: i for i, s in enumerate(scenes)}
    n_loc = len(prod.locations)

    # ---- scene-day variables with the reasons a day is closed to a scene
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    for si, s in enumerate(scenes):
        for d, day in enumerate(days):
            reasons = closed.reasons(si, d, day)
            if reasons and not explain:
                continue
            var = m.new_bool_var(f"x[{s.id},{d}]")
            x[si, d] = var
            for key, text in reasons:
                lit = groups.lit(key, text)
                assert lit is not None
                m.add_implication(lit, var.negated())
    by_scene: dict[int, list[int]] = defaultdict(list)
    by_day: dict[int, list[int]] = defaultdict(list)
    for si, d in x:
        by_scene[si].append(d)
        by_day[d].append(si)
    for si in range(len(scenes)):
        if not by_scene[si]:  # no day is open to it: infeasible, explained by the explain-mode model
            m.add_bool_or([])
            continue
        m.add_exactly_one(x[si, d] for d in by_scene[si])

    # ---- working hours
    cap_lit = groups.lit("hours", f"working hours: {cal.hours_per_day:g} h a day (calendar.hours_per_day)")
    # in seconds (exact), or in minutes when every duration is whole minutes (the model as it was)
    unit = math.gcd(60, cal.seconds, *(sc.seconds for sc in scenes))
    for d in range(len(days)):
        if by_day[d]:
            day_time = sum(scenes[si].seconds // unit * x[si, d] for si in by_day[d])
            _enforce(m.add(day_time <= cal.seconds // unit), cap_lit)

    # ---- locations and shooting days
    y: dict[tuple[int, int], cp_model.IntVar] = {}
    loc_scenes: dict[tuple[int, int], list[int]] = defaultdict(list)
    for si, d in x:
        loc_scenes[loc_index[scenes[si].location], d].append(si)
    for (li, d), sis in loc_scenes.items():
        v = m.new_bool_var(f"y[{li},{d}]")
        y[li, d] = v
        for si in sis:
            m.add_implication(x[si, d], v)
        m.add_bool_or([x[si, d] for si in sis]).only_enforce_if(v)
    used = [m.new_bool_var(f"used[{d}]") for d in range(len(days))]
    for d in range(len(days)):
        day_ys = [y[li, d] for li in range(n_loc) if (li, d) in y]
        for v in day_ys:
            m.add_implication(v, used[d])
        if day_ys:
            m.add_bool_or(day_ys).only_enforce_if(used[d])
        else:
            m.add(used[d] == 0)
    # redundant cuts that tighten the bound: enough days for all the hours, and for each location's hours
    if not explain:
        total = sum(sc.seconds for sc in scenes)
        m.add(sum(used) >= -(-total // cal.seconds))
        for li in range(n_loc):
            lmin = sum(sc.seconds for sc in scenes if loc_index[sc.location] == li)
            ys = [y[li, d] for d in range(len(days)) if (li, d) in y]
            if lmin and ys:
                m.add(sum(ys) >= -(-lmin // cal.seconds))
    if not cal.allow_gaps:
        gap_lit = groups.lit(
            "continuous",
            f"a continuous shoot from calendar.start ({cal.start.isoformat()}): no working day off before or "
            "inside it (calendar.allow_gaps lifts it)",
        )
        for d in range(len(days) - 1):
            _enforce(m.add_implication(used[d + 1], used[d]), gap_lit)

    # ---- location order within a day: a circuit through a depot (node 0)
    cons = prod.constraints
    cross_prec = any(
        prod.scene(pr.before).location != prod.scene(pr.after).location for pr in cons.precedences
    )
    any_move_cost = any(
        prod.move_cost(la.id, lb.id) > 0 for la in prod.locations for lb in prod.locations if la.id != lb.id
    )
    arcs: dict[int, list[tuple[int, int, Any]]] = {}
    pos: dict[tuple[int, int], cp_model.IntVar] = {}
    move_terms: list[tuple[int, cp_model.IntVar]] = []
    for d in range(len(days)):
        locs_d = [li for li in range(n_loc) if (li, d) in y]
        if len(locs_d) < 2 or not (cross_prec or any_move_cost):
            continue
        day_arcs: list[tuple[int, int, Any]] = []
        circuit: list[tuple[int, int, Any]] = [(0, 0, used[d].negated())]
        for li in locs_d:
            node = li + 1
            circuit.append((node, node, y[li, d].negated()))
            a0 = m.new_bool_var(f"start[{li},{d}]")
            a1 = m.new_bool_var(f"end[{li},{d}]")
            circuit += [(0, node, a0), (node, 0, a1)]
            day_arcs += [(-1, li, a0), (li, -1, a1)]
            for lj in locs_d:
                if lj == li:
                    continue
                arc = m.new_bool_var(f"move[{li},{lj},{d}]")
                circuit.append((node, lj + 1, arc))
                day_arcs.append((li, lj, arc))
                cost = round(scale * prod.move_cost(prod.locations[li].id, prod.locations[lj].id))
                if cost:
                    move_terms.append((cost, arc))
        m.add_circuit(circuit)
        arcs[d] = day_arcs
        # redundant: the moves of a day are its locations minus one (tightens the LP bound)
        m.add(
            sum(v for f, t, v in day_arcs if f != -1 and t != -1) == sum(y[li, d] for li in locs_d) - used[d]
        )
        if cross_prec:
            for li in locs_d:
                pos[li, d] = m.new_int_var(0, len(locs_d), f"pos[{li},{d}]")
            for a_from, a_to, arc_lit in day_arcs:
                if a_from == -1:
                    m.add(pos[a_to, d] == 1).only_enforce_if(arc_lit)
                elif a_to != -1:
                    m.add(pos[a_to, d] == pos[a_from, d] + 1).only_enforce_if(arc_lit)

    # ---- precedences, same day, with a day-number variable per scene
    def day_var(si: int) -> Any:
        return sum(d * x[si, d] for d in by_scene[si])

    for k, prec in enumerate(cons.precedences):
        a, b = scene_index[prec.before], scene_index[prec.after]
        lit = groups.lit(
            f"prec:{k}", f"scene {prec.before} before scene {prec.after} (constraints.precedences[{k}])"
        )
        _enforce(m.add(day_var(a) <= day_var(b)), lit)
        la, lb = loc_index[scenes[a].location], loc_index[scenes[b].location]
        if la != lb:
            # one position per location and day: the rule that a day visits each location once, named in
            # explanations when it is part of the conflict (precedences that would send a day back)
            visit = groups.lit("visits", VISITS_ONCE)
            for d in set(by_scene[a]) & set(by_scene[b]):
                if (la, d) in pos and (lb, d) in pos:
                    ct = m.add(pos[la, d] < pos[lb, d])
                    ct.only_enforce_if([x[a, d], x[b, d], *(v for v in (lit, visit) if v is not None)])
    for k, g in enumerate(cons.same_day):
        ids = [scene_index[s] for s in g.scenes]
        lit = groups.lit(
            f"same:{k}", f"scenes {', '.join(g.scenes)} on the same day (constraints.same_day[{k}])"
        )
        first = ids[0]
        for other in ids[1:]:
            for d in set(by_scene[first]) | set(by_scene[other]):
                va = x.get((first, d))
                vb = x.get((other, d))
                if va is None and vb is not None:
                    _enforce(m.add(vb == 0), lit)
                elif vb is None and va is not None:
                    _enforce(m.add(va == 0), lit)
                elif va is not None and vb is not None:
                    _enforce(m.add(va == vb), lit)

    # ---- pay
    terms: list[tuple[int, Any]] = list(move_terms)
    person_scenes: dict[str, list[int]] = defaultdict(list)
    for si, sc in enumerate(scenes):
        for pid_ in dict.fromkeys([*sc.cast, *sc.crew]):
            person_scenes[pid_].append(si)
    n_d = len(days)
    for pid, sis in person_scenes.items():
        person = prod.person(pid)
        rate = round(scale * person.daily_rate)
        if any(not by_scene[si] for si in sis):
            continue  # a scene with no open day: infeasible already (the explain-mode model says why)
        pmin = -(-sum(scenes[si].seconds for si in sis) // cal.seconds)
        if person.kind == "cast" and not cal.allow_gaps and interval_pay:
            # a continuous shoot: paid days = last working day - first working day + 1
            if rate == 0:
                continue
            lo = min(min(by_scene[si]) for si in sis)
            hi = max(max(by_scene[si]) for si in sis)
            first_d = m.new_int_var(lo, hi, f"first[{pid}]")
            last_d = m.new_int_var(lo, hi, f"last[{pid}]")
            for si in sis:
                m.add(first_d <= day_var(si))
                m.add(last_d >= day_var(si))
            span = m.new_int_var(1, hi - lo + 1, f"span[{pid}]")
            if not explain:
                m.add(span >= pmin)
            m.add(span == last_d - first_d + 1)
            terms.append((rate, span))
            continue
        work: list[cp_model.IntVar | None] = []
        for d in range(n_d):
            vs = [x[si, d] for si in sis if (si, d) in x]
            if not vs:
                work.append(None)
                continue
            w = m.new_bool_var(f"work[{pid},{d}]")
            for v in vs:
                m.add_implication(v, w)
            m.add_bool_or(vs).only_enforce_if(w)
            work.append(w)
        if rate == 0:
            continue
        if person.kind == "crew":
            terms += [(rate, w) for w in work if w is not None]
            continue
        days_with = [d for d in range(n_d) if work[d] is not None]
        lo, hi = days_with[0], days_with[-1]
        started: dict[int, cp_model.IntVar] = {}
        going: dict[int, cp_model.IntVar] = {}
        for d in range(lo, hi + 1):
            started[d] = m.new_bool_var(f"started[{pid},{d}]")
            if d > lo:
                m.add_implication(started[d - 1], started[d])
            wd = work[d]
            if wd is not None:
                m.add_implication(wd, started[d])
        for d in range(hi, lo - 1, -1):
            going[d] = m.new_bool_var(f"going[{pid},{d}]")
            if d < hi:
                m.add_implication(going[d + 1], going[d])
            wd = work[d]
            if wd is not None:
                m.add_implication(wd, going[d])
        ons: list[cp_model.IntVar] = []
        for d in range(lo, hi + 1):
            on = m.new_bool_var(f"on[{pid},{d}]")
            ons.append(on)
            wd = work[d]
            if wd is not None:
                m.add_implication(wd, on)
            if cal.allow_gaps:
                m.add_bool_or([started[d].negated(), going[d].negated(), used[d].negated(), on])
            else:
                m.add_bool_or([started[d].negated(), going[d].negated(), on])
            terms.append((rate, on))
        if not explain:
            m.add(sum(ons) >= pmin)
    day_cost = round(scale * prod.costs.day_cost)
    if day_cost:
        terms += [(day_cost, u) for u in used]
    for (li, _d), v in y.items():
        setup = round(scale * prod.locations[li].setup_cost)
        if setup:
            terms.append((setup, v))
    if not explain:
        m.minimize(sum(c * v for c, v in terms))
    else:
        m.add_assumptions(list(groups.lits.values()))
    return _Built(m, days, x, y, used, arcs, groups, len(terms), scale)


# ---------------------------------------------------------------------------------------------- solving


def greedy_days(prod: Production, days: list[date], open_days: dict[int, list[int]]) -> dict[int, int] | None:
    """A quick feasible assignment (scene index -> day index) to hint the solver, or ``None``.

    Day by day, it packs "same day" blocks whose predecessors are already shot, the most urgent first (fewest
    open days left), staying at one location while it can and preferring the cast already called that day.
    It may leave a day empty inside a continuous shoot: the solver repairs the hint.
    """
    scenes = prod.scenes
    index = {sc.id: i for i, sc in enumerate(scenes)}
    parent = list(range(len(scenes)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for g in prod.constraints.same_day:
        ids = [index[x] for x in g.scenes]
        for other in ids[1:]:
            parent[find(other)] = find(ids[0])
    blocks: dict[int, list[int]] = defaultdict(list)
    for i in range(len(scenes)):
        blocks[find(i)].append(i)
    cap = prod.calendar.seconds
    b_min = {b: sum(scenes[i].seconds for i in m) for b, m in blocks.items()}
    if any(v > cap for v in b_min.values()):
        return None
    b_days = {b: set.intersection(*(set(open_days[i]) for i in m)) for b, m in blocks.items()}
    preds: dict[int, set[int]] = defaultdict(set)
    for pr in prod.constraints.precedences:
        a, b = find(index[pr.before]), find(index[pr.after])
        if a != b:
            preds[b].add(a)
    done: dict[int, int] = {}
    left = set(blocks)
    for d in range(len(days)):
        if not left:
            break
        room = cap
        locs: list[str] = []
        called: set[str] = set()
        while True:
            ready = [
                b
                for b in left
                if d in b_days[b] and b_min[b] <= room and all(p in done and done[p] < d for p in preds[b])
            ]
            if not ready:
                break

            scored = []
            for b in ready:
                here = {scenes[i].location for i in blocks[b]}
                stay = 0 if locs and here <= {locs[-1]} else (1 if locs and here & set(locs) else 2)
                urgency = sum(1 for x in b_days[b] if x >= d)
                cast = {c for i in blocks[b] for c in scenes[i].cast}
                scored.append(((min(urgency, 3), stay, -len(cast & called), -b_min[b], b), b))
            best = min(scored)[1]
            done[best] = d
            left.discard(best)
            room -= b_min[best]
            for i in blocks[best]:
                if not locs or locs[-1] != scenes[i].location:
                    locs.append(scenes[i].location)
                called |= set(scenes[i].cast)
    if left:
        return None
    if not prod.calendar.allow_gaps:
        _fill_holes(done, b_days, b_min, preds, cap)
    return {i: done[b] for b, members in blocks.items() for i in members}


def _fill_holes(
    done: dict[int, int],
    b_days: dict[int, set[int]],
    b_min: dict[int, int],
    preds: dict[int, set[int]],
    cap: int,
) -> None:
    """Move blocks into the empty days of a greedy schedule (a continuous shoot), keeping it valid."""
    succs: dict[int, set[int]] = defaultdict(set)
    for b, ps in preds.items():
        for p in ps:
            succs[p].add(b)
    for _ in range(4 * len(done)):
        per_day: dict[int, list[int]] = defaultdict(list)
        for b, d in done.items():
            per_day[d].append(b)
        last = max(per_day)
        holes = [d for d in range(last) if d not in per_day]
        if not holes:
            return
        hole = holes[0]
        moved = False
        # from the nearest days first; never empty the day a block leaves
        for b in sorted(done, key=lambda b: abs(done[b] - hole)):
            src = done[b]
            if len(per_day[src]) < 2 and src != last:
                continue
            if hole not in b_days[b] or b_min[b] > cap:
                continue
            if any(done[p] >= hole for p in preds[b]) or any(done[q] <= hole for q in succs[b]):
                continue
            done[b] = hole
            moved = True
            break
        if not moved:
            return


def _solver(
    opts: SolveOptions, *, workers: int | None = None, time_limit: float | None = None
) -> cp_model.CpSolver:
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = float(time_limit if time_limit is not None else opts.time_limit)
    solver.parameters.num_workers = int(workers if workers is not None else opts.num_workers)
    solver.parameters.random_seed = int(opts.seed)
    solver.parameters.linearization_level = opts.linearization
    if solver.parameters.num_workers == 2 and opts.portfolio:
        # measured on generated productions: an LP-heavy worker and a quick-restart one prove tighter
        # bounds than the default pair and find schedules as good (benchmarks/RESULTS.d/production.md)
        for name in opts.portfolio:
            solver.parameters.subsolvers.append(name)
    return solver


def _explain(prod: Production, opts: SolveOptions) -> tuple[list[str], list[str]]:
    """A small set of constraint groups that cannot hold together (deletion-minimised core), and those of
    them whose check ran out of time: they were kept though they may not be needed (the set may not be
    minimal)."""
    built = _build(prod, explain=True)
    groups = built.groups
    index_to_key = {v.index: k for k, v in groups.lits.items()}
    solver = _solver(opts, workers=1)
    status = solve(solver, built.model)
    if status != cp_model.INFEASIBLE:
        return [], []
    core = [index_to_key[i] for i in solver.sufficient_assumptions_for_infeasibility() if i in index_to_key]
    if not core:
        core = list(groups.lits)

    def solve_without(keys: Sequence[str]) -> cp_model.CpSolverStatus:
        built.model.clear_assumptions()
        built.model.add_assumptions([groups.lits[k] for k in keys])
        # groups left out must not constrain: they are free literals, the solver may set them false
        s = _solver(opts, workers=1, time_limit=max(1.0, opts.time_limit / 10))
        return solve(s, built.model)

    kept = list(core)
    unsure: list[str] = []
    for key in list(core):
        trial = [k for k in kept if k != key]
        if not trial:
            continue
        status = solve_without(trial)
        if status == cp_model.INFEASIBLE:
            kept = trial
        elif status == cp_model.UNKNOWN:  # cut short: kept without knowing it is needed
            unsure.append(key)
    kept.sort(key=lambda k: k == "visits")  # the rule after the constraints of the file it binds
    return [groups.text[k] for k in kept], [groups.text[k] for k in unsure]


def _order_block(prod: Production, ids: list[str]) -> list[str]:
    """Scenes at one location on one day: precedences first, then day before night, then file order."""
    pos = {s.id: i for i, s in enumerate(prod.scenes)}
    inside = set(ids)
    preds: dict[str, set[str]] = {s: set() for s in ids}
    for p in prod.constraints.precedences:
        if p.before in inside and p.after in inside:
            preds[p.after].add(p.before)
    out: list[str] = []
    left = sorted(ids, key=lambda s: (prod.scene(s).day_night == "NIGHT", pos[s]))
    while left:
        for s in left:
            if preds[s] <= set(out):
                out.append(s)
                left.remove(s)
                break
        else:  # a cycle cannot happen in a feasible schedule; keep the rest as they are
            out += left
            break
    return out


def _after(clock: datetime, seconds: int) -> datetime:
    """``seconds`` of real time after ``clock``: in UTC when it has a time zone (local wall-clock arithmetic
    gave a night across the spring change one hour too few)."""
    if clock.tzinfo is None:
        return clock + timedelta(seconds=seconds)
    return (clock.astimezone(UTC) + timedelta(seconds=seconds)).astimezone(clock.tzinfo)


def _scenes_at(prod: Production, locs: Iterable[int], on_day: list[int]) -> dict[int, list[int]]:
    """The scenes of ``on_day`` (indices) at each location of ``locs``."""
    return {li: [si for si in on_day if prod.scenes[si].location == prod.locations[li].id] for li in locs}


def _day_night_counts(prod: Production, scene_ids: list[int]) -> tuple[int, int]:
    """How many of the scenes are NIGHT scenes and how many DAY scenes."""
    nights = sum(prod.scenes[si].day_night == "NIGHT" for si in scene_ids)
    return nights, len(scene_ids) - nights


def _day_after_night(counts: Sequence[tuple[int, int]]) -> int:
    """DAY scenes shot after NIGHT scenes of an earlier location, for locations in this order with these
    (night, day) counts (a location's own scenes go day first, see :func:`_order_block`)."""
    out = nights = 0
    for n, dd in counts:
        out += nights * dd
        nights += n
    return out


def _night_last(prod: Production, order: list[int], on_day: list[int]) -> list[int]:
    """``order`` (a day's locations as the circuit visits them) changed to the order of the same move cost,
    keeping the day's precedences, with the fewest DAY scenes after NIGHT scenes (the circuit itself, of
    those as few): the circuit prices moves only, and symmetric costs left a night scene opening the day
    at the call time ahead of day scenes elsewhere, or a location's night scene ahead of another's day
    scenes (days of up to 7 locations; more are left as the circuit has them)."""
    scenes = prod.scenes
    here = _scenes_at(prod, order, on_day)
    counts = {li: _day_night_counts(prod, here[li]) for li in order}
    worst = _day_after_night([counts[li] for li in order])
    if worst == 0 or len(order) > 7:
        return order
    where = {scenes[si].id: li for li in order for si in here[li]}
    pairs = [
        (where[p.before], where[p.after])
        for p in prod.constraints.precedences
        if p.before in where and p.after in where and where[p.before] != where[p.after]
    ]

    def moves(seq: Sequence[int]) -> float:
        return sum(
            prod.move_cost(prod.locations[a].id, prod.locations[b].id) for a, b in itertools.pairwise(seq)
        )

    cost = moves(order)
    best, fewest = order, worst
    for perm in itertools.permutations(order):  # the circuit's own order first: it is kept on a tie
        at = {li: k for k, li in enumerate(perm)}
        bad = _day_after_night([counts[li] for li in perm])
        if (
            bad < fewest
            and all(at[a] < at[b] for a, b in pairs)
            and abs(moves(perm) - cost) <= 1e-9 * max(1.0, abs(cost))
        ):
            best, fewest = list(perm), bad
    return best


def _fewest_day_after_night(prod: Production, locs: list[int], on_day: list[int]) -> list[int]:
    """A day's locations when no move is priced and no precedence joins two of them: the order with the
    fewest DAY scenes after NIGHT scenes, then in scene order. Swapping neighbours X, Y changes that count
    by nights(Y) x days(X) - nights(X) x days(Y), so sorting by nights per day scene is an optimal order
    (night-only locations last)."""
    here = _scenes_at(prod, locs, on_day)
    counts = {li: _day_night_counts(prod, here[li]) for li in locs}

    def key(li: int) -> tuple[bool, Fraction, int]:
        n, dd = counts[li]
        return (dd == 0, Fraction(n, dd) if dd else Fraction(0), min(here[li]))

    return sorted(locs, key=key)


def _extract(prod: Production, built: _Built, solver: cp_model.CpSolver) -> tuple[list[ShootDay], int]:
    scenes = prod.scenes
    cal = prod.calendar
    zone = ZoneInfo(cal.timezone) if cal.timezone else None  # None: local times without a zone
    out: list[ShootDay] = []
    n_moves = 0
    number = 0
    for d, day in enumerate(built.days):
        if not solver.value(built.used[d]):
            continue
        number += 1
        on_day = [si for (si, dd) in built.x if dd == d and solver.value(built.x[si, dd])]
        locs_used = [
            li for li in range(len(prod.locations)) if (li, d) in built.y and solver.value(built.y[li, d])
        ]
        order: list[int] = []
        if d in built.arcs:
            nxt = {a: b for a, b, lit in built.arcs[d] if solver.value(lit)}
            cur = nxt.get(-1, -1)
            while cur != -1 and cur not in order:
                order.append(cur)
                cur = nxt.get(cur, -1)
            order = _night_last(prod, order, on_day)
        else:
            # no moves to price and no precedence across locations: the fewest DAY scenes after NIGHT
            # ones (a night scene opened the day ahead of a day scene elsewhere), then in scene order
            order = _fewest_day_after_night(prod, locs_used, on_day)
        clock = datetime.combine(day, cal.call_time, tzinfo=zone)
        clock = call = _after(
            clock, 0
        )  # a call time the spring change skips (01:30 in London): the hour after
        elapsed = 0.0  # hours shot so far: each end is the call plus the exact durations (to the second)
        items: list[ScheduledScene] = []
        move_cost = 0.0
        for k, li in enumerate(order):
            lid = prod.locations[li].id
            if k:
                move_cost += prod.move_cost(prod.locations[order[k - 1]].id, lid)
                n_moves += 1
            block = _order_block(prod, [scenes[si].id for si in on_day if scenes[si].location == lid])
            for sid in block:
                s = prod.scene(sid)
                elapsed += s.duration
                end = _after(call, round(elapsed * 3600))
                items.append(
                    ScheduledScene(
                        scene_id=s.id,
                        name=s.name,
                        location=s.location,
                        int_ext=s.int_ext,
                        day_night=s.day_night,
                        hours=s.duration,
                        start=clock.strftime("%H:%M"),
                        end=end.strftime("%H:%M"),
                        cast=tuple(s.cast),
                        crew=tuple(s.crew),
                        start_at=clock.isoformat(timespec="minutes"),
                        end_at=end.isoformat(timespec="minutes"),
                        pages=s.pages,
                    )
                )
                clock = end
        out.append(
            ShootDay(
                number=number,
                date=day,
                scenes=tuple(items),
                locations=tuple(prod.locations[li].id for li in order),
                hours=sum(s.hours for s in items),
                setup_cost=sum(prod.location(prod.locations[li].id).setup_cost for li in order),
                move_cost=move_cost,
            )
        )
    return out, n_moves


def _people_and_costs(
    prod: Production, days: list[ShootDay], moves: float
) -> tuple[list[PersonCall], CostBreakdown]:
    shoot_dates = [d.date for d in days]
    calls: list[PersonCall] = []
    cast_pay = holding = crew_pay = 0.0
    for person in prod.people:
        work = sorted({d.date for d in days for s in d.scenes if person.id in s.cast or person.id in s.crew})
        hold: list[date] = []
        if person.kind == "cast" and work:
            hold = [x for x in shoot_dates if work[0] <= x <= work[-1] and x not in work]
            cost = person.daily_rate * (len(work) + len(hold))
            cast_pay += cost
            holding += person.daily_rate * len(hold)
        else:
            cost = person.daily_rate * len(work)
            crew_pay += cost
        calls.append(PersonCall(person.id, person.label, person.kind, tuple(work), tuple(hold), cost))
    day_cost = prod.costs.day_cost * len(days)
    setup = sum(d.setup_cost for d in days)
    total = cast_pay + crew_pay + day_cost + setup + moves
    return calls, CostBreakdown(cast_pay, holding, crew_pay, day_cost, setup, moves, total)


def plan_shoot(prod: Production, options: SolveOptions | None = None) -> Schedule:
    """The cheapest schedule found within the time limit (see the module docstring).

    Raises :class:`~reelkit.errors.InfeasibleError` (with ``conflicts``) when no schedule exists, and
    :class:`~reelkit.errors.ReelkitError` when the time limit passes before any schedule is found.
    """
    opts = options or SolveOptions()
    t0 = _time.perf_counter()
    cycle = precedence_cycle(prod)
    if cycle is not None:
        precs = prod.constraints.precedences
        conflicts = [
            f"scene {precs[k].before} before scene {precs[k].after} (constraints.precedences[{k}])"
            for k in cycle
        ]
        raise InfeasibleError(
            "the precedences form a cycle, so no order satisfies them: " + "; ".join(conflicts),
            conflicts=conflicts,
        )
    cal = prod.calendar
    for k, g in enumerate(prod.constraints.same_day):  # no day can hold it: refused before any solve
        group = [prod.scene(sid) for sid in dict.fromkeys(g.scenes)]
        if sum(sc.seconds for sc in group) > cal.seconds:
            ids = ", ".join(g.scenes)
            hours = sum(sc.duration for sc in group)
            raise InfeasibleError(
                f"no shooting schedule satisfies every constraint: the scenes of constraints.same_day[{k}] "
                f"({ids}) take {hours:g} h, more than a working day of {cal.hours_per_day:g} h "
                "(calendar.hours_per_day); split the group or lengthen the working day",
                conflicts=[
                    f"scenes {ids} on the same day (constraints.same_day[{k}])",
                    f"working hours: {cal.hours_per_day:g} h a day (calendar.hours_per_day)",
                ],
            )
    built = _build(prod, explain=False)
    open_days: dict[int, list[int]] = defaultdict(list)
    for si, d in built.x:
        open_days[si].append(d)
    hint = greedy_days(prod, built.days, open_days) if opts.hint else None
    if hint is not None:
        for (si, d), var in built.x.items():
            built.model.add_hint(var, hint[si] == d)
    solver = _solver(opts)
    status = solve(solver, built.model)
    if status == cp_model.INFEASIBLE:
        closed = _ClosedDays(prod).scene_conflicts()
        if closed:
            conflicts = list(dict.fromkeys(t for _, texts in closed for t in texts))
            named = "; ".join(
                f"scene {sid} has no day open to it ({' and '.join(t)})" for sid, t in closed[:5]
            )
            more = f"; and {len(closed) - 5} more scenes" if len(closed) > 5 else ""
            raise InfeasibleError(
                f"no shooting schedule satisfies every constraint: {named}{more}", conflicts=conflicts
            )
        conflicts, unsure = _explain(prod, opts)
        if not conflicts:
            raise InfeasibleError(
                "no shooting schedule satisfies every constraint; the conflicting ones were not isolated "
                f"within the time limit ({opts.time_limit:g} s): give a longer --time-limit to name them"
            )
        if unsure:
            raise InfeasibleError(
                "no shooting schedule satisfies every constraint; these constraints conflict, possibly not "
                f"all of them: {'; '.join(conflicts)} (the time ran out checking {'; '.join(unsure)}; give "
                "a longer --time-limit to narrow the list)",
                conflicts=conflicts,
            )
        raise InfeasibleError(
            "no shooting schedule satisfies every constraint; these conflict: " + "; ".join(conflicts),
            conflicts=conflicts,
        )
    if status == cp_model.MODEL_INVALID:  # a bug, not the user's input
        raise ReelkitError(f"internal error: invalid schedule model: {built.model.validate()}")
    bound = float(solver.best_objective_bound) / built.cost_scale
    if status != cp_model.OPTIMAL and hint is not None:
        # stopped by the limit: the greedy schedule completed (its days fixed, the order solved), if it is
        # valid, where the search found none or a dearer one (at 150 scenes and 30 s the search returned a
        # schedule 15% dearer than this completion); the first search's bound still holds
        days_used = sorted(set(hint.values()))
        if prod.calendar.allow_gaps or days_used == list(range(len(days_used))):
            for (si, d), var in built.x.items():
                built.model.add(var == int(hint[si] == d))  # the first solver's values stay readable
            completed = _solver(opts, time_limit=max(5.0, opts.time_limit / 4))
            done = solve(completed, built.model)
            if done in (cp_model.OPTIMAL, cp_model.FEASIBLE) and (
                status != cp_model.FEASIBLE or completed.objective_value < solver.objective_value
            ):
                solver, status = completed, cp_model.FEASIBLE  # optimal for the fixed days only
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise ReelkitError(
            f"no schedule found within {opts.time_limit:g} s (solver status {solver.status_name(status)}); "
            "give it more time (--time-limit)"
        )
    days, n_moves = _extract(prod, built, solver)
    moves = sum(d.move_cost for d in days)
    calls, costs = _people_and_costs(prod, days, moves)
    # the schedule's true cost (a feasible solution may carry slack in the pay indicators)
    obj = min(float(solver.objective_value) / built.cost_scale, costs.total)
    bound = (
        min(bound, obj)
        if status != cp_model.OPTIMAL
        else float(solver.best_objective_bound) / built.cost_scale
    )
    gap = 0.0 if status == cp_model.OPTIMAL else max(0.0, (obj - bound) / max(abs(obj), 1.0))
    proto = built.model.proto
    return Schedule(
        production=prod.name,
        status=solver.status_name(status),
        objective=obj,
        bound=bound,
        gap=gap,
        wall_s=_time.perf_counter() - t0,
        days=tuple(days),
        people=tuple(calls),
        costs=costs,
        n_moves=n_moves,
        timezone=prod.calendar.timezone,
        stats={"variables": len(proto.variables), "constraints": len(proto.constraints)},
    )


def check_schedule(prod: Production, schedule: Schedule) -> list[str]:
    """Every way ``schedule`` breaks ``prod``'s rules (empty when it keeps them all): an independent check."""
    out: list[str] = []
    cal = prod.calendar
    day_of: dict[str, int] = {}
    pos: dict[str, int] = {}
    date_of: dict[str, date] = {}
    for d in schedule.days:
        if sum(prod.scene(s.scene_id).seconds for s in d.scenes) > cal.seconds:
            out.append(f"day {d.number} runs over {cal.hours_per_day:g} h")
        for k, s in enumerate(d.scenes):
            if s.scene_id in day_of:
                out.append(f"scene {s.scene_id} is scheduled twice")
            day_of[s.scene_id], pos[s.scene_id], date_of[s.scene_id] = d.number, k, d.date
            sc = prod.scene(s.scene_id)
            if not prod.location(sc.location).is_available(d.date):
                out.append(f"scene {sc.id}: location {sc.location} unavailable on {d.date}")
            for p in [*sc.cast, *sc.crew]:
                if not prod.person(p).is_available(d.date):
                    out.append(f"scene {sc.id}: {p} unavailable on {d.date}")
    missing = [s.id for s in prod.scenes if s.id not in day_of]
    if missing:
        out.append(f"scenes never shot: {', '.join(missing)}")
        return out
    working = cal.working_days(len(schedule.days) * 3 + 400)
    dates = [d.date for d in schedule.days]
    for d in schedule.days:
        if d.date < cal.start:
            out.append(f"day {d.number} ({d.date}) is before calendar.start ({cal.start})")
    if dates and not cal.allow_gaps:
        # a continuous shoot starts on the first working day from calendar.start (the model's rule)
        if dates[0] > working[0]:
            out.append(
                f"the shoot is continuous (calendar.allow_gaps is false) but starts on {dates[0]}, not on "
                f"the first working day from calendar.start ({working[0]})"
            )
        # its working days follow one another (a day before the start or on a rest day is named above/below)
        open_days = set(working)
        shot = [x for x in dates if x in open_days]
        start = working.index(shot[0]) if shot else 0
        if shot != working[start : start + len(shot)]:
            out.append("the shoot is not continuous")
    if any(d not in working for d in dates if d >= cal.start):
        out.append("a shooting day falls on a rest day or holiday")
    for pr in prod.constraints.precedences:
        if (day_of[pr.before], pos[pr.before]) >= (day_of[pr.after], pos[pr.after]):
            out.append(f"scene {pr.before} is not before scene {pr.after}")
    for g in prod.constraints.same_day:
        if len({day_of[x] for x in g.scenes}) > 1:
            out.append(f"scenes {', '.join(g.scenes)} are not on one day")
    for d in schedule.days:  # a day visits each location once: its scenes there are shot together
        seen: list[str] = []
        for s in d.scenes:
            loc = prod.scene(s.scene_id).location
            if seen and loc != seen[-1] and loc in seen:
                out.append(
                    f"day {d.number} ({d.date}) goes back to location {loc} after {seen[-1]} (a day visits "
                    "each location once)"
                )
            if not seen or loc != seen[-1]:
                seen.append(loc)
    for nb in prod.constraints.not_before:
        if date_of[nb.scene] < nb.date:
            out.append(f"scene {nb.scene} is shot before {nb.date}")
    if cal.max_days is not None and dates and dates[-1] > working[cal.max_days - 1]:
        out.append("the shoot runs past calendar.max_days")
    return out
