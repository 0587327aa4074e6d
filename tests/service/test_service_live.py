"""Against a real ``reelkit serve`` process (uvicorn on a loopback port): API, crash safety, switching."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from reelkit.service.models import train_store
from reelkit.service.store import DB_NAME, open_store
from reelkit.service.testing import LiveServer

pytestmark = pytest.mark.slow

AUTH = {"Authorization": "Bearer test-token-123"}
COMMUNITY = {"n_communities": 4, "dims": 16}
Play = Callable[..., dict[str, object]]


def test_live_api_round_trip(live_server: LiveServer, play_event: Play) -> None:
    url = live_server.url
    with httpx.Client(base_url=url, timeout=10) as c:
        members = [m["member_id"] for m in c.get("/v1/members?limit=20").json()["members"]]
        # concurrent home pages
        with ThreadPoolExecutor(4) as pool:
            codes = list(pool.map(lambda m: c.get(f"/v1/members/{m}/home").status_code, members))
        assert codes == [200] * len(members)
        member = members[0]
        tid = c.get(f"/v1/members/{member}/recommendations?n=1").json()["titles"][0]["title_id"]
        r = c.post("/v1/events", json={"events": [play_event("live-1", member, tid, 0.6)]}, headers=AUTH)
        assert r.status_code == 200 and r.json()["stored"] == 1
        home = c.get(f"/v1/members/{member}/home").json()
        assert (
            home["rows"][0]["kind"] == "continue-watching" and home["rows"][0]["titles"][0]["title_id"] == tid
        )
        assert c.get("/v1/members/nobody/home").status_code == 404
        text = c.get("/metrics").text
        assert 'route="/v1/members/{member_id}/home",status="200"' in text
        assert c.get("/").status_code == 200


def test_sigkill_keeps_every_acknowledged_event(
    data_dir: Path, play_event: Play, server_factory: Callable[[Path], LiveServer]
) -> None:
    server = server_factory(data_dir)
    store = open_store(data_dir)
    members = [m.member_id for m in store.list_members(50)]
    titles = [str(t) for t in store.titles_frame().index[:50]]
    store.close()
    acked: list[str] = []
    batches: dict[str, list[str]] = {}
    lock = threading.Lock()
    stop = threading.Event()
    size = 20

    def writer(w: int) -> None:
        with httpx.Client(base_url=server.url, timeout=5) as c:
            k = 0
            while not stop.is_set():
                name = f"w{w}b{k}"
                ids = [f"{name}-{i}" for i in range(size)]
                events = [
                    play_event(eid, members[(k + i) % len(members)], titles[(w + i) % len(titles)], 0.5)
                    for i, eid in enumerate(ids)
                ]
                with lock:
                    batches[name] = ids
                try:
                    r = c.post("/v1/events", json={"events": events}, headers=AUTH)
                except httpx.HTTPError:
                    return  # the server died mid-request: this batch was not acknowledged
                if r.status_code == 200:
                    with lock:
                        acked.extend(ids)
                k += 1

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(3)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 20
    while len(acked) < 600 and time.monotonic() < deadline:
        time.sleep(0.02)
    server.stop(kill=True)  # SIGKILL while writers are still sending
    stop.set()
    for t in threads:
        t.join(timeout=10)
    assert len(acked) >= 600, server.output
    with lock:
        acknowledged = set(acked)
        all_batches = dict(batches)

    # the database is consistent and holds every acknowledged event; every batch is all there or absent
    con = sqlite3.connect(data_dir / DB_NAME)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = {r[0] for r in con.execute("SELECT event_id FROM events WHERE event_id LIKE 'w%'")}
    con.close()
    assert acknowledged <= stored
    for name, ids in all_batches.items():
        present = sum(i in stored for i in ids)
        assert present in (0, len(ids)), f"batch {name} is partly stored ({present}/{len(ids)})"

    # and the service restarts on it and serves
    again = server_factory(data_dir)
    with httpx.Client(base_url=again.url, timeout=10) as c:
        assert c.get("/health").json()["status"] == "ok"
        assert c.get(f"/v1/members/{members[0]}/home").status_code == 200
        listed = c.get("/v1/events?limit=1000").json()
        assert listed["total"] >= len(stored)


def test_running_server_switches_to_a_retrained_version(live_server: LiveServer) -> None:
    url = live_server.url
    data_dir: Path = live_server.data_dir
    errors: list[str] = []
    stop = threading.Event()

    def reader() -> None:
        with httpx.Client(base_url=url, timeout=10) as c:
            members = [m["member_id"] for m in c.get("/v1/members?limit=30").json()["members"]]
            while not stop.is_set():
                for m in members:
                    r = c.get(f"/v1/members/{m}/home")
                    if r.status_code != 200:
                        errors.append(f"{r.status_code}: {r.text[:200]}")

    t = threading.Thread(target=reader)
    t.start()
    try:
        train_store(data_dir, community_params=COMMUNITY)  # as 'reelkit retrain' in another process would
        deadline = time.monotonic() + 30
        version = None
        while time.monotonic() < deadline:
            version = httpx.get(url + "/health", timeout=5).json()["model_version"]
            if version == "v0002":
                break
            time.sleep(0.2)
        assert version == "v0002"
        home = httpx.get(url + "/v1/members?limit=1", timeout=5).json()["members"][0]["member_id"]
        assert httpx.get(f"{url}/v1/members/{home}/home", timeout=5).json()["model_version"] == "v0002"
    finally:
        stop.set()
        t.join()
    assert not errors
