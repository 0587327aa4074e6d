"""The recommender contract every model implements, and what they share.

A model is built with its parameters only (validated by its pydantic ``Config``), learns in :meth:`fit`
(which returns ``self``; learned attributes end in ``_``) and answers batch-first:

* :meth:`Recommender.recommend` — top-N titles for many members at once;
* :meth:`Recommender.recommend_history` — top-N for members described only by their history (fold-in,
  no refit: new members, or known members with fresh events);
* :meth:`Recommender.similar_titles` — titles most like each query title;
* :meth:`Recommender.predict` — predicted ratings (rating models only);
* :meth:`Recommender.save` / :func:`load_model` — one ``.npz`` file, loaded with ``allow_pickle=False``.

Subclasses implement the index-space hooks ``_fit``, ``_score`` and (optionally) ``_similar``,
``_predict``, and list their learned arrays in ``_state``/``_set_state``.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, Self

import numpy as np
import pandas as pd
import pydantic
import scipy.sparse as sp

from reelkit._files import atomic_path
from reelkit.config import error_message
from reelkit.data.dataset import Dataset, Interactions
from reelkit.errors import ConfigError, ModelFormatError, NotFittedError, UnknownIdError
from reelkit.progress import SILENT, Progress

__all__ = [
    "FORMAT_VERSION",
    "ModelConfig",
    "Recommendations",
    "Recommender",
    "Space",
    "load_model",
    "register",
    "sparse_from_state",
    "sparse_state",
    "top_k",
    "weighted_input",
]

FORMAT_VERSION = 1
ModelKind = Literal["top-n", "rating", "both"]
History = Mapping[str, float] | Sequence[str]

_REGISTRY: dict[str, type[Recommender]] = {}


def _id_list(ids: Sequence[str] | np.ndarray | str, what: str) -> np.ndarray:
    """Ids as a 1-D string array; a single id (a plain string) is refused rather than read as characters."""
    if isinstance(ids, str):
        raise ConfigError(f"{what}: give a list of ids, e.g. [{ids!r}], not a single string")
    arr = np.asarray(ids, dtype=str)
    if arr.ndim != 1:
        raise ConfigError(f"{what}: give a flat list of ids (got shape {arr.shape})")
    return arr


@dataclass(frozen=True)
class Space:
    """One tunable parameter's search range: ``float``/``int`` uniform, ``log``/``logint`` log-uniform,
    or ``choice`` among ``choices``."""

    kind: Literal["float", "log", "int", "logint", "choice"]
    low: float = 0.0
    high: float = 0.0
    choices: tuple[Any, ...] = ()

    def sample(self, rng: np.random.Generator) -> Any:
        if self.kind == "choice":
            return self.choices[int(rng.integers(len(self.choices)))]
        if self.kind in ("log", "logint"):
            v = float(np.exp(rng.uniform(np.log(self.low), np.log(self.high))))
        else:
            v = float(rng.uniform(self.low, self.high))
        return round(v) if self.kind in ("int", "logint") else v


def register(cls: type[Recommender]) -> type[Recommender]:
    """Class decorator: make a model known by its ``name`` (for the CLI and :func:`load_model`)."""
    _REGISTRY[cls.name] = cls
    return cls


def registered_models() -> dict[str, type[Recommender]]:
    """Every registered model class by name (importing :mod:`reelkit.recommend` registers them)."""
    return dict(_REGISTRY)


class ModelConfig(pydantic.BaseModel):
    """Base of every model's typed parameters; unknown keys, infinities and NaN are errors; round-trips
    through JSON."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


@dataclass(frozen=True)
class Recommendations:
    """Top-N lists for a batch of queries (members or titles).

    ``ids[i, :lengths[i]]`` are the recommended title ids for ``queries[i]`` in rank order, with
    ``scores[i, :lengths[i]]``; the rest of each row is padding (``""`` and NaN).
    """

    queries: np.ndarray
    ids: np.ndarray
    scores: np.ndarray
    lengths: np.ndarray

    def __len__(self) -> int:
        return int(self.queries.shape[0])

    def items(self, i: int) -> list[tuple[str, float]]:
        """The (title id, score) list of query ``i``."""
        k = int(self.lengths[i])
        return [(str(t), float(s)) for t, s in zip(self.ids[i, :k], self.scores[i, :k], strict=True)]

    def to_frame(self) -> pd.DataFrame:
        """Long format: ``query``, ``rank`` (1-based), ``title_id``, ``score``."""
        rows = [
            (str(q), r + 1, str(self.ids[i, r]), float(self.scores[i, r]))
            for i, q in enumerate(self.queries)
            for r in range(int(self.lengths[i]))
        ]
        return pd.DataFrame(rows, columns=["query", "rank", "title_id", "score"])


#: lists are padded to ``n`` (see :func:`top_k`); past the catalogue and this many, ``n`` is refused
MAX_LIST_PADDING = 10_000


def _check_list_length(n: int, n_titles: int) -> None:
    """Refuse an ``n`` that would pad the lists far beyond the catalogue (``n=10**13`` tried to allocate
    364 TiB of padding)."""
    limit = max(n_titles, MAX_LIST_PADDING)
    if n > limit:
        raise ConfigError(
            f"n={n} is more titles than the catalogue's {n_titles:,}; ask for at most {limit:,} "
            "(lists are padded past the catalogue up to that)"
        )


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the ``k`` largest finite scores per row, best first.

    Ties break by the lower index (deterministic). NaN, -inf and +inf are not scores (callers mask titles
    with -inf; +inf is an overflow, not a best title) and are never listed; rows with fewer than ``k`` finite
    scores are padded at the end with index -1 and value -inf. ``scores`` is ``(m, n)``; returns ``(m, k)``
    int32 and float32 arrays.
    """
    scores = np.asarray(scores, dtype=np.float32)
    # every non-finite entry to -inf before sorting, so that all sort after the finite ones (a +inf ranked
    # first and then masked left its padding at rank 1, ahead of real titles); -inf, the callers' mask, is
    # already there, so the scores are copied only when a NaN or +inf is among them (this is the hot path)
    odd = ~(scores < np.inf)
    if odd.any():
        scores = np.where(odd, np.float32(-np.inf), scores)
    m, n = scores.shape
    k_eff = min(k, n)
    if k_eff <= 0:
        return np.full((m, k), -1, np.int32), np.full((m, k), -np.inf, np.float32)
    # negate so that argpartition/argsort's "smallest" are our largest; -inf sorts last; ties by index
    neg = -scores
    if k_eff < n:
        part = np.argpartition(neg, k_eff - 1, axis=1)[:, :k_eff]
    else:
        part = np.broadcast_to(np.arange(n), (m, n)).copy()
    vals = np.take_along_axis(neg, part, axis=1)
    order = np.lexsort((part, vals), axis=1)
    idx = np.take_along_axis(part, order, axis=1).astype(np.int32)
    out = -np.take_along_axis(vals, order, axis=1)
    if k_eff < n:
        # argpartition may split ties at the boundary arbitrarily: include all equal-to-kth candidates
        kth = out[:, -1:]
        need_fix = np.flatnonzero(
            (np.sum(scores == kth, axis=1) > np.sum(out == kth, axis=1)) & np.isfinite(kth[:, 0])
        )
        for r in need_fix:
            row = scores[r]
            full = np.lexsort((np.arange(n), -row))[:k_eff]
            idx[r] = full
            out[r] = row[full]
    invalid = ~np.isfinite(out)
    idx[invalid] = -1
    out[invalid] = -np.inf
    if k_eff < k:
        idx = np.pad(idx, ((0, 0), (0, k - k_eff)), constant_values=-1)
        out = np.pad(out, ((0, 0), (0, k - k_eff)), constant_values=-np.inf)
    return idx, out.astype(np.float32)


class Recommender(ABC):
    """Base class of every reelkit recommender (see the module docstring for the contract)."""

    name: ClassVar[str]
    kind: ClassVar[ModelKind] = "top-n"
    Config: ClassVar[type[ModelConfig]] = ModelConfig
    #: Whether the ranking comes from each member's own history (False: the same list, or a group's, for
    #: everyone); a personal model ranks a history with no title it knows by popularity.
    personal: ClassVar[bool] = True
    #: Most members scored in one batch; a batch takes fewer on a large catalogue (:meth:`score_batch_rows`).
    score_batch: ClassVar[int] = 4096
    #: Memory a batch's scores may take, as float64 cells (a model's temporaries are a few times that).
    score_batch_bytes: ClassVar[int] = 256 * 2**20
    #: Parameters that ``--tune`` searches, with their ranges (empty: nothing to tune).
    search_space: ClassVar[dict[str, Space]] = {}
    #: Small, fast parameters for the conformance suite (:mod:`reelkit.testing`).
    fast_params: ClassVar[dict[str, Any]] = {}
    #: The parameters the learned state was fitted (or loaded) with; ``save`` refuses others.
    _fitted_params: dict[str, Any] | None = None

    def __init__(self, **params: Any) -> None:
        try:
            self.config = self.Config(**params)
        except pydantic.ValidationError as exc:
            raise ConfigError(_pydantic_message(self.name, exc)) from None

    # ------------------------------------------------------------------ params
    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The model's parameters as a JSON-compatible dict (``deep`` is accepted for scikit-learn's
        ``clone``; there are no nested estimators)."""
        return self.config.model_dump(mode="json")

    def set_params(self, **params: Any) -> Self:
        """Change parameters (validated as the constructor does); a fitted model keeps its state until the
        next ``fit``, and refuses to ``save`` until then (the file would pair the new parameters with state
        learned under the old ones)."""
        merged = {**self.get_params(), **params}
        self.config = type(self)(**merged).config
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # ------------------------------------------------------------------ fitting
    def fit(self, data: Interactions | Dataset, *, progress: Progress = SILENT) -> Self:
        """Learn from ``data`` (a :class:`Dataset` is aggregated with default settings first)."""
        if not isinstance(data, Dataset | Interactions):
            raise ConfigError(
                f"fit takes a reelkit Dataset or its Interactions, not {type(data).__name__}; build one with "
                "Dataset.from_events(table) or reelkit.data.loaders.load_events_file(path)"
            )
        inter = data.interactions() if isinstance(data, Dataset) else data
        self.member_ids_: np.ndarray = np.asarray(inter.member_ids, dtype=str)
        self.title_ids_: np.ndarray = np.asarray(inter.title_ids, dtype=str)
        self.history_: sp.csr_matrix = inter.matrix("weight")
        self.ratings_: sp.csr_matrix = inter.matrix("rating")
        # pairs liked (a thumb up) after their rating: a low rating there explains recommendations again
        self.liked_since_rated_: sp.csr_matrix = inter.matrix("thumb_up_last").astype(np.bool_)
        # seen but not interactions (a thumbs-down, a rating under min_rating): not recommended again
        self.seen_: sp.csr_matrix = inter.seen_matrix()
        self.rating_scale_: tuple[float, float] = inter.rating_scale
        self.min_rating_: float | None = inter.min_rating
        names = inter.titles.get("name")
        self.title_names_: np.ndarray = (
            np.asarray(names.fillna("").astype(str).to_numpy(), dtype=str)
            if names is not None
            else self.title_ids_.copy()
        )
        self._build_indexes()
        self._fit(inter, progress)
        self._fitted_params = self.get_params()
        return self

    @abstractmethod
    def _fit(self, data: Interactions, progress: Progress) -> None:
        """Learn the model's state from ``data`` (ids and history are already stored)."""

    @abstractmethod
    def _score(self, rows: np.ndarray, history: sp.csr_matrix, ratings: sp.csr_matrix) -> np.ndarray:
        """Dense ``(len(rows), n_titles)`` scores.

        ``rows[i]`` is the member's training row, or -1 for a member known only by ``history[i]``
        (weights) and ``ratings[i]`` (explicit ratings, may be empty). For a known member the two
        matrices hold its training history.
        """

    def _similar(self, items: np.ndarray) -> np.ndarray:
        """Dense ``(len(items), n_titles)`` title-title similarities; default: cosine of co-occurrence."""
        return self.cooccurrence_similarity(items)

    def cooccurrence_similarity(self, items: np.ndarray) -> np.ndarray:
        """Cosine similarity of the titles' member sets in the training data (model-independent)."""
        self._check_fitted()
        x = (self.history_ > 0).astype(np.float32).tocsc()
        norms = np.sqrt(np.asarray(x.power(2).sum(axis=0)).ravel())
        norms[norms == 0] = 1.0
        q = x[:, items]
        sims = (q.T @ x).toarray() / norms[items][:, None] / norms[None, :]
        return np.asarray(sims, dtype=np.float32)

    def _predict(self, rows: np.ndarray, items: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    @abstractmethod
    def _state(self) -> dict[str, np.ndarray]:
        """Learned arrays to save (names must not start with ``__``)."""

    @abstractmethod
    def _set_state(self, state: Mapping[str, np.ndarray]) -> None:
        """Restore what :meth:`_state` returned."""

    # ------------------------------------------------------------------ helpers
    def _build_indexes(self) -> None:
        self._member_index = pd.Index(self.member_ids_)
        self._title_index = pd.Index(self.title_ids_)
        self._counts: np.ndarray | None = None

    def _member_counts(self) -> np.ndarray:
        """How many training members have each title (the fallback ranking of an empty history)."""
        if self._counts is None:
            self._counts = np.diff(self.history_.tocsc().indptr).astype(np.float32)
        return self._counts

    def _check_fitted(self) -> None:
        if not hasattr(self, "history_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet; call fit() or load a saved model")

    @property
    def n_titles(self) -> int:
        self._check_fitted()
        return int(self.title_ids_.shape[0])

    def _reads_ratings(self) -> bool:
        """Whether a given history's ratings reach the scores as they are (a top-n model clips each into a
        weight, see :meth:`histories_matrix`)."""
        return self.kind != "top-n"

    @property
    def explicit_rating_scale(self) -> tuple[float, float] | None:
        """The scale a given history's ratings must lie on: the one trained on, for a model that reads
        ratings as they are; None for one that clips them into weights or was trained without ratings (its
        ``rating_scale_`` is then a default that no rating was read on)."""
        self._check_fitted()
        return self.rating_scale_ if self.ratings_.nnz and self._reads_ratings() else None

    def member_rows(self, members: Sequence[str] | np.ndarray, *, missing_ok: bool = False) -> np.ndarray:
        """Training rows of ``members`` (-1 for unknown ones when ``missing_ok``)."""
        self._check_fitted()
        members = _id_list(members, "members")
        rows = self._member_index.get_indexer(members)
        if not missing_ok and (rows < 0).any():
            bad = members[rows < 0][:5]
            raise UnknownIdError(
                f"unknown member id(s) {', '.join(bad)}; for new members use recommend_history()"
            )
        return np.asarray(rows, dtype=np.int64)

    def title_cols(self, titles: Sequence[str] | np.ndarray, *, missing_ok: bool = False) -> np.ndarray:
        """Columns of ``titles`` (-1 for unknown ones when ``missing_ok``)."""
        self._check_fitted()
        titles = _id_list(titles, "titles")
        cols = self._title_index.get_indexer(titles)
        if not missing_ok and (cols < 0).any():
            bad = titles[cols < 0][:5]
            raise UnknownIdError(f"unknown title id(s) {', '.join(bad)}; the model was not trained on them")
        return np.asarray(cols, dtype=np.int64)

    def histories_matrix(self, histories: Sequence[History]) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """Weight and rating matrices for histories given as title lists or ``{title: rating}`` maps.

        A list gives each title weight 1 (a title listed twice still 1) and no rating; a mapping gives the
        rating and a weight by the default confidence formula (``1 + normalised rating``), NaN meaning seen
        but not rated; a rating outside the :attr:`explicit_rating_scale` (a rating model's) is a
        ``ConfigError``. Unknown titles are ignored, and so are ratings under the ``min_rating`` the model
        was trained with (as in training: seen, not liked).
        """
        hist, ratings, _ = self._histories(histories)
        return hist, ratings

    def _histories(self, histories: Sequence[History]) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix]:
        """:meth:`histories_matrix`, and the titles seen that are not interactions (ratings under
        ``min_rating``)."""
        self._check_fitted()
        floor = getattr(self, "min_rating_", None)
        lo, hi = self.rating_scale_
        explicit = self.explicit_rating_scale is not None
        span = hi - lo if hi > lo else 1.0
        w_rows, w_cols, w_vals, r_vals = [], [], [], []
        s_rows: list[int] = []
        s_cols: list[int] = []
        for i, h in enumerate(histories):
            if isinstance(h, Mapping):
                titles = list(h.keys())
                try:
                    rates = np.asarray([float(v) for v in h.values()], dtype=np.float64)
                except (TypeError, ValueError):
                    raise ConfigError(
                        f"history {i}: ratings must be numbers ({{title: rating}}), got "
                        f"{list(h.values())[:3]}"
                    ) from None
                if np.isinf(rates).any():
                    raise ConfigError(f"history {i}: ratings must be finite (NaN: seen, not rated)")
                # a rating model reads the rating as it is: 50 on a 0.5-5 scale predicted 33 "stars"
                out = np.flatnonzero(((rates < lo) | (rates > hi)) & explicit)
                if len(out):
                    raise ConfigError(
                        f"history {i}: {titles[out[0]]}={rates[out[0]]:g} is outside the model's rating "
                        f"scale {lo:g}-{hi:g}; give ratings on that scale"
                    )
            else:
                if isinstance(h, str):
                    raise ConfigError(f"history {i}: give a list of title ids, e.g. [{h!r}], not one string")
                titles = list(dict.fromkeys(str(t) for t in h))  # any iterable; a title twice counts once
                rates = np.full(len(titles), np.nan)
            cols = self.title_cols(titles, missing_ok=True) if titles else np.zeros(0, np.int64)
            keep = cols >= 0
            if floor is not None:
                low = keep & (rates < floor)  # NaN (seen, not rated) is kept
                s_rows.extend([i] * int(low.sum()))
                s_cols.extend(cols[low].tolist())
                keep &= ~low
            w_rows.extend([i] * int(keep.sum()))
            w_cols.extend(cols[keep].tolist())
            r = rates[keep]
            r_vals.extend(r.tolist())
            w_vals.extend(np.where(np.isnan(r), 1.0, 1.0 + np.clip((r - lo) / span, 0, 1)).tolist())
        shape = (len(histories), self.n_titles)
        hist = sp.csr_matrix((np.asarray(w_vals, np.float32), (w_rows, w_cols)), shape=shape)
        rr = np.asarray(r_vals, dtype=np.float32)
        has = ~np.isnan(rr)
        ratings = sp.csr_matrix(
            (rr[has], (np.asarray(w_rows, np.int64)[has], np.asarray(w_cols, np.int64)[has])), shape=shape
        )
        hist.sum_duplicates()
        ratings.sum_duplicates()
        seen = sp.csr_matrix((np.ones(len(s_rows), np.bool_), (s_rows, s_cols)), shape=shape)
        return hist, ratings, seen

    # ------------------------------------------------------------------ index-space verbs
    def score_rows(
        self,
        rows: np.ndarray,
        history: sp.csr_matrix | None = None,
        ratings: sp.csr_matrix | None = None,
    ) -> np.ndarray:
        """Scores of every title for training rows (or, with ``history``, for members given by history)."""
        self._check_fitted()
        rows = np.asarray(rows, dtype=np.int64)
        if history is None:
            history = self.history_[rows]
            ratings = self.ratings_[rows]
        elif ratings is None:
            ratings = sp.csr_matrix(history.shape, dtype=np.float32)
        return self._score(rows, history, ratings)

    def score_batch_rows(self) -> int:
        """Members scored in one batch: as many as ``score_batch_bytes`` of float64 scores over this
        catalogue hold, at least 64 and at most ``score_batch`` (a fixed 4,096 took 5.4 GB for the blend on
        34,000 titles; its temporaries are about 30 bytes a score)."""
        fits = self.score_batch_bytes // (8 * max(self.n_titles, 1))
        return max(1, min(self.score_batch, max(64, fits)))

    def recommend_rows(
        self,
        rows: np.ndarray,
        n: int = 10,
        *,
        exclude_seen: bool = True,
        history: sp.csr_matrix | None = None,
        ratings: sp.csr_matrix | None = None,
        candidates: np.ndarray | None = None,
        seen: sp.csr_matrix | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``n`` title columns and scores per row (batched); see :func:`top_k` for padding.

        ``candidates`` (a boolean mask over titles) restricts what may be recommended; with ``history``,
        ``seen`` marks titles not to recommend that are not in it. A personal model ranks a given history
        with no title it knows by popularity (the number of members with each title): nothing personal to go
        on.
        """
        self._check_fitted()
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ConfigError(f"n must be a whole number of titles >= 1, got {n!r}")
        _check_list_length(n, self.n_titles)
        rows = np.asarray(rows, dtype=np.int64)
        all_idx, all_val = [], []
        batch = self.score_batch_rows()
        for start in range(0, max(len(rows), 1), batch):
            sl = slice(start, start + batch)
            r = rows[sl]
            if len(r) == 0:
                break
            if history is None:
                h, rt = self.history_[r], self.ratings_[r]
            else:
                h = history[sl]
                rt = ratings[sl] if ratings is not None else sp.csr_matrix(h.shape, dtype=np.float32)
            scores = np.array(self._score(r, h, rt), dtype=np.float32, copy=True)
            if history is not None and self.personal:
                empty = np.diff(h.indptr) == 0
                if empty.any():
                    scores[empty] = self._member_counts()
            if exclude_seen:
                hh = h.tocoo()
                scores[hh.row, hh.col] = -np.inf
                # also what they saw and did not like
                also = self.seen_[r] if history is None else (seen[sl] if seen is not None else None)
                if also is not None:
                    ss = also.tocoo()
                    scores[ss.row, ss.col] = -np.inf
            if candidates is not None:
                scores[:, ~candidates] = -np.inf
            i, v = top_k(scores, n)
            all_idx.append(i)
            all_val.append(v)
        if not all_idx:
            return np.zeros((0, n), np.int32), np.zeros((0, n), np.float32)
        return np.vstack(all_idx), np.vstack(all_val)

    # ------------------------------------------------------------------ id-space verbs
    def _to_recs(
        self, queries: Sequence[str] | np.ndarray, idx: np.ndarray, val: np.ndarray
    ) -> Recommendations:
        valid = idx >= 0
        ids = np.where(valid, self.title_ids_[np.where(valid, idx, 0)], "")
        scores = np.where(valid, val, np.nan).astype(np.float32)
        return Recommendations(
            queries=np.asarray(queries, dtype=str), ids=ids, scores=scores, lengths=valid.sum(axis=1)
        )

    def recommend(
        self, members: Sequence[str] | np.ndarray, n: int = 10, *, exclude_seen: bool = True
    ) -> Recommendations:
        """Top-``n`` titles for each known member (batch-first)."""
        rows = self.member_rows(members)
        idx, val = self.recommend_rows(rows, n, exclude_seen=exclude_seen)
        return self._to_recs(members, idx, val)

    def recommend_history(
        self,
        histories: Sequence[History],
        n: int = 10,
        *,
        exclude_seen: bool = True,
        queries: Sequence[str] | None = None,
    ) -> Recommendations:
        """Top-``n`` for members given only by their histories (fold-in, no refit)."""
        if queries is not None and len(queries) != len(histories):
            raise ConfigError(
                f"{len(queries)} query names for {len(histories)} histories; give one per history"
            )
        hist, ratings, seen = self._histories(histories)
        rows = np.full(len(histories), -1, dtype=np.int64)
        idx, val = self.recommend_rows(
            rows, n, exclude_seen=exclude_seen, history=hist, ratings=ratings, seen=seen
        )
        q = list(queries) if queries is not None else [f"#{i}" for i in range(len(histories))]
        return self._to_recs(q, idx, val)

    def similar_titles(self, titles: Sequence[str] | np.ndarray, n: int = 10) -> Recommendations:
        """The ``n`` titles most similar to each query title (the query itself excluded).

        Only titles of positive similarity: a list may be shorter than ``n`` (0 is unrelated, a negative
        similarity is the opposite of "like this")."""
        cols = self.title_cols(titles)
        sims = np.array(self._similar(cols), dtype=np.float32, copy=True)
        sims[~(sims > 0)] = -np.inf
        sims[np.arange(len(cols)), cols] = -np.inf
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ConfigError(f"n must be a whole number of titles >= 1, got {n!r}")
        _check_list_length(n, self.n_titles)
        idx, val = top_k(sims, int(n))
        return self._to_recs(titles, idx, val)

    def predict(self, members: Sequence[str] | np.ndarray, titles: Sequence[str] | np.ndarray) -> np.ndarray:
        """Predicted ratings for (member, title) pairs; rating models only.

        Unknown members or titles get the model's fallback (global or bias-only estimate).
        """
        if self.kind == "top-n":
            raise ConfigError(f"model {self.name!r} ranks titles but does not predict ratings")
        members, titles = _id_list(members, "members"), _id_list(titles, "titles")
        if len(members) != len(titles):
            raise ConfigError(
                f"predict takes (member, title) pairs: {len(members)} members but {len(titles)} titles"
            )
        rows = self.member_rows(members, missing_ok=True)
        cols = self.title_cols(titles, missing_ok=True)
        return np.asarray(self._predict(rows, cols), dtype=np.float64)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the fitted model to one ``.npz`` file (atomically: temp file, then rename)."""
        self._check_fitted()
        if self.get_params() != self._fitted_params:
            raise ConfigError(
                f"{type(self).__name__}: parameters changed since fit (set_params); fit again before saving, "
                "so that the file's parameters are the ones its state was learned with"
            )
        path = Path(path)
        if path.is_dir():
            raise ConfigError(f"{path}: is a folder; give a file name for the model (e.g. model.npz)")
        if path.suffix.lower() != ".npz":  # m.NPZ is a model file already, not m.NPZ.npz
            path = path.with_suffix(path.suffix + ".npz") if path.suffix else path.with_suffix(".npz")
        meta = {
            "format": "reelkit-model",
            "version": FORMAT_VERSION,
            "model": self.name,
            "params": self.get_params(),
            "rating_scale": list(self.rating_scale_),
            "min_rating": getattr(self, "min_rating_", None),
        }
        arrays: dict[str, np.ndarray] = {
            "__meta__": np.asarray(json.dumps(meta)),
            "__member_ids__": self.member_ids_.astype(str),
            "__title_ids__": self.title_ids_.astype(str),
            "__title_names__": self.title_names_.astype(str),
        }
        for prefix, m in (
            ("__history", self.history_),
            ("__ratings", self.ratings_),
            ("__seen", self.seen_),
            ("__liked", self.liked_since_rated_),
        ):
            arrays[f"{prefix}_data__"] = m.data
            arrays[f"{prefix}_indices__"] = m.indices
            arrays[f"{prefix}_indptr__"] = m.indptr
        for k, v in self._state().items():
            if k.startswith("__"):
                raise ValueError(f"state key {k!r} is reserved")
            arrays[k] = np.asarray(v)
        with atomic_path(path, ".npz") as tmp:
            np.savez(tmp, **arrays)  # type: ignore[arg-type]
        return path

    @classmethod
    def load(cls, path: str | Path) -> Recommender:
        """Load a model saved by :meth:`save` (any registered class; see :func:`load_model`)."""
        model = load_model(path)
        if cls is not Recommender and not isinstance(model, cls):
            raise ModelFormatError(f"{path}: holds a {type(model).__name__}, not a {cls.__name__}")
        return model


def weighted_input(history: sp.csr_matrix, weighting: str) -> sp.csr_matrix:
    """A copy of ``history`` as float32: its confidence weights (``weight``) or 0/1 (``binary``)."""
    out = sp.csr_matrix(history, dtype=np.float32, copy=True)
    if weighting == "binary":
        out.data = (out.data > 0).astype(np.float32)
    return out


def sparse_state(prefix: str, m: sp.csr_matrix) -> dict[str, np.ndarray]:
    """A CSR matrix as three named arrays for ``_state`` (``{prefix}_data``, ``_indices``, ``_indptr``)."""
    return {f"{prefix}_data": m.data, f"{prefix}_indices": m.indices, f"{prefix}_indptr": m.indptr}


def sparse_from_state(
    state: Mapping[str, np.ndarray], prefix: str, shape: tuple[int, int], dtype: type = np.float32
) -> sp.csr_matrix:
    """The inverse of :func:`sparse_state`; a matrix whose indices leave its shape (a file edited or cut
    elsewhere) is a ``ValueError``, not memory read out of bounds later."""
    m = sp.csr_matrix(
        (
            np.asarray(state[f"{prefix}_data"], dtype=dtype),
            np.asarray(state[f"{prefix}_indices"]),
            np.asarray(state[f"{prefix}_indptr"]),
        ),
        shape=shape,
    )
    m.check_format(full_check=True)
    return m


def load_model(path: str | Path) -> Recommender:
    """Load any reelkit model file (never unpickles)."""
    import reelkit.recommend  # noqa: F401  (registers the models)
    from reelkit._files import read_npz

    path = Path(path)
    if not path.exists() and path.suffix.lower() != ".npz" and path.with_name(path.name + ".npz").is_file():
        path = path.with_name(path.name + ".npz")  # save() adds .npz: "-o model" wrote model.npz
    arrays = read_npz(path, "a reelkit model", "train one with 'reelkit train'")
    try:
        meta = json.loads(str(arrays.pop("__meta__")))
    except (KeyError, json.JSONDecodeError):
        raise ModelFormatError(f"{path}: not a reelkit model file (no metadata)") from None
    if not isinstance(meta, dict) or meta.get("format") != "reelkit-model":
        raise ModelFormatError(f"{path}: not a reelkit model file")
    if meta.get("version") != FORMAT_VERSION:
        raise ModelFormatError(
            f"{path}: model format version {meta.get('version')} is not supported by this reelkit "
            f"(reads version {FORMAT_VERSION}); retrain the model"
        )
    cls = _REGISTRY.get(str(meta.get("model")))
    if cls is None:
        raise ModelFormatError(f"{path}: unknown model {meta.get('model')!r}")
    try:
        return _restore(cls, meta, arrays)
    except (KeyError, ValueError, TypeError) as exc:
        raise ModelFormatError(
            f"{path}: incomplete or corrupt model file ({exc}); retrain the model"
        ) from None


def _restore(cls: type[Recommender], meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> Recommender:
    model = cls(**meta["params"])
    model.member_ids_ = arrays.pop("__member_ids__").astype(str)
    model.title_ids_ = arrays.pop("__title_ids__").astype(str)
    model.title_names_ = arrays.pop("__title_names__", model.title_ids_).astype(str)
    # ids index the rows and columns (a repeated one failed every look-up later) and names go one per title
    for what, ids in (("member", model.member_ids_), ("title", model.title_ids_)):
        if ids.ndim != 1:
            raise ValueError(f"its {what} ids are of shape {ids.shape}, not a list")
        uniq, counts = np.unique(ids, return_counts=True)
        dup = np.flatnonzero(counts > 1)
        if len(dup):
            raise ValueError(f"{what} id {str(uniq[dup[0]])!r} is listed {int(counts[dup[0]])} times")
    if model.title_names_.shape != model.title_ids_.shape:
        raise ValueError(f"{model.title_names_.size} title names for {model.title_ids_.size} titles")
    # learned numbers are finite (a fit never saves NaN or infinity): a NaN weight or factor edited in
    # dropped titles from every list, or emptied the lists, in silence
    for key, values in arrays.items():
        if values.dtype.kind in "fc" and not np.isfinite(values).all():
            bad = int(np.count_nonzero(~np.isfinite(values)))
            raise ValueError(f"{key.strip('_')} holds NaN or infinite values ({bad:,} of {values.size:,})")
    shape = (len(model.member_ids_), len(model.title_ids_))
    for prefix, attr in (
        ("__history", "history_"),
        ("__ratings", "ratings_"),
        ("__seen", "seen_"),
        ("__liked", "liked_since_rated_"),
    ):
        saved_later = prefix in ("__seen", "__liked")  # a file written before they were kept has none
        if saved_later and f"{prefix}_data__" not in arrays:
            setattr(model, attr, sp.csr_matrix(shape, dtype=np.bool_))
            continue
        m = sp.csr_matrix(
            (
                arrays.pop(f"{prefix}_data__"),
                arrays.pop(f"{prefix}_indices__"),
                arrays.pop(f"{prefix}_indptr__"),
            ),
            shape=shape,
        )
        m.check_format(full_check=True)  # indices within the shape, indptr consistent
        setattr(model, attr, m)
    lo, hi = meta.get("rating_scale", [1.0, 5.0])
    model.rating_scale_ = (float(lo), float(hi))
    min_rating = meta.get("min_rating")
    model.min_rating_ = None if min_rating is None else float(min_rating)
    model._build_indexes()
    model._set_state(arrays)
    model._fitted_params = model.get_params()
    if shape[0]:
        # the learned arrays must fit together (a file cut or edited elsewhere): score a training member and
        # a folded-in history through the model's own code, which fails on arrays of the wrong shape
        try:
            for scores in (
                model.score_rows(np.array([0, shape[0] - 1], np.int64)),  # first and last: factors cut short
                model.score_rows(np.full(1, -1, np.int64), model.history_[:1], model.ratings_[:1]),
            ):
                if np.shape(scores)[1:] != (shape[1],):
                    raise ValueError(f"scores of shape {np.shape(scores)} for {shape[1]} titles")
        except (IndexError, AttributeError) as exc:
            raise ValueError(f"its arrays do not fit together: {exc}") from None
    return model


def _pydantic_message(name: str, exc: pydantic.ValidationError) -> str:
    parts = []
    for err in exc.errors():
        field = ".".join(str(x) for x in err["loc"]) or "(params)"
        parts.append(f"{field}: {error_message(err)}")
    return f"invalid parameter(s) for model {name!r}: " + "; ".join(parts)
