"""Bjøntegaard delta rate (BD-rate) and delta quality between two rate-quality curves.

VCEG-M33 (Bjøntegaard, 2001): fit log10(rate) as a function of quality for each curve, integrate both fits
over the quality interval the curves share, and turn the mean difference of log-rates into a rate ratio:
``BD-rate = 10 ** (mean(log10 R_test - log10 R_anchor)) - 1``. A negative value means the test curve needs
that fraction fewer bits than the anchor at equal quality. ``method="pchip"`` uses a piecewise cubic Hermite
interpolant through the points (as in the JCTVC common-test-conditions spreadsheet since JCTVC-L0116);
``method="cubic"`` the least-squares cubic polynomial of VCEG-M33 (exact through four points).

:func:`bd_quality` is the dual (BD-PSNR / BD-VMAF): mean quality difference at equal log-rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
from scipy.interpolate import PchipInterpolator

from reelkit.errors import ConfigError

__all__ = ["bd_quality", "bd_rate"]

Method = Literal["pchip", "cubic"]


def _curve(rates: Sequence[float], quality: Sequence[float], name: str) -> tuple[np.ndarray, np.ndarray]:
    r = np.asarray(rates, dtype=np.float64)
    q = np.asarray(quality, dtype=np.float64)
    if r.shape != q.shape or r.ndim != 1:
        raise ConfigError(f"{name}: rates and qualities must be two lists of the same length")
    if r.size < 2:
        raise ConfigError(f"{name}: a rate-quality curve needs at least 2 points (4 for method='cubic')")
    if np.any(r <= 0) or not np.all(np.isfinite(r)) or not np.all(np.isfinite(q)):
        raise ConfigError(f"{name}: rates must be positive and all values finite")
    return r, q


def _integral(
    x: np.ndarray, y: np.ndarray, lo: float, hi: float, method: Method, *, tie: Literal["min", "max"]
) -> float:
    """Integral over [lo, hi] of y(x) fitted through the points (x need not be sorted). Of points with equal
    x the one with the ``tie`` y is kept, whatever their order: the cheapest rate reaching a quality (a
    saturated curve), the best quality at a rate."""
    order = np.lexsort((y if tie == "min" else -y, x))
    x, y = x[order], y[order]
    if method == "cubic":
        if x.size < 4:
            raise ConfigError("method='cubic' needs at least 4 points per curve")
        poly = np.polyint(np.polyfit(x, y, 3))
        return float(np.polyval(poly, hi) - np.polyval(poly, lo))
    if method == "pchip":
        if np.any(np.diff(x) <= 0):
            # equal abscissae: keep the first of each (the ``tie`` one), pchip needs a strictly rising x
            keep = np.concatenate(([True], np.diff(x) > 0))
            x, y = x[keep], y[keep]
            if x.size < 2:
                raise ConfigError("a curve collapses to one point (all qualities equal)")
        return float(PchipInterpolator(x, y).integrate(lo, hi))
    raise ConfigError(f"unknown BD method {method!r}; use 'pchip' or 'cubic'")


def bd_rate(
    anchor_rates: Sequence[float],
    anchor_quality: Sequence[float],
    test_rates: Sequence[float],
    test_quality: Sequence[float],
    *,
    method: Method = "pchip",
) -> float:
    """BD-rate of the test curve against the anchor, as a fraction (-0.2: 20% fewer bits at equal quality).

    The curves must overlap in quality; raises :class:`~reelkit.errors.ConfigError` otherwise.
    """
    r1, q1 = _curve(anchor_rates, anchor_quality, "anchor")
    r2, q2 = _curve(test_rates, test_quality, "test")
    lo = max(q1.min(), q2.min())
    hi = min(q1.max(), q2.max())
    if hi <= lo:
        raise ConfigError(
            f"the curves do not overlap in quality (anchor {q1.min():.2f}..{q1.max():.2f}, "
            f"test {q2.min():.2f}..{q2.max():.2f}); BD-rate is undefined"
        )
    i1 = _integral(q1, np.log10(r1), lo, hi, method, tie="min")
    i2 = _integral(q2, np.log10(r2), lo, hi, method, tie="min")
    return float(10 ** ((i2 - i1) / (hi - lo)) - 1)


def bd_quality(
    anchor_rates: Sequence[float],
    anchor_quality: Sequence[float],
    test_rates: Sequence[float],
    test_quality: Sequence[float],
    *,
    method: Method = "pchip",
) -> float:
    """Mean quality gain of the test curve over the anchor at equal log-rate (BD-PSNR, BD-VMAF)."""
    r1, q1 = _curve(anchor_rates, anchor_quality, "anchor")
    r2, q2 = _curve(test_rates, test_quality, "test")
    l1, l2 = np.log10(r1), np.log10(r2)
    lo = max(l1.min(), l2.min())
    hi = min(l1.max(), l2.max())
    if hi <= lo:
        raise ConfigError("the curves do not overlap in rate; BD-quality is undefined")
    i1 = _integral(l1, q1, lo, hi, method, tie="max")
    i2 = _integral(l2, q2, lo, hi, method, tie="max")
    return float((i2 - i1) / (hi - lo))
