"""``reelkit subs sync MEDIA SUBS -o OUT`` and ``reelkit subs check SUBS``."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from reelkit.cli.common import JsonOpt, console, emit_json, err_console, print_table, progress_for
from reelkit.errors import ConfigError, SyncRefusedError

__all__ = ["group", "register"]

group = typer.Typer(
    help="Subtitles: synchronise to the speech in the media (or to a reference file), check timing rules.",
    no_args_is_help=True,
)

EncodingOpt = Annotated[
    str | None,
    typer.Option(
        "--encoding",
        help="Text encoding of SUBS (detected by default; a byte-order mark in the file wins over it).",
    ),
]
RefEncodingOpt = Annotated[
    str | None,
    typer.Option("--reference-encoding", help="Text encoding of --reference (detected by default)."),
]


@group.command("sync")
def sync_cmd(
    media: Annotated[
        str, typer.Argument(help="Media file whose audio the subtitles follow ('-' with --reference only).")
    ],
    subs: Annotated[Path, typer.Argument(help="Subtitle file to fix (SRT, WebVTT, ASS/SSA, TTML, ...).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the synchronised file.")],
    reference: Annotated[
        Path | None,
        typer.Option("--reference", help="A well-timed subtitle file to align to instead of the audio."),
    ] = None,
    vad: Annotated[
        Literal["silero", "webrtc"], typer.Option("--vad", help="Voice-activity detector for the audio.")
    ] = "silero",
    stream: Annotated[
        int | None,
        typer.Option(
            "--stream",
            min=0,
            help="Which audio stream of MEDIA to follow (0: the first). Default: the one flagged default, "
            "else the first.",
        ),
    ] = None,
    max_offset: Annotated[
        float | None,
        typer.Option(
            "--max-offset",
            help="Largest offset, seconds: of the whole file (with splits, of at least one segment; the "
            "breaks between segments add to the others). Default: max(60, media/2).",
        ),
    ] = None,
    no_splits: Annotated[bool, typer.Option("--no-splits", help="One offset for the whole file.")] = False,
    no_scale: Annotated[
        bool, typer.Option("--no-scale", help="Do not search frame-rate ratios or scales.")
    ] = False,
    split_penalty: Annotated[
        float, typer.Option("--split-penalty", help="Score (seconds) a split must gain to be made.")
    ] = 6.0,
    min_confidence: Annotated[
        float, typer.Option("--min-confidence", help="Refuse (exit 3, nothing written) below this.")
    ] = 0.5,
    encoding: EncodingOpt = None,
    reference_encoding: RefEncodingOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Fit SUBS to the speech in MEDIA (offset, frame-rate scale, splits) and write OUT.

    Exit status 3 when the fit is not trustworthy; OUT is then not written.
    """
    from reelkit.post.subs import SyncOptions, load_subtitles, sync_subtitles, write_synced
    from reelkit.post.subs.io import check_output_path, check_writable, picture_fps
    from reelkit.post.subs.sync import FRAME_RATIOS

    check_output_path(out, inputs=[media, subs, reference])  # before the (long) fit, not after it
    for name, value, ok, want in (
        ("--max-offset", max_offset, max_offset is None or 0 < max_offset < math.inf, "more than 0 seconds"),
        ("--split-penalty", split_penalty, 0 <= split_penalty < math.inf, "0 seconds or more"),
        ("--min-confidence", min_confidence, 0 <= min_confidence <= 1, "from 0 to 1"),
    ):
        if not ok:
            raise ConfigError(f"{name} must be {want}; got {value}")

    if stream is not None and reference is not None:
        raise ConfigError("--stream picks the audio to follow; with --reference no audio is read: give one")
    opts = SyncOptions(
        vad=vad,
        stream=stream,
        max_offset_s=max_offset,
        ratios=(1.0,) if no_scale else FRAME_RATIOS,
        fine_scale=not no_scale,
        splits=not no_splits,
        split_penalty=split_penalty,
        min_confidence=min_confidence,
    )
    media_arg: Any = None if media == "-" else media
    # a MicroDVD file without a frame-rate line counts the picture's frames (and is written back in them)
    fps = picture_fps(media_arg) if media_arg is not None else None
    sub = load_subtitles(subs, encoding=encoding, fps=fps)
    check_writable(sub, out)  # SAMI, or an SRT to out.vtt: refused now, not after the fit
    # the reference is its own file: SUBS's --encoding does not apply to it (a UTF-16 reference read as
    # cp1250 had "no SRT cues")
    ref_file = None
    if reference is not None:
        ref_file = load_subtitles(reference, encoding=reference_encoding, fps=fps)
    for note in sub.notes:  # how it was read (an assumed frame rate)
        err_console.print(f"note: {subs}: {note}", highlight=False, markup=False)
    if media_arg is None and reference is None:
        raise ConfigError("MEDIA '-' needs --reference REF (a well-timed subtitle file)")
    if reference is not None and media_arg is not None:
        from reelkit.media import probe

        probe(media_arg)  # the media must exist and be readable; its audio is not needed
        media_arg = None
    try:
        with progress_for(not json_out) as progress:
            result = sync_subtitles(media_arg, sub, reference=ref_file, options=opts, progress=progress)
    except SyncRefusedError as exc:
        if json_out:
            emit_json({"refused": True, "confidence": exc.confidence, "message": str(exc)})
        raise
    clamped = write_synced(sub, result, out)
    payload = result.to_dict()
    payload["output"] = str(out)
    payload["clamped_cues"] = [
        {
            "cue": c.index + 1,
            "start_s": round(c.start_s, 3),
            "end_s": round(c.end_s, 3),
            "text": c.text,
            "hidden": c.end_s <= 0,  # written 0-length at 0: not shown
        }
        for c in clamped
    ]
    if json_out:
        emit_json(payload)
        return
    rows: list[tuple[str, Any]] = [
        ("offset (s)", f"{result.offset_s:+.3f}"),
        ("scale", f"{result.scale:.6f}"),
        ("splits", ", ".join(f"{s.at_s:.2f} s -> {s.offset_s:+.3f}" for s in result.splits) or "none"),
        ("confidence", f"{result.confidence:.2f}"),
        ("cue time over speech", f"{100 * result.agreement_before:.0f}% -> {100 * result.agreement:.0f}%"),
        ("written", str(out) + (" (unchanged copy)" if result.unchanged else "")),
    ]
    print_table("subtitle sync", ["", "value"], rows)
    for note in result.notes:
        err_console.print(f"note: {note}", highlight=False, markup=False)
    started = [c for c in clamped if c.end_s > 0]
    hidden = [c for c in clamped if c.end_s <= 0]
    if started:
        err_console.print(
            f"note: {len(started)} cue(s) started before zero and now start at 0: "
            + ", ".join(str(c.index + 1) for c in started[:20]),
            highlight=False,
            markup=False,
        )
    if hidden:
        err_console.print(
            f"note: {len(hidden)} cue(s) ended before zero and are now 0-length at 0 (not shown; remove or "
            "re-time them): " + ", ".join(str(c.index + 1) for c in hidden[:20]),
            highlight=False,
            markup=False,
        )


@group.command("check")
def check_cmd(
    subs: Annotated[Path, typer.Argument(help="Subtitle file to check.")],
    media: Annotated[
        Path | None, typer.Option("--media", help="The media, to flag cues past its end.")
    ] = None,
    fps: Annotated[
        float | None,
        typer.Option(
            "--fps",
            help="Frame rate of the picture: for the minimum gap (2 frames), and the frames of a MicroDVD "
            "file without a frame-rate line. Default: the --media's, else 24 (MicroDVD: 23.976).",
        ),
    ] = None,
    max_cps: Annotated[float, typer.Option("--max-cps", help="Reading speed limit.")] = 17.0,
    max_chars: Annotated[int, typer.Option("--max-chars", help="Characters per line.")] = 42,
    max_lines: Annotated[int, typer.Option("--max-lines", help="Lines per cue.")] = 2,
    encoding: EncodingOpt = None,
    strict: Annotated[bool, typer.Option("--strict", help="Exit 1 when any finding is an error.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Check timing and layout rules (Netflix Timed Text Style Guide defaults)."""
    from reelkit.post.findings import timecode
    from reelkit.post.subs import SubtitleRules, check_subtitles, load_subtitles

    # the options by their names (the rules' own check names its fields: 'subtitle rule max_cps')
    for flag, value in (("--max-cps", max_cps), ("--fps", fps)):
        if value is not None and not 0 < value < math.inf:
            raise ConfigError(f"{flag} must be a positive, finite number; got {value:g}")
    for flag, count in (("--max-chars", max_chars), ("--max-lines", max_lines)):
        if count < 1:
            raise ConfigError(f"{flag} must be at least 1; got {count}")
    duration = None
    media_fps = None
    if media is not None:
        from reelkit.media import probe

        info = probe(media)
        if info.duration_s is None or not (info.audio or info.video):
            from reelkit.errors import MediaError

            raise MediaError("no audio or video of a known length to check the cues against", path=str(media))
        duration = info.duration_s
        media_fps = info.picture_fps
    # the gap rule counts frames of the picture the cues go with: --fps, else the media's rate
    rate = fps if fps is not None else media_fps or 24.0
    rules = SubtitleRules(fps=rate, max_cps=max_cps, max_line_chars=max_chars, max_lines=max_lines)
    # a MicroDVD file without a frame-rate line counts the picture's frames: --fps, else the media's
    sub = load_subtitles(subs, encoding=encoding, fps=fps if fps is not None else media_fps)
    findings = check_subtitles(sub, media_duration_s=duration, rules=rules)
    notes = list(sub.notes)
    if json_out:
        emit_json(
            {
                "file": str(subs),
                "format": sub.format,
                "encoding": sub.encoding,
                "cues": len(sub.cues),
                "findings": [f.to_dict() for f in findings],
                "counts": {k: sum(f.severity == k for f in findings) for k in ("error", "warning", "info")},
                "notes": notes,
            }
        )
    else:
        console.print(
            f"{subs}: {len(sub.cues)} cue{'s' * (len(sub.cues) != 1)}, {sub.format}, {sub.encoding}",
            highlight=False,
            markup=False,
        )
        for note in notes:  # how the file was read (an assumed frame rate, times before zero)
            console.print(f"note: {note}", highlight=False, markup=False)
        if not findings:
            console.print("no problems found")
        else:
            print_table(
                "findings",
                ["time", "severity", "kind", "message"],
                [(timecode(f.start_s), f.severity, f.kind, f.message) for f in findings],
            )
    if strict and any(f.severity == "error" for f in findings):  # a CI gate, as qc --strict
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add the ``subs`` group to the root app."""
    app.add_typer(group, name="subs")
