"""What the routers share: the service state, typed dependencies, authentication, the body size limit, the
web-page switch and the per-app semaphores that bound concurrent heavy work."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.templating import Jinja2Templates
from starlette.routing import Match, Router
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reelkit.service.metrics import Metrics
from reelkit.service.models import ModelBundle, ModelHolder
from reelkit.service.settings import ServiceSettings
from reelkit.service.store import Store, write_deadline

__all__ = [
    "BodyLimitMiddleware",
    "BundleDep",
    "ContentEncodingMiddleware",
    "HeadAsGetMiddleware",
    "ServiceState",
    "StateDep",
    "app_semaphore",
    "get_state",
    "require_pages",
    "require_read",
    "require_store_write",
    "require_write",
    "write_arrival",
]


#: the cookie holding the chosen profile (signed member id)
PROFILE_COOKIE = "rk_profile"


@dataclass
class ServiceState:
    """Everything a request needs, built by the app's lifespan."""

    settings: ServiceSettings
    store: Store
    models: ModelHolder
    metrics: Metrics
    templates: Jinja2Templates
    session_key: bytes
    extra: dict[str, Any] = field(default_factory=dict)
    #: The threads ``/health`` and ``/ready`` read the store on, apart from the shared thread pool, which
    #: writers waiting on a busy database can fill (threads are started on first use)
    probes: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=2, thread_name_prefix="reelkit-probe")
    )

    # profile cookies of the web pages: base64url(member id) "." hmac
    def sign_member(self, member_id: str) -> str:
        raw = base64.urlsafe_b64encode(member_id.encode()).decode().rstrip("=")
        mac = hmac.new(self.session_key, raw.encode(), hashlib.sha256).hexdigest()[:32]
        return f"{raw}.{mac}"

    def header(self, request: Any) -> dict[str, Any]:
        """What every page's header shows: the profile chosen on this browser (its signed cookie) and the
        model version served, so pages outside the home page do not drop them."""
        member_id = self.member_from_cookie(request.cookies.get(PROFILE_COOKIE))
        bundle = self.models.current
        return {
            "profile": self.store.get_member(member_id) if member_id else None,
            "model_version": bundle.version if bundle is not None else None,
        }

    def member_from_cookie(self, value: str | None) -> str | None:
        if not value or "." not in value:
            return None
        raw, _, mac = value.rpartition(".")
        good = hmac.new(self.session_key, raw.encode(), hashlib.sha256).hexdigest()[:32]
        # as bytes: compare_digest raises TypeError on a str with non-ASCII letters (a 500 on every page
        # for as long as the browser kept such a cookie)
        if not hmac.compare_digest(mac.encode("utf-8", "surrogateescape"), good.encode()):
            return None
        try:
            return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
        except (ValueError, UnicodeDecodeError):
            return None


# The dependencies are ``async`` although they do not await: FastAPI runs sync dependencies in the thread
# pool, and a thread hop per dependency costs more than the work they do.
async def get_state(request: Request) -> ServiceState:
    state: ServiceState = request.app.state.reelkit
    return state


StateDep = Annotated[ServiceState, Depends(get_state)]


async def get_bundle(state: StateDep) -> ModelBundle:
    """The model bundle for this request (read once: a switch during the request does not affect it)."""
    return state.models.require()


BundleDep = Annotated[ModelBundle, Depends(get_bundle)]

_bearer = HTTPBearer(auto_error=False, description="The API token (REELKIT_API_TOKEN or service.json).")


def _check_token(state: ServiceState, creds: HTTPAuthorizationCredentials | None, what: str) -> None:
    token = state.settings.api_token
    if token is None:
        raise HTTPException(
            status_code=403,
            detail=f"{what} are disabled: no API token is configured; set REELKIT_API_TOKEN or "
            "'api_token' in service.json in the server's data folder",
        )
    if creds is None:
        raise HTTPException(
            status_code=401,
            detail=f"{what} need a bearer token: send 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not hmac.compare_digest(creds.credentials.encode(), token.get_secret_value().encode()):
        raise HTTPException(
            status_code=401,
            detail="invalid bearer token",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )


async def require_write(
    state: StateDep, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """Write endpoints always need the API token."""
    _check_token(state, creds, "writes")


async def write_arrival(state: StateDep) -> None:
    """A write's wait for another writer counts from here, the request's arrival (``write_deadline``):
    time queued for a thread of the pool, which writers waiting on a busy database can fill, counts against
    the busy timeout. For every route writing to the store, the API's (through ``require_store_write``) and
    the web page's play button."""
    write_deadline.set(time.monotonic() + state.settings.busy_timeout_s)


async def require_store_write(
    _: Annotated[None, Depends(require_write)], __: Annotated[None, Depends(write_arrival)]
) -> None:
    """A write that changes the store (events, a member, the current model version): the token, as every
    write; marks the route for the OpenAPI document, which says it can be 503 while another writer holds
    the database (Retry-After) and 507 when the server's disk is full. Its wait for another writer counts
    from its arrival (``write_arrival``)."""


async def require_read(
    state: StateDep, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> None:
    """Read endpoints need the token only when ``protect_reads`` is set."""
    if state.settings.protect_reads:
        _check_token(state, creds, "reads")


def require_pages(state: ServiceState) -> None:
    """404 unless the web pages are on: ``web_ui`` set and reads not protected (a browser cannot send the
    API token)."""
    if not state.settings.web_ui or state.settings.protect_reads:
        raise HTTPException(status_code=404, detail="the web pages are turned off on this server")


def app_semaphore(state: ServiceState, key: str, limit: int) -> asyncio.Semaphore:
    """The app's semaphore stored under ``key`` in ``state.extra``, allowing ``limit`` holders (one per app
    and key, made on first use inside the app's event loop; ``limit`` only counts when it is made)."""
    gate = state.extra.get(key)
    if not isinstance(gate, asyncio.Semaphore):
        gate = state.extra[key] = asyncio.Semaphore(limit)
    return gate


class HeadAsGetMiddleware:
    """HEAD wherever GET is (RFC 9110 §9.1: a server supporting GET supports HEAD): a HEAD that no route
    takes, at a path a GET route takes, runs as that GET and its body is dropped; the status and headers
    (Content-Type, Content-Length) are the GET's. Routes taking HEAD themselves (``/health``, the pages,
    the ABR segments) get it as it is; a path without GET answers HEAD 405, as before."""

    def __init__(self, app: ASGIApp, router: Router) -> None:
        self.app = app
        self.router = router

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD" or not self._answered_by_get(scope):
            await self.app(scope, receive, send)
            return

        async def without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)

    def _answered_by_get(self, scope: Scope) -> bool:
        def taken(method: str) -> bool:
            probe = {**scope, "method": method}
            return any(route.matches(probe)[0] is Match.FULL for route in self.router.routes)

        return not taken("HEAD") and taken("GET")


#: An error page for a request that wants one (a browser's, on a page route), or None for the API's JSON
ErrorPage = Callable[[Request, int, str], Response | None]


class ContentEncodingMiddleware:
    """Refuses a request whose body is sent with a Content-Encoding other than ``identity`` with 415 naming
    the codings, and ``Accept-Encoding: identity`` (RFC 9110 §15.5.16): bodies are taken uncompressed only.
    A gzipped JSON body was read as text (a 400 saying it is not UTF-8), and a plain one labelled ``br`` was
    stored as if the label were not there. A request without a body (no Content-Length over 0, no
    Transfer-Encoding) is taken whatever its label says; ``page`` renders the error page a page's form gets
    (the other errors' page), the API answering JSON."""

    def __init__(self, app: ASGIApp, page: ErrorPage | None = None) -> None:
        self.app = app
        self.page = page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._has_body(scope):
            codings = [
                c.strip().lower()
                for name, value in scope.get("headers", [])
                if name == b"content-encoding"
                for c in value.decode("latin-1").split(",")
            ]
            refused = list(dict.fromkeys(c for c in codings if c and c != "identity"))
            if refused:
                await self._refuse(scope, receive, send, refused)
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _has_body(scope: Scope) -> bool:
        for name, value in scope.get("headers", []):
            if name == b"transfer-encoding":
                return True
            if name == b"content-length":
                try:
                    if int(value) > 0:
                        return True
                except ValueError:  # not a length: taken as a body, as the server will read one
                    return True
        return False

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, codings: list[str]) -> None:
        named = ", ".join(repr(c) for c in codings)
        message = f"the body's Content-Encoding {named} is not supported: send it uncompressed"
        response = self.page(Request(scope), 415, message) if self.page is not None else None
        if response is None:
            response = JSONResponse(
                {"error": "unsupported_media_type", "message": message, "fields": []}, status_code=415
            )
        response.headers["Accept-Encoding"] = "identity"
        await response(scope, receive, send)


class BodyLimitMiddleware:
    """Refuses request bodies over ``max_bytes`` with 413, by Content-Length or while reading."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        *,
        upload_bytes: int | None = None,
        upload_paths: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_bytes = upload_bytes or max_bytes
        self.upload_paths = upload_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.upload_paths and str(scope.get("path", "")).startswith(self.upload_paths):
            # media uploads (QC, production files) have their own, larger limit
            await BodyLimitMiddleware(self.app, self.upload_bytes)(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = 0
                if length > self.max_bytes:
                    await self._refuse(send, scope)
                    return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise HTTPException(status_code=413, detail=self._message())
            return message

        await self.app(scope, limited, send)

    def _message(self) -> str:
        return f"request body too large: at most {self.max_bytes} bytes; send smaller batches"

    async def _refuse(self, send: Send, scope: Scope) -> None:
        import html
        import json

        accept = next((v for k, v in scope.get("headers", []) if k == b"accept"), b"").decode("latin-1")
        if "text/html" in accept and not str(scope.get("path", "")).startswith("/v1"):
            # a page's upload form: a page, saying the file is too large
            mib = self.max_bytes / 2**20
            text = f"The file is too large: at most {mib:,.0f} MiB can be uploaded here."
            body = (
                "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Too large · reelkit"
                f"</title></head><body><h1>Too large</h1><p>{html.escape(text)}</p>"
                "<p><a href='javascript:history.back()'>Back</a></p></body></html>"
            ).encode()
            kind = b"text/html; charset=utf-8"
        else:
            body = json.dumps({"error": "too_large", "message": self._message(), "fields": []}).encode()
            kind = b"application/json"
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})
