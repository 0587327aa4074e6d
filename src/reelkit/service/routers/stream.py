"""Download advice: ``POST /v1/download-advice``.

The player (or an app) sends the member's recent throughput samples; the service picks what the member is
likely to watch next (their Continue Watching row, where the next episode of a series is, then Top
Picks) unless titles are given, and answers, per title, stream / download now / wait (see
:mod:`reelkit.stream.advice`).
"""

from __future__ import annotations

import itertools
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from reelkit.errors import ConfigError, UnknownIdError
from reelkit.service.deps import StateDep, app_semaphore, require_read
from reelkit.service.schemas import MAX_TIMESTAMP, ErrorBody
from reelkit.stream.advice import MAX_SAMPLE_MBPS, MAX_SAMPLE_TIME_S

__all__ = ["router"]

router = APIRouter(tags=["streaming"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorBody,
        "description": "The request cannot be advised on (neither member_id nor titles, or the member has no "
        "titles to advise on yet)",
    },
    404: {"model": ErrorBody},
    422: {"model": ErrorBody},
    503: {"model": ErrorBody},
}
#: Durations used when the catalog has none: an episode, a film.
EPISODE_S = 45 * 60.0
FILM_S = 100 * 60.0


#: Highest rung or quality accepted (100 Mbit/s, above any streaming ladder): the playback simulation's
#: work grows with the rung, so an unbounded one would tie up a worker.
MAX_KBPS = 100_000.0
#: Advice requests simulated at once (each may take seconds: titles x rungs x sessions).
MAX_CONCURRENT = 2


class Sample(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timestamp: float = Field(
        ge=0,
        le=MAX_SAMPLE_TIME_S,
        allow_inf_nan=False,
        description="Unix seconds of the measurement (1970-2100).",
    )
    mbps: float = Field(
        ge=0, le=MAX_SAMPLE_MBPS, allow_inf_nan=False, description="Measured throughput, Mbit/s."
    )


class TitleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title_id: str = Field(min_length=1, max_length=200)
    duration_s: float | None = Field(default=None, gt=0, le=6 * 3600)


class AdviceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    member_id: str | None = Field(
        default=None, description="Whose next titles to advise on (from the home page)."
    )
    samples: list[Sample] = Field(min_length=1, max_length=20_000)
    titles: list[TitleIn] | None = Field(default=None, min_length=1, max_length=20)
    now: float | None = Field(
        default=None,
        ge=0,
        le=MAX_TIMESTAMP,
        allow_inf_nan=False,
        description="Unix seconds (default: the server's clock).",
    )
    utc_offset_h: float = Field(default=0.0, ge=-14, le=14)
    ladder_kbps: list[Annotated[float, Field(gt=0, le=MAX_KBPS)]] | None = Field(
        default=None,
        min_length=1,
        max_length=20,
        description="The rungs' bitrates, strictly ascending (lowest first); default: 300, 750, 1200, 1850, "
        "2850, 4300.",
    )
    limit: int = Field(default=3, ge=1, le=10, description="How many next titles to look at.")
    # after the ladder, which its check reads
    quality_kbps: float = Field(
        gt=0,
        le=MAX_KBPS,
        allow_inf_nan=False,
        description="The quality the member wants: the ladder's lowest rung or above.",
    )

    @field_validator("ladder_kbps")
    @classmethod
    def _ascending(cls, v: list[float] | None) -> list[float] | None:
        # strictly: equal rungs passed v == sorted(v), and the library refused them (a 400 naming no field)
        if v is not None and (
            not all(0 < b <= MAX_KBPS for b in v) or any(b <= a for a, b in itertools.pairwise(v))
        ):
            raise ValueError(f"ladder_kbps must be finite, in (0, {MAX_KBPS:g}] kbps and strictly ascending")
        return v

    @field_validator("quality_kbps")
    @classmethod
    def _on_the_ladder(cls, v: float, info: ValidationInfo) -> float:
        """At or above the lowest rung, named as this field (a 400 from the library named none)."""
        from reelkit.stream.advice import AdviceConfig

        if "ladder_kbps" not in info.data:  # the ladder was refused: its own error says why
            return v
        ladder = info.data["ladder_kbps"] or AdviceConfig().ladder_kbps
        if v < ladder[0]:
            which = "ladder_kbps'" if info.data["ladder_kbps"] else "the default ladder's"
            raise ValueError(f"{v:g} kbps is below {which} lowest rung, {ladder[0]:g} kbps")
        return v


class TitleAdviceOut(BaseModel):
    title_id: str
    name: str
    reason: str
    action: str = Field(description="stream | download | wait")
    quality_kbps: float
    hold_probability_now: float
    download_s_now: float
    best_streamable_kbps: float | None
    better_hour: int | None
    message: str


class AdviceOut(BaseModel):
    hour: int
    median_mbps_now: float
    samples_now: int = Field(description="Measurements the network now was judged on.")
    hours_from_now: int = Field(description="How far in hours of the day the farthest of them was taken.")
    note: str | None = Field(description="Set when that is thin evidence (few or far samples).")
    quality_note: str | None = Field(
        None,
        description="Set when the quality asked for is above the ladder's top rung (advised at the top).",
    )
    titles: list[TitleAdviceOut]


def _duration_s(rec: Any) -> float:
    """A catalogue title's running time, or the typical one of its kind when the catalogue has none."""
    if rec is not None and rec.duration:
        return float(rec.duration)
    return EPISODE_S if rec is not None and rec.kind == "series" else FILM_S


def _next_titles(state: Any, member_id: str, limit: int) -> list[Any]:
    """The member's likely next titles: Continue Watching (next episode), then Top Picks."""
    from reelkit.stream.advice import TitleToWatch

    if state.store.get_member(member_id) is None:
        raise UnknownIdError(f"unknown member id {member_id!r}")
    bundle = state.models.require()
    page, _ = bundle.home_page(state.store, member_id)
    out: list[TitleToWatch] = []
    for kind in ("continue-watching", "top-picks"):
        for row in page.rows:
            if row.kind != kind:
                continue
            for t in row.titles:
                if len(out) >= limit or any(o.title_id == t.title_id for o in out):
                    continue
                rec = state.store.get_title(t.title_id)
                series = rec is not None and rec.kind == "series"
                reason = (
                    ("next episode" if series else "continue watching")
                    if kind == "continue-watching"
                    else "top pick"
                )
                out.append(TitleToWatch(t.title_id, _duration_s(rec), t.name, reason))
    return out


@router.post(
    "/v1/download-advice", response_model=AdviceOut, responses=_ERRORS, dependencies=[Depends(require_read)]
)
async def download_advice(body: AdviceRequest, state: StateDep) -> AdviceOut:
    """Stream, download now, or wait, for the titles the member is likely to watch next."""
    from reelkit.stream.advice import AdviceConfig, NetworkProfile, TitleToWatch, advise

    if body.titles:
        if body.member_id is not None and state.store.get_member(body.member_id) is None:
            raise UnknownIdError(f"unknown member id {body.member_id!r}")
        titles = []
        for t in body.titles:
            rec = state.store.get_title(t.title_id)
            if rec is None and not t.duration_s:  # a running time was invented for a typo'd id
                raise UnknownIdError(
                    f"unknown title id {t.title_id!r}; give its duration_s to advise on a title outside the "
                    "catalogue"
                )
            dur = t.duration_s or _duration_s(rec)
            titles.append(TitleToWatch(t.title_id, float(dur), rec.name if rec else "", "requested"))
    elif body.member_id is not None:
        titles = await run_in_threadpool(_next_titles, state, body.member_id, body.limit)
        if not titles:
            raise ConfigError(f"member {body.member_id!r} has no titles to advise on yet; give titles")
    else:
        raise ConfigError("give member_id or titles")
    cfg = AdviceConfig() if body.ladder_kbps is None else AdviceConfig(ladder_kbps=tuple(body.ladder_kbps))
    profile = NetworkProfile.from_samples(
        [s.timestamp for s in body.samples], [s.mbps for s in body.samples], utc_offset_h=body.utc_offset_h
    )
    async with app_semaphore(state, "advice_semaphore", MAX_CONCURRENT):
        result = await run_in_threadpool(
            advise, profile, titles, quality_kbps=body.quality_kbps, now_s=body.now, config=cfg
        )
    return AdviceOut(
        hour=result.hour,
        median_mbps_now=result.median_mbps_now,
        samples_now=result.samples_now,
        hours_from_now=result.hours_from_now,
        note=result.note,
        # the library warns of it (the CLI prints that); a reply said nothing but quality_kbps
        quality_note=(
            f"quality {body.quality_kbps:g} kbps is above the top rung: advised at "
            f"{cfg.ladder_kbps[-1]:g} kbps, the ladder's highest (give a ladder_kbps that reaches it to ask "
            "about more)"
            if body.quality_kbps > cfg.ladder_kbps[-1]
            else None
        ),
        titles=[TitleAdviceOut(**vars(t)) for t in result.titles],
    )
