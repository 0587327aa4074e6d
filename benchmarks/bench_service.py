"""Load test of ``reelkit serve``: home page latency under an open-loop load, and event ingest throughput.

The server runs in its own process (``reelkit serve`` on a loopback port); this script is the load generator
(asyncio + httpx). Home page requests are sent open-loop at a fixed rate: request ``i`` is due at
``t0 + i / rate`` whether or not earlier ones have finished, and its latency is measured from when it was due
(so a server that falls behind is charged for the queueing, not hidden by it). Members are drawn uniformly
at random (seeded). Ingest posts batches of ``--batch`` play events with fresh ids; the store commits every
batch with ``synchronous=FULL`` (durability on) before answering.

Scenarios: ``cached`` is the server as configured by default, measured after it has warmed its home page
cache (the pages of the most recently active members, built in the background after a model version
loads); ``uncached`` (``--uncached``) turns the page cache off, so every request folds the member's history
in and builds the page; ``live`` (``--live``) is the cached server while events stream in (``--live-events``
play events per second, in batches of 20, from random members): the server counts them into Trending and the
community rows every ``model_poll_seconds`` (2 s), which drops cached pages whose popularity rows changed.
It also measures freshness: after a warm-up, 200 members play one title nobody was playing, and a new
member's page (which shows the most popular titles) is read every 50 ms until it shows it; the seconds from
the burst's acknowledgement to then are the lag.

Data: the demo catalog (2,000 members, 1,000 titles) and MovieLens ml-latest-small when available; each is
set up once under ``--workdir`` (imported and trained) and reused; every run serves a fresh copy of its store,
so runs do not see each other's ingested events.

    python benchmarks/bench_service.py                      # both data sets, 100 and 300 req/s, 60 s each
    python benchmarks/bench_service.py --data demo --duration 10 --json
    python benchmarks/bench_service.py --uncached    # also with the page cache off (every page folded in)
    python benchmarks/bench_service.py --live --rates 100   # also reads while events stream in
    python benchmarks/bench_service.py --uncached --workers 2   # the server in two processes
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import numpy as np

from reelkit.service.bootstrap import bootstrap
from reelkit.service.testing import LiveServer, start_server

ROOT = Path(__file__).resolve().parents[1]
ML_DEFAULT = ROOT.parent / "shared" / "data" / "movielens" / "ml-latest-small"
TOKEN = "bench-" + uuid.uuid4().hex


@dataclass
class LoadResult:
    data: str
    scenario: str
    rate: float
    duration_s: float
    requests: int
    errors: int
    error_kinds: dict[str, int]
    achieved_rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float


@dataclass
class LiveResult:
    data: str
    events_per_s: float  # asked for
    events_stored: int
    write_errors: int
    freshness_s: float  # from the burst's acknowledgement to the probe page showing the title (nan: never)


@dataclass
class IngestResult:
    data: str
    batch: int
    concurrency: int
    events: int
    errors: int
    seconds: float
    events_per_s: float
    batch_p50_ms: float
    batch_p99_ms: float


async def _open_loop(
    url: str, members: list[str], rate: float, duration: float, seed: int, connections: int, timeout: float
) -> tuple[np.ndarray, dict[str, int]]:
    rng = random.Random(seed)
    n = int(rate * duration)
    latencies = np.full(n, np.nan)
    errors: dict[str, int] = {}
    # at most `connections` requests in flight; the rest wait in a FIFO semaphore (cheap) rather than in
    # httpx's connection pool (slow with thousands of waiters); their wait counts in their latency
    gate = asyncio.Semaphore(connections)
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits) as client:
        t0 = time.perf_counter() + 0.2

        async def one(i: int, member: str) -> None:
            due = t0 + i / rate
            error = None
            async with gate:
                try:
                    r = await client.get(f"/v1/members/{member}/home")
                    if r.status_code != 200:
                        error = f"HTTP {r.status_code}"
                except httpx.HTTPError as exc:
                    error = type(exc).__name__
            latencies[i] = time.perf_counter() - due
            if error is not None:
                errors[error] = errors.get(error, 0) + 1

        tasks = []
        for i in range(n):
            delay = t0 + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, rng.choice(members))))
        await asyncio.gather(*tasks)
    return latencies * 1000.0, errors


def _all_members(server: LiveServer) -> list[str]:
    members = [
        m["member_id"] for m in httpx.get(server.url + "/v1/members?limit=1000", timeout=30).json()["members"]
    ]
    total = httpx.get(server.url + "/v1/members?limit=1", timeout=30).json()["total"]
    offset = len(members)
    while offset < total:
        page = httpx.get(server.url + f"/v1/members?limit=1000&offset={offset}", timeout=30).json()["members"]
        members += [m["member_id"] for m in page]
        offset += len(page)
    return members


def _load_result(
    data: str,
    scenario: str,
    rate: float,
    duration: float,
    lat: np.ndarray,
    errors: dict[str, int],
    wall: float,
) -> LoadResult:
    done = lat[np.isfinite(lat)]
    return LoadResult(
        data=data,
        scenario=scenario,
        rate=rate,
        duration_s=duration,
        requests=len(lat),
        errors=sum(errors.values()),
        error_kinds=errors,
        achieved_rps=len(lat) / wall,
        p50_ms=float(np.percentile(done, 50)),
        p90_ms=float(np.percentile(done, 90)),
        p99_ms=float(np.percentile(done, 99)),
        max_ms=float(done.max()),
    )


def run_load(
    server: LiveServer,
    data: str,
    scenario: str,
    rate: float,
    duration: float,
    seed: int,
    connections: int = 64,
    timeout: float = 10.0,
) -> LoadResult:
    members = _all_members(server)
    start = time.perf_counter()
    lat, errors = asyncio.run(_open_loop(server.url, members, rate, duration, seed, connections, timeout))
    return _load_result(data, scenario, rate, duration, lat, errors, time.perf_counter() - start)


async def _ingest(
    url: str, members: list[str], titles: list[str], total: int, batch: int, conc: int
) -> tuple[list[float], int]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    run = uuid.uuid4().hex[:8]
    n_batches = total // batch
    queue: asyncio.Queue[int] = asyncio.Queue()
    for b in range(n_batches):
        queue.put_nowait(b)
    times: list[float] = []
    errors = 0
    rng = random.Random(1)
    now = int(time.time())

    def body(b: int) -> bytes:
        events = []
        for i in range(batch):
            frac = round(rng.random(), 3)
            events.append(
                {
                    "event_id": f"bench-{run}-{b}-{i}",
                    "member_id": rng.choice(members),
                    "title_id": rng.choice(titles),
                    "kind": "play",
                    "position": round(frac * 5400, 1),
                    "duration": 5400,
                    "timestamp": now,
                }
            )
        return json.dumps({"events": events}).encode()

    bodies = [body(b) for b in range(n_batches)]

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while True:
            try:
                b = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            t = time.perf_counter()
            r = await client.post(
                "/v1/events", content=bodies[b], headers={**headers, "content-type": "application/json"}
            )
            times.append(time.perf_counter() - t)
            if r.status_code != 200 or r.json()["stored"] != batch:
                errors += 1

    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        await asyncio.gather(*(worker(client) for _ in range(conc)))
    return times, errors


def run_ingest(server: LiveServer, data: str, total: int, batch: int, conc: int) -> IngestResult:
    members = [
        m["member_id"] for m in httpx.get(server.url + "/v1/members?limit=500", timeout=30).json()["members"]
    ]
    home = httpx.get(server.url + f"/v1/members/{members[0]}/home", timeout=30).json()
    titles = sorted({t["title_id"] for r in home["rows"] for t in r["titles"]})
    start = time.perf_counter()
    times, errors = asyncio.run(_ingest(server.url, members, titles, total, batch, conc))
    wall = time.perf_counter() - start
    n = len(times) * batch
    ms = np.asarray(times) * 1000
    return IngestResult(
        data=data,
        batch=batch,
        concurrency=conc,
        events=n,
        errors=errors,
        seconds=wall,
        events_per_s=n / wall,
        batch_p50_ms=float(np.percentile(ms, 50)),
        batch_p99_ms=float(np.percentile(ms, 99)),
    )


async def _stream_events(
    url: str, members: list[str], titles: list[str], per_s: float, duration: float, batch: int = 20
) -> tuple[int, int]:
    """Post ``per_s`` play events a second (batches of ``batch``, paced) for ``duration`` seconds."""
    headers = {"Authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
    rng, run = random.Random(2), uuid.uuid4().hex[:8]
    stored = errors = 0
    n = int(per_s * duration / batch)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        t0 = time.perf_counter()
        for b in range(n):
            delay = t0 + b * batch / per_s - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            events = [
                {
                    "event_id": f"live-{run}-{b}-{i}",
                    "member_id": rng.choice(members),
                    "title_id": rng.choice(titles),
                    "kind": "play",
                    "position": 5400,
                    "duration": 5400,
                }
                for i in range(batch)
            ]
            r = await client.post("/v1/events", content=json.dumps({"events": events}), headers=headers)
            if r.status_code == 200:
                stored += int(r.json()["stored"])
            else:
                errors += 1
    return stored, errors


async def _freshness(url: str, members: list[str], after: float, timeout: float = 60.0) -> float:
    """Seconds from a burst of 200 plays of one title nobody was playing to a new member's page showing it."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    probe = f"probe-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        await asyncio.sleep(after)
        r = await client.post("/v1/members", json={"member_id": probe, "name": "Probe"}, headers=headers)
        r.raise_for_status()
        shown = {t["title_id"] for row in r.json()["home"]["rows"] for t in row["titles"]}
        # a title on some member's page (so known to the model) but not on the new member's: not popular now
        cold = None
        for m in reversed(members[-50:]):
            rows = (await client.get(f"/v1/members/{m}/home")).json()["rows"]
            picks = [t["title_id"] for r in rows if r["kind"] == "top-picks" for t in r["titles"]]
            cold = next((t for t in picks if t not in shown), None)
            if cold is not None:
                break
        assert cold is not None, "no title to play: every member's Top Picks are on the new member's page"
        burst = [
            {"event_id": f"{probe}-{i}", "member_id": m, "title_id": cold, "kind": "play", "position": 5400,
             "duration": 5400}
            for i, m in enumerate(members[:200])
        ]  # fmt: skip
        r = await client.post("/v1/events", json={"events": burst}, headers=headers)
        r.raise_for_status()
        acked = time.perf_counter()
        while time.perf_counter() - acked < timeout:
            page = (await client.get(f"/v1/members/{probe}/home")).json()
            if any(t["title_id"] == cold for row in page["rows"] for t in row["titles"]):
                return time.perf_counter() - acked
            await asyncio.sleep(0.05)
    return float("nan")


def run_live(
    server: LiveServer, data: str, rate: float, per_s: float, duration: float, seed: int, connections: int
) -> tuple[LoadResult, LiveResult]:
    """Home page reads at ``rate`` while ``per_s`` events a second stream in, and the freshness probe."""
    members = _all_members(server)
    titles = sorted(
        {
            t["title_id"]
            for m in members[:20]
            for r in httpx.get(server.url + f"/v1/members/{m}/home", timeout=30).json()["rows"]
            for t in r["titles"]
        }
    )

    async def both() -> tuple[tuple[np.ndarray, dict[str, int]], tuple[int, int], float]:
        return await asyncio.gather(
            _open_loop(server.url, members, rate, duration, seed, connections, 10.0),
            _stream_events(server.url, members, titles, per_s, duration),
            _freshness(server.url, members, after=duration / 3),
        )

    start = time.perf_counter()
    (lat, errors), (stored, write_errors), fresh = asyncio.run(both())
    wall = time.perf_counter() - start
    return _load_result(data, "live", rate, duration, lat, errors, wall), LiveResult(
        data=data, events_per_s=per_s, events_stored=stored, write_errors=write_errors, freshness_s=fresh
    )


def wait_warm(server: LiveServer, timeout: float, workers: int = 1) -> None:
    """Wait until the server has warmed its home page cache (it does so after loading a model version); with
    several processes, each its own: until 20 answers in a row, each on a new connection (so from any of
    them), say so."""
    deadline = time.monotonic() + timeout
    health = {}
    in_a_row = 0
    while time.monotonic() < deadline:
        health = httpx.get(server.url + "/health", timeout=10).json()
        in_a_row = in_a_row + 1 if health.get("warmed") else 0
        if in_a_row >= (1 if workers == 1 else 20):
            break
        time.sleep(0.5 if not in_a_row else 0.01)
    print(f"cache: {health.get('cached_pages')} pages, warmed: {health.get('warmed')}", file=sys.stderr)


def fresh_copy(pristine: Path, folder: Path) -> None:
    """Replace ``folder`` with a copy of the store in ``pristine``, sharing its model versions."""
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(pristine, folder, ignore=shutil.ignore_patterns("models", "*-wal", "*-shm"))
    (folder / "models").symlink_to((pristine / "models").resolve(), target_is_directory=True)


def prepare(workdir: Path, data: str, ml_path: Path) -> Path:
    folder = workdir / data
    report = bootstrap(folder) if data == "demo" else bootstrap(folder, source=ml_path)
    what = "set up" if report.imported or report.trained else "reusing"
    print(f"[{data}] {what} {folder}", file=sys.stderr)
    return folder


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", choices=["demo", "ml", "both"], default="both")
    ap.add_argument("--ml-path", type=Path, default=ML_DEFAULT, help="ml-latest-small folder")
    ap.add_argument("--workdir", type=Path, default=ROOT / ".reelkit" / "bench-service")
    ap.add_argument("--rates", default="100,300", help="home page requests per second, comma-separated")
    ap.add_argument("--duration", type=float, default=60.0, help="seconds per load level")
    ap.add_argument("--ingest-events", type=int, default=50_000)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--ingest-concurrency", default="1,4", help="concurrent ingest clients, comma-separated")
    ap.add_argument("--uncached", action="store_true", help="also run with the home page cache off")
    ap.add_argument("--live", action="store_true", help="also read while events stream in (and freshness)")
    ap.add_argument("--live-events", type=float, default=500.0, help="events per second in the live scenario")
    ap.add_argument("--only-live", action="store_true", help="run the live scenario only (no ingest test)")
    ap.add_argument("--connections", type=int, default=64, help="load generator connections")
    ap.add_argument("--timeout", type=float, default=10.0, help="request timeout (an error when exceeded)")
    ap.add_argument("--warm-timeout", type=float, default=120.0, help="seconds to wait for the cache warm-up")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", action="store_true", help="print JSON instead of tables")
    ap.add_argument("--workers", type=int, default=1, help="server processes (reelkit serve --workers)")
    args = ap.parse_args(argv)

    datasets = ["demo", "ml"] if args.data == "both" else [args.data]
    if "ml" in datasets and not (args.ml_path / "ratings.csv").exists():
        print(f"skipping ml-latest-small: {args.ml_path} not found", file=sys.stderr)
        datasets.remove("ml")
    rates = [float(r) for r in args.rates.split(",") if r]
    loads: list[LoadResult] = []
    ingests: list[IngestResult] = []
    lives: list[LiveResult] = []
    for data in datasets:
        pristine = prepare(args.workdir, data, args.ml_path)
        folder = args.workdir / f"{data}-run"
        scenarios: list[tuple[str, Path | None]] = [] if args.only_live else [("cached", None)]
        if args.uncached and not args.only_live:
            cfg = args.workdir / f"{data}-uncached.json"
            cfg.write_text(json.dumps({"page_cache_size": 0}))
            scenarios.append(("uncached", cfg))
        if args.live or args.only_live:
            scenarios.append(("live", None))
        for scenario, cfg in scenarios:
            extra: list[str] = ["--config", str(cfg)] if cfg is not None else []
            extra += ["--workers", str(args.workers)] if args.workers != 1 else []
            # every scenario serves a fresh copy of the store (the ingest test adds events)
            fresh_copy(pristine, folder)
            with start_server(folder, token=TOKEN, extra_args=extra) as server:
                if scenario in ("cached", "live"):
                    wait_warm(server, args.warm_timeout, args.workers)
                if scenario == "live":
                    for rate in rates:
                        res, live = run_live(
                            server, data, rate, args.live_events, args.duration, args.seed, args.connections
                        )
                        loads.append(res)
                        lives.append(live)
                        print(f"[{data}/live] {rate:g} req/s with {args.live_events:g} events/s: p50 "
                              f"{res.p50_ms:.1f} ms, p99 {res.p99_ms:.1f} ms, errors {res.error_kinds}; "
                              f"freshness {live.freshness_s:.2f} s", file=sys.stderr)  # fmt: skip
                    continue
                for rate in rates:
                    res = run_load(
                        server, data, scenario, rate, args.duration, args.seed, args.connections, args.timeout
                    )
                    loads.append(res)
                    print(f"[{data}/{scenario}] {rate:g} req/s: p50 {res.p50_ms:.1f} ms, "
                          f"p99 {res.p99_ms:.1f} ms, errors {res.error_kinds}", file=sys.stderr)  # fmt: skip
                if scenario == "cached":
                    for conc in [int(c) for c in args.ingest_concurrency.split(",") if c]:
                        ing = run_ingest(server, data, args.ingest_events, args.batch, conc)
                        ingests.append(ing)
                        print(f"[{data}] ingest x{conc}: {ing.events_per_s:,.0f} events/s", file=sys.stderr)
    if args.json:
        print(
            json.dumps(
                {
                    "load": [asdict(r) for r in loads],
                    "ingest": [asdict(r) for r in ingests],
                    "live": [asdict(r) for r in lives],
                },
                indent=2,
            )
        )
        return 0
    print("\nhome page, open-loop load (latency from when each request was due)")
    print(f"{'data':6} {'cache':9} {'req/s':>6} {'sent':>6} {'errors':>6} {'got/s':>7} {'p50 ms':>7} "
          f"{'p90 ms':>7} {'p99 ms':>7} {'max ms':>7}")  # fmt: skip
    for r in loads:
        print(f"{r.data:6} {r.scenario:9} {r.rate:6g} {r.requests:6d} {r.errors:6d} {r.achieved_rps:7.1f} "
              f"{r.p50_ms:7.1f} {r.p90_ms:7.1f} {r.p99_ms:7.1f} {r.max_ms:7.1f}")  # fmt: skip
    print(f"\nevent ingest, batches of {args.batch}, synchronous=FULL")
    print(f"{'data':6} {'clients':>7} {'events':>8} {'errors':>6} {'seconds':>8} {'events/s':>9} "
          f"{'batch p50':>9} {'batch p99':>9}")  # fmt: skip
    for i in ingests:
        print(f"{i.data:6} {i.concurrency:7d} {i.events:8d} {i.errors:6d} {i.seconds:8.2f} "
              f"{i.events_per_s:9,.0f} {i.batch_p50_ms:8.1f}ms {i.batch_p99_ms:8.1f}ms")  # fmt: skip
    if lives:
        print("\nlive: events streaming in during the reads (the 'live' rows above); freshness of the rows")
        for v in lives:
            print(f"{v.data:6} {v.events_per_s:g} events/s asked, {v.events_stored:,} stored, "
                  f"{v.write_errors} write errors, freshness {v.freshness_s:.2f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
