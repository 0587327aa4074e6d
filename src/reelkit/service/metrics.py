"""Request metrics in the Prometheus text exposition format (no client library needed).

:class:`MetricsMiddleware` counts requests by method, route template and status, and observes their
latency in a histogram; :meth:`Metrics.render` writes them with the gauges the caller adds (model version,
events stored ...). Routes are labelled by their template (``/v1/members/{member_id}/home``), never by the
raw path, so labels stay few.
"""

from __future__ import annotations

import re
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["LATENCY_BUCKETS", "Gauge", "Metrics", "MetricsMiddleware"]

LATENCY_BUCKETS: tuple[float, ...] = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)  # fmt: skip

_CONVERTOR = re.compile(r"\{(\w+):\w+\}")


@dataclass(frozen=True)
class Gauge:
    """One sample to expose: ``name{labels} value`` with its help text and type."""

    name: str
    help: str
    value: float
    labels: tuple[tuple[str, str], ...] = ()
    kind: str = "gauge"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in pairs)
    return "{" + inner + "}" if inner else ""


def _num(v: float) -> str:
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))


class Metrics:
    """Counters and latency histograms of the HTTP requests, plus event ingest counters.

    ``labels`` go on every sample of these (a server of several processes labels each process's own,
    ``worker="<pid>"``, so that the series of its processes, scraped in turn, are not read as one counter
    going back and forth)."""

    def __init__(
        self, buckets: tuple[float, ...] = LATENCY_BUCKETS, *, labels: tuple[tuple[str, str], ...] = ()
    ) -> None:
        self.buckets = buckets
        self.labels = labels
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self._hist: dict[tuple[str, str], list[float]] = {}
        self.events_ingested = 0
        self.events_duplicate = 0

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self._requests[(method, route, str(status))] += 1
            h = self._hist.get((method, route))
            if h is None:
                # per bucket counts, then +Inf count and sum
                h = self._hist[(method, route)] = [0.0] * (len(self.buckets) + 2)
            for i, b in enumerate(self.buckets):
                if seconds <= b:
                    h[i] += 1
            h[-2] += 1
            h[-1] += seconds

    def count_events(self, stored: int, duplicates: int) -> None:
        with self._lock:
            self.events_ingested += stored
            self.events_duplicate += duplicates

    def render(self, gauges: Iterable[Gauge] = ()) -> str:
        lines: list[str] = []
        with self._lock:
            requests = sorted(self._requests.items())
            hist = sorted((k, list(v)) for k, v in self._hist.items())
            ingested, dup = self.events_ingested, self.events_duplicate
        lines += [
            "# HELP reelkit_http_requests_total HTTP requests by method, route template and status.",
            "# TYPE reelkit_http_requests_total counter",
        ]
        own = self.labels
        for (method, route, status), n in requests:
            lines.append(
                f"reelkit_http_requests_total"
                f"{_labels((*own, ('method', method), ('route', route), ('status', status)))}"
                f" {n}"
            )
        lines += [
            "# HELP reelkit_http_request_duration_seconds HTTP request latency by method and route template.",
            "# TYPE reelkit_http_request_duration_seconds histogram",
        ]
        name = "reelkit_http_request_duration_seconds"
        for (method, route), h in hist:
            base = (*own, ("method", method), ("route", route))
            for i, b in enumerate(self.buckets):
                lines.append(f"{name}_bucket{_labels((*base, ('le', _num(b))))} {_num(h[i])}")
            lines.append(f"{name}_bucket{_labels((*base, ('le', '+Inf')))} {_num(h[-2])}")
            lines.append(f"{name}_count{_labels(base)} {_num(h[-2])}")
            lines.append(f"{name}_sum{_labels(base)} {h[-1]!r}")
        lines += [
            "# HELP reelkit_events_ingested_total Events stored through this process's API.",
            "# TYPE reelkit_events_ingested_total counter",
            f"reelkit_events_ingested_total{_labels(own)} {ingested}",
            "# HELP reelkit_events_duplicate_total Events acknowledged as duplicates by this process's API.",
            "# TYPE reelkit_events_duplicate_total counter",
            f"reelkit_events_duplicate_total{_labels(own)} {dup}",
        ]
        seen: set[str] = set()
        for g in gauges:
            if g.name not in seen:
                lines += [f"# HELP {g.name} {g.help}", f"# TYPE {g.name} {g.kind}"]
                seen.add(g.name)
            lines.append(f"{g.name}{_labels(g.labels)} {_num(g.value)}")
        return "\n".join(lines) + "\n"


class MetricsMiddleware:
    """Pure ASGI middleware that times every HTTP request into :class:`Metrics`."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500
        entry = dict(scope)  # as sent: routing a mount rewrites root_path

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route") or _route_of(entry)
            # the template as documented: "{member_id}", not the "{member_id:path}" that routes it
            template = _CONVERTOR.sub(r"{\1}", getattr(route, "path", None) or "<unmatched>")
            self.metrics.observe(scope["method"], template, status, time.perf_counter() - start)


def _route_of(scope: Scope) -> BaseRoute | None:
    """The app's route for a request routing did not name in the scope: a mount (``/static``), Starlette's
    plain routes (``/openapi.json``, ``/docs``) and a body refused before routing (413) are matched here,
    as the router matches them (a full match first, then one for another method)."""
    other_method = None
    for route in _routes(getattr(getattr(scope.get("app"), "router", None), "routes", ())):
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route
        if match is Match.PARTIAL and other_method is None:
            other_method = route
    return other_method


def _routes(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    """The routes in matching order; newer FastAPI versions keep an included router as one route holding
    its own (``original_router``), which stands here for them (the service includes routers unprefixed)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _routes(inner.routes)
        else:
            yield route
