"""Adaptive bitrate (ABR): trace-driven simulator with Pensieve's test-environment semantics, the
community's baselines (rate-based, BBA, BOLA, MPC, robustMPC), throughput predictors, a Fugu-style stochastic
MPC, the offline optimum, and a learned policy (imitation of the offline optimum).

The per-step interface (:class:`AbrPolicy` ``reset``/``choose`` on :class:`Observation`) is what the
simulator, the command line and the playback service all use.
"""

from __future__ import annotations

from reelkit.stream.abr.base import (
    DEFAULT_BITRATES_KBPS,
    DEFAULT_CHUNK_S,
    AbrPolicy,
    Observation,
    Video,
    load_mpd,
    load_video_dir,
)
from reelkit.stream.abr.registry import available_policies, make_policy

__all__ = [
    "DEFAULT_BITRATES_KBPS",
    "DEFAULT_CHUNK_S",
    "AbrPolicy",
    "Observation",
    "Video",
    "available_policies",
    "load_mpd",
    "load_video_dir",
    "make_policy",
]
