"""``reelkit serve | import | retrain | activate``: run the member-facing service and manage its data folder.

A thin layer: parse options, call :mod:`reelkit.service`, print. ``serve --demo`` sets a data folder up
first (the demo catalog, or MovieLens when ``REELKIT_DATA`` points at a ratings file or folder), so
``make run`` is one command; a second run reuses the folder.
"""

from __future__ import annotations

import errno
import os
import re
import shlex
import signal
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from reelkit.cli.common import console, emit_json, err_console, parse_params, progress_for
from reelkit.cli.inputs import HeaderOpt, TitlesOpt, UnknownTitlesOpt
from reelkit.errors import ConfigError

if TYPE_CHECKING:
    from reelkit.service.settings import ServiceSettings

__all__ = [
    "DATA_ENV",
    "DEFAULT_DATA_DIR",
    "activate_cmd",
    "import_cmd",
    "register",
    "retrain_cmd",
    "serve_cmd",
]

DATA_ENV = "REELKIT_DATA"
DEFAULT_DATA_DIR = Path(".reelkit/service")


def data_folder(value: Path | None) -> Path | None:
    """A data folder, not a database URL: the path type turned sqlite:///x.db into a folder "sqlite:" here."""
    # scheme:// arrives as scheme:/ (the path type folds the slashes); "backup-12:00" is a folder name
    if value is not None and re.match(r"^[A-Za-z][A-Za-z0-9+.-]+:/", str(value)) and not value.exists():
        raise ConfigError(
            f"--data-dir {value}: give a folder (it holds the store, the models and service.json), not a "
            "database URL"
        )
    return value


DataDirOpt = Annotated[
    Path,
    typer.Option(
        "--data-dir", help="The service's data folder (store, models, service.json).", callback=data_folder
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _missing_extra(exc: ImportError) -> ConfigError:
    return ConfigError(
        f"the service needs extra packages ({exc.name} is missing); install them with "
        "pip install 'reelkit[service]'"
    )


def _bind_advice(exc: OSError, host: str) -> str:
    """What to change when binding failed, by its cause: the port, the host, or the rights."""
    if exc.errno == errno.EADDRINUSE:
        return "choose another --port (0: any free one)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"--host {host} is not an address of this machine; give one of its own (0.0.0.0: all of them)"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return (
            "ports under 1024 need privileges: choose a --port of 1024 or more, or run as a user allowed to "
            "bind it"
        )
    if exc.errno == errno.EAFNOSUPPORT:
        return (
            f"this machine does not support {host}'s address family (IPv6 turned off?): give an IPv4 --host"
        )
    return "choose another --host or --port"


def _bind(host: str, port: int) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigError(f"--host {host}: not an address this machine can listen on ({exc})") from None
    family, kind, proto, _, addr = infos[0]
    # proto must be IPPROTO_TCP (not 0): asyncio only sets TCP_NODELAY on such sockets, and without it
    # Nagle's algorithm and delayed ACKs add 40 ms to every response
    try:  # a kernel without IPv6 refuses the socket itself (EAFNOSUPPORT)
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {host}:{port} ({exc.strerror}); {_bind_advice(exc, host)}"
        ) from None
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port} ({exc.strerror}); {_bind_advice(exc, host)}"
        ) from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve_cmd(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free port).")] = 8000,
    data_dir: DataDirOpt = DEFAULT_DATA_DIR,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo",
            help=f"Set the data folder up first if needed: the demo catalog, or ${DATA_ENV} (a ratings "
            "file or folder) when set; then train a model version.",
        ),
    ] = False,
    config: Annotated[Path | None, typer.Option(help="Config file (default: DATA_DIR/service.json).")] = None,
    log_level: Annotated[str, typer.Option(help="Server log level.")] = "warning",
    workers: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=64,
            help="Server processes sharing the port (default: the config's 'workers', 1). Each loads the "
            "model and keeps its own page cache; the store is shared. More serve more pages a second where "
            "there are the cores; ABR player sessions need one.",
        ),
    ] = None,
) -> None:
    """Run the HTTP service (API, web pages, /docs) on a data folder."""
    levels = ("critical", "error", "warning", "info", "debug", "trace")
    if log_level.lower() not in levels:
        raise ConfigError(f"--log-level {log_level!r}: use one of {', '.join(levels)}")
    log_level = log_level.lower()
    try:
        import uvicorn
        from uvicorn.config import STARTUP_FAILURE

        from reelkit.service.app import create_app
    except ImportError as exc:
        raise _missing_extra(exc) from None
    from reelkit.service.settings import ServiceSettings
    from reelkit.service.store import DB_NAME, open_store

    # a config file of the user's is read before the work: its mistakes (a data_dir it cannot choose) are
    # said first, not after a demo set up in the wrong folder or "no reelkit store" there
    settings = ServiceSettings.load(data_dir, config_file=config) if config is not None else None
    if demo:
        from reelkit.service.bootstrap import bootstrap

        source = os.environ.get(DATA_ENV) or None
        with progress_for() as progress:
            # with --config, that file's token (or none) is the server's: a token written into the data
            # folder's service.json would be announced and then never read
            # the model is trained with the home page's confidence formula, from the settings in use
            home = settings.home if settings is not None else ServiceSettings.load_home(data_dir)
            report = bootstrap(
                data_dir, source=source, progress=progress, make_token=config is None, home=home
            )
        if report.imported is not None:
            err_console.print(
                f"imported {report.source}: {report.imported.titles:,} titles, {report.imported.members:,} "
                f"members, {report.imported.events_stored:,} events -> {data_dir}"
            )
        else:
            err_console.print(f"reusing the data in {data_dir}")
        if report.trained is not None:
            err_console.print(
                f"trained model version {report.trained.version} ({report.trained.personal_model}) in "
                f"{report.trained.train_seconds:.1f} s"
            )
        if report.token_file is not None:
            err_console.print(f"API token for writes: in {report.token_file}")
    elif not (data_dir / DB_NAME).exists():
        raise ConfigError(
            f"{data_dir}: no reelkit store here; load data with 'reelkit import --data-dir "
            f"{shlex.quote(str(data_dir))} --ratings FILE' or start with 'reelkit serve --demo'"
        )
    # the app opens the store at startup, inside the server, where an unusable one is a traceback
    from reelkit.service.ingest import unfinished_import_warning

    store = open_store(data_dir, create=False)
    try:
        # an import killed part-way (a restart during it) does not keep the service down: it serves the
        # current model and says so here and in /health (pending_imports)
        pending = unfinished_import_warning(store, data_dir)
    finally:
        store.close()
    if pending is not None:
        err_console.print(f"warning: {pending}", highlight=False, markup=False)
    if settings is None:  # the data folder's service.json, which --demo may just have written
        settings = ServiceSettings.load(data_dir)
    if demo and settings.web_ui_writes is None:
        # the demo's play button works even when the config file has no token (unless it turns it off)
        settings = settings.model_copy(update={"web_ui_writes": True})
    if workers is not None:
        settings = settings.model_copy(update={"workers": workers})
    if settings.workers > 1 and settings.model_poll_seconds == 0:
        given = (
            f"--workers {workers}" if workers is not None else f"'workers': {settings.workers} in the config"
        )
        raise ConfigError(
            f"{given} needs model_poll_seconds above 0 in the config (the processes learn of model switches "
            "from the store), or one process (--workers 1)"
        )
    app = create_app(settings) if settings.workers == 1 else None
    sock = _bind(host, port)
    bound_port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    processes = f" in {settings.workers} processes" if settings.workers > 1 else ""
    sys.stdout.write(
        f"reelkit serving {data_dir} on http://{shown}:{bound_port}/ (API docs: /docs){processes}\n"
    )
    sys.stdout.flush()
    options = {"log_level": log_level, "access_log": False, "lifespan": "on", "timeout_graceful_shutdown": 5}
    if app is not None:
        server = uvicorn.Server(uvicorn.Config(app, **options))  # type: ignore[arg-type]
        server.run(sockets=[sock])
        if not server.started:  # the app's startup failed (said in the log above)
            raise typer.Exit(STARTUP_FAILURE)
        return
    _supervise(settings, options, sock)


def _supervise(settings: ServiceSettings, options: dict[str, Any], sock: socket.socket) -> None:
    """Run ``settings.workers`` server processes on ``sock`` and supervise them (uvicorn's supervisor: a
    worker that dies is started again; one that fails to start stops all, exit 3). Each is a fresh
    interpreter (spawned) that builds its app from the settings passed in the environment, and stops when
    this process dies. Stopped by SIGINT or SIGTERM, this process then ends as one server process does."""
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess
    from uvicorn.supervisors.multiprocess import SIGNALS

    from reelkit.service.app import worker_spec

    class Supervisor(Multiprocess):
        stopped_by: int | None = None

        def handle_int(self) -> None:
            self.stopped_by = signal.SIGINT
            super().handle_int()

        def handle_term(self) -> None:
            self.stopped_by = signal.SIGTERM
            super().handle_term()

    os.environ.update(worker_spec(settings))
    config = uvicorn.Config(
        "reelkit.service.app:worker_app",
        factory=True,
        workers=settings.workers,
        **options,
    )
    handlers = {sig: signal.getsignal(sig) for sig in SIGNALS}  # the supervisor takes them over
    supervisor = Supervisor(config, sockets=[sock])
    try:
        supervisor.run()
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    if any(p.process.exitcode == STARTUP_FAILURE for p in supervisor.processes):
        raise typer.Exit(STARTUP_FAILURE)
    if supervisor.stopped_by is not None:  # ended by the signal, as one server process is (Ctrl-C: 130)
        signal.raise_signal(supervisor.stopped_by)


def import_cmd(
    data_dir: DataDirOpt = DEFAULT_DATA_DIR,
    ratings: Annotated[
        Path | None, typer.Option("--ratings", help="Ratings/events file (any supported format).")
    ] = None,
    data: Annotated[Path | None, typer.Option("--data", help="Dataset folder or file.")] = None,
    columns: Annotated[
        str | None, typer.Option(help="Column names by position, e.g. user,item,rating.")
    ] = None,
    sep: Annotated[str | None, typer.Option(help="Field separator (auto-detected by default).")] = None,
    header: HeaderOpt = None,
    unknown_titles: UnknownTitlesOpt = "error",
    titles: TitlesOpt = None,
    abandon_pending: Annotated[
        bool,
        typer.Option(
            "--abandon-pending",
            help="Give up the data folder's unfinished imports instead of completing them (the events they "
            "stored stay: events are append-only); retrain accepts the folder again.",
        ),
    ] = False,
    rename_titles: Annotated[
        bool,
        typer.Option(
            "--rename-titles",
            help="Take a catalogue that renames many stored titles (without it such an import is refused, "
            "nothing written: it is most likely another catalogue whose ids overlap, and its events would "
            "mix with the stored ones).",
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Load a catalog and events (MovieLens, CSV, Parquet, a reelkit dataset) into the service's store.

    Events are stored in chunks, each its own transaction: an import stopped part-way is completed by
    running it again (what is stored counts as duplicates); retrain refuses the store until then, or until
    it is given up with --abandon-pending (serve warns, and /health names it).
    """
    from reelkit.service.ingest import import_dataset, import_key, read_source, stopped_imports
    from reelkit.service.store import DB_NAME, open_store

    if abandon_pending:
        if ratings is not None or data is not None:
            raise ConfigError("--abandon-pending takes no --ratings or --data: it imports nothing")
        if not (data_dir / DB_NAME).exists():
            raise ConfigError(f"{data_dir}: no reelkit store here; nothing to abandon")
        _abandon_pending(data_dir, json_out)
        return
    if (ratings is None) == (data is None):
        raise ConfigError("give exactly one of --ratings FILE or --data PATH")
    source = ratings if ratings is not None else data
    assert source is not None
    with progress_for(not json_out) as progress:
        ds = read_source(
            source, columns=columns, sep=sep, header=header, unknown_titles=unknown_titles, titles=titles
        )
        store = open_store(data_dir)
        try:
            label, key = str(source.resolve()), import_key(ds)
            # not those still running (a concurrent import was said not to have finished)
            others = [v for k, v in stopped_imports(store).items() if k != key and v != label]
            if others:
                what = (
                    f"an earlier import of {others[0]}"
                    if len(others) == 1
                    else f"earlier imports of {', '.join(others)}"
                )
                err_console.print(
                    f"warning: {what} did not finish; import it again to complete it",
                    highlight=False,
                    markup=False,
                )
            try:
                summary = import_dataset(
                    store, ds, progress=progress, label=label, key=key, rename_titles=rename_titles
                )
            except KeyboardInterrupt:
                err_console.print(
                    "the import did not finish: run the same command again to complete it (what is stored "
                    "counts as duplicates); retrain refuses this data folder until then (or until it is "
                    "given up with --abandon-pending), and serve warns",
                    highlight=False,
                    markup=False,
                )
                raise
        finally:
            store.close()
    out = {"data_dir": str(data_dir), "source": str(source), **summary.__dict__}
    if json_out:
        emit_json(out)
    else:
        console.print(
            f"imported {summary.titles:,} titles, {summary.members:,} members and "
            f"{summary.events_stored:,} new events ({summary.events_duplicate:,} already stored) "
            f"into {data_dir}; next: reelkit retrain --data-dir {shlex.quote(str(data_dir))}"
        )


def _abandon_pending(data_dir: Path, json_out: bool) -> None:
    """``import --abandon-pending``: forget the unfinished imports, saying what stays stored."""
    from reelkit.service.ingest import abandon_pending_imports
    from reelkit.service.store import open_store

    store = open_store(data_dir, create=False)
    try:
        abandoned = abandon_pending_imports(store)
        n_events = store.count_events()
    finally:
        store.close()
    if json_out:
        emit_json({"data_dir": str(data_dir), "abandoned": abandoned, "events": n_events})
    elif not abandoned:
        console.print(f"{data_dir}: no unfinished import to abandon", highlight=False, markup=False)
    else:
        console.print(
            f"gave up the unfinished import(s) of {', '.join(abandoned)}: what they stored stays (events are "
            f"append-only; {n_events:,} events in {data_dir} in all) and counts in the next retrain; "
            "importing the same file again later stores only the rest",
            highlight=False,
            markup=False,
        )


def retrain_cmd(
    data_dir: DataDirOpt = DEFAULT_DATA_DIR,
    model: Annotated[
        str, typer.Option("--model", help="The personal model (see 'reelkit models').")
    ] = "ease",
    param: Annotated[
        list[str] | None, typer.Option("--param", help="Model parameter key=value (repeatable).")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(
            help="The server's config file, whose home settings weigh the events (default: "
            "DATA_DIR/service.json)."
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Train a new model version from the stored events; a running server switches to it by itself.

    The new version becomes current unless the current one was trained on later events (a retrain that
    finished after a later one); after 'reelkit activate' (a rollback), the next retrain is current again.

    Events are weighed by the confidence formula and sample-play thresholds of the service's ``home``
    settings, as the home page weighs a member's history; the version keeps those settings and its pages
    weigh a history with them (a server started earlier too): retrain after changing them."""
    from reelkit.service.models import describe_record, train_store
    from reelkit.service.settings import ServiceSettings
    from reelkit.service.store import open_store

    home = ServiceSettings.load_home(data_dir, config_file=config)
    with progress_for(not json_out) as progress:
        record = train_store(
            data_dir, personal=model, params=parse_params(param), home=home, progress=progress
        )
    store = open_store(data_dir)
    try:
        current = store.current_model_version()
    finally:
        store.close()
    # a retrain that finished after another one trained on later events does not replace it
    superseded = current is not None and current.version != record.version
    if json_out:
        emit_json({**describe_record(record), "current": not superseded})
    else:
        console.print(
            f"model version {record.version}: {record.personal_model} + itemknn + trending + communities on "
            f"{record.n_events:,} events ({record.n_members:,} members, {record.n_titles:,} titles) in "
            f"{record.train_seconds:.1f} s"
            + (
                f"; {current.version} stays current (trained on later events)"
                if superseded and current is not None
                else ""
            )
        )


def activate_cmd(
    version: Annotated[str, typer.Argument(help="The version to make current (e.g. v0002).")],
    data_dir: DataDirOpt = DEFAULT_DATA_DIR,
    json_out: JsonOpt = False,
) -> None:
    """Make a recorded model version whose files are kept the current one (a rollback); a running server
    switches to it by itself.

    The version is loaded first (one that does not load stays inactive). The next retrain's version becomes
    current again (it is trained on at least the events this one was)."""
    from reelkit.service.models import activate_version, describe_record

    record = activate_version(data_dir, version)
    if json_out:
        emit_json({**describe_record(record), "current": True})
    else:
        console.print(
            f"model version {record.version} ({record.personal_model} on {record.n_events:,} events) is "
            f"current; a running server on {data_dir} switches to it by itself",
            highlight=False,
            markup=False,
        )


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_cmd)
    app.command("import")(import_cmd)
    app.command("retrain")(retrain_cmd)
    app.command("activate")(activate_cmd)


def main() -> None:
    """``python -m reelkit.cli.service``: these commands on their own (same exit codes as ``reelkit``)."""
    from reelkit.errors import ReelkitError, UserInputError

    app = typer.Typer(
        name="reelkit",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    register(app)
    try:
        app(prog_name="reelkit")
    except UserInputError as exc:
        err_console.print(f"error: {exc}", highlight=False, markup=False)
        sys.exit(2)
    except ReelkitError as exc:
        err_console.print(f"error: {exc}", highlight=False, markup=False)
        sys.exit(1)
    except MemoryError as exc:
        from reelkit.cli.common import out_of_memory_message

        command = " ".join(["reelkit", *sys.argv[1:2]])
        err_console.print(f"error: {out_of_memory_message(exc, command)}", highlight=False, markup=False)
        sys.exit(2)


if __name__ == "__main__":
    main()
