"""Findings of quality control, shared by the audio, subtitle and video checks and the QC report."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

__all__ = ["Finding", "Severity", "timecode"]

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


def timecode(seconds: float, fps: float | None = None) -> str:
    """``HH:MM:SS.mmm``, or with ``fps`` the frame's SMPTE non-drop-frame timecode ``HH:MM:SS:FF``: frames
    counted at the video's rate and labelled at the nominal one (24 at 23.976, 30 at 29.97), as an edit
    system labels them; at 23.976 such a timecode runs 3.6 s an hour behind the clock. At a rate that is
    neither whole nor NTSC (12.5, a variable rate's average) the label is the clock's second and its
    frame."""
    sign = "-" if seconds < 0 else ""
    s = abs(seconds)
    if fps:
        ntsc = int(fps * 1.001 + 0.5)  # 24 for 23.976, 30 for 29.97, 60 for 59.94
        # an NTSC rate as ffmpeg prints it (23.98, 29.97) is taken as the exact one (24000/1001, ...)
        is_ntsc = abs(fps - ntsc / 1.001) < 0.006 and abs(fps - round(fps)) > 1e-6
        if is_ntsc or abs(fps - round(fps)) < 1e-6:
            nominal = ntsc if is_ntsc else int(fps + 0.5)
            exact = ntsc / 1.001 if is_ntsc else fps
            n = round(s * exact)  # the frame shown at this time (frame 2400 at 23.976 is 00:01:40:00)
            whole, frames = divmod(n, nominal)
        else:  # another rate (12.5, a variable one's average): the clock's second and its frames
            whole = math.floor(s)
            frames = round((s - whole) * fps)
            if frames >= math.ceil(fps):  # rounds up to the next second
                whole, frames = whole + 1, 0
        m, sec = divmod(whole, 60)
        h, m = divmod(m, 60)
        return f"{sign}{h:02d}:{m:02d}:{sec:02d}:{frames:02d}"
    ms = round(s * 1000)  # rounded once, so 59.9996 s is 00:01:00.000, never 00:00:60.000
    h, rem = divmod(ms, 3_600_000)
    m, rem = divmod(rem, 60_000)
    sec, ms = divmod(rem, 1000)
    return f"{sign}{h:02d}:{m:02d}:{sec:02d}.{ms:03d}"
