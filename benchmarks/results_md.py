"""Write a ``RESULTS.d`` section file without losing the notes written there by hand.

A benchmark script renders its tables and their fixed prose; what engineers add afterwards (why a
figure moved, a check run by hand, a measured alternative) goes below :data:`NOTES` in the same file.
:func:`write_section` replaces only the text above that line, so rerunning a benchmark keeps the notes;
a file without the line that would lose text is copied to ``benchmarks/out/`` first, and the copy is
named on stderr.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

NOTES = "<!-- notes: written by hand below this line; benchmark scripts rewrite only the text above it -->"


def write_section(path: Path, generated: str, *, backup_dir: Path | None = None) -> Path:
    """Write ``generated`` to ``path`` (atomically), followed by the notes ``path`` already holds."""
    generated = generated.rstrip("\n") + "\n"
    text = generated
    if path.exists():
        old = path.read_text(encoding="utf-8")
        if NOTES in old:
            text = generated + "\n" + old[old.index(NOTES) :].rstrip("\n") + "\n"
        elif old.strip() and old.strip() != generated.strip():
            folder = backup_dir if backup_dir is not None else Path(__file__).resolve().parent / "out"
            folder.mkdir(parents=True, exist_ok=True)
            copy = folder / f"{path.stem}.replaced{path.suffix}"
            k = 1
            while copy.exists():  # each run's replaced text is kept, not the last one's only
                k += 1
                copy = folder / f"{path.stem}.replaced-{k}{path.suffix}"
            copy.write_text(old, encoding="utf-8")
            print(f"{path}: had no notes line ({NOTES}); its old text is kept in {copy}", file=sys.stderr)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
