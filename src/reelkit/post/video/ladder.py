"""Per-title encoding ladders: candidates over a resolution x CRF grid, the convex hull, rungs, BD-rate.

Per-title encoding (Netflix, 2015): encode the title at several resolutions and quality settings, score each
encode with VMAF at the display resolution (the source's), and keep the upper convex hull of the
(bitrate, VMAF) points: the encodes no mix of others beats. The ladder's rungs come from the hull by this rule
(:class:`RungRule`):

1. top rung: the cheapest hull point with VMAF >= ``top_vmaf`` (default 95), else the best hull point;
2. bottom rung: the cheapest hull point with bitrate >= ``min_kbps`` (default 145 kbps, the HLS ladder's
   lowest rung), else the cheapest hull point;
3. rungs in between at quality steps: aim at VMAF levels ``step`` apart (default 6, about one just-noticeable
   difference) going up from the bottom, each the cheapest hull point that reaches the level;
4. a rung closer than ``min_ratio`` (1.3x) in bitrate to the next one up is dropped (the top one stays), and
   at most ``max_rungs`` are kept (evenly spread over the list);
5. a ladder left with one rung (an easy title whose hull points from ``min_kbps`` up are all past
   ``top_vmaf``, or all within ``min_ratio`` of the top) gets the dearest hull point that is ``min_ratio``
   cheaper, below the floor, as a second rung: a player needs somewhere to go down to.

The fixed ladder it is compared with is the H.264 ladder of Apple's HLS authoring specification (16:9), with
rungs above the source's height left out. Both curves are compared by BD-rate at equal VMAF
(:func:`reelkit.post.video.bdrate.bd_rate`).

Candidates may be scored on every n-th frame (``vmaf_subsample``) to save time, but what ships is scored on
every frame: the finished rungs and the fixed ladder's encodes are scored again on all frames
(:func:`rescore_every_frame`; shot-based rungs are scored on every frame when they are joined) before
their BD-rate is taken. Every 2nd frame samples one phase of x264's alternating P/B frames and read 0.2-1.3
VMAF high in our runs, by different amounts for different encodes.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import math
import os
import re
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from fnmatch import fnmatch
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal, ParamSpec, TypeVar

import numpy as np

from reelkit._files import (
    atomic_path,
    atomic_write_text,
    read_keyed_json,
    recover_folder,
    resolve_path,
    swap_in_folder,
)
from reelkit._mpd import state_segments
from reelkit.errors import ConfigError, MediaError
from reelkit.executor import Executor, LocalExecutor
from reelkit.media import VideoStream, check_picture, local_output, probe, run_ffmpeg
from reelkit.post.video.bdrate import bd_rate
from reelkit.post.video.codecs import hevc_codec_string
from reelkit.post.video.encode import (
    EncodeResult,
    EncodeSpec,
    EncodeTask,
    clear_dead_encodes,
    default_cache_dir,
    encode_and_score,
    file_hash,
    video_packets,
)
from reelkit.post.video.quality import VMAF_MIN_SIDE, Pooled, measure_quality
from reelkit.progress import SILENT, Progress

__all__ = [
    "DEFAULT_CRFS",
    "DEFAULT_HEIGHTS",
    "HLS_LADDER",
    "Ladder",
    "RDPoint",
    "RungRule",
    "check_ladder_inputs",
    "convex_hull",
    "declare_in_band",
    "grid_sizes",
    "leaves_no_new_empty_folder",
    "per_title_ladder",
    "plot_curves",
    "rescore_every_frame",
    "select_rungs",
    "write_dash",
]

DEFAULT_HEIGHTS = (1080, 720, 540, 432, 360, 288, 240)
DEFAULT_CRFS = (20.0, 24.0, 28.0, 32.0, 36.0, 40.0)

#: Apple HLS authoring specification, H.264 16:9 ladder: (width, height, kbps)
HLS_LADDER: tuple[tuple[int, int, int], ...] = (
    (416, 234, 145),
    (640, 360, 365),
    (768, 432, 730),
    (768, 432, 1100),
    (960, 540, 2000),
    (1280, 720, 3000),
    (1280, 720, 4500),
    (1920, 1080, 6000),
    (1920, 1080, 7800),
)


@dataclass(frozen=True)
class RDPoint:
    """A rate-quality point; ``rate`` in kbps (or bits), ``quality`` in VMAF; ``ref`` the object behind it."""

    rate: float
    quality: float
    ref: Any = field(default=None, compare=False)


def convex_hull(points: Sequence[RDPoint]) -> list[RDPoint]:
    """Upper convex hull of rate-quality points, by rising rate.

    First the Pareto front (each point better than every cheaper one), then the concave envelope: a point
    below the chord of its neighbours is dropped, so slopes (quality per rate) fall strictly along the hull.
    """
    pts = sorted(points, key=lambda p: (p.rate, -p.quality))
    front: list[RDPoint] = []
    for p in pts:
        if not front or p.quality > front[-1].quality:
            if front and p.rate == front[-1].rate:
                front[-1] = p
            else:
                front.append(p)
    hull: list[RDPoint] = []
    for p in front:
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            # drop b when it lies on or below the chord a -> p
            if (b.quality - a.quality) * (p.rate - a.rate) <= (p.quality - a.quality) * (b.rate - a.rate):
                hull.pop()
            else:
                break
        hull.append(p)
    return hull


@dataclass(frozen=True)
class RungRule:
    """How rungs are picked from the hull (see the module text)."""

    top_vmaf: float = 95.0
    min_kbps: float = 145.0
    step: float = 6.0
    min_ratio: float = 1.3
    max_rungs: int = 8

    def __post_init__(self) -> None:
        if self.step <= 0 or self.min_ratio < 1 or self.max_rungs < 2:
            raise ConfigError("rung rule: step > 0, min_ratio >= 1 and max_rungs >= 2 are required")


def select_rungs(hull: Sequence[RDPoint], rule: RungRule = RungRule()) -> list[RDPoint]:
    """Pick ladder rungs from a hull (by rising rate) with :class:`RungRule`'s stated rule."""
    if not hull:
        return []
    pts = sorted(hull, key=lambda p: p.rate)
    top = next((p for p in pts if p.quality >= rule.top_vmaf), pts[-1])
    below_top = [p for p in pts if p.rate <= top.rate]
    bottom = next((p for p in below_top if p.rate >= rule.min_kbps), below_top[0])
    chosen = [bottom]
    level = bottom.quality + rule.step
    while level < top.quality:
        nxt = next((p for p in below_top if p.quality >= level and p.rate > chosen[-1].rate), None)
        if nxt is None or nxt is top:
            break
        chosen.append(nxt)
        level = nxt.quality + rule.step
    if top is not chosen[-1]:
        chosen.append(top)
    # bitrate spacing, walking down from the top
    spaced = [chosen[-1]]
    for p in reversed(chosen[:-1]):
        if spaced[-1].rate / p.rate >= rule.min_ratio:
            spaced.append(p)
    spaced.reverse()
    if len(spaced) > rule.max_rungs:
        idx = sorted({round(i * (len(spaced) - 1) / (rule.max_rungs - 1)) for i in range(rule.max_rungs)})
        spaced = [spaced[i] for i in idx]
    if len(spaced) == 1:
        lower = [p for p in pts if p.rate * rule.min_ratio <= spaced[0].rate]
        if lower:
            spaced.insert(0, lower[-1])
    return spaced


def _even(x: float, limit: int | None = None) -> int:
    """``x`` rounded to the nearest even number (at least 2); with ``limit`` (the source's side) rounded down
    where rounding up would pass it: a 1279-wide source's full-height rung is 1278 wide, not 1280."""
    out = max(2, round(x / 2.0) * 2)
    return out if limit is None or out <= limit else max(2, limit - limit % 2)


def grid_sizes(width: int, height: int, heights: Sequence[int] = DEFAULT_HEIGHTS) -> list[tuple[int, int]]:
    """Encode sizes: each height of ``heights`` not above the source's (plus the source's own), width by the
    source's aspect ratio, both even and neither above the source's; largest first. As in
    :func:`fixed_ladder_specs`, ``heights`` are line counts of the short side: a portrait source (taller than
    wide) gets each size turned upright (360 is 360x640 of a 1080x1920 source)."""
    if min(width, height) < VMAF_MIN_SIDE:  # the candidates are scored at the source's size
        low = VMAF_MIN_SIDE
        raise ConfigError(f"the source is {width}x{height}: too small for a ladder (at least {low}x{low})")
    odd = [h for h in heights if h % 2]
    if odd:  # x264's 4:2:0 needs even sizes (it was refused as an encode's size, after the folder was made)
        h = odd[0]
        raise ConfigError(f"heights: {h} is odd; 4:2:0 encodes need even sizes (use {h - 1} or {h + 1})")
    short, long_ = min(width, height), max(width, height)
    lines = sorted({h for h in heights if h <= short} | {short - short % 2}, reverse=True)
    sizes = [(_even(long_ * n / short, long_), n) for n in lines]
    return sizes if width >= height else [(n, w) for w, n in sizes]


def fixed_ladder_specs(
    width: int, height: int, codec: Literal["x264", "x265"] = "x264", preset: str = "veryfast"
) -> list[EncodeSpec]:
    """The HLS ladder's rungs not above the source's short side, sized to the source's aspect ratio. The
    ladder's line counts are the short side of the picture: a portrait source (taller than wide) gets each
    rung turned upright (234x416 at 145 kbps), the same pixels at the same rate as the landscape rung."""
    specs = []
    short = min(width, height)
    for _w, lines, kbps in HLS_LADDER:
        if lines <= short:
            if width >= height:
                w, h = _even(width * lines / height, width), lines
            else:
                w, h = lines, _even(height * lines / width, height)
            specs.append(EncodeSpec(w, h, bitrate_kbps=kbps, codec=codec, preset=preset))
    if not specs:
        raise MediaError(
            f"the source ({width}x{height}) is smaller than the fixed ladder's lowest rung (234 lines); "
            "build it without the comparison (--no-fixed, compare_fixed=False)",
            path=None,
        )
    return specs


def _frame_times_vary(source: str | Path) -> bool:
    """Whether the first video stream's frames are not evenly spaced (one stream-copy pass, no decoding):
    a gap over a tenth of the usual interval away from it (a millisecond clock's 41/42 ms is even; 24 and
    30 fps mixed, 41.7 and 33.4 ms, differ by a fifth, which a quarter let through)."""
    gaps = np.diff(sorted(pts for pts, _ in video_packets(source)))
    gaps = gaps[gaps > 0]
    if len(gaps) < 4:
        return False
    usual = float(np.median(gaps))
    return bool(np.any(np.abs(gaps - usual) > max(1.0, 0.1 * usual)))


def check_ladder_inputs(
    source: str | Path,
    *,
    codec: Literal["x264", "x265"],
    preset: str,
    compare_fixed: bool,
    vmaf_subsample: int,
    out_dir: str | Path | None = None,
    dash: bool = True,
) -> VideoStream:
    """The source's video stream, after what would otherwise fail once the candidates are encoded: no video,
    a picture too small for libvmaf, the scoring options, a variable frame rate (frames are paired by index
    at one rate), whether the fixed ladder has a rung the source can fill, and an output folder that cannot
    be written or whose earlier rungs include the source."""
    info = probe(source)
    if not info.video:
        raise MediaError("has no video stream", path=str(source))
    check_picture(info)
    stream = info.video[0]
    width, height = stream.width, stream.height
    if min(width, height) < VMAF_MIN_SIDE:  # found after every candidate was encoded, as a libvmaf crash
        low = f"{VMAF_MIN_SIDE}x{VMAF_MIN_SIDE}"
        raise MediaError(
            f"is {width}x{height}: too small for a ladder (libvmaf scores the candidates at the source's "
            f"size, at least {low}); scale it up first",
            path=str(source),
        )
    if vmaf_subsample < 1:
        raise ConfigError(f"VMAF subsampling {vmaf_subsample} must be >= 1 (every n-th frame)")
    # Matroska keeps no average rate, so ffmpeg's probe shows only the base rate there: its frames' times
    # are read instead (a variable rate was found only after every encode, as a frame-count mismatch)
    matroska = Path(source).suffix.lower() in (".mkv", ".webm")
    if stream.variable_rate or (matroska and _frame_times_vary(source)):
        rate = f"{stream.tbr:g}" if stream.tbr else "25"
        average = f"{stream.fps:g} fps on average, " if stream.variable_rate and stream.fps else ""
        raise MediaError(
            f"has a variable frame rate ({average}base rate {rate}); encode it at a constant rate "
            f"first, e.g. ffmpeg -i IN -fps_mode cfr -r {rate} -c:v libx264 -crf 10 OUT",
            path=str(source),
        )
    if compare_fixed:
        try:
            fixed_ladder_specs(width, height, codec, preset)
        except MediaError as exc:
            raise MediaError(str(exc), path=str(source)) from None
    if out_dir is not None:  # last: a refusal above leaves no empty output folder behind
        prepare_out_dir(source, out_dir, dash=dash)
    return stream


_RUNG_GLOB = "rung*_*x*_*k.mp4"


def _earlier_ladders_dash(out: Path) -> bool:
    """Whether ``out/dash`` is the manifest of an earlier ladder written there (its ``ladder.json`` names
    it), which a new run may replace; anything else there is someone else's (``abr package``'s default)."""
    try:
        return "dash_manifest" in json.loads((out / "ladder.json").read_text())
    except (OSError, ValueError, TypeError):
        return False


def _refuse_foreign_dash(out: Path) -> None:
    if (out / "dash").exists() and not _earlier_ladders_dash(out):
        raise ConfigError(
            f"-o {out}: {out / 'dash'} is not an earlier ladder's (no ladder.json there names it) and this "
            "run writes its DASH manifest there; move it, choose another -o, or give --no-dash"
        )


_P = ParamSpec("_P")
_R = TypeVar("_R")


def leaves_no_new_empty_folder(build: Callable[_P, _R]) -> Callable[_P, _R]:
    """A ladder run that fails after it made its output folder (a refusal of the height grid, an encode
    that fails late) removes the folders it created while they are still empty, so no empty ``-o`` folder
    is left behind as if a ladder were in it; a folder that existed, or holds anything, stays."""

    @functools.wraps(build)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        out = kwargs.get("out_dir", args[1] if len(args) > 1 else None)
        new: list[Path] = []  # the folders this run would create, deepest first
        if isinstance(out, str | Path):
            d = Path(out).absolute()
            while not d.exists() and d != d.parent:
                new.append(d)
                d = d.parent
        try:
            return build(*args, **kwargs)
        except BaseException:
            for d in new:
                with contextlib.suppress(OSError):
                    d.rmdir()  # only an empty folder goes
            raise

    return run


def prepare_out_dir(source: str | Path, out_dir: str | Path, *, dash: bool = True) -> Path:
    """Create the output folder before any encode, and refuse one that would destroy the source or, with
    ``dash``, a ``dash/`` folder that is not an earlier ladder's: a new run replaces the folder's ``rung*``
    files, ``ladder.json``, ``rd.png`` and an earlier ladder's ``dash/``."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"-o {out}: is a file; the ladder's output is a folder")
    if dash:
        _refuse_foreign_dash(out)
    src = resolve_path(source)
    o = resolve_path(out)
    replaced = src.parent == o and (fnmatch(src.name, _RUNG_GLOB) or src.name in ("ladder.json", "rd.png"))
    if replaced or o / "dash" in src.parents or o / ".dash.part" in src.parents:
        raise ConfigError(
            f"-o {out}: the input {Path(source).name} is an output of an earlier ladder in that folder, "
            "which this run replaces; copy it elsewhere first or choose another -o"
        )
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"-o {out}: cannot create the output folder ({exc.strerror})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise ConfigError(f"-o {out}: the output folder is not writable")
    return out


def quality_spec(
    w: int,
    h: int,
    q: float,
    rate_control: Literal["crf", "qp"],
    codec: Literal["x264", "x265"],
    preset: str,
    start_frame: int | None = None,
    end_frame: int | None = None,
) -> EncodeSpec:
    """A constant-quality candidate: ``q`` is a CRF or a QP as ``rate_control`` says."""
    if rate_control not in ("crf", "qp"):
        raise ConfigError(f"rate control {rate_control!r}: use crf or qp")
    crf, qp = (float(q), None) if rate_control == "crf" else (None, float(q))
    return EncodeSpec(
        w, h, crf=crf, qp=qp, codec=codec, preset=preset, start_frame=start_frame, end_frame=end_frame
    )


@dataclass
class Ladder:
    """A ladder and how it was found: every candidate, the hull, the rungs, the fixed ladder and BD-rates."""

    source: str
    width: int
    height: int
    mode: str
    candidates: list[EncodeResult]
    hull: list[RDPoint]
    rungs: list[RDPoint]
    fixed: list[EncodeResult] = field(default_factory=list)
    bd_rate_vs_fixed: float | None = None
    bd_rate_hull_vs_fixed: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def rung_rows(self) -> list[dict[str, Any]]:
        rows = []
        for p in self.rungs:
            r = p.ref
            spec = r.spec if isinstance(r, EncodeResult) else None
            row: dict[str, Any] = {
                "width": spec.width if spec else r.get("width"),
                "height": spec.height if spec else r.get("height"),
                "bitrate_kbps": round(p.rate, 2),
                "vmaf": round(p.quality, 3),
            }
            if spec is not None:
                row["qp" if spec.qp is not None else "crf"] = spec.quality_param
            elif isinstance(r, dict):
                row.update({k: v for k, v in r.items() if k not in row})
            rows.append(row)
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "mode": self.mode,
            "width": self.width,
            "height": self.height,
            "rungs": self.rung_rows(),
            "bd_rate_vs_fixed": self.bd_rate_vs_fixed,
            "bd_rate_hull_vs_fixed": self.bd_rate_hull_vs_fixed,
            "hull": [{"bitrate_kbps": p.rate, "vmaf": p.quality} for p in self.hull],
            "fixed": [
                {
                    "width": f.spec.width,
                    "height": f.spec.height,
                    "target_kbps": f.spec.bitrate_kbps,
                    "bitrate_kbps": f.bitrate_kbps,
                    "vmaf": f.vmaf,
                }
                for f in self.fixed
            ],
            "candidates": [
                {
                    "width": c.spec.width,
                    "height": c.spec.height,
                    "crf" if c.spec.qp is None else "qp": c.spec.quality_param,
                    "bitrate_kbps": c.bitrate_kbps,
                    "vmaf": c.vmaf,
                    "psnr_y": c.psnr_y,
                }
                for c in self.candidates
                if c.spec.start_frame is None
            ],
            **self.extra,
        }


def safe_bd_rate(anchor: Sequence[RDPoint], test: Sequence[RDPoint]) -> float | None:
    """BD-rate of ``test`` vs ``anchor`` (pchip), or ``None`` when the curves do not overlap in quality."""
    try:
        return bd_rate(
            [p.rate for p in anchor],
            [p.quality for p in anchor],
            [p.rate for p in test],
            [p.quality for p in test],
        )
    except ConfigError:
        return None


def bd_rate_or_reason(anchor: Sequence[RDPoint], test: Sequence[RDPoint]) -> tuple[float | None, str | None]:
    """BD-rate of ``test`` vs ``anchor`` (pchip) and ``None``, or ``None`` and why there is none, in words."""
    for name, pts in (("the fixed ladder", anchor), ("the ladder", test)):
        if len(pts) < 2:
            where = " at this source size" if pts is anchor else ""
            return None, (
                f"{name} has {len(pts)} rung{'s' * (len(pts) != 1)}{where}; "
                "a BD-rate needs two curves of at least two points"
            )
    try:
        return bd_rate(
            [p.rate for p in anchor],
            [p.quality for p in anchor],
            [p.rate for p in test],
            [p.quality for p in test],
        ), None
    except ConfigError as exc:
        return None, str(exc)


def vmaf_overlap(anchor: Sequence[RDPoint], test: Sequence[RDPoint]) -> list[float] | None:
    """The VMAF range a BD-rate of these curves integrates over (both cover it), or ``None`` when they do
    not overlap: a BD-rate over a narrow range says little, so the ladder reports it with the figure."""
    if not anchor or not test:
        return None
    lo = max(min(p.quality for p in anchor), min(p.quality for p in test))
    hi = min(max(p.quality for p in anchor), max(p.quality for p in test))
    return [round(lo, 3), round(hi, 3)] if hi > lo else None


def bd_rate_note(anchor: Sequence[RDPoint], test: Sequence[RDPoint]) -> str:
    """Why :func:`safe_bd_rate` found no BD-rate for these curves, in words (``"computed"`` when it did)."""
    return bd_rate_or_reason(anchor, test)[1] or "computed"


def write_dash(encodes: Sequence[str | Path], out_dir: str | Path, *, seg_s: float = 2.0) -> Path:
    """Package rung encodes (segment-aligned, same frame rate) as one DASH presentation: ``manifest.mpd``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    args = ["-v", "error", "-y"]
    for e in encodes:
        args += ["-i", str(e)]
    for i in range(len(encodes)):
        args += ["-map", f"{i}:V:0"]
    args += ["-c", "copy", "-f", "dash", "-seg_duration", f"{seg_s:g}", "-use_template", "1"]
    args += ["-use_timeline", "1", "-adaptation_sets", "id=0,streams=v", local_output(out / "manifest.mpd")]
    mpd = out / "manifest.mpd"
    run_ffmpeg(args, what="writing the DASH manifest")
    _fill_hevc_codecs(mpd, encodes)
    state_segments(mpd)
    return mpd


def _fill_hevc_codecs(mpd: Path, encodes: Sequence[str | Path]) -> None:
    """ffmpeg's DASH writer leaves ``codecs=""`` for HEVC: fill it in from each encode's ``hvcC``
    (``hvc1``: the parameter sets are in the sample entry, as in any single-resolution encode)."""
    text = mpd.read_text()

    def fix(m: re.Match[str]) -> str:
        tag = m.group(0)
        i = int(m.group(1))
        if 'codecs=""' not in tag or i >= len(encodes):
            return tag
        codecs = hevc_codec_string(encodes[i], "hvc1")
        return tag.replace('codecs=""', f'codecs="{codecs}"') if codecs else tag

    fixed = _REPRESENTATION.sub(fix, text)
    if fixed != text:
        atomic_write_text(mpd, fixed)


_REPRESENTATION = re.compile(r'<Representation id="(\d+)"[^>]*>')


def declare_in_band(mpd: str | Path, sizes: dict[int, tuple[int, int, str | None]]) -> None:
    """Mark representations joined from shots (shot-based rungs, whose parameter sets, and with the dynamic
    optimizer the resolution, change at shot boundaries): their ``codecs`` become the in-band form
    (``avc3``/``hev1``: the stream carries its SPS/PPS, so a player re-reads them at each IDR frame),
    ``width``/``height`` the largest shot size (what the player must be able to display), and the
    adaptation set's ``maxWidth``/``maxHeight`` cover them. ``sizes[i]`` = (width, height, codecs or None:
    the codec string, with the profile and level of the most demanding shot)."""
    path = Path(mpd)
    text = path.read_text()

    def fix(m: re.Match[str]) -> str:
        tag = m.group(0)
        i = int(m.group(1))
        if i not in sizes:
            return tag
        w, h, codecs = sizes[i]
        if codecs:
            tag = re.sub(r'codecs="[^"]*"', f'codecs="{codecs}"', tag)
        tag = re.sub(r'codecs="avc1\.', 'codecs="avc3.', tag)
        tag = re.sub(r'codecs="hvc1\.', 'codecs="hev1.', tag)
        w0, h0 = re.search(r'\bwidth="(\d+)"', tag), re.search(r'\bheight="(\d+)"', tag)
        sar = re.search(r'\bsar="(\d+):(\d+)"', tag)
        if w0 and h0 and sar:  # the same display aspect at the declared (largest) size
            dar = Fraction(int(w0.group(1)) * int(sar.group(1)), int(h0.group(1)) * int(sar.group(2)))
            new = dar * Fraction(h, w)
            tag = tag.replace(sar.group(0), f'sar="{new.numerator}:{new.denominator}"')
        tag = re.sub(r'\bwidth="\d+"', f'width="{w}"', tag)
        return re.sub(r'\bheight="\d+"', f'height="{h}"', tag)

    text = _REPRESENTATION.sub(fix, text)
    codecs_all = re.findall(r'<Representation [^>]*\bcodecs="([^".]*)', text)
    if codecs_all and all(c in ("avc3", "hev1") for c in codecs_all):
        # every stream carries its parameter sets: any one's segments play after any one's init segment
        aligned = r'(<AdaptationSet\b[^>]*?segmentAlignment="true")'
        text = re.sub(aligned, r'\1 bitstreamSwitching="true"', text)
    widths = [int(x) for x in re.findall(r'<Representation [^>]*\bwidth="(\d+)"', text)]
    heights = [int(x) for x in re.findall(r'<Representation [^>]*\bheight="(\d+)"', text)]
    if widths and heights:
        text = re.sub(r'\bmaxWidth="\d+"', f'maxWidth="{max(widths)}"', text)
        text = re.sub(r'\bmaxHeight="\d+"', f'maxHeight="{max(heights)}"', text)
    atomic_write_text(path, text)


def plot_curves(
    curves: dict[str, Sequence[RDPoint]],
    path: str | Path,
    *,
    title: str = "",
    points: Sequence[RDPoint] = (),
) -> Path:
    """Rate-quality curves (log bitrate axis) as a PNG; ``points`` are drawn faintly (all candidates)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    if points:
        ax.scatter([p.rate for p in points], [p.quality for p in points], s=10, c="0.75", label="candidates")
    for name, pts in curves.items():
        pts = sorted(pts, key=lambda p: p.rate)
        ax.plot([p.rate for p in pts], [p.quality for p in pts], marker="o", label=name)
    ax.set_xscale("log")
    from matplotlib.ticker import NullFormatter, ScalarFormatter

    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("bitrate (kbps)")
    ax.set_ylabel("VMAF (vmaf_v0.6.1, mean)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.tight_layout()
        with atomic_path(out, ".png") as tmp:  # a run stopped mid-write left a torn rd.png
            fig.savefig(tmp, dpi=110, format="png")
    finally:
        plt.close(fig)
    return out


def run_encodes(
    source: str | Path,
    specs: Sequence[EncodeSpec],
    *,
    display: tuple[int, int],
    cache_dir: str | Path | None = None,
    executor: Executor | None = None,
    progress: Progress = SILENT,
    description: str = "encoding",
    vmaf_subsample: int = 1,
) -> list[EncodeResult]:
    """Encode and score every spec (in parallel, cached); results in spec order."""
    src = str(Path(source).resolve())
    h = file_hash(src)
    # absolute, as the source: a worker may run in another folder (a cluster's), and the results' paths are
    # read here
    cache = str((Path(cache_dir) if cache_dir is not None else default_cache_dir()).resolve())
    clear_dead_encodes(cache)  # what killed runs left there: a part-written encode each
    tasks = [EncodeTask(src, h, s, cache, display[0], display[1], vmaf_subsample) for s in specs]
    ex = executor or LocalExecutor(kind="thread")
    return ex.map(encode_and_score, tasks, progress=progress, description=description)


@leaves_no_new_empty_folder
def per_title_ladder(
    source: str | Path,
    out_dir: str | Path | None = None,
    *,
    heights: Sequence[int] = DEFAULT_HEIGHTS,
    crfs: Sequence[float] = DEFAULT_CRFS,
    codec: Literal["x264", "x265"] = "x264",
    preset: str = "veryfast",
    rule: RungRule = RungRule(),
    rate_control: Literal["crf", "qp"] = "crf",
    compare_fixed: bool = True,
    cache_dir: str | Path | None = None,
    executor: Executor | None = None,
    progress: Progress = SILENT,
    vmaf_subsample: int = 1,
    dash: bool = True,
) -> Ladder:
    """Build the per-title ladder of ``source`` (see the module text); with ``out_dir``, write
    ``ladder.json``, the rung encodes, a DASH manifest under ``dash/`` and ``rd.png``."""
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
    sizes = grid_sizes(W, H, heights)
    specs = [quality_spec(w, h, c, rate_control, codec, preset) for w, h in sizes for c in crfs]
    kw: dict[str, Any] = {
        "display": (W, H),
        "cache_dir": cache_dir,
        "executor": executor,
        "progress": progress,
        "vmaf_subsample": vmaf_subsample,
    }
    results = run_encodes(source, specs, description="per-title candidates", **kw)
    hull = convex_hull([RDPoint(r.bitrate_kbps, r.vmaf, r) for r in results])
    rungs = select_rungs(hull, rule)
    ladder = Ladder(str(source), W, H, "title", results, hull, rungs)
    if compare_fixed:
        same_rc_fixed(ladder, source, codec, preset, rate_control, crfs, **kw)
    return finish_ladder(
        ladder, source, codec, preset, compare_fixed=compare_fixed, out_dir=out_dir, dash=dash, **kw
    )


def _bracket(rates: Sequence[float], kbps: float) -> tuple[int, int] | None:
    """The indices of the two ``rates`` (one resolution's encodes) around ``kbps``, lower first; ``None``
    outside their range (no extrapolation)."""
    order = sorted(range(len(rates)), key=lambda k: rates[k])
    for a, b in itertools.pairwise(order):
        if rates[a] <= kbps <= rates[b]:
            return a, b
    return None


def _at_rate(points: Sequence[tuple[float, float]], kbps: float) -> float | None:
    """VMAF at ``kbps`` on the line through ``points`` ((kbps, vmaf) of one resolution's encodes), linear in
    log-rate between the two that bracket it; ``None`` outside the points' range (no extrapolation)."""
    pair = _bracket([r for r, _ in points], kbps)
    if pair is None:
        return None
    (r0, q0), (r1, q1) = points[pair[0]], points[pair[1]]
    if r1 <= r0:
        return max(q0, q1)
    t = (math.log(kbps) - math.log(r0)) / (math.log(r1) - math.log(r0))
    return q0 + t * (q1 - q0)


def same_rc_fixed(
    ladder: Ladder,
    source: str | Path,
    codec: Literal["x264", "x265"],
    preset: str,
    rate_control: Literal["crf", "qp"],
    crfs: Sequence[float],
    **kw: Any,
) -> None:
    """The fixed ladder at the candidates' own rate control: each HLS rung's resolution encoded over the
    candidates' CRF (or QP) grid, its VMAF read at the rung's bitrate (log-rate interpolation between the
    two encodes around it; a rung outside their range is left out). The BD-rates against it
    (``extra["bd_rate_vs_fixed_same_rc"]``, ``extra["bd_rate_hull_vs_fixed_same_rc"]``) measure the ladder
    alone: against the HLS rungs encoded 1-pass ABR (``bd_rate_vs_fixed``) part of the saving is the rate
    control (capped ABR against uncapped CRF/QP), not the choice of resolutions and rates. With candidates
    scored on every n-th frame the hull's figure uses those scores and the rungs' every-frame ones (only the
    two encodes around each rung's bitrate are scored again)."""
    W, H = ladder.width, ladder.height
    rungs = fixed_ladder_specs(W, H, codec, preset)
    grid = [quality_spec(r.width, r.height, q, rate_control, codec, preset) for r in rungs for q in crfs]
    encodes = run_encodes(source, grid, description="fixed ladder at the candidates' rate control", **kw)
    n = len(crfs)
    brackets: list[tuple[EncodeSpec, float, tuple[int, int]]] = []  # rung, its kbps, encodes around it
    for i, r in enumerate(rungs):
        target = float(r.bitrate_kbps or 0.0)
        pair = _bracket([e.bitrate_kbps for e in encodes[i * n : (i + 1) * n]], target)
        if pair is not None:
            brackets.append((r, target, (i * n + pair[0], i * n + pair[1])))
    every: dict[int, float] = {}
    if kw.get("vmaf_subsample", 1) > 1:
        src = str(Path(source).resolve())
        display = kw.get("display", (W, H))
        ex = kw.get("executor") or LocalExecutor(kind="thread")
        needed = sorted({k for _, _, pair in brackets for k in pair})
        full = ex.map(
            _every_frame,
            [(src, encodes[k].path, display) for k in needed],
            progress=kw.get("progress", SILENT),
            description="VMAF, every frame",
        )
        every = {k: q.mean for k, q in zip(needed, full, strict=True)}
    sub_pts: list[RDPoint] = []
    all_pts: list[RDPoint] = []
    for r, target, pair in brackets:
        ref = {"width": r.width, "height": r.height, "target_kbps": target}
        rates = [encodes[k].bitrate_kbps for k in pair]
        q_sub = _at_rate([(rate, encodes[k].vmaf) for rate, k in zip(rates, pair, strict=True)], target)
        q_all = (
            _at_rate([(rate, every[k]) for rate, k in zip(rates, pair, strict=True)], target)
            if every
            else q_sub
        )
        assert q_sub is not None and q_all is not None  # the pair brackets the target
        sub_pts.append(RDPoint(target, q_sub, ref))
        all_pts.append(RDPoint(target, q_all, ref))
    ladder.extra["fixed_same_rc"] = [
        {**p.ref, "vmaf": round(p.quality, 3), "rate_control": rate_control} for p in all_pts
    ]
    ladder.extra["bd_rate_hull_vs_fixed_same_rc"] = safe_bd_rate(sub_pts, ladder.hull)
    ladder.extra["_fixed_same_rc_every_frame"] = all_pts


def _every_frame(task: tuple[str, str, tuple[int, int]]) -> Pooled:
    """VMAF of one finished encode on every frame, cached in a JSON file beside it."""
    source, path, display = task
    st = os.stat(path)
    key = {
        "source": file_hash(source),
        "size": st.st_size,
        "mtime_ns": st.st_mtime_ns,
        "display": list(display),
    }
    side = Path(path).with_name(Path(path).name + ".vmaf-all.json")
    cached = read_keyed_json(side, key)
    if cached is not None:
        try:
            return Pooled(**cached["vmaf"])
        except (TypeError, KeyError):
            pass  # a damaged entry is redone
    q = measure_quality(source, path, models=("vmaf",), features=(), width=display[0], height=display[1])
    pooled = q.pooled["vmaf"]
    atomic_write_text(side, json.dumps({"key": key, "vmaf": pooled.to_dict()}))
    return pooled


def rescore_every_frame(
    ladder: Ladder,
    source: str | Path,
    *,
    display: tuple[int, int],
    executor: Executor | None = None,
    progress: Progress = SILENT,
) -> None:
    """Score the ladder's rungs that are candidate encodes (per-title rungs) and its fixed ladder's encodes
    again on every frame, in place; their values from every n-th frame stay in
    ``extra["rung_vmaf_subsampled"]`` (``None`` for the other rungs) and ``extra["fixed_vmaf_subsampled"]``.
    Shot-based rungs are left as they are: joined rungs are already scored on every frame when they are
    assembled, and per-shot totals are no single file."""
    src = str(Path(source).resolve())
    where = [i for i, p in enumerate(ladder.rungs) if isinstance(p.ref, EncodeResult)]
    items = [(src, ladder.rungs[i].ref.path, display) for i in where]
    items += [(src, f.path, display) for f in ladder.fixed]
    ex = executor or LocalExecutor(kind="thread")
    scores = ex.map(_every_frame, items, progress=progress, description="VMAF of the rungs on every frame")
    sub: list[float | None] = [None] * len(ladder.rungs)
    for i in where:
        sub[i] = ladder.rungs[i].quality
    ladder.extra["rung_vmaf_subsampled"] = sub
    ladder.extra["fixed_vmaf_subsampled"] = [f.vmaf for f in ladder.fixed]
    rungs = list(ladder.rungs)
    for i, pooled in zip(where, scores[: len(where)], strict=True):
        rungs[i] = RDPoint(rungs[i].rate, pooled.mean, rungs[i].ref)
    ladder.rungs = rungs
    ladder.fixed = [
        replace(f, vmaf=q.mean, vmaf_hmean=q.harmonic_mean, vmaf_p5=q.p5)
        for f, q in zip(ladder.fixed, scores[len(where) :], strict=True)
    ]


def finish_ladder(
    ladder: Ladder,
    source: str | Path,
    codec: Literal["x264", "x265"],
    preset: str,
    *,
    compare_fixed: bool,
    out_dir: str | Path | None,
    dash: bool,
    **kw: Any,
) -> Ladder:
    """With ``compare_fixed``, encode the fixed ladder and set the BD-rates of the rungs and the hull against
    it; with ``out_dir``, write the outputs (:func:`write_outputs`). ``kw`` goes to :func:`run_encodes`.
    When candidates were scored on every n-th frame, the rungs and the fixed ladder are scored again on every
    frame (:func:`rescore_every_frame`): the rungs' BD-rate compares those, the hull's the subsampled ones."""
    W, H = ladder.width, ladder.height
    if compare_fixed:
        ladder.fixed = run_encodes(
            source, fixed_ladder_specs(W, H, codec, preset), description="fixed ladder", **kw
        )
        fixed_sub = [RDPoint(f.bitrate_kbps, f.vmaf, f) for f in ladder.fixed]
        ladder.bd_rate_hull_vs_fixed = safe_bd_rate(fixed_sub, ladder.hull)
        ladder.extra["bd_rate_hull_vmaf_range"] = vmaf_overlap(fixed_sub, ladder.hull)
    if kw.get("vmaf_subsample", 1) > 1:
        ladder.extra["vmaf_scoring"] = (
            f"candidates, hull and bd_rate_hull_vs_fixed on every {kw['vmaf_subsample']}th frame (the fixed "
            "ladder's scores there: fixed_vmaf_subsampled); rungs, fixed and bd_rate_vs_fixed on every frame"
        )
        rescore_every_frame(
            ladder,
            source,
            display=kw.get("display", (W, H)),
            executor=kw.get("executor"),
            progress=kw.get("progress", SILENT),
        )
    same_rc = ladder.extra.pop("_fixed_same_rc_every_frame", None)
    if same_rc is not None:
        ladder.extra["bd_rate_vs_fixed_same_rc"] = safe_bd_rate(same_rc, ladder.rungs)
    if compare_fixed:
        fixed_pts = [RDPoint(f.bitrate_kbps, f.vmaf, f) for f in ladder.fixed]
        ladder.bd_rate_vs_fixed, note = bd_rate_or_reason(fixed_pts, ladder.rungs)
        ladder.extra["bd_rate_vmaf_range"] = vmaf_overlap(fixed_pts, ladder.rungs)
        if note is not None:
            ladder.extra["bd_rate_note"] = note
    if out_dir is not None:
        write_outputs(ladder, out_dir, dash=dash)
    return ladder


def write_outputs(ladder: Ladder, out_dir: str | Path, *, dash: bool = True) -> None:
    """Write ``ladder.json``, the rung encodes (``rung<i>_<w>x<h>_<kbps>k.mp4``), ``dash/manifest.mpd`` and
    ``rd.png``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    recover_folder(out / "dash")  # what a run killed between the swap's two renames left
    if dash:
        _refuse_foreign_dash(out)  # before anything is written (the command checked it before encoding)
    earlier_dash = _earlier_ladders_dash(out)
    files: list[Path | None] = []
    for i, (p, row) in enumerate(zip(ladder.rungs, ladder.rung_rows(), strict=True)):
        src = p.ref.path if isinstance(p.ref, EncodeResult) else p.ref.get("path")
        if not src:  # a shot-based rung measured per shot only: no joined file
            files.append(None)
            continue
        name = f"rung{i}_{row['width']}x{row['height']}_{round(p.rate)}k.mp4"
        shutil.copyfile(src, out / f".{name}.part")
        os.replace(out / f".{name}.part", out / name)
        files.append(out / name)
    payload = ladder.to_dict()
    for row, f in zip(payload["rungs"], files, strict=True):
        row["file"] = f.name if f is not None else None
        row.pop("path", None)
    present = [f for f in files if f is not None]
    new_dash = out / ".dash.part"
    shutil.rmtree(new_dash, ignore_errors=True)
    if dash and present and len(present) == len(files):
        mpd = write_dash(present, new_dash)
        in_band = {
            i: (row["width"], row["height"], row.get("codecs"))
            for i, row in enumerate(payload["rungs"])
            if row.get("in_band_parameter_sets")
        }
        if in_band:
            declare_in_band(mpd, in_band)
        payload["dash_manifest"] = str(Path("dash") / mpd.relative_to(new_dash))
    curves: dict[str, Sequence[RDPoint]] = {"hull": ladder.hull}
    if ladder.fixed:
        curves["fixed (HLS)"] = [RDPoint(f.bitrate_kbps, f.vmaf) for f in ladder.fixed]
    curves[f"{ladder.mode} ladder (rungs)"] = ladder.rungs  # drawn last, on top of the hull
    cand = [RDPoint(c.bitrate_kbps, c.vmaf) for c in ladder.candidates if c.spec.start_frame is None]
    plot_curves(curves, out / "rd.png", title=Path(ladder.source).name, points=cand)
    payload["plot"] = "rd.png"
    # swap in the new manifest (in one step where the system can: removing the old one first, a Ctrl-C
    # left a ladder.json naming a manifest gone), then the JSON (atomically), then drop an earlier run's
    # manifest (never a dash/ folder that is not a ladder's own) and other rungs, which it no longer names
    swapped = new_dash.exists()
    if swapped:
        swap_in_folder(new_dash, out / "dash")
    atomic_write_text(out / "ladder.json", json.dumps(payload, indent=1, default=str))
    if earlier_dash and not swapped:
        shutil.rmtree(out / "dash", ignore_errors=True)
    keep = {f.name for f in present}
    for stale in out.glob(_RUNG_GLOB):
        if stale.name not in keep and stale.resolve() != Path(ladder.source).resolve():
            stale.unlink()
