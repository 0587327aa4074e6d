"""Crew and cast matching: known optima (by hand and brute force), availability, budget, explanations."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from reelkit.cli import main
from reelkit.errors import ConfigError, InfeasibleError
from reelkit.produce.crew import Pool, brute_force_team, load_pool, match_team, role_dates
from reelkit.produce.production import ProductionFormatError, parse_production
from reelkit.produce.shoot import SolveOptions, plan_shoot
from reelkit.testing.cli import run_cli as run


def production(roles: list[dict[str, Any]], budget: float | None = None) -> Any:
    return parse_production(
        {
            "name": "crewtest",
            "calendar": {"start": "2026-03-02", "hours_per_day": 8},
            "people": [{"id": "hero", "daily_rate": 0}, {"id": "friend"}],
            "locations": [{"id": "A"}],
            "scenes": [
                {"id": "1", "duration": 8, "location": "A", "cast": ["hero"]},
                {"id": "2", "duration": 8, "location": "A", "cast": ["hero", "friend"]},
                {"id": "3", "duration": 8, "location": "A", "cast": ["hero"]},
            ],
            "genres": ["Drama", "Thriller"],
            "city": "Lisbon",
            "budget": budget,
            "roles": roles,
        }
    )


ROLES = [
    {"id": "dir", "kind": "director", "skills": {"drama": 2, "action": 1}},
    {"id": "dop", "kind": "dop", "skills": {"lighting": 1}},
    {"id": "lead", "kind": "lead", "character": "hero", "skills": {"drama": 1}},
]


def test_hand_computed_optimum_prefers_the_pair_with_shared_work() -> None:
    prod = production(ROLES)
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    pool = Pool.model_validate(
        {
            "weights": {"skill": 1.0, "genre": 0.0, "shared": 0.5, "cap": 1},
            "candidates": [
                {"id": "d1", "roles": ["director"], "skills": {"drama": 0.9, "action": 0.9}, "credits": []},
                {
                    "id": "d2",
                    "roles": ["director"],
                    "skills": {"drama": 0.9, "action": 0.6},
                    "credits": ["p1"],
                },
                {"id": "c1", "roles": ["dop"], "skills": {"lighting": 0.8}, "credits": ["p1"]},
                {"id": "c2", "roles": ["dop"], "skills": {"lighting": 0.9}},
                {"id": "a1", "roles": ["actor"], "skills": {"drama": 0.7}},
            ],
        }
    )
    # a time limit the solver refuses was said as "the pool's weights are too large"
    for limit in (-1.0, 0.0, float("nan")):
        with pytest.raises(ConfigError, match=r"^time_limit must be a positive number of seconds"):
            match_team(prod, pool, sched, time_limit=limit)
    team = match_team(prod, pool, sched)
    # d1 + c2: 0.9 + 0.9 + 0.7 = 2.5; d2 + c1 with the shared credit: 0.8 + 0.8 + 0.7 + 0.5 = 2.8
    assert team.status == "OPTIMAL" and team.fit == pytest.approx(2.8)
    picks = {c.role_id: c.candidate_id for c in team.choices}
    assert picks == {"dir": "d2", "dop": "c1", "lead": "a1"}
    d2 = next(c for c in team.choices if c.candidate_id == "d2")
    assert d2.skill == pytest.approx(0.8) and d2.shared == pytest.approx(0.25) and d2.shared_with == ("c1",)
    assert d2.loss_without == pytest.approx(2.8 - 2.5) and d2.next_best == "d1"
    # without c1 the dop is c2 (d1 + c2: 2.5), named as the dop's next best, not another role's pick
    c1 = next(c for c in team.choices if c.candidate_id == "c1")
    assert c1.loss_without == pytest.approx(2.8 - 2.5) and c1.next_best == "c2"
    lead = next(c for c in team.choices if c.role_id == "lead")
    assert lead.loss_without is None  # nobody else can play the lead


def test_a_next_best_already_in_the_team_is_named_with_the_role_they_leave() -> None:
    """x directs (0.9) and c shoots (0.8): 1.7. Without c the best team is d directing (0.5) and x shooting
    (0.9): 1.4, so the dop's next best is x, who already directs here: a swap, said as ``next_best_from``
    (it read as a spare). Without x as director the next best, d, is in no role of this team."""
    roles = [
        {"id": "dir", "kind": "director", "skills": {"drama": 1}},
        {"id": "dop", "kind": "dop", "skills": {"lighting": 1}},
    ]
    prod = production(roles)
    pool = Pool.model_validate(
        {
            "weights": {"skill": 1.0, "genre": 0.0, "shared": 0.0},
            "candidates": [
                {"id": "x", "roles": ["director", "dop"], "skills": {"drama": 0.9, "lighting": 0.9}},
                {"id": "d", "roles": ["director"], "skills": {"drama": 0.5}},
                {"id": "c", "roles": ["dop"], "skills": {"lighting": 0.8}},
            ],
        }
    )
    team = match_team(prod, pool, plan_shoot(prod, SolveOptions(time_limit=5)))
    got = {c.role_id: (c.candidate_id, c.loss_without, c.next_best, c.next_best_from) for c in team.choices}
    assert got == {
        "dir": ("x", pytest.approx(1.7 - 1.4), "d", None),
        "dop": ("c", pytest.approx(1.7 - 1.4), "x", "dir"),
    }
    assert team.to_dict()["choices"][1]["next_best_from"] == "dir"


def test_the_pools_first_candidate_earns_the_shared_work_bonus_too() -> None:
    """The hand-computed pool with d2 listed first: d2 + c1 with their shared credit (2.8) still beats
    d1 + c2 (2.5); the pairwise bonus skipped the first candidate and picked d1 + c2."""
    prod = production(ROLES)
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    pool = Pool.model_validate(
        {
            "weights": {"skill": 1.0, "genre": 0.0, "shared": 0.5, "cap": 1},
            "candidates": [
                {
                    "id": "d2",
                    "roles": ["director"],
                    "skills": {"drama": 0.9, "action": 0.6},
                    "credits": ["p1"],
                },
                {"id": "d1", "roles": ["director"], "skills": {"drama": 0.9, "action": 0.9}},
                {"id": "c1", "roles": ["dop"], "skills": {"lighting": 0.8}, "credits": ["p1"]},
                {"id": "c2", "roles": ["dop"], "skills": {"lighting": 0.9}},
                {"id": "a1", "roles": ["actor"], "skills": {"drama": 0.7}},
            ],
        }
    )
    team = match_team(prod, pool, sched, explain=False)
    assert {c.role_id: c.candidate_id for c in team.choices} == {"dir": "d2", "dop": "c1", "lead": "a1"}
    assert team.fit == pytest.approx(2.8)


def test_the_bound_is_never_below_the_teams_fit() -> None:
    """The solver's bound sums fits rounded to millionths (1/3 is 0.333333); the team's exact fit (1/3) is
    a team found, so the bound reported is at least that."""
    prod = production([{"id": "dir", "kind": "director", "skills": {"drama": 1, "action": 2}}])
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    pool = Pool.model_validate(
        {
            "weights": {"skill": 1.0, "genre": 0.0, "shared": 0.0},
            "candidates": [{"id": "d", "roles": ["director"], "skills": {"drama": 1.0}}],
        }
    )
    team = match_team(prod, pool, sched, explain=False)
    assert team.fit == pytest.approx(1 / 3, abs=1e-12) and team.bound >= team.fit


def test_shared_credits_past_the_cap_count_as_the_cap() -> None:
    """The pairwise bonus is min(shared credits, cap) / cap: three shared projects with a cap of 1 are 1."""
    prod = production(ROLES[:2])
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    pool = Pool.model_validate(
        {
            "weights": {"skill": 1.0, "genre": 0.0, "shared": 0.5, "cap": 1},
            "candidates": [
                {
                    "id": "d",
                    "roles": ["director"],
                    "skills": {"drama": 1, "action": 1},
                    "credits": ["p1", "p2", "p3"],
                },
                {"id": "c", "roles": ["dop"], "skills": {"lighting": 1}, "credits": ["p1", "p2", "p3"]},
            ],
        }
    )
    team = match_team(prod, pool, sched, explain=False)
    # skills 1 + 1, the pair's bonus 0.5 x min(3, 1) / 1 = 0.5 (half each)
    assert team.fit == pytest.approx(2.5) and [c.shared for c in team.choices] == pytest.approx([0.25, 0.25])


def test_availability_over_the_characters_days_and_budget() -> None:
    prod = production(ROLES[2:], budget=1000)
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    hero_days = [d.date for d in sched.days]
    pool = Pool.model_validate(
        {
            "per_diem": 100,
            "candidates": [
                # the best actor is away on the hero's last day
                {
                    "id": "star",
                    "roles": ["actor"],
                    "skills": {"drama": 1.0},
                    "days_off": [str(hero_days[-1])],
                },
                # too expensive: 3 days x (300 + 100 per diem) = 1200 > 1000
                {
                    "id": "far",
                    "roles": ["actor"],
                    "skills": {"drama": 0.9},
                    "daily_rate": 300,
                    "home_city": "Porto",
                },
                {
                    "id": "local",
                    "roles": ["actor"],
                    "skills": {"drama": 0.5},
                    "daily_rate": 300,
                    "home_city": "Lisbon",
                },
            ],
        }
    )
    team = match_team(prod, pool, sched)
    (choice,) = team.choices
    assert choice.candidate_id == "local" and choice.cost == pytest.approx(900) and choice.days == 3
    with pytest.raises(InfeasibleError, match="budget"):
        match_team(production(ROLES[2:], budget=500), pool, sched)


def test_the_days_paid_follow_a_roles_own_days_and_the_pools_post_days() -> None:
    """A role's own ``days`` are the days it is paid (not its span of shooting days, nor every shooting
    day for crew); a composer without days is paid the pool's ``post_days``; no per diem where the
    production names no city."""
    roles = [
        {"id": "lead", "kind": "lead", "character": "hero", "skills": {"drama": 1}, "days": 5},
        {"id": "comp", "kind": "composer", "skills": {"strings": 1}},
        {"id": "dop", "kind": "dop", "skills": {"lighting": 1}, "days": 2},
    ]
    data = production(roles).model_dump(mode="json", exclude_defaults=True)
    data.pop("city")
    prod = parse_production(data)
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    pool = Pool.model_validate(
        {
            "per_diem": 100,
            "post_days": 7,
            "candidates": [
                {"id": "a", "roles": ["actor"], "daily_rate": 300, "home_city": "Porto"},
                {"id": "m", "roles": ["composer"], "daily_rate": 10, "home_city": "Porto"},
                {"id": "p", "roles": ["dop"], "daily_rate": 50, "home_city": "Porto"},
            ],
        }
    )
    by_role = {c.role_id: c for c in match_team(prod, pool, sched, explain=False).choices}
    assert (by_role["lead"].days, by_role["lead"].cost) == (5, pytest.approx(1500))
    assert (by_role["comp"].days, by_role["comp"].cost) == (7, pytest.approx(70))
    assert (by_role["dop"].days, by_role["dop"].cost) == (2, pytest.approx(100))
    # the library call agrees with the match: the composer's days are the ones it is given
    comp = next(r for r in prod.roles if r.id == "comp")
    assert role_dates(prod, comp, sched, post_days=7) == ([], 7)
    assert role_dates(prod, comp, sched) == ([], 20)
    # a composer's own days win over the pool's; a pool that gives none pays 20
    own = comp.model_copy(update={"days": 10})
    assert role_dates(prod, own, sched, post_days=7) == ([], 10)
    data["roles"][1]["days"] = 10
    by_role = {c.role_id: c for c in match_team(parse_production(data), pool, sched, explain=False).choices}
    assert (by_role["comp"].days, by_role["comp"].cost) == (10, pytest.approx(100))
    data["roles"][1].pop("days")
    no_post_days = Pool.model_validate(pool.model_dump(exclude={"post_days"}))
    by_role = {c.role_id: c for c in match_team(parse_production(data), no_post_days, sched).choices}
    assert (by_role["comp"].days, by_role["comp"].cost) == (20, pytest.approx(200))


def test_no_per_diem_for_a_home_city_that_differs_only_in_case_or_spacing() -> None:
    """'lisbon ' is the production's Lisbon: per diem was charged for it, as for Porto (3 days x 100)."""
    prod = production(ROLES[:1])  # the director works the 3 shooting days, in Lisbon
    sched = plan_shoot(prod, SolveOptions(time_limit=5))

    def cost(home: str) -> float:
        pool = Pool.model_validate(
            {"per_diem": 100, "candidates": [{"id": "d", "roles": ["director"], "home_city": home}]}
        )
        team = match_team(prod, pool, sched, explain=False)
        return team.cost

    assert cost("lisbon ") == cost("LISBON") == cost("Lisbon") == 0
    assert cost("Porto") == pytest.approx(300)


def test_of_two_teams_of_equal_fit_the_cheaper_is_chosen() -> None:
    """Cost never broke a tie: two alike directors at 1,000 and 9,000 a day (and two alike DoPs, the dear one
    listed first) gave the dear ones as often as not. The cheaper team is chosen, its fit unchanged, and the
    explanation names the equally fit dear one as next best at no loss."""
    prod = production(ROLES[:2])
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    alike = {"drama": 0.8, "action": 0.8, "lighting": 0.8}
    pool = Pool.model_validate(
        {
            "candidates": [
                {"id": "dear_dir", "roles": ["director"], "skills": alike, "daily_rate": 9000},
                {"id": "cheap_dir", "roles": ["director"], "skills": alike, "daily_rate": 1000},
                {"id": "dear_dop", "roles": ["dop"], "skills": alike, "daily_rate": 9000},
                {"id": "cheap_dop", "roles": ["dop"], "skills": alike, "daily_rate": 1000},
            ]
        }
    )
    for _ in range(3):
        team = match_team(prod, pool, sched)
        assert [c.candidate_id for c in team.choices] == ["cheap_dir", "cheap_dop"]
        assert team.cost == pytest.approx(2 * 3 * 1000)
        best = brute_force_team(prod, pool, sched)
        assert best is not None and team.fit == pytest.approx(best[0])
        assert [(c.loss_without, c.next_best) for c in team.choices] == [(0.0, "dear_dir"), (0.0, "dear_dop")]


def test_the_cost_tie_break_resolves_small_differences_and_leaves_large_weights_room() -> None:
    """With 20 roles a director at 1,050 a day tied with one at 1,000 (the penalty's step was 1/1024 of the
    dearest team), and weights of 1e6 over 100 candidates sharing work overflowed CP-SAT's int64 once the
    objective was multiplied for the tie-break ('no team found ... give it more time', at once)."""
    roles = [{"id": "dir", "kind": "director", "skills": {"drama": 1}}]
    roles += [{"id": f"k{i}", "kind": "crew", "skills": {"drama": 1}} for i in range(19)]
    cands = [
        {"id": "dear", "roles": ["director"], "skills": {"drama": 0.5}, "daily_rate": 1050.0},
        {"id": "cheap", "roles": ["director"], "skills": {"drama": 0.5}, "daily_rate": 1000.0},
    ]
    cands += [
        {"id": f"c{i}", "roles": ["crew"], "skills": {"drama": 0.5}, "daily_rate": 9000.0} for i in range(19)
    ]
    prod = production(roles)
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    team = match_team(prod, Pool.model_validate({"candidates": cands}), sched, explain=False)
    assert team.choices[0].candidate_id == "cheap"
    from reelkit.produce.crew import _TIE, _tie_for

    # 4,950 pairs sharing work at weights of 1e6 sum to about 5e15: x1024 left CP-SAT no room
    assert _tie_for(10**6) == _TIE and _tie_for(5 * 10**15) == 128 and _tie_for(2**61) == 1
    for total in (1, 10**6, 5 * 10**15, 2**59, 2**60, 2**61):
        assert _tie_for(total) * total <= max(2**60, total)


def test_budget_holds_to_the_cent() -> None:
    prod = production(ROLES[:1], budget=300)  # the director works the 3 shooting days
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    pool = Pool.model_validate(
        {
            "candidates": [
                {"id": "best", "roles": ["director"], "skills": {"drama": 1.0}, "daily_rate": 100.01},
                {"id": "next", "roles": ["director"], "skills": {"drama": 0.5}, "daily_rate": 99.99},
            ]
        }
    )
    # 3 x 100.01 = 300.03 is over 300 (rounded per role it was 300, and "best" was picked)
    (choice,) = match_team(prod, pool, sched).choices
    assert choice.candidate_id == "next" and choice.cost == pytest.approx(299.97)


def test_a_team_costing_exactly_the_budget_is_within_it() -> None:
    """The budget may be met: 3 days x 100 = 300 under a budget of 300 is allowed (the best fit is picked).
    With two candidates the explanation's re-solve (without the first pick) dropped the budget constraint and
    hid a budget read as strict; a third candidate keeps it, and without explanations there is no re-solve."""
    prod = production(ROLES[:1], budget=300)
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    assert len(sched.days) == 3
    pool = Pool.model_validate(
        {
            "candidates": [
                {"id": "best", "roles": ["director"], "skills": {"drama": 1.0}, "daily_rate": 100},
                {"id": "next", "roles": ["director"], "skills": {"drama": 0.5}, "daily_rate": 50},
                {"id": "third", "roles": ["director"], "skills": {"drama": 0.4}, "daily_rate": 60},
            ]
        }
    )
    for explain in (True, False):
        (choice,) = match_team(prod, pool, sched, explain=explain).choices
        assert choice.candidate_id == "best" and choice.cost == pytest.approx(300), explain


def test_over_budget_names_the_cheapest_team_and_a_huge_budget_binds_nothing() -> None:
    """Two roles, X (10 a day) can fill only one: the message said "filling every role costs at least 20"
    (each role's cheapest, X twice) under a budget of 50; the cheapest team is X + Y = 110 a day x days.
    A budget of 1e15 with a rate in ten-thousandths overflowed CP-SAT's 64-bit integers (a traceback)."""
    prod = production(ROLES[:2], budget=50)
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    days = len(sched.days)
    pool = Pool.model_validate(
        {
            "candidates": [
                {"id": "x", "roles": ["director", "dop"], "daily_rate": 10},
                {"id": "y", "roles": ["director", "dop"], "daily_rate": 100},
            ]
        }
    )
    with pytest.raises(InfeasibleError, match=rf"the cheapest team costs {110 * days:,}"):
        match_team(prod, pool, sched)
    rich = production(ROLES[:2], budget=1e15)
    pool = Pool.model_validate(
        {
            "candidates": [
                {"id": "x", "roles": ["director", "dop"], "daily_rate": 10.0001},
                {"id": "y", "roles": ["director", "dop"], "daily_rate": 100},
            ]
        }
    )
    assert match_team(rich, pool, plan_shoot(rich, SolveOptions(time_limit=5))).cost == pytest.approx(
        110.0001 * days
    )


def test_too_few_people_for_the_roles_is_explained() -> None:
    prod = production(ROLES[:2])
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    pool = Pool.model_validate({"candidates": [{"id": "solo", "roles": ["director", "dop"]}]})
    with pytest.raises(
        InfeasibleError, match="not enough people: roles dir, dop can only be filled from solo"
    ):
        match_team(prod, pool, sched)
    with pytest.raises(InfeasibleError, match="not enough people"):  # not blamed on the budget
        match_team(production(ROLES[:2], budget=10**6), pool, sched)


def test_a_schedule_of_another_production_and_a_role_without_days_are_refused(tmp_path: Path) -> None:
    from reelkit.produce.production import ProductionFormatError
    from reelkit.produce.shoot import load_schedule

    prod = production(ROLES[2:])
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    path = tmp_path / "schedule.json"
    path.write_text(json.dumps(sched.to_dict()))
    assert load_schedule(path, prod).days == sched.days
    other = parse_production({**prod.model_dump(mode="json", exclude_defaults=True), "name": "other"})
    with pytest.raises(
        ProductionFormatError, match=r"schedule\.json: this schedule is for production 'crewtest'"
    ):
        load_schedule(path, other)
    # the same production after the friend took the day of scene 2 off: the plan no longer holds (crew
    # match costed a team over it without a word)
    day = next(d.date.isoformat() for d in sched.days if "2" in [s.scene_id for s in d.scenes])
    edited = parse_production(
        {
            **prod.model_dump(mode="json", exclude_defaults=True),
            "people": [{"id": "hero", "daily_rate": 0}, {"id": "friend", "days_off": [day]}],
        }
    )
    with pytest.raises(ProductionFormatError, match=rf"as it is now: scene 2: friend unavailable on {day}"):
        load_schedule(path, edited)
    with pytest.raises(ProductionFormatError, match="as it is now"):
        match_team(edited, Pool.model_validate({"candidates": [{"id": "a", "roles": ["actor"]}]}), sched)
    path.write_text("{}")  # the field missing is named in words, not as a bare KeyError ('days')
    with pytest.raises(
        ProductionFormatError,
        match=r"schedule\.json: not a schedule written by 'reelkit schedule plan' \(a field 'days' is "
        r"missing\); give the schedule\.json that 'reelkit schedule plan -o DIR' writes in DIR$",
    ):
        load_schedule(path)
    ghost = parse_production(
        {
            **prod.model_dump(mode="json", exclude_defaults=True),
            "people": [{"id": "hero", "daily_rate": 0}, {"id": "friend"}, {"id": "ghost"}],
            "roles": [{"id": "lead", "kind": "lead", "character": "ghost"}],
        }
    )
    pool = Pool.model_validate({"candidates": [{"id": "a", "roles": ["actor"]}]})
    with pytest.raises(
        ProductionFormatError, match="role lead: its character 'ghost' is in no scheduled scene"
    ):
        match_team(ghost, pool, plan_shoot(ghost, SolveOptions(time_limit=5)))


def test_a_characters_days_follow_the_productions_cast_as_it_is_now() -> None:
    """The friend was added to scene 3 after planning: crew match read the schedule's stored calls (scene 2's
    day only) and cast an actor who is off on scene 3's day, for 1 day."""
    roles = [{"id": "lead", "kind": "lead", "character": "friend", "skills": {"drama": 1}}]
    prod = production(roles)
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    day_of = {s.scene_id: d.date for d in sched.days for s in d.scenes}
    data = prod.model_dump(mode="json", exclude_defaults=True)
    for sc in data["scenes"]:
        if sc["id"] == "3":
            sc["cast"] = ["hero", "friend"]
    edited = parse_production(data)
    pool = Pool.model_validate(
        {
            "candidates": [
                {"id": "star", "roles": ["actor"], "skills": {"drama": 1.0}, "days_off": [str(day_of["3"])]},
                {"id": "understudy", "roles": ["actor"], "skills": {"drama": 0.5}, "daily_rate": 100},
            ]
        }
    )
    assert match_team(prod, pool, sched).choices[0].candidate_id == "star"
    (choice,) = match_team(edited, pool, sched).choices
    # paid from the first of scenes 2 and 3 to the last, the shooting days between them held
    number = sched.day_of()
    span = abs(number["3"] - number["2"]) + 1
    assert (
        choice.candidate_id == "understudy"
        and choice.days == span
        and choice.cost == pytest.approx(100 * span)
    )


def test_a_character_is_held_on_the_shooting_days_between_its_scenes() -> None:
    """A character in the first and last days' scenes only needs its actor on the day between too (held,
    and paid): 3 days, and an actor off on the middle day cannot take the role."""
    roles = [{"id": "sup", "kind": "supporting", "character": "friend", "skills": {"drama": 1}}]
    prod = production(roles)
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    assert len(sched.days) == 3  # one 8-hour scene a day
    first, _, last = (d.scenes[0].scene_id for d in sched.days)
    data = prod.model_dump(mode="json", exclude_defaults=True)
    for sc in data["scenes"]:
        sc["cast"] = ["hero", "friend"] if sc["id"] in (first, last) else ["hero"]
    edited = parse_production(data)
    dates, days = role_dates(edited, edited.roles[0], sched)
    assert dates == [d.date for d in sched.days] and days == 3
    pool = Pool.model_validate(
        {
            "candidates": [
                {
                    "id": "star",
                    "roles": ["actor"],
                    "skills": {"drama": 1.0},
                    "days_off": [str(sched.days[1].date)],
                },
                {"id": "understudy", "roles": ["actor"], "skills": {"drama": 0.5}, "daily_rate": 100},
            ]
        }
    )
    (choice,) = match_team(edited, pool, sched, explain=False).choices
    assert (choice.candidate_id, choice.days, choice.cost) == ("understudy", 3, pytest.approx(300))


def test_role_without_candidates_is_explained() -> None:
    prod = production(ROLES[:1])
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    pool = Pool.model_validate({"candidates": [{"id": "x", "roles": ["editor"]}]})
    with pytest.raises(InfeasibleError) as info:
        match_team(prod, pool, sched)
    assert info.value.conflicts == ["role dir: no candidate does director work"]


def test_a_lead_or_supporting_candidate_is_cast_only_in_that_kind() -> None:
    """'actor' plays any cast role; 'lead' only leads: a supporting-only actor cannot take the lead."""
    prod = production(ROLES[2:])
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    pool = Pool.model_validate(
        {
            "candidates": [
                {"id": "lead_only", "roles": ["lead"], "skills": {"drama": 0.5}},
                {"id": "support_only", "roles": ["supporting"], "skills": {"drama": 1.0}},
            ]
        }
    )
    (choice,) = match_team(prod, pool, sched).choices
    assert choice.candidate_id == "lead_only"


@pytest.mark.parametrize("seed", range(8))
def test_matches_brute_force_on_random_pools(seed: int) -> None:
    rng = np.random.default_rng(seed)
    roles = [
        {"id": "dir", "kind": "director", "skills": {"drama": 1, "action": 1}},
        {"id": "dop", "kind": "dop", "skills": {"lighting": 1}},
        {"id": "ed", "kind": "editor", "skills": {"pace": 1}},
        {"id": "comp", "kind": "composer", "skills": {"strings": 1}, "days": 10},
        {"id": "lead", "kind": "lead", "character": "hero", "skills": {"drama": 1}},
        {"id": "sup", "kind": "supporting", "character": "friend", "skills": {"comedy": 1}},
    ]
    kinds = ["director", "dop", "editor", "composer", "actor"]
    skills = ["drama", "action", "lighting", "pace", "strings", "comedy"]
    projects = [f"p{i}" for i in range(5)]
    cands = []
    for i in range(12):
        cands.append(
            {
                "id": f"c{i}",
                "roles": sorted(set(rng.choice(kinds, int(rng.integers(1, 4)), replace=False).tolist())),
                "skills": {s: round(float(rng.random()), 2) for s in skills if rng.random() < 0.6},
                "genres": {g: int(rng.integers(0, 4)) for g in ("Drama", "Thriller", "Comedy")},
                "credits": sorted(set(rng.choice(projects, int(rng.integers(0, 3))).tolist())),
                "daily_rate": float(rng.integers(1, 10) * 50),
                "home_city": str(rng.choice(["Lisbon", "Porto"])),
                "days_off": ["2026-03-03"] if rng.random() < 0.2 else [],
            }
        )
    pool = Pool.model_validate({"candidates": cands, "per_diem": 40})
    prod = production(roles, budget=float(rng.integers(30, 80) * 100))
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    oracle = brute_force_team(prod, pool, sched)
    if oracle is None:
        with pytest.raises(InfeasibleError):
            match_team(prod, pool, sched, explain=False)
        return
    team = match_team(prod, pool, sched, explain=False)
    assert team.status == "OPTIMAL"
    # the solver's terms are rounded to millionths; the team's fit is its choices' exact sum (it was the
    # solver's sum of terms rounded to thousandths: 1.998 for a team whose choices add up to 2.000)
    assert team.fit == pytest.approx(oracle[0], abs=1e-5)
    assert team.fit == pytest.approx(sum(c.fit for c in team.choices), abs=1e-12)
    assert team.cost <= (prod.budget or 0) + 1e-6
    assert len({c.candidate_id for c in team.choices}) == len(roles)


def test_pool_errors_name_the_field(tmp_path: Path) -> None:
    path = tmp_path / "pool.yaml"
    path.write_text(yaml.safe_dump({"candidates": [{"id": "a", "roles": ["dop"], "skills": {"x": 3}}]}))
    with pytest.raises(ProductionFormatError) as info:
        load_pool(path)
    assert str(info.value).startswith(f"{path}:5: candidates[0].skills")
    # infinite or negative numbers would overflow the solver's integer costs: refused, naming the field
    for patch, field in (
        ({"daily_rate": float("inf")}, "candidates[0].daily_rate"),
        ({"genres": {"drama": -2}}, "candidates[0].genres.drama"),
    ):
        path.write_text(yaml.safe_dump({"candidates": [{"id": "a", "roles": ["dop"], **patch}]}))
        with pytest.raises(ProductionFormatError) as info:
            load_pool(path)
        assert str(info.value).startswith(f"{path}:{info.value.line}: {field}"), str(info.value)
        assert info.value.line is not None
    path.write_text(yaml.safe_dump({"candidates": [{"id": "a", "roles": ["dop"]}], "per_diem": float("inf")}))
    with pytest.raises(ProductionFormatError, match="per_diem"):
        load_pool(path)


def test_cli_crew_match(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prod_path = tmp_path / "prod.yaml"
    prod_path.write_text(
        yaml.safe_dump(
            {
                "calendar": {"start": "2026-03-02", "hours_per_day": 8},
                "people": [{"id": "hero"}],
                "locations": [{"id": "A"}],
                "scenes": [{"id": "1", "duration": 4, "location": "A", "cast": ["hero"]}],
                "roles": [
                    {"id": "dir", "kind": "director"},
                    {"id": "lead", "kind": "lead", "character": "hero"},
                ],
            }
        )
    )
    pool_path = tmp_path / "pool.json"
    pool_path.write_text(
        json.dumps({"candidates": [{"id": "d", "roles": ["director"]}, {"id": "a", "roles": ["actor"]}]})
    )
    try:
        main(["crew", "match", str(prod_path), "--pool", str(pool_path), "--json"])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    assert {c["role_id"]: c["candidate_id"] for c in data["choices"]} == {"dir": "d", "lead": "a"}


def _cli_crew_files(tmp_path: Path) -> tuple[Path, Path, dict[str, Any]]:
    data: dict[str, Any] = {
        "name": "cli",
        "calendar": {"start": "2026-03-02", "hours_per_day": 8},
        "people": [{"id": "hero"}],
        "locations": [{"id": "A"}],
        "scenes": [{"id": "1", "duration": 4, "location": "A", "cast": ["hero"]}],
        "roles": [{"id": "dir", "kind": "director"}, {"id": "lead", "kind": "lead", "character": "hero"}],
    }
    prod_path, pool_path = tmp_path / "prod.yaml", tmp_path / "pool.json"
    prod_path.write_text(yaml.safe_dump(data))
    pool_path.write_text(
        json.dumps({"candidates": [{"id": "d", "roles": ["director"]}, {"id": "a", "roles": ["actor"]}]})
    )
    return prod_path, pool_path, data


def test_cli_crew_match_reads_the_schedule_it_is_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--schedule is read, not solved afresh: a schedule of another production is refused (exit 2)."""
    prod_path, pool_path, data = _cli_crew_files(tmp_path)
    other = parse_production({**data, "name": "other"})
    sched = tmp_path / "schedule.json"
    sched.write_text(json.dumps(plan_shoot(other, SolveOptions(time_limit=5)).to_dict()))
    code, out, err = run(
        capsys, "crew", "match", str(prod_path), "--pool", str(pool_path), "--schedule", str(sched)
    )
    assert code == 2 and out == "" and "this schedule is for production 'other'" in err


def test_cli_crew_match_passes_its_time_limit_to_the_matcher(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--time-limit 7 is the command's: the schedule's solve has up to a third of it, the team matcher what
    it leaves (each had all 7 s, and the matcher's every re-solve too)."""
    import reelkit.produce.crew as crew
    import reelkit.produce.shoot as shoot

    seen = []
    real, real_plan = crew.match_team, shoot.plan_shoot

    def spy(*a, **kw):  # type: ignore[no-untyped-def]
        seen.append(kw.get("time_limit"))
        return real(*a, **kw)

    def plan_spy(prod, opts):  # type: ignore[no-untyped-def]
        seen.append(opts.time_limit)
        return real_plan(prod, opts)

    monkeypatch.setattr(crew, "match_team", spy)
    monkeypatch.setattr(shoot, "plan_shoot", plan_spy)
    prod_path, pool_path, _ = _cli_crew_files(tmp_path)
    code, _, err = run(
        capsys, "crew", "match", str(prod_path), "--pool", str(pool_path), "--time-limit", "7", "--json"
    )
    assert code == 0, err
    assert seen[0] == pytest.approx(7 / 3) and 5 < seen[1] < 7  # what the schedule's solve left


def test_the_time_limit_covers_every_solve_of_the_match(monkeypatch: pytest.MonkeyPatch) -> None:
    """match_team gave the first solve and each re-solve explaining a pick the whole limit (1 + 7 solves
    of 20 s: 163 s on 150 candidates); the first has two thirds of it, the re-solves share the rest."""
    from ortools.sat.python import cp_model

    import reelkit.produce.crew as crew

    prod = _seven_roles()
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    ends: list[float] = []  # when each solve must stop, from the start of the match

    class Spy(cp_model.CpSolver):  # type: ignore[misc]
        def solve(self, model: Any, *args: Any, **kwargs: Any) -> Any:
            ends.append(time.monotonic() - start + self.parameters.max_time_in_seconds)
            return super().solve(model, *args, **kwargs)

    monkeypatch.setattr(crew.cp_model, "CpSolver", Spy)
    start = time.monotonic()
    team = match_team(prod, _random_pool(50), sched, time_limit=30)
    assert team.status == "OPTIMAL" and len(ends) == 8
    assert 20 <= ends[0] < 20.5 and max(ends) < 30.1  # the re-solves share what the first left
    assert all(c.loss_without is not None and c.loss_without >= 0 for c in team.choices)


def test_the_help_example_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The --help example showed a production file of roles only: 'calendar: Field required; locations:
    Field required; scenes: Field required'."""
    with pytest.raises(SystemExit):
        main(["crew", "match", "--help"])
    lines = capsys.readouterr().out.splitlines()
    start, middle = lines.index("    # prod.yaml"), lines.index("    # pool.yaml")
    end = lines.index("", middle)
    (tmp_path / "prod.yaml").write_text(textwrap.dedent("\n".join(lines[start + 1 : middle])))
    (tmp_path / "pool.yaml").write_text(textwrap.dedent("\n".join(lines[middle + 1 : end])))
    code = 0
    try:
        main(["crew", "match", str(tmp_path / "prod.yaml"), "--pool", str(tmp_path / "pool.yaml"), "--json"])
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert code == 0, err
    team = json.loads(out)
    assert {c["role_id"]: c["candidate_id"] for c in team["choices"]} == {"dir": "ann", "lead": "bo"}
    assert team["cost"] == 2000 + 900  # one shooting day each


def test_generated_roles_and_pool_make_a_team(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from reelkit.produce.generator import generate_pool, generate_production

    prod, pool = generate_pool(generate_production(20, seed=4), seed=4)
    again = generate_pool(generate_production(20, seed=4), seed=4)
    assert again[1] == pool and again[0].roles == prod.roles  # seeded
    kinds = [r.kind for r in prod.roles]
    assert kinds[:4] == ["director", "dop", "editor", "composer"] and kinds.count("lead") >= 2
    team = match_team(prod, pool, plan_shoot(prod, SolveOptions(time_limit=5)))
    assert team.status == "OPTIMAL" and len(team.choices) == len(prod.roles)
    assert len({c.candidate_id for c in team.choices}) == len(team.choices)
    # the CLI writes both files, and crew match reads them
    out, pool_file = tmp_path / "prod.yaml", tmp_path / "pool.yaml"
    args = ["schedule", "generate", "--scenes", "20", "--seed", "4", "-o", str(out), "--pool", str(pool_file)]
    code = 0
    try:
        main(args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    assert code == 0 and out.exists() and pool_file.exists()
    assert load_pool(pool_file) == pool


@pytest.mark.parametrize(("scenes", "seed"), [(2, 0), (3, 3), (2, 3)])
def test_a_small_generated_production_casts_only_leads_in_its_scenes(scenes: int, seed: int) -> None:
    """A lead character in no scene got a role, which crew match then refused ('in no scheduled scene')."""
    from reelkit.produce.generator import generate_pool, generate_production

    prod, pool = generate_pool(generate_production(scenes, seed=seed), seed=seed)
    in_scenes = {c for s in prod.scenes for c in s.cast}
    assert all(r.character in in_scenes for r in prod.roles if r.kind == "lead")
    team = match_team(prod, pool, plan_shoot(prod, SolveOptions(time_limit=5)))
    assert len(team.choices) == len(prod.roles)


def test_cost_scale_keeps_cents_of_large_sums() -> None:
    from reelkit.produce.production import cost_scale

    assert cost_scale([505_050.5]) == 10  # 5000.50 a day x 101 days: not a whole number
    assert cost_scale([0.4, 1000.4]) == 10 and cost_scale([100.01 * 3]) == 100
    assert cost_scale([0.1 + 0.2]) == 10 and cost_scale([3e6, 12.0]) == 1  # float error is not a digit


def test_a_candidate_with_an_unknown_kind_of_work_is_refused_naming_the_field(tmp_path: Path) -> None:
    path = tmp_path / "pool.yaml"
    path.write_text(
        yaml.safe_dump({"candidates": [{"id": "a", "roles": ["actor"]}, {"id": "b", "roles": ["Director"]}]})
    )
    with pytest.raises(
        ProductionFormatError, match=r"pool\.yaml.*candidates\[1\]\.roles.*'Director'.*director"
    ):
        load_pool(path)


def test_skills_and_genres_match_whatever_their_case() -> None:
    from reelkit.produce.crew import Candidate, Weights, fit_parts

    prod = production([{"id": "dir", "kind": "director", "skills": {"Drama": 2, "action": 1}}])
    lower = Candidate.model_validate(
        {"id": "a", "roles": ["director"], "skills": {"drama": 1.0, "Action": 0.4}, "genres": {"drama": 3}}
    )
    # (2 x 1.0 + 1 x 0.4) / 3 skill; genres Drama 3 credits of a cap of 3, Thriller 0: (1 + 0) / 2
    skill, genre = fit_parts(prod, prod.roles[0], lower, Weights())
    assert skill == pytest.approx(2.4 / 3) and genre == pytest.approx(0.5)


def test_a_skill_or_genre_given_twice_in_different_case_takes_the_larger() -> None:
    """'drama' 0.2 and 'Drama' 0.8 are one skill at 0.8; 'drama' 1 and 'Drama' 3 credits are 3 (of cap 3)."""
    from reelkit.produce.crew import Candidate, Weights, fit_parts

    prod = production([{"id": "dir", "kind": "director", "skills": {"drama": 1}}])
    both = Candidate.model_validate(
        {
            "id": "b",
            "roles": ["director"],
            "skills": {"drama": 0.2, "Drama": 0.8},
            "genres": {"drama": 1, "Drama": 3},
        }
    )
    # skill 0.8; genres Drama 3 / 3, Thriller 0: (1 + 0) / 2
    assert fit_parts(prod, prod.roles[0], both, Weights()) == pytest.approx((0.8, 0.5))


def test_a_skill_or_genre_given_twice_takes_the_larger_whichever_comes_first() -> None:
    """'Drama' 0.8 then 'drama' 0.2 are one skill at 0.8 (not the last one read); 'Drama' 3 then 'drama' 1
    credits are 3."""
    from reelkit.produce.crew import Candidate, Weights, fit_parts

    prod = production([{"id": "dir", "kind": "director", "skills": {"drama": 1}}])
    both = Candidate.model_validate(
        {
            "id": "b",
            "roles": ["director"],
            "skills": {"Drama": 0.8, "drama": 0.2},
            "genres": {"Drama": 3, "drama": 1},
        }
    )
    # skill 0.8; genres Drama 3 / 3, Thriller 0: (1 + 0) / 2
    assert fit_parts(prod, prod.roles[0], both, Weights()) == pytest.approx((0.8, 0.5))


def test_genre_credits_past_the_cap_count_as_the_cap() -> None:
    """Genre experience is min(credits, cap) / cap per genre: 10 drama credits are a full 1, not 10/3."""
    from reelkit.produce.crew import Candidate, Weights, fit_parts

    prod = production([{"id": "dir", "kind": "director", "skills": {"drama": 1}}])
    veteran = Candidate.model_validate(
        {"id": "v", "roles": ["director"], "skills": {"drama": 1.0}, "genres": {"Drama": 10, "thriller": 1}}
    )
    # Drama min(10, 3) / 3 = 1, Thriller 1 / 3: (1 + 1/3) / 2 = 2/3
    _, genre = fit_parts(prod, prod.roles[0], veteran, Weights())
    assert genre == pytest.approx(2 / 3)


def _seven_roles() -> Any:
    """A director, dop, editor, composer and three leads (the roles of 'schedule generate --pool')."""
    dr = {"drama": 2, "action": 1}
    return parse_production(
        {
            "name": "seven",
            "calendar": {"start": "2026-03-02", "hours_per_day": 8},
            "people": [{"id": "C1"}, {"id": "C2"}, {"id": "C3"}],
            "locations": [{"id": "A"}],
            "scenes": [{"id": "1", "duration": 8, "location": "A", "cast": ["C1", "C2", "C3"]}],
            "roles": [
                {"id": "dir", "kind": "director", "skills": dr},
                {"id": "dop", "kind": "dop", "skills": {"lighting": 2, "camera": 1}},
                {"id": "edit", "kind": "editor", "skills": {"editing": 2, "drama": 1}},
                {"id": "music", "kind": "composer", "skills": {"music": 2, "drama": 1}},
                *({"id": f"lead{i}", "kind": "lead", "character": f"C{i}", "skills": dr} for i in (1, 2, 3)),
            ],
        }
    )


def _random_pool(n: int) -> Pool:
    """``n`` candidates, a fifth of each kind of work, with random skills, rates and 3 of 30 credits."""
    rng = np.random.default_rng(1)
    kinds = ["director", "dop", "editor", "composer", "actor"]
    skills = ["drama", "action", "lighting", "camera", "editing", "music", "comedy"]
    return Pool.model_validate(
        {
            "candidates": [
                {
                    "id": f"c{i}",
                    "roles": [kinds[i % 5]],
                    "skills": {s: round(float(rng.random()), 2) for s in skills},
                    "credits": [f"p{int(x)}" for x in rng.choice(30, 3, replace=False)],
                    "daily_rate": float(rng.integers(5, 40) * 100),
                }
                for i in range(n)
            ]
        }
    )


def test_fifty_candidates_with_shared_work_are_proven_optimal() -> None:
    """Each chosen person shares work with at most the other roles' people: bounded only pairwise, the
    relaxation was so weak that 20 s ended FEASIBLE with a bound of 15.99 for the optimum 6.4567 (proven by
    an exhaustive branch and bound); now it is proven in about a second."""
    prod = _seven_roles()
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    team = match_team(prod, _random_pool(50), sched, time_limit=5, explain=False)
    assert team.status == "OPTIMAL" and team.fit == pytest.approx(6.4567, abs=5e-5)
    assert team.bound == pytest.approx(team.fit, abs=1e-5)


def test_an_explanation_that_finds_a_better_team_reports_that_team(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first solve stopped early (here at its first team, fit 5.0): the re-solves without each pick found
    better teams, and every loss_without came out negative (-0.797); the better team is reported, and
    explained, instead: the optimum (5.7967, as brute force finds) with no negative loss."""
    from ortools.sat.python import cp_model

    import reelkit.produce.crew as crew

    solves = []

    class FirstStopsEarly(cp_model.CpSolver):  # type: ignore[misc]
        def solve(self, model: Any, *args: Any, **kwargs: Any) -> Any:
            solves.append(model)
            if len(solves) == 1:
                self.parameters.stop_after_first_solution = True
                self.parameters.num_workers = 1
            return super().solve(model, *args, **kwargs)

    prod = _seven_roles()
    sched = plan_shoot(prod, SolveOptions(time_limit=5))
    monkeypatch.setattr(crew.cp_model, "CpSolver", FirstStopsEarly)
    pool = _random_pool(20)
    team = match_team(prod, pool, sched, time_limit=5)
    best = brute_force_team(prod, pool, sched)
    assert best is not None and best[0] == pytest.approx(5.7967, abs=5e-5)
    assert team.fit == pytest.approx(best[0]) and team.status == "FEASIBLE"
    assert all(c.loss_without is not None and c.loss_without >= 0 for c in team.choices)


def test_two_roles_for_one_character_are_refused_naming_the_second(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two roles cast the same character: both were filled, two people paid to play one part (exit 2)."""
    prod_path, pool_path, data = _cli_crew_files(tmp_path)
    data["roles"].append({"id": "lead2", "kind": "lead", "character": "hero"})
    prod_path.write_text(yaml.safe_dump(data))
    code, out, err = run(capsys, "crew", "match", str(prod_path), "--pool", str(pool_path))
    assert code == 2 and out == ""
    assert "roles[2].character" in err and "'hero' is already the character of roles[1] (lead)" in err


def test_cli_crew_match_table_shows_what_each_pick_is_worth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The help promises to explain each pick; the table showed only its fit: it shows the loss without it
    and the next best (d2, 0.5 behind d; nobody else plays the lead: '-')."""
    prod_path, pool_path, data = _cli_crew_files(tmp_path)
    data["roles"][0]["skills"] = {"drama": 1}
    prod_path.write_text(yaml.safe_dump(data))
    cands = [
        {"id": "d", "roles": ["director"], "skills": {"drama": 0.9}, "daily_rate": 12345},
        {"id": "d2", "roles": ["director"], "skills": {"drama": 0.4}},
        {"id": "a", "roles": ["actor"]},
    ]
    pool_path.write_text(json.dumps({"candidates": cands}))
    code, out, err = run(
        capsys, "crew", "match", str(prod_path), "--pool", str(pool_path), "--time-limit", "5"
    )
    assert code == 0, err
    rows = {
        line.split("│")[1].strip(): [v.strip() for v in line.split("│")[1:-1]]
        for line in out.splitlines()
        if line.count("│") > 8
    }
    assert rows["dir"][-2:] == ["0.5", "d2"] and rows["lead"][-2:] == ["-", "-"]
    # money in whole units, every digit (12,345 a day was 1.234e+04 a day's worth)
    days = round(float(rows["dir"][-3].replace(",", "")) / 12345)
    assert days >= 1 and rows["dir"][-3] == f"{12345 * days:,}"
    assert "next best" in " ".join(out.split())
