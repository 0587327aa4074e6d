"""``reelkit abr package | playback``: build a DASH stream; play it in headless chromium through a shaped
trace and compare the player with the simulator."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

from reelkit.cli.common import JsonOpt, emit_json, err_console, print_table
from reelkit.errors import ConfigError, ToolError


def _ladder(text: str | None, small: bool) -> tuple[object, ...]:
    from reelkit.stream.dash import DEFAULT_LADDER, SMALL_LADDER, Rendition

    if text:
        try:
            return tuple(Rendition.parse(x) for x in text.split(",") if x.strip())
        except ConfigError as exc:
            raise ConfigError(f"--ladder: {exc}") from None
    return SMALL_LADDER if small else DEFAULT_LADDER


def package_cmd(
    clip: Annotated[
        Path | None, typer.Argument(help="Video file to package (default: a generated test clip).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder (created; must be empty).")] = Path(
        "dash"
    ),
    ladder: Annotated[
        str | None,
        typer.Option(
            help="Renditions WIDTHxHEIGHT@KBPS, comma separated (default: 180p..720p, 300..2850 kbps)."
        ),
    ] = None,
    small: Annotated[bool, typer.Option(help="Four tiny levels, 90p..180p, 100..1000 kbps (fast).")] = False,
    segment: Annotated[float, typer.Option(help="Segment length in seconds.")] = 4.0,
    duration: Annotated[
        float | None, typer.Option(help="Seconds: the generated clip's length (48), or a cut of CLIP (all).")
    ] = None,
    source: Annotated[
        str | None,
        typer.Option(help="Generated clip's source: testsrc2 or mandelbrot [default: testsrc2]."),
    ] = None,
    audio: Annotated[bool, typer.Option(help="Package the clip's audio too.")] = False,
    preset: Annotated[str, typer.Option(help="x264 preset.")] = "veryfast",
    overwrite: Annotated[bool, typer.Option(help="Replace an existing output folder.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Encode a clip into a DASH stream (H.264 ladder, fixed GOP, MPD) that the service can serve.

    For the service's demo page, write it to <data dir>/abr/streams/<name>. The renditions must have the
    clip's shape as shown (within 3%): a ladder that would stretch the picture is refused. Rungs larger than
    the clip are left out (with a warning), and an interlaced clip is deinterlaced; --segment is rounded to
    whole frames.
    """
    from reelkit.stream.dash import (
        MAX_DURATION_S,
        SAMPLE_SOURCES,
        check_package_options,
        make_sample_clip,
        package_dash,
    )

    if ladder is not None and small:  # --small chooses a ladder: with one given it was ignored
        raise ConfigError("--small is a ladder of its own; give --ladder or --small, not both")
    if ladder is not None and not ladder.strip(","):  # '' used the default ladder without a word
        raise ConfigError("--ladder: give renditions like 640x360@800,1280x720@3000")
    if clip is not None and source is not None:  # a clip of one's own: the option would be ignored
        raise ConfigError("--source chooses the generated clip's picture; with a clip given, leave it out")
    source = source or "testsrc2"
    if clip is None and source not in SAMPLE_SOURCES:  # said before "generating a ... clip", not after
        raise ConfigError(f"--source {source!r}: use {' or '.join(SAMPLE_SOURCES)}")
    renditions = _ladder(ladder, small)
    # everything checked before a clip is generated or encoded
    check_package_options(
        out,
        renditions,  # type: ignore[arg-type]
        segment_s=segment,
        preset=preset,
        max_duration_s=duration if clip is not None else None,
        overwrite=overwrite,
    )
    if clip is None and duration is not None and not 0 < duration <= MAX_DURATION_S:
        raise ConfigError(
            f"--duration must be > 0 s and at most {MAX_DURATION_S:g} s (24 h); got {duration:g}"
        )
    with tempfile.TemporaryDirectory(prefix="reelkit-clip-") as tmp:
        if clip is None:
            biggest = max(renditions, key=lambda r: r.width)  # type: ignore[attr-defined]
            seconds = 48.0 if duration is None else duration
            err_console.print(f"generating a {seconds:g} s {source} clip")
            src = make_sample_clip(
                Path(tmp) / "clip.mp4",
                duration_s=seconds,
                size=(biggest.width, biggest.height),  # type: ignore[attr-defined]
                source=source,
                audio=audio,
            )
            cut = None
        else:
            src, cut = clip, duration
        stream = package_dash(
            src,
            out,
            renditions=renditions,  # type: ignore[arg-type]
            segment_s=segment,
            audio=audio,
            preset=preset,
            max_duration_s=cut,
            overwrite=overwrite,
        )
        # the seconds the segments hold: a clip shorter than one segment is that one segment, shorter
        from reelkit import media
        from reelkit.stream.dash import INTERLACED

        probed = media.probe(src)
        length = probed.duration_s
    order = probed.video[0].field_order if probed.video else None
    if order in INTERLACED:
        err_console.print(
            f"the clip is interlaced ({str(order).upper()}): deinterlaced (bwdif, a frame per frame)"
        )
    frames = round(stream.segment_s * stream.fps)
    if abs(stream.segment_s - segment) > 1e-6:  # the GOP is whole frames: say what a segment lasts
        err_console.print(
            f"segments of {frames} frames at {stream.fps:.4g} fps: {stream.segment_s:.4g} s "
            f"(--segment {segment:g} rounded to whole frames)"
        )
    held_s = stream.n_segments * stream.segment_s
    if length and cut is not None:
        length = min(length, cut)
    if length and length < held_s:
        held_s = length
    means = stream.sizes.mean(axis=1)
    measured = means * stream.n_segments * 8 / held_s / 1000
    info = stream.to_json()
    info.pop("sizes")
    info.update(
        folder=str(out),
        segments=stream.n_segments,
        mean_segment_bytes=means.round(),
        measured_kbps=measured.round(1),
    )
    if json_out:
        emit_json(info)
        return
    print_table(
        f"DASH stream {out} ({stream.n_segments} segment{'s' * (stream.n_segments != 1)} of "
        f"{stream.segment_s:.4g} s)",
        ["level", "size", "kbps", "mean segment bytes", "measured kbps"],
        [
            (i, f"{r.width}x{r.height}", r.bitrate_kbps, int(m), k)
            for i, (r, m, k) in enumerate(zip(stream.renditions, means, measured, strict=True))
        ],
    )


def playback_cmd(
    ctx: typer.Context,
    trace: Annotated[
        Path,
        typer.Option(
            "--trace",
            help="Cooked network trace (time_s Mbps per line, whitespace- or comma-separated; .gz read).",
        ),
    ],
    stream: Annotated[
        Path | None,
        typer.Option(help="A folder from 'reelkit abr package' (default: a tiny 24 s stream built now)."),
    ] = None,
    algo: Annotated[str, typer.Option(help="Policy that /v1/abr/decide uses.")] = "robustmpc",
    model: Annotated[
        Path | None,
        typer.Option(
            "--model-file",
            "--model",
            "-m",
            help="A trained policy ('reelkit abr train -o') for a learned --algo (fugu, best).",
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Give up after this many seconds.")] = 120.0,
    chromium: Annotated[Path, typer.Option(help="The chromium binary.")] = Path("/usr/bin/chromium"),
    clock: Annotated[
        str, typer.Option(help="Trace clock: busy (as the simulator: moves only while bytes move) or wall.")
    ] = "busy",
    json_out: JsonOpt = False,
) -> None:
    """Play a DASH stream in headless chromium through a trace-shaped server; compare with the simulator."""
    from reelkit.stream.abr import available_policies
    from reelkit.stream.abr.registry import policy_name
    from reelkit.stream.abr.traces import load_trace
    from reelkit.stream.dash import SMALL_LADDER, load_stream, make_sample_clip, package_dash
    from reelkit.stream.playback import compare_with_simulator, run_headless_playback

    if not 0 < timeout < math.inf:
        raise ConfigError(f"--timeout must be a positive number of seconds; got {timeout}")
    if clock not in ("busy", "wall"):
        raise ConfigError(f"--clock must be busy or wall; got {clock!r}")
    name = policy_name(algo)  # the aliases simulate and compare take (rmpc, bb)
    if name is None:
        raise ConfigError(f"unknown algo {algo!r}; choose one of {', '.join(available_policies())}")
    algo = name
    if model is not None:  # refused before a stream is built, as simulate refuses it
        from reelkit.stream.abr.registry import make_policy, takes_model

        if not takes_model(algo):
            raise ConfigError(f"--model is for the learned policies (fugu, best); {algo!r} takes none")
        make_policy(algo, model=model)  # loads it: a missing or foreign file is said now
    tr = load_trace(trace)
    given = load_stream(stream).video() if stream is not None else None  # a bad folder is the user's error
    if not chromium.is_file():  # said before a stream is built for it
        source = ctx.get_parameter_source("chromium")
        if source is not None and source.name == "COMMANDLINE":
            raise ConfigError(f"--chromium {chromium}: no such file; give the chromium binary")
        raise ToolError(f"no chromium at {chromium}; install the chromium package (apt-get install chromium)")
    from reelkit.service.routers.abr import DASHJS_MISSING, dashjs_path

    if dashjs_path() is None:  # said before a stream is built for it (it came after 8 s of packaging)
        raise ToolError(DASHJS_MISSING)
    with tempfile.TemporaryDirectory(prefix="reelkit-playback-") as tmp:
        if stream is None:
            err_console.print("building a tiny 24 s DASH stream (4 levels, 100..1000 kbps)")
            clip = make_sample_clip(Path(tmp) / "clip.mp4", duration_s=24, size=(320, 180), audio=False)
            folder = package_dash(
                clip, Path(tmp) / "stream", renditions=SMALL_LADDER, preset="ultrafast"
            ).folder
        else:
            folder = stream
        video = given if given is not None else load_stream(folder).video()
        err_console.print(
            f"playing {video.n_chunks} segment{'s' * (video.n_chunks != 1)} through {trace.name} with {algo}"
            + (f" (model {model})" if model is not None else "")
        )
        run = run_headless_playback(
            folder, trace, algo=algo, chromium=chromium, timeout_s=timeout, trace_clock=clock, model=model
        )
    cmp = compare_with_simulator(run.chunks, tr, video, algo, model=model)
    summary = {
        **cmp.summary(),
        "model": None if model is None else str(model),  # a run of a trained policy tells itself apart
        "player_stalls": run.stalls,
        "player_stall_s": run.stall_s,
        "player_startup_s": run.startup_s,
        "wall_s": run.wall_s,
    }
    if json_out:
        emit_json(playback_doc(summary, cmp.rows()))
        return
    played = algo if model is None else f"{algo}, model {model.name}"
    print_table(f"playback of {run.stream} through {trace.name} ({played})", _COLUMNS, cmp.rows())
    print_table("summary", ["metric", "value"], list(summary.items()))


def playback_doc(summary: dict[str, Any], rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    """``abr playback --json``: the summary, and the per-chunk rows under their own key (under "chunks" they
    replaced the summary's count of chunks, which the table shows)."""
    return {**summary, "per_chunk": [dict(zip(_KEYS, r, strict=True)) for r in rows]}


_COLUMNS = [
    "chunk",
    "player level",
    "sim level",
    "player download s",
    "sim download s",
    "sim download s (player's levels)",
    "player buffer s",
    "sim buffer s",
]
#: The same columns as JSON keys (snake_case, as every other command's).
_KEYS = [
    "chunk",
    "player_level",
    "sim_level",
    "player_download_s",
    "sim_download_s",
    "sim_download_s_player_levels",
    "player_buffer_s",
    "sim_buffer_s",
]


def add_commands(group: typer.Typer, app: typer.Typer) -> None:
    """Add ``package`` and ``playback`` to the ``abr`` group."""
    group.command("package")(package_cmd)
    group.command("playback")(playback_cmd)
