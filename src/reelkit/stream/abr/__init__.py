"""Adaptive bitrate (ABR): a trace-driven simulator with Pensieve's test-environment semantics
(:mod:`~reelkit.stream.abr.sim` states them and their sources), the community's baselines (rate-based, BBA,
BOLA, MPC, robustMPC; :mod:`~reelkit.stream.abr.algos`), throughput predictors (harmonic mean, EWMA, a learned
distribution), the learned policy ``fugu`` (stochastic MPC on the learned distribution,
:mod:`~reelkit.stream.abr.stochastic`) shipped as ``best``, and the offline optimum
(:mod:`~reelkit.stream.abr.optimal`).

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
