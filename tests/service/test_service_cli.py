"""``reelkit import | retrain | serve`` and the one-step setup behind ``make run``."""

from __future__ import annotations

import errno
import json
import os
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from reelkit.cli.service import _bind, register
from reelkit.errors import ConfigError, EmptyDataError
from reelkit.service.bootstrap import bootstrap
from reelkit.service.store import open_store

ML_SMALL = Path(__file__).resolve().parents[3] / "shared" / "data" / "movielens" / "ml-latest-small"


@pytest.fixture
def cli() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def write_ratings(path: Path) -> Path:
    rows = ["user,item,rating,timestamp"]
    for u in range(30):
        for i in range(12):
            if (u * 7 + i * 3) % 4:
                rows.append(f"u{u},i{(u + i) % 25},{1 + (u + i) % 5},{1_600_000_000 + u * 1000 + i}")
    path.write_text("\n".join(rows) + "\n")
    return path


def test_import_then_retrain(cli: typer.Typer, tmp_path: Path) -> None:
    ratings = write_ratings(tmp_path / "ratings.csv")
    data = tmp_path / "svc"
    runner = CliRunner()
    r = runner.invoke(cli, ["import", "--data-dir", str(data), "--ratings", str(ratings), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["members"] == 30 and out["events_stored"] > 200 and out["events_duplicate"] == 0
    # importing again stores nothing new (deterministic event ids)
    r = runner.invoke(cli, ["import", "--data-dir", str(data), "--ratings", str(ratings), "--json"])
    again = json.loads(r.stdout)
    assert again["events_stored"] == 0 and again["events_duplicate"] == out["events_stored"]
    r = runner.invoke(
        cli, ["retrain", "--data-dir", str(data), "--model", "itemknn", "--param", "k=20", "--json"]
    )
    assert r.exit_code == 0, r.output
    rec = json.loads(r.stdout)
    assert rec["version"] == "v0001" and rec["personal_model"] == "itemknn" and rec["n_members"] == 30
    from reelkit.service.models import manifest_of

    assert manifest_of(data, "v0001").personal_params["k"] == 20  # --param reached the model
    # the version folder is readable as the rest of the folder is (it kept mkdtemp's 0700: a server run
    # as another account could not load it), and so are its files
    umask = os.umask(0)
    os.umask(umask)
    version = data / "models" / "v0001"
    assert version.stat().st_mode & 0o777 == 0o777 & ~umask
    assert all(f.stat().st_mode & 0o777 == 0o666 & ~umask for f in version.iterdir() if f.is_file())
    r = runner.invoke(cli, ["import", "--data-dir", str(data)])
    assert isinstance(r.exception, ConfigError)


def test_import_names_a_folder_with_brackets_and_spaces_as_written_and_quoted(
    cli: typer.Typer, tmp_path: Path
) -> None:
    """ "[b]" in a folder's name was taken for rich's bold markup and dropped from every message naming it,
    and the "next:" hint pasted into a shell ran `reelkit retrain --data-dir svc` with a stray argument."""
    ratings = write_ratings(tmp_path / "ratings.csv")
    data = tmp_path / "svc [b] é"
    r = CliRunner().invoke(cli, ["import", "--data-dir", str(data), "--ratings", str(ratings)])
    assert r.exit_code == 0, r.output
    assert f"into {data};" in r.stdout
    hint = r.stdout.split("next: ", 1)[1].strip()
    assert shlex.split(hint) == ["reelkit", "retrain", "--data-dir", str(data)]


def test_import_takes_exactly_one_source(cli: typer.Typer, tmp_path: Path) -> None:
    """Pins import's one source: --ratings and --data together are refused, not one silently ignored."""
    ratings = write_ratings(tmp_path / "ratings.csv")
    args = ["import", "--data-dir", str(tmp_path / "svc"), "--ratings", str(ratings), "--data", str(ratings)]
    r = CliRunner().invoke(cli, args)
    assert isinstance(r.exception, ConfigError) and "exactly one of --ratings FILE or --data PATH" in str(
        r.exception
    )
    assert not (tmp_path / "svc").exists()


def test_retrain_says_when_a_later_version_stays_current(
    cli: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pins retrain's "current": a version that finished after a newer one (trained on later events) is
    reported as not current, naming the version that stays."""
    from reelkit.service import models

    data = tmp_path / "svc"
    runner = CliRunner()
    ratings = write_ratings(tmp_path / "ratings.csv")
    assert runner.invoke(cli, ["import", "--data-dir", str(data), "--ratings", str(ratings)]).exit_code == 0
    for version in ("v0001", "v0002"):
        r = runner.invoke(cli, ["retrain", "--data-dir", str(data), "--model", "itemknn", "--json"])
        assert r.exit_code == 0, r.output
        assert (json.loads(r.stdout)["version"], json.loads(r.stdout)["current"]) == (version, True)
    store = open_store(data)
    try:
        first = next(v for v in store.model_versions() if v.version == "v0001")
    finally:
        store.close()
    monkeypatch.setattr(models, "train_store", lambda *a, **k: first)  # v0001 finishing after v0002
    r = runner.invoke(cli, ["retrain", "--data-dir", str(data), "--model", "itemknn", "--json"])
    assert r.exit_code == 0, r.output
    assert (json.loads(r.stdout)["version"], json.loads(r.stdout)["current"]) == ("v0001", False)
    r = runner.invoke(cli, ["retrain", "--data-dir", str(data), "--model", "itemknn"])
    assert r.exit_code == 0, r.output
    assert "model version v0001:" in r.stdout and "; v0002 stays current" in r.stdout


def test_retrain_reads_the_services_home_settings(cli: typer.Typer, tmp_path: Path) -> None:
    """``retrain`` weighs events with the confidence formula of the service's config file (the data folder's
    ``service.json``, or ``--config``): one that gives ratings no weight leaves nothing to train on."""
    data = tmp_path / "svc"
    runner = CliRunner()
    ratings = write_ratings(tmp_path / "ratings.csv")
    assert runner.invoke(cli, ["import", "--data-dir", str(data), "--ratings", str(ratings)]).exit_code == 0
    zero = {"home": {"confidence": {"rating_base": 0, "rating_weight": 0}}}
    (data / "service.json").write_text(json.dumps(zero))
    r = runner.invoke(cli, ["retrain", "--data-dir", str(data), "--model", "itemknn"])
    assert isinstance(r.exception, EmptyDataError) and "no positive interactions" in str(r.exception)
    (tmp_path / "other.json").write_text("{}")
    r = runner.invoke(
        cli,
        ["retrain", "--data-dir", str(data), "--model", "itemknn", "--config", str(tmp_path / "other.json")],
    )
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["retrain", "--data-dir", str(data), "--config", str(tmp_path / "none.json")])
    assert isinstance(r.exception, ConfigError) and "no such config file" in str(r.exception)
    # retrain reads the file for its home settings alone: the server's other settings and the token are
    # the server's to check (a blank $REELKIT_API_TOKEN in a cron job's environment refused the retrain)
    (data / "service.json").write_text(json.dumps({"port": -1, "home": {"row_size": 12}}))
    r = runner.invoke(
        cli, ["retrain", "--data-dir", str(data), "--model", "itemknn"], env={"REELKIT_API_TOKEN": " "}
    )
    assert r.exit_code == 0, r.output
    (data / "service.json").write_text(json.dumps({"home": {"confidence": {"thumb_weight": -1}}}))
    r = runner.invoke(cli, ["retrain", "--data-dir", str(data), "--model", "itemknn"])
    assert isinstance(r.exception, ConfigError) and "home.confidence.thumb_weight" in str(r.exception)


def test_serve_without_data_exits_2(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "reelkit.cli.service", "serve", "--data-dir", str(tmp_path / "none")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2
    assert "reelkit import" in r.stderr and "serve --demo" in r.stderr


@pytest.mark.slow
def test_serve_on_an_unusable_store_exits_2_before_serving(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "reelkit.db").write_text("not a database")
    newer = tmp_path / "newer"
    store = open_store(newer)
    store._con().execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")  # type: ignore[attr-defined]
    store.close()
    for folder, why in ((garbage, "not an SQLite database"), (newer, "schema version 2")):
        r = subprocess.run(
            [sys.executable, "-m", "reelkit.cli.service", "serve", "--data-dir", str(folder), "--port", "0"],
            capture_output=True,
            text=True,
            timeout=20,  # a server that starts instead of refusing fails the test here
        )
        assert r.returncode == 2, r.stderr
        assert why in r.stderr and "Traceback" not in r.stderr and "serving" not in r.stdout
    assert (garbage / "reelkit.db").read_text() == "not a database"


def test_activate_makes_a_kept_version_current(cli: typer.Typer, tmp_path: Path) -> None:
    """``reelkit activate VERSION``: a rollback to a kept version (JSON as retrain's); an unknown one exits 2
    naming it."""
    from reelkit.service.models import train_store

    data = tmp_path / "svc"
    bootstrap(data, n_members=80, n_titles=60, seed=1)
    train_store(data)
    runner = CliRunner()
    r = runner.invoke(cli, ["activate", "v0001", "--data-dir", str(data), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["version"] == "v0001" and out["current"] is True and out["n_events"] > 0
    store = open_store(data)
    current = store.current_model_version()
    store.close()
    assert current is not None and current.version == "v0001"
    r = subprocess.run(
        [sys.executable, "-m", "reelkit.cli.service", "activate", "v0042", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "no model version 'v0042' is recorded" in r.stderr, r.stderr


def test_serve_starts_on_a_store_whose_import_did_not_finish_and_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An import killed part-way (a restart during it) made serve exit 2, so the service stayed down until
    a person acted, while a server already running kept serving the same store: serve starts on the current
    model, warns once naming the file and the commands, and /health names the import."""
    import uvicorn
    from fastapi.testclient import TestClient

    from reelkit.cli.service import serve_cmd

    data = tmp_path / "svc"
    bootstrap(data, n_members=80, n_titles=60, seed=1)
    store = open_store(data)
    store.set_note("import_pending:0123", "/data/ratings.csv")  # an import of it was killed
    store.close()
    apps: list[Any] = []

    def run(self: uvicorn.Server, sockets: list[socket.socket]) -> None:
        apps.append(self.config.app)
        for sock in sockets:
            sock.close()
        self.started = True  # as a server that started and was then stopped

    monkeypatch.setattr(uvicorn.Server, "run", run)
    serve_cmd(host="127.0.0.1", port=0, data_dir=data, demo=False, config=None, log_level="warning")
    captured = capsys.readouterr()
    assert "reelkit serving" in captured.out
    warned = [line for line in captured.err.splitlines() if line.startswith("warning:")]
    assert len(warned) == 1, captured.err
    assert "the import of /data/ratings.csv did not finish" in warned[0]
    assert f"reelkit import --data-dir {data} --abandon-pending" in warned[0]
    with TestClient(apps[0]) as client:
        h = client.get("/health").json()
        other = open_store(data)
        other.set_note("import_pending:4567", "/data/2025/ratings.csv")  # another killed import, same name
        other.close()
        both = client.get("/health").json()["pending_imports"]
    assert h["status"] == "ok" and h["model_version"] == "v0001"
    assert h["pending_imports"] == ["ratings.csv"]  # no server folder to an unauthenticated caller
    assert both == ["ratings.csv", "ratings.csv"]  # one per import (two of one name read as one)
    other = open_store(data)
    other.set_note("import_pending:4567", None)
    other.close()
    # serve --demo's setup too (a model is there to serve); retrain keeps refusing (a model of part of
    # the data)
    assert bootstrap(data, n_members=80, n_titles=60, seed=1).trained is None
    with pytest.raises(ConfigError, match=r"ratings\.csv did not finish; run it again .* before training"):
        from reelkit.service.models import train_store

        train_store(data)


def test_serve_announces_an_ipv6_host_in_brackets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Pins serve's URL line: an IPv6 host is written in brackets (http://[::1]:PORT/), as a URL needs."""
    import uvicorn

    from reelkit.cli.service import serve_cmd

    data = tmp_path / "svc"
    bootstrap(data, n_members=80, n_titles=60, seed=1)

    def run(self: uvicorn.Server, sockets: list[socket.socket]) -> None:  # the line is printed before this
        for sock in sockets:
            sock.close()
        self.started = True

    monkeypatch.setattr(uvicorn.Server, "run", run)
    try:
        serve_cmd(host="::1", port=0, data_dir=data, demo=False, config=None, log_level="warning")
    except ConfigError:
        pytest.skip("this machine has no IPv6 loopback")
    out = capsys.readouterr().out
    assert re.search(rf"^reelkit serving {re.escape(str(data))} on http://\[::1\]:\d+/ ", out), out


def test_a_machine_without_ipv6_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A kernel booted without IPv6 refuses the socket itself (EAFNOSUPPORT), before any bind: that was a
    traceback for `serve --host ::1`; it names the address family and what to give instead."""
    import errno

    from reelkit.cli.service import _bind

    real = socket.socket

    def no_ipv6(family: int = socket.AF_INET, *args: object, **kwargs: object) -> socket.socket:
        if family == socket.AF_INET6:
            raise OSError(errno.EAFNOSUPPORT, "Address family not supported by protocol")
        return real(family, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "socket", no_ipv6)
    with pytest.raises(ConfigError, match=r"cannot listen on ::1:0 .*give an IPv4 --host"):
        _bind("::1", 0)


@pytest.mark.parametrize(
    ("code", "advice"),
    [
        (errno.EADDRINUSE, "choose another --port"),
        (errno.EADDRNOTAVAIL, "--host 10.9.8.7 is not an address of this machine"),
        (errno.EACCES, "ports under 1024 need privileges: choose a --port of 1024 or more"),
    ],
)
def test_a_failed_bind_says_what_to_change(monkeypatch: pytest.MonkeyPatch, code: int, advice: str) -> None:
    """Every bind failure said 'choose another --port', an address not of this machine and a privileged
    port too."""

    class Refusing(socket.socket):
        def bind(self, address: Any) -> None:
            raise OSError(code, os.strerror(code))

    monkeypatch.setattr(socket, "socket", Refusing)
    with pytest.raises(ConfigError, match=rf"cannot listen on 10\.9\.8\.7:80 \(.+\); {re.escape(advice)}"):
        _bind("10.9.8.7", 80)


def test_a_port_in_use_says_choose_another_port() -> None:
    with socket.create_server(("127.0.0.1", 0)) as held:
        port = held.getsockname()[1]
        with pytest.raises(ConfigError, match=r"\(Address already in use\); choose another --port"):
            _bind("127.0.0.1", port)


def test_bootstrap_is_reused(tmp_path: Path) -> None:
    data = tmp_path / "svc"
    first = bootstrap(data, n_members=80, n_titles=60, seed=1)
    assert first.imported is not None and first.imported.members == 80
    assert first.trained is not None and first.trained.version == "v0001"
    assert first.token_file is not None and (first.token_file.stat().st_mode & 0o777) == 0o600
    second = bootstrap(data, n_members=80, n_titles=60, seed=1)
    assert second.imported is None and second.trained is None and second.token_file is None
    store = open_store(data)
    assert store.count_members() == 80
    store.close()


def test_a_server_reading_another_config_gets_no_token_written_in_the_data_folder(tmp_path: Path) -> None:
    """``serve --demo --config FILE`` wrote a token into the data folder's service.json and announced it,
    while the server read FILE: every write with the announced token was 403. An empty token is refused."""
    from reelkit.errors import ConfigError
    from reelkit.service.settings import ServiceSettings

    data = tmp_path / "svc"
    report = bootstrap(data, n_members=30, n_titles=20, seed=1, make_token=False)
    assert report.token_file is None and not (data / "service.json").exists()
    for blank in ("", "   "):
        with pytest.raises(ConfigError, match="api_token: is empty"):
            ServiceSettings.load(data, environ={}, api_token=blank)
    with pytest.raises(ConfigError, match=r"^\$REELKIT_API_TOKEN is blank"):  # not blamed on service.json
        ServiceSettings.load(data, environ={"REELKIT_API_TOKEN": "   "})
    assert ServiceSettings.load(data, environ={"REELKIT_API_TOKEN": ""}).api_token is None  # empty: unset


def test_only_serve_demo_turns_the_web_pages_play_button_on(
    cli: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pins serve's web_ui_writes: unset in the config, a plain serve leaves it off (an uncredentialed write
    path); serve --demo turns it on."""
    from types import SimpleNamespace

    import reelkit.cli.service
    import reelkit.service.app
    import reelkit.service.bootstrap

    data = tmp_path / "svc"
    bootstrap(data, n_members=30, n_titles=20, seed=1, make_token=False)
    seen: list[object] = []

    def stop(*args: object) -> None:
        raise ConfigError("stopped before binding")

    monkeypatch.setattr(
        reelkit.service.app, "create_app", lambda settings: seen.append(settings.web_ui_writes)
    )
    reuse = SimpleNamespace(imported=None, trained=None, token_file=None)  # the folder is set up already
    monkeypatch.setattr(reelkit.service.bootstrap, "bootstrap", lambda *a, **k: reuse)
    monkeypatch.setattr(reelkit.cli.service, "_bind", stop)
    for extra in ([], ["--demo"]):
        r = CliRunner().invoke(cli, ["serve", "--data-dir", str(data), *extra])
        assert "stopped before binding" in str(r.exception), r.output
    assert seen == [None, True]


@pytest.mark.data
@pytest.mark.slow
def test_import_movielens(cli: typer.Typer, tmp_path: Path) -> None:
    if not (ML_SMALL / "ratings.csv").exists():
        pytest.skip(f"{ML_SMALL} is not available")
    runner = CliRunner()
    r = runner.invoke(
        cli, ["import", "--data-dir", str(tmp_path), "--ratings", str(ML_SMALL / "ratings.csv"), "--json"]
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert (out["members"], out["events_stored"]) == (610, 100_836)
    store = open_store(tmp_path)
    t = store.get_title("1")
    assert t is not None and t.name.startswith("Toy Story") and "Animation" in t.genres
    store.close()


def test_bootstrap_from_a_missing_source_leaves_no_store(tmp_path: Path) -> None:
    from reelkit.errors import DataFormatError

    with pytest.raises(DataFormatError, match="no such file or folder"):
        bootstrap(tmp_path / "svc", source=tmp_path / "nope.csv")
    assert not (tmp_path / "svc").exists()  # an empty reelkit.db was left behind
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")  # there, but not ratings
    with pytest.raises(DataFormatError):
        bootstrap(tmp_path / "svc", source=tmp_path / "bad.csv")
    assert not (tmp_path / "svc").exists()


@pytest.mark.parametrize("url", ["sqlite:///tmp/x.db", "postgresql://db/reelkit"])
def test_a_database_url_as_the_data_folder_is_refused(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The path option made ./sqlite:/tmp/x.db and ./postgresql:/db/reelkit/reelkit.db of them, exit 0."""
    from reelkit.testing.cli import run_cli

    monkeypatch.chdir(tmp_path)
    (tmp_path / "r.csv").write_text("userId,movieId,rating,timestamp\n1,10,4,1000\n")
    for args in (["import", "--ratings", "r.csv"], ["retrain"], ["train", "--model", "popular"]):
        code, _, err = run_cli(capsys, *args, "--data-dir", url)
        assert code == 2 and "not a database URL" in err, (args, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.csv"]
    code, _, err = run_cli(capsys, "import", "--ratings", "r.csv", "--data-dir", "backup-12:00")  # a name
    assert code == 0 and (tmp_path / "backup-12:00" / "reelkit.db").is_file(), err


def test_importing_another_catalogue_over_a_store_is_refused_unless_renaming_is_asked_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ml-100k over ml-latest-small renamed 1,265 titles ("2": Jumanji -> GoldenEye) without a word; then
    with only a warning, its events mixed in with the stored ones. It is refused now, nothing written,
    unless --rename-titles says the new names are right."""
    from reelkit.testing.cli import run_cli

    def catalogue(folder: Path, names: list[str]) -> Path:
        folder.mkdir()
        (folder / "movies.csv").write_text(
            "movieId,title,genres\n" + "".join(f"{i},{n} (1999),Drama\n" for i, n in enumerate(names, 1))
        )
        (folder / "ratings.csv").write_text(
            "userId,movieId,rating,timestamp\n" + "".join(f"1,{i},4,{1000 + i}\n" for i in range(1, 13))
        )
        return folder

    first = catalogue(tmp_path / "a", [f"Film {i}" for i in range(12)])
    other = catalogue(tmp_path / "b", [f"Other {i}" for i in range(12)])
    same = catalogue(tmp_path / "c", [f"Film {i}" for i in range(11)] + ["Film eleven"])  # one name fixed
    store = tmp_path / "st"
    code, _, err = run_cli(capsys, "import", "--data", str(first), "--data-dir", str(store))
    assert code == 0 and "warning" not in err, err
    code, _, err = run_cli(capsys, "import", "--data", str(same), "--data-dir", str(store))
    assert code == 0 and "warning" not in err, err
    before = (store / "reelkit.db").read_bytes()
    code, _, err = run_cli(capsys, "import", "--data", str(other), "--data-dir", str(store))
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(
        f"error: {other.resolve()}: 12 of the 12 titles it shares ids with would be renamed ('1': 'Film 0' "
        "-> 'Other 0') and its events mixed with the stored ones; nothing was imported"
    ), err
    assert "--rename-titles" in err and "another --data-dir" in err
    assert (store / "reelkit.db").read_bytes() == before  # no title, no event, no note of an import
    st = open_store(store)
    try:
        title = st.get_title("1")
        assert title is not None and title.name == "Film 0" and st.count_events() == 12
    finally:
        st.close()
    code, out, err = run_cli(
        capsys, "import", "--data", str(other), "--data-dir", str(store), "--rename-titles", "--json"
    )
    assert code == 0 and "renamed" not in err and json.loads(out)["titles"] == 12, err
    st = open_store(store)
    try:
        title = st.get_title("1")
        assert title is not None and title.name == "Other 0"
    finally:
        st.close()
    # a catalogue naming titles an events-only import stored as "Title N" renames nothing
    fresh = tmp_path / "st2"
    alone = tmp_path / "events.csv"  # no movies.csv beside it
    alone.write_text((first / "ratings.csv").read_text())
    code, _, err = run_cli(capsys, "import", "--ratings", str(alone), "--data-dir", str(fresh))
    assert code == 0, err
    code, _, err = run_cli(capsys, "import", "--data", str(first), "--data-dir", str(fresh))
    assert code == 0 and "renamed" not in err, err


def test_a_store_held_by_another_writer_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An import waiting past the busy timeout ended in a traceback (sqlite3.OperationalError)."""
    import sqlite3

    import reelkit.service.ingest as ingest
    from reelkit.testing.cli import run_cli

    def locked(*args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(ingest, "import_dataset", locked)
    (tmp_path / "r.csv").write_text("userId,movieId,rating,timestamp\n1,10,4,1000\n")
    code, _, err = run_cli(
        capsys, "import", "--ratings", str(tmp_path / "r.csv"), "--data-dir", str(tmp_path / "st")
    )
    assert (
        code == 1 and err.startswith("error: the store is busy with another writer") and err.count("\n") == 1
    )


def test_a_full_disk_during_an_import_is_one_line_and_the_import_stays_pending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A full disk mid-import ended in two chained tracebacks (the OperationalError, then 'cannot rollback -
    no transaction is active': SQLite had already rolled back) and exit 1."""
    import sqlite3

    from reelkit.service import ingest
    from reelkit.service.store import SQLiteStore
    from reelkit.testing.cli import run_cli

    chunks = ingest.dataset_events
    monkeypatch.setattr(ingest, "dataset_events", lambda ds, chunk: chunks(ds, 100))
    append = SQLiteStore._append
    calls = []

    def full(self: SQLiteStore, con: sqlite3.Connection, *args: Any, **kwargs: Any) -> tuple[int, int]:
        calls.append(1)
        if len(calls) == 2:  # the second chunk: SQLite rolls back by itself on SQLITE_FULL
            con.execute("ROLLBACK")
            raise sqlite3.OperationalError("database or disk is full")
        return append(self, con, *args, **kwargs)

    monkeypatch.setattr(SQLiteStore, "_append", full)
    ratings = write_ratings(tmp_path / "r.csv")
    code, _, err = run_cli(capsys, "import", "--data-dir", str(tmp_path / "d"), "--ratings", str(ratings))
    assert code == 2 and err.count("\n") == 1, err
    assert err == (
        f"error: {tmp_path / 'd' / 'reelkit.db'}: disk full while storing events (100 stored; free space and "
        "run again to complete)\n"
    )
    store = open_store(tmp_path / "d")
    try:
        assert store.count_events() == 100 and list(ingest.pending_imports(store).values()) == [
            str(ratings.resolve())
        ]
    finally:
        store.close()


def test_opening_a_store_another_writer_holds_says_busy_not_unwritable(tmp_path: Path) -> None:
    import sqlite3

    from reelkit.service.store import DB_NAME, SQLiteStore, StoreError

    open_store(tmp_path).close()
    holder = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreError, match="busy with another writer") as err:
            SQLiteStore(tmp_path / DB_NAME, busy_timeout_s=0.1)
        assert "writable" not in str(err.value)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_an_interrupted_import_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C in a command became typer's bare exit 130: the store kept its unfinished-import note and the
    user heard nothing until retrain refused the folder."""
    from reelkit.service import ingest
    from reelkit.testing.cli import run_cli

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(ingest, "import_dataset", interrupted)
    ratings = write_ratings(tmp_path / "r.csv")
    code, _, err = run_cli(capsys, "import", "--data-dir", str(tmp_path / "d"), "--ratings", str(ratings))
    assert code == 130
    assert "the import did not finish: run the same command again" in err and "aborted" in err
    # Ctrl-C stops the command's ffmpeg runs; the next command in this process may start ffmpeg again
    from reelkit import media
    from reelkit.errors import ToolError

    with pytest.raises(ToolError, match="the process is stopping"):
        media.run_ffmpeg(["-version"])
    code, _, _ = run_cli(capsys, "data", "fetch", "--help")
    assert code == 0 and b"ffmpeg version" in media.run_ffmpeg(["-version"]).stdout


def test_an_unfinished_import_can_be_abandoned(cli: typer.Typer, tmp_path: Path) -> None:
    """The only way past the refusal was importing that exact file again, storing the rest of a file that
    may be the wrong one; --abandon-pending forgets the unfinished import and says what stays stored."""
    data = tmp_path / "svc"
    runner = CliRunner()
    ratings = write_ratings(tmp_path / "ratings.csv")
    assert runner.invoke(cli, ["import", "--data-dir", str(data), "--ratings", str(ratings)]).exit_code == 0
    store = open_store(data)
    n_events = store.count_events()
    store.set_note("import_pending:0123", "wrong.csv")  # an import of wrong.csv was killed
    store.close()
    r = runner.invoke(cli, ["retrain", "--data-dir", str(data), "--model", "popular"])
    assert isinstance(r.exception, ConfigError) and "--abandon-pending" in str(r.exception)
    r = runner.invoke(cli, ["import", "--data-dir", str(data), "--abandon-pending", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout) == {"data_dir": str(data), "abandoned": ["wrong.csv"], "events": n_events}
    r = runner.invoke(cli, ["retrain", "--data-dir", str(data), "--model", "popular", "--json"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["import", "--data-dir", str(data), "--abandon-pending", "--ratings", "r.csv"])
    assert isinstance(r.exception, ConfigError) and "imports nothing" in str(r.exception)


@pytest.mark.parametrize("command", ["import", "retrain"])
def test_a_damaged_store_or_a_folder_in_its_place_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """A damaged database was asked "is the folder writable?"; a folder named reelkit.db exited 1 (import)
    or was said to be missing (retrain)."""
    import sqlite3

    from reelkit.service.store import DB_NAME
    from reelkit.testing.cli import run_cli

    damaged, folder = tmp_path / "damaged", tmp_path / "folder"
    damaged.mkdir()
    con = sqlite3.connect(damaged / DB_NAME)
    con.execute("CREATE TABLE t(x)")
    con.commit()
    con.close()
    whole = (damaged / DB_NAME).read_bytes()
    (damaged / DB_NAME).write_bytes(whole[:100] + bytes(len(whole) - 100))  # the header kept, pages zeroed
    (folder / DB_NAME).mkdir(parents=True)
    ratings = write_ratings(tmp_path / "r.csv")
    extra = ["--ratings", str(ratings)] if command == "import" else []
    for data_dir, said in (
        (damaged, "reelkit.db: is damaged (database disk image is malformed); restore it from a backup"),
        (folder, "reelkit.db: is a folder, not the store's database file; move it away"),
    ):
        code, _, err = run_cli(capsys, command, *extra, "--data-dir", str(data_dir))
        assert code == 2 and said in err and "writable" not in err and err.count("\n") == 1, err


def test_a_config_file_cannot_choose_the_data_folder(cli: typer.Typer, tmp_path: Path) -> None:
    """A data_dir in the config file was accepted and ignored: ``serve --config FILE`` then said "no reelkit
    store" of the default folder. It is refused, naming the file and the key, before anything else; the
    folder in use itself (as a dump of the settings holds it) is accepted."""
    from reelkit.service.settings import ServiceSettings

    cfg = tmp_path / "c.json"
    elsewhere, data = str(tmp_path / "elsewhere"), tmp_path / "data"
    cfg.write_text(json.dumps({"data_dir": elsewhere, "warm_pages": 0}))
    with pytest.raises(ConfigError) as info:
        ServiceSettings.load(data, config_file=cfg, environ={})
    assert str(info.value) == (
        f"{cfg}: data_dir {elsewhere!r} is not the data folder in use ({data}); the config file cannot "
        "choose it: give the folder with --data-dir (reelkit serve) and remove data_dir from the file"
    )
    cfg.write_text(json.dumps({"data_dir": str(data), "warm_pages": 0}))
    settings = ServiceSettings.load(data, config_file=cfg, environ={})
    assert settings.data_dir == data and settings.warm_pages == 0
    cfg.write_text(json.dumps({"data_dir": elsewhere}))
    result = CliRunner().invoke(cli, ["serve", "--data-dir", str(tmp_path / "none"), "--config", str(cfg)])
    assert isinstance(result.exception, ConfigError)  # not "no reelkit store here"
    assert str(result.exception).startswith(f"{cfg}: data_dir")


def test_the_demo_over_another_catalogue_names_another_data_folder(tmp_path: Path) -> None:
    """A folder holding another catalogue (titles, no events yet): the demo import would rename its titles,
    and the message named --rename-titles, an option of `reelkit import` that `serve --demo` lacks."""
    from reelkit.data.demo import make_demo
    from reelkit.errors import ConfigError
    from reelkit.service.store import TitleRecord

    data = tmp_path / "svc"
    ids = make_demo(n_members=30, n_titles=20, seed=1).titles.index[:20]
    store = open_store(data)
    store.upsert_titles([TitleRecord(str(t), f"Other film {i}") for i, t in enumerate(ids)])
    store.close()
    with pytest.raises(ConfigError) as info:
        bootstrap(data, n_members=30, n_titles=20, seed=1)
    msg = str(info.value)
    assert "already holds another catalogue (" in msg and "would be renamed" in msg
    assert "give another data folder" in msg and "--rename-titles" not in msg
    store = open_store(data)
    assert store.count_events() == 0 and store.count_members() == 0  # nothing imported
    store.close()
