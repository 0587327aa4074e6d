"""fetch: download from a local HTTP server, verify, extract, reuse the cache; never touch the network."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import threading
import urllib.error
import urllib.request
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import partial
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from reelkit.data.fetch import DATASETS, RemoteDataset, cache_root, fetch
from reelkit.data.loaders import load_dataset
from reelkit.errors import ChecksumError, ConfigError, FetchError, ReelkitWarning, UserInputError
from reelkit.progress import ProgressTask

U_DATA = "1\t10\t5\t881250949\n2\t10\t3\t881250950\n"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection that is not to this machine; no cache/mirror settings from the environment."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else str(address)
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"test tried to reach the network: {address}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.delenv("REELKIT_CACHE", raising=False)
    monkeypatch.delenv("REELKIT_DATA_URL", raising=False)


@dataclass
class Server:
    url: str
    root: Path
    requests: list[str] = field(default_factory=list)


class _Handler(SimpleHTTPRequestHandler):
    def __init__(self, *args: Any, requests: list[str], **kwargs: Any) -> None:
        self._requests = requests
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_GET(self) -> None:
        self._requests.append(self.path)
        super().do_GET()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    root = tmp_path.parent / f"{tmp_path.name}-www"
    root.mkdir()
    requests: list[str] = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(root), requests=requests))
    thread = threading.Thread(target=partial(httpd.serve_forever, poll_interval=0.02), daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{httpd.server_address[1]}/data", root, requests)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def make_zip(members: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, text in members.items():
            if name.endswith("/"):  # a directory entry, as `zip -r` writes
                zf.mkdir(name)
            else:
                zf.writestr(name, text)
    return buf.getvalue()


def publish(server: Server, filename: str, payload: bytes) -> None:
    (server.root / "data").mkdir(exist_ok=True)
    (server.root / "data" / filename).write_bytes(payload)


def entry_for(payload: bytes, **kw: Any) -> RemoteDataset:
    return replace(
        DATASETS["movielens-100k"], sha256=hashlib.sha256(payload).hexdigest(), md5=None, size=None, **kw
    )


class Recorder:
    """A Progress that records what was reported."""

    def __init__(self) -> None:
        self.tasks: list[tuple[str, float | None]] = []
        self.advanced = 0.0

    @contextmanager
    def task(self, description: str, total: float | None = None) -> Iterator[ProgressTask]:
        self.tasks.append((description, total))
        yield self

    def advance(self, n: float = 1) -> None:
        self.advanced += n


def leftovers(cache: Path, keep: str) -> list[str]:
    return sorted(p.name for p in cache.iterdir() if p.name != keep) if cache.exists() else []


# ------------------------------------------------------------------------------------ the good path
def test_download_verify_extract_and_load(server: Server, tmp_path: Path) -> None:
    payload = make_zip({"ml-100k/u.data": U_DATA, "ml-100k/README": "hello"})
    publish(server, "ml-100k.zip", payload)
    cache = tmp_path / "cache"
    progress = Recorder()
    folder = fetch(entry_for(payload), cache_dir=cache, base_url=server.url, progress=progress)
    assert folder == cache / "ml-100k"
    assert (folder / "README").read_text() == "hello"
    assert load_dataset(folder).n_events == 2
    assert server.requests == ["/data/ml-100k.zip"]
    assert progress.tasks[0] == ("downloading ml-100k.zip", float(len(payload)))
    assert progress.advanced == len(payload)
    assert leftovers(cache, "ml-100k") == []  # no temp files or staging folders


def test_second_call_reuses_the_cache_and_force_downloads_again(server: Server, tmp_path: Path) -> None:
    payload = make_zip({"ml-100k/u.data": U_DATA})
    publish(server, "ml-100k.zip", payload)
    entry = entry_for(payload)
    first = fetch(entry, cache_dir=tmp_path, base_url=server.url)
    (server.root / "data" / "ml-100k.zip").unlink()  # a second download would now fail
    assert fetch(entry, cache_dir=tmp_path, base_url=server.url) == first
    assert len(server.requests) == 1
    publish(server, "ml-100k.zip", payload)
    assert fetch(entry, cache_dir=tmp_path, base_url=server.url, force=True) == first
    assert len(server.requests) == 2
    assert (first / "u.data").read_text() == U_DATA
    assert leftovers(tmp_path, "ml-100k") == []


def test_a_damaged_or_unverified_cached_copy_is_downloaded_again(server: Server, tmp_path: Path) -> None:
    """The cached folder was trusted on its marker alone: an overwritten u.data and a deleted u.item came
    back as the verified dataset; a copy fetched with --insecure-skip-checksum came back without it."""
    payload = make_zip({"ml-100k/u.data": U_DATA, "ml-100k/u.item": "1|Toy Story|\n"})
    publish(server, "ml-100k.zip", payload)
    entry = entry_for(payload)
    folder = fetch(entry, cache_dir=tmp_path, base_url=server.url)
    (folder / "u.data").write_text(U_DATA.replace("3", "4"))
    (folder / "u.item").unlink()
    with pytest.warns(ReelkitWarning, match=r"not reused \((u\.data changed|u\.item is missing)"):
        assert fetch(entry, cache_dir=tmp_path, base_url=server.url) == folder
    assert len(server.requests) == 2 and (folder / "u.data").read_text() == U_DATA
    assert (folder / "u.item").is_file()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # intact: reused, nothing downloaded
        fetch(entry, cache_dir=tmp_path, base_url=server.url)
        os.utime(folder / "u.data", ns=(1, 1))  # copied without its times (cp -r): the same data, reused
        fetch(entry, cache_dir=tmp_path, base_url=server.url)
    assert len(server.requests) == 2
    unverified = replace(DATASETS["movielens-latest-small"], sha256=None)  # a dataset of no known checksum
    publish(server, "ml-latest-small.zip", make_zip({"ml-latest-small/ratings.csv": "userId,movieId\n1,1\n"}))
    fetch(unverified, cache_dir=tmp_path, base_url=server.url, allow_unverified=True)
    # one message: the copy was not verified, and a download would not be either
    with pytest.raises(FetchError, match=r"downloaded without a checksum .*, and no published checksum"):
        fetch(unverified, cache_dir=tmp_path, base_url=server.url)
    assert fetch(unverified, cache_dir=tmp_path, base_url=server.url, allow_unverified=True).is_dir()


def test_a_same_size_file_with_new_contents_is_downloaded_again(server: Server, tmp_path: Path) -> None:
    """u.data overwritten with as many bytes (a new mtime, a new digest) is a changed file, not reused."""
    payload = make_zip({"ml-100k/u.data": U_DATA})
    publish(server, "ml-100k.zip", payload)
    entry = entry_for(payload)
    folder = fetch(entry, cache_dir=tmp_path, base_url=server.url)
    (folder / "u.data").write_text(U_DATA.replace("5", "1"))
    os.utime(folder / "u.data", ns=(10**9, 10**9))
    with pytest.warns(ReelkitWarning, match=r"not reused \(u\.data changed"):
        fetch(entry, cache_dir=tmp_path, base_url=server.url)
    assert len(server.requests) == 2 and (folder / "u.data").read_text() == U_DATA


def test_a_marker_without_the_verified_field_is_a_verified_copy(server: Server, tmp_path: Path) -> None:
    """A marker written before it said "verified" came from a checked download: reused as it is, not
    taken for an unverified copy and downloaded again."""
    payload = make_zip({"ml-100k/u.data": U_DATA})
    publish(server, "ml-100k.zip", payload)
    entry = entry_for(payload)
    folder = fetch(entry, cache_dir=tmp_path, base_url=server.url)
    marker = folder / ".reelkit-fetch.json"
    fields = json.loads(marker.read_text())
    del fields["verified"]
    marker.write_text(json.dumps(fields))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert fetch(entry, cache_dir=tmp_path, base_url=server.url) == folder
    assert len(server.requests) == 1


def test_by_name_with_environment_settings(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = make_zip({"ml-100k/u.data": U_DATA})
    publish(server, "ml-100k.zip", payload)
    monkeypatch.setitem(DATASETS, "movielens-100k", entry_for(payload))
    monkeypatch.setenv("REELKIT_CACHE", str(tmp_path / "env-cache"))
    monkeypatch.setenv("REELKIT_DATA_URL", server.url + "/")
    assert fetch("movielens-100k") == tmp_path / "env-cache" / "ml-100k"
    assert cache_root() == tmp_path / "env-cache"
    assert cache_root(tmp_path / "x") == tmp_path / "x"


def test_a_cache_folder_given_with_a_tilde_is_in_the_home_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """REELKIT_CACHE=~/c (quoted in a shell, a service's environment) is $HOME/c, not a folder named '~'."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("REELKIT_CACHE", "~/c")
    assert cache_root() == tmp_path / "c"
    assert cache_root("~/d") == tmp_path / "d"


def test_md5_only_entry(server: Server, tmp_path: Path) -> None:
    payload = make_zip({"ml-1m/ratings.dat": "1::1::5::978300760\n"})
    publish(server, "ml-1m.zip", payload)
    good = replace(DATASETS["movielens-1m"], sha256=None, md5=hashlib.md5(payload).hexdigest())
    assert load_dataset(fetch(good, cache_dir=tmp_path, base_url=server.url)).n_events == 1
    bad = replace(DATASETS["movielens-1m"], sha256=None, md5="0" * 32)
    with pytest.raises(ChecksumError, match="md5 is"):
        fetch(bad, cache_dir=tmp_path / "other", base_url=server.url)


def test_a_pinned_md5_is_checked_next_to_a_matching_sha256(server: Server, tmp_path: Path) -> None:
    """With both digests pinned, a wrong md5 is a mismatch even though the sha256 agrees."""
    payload = make_zip({"ml-100k/u.data": U_DATA})
    publish(server, "ml-100k.zip", payload)
    with pytest.raises(ChecksumError, match="md5 is"):
        fetch(replace(entry_for(payload), md5="0" * 32), cache_dir=tmp_path, base_url=server.url)


def test_archive_with_directory_entries(server: Server, tmp_path: Path) -> None:
    payload = make_zip({"ml-100k/": "", "ml-100k/u.data": U_DATA, "ml-100k/docs/": "", "ml-100k/docs/a": "x"})
    publish(server, "ml-100k.zip", payload)
    folder = fetch(entry_for(payload), cache_dir=tmp_path, base_url=server.url)
    assert folder == tmp_path / "ml-100k"
    assert (tmp_path / "ml-100k" / "u.data").read_text() == U_DATA
    assert (tmp_path / "ml-100k" / "docs" / "a").read_text() == "x"
    assert not (tmp_path / "ml-100k" / "ml-100k").exists()
    assert load_dataset(folder).n_events == 2


def test_macos_resource_forks_are_skipped(server: Server, tmp_path: Path) -> None:
    """A zip made on a Mac also holds __MACOSX/: it is not unpacked, and ml-100k/ stays the one top folder."""
    payload = make_zip({"ml-100k/u.data": U_DATA, "__MACOSX/ml-100k/._u.data": "fork"})
    publish(server, "ml-100k.zip", payload)
    assert fetch(entry_for(payload), cache_dir=tmp_path, base_url=server.url) == tmp_path / "ml-100k"
    assert not list(tmp_path.rglob("__MACOSX"))


def test_archive_without_top_folder(server: Server, tmp_path: Path) -> None:
    payload = make_zip({"u.data": U_DATA})
    publish(server, "ml-100k.zip", payload)
    folder = fetch(entry_for(payload), cache_dir=tmp_path, base_url=server.url)
    assert (folder / "u.data").is_file()


def test_archive_without_top_folder_gets_the_umask(server: Server, tmp_path: Path) -> None:
    """It was unpacked into mkdtemp's folder and renamed into place as 0700: a shared cache was closed to
    everyone else."""
    payload = make_zip({"u.data": U_DATA})
    publish(server, "ml-100k.zip", payload)
    mask = os.umask(0o022)
    os.umask(mask)
    folder = fetch(entry_for(payload), cache_dir=tmp_path, base_url=server.url)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o777 & ~mask


@pytest.mark.skipif(sys.platform == "win32", reason="advisory locks")
def test_a_killed_fetchs_leftovers_are_swept_not_a_running_ones(server: Server, tmp_path: Path) -> None:
    """A fetch killed mid-way left its download and staging folder in the cache for ever (1.3 GB a time for
    ML-25M); the next fetch of the dataset removes them, but not those of a fetch still running (it holds
    a lock on its download) nor of one that has just begun, nor another dataset's."""
    import fcntl

    payload = make_zip({"ml-100k/u.data": U_DATA})
    publish(server, "ml-100k.zip", payload)
    old = 1_000_000_000

    def leftover(token: str, *, age: int | None = old) -> tuple[Path, Path]:
        part = tmp_path / f".ml-100k.zip.{token}.part"
        part.write_bytes(b"PK half")
        staging = tmp_path / f".ml-100k.{token}.x1y2z3.extract"
        (staging / "ml-100k").mkdir(parents=True)
        (staging / "ml-100k" / "u.data").write_text("half")
        if age is not None:
            os.utime(part, (age, age))
        return part, staging

    dead = leftover("dead0001")
    running = leftover("live0001")
    young = leftover("young001", age=None)
    orphan = tmp_path / ".ml-100k.gone0001.a1b2c3.extract"  # its download was removed already
    orphan.mkdir()
    other = tmp_path / ".ml-100k-extra.zip.dead0002.part"  # another dataset's
    other.write_bytes(b"")
    os.utime(other, (old, old))
    with open(running[0], "rb") as held:
        fcntl.flock(held, fcntl.LOCK_SH)
        folder = fetch(entry_for(payload), cache_dir=tmp_path, base_url=server.url)
        assert (folder / "u.data").read_text() == U_DATA
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            ["ml-100k", other.name, *(p.name for p in running + young)]
        )
    assert (running[1] / "ml-100k" / "u.data").read_text() == "half"
    assert not any(p.exists() for p in dead)


def test_a_fetch_killed_while_swapping_copies_leaves_the_previous_copy_in_place(
    server: Server, tmp_path: Path
) -> None:
    """A fetch killed between moving the previous copy aside and moving the new one in left
    ``.ml-100k.old-PID`` (the whole previous copy) for ever and no copy in place; the next fetch puts it
    back and reuses it (no download), and removes one left beside a copy in place. A swap of a process
    still running is left alone."""
    payload = make_zip({"ml-100k/u.data": U_DATA})
    publish(server, "ml-100k.zip", payload)
    folder = fetch(entry_for(payload), cache_dir=tmp_path, base_url=server.url)
    dead = 2**22 + 12345  # above Linux's largest pid: no process has it
    aside = tmp_path / f".ml-100k.old-{dead}"
    folder.rename(aside)
    assert fetch(entry_for(payload), cache_dir=tmp_path, base_url=server.url) == folder
    assert (folder / "u.data").read_text() == U_DATA and not aside.exists()
    assert server.requests == ["/data/ml-100k.zip"]  # the first fetch's download only
    shutil.copytree(folder, aside)  # beside a copy in place: only removed
    running = tmp_path / f".ml-100k.old-{os.getppid()}"
    running.mkdir()
    fetch(entry_for(payload), cache_dir=tmp_path, base_url=server.url)
    assert not aside.exists() and running.is_dir() and (folder / "u.data").read_text() == U_DATA


def test_a_folder_left_aside_without_a_marker_is_removed_not_put_in_place(
    server: Server, tmp_path: Path
) -> None:
    """Only a complete copy (its marker in it) left aside by a killed swap is put back; one without (an
    empty folder swapped out, a stray) is removed and the dataset downloaded."""
    payload = make_zip({"ml-100k/u.data": U_DATA})
    publish(server, "ml-100k.zip", payload)
    aside = tmp_path / f".ml-100k.old-{2**22 + 12345}"  # a dead process's
    aside.mkdir()
    (aside / "u.data").write_text("half")
    folder = fetch(entry_for(payload), cache_dir=tmp_path, base_url=server.url)
    assert (folder / "u.data").read_text() == U_DATA and not aside.exists()


def test_a_folder_reelkit_did_not_fetch_is_never_replaced(server: Server, tmp_path: Path) -> None:
    """A folder without the marker was renamed away and deleted with the user's files, without a word (a
    fetch puts its folder in place with the marker already in it: one without is someone else's)."""
    mine = tmp_path / "ml-100k"
    mine.mkdir()
    (mine / "my_notes.txt").write_text("precious")
    payload = make_zip({"ml-100k/u.data": U_DATA})
    publish(server, "ml-100k.zip", payload)
    with pytest.raises(
        ConfigError, match=r"ml-100k is a folder reelkit did not fetch .*never replaced.*--cache-dir"
    ):
        fetch(entry_for(payload), cache_dir=tmp_path, base_url=server.url, force=True)
    assert (mine / "my_notes.txt").read_text() == "precious"
    assert server.requests == [] and leftovers(tmp_path, "ml-100k") == []
    (mine / "my_notes.txt").unlink()  # an empty folder holds nothing to lose
    assert (
        fetch(entry_for(payload), cache_dir=tmp_path, base_url=server.url) / "u.data"
    ).read_text() == U_DATA


def test_files_put_in_a_fetched_folder_are_never_deleted(server: Server, tmp_path: Path) -> None:
    """Downloading a fetched folder again (--force, or a changed file) deleted the files a user put in it."""
    payload = make_zip({"ml-100k/u.data": U_DATA})
    publish(server, "ml-100k.zip", payload)
    entry = entry_for(payload)
    folder = fetch(entry, cache_dir=tmp_path, base_url=server.url)
    (folder / "notes").mkdir()
    (folder / "notes" / "mine.txt").write_text("precious")
    assert fetch(entry, cache_dir=tmp_path, base_url=server.url) == folder  # reused: nothing replaced
    (folder / "u.data").write_text("edited")
    for force in (True, False):
        with pytest.raises(ConfigError, match=r"1 file\(s\) that reelkit did not unpack \(notes/mine\.txt\)"):
            fetch(entry, cache_dir=tmp_path, base_url=server.url, force=force)
    assert len(server.requests) == 1
    # a marker written before it listed the files: the new copy's files are the ones that may go
    (folder / ".reelkit-fetch.json").write_text('{"dataset": "movielens-100k", "verified": true}')
    with pytest.raises(ConfigError, match=r"did not unpack \(notes/mine\.txt\)"):
        fetch(entry, cache_dir=tmp_path, base_url=server.url, force=True)
    assert (folder / "notes" / "mine.txt").read_text() == "precious" and (
        folder / "u.data"
    ).read_text() == "edited"
    assert leftovers(tmp_path, "ml-100k") == []
    (folder / "notes" / "mine.txt").unlink()
    fetch(entry, cache_dir=tmp_path, base_url=server.url, force=True)
    assert (folder / "u.data").read_text() == U_DATA


# ------------------------------------------------------------------------------------ failures
def test_checksum_mismatch_leaves_nothing(server: Server, tmp_path: Path) -> None:
    payload = make_zip({"ml-100k/u.data": U_DATA})
    publish(server, "ml-100k.zip", payload)
    entry = replace(entry_for(payload), sha256="0" * 64)
    cache = tmp_path / "cache"
    with pytest.raises(ChecksumError, match=r"sha256 is .* expected 0000") as info:
        fetch(entry, cache_dir=cache, base_url=server.url)
    assert isinstance(info.value, UserInputError) and isinstance(info.value, FetchError)
    assert list(cache.iterdir()) == []


def test_mismatch_does_not_touch_a_good_cached_copy(server: Server, tmp_path: Path) -> None:
    payload = make_zip({"ml-100k/u.data": U_DATA})
    publish(server, "ml-100k.zip", payload)
    fetch(entry_for(payload), cache_dir=tmp_path, base_url=server.url)
    publish(server, "ml-100k.zip", make_zip({"ml-100k/u.data": "tampered"}))
    with pytest.raises(ChecksumError):
        fetch(entry_for(payload), cache_dir=tmp_path, base_url=server.url, force=True)
    assert (tmp_path / "ml-100k" / "u.data").read_text() == U_DATA
    assert leftovers(tmp_path, "ml-100k") == []


def test_unverifiable_downloads_are_refused_unless_allowed(server: Server, tmp_path: Path) -> None:
    payload = make_zip({"ml-latest-small/ratings.csv": "userId,movieId,rating,timestamp\n1,1,4,1\n"})
    publish(server, "ml-latest-small.zip", payload)
    entry = replace(DATASETS["movielens-latest-small"], sha256=None)  # a dataset of no known checksum
    assert entry.sha256 is None and entry.md5 is None and not entry.verifiable
    with pytest.raises(FetchError, match=r"cannot be verified; refusing.*allow_unverified=True") as info:
        fetch(entry, cache_dir=tmp_path, base_url=server.url)
    assert isinstance(info.value, UserInputError)  # the user's choice to make: the CLI exits 2, not 1
    assert server.requests == []
    folder = fetch(entry, cache_dir=tmp_path, base_url=server.url, allow_unverified=True)
    assert load_dataset(folder).n_events == 1


@pytest.mark.parametrize(
    "bad_name", ["../evil.txt", "ml-100k/../../evil.txt", "/abs/evil.txt", "C:/evil.txt"]
)
def test_unsafe_archive_paths_are_refused(server: Server, tmp_path: Path, bad_name: str) -> None:
    payload = make_zip({"ml-100k/u.data": U_DATA, bad_name: "pwned"})
    publish(server, "ml-100k.zip", payload)
    cache = tmp_path / "deep" / "cache"
    with pytest.raises(FetchError, match="unsafe path"):
        fetch(entry_for(payload), cache_dir=cache, base_url=server.url)
    assert list(cache.iterdir()) == []
    assert not list(tmp_path.rglob("evil.txt"))


def test_a_symbolic_link_in_the_archive_is_refused(server: Server, tmp_path: Path) -> None:
    """A link member (mode S_IFLNK in the zip's external attributes) is refused, not unpacked."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("ml-100k/u.data", U_DATA)
        link = zipfile.ZipInfo("ml-100k/u.item")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    publish(server, "ml-100k.zip", buf.getvalue())
    with pytest.raises(FetchError, match=r"unsafe path 'ml-100k/u\.item'"):
        fetch(entry_for(buf.getvalue()), cache_dir=tmp_path, base_url=server.url)


def test_http_errors_and_bad_archives(server: Server, tmp_path: Path) -> None:
    payload = make_zip({"ml-100k/u.data": U_DATA})
    with pytest.raises(FetchError, match="HTTP 404"):
        fetch(entry_for(payload), cache_dir=tmp_path, base_url=server.url)
    publish(server, "ml-100k.zip", b"not a zip")
    with pytest.raises(FetchError, match="not a valid zip"):
        fetch(entry_for(b"not a zip"), cache_dir=tmp_path, base_url=server.url)
    assert list(tmp_path.iterdir()) == []


class _CutHandler(BaseHTTPRequestHandler):
    """Sends half the archive, announced in full (``Content-Length``) or as one chunk of a chunked body
    that never ends, then closes the connection."""

    payload = b""
    chunked = False

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_GET(self) -> None:
        half = self.payload[: len(self.payload) // 2]
        self.protocol_version = "HTTP/1.1"
        self.send_response(200)
        if self.chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b"%x\r\n" % len(half) + half + b"\r\n")
        else:
            self.send_header("Content-Length", str(len(self.payload)))
            self.end_headers()
            self.wfile.write(half)
        self.wfile.flush()
        self.close_connection = True


@contextmanager
def cut_server(payload: bytes, *, chunked: bool) -> Iterator[str]:
    handler = type("Cut", (_CutHandler,), {"payload": payload, "chunked": chunked})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=partial(httpd.serve_forever, poll_interval=0.02), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def test_a_chunked_download_cut_short_is_a_fetch_error(tmp_path: Path) -> None:
    """http.client's IncompleteRead came out raw (a traceback from the CLI)."""
    payload = make_zip({"ml-100k/u.data": U_DATA * 200})
    with cut_server(payload, chunked=True) as url, pytest.raises(FetchError) as info:
        fetch(entry_for(payload), cache_dir=tmp_path, base_url=url)
    assert str(info.value) == (
        f"{url}ml-100k.zip: download cut short: the connection closed after {len(payload) // 2} bytes; "
        "try again"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("checksum", [True, False])
def test_a_download_shorter_than_announced_is_cut_short(tmp_path: Path, checksum: bool) -> None:
    """It was reported as a checksum mismatch ("the file on the server ... is not the published one"), or
    without a checksum as "not a valid zip archive"."""
    payload = make_zip({"ml-100k/u.data": U_DATA * 200})
    entry = entry_for(payload) if checksum else replace(entry_for(payload), sha256=None)
    with cut_server(payload, chunked=False) as url, pytest.raises(FetchError) as info:
        fetch(entry, cache_dir=tmp_path, base_url=url, allow_unverified=True)
    assert type(info.value) is FetchError
    assert str(info.value) == (
        f"{url}ml-100k.zip: download cut short: {len(payload) // 2} of {len(payload)} bytes; try again"
    )
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("source", ["argument", "environment"])
def test_a_base_url_without_a_scheme_is_a_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    """urlopen's "unknown url type" ValueError came out raw for $REELKIT_DATA_URL and fetch(base_url=)."""
    if source == "environment":
        monkeypatch.setenv("REELKIT_DATA_URL", "mirror.example/movielens")
        expected = "$REELKIT_DATA_URL 'mirror.example/movielens': give a URL"
    else:
        expected = "base_url 'mirror.example/movielens': give a URL"
    base = "mirror.example/movielens" if source == "argument" else None
    with pytest.raises(ConfigError, match=re.escape(expected)):
        fetch("movielens-100k", cache_dir=tmp_path, base_url=base)
    with pytest.raises(ConfigError, match=r"not a valid URL \(nonnumeric port"):
        fetch("movielens-100k", cache_dir=tmp_path, base_url="http://127.0.0.1:port/")
    assert list(tmp_path.iterdir()) == []


def test_an_ftp_mirror_is_a_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """urllib opens ftp:// mirrors; the scheme check refused them as "not a URL"."""
    seen: list[str] = []

    def offline(url: str, timeout: float) -> Any:
        seen.append(url)
        raise urllib.error.URLError("offline")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(FetchError, match="download failed"):
        fetch("movielens-100k", cache_dir=tmp_path, base_url="ftp://ftp.example.org/ml/")
    assert seen == ["ftp://ftp.example.org/ml/ml-100k.zip"]


def test_default_source_is_grouplens(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def refuse(url: str, timeout: float) -> Any:
        seen.append(url)
        raise urllib.error.URLError("offline")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    with pytest.raises(FetchError, match="download failed"):
        fetch("movielens-100k", cache_dir=tmp_path)
    assert seen == ["https://files.grouplens.org/datasets/movielens/ml-100k.zip"]
    assert list(tmp_path.iterdir()) == []


def test_registry_and_unknown_names() -> None:
    assert set(DATASETS) == {"movielens-100k", "movielens-latest-small", "movielens-1m", "movielens-25m"}
    # each archive's sha256 is pinned: 'reelkit data fetch movielens-latest-small' (the command)
    # was refused for want of one, and 1m/25m were checked by MD5 alone
    assert all(d.sha256 is not None and len(d.sha256) == 64 for d in DATASETS.values())
    assert DATASETS["movielens-latest-small"].sha256 == (
        "696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436"
    )
    assert (
        DATASETS["movielens-100k"].sha256
        == "50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229"
    )
    assert {d.filename for d in DATASETS.values()} == {
        "ml-100k.zip",
        "ml-latest-small.zip",
        "ml-1m.zip",
        "ml-25m.zip",
    }
    with pytest.raises(ConfigError, match="unknown dataset 'nope'; available: movielens-100k"):
        fetch("nope")


def test_nothing_happens_at_import(tmp_path: Path) -> None:
    env = {**os.environ, "REELKIT_CACHE": str(tmp_path / "never"), "REELKIT_DATA_URL": "http://192.0.2.1/"}
    code = (
        "import socket\n"
        "def no(*a, **k): raise SystemExit('network at import')\n"
        "socket.socket.connect = no\n"
        "import reelkit.data.fetch\n"
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=60)
    assert not (tmp_path / "never").exists()


def test_a_regenerated_latest_small_fails_its_pin_unless_allowed(server: Server, tmp_path: Path) -> None:
    """ml-latest-small is pinned to its 2018-09-26 snapshot: another file fails the check (saying why and
    how to use it anyway); with allow_unverified it is used, with a warning, and kept as unverified."""
    payload = make_zip({"ml-latest-small/ratings.csv": "userId,movieId,rating,timestamp\n1,1,4,1\n"})
    publish(server, "ml-latest-small.zip", payload)
    entry = DATASETS["movielens-latest-small"]
    with pytest.raises(ChecksumError, match=r"sha256 is .*regenerated.*2018-09-26.*--insecure-skip-checksum"):
        fetch(entry, cache_dir=tmp_path, base_url=server.url)
    assert leftovers(tmp_path, "ml-latest-small") == [] and not (tmp_path / "ml-latest-small").exists()
    with pytest.warns(ReelkitWarning, match="used without any integrity check"):
        folder = fetch(entry, cache_dir=tmp_path, base_url=server.url, allow_unverified=True)
    assert load_dataset(folder).n_events == 1
    assert json.loads((folder / ".reelkit-fetch.json").read_text())["verified"] is False
    # not reused as verified: downloaded again, which fails the pin; the unverified copy stays as it was
    with pytest.warns(ReelkitWarning, match="downloaded without a checksum"), pytest.raises(ChecksumError):
        fetch(entry, cache_dir=tmp_path, base_url=server.url)
    assert load_dataset(folder).n_events == 1


def test_an_unverified_copy_of_the_pinned_archive_is_reused(server: Server, tmp_path: Path) -> None:
    """A copy fetched with --insecure-skip-checksum before ml-latest-small had a pin was downloaded again
    (offline: the cache was lost) even when its recorded digest is the pin's: it is the published file."""
    payload = make_zip({"ml-latest-small/ratings.csv": "userId,movieId,rating,timestamp\n1,1,4,1\n"})
    publish(server, "ml-latest-small.zip", payload)
    before = replace(DATASETS["movielens-latest-small"], sha256=None)  # as an older reelkit had it
    folder = fetch(before, cache_dir=tmp_path, base_url=server.url, allow_unverified=True)
    assert json.loads((folder / ".reelkit-fetch.json").read_text())["verified"] is False
    pinned = replace(before, sha256=hashlib.sha256(payload).hexdigest())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # reused in silence, nothing downloaded
        assert fetch(pinned, cache_dir=tmp_path, base_url=server.url) == folder
    assert len(server.requests) == 1
    other = replace(before, sha256="0" * 64)  # another pin: not the same file, downloaded again (and refused)
    with pytest.warns(ReelkitWarning, match="downloaded without a checksum"), pytest.raises(ChecksumError):
        fetch(other, cache_dir=tmp_path, base_url=server.url)
