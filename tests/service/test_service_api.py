"""The HTTP API in process (TestClient runs the lifespan): endpoints, auth, error codes, metrics, pages."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from reelkit.errors import ConfigError
from reelkit.service.app import create_app
from reelkit.service.schemas import HomeOut
from reelkit.service.settings import ServiceSettings

from .conftest import COMMUNITY

TOKEN = "test-token-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
Settings = Callable[..., ServiceSettings]
Play = Callable[..., dict[str, object]]


def make_settings(data_dir: Path, **overrides: object) -> ServiceSettings:
    return ServiceSettings.load(
        data_dir, environ={"REELKIT_API_TOKEN": TOKEN}, model_poll_seconds=0, **overrides
    )


def play(event_id: str, member: str, title: str, fraction: float) -> dict[str, object]:
    return {
        "event_id": event_id,
        "member_id": member,
        "title_id": title,
        "kind": "play",
        "position": round(6000 * fraction, 3),
        "duration": 6000,
    }


def first_member(client: TestClient) -> str:
    return str(client.get("/v1/members?limit=1").json()["members"][0]["member_id"])


def unseen_title(client: TestClient, member: str) -> str:
    recs = client.get(f"/v1/members/{member}/recommendations?n=1").json()
    return str(recs["titles"][0]["title_id"])


def test_health_and_docs(client: TestClient) -> None:
    h = client.get("/health").json()
    assert (
        h["status"] == "ok" and h["model_version"] == "v0001" and h["store"] == "sqlite" and h["events"] > 0
    )
    assert client.get("/docs").status_code == 200
    paths = set(client.get("/openapi.json").json()["paths"])
    assert {
        "/v1/members",
        "/v1/members/{member_id}/home",
        "/v1/members/{member_id}/recommendations",
        "/v1/titles/{title_id}",
        "/v1/titles/{title_id}/similar",
        "/v1/communities",
        "/v1/communities/{community_id}",
        "/v1/events",
        "/health",
        "/metrics",
    } <= paths


def test_health_counts_the_cached_home_pages(data_dir: Path) -> None:
    """``/health``'s ``cached_pages`` (no warm-up, so not ``warmed``): 0 before any home page, 1 after one
    member's."""
    with TestClient(create_app(make_settings(data_dir, warm_pages=0))) as client:
        h = client.get("/health").json()
        assert h["cached_pages"] == 0 and h["warmed"] is False
        client.get(f"/v1/members/{first_member(client)}/home")
        assert client.get("/health").json()["cached_pages"] == 1


def test_members_list_and_home(client: TestClient) -> None:
    page = client.get("/v1/members?limit=5&offset=2").json()
    assert page["limit"] == 5 and page["offset"] == 2 and page["total"] == 150 and len(page["members"]) == 5
    member = page["members"][0]["member_id"]
    assert client.get(f"/v1/members/{member}").json()["name"] == page["members"][0]["name"]
    home = client.get(f"/v1/members/{member}/home").json()
    assert home["member_id"] == member and home["model_version"] == "v0001" and home["ranking"]
    ids = [t["title_id"] for r in home["rows"] for t in r["titles"]]
    assert len(ids) == len(set(ids))
    assert all(t["reason"] for r in home["rows"] for t in r["titles"])
    kinds = {r["kind"] for r in home["rows"]}
    assert {"top-picks", "trending"} <= kinds
    HomeOut.model_validate(home)  # the hand-serialised JSON follows the documented schema
    # Trending and community popularity are as of the version's training: the page says when that was
    record = client.app.state.reelkit.store.current_model_version()  # type: ignore[attr-defined]
    assert home["popularity_computed_at"] == record.created_at > 0


def test_members_list_pages_are_slices_of_the_whole_list(client: TestClient) -> None:
    """``offset=2&limit=3`` is members 2, 3 and 4 (from 0) of the list in joining order."""
    everyone = [m["member_id"] for m in client.get("/v1/members?limit=10").json()["members"]]
    page = [m["member_id"] for m in client.get("/v1/members?limit=3&offset=2").json()["members"]]
    assert page == everyone[2:5]


def test_members_list_takes_up_to_1000_a_page(client: TestClient) -> None:
    """``limit`` is 1 to 1000: 1000 gives all 150 members, 1001 is a 422."""
    assert len(client.get("/v1/members?limit=1000").json()["members"]) == 150
    assert client.get("/v1/members?limit=1001").status_code == 422


def test_recommendations(client: TestClient) -> None:
    member = first_member(client)
    recs = client.get(f"/v1/members/{member}/recommendations?n=7").json()
    assert len(recs["titles"]) == 7 and all(t["reason"] for t in recs["titles"])
    scores = [t["score"] for t in recs["titles"]]
    assert scores == sorted(scores, reverse=True)
    assert client.get(f"/v1/members/{member}/recommendations?n=0").status_code == 422
    assert client.get(f"/v1/members/{member}/recommendations?n=101").status_code == 422


def test_recommendations_default_to_ten_titles(client: TestClient) -> None:
    """``/recommendations`` without ``n`` gives 10 titles."""
    member = first_member(client)
    assert len(client.get(f"/v1/members/{member}/recommendations").json()["titles"]) == 10


def test_titles_similar_and_communities(client: TestClient) -> None:
    member = first_member(client)
    tid = unseen_title(client, member)
    t = client.get(f"/v1/titles/{tid}").json()
    assert t["title_id"] == tid and t["name"] and t["in_model"] is True and isinstance(t["loved_by"], list)
    sim = client.get(f"/v1/titles/{tid}/similar?n=4").json()
    assert 0 < len(sim["titles"]) <= 4 and tid not in [x["title_id"] for x in sim["titles"]]
    comms = client.get("/v1/communities").json()["communities"]
    assert len(comms) == 4 and sum(c["size"] for c in comms) == 150
    assert all(c["name"] for c in comms)
    one = client.get(f"/v1/communities/{comms[0]['id']}").json()
    assert one["name"] == comms[0]["name"] and one["favourites"]
    # the list names each community's 5 most distinctive titles, one community its 20 and 20 favourites
    assert [len(c["distinctive"]) for c in comms] == [5] * 4
    assert (len(one["distinctive"]), len(one["favourites"])) == (20, 20)
    assert one["distinctive"][:5] == comms[0]["distinctive"]


def test_title_details_without_genres_and_similar_titles_by_default(
    client: TestClient, data_dir: Path
) -> None:
    """A title stored without genres (after training) has ``genres == []`` (not ``[""]``) and is not in the
    model; ``/similar`` without ``n`` gives 10 titles."""
    from reelkit.service.store import TitleRecord, open_store

    store = open_store(data_dir)
    try:
        store.upsert_titles([TitleRecord("bare", "Bare")])
    finally:
        store.close()
    bare = client.get("/v1/titles/bare").json()
    assert bare["genres"] == [] and bare["in_model"] is False  # added after training
    tid = unseen_title(client, first_member(client))
    assert len(client.get(f"/v1/titles/{tid}/similar").json()["titles"]) == 10


@pytest.mark.parametrize(
    "path",
    ["/v1/members/nobody", "/v1/members/nobody/home", "/v1/members/nobody/recommendations",
     "/v1/titles/nothing", "/v1/titles/nothing/similar", "/v1/communities/999"],
)  # fmt: skip
def test_unknown_ids_are_404_json(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    body = r.json()
    assert body["error"] == "not_found" and body["message"] and body["fields"] == []


def test_an_unknown_path_is_named_in_its_404(client: TestClient) -> None:
    """Starlette's bare "Not Found" becomes a message naming the path asked for."""
    r = client.get("/v1/nope")
    assert r.status_code == 404 and r.json()["message"] == "no such page or endpoint: /v1/nope"


def test_a_full_disk_is_a_507_with_its_own_error_code(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk answered 507 with the generic "error" code, which every other error names; it is
    "storage_full", and the OpenAPI document lists it beside the other errors of a write that stores."""
    from reelkit.service.errors import StoreFullError

    def full(*args: object, **kwargs: object) -> None:
        raise StoreFullError("reelkit.db: disk full", path="reelkit.db", reason="disk full")

    monkeypatch.setattr(client.app.state.reelkit.store, "append_events", full)  # type: ignore[attr-defined]
    member = first_member(client)
    batch = {"events": [play("full-1", member, unseen_title(client, member), 0.3)]}
    r = client.post("/v1/events", json=batch, headers=AUTH)
    assert r.status_code == 507 and r.json() == {
        "error": "storage_full",
        "message": "the server's storage is full; nothing was stored, retry later",
        "fields": [],
    }
    paths = client.get("/openapi.json").json()["paths"]
    assert "507" in paths["/v1/events"]["post"]["responses"]
    assert "507" in paths["/v1/members"]["post"]["responses"]
    assert "507" not in paths["/v1/models/reload"]["post"]["responses"]  # it stores nothing


def test_out_of_memory_in_a_request_is_a_503_in_the_error_shape(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A MemoryError in a handler (numpy's, for an array it could not allocate) was a bare 500 "internal
    error" with a traceback; it is a 503 in the service's error shape saying what ran out."""
    import numpy as np
    from numpy._core._exceptions import _ArrayMemoryError

    def too_big(*args: object, **kwargs: object) -> None:
        raise _ArrayMemoryError((48704, 20000), np.dtype(np.float64))

    member = first_member(client)
    monkeypatch.setattr(client.app.state.reelkit.store, "member_history", too_big)  # type: ignore[attr-defined]
    r = client.get(f"/v1/members/{member}/recommendations?n=3")
    assert r.status_code == 503 and r.json() == {
        "error": "unavailable",
        "message": "the server ran out of memory for this request; retry later or ask for less",
        "fields": [],
    }


def test_events_need_the_token(client: TestClient) -> None:
    member = first_member(client)
    batch = {"events": [play("a1", member, unseen_title(client, member), 0.3)]}
    r = client.post("/v1/events", json=batch)
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    r = client.post("/v1/events", json=batch, headers={"Authorization": "Bearer wrong"})
    assert r.status_code == 401 and r.json()["message"] == "invalid bearer token"
    assert client.post("/v1/events", json=batch, headers=AUTH).status_code == 200


def test_no_token_configured_refuses_writes(data_dir: Path) -> None:
    settings = ServiceSettings.load(data_dir, environ={}, model_poll_seconds=0)
    with TestClient(create_app(settings)) as c:
        r = c.post("/v1/events", json={"events": []}, headers=AUTH)
        assert r.status_code == 403 and "REELKIT_API_TOKEN" in r.json()["message"]
        assert c.get("/v1/members").status_code == 200  # reads stay open


def test_reads_can_be_closed(data_dir: Path) -> None:
    with TestClient(create_app(make_settings(data_dir, protect_reads=True))) as c:
        assert c.get("/v1/members").status_code == 401
        assert c.get("/v1/communities").status_code == 401
        assert c.get("/v1/members", headers=AUTH).status_code == 200
        assert c.get("/").status_code == 404  # the web pages are off: a browser cannot send the token
        assert c.get("/health").status_code == 200  # liveness and readiness stay open for probes
        # the metrics name the model version and count members and events: a read like the others
        assert c.get("/metrics").status_code == 401
        assert c.get("/metrics", headers=AUTH).status_code == 200


def test_token_from_config_file(data_dir: Path) -> None:
    (data_dir / "service.json").write_text('{"api_token": "from-file", "max_batch_events": 5}')
    settings = ServiceSettings.load(data_dir, environ={}, model_poll_seconds=0)
    assert settings.api_token is not None and settings.api_token.get_secret_value() == "from-file"
    assert settings.max_batch_events == 5
    env = ServiceSettings.load(data_dir, environ={"REELKIT_API_TOKEN": TOKEN})
    assert env.api_token is not None and env.api_token.get_secret_value() == TOKEN


def test_settings_overrides_of_none_keep_the_config_files_values(tmp_path: Path) -> None:
    """Overrides given as None are options not set: service.json's max_batch_events 5 and protect_reads
    true stay; a value given replaces the file's."""
    (tmp_path / "service.json").write_text('{"max_batch_events": 5, "protect_reads": true}')
    s = ServiceSettings.load(
        tmp_path, environ={}, max_batch_events=None, protect_reads=None, model_poll_seconds=3
    )
    assert (s.max_batch_events, s.protect_reads, s.model_poll_seconds) == (5, True, 3.0)


def test_the_default_body_limit_is_4_mib(tmp_path: Path) -> None:
    """``max_body_bytes`` defaults to 4 MiB (4,194,304 bytes), not 4 MB."""
    assert ServiceSettings.load(tmp_path, environ={}).max_body_bytes == 4_194_304


def test_a_config_files_data_dir_naming_the_folder_in_use_by_a_relative_path_is_taken(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A dump of the settings of ``serve --data-dir data`` holds "data": the same folder given as an
    absolute path is the folder in use, not another."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "service.json").write_text('{"data_dir": "data", "warm_pages": 0}')
    settings = ServiceSettings.load(tmp_path / "data", environ={})
    assert settings.data_dir == tmp_path / "data" and settings.warm_pages == 0


def test_ensure_token_writes_a_private_token_only_when_none_is_set(tmp_path: Path) -> None:
    """A fresh folder gets service.json with a random token, mode 0600; with $REELKIT_API_TOKEN set, or a
    config file there already, nothing is written."""
    from reelkit.service.settings import ensure_token

    env_set = tmp_path / "env"
    assert ensure_token(env_set, environ={"REELKIT_API_TOKEN": TOKEN}) is None
    assert not (env_set / "service.json").exists()
    fresh = tmp_path / "fresh"
    written = ensure_token(fresh, environ={})
    assert written == fresh / "service.json" and (written.stat().st_mode & 0o777) == 0o600
    token = json.loads(written.read_text())["api_token"]
    assert len(token) >= 32
    assert ensure_token(fresh, environ={}) is None and json.loads(written.read_text())["api_token"] == token


def test_a_config_file_nested_too_deeply_is_refused(tmp_path: Path) -> None:
    """``serve --config`` of ``'[' * 1000`` gave a RecursionError traceback."""
    config = tmp_path / "deep.json"
    config.write_text("[" * 1000 + "]" * 1000)
    with pytest.raises(ConfigError) as info:
        ServiceSettings.load(tmp_path, config_file=config, environ={})
    assert str(info.value) == f"{config}: not a readable JSON config file (nested too deeply)"


def test_event_ingest_idempotent_and_reflected(client: TestClient) -> None:
    member = first_member(client)
    tid = unseen_title(client, member)
    batch = {"events": [play("e-1", member, tid, 0.4)]}
    r = client.post("/v1/events", json=batch, headers=AUTH).json()
    assert r["stored"] == 1 and r["duplicates"] == 0
    r = client.post("/v1/events", json=batch, headers=AUTH).json()
    assert r["stored"] == 0 and r["duplicates"] == 1
    home = client.get(f"/v1/members/{member}/home").json()
    assert home["rows"][0]["kind"] == "continue-watching"
    assert home["rows"][0]["titles"][0]["title_id"] == tid
    assert home["rows"][0]["titles"][0]["progress"] == pytest.approx(0.4)
    conflict = {"events": [{**batch["events"][0], "position": 100}]}
    r = client.post("/v1/events", json=conflict, headers=AUTH)
    assert r.status_code == 409 and r.json()["fields"][0]["field"] == "events[0].event_id"


def test_a_duplicate_event_is_counted_in_the_metrics(client: TestClient) -> None:
    """An event posted twice is stored once and acknowledged once as a duplicate: both counters read 1."""
    member = first_member(client)
    batch = {"events": [play("dup-1", member, unseen_title(client, member), 0.4)]}
    for _ in range(2):
        assert client.post("/v1/events", json=batch, headers=AUTH).status_code == 200
    text = client.get("/metrics").text
    assert "\nreelkit_events_ingested_total 1\n" in text
    assert "\nreelkit_events_duplicate_total 1\n" in text


def test_new_and_repeated_events_are_counted_apart_in_the_metrics(client: TestClient) -> None:
    """Two new events and one repeated: ``reelkit_events_ingested_total`` 2, ``..._duplicate_total`` 1."""
    member = first_member(client)
    tid = unseen_title(client, member)
    first = play("cnt-1", member, tid, 0.2)
    assert client.post("/v1/events", json={"events": [first]}, headers=AUTH).status_code == 200
    batch = {"events": [first, play("cnt-2", member, tid, 0.5)]}
    r = client.post("/v1/events", json=batch, headers=AUTH).json()
    assert (r["stored"], r["duplicates"]) == (1, 1)
    text = client.get("/metrics").text
    assert "\nreelkit_events_ingested_total 2\n" in text
    assert "\nreelkit_events_duplicate_total 1\n" in text


def test_invalid_payloads_are_422_naming_fields(client: TestClient) -> None:
    member = first_member(client)
    tid = unseen_title(client, member)
    before = client.get("/health").json()["events"]
    bad = {
        "events": [
            play("ok-1", member, tid, 0.5),
            {**play("bad-1", member, tid, 0.5), "position": -5},
            {"event_id": "bad-2", "member_id": member, "title_id": tid, "kind": "rating", "value": 99},
            {"event_id": "bad-3", "member_id": member, "title_id": tid, "kind": "thumb", "value": 0},
            {"event_id": "bad 4", "member_id": member, "title_id": tid, "kind": "nap"},
            {**play("bad-5", member, tid, 0.5), "position": 7000},
            {**play("bad-6", member, tid, 0.5), "extra": 1},
        ]
    }
    r = client.post("/v1/events", json=bad, headers=AUTH)
    assert r.status_code == 422
    body = r.json()
    fields = {f["field"] for f in body["fields"]}
    assert {"events[1].position", "events[2].value", "events[3].value", "events[4].kind", "events[5]",
            "events[6].extra"} <= fields  # fmt: skip
    assert "events[1].position" in body["message"]
    assert client.get("/health").json()["events"] == before  # nothing stored, not even the valid event
    # a rating outside the model's rating scale (1-5 on the demo data)
    r = client.post(
        "/v1/events",
        json={
            "events": [{"event_id": "r", "member_id": member, "title_id": tid, "kind": "rating", "value": 7}]
        },
        headers=AUTH,
    )
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "events[0].value"
    for payload in ({"events": []}, {}, [], {"events": "x"}):
        assert client.post("/v1/events", json=payload, headers=AUTH).status_code == 422
    r = client.post("/v1/events", content=b"{not json", headers={**AUTH, "content-type": "application/json"})
    # a 400 as the OpenAPI document says, naming the body and where it breaks (not a field "[1]")
    assert r.status_code == 400 and r.json()["fields"] == [{"field": "body", "message": r.json()["message"]}]
    assert "not valid JSON" in r.json()["message"] and "character 1" in r.json()["message"]
    doc = client.get("/openapi.json").json()["paths"]["/v1/events"]["post"]["responses"]
    assert "not valid JSON" in doc["400"]["description"]


def test_a_play_of_a_zero_length_title_is_422_naming_the_duration(client: TestClient) -> None:
    """A duration must be over 0 s: a play at 0 s of a 0 s title has no fraction (0/0); 422 on it."""
    member = first_member(client)
    zero = {**play("zero-length", member, unseen_title(client, member), 0.0), "duration": 0}
    r = client.post("/v1/events", json={"events": [zero]}, headers=AUTH)
    assert r.status_code == 422 and [f["field"] for f in r.json()["fields"]] == ["events[0].duration"]


def test_a_json_body_sent_without_its_content_type_is_named_so(client: TestClient) -> None:
    """`curl -d` sends a form's Content-Type: the 422 said "(request): Input should be a valid
    dictionary"; the body is fine, its media type is not: 415, as HTTP says."""
    member = first_member(client)
    body = {"events": [play("ct-1", member, unseen_title(client, member), 0.3)]}
    for kind in ("application/x-www-form-urlencoded", "text/plain", None):
        headers = {**AUTH, **({"content-type": kind} if kind else {})}
        for path, sent in (("/v1/events", body), ("/v1/members", {"name": "Curl"})):
            r = client.post(path, content=json.dumps(sent), headers=headers)
            assert r.status_code == 415 and r.json()["error"] == "unsupported_media_type", (
                kind,
                path,
                r.text,
            )
            assert r.json()["message"] == (
                "the body must be sent as JSON, with the header 'Content-Type: application/json'"
            )
            assert r.json()["fields"][0]["field"] == "body"
    # sent as JSON, the same request is taken; a JSON body of the wrong shape still names the field
    assert client.post("/v1/events", json=body, headers=AUTH).status_code == 200
    r = client.post("/v1/events", json={"events": "x"}, headers=AUTH)
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "events"


def test_a_compressed_request_body_is_a_415_naming_its_content_coding(client: TestClient) -> None:
    """A gzipped batch sent with Content-Encoding: gzip was a 400 ("not UTF-8 text"), and a plain batch
    sent with Content-Encoding: br was stored, the header ignored. Bodies are taken uncompressed only."""
    import gzip

    member = first_member(client)
    thumb = {"event_id": "ce-1", "member_id": member, "title_id": unseen_title(client, member)}
    raw = json.dumps({"events": [{**thumb, "kind": "thumb", "value": 1}]}).encode()
    total = client.get("/v1/events?limit=1").json()["total"]
    for coding, body, named in (
        ("gzip", gzip.compress(raw), "'gzip'"),
        ("br", raw, "'br'"),
        ("GZIP, identity", gzip.compress(raw), "'gzip'"),
        ("deflate, x-custom", raw, "'deflate', 'x-custom'"),
    ):
        headers = {**AUTH, "content-type": "application/json", "content-encoding": coding}
        r = client.post("/v1/events", content=body, headers=headers)
        assert r.status_code == 415 and r.headers["accept-encoding"] == "identity", (coding, r.text)
        assert r.json() == {
            "error": "unsupported_media_type",
            "message": f"the body's Content-Encoding {named} is not supported: send it uncompressed",
            "fields": [],
        }
    assert client.get("/v1/events?limit=1").json()["total"] == total  # nothing stored
    headers = {**AUTH, "content-type": "application/json", "content-encoding": "identity"}
    r = client.post("/v1/events", content=raw, headers=headers)  # identity: the body as it is
    assert r.status_code == 200 and r.json()["stored"] == 1
    text = client.get("/metrics").text
    assert 'reelkit_http_requests_total{method="POST",route="/v1/events",status="415"} 4' in text
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/v1/events", "/v1/members", "/v1/qc"):  # an upload's form too
        assert "Content-Encoding" in paths[path]["post"]["responses"]["415"]["description"], path


def test_a_content_coding_is_refused_only_with_a_body_and_a_page_gets_a_page(client: TestClient) -> None:
    """Any request labelled Content-Encoding was a 415, with no body at all (``curl -H 'Content-Encoding:
    gzip' /health``), and a page asked for with ``Accept: text/html`` got the API's JSON 415. Only a body
    sent compressed is refused, and a page's form (the QC upload) gets the error page."""
    gz = {"content-encoding": "gzip"}
    r = client.get("/health", headers=gz)
    assert r.status_code == 200 and r.json()["status"] == "ok", r.text
    page = client.get("/", headers={**gz, "accept": "text/html"})
    assert page.status_code == 200 and "Who's watching?" in page.text
    assert client.get("/v1/members?limit=1", headers={**gz, "content-length": "0"}).status_code == 200
    form = client.post(
        "/qc", files={"media": ("x.wav", b"RIFF" * 100, "audio/wav")}, headers={**gz, "accept": "text/html"}
    )
    assert form.status_code == 415 and form.headers["content-type"].startswith("text/html"), form.text
    assert form.headers["accept-encoding"] == "identity"
    assert "Content-Encoding &#39;gzip&#39; is not supported" in form.text and "<html" in form.text
    # the API keeps its JSON, a body sent chunked (no length) included
    chunked = client.post(
        "/v1/events", content=iter([b'{"events": []}']), headers={**AUTH, **gz, "accept": "text/html"}
    )
    assert chunked.status_code == 415 and chunked.json()["error"] == "unsupported_media_type"


def test_a_body_missing_not_an_object_or_unreadable_is_named_body(client: TestClient) -> None:
    """An empty body was "(request): Field required", a list "(request): Input should be a valid
    dictionary", and a body not UTF-8 FastAPI's "There was an error parsing the body" naming nothing."""
    json_type = {**AUTH, "content-type": "application/json"}
    missing, listed = "the request body is missing: send a JSON object", "the body must be a JSON object"
    for sent, said in ((b"", missing), (b"[]", listed)):
        r = client.post("/v1/events", content=sent, headers=json_type)
        assert r.status_code == 422 and r.json()["fields"] == [{"field": "body", "message": said}], r.text
    r = client.post("/v1/events", headers=AUTH)  # nothing sent, no type: missing, not a 415 about its type
    assert r.status_code == 422 and r.json()["fields"] == [{"field": "body", "message": missing}], r.text
    r = client.post("/v1/events", content=b'{"events": [{"event_id": "x\xff"}]}', headers=json_type)
    assert r.status_code == 400 and r.json()["error"] == "bad_request"
    assert r.json()["fields"][0]["field"] == "body" and "not UTF-8" in r.json()["message"]


def test_an_event_without_a_known_kind_names_its_kind_field(client: TestClient) -> None:
    """pydantic reports the union's tag on the event: the field was `events[0]`, not `events[0].kind`."""
    member = first_member(client)
    event = {k: v for k, v in play("nk-1", member, unseen_title(client, member), 0.3).items() if k != "kind"}
    for extra in ({}, {"kind": "nope"}):
        r = client.post("/v1/events", json={"events": [{**event, **extra}]}, headers=AUTH)
        assert r.status_code == 422 and [f["field"] for f in r.json()["fields"]] == ["events[0].kind"], r.text


def test_a_taken_member_id_is_a_409_naming_the_field(client: TestClient) -> None:
    member = first_member(client)
    r = client.post("/v1/members", json={"member_id": member, "name": "X"}, headers=AUTH)
    assert r.status_code == 409 and [f["field"] for f in r.json()["fields"]] == ["member_id"]


def test_a_create_under_an_imported_members_id_is_a_409_even_with_its_name(client: TestClient) -> None:
    """A create repeated is 200 only for a member created through the API with that body: an imported
    member (no sign-up events) under its own name and no liked titles answered 200 "already existed ... a
    create repeated", taking it for the caller's own. A member created with no liked titles is still
    recognised on a retry."""
    member = client.get("/v1/members?limit=1").json()["members"][0]
    r = client.post(
        "/v1/members", json={"member_id": member["member_id"], "name": member["name"]}, headers=AUTH
    )
    assert r.status_code == 409 and [f["field"] for f in r.json()["fields"]] == ["member_id"]
    body = {"member_id": "bare-1", "name": "Bare"}
    assert client.post("/v1/members", json=body, headers=AUTH).status_code == 201
    assert client.post("/v1/members", json=body, headers=AUTH).status_code == 200
    assert client.post("/v1/members", json={**body, "name": "Other"}, headers=AUTH).status_code == 409


def test_a_created_member_has_a_location_and_a_repeated_create_returns_it(client: TestClient) -> None:
    """POST /v1/members answered 201 without a Location, and a retried create (a lost response) was a 409
    with no way to tell a retry from a taken id. With the member id chosen by the client, the same body
    again answers 200 with the member, storing nothing; another body is still a 409."""
    member = first_member(client)
    recs = client.get(f"/v1/members/{member}/recommendations?n=3").json()["titles"]
    t1, t2, t3 = (r["title_id"] for r in recs)
    body = {"member_id": "ny ü:1", "name": "Ny", "liked_titles": [t1, t2, t1]}
    first = client.post("/v1/members", json=body, headers=AUTH)
    assert first.status_code == 201 and first.headers["location"] == "/v1/members/ny%20%C3%BC%3A1"
    assert client.get(first.headers["location"]).json() == {"member_id": "ny ü:1", "name": "Ny"}
    counts = client.get("/v1/events?limit=1").json()["total"], client.get("/v1/members").json()["total"]
    for same in (body, {**body, "name": "  Ny "}):  # the name is stored stripped: the same body
        again = client.post("/v1/members", json=same, headers=AUTH)
        assert again.status_code == 200 and "location" not in again.headers, again.text
        assert again.json() == first.json()  # the member, and the same cold-start page
    assert (
        client.get("/v1/events?limit=1").json()["total"],
        client.get("/v1/members").json()["total"],
    ) == counts
    # the member's later events do not make a repeated create another body
    play_ = play("ny-play", "ny ü:1", t3, 0.5)
    assert client.post("/v1/events", json={"events": [play_]}, headers=AUTH).status_code == 200
    assert client.post("/v1/members", json=body, headers=AUTH).status_code == 200
    for other in (
        {**body, "name": "Nyx"},
        {**body, "liked_titles": [t1]},
        {**body, "liked_titles": [t1, t2, t3]},
        {**body, "liked_titles": [t2, t1]},
    ):
        r = client.post("/v1/members", json=other, headers=AUTH)
        assert r.status_code == 409 and [f["field"] for f in r.json()["fields"]] == ["member_id"], other
        assert "another name or other liked titles" in r.json()["message"]
    doc = client.get("/openapi.json").json()["paths"]["/v1/members"]["post"]["responses"]
    assert "Location" in doc["201"]["headers"] and "200" in doc and "member_id" in doc["200"]["description"]


def test_a_create_repeated_after_an_upgrade_returns_the_member(client: TestClient) -> None:
    """Members created by a version that kept no signature of the create: the same body again (a retry
    after the upgrade) was a 409 telling the client to choose another id. It is compared by the sign-up
    events such a create stored; another body is still a 409, as is an imported member with no sign-up."""
    import sqlite3

    member = first_member(client)
    recs = client.get(f"/v1/members/{member}/recommendations?n=2").json()["titles"]
    t1, t2 = (r["title_id"] for r in recs)
    body = {"member_id": "old-1", "name": "Old", "liked_titles": [t1, t2, t1]}
    assert client.post("/v1/members", json=body, headers=AUTH).status_code == 201
    settings = client.app.state.reelkit.settings  # type: ignore[attr-defined]
    with sqlite3.connect(Path(settings.data_dir) / "reelkit.db") as con:  # as an earlier version left it
        con.execute("DELETE FROM meta WHERE key = 'created:old-1'")
    assert client.post("/v1/members", json=body, headers=AUTH).status_code == 200
    for other in ({**body, "liked_titles": [t1]}, {**body, "liked_titles": [t2, t1]}, {**body, "name": "O"}):
        assert client.post("/v1/members", json=other, headers=AUTH).status_code == 409, other


def test_health_and_ready_answer_head_as_get(client: TestClient) -> None:
    """A load balancer's ``HEAD /health`` was a 405 (the backend marked down while healthy)."""
    for path in ("/health", "/ready"):
        r = client.head(path)
        assert r.status_code == client.get(path).status_code == 200 and r.content == b""
    paths = client.get("/openapi.json").json()["paths"]
    assert "head" not in paths["/health"] and "head" not in paths["/ready"]  # one operation each
    assert "415" in paths["/v1/events"]["post"]["responses"]


def test_every_get_route_answers_head_as_get_without_a_body(client: TestClient) -> None:
    """RFC 9110 §9.1: wherever GET is, HEAD is too. Every API read but /health and /ready answered HEAD
    with 405 (Allow: GET): a client or monitor checking a member's home page with HEAD saw it as broken."""
    member = first_member(client)
    title = unseen_title(client, member)
    community = client.get("/v1/communities").json()["communities"][0]["id"]
    paths = [
        f"/v1/members/{member}/home",
        f"/v1/members/{member}/recommendations?n=3",
        f"/v1/members/{member}",
        "/v1/members?limit=5",
        f"/v1/titles/{title}",
        f"/v1/titles/{title}/similar",
        "/v1/events?limit=3",
        "/v1/models",
        "/v1/communities",
        f"/v1/communities/{community}",
        "/openapi.json",
        "/docs",
    ]
    for path in paths:
        get, head = client.get(path), client.head(path)
        assert head.status_code == get.status_code == 200 and head.content == b"", (path, head.text)
        assert head.headers["content-type"] == get.headers["content-type"], path
        assert head.headers["content-length"] == str(len(get.content)), path  # the GET's length
    metrics = client.head("/metrics")  # its counts change between two requests: no length compared
    assert metrics.status_code == 200 and metrics.content == b""
    assert metrics.headers["content-type"].startswith("text/plain")
    missing = client.head("/v1/members/nobody-here/home")  # an error, as GET's, without its body
    assert missing.status_code == 404 and missing.content == b""
    assert client.head("/v1/models/reload").status_code == 405  # POST only: no GET to answer it as
    # the 405s say HEAD wherever GET is
    for path, allow in ((f"/v1/members/{member}/home", "GET, HEAD"), ("/v1/members", "GET, HEAD, POST")):
        r = client.delete(path, headers=AUTH)
        assert r.status_code == 405 and r.headers["allow"] == allow, (path, r.headers)
    text = client.get("/metrics").text  # counted as the HEADs they were, by route
    assert (
        'reelkit_http_requests_total{method="HEAD",route="/v1/members/{member_id}/home",status="200"} 1'
        in text
    )
    assert 'method="GET",route="/v1/models/reload"' not in text


def test_unknown_ids_in_events_are_404_and_store_nothing(client: TestClient) -> None:
    member = first_member(client)
    tid = unseen_title(client, member)
    before = client.get("/health").json()["events"]
    r = client.post(
        "/v1/events",
        json={"events": [play("u1", member, tid, 0.5), play("u2", member, "no-such-title", 0.5)]},
        headers=AUTH,
    )
    assert r.status_code == 404
    assert r.json()["fields"] == [{"field": "events[1].title_id", "message": "unknown id 'no-such-title'"}]
    assert client.get("/health").json()["events"] == before


def test_too_large_is_413(data_dir: Path) -> None:
    with TestClient(create_app(make_settings(data_dir, max_batch_events=10, max_body_bytes=20_000))) as c:
        member = first_member(c)
        big = {"events": [play(f"b{i}", member, "t001", 0.5) for i in range(11)]}
        r = c.post("/v1/events", json=big, headers=AUTH)
        assert r.status_code == 413 and r.json()["error"] == "too_large"
        r = c.post("/v1/events", content=b"x" * 30_000, headers={**AUTH, "content-type": "application/json"})
        assert r.status_code == 413

        def chunks() -> object:
            for _ in range(30):
                yield b"x" * 1000

        r = c.post("/v1/events", content=chunks(), headers={**AUTH, "content-type": "application/json"})
        assert r.status_code == 413


def test_a_body_of_exactly_max_body_bytes_is_taken(data_dir: Path) -> None:
    """The body limit is "at most": a 1024-byte batch passes ``max_body_bytes=1024``, 1025 bytes are 413."""
    with TestClient(create_app(make_settings(data_dir, max_body_bytes=1024))) as c:
        member = first_member(c)
        body = json.dumps({"events": [play("exact", member, unseen_title(c, member), 0.5)]})
        headers = {**AUTH, "content-type": "application/json"}
        exact = body[:-1] + " " * (1024 - len(body)) + "}"
        assert len(exact.encode()) == 1024
        assert c.post("/v1/events", content=exact, headers=headers).status_code == 200
        assert c.post("/v1/events", content=exact + " ", headers=headers).status_code == 413


def test_a_streamed_body_one_byte_over_max_body_bytes_is_413(data_dir: Path) -> None:
    """Without a Content-Length the limit is counted while reading: 1024 bytes sent in two chunks pass
    ``max_body_bytes=1024``, 1025 are 413."""
    with TestClient(create_app(make_settings(data_dir, max_body_bytes=1024))) as c:
        member = first_member(c)
        body = json.dumps({"events": [play("streamed", member, unseen_title(c, member), 0.5)]})
        exact = (body[:-1] + " " * (1024 - len(body)) + "}").encode()

        def chunks(data: bytes) -> Iterator[bytes]:
            yield data[:512]
            yield data[512:]

        headers = {**AUTH, "content-type": "application/json"}
        assert c.post("/v1/events", content=chunks(exact), headers=headers).status_code == 200
        assert c.post("/v1/events", content=chunks(exact + b" "), headers=headers).status_code == 413


def test_a_page_upload_over_the_limit_says_the_limit_in_mib() -> None:
    """A browser's upload over 100 MiB (104,857,600 bytes) is told "at most 100 MiB", not 105 (MB)."""
    import asyncio

    from reelkit.service.deps import BodyLimitMiddleware

    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    async def never(*args: object) -> None:
        raise AssertionError("the app was called")

    scope = {
        "type": "http",
        "path": "/qc",
        "headers": [(b"content-length", str(200 * 2**20).encode()), (b"accept", b"text/html")],
    }
    asyncio.run(BodyLimitMiddleware(never, 100 * 2**20)(scope, never, send))  # type: ignore[arg-type]
    assert sent[0]["status"] == 413
    assert b"at most 100 MiB can be uploaded here" in sent[1]["body"]  # type: ignore[operator]


def test_the_default_batch_limit_is_1000_events(client: TestClient) -> None:
    """1001 events are over the default ``max_batch_events`` (1000): 413 before any is validated."""
    many = {"events": [play(f"d{i}", "m", "t", 0.5) for i in range(1001)]}
    r = client.post("/v1/events", json=many, headers=AUTH)
    assert r.status_code == 413 and "at most 1000 per request" in r.json()["message"]


def test_a_batch_of_exactly_max_batch_events_is_taken(data_dir: Path) -> None:
    """The batch limit is "at most": 3 events pass ``max_batch_events=3``, 4 are 413."""
    with TestClient(create_app(make_settings(data_dir, max_batch_events=3))) as c:
        member = first_member(c)
        tid = unseen_title(c, member)
        three = {"events": [play(f"x{i}", member, tid, 0.1 * (i + 1)) for i in range(3)]}
        r = c.post("/v1/events", json=three, headers=AUTH)
        assert r.status_code == 200 and r.json()["stored"] == 3, r.text
        four = {"events": [play(f"y{i}", member, tid, 0.1) for i in range(4)]}
        r = c.post("/v1/events", json=four, headers=AUTH)
        assert r.status_code == 413 and "batch of 4 events is too large: at most 3" in r.json()["message"]


def test_the_qc_api_takes_uploads_larger_than_the_api_body_limit(data_dir: Path) -> None:
    """``/v1/qc`` is an upload path: 30 kB over a 20 kB API limit is read (400: bad multipart), not 413."""
    with TestClient(create_app(make_settings(data_dir, max_body_bytes=20_000))) as c:
        r = c.post(
            "/v1/qc",
            content=b"x" * 30_000,
            headers={**AUTH, "content-type": "multipart/form-data; boundary=b"},
        )
        assert r.status_code == 400 and r.json()["error"] == "bad_request"


def test_a_plus_json_body_of_the_wrong_shape_is_not_blamed_on_its_content_type(client: TestClient) -> None:
    """``application/vnd.api+json`` is JSON: an array where an object belongs is named as such, not as a body
    sent without 'Content-Type: application/json'."""
    r = client.post("/v1/events", content=b"[]", headers={**AUTH, "content-type": "application/vnd.api+json"})
    assert r.status_code == 422 and "Content-Type" not in r.json()["message"]
    assert r.json()["fields"] == [{"field": "body", "message": "the body must be a JSON object"}]


def test_new_member_gets_a_cold_start_home_page(client: TestClient) -> None:
    member = first_member(client)
    liked = [t["title_id"] for t in client.get(f"/v1/members/{member}/recommendations?n=3").json()["titles"]]
    r = client.post("/v1/members", json={"name": "Newcomer", "liked_titles": liked}, headers=AUTH)
    assert r.status_code == 201
    body = r.json()
    new_id = body["member"]["member_id"]
    assert body["member"]["name"] == "Newcomer" and new_id.startswith("u-")
    rows = body["home"]["rows"]
    kinds = [row["kind"] for row in rows]
    assert "top-picks" in kinds and "because-you-watched" in kinds
    shown = {t["title_id"] for row in rows for t in row["titles"]}
    assert not shown & set(liked)
    assert client.get(f"/v1/members/{new_id}/home").json()["rows"] == rows
    r = client.post("/v1/members", json={"member_id": new_id, "name": "Again"}, headers=AUTH)
    assert r.status_code == 409


def test_a_new_members_liked_titles_are_stamped_in_seconds(client: TestClient) -> None:
    """A new member's liked title is a thumb stamped with the Unix second of sign-up, as every event is
    (milliseconds would read as a date some 50,000 years ahead)."""
    member = first_member(client)
    liked = unseen_title(client, member)
    before = int(time.time())
    r = client.post("/v1/members", json={"name": "Stamped", "liked_titles": [liked]}, headers=AUTH)
    after = int(time.time())
    assert r.status_code == 201
    store = client.app.state.reelkit.store  # type: ignore[attr-defined]
    history = store.member_history(r.json()["member"]["member_id"])
    assert history.title_ids.tolist() == [liked]
    assert before <= int(history.timestamps[0]) <= after
    r = client.post("/v1/members", json={"name": "X", "liked_titles": ["nope"]}, headers=AUTH)
    assert r.status_code == 404 and r.json()["fields"][0]["field"] == "liked_titles[0]"
    assert client.post("/v1/members", json={"name": ""}, headers=AUTH).status_code == 422
    assert client.post("/v1/members", json={"name": "No token"}).status_code == 401


def test_the_served_home_json_is_the_created_members_page_and_counts_its_liked_titles(
    client: TestClient,
) -> None:
    """``GET .../home`` (serialised directly) equals the sign-up's page (through pydantic); 2 liked titles are
    ``history_titles`` 2 (the page has 6 rows)."""
    member = first_member(client)
    liked = [t["title_id"] for t in client.get(f"/v1/members/{member}/recommendations?n=2").json()["titles"]]
    created = client.post("/v1/members", json={"name": "Two", "liked_titles": liked}, headers=AUTH).json()
    page = client.get(f"/v1/members/{created['member']['member_id']}/home").json()
    assert page == created["home"] and page["history_titles"] == 2 and len(page["rows"]) != 2


def test_a_new_members_unknown_title_is_named_by_its_position_as_sent(client: TestClient) -> None:
    """The list was de-duplicated first: ["t1", "t1", "t2", "nope"] blamed liked_titles[2], a valid id."""
    member = first_member(client)
    a, b = [t["title_id"] for t in client.get(f"/v1/members/{member}/recommendations?n=2").json()["titles"]]
    r = client.post("/v1/members", json={"name": "X", "liked_titles": [a, a, b, "nope"]}, headers=AUTH)
    assert r.status_code == 404, r.text
    assert [f["field"] for f in r.json()["fields"]] == ["liked_titles[3]"] and "[3]" in r.json()["message"]
    r = client.post("/v1/members", json={"name": "Y", "liked_titles": [a, b, a]}, headers=AUTH)
    assert r.status_code == 201  # a repeated title is one thumb
    store = client.app.state.reelkit.store  # type: ignore[attr-defined]
    history = store.member_history(r.json()["member"]["member_id"])
    assert sorted(history.title_ids.tolist()) == sorted([a, b])


def test_a_new_members_repeated_title_is_one_ingested_event(client: TestClient) -> None:
    """``liked_titles`` [a, b, a] stores two thumbs: ``reelkit_events_ingested_total`` rises by 2, not 3."""
    member = first_member(client)
    a, b = [t["title_id"] for t in client.get(f"/v1/members/{member}/recommendations?n=2").json()["titles"]]
    assert (
        client.post("/v1/members", json={"name": "Y", "liked_titles": [a, b, a]}, headers=AUTH).status_code
        == 201
    )
    assert "\nreelkit_events_ingested_total 2\n" in client.get("/metrics").text


def test_metrics_prometheus_format(client: TestClient) -> None:
    member = first_member(client)
    client.get(f"/v1/members/{member}/home")
    client.get("/v1/members/nobody/home")
    text = client.get("/metrics").text
    assert (
        'reelkit_http_requests_total{method="GET",route="/v1/members/{member_id}/home",status="200"} 1'
        in text
    )
    assert (
        'reelkit_http_requests_total{method="GET",route="/v1/members/{member_id}/home",status="404"} 1'
        in text
    )
    assert "# TYPE reelkit_http_request_duration_seconds histogram" in text
    bucket = 'reelkit_http_request_duration_seconds_bucket{method="GET",route="/v1/members/{member_id}/home"'
    assert bucket + ',le="+Inf"} 2' in text
    assert 'reelkit_model_info{version="v0001",personal_model="ease"} 1' in text
    assert re.search(r"^reelkit_events_stored \d+$", text, re.M)
    for line in text.splitlines():
        assert line.startswith("#") or re.match(r"^[a-z_]+(\{.*\})? [0-9.e+-]+$", line), line


def test_metrics_buckets_hold_their_bound_and_labels_are_escaped() -> None:
    """A 5 ms request is in the ``le="0.005"`` bucket (Prometheus buckets are <= their bound), not in 2.5 ms;
    a label value ``C:\\d"x`` is written ``C:\\\\d\\"x`` (backslash escaped first, then the quote)."""
    from reelkit.service.metrics import Gauge, Metrics

    m = Metrics()
    m.observe("GET", "/x", 200, 0.005)
    text = m.render([Gauge("g", "help", 1.0, (("path", 'C:\\d"x'),))])
    b = 'reelkit_http_request_duration_seconds_bucket{method="GET",route="/x",'
    assert b + 'le="0.0025"} 0' in text and b + 'le="0.005"} 1' in text
    assert 'reelkit_http_request_duration_seconds_count{method="GET",route="/x"} 1' in text
    assert 'reelkit_http_request_duration_seconds_sum{method="GET",route="/x"} 0.005' in text
    assert 'g{path="C:\\\\d\\"x"} 1' in text


def test_metrics_model_gauges_are_the_served_records(data_dir: Path) -> None:
    """``reelkit_model_events_seq`` is the served version's ``events_seq`` (the store's last, here), not its
    ``n_events`` (1000); ``reelkit_home_cache_entries`` counts the cached pages (none, then 1)."""
    import shutil

    from reelkit.service.models import models_dir
    from reelkit.service.store import ModelVersionRecord, open_store

    shutil.copytree(models_dir(data_dir) / "v0001", models_dir(data_dir) / "v0002")
    store = open_store(data_dir)
    try:
        seq = store.events_frame()[1]
        store.add_model_version(ModelVersionRecord("v0002", 1, "ease", seq, 1000, 150, 120, 1.0))
    finally:
        store.close()
    with TestClient(create_app(make_settings(data_dir, warm_pages=0))) as c:
        text = c.get("/metrics").text
        assert 'reelkit_model_info{version="v0002",personal_model="ease"} 1' in text and seq != 1000
        assert f"\nreelkit_model_events_seq {seq}\n" in text and "\nreelkit_home_cache_entries 0\n" in text
        c.get(f"/v1/members/{first_member(c)}/home")
        assert "\nreelkit_home_cache_entries 1\n" in c.get("/metrics").text


def test_a_user_input_error_is_a_400_in_the_error_shape(data_dir: Path) -> None:
    """A :class:`UserInputError` raised by an endpoint answers 400 ``bad_request`` with its message."""
    from reelkit.errors import UserInputError

    app = create_app(make_settings(data_dir))

    def refuse() -> None:
        raise UserInputError("line 3: field 'x' must be a number")

    app.add_api_route("/v1/refuse", refuse)
    with TestClient(app) as c:
        r = c.get("/v1/refuse")
    assert r.status_code == 400
    assert r.json() == {"error": "bad_request", "message": "line 3: field 'x' must be a number", "fields": []}


def test_a_request_that_fails_unexpectedly_is_counted_as_a_500(data_dir: Path) -> None:
    """An unexpected exception sends no response through the metrics middleware (Starlette's outer error
    middleware answers): the request is counted with status 500."""
    app = create_app(make_settings(data_dir))

    def boom() -> None:
        raise RuntimeError("boom")

    app.add_api_route("/v1/boom", boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        assert c.get("/v1/boom").status_code == 500
        text = c.get("/metrics").text
    assert 'reelkit_http_requests_total{method="GET",route="/v1/boom",status="500"} 1' in text


def test_metrics_label_static_files_docs_and_refused_bodies_by_route(data_dir: Path) -> None:
    """Static files, /openapi.json and a 413 (answered before routing) were all route="<unmatched>"."""
    with TestClient(create_app(make_settings(data_dir, max_body_bytes=1024))) as c:
        assert c.get("/static/app.css").status_code == 200
        assert c.get("/openapi.json").status_code == 200
        assert c.get("/docs").status_code == 200
        big = {"events": [{"event_id": f"e{i}"} for i in range(200)]}
        assert c.post("/v1/events", json=big, headers=AUTH).status_code == 413
        assert c.get("/no/such/page").status_code == 404
        text = c.get("/metrics").text
    for route, method, status in [
        ("/static", "GET", 200),
        ("/openapi.json", "GET", 200),
        ("/docs", "GET", 200),
        ("/v1/events", "POST", 413),
        ("<unmatched>", "GET", 404),  # a path no route takes stays one label
    ]:
        assert f'reelkit_http_requests_total{{method="{method}",route="{route}",status="{status}"}} 1' in text
    assert text.count('route="<unmatched>",status=') == 1


def test_metrics_label_a_wrong_method_by_the_route_it_asked(data_dir: Path) -> None:
    """A request with a method the route does not take is labelled by that route, as the router matched it:
    POST /openapi.json (405) and a too-large PUT /v1/events (413, refused before routing) were
    route="<unmatched>"."""
    with TestClient(create_app(make_settings(data_dir, max_body_bytes=1024))) as c:
        assert c.post("/openapi.json").status_code == 405
        big = {"events": [{"event_id": f"e{i}"} for i in range(200)]}
        assert c.put("/v1/events", json=big, headers=AUTH).status_code == 413
        text = c.get("/metrics").text
    assert 'reelkit_http_requests_total{method="POST",route="/openapi.json",status="405"} 1' in text
    assert 'reelkit_http_requests_total{method="PUT",route="/v1/events",status="413"} 1' in text
    assert 'route="<unmatched>"' not in text


def test_a_405_allows_every_method_of_its_path(client: TestClient) -> None:
    """Each method is a route of its own and Starlette's 405 named the first matching the path alone:
    DELETE /v1/members said 'Allow: GET' (POST creates one), /v1/events 'POST', /health 'HEAD'."""
    for path, allow in (
        ("/v1/members", "GET, HEAD, POST"),
        ("/v1/events", "GET, HEAD, POST"),
        ("/health", "GET, HEAD"),
        ("/v1/abr/decide", "POST"),
        ("/abr/stream/tiny/none/-/manifest.mpd", "GET, HEAD"),
    ):
        r = client.delete(path, headers=AUTH)
        assert r.status_code == 405 and r.headers["allow"] == allow, (path, r.headers)
        assert r.json() == {"error": "method_not_allowed", "message": "Method Not Allowed", "fields": []}
    page = client.post("/abr/demo", headers={"accept": "text/html"})  # the error page keeps it too
    assert page.status_code == 405 and page.headers["allow"] == "GET, HEAD"
    assert page.headers["content-type"].startswith("text/html")


def test_models_endpoints(client: TestClient) -> None:
    m = client.get("/v1/models").json()
    assert m["serving"] == m["current"] == "v0001" and len(m["versions"]) == 1
    assert m["versions"][0]["files_kept"] is True
    import shutil

    from reelkit.service.models import models_dir

    # a version whose files retraining pruned is listed as such (it looked servable)
    shutil.rmtree(models_dir(client.app.state.reelkit.settings.data_dir) / "v0001")  # type: ignore[attr-defined]
    assert client.get("/v1/models").json()["versions"][0]["files_kept"] is False
    assert client.post("/v1/models/reload").status_code == 401
    assert client.post("/v1/models/reload", headers=AUTH).json()["serving"] == "v0001"


@pytest.fixture
def ui_client(data_dir: Path) -> Iterator[TestClient]:
    """A client of a server whose web page may record plays (``web_ui_writes``)."""
    with TestClient(create_app(make_settings(data_dir, web_ui_writes=True))) as c:
        yield c


def test_web_pages_and_play(ui_client: TestClient) -> None:
    client = ui_client
    index = client.get("/")
    assert index.status_code == 200 and "Who's watching?" in index.text
    member = first_member(client)
    home = client.get(f"/?member={member}")
    assert home.status_code == 200 and 'data-row-kind="top-picks"' in home.text
    assert home.headers["cache-control"] == "no-store"
    # how the rows are ordered is text a keyboard and a screen reader reach (it was a hover tooltip)
    assert re.search(
        r'<details class="ranking[^"]*"><summary>Rows ordered by expected engagement</summary><p>\w',
        home.text,
    )
    tid = unseen_title(client, member)
    page = client.get(f"/titles/{tid}")
    assert page.status_code == 200 and 'id="play"' in page.text
    assert client.get("/titles/nothing", headers={"accept": "text/html"}).status_code == 404
    # the play endpoint needs the UI header and the profile cookie (set by choosing the member above)
    assert client.post("/ui/play", json={"title_id": tid}).status_code == 403
    r = client.post("/ui/play", json={"title_id": tid, "fraction": 0.25}, headers={"X-Reelkit-UI": "1"})
    assert r.status_code == 200 and r.json()["member_id"] == member
    # a misspelled field is refused (it was dropped: the play stored at the default fraction)
    typo = client.post("/ui/play", json={"title_id": tid, "fracton": 0.9}, headers={"X-Reelkit-UI": "1"})
    assert typo.status_code == 422 and "fracton" in typo.text
    home = client.get("/").text
    cw = home.split('data-row-kind="continue-watching"')[1].split("</section>")[0]
    assert f'data-title-id="{tid}"' in cw
    assert client.get("/communities").status_code == 200
    events = client.get("/events")
    assert events.status_code == 200 and "ui-" in events.text
    client.cookies.clear()
    assert client.post("/ui/play", json={"title_id": tid}, headers={"X-Reelkit-UI": "1"}).status_code == 401


def test_a_web_play_says_whether_continue_watching_shows_it(ui_client: TestClient) -> None:
    """A title the member turned down is left out of Continue Watching: the play's answer says so (the
    page promised it there whatever the home page did)."""
    member = first_member(ui_client)
    ui_client.get(f"/?member={member}")
    liked, disliked = (
        t["title_id"] for t in ui_client.get(f"/v1/members/{member}/recommendations?n=2").json()["titles"]
    )
    thumb = {"event_id": "down-1", "member_id": member, "title_id": disliked, "kind": "thumb", "value": -1}
    assert ui_client.post("/v1/events", json={"events": [thumb]}, headers=AUTH).status_code == 200
    for tid, shown in ((liked, True), (disliked, False)):
        r = ui_client.post("/ui/play", json={"title_id": tid, "fraction": 0.3}, headers={"X-Reelkit-UI": "1"})
        assert r.status_code == 200 and r.json()["continue_watching"] is shown, tid
        cw = ui_client.get("/").text.split('data-row-kind="continue-watching"')[1].split("</section>")[0]
        assert (f'data-title-id="{tid}"' in cw) is shown
    # a play watched to the end is not resumed either
    r = ui_client.post("/ui/play", json={"title_id": liked, "fraction": 1.0}, headers={"X-Reelkit-UI": "1"})
    assert r.json()["continue_watching"] is False


def test_a_web_play_stores_seconds_of_the_titles_duration(ui_client: TestClient, data_dir: Path) -> None:
    """A play of 25 % of a 2,000 s title stores the position 500.0 s (seconds, with the fraction)."""
    from reelkit.service.store import TitleRecord

    store = ui_client.app.state.reelkit.store  # type: ignore[attr-defined]
    store.upsert_titles([TitleRecord("t2000", "Two Thousand", "Drama", duration=2000.0)])
    ui_client.get(f"/?member={first_member(ui_client)}")
    r = ui_client.post(
        "/ui/play", json={"title_id": "t2000", "fraction": 0.25}, headers={"X-Reelkit-UI": "1"}
    )
    assert r.status_code == 200, r.text
    (event,) = store.latest_events(1)
    assert event.title_id == "t2000" and event.value == 500.0 and event.fraction == 0.25


def test_a_web_play_keeps_a_tenth_of_a_second(ui_client: TestClient) -> None:
    """30 % of a 1,337 s title is 401.1 s, stored to the tenth (not rounded to 401)."""
    from reelkit.service.store import TitleRecord

    store = ui_client.app.state.reelkit.store  # type: ignore[attr-defined]
    store.upsert_titles([TitleRecord("t1337", "Leet", "Drama", duration=1337.0)])
    ui_client.get(f"/?member={first_member(ui_client)}")
    r = ui_client.post("/ui/play", json={"title_id": "t1337", "fraction": 0.3}, headers={"X-Reelkit-UI": "1"})
    assert r.status_code == 200, r.text
    (event,) = store.latest_events(1)
    assert event.value == 401.1


def test_a_web_play_refused_answers_json_even_to_a_browser(ui_client: TestClient) -> None:
    """``/ui/play`` is called by the page's script: its errors are the API's JSON, not an HTML page."""
    r = ui_client.post("/ui/play", json={"title_id": "x"}, headers={"accept": "text/html"})
    assert r.status_code == 403 and r.json()["error"] == "forbidden"


def test_a_web_play_needs_the_ui_header_set_to_1(ui_client: TestClient) -> None:
    """``X-Reelkit-UI: 0`` is not the ``X-Reelkit-UI: 1`` the message asks for: 403, nothing stored."""
    ui_client.get(f"/?member={first_member(ui_client)}")
    store = ui_client.app.state.reelkit.store  # type: ignore[attr-defined]
    n = store.count_events()
    member = first_member(ui_client)
    tid = unseen_title(ui_client, member)
    r = ui_client.post("/ui/play", json={"title_id": tid}, headers={"X-Reelkit-UI": "0"})
    assert r.status_code == 403 and "X-Reelkit-UI: 1" in r.json()["message"]
    assert store.count_events() == n


def test_the_profile_list_pages_by_48(client: TestClient) -> None:
    """The profile chooser shows 48 profiles a page: from offset 96 of 150, "previous" is 48, "more" 144."""
    text = client.get("/?offset=96").text
    assert 'href="/?offset=48"' in text and 'href="/?offset=144"' in text


def test_a_title_page_shows_twelve_similar_titles(client: TestClient) -> None:
    """The title page's More Like This row holds 12 cards (the API's ``/similar`` gives 10 by default)."""
    tid = unseen_title(client, first_member(client))
    row = client.get(f"/titles/{tid}").text.split("<h2>More Like This</h2>")[1].split("</section>")[0]
    assert row.count('class="card"') == 12


def test_a_title_page_shows_a_chip_per_genre_and_none_without_genres(client: TestClient) -> None:
    """A title of "Drama|Comedy" shows two genre chips; one without genres ("") none (not one empty chip)."""
    from reelkit.service.store import TitleRecord

    store = client.app.state.reelkit.store  # type: ignore[attr-defined]
    store.upsert_titles([TitleRecord("g2", "Two", "Drama|Comedy"), TitleRecord("g0", "None", "")])
    assert client.get("/titles/g2").text.count('<span class="chip"') == 2
    assert client.get("/titles/g0").text.count('<span class="chip"') == 0


def test_the_communities_page_shows_8_distinctive_titles_and_5_favourites(client: TestClient) -> None:
    """Each community shows its 8 most distinctive titles as cards and its 5 favourites as links."""
    bundle = client.app.state.reelkit.models.current  # type: ignore[attr-defined]
    sections = client.get("/communities").text.split('<section class="community"')[1:]
    assert len(sections) == len(bundle.home.community_profiles) > 0
    for c, section in zip(bundle.home.community_profiles, sections, strict=True):
        assert section.count('class="card"') == min(8, len(c.distinctive))
        favs = section.split('<p class="favs">')[1].split("</p>")[0]
        assert favs.count("<a href=") == min(5, len(c.favourites))
    assert any(len(c.distinctive) > 8 and len(c.favourites) > 5 for c in bundle.home.community_profiles)


def test_the_events_page_shows_the_latest_50_by_default(client: TestClient) -> None:
    """``/events`` without ``limit`` lists 50 events (the store holds more), newest first."""
    text = client.get("/events").text
    assert text.count("<tr><td>") == 50
    # past SQLite's 64-bit integers the store's query raised: a 500 to anyone, where the API says 422
    assert client.get(f"/events?before={2**63}").status_code == 422
    assert client.get(f"/events?before={2**63 - 1}").status_code == 200


def test_forged_profile_cookie_is_ignored(ui_client: TestClient) -> None:
    client = ui_client
    client.cookies.set("rk_profile", "bTAwMQ.deadbeef")
    r = client.post("/ui/play", json={"title_id": "t001"}, headers={"X-Reelkit-UI": "1"})
    assert r.status_code == 401
    # a MAC with a non-ASCII letter raised TypeError in the comparison: a 500 on every page
    client.cookies.clear()
    odd = {"cookie": "rk_profile=bTAwMQ.\u00e9".encode(), "accept": b"text/html"}
    assert client.get("/", headers=odd).status_code == 200
    r = client.post("/ui/play", json={"title_id": "t001"}, headers={**odd, "X-Reelkit-UI": "1"})
    assert r.status_code == 401


def test_no_model_yet(tmp_path: Path) -> None:
    from reelkit.service.store import MemberRecord, TitleRecord, open_store

    store = open_store(tmp_path)
    store.upsert_titles([TitleRecord("t1", "One")])
    store.upsert_members([MemberRecord("m1", "Ann")])
    store.close()
    with TestClient(create_app(make_settings(tmp_path))) as c:
        assert c.get("/health").json()["status"] == "no_model"
        ready = c.get("/ready", headers={"accept": "text/html"})  # a probe gets the status code
        assert ready.status_code == 503 and ready.json()["error"] == "unavailable"
        r = c.get("/v1/members/m1/home")
        assert r.status_code == 503 and "reelkit retrain --data-dir" in r.json()["message"]
        assert ready.json()["message"] == r.json()["message"]  # named 'reelkit train', which needs --model
        ok = c.post("/v1/events", json={"events": [play("n1", "m1", "t1", 0.2)]}, headers=AUTH)
        assert ok.status_code == 200  # writes work without a model
        home = c.get("/")
        assert home.status_code == 200
        # no timed refresh of the whole page (it erased a member id being typed, WCAG 2.2.1): the script asks
        # /ready and reloads only once a model is served and no field is in use
        assert 'http-equiv="refresh"' not in home.text
        assert '<p class="notice" id="no-model" data-ready-url="/ready" aria-live="polite">' in home.text
        assert "reloadWhenReady" in c.get("/static/app.js").text
        # before a model, ratings are checked against the usual scale that holds the stored ones: 0-10 until
        # there are enough of them (a few posted ratings must not set it), 0-5 for a 5-star catalog then
        rate = {"event_id": "r1", "kind": "rating", "member_id": "m1", "title_id": "t1", "value": 4.5}
        assert c.post("/v1/events", json={"events": [rate]}, headers=AUTH).status_code == 200
        stars = [{**rate, "event_id": f"s{i}", "value": 0.5 + (i % 9) / 2} for i in range(25)]
        assert c.post("/v1/events", json={"events": stars}, headers=AUTH).status_code == 200
        far = {**rate, "event_id": "r2", "value": 9}
        r = c.post("/v1/events", json={"events": [far]}, headers=AUTH)
        assert r.status_code == 422 and "outside the rating scale 0-5" in r.text


def trained_from_rows(tmp_path: Path, rows: list[str]) -> Path:
    """A data folder with ``user,item,rating,timestamp`` rows imported and an item-kNN version trained."""
    from reelkit.data.loaders import load_events_file
    from reelkit.service.ingest import import_dataset
    from reelkit.service.models import train_store
    from reelkit.service.store import open_store

    (tmp_path / "ratings.csv").write_text("\n".join(["user,item,rating,timestamp", *rows]) + "\n")
    store = open_store(tmp_path / "data")
    import_dataset(store, load_events_file(tmp_path / "ratings.csv"))
    store.close()
    train_store(tmp_path / "data", personal="itemknn", community_params=COMMUNITY)
    return tmp_path / "data"


def test_a_model_trained_on_high_ratings_still_takes_a_low_one(tmp_path: Path) -> None:
    rows = [
        f"m{u},t{(u + i) % 20},{3 + (u + i) % 3},{1_600_000_000 + u * 100 + i}"
        for u in range(30)
        for i in range(8)
    ]
    with TestClient(create_app(make_settings(trained_from_rows(tmp_path, rows)))) as c:
        rate = {"event_id": "r1", "kind": "rating", "member_id": "m1", "title_id": "t1", "value": 2}
        r = c.post("/v1/events", json={"events": [rate]}, headers=AUTH)
        assert r.status_code == 200, r.text  # the model's scale is 3-5; a 5-star catalog takes 0-5
        r = c.post("/v1/events", json={"events": [{**rate, "event_id": "r2", "value": 7}]}, headers=AUTH)
        assert r.status_code == 422 and "outside the rating scale 0-5" in r.text
        # the stored range is a scan of every event: read once per model version, not per request
        store = c.app.state.reelkit.store  # type: ignore[attr-defined]
        scans = []
        real = store.rating_range
        store.rating_range = lambda: scans.append(1) or real()
        for i in range(3):
            c.post(
                "/v1/events", json={"events": [{**rate, "event_id": f"r{3 + i}", "value": 1}]}, headers=AUTH
            )
        assert scans == []


def test_ratings_at_the_ends_of_the_models_scale_are_taken(client: TestClient) -> None:
    """The demo model's scale is 0-5 (1-5 stars, from 0 as the usual scale is): a 0 and a 5 are stored (the
    bounds are inclusive)."""
    member = first_member(client)
    tid = unseen_title(client, member)
    for i, value in enumerate((0, 5)):
        rate = {"event_id": f"end{i}", "member_id": member, "title_id": tid, "kind": "rating", "value": value}
        r = client.post("/v1/events", json={"events": [rate]}, headers=AUTH)
        assert r.status_code == 200 and r.json()["stored"] == 1, r.text


def test_the_event_list_total_counts_every_stored_event(client: TestClient) -> None:
    """``GET /v1/events?limit=2`` lists 2 events and, as ``total``, all the store holds (as /health does)."""
    r = client.get("/v1/events", params={"limit": 2}).json()
    assert len(r["events"]) == 2 and r["total"] == client.get("/health").json()["events"] > 2


def test_the_event_list_gives_the_latest_50_by_default_and_up_to_1000(client: TestClient) -> None:
    """``GET /v1/events`` lists 50 events unless told (the store holds more); ``limit`` 1000 is taken, 1001
    is 422."""
    total = client.get("/health").json()["events"]
    assert total > 50 and len(client.get("/v1/events").json()["events"]) == 50
    r = client.get("/v1/events", params={"limit": 1000})
    assert r.status_code == 200 and len(r.json()["events"]) == min(total, 1000)
    r = client.get("/v1/events", params={"limit": 1001})
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "limit"


def test_the_event_list_pages_by_seq_past_1000_and_events_arriving_meanwhile_shift_nothing(
    client: TestClient,
) -> None:
    """Every stored event is reachable, once each, by following ``next_before``; an event stored between
    two pages neither repeats nor skips one (offset paging would); the last page says null."""
    total = client.get("/health").json()["events"]
    first = client.get("/v1/events", params={"limit": 7}).json()
    seqs = [e["seq"] for e in first["events"]]
    assert seqs == sorted(seqs, reverse=True) and first["next_before"] == seqs[-1]
    member = first_member(client)
    event = play("page-new", member, unseen_title(client, member), 0.2)
    assert client.post("/v1/events", json={"events": [event]}, headers=AUTH).json()["stored"] == 1
    before = first["next_before"]
    while before is not None:
        page = client.get("/v1/events", params={"limit": 1000, "before": before}).json()
        assert page["events"] and all(e["seq"] < before for e in page["events"])
        seqs += [e["seq"] for e in page["events"]]
        before = page["next_before"]
    assert len(seqs) == len(set(seqs)) == total  # the new event is on no page after the first
    assert client.get("/v1/events", params={"before": min(seqs)}).json() == {
        "events": [],
        "total": total + 1,
        "next_before": None,
    }
    r = client.get("/v1/events", params={"before": 0})
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "before"


def test_events_from_the_future_booleans_and_strings_are_refused(client: TestClient) -> None:
    import time

    member = first_member(client)
    tid = unseen_title(client, member)
    base = play("f1", member, tid, 0.1)
    bad = [
        ({**base, "timestamp": int(time.time()) + 3600}, "events[0].timestamp"),  # an hour ahead
        ({**base, "position": "10"}, "events[0].position"),
        ({**base, "timestamp": str(int(time.time()))}, "events[0].timestamp"),
        (
            {"event_id": "f2", "kind": "thumb", "member_id": member, "title_id": tid, "value": True},
            "events[0].value",
        ),
        (
            {"event_id": "f3", "kind": "rating", "member_id": member, "title_id": tid, "value": True},
            "events[0].value",
        ),
    ]
    total = client.get("/health").json()["events"]
    for event, where in bad:
        r = client.post("/v1/events", json={"events": [event]}, headers=AUTH)
        assert r.status_code == 422, (event, r.text)
        assert [f["field"] for f in r.json()["fields"]] == [where], (where, r.json())
    assert client.get("/health").json()["events"] == total
    # a client clock a minute fast is fine; integers are numbers, and whole seconds may come as a float
    ok = {**base, "event_id": "f4", "timestamp": int(time.time()) + 60, "position": 600}
    assert client.post("/v1/events", json={"events": [ok]}, headers=AUTH).status_code == 200
    # ... and stored as now: the next play sent without a timestamp (the server's clock) is the newer one
    later = {**play("f4b", member, tid, 0.74)}
    assert client.post("/v1/events", json={"events": [later]}, headers=AUTH).status_code == 200
    rows = client.get(f"/v1/members/{member}/home").json()["rows"]
    (cw,) = [r for r in rows if r["kind"] == "continue-watching"]
    card = next(t for t in cw["titles"] if t["title_id"] == tid)
    assert card["progress"] == pytest.approx(0.74)
    whole = {**base, "event_id": "f5", "timestamp": float(int(time.time()))}
    assert client.post("/v1/events", json={"events": [whole]}, headers=AUTH).status_code == 200
    half = {**base, "event_id": "f6", "timestamp": int(time.time()) - 0.5}
    assert client.post("/v1/events", json={"events": [half]}, headers=AUTH).status_code == 422


def test_a_client_clock_may_run_up_to_300_s_fast(client: TestClient) -> None:
    """A timestamp 290 s ahead of the server's clock is taken, 310 s ahead is refused (MAX_CLOCK_SKEW_S)."""
    member = first_member(client)
    tid = unseen_title(client, member)
    now = int(time.time())
    ok = {**play("skew-ok", member, tid, 0.2), "timestamp": now + 290}
    assert client.post("/v1/events", json={"events": [ok]}, headers=AUTH).status_code == 200
    late = {**play("skew-far", member, tid, 0.2), "timestamp": now + 310}
    r = client.post("/v1/events", json={"events": [late]}, headers=AUTH)
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "events[0].timestamp"


def test_a_timestamp_from_the_future_is_refused_saying_how_far_ahead(client: TestClient) -> None:
    """An event stamped an hour ahead is refused as "3600 s ahead" (timestamp - now, not now - timestamp)."""
    member = first_member(client)
    now = int(time.time())
    ahead = {**play("ahead", member, unseen_title(client, member), 0.2), "timestamp": now + 3600}
    r = client.post("/v1/events", json={"events": [ahead]}, headers=AUTH)
    assert r.status_code == 422
    (field,) = r.json()["fields"]
    m = re.search(r"is (-?\d+) s ahead of the server's clock", field["message"])
    assert m and 3590 <= int(m.group(1)) <= 3600, field


def test_member_ids_with_a_slash_are_refused(client: TestClient) -> None:
    r = client.post("/v1/members", json={"member_id": "a/b", "name": "Slash"}, headers=AUTH)
    assert r.status_code == 422 and r.json()["fields"][0]["field"].endswith("member_id")


def test_a_new_members_name_is_stripped_and_likes_at_most_100_titles(client: TestClient) -> None:
    """A blank name is refused and one with spaces around is stored without them; 101 liked titles are 422."""
    r = client.post("/v1/members", json={"name": "   "}, headers=AUTH)
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "name"
    assert "must not be blank" in r.json()["fields"][0]["message"]  # was "at least 1 character", to 3 spaces
    schema = client.get("/openapi.json").json()["components"]["schemas"]["NewMember"]["properties"]["name"]
    assert schema["pattern"] == r"\S"  # blank is refused by the schema too
    r = client.post("/v1/members", json={"name": "  Ann Lee  "}, headers=AUTH)
    assert r.status_code == 201 and r.json()["member"]["name"] == "Ann Lee"
    r = client.post("/v1/members", json={"name": "Fan", "liked_titles": ["t001"] * 101}, headers=AUTH)
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "liked_titles"


def test_continue_watching_names_titles_added_after_training(client: TestClient, data_dir: Path) -> None:
    from reelkit.service.store import TitleRecord, open_store

    store = open_store(data_dir)
    try:
        store.upsert_titles([TitleRecord("new-1", "Jumanji (1995)", "Adventure|Children")])
    finally:
        store.close()
    member = first_member(client)
    r = client.post("/v1/events", json={"events": [play("cw-new", member, "new-1", 0.3)]}, headers=AUTH)
    assert r.status_code == 200, r.text
    rows = client.get(f"/v1/members/{member}/home").json()["rows"]
    (cw,) = [row for row in rows if row["kind"] == "continue-watching"]
    card = next(t for t in cw["titles"] if t["title_id"] == "new-1")
    assert card["name"] == "Jumanji (1995)" and card["genres"] == ["Adventure", "Children"]


def test_a_title_added_after_training_without_genres_lists_none(client: TestClient, data_dir: Path) -> None:
    """MovieLens' "(no genres listed)" is no genre: a title added after training shows ``genres == []``."""
    from reelkit.service.store import TitleRecord, open_store

    store = open_store(data_dir)
    try:
        store.upsert_titles([TitleRecord("new-2", "Untold (2024)", "(no genres listed)")])
    finally:
        store.close()
    member = first_member(client)
    r = client.post("/v1/events", json={"events": [play("cw-new2", member, "new-2", 0.3)]}, headers=AUTH)
    assert r.status_code == 200, r.text
    rows = client.get(f"/v1/members/{member}/home").json()["rows"]
    card = next(t for row in rows for t in row["titles"] if t["title_id"] == "new-2")
    assert card["name"] == "Untold (2024)" and card["genres"] == []


def test_openapi_says_what_errors_look_like(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    ref = {"$ref": "#/components/schemas/ErrorBody"}
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            r422 = op["responses"].get("422")
            if r422 is not None:
                assert r422["content"]["application/json"]["schema"] == ref, (path, method)
    home = doc["paths"]["/v1/members/{member_id}/home"]["get"]["responses"]
    assert home["503"]["content"]["application/json"]["schema"] == ref
    post = doc["paths"]["/v1/events"]["post"]["responses"]
    assert {"400", "401", "403", "422"} <= set(post)
    assert "503" in doc["paths"]["/ready"]["get"]["responses"]


def test_openapi_matches_the_configured_apps_answers(data_dir: Path) -> None:
    """413s, the busy database's 503 and protected reads' 401 were missing; open reads asked for a token."""
    for protect in (False, True):
        with TestClient(create_app(make_settings(data_dir, protect_reads=protect))) as c:
            paths = c.get("/openapi.json").json()["paths"]
        for path, method in (("/v1/members", "post"), ("/v1/events", "post")):
            resp = paths[path][method]["responses"]
            assert "413" in resp and "Retry-After" in resp["503"]["headers"], (path, resp)
            assert "busy" in resp["503"]["description"] and paths[path][method]["security"]
        for path in ("/v1/members", "/v1/members/{member_id}/home", "/v1/titles/{title_id}", "/v1/models"):
            op = paths[path]["get"]
            assert ("401" in op["responses"]) is protect and ("security" in op) is protect, (path, op)
        assert (
            "no model"
            in paths["/v1/members/{member_id}/home"]["get"]["responses"]["503"]["description"].lower()
        )
        assert "503" not in paths["/v1/models/reload"]["post"]["responses"]  # it stores nothing
        assert "security" not in paths["/health"]["get"]
        # with protected reads the metrics are a read too
        assert ("security" in paths["/metrics"]["get"]) is protect


def test_every_route_that_writes_documents_the_busy_503_and_the_full_507(data_dir: Path) -> None:
    """POST /v1/models/{version}/activate writes (the current version) and answers 503 while another
    writer holds the database, but its OpenAPI said nothing of it (nor of a full disk's 507): a route was
    taken to write only when it had a request body."""
    import sqlite3

    with TestClient(create_app(make_settings(data_dir, busy_timeout_s=0.3))) as c:
        member = first_member(c)
        thumb = {"event_id": "w-1", "member_id": member, "title_id": unseen_title(c, member), "kind": "thumb"}
        writes = {
            ("/v1/events", "post"): ("/v1/events", {"events": [{**thumb, "value": 1}]}),
            ("/v1/members", "post"): ("/v1/members", {"member_id": "w-new", "name": "New"}),
            ("/v1/models/{version}/activate", "post"): ("/v1/models/v0001/activate", None),
        }
        holder = sqlite3.connect(data_dir / "reelkit.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another writer (an import, a retrain)
        try:
            for url, body in writes.values():
                r = c.post(url, json=body, headers=AUTH)
                assert r.status_code == 503 and r.headers["Retry-After"] == "2", (url, r.text)
            assert c.post("/v1/models/reload", headers=AUTH).status_code == 200  # it writes nothing
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        paths = c.get("/openapi.json").json()["paths"]
    for path, method in writes:
        resp = paths[path][method]["responses"]
        assert "busy" in resp["503"]["description"] and "Retry-After" in resp["503"]["headers"], path
        assert resp["507"]["description"].startswith("The server's storage is full"), path
    documented = {(p, m) for p, ops in paths.items() for m, op in ops.items() if "507" in op["responses"]}
    assert documented == set(writes)
    busy = {(p, m) for p, ops in paths.items() for m, op in ops.items() if "busy" in str(op["responses"])}
    assert busy == set(writes)


def test_openapi_says_whether_reads_or_writes_are_off_without_a_token(data_dir: Path) -> None:
    """With protected reads, a read's documented 403 says "Reads are off", a write's "Writes are off"."""
    with TestClient(create_app(make_settings(data_dir, protect_reads=True))) as c:
        paths = c.get("/openapi.json").json()["paths"]
    assert paths["/v1/members"]["get"]["responses"]["403"]["description"].startswith("Reads are off")
    assert paths["/v1/events"]["post"]["responses"]["403"]["description"].startswith("Writes are off")


def test_openapi_operation_ids_are_unique(client: TestClient) -> None:
    """The ABR segment route served GET and HEAD as one route, so both operations had one operationId
    (FastAPI warned; client generators refuse a schema with duplicates)."""
    import warnings

    client.app.openapi_schema = None  # type: ignore[attr-defined]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        doc = client.get("/openapi.json").json()
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    assert set(doc["paths"]["/abr/stream/{stream}/{trace}/{session_id}/{file}"]) == {"get", "head"}


def test_pages_escape_user_data(client: TestClient) -> None:
    r = client.post(
        "/v1/members",
        json={"member_id": "x<b>", "name": "<script>alert(1)</script>", "liked_titles": []},
        headers=AUTH,
    )
    assert r.status_code == 201
    page = client.get("/", params={"member": "x<b>"}).text
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'value="x<b>"' not in page


def test_reload_retries_a_version_that_failed_to_load(client: TestClient, data_dir: Path) -> None:
    from reelkit.service.models import models_dir, train_store

    rec = train_store(data_dir, community_params={"n_communities": 4, "dims": 16})
    personal = models_dir(data_dir) / rec.version / "personal.npz"
    saved = personal.read_bytes()
    personal.write_bytes(b"not a model")
    assert client.post("/v1/models/reload", headers=AUTH).json()["serving"] == "v0001"
    personal.write_bytes(saved)
    assert client.post("/v1/models/reload", headers=AUTH).json()["serving"] == rec.version


def test_a_kept_older_version_is_activated_through_the_api(client: TestClient, data_dir: Path) -> None:
    """A kept older version (files_kept: "it can be served") could never be made current again: POST
    /v1/models/{version}/activate makes it current and serves it; an unknown version is a 404, one whose
    files were pruned or do not load a 409, and the token is needed."""
    import shutil

    from reelkit.service.models import models_dir, train_store
    from reelkit.service.store import open_store

    rec = train_store(data_dir, community_params=COMMUNITY)
    assert client.post("/v1/models/reload", headers=AUTH).json()["serving"] == rec.version == "v0002"
    assert client.post("/v1/models/v0001/activate").status_code == 401
    r = client.post("/v1/models/v0001/activate", headers=AUTH)
    assert r.status_code == 200 and r.json()["serving"] == r.json()["current"] == "v0001"
    store = open_store(data_dir)
    current = store.current_model_version()
    store.close()
    assert current is not None and current.version == "v0001"  # recorded: a restart serves it too
    assert client.get("/health").json()["model_version"] == "v0001"
    r = client.post("/v1/models/v0042/activate", headers=AUTH)
    assert r.status_code == 404 and r.json()["error"] == "not_found" and "v0042" in r.json()["message"]
    assert str(data_dir) not in r.text  # the reply named the server's data folder
    r = client.post(f"/v1/models/{'v' * 5000}/activate", headers=AUTH)
    assert r.status_code == 404 and len(r.json()["message"]) < 200  # and echoed a 5000-letter name whole
    (models_dir(data_dir) / "v0002" / "personal.npz").write_bytes(b"not a model")
    r = client.post("/v1/models/v0002/activate", headers=AUTH)
    assert r.status_code == 409 and r.json()["error"] == "conflict" and "does not load" in r.json()["message"]
    assert str(data_dir) not in r.text, r.text
    shutil.rmtree(models_dir(data_dir) / "v0002")
    r = client.post("/v1/models/v0002/activate", headers=AUTH)
    assert r.status_code == 409 and "files were deleted" in r.json()["message"]
    assert client.get("/v1/models").json()["serving"] == "v0001"  # the refused ones changed nothing
    responses = client.get("/openapi.json").json()["paths"]["/v1/models/{version}/activate"]["post"]
    assert {"401", "404", "409"} <= set(responses["responses"])


def count_events(data_dir: Path) -> int:
    from reelkit.service.store import open_store

    store = open_store(data_dir)
    try:
        return store.count_events()
    finally:
        store.close()


def test_web_play_is_refused_without_a_token(data_dir: Path) -> None:
    settings = ServiceSettings.load(data_dir, environ={}, model_poll_seconds=0)
    assert settings.web_ui_writes is None and not settings.ui_writes_allowed
    with TestClient(create_app(settings)) as c:
        member = first_member(c)
        assert c.get(f"/?member={member}").status_code == 200  # the profile cookie is set
        total = count_events(data_dir)
        tid = unseen_title(c, member)
        r = c.post("/ui/play", json={"title_id": tid, "fraction": 0.3}, headers={"X-Reelkit-UI": "1"})
        assert r.status_code == 403 and "web_ui_writes" in r.json()["message"]
        assert count_events(data_dir) == total
        # the title page offers no Play buttons that can only fail; it says plays are off
        page = c.get(f"/titles/{tid}").text
        assert 'id="play"' not in page and 'id="plays-off"' in page
    # turned on explicitly, the page's play button works without a token; turned off, not even with one
    with TestClient(create_app(ServiceSettings.load(data_dir, environ={}, web_ui_writes=True))) as c:
        member = first_member(c)
        c.get(f"/?member={member}")
        assert 'id="play"' in c.get(f"/titles/{unseen_title(c, member)}").text
        r = c.post("/ui/play", json={"title_id": unseen_title(c, member)}, headers={"X-Reelkit-UI": "1"})
        assert r.status_code == 200 and r.json()["stored"] == 1
    # a token alone does not turn it on: the play button writes for any profile without a credential
    for flag in (False, None):
        with TestClient(create_app(make_settings(data_dir, web_ui_writes=flag))) as c:
            member = first_member(c)
            c.get(f"/?member={member}")
            assert 'id="play"' not in c.get(f"/titles/{unseen_title(c, member)}").text
            r = c.post("/ui/play", json={"title_id": unseen_title(c, member)}, headers={"X-Reelkit-UI": "1"})
            assert r.status_code == 403


@pytest.mark.parametrize("path", ["/v1/members?offset=9223372036854775808", "/?offset=9223372036854775808"])
def test_huge_offsets_are_422_not_500(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 422 and r.json()["error"] == "invalid_request"
    assert [f["field"] for f in r.json()["fields"]] == ["offset"]
    assert client.get("/v1/members?offset=2147483648").status_code == 200  # the bound itself is fine


def test_title_page_progress_is_the_latest_play_by_timestamp(client: TestClient) -> None:
    member = first_member(client)
    tid = unseen_title(client, member)
    newer = {**play("tp-new", member, tid, 0.4), "timestamp": 1_700_002_000}
    older = {**play("tp-old", member, tid, 0.8), "timestamp": 1_700_001_000}  # arrives later
    assert client.post("/v1/events", json={"events": [newer]}, headers=AUTH).status_code == 200
    assert client.post("/v1/events", json={"events": [older]}, headers=AUTH).status_code == 200
    client.get(f"/?member={member}")
    assert "You have watched 40%." in client.get(f"/titles/{tid}").text


def test_title_page_progress_is_continue_watchings_resume_point(client: TestClient) -> None:
    """A 15 s preview after a 35% play: the home page said "Resume: 35% watched", the title page 0%."""
    member = first_member(client)
    tid = unseen_title(client, member)
    now = int(time.time())
    start = {**play("rp-start", member, tid, 0.35), "timestamp": now - 60}
    preview = {**play("rp-preview", member, tid, 0.0025), "timestamp": now}
    assert client.post("/v1/events", json={"events": [start, preview]}, headers=AUTH).status_code == 200
    rows = client.get(f"/v1/members/{member}/home").json()["rows"]
    (cw,) = [r for r in rows if r["kind"] == "continue-watching"]
    assert next(t for t in cw["titles"] if t["title_id"] == tid)["progress"] == pytest.approx(0.35)
    client.get(f"/?member={member}")
    assert "You have watched 35%." in client.get(f"/titles/{tid}").text


def test_title_page_progress_skips_a_later_play_of_unknown_fraction(client: TestClient) -> None:
    """A 40% play, then a stored play whose fraction is unknown (an imported play without a duration): the
    page says 40%, as Continue Watching resumes it, not "0%" (the unknown fraction, NaN, read as 0)."""
    member = first_member(client)
    tid = unseen_title(client, member)
    now = int(time.time())
    start = {**play("uf-start", member, tid, 0.4), "timestamp": now - 60}
    assert client.post("/v1/events", json={"events": [start]}, headers=AUTH).status_code == 200
    from reelkit.service.store import EventRecord

    store = client.app.state.reelkit.store  # type: ignore[attr-defined]
    store.append_events([EventRecord("uf-later", member, tid, "play", now, 3000.0, None)])
    client.get(f"/?member={member}")
    assert "You have watched 40%." in client.get(f"/titles/{tid}").text


def test_signup_event_ids_are_reserved(client: TestClient) -> None:
    member = first_member(client)
    batch = {"events": [play(f"signup:{member}:0", member, unseen_title(client, member), 0.3)]}
    r = client.post("/v1/events", json=batch, headers=AUTH)
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "events[0].event_id"
    assert "reserved" in r.json()["fields"][0]["message"]


def test_home_reads_the_last_sequence_once(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from reelkit.service.store import SQLiteStore

    calls: list[str] = []
    original = SQLiteStore.member_last_seq

    def counting(self: SQLiteStore, member_id: str) -> int:
        calls.append(member_id)
        return original(self, member_id)

    with TestClient(create_app(make_settings(data_dir, warm_pages=0))) as c:
        member = first_member(c)
        monkeypatch.setattr(SQLiteStore, "member_last_seq", counting)
        assert c.get(f"/v1/members/{member}/home").status_code == 200  # built: not cached yet
        assert calls == [member]


def test_imported_ids_with_a_slash_are_reachable(tmp_path: Path) -> None:
    rows = [
        f"acct/{u},show/{(u + i) % 30},{1 + (u + i) % 5},{1_600_000_000 + u * 100 + i}"
        for u in range(40)
        for i in range(15)
        if (u * 7 + i * 3) % 4
    ]
    with TestClient(create_app(make_settings(trained_from_rows(tmp_path, rows)))) as c:
        assert c.get("/v1/members/acct%2F1").json()["member_id"] == "acct/1"
        home = c.get("/v1/members/acct%2F1/home")
        assert home.status_code == 200 and home.json()["member_id"] == "acct/1"
        recs = c.get("/v1/members/acct%2F1/recommendations", params={"n": 3}).json()
        assert recs["member_id"] == "acct/1" and len(recs["titles"]) == 3
        assert c.get("/v1/titles/show%2F3").json()["title_id"] == "show/3"
        assert c.get("/v1/titles/show%2F3/similar").json()["title_id"] == "show/3"
        page = c.get("/titles/show%2F3")
        assert page.status_code == 200 and "show/3" in page.text
        assert c.get("/v1/members/acct%2F999/home").status_code == 404
        # the list and an empty title id keep their answers (the path routes took them as an empty id)
        r = c.get("/v1/members/", params={"limit": 2}, follow_redirects=False)
        assert r.status_code == 307 and r.headers["location"] == "/v1/members?limit=2"
        assert c.get("/v1/titles/").status_code == 404


def test_an_id_ending_as_a_route_does_is_warned_about_at_import(tmp_path: Path) -> None:
    from reelkit.data.loaders import load_events_file
    from reelkit.errors import ReelkitWarning
    from reelkit.service.ingest import import_dataset
    from reelkit.service.store import open_store

    (tmp_path / "r.csv").write_text("user,item,rating,timestamp\na/home,t1,4,1600000000\nb,t1,3,1600000001\n")
    store = open_store(tmp_path / "data")
    with pytest.warns(ReelkitWarning, match=r"1 member id\(s\) end as an API route does \('a/home'\)"):
        import_dataset(store, load_events_file(tmp_path / "r.csv"))
    # ids the API refuses (422): longer than 128 characters
    long_id = "m" * 150
    (tmp_path / "r.csv").write_text(f"user,item,rating,timestamp\n{long_id},t1,4,1600000000\n")
    with pytest.warns(ReelkitWarning, match=r"1 member id\(s\) are longer than 128 characters .*'mmmm"):
        import_dataset(store, load_events_file(tmp_path / "r.csv"))
    # or holding a control character
    (tmp_path / "r.csv").write_text('user,item,rating,timestamp\n"m\x01x",t1,4,1600000000\n')
    with pytest.warns(ReelkitWarning, match=r"1 member id\(s\) .* hold control characters \('m\\x01x'\)"):
        import_dataset(store, load_events_file(tmp_path / "r.csv"))
    # or a "." / ".." path segment: clients resolve it before sending (/v1/titles/a/.. is /v1/titles)
    (tmp_path / "r.csv").write_text("user,item,rating,timestamp\nm1,..,4,1600000000\nm1,a/.,4,1600000000\n")
    with pytest.warns(
        ReelkitWarning, match=r"2 title id\(s\) are '\.' or '\.\.' or hold such .*'\.\.', 'a/\.'"
    ):
        import_dataset(store, load_events_file(tmp_path / "r.csv"))
    store.close()


@pytest.mark.parametrize("member_id", [".", ".."])
def test_member_ids_that_are_dot_segments_are_refused(client: TestClient, member_id: str) -> None:
    """Accepted (201) and then unreachable: clients send /v1/members/../home as /v1/home."""
    r = client.post("/v1/members", json={"member_id": member_id, "name": "Dot"}, headers=AUTH)
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "member_id"
    assert "cannot be an id" in r.json()["fields"][0]["message"]
    assert (
        client.post("/v1/members", json={"member_id": "...", "name": "Dots"}, headers=AUTH).status_code == 201
    )
