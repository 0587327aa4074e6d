"""The one place that runs ffmpeg.

reelkit uses the ffmpeg binary shipped by the ``imageio-ffmpeg`` wheel (built with libx264 and libvmaf), so no
system package is needed; ``REELKIT_FFMPEG`` overrides the path. Other modules build ffmpeg argument lists and
call :func:`run_ffmpeg` (or a helper here); they never start ffmpeg themselves.

There is no ffprobe in the wheel: :func:`probe` reads the stream description ffmpeg prints for ``-i``.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from reelkit._files import atomic_path, check_input_file
from reelkit.errors import MediaError, TimeLimitError, ToolError

__all__ = [
    "X264_PRESETS",
    "AudioStream",
    "MediaInfo",
    "VideoStream",
    "allow_children",
    "check_channels",
    "decode_audio",
    "ffmpeg_exe",
    "ffmpeg_has",
    "job_deadline",
    "local_output",
    "probe",
    "run_ffmpeg",
    "stream_ffmpeg",
    "time_limit",
    "write_audio",
]


#: x264's (and x265's) presets, fastest first (``-preset``).
X264_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
    "placebo",
)


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary: ``$REELKIT_FFMPEG``, else the one in the imageio-ffmpeg wheel."""
    override = os.environ.get("REELKIT_FFMPEG")
    if override:
        return override
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover - a dependency of reelkit
        raise ToolError("ffmpeg is not available: install the imageio-ffmpeg package") from exc
    return str(imageio_ffmpeg.get_ffmpeg_exe())


@lru_cache(maxsize=64)
def ffmpeg_has(kind: str, name: str) -> bool:
    """Whether this ffmpeg has a filter / encoder / decoder (``kind`` is ``filters``, ``encoders``, ...)."""
    out = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", f"-{kind}"], capture_output=True, text=True, check=False
    ).stdout
    return any(len(parts := line.split()) >= 2 and parts[1] == name for line in out.splitlines())


_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "reelkit_ffmpeg_deadline", default=None
)


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Every ffmpeg run started inside (in this thread or context) must end within ``seconds`` of entering:
    a run still going then is killed and raises :class:`~reelkit.errors.TimeLimitError`. For services, so
    that one pathological upload cannot hold a worker for ever."""
    outer = _DEADLINE.get()
    mine = time.monotonic() + seconds
    token = _DEADLINE.set(mine if outer is None else min(outer, mine))  # an inner limit never extends one
    try:
        yield
    finally:
        _DEADLINE.reset(token)


#: The demuxers a file from an untrusted source (an upload to the service) may be read with: media
#: containers and elementary streams, none that opens the files or URLs it names (HLS, DASH and its WebM
#: manifest, concat, IMF, SDP/RTP/RTSP, image sequences, scripts such as AviSynth). ffmpeg finds a DASH
#: manifest anywhere in its first bytes (after an XML comment too), so no test of the bytes replaces this.
UNTRUSTED_FORMATS = (
    "mov", "matroska", "avi", "mxf", "mpegts", "mpeg", "mpegvideo", "asf", "flv", "ogg", "nut", "dv", "gxf",
    "wav", "w64", "aiff", "caf", "flac", "mp3", "aac", "loas", "ac3", "eac3", "dts", "dtshd", "truehd", "mlp",
    "wv", "tta", "ape", "amr", "au", "dsf", "h264", "hevc", "vvc", "m4v", "av1", "obu", "ivf", "yuv4mpegpipe",
)  # fmt: skip
_UNTRUSTED: contextvars.ContextVar[bool] = contextvars.ContextVar("reelkit_untrusted_inputs", default=False)


@contextmanager
def untrusted_inputs() -> Iterator[None]:
    """Within this block every ffmpeg run reads its input files with :data:`UNTRUSTED_FORMATS` only, and
    through the ``file`` protocol only: an upload that is a manifest or playlist cannot make ffmpeg open
    other files of the server (or URLs); it fails as a file ffmpeg cannot read."""
    token = _UNTRUSTED.set(True)
    try:
        yield
    finally:
        _UNTRUSTED.reset(token)


def _guard(operand: str) -> list[str]:
    """The options before ``-i operand`` that :func:`untrusted_inputs` asks for (none outside it, and none
    for a pipe or a filter graph, which are not files)."""
    if not _UNTRUSTED.get() or not os.path.exists(operand):
        return []
    return ["-protocol_whitelist", "file", "-format_whitelist", ",".join(UNTRUSTED_FORMATS)]


def _local_input(arg: str) -> str:
    """An input file as ffmpeg must be given it: ffmpeg reads ``ep:1.mp4`` as the URL scheme ``ep``
    ("Protocol not found"), so an existing file whose name has a ``:`` before any ``/`` goes by its absolute
    path (a lavfi graph, a URL, or ``-`` does not exist as a file and is passed as it is)."""
    head = arg.split("/", 1)[0]
    if ":" in head and os.path.exists(arg):
        return os.path.abspath(arg)
    return arg


def local_output(path: str | Path) -> str:
    """An output file as ffmpeg must be given it: by its absolute path (a relative ``ep:1/manifest.mpd``
    is read as the URL scheme ``ep``). Outputs written through :func:`~reelkit._files.atomic_path` are
    absolute already; a muxer that names files itself (DASH) needs this."""
    return os.path.abspath(path)


def _inputs(args: Sequence[str]) -> list[str]:
    """``args`` with each ``-i`` operand made safe for ffmpeg (:func:`_local_input`, :func:`_guard`)."""
    out: list[str] = []
    i = 0
    while i < len(args):
        if args[i] == "-i" and i + 1 < len(args):
            out += [*_guard(args[i + 1]), "-i", _local_input(args[i + 1])]
            i += 2
        else:
            out.append(args[i])
            i += 1
    return out


def job_deadline() -> float | None:
    """The current :func:`time_limit`'s end (:func:`time.monotonic` seconds), or None: what an executor
    hands to its workers so that the limit holds there too."""
    return _DEADLINE.get()


def _limit(timeout: float | None, what: str) -> float | None:
    """``timeout`` shortened to what is left of the current :func:`time_limit`."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeLimitError(f"{what}: the time limit for this job has passed")
    return left if timeout is None else min(timeout, left)


_LIVE: set[subprocess.Popen[bytes]] = set()
#: re-entrant: the SIGTERM handler (:func:`stop_children`) may run in the main thread while it holds it
_LIVE_LOCK = threading.RLock()
_STOPPING = threading.Event()


def stop_children(wait_s: float = 3.0) -> None:
    """Kill every ffmpeg this process started that still runs, and start no more: the CLI calls it when it
    is told to stop (SIGTERM), so that encodes running in worker threads do not outlive it. Waits up to
    ``wait_s`` in all for them to be gone (a killed libvmaf run under load was still exiting when the CLI
    had returned)."""
    with _LIVE_LOCK:
        _STOPPING.set()
        live = list(_LIVE)
    for child in live:
        with contextlib.suppress(OSError):
            child.kill()
    deadline = time.monotonic() + wait_s
    for child in live:
        # bounded: a thread (or the code this handler interrupted) may be reaping the same child
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            child.wait(timeout=max(0.0, deadline - time.monotonic()))


def allow_children() -> None:
    """Undo :func:`stop_children` for what runs next: a command run again in the same process (tests, a
    shell embedding the CLI) after one was interrupted may start ffmpeg again."""
    with _LIVE_LOCK:
        _STOPPING.clear()


def _start(
    cmd: list[str], what: str, *, stdin: int | None = None, stdout: int = subprocess.PIPE
) -> subprocess.Popen[bytes]:
    """Start ffmpeg as one of :data:`_LIVE` (killed by :func:`stop_children`), unless the process is
    stopping, even while it starts (the SIGTERM handler ran in this thread)."""
    with _LIVE_LOCK:
        if _STOPPING.is_set():
            raise ToolError(f"{what}: not started, the process is stopping")
        child = subprocess.Popen(cmd, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE)
        try:
            _LIVE.add(child)
            if _STOPPING.is_set():
                raise ToolError(f"{what}: stopped as it started")
        except BaseException:
            child.kill()
            child.wait()
            raise
    return child


def _over_time(what: str, limit: float | None, timeout: float | None) -> ToolError:
    """The error for a run stopped at ``limit``: the job's time limit, or this run's own ``timeout``."""
    if limit != timeout:
        return TimeLimitError(f"{what}: ffmpeg was stopped at the job's time limit")
    return ToolError(f"{what}: ffmpeg did not finish within {timeout} s")


#: ffmpeg's lines that say what went wrong: its last lines are often only "Conversion failed!" after the
#: statistics, the cause ("input width must match.", "Unrecognized option", "does not contain any stream")
#: just before them
_SAYS_WHY = re.compile(
    r"error|must|invalid|failed|no such|not found|unrecognized|unknown|does not|cannot|could not|unable|"
    r"denied|unsupported",
    re.IGNORECASE,
)
#: Lines that match but say nothing of the cause: a damaged picture's decoder lines ("error" on every
#: damaged block), the muxer's statistics ("muxing overhead: unknown") and a thread's closing line
_DECODER_NOISE = re.compile(
    r"error while decoding MB|concealing \d+ .*errors|muxing overhead|^frame=|Terminating thread",
    re.IGNORECASE,
)
#: The ``key=value`` lines of ffmpeg's ``-progress`` report: never a reason for a failure
_PROGRESS_LINE = re.compile(r"[a-z_0-9]+=\S*")
#: The lines of a failure that are kept (the cause comes last, just before ffmpeg's closing lines)
_SAID_KEPT = 5


def _says_why(line: str) -> bool:
    return bool(_SAYS_WHY.search(line)) and not _DECODER_NOISE.search(line)


def _failure(lines: Sequence[str]) -> str:
    """ffmpeg's account of a failure, one line: its last lines that say what went wrong (decoder noise left
    out), or else its last three lines."""
    lines = [t.strip() for t in lines if t.strip()]
    said = list(dict.fromkeys(t for t in lines if _says_why(t)))
    kept = said[-_SAID_KEPT:] or lines[-3:]
    return " / ".join(kept) or "no message"


def run_ffmpeg(
    args: Sequence[str],
    *,
    input_bytes: bytes | None = None,
    timeout: float | None = None,
    what: str = "ffmpeg",
) -> subprocess.CompletedProcess[bytes]:
    """Run ``ffmpeg -hide_banner -nostdin <args>`` and return the finished process (stdout/stderr as bytes).

    A non-zero exit raises :class:`ToolError` quoting the lines where ffmpeg says what went wrong (else its
    last lines); ``what`` names the job in it.
    """
    cmd = [ffmpeg_exe(), "-hide_banner", *([] if input_bytes is not None else ["-nostdin"]), *_inputs(args)]
    limit = _limit(timeout, what)
    child = _start(cmd, what, stdin=subprocess.PIPE if input_bytes is not None else None)
    try:
        with child:
            try:
                out, err = child.communicate(input_bytes, timeout=limit)
            except subprocess.TimeoutExpired as exc:
                child.kill()
                child.communicate()
                raise _over_time(what, limit, timeout) from exc
            except BaseException:  # interrupted: the child must not outlive the call
                child.kill()
                raise
    finally:
        with _LIVE_LOCK:
            _LIVE.discard(child)
    proc = subprocess.CompletedProcess(cmd, child.returncode, out, err)
    if proc.returncode != 0:
        raise ToolError(
            f"{what}: ffmpeg failed: {_failure(proc.stderr.decode('utf-8', 'replace').splitlines())}"
        )
    return proc


def stream_ffmpeg(
    args: Sequence[str],
    *,
    on_line: Callable[[str], None],
    on_block: Callable[[bytes], None] | None = None,
    block_bytes: int = 0,
    timeout: float | None = None,
    what: str = "ffmpeg",
) -> None:
    """Run ``ffmpeg -hide_banner -nostdin <args>`` as :func:`run_ffmpeg` does, but hand each line of its
    stderr to ``on_line`` as it comes and its stdout to ``on_block`` in blocks of ``block_bytes`` (a raw
    frame each; a thread reads them), so that a long programme's log and pictures are never held whole.

    A non-zero exit raises :class:`ToolError` quoting ffmpeg's lines as :func:`run_ffmpeg` does; the time
    limits are :func:`run_ffmpeg`'s. An exception in a callback stops ffmpeg and is raised here.
    """
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", *_inputs(args)]
    limit = _limit(timeout, what)
    reading = on_block is not None and block_bytes > 0
    child = _start(cmd, what, stdout=subprocess.PIPE if reading else subprocess.DEVNULL)
    timed_out = threading.Event()

    def stop_at_limit() -> None:
        timed_out.set()
        with contextlib.suppress(OSError):
            child.kill()

    timer = threading.Timer(limit, stop_at_limit) if limit is not None else None
    failed: list[BaseException] = []

    def read_blocks() -> None:
        assert child.stdout is not None and on_block is not None
        try:
            while block := child.stdout.read(block_bytes):
                on_block(block)
        except BaseException as exc:  # handed to the caller's thread
            failed.append(exc)
            with contextlib.suppress(OSError):
                child.kill()

    reader = threading.Thread(target=read_blocks, daemon=True) if reading else None
    tail: deque[str] = deque(maxlen=3)
    said: deque[str] = deque(maxlen=_SAID_KEPT)  # the last lines that say what went wrong
    try:
        if timer is not None:
            timer.start()
        if reader is not None:
            reader.start()
        assert child.stderr is not None
        for raw in child.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line.strip() and not _PROGRESS_LINE.fullmatch(line.strip()):
                tail.append(line.strip())
                if _says_why(line):
                    said.append(line.strip())
            on_line(line)
        child.wait()
        if reader is not None:
            reader.join()
    except BaseException:  # a callback failed or the caller was interrupted: the child must not outlive it
        child.kill()
        child.wait()
        raise
    finally:
        if timer is not None:
            timer.cancel()
        with _LIVE_LOCK:
            _LIVE.discard(child)
        for pipe in (child.stdout, child.stderr):
            if pipe is not None:
                pipe.close()
    if failed:
        raise failed[0]
    if timed_out.is_set():
        raise _over_time(what, limit, timeout)
    if child.returncode != 0:
        raise ToolError(f"{what}: ffmpeg failed: {_failure([*said, *tail])}")


@dataclass(frozen=True)
class AudioStream:
    index: int
    codec: str
    sample_rate: int
    channels: int
    layout: str
    #: Where the stream starts on the file's timeline, in seconds after the file's start (a delayed
    #: soundtrack muxed with ``-itsoffset 3``: 3.0); 0 when it starts with the file.
    start_s: float = 0.0
    #: The stream's language tag as written (``eng``), ``None`` when it has none.
    language: str | None = None
    #: Flagged as the default track: the one a player plays (``(default)`` in ffmpeg's stream line).
    default: bool = False


def frame_rate(fps: float) -> Fraction:
    """The exact rate behind the rate ffmpeg prints: NTSC rates are printed rounded (23.98 is 24000/1001,
    29.97 is 30000/1001), and resampling to the rounded value shifts every frame against the original."""
    for base in (24, 30, 48, 60, 120, 240):
        ntsc = Fraction(base * 1000, 1001)
        if abs(fps - float(ntsc)) < 0.006:
            return ntsc
    return Fraction(fps).limit_denominator(1001)


@dataclass(frozen=True)
class VideoStream:
    """A video stream as decoded: ``width``/``height`` are the displayed size (a stream stored sideways with a
    display matrix, as phones record, is reported upright, as ffmpeg decodes it); ``rotation`` is that
    matrix's angle in degrees; ``tbr`` is ffmpeg's guess of the stream's base rate, which differs from the
    average ``fps`` when the frame rate varies."""

    index: int
    codec: str
    width: int
    height: int
    fps: float | None
    pix_fmt: str
    rotation: int = 0
    tbr: float | None = None
    #: How the stream is flagged: ``"progressive"``, ``"tff"``, ``"bff"``, or ``None`` when it does not say.
    field_order: str | None = None
    #: The sample (pixel) aspect ratio as stored, ``None`` when ffmpeg gives none (square pixels).
    sar: Fraction | None = None

    @property
    def display_aspect(self) -> float:
        """Width over height of the picture as shown: pixels stretched by ``sar``, upright."""
        if not self.width or not self.height:
            return 0.0
        s = float(self.sar) if self.sar else 1.0
        return self.width / (self.height * s) if self.rotation in (90, 270) else self.width * s / self.height

    @property
    def variable_rate(self) -> bool:
        """Whether the frame rate varies: the average rate is neither the base rate nor half of it (an
        interlaced stream's base rate is its field rate)."""
        if not self.fps or not self.tbr:
            return False
        return all(abs(self.fps * k / self.tbr - 1.0) > 0.01 for k in (1, 2))

    @property
    def rate(self) -> Fraction | None:
        """The exact frame rate (see :func:`frame_rate`): ffmpeg's average. A constant-rate stream with a
        few frames dropped averages under its rate (25 fps missing 1 frame in 250 prints 24.90); what its
        frames are labelled at is :func:`picture_rate`'s (QC only: encodes and frame pairing keep the
        average, which matches the frames' own times over the title)."""
        return frame_rate(self.fps) if self.fps else None


#: a stretch of at least this many intervals in a row of one whole multiple (> 1) of the base interval is
#: another rate (30 fps then 15), not frames dropped here and there
RATE_RUN = 3


def steady_rate(times: Sequence[float], tbr: float | None = None) -> Fraction | None:
    """The constant rate of frames starting at ``times`` (seconds, any order), frames missing or not, or
    ``None`` when the rate varies (or there are fewer than 4 intervals to tell).

    The base interval is the median one; the rate is constant when every interval is a whole multiple of it
    (within a tenth: a millisecond clock's 33/34 ms at 29.97 fps), the longer ones holes where frames are
    missing, not a run of :data:`RATE_RUN` or more of one length (a stretch at another rate). The rate is
    the frames the span holds, the missing ones counted, over the span: ``tbr`` (or half of it, a field
    rate) when within 0.2% of it, else that rate as :func:`frame_rate` reads it (NTSC exact)."""
    t = np.unique(np.asarray(times, dtype=np.float64))
    gaps = np.diff(t)
    if len(gaps) < 4:
        return None
    unit = float(np.median(gaps))
    if not unit > 0:
        return None
    steps = np.rint(gaps / unit)
    if np.any(steps < 1) or np.any(np.abs(gaps - steps * unit) > 0.1 * unit):
        return None
    run = 0
    for prev, step in zip(np.concatenate(([0.0], steps[:-1])), steps, strict=True):
        run = run + 1 if step > 1 and step == prev else 1
        if step > 1 and run >= RATE_RUN:
            return None
    est = float(steps.sum()) / float(t[-1] - t[0])
    for base in (tbr, tbr / 2) if tbr else ():
        if abs(est / base - 1.0) <= 0.002:
            return frame_rate(base)
    return frame_rate(round(est, 2))


_TIMEBASE = re.compile(r"^#tb 0: (\d+)/(\d+)", re.MULTILINE)
_PTS = re.compile(r"^0,\s*-?\d+,\s*(-?\d+),.*$", re.MULTILINE)
_FLAGS = re.compile(r"F=0x([0-9A-Fa-f]+)")


def discarded(packet_line: str) -> bool:
    """Whether a ``framecrc`` packet line is flagged discard (``F=0x4``): a packet an MP4's edit list hides
    (a cut made with ``-c copy`` keeps the frames before the cut's keyframe, not shown)."""
    m = _FLAGS.search(packet_line)
    return m is not None and bool(int(m.group(1), 16) & 4)


def video_times(path: str | Path) -> list[float]:
    """The first video stream's packets' times (seconds, in file order) from ffmpeg's ``framecrc`` listing
    of a stream copy: no decoding."""
    proc = run_ffmpeg(
        ["-v", "error", "-i", str(path), "-map", "0:V:0", "-c", "copy", "-f", "framecrc", "-"],
        what=f"reading the video timestamps of {path}",
    )
    text = proc.stdout.decode("ascii", "replace")
    tb = _TIMEBASE.search(text)
    if tb is None:
        return []
    unit = int(tb.group(1)) / int(tb.group(2))
    return [int(m.group(1)) * unit for m in _PTS.finditer(text) if not discarded(m.group(0))]


def picture_rate(path: str | Path, info: MediaInfo) -> tuple[Fraction | None, bool]:
    """The rate the first picture's frames are labelled at (timecodes, frame counts) and whether the rate
    varies. ffmpeg's probe gives the average rate: where it is neither the base rate (``tbr``) nor half of
    it (:attr:`VideoStream.variable_rate`), or is no timecode rate (whole or NTSC), the packets' times tell
    a constant-rate stream with frames missing (its base rate, not variable: the gaps are holes) from a
    variable one (the average); see :func:`steady_rate`. ``(None, False)`` without a picture."""
    if not info.video:
        return None, False
    vs = info.video[0]
    exact = vs.rate
    if exact is None or (not vs.variable_rate and exact.denominator in (1, 1001)):
        return exact, False  # a timecode rate (whole or NTSC) that is the base rate too
    # an average off the base rate, or one that is no timecode rate (a Matroska file missing a frame prints
    # 24.90 for both): the frames' times tell
    steady = steady_rate(video_times(path), vs.tbr)
    return (steady, False) if steady is not None else (exact, vs.variable_rate)


@dataclass(frozen=True)
class MediaInfo:
    """What ffmpeg reports about a file: its duration and streams."""

    path: str
    duration_s: float | None
    audio: list[AudioStream] = field(default_factory=list)
    video: list[VideoStream] = field(default_factory=list)
    subtitles: int = 0
    #: ffmpeg estimated ``duration_s`` from the bitrate (an MP3 without a Xing header, raw ADTS AAC): it
    #: may be off by seconds, so it says nothing about whether the file is whole.
    duration_estimated: bool = False
    #: The file's start timecode as written (a MOV/MP4 ``tmcd`` track, an MXF's or a stream's ``timecode``
    #: tag: ``01:00:00:00``, drop-frame ``01:00:00;00``); ``None`` when it has none.
    start_timecode: str | None = None

    @property
    def picture_fps(self) -> float | None:
        """The first picture's frame rate (``None``: no picture, or no rate ffmpeg could tell)."""
        return float(self.video[0].rate) if self.video and self.video[0].rate else None


_DURATION = re.compile(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)")
#: The file's start (``Duration: ..., start: 0.000000``) and a stream's own where it differs (``start 3.0``).
_FILE_START = re.compile(r"Duration: .*?, start: (-?\d+(?:\.\d+)?)")
_STREAM_START = re.compile(r"start (-?\d+(?:\.\d+)?)(?: \(|$)")
_STREAM = re.compile(r"Stream #0:(\d+)(?:\[[^\]]*\])?(?:\(([^)]*)\))?: (Audio|Video|Subtitle): (.*)")
_ROTATION = re.compile(r"(?i)display ?matrix: rotation of (-?[\d.]+) degrees")
#: the first WxH that stands alone, from 1x1 up ("0x31637661" or "0x0000" in a codec tag is not a size: no
#: side starts with 0)
_SIZE = re.compile(r"(?<![\w.])([1-9]\d{0,4})x([1-9]\d{0,4})(?![\w.])")
_RATE = re.compile(r"(?<![\w.])([\d.]+)(k?) (fps|tbr)\b")
_TIMECODE = re.compile(r"(?m)^\s+timecode\s*: (\d{1,2}:\d{2}:\d{2}[:;.,]\d{2,3})\s*$")
#: ffmpeg's standard channel layouts (``ffmpeg -layouts``), each as its channels in order.
CHANNEL_LAYOUTS: dict[str, tuple[str, ...]] = {
    name: tuple(chans.split("+"))
    for name, chans in (
        ("mono", "FC"),
        ("stereo", "FL+FR"),
        ("2.1", "FL+FR+LFE"),
        ("3.0", "FL+FR+FC"),
        ("3.0(back)", "FL+FR+BC"),
        ("4.0", "FL+FR+FC+BC"),
        ("quad", "FL+FR+BL+BR"),
        ("quad(side)", "FL+FR+SL+SR"),
        ("3.1", "FL+FR+FC+LFE"),
        ("5.0", "FL+FR+FC+BL+BR"),
        ("5.0(side)", "FL+FR+FC+SL+SR"),
        ("4.1", "FL+FR+FC+LFE+BC"),
        ("5.1", "FL+FR+FC+LFE+BL+BR"),
        ("5.1(side)", "FL+FR+FC+LFE+SL+SR"),
        ("6.0", "FL+FR+FC+BC+SL+SR"),
        ("6.0(front)", "FL+FR+FLC+FRC+SL+SR"),
        ("3.1.2", "FL+FR+FC+LFE+TFL+TFR"),
        ("hexagonal", "FL+FR+FC+BL+BR+BC"),
        ("6.1", "FL+FR+FC+LFE+BC+SL+SR"),
        ("6.1(back)", "FL+FR+FC+LFE+BL+BR+BC"),
        ("6.1(front)", "FL+FR+LFE+FLC+FRC+SL+SR"),
        ("7.0", "FL+FR+FC+BL+BR+SL+SR"),
        ("7.0(front)", "FL+FR+FC+FLC+FRC+SL+SR"),
        ("7.1", "FL+FR+FC+LFE+BL+BR+SL+SR"),
        ("7.1(wide)", "FL+FR+FC+LFE+BL+BR+FLC+FRC"),
        ("7.1(wide-side)", "FL+FR+FC+LFE+FLC+FRC+SL+SR"),
        ("5.1.2", "FL+FR+FC+LFE+SL+SR+TFL+TFR"),
        ("5.1.2(back)", "FL+FR+FC+LFE+BL+BR+TFL+TFR"),
        ("octagonal", "FL+FR+FC+BL+BR+BC+SL+SR"),
        ("cube", "FL+FR+BL+BR+TFL+TFR+TBL+TBR"),
        ("5.1.4", "FL+FR+FC+LFE+SL+SR+TFL+TFR+TBL+TBR"),
        ("7.1.2", "FL+FR+FC+LFE+BL+BR+SL+SR+TFL+TFR"),
        ("7.1.4", "FL+FR+FC+LFE+BL+BR+SL+SR+TFL+TFR+TBL+TBR"),
        ("7.2.3", "FL+FR+FC+LFE+BL+BR+SL+SR+TFL+TFR+TBC+LFE2"),
        ("9.1.4", "FL+FR+FC+LFE+BL+BR+FLC+FRC+SL+SR+TFL+TFR+TBL+TBR"),
        ("9.1.6", "FL+FR+FC+LFE+BL+BR+FLC+FRC+SL+SR+TFL+TFR+TBL+TBR+TSL+TSR"),
        ("hexadecagonal", "FL+FR+FC+BL+BR+BC+SL+SR+TFL+TFC+TFR+TBL+TBC+TBR+WL+WR"),
        ("binaural", "BIL+BIR"),
        ("downmix", "DL+DR"),
        ("22.2", "FL+FR+FC+LFE+BL+BR+FLC+FRC+BC+SL+SR+TC+TFL+TFC+TFR+TBL+TBC+TBR+LFE2+TSL+TSR+BFC+BFL+BFR"),
    )
}
#: The layout assumed from the channel count alone (a WAVE file without a channel mask, a FLAC by its
#: specification): mono, stereo, 3.0, quad, 5.0, 5.1, 6.1, 7.1.
DEFAULT_LAYOUTS: dict[int, str] = {
    1: "mono",
    2: "stereo",
    3: "3.0",
    4: "quad",
    5: "5.0",
    6: "5.1",
    7: "6.1",
    8: "7.1",
}
_CUSTOM_LAYOUT = re.compile(r"[A-Z][A-Z0-9]*(?:\+[A-Z][A-Z0-9]*)*")


def layout_channels(layout: str | None) -> tuple[str, ...] | None:
    """The channels of an ffmpeg channel layout, in order: a standard name (``5.1(side)``) or channel names
    joined by ``+`` (``FL+FR+LFE``, how ffmpeg writes a layout of its own); ``None`` when unknown."""
    if not layout:
        return None
    name = layout.strip()
    if name in CHANNEL_LAYOUTS:
        return CHANNEL_LAYOUTS[name]
    return tuple(name.split("+")) if _CUSTOM_LAYOUT.fullmatch(name) else None


def _check_file(path: str | Path) -> Path:
    return check_input_file(path, MediaError, "is a folder, not a media file")


def probe(path: str | Path, *, input_args: Sequence[str] = ()) -> MediaInfo:
    """Duration and streams of a media file (raises :class:`MediaError` when ffmpeg cannot read it).
    ``input_args``: ffmpeg's options for reading it, before its ``-i`` (a headerless .yuv file's format)."""
    p = _check_file(path)
    try:
        proc = subprocess.run(
            [ffmpeg_exe(), "-hide_banner", "-nostdin", *input_args, *_inputs(["-i", str(p)])],
            capture_output=True,
            text=True,
            # ffmpeg echoes tags and file names as the bytes it read: a Latin-1 title tag is no UTF-8
            encoding="utf-8",
            errors="replace",
            check=False,
            timeout=_limit(None, f"reading {p}"),
        )
    except subprocess.TimeoutExpired as exc:
        raise TimeLimitError(f"reading {p}: ffmpeg was stopped at the job's time limit") from exc
    err = proc.stderr
    if "Input #0" not in err:
        last = err.strip().splitlines()[-1] if err.strip() else "unknown format"
        raise MediaError(f"ffmpeg cannot read this file ({last.split(': ')[-1]})", path=str(p))
    m = _DURATION.search(err)
    duration = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)) if m else None
    fm = _FILE_START.search(err)
    file_start = float(fm.group(1)) if fm else 0.0
    audio: list[AudioStream] = []
    video: list[VideoStream] = []
    subs = 0
    found = list(_STREAM.finditer(err))
    for n, sm in enumerate(found):
        idx, lang, kind, desc = int(sm.group(1)), sm.group(2), sm.group(3), sm.group(4)
        # the lines under the stream's own (metadata, side data), up to the next stream
        block = err[sm.end() : found[n + 1].start() if n + 1 < len(found) else len(err)]
        parts = [x.strip() for x in re.split(r",(?![^(]*\))", desc)]
        codec = parts[0].split()[0] if parts else "?"
        if kind == "Audio":
            rate = next((int(x.split()[0]) for x in parts if x.endswith(" Hz")), 0)
            layout = parts[2] if len(parts) > 2 else "?"
            ch_match = re.match(r"(\d+) channels(?: \(([A-Z0-9+]+)\))?", layout)
            if ch_match and ch_match.group(2):  # a layout of its own: "3 channels (FL+FR+TBL)"
                layout = ch_match.group(2)
            named = layout_channels(layout.split()[0] if layout.split() else "")
            channels = int(ch_match.group(1)) if ch_match else len(named) if named else 0
            starts = [float(sm_.group(1)) for x in parts if (sm_ := _STREAM_START.match(x))]
            start = max(starts[0] - file_start, 0.0) if starts else 0.0  # printed only where it differs
            language = lang if lang and lang != "und" else None
            flagged = "(default)" in desc
            audio.append(AudioStream(idx, codec, rate, channels, layout, start, language, flagged))
        elif kind == "Video":
            if "(attached pic)" in desc:
                continue  # cover art in an audio file: one still image, not a video stream
            size = next((m for x in parts if (m := _SIZE.search(x))), None)
            rates = {kind_: float(v) * (1000.0 if k else 1.0) for v, k, kind_ in _RATE.findall(desc)}
            fps = rates.get("fps", rates.get("tbr"))
            pix = parts[1].split("(")[0].strip() if len(parts) > 1 else "?"
            rot_m = _ROTATION.search(block)
            rotation = round(float(rot_m.group(1))) % 360 if rot_m else 0
            w, h = (int(size.group(1)), int(size.group(2))) if size else (0, 0)
            if rotation in (90, 270):  # ffmpeg turns it upright when it decodes (autorotate)
                w, h = h, w
            flags = parts[1] if len(parts) > 1 else ""
            order = (
                "progressive"
                if "progressive" in flags
                else "tff"
                if re.search(r"\btop (coded )?first", flags)
                else "bff"
                if re.search(r"\bbottom (coded )?first", flags)
                else None
            )
            sar_m = re.search(r"\[SAR (\d+):(\d+)", desc)
            known = sar_m is not None and int(sar_m.group(1)) > 0 and int(sar_m.group(2)) > 0  # not "0:1"
            sar = Fraction(int(sar_m.group(1)), int(sar_m.group(2))) if sar_m and known else None
            video.append(VideoStream(idx, codec, w, h, fps, pix, rotation, rates.get("tbr"), order, sar))
        else:
            subs += 1
    estimated = "Estimating duration from bitrate" in err
    tc = _TIMECODE.search(err, err.index("Input #0"))
    return MediaInfo(str(p), duration, audio, video, subs, estimated, tc.group(1) if tc else None)


def check_picture(info: MediaInfo) -> None:
    """Refuse a first video stream of no size where the picture is needed: ffmpeg lists a damaged image or
    stream ("Picture size 0x0 is invalid") as one, and decoding it failed later in ffmpeg's own words."""
    if info.video and not (info.video[0].width and info.video[0].height):
        raise MediaError("has no picture size (damaged?); ffmpeg cannot decode its video", path=info.path)


#: ffmpeg's words (at ``-v error``) when a file's data ends before what its container lists, or a packet
#: cannot be decoded: a decode's ``messages`` holding one say the file is damaged or cut short
DAMAGED_WORDS = ("partial file", "Invalid data", "ended prematurely")

#: ffmpeg's words (at its default level) for a packet or picture it could not decode whole: a damaged stream
#: (bytes overwritten in a copy or transfer) that plays with blocks of garbage or frames left out
CORRUPT_WORDS = ("corrupt", "error while decoding", "Invalid data", "concealing")

#: How much shorter than the container's duration a stream may decode before it counts as cut short: encoder
#: delay and padding, a start offset and rounding differ by milliseconds (the larger of the two).
SHORT_TOLERANCE_S, SHORT_TOLERANCE_FRACTION = 0.5, 0.02


def ends_short(declared_s: float | None, decoded_s: float) -> bool:
    """Whether a stream that decoded ``decoded_s`` seconds ends more than :data:`SHORT_TOLERANCE_S` (or
    :data:`SHORT_TOLERANCE_FRACTION` of it) before the container's ``declared_s``."""
    if declared_s is None:
        return False
    return declared_s - decoded_s > max(SHORT_TOLERANCE_S, SHORT_TOLERANCE_FRACTION * declared_s)


def cut_short(info: MediaInfo, decoded_s: float, messages: Sequence[str]) -> tuple[bool, list[str]]:
    """Whether an audio stream of ``info`` that decoded ``decoded_s`` seconds is cut short, and ffmpeg's
    damage lines among the decode's ``messages`` (:data:`DAMAGED_WORDS`). The container's duration is the
    longest stream's: it speaks for this one alone when it is the only stream, else only with ffmpeg's word
    that the data ended early (a soundtrack may end before the picture)."""
    damaged = [m for m in messages if any(w in m for w in DAMAGED_WORDS)]
    alone = len(info.audio) == 1 and not info.video and not info.duration_estimated
    return ends_short(info.duration_s, decoded_s) and (alone or bool(damaged)), damaged


def decode_audio(
    path: str | Path,
    *,
    sample_rate: int | None = None,
    channels: int | None = None,
    stream: int = 0,
    on_timeline: bool = False,
    messages: list[str] | None = None,
    info: MediaInfo | None = None,
) -> tuple[npt.NDArray[np.float32], int]:
    """Decode an audio stream to float32 samples shaped ``(n, channels)`` and return them with the rate.

    ``sample_rate``/``channels`` resample or downmix (ffmpeg's resampler); by default the file's own are kept.
    With ``on_timeline`` sample 0 is the file's time 0, as a player shows it: an audio stream that starts
    after the video (a delayed track, ``start 1.0``) is padded with silence in front, and gaps inside it
    are filled, so times measured on the samples are the times subtitles are shown at.
    WAV/FLAC could be read by soundfile too; this path reads any container ffmpeg knows.
    ``messages``, when given, gets ffmpeg's error lines from a decode that finished (``partial file``: the
    data ends before what the container lists), which the caller may report. ``info``: the file's
    :func:`probe`, when the caller has it (else it is probed here).
    """
    info = probe(path) if info is None else info
    if len(info.audio) <= stream:
        raise MediaError(
            "has no audio stream" if not info.audio else f"has no audio stream {stream}", path=str(path)
        )
    a = info.audio[stream]
    rate = sample_rate or a.sample_rate
    ch = channels or a.channels
    if not ch and not a.sample_rate:  # ffmpeg read no stream header at all
        raise MediaError(
            f"ffmpeg finds no readable {a.codec} audio in it (no channels, no sample rate): the file is "
            "damaged, or is not what its name says",
            path=str(path),
        )
    if not ch:  # a layout we cannot count: downmixing in silence would change what is measured
        raise MediaError(
            f"its audio stream's channel layout {a.layout!r} is not one reelkit knows; convert it first "
            "(ffmpeg -i IN -ac N OUT.wav) or give the channel count",
            path=str(path),
        )
    args = [
        "-v",
        "error",
        "-i",
        str(path),
        "-map",
        f"0:a:{stream}",
        "-vn",
        *(["-af", "aresample=async=1:first_pts=0"] if on_timeline else []),
        "-f",
        "f32le",
        "-acodec",
        "pcm_f32le",
        "-ar",
        str(rate),
        # only a downmix asked for: "-ac N" would remix a layout that is not ffmpeg's default for N (quad)
        *(["-ac", str(ch)] if channels else []),
        "-",
    ]
    proc = run_ffmpeg(args, what=f"decoding audio of {path}")
    if messages is not None:
        messages.extend(proc.stderr.decode("utf-8", "replace").strip().splitlines())
    samples = np.frombuffer(proc.stdout, dtype="<f4").astype(np.float32, copy=False)
    return samples.reshape(-1, ch), rate


#: Codecs ffmpeg encodes natively, by the name its probe gives them: a replaced soundtrack keeps its codec.
_SAME_ENCODER = {
    c: c
    for c in (
        *("aac", "ac3", "eac3", "flac", "alac"),
        # and the big-endian PCM of QuickTime (in24, lpcm): a lossless master stays lossless
        *(f"pcm_{f}{e}" for f in ("s16", "s24", "s32", "f32", "f64") for e in ("le", "be")),
    )
}


#: Encoders that hold fewer channels than a programme may have: their format's name and the most they hold.
#: Past it ffmpeg downmixes without a word (5.1 into an MP3 came out stereo, 7.1 into an AC-3 5.1(side)).
_ENCODER_CHANNELS: dict[str, tuple[str, int]] = {
    "mp3": ("MP3", 2),
    "libmp3lame": ("MP3", 2),
    "mp2": ("MP2", 2),
    "mp2fixed": ("MP2", 2),
    "libtwolame": ("MP2", 2),
    "ac3": ("AC-3", 6),
    "ac3_fixed": ("AC-3", 6),
    "eac3": ("E-AC-3", 6),
    "wmav1": ("WMA", 2),
    "wmav2": ("WMA", 2),
    "aac": ("AAC", 8),
    "flac": ("FLAC", 8),
}
#: The audio encoder ffmpeg picks for an extension when none is named, where it is one of those.
_DEFAULT_ENCODER = {
    **dict.fromkeys((".mp3", ".avi", ".flv"), "mp3"),
    **dict.fromkeys((".mp2", ".m2a", ".mpa", ".ts", ".mts", ".m2t", ".m2ts", ".mpg", ".mpeg", ".vob"), "mp2"),
    ".ac3": "ac3",
    **dict.fromkeys((".eac3", ".ec3"), "eac3"),
    **dict.fromkeys((".wma", ".wmv", ".asf"), "wmav2"),
    **dict.fromkeys((".m4a", ".aac", ".mp4", ".mov"), "aac"),
    ".flac": "flac",
}
#: Extensions of a raw stream of one of those formats: their name says the format
_RAW_AUDIO = frozenset((".mp3", ".mp2", ".m2a", ".mpa", ".ac3", ".eac3", ".ec3", ".wma", ".aac", ".flac"))


def check_channels(
    path: str | Path, channels: int, *, codec: str | None = None, replacing: str | None = None
) -> None:
    """Refuse to write ``channels`` channels to ``path`` with the encoder ``codec`` when it holds fewer:
    ffmpeg would downmix them in silence. By default the encoder is the one :func:`write_audio` uses: the
    codec of the soundtrack ``replacing`` (its codec name, when a programme's soundtrack is replaced) where
    ffmpeg encodes it, else ffmpeg's for the extension. A :class:`MediaError` naming the output, the format's
    limit and what to write instead."""
    ext = Path(path).suffix.lower()
    codec = codec or _SAME_ENCODER.get(replacing or "")
    encoder = codec or _DEFAULT_ENCODER.get(ext)
    limit = _ENCODER_CHANNELS.get(encoder or "")
    if limit is None or channels <= limit[1]:
        return
    name, most = limit
    said = name if ext in _RAW_AUDIO and codec is None else f"{name} (the audio codec of this {ext} file)"
    raise MediaError(
        f"{said} holds at most {most} channels, the programme has {channels}; write {_holds(channels)}",
        path=str(path),
    )


def _holds(channels: int) -> str:
    """Formats that hold ``channels`` channels (AAC in .m4a and FLAC stop at 8)."""
    return ".m4a, .flac or .wav" if channels <= 8 else ".wav (or .mka)"


def write_audio(
    path: str | Path,
    samples: npt.ArrayLike,
    sample_rate: int,
    *,
    codec: str | None = None,
    replace_in: str | Path | None = None,
    replace_stream: int = 0,
    subtitles: bool = True,
    picture: bool = True,
    metadata_from: str | Path | None = None,
    layout: str | None = None,
    extra: Sequence[str] = (),
    start_s: float = 0.0,
) -> Path:
    """Encode float samples ``(n, channels)`` to ``path`` (format from the extension) atomically.

    Writes to a temporary file beside ``path`` and renames it, so an existing file is never half-written.
    ``replace_in``: a programme whose audio stream ``replace_stream`` the samples replace, every other stream
    (with ``picture`` the picture, other soundtracks, and with ``subtitles`` the subtitle streams) copied, not
    re-encoded, with its tags (``picture`` off for an audio container: .mka, .m4a); ``metadata_from``: a file
    whose tags (title, artist, ...) the output keeps; ``layout``: the channels' layout (``5.1(side)``,
    ``FL+FR+LFE``; by default ffmpeg's for the count, which labels four channels 4.0 where a WAV's are quad);
    ``extra``: more output options (``-sample_fmt s32``); ``start_s``: where the samples start on the
    output's timeline (a delayed soundtrack replaced in its programme keeps its place against the picture,
    ``AudioStream.start_s``).
    """
    out = Path(path)
    x = np.asarray(samples, dtype="<f4")
    if x.ndim == 1:
        x = x[:, None]
    # a standard layout labels the output; encoders refuse most layouts of their own (those go by count),
    # but a WAV's channel mask holds any
    labelled = layout in CHANNEL_LAYOUTS or (bool(layout) and out.suffix.lower() == ".wav")
    chans = ["-ch_layout", str(layout)] if labelled else ["-ac", str(x.shape[1])]
    args = ["-v", "error", "-y", "-f", "f32le", "-ar", str(sample_rate), *chans, "-i", "-"]
    source = replace_in if replace_in is not None else metadata_from
    if source is not None:
        args += ["-i", str(source), "-map_metadata", "1"]
    if replace_in is not None:
        info = probe(replace_in)
        n_audio = max(len(info.audio), replace_stream + 1)
        args += ["-map", "1:v?", "-c:v", "copy"] if picture else []
        for i in range(n_audio):  # the soundtracks in their order, one replaced
            args += ["-map", "0:a"] if i == replace_stream else ["-map", f"1:a:{i}", f"-c:a:{i}", "copy"]
        if subtitles:
            args += ["-map", "1:s?", "-c:s", "copy", "-map", "1:t?", "-c:t", "copy"]  # and fonts for them
        # every stream keeps its tags (language, title), the replaced one too: naming one stream's source
        # turns ffmpeg's own copying off for all
        pictures = len(info.video) if picture else 0
        kinds = [("v", pictures), ("a", n_audio), ("s", info.subtitles if subtitles else 0)]
        for kind, count in kinds:
            for i in range(count):
                args += [f"-map_metadata:s:{kind}:{i}", f"1:s:{kind}:{i}"]
        was = info.audio[replace_stream].codec if replace_stream < len(info.audio) else ""
        encoder = codec or _SAME_ENCODER.get(was)  # AAC stays AAC (Matroska's default is Vorbis)
        if encoder:
            args += [f"-c:a:{replace_stream}", encoder]
    else:
        args += ["-map", "0:a"] if source is not None else []
        encoder = codec
        if codec:
            args += ["-c:a", codec]
    check_channels(out, x.shape[1], codec=encoder)  # before encoding: no downmix written in silence
    if start_s > 0:  # the samples' timestamps moved (-itsoffset leaves a raw input's first at 0), on the new
        # stream only: a filter on a copied soundtrack is refused (codec copy)
        where = f"-filter:a:{replace_stream}" if replace_in is not None else "-filter:a"
        args += [where, f"asetpts=PTS+{start_s:.6f}/TB"]
    args += list(extra)
    with atomic_path(out, f".part{out.suffix}") as tmp:
        run_ffmpeg([*args, str(tmp)], input_bytes=np.ascontiguousarray(x).tobytes(), what=f"writing {out}")
        # and in any case as read back: an encoder or an option (-ac) that downmixed is no success
        written = probe(tmp).audio
        index = replace_stream if replace_in is not None else 0
        held = written[index].channels if index < len(written) else 0
        if held and held != x.shape[1]:  # 0: a layout probe cannot count (decoding it would say)
            raise MediaError(
                f"the file written holds {held} channels, not the {x.shape[1]} given (the encoder "
                f"downmixed them); nothing was written: write {_holds(x.shape[1])}",
                path=str(out),
            )
    return out
