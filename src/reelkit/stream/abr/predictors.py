"""Throughput predictors over a session's measured chunk throughputs.

A measurement is what Pensieve's ``test/mpc.py`` uses: chunk bytes / download time including the RTT,
in MB/s (1e6 bytes per second). :class:`HarmonicMean` (last 5, as robustMPC) and :class:`Ewma` predict a
point; the learned distributional predictor lives in :mod:`reelkit.stream.abr.ttp`.
"""

from __future__ import annotations

import numpy as np

from reelkit.errors import ConfigError
from reelkit.stream.abr.base import Observation

__all__ = ["Ewma", "HarmonicMean", "ThroughputPredictor", "make_predictor", "measured_mbyteps"]


def measured_mbyteps(obs: Observation) -> float:
    """The last chunk's throughput in MB/s as ``test/mpc.py`` computes it (bytes / delay_ms / 1000)."""
    if obs.last_download_s <= 0:
        raise ConfigError(f"last_download_s must be positive; got {obs.last_download_s}")
    if obs.last_chunk_bytes <= 0:  # a zero throughput would divide every planned download time by zero
        raise ConfigError(f"last_chunk_bytes must be positive; got {obs.last_chunk_bytes}")
    mbyteps = float(obs.last_chunk_bytes) / (obs.last_download_s * 1000.0) / 1000.0
    if (
        not mbyteps >= MIN_MBYTEPS
    ):  # 5e-324 bytes underflowed to 0 MB/s: a ZeroDivisionError in the predictors
        raise ConfigError(
            f"last_chunk_bytes ({obs.last_chunk_bytes:g}) over last_download_s ({obs.last_download_s:g}) is "
            f"{mbyteps * 1e6:.3g} bytes a second, below the least a throughput predictor takes "
            f"({MIN_MBYTEPS * 1e6:g}); give the chunk's bytes as loaded"
        )
    return mbyteps


#: The least measured throughput (MB/s): 0.001 bytes a second (a real chunk over a day's download is more
#: than a byte a second); the harmonic means and planned download times divide by it.
MIN_MBYTEPS = 1e-9


class ThroughputPredictor:
    """Base: ``reset()``, ``update(mbyteps)``, ``predict() -> MB/s`` (None before any measurement)."""

    name = "predictor"

    def reset(self) -> None:
        raise NotImplementedError

    def update(self, mbyteps: float) -> None:
        raise NotImplementedError

    def predict(self) -> float | None:
        raise NotImplementedError


class HarmonicMean(ThroughputPredictor):
    """Harmonic mean of the last ``window`` measurements (5 in robustMPC)."""

    name = "harmonic"

    def __init__(self, window: int = 5) -> None:
        if window < 1:
            raise ConfigError(f"window must be >= 1; got {window}")
        self.window = int(window)
        self.history: list[float] = []

    def reset(self) -> None:
        self.history = []

    def update(self, mbyteps: float) -> None:
        self.history.append(float(mbyteps))

    def predict(self) -> float | None:
        if not self.history:
            return None
        past = self.history[-self.window :]
        s = 0.0
        for v in past:
            s += 1.0 / float(v)
        return 1.0 / (s / len(past))


class Ewma(ThroughputPredictor):
    """Exponentially weighted moving average with smoothing ``alpha`` (weight of the newest sample), as the
    dash.js throughput rule's fast/slow pair; ``dual=True`` returns the minimum of a fast and a slow EWMA."""

    name = "ewma"

    def __init__(self, alpha: float = 0.3, *, dual: bool = False, slow_alpha: float = 0.1) -> None:
        if not (0 < alpha <= 1 and 0 < slow_alpha <= 1):
            raise ConfigError("EWMA weights must be in (0, 1]")
        self.alpha, self.slow_alpha, self.dual = float(alpha), float(slow_alpha), bool(dual)
        self.fast: float | None = None
        self.slow: float | None = None

    def reset(self) -> None:
        self.fast = self.slow = None

    def update(self, mbyteps: float) -> None:
        v = float(mbyteps)
        self.fast = v if self.fast is None else self.alpha * v + (1 - self.alpha) * self.fast
        self.slow = v if self.slow is None else self.slow_alpha * v + (1 - self.slow_alpha) * self.slow

    def predict(self) -> float | None:
        if self.fast is None or self.slow is None:
            return None
        return min(self.fast, self.slow) if self.dual else self.fast


def make_predictor(name: str) -> ThroughputPredictor:
    """``harmonic`` (last 5) or ``ewma``."""
    key = name.lower()
    if key in ("harmonic", "hm"):
        return HarmonicMean(5)
    if key == "ewma":
        return Ewma()
    raise ConfigError(f"unknown predictor {name!r}; choose harmonic or ewma")


def harmonic_mean(values: np.ndarray) -> float:
    v = np.asarray(values, dtype=np.float64)
    return float(len(v) / np.sum(1.0 / v))
