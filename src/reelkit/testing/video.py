"""Small video files for tests, written without ffmpeg."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["write_y4m"]


def write_y4m(path: str | Path, frames: Sequence[npt.ArrayLike], fps: int = 25) -> Path:
    """An 8-bit 4:2:0 Y4M of the luma planes ``frames`` (values 0-255) with flat (128) chroma; odd sizes get
    chroma planes of half the size rounded up, as 4:2:0 has."""
    planes = [np.asarray(f) for f in frames]
    h, w = planes[0].shape
    chroma = np.full(((h + 1) // 2, (w + 1) // 2), 128, np.uint8).tobytes()
    out = Path(path)
    with open(out, "wb") as fh:
        fh.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for y in planes:
            fh.write(b"FRAME\n" + np.ascontiguousarray(y, np.uint8).tobytes() + chroma + chroma)
    return out
