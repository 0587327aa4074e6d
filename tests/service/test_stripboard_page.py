"""The stripboard page: upload a production file, see the strips; errors name the field; the JSON plan API."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from reelkit.service.app import create_app
from reelkit.service.settings import ServiceSettings

PROD = {
    "name": "upload test",
    "costs": {"day_cost": 1000},
    "calendar": {"start": "2026-03-02", "hours_per_day": 8},
    "people": [{"id": "ann", "name": "Ann Lee", "daily_rate": 100}],
    "locations": [{"id": "A", "name": "Studio"}, {"id": "B", "name": "Beach"}],
    "scenes": [
        {"id": "1", "duration": 4, "location": "A", "cast": ["ann"]},
        {"id": "2", "duration": 4, "location": "B", "int_ext": "EXT", "day_night": "NIGHT"},
        {"id": "3", "duration": 6, "location": "B", "int_ext": "EXT", "cast": ["ann"]},
    ],
}


def test_form_is_served(client: TestClient) -> None:
    r = client.get("/produce/stripboard", headers={"Accept": "text/html"})
    assert r.status_code == 200
    assert 'enctype="multipart/form-data"' in r.text and 'name="file"' in r.text


def test_upload_shows_the_stripboard(client: TestClient) -> None:
    r = client.post(
        "/produce/stripboard",
        files={"file": ("prod.yaml", yaml.safe_dump(PROD).encode(), "application/x-yaml")},
        data={"time_limit": "5"},
    )
    assert r.status_code == 200, r.text
    assert 'class="strip ext-night" data-scene="2"' in r.text
    assert 'class="strip int-day" data-scene="1"' in r.text
    assert r.text.count('class="daybreak"') >= 2
    assert "Studio" in r.text and "Ann Lee" in r.text
    assert re.findall(r"<h(\d)", r.text) == ["1", "2"]  # "Cast" was an H3 under the H1


def test_upload_errors_name_the_field(client: TestClient) -> None:
    bad = {**PROD, "scenes": [*PROD["scenes"], {"id": "4", "duration": 1, "location": "A", "cast": ["zed"]}]}
    r = client.post("/produce/stripboard", files={"file": ("bad.yaml", yaml.safe_dump(bad).encode())})
    assert r.status_code == 422
    assert '<code class="field">scenes[3].cast[0]</code>' in r.text
    assert "unknown person" in r.text


def test_upload_infeasible_lists_conflicts(client: TestClient) -> None:
    bad = {**PROD, "calendar": {"start": "2026-03-02", "hours_per_day": 8, "max_days": 1}}
    r = client.post("/produce/stripboard", files={"file": ("inf.yaml", yaml.safe_dump(bad).encode())})
    assert r.status_code == 409
    assert "calendar.max_days" in r.text and 'class="conflict"' in r.text


def test_upload_infeasible_shows_the_errors_own_message(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two scenes with no open day: the page merged their reasons into one list of constraints "that
    conflict" under a fixed sentence; it shows the error's message, naming each scene with its reasons. With
    no conflicts isolated in time the advice to allow more time was dropped; it is shown."""
    prod = {
        "name": "p",
        "calendar": {"start": "2026-03-02", "max_days": 5},
        "people": [
            {"id": "ann", "name": "Ann", "available": [{"start": "2026-04-01", "end": "2026-04-03"}]},
            {"id": "bob", "name": "Bob", "available": [{"start": "2026-05-01", "end": "2026-05-03"}]},
        ],
        "locations": [{"id": "A", "name": "Studio"}],
        "scenes": [
            {"id": "s1", "duration": 2, "location": "A", "cast": ["ann"]},
            {"id": "s2", "duration": 2, "location": "A", "cast": ["bob"]},
            {"id": "s3", "duration": 2, "location": "A"},
        ],
    }
    r = client.post("/produce/stripboard", files={"file": ("p.yaml", yaml.safe_dump(prod).encode())})
    assert r.status_code == 409
    window = "the shoot ends within 5 working days of its start (calendar.max_days)"
    assert (
        "<p>no shooting schedule satisfies every constraint: scene s1 has no day open to it (availability of "
        f"Ann (2026-04-01 to 2026-04-03) and {window}); scene s2 has no day open to it (availability of Bob "
        f"(2026-05-01 to 2026-05-03) and {window})</p>"
    ) in r.text
    assert "These constraints conflict" not in r.text

    from reelkit.errors import InfeasibleError
    from reelkit.produce import shoot

    advice = (
        "no shooting schedule satisfies every constraint; the conflicting ones were not isolated within the "
        "time limit (5 s): give a longer --time-limit to name them"
    )

    def not_isolated(*args: object, **kwargs: object) -> None:
        raise InfeasibleError(advice)

    monkeypatch.setattr(shoot, "plan_shoot", not_isolated)
    r = client.post("/produce/stripboard", files={"file": ("p.yaml", yaml.safe_dump(prod).encode())})
    assert r.status_code == 409 and f"<p>{advice}</p>" in r.text


def test_json_plan_api(client: TestClient) -> None:
    r = client.post("/v1/produce/plan?time_limit=5", json=PROD)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["optimal"] is True and body["n_days"] == 2
    assert sorted(s["scene_id"] for d in body["days"] for s in d["scenes"]) == ["1", "2", "3"]
    bad = {**PROD, "scenes": [{"id": "1", "duration": -2, "location": "A"}]}
    r = client.post("/v1/produce/plan", json=bad)
    assert r.status_code == 422
    assert r.json()["fields"][0]["field"] == "scenes[0].duration"


def test_json_plan_api_names_conflicts(client: TestClient) -> None:
    bad = {**PROD, "calendar": {"start": "2026-03-02", "hours_per_day": 8, "max_days": 1}}
    r = client.post("/v1/produce/plan?time_limit=5", json=bad)
    assert r.status_code == 409
    assert "the shoot ends within 1 working day of its start (calendar.max_days)" in r.json()["conflicts"]


def test_json_plan_api_caps_time_limit(client: TestClient) -> None:
    for bad in ("0", "-1", "31", "nan", "inf"):
        r = client.post(f"/v1/produce/plan?time_limit={bad}", json=PROD)
        assert r.status_code == 422, (bad, r.text)


def test_json_plan_api_without_a_schedule_in_time_is_503(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The solver's "no schedule found within the time limit" is a 503 (unavailable), not a 500 or a 4xx."""
    from reelkit.errors import ReelkitError
    from reelkit.produce import shoot

    def no_time(*args: object, **kwargs: object) -> None:
        raise ReelkitError("no schedule found within 5 s (solver status UNKNOWN); give it more time")

    monkeypatch.setattr(shoot, "plan_shoot", no_time)
    r = client.post("/v1/produce/plan?time_limit=5", json=PROD)
    assert r.status_code == 503 and r.json()["error"] == "unavailable"
    assert r.json()["message"].startswith("no schedule found within 5 s")


def test_json_plan_api_solves_with_the_time_limit_given(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``?time_limit=`` reaches the solver's options (default 10 s); a small production is optimal at any
    limit, so only the options tell."""
    from reelkit.produce import shoot

    seen: list[float] = []
    real = shoot.plan_shoot

    def spy(prod: Any, opts: Any) -> Any:
        seen.append(opts.time_limit)
        return real(prod, opts)

    monkeypatch.setattr(shoot, "plan_shoot", spy)
    assert client.post("/v1/produce/plan?time_limit=2.5", json=PROD).status_code == 200
    assert client.post("/v1/produce/plan", json=PROD).status_code == 200
    assert seen == [2.5, 10.0]


def test_json_plan_api_needs_the_token_when_reads_are_protected(
    data_dir: Path, settings_for: Callable[..., ServiceSettings], auth: dict[str, str]
) -> None:
    with TestClient(create_app(settings_for(data_dir, protect_reads=True))) as c:
        r = c.post("/v1/produce/plan?time_limit=5", json=PROD)
        assert r.status_code == 401
        assert c.get("/produce/stripboard", headers={"Accept": "text/html"}).status_code == 404
        r = c.post("/v1/produce/plan?time_limit=5", json=PROD, headers=auth)
        assert r.status_code == 200, r.text
        assert r.json()["n_days"] == 2


def test_openapi_documents_the_plan_api(client: TestClient) -> None:
    """The body is the production file's own schema (it was an opaque object), the answers are declared, and
    every reference in the document names a schema it holds."""
    doc = client.get("/openapi.json").json()
    op = doc["paths"]["/v1/produce/plan"]["post"]
    schemas = doc["components"]["schemas"]
    body = op["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"] == "#/components/schemas/Production"
    prod = schemas["Production"]
    assert sorted(prod["required"]) == ["calendar", "locations", "scenes"]
    assert prod["properties"]["scenes"]["items"] == {"$ref": "#/components/schemas/Scene"}
    assert "duration" in schemas["Scene"]["properties"] and "start" in schemas["Calendar"]["required"]
    refs = {
        "200": "#/components/schemas/PlanOut",
        "409": "#/components/schemas/ConflictBody",
        "503": "#/components/schemas/ErrorBody",
        "422": "#/components/schemas/ErrorBody",
    }
    for status, ref in refs.items():
        assert op["responses"][status]["content"]["application/json"]["schema"] == {"$ref": ref}, status
    assert "conflicts" in schemas["ConflictBody"]["properties"]
    for ref in set(re.findall(r'"\$ref": "#/components/schemas/([^"]+)"', __import__("json").dumps(doc))):
        assert ref in schemas, ref


def test_the_plan_and_its_conflicts_are_what_the_schema_says(client: TestClient) -> None:
    """Each answer validates against its declared model, which takes no field it does not name (a field
    renamed in the library without the schema fails here): a zoned production with pages and a hold day."""
    from reelkit.service.routers.produce import ConflictBody, PlanOut

    zoned = {
        **PROD,
        "calendar": {"start": "2026-03-02", "hours_per_day": 8, "timezone": "Europe/Lisbon"},
        "scenes": [{**s, "pages": 1.5} for s in PROD["scenes"]],  # type: ignore[dict-item]
    }
    r = client.post("/v1/produce/plan?time_limit=5", json=zoned)
    assert r.status_code == 200, r.text
    plan = PlanOut.model_validate(r.json())
    assert plan.timezone == "Europe/Lisbon" and plan.days[0].scenes[0].start_at.endswith("+00:00")
    assert plan.days[0].scenes[0].pages == 1.5
    assert plan.people[0].first == plan.days[0].date and plan.stats["variables"] > 0
    bad = {**PROD, "calendar": {"start": "2026-03-02", "hours_per_day": 8, "max_days": 1}}
    r = client.post("/v1/produce/plan?time_limit=5", json=bad)
    assert r.status_code == 409
    assert ConflictBody.model_validate(r.json()).conflicts


def test_a_schema_name_taken_twice_is_refused(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """The production's own models share a namespace with the service's: a clash would document one body
    with another's fields, so building the document refuses it."""
    from pydantic import BaseModel

    from reelkit.service import app as app_module

    class ErrorBody(BaseModel):  # not the service's ErrorBody
        other: int

    monkeypatch.setattr(app_module, "_library_bodies", lambda: {"/v1/produce/plan": ErrorBody})
    client.app.openapi_schema = None  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError, match="two schemas named ErrorBody"):
        client.app.openapi()  # type: ignore[attr-defined]
