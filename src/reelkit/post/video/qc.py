"""Video quality control: black and frozen frames, letterbox/pillarbox, interlacing, scene cuts, A/V length.

One decoding pass runs ffmpeg's detection filters in a chain and this module parses their log lines:

- ``black`` (``blackdetect``): picture black ratio >= ``black_pic_th`` for at least ``black_min_s``;
  ``info`` at the head or tail, ``warning`` inside the programme, ``error`` when the whole video is black.
- ``freeze`` (``freezedetect``): frames equal within ``freeze_noise_db`` for at least ``freeze_min_s``;
  ``warning`` (``error`` when the whole video is frozen). A frozen stretch that is black is reported as black.
- ``letterbox`` / ``pillarbox`` (``cropdetect`` per frame, black and all-black frames left out): bars of at
  least ``bar_min_fraction`` of the height (width) on both sides for at least ``bars_min_s``; ``warning``.
  Frames mostly black (``MOSTLY_BLACK``: a title card, a credit roll) or whose picture would be under
  ``BAR_PICTURE_MIN`` of the frame are not measured, and bars that jump (moving text) are none; bars that
  change size once (a picture of another aspect) are a finding for each size.
- ``interlaced`` (``idet``): runs of frames whose multi-frame verdict is TFF/BFF, kept when enough of them are
  interlaced on their own single-frame verdict, with edges where the single-frame verdicts change (the
  multi-frame one lags by a few frames), cut at scene cuts and split where the field order changes;
  ``warning``; a run with a repeated field in ``TELECINE_SHARE`` of its frames is telecined (inverse-
  telecine, not deinterlace), and content of the other order than the stream's flag is named a mismatch.
  ``field_order``: the order changing between such runs (at a cut, or from one frame to the
  next: material of both orders joined); ``warning``.
- ``cut`` (the ``select`` filter's scene score of every frame, over ``scene_threshold``): an instant
  (``end_s`` is ``None``); ``info``.
- ``flash``: a change of picture and back within ``FLASH_MAX_FRAMES`` frames (a photo flash, a stray frame
  left in an edit), reported once instead of as cuts; ``warning``. A tiny grey copy of every frame, made in
  the same pass, says whether the picture after the changes is the one before them (a flash, also of a
  single frame, which the scene score marks as one change) or another one (cuts, also around a short shot).
  Changes a few frames apart are split into flashes and cuts (a flash then a cut); one frame of a third
  picture between two shots (a frame left at an edit, whose change to the next shot the scene score often
  misses) is a one-frame flash and a cut after it.
- ``av_mismatch`` (a stream-copy pass over the picture and the first audio stream, their timestamps as
  the file has them): video and audio end more than ``av_tolerance_s`` apart; ``warning``, ``error``
  beyond ``av_error_s``.
- ``truncated`` (always checked): the picture ends more than 0.5 s (2%) before the container's duration and
  ffmpeg reports a ``partial file`` (or the file has no sound); ``error``.
- ``video_start`` (always checked): the picture starts more than ``audio.LEAD_IN_MIN_S`` after the file
  (a delayed video stream: the sound plays over nothing before it, as ``qc``'s ``audio_start`` says of a
  delayed soundtrack); ``warning``, ``info`` within ``REORDER_FRAMES`` frames (a B-frame stream without an
  edit list starts at its reorder delay). Black at the picture's head counts as the head (``info``).
- ``decode_errors`` (always checked): ffmpeg reports packets or pictures it could not decode whole
  (:data:`~reelkit.media.CORRUPT_WORDS`: a damaged stream); ``error``. ``frames_missing``: a gap in the
  picture's timestamps (not in a variable-rate stream); ``error`` with decode errors, else ``warning``.
  A stream whose frames are on one grid with holes (frames dropped: ffmpeg's average rate is under the base
  rate) is labelled at its base rate and its holes reported; only frames off one grid are a variable rate
  (:func:`~reelkit.media.picture_rate`).

``idet`` is a heuristic: progressive synthetic patterns with fine horizontal detail (ffmpeg's ``testsrc2``, a
credit roll) can read as interlaced. Each run is judged on its own verdicts: one whose order alternates
every few frames, or flips within a shot after frames that look progressive (which interlaced video never
does), is reported with severity ``info`` ("check by eye"), not as a warning. A run of one order that never
flips cannot be told from interlacing by idet's verdicts (a second of testsrc2 reads TFF on every frame,
as woven video does): a warning. A segment that runs to the end of the file ends where the last frame ends.
"""

from __future__ import annotations

import re
from array import array
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, replace
from fractions import Fraction
from itertools import pairwise
from pathlib import Path

import numpy as np
import numpy.typing as npt

from reelkit.errors import ConfigError, MediaError
from reelkit.media import (
    CORRUPT_WORDS,
    MediaInfo,
    check_picture,
    discarded,
    ends_short,
    picture_rate,
    probe,
    stream_ffmpeg,
)
from reelkit.post.audio import LEAD_IN_MIN_S
from reelkit.post.findings import Finding, Severity, timecode

__all__ = ["QCOptions", "video_qc"]

KINDS: tuple[str, ...] = (
    "black",
    "freeze",
    "letterbox",
    "pillarbox",
    "interlaced",
    "cut",
    "flash",
    "av_mismatch",
)
#: a run with a repeated field (idet) in at least this share of its frames is telecined: 3:2 pulldown
#: repeats one in 2 frames of 5
TELECINE_SHARE = 0.25
#: a frame with at least this percentage of black pixels (text on black: a title card, a credit roll) is
#: not measured for bars
MOSTLY_BLACK = 80
#: the picture between bars is at least this share of the frame's height and width (else it is a caption
#: or a logo on black); a 9:16 phone picture pillarboxed in 16:9 is 32% of the width (at 40% it was missed)
BAR_PICTURE_MIN = 0.25
#: bars that change size by more than this (pixels) more than about once a second are not bars
BAR_JUMP_PX = 4
#: the order findings of one time are listed in: the checks', each with the kinds it adds after it
_ORDER: tuple[str, ...] = (
    "video_start",
    *KINDS[:5],
    "field_order",
    *KINDS[5:],
    "decode_errors",
    "frames_missing",
)
#: A picture starting up to this many frames after the file is likely an H.264 encoder's B-frame reorder
#: delay (x264's is 2) kept where no edit list hides it: a note; later, a delayed video stream: a warning
REORDER_FRAMES = 2
#: A change of picture and a change back at most this many frames apart is a flash, not two cuts.
FLASH_MAX_FRAMES = 3
#: a stretch of one field order inside an interlaced run lasts at least this many combed frames; shorter
#: ones, alternating, are fine detail read either way
FIELD_ORDER_MIN_FRAMES = 10


@dataclass(frozen=True)
class QCOptions:
    """Thresholds of the video checks (see the module table)."""

    black_min_s: float = 0.1
    black_pic_th: float = 0.98
    black_pix_th: float = 0.10
    freeze_min_s: float = 0.5
    freeze_noise_db: float = -50.0
    bar_min_fraction: float = 0.04
    bars_min_s: float = 0.5
    crop_limit: int = 24
    interlace_min_s: float = 0.5
    scene_threshold: float = 0.3
    av_tolerance_s: float = 0.1
    av_error_s: float = 1.0
    checks: tuple[str, ...] = KINDS

    def validate(self) -> QCOptions:
        unknown = [c for c in self.checks if c not in KINDS]
        if unknown:
            raise ConfigError(f"unknown video check(s) {unknown}; choose from {list(KINDS)}")
        if not 0 < self.scene_threshold < 1:
            raise ConfigError("scene_threshold must lie in (0, 1)")
        if not 0 < self.bar_min_fraction < 0.5:
            raise ConfigError("bar_min_fraction must lie in (0, 0.5)")
        if not 0 <= self.crop_limit < 255:
            raise ConfigError("crop_limit must lie in [0, 255) (8-bit levels; scaled for deeper formats)")
        return self


_BLACK = re.compile(r"black_start:\s*([\d.]+)\s+black_end:\s*([\d.]+)")
_FREEZE_START = re.compile(r"lavfi\.freezedetect\.freeze_start:\s*([\d.]+)")
_FREEZE_END = re.compile(r"lavfi\.freezedetect\.freeze_end:\s*([\d.]+)")
_CROP = re.compile(r"Parsed_cropdetect.*?x1:(\d+)\s+x2:(\d+)\s+y1:(\d+)\s+y2:(\d+).*?\bt:\s*(-?[\d.]+)")
_META_FRAME = re.compile(r"Parsed_metadata.*?\bframe:\s*\d+\s+pts:\s*-?\d+\s+pts_time:\s*(-?[\d.]+)")
_META_IDET = re.compile(r"Parsed_metadata.*?lavfi\.idet\.(single|multiple|repeated)\.current_frame=(\w+)")
_META_SCENE = re.compile(r"Parsed_metadata.*?lavfi\.scene_score=([\d.eE+-]+)")
_PBLACK = re.compile(r"pblack:(\d+).*?\bt:\s*(-?[\d.]+)")
_PACKET_TB = re.compile(r"#tb (\d+): (\d+)/(\d+)")
_PACKET = re.compile(r"(\d+),\s*-?\d+,\s*(-?\d+),\s*(\d+),")
#: ffmpeg's "no timestamp" (AV_NOPTS_VALUE) as framecrc prints it
_NOPTS = -(2**63)


class _Ends:
    """Where the picture starts and the sound ends, read from ffmpeg's ``framecrc`` listing of a stream copy
    of both with ``-copyts`` (stream 0 the picture, 1 the sound) as it comes: the timestamps as the file
    has them, so that the sound's end is placed against the picture however ffmpeg would shift each (it
    starts an MPEG-TS stream copied or decoded alone at 0, a MOV's at its place in the file)."""

    def __init__(self) -> None:
        self._unit: dict[int, float] = {}  # seconds a tick, by stream
        self._first: dict[int, int] = {}  # earliest pts, by stream
        self._end: dict[int, int] = {}  # latest pts + duration, by stream
        self._rest = b""

    def add(self, block: bytes) -> None:
        *lines, self._rest = (self._rest + block).split(b"\n")
        for line in lines:
            self.line(line.decode("ascii", "replace"))

    def line(self, line: str) -> None:
        if line.startswith("#"):
            if tb := _PACKET_TB.match(line):
                self._unit[int(tb.group(1))] = int(tb.group(2)) / int(tb.group(3))
        elif (pm := _PACKET.match(line)) and int(pm.group(2)) != _NOPTS and not discarded(line):
            k, pts, dur = int(pm.group(1)), int(pm.group(2)), int(pm.group(3))
            self._first[k] = min(self._first.get(k, pts), pts)
            self._end[k] = max(self._end.get(k, pts + dur), pts + dur)

    def audio_end(self, video_start: float) -> float | None:
        """The sound's end on the timeline where the picture starts at ``video_start`` (its first frame's
        time in the QC pass); ``None`` without the timestamps of both."""
        if self._rest:
            self.line(self._rest.decode("ascii", "replace"))
            self._rest = b""
        if not {0, 1} <= self._unit.keys() or 0 not in self._first or 1 not in self._end:
            return None
        return self._end[1] * self._unit[1] - (self._first[0] * self._unit[0] - video_start)


def _runs(
    times: list[float], flags: list[bool], frame_s: float, end_s: float, min_s: float, merge_gap_s: float
) -> list[tuple[float, float]]:
    """Runs of consecutive flagged frames as ``(start, end)``, gaps below ``merge_gap_s`` merged, short ones
    (< ``min_s``) dropped. A frame at ``t`` covers ``[t, t + frame_s)``; the last run may end at ``end_s``."""
    runs: list[list[float]] = []
    for t, flag in zip(times, flags, strict=True):
        if not flag:
            continue
        if runs and t - runs[-1][1] <= merge_gap_s + 1e-9:
            runs[-1][1] = t + frame_s
        else:
            runs.append([t, t + frame_s])
    out = []
    for start, stop in runs:
        stop = min(stop, end_s) if end_s > start else stop
        if stop - start >= min_s - 1e-9:
            out.append((round(start, 6), round(stop, 6)))
    return out


_THUMB_W, _THUMB_H = 32, 18
#: how many frames back each frame's thumbnail is compared: a flash's frames and the ones either side
_THUMB_BACK = FLASH_MAX_FRAMES + 2
#: a flash returns to the picture before it: the frames either side of it differ by at most this share of
#: how much the flash differs from the frame before it
FLASH_RETURN = 0.5


def _flash(diffs: npt.NDArray[np.float32] | None, changes: list[int]) -> tuple[int, int] | None:
    """``(first, back)``: the frames of the flash that these changes of picture (frame indices) make, or
    ``None`` when they are cuts. ``diffs`` holds how much each decoded frame differs from each of the
    ``_THUMB_BACK`` before it (:class:`_Thumbs`): after a flash the picture is the one before it (a stray
    frame, a photo flash), after a cut or a short shot another one; a lone change is a one-frame flash when
    the next frame is the one before it. Without pictures, the changes' spacing alone."""
    if diffs is None:
        return (changes[0], changes[-1]) if len(changes) > 1 else None
    a = changes[0]
    back = changes[-1] if len(changes) > 1 else a + 1
    if a < 1 or back >= len(diffs) or back - (a - 1) > _THUMB_BACK:
        return None
    jump = float(diffs[a, 0])
    if not jump > 0 or not float(diffs[back, back - a]) <= FLASH_RETURN * jump:
        return None
    return a, back


def _stray(diffs: npt.NDArray[np.float32] | None, a: int) -> bool:
    """Whether the change of picture at frame ``a`` lasts one frame before another change to a third picture:
    frame ``a + 1`` differs from ``a`` and from ``a - 1`` about as much as ``a`` differs from ``a - 1``."""
    if diffs is None or a < 1 or a + 1 >= len(diffs):
        return False
    jump = float(diffs[a, 0])
    return jump > 0 and min(float(diffs[a + 1, 0]), float(diffs[a + 1, 1])) >= FLASH_RETURN * jump


class _Log:
    """What the findings need from ffmpeg's log of the QC pass, parsed line by line as it comes (a long
    programme's log, some 2 KB a frame, is never held whole)."""

    def __init__(self) -> None:
        # every frame passes the metadata printer: its last timestamp + one frame is where the video ends
        self.times: list[float] = []
        self.scene: list[float] = []
        self.single: list[str] = []
        self.multi: list[str] = []
        self.repeated: list[bool] = []  # idet found a field repeated from the frame before (pulldown)
        self.blacks: list[tuple[float, float]] = []
        self.freeze_starts: list[float] = []
        self.freeze_ends: list[float] = []
        self.crops: list[tuple[float, int, int, int, int]] = []  # time, x1, x2, y1, y2
        self.pblack: dict[float, int] = {}  # time: percent of the frame's pixels that are black
        self.partial = False
        # ffmpeg's decode errors (after its probe, which reads the damage too): each line with the number
        # of frames printed before it, which places it
        self.damage: list[tuple[int, str]] = []
        self._decoding = False

    def line(self, line: str) -> None:
        if "Parsed_metadata" in line:
            if fm := _META_FRAME.search(line):
                self.times.append(float(fm.group(1)))
                self.scene.append(0.0)
                self.single.append("undetermined")
                self.multi.append("undetermined")
                self.repeated.append(False)
            elif (sm := _META_SCENE.search(line)) and self.times:
                self.scene[-1] = float(sm.group(1))
            elif (im := _META_IDET.search(line)) and self.times:
                if im.group(1) == "repeated":
                    self.repeated[-1] = im.group(2) in ("top", "bottom")
                else:
                    (self.single if im.group(1) == "single" else self.multi)[-1] = im.group(2)
        elif "Parsed_cropdetect" in line:
            if cm := _CROP.search(line):
                x1, x2, y1, y2, t = cm.groups()
                self.crops.append((float(t), int(x1), int(x2), int(y1), int(y2)))
        elif "Parsed_blackframe" in line:
            if pm := _PBLACK.search(line):
                self.pblack[round(float(pm.group(2)), 4)] = int(pm.group(1))
        elif bm := _BLACK.search(line):
            self.blacks.append((float(bm.group(1)), float(bm.group(2))))
        elif fs := _FREEZE_START.search(line):
            self.freeze_starts.append(float(fs.group(1)))
        elif fe := _FREEZE_END.search(line):
            self.freeze_ends.append(float(fe.group(1)))
        else:
            self.partial = self.partial or "partial file" in line
            self._decoding = self._decoding or line.startswith("Stream mapping:")
            if self._decoding and any(w in line for w in CORRUPT_WORDS):
                self.damage.append((len(self.times), line))


class _Thumbs:
    """The tiny grey copies of the frames as they come, each kept only while a later frame may be compared
    with it: how much every frame differs from each of the ``_THUMB_BACK`` before it."""

    def __init__(self) -> None:
        self._recent: deque[npt.NDArray[np.float32]] = deque(maxlen=_THUMB_BACK)
        self._diffs = array("f")
        self.count = 0

    def add(self, block: bytes) -> None:
        frame = np.frombuffer(block, dtype=np.uint8).astype(np.float32)
        if frame.size != _THUMB_W * _THUMB_H:
            return  # a short last block: not a frame
        # the newest first: the k-th value is the difference from the frame k back (NaN before the first)
        back = [float(np.mean(np.abs(frame - f))) for f in reversed(self._recent)]
        self._diffs.extend(back + [float("nan")] * (_THUMB_BACK - len(back)))
        self._recent.append(frame)
        self.count += 1

    def diffs(self) -> npt.NDArray[np.float32]:
        """``(frames, _THUMB_BACK)``: row ``i``, column ``k - 1`` is how much frame ``i`` differs from
        frame ``i - k``. Index ``[i, j]`` compares frame ``i`` with frame ``i - j - 1``."""
        return np.frombuffer(self._diffs, dtype=np.float32).reshape(-1, _THUMB_BACK)


def _order_blocks(orders: list[tuple[int, str]]) -> list[tuple[int, int, str]] | None:
    """``(first, last, order)`` frame indices of the stretches of one field order among the combed frames
    ``orders`` (index, ``tff``/``bff``), or ``None`` when the orders alternate within a few frames (fine
    detail read either way: more than one stretch of one order shorter than ``FIELD_ORDER_MIN_FRAMES``, or
    many stray frames). Stray frames of the other order (fewer than 3 in a row) stay in the stretch."""
    blocks: list[tuple[int, int, str, int]] = []  # first, last, order, combed frames
    for i, o in orders:
        if blocks and blocks[-1][2] == o:
            blocks[-1] = (blocks[-1][0], i, o, blocks[-1][3] + 1)
        else:
            blocks.append((i, i, o, 1))
    strays = sum(n for *_, n in blocks if n < 3)
    kept: list[tuple[int, int, str, int]] = []
    for first, last, o, n in blocks:
        if n < 3:
            continue
        if kept and kept[-1][2] == o:
            kept[-1] = (kept[-1][0], last, o, kept[-1][3] + n)
        else:
            kept.append((first, last, o, n))
    short = sum(n < FIELD_ORDER_MIN_FRAMES for *_, n in kept)
    if not kept or strays > 0.1 * len(orders) or (len(kept) > 1 and short > 1):
        return None
    return [(first, last, o) for first, last, o, _ in kept]


def _interlace_findings(
    times: list[float],
    single: list[str],
    multi: list[str],
    cuts: list[int],
    frame_s: float,
    duration: float,
    opts: QCOptions,
    flagged: str | None,
    fps: float,
    tc0: str | None,
    repeated: list[bool] | None = None,
) -> list[Finding]:
    """Interlaced stretches from idet's verdicts of every frame, each judged on its own verdicts.

    idet's multi-frame verdict carries the last decision over undetermined frames, so one combed-looking
    frame at a cut could mark a whole progressive shot: a run counts only when enough of its frames are
    interlaced on their own (single-frame verdict) and clearly more than look progressive. A run is cut at
    scene cuts (a shot has one field order) and split where its frames change field order; a change of
    order between stretches is a finding of its own (``field_order``). Fine progressive detail fools idet
    (testsrc2, a credit roll) in ways interlaced video never reads: the order alternating every few frames,
    or flipping within a shot after frames that look progressive; such stretches are notes (``info``)."""
    # first, last frame, order ("both": alternating), first and last combed frame of that order
    stretches: list[tuple[int, int, str, int, int]] = []
    flags = [v in ("tff", "bff") for v in multi]
    combed = [v in ("tff", "bff") for v in single]
    for a, b in _runs(times, flags, frame_s, duration, opts.interlace_min_s, merge_gap_s=0.25):
        r0 = min(range(len(times)), key=lambda i: abs(times[i] - a))
        r1 = max(i for i, t in enumerate(times) if t < b - 1e-9)
        bounds = [r0, *(c for c in cuts if r0 < c <= r1), r1 + 1]
        for p0, p1 in pairwise(bounds):
            part = single[p0:p1]
            inter = [v for v in part if v in ("tff", "bff")]
            if len(inter) < max(3, 0.25 * len(part)) or len(inter) <= 2 * part.count("progressive"):
                continue
            # the multi-frame verdict lags each change by a few frames: the edges are where the frames
            # themselves turn combed and stop being so (within the shot)
            shot0 = max((c for c in cuts if c <= p0), default=0)
            i0, i1 = p0, p1 - 1
            while i0 > shot0 and combed[i0 - 1]:
                i0 -= 1
            while i1 > i0 and not combed[i1]:
                i1 -= 1
            if p1 in cuts and i1 >= p1 - 3:  # idet reads the last frames of a shot against the next one's
                i1 = p1 - 1
            blocks = _order_blocks([(i, single[i]) for i in range(i0, i1 + 1) if combed[i]])
            if blocks is None:
                stretches.append((i0, i1, "both", i0, i1))
                continue
            # each stretch of one order runs to the next one's first frame
            for k, (f0, f1, o) in enumerate(blocks):
                first = i0 if k == 0 else f0
                last = i1 if k == len(blocks) - 1 else blocks[k + 1][0] - 1
                stretches.append((first, last, o, f0, f1))

    def end(i: int) -> float:
        return duration if i == len(times) - 1 else times[i] + frame_s

    stretches = sorted(s for s in stretches if end(s[1]) - times[s[0]] >= opts.interlace_min_s - 1e-9)
    # the order changing at a cut, or from one frame to the next, is material of both orders joined; an
    # order that flips within a shot after frames that look progressive is the detector, not the video
    notes = [False] * len(stretches)
    changes: list[tuple[int, str, str, int]] = []  # first frame, orders, the later stretch
    for k in range(1, len(stretches)):
        (*_, o0, _, l0), (f1, _, o1, c1, _) = stretches[k - 1], stretches[k]
        if o0 == o1 or "both" in (o0, o1):
            continue
        if c1 - l0 <= 3 or any(l0 < c <= c1 for c in cuts):
            changes.append((f1, o0, o1, k))
        else:
            notes[k - 1] = notes[k] = True
    # material of both orders joined changes order once in a shot; an order that flips again within the
    # shot (a pan over fine detail, testsrc2) is the detector: the shot's stretches are notes, no change
    shot = [sum(c <= f for c in cuts) for f, *_ in stretches]
    flips = Counter(shot[k] for _, _, _, k in changes if shot[k] == shot[k - 1])
    noisy = {sh for sh, n in flips.items() if n > 1} | {shot[k] for k, n in enumerate(notes) if n}
    notes = [n or shot[k] in noisy for k, n in enumerate(notes)]
    changes = [c for c in changes if not (notes[c[3]] or notes[c[3] - 1])]
    out: list[Finding] = []
    for (i0, i1, order, _, _), note in zip(stretches, notes, strict=True):
        a, b = times[i0], end(i1)
        span = _span(a, b, fps, tc0)
        severity: Severity = "warning"
        if order == "both":
            severity = "info"
            message = (
                f"frames {span} look combed, but their field order alternates every few frames: likely fine "
                "detail, not interlacing; check by eye"
            )
        elif note:
            severity = "info"
            message = (
                f"frames {span} look combed ({order.upper()}), but the field order flips within the shot: "
                "likely fine horizontal detail, not interlacing; check by eye"
            )
        elif repeated is not None and sum(repeated[i0 : i1 + 1]) >= TELECINE_SHARE * (i1 + 1 - i0):
            # 3:2 pulldown repeats a field in 2 frames of 5: film frames, not interlaced pictures
            message = (
                f"telecined (3:2 pulldown) frames {span}: inverse-telecine to {fps * 0.8:.3f}p (fieldmatch, "
                "decimate) rather than deinterlace"
            )
        elif flagged == "progressive":  # combing in a stream flagged progressive
            message = (
                f"frames {span} look interlaced ({order.upper()}) in a stream flagged progressive: "
                "interlaced material encoded without deinterlacing, or fine moving detail fooling the "
                "detector; check by eye"
            )
        elif flagged in ("tff", "bff") and flagged != order:
            said = {"tff": "top", "bff": "bottom"}
            message = (
                f"interlaced ({order.upper()}) frames {span}: field order mismatch: flagged {said[flagged]} "
                f"first, content {said[order]} first; fix the flag (or the fields) before delivery"
            )
        else:
            message = f"interlaced ({order.upper()}) frames {span}; deinterlace before delivery"
        out.append(Finding("interlaced", a, b, severity, message, "video"))
    for i, o0, o1, _ in changes:
        out.append(
            Finding(
                "field_order",
                times[i],
                None,
                "warning",
                f"field order changes from {o0.upper()} to {o1.upper()} {_span(times[i], None, fps, tc0)}: "
                "material of both orders joined; conform to one before delivery",
                "video",
            )
        )
    return out


def _bars_jump(
    crops: list[tuple[float, int, int, int, int]], sides: tuple[int, int], length_s: float
) -> bool:
    """Whether the bars on ``sides`` (indices into each crop) of a run of frames change size more than about
    once a second (by over ``BAR_JUMP_PX``): bars stay put; a credit roll's or moving text's box does not."""
    changes = sum(any(abs(c[k] - p[k]) > BAR_JUMP_PX for k in sides) for p, c in pairwise(crops))
    return changes > 1 + length_s


def _bar_segments(
    crops: list[tuple[float, int, int, int, int]],
    sides: tuple[int, int],
    start: float,
    end: float,
    min_s: float,
) -> list[tuple[float, float, list[tuple[float, int, int, int, int]]]]:
    """A run of bars ``[start, end)`` cut where the bars on ``sides`` change size by more than
    ``BAR_JUMP_PX`` (a picture of another aspect): ``(start, end, frames)`` of each size, a stretch shorter
    than ``min_s`` left in the one before it."""
    segments: list[tuple[float, float, list[tuple[float, int, int, int, int]]]] = []
    for c in crops:
        first = segments[-1][2][0] if segments else None
        if first is not None and all(abs(c[k] - first[k]) <= BAR_JUMP_PX for k in sides):
            segments[-1][2].append(c)
        else:
            segments.append((c[0], end, [c]))
    merged: list[tuple[float, float, list[tuple[float, int, int, int, int]]]] = []
    for k, (a, _, frames) in enumerate(segments):
        b = segments[k + 1][0] if k + 1 < len(segments) else end
        if merged and (b - a < min_s - 1e-9 or merged[-1][1] - merged[-1][0] < min_s - 1e-9):
            merged[-1] = (merged[-1][0], b, merged[-1][2] + frames)
        else:
            merged.append((start if not merged else a, b, frames))
    return merged


def _black_severity(start: float, end: float, duration: float, frame_s: float, head: float = 0.0) -> Severity:
    """``head``: where the picture starts (a delayed video stream's first frame is its head, not 0)."""
    if start <= head + frame_s and end >= duration - frame_s:
        return "error"
    if start <= head + frame_s or end >= duration - frame_s:
        return "info"
    return "warning"


def _span(start: float, end: float | None, fps: float | None, first: str | None) -> str:
    """A finding's place as the edit system shows it: timecodes from the file's own start timecode."""
    if end is None:
        return f"at {timecode(start, fps, first)}"
    return f"{timecode(start, fps, first)}-{timecode(end, fps, first)} ({end - start:.2f} s)"


def _inside(t: float, segments: Iterable[tuple[float, float]]) -> bool:
    return any(a - 1e-6 <= t < b - 1e-6 for a, b in segments)


def video_qc(
    path: str | Path,
    options: QCOptions | None = None,
    *,
    info: MediaInfo | None = None,
    rate: tuple[Fraction | None, bool] | None = None,
) -> list[Finding]:
    """Run the video checks on ``path`` and return the findings, sorted by time then kind (``info``: the
    file's probe, ``rate``: its :func:`~reelkit.media.picture_rate`, when the caller has them already: the
    rate of a variable-rate file reads every packet's time). The messages give timecodes from the file's own
    start timecode where it has one (``01:00:00:00``); ``start_s``/``end_s`` are seconds from the file's
    start.

    Raises :class:`~reelkit.errors.MediaError` when the file is missing, unreadable or has no video stream.
    """
    opts = (options or QCOptions()).validate()
    if info is None:
        info = probe(path)
    if not info.video:
        raise MediaError("has no video stream; video QC needs one", path=str(path))
    check_picture(info)
    vs = info.video[0]
    # exact: 23.98 as printed labelled 2400 as 00:01:40:02; a constant rate with frames dropped at its base
    # rate (the average, 24.90 for 25, labelled every frame after a gap one early and lost drop-frame)
    label_rate, variable = rate if rate is not None else picture_rate(path, info)
    fps = float(label_rate) if label_rate else 25.0
    tc0 = info.start_timecode  # the messages give the timecodes the file's own timecode track shows
    frame_s = 1.0 / fps
    want = set(opts.checks)

    # the detectors measure a stretch that runs to the end of the file as last timestamp - start, one frame
    # short of what it covers: they get one frame less, and the lengths are checked here on the full spans
    black_d = max(opts.black_min_s - frame_s, frame_s / 2)
    freeze_d = max(opts.freeze_min_s - frame_s, frame_s / 2)
    chain = [
        f"blackdetect=d={black_d:.6f}:pic_th={opts.black_pic_th}:pix_th={opts.black_pix_th}",
        f"freezedetect=n={opts.freeze_noise_db}dB:d={freeze_d:.6f}",
        # as a fraction, which cropdetect scales to the format's depth (24 read as a 10-bit level is below
        # the limited-range black of 64: no bars were ever found in a 10-bit master)
        f"cropdetect=limit={opts.crop_limit / 255:.6f}:round=2:reset=1:skip=0",
        "idet",
        "select='gte(scene\\,0)'",  # every frame passes, with its scene score, for the printer to print
        "blackframe=amount=0:threshold=24",  # every frame's share of black pixels (text on black)
        "metadata=mode=print",
    ]
    # with the flash check, a tiny grey copy of every frame comes out on stdout in the same pass: it tells
    # a flash (the picture after it is the one before) from a cut or a short shot
    thumbs_wanted = "flash" in want
    graph = f"[0:V:0]{','.join(chain)}[qo]"
    outputs = ["-map", "[qo]", "-f", "null", "-"]
    if thumbs_wanted:
        thumb = f"scale={_THUMB_W}:{_THUMB_H}:flags=area,format=gray"
        graph = f"[0:V:0]split[q][t];[q]{','.join(chain)}[qo];[t]{thumb}[to]"
        outputs += ["-map", "[to]", "-fps_mode", "passthrough", "-f", "rawvideo", "pipe:1"]
    log = _Log()
    thumbs = _Thumbs()
    stream_ffmpeg(
        ["-nostats", "-i", str(path), "-an", "-sn", "-filter_complex", graph, *outputs],
        on_line=log.line,
        on_block=thumbs.add if thumbs_wanted else None,
        block_bytes=_THUMB_W * _THUMB_H,
        what=f"video QC of {path}",
    )
    frame_times, scene, idet_single, idet_multi = log.times, log.scene, log.single, log.multi
    damage = log.damage
    video_end = frame_times[-1] + frame_s if frame_times else (info.duration_s or 0.0)
    duration = video_end

    findings: list[Finding] = []

    # a delayed video stream (muxed after the sound, -itsoffset): the sound plays over no picture first.
    # An H.264 stream with B-frames and no edit list (a fragmented MP4) starts its first picture at the
    # encoder's reorder delay (2 frames for x264: 0.08 s at 25 fps): a note, not a delayed stream
    head = frame_times[0] if frame_times else 0.0
    if head >= LEAD_IN_MIN_S:
        frames = round(head / frame_s)
        reorder = head <= (REORDER_FRAMES + 0.5) * frame_s
        findings.append(
            Finding(
                "video_start",
                0.0,
                head,
                "info" if reorder else "warning",
                f"the picture starts {head:.3f} s ({frames} frame{'s' * (frames != 1)}) into the programme"
                + (
                    ": likely an encoder's B-frame reorder delay kept without an edit list (players that "
                    "follow the timestamps show the sound that much early)"
                    if reorder
                    else " (a delayed video stream): the sound plays over no picture before it"
                ),
                "video",
            )
        )

    # cut short (an MP4 whose index in front lists more than its data holds): ffmpeg says 'partial file'
    # and the picture ends early; what is missing cannot be checked, whichever checks were asked for.
    # The container's duration is the longest stream's, so without that word it speaks for the picture
    # only when there is no sound
    declared = info.duration_s
    if declared is not None and ends_short(declared, video_end) and (log.partial or not info.audio):
        findings.append(
            Finding(
                "truncated",
                video_end,
                declared,
                "error",
                f"{video_end:.2f} s of picture decode; the container declares {declared:.2f} s (cut short "
                "or damaged in a copy or transfer?)",
                "video",
            )
        )

    # a damaged stream (bytes overwritten in a copy or transfer): decode errors, and frames left out where
    # the damage hid them (a gap in the timestamps; not in a variable-rate stream, where gaps are its own:
    # a constant-rate one with frames dropped, which ffmpeg averages under its rate, is checked)
    if damage:
        # the decoder runs some frames ahead of the printer: the errors are at or a little after that frame
        t0 = frame_times[min(damage[0][0], len(frame_times) - 1)] if frame_times else 0.0
        said = re.sub(r"^(\[[^\]]*\]\s*)+", "", damage[0][1]).strip()
        findings.append(
            Finding(
                "decode_errors",
                t0,
                None,
                "error",
                f"{len(damage)} decode error message(s) from {timecode(t0, fps, tc0)} or a little after "
                f"(the first: '{said}'): the stream is damaged, its picture broken or frames left out; "
                "get a new copy",
                "video",
            )
        )
    if not variable:
        for prev, nxt in pairwise(frame_times):
            missing = round((nxt - prev) / frame_s) - 1
            if missing >= 1:
                gap = (prev + frame_s, nxt)
                findings.append(
                    Finding(
                        "frames_missing",
                        *gap,
                        "error" if damage else "warning",
                        f"{missing} frame(s) missing {_span(*gap, fps, tc0)}: a gap in the picture's "
                        "timestamps" + (" (decode errors)" if damage else ""),
                        "video",
                    )
                )

    # black
    blacks = log.blacks
    blacks = [(a, duration if b >= duration - 1.5 * frame_s else b) for a, b in blacks]
    blacks = [(a, b) for a, b in blacks if b - a >= opts.black_min_s - 1e-6]
    if "black" in want:
        for a, b in blacks:
            findings.append(
                Finding(
                    "black",
                    a,
                    b,
                    _black_severity(a, b, duration, frame_s, head),
                    f"black picture {_span(a, b, fps, tc0)}",
                    "video",
                )
            )

    # freeze
    if "freeze" in want:
        starts, ends = log.freeze_starts, log.freeze_ends
        for i, a in enumerate(starts):
            b = ends[i] if i < len(ends) else duration
            if b - a < opts.freeze_min_s - 1e-6:
                continue
            # a frozen stretch that is black is reported as black only
            if any(ba <= a + frame_s and b <= bb + frame_s for ba, bb in blacks):
                continue
            sev: Severity = "error" if a <= frame_s and b >= duration - frame_s else "warning"
            findings.append(Finding("freeze", a, b, sev, f"frozen picture {_span(a, b, fps, tc0)}", "video"))

    # letterbox / pillarbox
    if want & {"letterbox", "pillarbox"}:
        W, H = vs.width, vs.height
        # (time, left bar, right bar, top bar, bottom bar) in pixels, black frames left out
        # an all-black frame has no picture to crop to (cropdetect prints x1 > x2, y1 > y2): left out, as
        # black frames are, even when too short to be a black finding (a flash)
        crops = [
            (t, x1, W - 1 - x2, y1, H - 1 - y2) for t, x1, x2, y1, y2 in log.crops if x1 <= x2 and y1 <= y2
        ]
        crops = [c for c in crops if not _inside(c[0], blacks)]
        # a title card or a credit roll (text on black: mostly black, its box the text's) has no bars;
        # nor has a box under BAR_PICTURE_MIN of the frame either way (a caption, a logo on black)
        crops = [
            c
            for c in crops
            if log.pblack.get(round(c[0], 4), 0) < MOSTLY_BLACK
            and W - c[1] - c[2] >= BAR_PICTURE_MIN * W
            and H - c[3] - c[4] >= BAR_PICTURE_MIN * H
        ]
        times = [c[0] for c in crops]
        min_v = max(2, round(opts.bar_min_fraction * H))
        min_h = max(2, round(opts.bar_min_fraction * W))
        top = [c[3] >= min_v and c[4] >= min_v for c in crops]
        side = [c[1] >= min_h and c[2] >= min_h for c in crops]
        for kind, flags in (("letterbox", top), ("pillarbox", side)):
            if kind not in want:
                continue
            for a, b in _runs(times, flags, frame_s, duration, opts.bars_min_s, merge_gap_s=0.5):
                sel = [c for c in crops if a <= c[0] < b]
                sides = (1, 2) if kind == "pillarbox" else (3, 4)
                if _bars_jump(sel, sides, b - a):
                    continue  # moving text or shapes on black, not bars
                for sa, sb, seg in _bar_segments(sel, sides, a, b, opts.bars_min_s):
                    left, right, up, down = (sorted(c[k] for c in seg)[len(seg) // 2] for k in (1, 2, 3, 4))
                    # the picture's size counts the bars on both axes (a windowboxed picture has all four)
                    what = f"{W - left - right}x{H - up - down} picture in {W}x{H}, " + (
                        f"bars {up} px top and {down} px bottom"
                        if kind == "letterbox"
                        else f"bars {left} px left and {right} px right"
                    )
                    findings.append(
                        Finding(kind, sa, sb, "warning", f"{kind} {_span(sa, sb, fps, tc0)}: {what}", "video")
                    )

    # interlacing
    if "interlaced" in want:
        cuts = [i for i, v in enumerate(scene) if v > opts.scene_threshold]
        findings += _interlace_findings(
            frame_times,
            idet_single,
            idet_multi,
            cuts,
            frame_s,
            duration,
            opts,
            vs.field_order,
            fps,
            tc0,
            log.repeated,
        )

    # scene cuts; a change and a change back within a few frames is a flash (a frame or two of something
    # else: a photo flash, a stray frame left in an edit), not two cuts
    if want & {"cut", "flash"}:
        groups: list[list[int]] = []  # changes of picture (frame indices) a few frames apart
        for i, v in enumerate(scene):
            if v <= opts.scene_threshold:
                continue
            if groups and frame_times[i] - frame_times[groups[-1][-1]] <= FLASH_MAX_FRAMES * frame_s + 1e-6:
                groups[-1].append(i)
            else:
                groups.append([i])
        diffs = thumbs.diffs() if thumbs_wanted and frame_times and thumbs.count == len(frame_times) else None

        def cut(i: int) -> None:
            if "cut" in want:
                t = frame_times[i]
                findings.append(
                    Finding("cut", t, None, "info", f"scene cut {_span(t, None, fps, tc0)}", "video")
                )

        def flash(first: int, back: int, what: str) -> None:
            a, b = frame_times[first], frame_times[back]
            if any(ba - frame_s <= a and b <= bb + frame_s for ba, bb in blacks):
                return  # a black insert: the black finding says it
            n = round((b - a) / frame_s)
            findings.append(
                Finding(
                    "flash", a, b, "warning", f"flash frame(s) {_span(a, b, fps, tc0)}: {n} {what}", "video"
                )
            )

        for g in groups:
            # the longest run of the group's changes from each one that is a flash (a flash then a cut a
            # few frames on: the flash, then the cut; the whole group was judged as one and read as cuts)
            p = 0
            while p < len(g):
                span = None
                if "flash" in want:
                    span = next((sp for q in range(len(g), p, -1) if (sp := _flash(diffs, g[p:q]))), None)
                if span is not None:
                    flash(*span, "frame(s) of another picture within one shot")
                    p = next((k for k in range(p, len(g)) if g[k] > span[1]), len(g))
                    continue
                a = g[p]
                if "flash" in want and _stray(diffs, a):
                    # one frame of a third picture at an edit (its change to the next shot often scores low:
                    # the scene score is held down right after a change, so it was one cut)
                    flash(a, a + 1, "frame of a third picture between two shots (a frame left at an edit?)")
                    cut(a + 1)
                    p += 2 if p + 1 < len(g) and g[p + 1] == a + 1 else 1
                else:  # a cut (each change of a short shot between two others is one)
                    cut(a)
                    p += 1

    # A/V duration
    if "av_mismatch" in want and info.audio:
        # the packets' own times (-copyts): an MPEG-TS sound copied alone started at 0, so its length was
        # taken for its end (1 s late and 3 s long it 'ended' at 3 s under 4 s of picture ending with it)
        stamps = _Ends()
        both = ["-map", "0:V:0", "-map", "0:a:0"]
        stream_ffmpeg(
            ["-v", "error", "-copyts", "-i", str(path), *both, "-c", "copy", "-f", "framecrc", "-"],
            on_line=lambda _: None,
            on_block=stamps.add,
            block_bytes=1 << 16,
            what=f"audio length of {path}",
        )
        audio_end = stamps.audio_end(head) if frame_times else None
        if audio_end is not None:
            diff = audio_end - video_end
            if abs(diff) > opts.av_tolerance_s:
                sev2: Severity = "error" if abs(diff) > opts.av_error_s else "warning"
                a, b = sorted((audio_end, video_end))
                longer = "audio" if diff > 0 else "video"
                findings.append(
                    Finding(
                        "av_mismatch",
                        a,
                        b,
                        sev2,
                        f"audio ends at {timecode(audio_end, fps, tc0)}, video at "
                        f"{timecode(video_end, fps, tc0)}: "
                        f"{longer} is {abs(diff):.3f} s longer",
                        "video",
                    )
                )

    findings.sort(key=lambda f: (f.start_s, _ORDER.index(f.kind) if f.kind in _ORDER else 99))
    return [
        replace(f, start_s=round(f.start_s, 6), end_s=None if f.end_s is None else round(f.end_s, 6))
        for f in findings
    ]
