"""``reelkit schedule plan | generate``, ``reelkit crew match`` and ``reelkit forecast``."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from reelkit.cli.common import JsonOpt, console, emit_json, err_console, print_table, progress_for
from reelkit.errors import ConfigError, DataFormatError

TimeLimitOpt = Annotated[
    float,
    typer.Option(
        "--time-limit",
        min=0.1,
        help="Solver time limit in seconds. When the search stops at it unproven, completing the greedy "
        "schedule (compared with the search's best) takes a quarter of it more, at least 5 s.",
    ),
]

CrewTimeLimitOpt = Annotated[
    float,
    typer.Option(
        "--time-limit",
        min=0.1,
        help="Seconds for the whole match: without --schedule, the schedule's solve takes up to a third of "
        "it (and its greedy completion, as in 'schedule plan', when stopped unproven); the team's solve two "
        "thirds of what is left, and the re-solves explaining each pick share the rest, each at least 0.5 s.",
    ),
]

crew_group = typer.Typer(help="Crew and cast matching for a production.", no_args_is_help=True)


def plan_cmd(
    production: Annotated[Path, typer.Argument(help="Production file (YAML or JSON).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the schedule, stripboard, calendars.")],
    time_limit: TimeLimitOpt = 30.0,
    seed: Annotated[int, typer.Option(min=0, max=2**31 - 1, help="Solver seed.")] = 0,
    workers: Annotated[int, typer.Option(min=1, max=2, help="Solver threads (1 or 2).")] = 2,
    json_out: JsonOpt = False,
) -> None:
    """Schedule a production (CP-SAT): schedule.json/csv, stripboard.html and calendars/<person>.ics.

    Re-planned into the folder of an earlier plan of the same production, each calendar also carries the
    days the new plan drops, as cancelled events (someone no longer called keeps a calendar of cancellations).
    """
    from reelkit.produce.outputs import check_plan_folder, write_plan
    from reelkit.produce.production import load_production
    from reelkit.produce.shoot import SolveOptions, plan_shoot

    check_plan_folder(out, production)  # before solving
    prod = load_production(production)
    with progress_for(not json_out) as progress, progress.task("solving"):
        schedule = plan_shoot(prod, SolveOptions(time_limit=time_limit, num_workers=workers, seed=seed))
    files = write_plan(schedule, prod, out)
    if json_out:
        data = schedule.to_dict()
        data["files"] = {
            "schedule_json": str(files.schedule_json),
            "schedule_csv": str(files.schedule_csv),
            "stripboard": str(files.stripboard),
            "calendars": {k: str(v) for k, v in files.calendars.items()},
            "cancelled": {str(k): v for k, v in files.cancelled.items()},
        }
        emit_json(data)
        return
    print_table(
        f"{schedule.production}: {schedule.n_days} days, cost {schedule.costs.total:,.0f} "
        f"({schedule.status}, gap {schedule.gap:.1%})",
        ["day", "date", "scenes", "locations", "hours"],
        [
            (
                d.number,
                d.date.isoformat(),
                " ".join(s.scene_id for s in d.scenes),
                " > ".join(d.locations),
                d.hours,
            )
            for d in schedule.days
        ],
    )
    console.print(
        f"wrote {files.schedule_json.parent}/ (schedule.json, schedule.csv, stripboard.html, calendars/)"
    )
    if files.cancelled:
        console.print(
            f"{sum(files.cancelled.values())} day(s) of earlier plans there sent as cancelled, in "
            f"{', '.join(p.name for p in files.cancelled)}"
        )


def generate_cmd(
    scenes: Annotated[int, typer.Option("--scenes", min=2, max=400, help="Number of scenes.")] = 40,
    seed: Annotated[int, typer.Option(min=0, help="Random seed.")] = 0,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="Production file to write (.yaml or .json). Default: production.yaml, which is not replaced "
            "unless named.",
        ),
    ] = None,
    pool: Annotated[
        Path | None,
        typer.Option(
            "--pool",
            help="Also give the production roles to fill and write a seeded candidate pool here, for "
            "'reelkit crew match'.",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Generate a realistic, feasible production (seeded)."""
    from reelkit._files import check_creatable, check_output_file, resolve_path
    from reelkit.produce.generator import generate_pool, generate_production
    from reelkit.produce.production import dump_production, dump_structured

    if out is None:
        out = Path("production.yaml")
        if out.exists():  # a default name: a file of the user's own may hold it
            raise ConfigError(f"{out} exists; give -o {out} to replace it, or another name (-o FILE.yaml)")
    check_creatable(out, ConfigError, "production.yaml")  # both outputs checked before either is written
    for option, path in (("-o", out), ("--pool", pool)):  # YAML went into p.csv without a word
        if path is not None and path.suffix.lower() not in (".yaml", ".yml", ".json"):
            raise ConfigError(f"{option} {path}: the file is written as YAML or JSON; name it .yaml or .json")
    prod = generate_production(scenes, seed)
    pool_path = None
    if pool is not None:
        if resolve_path(pool) == resolve_path(out):
            raise ConfigError(f"--pool {pool} is the production file too (-o); give the pool its own file")
        check_output_file(pool, ConfigError, "pool.yaml")
        prod, candidates = generate_pool(prod, seed)
        pool_path = dump_structured(candidates.model_dump(mode="json", exclude_defaults=True), pool)
    path = dump_production(prod, out)
    summary = {
        "path": str(path),
        "name": prod.name,
        "scenes": len(prod.scenes),
        "people": len(prod.people),
        "locations": len(prod.locations),
        "max_days": prod.calendar.max_days,
        **({"roles": len(prod.roles), "pool": str(pool_path)} if pool_path is not None else {}),
    }
    if json_out:
        emit_json(summary)
    else:
        console.print(
            f"wrote {path}: {summary['scenes']} scenes, {summary['people']} people, "
            f"{summary['locations']} locations"
            + (f", {len(prod.roles)} roles; candidates in {pool_path}" if pool_path is not None else "")
        )


def crew_match_cmd(
    production: Annotated[Path, typer.Argument(help="Production file with roles (YAML or JSON).")],
    pool: Annotated[Path, typer.Option("--pool", help="Candidate pool file (YAML or JSON).")],
    schedule: Annotated[
        Path | None,
        typer.Option("--schedule", help="schedule.json from 'reelkit schedule plan' (default: solve one)."),
    ] = None,
    time_limit: CrewTimeLimitOpt = 20.0,
    json_out: JsonOpt = False,
) -> None:
    """Choose a team covering every role within availability and budget, maximising fit; explain each pick.

    The production file is a whole production, as 'schedule plan' reads (the team must be free, and is
    paid, for the days its scenes are shot), with the 'roles' to fill and optionally a 'budget'; the pool
    lists the candidates. E.g.

    \b
      # prod.yaml
      calendar: {start: 2026-03-02}
      people: [{id: HERO}]
      locations: [{id: dock}]
      scenes:
        - {id: s1, duration: 4, location: dock, cast: [HERO]}
      roles:
        - {id: dir, kind: director, skills: {drama: 2, action: 1}}
        - {id: lead, kind: lead, character: HERO, skills: {drama: 1}}
      budget: 250000
      # pool.yaml
      candidates:
        - {id: ann, roles: [director], skills: {drama: 0.9}, daily_rate: 2000, credits: [film1]}
        - {id: bo, roles: [actor], skills: {drama: 0.7}, daily_rate: 900, home_city: Porto}

    'reelkit schedule generate --pool pool.yaml' writes such a pair to start from.
    """
    from reelkit.produce.crew import load_pool, match_team
    from reelkit.produce.production import load_production
    from reelkit.produce.shoot import SolveOptions, load_schedule, plan_shoot

    prod = load_production(production)
    if not prod.roles:  # before the schedule is solved, not after
        raise ConfigError(
            f"{production}: the production has no roles to fill; add a 'roles' list (see 'reelkit crew "
            "match --help')"
        )
    candidates = load_pool(pool)
    deadline = time.monotonic() + time_limit  # the limit is the command's, not each solve's
    with progress_for(not json_out) as progress, progress.task("matching"):
        if schedule is not None:
            sched = load_schedule(schedule, prod)
        else:
            sched = plan_shoot(prod, SolveOptions(time_limit=time_limit / 3))
        left = max(deadline - time.monotonic(), min(time_limit, 1.0))
        team = match_team(prod, candidates, sched, time_limit=left)
    if json_out:
        emit_json(team.to_dict())
        return
    print_table(
        f"team: fit {team.fit:.3f}, cost {team.cost:,.0f} of {team.budget:,.0f} ({team.status})"
        if team.budget is not None
        else f"team: fit {team.fit:.3f}, cost {team.cost:,.0f} ({team.status})",
        ["role", "candidate", "fit", "skill", "genre", "shared work", "cost", "loss without", "next best"],
        [
            (
                c.role_id,
                c.name,
                c.fit,
                c.skill,
                c.genre,
                c.shared,
                f"{c.cost:,.0f}" if c.cost == round(c.cost) else f"{c.cost:,.2f}",  # money, never 3e+04
                "-" if c.loss_without is None else c.loss_without,
                "-"
                if c.next_best is None
                else c.next_best + (f" (from {c.next_best_from})" if c.next_best_from else ""),
            )
            for c in team.choices
        ],
    )
    console.print(
        "loss without: the team's fit lost without that pick; next best: who takes the role then (from R: "
        "they leave role R of this team for it, a swap)"
    )


def _communities_error(
    exc: ConfigError, source: Path | str | None, option: str, communities: int
) -> ConfigError | None:
    """The communities' errors in forecast's terms, naming the ratings file, the ``option`` that gave it
    and --communities (which takes 2 or more: the model's 'ask for at most 1' was advice it refuses); None
    for another error."""
    msg = str(exc)
    alone = f"or leave {option} out for the audience alone"
    few = re.match(r"asked for \d+ communities but the data has only (\d+) members", msg)
    if few is not None and int(few.group(1)) >= 2:
        members = int(few.group(1))
        return ConfigError(
            f"{source}: --communities {communities} asks for more taste communities than the file's "
            f"{members} members; give --communities {members} or fewer, ratings of more members ({option}), "
            f"{alone}"
        )
    if few is not None or msg.startswith("too little data for taste communities"):
        return ConfigError(
            f"{source}: too little data for taste communities (--communities {communities}): they need "
            f"ratings of at least 2 members and 2 titles; give a larger ratings file ({option}), {alone}"
        )
    return None


def forecast_cmd(
    concept: Annotated[Path, typer.Option("--concept", help="Concept file (YAML or JSON).")],
    ratings: Annotated[
        Path | None,
        typer.Option(
            "--ratings",
            help="A MovieLens ratings file (movies.csv beside it) or folder, for the taste communities "
            "(default: the concept's 'catalog', if any).",
        ),
    ] = None,
    communities: Annotated[int, typer.Option(min=2, max=64, help="Number of taste communities.")] = 8,
    json_out: JsonOpt = False,
) -> None:
    """Forecast a new title's audience (IMDb-vote scale) and the taste communities that would watch it.

    The scale is ggplot2movies' IMDb vote counts (films up to 2005, as counted then; the median film has 30
    votes), not today's IMDb counts; budgets are nominal US dollars of the release year. Named comparables
    raise a well-funded concept's forecast only a little. The concept file, e.g.

    \b
      title: Night Harbour
      genres: [Action, Thriller]
      runtime: 118            # minutes (required)
      budget: 40000000        # US dollars of its year (optional: unknown, the median of its genres' films)
      rating: R               # MPAA or unrated (optional: unknown, its genres' commonest)
      comparables: [Heat (1995), Ronin]
      year: 2026              # places the title among the catalogue's (communities)
      catalog: ratings.csv    # instead of --ratings (relative to the concept file)
    """
    from reelkit.produce.forecast import forecast_concept, load_concept

    c = load_concept(concept)
    try:
        with progress_for(not json_out) as progress:
            result = forecast_concept(c, ratings=ratings, n_communities=communities, progress=progress)
    except ConfigError as exc:
        source, option = (ratings, "--ratings") if ratings is not None else (c.catalog, "'catalog:'")
        better = _communities_error(exc, source, option, communities)
        if better is None:
            raise
        raise better from exc
    except DataFormatError as exc:
        if "--columns" not in exc.message:
            raise
        # the loaders' advice names --columns, which forecast has not: it reads MovieLens layouts only
        raise DataFormatError(
            f"{exc.message.split('; ')[0]}; forecast reads a MovieLens ratings file (ratings.csv with "
            "movies.csv beside it, or u.data) or its folder: give --ratings (or 'catalog:') one of those",
            path=exc.path,
            line=exc.line,
        ) from exc
    data: dict[str, Any] = result.to_dict()
    if json_out:
        emit_json(data)
        return
    console.print(  # the title in bold as text, not markup: the consoles read none
        Text.assemble(
            (c.title, "bold"),
            f": about {result.audience:,.0f} votes "
            f"(80% interval {result.audience_low:,.0f}–{result.audience_high:,.0f})",
        )
    )
    for line in result.assumed:
        err_console.print(f"note: {line}", highlight=False, markup=False)
    if result.communities:
        print_table(
            "taste communities most likely to watch",
            ["community", "share", "lift"],
            [(x.name, x.share, x.lift) for x in result.communities],
        )
    elif ratings is None and c.catalog is None:
        err_console.print(
            "note: no taste communities: give a MovieLens ratings file with --ratings (or 'catalog:' in the "
            "concept)",
            highlight=False,
            markup=False,
        )


def add_commands(group: typer.Typer, app: typer.Typer) -> None:
    """``schedule plan|generate``, the ``crew`` group and the ``forecast`` command."""
    group.command("plan")(plan_cmd)
    group.command("generate")(generate_cmd)
    crew_group.command("match")(crew_match_cmd)
    app.add_typer(crew_group, name="crew")
    app.command("forecast")(forecast_cmd)
