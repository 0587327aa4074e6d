"""``/v1/events``: ingest a batch of events (idempotent, all or nothing); list the latest."""

from __future__ import annotations

import math
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field

from reelkit.service.deps import StateDep, require_read, require_store_write
from reelkit.service.models import stored_scale
from reelkit.service.schemas import (
    ErrorBody,
    EventBatch,
    EventBatchResult,
    PlayEvent,
    RatingEvent,
    ThumbEvent,
)
from reelkit.service.store import EventRecord

__all__ = ["router", "to_record"]

router = APIRouter(prefix="/v1/events", tags=["events"])


async def batch_limit(request: Request, state: StateDep) -> None:
    """413 for a batch over ``max_batch_events``, before its events are validated one by one."""
    try:
        data = await request.json()
    except Exception:  # invalid JSON: the body validation reports it (422)
        return
    limit = state.settings.max_batch_events
    if isinstance(data, dict) and isinstance(data.get("events"), list) and len(data["events"]) > limit:
        raise HTTPException(
            status_code=413,
            detail=f"batch of {len(data['events'])} events is too large: at most {limit} per request",
        )


MAX_CLOCK_SKEW_S = 300
"""How far ahead of the server's clock an event's timestamp may be (a client clock running fast)."""


def to_record(event: PlayEvent | RatingEvent | ThumbEvent, now: int) -> EventRecord:
    """A validated API event as a store record (a play's value is the position it reached, seconds)."""
    # a client clock a little fast (accepted, up to MAX_CLOCK_SKEW_S) is stored as now: a later event sent
    # without a timestamp must not sort before it (the member's newest play would not show)
    ts = min(event.timestamp, now) if event.timestamp is not None else now
    if isinstance(event, PlayEvent):
        fraction = min(1.0, event.position / event.duration)
        return EventRecord(
            event.event_id, event.member_id, event.title_id, "play", ts, event.position, fraction
        )
    if isinstance(event, RatingEvent):
        return EventRecord(event.event_id, event.member_id, event.title_id, "rating", ts, float(event.value))
    return EventRecord(event.event_id, event.member_id, event.title_id, "thumb", ts, float(event.value))


@router.post(
    "",
    response_model=EventBatchResult,
    responses={
        401: {"model": ErrorBody},
        404: {"model": ErrorBody, "description": "An event names an unknown member or title"},
        409: {"model": ErrorBody, "description": "An event id was already used with other content"},
        413: {"model": ErrorBody},
        422: {"model": ErrorBody},
    },
    dependencies=[Depends(require_store_write), Depends(batch_limit)],
)
def post_events(batch: EventBatch, state: StateDep) -> EventBatchResult:
    """Store a batch of events: all of them or none; repeated event ids are acknowledged, not stored twice.

    The response comes after the batch is durably stored. The members' next home pages reflect it.
    """
    now = int(time.time())
    bundle = state.models.current
    # the trained model's scale, widened to the usual scale that holds the ratings stored (imported) so far
    # (a model trained on 3-5 stars only must not refuse a 2 forever: refused ratings never widen it); one
    # stray 10 must not stretch a 5-star catalog's scale for everyone. The stored range is a scan of the
    # events: read only for a rating outside the model's scale, once per model version.
    lo, hi = bundle.rating_scale if bundle is not None else (math.inf, -math.inf)
    values = [e.value for e in batch.events if isinstance(e, RatingEvent)]
    if values and not lo <= min(values) <= max(values) <= hi:

        def usual_scale() -> tuple[float, float]:
            return stored_scale(state.store.rating_range())

        usual = bundle.cached("stored_scale", usual_scale) if bundle is not None else usual_scale()
        lo, hi = min(lo, usual[0]), max(hi, usual[1])
    errors: list[dict[str, Any]] = []
    records = []
    for i, event in enumerate(batch.events):
        if isinstance(event, RatingEvent) and not lo <= event.value <= hi:
            errors.append(
                {
                    "loc": ("body", "events", i, "value"),
                    "msg": f"rating {event.value:g} is outside the rating scale {lo:g}-{hi:g}",
                    "type": "value_error",
                }
            )
        if event.timestamp is not None and event.timestamp > now + MAX_CLOCK_SKEW_S:
            # one event from the future would stay "latest" for years: the member's resume point and the
            # reference time of what is trending
            errors.append(
                {
                    "loc": ("body", "events", i, "timestamp"),
                    "msg": f"timestamp {event.timestamp} is {event.timestamp - now} s ahead of the server's "
                    "clock; send when the event happened (or leave it out for now)",
                    "type": "value_error",
                }
            )
        records.append(to_record(event, now))
    if errors:
        raise RequestValidationError(errors)
    result = state.store.append_events(records, received_at=now)
    state.metrics.count_events(result.stored, result.duplicates)
    return EventBatchResult(stored=result.stored, duplicates=result.duplicates, last_seq=result.last_seq)


class StoredEventOut(BaseModel):
    seq: int
    event_id: str
    member_id: str
    title_id: str
    kind: str
    timestamp: int
    value: float | None
    fraction: float | None
    received_at: int


class EventList(BaseModel):
    events: list[StoredEventOut]
    total: int
    next_before: int | None = Field(
        None,
        description="Pass as `before` for the next (older) page; null on the last page. Pages by `seq`, so "
        "events stored meanwhile neither shift nor repeat them.",
    )


@router.get("", response_model=EventList, dependencies=[Depends(require_read)])
def latest_events(
    state: StateDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    before: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="Only events stored before this `seq` (paging).")
    ] = None,
) -> EventList:
    """The latest stored events, newest first; older ones page by page with ``before=<next_before>``."""
    rows = state.store.latest_events(limit + 1, before_seq=before)
    more = len(rows) > limit
    rows = rows[:limit]
    return EventList(
        events=[StoredEventOut(**r.__dict__) for r in rows],
        total=state.store.count_events(),
        next_before=rows[-1].seq if more else None,
    )
