"""Full-reference picture quality: VMAF (libvmaf's standard models), PSNR, SSIM and MS-SSIM.

The scores come from libvmaf inside the ffmpeg of the ``imageio-ffmpeg`` wheel (run through
:mod:`reelkit.media`); nothing here reimplements a metric. One ffmpeg run computes every model and feature:

- VMAF models: ``vmaf`` (``vmaf_v0.6.1``, the default, for a 1080p TV at three picture heights), ``vmaf_neg``
  (``vmaf_v0.6.1neg``, no credit for enhancement), ``vmaf_phone`` (``vmaf_v0.6.1`` with its phone transform,
  libvmaf's ``enable_transform``), ``vmaf_4k`` (``vmaf_4k_v0.6.1``, a 4K TV at 1.5 picture heights).
- Features: ``psnr`` (libvmaf's ``psnr``: ``psnr_y``, ``psnr_cb``, ``psnr_cr``; ``psnr_yuv`` is the
  6:1:1-weighted mean ``(6 Y + Cb + Cr) / 8`` per frame), ``ssim`` (``float_ssim``), ``ms_ssim``
  (``float_ms_ssim``).

Each metric is reported per frame and pooled over frames: mean, harmonic mean (libvmaf's:
``1 / mean(1 / (1 + x)) - 1``), 5th percentile, min and max. The headline numbers are means. A frame libvmaf
gives no value for (``null`` in its log: MS-SSIM of very different pictures) is NaN, left out of the pooled
figures and said in a note; the per-frame JSON writes it as ``null``.

A distorted video of another size is scaled to the reference's size with a bicubic filter (Netflix's
practice: quality at the display resolution); ``width``/``height`` pick another display size for both. A
different frame count or frame rate is an error unless ``align=True``: then the distorted video is resampled
to the reference's frame rate and both are cut to the shorter one (a note says how many frames were left
out). Both start at their first frame: a
container's start time is not read as a delay (a transport stream starts at an arbitrary clock value, an MP4
at 0), so a distorted video that lost leading frames must be trimmed to match first.
"""

from __future__ import annotations

import json
import math
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from reelkit._files import atomic_write_text, check_input_file
from reelkit.errors import ConfigError, MediaError, ToolError, UserInputError
from reelkit.media import check_picture, ffmpeg_exe, ffmpeg_has, probe, run_ffmpeg, stream_ffmpeg
from reelkit.progress import SILENT, Progress

__all__ = [
    "FEATURES",
    "MODELS",
    "MODEL_ALIASES",
    "VMAF_MIN_SIDE",
    "FrameMismatchError",
    "Pooled",
    "QualityResult",
    "RawVideo",
    "StreamChangeError",
    "count_frames",
    "measure_quality",
    "model_name",
    "pool",
    "require_filter",
]

#: reelkit's model name -> libvmaf model option (inside ``model=``, a doubled backslash escapes its own ':')
MODELS: dict[str, str] = {
    "vmaf": "version=vmaf_v0.6.1",
    "vmaf_neg": "version=vmaf_v0.6.1neg",
    "vmaf_phone": r"version=vmaf_v0.6.1\\:enable_transform=true",
    "vmaf_4k": "version=vmaf_4k_v0.6.1",
}
#: libvmaf's own model names, accepted for ours
MODEL_ALIASES: dict[str, str] = {
    "vmaf_v0.6.1": "vmaf",
    "vmaf_v0.6.1neg": "vmaf_neg",
    "vmaf_4k_v0.6.1": "vmaf_4k",
}


def model_name(name: str) -> str:
    """Our name of a VMAF model given by ours or by libvmaf's (``vmaf_v0.6.1`` is ``vmaf``)."""
    return MODEL_ALIASES.get(name, name)


#: reelkit's feature name -> libvmaf feature name
FEATURES: dict[str, str] = {"psnr": "psnr", "ssim": "float_ssim", "ms_ssim": "float_ms_ssim"}
#: libvmaf's per-frame key -> the key reelkit reports
_RENAME = {"float_ssim": "ssim", "float_ms_ssim": "ms_ssim"}
#: the smallest side libvmaf scores: the wheel's ffmpeg crashes (a segfault) on 16 pixels or fewer, any model,
#: feature or pixel format (16x16, 17x16, 16x200 crash; 17x17, 200x17 are scored)
VMAF_MIN_SIDE = 17


class FrameMismatchError(UserInputError):
    """The reference and the distorted video differ in frame count or frame rate (and ``align`` was off)."""


class StreamChangeError(MediaError):
    """A video's picture (size, pixel format, colour space) changes mid-stream where the scoring cannot follow
    it: ffmpeg restarted its filter graph there and libvmaf's log would hold only the frames after it."""


#: ffmpeg's line when a video's frames change mid-stream (audio, subtitles and data are not decoded here)
_VIDEO_CHANGED = "Reconfiguring filter graph because video parameters changed"
#: ffmpeg's ``-progress`` line with the frames written so far
_PROGRESS_FRAME = re.compile(r"frame=(\d+)")


@dataclass(frozen=True)
class Pooled:
    """One metric pooled over frames."""

    mean: float
    harmonic_mean: float
    p5: float
    min: float
    max: float

    def to_dict(self) -> dict[str, float]:
        return {
            "mean": self.mean,
            "harmonic_mean": self.harmonic_mean,
            "p5": self.p5,
            "min": self.min,
            "max": self.max,
        }


def pool(values: Sequence[float] | np.ndarray) -> Pooled:
    """Mean, libvmaf's harmonic mean (``1/mean(1/(1+x)) - 1``), 5th percentile, min and max of per-frame
    scores; NaN (a frame libvmaf gave no value for) is left out, and all NaN pools to NaN."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        raise ConfigError("no frames to pool")
    x = x[~np.isnan(x)]
    if x.size == 0:
        return Pooled(math.nan, math.nan, math.nan, math.nan, math.nan)
    hm = float(1.0 / np.mean(1.0 / (1.0 + x)) - 1.0) if np.all(x > -1) else math.nan
    return Pooled(float(x.mean()), hm, float(np.percentile(x, 5)), float(x.min()), float(x.max()))


@dataclass
class QualityResult:
    """Scores of a distorted video against its reference.

    ``per_frame`` maps a metric (``vmaf``, ``vmaf_phone``, ``psnr_y``, ``psnr_yuv``, ``ssim``, ...) to its
    per-frame values (NaN where libvmaf gave none); ``pooled`` holds the same metrics pooled.
    ``frame_numbers`` are the reference frame numbers that were scored (every ``subsample``-th). ``frames``
    is the frames compared, ``reference_frames`` and ``distorted_frames`` the frames each video has (the
    reference's within ``reference_frames=(a, b)``); ``notes`` say what the figures leave out.
    """

    per_frame: dict[str, np.ndarray]
    frame_numbers: np.ndarray
    width: int
    height: int
    frames: int
    fps: float | None
    models: tuple[str, ...]
    libvmaf_version: str = ""
    reference_frames: int | None = None
    distorted_frames: int | None = None
    notes: list[str] = field(default_factory=list)
    pooled: dict[str, Pooled] = field(init=False)

    def __post_init__(self) -> None:
        self.pooled = {k: pool(v) for k, v in self.per_frame.items() if len(v)}

    def mean(self, metric: str) -> float:
        return self.pooled[metric].mean if metric in self.pooled else math.nan

    @property
    def vmaf(self) -> float:
        return self.mean(self.models[0]) if self.models else math.nan

    @property
    def psnr_y(self) -> float:
        return self.mean("psnr_y")

    @property
    def psnr_yuv(self) -> float:
        return self.mean("psnr_yuv")

    @property
    def ssim(self) -> float:
        return self.mean("ssim")

    @property
    def ms_ssim(self) -> float:
        return self.mean("ms_ssim")

    def summary(self) -> dict[str, Any]:
        """The headline numbers (means) and the pooled table."""
        return {
            "vmaf": self.vmaf,
            "psnr_y": self.psnr_y,
            "psnr_yuv": self.psnr_yuv,
            "ssim": self.ssim,
            "ms_ssim": self.ms_ssim,
            "frames": self.frames,
            "reference_frames": self.reference_frames,
            "distorted_frames": self.distorted_frames,
            "width": self.width,
            "height": self.height,
            "models": list(self.models),
            "pooled": {k: p.to_dict() for k, p in self.pooled.items()},
        }

    def write_per_frame(self, path: str | Path) -> Path:
        """Write the per-frame scores as JSON: ``{"frames": [{"frame": n, "vmaf": ..., ...}, ...]}`` (a frame
        without a value, NaN, as ``null``)."""
        out = Path(path)
        keys = list(self.per_frame)
        rows = [
            {"frame": int(n), **{k: _number(self.per_frame[k][i]) for k in keys}}
            for i, n in enumerate(self.frame_numbers)
        ]
        payload = {
            "metrics": keys,
            "pooled": {k: {s: _number(v) for s, v in p.to_dict().items()} for k, p in self.pooled.items()},
            "frames": rows,
        }
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out, json.dumps(payload, indent=1, allow_nan=False))
        return out


def _number(x: float) -> float | None:
    """A score for JSON: NaN (no value) as None, which is null (bare NaN is not JSON)."""
    return None if math.isnan(x) else float(x)


_FRAME = re.compile(r"frame=\s*(\d+)")


def require_filter(name: str, kind: str = "filters") -> None:
    """Raise :class:`ToolError` when this ffmpeg lacks a filter (or an encoder: ``kind="encoders"``)."""
    if not ffmpeg_has(kind, name):
        raise ToolError(
            f"the ffmpeg at {ffmpeg_exe()} has no {name} {kind[:-1]}; use the one in the imageio-ffmpeg "
            "wheel (unset REELKIT_FFMPEG) or a build configured with --enable-libvmaf --enable-libx264"
        )


#: Raw pixel formats a headerless .yuv file may be in: (bytes per sample, chroma subsampling x, y; 0: none)
RAW_FORMATS: dict[str, tuple[int, int, int]] = {
    "yuv420p": (1, 2, 2),
    "yuv422p": (1, 2, 1),
    "yuv444p": (1, 1, 1),
    "yuv420p10le": (2, 2, 2),
    "yuv422p10le": (2, 2, 1),
    "yuv444p10le": (2, 1, 1),
    "yuv420p12le": (2, 2, 2),
    "yuv422p12le": (2, 2, 1),
    "yuv444p12le": (2, 1, 1),
    "gray": (1, 0, 0),
    "gray10le": (2, 0, 0),
}


@dataclass(frozen=True)
class RawVideo:
    """How to read a headerless .yuv file (libvmaf's ``-w -h -p -b``): picture size, pixel format (planar,
    from :data:`RAW_FORMATS`) and frame rate. The file must hold whole frames of that size and format."""

    width: int
    height: int
    pix_fmt: str = "yuv420p"
    fps: Fraction = Fraction(24)

    def __post_init__(self) -> None:
        if self.pix_fmt not in RAW_FORMATS:
            raise ConfigError(f"raw pixel format {self.pix_fmt!r}: use one of {', '.join(RAW_FORMATS)}")
        if not (2 <= self.width <= 16384 and 2 <= self.height <= 16384):
            raise ConfigError(f"raw picture size {self.width}x{self.height}: give 2 to 16384 pixels a side")
        if not 0 < self.fps <= 1000:
            raise ConfigError(f"raw frame rate {self.fps}: give more than 0 and at most 1000 frames a second")

    @property
    def frame_bytes(self) -> int:
        """The bytes of one frame: the luma plane and two chroma planes, each rounded up to whole samples."""
        size, sx, sy = RAW_FORMATS[self.pix_fmt]
        luma = self.width * self.height
        chroma = 2 * (-(-self.width // sx)) * (-(-self.height // sy)) if sx else 0
        return size * (luma + chroma)

    def input_args(self) -> list[str]:
        """ffmpeg's options for reading the file, before its ``-i``."""
        rate = f"{self.fps.numerator}/{self.fps.denominator}"
        size = f"{self.width}x{self.height}"
        return ["-f", "rawvideo", "-pix_fmt", self.pix_fmt, "-video_size", size, "-framerate", rate]

    def check(self, path: str | Path) -> None:
        """Refuse a file that is not a whole number of frames: a wrong size or format reads as noise."""
        n = check_input_file(path, MediaError, "is a folder, not a video").stat().st_size
        if n == 0 or n % self.frame_bytes:
            raise MediaError(
                f"holds {n:,} bytes, not a whole number of {self.width}x{self.height} {self.pix_fmt} frames "
                f"({self.frame_bytes:,} bytes each): check the raw picture size and pixel format",
                path=str(path),
            )


def _raw_args(raw: RawVideo | None) -> list[str]:
    return raw.input_args() if raw is not None else []


def count_frames(
    path: str | Path, *, decode: bool = False, rate: Fraction | None = None, raw: RawVideo | None = None
) -> int:
    """Frames in the first video stream: packets by a stream-copy pass (fast), or with ``decode`` the
    frames decoded, which is what is shown when an edit list hides some packets (an MP4 cut with
    ``-c copy``). ``rate``: the frames once resampled to that rate by their timestamps (decoded), as
    :func:`measure_quality` resamples a distorted video with ``align``. ``raw``: how to read a .yuv file."""
    copy = [] if decode or rate is not None else ["-c", "copy"]
    resample = (
        ["-vf", f"setpts=PTS-STARTPTS,fps={rate.numerator}/{rate.denominator}"] if rate is not None else []
    )
    proc = run_ffmpeg(
        [*_raw_args(raw), "-i", str(path), "-map", "0:V:0", *copy, *resample, "-f", "null", "-"],
        what=f"counting {path}",
    )
    return frames_output(proc.stderr.decode("utf-8", "replace"), path)


def frames_output(stderr: str, path: str | Path) -> int:
    """The frames ffmpeg's last progress line reports for its first output (``frame=N``)."""
    found = _FRAME.findall(stderr)
    if not found:
        raise MediaError("ffmpeg reported no video frames", path=str(path))
    return int(found[-1])


def _escape(path: Path) -> str:
    """A path as a filter option value (``\\``, ``:`` and ``'`` escaped for the filtergraph parser)."""
    s = str(path).replace("\\", "/")
    return s.replace(":", "\\\\:").replace("'", "\\\\'")


def _scoring_format(pix_fmt: str | None) -> str:
    """The pixel format libvmaf scores in: the reference's chroma layout and bit depth (4:2:0 at 8 bits
    halved a 4:4:4 source's chroma errors and capped a 12-bit one's PSNR at 8 bits' 60 dB); RGB as 4:4:4."""
    fmt = re.sub(r"^gray", "yuv420p", pix_fmt or "")  # grey: luma at its depth, chroma flat
    m = re.match(r"yuvj?(420|422|444)p(\d+)?", fmt)
    chroma = m.group(1) if m else ("444" if fmt.startswith(("gbr", "rgb", "bgr")) else "420")
    depth = int(m.group(2)) if m and m.group(2) else 8
    depth = min((d for d in (8, 10, 12, 16) if d >= depth), default=16)
    return f"yuv{chroma}p" + ("" if depth == 8 else f"{depth}le")


def measure_quality(
    reference: str | Path,
    distorted: str | Path,
    *,
    models: Sequence[str] = ("vmaf",),
    features: Sequence[str] = ("psnr", "ssim", "ms_ssim"),
    width: int | None = None,
    height: int | None = None,
    align: bool = False,
    subsample: int = 1,
    threads: int = 1,
    reference_frames: tuple[int, int] | None = None,
    log_path: str | Path | None = None,
    variable_size: bool = False,
    first_frame: int = 0,
    progress: Progress = SILENT,
    raw_reference: RawVideo | None = None,
    raw_distorted: RawVideo | None = None,
) -> QualityResult:
    """Score ``distorted`` against ``reference`` with libvmaf (see the module text).

    ``models``: names from :data:`MODELS` (the first is the headline ``vmaf``); ``features``: names from
    :data:`FEATURES`. ``width``/``height``: the display size both are scaled to (default: the reference's).
    ``subsample``: score every n-th frame (libvmaf's ``n_subsample``). ``reference_frames=(a, b)``: compare
    with frames ``a..b-1`` of the reference only (a shot). ``log_path``: keep libvmaf's own JSON log there.
    ``variable_size``: the distorted video changes resolution mid-stream (a shot-based rung joined from shots
    at several sizes): its filter chain is kept across the change (ffmpeg's ``-reinit_filter 0``, else the
    graph and libvmaf would restart at the change) and every frame is scaled to the display size.
    ``first_frame``: leave out that many leading frames of both (after ``reference_frames``), so that with
    ``subsample`` the frames scored are ``first_frame``, ``first_frame + subsample``, ...: a shot that starts
    at an odd frame of its title is then scored on the title's own even frames, as the title and the joined
    rungs are (x264's B-frames alternate with P-frames, and sampling the other phase of that pattern moves
    the mean VMAF by up to a point). ``frame_numbers`` are the reference's frame numbers (counting from its
    first frame, ``reference_frames`` or not). ``progress``: the scoring pass's frames as it goes (ffmpeg's
    own progress report; a feature film takes an hour at one thread). ``raw_reference``/``raw_distorted``:
    how to read a headerless .yuv file (:class:`RawVideo`), as libvmaf's own tool takes them.
    """
    require_filter("libvmaf")
    models = tuple(dict.fromkeys(model_name(m) for m in models))
    for m in models:
        if m not in MODELS:
            raise ConfigError(
                f"unknown VMAF model {m!r}; choose from {sorted(MODELS)} "
                f"(or libvmaf's names {sorted(MODEL_ALIASES)})"
            )
    for f in features:
        if f not in FEATURES:
            raise ConfigError(f"unknown quality feature {f!r}; choose from {sorted(FEATURES)}")
    if subsample < 1:
        raise ConfigError("subsample must be >= 1")
    for raw, path in ((raw_reference, reference), (raw_distorted, distorted)):
        if raw is not None:
            raw.check(path)
    ref_in, dis_in = _raw_args(raw_reference), _raw_args(raw_distorted)
    ref_info, dis_info = probe(reference, input_args=ref_in), probe(distorted, input_args=dis_in)
    for info, role in ((ref_info, "reference"), (dis_info, "distorted")):
        if not info.video:
            raise MediaError(f"has no video stream (needed as the {role})", path=info.path)
        check_picture(info)
    rv, dv = ref_info.video[0], dis_info.video[0]
    W = width or rv.width
    H = height or rv.height
    if min(W, H) < VMAF_MIN_SIDE:  # before libvmaf crashes on it with a line about something else
        low = f"{VMAF_MIN_SIDE}x{VMAF_MIN_SIDE}"
        if width or height:
            raise ConfigError(f"display size {W}x{H}: libvmaf scores pictures of at least {low}")
        raise MediaError(
            f"is {W}x{H}: libvmaf scores pictures of at least {low}; scale both videos up first",
            path=str(reference),
        )
    ref_n = count_frames(reference, raw=raw_reference)
    dis_n = count_frames(distorted, raw=raw_distorted)
    fps_differs = rv.fps is not None and dv.fps is not None and abs(rv.fps - dv.fps) > 1e-3
    want = reference_frames[1] - reference_frames[0] if reference_frames is not None else ref_n
    if want != dis_n and not fps_differs:
        # the packets may include frames an edit list hides (an MP4 cut with -c copy): count what decodes,
        # in the files that disagree (a shot against its title recounts neither when they agree)
        if reference_frames is None:
            ref_n = count_frames(reference, decode=True, raw=raw_reference)
        dis_n = count_frames(distorted, decode=True, raw=raw_distorted)
    if reference_frames is not None:
        a, b = reference_frames
        if not 0 <= a < b <= ref_n:
            raise ConfigError(f"reference_frames {reference_frames} outside the reference's 0..{ref_n}")
        ref_n = b - a
    if (fps_differs or ref_n != dis_n) and not align:
        if ref_n == dis_n:  # the same frames played at another rate: aligning by time would pair wrongly
            raise FrameMismatchError(
                f"both videos have {ref_n} frames, at {rv.fps:g} and {dv.fps:g} fps: a speed change (a PAL "
                "speed-up?) rather than a different cut; aligning by time would pair the wrong frames, so "
                f"re-time the distorted video to {rv.fps:g} fps first (ffmpeg -i DIST -vf "
                f'"setpts=N/({rv.fps:g}*TB)" -r {rv.fps:g} OUT)'
            )
        raise FrameMismatchError(
            f"the reference has {ref_n} frames at {rv.fps} fps, the distorted video {dis_n} frames at "
            f"{dv.fps} fps; they must match frame for frame (pass align=True to resample the distorted video "
            "to the reference's rate and compare the frames both have)"
        )
    # aligned, a distorted video that differs in rate or in frame count is resampled to the reference's exact
    # rate by its timestamps: a variable-rate encode that dropped frames prints the reference's rate (an
    # average rounded to 2 decimals; Matroska's base rate) but pairs by index one frame off after each drop
    resample = align and (fps_differs or ref_n != dis_n)
    if first_frame and resample:
        raise ConfigError("first_frame needs the same frame rate and count in both videos")
    if not 0 <= first_frame < min(ref_n, dis_n):
        raise ConfigError(
            f"first_frame {first_frame} must leave frames to score (0..{min(ref_n, dis_n) - 1})"
        )
    # frames are paired by their index at the reference's exact rate, not by their container timestamps:
    # a stream copied into another container (mkv's 1 ms ticks against mp4's 1/30000 s) pairs each frame
    # with its neighbour half the time when timestamps are compared
    rate = rv.rate or Fraction(25)
    n = ref_n
    dis_after = dis_n
    if align:
        # what the resample gives, counted (an estimate from rounded average rates dropped the last frame)
        dis_after = count_frames(distorted, rate=rate, raw=raw_distorted) if resample else dis_n
        n = min(ref_n, dis_after)
        if n <= 0:
            raise FrameMismatchError("no frames in common after alignment")
    if "ms_ssim" in features and min(W, H) < 176:
        raise ConfigError(
            f"MS-SSIM needs a picture of at least 176x176 (five scales of an 11-tap window); this one is "
            f"{W}x{H}: leave ms_ssim out of the features or compare at a larger display size"
        )
    pix = _scoring_format(rv.pix_fmt)

    def prep(label: str, w: int, h: int, trim: tuple[int, int] | None, resample: bool) -> str:
        steps = []
        if trim is not None:
            steps.append(f"trim=start_frame={trim[0]}:end_frame={trim[1]}")
        if first_frame:
            steps.append(f"trim=start_frame={first_frame}")
        steps.append("setpts=PTS-STARTPTS")
        if resample:
            steps.append(f"fps={rate.numerator}/{rate.denominator}")
        steps.append(f"settb=AVTB,setpts=N*{rate.denominator}/({rate.numerator}*TB)")
        if (w, h) != (W, H) or (variable_size and label == "0"):
            steps.append(f"scale={W}:{H}:flags=bicubic")
        steps.append(f"format={pix}")
        if align:
            steps.append(f"trim=end_frame={n - first_frame}")
        return f"[{label}:V]{','.join(steps)}"

    with tempfile.TemporaryDirectory(prefix="reelkit-vmaf-") as tmp:
        # libvmaf writes its log in the temporary folder (a name of our own: ',', ';', '[' or a quote in the
        # asked-for folder broke the filtergraph, or sent the log elsewhere), copied to log_path after
        log = Path(tmp) / "vmaf.json"
        model_opt = "|".join(rf"{MODELS[m]}\\:name={m}" for m in models)
        opts = [f"model={model_opt}", "log_fmt=json", f"log_path={_escape(log.resolve())}"]
        if features:
            opts.append("feature=" + "|".join(f"name={FEATURES[f]}" for f in features))
        opts += [f"n_threads={max(1, threads)}", f"n_subsample={subsample}"]
        graph = (
            f"{prep('0', dv.width, dv.height, None, resample)}[dis];"
            f"{prep('1', rv.width, rv.height, reference_frames, False)}[ref];"
            f"[dis][ref]libvmaf={':'.join(opts)}"
        )
        keep = ["-reinit_filter", "0"] if variable_size else []  # the distorted video's chain only
        # pictures only (-an -sn -dn): an audio change mid-stream reconfigured the graph too
        # with ffmpeg's progress report (key=value lines on stderr) for the bar, in place of its stats line
        out = ["-an", "-sn", "-dn", "-f", "null", "-nostats", "-progress", "pipe:2", "-"]
        inputs = [*keep, *dis_in, "-i", str(distorted), *ref_in, "-i", str(reference)]
        changed = False
        with progress.task(f"scoring {Path(distorted).name}", total=n - first_frame) as bar:
            done = 0

            def on_line(line: str) -> None:
                nonlocal changed, done
                if m := _PROGRESS_FRAME.fullmatch(line):
                    now = min(int(m.group(1)), n - first_frame)
                    if now > done:
                        bar.advance(now - done)
                        done = now
                elif _VIDEO_CHANGED in line:
                    changed = True

            stream_ffmpeg(
                [*inputs, "-filter_complex", graph, *out],
                on_line=on_line,
                what=f"VMAF of {distorted}",
            )
        if changed:
            # ffmpeg restarted the graph at the change, and libvmaf's log holds only the frames after it
            if variable_size:
                raise StreamChangeError(
                    f"the reference {Path(reference).name} changes picture size or format mid-stream, so "
                    "only the frames after the change could be scored; give a reference of one picture "
                    "format throughout",
                    path=str(reference),
                )
            raise StreamChangeError(
                f"{Path(distorted).name} or {Path(reference).name} changes picture size or format "
                "mid-stream, so libvmaf scored only the frames after the change; pass variable_size=True to "
                "scale every distorted frame to the display size (the reference must not change)",
                path=str(distorted),
            )
        text = log.read_text()
        if log_path is not None:
            Path(log_path).parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(log_path, text)
        data = json.loads(text)
    frames = data.get("frames", [])
    expected = -(-(n - first_frame) // subsample)
    if frames and len(frames) < expected:
        # ffmpeg does not always say it restarted the graph (or a stream stopped decoding part way): the
        # count tells a partial log either way
        raise StreamChangeError(
            f"libvmaf scored {len(frames)} of the {expected} frames expected: {Path(distorted).name} or "
            f"{Path(reference).name} changes picture size or format mid-stream, or stops decoding part way; "
            "pass variable_size=True for a distorted video whose size changes",
            path=str(distorted),
        )
    per: dict[str, list[float]] = {}
    wanted = set(models) | {"psnr_y", "psnr_cb", "psnr_cr"} | {FEATURES[f] for f in features}
    for fr in frames:
        for key, value in fr["metrics"].items():
            if key in wanted:
                # null in the log: libvmaf had no value (MS-SSIM of very different pictures)
                per.setdefault(_RENAME.get(key, key), []).append(math.nan if value is None else float(value))
    if "psnr_y" in per and "psnr_cb" in per and "psnr_cr" in per:
        y, cb, cr = (np.asarray(per[k]) for k in ("psnr_y", "psnr_cb", "psnr_cr"))
        per["psnr_yuv"] = list((6 * y + cb + cr) / 8)
    missing = [
        m for m in (*models, *features) if _RENAME.get(FEATURES.get(m, m), m) not in per and m != "psnr"
    ]
    if "psnr" in features and "psnr_y" not in per:
        missing.append("psnr")
    if missing or not frames:
        raise ToolError(f"libvmaf returned no {', '.join(missing) or 'frames'} for {distorted}")
    per_frame = {k: np.asarray(v, dtype=np.float64) for k, v in per.items()}
    notes: list[str] = []  # what the figures leave out
    resampled = f" ({dis_after} at the reference's {rv.fps:g} fps)" if dis_after != dis_n else ""
    if n < ref_n:  # aligned: the distorted video is shorter
        notes.append(
            f"only the first {n} of the reference's {ref_n} frames were compared: the distorted video has "
            f"{dis_n} frames{resampled}"
        )
    elif dis_after > n:
        notes.append(
            f"only the first {n} of the distorted video's {dis_n} frames{resampled} were compared: the "
            f"reference has {ref_n}"
        )
    for k, v in per_frame.items():
        empty = int(np.isnan(v).sum())
        if empty:
            pooled = f"pooled over the {len(v) - empty} that have one" if empty < len(v) else "pooled as null"
            notes.append(f"{k}: libvmaf gave no value (null) for {empty} of {len(v)} frames; {pooled}")
    for info, vs in ((ref_info, rv), (dis_info, dv)):
        if vs.field_order in ("tff", "bff"):  # VMAF models progressive pictures: woven fields comb in motion
            notes.append(
                f"{Path(info.path).name} is flagged interlaced ({vs.field_order}): its fields were scored as "
                "woven frames, which VMAF was not trained on; deinterlace both first (ffmpeg -vf bwdif) for "
                "figures comparable with progressive deliveries"
            )
    numbers = np.asarray([int(fr.get("frameNum", i)) for i, fr in enumerate(frames)], dtype=np.int64)
    numbers += first_frame + (reference_frames[0] if reference_frames is not None else 0)
    return QualityResult(
        per_frame=per_frame,
        frame_numbers=numbers,
        width=W,
        height=H,
        frames=n,
        fps=rv.fps,
        models=tuple(models),
        libvmaf_version=str(data.get("version", "")),
        reference_frames=ref_n,
        distorted_frames=dis_n,
        notes=notes,
    )
