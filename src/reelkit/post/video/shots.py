"""Shot-based encoding (Netflix's dynamic optimizer): shots, per-shot hulls, a Lagrangian choice per shot.

1. Shots: ffmpeg's scene score (``select='gt(scene,T)'`` + ``showinfo``) marks cuts; shots shorter than
   ``min_shot_s`` are merged into the one before.
2. Every shot is encoded over the resolution x CRF grid and scored with VMAF against the same frames of the
   source (:mod:`reelkit.post.video.encode`, cached). Each shot keeps its convex hull.
3. The whole title's quality is the frame-weighted mean of shot VMAFs; its size the sum of shot sizes. For a
   slope ``λ`` every shot independently takes the hull point maximising ``frames·VMAF − λ·bits``; all shots
   then sit at the same rate-quality trade-off, which is optimal for the total (Everett's theorem). The
   title's bitrate falls as ``λ`` rises, so :func:`optimize` finds by bisection the smallest ``λ`` that meets
   a bitrate budget, or the largest that still meets a quality target.
4. A shot-based ladder: for each resolution, the title-level operating points of every ``λ`` (all shots at
   that resolution, so a rung is one resolution and a valid DASH representation); their upper hull across
   resolutions; rungs by the same :class:`~reelkit.post.video.ladder.RungRule`; each rung assembled by joining
   its shots' encodes and scored again as a whole.
"""

from __future__ import annotations

import itertools
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from reelkit.errors import ConfigError, InfeasibleError, MediaError
from reelkit.executor import Executor
from reelkit.media import probe, run_ffmpeg
from reelkit.post.video.encode import EncodeSpec, packet_bytes
from reelkit.post.video.ladder import (
    DEFAULT_CRFS,
    DEFAULT_HEIGHTS,
    Ladder,
    RDPoint,
    RungRule,
    convex_hull,
    finish_ladder,
    grid_sizes,
    quality_spec,
    run_encodes,
    select_rungs,
)
from reelkit.post.video.quality import count_frames, measure_quality
from reelkit.progress import SILENT, Progress

__all__ = [
    "Allocation",
    "Shot",
    "ShotOption",
    "detect_shots",
    "lagrangian_choice",
    "operating_points",
    "optimize",
    "per_shot_ladder",
]


@dataclass(frozen=True)
class Shot:
    """Frames ``start_frame .. end_frame - 1`` of the source."""

    index: int
    start_frame: int
    end_frame: int
    start_s: float
    end_s: float

    @property
    def frames(self) -> int:
        return self.end_frame - self.start_frame


_SHOWINFO = re.compile(r"Parsed_showinfo.*?\bn:\s*\d+\s+pts:\s*-?\d+\s+pts_time:\s*(-?[\d.]+)")


def detect_shots(path: str | Path, *, threshold: float = 0.3, min_shot_s: float = 0.5) -> list[Shot]:
    """Shots of ``path`` from ffmpeg's scene-change score (cuts where it exceeds ``threshold``)."""
    if not 0 < threshold < 1:
        raise ConfigError("the scene threshold must lie in (0, 1)")
    info = probe(path)
    if not info.video:
        raise MediaError("has no video stream", path=str(path))
    fps = info.video[0].fps or 25.0
    total = count_frames(path)
    proc = run_ffmpeg(
        [
            "-i",
            str(path),
            "-map",
            "0:v:0",
            "-an",
            "-vf",
            f"select='gt(scene\\,{threshold})',showinfo",
            "-f",
            "null",
            "-",
        ],
        what=f"shot detection in {path}",
    )
    cuts = sorted({round(float(t) * fps) for t in _SHOWINFO.findall(proc.stderr.decode("utf-8", "replace"))})
    bounds = [0]
    for c in cuts:
        if c - bounds[-1] >= min_shot_s * fps and total - c >= min_shot_s * fps:
            bounds.append(c)
    bounds.append(total)
    return [Shot(i, a, b, a / fps, b / fps) for i, (a, b) in enumerate(itertools.pairwise(bounds))]


@dataclass(frozen=True)
class ShotOption:
    """One way to encode a shot: its size in bits and its mean VMAF (over ``frames`` frames)."""

    bits: float
    vmaf: float
    frames: int
    ref: Any = None


@dataclass(frozen=True)
class Allocation:
    """The options chosen per shot and the title's totals."""

    choice: tuple[ShotOption, ...]
    lam: float
    bits: float
    frames: int
    vmaf: float
    duration_s: float

    @property
    def bitrate_kbps(self) -> float:
        return self.bits / self.duration_s / 1000.0


def _hull(options: Sequence[ShotOption]) -> list[ShotOption]:
    return [p.ref for p in convex_hull([RDPoint(o.bits, o.vmaf, o) for o in options])]


def lagrangian_choice(shots: Sequence[Sequence[ShotOption]], lam: float) -> list[ShotOption]:
    """Per shot, the option maximising ``frames·VMAF − lam·bits`` (ties: fewer bits)."""
    out = []
    for opts in shots:
        if not opts:
            raise ConfigError("a shot has no encode options")
        out.append(max(opts, key=lambda o: (o.frames * o.vmaf - lam * o.bits, -o.bits)))
    return out


def _alloc(choice: Sequence[ShotOption], lam: float, fps: float) -> Allocation:
    frames = sum(o.frames for o in choice)
    bits = sum(o.bits for o in choice)
    vmaf = sum(o.frames * o.vmaf for o in choice) / frames
    return Allocation(tuple(choice), lam, bits, frames, vmaf, frames / fps)


def _lambdas(hulls: Sequence[Sequence[ShotOption]]) -> list[float]:
    """One λ inside each interval between the hulls' segment slopes (where some shot's choice changes), from 0
    to above the steepest slope, rising. Between two slopes the choice is unique, so no tie (and no rounding
    at a slope) can hide a solution: these λ give every distinct Lagrangian allocation."""
    s = {0.0}
    for h in hulls:
        for a, b in itertools.pairwise(h):
            s.add((b.frames * b.vmaf - a.frames * a.vmaf) / (b.bits - a.bits))
    slopes = sorted(s)
    mids = [(x + y) / 2 for x, y in itertools.pairwise(slopes)]
    return [0.0, *mids, slopes[-1] * 2 + 1.0]


def optimize(
    shots: Sequence[Sequence[ShotOption]],
    *,
    fps: float,
    target_kbps: float | None = None,
    target_vmaf: float | None = None,
) -> Allocation:
    """The Lagrangian allocation that meets ``target_kbps`` (most quality within the budget) or
    ``target_vmaf`` (fewest bits reaching it) for the whole title.

    Only hull points can be chosen, so the choice changes only at the hulls' segment slopes: the bisection
    runs over one λ between each two slopes and is exact among Lagrangian solutions. Raises
    :class:`InfeasibleError` when even the cheapest (best) choice misses the budget (target).
    """
    if (target_kbps is None) == (target_vmaf is None):
        raise ConfigError("give exactly one of target_kbps and target_vmaf")
    hulls = [_hull(o) for o in shots]
    lams = _lambdas(hulls)  # the last, above every slope, picks each shot's cheapest hull point

    def at(i: int) -> Allocation:
        return _alloc(lagrangian_choice(hulls, lams[i]), lams[i], fps)

    lo, hi = 0, len(lams) - 1  # bitrate falls and quality falls as the index rises
    if target_kbps is not None:
        if at(hi).bitrate_kbps > target_kbps + 1e-9:
            raise InfeasibleError(
                f"even the cheapest encodes need {at(hi).bitrate_kbps:.1f} kbps, over the budget of "
                f"{target_kbps} kbps"
            )
        if at(lo).bitrate_kbps <= target_kbps:
            return at(lo)
        while hi - lo > 1:  # invariant: at(lo) over budget, at(hi) within
            mid = (lo + hi) // 2
            if at(mid).bitrate_kbps <= target_kbps:
                hi = mid
            else:
                lo = mid
        return at(hi)
    assert target_vmaf is not None
    if at(lo).vmaf < target_vmaf - 1e-9:
        raise InfeasibleError(
            f"even the best encodes reach VMAF {at(lo).vmaf:.2f} < the target {target_vmaf}"
        )
    if at(hi).vmaf >= target_vmaf:
        return at(hi)
    while hi - lo > 1:  # invariant: at(lo) meets the target, at(hi) does not
        mid = (lo + hi) // 2
        if at(mid).vmaf >= target_vmaf:
            lo = mid
        else:
            hi = mid
    return at(lo)


def operating_points(shots: Sequence[Sequence[ShotOption]], fps: float) -> list[Allocation]:
    """The title-level allocation at every λ where a choice changes (the Lagrangian curve), cheapest last."""
    hulls = [_hull(o) for o in shots]
    lams = _lambdas(hulls)
    seen: dict[tuple[int, ...], Allocation] = {}
    for lam in lams:
        choice = lagrangian_choice(hulls, lam)
        key = tuple(id(c) for c in choice)
        if key not in seen:
            seen[key] = _alloc(choice, lam, fps)
    return list(seen.values())


def _join(parts: Sequence[str], out: Path) -> Path:
    """Join same-size shot encodes (closed GOPs, same settings) with the concat demuxer, no re-encode."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, dir=out.parent) as fh:
        for p in parts:
            fh.write("file '" + str(Path(p).resolve()).replace("'", "'\\''") + "'\n")
        listing = fh.name
    try:
        run_ffmpeg(
            [
                "-v",
                "error",
                "-y",
                "-f",
                "concat",
                "-safe",
                "0",
                "-i",
                listing,
                "-c",
                "copy",
                "-movflags",
                "+faststart",
                str(out),
            ],
            what=f"joining shots into {out.name}",
        )
    finally:
        Path(listing).unlink(missing_ok=True)
    return out


def per_shot_ladder(
    source: str | Path,
    out_dir: str | Path | None = None,
    *,
    heights: Sequence[int] = DEFAULT_HEIGHTS,
    crfs: Sequence[float] = DEFAULT_CRFS,
    codec: Literal["x264", "x265"] = "x264",
    preset: str = "veryfast",
    rule: RungRule | None = None,
    rate_control: Literal["crf", "qp"] = "crf",
    scene_threshold: float = 0.3,
    min_shot_s: float = 0.5,
    compare_fixed: bool = True,
    cache_dir: str | Path | None = None,
    executor: Executor | None = None,
    progress: Progress = SILENT,
    vmaf_subsample: int = 1,
    dash: bool = True,
    work_dir: str | Path | None = None,
) -> Ladder:
    """The shot-based ladder of ``source`` (see the module text). Rung encodes are joined from shot encodes
    and scored again as a whole; those measured numbers are the rungs' (bitrate, VMAF)."""
    info = probe(source)
    if not info.video:
        raise MediaError("has no video stream", path=str(source))
    W, H = info.video[0].width, info.video[0].height
    fps = info.video[0].fps or 25.0
    shots = detect_shots(source, threshold=scene_threshold, min_shot_s=min_shot_s)
    sizes = grid_sizes(W, H, heights)
    total = shots[-1].end_frame

    def spec(s: Shot, w: int, h: int, c: float) -> EncodeSpec:
        # a shot that is the whole title is the title's own encode (shared with per-title mode's cache)
        whole = s.start_frame == 0 and s.end_frame == total
        a, b = (None, None) if whole else (s.start_frame, s.end_frame)
        return quality_spec(w, h, c, rate_control, codec, preset, a, b)

    specs = [spec(s, w, h, c) for s in shots for w, h in sizes for c in crfs]
    kw: dict[str, Any] = {
        "display": (W, H),
        "cache_dir": cache_dir,
        "executor": executor,
        "progress": progress,
        "vmaf_subsample": vmaf_subsample,
    }
    results = run_encodes(source, specs, description=f"per-shot candidates ({len(shots)} shots)", **kw)
    by_key = {
        (r.spec.start_frame or 0, r.spec.width, r.spec.height, r.spec.quality_param): r for r in results
    }

    # title-level operating points per resolution, then their hull across resolutions
    candidates: list[RDPoint] = []
    for w, h in sizes:
        options = [
            [
                ShotOption(r.bits, r.vmaf, r.frames, r)
                for c in crfs
                if (r := by_key[(s.start_frame, w, h, float(c))])
            ]
            for s in shots
        ]
        for a in operating_points(options, fps):
            candidates.append(RDPoint(a.bitrate_kbps, a.vmaf, {"width": w, "height": h, "allocation": a}))
    hull = convex_hull(candidates)
    planned = select_rungs(hull, rule or RungRule())

    # assemble each rung from its shots and score it as a whole
    cache = Path(cache_dir) if cache_dir is not None else None
    assemble_dir = (
        Path(work_dir) if work_dir is not None else (cache or Path(tempfile.mkdtemp())) / "assembled"
    )
    assemble_dir.mkdir(parents=True, exist_ok=True)
    rungs: list[RDPoint] = []
    for p in planned:
        alloc: Allocation = p.ref["allocation"]
        parts = [o.ref.path for o in alloc.choice]
        crf_list = [o.ref.spec.quality_param for o in alloc.choice]
        name = f"{Path(source).stem}_{p.ref['width']}x{p.ref['height']}_" + "-".join(
            f"{c:g}" for c in crf_list
        )
        joined = _join(parts, assemble_dir / f"{name}.mp4")
        nbytes, frames = packet_bytes(joined)
        if frames != total:  # detect_shots ends the last shot at the source's frame count
            raise MediaError(f"joined shots have {frames} frames, the source {total}", path=None)
        q = measure_quality(
            source, joined, models=("vmaf",), features=(), width=W, height=H, subsample=vmaf_subsample
        )
        rate = 8 * nbytes / (frames / fps) / 1000.0
        rungs.append(
            RDPoint(
                rate,
                q.vmaf,
                {
                    "width": p.ref["width"],
                    "height": p.ref["height"],
                    "path": str(joined),
                    f"shot_{rate_control}s": crf_list,
                    "planned_kbps": round(p.rate, 2),
                    "planned_vmaf": round(p.quality, 3),
                },
            )
        )
    shot_rows = [
        {"index": s.index, "start_s": s.start_s, "end_s": s.end_s, "frames": s.frames} for s in shots
    ]
    ladder = Ladder(str(source), W, H, "shot", results, hull, rungs, extra={"shots": shot_rows})
    return finish_ladder(
        ladder, source, codec, preset, compare_fixed=compare_fixed, out_dir=out_dir, dash=dash, **kw
    )
