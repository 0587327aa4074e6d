"""The service at its edges, each a known answer that a mutation pass found no test for: the last page of
each paged list, the clock-skew boundary, the profile cookie's attributes, the /metrics gauges, sign-up
thumbs, and a compressed body sent without a length."""

from __future__ import annotations

import gzip
import re
import time
from pathlib import Path

import pytest

from reelkit.service.app import create_app

from .conftest import TestClient, make_settings
from .test_service_api import AUTH, first_member, play, unseen_title


def test_the_event_lists_last_page_points_nowhere_further(client: TestClient) -> None:
    """Exactly `limit` events left: no next page (next_before pointed at an empty one), and the events
    page shows no "Older events" link past event #1."""
    page = client.get("/v1/events", params={"limit": 3, "before": 4}).json()
    assert [e["seq"] for e in page["events"]] == [3, 2, 1] and page["next_before"] is None
    text = client.get("/events?before=3&limit=2").text
    assert re.findall(r"<tr><td>(\d+)</td>", text) == ["2", "1"] and 'rel="next"' not in text


def test_the_last_profile_page_has_no_more_link(client: TestClient) -> None:
    n = client.get("/v1/members").json()["total"]
    last = (n - 1) // 48 * 48
    assert "more profiles" not in client.get(f"/?offset={last}").text
    assert "more profiles" in client.get(f"/?offset={last - 48}").text


def test_an_event_exactly_300_s_ahead_is_taken_and_one_more_second_is_not(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reelkit.service.routers.events as events

    monkeypatch.setattr(events.time, "time", lambda: 1_700_000_000.0)
    member = first_member(client)
    title = unseen_title(client, member)
    ok = {**play("edge", member, title, 0.2), "timestamp": 1_700_000_300}
    assert client.post("/v1/events", json={"events": [ok]}, headers=AUTH).status_code == 200
    far = {**play("edge2", member, title, 0.2), "timestamp": 1_700_000_301}
    assert client.post("/v1/events", json={"events": [far]}, headers=AUTH).status_code == 422


def test_the_profile_cookie_is_http_only_and_same_site_strict(client: TestClient) -> None:
    cookie = client.get(f"/?member={first_member(client)}").headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie, cookie


def test_metrics_count_members_and_titles_each_as_itself(client: TestClient) -> None:
    text = client.get("/metrics").text
    members = client.get("/v1/members").json()["total"]
    titles = client.app.state.reelkit.store.count_titles()  # type: ignore[attr-defined]
    assert members != titles
    assert f"\nreelkit_members {members}\n" in text and f"\nreelkit_titles {titles}\n" in text


def test_metrics_say_when_the_model_was_loaded_and_none_without_one(data_dir: Path, tmp_path: Path) -> None:
    """The loaded timestamp is the load's (not the training's); with no model, model_info is 0 (an alert
    on "no model" never fired at 1)."""
    from reelkit.service.store import open_store

    before = time.time()
    with TestClient(create_app(make_settings(data_dir))) as c:
        found = re.search(r"^reelkit_model_loaded_timestamp_seconds (\S+)$", c.get("/metrics").text, re.M)
        assert found and before - 1 <= float(found.group(1)) <= time.time() + 1, found
    empty = tmp_path / "empty"
    open_store(empty).close()
    with TestClient(create_app(make_settings(empty))) as c:
        assert re.search(r"^reelkit_model_info 0$", c.get("/metrics").text, re.M)


def test_sign_up_likes_are_thumbs_up_of_one(client: TestClient) -> None:
    liked = unseen_title(client, first_member(client))
    r = client.post("/v1/members", json={"name": "Z", "liked_titles": [liked]}, headers=AUTH)
    assert r.status_code == 201
    (event,) = client.get("/v1/events", params={"limit": 1}).json()["events"]
    assert (event["kind"], event["title_id"], event["value"]) == ("thumb", liked, 1.0)


def test_a_compressed_body_sent_in_chunks_is_415(client: TestClient) -> None:
    """A gzipped body with no Content-Length (chunked) got through to "the body is not valid JSON"."""
    body = gzip.compress(b'{"events": []}')
    headers = {**AUTH, "content-type": "application/json", "content-encoding": "gzip"}
    r = client.post("/v1/events", content=iter([body]), headers=headers)
    assert r.status_code == 415 and "gzip" in r.text, r.text
