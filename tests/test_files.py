"""Atomic writes leave files with the usual permissions (mkstemp alone would leave 0600)."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from reelkit._files import replace_file


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
