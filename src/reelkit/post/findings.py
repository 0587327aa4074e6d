"""Findings of quality control, shared by the audio, subtitle and video checks and the QC report."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["Finding", "Severity", "parse_timecode", "timecode"]

Severity = Literal["info", "warning", "error"]


@dataclass(frozen=True)
class Finding:
    """One problem (or notable event) found in a deliverable, located in time.

    ``kind`` is a short machine name (``black``, ``freeze``, ``clipping``, ``silence``, ``overlap``, ...);
    ``source`` says which check found it (``audio``, ``subtitles``, ``video``, ``loudness``).
    ``end_s`` is ``None`` for an instant.
    """

    kind: str
    start_s: float
    end_s: float | None
    severity: Severity
    message: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_TC = re.compile(r"(\d{1,2}):(\d{2}):(\d{2})([:;.,])(\d{2,3})")


def parse_timecode(label: str, fps: float) -> tuple[int, bool] | None:
    """A SMPTE timecode label (``01:00:00:00``; ``01:00:00;00`` drop-frame) as its frame count at ``fps``
    and whether it is drop-frame (``;``, ``.`` or ``,`` before the frames, at 29.97 or 59.94 only); ``None``
    when it is no timecode of that rate (a frame or second out of range, a rate neither whole nor NTSC)."""
    nominal, _ = _nominal(fps)
    got = _fields(label, nominal) if nominal is not None else None
    if got is None or nominal is None:
        return None
    h, mi, sec, sep, frames = got
    drop = sep != ":" and nominal in (30, 60)
    n = (h * 3600 + mi * 60 + sec) * nominal + frames
    if drop:
        per = nominal // 15  # frames dropped each minute: 2 at 29.97, 4 at 59.94
        if sec == 0 and frames < per and mi % 10:  # a label drop-frame timecode skips
            return None
        minutes = h * 60 + mi
        n -= per * (minutes - minutes // 10)
    return n, drop


def _fields(label: str, per_second: int) -> tuple[int, int, int, str, int] | None:
    """Hours, minutes, seconds, the separator before the frames, and the frames of a timecode label with
    ``per_second`` frame labels a second; ``None`` for anything else."""
    m = _TC.fullmatch(label.strip())
    if m is None:
        return None
    h, mi, sec, frames = int(m[1]), int(m[2]), int(m[3]), int(m[5])
    return (h, mi, sec, m[4], frames) if mi < 60 and sec < 60 and frames < per_second else None


def _nominal(fps: float) -> tuple[int | None, float]:
    """The whole rate a timecode at ``fps`` is labelled at (24 at 23.976) and the exact rate; ``None`` at a
    rate neither whole nor NTSC."""
    ntsc = int(fps * 1.001 + 0.5)  # 24 for 23.976, 30 for 29.97, 60 for 59.94
    # an NTSC rate as ffmpeg prints it (23.98, 29.97) is taken as the exact one (24000/1001, ...)
    if abs(fps - ntsc / 1.001) < 0.006 and abs(fps - round(fps)) > 1e-6:
        return ntsc, ntsc / 1.001
    if abs(fps - round(fps)) < 1e-6 and round(fps) > 0:
        return int(fps + 0.5), fps
    return None, fps


#: How early a time may be and still count as the frame starting just after it: a frame's start computed
#: as k / fps (float noise), printed by ffmpeg to 6 digits, or stored in a container of millisecond
#: timestamps (Matroska/WebM: a frame at 29.97 fps lands up to 0.5 ms before its start, which ffmpeg's
#: blackdetect and freezedetect report as it is). Under a tenth of the shortest frame here (8 ms at 120 fps).
_SLACK_S = 0.6e-3


def timecode(seconds: float, fps: float | None = None, start: str | None = None) -> str:
    """``HH:MM:SS.mmm``, or with ``fps`` the frame's SMPTE non-drop-frame timecode ``HH:MM:SS:FF``: frames
    counted at the video's rate and labelled at the nominal one (24 at 23.976, 30 at 29.97), as an edit
    system labels them; at 23.976 such a timecode runs 3.6 s an hour behind the clock. At a rate that is
    neither whole nor NTSC (12.5, a variable one's average) the label is the clock's second and its
    frame.

    ``start`` is the file's own start timecode (a MOV/MP4 ``tmcd`` track, an MXF's; ``01:00:00:00`` is
    the usual start of a programme): the label then counts on from it, as the edit system showing the file
    does, drop-frame (``HH:MM:SS;FF``) when ``start`` is, and wrapping at 24 hours (at a rate neither whole
    nor NTSC: the start's second and frame plus the clock's). A ``start`` that is no timecode of the rate is
    passed over."""
    sign = "-" if seconds < 0 else ""
    s = abs(seconds)
    if fps:
        nominal, exact = _nominal(fps)
        if nominal is not None:
            # the frame shown at this time: the last one started by then (7.991 s at 25 fps is frame 199,
            # frame 2400 at 23.976 is 00:01:40:00); a frame's start up to _SLACK_S early is that frame
            n = math.floor((seconds + _SLACK_S) * exact)
            sign = "-" if n < 0 else ""
            first = parse_timecode(start, fps) if start else None
            if first is None:
                whole, frames = divmod(abs(n), nominal)
                return _label(sign, whole, frames, ":")
            day = 24 * 3600 * nominal
            drop = first[1]
            if drop:
                per = nominal // 15
                day -= per * 9 * 24 * 6  # the frames a day of drop-frame labels skips
            n = (first[0] + n) % day
            if drop:  # the frame count to its drop-frame label: skipped labels added back
                ten = nominal * 600 - per * 9  # frames in ten minutes
                tens, rest = divmod(n, ten)
                n += per * 9 * tens + (per * ((rest - per) // (nominal * 60 - per)) if rest > per else 0)
            whole, frames = divmod(n, nominal)
            return _label("", whole, frames, ";" if drop else ":")
        # another rate (12.5, a variable one's average): the clock's second and its frames, counted on
        # from the start timecode's own second and frame where one is given
        got = _fields(start, math.ceil(fps)) if start else None
        if got is not None:
            h, mi, sec, _, f = got
            sign, s = "", (h * 3600 + mi * 60 + sec + f / fps + (-s if sign else s)) % 86400.0
        s += _SLACK_S  # a frame's start a hair early is that frame (as above)
        whole = math.floor(s)
        frames = min(math.floor((s - whole) * fps), math.ceil(fps) - 1)  # the frame shown in that second
        return _label(sign, whole % 86400 if got is not None else whole, frames, ":")
    ms = round(s * 1000)  # rounded once, so 59.9996 s is 00:01:00.000, never 00:00:60.000
    sign = sign if ms else ""  # -0.0004 s is 00:00:00.000, not "-00:00:00.000"
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    sec, ms = divmod(rem, 1000)
    return f"{sign}{h:02d}:{m:02d}:{sec:02d}.{ms:03d}"


def _label(sign: str, whole: int, frames: int, sep: str) -> str:
    m, sec = divmod(whole, 60)
    h, m = divmod(m, 60)
    return f"{sign}{h:02d}:{m:02d}:{sec:02d}{sep}{frames:02d}"
