"""Writing output files: checking the destination first, and atomic writes with the usual permissions.

:func:`check_output_file` refuses a destination that is a folder, a device or a FIFO (a rename would
replace the node by a file), or whose folder does not exist, with one message whatever the caller's error
type (call it before long work, not after it).

``tempfile.mkstemp`` creates files readable by their owner only (0600); a report, model or trace written
that way would surprise a user (a web server could not read ``report.html``). :func:`replace_file` gives the
temporary file ``0666 & ~umask`` (or the permissions of the file it replaces) and then renames it over the
destination.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import hashlib
import json
import os
import shutil
import stat
import tempfile
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from reelkit.errors import ConfigError, DataFormatError, ReelkitError

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "check_creatable",
    "check_output_file",
    "read_keyed_json",
    "read_npz",
    "replace_file",
]

_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _umask() -> int:
    try:  # Linux: read it without changing it
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except OSError:
        pass
    with _LOCK:  # elsewhere: set and restore (once per process)
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def _is_or_inside(out: Path, given: Path) -> bool:
    """Whether the existing file ``out`` is the input ``given``, or a file directly in the input folder
    ``given`` (a folder given as an input is read whole: a trace folder, a dataset folder). Subfolders are
    not read, so outputs kept there are not inputs."""
    if not given.exists():
        return False
    if out.samefile(given):
        return True
    return given.is_dir() and out.resolve().parent == given.resolve()


NOT_REGULAR = "is not a regular file (a device or pipe); write to a file"
LINK_LOOP = "is a symbolic link loop (it leads back to itself); remove the link or give another path"


def is_link_loop(path: str | os.PathLike[str]) -> bool:
    """Whether following ``path``'s symbolic links never ends (``ln -s lp lp``)."""
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno == errno.ELOOP
    except ValueError:
        return False
    return False


def resolve_path(path: str | os.PathLike[str], error: type[ReelkitError] = ConfigError) -> Path:
    """``Path(path).resolve()``, refusing a symbolic link loop as ``error`` (``<path>: is a symbolic link
    loop ...``): Python before 3.13 raises a bare RuntimeError for one, which ended in a traceback."""
    try:
        return Path(path).resolve()
    except RuntimeError:
        raise _refusal(error, Path(path), LINK_LOOP) from None


def is_special(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` (a link followed) exists and is neither a regular file nor a folder: a device or a
    FIFO, which a write through a temporary file and a rename would replace by a regular file."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))


NOT_A_FILE = "is a pipe or device, not a file: give a file"


def check_input_file(
    path: str | os.PathLike[str], error: type[ReelkitError], folder: str, missing: str = "no such file"
) -> Path:
    """``path`` as a Path when it is a regular file (a link followed) to read; otherwise raises ``error``
    (as :func:`check_output_file` does): ``missing`` (``"no such trace file"``) when nothing is there, a
    symbolic link loop as one (it does not exist for :meth:`Path.exists`), ``folder`` (``"is a folder,
    not a subtitle file"``) for a folder, and a FIFO or device before it is opened: reading a FIFO waits
    for a writer, for ever."""
    p = Path(path)
    if is_link_loop(p):
        problem = LINK_LOOP
    elif p.is_dir():
        problem = folder
    elif is_special(p):
        problem = NOT_A_FILE
    elif not p.is_file():
        problem = f"{missing}; check the path"
    else:
        return p
    raise _refusal(error, p, problem)


def check_output_file(
    path: str | os.PathLike[str],
    error: type[ReelkitError],
    example: str,
    inputs: Sequence[str | os.PathLike[str] | None] = (),
) -> Path:
    """``path`` as a Path when a file can be written there: it is not a folder, its folder exists and may be
    written in, and it is none of the ``inputs`` nor an existing file inside an input folder (writing there
    would destroy the input the output is made from).

    Otherwise raises ``error``: a :class:`~reelkit.errors.DataFormatError` (or subclass) gets the path as its
    ``path=``, any other error type gets it at the start of the message, so both read ``<path>: <what>``.
    ``example`` is a file name the message suggests (``out.wav``, ``report.html``).
    """
    out = Path(path)
    name_bytes, name_max = len(os.fsencode(out.name)), _name_max(out.parent)
    if name_bytes > name_max:  # found now: it was "File name too long" after the work (is_dir() raises it)
        problem = (
            f"its name is {name_bytes} bytes long, over the {name_max} this file system allows; choose a "
            "shorter name"
        )
    elif out.is_dir():
        problem = f"is a folder; give a file name for the output (e.g. {example})"
    elif is_special(out):
        problem = NOT_REGULAR
    elif is_link_loop(out):
        problem = LINK_LOOP
    elif not out.parent.is_dir():
        problem = "the output folder does not exist; create it first"
    elif not os.access(out.parent, os.W_OK | os.X_OK):  # found now, not after the work
        problem = "cannot write in the output folder; choose another output"
    elif out.exists() and any(p is not None and _is_or_inside(out, Path(p)) for p in inputs):
        problem = "the output would overwrite an input file; choose another output name"
    else:
        return out
    raise _refusal(error, out, problem)


def _name_max(folder: Path) -> int:
    """The longest file name (bytes) the file system of ``folder`` takes (255 where it does not say)."""
    try:
        return int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):  # AttributeError: no pathconf (Windows)
        return 255


def _refusal(error: type[ReelkitError], out: Path, problem: str) -> ReelkitError:
    """``error`` reading ``<out>: <problem>``: a DataFormatError (or subclass) takes the path as ``path=``."""
    if issubclass(error, DataFormatError):
        return error(problem, path=str(out))
    return error(f"{out}: {problem}")


def existing_ancestor(path: str | os.PathLike[str]) -> Path:
    """``path`` when it exists, else its nearest existing parent (where creating the missing folders would
    start: a file there means the path cannot be made)."""
    above = Path(path)
    while not above.exists() and above != above.parent:
        above = above.parent
    return above


def check_creatable(
    path: str | os.PathLike[str], error: type[ReelkitError], example: str, *, try_write: bool = False
) -> Path:
    """``path`` as a Path when a file can be written there, creating any missing folders on the way: it is
    not a folder, and its nearest existing folder is one this process may write in. Raises ``error`` as
    :func:`check_output_file` does. For outputs checked before another output is written, or before long
    work. ``try_write`` also makes (and removes) an empty file in that folder: ``os.access`` lets root write
    anywhere, /proc and /sys included, where no file can be made."""
    out = Path(path)
    problem = None
    if out.is_dir():
        problem = f"is a folder; give a file name for the output (e.g. {example})"
    elif is_special(out):
        problem = NOT_REGULAR
    elif is_link_loop(out):
        problem = LINK_LOOP
    else:
        above = existing_ancestor(out.parent)
        if not above.is_dir():
            problem = f"{above} is a file, not a folder"
        elif not os.access(above, os.W_OK | os.X_OK):
            problem = f"cannot write in {above}"
        elif try_write:
            try:
                fd, name = tempfile.mkstemp(prefix=".reelkit-check.", dir=above)
            except OSError as exc:
                problem = f"cannot write in {above} ({exc.strerror or exc})"
            else:
                os.close(fd)
                os.unlink(name)
    if problem is None:
        return out
    raise _refusal(error, out, problem)


def sha256_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def give_folder_umask(folder: str | os.PathLike[str]) -> None:
    """Set a folder made by :func:`tempfile.mkdtemp` (mode 0700) to ``0o777 & ~umask``, as ``mkdir`` would
    have, before it is renamed into place as an output (a web server reads a DASH stream as another user)."""
    os.chmod(folder, 0o777 & ~_umask())


def replace_file(tmp: str | os.PathLike[str], final: str | os.PathLike[str]) -> None:
    """``os.replace(tmp, final)`` after giving ``tmp`` the permissions of the file it replaces (a private
    file stays private), or ``0o666 & ~umask`` when there is none. Refuses (ConfigError) to replace a device
    or a FIFO: the rename would destroy the node, not write to it."""
    try:
        st = os.stat(final)
        mode = stat.S_IMODE(st.st_mode) & 0o777
    except OSError:
        mode = 0o666 & ~_umask()
    else:
        if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
            raise ConfigError(f"{final}: {NOT_REGULAR}")
    os.chmod(tmp, mode)
    os.replace(tmp, final)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"{p}: is a folder; give a file name to write")
    with atomic_path(p) as tmp:
        tmp.write_bytes(data)
    return p


def write_target(path: str | os.PathLike[str]) -> Path:
    """The file a write to ``path`` replaces: the target of a symbolic link (written through, as editors
    do), else ``path``."""
    p = Path(path)
    return Path(os.path.realpath(p)) if p.is_symlink() else p


def temp_head(name: str) -> str:
    """At most 64 bytes of ``name``, for a temporary name built from it: any valid name then has one (the
    whole name and more failed on a 244-byte one)."""
    head = name
    while len(os.fsencode(head)) > 64:
        head = head[:-1]
    return head


@contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary file beside ``path`` for the block to write (by name: any writer that takes a path);
    when the block ends normally it is synced and renamed over ``path`` (with the user's umask), otherwise
    removed, so an existing ``path`` is never half-written. A failed write names ``path``, not the
    temporary file. ``suffix`` keeps the extension for writers that read the format from the name.

    A symbolic link is written through (its target is replaced, as editors do), and the permissions of a
    file replaced are kept (see :func:`replace_file`)."""
    p = Path(path)
    dest = write_target(p)
    with naming_output(p):
        tmp = _temp_beside(p, dest, suffix)
        try:
            yield tmp
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            replace_file(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)


def _temp_beside(given: Path, dest: Path, suffix: str) -> Path:
    """A new empty temporary file beside ``dest`` (the file a write to ``given`` replaces), named after it
    (``.NAME.xxxx<suffix>``), its folder made if need be."""
    check_creatable(dest, ConfigError, f"out{given.suffix}")  # a file in the path said only "File exists"
    if len(os.fsencode(suffix)) > 64:
        suffix = ".tmp"
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{temp_head(dest.name)}.", suffix=suffix, dir=dest.parent)
    os.close(fd)
    return Path(name)


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (one of another user counts)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # no such process (a pid past the largest cannot be one)
        return False
    except OSError:  # PermissionError: another user's
        return True
    return True


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where the system or the
    file system has no such call."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError, TypeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    if fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def staging_folder(final: Path) -> Path:
    """A new empty folder beside ``final`` to build its replacement in (``.NAME.tmp-PID-xxxx``, with the
    umask's mode, not mkdtemp's 0700); :func:`recover_folder` removes those of processes that died."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-{os.getpid()}-", dir=final.parent))
    give_folder_umask(tmp)
    return tmp


def swap_in_folder(staged: Path, final: Path) -> None:
    """Put the complete folder ``staged`` at ``final``, replacing what is there: in one step where the
    system can (the old folder then sits at ``staged`` and is removed); elsewhere by two renames, whose gap
    (a kill between them) :func:`recover_folder` closes by putting the old folder back."""
    if final.exists() and _exchange(staged, final):
        _remove(staged)
        return
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    if final.exists():
        _remove(old)
        final.rename(old)
    try:
        staged.rename(final)
    except BaseException:
        if (old.exists() or old.is_symlink()) and not final.exists():
            old.rename(final)
        raise
    _remove(old)


def _remove(path: Path) -> None:
    """Remove a folder, or the link in its place (rmtree does not remove a link: it stayed for good)."""
    if path.is_symlink():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


def recover_folder(final: Path) -> None:
    """Close what a writer killed in :func:`swap_in_folder` (or while staging) left beside ``final``: its
    old folder is put back where none is in place (it was complete), else removed; staging folders of
    processes that are gone are removed. A running writer's are left alone."""
    try:
        names = os.listdir(final.parent)
    except OSError:
        return
    for kind in ("old", "tmp"):
        head = f".{final.name}.{kind}-"
        for name in sorted(n for n in names if n.startswith(head)):
            pid = name[len(head) :].split("-", 1)[0]
            if not pid.isdigit() or int(pid) == os.getpid() or pid_alive(int(pid)):
                continue
            path = final.parent / name
            if not path.is_dir() or path.is_symlink():
                continue
            try:
                if kind == "old" and not final.exists():
                    path.rename(final)
                else:
                    shutil.rmtree(path)
            except OSError:
                continue


#: The journal of a commit of several files (:func:`atomic_paths`) in its folder, while it renames them.
_JOURNAL_HEAD = ".reelkit-commit-"
#: The journals this process is committing now (by path): another thread's reader leaves them alone, while
#: one this process left behind (a rename that failed) is finished by its next reader or writer.
_COMMITTING: set[str] = set()


@contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block ends (in the main thread, where the system can hold them; a
    worker thread gets none)."""
    import signal

    held = {signal.SIGINT, signal.SIGTERM}
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    before = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def _journal_pid(name: str) -> int | None:
    """The writer's pid in a journal's name (``.reelkit-commit-PID-xxxx.json``; ``None``: a name without
    one, from before pids were kept, read as a writer that is gone)."""
    pid = name[len(_JOURNAL_HEAD) :].split("-", 1)[0]
    return int(pid) if pid.isdigit() else None


def _journal_renames(base: Path, journal: Path) -> list[tuple[Path, Path]] | None:
    """The renames a journal asks for, when it is one :func:`atomic_paths` of this user wrote: each a
    temporary file made for its destination (named after it) beside it (``None`` otherwise: a journal that
    could move any file would let whoever can write to a shared folder move a reader's files). A
    destination may be outside ``base``: an output given as a link is written where the link points."""
    try:
        if journal.is_symlink() or journal.stat().st_uid != os.getuid():
            return None
        pairs = json.loads(journal.read_text(encoding="utf-8"))["renames"]
        out = []
        for tmp, dest in pairs:
            t, d = base / tmp, base / dest
            if t.parent != d.parent or not t.name.startswith(f".{temp_head(d.name)}."):
                return None
            out.append((t, d))
        return out
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def finish_commits(folder: str | os.PathLike[str]) -> int:
    """Complete the commits of :func:`atomic_paths` in ``folder`` that were stopped (a kill, a power
    loss) while they renamed their files: their temporary files are complete and synced, so each one left
    is renamed into place. Only commits of processes that are gone are touched (a running writer finishes
    its own), only journals this user wrote, and only the renames such a commit can ask for. Returns how
    many were completed; a folder that cannot be written is left as it is."""
    done = 0
    base = Path(folder)
    try:
        names = sorted(os.listdir(base)) if base.is_dir() else []
    except OSError:
        return 0
    for name in names:
        if not name.startswith(_JOURNAL_HEAD):
            continue
        pid = _journal_pid(name)
        journal = base / name
        running = os.path.realpath(journal) in _COMMITTING
        if running or (pid is not None and pid != os.getpid() and pid_alive(pid)):
            continue  # a commit running now finishes itself
        if name.endswith(".part"):  # a journal not yet written whole: its commit never started
            if pid != os.getpid():  # this process's may be another thread's, being written
                with contextlib.suppress(OSError):
                    journal.unlink()
            continue
        if not name.endswith(".json"):
            continue
        renames = _journal_renames(base, journal)
        if renames is None:
            continue
        try:
            for tmp, dest in renames:
                if tmp.exists():
                    replace_file(tmp, dest)
            journal.unlink(missing_ok=True)
        except (OSError, ConfigError):
            continue
        done += 1
    return done


@contextmanager
def atomic_paths(
    paths: Sequence[str | os.PathLike[str]], folder: str | os.PathLike[str]
) -> Iterator[list[Path]]:
    """:func:`atomic_path` for several files under ``folder`` that must change together (a plan's files, a
    trace and its catalogue): a temporary file each for the block to write; when it ends normally all are
    synced, a journal naming them is written in ``folder``, they are renamed into place (Ctrl-C and
    SIGTERM held meanwhile) and the journal is removed. A commit stopped among its renames (SIGKILL, power)
    is completed by :func:`finish_commits`, which the readers and the next writer call, so the files are
    all old or all new; a block that fails leaves every file as it was."""
    base = Path(folder)
    finish_commits(base)
    dests = [write_target(Path(p)) for p in paths]
    temps: list[Path] = []
    journal_part: str | None = None
    active: str | None = None
    committing = False
    try:
        for p, dest in zip(paths, dests, strict=True):
            with naming_output(p):
                temps.append(_temp_beside(Path(p), dest, Path(p).suffix or ".tmp"))
        yield temps
        for p, tmp, dest in zip(paths, temps, dests, strict=True):
            with naming_output(p), open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
            if dest.exists() and not (dest.is_file() or dest.is_dir()):  # refused before any is renamed
                raise ConfigError(f"{dest}: {NOT_REGULAR}")
        rel = [
            [os.path.relpath(t, base), os.path.relpath(d, base)] for t, d in zip(temps, dests, strict=True)
        ]
        with naming_output(base):
            fd, journal_part = tempfile.mkstemp(
                prefix=f"{_JOURNAL_HEAD}{os.getpid()}-", suffix=".part", dir=base
            )
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"renames": rel}, fh)
                fh.flush()
                os.fsync(fh.fileno())
            journal = Path(journal_part).with_suffix(".json")
            with _signals_held():
                active = os.path.realpath(journal)
                _COMMITTING.add(active)
                os.replace(journal_part, journal)  # from here the commit is made (by us, or finish_commits)
                journal_part = None
                committing = True
                for p, tmp, dest in zip(paths, temps, dests, strict=True):
                    with naming_output(p):
                        replace_file(tmp, dest)
                committing = False
                journal.unlink()
    finally:
        if active is not None:  # a failed commit's journal is now this process's next reader's to finish
            _COMMITTING.discard(active)
        if journal_part is not None:
            with contextlib.suppress(OSError):
                os.unlink(journal_part)
        if not committing:  # a rename that failed leaves the rest, and the journal, to finish_commits
            for tmp in temps:
                tmp.unlink(missing_ok=True)


@contextmanager
def naming_output(path: str | os.PathLike[str]) -> Iterator[None]:
    """Report a failed write (permission, disk full) under the output's own name, not the hidden temporary
    file it was being written through (``ro/.o.wav._twmw4md.wav: Permission denied``)."""
    try:
        yield
    except OSError as exc:
        # a failed write() (ENOSPC, EIO) names no file at all
        if exc.filename is None or Path(exc.filename).name.startswith("."):
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None
        raise


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def read_keyed_json(path: str | Path, key: object) -> dict[str, Any] | None:
    """The JSON object cached at ``path`` when its ``"key"`` equals ``key``; ``None`` when there is none, it
    was made for another key, or it is damaged (the caller redoes the work and rewrites it)."""
    p = Path(path)
    if not p.exists():
        return None
    try:
        data = json.loads(p.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("key") == key else None


def read_npz(path: str | os.PathLike[str], what: str, fix: str) -> dict[str, Any]:
    """Every array of an ``.npz`` model file (never unpickling), or a one-line
    :class:`~reelkit.errors.ModelFormatError` naming the file: missing, a folder, not an ``.npz`` archive
    (an ``.npy``, text), truncated, empty or corrupt. ``what`` names the kind of file ("a reelkit model"),
    ``fix`` says what to do ("retrain it with 'reelkit train'")."""
    import zipfile

    import numpy as np

    from reelkit.errors import ModelFormatError

    p = Path(path)
    if p.is_dir():
        raise ModelFormatError(f"{p}: is a folder, not {what} file")
    if not p.exists():
        raise ModelFormatError(f"{p}: no such model file; {fix}")
    try:
        loaded = np.load(p, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise ValueError("a single array (.npy), not an .npz archive")
        with loaded as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        why = str(exc) or type(exc).__name__
        if "pickle" in why:  # numpy's advice (allow_pickle=) is not for our users: such files are not ours
            with open(p, "rb") as fh:
                head = fh.read(2)
            # numpy calls anything that is neither .npy nor .npz "pickled"; a pickle starts with 0x80
            why = (
                "it holds Python objects (pickled data), which reelkit never writes nor loads"
                if head[:1] == b"\x80"
                else "an .npz archive whose arrays hold Python objects (pickled), which reelkit never writes "
                "nor loads"
                if head == b"PK"
                else "it is not an .npz archive"
            )
        raise ModelFormatError(
            f"{p}: not {what} file, or a truncated or corrupt one ({why}); {fix}"
        ) from None


def csv_records(fh: IO[str], delimiter: str = ",") -> Iterator[tuple[int, list[str] | None]]:
    """``(line the record starts on, its fields)`` for each non-empty CSV record of ``fh``, as the CSV
    reader reads quoted commas and line breaks (counting raw lines named a bad row a line early per break).
    A record the reader cannot read (an unclosed quote swallowing the rest of the file, past the field
    limit) comes as ``(its line, None)`` and ends the records."""
    reader = csv.reader(fh, delimiter=delimiter)
    start = 1
    try:
        for fields in reader:
            if fields:  # an empty line is no record (as the parsers skip it)
                yield start, fields
            start = reader.line_num + 1
    except csv.Error:
        yield start, None
