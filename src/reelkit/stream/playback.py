"""Real playback against the simulator: play a DASH stream in headless chromium through a trace-shaped
segment server, with levels chosen by ``/v1/abr/decide``, and compare what the player did with what the
trace-driven simulator (:func:`reelkit.stream.abr.sim.simulate`) predicts for the same trace, video and
policy.

:func:`run_headless_playback` starts ``reelkit serve`` on a scratch data folder holding the stream and the
trace, opens ``/abr/demo`` in chromium (Playwright driving Debian's ``/usr/bin/chromium``) and waits until
every segment has loaded; :func:`compare_with_simulator` lines the two up chunk by chunk.

Where the two can differ, by construction: with the default ``busy`` trace clock the link's trace moves only
while payload moves, as the simulator's does; with ``wall`` it runs on wall time, so the player's idle
moments (between the first decision and the first segment, while appending) advance the trace, which the
simulator's clock does not. Either way the player measures download time from its request to the last
byte, with HTTP overhead on top of the 80 ms RTT, and its buffer level is read from the media element. A
stream with audio plays it unshaped (the segment server paces the video rungs only), so the link carries
what the simulator's does; on a real network the audio would take its share (64 kbps here) from the video.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from reelkit.errors import ConfigError, ReelkitError, ToolError

__all__ = [
    "DEFAULT_CHROMIUM",
    "PlaybackComparison",
    "PlaybackRun",
    "PlayedChunk",
    "chunks_from_log",
    "compare_with_simulator",
    "run_headless_playback",
]

DEFAULT_CHROMIUM = Path("/usr/bin/chromium")


@dataclass(frozen=True)
class PlayedChunk:
    """One segment as the player saw it."""

    chunk_index: int
    level: int
    bytes: float
    download_s: float
    buffer_s: float
    rebuffer_s: float
    t_s: float


@dataclass(frozen=True)
class PlaybackRun:
    """What a headless playback logged: the player's chunks and stalls, the server's transfers."""

    stream: str
    trace: str
    algo: str
    chunks: tuple[PlayedChunk, ...]
    stalls: int
    stall_s: float
    startup_s: float | None
    transfers: tuple[Mapping[str, Any], ...]
    errors: tuple[str, ...]
    wall_s: float

    @property
    def levels(self) -> np.ndarray:
        return np.asarray([c.level for c in self.chunks], dtype=np.int64)


def chunks_from_log(events: Sequence[Mapping[str, Any]]) -> tuple[PlayedChunk, ...]:
    """The ``chunk`` events of a player log (``/v1/abr/sessions/{id}``), one per index, in index order."""
    by_index: dict[int, PlayedChunk] = {}
    for e in events:
        if e.get("kind") != "chunk" or e.get("chunk_index") is None:
            continue
        k = int(e["chunk_index"])
        by_index[k] = PlayedChunk(
            chunk_index=k,
            level=int(e.get("level", 0)),
            bytes=float(e.get("bytes", 0.0)),
            download_s=float(e.get("download_s", float("nan"))),
            buffer_s=float(e.get("buffer_s", float("nan"))),
            rebuffer_s=float(e.get("stall_s", 0.0)),
            t_s=float(e.get("t_s", float("nan"))),
        )
    return tuple(by_index[k] for k in sorted(by_index))


@dataclass(frozen=True)
class PlaybackComparison:
    """The player's chunks beside the simulator's for the same trace, video and policy.

    ``sim_*`` is the simulator running the policy itself; ``replay_download_s`` is the simulator's download
    time for the player's own level sequence (so the link can be judged apart from the policy's choices).
    """

    algo: str
    trace: str
    player_levels: np.ndarray
    sim_levels: np.ndarray
    player_download_s: np.ndarray
    sim_download_s: np.ndarray
    replay_download_s: np.ndarray
    player_buffer_s: np.ndarray
    sim_buffer_s: np.ndarray
    player_rebuffer_s: float
    sim_rebuffer_s: float
    player_qoe: float
    sim_qoe: float
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def n_chunks(self) -> int:
        return int(self.player_levels.shape[0])

    @property
    def level_agreement(self) -> float:
        """Share of chunks fetched at the same level by the player and the simulator."""
        return float(np.mean(self.player_levels == self.sim_levels))

    @property
    def mean_abs_level_diff(self) -> float:
        return float(np.mean(np.abs(self.player_levels - self.sim_levels)))

    @property
    def download_ratio(self) -> float:
        """Player's total download time / the simulator's for the same levels (1 = the link is exact)."""
        return float(np.sum(self.player_download_s) / np.sum(self.replay_download_s))

    def summary(self) -> dict[str, Any]:
        return {
            "algo": self.algo,
            "trace": self.trace,
            "chunks": self.n_chunks,
            "player_levels": self.player_levels.tolist(),
            "sim_levels": self.sim_levels.tolist(),
            "level_agreement": self.level_agreement,
            "mean_abs_level_diff": self.mean_abs_level_diff,
            "download_ratio": self.download_ratio,
            "player_rebuffer_s": self.player_rebuffer_s,
            "sim_rebuffer_s": self.sim_rebuffer_s,
            "player_qoe_lin_per_chunk": self.player_qoe,
            "sim_qoe_lin_per_chunk": self.sim_qoe,
        }

    def rows(self) -> list[tuple[Any, ...]]:
        """Per chunk: index, player/sim level, player/sim/replay download s, player/sim buffer s."""
        return [
            (
                k,
                int(self.player_levels[k]),
                int(self.sim_levels[k]),
                float(self.player_download_s[k]),
                float(self.sim_download_s[k]),
                float(self.replay_download_s[k]),
                float(self.player_buffer_s[k]),
                float(self.sim_buffer_s[k]),
            )
            for k in range(self.n_chunks)
        ]


def compare_with_simulator(
    chunks: Sequence[PlayedChunk], trace: Any, video: Any, algo: str, *, model: str | Path | None = None
) -> PlaybackComparison:
    """Simulate ``algo`` on ``trace`` and ``video`` and line its first chunks up with the ones played.

    QoE (linear) and rebuffering count chunks 1..n-1 of the n played, for both."""
    from reelkit.stream.abr import make_policy
    from reelkit.stream.abr.qoe import get_qoe
    from reelkit.stream.abr.sim import PENSIEVE, simulate, simulate_levels

    if not chunks:
        raise ConfigError("the playback logged no chunks; nothing to compare")
    if [c.chunk_index for c in chunks] != list(range(len(chunks))):
        raise ConfigError(
            f"the playback's chunks are not 0..{len(chunks) - 1}: {[c.chunk_index for c in chunks]}"
        )
    n = min(len(chunks), int(video.n_chunks))
    # the player's policy knew the whole video, so the simulator runs it all and the first n chunks count
    cfg = dataclasses.replace(PENSIEVE, total_chunks=int(video.n_chunks))
    sim = simulate(make_policy(algo, model=model), trace, video, config=cfg)
    levels = np.asarray([c.level for c in chunks[:n]], dtype=np.int64)
    replay = simulate_levels(levels, trace, video, config=cfg)
    rebuf = np.asarray([c.rebuffer_s for c in chunks[:n]])
    q = get_qoe("lin")
    start = min(cfg.start_level, int(video.n_levels) - 1)
    player_rewards = q.rewards(levels, rebuf, video.bitrates_kbps, start)

    def per_chunk(rewards: np.ndarray) -> float:
        return float(np.sum(rewards[1:n]) / (n - 1)) if n > 1 else 0.0

    return PlaybackComparison(
        algo=algo,
        trace=getattr(trace, "name", "trace"),
        player_levels=levels,
        sim_levels=np.asarray(sim.levels[:n], dtype=np.int64),
        player_download_s=np.asarray([c.download_s for c in chunks[:n]]),
        sim_download_s=np.asarray(sim.download_s[:n]),
        replay_download_s=np.asarray(replay.download_s[:n]),
        player_buffer_s=np.asarray([c.buffer_s for c in chunks[:n]]),
        sim_buffer_s=np.asarray(sim.buffer_s[:n]),
        player_rebuffer_s=float(np.sum(rebuf[1:])),
        sim_rebuffer_s=float(np.sum(sim.rebuffer_s[1:n])),
        player_qoe=per_chunk(player_rewards),
        sim_qoe=per_chunk(np.asarray(sim.rewards)),
    )


def _served_trace_name(file_name: str) -> str:
    """The name the segment server knows a trace file by: ASCII letters, digits, ``._-``, at most 100
    characters (the server's pattern for names). A longer name is shortened before its extensions, which
    say how it is read (a ``.gz`` cut off was parsed as text)."""
    safe = "".join(ch if (ch.isascii() and ch.isalnum()) or ch in "._-" else "_" for ch in file_name)
    full = "trace-" + safe
    if len(full) <= 100:
        return full
    suffix = "".join(PurePosixPath(safe).suffixes)[-20:]
    return full[: 100 - len(suffix)] + suffix


def _copy_into(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, dest)
    else:
        shutil.copyfile(src, dest)


def run_headless_playback(
    stream_dir: str | Path,
    trace_file: str | Path,
    *,
    algo: str = "robustmpc",
    chromium: str | Path = DEFAULT_CHROMIUM,
    timeout_s: float = 120.0,
    trace_clock: str = "busy",
    chunks: int | None = None,
    work_dir: str | Path | None = None,
    model: str | Path | None = None,
) -> PlaybackRun:
    """Play the stream in ``stream_dir`` (from :func:`reelkit.stream.dash.package_dash`) in headless chromium,
    its segments paced by ``trace_file``, and return the player's log once every segment has loaded.

    ``trace_clock`` ``busy`` (the default here) moves the trace only while payload moves, as the simulator
    does; ``wall`` runs it on wall time (see :mod:`reelkit.stream.shaping`). ``chunks`` stops after that
    many segments have loaded (default: all). ``model``: a trained policy's file (``reelkit abr train``) that
    a learned ``algo`` decides with instead of its shipped one."""
    from reelkit.stream.dash import load_stream

    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - a dev dependency
        raise ToolError("headless playback needs the playwright package (pip install playwright)") from exc
    import httpx

    from reelkit.service.store import open_store
    from reelkit.service.testing import CHROMIUM_ARGS, start_server

    stream = load_stream(stream_dir)
    want = stream.n_segments if chunks is None else int(chunks)
    if not 1 <= want <= stream.n_segments:
        raise ConfigError(f"chunks must be in 1..{stream.n_segments}; got {chunks}")
    if trace_clock not in ("wall", "busy"):
        raise ConfigError(f"trace clock must be wall or busy; got {trace_clock!r}")
    trace_path = Path(trace_file)
    if trace_path.is_dir():
        raise ConfigError(f"{trace_path}: is a folder, not a trace file: give one trace file from it")
    if not trace_path.is_file():
        raise ConfigError(f"{trace_path}: no such trace file")
    if not Path(chromium).exists():
        raise ToolError(f"no chromium at {chromium}; install the chromium package (apt-get install chromium)")
    own = work_dir is None
    root = Path(tempfile.mkdtemp(prefix="reelkit-playback-")) if own else Path(work_dir)  # type: ignore[arg-type]
    try:
        data = root / "data"
        name = "play"
        trace_name = _served_trace_name(trace_path.name)
        _copy_into(Path(stream.folder), data / "abr" / "streams" / name)
        _copy_into(trace_path, data / "abr" / "traces" / trace_name)
        if model is not None:  # served by name from the data folder, as streams and traces are
            _copy_into(Path(model), data / "abr" / "models" / "trained.npz")
        open_store(data).close()
        session = f"play-{secrets.token_hex(4)}"
        url = f"/abr/demo?stream={name}&trace={trace_name}&algo={algo}&session={session}&clock={trace_clock}"
        if model is not None:
            url += "&model=trained.npz"
        server = start_server(data, token=secrets.token_urlsafe(16))
        t0 = time.monotonic()
        try:
            with sync_playwright() as p:
                try:
                    browser = p.chromium.launch(
                        executable_path=str(chromium),
                        args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"],
                        headless=True,
                    )
                except Exception as exc:  # playwright's Error / TargetClosedError: not a browser it can drive
                    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    raise ConfigError(
                        f"{chromium}: could not start it as a headless Chromium ({first}); give the path of "
                        "a chromium or chrome binary (--chromium)"
                    ) from None
                try:
                    page = browser.new_page()
                    page.goto(server.url + url)
                    if page.locator("#abr-missing").count():
                        from reelkit.service.routers.abr import DASHJS_MISSING

                        raise ToolError(DASHJS_MISSING)
                    try:
                        page.wait_for_function(
                            "n => window.reelkitAbr"
                            " && (reelkitAbr.chunks.length >= n || reelkitAbr.errors.length)",
                            arg=want,
                            timeout=timeout_s * 1000,
                        )
                    except PlaywrightError as exc:
                        raise ToolError(f"the playback did not finish within {timeout_s:g} s") from exc
                    state = page.evaluate(
                        "() => { reelkitAbr.flush(); return {chunks: reelkitAbr.chunks,"
                        " errors: reelkitAbr.errors, stalls: reelkitAbr.stalls,"
                        " stallS: reelkitAbr.stallTotal(), startup: reelkitAbr.startupS,"
                        " algo: reelkitAbr.algo}; }"
                    )
                finally:
                    browser.close()
            wall = time.monotonic() - t0
            info = httpx.get(f"{server.url}/v1/abr/sessions/{session}", timeout=10).json()
        finally:
            server.stop()
        if state["errors"]:
            raise ToolError("the player reported: " + "; ".join(map(str, state["errors"]))[:500])
        return PlaybackRun(
            stream=stream.name,
            trace=trace_path.name,
            algo=str(state["algo"]),
            chunks=chunks_from_log(state["chunks"]),
            stalls=int(state["stalls"]),
            stall_s=float(state["stallS"]),
            startup_s=None if state["startup"] is None else float(state["startup"]),
            transfers=tuple(info.get("transfers", [])),
            errors=(),
            wall_s=wall,
        )
    except (OSError, json.JSONDecodeError, httpx.HTTPError) as exc:
        raise ToolError(f"headless playback failed: {exc}") from exc
    except ReelkitError:
        raise
    finally:
        if own:
            shutil.rmtree(root, ignore_errors=True)
