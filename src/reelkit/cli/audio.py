"""``reelkit loudness FILE``, ``reelkit loudness normalize FILE -o OUT`` and ``reelkit qc MEDIA``."""

from __future__ import annotations

import math
import os
import shlex
from difflib import get_close_matches
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from typer.core import TyperGroup

from reelkit._files import check_output_file
from reelkit.cli.common import (
    JsonOpt,
    console,
    emit_json,
    err_console,
    print_table,
    progress_for,
    refuse_unused,
)
from reelkit.errors import ConfigError

__all__ = ["register"]

VadChoice = Literal["silero", "webrtc", "none"]


def _pathlike(arg: str) -> bool:
    """Whether a command-line word names a file (one that exists, or with an extension or a folder in it),
    not a subcommand."""
    return Path(arg).exists() or bool(Path(arg).suffix) or "/" in arg or os.sep in arg


def _value_options(params: Any) -> set[str]:
    """The option names of ``params`` that take a value (typer ships its own copy of click: no isinstance
    checks)."""
    return {
        opt
        for p in params
        if getattr(p, "param_type_name", "") == "option" and not getattr(p, "is_flag", False)
        for opt in p.opts
    }


class _FileOrCommandGroup(TyperGroup):
    """``loudness FILE [OPTIONS]`` measures; ``loudness normalize FILE ...`` runs the subcommand.

    The file is taken out of the arguments before click parses them (a group's own positional argument would
    otherwise swallow the subcommand's name) and handed to the callback through ``ctx.meta``.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        own = {opt for p in self.params for opt in getattr(p, "opts", [])}
        sub = {
            opt: name
            for name, cmd in self.commands.items()
            for p in cmd.params
            for opt in getattr(p, "opts", [])
            if opt not in own
        }
        # options that take a value: the group's, and a subcommand's given here, whose value is no FILE
        # ("-o out.wav")
        subs_params = [p for cmd in self.commands.values() for p in cmd.params]
        takes_value = _value_options(self.params) | (_value_options(subs_params) - own)
        rest = list(args)
        i = 0
        while i < len(rest):
            tok = rest[i]
            if tok == "--":
                if i + 1 < len(rest):
                    ctx.meta["loudness_file"] = rest.pop(i + 1)
                rest.pop(i)
                break
            if tok.startswith("-"):
                i += 2 if tok in takes_value else 1
                continue
            if tok not in self.commands:
                ctx.meta["loudness_file"] = rest.pop(i)
            break
        file = ctx.meta.get("loudness_file")
        measuring = file is not None or not any(a in self.commands for a in rest)
        j = 0
        while measuring and j < len(rest) and rest[j] != "--" and not ctx.resilient_parsing:
            opt = rest[j].partition("=")[0]
            if opt in sub:  # click said only "No such option: -o"
                shown = shlex.quote(file) if file is not None else "FILE"
                ctx.fail(
                    f"{opt} is an option of 'loudness {sub[opt]}': reelkit loudness {sub[opt]} {shown} {opt} "
                    "... (reelkit loudness FILE only measures)"
                )
            j += 2 if rest[j] in takes_value else 1
        return super().parse_args(ctx, rest)

    def resolve_command(self, ctx: Any, args: list[str]) -> tuple[str | None, Any, list[str]]:
        # a file after the file is no subcommand: click said "No such command 'b.wav'" to a second file, and
        # to "loudness measure a.wav" (there is no such subcommand: the file comes first)
        name, file = args[0], ctx.meta.get("loudness_file")
        if name not in self.commands and file is not None and not ctx.resilient_parsing and _pathlike(name):
            path = shlex.quote(name)
            near = get_close_matches(file, list(self.commands), n=1)
            if _pathlike(file):
                message = (
                    f"loudness measures one FILE at a time: reelkit loudness {shlex.quote(file)}, then "
                    f"reelkit loudness {path} (to normalise one: reelkit loudness normalize FILE -o OUT)"
                )
            elif near:  # a subcommand mistyped
                message = f"No such command {file!r}. Did you mean: reelkit loudness {near[0]} {path} ...?"
            else:
                message = (
                    f"No such command {file!r}: measure with reelkit loudness {path} (no subcommand), or "
                    f"normalise with reelkit loudness normalize {path} -o OUT"
                )
            ctx.fail(message)
        return super().resolve_command(ctx, args)

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        formatter.write_usage(
            ctx.command_path, "FILE [--json] [--vad silero|webrtc|none] | normalize FILE -o OUT ..."
        )


loudness_app = typer.Typer(
    cls=_FileOrCommandGroup,
    invoke_without_command=True,
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="Measure loudness (BS.1770-4 / EBU R128): 'reelkit loudness FILE'; or normalise a file: "
    "'reelkit loudness normalize FILE -o OUT --target -24 --true-peak -2'.",
)


def _fmt(v: Any, unit: str) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    return f"{v:.2f} {unit}".strip()


def _check_vad(vad: str) -> None:
    if vad not in ("silero", "webrtc", "none"):
        raise ConfigError(f"--vad {vad!r}: choose silero, webrtc or none")


StreamOpt = Annotated[
    int, typer.Option("--stream", min=0, help="Which audio stream of a file with several (0: the first).")
]


@loudness_app.callback()
def loudness_cmd(
    ctx: typer.Context,
    vad: Annotated[
        str, typer.Option("--vad", help="Speech detector for dialogue loudness: silero, webrtc or none.")
    ] = "silero",
    stream: StreamOpt = 0,
    json_out: JsonOpt = False,
) -> None:
    """Integrated loudness, loudness range, true and sample peak, max momentary and short-term loudness,
    dialogue loudness and the share of speech of an audio or video FILE.

    'dialogue_lufs' is the dialogue's own loudness (the bed under it subtracted); the table also shows
    the dialogue-gated loudness of the mix, which delivery specs check and 'normalize --reference dialogue'
    sets."""
    if ctx.invoked_subcommand is not None:
        refuse_unused(  # a group option before the subcommand was ignored by it
            ctx,
            "the measurement",
            "stream",
            "vad",
            fix=f"give it after the subcommand: reelkit loudness {ctx.invoked_subcommand} FILE ...",
        )
        if "loudness_file" in ctx.meta:
            raise ConfigError(
                f"give the file after the subcommand: reelkit loudness {ctx.invoked_subcommand} FILE ..."
            )
        return
    file = ctx.meta.get("loudness_file")
    if file is None:  # on stderr, as a bare group's help: stdout carries only results (--json's JSON)
        err_console.print(ctx.get_help(), highlight=False, markup=False)
        raise typer.Exit(2)
    _check_vad(vad)
    from reelkit.post.audio import LEAD_IN_MIN_S, read_audio
    from reelkit.post.loudness import Meter
    from reelkit.post.qc import measure_soundtrack

    speech = None if vad == "none" else vad
    with progress_for(not json_out) as progress, progress.task(f"loudness {Path(file).name}", total=2) as bar:
        audio = read_audio(
            Path(file), stream=stream, on_timeline=True
        )  # its duration as 'reelkit qc' gives it
        bar.advance()
        try:
            result = measure_soundtrack(audio, Meter(speech=speech))  # type: ignore[arg-type]
        except ConfigError as exc:  # about the programme (its sample rate, ...): name the file
            raise ConfigError(f"{file}: {exc}") from None
    if audio.streams > 1:
        err_console.print(
            f"note: {file} has {audio.streams} audio streams; this is stream {audio.stream} (--stream N)",
            highlight=False,
            markup=False,
        )
    if audio.start_s >= LEAD_IN_MIN_S:
        err_console.print(
            f"note: {file}'s soundtrack starts {audio.start_s:.3f} s into the programme; measured from its "
            "start, its times on the programme's timeline",
            highlight=False,
            markup=False,
        )
    summary = result.summary()
    notes = list(result.notes)
    if not math.isfinite(result.integrated_lufs):  # every figure n/a: why, in 'reelkit qc''s words
        why = result.no_loudness_note()
        said = any(n.startswith("no loudness") or ("400 ms" in why and "400 ms" in n) for n in notes)
        if not said:  # the meter's own note says why already (a clip under 400 ms, an LFE track alone)
            notes.append(why)
    if json_out:  # the notes say what the figures leave out (channels 9+, a clip under 400 ms)
        emit_json({**summary, "notes": notes})
        return
    units = {
        "integrated_lufs": "LUFS",
        "lra_lu": "LU",
        "true_peak_dbtp": "dBTP",
        "sample_peak_dbfs": "dBFS",
        "momentary_max_lufs": "LUFS",
        "short_term_max_lufs": "LUFS",
        "dialogue_lufs": "LUFS",
        "speech_fraction": "",
        "dialogue_gated_lufs": "LUFS",
    }
    rows = [(k, _fmt(v, units[k])) for k, v in summary.items()]
    print_table(
        f"loudness of {file} ({audio.channels} ch, {audio.sample_rate} Hz, {audio.duration_s:.1f} s)",
        ["measure", "value"],
        rows,
    )
    for note in notes:
        console.print(f"note: {note}", highlight=False, markup=False)


@loudness_app.command("normalize")
def normalize_cmd(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="Audio (or video) file to normalise; a video written as .mkv/.mp4/.mov keeps its picture, "
            "subtitles and other soundtracks (one soundtrack replaced: --stream); written as .mka/.m4a, "
            "its other soundtracks."
        ),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the normalised audio.")],
    target: Annotated[float, typer.Option("--target", help="Target loudness in LUFS.")] = -24.0,
    true_peak: Annotated[
        float,
        typer.Option(
            "--true-peak",
            help="True-peak ceiling in dBTP. The limiter aims 0.2 dB under it on a 16x peak estimate, so "
            "that other compliant meters read under it too (that estimate is made within 6 dB of the "
            "ceiling: a dense master near it takes longest, up to about 30 s a minute of stereo).",
        ),
    ] = -2.0,
    reference: Annotated[
        str,
        typer.Option(
            "--reference",
            help="What the target applies to: integrated, or dialogue (the dialogue-gated loudness of the "
            "mix, which delivery specs such as Netflix's measure: 'dialogue_gated_lufs' in 'reelkit qc').",
        ),
    ] = "integrated",
    vad: Annotated[
        str, typer.Option("--vad", help="Speech detector of --reference dialogue: silero or webrtc.")
    ] = "silero",
    stream: StreamOpt = 0,
    json_out: JsonOpt = False,
) -> None:
    """Gain FILE to --target (with a look-ahead true-peak limiter when the gain would pass --true-peak)
    and write OUT (WAV/FLAC 24-bit, other formats through ffmpeg), atomically."""
    if reference not in ("integrated", "dialogue"):
        raise ConfigError(f"--reference {reference!r}: choose integrated or dialogue")
    if reference == "integrated":
        refuse_unused(ctx, "--reference dialogue", "vad")
    elif vad not in ("silero", "webrtc"):
        raise ConfigError(f"--vad {vad!r}: --reference dialogue needs a speech detector: silero or webrtc")
    from reelkit.post.normalize import normalize_file

    with progress_for(not json_out) as progress:
        result = normalize_file(
            file,
            out,
            target_lufs=target,
            true_peak_dbtp=true_peak,
            reference=reference,  # type: ignore[arg-type]
            stream=stream,
            speech=vad,  # type: ignore[arg-type]
            progress=progress,
        )
    if json_out:
        emit_json(result.to_dict())
        return
    console.print(
        f"{file}: {result.input_lufs:.1f} -> {result.output_lufs:.1f} LUFS (gain {result.gain_db:+.1f} dB), "
        f"true peak {result.output_true_peak_dbtp:.1f} dBTP"
        + (f", limited by up to {result.max_reduction_db:.1f} dB" if result.limited else "")
        + f" -> {out}"
        + (f" (measured as written, {result.encode_passes} encodes)" if result.encode_passes > 1 else ""),
        highlight=False,
        markup=False,
    )
    if result.output_true_peak_dbtp > result.true_peak_ceiling_dbtp:
        console.print(
            f"note: the encoder left the true peak at {result.output_true_peak_dbtp:.2f} dBTP, over the "
            f"{result.true_peak_ceiling_dbtp:g} dBTP ceiling; write WAV/FLAC, or give a lower --true-peak",
            highlight=False,
            markup=False,
        )


def qc_cmd(
    media: Annotated[
        Path,
        typer.Argument(
            help="Audio file, or video file with a soundtrack, to check (picture alone: reelkit video qc)."
        ),
    ],
    subs: Annotated[Path | None, typer.Option("--subs", help="Subtitle file to check with it.")] = None,
    encoding: Annotated[
        str | None,
        typer.Option("--encoding", help="Text encoding of the --subs file (detected by default)."),
    ] = None,
    spec: Annotated[
        str, typer.Option("--spec", help="Delivery spec: netflix, ebu-r128 or atsc-a85.")
    ] = "ebu-r128",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Write the HTML report here.")] = None,
    vad: Annotated[
        str, typer.Option("--vad", help="Speech detector: silero, webrtc or none (no dialogue checks).")
    ] = "silero",
    no_video: Annotated[bool, typer.Option("--no-video", help="Skip the video checks.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when any finding is an error.")] = False,
    stream: StreamOpt = 0,
    json_out: JsonOpt = False,
) -> None:
    """Quality control of a deliverable: loudness against the spec, clipping, silences, channel problems,
    subtitle timing (--subs) and video findings; an HTML report with -o."""
    from reelkit.post.findings import timecode
    from reelkit.post.qc import QCOptions, get_spec, run_qc, write_report

    sp = get_spec(spec)
    _check_vad(vad)
    if out is not None:  # before the (long) QC, not after it
        check_output_file(out, ConfigError, "report.html", inputs=[media, subs])
    opts = QCOptions(vad=vad, video=not no_video, subs_encoding=encoding)  # type: ignore[arg-type]
    with progress_for(not json_out) as progress:
        report = run_qc(
            media, subs=subs, spec=sp, options=opts, progress=progress, plot=out is not None, stream=stream
        )
    if out is not None:
        write_report(report, out)
    data = report.to_dict()
    if out is not None:
        data["report"] = str(out)
    if json_out:
        emit_json(data)
    else:
        counts = data["counts"]
        verdict = "PASS" if report.passed else "FAIL"
        console.print(
            f"{verdict} against {sp.title}: {counts['error']} error(s), {counts['warning']} warning(s)",
            highlight=False,
            markup=False,
        )
        print_table(
            "findings",
            ["start", "end", "severity", "kind", "message"],
            [
                (
                    f["timecode"],
                    "" if f["end_s"] is None else timecode(f["end_s"]),  # as the start: HH:MM:SS.mmm
                    f["severity"],
                    f["kind"],
                    f["message"],
                )
                for f in data["findings"]
            ],
        )
        for note in report.notes:
            console.print(f"note: {note}", highlight=False, markup=False)
        if out is not None:
            console.print(f"report -> {out}", highlight=False, markup=False)
    if strict and not report.passed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``loudness`` (with ``normalize``) and ``qc`` to the root app."""
    app.add_typer(loudness_app, name="loudness")
    app.command("qc")(qc_cmd)
