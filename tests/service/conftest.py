"""Shared fixtures of the service tests: a small trained data folder, an in-process client, a live server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

pytest.importorskip("fastapi", reason="the service extra (fastapi, uvicorn, jinja2, httpx) is not installed")

from starlette.exceptions import StarletteDeprecationWarning  # noqa: E402

with warnings.catch_warnings():  # starlette's test client warns that it prefers httpx2 to httpx
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient  # noqa: E402

from reelkit.data.demo import make_demo  # noqa: E402
from reelkit.service.app import create_app  # noqa: E402
from reelkit.service.ingest import import_dataset  # noqa: E402
from reelkit.service.models import train_store  # noqa: E402
from reelkit.service.settings import ServiceSettings  # noqa: E402
from reelkit.service.store import open_store  # noqa: E402

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
    return ServiceSettings.load(data_dir, environ={"REELKIT_API_TOKEN": TOKEN}, model_poll_seconds=0, **overrides)


@pytest.fixture
def client(data_dir: Path) -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(data_dir))) as c:
        yield c


@dataclass
class LiveServer:
    """A ``reelkit serve`` subprocess on a free loopback port."""

    process: subprocess.Popen[str]
    url: str
    data_dir: Path
    output: list[str]

    def stop(self, *, kill: bool = False) -> None:
        if self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:  # pragma: no cover
                self.process.kill()
                self.process.wait(timeout=5)


def start_server(data_dir: Path, *, env: dict[str, str] | None = None, timeout: float = 60.0) -> LiveServer:
    """Start ``python -m reelkit.cli.service serve --port 0`` and wait until /health answers."""
    full_env = {**os.environ, "REELKIT_API_TOKEN": TOKEN, **(env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "reelkit.cli.service", "serve", "--data-dir", str(data_dir), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=full_env,
    )
    output: list[str] = []
    url: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line)
            if not url and "serving" in line and "http://" in line:
                url.append(line.split("http://", 1)[1].split("/", 1)[0])

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("server exited early:\n" + "".join(output))
        if url:
            base = f"http://{url[0]}"
            try:
                if httpx.get(base + "/health", timeout=2).status_code == 200:
                    return LiveServer(proc, base, data_dir, output)
            except httpx.HTTPError:
                pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start in time:\n" + "".join(output))


@pytest.fixture
def live_server(data_dir: Path) -> Iterator[LiveServer]:
    server = start_server(data_dir)
    try:
        yield server
    finally:
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


def play(event_id: str, member: str, title: str, fraction: float, *, ts: int | None = None) -> dict[str, object]:
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
