# READ FIRST: /work/PARALLEL_RULES.md (rules for the engineers working in parallel this session).
"""Findings of quality control, shared by the audio, subtitle and video checks and the QC report."""

from __future__ import annotations

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
    """``HH:MM:SS.mmm`` (or ``HH:MM:SS:FF`` frames when ``fps`` is given) for a time in seconds."""
    sign = "-" if seconds < 0 else ""
    s = abs(seconds)
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    if fps:
        whole = int(sec)
        frames = round((sec - whole) * fps)
        return f"{sign}{int(h):02d}:{int(m):02d}:{whole:02d}:{frames:02d}"
    return f"{sign}{int(h):02d}:{int(m):02d}:{sec:06.3f}"
