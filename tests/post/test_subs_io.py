"""Reading and writing subtitle files: encodings, formats, timing-only rewrites, times before zero."""

from __future__ import annotations

import codecs
from pathlib import Path

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


def test_unknown_encoding_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "binary.srt"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(DataFormatError, match="encoding"):
        load_subtitles(path)
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


def test_plain_text_strips_markup() -> None:
    assert plain_text("{\\an8}<i>Hi</i>\\Nthere &amp; you") == "Hi\nthere & you"
