"""Build a DASH stream (a ladder of H.264 renditions, fixed-length segments, an MPD) from a clip with ffmpeg.

Each rendition is encoded with libx264 in constant-bitrate mode (``nal-hrd=cbr``), so a segment's size is
close to ``bitrate x segment length``, as in the streams ABR research uses. A segment is ``segment_s``
rounded to whole frames (:func:`segment_frames`; ``stream.json`` states the length that gives), and each
starts with the one keyframe its GOP has (fixed GOP, no scene-cut keyframes), so that every rendition's
segments align and the player may switch at any segment. ffmpeg's ``dash`` muxer writes the MPD with a
``SegmentTemplate`` (``$Number$``, a ``SegmentTimeline``), which :func:`reelkit.stream.abr.load_mpd`
reads; its segment lengths, presentation length and bandwidths are then made to state the segments written
(whole frames: 4.004 s at 29.97 fps; each ``bandwidth`` the rate ISO 23009-1 asks of them under
``minBufferTime``, container included, so slightly above the ladder's kbps). Players and the service tell
levels by Representation id (0 = lowest).

:func:`make_sample_clip` generates a clip from ffmpeg's test sources (``testsrc2`` or ``mandelbrot``, with a
sine tone), so nothing needs downloading; :func:`package_dash` takes that or any file ffmpeg reads.
:func:`build_dash` writes into a temporary folder and renames it into place, so a stream folder is either
complete or absent; ``stream.json`` beside the MPD describes it (:class:`DashStream`).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import warnings
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from reelkit import media
from reelkit._files import (
    atomic_path,
    naming_output,
    recover_folder,
    resolve_path,
    staging_folder,
    swap_in_folder,
)
from reelkit._mpd import presentation_s, referenced_files, state_segments
from reelkit.errors import ConfigError, DataFormatError, MediaError, ReelkitWarning
from reelkit.stream.abr.base import Video, load_mpd
from reelkit.stream.advice import MAX_RUNG_KBPS

__all__ = [
    "DEFAULT_LADDER",
    "INTERLACED",
    "SMALL_LADDER",
    "DashStream",
    "Rendition",
    "check_package_options",
    "load_stream",
    "make_sample_clip",
    "package_dash",
    "segment_frames",
]

STREAM_JSON = "stream.json"
MPD_NAME = "manifest.mpd"
_FORMAT = 1


@dataclass(frozen=True)
class Rendition:
    """One level of the ladder: frame size and target video bitrate."""

    width: int
    height: int
    bitrate_kbps: float

    def __post_init__(self) -> None:
        if not (16 <= self.width <= 8192 and 16 <= self.height <= 8192) or self.width % 2 or self.height % 2:
            raise ConfigError(f"rendition size must be even and 16-8192; got {self.width}x{self.height}")
        # inf or 1e9 failed in ffmpeg after the clip, and so did under 1 (x264 takes whole kbps, 0 is invalid)
        if not 1 <= self.bitrate_kbps <= MAX_RUNG_KBPS:
            raise ConfigError(
                f"rendition bitrate must be in [1, {MAX_RUNG_KBPS:g}] kbps; got {self.bitrate_kbps:g}"
            )

    @classmethod
    def parse(cls, text: str) -> Rendition:
        """``"640x360@800"`` (width x height @ kbps)."""
        try:
            size, _, kbps = text.strip().partition("@")
            w, _, h = size.lower().partition("x")
            width, height, rate = int(w), int(h), float(kbps)
        except ValueError:
            raise ConfigError(f"rendition {text!r}: expected WIDTHxHEIGHT@KBPS, e.g. 640x360@800") from None
        return cls(width, height, rate)


#: Five levels, 180p..720p at Pensieve's bitrates (its EnvivioDash3 ladder without the 1080p level).
DEFAULT_LADDER: tuple[Rendition, ...] = (
    Rendition(320, 180, 300),
    Rendition(640, 360, 750),
    Rendition(768, 432, 1200),
    Rendition(1024, 576, 1850),
    Rendition(1280, 720, 2850),
)
#: Four tiny levels: fast to encode (tests, quick runs).
SMALL_LADDER: tuple[Rendition, ...] = (
    Rendition(160, 90, 100),
    Rendition(192, 108, 250),
    Rendition(256, 144, 500),
    Rendition(320, 180, 1000),
)


@dataclass(frozen=True)
class DashStream:
    """A packaged stream: its folder, MPD, ladder, segment length and per-segment sizes (bytes)."""

    name: str
    folder: Path
    renditions: tuple[Rendition, ...]
    segment_s: float
    sizes: np.ndarray  # (levels, segments) bytes of the media segments (init segments excluded)
    fps: float
    audio: bool

    @property
    def mpd(self) -> Path:
        return self.folder / MPD_NAME

    @property
    def bitrates_kbps(self) -> list[float]:
        return [r.bitrate_kbps for r in self.renditions]

    @property
    def n_segments(self) -> int:
        return int(self.sizes.shape[1])

    def video(self) -> Video:
        """The stream as an ABR :class:`~reelkit.stream.abr.base.Video` (ladder kbps, real segment sizes)."""
        return Video(np.asarray(self.bitrates_kbps), self.segment_s, self.sizes, name=self.name)

    def to_json(self) -> dict[str, object]:
        return {
            "format": _FORMAT,
            "name": self.name,
            "renditions": [asdict(r) for r in self.renditions],
            "segment_s": self.segment_s,
            "fps": self.fps,
            "audio": self.audio,
            "mpd": MPD_NAME,
            "sizes": self.sizes.astype(np.int64).tolist(),
        }


def load_stream(folder: str | Path) -> DashStream:
    """Read a folder written by :func:`package_dash` (its ``stream.json``), whose MPD and every file the
    MPD references must be there (a player fails on the first one missing, after starting)."""
    f = Path(folder)
    path = f / STREAM_JSON
    if not f.exists():  # a packaging killed between its two renames left the complete old folder beside it
        recover_folder(f)
    if not path.is_file():
        raise DataFormatError(
            f"not a reelkit DASH folder (no {STREAM_JSON}); run 'reelkit abr package'", path=str(f)
        )
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        if doc.get("format") != _FORMAT:
            raise DataFormatError(f"unsupported stream format {doc.get('format')!r}", path=str(path))
        renditions = tuple(Rendition(**r) for r in doc["renditions"])
        sizes = np.asarray(doc["sizes"], dtype=np.float64)
        stream = DashStream(
            str(doc["name"]),
            f,
            renditions,
            float(doc["segment_s"]),
            sizes,
            float(doc["fps"]),
            bool(doc["audio"]),
        )
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise DataFormatError(f"unreadable stream description ({exc})", path=str(path)) from None
    except RecursionError:  # json recurses per level: '[' * 1000 was a traceback
        raise DataFormatError("unreadable stream description (nested too deeply)", path=str(path)) from None
    mpd = f / MPD_NAME
    try:
        missing = [n for n in referenced_files(mpd) if not (f / n).is_file()] if mpd.is_file() else [MPD_NAME]
    except (OSError, ValueError) as exc:  # unreadable, or a startNumber that is not a number
        raise DataFormatError(f"unreadable manifest ({exc}); repackage it", path=str(mpd)) from None
    if missing:
        more = f" and {len(missing) - 1} more files" if len(missing) > 1 else ""
        raise DataFormatError(f"{missing[0]}{more} missing (repackage it: reelkit abr package)", path=str(f))
    return stream


#: the longest segment, and the longest clip or cut, taken (ffmpeg fails on 1e20 s with a raw option error)
MAX_SEGMENT_S = 60.0
MAX_DURATION_S = 86_400.0

#: the field orders (:attr:`reelkit.media.VideoStream.field_order`) of a clip that is deinterlaced
INTERLACED = ("tff", "bff")

#: ffmpeg's test sources a sample clip is made of
SAMPLE_SOURCES = ("testsrc2", "mandelbrot")


def make_sample_clip(
    path: str | Path,
    *,
    duration_s: float = 60.0,
    size: tuple[int, int] = (640, 360),
    fps: int = 24,
    source: str = "testsrc2",
    audio: bool = True,
) -> Path:
    """Generate a test clip with ffmpeg's ``testsrc2`` or ``mandelbrot`` source (and a 440 Hz tone)."""
    if source not in SAMPLE_SOURCES:
        raise ConfigError(f"unknown sample source {source!r}; use {' or '.join(SAMPLE_SOURCES)}")
    if not 0 < duration_s <= MAX_DURATION_S:
        raise ConfigError(
            f"clip duration must be > 0 s and at most {MAX_DURATION_S:g} s (24 h); got {duration_s:g}"
        )
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    w, h = size
    args = ["-v", "error", "-y", "-f", "lavfi", "-i", f"{source}=size={w}x{h}:rate={fps}"]
    if audio:
        args += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"]
    args += [
        "-t",
        f"{duration_s:.6f}",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-crf",
        "18",
        "-pix_fmt",
        "yuv420p",
    ]
    if audio:
        args += ["-c:a", "aac", "-b:a", "96k", "-shortest"]
    with atomic_path(out, f".part{out.suffix}") as tmp:
        media.run_ffmpeg([*args, str(tmp)], what="generating the sample clip")
    return out


def _dash_args(
    clip: Path,
    out_mpd: Path,
    renditions: tuple[Rendition, ...],
    segment_s: float,
    fps: Fraction,
    audio: bool,
    preset: str,
    max_duration_s: float | None,
    *,
    field_order: str | None = None,
) -> list[str]:
    n = len(renditions)
    gop = segment_frames(segment_s, fps)
    # interlaced fields scaled as progressive frames came out combed in every frame: bwdif makes a frame of
    # each frame (send_frame: the clip's frame rate, not doubled), from the fields in the probed order
    deint = f"bwdif=mode=send_frame:parity={field_order}:deint=all," if field_order in INTERLACED else ""
    chains = [f"[0:V]{deint}fps={fps},split={n}" + "".join(f"[s{i}]" for i in range(n))]
    chains += [f"[s{i}]scale={r.width}:{r.height},setsar=1[v{i}]" for i, r in enumerate(renditions)]
    if audio:  # a track starting after the picture is padded with silence to start with it: its delay was
        # an edit list alone, which MSE ignores (Chromium played a 0.98 s delay that much early)
        chains += ["[0:a:0]aresample=async=1:first_pts=0[a]"]
    args = ["-v", "error", "-y", "-i", str(clip)]
    if max_duration_s is not None:
        args += ["-t", f"{max_duration_s:.6f}"]  # :g kept six digits: 12345.67 s cut at 12345.7
    args += ["-filter_complex", ";".join(chains)]
    for i in range(n):
        args += ["-map", f"[v{i}]"]
    if audio:
        args += ["-map", "[a]", "-c:a", "aac", "-b:a", "64k", "-ac", "2"]
    else:
        args += ["-an"]
    args += ["-c:v", "libx264", "-preset", preset, "-pix_fmt", "yuv420p", "-profile:v", "main"]
    args += ["-x264-params", "nal-hrd=cbr:force-cfr=1", "-g", str(gop), "-keyint_min", str(gop)]
    # keyframes forced on the GOP's frames (by frame number): forced by time, at 4.1 s of 24 fps frames, they
    # fell on frame 99 while the GOP of 98 put another on frame 98 (segments of 99, 196 and 89 frames)
    args += ["-sc_threshold", "0", "-force_key_frames", f"expr:gte(n,n_forced*{gop})"]
    for i, r in enumerate(renditions):
        k = f"{r.bitrate_kbps:g}k"
        args += [f"-b:v:{i}", k, f"-maxrate:v:{i}", k, f"-bufsize:v:{i}", f"{r.bitrate_kbps * 2:g}k"]
    sets = "id=0,streams=v" + (" id=1,streams=a" if audio else "")
    # a timeline states each segment's real length (a GOP of whole frames: 4.004 s at 29.97 fps)
    # the muxer cuts at the first keyframe at or past each multiple of -seg_duration: the GOP's length,
    # rounded down to the microsecond (ffmpeg's unit) so that a keyframe is never just short of it
    seg = f"{math.floor(Fraction(gop) / fps * 10**6) / 10**6:.6f}"
    args += ["-f", "dash", "-seg_duration", seg, "-use_template", "1", "-use_timeline", "1"]
    args += ["-init_seg_name", "init-$RepresentationID$.m4s"]
    args += ["-media_seg_name", "chunk-$RepresentationID$-$Number%05d$.m4s"]
    args += ["-adaptation_sets", sets, media.local_output(out_mpd)]
    return args


def segment_frames(segment_s: float, fps: Fraction | float) -> int:
    """Frames in a segment of about ``segment_s`` seconds at ``fps``: a whole number, at least one (a
    segment holds whole frames, so it lasts ``segment_frames / fps``: 98 frames, 4.083 s, for 4.1 s at 24
    fps; 120 frames, 4.004 s, for 4 s at 29.97)."""
    return max(1, round(float(fps) * segment_s))


def _check_not_cut_short(src: Path, log: str, declared_s: float | None, packaged_s: float) -> None:
    """Refuse a stream that ends short of the clip's duration where ffmpeg said the clip's data is damaged
    or ends early (:data:`reelkit.media.DAMAGED_WORDS`): a truncated download packaged 'successfully' into
    6.6 s of a 12 s clip. A stream merely shorter than the container (a soundtrack outlasting the picture)
    passes."""
    damaged = [line for line in log.splitlines() if any(w in line for w in media.DAMAGED_WORDS)]
    if damaged and declared_s and media.ends_short(declared_s, packaged_s):
        said = re.sub(r"^(?:\[[^\]]*\]\s*)+", "", damaged[-1])  # without ffmpeg's [component @ 0x...]
        raise MediaError(
            f"is damaged or cut short (a truncated or partial download?): its stream would end at "
            f"{packaged_s:.1f} s of the {declared_s:.1f} s the file declares (ffmpeg: {said!r}); repair it "
            "or fetch it again",
            path=str(src),
        )


def _rungs_within(
    ladder: tuple[Rendition, ...], source: media.VideoStream, src: Path
) -> tuple[Rendition, ...]:
    """The rungs not taller than the clip's picture (the ladder has its shape), as ``reelkit video ladder``
    leaves out rungs above the source: upscaling spends bits on no more detail. A warning names those left
    out; a ladder of none is refused."""
    if source.height <= 0:
        return ladder
    kept = tuple(r for r in ladder if r.height <= source.height)
    if not kept:
        raise ConfigError(
            f"{src}: every rung is larger than the clip's {source.width}x{source.height} picture; give "
            f"--ladder (renditions=) sizes at most {source.height} lines high"
        )
    if len(kept) < len(ladder):
        dropped = ", ".join(f"{r.width}x{r.height}@{r.bitrate_kbps:g}" for r in ladder if r not in kept)
        warnings.warn(
            f"{src}: rungs larger than the clip's {source.width}x{source.height} picture left out "
            f"(no upscaling): {dropped}",
            ReelkitWarning,
            stacklevel=3,
        )
    return kept


def _even(x: float) -> int:
    return max(16, round(x / 2.0) * 2)


def check_package_options(
    out_dir: str | Path,
    renditions: tuple[Rendition, ...] | list[Rendition],
    *,
    clip: str | Path | None = None,
    segment_s: float = 4.0,
    preset: str = "veryfast",
    max_duration_s: float | None = None,
    overwrite: bool = False,
    source: media.VideoStream | None = None,
    fps: float | None = None,
) -> tuple[Rendition, ...]:
    """Validate what :func:`package_dash` is asked to do before any encoding; returns the sorted ladder.

    ``source``: the clip's video stream, whose shape as shown the renditions must have (within 3%): each
    rendition is scaled to its size with square pixels, so another shape would stretch the picture.
    ``fps``: the rate the stream is encoded at; a segment holds at least one frame."""
    ladder = tuple(sorted(renditions, key=lambda r: r.bitrate_kbps))
    if not ladder:
        raise ConfigError("the ladder needs at least one rendition")
    if len({r.bitrate_kbps for r in ladder}) != len(ladder):
        raise ConfigError("rendition bitrates must differ")
    aspects = [r.width / r.height for r in ladder]
    if max(aspects) / min(aspects) > 1.01:  # 426x240 and 854x480 are 16:9 to within 0.2%
        frames = ", ".join(f"{r.width}x{r.height}" for r in ladder)
        raise ConfigError(
            f"renditions must share one aspect ratio (one DASH adaptation set); got {frames}: "
            "for 16:9 use e.g. 320x180, 640x360, 768x432, 1024x576, 1280x720"
        )
    if source is not None and source.display_aspect > 0:
        shown = source.display_aspect
        # 3%: BT.601's SD pixel shapes make the full 720 columns 2.3% wider than 4:3 or 16:9 (only 704 of
        # them are the picture), and a standard 4:3 or 16:9 ladder is right for such a source
        if max(aspects[0], shown) / min(aspects[0], shown) > 1.03:
            sar = source.sar or 1
            pixels = f" with {sar.numerator}:{sar.denominator} pixels" if sar != 1 else ""
            areas = [r.width * r.height for r in ladder]  # the same pixels in the clip's shape
            like = ", ".join(f"{_even(math.sqrt(a * shown))}x{_even(math.sqrt(a / shown))}" for a in areas)
            first = f"{ladder[0].width}x{ladder[0].height}"
            raise ConfigError(
                f"the renditions are {aspects[0]:.3f}:1 ({first}) but the clip's picture is {shown:.3f}:1 "
                f"({source.width}x{source.height}{pixels}), which they would stretch; give --ladder "
                f"(renditions=) sizes of its shape, e.g. {like}"
            )
    if not 0.5 <= segment_s <= MAX_SEGMENT_S:  # a shorter one (a frame or two) wrote an MPD its segments
        # contradict; a longer one overflowed (1e308: a traceback) or failed in ffmpeg
        raise ConfigError(f"segment length (--segment) must be 0.5 to {MAX_SEGMENT_S:g} s; got {segment_s:g}")
    if fps is not None and segment_s * fps < 1 - 1e-9:  # the MPD said 0.5 s segments of 1 s frames
        raise ConfigError(
            f"segment length (--segment) {segment_s:g} s is shorter than a frame at {fps:.4g} fps; "
            f"give at least {math.ceil(1000 / fps) / 1000:g} s"
        )
    if max_duration_s is not None and not 0 < max_duration_s <= MAX_DURATION_S:
        raise ConfigError(
            f"the cut (--duration) must be > 0 s and at most {MAX_DURATION_S:g} s (24 h); "
            f"got {max_duration_s:g}"
        )
    if preset not in media.X264_PRESETS:
        raise ConfigError(f"unknown x264 preset {preset!r}; choose one of {', '.join(media.X264_PRESETS)}")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} is a file; the output must be a folder")
    if clip is not None and out.exists() and out.resolve() in Path(clip).resolve().parents:
        raise ConfigError(
            f"{out}: the clip {Path(clip).name} is inside the output folder, which packaging replaces; "
            "choose another folder"
        )
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise ConfigError(
                f"{out} exists and is not empty; choose another folder or replace it "
                "(--overwrite, overwrite=True)"
            )
        here = Path.cwd().resolve()
        if out.resolve() == here or out.resolve() in here.parents:  # "-o ." emptied the working folder
            raise ConfigError(f"{out}: is the working folder or holds it; give a folder for the stream")
        if not (out / STREAM_JSON).is_file():  # replace only what packaging wrote
            raise ConfigError(
                f"{out}: is not a packaged stream (no {STREAM_JSON}), so --overwrite does not replace it; "
                "choose another folder"
            )
    return ladder


def package_dash(
    clip: str | Path,
    out_dir: str | Path,
    *,
    renditions: tuple[Rendition, ...] | list[Rendition] = DEFAULT_LADDER,
    segment_s: float = 4.0,
    fps: float | None = None,
    audio: bool = False,
    preset: str = "veryfast",
    max_duration_s: float | None = None,
    name: str | None = None,
    overwrite: bool = False,
) -> DashStream:
    """Encode ``clip`` into a DASH stream in ``out_dir`` (see the module docstring) and describe it.

    ``segment_s`` is rounded to whole frames at the stream's rate (:func:`segment_frames`); the stream's
    ``segment_s`` is the length that gives. ``audio`` adds the clip's first audio track as its own
    adaptation set (AAC), padded with silence where it starts after the picture. An interlaced clip (its
    field order :data:`INTERLACED`) is deinterlaced (bwdif, a frame per frame). Rungs taller than the clip's
    picture are left out with a :class:`~reelkit.errors.ReelkitWarning` (none left: :class:`ConfigError`). A
    trailing segment shorter
    than the others is dropped from the description (the ABR simulator wants whole chunks); it stays in the
    MPD so the player still plays to the end.
    """
    src = Path(clip)
    info = media.probe(src)
    if not info.video:
        raise MediaError("has no video stream", path=str(src))
    media.check_picture(info)
    if audio and not info.audio:
        raise MediaError("has no audio stream; package it without audio", path=str(src))
    # the exact rate: ffmpeg prints 23.98 for 24000/1001, and resampling to that duplicated a frame every
    # ~250 s
    rate = media.frame_rate(fps) if fps else (info.video[0].rate or Fraction(24))
    # a packaging killed between its swap's two renames left the old folder beside: put back before the
    # folder is judged (else it read as absent, and was replaced without --overwrite)
    recover_folder(resolve_path(out_dir))
    ladder = check_package_options(
        out_dir,
        renditions,
        clip=src,
        segment_s=segment_s,
        preset=preset,
        max_duration_s=max_duration_s,
        overwrite=overwrite,
        source=info.video[0],
        fps=float(rate),
    )
    ladder = _rungs_within(ladder, info.video[0], src)
    out = resolve_path(out_dir)  # "." has no name and is its own parent: the build folder goes beside it
    out.parent.mkdir(parents=True, exist_ok=True)
    with naming_output(out):
        work = staging_folder(out)  # with the umask's mode: mkdtemp's 0700 kept a web server out
    try:
        proc = media.run_ffmpeg(
            _dash_args(
                src,
                work / MPD_NAME,
                ladder,
                segment_s,
                rate,
                audio,
                preset,
                max_duration_s,
                field_order=info.video[0].field_order,
            ),
            what=f"packaging {src} as DASH",
        )
        # the real segment lengths, presentation length and bandwidths (ffmpeg's are the targets, which
        # whole frames and the container's overhead exceed), and no bitstreamSwitching (each rung has its
        # own init segment, its own SPS/PPS); then bandwidths ascend with the ladder, whose order players
        # and load_mpd take from them
        state_segments(work / MPD_NAME, ascending=True)
        seg_s = segment_frames(segment_s, rate) / float(rate)  # what a segment of whole frames lasts
        video = load_mpd(work / MPD_NAME, chunk_s=seg_s)
        sizes = np.asarray(video.sizes)
        dur = info.duration_s if max_duration_s is None else min(info.duration_s or 0.0, max_duration_s)
        log = proc.stderr.decode("utf-8", "replace")
        _check_not_cut_short(src, log, dur, presentation_s(work / MPD_NAME))
        # a short last segment (whole frames at an NTSC rate run past the container's rounded duration:
        # 2 x 2.002 s of a 4.0 s cut is no short segment, and dropping it lost a whole one)
        if dur and sizes.shape[1] * seg_s > dur + 1.0 / float(rate) and sizes.shape[1] > 1:
            sizes = sizes[:, :-1]
        stream = DashStream(name or out.name, out, ladder, seg_s, sizes, float(rate), audio)
        (work / STREAM_JSON).write_text(json.dumps(stream.to_json(), indent=1), encoding="utf-8")
        # in one step where the system can, else by two renames a reader's recover_folder completes: a
        # Ctrl-C while the old folder was removed left half a package, and then removed the new one
        swap_in_folder(work, out)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return stream
