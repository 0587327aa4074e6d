"""The ABR interface shared by the simulator, every algorithm and the playback service.

* :class:`Video`: the bitrate ladder, chunk length and per-chunk sizes (bytes) of one encoded video.
* :class:`Observation`: what a player knows after a chunk finished downloading.
* :class:`AbrPolicy`: one player session's decision maker; ``reset(video)`` starts a session, ``choose(obs)``
  returns the level of the next chunk.

Video readers: :func:`load_video_dir` (Pensieve's ``video_size_<level>`` files plus an optional
``*ladder*.json``), :meth:`Video.constant_bitrate` and :func:`load_mpd` (a DASH MPD with its segment files).
"""

from __future__ import annotations

import json
import math
import re
import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from reelkit.errors import ConfigError, DataFormatError, EmptyDataError, ReelkitWarning, shown

__all__ = [
    "DEFAULT_BITRATES_KBPS",
    "DEFAULT_CHUNK_S",
    "AbrPolicy",
    "Observation",
    "Video",
    "load_mpd",
    "load_video_dir",
]

#: Pensieve's ladder (``sim/env.py`` VIDEO_BIT_RATE) and chunk length (``test/mpc.py`` 4000 ms).
DEFAULT_BITRATES_KBPS: tuple[float, ...] = (300.0, 750.0, 1200.0, 1850.0, 2850.0, 4300.0)
DEFAULT_CHUNK_S = 4.0


@dataclass(frozen=True, eq=False)
class Video:
    """An encoded video: ``bitrates_kbps`` (L,) ascending, ``chunk_s`` s per chunk, ``sizes`` (L, N) bytes."""

    bitrates_kbps: np.ndarray
    chunk_s: float
    sizes: np.ndarray
    name: str = field(default="video", compare=False)
    #: chunks in one session (0 = all); the simulator plays Pensieve's 48 of the 49-chunk test video.
    total_chunks: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        b = np.asarray(self.bitrates_kbps, dtype=np.float64).reshape(-1)
        s = np.asarray(self.sizes, dtype=np.float64)
        if s.ndim != 2 or s.shape[0] != b.shape[0]:
            raise ConfigError(f"video sizes must be (levels, chunks) = ({b.shape[0]}, N); got {s.shape}")
        if b.shape[0] < 1 or s.shape[1] < 1:
            raise ConfigError("a video needs at least one level and one chunk")
        if not np.all(np.isfinite(b)) or np.any(b <= 0):
            raise ConfigError(f"bitrates must be positive, finite kbps; got {b.tolist()}")
        if np.any(np.diff(b) <= 0):
            raise ConfigError(f"bitrates must be strictly ascending; got {b.tolist()}")
        if not np.all(np.isfinite(s)) or np.any(s <= 0):
            raise ConfigError("chunk sizes must be positive and finite")
        if not (self.chunk_s > 0 and np.isfinite(self.chunk_s)):
            raise ConfigError(f"chunk length must be positive; got {self.chunk_s}")
        b.setflags(write=False)
        s.setflags(write=False)
        object.__setattr__(self, "bitrates_kbps", b)
        object.__setattr__(self, "sizes", s)
        object.__setattr__(self, "chunk_s", float(self.chunk_s))
        if self.total_chunks < 0 or self.total_chunks > s.shape[1]:
            raise ConfigError(f"total_chunks must be in 0..{s.shape[1]}; got {self.total_chunks}")

    @property
    def n_levels(self) -> int:
        return int(self.sizes.shape[0])

    @property
    def n_chunks(self) -> int:
        return int(self.sizes.shape[1])

    @property
    def session_chunks(self) -> int:
        """Chunks played in one session: ``total_chunks`` when set, else every chunk."""
        return int(self.total_chunks) if self.total_chunks > 0 else self.n_chunks

    def with_session(self, total_chunks: int) -> Video:
        """This video with sessions of ``min(total_chunks, n_chunks)`` chunks."""
        return Video(
            self.bitrates_kbps, self.chunk_s, self.sizes, self.name, min(int(total_chunks), self.n_chunks)
        )

    def chunk_size(self, level: int, index: int) -> float:
        """Bytes of chunk ``index`` at ``level``; 0 past the end (as Pensieve's ``test/mpc.py``)."""
        if index < 0 or index >= self.n_chunks:
            return 0.0
        return float(self.sizes[level, index])

    @classmethod
    def constant_bitrate(
        cls, bitrates_kbps: np.ndarray | list[float] | tuple[float, ...], chunk_s: float, n_chunks: int
    ) -> Video:
        """Every chunk of level ``l`` is ``bitrate_l * chunk_s / 8 * 1000`` bytes."""
        b = np.asarray(bitrates_kbps, dtype=np.float64).reshape(-1)
        if n_chunks < 1:
            raise ConfigError(f"n_chunks must be >= 1; got {n_chunks}")
        sizes = np.repeat((b * chunk_s / 8.0 * 1000.0)[:, None], int(n_chunks), axis=1)
        return cls(b, float(chunk_s), sizes, name="constant")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Video):
            return NotImplemented
        return (
            self.chunk_s == other.chunk_s
            and np.array_equal(self.bitrates_kbps, other.bitrates_kbps)
            and np.array_equal(self.sizes, other.sizes)
        )

    def __hash__(self) -> int:
        return hash((self.chunk_s, self.bitrates_kbps.tobytes(), self.sizes.tobytes()))


@dataclass(frozen=True)
class Observation:
    """What the player knows before fetching chunk ``chunk_index``.

    ``last_level``/``last_chunk_bytes``/``last_download_s`` describe the previous chunk (its download's wall
    time as the player measured it, RTT included); ``buffer_s`` is the buffer now; ``rebuffer_s`` the stall
    that the previous download caused.
    """

    chunk_index: int
    last_level: int
    last_chunk_bytes: float
    last_download_s: float
    buffer_s: float
    rebuffer_s: float = 0.0

    def __post_init__(self) -> None:
        # NaN or infinite measurements would pick a level on something that is not one (zeros are kept: a
        # player's first request has none, buffer-based policies do not read the download time, and the
        # throughput estimate refuses a zero time itself)
        for name in ("last_chunk_bytes", "last_download_s", "buffer_s", "rebuffer_s"):
            v = getattr(self, name)
            if not (0 <= v < math.inf):
                raise ConfigError(f"{name} must be a finite number >= 0, got {v}")
        if self.chunk_index < 0 or self.last_level < 0:
            raise ConfigError("chunk_index and last_level must be >= 0")


class AbrPolicy:
    """Base class of every ABR algorithm: one object per player session.

    Subclasses set ``name`` and override :meth:`reset` (call ``super().reset(video)``) and :meth:`choose`.
    """

    name: ClassVar[str] = "policy"
    #: level of the first chunk, before any measurement (Pensieve's DEFAULT_QUALITY = 1)
    start_level: int = 1

    def __init__(self) -> None:
        self.video: Video | None = None

    def reset(self, video: Video) -> None:
        """Start a new session on ``video``: forget all history."""
        self.video = video

    def choose(self, obs: Observation) -> int:
        """The level (0 = lowest) of chunk ``obs.chunk_index``; for chunk 0 every policy returns
        :meth:`first_level` (the simulator fetches chunk 0 at that level without asking)."""
        raise NotImplementedError

    def first_level(self) -> int:
        """The level of chunk 0 (no measurement yet): ``start_level`` clipped to the ladder."""
        v = self._require_video()
        return max(0, min(self.start_level, v.n_levels - 1))

    def _require_video(self) -> Video:
        if self.video is None:
            raise ConfigError(f"policy {self.name!r}: call reset(video) before choose()")
        return self.video

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


_SIZE_RE = re.compile(r"^video_size_(\d+)$")


def _read_size_file(path: Path) -> np.ndarray:
    vals: list[float] = []
    # utf-8-sig: a size file saved with a byte-order mark (Notepad) read its first size as '\ufeff...'
    with path.open("r", encoding="utf-8-sig", errors="replace") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.strip()
            if not line:
                continue
            toks = line.split()
            if len(toks) != 1:  # 'index size' lines were read as their index, in bytes
                raise DataFormatError(
                    f"expected one size per line, got {shown(repr(line))}", path=str(path), line=lineno
                )
            tok = toks[0]
            try:
                v = float(tok)
            except ValueError:
                raise DataFormatError(
                    f"chunk size {shown(repr(tok))} is not a number", path=str(path), line=lineno
                ) from None
            if not np.isfinite(v) or v <= 0:
                raise DataFormatError(
                    f"chunk size must be positive; got {shown(repr(tok))}", path=str(path), line=lineno
                )
            vals.append(v)
    if not vals:
        raise EmptyDataError("no chunk sizes in file", path=str(path))
    return np.asarray(vals, dtype=np.float64)


def load_video_dir(
    path: str | Path,
    *,
    bitrates_kbps: list[float] | tuple[float, ...] | np.ndarray | None = None,
    chunk_s: float | None = None,
) -> Video:
    """Read ``video_size_0..L-1`` (bytes per chunk, one per line) from ``path``.

    Bitrates and chunk length come from an ``*ladder*.json`` beside the files (keys ``bitrate_index_to_kbps``
    or ``bitrates_kbps``, ``chunk_length_s`` or ``chunk_s``; other keys only beside both) when present;
    explicit arguments win; otherwise Pensieve's 300..4300 kbps ladder and 4 s chunks. Every level needs
    one size per chunk. A folder of no size files but an MPD (or an MPD given) is read by
    :func:`load_mpd`, the arguments passed on; the MPD
    of a folder from ``abr package`` is read from its ``stream.json``, whose ladder is the renditions'
    nominal kbps (the QoE's bitrate utility, as ``abr playback`` and the service score it), not the
    MPD's ``bandwidth`` (the peak rate the segments need, container included, a few % above).
    """
    p = Path(path)
    if not p.exists():
        raise DataFormatError("video directory does not exist", path=str(p))
    if p.is_file():
        if p.suffix.lower() == ".mpd":
            return _mpd_video(p, bitrates_kbps, chunk_s)
        p = p.parent
    files: dict[int, Path] = {}
    for f in p.iterdir():
        m = _SIZE_RE.match(f.name)
        if m and f.is_file():
            files[int(m.group(1))] = f
    if not files:
        mpds = sorted(p.glob("*.mpd"))
        if mpds:
            return _mpd_video(mpds[0], bitrates_kbps, chunk_s)
        raise EmptyDataError("no video_size_<level> files (or .mpd) in directory", path=str(p))
    levels = sorted(files)
    if levels != list(range(len(levels))):
        raise DataFormatError(f"video_size_ levels must be 0..{len(levels) - 1}; found {levels}", path=str(p))
    arrays = [_read_size_file(files[i]) for i in levels]
    lengths = [len(a) for a in arrays]
    if len(set(lengths)) > 1:
        short = levels[int(np.argmin(lengths))]
        raise DataFormatError(
            f"video_size_{short} has {min(lengths)} chunks but another level has {max(lengths)}; every level "
            "needs one size per chunk",
            path=str(files[short]),
        )
    sizes = np.stack(arrays)

    lad_b: list[float] | None = None
    lad_c: float | None = None
    for lf in sorted(p.glob("*ladder*.json")):
        try:
            doc = json.loads(lf.read_text(encoding="utf-8-sig"))  # a byte-order mark was "not JSON"
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataFormatError(f"ladder file is not JSON ({exc})", path=str(lf)) from None
        except RecursionError:  # json recurses per level: '[' * 1000 was a traceback
            raise DataFormatError("ladder file is not JSON (nested too deeply)", path=str(lf)) from None
        _check_ladder_keys(doc, lf)
        raw_b = doc.get("bitrate_index_to_kbps", doc.get("bitrates_kbps"))
        if raw_b is not None:
            if not isinstance(raw_b, list) or not all(_is_number(x) for x in raw_b):
                raise DataFormatError(
                    f"bitrates must be a list of numbers (kbps); got {shown(repr(raw_b))}", path=str(lf)
                )
            lad_b = [float(x) for x in raw_b]
        raw_c = doc.get("chunk_length_s", doc.get("chunk_s"))
        if raw_c is not None:  # "2" or true was skipped or read as 1 s
            if not _is_number(raw_c) or not 0 < float(raw_c) < math.inf:
                raise DataFormatError(
                    f"chunk_s must be a number of seconds > 0; got {shown(repr(raw_c))}", path=str(lf)
                )
            lad_c = float(raw_c)
        break
    if bitrates_kbps is not None:
        b = _given_bitrates(bitrates_kbps, len(levels), f"{p} has {len(levels)} video_size_ files")
    elif lad_b is not None:
        b = np.asarray(lad_b, dtype=np.float64)
    else:
        if len(levels) != len(DEFAULT_BITRATES_KBPS):
            raise ConfigError(
                f"{p}: {len(levels)} levels but no *ladder*.json; "
                "pass the bitrates (e.g. --bitrates 300,750,...)"
            )
        b = np.asarray(DEFAULT_BITRATES_KBPS, dtype=np.float64)
    if b.shape[0] != len(levels):
        raise ConfigError(f"{p}: {len(levels)} video_size_ files but {b.shape[0]} bitrates")
    if not np.all(np.isfinite(b)) or np.any(b <= 0) or np.any(np.diff(b) <= 0):
        source = "--bitrates" if bitrates_kbps is not None else str(lf) if lad_b is not None else str(p)
        raise ConfigError(
            f"{source}: bitrates must be positive, finite kbps and strictly ascending; got {b.tolist()}"
        )
    c = float(chunk_s) if chunk_s is not None else (lad_c if lad_c is not None else DEFAULT_CHUNK_S)
    mean = sizes.mean(axis=1)
    down = np.flatnonzero(np.diff(mean) < 0)
    if len(down):
        # Pensieve's own video1 is its top rendition: copying videoN to video_size_{N-1} turned the ladder
        # upside down, and every policy then "streamed 4300 kbps" on the smallest chunks, without a word
        lo = int(down[0])
        raise DataFormatError(
            f"video_size_{lo + 1} ({b[lo + 1]:g} kbps) holds smaller chunks on average "
            f"({mean[lo + 1]:,.0f} bytes) than video_size_{lo} ({b[lo]:g} kbps, {mean[lo]:,.0f} bytes): "
            "video_size_0 must be the "
            "lowest bitrate and each next level a higher one (are the files numbered top down?)",
            path=str(p),
        )
    implied = mean * 8.0 / c / 1000.0  # kbps the chunk sizes carry
    ratio = float(np.median(implied / b))
    if not 0.1 <= ratio <= 10.0:  # Mbit/s given as kbps (x1000), or bits for bytes (x8 stays inside)
        source = "--bitrates" if bitrates_kbps is not None else str(lf) if lad_b is not None else str(p)
        warnings.warn(
            f"{source}: the chunk sizes carry {ratio:.3g} times the bitrates given ({b.tolist()} kbps for "
            f"chunks of about {np.round(implied).tolist()} kbps); are the bitrates in kbps?",
            ReelkitWarning,
            stacklevel=2,
        )
    return Video(b, c, sizes, name=p.name)


def _mpd_video(
    mpd: Path, bitrates_kbps: list[float] | tuple[float, ...] | np.ndarray | None, chunk_s: float | None
) -> Video:
    """The video of ``mpd``: from the ``stream.json`` beside it when ``abr package`` wrote both (its
    nominal ladder, segment length and sizes), else :func:`load_mpd`; ``bitrates_kbps``/``chunk_s`` win."""
    from reelkit.stream.dash import MPD_NAME, STREAM_JSON, load_stream  # dash imports this module

    if mpd.name != MPD_NAME or not (mpd.parent / STREAM_JSON).is_file():
        return load_mpd(mpd, bitrates_kbps=bitrates_kbps, chunk_s=chunk_s)
    v = load_stream(mpd.parent).video()
    b = v.bitrates_kbps
    if bitrates_kbps is not None:
        b = _given_bitrates(bitrates_kbps, v.n_levels, f"{mpd} has {v.n_levels} video Representations")
    return Video(b, v.chunk_s if chunk_s is None else float(chunk_s), v.sizes, name=v.name)


_LADDER_KEYS = (
    "the keys read are bitrate_index_to_kbps or bitrates_kbps (kbps per level) and chunk_length_s or chunk_s "
    "(seconds per chunk)"
)


def _check_ladder_keys(doc: object, path: Path) -> None:
    """Refuse a ladder document that is not an object, or one that names neither setting, or an unknown key
    while a setting is missing (a misspelt ``chunk_seconds`` kept 4 s chunks, ``bitrates`` Pensieve's
    ladder, in silence). Beside both settings other keys are notes (Pensieve's ladder file has many)."""
    if not isinstance(doc, dict):
        raise DataFormatError(
            f"ladder file must be a JSON object; {_LADDER_KEYS}; got {shown(repr(doc))}", path=str(path)
        )
    has_b = "bitrate_index_to_kbps" in doc or "bitrates_kbps" in doc
    has_c = "chunk_length_s" in doc or "chunk_s" in doc
    unknown = [
        k for k in doc if k not in ("bitrate_index_to_kbps", "bitrates_kbps", "chunk_length_s", "chunk_s")
    ]
    if unknown and not (has_b and has_c):
        said = shown(", ".join(repr(k) for k in unknown))
        raise DataFormatError(
            f"unknown key{'s' * (len(unknown) > 1)} {said} in the ladder file; {_LADDER_KEYS} (beside both, "
            "other keys are notes)",
            path=str(path),
        )
    if not (has_b or has_c):
        raise DataFormatError(
            f"ladder file names no bitrates or chunk length; {_LADDER_KEYS}", path=str(path)
        )


def _is_number(x: object) -> bool:
    """A JSON number (a bool is not one, though Python calls it an int)."""
    return isinstance(x, int | float) and not isinstance(x, bool)


def _iso_duration_s(text: str) -> float:
    m = re.fullmatch(
        r"P(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?", text
    )
    if not m:
        raise ValueError(text)
    d, h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    return d * 86400 + h * 3600 + mi * 60 + s


def _fill_template(tpl: str, rep_id: str, bandwidth: int, number: int, time: int = 0) -> str:
    def sub(m: re.Match[str]) -> str:
        key, fmt = m.group(1), m.group(2)
        if key == "":
            return "$"
        val: str | int
        if key == "RepresentationID":
            return rep_id
        val = {"Bandwidth": bandwidth, "Time": time}.get(key, number)
        if fmt:
            return ("%" + fmt[1:]) % val
        return str(val)

    return re.sub(r"\$(RepresentationID|Number|Bandwidth|Time|)(%0\d+d)?\$", sub, tpl)


def _timeline_starts(
    timeline: ET.Element, local: Callable[[str], str], rep_id: str, path: str
) -> list[tuple[int, int]] | None:
    """Each segment's start (``$Time$``) and duration in a SegmentTimeline: ``<S t d r>``, ``t`` defaulting
    to where the segment before ended (ISO 23009-1 5.3.9.6); ``None`` for an open ``r="-1"`` (repeated to
    the period's end: the files on disk say how far)."""
    starts: list[tuple[int, int]] = []
    at = 0
    for s_el in (c for c in timeline if local(c.tag) == "S"):
        try:
            at = int(s_el.get("t", at))
            d, r = int(s_el.get("d", "")), int(s_el.get("r", "0"))
        except ValueError:
            raise DataFormatError(
                f"Representation {rep_id!r}: a SegmentTimeline <S> needs whole numbers t, d and r", path=path
            ) from None
        if d <= 0 or r < -1:
            raise DataFormatError(
                f"Representation {rep_id!r}: SegmentTimeline <S d={d} r={r}>: durations must be > 0 and "
                "repeats -1 or more",
                path=path,
            )
        if r == -1:
            return None
        for _ in range(r + 1):
            starts.append((at, d))
            at += d
    if not starts:
        raise DataFormatError(f"Representation {rep_id!r}: its SegmentTimeline has no <S>", path=path)
    return starts


def load_mpd(
    path: str | Path,
    *,
    chunk_s: float | None = None,
    bitrates_kbps: list[float] | tuple[float, ...] | np.ndarray | None = None,
) -> Video:
    """Read a static DASH MPD (SegmentTemplate with ``$Number$``, or ``$Time$`` over a SegmentTimeline, as
    Shaka Packager and Bento4 write) and size its segment files on disk.

    Levels are the video Representations sorted by ``bandwidth``, their kbps its ``bandwidth / 1000`` or
    ``bitrates_kbps`` (one per Representation); the chunk length is the template's ``duration /
    timescale`` (Pensieve's 3.99342 s is rounded to 4 s when within 1%), or ``chunk_s``.
    Chunks are counted from ``startNumber`` while every level's file exists; a last segment shorter than
    the others (``mediaPresentationDuration`` ends inside it) is left out, as :func:`reelkit.stream.dash.
    package_dash` leaves it out of ``stream.json``: the simulator plays whole chunks.
    """
    p = Path(path)
    if not p.is_file():
        raise DataFormatError("MPD file does not exist", path=str(p))
    try:
        root = ET.parse(p).getroot()
    except ET.ParseError as exc:
        raise DataFormatError(f"MPD is not valid XML ({exc})", path=str(p), line=exc.position[0]) from None

    def local(tag: str) -> str:
        return tag.rsplit("}", 1)[-1]

    reps: list[
        tuple[int, str, str, int, float, float]
    ] = []  # bandwidth, id, media tpl, start, dur, timescale
    # each Representation's SegmentTimeline: (start, duration) of every segment, for $Time$ and the end
    timelines: list[list[tuple[int, int]] | None] = []
    #: each Representation's presentationTimeOffset (timescale units), where its template gives one
    offsets: list[int | None] = []
    for aset in (e for e in root.iter() if local(e.tag) == "AdaptationSet"):
        mime = aset.get("mimeType", "") or aset.get("contentType", "")
        aset_tpl = next((c for c in aset if local(c.tag) == "SegmentTemplate"), None)
        for rep in (c for c in aset if local(c.tag) == "Representation"):
            rmime = rep.get("mimeType", mime)
            if rmime and "video" not in rmime:
                continue
            tpl = next((c for c in rep if local(c.tag) == "SegmentTemplate"), aset_tpl)
            if tpl is None or tpl.get("media") is None:
                raise DataFormatError("Representation without a SegmentTemplate media attribute", path=str(p))
            dur = tpl.get("duration")
            timeline = next((c for c in tpl if local(c.tag) == "SegmentTimeline"), None)
            if timeline is None and "$Time" in str(tpl.get("media")):
                raise DataFormatError(
                    f"Representation {rep.get('id', '?')!r}: a $Time$ template needs a SegmentTimeline",
                    path=str(p),
                )
            if timeline is None and dur is None:
                raise DataFormatError("SegmentTemplate has neither duration nor SegmentTimeline", path=str(p))
            spans = (
                None if timeline is None else _timeline_starts(timeline, local, rep.get("id", "?"), str(p))
            )
            if timeline is not None and spans is None:  # an open r="-1"
                if "$Time" in str(tpl.get("media")):
                    raise DataFormatError(
                        f"Representation {rep.get('id', '?')!r}: a $Time$ template over a SegmentTimeline "
                        'with an open r="-1" is not read (give the repeats)',
                        path=str(p),
                    )
                # the repeated (open) segment's length: the one most segments have
                dur = dur or next(
                    (c.get("d") for c in timeline if local(c.tag) == "S" and c.get("r") == "-1"), None
                )
            timelines.append(spans)
            pto = tpl.get("presentationTimeOffset")
            try:
                offsets.append(None if pto is None else int(pto))
            except ValueError:
                raise DataFormatError(
                    f"Representation {rep.get('id', '?')!r}: presentationTimeOffset must be a whole number "
                    f"of timescale units; got {pto!r}",
                    path=str(p),
                ) from None
            if dur is None and spans is not None:
                # the typical segment: a timeline's first one may be longer (a cut, a priming segment)
                dur = str(sorted(d for _, d in spans)[len(spans) // 2])
            try:
                numbers = (
                    int(float(rep.get("bandwidth", "0"))),
                    int(tpl.get("startNumber", "1")),
                    float(str(dur)),
                    float(tpl.get("timescale", "1")),
                )
            except (ValueError, OverflowError) as exc:  # bandwidth="abc", startNumber="x", "inf"
                raise DataFormatError(
                    f"Representation {rep.get('id', '?')!r}: bandwidth, startNumber, duration and timescale "
                    f"must be numbers ({exc})",
                    path=str(p),
                ) from None
            if not all(math.isfinite(v) for v in numbers) or numbers[2] <= 0 or numbers[3] <= 0:
                raise DataFormatError(
                    f"Representation {rep.get('id', '?')!r}: segment duration and timescale must be > 0",
                    path=str(p),
                )
            reps.append(
                (numbers[0], rep.get("id", ""), str(tpl.get("media")), numbers[1], numbers[2], numbers[3])
            )
    if not reps:
        raise EmptyDataError("no video Representation in MPD", path=str(p))
    order = sorted(range(len(reps)), key=lambda i: reps[i][0])
    reps, timelines = [reps[i] for i in order], [timelines[i] for i in order]
    seg_s = reps[0][4] / reps[0][5]
    if chunk_s is None:
        chunk_s = float(round(seg_s)) if abs(seg_s - round(seg_s)) <= 0.01 * seg_s else seg_s
    base = p.parent
    cols: list[list[float]] = [[] for _ in reps]
    number = reps[0][3]
    while True:
        row: list[float] = []
        k = number - reps[0][3]  # the segment's index
        for (bw, rid, media, start, _, _), spans in zip(reps, timelines, strict=True):
            if spans is not None and k >= len(spans):
                row = []
                break
            f = base / _fill_template(media, rid, bw, k + start, spans[k][0] if spans is not None else 0)
            if not f.is_file():
                row = []
                break
            row.append(float(f.stat().st_size))
        if not row:
            break
        for i, v in enumerate(row):
            cols[i].append(v)
        number += 1
    if not cols[0]:
        raise EmptyDataError("no segment files found beside the MPD", path=str(p))
    sizes = np.asarray(cols, dtype=np.float64)
    try:
        total_s = _iso_duration_s(root.get("mediaPresentationDuration", "").strip())
    except ValueError:
        total_s = 0.0  # absent or unreadable: every segment found counts
    first = timelines[0]
    if first is not None:  # each segment's own end and length: a longer first one moves them all
        spans = first[: sizes.shape[1]]
        # a segment ends (t + d - presentationTimeOffset) / timescale into the period (ISO/IEC 23009-1
        # 5.3.9.6); without an offset, from the timeline's own start (a priming delay, a packager that
        # numbers time from the encoder's clock): a timeline starting at 100 s lost every segment
        t0 = offsets[0] if offsets[0] is not None else spans[0][0]
        n = len(spans) if total_s <= 0 else sum((t - t0 + d) / reps[0][5] <= total_s + 1e-3 for t, d in spans)
        while n > 1 and spans[n - 1][1] < 0.99 * reps[0][4]:  # a short last segment
            n -= 1
        sizes = sizes[:, : max(1, n)]
    elif total_s > 0 and sizes.shape[1] > 1 and sizes.shape[1] * seg_s > total_s + 1e-3:
        sizes = sizes[:, : max(1, math.floor(total_s / seg_s + 1e-6))]
    bitrates = np.asarray([r[0] / 1000.0 for r in reps], dtype=np.float64)
    if bitrates_kbps is not None:  # --bitrates was dropped unread for an MPD, whatever its count
        bitrates = _given_bitrates(bitrates_kbps, len(reps), f"{p} has {len(reps)} video Representations")
    return Video(bitrates, float(chunk_s), sizes, name=p.stem)


def _given_bitrates(
    bitrates_kbps: list[float] | tuple[float, ...] | np.ndarray, n_levels: int, levels_said: str
) -> np.ndarray:
    """``bitrates_kbps`` (``--bitrates``) as an array: one positive, finite kbps per level, ascending."""
    b = np.asarray(bitrates_kbps, dtype=np.float64).reshape(-1)
    if b.shape[0] != n_levels:
        raise ConfigError(f"--bitrates: {levels_said} but {b.shape[0]} bitrates were given")
    if not np.all(np.isfinite(b)) or np.any(b <= 0) or np.any(np.diff(b) <= 0):
        raise ConfigError(
            f"--bitrates: bitrates must be positive, finite kbps and strictly ascending; got {b.tolist()}"
        )
    return b
