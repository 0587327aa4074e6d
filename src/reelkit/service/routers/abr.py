"""Adaptive bitrate in the service: the decision endpoint, a trace-shaped DASH segment server, the demo page.

* ``POST /v1/abr/decide``: a player sends what it saw of its last chunk (bytes, download time, buffer level)
  and its ladder; it gets the level of its next chunk. Each session (``session_id``) keeps its own policy
  object (:mod:`reelkit.stream.abr`) in a bounded table: at most ``MAX_SESSIONS``, the least recently used
  evicted first, and each forgotten ``SESSION_TTL_S`` after its last request.
* ``GET /abr/stream/{stream}/{trace}/{session}/{file}``: the MPD and segments of a stream packaged by
  ``reelkit abr package`` (folders under ``<data dir>/abr/streams/``), video segments paced by the network
  trace ``trace`` (a file under ``<data dir>/abr/traces/``, ``const-<Mbps>``, or ``none``) on one link per
  session (:class:`reelkit.stream.shaping.ShapedLink`; Pensieve's link: 0.95 payload, 80 ms RTT); audio
  segments unshaped, as the simulator has no audio.
* ``POST /v1/abr/sessions/{id}/log`` and ``GET /v1/abr/sessions/{id}``: the player's own log (levels,
  buffer, stalls), the server's decisions and the paced transfers, for comparison with the simulator.
* ``GET /abr/demo``: a page that plays a stream with dash.js and a custom ABR rule calling the endpoint.
  dash.js is the npm package ``dashjs`` (``web/abr/package.json``), served from
  ``/abr/vendor/dash.all.min.js`` (``$REELKIT_DASHJS``, then ``static/vendor/``, then
  ``web/abr/node_modules``); nothing comes from a CDN.

The stream ``sample`` is built on first use (a generated test clip, 180p..720p, 4 s segments).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from reelkit._files import recover_folder
from reelkit.errors import ConfigError, ReelkitError
from reelkit.service.deps import ServiceState, StateDep, require_pages, require_read
from reelkit.service.errors import without_folder
from reelkit.service.schemas import ErrorBody
from reelkit.stream.advice import MAX_RUNG_KBPS

__all__ = ["MAX_SESSIONS", "SESSION_TTL_S", "AbrRuntime", "dashjs_path", "router"]

router = APIRouter(tags=["abr"])
log = logging.getLogger(__name__)

MAX_SESSIONS = 1000
SESSION_TTL_S = 1800.0
MAX_LOG_EVENTS = 20_000
#: decisions and log entries kept over all sessions (about 100 MB): past it the least recently used
#: sessions go first, so that no client can fill the server's memory with 1000 full sessions (~10 GB)
MAX_TOTAL_ENTRIES = 200_000
#: chunks of the constant-bitrate video assumed for a session without a packaged stream
UNKNOWN_VIDEO_CHUNKS = 1000
SAMPLE_STREAM = "sample"
_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$"
_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]*\.(mpd|m4s|mp4|json)$")
_CHUNK = re.compile(r"^chunk-(\d+)-(\d+)\.m4s$")
_SEGMENT = re.compile(r"^(init|chunk)-(\d+)(-\d+)?\.m4s$")
_NO_STORE = {"Cache-Control": "no-store"}
_ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody}, 422: {"model": ErrorBody}}
_SEVERAL = {"model": ErrorBody, "description": "The server runs several processes: player sessions need one"}
_SESSION_ERRORS: dict[int | str, dict[str, Any]] = {**_ERRORS, 409: _SEVERAL}

Name = Annotated[str, PathParam(pattern=_NAME, max_length=100)]
#: a session id, or ``-`` for unshaped, session-less fetches
SessionPath = Annotated[str, PathParam(pattern=r"^(-|[A-Za-z0-9][A-Za-z0-9_.\-]{0,99})$", max_length=100)]
TracePath = Annotated[
    str, PathParam(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}(~(busy|wall))?$", max_length=106)
]


# ---------------------------------------------------------------------------------------------------- state
@dataclass
class AbrSession:
    """One player session: its policy, what it was told, what it reported, its shaped link."""

    session_id: str
    algo: str
    ladder_kbps: tuple[float, ...]
    chunk_s: float
    stream: str | None
    policy: Any
    #: A trained policy's file in ``DATA/abr/models`` the policy runs (``None``: its shipped model, if any).
    model: str | None = None
    created: float = field(default_factory=time.time)
    last_seen: float = field(default_factory=time.monotonic)
    last_level: int | None = None
    decisions: list[dict[str, Any]] = field(default_factory=list)
    log: list[dict[str, Any]] = field(default_factory=list)
    link: Any = None  # ShapedLink once the segment server paces for this session
    trace: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class SessionTable:
    """Sessions by id: the least recently used go beyond ``max_sessions``; idle ones expire (``ttl_s``)."""

    def __init__(
        self,
        max_sessions: int = MAX_SESSIONS,
        ttl_s: float = SESSION_TTL_S,
        max_entries: int = MAX_TOTAL_ENTRIES,
    ) -> None:
        self.max_sessions = max_sessions
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._items: OrderedDict[str, AbrSession] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def _expire(self, now: float) -> None:
        while self._items:
            sid, s = next(iter(self._items.items()))
            if now - s.last_seen <= self.ttl_s:
                break
            del self._items[sid]

    def get(self, session_id: str) -> AbrSession | None:
        with self._lock:
            now = time.monotonic()
            self._expire(now)
            s = self._items.get(session_id)
            if s is not None:
                s.last_seen = now
                self._items.move_to_end(session_id)
            return s

    def put(self, session: AbrSession) -> None:
        with self._lock:
            now = time.monotonic()
            session.last_seen = now
            self._items[session.session_id] = session
            self._items.move_to_end(session.session_id)
            self._expire(now)
            while len(self._items) > self.max_sessions:
                self._items.popitem(last=False)

    def trim(self) -> None:
        """Keep all sessions together under ``max_entries`` decisions and log entries: past it, the oldest
        entries of the largest sessions go first (each session keeps its newest ``max_entries / sessions``).
        No session is dropped, so a player that is still playing keeps its policy state."""
        with self._lock:
            sessions = list(self._items.values())
        total = sum(len(x.decisions) + len(x.log) for x in sessions)
        if total <= self.max_entries or not sessions:
            return
        share = max(1, self.max_entries // len(sessions))
        for x in sessions:  # the callers hold no session lock here
            with x.lock:
                for entries in (x.decisions, x.log):
                    if len(entries) > share // 2:
                        del entries[: len(entries) - share // 2]


@dataclass
class AbrRuntime:
    """What the ABR routes keep in the service state (``state.extra['abr']``)."""

    folder: Path
    sessions: SessionTable = field(default_factory=SessionTable)
    build_lock: threading.Lock = field(default_factory=threading.Lock)
    builder: threading.Thread | None = None
    build_error: str | None = None

    @property
    def streams_dir(self) -> Path:
        return self.folder / "streams"

    @property
    def traces_dir(self) -> Path:
        return self.folder / "traces"

    @property
    def models_dir(self) -> Path:
        return self.folder / "models"


def _runtime(state: ServiceState) -> AbrRuntime:
    rt = state.extra.get("abr")
    if rt is None:
        rt = state.extra.setdefault("abr", AbrRuntime(Path(state.settings.data_dir) / "abr"))
    assert isinstance(rt, AbrRuntime)
    return rt


def _sessions(state: ServiceState) -> AbrRuntime:
    """The runtime, for a route that reads or makes a player session: refused (409) by a server of several
    processes, where a session's requests reach processes that do not hold it (its policy's history, its
    link's clock), which would decide and pace as if each were the session's first."""
    if state.settings.workers > 1:
        raise HTTPException(
            409,
            f"ABR player sessions live in one server process and this server runs {state.settings.workers} "
            "('workers'); serve the ABR demo and /v1/abr/decide with --workers 1",
        )
    return _runtime(state)


# ---------------------------------------------------------------------------------------------------- schemas
class DecideRequest(BaseModel):
    """What the player saw; ``chunk_index`` is the chunk it is about to fetch (0: a new playback)."""

    # a misspelled field ("bufer_s") was dropped and its default (a buffer of 0) decided on
    model_config = ConfigDict(extra="forbid")

    session_id: str = Field(pattern=_NAME, max_length=100)
    chunk_index: int = Field(ge=0, le=10_000_000)
    last_chunk_bytes: float = Field(
        0.0, ge=0, le=1e10, description="Size of the last chunk (from chunk_index 1)."
    )
    download_s: float = Field(
        0.0,
        ge=0,
        le=86_400,
        description="Seconds the last chunk took: over 0 from chunk_index 1 on for the algos "
        "that read the throughput (not bba, bola).",
    )
    buffer_s: float = Field(0.0, ge=0, le=86_400)
    rebuffer_s: float = Field(0.0, ge=0, le=86_400)
    ladder_kbps: list[Annotated[float, Field(gt=0, le=MAX_RUNG_KBPS)]] = Field(
        min_length=1, max_length=32, description="The rungs' bitrates, strictly ascending (lowest first)."
    )
    last_level: int | None = Field(
        None, ge=0, description="Level of the last chunk (default: the last decision)."
    )
    algo: str | None = Field(None, max_length=64, description="Policy name (see GET /v1/abr/algos).")
    chunk_s: float = Field(4.0, gt=0, le=60)
    stream: str | None = Field(None, pattern=_NAME, max_length=100, description="A packaged stream's name.")
    model: str | None = Field(
        None,
        pattern=_NAME,
        max_length=100,
        description="A trained policy's file in DATA/abr/models ('reelkit abr train -o'), for the learned "
        "algos (fugu, best); default: their shipped model.",
    )

    @field_validator("ladder_kbps")
    @classmethod
    def _ascending(cls, v: list[float]) -> list[float]:
        if any(not 0 < x <= MAX_RUNG_KBPS for x in v):  # 1e308 overflowed the policies' chunk sizes
            raise ValueError(f"bitrates must be in (0, {MAX_RUNG_KBPS:g}] kbps")
        if any(b <= a for a, b in itertools.pairwise(v)):
            raise ValueError("bitrates must be strictly ascending (lowest first)")
        return v


_MODEL_OUT = "The trained policy's file in DATA/abr/models (null: the algo's shipped model, if any)."


class DecideResponse(BaseModel):
    session_id: str
    chunk_index: int
    level: int
    bitrate_kbps: float
    algo: str
    model: str | None = Field(None, description=_MODEL_OUT)
    new_session: bool
    decisions: int


class LogEvent(BaseModel):
    """One player event: ``chunk`` (a segment loaded), ``stall`` / ``resume`` (playback waiting / playing),
    ``play`` (playback started), ``buffer`` (a buffer sample), ``end``."""

    # an unknown field was dropped, so stored as if never sent; Infinity was stored, and read back as null
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    kind: Literal["chunk", "stall", "resume", "play", "buffer", "end"]
    t_s: float = Field(ge=0, le=86_400, description="Seconds since the player started.")
    # the bounds of DecideRequest (a level of 10^23 was stored as sent)
    chunk_index: int | None = Field(None, ge=0, le=10_000_000)
    level: int | None = Field(None, ge=0, le=31)
    bytes: float | None = Field(None, ge=0, le=1e10)
    download_s: float | None = Field(None, ge=0, le=86_400)
    buffer_s: float | None = Field(None, ge=0, le=86_400)
    stall_s: float | None = Field(None, ge=0, le=86_400)


class LogBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[LogEvent] = Field(max_length=1000)


class LogResult(BaseModel):
    stored: int
    total: int


class TransferOut(BaseModel):
    file: str
    chunk_index: int | None
    level: int | None
    bytes: int
    start_s: float
    end_s: float
    trace_start_s: float
    predicted_s: float


class SessionOut(BaseModel):
    session_id: str
    algo: str
    model: str | None = Field(None, description=_MODEL_OUT)
    ladder_kbps: list[float]
    stream: str | None
    trace: str | None
    decisions: list[dict[str, Any]]
    log: list[dict[str, Any]]
    transfers: list[TransferOut]


class AlgoList(BaseModel):
    algos: list[str]
    default: str


class StreamOut(BaseModel):
    name: str
    ladder_kbps: list[float]
    resolutions: list[str]
    segment_s: float
    segments: int
    mpd: str


class StreamList(BaseModel):
    streams: list[StreamOut]
    traces: list[str]
    models: list[str] = Field(
        default_factory=list, description="Trained policies in DATA/abr/models (the decide endpoint's model)."
    )


# ------------------------------------------------------------------------------------------------ policies
def _algos() -> list[str]:
    from reelkit.stream.abr import available_policies

    return list(available_policies())


@lru_cache(maxsize=1)
def default_algo() -> str:
    """``best`` when this reelkit ships it (and its model loads), else ``robustmpc``. Cached: the shipped
    model is loaded once per process, not on every new session."""
    from reelkit.stream.abr import make_policy

    names = _algos()
    if "best" in names:
        try:
            make_policy("best")
        except ReelkitError:
            pass
        else:
            return "best"
    return "robustmpc" if "robustmpc" in names else names[0]


@lru_cache(maxsize=64)
def _constant_video(ladder: tuple[float, ...], chunk_s: float) -> Any:
    from reelkit.stream.abr import Video

    return Video.constant_bitrate(list(ladder), chunk_s, UNKNOWN_VIDEO_CHUNKS)


def _invalid(field_name: str, message: str) -> RequestValidationError:
    return RequestValidationError([{"loc": ("body", field_name), "msg": message, "type": "value_error"}])


def _new_session(rt: AbrRuntime, req: DecideRequest, previous: AbrSession | None = None) -> AbrSession:
    # a request that names no algorithm keeps the session's (a restart or a ladder change included)
    from reelkit.stream.abr.registry import policy_name

    asked = req.algo or (previous.algo if previous is not None else default_algo())
    algo = policy_name(asked)  # the aliases simulate and compare take (rmpc, bb) work here too
    if algo is None:
        names = _algos()
        raise _invalid("algo", f"unknown algo {asked!r}; choose one of {', '.join(names)}")
    # a request that names no model keeps the session's, as for the algorithm (unless the algorithm changes)
    name = req.model
    if name is None and previous is not None and (req.algo is None or algo == previous.algo):
        name = previous.model
    model = _model_file(rt, name, algo)
    ladder = tuple(float(x) for x in req.ladder_kbps)
    video = None
    if req.stream is not None:
        stream = _load_stream(rt, req.stream)
        if [float(x) for x in stream.bitrates_kbps] != list(ladder):
            raise _invalid(
                "ladder_kbps",
                f"stream {req.stream!r} has the ladder {stream.bitrates_kbps}; got {list(ladder)}",
            )
        video = stream.video()
    if video is None:
        video = _constant_video(ladder, float(req.chunk_s))
    policy = _policy_with(algo, model, name, _invalid)
    _warm_up(policy, video)
    policy.reset(video)
    return AbrSession(req.session_id, algo, ladder, float(req.chunk_s), req.stream, policy, model=name)


def _policy_with(algo: str, model: Path | None, name: str | None, refuse: Any) -> Any:
    """``algo``'s policy with the trained ``model`` (``name`` in DATA/abr/models); a file that does not load
    is refused by ``refuse(field, message)`` without its path (logged), as a damaged trace or stream is."""
    from reelkit.stream.abr import make_policy

    try:
        return make_policy(algo, model=model)
    except ReelkitError as exc:
        if model is None:
            raise
        log.error("model %r: %s", name, exc)
        raise refuse(
            "model",
            f"model {name!r} is not a usable {algo} model on the server; retrain it ('reelkit abr train') or "
            "replace it in DATA/abr/models",
        ) from None


def _model_file(rt: AbrRuntime, name: str | None, algo: str, refuse: Any = _invalid) -> Path | None:
    """The file of a trained policy named in a request (``DATA/abr/models/<name>``); ``refuse(field,
    message)`` makes the error (the API's 422, the page's 404)."""
    from reelkit.stream.abr.registry import takes_model

    if name is None:
        return None
    if not takes_model(algo):
        raise refuse("model", f"model {name!r}: {algo} takes none (the learned algos do: fugu, best)")
    path = rt.models_dir / name
    if not path.is_file():
        raise refuse(
            "model",
            f"no model {name!r}: put a file from 'reelkit abr train -o' in DATA/abr/models (DATA: the "
            "server's data folder)",
        )
    return path


def _warm_up(policy: Any, video: Any) -> None:
    """One throw-away decision, so that compiling a policy's kernels (numba) happens when a session starts
    (before the player fetches anything), not while its first chunk's decision is awaited."""
    from reelkit.stream.abr import Observation

    if video.n_chunks < 2:
        return
    policy.reset(video)
    bytes0 = float(video.sizes[0, 0])
    # a made-up measurement the policy cannot use (a 1e-300 kbps rung) is no error of the client's, who sent
    # no such fields (it was a 400 naming them): the first real decision compiles instead
    with contextlib.suppress(ConfigError):
        policy.choose(Observation(1, 0, bytes0, 1.0, video.chunk_s))


def _decide(rt: AbrRuntime, req: DecideRequest) -> DecideResponse:
    from reelkit.stream.abr import Observation
    from reelkit.stream.abr.registry import policy_name

    session = rt.sessions.get(req.session_id)
    fresh = (
        session is None
        or req.chunk_index == 0
        or (req.algo is not None and policy_name(req.algo) != session.algo)
        or tuple(req.ladder_kbps) != session.ladder_kbps
        or req.stream != session.stream
        or float(req.chunk_s) != session.chunk_s
        or (req.model is not None and req.model != session.model)
    )
    if fresh:
        old = session
        session = _new_session(rt, req, old)
        if old is not None and old.link is not None:
            # the network belongs to the session id: the segment server's link (and its clock) carries over
            session.link, session.trace = old.link, old.trace
        rt.sessions.put(session)
    assert session is not None
    n_levels = len(session.ladder_kbps)
    video = session.policy.video
    n_chunks = int(video.n_chunks) if video is not None else UNKNOWN_VIDEO_CHUNKS
    if req.chunk_index >= n_chunks:
        raise _invalid("chunk_index", f"chunk_index {req.chunk_index} is past the video's {n_chunks} chunks")
    with session.lock:
        if req.chunk_index == 0:
            level = min(1, n_levels - 1)  # Pensieve's first chunk (DEFAULT_QUALITY)
        else:
            last = req.last_level if req.last_level is not None else session.last_level
            if last is None:
                last = min(1, n_levels - 1)
            if last >= n_levels:
                raise _invalid("last_level", f"last_level {last} is not a level of a {n_levels}-level ladder")
            obs = Observation(
                chunk_index=req.chunk_index,
                last_level=int(last),
                last_chunk_bytes=float(req.last_chunk_bytes),
                last_download_s=float(req.download_s),
                buffer_s=float(req.buffer_s),
                rebuffer_s=float(req.rebuffer_s),
            )
            try:
                level = int(session.policy.choose(obs))
            except ConfigError as exc:  # a measurement the policy cannot use: a 422 naming its field
                message = str(exc).replace("last_download_s", "download_s")
                field = next((f for f in ("download_s", "last_chunk_bytes") if message.startswith(f)), None)
                if field is None:
                    raise ConfigError(message) from None
                if field not in req.model_fields_set:  # "download_s must be positive; got 0.0", never sent
                    message = f"{field} is needed by {session.algo} from chunk_index 1 on; it was not sent"
                raise _invalid(field, message) from None
            if not 0 <= level < n_levels:  # pragma: no cover - every policy passes the conformance suite
                raise ReelkitError(f"policy {session.algo!r} chose level {level} of {n_levels}")
        session.last_level = level
        session.decisions.append(
            {
                "t": time.time(),
                "chunk_index": req.chunk_index,
                "level": level,
                "last_chunk_bytes": req.last_chunk_bytes,
                "download_s": req.download_s,
                "buffer_s": req.buffer_s,
                "rebuffer_s": req.rebuffer_s,
            }
        )
        if len(session.decisions) > MAX_LOG_EVENTS:
            del session.decisions[: len(session.decisions) - MAX_LOG_EVENTS]
        count = len(session.decisions)
    rt.sessions.trim()
    return DecideResponse(
        session_id=session.session_id,
        chunk_index=req.chunk_index,
        level=level,
        bitrate_kbps=session.ladder_kbps[level],
        algo=session.algo,
        model=session.model,
        new_session=fresh,
        decisions=count,
    )


# --------------------------------------------------------------------------------------------- routes: API
@router.post(
    "/v1/abr/decide",
    response_model=DecideResponse,
    responses=_SESSION_ERRORS,
    dependencies=[Depends(require_read)],
)
def decide(req: DecideRequest, state: StateDep) -> DecideResponse:
    """The level of the session's next chunk, from its last chunk's size and download time and its buffer.

    A request with ``chunk_index`` 0, or another ladder, algo, stream or model than the session had, starts
    the session afresh; one that names no algo or no model keeps the session's (a new algo without a model
    runs its shipped one). The first chunk is fetched at level 1 (as Pensieve's simulator does); later ones
    are the policy's choice. Without ``stream`` the policy assumes constant-bitrate chunks of the ladder.
    """
    return _decide(_sessions(state), req)


@router.get("/v1/abr/algos", response_model=AlgoList, dependencies=[Depends(require_read)])
def algos() -> AlgoList:
    """The policies ``/v1/abr/decide`` accepts, and the one used when a request names none."""
    return AlgoList(algos=_algos(), default=default_algo())


def _session_or_404(rt: AbrRuntime, session_id: str) -> AbrSession:
    s = rt.sessions.get(session_id)
    if s is None:
        raise HTTPException(404, f"unknown or expired ABR session {session_id!r}")
    return s


@router.post(
    "/v1/abr/sessions/{session_id}/log",
    response_model=LogResult,
    responses=_SESSION_ERRORS,
    dependencies=[Depends(require_read)],
)
def post_log(session_id: Name, batch: LogBatch, state: StateDep) -> LogResult:
    """Append the player's events (chunk loaded, stall, resume, buffer samples) to its session."""
    s = _session_or_404(_sessions(state), session_id)
    with s.lock:
        s.log.extend(e.model_dump(exclude_none=True) for e in batch.events)
        if len(s.log) > MAX_LOG_EVENTS:
            del s.log[: len(s.log) - MAX_LOG_EVENTS]
        total = len(s.log)
    _runtime(state).sessions.trim()
    return LogResult(stored=len(batch.events), total=total)


def _transfer_out(t: Any) -> TransferOut:
    m = _CHUNK.match(t.label)
    return TransferOut(
        file=t.label,
        chunk_index=int(m.group(2)) - 1 if m else None,
        level=int(m.group(1)) if m else None,
        bytes=t.n_bytes,
        start_s=t.start_s,
        end_s=t.end_s,
        trace_start_s=t.trace_start_s,
        predicted_s=t.predicted_s,
    )


@router.get(
    "/v1/abr/sessions/{session_id}",
    response_model=SessionOut,
    responses=_SESSION_ERRORS,
    dependencies=[Depends(require_read)],
)
def get_session(session_id: Name, state: StateDep) -> SessionOut:
    """A session's decisions, the player's log and the segment server's paced transfers."""
    s = _session_or_404(_sessions(state), session_id)
    with s.lock:
        transfers = [_transfer_out(t) for t in (s.link.transfers if s.link is not None else [])]
        return SessionOut(
            session_id=s.session_id,
            algo=s.algo,
            model=s.model,
            ladder_kbps=list(s.ladder_kbps),
            stream=s.stream,
            trace=s.trace,
            decisions=list(s.decisions),
            log=list(s.log),
            transfers=transfers,
        )


@router.get("/v1/abr/streams", response_model=StreamList, dependencies=[Depends(require_read)])
def streams(state: StateDep) -> StreamList:
    """The packaged streams and the traces the segment server can pace by."""
    rt = _runtime(state)
    out = []
    for name in _stream_names(rt):
        try:
            s = _load_stream(rt, name)
        except (HTTPException, ReelkitError):
            continue
        out.append(
            StreamOut(
                name=name,
                ladder_kbps=list(s.bitrates_kbps),
                resolutions=[f"{r.width}x{r.height}" for r in s.renditions],
                segment_s=s.segment_s,
                segments=s.n_segments,
                mpd=f"/abr/stream/{name}/none/-/manifest.mpd",
            )
        )
    return StreamList(streams=out, traces=_trace_names(rt), models=_model_names(rt))


# ---------------------------------------------------------------------------------------------------- streams
def _load_stream(rt: AbrRuntime, name: str) -> Any:

    folder = rt.streams_dir / name
    if not (folder / "stream.json").is_file() and not folder.exists():
        recover_folder(folder)  # a packaging killed between its swap's two renames left it beside
    if not (folder / "stream.json").is_file():
        raise HTTPException(
            404,
            f"no stream {name!r}; package one with 'reelkit abr package CLIP -o DATA/abr/streams/{name}' "
            "(DATA: the server's data folder)",
        )
    try:
        return _cached_stream(str(folder), (folder / "stream.json").stat().st_mtime_ns)
    except ReelkitError as exc:  # the server's file, not the request: a 500 that keeps its path to the log
        log.error("stream %r: %s", name, exc)
        raise HTTPException(
            500,
            f"stream {name!r} is damaged on the server (its stream.json is unreadable or a file its MPD "
            "names is missing); repackage it",
        ) from None


@lru_cache(maxsize=32)
def _cached_stream(folder: str, mtime: int) -> Any:
    from reelkit.stream.dash import load_stream

    return load_stream(folder)


def build_sample_stream(folder: Path) -> Any:
    """The demo's stream: a generated 48 s clip, five levels 180p..720p (300..2850 kbps), 4 s segments."""
    import tempfile

    from reelkit.stream.dash import DEFAULT_LADDER, make_sample_clip, package_dash

    folder.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder.parent) as tmp:
        clip = make_sample_clip(Path(tmp) / "clip.mp4", duration_s=48, size=(1280, 720), audio=False)
        return package_dash(clip, folder, renditions=DEFAULT_LADDER, segment_s=4.0, preset="ultrafast")


def _ensure_stream(rt: AbrRuntime, name: str, *, consume: bool = True) -> bool:
    """Whether stream ``name`` can be served now; for ``sample``, start building it in the background.
    ``consume=False`` (a HEAD, as the building page's poll): a failed build is reported but kept, for the
    GET that shows it (the poll took it, and the page's reload started a new build, for ever)."""
    folder = rt.streams_dir / name
    if name != SAMPLE_STREAM or (folder / "stream.json").is_file():
        return True
    with rt.build_lock:
        if rt.builder is not None and not rt.builder.is_alive() and rt.build_error is not None:
            # the last build failed: report it once, and let the next request try again; the server's
            # folder is said as DATA (the log keeps the path)
            error = rt.build_error
            if consume:
                rt.build_error, rt.builder = None, None
                log.warning("building the sample stream failed: %s", error)
            shown = without_folder(error, rt.folder.parent)
            raise HTTPException(500, f"building the sample stream failed: {shown}")
        if rt.builder is None or not rt.builder.is_alive():

            def build() -> None:
                try:
                    build_sample_stream(folder)
                except (ReelkitError, OSError) as exc:
                    rt.build_error = str(exc)

            rt.builder = threading.Thread(target=build, name="reelkit-abr-sample", daemon=True)
            rt.builder.start()
    return False


def _stream_names(rt: AbrRuntime) -> list[str]:
    if not rt.streams_dir.is_dir():
        return []
    entries = set(os.listdir(rt.streams_dir))
    # what packagings killed between two renames left: the old folder put back under its name
    aside = {e[1:].rpartition(".old-")[0] for e in entries if e.startswith(".") and ".old-" in e}
    for name in aside:
        recover_folder(rt.streams_dir / name)
    return sorted(
        e for e in entries | aside if re.match(_NAME, e) and (rt.streams_dir / e / "stream.json").is_file()
    )


def _file_names(folder: Path) -> list[str]:
    """The files in ``folder`` a request may name (traces, models), sorted; none when it is missing."""
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_file() and re.match(_NAME, p.name))


def _model_names(rt: AbrRuntime) -> list[str]:
    return _file_names(rt.models_dir)


def _trace_names(rt: AbrRuntime) -> list[str]:
    return ["none", *_file_names(rt.traces_dir)]


def _load_link_trace(rt: AbrRuntime, name: str) -> Any:
    """A trace by name: ``const-<Mbps>``, or a file under ``<data dir>/abr/traces``."""
    from reelkit.stream.abr.traces import Trace, load_trace

    m = re.fullmatch(r"const-(\d+(?:\.\d+)?)", name)
    if m:
        mbps = float(m.group(1))
        if not 0 < mbps <= 10_000:
            raise HTTPException(404, f"trace {name!r}: the rate must be in (0, 10000] Mbps")
        return Trace.constant(mbps, name=name)
    path = rt.traces_dir / name
    if not path.is_file():
        if name.startswith("const-"):  # const-1e-9, const-fast: was "put a cooked trace file in ..."
            raise HTTPException(
                404, f"trace {name!r}: write the rate as const-<Mbps>, a decimal such as const-2.5"
            )
        raise HTTPException(
            404,
            f"no trace {name!r}: put a cooked trace file in DATA/abr/traces (DATA: the server's data "
            "folder), or use const-<Mbps> or none",
        )
    try:
        return load_trace(path)
    except ReelkitError as exc:  # the server's file, not the request: a 500 that keeps its path to the log
        log.error("trace %r: %s", name, exc)
        raise HTTPException(
            500, f"trace {name!r} is damaged on the server (unreadable); replace it in DATA/abr/traces"
        ) from None


_STREAM_FILE = "/abr/stream/{stream}/{trace}/{session_id}/{file}"
_BINARY = {"schema": {"type": "string", "format": "binary"}}
#: what the stream's files are answered with (FastAPI's default said an empty JSON body, and no 404/500/503)
_STREAM_FILE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The file (HEAD: its headers alone): the MPD, a video or audio segment, stream.json",
        "content": {
            "application/dash+xml": {"schema": {"type": "string"}},
            "video/mp4": _BINARY,
            "audio/mp4": _BINARY,
            "application/json": {"schema": {"type": "object"}},
        },
    },
    206: {
        "description": "The byte range(s) asked for with Range (files sent unpaced only; a paced segment is "
        "sent whole, with no Accept-Ranges)",
        "content": {"video/mp4": _BINARY, "audio/mp4": _BINARY, "multipart/byteranges": _BINARY},
    },
    304: {"description": "Not modified (If-None-Match or If-Modified-Since)"},
    400: {
        "description": "A malformed Range header",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    },
    404: {"model": ErrorBody, "description": "No such stream, file or trace"},
    409: _SEVERAL,
    416: {
        "description": "Range not satisfiable (Content-Range: bytes */SIZE)",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    },
    500: {
        "model": ErrorBody,
        "description": "The stream or trace is damaged on the server, or building the sample failed",
    },
    503: {
        "model": ErrorBody,
        "description": "The sample stream is being built: retry after Retry-After",
        "headers": {"Retry-After": {"description": "Seconds", "schema": {"type": "integer"}}},
    },
}


# one route per method: a route of both gave both operations one operationId in the OpenAPI schema (FastAPI
# warned; client generators refuse duplicates)
@router.get(
    _STREAM_FILE,
    response_class=Response,
    responses=_STREAM_FILE_RESPONSES,
    dependencies=[Depends(require_read)],
)
@router.head(
    _STREAM_FILE,
    response_class=Response,
    responses=_STREAM_FILE_RESPONSES,
    dependencies=[Depends(require_read)],
    operation_id="stream_file_head",
)
async def stream_file(
    request: Request, stream: Name, trace: TracePath, session_id: SessionPath, file: str, state: StateDep
) -> Response:
    """The MPD or a segment of ``stream``; media segments paced by ``trace`` on the session's link.

    The MPD and init segments are sent at once; the video rungs' ``chunk-*`` segments go through the link
    (80 ms RTT, then the trace's rate x 0.95), one transfer at a time per session; audio segments are sent
    unshaped (the simulator has no audio). ``session_id`` ``-`` means unshaped.
    ``<trace>~busy`` advances the trace only while payload moves (the simulator's clock); by default, or
    with ``~wall``, it runs on wall time.
    """
    rt = _runtime(state)
    if not _ensure_stream(rt, stream, consume=request.method != "HEAD"):
        raise HTTPException(503, "the sample stream is being built; retry in a minute", {"Retry-After": "10"})
    s = _load_stream(rt, stream)  # an unknown stream first: "no such file 'a' in stream 'x'" for no stream x
    path = Path(s.folder) / file
    if not _FILE.fullmatch(file) or not path.is_file():
        raise HTTPException(404, f"no such file {file!r} in stream {stream!r}")
    if file.endswith(".mpd"):
        return await _file(request, path, "application/dash+xml")
    if file.endswith(".json"):
        return await _file(request, path, "application/json")
    # Representation ids past the ladder's are the audio's (package_dash numbers the video rungs first)
    rep = _SEGMENT.fullmatch(file)
    audio = rep is not None and int(rep.group(2)) >= len(s.renditions)
    media_type = "audio/mp4" if audio else "video/mp4"
    unshaped = trace.partition("~")[0] == "none"  # not every name starting so ("nonet.txt")
    # the video rungs' media segments only: an audio segment is no level, and the simulator the link is
    # compared with carries video alone; a HEAD moves no payload
    paced = rep is not None and rep.group(1) == "chunk" and not audio and not unshaped and session_id != "-"
    if not paced:
        return await _file(request, path, media_type)
    if request.method == "HEAD":  # what the paced GET sends: the whole file, no ranges, no validators,
        # and its answer to a trace it cannot use (404, 409 or 500; the HEAD was a 200 to any trace)
        await run_in_threadpool(_load_link_trace, _sessions(state), trace.partition("~")[0])
        size = (await asyncio.to_thread(path.stat)).st_size
        return Response(media_type=media_type, headers={**_NO_STORE, "Content-Length": str(size)})
    link = await _session_link(_sessions(state), session_id, trace, stream, s)
    if link is None:
        return await _file(request, path, media_type)
    body = await asyncio.to_thread(path.read_bytes)
    headers = {**_NO_STORE, "Content-Length": str(len(body))}
    return StreamingResponse(link.paced(body, label=file), media_type=media_type, headers=headers)


async def _file(request: Request, path: Path, media_type: str) -> Response:
    """``path`` as a file response (ranges, ETag, Last-Modified), or 304 when the request's preconditions
    say the client has it (RFC 9110 13.1.2-3: If-None-Match, weakly compared, else If-Modified-Since; both
    were ignored, a 200 with the whole file to a client that sent the ETag just given)."""
    stat = await asyncio.to_thread(path.stat)  # off the event loop, as FileResponse would stat it
    response = FileResponse(path, media_type=media_type, headers=_NO_STORE, stat_result=stat)
    etag = response.headers["etag"]
    none_match = request.headers.get("if-none-match")
    if none_match is not None:
        tags = [t.strip().removeprefix("W/") for t in none_match.split(",")]
        fresh = "*" in tags or etag in tags
    else:
        since = request.headers.get("if-modified-since")
        fresh = since is not None and _not_after(response.headers["last-modified"], since)
    if fresh:
        kept = {k: response.headers[k] for k in ("etag", "last-modified", "cache-control")}
        return Response(status_code=304, headers=kept)
    return response


def _not_after(modified: str, since: str) -> bool:
    """Whether the HTTP date ``modified`` is no later than ``since`` (False when ``since`` does not parse)."""
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False
    # asctime ("Sun Nov  6 08:49:37 1994") parses without a zone: HTTP dates are all GMT (RFC 9110 5.6.7)
    return parsedate_to_datetime(modified) <= (when if when.tzinfo else when.replace(tzinfo=UTC))


async def _session_link(
    rt: AbrRuntime, session_id: str, trace: str, stream_name: str, stream: Any
) -> Any | None:
    """The session's shaped link; ``stream_name`` is the stream as the URL names it (its folder), which
    ``stream.json``'s name need not be (a folder renamed or copied)."""
    from reelkit.stream.shaping import ShapedLink

    session = rt.sessions.get(session_id)
    if session is None:  # the player fetched before deciding: a session with the default algo
        req = DecideRequest(
            session_id=session_id, chunk_index=0, ladder_kbps=list(stream.bitrates_kbps), stream=stream_name
        )
        session = await run_in_threadpool(_new_session, rt, req)
        rt.sessions.put(session)
    if session.link is None or session.trace != trace:
        name, _, mode = trace.partition("~")
        if name == "none":
            return None
        session.link = ShapedLink(
            _load_link_trace(rt, name), trace_clock="busy" if mode == "busy" else "wall"
        )
        session.trace = trace
    return session.link


# ------------------------------------------------------------------------------------------------ page, JS
#: What to do when dash.js is not found (the service's 404, ``abr playback``, the demo page say it alike)
DASHJS_MISSING = (
    "dash.js is not installed: run scripts/vendor_dashjs.sh (npm ci in web/abr) or set REELKIT_DASHJS to a "
    "dash.all.min.js"
)


def dashjs_path() -> Path | None:
    """Where dash.js is: ``$REELKIT_DASHJS``, ``static/vendor/dash.all.min.js``, or the npm install in
    ``web/abr``."""
    env = os.environ.get("REELKIT_DASHJS")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve()
    candidates.append(here.parents[1] / "static" / "vendor" / "dash.all.min.js")
    candidates += [
        p / "web" / "abr" / "node_modules" / "dashjs" / "dist" / "modern" / "umd" / "dash.all.min.js"
        for p in here.parents
    ]
    return next((c for c in candidates if c.is_file()), None)


@router.get("/abr/vendor/dash.all.min.js", include_in_schema=False)
def dashjs() -> Response:
    """dash.js from the local npm install (``scripts/vendor_dashjs.sh``)."""
    path = dashjs_path()
    if path is None:
        raise HTTPException(404, DASHJS_MISSING)
    return FileResponse(path, media_type="text/javascript", headers={"Cache-Control": "max-age=3600"})


@router.get("/abr/rule.js", include_in_schema=False)
def rule_js() -> Response:
    """The custom dash.js ABR rule (also under /static when the web pages are on)."""
    path = Path(__file__).resolve().parents[1] / "static" / "abr_rule.js"
    return FileResponse(path, media_type="text/javascript", headers=_NO_STORE)


@router.get("/abr/demo", response_class=HTMLResponse, include_in_schema=False)
@router.head("/abr/demo", response_class=HTMLResponse, include_in_schema=False)
async def demo(
    request: Request,
    state: StateDep,
    stream: Annotated[str, Query(pattern=_NAME, max_length=100)] = SAMPLE_STREAM,
    trace: Annotated[str, Query(pattern=_NAME, max_length=100)] = "none",
    algo: Annotated[str | None, Query(max_length=64)] = None,
    session: Annotated[str | None, Query(pattern=_NAME, max_length=100)] = None,
    clock: Literal["wall", "busy"] = "wall",
    model: Annotated[str | None, Query(max_length=100)] = None,
) -> Response:
    """Play ``stream`` with dash.js: levels chosen by ``/v1/abr/decide`` (with ``model``, a trained policy's
    file in ``DATA/abr/models``), segments paced by ``trace``."""
    require_pages(state)
    rt = _sessions(state)
    if not _ensure_stream(rt, stream, consume=request.method != "HEAD"):
        wait: dict[str, Any] = {
            **state.header(request),
            "building": True,
            "stream_name": stream,
        }
        return state.templates.TemplateResponse(
            request, "abr_demo.html", wait, status_code=503, headers={**_NO_STORE, "Retry-After": "5"}
        )
    s = _load_stream(rt, stream)
    from reelkit.stream.abr.registry import policy_name, takes_model

    names = _algos()
    chosen = policy_name(algo or default_algo())  # the aliases /v1/abr/decide takes (rmpc, bb)
    if chosen is None:
        raise HTTPException(404, f"unknown algo {algo!r}; choose one of {', '.join(names)}")
    traces = _trace_names(rt)
    if trace not in traces and not re.fullmatch(r"const-\d+(\.\d+)?", trace):
        raise HTTPException(404, f"no trace {trace!r}; available: {', '.join(traces)} or const-<Mbps>")
    if trace != "none":  # a trace the segment server refuses (const-0, a damaged file) is refused here too
        _load_link_trace(rt, trace)
    # a model the decisions could not use is refused before the player starts; the form's "shipped" is none
    model = model or None
    if model is not None and not re.fullmatch(_NAME, model):
        raise HTTPException(404, f"no model {model!r}: a model is a file name in DATA/abr/models")

    def not_found(field: str, message: str) -> HTTPException:
        return HTTPException(404, message)

    _policy_with(chosen, _model_file(rt, model, chosen, not_found), model, not_found)
    sid = session or f"demo-{os.urandom(6).hex()}"
    config = {
        "sessionId": sid,
        "stream": stream,
        "trace": trace,
        "algo": chosen,
        "model": model,
        "ladderKbps": list(s.bitrates_kbps),
        "segmentS": s.segment_s,
        "segments": s.n_segments,
        "clock": clock,
        "mpd": f"/abr/stream/{stream}/{trace}{'~busy' if clock == 'busy' else ''}/{sid}/manifest.mpd",
        "decideUrl": "/v1/abr/decide",
        "logUrl": f"/v1/abr/sessions/{sid}/log",
    }
    ctx: dict[str, Any] = {
        **state.header(request),
        "config": config,
        "stream": s,
        "traces": traces,
        "streams": _stream_names(rt) or [stream],
        "algos": names,
        "models": _model_names(rt),
        "learned": [a for a in names if takes_model(a)],  # the algos the model choice applies to
        "dashjs_ok": dashjs_path() is not None,
        "ladder": list(zip(s.renditions, np.arange(len(s.renditions)), strict=True)),
    }
    return state.templates.TemplateResponse(request, "abr_demo.html", ctx, headers=_NO_STORE)
