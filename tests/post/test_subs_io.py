"""Reading and writing subtitle files: encodings, formats, timing-only rewrites, times before zero."""

from __future__ import annotations

import codecs
import itertools
import re
import warnings
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from reelkit.errors import DataFormatError
from reelkit.post.subs import load_subtitles, write_subtitles
from reelkit.post.subs.io import decode_text, plain_text

SRT = """1
00:00:01,000 --> 00:00:02,500
<i>Café</i> déjà vu — “quoted”

2
00:00:03,000 --> 00:00:04,000
Naïve façade
second line
"""

VTT = """WEBVTT
Kind: captions

NOTE this note stays

STYLE
::cue { color: yellow }

intro
00:01.000 --> 00:02.500 align:start position:10%
<v Roger>Hello there</v>

00:00:03.000 --> 00:00:04.000
Second cue
"""

ASS = """[Script Info]
Title: test
ScriptType: v4.00+

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, Bold, Italic, Alignment
Style: Default,Arial,20,&H00FFFFFF,0,0,2
Style: Sign,Georgia,30,&H0000FFFF,1,0,8

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:05.00,0:00:06.50,Sign,,0,0,0,,{\\an8\\b1}SIGN, with commas
Comment: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,a comment
Dialogue: 0,0:00:01.00,0:00:02.00,Default,Bob,0,0,0,,Hello\\Nworld
"""

TTML = """<?xml version="1.0" encoding="utf-8"?>
<tt xmlns="http://www.w3.org/ns/ttml" xmlns:tts="http://www.w3.org/ns/ttml#styling" xml:lang="en">
<head><styling><style xml:id="s1" tts:color="yellow"/></styling></head><body><div>
<p begin="00:00:01.000" end="00:00:02.500" style="s1">Hello<br/>world</p>
<p begin="3.5s" end="4000ms">Two</p>
</div></body></tt>
"""


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [
        ("utf-8", b""),
        ("utf-8", codecs.BOM_UTF8),
        ("utf-16-le", codecs.BOM_UTF16_LE),
        ("utf-16-be", codecs.BOM_UTF16_BE),
        ("utf-16-le", b""),
        ("cp1252", b""),
    ],
)
def test_encodings_detected_and_round_trip(tmp_path: Path, encoding: str, prefix: bytes) -> None:
    path = tmp_path / "in.srt"
    path.write_bytes(prefix + SRT.replace("\n", "\r\n").encode(encoding))
    sub = load_subtitles(path)
    assert sub.encoding == encoding
    assert sub.bom == bool(prefix)
    assert [c.text for c in sub.cues] == ["Café déjà vu — “quoted”", "Naïve façade\nsecond line"]
    # unchanged times: the bytes come back identical (encoding, BOM and CRLF kept)
    out = tmp_path / "out.srt"
    write_subtitles(sub, out)
    assert out.read_bytes() == path.read_bytes()


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_plain_ascii_utf16_without_a_byte_order_mark_is_read(tmp_path: Path, encoding: str) -> None:
    # every other byte NUL: valid UTF-8 too, which read it as text with NULs and found no cues
    path = tmp_path / "in.srt"
    path.write_bytes("1\r\n00:00:01,000 --> 00:00:02,000\r\nHello\r\n".encode(encoding))
    sub = load_subtitles(path)
    assert sub.encoding == encoding and not sub.bom
    assert [(c.start_s, c.end_s, c.text) for c in sub.cues] == [(1.0, 2.0, "Hello")]


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_mark_whose_text_is_mostly_cyrillic_is_read(encoding: str) -> None:
    """A NUL in 57% of the high bytes (ASCII times, Cyrillic text): the share is of that half's bytes, not
    of the whole file's (28%, under the 30% that tells UTF-16 apart)."""
    text = "1\n00:00:01,000 --> 00:00:02,000\nПривет, как дела? Всё хорошо, спасибо, а у тебя?\n"
    assert decode_text(text.encode(encoding)) == (text, encoding, False)


def test_nul_bytes_in_both_halves_are_binary_not_utf16() -> None:
    """NUL in every odd byte and a quarter of the even ones (0xFF 00 00 00 41 00 42 00 ...) is no UTF-16
    text (too many even NULs) nor UTF-8 (0xFF): refused as binary data."""
    with pytest.raises(DataFormatError, match="binary data"):
        decode_text(bytes([0xFF, 0, 0, 0, 0x41, 0, 0x42, 0]) * 50)


def test_an_encoding_given_that_reads_a_mark_leaves_it_out_of_the_text() -> None:
    """utf-16 given, a big-endian mark: the text is read without the mark, as utf-16-be with a mark."""
    data = codecs.BOM_UTF16_BE + "1\n".encode("utf-16-be")
    assert decode_text(data, encoding="utf-16") == ("1\n", "utf-16-be", True)


_CUE = "1\n00:00:01,000 --> 00:00:02,000\n{}\n\n"


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (_CUE.format("It’s fine"), "cp1252"),  # one curly quote: charset-normalizer said big5hkscs
        (_CUE.format("Ça va? Très bien."), "cp1252"),  # it said big5
        ("".join(_CUE.format(f"Line {i}{' it’s' * (i == 5)}.") for i in range(22)), "cp1252"),  # cp775
        (_CUE.format("Über die Straße gehen wir schön."), "cp1252"),
        # charset-normalizer's language score named cp1250 for these Italian lines and cp775 for the German
        (
            "".join(
                _CUE.format(t)
                for t in (
                    "Perché non sei venuto?",
                    "Non lo so, è complicato.",
                    "Però domani sarò lì.",
                    "Così va bene.",
                )
            ),
            "cp1252",
        ),
        (
            "".join(
                _CUE.format(t)
                for t in ("Wo ist der Schlüssel?", "Wir müssen über die Brücke gehen.", "Nein, danke.")
            ),
            "cp1252",
        ),
        (_CUE.format("Schöne Grüße aus München."), "cp1252"),  # mac_iceland
        # ° is a symbol next to a letter in cp1250 too: no fewer there, so cp1252 stays
        (_CUE.format("Il fait 25°C à la plage, déjà."), "cp1252"),
        # charset-normalizer's best guess, cp437, reads it cleaner (0.0) than cp1252 (0.04), within the slack
        (_CUE.format("™ ® © all reserved"), "cp1252"),
        # all capitals: charset-normalizer named cp932, half-width katakana without a CJK letter ("ﾉTﾉ ﾀ")
        ("".join(_CUE.format(t) for t in ("ÉTÉ À PARIS", "ÇA VA?", "OÙ ES-TU?")), "cp1252"),
        # ... while Japanese in half-width katakana, no kana beside a Latin letter, stays cp932
        ("".join(_CUE.format(t) for t in ("ﾔｱ､ｹﾞﾝｷ?", "ｳﾝ｡ｵﾏｴﾊ?", "ﾏｱﾏｱﾀﾞﾖ｡ｱｼﾀ ﾄｳｷｮｳﾆ ｲｸﾖ｡")), "cp932"),
        ("".join(_CUE.format(t) for t in ("Il était là hier soir.", "Déjà ?", "Pourquoi pas ?")), "cp1252"),
        (_CUE.format("Zażółć gęślą jaźń. Dzień dobry, proszę pana."), "cp1250"),  # was read as cp1252
        # both readings "clean" to charset-normalizer; cp1252 puts symbols in the words (¯ó³w)
        (
            "".join(_CUE.format(t) for t in ("Żółw idzie powoli.", "Dziękuję bardzo.", "Dobry wieczór.")),
            "cp1250",
        ),
        (_CUE.format("Příliš žluťoučký kůň úpěl ďábelské ódy."), "cp1250"),
        (_CUE.format("Привет, как дела? Всё хорошо, спасибо."), "cp1251"),
        (_CUE.format("Καλημέρα, τι κάνεις σήμερα;"), "cp1253"),
        # three short Greek cues read as mac_greek ("Οεια σοθ"): the Windows page of the script wins
        (
            "".join(
                _CUE.format(t)
                for t in ("Γεια σου, τι κάνεις;", "Δεν ξέρω τι να πω.", "Πού ήσουν χθες το βράδυ;")
            ),
            "cp1253",
        ),
        (_CUE.format("你好，你今天怎么样？天气很好。"), "gb18030"),
        # kanji and kana in one word are one script: two cues were read as Korean, four as Cyrillic
        ("".join(_CUE.format(t) for t in ("今日は寒いですね。", "駅まで歩きます。")), "cp932"),
        (
            "".join(_CUE.format(t) for t in ("先生に聞いてください。", "家族と一緒に住んでいます。") * 2),
            "cp932",
        ),
        (_CUE.format("안녕하세요, 잘 지내세요? 정말 감사합니다."), "cp949"),
        # short Russian: chardet named Mac Cyrillic ("я не знаю"); the Windows page of the script wins a tie
        ("".join(_CUE.format(t) for t in ("Я не знаю, что случилось.", "Привет, как дела?")), "cp1251"),
        # charset-normalizer named Baltic cp1257 ("Ēa alors ! Tu es déją lą ?"): é and ą in one word
        (
            "".join(_CUE.format(t) for t in ("Ça alors ! Tu es déjà là ?", "Où est la gare ? Très bien.")),
            "cp1252",
        ),
        # the Baltic, Turkish and Hungarian pages were read as cp1252 ("Àþuolas", "Teþekkür") or cp775
        (_CUE.format("Labas, kaip sekasi? Ąžuolas žydi. Ačiū, viskas gerai."), "cp1257"),
        (_CUE.format("Tänan, kõik on hästi. Tere, kuidas läheb? Šokolaad."), "cp1257"),
        (_CUE.format("Teşekkür ederim, çok güzel. Günaydın, nasılsın?"), "cp1254"),
        (_CUE.format("Árvíztűrő tükörfúrógép. Köszönöm, nagyon jó."), "cp1250"),
        (_CUE.format("Nu ştiu ce s-a întâmplat. Bună ziua, ce mai faci?"), "cp1250"),
        # Thai letters counted as misspelt Latin ones, so the file read as Japanese cp932 (a review's 30 cues)
        ("".join(_CUE.format(t) for t in ("สวัสดีครับ สบายดีไหม", "ขอบคุณมาก ทุกอย่างเรียบร้อยดี") * 15), "cp874"),
        (_CUE.format("ฉันไม่รู้ว่าเกิดอะไรขึ้น"), "cp874"),
        # read as EBCDIC ("uY}": chardet's cp037) and as Urdu cp1006's presentation forms
        (_CUE.format("ค่ะ"), "cp874"),
        (_CUE.format("๑๒๓ บาท"), "cp874"),
    ],
)
def test_eight_bit_encodings_are_told_apart(text: str, encoding: str) -> None:
    """cp1252 is taken when it reads the file as well as the best guess, and only then."""
    decoded, found, bom = decode_text(text.encode(encoding))
    assert (decoded, found, bom) == (text, encoding, False)


def test_utf8_with_a_few_bytes_of_another_encoding_is_refused_naming_the_line(tmp_path: Path) -> None:
    """One line pasted from a cp1252 file into a UTF-8 one: no code page reads it, and the guess (cp932)
    turned every cue into mojibake ("dﾃｩjﾃ"); it is refused, naming the line of the first stray byte."""
    cues = "".join(_CUE.format("C'est déjà l'été, où êtes-vous ? Très bien.") for _ in range(5))
    data = bytearray(cues.encode("utf-8"))
    at = data.index("Très".encode(), 200)  # in the fourth cue
    data[at : at + 5] = "Très".encode("cp1252")
    path = tmp_path / "mixed.srt"
    path.write_bytes(bytes(data))
    line = data[:at].count(b"\n") + 1
    with pytest.raises(DataFormatError) as err:
        load_subtitles(path)
    assert str(err.value) == (
        f"{path}: line {line}: byte 0xE8 is not UTF-8, though the rest of the file is: it mixes two "
        "encodings (1 byte of another); re-save that line as UTF-8"
    )
    # a cp1252 file whose accents happen to pair into a UTF-8 character ("Ã©") is still read as cp1252
    text = _CUE.format("Voilà, c'est l'été à Paris: Ã© est rare.")
    assert decode_text(text.encode("cp1252")) == (text, "cp1252", False)


def test_unknown_encoding_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "binary.srt"
    path.write_bytes(bytes(range(1, 256)) * 8)
    with pytest.raises(DataFormatError, match="encoding"):
        load_subtitles(path)
    path.write_bytes(b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00" + bytes(range(256)) * 8)
    with pytest.raises(DataFormatError, match=r"binary\.srt: holds binary data, not subtitle text"):
        load_subtitles(path)
    import soundfile as sf

    quiet = tmp_path / "quiet.wav"  # its samples' high bytes are 0x00 or 0xFF: it passed for UTF-16 text
    sf.write(
        quiet, (np.random.default_rng(0).standard_normal(4800) * 0.002).astype(np.float32), 48000, "PCM_16"
    )
    with pytest.raises(DataFormatError, match=r"quiet\.wav: holds binary data, not subtitle text"):
        load_subtitles(quiet)
    with pytest.raises(DataFormatError, match="cannot decode as ascii"):
        decode_text("é".encode(), encoding="ascii")


def test_missing_file_and_not_subtitles(tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="no such file"):
        load_subtitles(tmp_path / "nope.srt")
    bad = tmp_path / "bad.srt"
    bad.write_text("just some text\nwithout any timing\n")
    with pytest.raises(DataFormatError):
        load_subtitles(bad)


def test_srt_retime_changes_only_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "a.srt"
    path.write_text(SRT, encoding="utf-8")
    sub = load_subtitles(path)
    moved = sub.retimed(lambda t: t + 61.25)
    out = tmp_path / "b.srt"
    assert write_subtitles(moved, out) == []
    text = out.read_text(encoding="utf-8")
    assert "00:01:02,250 --> 00:01:03,750" in text
    assert "00:01:04,250 --> 00:01:05,250" in text
    assert (
        text.replace("00:01:02,250 --> 00:01:03,750", "00:00:01,000 --> 00:00:02,500").replace(
            "00:01:04,250 --> 00:01:05,250", "00:00:03,000 --> 00:00:04,000"
        )
        == SRT
    )
    again = load_subtitles(out)
    assert [c.start_s for c in again.cues] == pytest.approx([62.25, 64.25])


def test_vtt_keeps_blocks_settings_and_short_timestamps(tmp_path: Path) -> None:
    path = tmp_path / "a.vtt"
    path.write_text(VTT, encoding="utf-8")
    sub = load_subtitles(path)
    assert sub.format == "vtt"
    assert [c.text for c in sub.cues] == ["Hello there", "Second cue"]
    assert [c.start_s for c in sub.cues] == [1.0, 3.0]
    out = tmp_path / "b.vtt"
    write_subtitles(sub.retimed(lambda t: t + 0.5), out)
    text = out.read_text(encoding="utf-8")
    assert "00:01.500 --> 00:03.000 align:start position:10%" in text
    assert "00:00:03.500 --> 00:00:04.500" in text
    assert "NOTE this note stays" in text and "::cue { color: yellow }" in text and "intro\n" in text


def test_vtt_short_timestamps_gain_hours_past_the_hour() -> None:
    """A WebVTT cue written MM:SS.mmm keeps that form under an hour, but one moved past the hour needs the
    hours (01:00:01.000; MM:SS alone would say 00:01)."""
    from reelkit.post.subs.io import from_string

    sub = from_string("WEBVTT\n\n00:01.000 --> 00:02.500\nhello\n", format="vtt")
    assert "01:00:01.000 --> 01:00:02.500" in sub.retimed(lambda t: t + 3600.0).to_string()[0]
    assert "\n01:01.000 --> 01:02.500\n" in sub.retimed(lambda t: t + 60.0).to_string()[0]


def test_ass_keeps_styles_comments_and_order(tmp_path: Path) -> None:
    path = tmp_path / "a.ass"
    path.write_text(ASS, encoding="utf-8")
    sub = load_subtitles(path)
    assert sub.format == "ass"
    # file order is kept (the sign comes first), comments are not cues
    assert [c.text for c in sub.cues] == ["SIGN, with commas", "Hello\nworld"]
    assert [c.start_s for c in sub.cues] == [5.0, 1.0]
    out = tmp_path / "b.ass"
    write_subtitles(sub.retimed(lambda t: 2 * t), out)
    text = out.read_text(encoding="utf-8")
    assert "Dialogue: 0,0:00:10.00,0:00:13.00,Sign,,0,0,0,,{\\an8\\b1}SIGN, with commas" in text
    assert "Dialogue: 0,0:00:02.00,0:00:04.00,Default,Bob,0,0,0,,Hello\\Nworld" in text
    # a comment is not a cue but moves with the cues around it (here the map t -> 2t, read from them)
    assert "Comment: 0,0:00:02.00,0:00:04.00,Default,,0,0,0,,a comment" in text
    assert "Style: Sign,Georgia,30" in text
    # a shift moves it by the same shift; a sync that changes nothing writes the comment as it was
    write_subtitles(sub.retimed(lambda t: t + 0.5), out)
    assert "Comment: 0,0:00:01.50,0:00:02.50" in out.read_text(encoding="utf-8")
    write_subtitles(sub, out)
    assert out.read_text(encoding="utf-8") == ASS


def test_ass_comments_outside_the_cues_take_the_nearest_cue_shift(tmp_path: Path) -> None:
    head = ASS.split("[Events]")[0]
    fmt = "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    events = (
        "Comment: 0,0:00:05.00,0:00:06.00,Default,,0,0,0,,before\n"
        "Dialogue: 0,0:00:10.00,0:00:11.00,Default,,0,0,0,,one\n"
        "Dialogue: 0,0:00:20.00,0:00:21.00,Default,,0,0,0,,two\n"
        "Dialogue: 0,0:00:30.00,0:00:31.00,Default,,0,0,0,,three\n"
        "Comment: 0,0:00:40.00,0:00:41.00,Default,,0,0,0,,after\n"
    )
    path = tmp_path / "c.ass"
    path.write_text(head + "[Events]\n" + fmt + events, encoding="utf-8")
    sub = load_subtitles(path)
    # a split between the first cue (+1 s) and the rest (+31 s): extrapolating the first two cues' slope
    # would throw the first comment to -69 s
    out = tmp_path / "d.ass"
    write_subtitles(sub.with_times([(11.0, 12.0), (51.0, 52.0), (61.0, 62.0)]), out)
    text = out.read_text(encoding="utf-8")
    assert "Comment: 0,0:00:06.00,0:00:07.00,Default,,0,0,0,,before" in text
    assert "Comment: 0,0:01:11.00,0:01:12.00,Default,,0,0,0,,after" in text


def test_ass_comments_at_a_cue_start_move_with_the_first_cue_starting_there(tmp_path: Path) -> None:
    """Cues at 10 s (moved to 11 s and 13 s) and 20 s (to 21 s): a comment at 15 s maps between the first
    10 s cue's 11 s and 21 s, to 16 s; one at the last cue's 20 s start moves with it, to 21 s."""
    head = ASS.split("[Events]")[0]
    fmt = "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
    events = (
        "Dialogue: 0,0:00:10.00,0:00:11.00,Default,,0,0,0,,one\n"
        "Dialogue: 0,0:00:10.00,0:00:11.00,Default,,0,0,0,,also\n"
        "Comment: 0,0:00:15.00,0:00:16.00,Default,,0,0,0,,middle\n"
        "Dialogue: 0,0:00:20.00,0:00:21.00,Default,,0,0,0,,two\n"
        "Comment: 0,0:00:20.00,0:00:21.00,Default,,0,0,0,,last\n"
    )
    path = tmp_path / "c.ass"
    path.write_text(head + "[Events]\n" + fmt + events, encoding="utf-8")
    out = tmp_path / "d.ass"
    write_subtitles(load_subtitles(path).with_times([(11.0, 12.0), (13.0, 14.0), (21.0, 22.0)]), out)
    text = out.read_text(encoding="utf-8")
    assert "Comment: 0,0:00:16.00,0:00:17.00,Default,,0,0,0,,middle" in text
    assert "Comment: 0,0:00:21.00,0:00:22.00,Default,,0,0,0,,last" in text


def test_ssa_v4_is_read_as_ssa() -> None:
    """ScriptType v4.00 (not v4.00+) is SSA, and stays SSA (written .ssa)."""
    from reelkit.post.subs.io import from_string

    sub = from_string(
        "[Script Info]\nScriptType: v4.00\n\n[Events]\n"
        "Format: Marked, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
        "Dialogue: Marked=0,0:00:01.00,0:00:02.00,Default,,0,0,0,,Hi\n"
    )
    assert sub.format == "ssa" and [(c.start_s, c.text) for c in sub.cues] == [(1.0, "Hi")]


def test_ass_times_are_rounded_to_the_centisecond() -> None:
    """ASS writes centiseconds: 1.007 s is 0:00:01.01 (not cut to 1.00), and 3600.996 s rounds into the
    next second and the hour, 1:00:01.00."""
    from reelkit.post.subs.io import from_string

    sub = from_string(ASS, format="ass")
    assert "Dialogue: 0,0:00:05.01,0:00:06.51,Sign" in sub.retimed(lambda t: t + 0.007).to_string()[0]
    late = sub.retimed(lambda t: t + 3595.996).to_string()[0]
    assert "Dialogue: 0,1:00:01.00,1:00:02.50,Sign" in late


def test_srt_and_vtt_times_are_rounded_to_the_millisecond() -> None:
    """3.3 s moved by 0.3 s is 3599.9999... ms in floating point: written 3.600 (not cut to 3.599)."""
    from reelkit.post.subs.io import from_string

    srt = from_string("1\n00:00:03,300 --> 00:00:04,000\nHello\n")
    assert "00:00:03,600 --> 00:00:04,300" in srt.retimed(lambda t: t + 0.3).to_string()[0]
    vtt = from_string("WEBVTT\n\n00:03.300 --> 00:04.000\nHello\n")
    assert "00:03.600 --> 00:04.300" in vtt.retimed(lambda t: t + 0.3).to_string()[0]


def test_srt_written_with_full_stops_keeps_them() -> None:
    """An SRT whose times use '.' before the milliseconds (players read it) is written back with '.'."""
    from reelkit.post.subs.io import from_string

    sub = from_string("1\n00:00:01.000 --> 00:00:02.000\nHello\n")
    assert sub.format == "srt"
    assert "00:00:02.000 --> 00:00:03.000" in sub.retimed(lambda t: t + 1).to_string()[0]


def test_with_times_for_another_number_of_cues_is_a_config_error() -> None:
    """One (start, end) pair for two cues is a ConfigError naming both counts, not a bare ValueError."""
    from reelkit.errors import ConfigError
    from reelkit.post.subs.io import from_string

    sub = from_string(SRT)
    with pytest.raises(ConfigError, match=r"1 \(start, end\) pairs for 2 cues"):
        sub.with_times([(1.0, 2.0)])


def test_ttml_read_and_write(tmp_path: Path) -> None:
    path = tmp_path / "a.ttml"
    path.write_text(TTML, encoding="utf-8")
    sub = load_subtitles(path)
    assert sub.format == "ttml"
    assert [(c.start_s, c.end_s, c.text) for c in sub.cues] == [(1.0, 2.5, "Hello\nworld"), (3.5, 4.0, "Two")]
    out = tmp_path / "b.ttml"
    write_subtitles(sub.retimed(lambda t: t + 1), out)
    assert [c.start_s for c in load_subtitles(out).cues] == [2.0, 4.5]
    # only the times changed, each in its own notation; the styling is kept
    text = out.read_text(encoding="utf-8")
    assert '<p begin="00:00:02.000" end="00:00:03.500" style="s1">' in text
    assert '<p begin="4.5s" end="5000ms">' in text and 'tts:color="yellow"' in text


def test_times_before_zero_are_kept_and_reported(tmp_path: Path) -> None:
    path = tmp_path / "neg.srt"
    path.write_text("1\n-00:00:01,500 --> 00:00:00,500\nEarly\n\n2\n00:00:02,000 --> 00:00:03,000\nLate\n")
    sub = load_subtitles(path)
    assert sub.cues[0].start_s == -1.5  # pysubs2 alone would lose the sign
    assert sub.notes and "before zero" in sub.notes[0]
    shifted = sub.retimed(lambda t: t - 2.5)
    out = tmp_path / "out.srt"
    clamped = write_subtitles(shifted, out)
    # both cues now have times before zero: neither dropped, both reported
    assert [c.index for c in clamped] == [0, 1]
    assert len(load_subtitles(out).cues) == 2


def test_a_cue_that_only_ends_before_zero_is_reported_as_clamped() -> None:
    """A cue of 1 s to -0.5 s (a typo) is noted when read, and written ending at 0: it is listed among the
    clamped cues, not changed without a word."""
    from reelkit.post.subs.io import from_string

    sub = from_string("1\n00:00:01,000 --> -00:00:00,500\nTypo\n\n2\n00:00:02,000 --> 00:00:03,000\nOK\n")
    assert sub.notes == ["cue 1 (00:00:01,000 --> -00:00:00,500) has a time before zero"]
    text, clamped = sub.to_string()
    assert "00:00:01,000 --> 00:00:00,000" in text
    assert [c.index for c in clamped] == [0]
    ass = from_string(ASS.replace("0:00:05.00,0:00:06.50", "0:00:05.00,-0:00:00.50"))
    assert ass.notes == ["event 1 has a time before zero"]


def test_plain_text_strips_markup() -> None:
    assert plain_text("{\\an8}<i>Hi</i>\\Nthere &amp; you") == "Hi\nthere & you"
    assert plain_text("It&#39;s &#x202B;R&amp;D&#x202C;&nbsp;time\u200f &lt;3") == "It's R&D time <3"
    assert plain_text("AT&T; Tom & Jerry") == "AT&T; Tom & Jerry"  # no reference there: kept as written


def test_plain_text_strips_only_real_markup_and_ass_shows_html_as_written() -> None:
    """'I <3 you, x > y' became 'I  y'; ASS lost '<than>' and showed '&amp;' as '&', which libass does not."""
    assert plain_text("I <3 you, x > y") == "I <3 you, x > y"
    assert plain_text('<I>Hi</I> <font color="red">there</font><br/>') == "Hi there"
    vtt = "<c.yellow>Hi</c> <v Bob>there</v> <lang en>now</lang> <00:00:01.500>then &lt;3"
    assert plain_text(vtt, "vtt") == "Hi there now then <3"
    assert plain_text("{\\i1}Less <than>{\\i0} greater &amp;", "ass") == "Less <than> greater &amp;"
    sub = _ass("Less <than> greater &amp;")
    assert sub.cues[0].text == "Less <than> greater &amp;"


def test_ass_soft_line_break_is_a_space_unless_wrap_style_2() -> None:
    """libass shows \\n as a space under WrapStyle 0, 1 and 3 (the default 0 too); \\N always breaks."""
    assert _ass("one\\ntwo\\Nthree").cues[0].text == "one two\nthree"
    assert _ass("one\\ntwo", "WrapStyle: 1\n").cues[0].text == "one two"
    assert _ass("one\\ntwo", "WrapStyle: 2\n").cues[0].text == "one\ntwo"
    assert _ass("one\\ntwo", "WrapStyle: 3\n").cues[0].text == "one two"  # only 2 makes \n a break
    assert _ass("{\\q2}one\\ntwo").cues[0].text == "one\ntwo"  # the event's own wrap style
    # ... from where it stands, as libass renders it: a \q after a \n does not change that \n
    assert _ass("{\\q2}one\\ntwo{\\q0}").cues[0].text == "one\ntwo"
    assert _ass("one\\ntwo {\\q2}three\\nfour").cues[0].text == "one two three\nfour"
    assert plain_text("one\\ntwo") == "one\ntwo"  # SRT: a line break, as before


def _ass(text: str, info: str = "") -> Any:
    """An ASS file of one Dialogue event of ``text`` (``info``: more [Script Info] lines)."""
    from reelkit.post.subs.io import from_string

    return from_string(
        f"[Script Info]\nScriptType: v4.00+\n{info}\n[Events]\n"
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
        f"Dialogue: 0,0:00:01.00,0:00:03.00,Default,,0,0,0,,{text}\n"
    )


# a pretty-printed DFXP as delivered: tick times, <p> tags wrapped over lines, regions, spans, languages
DFXP_TICKS = """<?xml version="1.0" encoding="UTF-8"?>
<tt xmlns="http://www.w3.org/ns/ttml" xmlns:ttp="http://www.w3.org/ns/ttml#parameter"
    xmlns:tts="http://www.w3.org/ns/ttml#styling" ttp:tickRate="10000000" xml:lang="en">
  <head>
    <styling><style xml:id="s1" tts:color="yellow"/></styling>
    <layout><region xml:id="bottom" tts:origin="10% 80%"/></layout>
  </head>
  <body region="bottom">
    <div>
      <!-- <p begin="1t" end="2t">a commented-out cue</p> -->
      <p xml:id="c1"
         begin="10000000t"
         end="25000000t" style="s1">Hello <span tts:fontStyle="italic">there</span><br/>world</p>
      <p xml:id="c2" begin="30000000t" dur="10000000t">Two</p>
    </div>
  </body>
</tt>
"""


def test_dfxp_with_ticks_and_wrapped_tags_is_retimed_in_place(tmp_path: Path) -> None:
    path = tmp_path / "a.dfxp"
    path.write_text(DFXP_TICKS, encoding="utf-8")
    sub = load_subtitles(path)
    assert sub.format == "ttml"
    assert [(c.start_s, c.end_s, c.text) for c in sub.cues] == [
        (1.0, 2.5, "Hello there\nworld"),
        (3.0, 4.0, "Two"),
    ]
    out = tmp_path / "b.dfxp"
    write_subtitles(sub.retimed(lambda t: 2 * t + 0.5), out)
    # only the four time values changed, each in ticks; dur is the new length
    expected = (
        DFXP_TICKS.replace('"10000000t"', '"25000000t"', 1)
        .replace('end="25000000t"', 'end="55000000t"')
        .replace('begin="30000000t" dur="10000000t"', 'begin="65000000t" dur="20000000t"')
    )
    assert out.read_text(encoding="utf-8") == expected
    assert [(c.start_s, c.end_s) for c in load_subtitles(out).cues] == [(2.5, 5.5), (6.5, 8.5)]


def test_ttml_frame_times_and_nested_begins(tmp_path: Path) -> None:
    doc = """<tt xmlns="http://www.w3.org/ns/ttml" xmlns:ttp="http://www.w3.org/ns/ttml#parameter"
ttp:frameRate="30" ttp:frameRateMultiplier="1000 1001"><body><div begin="10s">
<p begin="00:00:01:15" end="00:00:02:00">One</p><p begin="60f" end="90f">Two</p></div></body></tt>"""
    path = tmp_path / "f.ttml"
    path.write_text(doc, encoding="utf-8")
    sub = load_subtitles(path)
    fps = 30000 / 1001
    # times count from the div's begin; frames at 29.97
    assert [c.start_s for c in sub.cues] == pytest.approx([10 + 1 + 15 / fps, 10 + 60 / fps])
    assert [c.end_s for c in sub.cues] == pytest.approx([10 + 2, 10 + 90 / fps])
    out = tmp_path / "g.ttml"
    write_subtitles(sub.retimed(lambda t: t + 1.0), out)  # one second: 29.97 frames
    text = out.read_text(encoding="utf-8")
    assert '<p begin="00:00:02:15" end="00:00:03:00">One</p><p begin="90f" end="120f">Two</p>' in text
    assert '<div begin="10s">' in text


def test_ttml_frame_and_tick_offsets_are_written_at_the_effective_rate_and_rounded(tmp_path: Path) -> None:
    """At 30 x 1000/1001 fps, 300f moved by 100.1 s (3000 frames of 1/29.97 s) is 3300f (3303f at the
    nominal 30); at 10 MHz ticks, 1.001 s (10009999.99... in floating point) is 10010000t."""
    frames = _ttml(
        tmp_path,
        '<div><p begin="300f" end="330f">F</p></div>',
        'ttp:frameRate="30" ttp:frameRateMultiplier="1000 1001"',
    )
    out = tmp_path / "f.ttml"
    write_subtitles(load_subtitles(frames).retimed(lambda t: t + 100.1), out)
    assert '<p begin="3300f" end="3330f">' in out.read_text(encoding="utf-8")
    ticks = _ttml(
        tmp_path, '<div><p begin="10000000t" end="20000000t">T</p></div>', 'ttp:tickRate="10000000"'
    )
    write_subtitles(load_subtitles(ticks).with_times([(1.001, 2.003)]), out)
    assert '<p begin="10010000t" end="20030000t">' in out.read_text(encoding="utf-8")


def test_ttml_default_tick_rate_is_the_effective_frame_rate(tmp_path: Path) -> None:
    """No ttp:tickRate at 30 x 1000/1001 fps: a tick is 1/29.97 s (it was 1/30: 3 s early at 50 min)."""
    doc = """<tt xmlns="http://www.w3.org/ns/ttml" xmlns:ttp="http://www.w3.org/ns/ttml#parameter"
ttp:frameRate="30" ttp:frameRateMultiplier="1000 1001"><body><div>
<p begin="90000t" end="90030t">Ticks</p></div></body></tt>"""
    path = tmp_path / "t.ttml"
    path.write_text(doc, encoding="utf-8")
    sub = load_subtitles(path)
    assert [(c.start_s, c.end_s) for c in sub.cues] == [(pytest.approx(3003.0), pytest.approx(3004.001))]
    out = tmp_path / "u.ttml"
    write_subtitles(sub.retimed(lambda t: t + 1.001), out)  # 30 ticks of 1/29.97 s
    assert '<p begin="90030t" end="90060t">' in out.read_text(encoding="utf-8")


def test_ttml_whose_cues_take_their_times_from_a_div_is_read_but_not_written(tmp_path: Path) -> None:
    doc = """<tt xmlns="http://www.w3.org/ns/ttml"><body><div begin="1s" end="3s"><p>Shared</p></div>
<div begin="4s" end="5s"><p>Times</p></div></body></tt>"""
    path = tmp_path / "d.ttml"
    path.write_text(doc, encoding="utf-8")
    sub = load_subtitles(path)
    assert [(c.start_s, c.end_s, c.text) for c in sub.cues] == [(1.0, 3.0, "Shared"), (4.0, 5.0, "Times")]
    with pytest.raises(DataFormatError, match=r"d\.ttml: can be read but not re-timed in place"):
        write_subtitles(sub.retimed(lambda t: t + 1), tmp_path / "e.ttml")
    assert not (tmp_path / "e.ttml").exists()


def test_sami_is_read_but_refused_for_writing_before_any_work(tmp_path: Path) -> None:
    from reelkit.post.subs.io import check_writable

    path = tmp_path / "a.smi"
    path.write_text(
        "<SAMI><BODY><SYNC Start=1000><P Class=ENCC>Hello</P><SYNC Start=2500><P Class=ENCC>&nbsp;</P>"
        "</BODY></SAMI>",
        encoding="utf-8",
    )
    sub = load_subtitles(path)
    assert sub.format == "sami" and sub.cues[0].start_s == 1.0
    with pytest.raises(DataFormatError, match=r"SAMI files can be read .* but not written"):
        check_writable(sub)


def test_sami_captions_last_to_the_next_sync_and_clearing_syncs_are_not_cues(tmp_path: Path) -> None:
    """pysubs2 invents SAMI ends (0.5 s + 67 ms a character): 'Yes.' lasted 0.768 s, not to its &nbsp;."""
    path = tmp_path / "cc.smi"
    path.write_text(
        "<SAMI>\n<BODY>\n<SYNC Start=1000><P Class=ENCC>Yes.\n<SYNC Start=5000><P Class=ENCC>&nbsp;\n"
        "<SYNC Start=6000><P Class=ENCC>Then this.\n<SYNC Start=7500><P Class=ENCC>And this.\n"
        "<SYNC Start=9000><P Class=ENCC>&nbsp;\n</BODY>\n</SAMI>\n",
        encoding="utf-8",
    )
    sub = load_subtitles(path)
    assert [(c.start_s, c.end_s, c.text) for c in sub.cues] == [
        (1.0, 5.0, "Yes."),
        (6.0, 7.5, "Then this."),
        (7.5, 9.0, "And this."),
    ]


def test_vtt_inline_timestamps_move_with_their_cue(tmp_path: Path) -> None:
    path = tmp_path / "k.vtt"
    path.write_text("WEBVTT\n\n00:00:02.000 --> 00:00:04.000\nDo <00:00:03.000>you <00:00:03.500>know\n")
    out = tmp_path / "l.vtt"
    write_subtitles(load_subtitles(path).retimed(lambda t: 2 * t - 3.0), out)
    # the cue is now 1-5 s; the inline times keep their place in it (half-way, three quarters)
    assert (
        out.read_text()
        == "WEBVTT\n\n00:00:01.000 --> 00:00:05.000\nDo <00:00:03.000>you <00:00:04.000>know\n"
    )


def test_an_inline_timestamp_of_a_zero_length_cue_stays_at_its_start() -> None:
    """A cue of no length has its inline timestamps at its start: given 2-3 s, they are written at 2 s."""
    from reelkit.post.subs.io import from_string

    sub = from_string("WEBVTT\n\n00:01.000 --> 00:01.000\n<00:01.000>a\n", format="vtt")
    assert "00:02.000 --> 00:03.000\n<00:02.000>a" in sub.with_times([(2.0, 3.0)]).to_string()[0]


def test_colon_millisecond_timestamps_are_read_as_milliseconds(tmp_path: Path) -> None:
    path = tmp_path / "c.srt"
    path.write_text("1\n00:00:01:500 --> 00:00:03:000\nHello\n")
    assert [(c.start_s, c.end_s) for c in load_subtitles(path).cues] == [(1.5, 3.0)]
    # without the hours too: 00:01:500 was read as 1 min 500 s (560 s), its end 00:02:000 as 120 s
    path.write_text("1\n00:01:500 --> 00:02:000\nHello\n")
    sub = load_subtitles(path)
    assert [(c.start_s, c.end_s) for c in sub.cues] == [(1.5, 2.0)]
    write_subtitles(sub.retimed(lambda t: t + 1), tmp_path / "d.srt")
    assert "00:00:02,500 --> 00:00:03,000" in (tmp_path / "d.srt").read_text()


def test_an_output_named_for_another_format_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.srt"
    path.write_text(SRT, encoding="utf-8")
    with pytest.raises(DataFormatError, match=r"out\.vtt: the output is written as the input is, SRT.*\.srt"):
        write_subtitles(load_subtitles(path), tmp_path / "out.vtt")
    write_subtitles(load_subtitles(path), tmp_path / "out.txt")  # an extension that names no format is fine


def test_an_ssa_file_may_be_written_with_an_ass_extension(tmp_path: Path) -> None:
    """SSA and ASS are one family: an SSA file written to out.ass is not refused as another format."""
    from reelkit.post.subs.io import check_writable, from_string

    sub = from_string(
        "[Script Info]\nScriptType: v4.00\n\n[Events]\n"
        "Format: Marked, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
        "Dialogue: Marked=0,0:00:01.00,0:00:02.00,Default,,0,0,0,,Hi\n"
    )
    check_writable(sub, tmp_path / "out.ass")
    with pytest.raises(DataFormatError, match="extension says SRT"):
        check_writable(sub, tmp_path / "out.srt")


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_cr_only_line_endings_are_read_and_kept(tmp_path: Path, fmt: str) -> None:
    text = SRT if fmt == "srt" else "WEBVTT\n\n00:01.000 --> 00:03.000\nHello\n"
    path = tmp_path / f"cr.{fmt}"
    path.write_bytes(text.replace("\n", "\r").encode())
    sub = load_subtitles(path)
    assert sub.cues and sub.cues[0].start_s == 1.0
    out = tmp_path / f"out.{fmt}"
    write_subtitles(sub.retimed(lambda t: t), out)
    assert out.read_bytes() == path.read_bytes()


def test_header_only_webvtt_is_an_empty_file_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "h.vtt"
    path.write_text("WEBVTT\n\nNOTE nothing yet\n")
    assert load_subtitles(path).cues == []
    bad = tmp_path / "bad.vtt"
    bad.write_text("WEBVTT\n\n00:01 --> oops\nText\n")
    with pytest.raises(DataFormatError, match=r"bad\.vtt:3: cannot read the times of '00:01 --> oops'"):
        load_subtitles(bad)


def test_a_vtt_without_the_header_or_timing_lines_is_refused_not_an_empty_file(tmp_path: Path) -> None:
    """'hello world' named .vtt passed as a WebVTT file of no cues (the same text as .srt was refused): only
    a file that starts with the WEBVTT header may hold no cues."""
    path = tmp_path / "g.vtt"
    path.write_text("hello world\nnot a subtitle\n")
    with pytest.raises(DataFormatError) as info:
        load_subtitles(path)
    assert str(info.value) == f"{path}: no VTT cues found (no 'start --> end' timing lines)"
    path.write_text("\ufeffWEBVTT - a title\r\n\r\nNOTE nothing yet\r\n")
    assert load_subtitles(path).cues == []


@pytest.mark.parametrize("end", ["00:00:04,5000", "00:00:xx", "00:00:08,00O", "00:00:04,500-"])
def test_an_end_time_with_stray_characters_is_refused(tmp_path: Path, end: str) -> None:
    """A readable prefix of the end time was taken and the rest written back after re-timing."""
    bad = tmp_path / "bad.srt"
    bad.write_text(f"1\n00:00:01,000 --> 00:00:02,000\nA\n\n2\n00:00:03,000 --> {end}\nB\n")
    times = re.escape(f"'00:00:03,000 --> {end}'")
    with pytest.raises(DataFormatError, match=rf"bad\.srt:6: cannot read the times of {times}"):
        load_subtitles(bad)


@pytest.mark.parametrize("tail", [" X1:10 X2:20", ".", "\u200b", "\ufeff"])
def test_an_end_time_followed_by_settings_or_invisible_characters_is_read(tmp_path: Path, tail: str) -> None:
    """Settings after a space, a stray full stop, a zero-width space or BOM: read, as pysubs2 reads them."""
    path = tmp_path / "ok.srt"
    path.write_text(f"1\n00:00:03,000 --> 00:00:04,500{tail}\nB\n")
    assert [(c.start_s, c.end_s) for c in load_subtitles(path).cues] == [(3.0, 4.5)]


@pytest.mark.parametrize("name", ["utf8", "UTF_8", "utf-8"])
def test_byte_order_mark_kept_whatever_the_encoding_is_called(tmp_path: Path, name: str) -> None:
    path = tmp_path / "bom.srt"
    path.write_bytes(codecs.BOM_UTF8 + SRT.encode())
    out = tmp_path / "out.srt"
    write_subtitles(load_subtitles(path, encoding=name), out)
    assert out.read_bytes().startswith(codecs.BOM_UTF8 + b"1\n")


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("utf-16", codecs.BOM_UTF16_BE + SRT.encode("utf-16-be")),
        ("UTF16", codecs.BOM_UTF16_LE + SRT.encode("utf-16-le")),
        ("utf-16", SRT.encode("utf-16-le")),
        ("utf-32", codecs.BOM_UTF32_BE + SRT.encode("utf-32-be")),
        ("utf-8-sig", SRT.encode()),
        ("utf_8_sig", codecs.BOM_UTF8 + SRT.encode()),
    ],
)
def test_an_encoding_given_keeps_the_bytes_order_and_mark(tmp_path: Path, name: str, data: bytes) -> None:
    """--encoding utf-16 wrote a big-endian file little-endian; utf-8-sig added a mark to a file without."""
    path = tmp_path / "in.srt"
    path.write_bytes(data)
    sub = load_subtitles(path, encoding=name)
    assert [c.text for c in sub.cues] == ["Café déjà vu — “quoted”", "Naïve façade\nsecond line"]
    out = tmp_path / "out.srt"
    write_subtitles(sub, out)
    assert out.read_bytes() == data


def test_mixed_line_endings_are_each_kept(tmp_path: Path) -> None:
    first, rest = SRT.split("\n\n", 1)
    data = (first.replace("\n", "\r\n") + "\r\n\r\n" + rest).encode()
    path = tmp_path / "mixed.srt"
    path.write_bytes(data)
    out = tmp_path / "out.srt"
    write_subtitles(load_subtitles(path).retimed(lambda t: t + 1), out)
    got = out.read_bytes()
    assert got.count(b"\r") == data.count(b"\r") == first.count("\n") + 2
    assert b"00:00:02,000 --> 00:00:03,500\r\n" in got and b"00:00:04,000 --> 00:00:05,000\n" in got


def test_microdvd_keeps_its_tags_and_frame_rate_line(tmp_path: Path) -> None:
    text = "{1}{1}25\n{25}{50}{y:i}Italic line|plain line\n{75}{100}Two\n"
    path = tmp_path / "a.sub"
    path.write_text(text)
    sub = load_subtitles(path)
    assert sub.format == "microdvd" and sub.fps == 25.0
    assert [(c.start_s, c.end_s, c.text) for c in sub.cues] == [
        (1.0, 2.0, "Italic line\nplain line"),
        (3.0, 4.0, "Two"),
    ]
    out = tmp_path / "b.sub"
    write_subtitles(sub.retimed(lambda t: t + 0.4), out)
    # only the frame numbers change: the header and the one-line {y:i} stay (pysubs2 wrote {0}{0}, {Y:i})
    assert out.read_text() == "{1}{1}25\n{35}{60}{y:i}Italic line|plain line\n{85}{110}Two\n"


def test_microdvd_frames_are_rounded_to_the_nearest() -> None:
    """At 25 fps, 1.03 s is frame 25.75: written 26 (not cut to 25), as 2.03 s is frame 51."""
    from reelkit.post.subs.io import from_string

    sub = from_string("{1}{1}25\n{25}{50}one\n", format="microdvd")
    assert "{26}{51}one" in sub.retimed(lambda t: t + 0.03).to_string()[0]


def test_microdvd_frame_rate_line_of_a_high_frame_rate_is_read() -> None:
    """A {1}{1}119.88 first line is the frame rate (frame 240 is 2.002 s), not a cue."""
    from reelkit.post.subs.io import from_string

    sub = from_string("{1}{1}119.88\n{240}{480}one\n", format="microdvd")
    assert sub.fps == 119.88
    assert [(round(c.start_s, 3), round(c.end_s, 3), c.text) for c in sub.cues] == [(2.002, 4.004, "one")]


def test_a_format_pysubs2_writes_anew_warns_when_it_loses_something(tmp_path: Path) -> None:
    """MPL2's "/" italics do not survive pysubs2's writer; pysubs2's own spacing alone is no loss."""
    from reelkit.errors import ReelkitWarning

    styled, plain = tmp_path / "a.mpl", tmp_path / "b.mpl"
    styled.write_text("[10][30]/Turn left\n[40][60]Plain line\n[70][90]Two|lines\n")
    plain.write_text("[10][30]Plain\n[40][60]Other\n")
    with pytest.warns(
        ReelkitWarning, match=r"a\.mpl: MPL2 .* changes 1 of its 3 lines .*'\[10\]\[30\]/Turn left'"
    ):
        write_subtitles(load_subtitles(styled).retimed(lambda t: t + 1), tmp_path / "a2.mpl")
    assert (tmp_path / "a2.mpl").read_text().splitlines()[0] == "[20][40] Turn left"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_subtitles(load_subtitles(plain).retimed(lambda t: t + 1), tmp_path / "b2.mpl")


def test_a_format_pysubs2_writes_gets_times_rounded_to_the_millisecond() -> None:
    """MPL2 (deciseconds) moved by 0.1 s: 0.7 + 0.1 is 0.7999... s in floating point, which is 800 ms
    ([8]); cut to 799 ms, pysubs2's writer made it [7]."""
    from reelkit.post.subs.io import from_string

    sub = from_string("[7][10]one\n")
    assert sub.format == "mpl2"
    assert sub.retimed(lambda t: t + 0.1).to_string()[0].startswith("[8][11]")


def test_a_format_pysubs2_writes_keeps_its_crlf_line_endings() -> None:
    """MPL2 is regenerated by pysubs2 with its own "\\n": a CRLF file is written back with CRLF."""
    from reelkit.post.subs.io import from_string

    sub = from_string("[10][20]Hello\r\n[30][40]World\r\n")
    assert sub.format == "mpl2"
    assert sub.retimed(lambda t: t + 1).to_string()[0] == "[20][30] Hello\r\n[40][50] World\r\n"


def _ttml(tmp_path: Path, body: str, attrs: str = "") -> Path:
    path = tmp_path / "t.ttml"
    path.write_text(
        '<tt xmlns="http://www.w3.org/ns/ttml" xmlns:ttp="http://www.w3.org/ns/ttml#parameter"'
        f" {attrs}><body>{body}</body></tt>",
        encoding="utf-8",
    )
    return path


def test_ttml_cues_timed_on_their_spans_take_the_spans_times(tmp_path: Path) -> None:
    """Span times were never read: both cues 0-60 s (the div's), or 'a <p> at 0.000 s has no end'."""
    two = '<p><span begin="1s" end="2s">A</span></p><p><span begin="3s" end="4s">B</span></p>'
    for body in (f'<div begin="0s" end="60s">{two}</div>', f"<div>{two}</div>"):
        sub = load_subtitles(_ttml(tmp_path, body))
        assert [(c.start_s, c.end_s, c.text) for c in sub.cues] == [(1.0, 2.0, "A"), (3.0, 4.0, "B")]
        with pytest.raises(DataFormatError, match="can be read but not re-timed in place"):
            write_subtitles(sub, tmp_path / "o.ttml")  # the spans' times are not the <p>'s to edit
    # span times count from the <p>'s begin; text outside the timed spans is shown for the whole <p>
    inner = '<span begin="0s" end="1s">A</span> <span begin="2s" dur="1s">B</span>'
    sub = load_subtitles(_ttml(tmp_path, f'<div><p begin="1s" end="5s">{inner}</p></div>'))
    assert [(c.start_s, c.end_s, c.text) for c in sub.cues] == [(1.0, 4.0, "A B")]
    sub = load_subtitles(_ttml(tmp_path, f'<div><p begin="1s" end="5s">X {inner}</p></div>'))
    assert [(c.start_s, c.end_s, c.text) for c in sub.cues] == [(1.0, 5.0, "X A B")]


def test_ttml_timed_spans_out_of_time_order_give_the_earliest_begin_and_latest_end(tmp_path: Path) -> None:
    """Spans written 3-4 s then 1-2 s: the cue is shown 1-4 s (not from the first span's 3 s to the last
    one's 2 s)."""
    body = '<div><p><span begin="3s" end="4s">B</span> <span begin="1s" end="2s">A</span></p></div>'
    assert [(c.start_s, c.end_s) for c in load_subtitles(_ttml(tmp_path, body)).cues] == [(1.0, 4.0)]


def test_a_timed_p_whose_text_is_in_timed_spans_is_not_rewritten(tmp_path: Path) -> None:
    """A <p begin="1s" end="5s"> shown 2-3 s by its one timed span: its begin and end are not the cue's
    times, so writing is refused (rewriting them would move the span too)."""
    path = _ttml(tmp_path, '<div><p begin="1s" end="5s"><span begin="1s" end="2s">A</span></p></div>')
    sub = load_subtitles(path)
    assert [(c.start_s, c.end_s) for c in sub.cues] == [(2.0, 3.0)]
    with pytest.raises(DataFormatError, match="can be read but not re-timed in place"):
        write_subtitles(sub, tmp_path / "o.ttml")


def test_a_ttml_span_that_begins_as_its_p_ends_is_never_shown(tmp_path: Path) -> None:
    """A span beginning at its <p>'s end (4 s after the <p>'s 1 s begin, which ends at 5 s) is not shown,
    so the cue ends with the other span, at 3 s."""
    path = _ttml(
        tmp_path,
        '<div><p begin="1s" end="5s"><span begin="0s" end="2s">shown</span> '
        '<span begin="4s" end="6s">never</span></p></div>',
    )
    assert [(c.start_s, c.end_s) for c in load_subtitles(path).cues] == [(1.0, 3.0)]


def test_ttml_time_that_cannot_be_read_is_named_with_its_line_and_attribute(tmp_path: Path) -> None:
    path = _ttml(tmp_path, '\n<div>\n<p begin="1s" end="4x">A</p>\n<p begin="5s" end="4x">B</p></div>')
    with pytest.raises(DataFormatError, match=r"t\.ttml:3: .*the end of a <p>: '4x' is not a TTML time"):
        load_subtitles(path)
    path = _ttml(tmp_path, '<div><p begin="1s" end="2s"><span begin="1s" dur="1.s">A</span></p></div>')
    with pytest.raises(DataFormatError, match=r"t\.ttml:1: .*the dur of a <span>: '1\.s' is not"):
        load_subtitles(path)


def test_ttml_end_and_dur_together_take_the_earlier(tmp_path: Path) -> None:
    path = _ttml(tmp_path, '<div><p begin="1s" end="5s" dur="2s">Both</p></div>')
    sub = load_subtitles(path)
    assert [(c.start_s, c.end_s) for c in sub.cues] == [(1.0, 3.0)]  # read as 1-5 s before
    out = tmp_path / "o.ttml"
    write_subtitles(sub, out)  # unchanged times: dur stays 2 s (it was rewritten as 4 s)
    assert '<p begin="1s" end="3s" dur="2s">' in out.read_text()


def test_ttml_cues_cannot_leave_the_timed_div_that_holds_them(tmp_path: Path) -> None:
    path = _ttml(tmp_path, '<div begin="10s" end="20s"><p begin="1s" end="3s">In</p></div>')
    sub = load_subtitles(path)
    assert [(c.start_s, c.end_s) for c in sub.cues] == [(11.0, 13.0)]
    write_subtitles(sub.retimed(lambda t: t + 2), tmp_path / "ok.ttml")  # inside the div: written relative
    assert '<p begin="3s" end="5s">' in (tmp_path / "ok.ttml").read_text()
    for shift in (-5.0, +8.0):  # before the div's begin (was written 0s-0s), past its end (was never shown)
        with pytest.raises(DataFormatError, match=r"cue 1 would move to .* outside the timed element"):
            write_subtitles(sub.retimed(lambda t, d=shift: t + d), tmp_path / "bad.ttml")
    assert not (tmp_path / "bad.ttml").exists()
    # a <p> that starts after its parent ends is never shown: not a cue; one whose own times are backwards
    # stays a cue, for the check to name
    backwards = _ttml(tmp_path, '<div><p begin="3s" end="1s">Backwards</p></div>')
    assert [(c.start_s, c.end_s) for c in load_subtitles(backwards).cues] == [(3.0, 1.0)]
    late = _ttml(
        tmp_path, '<div end="5s"><p begin="6s" end="7s">Never</p><p begin="1s" end="2s">Yes</p></div>'
    )
    assert [c.text for c in load_subtitles(late).cues] == ["Yes"]


def test_a_ttml_p_ending_after_its_div_ends_with_the_div(tmp_path: Path) -> None:
    """A <p> of 1-10 s in a <div> that ends at 5 s is shown 1-5 s (TTML1 10.4: cut by its parent's end)."""
    path = _ttml(tmp_path, '<div begin="0s" end="5s"><p begin="1s" end="10s">Cut</p></div>')
    assert [(c.start_s, c.end_s) for c in load_subtitles(path).cues] == [(1.0, 5.0)]


def test_a_ttml_p_that_begins_as_its_div_ends_is_not_a_cue(tmp_path: Path) -> None:
    """A <p> at 2 s in a <div> of 1-3 s begins at 3 s, as the div ends: never shown, so no cue."""
    path = _ttml(
        tmp_path, '<div begin="1s" end="3s"><p begin="2s" end="4s">Never</p><p dur="1s">Yes</p></div>'
    )
    assert [(c.start_s, c.end_s, c.text) for c in load_subtitles(path).cues] == [(1.0, 2.0, "Yes")]


def test_an_unchanged_ttml_file_is_written_as_it_was_read(tmp_path: Path) -> None:
    """Offsets in seconds kept their digits only down to the last non-zero one: 1.500s came back 1.5s."""
    path = _ttml(
        tmp_path,
        '<div><p begin="1.500s" end="3.250s">A</p><p begin="4.0s" end="4500ms">B</p>'
        '<p begin="10.0417s" end="12.5834s">C</p></div>',  # finer than a millisecond: came back 10.0420s
    )
    out = tmp_path / "out.ttml"
    write_subtitles(load_subtitles(path).retimed(lambda t: t), out)
    assert out.read_bytes() == path.read_bytes()


def test_ttml_frame_times_survive_a_round_trip_at_29_97(tmp_path: Path) -> None:
    from reelkit.post.subs.ttml import TimeBase, format_time, parse_time

    tb = TimeBase(Fraction(30000, 1001), 30, 1, 30.0)
    for h, mm, ss, ff in itertools.product([0, 1], range(0, 60, 7), range(60), range(30)):
        clock = f"{h:02d}:{mm:02d}:{ss:02d}:{ff:02d}"
        assert format_time(parse_time(clock, tb), clock, tb) == clock  # 00:00:17:00 came back 00:00:16:29


def test_ttml_sub_frames_fractions_and_a_frame_rounded_into_the_next_second() -> None:
    """At 25 fps with 2 sub-frames, 00:00:01:12.1 is 1 + 12.5/25 s; 0.99 s is frame 24.75, written as the
    next second's frame 0 (00:00:01:00, not 00:00:00:25); a clock fraction keeps all its digits; offsets in
    seconds keep the millisecond."""
    from reelkit.post.subs.ttml import TimeBase, format_time, parse_time

    tb = TimeBase(Fraction(25), 25, 2, 1.0)
    assert parse_time("00:00:01:12.1", tb) == pytest.approx(1.5)
    assert parse_time("00:00:01.2345", tb) == pytest.approx(1.2345)
    assert format_time(0.99, "00:00:00:00", tb) == "00:00:01:00"
    assert format_time(59.99, "00:00:00:00", tb) == "00:01:00:00"
    assert format_time(1.234, "1.5s", tb) == "1.234s"
    # the decimals of the value replaced are kept (an unchanged file is written as it was read)
    assert format_time(1.5, "1.500s", tb) == "1.500s" and format_time(2.0, "1.50s", tb) == "2.00s"
    assert format_time(1.5, "1s", tb) == "1.5s" and format_time(2.0, "1.5s", tb) == "2.0s"
    assert format_time(90.0, "1.25m", tb) == "1.50m" and format_time(3.0, "3s", tb) == "3s"
    assert format_time(10.0417, "10.0417s", tb) == "10.0417s"  # finer than a millisecond: kept, not 10.0420s
    assert format_time(1.23456, "1.2s", tb) == "1.235s"


def test_ttml_clock_frames_are_counted_at_the_effective_rate() -> None:
    """5.4835 s at 29.97 fps is frame 14.49 of its second: 00:00:05:14 (at the nominal 30, 14.505: 15)."""
    from reelkit.post.subs.ttml import TimeBase, format_time

    tb = TimeBase(Fraction(30000, 1001), 30, 1, 30.0)
    assert format_time(5.4835, "00:00:00:00", tb) == "00:00:05:14"


def test_ttml_sub_frame_rate_and_time_base_are_read_from_the_document(tmp_path: Path) -> None:
    """ttp:subFrameRate="2" at 25 fps: 00:00:01:12.1 is 1 + 12.5/25 = 1.5 s; a timeBase other than media
    (smpte) is refused, not read as media time."""
    path = _ttml(
        tmp_path,
        '<div><p begin="00:00:01:12.1" end="00:00:02:00">A</p></div>',
        'ttp:frameRate="25" ttp:subFrameRate="2"',
    )
    assert [(c.start_s, c.end_s) for c in load_subtitles(path).cues] == [(1.5, 2.0)]
    smpte = _ttml(tmp_path, '<div><p begin="1s" end="2s">A</p></div>', 'ttp:timeBase="smpte"')
    with pytest.raises(DataFormatError, match="timeBase 'smpte' is not supported"):
        load_subtitles(smpte)


@pytest.mark.parametrize("ns", ["http://www.w3.org/2006/10/ttaf1", "http://www.w3.org/2006/04/ttaf1"])
def test_dfxp_in_its_2006_namespaces_is_read_and_rewritten_in_place(tmp_path: Path, ns: str) -> None:
    """DFXP in the namespaces before the TTML Recommendation ('.../2006/10/ttaf1') was refused ('the root
    element is not <tt> in the TTML namespace'); it is read as TTML, its ttp: parameters from
    '<namespace>#parameter', and written back with only the times changed."""
    doc = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<tt xmlns="{ns}" xmlns:tts="{ns}#styling" xmlns:ttp="{ns}#parameter" ttp:frameRate="25" '
        'xml:lang="en">\n<body><div>\n'
        '<p begin="00:00:01:00" end="00:00:02:12" tts:color="white">Hello</p>\n'
        '<p begin="3s" dur="1s">World</p>\n</div></body></tt>\n'
    )
    path = tmp_path / "old.dfxp"
    path.write_text(doc, encoding="utf-8")
    sub = load_subtitles(path)
    assert sub.format == "ttml"
    assert [(c.start_s, c.end_s, c.text) for c in sub.cues] == [(1.0, 2.48, "Hello"), (3.0, 4.0, "World")]
    out = tmp_path / "out.dfxp"
    write_subtitles(sub.retimed(lambda t: t + 0.5), out)
    assert out.read_text(encoding="utf-8") == (
        doc.replace('"00:00:01:00"', '"00:00:01:12"')
        .replace('"00:00:02:12"', '"00:00:02:24"')
        .replace('"3s"', '"3.5s"')
    )


def test_a_dfxp_root_over_ttml_parameters_or_content_is_read_at_its_rate(tmp_path: Path) -> None:
    """A 2006 DFXP root with TTML's own ttp: namespace read 00:00:01:12 at the default 30 fps (1.4 s, not
    1.48 at its 25), and one over TTML's body and p gave no cues, both in silence (a diff review)."""
    old, ttml = "http://www.w3.org/2006/10/ttaf1", "http://www.w3.org/ns/ttml"
    mixed = tmp_path / "mixed.dfxp"
    mixed.write_text(
        f'<tt xmlns="{old}" xmlns:ttp="{ttml}#parameter" ttp:frameRate="25"><body><div>'
        '<p begin="00:00:01:12" end="00:00:02:00">Frame</p></div></body></tt>\n'
    )
    assert [(c.start_s, c.end_s) for c in load_subtitles(mixed).cues] == [(1.48, 2.0)]
    content = tmp_path / "content.dfxp"
    content.write_text(
        f'<tt xmlns="{old}" xmlns:t="{ttml}"><t:body><t:div><t:p begin="1s" end="2s">Hi</t:p></t:div>'
        "</t:body></tt>\n"
    )
    sub = load_subtitles(content)
    assert [(c.start_s, c.end_s, c.text) for c in sub.cues] == [(1.0, 2.0, "Hi")]
    out = tmp_path / "out.dfxp"
    write_subtitles(sub.retimed(lambda t: t + 0.5), out)
    assert out.read_text() == content.read_text().replace('"1s" end="2s"', '"1.5s" end="2.5s"')


def test_ttml_hour_and_minute_offsets_keep_the_millisecond(tmp_path: Path) -> None:
    path = _ttml(tmp_path, '<div><p begin="1h" end="1.001h">Late</p></div>')
    out = tmp_path / "o.ttml"
    write_subtitles(load_subtitles(path).retimed(lambda t: t + 1.5), out)
    assert [(round(c.start_s, 3), round(c.end_s, 3)) for c in load_subtitles(out).cues] == [(3601.5, 3605.1)]


def test_ttml_source_line_breaks_are_white_space_and_only_br_breaks_a_line(tmp_path: Path) -> None:
    path = _ttml(
        tmp_path,
        '<div><p begin="1s" end="2s">I never said\n   she stole\n   my money<br/>Second</p></div>'
        '<div xml:space="preserve"><p begin="3s" end="4s">kept\nas is</p></div>',
    )
    assert [c.text for c in load_subtitles(path).cues] == [
        "I never said she stole my money\nSecond",
        "kept\nas is",
    ]


def test_a_timing_line_that_cannot_be_read_is_named_not_skipped(tmp_path: Path) -> None:
    """A frame timecode (00:00:03:12) was skipped silently, and left unshifted while its neighbours moved."""
    path = tmp_path / "ff.srt"
    path.write_text("1\n00:00:01,000 --> 00:00:02,000\nOne\n\n2\n00:00:03:12 --> 00:00:04:00\nTwo\n")
    with pytest.raises(
        DataFormatError, match=r"ff\.srt:6: cannot read the times of '00:00:03:12 --> 00:00:04:00'"
    ):
        load_subtitles(path)


def test_microdvd_spaces_in_braces_and_an_assumed_frame_rate_is_said(tmp_path: Path) -> None:
    path = tmp_path / "s.sub"
    path.write_text("{ 24 }{ 48 }A\n{72}{96}B\n")
    sub = load_subtitles(path)
    assert [c.text for c in sub.cues] == ["A", "B"] and sub.cues[0].start_s == pytest.approx(24 / 23.976)
    assert any("no frame-rate line" in n for n in sub.notes)
    zero = tmp_path / "z.sub"
    zero.write_text("{1}{1}0\n{24}{48}A\n")  # a rate of 0 is not a header: a cue, read at the default rate
    assert load_subtitles(zero).fps == 23.976


def test_a_microdvd_file_without_a_frame_rate_line_counts_the_pictures_frames(tmp_path: Path) -> None:
    """Frames are the picture's, as players count them: 560 at 25 fps is 22.4 s (not 560/23.976 = 23.357),
    and the note says which rate; a frame-rate line in the file wins."""
    path = tmp_path / "s.sub"
    path.write_text("{25}{75}Hello\n{77}{125}There\n{500}{560}Past end\n")
    sub = load_subtitles(path, fps=25.0)
    assert sub.fps == 25.0 and [c.end_s for c in sub.cues] == pytest.approx([3.0, 5.0, 22.4])
    assert sub.notes == [
        "no frame-rate line (such as {1}{1}25): frames are read at 25 fps, the picture's frame rate; add the "
        "line if the file counts at another rate"
    ]
    assert load_subtitles(path).cues[2].end_s == pytest.approx(560 / 23.976)
    path.write_text("{1}{1}30\n{300}{600}Said\n")
    said = load_subtitles(path, fps=25.0)
    assert said.fps == 30.0 and said.cues[0].end_s == pytest.approx(20.0) and not said.notes


@pytest.mark.parametrize("bad", ["0:0l:02.00", "", "1:02:03.0045", "soon"])
def test_a_malformed_ass_time_names_its_line_and_field(tmp_path: Path, bad: str) -> None:
    f = tmp_path / "typo.ass"
    f.write_text(
        "[Script Info]\nScriptType: v4.00+\n\n[Events]\n"
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
        "Dialogue: 0,0:00:00.50,0:00:01.00,Default,,0,0,0,,Fine\n"
        f"Dialogue: 0,0:00:01.00,{bad},Default,,0,0,0,,Hello\n",
        encoding="utf-8",
    )
    with pytest.raises(DataFormatError, match=r"typo\.ass:7: cannot read the End time"):
        load_subtitles(f)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("1\n00:00:01,000 --> 00:00:02,000\nOne\n\n2\n00:00:03,000 -> 00:00:04,000\nTwo\n", 6),
        ("1\n00:00:01,000 --> 00:00:02,000\nOne\n\n2\n00:00:03,000 00:00:04,000\nTwo\n", 6),
        ("1\n00:00:01,000 --> 00:00:02,000\nOne\n2\n00:00:03,000 => 00:00:04,000\nTwo\n", 5),
        ("WEBVTT\n\nid\n00:01.000 - > 00:02.000\nOne\n", 4),
    ],
)
def test_a_timing_line_with_a_mistyped_arrow_is_named_not_skipped(
    tmp_path: Path, text: str, line: int
) -> None:
    """A cue timed '->' was dropped without a word (79 of 80 cues 'no problems'), and left unsynced."""
    path = tmp_path / "typo.srt"
    path.write_text(text)
    with pytest.raises(DataFormatError, match=rf"typo\.srt:{line}: cannot read the times of '00:0"):
        load_subtitles(path)


def test_only_an_empty_line_ends_a_cue() -> None:
    """Spaces ended the cue (['Line one', 'B']): WebVTT's parser and ffmpeg's SRT take it as text."""
    from reelkit.post.subs.io import from_string

    vtt = "WEBVTT\r\n\r\n00:01.000 --> 00:02.000\r\nLine one\r\n \r\nLine two\r\n\r\n"
    srt = "1\r\n00:00:01,000 --> 00:00:02,000\r\nLine one\r\n\t\r\nLine two\r\n \r\n2\r\n"
    for text in (vtt + "00:03.000 --> 00:04.000\r\nB\r\n", srt + "00:00:03,000 --> 00:00:04,000\r\nB\r\n"):
        assert [c.text for c in from_string(text).cues] == ["Line one\nLine two", "B"]


def test_header_notes_and_cue_ids_are_not_timing_lines(tmp_path: Path) -> None:
    path = tmp_path / "ok.vtt"
    path.write_text(
        "WEBVTT - 00:00:01.000 to 00:00:02.000\nX-TIMESTAMP-MAP=LOCAL:00:00:00.000,MPEGTS:900000\n\n"
        "NOTE 00:00:01.000 -> 00:00:02.000 was cut\n\n00:00:05.000 cue\n00:00:05.000 --> 00:00:06.000\nA\n"
    )
    assert [(c.start_s, c.text) for c in load_subtitles(path).cues] == [(5.0, "A")]


def test_a_cue_id_that_begins_like_a_block_keyword_is_a_cue_id() -> None:
    """A NOTE, STYLE or REGION block starts with the word alone or followed by white space (W3C WebVTT):
    cue ids 'NOTES_1' and 'STYLE2' are not blocks, and their cues are read."""
    from reelkit.post.subs.io import from_string

    text = "WEBVTT\n\nNOTES_1\n00:01.000 --> 00:02.000\nA\n\nSTYLE2\n00:03.000 --> 00:04.000\nB\n"
    assert [(c.start_s, c.text) for c in from_string(text).cues] == [(1.0, "A"), (3.0, "B")]


def test_srt_text_after_an_empty_line_stays_with_its_cue() -> None:
    """'Line two' after an empty line inside a cue was dropped (no cue of its own): ffmpeg and pysubs2 keep
    it in the cue above; a number before a timing line still starts the next cue."""
    from reelkit.post.subs.io import from_string

    srt = (
        "1\r\n00:00:01,000 --> 00:00:02,000\r\nLine one\r\n\r\nLine two\r\n\r\n\r\n"
        "2\r\n00:00:03,000 --> 00:00:04,000\r\nB\r\n\r\nC\r\n"
    )
    sub = from_string(srt)
    assert [c.text for c in sub.cues] == ["Line one\nLine two", "B\nC"]  # the shown text, empty lines dropped
    assert [(c.start_s, c.end_s) for c in sub.cues] == [(1.0, 2.0), (3.0, 4.0)]
    out, _ = sub.with_times([(2.0, 3.0), (4.0, 5.0)]).to_string()
    assert out == (
        "1\r\n00:00:02,000 --> 00:00:03,000\r\nLine one\r\n\r\nLine two\r\n\r\n\r\n"
        "2\r\n00:00:04,000 --> 00:00:05,000\r\nB\r\n\r\nC\r\n"
    )


def test_a_line_of_spaces_does_not_end_a_webvtt_note() -> None:
    """The WebVTT parser ends a NOTE block at an empty line only: a note's text after a line of spaces is
    still the note, not a cue."""
    from reelkit.post.subs.io import from_string

    vtt = "WEBVTT\n\nNOTE draft\n  \n00:01.000 to 00:02.000 was\n\n00:03.000 --> 00:04.000\nA\n"
    assert [(c.start_s, c.text) for c in from_string(vtt).cues] == [(3.0, "A")]


def test_an_arrow_line_in_a_webvtt_note_is_a_cue() -> None:
    """W3C's "collect a WebVTT block": a comment holds no "-->"; a block's second line with one makes the
    first line the cue's identifier (here "NOTE"), a later one ends the block and starts a cue. Both cues
    were read as comments (their times never synced, their text never checked)."""
    from reelkit.post.subs.io import from_string

    vtt = (
        "WEBVTT\n\nNOTE\n00:01.000 --> 00:02.000\nA\n\n"
        "NOTE draft\n  \n00:03.000 --> 00:04.000 was\nB\n\n00:05.000 --> 00:06.000\nC\n"
    )
    sub = from_string(vtt)
    assert [(c.start_s, c.end_s, c.text, c.number) for c in sub.cues] == [
        (1.0, 2.0, "A", "NOTE"),
        (3.0, 4.0, "B", ""),
        (5.0, 6.0, "C", ""),
    ]
    # an arrow that is no cue's times is dropped with its block, not refused (a diff review: exit 2)
    for block in (
        "NOTE changes\nmoved 00:01:00.000 --> 00:01:02.000\n",
        "STYLE\n::cue { color: red }\n/* a --> b */\n",
    ):
        kept = from_string(f"WEBVTT\n\n{block}\n00:00:03.000 --> 00:00:04.000\nbye\n")
        assert [(c.start_s, c.text) for c in kept.cues] == [(3.0, "bye")]
    out, _ = sub.with_times([(1.5, 2.5), (3.5, 4.5), (5.5, 6.5)]).to_string()
    assert out == (
        "WEBVTT\n\nNOTE\n00:01.500 --> 00:02.500\nA\n\n"
        "NOTE draft\n  \n00:03.500 --> 00:04.500 was\nB\n\n00:05.500 --> 00:06.500\nC\n"
    )


def test_lap_times_in_cue_text_are_text_and_mistyped_timings_are_still_refused() -> None:
    """'1:32.45 / 1:33.02' (lap times) in a cue refused the whole file as a mistyped timing line; times
    joined by a slash are text (pysubs2 and ffmpeg read it so). A first fix that let text have any two
    times without an arrow, and SRT any '-->' line not led by a clean time, merged mistyped cues into the
    cue above in silence (a diff review): those are still refused at their line."""
    from reelkit.post.subs.io import from_string

    srt = "1\n00:00:01,000 --> 00:00:04,000\nFastest laps:\n1:32.45 / 1:33.02\n"
    assert [c.text for c in from_string(srt).cues] == ["Fastest laps:\n1:32.45 / 1:33.02"]
    for bad, line in (
        ("1\n00:00:01,000 --> 00:00:02,000\nHello\n\n2\nO0:00:05,000 --> 00:00:06,000\nWorld\n", 6),
        ("1\n00:00:01,000 --> 00:00:02,000\nHello\n00:00:05,000 - 00:00:06,000\nWorld\n", 4),
        ("WEBVTT\n\n00:01.000 --> 00:02.000\nHello\n\n00:05.000 -> 00:06.00\nWorld\n", 6),
    ):
        with pytest.raises(DataFormatError, match="cannot read the times") as exc:
            from_string(bad)
        assert exc.value.line == line


def test_a_clock_range_in_cue_text_is_text() -> None:
    """'09:15:00 - 09:45:00' in a cue's text was refused as a timing line with a mistyped arrow (':00' taken
    for milliseconds); colon milliseconds are three digits, so it is text, as pysubs2 reads it."""
    from reelkit.post.subs.io import from_string

    srt = "1\n00:00:01,000 --> 00:00:03,000\nTimetable:\n09:15:00 - 09:45:00\n"
    vtt = "WEBVTT\n\n00:01.000 --> 00:03.000\n09:15:00 - 09:45:00 Breakfast\n"
    assert [c.text for c in from_string(srt).cues] == ["Timetable:\n09:15:00 - 09:45:00"]
    assert [c.text for c in from_string(vtt).cues] == ["09:15:00 - 09:45:00 Breakfast"]
    with pytest.raises(DataFormatError, match="cannot read the times") as exc:  # a mistyped arrow still is
        from_string("1\n00:00:01,000 --> 00:00:03,000\nA\n00:00:04,000 -> 00:00:05,000\nB\n")
    assert exc.value.line == 4


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("1\n00:00:01,000 --> 00:00:02,000\nhi\n\n2\n00:00:4X,000 --> 00:00:49,500\nx\n", 6),
        ("1\n00:00:01,000 --> 00:00:02,000\nhi\n\n00:00:4X,000 --> 00:00:49,500\nx\n", 5),
        ("1\n00:00:01,000 --> 00:00:02,000\nhi\n2\n00:00:4X,000 --> 00:00:49,500\nx\n", 5),
        ("WEBVTT\n\n00:01.000 --> 00:02.000\nhi\n00:0X.000 --> 00:03.000\nx\n", 5),
    ],
)
def test_a_mistyped_start_time_is_named_not_taken_for_text(text: str, line: int) -> None:
    """A cue whose start time had a typo ('00:00:4X,000 --> ...') became text of the cue above after an empty
    line ('hi\\n2\\n00:00:4X,000 --> 00:00:49,500\\nx'); an end-time typo was refused. A line with '-->' is
    a timing line wherever it is."""
    from reelkit.post.subs.io import from_string

    with pytest.raises(DataFormatError, match="cannot read the times of '00:0") as exc:
        from_string(text)
    assert exc.value.line == line


def test_a_number_alone_after_a_cue_is_no_text_of_it() -> None:
    """A cue number at the end of a file (or before an empty line) joined the cue above as text ('World\\n3',
    three lines for the line-count check); pysubs2 drops it."""
    from reelkit.post.subs.io import from_string

    end = "1\n00:00:01,000 --> 00:00:03,000\nHello\n\n2\n00:00:04,000 --> 00:00:06,000\nWorld\n\n3\n"
    assert [c.text for c in from_string(end).cues] == ["Hello", "World"]
    mid = "1\n00:00:01,000 --> 00:00:03,000\nHello\n\n2\n\n3\n00:00:04,000 --> 00:00:06,000\nWorld\n"
    assert [c.text for c in from_string(mid).cues] == ["Hello", "World"]


def test_scc_and_ebu_stl_are_refused_by_name(tmp_path: Path) -> None:
    """pysubs2 read a Scenarist SCC file as "TMP" cues whose text was the CEA-608 codes (cue 1 at 0.0 s, not
    the 22nd frame), and sync wrote TMP back under the .scc name; EBU STL is binary. Both are named."""
    scc = tmp_path / "a.scc"
    scc.write_text(
        "Scenarist_SCC V1.0\n\n00:00:00:22\t9420 9420 94ae 94ae 9452 9452 97a2 97a2 c845 d94c cf80\n"
    )
    with pytest.raises(DataFormatError) as err:
        load_subtitles(scc)
    assert str(err.value) == (
        f"{scc}: is a Scenarist SCC caption file (CEA-608 codes), which reelkit does not read: convert it to "
        "SRT, WebVTT or TTML first"
    )
    stl = tmp_path / "a.stl"
    stl.write_bytes(b"850STL25.01" + b" " * 1013 + bytes(range(128)) * 2)
    with pytest.raises(DataFormatError, match=r"a\.stl: is an EBU STL \(Tech 3264\) subtitle file"):
        load_subtitles(stl)


POLISH = "Dziękuję, żółw źle się czuje. Łódź."


def test_an_xml_declaration_names_the_encoding(tmp_path: Path) -> None:
    """XML 1.0 §4.3.3: without a mark, a TTML document's declaration says its encoding (ISO-8859-2 Polish
    was guessed as cp1250: "Ľle" for "źle"); it is written back in it, and a declaration the bytes belie
    is left to detection."""
    doc = (
        '<?xml version="1.0" encoding="ISO-8859-2"?>\n<tt xmlns="http://www.w3.org/ns/ttml"><body><div>'
        f'<p begin="00:00:01.000" end="00:00:02.000">{POLISH}</p></div></body></tt>\n'
    )
    path = tmp_path / "z.ttml"
    path.write_bytes(doc.encode("iso8859-2"))
    sub = load_subtitles(path)
    assert sub.cues[0].text == POLISH and sub.encoding == "iso8859-2"
    out = tmp_path / "moved.ttml"
    write_subtitles(sub.retimed(lambda t: t + 1), out)
    assert out.read_bytes() == doc.replace("00:00:01.000", "00:00:02.000", 1).replace(
        'end="00:00:02.000"', 'end="00:00:03.000"'
    ).encode("iso8859-2")
    # a UTF-8 document declared ISO-8859-1 or UTF-16 (common mislabels; an ASCII-readable declaration cannot
    # be UTF-16, XML 1.0 appendix F) is read as UTF-8
    for label in ("ISO-8859-1", "UTF-16"):
        mislabel = tmp_path / f"mislabel-{label}.ttml"
        mislabel.write_bytes(doc.replace("ISO-8859-2", label).encode("utf-8") + b"\n" * (len(doc) % 2))
        assert (
            load_subtitles(mislabel).cues[0].text == POLISH and load_subtitles(mislabel).encoding == "utf-8"
        )
    liar = tmp_path / "liar.ttml"  # declares UTF-8, written in cp1252: detected
    liar.write_bytes(doc.replace("ISO-8859-2", "UTF-8").replace(POLISH, "Déjà là.").encode("cp1252"))
    assert load_subtitles(liar).cues[0].text == "Déjà là."


def test_a_byte_order_mark_wins_over_a_given_encoding() -> None:
    """As the WHATWG encoding standard does: the mark says what the file is, whatever encoding is given."""
    text = _CUE.format("Привет")
    assert decode_text(codecs.BOM_UTF16_LE + text.encode("utf-16-le"), encoding="cp1250") == (
        text,
        "utf-16-le",
        True,
    )
    assert decode_text(codecs.BOM_UTF8 + text.encode(), encoding="latin-1") == (text, "utf-8", True)
    # the other byte order of the mark's family given: the mark wins
    assert decode_text(codecs.BOM_UTF16_BE + text.encode("utf-16-be"), encoding="utf-16-le") == (
        text,
        "utf-16-be",
        True,
    )
    # a given encoding of the mark's own family still reads it as before
    assert decode_text(codecs.BOM_UTF16_BE + text.encode("utf-16-be"), encoding="utf-16") == (
        text,
        "utf-16-be",
        True,
    )


def test_a_webvtt_identifier_is_the_line_after_a_blank_one() -> None:
    """A cue's last text line just before the next cue's times (no blank line between: players read it as
    the cue's text) is not the next cue's identifier; one after a blank line is."""
    from reelkit.post.subs.io import from_string

    sub = from_string(
        "WEBVTT\n\n00:01.000 --> 00:02.000\nhello\nworld\n00:03.000 --> 00:04.000\nb\n\n"
        "intro\n00:05.000 --> 00:06.000\nc\n",
        format="vtt",
    )
    assert [c.number for c in sub.cues] == ["", "", "intro"]
    assert [c.text for c in sub.cues] == ["hello\nworld", "b", "c"]
