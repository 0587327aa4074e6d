"""Video: quality metrics (VMAF, PSNR, SSIM), per-title and per-shot encoding ladders, BD-rate, video QC.

Everything runs the ffmpeg of the ``imageio-ffmpeg`` wheel (libvmaf, libx264) through :mod:`reelkit.media`.
"""

from __future__ import annotations

from reelkit.post.video.bdrate import bd_quality, bd_rate
from reelkit.post.video.ladder import (
    HLS_LADDER,
    Ladder,
    RDPoint,
    RungRule,
    convex_hull,
    per_title_ladder,
    select_rungs,
)
from reelkit.post.video.qc import QCOptions, video_qc
from reelkit.post.video.quality import MODELS, QualityResult, measure_quality
from reelkit.post.video.shots import detect_shots, optimize, per_shot_ladder

__all__ = [
    "HLS_LADDER",
    "MODELS",
    "Ladder",
    "QCOptions",
    "QualityResult",
    "RDPoint",
    "RungRule",
    "bd_quality",
    "bd_rate",
    "convex_hull",
    "detect_shots",
    "measure_quality",
    "optimize",
    "per_shot_ladder",
    "per_title_ladder",
    "select_rungs",
    "video_qc",
]
