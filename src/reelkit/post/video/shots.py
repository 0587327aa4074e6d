"""Shot-based encoding (Netflix's dynamic optimizer): shots, per-shot hulls, a Lagrangian choice per shot.

1. Shots: ffmpeg's scene score (``select='gt(scene,T)'`` + ``showinfo``) marks cuts; shots shorter than
   ``min_shot_s`` are merged into the one before (a short first shot into the one after).
2. Every shot is encoded over the resolution x CRF (or QP) grid and scored with VMAF against the same frames
   of the source, scaled to the display (source) size (:mod:`reelkit.post.video.encode`, cached). Each shot
   keeps its convex hull **across all resolutions** (Netflix's dynamic optimizer: a shot's best encode at a
   given rate may be at any resolution).
3. The whole title's quality is the frame-weighted mean of shot VMAFs; its size the sum of shot sizes. For a
   slope ``λ`` every shot independently takes the hull point maximising ``frames·VMAF − λ·bits``; all shots
   then sit at the same rate-quality trade-off, which is optimal for the total (Everett's theorem). The
   title's bitrate falls as ``λ`` rises, so :func:`optimize` finds by bisection the smallest ``λ`` that meets
   a bitrate budget, or the largest that still meets a quality target.
4. A shot-based ladder: the title-level operating points of every ``λ`` (:func:`operating_points`), rungs
   by the same :class:`~reelkit.post.video.ladder.RungRule`. With ``resolution="shot"`` (the default, the
   dynamic optimizer) each shot of a rung has its own resolution; with ``"rung"`` (the constrained variant)
   the points are computed per resolution, all shots of a rung at that one, and hulled across resolutions.
5. Each rung is a real deliverable, measured as a whole (:func:`assemble_rung`): the shot encodes are
   joined without re-encoding, their parameter sets in band (SPS/PPS before every IDR frame, ``avc3``/``hev1``
   sample entry) so they, and the size, can change at a shot boundary, and VMAF is measured on
   every frame of the joined file against the source (whatever the candidates were scored on), every frame
   scaled to the display size. Its DASH representation
   declares the largest shot size and the ``avc3``/``hev1`` codec string of its most demanding shot
   (:func:`reelkit.post.video.ladder.declare_in_band`).
6. Whole-title fallback (``title_fallback``, on by default): every whole-title encode of the grid is
   offered too, as an allocation of one "shot" that spans the title. Shot encodes pay for their splits (a
   rate-control restart at every cut; 1-4% more bits on four similar shots of ``bikes``), so where the
   shots are alike the split does not pay for itself. There a rung is the whole-title encode, and the
   shot-based ladder is no worse than the per-title one. These encodes start a closed GOP at every cut
   (``EncodeSpec.cuts``), as the shot encodes do, so that every rung of the ladder has its keyframes, and
   so its DASH segments, at the same frames; they are not the per-title mode's candidates (whose GOPs run
   every 2 s from the first frame) and are encoded apart from them.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from reelkit._files import atomic_write_text, read_keyed_json
from reelkit.errors import ConfigError, InfeasibleError, MediaError
from reelkit.executor import Executor, LocalExecutor
from reelkit.media import check_picture, probe, run_ffmpeg
from reelkit.post.video.codecs import joined_codec_string
from reelkit.post.video.encode import EncodeResult, EncodeSpec, default_cache_dir, packet_bytes
from reelkit.post.video.ladder import (
    DEFAULT_CRFS,
    DEFAULT_HEIGHTS,
    Ladder,
    RDPoint,
    RungRule,
    check_ladder_inputs,
    convex_hull,
    finish_ladder,
    grid_sizes,
    leaves_no_new_empty_folder,
    quality_spec,
    run_encodes,
    select_rungs,
)
from reelkit.post.video.quality import frames_output, measure_quality
from reelkit.progress import SILENT, Progress

__all__ = [
    "Allocation",
    "AssembledRung",
    "Shot",
    "ShotOption",
    "assemble_rung",
    "detect_shots",
    "join_shots",
    "lagrangian_choice",
    "operating_points",
    "optimize",
    "per_shot_ladder",
    "shot_options",
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
    check_picture(info)
    fps = float(info.video[0].rate or 25)  # exact: 23.98 for 24000/1001 put a cut 1 frame late per 4 min
    # one decode gives both: the frames shown (the first output's count; an edit list may hide packets,
    # so packets are not counted) and the cuts among them (a second output of the same frames, which
    # always passes the first frame: ffmpeg fails a run where one of two outputs gets no frame)
    proc = run_ffmpeg(
        [
            "-i",
            str(path),
            "-filter_complex",
            f"[0:V:0]split[all][cut];[cut]select='eq(n\\,0)+gt(scene\\,{threshold})',showinfo[cuts]",
            "-map",
            "[all]",
            "-f",
            "null",
            "-",
            "-map",
            "[cuts]",
            "-f",
            "null",
            "-",
        ],
        what=f"shot detection in {path}",
    )
    err = proc.stderr.decode("utf-8", "replace")
    total = frames_output(err, path)
    # times from the first frame's (a video starting after its audio, or a first frame stamped 0.04 s
    # behind B-frames, put every cut that many frames late)
    times = [float(t) for t in _SHOWINFO.findall(err)]
    cuts = sorted({round((t - times[0]) * fps) for t in times[1:]})
    # a shot under min_shot_s joins the one before it: its own cut is dropped and the cut after it kept
    # (an insert of a few frames kept its cut and lost the next one: the keyframe on the insert, none at
    # the real shot after it). From the last shot back, so that a short shot joined by a short one after
    # it is judged on both; the first shot, with none before it, joins the one after
    shortest = min_shot_s * fps
    bounds = [0, *(c for c in cuts if 0 < c < total), total]
    for i in range(len(bounds) - 2, 0, -1):
        if bounds[i + 1] - bounds[i] < shortest:
            del bounds[i]
    if len(bounds) > 2 and bounds[1] < shortest:
        del bounds[1]
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


#: codec -> (bitstream filters that put the parameter sets in band, sample entry that allows them to change).
#: libx265 (unlike libx264, which sends its options SEI with the first frame) puts its options SEI, about
#: 2 KB of text, into the ``hvcC`` next to VPS/SPS/PPS, so ``hevc_mp4toannexb`` would repeat it before every
#: IDR frame (~9 kbps at 2 s GOPs): ``filter_units`` drops the prefix SEI NAL units again (reelkit's x265
#: encodes carry no other prefix SEI: 8-bit SDR, no HRD, no recovery points).
_IN_BAND = {
    "x264": ("h264_mp4toannexb", "avc3"),
    "x265": ("hevc_mp4toannexb,filter_units=remove_types=39", "hev1"),
}


def _concat(parts: Sequence[str | Path], out: Path, extra: Sequence[str] = ()) -> None:
    """Join encodes with ffmpeg's concat demuxer, no re-encode (``extra``: output options)."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False, dir=out.parent) as fh:
        for p in parts:
            fh.write("file '" + str(Path(p).resolve()).replace("'", "'\\''") + "'\n")
        listing = fh.name
    try:
        run_ffmpeg(
            [
                *("-v", "error", "-y", "-f", "concat", "-safe", "0", "-auto_convert", "0", "-i", listing),
                *("-c", "copy", *extra, "-movflags", "+faststart", str(out)),
            ],
            what=f"joining shots into {out.name}",
        )
    finally:
        Path(listing).unlink(missing_ok=True)


def join_shots(
    parts: Sequence[str | Path], out: str | Path, *, codec: Literal["x264", "x265"] = "x264"
) -> Path:
    """Join shot encodes (closed GOPs, each starting with an IDR frame) into one stream, no re-encode.

    Each part first gets its parameter sets in band (``h264_mp4toannexb``/``hevc_mp4toannexb``:
    (VPS/)SPS/PPS before every IDR frame, without x265's options SEI, see ``_IN_BAND``); the parts are
    then joined with the ``avc3``/``hev1`` sample entry, which lets the parameter sets change at a shot
    boundary. They do even at one size (x264's PPS carries the initial QP, so shots at different CRFs/QPs
    have different PPSs), and with them the resolution: a decoder (ffmpeg's, a DASH/MSE player's) re-reads
    them at the shot's IDR frame. (Joined with the first part's ``avcC`` alone, shots at another CRF decode
    as garbage.)
    """
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.stem + ".part.mp4")
    bsf, tag = _IN_BAND[codec]
    with tempfile.TemporaryDirectory(prefix="reelkit-join-", dir=target.parent) as tmp:
        in_band = []
        for i, p in enumerate(parts):
            q = Path(tmp) / f"part{i:03d}.mp4"
            run_ffmpeg(
                [
                    *("-v", "error", "-y", "-i", str(p), "-map", "0:V:0", "-c", "copy"),
                    *("-bsf:v", bsf, "-tag:v", tag, str(q)),
                ],
                what=f"putting the parameter sets of {Path(p).name} in band",
            )
            in_band.append(q)
        try:
            _concat(in_band, partial, ("-tag:v", tag))
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    os.replace(partial, target)
    return target


@dataclass(frozen=True)
class AssembledRung:
    """A shot-based rung joined into one stream and measured as a whole (or per shot, when asked)."""

    path: str
    bits: int
    frames: int
    bitrate_kbps: float
    vmaf: float
    mixed: bool
    measured: Literal["joined", "per-shot"]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def assemble_rung(
    source: str | Path,
    alloc: Allocation,
    out: str | Path,
    *,
    display: tuple[int, int],
    fps: float,
    codec: Literal["x264", "x265"] = "x264",
    vmaf_subsample: int = 1,
    measure: Literal["joined", "per-shot"] = "joined",
) -> AssembledRung:
    """Join an allocation's shot encodes into ``out`` and measure it: bits from the joined file's packets and
    VMAF of the whole file against ``source`` at ``display`` size (``measure="joined"``, the deliverable as a
    viewer gets it, cached next to ``out`` as JSON), or the sum of the shots' bits and their frame-weighted
    VMAF (``"per-shot"``). Raises :class:`MediaError` when the joined stream does not decode frame for
    frame."""
    encs = [o.ref for o in alloc.choice]
    sizes = {(e.spec.width, e.spec.height) for e in encs}
    mixed = len(sizes) > 1
    target = Path(out)
    if measure == "per-shot":  # the allocation's own totals (shot bits summed, VMAF frame-weighted)
        bits, rate = int(alloc.bits), alloc.bitrate_kbps
        return AssembledRung("", bits, alloc.frames, rate, alloc.vmaf, mixed, "per-shot")
    meta = target.with_suffix(".json")
    join = 2 if codec == "x264" else 3  # x265's joins from before 3 repeat its options SEI at every IDR
    parts = [e.path for e in encs]
    key = {"parts": parts, "display": list(display), "subsample": vmaf_subsample, "join": join}
    cached = read_keyed_json(meta, key) if target.exists() else None
    if cached is not None:
        try:
            return AssembledRung(**cached["rung"])
        except (TypeError, KeyError):
            pass  # a damaged entry is redone
    join_shots([e.path for e in encs], target, codec=codec)
    nbytes, packets = packet_bytes(target)
    expected = sum(e.frames for e in encs)
    if packets != expected:
        raise MediaError(f"the joined shots have {packets} frames, the shots {expected}", path=str(target))
    q = measure_quality(
        source,
        target,
        models=("vmaf",),
        features=(),
        width=display[0],
        height=display[1],
        subsample=vmaf_subsample,
        variable_size=mixed,
    )
    scored = -(-expected // vmaf_subsample)
    if len(q.frame_numbers) != scored:  # every frame decoded and scored, across every size change
        raise MediaError(
            f"libvmaf scored {len(q.frame_numbers)} frames of the joined rung, expected {scored}",
            path=str(target),
        )
    rung = AssembledRung(
        str(target), 8 * nbytes, packets, 8 * nbytes / (packets / fps) / 1000.0, q.vmaf, mixed, "joined"
    )
    atomic_write_text(meta, json.dumps({"key": key, "rung": rung.to_dict()}))
    return rung


@dataclass(frozen=True)
class _AssembleTask:
    source: str
    alloc: Allocation
    out: str
    display: tuple[int, int]
    fps: float
    codec: Literal["x264", "x265"]
    vmaf_subsample: int
    measure: Literal["joined", "per-shot"]


def _assemble(t: _AssembleTask) -> AssembledRung:
    return assemble_rung(
        t.source,
        t.alloc,
        t.out,
        display=t.display,
        fps=t.fps,
        codec=t.codec,
        vmaf_subsample=t.vmaf_subsample,
        measure=t.measure,
    )


def shot_options(
    shots: Sequence[Shot],
    results: Sequence[EncodeResult],
    sizes: Sequence[tuple[int, int]] | None = None,
) -> list[list[ShotOption]]:
    """Per shot, its encodes as options (only those at ``sizes`` when given: every size when ``None``)."""
    out: list[list[ShotOption]] = [[] for _ in shots]
    index = {s.start_frame: i for i, s in enumerate(shots)}
    for r in results:
        if sizes is not None and (r.spec.width, r.spec.height) not in sizes:
            continue
        i = index.get(r.spec.start_frame or 0)
        if i is not None:
            out[i].append(ShotOption(r.bits, r.vmaf, r.frames, r))
    return out


@leaves_no_new_empty_folder
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
    resolution: Literal["shot", "rung"] = "shot",
    measure: Literal["joined", "per-shot"] = "joined",
    scene_threshold: float = 0.3,
    min_shot_s: float = 0.5,
    compare_fixed: bool = True,
    cache_dir: str | Path | None = None,
    executor: Executor | None = None,
    progress: Progress = SILENT,
    vmaf_subsample: int = 1,
    dash: bool = True,
    work_dir: str | Path | None = None,
    title_fallback: bool = True,
) -> Ladder:
    """The shot-based ladder of ``source`` (see the module text).

    ``resolution="shot"`` (the dynamic optimizer): every shot picks its own (resolution, CRF/QP) from its
    hull over all resolutions, so a rung may change size at a shot boundary (joined with in-band parameter
    sets, :func:`join_shots`). ``"rung"``: all shots of a rung share one resolution (the constrained variant).
    Rungs are joined from the shot encodes and measured again as a whole (:func:`assemble_rung`); those
    measured numbers are the rungs' (bitrate, VMAF). ``title_fallback``: also offer the whole-title encodes
    (module text, item 6)."""
    if resolution not in ("shot", "rung"):
        raise ConfigError(f"shot resolution {resolution!r}: use shot (per shot) or rung (one per rung)")
    if measure not in ("joined", "per-shot"):
        raise ConfigError(f"measure {measure!r}: use joined or per-shot")
    stream = check_ladder_inputs(
        source,
        codec=codec,
        preset=preset,
        compare_fixed=compare_fixed,
        vmaf_subsample=vmaf_subsample,
        out_dir=out_dir,
        dash=dash,
    )
    W, H = stream.width, stream.height
    fps = float(stream.rate or 25)
    shots = detect_shots(source, threshold=scene_threshold, min_shot_s=min_shot_s)
    sizes = grid_sizes(W, H, heights)
    total = shots[-1].end_frame

    def spec(s: Shot, w: int, h: int, c: float) -> EncodeSpec:
        # a shot that is the whole title is the title's own encode (shared with per-title mode's cache)
        whole = s.start_frame == 0 and s.end_frame == total
        a, b = (None, None) if whole else (s.start_frame, s.end_frame)
        return quality_spec(w, h, c, rate_control, codec, preset, a, b)

    specs = [spec(s, w, h, c) for s in shots for w, h in sizes for c in crfs]
    whole = title_fallback and len(shots) > 1
    if whole:  # the per-title grid, with an IDR frame at every cut (so its segments align with split rungs')
        cuts = tuple(s.start_frame for s in shots[1:])
        specs += [
            replace(quality_spec(w, h, c, rate_control, codec, preset), cuts=cuts)
            for w, h in sizes
            for c in crfs
        ]
    kw: dict[str, Any] = {
        "display": (W, H),
        "cache_dir": cache_dir,
        "executor": executor,
        "progress": progress,
        "vmaf_subsample": vmaf_subsample,
    }
    results = run_encodes(source, specs, description=f"per-shot candidates ({len(shots)} shots)", **kw)

    # title-level operating points (the Lagrangian curve), per resolution or across them all
    n_split = len(shots) * len(sizes) * len(crfs)
    split, titles = results[:n_split], results[n_split:]
    candidates: list[RDPoint] = []
    for group in [None] if resolution == "shot" else [[sz] for sz in sizes]:
        for a in operating_points(shot_options(shots, split, group), fps):
            candidates.append(RDPoint(a.bitrate_kbps, a.vmaf, a))
    for r in titles:  # each whole-title encode as a one-"shot" allocation
        a = _alloc([ShotOption(r.bits, r.vmaf, r.frames, r)], float("nan"), fps)
        candidates.append(RDPoint(a.bitrate_kbps, a.vmaf, a))
    hull = convex_hull(candidates)
    planned = select_rungs(hull, rule or RungRule())

    # joined rungs are kept with the encodes they are made of (the default cache too), so a rerun joins and
    # scores none of them again; every path a task carries is absolute (a worker may run in another folder)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    assemble_dir = (Path(work_dir) if work_dir is not None else cache / "assembled").resolve()
    src = str(Path(source).resolve())
    tasks = []
    for p in planned:
        tag = hashlib.sha256("|".join(o.ref.path for o in p.ref.choice).encode()).hexdigest()[:16]
        out = assemble_dir / f"{Path(source).stem}_{tag}.mp4"
        # a joined rung is what ships: scored on every frame whatever the candidates were scored on
        tasks.append(_AssembleTask(src, p.ref, str(out), (W, H), fps, codec, 1, measure))
    ex = executor or LocalExecutor(kind="thread")
    assembled = ex.map(_assemble, tasks, progress=progress, description="joining and scoring rungs")
    rungs: list[RDPoint] = []
    for p, measured in zip(planned, assembled, strict=True):
        alloc: Allocation = p.ref
        encs = [o.ref for o in alloc.choice]
        if measured.frames != total:  # detect_shots ends the last shot at the source's frame count
            raise MediaError(f"joined shots have {measured.frames} frames, the source {total}", path=None)
        # the rung declares its most demanding shot: the largest size, the highest profile and level
        w, h = max(((e.spec.width, e.spec.height) for e in encs), key=lambda s: s[0] * s[1])
        joined = measured.measured == "joined"
        codecs = joined_codec_string([e.path for e in encs], codec) if joined else None
        rungs.append(
            RDPoint(
                measured.bitrate_kbps,
                measured.vmaf,
                {
                    "width": w,  # the largest shot size: what a manifest declares for the rung
                    "height": h,
                    "path": measured.path or None,
                    "mixed_resolution": measured.mixed,
                    "in_band_parameter_sets": measured.measured == "joined",
                    "codecs": codecs,
                    "measured": measured.measured,
                    "whole_title": whole and len(encs) == 1,
                    "shot_sizes": [f"{e.spec.width}x{e.spec.height}" for e in encs],
                    f"shot_{rate_control}s": [e.spec.quality_param for e in encs],
                    "planned_kbps": round(p.rate, 2),
                    "planned_vmaf": round(p.quality, 3),
                },
            )
        )
    shot_rows = [
        {"index": s.index, "start_s": s.start_s, "end_s": s.end_s, "frames": s.frames} for s in shots
    ]
    extra = {
        "shots": shot_rows,
        "shot_resolution": resolution,
        "rung_measure": measure,
        "title_fallback": whole,
    }
    ladder = Ladder(str(source), W, H, "shot", results, hull, rungs, extra=extra)
    return finish_ladder(
        ladder,
        source,
        codec,
        preset,
        compare_fixed=compare_fixed,
        out_dir=out_dir,
        dash=dash and measure == "joined",
        **kw,
    )
