"""EASE: the embarrassingly shallow autoencoder (Steck 2019).

An item-item linear model ``scores = x @ B`` whose weights have a closed form: with the Gram matrix
``G = X^T X + lambda * I`` and ``P = G^-1``,

.. code-block:: text

    B = I - P / diag(P)        (column j divided by P[j, j]),  so diag(B) = 0.

It is a dense ``n_titles x n_titles`` model: fitting costs one symmetric inverse (``O(n_titles^3)``) and
``4 * n_titles^2`` bytes of memory, which is fine to a few tens of thousands of titles. Scoring a new member
(fold-in) is the same product as for a training member: a member given by history scores exactly as a
training member with that history would, without refitting.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import scipy.linalg as la
import scipy.sparse as sp
from pydantic import Field

from reelkit.data.dataset import Interactions
from reelkit.errors import ConfigError
from reelkit.progress import Progress
from reelkit.recommend.base import ModelConfig, Recommender, Space, register, weighted_input

__all__ = ["EASE", "EASEConfig", "ease_weights"]


class EASEConfig(ModelConfig):
    """Parameters of :class:`EASE`."""

    #: L2 penalty ``lambda`` added to the Gram diagonal; larger shrinks towards popularity-like scores.
    #: Default tuned for NDCG@10 on ML-100K and ml-latest-small (flat from 200 to 800 on both).
    regularization: float = Field(300.0, gt=0)
    #: ``binary`` learns from who watched what; ``weight`` from the confidence weights (about equal on
    #: MovieLens: -0.006 on ML-100K, +0.004 on ml-latest-small).
    weighting: Literal["binary", "weight"] = "binary"
    #: Floating type of the inverse: ``auto`` uses float64 up to 4,000 titles and float32 above (half the
    #: memory and about twice as fast; the Gram counts are exact in either).
    precision: Literal["auto", "float32", "float64"] = "auto"


def ease_weights(
    x: sp.csr_matrix, regularization: float, dtype: type[np.floating] = np.float64
) -> np.ndarray:
    """The EASE weight matrix ``B`` (float32, ``n x n``, zero diagonal) for the members x titles ``x``.

    Works in place on one ``n x n`` array of ``dtype`` (LAPACK ``potrf`` + ``potri`` on the Gram matrix,
    which is symmetric, so its C-ordered buffer is passed as the Fortran-ordered transpose).
    """
    xs = sp.csr_matrix(x, dtype=dtype)
    n = xs.shape[1]
    gram = _gram(xs)
    gram[np.diag_indices(n)] += regularization
    a = gram.T  # Fortran-ordered view of the same (symmetric) matrix: LAPACK can overwrite it
    potrf, potri = la.get_lapack_funcs(("potrf", "potri"), (a,))
    c, info = potrf(a, lower=False, overwrite_a=True, clean=False)
    if info != 0:
        raise np.linalg.LinAlgError(f"EASE: Gram matrix is not positive definite (potrf info={info})")
    p, info = potri(c, lower=False, overwrite_c=True)
    if info != 0:
        raise np.linalg.LinAlgError(f"EASE: cannot invert the Gram matrix (potri info={info})")
    _fill_lower_from_upper(p)
    p = p.T if p.flags.f_contiguous and not p.flags.c_contiguous else p  # symmetric: the C-ordered view
    diag = np.diag(p).copy()
    p /= -diag[None, :]
    p[np.diag_indices(n)] = 0.0
    return np.ascontiguousarray(p, dtype=np.float32)


def _gram(x: sp.csr_matrix, cells: int = 8_000_000) -> np.ndarray:
    """Dense ``x^T x`` built a block of columns at a time (no full sparse product in memory)."""
    n = x.shape[1]
    xt = x.T.tocsr()
    xc = x.tocsc()
    gram = np.empty((n, n), dtype=x.dtype)
    block = max(1, min(n, cells // max(n, 1)))
    for j0 in range(0, n, block):
        j1 = min(n, j0 + block)
        gram[:, j0:j1] = (xt @ xc[:, j0:j1]).toarray()
    return gram


def _fill_lower_from_upper(p: np.ndarray, block: int = 512) -> None:
    """Make ``p`` symmetric in place from its upper triangle, a block of rows at a time."""
    n = p.shape[0]
    for i0 in range(0, n, block):
        i1 = min(n, i0 + block)
        p[i0:i1, :i0] = p[:i0, i0:i1].T
        d = p[i0:i1, i0:i1]
        d[...] = np.triu(d) + np.triu(d, 1).T


@register
class EASE(Recommender):
    """Closed-form item-item regression (EASE^R); strong on dense catalogs such as MovieLens."""

    name = "ease"
    kind = "top-n"
    Config = EASEConfig
    config: EASEConfig
    fast_params = {"regularization": 50.0}  # noqa: RUF012
    search_space = {  # noqa: RUF012 - class-level constant, never mutated
        "regularization": Space("log", 10.0, 5000.0),
        "weighting": Space("choice", choices=("binary", "weight")),
    }

    def _input(self, history: sp.csr_matrix) -> sp.csr_matrix:
        return weighted_input(history, self.config.weighting)

    def _fit(self, data: Interactions, progress: Progress) -> None:
        x = self._input(data.matrix("weight"))
        prec = self.config.precision
        if prec == "auto":
            prec = "float64" if x.shape[1] <= 4000 else "float32"
        dtype = np.float64 if prec == "float64" else np.float32
        with progress.task("EASE: inverting the Gram matrix", total=1) as task:
            try:
                self.weights_: np.ndarray = ease_weights(x, self.config.regularization, dtype)
            except np.linalg.LinAlgError:  # was a traceback; the fix is the user's parameter
                other = " or use precision=float64" if prec == "float32" else ""
                raise ConfigError(
                    f"EASE: regularization={self.config.regularization:g} is too small to invert the Gram "
                    f"matrix in {prec} ({x.shape[1]:,} titles); raise regularization (default 300){other}"
                ) from None
            task.advance()

    def _score(self, rows: np.ndarray, history: sp.csr_matrix, ratings: sp.csr_matrix) -> np.ndarray:
        x = self._input(sp.csr_matrix(history))
        return np.asarray(x @ self.weights_, dtype=np.float32)

    def _similar(self, items: np.ndarray) -> np.ndarray:
        # B[i, j]: how much watching i raises j's score; rows are "because you watched i"
        return np.asarray(self.weights_[np.asarray(items)], dtype=np.float32)

    def _state(self) -> dict[str, np.ndarray]:
        return {"weights": self.weights_}

    def _set_state(self, state: Mapping[str, np.ndarray]) -> None:
        self.weights_ = np.ascontiguousarray(state["weights"], dtype=np.float32)
