"""``reelkit serve --workers N``: several server processes on one port, one store.

A live server (real processes, a real port): both workers answer, an event stored through one is on the
pages the other builds, a worker that dies is replaced, stopping the server stops them all; ABR player
sessions, which live in one process's memory, are refused with a message. The settings reach each worker
whole (the token, and one cookie key for all even where the data folder cannot keep one)."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer

from reelkit.service.app import WORKER_ENV, worker_app, worker_spec
from reelkit.service.settings import SESSION_KEY_NAME, ServiceSettings
from reelkit.service.store import open_store
from reelkit.service.testing import LiveServer
from reelkit.service.testing import start_server as start_live

from .conftest import AUTH, TOKEN, play

pytestmark = pytest.mark.slow


def _children(pid: int) -> set[int]:
    """The worker processes of server ``pid`` (not multiprocessing's resource tracker, also its child)."""
    with open(f"/proc/{pid}/task/{pid}/children") as fh:
        kids = [int(p) for p in fh.read().split()]
    workers = set()
    for kid in kids:
        try:
            if b"spawn_main" in Path(f"/proc/{kid}/cmdline").read_bytes():
                workers.add(kid)
        except OSError:
            pass  # gone meanwhile
    return workers


def _answering(url: str, tries: int = 40) -> set[str]:
    """The workers that answered ``tries`` requests, each on a new connection (their metrics' label)."""
    seen = set()
    for _ in range(tries):
        text = httpx.get(url + "/metrics", timeout=10).text
        seen |= set(re.findall(r'worker="(\d+)"', text))
    return seen


def _wait(check: Any, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


@pytest.fixture
def two_workers(data_dir: Path) -> Iterator[LiveServer]:
    if not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists():
        pytest.skip("needs Linux's /proc/PID/task/PID/children to find the worker processes")
    server = start_live(data_dir, token=TOKEN, extra_args=["--workers", "2"])
    try:
        yield server
    finally:
        server.stop()


def test_two_workers_answer_share_the_store_and_stop_together(two_workers: LiveServer) -> None:
    server = two_workers
    assert "in 2 processes" in "".join(server.output)
    workers = _wait(lambda: len(_children(server.process.pid)) == 2 and _children(server.process.pid))
    # every request reaches one of the two, and both take requests (once both have loaded the model: the
    # server answered its first /health from whichever was ready)
    seen: set[str] = set()
    _wait(lambda: (seen.update(_answering(server.url, tries=10)) or seen) == {str(p) for p in workers}, 60)
    # a play stored through whichever worker takes the write is on the page every worker builds
    member = httpx.get(server.url + "/v1/members?limit=1", timeout=10).json()["members"][0]["member_id"]
    before = httpx.get(server.url + f"/v1/members/{member}/home", timeout=10).json()
    shown = {t["title_id"] for r in before["rows"] for t in r["titles"]}
    store = open_store(server.data_dir)
    try:
        played = set(store.member_history(member).title_ids.tolist())
        title = next(t for t in store.titles_frame().index if t not in shown | played)
    finally:
        store.close()
    r = httpx.post(
        server.url + "/v1/events",
        json={"events": [play("w-1", member, title, 0.3)]},
        headers=AUTH,
        timeout=10,
    )
    assert r.status_code == 200 and r.json()["stored"] == 1, r.text
    for _ in range(12):  # new connections: both workers, each its own page cache
        rows = httpx.get(server.url + f"/v1/members/{member}/home", timeout=10).json()["rows"]
        cw = next(r for r in rows if r["kind"] == "continue-watching")
        assert cw["titles"][0]["title_id"] == title
    # ABR player sessions live in one process: refused, saying what to do
    r = httpx.post(
        server.url + "/v1/abr/decide",
        json={"session_id": "s1", "chunk_index": 0, "ladder_kbps": [300, 750, 1200]},
        timeout=10,
    )
    assert r.status_code == 409 and "--workers 1" in r.json()["message"], r.text
    assert httpx.get(server.url + "/v1/abr/sessions/s1", timeout=10).status_code == 409
    # per-process gauges are labelled too (each process has its own cache and loaded version)
    text = httpx.get(server.url + "/metrics", timeout=10).text
    assert re.search(r'^reelkit_home_cache_entries\{worker="\d+"\} ', text, re.M), text
    assert re.search(r'^reelkit_model_info\{worker="\d+",version=', text, re.M), text
    assert re.search(r"^reelkit_events_stored \d+", text, re.M), text  # the store's: one for all
    # stopping the server stops its workers
    server.process.send_signal(signal.SIGTERM)
    server.process.wait(timeout=20)
    for pid in workers:
        _wait(lambda pid=pid: not Path(f"/proc/{pid}").exists() or _zombie(pid), timeout=10)


def test_workers_stop_when_the_supervising_process_is_killed(two_workers: LiveServer) -> None:
    """Killed alone (the OOM killer, kill -9), the parent left its workers serving the port for good."""
    server = two_workers
    workers = _wait(lambda: len(_children(server.process.pid)) == 2 and _children(server.process.pid))
    server.process.kill()
    server.process.wait(timeout=10)
    for pid in workers:
        _wait(lambda pid=pid: not Path(f"/proc/{pid}").exists() or _zombie(pid), timeout=20)
    with pytest.raises(httpx.HTTPError):
        httpx.get(server.url + "/health", timeout=2)


def test_a_signal_ends_the_server_as_it_ends_one_process(data_dir: Path) -> None:
    """Stopped by SIGINT or SIGTERM, the supervisor exited 0 where one server process ends by the signal
    (Ctrl-C: 130), which scripts and process managers read as how it stopped."""
    codes: dict[tuple[str, signal.Signals], int | None] = {}
    for workers in ("1", "2"):
        for sig in (signal.SIGINT, signal.SIGTERM):
            server = start_live(data_dir, token=TOKEN, extra_args=["--workers", workers])
            try:
                server.process.send_signal(sig)
                codes[workers, sig] = server.process.wait(timeout=20)
            finally:
                server.stop()
    assert codes["2", signal.SIGINT] == codes["1", signal.SIGINT] == 130
    assert codes["2", signal.SIGTERM] == codes["1", signal.SIGTERM] != 0


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except OSError:
        return True


def test_a_worker_that_dies_is_replaced(two_workers: LiveServer) -> None:
    server = two_workers
    first = _wait(lambda: len(_children(server.process.pid)) == 2 and _children(server.process.pid))
    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    now = _wait(lambda: (c := _children(server.process.pid)) - first and len(c) == 2 and c, timeout=60)
    assert victim not in now
    # the new worker serves once it has loaded the model
    new = str(next(iter(now - first)))
    _wait(lambda: new in _answering(server.url, tries=10), timeout=60)
    assert httpx.get(server.url + "/health", timeout=10).json()["status"] == "ok"


# ------------------------------------------------------------------------------ the settings each one gets
def test_worker_app_builds_the_settings_it_was_given_and_keeps_them_from_children(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = ServiceSettings.load(
        data_dir, environ={"REELKIT_API_TOKEN": TOKEN}, workers=3, page_cache_size=7, web_ui_writes=True
    )
    env = worker_spec(settings)
    assert set(env) == {WORKER_ENV}
    monkeypatch.setenv(WORKER_ENV, env[WORKER_ENV])
    watched: list[int] = []  # (here the parent named is this process itself: not to be watched for real)
    monkeypatch.setattr("reelkit.service.app._stop_with_parent", watched.append)
    app = worker_app()
    assert watched == [os.getpid()]
    assert WORKER_ENV not in os.environ  # ffmpeg and other children of the worker do not get the token
    # the app's settings are read when it starts; the same values, secrets included
    spec = json.loads(env[WORKER_ENV])
    assert spec["parent"] == os.getpid()  # the worker stops when this process is no longer its parent
    got = ServiceSettings.model_validate(spec["settings"])
    assert got == settings.model_copy(update={"session_secret": got.session_secret})
    assert got.api_token is not None and got.api_token.get_secret_value() == TOKEN
    assert got.workers == 3 and got.page_cache_size == 7 and got.web_ui_writes is True
    assert app.title == "reelkit"


def test_worker_app_without_its_settings_says_what_it_is_for(monkeypatch: pytest.MonkeyPatch) -> None:
    from reelkit.errors import ConfigError

    monkeypatch.delenv(WORKER_ENV, raising=False)
    with pytest.raises(ConfigError, match="reelkit serve --workers"):
        worker_app()


def test_workers_sign_cookies_with_the_folders_key_or_one_shared_key(data_dir: Path) -> None:
    """Each worker signs the profile cookie; a cookie signed by one must be good at the others. They read
    the data folder's key file; where it cannot be kept (here a link, refused), each process would make its
    own random key, so the parent gives them one."""
    settings = ServiceSettings.load(data_dir, workers=2)
    kept = json.loads(worker_spec(settings)[WORKER_ENV])["settings"]
    assert kept["session_secret"] is None and (data_dir / SESSION_KEY_NAME).is_file()
    (data_dir / SESSION_KEY_NAME).unlink()
    (data_dir / "elsewhere").write_bytes(os.urandom(32))
    (data_dir / SESSION_KEY_NAME).symlink_to(data_dir / "elsewhere")
    one = json.loads(worker_spec(settings)[WORKER_ENV])["settings"]["session_secret"]
    assert isinstance(one, str) and len(one) >= 32
    # a secret set in the settings is theirs, as given
    given = ServiceSettings.load(data_dir, workers=2, session_secret="s3cret-s3cret")
    assert json.loads(worker_spec(given)[WORKER_ENV])["settings"]["session_secret"] == "s3cret-s3cret"


def test_workers_setting_is_checked_and_the_option_overrides_it(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from reelkit.cli import main

    # processes that do not poll the store would serve different model versions for good
    for config, extra, said in (
        ('{"workers": 0}', [], "workers: Input should be greater than or equal to 1"),
        ("{}", ["--workers", "0"], "--workers"),
        (
            '{"workers": 2, "model_poll_seconds": 0}',
            [],
            "'workers': 2 in the config needs model_poll_seconds",
        ),
        ('{"model_poll_seconds": 0}', ["--workers", "2"], "--workers 2 needs model_poll_seconds above 0"),
    ):
        (data_dir / "service.json").write_text(config)
        with pytest.raises(SystemExit) as info:
            main(["serve", "--data-dir", str(data_dir), *extra])
        err = capsys.readouterr().err
        assert info.value.code == 2 and said in err and "Traceback" not in err, err

    from uvicorn.supervisors import Multiprocess

    from reelkit.cli.service import serve_cmd

    ran: list[int] = []

    def run(self: Multiprocess) -> None:
        ran.append(self.processes_num)
        for sock in self.sockets:
            sock.close()

    monkeypatch.setattr(Multiprocess, "run", run)
    import uvicorn

    served: list[bool] = []

    def run_one(self: uvicorn.Server, sockets: list[socket.socket]) -> None:
        served.append(True)
        for sock in sockets:
            sock.close()
        self.started = True

    monkeypatch.setattr(uvicorn.Server, "run", run_one)
    # what the 409 of the ABR routes advises works also where the config asks for several processes
    (data_dir / "service.json").write_text('{"workers": 2, "model_poll_seconds": 0}')
    serve_cmd(
        host="127.0.0.1", port=0, data_dir=data_dir, demo=False, config=None, log_level="warning", workers=1
    )
    assert served == [True] and not ran
    (data_dir / "service.json").write_text('{"workers": 3}')
    for option, expected in ((None, 3), (2, 2)):
        serve_cmd(
            host="127.0.0.1", port=0, data_dir=data_dir, demo=False, config=None, log_level="warning",
            workers=option,
        )  # fmt: skip
        assert ran[-1] == expected
        assert f"in {expected} processes" in capsys.readouterr().out


def test_serve_exits_3_when_the_app_did_not_start(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A server whose startup failed (the reason is in its log) exited 0, which a supervisor reads as a
    clean stop; it now exits 3, as uvicorn does, with one process or several."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from reelkit.cli.service import serve_cmd

    def fail(self: uvicorn.Server, sockets: list[socket.socket]) -> None:
        for sock in sockets:
            sock.close()  # and self.started stays False

    monkeypatch.setattr(uvicorn.Server, "run", fail)
    with pytest.raises(typer.Exit) as one:
        serve_cmd(host="127.0.0.1", port=0, data_dir=data_dir, demo=False, config=None, log_level="warning")
    assert one.value.exit_code == 3

    class Dead:
        exitcode = 3

    def fail_all(self: Multiprocess) -> None:
        for sock in self.sockets:
            sock.close()
        self.processes = [type("P", (), {"process": Dead()})()]  # type: ignore[list-item]

    monkeypatch.setattr(Multiprocess, "run", fail_all)
    with pytest.raises(typer.Exit) as several:
        serve_cmd(
            host="127.0.0.1", port=0, data_dir=data_dir, demo=False, config=None, log_level="warning",
            workers=2,
        )  # fmt: skip
    assert several.value.exit_code == 3
