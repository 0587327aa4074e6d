"""A seeded generator of realistic productions, from a 10-scene short to a 150-scene feature.

The script is drawn first: scenes in story order, each at a set (a location, interior or exterior, revisited
as stories do), a length in eighths of a page (about 1.2 hours of shooting per page), a day/night split of
roughly 70/30, two or three leads in most scenes, supporting cast in some, day players in a few, and a
stunt coordinator on action scenes. Then a planted schedule (scenes packed by location into working days)
makes sure the constraints drawn from it can all hold: availability windows and days off around each
person's and location's planted days, precedences and "same day" groups between scenes the planted
schedule already orders that way, and "not before" dates on or before the planted day. The solver usually
finds something much better than the planted schedule; the generator only guarantees feasibility.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date
from typing import Any

import numpy as np

from reelkit.errors import ConfigError
from reelkit.produce.production import (
    Calendar,
    Constraints,
    Costs,
    Location,
    NotBefore,
    Person,
    Precedence,
    Production,
    SameDay,
    Scene,
    Window,
)

__all__ = ["generate_pool", "generate_production"]

_PLACES = [
    "apartment",
    "police station",
    "diner",
    "warehouse",
    "beach",
    "forest",
    "hospital",
    "office",
    "rooftop",
    "harbour",
    "school",
    "motel",
    "church",
    "train station",
    "farmhouse",
    "bar",
    "courtroom",
    "parking garage",
    "lighthouse",
    "mansion",
    "alley",
    "market",
    "bridge",
    "museum",
    "gym",
    "bus depot",
    "cabin",
    "laboratory",
]
_FIRST = [
    "Ada",
    "Ben",
    "Cleo",
    "Dev",
    "Eli",
    "Fay",
    "Gus",
    "Hana",
    "Ivo",
    "Jude",
    "Kai",
    "Lena",
    "Milo",
    "Nia",
    "Omar",
    "Pia",
    "Quin",
    "Rosa",
    "Sami",
    "Tess",
    "Uma",
    "Vik",
    "Wren",
    "Yara",
    "Zed",
]
_LAST = [
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Tanaka",
    "Reyes",
    "Novak",
    "Byrne",
    "Haddad",
    "Kowalski",
    "Silva",
    "Mensah",
    "Larsen",
    "Ito",
    "Costa",
    "Varga",
    "Quinn",
    "Duarte",
    "Keller",
    "Nair",
    "Osei",
]


def generate_production(n_scenes: int, seed: int = 0, *, start: date = date(2026, 3, 2)) -> Production:
    """A feasible production with ``n_scenes`` scenes (2 to 400), the same for the same seed."""
    if not 2 <= n_scenes <= 400:
        raise ConfigError(f"--scenes must be between 2 and 400, not {n_scenes}")
    rng = np.random.default_rng(seed)
    n_loc = int(np.clip(round(n_scenes / 7), 2, len(_PLACES)))
    places = list(rng.choice(_PLACES, n_loc, replace=False))
    xy = rng.uniform(0, 30, size=(n_loc, 2))  # km in a city
    locations_raw = [(f"L{i + 1}", p.title()) for i, p in enumerate(places)]

    # ---- people
    n_lead = 2 if n_scenes < 40 else 3
    n_supp = 2 + n_scenes // 15
    n_day = 1 + n_scenes // 10
    names = [f"{f} {last}" for f in _FIRST for last in _LAST]
    picked = list(rng.choice(len(names), n_lead + n_supp + n_day + 2, replace=False))
    cast: list[tuple[str, str, str, float]] = []  # id, name, tier, rate
    for _ in range(n_lead):
        cast.append((f"C{len(cast) + 1}", names[picked.pop()], "lead", float(rng.integers(20, 100) * 100)))
    for _ in range(n_supp):
        cast.append(
            (f"C{len(cast) + 1}", names[picked.pop()], "supporting", float(rng.integers(6, 20) * 100))
        )
    for _ in range(n_day):
        cast.append((f"C{len(cast) + 1}", names[picked.pop()], "day player", float(rng.integers(3, 7) * 100)))
    stunt = ("K1", names[picked.pop()], "stunt coordinator", 900.0)

    # ---- the script
    scenes: list[dict[str, object]] = []
    current = int(rng.integers(n_loc))
    loc_ext = rng.random(n_loc) < 0.4  # mostly exterior sets
    for k in range(n_scenes):
        if k and rng.random() < 0.55:
            current = int(rng.integers(n_loc)) if rng.random() < 0.6 else (current + 1) % n_loc
        int_ext = "EXT" if rng.random() < (0.75 if loc_ext[current] else 0.15) else "INT"
        day_night = "NIGHT" if rng.random() < 0.3 else "DAY"
        pages = float(np.clip(rng.gamma(2.0, 0.6), 0.125, 5.0))
        pages = math.ceil(pages * 8) / 8
        hours = float(np.clip(round(pages * 1.2 * 4) / 4, 0.5, 6.0))
        members = [c[0] for c in cast if c[2] == "lead" and rng.random() < 0.6]
        members += [c[0] for c in cast if c[2] == "supporting" and rng.random() < 0.15]
        if rng.random() < 0.25:
            members.append(cast[n_lead + n_supp + int(rng.integers(n_day))][0])
        if not members:
            members = [cast[int(rng.integers(n_lead))][0]]
        action = rng.random() < 0.1
        scenes.append(
            {
                "id": str(k + 1),
                "name": f"{'Chase at' if action else 'At'} the {places[current]}",
                "duration": hours,
                "pages": pages,
                "cast": list(dict.fromkeys(members)),
                "crew": [stunt[0]] if action else [],
                "location": locations_raw[current][0],
                "int_ext": int_ext,
                "day_night": day_night,
            }
        )

    # ---- a planted schedule: packed by location, locations in a random order
    hours_per_day = 11.0
    cal = Calendar(start=start, hours_per_day=hours_per_day)
    by_loc: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(scenes):
        by_loc[str(s["location"])].append(i)
    planted: list[list[int]] = []
    for lid in rng.permutation(sorted(by_loc)):
        day: list[int] = []
        used = 0.0
        for i in by_loc[str(lid)]:
            h = float(scenes[i]["duration"])  # type: ignore[arg-type]
            if used + h > hours_per_day:
                planted.append(day)
                day, used = [], 0.0
            day.append(i)
            used += h
        if day:
            planted.append(day)
    n_planted = len(planted)
    max_days = math.ceil(n_planted * 1.25) + 2
    dates = cal.working_days(max_days + 10)
    day_of = {i: d for d, ids in enumerate(planted) for i in ids}

    def window(days: list[int], slack: int) -> Window:
        lo = max(0, min(days) - int(rng.integers(0, slack + 1)))
        hi = min(len(dates) - 1, max(days) + int(rng.integers(0, slack + 1)))
        return Window(start=dates[lo], end=dates[hi])

    def days_off(days: list[int], k: int) -> list[date]:
        free = [d for d in range(max_days) if d not in set(days)]
        if not free or k == 0:
            return []
        chosen = rng.choice(free, min(k, len(free)), replace=False)
        return sorted(dates[int(d)] for d in chosen)

    person_days: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(scenes):
        for p in [*s["cast"], *s["crew"]]:  # type: ignore[misc]
            person_days[str(p)].append(day_of[i])
    people: list[Person] = []
    for cid, name, tier, rate in [*cast, stunt]:
        kind = "crew" if cid == stunt[0] else "cast"
        avail: list[Window] = []
        off: list[date] = []
        pd_ = person_days.get(cid, [])
        if pd_ and tier != "lead" and rng.random() < 0.35:
            avail = [window(pd_, 4)]
        if pd_ and rng.random() < 0.3:
            off = days_off(pd_, int(rng.integers(1, 3)))
        people.append(
            Person(id=cid, name=name, kind=kind, role=tier, daily_rate=rate, available=avail, days_off=off)
        )

    loc_days: dict[str, list[int]] = defaultdict(list)
    for i, s in enumerate(scenes):
        loc_days[str(s["location"])].append(day_of[i])
    locations: list[Location] = []
    for li, (lid, label) in enumerate(locations_raw):
        moves = {}
        for lj in range(li + 1, n_loc):
            dist = float(np.hypot(*(xy[li] - xy[lj])))
            moves[locations_raw[lj][0]] = float(round(1500 + 120 * dist, -1))
        ld = loc_days.get(lid, [])
        avail = [window(ld, 5)] if ld and rng.random() < 0.3 else []
        locations.append(
            Location(
                id=lid,
                name=label,
                setup_cost=float(rng.integers(5, 40) * 100),
                move_costs=moves,
                available=avail,
                days_off=days_off(ld, 1) if ld and rng.random() < 0.2 else [],
            )
        )

    # ---- constraints consistent with the planted schedule
    n_cons = max(1, n_scenes // 20)
    precedences: list[Precedence] = []
    order_in_day = {i: k for ids in planted for k, i in enumerate(ids)}
    for _ in range(n_cons):
        a, b = (int(v) for v in rng.choice(n_scenes, 2, replace=False))
        key_a = (day_of[a], order_in_day[a])
        key_b = (day_of[b], order_in_day[b])
        if key_a > key_b:
            a, b = b, a
        if scenes[a]["location"] != scenes[b]["location"] and day_of[a] == day_of[b]:
            continue
        precedences.append(Precedence(before=str(scenes[a]["id"]), after=str(scenes[b]["id"])))
    same_day: list[SameDay] = []
    for ids in planted:
        if len(ids) >= 2 and len(same_day) < n_cons and rng.random() < 0.3:
            pair = rng.choice(ids, 2, replace=False)
            same_day.append(SameDay(scenes=[str(scenes[int(i)]["id"]) for i in pair]))
    not_before: list[NotBefore] = []
    for _ in range(n_cons):
        i = int(rng.integers(n_scenes))
        if day_of[i] >= 2:
            nb = dates[max(0, day_of[i] - int(rng.integers(0, 3)))]
            not_before.append(NotBefore(scene=str(scenes[i]["id"]), date=nb))

    size = "short" if n_scenes <= 30 else "feature"
    return Production(
        name=f"generated {size} ({n_scenes} scenes, seed {seed})",
        calendar=Calendar(start=start, hours_per_day=hours_per_day, max_days=max_days),
        costs=Costs(day_cost=float(4000 + 60 * n_scenes), default_move_cost=2000.0),
        people=people,
        locations=locations,
        scenes=[Scene.model_validate(s) for s in scenes],
        constraints=Constraints(precedences=precedences, same_day=same_day, not_before=not_before),
        genres=["Drama", "Thriller"] if size == "feature" else ["Drama"],
        city="Lisbon",
        budget=None,
    )


#: Rates (per day) and skills of the candidates :func:`generate_pool` draws, per kind of work.
_POOL_KINDS: dict[str, tuple[tuple[int, int], tuple[str, ...]]] = {
    "director": ((1500, 6000), ("drama", "action", "comedy")),
    "dop": ((900, 3500), ("lighting", "camera", "action")),
    "editor": ((500, 2000), ("editing", "drama", "action")),
    "composer": ((400, 1800), ("music", "drama")),
    "actor": ((300, 8000), ("drama", "action", "comedy")),
}


def generate_pool(prod: Production, seed: int = 0) -> tuple[Production, Any]:
    """``prod`` with roles to fill (director, director of photography, editor, composer and one lead per
    lead character) and a seeded candidate pool for them (:class:`reelkit.produce.crew.Pool`): several
    candidates per kind of work, with skills, genre credits, rates, home cities, shared past projects and a
    few days off, so that ``reelkit crew match`` has a real choice to make."""
    from reelkit.produce.crew import Pool
    from reelkit.produce.production import Role

    rng = np.random.default_rng(seed + 7919)
    in_scenes = {c for s in prod.scenes for c in s.cast}  # a lead in no scene has no role to cast
    leads = [p for p in prod.people if p.kind == "cast" and p.role == "lead" and p.id in in_scenes]
    roles = [
        Role(id="dir", kind="director", skills={"drama": 2.0, "action": 1.0}),
        Role(id="dop", kind="dop", skills={"lighting": 2.0, "camera": 1.0}),
        Role(id="edit", kind="editor", skills={"editing": 2.0, "drama": 1.0}),
        Role(id="music", kind="composer", skills={"music": 2.0, "drama": 1.0}),
        *(
            Role(id=f"lead{i + 1}", kind="lead", character=p.id, skills={"drama": 2.0, "action": 1.0})
            for i, p in enumerate(leads)
        ),
    ]
    names = [f"{f} {last}" for f in _FIRST for last in _LAST]
    order = list(rng.permutation(len(names)))
    projects = [f"project-{k}" for k in range(1, 13)]
    horizon = [prod.calendar.start.toordinal() + d for d in range(int((prod.calendar.max_days or 60) * 1.6))]
    candidates = []
    for kind, ((lo, hi), skills) in _POOL_KINDS.items():
        count = 3 * max(1, len(leads)) if kind == "actor" else 4
        for k in range(count):
            days_off = (
                sorted({date.fromordinal(int(x)) for x in rng.choice(horizon, int(rng.integers(1, 4)))})
                if rng.random() < 0.3
                else []
            )
            candidates.append(
                {
                    "id": f"{kind[:3]}{k + 1}",
                    "name": names[int(order.pop())],
                    "roles": [kind],
                    "skills": {s: round(float(rng.uniform(0.2, 1.0)), 2) for s in skills},
                    "genres": {g: int(rng.integers(0, 6)) for g in ("Drama", "Thriller", "Comedy")},
                    "daily_rate": float(rng.integers(lo // 100, hi // 100) * 100),
                    "home_city": str(rng.choice(["Lisbon", "Lisbon", "Porto", "Madrid"])),
                    "credits": sorted(
                        str(x) for x in rng.choice(projects, int(rng.integers(0, 4)), replace=False)
                    ),
                    "days_off": [d.isoformat() for d in days_off],
                }
            )
    pool = Pool.model_validate({"candidates": candidates, "per_diem": 150.0})
    return prod.model_copy(update={"roles": roles}), pool
