"""``POST /v1/download-advice``: advice for given titles (no model needed), validation, member without one."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the service extra (fastapi, uvicorn, jinja2, httpx) is not installed")

from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

from reelkit.errors import ReelkitWarning
from reelkit.service.app import create_app
from reelkit.service.settings import ServiceSettings

BASE = 19676 * 86400.0  # a midnight, UTC


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = ServiceSettings.load(tmp_path / "data", environ={}, model_poll_seconds=0, warm_pages=0)
    with TestClient(create_app(settings)) as c:
        yield c


def _samples(mbps: float) -> list[dict[str, float]]:
    return [{"timestamp": BASE + 20 * 3600 + 5.0 * k, "mbps": mbps} for k in range(200)]


def test_fast_network_streams(client: TestClient) -> None:
    body = {
        "samples": _samples(40.0),
        "quality_kbps": 4300,
        "titles": [{"title_id": "tt1", "duration_s": 1200}, {"title_id": "tt2", "duration_s": 5400}],
        "now": BASE + 20 * 3600 + 600,
    }
    r = client.post("/v1/download-advice", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["hour"] == 20
    assert out["median_mbps_now"] == pytest.approx(40.0)
    assert [t["title_id"] for t in out["titles"]] == ["tt1", "tt2"]
    assert [t["action"] for t in out["titles"]] == ["stream", "stream"]
    assert out["titles"][0]["reason"] == "requested"


def test_a_quality_above_the_top_rung_is_said_in_the_reply(client: TestClient) -> None:
    """quality_kbps 99999 was advised at the top rung (4300) with nothing in the reply but quality_kbps (the
    CLI warns): quality_note says so; a quality on the ladder has none."""
    body = {
        "samples": _samples(40.0),
        "quality_kbps": 99999,
        "titles": [{"title_id": "tt1", "duration_s": 1200}],
        "now": BASE + 20 * 3600 + 600,
    }
    with pytest.warns(ReelkitWarning, match="above the top rung"):
        out = client.post("/v1/download-advice", json=body).json()
    assert out["titles"][0]["quality_kbps"] == 4300
    assert out["quality_note"] == (
        "quality 99999 kbps is above the top rung: advised at 4300 kbps, the ladder's highest (give a "
        "ladder_kbps that reaches it to ask about more)"
    )
    assert (
        client.post("/v1/download-advice", json={**body, "quality_kbps": 4300}).json()["quality_note"] is None
    )


def test_the_hour_is_the_members_local_hour(client: TestClient) -> None:
    """Pins utc_offset_h: 20:10 UTC is hour 22 for a member at UTC+2."""
    body = {
        "samples": _samples(40.0),
        "quality_kbps": 4300,
        "titles": [{"title_id": "tt1", "duration_s": 1200}],
        "now": BASE + 20 * 3600 + 600,
        "utc_offset_h": 2,
    }
    r = client.post("/v1/download-advice", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["hour"] == 22


def test_slow_network_downloads_a_short_title(client: TestClient) -> None:
    body = {
        "samples": _samples(3.0),
        "quality_kbps": 4300,
        "titles": [{"title_id": "ep", "duration_s": 900}],
        "now": BASE + 20 * 3600 + 600,
        "ladder_kbps": [300, 750, 1200, 1850, 2850, 4300],
    }
    r = client.post("/v1/download-advice", json=body)
    assert r.status_code == 200, r.text
    t = r.json()["titles"][0]
    assert t["action"] == "download"
    assert t["download_s_now"] == pytest.approx(900 * 4.3 / 3.0, rel=1e-6)


@pytest.mark.parametrize(
    "body",
    [
        {"samples": [], "quality_kbps": 750, "titles": [{"title_id": "t"}]},
        {"samples": _samples(5.0), "quality_kbps": -1, "titles": [{"title_id": "t"}]},
        {
            "samples": _samples(5.0),
            "quality_kbps": 750,
            "titles": [{"title_id": "t"}],
            "ladder_kbps": [750, 300],
        },
        {"samples": _samples(5.0), "quality_kbps": 750, "titles": [{"title_id": "t", "duration_s": 0}]},
        {"samples": [{"timestamp": 1.0, "mbps": -2}], "quality_kbps": 750, "titles": [{"title_id": "t"}]},
        {"samples": [{"timestamp": 1e300, "mbps": 5}], "quality_kbps": 750, "titles": [{"title_id": "t"}]},
        {"samples": [{"timestamp": -60, "mbps": 5}], "quality_kbps": 750, "titles": [{"title_id": "t"}]},
        {"samples": [{"timestamp": 1.0, "mbps": 2e6}], "quality_kbps": 750, "titles": [{"title_id": "t"}]},
        {"samples": _samples(5.0), "quality_kbps": 750, "titles": [{"title_id": "t"}], "extra": 1},
    ],
)
def test_validation(client: TestClient, body: dict[str, object]) -> None:
    r = client.post("/v1/download-advice", json=body)
    assert r.status_code == 422, r.text


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("quality_kbps", '"quality_kbps": 1e300'),
        ("quality_kbps", '"quality_kbps": Infinity'),
        ("ladder_kbps", '"quality_kbps": 750, "ladder_kbps": [300, 1e300]'),
        ("ladder_kbps", '"quality_kbps": 750, "ladder_kbps": [NaN]'),
        ("ladder_kbps", '"quality_kbps": 750, "ladder_kbps": [1000, 1000]'),  # a 400 naming no field
        ("now", '"quality_kbps": 750, "now": NaN'),
        ("now", '"quality_kbps": 750, "now": 1e300'),
        ("now", '"quality_kbps": 750, "now": -1'),
        ("titles", '"quality_kbps": 750, "titles": []'),
    ],
)
def test_unbounded_and_non_finite_numbers_are_422_naming_the_field(
    client: TestClient, field: str, raw: str
) -> None:
    """A rung of 1e300 kbps used to hang a worker in the playback simulation; NaN/Infinity reached the
    library and came back as a 400 without a field."""
    titles = "" if '"titles"' in raw else ', "titles": [{"title_id": "t"}]'
    samples = '[{"timestamp": 1700000000, "mbps": 5}]'
    body = f'{{"samples": {samples}, {raw}{titles}}}'
    r = client.post("/v1/download-advice", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert field in r.text


def test_catalogue_titles_without_a_duration_are_a_45_minute_episode_or_a_100_minute_film(
    client: TestClient,
) -> None:
    """A series episode without a running time is 2700 s, a film 6000 s: download time at 4.3 of 3 Mbit/s."""
    from reelkit.service.store import TitleRecord

    store = client.app.state.reelkit.store  # type: ignore[attr-defined]
    store.upsert_titles([TitleRecord("show", "A Show", kind="series"), TitleRecord("film", "A Film")])
    body = {
        "samples": _samples(3.0),
        "quality_kbps": 4300,
        "titles": [{"title_id": "show"}, {"title_id": "film"}],
        "now": BASE + 20 * 3600 + 600,
    }
    r = client.post("/v1/download-advice", json=body)
    assert r.status_code == 200, r.text
    got = {t["title_id"]: t["download_s_now"] for t in r.json()["titles"]}
    assert got == pytest.approx({"show": 45 * 60 * 4.3 / 3.0, "film": 100 * 60 * 4.3 / 3.0}, rel=1e-6)


def test_a_duration_given_with_a_catalogue_title_is_the_one_advised_on(client: TestClient) -> None:
    """A request's duration_s wins over the catalogue's (a cut, a trailer): 1200 s at 4.3 of 3 Mbit/s is
    1720 s to download, not the catalogue's 6000 s film (8600 s); the catalogue's name is kept."""
    from reelkit.service.store import TitleRecord

    store = client.app.state.reelkit.store  # type: ignore[attr-defined]
    store.upsert_titles([TitleRecord("film", "A Film", duration=6000)])
    body = {
        "samples": _samples(3.0),
        "quality_kbps": 4300,
        "titles": [{"title_id": "film", "duration_s": 1200}],
        "now": BASE + 20 * 3600 + 600,
    }
    r = client.post("/v1/download-advice", json=body)
    assert r.status_code == 200, r.text
    (t,) = r.json()["titles"]
    assert t["download_s_now"] == pytest.approx(1200 * 4.3 / 3.0, rel=1e-6)
    assert t["name"] == "A Film"


def test_quality_below_the_ladder_and_no_titles(client: TestClient) -> None:
    r = client.post(
        "/v1/download-advice",
        json={"samples": _samples(5.0), "quality_kbps": 100, "titles": [{"title_id": "t", "duration_s": 60}]},
    )
    assert r.status_code == 422, r.text  # the field is named (it was a 400 naming none)
    assert r.json()["fields"] == [
        {"field": "quality_kbps", "message": "100 kbps is below the default ladder's lowest rung, 300 kbps"}
    ]
    r = client.post(
        "/v1/download-advice",
        json={
            "samples": _samples(5.0),
            "quality_kbps": 400,
            "ladder_kbps": [500, 900],
            "titles": [{"title_id": "t", "duration_s": 60}],
        },
    )
    assert r.status_code == 422 and r.json()["fields"][0]["field"] == "quality_kbps"
    assert r.json()["fields"][0]["message"] == "400 kbps is below ladder_kbps' lowest rung, 500 kbps"
    for quality, ladder in ((500, [500, 900]), (300, None)):  # the lowest rung itself is advised on
        body = {
            "samples": _samples(5.0),
            "quality_kbps": quality,
            "titles": [{"title_id": "t", "duration_s": 60}],
        }
        r = client.post("/v1/download-advice", json={**body, **({"ladder_kbps": ladder} if ladder else {})})
        assert r.status_code == 200, r.text
    r = client.post(  # a refused ladder is named alone
        "/v1/download-advice",
        json={
            "samples": _samples(5.0),
            "quality_kbps": 1,
            "ladder_kbps": [900, 500],
            "titles": [{"title_id": "t", "duration_s": 60}],
        },
    )
    assert [f["field"] for f in r.json()["fields"]] == ["ladder_kbps"]
    r = client.post("/v1/download-advice", json={"samples": _samples(5.0), "quality_kbps": 750})
    assert r.status_code == 400 and "member_id or titles" in r.text


def test_unknown_ids_are_404_unless_the_title_brings_its_duration(client: TestClient) -> None:
    """An id the catalogue does not hold was advised on as an invented 100-minute film."""
    body: dict[str, object] = {"samples": _samples(5.0), "quality_kbps": 750, "now": BASE + 20 * 3600}
    r = client.post("/v1/download-advice", json={**body, "titles": [{"title_id": "no-such-title"}]})
    assert (
        r.status_code == 404
        and "no-such-title" in r.json()["message"]
        and "duration_s" in r.json()["message"]
    )
    titles = [{"title_id": "elsewhere", "duration_s": 600}]
    assert client.post("/v1/download-advice", json={**body, "titles": titles}).status_code == 200
    r = client.post("/v1/download-advice", json={**body, "titles": titles, "member_id": "ghost"})
    assert r.status_code == 404 and "ghost" in r.json()["message"]


def test_a_members_next_titles_are_continue_watching_then_top_picks_up_to_the_limit(data_dir: Path) -> None:
    """Without titles, the advice is on the home page's Continue Watching (a series' next episode), then its
    Top Picks not already there, ``limit`` of them."""
    from .conftest import AUTH, make_settings

    with TestClient(create_app(make_settings(data_dir, warm_pages=0))) as c:
        store = c.app.state.reelkit.store  # type: ignore[attr-defined]
        member = c.get("/v1/members?limit=1").json()["members"][0]["member_id"]
        home = c.get(f"/v1/members/{member}/home").json()["rows"]
        cw = [t["title_id"] for r in home if r["kind"] == "continue-watching" for t in r["titles"]]
        picks = [t["title_id"] for r in home if r["kind"] == "top-picks" for t in r["titles"]]
        assert 0 < len(cw) < 10 and any(store.get_title(t).kind == "series" for t in cw)
        want = (cw + [t for t in picks if t not in cw])[:10]
        reasons = [
            ("next episode" if store.get_title(t).kind == "series" else "continue watching")
            if t in cw
            else "top pick"
            for t in want
        ]
        body = {"member_id": member, "samples": _samples(40.0), "quality_kbps": 4300, "limit": 10}
        r = c.post("/v1/download-advice", json={**body, "now": BASE + 20 * 3600 + 600}, headers=AUTH)
        assert r.status_code == 200, r.text
        assert [(t["title_id"], t["reason"]) for t in r.json()["titles"]] == list(
            zip(want, reasons, strict=True)
        )
