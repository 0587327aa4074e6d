"""Shared fixtures of the service tests: a small trained data folder, an in-process client, a live server."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the service extra (fastapi, uvicorn, jinja2, httpx) is not installed")

from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():  # starlette's test client warns that it prefers httpx2 to httpx
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

from reelkit.data.demo import make_demo
from reelkit.service.app import create_app
from reelkit.service.ingest import import_dataset
from reelkit.service.models import train_store
from reelkit.service.settings import ServiceSettings
from reelkit.service.store import open_store
from reelkit.service.testing import LiveServer
from reelkit.service.testing import start_server as start_live

TOKEN = "test-token-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
SMALL = {"n_members": 150, "n_titles": 120, "seed": 3}
#: Fast community training for tests (no search over the number of communities).
COMMUNITY = {"n_communities": 4, "dims": 16}


def build_small(path: Path) -> Path:
    """A data folder with a small demo catalog imported and one model version trained."""
    store = open_store(path)
    try:
        import_dataset(store, make_demo(**SMALL))
    finally:
        store.close()
    train_store(path, community_params=COMMUNITY)
    return path


@pytest.fixture(scope="session")
def small_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per test process; copy it (``data_dir``) before writing to it."""
    return build_small(tmp_path_factory.mktemp("small") / "data")


@pytest.fixture
def data_dir(small_dir: Path, tmp_path: Path) -> Path:
    dest = tmp_path / "data"
    shutil.copytree(small_dir, dest)
    return dest


def make_settings(data_dir: Path, **overrides: object) -> ServiceSettings:
    return ServiceSettings.load(
        data_dir, environ={"REELKIT_API_TOKEN": TOKEN}, **{"model_poll_seconds": 0, **overrides}
    )


@pytest.fixture
def client(data_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(data_dir))) as c:
        yield c


def start_server(data_dir: Path) -> LiveServer:
    return start_live(data_dir, token=TOKEN)


@pytest.fixture
def live_server(data_dir: Path) -> Iterator[LiveServer]:
    # the browser test plays titles from the page: the play button is off unless turned on
    (data_dir / "service.json").write_text('{"web_ui_writes": true}')
    server = start_server(data_dir)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def server_factory() -> Iterator[Callable[[Path], LiveServer]]:
    """``server_factory(data_dir)`` starts a live server; every one started is stopped afterwards."""
    started: list[LiveServer] = []

    def start(data_dir: Path) -> LiveServer:
        server = start_server(data_dir)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def auth() -> dict[str, str]:
    """Headers with the test API token."""
    return dict(AUTH)


@pytest.fixture
def settings_for() -> Callable[..., ServiceSettings]:
    """``settings_for(data_dir, **overrides)``: test settings (token set, no model polling)."""
    return make_settings


@pytest.fixture
def play_event() -> Callable[..., dict[str, object]]:
    """``play_event(event_id, member, title, fraction)``: a play event as the API takes it."""
    return play


def play(
    event_id: str, member: str, title: str, fraction: float, *, ts: int | None = None
) -> dict[str, object]:
    out: dict[str, object] = {
        "event_id": event_id,
        "member_id": member,
        "title_id": title,
        "kind": "play",
        "position": round(6000 * fraction, 3),
        "duration": 6000,
    }
    if ts is not None:
        out["timestamp"] = ts
    return out
