"""A small numpy multilayer perceptron (tanh hidden layers, linear output) trained with Adam; saved as
arrays in an ``.npz`` (``allow_pickle=False``). Used by the learned throughput predictor and the learned
policy, both small enough that numpy on one CPU core trains them in seconds."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

__all__ = ["CLIP", "Mlp", "softmax", "train_softmax"]

#: standardised inputs are clipped to +-CLIP at prediction time
CLIP = 5.0


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    out: np.ndarray = e / e.sum(axis=-1, keepdims=True)
    return out


@dataclass
class Mlp:
    """Weights ``ws[i]`` (in, out) and biases ``bs[i]``; inputs are standardised by ``mean``/``scale``."""

    ws: list[np.ndarray]
    bs: list[np.ndarray]
    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def init(cls, sizes: list[int], rng: np.random.Generator, mean: np.ndarray, scale: np.ndarray) -> Mlp:
        ws = [rng.normal(0.0, 1.0 / np.sqrt(a), size=(a, b)) for a, b in itertools.pairwise(sizes)]
        bs = [np.zeros(b) for b in sizes[1:]]
        return cls(ws, bs, mean.astype(np.float64), scale.astype(np.float64))

    def forward(self, x: np.ndarray) -> np.ndarray:
        # clipped standardised inputs: far outside the training range (another network) extrapolates flat
        h = np.clip((np.asarray(x, dtype=np.float64) - self.mean) / self.scale, -CLIP, CLIP)
        for w, b in zip(self.ws[:-1], self.bs[:-1], strict=True):
            h = np.tanh(h @ w + b)
        out: np.ndarray = h @ self.ws[-1] + self.bs[-1]
        return out

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        d = {f"{prefix}mean": self.mean, f"{prefix}scale": self.scale}
        for i, (w, b) in enumerate(zip(self.ws, self.bs, strict=True)):
            d[f"{prefix}w{i}"] = w
            d[f"{prefix}b{i}"] = b
        return d

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str) -> Mlp:
        ws, bs = [], []
        i = 0
        while f"{prefix}w{i}" in arrays:
            ws.append(np.asarray(arrays[f"{prefix}w{i}"], dtype=np.float64))
            bs.append(np.asarray(arrays[f"{prefix}b{i}"], dtype=np.float64))
            i += 1
        if not ws:
            raise KeyError(f"no layers with prefix {prefix!r}")
        return cls(ws, bs, np.asarray(arrays[f"{prefix}mean"]), np.asarray(arrays[f"{prefix}scale"]))


def train_softmax(
    x: np.ndarray,
    target: np.ndarray,
    *,
    hidden: tuple[int, ...] = (64, 64),
    epochs: int = 60,
    batch: int = 512,
    lr: float = 3e-3,
    l2: float = 1e-4,
    seed: int = 0,
    weights: np.ndarray | None = None,
) -> Mlp:
    """Fit an MLP whose softmax matches ``target`` (rows are probability vectors) by cross-entropy."""
    rng = np.random.default_rng(seed)
    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(target, dtype=np.float64)
    wts = np.ones(len(x)) if weights is None else np.asarray(weights, dtype=np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-8] = 1.0
    net = Mlp.init([x.shape[1], *hidden, t.shape[1]], rng, mean, scale)
    params = [*net.ws, *net.bs]
    m1 = [np.zeros_like(p) for p in params]
    m2 = [np.zeros_like(p) for p in params]
    step = 0
    nl = len(net.ws)
    xs = (x - mean) / scale
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for s in range(0, len(x), batch):
            idx = order[s : s + batch]
            hs = [xs[idx]]
            for w, b in zip(net.ws[:-1], net.bs[:-1], strict=True):
                hs.append(np.tanh(hs[-1] @ w + b))
            p = softmax(hs[-1] @ net.ws[-1] + net.bs[-1])
            wb = wts[idx][:, None] / wts[idx].sum()
            g = (p - t[idx]) * wb
            gw: list[np.ndarray] = [np.empty(0)] * nl
            gb: list[np.ndarray] = [np.empty(0)] * nl
            for li in range(nl - 1, -1, -1):
                gw[li] = hs[li].T @ g + l2 * net.ws[li]
                gb[li] = g.sum(axis=0)
                if li > 0:
                    g = (g @ net.ws[li].T) * (1.0 - hs[li] ** 2)
            grads = [*gw, *gb]
            step += 1
            for i, (prm, gr) in enumerate(zip(params, grads, strict=True)):
                m1[i] = 0.9 * m1[i] + 0.1 * gr
                m2[i] = 0.999 * m2[i] + 0.001 * gr * gr
                mh = m1[i] / (1 - 0.9**step)
                vh = m2[i] / (1 - 0.999**step)
                prm -= lr * mh / (np.sqrt(vh) + 1e-8)
    return net
