"""Dynamic optimizer: each shot picks its own (resolution, QP); mixed-resolution rungs decode and score."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Literal

import pytest

from reelkit.executor import LocalExecutor
from reelkit.media import run_ffmpeg
from reelkit.post.video.codecs import hevc_codec_string
from reelkit.post.video.encode import EncodeResult, EncodeSpec, EncodeTask, _phase, packet_bytes
from reelkit.post.video.ladder import Ladder, run_encodes
from reelkit.post.video.quality import count_frames, measure_quality
from reelkit.post.video.shots import (
    Allocation,
    Shot,
    ShotOption,
    assemble_rung,
    detect_shots,
    join_shots,
    lagrangian_choice,
    operating_points,
    optimize,
    per_shot_ladder,
    shot_options,
)


def _enc(start: int, end: int, w: int, h: int, qp: float, bits: int, vmaf: float) -> EncodeResult:
    spec = EncodeSpec(w, h, qp=qp, start_frame=start, end_frame=end)
    n = end - start
    rate = bits / (n / 10) / 1000
    return EncodeResult(spec, f"{w}x{h}_{qp}_{start}", bits, n, n / 10, rate, vmaf, vmaf, vmaf, 40.0, 0.0)


# Two 10-frame shots at 10 fps (the title lasts 2 s, so kbps = bits / 2000). Shot 0 is easy: its 240p encode
# is nearly as good as its 720p one. Shot 1 is hard: 720p is worth its bits. A 540p encode of shot 0 lies
# below its hull and must never be chosen.
RESULTS = [
    _enc(0, 10, 426, 240, 30, 100_000, 90.0),
    _enc(0, 10, 960, 540, 30, 250_000, 89.0),  # dominated
    _enc(0, 10, 1280, 720, 30, 300_000, 92.0),
    _enc(10, 20, 426, 240, 30, 100_000, 50.0),
    _enc(10, 20, 1280, 720, 30, 300_000, 80.0),
]
SHOTS = [Shot(0, 0, 10, 0.0, 1.0), Shot(1, 10, 20, 1.0, 2.0)]


def _sizes(a: Allocation) -> list[int]:
    return [o.ref.spec.height for o in a.choice]


def test_cross_resolution_lagrangian_hand_case() -> None:
    free = shot_options(SHOTS, RESULTS)
    assert [len(o) for o in free] == [3, 2]
    # slopes (frames * dVMAF / dbits): shot 0 240p->720p 20/200000 = 1e-4, shot 1 300/200000 = 1.5e-3, so the
    # Lagrangian curve is: both 720p (λ < 1e-4), 240p + 720p (1e-4 < λ < 1.5e-3), both 240p
    points = operating_points(free, fps=10)
    assert [_sizes(a) for a in points] == [[720, 720], [240, 720], [240, 240]]
    assert [(a.bits, a.vmaf) for a in points] == [(600_000, 86.0), (400_000, 85.0), (200_000, 70.0)]
    # at 200 kbps (400 000 bits) the best title gives each shot its own resolution: VMAF 85
    best = optimize(free, fps=10, target_kbps=200)
    assert _sizes(best) == [240, 720] and best.vmaf == pytest.approx(85.0)
    # the constrained variant (one resolution per rung) reaches only 70 within that budget
    constrained = [
        a
        for size in ((426, 240), (1280, 720))
        for a in operating_points(shot_options(SHOTS, RESULTS, [size]), fps=10)
    ]
    assert [(_sizes(a), a.vmaf) for a in constrained] == [([240, 240], 70.0), ([720, 720], 86.0)]
    within = [a for a in constrained if a.bitrate_kbps <= 200]
    assert max(a.vmaf for a in within) == pytest.approx(70.0)
    # quality target 80: the cheapest title that reaches it is again the mixed one
    assert _sizes(optimize(free, fps=10, target_vmaf=80)) == [240, 720]


def test_a_quality_target_met_exactly_takes_the_cheapest_title_that_meets_it() -> None:
    """VMAF at the target meets it: 85 gives the mixed title (not both 720p), 70 the cheapest (both 240p)."""
    free = shot_options(SHOTS, RESULTS)
    assert _sizes(optimize(free, fps=10, target_vmaf=85)) == [240, 720]
    assert _sizes(optimize(free, fps=10, target_vmaf=70)) == [240, 240]


def test_a_budget_met_exactly_by_the_best_title_takes_the_best_title() -> None:
    """Both shots at 720p are 600 000 bits over 2 s, 300 kbps: a 300 kbps budget takes them (VMAF 86)."""
    best = optimize(shot_options(SHOTS, RESULTS), fps=10, target_kbps=300)
    assert _sizes(best) == [720, 720] and best.vmaf == pytest.approx(86.0)


def test_the_cheapest_point_is_reached_when_the_slope_rounds_up() -> None:
    """At λ equal to this segment's slope, rounding makes the dearer option score higher: the last λ lies
    above every slope, so the cheapest title (589 651 bits in 1 s, 589.651 kbps) is still a point."""
    cheap = ShotOption(589_651, 32.37091365049827, 199)
    dear = ShotOption(608_985, 40.92246460246488, 199)
    slope = (dear.frames * dear.vmaf - cheap.frames * cheap.vmaf) / (dear.bits - cheap.bits)
    assert lagrangian_choice([[cheap, dear]], slope) == [dear]  # the rounding this test is about
    assert [a.choice for a in operating_points([[cheap, dear]], fps=199)] == [(dear,), (cheap,)]
    assert optimize([[cheap, dear]], fps=199, target_kbps=589.651).choice == (cheap,)


def test_lagrangian_ties_take_fewer_bits() -> None:
    """At λ = 1 both options score frames·VMAF − λ·bits = 0: the one of fewer bits is chosen."""
    cheap, dear = ShotOption(100, 10.0, 10), ShotOption(200, 20.0, 10)
    assert lagrangian_choice([[dear, cheap]], 1.0) == [cheap]
    assert lagrangian_choice([[cheap, dear]], 1.0) == [cheap]


def test_title_vmaf_is_frame_weighted() -> None:
    """A 10-frame shot at VMAF 90 and a 30-frame one at 50 make a title of (900 + 1500) / 40 = 60, not 70."""
    (point,) = operating_points([[ShotOption(1000, 90.0, 10)], [ShotOption(1000, 50.0, 30)]], fps=10)
    assert point.vmaf == pytest.approx(60.0) and point.frames == 40 and point.duration_s == pytest.approx(4.0)


def test_a_titles_bitrate_is_its_bits_per_second_in_kbps() -> None:
    """2000 bits over 40 frames at 10 fps (4 s) are 500 bit/s, 0.5 kbps (/ 1000, not / 1024)."""
    (point,) = operating_points([[ShotOption(1000, 90.0, 10)], [ShotOption(1000, 50.0, 30)]], fps=10)
    assert point.bitrate_kbps == pytest.approx(0.5)


@pytest.fixture(scope="module")
def two_shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("video-do")
    clip = d / "two.mp4"
    run_ffmpeg(
        [
            *("-v", "error", "-y", "-f", "lavfi", "-i", "color=c=0x3060a0:size=320x180:rate=25:duration=1"),
            *("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=1"),
            *("-filter_complex", "[0][1]concat=n=2", "-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv420p"),
            str(clip),
        ]
    )
    return clip


@pytest.mark.media
def test_mixed_resolution_rung_decodes_and_scores(two_shots: Path) -> None:
    shots = detect_shots(two_shots)
    assert [(s.start_frame, s.end_frame) for s in shots] == [(0, 25), (25, 50)]
    cache = two_shots.parent / "cache"
    specs = [EncodeSpec(160, 90, qp=30, start_frame=0, end_frame=25)]
    specs.append(EncodeSpec(320, 180, qp=30, start_frame=25, end_frame=50))
    encs = run_encodes(two_shots, specs, display=(320, 180), cache_dir=cache)
    choice = tuple(ShotOption(e.bits, e.vmaf, e.frames, e) for e in encs)
    planned_vmaf = sum(e.frames * e.vmaf for e in encs) / 50
    alloc = Allocation(choice, 0.0, sum(e.bits for e in encs), 50, planned_vmaf, 2.0)
    rung = assemble_rung(two_shots, alloc, two_shots.parent / "rung.mp4", display=(320, 180), fps=25.0)
    assert rung.mixed and rung.measured == "joined" and rung.frames == 50
    assert count_frames(rung.path) == 50
    # it decodes at both sizes, the switch at the shot boundary (frame 25)
    proc = run_ffmpeg(["-i", rung.path, "-vf", "showinfo", "-f", "null", "-"])
    sizes = re.findall(r"\bs:(\d+x\d+)\b", proc.stderr.decode())
    assert sizes == ["160x90"] * 25 + ["320x180"] * 25
    # its bits are the shots' bits plus the in-band parameter sets (tens of bytes per IDR frame)
    assert 0 <= rung.bits - sum(e.bits for e in encs) < 8 * 200
    # measured as a whole it agrees with the plan (frame-weighted shot VMAFs) within 1 VMAF point: only the
    # motion feature at the cut differs
    assert abs(rung.vmaf - planned_vmaf) < 1.0
    # one size, two QPs: the PPSs differ (x264's carries the initial QP), so they must travel in band too
    same = run_encodes(
        two_shots,
        [
            EncodeSpec(320, 180, qp=24, start_frame=0, end_frame=25),
            EncodeSpec(320, 180, qp=38, start_frame=25, end_frame=50),
        ],
        display=(320, 180),
        cache_dir=cache,
    )
    plan = sum(e.frames * e.vmaf for e in same) / 50
    opts = tuple(ShotOption(e.bits, e.vmaf, e.frames, e) for e in same)
    uniform = assemble_rung(
        two_shots,
        Allocation(opts, 0.0, sum(e.bits for e in same), 50, plan, 2.0),
        two_shots.parent / "uniform.mp4",
        display=(320, 180),
        fps=25.0,
    )
    assert not uniform.mixed and abs(uniform.vmaf - plan) < 1.0
    per_shot = assemble_rung(
        two_shots, alloc, two_shots.parent / "x.mp4", display=(320, 180), fps=25.0, measure="per-shot"
    )
    assert per_shot.vmaf == pytest.approx(planned_vmaf) and per_shot.bits == alloc.bits


@pytest.mark.media
def test_a_joined_rungs_rate_and_subsampled_score_count(two_shots: Path) -> None:
    """A joined 50-frame rung at 25 fps lasts 2 s (kbps = bits / 2000); scoring every 3rd frame scores 17."""
    specs = [EncodeSpec(160, 90, qp=30, start_frame=0, end_frame=25)]
    specs.append(EncodeSpec(320, 180, qp=30, start_frame=25, end_frame=50))
    encs = run_encodes(two_shots, specs, display=(320, 180), cache_dir=two_shots.parent / "cache")
    choice = tuple(ShotOption(e.bits, e.vmaf, e.frames, e) for e in encs)
    alloc = Allocation(choice, 0.0, sum(e.bits for e in encs), 50, 0.0, 2.0)
    out = two_shots.parent / "rung3.mp4"
    rung = assemble_rung(two_shots, alloc, out, display=(320, 180), fps=25.0, vmaf_subsample=3)
    nbytes, packets = packet_bytes(out)
    assert packets == 50 and rung.bits == 8 * nbytes
    assert rung.bitrate_kbps == pytest.approx(8 * nbytes / 2000)


@pytest.mark.media
def test_shots_in_a_folder_named_with_a_quote_are_joined(two_shots: Path) -> None:
    """The concat list quotes each part, so a part under it's/ joins: 25 + 25 frames make 50."""
    specs = [EncodeSpec(160, 90, qp=30, start_frame=0, end_frame=25)]
    specs.append(EncodeSpec(320, 180, qp=30, start_frame=25, end_frame=50))
    encs = run_encodes(two_shots, specs, display=(320, 180), cache_dir=two_shots.parent / "cache")
    folder = two_shots.parent / "it's"
    folder.mkdir(exist_ok=True)
    parts = [folder / f"shot{i}.mp4" for i in range(2)]
    for enc, part in zip(encs, parts, strict=True):
        part.write_bytes(Path(enc.path).read_bytes())
    joined = join_shots(parts, folder / "joined.mp4")
    assert packet_bytes(joined)[1] == 50


@pytest.mark.media
def test_shot_boundaries_at_the_minimum_length_and_an_ntsc_rate(two_shots: Path) -> None:
    """A shot exactly min_shot_s long is kept (25 frames at 1 s, 25 fps); at 24000/1001 fps the cut after
    22 frames (pts_time 0.917583, 21.99999 frames) lands on frame 22, not 21."""
    assert [(s.start_frame, s.end_frame) for s in detect_shots(two_shots, min_shot_s=1.0)] == [
        (0, 25),
        (25, 50),
    ]
    ntsc = two_shots.parent / "ntsc.mp4"
    run_ffmpeg(
        [
            *("-v", "error", "-y", "-f", "lavfi", "-i", "color=c=0x3060a0:size=320x180:rate=24000/1001"),
            *("-f", "lavfi", "-i", "testsrc2=size=320x180:rate=24000/1001"),
            *("-filter_complex", "[0]trim=end_frame=22[a];[1]trim=end_frame=24[b];[a][b]concat=n=2"),
            *("-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv420p", str(ntsc)),
        ]
    )
    assert [(s.start_frame, s.end_frame) for s in detect_shots(ntsc)] == [(0, 22), (22, 46)]


@pytest.mark.media
def test_cuts_count_from_the_first_frame_of_a_video_that_starts_after_its_audio(tmp_path: Path) -> None:
    """Two 2 s shots at 25 fps muxed 0.6 s after an audio track: the cut is frame 50, not 65 (the first
    frame's time, 0.6 s, was counted as 15 frames)."""
    clip, late = tmp_path / "clip.mp4", tmp_path / "late.mp4"
    run_ffmpeg(
        [
            *("-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=96x64:rate=25:duration=2"),
            *("-f", "lavfi", "-i", "smptebars=size=96x64:rate=25:duration=2"),
            *("-filter_complex", "[0][1]concat=n=2:v=1:a=0,format=yuv420p[v]", "-map", "[v]"),
            *("-c:v", "libx264", "-preset", "ultrafast", str(clip)),
        ]
    )
    run_ffmpeg(
        [
            *(
                "-v",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "sine=duration=5",
                "-itsoffset",
                "0.6",
                "-i",
                str(clip),
            ),
            *("-map", "0:a", "-map", "1:v", "-c:v", "copy", "-c:a", "aac", str(late)),
        ]
    )
    assert [(s.start_frame, s.end_frame) for s in detect_shots(late)] == [(0, 50), (50, 100)]


def test_cuts_count_from_a_first_frame_stamped_before_zero(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A first frame at pts_time -0.04 (B-frames) and a cut at 1.96 s, 25 fps: the cut is frame 50 of 100."""
    from reelkit import media
    from reelkit.post.video import shots as shots_mod

    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"")
    stream = media.VideoStream(0, "h264", 96, 64, 25.0, "yuv420p")
    monkeypatch.setattr(shots_mod, "probe", lambda _p: media.MediaInfo(str(clip), 4.0, video=[stream]))
    err = (
        "[Parsed_showinfo_2 @ 0x1] n:   0 pts:  -1024 pts_time:-0.04    duration: 512\n"
        "[Parsed_showinfo_2 @ 0x1] n:   1 pts:  50176 pts_time:1.96     duration: 512\n"
        "frame=  100 fps=0.0 q=-0.0 Lsize=N/A time=00:00:03.96 bitrate=N/A speed= 50x\n"
    )
    done = subprocess.CompletedProcess([], 0, b"", err.encode())
    monkeypatch.setattr(shots_mod, "run_ffmpeg", lambda *_a, **_k: done)
    assert [(s.start_frame, s.end_frame) for s in detect_shots(clip)] == [(0, 50), (50, 100)]


@pytest.mark.media
def test_a_short_shot_is_merged_into_the_one_before(tmp_path: Path) -> None:
    """2 s of testsrc2, 0.2 s (5 frames) of bars, 2 s of mandelbrot at 25 fps, cuts at frames 50 and 55:
    the bars shot is under min_shot_s (0.5 s), so it joins the shot before it and the cut at 55, into the
    next real shot, starts a shot (it was [0, 50), [50, 105): the keyframe on the insert, none at 55)."""
    clip = tmp_path / "insert.mp4"
    run_ffmpeg(
        [
            *("-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=96x64:rate=25:duration=2"),
            *("-f", "lavfi", "-i", "smptebars=size=96x64:rate=25:duration=0.2"),
            *("-f", "lavfi", "-i", "mandelbrot=size=96x64:rate=25:maxiter=64:end_pts=2"),
            *("-filter_complex", "[2]trim=end_frame=50[m];[0][1][m]concat=n=3,format=yuv420p"),
            *("-c:v", "libx264", "-preset", "ultrafast", str(clip)),
        ]
    )
    assert [(s.start_frame, s.end_frame) for s in detect_shots(clip)] == [(0, 55), (55, 105)]


@pytest.mark.parametrize(
    ("cuts", "shots"),
    [
        # two short shots in a row (5 frames each): both join the shot before, the last cut starts a shot
        ([2.0, 2.2, 2.4], [(0, 60), (60, 100)]),
        # a short first shot has none before it: it joins the one after
        ([0.2, 2.0], [(0, 50), (50, 100)]),
        # a short last shot joins the one before
        ([2.0, 3.8], [(0, 50), (50, 100)]),
        # two short shots at the end (8 and 12 frames): the last joins the one before, which is then long
        ([2.0, 3.2, 3.52], [(0, 50), (50, 80), (80, 100)]),
    ],
)
def test_short_shots_join_the_shot_before_by_hand(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, cuts: list[float], shots: list[tuple[int, int]]
) -> None:
    """Cuts at these times of a 100-frame title at 25 fps (min_shot_s 0.5 s: 12.5 frames)."""
    from reelkit import media
    from reelkit.post.video import shots as shots_mod

    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"")
    stream = media.VideoStream(0, "h264", 96, 64, 25.0, "yuv420p")
    monkeypatch.setattr(shots_mod, "probe", lambda _p: media.MediaInfo(str(clip), 4.0, video=[stream]))
    err = "".join(
        f"[Parsed_showinfo_2 @ 0x1] n: {k} pts: {round(t * 12800)} pts_time:{t} duration: 512\n"
        for k, t in enumerate([0.0, *cuts])
    )
    err += "frame=  100 fps=0.0 q=-0.0 Lsize=N/A time=00:00:04.00 bitrate=N/A speed= 50x\n"
    done = subprocess.CompletedProcess([], 0, b"", err.encode())
    monkeypatch.setattr(shots_mod, "run_ffmpeg", lambda *_a, **_k: done)
    assert [(s.start_frame, s.end_frame) for s in detect_shots(clip)] == shots


@pytest.mark.media
def test_a_title_without_cuts_is_one_shot_of_the_frames_shown(tmp_path: Path) -> None:
    """A 2 s clip at 25 fps cut at 0.4 s with ``-c copy`` keeps its 50 packets behind an edit list that
    shows 40 frames: one shot of 40 frames (the single decode's count; a scene-score output that receives no
    frame would fail ffmpeg's run)."""
    full, cut = tmp_path / "full.mp4", tmp_path / "cut.mp4"
    run_ffmpeg(
        [
            *("-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=96x64:rate=25:duration=2"),
            *("-c:v", "libx264", "-preset", "ultrafast", "-g", "50", str(full)),
        ]
    )
    run_ffmpeg(["-v", "error", "-y", "-ss", "0.4", "-i", str(full), "-c", "copy", str(cut)])
    assert count_frames(cut) == 50 and count_frames(cut, decode=True) == 40
    assert [(s.start_frame, s.end_frame, s.end_s) for s in detect_shots(cut)] == [(0, 40, 1.6)]


@pytest.mark.media
def test_mixed_resolution_x265_rung_decodes_and_scores(two_shots: Path) -> None:
    cache = two_shots.parent / "cache"
    specs = [EncodeSpec(160, 90, qp=30, codec="x265", start_frame=0, end_frame=25)]
    specs.append(EncodeSpec(320, 180, qp=30, codec="x265", start_frame=25, end_frame=50))
    encs = run_encodes(two_shots, specs, display=(320, 180), cache_dir=cache)
    choice = tuple(ShotOption(e.bits, e.vmaf, e.frames, e) for e in encs)
    planned_vmaf = sum(e.frames * e.vmaf for e in encs) / 50
    alloc = Allocation(choice, 0.0, sum(e.bits for e in encs), 50, planned_vmaf, 2.0)
    out = two_shots.parent / "rung265.mp4"
    rung = assemble_rung(two_shots, alloc, out, display=(320, 180), fps=25.0, codec="x265")
    assert rung.mixed and rung.measured == "joined" and rung.frames == 50
    assert count_frames(rung.path) == 50
    # the hev1 sample entry (parameter sets in band), and it decodes at both sizes, switching at frame 25
    assert (hevc_codec_string(rung.path) or "").startswith("hev1.")
    proc = run_ffmpeg(["-i", rung.path, "-vf", "showinfo", "-f", "null", "-"])
    sizes = re.findall(r"\bs:(\d+x\d+)\b", proc.stderr.decode())
    assert sizes == ["160x90"] * 25 + ["320x180"] * 25
    # libvmaf scores every frame across the size change
    q = measure_quality(
        two_shots, rung.path, models=("vmaf",), features=(), width=320, height=180, variable_size=True
    )
    assert len(q.frame_numbers) == 50 and q.vmaf == pytest.approx(rung.vmaf)
    assert abs(rung.vmaf - planned_vmaf) < 1.0
    # only VPS/SPS/PPS (~100 bytes) join each IDR frame, not x265's ~2 KB options SEI from the hvcC
    assert 0 <= rung.bits - sum(e.bits for e in encs) < 8 * 200 * 2


def _two_shot_ladder(
    two_shots: Path, out: Path | None, codec: Literal["x264", "x265"], title_fallback: bool = False
) -> Ladder:
    """The dynamic optimizer on the two-shot clip: QP 24/36 at 180 and 90 lines, cached beside the clip.
    Without the whole-title fallback by default: these tests are about split rungs."""
    return per_shot_ladder(
        two_shots,
        out,
        heights=(180, 90),
        crfs=(24, 36),
        codec=codec,
        rate_control="qp",
        compare_fixed=False,
        cache_dir=two_shots.parent / "cache",
        executor=LocalExecutor(2, kind="thread"),
        title_fallback=title_fallback,
        dash=out is not None,
    )


@pytest.mark.media
def test_whole_title_fallback_where_the_split_does_not_pay(two_shots: Path) -> None:
    """On this clip the whole-title 180-line QP 24 encode reaches the top rung's VMAF for fewer bits than
    the split rung (which pays an IDR frame at the cut): with the fallback the top rung is that encode, a
    plain remux with in-band parameter sets, measured as a whole."""
    split = _two_shot_ladder(two_shots, None, "x264").rung_rows()
    both = _two_shot_ladder(two_shots, None, "x264", title_fallback=True).rung_rows()
    assert not split[-1]["whole_title"] and split[-1]["shot_sizes"] == ["160x90", "320x180"]
    top = both[-1]
    assert top["whole_title"] and top["shot_sizes"] == ["320x180"] and top["shot_qps"] == [24.0]
    assert top["vmaf"] >= 95 and top["bitrate_kbps"] < split[-1]["bitrate_kbps"]
    assert not top["mixed_resolution"] and top["in_band_parameter_sets"]


@pytest.mark.media
def test_dynamic_optimizer_x265_ladder_declares_hev1(two_shots: Path) -> None:
    out = two_shots.parent / "ladder265"
    ladder = _two_shot_ladder(two_shots, out, "x265")
    rows = ladder.rung_rows()
    assert rows[-1]["mixed_resolution"] and rows[-1]["shot_sizes"] == ["160x90", "320x180"]
    reps = re.findall(r"<Representation [^>]*>", (out / "dash" / "manifest.mpd").read_text())
    assert len(reps) == len(rows)
    # tier and level per shot size (x265 picks them from the size: 160x90 fits a lower level than 320x180)
    levels = {
        f"{c.spec.width}x{c.spec.height}": (hevc_codec_string(c.path) or "").split(".")[3]
        for c in ladder.candidates
    }
    assert levels["160x90"] != levels["320x180"]
    for row, rep in zip(rows, reps, strict=True):
        # the most demanding shot's profile and level (ffmpeg's own DASH muxer leaves HEVC's codecs empty)
        assert row["codecs"].startswith("hev1.1.") and f'codecs="{row["codecs"]}"' in rep
        need = "320x180" if "320x180" in row["shot_sizes"] else "160x90"
        assert row["codecs"].split(".")[3] == levels[need]


@pytest.mark.media
def test_dynamic_optimizer_ladder_mixes_resolutions(two_shots: Path) -> None:
    out = two_shots.parent / "ladder"
    ladder = _two_shot_ladder(two_shots, out, "x264")
    rows = ladder.rung_rows()
    # the flat colour shot never needs 180 lines; the test pattern does at the top rung
    assert all(r["shot_sizes"][0] == "160x90" for r in rows)
    top = rows[-1]
    assert top["mixed_resolution"] and top["shot_sizes"] == ["160x90", "320x180"]
    assert (top["width"], top["height"]) == (320, 180)  # declared: the largest shot size
    assert all(abs(r["vmaf"] - r["planned_vmaf"]) < 1.5 for r in rows)
    mpd = (out / "dash" / "manifest.mpd").read_text()
    reps = re.findall(r"<Representation [^>]*>", mpd)
    assert len(reps) == len(rows)
    assert 'codecs="avc3.' in reps[-1] and 'width="320"' in reps[-1] and 'height="180"' in reps[-1]
    assert json.loads((out / "ladder.json").read_text())["shot_resolution"] == "shot"


def test_cli_rejects_unknown_shot_resolution(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from reelkit.testing.cli import run_cli

    args = ("video", "ladder", str(tmp_path / "x.mp4"), "-o", str(tmp_path), "--mode", "shot")
    code, _, err = run_cli(capsys, *args, "--shot-resolution", "x")
    assert code == 2 and "--shot-resolution 'x'" in err and len(err.strip().splitlines()) == 1
    code, _, err = run_cli(capsys, *args, "--shot-resolution", "rung")  # a valid value: the missing file
    assert code == 2 and "--shot-resolution" not in err


def test_rung_codec_string_covers_every_shot() -> None:
    from reelkit.post.video.codecs import most_demanding_avc

    # High@3.0 and Main@3.1: the rung needs High profile AND level 3.1 (neither shot's string alone)
    assert most_demanding_avc(["avc3.64001e", "avc3.4d401f"]) == "avc3.64001f"
    # constrained baseline flags kept only where every shot of that profile sets them
    assert most_demanding_avc(["avc3.42c01e", "avc3.42e01e"]) == "avc3.42c01e"


def test_hevc_rung_codec_string_covers_every_shot() -> None:
    from reelkit.post.video.codecs import most_demanding_hevc

    # Main@L3 and Main@L2.1 (ISO/IEC 14496-15 E.3 form): the rung needs level 3
    assert most_demanding_hevc(["hev1.1.6.L60.90", "hev1.1.6.L93.90"]) == "hev1.1.6.L93.90"
    # Main 10 outranks Main (its compatibility and constraint flags kept); High tier from any shot
    mixed = ["hev1.1.6.H60.B0", "hev1.2.4.L120.90", "hev1.2.4.L90.B0"]
    assert most_demanding_hevc(mixed) == "hev1.2.4.H120.90"
    # a profile space letter and six constraint bytes survive the round trip
    assert most_demanding_hevc(["hev1.A4.41.H120.B0.23"]) == "hev1.A4.41.H120.B0.23"


def test_codec_strings_are_read_from_the_decoder_configuration_boxes(tmp_path: Path) -> None:
    """avcC's bytes after its version are profile, flags, level; hvcC's level is byte 12 of its body."""
    from reelkit.post.video.codecs import avc_codec_string

    avc = tmp_path / "avc.mp4"  # High profile, level 3.1: RFC 6381's avc1.64001F
    avc.write_bytes(b"\0\0\0\x13avcC" + bytes([1, 0x64, 0x00, 0x1F, 0xFF, 0xE1]) + b"\0" * 16)
    assert avc_codec_string(avc) == "avc3.64001f"
    # hvcC: version 1, space/tier/profile, 4 compatibility bytes (flag 0 first), 6 constraint bytes, level
    main = bytes([1, 0x01, 0x60, 0, 0, 0, 0xB0, 0, 0, 0, 0, 0, 93])  # Main, Main tier, level 3.1
    main10 = bytes([1, 0x22, 0x20, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 120])  # Main 10, High tier, level 4
    for body, want in ((main, "hev1.1.6.L93.B0"), (main10, "hev1.2.4.H120.90")):
        hevc = tmp_path / "hevc.mp4"
        hevc.write_bytes(b"\0\0\0\x30hvcC" + body + b"\0" * 16)
        assert hevc_codec_string(hevc) == want


def test_a_shots_scoring_phase_lands_on_the_titles_frames() -> None:
    """Scoring every 3rd frame, a shot from frame 25 skips 2 frames: frame 27 is the title's 9th scored."""
    spec = EncodeSpec(320, 180, qp=30, start_frame=25, end_frame=50)
    assert _phase(EncodeTask("t.mp4", "h", spec, "cache", 320, 180, vmaf_subsample=3)) == 2
    assert _phase(EncodeTask("t.mp4", "h", spec, "cache", 320, 180, vmaf_subsample=1)) == 0


def test_a_shot_shorter_than_the_subsampling_step_is_scored_on_its_last_frame() -> None:
    """Every 50th frame of a 95-frame title cut at 31 and 66: the shot 31-66 skips 19 frames (frame 50 is the
    title's), the shot 66-95 holds none of the title's (100 is past it) and is scored on its last frame, 28
    frames in (its phase was 34, past its 29 frames, and libvmaf was refused after every encode)."""

    def phase(a: int, b: int) -> int:
        spec = EncodeSpec(320, 180, qp=30, start_frame=a, end_frame=b)
        return _phase(EncodeTask("t.mp4", "h", spec, "cache", 320, 180, vmaf_subsample=50))

    assert (phase(0, 31), phase(31, 66), phase(66, 95)) == (0, 19, 28)


@pytest.mark.media
def test_a_short_shot_is_scored_with_a_large_subsampling_step(two_shots: Path) -> None:
    """A 10-frame shot (frames 40-50) scored every 30th frame: the title's frames are 30 and 60, so its one
    score is its last frame's, the PSNR of frame 49 when every frame is scored."""
    spec = EncodeSpec(160, 90, qp=30, start_frame=40, end_frame=50)
    (enc,) = run_encodes(
        two_shots, [spec], display=(320, 180), cache_dir=two_shots.parent / "cache4", vmaf_subsample=30
    )
    full = measure_quality(
        two_shots, enc.path, models=("vmaf",), features=("psnr",), reference_frames=(40, 50)
    )
    assert enc.psnr_y == pytest.approx(full.per_frame["psnr_y"][9], abs=1e-6)


@pytest.mark.media
def test_an_encodes_bitrate_is_its_packet_bits_per_second_in_kbps(two_shots: Path) -> None:
    """25 frames at 25 fps last 1 s, so the rate in kbps is the packets' bytes x 8 / 1000 (not / 1024)."""
    spec = EncodeSpec(160, 90, qp=30, start_frame=0, end_frame=25)
    (enc,) = run_encodes(two_shots, [spec], display=(320, 180), cache_dir=two_shots.parent / "cache3")
    nbytes, packets = packet_bytes(enc.path)
    assert enc.frames == packets == 25 and enc.duration_s == pytest.approx(1.0)
    assert enc.bits == 8 * nbytes and enc.bitrate_kbps == pytest.approx(8 * nbytes / 1000)


@pytest.mark.media
def test_shot_scored_on_the_titles_subsampling_phase(two_shots: Path) -> None:
    """The second shot starts at frame 25 (odd). With VMAF on every 2nd frame it is scored on frames 26, 28,
    ... of the title, the frames a whole-title encode or a joined rung is scored on, not on 25, 27, ..."""
    spec = EncodeSpec(320, 180, qp=30, start_frame=25, end_frame=50)
    enc = run_encodes(
        two_shots, [spec], display=(320, 180), cache_dir=two_shots.parent / "cache2", vmaf_subsample=2
    )[0]
    full = measure_quality(
        two_shots, enc.path, models=("vmaf",), features=("psnr",), reference_frames=(25, 50)
    )
    psnr = full.per_frame["psnr_y"]
    assert enc.psnr_y == pytest.approx(psnr[1::2].mean(), abs=1e-6)
    assert enc.psnr_y != pytest.approx(psnr[0::2].mean(), abs=1e-3)


@pytest.mark.media
def test_an_encodes_vmaf_is_the_mean_of_its_scored_frames(two_shots: Path) -> None:
    """VMAF on every 2nd frame of a shot from frame 25: the arithmetic mean of frames 26, 28, ... (not the
    harmonic mean)."""
    spec = EncodeSpec(320, 180, qp=30, start_frame=25, end_frame=50)
    enc = run_encodes(
        two_shots, [spec], display=(320, 180), cache_dir=two_shots.parent / "cache2", vmaf_subsample=2
    )[0]
    q = measure_quality(
        two_shots,
        enc.path,
        models=("vmaf",),
        features=(),
        reference_frames=(25, 50),
        subsample=2,
        first_frame=1,
    )
    scored = q.per_frame["vmaf"]
    assert len(scored) == 12 and scored.min() < scored.max()
    assert enc.vmaf == pytest.approx(scored.mean(), abs=1e-6)
    assert enc.vmaf != pytest.approx(len(scored) / (1.0 / scored).sum(), abs=1e-6)


@pytest.mark.media
def test_joined_rungs_scored_on_every_frame_when_candidates_are_subsampled(two_shots: Path) -> None:
    ladder = per_shot_ladder(
        two_shots,
        None,
        heights=(180, 90),
        crfs=(24, 36),
        rate_control="qp",
        compare_fixed=False,
        cache_dir=two_shots.parent / "cache",
        vmaf_subsample=2,
        title_fallback=False,
        dash=False,
    )
    rows = ladder.rung_rows()
    assert ladder.extra["rung_vmaf_subsampled"] == [None] * len(rows)  # nothing to score again
    for row in rows:
        full = measure_quality(
            two_shots, row["path"], models=("vmaf",), features=(), variable_size=row["mixed_resolution"]
        )
        assert len(full.frame_numbers) == 50 and row["vmaf"] == pytest.approx(full.vmaf, abs=1e-3)
