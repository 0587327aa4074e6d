"""A learned distributional throughput predictor, in the spirit of Fugu's transmission-time predictor
(Yan et al., NSDI 2020): given the session's recent measurements and a candidate chunk size it outputs a
probability for each of ``K`` throughput bins, so that a stochastic MPC can plan on the distribution.

Inputs: the last 8 measured throughputs as ``ln(tput / hm)`` plus an 8-slot presence mask, ``ln hm``
(``hm`` = harmonic mean of the last 5), ``ln`` of the last download time, and ``ln(size / hm)`` (the
expected download time of the candidate: small chunks see relatively more of the RTT); with ``max_lag > 1``
(the default for training) also the lag ``h`` of the chunk ahead (0 = the next one; Fugu likewise predicts
each step of its horizon separately) and three whole-session features (chunks seen, the lowest ``ln tput``
so far below the mean of the last 5, and the spread of ``ln tput`` so far). Output: a softmax over ``K``
bins of ``ln(tput of chunk k+h / hm)`` spaced evenly on [-3, 1.5]; bin ``k`` stands for ``hm * exp(c_k)``.
Training data: sessions on the training traces in ``sim/env.py``'s training mode (random start; its 0.9-1.1
delay noise optional) under an exploring robustMPC (a random level with probability ``explore``), the
realised throughput of every chunk as the label (one-hot, lightly smoothed). :class:`EnsembleDistribution`
averages several such networks (own seeds and sessions): two scored higher held out than one; three or four
widen the distribution and made the planner conservative again (benchmarks/RESULTS.d/abr.md).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from reelkit._files import atomic_path
from reelkit.errors import ModelFormatError
from reelkit.progress import SILENT, Progress
from reelkit.stream.abr.algos import RobustMPC
from reelkit.stream.abr.base import AbrPolicy, Observation, Video
from reelkit.stream.abr.mlp import Mlp, softmax, train_softmax
from reelkit.stream.abr.sim import PENSIEVE, Session, SimConfig, simulate
from reelkit.stream.abr.traces import Trace

__all__ = [
    "N_HISTORY",
    "EnsembleDistribution",
    "ThroughputDistribution",
    "collect_sessions",
    "history_features",
    "load_distribution",
]

N_HISTORY = 8
N_FEATURES = 2 * N_HISTORY + 3


def history_features(
    tputs: Sequence[float] | np.ndarray, downloads: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, float]:
    """The 18 size-independent inputs and the harmonic mean ``hm`` (MB/s) of the last 5 throughputs."""
    t = np.asarray(tputs[-N_HISTORY:], dtype=np.float64)
    last5 = t[-5:]
    hm = float(len(last5) / np.sum(1.0 / last5))
    f = np.zeros(2 * N_HISTORY + 2)
    n = len(t)
    f[N_HISTORY - n : N_HISTORY] = np.log(t / hm)
    f[2 * N_HISTORY - n : 2 * N_HISTORY] = 1.0
    f[2 * N_HISTORY] = np.log(hm)
    f[2 * N_HISTORY + 1] = np.log(max(float(downloads[-1]), 1e-6))
    return f, hm


class _Explorer(AbrPolicy):
    """robustMPC that picks a uniformly random level with probability ``explore`` (data collection)."""

    name = "explorer"

    def __init__(self, explore: float, rng: np.random.Generator) -> None:
        super().__init__()
        # the recipe's explorer: robustMPC with the x 0.001 plan scoring it was built and validated with
        # (Pensieve's exact rounding here changes the training data: held-out fugu 85.2% -> 84.2% of the
        # optimum, measured; see benchmarks/RESULTS.d/abr.md)
        self.inner = RobustMPC(pensieve_rounding=False)
        self.explore = explore
        self.rng = rng

    def reset(self, video: Video) -> None:
        super().reset(video)
        self.inner.reset(video)

    def choose(self, obs: Observation) -> int:
        lv = self.inner.choose(obs)
        v = self._require_video()
        if obs.chunk_index > 0 and self.rng.random() < self.explore:
            return int(self.rng.integers(v.n_levels))
        return lv


def collect_sessions(
    traces: Sequence[Trace],
    video: Video,
    *,
    episodes: int = 2,
    explore: float = 0.3,
    seed: int = 0,
    config: SimConfig = PENSIEVE,
    noise: bool = True,
) -> list[Session]:
    """Training-mode sessions (random start; with ``noise`` also ``sim/env.py``'s 0.9-1.1 delay noise) of
    an exploring robustMPC on every trace."""
    rng = np.random.default_rng(seed)
    pol = _Explorer(explore, rng)
    cfg = config.training() if noise else dataclasses.replace(config.training(), noise=None)
    return [simulate(pol, tr, video, config=cfg, seed=rng) for _ in range(episodes) for tr in traces]


def session_features(tputs: Sequence[float] | np.ndarray) -> np.ndarray:
    """Whole-session inputs: chunks seen / 48, the session's lowest ``ln tput`` so far less the mean of its
    last 5 (how far below now it has dropped), and the std of ``ln tput`` so far (outage-prone sessions look
    different from steady ones long after the last 8 chunks)."""
    lt = np.log(np.asarray(tputs, dtype=np.float64))
    return np.array([len(lt) / 48.0, float(lt.min() - lt[-5:].mean()), float(lt.std())])


def _dataset(
    sessions: Sequence[Session], max_lag: int, lags_per_step: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Rows for chunk k + h given the history before k: lag 0 always, plus ``lags_per_step`` random lags."""
    rng = np.random.default_rng(seed)
    xs: list[np.ndarray] = []
    ys: list[float] = []
    for s in sessions:
        tp = s.chunk_bytes / s.download_s / 1e6
        n = len(s.levels)
        for k in range(1, n):
            f, hm = history_features(tp[:k], s.download_s[:k])
            sf = session_features(tp[:k])
            lags = [0]
            if max_lag > 1 and k + 1 < n:
                hi = min(max_lag, n - k)
                lags += [int(h) for h in rng.integers(1, hi, size=lags_per_step)] if hi > 1 else []
            for h in lags:
                if max_lag > 1:
                    extra = [np.log(s.chunk_bytes[k + h] / 1e6 / hm), float(h), *sf]
                else:
                    extra = [np.log(s.chunk_bytes[k + h] / 1e6 / hm)]
                xs.append(np.concatenate([f, extra]))
                ys.append(float(np.log(tp[k + h] / hm)))
    return np.asarray(xs), np.asarray(ys)


@dataclass
class ThroughputDistribution:
    """The trained predictor: ``predict(features_rows) -> (rows, K)`` probabilities over ``centers``."""

    net: Mlp
    centers: np.ndarray
    #: > 1: the model also takes the lag h (chunks ahead) and session features, trained on lags < max_lag
    max_lag: int = 1

    def rows(
        self, tputs: Sequence[float], downloads: Sequence[float], sizes: np.ndarray
    ) -> tuple[np.ndarray, float]:
        """Input rows for candidate ``sizes`` (levels, horizon) given the history; returns (rows, hm)."""
        f, hm = history_features(tputs, downloads)
        n_levels, horizon = sizes.shape
        extra = 1 if self.max_lag <= 1 else 5
        out = np.empty((n_levels * horizon, f.shape[0] + extra))
        out[:, : f.shape[0]] = f
        out[:, f.shape[0]] = np.log(sizes.reshape(-1) / 1e6 / hm)
        if self.max_lag > 1:
            out[:, f.shape[0] + 1] = np.tile(np.minimum(np.arange(horizon), self.max_lag - 1), n_levels)
            out[:, f.shape[0] + 2 :] = session_features(tputs)
        return out, hm

    @classmethod
    def fit(
        cls,
        sessions: Sequence[Session],
        *,
        n_bins: int = 24,
        lo: float = -3.0,
        hi: float = 1.5,
        hidden: tuple[int, ...] = (48, 48),
        epochs: int = 40,
        seed: int = 0,
        max_lag: int = 1,
        lags_per_step: int = 2,
        progress: Progress = SILENT,
    ) -> ThroughputDistribution:
        x, y = _dataset(sessions, max_lag, lags_per_step, seed)
        centers = np.linspace(lo, hi, n_bins)
        width = centers[1] - centers[0]
        idx = np.clip(np.rint((y - lo) / width).astype(np.int64), 0, n_bins - 1)
        t = np.zeros((len(y), n_bins))
        t[np.arange(len(y)), idx] = 0.9
        t[np.arange(len(y)), np.maximum(idx - 1, 0)] += 0.05
        t[np.arange(len(y)), np.minimum(idx + 1, n_bins - 1)] += 0.05
        with progress.task("training throughput predictor", total=1) as bar:
            net = train_softmax(x, t, hidden=hidden, epochs=epochs, seed=seed)
            bar.advance()
        return cls(net, centers, max_lag)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return softmax(self.net.forward(x))

    def to_arrays(self, prefix: str = "ttp_") -> dict[str, np.ndarray]:
        return {
            f"{prefix}centers": self.centers,
            f"{prefix}max_lag": np.array(self.max_lag),
            **self.net.to_arrays(prefix),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str = "ttp_") -> ThroughputDistribution:
        lag = int(arrays[f"{prefix}max_lag"]) if f"{prefix}max_lag" in arrays else 1
        centers = np.asarray(arrays[f"{prefix}centers"], dtype=np.float64)
        return cls(Mlp.from_arrays(arrays, prefix), centers, lag)


@dataclass
class EnsembleDistribution:
    """The mean of several predictors' distributions over the same bins and inputs (members trained on
    different sessions and seeds), which averages out one network's seed-to-seed variation."""

    members: list[ThroughputDistribution]

    def __post_init__(self) -> None:
        if not self.members:
            raise ModelFormatError("an ensemble needs at least one member")
        first = self.members[0]
        for m in self.members[1:]:
            if m.max_lag != first.max_lag or not np.array_equal(m.centers, first.centers):
                raise ModelFormatError("ensemble members must share their bins and lag inputs")

    @property
    def centers(self) -> np.ndarray:
        return self.members[0].centers

    @property
    def max_lag(self) -> int:
        return self.members[0].max_lag

    def rows(
        self, tputs: Sequence[float], downloads: Sequence[float], sizes: np.ndarray
    ) -> tuple[np.ndarray, float]:
        return self.members[0].rows(tputs, downloads, sizes)

    def predict(self, x: np.ndarray) -> np.ndarray:
        out: np.ndarray = np.mean([m.predict(x) for m in self.members], axis=0)
        return out

    def to_arrays(self) -> dict[str, np.ndarray]:
        arrays: dict[str, np.ndarray] = {"ttp_members": np.array(len(self.members))}
        for i, m in enumerate(self.members):
            arrays.update(m.to_arrays(f"ttp{i}_"))
        return arrays


def load_distribution(arrays: dict[str, np.ndarray]) -> ThroughputDistribution | EnsembleDistribution:
    """A saved predictor: one network (``ttp_*`` arrays) or an ensemble (``ttp{i}_*``); checked by one
    prediction at load, so that a damaged file is refused now rather than crashing (or deciding on NaN) at
    its first decision."""
    try:
        dist: ThroughputDistribution | EnsembleDistribution
        if "ttp_members" in arrays:
            n = int(arrays["ttp_members"])
            dist = EnsembleDistribution(
                [ThroughputDistribution.from_arrays(arrays, f"ttp{i}_") for i in range(n)]
            )
        else:
            dist = ThroughputDistribution.from_arrays(arrays)
    except KeyError as exc:
        raise ModelFormatError(f"ABR model arrays incomplete: missing {exc}") from None
    members = dist.members if isinstance(dist, EnsembleDistribution) else [dist]
    for m in members:
        c = m.centers
        if c.ndim != 1 or len(c) < 2 or not np.all(np.isfinite(c)) or np.any(np.diff(c) <= 0):
            raise ModelFormatError("ABR model: the throughput bins must be rising finite numbers")
    try:  # a history of 8 chunks at 1 MB/s, two levels, three chunks ahead
        x, _ = dist.rows([1.0] * 8, [1.0] * 8, np.full((2, 3), 1e6))
        p = dist.predict(x)
    except (ValueError, IndexError, TypeError) as exc:  # layers that do not chain, inputs of another width
        raise ModelFormatError(f"ABR model: its layers do not fit together or its inputs ({exc})") from None
    if p.shape != (6, len(dist.centers)) or not np.all(np.isfinite(p)):
        raise ModelFormatError(
            "ABR model: its predictions are not one finite probability per throughput bin (damaged weights?)"
        )
    return dist


def save_npz(path: str | Path, arrays: dict[str, np.ndarray], meta: dict[str, object]) -> None:
    """Write arrays plus a JSON metadata string into one ``.npz`` atomically (no pickle)."""
    payload = {"meta_json": np.array(json.dumps(meta, sort_keys=True)), **arrays}
    with atomic_path(path, ".npz") as tmp:
        np.savez(tmp, **payload)  # type: ignore[arg-type]


def load_npz(path: str | Path, kind: str) -> tuple[dict[str, np.ndarray], dict[str, object]]:
    """Read a file written by :func:`save_npz`; ``kind`` must match its ``meta['kind']``."""
    from reelkit._files import read_npz

    p = Path(path)
    arrays = read_npz(p, "a reelkit ABR model", "train one with 'reelkit abr train'")
    if "meta_json" not in arrays:
        raise ModelFormatError(f"{p}: not a reelkit ABR model (no metadata)")
    try:
        meta = json.loads(str(arrays.pop("meta_json")))
    except json.JSONDecodeError:
        raise ModelFormatError(f"{p}: not a reelkit ABR model (unreadable metadata)") from None
    if not isinstance(meta, dict):
        raise ModelFormatError(f"{p}: not a reelkit ABR model (its metadata is not an object)")
    if meta.get("kind") != kind:
        raise ModelFormatError(f"{p}: holds a {meta.get('kind')!r} model, expected {kind!r}")
    if meta.get("format") != 1:
        raise ModelFormatError(f"{p}: unsupported model format version {meta.get('format')!r}")
    return arrays, meta
