"""Reading and writing subtitle files: SRT, WebVTT, ASS/SSA, TTML (and the other formats pysubs2 reads).

Text encoding is detected from the bytes: a byte-order mark (UTF-8, UTF-16, UTF-32), then strict UTF-8,
then UTF-16 without a mark (NUL bytes in alternate positions), then an XML document's declared encoding; a
UTF-8 file with a few bytes of another encoding is refused, naming the line. Otherwise chardet's and
charset-normalizer's guesses and the common code pages (cp1252, cp1250, cp1257, cp1254, cp1251, cp1253,
cp932, gb18030, big5, cp949) each read the file's lines that hold a byte beyond ASCII, and the reading with
the fewest implausible letters wins (letters no one language writes together, scripts mixed inside a word,
symbols inside words, C1 controls); ties go to chardet's guess (the Windows page for a Mac one), or to
cp1252 on a file of few bytes beyond ASCII. ``benchmarks/bench_subs_encoding.py`` measures it on 640
generated files in 25 languages and 7 legacy code pages (RESULTS.md). A file none of
these read raises :class:`~reelkit.errors.DataFormatError` naming the file and asking for ``encoding=``.

SRT, WebVTT and ASS/SSA are parsed here line by line, so that writing a re-timed file changes *only the
timestamps*: cue order, numbering, styling tags, VTT cue settings, NOTE/STYLE blocks, ASS styles and fonts,
the encoding, the byte-order mark and each line's ending all stay as they were; WebVTT's inline
timestamps (``<00:00:06.273>``) move with their cue. TTML (DFXP, IMSC, EBU-TT-D) is read by
:mod:`reelkit.post.subs.ttml`, with clock, frame and tick times: each ``<p>``'s own ``begin`` and
``end``/``dur`` values are rewritten in place, in their own notation, keeping the document's styling;
MicroDVD's frame numbers likewise. Other formats pysubs2 reads (MPL2, TMP, ...) are written back through
pysubs2, which regenerates the file; SAMI can be read (as a reference, or to check) but not written: each
caption lasts to the next ``<SYNC>``, and a SYNC that clears the screen (``&nbsp;``) is not a cue.

Timestamps before zero are kept as negative times on reading (pysubs2 would drop the sign of an SRT
``-00:00:01,000``) and reported as :attr:`SubtitleFile.notes`; :func:`check_subtitles` reports them as
findings. On writing, no format can hold a negative time: cues that start before zero are moved to start at
zero, cues that end before zero are written as zero-length cues at 0 (in WebVTT, whose cues must end after
they start, 1 ms long), and each such cue is listed in the list :func:`write_subtitles` returns — never
dropped silently.
"""

from __future__ import annotations

import bisect
import codecs
import contextlib
import functools
import html
import itertools
import math
import os
import re
import unicodedata
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, NoReturn

import numpy as np

from reelkit._files import atomic_write_bytes, check_input_file, check_output_file
from reelkit.errors import ConfigError, DataFormatError, ReelkitWarning

__all__ = [
    "Cue",
    "SubtitleFile",
    "check_output_path",
    "check_writable",
    "decode_text",
    "is_drawing",
    "load_subtitles",
    "parse_subtitles",
    "plain_text",
    "write_subtitles",
]

_TEXT_FORMATS = ("srt", "vtt", "ass", "ssa", "microdvd")
_EXT_FORMAT = {
    ".srt": "srt",
    ".vtt": "vtt",
    ".webvtt": "vtt",
    ".ass": "ass",
    ".ssa": "ssa",
    ".ttml": "ttml",
    ".dfxp": "ttml",
    ".xml": "ttml",
    ".sami": "sami",
    ".smi": "sami",
    ".sub": "microdvd",
}
# each format's first extension above (what an output of that format is named)
_FORMAT_EXT = {fmt: ext[1:] for ext, fmt in reversed(_EXT_FORMAT.items())}


@dataclass(frozen=True)
class Cue:
    """One subtitle event. ``index`` is its position in the file (0-based, comments excluded)."""

    index: int
    start_s: float
    end_s: float
    text: str  # plain text: markup removed, lines joined with "\n"
    raw: str = ""  # the text as written in the file (markup kept)
    #: what the file calls it: an SRT cue's number, a WebVTT cue's identifier ("" when none is written);
    #: a hand-edited file's numbers may skip, repeat or start at 0, so checks name it beside its position
    number: str = ""

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n") if self.text else []


@dataclass
class SubtitleFile:
    """A subtitle file as read: its cues and what is needed to write it back the same way."""

    cues: list[Cue]
    format: str
    encoding: str = "utf-8"
    bom: bool = False
    path: Path | None = None
    notes: list[str] = field(default_factory=list)
    source: str = ""  # the decoded text (for srt/vtt/ass/ssa: what writing edits)
    newline: str = "\n"
    # per cue: where its start and end times sit in `source`, as (line, first char, end char[, role])
    _spans: list[Any] = field(default_factory=list, repr=False)
    _ssa: Any = field(default=None, repr=False)  # pysubs2.SSAFile for formats pysubs2 writes
    _ssa_events: list[int] = field(default_factory=list, repr=False)  # pysubs2 event index of each cue
    # ASS/SSA Comment events, (start span, end span, start_s, end_s): not cues, but re-timed like the cues
    # around them, from the cues' times as read (``_base_times``)
    _passengers: list[Any] = field(default_factory=list, repr=False)
    _base_times: list[tuple[float, float]] = field(default_factory=list, repr=False)
    # WebVTT inline timestamps: (cue index, (line, first char, end char), time as read)
    _inline: list[Any] = field(default_factory=list, repr=False)
    _ttml_base: Any = field(default=None, repr=False)  # the TTML document's TimeBase
    fps: float | None = None  # MicroDVD: the frame rate its frame numbers count at

    def __len__(self) -> int:
        return len(self.cues)

    @property
    def starts(self) -> list[float]:
        return [c.start_s for c in self.cues]

    @property
    def end_s(self) -> float:
        return max((c.end_s for c in self.cues), default=0.0)

    def retimed(self, fn: Callable[[float], float]) -> SubtitleFile:
        """A copy with every cue time ``t`` replaced by ``fn(t)`` (same order, text and styling)."""
        cues = [replace(c, start_s=fn(c.start_s), end_s=fn(c.end_s)) for c in self.cues]
        return replace(self, cues=cues, notes=list(self.notes))

    def with_times(self, times: Sequence[tuple[float, float]]) -> SubtitleFile:
        """A copy with the given ``(start_s, end_s)`` per cue."""
        if len(times) != len(self.cues):
            raise ConfigError(f"{len(times)} (start, end) pairs for {len(self.cues)} cues; give one per cue")
        cues = [replace(c, start_s=s, end_s=e) for c, (s, e) in zip(self.cues, times, strict=True)]
        return replace(self, cues=cues, notes=list(self.notes))

    def to_string(self) -> tuple[str, list[Cue]]:
        """The file's text with the current cue times, and the cues that had to be clamped at zero."""
        check_writable(self)
        return _render(self)


# ---------------------------------------------------------------------------------------------- encoding

_BOMS = [
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
]


#: Codecs that take a byte-order mark when there is one, and what they read without it
_MARK_READERS = {"utf-16": "utf-16-le", "utf-32": "utf-32-le", "utf-8-sig": "utf-8"}

#: what is said of a subtitle format that is recognised but not read
_NOT_READ = "which reelkit does not read: convert it to SRT, WebVTT or TTML first"

_BINARY = "holds binary data, not subtitle text (a media file? give the subtitles)"

#: How media files begin (RIFF WAV/AVI, Ogg, FLAC, MP3 with ID3, Matroska/WebM, AIFF); MP4/MOV have "ftyp"
#: at byte 4
_MEDIA_MAGIC = (b"RIFF", b"OggS", b"fLaC", b"ID3", b"\x1aE\xdf\xa3", b"FORM")

#: The 8-bit code pages a subtitle file is most often in, in the order a tie between their readings is
#: settled, after chardet's guess (cp1252 first: most 8-bit subtitles are Western European)
_EIGHT_BIT = ("cp1252", "cp1250", "cp1257", "cp1254", "cp1251", "cp1253", "cp874")
#: The Windows code page of the script each Mac one writes (Python's names): a tie between the two goes to
#: Windows' (short Russian in cp1251 read as Mac Cyrillic: "я не знаю" for "Я не знаю")
_WINDOWS_FOR_MAC = {
    "mac-cyrillic": "cp1251",
    "mac-greek": "cp1253",
    "mac-latin2": "cp1250",
    "mac-turkish": "cp1254",
    "mac-roman": "cp1252",
    "mac-iceland": "cp1252",
}
#: The multi-byte code pages of Chinese, Japanese and Korean subtitles, read too (after the 8-bit ones): both
#: detectors named ISO-8859-5 for three cues of half-width katakana
_MULTI_BYTE = ("cp932", "gb18030", "big5", "cp949")
#: Bytes beyond ASCII below which a tie goes to cp1252 rather than to chardet's guess (chosen on
#: ``benchmarks/bench_subs_encoding.py`` and the test cases: 4 read a short Italian file as Czech)
_FEW_HIGH_BYTES = 8
#: A line holding a byte beyond ASCII, and how many bytes of them :func:`decode_text` weighs
_HIGH_LINE = re.compile(rb"[^\n]*[\x80-\xff][^\n]*")
_SAMPLE_BYTES = 1 << 16
#: C1 control characters: never in text, the sign of a Latin-1 page read where Windows' puts ’ or “
_C1 = re.compile(r"[\x80-\x9f]")
#: The letters beyond ASCII each language written in Latin letters uses: a reading in the right code page
#: draws its letters from one of these, a wrong one mixes them (French cp1252 read as Baltic cp1257: "déją
#: lą"; Lithuanian cp1257 read as cp1252: "Àþuolas")
_ALPHABETS = tuple(
    frozenset(letters)
    for letters in (
        "àâæçéèêëîïôœùûüÿ",  # French
        "áéíñóúü",  # Spanish
        "áâãàçéêíóôõú",  # Portuguese
        "àèéìíîòóùú",  # Italian
        "äöüß",  # German
        "éëïèáóöüúà",  # Dutch
        "àçèéíïòóúü",  # Catalan
        "æøåéáó",  # Danish, Norwegian
        "åäöéü",  # Swedish
        "åäöšž",  # Finnish
        "áðéíóúýþæö",  # Icelandic
        "ąćęłńóśźż",  # Polish
        "áčďéěíňóřšťúůýž",  # Czech
        "áäčďéíĺľňóôŕšťúýž",  # Slovak
        "áéíóöőúüű",  # Hungarian
        "ăâîșțşţ",  # Romanian
        "čćđšž",  # Croatian, Bosnian, Slovene
        "ąčęėįšųūž",  # Lithuanian
        "āčēģīķļņšūž",  # Latvian
        "äõöüšž",  # Estonian
        "çğıöşüâîû",  # Turkish
    )
)
#: Scripts other than Latin, by code point: a reading is written in one of them, not several, and not inside
#: a word of Latin letters
_SCRIPTS = (
    ("cyrillic", 0x0400, 0x052F),
    ("greek", 0x0370, 0x03FF),
    ("hebrew", 0x0590, 0x05FF),
    ("arabic", 0x0600, 0x06FF),
    ("thai", 0x0E00, 0x0E7F),
    # kana and ideographs are one script here: Japanese writes them in one word (駅まで)
    ("cjk", 0x3040, 0x30FF),
    ("cjk", 0x3400, 0x4DBF),
    ("cjk", 0x4E00, 0x9FFF),
    ("hangul", 0xAC00, 0xD7AF),
    ("cjk", 0xF900, 0xFAFF),
    ("cjk", 0xFF61, 0xFF9F),  # half-width katakana
)
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_PRESENTATION_FORMS = re.compile(r"[\ufb50-\ufdff\ufe70-\ufefc]")
#: a word with a letter beyond ASCII in it
_WORD_NON_ASCII = re.compile(r"\w*[^\x00-\x7f]\w*")


#: Latin letters beyond ASCII: Latin-1's, Latin Extended-A and -B, and Latin Extended Additional's
_LATIN = ((0x00C0, 0x024F), (0x1E00, 0x1EFF))


def _script(c: str) -> str:
    """The script of a character beyond ASCII: one of :data:`_SCRIPTS`, ``latin``, or ``other`` (a letter
    of a script not listed is no misspelt Latin letter: Thai read as "latin" lost to its cp932 reading)."""
    o = ord(c)
    if o < 128:
        return "ascii"
    for name, lo, hi in _SCRIPTS:
        if lo <= o <= hi:
            return name
    return "latin" if any(lo <= o <= hi for lo, hi in _LATIN) or o < 0xC0 else "other"


def _implausible(text: str) -> int:
    """How many things in ``text`` a reading in the right code page would not show: letters beyond ASCII that
    no one language (:data:`_ALPHABETS`) writes together, letters of another script inside a word or apart
    from the text's main script, a capital after a small letter inside a word (Greek read as Cyrillic:
    "оЭсщ"), and symbols inside words (Polish cp1250 read as cp1252: "¯ó³w")."""
    latin: list[str] = []
    others: list[str] = []
    for c in _NON_ASCII.findall(text):
        if c.isalpha():
            kind = _script(c)
            if kind == "latin":
                low = c.lower()
                latin.append(low if len(low) == 1 else c)  # Turkish İ lowers to two characters
            else:
                others.append(kind)
    n = min(sum(c not in alphabet for c in latin) for alphabet in _ALPHABETS) if latin else 0
    if others:
        main = max(set(others), key=others.count)
        n += sum(kind != main for kind in others)
    for word in _WORD_NON_ASCII.findall(text):
        kinds = {_script(c) for c in word if c.isalpha()}
        if len(kinds) > 1 and kinds - {"ascii", "latin"}:
            n += 1
        n += sum(a.islower() and b.isupper() and max(a, b) > "\x7f" for a, b in itertools.pairwise(word))
    # Arabic presentation forms are glyphs a renderer picks, not letters anyone types: an old Urdu page's
    # (cp1006, chardet's guess for a short Thai cue) whole reading was in them
    n += len(_PRESENTATION_FORMS.findall(text))
    return n + _symbols_in_words(text) + len(_C1.findall(text))


def _symbols_in_words(text: str) -> int:
    """Non-ASCII symbols and number signs (``³ ¯ ¹ º``) next to a letter: how a single-byte text read in
    the wrong code page looks (punctuation such as ``’`` or ``¿`` does not count: it belongs there)."""
    n = 0
    for m in _NON_ASCII.finditer(text):
        i = m.start()
        if unicodedata.category(m.group())[0] not in "SN":
            continue
        if (i > 0 and text[i - 1].isalpha()) or (i + 1 < len(text) and text[i + 1].isalpha()):
            n += 1
    return n


#: What every subtitle file holds in ASCII (timings, numbers, arrows): a code page that reads it otherwise
#: cannot be the file's
_ASCII_PROBE = b"0123456789 :,.-->\nABCXYZabcxyz"


@functools.lru_cache(maxsize=64)
def _ascii_compatible(encoding: str) -> bool:
    try:
        return _ASCII_PROBE.decode(encoding) == _ASCII_PROBE.decode("ascii")
    except (UnicodeDecodeError, LookupError):
        return False


def _same_family(encoding: str, marked: str) -> bool:
    """Whether ``encoding`` (as given) reads the Unicode encoding a byte-order mark says: the mark's own
    codec, or its family's codec of no byte order (``utf-16`` for a ``utf-16-le`` mark, ``utf-8-sig``);
    ``utf-16-le`` given for a big-endian mark is not (the mark wins)."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return False
    return name.removesuffix("-sig") in (marked, marked.removesuffix("-le").removesuffix("-be"))


_XML_DECLARATION = re.compile(rb"""<\?xml\s[^>]*?encoding\s*=\s*["']([A-Za-z][A-Za-z0-9._-]*)["']""")


def _codec(name: str | None) -> str | None:
    """Python's name of the codec ``name`` (a detector's ``Windows-1252``, ``MacRoman``), if it has one."""
    if not name:
        return None
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _xml_declared(data: bytes) -> str | None:
    """The codec an XML document (TTML) declares in ``<?xml ... encoding="..."?>``, if Python has it."""
    m = _XML_DECLARATION.match(data.lstrip()[:200])
    name = None if m is None else _codec(m.group(1).decode("ascii"))
    # XML 1.0 appendix F: a declaration readable as ASCII cannot be in UTF-16 or UTF-32 (a .NET writer's
    # mislabel of a UTF-8 string)
    return None if name is None or name.startswith(("utf-16", "utf-32")) else name


def _refuse_mixed_utf8(data: bytes, first_bad: int, path: str | None) -> None:
    """A UTF-8 file with a few bytes of another encoding (a line pasted from a cp1252 file) is refused,
    naming the line: no single code page reads it, and a guess turned the whole file into mojibake."""
    text = data.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    good = len(_NON_ASCII.findall(text)) - bad
    if good >= 3 and good >= 2 * bad:
        line = data[:first_bad].count(b"\n") + 1
        raise DataFormatError(
            f"line {line}: byte 0x{data[first_bad]:02X} is not UTF-8, though the rest of the file is: it "
            f"mixes two encodings ({bad} byte{'s' * (bad != 1)} of another); re-save that line as UTF-8",
            path=path,
        )


def decode_text(
    data: bytes, *, path: str | None = None, encoding: str | None = None
) -> tuple[str, str, bool]:
    """Decode subtitle bytes: ``(text, encoding, had_bom)``. See the module notes for the order of tries.

    A byte-order mark wins over ``encoding`` (as the WHATWG encoding standard has it: a UTF-16 file with its
    mark, forced to cp1250, read as no cues at all); an XML file's declared encoding is taken when none is
    given, the bytes are not UTF-8, and it reads them."""
    for mark, enc in _BOMS:
        if data.startswith(mark) and not (encoding and _same_family(encoding, enc)):
            try:
                return data[len(mark) :].decode(enc), enc, True
            except UnicodeDecodeError as exc:
                raise DataFormatError(
                    f"has a {enc} byte-order mark but is not {enc}: {exc}", path=path
                ) from exc
    if encoding:
        try:
            name = codecs.lookup(encoding).name
            # codecs that read a byte-order mark themselves: the mark (or its absence) names the one to
            # write back with, or utf-16 would write a big-endian file little-endian and utf-8-sig add a mark
            if name in _MARK_READERS:
                family = name.removesuffix("-sig")  # utf-8, utf-16, utf-32
                for mark, enc in _BOMS:
                    if enc.startswith(family) and data.startswith(mark):
                        return data[len(mark) :].decode(enc), enc, True
                return data.decode(_MARK_READERS[name]), _MARK_READERS[name], False
            return data.decode(encoding), encoding, False
        except (UnicodeError, LookupError) as exc:  # UnicodeError: codecs such as "undefined", "punycode"
            raise DataFormatError(f"cannot decode as {encoding}: {exc}", path=path) from exc
    media = data.startswith(_MEDIA_MAGIC) or data[4:8] == b"ftyp"  # a quiet 16-bit WAV can pass for UTF-16
    # UTF-16 without a mark before UTF-8: plain ASCII in UTF-16 is valid UTF-8 too (NUL is a character)
    if len(data) >= 4 and b"\x00" in data and not media:
        even_nul = data[0::2].count(0) / max(1, len(data[0::2]))
        odd_nul = data[1::2].count(0) / max(1, len(data[1::2]))
        for enc, ok in (
            ("utf-16-le", odd_nul > 0.3 and even_nul < 0.05),
            ("utf-16-be", even_nul > 0.3 and odd_nul < 0.05),
        ):
            if ok:
                try:
                    return data.decode(enc), enc, False
                except UnicodeDecodeError:
                    pass
    try:
        return data.decode("utf-8"), "utf-8", False
    except UnicodeDecodeError as exc:
        first_bad = exc.start
    # after UTF-8: a UTF-8 document declared ISO-8859-1 (a common mislabel) is read as what it is; an 8-bit
    # codec reads any bytes, so only a multi-byte one can be belied
    if (declared := _xml_declared(data)) is not None:
        with contextlib.suppress(UnicodeDecodeError):
            return data.decode(declared), declared, False
    if media:
        raise DataFormatError(_BINARY, path=path)
    _refuse_mixed_utf8(data, first_bad, path)
    if b"\x00" not in data:
        import chardet
        from charset_normalizer import from_bytes

        # chardet 7's guess is right on most subtitle files, not all (Italian and English with curly quotes
        # read as other Latin pages, short Russian as a Mac page), charset-normalizer's on fewer (but it
        # names cp932 for half-width katakana): both and the common code pages read the file, and the reading
        # with the fewest implausible letters wins. Ties go to chardet, or to cp1252 on a file with few
        # bytes beyond ASCII, too few for chardet's statistics ("Ça va? Très bien." as Latvian "Ēa va? Trčs")
        # the lines that hold a byte beyond ASCII say which code page it is (a feature's 1.4 MB took
        # seconds read whole nine times); 0x0A is never part of a multi-byte character in these codecs
        sample = b"\n".join(_HIGH_LINE.findall(data))[:_SAMPLE_BYTES]
        normalizer = from_bytes(sample).best()
        guess = _codec(chardet.detect(sample).get("encoding"))
        order = [_WINDOWS_FOR_MAC.get(guess or ""), guess, "cp1252"]
        if sum(b >= 0x80 for b in sample) < _FEW_HIGH_BYTES:
            order.insert(0, "cp1252")
        order.append(_codec(str(normalizer.encoding)) if normalizer is not None else None)
        readings: list[tuple[int, int, str, str]] = []
        for enc in dict.fromkeys(e for e in [*order, *_EIGHT_BIT, *_MULTI_BYTE] if e is not None):
            if not _ascii_compatible(enc):  # EBCDIC (chardet's cp037 for a short Thai cue) read "ค่ะ" as "uY}"
                continue
            try:
                readings.append(
                    (_implausible(sample.decode(enc, "ignore")), len(readings), enc, data.decode(enc))
                )
            except UnicodeDecodeError:  # a byte the code page leaves undefined
                continue
        if readings:
            _, _, enc, text = min(readings)
            # the same text in a common code page is named by it (cp1252, not ISO-8859-15 for a file
            # without € or Œ; cp932, not Shift_JIS): written back, what they differ in keeps its usual place
            same = [e for _, _, e, t in readings if t == text and e in (*_EIGHT_BIT, *_MULTI_BYTE)]
            return text, same[0] if same else enc, False
    if b"\x00" in data:  # NUL bytes outside a UTF-16 pattern: media or some other binary file
        raise DataFormatError(_BINARY, path=path)
    raise DataFormatError(
        "cannot tell the text encoding (not UTF-8, UTF-16 or a recognisable 8-bit encoding); "
        "give it explicitly (encoding=..., --encoding)",
        path=path,
    )


# ------------------------------------------------------------------------------------------------ parsing

_TS = r"-?(?:\d+:)?\d{1,2}:\d{1,2}(?:[,.]\d{1,3}|:\d{3})?"
# the end time must end there: "04,5000" or "08,00O" are not a time followed by text; after it come cue
# settings (after a space), an invisible zero-width space or BOM, or a stray full stop (pysubs2 and ffmpeg
# read those too)
_TIMING = re.compile(rf"^\s*(?P<a>{_TS})\s*-->\s*(?P<b>{_TS})(?P<rest>(?:[\s\u200b\ufeff].*|\.)?)$")
# a timing line whose arrow is mistyped ("->", "=>", "- ->", a dash or none): a time to the millisecond, then
# another (colon milliseconds only as three digits: '09:15:00 - 09:45:00' in a cue's text is a clock range,
# not times), joined by dashes, arrows or spaces only: 'Laps: 1:32.45 / 1:33.02' is text (a file with it was
# refused whole), as pysubs2 and ffmpeg read it
_TYPO_JOIN = r"[\s\-\u2010-\u2015=>~\u2192]{0,8}"
_TIMING_TYPO = re.compile(rf"^\s*-?(?:\d+:)?\d{{1,2}}:\d{{1,2}}(?:[,.]\d{{1,3}}|:\d{{3}}){_TYPO_JOIN}{_TS}")
_ASS_EVENT = re.compile(r"^(?P<kind>Dialogue|Comment)\s*:\s*(?P<body>.*)$", re.IGNORECASE)
_VTT_INLINE = re.compile(r"<((?:\d{2,}:)?\d{2}:\d{2}\.\d{3})>")
# markup SRT and WebVTT players hide: their tags (<i>, </b>, <font ...>, <c.class>, <v Name>, <br/>) and
# WebVTT's inline timestamps; any other "<" is shown ("I <3 you", "x > y")
_TAG = re.compile(
    r"</?(?:b|i|u|s|c|v|font|lang|ruby|rt|br)(?=[\s./>])[^<>]*>|<(?:\d+:)?\d{2}:\d{2}\.\d{3}>", re.IGNORECASE
)
_OVERRIDE = re.compile(r"\{[^}]*\}")  # ASS override blocks ({\an8}, {\i1}), MicroDVD's {y:i}


#: An ASS/SSA event time as :func:`_parse_ts` reads it (H:MM:SS.cc; a sign, and 1-3 fraction digits, taken).
_ASS_TIME = re.compile(r"^-?\d+(?::\d{1,2}){1,2}(?:[.,]\d{1,3})?$")


def _parse_ts(s: str) -> float:
    neg = s.startswith("-")
    s = s.lstrip("-")
    frac = 0.0
    # milliseconds after a comma, a full stop, or a colon (HH:MM:SS:mmm, and MM:SS:mmm as _TS takes it)
    m = re.match(r"^(.*?)[,.](\d{1,3})$", s) or re.match(r"^(\d+(?::\d{1,2}){1,2}):(\d{3})$", s)
    if m:
        s, digits = m.group(1), m.group(2)
        frac = int(digits) / (10 ** len(digits))
    parts = [int(p) for p in s.split(":")]
    secs = 0.0
    for p in parts:
        secs = secs * 60 + p
    secs += frac
    return -secs if neg else secs


def plain_text(raw: str, format: str = "srt", *, wrap_style: int = 2) -> str:
    """Subtitle text as shown: without markup (``{...}`` override blocks; in SRT, WebVTT and MicroDVD also
    their tags, with character references decoded: ``&amp;``, ``&#39;``, WebVTT's ``&rlm;``; ASS/SSA
    shows ``<`` and ``&`` as written), and without invisible format characters (the direction marks of
    right-to-left subtitles), so lengths count what a viewer reads; ``\\N`` becomes a line break, ``\\h`` a
    space, and ``\\n`` a line break but in ASS/SSA under a ``wrap_style`` (the script's WrapStyle, or the
    event's ``\\q`` before it) other than 2, where libass shows it as a space; an ASS drawing (``{\\p1}m 0 0
    l ...{\\p0}``) shows no characters. ``format`` is the file's (pysubs2's texts, in its ASS form:
    ``"ass"``)."""
    ass = format in ("ass", "ssa")
    if ass:
        t = _ass_shown(raw, wrap_style)[0]
    else:
        t = _OVERRIDE.sub("", raw).replace("\\N", "\n").replace("\\n", "\n")
    t = t.replace("\\h", " ")
    if not ass:
        t = html.unescape(_TAG.sub("", t))
    t = t.replace("\xa0", " ")
    t = "".join(ch for ch in t if unicodedata.category(ch) != "Cf")
    lines = [ln.strip() for ln in t.replace("\r", "").split("\n")]
    return "\n".join(ln for ln in lines if ln)


def _ass_shown(raw: str, wrap_style: int = 2) -> tuple[str, bool]:
    """An ASS/SSA event's text as libass and VSFilter show it, override blocks removed, and whether it draws
    a shape. A ``\\q`` holds from where it stands: a ``\\n`` takes the wrap style in effect where it is (a
    ``\\q`` after it does not reach back); text after ``\\p1`` (``\\p2``...) up to ``\\p0`` is drawing
    commands ('m 0 0 l 100 0 ...'), a shape drawn, no characters shown."""
    shown = []
    drawing = drew = False
    for k, part in enumerate(re.split(r"(\{[^}]*\})", raw)):  # text, override block, text, ...
        if k % 2:
            q = re.findall(r"\\q([0-3])", part)
            wrap_style = int(q[-1]) if q else wrap_style
            p = re.findall(r"\\p(\d+)", part)  # not \pos or \pbo: a digit follows
            drawing = int(p[-1]) > 0 if p else drawing
        elif drawing:
            drew = drew or bool(part.strip())
        else:
            shown.append(part.replace("\\N", "\n").replace("\\n", "\n" if wrap_style == 2 else " "))
    return "".join(shown), drew


def is_drawing(raw: str) -> bool:
    """Whether an ASS/SSA event's text (``Cue.raw``) is a vector drawing alone (``{\\p1}m 0 0 l ...``), with
    no text shown: a sign or a box, not a subtitle to read."""
    return _ass_shown(raw)[1] and not plain_text(raw, "ass")


def _detect_format(text: str, path: str | None) -> str:
    head = text.lstrip("\ufeff \t\r\n")[:2000]
    if head.startswith("Scenarist_SCC"):  # pysubs2 read its codes as text of "TMP" cues, and wrote TMP back
        raise DataFormatError(f"is a Scenarist SCC caption file (CEA-608 codes), {_NOT_READ}", path=path)
    if head.startswith("WEBVTT"):
        return "vtt"
    if re.search(r"^\[Script Info\]", head, re.MULTILINE | re.IGNORECASE):
        return "ssa" if re.search(r"ScriptType:\s*v4\.00\s*$", head, re.MULTILINE | re.IGNORECASE) else "ass"
    if head.startswith("<") and re.search(r"<(?:[\w.-]+:)?tt[\s>]", head):
        return "ttml"
    if re.search(r"<sami>", head, re.IGNORECASE):
        return "sami"
    if re.search(rf"^\s*{_TS}\s*-->", head, re.MULTILINE):
        return "srt"
    if re.match(r"\{\d+\}\{\d*\}", head):
        return "microdvd"
    if path:
        ext = Path(path).suffix.lower()
        if ext in _EXT_FORMAT:
            return _EXT_FORMAT[ext]
    return "unknown"


def _bad_timing(line: str, fmt: str, path: str | None, i: int) -> NoReturn:
    """Refuse the timing line ``line`` (0-based line ``i``), whose times cannot be read."""
    example = "HH:MM:SS,mmm --> HH:MM:SS,mmm" if fmt == "srt" else "HH:MM:SS.mmm or MM:SS.mmm, with -->"
    raise DataFormatError(
        f"cannot read the times of {line.strip()!r} (write them as {example})", path=path, line=i + 1
    )


_CUE_NUMBER = re.compile(r"\s*\d+\s*")  # an SRT cue's number, on its own line


def _timing_like(line: str) -> bool:
    """Whether ``line`` is a timing line, read or not: one with ``-->`` (which WebVTT forbids in cue text; in
    SRT a mistyped time, '00:00:4X,000 --> ...', was taken for text of the cue above) or a mistyped arrow."""
    return "-->" in line or _TIMING_TYPO.match(line) is not None


def _srt_text_after_gap(lines: list[str], j: int) -> int:
    """Where SRT text resumes after the empty line ``j`` (a line that starts no cue: ffmpeg and pysubs2
    keep it in the cue above), or ``j`` when the cue ends there (the file ends, or a cue starts next)."""
    k = j
    while k < len(lines) and not lines[k].strip():
        k += 1
    if k == len(lines) or _timing_like(lines[k]):
        return j
    nxt = lines[k + 1] if k + 1 < len(lines) else ""
    if _CUE_NUMBER.fullmatch(lines[k]) and (not nxt.strip() or _timing_like(nxt)):
        return j  # a cue's number (the next cue's, or a stray one at the end, as pysubs2 drops it)
    return k


def _parse_srt_vtt(
    text: str, fmt: str, path: str | None
) -> tuple[list[Cue], list[Any], list[str], list[Any]]:
    """Cues, where their times sit, notes, and WebVTT's inline timestamps (see ``SubtitleFile._inline``)."""
    lines = text.split("\n")
    cues: list[Cue] = []
    spans: list[Any] = []
    notes: list[str] = []
    inline: list[Any] = []
    i = 0
    n = len(lines)
    in_block = False  # inside a VTT NOTE/STYLE/REGION block
    while i < n:
        line = lines[i].rstrip("\r")
        starts = fmt == "vtt" and not in_block and re.match(r"^(NOTE|STYLE|REGION)(\s|$)", line) is not None
        in_block = in_block or starts
        if in_block:
            # only an empty line ends a block, as it ends a cue's text (spaces do not); a later line of cue
            # times ends it too and starts a cue (W3C "collect a WebVTT block": a comment holds no "-->",
            # and a block's second line with one makes its first line the cue's identifier, "NOTE"
            # included); an arrow that is not times ('moved 00:01.000 --> ...', CSS '/* a --> b */') starts
            # a block the parser drops up to the next empty line, as this one is dropped
            if not starts and _TIMING.match(line):
                in_block = False
            else:
                in_block = bool(line)
                i += 1
                continue
        m = _TIMING.match(line)
        if not m:
            # a cue whose times cannot be read: say so (skipped, it would be left at its old time)
            if _timing_like(line) and not (fmt == "vtt" and i == 0):
                _bad_timing(line, fmt, path, i)
            i += 1
            continue
        a, b = m.group("a"), m.group("b")
        start, end = _parse_ts(a), _parse_ts(b)
        body: list[str] = []
        j = i + 1
        # the text runs to an empty line: a line of spaces is text, in the WebVTT parser and in ffmpeg's SRT
        while j < n:
            if not lines[j].rstrip("\r"):
                k = _srt_text_after_gap(lines, j) if fmt == "srt" else j
                if k == j:
                    break
                body.extend([""] * (k - j))  # SRT text after empty lines is this cue's, as ffmpeg reads
                j = k
            if _TIMING.match(lines[j]):  # a cue without the blank line before the next one
                if body and _CUE_NUMBER.fullmatch(body[-1]):
                    body.pop()
                break
            if _timing_like(lines[j]):  # ... whose times or arrow are mistyped: not text of this cue
                _bad_timing(lines[j].rstrip("\r"), fmt, path, j)
            body.append(lines[j].rstrip("\r"))
            j += 1
        raw = "\n".join(body)
        if fmt == "vtt":
            for k in range(len(body)):
                for m in _VTT_INLINE.finditer(body[k]):
                    inline.append((len(cues), (i + 1 + k, m.start(1), m.end(1)), _parse_ts(m.group(1))))
        a0 = line.index(a)
        b0 = line.index(b, a0 + len(a))
        spans.append(((i, a0, a0 + len(a)), (i, b0, b0 + len(b))))
        prev = lines[i - 1].strip() if i else ""
        if fmt == "srt":
            number = prev if _CUE_NUMBER.fullmatch(prev) else ""
        else:  # a WebVTT identifier: the line before the times, after a blank line
            alone = i >= 2 and not lines[i - 2].strip() and "-->" not in prev
            number = prev if alone and not prev.startswith("WEBVTT") else ""
        cues.append(Cue(len(cues), start, end, plain_text(raw, fmt), raw, number))
        if start < 0 or end < 0:
            notes.append(f"cue {len(cues)} ({a} --> {b}) has a time before zero")
        i = j
    # a WebVTT file of its header (and notes) alone is an empty file, as an empty SRT is; text without the
    # header is no WebVTT file, empty or not
    header = re.match(r"WEBVTT(?:[ \t]|\r?$)", text.lstrip("\ufeff"), re.M) is not None
    if not cues and text.strip() and not (fmt == "vtt" and header and "-->" not in text):
        raise DataFormatError(f"no {fmt.upper()} cues found (no 'start --> end' timing lines)", path=path)
    return cues, spans, notes, inline


_MICRODVD = re.compile(r"^\{\s*(\d+)\s*\}\{\s*(\d*)\s*\}(.*?)\r?$")
MICRODVD_FPS = 23.976  # most players' assumption when the file does not say (pysubs2 refuses such a file)


def _parse_microdvd(text: str, path: str | None, picture_fps: float | None = None) -> _Parsed:
    """MicroDVD (``{start frame}{end frame}text``, ``|`` a line break, ``{y:i}``-style tags), read here so
    that writing edits only the frame numbers (pysubs2 regenerates it and turns a line's ``{y:i}`` into
    the whole subtitle's ``{Y:i}``). A first line ``{1}{1}23.976`` gives the frame rate; without one the
    frames are the picture's (``picture_fps``, as players count them), else :data:`MICRODVD_FPS`'s."""
    lines = text.split("\n")
    fps = picture_fps or MICRODVD_FPS
    said_fps = False
    cues: list[Cue] = []
    spans: list[Any] = []
    for i, line in enumerate(lines):
        m = _MICRODVD.match(line)
        if not m:
            if line.strip():
                raise DataFormatError("not a MicroDVD line ({start}{end}text)", path=path, line=i + 1)
            continue
        body = m.group(3)
        if not cues and m.group(1) in ("0", "1") and m.group(2) in ("0", "1"):
            try:
                given = float(body)
            except ValueError:
                given = math.nan
            if 0 < given < 1000:  # a header line, not a cue
                fps, said_fps = given, True
                continue
        if not m.group(2):
            raise DataFormatError("a MicroDVD line without its end frame", path=path, line=i + 1)
        start, end = int(m.group(1)) / fps, int(m.group(2)) / fps
        spans.append(((i, m.start(1), m.end(1)), (i, m.start(2), m.end(2))))
        cues.append(Cue(len(cues), start, end, plain_text(body.replace("|", "\n")), body))
    if not cues and text.strip():
        raise DataFormatError("no MicroDVD cues found", path=path)
    notes = []
    if not said_fps:
        whose = ", the picture's frame rate" if picture_fps else ""
        notes.append(
            f"no frame-rate line (such as {{1}}{{1}}25): frames are read at {fps:.6g} fps{whose}; add the "
            "line if the file counts at another rate"
        )
    return _Parsed(cues, spans, notes, "microdvd", fps=fps)


def _parse_ass(text: str, path: str | None) -> tuple[list[Cue], list[Any], list[str], list[Any]]:
    """Dialogue events as cues (with where their times sit in ``text``), notes, and the Comment events as
    ``(start span, end span, start_s, end_s)``."""
    lines = text.split("\n")
    cues: list[Cue] = []
    spans: list[Any] = []
    notes: list[str] = []
    comments: list[Any] = []
    section = ""
    fmt_fields: list[str] = []
    wrap = re.search(r"^\s*WrapStyle\s*:\s*([0-3])\s*$", text, re.MULTILINE | re.IGNORECASE)
    wrap_style = int(wrap.group(1)) if wrap else 0  # libass's default: \n is a space
    for i, raw_line in enumerate(lines):
        line = raw_line.rstrip("\r")
        st = line.strip()
        if st.startswith("[") and st.endswith("]"):
            section = st.lower()
            continue
        if section != "[events]":
            continue
        if st.lower().startswith("format:"):
            fmt_fields = [f.strip().lower() for f in st.split(":", 1)[1].split(",")]
            continue
        m = _ASS_EVENT.match(st)
        if not m:
            continue
        is_comment = m.group("kind").lower() == "comment"
        if not fmt_fields:
            raise DataFormatError(f"line {i + 1}: an event before the [Events] Format line", path=path)
        body_start = line.index(m.group("body"))
        body = m.group("body")
        values = body.split(",", len(fmt_fields) - 1)
        if len(values) < len(fmt_fields) or "start" not in fmt_fields or "end" not in fmt_fields:
            raise DataFormatError("malformed Dialogue line", path=path, line=i + 1)
        # character offsets of each field inside the line
        offs = []
        pos = body_start
        for v in values:
            offs.append(pos)
            pos += len(v) + 1
        si, ei = fmt_fields.index("start"), fmt_fields.index("end")
        ti = fmt_fields.index("text") if "text" in fmt_fields else len(values) - 1

        def span(
            k: int, i: int = i, values: list[str] = values, offs: list[int] = offs
        ) -> tuple[int, int, int]:
            v = values[k]
            lead = len(v) - len(v.lstrip())
            return (i, offs[k] + lead, offs[k] + len(v.rstrip()))

        for k, name in ((si, "Start"), (ei, "End")):
            if not _ASS_TIME.match(values[k].strip()):
                raise DataFormatError(
                    f"cannot read the {name} time {values[k].strip()!r} (ASS times are H:MM:SS.cc)",
                    path=path,
                    line=i + 1,
                )
        start, end = _parse_ts(values[si].strip()), _parse_ts(values[ei].strip())
        raw = values[ti]
        if is_comment:  # not a cue (it is not shown), but it is re-timed with the cues around it
            comments.append((span(si), span(ei), start, end))
            continue
        spans.append((span(si), span(ei)))
        cues.append(Cue(len(cues), start, end, plain_text(raw, "ass", wrap_style=wrap_style), raw))
        if start < 0 or end < 0:
            notes.append(f"event {len(cues)} has a time before zero")
    if not spans and "[events]" not in text.lower():
        raise DataFormatError("no [Events] section", path=path)
    return cues, spans, notes, comments


def parse_subtitles(
    text: str, *, format: str | None = None, path: str | None = None
) -> tuple[list[Cue], list[Any], list[str], Any, list[int], str]:
    """``(cues, time spans, notes, pysubs2 file, its event index per cue, format)``."""
    parsed = _parse_subtitles(text, format=format, path=path)
    return parsed.cues, parsed.spans, parsed.notes, parsed.ssa, parsed.events, parsed.format


@dataclass
class _Parsed:
    cues: list[Cue]
    spans: list[Any]
    notes: list[str]
    format: str
    ssa: Any = None
    events: list[int] = field(default_factory=list)
    comments: list[Any] = field(default_factory=list)
    inline: list[Any] = field(default_factory=list)
    ttml_base: Any = None
    fps: float | None = None

    def file(
        self,
        source: str,
        newline: str,
        *,
        encoding: str = "utf-8",
        bom: bool = False,
        path: Path | None = None,
    ) -> SubtitleFile:
        base = [(c.start_s, c.end_s) for c in self.cues]
        return SubtitleFile(
            self.cues, self.format, encoding, bom, path, self.notes, source, newline, self.spans, self.ssa,
            self.events, self.comments, base, self.inline, self.ttml_base, self.fps,
        )  # fmt: skip


def _parse_subtitles(
    text: str, *, format: str | None = None, path: str | None = None, fps: float | None = None
) -> _Parsed:
    """Everything :func:`parse_subtitles` reads, and what writing needs (ASS comments, VTT inline times);
    ``fps``: the picture's frame rate, which a MicroDVD file without a frame-rate line counts in."""
    fmt = format or _detect_format(text, path)
    if fmt in ("srt", "vtt"):
        cues, spans, notes, inline = _parse_srt_vtt(text, fmt, path)
        return _Parsed(cues, spans, notes, fmt, inline=inline)
    if fmt in ("ass", "ssa"):
        cues, spans, notes, comments = _parse_ass(text, path)
        return _Parsed(cues, spans, notes, fmt, comments=comments)
    if fmt == "microdvd":
        return _parse_microdvd(text, path, fps)
    if fmt == "ttml":
        from reelkit.post.subs.ttml import read_ttml

        try:
            found, tb = read_ttml(text)
        except ValueError as exc:
            line = exc.line if isinstance(exc, DataFormatError) else None
            raise DataFormatError(f"cannot read this TTML file: {exc}", path=path, line=line) from None
        ttml_cues = [Cue(k, c.start_s, c.end_s, c.text, c.text) for k, c in enumerate(found)]
        notes = [f"cue {k + 1} has a time before zero" for k, c in enumerate(found) if c.start_s < 0]
        placed = found if all(c.slots for c in found) else []  # each cue's own times, to edit in place
        return _Parsed(ttml_cues, placed, notes, "ttml", ttml_base=tb)
    import pysubs2

    try:
        ssa = pysubs2.SSAFile.from_string(
            text.replace("\r\n", "\n"), format_=None if fmt == "unknown" else fmt
        )
    except Exception as exc:  # pysubs2 raises several kinds
        raise DataFormatError(
            f"not a subtitle file pysubs2 can read ({type(exc).__name__}: {exc})", path=path
        ) from exc
    guessed = str(ssa.format or fmt)
    if guessed in _TEXT_FORMATS or guessed == "ttml":  # pysubs2 saw what the name did not say: read it here
        return _parse_subtitles(text, format=guessed, path=path, fps=fps)
    ends = [ev.end / 1000.0 for ev in ssa.events]
    if guessed == "sami":
        # SAMI gives starts alone: a caption stays up to the next SYNC (pysubs2 guesses 0.5 s + 67 ms a
        # character, cut at the next start), the last one for pysubs2's guess
        starts = sorted({ev.start for ev in ssa.events})
        for k, ev in enumerate(ssa.events):
            nxt = bisect.bisect_right(starts, ev.start)
            if nxt < len(starts):
                ends[k] = starts[nxt] / 1000.0
    cues = []
    events = []
    for k, ev in enumerate(ssa.events):
        if ev.is_comment:
            continue
        shown = plain_text(ev.text, "ass")  # pysubs2 holds every format's text as ASS text
        if guessed == "sami" and not shown:  # a SYNC of &nbsp; clears the screen: the end of a caption
            continue
        cues.append(Cue(len(cues), ev.start / 1000.0, ends[k], shown, ev.text))
        events.append(k)
    return _Parsed(cues, [], [], guessed, ssa=ssa, events=events)


def load_subtitles(
    path: str | os.PathLike[str],
    *,
    encoding: str | None = None,
    format: str | None = None,
    fps: float | None = None,
) -> SubtitleFile:
    """Read a subtitle file (format from the content, else the extension; encoding detected). ``fps``: the
    frame rate of the picture it goes with: a MicroDVD file without a frame-rate line counts its frames
    (else 23.976 is assumed), and is written back in them; a note says which rate was used."""
    p = check_input_file(path, DataFormatError, "is a folder, not a subtitle file")
    data = p.read_bytes()
    if len(data) >= 1024 and data[3:6] == b"STL" and data[:3].isdigit():  # its GSI block: "850STL25.01"
        raise DataFormatError(f"is an EBU STL (Tech 3264) subtitle file, {_NOT_READ}", path=str(p))
    text, enc, bom = decode_text(data, path=str(p), encoding=encoding)
    if text.startswith("\ufeff"):
        text, bom = text[1:], True
    source, newline = _lines(text)
    parsed = _parse_subtitles(source, format=format, path=str(p), fps=fps)
    return parsed.file(source, newline, encoding=enc, bom=bom, path=p)


def picture_fps(media: str | os.PathLike[str]) -> float | None:
    """The frame rate of ``media``'s picture (``None``: no picture), for :func:`load_subtitles`'s ``fps``."""
    from reelkit.media import probe

    return probe(Path(media)).picture_fps


def from_string(text: str, *, format: str | None = None, fps: float | None = None) -> SubtitleFile:
    """A :class:`SubtitleFile` from text (UTF-8 when written); ``fps`` as :func:`load_subtitles`'s."""
    source, newline = _lines(text.lstrip("\ufeff"))
    return _parse_subtitles(source, format=format, fps=fps).file(source, newline)


def _lines(text: str) -> tuple[str, str]:
    r"""The text to parse and edit, split into lines at ``\n`` (each line keeps a ``\r`` it ended with, so a
    file with mixed line endings keeps each one), and the file's own line ending for what is generated.
    A file of ``\r`` line endings alone (old Mac; WebVTT allows it) is read with ``\n`` and written back
    with ``\r``."""
    if "\n" not in text and "\r" in text:
        return text.replace("\r", "\n"), "\r"
    return text, "\r\n" if "\r\n" in text[:5000] else "\n"


# ------------------------------------------------------------------------------------------------ writing


def _fmt_ts(t: float, fmt: str, template: str, fps: float | None = None) -> str:
    if fmt == "microdvd":
        return str(round(max(t, 0.0) * (fps or MICRODVD_FPS)))
    ms = round(max(t, 0.0) * 1000)
    if fmt in ("ass", "ssa"):
        cs = (ms + 5) // 10
        h, rem = divmod(cs, 360000)
        m, rem = divmod(rem, 6000)
        s, c = divmod(rem, 100)
        return f"{h}:{m:02d}:{s:02d}.{c:02d}"
    h, rem = divmod(ms, 3600000)
    m, rem = divmod(rem, 60000)
    s, f = divmod(rem, 1000)
    sep = "," if fmt == "srt" and "." not in template else ("." if fmt == "vtt" or "." in template else ",")
    hours_in_template = template.lstrip("-").count(":") >= 2
    if fmt == "vtt" and not hours_in_template and h == 0:
        return f"{m:02d}:{s:02d}.{f:03d}"
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{f:03d}"


def _passenger_times(sub: SubtitleFile) -> list[tuple[Any, Any, float, float]]:
    """Each Comment event with its times mapped as the cues around it moved: linearly between the starts of
    the cues before and after it (as read and as now), so a comment inside a segment moves with its offset
    and scale; before the first cue or after the last, by that cue's shift."""
    if not sub._passengers:
        return []
    if not sub.cues or len(sub._base_times) != len(sub.cues):
        return [(sa, sb, s, e) for sa, sb, s, e in sub._passengers]
    old = np.array([s for s, _ in sub._base_times])
    new = np.array([c.start_s for c in sub.cues])
    order = np.argsort(old, kind="stable")
    old, new = old[order], new[order]
    keep = np.concatenate([[True], np.diff(old) > 0])  # equal starts: the first
    old, new = old[keep], new[keep]

    def move(t: float) -> float:
        # before the first cue or after the last: that cue's shift (the two nearest cues may lie on either
        # side of a split, and extrapolating their slope would throw the comment far off)
        if t <= old[0]:
            return t + float(new[0] - old[0])
        if t >= old[-1]:
            return t + float(new[-1] - old[-1])
        k = int(np.searchsorted(old, t, side="right") - 1)
        return float(new[k] + (t - old[k]) * (new[k + 1] - new[k]) / (old[k + 1] - old[k]))

    return [(sa, sb, move(s), move(e)) for sa, sb, s, e in sub._passengers]


def _inline_times(sub: SubtitleFile) -> list[tuple[Any, float]]:
    """Each WebVTT inline timestamp with its time moved as its cue moved: the same fraction of the cue."""
    out = []
    for k, where, t in sub._inline:
        (s0, e0), cue = sub._base_times[k], sub.cues[k]
        frac = (t - s0) / (e0 - s0) if e0 > s0 else 0.0
        out.append((where, cue.start_s + frac * (cue.end_s - cue.start_s)))
    return out


def _edited(sub: SubtitleFile, edits: Sequence[tuple[tuple[int, int, int], str]]) -> str:
    """``sub.source`` with each ``((line, first char, end char), replacement)`` made, in its own line
    endings."""
    lines = sub.source.split("\n")
    by_line: dict[int, list[tuple[int, int, str]]] = {}
    for (ln, c0, c1), rep in edits:
        by_line.setdefault(ln, []).append((c0, c1, rep))
    for ln, items in by_line.items():
        line = lines[ln]
        for c0, c1, rep in sorted(items, reverse=True):
            line = line[:c0] + rep + line[c1:]
        lines[ln] = line
    text = "\n".join(lines)  # each line kept the "\r" of a CRLF ending
    return text.replace("\n", "\r") if sub.newline == "\r" else text


#: How long a WebVTT cue written with no length lasts (one that ended before zero, a cut scene's): WebVTT
#: wants every cue to end after it starts.
VTT_MIN_CUE_S = 0.001


def _render(sub: SubtitleFile) -> tuple[str, list[Cue]]:
    """The text of a file :func:`check_writable` passed (see :meth:`SubtitleFile.to_string`)."""
    clamped = [c for c in sub.cues if c.start_s < 0 or c.end_s < 0]
    lines = sub.source.split("\n")
    edits: list[tuple[tuple[int, int, int], str]] = []
    if sub.format in _TEXT_FORMATS:
        moves = [(sa, sb, cue.start_s, cue.end_s) for cue, (sa, sb) in zip(sub.cues, sub._spans, strict=True)]
        if sub.format == "vtt":  # WebVTT wants each cue to end after it starts: a hidden one lasts 1 ms
            moves = [(sa, sb, t0, max(t1, max(t0, 0.0) + VTT_MIN_CUE_S)) for sa, sb, t0, t1 in moves]
        for sa, sb, t_start, t_end in moves + _passenger_times(sub):
            for (ln, c0, c1), t in ((sa, t_start), (sb, t_end)):
                edits.append(((ln, c0, c1), _fmt_ts(t, sub.format, lines[ln][c0:c1], sub.fps)))
        for (ln, c0, c1), t in _inline_times(sub):
            edits.append(((ln, c0, c1), _fmt_ts(t, "vtt", lines[ln][c0:c1])))
        return _edited(sub, edits), clamped
    if sub.format == "ttml":
        from reelkit.post.subs.ttml import format_time

        for cue, p in zip(sub.cues, sub._spans, strict=True):  # p: the cue's <p> as read (a TtmlCue)
            start, end = max(cue.start_s, 0.0), max(cue.end_s, 0.0)
            if start < p.parent_begin_s - 1e-9 or (p.parent_end_s is not None and end > p.parent_end_s):
                # its times count from a <div> (or end with one) that is not re-timed: moved out of it, the
                # cue would be written at the div's edge or not shown at all
                span = f"{p.parent_begin_s:g} s" + (
                    f" to {p.parent_end_s:g} s" if p.parent_end_s is not None else " on"
                )
                raise DataFormatError(
                    f"cue {cue.index + 1} would move to {start:.3f}-{end:.3f} s, outside the timed element "
                    f"that holds it ({span}), which is not re-timed; give its <p> times of its own under an "
                    "untimed <div>",
                    path=str(sub.path) if sub.path is not None else None,
                )
            for slot in p.slots:
                value = {
                    "begin": start - p.parent_begin_s,
                    "end": end - p.parent_begin_s,
                    "dur": end - start,
                }[slot.role]
                tmpl = lines[slot.line][slot.c0 : slot.c1]
                edits.append(((slot.line, slot.c0, slot.c1), format_time(value, tmpl, sub._ttml_base)))
        return _edited(sub, edits), clamped
    _warn_if_regenerating_loses(sub)
    ssa = sub._ssa.copy() if hasattr(sub._ssa, "copy") else sub._ssa
    for cue, k in zip(sub.cues, sub._ssa_events, strict=True):
        ssa.events[k].start = round(max(cue.start_s, 0.0) * 1000)
        ssa.events[k].end = round(max(cue.end_s, 0.0) * 1000)
    return str(ssa.to_string(sub.format)).replace("\n", sub.newline), clamped


def _warn_if_regenerating_loses(sub: SubtitleFile) -> None:
    """Warn when pysubs2, writing ``sub`` again at its own times, does not give back its lines (MPL2's
    ``/`` italics, MicroDVD's ``{y:i}``...): only SRT, WebVTT, ASS/SSA and TTML are edited in place."""
    if sub._ssa is None:
        return

    def bare(line: str) -> str:  # spacing is pysubs2's own layout, not a loss
        return "".join(line.split())

    again = {bare(ln) for ln in str(sub._ssa.to_string(sub.format)).split("\n")}
    lines = [ln.strip() for ln in sub.source.split("\n") if ln.strip()]
    changed = [ln for ln in lines if bare(ln) not in again]
    if changed:
        warnings.warn(
            ReelkitWarning(
                f"{sub.path or 'the subtitles'}: {sub.format.upper()} is written anew by pysubs2, which "
                f"changes {len(changed)} of its {len(lines)} lines even at unchanged times (first: "
                f"{changed[0]!r}): "
                "styling or layout it does not keep; check the output, or convert the file to SRT first"
            ),
            stacklevel=3,
        )


def check_writable(sub: SubtitleFile, out: str | os.PathLike[str] | None = None) -> None:
    """Raise :class:`DataFormatError` when ``sub`` cannot be written back (to ``out``): a format read but not
    written (SAMI), a TTML document whose cues do not carry their own times, or an output whose extension
    names another format than the file's (an SRT written to ``out.vtt`` is not WebVTT). Call it before long
    work whose result is to be written."""
    where = str(sub.path) if sub.path is not None else None
    if sub.format == "ttml" and sub.cues and not sub._spans:
        raise DataFormatError(
            "can be read but not re-timed in place: some <p> elements take their times from a <div> or "
            "a <span> rather than their own begin and end (or dur); give every <p> its own times",
            path=where,
        )
    if sub.format not in (*_TEXT_FORMATS, "ttml"):
        import pysubs2
        from pysubs2.formats import get_format_class
        from pysubs2.formats.base import FormatBase

        try:
            cls = get_format_class(sub.format)  # a writer is a class's own to_file, not FormatBase's
            writes = any("to_file" in vars(k) for k in cls.__mro__ if k is not FormatBase)
        except pysubs2.exceptions.UnknownFormatIdentifierError:
            writes = False
        if not writes:
            raise DataFormatError(
                f"{sub.format.upper()} files can be read (as a --reference, or to check) but not written; "
                "convert it to SRT or WebVTT first",
                path=where,
            )
    if out is not None:
        named = _EXT_FORMAT.get(Path(out).suffix.lower())
        family = {"ssa": "ass"}
        if named is not None and family.get(named, named) != family.get(sub.format, sub.format):
            raise DataFormatError(
                f"the output is written as the input is, {sub.format.upper()}, but its extension says "
                f"{named.upper()}; name it .{_FORMAT_EXT.get(sub.format, sub.format)} (reelkit does not "
                "convert between formats)",
                path=str(out),
            )


def check_output_path(
    path: str | os.PathLike[str], inputs: Sequence[str | os.PathLike[str] | None] = ()
) -> Path:
    """``path`` as a Path when a file can be written there (its folder exists, it is not a folder, it is none
    of the ``inputs``); raises :class:`DataFormatError` otherwise."""
    return check_output_file(path, DataFormatError, "out.srt", inputs)


def write_subtitles(sub: SubtitleFile, path: str | os.PathLike[str]) -> list[Cue]:
    """Write ``sub`` to ``path`` atomically, in its own format, encoding and byte-order mark.

    Returns the cues whose times were before zero and were clamped to zero (report them to the user).
    """
    out = check_output_path(path)
    check_writable(sub, out)
    text, clamped = _render(sub)
    enc = codecs.lookup(sub.encoding).name  # "utf8", "UTF_8": the same codec, and the same mark
    data = text.encode(enc)
    if sub.bom:
        mark = {
            "utf-8": codecs.BOM_UTF8,
            "utf-8-sig": b"",
            "utf-16-le": codecs.BOM_UTF16_LE,
            "utf-16-be": codecs.BOM_UTF16_BE,
            "utf-32-le": codecs.BOM_UTF32_LE,
            "utf-32-be": codecs.BOM_UTF32_BE,
        }.get(enc.lower(), b"")
        data = mark + data
    atomic_write_bytes(out, data)
    return clamped
