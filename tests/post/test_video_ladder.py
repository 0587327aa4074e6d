"""Per-title and shot-based ladders end to end on tiny clips: cache, outputs, DASH, CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from reelkit.cli import app, main
from reelkit.executor import LocalExecutor
from reelkit.media import run_ffmpeg
from reelkit.post.video.ladder import per_title_ladder
from reelkit.post.video.shots import detect_shots, per_shot_ladder

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
    assert out["ms_ssim"] is None  # 144 lines: too small for MS-SSIM's five scales
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
    for bad in ({"crf": -1.0}, {"crf": 60.0}, {"qp": 52.0}, {"bitrate_kbps": 0.0}):
        with pytest.raises(ConfigError, match=r"range|positive"):
            EncodeSpec(64, 36, **bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown preset 'bogus'"):
        EncodeSpec(64, 36, crf=23, preset="bogus")


def test_cli_ladder_refuses_bad_options_before_encoding(
    clips: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["video", "ladder", str(clips["one"]), "-o", str(tmp_path / "o"), "--cache", str(tmp_path / "c")]
    cases = [
        (["--subsample", "0", "--no-fixed"], "--subsample"),
        (["--crf", "-1", "--no-fixed"], "--crf: CRF -1 is outside"),
        (["--crf", "60", "--rate-control", "qp", "--no-fixed"], "--crf: QP 60 is outside"),
        (["--preset", "bogus", "--no-fixed"], "--preset 'bogus'"),
        (["--heights", "90.7", "--no-fixed"], "--heights: 90.7"),
        (["--heights", "inf", "--no-fixed"], "--heights: inf"),
        (["--heights", "nan", "--no-fixed"], "--heights: nan"),
        (["--heights", "144"], f"{clips['one']}: the source (176x144) is smaller than the fixed ladder's"),
    ]
    for extra, message in cases:
        with pytest.raises(SystemExit) as exc:
            main([*base, *extra])
        err = capsys.readouterr().err
        assert exc.value.code == 2 and message in err and "Traceback" not in err, (extra, err)
        assert not list((tmp_path / "c").glob("*.mp4")), extra  # nothing was encoded


def test_bd_rate_note_says_why_there_is_none() -> None:
    from reelkit.post.video.ladder import RDPoint, bd_rate_note

    one = [RDPoint(145.0, 60.0)]
    two = [RDPoint(100.0, 50.0), RDPoint(200.0, 70.0)]
    assert bd_rate_note(one, two) == (
        "the fixed ladder has 1 rung at this source size; a BD-rate needs two curves of at least two points"
    )
    high = [RDPoint(1000.0, 80.0), RDPoint(2000.0, 90.0)]
    assert "do not overlap in quality" in bd_rate_note(high, two)
