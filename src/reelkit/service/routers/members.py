"""``/v1/members``: list, create (cold start), home page, recommendations."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Sequence
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from reelkit.errors import UnknownIdError
from reelkit.service.deps import BundleDep, StateDep, require_read, require_store_write
from reelkit.service.errors import MemberExistsError
from reelkit.service.schemas import (
    RESERVED_EVENT_PREFIX,
    ErrorBody,
    HomeOut,
    MemberCreated,
    MemberList,
    MemberOut,
    NewMember,
    RecommendationsOut,
    cards,
    home_json,
    home_out,
)
from reelkit.service.store import EventRecord, MemberRecord

__all__ = ["MemberPath", "router"]

router = APIRouter(prefix="/v1/members", tags=["members"])
MemberPath = Annotated[str, Path(min_length=1, max_length=128, description="A member id.")]
_ERRORS: dict[int | str, dict[str, object]] = {404: {"model": ErrorBody}, 422: {"model": ErrorBody}}


def _require_member(state: StateDep, member_id: str) -> MemberRecord:
    member = state.store.get_member(member_id)
    if member is None:
        raise UnknownIdError(f"unknown member id {member_id!r}")
    return member


@router.get("", response_model=MemberList, dependencies=[Depends(require_read)])
def list_members(
    state: StateDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31)] = 0,
) -> MemberList:
    """Member ids and names, in the order they joined."""
    rows = state.store.list_members(limit, offset)
    return MemberList(
        members=[MemberOut(member_id=m.member_id, name=m.name) for m in rows],
        total=state.store.count_members(),
        limit=limit,
        offset=offset,
    )


@router.get("/", include_in_schema=False)
def list_members_slash(request: Request) -> RedirectResponse:
    # the id routes take any path (ids may hold "/"): an empty id would be a 422, not the list
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(f"/v1/members{query}", status_code=307)


@router.get(
    "/{member_id:path}/home",
    response_class=Response,
    responses={200: {"model": HomeOut, "description": "The home page rows"}, **_ERRORS},
    dependencies=[Depends(require_read)],
)
async def get_home(member_id: MemberPath, state: StateDep, bundle: BundleDep) -> Response:
    """The member's personal home page: ordered rows, each title with its reason.

    Built from the member's full stored history (fold-in), so fresh events show without retraining; the
    Trending and community rows count every member's events within ``popularity_refresh_s`` +
    ``model_poll_seconds`` (``popularity_computed_at``: when they were last up to date).
    """
    # the cached path (two indexed lookups) runs on the event loop; building a page goes to the thread pool
    _require_member(state, member_id)
    seq = state.store.member_last_seq(member_id)
    body = bundle.cached_json(member_id, seq)
    if body is None:
        _, body = await run_in_threadpool(
            lambda: bundle.home_page(
                state.store,
                member_id,
                last_seq=seq,
                render=lambda page: home_json(page, bundle.version, bundle.popularity_computed_at),
            )
        )
    return Response(content=body, media_type="application/json")


@router.get(
    "/{member_id:path}/recommendations",
    response_model=RecommendationsOut,
    responses=_ERRORS,
    dependencies=[Depends(require_read)],
)
def get_recommendations(
    member_id: MemberPath,
    state: StateDep,
    bundle: BundleDep,
    n: Annotated[int, Query(ge=1, le=100)] = 10,
) -> RecommendationsOut:
    """The personal model's top-``n`` titles for the member (unseen ones), with reasons."""
    _require_member(state, member_id)
    history = state.store.member_history(member_id)
    titles = bundle.home.top_picks(history, n)
    return RecommendationsOut(member_id=member_id, model_version=bundle.version, titles=cards(titles))


@router.get(
    "/{member_id:path}", response_model=MemberOut, responses=_ERRORS, dependencies=[Depends(require_read)]
)
def get_member(member_id: MemberPath, state: StateDep) -> MemberOut:
    # after the /home and /recommendations routes: an id may hold "/" (imported ids), matched greedily
    member = _require_member(state, member_id)
    return MemberOut(member_id=member.member_id, name=member.name)


_CREATED_AGAIN = (
    "The member already existed, created through the API with this member_id, name and liked titles (a "
    "create repeated, as a client retrying after a lost response does): the member as created, nothing "
    "stored again"
)


@router.post(
    "",
    status_code=201,
    response_model=MemberCreated,
    responses={
        200: {"model": MemberCreated, "description": _CREATED_AGAIN},
        201: {
            "description": "The member was created",
            "headers": {"Location": {"description": "The member's address", "schema": {"type": "string"}}},
        },
        401: {"model": ErrorBody},
        404: {"model": ErrorBody},
        409: {"model": ErrorBody, "description": "The member_id is taken by another name or liked titles"},
    },
    dependencies=[Depends(require_store_write)],
)
def create_member(body: NewMember, state: StateDep, response: Response) -> MemberCreated:
    """Add a member; their liked titles are recorded as thumbs up and shape the cold-start home page.

    201 with ``Location: /v1/members/{member_id}``. To retry safely (a response lost), choose the
    ``member_id``: the same body sent again answers 200 with the member, storing nothing again (another
    name or other liked titles under that id: 409). Without one the server chooses an id, and a retry
    makes a second member."""
    member_id = body.member_id or f"u-{secrets.token_hex(6)}"
    now = int(time.time())
    # one event per title as sent, a repeated title under its first position's id: the store keeps one
    # (the repeat is a duplicate) and names an unknown title by its position in the list sent
    first: dict[str, int] = {}
    events = [
        EventRecord(
            event_id=f"{RESERVED_EVENT_PREFIX}{member_id}:{first.setdefault(t, i)}",
            member_id=member_id,
            title_id=t,
            kind="thumb",
            timestamp=now,
            value=1.0,
        )
        for i, t in enumerate(body.liked_titles)
    ]
    signature = _signature(body.name, body.liked_titles)
    try:
        result = state.store.create_member(
            MemberRecord(member_id=member_id, name=body.name, created_at=now), events, signature=signature
        )
    except MemberExistsError:
        if not _created_alike(state, member_id, body.name, signature, events):
            raise MemberExistsError(
                f"member {member_id!r} already exists with another name or other liked titles, or was not "
                "created through the API (imported); choose another id (a create repeated with the same "
                "body returns the member)"
            ) from None
        response.status_code = 200
    else:
        state.metrics.count_events(result.stored, 0)
        response.headers["Location"] = f"{router.prefix}/{quote(member_id, safe='')}"
    bundle = state.models.current
    home = None
    if bundle is not None:
        page, _ = bundle.home_page(state.store, member_id)
        home = home_out(page, bundle.version, bundle.popularity_computed_at)
    return MemberCreated(member=MemberOut(member_id=member_id, name=body.name), home=home)


def _signature(name: str, liked_titles: Sequence[str]) -> str:
    """The digest of a create's body (its name and liked titles as sent), kept with the member it made."""
    return hashlib.sha256(json.dumps([name, list(liked_titles)]).encode()).hexdigest()


def _created_alike(
    state: StateDep, member_id: str, name: str, signature: str, events: Sequence[EventRecord]
) -> bool:
    """Whether the stored member ``member_id`` is the one this create makes: created through the API with
    the same body (its signature; a member imported has none), and still under that name. A member created
    before signatures were kept (an earlier version) is compared by its sign-up events, which such a create
    stored as these ``events`` are (a retry after an upgrade was a 409 telling the client to pick another id).
    """
    member = state.store.get_member(member_id)
    if member is None or member.name != name:
        return False
    stored = state.store.created_signature(member_id)
    if stored is not None:
        return stored == signature
    signed = state.store.events_with_prefix(member_id, f"{RESERVED_EVENT_PREFIX}{member_id}:")
    wanted = list(dict.fromkeys((e.event_id, e.title_id) for e in events))
    return bool(signed) and signed == wanted
