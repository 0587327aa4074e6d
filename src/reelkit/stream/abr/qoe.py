"""QoE metrics (Pensieve §5.1; Mao et al., SIGCOMM 2017): ``sum q(R_n) - mu * T_n - |q(R_n) - q(R_{n-1})|``.

* ``lin``: ``q(R) = R`` in Mbit/s, ``mu = 4.3`` (``test/mpc.py`` REBUF_PENALTY, SMOOTH_PENALTY = 1).
* ``log``: ``q(R) = ln(R / R_min)``, ``mu = 2.66`` (the paper's QoE_log).
* ``hd``: ``q`` maps 300, 750, 1200, 1850, 2850, 4300 kbps to 1, 2, 3, 12, 15, 20 (``sim/multi_agent.py``
  HD_REWARD), ``mu = 8``; other ladders are interpolated piecewise-linearly in kbps on that table, and held
  at its ends outside it (every rung below 300 kbps scores 1, every rung above 4300 kbps 20: such rungs
  are alike to ``hd``, so compare ladders beyond that range with ``lin`` or ``log``).

Scoring follows ``test/plot_results.py``: the reward of chunk 0 (startup) is left out; a session's QoE is the
sum over chunks 1..N-1 (47 for Pensieve's 48-chunk sessions) and the per-chunk QoE that sum / (N-1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reelkit.errors import ConfigError

__all__ = ["QOE_NAMES", "QoE", "get_qoe"]

QOE_NAMES = ("lin", "log", "hd")
_HD_KBPS = np.array([300.0, 750.0, 1200.0, 1850.0, 2850.0, 4300.0])
_HD_REWARD = np.array([1.0, 2.0, 3.0, 12.0, 15.0, 20.0])


@dataclass(frozen=True)
class QoE:
    """A QoE metric: per-level quality ``q`` comes from :meth:`quality`, ``rebuf_penalty`` per stalled second,
    ``smooth_penalty`` per unit of quality change."""

    name: str
    rebuf_penalty: float
    smooth_penalty: float = 1.0

    def quality(self, bitrates_kbps: np.ndarray) -> np.ndarray:
        b = np.asarray(bitrates_kbps, dtype=np.float64)
        out: np.ndarray
        if self.name == "lin":
            out = b / 1000.0
        elif self.name == "log":
            out = np.log(b / b[0])
        elif self.name == "hd":
            out = np.asarray(np.interp(b, _HD_KBPS, _HD_REWARD), dtype=np.float64)
        else:
            raise ConfigError(f"unknown QoE {self.name!r}; choose one of {', '.join(QOE_NAMES)}")
        return out

    def rewards(
        self, levels: np.ndarray, rebuffer_s: np.ndarray, bitrates_kbps: np.ndarray, start_level: int
    ) -> np.ndarray:
        """Reward of every chunk (chunk 0's smoothness term compares with ``start_level``, as Pensieve)."""
        q = self.quality(bitrates_kbps)
        lv = np.asarray(levels, dtype=np.int64)
        prev = np.concatenate([[start_level], lv[:-1]])
        out: np.ndarray = (
            q[lv]
            - self.rebuf_penalty * np.asarray(rebuffer_s)
            - self.smooth_penalty * np.abs(q[lv] - q[prev])
        )
        return out


_QOES = {"lin": QoE("lin", 4.3), "log": QoE("log", 2.66), "hd": QoE("hd", 8.0)}


def get_qoe(qoe: str | QoE) -> QoE:
    """The QoE named ``lin``, ``log`` or ``hd`` (or ``qoe`` itself)."""
    if isinstance(qoe, QoE):
        return qoe
    try:
        return _QOES[str(qoe).lower()]
    except KeyError:
        raise ConfigError(f"unknown QoE {qoe!r}; choose one of {', '.join(QOE_NAMES)}") from None
