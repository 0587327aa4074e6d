"""Download public datasets into a local cache, verified and unpacked.

Nothing is downloaded or read at import: :func:`fetch` does the work when called.

* Where: ``cache_dir`` if given, else ``$REELKIT_CACHE``, else ``~/.cache/reelkit`` (read at call time).
* From: ``base_url`` if given, else ``$REELKIT_DATA_URL``, else GroupLens
  (``https://files.grouplens.org/datasets/movielens/``); the archive name is appended.
* How: streamed in chunks to a temporary file inside the cache folder, hashed on the way; a checksum
  mismatch raises :class:`~reelkit.errors.ChecksumError` and deletes the download. The zip is extracted
  member by member into a temporary folder (absolute paths, ``..`` and links are refused), then renamed
  into place, so an interrupted fetch never leaves a half-written dataset; what a killed one left behind is
  removed by the next fetch of the dataset. A second call reuses the cache.
* Never deleted: a folder in the way that a fetch did not make (it has no marker) is refused, and a fetched
  folder is downloaded again only while it holds no files but those its marker lists.

Checksums: every archive has a pinned sha256, each the digest that several independent projects
record for GroupLens's file (TensorFlow Datasets' ``url_checksums/movielens.txt`` among them);
``movielens-1m`` and ``movielens-25m`` are also checked against the MD5 sums GroupLens publishes next to
each archive (``<archive>.md5``). ``movielens-latest-small`` is a development set that GroupLens may
regenerate: its pin is the snapshot generated on 2018-09-26 (100,836 ratings), still the one served in
2026; should a new one appear, its download fails the check and ``allow_unverified=True`` (CLI:
``--insecure-skip-checksum``) uses it without any integrity check. Anything else without a checksum (a
:class:`RemoteDataset` of your own) is refused unless allowed so.

MovieLens data is for research use under the GroupLens terms (cite Harper & Konstan 2015; ML-100K and
ML-1M may not be redistributed): the cache is local and nothing here re-publishes it.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import stat
import tempfile
import time
import urllib.error
import urllib.request
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from reelkit._files import give_folder_umask, pid_alive, sha256_file
from reelkit.errors import ChecksumError, ConfigError, FetchError, ReelkitWarning, UnverifiableDownloadError
from reelkit.progress import SILENT, Progress

try:  # POSIX; on Windows leftovers are swept by age alone
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = ["DATASETS", "DEFAULT_BASE_URL", "RemoteDataset", "cache_root", "fetch"]

DEFAULT_BASE_URL = "https://files.grouplens.org/datasets/movielens/"
#: What a base URL may start with: the schemes urllib opens (a mirror without one was a traceback).
URL_SCHEMES = ("http://", "https://", "ftp://", "file://")
_CHUNK = 1 << 20
_MARKER = ".reelkit-fetch.json"


@dataclass(frozen=True)
class RemoteDataset:
    """One downloadable archive: ``filename`` under the base URL, unpacked into ``folder``.

    ``sha256`` (preferred) and ``md5`` are the expected digests of the archive; ``None`` when unknown.
    """

    name: str
    filename: str
    folder: str
    sha256: str | None = None
    md5: str | None = None
    size: int | None = None
    description: str = ""

    @property
    def verifiable(self) -> bool:
        return self.sha256 is not None or self.md5 is not None


DATASETS: dict[str, RemoteDataset] = {
    d.name: d
    for d in (
        RemoteDataset(
            "movielens-100k",
            "ml-100k.zip",
            "ml-100k",
            sha256="50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
            md5="0e33842e24a9c977be4e0107933c0723",
            size=4_924_029,
            description="MovieLens 100K: 100,000 ratings, 943 users, 1,682 movies (1998)",
        ),
        RemoteDataset(
            "movielens-latest-small",
            "ml-latest-small.zip",
            "ml-latest-small",
            # the snapshot of 2018-09-26 (a development set GroupLens may regenerate)
            sha256="696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436",
            description="MovieLens latest-small: 100,836 ratings, 610 users, 9,742 movies (2018-09-26)",
        ),
        RemoteDataset(
            "movielens-1m",
            "ml-1m.zip",
            "ml-1m",
            sha256="a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20",
            md5="c4d9eecfca2ab87c1945afe126590906",
            description="MovieLens 1M: 1,000,209 ratings, 6,040 users, ~3,900 movies (2003)",
        ),
        RemoteDataset(
            "movielens-25m",
            "ml-25m.zip",
            "ml-25m",
            sha256="8b21cfb7eb1706b4ec0aac894368d90acf26ebdfb6aced3ebd4ad5bd1eb9c6aa",
            md5="6b51fb2759a8657d3bfcbfc42b592ada",
            size=261_978_986,
            description="MovieLens 25M: 25,000,095 ratings, 162,541 users, 62,423 movies (2019)",
        ),
    )
}


def cache_root(cache_dir: str | Path | None = None) -> Path:
    """The cache folder: ``cache_dir``, else ``$REELKIT_CACHE``, else ``~/.cache/reelkit``."""
    if cache_dir is not None:
        return Path(cache_dir).expanduser()
    env = os.environ.get("REELKIT_CACHE")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "reelkit"


def _lookup(name: str | RemoteDataset) -> RemoteDataset:
    if isinstance(name, RemoteDataset):
        return name
    try:
        return DATASETS[name]
    except KeyError:
        raise ConfigError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)}") from None


def _url(entry: RemoteDataset, base_url: str | None) -> str:
    env = os.environ.get("REELKIT_DATA_URL")
    base = base_url or env or DEFAULT_BASE_URL
    if not base.lower().startswith(URL_SCHEMES):
        where = "base_url" if base_url else "$REELKIT_DATA_URL"
        raise ConfigError(
            f"{where} {base!r}: give a URL (https://..., ftp://, or file:// for a local mirror)"
        )
    return base.rstrip("/") + "/" + entry.filename


def _download(
    url: str, dest: Path, entry: RemoteDataset, progress: Progress, timeout: float
) -> tuple[str, str]:
    """Stream ``url`` into ``dest``; returns its (sha256, md5) hex digests."""
    sha = hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False)
    received = 0
    length: str | None = None
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, dest.open("wb") as out:
            length = resp.headers.get("Content-Length")
            total = float(length) if length and length.isdigit() else entry.size
            with progress.task(f"downloading {entry.filename}", total=total) as task:
                while chunk := resp.read(_CHUNK):
                    out.write(chunk)
                    sha.update(chunk)
                    md5.update(chunk)
                    received += len(chunk)
                    task.advance(len(chunk))
    except urllib.error.HTTPError as exc:
        raise FetchError(
            f"{url}: HTTP {exc.code} {exc.reason}; check the address (base_url, CLI --base-url, or "
            "$REELKIT_DATA_URL)"
        ) from None
    except http.client.IncompleteRead as exc:  # a chunked response ended early
        raise FetchError(
            f"{url}: download cut short: the connection closed after {received + len(exc.partial)} bytes; "
            "try again"
        ) from None
    except (ValueError, http.client.InvalidURL) as exc:  # urlopen's "unknown url type", a bad port
        raise ConfigError(
            f"{url}: not a valid URL ({exc}); check base_url (CLI --base-url) or $REELKIT_DATA_URL"
        ) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(
            f"{url}: download failed ({reason}); check the network, or point base_url (CLI --base-url) or "
            "$REELKIT_DATA_URL at a mirror"
        ) from None
    # urllib ends a body cut short without an error when read in blocks: compare with what was announced
    if length and length.isdigit() and received != int(length):
        raise FetchError(f"{url}: download cut short: {received} of {int(length)} bytes; try again")
    return sha.hexdigest(), md5.hexdigest()


def _verify(entry: RemoteDataset, url: str, sha256: str, md5: str, allow_unverified: bool) -> bool:
    """Whether the download matches ``entry``'s digests (``False``: it has none, or, when
    ``allow_unverified``, it does not match and is used unverified with a warning); a mismatch raises
    :class:`ChecksumError` otherwise."""
    if entry.sha256 is not None and sha256 != entry.sha256:
        said = f"sha256 is {sha256}, expected {entry.sha256}"
        why = "the file on the server (or the mirror) is not the published one"
        if entry.name == "movielens-latest-small":
            why = (
                "GroupLens may have regenerated this development set (the pinned one is the 2018-09-26 "
                "snapshot): pass allow_unverified=True (CLI: --insecure-skip-checksum) to use it unverified"
            )
    elif entry.md5 is not None and md5 != entry.md5:
        said = f"md5 is {md5}, expected {entry.md5} (published by GroupLens)"
        why = "the file on the server (or the mirror) is not the published one"
    else:
        return entry.verifiable
    if allow_unverified:
        warnings.warn(
            f"{url}: {said}; used without any integrity check, as allowed (--insecure-skip-checksum)",
            ReelkitWarning,
            stacklevel=3,
        )
        return False
    raise ChecksumError(f"{url}: {said}; the download was deleted. Try again; if it persists, {why}")


def _safe_members(zf: zipfile.ZipFile, url: str) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """Members with their relative paths; refuses absolute paths, ``..``, drive letters and links."""
    out = []
    for info in zf.infolist():
        name = info.filename.replace("\\", "/")
        rel = PurePosixPath(name)
        mode = info.external_attr >> 16
        if (
            name.startswith("/")
            or rel.is_absolute()
            or ".." in rel.parts
            or (rel.parts and ":" in rel.parts[0])
            or stat.S_ISLNK(mode)
        ):
            raise FetchError(f"{url}: unsafe path {info.filename!r} in the archive; refusing to extract it")
        if name.startswith("__MACOSX/") or not rel.parts:
            continue
        out.append((info, rel))
    return out


def _extract(archive: Path, into: Path, url: str) -> Path:
    """Extract ``archive`` into the new folder ``into``; returns the dataset folder (the single top folder
    of the archive, or ``into`` itself)."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = _safe_members(zf, url)
            root = into.resolve()
            for info, rel in members:
                target = into.joinpath(*rel.parts)
                if not target.resolve().is_relative_to(root):
                    raise FetchError(f"{url}: unsafe path {info.filename!r} in the archive; refusing it")
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst, _CHUNK)
    except zipfile.BadZipFile as exc:
        raise FetchError(
            f"{url}: not a valid zip archive ({exc}); download it again (--force, force=True)"
        ) from None
    # over files only: `zip -r` also stores the top folder itself ("ml-100k/", a single path part)
    files = [rel for info, rel in members if not info.is_dir()]
    tops = {rel.parts[0] for rel in files}
    if len(tops) == 1 and all(len(rel.parts) > 1 for rel in files):
        return into / tops.pop()
    return into


def _is_complete(folder: Path) -> bool:
    return (folder / _MARKER).is_file()


def _file_stamps(folder: Path) -> dict[str, list[int | str]]:
    """Size, modification time (ns) and SHA-256 of every file under ``folder``, by relative path: written
    into the marker when the verified archive is unpacked, compared when the cached copy is reused (the
    digest only when the time changed: a copy made without keeping times is still the same data)."""
    out: dict[str, list[int | str]] = {}
    for f in sorted(folder.rglob("*")):
        if f.is_file() and f.name != _MARKER:
            st = f.stat()
            out[f.relative_to(folder).as_posix()] = [st.st_size, st.st_mtime_ns, sha256_file(f)]
    return out


def _cached_copy_problem(folder: Path, allow_unverified: bool, pinned: str | None = None) -> str | None:
    """Why the cached copy in ``folder`` may not be reused (``None``: it may): a file changed, cut short or
    missing since it was unpacked, or a copy downloaded without a checksum when one is now required."""
    try:
        marker = json.loads((folder / _MARKER).read_text())
    except (OSError, ValueError):
        return "its marker file is unreadable"
    # a copy fetched unverified whose archive matched the checksum pinned since (an older reelkit had none
    # for ml-latest-small) is the published file: verified
    matches_pin = pinned is not None and marker.get("sha256") == pinned
    if not marker.get("verified", True) and not allow_unverified and not matches_pin:
        return "it was downloaded without a checksum (--insecure-skip-checksum)"
    stamps = marker.get("files")
    if stamps is None:  # a copy unpacked before the marker kept its files
        return None
    for rel, (size, mtime_ns, *digest) in stamps.items():
        f = folder / rel
        if not f.is_file():
            return f"{rel} is missing"
        st = f.stat()
        if st.st_size != size or (st.st_mtime_ns != mtime_ns and [sha256_file(f)] != digest):
            return f"{rel} changed since it was unpacked"
    return None


def fetch(
    name: str | RemoteDataset,
    *,
    cache_dir: str | Path | None = None,
    base_url: str | None = None,
    progress: Progress = SILENT,
    force: bool = False,
    allow_unverified: bool = False,
    timeout: float = 60.0,
) -> Path:
    """Download, verify and unpack a dataset of :data:`DATASETS` (or a :class:`RemoteDataset`) into the
    cache; returns its folder, ready for :func:`reelkit.data.loaders.load_dataset`.

    A cached copy is reused unless ``force``, or unless its files changed since they were unpacked (then it
    is downloaded again, with a warning). Archives without a known checksum are refused unless
    ``allow_unverified`` (then nothing checks their integrity, and a download that does not match its
    checksum is used with a warning). Raises :class:`FetchError` when the
    download fails and :class:`ChecksumError` when it does not match; neither leaves files behind. A
    :class:`ConfigError` refuses a folder in the way that is not a fetched copy, or one holding files a fetch
    did not unpack (replacing it would delete them).
    """
    entry = _lookup(name)
    root = cache_root(cache_dir)
    final = root / entry.folder
    _recover_swap(root, final)
    problem: str | None = None
    if not force and _is_complete(final):
        problem = _cached_copy_problem(final, allow_unverified, entry.sha256)
        if problem is None:
            return final
        if not entry.verifiable and not allow_unverified:  # downloading it again would be refused too
            raise UnverifiableDownloadError(
                f"{final}: {problem}, and no published checksum is known for {entry.filename}; pass "
                "allow_unverified=True (CLI: --insecure-skip-checksum) to use it"
            )
    _check_replaceable(final)  # before the download: it would be refused at the end
    if problem is not None:
        warnings.warn(
            f"{final}: the cached copy is not reused ({problem}); downloading it again",
            ReelkitWarning,
            stacklevel=2,
        )
    if not entry.verifiable and not allow_unverified:
        raise UnverifiableDownloadError(
            f"{entry.name}: no published checksum is known for {entry.filename}, so the download cannot be "
            "verified; refusing. Pass allow_unverified=True (CLI: --insecure-skip-checksum) to download it "
            "without any integrity check"
        )
    url = _url(entry, base_url)
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the cache folder {root} ({exc.strerror or exc}); choose another "
            "(--cache-dir, cache_dir=, or REELKIT_CACHE)"
        ) from None
    _sweep(root, entry)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{entry.filename}.", suffix=".part", dir=root)
    _hold(fd)  # until this fetch ends: a sweep by another one leaves its files alone
    archive = Path(tmp_name)
    token = archive.name[len(entry.filename) + 2 : -len(".part")]
    staging = Path(tempfile.mkdtemp(prefix=f".{entry.folder}.{token}.", suffix=".extract", dir=root))
    try:
        sha256, md5 = _download(url, archive, entry, progress, timeout)
        verified = _verify(entry, url, sha256, md5, allow_unverified)
        with progress.task(f"unpacking {entry.filename}", total=None):
            folder = _extract(archive, staging, url)
        give_folder_umask(folder)  # an archive without a top folder is unpacked into mkdtemp's 0700 one
        (folder / _MARKER).write_text(
            json.dumps(
                {
                    "dataset": entry.name,
                    "url": url,
                    "sha256": sha256,
                    "md5": md5,
                    "verified": verified,
                    "files": _file_stamps(folder),
                }
            )
        )
        _move_into_place(folder, final)
    finally:  # the staging folder first: while it exists, its held archive says it is in use
        shutil.rmtree(staging, ignore_errors=True)
        os.close(fd)
        archive.unlink(missing_ok=True)
    return final


# A fetch killed mid-way (SIGKILL, power cut) leaves its download (``.<archive>.<token>.part``) and staging
# folder (``.<folder>.<token>.<random>.extract``) in the cache; the next fetch of the dataset removes them.
# A running fetch holds an advisory lock on its download for as long as it runs, released by the system
# when the process ends however it ends; its staging folder is recognised by the token the two names share.
# A download is only removed a minute after it was last written (the moment between creating it and locking
# it), and where it cannot be locked (Windows, another user's file) a day after.
_SWEEP_AFTER_S = 60.0
_SWEEP_UNLOCKED_AFTER_S = 86_400.0


def _hold(fd: int) -> None:
    """Lock the open download ``fd`` (shared) so that :func:`_in_use` sees it as in use."""
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_SH)


def _in_use(part: Path) -> bool:
    """Whether the download ``part`` belongs to a fetch still running (when in doubt, yes)."""
    try:
        age = time.time() - part.stat().st_mtime
    except FileNotFoundError:  # its fetch just ended
        return False
    except OSError:
        return True
    if age < _SWEEP_AFTER_S:
        return True
    try:
        if fcntl is None:
            raise OSError("no locks here")
        fd = os.open(part, os.O_RDONLY)
    except OSError:  # another user's (mkstemp's 0600): by age
        return age < _SWEEP_UNLOCKED_AFTER_S
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def _recover_swap(root: Path, final: Path) -> None:
    """A fetch killed while swapping a new copy in (:func:`_move_into_place`) left the previous copy as
    ``.NAME.old-PID``: put it back where no copy is in place (it was complete), else remove it. A swap of
    a process still running is left alone."""
    head = f".{final.name}.old-"
    try:
        names = [n for n in os.listdir(root) if n.startswith(head) and n[len(head) :].isdigit()]
    except OSError:
        return
    for name in names:
        pid = int(name[len(head) :])
        if pid != os.getpid() and pid_alive(pid):
            continue
        old = root / name
        if not old.is_dir() or old.is_symlink():
            continue
        if not final.exists() and _is_complete(old):
            old.rename(final)
        else:
            shutil.rmtree(old, ignore_errors=True)


def _sweep(root: Path, entry: RemoteDataset) -> None:
    """Remove what fetches of ``entry`` that did not finish left in ``root`` (see above)."""
    part_head = f".{entry.filename}."
    stage_head = f".{entry.folder}."
    live: set[str] = set()
    stale: list[Path] = []
    try:
        names = os.listdir(root)
    except OSError:
        return
    for name in names:  # a token is mkstemp's: no dots, so another dataset's longer name is not taken
        token = name[len(part_head) : -len(".part")]
        if not (name.startswith(part_head) and name.endswith(".part") and token and "." not in token):
            continue
        if _in_use(root / name):
            live.add(token)
        else:
            stale.append(root / name)
    for name in names:
        token, _, rest = name[len(stage_head) : -len(".extract")].partition(".")
        if not (name.startswith(stage_head) and name.endswith(".extract") and rest and "." not in rest):
            continue
        if token and token not in live:
            stale.append(root / name)
    for path in stale:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def _listed_files(folder: Path) -> set[str] | None:
    """The files the marker in ``folder`` lists; ``None`` when it lists none (written before markers kept
    the list) or cannot be read."""
    try:
        files = json.loads((folder / _MARKER).read_text()).get("files")
    except (OSError, ValueError, AttributeError):
        return None
    return set(files) if isinstance(files, dict) else None


def _check_replaceable(final: Path, staged: Path | None = None) -> None:
    """Refuse to replace ``final`` when that would delete files a fetch did not unpack.

    A fetch renames its folder into place with the marker already in it, so a non-empty folder without one
    is someone else's. In a fetched folder, a file its marker does not list was put there since; for a
    marker without a list (older reelkit), ``staged`` (the new copy) gives the files that may go.
    """
    if not final.exists():
        return
    where = "choose another cache folder (--cache-dir, cache_dir=, or REELKIT_CACHE)"
    if not final.is_dir():
        raise ConfigError(f"{final} is a file in the way of the dataset's folder; remove it, or {where}")
    found = {p.relative_to(final).as_posix() for p in final.rglob("*") if p.is_symlink() or not p.is_dir()}
    if not found:  # an empty folder: nothing to lose
        return
    if not _is_complete(final):
        raise ConfigError(
            f"{final} is a folder reelkit did not fetch (it has no {_MARKER}); a user's folder is never "
            f"replaced: remove it, or {where}"
        )
    known = _listed_files(final)
    if known is None:
        if staged is None:  # the list comes with the new copy
            return
        known = {p.relative_to(staged).as_posix() for p in staged.rglob("*") if not p.is_dir()}
    foreign = sorted(found - known - {_MARKER})
    if foreign:
        shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
        raise ConfigError(
            f"{final}: {len(foreign)} file(s) that reelkit did not unpack ({shown}) would be deleted by "
            "downloading the dataset again; move them out of the folder, then fetch again"
        )


def _move_into_place(folder: Path, final: Path) -> None:
    """Rename ``folder`` to ``final``; an existing ``final`` (a fetched copy holding only its own files, see
    :func:`_check_replaceable`) is swapped out first, then removed."""
    _check_replaceable(final, folder)
    old: Path | None = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        final.rename(old)
    try:
        folder.rename(final)
    except OSError:
        if old is not None:  # put the previous copy back
            old.rename(final)
            old = None
        if not _is_complete(final):
            raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
