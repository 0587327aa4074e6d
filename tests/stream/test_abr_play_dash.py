"""DASH packaging with ffmpeg: the ladder, 4 s segments that each decode on their own, the MPD, the CLI."""

from __future__ import annotations

import json
import os
import re
import stat
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from reelkit import media
from reelkit.cli import app
from reelkit.errors import ConfigError, DataFormatError, ToolError
from reelkit.stream.abr import load_mpd
from reelkit.stream.dash import Rendition, load_stream, make_sample_clip, package_dash

pytestmark = pytest.mark.media

LADDER = (Rendition(160, 90, 150), Rendition(256, 144, 400), Rendition(320, 180, 900))


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sample_clip(
        tmp_path_factory.mktemp("clip") / "clip.mp4", duration_s=8, size=(320, 180), source="mandelbrot"
    )


def test_package_ladder_segments_and_mpd(clip: Path, tmp_path: Path) -> None:
    old_umask = os.umask(0o022)  # under 077 the mode the bug left (0700) would be the right one
    try:
        _package_ladder_segments_and_mpd(clip, tmp_path)
    finally:
        os.umask(old_umask)


def _package_ladder_segments_and_mpd(clip: Path, tmp_path: Path) -> None:
    info = media.probe(clip)
    assert info.audio and info.video and info.duration_s == pytest.approx(8.0, abs=0.1)
    stream = package_dash(clip, tmp_path / "s", renditions=list(reversed(LADDER)), preset="ultrafast")
    assert stream.renditions == LADDER  # sorted by bitrate
    assert stream.sizes.shape == (3, 2) and stream.segment_s == 4.0
    # constant bitrate: each segment is close to bitrate x 4 s (container overhead on top)
    expected = np.array([r.bitrate_kbps * 1000 / 8 * 4 for r in LADDER])[:, None]
    ratio = stream.sizes / expected
    assert np.all((ratio > 0.8) & (ratio < 1.35)), ratio
    # the description matches what the ABR MPD reader sees, and survives a round trip
    video = stream.video()
    assert np.array_equal(video.sizes, load_mpd(stream.mpd).sizes)
    assert video.bitrates_kbps.tolist() == [150.0, 400.0, 900.0] and video.chunk_s == 4.0
    again = load_stream(tmp_path / "s")
    assert again.renditions == stream.renditions and np.array_equal(again.sizes, stream.sizes)
    mpd = stream.mpd.read_text()
    assert "<SegmentTimeline>" in mpd and 'maxSegmentDuration="PT4S"' in mpd and "audio" not in mpd
    # each rung has its own init segment: a player may not switch without it (ffmpeg said it may)
    assert "bitstreamSwitching" not in mpd
    # readable as the umask allows (mkdtemp's 0700 kept a web server running as another user out)
    assert stat.S_IMODE(stream.folder.stat().st_mode) == 0o777 & ~0o022  # the umask set below
    # every segment starts with a keyframe: init + that one segment decodes to a full 4 s of frames
    for level in range(3):
        for number in (1, 2):
            one = tmp_path / f"one-{level}-{number}.mp4"
            one.write_bytes(
                (stream.folder / f"init-{level}.m4s").read_bytes()
                + (stream.folder / f"chunk-{level}-{number:05d}.m4s").read_bytes()
            )
            out = media.run_ffmpeg(["-v", "error", "-i", str(one), "-f", "null", "-"], what="decode")
            assert out.returncode == 0
            frames = media.run_ffmpeg(
                ["-v", "error", "-i", str(one), "-map", "0:v", "-c", "copy", "-f", "framecrc", "-"]
            ).stdout.decode()
            assert sum(1 for line in frames.splitlines() if line and not line.startswith("#")) == 96


def test_audio_adaptation_set_and_errors(clip: Path, tmp_path: Path) -> None:
    stream = package_dash(clip, tmp_path / "a", renditions=LADDER[:2], audio=True, preset="ultrafast")
    mpd = stream.mpd.read_text()
    assert 'contentType="audio"' in mpd and stream.audio
    assert load_mpd(stream.mpd).n_levels == 2  # the simulator's video has the video levels only
    with pytest.raises(ConfigError, match="not empty"):
        package_dash(clip, tmp_path / "a", renditions=LADDER[:2])
    with pytest.raises(ConfigError, match="differ"):
        package_dash(clip, tmp_path / "b", renditions=[Rendition(160, 90, 100), Rendition(320, 180, 100)])
    with pytest.raises(ConfigError, match="aspect ratio"):
        package_dash(clip, tmp_path / "b", renditions=[Rendition(160, 90, 100), Rendition(320, 240, 200)])
    with pytest.raises(ConfigError, match="WIDTHxHEIGHT"):
        Rendition.parse("big@fast")
    with pytest.raises(ConfigError, match="even"):
        Rendition.parse("161x90@100")
    assert Rendition.parse("640x360@800") == Rendition(640, 360, 800.0)
    for bad in ("640x360@inf", "64x36@1e9", "640x360@nan", "16384x9216@800"):  # ffmpeg failed after the clip
        with pytest.raises(ConfigError, match="rendition"):
            Rendition.parse(bad)
    with pytest.raises(DataFormatError, match="reelkit abr package"):
        load_stream(tmp_path)
    with pytest.raises(DataFormatError):
        package_dash(tmp_path / "missing.mp4", tmp_path / "c")


def test_the_rendition_bounds_are_inclusive() -> None:
    """16x16 at 1 kbps and 8192x8192 at the top rate are renditions; one pixel or kbps beyond is refused."""
    from reelkit.stream.advice import MAX_RUNG_KBPS

    assert Rendition(16, 16, 1).width == 16 and Rendition(8192, 8192, MAX_RUNG_KBPS).height == 8192
    for bad in ((14, 16, 1.0), (16, 14, 1.0), (8194, 16, 1.0), (16, 16, 0.999)):
        with pytest.raises(ConfigError, match="rendition"):
            Rendition(*bad)


def test_cli_package(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "cli"
    r = runner.invoke(
        app,
        ["abr", "package", "-o", str(out), "--small", "--duration", "8", "--preset", "ultrafast", "--json"],
    )
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout[r.stdout.index("{") :])
    assert doc["segments"] == 2 and [x["bitrate_kbps"] for x in doc["renditions"]] == [100, 250, 500, 1000]
    assert (out / "manifest.mpd").is_file() and (out / "stream.json").is_file()
    assert doc["measured_kbps"] == pytest.approx(
        [b * 8 / 4 / 1000 for b in doc["mean_segment_bytes"]], abs=0.1
    )
    bad = runner.invoke(app, ["abr", "package", "-o", str(tmp_path / "x"), "--ladder", "320x180@fast"])
    assert bad.exit_code != 0 and isinstance(bad.exception, ConfigError)
    assert "WIDTHxHEIGHT" in str(bad.exception)


def test_cli_package_of_a_clip_shorter_than_a_segment(clip: Path, tmp_path: Path) -> None:
    # a 3 s clip is one 3 s segment: its rate is its bytes over 3 s (over 4 s it read a quarter low)
    args = ["--small", "--duration", "3", "--preset", "ultrafast", "--json"]
    r = CliRunner().invoke(app, ["abr", "package", str(clip), "-o", str(tmp_path / "p"), *args])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout[r.stdout.index("{") :])
    assert doc["segments"] == 1
    assert doc["measured_kbps"] == pytest.approx(
        [b * 8 / 3 / 1000 for b in doc["mean_segment_bytes"]], rel=0.02
    )


def test_cli_playback_bad_input(tmp_path: Path) -> None:
    runner = CliRunner()
    trace = tmp_path / "t.txt"
    trace.write_text("0 1\n1 1\n")
    r = runner.invoke(app, ["abr", "playback", "--trace", str(trace), "--algo", "magic"])
    assert r.exit_code != 0 and "unknown algo" in str(r.exception or r.output)
    r = runner.invoke(app, ["abr", "playback", "--trace", str(tmp_path / "none.txt")])
    assert r.exit_code != 0 and isinstance(r.exception, DataFormatError)
    assert "none.txt" in str(r.exception)
    # a --chromium given that is not there: the user's error, said before a stream is built for it
    r = runner.invoke(app, ["abr", "playback", "--trace", str(trace), "--chromium", str(tmp_path / "nope")])
    assert isinstance(r.exception, ConfigError) and "--chromium" in str(r.exception)
    # a trained model (abr train) for a learned algo: refused for another, and a file that is none is said
    # before anything is built
    model = tmp_path / "m.npz"
    model.write_text("not a model")
    r = runner.invoke(app, ["abr", "playback", "--trace", str(trace), "--algo", "bba", "--model", str(model)])
    assert isinstance(r.exception, ConfigError) and "--model is for the learned policies" in str(r.exception)
    r = runner.invoke(
        app, ["abr", "playback", "--trace", str(trace), "--algo", "fugu", "--model", str(model)]
    )
    assert f"{model}: not a reelkit ABR model file" in str(r.exception), r.output


def test_cli_playback_says_dashjs_is_missing_before_building_a_stream(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without dash.js the 24 s sample stream was built (about 8 s) and chromium started before the error,
    which named a script of the source checkout only: it is said first, with $REELKIT_DASHJS."""
    import reelkit.service.routers.abr as abr_routes
    import reelkit.stream.dash as dash

    def no_build(*args: object, **kwargs: object) -> None:
        raise AssertionError("a stream was built before dash.js was looked for")

    monkeypatch.setattr(abr_routes, "dashjs_path", lambda: None)
    monkeypatch.setattr(dash, "make_sample_clip", no_build)
    trace = tmp_path / "t.txt"
    trace.write_text("0 1\n1 1\n")
    chromium = tmp_path / "chromium"
    chromium.write_text("")  # a file: the chromium check passes
    r = CliRunner().invoke(app, ["abr", "playback", "--trace", str(trace), "--chromium", str(chromium)])
    assert isinstance(r.exception, ToolError), r.exception
    assert str(r.exception) == (
        "dash.js is not installed: run scripts/vendor_dashjs.sh (npm ci in web/abr) or set REELKIT_DASHJS to "
        "a dash.all.min.js"
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--segment", "inf"], "segment length"),
        (["--segment", "0"], "segment length"),
        (["--duration", "nan"], "--duration"),
        (["--duration", "-1"], "--duration"),
        (["--preset", "bogus"], "x264 preset"),
        (["--ladder", "320x180@100,640x480@200"], "aspect ratio"),
        (["--ladder", "160x90@0.5"], "--ladder: rendition bitrate must be in [1,"),  # failed in ffmpeg
        (["--ladder", "320x180@100", "--small"], "--small is a ladder of its own"),  # it was ignored
        (["--source", "foo"], "--source 'foo'"),  # after "generating a 48 s foo clip"
    ],
)
def test_cli_package_checks_options_before_encoding(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    needle: str,
) -> None:
    from reelkit.cli import main
    from reelkit.stream import dash

    def no_ffmpeg(*a: object, **k: object) -> None:
        raise AssertionError("ffmpeg ran before the options were checked")

    monkeypatch.setattr(dash.media, "run_ffmpeg", no_ffmpeg)
    with pytest.raises(SystemExit) as exc:
        small = [] if "--ladder" in args else ["--small"]  # a ladder given is the ladder
        main(["abr", "package", "-o", str(tmp_path / "out"), *small, *args])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and needle in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "out").exists()


def test_cli_package_and_playback_bad_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from reelkit.cli import main

    afile = tmp_path / "a.txt"
    afile.write_text("x")
    trace = tmp_path / "t.txt"
    trace.write_text("0 1\n1 1\n")
    for argv, needle in (
        (["abr", "package", "-o", str(afile), "--small"], "is a file"),
        (["abr", "playback", "--trace", str(trace), "--timeout", "-1"], "--timeout"),
        (["abr", "playback", "--trace", str(trace), "--stream", str(tmp_path)], "reelkit abr package"),
    ):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        err = capsys.readouterr().err
        assert exc.value.code == 2 and needle in err and len(err.strip().splitlines()) == 1, (argv, err)


def test_a_ladder_of_the_usual_16_9_sizes_is_one_aspect_ratio(tmp_path: Path) -> None:
    """426x240 and 854x480 are 16:9 to within 0.2%; they were refused as another aspect ratio."""
    from reelkit.stream.dash import check_package_options

    usual = [Rendition(426, 240, 400), Rendition(854, 480, 1000), Rendition(1280, 720, 2500)]
    assert len(check_package_options(tmp_path / "yt", usual)) == 3
    with pytest.raises(ConfigError, match="one aspect ratio"):
        check_package_options(tmp_path / "mixed", [Rendition(640, 360, 400), Rendition(640, 480, 900)])
    # 640x352 is 1.818:1, 2.3% off 16:9: past the 1% a ladder's rungs may differ by
    with pytest.raises(ConfigError, match="one aspect ratio"):
        check_package_options(tmp_path / "near", [Rendition(640, 360, 400), Rendition(640, 352, 900)])


def test_encoder_arguments_by_hand(tmp_path: Path) -> None:
    """Pins the encoder's settings: a GOP of round(29.97 x 4) = 120 frames, keyframes forced every 4 s,
    each rung at its kbps with maxrate = bitrate and a VBV buffer of 2 s of it."""
    from fractions import Fraction

    from reelkit.stream.dash import _dash_args

    ladder = (Rendition(320, 180, 300), Rendition(640, 360, 750))
    args = _dash_args(
        tmp_path / "c.mp4", tmp_path / "m.mpd", ladder, 4.0, Fraction(30000, 1001), False, "veryfast", None
    )

    def value(flag: str) -> str:
        return args[args.index(flag) + 1]

    assert value("-g") == "120" and value("-keyint_min") == "120"
    assert value("-force_key_frames") == "expr:gte(n,n_forced*120)"  # the GOP's frames
    assert [value(f"-{k}:v:1") for k in ("b", "maxrate", "bufsize")] == ["750k", "750k", "1500k"]
    assert value("-seg_duration") == "4.004000" and "-an" in args  # 120 frames at 29.97 fps


def _segment_frames(stream_dir: Path, level: int, number: int, tmp_path: Path) -> list[bool]:
    """Whether each frame of one media segment is a keyframe (init + segment, stream-copied)."""
    one = tmp_path / f"seg-{level}-{number}.mp4"
    one.write_bytes(
        (stream_dir / f"init-{level}.m4s").read_bytes()
        + (stream_dir / f"chunk-{level}-{number:05d}.m4s").read_bytes()
    )
    args = ["-v", "error", "-i", str(one), "-map", "0:v", "-c", "copy", "-f", "framecrc", "-"]
    out = media.run_ffmpeg(args)
    lines = [x for x in out.stdout.decode().splitlines() if x and not x.startswith("#")]
    return [not (m := re.search(r"F=0x([0-9a-fA-F]+)", x)) or bool(int(m.group(1), 16) & 1) for x in lines]


def test_a_segment_length_between_frames_is_rounded_to_whole_frames(tmp_path: Path) -> None:
    """--segment 4.1 at 24 fps (98.4 frames): the GOP was 98 frames while keyframes were forced at t >= 4.1
    s (frame 99), so segments held 99, 196 and 89 frames with keyframes on frames 98 and 99, and
    stream.json said 4.1 s. Segments are 98 frames (4.083 s), each with one keyframe, at its start."""
    clip = make_sample_clip(tmp_path / "c.mp4", duration_s=10, size=(160, 90), fps=24, audio=False)
    stream = package_dash(clip, tmp_path / "s", renditions=LADDER[:1], segment_s=4.1, preset="ultrafast")
    assert stream.segment_s == pytest.approx(98 / 24) and stream.n_segments == 2
    assert load_stream(stream.folder).segment_s == pytest.approx(98 / 24)
    assert [_segment_frames(stream.folder, 0, k, tmp_path) for k in (1, 2)] == [[True] + [False] * 97] * 2
    last = _segment_frames(stream.folder, 0, 3, tmp_path)  # the rest: 240 - 196 frames
    assert last == [True] + [False] * 43


def _iso_s(text: str) -> float:
    assert text.startswith("PT") and text.endswith("S"), text  # under a minute here
    return float(text[2:-1])


def test_the_mpd_states_the_segments_written(tmp_path: Path) -> None:
    """ffmpeg's figures were kept: at 30000/1001 fps 2 s segments of 60 frames last 2.002 s, but the MPD
    said PT2.0S, a presentation of PT6.0S ending at 6.006 s, and each bandwidth the ladder's kbps, under
    what the segments (container included) need by ISO 23009-1's definition."""
    import xml.etree.ElementTree as ET

    clip = tmp_path / "ntsc.mp4"
    src = "mandelbrot=size=320x180:rate=30000/1001"
    media.run_ffmpeg(["-v", "error", "-f", "lavfi", "-i", src, "-t", "6", "-c:v", "libx264", "-preset",
                      "ultrafast", "-pix_fmt", "yuv420p", str(clip)])  # fmt: skip
    stream = package_dash(clip, tmp_path / "s", renditions=LADDER[:2], segment_s=2.0, preset="ultrafast")
    assert stream.n_segments == 3
    # cut to 4 s: two whole segments, though 2 x 2.002 s runs past the 4.0 s asked for (the second was
    # dropped from stream.json as short, never played nor simulated)
    cut = package_dash(clip, tmp_path / "c", renditions=LADDER[:1], segment_s=2.0, preset="ultrafast",
                       max_duration_s=4.0)  # fmt: skip
    assert cut.n_segments == 2 and load_stream(cut.folder).n_segments == 2
    root = ET.parse(stream.mpd).getroot()
    ns = {"d": "urn:mpeg:dash:schema:mpd:2011"}
    min_buffer = _iso_s(root.attrib["minBufferTime"])
    assert _iso_s(root.attrib["maxSegmentDuration"]) == pytest.approx(2.002, abs=0.0011)
    assert _iso_s(root.attrib["mediaPresentationDuration"]) == pytest.approx(6.006, abs=0.0011)
    for level, rep in enumerate(root.iterfind(".//d:Representation", ns)):
        assert rep.attrib["id"] == str(level)
        tpl = rep.find("d:SegmentTemplate", ns)
        assert tpl is not None
        scale = int(tpl.attrib["timescale"])
        durations = [int(s.attrib["d"]) / scale for s in tpl.iterfind(".//d:S", ns)
                     for _ in range(int(s.attrib.get("r", 0)) + 1)]  # fmt: skip
        assert durations == pytest.approx([2.002] * 3, abs=1e-5)
        starts = np.concatenate([[0.0], np.cumsum(durations)[:-1]])
        bits = [8 * (stream.folder / f"chunk-{level}-{k:05d}.m4s").stat().st_size for k in (1, 2, 3)]
        # every segment j delivered at @bandwidth from any segment i on arrives by its time to play
        need = max(sum(bits[i : j + 1]) / (min_buffer + starts[j] - starts[i])
                   for i in range(3) for j in range(i, 3))  # fmt: skip
        need = max(need, sum(bits) / sum(durations))  # and at least the mean rate
        bandwidth = int(rep.attrib["bandwidth"])
        assert need <= bandwidth <= need + 1 and bandwidth > 1000 * LADDER[level].bitrate_kbps


def test_bandwidths_ascend_with_the_ladder() -> None:
    """Measured bandwidths of rungs of near bitrates may cross; players rank levels by them."""
    from reelkit._mpd import _ascending_bandwidths

    text = _ascending_bandwidths(
        '<MPD><AdaptationSet contentType="video"><Representation id="0" bandwidth="103000"/>'
        '<Representation id="1" bandwidth="102500"/><Representation id="2" bandwidth="300400"/>'
        '</AdaptationSet><AdaptationSet contentType="audio"><Representation id="3" bandwidth="66000"/>'
        "</AdaptationSet></MPD>"
    )
    assert re.findall(r'bandwidth="(\d+)"', text) == ["103000", "103001", "300400", "66000"]


def test_segment_times_and_min_bandwidth_by_hand() -> None:
    """Pins a timeline's repeats and a missing t continuing from the segment before, and ISO 23009-1's
    bandwidth over every starting segment: 1000 then 8000 bits, 1 s apart, 1 s minBufferTime need 8000
    bit/s (from the second segment on; from the first, 4500 would do)."""
    from reelkit._mpd import min_bandwidth, segment_times

    rep = '<SegmentTimeline><S t="3" d="10" r="1"/><S d="5"/></SegmentTimeline>'
    assert segment_times(rep) == [(3, 10), (13, 10), (23, 5)]
    assert min_bandwidth([1000, 8000], [0.0, 1.0], 1.0) == pytest.approx(8000.0)


def test_the_presentation_ends_where_the_latest_timeline_ends(tmp_path: Path) -> None:
    """mediaPresentationDuration was the sum of a Representation's segment lengths: a timeline starting at
    1 s with two 2 s segments ends at 5 s, not 4 s."""
    from reelkit._mpd import state_segments

    for k in (1, 2):
        (tmp_path / f"chunk-0-{k:05d}.m4s").write_bytes(b"x" * 1000)
    mpd = tmp_path / "m.mpd"
    hint = "http://standards.iso.org/ittf/PubliclyAvailableStandards/MPEG-DASH_schema_files/DASH-MPD.xsd"
    mpd.write_text(  # ffmpeg's head: its schema hint names the namespace in capitals
        '<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" '
        f'xsi:schemaLocation="urn:mpeg:DASH:schema:MPD:2011 {hint}" '
        'minBufferTime="PT2.0S" mediaPresentationDuration="PT4.0S" maxSegmentDuration="PT2.0S">'
        '<AdaptationSet contentType="audio"><Representation id="0" bandwidth="1">'
        '<SegmentTemplate timescale="1000" media="chunk-$RepresentationID$-$Number%05d$.m4s" startNumber="1">'
        '<SegmentTimeline><S t="1000" d="2000" r="1"/></SegmentTimeline></SegmentTemplate>'
        "</Representation></AdaptationSet></MPD>"
    )
    state_segments(mpd)
    assert 'mediaPresentationDuration="PT5S"' in mpd.read_text()
    # the hint names the namespace the document uses (a validator following it found no schema for <MPD>)
    assert f'xsi:schemaLocation="urn:mpeg:dash:schema:mpd:2011 {hint}"' in mpd.read_text()


def test_a_two_hour_presentation_states_every_millisecond_and_keeps_its_last_segment(tmp_path: Path) -> None:
    """:g kept six digits: 1798 segments of 4.004 s (120 frames at 29.97 fps) end at 7199.192 s, stated as
    PT7199.19S, and load_mpd (so stream.json, the simulator and the service) dropped the last segment."""
    from reelkit._mpd import iso_duration, state_segments

    assert [iso_duration(s) for s in (3.128, 7199.192, 5.0, 2.0, 0.0004, 12016.004, 59.9991)] == [
        "PT3.128S",
        "PT7199.192S",
        "PT5S",
        "PT2S",
        "PT0.001S",
        "PT12016.004S",
        "PT60S",
    ]
    n = 1798
    for k in range(1, n + 1):
        (tmp_path / f"chunk-0-{k:05d}.m4s").write_bytes(b"x" * 100)
    mpd = tmp_path / "m.mpd"
    mpd.write_text(
        '<MPD minBufferTime="PT8.0S" mediaPresentationDuration="PT2H0M0.0S" maxSegmentDuration="PT4.0S">'
        '<AdaptationSet contentType="video"><Representation id="0" bandwidth="1">'
        '<SegmentTemplate timescale="30000" media="chunk-$RepresentationID$-$Number%05d$.m4s">'
        f'<SegmentTimeline><S t="0" d="120120" r="{n - 1}"/></SegmentTimeline></SegmentTemplate>'
        "</Representation></AdaptationSet></MPD>"
    )
    state_segments(mpd)
    text = mpd.read_text()
    assert 'mediaPresentationDuration="PT7199.192S"' in text and 'maxSegmentDuration="PT4.004S"' in text
    assert load_mpd(mpd, chunk_s=4.004).n_chunks == n


def test_audio_starting_after_the_picture_is_padded_to_start_with_it(tmp_path: Path) -> None:
    """Audio 1 s after the picture kept its delay in an edit list alone (MSE ignores it: the tone played
    1 s early), the timeline said it started at 0.98 s while the segment's tfdt said 0, and the presentation
    was the audio's length (6.05 s), ending before the audio. The audio starts at 0 with 1 s of silence."""
    import xml.etree.ElementTree as ET

    clip = tmp_path / "late.mp4"
    tone = "sine=frequency=440:sample_rate=48000"
    media.run_ffmpeg(["-v", "error", "-f", "lavfi", "-t", "6", "-i", "testsrc2=size=160x90:rate=24",
                      "-itsoffset", "1", "-f", "lavfi", "-t", "6", "-i", tone,
                      "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac",
                      str(clip)])  # fmt: skip
    assert media.probe(clip).audio[0].start_s == pytest.approx(1.0, abs=0.05)
    stream = package_dash(clip, tmp_path / "s", renditions=LADDER[:1], audio=True, preset="ultrafast")
    root = ET.parse(stream.mpd).getroot()
    ns = {"d": "urn:mpeg:dash:schema:mpd:2011"}
    (aset,) = [a for a in root.iterfind(".//d:AdaptationSet", ns) if a.attrib["contentType"] == "audio"]
    tpl = aset.find(".//d:SegmentTemplate", ns)
    assert tpl is not None
    scale = int(tpl.attrib["timescale"])
    t, end = 0, 0
    for s in tpl.iterfind(".//d:S", ns):
        t = int(s.attrib.get("t", t))
        if end == 0:
            assert t == 0  # was 0.98 s
        t += int(s.attrib["d"]) * (int(s.attrib.get("r", 0)) + 1)
        end = t
    assert end / scale == pytest.approx(7.0, abs=0.06)
    assert _iso_s(root.attrib["mediaPresentationDuration"]) == pytest.approx(end / scale, abs=0.0011)
    # the samples as MSE appends them (no edit list): 1 s of silence, then the tone
    joined = tmp_path / "audio.mp4"
    rid = len(LADDER[:1])
    parts = [stream.folder / f"init-{rid}.m4s", *sorted(stream.folder.glob(f"chunk-{rid}-*.m4s"))]
    joined.write_bytes(b"".join(p.read_bytes() for p in parts))
    samples, rate = media.decode_audio(joined, channels=1)
    level = np.abs(samples[:, 0])
    assert level[: int(0.9 * rate)].max() < 1e-3 and level[int(1.1 * rate) : int(1.5 * rate)].max() > 0.05


def test_a_truncated_clip_is_refused_not_packaged_short(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A faststart copy of the 8 s clip cut to half its bytes packaged 'successfully' into about 4 s (exit
    0; ffmpeg's 'partial file' and 'Invalid data' were discarded). It is refused, naming the file and where
    its stream would end; a cut (--duration) inside the intact part is packaged."""
    from reelkit.cli import main

    whole = tmp_path / "fs.mp4"
    media.run_ffmpeg(["-v", "error", "-i", str(clip), "-c", "copy", "-movflags", "+faststart", str(whole)])
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert media.probe(cut).duration_s == pytest.approx(8.0, abs=0.1)
    with pytest.raises(SystemExit) as exc:
        main(["abr", "package", str(cut), "-o", str(tmp_path / "out"), "--small", "--preset", "ultrafast"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"{cut}: is damaged or cut short" in err and "of the 8.0 s the file declares" in err
    assert not (tmp_path / "out").exists()
    stream = package_dash(cut, tmp_path / "head", renditions=LADDER[:1], max_duration_s=2, preset="ultrafast")
    assert stream.n_segments == 1


def test_an_interlaced_clip_is_deinterlaced(tmp_path: Path) -> None:
    """A TFF clip (50p motion woven into 25 fps frames) was scaled and encoded as progressive frames: every
    frame combed (idet: all TFF). It is deinterlaced at its own rate: 25 fps, idet finds progressive."""
    clip = tmp_path / "tff.mp4"
    weave = "tinterlace=mode=interleave_top,setfield=tff"
    media.run_ffmpeg(["-v", "error", "-f", "lavfi", "-i", "mandelbrot=size=320x180:rate=50", "-vf", weave,
                      "-t", "4", "-flags", "+ildct+ilme", "-c:v", "libx264", "-preset", "ultrafast",
                      "-pix_fmt", "yuv420p", str(clip)])  # fmt: skip
    assert media.probe(clip).video[0].field_order == "tff"
    stream = package_dash(clip, tmp_path / "s", renditions=LADDER[2:], preset="ultrafast")
    assert stream.fps == 25.0 and stream.n_segments == 1
    joined = tmp_path / "out.mp4"
    parts = [stream.folder / "init-0.m4s", *sorted(stream.folder.glob("chunk-0-*.m4s"))]
    joined.write_bytes(b"".join(p.read_bytes() for p in parts))
    log = media.run_ffmpeg(["-i", str(joined), "-vf", "idet", "-f", "null", "-"]).stderr.decode()
    counts = re.findall(r"Multi frame detection: TFF:\s*(\d+) BFF:\s*(\d+) Progressive:\s*(\d+)", log)
    tff, bff, progressive = (int(x) for x in counts[-1])
    assert tff + bff + progressive == 100 and progressive >= 90, counts


def test_rungs_larger_than_the_clip_are_left_out(clip: Path, tmp_path: Path) -> None:
    """A 1280x720 rung of a 320x180 clip was upscaled without a word; as ``video ladder`` does, rungs above
    the clip are left out with a warning, and a ladder of none of its size is refused before encoding."""
    from reelkit.errors import ReelkitWarning

    big = (Rendition(640, 360, 1500), Rendition(1280, 720, 2850))
    left_out = r"clip's 320x180 picture left out.*: 640x360@1500, 1280x720@2850$"
    with pytest.warns(ReelkitWarning, match=left_out):
        stream = package_dash(clip, tmp_path / "s", renditions=(*LADDER[:2], *big), preset="ultrafast")
    assert stream.renditions == LADDER[:2] and stream.sizes.shape[0] == 2
    assert load_stream(stream.folder).renditions == LADDER[:2]
    with pytest.raises(ConfigError, match="every rung is larger than the clip's 320x180 picture"):
        package_dash(clip, tmp_path / "none", renditions=big, preset="ultrafast")
    assert not (tmp_path / "none").exists()


def test_a_stream_missing_a_segment_is_refused_before_playing(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A folder with a segment deleted: playback started a server and a browser and exited 1 with a JSON
    blob. load_stream checks that every file the MPD references is there (exit 2, naming the file)."""
    from reelkit.cli import main

    stream = package_dash(clip, tmp_path / "s", renditions=LADDER[:2], preset="ultrafast")
    assert load_stream(stream.folder).n_segments == 2
    (stream.folder / "chunk-1-00002.m4s").unlink()
    with pytest.raises(DataFormatError, match=r"s: chunk-1-00002\.m4s missing \(repackage"):
        load_stream(stream.folder)
    trace = tmp_path / "t.txt"
    trace.write_text("0 1\n1 1\n")
    play = ["abr", "playback", "--trace", str(trace), "--stream", str(stream.folder)]
    with pytest.raises(SystemExit) as exc:  # before chromium is looked for: none is given that exists
        main([*play, "--chromium", str(tmp_path / "no-chromium")])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"{stream.folder}: chunk-1-00002.m4s missing" in err
    (stream.folder / "manifest.mpd").unlink()
    with pytest.raises(DataFormatError, match=r"manifest\.mpd missing"):
        load_stream(stream.folder)


def test_a_ladder_of_another_shape_than_the_clip_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each rung is scaled to its size with square pixels: a 90x160 portrait clip packaged with --small
    came out 16:9 (squashed 3.2x), without a word."""
    from reelkit.cli import main
    from reelkit.stream.dash import SMALL_LADDER, check_package_options

    portrait = make_sample_clip(tmp_path / "p.mp4", duration_s=1, size=(90, 160), audio=False)
    with pytest.raises(SystemExit) as exc:
        main(["abr", "package", str(portrait), "-o", str(tmp_path / "out"), "--small"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and len(err.strip().splitlines()) == 1, err
    assert "--ladder" in err and "0.562:1 (90x160)" in err and "e.g. 90x160," in err
    assert not (tmp_path / "out").exists()
    # anamorphic: 120x90 stored, 4:3 pixels, shown 16:9; ffmpeg's [SAR 4:3 DAR 16:9] is read
    wide = tmp_path / "w.mp4"
    media.run_ffmpeg(["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=120x90:rate=24", "-t", "1",
                      "-vf", "setsar=4/3", "-c:v", "libx264", "-preset", "ultrafast", str(wide)])  # fmt: skip
    (v,) = media.probe(wide).video
    assert v.sar == Fraction(4, 3) and v.display_aspect == pytest.approx(16 / 9)
    assert len(check_package_options(tmp_path / "ok", SMALL_LADDER, source=v)) == 4
    square = media.VideoStream(0, "h264", 120, 90, 24.0, "yuv420p")  # 4:3 shown
    with pytest.raises(ConfigError, match=r"1.333:1 \(120x90\)"):
        check_package_options(tmp_path / "no", SMALL_LADDER, source=square)
    # BT.601 SD: 720x576 with 16:11 pixels is 1.818:1 over all 720 columns (704 are the 16:9 picture), 2.3%
    # off 16:9, and was refused; a 16:9 ladder is right for it
    pal_wide = media.VideoStream(0, "h264", 720, 576, 25.0, "yuv420p", sar=Fraction(16, 11))
    assert len(check_package_options(tmp_path / "pal", SMALL_LADDER, source=pal_wide)) == 4


def test_the_suggested_sizes_keep_each_rungs_pixels_rounded_to_even(tmp_path: Path) -> None:
    """For a 4:3 clip the --small ladder's pixel counts in 4:3, each side rounded to the nearest even number:
    160x90 (14400 px) is sqrt(14400*4/3) = 138.6 -> 138 by sqrt(14400*3/4) = 103.9 -> 104."""
    from reelkit.stream.dash import SMALL_LADDER, check_package_options

    square = media.VideoStream(0, "h264", 120, 90, 24.0, "yuv420p")
    with pytest.raises(ConfigError, match=r"e\.g\. 138x104, 166x124, 222x166, 278x208$"):
        check_package_options(tmp_path / "no", SMALL_LADDER, source=square)


def test_a_film_rate_is_kept_exactly(tmp_path: Path) -> None:
    """23.976 fps was resampled to 23.98 (ffmpeg's printout), a duplicated frame every ~250 s; the
    stream keeps 24000/1001."""
    clip = tmp_path / "film.mp4"
    src = "testsrc2=size=160x90:rate=24000/1001"
    media.run_ffmpeg(["-v", "error", "-f", "lavfi", "-i", src, "-t", "3", "-c:v", "libx264", "-preset",
                      "ultrafast", "-pix_fmt", "yuv420p", str(clip)])  # fmt: skip
    stream = package_dash(clip, tmp_path / "s", renditions=LADDER[:1], segment_s=2.0, preset="ultrafast")
    assert 'frameRate="24000/1001"' in stream.mpd.read_text()
    assert stream.fps == pytest.approx(24000 / 1001, abs=1e-9)


def test_a_segment_shorter_than_a_frame_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 1 fps clip with --segment 0.5: the stream said 0.5 s segments (24 of them) while each held a 1 s
    frame (12 files)."""
    from reelkit.cli import main

    clip = make_sample_clip(tmp_path / "one.mp4", duration_s=3, size=(160, 90), fps=1, audio=False)
    with pytest.raises(SystemExit) as exc:
        main(["abr", "package", str(clip), "-o", str(tmp_path / "out"), "--small", "--segment", "0.5"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and len(err.strip().splitlines()) == 1, err
    assert "--segment" in err and "shorter than a frame at 1 fps" in err and "at least 1 s" in err
    assert not (tmp_path / "out").exists()


def test_a_segment_of_one_frame_is_taken_and_the_advised_length_suffices(tmp_path: Path) -> None:
    """One frame per segment is allowed (0.5 s at 2 fps, 1 s at 1 fps); at 1.2 fps a frame is 833.3 ms, so
    the refusal advises 0.834 s (rounded up: 0.833 s would still be refused) and that is taken."""
    from reelkit.stream.dash import SMALL_LADDER, check_package_options

    assert len(check_package_options(tmp_path / "a", SMALL_LADDER, segment_s=0.5, fps=2.0)) == 4
    assert len(check_package_options(tmp_path / "b", SMALL_LADDER, segment_s=1.0, fps=1.0)) == 4
    with pytest.raises(ConfigError, match=r"at 1\.2 fps; give at least 0\.834 s$"):
        check_package_options(tmp_path / "c", SMALL_LADDER, segment_s=0.8, fps=1.2)
    assert len(check_package_options(tmp_path / "d", SMALL_LADDER, segment_s=0.834, fps=1.2)) == 4


def test_mpd_iso_durations_by_hand() -> None:
    """Pins the manifest's ISO 8601 durations: PT1H2M3.5S is 3723.5 s, PT1M30S 90 s."""
    from reelkit._mpd import _iso_seconds

    assert _iso_seconds("PT1H2M3.5S") == pytest.approx(3723.5)
    assert _iso_seconds("PT1M30S") == pytest.approx(90.0)


def test_simulate_and_playback_score_a_packaged_stream_on_one_ladder(
    clip: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``abr simulate --video`` a packaged folder scored QoE on the MPD's bandwidths (a few % above each
    rung), ``abr playback`` on stream.json's nominal ladder: 0.5977 against 0.5833 per chunk for the same
    levels. Both read stream.json's ladder now, the QoE's bitrate utility."""
    from reelkit.cli import main
    from reelkit.stream.abr import load_video_dir
    from reelkit.stream.abr.qoe import get_qoe
    from reelkit.stream.playback import PlayedChunk, compare_with_simulator
    from reelkit.stream.shaping import step_trace

    stream = package_dash(clip, tmp_path / "s", renditions=LADDER, preset="ultrafast")
    assert load_mpd(stream.mpd).bitrates_kbps.tolist() != [150.0, 400.0, 900.0]  # the bandwidths
    for given in (stream.folder, stream.mpd):
        assert load_video_dir(given) == stream.video()
        assert load_video_dir(given).bitrates_kbps.tolist() == [150.0, 400.0, 900.0]
    traces = tmp_path / "traces"
    traces.mkdir()
    (traces / "t").write_text("0 0.6\n100 0.6\n")
    args = ["--traces", str(traces), "--video", str(stream.folder), "--algo", "bba", "--json"]
    with pytest.raises(SystemExit) as exc:
        main(["abr", "simulate", *args])
    assert exc.value.code in (0, None)
    simulated = json.loads(capsys.readouterr().out)
    # playback's side: the simulator's run on the same trace, as a player log that matches it level for level
    played = compare_with_simulator(
        [PlayedChunk(k, 0, 0.0, 1.0, 0.0, 0.0, 0.0) for k in range(2)],
        step_trace([(100.0, 0.6)]),
        stream.video(),
        "bba",
    )
    levels = played.sim_levels
    rewards = get_qoe("lin").rewards(levels, np.zeros(2), np.asarray([150.0, 400.0, 900.0]), 1)
    assert simulated["per_trace"][0]["qoe_per_chunk"] == pytest.approx(played.sim_qoe)
    assert played.sim_qoe == pytest.approx(float(rewards[1]))


@pytest.mark.parametrize("exchange", [True, False], ids=["one-step", "two-renames"])
def test_an_overwrite_stopped_mid_swap_leaves_a_whole_package(
    clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exchange: bool
) -> None:
    """``--overwrite`` removed the old folder, then moved the new one in: a Ctrl-C during the removal left
    half the old package (19 of 22 files) and removed the new one too. Whatever the swap is stopped in,
    the folder holds one whole package, and the next packaging clears what was left beside it."""
    import shutil

    from reelkit import _files

    one = (Rendition(160, 90, 150),)
    package_dash(clip, tmp_path / "s", renditions=one, preset="ultrafast", max_duration_s=4)
    if not exchange:
        monkeypatch.setattr(_files, "_exchange", lambda a, b: False)
    real = shutil.rmtree
    calls: list[str] = []

    def stopped(path: object, *args: object, **kwargs: object) -> None:
        if Path(str(path)).is_dir():
            calls.append(str(path))
        if (
            len(calls) == 1 and Path(str(path)).is_dir()
        ):  # the first removal of a folder: stopped after a file
            next(p for p in Path(str(path)).iterdir() if p.is_file()).unlink()
            raise KeyboardInterrupt
        real(path, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(shutil, "rmtree", stopped)
    with pytest.raises(KeyboardInterrupt):
        package_dash(
            clip, tmp_path / "s", renditions=one, preset="ultrafast", max_duration_s=4, overwrite=True
        )
    monkeypatch.setattr(shutil, "rmtree", real)
    assert calls, "the swap removed nothing"
    stream = load_stream(tmp_path / "s")  # every file its MPD names is there
    assert stream.sizes.shape == (1, 1)
    package_dash(clip, tmp_path / "s", renditions=one, preset="ultrafast", max_duration_s=4, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s"]
