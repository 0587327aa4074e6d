"""Bad input a sweep over every command found ending in a traceback: each is now one line and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelkit.media import ffmpeg_exe
from reelkit.testing.cli import run_cli


def _ratings(path: Path) -> Path:
    rows = [f"u{u},t{t},{1 + (u * t) % 5},{1000 + u * 10 + t}" for u in range(12) for t in range(8)]
    path.write_text("user,item,rating,timestamp\n" + "\n".join(rows) + "\n")
    return path


@pytest.mark.media
def test_media_whose_tags_are_not_utf8_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """ffmpeg echoes tags as the bytes it read: a Latin-1 title crashed every media command."""
    import subprocess

    from reelkit.media import probe

    tagged = tmp_path / "latin.m4a"
    sine = ["-f", "lavfi", "-i", "sine=frequency=1000:duration=1"]
    args = [ffmpeg_exe(), "-v", "error", *sine, "-metadata"]
    subprocess.run([*(a.encode() for a in args), b"title=Caf\xe9 scene", str(tagged).encode()], check=True)
    assert probe(tagged).audio  # read, not a UnicodeDecodeError
    code, _, err = run_cli(capsys, "loudness", str(tagged), "--vad", "none", "--json")
    assert code == 0 and "Traceback" not in err


def test_a_config_file_that_is_not_utf8(tmp_path: Path) -> None:
    from reelkit.errors import ConfigError
    from reelkit.service.settings import ServiceSettings

    cfg = tmp_path / "c.json"
    cfg.write_bytes(b'{"a": "\xe9"}')
    with pytest.raises(ConfigError, match=r"c\.json: not a readable JSON config file"):
        ServiceSettings.load(tmp_path, config_file=cfg)


@pytest.mark.parametrize(
    "args",
    [
        ("communities", "--seed", "4294967296"),
        ("train", "--model", "community-pop", "--param", "seed=4294967296"),
        ("train", "--model", "community-pop", "--param", "candidates=[-3]"),
        ("train", "--model", "community-pop", "--param", "candidates=[]"),
        ("evaluate", "--split", "last", "--last-n", "9223372036854775808", "--model", "popular"),
    ],
)
def test_numbers_past_what_the_library_takes_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    ratings = _ratings(tmp_path / "r.csv")
    extra = ["-o", str(tmp_path / "m.npz")] if args[0] == "train" else []
    code, _, err = run_cli(capsys, *args, "--ratings", str(ratings), *extra)
    assert code == 2 and "Traceback" not in err and err.strip()


def test_a_solver_seed_past_32_bits_is_refused() -> None:
    from reelkit.errors import ConfigError
    from reelkit.produce.shoot import SolveOptions

    SolveOptions(seed=2**31 - 1)
    with pytest.raises(ConfigError, match="seed 2147483648 must be from 0 to 2147483647"):
        SolveOptions(seed=2**31)


@pytest.mark.parametrize("codec", ["undefined", "punycode"])
def test_an_encoding_that_cannot_decode_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], codec: str
) -> None:
    srt = tmp_path / "a.srt"
    srt.write_text("1\n00:00:01,000 --> 00:00:02,000\nHi\n\n")
    code, _, err = run_cli(capsys, "subs", "check", str(srt), "--encoding", codec)
    assert code == 2 and f"cannot decode as {codec}" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "args",
    [
        ("evaluate", "--tune", "--budget", "99999999999999999999", "--model", "popular"),
        ("abr", "train", "--episodes", "99999999999999999999"),
        ("abr", "train", "--epochs", "99999999999999999999"),
        ("abr", "train", "--members", "99999999999999999999"),
        ("video", "ladder", "in.mp4", "-o", "out", "--subsample", "99999999999999999999"),
    ],
)
def test_counts_no_run_could_finish_are_refused_before_it_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...]
) -> None:
    # they ran until stopped (or encoded everything, then failed in libvmaf)
    code, _, err = run_cli(capsys, *args)
    assert code == 2 and "Traceback" not in err
    assert "less than or equal to" in err  # the option's bound, said by the parser


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ("cache", "compare", "--trace", "t.csv", "--policies", "lru", "--capacities", "10%,,20%"),
            "is empty",
        ),
        (("cache", "synth", "-o", "s.csv", "--timezones", "0,,5"), "--timezones '0,,5'"),
        (
            ("abr", "simulate", "--traces", "tr", "--video", "v", "--algo", "bba", "--bitrates", ""),
            "--bitrates ''",
        ),
    ],
)
def test_an_empty_entry_is_refused_not_skipped(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    said: str,
) -> None:
    (tmp_path / "t.csv").write_text("timestamp,object_id,size_bytes\n1,a,10\n2,b,10\n")
    (tmp_path / "tr").mkdir()
    (tmp_path / "tr" / "t1").write_text("0 1.0\n1 2.0\n")
    (tmp_path / "v").mkdir()
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, *args)
    assert code == 2 and said in err and "Traceback" not in err


def test_an_argument_that_is_not_utf8_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the shell passes bytes; Python keeps the undecodable ones as surrogates, which pandas cannot encode
    ratings = _ratings(tmp_path / "r.csv")
    model = tmp_path / "m.npz"
    assert run_cli(capsys, "train", "--model", "popular", "--ratings", str(ratings), "-o", str(model))[0] == 0
    code, _, err = run_cli(capsys, "recommend", "--model-file", str(model), "--member", "\udcff")
    assert code == 2 and "not UTF-8 text" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (
            ("abr", "package", "-o", "p", "--segment", "0.04"),
            "must be 0.5 to 60 s",
        ),  # a frame: the MPD disagreed
        # huge but finite: an OverflowError traceback (1e308) and raw ffmpeg option errors (exit 1)
        (
            ("abr", "package", "-o", "p", "--segment", "1e308"),
            "segment length (--segment) must be 0.5 to 60 s",
        ),
        (
            ("abr", "package", "-o", "p", "--segment", "99999999999999999999"),
            "must be 0.5 to 60 s; got 1e+20",
        ),
        (
            ("abr", "package", "-o", "p", "--duration", "1e308"),
            "--duration must be > 0 s and at most 86400 s",
        ),
        (
            ("abr", "package", "clip.mp4", "-o", "p", "--duration", "1e308"),
            "the cut (--duration) must be > 0 s",
        ),
        (
            ("abr", "package", "-o", "p", "--ladder", ""),
            "--ladder: give renditions",
        ),  # was the default ladder
        (("abr", "package", "clip.mp4", "-o", "p", "--source", "zzz"), "--source chooses"),  # was ignored
    ],
)
def test_package_options_that_were_ignored_or_broke_the_stream(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    said: str,
) -> None:
    (tmp_path / "clip.mp4").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, *args)
    assert code == 2 and said in err and not (tmp_path / "p").exists()


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (("--shot-resolution", "rung"), "--shot-resolution rung: only with --mode shot"),
        (("--no-title-fallback",), "--no-title-fallback: only with --mode shot"),
    ],
)
def test_ladder_shot_options_in_title_mode_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: tuple[str, ...], said: str
) -> None:
    # they were ignored in silence: the per-title ladder was built without them
    out = tmp_path / "out"
    code, _, err = run_cli(capsys, "video", "ladder", "in.mp4", "-o", str(out), "--mode", "title", *extra)
    assert code == 2 and said in err and len(err.strip().splitlines()) == 1 and not out.exists()


def test_ladder_shot_options_at_their_defaults_are_not_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # stops at the next check, after the mode's
    args = ("--shot-resolution", "shot", "--title-fallback", "--rate-control", "abr")
    code, _, err = run_cli(capsys, "video", "ladder", "in.mp4", "-o", str(tmp_path / "o"), *args)
    assert code == 2 and "--rate-control 'abr'" in err and "--mode shot" not in err


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--vad", "webrtc", "normalize", "a.wav", "-o", "n.wav"), "--vad: only with the measurement; give"),
        (("normalize", "a.wav", "-o", "n.wav", "--vad", "webrtc"), "--vad: only with --reference dialogue"),
        (
            ("normalize", "a.wav", "-o", "n.wav", "--reference", "dialogue", "--vad", "none"),
            "--vad 'none': --reference dialogue needs a speech detector",
        ),
    ],
)
def test_loudness_vad_that_normalize_ignored_is_refused(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    said: str,
) -> None:
    # normalize measured with silero whatever --vad said
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(capsys, "loudness", *args)
    assert code == 2 and said in err and len(err.strip().splitlines()) == 1 and not Path("n.wav").exists()


def test_loudness_normalize_dialogue_uses_the_vad_given(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import reelkit.post.normalize
    from reelkit.errors import ConfigError

    seen: dict[str, object] = {}

    def normalize_file(*args: object, **kwargs: object) -> None:
        seen.update(kwargs)
        raise ConfigError("stopped here")

    monkeypatch.setattr(reelkit.post.normalize, "normalize_file", normalize_file)
    cmd = ("loudness", "normalize", "a.wav", "-o", "n.wav", "--reference", "dialogue", "--vad", "webrtc")
    code, _, err = run_cli(capsys, *cmd)
    assert code == 2 and "stopped here" in err and seen["speech"] == "webrtc"


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("demo", "--workdir", "afile"), "--workdir afile: is a file, not a folder; give a folder"),
        (("demo", "--workdir", "afile/demo"), "--workdir afile/demo: afile is a file, not a folder"),
        (("data", "demo", "-o", "afile/x"), "afile/x: afile is a file, not a folder"),
        (("data", "convert", "ratings.csv", "-o", "afile/x/y"), "afile/x/y: afile is a file, not a folder"),
    ],
)
def test_a_file_where_a_folder_option_needs_a_folder(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    said: str,
) -> None:
    # it said only "afile: File exists" (demo after generating its catalog)
    monkeypatch.chdir(tmp_path)
    Path("afile").write_text("")
    Path("ratings.csv").write_text("user,item,rating,timestamp\n1,2,4,100\n")
    code, _, err = run_cli(capsys, *args)
    assert code == 2 and said in err and len(err.strip().splitlines()) == 1


@pytest.mark.media
def test_a_file_as_the_ladder_cache_is_refused_before_the_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess

    monkeypatch.chdir(tmp_path)
    lavfi = ["-f", "lavfi", "-i", "testsrc=size=64x48:rate=10:duration=1", "-pix_fmt", "yuv420p"]
    subprocess.run([ffmpeg_exe(), "-v", "error", *lavfi, "in.mp4"], check=True)
    Path("afile").write_text("")
    small = ("--no-fixed", "--no-dash", "--heights", "48", "--crf", "30")  # it said "afile: File exists"
    code, _, err = run_cli(capsys, "video", "ladder", "in.mp4", "-o", "out", "--cache", "afile", *small)
    said = "--cache afile: is a file, not a folder; give a folder"
    assert code == 2 and said in err and len(err.strip().splitlines()) == 1 and not Path("out").exists()


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("a.wav", "b.wav"), "loudness measures one FILE at a time: reelkit loudness a.wav, then reelkit"),
        (("a.wav", "--json", "b.wav"), "measures one FILE at a time"),
        (("measure", "a.wav"), "No such command 'measure': measure with reelkit loudness a.wav (no"),
        (("normalise", "a.wav"), "Did you mean: reelkit loudness normalize a.wav ...?"),
        (("a.wav", "bogus"), "No such command 'bogus'."),  # click's own, for a word that is no file
        # normalize's options given to the measuring command: click said only "No such option: -o"
        (
            ("a.wav", "-o", "out.wav"),
            "-o is an option of 'loudness normalize': reelkit loudness normalize a.wav",
        ),
        (("--target=-23", "a.wav"), "--target is an option of 'loudness normalize'"),
        (("-o", "out.wav"), "reelkit loudness normalize FILE -o ..."),  # its value is no FILE
    ],
)
def test_loudness_given_a_second_file_says_how_to_run_it(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    said: str,
) -> None:
    # click said "No such command 'b.wav'" (or 'a.wav' after a subcommand that does not exist)
    monkeypatch.chdir(tmp_path)
    Path("a.wav").write_bytes(b"")
    code, _, err = run_cli(capsys, "loudness", *args)
    assert code == 2 and said in err and "Traceback" not in err
