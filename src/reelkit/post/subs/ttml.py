"""TTML (DFXP, IMSC, EBU-TT-D): cues read here, and their times rewritten in place.

pysubs2 reads neither frame- nor tick-based times (``00:00:05:13``, ``55000000t``: the DFXP that streaming
services deliver), nor ``dur``, and regenerates the document when it writes, losing regions, styles, spans
and languages. This reader follows TTML1's timing for ``par`` containers (the default): an element's
``begin`` and ``end`` count from its parent's begin, ``dur`` from its own begin, a missing end is the
parent's; times are clock times (``HH:MM:SS.fff``, ``HH:MM:SS:FF[.sub]``) or offsets (``h m s ms f t``)
with the document's ``ttp:frameRate``, ``ttp:frameRateMultiplier``, ``ttp:subFrameRate`` and
``ttp:tickRate`` (TTML's defaults: 30 fps; a tick rate of the effective frame rate, multiplier included, x
sub-frame rate when a frame rate is given, else 1).

Every ``<p>`` with text is a cue; a ``<p>`` whose text all lies in timed ``<span>`` elements is shown from
the first span's begin to the last one's end (the spans' times count from the ``<p>``'s begin, as the
``<p>``'s from its parent's). Writing edits only each ``<p>``'s own ``begin`` and ``end``/``dur`` values, in
the notation each was written in; a document whose cues take their times from elsewhere (a ``<div begin>``
alone, timed ``<span>`` elements) can be read but not written back this way. DFXP in the namespaces before
the TTML Recommendation (``http://www.w3.org/2006/10/ttaf1``, ``.../2006/04/ttaf1``) is read alike.
"""

from __future__ import annotations

import bisect
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from fractions import Fraction

from reelkit.errors import DataFormatError
from reelkit.post.findings import timecode

__all__ = ["TimeBase", "TtmlCue", "TtmlSlot", "format_time", "parse_time", "read_ttml"]

TT_NS = "http://www.w3.org/ns/ttml"
#: TTML's namespace and DFXP's before the Recommendation (2006 drafts), read alike; each has its parameters
#: (ttp:) in ``<namespace>#parameter``
_TT_NAMESPACES = (TT_NS, "http://www.w3.org/2006/10/ttaf1", "http://www.w3.org/2006/04/ttaf1")
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_CLOCK = re.compile(r"^(\d{2,}):(\d{2}):(\d{2})(?:(\.\d+)|:(\d{2,})(?:\.(\d+))?)?$")
_OFFSET = re.compile(r"^(\d+(?:\.\d+)?)(h|m|s|ms|f|t)$")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
# a <p> start tag in the text, skipping comments and CDATA (a "<p" inside them is not an element)
_P_TAG = re.compile(r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<(?P<tag>(?:[\w.-]+:)?p)\b(?P<attrs>[^>]*)>", re.DOTALL)
_ATTR = re.compile(r"(?<![\w:.-])(begin|end|dur)\s*=\s*([\"'])([^\"']*)\2")


@dataclass(frozen=True)
class TimeBase:
    """The document's time parameters."""

    frame_rate: Fraction = Fraction(30)  # effective: ttp:frameRate x ttp:frameRateMultiplier
    nominal_frames: int = 30  # ttp:frameRate, the frames of one clock second
    sub_frame_rate: int = 1
    tick_rate: float = 1.0


@dataclass(frozen=True)
class TtmlSlot:
    """Where one time of a cue is written: ``(line, first char, end char)`` of the attribute value in the
    text, and its ``role`` (begin, end or dur)."""

    line: int
    c0: int
    c1: int
    role: str


@dataclass(frozen=True)
class TtmlCue:
    """A ``<p>`` with text: its times, and its parent's, which its begin and end count from (dur counts from
    its own begin) and whose end it may not pass."""

    start_s: float
    end_s: float
    text: str
    slots: tuple[TtmlSlot, ...]  # empty when the cue's times are not its own <p>'s to edit
    parent_begin_s: float = 0.0
    parent_end_s: float | None = None


def _time_base(root: ET.Element, ns: str = TT_NS) -> TimeBase:
    # a DFXP root may carry TTML's own ttp: namespace (a 25 fps file was read at the default 30 in silence)
    params = [f"{{{ns}#parameter}}"] + ([f"{{{TT_NS}#parameter}}"] if ns != TT_NS else [])

    def get(name: str) -> str | None:
        return next((v for p in params if (v := root.get(p + name)) is not None), None)

    def num(name: str, default: str) -> str:
        value = get(name)
        return (default if value is None else value).strip()

    if num("timeBase", "media") != "media":
        raise ValueError(f"ttp:timeBase {num('timeBase', 'media')!r} is not supported (only 'media')")
    try:
        nominal = int(num("frameRate", "30"))
        mult = num("frameRateMultiplier", "1 1").split()
        multiplier = Fraction(int(mult[0]), int(mult[1])) if len(mult) == 2 else Fraction(1)
        sub = int(num("subFrameRate", "1"))
        has_rate = get("frameRate") is not None
        # TTML1 (ttp:tickRate): by default a tick is a sub-frame of the effective rate (29.97 fps, not 30)
        given = get("tickRate")
        tick = float(given) if given is not None else float(nominal * multiplier * sub) if has_rate else 1.0
    except (ValueError, ZeroDivisionError) as exc:
        raise ValueError(f"a ttp: time parameter is not a number ({exc})") from None
    if nominal <= 0 or sub <= 0 or multiplier <= 0 or not 0 < tick < math.inf:
        raise ValueError("ttp:frameRate, frameRateMultiplier, subFrameRate and tickRate must be positive")
    return TimeBase(nominal * multiplier, nominal, sub, tick)


def parse_time(expr: str, tb: TimeBase) -> float:
    """Seconds of a TTML time expression (raises ``ValueError`` for one TTML does not define)."""
    e = expr.strip()
    m = _CLOCK.match(e)
    if m:
        secs = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + int(m.group(3))
        if m.group(4):
            return secs + float(m.group(4))
        if m.group(5):
            frames = int(m.group(5)) + (int(m.group(6)) / tb.sub_frame_rate if m.group(6) else 0.0)
            return secs + frames / float(tb.frame_rate)
        return float(secs)
    m = _OFFSET.match(e)
    if m:
        value, unit = float(m.group(1)), m.group(2)
        if unit == "f":
            return value / float(tb.frame_rate)
        if unit == "t":
            return value / tb.tick_rate
        return value * _UNIT_S[unit]
    raise ValueError(f"{expr!r} is not a TTML time (HH:MM:SS.fff, HH:MM:SS:FF, or 12.5s, 500ms, 90f, 5000t)")


def format_time(t: float, template: str, tb: TimeBase) -> str:
    """``t`` seconds written in the notation of ``template`` (the value it replaces)."""
    t = max(t, 0.0)
    e = template.strip()
    m = _OFFSET.match(e)
    if m:
        unit = m.group(2)
        if unit == "t":
            return f"{round(t * tb.tick_rate)}t"
        if unit == "f":
            return f"{round(t * float(tb.frame_rate))}f"
        if unit == "ms":
            return f"{round(t * 1000)}ms"
        value = t / _UNIT_S[unit]
        # to the millisecond in any unit (1h + 1.5 s was "1h"), or as finely as the value replaced (a 24 fps
        # frame's 10.0417s came back 10.042s)
        given = len(m.group(1).partition(".")[2])
        places = max({"h": 7, "m": 5, "s": 3}[unit], given)
        whole, _, frac = f"{value:.{places}f}".partition(".")
        # as many decimals as the value replaced had, at least: an unchanged 1.500s was rewritten 1.5s
        frac = frac.rstrip("0").ljust(given, "0")
        return f"{whole}.{frac}{unit}" if frac else f"{whole}{unit}"
    m = _CLOCK.match(e)
    if m and m.group(5):  # frames: whole seconds, then the frames of the effective rate into that second
        secs_i = math.floor(t)
        ff = round((t - secs_i) * float(tb.frame_rate))  # rounded once (twice moved 00:00:17:00 a frame)
        if ff >= tb.nominal_frames:
            secs_i, ff = secs_i + 1, 0
        h, rem = divmod(secs_i, 3600)
        mm, ss = divmod(rem, 60)
        return f"{h:02d}:{mm:02d}:{ss:02d}:{ff:02d}"
    return timecode(t)  # HH:MM:SS.fff


_BREAK = "\u2028"  # a <br/> while white space is collapsed (a source line break is only white space)


def _text(p: ET.Element, space: str) -> str:
    """A <p>'s text: ``<br/>`` a line break, spans' text kept; under ``xml:space="default"`` (inherited
    from the ancestors as ``space``) white space, source line breaks included, collapses to one space."""
    keep = p.get(_XML_SPACE, space) == "preserve"
    parts: list[str] = []

    def walk(el: ET.Element) -> None:
        parts.append(el.text or "")
        for child in el:
            local = child.tag.rsplit("}", 1)[-1]
            if local == "br":
                parts.append(_BREAK)
            elif local == "span":
                walk(child)
            parts.append(child.tail or "")

    walk(p)
    joined = "".join(parts)
    if keep:
        lines = joined.replace(_BREAK, "\n").split("\n")
    else:
        lines = [re.sub(r"\s+", " ", ln).strip() for ln in joined.split(_BREAK)]
    return "\n".join(ln for ln in lines if ln)


def _interval(
    el: ET.Element, parent_begin: float, parent_end: float | None, tb: TimeBase, text: str
) -> tuple[float, float | None]:
    """An element's active interval, in seconds, from its parent's (TTML1 ``par`` timing, 10.4): begin and
    end count from the parent's begin, dur from its own; the earlier of end and begin + dur, cut by the
    parent's end; without either, the parent's end. A time that cannot be read is refused naming its
    attribute and, found in the document's ``text``, its line."""
    if el.get("timeContainer", "par") != "par":
        raise ValueError("only 'par' time containers are supported (timeContainer='seq' found)")

    def time(name: str) -> float:
        value = el.get(name, "")
        try:
            return parse_time(value, tb)
        except ValueError as exc:
            tag = el.tag.rsplit("}", 1)[-1]
            at = re.search(rf"(?<![\w:.-]){name}\s*=\s*([\"']){re.escape(value)}\1", text)
            line = text.count("\n", 0, at.start()) + 1 if at else None
            raise DataFormatError(f"the {name} of a <{tag}>: {exc}", line=line) from None

    begin = parent_begin + (time("begin") if el.get("begin") is not None else 0.0)
    ends = []
    if el.get("end") is not None:
        ends.append(parent_begin + time("end"))
    if el.get("dur") is not None:
        ends.append(begin + time("dur"))
    end = min(ends) if ends else parent_end
    if parent_end is not None and end is not None:
        end = min(end, parent_end)
    return begin, end


def _timed_spans(
    p: ET.Element, begin: float, end: float | None, tb: TimeBase, text: str
) -> list[tuple[float, float | None]] | None:
    """The intervals of the timed ``<span>`` elements holding a ``<p>``'s text, when all of its text lies in
    them (else None: text outside them is shown for the whole ``<p>``). Spans that begin after the ``<p>``
    ends are never shown and left out."""
    found: list[tuple[float, float | None]] = []
    loose = False  # text outside every timed span

    def has_text(el: ET.Element) -> bool:
        return any(t.strip() for t in el.itertext())

    def walk(el: ET.Element, b: float, e: float | None) -> None:
        nonlocal loose
        loose = loose or bool((el.text or "").strip())
        for child in el:
            loose = loose or bool((child.tail or "").strip())
            if child.tag.rsplit("}", 1)[-1] != "span":
                continue
            if not any(child.get(a) is not None for a in ("begin", "end", "dur")):
                walk(child, b, e)
            elif has_text(child):
                cb, ce = _interval(child, b, e, tb, text)
                if e is None or cb < e:
                    found.append((cb, ce))

    walk(p, begin, end)
    return found if found and not loose else None


def read_ttml(text: str) -> tuple[list[TtmlCue], TimeBase]:
    """The cues of a TTML document in document order (raises ``ValueError`` with the reason: a
    :class:`~reelkit.errors.DataFormatError`, without a path, where it names the line)."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise ValueError(f"not well-formed XML ({exc})") from None
    ns = next((n for n in _TT_NAMESPACES if root.tag == f"{{{n}}}tt"), None)
    if ns is None:
        raise ValueError("the root element is not <tt> in the TTML namespace (or DFXP's 2006 ones)")
    tb = _time_base(root, ns)
    # p, its begin, its end, the parent's begin and end, its xml:space
    found: list[tuple[ET.Element, float, float | None, float, float | None, str]] = []

    def visit(el: ET.Element, parent_begin: float, parent_end: float | None, space: str) -> None:
        begin, end = _interval(el, parent_begin, parent_end, tb, text)
        space = el.get(_XML_SPACE, space)
        if el.tag == f"{{{ns}}}p":
            found.append((el, begin, end, parent_begin, parent_end, space))
            return
        for child in el:
            visit(child, begin, end, space)

    body = root.find(f"{{{ns}}}body")
    if body is None:  # a DFXP root over TTML's body and p (mixed exports): their namespace is the content's
        body = next((el for o in _TT_NAMESPACES if (el := root.find(f"{{{o}}}body")) is not None), None)
        if body is None:
            return [], tb
        ns = body.tag[1 : body.tag.index("}")]
    visit(body, 0.0, None, root.get(_XML_SPACE, "default"))
    # the <p> start tags in the text, in document order, with where their times sit
    line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
    tags = [m for m in _P_TAG.finditer(text) if m.group("tag")]  # not comments or CDATA
    all_p = [el for el in root.iter() if el.tag == f"{{{ns}}}p"]
    place = len(tags) == len(all_p)  # else a <p> of another namespace: times cannot be placed
    tag_of = dict(zip(map(id, all_p), tags, strict=False)) if place else {}
    cues: list[TtmlCue] = []
    for el, begin, end, parent_begin, parent_end, space in found:
        words = _text(el, space)
        if not words:
            continue
        if parent_end is not None and begin >= parent_end:  # after its parent's end: never shown, not a cue
            continue
        # its text all in timed spans: shown from the first one's begin to the last one's end
        spans = _timed_spans(el, begin, end, tb, text)
        if spans is not None:
            for b, e in spans:
                if e is None:
                    raise ValueError(f"a <span> at {b:.3f} s has no end, dur, or an ending parent")
            begin, end = min(b for b, _ in spans), max(e for _, e in spans if e is not None)
        if end is None:
            raise ValueError(f"a <p> at {begin:.3f} s has no end, dur, or an ending parent")
        slots: list[TtmlSlot] = []
        tag = tag_of.get(id(el))
        if tag is not None and spans is None:  # times taken from spans are not the <p>'s own to edit
            attrs = {m.group(1): m for m in _ATTR.finditer(tag.group("attrs"))}
            if "begin" in attrs and ("end" in attrs or "dur" in attrs):
                for role, m in attrs.items():  # with both end and dur, both are rewritten
                    pos = tag.start("attrs") + m.start(3)
                    ln = bisect.bisect_right(line_starts, pos) - 1
                    col = pos - line_starts[ln]
                    slots.append(TtmlSlot(ln, col, col + len(m.group(3)), role))
        cues.append(TtmlCue(begin, end, words, tuple(slots), parent_begin, parent_end))
    return cues, tb
