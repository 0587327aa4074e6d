"""Production files: validation naming fields, hand-computed optimal schedules, infeasibility explanations."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from reelkit.errors import InfeasibleError
from reelkit.produce.production import (
    Production,
    ProductionFormatError,
    dump_production,
    load_production,
    parse_production,
)
from reelkit.produce.shoot import Schedule, SolveOptions, plan_shoot

OPTS = SolveOptions(time_limit=10, num_workers=2, seed=0)


def prod(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "name": "test",
        "calendar": {"start": "2026-03-02", "hours_per_day": 8},  # a Monday
        "people": [],
        "locations": [{"id": "A"}],
        "scenes": [],
    }
    base.update(over)
    return base


def scene(sid: str, hours: float, loc: str = "A", cast: list[str] | None = None, **kw: Any) -> dict[str, Any]:
    return {"id": sid, "duration": hours, "location": loc, "cast": cast or [], **kw}


# ------------------------------------------------------------------------------------------- validation
def test_unknown_cast_member_names_the_field(tmp_path: Path) -> None:
    data = prod(
        people=[{"id": "ann", "daily_rate": 100}],
        scenes=[
            scene("1", 2, cast=["ann"]),
            scene("2", 2),
            scene("3", 1),
            scene("4", 1, cast=["ann", "bob"]),
        ],
    )
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ProductionFormatError) as info:
        load_production(path)
    msg = str(info.value)
    assert msg.startswith(f"{path}:{info.value.line}: scenes[3].cast[1]: unknown person 'bob'")
    assert info.value.line is not None
    assert path.read_text().splitlines()[info.value.line - 1].strip() == "- bob"
    assert info.value.fields[0][0] == "scenes[3].cast[1]"


def test_a_person_listed_under_the_other_kind_is_named_at_the_line(tmp_path: Path) -> None:
    """HERO is cast and GRIP crew: a scene's cast naming GRIP and another's crew naming HERO were planned
    (the stripboard showed "?. GRIP", and GRIP's pay went by their kind, not the list). Each is a field
    error at its line, saying which list the person belongs in."""
    data = prod(
        people=[{"id": "HERO", "daily_rate": 100}, {"id": "GRIP", "kind": "crew"}],
        scenes=[scene("1", 2, cast=["HERO", "GRIP"]), scene("2", 2, crew=["HERO"])],
    )
    path = tmp_path / "kinds.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ProductionFormatError) as info:
        load_production(path)
    assert info.value.fields == [
        ("scenes[0].cast[1]", "GRIP is crew (people[1].kind); list them under crew"),
        ("scenes[1].crew[0]", "HERO is cast (people[0].kind); list them under cast"),
    ]
    assert str(info.value).startswith(
        f"{path}:{info.value.line}: scenes[0].cast[1]: GRIP is crew (people[1].kind); list them under crew"
    )
    assert path.read_text().splitlines()[(info.value.line or 0) - 1].strip() == "- GRIP"


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"scenes": [scene("1", -1)]}, "scenes[0].duration"),
        ({"scenes": [scene("1", 2, int_ext="OUT")]}, "scenes[0].int_ext"),
        ({"scenes": [scene("1", 9)]}, "scenes[0].duration"),  # longer than an 8-hour day
        ({"scenes": [scene("1", 2, loc="nowhere")]}, "scenes[0].location"),
        ({"scenes": [scene("1", 2), scene("1", 3)]}, "scenes[1].id"),
        ({"scenes": [scene("1", 2, colour="red")]}, "scenes[0].colour"),
        (
            {"calendar": {"start": "2026-03-02", "rest_days": ["caturday"]}, "scenes": [scene("1", 1)]},
            "calendar.rest_days",
        ),
        (
            {
                "people": [{"id": "x", "available": [{"start": "2026-03-05", "end": "2026-03-01"}]}],
                "scenes": [scene("1", 1)],
            },
            "people[0].available[0]",
        ),
        (
            {"scenes": [scene("1", 1)], "constraints": {"precedences": [{"before": "1", "after": "9"}]}},
            "constraints.precedences[0].after",
        ),
        (
            {"scenes": [scene("1", 1)], "locations": [{"id": "A", "move_costs": {"Z": 3}}]},
            "locations[0].move_costs.Z",
        ),
        (
            {
                "scenes": [scene("1", 1)],
                "locations": [{"id": "A", "move_costs": {"B": 100}}, {"id": "B", "move_costs": {"A": 5000}}],
            },
            "locations[0].move_costs.B",  # priced differently each way
        ),
        (
            {"people": [{"id": "k", "kind": "crew"}], "scenes": [scene("1", 1, crew=["k", "k"])]},
            "scenes[0].crew",
        ),
        ({"scenes": [scene("1", 1)], "budget": float("inf")}, "budget"),
        ({"scenes": [scene("1", 1, pages=float("inf"))]}, "scenes[0].pages"),  # crashed the stripboard
        ({"scenes": [scene("1", 1, pages=1001)]}, "scenes[0].pages"),
        (
            {"scenes": [scene("1", 1)], "roles": [{"id": "r", "kind": "dop", "skills": {"drama": -1.5}}]},
            "roles[0].skills.drama",
        ),
    ],
)
def test_invalid_fields_are_named(patch: dict[str, Any], field: str) -> None:
    with pytest.raises(ProductionFormatError) as info:
        parse_production(prod(**patch), source="f.yaml")
    assert field in [f for f, _ in info.value.fields], info.value.fields
    assert str(info.value).startswith("f.yaml: ")


def test_a_move_priced_differently_each_way_is_one_error() -> None:
    """The pair A-B priced 100 one way and 5000 the other is named once, at the location listed first."""
    locations = [{"id": "A", "move_costs": {"B": 100}}, {"id": "B", "move_costs": {"A": 5000}}]
    with pytest.raises(ProductionFormatError) as info:
        parse_production(prod(scenes=[scene("1", 1)], locations=locations))
    assert [f for f, _ in info.value.fields] == ["locations[0].move_costs.B"]


def test_yaml_and_json_round_trip(tmp_path: Path) -> None:
    p = parse_production(prod(people=[{"id": "ann", "daily_rate": 10}], scenes=[scene("1", 2, cast=["ann"])]))
    for name in ("p.yaml", "p.json"):
        path = dump_production(p, tmp_path / name)
        assert load_production(path) == p
    json.loads((tmp_path / "p.json").read_text())


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("calendar: {start: 2026-03-02\nscenes: [\n")
    with pytest.raises(ProductionFormatError, match=r"p\.yaml:\d+: invalid YAML"):
        load_production(path)


def test_yaml_keys_given_twice_and_impossible_dates_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(
        "calendar: {start: 2026-03-02}\nlocations: [{id: L1}]\n"
        "scenes: [{id: s1, duration: 1, location: L1}]\nscenes: [{id: s2, duration: 1, location: L1}]\n"
    )
    with pytest.raises(
        ProductionFormatError, match=r"p\.yaml:4: .*'scenes' is given twice \(first at line 3\)"
    ):
        load_production(path)
    # merge keys are not repeats: a key written beside <<: *anchor overrides what it brings
    path.write_text(
        "calendar: {start: 2026-03-02}\nlocations: [{id: L1, setup_cost: 5}]\n"
        "people:\n  - &crew {id: a, kind: crew, daily_rate: 100}\n  - {<<: *crew, id: b, daily_rate: 200}\n"
        "scenes: [{id: s1, duration: 1, location: L1, crew: [a, b]}]\n"
    )
    assert [p.daily_rate for p in load_production(path).people] == [100, 200]
    path.write_text("calendar: {start: 2026-02-30}\nlocations: [{id: L1}]\n")
    with pytest.raises(ProductionFormatError, match=r"p\.yaml:1: .*'2026-02-30' is not a valid date"):
        load_production(path)


def test_json_keys_given_twice_are_refused(tmp_path: Path) -> None:
    """``json`` keeps the last of two ``"scenes"`` silently: the first list was dropped without a word."""
    path = tmp_path / "p.json"
    path.write_text(
        '{"calendar": {"start": "2026-03-02"}, "locations": [{"id": "L1"}],\n'
        '"scenes": [{"id": "s1", "duration": 1, "location": "L1"}],\n'
        '"scenes": [{"id": "s2", "duration": 1, "location": "L1"}]}\n'
    )
    with pytest.raises(ProductionFormatError, match=r"p\.json: .*the key 'scenes' is given twice"):
        load_production(path)


@pytest.mark.parametrize("name", ["p.json", "p.yaml"])
def test_a_file_nested_too_deeply_is_refused_not_a_traceback(tmp_path: Path, name: str) -> None:
    """``'[' * 1000`` (and a mapping holding 900 levels, which JSON reads but the YAML parser that finds a
    field's line does not) gave a RecursionError traceback (exit 1)."""
    path = tmp_path / name
    path.write_text("[" * 1000 + "]" * 1000)
    with pytest.raises(ProductionFormatError) as info:
        load_production(path)
    deep = "nested too deeply (lists or mappings hundreds of levels inside each other); not a data file"
    assert str(info.value) == f"{path}: {deep}"
    path.write_text('{"title": ' + "[" * 900 + "]" * 900 + "}")
    with pytest.raises(ProductionFormatError, match=rf"^{path}: "):
        load_production(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("calendar: {start: 0}", r"calendar\.start: give a date as YYYY-MM-DD, not 0"),  # was 1970-01-01
        ('calendar: {start: "1772409600"}', "give a date as YYYY-MM-DD"),  # was 2026-03-02
        ("calendar: {start: 2026-03-02, hours_per_day: yes}", r"hours_per_day: give a number, not true"),
        (
            "calendar: {start: 9999-12-30}",
            r"calendar\.start: Input should be less than 3000-01-01",
        ),  # was an OverflowError
        ("calendar: {start: 2026-03-02, call_time: 7:30}", r"call_time: give a time as 'HH:MM'"),  # was 00:07
    ],
)
def test_yes_and_numbers_are_not_read_as_numbers_and_dates(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(f"{text}\nlocations: [{{id: L1}}]\nscenes: [{{id: s1, duration: 1, location: L1}}]\n")
    with pytest.raises(ProductionFormatError, match=r"p\.yaml:1: .*" + message):
        load_production(path)
    path.write_text(
        "calendar: {start: 2026-03-02}\nlocations: [{id: L1}]\n"
        "people: [{id: a, days_off: [2026-03-03, 20260304]}]\n"
        "scenes: [{id: s1, duration: yes, location: L1}]\n"
    )
    with pytest.raises(ProductionFormatError) as info:
        load_production(path)
    assert [f for f, _ in info.value.fields] == ["people[0].days_off", "scenes[0].duration"]
    # inside mappings too: a move cost of "yes" was 1.0
    path.write_text(
        "calendar: {start: 2026-03-02}\nlocations: [{id: L1, move_costs: {L2: yes}}, {id: L2}]\n"
        "scenes: [{id: s1, duration: 1, location: L1}]\n"
    )
    with pytest.raises(ProductionFormatError, match=r"locations\[0\]\.move_costs: give a number, not true"):
        load_production(path)
    path.write_text(
        "calendar: {start: 2026-03-02, call_time: '07:30'}\nlocations: [{id: L1}]\n"
        "scenes: [{id: s1, duration: 1, location: L1}]\n"
    )
    assert load_production(path).calendar.call_time.hour == 7  # quoted: read as a time


def test_an_id_yaml_reads_as_a_number_is_said_to_need_quotes(tmp_path: Path) -> None:
    """``id: 010`` is the octal 8 to YAML: the message says to quote it, not only that text was expected."""
    path = tmp_path / "p.yaml"
    text = yaml.safe_dump(prod(scenes=[scene("1", 1)]), sort_keys=False).replace("- id: '1'", "- id: 010")
    path.write_text(text)
    said = r"scenes\[0\]\.id: must be text, not the number 8: quote"
    with pytest.raises(ProductionFormatError, match=said):
        load_production(path)
    # from JSON (the service's API) the same mistake is said without YAML's rules
    data = prod(scenes=[scene("1", 1)])
    data["scenes"][0]["id"] = 7
    with pytest.raises(ProductionFormatError) as info:
        parse_production(data, source="production", json=True)
    assert info.value.fields == [("scenes[0].id", "must be text, not the number 7: quote it")]


def test_field_errors_name_their_line(tmp_path: Path) -> None:
    """Field errors named the field but not the line; a missing field names its entry's line."""
    data = prod(locations=[{"id": "A"}], scenes=[scene("1", 1), {"id": "2", "location": "A"}])
    yaml_path = tmp_path / "p.yaml"
    yaml_path.write_text(yaml.safe_dump(data, sort_keys=False))
    lines = yaml_path.read_text().splitlines()
    with pytest.raises(ProductionFormatError, match=r"scenes\[1\]\.duration: Field required") as info:
        load_production(yaml_path)
    assert info.value.line is not None and lines[info.value.line - 1].strip() == "- id: '2'"
    json_path = tmp_path / "p.json"
    data["scenes"][0]["duration"] = "long"
    json_path.write_text(json.dumps(data, indent=2))
    with pytest.raises(ProductionFormatError) as info:
        load_production(json_path)
    assert info.value.fields[0][0] == "scenes[0].duration"
    assert info.value.line is not None
    assert json_path.read_text().splitlines()[info.value.line - 1].strip() == '"duration": "long",'
    assert str(info.value).startswith(f"{json_path}:{info.value.line}: ")
    json_path.write_text(json.dumps(data, indent="\t"))  # tabs: YAML's composer refused them (no line)
    with pytest.raises(ProductionFormatError) as info:
        load_production(json_path)
    assert info.value.line is not None
    assert json_path.read_text().splitlines()[info.value.line - 1].strip() == '"duration": "long",'


# ----------------------------------------------------------------------------------- optimal schedules
def test_holding_cost_puts_the_stars_scenes_together() -> None:
    # three full days; the star works in 1 and 3: shooting them on adjacent days saves one paid hold day
    p = parse_production(
        prod(
            people=[{"id": "star", "daily_rate": 1000}, {"id": "extra", "daily_rate": 10}],
            scenes=[
                scene("1", 8, cast=["star"]),
                scene("2", 8, cast=["extra"]),
                scene("3", 8, cast=["star"]),
            ],
        )
    )
    s = plan_shoot(p, OPTS)
    assert s.optimal and s.objective == pytest.approx(2010) and s.bound == pytest.approx(2010)
    day = s.day_of()
    assert abs(day["1"] - day["3"]) == 1
    assert s.costs.holding == 0 and s.n_days == 3
    star = next(c for c in s.people if c.person_id == "star")
    assert len(star.work_days) == 2 and star.hold_days == ()


def test_holding_days_are_paid_when_availability_forces_a_gap() -> None:
    # the star can only do scene 1 on Monday and scene 3 on Wednesday: Tuesday is a paid hold day
    p = parse_production(
        prod(
            people=[
                {"id": "star", "daily_rate": 1000, "days_off": ["2026-03-03"]},
                {"id": "extra", "daily_rate": 10},
            ],
            scenes=[
                scene("1", 8, cast=["star"]),
                scene("2", 8, cast=["extra"]),
                scene("3", 8, cast=["star"]),
            ],
            constraints={"precedences": [{"before": "1", "after": "3"}]},
        )
    )
    s = plan_shoot(p, OPTS)
    # Tuesday must hold scene 2 (continuous shoot); the star works Mon and Wed or ... any order costs 3010
    # except putting the star's two scenes on Wed+Thu (scene 2 on Mon? then Tue is empty): not continuous.
    assert s.optimal and s.objective == pytest.approx(3010)
    assert s.day_of()["2"] == 2 and s.costs.holding == pytest.approx(1000)
    star = next(c for c in s.people if c.person_id == "star")
    assert [d.isoformat() for d in star.hold_days] == ["2026-03-03"]


def test_scenes_are_grouped_by_location_to_avoid_moves() -> None:
    p = parse_production(
        prod(
            calendar={"start": "2026-03-02", "hours_per_day": 10},
            costs={"day_cost": 1000, "default_move_cost": 500},
            locations=[{"id": "A", "setup_cost": 100}, {"id": "B", "setup_cost": 100}],
            scenes=[scene("a1", 3, "A"), scene("b1", 3, "B"), scene("a2", 3, "A"), scene("b2", 3, "B")],
        )
    )
    s = plan_shoot(p, OPTS)
    assert s.optimal and s.objective == pytest.approx(2 * 1000 + 2 * 100)
    assert sorted(d.locations for d in s.days) == [("A",), ("B",)]
    assert s.n_moves == 0


def test_precedence_orders_locations_within_a_day() -> None:
    p = parse_production(
        prod(
            calendar={"start": "2026-03-02", "hours_per_day": 10},
            costs={"day_cost": 1000},
            locations=[{"id": "A", "move_costs": {"B": 100}}, {"id": "B"}],
            scenes=[scene("p", 2, "A"), scene("q", 2, "B")],
            constraints={"precedences": [{"before": "q", "after": "p"}]},
        )
    )
    s = plan_shoot(p, OPTS)
    assert s.optimal and s.objective == pytest.approx(1100) and s.n_days == 1
    (day,) = s.days
    assert day.locations == ("B", "A") and [x.scene_id for x in day.scenes] == ["q", "p"]
    assert day.scenes[0].start == "07:00" and day.scenes[1].start == "09:00"


def test_day_scenes_come_before_night_scenes_at_a_location() -> None:
    """At one location on one day the DAY scene is shot first (07:00-09:00), then the NIGHT one, whatever the
    file order."""
    p = parse_production(prod(scenes=[scene("n", 2, day_night="NIGHT"), scene("d", 2)]))
    (day,) = plan_shoot(p, OPTS).days
    assert [(x.scene_id, x.start, x.end) for x in day.scenes] == [
        ("d", "07:00", "09:00"),
        ("n", "09:00", "11:00"),
    ]


def test_a_location_with_only_night_scenes_comes_after_one_with_day_scenes() -> None:
    """Without move costs or precedences across locations, a day's locations went in file order: the NIGHT
    scene at N (first in the file) opened the day at 07:00, ahead of the DAY scene at D. D is shot first."""
    p = parse_production(
        prod(
            locations=[{"id": "N"}, {"id": "D"}],
            scenes=[scene("n", 2, "N", day_night="NIGHT"), scene("d", 2, "D")],
        )
    )
    (day,) = plan_shoot(p, OPTS).days
    assert day.locations == ("D", "N")
    assert [(x.scene_id, x.start, x.end) for x in day.scenes] == [
        ("d", "07:00", "09:00"),
        ("n", "09:00", "11:00"),
    ]


@pytest.mark.parametrize("night_first", [True, False])
def test_with_move_costs_a_night_only_location_goes_last_among_orders_of_equal_cost(
    night_first: bool,
) -> None:
    """With a move cost, the circuit prices moves only: N then D and D then N cost the same, and the NIGHT
    scene opened the day at 07:00 (N listed first in the file, every seed). Of equal-cost orders that keep
    the day's precedences, night-only locations go last; a precedence from n to d keeps N first."""
    locations = [{"id": "N"}, {"id": "D"}] if night_first else [{"id": "D"}, {"id": "N"}]
    base = {
        "locations": locations,
        "costs": {"day_cost": 1000, "default_move_cost": 100},
        "scenes": [scene("n", 2, "N", day_night="NIGHT"), scene("d", 2, "D")],
    }
    (day,) = plan_shoot(parse_production(prod(**base)), OPTS).days
    assert day.locations == ("D", "N") and day.move_cost == pytest.approx(100)
    assert [(x.scene_id, x.start) for x in day.scenes] == [("d", "07:00"), ("n", "09:00")]
    forced = prod(**base, constraints={"precedences": [{"before": "n", "after": "d"}]})
    (day,) = plan_shoot(parse_production(forced), OPTS).days
    assert day.locations == ("N", "D")


@pytest.mark.parametrize("night_at", [0, 1, 2])
def test_of_three_locations_at_equal_move_cost_the_night_only_one_goes_last(night_at: int) -> None:
    """Days of up to 7 locations are reordered, not only two: with every move 100, the NIGHT scene's
    location N goes last wherever the file lists it, and the night scene starts at 09:00 after two 1-hour day
    scenes at D and E (07:00, 08:00)."""
    locations = [{"id": "D"}, {"id": "E"}]
    locations.insert(night_at, {"id": "N"})
    p = parse_production(
        prod(
            locations=locations,
            costs={"day_cost": 1000, "default_move_cost": 100},
            scenes=[scene("n", 1, "N", day_night="NIGHT"), scene("d", 1, "D"), scene("e", 1, "E")],
        )
    )
    (day,) = plan_shoot(p, OPTS).days
    assert day.locations[-1] == "N" and day.move_cost == pytest.approx(200)
    assert [(x.start, x.day_night) for x in day.scenes] == [
        ("07:00", "DAY"),
        ("08:00", "DAY"),
        ("09:00", "NIGHT"),
    ]


@pytest.mark.parametrize("street_first", [True, False])
def test_of_orders_of_equal_move_cost_the_one_with_no_day_scene_after_a_night_scene_is_taken(
    street_first: bool,
) -> None:
    """house holds a NIGHT and a DAY scene, street a DAY one; moves cost 500 each way. house then street
    (s2 DAY 07:00, s1 NIGHT 09:00, s3 DAY 11:00) and street then house (s3, s2, s1) both cost 500; only
    the last keeps every DAY scene before the NIGHT one. house was not night-only, so it was left first. A
    precedence s1 before s3 sends house first, its DAY scene still ahead of its NIGHT one."""
    locations = [{"id": "street"}, {"id": "house"}]
    base = {
        "locations": locations if street_first else locations[::-1],
        "costs": {"day_cost": 1000, "default_move_cost": 500},
        "scenes": [
            scene("s1", 2, "house", day_night="NIGHT"),
            scene("s2", 2, "house"),
            scene("s3", 2, "street"),
        ],
    }
    s = plan_shoot(parse_production(prod(**base)), OPTS)
    (day,) = s.days
    assert s.objective == pytest.approx(1500) and day.move_cost == pytest.approx(500)
    assert day.locations == ("street", "house")
    assert [(x.scene_id, x.day_night, x.start) for x in day.scenes] == [
        ("s3", "DAY", "07:00"),
        ("s2", "DAY", "09:00"),
        ("s1", "NIGHT", "11:00"),
    ]
    forced = prod(**base, constraints={"precedences": [{"before": "s1", "after": "s3"}]})
    (day,) = plan_shoot(parse_production(forced), OPTS).days
    assert [x.scene_id for x in day.scenes] == ["s2", "s1", "s3"]


def test_without_move_costs_locations_go_in_the_order_with_fewest_day_scenes_after_night_scenes() -> None:
    """No move costs: B (a NIGHT and a DAY scene, listed first) went first as it holds the first scene:
    b2 DAY, b1 NIGHT, then A's two DAY scenes after a night (2 such pairs). A first (a2, a3 DAY, a1 NIGHT,
    b2 DAY, b1 NIGHT) leaves one (a1 before b2): A has 1 night per 2 days, B 1 per 1."""
    p = parse_production(
        prod(
            locations=[{"id": "B"}, {"id": "A"}],
            costs={"day_cost": 1000},
            scenes=[
                scene("b1", 1, "B", day_night="NIGHT"),
                scene("b2", 1, "B"),
                scene("a1", 1, "A", day_night="NIGHT"),
                scene("a2", 1, "A"),
                scene("a3", 1, "A"),
            ],
        )
    )
    (day,) = plan_shoot(p, OPTS).days
    assert day.locations == ("A", "B")
    assert [(x.scene_id, x.start) for x in day.scenes] == [
        ("a2", "07:00"),
        ("a3", "08:00"),
        ("a1", "09:00"),
        ("b2", "10:00"),
        ("b1", "11:00"),
    ]


def test_same_day_and_not_before() -> None:
    p = parse_production(
        prod(
            calendar={"start": "2026-03-02", "hours_per_day": 8, "allow_gaps": True},
            costs={"day_cost": 100},
            scenes=[scene("1", 2), scene("2", 2), scene("3", 2)],
            constraints={
                "same_day": [{"scenes": ["1", "3"]}],
                "not_before": [{"scene": "3", "date": "2026-03-04"}],
            },
        )
    )
    s = plan_shoot(p, OPTS)
    assert s.optimal and s.objective == pytest.approx(100)  # one day, on or after Wednesday 4 March
    (day,) = s.days
    assert day.date.isoformat() >= "2026-03-04" and len(day.scenes) == 3


def test_a_scene_can_be_shot_on_its_not_before_date() -> None:
    """A "not before" date is open to its scene: one not before Wednesday at a location that closes after
    Wednesday is shot on Wednesday 4 March (not infeasible)."""
    p = parse_production(
        prod(
            calendar={"start": "2026-03-02", "hours_per_day": 8, "allow_gaps": True},
            locations=[{"id": "A", "available": [{"start": "2026-03-02", "end": "2026-03-04"}]}],
            scenes=[scene("1", 2)],
            constraints={"not_before": [{"scene": "1", "date": "2026-03-04"}]},
        )
    )
    assert [d.date.isoformat() for d in plan_shoot(p, OPTS).days] == ["2026-03-04"]


def test_with_gaps_a_day_off_between_shooting_days_is_not_paid() -> None:
    """With allow_gaps the star is paid for the days shot, not the unused Tuesday between them.

    bob is free Monday only (scene 1 with the star, 8 h), the extra Wednesday only (scene 4 at L); scene 3
    (the star, L) goes with scene 4 so L's setup is paid once: Monday and Wednesday, 2 x 1000 (star)
    + 10 (bob) + 10 (extra) + 500 (L) = 2520 (when the pay ignored unused days, 3020 came back OPTIMAL).
    """
    mon = [{"start": "2026-03-02", "end": "2026-03-02"}]
    wed = [{"start": "2026-03-04", "end": "2026-03-04"}]
    p = parse_production(
        prod(
            calendar={"start": "2026-03-02", "hours_per_day": 8, "allow_gaps": True},
            locations=[{"id": "A"}, {"id": "L", "setup_cost": 500}],
            people=[
                {"id": "star", "daily_rate": 1000},
                {"id": "bob", "daily_rate": 10, "available": mon},
                {"id": "extra", "daily_rate": 10, "available": wed},
            ],
            scenes=[
                scene("1", 8, cast=["star", "bob"]),
                scene("3", 4, "L", ["star"]),
                scene("4", 4, "L", ["extra"]),
            ],
        )
    )
    s = plan_shoot(p, OPTS)
    assert s.optimal and s.costs.total == pytest.approx(2520)
    assert [(d.date.isoformat(), sorted(x.scene_id for x in d.scenes)) for d in s.days] == [
        ("2026-03-02", ["1"]),
        ("2026-03-04", ["3", "4"]),
    ]


def test_a_person_is_free_on_any_of_their_windows() -> None:
    """Free Monday 2 and Wednesday 4 March (two windows): their two full-day scenes are shot on those days."""
    mon_wed = [{"start": "2026-03-02", "end": "2026-03-02"}, {"start": "2026-03-04", "end": "2026-03-04"}]
    p = parse_production(
        prod(
            calendar={"start": "2026-03-02", "hours_per_day": 8, "allow_gaps": True},
            people=[{"id": "ann", "available": mon_wed}],
            scenes=[scene("1", 8, cast=["ann"]), scene("2", 8, cast=["ann"])],
        )
    )
    assert [d.date.isoformat() for d in plan_shoot(p, OPTS).days] == ["2026-03-02", "2026-03-04"]


def test_rest_days_are_skipped() -> None:
    p = parse_production(
        prod(
            calendar={"start": "2026-03-06", "hours_per_day": 8},  # a Friday
            scenes=[scene("1", 8), scene("2", 8)],
        )
    )
    s = plan_shoot(p, OPTS)
    assert [d.date.isoformat() for d in s.days] == ["2026-03-06", "2026-03-09"]


def test_holidays_are_skipped() -> None:
    """A holiday on Tuesday 3 March is not a working day: two full days shoot on Monday and Wednesday."""
    p = parse_production(
        prod(
            calendar={"start": "2026-03-02", "hours_per_day": 8, "holidays": ["2026-03-03"]},
            scenes=[scene("1", 8), scene("2", 8)],
        )
    )
    s = plan_shoot(p, OPTS)
    assert [d.date.isoformat() for d in s.days] == ["2026-03-02", "2026-03-04"]


def test_six_rest_days_leave_one_working_day_a_week() -> None:
    """Every weekday but Sunday a rest day is allowed (all seven are refused): the working days from Monday
    2 March 2026 are Sundays 8 and 15 March."""
    six = ["mon", "tue", "wed", "thu", "fri", "sat"]
    p = parse_production(prod(calendar={"start": "2026-03-02", "rest_days": six}, scenes=[scene("1", 1)]))
    assert [d.isoformat() for d in p.calendar.working_days(2)] == ["2026-03-08", "2026-03-15"]
    with pytest.raises(ProductionFormatError, match="every weekday is a rest day"):
        parse_production(
            prod(calendar={"start": "2026-03-02", "rest_days": [*six, "sun"]}, scenes=[scene("1", 1)])
        )


def test_schedule_json_round_trip() -> None:
    p = parse_production(
        prod(people=[{"id": "ann", "daily_rate": 5}], scenes=[scene("1", 3, cast=["ann"]), scene("2", 6)])
    )
    s = plan_shoot(p, OPTS)
    back = Schedule.from_dict(json.loads(json.dumps(s.to_dict())))
    assert back == s


# ------------------------------------------------------------------------------------------- infeasibility
def test_availability_and_working_hours_conflict() -> None:
    p = parse_production(
        prod(
            people=[{"id": "ann", "available": [{"start": "2026-03-02", "end": "2026-03-02"}]}],
            scenes=[scene("1", 5, cast=["ann"]), scene("2", 5, cast=["ann"]), scene("3", 1)],
        )
    )
    with pytest.raises(InfeasibleError) as info:
        plan_shoot(p, OPTS)
    assert sorted(info.value.conflicts) == [
        "availability of ann (2026-03-02)",
        "working hours: 8 h a day (calendar.hours_per_day)",
    ]


@pytest.mark.parametrize("gaps", [False, True])
def test_a_cast_member_never_available_is_a_conflict_not_a_crash(gaps: bool) -> None:
    p = parse_production(
        prod(
            calendar={"start": "2026-03-02", "hours_per_day": 8, "allow_gaps": gaps},
            people=[
                {"id": "ann", "daily_rate": 1, "available": [{"start": "2026-06-01", "end": "2026-06-30"}]}
            ],
            scenes=[scene("1", 2, cast=["ann"])],
        )
    )
    with pytest.raises(InfeasibleError) as info:
        plan_shoot(p, OPTS)
    assert "availability of ann (2026-06-01 to 2026-06-30)" in info.value.conflicts


def test_five_days_off_are_all_named_and_a_sixth_is_counted() -> None:
    """A conflict lists up to five days off; "and N more" appears only past five."""
    days = [f"2026-06-0{k}" for k in range(1, 7)]
    june = [{"start": "2026-06-01", "end": "2026-06-30"}]

    def conflicts(off: list[str]) -> list[str]:
        ann = {"id": "ann", "available": june, "days_off": off}
        with pytest.raises(InfeasibleError) as info:
            plan_shoot(parse_production(prod(people=[ann], scenes=[scene("1", 2, cast=["ann"])])), OPTS)
        return info.value.conflicts

    five = ", ".join(days[:5])
    assert f"availability of ann (2026-06-01 to 2026-06-30; off {five})" in conflicts(days[:5])
    assert f"availability of ann (2026-06-01 to 2026-06-30; off {five} and 1 more)" in conflicts(days)


def test_fractional_rates_are_optimised_exactly() -> None:
    # rates in thousands: 0.4 a day each. Pairs XY, YZ, ZX and singles X, Y, Z, 8 h each: one scene a day,
    # six days; the best order keeps each person's first-to-last span short. Rounded to whole units the
    # rates were all 0 and any order was "optimal"; x1000 the optimum is 4400 (4.4 here).
    people = [{"id": n, "daily_rate": 0.4} for n in "XYZ"]
    scenes = [
        scene(str(i), 8, cast=list(c)) for i, c in enumerate(["XY", "YZ", "ZX", "X", "Y", "Z"], start=1)
    ]
    p = parse_production(prod(people=people, scenes=scenes))
    s = plan_shoot(p, OPTS)
    assert s.status == "OPTIMAL"
    assert s.costs.total == pytest.approx(4.4) and s.objective == pytest.approx(s.costs.total)
    assert p.cost_scale() == 10
    scaled = parse_production(prod(people=[{"id": n, "daily_rate": 400} for n in "XYZ"], scenes=scenes))
    assert plan_shoot(scaled, OPTS).costs.total == pytest.approx(4400)


def test_precedence_not_before_and_location_conflict() -> None:
    p = parse_production(
        prod(
            calendar={"start": "2026-03-02", "hours_per_day": 8, "allow_gaps": True},
            locations=[{"id": "A"}, {"id": "B", "available": [{"start": "2026-03-02", "end": "2026-03-03"}]}],
            scenes=[scene("a", 2, "A"), scene("b", 2, "B"), scene("c", 2, "A")],
            constraints={
                "precedences": [{"before": "a", "after": "b"}],
                "not_before": [{"scene": "a", "date": "2026-03-04"}, {"scene": "c", "date": "2026-03-02"}],
            },
        )
    )
    with pytest.raises(InfeasibleError) as info:
        plan_shoot(p, OPTS)
    assert sorted(info.value.conflicts) == [
        "availability of location B (2026-03-02 to 2026-03-03)",
        "scene a before scene b (constraints.precedences[0])",
        "scene a not before 2026-03-04",
    ]


def test_a_continuous_shoot_starts_on_calendar_start_and_the_conflict_says_so() -> None:
    """Ana is free from Tuesday 3 March; a continuous shoot starts on calendar.start (Monday 2 March), so the
    shoot cannot begin on Tuesday: the explanation says the continuous shoot runs from calendar.start (it said
    only "no working day off inside it", which a shoot from Tuesday keeps)."""
    p = parse_production(
        prod(
            calendar={"start": "2026-03-02", "hours_per_day": 8, "max_days": 5},
            people=[{"id": "a", "name": "Ana", "available": [{"start": "2026-03-03", "end": "2026-03-20"}]}],
            scenes=[scene("s1", 8, cast=["a"]), scene("s2", 8, cast=["a"])],
        )
    )
    with pytest.raises(InfeasibleError) as info:
        plan_shoot(p, OPTS)
    assert sorted(info.value.conflicts) == [
        "a continuous shoot from calendar.start (2026-03-02): no working day off before or inside it "
        "(calendar.allow_gaps lifts it)",
        "availability of Ana (2026-03-03 to 2026-03-20)",
    ]


def test_precedences_that_send_a_day_back_to_a_location_name_the_one_visit_rule() -> None:
    """A at the house, then B in the street, then C at the house, all on one day: a day visits each location
    once, so they conflict; the explanation names that rule (it named the three constraints alone, which look
    satisfiable). A one-day window in place of the group conflicts with them and the rule alike (a precedence
    across locations without them, as in test_precedence_not_before_and_location_conflict, names no rule)."""
    data = prod(
        locations=[{"id": "house"}, {"id": "street"}],
        scenes=[scene("A", 1, "house"), scene("B", 1, "street"), scene("C", 1, "house")],
        constraints={
            "precedences": [{"before": "A", "after": "B"}, {"before": "B", "after": "C"}],
            "same_day": [{"scenes": ["A", "B", "C"]}],
        },
    )
    with pytest.raises(InfeasibleError) as info:
        plan_shoot(parse_production(data), OPTS)
    assert info.value.conflicts == [
        "scene A before scene B (constraints.precedences[0])",
        "scene B before scene C (constraints.precedences[1])",
        "scenes A, B, C on the same day (constraints.same_day[0])",
        "a day visits each location once (its scenes at a location are shot together)",
    ]
    assert str(info.value).endswith(
        "a day visits each location once (its scenes at a location are shot together)"
    )
    data["constraints"]["same_day"] = []
    data["calendar"]["max_days"] = 1
    with pytest.raises(InfeasibleError) as info:
        plan_shoot(parse_production(data), OPTS)
    assert sorted(info.value.conflicts) == [
        "a day visits each location once (its scenes at a location are shot together)",
        "scene A before scene B (constraints.precedences[0])",
        "scene B before scene C (constraints.precedences[1])",
        "the shoot ends within 1 working day of its start (calendar.max_days)",
    ]


def _three_six_hour_scenes_in_two_days() -> Any:
    """18 h of scenes in 2 days of 8 h: infeasible by max_days and hours_per_day together."""
    return parse_production(
        prod(
            calendar={"start": "2026-03-02", "hours_per_day": 8, "max_days": 2},
            scenes=[scene("1", 6), scene("2", 6), scene("3", 6)],
        )
    )


def test_too_few_days() -> None:
    p = _three_six_hour_scenes_in_two_days()
    with pytest.raises(InfeasibleError) as info:
        plan_shoot(p, OPTS)
    assert sorted(info.value.conflicts) == [
        "the shoot ends within 2 working days of its start (calendar.max_days)",
        "working hours: 8 h a day (calendar.hours_per_day)",
    ]


def test_the_default_window_is_one_and_a_half_times_the_days_needed_plus_five() -> None:
    """Without max_days the shoot ends within ceil(1.5 x 2 days needed) + 5 = 8 working days: a scene open
    only on the 8th (Wednesday 11 March) is planned there, one open only on the 9th is not."""

    def late(day: str) -> Production:
        return parse_production(
            prod(
                calendar={"start": "2026-03-02", "hours_per_day": 8, "allow_gaps": True},
                locations=[{"id": "A"}, {"id": "B", "available": [{"start": day, "end": day}]}],
                scenes=[scene("1", 8), scene("2", 7), scene("3", 1, "B")],
            )
        )

    assert late("2026-03-11").horizon() == 8
    assert "2026-03-11" in [d.date.isoformat() for d in plan_shoot(late("2026-03-11"), OPTS).days]
    with pytest.raises(InfeasibleError, match="within 8 working days"):
        plan_shoot(late("2026-03-12"), OPTS)


@pytest.mark.parametrize(
    "late",
    [
        {"constraints": {"not_before": [{"scene": "1", "date": "2026-03-20"}]}},
        {"people": [{"id": "ann", "available": [{"start": "2026-04-01", "end": "2026-04-30"}]}]},
    ],
)
def test_a_scene_open_only_long_after_the_window_names_the_window(late: dict[str, Any]) -> None:
    """Only twice the window's days were looked at, all closed by the late date: 'scene 1 has no day open to
    it (scene 1 not before 2026-03-20)', as if the shoot's 2 days had nothing to do with it."""
    data = prod(
        calendar={"start": "2026-03-02", "hours_per_day": 8, "max_days": 2},
        scenes=[scene("1", 2, cast=["ann"]), scene("2", 2)],
        people=[{"id": "ann"}],
    )
    p = parse_production({**data, **late})
    with pytest.raises(InfeasibleError) as info:
        plan_shoot(p, OPTS)
    window = "the shoot ends within 2 working days of its start (calendar.max_days)"
    because = (
        "scene 1 not before 2026-03-20"
        if "constraints" in late
        else "availability of ann (2026-04-01 to 2026-04-30)"
    )
    assert sorted(info.value.conflicts) == sorted([window, because])
    assert f"scene 1 has no day open to it ({window} and {because})" in str(info.value)


def test_more_days_of_work_than_twice_the_window_names_the_window() -> None:
    """5 full days in a window of 2: dropping the window left 4 days, still too few, so the explanation was
    the working hours alone."""
    p = parse_production(
        prod(
            calendar={"start": "2026-03-02", "hours_per_day": 8, "max_days": 2},
            scenes=[scene(str(i), 8) for i in range(5)],
        )
    )
    with pytest.raises(InfeasibleError) as info:
        plan_shoot(p, OPTS)
    assert sorted(info.value.conflicts) == [
        "the shoot ends within 2 working days of its start (calendar.max_days)",
        "working hours: 8 h a day (calendar.hours_per_day)",
    ]


def test_a_window_ending_long_after_the_shoot_does_not_lengthen_the_explanation() -> None:
    """Every window's end and every day off counted as a change to look past: an actor available until
    2027 made the explain model hundreds of days long (80 scenes: past the time limit, no explanation).
    Only where a scene with no open day opens counts."""
    from reelkit.produce.shoot import _ClosedDays

    base = prod(
        calendar={"start": "2026-03-02", "hours_per_day": 8, "max_days": 2},
        scenes=[scene(str(i), 8, cast=["ann"]) for i in range(5)],
        people=[{"id": "ann"}],
    )
    plain = _ClosedDays(parse_production(base)).look_days()
    far = {
        "id": "ann",
        "available": [{"start": "2026-01-01", "end": "2027-12-31"}],
        "days_off": ["2026-12-01"],
    }
    assert _ClosedDays(parse_production({**base, "people": [far]})).look_days() == plain
    late = {"id": "ann", "available": [{"start": "2026-06-01", "end": "2027-12-31"}]}
    assert _ClosedDays(parse_production({**base, "people": [late]})).look_days() > plain + 60


def test_working_hours_hold_for_the_exact_durations_and_the_times_follow_them() -> None:
    """Rounded to whole minutes (30 for 0.508 h), twenty scenes of 0.508 h filled a 10-hour day (10.16 h)
    and the schedule said the last ended at 17:00, not 17:09."""
    from datetime import datetime, timedelta

    def shoot(max_days: int) -> Schedule:
        cal = {"start": "2026-03-02", "hours_per_day": 10, "max_days": max_days}
        return plan_shoot(
            parse_production(prod(calendar=cal, scenes=[scene(f"s{i}", 0.508) for i in range(20)])), OPTS
        )

    with pytest.raises(InfeasibleError, match="working hours: 10 h a day"):
        shoot(1)
    s = shoot(2)
    assert sorted(len(d.scenes) for d in s.days) == [1, 19] and max(d.hours for d in s.days) <= 10
    for d in s.days:
        end = datetime(2026, 3, 2, 7) + timedelta(hours=d.hours)  # 19 scenes: 9.652 h, 16:39:07
        assert d.scenes[-1].end == end.strftime("%H:%M")
    assert max(d.scenes[-1].end for d in s.days) == "16:39"
    # the exported models keep their minutes (for display), beside the seconds the hours are checked on
    p = parse_production(
        prod(calendar={"start": "2026-03-02", "hours_per_day": 10}, scenes=[scene("a", 0.508)])
    )
    assert (p.scenes[0].minutes, p.scenes[0].seconds) == (30, 1829)
    assert (p.calendar.minutes, p.calendar.seconds) == (600, 36000)


def test_a_duration_a_fraction_of_a_second_past_a_whole_second_counts_the_whole_second() -> None:
    """0.5001 h is 1800.36 s, counted as 1801 (rounded up): twenty such scenes (10.002 h) do not fit one
    10-hour day and take two, though a day costs 1000 (rounded to the nearest second, 20 x 1800 s filled
    one day exactly and the plan ran 10.002 h)."""
    cal = {"start": "2026-03-02", "hours_per_day": 10, "max_days": 2}
    p = parse_production(
        prod(calendar=cal, costs={"day_cost": 1000}, scenes=[scene(f"s{i}", 0.5001) for i in range(20)])
    )
    assert p.scenes[0].seconds == 1801
    s = plan_shoot(p, OPTS)
    assert s.n_days == 2 and max(d.hours for d in s.days) <= 10


def test_a_working_day_a_fraction_of_a_second_past_a_whole_second_counts_down() -> None:
    """A 10.0001-hour day (36000.36 s) counts 36000 s (rounded down): nineteen scenes of 0.5 h and one of
    0.5002 h (10.0002 h, 36001 s) take two days, though a day costs 1000 (rounded up, one day ran past
    its hours)."""
    cal = {"start": "2026-03-02", "hours_per_day": 10.0001, "max_days": 2}
    scenes = [scene(f"s{i}", 0.5) for i in range(19)] + [scene("last", 0.5002)]
    p = parse_production(prod(calendar=cal, costs={"day_cost": 1000}, scenes=scenes))
    assert p.calendar.seconds == 36000
    s = plan_shoot(p, OPTS)
    assert s.n_days == 2 and max(d.hours for d in s.days) <= 10.0001


def test_precedence_cycle_is_named() -> None:
    p = parse_production(
        prod(
            scenes=[scene("a", 1), scene("b", 1), scene("c", 1), scene("d", 1)],
            constraints={
                "precedences": [
                    {"before": "d", "after": "a"},
                    {"before": "a", "after": "b"},
                    {"before": "b", "after": "c"},
                    {"before": "c", "after": "a"},
                ]
            },
        )
    )
    with pytest.raises(InfeasibleError) as info:
        plan_shoot(p, OPTS)
    assert info.value.conflicts == [
        "scene a before scene b (constraints.precedences[1])",
        "scene b before scene c (constraints.precedences[2])",
        "scene c before scene a (constraints.precedences[3])",
    ]


def test_a_chain_longer_than_the_recursion_limit_is_checked() -> None:
    import sys

    from reelkit.produce.shoot import precedence_cycle

    n = sys.getrecursionlimit() + 100  # a chain of 1,100 scenes raised RecursionError
    chain = [{"before": f"s{i}", "after": f"s{i + 1}"} for i in range(n - 1)]
    p = parse_production(
        prod(scenes=[scene(f"s{i}", 0.1) for i in range(n)], constraints={"precedences": chain})
    )
    assert precedence_cycle(p) is None
    looped = parse_production(
        prod(
            scenes=[scene(f"s{i}", 0.1) for i in range(n)],
            constraints={"precedences": [*chain, {"before": f"s{n - 1}", "after": "s5"}]},
        )
    )
    assert precedence_cycle(looped) == list(range(5, n))  # s5 -> ... -> s{n-1} -> s5


def test_a_scene_no_day_is_open_to_is_named_without_the_solver() -> None:
    """The explain model's solve could run out of time on a large plan: 'these conflict: ' and nothing."""
    past = {"id": "ann", "daily_rate": 1, "available": [{"start": "2025-01-01", "end": "2025-01-02"}]}
    scenes = [scene(str(i), 1) for i in range(40)] + [
        scene("a", 2, cast=["ann"]),
        scene("b", 2, cast=["ann"]),
    ]
    p = parse_production(prod(people=[past], scenes=scenes))
    with pytest.raises(InfeasibleError) as info:
        plan_shoot(p, SolveOptions(time_limit=0.01))  # no time to explain: named all the same
    assert info.value.conflicts == ["availability of ann (2025-01-01 to 2025-01-02)"]
    assert "scene a has no day open to it" in str(info.value) and "scene b" in str(info.value)
    # free just after the shoot's window: the window is named with the availability
    horizon = p.horizon()
    late_day = p.calendar.working_days(horizon + 1)[horizon].isoformat()
    late = {**past, "available": [{"start": late_day, "end": late_day}]}
    with pytest.raises(InfeasibleError) as info:
        plan_shoot(parse_production(prod(people=[late], scenes=scenes)), OPTS)
    assert sorted(info.value.conflicts) == sorted(
        [
            f"availability of ann ({late_day})",
            f"the shoot ends within {horizon} working days of its start (calendar.max_days: by default 1.5 x "
            "the days the scenes need + 5)",
        ]
    )


def test_a_same_day_group_longer_than_the_working_day_is_refused_before_any_solve(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """5 h + 4 h to shoot on one 8 h day: refused up front naming the group and both durations (a short
    --time-limit let the explanation's re-solves time out and blame calendar.max_days too)."""
    import reelkit.produce.shoot as shoot

    def no_solve(*a: Any, **k: Any) -> None:
        raise AssertionError("solved")

    monkeypatch.setattr(shoot, "_build", no_solve)
    p = parse_production(
        prod(
            calendar={"start": "2026-03-02", "hours_per_day": 8, "max_days": 5},
            scenes=[scene("1", 5), scene("2", 4), scene("3", 1)],
            constraints={"same_day": [{"scenes": ["3", "1"]}, {"scenes": ["1", "2"]}]},
        )
    )
    with pytest.raises(InfeasibleError) as info:
        plan_shoot(p, OPTS)
    assert str(info.value) == (
        "no shooting schedule satisfies every constraint: the scenes of constraints.same_day[1] (1, 2) take "
        "9 h, more than a working day of 8 h (calendar.hours_per_day); split the group or lengthen the "
        "working day"
    )
    assert info.value.conflicts == [
        "scenes 1, 2 on the same day (constraints.same_day[1])",
        "working hours: 8 h a day (calendar.hours_per_day)",
    ]


def test_an_explanation_whose_checks_ran_out_of_time_says_it_may_not_be_minimal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each shrinking re-solve gets a tenth of the time limit; one cut short kept the group it tested as if it
    were needed, and the message still said "these conflict". Here every re-solve is cut short."""
    import reelkit.produce.shoot as shoot

    real = shoot._solver

    def starved(opts: SolveOptions, *, workers: int | None = None, time_limit: float | None = None) -> Any:
        s = real(opts, workers=workers, time_limit=time_limit)
        if time_limit is not None:  # a re-solve of the explanation: no search at all
            s.parameters.max_number_of_conflicts = 0
            s.parameters.cp_model_presolve = False
        return s

    monkeypatch.setattr(shoot, "_solver", starved)
    p = _three_six_hour_scenes_in_two_days()
    with pytest.raises(InfeasibleError) as info:
        plan_shoot(p, OPTS)
    window = "the shoot ends within 2 working days of its start (calendar.max_days)"
    hours = "working hours: 8 h a day (calendar.hours_per_day)"
    assert sorted(info.value.conflicts) == [window, hours]
    assert "these constraints conflict, possibly not all of them: " in str(info.value)
    assert str(info.value).endswith("; give a longer --time-limit to narrow the list)")
    assert "the time ran out checking " in str(info.value)


def test_ctrl_c_still_interrupts_after_a_solve_in_this_thread_or_another() -> None:
    """CP-SAT left its own SIGINT handler (or the system's default) after a solve: a later Ctrl-C killed
    the process outright (`schedule plan` then left its temporary files, and a server that solved a
    stripboard could not be stopped cleanly). After a solve here and one in a worker thread, Ctrl-C is
    Python's KeyboardInterrupt again."""
    import signal
    import threading

    from reelkit.produce.generator import generate_production

    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    prod = generate_production(6, 0)
    plan_shoot(prod, SolveOptions(time_limit=5))
    worker = threading.Thread(target=plan_shoot, args=(prod, SolveOptions(time_limit=5)))
    worker.start()
    worker.join()
    with pytest.raises(KeyboardInterrupt):
        signal.raise_signal(signal.SIGINT)
    # a Ctrl-C during a long search stops it at once, as a KeyboardInterrupt
    import os
    import time

    big = generate_production(120, 0)
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    started = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        plan_shoot(big, SolveOptions(time_limit=60, hint=False))
    assert time.monotonic() - started < 20


@pytest.mark.slow
def test_ctrl_c_during_a_long_search_aborts_the_command_cleanly(tmp_path: Path) -> None:
    """Ctrl-C during `schedule plan`'s search: "aborted", exit 130, and the earlier plan untouched (a stopped
    CP-SAT search raised from a joined thread made the process abort at exit, rc 134, "terminate called")."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from reelkit.produce.generator import generate_production
    from reelkit.produce.production import dump_production

    prod = tmp_path / "big.yaml"
    dump_production(generate_production(150, 0), prod)
    cmd = [sys.executable, "-m", "reelkit", "schedule", "plan", str(prod), "-o", str(tmp_path / "plan")]
    child = subprocess.Popen([*cmd, "--time-limit", "120"], stderr=subprocess.PIPE, text=True)
    time.sleep(6)  # past the start-up and the model's build, into the search
    os.kill(child.pid, signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130 and "aborted" in err and "terminate" not in err, err
    assert not (tmp_path / "plan").exists()
