"""Broadcast WAV metadata kept across a rewrite: the ``bext``, ``iXML``, ``chna`` and ``axml`` chunks, and
the markers (``cue `` and the ``LIST`` ``adtl`` chunk that names them).

A deliverable's WAV carries more than samples: the ``bext`` chunk (EBU Tech 3285) holds the time reference
that places the audio against picture, the originator and the coding history; ``iXML`` and ``axml`` carry
the recorder's and the broadcaster's metadata, and an ADM file's ``chna`` lists the tracks its ``axml``
describes (ITU-R BS.2076/BS.2088: the one is no use without the other). libsndfile (soundfile) writes none
of them, so a normalised copy would lose its sync point. :func:`copy_chunks` puts the source's chunks into
a written WAV, before its ``data`` chunk as the BWF specification asks, brought up to date:

* a version 2 ``bext``'s loudness fields describe the samples written (not the source's), and its coding
  history gains a line for this rewrite (EBU R 98 form);
* an ``axml``'s ADM ``<loudnessMetadata>`` of its audioProgramme, when it has one programme, says the
  samples written too (``integratedLoudness``, ``loudnessRange``, ``maxTruePeak``, ``maxMomentary``,
  ``maxShortTerm``, as the ``bext``); what reelkit does not measure and the gain changed is removed, not
  left stale: a ``dialogueLoudness``, the ``loudnessMetadata`` of an audioContent (a part of the mix), and
  every programme's when there are several. The rest of the XML is kept byte for byte;
* markers (``cue `` sample positions and their ``adtl`` labels) are kept when the written file holds as many
  sample frames as the source (a normalised WAV does: the same start and length), else left out with a
  warning (they would point at other samples).
"""

from __future__ import annotations

import math
import os
import re
import struct
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO, Literal

from reelkit.errors import ReelkitWarning

__all__ = ["KEPT_CHUNKS", "KEPT_LISTS", "Loudness", "copy_chunks", "read_chunks"]

#: The chunks that describe the programme rather than its samples (a ``LIST`` one: those of the types in
#: :data:`KEPT_LISTS`); they are written in the source's order.
KEPT_CHUNKS = (b"bext", b"iXML", b"chna", b"axml", b"cue ", b"LIST")
#: The ``LIST`` chunks kept: ``adtl``, the markers' labels and notes (``INFO``, the tags, is the writer's).
KEPT_LISTS = (b"adtl",)
#: Chunks that point at sample frames: kept only where the written file holds as many as the source.
_POSITIONS = (b"cue ", b"LISTadtl")

#: ``bext`` layout (EBU Tech 3285 v2): version at 346, five int16 loudness fields at 412, history at 602.
_VERSION_AT, _LOUDNESS_AT, _HISTORY_AT = 346, 412, 602
#: A loudness field "not calculated" (Tech 3285 v2).
_UNSET = 0x7FFF

#: Integrated loudness (LUFS), loudness range (LU), true peak (dBTP), momentary and short-term maxima.
Loudness = tuple[float, float, float, float, float]


#: Sony Wave64's GUIDs of its RIFF header and WAVE form (its chunks' GUIDs start with the RIFF chunk id)
_W64_RIFF = bytes.fromhex("726966662e91cf11a5d628db04c10000")
_W64_WAVE = bytes.fromhex("77617665f3acd3118cd100c04f8edb8a")

#: One chunk: its id, where its body starts, the body's size in the file, and the size its header declares.
Chunk = tuple[bytes, int, int, int]


def riff_chunks(path: Path, *, rf64: bool = False, w64: bool = False) -> tuple[list[Chunk], int] | None:
    """``([(id, body offset, body size held, size declared), ...], file size)`` of a RIFF WAVE file (with
    ``rf64``, also an RF64/BW64 one, the EBU's broadcast WAV past 4 GiB: its data size is in the ``ds64``
    chunk; with ``w64``, also a Sony Wave64 one: 16-byte GUIDs, 64-bit sizes counting the 24-byte header,
    bodies padded to 8 bytes); ``None`` for anything else (not a WAV, cut short in a header). A chunk cut
    short in a copy holds less than it declares."""
    try:
        size = path.stat().st_size
        out: list[Chunk] = []
        with path.open("rb") as f:
            head = f.read(40)
            kinds = (b"RIFF", b"RF64", b"BW64") if rf64 else (b"RIFF",)
            if w64 and len(head) >= 40 and head[:16] == _W64_RIFF and head[24:40] == _W64_WAVE:
                pos, header, align = 40, 24, 8
            elif len(head) >= 12 and head[:4] in kinds and head[8:12] == b"WAVE":
                pos, header, align = 12, 8, 2
            else:
                return None
            data_size: int | None = None
            while pos + header <= size:
                f.seek(pos)
                if header == 24:
                    guid, total = struct.unpack("<16sQ", f.read(24))
                    cid, n = guid[:4], max(total - 24, 0)
                else:
                    cid, n = struct.unpack("<4sI", f.read(8))
                if cid == b"ds64" and n >= 24:
                    data_size = struct.unpack("<8xQ", f.read(16))[0]  # riffSize, then dataSize
                if cid == b"data" and n == 0xFFFFFFFF and data_size is not None:
                    n = data_size
                out.append((cid, pos + header, min(n, size - pos - header), n))
                pos += header + n + (-n) % align
    except (OSError, struct.error):
        return None
    return out, size


def read_chunks(path: str | Path, ids: Sequence[bytes] = KEPT_CHUNKS) -> list[tuple[bytes, bytes]]:
    """The chunks of ``path`` whose ids are in ``ids``, as ``(id, body)`` (``LIST`` chunks: those of the types
    in :data:`KEPT_LISTS`); none for a file that is not a plain RIFF WAVE."""
    p = Path(path)
    found = riff_chunks(p, rf64=True)  # a source may be RF64; what is written is plain RIFF
    if found is None:
        return []
    chunks, _ = found
    out: list[tuple[bytes, bytes]] = []
    with p.open("rb") as f:
        for cid, at, n, _ in chunks:
            if cid in ids:
                f.seek(at)
                body = f.read(n)
                if cid != b"LIST" or body[:4] in KEPT_LISTS:
                    out.append((cid, body))
    return out


def _key(cid: bytes, body_head: bytes) -> bytes:
    """What a chunk replaces in the written file: its id, and a ``LIST``'s type (``LISTadtl``)."""
    return cid + body_head[:4] if cid == b"LIST" else cid


def _updated_bext(body: bytes, loudness: Loudness | None, history: str) -> bytes:
    """``body`` with version 2+ loudness fields set from ``loudness`` (or "not calculated") and
    ``history`` appended to the coding history; a chunk too short to be a ``bext`` is kept as it is."""
    if len(body) < _HISTORY_AT:
        return body
    b = bytearray(body)
    (version,) = struct.unpack_from("<H", b, _VERSION_AT)
    if version >= 2:
        values = loudness if loudness is not None else (math.nan,) * 5
        fields = [
            round(v * 100) if math.isfinite(v) and -32768 <= round(v * 100) < _UNSET else _UNSET
            for v in values
        ]
        struct.pack_into("<5h", b, _LOUDNESS_AT, *fields)
    old = bytes(b[_HISTORY_AT:]).rstrip(b"\0")
    if old and not old.endswith(b"\r\n"):
        old += b"\r\n"
    return bytes(b[:_HISTORY_AT]) + old + history.encode("ascii", "replace") + b"\r\n"


def copy_chunks(
    source: str | Path,
    written: str | Path,
    *,
    loudness: Callable[[], Loudness] | None = None,
    history: str = "T=reelkit",
) -> Literal["copied", "none", "not kept"]:
    """Put ``source``'s :data:`KEPT_CHUNKS` into the WAV file ``written`` (rewritten through a temporary
    file beside it, then renamed), before its ``data`` chunk, replacing any of the same ids it has (a
    ``LIST`` one: of the same type; the written file's ``LIST`` ``INFO`` tags stay). Markers (``cue ``,
    ``LIST`` ``adtl``) are left out, with a :class:`~reelkit.errors.ReelkitWarning`, when ``written`` holds
    another number of sample frames than ``source``.

    ``loudness`` is called (once, and only for a version 2 ``bext`` or an ``axml`` with ADM loudness) for
    the written samples' figures; without it those fields say "not calculated" and the ADM loudness is
    removed. ``history`` is the coding-history line for this rewrite. Returns ``"copied"``; ``"none"``
    when the source (RIFF or RF64) has none of the chunks; ``"not kept"`` when it has some but the written
    file is not a plain RIFF WAVE or the result would pass RIFF's 4 GiB."""
    src, dst = Path(source), Path(written)
    kept = read_chunks(src)
    if not kept:
        return "none"
    found = riff_chunks(dst)
    if found is None or not any(cid == b"data" for cid, *_ in found[0]):
        return "not kept"
    chunks, _ = found
    if any(_key(cid, body) in _POSITIONS for cid, body in kept):
        frames = _frames(src, riff_chunks(src, rf64=True)), _frames(dst, found)
        if frames[0] is None or frames[0] != frames[1]:
            kept = [(cid, body) for cid, body in kept if _key(cid, body) not in _POSITIONS]
            held = "an unknown number of" if None in frames else f"{frames[1]:,}"
            warnings.warn(
                f"{src}: its cue markers (and their labels) were left out of the WAV written: it holds "
                f"{held} sample frames, the source {frames[0] or 'an unknown number'}, so they would point "
                "at other samples; set them again",
                ReelkitWarning,
                stacklevel=3,
            )
    figures: list[Loudness | None] = []  # measured once, when a bext or an axml needs them

    def measured() -> Loudness | None:
        if not figures:
            figures.append(loudness() if loudness is not None else None)
        return figures[0]

    bodies: list[tuple[bytes, bytes]] = []
    for cid, body in kept:
        if cid == b"bext":
            version = struct.unpack_from("<H", body, _VERSION_AT)[0] if len(body) >= _HISTORY_AT else 0
            body = _updated_bext(body, measured() if version >= 2 else None, history)
        elif cid == b"iXML":
            body = _updated_ixml(body, _format(dst, chunks))
        elif cid == b"axml" and _LOUDNESS_METADATA.search(body):
            body = _updated_axml(body, measured())
        bodies.append((cid, body))
    keys = {_key(cid, body) for cid, body in bodies}
    with dst.open("rb") as f:
        own = [_key(cid, _head(f, at) if cid == b"LIST" else b"") for cid, at, _, _ in chunks]
    total = 4 + sum(8 + n + (n & 1) for (_, _, n, _), k in zip(chunks, own, strict=True) if k not in keys)
    total += sum(8 + len(b) + (len(b) & 1) for _, b in bodies)
    if total > 0xFFFFFFFF:
        return "not kept"
    tmp = dst.with_name(f".{dst.name}.bwf")
    try:
        with dst.open("rb") as f, tmp.open("wb") as out:
            out.write(b"RIFF" + struct.pack("<I", total) + b"WAVE")
            for (cid, at, n, _), k in zip(chunks, own, strict=True):
                if k in keys:
                    continue
                if cid == b"data":
                    for new_id, body in bodies:
                        out.write(new_id + struct.pack("<I", len(body)) + body + b"\0" * (len(body) & 1))
                out.write(cid + struct.pack("<I", n))
                f.seek(at)
                _copy(f, out, n + (n & 1))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dst)
    finally:
        tmp.unlink(missing_ok=True)
    return "copied"


def _head(f: BinaryIO, at: int) -> bytes:
    """The first 4 bytes of the body at ``at`` (a ``LIST`` chunk's type)."""
    f.seek(at)
    return f.read(4)


def _frames(path: Path, found: tuple[list[Chunk], int] | None) -> int | None:
    """The sample frames a WAV's ``data`` chunk holds (its size over the ``fmt `` chunk's block align);
    ``None`` without both."""
    if found is None:
        return None
    chunks, _ = found
    fmt_at = next((at for cid, at, n, _ in chunks if cid == b"fmt " and n >= 16), None)
    size = next((n for cid, _, n, _ in chunks if cid == b"data"), None)  # as held (a source cut short)
    if fmt_at is None or size is None:
        return None
    with path.open("rb") as f:
        f.seek(fmt_at + 12)
        head = f.read(2)
    align = struct.unpack("<H", head)[0] if len(head) == 2 else 0
    return size // align if align else None


def _format(path: Path, chunks: list[Chunk]) -> tuple[int, int] | None:
    """(sample rate, bits per sample) of a WAV's ``fmt `` chunk; ``None`` without a readable one."""
    at = next((at for cid, at, n, _ in chunks if cid == b"fmt " and n >= 16), None)
    if at is None:
        return None
    with path.open("rb") as f:
        f.seek(at)
        head = f.read(16)
    if len(head) < 16:
        return None
    rate, bits = struct.unpack_from("<I", head, 4)[0], struct.unpack_from("<H", head, 14)[0]
    return int(rate), int(bits)


def _updated_ixml(body: bytes, fmt: tuple[int, int] | None) -> bytes:
    """``body`` with the iXML ``AUDIO_BIT_DEPTH`` and ``FILE_SAMPLE_RATE`` the written file has (a 16-bit
    recording normalised to 24 bits kept saying 16), the rest byte for byte; the recorder's own
    ``DIGITIZER_SAMPLE_RATE`` stays. A tag with a namespace prefix (``<ixml:FILE_SAMPLE_RATE>``) and a
    decimal value (``48000.000``) are updated too."""
    if fmt is None:
        return body
    rate, bits = fmt
    for tag, value in ((b"AUDIO_BIT_DEPTH", bits), (b"FILE_SAMPLE_RATE", rate)):
        written = b"\\g<open>" + str(value).encode() + b"\\g<close>"
        opening = rb"(?P<open><(?P<ns>[\w.-]+:)?" + tag + rb"\s*>)"
        closing = rb"(?P<close></(?P=ns)?" + tag + rb"\s*>)"
        body = re.sub(opening + rb"\s*\d+(?:\.\d*)?\s*" + closing, written, body)
    return body


def _element(tag: bytes) -> re.Pattern[bytes]:
    """An XML element ``tag`` with any namespace prefix, self-closed or up to its end tag (not nested in
    itself), and the white space after it."""
    return re.compile(
        rb"<(?P<ns>[\w.-]+:)?"
        + tag
        + rb"(?=[\s/>])[^>]*?(?:/>|>(?P<text>.*?)</(?P=ns)?"
        + tag
        + rb"\s*>)\s*",
        re.DOTALL,
    )


_LOUDNESS_METADATA = _element(b"loudnessMetadata")
_PROGRAMME = _element(b"audioProgramme")
#: ADM loudnessMetadata's children (ITU-R BS.2076) and which of the five figures each says (``None``: one
#: reelkit does not measure, removed); ``truePeak`` is the name some writers use for ``maxTruePeak``.
_ADM_LOUDNESS = {
    b"integratedLoudness": 0,
    b"loudnessRange": 1,
    b"maxTruePeak": 2,
    b"truePeak": 2,
    b"maxMomentary": 3,
    b"maxShortTerm": 4,
    b"dialogueLoudness": None,
}


def _updated_axml(body: bytes, loudness: Loudness | None) -> bytes:
    """``body`` (an ``axml`` chunk's XML) with its ADM loudness brought up to date: the one audioProgramme's
    ``loudnessMetadata`` children say ``loudness`` (to 0.01; one not known, and ``dialogueLoudness``,
    removed); every other ``loudnessMetadata`` (an audioContent's, or the programmes' when there are
    several) removed, as is one left with no children. The rest byte for byte."""
    programmes = [m.span() for m in _PROGRAMME.finditer(body)]

    def updated(m: re.Match[bytes]) -> bytes:
        inside = len(programmes) == 1 and programmes[0][0] <= m.start() and m.end() <= programmes[0][1]
        if not inside or loudness is None or m.group("text") is None:
            return b""
        whole, text = m.group(0), m.group("text")
        start = m.start("text") - m.start()
        for tag, which in _ADM_LOUDNESS.items():
            value = loudness[which] if which is not None else math.nan

            def figure(e: re.Match[bytes], value: float = value) -> bytes:
                if not math.isfinite(value) or e.group("text") is None:
                    return b""
                at, end = e.start("text") - e.start(), e.end("text") - e.start()
                return e.group(0)[:at] + f"{value:.2f}".encode() + e.group(0)[end:]

            text = _element(tag).sub(figure, text)
        if not re.search(rb"<[\w.:-]", text):  # no child left: the element says nothing
            return b""
        return whole[:start] + text + whole[start + len(m.group("text")) :]

    return _LOUDNESS_METADATA.sub(updated, body)


def _copy(src: BinaryIO, dst: BinaryIO, n: int) -> None:
    """Copy ``n`` bytes (a pad byte past the end of the file is written as zero)."""
    left = n
    while left > 0:
        block = src.read(min(left, 1 << 20))
        if not block:
            dst.write(b"\0" * left)
            return
        dst.write(block)
        left -= len(block)
