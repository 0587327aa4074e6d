"""Video QC on synthetic clips made by ffmpeg's test sources, with exact expected findings."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from reelkit.errors import ConfigError, MediaError
from reelkit.media import run_ffmpeg
from reelkit.post.video.qc import QCOptions, video_qc

pytestmark = pytest.mark.media

LOSSLESS = ["-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv420p"]


def _make(path: Path, inputs: list[str], graph: str | None = None, extra: list[str] | None = None) -> Path:
    args = ["-v", "error", "-y"]
    for src in inputs:
        args += ["-f", "lavfi", "-i", src]
    if graph:
        args += ["-filter_complex", graph]
    run_ffmpeg([*args, *LOSSLESS, *(extra or []), str(path)])
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("video-qc")
    src = "testsrc=size=160x120:rate=25:duration=1"
    black = "color=black:size=160x120:rate=25:duration=0.4"
    return {
        # 0.0-0.4 black, 0.4-1.4 picture, 1.4-1.8 black, 1.8-2.8 picture
        "black": _make(d / "black.mp4", [black, src, black, src], "[0][1][2][3]concat=n=4"),
        # frames 25..49 repeat frame 24: frozen from 0.96 to 2.0 of 3.0 s
        "freeze": _make(
            d / "freeze.mp4",
            ["testsrc=size=160x120:rate=25:duration=3"],
            "split[a][b];[a][b]freezeframes=first=25:last=49:replace=24",
        ),
        # 0-1 s: 160x90 picture letterboxed in 160x120; 1-2 s full frame; 2-3 s: 120x120 pillarboxed
        "bars": _make(
            d / "bars.mp4",
            [
                "testsrc=size=160x90:rate=25:duration=1",
                src,
                "testsrc=size=120x120:rate=25:duration=1",
            ],
            "[0]pad=160:120:0:15[a];[2]pad=160:120:20:0[c];[a][1][c]concat=n=3",
        ),
        # 2 s of a 120x90 picture windowboxed (bars on all four sides) in 160x120
        "window": _make(d / "window.mp4", ["testsrc=size=120x90:rate=25:duration=2"], "pad=160:120:20:15"),
        # 50p motion woven into 25 fps top-field-first frames
        "interlaced": _make(
            d / "interlaced.mp4",
            ["mandelbrot=size=160x120:rate=50"],
            "tinterlace=mode=interleave_top,setfield=tff",
            ["-t", "2", "-flags", "+ildct+ilme"],
        ),
        "progressive": _make(d / "progressive.mp4", ["mandelbrot=size=160x120:rate=25"], None, ["-t", "2"]),
        # 3 s of video, 2.5 s of audio
        "av": _make(
            d / "av.mp4",
            ["testsrc=size=160x120:rate=25:duration=3", "sine=f=440:duration=2.5:sample_rate=48000"],
            None,
            ["-c:a", "aac"],
        ),
    }


def _rows(path: Path, **kw: object) -> list[tuple[str, float, float | None, str]]:
    return [(f.kind, f.start_s, f.end_s, f.severity) for f in video_qc(path, QCOptions(**kw))]  # type: ignore[arg-type]


def test_black_segments_and_cuts(clips: dict[str, Path]) -> None:
    assert _rows(clips["black"]) == [
        ("black", 0.0, 0.4, "info"),
        ("cut", 0.4, None, "info"),
        ("black", 1.4, 1.8, "warning"),
        ("cut", 1.4, None, "info"),
        ("cut", 1.8, None, "info"),
    ]
    f = video_qc(clips["black"])[2]
    assert f.source == "video" and "00:00:01:10" in f.message  # 1.4 s = 1 s + frame 10 at 25 fps


def test_freeze(clips: dict[str, Path]) -> None:
    assert _rows(clips["freeze"]) == [("freeze", 0.96, 2.0, "warning")]


def test_runs_by_hand() -> None:
    """_runs by hand: a run of exactly min_s is kept, a one-frame gap merges, the last run stops at end_s."""
    from reelkit.post.video.qc import _runs

    times = [round(0.1 * i, 1) for i in range(10)]
    flags = [False, False, True, True, True, True, True, False, False, True]
    assert _runs(times, flags, 0.1, 1.0, 0.5, merge_gap_s=0.0) == [(0.2, 0.7)]
    assert _runs(times, flags, 0.1, 1.0, 0.1, merge_gap_s=0.0) == [(0.2, 0.7), (0.9, 1.0)]
    gap = [True, True, False, True, True, False, False, False, False, False]
    assert _runs(times, gap, 0.1, 1.0, 0.5, merge_gap_s=0.1) == [(0.0, 0.5)]
    assert _runs(times, flags, 0.1, 0.95, 0.01, merge_gap_s=0.0) == [(0.2, 0.7), (0.9, 0.95)]


def test_letterbox_pillarbox(clips: dict[str, Path]) -> None:
    assert _rows(clips["bars"]) == [
        ("letterbox", 0.0, 1.0, "warning"),
        ("cut", 1.0, None, "info"),
        ("pillarbox", 2.0, 3.0, "warning"),
        ("cut", 2.0, None, "info"),
    ]
    msgs = [f.message for f in video_qc(clips["bars"], QCOptions(checks=("letterbox", "pillarbox")))]
    assert "160x90 picture in 160x120, bars 15 px top and 15 px bottom" in msgs[0]
    assert "120x120 picture in 160x120, bars 20 px left and 20 px right" in msgs[1]


def test_a_letterbox_after_black_starts_on_the_first_picture_frame(tmp_path: Path) -> None:
    """0-0.4 s black, then 1 s of a 160x90 picture letterboxed: the letterbox starts at 0.4 s, the first
    frame after the black (that frame is not inside the black stretch, which ends there)."""
    clip = _make(
        tmp_path / "black-then-bars.mp4",
        ["color=black:size=160x120:rate=25:duration=0.4", "testsrc=size=160x90:rate=25:duration=1"],
        "[1]pad=160:120:0:15[b];[0][b]concat=n=2",
    )
    assert _rows(clip, checks=("black", "letterbox")) == [
        ("black", 0.0, 0.4, "info"),
        ("letterbox", 0.4, 1.4, "warning"),
    ]


def test_windowbox_names_the_picture_inside_all_four_bars(clips: dict[str, Path]) -> None:
    found = video_qc(clips["window"], QCOptions(checks=("letterbox", "pillarbox")))
    assert [(f.kind, f.start_s, f.end_s) for f in found] == [("letterbox", 0.0, 2.0), ("pillarbox", 0.0, 2.0)]
    assert "120x90 picture in 160x120, bars 15 px top and 15 px bottom" in found[0].message
    assert "120x90 picture in 160x120, bars 20 px left and 20 px right" in found[1].message


def test_interlaced_and_progressive(clips: dict[str, Path]) -> None:
    from reelkit.media import probe

    assert _rows(clips["interlaced"]) == [("interlaced", 0.0, 2.0, "warning")]
    assert "TFF" in video_qc(clips["interlaced"])[0].message
    assert "deinterlace before delivery" in video_qc(clips["interlaced"])[0].message
    assert _rows(clips["progressive"]) == []
    # how the streams are flagged, from ffmpeg's "yuv420p(top first)" / "yuv420p(progressive)"
    assert probe(clips["interlaced"]).video[0].field_order == "tff"
    assert probe(clips["progressive"]).video[0].field_order == "progressive"


def test_av_mismatch(clips: dict[str, Path], tmp_path: Path) -> None:
    assert _rows(clips["av"]) == [("av_mismatch", 2.5, 3.0, "warning")]
    # an MPEG-TS starts at 1.4 s; 188 frames of 0.04 s summed to 7.5200000000000005 in the JSON
    ts = _make(
        tmp_path / "av.ts",
        ["testsrc=size=160x120:rate=25:duration=7.52", "sine=f=440:duration=5:sample_rate=48000"],
        None,
        ["-c:a", "aac"],
    )
    # the audio's end moves with the AAC encoder's priming; the video's end is exact (no 7.5200000000000005)
    assert _rows(ts) == [("av_mismatch", pytest.approx(5.03, abs=0.03), 7.52, "error")]
    assert _rows(clips["av"], av_tolerance_s=0.6) == []


def test_the_sound_ends_where_its_last_packet_ends_against_the_pictures_start() -> None:
    """framecrc's listing of both streams with their own timestamps, by hand. An MPEG-TS (90 kHz): the
    picture's first packet at 133200 (1.48 s), the sound's last at 492784 lasting 2089 (5.498589 s): with
    the picture's first frame at 0 in the QC pass, the sound ends 4.018589 s in, wherever a block splits a
    line. A millisecond picture from 80 ms (a B-frame delay the QC pass keeps: 0.08) and sound at 48 kHz
    ending at 172801920 ticks: 3600.04 s, an hour in, not its first minute; a packet without a timestamp
    is passed over. No sound packets: ``None``."""
    from reelkit.post.video.qc import _Ends

    ts = (
        b"#tb 0: 1/90000\n#tb 1: 1/90000\n0,     126000,     133200,     3600,     2967, 0x16aa6f17\n"
        b"1,     221110,     221110,     2089,      263, 0x98187cc5, S=1, MPEGTS Stream ID, 1, 0x00c000c0\n"
        b"0,     129600,     136800,     3600,      350, 0xbb0ca693, F=0x0\n"
        b"1,     492784,     492784,     2089,       12, 0x29b805da\n"
    )
    ends = _Ends()
    for k in range(0, len(ts), 50):
        ends.add(ts[k : k + 50])
    assert ends.audio_end(0.0) == pytest.approx(494873 / 90000 - 1.48)
    hour = _Ends()
    hour.add(b"#tb 0: 1/1000\n#tb 1: 1/48000\n0, -40, 80, 40, 9, 0x0\n0, 0, 120, 40, 9, 0x0\n")
    hour.add(
        b"1, -9223372036854775808, -9223372036854775808, 0, 4, 0x0\n1, 172800000, 172800000, 1920, 9, 0x0"
    )
    assert hour.audio_end(0.08) == pytest.approx(3600.04)
    silent = _Ends()
    silent.add(b"#tb 0: 1/1000\n0, 0, 0, 40, 9, 0x0\n")
    assert silent.audio_end(0.0) is None


def test_av_mismatch_names_the_longer_stream_and_over_a_second_is_an_error(
    clips: dict[str, Path], tmp_path: Path
) -> None:
    """3 s of picture and 2.5 s of sound: the video is longer (a warning); with 1.5 s of sound, over
    ``av_error_s`` (1 s) apart, an error."""
    (f,) = video_qc(clips["av"], QCOptions(checks=("av_mismatch",)))
    assert "video is 0.5" in f.message and f.severity == "warning"
    short = _make(
        tmp_path / "short-audio.mp4",
        ["testsrc=size=160x120:rate=25:duration=3", "sine=f=440:duration=1.5:sample_rate=48000"],
        None,
        ["-c:a", "aac"],
    )
    (g,) = video_qc(short, QCOptions(checks=("av_mismatch",)))
    assert g.severity == "error" and g.end_s == pytest.approx(3.0) and "video is 1.5" in g.message


def test_a_freeze_from_the_first_frame_is_a_warning(tmp_path: Path) -> None:
    """Only a freeze over the whole video is an error: frozen 0-2 s of 3 s is a warning."""
    frozen = _make(
        tmp_path / "frozen-head.mp4",
        ["testsrc=size=160x120:rate=25:duration=3"],
        "split[a][b];[a][b]freezeframes=first=1:last=49:replace=0",
    )
    assert _rows(frozen, checks=("freeze",)) == [("freeze", 0.0, 2.0, "warning")]


def test_a_picture_that_starts_after_the_sound_is_a_finding_and_its_head_is_its_first_frame(
    tmp_path: Path,
) -> None:
    """A video stream muxed 0.5 s after its sound gave no finding (a delayed soundtrack is qc's audio_start),
    and the black at the picture's head (0.5-0.9 s) was a warning, measured from the file's start."""
    pic = _make(
        tmp_path / "pic.mp4",
        ["color=black:size=160x120:rate=25:duration=0.4", "mandelbrot=size=160x120:rate=25"],
        "[1]trim=duration=1.6[p];[0][p]concat=n=2",
    )
    clip = tmp_path / "vdelay.mov"
    run_ffmpeg(
        [
            *("-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=2.5:sample_rate=48000"),
            *("-itsoffset", "0.5", "-i", str(pic), "-map", "1:v", "-map", "0:a", "-c:v", "copy"),
            *("-c:a", "pcm_s16le", str(clip)),
        ]
    )  # fmt: skip
    assert _rows(clip, checks=("black",)) == [
        ("video_start", 0.0, 0.5, "warning"),
        ("black", 0.5, 0.9, "info"),
    ]
    assert _rows(pic, checks=("black",)) == [("black", 0.0, 0.4, "info")]  # the picture alone: no lead
    # a B-frame stream without an edit list (a fragmented MP4) starts at x264's reorder delay, 2 frames
    bframes = tmp_path / "bframes.mp4"
    run_ffmpeg(
        [
            *("-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=2"),
            *("-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:v", "libx264", "-preset", "veryfast"),
            *("-c:a", "aac", "-movflags", "frag_keyframe+empty_moov", str(bframes)),
        ]
    )  # fmt: skip
    (note,) = video_qc(bframes, QCOptions(checks=("black",)))
    assert (note.kind, note.end_s, note.severity) == (
        "video_start",
        0.08,
        "info",
    ) and "reorder" in note.message
    # three frames late with no B-frames at all is a delayed stream (3.5 frames of allowance let it pass)
    src = tmp_path / "nob.mp4"
    run_ffmpeg(
        [
            *("-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=2"),
            *("-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-c:v", "libx264", "-bf", "0"),
            *("-pix_fmt", "yuv420p", "-c:a", "aac", str(src)),
        ]
    )  # fmt: skip
    late = tmp_path / "late.mp4"
    run_ffmpeg(["-v", "error", "-itsoffset", "0.12", "-i", str(src), "-i", str(src),
                "-map", "0:v", "-map", "1:a", "-c", "copy", str(late)])  # fmt: skip
    assert _rows(late, checks=("black",)) == [("video_start", 0.0, 0.12, "warning")]


def test_an_order_that_flips_again_within_a_shot_is_no_change_of_field_order(tmp_path: Path) -> None:
    """Progressive testsrc2 (8 s at 24 fps) reads TFF, BFF, TFF, BFF to idet within one shot: one flip
    was judged alone as 'material of both orders joined' (a warning); a shot whose order flips more than
    once is the detector's, all notes."""
    clip = _make(tmp_path / "plain24.mp4", ["testsrc2=size=320x240:rate=24:duration=8"])
    rows = _rows(clip, checks=("interlaced",))
    assert rows and {(kind, severity) for kind, *_, severity in rows} == {("interlaced", "info")}, rows


def test_a_stray_frame_at_an_edit_and_a_flash_before_a_cut_are_flashes(tmp_path: Path) -> None:
    """One frame of bars between two shots was one cut (the scene score is held down right after a change:
    the bars' change to the next shot went unseen), and a white frame 3 frames before a cut made the two
    changes one group judged as cuts (the picture after the cut is not the one before the flash)."""
    size = "size=160x120:rate=25"
    stray = _make(
        tmp_path / "stray.mp4",
        [f"mandelbrot={size}", f"smptebars={size}", f"testsrc={size}"],
        "[0]trim=end_frame=50[a];[1]trim=end_frame=1[b];[2]trim=end_frame=50[c];[a][b][c]concat=n=3",
    )
    assert _rows(stray, checks=("cut", "flash")) == [
        ("flash", 2.0, 2.04, "warning"),
        ("cut", 2.04, None, "info"),
    ]
    f = video_qc(stray, QCOptions(checks=("flash",)))[0]
    assert "third picture between two shots" in f.message
    flash_cut = _make(
        tmp_path / "flash-cut.mp4",
        [f"mandelbrot={size}", f"testsrc2={size}"],
        "[0]trim=end_frame=52,drawbox=c=white:t=fill:enable='eq(n\\,49)'[a];[1]trim=end_frame=50[b];"
        "[a][b]concat=n=2",
    )
    assert _rows(flash_cut, checks=("cut", "flash")) == [
        ("flash", 1.96, 2.0, "warning"),
        ("cut", 2.08, None, "info"),
    ]


def test_black_at_the_head_hides_neither_a_later_freeze_nor_a_later_flash(tmp_path: Path) -> None:
    """0-0.4 s black, then moving picture: frames 1.36-2.4 s frozen (one clip) or one white frame at
    1.4 s (another) are reported; only a freeze or flash inside the black is left to the black finding."""
    black = "color=black:size=160x120:rate=25:duration=0.4"
    mandel = "mandelbrot=size=160x120:rate=25"
    frozen = _make(
        tmp_path / "black-then-freeze.mp4",
        [black, mandel],
        "[1]trim=duration=3,split[x][y];[x][y]freezeframes=first=25:last=49:replace=24[p];[0][p]concat=n=2",
    )
    assert _rows(frozen, checks=("black", "freeze")) == [
        ("black", 0.0, 0.4, "info"),
        ("freeze", 1.36, 2.4, "warning"),
    ]
    flash = _make(
        tmp_path / "black-then-flash.mp4",
        [black, mandel],
        "[1]trim=duration=2,drawbox=c=white:t=fill:enable='eq(n\\,25)'[p];[0][p]concat=n=2",
    )
    assert _rows(flash, checks=("black", "flash")) == [
        ("black", 0.0, 0.4, "info"),
        ("flash", 1.4, 1.44, "warning"),
    ]


def test_a_freeze_over_the_whole_video_is_an_error(tmp_path: Path) -> None:
    """All 75 frames repeat the first (a still, not black): frozen 0-3 s of 3 s is an error."""
    still = _make(
        tmp_path / "frozen-all.mp4",
        ["testsrc=size=160x120:rate=25:duration=3"],
        "split[a][b];[a][b]freezeframes=first=1:last=74:replace=0",
    )
    assert _rows(still, checks=("freeze",)) == [("freeze", 0.0, 3.0, "error")]


def test_bars_are_measured_against_the_height_and_reported_as_the_median_frame(tmp_path: Path) -> None:
    """Letterbox bars need 4% of the height (5 px of 120, whatever the width): 8 px bars in 320x120 are
    found. Bars that change size (by over BAR_JUMP_PX) are a picture of another aspect: each size is a
    finding of its own, with its median frame's bars (0.6 s of 10 px, then 1.4 s of 15 px, was one finding
    of 0-2 s saying 15 px, the first 0.6 s's bars misstated)."""
    wide = _make(tmp_path / "wide.mp4", ["testsrc=size=320x104:rate=25:duration=1"], "pad=320:120:0:8")
    (w,) = video_qc(wide, QCOptions(checks=("letterbox",)))
    assert (w.start_s, w.end_s) == (0.0, 1.0) and "bars 8 px top and 8 px bottom" in w.message
    mixed = _make(
        tmp_path / "mixed-bars.mp4",
        ["testsrc=size=160x100:rate=25:duration=0.6", "testsrc=size=160x90:rate=25:duration=1.4"],
        "[0]pad=160:120:0:10[a];[1]pad=160:120:0:15[b];[a][b]concat=n=2",
    )
    m10, m15 = video_qc(mixed, QCOptions(checks=("letterbox",)))
    assert (m10.start_s, m10.end_s, m15.start_s, m15.end_s) == (0.0, 0.6, 0.6, 2.0)
    assert "160x100 picture in 160x120, bars 10 px top and 10 px bottom" in m10.message
    assert "160x90 picture in 160x120, bars 15 px top and 15 px bottom" in m15.message


def test_text_on_black_has_no_bars(tmp_path: Path) -> None:
    """A slate (3 s of black with a white 280x18 line of 'text' across the middle) was a letterbox and a
    pillarbox of a 280x18 picture: frames mostly black, and a box under 25% of the frame, have no bars.
    A 9:16 picture in a 16:9 frame (32% of its width) and the reverse are bars."""
    slate = _make(
        tmp_path / "slate.mp4",
        ["color=black:size=320x180:rate=25:duration=3"],
        "drawbox=x=20:y=81:w=280:h=18:c=white:t=fill",
    )
    assert video_qc(slate, QCOptions(checks=("letterbox", "pillarbox"))) == []
    phone = _make(
        tmp_path / "phone.mp4", ["mandelbrot=size=102x180:rate=25"], "pad=320:180:109:0,trim=duration=1"
    )
    assert _rows(phone, checks=("letterbox", "pillarbox")) == [("pillarbox", 0.0, 1.0, "warning")]
    wide = _make(
        tmp_path / "wide.mp4", ["mandelbrot=size=180x102:rate=25"], "pad=180:320:0:109,trim=duration=1"
    )
    assert _rows(wide, checks=("letterbox", "pillarbox")) == [("letterbox", 0.0, 1.0, "warning")]
    # a credit roll's box (top bar 55, 48, 41, ... px as the lines move up, 2 s) jumps; bars that change
    # size once (23 px, then 12 px) do not
    from reelkit.post.video.qc import _bars_jump

    roll = [(i * 0.04, 96, 97, 55 - 7 * (i % 8), 7 * (i % 4)) for i in range(50)]
    assert _bars_jump(roll, (3, 4), 2.0) and not _bars_jump(roll, (1, 2), 2.0)
    change = [(i * 0.04, 0, 0, 23 if i < 50 else 12, 23 if i < 50 else 12) for i in range(100)]
    assert not _bars_jump(change, (3, 4), 4.0)


def test_pillarbox_bars_are_measured_against_the_width(tmp_path: Path) -> None:
    """Pillarbox bars need 4% of the width (13 px of 320, whatever the height): 8 px side bars in 320x120
    (2.5% of the width, 6.7% of the height) are none; 14 px ones are."""
    thin = _make(tmp_path / "thin.mp4", ["testsrc=size=304x120:rate=25:duration=1"], "pad=320:120:8:0")
    assert video_qc(thin, QCOptions(checks=("pillarbox",))) == []
    wide = _make(tmp_path / "wide-bars.mp4", ["testsrc=size=292x120:rate=25:duration=1"], "pad=320:120:14:0")
    (w,) = video_qc(wide, QCOptions(checks=("pillarbox",)))
    assert (w.start_s, w.end_s) == (0.0, 1.0) and "bars 14 px left and 14 px right" in w.message


def test_a_picture_short_of_the_container_by_under_half_a_second_is_not_truncated(
    clips: dict[str, Path],
) -> None:
    """Truncated needs the picture to end more than max(0.5 s, 2%) before the container's duration: a
    3 s silent video declared 3.3 s is whole, declared 3.6 s cut short."""
    from dataclasses import replace

    from reelkit.media import probe

    info = probe(clips["freeze"])
    declared = [
        [
            f.message
            for f in video_qc(clips["freeze"], QCOptions(checks=("black",)), info=replace(info, duration_s=d))
        ]
        for d in (3.3, 3.6)
    ]
    assert declared[0] == []
    assert len(declared[1]) == 1 and "the container declares 3.60 s" in declared[1][0]


def test_an_mp4_cut_short_is_an_error(tmp_path: Path) -> None:
    """A faststart MP4 cut to a third (its index in front still lists 6 s; ffmpeg says 'partial file') gave
    a frozen picture and a 0.5 s A/V mismatch as if the 2.1 s decoded were the programme."""
    for name, inputs in (
        ("av", ["testsrc=size=160x120:rate=25:duration=6", "sine=f=440:duration=6:sample_rate=48000"]),
        ("picture", ["testsrc=size=160x120:rate=25:duration=6"]),
    ):
        whole = _make(tmp_path / f"{name}.mp4", inputs, None, ["-c:a", "aac", "-movflags", "+faststart"])
        assert not [f for f in video_qc(whole) if f.kind == "truncated"]
        data = whole.read_bytes()
        cut = tmp_path / f"{name}-cut.mp4"
        cut.write_bytes(data[: len(data) // 3])
        (finding,) = [f for f in video_qc(cut, QCOptions(checks=("black",))) if f.kind == "truncated"]
        assert finding.severity == "error" and finding.end_s == pytest.approx(6.0), name
        assert 0.5 < finding.start_s < 4.0 and "container declares 6.00 s" in finding.message, name


def test_a_damaged_stream_is_an_error(tmp_path: Path) -> None:
    """20 KB of random bytes over the middle of a 4 s MPEG-TS: ffmpeg says 'Packet corrupt', 'error while
    decoding MB', 'corrupt decoded frame' and leaves frames out, and the file passed clean. The decode errors
    are an error finding, placed in the damaged middle, and the frames left out a gap in the timestamps."""
    import random

    whole = _make(tmp_path / "whole.ts", ["testsrc=size=320x180:rate=25:duration=4"])
    assert video_qc(whole) == [f for f in video_qc(whole) if f.kind == "cut"] == []
    data = bytearray(whole.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 20_000] = random.Random(0).randbytes(20_000)
    damaged = tmp_path / "damaged.ts"
    damaged.write_bytes(bytes(data))
    found = video_qc(damaged)
    (errors,) = [f for f in found if f.kind == "decode_errors"]
    assert (
        errors.severity == "error"
        and 0.5 < errors.start_s < 3.5
        and "the stream is damaged" in errors.message
    )
    gaps = [f for f in found if f.kind == "frames_missing"]
    assert gaps and all(
        f.severity == "error" and f.end_s is not None and 1.0 < f.start_s < f.end_s < 3.5 for f in gaps
    )


def test_errors(tmp_path: Path, clips: dict[str, Path]) -> None:
    with pytest.raises(MediaError):
        video_qc(tmp_path / "missing.mp4")
    with pytest.raises(ConfigError):
        video_qc(clips["freeze"], QCOptions(checks=("nope",)))


def test_an_image_of_no_size_is_refused_before_the_decode(tmp_path: Path) -> None:
    """A PNG with a 0x0 header named .mp4: ffmpeg lists a video stream of no size, and video qc and abr
    package failed later with ffmpeg's internals ('Nothing was written into output file', exit 1)."""
    from reelkit.stream.dash import package_dash

    bad = tmp_path / "png.mp4"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(30))
    message = f"{bad}: has no picture size (damaged?); ffmpeg cannot decode its video"
    with pytest.raises(MediaError) as info:
        video_qc(bad)
    assert str(info.value) == message
    with pytest.raises(MediaError) as info:
        package_dash(bad, tmp_path / "stream")
    assert str(info.value) == message and not (tmp_path / "stream").exists()


@pytest.mark.media
def test_ffmpeg_runs_end_at_the_time_limit() -> None:
    import time

    from reelkit.errors import TimeLimitError
    from reelkit.media import run_ffmpeg, stream_ffmpeg, time_limit

    slow = ["-f", "lavfi", "-i", "sine=frequency=440:duration=100000", "-f", "null", "-"]
    start = time.monotonic()
    with time_limit(0.5), pytest.raises(TimeLimitError, match="the job's time limit"):
        run_ffmpeg(slow, what="a long run")
    assert time.monotonic() - start < 5
    start = time.monotonic()  # a run read as it comes, too
    with time_limit(0.5), pytest.raises(TimeLimitError, match="the job's time limit"):
        stream_ffmpeg(slow, on_line=lambda line: None, what="a long run")
    assert time.monotonic() - start < 5
    with time_limit(0.0), pytest.raises(TimeLimitError, match="has passed"):  # nothing starts after it
        run_ffmpeg(["-version"], what="a short run")
    run_ffmpeg(["-f", "lavfi", "-i", "sine=duration=0.1", "-f", "null", "-"])  # outside: no limit
    with time_limit(0.0), time_limit(600), pytest.raises(TimeLimitError):  # nesting never extends a limit
        run_ffmpeg(["-version"])


def test_the_qc_pass_is_read_as_it_comes(tmp_path: Path) -> None:
    """ffmpeg's log of the QC pass (some 1,850 bytes a frame) and the thumbnails were gathered whole, then
    split and converted in one go: 30 min of 64x36 testsrc took 457 MB. They are parsed as they come: a
    minute (1,500 frames, about 2.8 MB of log) peaks at well under a megabyte of Python allocations."""
    import tracemalloc

    clip = _make(
        tmp_path / "minute.mp4", ["testsrc=size=64x36:rate=25:duration=60"], None, ["-preset", "ultrafast"]
    )
    tracemalloc.start()
    try:
        found = video_qc(clip)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert found == [] and peak < 1_500_000, peak


def test_interlace_edges_and_mostly_progressive_runs_from_idet_verdicts_by_hand(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """idet's verdicts of 40 frames at 25 fps given by hand: single-frame TFF on frames 10..29, the lagging
    multi-frame verdict on 13..32. The finding spans frames 10..29, 0.4-1.2 s (not one frame longer); a
    multi-frame run whose frames mostly look progressive on their own (6 TFF, 14 progressive: a quarter
    combed, but not twice as many as progressive) is none."""
    from reelkit.media import MediaInfo, VideoStream
    from reelkit.post.video import qc

    def log(single: range, multi: range) -> str:
        lines = []
        for n in range(40):
            lines.append(f"[Parsed_metadata_5 @ 0x1] frame:{n}    pts:{n}     pts_time:{n * 0.04:g}")
            for kind, tff in (("single", n in single), ("multiple", n in multi)):
                verdict = "tff" if tff else "progressive"
                lines.append(f"[Parsed_metadata_5 @ 0x1] lavfi.idet.{kind}.current_frame={verdict}")
        return "\n".join(lines)

    info = MediaInfo("x.mp4", 1.6, video=[VideoStream(0, "h264", 160, 120, 25.0, "yuv420p")])
    opts = QCOptions(checks=("interlaced",))
    for single, multi, expected in (
        (range(10, 30), range(13, 33), [("interlaced", 0.4, 1.2, "warning")]),
        (range(10, 16), range(10, 30), []),
    ):
        lines = log(single, multi).splitlines()

        def fake(*a: object, on_line: Callable[[str], None], _lines: list[str] = lines, **k: object) -> None:
            for line in _lines:
                on_line(line)

        monkeypatch.setattr(qc, "stream_ffmpeg", fake)
        found = qc.video_qc("x.mp4", opts, info=info)
        assert [(f.kind, f.start_s, f.end_s, f.severity) for f in found] == expected


def test_flashes_tails_and_interlace_edges(tmp_path: Path) -> None:
    fr = 0.04
    mandel = "mandelbrot=size=160x120:rate=25"
    # a 2-frame black flash every 0.4 s in one continuous shot: flashes, not cuts, and no letterbox from
    # the all-black frames (cropdetect gives them inverted boxes)
    blinks = _make(
        tmp_path / "blinks.mp4",
        [mandel],
        "trim=duration=2,drawbox=c=black:t=fill:enable='lt(mod(n\\,10)\\,2)*gte(n\\,10)'",
    )
    found = video_qc(blinks)
    assert {f.kind for f in found} == {"flash"}
    assert [round(f.start_s, 2) for f in found] == [0.4, 0.8, 1.2, 1.6]
    assert all(f.end_s is not None and abs(f.end_s - f.start_s - 2 * fr) < 1e-6 for f in found)
    # 3 black frames (0.12 s) and 13 frozen frames (0.52 s) at the very end are found, as mid-file ones are
    black_tail = _make(
        tmp_path / "black_tail.mp4",
        [mandel, "color=black:size=160x120:rate=25"],
        "[0]trim=duration=2[a];[1]trim=end_frame=3[b];[a][b]concat=n=2",
    )
    (b,) = [f for f in video_qc(black_tail) if f.kind == "black"]
    assert (b.start_s, b.end_s, b.severity) == (pytest.approx(2.0), pytest.approx(2.12), "info")
    freeze_tail = _make(
        tmp_path / "freeze_tail.mp4", [mandel], "trim=duration=2,tpad=stop=12:stop_mode=clone"
    )
    (z,) = [f for f in video_qc(freeze_tail) if f.kind == "freeze"]
    assert z.start_s == pytest.approx(1.96) and z.end_s == pytest.approx(2.48)
    # interlaced frames 50..99 of 150: the edges within a frame of 2.0 and 4.0 (idet's multi-frame verdict
    # alone lagged by 2 and 4 frames)
    mixed = _make(
        tmp_path / "mixed.mp4",
        ["mandelbrot=size=160x120:rate=50"],
        "trim=duration=6,split=3[a][b][c];[a]trim=duration=2,fps=25,setpts=PTS-STARTPTS[a1];"
        "[b]trim=start=2:duration=2,setpts=PTS-STARTPTS,tinterlace=mode=interleave_top,setpts=PTS-STARTPTS[b1];"
        "[c]trim=start=4,fps=25,setpts=PTS-STARTPTS[c1];[a1][b1][c1]concat=n=3",
    )
    (i,) = [f for f in video_qc(mixed) if f.kind == "interlaced"]
    assert abs(i.start_s - 2.0) <= fr + 1e-6 and i.end_s is not None and abs(i.end_s - 4.0) <= fr + 1e-6
    # woven fields encoded as progressive: said so, since fine detail fools the detector the same way
    assert "in a stream flagged progressive" in i.message and "check by eye" in i.message


def test_a_progressive_pattern_read_in_both_field_orders_is_a_note(tmp_path: Path) -> None:
    """testsrc2 is progressive; idet reads it as TFF for a while, then BFF: it was two warnings covering
    the whole clip. Real interlaced video has one field order (the interlaced clip above stays a warning)."""
    src = tmp_path / "ts2.mp4"
    run_ffmpeg(
        [
            *("-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25:duration=5"),
            *("-c:v", "libx264", "-pix_fmt", "yuv420p", str(src)),
        ]
    )
    found = [f for f in video_qc(src, QCOptions(checks=("interlaced",)))]
    assert found and all(f.severity == "info" and "check by eye" in f.message for f in found)


def test_interlacing_is_judged_per_run_and_a_change_of_field_order_is_a_finding(tmp_path: Path) -> None:
    """2 s of TFF weave joined to 2 s of BFF weave (idet: every frame combed, TFF 50, BFF 50) was one note
    for the file ('both field orders: likely fine detail'); each run is one order: two warnings, and the
    change of order at 2.0 s a finding of its own. 2 s of TFF weave cut to 3 s of testsrc2 (whose stray BFF
    verdicts made the whole file's TFF part a note): the TFF part is a warning, testsrc2's flips a note."""
    mandel = "mandelbrot=size=160x120:rate=50"
    mixed = _make(
        tmp_path / "mixed-order.mp4",
        [mandel],
        "trim=duration=4,split[a][b];[a]trim=duration=2,tinterlace=mode=interleave_top,setfield=tff[x];"
        "[b]trim=start=2,setpts=PTS-STARTPTS,tinterlace=mode=interleave_bottom,setfield=bff[y];[x][y]concat",
        ["-flags", "+ildct+ilme"],
    )
    assert _rows(mixed, checks=("interlaced",)) == [
        ("interlaced", 0.0, 2.0, "warning"),
        ("interlaced", 2.0, 4.0, "warning"),
        ("field_order", 2.0, None, "warning"),
    ]
    (change,) = [f for f in video_qc(mixed, QCOptions(checks=("interlaced",))) if f.kind == "field_order"]
    assert "from TFF to BFF" in change.message
    then_ts2 = _make(
        tmp_path / "tff-then-testsrc2.mp4",
        [mandel, "testsrc2=size=320x180:rate=25:duration=3"],
        "[0]trim=duration=2,tinterlace=mode=interleave_top,scale=320:180:interl=1,setsar=1[x];[x][1]concat",
        ["-flags", "+ildct+ilme"],
    )
    found = _rows(then_ts2, checks=("interlaced",))
    assert found[0] == ("interlaced", 0.0, 2.0, "warning")
    assert found[1:] and all(sev == "info" and start >= 2.0 for _, start, _, sev in found[1:])


def test_telecine_and_a_field_order_mismatch_get_their_own_advice(tmp_path: Path) -> None:
    """3:2 pulldown (idet finds a field repeated in 2 frames of 5) was told 'deinterlace before delivery';
    it is to be inverse-telecined to 23.976p. BFF content flagged TFF was 'interlaced (BFF)' without a word
    on the flag."""
    telecined = _make(
        tmp_path / "telecine.mp4",
        ["mandelbrot=size=160x120:rate=24000/1001"],
        "trim=duration=3,telecine=first_field=top:pattern=23,setfield=tff",
        ["-flags", "+ildct+ilme"],
    )
    (tele,) = video_qc(telecined, QCOptions(checks=("interlaced",)))
    assert tele.severity == "warning" and "telecined (3:2 pulldown)" in tele.message
    assert "inverse-telecine to 23.976p" in tele.message and "deinterlace before" not in tele.message
    mismatch = _make(
        tmp_path / "bff-flagged-tff.mp4",
        ["mandelbrot=size=160x120:rate=50"],
        "trim=duration=2,tinterlace=mode=interleave_bottom,setfield=tff",
        ["-flags", "+ildct+ilme", "-x264opts", "tff=1"],
    )
    (bff,) = video_qc(mismatch, QCOptions(checks=("interlaced",)))
    assert "field order mismatch: flagged top first, content bottom first" in bff.message


def test_letterbox_in_a_10_bit_master_and_flashes_against_short_shots(tmp_path: Path) -> None:
    # cropdetect read the limit 24 as a 10-bit level, below limited-range black (64): no bars found
    lbox10 = tmp_path / "lbox10.mov"
    run_ffmpeg(["-v", "error", "-f", "lavfi", "-i", "mandelbrot=s=160x68:r=25", "-t", "2",
                "-vf", "pad=160:90:0:11:black,format=yuv422p10le",
                "-c:v", "prores_ks", "-profile:v", "3", str(lbox10)])  # fmt: skip
    (box,) = video_qc(lbox10)
    assert (box.kind, box.start_s, box.end_s) == ("letterbox", 0.0, pytest.approx(2.0))
    mandel = "mandelbrot=size=160x120:rate=25"
    # one white frame in a continuous shot: a one-frame flash (the scene score marks one change: it was a cut)
    one = _make(tmp_path / "one.mp4", [mandel], "trim=duration=3,drawbox=enable='eq(n\\,40)':c=white:t=fill")
    assert _rows(one) == [("flash", 1.6, pytest.approx(1.64), "warning")]
    # a 3-frame shot between two other shots: two cuts (it was a "flash" and both cuts were dropped)
    short = _make(
        tmp_path / "short.mp4",
        ["smptebars=s=160x120:r=25:d=2", "testsrc=s=160x120:r=25", mandel],
        "[1]trim=end_frame=3,setpts=PTS-STARTPTS[b];[2]trim=duration=2,setpts=PTS-STARTPTS[c];"
        "[0][b][c]concat=n=3",
    )
    assert [(k, t) for k, t, _, _ in _rows(short, checks=("cut", "flash"))] == [("cut", 2.0), ("cut", 2.12)]


def test_a_flash_is_at_most_three_frames(tmp_path: Path) -> None:
    """A 3-frame insert is one flash of '3 frame(s)'; a 4-frame one is two cuts (FLASH_MAX_FRAMES is 3)."""
    mandel = "mandelbrot=size=160x120:rate=25"
    three = _make(
        tmp_path / "three.mp4",
        [mandel],
        "trim=duration=3,drawbox=enable='between(n\\,40\\,42)':c=white:t=fill",
    )
    (flash,) = video_qc(three, QCOptions(checks=("cut", "flash")))
    assert (flash.kind, flash.start_s, flash.end_s) == ("flash", 1.6, pytest.approx(1.72))
    assert ": 3 frame(s) of another picture" in flash.message
    four = _make(
        tmp_path / "four.mp4",
        [mandel],
        "trim=duration=3,drawbox=enable='between(n\\,40\\,43)':c=white:t=fill",
    )
    assert [(k, t) for k, t, _, _ in _rows(four, checks=("cut", "flash"))] == [("cut", 1.6), ("cut", 1.76)]


def test_timecodes_at_23_976_label_the_frame(tmp_path: Path) -> None:
    """Black frames 2400-2423 at 24000/1001 are 00:01:40:00-00:01:41:00 (labelled at 24), not the clock's
    second with the printed 23.98 (00:01:40:02)."""
    clip = _make(
        tmp_path / "ntsc.mp4",
        ["testsrc2=s=96x64:r=24000/1001"],
        "drawbox=t=fill:c=black:enable='between(n,2400,2423)'",
        ["-frames:v", "2460", "-preset", "ultrafast"],
    )
    (black,) = [f for f in video_qc(clip, QCOptions(checks=("black",))) if f.kind == "black"]
    assert black.start_s == pytest.approx(2400 * 1001 / 24000, abs=1e-3)
    assert "00:01:40:00-00:01:41:00" in black.message


def test_findings_carry_the_files_own_timecode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A 29.97 fps MOV whose timecode track starts at 00:00:59;28 (drop-frame), black on frames 2..31:
    frame 2 is labelled 00:01:00;02 (;00 and ;01 of minute 1 do not exist) and frame 32 00:01:01;02. The
    messages, `video qc --json` and the QC report give those labels; the seconds stay the file's."""
    import dataclasses
    import json

    from reelkit.media import probe
    from reelkit.post.qc import render_html, run_qc
    from reelkit.testing.cli import run_cli

    clip = _make(
        tmp_path / "tc.mov",
        ["testsrc2=s=96x64:r=30000/1001", "sine=f=440:sample_rate=48000"],
        "[0]drawbox=t=fill:c=black:enable='between(n,2,31)'[v]",
        [
            "-map",
            "[v]",
            "-map",
            "1",
            "-frames:v",
            "75",
            "-c:a",
            "aac",
            "-t",
            "2.5",
            "-timecode",
            "00:00:59;28",
        ],
    )
    assert probe(clip).start_timecode == "00:00:59;28"
    (black,) = [f for f in video_qc(clip, QCOptions(checks=("black",)))]
    assert black.start_s == pytest.approx(2 * 1001 / 30000, abs=1e-3)
    assert "00:01:00;02-00:01:01;02" in black.message
    code, out, err = run_cli(capsys, "video", "qc", str(clip), "--check", "black", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["start_timecode"] == "00:00:59;28"
    assert [(f["kind"], f["timecode"]) for f in data["findings"]] == [("black", "00:01:00;02")]
    # checks may be given comma-separated too ('black,freeze' was an unknown check); none is refused
    code, out, err = run_cli(capsys, "video", "qc", str(clip), "--check", "black, freeze", "--json")
    assert code == 0 and json.loads(out)["findings"] == data["findings"], err
    code, out, err = run_cli(capsys, "video", "qc", str(clip), "--check", ",", "--json")
    assert code == 2 and "names no check" in err and not out
    report = run_qc(clip, spec="ebu-r128", plot=False)
    assert report.start_timecode == "00:00:59;28"
    row = next(f for f in report.to_dict()["findings"] if f["kind"] == "black")
    assert (row["source_timecode"], row["timecode"]) == ("00:01:00;02", "00:00:00.067")
    html = render_html(report)
    assert "<th>source TC</th>" in html and '<td class="tc">00:01:00;02</td>' in html
    untimed = dataclasses.replace(report, start_timecode=None)
    assert (
        "source TC" not in render_html(untimed)
        and untimed.to_dict()["findings"][0]["source_timecode"] is None
    )
    # a file without a timecode track: no source column, timecodes from zero at the picture's rate
    plain = _make(tmp_path / "plain.mp4", ["testsrc2=s=96x64:r=25"], None, ["-frames:v", "10"])
    assert probe(plain).start_timecode is None
    code, out, err = run_cli(capsys, "video", "qc", str(plain), "--check", "black", "--json")
    assert code == 0 and json.loads(out) == {"start_timecode": None, "findings": []}


def _gappy(path: Path, source: str, graph: str, extra: list[str] | None = None) -> Path:
    """A clip of ``source`` through ``graph`` (which drops frames with ``select``), its timestamps kept."""
    args = ["-v", "error", "-y", "-f", "lavfi", "-i", source, "-vf", graph, "-fps_mode", "passthrough"]
    codec = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    run_ffmpeg([*args, *codec, *(extra or []), str(path)])
    return path


def test_dropped_frames_are_reported_and_the_rest_labelled_at_the_base_rate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """25p for 4 s from 01:00:00:00, black on frames 24-33, frame 60 dropped: ffmpeg averages 24.75 fps (99
    frames in 4 s), but the frames are on the 25 fps grid with one hole. The black is labelled
    01:00:00:24-01:00:01:09, as an edit system shows it (01:00:00:23-01:00:01:08 at the average), and frame 60
    is missing from 2.4 to 2.44 s (01:00:02:10), also in ``--json`` (the average had it for a variable rate:
    no finding). Frames 50-54 dropped from an MP4 (23.75 fps): 5 frames missing from 2.0 to 2.2 s. 29.97
    fps from 00:59:59;00 missing frame 110 of 120 (29.72 fps): the black on frames 90-104 is
    01:00:02;00-01:00:02;15, drop-frame (not 01:00:02:00), the hole 110 * 1001/30000 to 111 * 1001/30000 s."""
    import json

    from reelkit.testing.cli import run_cli

    black = "drawbox=t=fill:c=black:enable='between(n,24,33)'"
    one = _gappy(
        tmp_path / "one.mov",
        "testsrc2=s=96x64:r=25:d=4",
        f"{black},select='not(eq(n,60))'",
        ["-timecode", "01:00:00:00"],
    )
    found = [f for f in video_qc(one, QCOptions(checks=("black",)))]
    assert [(f.kind, f.start_s, f.end_s) for f in found] == [
        ("black", 0.96, 1.36),
        ("frames_missing", 2.4, 2.44),
    ]
    assert "black picture 01:00:00:24-01:00:01:09 (0.40 s)" in found[0].message
    assert "1 frame(s) missing 01:00:02:10-01:00:02:11 (0.04 s)" in found[1].message
    code, out, err = run_cli(capsys, "video", "qc", str(one), "--check", "black", "--json")
    assert code == 0, err
    rows = [(f["kind"], f["timecode"]) for f in json.loads(out)["findings"]]
    assert rows == [("black", "01:00:00:24"), ("frames_missing", "01:00:02:10")]

    five = _gappy(tmp_path / "five.mp4", "testsrc2=s=96x64:r=25:d=4", "select='not(between(n,50,54))'")
    (gap,) = video_qc(five, QCOptions(checks=("black",)))
    assert (gap.kind, gap.start_s, gap.end_s, gap.severity) == ("frames_missing", 2.0, 2.2, "warning")
    assert "5 frame(s) missing 00:00:02:00-00:00:02:05" in gap.message

    df = _gappy(
        tmp_path / "df.mov",
        "testsrc2=s=96x64:r=30000/1001:d=4.004",
        "drawbox=t=fill:c=black:enable='between(n,90,104)',select='not(eq(n,110))'",
        ["-timecode", "00:59:59;00"],
    )
    dark, hole = video_qc(df, QCOptions(checks=("black",)))
    assert (dark.start_s, dark.end_s) == (pytest.approx(3.003), pytest.approx(3.5035))
    assert "01:00:02;00-01:00:02;15" in dark.message
    assert hole.kind == "frames_missing" and "01:00:02;20-01:00:02;21" in hole.message
    assert (hole.start_s, hole.end_s) == (pytest.approx(110 * 1001 / 30000, abs=1e-5), pytest.approx(3.7037))


def test_a_variable_rate_is_not_frames_missing(tmp_path: Path) -> None:
    """2 s at 30 fps then 3 s at 15 fps, black from 3 to 4 s: the 1/15 s intervals are whole multiples of
    1/30 s, but a run of them is another rate, not dropped frames: no frames_missing; the black is 3-4 s."""
    clip = _make(
        tmp_path / "vfr.mp4",
        [
            "testsrc2=s=96x64:r=30:d=2",
            "testsrc2=s=96x64:r=15:d=1",
            "color=black:s=96x64:r=15:d=1",
            "testsrc2=s=96x64:r=15:d=1",
        ],
        "[0][1][2][3]concat=n=4",
        ["-fps_mode", "vfr", "-preset", "ultrafast"],
    )
    assert [(f.kind, f.start_s, f.end_s) for f in video_qc(clip, QCOptions(checks=("black",)))] == [
        ("black", 3.0, 4.0)
    ]


def test_av_mismatch_in_an_mpeg_ts_counts_where_each_stream_starts(tmp_path: Path) -> None:
    """MPEG-TS, 4 s of picture: sound 1 s late and 3 s long ends with it (no finding; the sound's own
    length, 3.04 s, was taken for its end: "video is 0.960 s longer"); sound 1 s late and 2.5 s long ends
    at 3.5 s, 0.5 s before the picture (a warning, not 1.46 s and an error); a picture 1 s late and 3 s
    long under 4 s of sound ends with it (no finding; "audio is 1.040 s longer")."""

    def ts(name: str, video: str, audio: str, video_late: bool) -> Path:
        late = ["-itsoffset", "1"]
        args = ["-v", "error", "-y", *(late if video_late else []), "-f", "lavfi", "-i", video]
        args += [*([] if video_late else late), "-f", "lavfi", "-i", audio, "-map", "0", "-map", "1"]
        codecs = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"]
        run_ffmpeg([*args, *codecs, "-f", "mpegts", str(tmp_path / name)])
        return tmp_path / name

    av = QCOptions(checks=("av_mismatch",))
    ends = ts("ends.ts", "testsrc=s=96x64:r=25:d=4", "sine=f=440:d=3", video_late=False)
    assert video_qc(ends, av) == []
    short = ts("short.ts", "testsrc=s=96x64:r=25:d=4", "sine=f=440:d=2.5", video_late=False)
    (f,) = video_qc(short, av)
    assert (f.kind, f.start_s, f.end_s, f.severity) == (
        "av_mismatch",
        pytest.approx(3.5, abs=0.03),
        4.0,
        "warning",
    )
    assert "video is 0.4" in f.message or "video is 0.5" in f.message
    late = ts("late.ts", "testsrc=s=96x64:r=25:d=3", "sine=f=440:d=4", video_late=True)
    assert [g for g in video_qc(late, av) if g.kind == "av_mismatch"] == []


def test_av_mismatch_gives_the_files_own_timecodes(tmp_path: Path) -> None:
    """3 s of 25 fps picture and 2.5 s of sound in a MOV from 01:00:00:00: the sound ends at frame 62.5,
    labelled 01:00:02:12, the picture at frame 75, 01:00:03:00, as every other finding labels its times
    (the clock's 00:00:02.500 and 00:00:03.000 before)."""
    clip = _make(
        tmp_path / "tc.mov",
        ["testsrc=size=160x120:rate=25:duration=3", "sine=f=440:duration=2.5:sample_rate=48000"],
        None,
        ["-c:a", "pcm_s16le", "-timecode", "01:00:00:00"],
    )
    (f,) = video_qc(clip, QCOptions(checks=("av_mismatch",)))
    assert (f.kind, f.start_s, f.end_s) == ("av_mismatch", 2.5, 3.0)
    assert "audio ends at 01:00:02:12, video at 01:00:03:00: video is 0.500 s longer" in f.message


def test_the_cli_reads_the_pictures_rate_once(
    clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`video qc --json` labels its findings at the rate video_qc labels its messages at: read once and
    handed to video_qc (on a variable-rate file each reading is a pass over every packet's time)."""
    import json

    import reelkit.media as media
    import reelkit.post.video.qc as vqc
    from reelkit.testing.cli import run_cli

    calls: list[str] = []
    real = media.picture_rate

    def counted(path: str | Path, info: media.MediaInfo) -> tuple[object, bool]:
        calls.append(str(path))
        return real(path, info)

    monkeypatch.setattr(media, "picture_rate", counted)
    monkeypatch.setattr(vqc, "picture_rate", counted)
    name = next(iter(clips))
    code, out, err = run_cli(capsys, "video", "qc", str(clips[name]), "--check", "black", "--json")
    assert code == 0 and "findings" in json.loads(out), err
    assert calls == [str(clips[name])]


@pytest.mark.parametrize(
    ("audio_s", "expected"),
    [(2.095, None), (2.105, "warning"), (2.95, "warning"), (3.05, "error")],
)
def test_av_mismatch_thresholds_on_both_sides(tmp_path: Path, audio_s: float, expected: str | None) -> None:
    """2 s of picture and PCM sound (exact lengths): 95 ms apart is within av_tolerance_s (0.1 s), 105 ms is
    a warning, 0.95 s still a warning, 1.05 s past av_error_s (1 s) an error. Moving either threshold by
    10% left every test passing."""
    clip = _make(
        tmp_path / "av.mov",
        ["testsrc2=size=96x64:rate=25:duration=2", f"sine=f=440:duration={audio_s}:sample_rate=48000"],
        None,
        ["-c:a", "pcm_s16le"],
    )
    found = video_qc(clip, QCOptions(checks=("av_mismatch",)))
    assert [f.severity for f in found] == ([] if expected is None else [expected])
    if found:
        assert f"audio is {audio_s - 2:.3f} s longer" in found[0].message
