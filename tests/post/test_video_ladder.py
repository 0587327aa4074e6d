"""Per-title and shot-based ladders end to end on tiny clips: cache, outputs, DASH, CLI."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from reelkit._mpd import min_bandwidth, segment_times
from reelkit.cli import app, main
from reelkit.errors import ConfigError, MediaError
from reelkit.executor import LocalExecutor, SerialExecutor
from reelkit.media import probe, run_ffmpeg
from reelkit.post.video.encode import (
    EncodeSpec,
    EncodeTask,
    _digest,
    _encode_key,
    _ffmpeg_version,
    encode_args,
)
from reelkit.post.video.ladder import (
    RDPoint,
    RungRule,
    check_ladder_inputs,
    declare_in_band,
    fixed_ladder_specs,
    grid_sizes,
    per_title_ladder,
    prepare_out_dir,
    vmaf_overlap,
    write_dash,
)
from reelkit.post.video.shots import detect_shots, per_shot_ladder
from reelkit.testing.executors import ElsewhereExecutor

pytestmark = pytest.mark.media


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("video-ladder")
    one, two = d / "one.mp4", d / "two.mp4"
    enc = ["-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv420p"]
    run_ffmpeg(
        ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=176x144:rate=25:duration=1", *enc, str(one)]
    )
    run_ffmpeg(
        [
            *("-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=176x144:rate=25:duration=0.8"),
            *("-f", "lavfi", "-i", "mandelbrot=size=176x144:rate=25"),
            *("-filter_complex", "[1]trim=duration=0.8[m];[0][m]concat=n=2", *enc, str(two)),
        ]
    )
    return {"one": one, "two": two, "dir": d}


def test_per_title_ladder_outputs_and_cache(clips: dict[str, Path]) -> None:
    cache, out = clips["dir"] / "cache", clips["dir"] / "title"
    kw = dict(heights=(144, 72), crfs=(26, 40), cache_dir=cache, executor=LocalExecutor(2, kind="thread"))
    ladder = per_title_ladder(clips["one"], out, compare_fixed=False, **kw)  # type: ignore[arg-type]
    assert len(ladder.candidates) == 4 and not any(c.cached for c in ladder.candidates)
    rates = [p.rate for p in ladder.hull]
    vmafs = [p.quality for p in ladder.hull]
    assert rates == sorted(rates) and vmafs == sorted(vmafs)
    assert 1 <= len(ladder.rungs) <= len(ladder.hull)
    data = json.loads((out / "ladder.json").read_text())
    assert {"width", "height", "bitrate_kbps", "vmaf", "file"} <= set(data["rungs"][0])
    assert all((out / r["file"]).exists() for r in data["rungs"])
    # a file is named by its rung's bitrate rounded to the nearest kbps (was rounded down: 92k for 93.0)
    assert [r["file"] for r in data["rungs"]] == [
        f"rung{i}_{r['width']}x{r['height']}_{round(p.rate)}k.mp4"
        for i, (r, p) in enumerate(zip(data["rungs"], ladder.rungs, strict=True))
    ]
    assert all(abs(float(r["file"].split("_")[-1][:-5]) - r["bitrate_kbps"]) <= 0.5 for r in data["rungs"])
    assert (out / "dash" / "manifest.mpd").exists() and (out / "rd.png").exists()
    # a rerun encodes nothing
    again = per_title_ladder(clips["one"], None, compare_fixed=False, **kw)  # type: ignore[arg-type]
    assert all(c.cached for c in again.candidates)
    assert [p.rate for p in again.rungs] == [p.rate for p in ladder.rungs]


def test_rungs_scored_on_every_frame_when_candidates_are_subsampled(clips: dict[str, Path]) -> None:
    """Candidates on every 2nd frame choose the ladder; the rungs that ship are scored on all frames."""
    from reelkit.post.video.quality import measure_quality

    kw = dict(heights=(144, 72), crfs=(26, 40), cache_dir=clips["dir"] / "cache", compare_fixed=False)
    ladder = per_title_ladder(clips["one"], None, vmaf_subsample=2, **kw)  # type: ignore[arg-type]
    assert len(ladder.extra["rung_vmaf_subsampled"]) == len(ladder.rungs)
    for p, sub in zip(ladder.rungs, ladder.extra["rung_vmaf_subsampled"], strict=True):
        assert sub == pytest.approx(p.ref.vmaf)  # the candidate's own (every 2nd frame) score
        full = measure_quality(clips["one"], p.ref.path, models=("vmaf",), features=())
        assert p.quality == pytest.approx(full.vmaf, abs=1e-9)
    again = per_title_ladder(clips["one"], None, vmaf_subsample=1, **kw)  # type: ignore[arg-type]
    assert "rung_vmaf_subsampled" not in again.extra  # already every frame: nothing to redo


def test_x265_per_title_dash_declares_its_codec(clips: dict[str, Path]) -> None:
    """ffmpeg's DASH writer leaves HEVC's ``codecs`` empty; the ladder fills it from each encode's hvcC, so
    a player can tell whether it can decode each rung."""
    cache, out = clips["dir"] / "cache265", clips["dir"] / "title265"
    kw = dict(heights=(144, 72), crfs=(30,), cache_dir=cache, executor=LocalExecutor(2, kind="thread"))
    per_title_ladder(clips["one"], out, compare_fixed=False, codec="x265", **kw)  # type: ignore[arg-type]
    mpd = (out / "dash" / "manifest.mpd").read_text()
    codecs = re.findall(r'<Representation [^>]*codecs="([^"]*)"', mpd)
    assert codecs and all(re.fullmatch(r"hvc1\.1\.6\.L\d+\.[0-9A-F.]+", c) for c in codecs), codecs


def test_no_dash_leaves_a_dash_folder_that_is_not_the_ladders(clips: dict[str, Path]) -> None:
    """``abr package`` writes ./dash by default: ``video ladder -o . --no-dash`` deleted it."""
    out = clips["dir"] / "beside_a_stream"
    keep = out / "dash" / "mine" / "keep.txt"
    keep.parent.mkdir(parents=True)
    keep.write_text("x")
    kw = dict(heights=(72,), crfs=(40,), compare_fixed=False, cache_dir=clips["dir"] / "cache")
    per_title_ladder(clips["one"], out, dash=False, **kw)  # type: ignore[arg-type]
    assert keep.read_text() == "x" and (out / "ladder.json").is_file()
    with pytest.raises(ConfigError, match="not an earlier ladder's"):
        per_title_ladder(clips["one"], out, **kw)  # type: ignore[arg-type]
    assert keep.read_text() == "x"


def test_shot_detection_and_shot_ladder(clips: dict[str, Path]) -> None:
    shots = detect_shots(clips["two"])
    assert [(s.start_frame, s.end_frame) for s in shots] == [(0, 20), (20, 40)]
    ladder = per_shot_ladder(
        clips["two"],
        clips["dir"] / "shot",
        heights=(144,),
        crfs=(26, 40),
        compare_fixed=False,
        cache_dir=clips["dir"] / "cache",
        executor=LocalExecutor(2, kind="thread"),
        dash=False,
    )
    # 2 shots x 2 CRFs, and the 2 whole-title encodes offered as the fallback
    assert len(ladder.candidates) == 6
    assert sum(c.spec.start_frame is None for c in ladder.candidates) == 2
    for row in ladder.rung_rows():
        assert len(row["shot_crfs"]) == (1 if row["whole_title"] else 2) and row["height"] == 144
        # the assembled rung is measured again as a whole and agrees with the plan
        assert abs(row["vmaf"] - row["planned_vmaf"]) < 3.0
    data = json.loads((clips["dir"] / "shot" / "ladder.json").read_text())
    assert data["shots"][1]["start_s"] == 0.8 and data["title_fallback"] is True
    # with the fallback the planned hull is never below a whole-title encode: for each one, the hull
    # (piecewise linear in the rate) reaches at least its quality at its rate
    rates = [p.rate for p in ladder.hull]
    for c in ladder.candidates:
        if c.spec.start_frame is None:
            kbps = c.bits / (c.frames / 25.0) / 1000.0  # as the ladder counts it: bits over frames at 25 fps
            assert rates[0] <= kbps + 1e-9
            assert np.interp(kbps, rates, [p.quality for p in ladder.hull]) >= c.vmaf - 1e-9
    split_only = per_shot_ladder(
        clips["two"],
        None,
        heights=(144,),
        crfs=(26, 40),
        compare_fixed=False,
        cache_dir=clips["dir"] / "cache",
        dash=False,
        title_fallback=False,
    )
    assert len(split_only.candidates) == 4
    assert all(not r["whole_title"] and len(r["shot_crfs"]) == 2 for r in split_only.rung_rows())


#: the worker counts $REELKIT_EXECUTOR's factory below was called with
_factory_calls: list[int] = []


def elsewhere_executor(workers: int) -> ElsewhereExecutor:
    _factory_calls.append(workers)
    return ElsewhereExecutor(Path(os.environ["LADDER_TEST_WORKER_DIR"]))


def test_video_ladder_runs_on_the_executor_reelkit_executor_names(
    clips: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The ladder's --workers goes through the same helper as the simulations': $REELKIT_EXECUTOR's factory
    gets the count and its executor runs the encodes; a bad value is one line naming it, before encoding."""
    from reelkit.testing.cli import run_cli

    worker = tmp_path / "worker"
    worker.mkdir()
    monkeypatch.setenv("LADDER_TEST_WORKER_DIR", str(worker))
    monkeypatch.setenv("REELKIT_EXECUTOR", f"{__name__}:elsewhere_executor")
    args = ["-o", str(tmp_path / "out"), "--heights", "72", "--crf", "40", "--no-fixed", "--no-dash"]
    ladder = ("video", "ladder", str(clips["one"]), *args, "--cache")
    code, out, err = run_cli(capsys, *ladder, str(tmp_path / "c"), "--workers", "5", "--json")
    assert code == 0, err
    assert _factory_calls == [5] and json.loads(out)["rungs"]
    assert len(list((tmp_path / "c").glob("*.mp4"))) == 2  # 72 lines and the source's own 144
    monkeypatch.setenv("REELKIT_EXECUTOR", f"{__name__}:no_such_factory")
    code, _, err = run_cli(
        capsys, "video", "ladder", str(clips["one"]), *args, "--cache", str(tmp_path / "d")
    )
    assert (
        code == 2
        and err.strip()
        == f"error: REELKIT_EXECUTOR={__name__}:no_such_factory: {__name__} has no callable no_such_factory"
    )
    assert not (tmp_path / "d").exists()


def test_a_per_title_ladder_with_a_relative_cache_runs_on_workers_elsewhere(
    clips: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A relative cache folder is the caller's: the workers encode into it and the results name it
    absolutely (the workers made ./relcache in their own folder, and the caller failed on 'relcache/...')."""
    caller, worker = tmp_path / "caller", tmp_path / "worker"
    caller.mkdir()
    worker.mkdir()
    monkeypatch.chdir(caller)
    kw: dict[str, Any] = {"heights": (72,), "crfs": (40,), "compare_fixed": False}
    ladder = per_title_ladder(
        clips["one"], "out", cache_dir="relcache", executor=ElsewhereExecutor(worker), **kw
    )
    assert len(ladder.candidates) == 2  # 72 lines and the source's own 144
    assert all(Path(c.path).parent == caller / "relcache" for c in ladder.candidates)
    assert (caller / "out" / "ladder.json").is_file() and not any(worker.iterdir())


def test_a_shot_ladder_of_a_relative_source_runs_on_workers_elsewhere(
    clips: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The joining tasks carry the source and the assembly folder absolutely, as the encodes do (they
    carried 'two.mp4' as given and failed: 'no such file')."""
    caller, worker = tmp_path / "caller", tmp_path / "worker"
    caller.mkdir()
    worker.mkdir()
    shutil.copyfile(clips["two"], caller / "two.mp4")
    monkeypatch.chdir(caller)
    ladder = per_shot_ladder(
        "two.mp4",
        None,
        heights=(72,),
        crfs=(40,),
        compare_fixed=False,
        cache_dir="relcache",
        executor=ElsewhereExecutor(worker),
        dash=False,
    )
    assert ladder.rungs and not any(worker.iterdir())
    for p in ladder.rungs:
        assert Path(p.ref["path"]).parent == caller / "relcache" / "assembled"
        assert p.ref["measured"] == "joined"


def test_cli_video_commands(clips: dict[str, Path]) -> None:
    runner = CliRunner()
    q = runner.invoke(
        app,
        [
            "video",
            "quality",
            str(clips["one"]),
            str(clips["one"]),
            "--json",
            "--per-frame",
            str(clips["dir"] / "pf.json"),
        ],
    )
    assert q.exit_code == 0, q.output
    out = json.loads(q.stdout)
    assert set(out) >= {"vmaf", "psnr_y", "ssim", "ms_ssim", "frames", "per_frame"} and out["frames"] == 25
    assert out["frames_scored"] == 25
    sub = runner.invoke(
        app, ["video", "quality", str(clips["one"]), str(clips["one"]), "--json", "--subsample", "5",
              "--per-frame", str(clips["dir"] / "pf5.json")],
    )  # fmt: skip
    assert sub.exit_code == 0, sub.output
    assert (json.loads(sub.stdout)["frames"], json.loads(sub.stdout)["frames_scored"]) == (25, 5)
    assert out["ms_ssim"] is None  # 144 lines: too small for MS-SSIM's five scales, and a note says so
    note = "no MS-SSIM (null): it needs a picture of at least 176x176 for its five scales, and one.mp4 is "
    note += "176x144"
    assert out["notes"] == [note]
    text = runner.invoke(
        app, ["video", "quality", str(clips["one"]), str(clips["one"]), "--subsample", "5",
              "--per-frame", str(clips["dir"] / "pf5.json")],
    )  # fmt: skip
    assert text.exit_code == 0 and f"note: {note}" in text.stderr and "note:" not in text.stdout
    assert len(json.loads(Path(out["per_frame"]).read_text())["frames"]) == 25
    lad = runner.invoke(
        app,
        [
            "video",
            "ladder",
            str(clips["one"]),
            "-o",
            str(clips["dir"] / "cli"),
            "--heights",
            "144,72",
            "--crf",
            "24,34,44",
            "--no-fixed",
            "--cache",
            str(clips["dir"] / "cache"),
            "--json",
        ],
    )
    assert lad.exit_code == 0, lad.output
    res = json.loads(lad.stdout)
    assert res["rungs"] and set(res["rungs"][0]) == {"width", "height", "bitrate_kbps", "vmaf"}
    assert "bd_rate_vs_fixed" in res
    qc = runner.invoke(app, ["video", "qc", str(clips["two"]), "--json"])
    assert qc.exit_code == 0, qc.output
    kinds = [(f["kind"], f["start_s"]) for f in json.loads(qc.stdout)["findings"]]
    assert ("cut", 0.8) in kinds
    with pytest.raises(SystemExit) as exc:
        main(["video", "ladder", str(clips["one"]), "-o", str(clips["dir"] / "x"), "--mode", "nope"])
    assert exc.value.code == 2


def test_scoring_another_way_reuses_the_encodes(clips: dict[str, Path], tmp_path: Path) -> None:
    """Encodes and scores are cached apart: another subsampling scores the cached files, encodes nothing."""
    from reelkit.post.video import encode as enc

    kw = dict(heights=(144,), crfs=(30,), cache_dir=tmp_path, compare_fixed=False)
    first = per_title_ladder(clips["one"], None, **kw).candidates[0]  # type: ignore[arg-type]
    assert not first.cached and len(list(tmp_path.glob("*.mp4"))) == 1
    media = Path(first.path).stat().st_mtime_ns
    other = per_title_ladder(clips["one"], None, vmaf_subsample=3, **kw).candidates[0]  # type: ignore[arg-type]
    assert other.cached and other.path == first.path and Path(other.path).stat().st_mtime_ns == media
    assert other.bits == first.bits and other.vmaf != first.vmaf  # 9 of 25 frames scored, not all 25
    assert len(list(tmp_path.glob("*.score-*.json"))) == 2
    # an entry of the earlier layout (one key for the encode and its scoring) is still read
    task = enc.EncodeTask(
        str(clips["one"].resolve()), enc.file_hash(clips["one"]), first.spec, str(tmp_path), 176, 144
    )
    legacy = tmp_path / "legacy"
    legacy.mkdir()
    key = enc._legacy_key(enc.EncodeTask(**{**task.__dict__, "cache_dir": str(legacy)}))
    (legacy / f"{key}.mp4").write_bytes(Path(first.path).read_bytes())
    (legacy / f"{key}.json").write_text(json.dumps({**first.to_dict(), "vmaf": 12.5}))
    old = enc.encode_and_score(enc.EncodeTask(**{**task.__dict__, "cache_dir": str(legacy)}))
    assert old.cached and old.vmaf == 12.5 and old.path == str(legacy / f"{key}.mp4")


def test_bad_encode_settings_are_refused_before_encoding() -> None:
    from reelkit.errors import ConfigError
    from reelkit.post.video.encode import EncodeSpec

    EncodeSpec(64, 36, crf=0)
    EncodeSpec(64, 36, qp=51)
    EncodeSpec(64, 36, crf=26.4)  # a CRF may be fractional
    for bad in ({"crf": -1.0}, {"crf": 60.0}, {"qp": 52.0}, {"bitrate_kbps": 0.0}):
        with pytest.raises(ConfigError, match=r"range|positive"):
            EncodeSpec(64, 36, **bad)  # type: ignore[arg-type]
    # x264's QP is an integer: ffmpeg read 26.4 as 26 and 26.6 as 27, the spec said otherwise
    for q in (26.4, 26.6):
        with pytest.raises(ConfigError, match=f"qp {q} must be a whole number"):
            EncodeSpec(64, 36, qp=q)
    with pytest.raises(ConfigError, match="unknown preset 'bogus'"):
        EncodeSpec(64, 36, crf=23, preset="bogus")


def test_odd_sizes_and_a_cut_at_frame_0_are_refused_when_a_spec_is_made() -> None:
    """x264's 4:2:0 needs even sizes (64x35 is refused, not failed in ffmpeg); a cut at frame 0 is no cut."""
    for w, h in ((65, 36), (64, 35)):
        with pytest.raises(ConfigError, match=f"{w}x{h} must be positive and even"):
            EncodeSpec(w, h, crf=23)
    with pytest.raises(ConfigError, match="above 0"):
        EncodeSpec(64, 36, crf=23, cuts=(0, 25))


def test_cli_ladder_refuses_bad_options_before_encoding(
    clips: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o" / "deep"  # a refusal after the folders were made removes both
    base = ["video", "ladder", str(clips["one"]), "-o", str(out), "--cache", str(tmp_path / "c")]
    cases = [
        (["--subsample", "0", "--no-fixed"], "--subsample"),
        (["--crf", "-1", "--no-fixed"], "--crf: CRF -1 is outside"),
        (["--crf", "60", "--rate-control", "qp", "--no-fixed"], "--crf: QP 60 is outside"),
        (["--crf", "26,26.4", "--rate-control", "qp", "--no-fixed"], "--crf: QP 26.4 is not a whole number"),
        (["--preset", "bogus", "--no-fixed"], "--preset 'bogus'"),
        (["--heights", "90.7", "--no-fixed"], "--heights: 90.7"),
        (["--heights", "inf", "--no-fixed"], "--heights: inf"),
        (["--heights", "nan", "--no-fixed"], "--heights: nan"),
        (["--heights", "143", "--no-fixed"], "heights: 143 is odd; 4:2:0 encodes need even sizes"),
        (["--heights", "144"], f"{clips['one']}: the source (176x144) is smaller than the fixed ladder's"),
    ]
    for extra, message in cases:
        with pytest.raises(SystemExit) as exc:
            main([*base, *extra])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and message in err and "Traceback" not in err, (extra, err)
        assert not list((tmp_path / "c").glob("*.mp4")), extra  # nothing was encoded
        assert not (tmp_path / "o").exists(), extra  # and no empty output folder was left behind


def test_a_source_too_small_for_libvmaf_is_refused_before_encoding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """libvmaf crashes on 16 pixels a side or fewer: a 16x16 or 2x2 source (2x2 was probed as 0x0) is
    refused naming the file, its size and 17x17, exit 2, with nothing encoded and no output folder."""
    for size in ("16x16", "2x2"):
        src = tmp_path / f"t{size}.mp4"
        run_ffmpeg(
            [
                *("-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration=0.2"),
                *("-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(src)),
            ]
        )
        out, cache = tmp_path / f"o{size}", tmp_path / "c"
        args = ["video", "ladder", str(src), "-o", str(out), "--no-fixed", "--heights", "360"]
        with pytest.raises(SystemExit) as exc:
            main([*args, "--crf", "30,40", "--cache", str(cache)])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and f"{src}: is {size}: too small for a ladder" in err, err
        assert "17x17" in err and not out.exists() and not cache.exists()
    with pytest.raises(ConfigError, match="the source is 16x100: too small for a ladder"):
        grid_sizes(16, 100)
    assert grid_sizes(17, 17, [360]) == [(16, 16)]


def test_bd_rate_note_says_why_there_is_none() -> None:
    from reelkit.post.video.ladder import RDPoint, bd_rate_note

    one = [RDPoint(145.0, 60.0)]
    two = [RDPoint(100.0, 50.0), RDPoint(200.0, 70.0)]
    assert bd_rate_note(one, two) == (
        "the fixed ladder has 1 rung at this source size; a BD-rate needs two curves of at least two points"
    )
    high = [RDPoint(1000.0, 80.0), RDPoint(2000.0, 90.0)]
    assert "do not overlap in quality" in bd_rate_note(high, two)


def _keyframes(path: Path) -> list[float]:
    """Presentation times of the I frames of a file's video."""
    proc = run_ffmpeg(
        ["-i", str(path), "-map", "0:v:0", "-vf", "select='eq(pict_type,I)',showinfo", "-f", "null", "-"]
    )
    return [float(t) for t in re.findall(r"pts_time:([\d.]+)", proc.stderr.decode())]


def test_shot_ladder_rungs_share_keyframes_and_segments(clips: dict[str, Path], tmp_path: Path) -> None:
    """The whole-title fallback starts a closed GOP at every cut, as the shot encodes do, so every rung of a
    shot-based ladder (whole-title or joined from shots) has its keyframes, and its DASH segments, at the
    same frames; a whole-title encode with GOPs every 2 s from frame 0 did not (a review found a manifest
    declaring segmentAlignment with one rung cut at 2.0 s and the other at the shot's 0.8 s)."""
    ladder = per_shot_ladder(
        clips["two"],
        tmp_path / "shot",
        heights=(144,),
        crfs=(20, 30, 40, 51),
        compare_fixed=False,
        cache_dir=clips["dir"] / "cache",
        rule=RungRule(step=1.0, min_ratio=1.05, top_vmaf=100.0),
    )
    whole = [c for c in ladder.candidates if c.spec.start_frame is None]
    assert whole and all(c.spec.cuts == (20,) for c in whole)
    for c in whole:
        assert _keyframes(Path(c.path)) == [0.0, 0.8]
    mpd = (tmp_path / "shot" / "dash" / "manifest.mpd").read_text()
    reps = re.findall(r"<Representation\b.*?</Representation>", mpd, re.S)
    assert len(reps) == len(ladder.rungs) >= 2
    assert len({tuple(segment_times(r)) for r in reps}) == 1
    # every stream carries its parameter sets in band, so bitstream switching holds
    assert 'bitstreamSwitching="true"' in mpd


def test_cut_keyframes_restart_the_gop_and_keep_old_cache_keys(tmp_path: Path) -> None:
    src = tmp_path / "long.mp4"
    run_ffmpeg(
        [
            *("-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=10:duration=5"),
            *("-c:v", "libx264", "-qp", "0", str(src)),
        ]
    )
    spec = EncodeSpec(160, 90, crf=30, gop_s=2.0, cuts=(13,))
    out = tmp_path / "enc.mp4"
    run_ffmpeg(encode_args(str(src), spec, 10.0, str(out)))
    # IDR at 0, the cut at 13, then every 20 frames counted from the cut (33), as a shot encode would
    assert _keyframes(out) == [0.0, 1.3, 3.3]
    with pytest.raises(ConfigError, match="increasing"):
        EncodeSpec(160, 90, crf=30, cuts=(13, 5))
    # a spec without cuts keeps the cache key it had before the field existed
    plain = EncodeSpec(160, 90, crf=30)
    task = EncodeTask(str(src), "h", plain, str(tmp_path), 160, 90)
    old = {k: v for k, v in asdict(plain).items() if k != "cuts"}
    assert _encode_key(task) == _digest({"v": 2, "source": "h", "spec": old, "ffmpeg": _ffmpeg_version()})
    assert _encode_key(replace(task, spec=spec)) != _encode_key(task)
    # the spec round-trips through the JSON of the cache (a list read back becomes the tuple again)
    assert EncodeSpec(**json.loads(json.dumps(asdict(spec)))) == spec


def test_a_bitrate_encode_peaks_at_twice_its_rate() -> None:
    """EncodeSpec's 1-pass ABR: -b:v the target, -maxrate and -bufsize twice it (kbps, ffmpeg's k)."""
    args = encode_args("in.mp4", EncodeSpec(160, 90, bitrate_kbps=300), 25.0, "out.mp4")
    i = args.index("-b:v")
    assert args[i : i + 6] == ["-b:v", "300k", "-maxrate", "600k", "-bufsize", "600k"]


def test_manifest_states_its_segments_and_bandwidth(tmp_path: Path) -> None:
    """maxSegmentDuration is the longest real segment (2.002 s at 23.976 fps, where ffmpeg writes 2.0) and
    each bandwidth is what the segments need under minBufferTime (a burst of noise then a still picture:
    the mean that ffmpeg writes is well under it); no bitstreamSwitching between streams whose parameter
    sets differ."""
    src = tmp_path / "burst.mp4"
    run_ffmpeg(
        [
            *("-v", "error", "-y", "-f", "lavfi", "-i", "nullsrc=size=160x90:rate=24000/1001:duration=10"),
            *("-vf", "geq=random(1)*255*lt(T\\,2):128:128", "-c:v", "libx264", "-qp", "0", str(src)),
        ]
    )
    encs = []
    for i, crf in enumerate((20, 40)):
        out = tmp_path / f"r{i}.mp4"
        run_ffmpeg(encode_args(str(src), EncodeSpec(160, 90, crf=crf), 24000 / 1001, str(out)))
        encs.append(out)
    mpd = write_dash(encs, tmp_path / "dash")
    text = mpd.read_text()
    assert 'maxSegmentDuration="PT2.002S"' in text and "bitstreamSwitching" not in text
    mbt = float(re.search(r'minBufferTime="PT([\d.]+)S"', text).group(1))  # type: ignore[union-attr]
    for k, rep in enumerate(re.findall(r"<Representation\b.*?</Representation>", text, re.S)):
        times = segment_times(rep)
        assert [d for _, d in times][:2] == [48048, 48048]  # 48-frame GOPs at timescale 24000
        sizes = [
            8 * (mpd.parent / f"chunk-stream{k}-{n + 1:05d}.m4s").stat().st_size for n in range(len(times))
        ]
        bw = int(re.search(r'bandwidth="(\d+)"', rep).group(1))  # type: ignore[union-attr]
        mean = sum(sizes) / (sum(d for _, d in times) / 24000)
        # the first segment (the noise) must arrive within minBufferTime
        assert bw >= sizes[0] / mbt > 1.5 * mean
        assert bw == math.ceil(min_bandwidth(sizes, [t / 24000 for t, _ in times], mbt))


def test_min_bandwidth_and_segment_times_by_hand() -> None:
    # 8 bits at once, then nothing: delivered in the 4 s of buffer -> 2 bit/s
    assert min_bandwidth([8, 0, 0], [0, 2, 4], 4.0) == pytest.approx(2.0)
    # a late burst: from segment 1's start it has only the 2 s of buffer -> 4 bit/s
    assert min_bandwidth([0, 8], [0, 2], 2.0) == pytest.approx(4.0)
    rep = '<S t="10" d="5" r="2" /><S d="3" /><S t="40" d="1" />'
    assert segment_times(rep) == [(10, 5), (15, 5), (20, 5), (25, 3), (40, 1)]


def test_declare_in_band_keeps_the_display_aspect(tmp_path: Path) -> None:
    mpd = tmp_path / "m.mpd"
    mpd.write_text(
        '<MPD><AdaptationSet id="0" segmentAlignment="true" maxWidth="426" maxHeight="240">'
        '<Representation id="0" mimeType="video/mp4" codecs="avc1.64000d" bandwidth="1" width="426" '
        'height="240" sar="640:639"></Representation></AdaptationSet></MPD>'
    )
    declare_in_band(mpd, {0: (640, 360, None)})
    text = mpd.read_text()
    # 426x240 at 640:639 is 16:9; so is 640x360 at 1:1
    assert 'width="640" height="360" sar="1:1"' in text and 'codecs="avc3.64000d"' in text
    assert 'bitstreamSwitching="true"' in text and 'maxWidth="640"' in text


def test_output_folder_is_checked_before_encoding(tmp_path: Path) -> None:
    src = tmp_path / "movie.mp4"
    src.write_bytes(b"x")
    with pytest.raises(ConfigError, match="is a file"):
        prepare_out_dir(src, src)
    earlier = tmp_path / "out" / "rung1_640x360_731k.mp4"
    earlier.parent.mkdir()
    earlier.write_bytes(b"x")
    with pytest.raises(ConfigError, match="earlier ladder"):
        prepare_out_dir(earlier, tmp_path / "out")
    # the source's own folder is a fine output folder when the source is not one of a ladder's files
    assert prepare_out_dir(src, tmp_path) == tmp_path
    assert prepare_out_dir(src, tmp_path / "new" / "deep").is_dir()
    # a dash/ folder that no earlier ladder.json names (abr package's default) is not replaced: refused
    # when this run would write its manifest there, left alone with --no-dash (it was deleted either way)
    mine = tmp_path / "pkg" / "dash" / "mine"
    mine.mkdir(parents=True)
    (mine / "keep.txt").write_text("x")
    with pytest.raises(ConfigError, match=r"dash is not an earlier ladder's .* --no-dash"):
        prepare_out_dir(src, tmp_path / "pkg")
    assert prepare_out_dir(src, tmp_path / "pkg", dash=False) == tmp_path / "pkg"
    (tmp_path / "pkg" / "ladder.json").write_text('{"dash_manifest": "dash/manifest.mpd"}')
    assert prepare_out_dir(src, tmp_path / "pkg") == tmp_path / "pkg"  # an earlier ladder's: replaced


def test_fixed_ladder_turns_upright_for_portrait_sources() -> None:
    land = fixed_ladder_specs(640, 360)
    port = fixed_ladder_specs(360, 640)
    assert [(s.width, s.height) for s in land][:2] == [(416, 234), (640, 360)]
    assert [(s.width, s.height, s.bitrate_kbps) for s in port] == [
        (s.height, s.width, s.bitrate_kbps) for s in land
    ]


def test_no_rung_is_wider_or_taller_than_the_source() -> None:
    """An odd width rounds down to even where rounding to the nearest would pass it: 855x480 at 480 lines is
    854 wide (was 856), 1279x720 at 720 is 1278 (was 1280), upright too; lower rungs round to the nearest
    even as before (855 x 360/480 = 641.25 -> 642), and even sources are unchanged."""
    assert grid_sizes(855, 480, [480, 360]) == [(854, 480), (642, 360)]
    assert grid_sizes(1279, 720, [720, 240])[0] == (1278, 720)
    assert grid_sizes(1280, 720, [720, 240]) == [(1280, 720), (426, 240)]
    land = [(s.width, s.height) for s in fixed_ladder_specs(1279, 720)]
    port = [(s.width, s.height) for s in fixed_ladder_specs(720, 1279)]
    assert land[-1] == (1278, 720) and port[-1] == (720, 1278) and land[0] == (416, 234)


def test_vmaf_overlap_is_reported_with_the_bd_rate() -> None:
    a = [RDPoint(100, 40.0), RDPoint(1000, 90.0)]
    b = [RDPoint(150, 60.0), RDPoint(2000, 95.0)]
    assert vmaf_overlap(a, b) == [60.0, 90.0]
    assert vmaf_overlap(a, [RDPoint(10, 95.0), RDPoint(20, 99.0)]) is None


def test_curves_that_only_touch_have_no_vmaf_range() -> None:
    """Curves sharing only VMAF 60 have no BD-rate, so no VMAF range is reported with it."""
    touch = [RDPoint(300.0, 60.0), RDPoint(400.0, 70.0)]
    assert vmaf_overlap([RDPoint(100.0, 50.0), RDPoint(200.0, 60.0)], touch) is None


def test_ladder_json_rungs_keep_the_bitrates_cents_and_vmaf_to_3_places() -> None:
    """A rung at 1234.5678 kbps, VMAF 87.65432 is written 1234.57 kbps, VMAF 87.654 (not whole kbps)."""
    from reelkit.post.video.ladder import Ladder

    rung = RDPoint(1234.5678, 87.65432, {"width": 640, "height": 360, "whole_title": True})
    ladder = Ladder("src.mp4", 1280, 720, "shots", [], [rung], [rung])
    assert ladder.to_dict()["rungs"] == [
        {"width": 640, "height": 360, "bitrate_kbps": 1234.57, "vmaf": 87.654, "whole_title": True}
    ]


def test_probe_reports_what_is_decoded(tmp_path: Path) -> None:
    """A phone video stored sideways is reported upright (ffmpeg turns it when it decodes); cover art in an
    audio file is not a video stream; a variable frame rate is flagged, and the ladder refuses it before any
    encode."""
    base = tmp_path / "base.mp4"
    run_ffmpeg(
        ["-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25:duration=1", str(base)]
    )
    rot = tmp_path / "rotated.mp4"
    run_ffmpeg(["-v", "error", "-y", "-display_rotation:v:0", "90", "-i", str(base), "-c", "copy", str(rot)])
    v = probe(rot).video[0]
    assert (v.width, v.height, v.rotation) == (180, 320, 90)
    cover, song = tmp_path / "cover.png", tmp_path / "song.mp3"
    run_ffmpeg(
        ["-v", "error", "-y", "-f", "lavfi", "-i", "color=red:size=64x64", "-frames:v", "1", str(cover)]
    )
    run_ffmpeg(
        [
            *("-v", "error", "-y", "-f", "lavfi", "-i", "sine=duration=1", "-i", str(cover)),
            *("-map", "0", "-map", "1", "-c:v", "png", "-disposition:v", "attached_pic", str(song)),
        ]
    )
    info = probe(song)
    assert info.audio and not info.video
    vfr = tmp_path / "vfr.mp4"
    run_ffmpeg(
        [
            *("-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=30:duration=2"),
            *("-vf", "select='not(between(n,10,25))'", "-fps_mode", "vfr", str(vfr)),
        ]
    )
    assert probe(vfr).video[0].variable_rate and not probe(base).video[0].variable_rate
    with pytest.raises(MediaError, match="variable frame rate"):
        per_title_ladder(vfr, None, heights=(180,), crfs=(30,), compare_fixed=False, cache_dir=tmp_path)
    assert not list(tmp_path.glob("*.encode.json"))  # refused before any encode


def test_a_feature_film_has_more_cuts_than_an_expression_holds(tmp_path: Path) -> None:
    """ffmpeg refuses a keyframe expression of more than 100 terms; a film has a thousand cuts."""
    src = tmp_path / "many.mp4"
    run_ffmpeg(
        [
            *("-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=96x54:rate=24000/1001:duration=13"),
            *("-c:v", "libx264", "-qp", "0", str(src)),
        ]
    )
    cuts = tuple(range(2, 2 * 152, 2))  # 151 cuts
    out = tmp_path / "enc.mp4"
    run_ffmpeg(encode_args(str(src), EncodeSpec(96, 54, crf=30, cuts=cuts), 23.98, str(out)))
    rate = 24000 / 1001
    assert [round(t * rate) for t in _keyframes(out)][:152] == [0, *cuts]


@pytest.mark.media
@pytest.mark.parametrize(("frames", "rate"), [(1, "24"), (75, "24000/1001")])
def test_the_manifest_states_the_title_as_it_is(tmp_path: Path, frames: int, rate: str) -> None:
    """A one-frame title: ffmpeg's minBufferTime PT0.0S made the bandwidth infinite (a traceback, a folder
    half-written); 75 frames at 23.976 fps: mediaPresentationDuration PT3.1S, short of the last frame."""
    src = tmp_path / "src.mp4"
    run_ffmpeg(
        ["-v", "error", "-f", "lavfi", "-i", f"testsrc2=size=128x72:rate={rate}", "-frames:v", str(frames),
         "-c:v", "libx264", "-qp", "10", str(src)]
    )  # fmt: skip
    out = tmp_path / "out"
    per_title_ladder(src, out, heights=(72,), crfs=(40,), compare_fixed=False, cache_dir=tmp_path / "cache")
    mpd = (out / "dash" / "manifest.mpd").read_text()
    seconds = frames / (24.0 if rate == "24" else 24000 / 1001)
    stated = re.search(r'mediaPresentationDuration="PT([\d.]+)S"', mpd)
    assert stated is not None and seconds <= float(stated.group(1)) < seconds + 0.002
    buffer = re.search(r'minBufferTime="PT([\d.]+)S"', mpd)
    assert buffer is not None and float(buffer.group(1)) > 0
    assert all(int(b) > 0 for b in re.findall(r'bandwidth="(\d+)"', mpd))


@pytest.mark.media
def test_a_variable_rate_matroska_source_is_refused_before_encoding(tmp_path: Path) -> None:
    """Matroska keeps no average rate: the probe saw 24 fps, and the ladder failed after every encode."""
    vfr, cfr = tmp_path / "vfr.mkv", tmp_path / "ntsc.mkv"
    run_ffmpeg(
        ["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=24:duration=1",
         "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=12:duration=1",
         "-filter_complex", "[0][1]concat=n=2", "-fps_mode", "vfr", "-c:v", "libx264", str(vfr)]
    )  # fmt: skip
    run_ffmpeg(  # 23.976 fps on a millisecond clock: 41 and 42 ms apart, a constant rate
        ["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=24000/1001:duration=2",
         "-c:v", "libx264", str(cfr)]
    )  # fmt: skip
    kw: dict[str, Any] = {"codec": "x264", "preset": "veryfast", "compare_fixed": False, "vmaf_subsample": 1}
    with pytest.raises(MediaError, match=r"vfr\.mkv: has a variable frame rate"):
        check_ladder_inputs(vfr, **kw)
    assert check_ladder_inputs(cfr, **kw).width == 160


@pytest.mark.media
def test_a_high_rate_matroska_source_on_a_millisecond_clock_is_constant(tmp_path: Path) -> None:
    """119.88 fps on Matroska's millisecond clock: frames 8 and 9 ms apart (1 ms, over a tenth of 8 ms, is
    the clock's rounding), a constant rate that is not refused."""
    hfr = tmp_path / "hfr.mkv"
    run_ffmpeg(
        ["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=120000/1001:duration=0.5",
         "-c:v", "libx264", "-preset", "ultrafast", str(hfr)]
    )  # fmt: skip
    kw: dict[str, Any] = {"codec": "x264", "preset": "veryfast", "compare_fixed": False, "vmaf_subsample": 1}
    assert check_ladder_inputs(hfr, **kw).width == 160


@pytest.mark.media
def test_a_matroska_source_mixing_24_and_30_fps_is_refused(tmp_path: Path) -> None:
    """24000/1001 and 30000/1001 fps shots (41.7 and 33.4 ms apart) are a variable rate: refused."""
    vfr = tmp_path / "mixed.mkv"
    run_ffmpeg(
        ["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=24000/1001:duration=1",
         "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=30000/1001:duration=1",
         "-filter_complex", "[0][1]concat=n=2", "-fps_mode", "vfr", "-c:v", "libx264", str(vfr)]
    )  # fmt: skip
    kw: dict[str, Any] = {"codec": "x264", "preset": "veryfast", "compare_fixed": False, "vmaf_subsample": 1}
    with pytest.raises(MediaError, match=r"mixed\.mkv: has a variable frame rate"):
        check_ladder_inputs(vfr, **kw)


def test_frame_times_skip_what_cannot_be_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """framecrc lines with N/A times are left out; evenly spaced frames are a constant rate, a doubled gap
    is not."""
    import subprocess

    import reelkit.post.video.encode as encode_mod
    import reelkit.post.video.ladder as ladder_mod

    def fake(lines: list[tuple[str, str]]) -> None:
        out = "#tb 0: 1/1000\n" + "".join(f"0, {d}, {p}, 40, 100, 0x0\n" for d, p in lines)
        monkeypatch.setattr(
            encode_mod, "run_ffmpeg", lambda *a, **k: subprocess.CompletedProcess([], 0, out.encode(), b"")
        )

    fake([("0", "0"), ("40", "40"), ("N/A", "N/A"), ("80", "80"), ("120", "120"), ("160", "160")])
    assert ladder_mod._frame_times_vary("x.mkv") is False
    fake([(str(t), str(t)) for t in (0, 40, 80, 120, 200, 240, 280)])
    assert ladder_mod._frame_times_vary("x.mkv") is True


def test_a_cut_at_23_976_lands_on_its_frame(tmp_path: Path) -> None:
    """A cut at frame 3600 (150.15 s) of a 24000/1001 clip: times turned into frames at the printed 23.98
    put it at 3601 (one frame late per four minutes, half a second by the end of a film)."""
    clip = tmp_path / "ntsc.mp4"
    graph = (
        "[0]trim=end_frame=3600,setpts=PTS-STARTPTS[a];[1]trim=end_frame=100,setpts=PTS-STARTPTS[b];"
        "[a][b]concat=n=2:v=1[v]"
    )
    sources = [
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=96x64:r=24000/1001",
        "-f",
        "lavfi",
        "-i",
        "smptebars=s=96x64:r=24000/1001",
    ]
    encode = ["-map", "[v]", "-c:v", "libx264", "-preset", "ultrafast", str(clip)]
    run_ffmpeg(["-v", "error", *sources, "-filter_complex", graph, *encode])
    shots = detect_shots(clip)
    assert [(s.start_frame, s.end_frame) for s in shots] == [(0, 3600), (3600, 3700)]
    assert shots[1].start_s == pytest.approx(3600 * 1001 / 24000, abs=1e-6)


def test_vmaf_at_a_rate_is_read_in_log_rate_between_the_encodes_around_it() -> None:
    from reelkit.post.video.ladder import _at_rate

    pts = [(400.0, 80.0), (100.0, 50.0), (1600.0, 95.0)]
    assert _at_rate(pts, 200.0) == pytest.approx(65.0)  # halfway in log-rate from 100 to 400
    assert _at_rate(pts, 400.0) == pytest.approx(80.0)
    assert _at_rate(pts, 800.0) == pytest.approx(87.5)
    assert _at_rate(pts, 50.0) is None and _at_rate(pts, 2000.0) is None  # no extrapolation
    assert _at_rate(pts, 100.0) == 50.0  # both ends of a bracket count
    assert _at_rate([(100.0, 50.0), (100.0, 60.0)], 100.0) == 60.0  # equal rates: the better encode


def test_the_fixed_ladder_at_the_candidates_rate_control(tmp_path: Path) -> None:
    """Per-title rungs are CRF/QP, the HLS rungs 1-pass ABR: the same rungs at the candidates' rate control
    (VMAF read at each rung's bitrate on its resolution's CRF curve) give the ladder's saving alone."""
    from reelkit.post.video.ladder import _at_rate, fixed_ladder_specs, quality_spec, run_encodes

    src = tmp_path / "src.mp4"
    lossless = ["-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv420p"]
    run_ffmpeg(
        ["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=416x240:rate=25:duration=1", *lossless, str(src)]
    )
    crfs = (14.0, 24.0, 34.0, 44.0)
    kw = dict(heights=(240,), crfs=crfs, cache_dir=tmp_path / "cache")
    ladder = per_title_ladder(src, None, **kw)  # type: ignore[arg-type]
    (rung,) = fixed_ladder_specs(416, 240)  # 406x234 at 145 kbps
    grid = [quality_spec(rung.width, rung.height, q, "crf", "x264", "veryfast") for q in crfs]
    encodes = run_encodes(src, grid, display=(416, 240), cache_dir=tmp_path / "cache")  # cached: no encode
    assert all(e.cached for e in encodes)
    want = _at_rate([(e.bitrate_kbps, e.vmaf) for e in encodes], 145.0)
    assert want is not None
    (got,) = ladder.extra["fixed_same_rc"]
    assert (got["width"], got["height"], got["target_kbps"]) == (rung.width, 234, 145.0)
    assert got["vmaf"] == pytest.approx(want, abs=1e-3) and got["rate_control"] == "crf"
    assert ladder.extra["bd_rate_vs_fixed_same_rc"] is None  # one fixed rung: no curve to compare


def test_the_same_rc_fixed_ladder_by_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same-RC fixed rungs read on their own resolution's encodes, every frame; BD-rates anchor on them."""
    from reelkit.post.video import ladder as lad
    from reelkit.post.video.encode import EncodeResult
    from reelkit.post.video.quality import Pooled

    rates_q = [(400.0, 80.0), (200.0, 70.0), (100.0, 50.0), (1000.0, 90.0), (500.0, 80.0), (250.0, 60.0)]

    def fake_encodes(source: Any, specs: Any, **kw: Any) -> list[EncodeResult]:
        return [
            EncodeResult(s, f"e{i}", 0, 25, 1.0, r, q, q, q, 40.0, 0.0)
            for i, (s, (r, q)) in enumerate(zip(specs, rates_q, strict=True))
        ]

    rescored: list[str] = []

    def fake_every_frame(task: tuple[str, str, tuple[int, int]]) -> Pooled:
        rescored.append(task[1])
        q = rates_q[int(task[1][1:])][1] + 2.0  # every frame reads 2 VMAF above every 2nd
        return Pooled(q, q, q, q, q)

    monkeypatch.setattr(lad, "run_encodes", fake_encodes)
    monkeypatch.setattr(lad, "_every_frame", fake_every_frame)
    q0 = 50.0 + 20.0 * math.log2(145 / 100)  # 416x234: between 100 (VMAF 50) and 200 kbps (70)
    q1 = 60.0 + 20.0 * math.log2(365 / 250)  # 640x360: between 250 (60) and 500 kbps (80)
    hull = [RDPoint(0.8 * 145, q0), RDPoint(0.8 * 365, q1)]  # 20% fewer bits at the subsampled VMAFs
    ladder = lad.Ladder("src.mp4", 640, 360, "title", [], hull, [])
    kw: dict[str, Any] = {
        "display": (640, 360),
        "executor": LocalExecutor(kind="thread"),
        "vmaf_subsample": 2,
    }
    lad.same_rc_fixed(ladder, "src.mp4", "x264", "veryfast", "crf", (20.0, 30.0, 40.0), **kw)
    rows = ladder.extra["fixed_same_rc"]
    assert [(r["width"], r["height"], r["target_kbps"]) for r in rows] == [
        (416, 234, 145.0),
        (640, 360, 365.0),
    ]
    assert {r["rate_control"] for r in rows} == {"crf"}
    assert [r["vmaf"] for r in rows] == [round(q0 + 2, 3), round(q1 + 2, 3)]
    assert sorted(rescored) == ["e1", "e2", "e4", "e5"]
    assert ladder.extra["bd_rate_hull_vs_fixed_same_rc"] == pytest.approx(-0.2, abs=1e-9)
    # the rungs, at half the bits for the every-frame VMAFs: -50% against the same fixed ladder
    ladder.rungs = [RDPoint(0.5 * 145, q0 + 2), RDPoint(0.5 * 365, q1 + 2)]
    lad.finish_ladder(
        ladder, "src.mp4", "x264", "veryfast", compare_fixed=False, out_dir=None, dash=False, **kw
    )
    assert ladder.extra["bd_rate_vs_fixed_same_rc"] == pytest.approx(-0.5, abs=1e-9)
    qp = lad.Ladder("src.mp4", 640, 360, "title", [], hull, [])  # the rows say the rate control used
    lad.same_rc_fixed(qp, "src.mp4", "x264", "veryfast", "qp", (20.0, 30.0, 40.0), **kw)
    assert {r["rate_control"] for r in qp.extra["fixed_same_rc"]} == {"qp"}


def test_the_same_rc_fixed_ladder_shows_its_every_frame_scoring(monkeypatch: pytest.MonkeyPatch) -> None:
    """With --subsample the every-frame scores of the encodes around each fixed rung are a bar of their own
    (the step ran with no progress at all)."""
    from contextlib import contextmanager

    from reelkit.post.video import ladder as lad
    from reelkit.post.video.encode import EncodeResult
    from reelkit.post.video.quality import Pooled

    rates = [400.0, 200.0, 100.0, 1000.0, 500.0, 250.0]  # 145 and 365 kbps fall between two encodes each

    def fake_encodes(source: Any, specs: Any, **kw: Any) -> list[EncodeResult]:
        return [
            EncodeResult(s, f"e{i}", 0, 25, 1.0, r, 50.0, 50.0, 50.0, 40.0, 0.0)
            for i, (s, r) in enumerate(zip(specs, rates, strict=True))
        ]

    bars: list[list[Any]] = []

    class Recording:
        @contextmanager
        def task(self, description: str, total: float | None = None) -> Any:
            bars.append([description, total, 0])
            yield self

        def advance(self, n: float = 1) -> None:
            bars[-1][2] += n

    monkeypatch.setattr(lad, "run_encodes", fake_encodes)
    monkeypatch.setattr(lad, "_every_frame", lambda task: Pooled(52.0, 52.0, 52.0, 52.0, 52.0))
    ladder = lad.Ladder("src.mp4", 640, 360, "title", [], [RDPoint(100.0, 50.0), RDPoint(300.0, 60.0)], [])
    kw: dict[str, Any] = {
        "display": (640, 360),
        "executor": SerialExecutor(),
        "vmaf_subsample": 2,
        "progress": Recording(),
    }
    lad.same_rc_fixed(ladder, "src.mp4", "x264", "veryfast", "crf", (20.0, 30.0, 40.0), **kw)
    assert bars == [["VMAF, every frame", 4, 4]]


def test_rescore_every_frame_by_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    """Encode rungs and fixed encodes take their every-frame mean, hmean and p5; shot rungs keep theirs."""
    from reelkit.post.video import ladder as lad
    from reelkit.post.video.encode import EncodeResult
    from reelkit.post.video.quality import Pooled

    spec = EncodeSpec(320, 180, crf=30.0)
    enc = EncodeResult(spec, "rung.mp4", 0, 25, 1.0, 300.0, 80.0, 79.0, 70.0, 40.0, 0.0)
    fixed = replace(enc, path="fixed.mp4", bitrate_kbps=145.0, vmaf=60.0)
    every = {
        "rung.mp4": Pooled(78.0, 77.0, 71.0, 60.0, 90.0),
        "fixed.mp4": Pooled(58.0, 56.0, 50.0, 40.0, 70.0),
    }
    monkeypatch.setattr(lad, "_every_frame", lambda task: every[task[1]])
    shot = RDPoint(500.0, 85.0, {"width": 320, "height": 180})
    ladder = lad.Ladder("src.mp4", 320, 180, "shot", [], [], [RDPoint(300.0, 80.0, enc), shot], [fixed])
    lad.rescore_every_frame(ladder, "src.mp4", display=(320, 180), executor=LocalExecutor(kind="thread"))
    assert [(p.rate, p.quality) for p in ladder.rungs] == [(300.0, 78.0), (500.0, 85.0)]
    (f,) = ladder.fixed
    assert (f.vmaf, f.vmaf_hmean, f.vmaf_p5, f.bitrate_kbps) == (58.0, 56.0, 50.0, 145.0)
    assert ladder.extra["rung_vmaf_subsampled"] == [80.0, None]
    assert ladder.extra["fixed_vmaf_subsampled"] == [60.0]


def test_finish_ladder_bd_rates_and_ranges_by_hand(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hull -50% over VMAF 50..90 and rungs -20% over 70..90 against faked log-linear fixed encodes."""
    from reelkit.post.video import ladder as lad
    from reelkit.post.video.encode import EncodeResult

    fixed_pts = [(50.0, 30.0), (100.0, 50.0), (200.0, 70.0), (400.0, 90.0)]

    def fake_encodes(source: Any, specs: Any, **kw: Any) -> list[EncodeResult]:
        return [
            EncodeResult(s, f"f{i}", 0, 25, 1.0, r, q, q, q, 40.0, 0.0)
            for i, (s, (r, q)) in enumerate(zip(specs, fixed_pts, strict=True))
        ]

    monkeypatch.setattr(lad, "run_encodes", fake_encodes)
    hull = [RDPoint(50.0, 50.0), RDPoint(100.0, 70.0), RDPoint(200.0, 90.0)]
    rungs = [RDPoint(160.0, 70.0), RDPoint(320.0, 90.0)]
    ladder = lad.Ladder("src.mp4", 768, 432, "title", [], hull, rungs)  # four HLS rungs up to 432 lines
    lad.finish_ladder(ladder, "src.mp4", "x264", "veryfast", compare_fixed=True, out_dir=None, dash=False)
    assert ladder.bd_rate_hull_vs_fixed == pytest.approx(-0.5, abs=1e-9)
    assert ladder.extra["bd_rate_hull_vmaf_range"] == [50.0, 90.0]
    assert ladder.bd_rate_vs_fixed == pytest.approx(-0.2, abs=1e-9)
    assert ladder.extra["bd_rate_vmaf_range"] == [70.0, 90.0]
    assert "bd_rate_note" not in ladder.extra


@pytest.mark.media
def test_an_input_named_with_a_colon_is_read_as_a_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clips: dict[str, Path]
) -> None:
    """ffmpeg read a relative ``ep:1.mp4`` as the URL scheme ``ep``: "Protocol not found"."""
    from reelkit.post.video.quality import measure_quality

    monkeypatch.chdir(tmp_path)
    (tmp_path / "ep:1.mp4").write_bytes(clips["one"].read_bytes())
    info = probe("ep:1.mp4")
    assert info.video and info.video[0].width == 176
    assert measure_quality("ep:1.mp4", "ep:1.mp4", models=(), features=("psnr",)).frames == 25
    run_ffmpeg(["-v", "error", "-y", "-i", "ep:1.mp4", "-frames:v", "1", "first.png"])
    assert (tmp_path / "first.png").stat().st_size > 0


@pytest.mark.media
@pytest.mark.parametrize("folder", ["a,b", "x;y", "br[1]", "q'uote", "back\\slash"])
def test_the_vmaf_log_goes_to_a_folder_of_any_name(
    tmp_path: Path, clips: dict[str, Path], folder: str
) -> None:
    """The log path went into the filtergraph escaped for ':' and "'" only: ',', ';' and '[' broke the
    graph, and a quote or a backslash sent libvmaf's log elsewhere."""
    from reelkit.post.video.quality import measure_quality

    log = tmp_path / folder / "vmaf.json"
    result = measure_quality(clips["one"], clips["one"], models=(), features=("psnr",), log_path=log)
    assert result.frames == 25
    assert len(json.loads(log.read_text())["frames"]) == 25


@pytest.mark.media
def test_a_dash_folder_named_with_a_colon_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clips: dict[str, Path]
) -> None:
    """ffmpeg read the manifest 'ep:o3/manifest.mpd' as the URL scheme 'ep' after every encode."""
    from reelkit.post.video.ladder import write_dash

    monkeypatch.chdir(tmp_path)
    mpd = write_dash([clips["one"]], Path("ep:o3"))
    assert mpd == Path("ep:o3/manifest.mpd") and "<MPD" in (tmp_path / "ep:o3" / "manifest.mpd").read_text()


def test_a_plot_stopped_mid_write_leaves_the_earlier_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``rd.png`` is written beside and renamed: a run stopped (or failing) mid-write left a torn PNG under
    the final name, which a second run into the same folder could also show half-written."""
    import matplotlib.figure

    from reelkit.post.video.ladder import plot_curves

    curves = {"hull": [RDPoint(rate=300.0, quality=60.0), RDPoint(rate=1200.0, quality=90.0)]}
    out = plot_curves(curves, tmp_path / "rd.png", title="first")
    before = out.read_bytes()
    assert before.startswith(b"\x89PNG")

    def torn(self: Any, fname: Any, **kwargs: Any) -> None:
        Path(fname).write_bytes(before[:100])
        raise KeyboardInterrupt

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", torn)
    with pytest.raises(KeyboardInterrupt):
        plot_curves(curves, tmp_path / "rd.png", title="second")
    assert out.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["rd.png"]


@pytest.mark.parametrize("exchange", [True, False], ids=["one-step", "two-renames"])
def test_a_rerun_stopped_mid_swap_leaves_the_manifest_its_ladder_json_names(
    clips: dict[str, Path], monkeypatch: pytest.MonkeyPatch, exchange: bool
) -> None:
    """A rerun into the same folder removed the old dash/ before moving the new one in: a Ctrl-C there left
    ladder.json naming dash/manifest.mpd with the manifest and init segments gone. Now the folder holds a
    whole manifest whenever the swap is stopped."""
    from reelkit import _files
    from reelkit.post.video.ladder import write_outputs

    out = clips["dir"] / f"swap-{exchange}"
    kw = dict(heights=(144,), crfs=(30,), cache_dir=clips["dir"] / "cache", executor=SerialExecutor())
    ladder = per_title_ladder(clips["one"], out, compare_fixed=False, **kw)  # type: ignore[arg-type]
    whole = sorted(p.name for p in (out / "dash").iterdir())
    assert "manifest.mpd" in whole
    if not exchange:
        monkeypatch.setattr(_files, "_exchange", lambda a, b: False)
    real = shutil.rmtree
    stopped: list[str] = []

    def stop_first(path: Any, *args: Any, **kwargs: Any) -> None:
        if Path(path).is_dir() and not stopped:  # the first removal of a folder: stopped after a file
            stopped.append(str(path))
            next(p for p in Path(path).iterdir() if p.is_file()).unlink()
            raise KeyboardInterrupt
        real(path, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", stop_first)
    with pytest.raises(KeyboardInterrupt):
        write_outputs(ladder, out)
    monkeypatch.setattr(shutil, "rmtree", real)
    assert stopped
    data = json.loads((out / "ladder.json").read_text())
    assert (out / data["dash_manifest"]).is_file()
    assert sorted(p.name for p in (out / "dash").iterdir()) == whole
    write_outputs(ladder, out)  # the next run clears what the stopped one left beside
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]


def test_a_killed_runs_part_written_encodes_are_cleared_from_the_cache(
    clips: dict[str, Path], tmp_path: Path
) -> None:
    """A SIGKILL left ``reelkit-enc-*`` (a part-written encode, up to the title's size) in the cache for good,
    one more each kill. A folder nothing was written to for an hour is a dead run's; one being written
    (another run's, maybe on another machine sharing the cache) and the cache's own files stay."""
    from reelkit.post.video.encode import DEAD_ENCODE_S, clear_dead_encodes

    cache = tmp_path / "cache"
    old = time.time() - DEAD_ENCODE_S - 60
    for name, file_age in (
        ("reelkit-enc-dead", old),
        ("reelkit-enc-live", None),
        ("reelkit-enc-writing", None),
    ):
        (cache / name).mkdir(parents=True)
        (cache / name / "enc.mp4").write_bytes(b"x" * 10)
        if file_age is not None:
            os.utime(cache / name / "enc.mp4", (file_age, file_age))
        if name != "reelkit-enc-live":
            os.utime(cache / name, (old, old))  # the folder made long ago; the writing one's file is fresh
    (cache / "ab12.mp4").write_bytes(b"y")
    os.utime(cache / "ab12.mp4", (old, old))
    assert clear_dead_encodes(cache) == 1
    assert sorted(p.name for p in cache.iterdir()) == ["ab12.mp4", "reelkit-enc-live", "reelkit-enc-writing"]
    # a ladder's run clears them
    os.utime(cache / "reelkit-enc-live" / "enc.mp4", (old, old))
    os.utime(cache / "reelkit-enc-live", (old, old))
    per_title_ladder(clips["one"], None, heights=(72,), crfs=(40,), cache_dir=cache, compare_fixed=False)
    assert not (cache / "reelkit-enc-live").exists() and (cache / "reelkit-enc-writing").exists()
