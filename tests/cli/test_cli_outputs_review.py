"""A sweep of every command found inputs destroyed by outputs and tracebacks on user errors; each case here
failed that way before (exit 0 with the input gone, or a Python traceback)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from reelkit._files import check_output_file
from reelkit.data.dataset import check_dataset_output
from reelkit.errors import ConfigError, DataFormatError
from reelkit.post.subs.sync import SyncOptions, _Cues, _max_offset
from reelkit.post.video.ladder import grid_sizes
from reelkit.produce.outputs import check_plan_folder
from reelkit.recommend.ease import EASE
from reelkit.service.errors import StoreLocationError
from reelkit.service.store import open_store
from reelkit.stream.cache.trace import read_trace
from reelkit.stream.dash import DEFAULT_LADDER, check_package_options
from reelkit.testing import synthetic_dataset
from reelkit.testing.cli import run_cli as run


def test_dataset_outputs_never_replace_a_users_file_or_folder(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ratings = tmp_path / "r.csv"
    ratings.write_text("user,item,rating\na,x,4\nb,y,3\na,y,5\n")
    code, _, err = run(capsys, "data", "convert", str(ratings), "-o", str(ratings))
    assert code == 2 and "is a file" in err and ratings.read_text().startswith("user,item")
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "thesis.txt").write_text("x")
    code, _, err = run(capsys, "data", "demo", "-o", str(precious), "--members", "10", "--titles", "10")
    assert code == 2 and "thesis.txt" in err and (precious / "thesis.txt").exists()
    # an earlier dataset folder is replaced as before, and a new folder is made with the user's permissions
    out = tmp_path / "ds"
    for _ in range(2):
        code, _, err = run(capsys, "data", "demo", "-o", str(out), "--members", "10", "--titles", "10")
        assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["events.parquet", "members.parquet", "titles.parquet"]
    assert out.stat().st_mode & 0o055  # not mkdtemp's 0700
    with pytest.raises(DataFormatError, match="is a file"):
        check_dataset_output(ratings)


def test_output_files_inside_an_input_folder(tmp_path: Path) -> None:
    traces = tmp_path / "traces"
    traces.mkdir()
    (traces / "tr0.txt").write_text("0 1\n")
    with pytest.raises(ConfigError, match="overwrite an input"):
        check_output_file(traces / "tr0.txt", ConfigError, "x.npz", inputs=[traces])
    # a new file in the input folder is fine
    assert check_output_file(traces / "model.npz", ConfigError, "x.npz", inputs=[traces]).name == "model.npz"


def test_abr_outputs_are_checked_before_the_work(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    traces, video = tmp_path / "traces", tmp_path / "video"
    traces.mkdir()
    video.mkdir()
    (traces / "tr0.txt").write_text("0 1.0\n1 2.0\n")
    common = ["--traces", str(traces), "--video", str(video)]
    code, _, err = run(capsys, "abr", "train", *common, "-o", str(traces / "tr0.txt"))
    assert code == 2 and "overwrite an input" in err and (traces / "tr0.txt").read_text().startswith("0 1")
    code, _, err = run(capsys, "abr", "compare", *common, "--algos", "bba", "--plot", str(traces / "tr0.txt"))
    assert code == 2 and ".png" in err
    code, _, err = run(
        capsys, "abr", "compare", *common, "--algos", "bba", "--plot", str(tmp_path / "x" / "p.png")
    )
    assert code == 2 and "does not exist" in err


def test_plan_and_package_folders_do_not_swallow_their_inputs(tmp_path: Path) -> None:
    out = tmp_path / "o3"
    out.mkdir()
    (out / "schedule.json").write_text("{}")
    with pytest.raises(ConfigError, match="one of the files the plan writes"):
        check_plan_folder(out, out / "schedule.json")
    assert check_plan_folder(out, out / "production.yaml") == out
    clip = out / "clip.mp4"
    clip.write_bytes(b"x")
    with pytest.raises(ConfigError, match="inside the output folder"):
        check_package_options(out, DEFAULT_LADDER, clip=clip, overwrite=True)


def test_package_overwrite_replaces_only_a_stream_and_never_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``abr package -o . --overwrite`` emptied the working folder (the build folder was made inside it and
    deleted with it), and ``-o precious --overwrite`` deleted a folder that was not a stream."""
    precious = tmp_path / "precious"
    (precious / "sub").mkdir(parents=True)
    (precious / "thesis.tex").write_text("keep")
    with pytest.raises(ConfigError, match="is not a packaged stream"):
        check_package_options(precious, DEFAULT_LADDER, overwrite=True)
    monkeypatch.chdir(precious)
    for here in (".", str(precious), str(tmp_path)):
        with pytest.raises(ConfigError, match="is the working folder or holds it"):
            check_package_options(here, DEFAULT_LADDER, overwrite=True)
    stream = tmp_path / "stream"
    stream.mkdir()
    (stream / "stream.json").write_text("{}")
    assert check_package_options(stream, DEFAULT_LADDER, overwrite=True)  # a stream is replaced
    assert (precious / "thesis.tex").read_text() == "keep"


def test_a_store_that_is_not_one_is_a_user_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "reelkit.db").write_text("hello")
    with pytest.raises(StoreLocationError, match="not an SQLite database"):
        open_store(bad)
    code, _, err = run(capsys, "retrain", "--data-dir", str(tmp_path / "typo"))
    assert code == 2 and "no reelkit store" in err and not (tmp_path / "typo").exists()
    code, _, err = run(capsys, "retrain", "--data-dir", str(bad))
    assert code == 2 and "Traceback" not in err


def test_numbers_a_model_or_a_command_cannot_use(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="finite"):
        EASE(regularization=float("inf"))
    inter = synthetic_dataset(seed=1).interactions()
    model = EASE().fit(inter)
    with pytest.raises(ConfigError, match="more titles than the catalogue"):
        model.recommend(model.member_ids_[:1].tolist(), 10**13)  # was a 364 TiB padding
    with pytest.raises(ConfigError, match="more titles than the catalogue"):
        model.similar_titles(model.title_ids_[:1].tolist(), 10**13)
    # lists a little longer than the catalogue are still padded, as the contract says
    assert (
        model.recommend(model.member_ids_[:1].tolist(), inter.n_titles + 5).ids.shape[1] == inter.n_titles + 5
    )
    for args in (
        ["data", "demo", "-o", str(tmp_path / "d"), "--seed", "-1"],
        ["data", "fetch", "movielens-100k", "--base-url", "notaurl"],
        ["serve", "--data-dir", str(tmp_path / "s"), "--log-level", "bogus"],
        ["serve", "--data-dir", str(tmp_path / "s"), "--host", "999.1.1.1", "--port", "0"],
    ):
        code, _, err = run(capsys, *args)
        assert code == 2 and "Traceback" not in err, (args, err)
    with pytest.raises(ConfigError, match="too small"):
        grid_sizes(320, 1)


def test_traces_that_are_not_utf8_text(tmp_path: Path) -> None:
    png = tmp_path / "img.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    u16 = tmp_path / "u16.csv"
    u16.write_text("timestamp,object_id,size_bytes\n1,a,10\n", encoding="utf-16")
    for f in (png, u16):
        with pytest.raises(DataFormatError, match="not UTF-8"):
            read_trace(f)


def test_the_subtitle_offset_search_is_bounded_by_the_media() -> None:
    c = _Cues(np.array([1.0, 5.0]), np.array([2.0, 6.0]), np.ones(2))
    # the media, plus the last cue at the largest scale searched (a 10:00:00 file at 23.976 fps), plus 60 s
    widest = max(SyncOptions().ratios) * 1.01
    assert _max_offset(SyncOptions(max_offset_s=1e300), 100.0, c) == pytest.approx(100 + 6 * widest + 60)
    assert _max_offset(SyncOptions(max_offset_s=1e300, fine_scale=False, ratios=(1.0,)), 100.0, c) == 166.0
    assert _max_offset(SyncOptions(max_offset_s=30.0), 100.0, c) == 30.0
    assert _max_offset(SyncOptions(), 600.0, c) == 300.0


def test_ladder_heights_and_quality_grids_take_their_documented_ranges() -> None:
    """--heights takes whole numbers >= 2 (1 line is refused) and --crf the encoders' range, ends included."""
    from reelkit.cli.video import _heights, _quality_grid
    from reelkit.post.video.encode import QUALITY_RANGE

    assert _heights("720,2") == [720, 2]
    with pytest.raises(ConfigError, match="--heights: 1 is not a height"):
        _heights("360,1")
    lo, hi = QUALITY_RANGE
    assert _quality_grid(f"{lo},{hi}", "crf") == [lo, hi]
    with pytest.raises(ConfigError, match="outside"):
        _quality_grid(f"{hi + 1}", "crf")


def test_outputs_beside_inputs_are_not_inputs(tmp_path: Path) -> None:
    """Only what an input folder is read for counts: a plot kept in a subfolder of --video ., or beside the
    chunk-size files, may be written again on a rerun (it was refused as 'an input')."""
    traces = tmp_path / "traces"
    traces.mkdir()
    (traces / "tr0.txt").write_text("0 1\n")
    out = tmp_path / "out" / "compare.png"
    out.parent.mkdir()
    out.write_bytes(b"png")
    assert check_output_file(out, ConfigError, "x.png", inputs=[traces, tmp_path]) == out
    from reelkit.cli.abr_core import _video_inputs

    (tmp_path / "video_size_0").write_text("1\n")
    (tmp_path / "compare.png").write_bytes(b"png")
    assert _video_inputs(tmp_path) == [tmp_path / "video_size_0"]
    assert check_output_file(tmp_path / "compare.png", ConfigError, "x.png", inputs=_video_inputs(tmp_path))


def test_histories_take_any_iterable_of_ids() -> None:
    inter = synthetic_dataset(seed=1).interactions()
    model = EASE().fit(inter)
    ids = [str(t) for t in model.title_ids_[:3]]
    as_list = model.recommend_history([ids], 5).items(0)
    for h in (set(ids), dict.fromkeys(ids).keys(), (t for t in ids), tuple(ids)):
        assert model.recommend_history([h], 5).items(0) == as_list
    with pytest.raises(ConfigError, match="not one string"):
        model.recommend_history(["t1"], 5)
