"""Pre-production routes: a stripboard page for an uploaded production file, and the plan as JSON.

``GET /produce/stripboard`` shows an upload form; ``POST /produce/stripboard`` (multipart ``file``) solves the
schedule and shows the stripboard, or the errors naming each invalid field, or why no schedule exists.
``POST /v1/produce/plan`` takes the production as JSON and answers the schedule (422 naming fields for an
invalid production; 409 with ``conflicts`` when no schedule exists); it needs the API token when reads are
protected, like every read endpoint. The pages are off when the web pages are (or reads are protected).
``time_limit`` is capped at ``MAX_TIME_LIMIT`` (a solve stopped by it unproven takes a quarter more, at
least 5 s, to complete the greedy schedule: 37.5 s at most) and at most ``MAX_CONCURRENT`` solves run at once.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from reelkit.errors import InfeasibleError, ReelkitError
from reelkit.produce.production import ProductionFormatError, parse_production, parse_production_text
from reelkit.service.deps import StateDep, app_semaphore, require_pages, require_read
from reelkit.service.schemas import ErrorBody

__all__ = ["MAX_CONCURRENT", "MAX_TIME_LIMIT", "ConflictBody", "PlanOut", "router"]

router = APIRouter()
#: The longest a request may make the solver run (seconds).
MAX_TIME_LIMIT = 30.0
_MAX_UPLOAD = 2 * 1024 * 1024
#: Solves running at once (each holds the solver's two workers for up to ``time_limit``).
MAX_CONCURRENT = 2


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlannedScene(_Out):
    scene_id: str
    name: str
    location: str
    int_ext: str
    day_night: str
    hours: float
    start: str = Field(description="HH:MM, local")
    end: str = Field(description="HH:MM, local (earlier than start past midnight)")
    cast: list[str]
    crew: list[str]
    start_at: str = Field(
        description="ISO 8601 local date-time, with the UTC offset when the production has a time zone"
    )
    end_at: str
    pages: float | None = Field(description="The scene's script pages (null when the production gives none)")


class PlannedDay(_Out):
    number: int
    date: str = Field(description="ISO 8601 date")
    scenes: list[PlannedScene]
    locations: list[str]
    hours: float
    setup_cost: float
    move_cost: float


class PlannedCall(_Out):
    person_id: str
    name: str
    kind: str = Field(description="cast or crew")
    work_days: list[str] = Field(description="ISO 8601 dates")
    hold_days: list[str] = Field(description="Paid days without work (cast only), ISO 8601 dates")
    cost: float
    first: str | None = Field(description="First working day (null when never called)")
    last: str | None


class PlanCosts(_Out):
    cast_pay: float
    holding: float = Field(description="The part of cast pay for days on hold")
    crew_pay: float
    days: float
    setup: float
    moves: float
    total: float


class PlanOut(_Out):
    """The shooting schedule (the ``schedule.json`` that ``reelkit schedule plan`` writes)."""

    production: str
    status: str = Field(description="OPTIMAL (proven) or FEASIBLE (the best found within the time limit)")
    objective: float
    bound: float = Field(description="The solver's lower bound on the objective")
    gap: float
    wall_s: float
    days: list[PlannedDay]
    people: list[PlannedCall]
    costs: PlanCosts
    n_moves: int
    timezone: str
    stats: dict[str, int]
    optimal: bool
    n_days: int


class ConflictBody(ErrorBody):
    conflicts: list[str] = Field(description="The constraints that together leave no schedule")


_PLAN_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": PlanOut, "description": "The schedule"},
    409: {"model": ConflictBody, "description": "No schedule meets every constraint: the conflicts named"},
    503: {"model": ErrorBody, "description": "No schedule found within the time limit: give a longer one"},
}


def _solve(data_or_text: Any, time_limit: float, source: str) -> tuple[Any, Any]:
    from reelkit.produce.shoot import SolveOptions, plan_shoot

    if isinstance(data_or_text, bytes | str):
        prod = parse_production_text(data_or_text, source=source)
    else:
        prod = parse_production(data_or_text, source=source, json=True)  # the API's JSON body
    return prod, plan_shoot(prod, SolveOptions(time_limit=time_limit))


def _page(request: Request, state: StateDep, status: int = 200, **ctx: Any) -> Response:
    context = {
        **state.header(request),
        "time_limit": 10,
        "max_time_limit": int(MAX_TIME_LIMIT),
        "error": None,
        "fields": [],
        "conflicts": [],
        "board": None,
        **ctx,
    }
    return state.templates.TemplateResponse(
        request, "stripboard.html", context, status_code=status, headers={"Cache-Control": "no-store"}
    )


@router.get("/produce/stripboard", response_class=HTMLResponse, include_in_schema=False)
@router.head("/produce/stripboard", response_class=HTMLResponse, include_in_schema=False)
def stripboard_form(request: Request, state: StateDep) -> Response:
    """The upload form."""
    require_pages(state)
    return _page(request, state)


@router.post("/produce/stripboard", response_class=HTMLResponse, include_in_schema=False)
async def stripboard_upload(
    request: Request,
    state: StateDep,
    file: Annotated[UploadFile, File(description="Production file (YAML or JSON).")],
    time_limit: Annotated[float, Form(gt=0, le=MAX_TIME_LIMIT)] = 10.0,
) -> Response:
    """Schedule the uploaded production and show its stripboard (or what is wrong with it)."""
    from reelkit.produce.outputs import stripboard_fragment

    require_pages(state)
    raw = await file.read(_MAX_UPLOAD + 1)
    name = file.filename or "upload"
    if len(raw) > _MAX_UPLOAD:
        return _page(
            request, state, 413, error=f"{name}: larger than {_MAX_UPLOAD // 1024} KiB", time_limit=time_limit
        )
    try:
        async with app_semaphore(state, "produce_semaphore", MAX_CONCURRENT):
            prod, schedule = await run_in_threadpool(_solve, raw, time_limit, name)
    except ProductionFormatError as exc:
        return _page(request, state, 422, error=str(exc), fields=exc.fields, time_limit=time_limit)
    except InfeasibleError as exc:
        return _page(
            request,
            state,
            409,
            error=str(exc),  # its own words: each scene with no open day and why, or to allow more time
            conflicts=exc.conflicts,
            time_limit=time_limit,
        )
    except ReelkitError as exc:
        return _page(request, state, 400, error=str(exc), time_limit=time_limit)
    board = stripboard_fragment(schedule, prod)
    return _page(request, state, board=board, time_limit=time_limit)


@router.post(
    "/v1/produce/plan", tags=["produce"], dependencies=[Depends(require_read)], responses=_PLAN_RESPONSES
)
async def plan(
    state: StateDep,
    production: Annotated[dict[str, Any], Body(description="The production file's content as JSON.")],
    time_limit: Annotated[float, Query(gt=0, le=MAX_TIME_LIMIT)] = 10.0,
) -> Response:
    """The optimal (or best found) shooting schedule of a production (solved in the thread pool, at most
    ``MAX_CONCURRENT`` at a time)."""
    try:
        async with app_semaphore(state, "produce_semaphore", MAX_CONCURRENT):
            _, schedule = await run_in_threadpool(_solve, production, time_limit, "production")
    except ProductionFormatError as exc:
        return JSONResponse(
            {
                "error": "invalid_request",
                "message": str(exc),
                "fields": [{"field": f, "message": m} for f, m in exc.fields],
            },
            status_code=422,
        )
    except InfeasibleError as exc:
        return JSONResponse(
            {"error": "conflict", "message": str(exc), "fields": [], "conflicts": exc.conflicts},
            status_code=409,
        )
    except ReelkitError as exc:  # no schedule within the time limit
        return JSONResponse({"error": "unavailable", "message": str(exc), "fields": []}, status_code=503)
    return JSONResponse(schedule.to_dict())
