"""Fuzzing ``POST /v1/events``: no 500s, and a refused batch stores nothing (a batch is all or nothing)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reelkit.service.app import create_app
from reelkit.service.settings import ServiceSettings
from reelkit.service.store import DB_NAME, open_store

AUTH = {"Authorization": "Bearer test-token-123", "content-type": "application/json"}
OK = {200, 400, 404, 409, 413, 422}  # 400: the body is not JSON


@pytest.fixture(scope="module")
def fuzz_env(small_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, Path]]:
    dest = tmp_path_factory.mktemp("fuzz") / "data"
    shutil.copytree(small_dir, dest)
    settings_ = ServiceSettings.load(
        dest, environ={"REELKIT_API_TOKEN": "test-token-123"}, model_poll_seconds=0, max_batch_events=8
    )
    with TestClient(create_app(settings_)) as client:
        yield client, dest


def _ids(small_dir: Path) -> tuple[list[str], list[str]]:
    store = open_store(small_dir)
    try:
        return [m.member_id for m in store.list_members(5)], [str(t) for t in store.titles_frame().index[:5]]
    finally:
        store.close()


junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)


def events_strategy(members: list[str], titles: list[str]) -> st.SearchStrategy[Any]:
    event_ids = st.one_of(st.sampled_from(["e1", "e2", "e3", "dup", "x:y", ""]), st.text(max_size=140))
    number = st.one_of(st.integers(-10, 10_000), st.floats(-1e7, 1e7), junk)
    base = {
        "event_id": event_ids,
        "member_id": st.one_of(st.sampled_from(members), st.text(max_size=6), junk),
        "title_id": st.one_of(st.sampled_from(titles), st.text(max_size=6), junk),
        "kind": st.one_of(st.sampled_from(["play", "rating", "thumb"]), st.text(max_size=6), junk),
    }
    optional = {
        "timestamp": st.one_of(st.integers(-5, 5_000_000_000), junk),
        "position": number,
        "duration": number,
        "value": st.one_of(st.sampled_from([1, -1, 0, 3, 4.5, 5]), number),
        "fraction": number,
        "extra": junk,
    }
    event = st.one_of(st.fixed_dictionaries(base, optional=optional), junk)
    batch = st.fixed_dictionaries({"events": st.lists(event, max_size=10)}, optional={"more": junk})
    return st.one_of(batch, junk, st.lists(event, max_size=3))


def _count(dest: Path) -> int:
    """Events stored (the table is append-only, so an unchanged count means nothing was stored)."""
    with sqlite3.connect(dest / DB_NAME) as con:
        return int(con.execute("SELECT count(*) FROM events").fetchone()[0])


def _stored(dest: Path, ids: set[str]) -> set[str]:
    with sqlite3.connect(dest / DB_NAME) as con:
        q = ",".join("?" * len(ids))
        return {r[0] for r in con.execute(f"SELECT event_id FROM events WHERE event_id IN ({q})", list(ids))}


def test_fuzz_events_endpoint(fuzz_env: tuple[TestClient, Path], small_dir: Path) -> None:
    client, dest = fuzz_env
    members, titles = _ids(small_dir)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(payload=events_strategy(members, titles), raw=st.booleans())
    def check(payload: Any, raw: bool) -> None:
        before = _count(dest)
        body = json.dumps(payload, allow_nan=True).encode()  # NaN/Infinity are not JSON: must be 422
        if raw:  # sometimes damage the JSON too
            body = body[: max(0, len(body) - 3)]
        r = client.post("/v1/events", content=body, headers=AUTH)
        assert r.status_code in OK, (r.status_code, r.text, payload)
        assert r.headers["content-type"].startswith("application/json")
        err = r.json()
        after = _count(dest)
        if r.status_code == 200:
            assert after == before + err["stored"]
            batch = payload["events"]
            assert err["stored"] + err["duplicates"] == len(batch)
        else:
            assert set(err) == {"error", "message", "fields"} and err["message"]
            assert after == before, "a refused batch stored something"

    check()


def test_fuzz_valid_batches_land_whole(fuzz_env: tuple[TestClient, Path], small_dir: Path) -> None:
    client, dest = fuzz_env
    members, titles = _ids(small_dir)
    play = st.fixed_dictionaries(
        {
            "event_id": st.text("abcdefgh0123456789", min_size=1, max_size=8).map(lambda s: "v-" + s),
            "member_id": st.sampled_from(members),
            "title_id": st.sampled_from(titles),
            "kind": st.just("play"),
            "position": st.floats(0, 100),
            "duration": st.floats(100, 10_000),
        }
    )

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(play, min_size=1, max_size=8))
    def check(events: list[dict[str, Any]]) -> None:
        ids = {e["event_id"] for e in events}
        before, known = _count(dest), _stored(dest, ids)
        r = client.post("/v1/events", json={"events": events}, headers=AUTH)
        after = _count(dest)
        if r.status_code == 200:
            assert _stored(dest, ids) == ids
            assert after - before == r.json()["stored"] == len(ids - known)
        else:  # same id with other content in the batch or already stored: 409, nothing stored
            assert r.status_code == 409, r.text
            assert after == before

    check()
