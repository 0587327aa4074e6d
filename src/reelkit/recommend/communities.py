"""Taste communities: members grouped by what they watch, and "popular in your community".

Representation
    Each member's interaction row (binary: the titles viewed, pairs of sample plays only left out) is
    scaled per title by ``1 / sqrt(title popularity)`` (so that blockbusters everyone watched do not
    dominate) and L2-normalised; a truncated SVD of that matrix gives
    ``dims``-dimensional taste vectors, normalised to unit length (so Euclidean k-means clusters by cosine).
    A new member is placed in the same space by projecting their history onto the SVD components (fold-in,
    no refit), in the community of the nearest k-means centre (Euclidean, the rule the members were
    clustered by); a known member is in the community they were clustered into.

Number of communities
    Unless ``n_communities`` is given, each ``k`` in ``candidates`` is tried and scored by how well
    "popular in your community" predicts held-out titles: every member with at least 5 titles holds out 20%
    of them (seeded), communities are clustered on the rest, and the held-out titles are ranked by their
    community's popularity (NDCG@10). The smallest ``k`` whose score is within ``tolerance`` (relative) of
    the best wins: the stated criterion is "predict what members watch next, with as few communities as
    that allows". With fewer members than the smallest candidate (a service just started), everyone is one
    community.

Profiles
    Each community has a size; its *distinctive titles* (highest lift ``P(title | community) / P(title)``
    among titles with at least ``min_support`` community members); its *favourites* (most watched within
    it); and a generated name from its most distinctive genres (genre lift over the whole membership).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, ClassVar

import numpy as np
import scipy.sparse as sp
from pydantic import Field
from sklearn.cluster import KMeans
from sklearn.utils.extmath import randomized_svd

from reelkit.data.dataset import Interactions
from reelkit.errors import ConfigError
from reelkit.progress import Progress
from reelkit.recommend.base import ModelConfig, Recommender, Space, register

__all__ = ["Community", "CommunityPopularity"]


@dataclass(frozen=True)
class Community:
    """One taste community's profile."""

    id: int
    name: str
    size: int
    genres: list[tuple[str, float]]
    distinctive: list[tuple[str, float]]
    favourites: list[tuple[str, int]]


class CommunityConfig(ModelConfig):
    n_communities: int | None = Field(None, ge=1, le=500)
    #: Community counts to try (each 1 to 100,000; a count above the members is skipped, none left: one).
    candidates: tuple[Annotated[int, Field(ge=1, le=100_000)], ...] = Field(
        (4, 6, 8, 12, 16, 24, 32), min_length=1
    )
    tolerance: float = Field(0.01, ge=0, le=0.5)
    dims: int = Field(48, ge=2, le=512)
    #: Softness of the assignment when scoring: 0 = hard (own community only); >0 mixes communities with
    #: weights ``softmax(cosine(member, centroid) / temperature)``.
    temperature: float = Field(0.1, ge=0)
    min_support: int = Field(5, ge=1)
    seed: int = Field(0, ge=0, le=2**32 - 1)  # scikit-learn's random_state range


def _taste_matrix(binary: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    x = binary.multiply(idf[None, :]).tocsr()
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(x.multiply(1.0 / norms[:, None]))


#: Choosing the number of communities holds out this share of each member's titles (rounded) to score
#: "popular in your community" on, for members with at least ``_HOLDOUT_MIN`` titles (fewer: none).
_HOLDOUT_SHARE = 0.2
_HOLDOUT_MIN = 5


def _held_out(counts: np.ndarray) -> np.ndarray:
    """How many of each member's titles (``counts``) are held out when the number of communities is chosen."""
    return np.where(counts >= _HOLDOUT_MIN, np.round(counts * _HOLDOUT_SHARE), 0).astype(np.int64)


def _unit(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return np.asarray(v / n, dtype=np.float32)


def _ndcg10(pop: np.ndarray, labels: np.ndarray, seen: sp.csr_matrix, truth: sp.csr_matrix) -> float:
    """NDCG@10 of "popular in your community": member ``i``'s list is their community's popularity
    ``pop[labels[i]]`` best first, ties in title order (a stable sort), without the titles stored in row
    ``i`` of ``seen``; ``truth`` row ``i`` holds the held-out titles (none of them seen).

    No members x titles matrix is made (it ran out of memory on 50,000 members x 20,000 titles): each
    community's titles are sorted once, and a member's top 10 are the first 10 titles of that order they
    have not seen. With the positions of the seen titles in the order sorted, ``p_0 < p_1 < ...``, the
    ``j``-th unseen title is at position ``j + #{i : p_i - i <= j}`` (``p_i - i``: unseen titles before
    the ``i``-th seen one)."""
    m, n_titles = truth.shape
    k = min(10, n_titles)  # a catalogue under 10 titles has shorter lists
    order = np.argsort(-pop.astype(np.float64), axis=1, kind="stable")
    position = np.empty_like(order)
    np.put_along_axis(position, order, np.arange(n_titles)[None, :], axis=1)
    seen = seen.tocsr()
    seen_rows = np.repeat(np.arange(m, dtype=np.int64), np.diff(seen.indptr))
    # each member's seen titles by their position in the community's order (a title stored twice: once)
    key = np.unique(seen_rows * n_titles + position[labels[seen_rows], seen.indices])
    rows, pos = np.divmod(key, n_titles)
    starts = np.searchsorted(rows, np.arange(m + 1))
    unseen_before = pos - (np.arange(len(key)) - starts[rows])
    # all members' counts in one sorted array (each under n_titles), where each member's j = 0..k-1 is found
    stride = n_titles + 1
    counts = rows * stride + unseen_before
    at = np.searchsorted(counts, np.arange(m)[:, None] * stride + np.arange(k), side="right")
    place = np.arange(k) + (at - starts[:-1, None])
    listed = place < n_titles  # past the titles a member has not seen: a seen title, never a hit
    top = order[np.asarray(labels)[:, None], np.minimum(place, n_titles - 1)]
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    hits = (np.asarray(truth[np.arange(m)[:, None], top].todense()) > 0) & listed
    n_rel = np.diff(truth.indptr)
    idcg = np.array([disc[: min(int(r), k)].sum() for r in n_rel])
    ok = n_rel > 0
    return float(np.mean((hits * disc).sum(axis=1)[ok] / idcg[ok])) if ok.any() else 0.0


@register
class CommunityPopularity(Recommender):
    """Taste communities (see the module docstring) and the "popular in your community" recommender."""

    name = "community-pop"
    kind = "top-n"
    personal = False  # the member's community's list (a history with no known title: the largest's)
    Config = CommunityConfig
    config: CommunityConfig
    search_space: ClassVar[dict[str, Space]] = {
        "dims": Space("logint", 8, 128),
        "temperature": Space("choice", choices=(0.0, 0.05, 0.1, 0.2)),
    }

    # ------------------------------------------------------------------ fitting
    def _embed_fit(self, binary: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        pop = np.asarray(binary.sum(axis=0)).ravel()
        idf = (1.0 / np.sqrt(np.maximum(pop, 1.0))).astype(np.float32)
        x = _taste_matrix(binary, idf)
        dims = int(min(self.config.dims, min(x.shape) - 1))
        if dims < 1:
            raise ConfigError("too little data for taste communities: need at least 2 members and 2 titles")
        u, s, vt = randomized_svd(x, dims, random_state=self.config.seed, n_iter=5)
        return _unit(u * s), vt.astype(np.float32), idf

    def _cluster(self, emb: np.ndarray, k: int) -> KMeans:
        # no more communities than distinct tastes: members with the same taste vector cannot be split, and
        # k-means would leave the extra communities empty
        distinct = len(np.unique(np.round(emb, 6), axis=0))
        k = int(min(k, emb.shape[0], distinct))
        return KMeans(n_clusters=k, n_init=3, random_state=self.config.seed).fit(emb)

    def _choose_k(self, binary: sp.csr_matrix, progress: Progress) -> int:
        rng = np.random.default_rng(self.config.seed)
        coo = binary.tocoo()
        keys = rng.random(coo.nnz)
        order = np.lexsort((keys, coo.row))
        counts = np.diff(binary.indptr)
        start = np.repeat(binary.indptr[:-1], counts)
        rank = np.empty(coo.nnz, dtype=np.int64)
        rank[order] = np.arange(coo.nnz) - start
        n_test = _held_out(counts)
        is_test = np.zeros(coo.nnz, bool)
        is_test[order] = rank[order] < n_test[coo.row[order]]
        shape = binary.shape
        train = sp.csr_matrix((coo.data[~is_test], (coo.row[~is_test], coo.col[~is_test])), shape=shape)
        test = sp.csr_matrix((coo.data[is_test], (coo.row[is_test], coo.col[is_test])), shape=shape)
        emb, _, _ = self._embed_fit(train)
        eval_rows = np.flatnonzero(n_test > 0)
        seen, truth = train[eval_rows], test[eval_rows]
        results: list[tuple[int, float]] = []
        cands = sorted({int(c) for c in self.config.candidates if 1 <= c <= shape[0]})
        if not cands:  # fewer members than the smallest count tried (a new service): one community of all
            self.k_scores_ = np.zeros((0, 2))
            return 1
        with progress.task("choosing the number of communities", total=len(cands)) as task:
            for k in cands:
                km = self._cluster(emb, k)
                pop = _community_popularity(train, km.labels_, km.n_clusters)
                results.append((k, _ndcg10(pop, km.labels_[eval_rows], seen, truth)))
                task.advance()
        self.k_scores_ = np.asarray(results, dtype=np.float64)
        best = max(s for _, s in results)
        return min(k for k, s in results if s >= best * (1 - self.config.tolerance))

    def _fit(self, data: Interactions, progress: Progress) -> None:
        # titles watched: a 1 s preview is not "watched by X% of" a community (nor popular with all members)
        binary = data.matrix("viewed")
        if min(binary.shape) < 2:  # said first: asking for fewer communities would not help
            raise ConfigError("too little data for taste communities: need at least 2 members and 2 titles")
        if self.config.n_communities is None:
            k = self._choose_k(binary, progress)
        else:
            k = self.config.n_communities
            if k > binary.shape[0]:
                raise ConfigError(
                    f"asked for {k} communities but the data has only {binary.shape[0]} members; "
                    f"ask for at most {binary.shape[0]}"
                )
            self.k_scores_ = np.zeros((0, 2))
        emb, comps, idf = self._embed_fit(binary)
        km = self._cluster(emb, k)
        self.components_ = comps
        self.idf_ = idf
        self.centers_ = km.cluster_centers_.astype(np.float32)
        self.centroids_ = _unit(self.centers_)
        self.labels_ = km.labels_.astype(np.int32)
        self.embedding_ = emb
        self.community_popularity_ = _community_popularity(binary, self.labels_, km.n_clusters)
        self.global_popularity_ = np.asarray(binary.sum(axis=0)).ravel().astype(np.float32)
        genres = data.titles["genres"].fillna("").astype(str).to_numpy() if "genres" in data.titles else None
        self.title_genres_ = (
            np.asarray(genres, dtype=str) if genres is not None else np.full(data.n_titles, "", dtype=str)
        )

    # ------------------------------------------------------------------ assignment
    @property
    def n_communities_(self) -> int:
        self._check_fitted()
        return int(self.centroids_.shape[0])

    def embed(self, history: sp.csr_matrix) -> np.ndarray:
        """Taste vectors of members given by history rows (fold-in by projection)."""
        self._check_fitted()
        x = _taste_matrix((history > 0).astype(np.float32), self.idf_)
        return _unit(np.asarray(x @ self.components_.T))

    def nearest_centre(self, emb: np.ndarray) -> np.ndarray:
        """The community of each taste vector (rows of ``emb``) by k-means' own rule: the nearest centre,
        Euclidean. The centres are not unit length, so the largest cosine to the unit centroids is another
        rule (it placed 12 of ml-latest-small's 610 members in a community they were not clustered into)."""
        self._check_fitted()
        centers = np.asarray(self.centers_, dtype=np.float64)
        # argmin |e - c|^2 = argmax 2 e.c - |c|^2 (|e|^2 is the same for every centre)
        closeness = 2.0 * (np.asarray(emb, dtype=np.float64) @ centers.T) - (centers * centers).sum(axis=1)
        return np.asarray(np.argmax(closeness, axis=1), dtype=np.int32)

    def affinities(self, rows: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        """``(m, n_communities)`` cosine similarity of each member's taste to each community centroid."""
        self._check_fitted()
        rows = np.asarray(rows)
        emb = np.empty((len(rows), self.components_.shape[0]), dtype=np.float32)
        known = rows >= 0
        if known.any():
            emb[known] = self.embedding_[rows[known]]
        if (~known).any():
            emb[~known] = self.embed(history[np.flatnonzero(~known)])
        return np.asarray(emb @ self.centroids_.T)

    def assign_rows(self, rows: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        """Community of each member: the learned label for known rows, the nearest centre otherwise
        (:meth:`nearest_centre`)."""
        self._check_fitted()
        rows = np.asarray(rows)
        out = np.empty(len(rows), dtype=np.int32)
        known = rows >= 0
        out[known] = self.labels_[rows[known]]
        if (~known).any():
            new = history[np.flatnonzero(~known)]
            # a member with no history has a zero vector: the largest community is the best guess
            empty = np.asarray(new.sum(axis=1)).ravel() == 0
            guess = self.nearest_centre(self.embed(new))
            guess[empty] = int(np.argmax(np.bincount(self.labels_, minlength=self.n_communities_)))
            out[~known] = guess
        return out

    def assign(self, members: list[str]) -> np.ndarray:
        """Community ids of known members."""
        self._check_fitted()
        return np.asarray(self.labels_[self.member_rows(members)])

    def assign_history(self, histories: list[list[str]] | list[Mapping[str, float]]) -> np.ndarray:
        """Community ids of members given by their histories (new members included)."""
        hist, _ = self.histories_matrix(histories)
        return np.asarray(self.assign_rows(np.full(len(histories), -1), hist))

    # ------------------------------------------------------------------ scoring
    def community_weights(self, rows: np.ndarray, history: sp.csr_matrix) -> np.ndarray:
        """``(m, n_communities)`` weight of each community in each member's list: their own community's 1
        with ``temperature`` 0, else ``softmax(cosine(member, centroid) / temperature)`` (``rows``: model
        rows, -1 for members given by ``history`` alone, one history row per member)."""
        rows = np.asarray(rows)
        if self.config.temperature <= 0:
            w = np.zeros((len(rows), self.n_communities_))
            w[np.arange(len(rows)), self.assign_rows(rows, history)] = 1.0
            return w
        # the max is taken off before dividing (every value <= 0): a tiny temperature overflowed float32 to
        # inf, inf - inf made NaN and every list came back empty
        sims = self.affinities(rows, history).astype(np.float64)
        sims -= sims.max(axis=1, keepdims=True)
        w = np.exp(sims / self.config.temperature)
        w /= w.sum(axis=1, keepdims=True)
        # a history with no known title has no affinity to any community: the largest's list, as
        # assign_rows (and so the reason given) has it, not an even mix of all of them
        empty = (rows < 0) & (np.asarray(history.sum(axis=1)).ravel() == 0)
        if empty.any():
            w[empty] = 0.0
            w[empty, int(np.argmax(np.bincount(self.labels_, minlength=self.n_communities_)))] = 1.0
        return w

    def _score(self, rows: np.ndarray, history: sp.csr_matrix, ratings: sp.csr_matrix) -> np.ndarray:
        weights = self.community_weights(rows, history)  # one-hot with temperature 0: the own list exactly
        return np.asarray(weights @ self.community_popularity_, dtype=np.float32)

    # ------------------------------------------------------------------ profiles
    def communities(
        self,
        *,
        top: int = 10,
        popularity: np.ndarray | None = None,
        sizes: np.ndarray | None = None,
        names: Mapping[int, str] | None = None,
    ) -> list[Community]:
        """Profiles of every community, largest first: size, a name from its distinctive genres, and its
        ``top`` distinctive and favourite titles (by id).

        ``popularity`` (per community and title, the members who watched it) and ``sizes`` (members per
        community) stand in for the trained counts: the service's counts kept up to date from events.
        ``names`` (by community id) keeps each community's name as it was: a community renamed as its
        counts move would read as another one."""
        self._check_fitted()
        if (popularity is None) != (sizes is None):
            raise ConfigError("give both popularity and sizes, or neither")
        if popularity is None or sizes is None:
            popularity = self.community_popularity_
            sizes = np.bincount(self.labels_, minlength=self.n_communities_)
            global_popularity = self.global_popularity_
        else:
            if popularity.shape != self.community_popularity_.shape or sizes.shape != (self.n_communities_,):
                raise ConfigError(
                    f"popularity {popularity.shape} and sizes {sizes.shape} must be "
                    f"{self.community_popularity_.shape} and ({self.n_communities_},), as the model's"
                )
            # in the trained counts' types, so that the same counts give the same profiles (ties included)
            popularity = np.asarray(popularity, dtype=self.community_popularity_.dtype)
            sizes = np.asarray(sizes).astype(np.int64)
            global_popularity = popularity.sum(axis=0, dtype=self.global_popularity_.dtype)  # one each
        n_members = max(int(sizes.sum()), 1)
        glob = global_popularity / n_members
        genre_matrix, all_genres = self._genre_matrix()
        glob_genre = np.asarray(genre_matrix.T @ global_popularity).ravel()
        glob_share = glob_genre / max(glob_genre.sum(), 1e-9)
        out: list[Community] = []
        used_names: dict[str, int] = {}
        for c in np.argsort(-sizes, kind="stable"):
            size = int(sizes[c])
            counts = popularity[c]
            share = counts / max(size, 1)
            lift = np.where(
                (counts >= self.config.min_support) & (glob > 0), share / np.maximum(glob, 1e-12), 0
            )
            dist = np.argsort(-lift, kind="stable")[:top]
            dist = dist[lift[dist] > 0]
            fav = np.argsort(-counts, kind="stable")[:top]
            cg = np.asarray(genre_matrix.T @ counts).ravel()
            c_share = cg / max(cg.sum(), 1e-9)
            g_lift = np.where(
                (glob_share > 0.01) & (c_share > 0.02), c_share / np.maximum(glob_share, 1e-12), 0
            )
            g_order = np.argsort(-g_lift, kind="stable")[:3]
            g_top = [(all_genres[i], float(g_lift[i])) for i in g_order if g_lift[i] > 0]
            if names is not None and int(c) in names:
                name = names[int(c)]
            else:
                name = " & ".join(g for g, _ in g_top[:2]) or "Eclectic"
                name += " fans"
                n_seen = used_names.get(name, 0)
                used_names[name] = n_seen + 1
                if n_seen:  # one style however many (roman numerals, then "6", read as two styles)
                    name = f"{name} {n_seen + 1}"
            out.append(
                Community(
                    id=int(c),
                    name=name,
                    size=size,
                    genres=g_top,
                    distinctive=[(str(self.title_ids_[i]), float(lift[i])) for i in dist],
                    favourites=[(str(self.title_ids_[i]), int(counts[i])) for i in fav if counts[i] > 0],
                )
            )
        return out

    def _genre_matrix(self) -> tuple[sp.csr_matrix, list[str]]:
        """Titles x genres (0/1) and the genres' names, made once per set of title genres (the service
        profiles the communities again at each publish of its live counts: this was two thirds of it)."""
        cached = getattr(self, "_genre_cache", None)
        if cached is not None and cached[0] is self.title_genres_:
            return cached[1], cached[2]
        genre_lists = [g.split("|") if g else [] for g in self.title_genres_.tolist()]
        all_genres = sorted({g for gl in genre_lists for g in gl if g and g != "(no genres listed)"})
        g_index = {g: i for i, g in enumerate(all_genres)}
        gm_rows, gm_cols = [], []
        for t, gl in enumerate(genre_lists):
            for g in gl:
                if g in g_index:
                    gm_rows.append(t)
                    gm_cols.append(g_index[g])
        matrix = sp.csr_matrix(
            (np.ones(len(gm_rows), np.float32), (gm_rows, gm_cols)), shape=(len(genre_lists), len(all_genres))
        )
        self._genre_cache = (self.title_genres_, matrix, all_genres)
        return matrix, all_genres

    # ------------------------------------------------------------------ persistence
    def _state(self) -> dict[str, np.ndarray]:
        return {
            "components": self.components_,
            "idf": self.idf_,
            "centroids": self.centroids_,
            "centers": self.centers_,
            "labels": self.labels_,
            "embedding": self.embedding_,
            "community_popularity": self.community_popularity_,
            "global_popularity": self.global_popularity_,
            "title_genres": self.title_genres_.astype(str),
            "k_scores": self.k_scores_,
        }

    def _set_state(self, state: Mapping[str, np.ndarray]) -> None:
        self.components_ = state["components"]
        self.idf_ = state["idf"]
        self.centroids_ = state["centroids"]
        self.labels_ = state["labels"]
        self.embedding_ = state["embedding"]
        if "centers" in state:
            self.centers_ = state["centers"]
        else:  # saved before the centres were kept: k-means' centres are its communities' mean vectors
            k = self.centroids_.shape[0]
            sums = np.zeros((k, self.embedding_.shape[1]), dtype=np.float64)
            np.add.at(sums, self.labels_, self.embedding_)
            counts = np.maximum(np.bincount(self.labels_, minlength=k), 1)[:, None]
            self.centers_ = (sums / counts).astype(np.float32)
        self.community_popularity_ = state["community_popularity"]
        self.global_popularity_ = state["global_popularity"]
        self.title_genres_ = state["title_genres"].astype(str)
        self.k_scores_ = state["k_scores"]


def _community_popularity(binary: sp.csr_matrix, labels: np.ndarray, k: int) -> np.ndarray:
    """``(k, n_titles)`` number of members of each community who interacted with each title."""
    onehot = sp.csr_matrix(
        (np.ones(len(labels), np.float32), (labels, np.arange(len(labels)))), shape=(k, len(labels))
    )
    return np.asarray((onehot @ (binary > 0).astype(np.float32)).todense(), dtype=np.float32)
