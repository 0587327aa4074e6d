"""Output checks refuse folders and missing folders with one message; atomic writes leave files with the
usual permissions (mkstemp alone would leave 0600)."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path

import pytest

from reelkit._files import atomic_write_text, check_creatable, check_output_file, replace_file
from reelkit.errors import ConfigError, DataFormatError, MediaError, ReelkitError


def test_check_output_file_refuses_a_name_longer_than_the_file_system_takes(tmp_path: Path) -> None:
    """`video quality REF DIST` with a 245-letter DIST scored the whole pair, then failed writing
    DIST.quality.json ("File name too long"): the name is refused before the work, in bytes (é is two)."""
    limit = os.pathconf(tmp_path, "PC_NAME_MAX")
    fits = "é" * ((limit - 5) // 2) + ".json"
    assert check_output_file(tmp_path / fits, ConfigError, "out.json") == tmp_path / fits
    with pytest.raises(ConfigError, match=rf"is {limit + 1} bytes long, over the {limit} this file system"):
        check_output_file(tmp_path / ("x" * (limit - 4) + ".json"), ConfigError, "out.json")


@pytest.mark.parametrize("error", [ConfigError, DataFormatError, MediaError])
def test_check_output_file_refuses_a_folder_or_a_missing_folder(
    tmp_path: Path, error: type[ReelkitError]
) -> None:
    with pytest.raises(error) as info:
        check_output_file(tmp_path, error, "out.wav")
    assert type(info.value) is error
    assert str(info.value) == f"{tmp_path}: is a folder; give a file name for the output (e.g. out.wav)"
    missing = tmp_path / "no" / "out.wav"
    with pytest.raises(error) as info:
        check_output_file(missing, error, "out.wav")
    assert type(info.value) is error
    assert str(info.value) == f"{missing}: the output folder does not exist; create it first"
    if isinstance(info.value, DataFormatError):  # the path is also kept on the error
        assert info.value.path == str(missing)
    blocker = tmp_path / "file.txt"
    blocker.write_text("")
    with pytest.raises(error, match="the output folder does not exist"):
        check_output_file(blocker / "out.wav", error, "out.wav")  # its "folder" is a file


def test_check_output_file_returns_a_writable_destination(tmp_path: Path) -> None:
    out = check_output_file(str(tmp_path / "report.html"), ConfigError, "report.html")
    assert out == tmp_path / "report.html" and isinstance(out, Path)
    out.write_text("x")  # an existing file may be replaced
    assert check_output_file(out, ConfigError, "report.html") == out


def test_check_output_file_refuses_an_input(tmp_path: Path) -> None:
    src = tmp_path / "in.wav"
    src.write_bytes(b"audio")
    link = tmp_path / "link.wav"
    link.symlink_to(src)
    for out in (src, link, tmp_path / "." / "in.wav"):
        with pytest.raises(MediaError, match="would overwrite an input file"):
            check_output_file(out, MediaError, "out.wav", inputs=[None, tmp_path / "other.srt", src])
    assert src.read_bytes() == b"audio"
    other = tmp_path / "out.wav"
    assert check_output_file(other, MediaError, "out.wav", inputs=[src]) == other  # not there yet
    other.write_bytes(b"old output")
    assert check_output_file(other, MediaError, "out.wav", inputs=[src]) == other  # another file: replaced


def test_an_output_in_a_subfolder_of_an_input_folder_is_not_an_input(tmp_path: Path) -> None:
    """A folder given as an input is read whole but not its subfolders: ``in/out/report.csv`` may be
    replaced, ``in/report.csv`` may not."""
    folder = tmp_path / "in"
    (folder / "out").mkdir(parents=True)
    inside, below = folder / "report.csv", folder / "out" / "report.csv"
    inside.write_text("a")
    below.write_text("b")
    assert check_output_file(below, ConfigError, "out.csv", inputs=[folder]) == below
    with pytest.raises(ConfigError, match="would overwrite an input file"):
        check_output_file(inside, ConfigError, "out.csv", inputs=[folder])


def test_replace_file_applies_the_umask_and_replaces(tmp_path: Path) -> None:
    final = tmp_path / "report.html"
    final.write_text("old")
    fd, tmp = tempfile.mkstemp(dir=tmp_path)
    os.write(fd, b"new")
    os.close(fd)
    assert stat.S_IMODE(os.stat(tmp).st_mode) == 0o600
    old = os.umask(0o022)
    os.umask(old)
    replace_file(tmp, final)
    assert final.read_text() == "new"
    assert not Path(tmp).exists()
    assert stat.S_IMODE(os.stat(final).st_mode) == 0o666 & ~old


def test_the_umask_is_read_in_octal_for_files_and_folders(tmp_path: Path) -> None:
    """Under umask 027 a new file is 0640 and a made folder 0750 (``Umask: 0027`` read in decimal is 0o33:
    0644 and 0744)."""
    from reelkit._files import _umask, give_folder_umask

    old = os.umask(0o027)
    _umask.cache_clear()
    try:
        fd, tmp = tempfile.mkstemp(dir=tmp_path)
        os.close(fd)
        replace_file(tmp, tmp_path / "new.txt")
        folder = tempfile.mkdtemp(dir=tmp_path)
        give_folder_umask(folder)
    finally:
        os.umask(old)
        _umask.cache_clear()
    assert stat.S_IMODE(os.stat(tmp_path / "new.txt").st_mode) == 0o640
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o750


def test_read_keyed_json(tmp_path: Path) -> None:
    from reelkit._files import read_keyed_json

    f = tmp_path / "entry.json"
    assert read_keyed_json(f, {"a": 1}) is None  # nothing cached yet
    atomic_write_text(f, json.dumps({"key": {"a": 1}, "value": 3}))
    assert read_keyed_json(f, {"a": 1}) == {"key": {"a": 1}, "value": 3}
    assert read_keyed_json(f, {"a": 2}) is None  # made for another key
    f.write_text('{"key": {"a": 1}, "val')  # cut short: redone, not an error
    assert read_keyed_json(f, {"a": 1}) is None
    f.write_text("[1, 2]")
    assert read_keyed_json(f, {"a": 1}) is None


def test_a_failed_write_names_the_output_not_its_temporary_file(tmp_path: Path) -> None:
    from reelkit._files import naming_output

    out = tmp_path / "ro" / "o.json"
    with pytest.raises(OSError) as err, naming_output(out):
        raise PermissionError(13, "Permission denied", str(tmp_path / "ro" / ".o.json.x1y2.tmp"))
    assert err.value.filename == str(out) and err.value.strerror == "Permission denied"
    with pytest.raises(OSError) as err, naming_output(out):  # a real file's name is kept
        raise FileNotFoundError(2, "No such file", str(tmp_path / "input.csv"))
    assert err.value.filename == str(tmp_path / "input.csv")
    with pytest.raises(OSError) as err, naming_output(out):  # write() on a full disk names no file
        raise OSError(28, "No space left on device")
    assert err.value.filename == str(out) and err.value.strerror == "No space left on device"


def test_a_full_disk_is_one_line_naming_the_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """It was a traceback and exit 1; nothing half-written is left."""
    from reelkit.testing.cli import run_cli

    def full(self: Path, data: bytes) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full)
    out = tmp_path / "p.yaml"
    code, _, err = run_cli(capsys, "schedule", "generate", "--scenes", "6", "-o", str(out))
    assert code == 2 and err.strip() == f"error: {out}: No space left on device", err
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_replaces_whole_or_not_at_all(tmp_path: Path) -> None:
    from reelkit._files import atomic_path

    out = tmp_path / "sub" / "o.png"
    with atomic_path(out, ".png") as tmp:
        assert tmp.parent == out.parent and tmp.suffix == ".png" and tmp.name.startswith(".o.png.")
        tmp.write_bytes(b"new")
    assert out.read_bytes() == b"new"
    with pytest.raises(RuntimeError), atomic_path(out) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("the writer failed")
    assert out.read_bytes() == b"new" and sorted(p.name for p in out.parent.iterdir()) == ["o.png"]


def test_read_npz_says_what_a_file_that_is_not_a_model_is(tmp_path: Path) -> None:
    import pickle

    from reelkit._files import read_npz
    from reelkit.errors import ModelFormatError

    text = tmp_path / "fast.txt"
    text.write_text("not a model\n")
    with pytest.raises(ModelFormatError, match=r"fast\.txt: not a model file.*it is not an \.npz archive"):
        read_npz(text, "a model", "train one")
    pick = tmp_path / "p.npz"
    pick.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(ModelFormatError, match="pickled data"):
        read_npz(pick, "a model", "train one")
    import numpy as np

    objects = tmp_path / "o.npz"  # an .npz it is; its arrays are pickled objects (it said "not an .npz")
    np.savez(objects, a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ModelFormatError, match=r"an \.npz archive whose arrays hold Python objects"):
        read_npz(objects, "a model", "train one")


def test_an_unwritable_folder_is_found_before_the_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only folder failed only when the result was written, after the work (we run as root in CI,
    so the folder's mode cannot show it: os.access is what the checks ask)."""
    from reelkit._files import check_creatable

    ro = tmp_path / "ro"
    ro.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != ro and real_access(p, mode))
    with pytest.raises(ConfigError, match=r"ro/o\.json: cannot write in the output folder"):
        check_output_file(ro / "o.json", ConfigError, "o.json")
    with pytest.raises(ConfigError, match=r"cannot write in .*ro$"):
        check_creatable(ro / "new" / "deeper" / "p.png", ConfigError, "p.png")
    assert check_creatable(tmp_path / "new" / "p.png", ConfigError, "p.png") == tmp_path / "new" / "p.png"
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ConfigError, match="afile is a file, not a folder"):
        check_creatable(tmp_path / "afile" / "p.png", ConfigError, "p.png")
    with pytest.raises(ConfigError, match="is a folder"):
        check_creatable(tmp_path, ConfigError, "p.png")


def test_atomic_writes_under_a_file_say_which_part_is_a_file(tmp_path: Path) -> None:
    """``train -o AFILE/m.npz`` said only ``AFILE: File exists``."""
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ConfigError, match=r"afile/sub/o\.json: .*afile is a file, not a folder"):
        atomic_write_text(tmp_path / "afile" / "sub" / "o.json", "{}")


def test_a_relative_output_under_missing_folders_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pins the walk up a relative path to '.': new/deeper/out.txt from a folder holding no 'new' is made
    (stopping one step early took the missing 'new' for a file)."""
    monkeypatch.chdir(tmp_path)
    assert check_creatable("new/deeper/out.txt", ConfigError, "out.txt") == Path("new/deeper/out.txt")
    atomic_write_text("new/deeper/out.txt", "ok")
    assert (tmp_path / "new" / "deeper" / "out.txt").read_text() == "ok"


def test_an_atomic_write_to_a_folder_suggests_a_file_name(tmp_path: Path) -> None:
    """It suggested the folder's own name ("m.npz: is a folder; ... (e.g. m.npz)")."""
    folder = tmp_path / "m.npz"
    folder.mkdir()
    from reelkit._files import atomic_path

    with (
        pytest.raises(
            ConfigError, match=r"m\.npz: is a folder; give a file name for the output \(e\.g\. out\.npz\)"
        ),
        atomic_path(folder, ".npz"),
    ):
        pass


def test_an_atomic_rewrite_keeps_the_mode_follows_a_link_and_takes_any_name(tmp_path: Path) -> None:
    """A private file (0600) came back 0644, a symbolic link was replaced by a file, and a valid 244-byte
    name failed (ENAMETOOLONG: the temporary name was the whole name and more)."""
    private = tmp_path / "priv.txt"
    private.write_text("old")
    private.chmod(0o600)
    atomic_write_text(private, "new")
    assert private.read_text() == "new" and stat.S_IMODE(private.stat().st_mode) == 0o600

    target = tmp_path / "elsewhere" / "target.txt"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "link.txt"
    link.symlink_to(target)
    atomic_write_text(link, "through")
    assert link.is_symlink() and target.read_text() == "through"
    assert sorted(p.name for p in target.parent.iterdir()) == ["target.txt"]

    long = tmp_path / ("n" * 240 + ".txt")
    atomic_write_text(long, "long")
    assert long.read_text() == "long"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["elsewhere", "link.txt", "priv.txt", long.name]
    )


def test_a_temporary_names_head_is_cut_to_64_bytes_not_characters(tmp_path: Path) -> None:
    """A 252-byte name of 4-byte characters: its head is 16 of them (64 bytes); 64 characters (256 bytes)
    made a temporary name past the 255-byte limit."""
    from reelkit._files import temp_head

    name = "\U0001f600" * 62 + ".txt"
    assert temp_head(name) == "\U0001f600" * 16 and temp_head("short.txt") == "short.txt"
    atomic_write_text(tmp_path / name, "ok")
    assert (tmp_path / name).read_text() == "ok"


def test_a_temporary_names_head_is_64_bytes_and_a_long_extension_falls_back(tmp_path: Path) -> None:
    """Pins the 64-byte cut on an ASCII name (100 bytes: its first 64) and a write whose extension is past
    64 bytes (a 200-byte one: the temporary name took it whole and was past the 255-byte limit)."""
    from reelkit._files import atomic_path, temp_head

    assert temp_head("a" * 100) == "a" * 64 and temp_head("a" * 64) == "a" * 64
    out = tmp_path / ("x." + "e" * 200)
    with atomic_path(out, out.suffix) as tmp:
        tmp.write_text("ok")
    assert out.read_text() == "ok" and [p.name for p in tmp_path.iterdir()] == [out.name]


def test_csv_records_start_on_their_first_line_and_skip_empty_lines() -> None:
    """Line numbers count the raw lines (a quoted line break moves the next record down one) and an empty
    line is no record."""
    import io

    from reelkit._files import csv_records

    text = 'a,b\n"x\ny",2\n\nc,3\n'
    assert list(csv_records(io.StringIO(text))) == [(1, ["a", "b"]), (2, ["x\ny", "2"]), (5, ["c", "3"])]
    assert list(csv_records(io.StringIO("a;b\n"), ";")) == [(1, ["a", "b"])]


def test_a_record_the_csv_reader_cannot_read_ends_the_records_with_its_line() -> None:
    """Pins (line, None) for an unclosed quote swallowing past the field limit, on the line it opens (3),
    so the loaders name it instead of reading a file cut short as whole."""
    import io

    from reelkit._files import csv_records

    text = 'a,b\n\nc,"' + "x" * 200_000 + "\n"
    assert [(line, f) for line, f in csv_records(io.StringIO(text)) if f is None] == [(3, None)]


def _special_nodes(tmp_path: Path) -> list[Path]:
    """A FIFO, and a character device (/dev/full's numbers) when this process may make one (root)."""
    nodes = [tmp_path / "pipe"]
    os.mkfifo(nodes[0])
    try:
        os.mknod(tmp_path / "full", 0o666 | stat.S_IFCHR, os.makedev(1, 7))
        nodes.append(tmp_path / "full")
    except (OSError, AttributeError):
        pass
    link = tmp_path / "link.json"
    link.symlink_to(nodes[-1])
    return [*nodes, link]


def test_writes_refuse_a_device_or_a_fifo_and_leave_it_in_place(tmp_path: Path) -> None:
    """``schedule generate -o /dev/full`` said "wrote ..." and left a regular file where the device was (a
    FIFO and a link to a device too): the rename replaced the node."""
    from reelkit._files import atomic_path, check_creatable

    for node in _special_nodes(tmp_path):
        kind = stat.S_IFMT(os.stat(node).st_mode)
        message = f"{node}: is not a regular file (a device or pipe); write to a file"
        for check in (check_output_file, check_creatable):
            with pytest.raises(DataFormatError) as info:
                check(node, DataFormatError, "out.json")
            assert str(info.value) == message
        with pytest.raises(ConfigError, match="is not a regular file"):
            atomic_write_text(node, "{}")
        fd, tmp = tempfile.mkstemp(dir=tmp_path)
        os.close(fd)
        with pytest.raises(ConfigError, match="is not a regular file"):  # the last line of defence
            replace_file(tmp, node)
        os.unlink(tmp)
        with pytest.raises(ConfigError, match="is not a regular file"), atomic_path(node):
            pass
        assert stat.S_IFMT(os.stat(node).st_mode) == kind
    assert {p.name for p in tmp_path.iterdir()} <= {"pipe", "full", "link.json"}  # no temporary left


def test_a_symbolic_link_loop_is_refused_not_a_traceback(tmp_path: Path) -> None:
    """``ln -s lp lp`` as an output (or a plan's production file) gave ``RuntimeError: Symlink loop`` (Python
    3.11's Path.resolve), or was replaced by a file through the writers."""
    from reelkit._files import check_creatable, resolve_path

    loop = tmp_path / "lp"
    loop.symlink_to("lp")
    message = (
        f"{loop}: is a symbolic link loop (it leads back to itself); remove the link or give another path"
    )
    for check in (check_output_file, check_creatable):
        with pytest.raises(MediaError) as info:
            check(loop, MediaError, "out.wav")
        assert str(info.value) == message
    with pytest.raises(ConfigError) as config:
        resolve_path(loop)
    assert str(config.value) == message
    with pytest.raises(ConfigError, match="symbolic link loop"):
        atomic_write_text(loop, "{}")
    assert loop.is_symlink() and os.readlink(loop) == "lp"
    assert resolve_path(tmp_path / "x" / ".." / "f") == tmp_path.resolve() / "f"


def test_readers_refuse_a_fifo_before_opening_it_and_name_a_folder_or_a_link_loop(tmp_path: Path) -> None:
    """A FIFO given as input hung for ever (subs check, schedule solve, crew match, forecast, video qc: the
    read waited for a writer); a folder was 'no such samples file' and a link loop 'no such file'."""
    import threading

    from reelkit.cli.cache_plan import _read_samples
    from reelkit.media import probe
    from reelkit.post.subs import load_subtitles
    from reelkit.produce.production import read_structured
    from reelkit.produce.talent import read_instance
    from reelkit.stream.cache.trace import read_trace

    fifo = tmp_path / "x.fifo"
    os.mkfifo(fifo)
    # without the check a reader blocks in open(): a writer that opens and closes at once lets it go on (to
    # another error, so the test fails instead of hanging)
    writer = threading.Thread(target=lambda: os.close(os.open(fifo, os.O_WRONLY)), daemon=True)
    writer.start()
    loop = tmp_path / "lp"
    loop.symlink_to(loop)
    readers = [load_subtitles, read_instance, read_structured, probe, read_trace, _read_samples]
    try:
        for read in readers:
            with pytest.raises(DataFormatError) as info:
                read(fifo)
            assert str(info.value) == f"{fifo}: is a pipe or device, not a file: give a file", read
            with pytest.raises(DataFormatError) as info:
                read(loop)
            assert str(
                info.value
            ) == f"{loop}: is a symbolic link loop (it leads back to itself); remove " + (
                "the link or give another path"
            ), read
        with pytest.raises(DataFormatError, match=r": is a folder; give a samples file \(timestamp,mbps\)$"):
            _read_samples(tmp_path)
        with pytest.raises(DataFormatError, match=r"x.csv: no such samples file; check the path$"):
            _read_samples(tmp_path / "x.csv")
    finally:
        if writer.is_alive():  # nothing opened the FIFO: let the writer's open return
            os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
        writer.join(5)


def _dead_pid() -> int:
    import subprocess
    import sys

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


def test_finish_commits_takes_only_a_dead_writers_own_renames(tmp_path: Path) -> None:
    """A journal could rename any file (``../home/notes.txt`` onto another name): a reader of a shared
    folder moved the user's files. Only a temporary file made for its destination, beside it and under the
    folder, is renamed; a live writer's journal is left to it; a dead writer's half-written journal goes."""
    from reelkit._files import finish_commits

    shared, home = tmp_path / "shared", tmp_path / "home"
    shared.mkdir()
    home.mkdir()
    (home / "notes.txt").write_text("mine")
    dead = _dead_pid()
    for k, renames in enumerate(
        [
            [["../home/notes.txt", "stolen.txt"]],
            [[str(home / "notes.txt"), "stolen.txt"]],
            [["other.txt", "trace.csv"]],  # not a temporary file of trace.csv
        ]
    ):
        (shared / f".reelkit-commit-{dead}-{k}.json").write_text(json.dumps({"renames": renames}))
    (shared / "other.txt").write_text("x")
    assert finish_commits(shared) == 0
    assert (home / "notes.txt").read_text() == "mine" and not (shared / "stolen.txt").exists()
    assert (shared / "other.txt").exists() and not (shared / "trace.csv").exists()
    # a commit of another live process: left; a dead one's: completed; a dead one's .part: removed
    import subprocess
    import sys

    (shared / ".trace.csv.abc.csv").write_text("new")
    good = {"renames": [[".trace.csv.abc.csv", "trace.csv"]]}
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as live:
        try:
            (shared / f".reelkit-commit-{live.pid}-live.json").write_text(json.dumps(good))
            assert finish_commits(shared) == 0 and not (shared / "trace.csv").exists()
        finally:
            live.kill()
    (shared / f".reelkit-commit-{live.pid}-live.json").rename(shared / f".reelkit-commit-{dead}-x.json")
    (shared / f".reelkit-commit-{dead}-y.part").write_text("{")
    (shared / f".reelkit-commit-{os.getpid()}-z.part").write_text("{")  # another thread's, being written
    assert finish_commits(shared) == 1 and (shared / "trace.csv").read_text() == "new"
    (shared / f".reelkit-commit-{os.getpid()}-z.part").unlink()
    assert sorted(p.name for p in shared.iterdir() if p.name.startswith(".reelkit-commit-")) == [
        f".reelkit-commit-{dead}-{k}.json" for k in range(3)
    ]


def test_atomic_paths_without_a_signal_mask_still_commits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where Python has no pthread_sigmask (Windows) every multi-file write failed, leaving its journal."""
    import signal

    from reelkit._files import atomic_paths

    monkeypatch.delattr(signal, "pthread_sigmask")
    with atomic_paths([tmp_path / "a.txt", tmp_path / "b.txt"], tmp_path) as (a, b):
        a.write_text("a")
        b.write_text("b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.txt"]


def test_a_commit_this_process_left_is_finished_before_its_next_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rename that failed (a full disk) left a journal; the same process's next commit of newer files
    went ahead, and a later reader replayed the old journal over them (a2 beside b1). The next commit
    finishes it first; a commit running in another thread is left to it; a journal through a link (a
    destination outside the folder) and one from before pids were kept are finished too."""
    import reelkit._files as files
    from reelkit._files import atomic_paths, finish_commits

    real = files.replace_file
    calls: list[int] = []

    def second_fails(tmp: Path, final: Path) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        real(tmp, final)

    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    monkeypatch.setattr(files, "replace_file", second_fails)
    with pytest.raises(OSError), atomic_paths([a, b], tmp_path) as (ta, tb):
        ta.write_text("a1")
        tb.write_text("b1")
    monkeypatch.undo()
    with atomic_paths([a, b], tmp_path) as (ta, tb):
        ta.write_text("a2")
        tb.write_text("b2")
    assert finish_commits(tmp_path) == 0 and (a.read_text(), b.read_text()) == ("a2", "b2")
    # through a link: the journal names the target's folder
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "b.csv").symlink_to(tmp_path / "elsewhere" / "b.csv")
    temp = tmp_path / "elsewhere" / ".b.csv.xyz.csv"
    temp.write_text("new")
    old_style = tmp_path / "out" / ".reelkit-commit-k3j_x9qa.json"  # no pid in the name
    old_style.write_text(json.dumps({"renames": [["../elsewhere/.b.csv.xyz.csv", "../elsewhere/b.csv"]]}))
    assert finish_commits(tmp_path / "out") == 1 and (tmp_path / "out" / "b.csv").read_text() == "new"
