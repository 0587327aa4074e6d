"""The web pages: choose a profile and see their home page; title pages with a play button; communities;
latest events. Server-rendered (Jinja2) with a little plain JavaScript (``static/app.js``).

The pages act for the profile chosen on ``/`` (a signed cookie, like a "who's watching?" screen). The play
button posts to ``/ui/play``, which records a play event for that profile; it needs the cookie and the
``X-Reelkit-UI`` header (which a cross-site form cannot send), not the API token, and the server must
allow it (setting ``web_ui_writes``, off by default; ``reelkit serve --demo`` turns it on).
"""

from __future__ import annotations

import time
import uuid
import zlib
from collections.abc import Sequence
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from reelkit.recommend.home import resume_points
from reelkit.service.deps import PROFILE_COOKIE, ServiceState, StateDep, write_arrival
from reelkit.service.models import format_time
from reelkit.service.routers.members import MemberPath
from reelkit.service.routers.titles import TitlePath
from reelkit.service.store import EventRecord

__all__ = ["COOKIE", "poster_style", "router", "template_globals"]

router = APIRouter(include_in_schema=False)
COOKIE = PROFILE_COOKIE
_NO_STORE = {"Cache-Control": "no-store"}


def poster_style(genres: Sequence[str], title_id: str) -> str:
    """A CSS background for a generated poster: a gradient of the title's genre colours."""
    hues = [zlib.crc32(g.encode()) % 360 for g in genres] or [zlib.crc32(title_id.encode()) % 360]
    h1 = hues[0]
    h2 = hues[1] if len(hues) > 1 else (h1 + 50) % 360
    tilt = 120 + zlib.crc32(title_id.encode()) % 90
    return (
        # dark enough everywhere for the light title text (WCAG AA, 4.5:1, at every hue)
        f"background: linear-gradient({tilt}deg, hsl({h1} 62% 25%) 0%, hsl({h2} 58% 18%) 70%, "
        f"hsl({h2} 50% 10%) 100%);"
    )


def genre_colour(genre: str) -> str:
    """A colour per genre (or member) for chips and avatars, dark enough for white text at every hue
    (5:1 or more, WCAG AA)."""
    return f"hsl({zlib.crc32(genre.encode()) % 360} 60% 28%)"


def path_segment(value: str) -> str:
    return quote(value, safe="")


def template_globals() -> dict[str, Any]:
    """Helpers the templates (and their macros) use."""
    return {
        "poster_style": poster_style,
        "genre_colour": genre_colour,
        "seg": path_segment,
        "fmt_time": format_time,
    }


def _render(
    request: Request, state: ServiceState, name: str, context: dict[str, Any], status: int = 200
) -> Response:
    ctx = {**state.header(request), **context}
    return state.templates.TemplateResponse(request, name, ctx, status_code=status, headers=_NO_STORE)


# HEAD on every page too (RFC 9110: wherever GET is), as link checkers and uptime monitors ask with it;
# one route per method, as /health
@router.get("/", response_class=HTMLResponse)
@router.head("/", response_class=HTMLResponse)
def index(
    request: Request,
    state: StateDep,
    member: Annotated[str | None, Query(max_length=128)] = None,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> Response:
    """Profiles, and the chosen profile's home page."""
    error = None
    chosen = member or state.member_from_cookie(request.cookies.get(COOKIE))
    record = state.store.get_member(chosen) if chosen else None
    if member and record is None:
        error = f"There is no member {member!r}."
    page = None
    bundle = state.models.current
    if record is not None and bundle is not None:
        page, _ = bundle.home_page(state.store, record.member_id)
    response = _render(
        request,
        state,
        "index.html",
        {
            "members": state.store.list_members(48, offset),
            "n_members": state.store.count_members(),
            "offset": offset,
            "member": record,
            "page": page,
            "error": error,
            "typed": member if error else None,  # an unknown id typed: shown again to correct
            "no_model": bundle is None,
            **({"profile": record} if record is not None else {}),
        },
        status=404 if error else 200,
    )
    if member and record is not None:
        response.set_cookie(COOKIE, state.sign_member(record.member_id), httponly=True, samesite="strict")
    return response


@router.get("/titles/{title_id:path}", response_class=HTMLResponse)
@router.head("/titles/{title_id:path}", response_class=HTMLResponse)
def title_page(request: Request, title_id: TitlePath, state: StateDep) -> Response:
    t = state.store.get_title(title_id)
    if t is None:
        return _render(
            request, state, "error.html", {"message": f"There is no title {title_id!r}."}, status=404
        )
    bundle = state.models.current
    similar = (
        bundle.home.similar(title_id, 12) if bundle is not None and bundle.home.has_title(title_id) else ()
    )
    loved = bundle.home.title_communities(title_id) if bundle is not None else ()
    member_id = state.member_from_cookie(request.cookies.get(COOKIE))
    progress = None
    if member_id:
        # as Continue Watching resumes it: a preview after a real start does not reset it to 0%
        history = state.store.member_history(member_id)
        # the served version's home settings (those it was trained with), as its Continue Watching row
        home = bundle.home.config if bundle is not None else state.settings.home
        latest = resume_points(history, home, known_fraction=True).get(title_id)
        progress = latest.fraction if latest is not None else None
    genres = [g for g in t.genres.split("|") if g]
    return _render(
        request,
        state,
        "title.html",
        {
            "title": t,
            "genres": genres,
            "similar": similar,
            "loved": loved,
            "progress": progress,
            "plays_allowed": state.settings.ui_writes_allowed,
        },
    )


@router.get("/members/{member_id:path}", response_class=HTMLResponse)
def member_page(member_id: MemberPath) -> Response:
    return RedirectResponse(f"/?member={quote(member_id, safe='')}", status_code=303)


@router.get("/communities", response_class=HTMLResponse)
@router.head("/communities", response_class=HTMLResponse)
def communities_page(request: Request, state: StateDep) -> Response:
    bundle = state.models.current
    comms = bundle.home.community_profiles if bundle is not None else []

    def names(items: Sequence[tuple[str, Any]], n: int) -> list[dict[str, Any]]:
        assert bundle is not None
        return [
            {"title_id": t, "name": bundle.home.name_of(t), "genres": bundle.home.genres_of(t), "score": s}
            for t, s in items[:n]
        ]

    rows = [
        {"c": c, "distinctive": names(c.distinctive, 8), "favourites": names(c.favourites, 5)} for c in comms
    ]
    return _render(request, state, "communities.html", {"communities": rows})


@router.get("/events", response_class=HTMLResponse)
@router.head("/events", response_class=HTMLResponse)
def events_page(
    request: Request,
    state: StateDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    # bounded as the API's: past SQLite's 64-bit integers the store's query raised (a 500)
    before: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="Only events stored before this seq")
    ] = None,
) -> Response:
    events = state.store.latest_events(limit, before_seq=before)
    names: dict[str, str] = {}
    for e in events:
        if e.title_id not in names:
            rec = state.store.get_title(e.title_id)
            names[e.title_id] = rec.name if rec is not None else e.title_id
    return _render(
        request,
        state,
        "events.html",
        {
            "events": events,
            "names": names,
            "total": state.store.count_events(),
            # the next page: the events stored before the oldest one shown (none when it is the first)
            "older": events[-1].seq if len(events) == limit and events[-1].seq > 1 else None,
            "limit": limit,
            "before": before,
        },
    )


class PlayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")  # 'fracton' was dropped and the play stored at 0.35

    title_id: str = Field(min_length=1, max_length=128)
    fraction: float = Field(0.35, ge=0.0, le=1.0, allow_inf_nan=False)


class PlayOut(BaseModel):
    member_id: str
    title_id: str
    fraction: float
    stored: int
    #: Whether the member's home page now shows the title in Continue Watching (not one they turned down
    #: or rated low, nor one watched to the end; never without a model, as there are no rows then).
    continue_watching: bool


# a write: its wait for another writer counts from its arrival, as the API's writes
@router.post("/ui/play", response_model=PlayOut, dependencies=[Depends(write_arrival)])
def ui_play(
    body: PlayIn,
    request: Request,
    state: StateDep,
    x_reelkit_ui: Annotated[str | None, Header()] = None,
) -> PlayOut:
    """Record a (partial) play of a title by the profile chosen on the home page."""
    if not state.settings.ui_writes_allowed:
        raise HTTPException(
            status_code=403,
            detail="plays from the web page are turned off on this server (they need no credential); set "
            "web_ui_writes in service.json to allow them, or run 'reelkit serve --demo'",
        )
    if x_reelkit_ui != "1":
        raise HTTPException(status_code=403, detail="plays from the web page need the X-Reelkit-UI: 1 header")
    member_id = state.member_from_cookie(request.cookies.get(COOKIE))
    if member_id is None or state.store.get_member(member_id) is None:
        raise HTTPException(status_code=401, detail="choose a profile on the home page first")
    title = state.store.get_title(body.title_id)
    if title is None:
        raise HTTPException(status_code=404, detail=f"unknown title id {body.title_id!r}")
    duration = title.duration or state.settings.default_duration_seconds
    now = int(time.time())
    event = EventRecord(
        event_id=f"ui-{uuid.uuid4().hex}",
        member_id=member_id,
        title_id=title.title_id,
        kind="play",
        timestamp=now,
        value=round(body.fraction * duration, 1),
        fraction=body.fraction,
    )
    result = state.store.append_events([event], received_at=now)
    state.metrics.count_events(result.stored, result.duplicates)
    # the page's own rows say whether it is there to resume (the rule is the home page's; the page built
    # here is cached for the visit home that follows)
    bundle = state.models.current
    resumable = False
    if bundle is not None:
        page, _ = bundle.home_page(state.store, member_id)
        resumable = any(
            row.kind == "continue-watching" and any(t.title_id == title.title_id for t in row.titles)
            for row in page.rows
        )
    return PlayOut(
        member_id=member_id,
        title_id=title.title_id,
        fraction=body.fraction,
        stored=result.stored,
        continue_watching=resumable,
    )
