"""``/health``, ``/metrics`` (Prometheus text format) and ``/v1/models`` (versions; reload)."""

from __future__ import annotations

import asyncio
from pathlib import PurePath

from fastapi import APIRouter, Depends, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from reelkit.service.deps import (
    ServiceState,
    StateDep,
    require_read,
    require_store_write,
    require_write,
)
from reelkit.service.ingest import pending_imports
from reelkit.service.metrics import Gauge
from reelkit.service.models import models_dir
from reelkit.service.schemas import ErrorBody, HealthOut
from reelkit.service.store import write_deadline

__all__ = ["router"]

router = APIRouter(tags=["system"])


# HEAD too (RFC 9110: wherever GET is), as load balancers probe (HAProxy's ``httpchk HEAD /health``); one
# route per method, so that the two operations do not share an operationId
@router.get("/health", response_model=HealthOut)
@router.head("/health", response_model=HealthOut, operation_id="health_head", include_in_schema=False)
async def health(state: StateDep) -> HealthOut:
    """Liveness (always 200); ``status`` is ``ok`` once a model version is loaded (``/ready`` answers 503
    until then); ``pending_imports`` names the imports that did not finish (the server serves anyway)."""
    return await _probe(state)


async def _probe(state: ServiceState) -> HealthOut:
    """The health figures, read on the probes' own threads (``state.probes``): a probe answers while
    requests fill the shared thread pool (writers waiting on a busy database), and its store reads do not
    block the event loop."""
    return await asyncio.get_running_loop().run_in_executor(state.probes, _health, state)


def _health(state: ServiceState) -> HealthOut:
    bundle = state.models.current
    latest = state.store.latest_events(1)
    last_seq = latest[0].seq if latest else 0
    return HealthOut(
        status="ok" if bundle is not None else "no_model",
        model_version=bundle.version if bundle is not None else None,
        store=state.store.location.partition("://")[0],
        events=state.store.count_events(),
        cached_pages=bundle.cached_pages if bundle is not None else 0,
        warmed=bundle.warmed if bundle is not None else False,
        popularity_behind=max(0, last_seq - bundle.counted_seq) if bundle is not None else 0,
        # file names only: /health answers without a token, and the server's folders are not its callers'
        # one per unfinished import (two ratings.csv of different folders are two)
        pending_imports=[PurePath(p).name for p in dict.fromkeys(pending_imports(state.store).values())],
    )


@router.get(
    "/ready",
    response_model=HealthOut,
    responses={503: {"model": ErrorBody, "description": "No model version is loaded yet"}},
)
@router.head("/ready", response_model=HealthOut, operation_id="ready_head", include_in_schema=False)
async def ready(state: StateDep) -> HealthOut:
    """Readiness for a load balancer: 200 once a model version is loaded, 503 until then (``/health``
    answers 200 either way, for liveness)."""
    state.models.require()  # 503 naming the command that trains one, as every endpoint needing a model
    return await _probe(state)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
    dependencies=[Depends(require_read)],
)
def metrics(state: StateDep) -> Response:
    """Request counts and latency histograms, model version, events stored (Prometheus text format); with
    ``protect_reads``, a read like any other (a scraper sends the token: Prometheus' ``authorization``)."""
    bundle = state.models.current
    own = state.metrics.labels  # what is this process's (the store's counts are everyone's)
    gauges = [
        Gauge("reelkit_events_stored", "Events in the store.", float(state.store.count_events())),
        Gauge("reelkit_members", "Members in the store.", float(state.store.count_members())),
        Gauge("reelkit_titles", "Titles in the catalog.", float(state.store.count_titles())),
    ]
    if bundle is not None:
        gauges += [
            Gauge(
                "reelkit_model_info",
                "The model version being served (value 1).",
                1.0,
                (*own, ("version", bundle.version), ("personal_model", bundle.record.personal_model)),
            ),
            Gauge(
                "reelkit_model_loaded_timestamp_seconds",
                "When the served version was loaded.",
                bundle.loaded_at,
                own,
            ),
            Gauge(
                "reelkit_model_events_seq",
                "Last event sequence the served version was trained on.",
                float(bundle.record.events_seq),
                own,
            ),
            Gauge(
                "reelkit_home_cache_entries",
                "Home pages cached for the served version.",
                float(bundle.cached_pages),
                own,
            ),
        ]
    else:
        gauges.append(Gauge("reelkit_model_info", "The model version being served (value 1).", 0.0, own))
    return Response(state.metrics.render(gauges), media_type="text/plain; version=0.0.4; charset=utf-8")


class ModelVersionOut(BaseModel):
    version: str
    created_at: int
    personal_model: str
    events_seq: int
    n_events: int
    n_members: int
    n_titles: int
    train_seconds: float
    #: Whether its files are still kept (retraining deletes all but the newest few): it can be served
    #: (``POST /v1/models/{version}/activate``, ``reelkit activate``).
    files_kept: bool


class ModelsOut(BaseModel):
    serving: str | None
    current: str | None
    versions: list[ModelVersionOut]


def _models(state: StateDep) -> ModelsOut:
    bundle = state.models.current
    current = state.store.current_model_version()
    return ModelsOut(
        serving=bundle.version if bundle is not None else None,
        current=current.version if current is not None else None,
        versions=[
            ModelVersionOut(
                **r.__dict__, files_kept=(models_dir(state.settings.data_dir) / r.version).is_dir()
            )
            for r in state.store.model_versions()
        ],
    )


@router.get("/v1/models", response_model=ModelsOut, tags=["models"], dependencies=[Depends(require_read)])
def list_models(state: StateDep) -> ModelsOut:
    """Trained model versions; ``serving`` is the one this process serves, ``current`` the store's choice."""
    return _models(state)


@router.post(
    "/v1/models/reload",
    response_model=ModelsOut,
    tags=["models"],
    responses={401: {"model": ErrorBody}},
    dependencies=[Depends(require_write)],
)
async def reload_models(state: StateDep) -> ModelsOut:
    """Switch to the store's current version now (the server also checks every few seconds); a version
    that failed to load before is tried again."""
    await run_in_threadpool(lambda: state.models.refresh(force=True))
    return _models(state)


@router.post(
    "/v1/models/{version}/activate",
    response_model=ModelsOut,
    tags=["models"],
    responses={
        404: {"model": ErrorBody, "description": "No such version is recorded"},
        409: {"model": ErrorBody, "description": "The version's files were deleted, or do not load"},
    },
    dependencies=[Depends(require_store_write)],
)
async def activate_model(version: str, state: StateDep) -> ModelsOut:
    """Make a recorded version with kept files the current one and serve it (a rollback; ``reelkit
    activate`` does the same from the command line): it is loaded first, and then recorded as current.
    The next retrain's version becomes current again."""

    def activate() -> None:
        # loading a version can take long: the wait for another writer counts from the write, not from the
        # request's arrival (require_store_write's deadline)
        write_deadline.set(None)
        state.models.activate(version)

    await run_in_threadpool(activate)
    return _models(state)
