"""EASE: the embarrassingly shallow autoencoder (Steck 2019).

An item-item linear model ``scores = x @ B`` whose weights have a closed form: with the Gram matrix
``G = X^T X + lambda * I`` and ``P = G^-1``,

.. code-block:: text

    B = I - P / diag(P)        (column j divided by P[j, j]),  so diag(B) = 0.

It is a dense ``n_titles x n_titles`` model: fitting costs one symmetric inverse (``O(n_titles^3)``) and
``4 * n_titles^2`` bytes of memory, which is fine to a few tens of thousands of titles. Scoring a new member
(fold-in) is the same product as for a training member: a member given by history scores exactly as a
training member with that history would, without refitting.

Sessions (``session_weight > 0``, the ``session-ease`` model): titles a member watched close together in
time are more alike than two titles anywhere in the same history (a binge, a browsing session, a run of
ratings). The Gram matrix gains a time-kernel co-occurrence term,

.. code-block:: text

    G = X^T X + session_weight * sum over members of K,   K[i, j] = (1 - |t_i - t_j| / session_seconds)^2
                                                          (0 from session_seconds apart)

``K`` is Askey's compactly supported kernel, positive semi-definite on a line, so ``G`` stays positive
definite for any weight and any data (a cut exponential kernel, or a limit on how many neighbours in time
count, is not: with the latter the Cholesky factorisation failed on ML-100K). ``B`` follows as above. Only
the training pairs' own times are used and scoring is unchanged, so fold-in works as before. Members whose
pairs all carry one time (data without timestamps: all 0) add nothing, so on such data the model is plain
EASE (with ``session-ease``'s own defaults: regularization 600, confidence weights). Sample plays (an
autoplay preview, a misclick: ``Interactions.viewed``) are in ``X`` with their small weight but add no
session term. The default window, 120 s, suits rating bursts; for plays, where the next film starts a
runtime later, a window of hours is the one to try (the search space reaches 3,600 s). The extra cost is
one pass over each member's pairs that lie within the window of each other, at most what ``X^T X`` costs.
Measured in ``benchmarks/RESULTS.md``: the gain is largest on random holdouts (titles rated in the same
burst); split by time, it adds nothing on ML-100K and 3-15% on ml-latest-small.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import scipy.linalg as la
import scipy.sparse as sp
from numba import njit
from pydantic import Field

from reelkit.data.dataset import Interactions
from reelkit.errors import ConfigError
from reelkit.progress import Progress
from reelkit.recommend.base import ModelConfig, Recommender, Space, register, weighted_input

__all__ = ["EASE", "EASEConfig", "SessionEASE", "SessionEASEConfig", "add_session_gram", "ease_weights"]


class EASEConfig(ModelConfig):
    """Parameters of :class:`EASE`."""

    #: L2 penalty ``lambda`` added to the Gram diagonal; larger shrinks towards popularity-like scores.
    #: Default tuned for NDCG@10 on ML-100K and ml-latest-small (flat from 200 to 800 on both).
    regularization: float = Field(300.0, gt=0)
    #: ``binary`` learns from who watched what; ``weight`` from the confidence weights (about equal on
    #: MovieLens: -0.006 on ML-100K, +0.004 on ml-latest-small).
    weighting: Literal["binary", "weight"] = "binary"
    #: Floating type of the inverse: ``auto`` uses float64 up to 4,000 titles and float32 above (half the
    #: memory and about twice as fast; the Gram counts are exact in either, the session term is rounded),
    #: and float64 again where float32's factorisation fails (a small regularization).
    precision: Literal["auto", "float32", "float64"] = "auto"
    #: Weight of the session term (titles watched close together in time; see the module docstring);
    #: 0 is plain EASE.
    session_weight: float = Field(0.0, ge=0, le=1e6)
    #: Width of the session kernel, in seconds: two titles watched this far apart or further add nothing,
    #: half as far apart a quarter of what two watched at once add.
    session_seconds: float = Field(120.0, gt=0)


def ease_weights(
    x: sp.csr_matrix,
    regularization: float,
    dtype: type[np.floating] = np.float64,
    *,
    sessions: tuple[Interactions, float, float] | None = None,
) -> np.ndarray:
    """The EASE weight matrix ``B`` (float32, ``n x n``, zero diagonal) for the members x titles ``x``.

    ``sessions=(data, weight, seconds)`` adds the session term of ``data`` (whose pairs are ``x``'s) to the
    Gram matrix (:func:`add_session_gram`). Works in place on one ``n x n`` array of ``dtype`` (LAPACK
    ``potrf`` + ``potri`` on the Gram matrix, which is symmetric, so its C-ordered buffer is passed as the
    Fortran-ordered transpose).
    """
    xs = sp.csr_matrix(x, dtype=dtype)
    n = xs.shape[1]
    gram = _gram(xs)
    if sessions is not None and sessions[1] > 0:
        add_session_gram(gram, sessions[0], weight=sessions[1], seconds=sessions[2])
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


def add_session_gram(gram: np.ndarray, data: Interactions, *, weight: float, seconds: float) -> None:
    """Add ``weight`` times every member's session kernel (``(1 - |t_i - t_j| / seconds)^2`` for pairs
    less than ``seconds`` apart, see the module docstring) to ``gram`` in place. Members whose pairs all carry
    one time add nothing, nor do pairs made of sample plays only."""
    keep = data.viewed()
    n = int(keep.sum())
    if n == 0 or weight <= 0:
        return
    rows = np.asarray(data.rows, dtype=np.int64)[keep]
    ts = np.asarray(data.timestamp, dtype=np.float64)[keep]
    order = np.lexsort((ts, rows))
    r, c, t = rows[order], np.asarray(data.cols, dtype=np.int64)[keep][order], ts[order]
    starts = np.flatnonzero(np.r_[True, r[1:] != r[:-1]])
    ends = np.r_[starts[1:], n]
    spread = t[ends - 1] > t[starts]  # a member with one time (or one pair) has no sessions to tell apart
    _session_kernel(gram, c, t, starts[spread], ends[spread], weight, float(seconds))


@njit(cache=True)
def _session_kernel(
    gram: np.ndarray,
    cols: np.ndarray,
    times: np.ndarray,
    starts: np.ndarray,
    ends: np.ndarray,
    weight: float,
    width: float,
) -> None:  # pragma: no cover - compiled; tested through add_session_gram
    for m in range(starts.shape[0]):
        for a in range(starts[m], ends[m]):
            i = cols[a]
            gram[i, i] += weight
            for b in range(a + 1, ends[m]):
                dt = times[b] - times[a]
                if dt >= width:
                    break
                u = 1.0 - dt / width
                w = weight * u * u
                j = cols[b]
                gram[i, j] += w
                gram[j, i] += w


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
        dtype: type[np.floating] = np.float64 if prec == "float64" else np.float32
        cfg = self.config
        sessions = (data, cfg.session_weight, cfg.session_seconds) if cfg.session_weight > 0 else None
        # auto chose float32 for speed; a small regularization can need float64's digits: tried next
        dtypes: list[type[np.floating]] = [dtype]
        if cfg.precision == "auto" and dtype == np.float32:
            dtypes.append(np.float64)
        with progress.task("EASE: inverting the Gram matrix", total=1) as task:
            for dtype in dtypes:
                try:
                    self.weights_: np.ndarray = ease_weights(x, cfg.regularization, dtype, sessions=sessions)
                    break
                except np.linalg.LinAlgError:
                    continue
            else:  # was a traceback; the fix is the user's parameter
                prec = "float64" if dtype == np.float64 else "float32"
                other = " or use precision=float64" if prec == "float32" else ""
                default = type(cfg).model_fields["regularization"].default
                raise ConfigError(
                    f"EASE: regularization={cfg.regularization:g} is too small to invert the Gram matrix in "
                    f"{prec} ({x.shape[1]:,} titles); raise regularization (default {default:g}){other}"
                )
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


class SessionEASEConfig(EASEConfig):
    """Parameters of :class:`SessionEASE`: EASE's, with the session term on by default."""

    #: Defaults tuned for NDCG@10 on ML-100K and ml-latest-small validation splits (seed 0).
    regularization: float = Field(600.0, gt=0)
    weighting: Literal["binary", "weight"] = "weight"
    session_weight: float = Field(8.0, ge=0, le=1e6)
    session_seconds: float = Field(120.0, gt=0)


@register
class SessionEASE(EASE):
    """EASE whose item-item weights also learn from what members watch close together in time."""

    name = "session-ease"
    Config = SessionEASEConfig
    config: SessionEASEConfig
    fast_params = {"regularization": 50.0}  # noqa: RUF012
    search_space = {  # noqa: RUF012 - class-level constant, never mutated
        **EASE.search_space,
        "session_weight": Space("log", 0.5, 32.0),
        "session_seconds": Space("log", 10.0, 3600.0),
    }
