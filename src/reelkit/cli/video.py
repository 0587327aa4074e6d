"""The ``reelkit video`` command group: ``quality``, ``ladder`` and ``qc``."""

from __future__ import annotations

import dataclasses
import math
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from reelkit._files import check_output_file
from reelkit.cli.common import (
    EXECUTOR_ENV,
    JsonOpt,
    check_folder,
    console,
    emit_json,
    err_console,
    executor_for,
    print_table,
    progress_for,
)
from reelkit.errors import ConfigError

__all__ = ["group", "register"]

group = typer.Typer(
    help="Video: quality (VMAF, PSNR, SSIM), per-title and shot-based ladders, QC.", no_args_is_help=True
)


def _floats(text: str, what: str) -> list[float]:
    try:
        out = [float(t) for t in text.split(",") if t.strip()]
    except ValueError as exc:
        raise ConfigError(f"{what}: give comma-separated numbers, e.g. 22,28,34") from exc
    if not out:
        raise ConfigError(f"{what}: give at least one number")
    return out


def _heights(text: str) -> list[int]:
    out = _floats(text, "--heights")
    bad = [h for h in out if not math.isfinite(h) or h != int(h) or h < 2]
    if bad:
        raise ConfigError(
            f"--heights: {bad[0]:g} is not a height in lines (whole numbers >= 2, e.g. 720,360)"
        )
    return [int(h) for h in out]


def _quality_grid(text: str, rate_control: str) -> list[float]:
    from reelkit.post.video.encode import QUALITY_RANGE

    lo, hi = QUALITY_RANGE
    out = _floats(text, "--crf")
    bad = [q for q in out if not lo <= q <= hi]
    if bad:
        raise ConfigError(
            f"--crf: {rate_control.upper()} {bad[0]:g} is outside x264/x265's range {lo:g}-{hi:g}"
        )
    fractional = [q for q in out if rate_control == "qp" and q != int(q)]
    if fractional:  # ffmpeg rounds a QP to an integer in silence (a CRF may be fractional)
        q = fractional[0]
        raise ConfigError(
            f"--crf: QP {q:g} is not a whole number; x264/x265 take an integer QP (e.g. {round(q)}), "
            "or use --rate-control crf for a fractional setting"
        )
    return out


def _display_size(text: str) -> tuple[int, int]:
    """``--display WxH`` as two even numbers of pixels (4:2:0 pictures have whole chroma samples)."""
    m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", text)
    if m is None:
        raise ConfigError(f"--display {text!r}: give the width and height in pixels, e.g. 1920x1080")
    w, h = int(m.group(1)), int(m.group(2))
    if not (2 <= w <= 16384 and 2 <= h <= 16384) or w % 2 or h % 2:
        raise ConfigError(f"--display {text}: give even sizes from 2 to 16384 pixels, e.g. 1920x1080")
    return w, h


def _raw_video(text: str) -> Any:
    """``--yuv WxH[:PIX_FMT[:FPS]]`` as a :class:`~reelkit.post.video.quality.RawVideo`."""
    from fractions import Fraction

    from reelkit.media import frame_rate
    from reelkit.post.video.quality import RawVideo

    parts = text.split(":")
    m = re.fullmatch(r"\s*(\d+)\s*[xX×]\s*(\d+)\s*", parts[0])
    if m is None or len(parts) > 3:
        raise ConfigError(f"--yuv {text!r}: give WxH[:PIX_FMT[:FPS]], e.g. 1920x1080:yuv420p:24000/1001")
    pix_fmt = parts[1].strip() if len(parts) > 1 and parts[1].strip() else "yuv420p"
    fps = Fraction(24)
    if len(parts) > 2:
        try:
            fps = Fraction(parts[2].strip()) if "/" in parts[2] else frame_rate(float(parts[2]))
        except (ValueError, ZeroDivisionError, OverflowError):
            raise ConfigError(
                f"--yuv {text!r}: the frame rate {parts[2]!r} is not a number (24, 25, 24000/1001)"
            ) from None
    try:
        return RawVideo(int(m.group(1)), int(m.group(2)), pix_fmt, fps)
    except ConfigError as exc:
        raise ConfigError(f"--yuv {text}: {exc}") from None


@group.command("quality")
def quality_cmd(
    reference: Annotated[Path, typer.Argument(help="Reference (source) video.")],
    distorted: Annotated[Path, typer.Argument(help="Distorted (encoded) video.")],
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model", help="VMAF model (repeatable): vmaf (vmaf_v0.6.1), vmaf_neg, vmaf_phone, vmaf_4k."
        ),
    ] = None,
    align: Annotated[
        bool,
        typer.Option(
            "--align",
            help="Compare videos of different frame rates or frame counts: the distorted video is resampled "
            "to the reference's rate and the frames both have, from the first of each, are scored (a note "
            "says how many of the reference's were left out).",
        ),
    ] = False,
    subsample: Annotated[
        int, typer.Option("--subsample", min=1, max=10_000, help="Score every n-th frame.")
    ] = 1,
    threads: Annotated[int, typer.Option("--threads", min=1, max=256, help="libvmaf threads.")] = 2,
    per_frame: Annotated[
        Path | None, typer.Option("--per-frame", help="Per-frame JSON (default: DIST.quality.json).")
    ] = None,
    display: Annotated[
        str | None,
        typer.Option(
            "--display",
            metavar="WxH",
            help="Score at this display size (e.g. 1920x1080): both videos are scaled to it (bicubic), as "
            "a rung is scored at the player's size. Default: the reference's size.",
        ),
    ] = None,
    yuv: Annotated[
        str | None,
        typer.Option(
            "--yuv",
            metavar="WxH[:PIX_FMT[:FPS]]",
            help="How to read a headerless .yuv input (REF or DIST named *.yuv), as libvmaf's -w -h -p: "
            "picture size, pixel format (default yuv420p; also yuv422p, yuv444p, their 10le/12le forms, "
            "gray) and frame rate (24000/1001 or 23.976; default: the other video's, else 24).",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Score DIST against REF: VMAF (libvmaf), PSNR-Y, SSIM, MS-SSIM, per frame and pooled.

    DIST is scaled (bicubic) to REF's size, also when its size changes mid-stream. All scores are libvmaf's:
    PSNR is its psnr feature (capped at 60 dB for 8-bit video, so identical frames score 60), pooled as the
    mean of the per-frame PSNR (not the PSNR of the mean error); ssim is its float_ssim, ms_ssim its
    float_ms_ssim. VMAF of identical files is about 97-100, not exactly 100 (vmaf_v0.6.1's prediction for a
    perfect copy varies with the clip's content). The frames must match one for one unless --align is given.
    """
    from reelkit.errors import ToolError
    from reelkit.media import probe
    from reelkit.post.video.quality import (
        FrameMismatchError,
        QualityResult,
        StreamChangeError,
        measure_quality,
        model_name,
    )

    models = tuple(dict.fromkeys(model_name(m) for m in model or ["vmaf"]))
    # before the scoring pass: the per-frame file may not replace either video, and its folder must exist
    try:
        path = check_output_file(
            per_frame or distorted.with_name(distorted.name + ".quality.json"),
            ConfigError,
            "scores.json",
            inputs=[reference, distorted],
        )
    except ConfigError as exc:
        if per_frame is not None:
            raise
        # the default place, beside the distorted video: say how to choose another
        raise ConfigError(
            f"{exc} (the per-frame scores go beside the distorted video; give --per-frame FILE)"
        ) from None
    size = _display_size(display) if display is not None else None
    raw = _raw_video(yuv) if yuv is not None else None
    is_yuv = [p.suffix.lower() == ".yuv" for p in (reference, distorted)]
    if raw is None and any(is_yuv):
        name = (reference, distorted)[is_yuv.index(True)].name
        raise ConfigError(
            f"{name} is raw video with no header: give its size and format with --yuv WxH:PIX_FMT:FPS"
        )
    if raw is not None and not any(is_yuv):
        raise ConfigError("--yuv is for inputs named *.yuv, and neither REF nor DIST is one")
    if raw is not None and yuv is not None and yuv.count(":") < 2 and not all(is_yuv):
        # no rate given: the other video's (libvmaf's tool pairs frames by index; a default of 24 against
        # a 25 fps encode was refused as a PAL speed-up)
        other = distorted if is_yuv[0] else reference
        other_video = probe(other).video
        if other_video and other_video[0].rate:
            raw = dataclasses.replace(raw, fps=other_video[0].rate)
    raw_ref, raw_dis = (raw if y else None for y in is_yuv)
    features = ["psnr", "ssim", "ms_ssim"]
    notes: list[str] = []  # what the figures leave out, and why
    ref_video = probe(reference, input_args=raw_ref.input_args() if raw_ref else ()).video
    scored = size or ((ref_video[0].width, ref_video[0].height) if ref_video else None)
    if scored is not None and min(scored) < 176:
        features.remove("ms_ssim")  # MS-SSIM's five scales need 176 lines; reported as null
        what = "the display size" if size else reference.name
        notes.append(
            f"no MS-SSIM (null): it needs a picture of at least 176x176 for its five scales, and "
            f"{what} is {scored[0]}x{scored[1]}"
        )

    def score(variable_size: bool) -> QualityResult:
        with progress_for(sys.stderr.isatty()) as progress:
            return measure_quality(
                reference,
                distorted,
                models=models,
                features=features,
                align=align,
                subsample=subsample,
                threads=threads,
                variable_size=variable_size,
                width=size[0] if size else None,
                height=size[1] if size else None,
                progress=progress,
                raw_reference=raw_ref,
                raw_distorted=raw_dis,
            )

    try:
        try:
            res = score(False)
        except (StreamChangeError, ToolError) as exc:
            if isinstance(exc, ToolError) and "must match" not in str(exc):
                raise
            # a distorted video whose size changes mid-stream (joined segments): scored again with every
            # frame scaled to the display size (only then: that scaling can change a pair's colour range)
            res = score(True)
            notes.append(
                f"{distorted.name} changes picture size mid-stream: every frame was scaled to "
                f"{res.width}x{res.height} (bicubic)"
            )
    except FrameMismatchError as exc:  # the library's advice names its keyword argument
        raise FrameMismatchError(str(exc).replace("pass align=True", "pass --align")) from None
    notes += res.notes
    res.write_per_frame(path)
    out: dict[str, Any] = {
        "vmaf": res.vmaf,
        "psnr_y": res.psnr_y,
        "psnr_yuv": res.psnr_yuv,
        "ssim": res.ssim,
        "ms_ssim": res.ms_ssim,
        "frames": res.frames,
        "width": res.width,  # the size scored at: the reference's, or --display
        "height": res.height,
        "frames_scored": len(res.frame_numbers),  # fewer than frames with --subsample
        "reference_frames": res.reference_frames,
        "distorted_frames": res.distorted_frames,
        "per_frame": str(path),
        "models": {m: res.mean(m) for m in models},
        "pooled": {k: p.to_dict() for k, p in res.pooled.items()},
        "notes": notes,
    }
    if json_out:
        emit_json(out)
        return
    for note in notes:
        err_console.print(f"note: {note}", highlight=False, markup=False)
    rows = [[k, p.mean, p.harmonic_mean, p.p5, p.min, p.max] for k, p in res.pooled.items()]
    print_table(
        f"{distorted.name} vs {reference.name}: {res.frames} frames at {res.width}x{res.height}",
        ["metric", "mean", "harmonic mean", "5th pct", "min", "max"],
        rows,
    )
    console.print(f"per-frame scores: {path}")


@group.command("ladder")
def ladder_cmd(
    input: Annotated[Path, typer.Argument(help="Source video (the mezzanine).")],
    out_dir: Annotated[
        Path, typer.Option("-o", "--out", help="Folder for ladder.json, encodes, DASH, plot.")
    ],
    codec: Annotated[str, typer.Option("--codec", help="x264 or x265.")] = "x264",
    mode: Annotated[
        str, typer.Option("--mode", help="title (per-title) or shot (dynamic optimizer).")
    ] = "title",
    crf: Annotated[
        str, typer.Option("--crf", help="CRF (or QP: whole numbers) grid, comma-separated.")
    ] = "20,24,28,32,36,40",
    heights: Annotated[
        str,
        typer.Option(
            "--heights",
            help="Resolution grid (heights: lines of the short side, so a portrait source's widths; those "
            "above the source's are skipped, and the source's own is always in the grid).",
        ),
    ] = "1080,720,540,432,360,288,240",
    shot_resolution: Annotated[
        str,
        typer.Option(
            "--shot-resolution",
            help="Shot mode: each shot picks its own resolution (shot, the dynamic optimizer) or all shots "
            "of a rung share one (rung).",
        ),
    ] = "shot",
    title_fallback: Annotated[
        bool,
        typer.Option(
            "--title-fallback/--no-title-fallback",
            help="Shot mode: also offer whole-title encodes (used where splitting into shots does not pay).",
        ),
    ] = True,
    preset: Annotated[str, typer.Option("--preset", help="Encoder preset.")] = "veryfast",
    rate_control: Annotated[
        str, typer.Option("--rate-control", help="Candidates at constant CRF (crf) or constant QP (qp).")
    ] = "crf",
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            help=f"Encodes in parallel (threads); ${EXECUTOR_ENV}=package.module:factory runs them on "
            "another executor instead.",
        ),
    ] = 2,
    cache: Annotated[
        Path | None,
        typer.Option(
            "--cache", help="Encode cache (default $REELKIT_CACHE/video, or ~/.cache/reelkit/video)."
        ),
    ] = None,
    subsample: Annotated[
        int,
        typer.Option(
            "--subsample",
            min=1,
            max=10_000,  # as video quality's: a huge value encoded everything, then failed in libvmaf
            help="Score candidates on every n-th frame (faster; with 2 it samples one phase of x264's P/B "
            "pattern, 0.2-1.3 VMAF high). The rungs and the fixed ladder are always scored on every frame.",
        ),
    ] = 1,
    fixed: Annotated[
        bool,
        typer.Option(
            "--fixed/--no-fixed",
            help="Compare with the HLS fixed ladder: its rungs encoded 1-pass ABR, and (title mode) its rung "
            "sizes over the candidates' CRF/QP grid too, for the ladder's saving at equal rate control.",
        ),
    ] = True,
    dash: Annotated[bool, typer.Option("--dash/--no-dash", help="Write a DASH manifest.")] = True,
    json_out: JsonOpt = False,
) -> None:
    """Build a per-title (or shot-based) ladder: candidates, hull, rungs, BD-rate vs the fixed ladder."""
    from reelkit.post.video.ladder import Ladder, per_title_ladder
    from reelkit.post.video.shots import per_shot_ladder

    if codec not in ("x264", "x265"):
        raise ConfigError(f"--codec {codec!r}: use x264 or x265")
    if mode not in ("title", "shot"):
        raise ConfigError(f"--mode {mode!r}: use title or shot")
    if mode == "title":  # the shot-mode options were ignored in silence
        changed = [
            opt
            for opt, given in (
                (f"--shot-resolution {shot_resolution}", shot_resolution != "shot"),
                ("--no-title-fallback", not title_fallback),
            )
            if given
        ]
        if changed:
            raise ConfigError(f"{', '.join(changed)}: only with --mode shot; drop it or add --mode shot")
    if shot_resolution not in ("shot", "rung"):
        raise ConfigError(f"--shot-resolution {shot_resolution!r}: use shot or rung")
    if rate_control not in ("crf", "qp"):
        raise ConfigError(f"--rate-control {rate_control!r}: use crf or qp")
    executor = executor_for(workers, "thread")  # ffmpeg runs in subprocesses: threads suffice
    if subsample < 1:
        raise ConfigError("--subsample must be at least 1 (score every n-th frame)")
    from reelkit.media import X264_PRESETS

    if preset not in X264_PRESETS:
        raise ConfigError(f"--preset {preset!r}: use one of {', '.join(X264_PRESETS)}")
    grid_heights, grid_q = _heights(heights), _quality_grid(crf, rate_control)
    if cache is not None:
        check_folder(cache, "--cache", "the encodes")
    build: Any = per_title_ladder
    extra: dict[str, Any] = {}
    if mode == "shot":
        build, extra = per_shot_ladder, {"resolution": shot_resolution, "title_fallback": title_fallback}
    with progress_for(sys.stderr.isatty()) as progress:
        ladder: Ladder = build(
            input,
            out_dir,
            heights=grid_heights,
            crfs=grid_q,
            codec=codec,
            preset=preset,
            rate_control=rate_control,
            compare_fixed=fixed,
            cache_dir=cache,
            executor=executor,
            progress=progress,
            vmaf_subsample=subsample,
            dash=dash,
            **extra,
        )
    rungs = [{k: r[k] for k in ("width", "height", "bitrate_kbps", "vmaf")} for r in ladder.rung_rows()]
    out: dict[str, Any] = {
        "rungs": rungs,
        "bd_rate_vs_fixed": ladder.bd_rate_vs_fixed,
        "bd_rate_hull_vs_fixed": ladder.bd_rate_hull_vs_fixed,
        # the VMAF ranges those two integrate over (a figure over a narrow range says little)
        "bd_rate_vmaf_range": ladder.extra.get("bd_rate_vmaf_range"),
        "bd_rate_hull_vmaf_range": ladder.extra.get("bd_rate_hull_vmaf_range"),
        **({"bd_rate_note": ladder.extra["bd_rate_note"]} if "bd_rate_note" in ladder.extra else {}),
        # the same fixed ladder at the candidates' own rate control (per-title mode): the ladder's saving
        # alone, without the part that is CRF/QP against the fixed rungs' capped 1-pass ABR
        **{
            k: ladder.extra[k]
            for k in ("bd_rate_vs_fixed_same_rc", "bd_rate_hull_vs_fixed_same_rc")
            if k in ladder.extra
        },
        "mode": mode,
        "ladder": str(out_dir / "ladder.json"),
    }
    if json_out:
        emit_json(out)
        return
    print_table(
        f"{mode} ladder of {input.name}",
        ["width", "height", "kbps", "VMAF"],
        [[r["width"], r["height"], r["bitrate_kbps"], r["vmaf"]] for r in rungs],
    )
    if ladder.bd_rate_vs_fixed is not None:
        console.print(
            f"BD-rate vs the fixed ladder: {100 * ladder.bd_rate_vs_fixed:+.1f}% (negative: fewer bits)"
        )
        same = ladder.extra.get("bd_rate_vs_fixed_same_rc")
        if same is not None:
            console.print(
                f"  vs the same fixed ladder at this ladder's rate control: {100 * same:+.1f}% (the ladder's "
                "own saving; the rest is CRF/QP against the fixed rungs' 1-pass ABR)"
            )
    elif fixed:
        console.print(
            f"BD-rate vs the fixed ladder: none ({ladder.extra.get('bd_rate_note', 'not computed')})"
        )
    console.print(f"written to {out_dir}")


@group.command("qc")
def qc_cmd(
    input: Annotated[Path, typer.Argument(help="Video file to check.")],
    check: Annotated[
        list[str] | None,
        typer.Option(
            "--check",
            help="Only these checks (repeatable, or comma-separated): black, freeze, letterbox, pillarbox, "
            "interlaced, cut, flash, av_mismatch.",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Black, frozen and flash frames, letterbox/pillarbox, interlacing, cuts and A/V length, with
    timecodes (counted on from the file's own start timecode when it has one, drop-frame included); a file
    cut short (truncated) is always an error."""
    from reelkit.media import picture_rate, probe
    from reelkit.post.findings import timecode
    from reelkit.post.video.qc import KINDS, QCOptions, video_qc

    info = probe(input)
    checks = tuple(c.strip() for given in check or () for c in given.split(",") if c.strip())
    if check and not checks:  # an empty variable in a script ran every check
        raise ConfigError(f"--check {','.join(check)!r} names no check; choose from {', '.join(KINDS)}")
    labels = picture_rate(input, info)  # the rate video_qc labels its messages at, read once
    findings = video_qc(input, QCOptions(checks=checks or KINDS), info=info, rate=labels)
    if json_out:
        fps, first = float(labels[0]) if labels[0] else 25.0, info.start_timecode
        emit_json(
            {
                "start_timecode": first,
                "findings": [
                    # the start as the edit system shows the file: its own timecode, else from 00:00:00:00
                    {**f.to_dict(), "timecode": timecode(f.start_s, fps, first)}
                    for f in findings
                ],
            }
        )
        return
    print_table(
        f"video QC of {input.name}: {len(findings)} findings",
        ["kind", "start s", "end s", "severity", "message"],
        [[f.kind, f.start_s, "" if f.end_s is None else f.end_s, f.severity, f.message] for f in findings],
    )


def register(app: typer.Typer) -> None:
    """Add the ``video`` group to the root app."""
    app.add_typer(group, name="video")
