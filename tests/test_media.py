"""reelkit.media's readings of ffmpeg: the stream description probe parses, exact frame rates, and when a
decoded stream counts as cut short (the runs of ffmpeg themselves are tested where they are used)."""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from reelkit import media
from reelkit.errors import MediaError, ToolError

#: What ``ffmpeg -i`` prints for a sideways phone clip of an hour, a PAL interlaced stream and a WebM stream
#: whose base rate is the 1 kHz timebase (no ffprobe: probe parses this text).
_PROBED = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'clip.mp4':
  Duration: 01:02:03.50, start: 0.000000, bitrate: 1000 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709, progressive), \
1920x1080 [SAR 1:1 DAR 16:9], 5000 kb/s, 29.97 fps, 29.97 tbr, 90k tbn (default)
    Side data:
      displaymatrix: rotation of -90.00 degrees
  Stream #0:1[0x2](eng): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, 5.1, fltp, 384 kb/s (default)
  Stream #0:2[0x3](und): Video: h264 (Main), yuv420p(top first), 720x576 [SAR 16:15 DAR 4:3], 25 fps, \
50 tbr, 1k tbn
  Stream #0:3: Video: vp8, yuv420p(progressive), 640x480 [SAR 0:1 DAR 0:1], 30 fps, 1k tbr, 1k tbn
At least one output file must be specified
"""


def test_probe_reads_durations_rotations_rates_and_layouts(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Known answers for probe's parse: 01:02:03.50 is 3723.5 s, a -90 degree display matrix is 270 (the
    picture reported upright), 25 fps at a 50 tbr field rate is not variable, 1k is 1000 and SAR 0:1 none."""
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"")

    def ffmpeg(cmd: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(cmd, 1, "", _PROBED)

    monkeypatch.setattr(media.subprocess, "run", ffmpeg)
    info = media.probe(clip)
    assert info.duration_s == pytest.approx(3723.5)
    phone, pal, web = info.video
    assert (phone.width, phone.height, phone.rotation) == (1080, 1920, 270)
    assert phone.rate == Fraction(30000, 1001) and not phone.variable_rate
    assert (pal.field_order, pal.fps, pal.tbr, pal.sar) == ("tff", 25.0, 50.0, Fraction(16, 15))
    assert not pal.variable_rate and pal.display_aspect == pytest.approx(4 / 3)
    assert (web.fps, web.tbr, web.variable_rate, web.sar) == (30.0, 1000.0, True, None)
    (audio,) = info.audio
    assert (audio.sample_rate, audio.channels, audio.layout) == (48000, 6, "5.1")


#: Tiny pictures as ``ffmpeg -i`` prints them: one-digit sizes after a codec tag of hex digits, and a tag of
#: zeros ("0x0000") before one
_TINY = """Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'tiny.mp4':
  Duration: 00:00:01.00, start: 0.000000, bitrate: 10 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 2x2 \
[SAR 1:1 DAR 1:1], 8 kb/s, 25 fps, 25 tbr, 12800 tbn (default)
  Stream #0:1: Video: ffv1, yuv420p(tv, progressive), 8x8, SAR 1:1 DAR 1:1, 25 fps, 25 tbr, 1k tbn
  Stream #0:2: Video: rawvideo ([0][0][0][0] / 0x0000), bgr24, 1x1, 25 fps, 25 tbr, 25 tbn
  Stream #0:3: Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 1920x1080, 25 fps, 25 tbr, 1k tbn
At least one output file must be specified
"""


def test_probe_reads_one_digit_sizes_and_no_size_in_a_codec_tag(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """2x2, 8x8 and 1x1 are read as they are (they were 0x0), and neither "0x31637661" nor "0x0000" in a
    codec tag is taken for the size that follows it."""
    clip = tmp_path / "tiny.mp4"
    clip.write_bytes(b"")

    def ffmpeg(cmd: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(cmd, 1, "", _TINY)

    monkeypatch.setattr(media.subprocess, "run", ffmpeg)
    sizes = [(v.width, v.height) for v in media.probe(clip).video]
    assert sizes == [(2, 2), (8, 8), (1, 1), (1920, 1080)]


def test_frame_rate_snaps_only_ntsc_rates_to_their_exact_value() -> None:
    """23.98 is 24000/1001 and 59.94 is 60000/1001, but 24 and 25 fps stay whole (24 is 0.024 from 23.976)."""
    assert media.frame_rate(23.98) == Fraction(24000, 1001)
    assert media.frame_rate(29.97) == Fraction(30000, 1001)
    assert media.frame_rate(59.94) == Fraction(60000, 1001)
    assert media.frame_rate(24.0) == 24
    assert media.frame_rate(25.0) == 25


def test_frame_rate_snaps_47_95_to_48000_over_1001() -> None:
    """ffmpeg prints 48000/1001 (HFR film at NTSC) as 47.95: its exact rate, not 959/20."""
    assert media.frame_rate(47.95) == Fraction(48000, 1001)


def test_the_rate_is_the_average_and_frames_are_labelled_at_the_base_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ffmpeg prints the average: 25 fps missing 1 frame in 250 averages 24.90. The stream's rate stays that
    average (encodes, frame pairing and --align match the frames' own times over the title: the base rate
    moved a phone clip's VMAF from 96 to 77); what QC labels the frames at is picture_rate's, read from the
    packets' times: 25 for an MP4 (24.90 fps, 25 tbr) and for the same stream in Matroska (24.90 for both),
    the average again for a timecode rate that is its base rate (no packets read)."""

    def stream(fps: float, tbr: float) -> media.VideoStream:
        return media.VideoStream(0, "h264", 320, 180, fps, "yuv420p", tbr=tbr)

    assert stream(24.90, 25.0).rate == Fraction(249, 10)
    assert stream(29.97, 30.0).rate == Fraction(30000, 1001)
    holes = [k * 0.04 for k in range(250) if k != 10]
    monkeypatch.setattr(media, "video_times", lambda path: holes)
    for fps, tbr in ((24.90, 25.0), (24.90, 24.90)):
        info = media.MediaInfo("x.mp4", 10.0, video=[stream(fps, tbr)])
        assert media.picture_rate("x.mp4", info) == (25, False)

    def no_packets(path: str) -> list[float]:
        raise AssertionError("a timecode rate that is its base rate needs no packet times")

    monkeypatch.setattr(media, "video_times", no_packets)
    assert media.picture_rate("x.mp4", media.MediaInfo("x.mp4", 10.0, video=[stream(25.0, 25.0)])) == (
        25,
        False,
    )


def test_frame_times_on_one_grid_with_holes_are_a_constant_rate() -> None:
    """Frames every 40 ms with frame 5 missing (0.16 to 0.24 s) or frames 50-54 missing (1.96 to 2.16 s) are
    25 fps; 29.97 fps at a millisecond clock (33 or 34 ms apart) with frame 7 missing is 30000/1001 (120
    frames in 4.004 s). 30 then 15 fps (a run of 1/15 s intervals: another rate, not holes) and
    24 then 30 fps (41.7 and 33.4 ms: no one grid) are variable: None. So are fewer than 4 intervals."""
    assert media.steady_rate([k * 0.04 for k in range(12) if k != 5], 25.0) == 25
    assert media.steady_rate([k * 0.04 for k in range(100) if not 50 <= k <= 54], 23.75) == 25
    ms = [round(k * 1001 / 30) / 1000 for k in range(121) if k != 7]
    assert media.steady_rate(ms, 29.97) == Fraction(30000, 1001)
    assert media.steady_rate(ms, None) == Fraction(30000, 1001)
    assert media.steady_rate([k / 30 for k in range(60)] + [2 + k / 15 for k in range(30)], 30.0) is None
    mixed = [k * 1001 / 24000 for k in range(24)] + [1.001 + k * 1001 / 30000 for k in range(30)]
    assert media.steady_rate(mixed, 29.97) is None
    assert media.steady_rate([0.0, 0.04, 0.12, 0.16], 25.0) is None
    # a run of 3 doubled intervals is another rate (variable); 2 are holes (RATE_RUN, not pinned before)
    u = 1 / 30
    for run, rate in ((3, None), (2, 30)):
        t = [k * u for k in range(20)]
        t += [t[-1] + 2 * u * k for k in range(1, run + 1)]
        t += [t[-1] + u * k for k in range(1, 20)]
        assert media.steady_rate(t, 30.0) == rate, run
    # a long hole on the grid is frames missing too (a clip that lost 0.8 s; a screen recorder's holds of a
    # still picture are reported so: a deliverable is at one rate)
    assert media.steady_rate([k * 0.04 for k in range(250) if not 100 <= k < 120], 25.0) == 25


def test_packets_an_edit_list_hides_are_not_the_pictures_times() -> None:
    """An MP4 cut with -c copy keeps the frames before the cut's keyframe, flagged discard (F=0x4), at times
    before 0: they are not the picture's (its first packet read -1.32 s: audio '1.139 s longer', an error)."""
    assert media.discarded("0,     -17920,     -16896,      512,     4739, 0xbf06af3e, F=0x5")
    assert media.discarded("0,     -17408,     -14848,      512,     2193, 0xc0163ddb, F=0x4")
    assert not media.discarded("0,          0,          0,      512,     4739, 0xbf06af3e, F=0x1")
    assert not media.discarded("1,       1024,       1024,     1024,      371, 0x9ed2b0a1")


def test_a_sideways_clips_aspect_stretches_its_stored_width() -> None:
    """Stored 1920x1080 at SAR 4:3 and turned 90 degrees it shows 1080 wide and 2560 tall: 0.421875."""
    clip = media.VideoStream(0, "h264", 1080, 1920, 25.0, "yuv420p", rotation=90, sar=Fraction(4, 3))
    assert clip.display_aspect == pytest.approx(1080 / 2560)


def test_a_runs_own_timeout_is_shortened_to_the_jobs_limit() -> None:
    """A 600 s timeout inside a 5 s job limit gets at most 5 s; without a limit it keeps its own."""
    with media.time_limit(5.0):
        left = media._limit(600.0, "a run")
        assert left is not None and 4.0 < left <= 5.0
    assert media._limit(600.0, "a run") == 600.0


def test_ends_short_allows_the_larger_of_half_a_second_and_two_percent() -> None:
    """A 100 s stream may end 2 s early (2 %), a 10 s one 0.5 s; more than that is cut short."""
    assert not media.ends_short(100.0, 98.5) and media.ends_short(100.0, 97.9)
    assert not media.ends_short(10.0, 9.6) and media.ends_short(10.0, 9.4)
    assert not media.ends_short(None, 0.0)


def test_decoding_an_audio_stream_past_the_last_is_a_media_error(tmp_path: Path) -> None:
    """A file of one soundtrack has no stream 1: a MediaError naming it, not an IndexError."""
    clip = tmp_path / "one.wav"
    info = media.MediaInfo(str(clip), 1.0, audio=[media.AudioStream(0, "pcm_s16le", 48000, 2, "stereo")])
    with pytest.raises(MediaError, match="has no audio stream 1"):
        media.decode_audio(clip, stream=1, info=info)


@pytest.mark.media
def test_a_wav_keeps_a_layout_of_its_own(tmp_path: Path) -> None:
    """Three channels FL+FR+TBL written to a WAV read back as that layout (its channel mask), not 3.0."""
    out = media.write_audio(tmp_path / "x.wav", np.zeros((480, 3), np.float32), 48000, layout="FL+FR+TBL")
    (audio,) = media.probe(out).audio
    assert (audio.channels, audio.layout) == (3, "FL+FR+TBL")


def test_a_failure_quotes_the_lines_that_say_what_went_wrong() -> None:
    """ffmpeg's last three lines were quoted: the statistics and "Conversion failed!", not the cause."""
    with pytest.raises(ToolError, match="No such filter: 'nosuchfilter'"):  # its last three lines lack it
        media.run_ffmpeg(["-f", "lavfi", "-i", "nosuchfilter", "-f", "null", "-"])
    lines = [
        "[in#0/mpegts @ 0x1] Packet corrupt (stream = 0, dts = 140400).",
        "[Parsed_libvmaf_8 @ 0x2] input width must match.",
        "[Parsed_libvmaf_8 @ 0x2] input height must match.",
        "[fc#0 @ 0x3] Error reinitializing filters!",
        "[fc#0 @ 0x3] Task finished with error code: -22 (Invalid argument)",
        "[out#0/null @ 0x4] video:1KiB audio:0KiB subtitle:0KiB other streams:0KiB global headers:0KiB",
        "frame=    2 fps=0.0 q=-0.0 Lsize=N/A time=00:00:00.08 bitrate=N/A speed=4.33x",
        "Conversion failed!",
    ]
    said = media._failure(lines)
    assert said.startswith("[Parsed_libvmaf_8 @ 0x2] input width must match. / ")
    assert said.endswith(" / Conversion failed!") and "\n" not in said and "frame=" not in said
    assert media._failure(["a", "b", "c", "d"]) == "b / c / d"  # nothing says why: the last three
    # the cause said without "error": an unknown option (the first cut quoted only "Error splitting ...")
    with pytest.raises(ToolError, match="Unrecognized option 'bogusopt'"):
        media.run_ffmpeg(["-bogusopt", "1", "-f", "lavfi", "-i", "testsrc2=d=0.1", "-f", "null", "-"])
    # a damaged picture's decoder lines say "error" on every block: they do not crowd out the cause
    noisy = [
        "[h264 @ 0x5] error while decoding MB 9 2, bytestream -7",
        "[h264 @ 0x5] concealing 120 DC, 120 AC, 120 MV errors in P frame",
        *lines,
    ]
    assert "input width must match" in media._failure(noisy) and "decoding MB" not in media._failure(noisy)


def test_a_streamed_failure_quotes_ffmpegs_lines_not_its_progress_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``-progress pipe:2`` (the VMAF pass's progress bar) ffmpeg's stderr ends in ``key=value`` lines:
    where no line says why, the failure quotes ffmpeg's own last lines, not ``progress=end``."""
    fake = tmp_path / "ffmpeg"
    fake.write_text(
        "#!/bin/sh\necho 'Stream #0:0: Video: rawvideo' >&2\necho 'the last line of its own' >&2\n"
        "printf 'frame=3\\nfps=0.0\\nout_time=00:00:00.120000\\nprogress=end\\n' >&2\nexit 1\n"
    )
    fake.chmod(0o755)
    monkeypatch.setattr(media, "ffmpeg_exe", lambda: str(fake))
    seen: list[str] = []
    with pytest.raises(ToolError) as err:
        media.stream_ffmpeg(["-progress", "pipe:2"], on_line=seen.append, what="scoring")
    assert str(err.value) == (
        "scoring: ffmpeg failed: Stream #0:0: Video: rawvideo / the last line of its own"
    )
    assert seen[-1] == "progress=end"  # the caller still sees every line


@pytest.mark.media
def test_a_written_file_holding_fewer_channels_than_given_is_refused(tmp_path: Path) -> None:
    """Six channels encoded with an option that downmixes (``-ac 2``, as an encoder's limit would): the
    file read back holds 2, so nothing is written and the error says so (a downmix was reported as a
    success)."""
    x = np.tile(np.linspace(-0.1, 0.1, 4800, dtype=np.float32)[:, None], (1, 6))
    out = tmp_path / "o.m4a"
    with pytest.raises(MediaError, match=r"o\.m4a: the file written holds 2 channels, not the 6 given"):
        media.write_audio(out, x, 48000, layout="5.1", extra=("-ac", "2"))
    assert list(tmp_path.iterdir()) == []
    media.write_audio(out, x, 48000, layout="5.1")  # without it, all six
    assert [(a.channels, a.layout) for a in media.probe(out).audio] == [(6, "5.1")]


def test_a_quicktime_pcm_soundtrack_is_replaced_in_its_own_codec() -> None:
    """A MOV's big-endian PCM (pcm_s24be) was no codec the writer kept: replaced as AAC, a stereo master
    became lossy and 10 channels were refused as 'AAC holds at most 8'. It keeps its codec, so any count."""
    assert media._SAME_ENCODER["pcm_s24be"] == "pcm_s24be"
    media.check_channels("out.mov", 10, replacing="pcm_s24be")  # no refusal: PCM holds them
    with pytest.raises(MediaError, match=r"AAC \(the audio codec of this \.mov file\) holds at most 8"):
        media.check_channels("out.mov", 10, replacing="aac")


def test_stopping_kills_and_reaps_every_child_before_returning() -> None:
    """stop_children killed the ffmpeg runs and returned at once: a fresh-clone CI run found a killed libvmaf
    run still exiting after the command had returned. It waits (bounded) until each is gone, and starts no
    more until allowed again."""
    child = media._start(["sleep", "60"], "a stand-in run")
    try:
        media.stop_children(wait_s=10.0)
        assert child.returncode is not None and child.returncode < 0  # killed and reaped, not just signalled
        with pytest.raises(ToolError, match="not started, the process is stopping"):
            media._start(["sleep", "1"], "another run")
    finally:
        media.allow_children()
        if child.poll() is None:
            child.kill()
            child.wait()
        media._LIVE.discard(child)


_MANIFEST = """<!-- an XML comment first: ffmpeg still finds the MPD -->
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011"
 type="static" mediaPresentationDuration="PT10S" minBufferTime="PT1S"><Period>
 <AdaptationSet mimeType="video/mp4"><Representation id="v" bandwidth="64000" codecs="avc1.64000a">
 <BaseURL>{target}</BaseURL></Representation></AdaptationSet></Period></MPD>
"""


@pytest.mark.media
def test_untrusted_inputs_do_not_open_the_files_a_manifest_names(tmp_path: Path) -> None:
    """An upload that was a DASH manifest (an XML comment first passed the service's test of its first
    bytes) made ffmpeg open a file of the server it named: within ``untrusted_inputs`` it is unreadable,
    while media files, pipes and filter graphs read as before."""
    clip = tmp_path / "private.mp4"
    media.run_ffmpeg(
        ["-v", "error", "-f", "lavfi", "-i", "testsrc=d=1:s=64x48:r=10", "-c:v", "libx264", str(clip)]
    )
    upload = tmp_path / "upload.mp4"
    upload.write_text(_MANIFEST.format(target=clip))
    assert media.probe(upload).duration_s == 10.0  # read as a manifest, which opens the clip
    with media.untrusted_inputs():
        with pytest.raises(MediaError, match="cannot read this file"):
            media.probe(upload)
        with pytest.raises(ToolError):
            media.run_ffmpeg(["-v", "error", "-i", str(upload), "-f", "null", "-"])
        assert media.probe(clip).duration_s == pytest.approx(1.0)
        media.run_ffmpeg(["-v", "error", "-f", "lavfi", "-i", "sine=d=0.1", "-f", "null", "-"])
    assert media.probe(upload).duration_s == 10.0  # only within the block


@pytest.mark.media
@pytest.mark.parametrize("offset", [None, "10"])
def test_a_transport_streams_soundtrack_starts_with_its_picture(tmp_path: Path, offset: str | None) -> None:
    """An MPEG-TS starts its timestamps at 1.4 s (and past 10 s with an offset): a stream's start is read
    against the file's, so the soundtrack starts at 0, not 1.4 (or 11.38) s, which normalisation would
    have padded with silence (subtracting the file's start was not tested: a MOV starts at 0)."""
    ts = tmp_path / "prog.ts"
    shift = ["-output_ts_offset", offset] if offset else []
    media.run_ffmpeg(
        ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25:duration=3", "-f", "lavfi",
         "-i", "sine=d=3", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", *shift, str(ts)]
    )  # fmt: skip
    (audio,) = media.probe(ts).audio
    assert audio.start_s == pytest.approx(0.0, abs=0.05)


@pytest.mark.media
def test_an_mp3_whose_length_is_estimated_is_not_called_damaged(tmp_path: Path) -> None:
    """A VBR MP3 without a Xing header declares 25.4 s (estimated from its first frames' bitrate) and
    decodes 21 s: whole, so no "truncated or damaged" warning (the estimate's exemption was not tested)."""
    import warnings

    from reelkit.errors import ReelkitWarning
    from reelkit.post.audio import read_audio

    mp3 = tmp_path / "vbr.mp3"
    media.run_ffmpeg(
        ["-v", "error", "-y", "-f", "lavfi", "-i", "anoisesrc=d=20:a=0.5", "-f", "lavfi", "-i",
         "anullsrc=d=1", "-filter_complex", "[1][0]concat=v=0:a=1", "-ar", "44100", "-c:a", "libmp3lame",
         "-q:a", "9", "-write_xing", "0", str(mp3)]
    )  # fmt: skip
    info = media.probe(mp3)
    assert info.duration_estimated and info.duration_s > 24
    with warnings.catch_warnings():
        warnings.simplefilter("error", ReelkitWarning)
        audio = read_audio(mp3)
    assert audio.samples.shape[0] / audio.sample_rate == pytest.approx(21.0, abs=0.2)
