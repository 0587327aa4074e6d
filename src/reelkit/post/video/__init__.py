"""Video: quality metrics (VMAF, PSNR, SSIM), per-title and per-shot encoding ladders, BD-rate, video QC.

Everything runs the ffmpeg of the ``imageio-ffmpeg`` wheel (libvmaf, libx264) through :mod:`reelkit.media`.
"""

from __future__ import annotations

from reelkit.post.video.qc import QCOptions, video_qc

__all__ = ["QCOptions", "video_qc"]
