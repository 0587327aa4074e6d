"""Subtitle timing and layout rules on hand-made files, each rule with a cue just inside and just outside."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelkit.errors import ConfigError
from reelkit.post.findings import Finding
from reelkit.post.subs import SubtitleRules, check_subtitles
from reelkit.post.subs.io import from_string


def _srt(*cues: tuple[str, str, str]) -> str:
    return "".join(f"{i + 1}\n{a} --> {b}\n{t}\n\n" for i, (a, b, t) in enumerate(cues))


def _kinds(findings: list[Finding]) -> list[tuple[str, int]]:
    return sorted((f.kind, int(f.message.split()[1])) for f in findings if f.message.startswith("cue "))


def test_a_clean_file_has_no_findings() -> None:
    sub = from_string(
        _srt(
            ("00:00:01,000", "00:00:03,000", "Hello there."),
            ("00:00:03,084", "00:00:05,000", "Two frames later."),
        )
    )
    assert check_subtitles(sub, media_duration_s=10.0) == []


def test_durations() -> None:
    sub = from_string(
        _srt(
            ("00:00:01,000", "00:00:01,833", "Hi."),  # 0.833 s: exactly 5/6 s, allowed
            ("00:00:03,000", "00:00:03,800", "Hi."),  # 0.8 s: too short
            ("00:00:05,000", "00:00:12,000", "Seven seconds is fine to read."),  # 7.0 s: allowed
            ("00:00:13,000", "00:00:20,100", "Over seven seconds."),  # 7.1 s
        )
    )
    assert _kinds(check_subtitles(sub)) == [("max_duration", 4), ("min_duration", 2)]


def test_reading_speed_line_length_and_line_count() -> None:
    fast = "x" * 35  # 35 characters in 2 s = 17.5 cps
    ok = "y" * 34  # 17.0 cps
    long_line = "z" * 43
    sub = from_string(
        _srt(
            ("00:00:01,000", "00:00:03,000", fast),
            ("00:00:04,000", "00:00:06,000", ok),
            ("00:00:07,000", "00:00:10,000", long_line),
            ("00:00:11,000", "00:00:14,000", "one\ntwo\nthree"),
            ("00:00:15,000", "00:00:19,000", "a" * 42 + "\n" + "b" * 20),  # 62 chars in 4 s
        )
    )
    assert _kinds(check_subtitles(sub)) == [("line_count", 4), ("line_length", 3), ("reading_speed", 1)]


def test_reading_speed_ignores_markup_and_line_breaks() -> None:
    sub = from_string(_srt(("00:00:01,000", "00:00:02,000", "<i>" + "a" * 8 + "</i>\n" + "b" * 9)))
    assert check_subtitles(sub) == []  # 17 characters in 1 s


def test_character_references_and_direction_marks_count_as_shown() -> None:
    # a right-to-left WebVTT line wrapped in &rlm; marks: 34 visible characters (was counted as 44, over 42)
    line = "&rlm;שלום, מה שלומך היום? אני בסדר גמור&rlm;"
    sub = from_string(f"WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n{line}\n", format="vtt")
    assert sub.cues[0].text == "שלום, מה שלומך היום? אני בסדר גמור" and check_subtitles(sub) == []
    effect = from_string("WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n&rlm;[MUSIC]&rlm; &#9834;\n", format="vtt")
    assert effect.cues[0].text == "[MUSIC] \u266a"
    from reelkit.post.subs.nonspeech import cue_weights

    assert cue_weights([effect.cues[0].text])[0] < 1.0  # an effect cue for the sync, not speech


def test_combining_accents_count_with_their_letter() -> None:
    """The same 42-character French line passed in NFC and was 'a line of 51 characters' in NFD."""
    import unicodedata

    line = "Déjà élevé, l'été à Noël : été café prévu!"  # 42 characters as shown
    for form in ("NFC", "NFD"):
        text = unicodedata.normalize(form, line)
        sub = from_string(_srt(("00:00:01,000", "00:00:04,000", text)))
        assert check_subtitles(sub) == [], form


def test_marks_without_precomposed_forms_and_direction_marks_count_nothing() -> None:
    """Arabic harakat and Hebrew niqqud have no precomposed letters: a vowelled line of 30 letters and
    spaces counted 48 (line_length over 42); right-to-left marks and joiners show nothing. The limit still
    applies to what is seen: 43 letters are over 42 whatever their marks."""
    arabic = "مَرْحَبًا بِكُمْ فِي الْعَالَمِ الْجَمِيلِ هُنَا"
    hebrew = "\u200fשָׁלוֹם, מַה שְּׁלוֹמְךָ הַיּוֹם? אֲנִי בְּסֵדֶר גָּמוּר\u200f"
    assert len(arabic) == 48 and len(hebrew) > 42
    for line in (arabic, hebrew):
        assert check_subtitles(from_string(_srt(("00:00:01,000", "00:00:05,000", line)))) == []
    long = "\u0628\u064e" * 43  # 43 letters, each with a fatha
    (finding,) = check_subtitles(from_string(_srt(("00:00:01,000", "00:00:05,000", long))))
    assert finding.kind == "line_length" and "43 characters" in finding.message


def test_an_ass_drawing_is_no_text_and_no_overlapping_subtitle() -> None:
    """A vector drawing ({\\p1}m 0 0 l ...{\\p0}, a box behind the dialogue) was read as 51 characters of
    text: line_length and reading_speed findings, and an overlap error against the dialogue it sits under
    (--strict exit 1). libass draws a shape for text in drawing mode: it shows no characters, and an event
    that only draws is not a subtitle to read or keep apart from the others."""
    box = "{\\an7\\pos(0,0)\\p1}m 0 0 l 1920 0 1920 1080 0 1080 0 0 m 10 10 l 20 20{\\p0}"
    ass = (
        "[Script Info]\nScriptType: v4.00+\n\n[Events]\n"
        "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
        f"Dialogue: 0,0:00:01.00,0:00:05.00,Default,,0,0,0,,{box}\n"
        "Dialogue: 1,0:00:02.00,0:00:04.00,Default,,0,0,0,,Hello there.\n"
        "Dialogue: 1,0:00:05.00,0:00:07.00,Default,,0,0,0,,"
        "{\\p2}m 0 0 l 9 0 9 9{\\p0}Boxed {\\pos(1,2)}words.\n"
    )
    sub = from_string(ass)
    assert [c.text for c in sub.cues] == ["", "Hello there.", "Boxed words."]
    assert check_subtitles(sub) == []
    # the box alone still has its times checked
    late = from_string(ass.replace("0:00:01.00,0:00:05.00", "0:00:01.00,0:00:00.50"))
    assert [(f.kind, f.message) for f in check_subtitles(late)] == [
        ("bad_timing", "cue 1 at 00:00:01.000 ends before it starts")
    ]


def test_overlap_gap_and_order() -> None:
    sub = from_string(
        _srt(
            ("00:00:01,000", "00:00:03,000", "First."),
            ("00:00:02,500", "00:00:04,000", "Overlaps the first."),
            ("00:00:04,050", "00:00:06,000", "Only 50 ms later."),
            ("00:00:00,000", "00:00:00,900", "Out of order."),
        )
    )
    findings = check_subtitles(sub)
    kinds = [f.kind for f in findings]
    assert kinds.count("overlap") == 1 and kinds.count("gap") == 1 and kinds.count("out_of_order") == 1
    overlap = next(f for f in findings if f.kind == "overlap")
    assert overlap.severity == "error" and overlap.start_s == 2.5 and overlap.end_s == 3.0
    # at 25 fps two frames are 80 ms: 50 ms is still too short; with no minimum gap it is fine
    assert "gap" not in [f.kind for f in check_subtitles(sub, rules=SubtitleRules(min_gap_frames=0))]


def test_overlap_gap_and_reading_speed_findings_say_where_and_how_much() -> None:
    """The overlap ends where the cue above does (3 s); the gap runs from cue 2's end (4 s) to cue 3's start,
    50 ms against 2 frames of 24 fps (83 ms); 20 characters in 1 s are 20.0 a second, 41 in 2.405 s 17.05
    (the decimals that show it over the limit)."""
    sub = from_string(
        _srt(
            ("00:00:01,000", "00:00:03,000", "First."),
            ("00:00:02,500", "00:00:04,000", "Overlaps the first."),
            ("00:00:04,050", "00:00:06,000", "Only 50 ms later."),
            ("00:00:07,000", "00:00:08,000", "x" * 20),
            ("00:00:09,000", "00:00:11,405", "x" * 41),  # 17.05 a second: "17.0 ..., over 17" before
        )
    )
    assert [(f.kind, f.start_s, f.end_s, f.message) for f in check_subtitles(sub)] == [
        ("overlap", 2.5, 3.0, "cue 2 at 00:00:02.500 overlaps cue 1 (which ends at 00:00:03.000)"),
        ("gap", 4.0, 4.05, "cue 3 at 00:00:04.050 follows cue 2 after 50 ms, under 2 frames (83 ms)"),
        (
            "reading_speed",
            7.0,
            8.0,
            "cue 4 at 00:00:07.000: 20.0 characters per second (20 in 1.000 s), over 17",
        ),
        (
            "reading_speed",
            9.0,
            11.405,
            "cue 5 at 00:00:09.000: 17.05 characters per second (41 in 2.405 s), over 17",
        ),
    ]


def test_cues_with_equal_starts_are_in_order_whatever_their_ends() -> None:
    sub = from_string(
        "WEBVTT\n\n00:01.000 --> 00:04.000\nTop\n\n00:01.000 --> 00:03.000\nBottom\n", format="vtt"
    )
    assert "out_of_order" not in [
        f.kind for f in check_subtitles(sub)
    ]  # reported: start order is what counts
    swapped = from_string(
        "WEBVTT\n\n00:02.000 --> 00:03.000\nB\n\n00:01.000 --> 00:01.500\nA\n", format="vtt"
    )
    assert [f.message for f in check_subtitles(swapped) if f.kind == "out_of_order"] == [
        "cues are not in time order in the file (first at cue 2, 00:00:01.000)"
    ]


def test_back_to_back_cues_do_not_overlap() -> None:
    """A cue starting as the one above ends touches it: no overlap (a 0 ms gap, under the minimum)."""
    sub = from_string(
        _srt(("00:00:01,000", "00:00:02,000", "One."), ("00:00:02,000", "00:00:03,000", "Two."))
    )
    assert [f.kind for f in check_subtitles(sub)] == ["gap"]
    assert check_subtitles(sub, rules=SubtitleRules(min_gap_frames=0)) == []


def test_a_cue_starting_a_millisecond_before_the_one_above_ends_overlaps_it() -> None:
    """1.999 s is before the 2.000 s end of the cue above: an overlap (an error), not a gap of -1 ms."""
    sub = from_string(
        _srt(("00:00:01,000", "00:00:02,000", "One."), ("00:00:01,999", "00:00:03,000", "Two."))
    )
    assert [(f.kind, f.severity) for f in check_subtitles(sub)] == [("overlap", "error")]


def test_a_zero_length_or_empty_cue_gets_its_own_finding_alone() -> None:
    """A cue of no length is not shown (bad_timing), so it makes no gap to the cue above; a cue without
    text is 'empty', not also too short."""
    flash = from_string(
        _srt(
            ("00:00:01,000", "00:00:02,000", "One."),
            ("00:00:02,020", "00:00:02,020", "Flash."),
            ("00:00:03,000", "00:00:04,000", "Two."),
        )
    )
    assert [f.kind for f in check_subtitles(flash)] == ["bad_timing"]
    blank = from_string(_srt(("00:00:01,000", "00:00:02,000", "One."), ("00:00:03,000", "00:00:03,500", "")))
    assert [f.kind for f in check_subtitles(blank)] == ["empty"]


def test_a_cue_inside_a_long_one_does_not_hide_a_later_overlap() -> None:
    """Overlaps are against the latest end so far: cues 2 and 3 both start inside cue 1 (1-8 s)."""
    sub = from_string(
        _srt(
            ("00:00:01,000", "00:00:08,000", "Long."),
            ("00:00:02,000", "00:00:03,000", "Inside."),
            ("00:00:04,000", "00:00:05,000", "Also inside."),
        )
    )
    overlaps = [f for f in check_subtitles(sub) if f.kind == "overlap"]
    assert [(f.start_s, f.end_s) for f in overlaps] == [(2.0, 3.0), (4.0, 5.0)]
    assert all("overlaps cue 1 " in f.message for f in overlaps)


@pytest.mark.parametrize(
    ("fps", "gap_ms", "flagged"),
    [
        (24, 83, False),
        (23.976, 83, False),
        (29.97, 67, False),
        (25, 80, False),
        (25, 78, True),
        (24, 81, True),
    ],
)
def test_a_two_frame_gap_written_in_milliseconds_passes(fps: float, gap_ms: int, flagged: bool) -> None:
    sub = from_string(
        _srt(("00:00:01,000", "00:00:02,000", "One."), ("00:00:02,000", "00:00:03,000", "Two."))
    )
    sub = sub.with_times([(1.0, 2.0), (2.0 + gap_ms / 1000, 3.0)])
    kinds = [f.kind for f in check_subtitles(sub, rules=SubtitleRules(fps=fps))]
    assert ("gap" in kinds) == flagged


def test_past_end_before_zero_and_bad_timing() -> None:
    sub = from_string(
        _srt(
            ("-00:00:01,000", "00:00:01,000", "Before zero."),
            ("00:00:05,000", "00:00:04,000", "Ends before it starts."),
            ("00:00:08,000", "00:00:10,500", "Past the end."),
            ("00:00:06,000", "00:00:08,000", "Ends right at the end."),
        )
    )
    findings = check_subtitles(sub, media_duration_s=10.0)
    by_kind = {f.kind: f for f in findings}
    assert by_kind["before_zero"].severity == "error" and by_kind["before_zero"].start_s == -1.0
    assert by_kind["bad_timing"].severity == "error"
    assert by_kind["past_end"].message.startswith("cue 3")
    assert [f.source for f in findings] == ["subtitles"] * len(findings)
    assert [f.start_s for f in findings] == sorted(f.start_s for f in findings)


def test_a_cue_starting_at_zero_is_not_before_zero() -> None:
    """A cue at 00:00:00,000 starts at zero, not before it: no before_zero finding."""
    sub = from_string(_srt(("00:00:00,000", "00:00:02,000", "At zero.")))
    assert [f.kind for f in check_subtitles(sub)] == []


def test_a_cue_ending_within_a_frame_of_rounding_of_the_media_end_is_not_past_it() -> None:
    """``end_tolerance_s`` (0.04 s): a cue ending 20 ms after a 10 s programme is the last frame's
    rounding, one ending 50 ms after is past the end."""
    sub = from_string(
        _srt(("00:00:01,000", "00:00:03,000", "Early."), ("00:00:08,000", "00:00:10,020", "Last."))
    )
    assert [f.kind for f in check_subtitles(sub, media_duration_s=10.0)] == []
    late = sub.with_times([(1.0, 3.0), (8.0, 10.05)])
    assert [f.kind for f in check_subtitles(late, media_duration_s=10.0)] == ["past_end"]


def test_check_takes_a_path_and_other_rules(tmp_path: Path) -> None:
    path = tmp_path / "a.srt"
    path.write_text(_srt(("00:00:01,000", "00:00:02,000", "x" * 20)), encoding="utf-8")
    assert [f.kind for f in check_subtitles(path)] == ["reading_speed"]
    assert check_subtitles(path, rules=SubtitleRules(max_cps=20)) == []
    with pytest.raises(ConfigError):
        SubtitleRules(max_cps=0)


def test_a_file_without_cues_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.srt"
    path.write_text("", encoding="utf-8")
    findings = check_subtitles(path)
    assert [(f.kind, f.severity, f.start_s) for f in findings] == [("empty", "error", 0.0)]
    assert "no subtitle cues" in findings[0].message


def test_rules_refuse_infinite_limits() -> None:
    # --fps inf made the two-frame gap zero: the gap finding disappeared without a word
    from reelkit.errors import ConfigError
    from reelkit.post.subs import SubtitleRules

    for name in ("fps", "max_cps", "max_duration_s"):
        with pytest.raises(ConfigError, match=name):
            SubtitleRules(**{name: float("inf")})


def test_rules_refuse_a_negative_minimum_gap() -> None:
    """min_gap_frames=-1 would let cues overlap by a frame without a gap finding: refused."""
    with pytest.raises(ConfigError, match="min_gap_frames"):
        SubtitleRules(min_gap_frames=-1)


def test_strict_check_exits_1_on_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from reelkit.testing.cli import run_cli as run

    bad = tmp_path / "bad.srt"  # the second cue starts before the first ends: an overlap is an error
    bad.write_text("1\n00:00:00,500 --> 00:00:03,000\nHello.\n\n2\n00:00:01,500 --> 00:00:04,000\nOverlap.\n")
    assert run(capsys, "subs", "check", str(bad), "--json")[0] == 0
    code, out, _ = run(capsys, "subs", "check", str(bad), "--json", "--strict")
    assert code == 1 and '"error"' in out


def test_bad_rule_options_are_named_as_typed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad rule option was named by the rules' field ('subtitle rule max_cps', 'max_line_chars and
    max_lines >= 1, min_gap_frames >= 0': no option, no value); each is the flag and the value, exit 2."""
    from reelkit.testing.cli import run_cli as run

    subs = tmp_path / "one.srt"
    subs.write_text("1\n00:00:01,000 --> 00:00:04,000\nHello.\n")
    for option, value, said in (
        ("--max-cps", "-1", "--max-cps must be a positive, finite number; got -1"),
        ("--fps", "0", "--fps must be a positive, finite number; got 0"),
        ("--max-chars", "0", "--max-chars must be at least 1; got 0"),
        ("--max-lines", "0", "--max-lines must be at least 1; got 0"),
    ):
        code, _, err = run(capsys, "subs", "check", str(subs), option, value)
        assert code == 2 and err.strip() == f"error: {said}", err


def test_max_lines_reaches_the_rules_and_strict_passes_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A two-line cue is within the default 2 lines and over --max-lines 1 (a line_count warning); --strict
    exits 1 on errors only, so that warning still exits 0."""
    import json

    from reelkit.testing.cli import run_cli as run

    subs = tmp_path / "two.srt"
    subs.write_text("1\n00:00:01,000 --> 00:00:04,000\nHello there,\ngeneral.\n")
    code, out, _ = run(capsys, "subs", "check", str(subs), "--json")
    assert code == 0 and json.loads(out)["findings"] == []
    code, out, _ = run(capsys, "subs", "check", str(subs), "--max-lines", "1", "--json", "--strict")
    findings = json.loads(out)["findings"]
    assert code == 0 and [(f["kind"], f["severity"]) for f in findings] == [("line_count", "warning")]
    assert "2 lines, over 1" in findings[0]["message"]


def test_check_without_media_or_fps_counts_the_gap_at_24_fps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two frames at the default 24 fps are 83.3 ms, so an 80 ms gap is flagged; at --fps 25 it passes."""
    import json

    from reelkit.testing.cli import run_cli

    subs = tmp_path / "g.srt"
    subs.write_text(
        _srt(("00:00:01,000", "00:00:03,000", "Hello there."), ("00:00:03,080", "00:00:05,000", "Later."))
    )
    code, out, _ = run_cli(capsys, "subs", "check", str(subs), "--json")
    assert code == 0 and [f["kind"] for f in json.loads(out)["findings"]] == ["gap"]
    code, out, _ = run_cli(capsys, "subs", "check", str(subs), "--fps", "25", "--json")
    assert code == 0 and json.loads(out)["findings"] == []


def test_check_against_a_file_that_is_not_media_is_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from reelkit.testing.cli import run_cli

    subs = tmp_path / "a.srt"
    subs.write_text(_srt(("00:00:01,000", "00:00:02,000", "One.")))
    notes = tmp_path / "notes.json"
    notes.write_text('[[3.0, 4.5, "a line"]]')  # ffmpeg takes it for lyrics (lrc): a text stream, no duration
    code, out, err = run_cli(capsys, "subs", "check", str(subs), "--media", str(notes))
    assert code == 2 and "notes.json: no audio or video of a known length" in err and "no problems" not in out


def _gray_25fps(path: Path) -> Path:
    """An 8 s, 25 fps grey picture (no audio)."""
    from reelkit.media import run_ffmpeg

    run_ffmpeg(
        [
            "-v", "error", "-f", "lavfi", "-i", "color=c=gray:size=64x48:rate=25:duration=8",
            "-c:v", "libx264", "-pix_fmt", "yuv420p", str(path),
        ]
    )  # fmt: skip
    return path


@pytest.mark.media
def test_check_with_media_counts_the_gap_in_the_media_frames(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """80 ms is two frames at 25 fps: against a 25 fps picture it passes; --fps 24 still overrides."""
    import json

    from reelkit.testing.cli import run_cli

    clip = _gray_25fps(tmp_path / "m25.mp4")
    subs = tmp_path / "g25.srt"
    subs.write_text(
        _srt(
            ("00:00:01,000", "00:00:03,000", "Hello there."),
            ("00:00:03,080", "00:00:05,000", "Two frames later."),
        )
    )
    code, out, _ = run_cli(capsys, "subs", "check", str(subs), "--media", str(clip), "--json")
    assert code == 0 and json.loads(out)["findings"] == []
    code, out, _ = run_cli(capsys, "subs", "check", str(subs), "--media", str(clip), "--fps", "24", "--json")
    assert code == 0 and [f["kind"] for f in json.loads(out)["findings"]] == ["gap"]


@pytest.mark.media
def test_check_reads_a_microdvd_file_without_a_frame_rate_line_at_the_media_frame_rate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Frame 210 against an 8 s, 25 fps picture ends at 8.4 s (read at 23.976 fps: 8.759 s); --fps wins."""
    import json

    from reelkit.testing.cli import run_cli

    clip = _gray_25fps(tmp_path / "m25.mp4")
    subs = tmp_path / "nohead.sub"
    subs.write_text("{25}{75}Hello\n{150}{210}Past end\n")
    code, out, _ = run_cli(capsys, "subs", "check", str(subs), "--media", str(clip), "--json")
    got = json.loads(out)
    assert code == 0 and [f["message"] for f in got["findings"] if f["kind"] == "past_end"] == [
        "cue 2 ends at 00:00:08.400, after the media's end (00:00:08.000)"
    ]
    assert got["notes"] and "read at 25 fps, the picture's frame rate" in got["notes"][0]
    code, out, _ = run_cli(capsys, "subs", "check", str(subs), "--media", str(clip), "--fps", "30", "--json")
    assert code == 0 and not [f for f in json.loads(out)["findings"] if f["kind"] == "past_end"]  # 7.0 s


def test_webvtt_times_with_a_comma_are_an_error_and_still_read(tmp_path: Path) -> None:
    """'00:00:01,000 --> 00:00:02,500' in a .vtt passed 'subs check'; the W3C parser (every browser) drops
    such a cue. Reported once, naming the first cue; the times are read, so a rewrite fixes them."""
    path = tmp_path / "comma.vtt"
    path.write_text(
        "WEBVTT\n\n00:00:01,000 --> 00:00:02,500\nHello\n\n00:03.000 --> 00:04.000\nOk\n\n"
        "00:00:05.000 --> 00:00:06,000\nWorld\n"
    )
    findings = check_subtitles(path)
    assert [(f.kind, f.severity, f.start_s, f.end_s) for f in findings] == [
        ("time_format", "error", 1.0, 2.5)
    ]
    assert findings[0].message == (
        "cue 1 at 00:00:01.000 (and 1 more cue): '00:00:01,000': WebVTT times need '.' before the "
        "milliseconds; browsers drop these cues"
    )
    sub = from_string(path.read_text())
    assert [(c.start_s, c.end_s) for c in sub.cues] == [(1.0, 2.5), (3.0, 4.0), (5.0, 6.0)]
    fixed, _ = sub.with_times([(1.0, 2.5), (3.0, 4.0), (5.0, 6.0)]).to_string()
    assert check_subtitles(from_string(fixed)) == []
    # SRT writes the comma, and a WebVTT file with full stops has no such finding
    assert check_subtitles(from_string(_srt(("00:00:01,000", "00:00:02,500", "Hello")))) == []


def test_a_comma_in_webvtt_cue_settings_is_not_a_comma_time() -> None:
    """'position:10%,line-left' is a WebVTT setting; only the times themselves are checked for a comma."""
    sub = from_string("WEBVTT\n\n00:01.000 --> 00:03.000 position:10%,line-left align:left\nHello.\n")
    assert check_subtitles(sub) == []


def test_a_cue_is_named_by_its_place_and_by_the_number_the_file_gives_it() -> None:
    """An SRT renumbered by hand (starting at 0, skipping 2..6): "cue 2" alone sent the editor to the cue
    the file numbers 2, which does not exist; a WebVTT cue's identifier is given as written."""
    srt = (
        "0\n00:00:01,000 --> 00:00:02,000\nHello\n\n"
        "1\n00:00:01,500 --> 00:00:03,000\nOverlap here\n\n"
        "7\n00:00:04,000 --> 00:00:04,100\nshort\n\n"
        "4\n00:00:05,000 --> 00:00:07,000\nnumbered as its place\n"
    )
    sub = from_string(srt)
    assert [c.number for c in sub.cues] == ["0", "1", "7", "4"]
    msgs = {f.kind: f.message for f in check_subtitles(sub)}
    assert msgs["overlap"].startswith("cue 2 (numbered 1) at 00:00:01.500 overlaps cue 1 (numbered 0) ")
    assert msgs["min_duration"].startswith("cue 3 (numbered 7) at 00:00:04.000 lasts 0.100 s")
    late = from_string(srt.replace("00:00:05,000 --> 00:00:07,000", "00:00:03,500 --> 00:00:03,510"))
    assert any(f.message.startswith("cue 4 at 00:00:03.500 ") for f in check_subtitles(late))
    vtt = "WEBVTT\n\nintro\n00:00:01.000 --> 00:00:02.000\nHi\n\n00:00:01.500 --> 00:00:03.000\nNo id\n"
    sub = from_string(vtt, format="vtt")
    assert [c.number for c in sub.cues] == ["intro", ""]
    (overlap,) = [f for f in check_subtitles(sub) if f.kind == "overlap"]
    assert overlap.message.startswith("cue 2 at 00:00:01.500 overlaps cue 1 ('intro') ")


def test_duration_limits_on_both_sides() -> None:
    """5/6 s minimum and 7 s maximum, times in files to the millisecond: 0.833 s and 7.000 s pass, 0.825 s
    and 7.005 s do not. Widening either margin to 10 ms left every test passing."""
    ok = _srt(("00:00:01,000", "00:00:01,833", "Hello there"), ("00:00:03,000", "00:00:10,000", "Hi"))
    assert check_subtitles(from_string(ok)) == []
    bad = _srt(("00:00:01,000", "00:00:01,825", "Hello there"), ("00:00:03,000", "00:00:10,005", "Hi"))
    assert [(f.kind, f.message) for f in check_subtitles(from_string(bad))] == [
        ("min_duration", "cue 1 at 00:00:01.000 lasts 0.825 s, under the minimum 0.833 s"),
        ("max_duration", "cue 2 at 00:00:03.000 lasts 7.005 s, over the maximum 7 s"),
    ]
