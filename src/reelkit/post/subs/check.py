"""Timing and layout rules for a subtitle file, reported as QC findings.

Defaults follow the Netflix Timed Text Style Guide — "General Requirements" (partnerhelp.netflixstudios.com,
article 215758617: minimum duration 5/6 s, maximum 7 s, 2-frame minimum gap, 2 lines maximum) and its
"English Template" guide (article 219375728: 17 characters per second for adult programmes, 42 characters
per line). Every limit is a field of :class:`SubtitleRules`, so other delivery specs (BBC, EBU-TT-D) can
be expressed by changing it.

Reading speed counts the characters a viewer reads (letters, digits, punctuation and spaces inside a line;
markup and line breaks excluded) over the cue's duration. A mark that sits on its letter counts with it
(:func:`_seen_length`): an accent written as a combining mark (``e`` + U+0301) as the precomposed ``é``,
and so Arabic harakat and Hebrew niqqud, which have no precomposed forms; invisible format characters
(right-to-left and left-to-right marks, joiners) count nothing.
"""

from __future__ import annotations

import math
import os
import unicodedata
from dataclasses import dataclass

from reelkit.errors import ConfigError
from reelkit.post.findings import Finding, Severity, timecode
from reelkit.post.subs.io import Cue, SubtitleFile, is_drawing, load_subtitles

__all__ = ["SubtitleRules", "check_subtitles"]


def _seen_length(line: str) -> int:
    """Characters of ``line`` as a reader counts them: in NFC (decomposed Hangul syllables and accented
    letters composed), without nonspacing and enclosing marks (Unicode categories Mn, Me) and format
    characters (Cf: RLM, LRM, ZWJ). A vowelled Arabic line of 30 letters was 48 (its harakat counted),
    over 42: a false line-length and reading-speed finding."""
    return sum(
        unicodedata.category(ch) not in ("Mn", "Me", "Cf") for ch in unicodedata.normalize("NFC", line)
    )


@dataclass(frozen=True)
class SubtitleRules:
    """Limits a delivery spec puts on subtitle timing and layout (defaults: Netflix English)."""

    min_duration_s: float = 5.0 / 6.0
    max_duration_s: float = 7.0
    max_cps: float = 17.0
    max_line_chars: int = 42
    max_lines: int = 2
    min_gap_frames: float = 2.0
    fps: float = 24.0
    # a cue whose end is within this of the media's end is not "past the end" (rounding of the last frame)
    end_tolerance_s: float = 0.04

    def __post_init__(self) -> None:
        for name in ("min_duration_s", "max_duration_s", "max_cps", "fps"):
            if not 0 < getattr(self, name) < math.inf:  # fps inf turned the gap rule off silently
                raise ConfigError(
                    f"subtitle rule {name} must be a positive, finite number; got {getattr(self, name)}"
                )
        for name, least in (("max_line_chars", 1), ("max_lines", 1), ("min_gap_frames", 0)):
            if not getattr(self, name) >= least:
                raise ConfigError(f"subtitle rule {name} must be at least {least}; got {getattr(self, name)}")


def _over(value: float, limit: float) -> str:
    """``value`` (above ``limit``) with as many decimals as show it above: 17.05 over 17 read "17.0"."""
    for digits in range(1, 6):
        if round(value, digits) > limit:
            return f"{value:.{digits}f}"
    return f"{value:.6f}"


def _f(kind: str, start: float, end: float | None, sev: Severity, msg: str) -> Finding:
    return Finding(kind=kind, start_s=start, end_s=end, severity=sev, message=msg, source="subtitles")


def _name(c: Cue) -> str:
    """``cue 4``: its place in the file, and what the file numbers it where that differs (an SRT renumbered
    by hand skips, repeats or starts at 0; a WebVTT cue's identifier), so an editor finds it either way."""
    place = f"cue {c.index + 1}"
    if not c.number or c.number == str(c.index + 1):
        return place
    return f"{place} (numbered {c.number})" if c.number.isdigit() else f"{place} ({c.number!r})"


def _vtt_comma_times(sub: SubtitleFile) -> list[Finding]:
    """One finding for the WebVTT cues whose times are written SRT's way (``00:00:01,000``): the W3C
    parser, and so every browser, drops such a cue; the file is read as players like ffmpeg read it."""
    if sub.format != "vtt" or not sub.source:
        return []
    lines = sub.source.split("\n")
    comma = [
        (k, lines[ln][a:b])
        for k, spans in enumerate(sub._spans)
        for ln, a, b, *_ in spans
        if "," in lines[ln][a:b]
    ]
    if not comma:
        return []
    k, written = comma[0]
    c = sub.cues[k]
    others = len({k for k, _ in comma}) - 1
    more = f" (and {others} more cue{'s' * (others > 1)})" if others else ""
    return [
        _f(
            "time_format",
            c.start_s,
            c.end_s,
            "error",
            f"{_name(c)} at {timecode(c.start_s)}{more}: {written!r}: WebVTT times need '.' before "
            "the milliseconds; browsers drop these cues",
        )
    ]


def check_subtitles(
    path_or_file: str | os.PathLike[str] | SubtitleFile,
    *,
    media_duration_s: float | None = None,
    rules: SubtitleRules | None = None,
) -> list[Finding]:
    """Check a subtitle file against timing and layout rules; findings sorted by time.

    Kinds: ``bad_timing`` (end not after start), ``time_format`` (WebVTT times with a comma before the
    milliseconds, which browsers refuse: read, so that rewriting the file fixes them), ``before_zero``,
    ``past_end`` (needs ``media_duration_s``), ``overlap``, ``gap`` (shorter than ``min_gap_frames``),
    ``out_of_order``, ``min_duration``, ``max_duration``, ``reading_speed``, ``line_length``, ``line_count``,
    ``empty`` (a cue without text, or a file without cues). An ASS/SSA event that only draws a shape
    (``{\\p1}m 0 0 l ...``) is checked for its times alone: no text or duration rules, no overlap or gap.
    """
    r = rules or SubtitleRules()
    sub = path_or_file if isinstance(path_or_file, SubtitleFile) else load_subtitles(path_or_file)
    out: list[Finding] = []
    cues = sub.cues
    if not cues:
        return [_f("empty", 0.0, None, "error", "the file holds no subtitle cues; is it the right file?")]
    out.extend(_vtt_comma_times(sub))
    # ASS events that only draw a shape ({\p1}m 0 0 l ...): signs and boxes, not subtitles to read or to keep
    # apart from the dialogue
    drawn = {k for k, c in enumerate(cues) if sub.format in ("ass", "ssa") and is_drawing(c.raw)}
    for k, c in enumerate(cues):
        n = _name(c)
        tc = timecode(c.start_s)
        if c.end_s <= c.start_s:
            what = (
                "ends before it starts"
                if c.end_s < c.start_s
                else "has no length (ends as it starts): not shown"
            )
            out.append(_f("bad_timing", c.start_s, c.end_s, "error", f"{n} at {tc} {what}"))
        if c.start_s < 0:
            out.append(_f("before_zero", c.start_s, c.end_s, "error", f"{n} starts before zero ({tc})"))
        if media_duration_s is not None and c.end_s > media_duration_s + r.end_tolerance_s:
            out.append(
                _f(
                    "past_end",
                    c.start_s,
                    c.end_s,
                    "error",
                    f"{n} ends at {timecode(c.end_s)}, after the media's end ({timecode(media_duration_s)})",
                )
            )
        if k in drawn:
            continue
        if not c.text.strip():
            out.append(_f("empty", c.start_s, c.end_s, "warning", f"{n} at {tc} has no text"))
            continue
        dur = c.end_s - c.start_s
        if 0 < dur < r.min_duration_s - 0.001:  # times in files are rounded to the millisecond
            out.append(
                _f(
                    "min_duration",
                    c.start_s,
                    c.end_s,
                    "warning",
                    f"{n} at {tc} lasts {dur:.3f} s, under the minimum {r.min_duration_s:.3f} s",
                )
            )
        if dur > r.max_duration_s + 1e-6:
            out.append(
                _f(
                    "max_duration",
                    c.start_s,
                    c.end_s,
                    "warning",
                    f"{n} at {tc} lasts {dur:.3f} s, over the maximum {r.max_duration_s:g} s",
                )
            )
        widths = [_seen_length(line) for line in c.lines]  # what is seen, not code points
        chars = sum(widths)
        if dur > 0 and chars / dur > r.max_cps + 1e-9:
            out.append(
                _f(
                    "reading_speed",
                    c.start_s,
                    c.end_s,
                    "warning",
                    f"{n} at {tc}: {_over(chars / dur, r.max_cps)} characters per second ({chars} in "
                    f"{dur:.3f} s), over {r.max_cps:g}",
                )
            )
        longest = max(widths, default=0)
        if longest > r.max_line_chars:
            out.append(
                _f(
                    "line_length",
                    c.start_s,
                    c.end_s,
                    "warning",
                    f"{n} at {tc}: a line of {longest} characters, over {r.max_line_chars}",
                )
            )
        if len(c.lines) > r.max_lines:
            out.append(
                _f(
                    "line_count",
                    c.start_s,
                    c.end_s,
                    "warning",
                    f"{n} at {tc} has {len(c.lines)} lines, over {r.max_lines}",
                )
            )
    # pairwise rules between consecutive cues in time (file order may differ)
    order = sorted(range(len(cues)), key=lambda i: (cues[i].start_s, cues[i].end_s))
    # out of order: a cue that starts before the one above it (equal starts, in any order, are in order)
    first = next((k for k in range(1, len(cues)) if cues[k].start_s < cues[k - 1].start_s), None)
    if first is not None:
        c = cues[first]
        out.append(
            _f(
                "out_of_order",
                c.start_s,
                None,
                "info",
                f"cues are not in time order in the file (first at {_name(c)}, {timecode(c.start_s)})",
            )
        )
    min_gap = r.min_gap_frames / r.fps
    latest_end = -float("inf")
    latest_idx = -1
    for i in order:
        c = cues[i]
        if c.end_s <= c.start_s or i in drawn:
            continue
        if latest_idx >= 0:
            p = cues[latest_idx]
            if c.start_s < latest_end - 1e-6:
                out.append(
                    _f(
                        "overlap",
                        c.start_s,
                        min(latest_end, c.end_s),
                        "error",
                        f"{_name(c)} at {timecode(c.start_s)} overlaps {_name(p)} "
                        f"(which ends at {timecode(latest_end)})",
                    )
                )
            elif c.start_s - latest_end < min_gap - 0.001:  # two frames at 24 fps: 83.3 ms, written 83
                gap = c.start_s - latest_end
                out.append(
                    _f(
                        "gap",
                        latest_end,
                        c.start_s,
                        "warning",
                        f"{_name(c)} at {timecode(c.start_s)} follows {_name(p)} after "
                        f"{gap * 1000:.0f} ms, under {r.min_gap_frames:g} frames ({min_gap * 1000:.0f} ms)",
                    )
                )
        if c.end_s > latest_end:
            latest_end, latest_idx = c.end_s, i
    out.sort(key=lambda f: (f.start_s, f.kind))
    return out
