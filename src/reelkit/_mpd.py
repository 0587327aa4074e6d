"""ffmpeg's DASH manifest made to say what its segments are (``reelkit video ladder`` and ``reelkit abr
package`` both write one with ffmpeg's ``dash`` muxer, ``SegmentTimeline`` and ``$Number$`` templates)."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from reelkit._files import atomic_write_text
from reelkit.errors import MediaError

__all__ = ["min_bandwidth", "presentation_s", "referenced_files", "segment_times", "state_segments"]

#: The MPD's XML namespace (ISO/IEC 23009-1), as a document and its schema hint must both name it.
MPD_NAMESPACE = "urn:mpeg:dash:schema:mpd:2011"
_S = re.compile(r"<S\b([^>]*)/?>")
_ATTR = re.compile(r'(\w+)="([^"]*)"')
_ISO_DURATION = re.compile(r"PT(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?$")


def _iso_seconds(text: str) -> float:
    m = _ISO_DURATION.match(text)
    if not m:
        raise MediaError(f"unexpected duration {text!r} in the DASH manifest", path=None)
    h, mi, sec = (float(g) if g else 0.0 for g in m.groups())
    return 3600 * h + 60 * mi + sec


def iso_duration(seconds: float) -> str:
    """``seconds`` as an ISO 8601 duration (``PT7199.192S``), rounded *up* to the millisecond: a stated
    duration is never below where the timeline ends (``:g``'s six digits wrote 7199.192 s as ``PT7199.19S``,
    and a player, or :func:`reelkit.stream.abr.load_mpd`, dropped the last whole segment)."""
    ms = math.ceil(round(seconds * 1000, 6))  # 3.128 * 1000 is 3128.0000000000005: not 3.129
    whole, frac = divmod(ms, 1000)
    return f"PT{whole}.{frac:03d}".rstrip("0").rstrip(".") + "S"


def presentation_s(mpd: Path) -> float:
    """The manifest's ``mediaPresentationDuration`` in seconds (0 where it has none)."""
    m = re.search(r'mediaPresentationDuration="([^"]+)"', mpd.read_text())
    return _iso_seconds(m.group(1)) if m else 0.0


def _numbered(template: str, n: int) -> str:
    """``template`` with ``$Number$`` (or ``$Number%05d$``) filled in."""
    return re.sub(r"\$Number(?:%0(\d+)d)?\$", lambda x: str(n).zfill(int(x.group(1) or 0)), template)


def referenced_files(mpd: Path) -> list[str]:
    """The file names the manifest's Representations reference: each init segment and every media segment
    of its ``SegmentTimeline``, in document order."""
    out: list[str] = []
    for rep in re.findall(r"<Representation\b.*?</Representation>", mpd.read_text(), flags=re.S):
        rid = re.search(r'\bid="([^"]+)"', rep)
        tmpl = re.search(r"<SegmentTemplate\b([^>]*)>", rep)
        if rid is None or tmpl is None:
            continue
        a = dict(_ATTR.findall(tmpl.group(1)))
        if "initialization" in a:
            out.append(a["initialization"].replace("$RepresentationID$", rid.group(1)))
        if "media" in a:
            media = a["media"].replace("$RepresentationID$", rid.group(1))
            first = int(a.get("startNumber", 1))
            out += [_numbered(media, first + k) for k in range(len(segment_times(rep)))]
    return out


def segment_times(representation: str) -> list[tuple[int, int]]:
    """(start, duration) of every segment of one ``<Representation>`` element's ``SegmentTimeline``, in its
    timescale (``r`` repeats expanded, a missing ``t`` continuing from the previous segment)."""
    out: list[tuple[int, int]] = []
    t = 0
    for m in _S.finditer(representation):
        a = dict(_ATTR.findall(m.group(1)))
        t = int(a.get("t", t))
        for _ in range(int(a.get("r", 0)) + 1):
            out.append((t, int(a["d"])))
            t += int(a["d"])
    return out


def min_bandwidth(bits: Sequence[int], starts_s: Sequence[float], min_buffer_s: float) -> float:
    """The smallest ``@bandwidth`` (bit/s) that ISO 23009-1 allows for these segments: delivered at that
    constant rate from any segment's start, with playout ``min_buffer_s`` after the first bit, every segment
    has arrived by the time it is due to play: ``bits[i..j] <= B * (min_buffer_s + start_j - start_i)``."""
    b = np.asarray(bits, dtype=float)
    t = np.asarray(starts_s, dtype=float)
    best = 0.0
    for i in range(len(b)):
        need = np.cumsum(b[i:]) / (min_buffer_s + t[i:] - t[i])
        best = max(best, float(need.max()))
    return best


def state_segments(mpd: Path, *, ascending: bool = False) -> None:
    """Make ffmpeg's manifest say what its segments are: ``maxSegmentDuration`` the longest segment (ffmpeg
    writes the target length, which a GOP of 48 frames at 23.976 fps or a shot's cut exceeds),
    ``mediaPresentationDuration`` where the longest Representation ends (ffmpeg rounds it to tenths), each
    ``bandwidth`` the rate its segments need under ``minBufferTime`` (ffmpeg writes the mean, or the target
    rate, which a bitrate burst or the container's overhead exceeds, so a player would stall), and no
    ``bitstreamSwitching`` (the rungs' parameter sets differ;
    :func:`reelkit.post.video.ladder.declare_in_band` restores it where every stream carries them in band).
    Representations need a ``SegmentTimeline`` and their segment files beside the manifest.

    ``ascending``: the video Representations are written in ladder order (lowest first), and a measured
    ``bandwidth`` that would not exceed the one before (rungs of near bitrates) is raised to one over it: a
    player and :func:`reelkit.stream.abr.load_mpd` rank levels by bandwidth. Declaring more stays valid."""
    text = mpd.read_text()
    head = re.search(r"<MPD\b[^>]*>", text, re.S)
    mbt_m = re.search(r'minBufferTime="([^"]+)"', head.group(0)) if head else None
    min_buffer = _iso_seconds(mbt_m.group(1)) if mbt_m else 2.0
    if min_buffer <= 0:  # ffmpeg writes PT0.0S for a one-frame title: no rate would deliver in no time
        spans = [
            d / int(dict(_ATTR.findall(t.group(1))).get("timescale", 1))
            for rep in re.findall(r"<Representation\b.*?</Representation>", text, flags=re.S)
            if (t := re.search(r"<SegmentTemplate\b([^>]*)>", rep))
            for _, d in segment_times(rep)
        ]
        min_buffer = max(spans, default=1.0)
        text = re.sub(
            r'minBufferTime="[^"]*"',
            f'minBufferTime="{iso_duration(min_buffer)}"',
            text,
            count=1,
        )
    longest = 0.0
    duration = 0.0

    def fix(m: re.Match[str]) -> str:
        nonlocal longest, duration
        rep = m.group(0)
        rid = re.search(r'\bid="([^"]+)"', rep)
        tmpl = re.search(r"<SegmentTemplate\b([^>]*)>", rep)
        if rid is None or tmpl is None:
            return rep
        a = dict(_ATTR.findall(tmpl.group(1)))
        scale = int(a.get("timescale", 1))
        times = segment_times(rep)
        if not times or "media" not in a:
            return rep
        longest = max(longest, max(d for _, d in times) / scale)
        media = a["media"].replace("$RepresentationID$", rid.group(1))
        first = int(a.get("startNumber", 1))

        files = [mpd.parent / _numbered(media, first + k) for k in range(len(times))]
        if not all(f.exists() for f in files):
            return rep
        bits = [8 * f.stat().st_size for f in files]
        total_s = sum(d for _, d in times) / scale
        duration = max(duration, (times[-1][0] + times[-1][1]) / scale)  # its end, not its length: a
        # timeline may start after 0 (a delayed audio track)
        need = max(min_bandwidth(bits, [t / scale for t, _ in times], min_buffer), sum(bits) / total_s)
        return re.sub(r'\bbandwidth="\d+"', f'bandwidth="{math.ceil(need)}"', rep, count=1)

    text = re.sub(r"<Representation\b.*?</Representation>", fix, text, flags=re.S)
    if longest > 0:
        stated = f'maxSegmentDuration="{iso_duration(longest)}"'
        text = re.sub(r'maxSegmentDuration="[^"]*"', stated, text)
    if duration > 0:  # ffmpeg rounds it to tenths (PT3.1S for 3.128 s): a player could stop a frame short
        stated = f'mediaPresentationDuration="{iso_duration(duration)}"'
        text = re.sub(r'mediaPresentationDuration="[^"]*"', stated, text, count=1)
    text = text.replace(' bitstreamSwitching="true"', "")
    # ffmpeg's schema hint names the namespace in capitals (urn:mpeg:DASH:schema:MPD:2011), not the one the
    # document uses: a validator following it found no schema for <MPD> (namespaces are case-sensitive)
    text = text.replace(
        'schemaLocation="urn:mpeg:DASH:schema:MPD:2011 ', f'schemaLocation="{MPD_NAMESPACE} ', 1
    )
    if ascending:
        text = _ascending_bandwidths(text)
    atomic_write_text(mpd, text)


def _ascending_bandwidths(text: str) -> str:
    """``text`` with the video adaptation set's bandwidths made to ascend in document order (see
    :func:`state_segments`)."""
    video = re.search(r'<AdaptationSet\b[^>]*contentType="video".*?</AdaptationSet>', text, flags=re.S)
    if video is None:
        return text
    last = 0

    def raise_(m: re.Match[str]) -> str:
        nonlocal last
        last = max(int(m.group(1)), last + 1)
        return f'bandwidth="{last}"'

    fixed = re.sub(r'\bbandwidth="(\d+)"', raise_, video.group(0))
    return text[: video.start()] + fixed + text[video.end() :]
