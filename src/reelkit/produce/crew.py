"""Crew and cast matching: a team that covers every role, within availability and budget, with the best fit.

Fit of candidate ``c`` for role ``r`` (each part in [0, 1], weighted by the pool's ``weights``):

* skill: the role's skill weights times the candidate's levels, divided by the sum of the weights;
* genre: the production's genres the candidate has credits in (``min(credits, cap) / cap`` averaged over
  the production's genres);
* shared past work: for every pair of chosen people, ``min(shared credits, cap) / cap`` — a pairwise bonus,
  modelled in CP-SAT with a product literal ``z_ij <= chosen_i``, ``z_ij <= chosen_j`` (maximising, so
  ``z_ij`` is exactly their product at the optimum), and ``sum_j z_ij <= (roles - 1) chosen_i`` (a person
  pairs with at most the rest of the team: without it the bound was far above the optimum).

A candidate is eligible for a role when they do that kind of work and are available on every date the role
needs: the character's paid dates for cast roles (the schedule's days for the scenes it is in now), every
shooting day for the director, director of photography, editor and crew roles, none for the composer
(post-production). The cost of a role is ``days x (daily rate + per diem when the home city is not the
production's city, whatever its case)``; the team's cost is at most the production's ``budget``, and of
teams of equal fit the cheaper is chosen (a cost penalty below the least step of fit, resolving costs to
about a millionth of the dearest team's; coarser, or none, when very large weights leave int64 no room).
Each choice is explained by its fit components and by what the team would lose if that candidate could not
take the role (a re-solve without them, in one worker so that ties come out alike every run; when such a
re-solve finds a better team than the first solve, stopped unproven, did, that team is the one reported and
explained).
"""

from __future__ import annotations

import itertools
import math
import time
import typing
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pydantic
from ortools.sat.python import cp_model
from pydantic import Field
from scipy.optimize import linear_sum_assignment

from reelkit.errors import ConfigError, InfeasibleError, ReelkitError
from reelkit.produce._cpsat import solve as cpsat_solve
from reelkit.produce.production import (
    Production,
    ProductionFormatError,
    Role,
    RoleKind,
    _Available,
    _is_yaml,
    _Model,
    _pydantic_fields,
    _raise,
    cost_scale,
    load_validated,
)
from reelkit.produce.shoot import Schedule, check_schedule_of

__all__ = [
    "Candidate",
    "Choice",
    "Pool",
    "Team",
    "Weights",
    "fit_parts",
    "load_pool",
    "match_team",
    "role_dates",
]

_SCALE = 1_000_000  # fit terms in millionths: rounding moves a team's fit by far less than its 3 decimals
_CAST_KINDS = {"lead", "supporting"}
#: Seconds each explanation's re-solve has at least, when the time limit is spent.
_EXPLAIN_FLOOR = 0.5
#: The objective is fit x tie less a cost penalty under tie (tie: a power of two up to this, as int64 leaves
#: room for): of two teams of equal fit the cheaper wins, to about 1/tie of the dearest team's cost, and no
#: cost outweighs the least difference in fit (a millionth)
_TIE = 1 << 20


class Candidate(_Available):
    id: str = Field(min_length=1)
    name: str = ""
    #: Kinds of work: director, dop, editor, composer, actor (or lead / supporting), crew.
    roles: list[str] = Field(min_length=1)
    skills: dict[str, float] = Field(default_factory=dict)
    #: Past credits per genre.
    genres: dict[str, Annotated[int, Field(ge=0)]] = Field(default_factory=dict)
    daily_rate: float = Field(0.0, ge=0, le=1e7)
    home_city: str = ""
    #: Ids of past projects (shared ones earn the pairwise bonus).
    credits: list[str] = Field(default_factory=list)

    @pydantic.field_validator("roles")
    @classmethod
    def _known_roles(cls, v: list[str]) -> list[str]:
        # an unknown kind ("cinematographer", "Director") would make the person silently ineligible
        known = (*typing.get_args(RoleKind), "actor")
        for kind in v:
            if kind not in known:
                raise ValueError(f"unknown kind of work {kind!r}: use {', '.join(known)}")
        return v

    @pydantic.field_validator("skills")
    @classmethod
    def _levels(cls, v: dict[str, float]) -> dict[str, float]:
        for k, lvl in v.items():
            if not 0 <= lvl <= 1:
                raise ValueError(f"skill {k!r}: level must be between 0 and 1, not {lvl}")
        return v

    def does(self, kind: str) -> bool:
        if kind in _CAST_KINDS:
            return kind in self.roles or "actor" in self.roles
        return kind in self.roles

    @property
    def label(self) -> str:
        return self.name or self.id


class Weights(_Model):
    skill: float = Field(1.0, ge=0, le=1e6)
    genre: float = Field(0.5, ge=0, le=1e6)
    shared: float = Field(0.25, ge=0, le=1e6)
    #: Credits at which genre experience and shared work count in full.
    cap: int = Field(3, ge=1)


class Pool(_Model):
    candidates: list[Candidate] = Field(min_length=1)
    weights: Weights = Weights()
    per_diem: float = Field(0.0, ge=0, le=1e7)
    #: Engaged days of roles without dates of their own (the composer), unless the role says.
    post_days: int = Field(20, ge=1)


def load_pool(path: str | Path) -> Pool:
    """Read and validate a candidate pool (YAML or JSON); errors name the file, the field and its line."""
    return load_validated(path, lambda data: _parse_pool(data, path))


def _parse_pool(data: Any, path: str | Path) -> Pool:
    if not isinstance(data, dict):
        raise ProductionFormatError("a pool file is a mapping with 'candidates'", path=str(path))
    try:
        pool = Pool.model_validate(data)
    except pydantic.ValidationError as exc:
        _raise(_pydantic_fields(exc, yaml=_is_yaml(path)), str(path))
    seen: dict[str, int] = {}
    for i, c in enumerate(pool.candidates):
        if c.id in seen:
            _raise(
                [(f"candidates[{i}].id", f"duplicate id {c.id!r} (also candidates[{seen[c.id]}])")], str(path)
            )
        seen[c.id] = i
    return pool


@dataclass(frozen=True)
class Choice:
    role_id: str
    kind: str
    candidate_id: str
    name: str
    fit: float
    skill: float
    genre: float
    #: This person's share of the pairwise bonus (half of each pair's bonus).
    shared: float
    shared_with: tuple[str, ...]
    cost: float
    days: int
    #: Team fit lost if this candidate could not take the role (``None``: no other team is possible, or the
    #: re-solve found none in its share of the time limit).
    loss_without: float | None
    next_best: str | None
    #: The role ``next_best`` holds in this team, if any: then taking this role is a swap, not a spare
    #: stepping in (the role they leave is filled as the re-solved team has it).
    next_best_from: str | None = None


@dataclass(frozen=True)
class Team:
    status: str
    fit: float
    bound: float
    cost: float
    budget: float | None
    choices: tuple[Choice, ...]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def role_dates(
    prod: Production, role: Role, schedule: Schedule, *, post_days: int = 20
) -> tuple[list[date], int]:
    """The dates a role needs its person for (availability) and the days it is paid (a composer without
    days of its own: ``post_days``, the pool's post-production days).

    A character's dates are the shooting days of the scenes it is in *now* (the schedule's day for each
    scene, the production's current cast) and the days held between its first and last: the people calls
    stored with the schedule go stale when a scene's cast is edited after planning, and casting from them
    missed the new days (the schedule itself still holds: :func:`check_schedule_of` checks it)."""
    shoot = [d.date for d in schedule.days]
    if role.kind in _CAST_KINDS and role.character is not None:
        cast = {sc.id: sc.cast for sc in prod.scenes}
        work = sorted(
            {
                d.date
                for d in schedule.days
                for s in d.scenes
                if role.character in cast.get(s.scene_id, s.cast)
            }
        )
        dates = [x for x in shoot if work[0] <= x <= work[-1]] if work else []
        if not dates and role.days is None:
            raise ProductionFormatError(
                f"role {role.id}: its character {role.character!r} is in no scheduled scene, so the role has "
                "no days; put the character in a scene or give the role's days"
            )
        return dates, role.days or len(dates)
    if role.kind == "composer":
        return [], role.days or post_days
    return shoot, role.days or len(shoot)


def _folded(values: Mapping[str, float]) -> dict[str, float]:
    """Keys case-folded (the larger value where two differ only in case)."""
    out: dict[str, float] = {}
    for k, v in values.items():
        out[k.casefold()] = max(v, out.get(k.casefold(), v))
    return out


def fit_parts(prod: Production, role: Role, cand: Candidate, weights: Weights) -> tuple[float, float]:
    """(skill match, genre experience) of ``cand`` for ``role``, each in [0, 1]; skill and genre names match
    whatever their case ("Drama" is "drama", as the audience forecast reads genres)."""
    total_w = sum(role.skills.values())
    skills = _folded(cand.skills)
    skill = (
        sum(w * skills.get(k.casefold(), 0.0) for k, w in role.skills.items()) / total_w
        if total_w > 0
        else 0.0
    )
    if prod.genres:
        credits = _folded(cand.genres)
        genre = sum(min(credits.get(g.casefold(), 0), weights.cap) / weights.cap for g in prod.genres) / len(
            prod.genres
        )
    else:
        genre = 0.0
    return skill, genre


def _away(cand: Candidate, prod: Production) -> bool:
    """Whether the candidate lives elsewhere (per diem): cities match whatever their case and spacing."""
    home, city = cand.home_city.strip().casefold(), prod.city.strip().casefold()
    return bool(home and city and home != city)


def _shared(a: Candidate, b: Candidate, cap: int) -> float:
    return min(len(set(a.credits) & set(b.credits)), cap) / cap


def match_team(
    prod: Production,
    pool: Pool,
    schedule: Schedule,
    *,
    time_limit: float = 20.0,
    seed: int = 0,
    explain: bool = True,
) -> Team:
    """The team of best fit (see the module docstring); :class:`InfeasibleError` when none exists.

    ``time_limit`` covers every solve: the first has two thirds of it (all of it without ``explain``), and
    the explanations' re-solves share what it leaves, each at least ``_EXPLAIN_FLOOR`` seconds."""
    if not time_limit > 0:  # the solver's "model invalid" was read as weights too large for it
        raise ConfigError(f"time_limit must be a positive number of seconds, not {time_limit}")
    deadline = time.monotonic() + time_limit
    roles = list(prod.roles)
    if not roles:
        raise ProductionFormatError("the production has no roles to fill; add a 'roles' list")
    check_schedule_of(schedule, prod)
    w = pool.weights
    cands = pool.candidates
    eligible: dict[
        tuple[int, int], tuple[float, float, float, int]
    ] = {}  # (c, r) -> skill, genre, cost, days
    why_none: dict[int, list[str]] = {}
    for r, role in enumerate(roles):
        dates, days = role_dates(prod, role, schedule, post_days=pool.post_days)
        reasons = []
        for c, cand in enumerate(cands):
            if not cand.does(role.kind):
                continue
            missing = [d for d in dates if not cand.is_available(d)]
            if missing:
                reasons.append(f"{cand.label} is unavailable on {missing[0].isoformat()}")
                continue
            travel = pool.per_diem if _away(cand, prod) else 0.0
            skill, genre = fit_parts(prod, role, cand, w)
            eligible[c, r] = (skill, genre, (cand.daily_rate + travel) * days, days)
        if not any(rr == r for _, rr in eligible):
            why_none[r] = reasons or [f"no candidate does {role.kind} work"]
    if why_none:
        conflicts = [f"role {roles[r].id}: {'; '.join(v[:3])}" for r, v in why_none.items()]
        raise InfeasibleError(
            "some roles have no eligible candidate: " + " | ".join(conflicts), conflicts=conflicts
        )

    unmatched = _hall_violation(len(roles), len(cands), list(eligible))
    if unmatched is not None:
        role_ids = [roles[r].id for r in unmatched[0]]
        who = [cands[c].label for c in unmatched[1]]
        conflicts = [f"role {rid}" for rid in role_ids] + [f"candidate {c}" for c in who]
        raise InfeasibleError(
            f"not enough people: roles {', '.join(role_ids)} can only be filled from "
            f"{', '.join(who) if who else 'nobody'} ({len(who)} for {len(role_ids)} roles; each person "
            "fills one role); add candidates for them",
            conflicts=conflicts,
        )
    # costs in whole units of 1/money_scale (cents when rates have cents): the budget holds exactly
    money_scale = cost_scale([v[2] for v in eligible.values()] + ([prod.budget] if prod.budget else []))
    # the objective in whole numbers: each pick's fit and each pair's shared work in millionths, times
    # ``tie`` (a power of two up to _TIE, as large as int64 leaves room for: weights up to 1e6 over
    # thousands of pairs overflowed at 1024), less each pick's cost as a share of the dearest team's
    fit_coef = {k: round(_SCALE * (w.skill * v[0] + w.genre * v[1])) for k, v in eligible.items()}
    bonus = {
        (a, b): bonus_ab
        for a, b in itertools.combinations(sorted({c for c, _ in eligible}), 2)
        if (bonus_ab := round(_SCALE * w.shared * _shared(cands[a], cands[b], w.cap))) > 0
    }
    total = sum(fit_coef.values()) + sum(bonus.values())
    tie = _tie_for(total)
    all_costs = {k: round(money_scale * v[2]) for k, v in eligible.items()}
    dearest_team = sum(max(v for (_, rr), v in all_costs.items() if rr == r) for r in range(len(roles))) or 1

    def solve(
        forbid: tuple[int, int] | None, limit: float, hint: Mapping[int, int] | None = None
    ) -> tuple[Any, cp_model.CpSolver, dict[Any, Any], dict[Any, Any]]:
        m = cp_model.CpModel()
        x = {k: m.new_bool_var(f"x{k}") for k in eligible if k != forbid}
        # a whole team to start from (a re-solve: the team found, but the pick forbidden)
        hinted = {c for r, c in hint.items() if (c, r) != forbid} if hint is not None else set()
        for (c, r), v in x.items():
            if hint is not None:
                m.add_hint(v, hint.get(r) == c)
        for r in range(len(roles)):
            m.add_exactly_one(v for (c, rr), v in x.items() if rr == r)
        chosen: dict[int, Any] = {}
        for c in range(len(cands)):
            vs = [v for (cc, _), v in x.items() if cc == c]
            if vs:
                m.add_at_most_one(vs)
                chosen[c] = sum(vs)
        costs = {k: all_costs[k] for k in x}
        # a budget above every pick together binds nothing (and 1e15 in cents would overflow CP-SAT's int64)
        if prod.budget is not None and money_scale * prod.budget < sum(costs.values()):
            m.add(sum(costs[k] * v for k, v in x.items()) <= math.floor(money_scale * prod.budget + 1e-6))
        terms = [fit_coef[k] * v for k, v in x.items()]
        z: dict[tuple[int, int], Any] = {}
        pairs_of: dict[int, list[Any]] = {c: [] for c in chosen}
        for (a, b), pair_bonus in bonus.items():
            if a in chosen and b in chosen:
                zv = m.new_bool_var(f"z{a},{b}")
                m.add(zv <= chosen[a])
                m.add(zv <= chosen[b])
                z[a, b] = zv
                if hint is not None:
                    m.add_hint(zv, a in hinted and b in hinted)
                pairs_of[a].append(zv)
                pairs_of[b].append(zv)
                terms.append(pair_bonus * zv)
        # a chosen person pairs with at most the other roles' people, one not chosen with nobody: with the
        # pairwise bounds alone the relaxation was weak (150 candidates: 20 s ended FEASIBLE at 7.32, bound
        # far above; with these, OPTIMAL 7.79 in 7 s)
        for c, zs in pairs_of.items():
            if len(zs) > len(roles) - 1:
                m.add(sum(zs) <= (len(roles) - 1) * chosen[c])
        # each pick's cost as a share of the dearest team's: a team's sum stays under ``tie``
        penalty = [((tie - 1) * costs[k] // dearest_team) * v for k, v in x.items()]
        m.maximize(tie * sum(terms) - sum(penalty))
        solver = cp_model.CpSolver()
        solver.parameters.max_time_in_seconds = float(limit)
        # a re-solve in one worker: two return either of two teams of equal worth, and the explanations
        # (who would take the role) differed between identical runs
        solver.parameters.num_workers = 2 if forbid is None else 1
        solver.parameters.random_seed = seed
        if forbid is not None:  # it starts from the team hinted; presolving 150 candidates took 1-2 s of it
            solver.parameters.cp_model_presolve = False
        status = cpsat_solve(solver, m)
        return status, solver, x, z

    # a start for the first solve: each role's person of the best fit without the pairs (an assignment)
    fit_rc = np.full((len(roles), len(cands)), -1e9)
    for (c, r), v in eligible.items():
        fit_rc[r, c] = w.skill * v[0] + w.genre * v[1]
    rows, cols = linear_sum_assignment(fit_rc, maximize=True)
    first = time_limit * 2 / 3 if explain else time_limit
    status, solver, x, _ = solve(None, first, {int(r): int(c) for r, c in zip(rows, cols, strict=True)})
    if status == cp_model.INFEASIBLE:
        # the cheapest team (each role its own person), which the role-by-role cheapest can undercut
        costs_rc = np.full((len(roles), len(cands)), np.inf)
        for (c, r), v in eligible.items():
            costs_rc[r, c] = v[2]
        rows, cols = linear_sum_assignment(costs_rc)
        cheapest = {int(r): float(costs_rc[r, c]) for r, c in zip(rows, cols, strict=True)}
        conflicts = [f"budget {prod.budget:,.0f}"] + [
            f"role {roles[r].id} costs {v:,.0f} in the cheapest team" for r, v in cheapest.items()
        ]
        raise InfeasibleError(
            f"no team fits the budget of {prod.budget:,.0f}: the cheapest team costs "
            f"{sum(cheapest.values()):,.0f} (one person per role, each person in one role)",
            conflicts=conflicts,
        )
    if status == cp_model.MODEL_INVALID:  # the objective's whole numbers past int64: time cannot help
        raise ConfigError(
            "the pool's weights are too large for the solver's whole numbers (fit in millionths over "
            f"{len(bonus)} pairs of shared work); use smaller weights (their ratios are what count)"
        )
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise ReelkitError(f"no team found within {first:g} s; give it more time")
    best_value = round(solver.objective_value)
    best = _fit_of(best_value, tie)
    picks = {r: c for (c, r), v in x.items() if solver.value(v)}
    # (candidate, role) -> the best team's fit without that pick and who took the role there (None: none)
    without: dict[tuple[int, int], tuple[float, int] | None] = {}
    while explain and (todo := [(c, r) for r, c in sorted(picks.items()) if (c, r) not in without]):
        left = (deadline - time.monotonic()) / len(todo)
        st2, s2, x2, _ = solve(todo[0], max(left, _EXPLAIN_FLOOR), picks)
        if st2 not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            without[todo[0]] = None
            continue
        other_value = round(s2.objective_value)
        other = _fit_of(other_value, tie)
        r = todo[0][1]
        without[todo[0]] = (other, next(cc for (cc, rr), v in x2.items() if rr == r and s2.value(v)))
        if other_value > best_value:
            # a team better than the one found (the first solve stopped unproven): it is reported and
            # explained; the re-solves of the picks it keeps still hold
            best_value, best = other_value, other
            picks = {rr: cc for (cc, rr), v in x2.items() if s2.value(v)}
    chosen_ids = set(picks.values())
    role_of = {c: r for r, c in picks.items()}
    choices: list[Choice] = []
    for r, c in sorted(picks.items()):
        skill, genre, cost, days = eligible[c, r]
        others = [o for o in chosen_ids if o != c]
        pairs = [(cands[o].id, _shared(cands[c], cands[o], w.cap)) for o in others]
        shared = sum(w.shared * s for _, s in pairs if s > 0) / 2
        alt = without.get((c, r))
        loss, nxt = (best - alt[0], alt[1]) if alt is not None else (None, None)
        moves = roles[role_of[nxt]].id if nxt is not None and nxt in role_of else None
        choices.append(
            Choice(
                role_id=roles[r].id,
                kind=roles[r].kind,
                candidate_id=cands[c].id,
                name=cands[c].label,
                fit=w.skill * skill + w.genre * genre + shared,
                skill=skill,
                genre=genre,
                shared=shared,
                shared_with=tuple(o for o, s in pairs if s > 0),
                cost=cost,
                days=days,
                loss_without=loss,
                next_best=cands[nxt].label if nxt is not None else None,
                next_best_from=moves,
            )
        )
    fit = sum(ch.fit for ch in choices)  # exact; the solver's objective sums rounded terms
    return Team(
        status=solver.status_name(status),
        fit=fit,
        bound=max(_fit_of(math.ceil(solver.best_objective_bound - 1e-6), tie), fit),
        cost=sum(ch.cost for ch in choices),
        budget=prod.budget,
        choices=tuple(choices),
    )


def _tie_for(total: int) -> int:
    """The objective's multiplier for a fit of ``total`` at most (its coefficients' sum): the largest power
    of two up to _TIE with ``tie * total`` under 2^60 (CP-SAT refuses a model whose objective could pass
    int64: weights of 1e6 over 100 candidates sharing work did at 1024), 1 (no tie-break) past that."""
    return 1 << max(0, min(_TIE.bit_length() - 1, (2**60 // max(total, 1)).bit_length() - 1))


def _fit_of(objective: int, tie: int) -> float:
    """The fit of a team from the solver's objective (fit x ``tie`` less a cost penalty under ``tie``)."""
    return -(-objective // tie) / _SCALE


def _hall_violation(
    n_roles: int, n_cands: int, pairs: list[tuple[int, int]]
) -> tuple[list[int], list[int]] | None:
    """When no assignment gives every role its own candidate: roles that together have fewer eligible
    candidates than roles (Hall's condition fails for them), and those candidates. ``pairs``: (c, r)."""
    import numpy as np
    import scipy.sparse as sp
    from scipy.sparse.csgraph import maximum_bipartite_matching

    if n_roles == 0:
        return None
    rows = np.array([r for _, r in pairs], dtype=np.int64)
    cols = np.array([c for c, _ in pairs], dtype=np.int64)
    graph = sp.csr_matrix((np.ones(len(pairs)), (rows, cols)), shape=(n_roles, max(n_cands, 1)))
    match = maximum_bipartite_matching(graph, perm_type="column")  # role -> candidate, -1 unmatched
    free = [r for r in range(n_roles) if match[r] < 0]
    if not free:
        return None
    owner = {int(c): r for r, c in enumerate(match) if c >= 0}
    # roles reachable from an unmatched role by alternating paths, and their candidates (all matched)
    roles_seen, cands_seen, stack = {free[0]}, set(), [free[0]]
    while stack:
        r = stack.pop()
        for c in graph.indices[graph.indptr[r] : graph.indptr[r + 1]]:
            if int(c) in cands_seen:
                continue
            cands_seen.add(int(c))
            nxt = owner.get(int(c))
            if nxt is not None and nxt not in roles_seen:
                roles_seen.add(nxt)
                stack.append(nxt)
    return sorted(roles_seen), sorted(cands_seen)


def brute_force_team(prod: Production, pool: Pool, schedule: Schedule) -> tuple[float, dict[str, str]] | None:
    """Exhaustive search over every assignment, with the fits unrounded (small pools only; the tests'
    oracle): the best team's fit and its candidate per role."""
    roles = list(prod.roles)
    w = pool.weights
    options: list[list[tuple[int, float, float]]] = []
    for role in roles:
        dates, days = role_dates(prod, role, schedule, post_days=pool.post_days)
        opts = []
        for c, cand in enumerate(pool.candidates):
            if cand.does(role.kind) and all(cand.is_available(d) for d in dates):
                travel = pool.per_diem if _away(cand, prod) else 0.0
                skill, genre = fit_parts(prod, role, cand, w)
                fit = w.skill * skill + w.genre * genre
                opts.append((c, fit, (cand.daily_rate + travel) * days))
        options.append(opts)
    best: tuple[float, dict[str, str]] | None = None
    for combo in itertools.product(*options):
        people = [c for c, _, _ in combo]
        if len(set(people)) < len(people):
            continue
        if prod.budget is not None and sum(k for _, _, k in combo) > prod.budget * (1 + 1e-12):
            continue
        score = sum(f for _, f, _ in combo) + sum(
            w.shared * _shared(pool.candidates[a], pool.candidates[b], w.cap)
            for a, b in itertools.combinations(people, 2)
        )
        if best is None or score > best[0]:
            best = (score, {roles[i].id: pool.candidates[c].id for i, (c, _, _) in enumerate(combo)})
    return best
