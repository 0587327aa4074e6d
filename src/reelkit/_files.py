"""Finishing atomic writes: the temporary file takes the permissions a new file would get, then is renamed.

``tempfile.mkstemp`` creates files readable by their owner only (0600); a report, model or trace written
that way would surprise a user (a web server could not read ``report.html``). :func:`replace_file` gives the
temporary file ``0666 & ~umask`` and then renames it over the destination.
"""

from __future__ import annotations

import os
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

from reelkit.errors import ConfigError

__all__ = ["atomic_write_bytes", "atomic_write_text", "replace_file"]

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


def replace_file(tmp: str | os.PathLike[str], final: str | os.PathLike[str]) -> None:
    """``os.replace(tmp, final)`` after ``chmod(tmp, 0o666 & ~umask)``."""
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, final)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and ``os.replace``."""
    p = Path(path)
    if p.is_dir():
        raise ConfigError(f"{p}: is a folder; give a file name to write")
    p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        replace_file(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return p


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))
