"""Schedule outputs (CSV, iCalendar, stripboard), the generator, and the plan/generate commands."""

from __future__ import annotations

import csv
import io
import json
import os
import re
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from reelkit.errors import ConfigError
from reelkit.produce.generator import generate_production
from reelkit.produce.outputs import (
    check_plan_folder,
    person_calendar,
    read_schedule_csv,
    scene_times,
    schedule_csv,
    stripboard_html,
    write_plan,
)
from reelkit.produce.production import (
    Production,
    ProductionFormatError,
    load_production,
    parse_production,
    production_to_data,
)
from reelkit.produce.shoot import Schedule, SolveOptions, check_schedule, check_schedule_of, plan_shoot
from reelkit.testing.cli import run_cli as run


@pytest.fixture(scope="module")
def small() -> tuple[object, object]:
    p = generate_production(12, seed=3)
    return p, plan_shoot(p, SolveOptions(time_limit=10))


def test_generator_is_seeded_valid_and_feasible() -> None:
    a, b, c = (
        generate_production(20, seed=1),
        generate_production(20, seed=1),
        generate_production(20, seed=2),
    )
    assert a == b and a != c
    # the generated production passes the file validation (cross-references included)
    assert parse_production(production_to_data(a)) == a
    s = plan_shoot(a, SolveOptions(time_limit=10))
    assert len(s.day_of()) == 20 and s.n_days <= (a.calendar.max_days or 0)
    assert {sc.int_ext for sc in a.scenes} <= {"INT", "EXT"}


def test_the_generator_takes_400_scenes_and_refuses_401() -> None:
    """--scenes runs from 2 to 400, both included."""
    assert len(generate_production(400).scenes) == 400
    with pytest.raises(ConfigError, match="between 2 and 400, not 401"):
        generate_production(401)


def test_a_generated_production_is_a_short_up_to_30_scenes_and_a_feature_from_31() -> None:
    """30 scenes make a short (genre Drama), 31 a feature (Drama and Thriller), in the name and the genres."""
    short, feature = generate_production(30), generate_production(31)
    assert short.name == "generated short (30 scenes, seed 0)" and short.genres == ["Drama"]
    assert feature.name == "generated feature (31 scenes, seed 0)" and feature.genres == ["Drama", "Thriller"]


@pytest.mark.parametrize(("n", "seed"), [(8, 0), (15, 1), (25, 2), (40, 3)])
def test_generated_schedules_keep_every_rule(n: int, seed: int) -> None:
    prod = generate_production(n, seed)
    sched = plan_shoot(prod, SolveOptions(time_limit=3))
    assert check_schedule(prod, sched) == []
    assert sched.objective >= sched.bound - 1e-6
    assert sched.costs.total == pytest.approx(sched.objective)


def test_check_schedule_catches_broken_rules(small: tuple[object, object]) -> None:
    import dataclasses

    prod, sched = small
    first = sched.days[0]  # type: ignore[attr-defined]
    broken = dataclasses.replace(
        sched, days=(dataclasses.replace(first, scenes=first.scenes[1:]), *sched.days[1:])
    )  # type: ignore[attr-defined]
    assert any("never shot" in v for v in check_schedule(prod, broken))  # type: ignore[arg-type]


def test_check_schedule_flags_a_shoot_past_max_days() -> None:
    """Three full days break max_days 2 and keep max_days 3 (the last day open is working day max_days)."""
    data = {
        "name": "w",
        "calendar": {"start": "2026-03-02", "hours_per_day": 8, "max_days": 3},
        "locations": [{"id": "A"}],
        "scenes": [{"id": str(k), "duration": 8, "location": "A"} for k in range(3)],
    }
    sched = plan_shoot(parse_production(data), SolveOptions(time_limit=5))
    assert check_schedule(parse_production(data), sched) == []
    data["calendar"]["max_days"] = 2  # type: ignore[index]
    assert check_schedule(parse_production(data), sched) == ["the shoot runs past calendar.max_days"]


def test_check_schedule_flags_a_same_day_group_split_and_a_first_day_on_a_rest_day() -> None:
    """A "same day" group of three with one scene moved to another day breaks it; so does a shoot whose first
    day is moved to Saturday 7 March (gaps allowed, so only the rest day is wrong). Moved to Sunday 1 March,
    the day before calendar.start, it is named as that (it was put down to a rest day)."""
    import dataclasses

    prod = parse_production(
        {
            "name": "g",
            "calendar": {"start": "2026-03-02", "hours_per_day": 8, "allow_gaps": True},
            "locations": [{"id": "A"}],
            "scenes": [{"id": str(k), "duration": 2, "location": "A"} for k in range(1, 4)],
            "constraints": {"same_day": [{"scenes": ["1", "2", "3"]}]},
        }
    )
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    (day,) = sched.days
    assert check_schedule(prod, sched) == []
    split = (
        dataclasses.replace(day, scenes=day.scenes[:2]),
        dataclasses.replace(day, number=2, date=date(2026, 3, 3), scenes=day.scenes[2:]),
    )
    assert check_schedule(prod, dataclasses.replace(sched, days=split)) == [
        "scenes 1, 2, 3 are not on one day"
    ]
    saturday = (dataclasses.replace(day, date=date(2026, 3, 7)),)
    assert check_schedule(prod, dataclasses.replace(sched, days=saturday)) == [
        "a shooting day falls on a rest day or holiday"
    ]
    sunday = (dataclasses.replace(day, date=date(2026, 3, 1)),)
    assert check_schedule(prod, dataclasses.replace(sched, days=sunday)) == [
        "day 1 (2026-03-01) is before calendar.start (2026-03-02)"
    ]


def _star_off_tuesday() -> Production:
    """Two 8 h scenes of the star "a" (1000 a day, off Tuesday 3 March) and one of "b" (10 a day), at one
    location, from Monday 2 March: the optimum (3010) shoots the star Monday and Wednesday, held Tuesday."""
    return parse_production(
        {
            "name": "late",
            "calendar": {"start": "2026-03-02", "max_days": 6},
            "people": [
                {"id": "a", "daily_rate": 1000, "days_off": ["2026-03-03"]},
                {"id": "b", "daily_rate": 10},
            ],
            "locations": [{"id": "L"}],
            "scenes": [
                {"id": "A1", "duration": 8, "cast": ["a"], "location": "L"},
                {"id": "A2", "duration": 8, "cast": ["a"], "location": "L"},
                {"id": "B", "duration": 8, "cast": ["b"], "location": "L"},
            ],
        }
    )


def test_check_schedule_flags_a_continuous_shoot_that_does_not_start_on_calendar_start() -> None:
    """A continuous shoot starts on calendar.start (the model's rule). The star (1000 a day) is off Tuesday 3
    March: from Monday 2 March the optimum is 3010 (the star Monday and Wednesday, held Tuesday). The same
    days moved to Wednesday-Friday cost 2010 and passed check_schedule, so the plan looked beaten by hand."""
    import dataclasses

    prod = _star_off_tuesday()
    sched = plan_shoot(prod, SolveOptions(time_limit=5, num_workers=1))
    assert sched.optimal and sched.objective == pytest.approx(3010)
    assert check_schedule(prod, sched) == []
    scenes = {s.scene_id: s for d in sched.days for s in d.scenes}

    def moved(*dates: date) -> Schedule:
        days = tuple(
            dataclasses.replace(sched.days[0], number=k + 1, date=dt, scenes=(scenes[sid],))
            for k, (dt, sid) in enumerate(zip(dates, ["A1", "A2", "B"], strict=True))
        )
        return dataclasses.replace(sched, days=days)

    assert check_schedule(prod, moved(date(2026, 3, 4), date(2026, 3, 5), date(2026, 3, 6))) == [
        "the shoot is continuous (calendar.allow_gaps is false) but starts on 2026-03-04, not on the first "
        "working day from calendar.start (2026-03-02)"
    ]
    # a day before calendar.start is named as such, whatever the rest of the shoot
    assert check_schedule(prod, moved(date(2026, 2, 27), date(2026, 3, 2), date(2026, 3, 3))) == [
        "day 1 (2026-02-27) is before calendar.start (2026-03-02)"
    ]


def test_check_schedule_flags_a_day_that_goes_back_to_a_location() -> None:
    """A at the house before B in the street before C at the house: a day visits each location once, so the
    optimum is two days (2 x 1000 + one move, 100), not one day going house, street, house (1000 + two moves,
    which check_schedule passed)."""
    import dataclasses

    prod = parse_production(
        {
            "name": "back",
            "costs": {"day_cost": 1000, "default_move_cost": 100},
            "calendar": {"start": "2026-03-02", "max_days": 3},
            "locations": [{"id": "house"}, {"id": "street"}],
            "scenes": [
                {"id": "A", "duration": 1, "location": "house"},
                {"id": "B", "duration": 1, "location": "street"},
                {"id": "C", "duration": 1, "location": "house"},
            ],
            "constraints": {"precedences": [{"before": "A", "after": "B"}, {"before": "B", "after": "C"}]},
        }
    )
    sched = plan_shoot(prod, SolveOptions(time_limit=5, num_workers=1))
    assert sched.optimal and sched.objective == pytest.approx(2100) and sched.n_days == 2
    assert check_schedule(prod, sched) == []
    scenes = {s.scene_id: s for d in sched.days for s in d.scenes}
    one = dataclasses.replace(
        sched.days[0], scenes=tuple(scenes[x] for x in "ABC"), locations=("house", "street", "house")
    )
    assert check_schedule(prod, dataclasses.replace(sched, days=(one,))) == [
        "day 1 (2026-03-02) goes back to location house after street (a day visits each location once)"
    ]


@pytest.mark.parametrize(("n", "more"), [(3, ""), (4, " (and 1 more)")])
def test_a_schedule_the_production_now_breaks_names_three_breaches_and_counts_the_rest(
    n: int, more: str
) -> None:
    """n scenes shot on Monday 2 March at A, closed that day since: n breaches, the first three named and
    the rest counted ('(and 1 more)' for four, nothing for three)."""
    data = {
        "name": "c",
        "calendar": {"start": "2026-03-02", "hours_per_day": 8},
        "costs": {"day_cost": 1},  # one day the only optimum, not only the solver's hint
        "locations": [{"id": "A"}],
        "scenes": [{"id": str(k), "duration": 2, "location": "A"} for k in range(1, n + 1)],
    }
    sched = plan_shoot(parse_production(data), SolveOptions(time_limit=5))
    closed = parse_production({**data, "locations": [{"id": "A", "days_off": ["2026-03-02"]}]})
    with pytest.raises(ProductionFormatError) as info:
        check_schedule_of(sched, closed)
    assert str(info.value).endswith(
        f"scene 3: location A unavailable on 2026-03-02{more}; plan it again ('reelkit schedule plan')"
    )


def test_check_schedule_flags_a_precedence_reversed_within_a_day() -> None:
    """q before p, both on one day (q at B, p at A): the day shot p then q breaks the precedence, though the
    scenes share their day."""
    import dataclasses

    prod = parse_production(
        {
            "name": "p",
            "calendar": {"start": "2026-03-02", "hours_per_day": 10},
            "costs": {"day_cost": 1000},
            "locations": [{"id": "A", "move_costs": {"B": 100}}, {"id": "B"}],
            "scenes": [
                {"id": "p", "duration": 2, "location": "A"},
                {"id": "q", "duration": 2, "location": "B"},
            ],
            "constraints": {"precedences": [{"before": "q", "after": "p"}]},
        }
    )
    sched = plan_shoot(prod, SolveOptions(time_limit=5, num_workers=1))
    (day,) = sched.days
    assert [x.scene_id for x in day.scenes] == ["q", "p"] and check_schedule(prod, sched) == []
    swapped = dataclasses.replace(day, scenes=day.scenes[::-1], locations=day.locations[::-1])
    assert check_schedule(prod, dataclasses.replace(sched, days=(swapped,))) == [
        "scene q is not before scene p"
    ]


def test_csv_round_trip(small: tuple[object, object]) -> None:
    prod, sched = small
    rows = read_schedule_csv(schedule_csv(sched))  # type: ignore[arg-type]
    assert [r.scene_id for r in rows] == [s.scene_id for d in sched.days for s in d.scenes]  # type: ignore[attr-defined]
    assert {r.scene_id for r in rows} == {s.id for s in prod.scenes}  # type: ignore[attr-defined]
    for r in rows:
        assert r.cast == tuple(prod.scene(r.scene_id).cast)  # type: ignore[attr-defined]
        assert r.start < r.end


def test_csv_order_counts_each_days_scenes_from_1(small: tuple[object, object]) -> None:
    """The CSV's order column is the scene's place in its day: 1, 2, ... restarting each day."""
    _, sched = small
    rows = read_schedule_csv(schedule_csv(sched))  # type: ignore[arg-type]
    assert [r.order for r in rows] == [k + 1 for d in sched.days for k in range(len(d.scenes))]  # type: ignore[attr-defined]


def _two_sets() -> Production:
    """One day at two sets: Ann (cast 1) in a 1.5 h scene at the dock with Bob (cast 2) and a 2 h one at the
    pier, then an hour at the pier with no cast; Cy (cast 3) is in no scene. A day costs 1, so one day is
    the only optimum (at no cost any spread of the scenes was optimal, and one day only the solver's hint)."""
    return parse_production(
        {
            "name": "sets",
            "calendar": {"start": "2026-03-02"},
            "costs": {"day_cost": 1},
            "people": [{"id": "a", "name": "Ann"}, {"id": "b", "name": "Bob"}, {"id": "c", "name": "Cy"}],
            "locations": [{"id": "A", "name": "Dock"}, {"id": "B", "name": "Pier"}],
            "scenes": [
                {"id": "1", "duration": 1.5, "location": "A", "cast": ["b", "a"]},
                {"id": "2", "duration": 2, "location": "B", "cast": ["a"]},
                {"id": "3", "duration": 1, "location": "B", "cast": []},
            ],
        }
    )


def test_the_csv_keeps_fractional_hours_and_reads_a_scene_without_cast_as_none() -> None:
    """A 1.5 h scene is '1.5' in the CSV's hours column (not rounded to 2), and a scene with no cast reads
    back with an empty cast, not one person named ''."""
    text = schedule_csv(plan_shoot(_two_sets(), SolveOptions(time_limit=5)))
    hours = {r["scene_id"]: r["hours"] for r in csv.DictReader(io.StringIO(text))}
    assert hours == {"1": "1.5", "2": "2", "3": "1"}
    casts = {r.scene_id: r.cast for r in read_schedule_csv(text)}
    assert casts == {"1": ("b", "a"), "2": ("a",), "3": ()}


def test_icalendar_per_person_round_trip(small: tuple[object, object], tmp_path: Path) -> None:
    prod, sched = small
    files = write_plan(sched, prod, tmp_path)  # type: ignore[arg-type]
    assert files.calendars
    for call in sched.people:  # type: ignore[attr-defined]
        if not call.work_days:
            continue
        cal = icalendar.Calendar.from_ical(files.calendars[call.person_id].read_bytes())
        events = list(cal.walk("VEVENT"))
        shoots = [e for e in events if str(e["summary"]).startswith("Shoot day")]
        holds = [e for e in events if str(e["summary"]).startswith("On hold")]
        assert sorted(e.decoded("dtstart").date() for e in shoots) == list(call.work_days)
        assert sorted(e.decoded("dtstart") for e in holds) == list(call.hold_days)
        for e in shoots:
            scenes = str(e["summary"]).split(": scenes ", 1)[1].split(", ")
            for sid in scenes:
                assert call.person_id in prod.scene(sid).cast or call.person_id in prod.scene(sid).crew  # type: ignore[attr-defined]
        assert len({str(e["uid"]) for e in events}) == len(events)


def test_a_calendar_event_is_named_by_its_date_and_stamped_with_the_plans_time(tmp_path: Path) -> None:
    """A re-issued plan must replace what an earlier one put on a date: every event fixed DTSTAMP at
    2000-01-01 (a calendar app kept its copy of a changed day) and a held day had a UID of its own (a day
    turned from held to worked showed twice)."""
    from reelkit.produce.outputs import _uid_stem

    prod = _star_off_tuesday()  # the star "a" held on Tuesday
    sched = plan_shoot(prod, SolveOptions(time_limit=10))
    assert [len(c.hold_days) for c in sched.people if c.person_id == "a"] == [1]
    when = datetime(2026, 11, 29, 12, 0, 5, tzinfo=UTC)
    for call in sched.people:
        raw = person_calendar(sched, prod, call.person_id, stamp=when)
        events = list(icalendar.Calendar.from_ical(raw).walk("VEVENT"))
        stem = _uid_stem(sched.production, call.person_id)
        dates = [*call.work_days, *call.hold_days]
        assert sorted(str(e["uid"]) for e in events) == sorted(
            f"{stem}-{d.isoformat()}@reelkit" for d in dates
        )
        assert {e.decoded("dtstamp") for e in events} == {when}
    before = datetime.now(UTC).replace(microsecond=0)
    files = write_plan(sched, prod, tmp_path)
    stamps = {
        e.decoded("dtstamp")
        for path in files.calendars.values()
        for e in icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT")
    }
    assert len(stamps) == 1 and before <= stamps.pop() <= datetime.now(UTC)  # one revision time per plan


def test_a_calendar_day_lists_every_set_of_the_persons_scenes() -> None:
    """Ann works at the dock and at the pier that day: her event's LOCATION names both."""
    prod = _two_sets()
    cal = icalendar.Calendar.from_ical(
        person_calendar(plan_shoot(prod, SolveOptions(time_limit=5)), prod, "a")
    )
    (ev,) = cal.walk("VEVENT")
    assert sorted(str(ev["location"]).split(", ")) == ["Dock", "Pier"]


def test_a_plan_writes_calendars_only_for_people_it_calls(tmp_path: Path) -> None:
    """Cy is in no scene: no calendar for him (an empty one would be sent out with the others)."""
    prod = _two_sets()
    files = write_plan(plan_shoot(prod, SolveOptions(time_limit=5)), prod, tmp_path)
    assert set(files.calendars) == {"a", "b"}
    assert sorted(p.name for p in (tmp_path / "calendars").iterdir()) == ["a.ics", "b.ics"]


def _held_star() -> Production:
    """Three 8-hour days: the star on Monday and Wednesday (scene 1 before 3), off on Tuesday 3 March,
    when the extra's scene is shot: the star is held (paid, not called) on the Tuesday."""
    return parse_production(
        {
            "name": "hold",
            "calendar": {"start": "2026-03-02", "hours_per_day": 8},
            "people": [
                {"id": "star", "daily_rate": 1000, "days_off": ["2026-03-03"]},
                {"id": "extra", "daily_rate": 10},
            ],
            "locations": [{"id": "A"}],
            "scenes": [
                {"id": "1", "duration": 8, "location": "A", "cast": ["star"]},
                {"id": "2", "duration": 8, "location": "A", "cast": ["extra"]},
                {"id": "3", "duration": 8, "location": "A", "cast": ["star"]},
            ],
            "constraints": {"precedences": [{"before": "1", "after": "3"}]},
        }
    )


def test_a_hold_day_is_one_all_day_event() -> None:
    """The star's paid hold on Tuesday 3 March is an all-day event from 3 March to 4 March (DTEND is
    exclusive, RFC 5545)."""
    prod = _held_star()
    cal = icalendar.Calendar.from_ical(
        person_calendar(plan_shoot(prod, SolveOptions(time_limit=5)), prod, "star")
    )
    (hold,) = [e for e in cal.walk("VEVENT") if str(e["summary"]).startswith("On hold")]
    assert (hold.decoded("dtstart").isoformat(), hold.decoded("dtend").isoformat()) == (
        "2026-03-03",
        "2026-03-04",
    )


def test_a_schedule_without_date_times_starts_at_the_call_on_the_day() -> None:
    """From a schedule.json of before start_at/end_at, a first scene at the 07:00 call is on its own day
    (only clock times before the call are the next morning)."""
    import dataclasses

    prod = _held_star()
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    old = dataclasses.replace(
        sched,
        days=tuple(
            dataclasses.replace(
                d, scenes=tuple(dataclasses.replace(s, start_at="", end_at="") for s in d.scenes)
            )
            for d in sched.days
        ),
    )
    cal = icalendar.Calendar.from_ical(person_calendar(old, prod, "star"))
    shoots = sorted(
        (e.decoded("dtstart").isoformat(), e.decoded("dtend").isoformat())
        for e in cal.walk("VEVENT")
        if str(e["summary"]).startswith("Shoot")
    )
    assert shoots == [
        ("2026-03-02T07:00:00", "2026-03-02T15:00:00"),
        ("2026-03-04T07:00:00", "2026-03-04T15:00:00"),
    ]


def test_a_24_hour_day_without_date_times_ends_the_next_morning() -> None:
    """From a schedule.json of before start_at/end_at, a 24-hour scene from the 07:00 call (end 07:00 too)
    is an event to 07:00 the next day, not an empty one."""
    import dataclasses

    prod = parse_production(
        {
            "name": "long",
            "calendar": {"start": "2026-03-02", "hours_per_day": 24},
            "people": [{"id": "ann"}],
            "locations": [{"id": "A"}],
            "scenes": [{"id": "1", "duration": 24, "location": "A", "cast": ["ann"]}],
        }
    )
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    (day,) = sched.days
    old_day = dataclasses.replace(day, scenes=(dataclasses.replace(day.scenes[0], start_at="", end_at=""),))
    cal = icalendar.Calendar.from_ical(
        person_calendar(dataclasses.replace(sched, days=(old_day,)), prod, "ann")
    )
    (ev,) = cal.walk("VEVENT")
    assert (ev.decoded("dtstart").isoformat(), ev.decoded("dtend").isoformat()) == (
        "2026-03-02T07:00:00",
        "2026-03-03T07:00:00",
    )


def test_stripboard_colours_and_day_breaks(small: tuple[object, object]) -> None:
    prod, sched = small
    html = stripboard_html(sched, prod)  # type: ignore[arg-type]
    assert ".strip.int-day { background: #ffffff; }" in html
    assert ".strip.ext-day { background: #fff176; }" in html
    assert html.count('class="daybreak"') == sched.n_days  # type: ignore[attr-defined]
    for s in prod.scenes:  # type: ignore[attr-defined]
        cls = f"{s.int_ext.lower()}-{s.day_night.lower()}"
        assert re.search(rf'<tr class="strip {cls}" data-scene="{re.escape(s.id)}"', html)


def test_stripboard_cast_numbers_start_at_1() -> None:
    """A strip names its cast by number in the production's cast list, from 1: "2. Bob, 1. Ann"."""
    prod = parse_production(
        {
            "name": "n",
            "calendar": {"start": "2026-03-02"},
            "people": [{"id": "a", "name": "Ann"}, {"id": "b", "name": "Bob"}],
            "locations": [{"id": "A"}],
            "scenes": [{"id": "1", "duration": 2, "location": "A", "cast": ["b", "a"]}],
        }
    )
    html = stripboard_html(plan_shoot(prod, SolveOptions(time_limit=5)), prod)
    assert "<td>2. <bdi>Bob</bdi>, 1. <bdi>Ann</bdi></td>" in html


def test_the_stripboard_shows_name_and_description_and_isolates_names() -> None:
    """A scene's description was never shown (its "Description" column gave the name); a right-to-left
    production name took the day count into its run (no <bdi>); "Cast" was an H3 under the page's H1."""
    prod = parse_production(
        {
            "name": "فيلم",
            "calendar": {"start": "2026-03-02"},
            "people": [{"id": "a", "name": "سارة"}, {"id": "b", "name": "Bob"}],
            "locations": [{"id": "A"}],
            "scenes": [
                {
                    "id": "1",
                    "name": "Kitchen",
                    "description": "Sara finds the letter",
                    "duration": 2,
                    "location": "A",
                    "cast": ["a", "b"],
                },
            ],
        }
    )
    html = stripboard_html(plan_shoot(prod, SolveOptions(time_limit=5)), prod)
    assert "<th>Name</th><th>Description</th>" in html
    assert "<td>Kitchen</td><td>Sara finds the letter</td>" in html
    assert '<p class="summary"><bdi>فيلم</bdi>: 1 shooting day' in html
    assert "<h1>Stripboard — <bdi>فيلم</bdi></h1>" in html
    assert "<td>1. <bdi>سارة</bdi>, 2. <bdi>Bob</bdi></td>" in html
    assert '<td colspan="9">END OF DAY 1' in html
    assert re.findall(r"<h(\d)", html) == ["1", "2"]


def _paged() -> Production:
    """Two days at one set: day 1 scenes 1 (1 3/8 pages) and 2 (4 pages), 3 h each; day 2 scenes 3 (no
    pages, 6 h) and 4 (4/8 page, 1 h), on one day by rule, after scene 2 by precedence."""
    return parse_production(
        {
            "name": "paged",
            "calendar": {"start": "2026-03-02", "hours_per_day": 8},
            "costs": {"day_cost": 1000},
            "locations": [{"id": "A"}],
            "scenes": [
                {"id": "1", "duration": 3, "location": "A", "pages": 1.375},
                {"id": "2", "duration": 3, "location": "A", "pages": 4},
                {"id": "3", "duration": 6, "location": "A"},
                {"id": "4", "duration": 1, "location": "A", "pages": 0.5},
            ],
            "constraints": {
                "precedences": [{"before": "2", "after": "3"}],
                "same_day": [{"scenes": ["3", "4"]}],
            },
        }
    )


def test_page_counts_reach_the_schedule_the_csv_and_the_stripboard_in_eighths() -> None:
    """A scene's pages were read and never written: the JSON and CSV carry them (empty for scene 3, which
    has none), and the stripboard shows each strip's count in eighths (1 3/8, 4, 4/8) and each day's total
    at its black strip: 1 3/8 + 4 = 5 3/8 pages on day 1, 4/8 on day 2 (scene 3 counts nothing)."""
    prod = _paged()
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    assert [[s.scene_id for s in d.scenes] for d in sched.days] == [["1", "2"], ["3", "4"]]
    assert [s.pages for d in sched.days for s in d.scenes] == [1.375, 4, None, 0.5]
    data = json.loads(json.dumps(sched.to_dict()))
    assert [s["pages"] for d in data["days"] for s in d["scenes"]] == [1.375, 4, None, 0.5]
    assert Schedule.from_dict(data) == sched
    rows = list(csv.DictReader(io.StringIO(schedule_csv(sched))))
    assert [r["pages"] for r in rows] == ["1.375", "4", "", "0.5"]
    html = stripboard_html(sched, prod)
    assert "<th>Description</th><th>Pages</th><th>Hours</th>" in html
    cells = re.findall(r'data-scene="(\w+)".*?<td class="pages">([^<]*)</td>', html, re.S)
    assert cells == [("1", "1 3/8"), ("2", "4"), ("3", ""), ("4", "4/8")]
    assert '<td colspan="10">END OF DAY 1 — Mon 02 Mar 2026 — 5 3/8 pages — 6 h</td>' in html
    assert '<td colspan="10">END OF DAY 2 — Tue 03 Mar 2026 — 4/8 page — 7 h</td>' in html


def test_a_schedule_without_page_counts_reads_and_shows_none() -> None:
    """A schedule.json written before pages were carried (no "pages" key) still reads; with no page
    counts in the production the stripboard has no Pages column and its black strips no total."""
    prod = _two_sets()
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    data = sched.to_dict()
    for d in data["days"]:
        for s in d["scenes"]:
            assert s.pop("pages") is None
    assert Schedule.from_dict(data) == sched
    html = stripboard_html(sched, prod)
    assert "Pages" not in html and "page" not in html.split("END OF DAY 1")[1].split("</td>")[0]
    assert '<td colspan="9">END OF DAY 1' in html


def test_the_stripboard_cast_list_numbers_cast_as_the_strips_do() -> None:
    """Cast member 1 in no scene: Bob is "2. Bob" on the strip and #2 in the cast list (it said #1)."""
    prod = parse_production(
        {
            "name": "n",
            "calendar": {"start": "2026-03-02"},
            "people": [{"id": "a", "name": "Ann"}, {"id": "b", "name": "Bob"}],
            "locations": [{"id": "A"}],
            "scenes": [{"id": "1", "duration": 2, "location": "A", "cast": ["b"]}],
        }
    )
    html = stripboard_html(plan_shoot(prod, SolveOptions(time_limit=5)), prod)
    assert "<td>2. <bdi>Bob</bdi></td>" in html and "<tr><td>2</td><td>Bob</td>" in html
    assert "<td>Ann</td>" not in html


def test_the_stripboard_counts_scenes_and_company_moves_and_lists_cast_by_number() -> None:
    """Three scenes on one day at two sets: the summary says 3 scenes (not 1, the days), the day's black
    strip says 1 company move (two sets, one move), and the cast table lists 1. Ann before 2. Bob."""
    prod = _two_sets()
    html = stripboard_html(plan_shoot(prod, SolveOptions(time_limit=5)), prod)
    assert "1 shooting day, 3 scenes;" in html
    assert "4.5 h — 1 company move</td>" in html and "1 company move);" in html
    assert html.index("<tr><td>1</td><td>Ann</td>") < html.index("<tr><td>2</td><td>Bob</td>")


def test_the_stripboard_summary_gives_the_cost_of_holds() -> None:
    """The held star (1000 a day): cast pay 3,010 (star 3 days, extra 1), of which on hold 1,000."""
    prod = _held_star()
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    html = stripboard_html(sched, prod)
    assert "(cast 3,010, of which on hold 1,000;" in html


def test_cli_generate_and_plan(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "prod.yaml"
    code, out_text, err = run(
        capsys, "schedule", "generate", "--scenes", "10", "--seed", "4", "-o", str(path), "--json"
    )
    assert code == 0, err
    assert json.loads(out_text)["scenes"] == 10
    load_production(path)
    out = tmp_path / "out"
    code, out_text, err = run(
        capsys, "schedule", "plan", str(path), "-o", str(out), "--time-limit", "10", "--json"
    )
    assert code == 0, err
    data = json.loads(out_text)
    assert data["optimal"] in (True, False) and data["objective"] >= data["bound"] - 1e-6
    assert (out / "schedule.csv").exists() and (out / "stripboard.html").exists()
    assert len(list((out / "calendars").glob("*.ics"))) == len(data["files"]["calendars"]) > 0


def test_cli_plan_json_names_each_calendar_file_and_passes_the_seed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--json's files.calendars maps each person called to their own .ics (not the folder), and --seed,
    --workers and --time-limit reach the solver unchanged."""
    import reelkit.produce.shoot as shoot

    seen = []
    real = shoot.plan_shoot

    def spy(prod, opts):  # type: ignore[no-untyped-def]
        seen.append(opts)
        return real(prod, opts)

    monkeypatch.setattr(shoot, "plan_shoot", spy)
    path = tmp_path / "prod.json"
    path.write_text(json.dumps(production_to_data(_two_sets())))
    out = tmp_path / "out"
    args = ("--seed", "7", "--workers", "1", "--time-limit", "9", "--json")
    code, text, err = run(capsys, "schedule", "plan", str(path), "-o", str(out), *args)
    assert code == 0, err
    assert json.loads(text)["files"]["calendars"] == {
        "a": str(out / "calendars" / "a.ics"),
        "b": str(out / "calendars" / "b.ics"),
    }
    assert (seen[0].seed, seen[0].num_workers, seen[0].time_limit) == (7, 1, 9.0)


@pytest.mark.parametrize("name", ["schedule.json", "schedule.csv", "stripboard.html"])
def test_a_production_file_named_as_a_plan_file_in_the_folder_is_refused(tmp_path: Path, name: str) -> None:
    """Each of the plan's own files, as the production file in -o's folder, is refused (it is replaced)."""
    (tmp_path / name).write_text("{}")
    with pytest.raises(ConfigError, match="one of the files the plan writes"):
        check_plan_folder(tmp_path, tmp_path / name)


def test_cli_plan_refuses_a_production_file_it_would_replace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """'schedule plan out/schedule.json -o out' exits 2 before solving and leaves the production as it was."""
    prod_file = tmp_path / "schedule.json"
    text = json.dumps(production_to_data(_two_sets()))
    prod_file.write_text(text)
    code, out, err = run(capsys, "schedule", "plan", str(prod_file), "-o", str(tmp_path))
    assert code == 2 and out == "" and "one of the files the plan writes" in err
    assert prod_file.read_text() == text


def test_cli_bad_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "calendar: {start: 2026-03-02}\nlocations: [{id: A}]\nscenes: [{id: '1', duration: x, location: A}]\n"
    )
    code, _, err = run(capsys, "schedule", "plan", str(path), "-o", str(tmp_path / "o"))
    assert code == 2
    assert err.startswith(f"error: {path}:3: scenes[0].duration") and err.count("\n") == 1
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    for arg, needle in (
        (binary, "not UTF-8"),
        (tmp_path, "is a folder"),
        (tmp_path / "none.yaml", "no such file"),
    ):
        code, _, err = run(capsys, "schedule", "plan", str(arg), "-o", str(tmp_path / "o"))
        assert code == 2 and needle in err and err.count("\n") == 1, err
    code, _, err = run(capsys, "schedule", "generate", "--scenes", "4", "-o", str(tmp_path))
    assert code == 2 and "is a folder" in err and err.count("\n") == 1
    # -o checked before --pool is written: no pool left behind without its production
    pool = tmp_path / "pool_new.yaml"
    code, _, err = run(
        capsys, "schedule", "generate", "--scenes", "4", "-o", str(tmp_path), "--pool", str(pool)
    )
    assert code == 2 and "is a folder" in err and not pool.exists()
    code, _, err = run(capsys, "schedule", "generate", "-o", str(binary / "p.yaml"), "--pool", str(pool))
    assert code == 2 and "bin.yaml is a file, not a folder" in err and not pool.exists()
    # YAML is not written under another kind's name (p.csv held YAML)
    for args in (
        ["-o", str(tmp_path / "p.csv")],
        ["-o", str(tmp_path / "p.yaml"), "--pool", str(tmp_path / "c.csv")],
    ):
        code, _, err = run(capsys, "schedule", "generate", "--scenes", "4", *args)
        assert code == 2 and "name it .yaml or .json" in err and not list(tmp_path.glob("p.*")), err
    # a byte-order mark is fine
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps({"calendar": {"start": "2026-03-02"}}).encode())
    code, _, err = run(capsys, "schedule", "plan", str(bom), "-o", str(tmp_path / "o"))
    assert code == 2 and "BOM" not in err and "locations" in err, err


def test_cli_generate_refuses_a_pool_that_is_the_production_file_spelt_another_way(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--pool DIR/sub/../p.yaml and -o DIR/p.yaml are one file: refused (exit 2), nothing written."""
    prod = tmp_path / "p.yaml"
    (tmp_path / "sub").mkdir()
    code, _, err = run(
        capsys,
        "schedule",
        "generate",
        "--scenes",
        "4",
        "-o",
        str(prod),
        "--pool",
        f"{tmp_path}/sub/../p.yaml",
    )
    assert code == 2 and "is the production file too" in err and not prod.exists()


def test_cli_infeasible_exits_2_naming_conflicts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "inf.yaml"
    path.write_text(
        "calendar: {start: 2026-03-02, hours_per_day: 8, max_days: 1}\nlocations: [{id: A}]\n"
        "scenes: [{id: '1', duration: 6, location: A}, {id: '2', duration: 6, location: A}]\n"
    )
    code, _, err = run(capsys, "schedule", "plan", str(path), "-o", str(tmp_path / "o"))
    assert code == 2
    assert "calendar.max_days" in err and "calendar.hours_per_day" in err


def test_a_schedule_comes_back_even_when_the_search_runs_out_of_time() -> None:
    # a 0.05 s limit rarely finds a schedule for 80 scenes; the greedy one (days fixed, order solved) is used
    prod = generate_production(80, seed=5)
    sched = plan_shoot(prod, SolveOptions(time_limit=0.05))
    assert check_schedule(prod, sched) == []
    assert sched.status in ("FEASIBLE", "OPTIMAL") and sched.bound <= sched.objective


def test_a_schedule_stopped_by_its_limit_is_never_dearer_than_the_completed_greedy_one() -> None:
    """The search stopped at its limit returned a schedule dearer than the greedy one completed with its
    days fixed (80 scenes, 2 s: 778,780 against 747,560; 150 scenes, 30 s: 15% dearer); the cheaper of the
    two is returned, under the search's bound. At 0.01 s the search finds none: the completion itself."""
    prod = generate_production(80, seed=5)
    greedy = plan_shoot(prod, SolveOptions(time_limit=0.01))
    sched = plan_shoot(prod, SolveOptions(time_limit=2))
    assert sched.objective <= greedy.objective + 1e-6 and sched.bound <= sched.objective
    assert sched.costs.total == pytest.approx(sched.objective) and check_schedule(prod, sched) == []


def test_the_gap_is_cost_minus_bound_over_the_cost() -> None:
    """A schedule stopped by its time limit reports gap = (cost - bound) / cost (the relative gap)."""
    prod = generate_production(80, seed=5)
    sched = plan_shoot(prod, SolveOptions(time_limit=0.5))
    if sched.status == "OPTIMAL":  # a machine fast enough to prove it in 0.5 s: no gap to check
        assert sched.gap == 0.0
        pytest.skip("80 scenes solved to optimality within 0.5 s: the gap formula is not exercised")
    if sched.bound <= 0:  # the greedy fallback's schedule, with no bound proven: gap 1 whatever the formula
        pytest.skip("no bound proven within 0.5 s on this machine: the gap formula is not exercised")
    assert 0 < sched.bound < sched.objective
    assert sched.gap == pytest.approx((sched.objective - sched.bound) / sched.objective)


def test_a_plan_that_cannot_be_written_whole_leaves_the_earlier_one(
    small: tuple[object, object], tmp_path: Path
) -> None:
    """A calendar's name taken by a folder failed after schedule.json, .csv and the stripboard were
    replaced: the folder held the new production's schedule beside the old one's calendars."""
    import dataclasses

    prod, sched = small
    files = write_plan(sched, prod, tmp_path)  # type: ignore[arg-type]
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    blocked = next(iter(files.calendars.values()))
    blocked.unlink()
    blocked.mkdir()
    renamed = dataclasses.replace(sched, production="renamed")  # type: ignore[type-var]
    with pytest.raises(ConfigError, match=rf"{blocked.name}: is a folder"):
        write_plan(renamed, prod, tmp_path)  # type: ignore[arg-type]
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == {p: b for p, b in before.items() if p != blocked}  # nothing replaced, no temporary files


def test_a_plan_stopped_among_its_renames_is_completed_by_the_next_reader(
    small: tuple[object, object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C (or a kill) among the renames left the new plan's first files beside the earlier plan's
    others: Ctrl-C now waits for the renames, and a commit stopped among them (a kill, a power loss) is
    completed by the next reader (load_schedule, crew match) or writer, from its journal."""
    import dataclasses

    import reelkit._files
    from reelkit.produce.shoot import load_schedule

    prod, sched = small
    write_plan(sched, prod, tmp_path)  # type: ignore[arg-type]
    renamed = dataclasses.replace(sched, production="renamed")  # type: ignore[type-var]
    real = reelkit._files.replace_file
    calls: list[Path] = []

    def stop_at_the_second(tmp: Path, final: Path) -> None:
        calls.append(Path(final))
        if len(calls) == 2:
            raise KeyboardInterrupt  # as a kill would stop it here
        real(tmp, final)

    monkeypatch.setattr(reelkit._files, "replace_file", stop_at_the_second)
    with pytest.raises(KeyboardInterrupt):
        write_plan(renamed, prod, tmp_path)  # type: ignore[arg-type]
    monkeypatch.undo()
    assert json.loads((tmp_path / "schedule.json").read_text())["production"] == "renamed"  # the first one
    assert "renamed" not in (tmp_path / "stripboard.html").read_text()  # not yet: mixed on disk
    # the stopped commit (this process's, no longer running) is completed by the next reader
    assert load_schedule(tmp_path / "schedule.json").production == "renamed"
    assert "renamed" in (tmp_path / "stripboard.html").read_text()  # completed
    assert not [p for p in tmp_path.rglob(".*")]  # no journal or temporary file left


def test_ctrl_c_waits_for_a_commits_renames() -> None:
    """SIGINT during the renames is held until they are done (then raised)."""
    import signal
    import threading

    from reelkit._files import _signals_held

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")

    done = []
    with pytest.raises(KeyboardInterrupt), _signals_held():
        signal.raise_signal(signal.SIGINT)
        done.append("renamed")
    assert done == ["renamed"]


def test_calendars_carry_the_time_zone() -> None:
    data = production_to_data(generate_production(6, seed=1))
    data["calendar"]["timezone"] = "Europe/Lisbon"
    prod = parse_production(data)
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    pid = next(p.person_id for p in sched.people if p.work_days)
    cal = icalendar.Calendar.from_ical(person_calendar(sched, prod, pid))
    assert [tz["tzid"] for tz in cal.walk("VTIMEZONE")] == ["Europe/Lisbon"]
    start = next(e for e in cal.walk("VEVENT") if str(e["summary"]).startswith("Shoot")).decoded("dtstart")
    assert str(start.tzinfo) == "Europe/Lisbon" and start.hour == 7
    data["calendar"]["timezone"] = "Mars/Olympus"
    with pytest.raises(ProductionFormatError, match=r"calendar\.timezone: unknown time zone"):
        parse_production(data)


def test_the_time_zone_rules_cover_a_shoot_after_2038() -> None:
    """A call at 07:00 in Lisbon on 2 July 2040 is 06:00 UTC (summer time, +01:00) by the calendar's own
    VTIMEZONE, as an app reads it: icalendar's default rules stopped at 2038, so it read +00:00."""
    prod = parse_production(
        {
            "name": "future",
            "calendar": {"start": "2040-07-02", "timezone": "Europe/Lisbon"},
            "people": [{"id": "a", "name": "Ana"}],
            "locations": [{"id": "L"}],
            "scenes": [{"id": "s", "duration": 1, "cast": ["a"], "location": "L"}],
        }
    )
    cal = icalendar.Calendar.from_ical(
        person_calendar(plan_shoot(prod, SolveOptions(time_limit=5)), prod, "a")
    )
    (vtz,) = cal.walk("VTIMEZONE")
    rules = vtz.to_tz(lookup_tzid=False)  # the file's transitions, not the system's zone of that name
    (ev,) = cal.walk("VEVENT")
    start = ev.decoded("dtstart").replace(tzinfo=rules)
    assert start.isoformat() == "2040-07-02T07:00:00+01:00"
    assert start.astimezone(UTC).isoformat() == "2040-07-02T06:00:00+00:00"


def test_the_time_zone_rules_cover_a_last_day_on_the_spring_change() -> None:
    """Lisbon's clocks go forward at 01:00 UTC on Sunday 25 March 2040: a 07:00 call that day is +01:00 by the
    calendar's own VTIMEZONE."""
    prod = parse_production(
        {
            "name": "spring",
            "calendar": {"start": "2040-03-25", "timezone": "Europe/Lisbon", "rest_days": []},
            "people": [{"id": "a", "name": "Ana"}],
            "locations": [{"id": "L"}],
            "scenes": [{"id": "s", "duration": 1, "cast": ["a"], "location": "L"}],
        }
    )
    cal = icalendar.Calendar.from_ical(
        person_calendar(plan_shoot(prod, SolveOptions(time_limit=5)), prod, "a")
    )
    (vtz,) = cal.walk("VTIMEZONE")
    (ev,) = cal.walk("VEVENT")
    start = ev.decoded("dtstart").replace(tzinfo=vtz.to_tz(lookup_tzid=False))
    assert start.isoformat() == "2040-03-25T07:00:00+01:00"
    assert start.astimezone(UTC).isoformat() == "2040-03-25T06:00:00+00:00"


def test_night_shoot_calendars_land_after_midnight_and_stale_ones_go(tmp_path: Path) -> None:
    prod = parse_production(
        {
            "name": "night",
            "calendar": {"start": "2026-03-02", "hours_per_day": 10, "call_time": "20:00"},
            "people": [{"id": "A", "daily_rate": 100}, {"id": "B", "daily_rate": 100}],
            "locations": [{"id": "L1"}],
            "scenes": [
                {"id": "s1", "duration": 6, "cast": ["A"], "location": "L1", "day_night": "NIGHT"},
                {"id": "s2", "duration": 2, "cast": ["B"], "location": "L1", "day_night": "NIGHT"},
            ],
            "constraints": {"precedences": [{"before": "s1", "after": "s2"}]},
        }
    )
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    (day,) = sched.days
    assert [(s.scene_id, s.start, s.end) for s in day.scenes] == [
        ("s1", "20:00", "02:00"),
        ("s2", "02:00", "04:00"),
    ]
    cal = icalendar.Calendar.from_ical(person_calendar(sched, prod, "B"))
    (ev,) = list(cal.walk("VEVENT"))
    # called on the night of 2 March: the scene runs 02:00-04:00 on the morning of 3 March
    assert ev.decoded("dtstart").isoformat() == "2026-03-03T02:00:00"
    assert ev.decoded("dtend").isoformat() == "2026-03-03T04:00:00"
    (a_ev,) = list(icalendar.Calendar.from_ical(person_calendar(sched, prod, "A")).walk("VEVENT"))
    assert a_ev.decoded("dtstart").isoformat() == "2026-03-02T20:00:00"
    assert a_ev.decoded("dtend").isoformat() == "2026-03-03T02:00:00"
    # a plan written over an earlier one leaves no calendar of someone it does not call
    (tmp_path / "calendars").mkdir()
    (tmp_path / "calendars" / "Z.ics").write_bytes(person_calendar(sched, prod, "A"))  # an earlier plan's
    own = b"BEGIN:VCALENDAR\r\nPRODID:-//Family//Birthdays//EN\r\nEND:VCALENDAR\r\n"
    (tmp_path / "calendars" / "family-birthdays.ics").write_bytes(own)  # the user's own: never deleted
    files = write_plan(sched, prod, tmp_path)
    assert sorted(p.name for p in (tmp_path / "calendars").iterdir()) == sorted(
        [p.name for p in files.calendars.values()] + ["family-birthdays.ics"]
    )
    assert (tmp_path / "calendars" / "family-birthdays.ics").read_bytes() == own


def test_names_with_newlines_commas_semicolons_and_backslashes_are_text_escaped_in_calendars(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A two-line production name (a YAML block) and a person named with "," ";" "\\": X-WR-CALNAME is
    TEXT-escaped (RFC 5545 3.3.11); the newline was a traceback, exit 1, and the rest were written raw."""
    path = tmp_path / "nl.yaml"
    path.write_text(
        "name: |\n  The Long Night\n  (working title)\n"
        "calendar: {start: 2026-03-02}\n"
        "people: [{id: a, name: 'Ana, Jr.; \\ B'}]\n"
        'locations: [{id: L, name: "House\\nat night"}]\n'
        "scenes: [{id: s, duration: 1, cast: [a], location: L}]\n"
    )
    out = tmp_path / "plan"
    code, _, err = run(capsys, "schedule", "plan", str(path), "-o", str(out), "--time-limit", "5")
    assert code == 0, err
    raw = (out / "calendars" / "a.ics").read_bytes()
    lines = raw.decode().replace("\r\n ", "").split("\r\n")  # unfolded
    assert "X-WR-CALNAME:The Long Night\\n(working title) — Ana\\, Jr.\\; \\\\ B" in lines
    assert "LOCATION:House\\nat night" in lines
    (ev,) = icalendar.Calendar.from_ical(raw).walk("VEVENT")
    assert str(ev["location"]) == "House\nat night"


def test_calendar_file_names_differ_in_more_than_case(tmp_path: Path) -> None:
    """People "Ana" and "ana" got Ana.ics and ana.ics: one file on a case-insensitive disk (macOS, Windows),
    so one calendar overwrote the other. The second gets a suffix, as a clash of slugs does."""
    prod = parse_production(
        {
            "name": "case",
            "calendar": {"start": "2026-03-02"},
            "people": [{"id": "Ana"}, {"id": "ana"}, {"id": "ANA"}],
            "locations": [{"id": "L"}],
            "scenes": [{"id": "s", "duration": 1, "cast": ["Ana", "ana", "ANA"], "location": "L"}],
        }
    )
    files = write_plan(plan_shoot(prod, SolveOptions(time_limit=5)), prod, tmp_path)
    assert {k: p.name for k, p in files.calendars.items()} == {
        "Ana": "Ana.ics",
        "ana": "ana_.ics",
        "ANA": "ANA__.ics",
    }
    assert sorted(p.name for p in (tmp_path / "calendars").iterdir()) == ["ANA__.ics", "Ana.ics", "ana_.ics"]
    # on such a disk the folder may list a calendar just written under an earlier plan's spelling of its
    # name ("ana_.ics" as "ANA_.ics"), which the stale-calendar sweep took for another person's and deleted:
    # a second name that reaches the file written (a symbolic link here) is that file, and stays
    if not (tmp_path / "calendars" / "ANA_.ics").exists():  # a case-insensitive disk lists it already
        os.symlink("ana_.ics", tmp_path / "calendars" / "ANA_.ics")
    write_plan(plan_shoot(prod, SolveOptions(time_limit=5)), prod, tmp_path)
    assert (tmp_path / "calendars" / "ANA_.ics").exists()


def test_calendar_event_ids_differ_for_people_whose_slugs_agree() -> None:
    from reelkit.produce.outputs import _uid_stem

    # "a b" and "a-b" both slug to "a-b": their events shared UIDs, so a shared calendar kept only one
    assert _uid_stem("Film", "a b") != _uid_stem("Film", "a-b")
    assert _uid_stem("Film", "a b") == _uid_stem("Film", "a b")  # stable across runs (updates, not copies)


def test_a_night_across_the_spring_clock_change_runs_its_real_hours(tmp_path: Path) -> None:
    """20:00 plus ten hours of scenes on the night London's clocks go forward ends at 07:00 BST; wall-clock
    arithmetic said 06:00 (nine real hours) and put a 01:00 start under the day before."""
    prod = parse_production(
        {
            "name": "dst",
            "calendar": {
                "start": "2026-03-28",
                "hours_per_day": 12,
                "call_time": "20:00",
                "rest_days": [],
                "timezone": "Europe/London",
            },
            "people": [{"id": "A", "daily_rate": 100}],
            "locations": [{"id": "L1"}],
            "scenes": [
                {"id": "s1", "duration": 5, "cast": ["A"], "location": "L1"},
                {"id": "s2", "duration": 5, "cast": ["A"], "location": "L1"},
            ],
            "constraints": {"precedences": [{"before": "s1", "after": "s2"}]},
        }
    )
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    (day,) = sched.days
    assert [(s.start, s.end, s.start_at, s.end_at) for s in day.scenes] == [
        ("20:00", "02:00", "2026-03-28T20:00+00:00", "2026-03-29T02:00+01:00"),
        ("02:00", "07:00", "2026-03-29T02:00+01:00", "2026-03-29T07:00+01:00"),
    ]
    (ev,) = list(icalendar.Calendar.from_ical(person_calendar(sched, prod, "A")).walk("VEVENT"))
    start, end = ev.decoded("dtstart"), ev.decoded("dtend")
    assert (end - start).total_seconds() == 11 * 3600  # wall clock: 20:00 to 07:00 ...
    assert (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() == 10 * 3600  # ... ten real hours
    rows = list(csv.DictReader(io.StringIO(schedule_csv(sched))))
    assert rows[1]["start_at"] == "2026-03-29T02:00+01:00" and rows[1]["date"] == "2026-03-28"
    assert Schedule.from_dict(json.loads(json.dumps(sched.to_dict()))) == sched


def test_a_night_ending_in_the_repeated_autumn_hour_is_written_in_utc() -> None:
    """20:00 plus 6.5 h on the night Lisbon's clocks go back ends at the second 01:30 (+00:00); written as
    TZID=Europe/Lisbon:...T013000, which RFC 5545 3.3.5 reads as the first 01:30, the event was an hour
    short. A time the zone's wall clock does not name once is written in UTC; the rest keep the TZID."""
    prod = parse_production(
        {
            "name": "dst",
            "calendar": {
                "start": "2026-10-24",
                "hours_per_day": 12,
                "call_time": "20:00",
                "rest_days": [],
                "timezone": "Europe/Lisbon",
            },
            "people": [{"id": "ana", "daily_rate": 100}],
            "locations": [{"id": "pier"}],
            "scenes": [
                {"id": "1", "duration": 3, "cast": ["ana"], "location": "pier", "day_night": "NIGHT"},
                {"id": "2", "duration": 3.5, "cast": ["ana"], "location": "pier", "day_night": "NIGHT"},
            ],
        }
    )
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    assert sched.days[0].scenes[-1].end_at == "2026-10-25T01:30+00:00"
    text = person_calendar(sched, prod, "ana").decode()
    assert "DTSTART;TZID=Europe/Lisbon:20261024T200000\r\n" in text
    assert "DTEND:20261025T013000Z\r\n" in text
    (ev,) = list(icalendar.Calendar.from_ical(text).walk("VEVENT"))
    start, end = ev.decoded("dtstart"), ev.decoded("dtend")
    assert (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() == 6.5 * 3600


def test_times_in_the_repeated_autumn_hour_carry_the_zone_on_the_stripboard_and_calendar() -> None:
    """Three one-hour scenes from 00:30 on the night Lisbon's clocks go back: the middle one runs from the
    first 01:30 to the second, which read "01:30–01:30" (no time, overlapping the next)."""
    prod = parse_production(
        {
            "name": "dst",
            "calendar": {
                "start": "2026-10-25",
                "hours_per_day": 12,
                "call_time": "00:30",
                "rest_days": [],
                "timezone": "Europe/Lisbon",
            },
            "people": [{"id": "ana", "daily_rate": 100}],
            "locations": [{"id": "pier"}],
            "scenes": [
                {"id": f"s{i}", "duration": 1, "cast": ["ana"], "location": "pier", "day_night": "NIGHT"}
                for i in (1, 2, 3)
            ],
            "constraints": {
                "precedences": [{"before": "s1", "after": "s2"}, {"before": "s2", "after": "s3"}]
            },
        }
    )
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    (day,) = sched.days
    assert [(s.start, s.end) for s in day.scenes] == [
        ("00:30", "01:30"),
        ("01:30", "01:30"),
        ("01:30", "02:30"),
    ]
    zone = ZoneInfo("Europe/Lisbon")
    assert [scene_times(s, zone) for s in day.scenes] == [
        "00:30–01:30 WEST",
        "01:30 WEST–01:30 WET",
        "01:30 WET–02:30",
    ]
    assert scene_times(day.scenes[1], None) == "01:30–01:30"  # no zone: the wall times as planned
    board = stripboard_html(sched, prod)
    assert "<td>01:30 WEST–01:30 WET</td>" in board and "<td>01:30 WET–02:30</td>" in board
    (ev,) = list(icalendar.Calendar.from_ical(person_calendar(sched, prod, "ana")).walk("VEVENT"))
    assert str(ev["description"]).splitlines()[1].startswith("01:30 WEST-01:30 WET scene s2 ")


def test_a_person_id_with_the_csv_list_separator_is_refused() -> None:
    with pytest.raises(ProductionFormatError, match="cannot hold ';'"):
        parse_production(
            {
                "name": "x",
                "calendar": {"start": "2026-03-02"},
                "people": [{"id": "ann;bob"}],
                "locations": [{"id": "L1"}],
                "scenes": [{"id": "s1", "duration": 1, "cast": ["ann;bob"], "location": "L1"}],
            }
        )


def test_a_call_time_the_clocks_skip_is_the_hour_after() -> None:
    prod = parse_production(
        {
            "name": "gap",
            "calendar": {
                "start": "2026-03-29",
                "call_time": "01:30",
                "rest_days": [],
                "timezone": "Europe/London",
            },
            "people": [{"id": "A", "daily_rate": 100}],
            "locations": [{"id": "L1"}],
            "scenes": [{"id": "s1", "duration": 1, "cast": ["A"], "location": "L1"}],
        }
    )
    (day,) = plan_shoot(prod, SolveOptions(time_limit=5)).days
    (s,) = day.scenes
    # 01:30 does not exist that night: the CSV said 01:30-03:30 while the calendar said 02:30
    assert (s.start, s.end, s.start_at) == ("02:30", "03:30", "2026-03-29T02:30+01:00")


def test_generate_does_not_replace_a_production_yaml_it_was_not_told_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "schedule", "generate", "--scenes", "4")
    assert code == 0 and (tmp_path / "production.yaml").is_file(), err
    (tmp_path / "production.yaml").write_text("# mine\n")
    code, _, err = run(capsys, "schedule", "generate", "--scenes", "4")
    assert code == 2 and "give -o production.yaml to replace it" in err
    assert (tmp_path / "production.yaml").read_text() == "# mine\n"
    code, _, err = run(capsys, "schedule", "generate", "--scenes", "4", "-o", "production.yaml")
    assert code == 0 and (tmp_path / "production.yaml").read_text() != "# mine\n"


def _replan(scenes: list[dict[str, object]], name: str = "Re, plan") -> Production:
    """Three 8-hour days in Lisbon; Ann, Bo and Cy at one location (the scenes say who works when)."""
    return parse_production(
        {
            "name": name,
            "calendar": {"start": "2026-03-02", "hours_per_day": 8, "timezone": "Europe/Lisbon"},
            "people": [{"id": p, "daily_rate": 100} for p in ("ann", "bo", "cy")],
            "locations": [{"id": "L"}],
            "scenes": scenes,
        }
    )


#: Ann alone, Ann with Bo, Cy alone: one 8-hour day each
_SCENES: tuple[dict[str, object], ...] = (
    {"id": "1", "duration": 8, "location": "L", "cast": ["ann"]},
    {"id": "2", "duration": 8, "location": "L", "cast": ["ann", "bo"]},
    {"id": "3", "duration": 8, "location": "L", "cast": ["cy"]},
)


def _events(path: Path) -> dict[str, tuple[date, str | None, str]]:
    """uid -> (date, STATUS, SUMMARY) of a calendar file's events."""
    cal = icalendar.Calendar.from_ical(path.read_bytes())
    out = {}
    for e in cal.walk("VEVENT"):
        start = e.decoded("dtstart")  # a timed day, or an all-day one (a hold, a cancelled day)
        out[str(e["uid"])] = (
            start.date() if isinstance(start, datetime) else start,
            e.get("status"),
            str(e["summary"]),
        )
    return out


def test_a_replan_sends_the_days_it_drops_as_cancelled_events(tmp_path: Path) -> None:
    """A calendar app that imported the first plan keeps every event the second merely leaves out: the
    second writes each dropped day again, same UID and times, STATUS:CANCELLED. Someone no longer called
    gets a calendar of their cancellations; a day the third plan brings back is live again."""
    opts = SolveOptions(time_limit=5)
    s1, s2, s3 = _SCENES
    first = _replan([s1, s2, s3])
    files = write_plan(plan_shoot(first, opts), first, tmp_path)
    assert files.cancelled == {}
    before = {pid: _events(p) for pid, p in files.calendars.items()}
    assert [len(before[p]) for p in ("ann", "bo", "cy")] == [2, 1, 1]
    second = _replan([s1, {**s2, "cast": ["bo"]}])  # Ann leaves scene 2, Cy's scene is cut
    sched = plan_shoot(second, opts)
    files = write_plan(sched, second, tmp_path)
    cal = tmp_path / "calendars"
    assert set(files.calendars) == {"ann", "bo"}
    after = {p.stem: _events(p) for p in cal.iterdir()}
    assert set(after) == {"ann", "bo", "cy"}
    ann_days = {c.person_id: set(c.work_days) for c in sched.people}["ann"]
    for pid in ("ann", "bo", "cy"):
        live = {uid: ev for uid, ev in after[pid].items() if ev[1] is None}
        gone = {uid: ev for uid, ev in after[pid].items() if ev[1] == "CANCELLED"}
        # every earlier day is either in the new plan or cancelled, on its own date, named as cancelled
        assert set(before[pid]) <= set(live) | set(gone)
        for uid, (day, _, summary) in gone.items():
            assert uid not in live and before[pid][uid][0] == day
            assert summary == "Cancelled: " + before[pid][uid][2]
    assert after["cy"] and all(ev[1] == "CANCELLED" for ev in after["cy"].values())
    assert {d for d, s, _ in after["ann"].values() if s is None} == ann_days
    assert files.cancelled == {
        cal / f"{p}.ics": sum(ev[1] == "CANCELLED" for ev in after[p].values())
        for p in ("ann", "bo", "cy")
        if any(ev[1] == "CANCELLED" for ev in after[p].values())
    }
    assert files.cancelled[cal / "cy.ics"] == 1 and files.cancelled[cal / "ann.ics"] >= 1
    # the third plan brings the first back: nothing is cancelled any more, and the cancellations of the
    # second plan for days the third drops again are carried (a calendar may have skipped the second file)
    from reelkit.produce.outputs import _uid_stem

    again = plan_shoot(first, opts)
    files = write_plan(again, first, tmp_path)
    third = {p.stem: _events(p) for p in cal.iterdir()}
    for call in again.people:
        pid = call.person_id
        live_now = {uid for uid, ev in third[pid].items() if ev[1] is None}
        stem = _uid_stem(again.production, pid)  # the live events are exactly this plan's days
        assert live_now == {f"{stem}-{d.isoformat()}@reelkit" for d in (*call.work_days, *call.hold_days)}
        assert set(before[pid]) <= set(third[pid])  # and every day ever sent is still in the file
    cancelled_uids = {uid for p in third.values() for uid, ev in p.items() if ev[1] == "CANCELLED"}
    live_uids = {uid for p in third.values() for uid, ev in p.items() if ev[1] is None}
    assert not cancelled_uids & live_uids


def _revisions(folder: Path) -> dict[str, tuple[int, tuple[object, ...]]]:
    """uid -> (SEQUENCE, what a revision changes) of every event in the folder's calendars."""
    keys = ("dtstart", "dtend", "summary", "location", "description", "status", "transp")
    out = {}
    for path in folder.glob("*.ics"):
        for e in icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT"):
            assert "sequence" in e, (path.name, str(e["uid"]))
            out[str(e["uid"])] = (int(e["sequence"]), tuple(e.decoded(k) if k in e else None for k in keys))
    return out


def test_a_replan_numbers_each_revision_of_an_event(tmp_path: Path) -> None:
    """RFC 5545 SEQUENCE: 0 for a new event, the same for an unchanged one however often the plan is
    written, one more for each change (moved, cancelled, live again); every event was 0, so an app going by
    it kept a moved or cancelled day as the first file had it."""
    opts = SolveOptions(time_limit=5)
    s1, s2, s3 = _SCENES
    first = _replan([s1, s2, s3])
    cal = tmp_path / "calendars"
    plan = plan_shoot(first, opts)  # one schedule (a second solve may pick another among equal ones)
    write_plan(plan, first, tmp_path)
    one = _revisions(cal)
    assert {seq for seq, _ in one.values()} == {0}
    write_plan(plan, first, tmp_path)  # the same plan again: no revision
    assert _revisions(cal) == one
    second = _replan([s1, {**s2, "cast": ["bo"]}])  # Ann leaves scene 2, Cy's scene is cut
    write_plan(plan_shoot(second, opts), second, tmp_path)
    two = _revisions(cal)
    assert set(one) <= set(two)
    for uid, (seq, what) in two.items():
        if uid in one:
            assert seq == (0 if what == one[uid][1] else 1), uid
        else:
            assert seq == 0, uid
    cy = [uid for uid in two if "-cy-" in uid]
    assert len(cy) == 1 and two[cy[0]][0] == 1 and two[cy[0]][1][5] == "CANCELLED"
    write_plan(plan, first, tmp_path)  # Cy's scene is back
    three = _revisions(cal)
    cy_live = [uid for uid in three if "-cy-" in uid and three[uid][1][5] is None]
    assert len(cy_live) == 1
    # on the same date as before (the solver's choice among equal days): a third revision of that event
    assert three[cy[0]] == ((2, three[cy[0]][1]) if cy_live == cy else two[cy[0]]), (cy, cy_live)
    assert all(three[uid][0] in (seq, seq + 1) for uid, (seq, _) in two.items())


def test_a_replan_of_another_production_cancels_nothing_of_the_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Calendars of another production in the folder are not this plan's to cancel: they go, as before;
    the CLI names the calendars that carry cancellations."""
    opts = SolveOptions(time_limit=5)
    scenes = [_SCENES[0]]
    other = _replan([*scenes, _SCENES[2]], name="Other")
    write_plan(plan_shoot(other, opts), other, tmp_path)
    files = write_plan(plan_shoot(_replan(scenes), opts), _replan(scenes), tmp_path)
    assert files.cancelled == {}
    assert sorted(p.name for p in (tmp_path / "calendars").iterdir()) == ["ann.ics"]
    assert all(ev[1] is None for ev in _events(tmp_path / "calendars" / "ann.ics").values())
    # through the CLI: a second plan of "Other" with Cy's scene cut cancels Cy's day, and says so
    path = tmp_path / "prod.json"
    path.write_text(json.dumps(production_to_data(other)))
    assert run(capsys, "schedule", "plan", str(path), "-o", str(tmp_path / "p"), "--json")[0] == 0
    path.write_text(json.dumps(production_to_data(_replan(scenes, name="Other"))))
    code, text, err = run(capsys, "schedule", "plan", str(path), "-o", str(tmp_path / "p"), "--json")
    assert code == 0, err
    cancelled = json.loads(text)["files"]["cancelled"]
    cy = str(tmp_path / "p" / "calendars" / "cy.ics")  # (Ann's day moves when the solver puts her first)
    assert cancelled[cy] == 1 and set(cancelled) <= {cy, str(tmp_path / "p" / "calendars" / "ann.ics")}
    code, text, err = run(capsys, "schedule", "plan", str(path), "-o", str(tmp_path / "p"))
    n = sum(cancelled.values())
    assert code == 0 and f"{n} day(s) of earlier plans there sent as cancelled, in " in text
    assert "cy.ics" in text.rsplit("sent as cancelled", 1)[1]


def test_a_replan_without_a_zone_defines_the_zone_its_cancelled_days_were_written_in(tmp_path: Path) -> None:
    """The first plan in Lisbon, the re-plan without a zone and a week later: the cancelled days keep
    TZID=Europe/Lisbon, and the calendar had no VTIMEZONE for it (RFC 5545 3.2.19), so an app could not
    place the cancellation on the day it cancels."""
    import re as regex

    opts = SolveOptions(time_limit=5)
    scenes = [_SCENES[0]]
    first = _replan(scenes)
    write_plan(plan_shoot(first, opts), first, tmp_path)
    data = production_to_data(first)
    data["calendar"] = {"start": "2026-03-09", "hours_per_day": 8}
    later = parse_production(data)
    files = write_plan(plan_shoot(later, opts), later, tmp_path)
    text = files.calendars["ann"].read_text()
    used = set(regex.findall(r"TZID=([^:;]+)", text))
    defined = set(regex.findall(r"BEGIN:VTIMEZONE\r?\nTZID:([^\r\n]+)", text))
    assert used == {"Europe/Lisbon"} and used <= defined
    events = _events(files.calendars["ann"])
    assert sorted((d.isoformat(), s) for d, s, _ in events.values()) == [
        ("2026-03-02", "CANCELLED"),
        ("2026-03-09", None),
    ]


def test_a_deleted_earlier_calendar_still_gets_its_cancellations_from_the_earlier_schedule(
    tmp_path: Path,
) -> None:
    """The user deleted Ann's and Cy's calendars of the first plan (sent, then tidied away): the earlier
    schedule.json still says which days they had, so the re-plan cancels those too (all day, same UID)."""
    opts = SolveOptions(time_limit=5)
    s1, s2, s3 = _SCENES
    first = _replan([s1, s2, s3])
    before = plan_shoot(first, opts)
    files = write_plan(before, first, tmp_path)
    uids = {pid: set(_events(p)) for pid, p in files.calendars.items()}
    files.calendars["ann"].unlink()
    files.calendars["cy"].unlink()
    second = _replan([s1, {**s2, "cast": ["bo"]}])
    after = plan_shoot(second, opts)
    files = write_plan(after, second, tmp_path)
    now = {c.person_id: set(c.work_days) | set(c.hold_days) for c in after.people}
    for call in before.people:
        path = tmp_path / "calendars" / f"{call.person_id}.ics"
        events = _events(path)
        for d in (*call.work_days, *call.hold_days):
            if d in now.get(call.person_id, set()):
                continue
            (gone,) = [e for e in events.values() if e[0] == d]
            assert gone[1] == "CANCELLED"
        assert uids[call.person_id] <= set(events)  # the same UIDs the first plan sent
    assert files.cancelled[tmp_path / "calendars" / "cy.ics"] == 1
    # a schedule.json that is no schedule (a list, another tool's) gives no cancellations and no traceback
    for junk in ("[]", '{"production": 1}', "not json"):
        (tmp_path / "schedule.json").write_text(junk)
        for f in (tmp_path / "calendars").iterdir():
            f.unlink()
        assert write_plan(after, second, tmp_path).cancelled == {}


def test_deleted_calendars_of_two_dropped_people_whose_ids_slug_alike_get_one_calendar_each(
    tmp_path: Path,
) -> None:
    """ "山田/1" and "山田 1" both make the file name 山田-1 (山田-1.ics and 山田-1_.ics in the first plan;
    ids in any script keep their letters: 山田 and 田中 were both "person.ics"); with their calendars
    deleted and both dropped, their cancellations were made from the earlier schedule.json into one file
    (Yamada's) for the two of them. Each gets their own, named as write_plan names them."""

    def jp(casts: list[str]) -> Production:
        return parse_production(
            {
                "name": "jp",
                "calendar": {"start": "2026-03-02"},
                "people": [
                    {"id": "山田/1", "name": "Yamada"},
                    {"id": "山田 1", "name": "Tanaka"},
                    {"id": "x"},
                ],
                "locations": [{"id": "a"}],
                "scenes": [
                    {"id": str(i), "duration": 8, "location": "a", "cast": [c]} for i, c in enumerate(casts)
                ],
            }
        )

    opts = SolveOptions(time_limit=5)
    first = jp(["山田/1", "山田 1", "x"])
    before = plan_shoot(first, opts)
    files = write_plan(before, first, tmp_path)
    assert sorted(p.name for p in files.calendars.values()) == ["x.ics", "山田-1.ics", "山田-1_.ics"]
    days = {c.person_id: c.work_days for c in before.people}
    for f in (tmp_path / "calendars").iterdir():
        f.unlink()
    second = jp(["x", "x", "x"])
    files = write_plan(plan_shoot(second, opts), second, tmp_path)
    cals = tmp_path / "calendars"
    assert files.cancelled == {cals / "山田-1.ics": 1, cals / "山田-1_.ics": 1}
    for name, pid, label in (("山田-1.ics", "山田/1", "Yamada"), ("山田-1_.ics", "山田 1", "Tanaka")):
        cal = icalendar.Calendar.from_ical((cals / name).read_bytes())
        assert str(cal["x-wr-calname"]) == f"jp — {label}"
        (d,) = days[pid]
        assert list(_events(cals / name).values()) == [(d, "CANCELLED", "Cancelled: Shoot day")]


def test_calendar_files_keep_letters_of_any_script_and_differ_where_ids_do(tmp_path: Path) -> None:
    """Calendar files are named by person id with letters of any script kept (李 and 王 were both
    ``person.ics``, told apart only by an underscore); what a path or a shell would misread becomes ``-``,
    ids written alike in that form or in case get ``_`` added, and a decomposed é is written composed."""
    ids = ["李", "王", "zoé", "Zoé", "a/b", "a b", ".x", "ze\u0301"]
    prod = parse_production(
        {
            "name": "names",
            "calendar": {"start": "2026-03-02"},
            "people": [{"id": i} for i in ids],
            "locations": [{"id": "a"}],
            "scenes": [
                {"id": str(k), "duration": 8, "location": "a", "cast": [i]} for k, i in enumerate(ids)
            ],
        }
    )
    files = write_plan(plan_shoot(prod, SolveOptions(time_limit=5)), prod, tmp_path)
    assert {pid: p.name for pid, p in files.calendars.items()} == {
        "李": "李.ics",
        "王": "王.ics",
        "zoé": "zoé.ics",
        "Zoé": "Zoé_.ics",
        "a/b": "a-b.ics",
        "a b": "a-b_.ics",
        ".x": "x.ics",
        "ze\u0301": "z\u00e9.ics",  # composed, as most file systems and tools write it
    }
    assert sorted(p.name for p in (tmp_path / "calendars").iterdir()) == sorted(
        p.name for p in files.calendars.values()
    )


def test_a_plan_folder_from_before_held_days_took_the_day_uid_replans_cleanly(tmp_path: Path) -> None:
    """Plans written before a held day shared its UID with a worked day named it ``...-DATE-hold@reelkit``:
    re-planning the same schedule there sent 11 held days that were still held as cancelled, in extra
    calendars (``C10_.ics``) for people still called. Found by an upgrade review."""
    prod = generate_production(40, 0)  # the smallest generated production with held days
    sched = plan_shoot(prod, SolveOptions(time_limit=3, num_workers=1))
    assert any(call.hold_days for call in sched.people)
    write_plan(sched, prod, tmp_path)
    before = sorted(p.name for p in (tmp_path / "calendars").iterdir())
    held = 0
    for cal in (tmp_path / "calendars").glob("*.ics"):  # as the earlier version wrote them
        lines = cal.read_bytes().decode().split("\r\n")
        for i, line in enumerate(lines):
            if line.startswith("SUMMARY:On hold"):
                j = max(k for k in range(i) if lines[k].startswith("UID:"))
                lines[j] = lines[j].replace("@reelkit", "-hold@reelkit")
                held += 1
        cal.write_bytes("\r\n".join(lines).encode())
    assert held > 0
    files = write_plan(sched, prod, tmp_path)
    assert files.cancelled == {}
    assert sorted(p.name for p in (tmp_path / "calendars").iterdir()) == before
