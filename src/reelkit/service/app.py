"""The FastAPI application factory.

``create_app(settings)`` builds the app; nothing is opened or loaded until the app starts: the lifespan
handler opens the store, loads the current model version, and starts a background task that switches to a
newer version when ``reelkit retrain`` records one (see :mod:`reelkit.service.models`).

Errors are JSON everywhere under ``/v1`` (and for ``/health``, ``/metrics``, ``/ui``)::

    {"error": "not_found", "message": "unknown member id 'x'", "fields": []}

with ``fields`` naming each invalid field for 422s (``events[3].position``). Unknown ids: 404; invalid
payloads: 422; a body that is not JSON: 400; batches or bodies too large: 413; a JSON body sent under another
Content-Type, or compressed (a Content-Encoding other than identity: bodies are taken uncompressed only):
415; missing or wrong token: 401; event id reused with other content, a member id taken, or a
model version to activate whose files are gone: 409; no model trained yet, or a write while another writer
holds the database: 503 (with Retry-After); out of memory for a request: 503; the server's disk full: 507
(nothing stored). Web pages get an HTML error page.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import logging
import os
import secrets
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, SecretStr
from starlette.exceptions import HTTPException as StarletteHTTPException

from reelkit.config import error_message
from reelkit.errors import ConfigError, ReelkitError, UnknownIdError, UserInputError
from reelkit.service.deps import (
    BodyLimitMiddleware,
    ContentEncodingMiddleware,
    HeadAsGetMiddleware,
    ServiceState,
)
from reelkit.service.errors import (
    EventConflictError,
    MemberExistsError,
    ModelVersionUnusableError,
    NoModelError,
    StoreFullError,
    UnknownReferenceError,
)
from reelkit.service.metrics import Metrics, MetricsMiddleware
from reelkit.service.models import ModelHolder
from reelkit.service.settings import ServiceSettings, session_key, session_key_kept
from reelkit.service.store import Store, open_store

__all__ = ["create_app"]

log = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    500: "internal_error",
    503: "unavailable",
    507: "storage_full",
}
#: the methods a 405's Allow header is made from (see ``_allowed_methods``)
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
#: Paths that take file uploads (larger body limit, ``settings.max_upload_bytes``): media for QC and the
#: stripboard page's production file. The JSON API (``/v1/produce/plan`` included) keeps the API's limit.
UPLOAD_PATHS = ("/qc", "/v1/qc", "/produce/stripboard")
_JSON_PREFIXES = ("/v1", "/health", "/ready", "/metrics", "/ui", "/docs", "/openapi", "/redoc")


def _package_dir(name: str) -> Path:
    return Path(str(resources.files("reelkit.service").joinpath(name)))


def _body_message(err: Any) -> str:
    """A pydantic error in words; a body missing, or not an object, is said to be (not "Field required")."""
    if tuple(err.get("loc", ())) == ("body",):
        if err.get("type") == "missing":
            return "the request body is missing: send a JSON object"
        if err.get("type") in ("dict_type", "model_type", "model_attributes_type"):
            return "the body must be a JSON object"
    return error_message(err)


def _field_name(loc: Sequence[Any], kind: str | None = None) -> str:
    """``events[3].position`` from pydantic's location; a missing or unknown event ``kind`` (the union's
    tag, reported on the event) is named ``events[3].kind``."""
    parts = list(loc)
    if kind in ("union_tag_not_found", "union_tag_invalid"):
        parts.append("kind")
    body = bool(parts) and parts[0] == "body"
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    out = ""
    prev: Any = None
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif isinstance(prev, int) and p in ("play", "rating", "thumb"):
            pass  # the discriminated union's tag: not a field of the request
        else:
            out += ("." if out else "") + str(p)
        prev = p
    return out or ("body" if body else "(request)")


def _error(
    status: int,
    message: str,
    fields: Sequence[tuple[str, str]] = (),
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        {
            "error": _CODES.get(status, "error"),
            "message": message,
            "fields": [{"field": f, "message": m} for f, m in fields],
        },
        status_code=status,
        headers=headers or None,
    )


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith(_JSON_PREFIXES) and "text/html" in request.headers.get(
        "accept", ""
    )


def _json_sent_untyped(request: Request, exc: RequestValidationError) -> bool:
    """Whether a JSON body was refused as a whole for its Content-Type (``curl -d`` sends a form's): the body
    is then not read as JSON, and pydantic's "a valid dictionary" names no field the client got wrong."""
    kind = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if kind == "application/json" or kind.endswith("+json"):
        return False
    # an empty body is missing, whatever its type says (a 422 naming it, not a 415)
    whole = [err for err in exc.errors() if tuple(err.get("loc", ())) == ("body",)]
    return any(err.get("type") != "missing" for err in whole)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def validation(request: Request, exc: RequestValidationError) -> Response:
        bad_json = [e for e in exc.errors() if e.get("type") == "json_invalid"]
        if bad_json:  # as documented, a 400: its "loc" is a character offset, not a field
            err = bad_json[0]
            where = err.get("loc", ())[-1]
            reason = err.get("ctx", {}).get("error", "unreadable")
            msg = f"the body is not valid JSON ({reason} at character {where})"
            if _wants_html(request):
                return _html_error(request, 400, msg)
            return _error(400, msg, [("body", msg)])
        if _json_sent_untyped(request, exc):
            msg = "the body must be sent as JSON, with the header 'Content-Type: application/json'"
            return _error(415, msg, [("body", msg)])
        fields = []
        for err in exc.errors():
            fields.append((_field_name(err.get("loc", ()), err.get("type")), _body_message(err)))
        names = ", ".join(dict.fromkeys(f for f, _ in fields))
        if _wants_html(request):  # a page's link or form: the browser gets a page, not JSON
            detail = "; ".join(f"{f}: {m}" for f, m in fields)
            return _html_error(request, 422, f"This address has a value the page cannot use ({detail}).")
        return _error(422, f"invalid request: {names}", fields)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = str(exc.detail) if exc.detail else _CODES.get(exc.status_code, "error")
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such page or endpoint: {request.url.path}"
        fields: list[tuple[str, str]] = []
        if exc.status_code == 400 and message == "There was an error parsing the body":
            # FastAPI's words for a body it could not decode (not UTF-8) or parse (nested too deep)
            message = "the body is not valid JSON (it is not UTF-8 text, or it is nested too deeply)"
            fields = [("body", message)]
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers = {**headers, "Allow": _allowed_methods(request) or headers.get("Allow", "")}
        if _wants_html(request):
            page = _html_error(request, exc.status_code, message)
            if "Allow" in headers:
                page.headers["Allow"] = headers["Allow"]
            return page
        return _error(exc.status_code, message, fields, headers=headers)

    @app.exception_handler(ReelkitError)
    async def reelkit_error(request: Request, exc: ReelkitError) -> Response:
        fields: list[tuple[str, str]] = []
        message = str(exc)
        if isinstance(exc, UnknownReferenceError):
            status, fields = 404, [(loc, f"unknown id {value!r}") for loc, value in exc.fields]
        elif isinstance(exc, EventConflictError):
            status, fields = (
                409,
                [(loc, f"event id {value!r} already used with other content") for loc, value in exc.fields],
            )
        elif isinstance(exc, MemberExistsError):
            status, fields = 409, [("member_id", str(exc))]
        elif isinstance(exc, ModelVersionUnusableError):
            status = 409
        elif isinstance(exc, UnknownIdError):
            status = 404
        elif isinstance(exc, NoModelError):
            status = 503
        elif isinstance(exc, StoreFullError):  # the server's disk, not the request: nothing was stored
            log.error("request %s failed: %s", request.url.path, exc)
            status, message = 507, "the server's storage is full; nothing was stored, retry later"
        elif isinstance(exc, UserInputError):
            status = 400
        else:
            log.error("request %s failed: %s", request.url.path, exc)
            status = 500
        if _wants_html(request):
            return _html_error(request, status, message)
        return _error(status, message, fields)

    @app.exception_handler(sqlite3.OperationalError)
    async def busy(request: Request, exc: sqlite3.OperationalError) -> Response:
        # another writer (an import, a retrain) held the database past the busy timeout: a client should
        # retry, so this is 503 with Retry-After rather than an internal error
        text = str(exc).lower()
        if "locked" in text or "busy" in text:
            log.warning("%s %s: the database is busy (%s)", request.method, request.url.path, exc)
            return _error(
                503, "the database is busy with another writer; retry shortly", headers={"Retry-After": "2"}
            )
        log.exception("database error in %s %s", request.method, request.url.path)
        return _error(500, "internal error; the server log has the details")

    @app.exception_handler(MemoryError)
    async def out_of_memory(request: Request, exc: MemoryError) -> Response:
        # a request too large for the server's memory (numpy's array it could not allocate): the server is
        # fine and can answer others, so a 503 in the error shape, not an internal error's traceback
        log.error("out of memory in %s %s: %s", request.method, request.url.path, exc or "MemoryError")
        message = "the server ran out of memory for this request; retry later or ask for less"
        if _wants_html(request):
            return _html_error(request, 503, message)
        return _error(503, message)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error in %s %s", request.method, request.url.path)
        if _wants_html(request):
            return _html_error(
                request, 500, "Something went wrong on our side; the server log has the details."
            )
        return _error(500, "internal error; the server log has the details")


def _allowed_methods(request: Request) -> str:
    """Every method a route takes at the request's path, for a 405's Allow (RFC 9110 §10.2.1): each method
    is a route of its own, and Starlette named the first route matching the path alone (DELETE /v1/members
    said GET, though POST is one too). Each method is tried on the app's routes (FastAPI nests included
    routers, so the routes cannot simply be listed); a mount (static files) takes any method and says none."""
    from starlette.routing import Match, Mount

    routes = [r for r in request.app.router.routes if not isinstance(r, Mount)]
    allowed = {
        method
        for method in _METHODS
        if any(r.matches({**request.scope, "method": method})[0] is Match.FULL for r in routes)
    }
    if "GET" in allowed:  # HEAD is answered as GET (HeadAsGetMiddleware)
        allowed.add("HEAD")
    return ", ".join(m for m in _METHODS if m in allowed)


def _page_error(request: Request, status: int, message: str) -> Response | None:
    """The error page for a request that wants one (a page's link or form), else None (the API's JSON):
    for a middleware answering before the exception handlers."""
    return _html_error(request, status, message) if _wants_html(request) else None


def _html_error(request: Request, status: int, message: str) -> Response:
    state: ServiceState | None = getattr(request.app.state, "reelkit", None)
    if state is None:  # pragma: no cover - only before startup
        return _error(status, message)
    return state.templates.TemplateResponse(
        request,
        "error.html",
        {
            "message": message,
            **_header_or_none(state, request),
            "status": status,
            "heading": _ERROR_TITLES.get(status, "Something went wrong"),
        },
        status_code=status,
    )


def _header_or_none(state: ServiceState, request: Request) -> dict[str, Any]:
    """The page header's profile and model version; none when the store cannot say (an error page must
    render even when the error is the store's)."""
    try:
        return state.header(request)
    except Exception:
        return {"profile": None, "model_version": None}


_ERROR_TITLES = {
    400: "Bad request",
    401: "Sign-in needed",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed here",
    409: "Conflict",
    413: "Too large",
    422: "Cannot use this address",
    503: "Not ready yet",
    507: "Storage full",
}


def _swagger_assets() -> Path | None:
    """Swagger UI 5's files from the ``swagger-ui-py`` wheel, so that ``/docs`` works without internet
    (FastAPI's default page loads them from a CDN and is blank offline); ``None`` when it is not installed.
    (``swagger-ui-bundle``'s Swagger UI 4.15 cannot read the OpenAPI 3.1 FastAPI writes: the page said
    "Unable to render this definition".) The package is located, not imported: its ``__init__`` is for
    frameworks it plugs into, which reelkit does not use."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "static"
    return path if (path / "swagger-ui-bundle.js").is_file() and (path / "swagger-ui.css").is_file() else None


def _serve_docs_offline(app: FastAPI, assets: Path) -> None:
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import FileResponse, HTMLResponse

    # the two files the page loads, not the wheel's whole folder (20 MB of the Swagger editor, source maps)
    files = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}

    @app.get("/docs-assets/{name}", include_in_schema=False)
    async def docs_asset(name: str) -> FileResponse:
        if name not in files:
            raise StarletteHTTPException(status_code=404)
        return FileResponse(assets / name, media_type=files[name])

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title="reelkit API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="data:,",
        )


def create_app(settings: ServiceSettings, *, store: Store | None = None) -> FastAPI:
    """The reelkit service as an ASGI app (see the module docstring).

    ``store`` overrides the store opened from ``settings.data_dir`` (it is then not closed on shutdown).
    """
    metrics = Metrics(labels=(("worker", str(os.getpid())),) if settings.workers > 1 else ())
    templates = Jinja2Templates(directory=str(_package_dir("templates")))
    from reelkit.service.routers import (
        abr,
        communities,
        events,
        members,
        post,
        produce,
        stream,
        system,
        titles,
        web,
    )

    templates.env.globals.update(web.template_globals())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_store = store is None
        st = open_store(settings.data_dir, busy_timeout_s=settings.busy_timeout_s) if store is None else store
        holder = ModelHolder(
            settings.data_dir,
            st,
            config=settings.home,  # for versions trained before they kept their own home settings
            cache_size=settings.page_cache_size,
            warm_pages=settings.warm_pages,
            popularity_refresh_s=settings.popularity_refresh_s,
            live_popularity=settings.model_poll_seconds > 0,
            freeze_heap=settings.freeze_heap,
        )
        await run_in_threadpool(holder.refresh)
        key = (
            settings.session_secret.get_secret_value().encode()
            if settings.session_secret is not None
            else session_key(settings.data_dir)
        )
        app.state.reelkit = ServiceState(
            settings=settings, store=st, models=holder, metrics=metrics, templates=templates, session_key=key
        )
        poller: asyncio.Task[None] | None = None
        if settings.model_poll_seconds > 0:
            poller = asyncio.create_task(_poll(holder, settings.model_poll_seconds))
        try:
            yield
        finally:
            if poller is not None:
                poller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poller
            await run_in_threadpool(holder.close)  # waits for the cache warm-up to stop
            await run_in_threadpool(app.state.reelkit.probes.shutdown)  # a probe reading now finishes
            if own_store:
                st.close()

    swagger = _swagger_assets()
    app = FastAPI(
        title="reelkit",
        summary="Personal home pages, live events and taste communities for a streaming catalog.",
        version="1",
        lifespan=lifespan,
        docs_url=None if swagger is not None else "/docs",
    )
    if swagger is not None:
        _serve_docs_offline(app, swagger)
    _install_error_handlers(app)
    api_routers = [
        m.router for m in (members, titles, communities, events, system, abr, post, produce, stream)
    ]
    for router in api_routers:
        app.include_router(router)
    if settings.web_ui and not settings.protect_reads:
        app.include_router(web.router)
        app.mount("/static", StaticFiles(directory=str(_package_dir("static"))), name="static")
    app.add_middleware(HeadAsGetMiddleware, router=app.router)  # inside the metrics: counted as HEAD
    app.add_middleware(ContentEncodingMiddleware, page=_page_error)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        upload_bytes=settings.max_upload_bytes,
        upload_paths=UPLOAD_PATHS,
    )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    _document_errors(app, api_routers, settings)
    return app


def _document_errors(app: FastAPI, routers: Sequence[APIRouter], settings: ServiceSettings) -> None:
    """Make the OpenAPI document say what the error handlers answer on this configuration: every 422 is an
    ``ErrorBody`` (not FastAPI's ``HTTPValidationError``), a body that is not JSON is a 400 and one too
    large a 413, an operation that needs a model can be a 503 until one is trained, writes can be 401/403
    (no or a wrong token, none configured); reads need the token (and say so) only when ``protect_reads`` is
    set; writes that change the store (marked by their ``require_store_write`` dependency) can be a 503 with
    Retry-After while another writer holds the database, and a 507 when the server's disk is full."""
    from fastapi.dependencies.models import Dependant
    from fastapi.openapi.utils import get_openapi
    from fastapi.routing import APIRoute

    from reelkit.service.deps import get_bundle, require_read, require_store_write, require_write
    from reelkit.service.schemas import ErrorBody

    def calls(dep: Dependant, fn: Any) -> bool:
        return any(d.call is fn or calls(d, fn) for d in dep.dependencies)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
        components = schema.setdefault("components", {}).setdefault("schemas", {})

        def register(model: type[BaseModel]) -> dict[str, str]:
            """``model``'s schema (and those it refers to) among the components; a name taken by another
            schema is an error here, where it would otherwise document one body with another's fields."""
            model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, sub in [*model_schema.pop("$defs", {}).items(), (model.__name__, model_schema)]:
                if components.setdefault(name, sub) != sub:
                    raise RuntimeError(f"two schemas named {name} in the OpenAPI document")
            return {"$ref": f"#/components/schemas/{model.__name__}"}

        body = {"content": {"application/json": {"schema": register(ErrorBody)}}}
        # a body taken as JSON and validated by the library's own parser (its messages name the fields as
        # the file's), documented here by the model that parser validates against
        for path, model in _library_bodies().items():
            content = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"]
            content["schema"] = {**register(model), "description": content["schema"].get("description", "")}
        seconds = {"schema": {"type": "integer"}}
        for route in (r for router in routers for r in router.routes):
            if not isinstance(route, APIRoute) or not route.include_in_schema:
                continue
            for method in route.methods or ():
                op = schema.get("paths", {}).get(route.path_format, {}).get(method.lower())
                if op is None:
                    continue
                resp = op.setdefault("responses", {})
                if "422" in resp:
                    resp["422"] = {"description": "Invalid request: the fields are named", **body}
                if "requestBody" in op:
                    resp.setdefault("400", {"description": "The body is not valid JSON", **body})
                    resp.setdefault("413", {"description": "The body is too large", **body})
                    compressed = "compressed (a Content-Encoding other than identity: bodies are taken "
                    compressed += "uncompressed only)"
                    if "application/json" in op["requestBody"].get("content", {}):  # not an upload's form
                        text = f"The body is not sent as JSON, or is {compressed}"
                    else:
                        text = f"The body is {compressed}"
                    resp.setdefault("415", {"description": text, **body})
                    resp["415"]["headers"] = {
                        "Accept-Encoding": {"description": "identity", "schema": {"type": "string"}}
                    }
                unavailable = []
                if calls(route.dependant, get_bundle):
                    unavailable.append("no model is trained yet")
                writes = calls(route.dependant, require_write)
                stores = calls(route.dependant, require_store_write)  # events, a member, the current model
                if stores:
                    unavailable.append("the database is busy with another writer: retry after Retry-After")
                if unavailable and "503" not in resp:
                    text = "; ".join(unavailable)
                    resp["503"] = {"description": text[0].upper() + text[1:], **body}
                    if stores:
                        resp["503"]["headers"] = {"Retry-After": {"description": "Seconds", **seconds}}
                if stores:
                    resp.setdefault(
                        "507", {"description": "The server's storage is full: nothing was stored", **body}
                    )
                if writes or (settings.protect_reads and calls(route.dependant, require_read)):
                    what = "Writes" if writes else "Reads"
                    resp.setdefault("401", {"description": "No token, or a wrong one", **body})
                    resp.setdefault("403", {"description": f"{what} are off: no API token is set", **body})
                elif calls(route.dependant, require_read):
                    op.pop("security", None)  # reads are open: no token is asked for
        for unused in ("HTTPValidationError", "ValidationError"):  # FastAPI's, replaced above
            if f'/{unused}"' not in json.dumps(schema["paths"]):
                components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _library_bodies() -> dict[str, type[BaseModel]]:
    """The JSON bodies the library validates (the route takes a plain object), by path."""
    from reelkit.produce.production import Production

    return {"/v1/produce/plan": Production}


#: The environment variable that gives each worker process of ``reelkit serve --workers N`` its settings.
WORKER_ENV = "REELKIT_SERVE_WORKER"


def worker_spec(settings: ServiceSettings) -> dict[str, str]:
    """The environment that makes :func:`worker_app` build the app of ``settings`` in a worker process.

    The settings go whole, secrets included (the environment of a process is its user's alone), with the
    profile cookies' key fixed here: every worker must sign as the others do, also where the data folder's
    ``session.key`` cannot be made (each process would then sign with its own random key)."""
    if settings.session_secret is None:
        key = session_key(settings.data_dir)
        if not session_key_kept(settings.data_dir, key):  # a key for this process only: one for all
            settings = settings.model_copy(update={"session_secret": SecretStr(secrets.token_urlsafe(32))})
    values = settings.model_dump(mode="json")
    for name in ("api_token", "session_secret"):
        secret = getattr(settings, name)
        values[name] = None if secret is None else secret.get_secret_value()
    return {WORKER_ENV: json.dumps({"parent": os.getpid(), "settings": values})}


def worker_app() -> FastAPI:
    """The app of one worker process of ``reelkit serve --workers N`` (uvicorn's app factory): the settings
    :func:`worker_spec` put in the environment, taken out of it (ffmpeg and other children get none). The
    worker stops (SIGTERM, as the supervisor stops it) when the supervising process dies: killed alone (the
    OOM killer, ``kill -9``), it left its workers serving the port with nobody to stop them."""
    spec = os.environ.pop(WORKER_ENV, None)
    if spec is None:
        raise ConfigError(
            f"${WORKER_ENV} is not set: worker_app is for the processes of 'reelkit serve --workers'"
        )
    given = json.loads(spec)
    _stop_with_parent(int(given["parent"]))
    return create_app(ServiceSettings.model_validate(given["settings"]))


def _stop_with_parent(parent: int, every_s: float = 0.5) -> None:
    """SIGTERM to this process once ``parent`` is no longer its parent: at once on Linux (the kernel's
    parent-death signal), else within ``every_s`` (a watching thread, which also covers a parent that died
    before the signal was asked for)."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            pr_set_pdeathsig = 1
            ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="reelkit-parent-watch", daemon=True).start()


async def _poll(holder: ModelHolder, every: float) -> None:
    """Switch to a newly trained version when the store names one, and count the events stored since into
    the Trending and community rows (off the event loop)."""
    while True:
        await asyncio.sleep(every)
        try:
            await run_in_threadpool(holder.refresh)
            await run_in_threadpool(holder.count_events)
        except ReelkitError as exc:  # pragma: no cover - logged, retried
            log.warning("model refresh failed: %s", exc)
        except Exception:  # pragma: no cover - a poll must never die
            log.exception("model refresh failed")
