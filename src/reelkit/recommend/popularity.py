"""Popularity and Trending: the non-personal baselines (and two home-page rows).

``Popularity`` scores a title by how many members interacted with it (or the sum of their confidence
weights). ``Trending`` decays each interaction exponentially with its age at the reference time (the latest
training event unless given), so a title watched by many this week outranks one watched by many years ago:
``score = sum_k w_k * 2 ** (-(t_ref - t_k) / half_life)``, over the pairs *watched*, each at its latest play
that is not a sample: a thumbs-up or a rating is no viewing (three thumbs made a title nobody had played for
200 days the first). Data with no plays at all (a ratings file such as MovieLens, where a rating stands for a
viewing) counts every pair viewed (not made of sample plays only) at its latest event that is not a sample;
``counts_plays_`` says which.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Literal

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from reelkit.data.confidence import NO_PLAY
from reelkit.data.dataset import Interactions
from reelkit.progress import Progress
from reelkit.recommend.base import ModelConfig, Recommender, register

__all__ = ["Popularity", "Trending"]


class _ItemScores(Recommender):
    """A non-personal model: one score per title (``item_scores_``), the same for every member."""

    personal = False

    def _score(self, rows: np.ndarray, history: sp.csr_matrix, ratings: sp.csr_matrix) -> np.ndarray:
        return np.broadcast_to(self.item_scores_, (len(rows), self.item_scores_.shape[0]))

    def _state(self) -> dict[str, np.ndarray]:
        return {"item_scores": self.item_scores_}

    def _set_state(self, state: Mapping[str, np.ndarray]) -> None:
        self.item_scores_: np.ndarray = np.asarray(state["item_scores"], dtype=np.float32)


class PopularityConfig(ModelConfig):
    weighting: Literal["count", "weight"] = "count"


@register
class Popularity(_ItemScores):
    """Most-popular titles: the same list for everyone (minus what each member has seen)."""

    name = "popular"
    kind = "top-n"
    Config = PopularityConfig
    config: PopularityConfig

    def _fit(self, data: Interactions, progress: Progress) -> None:
        vals = np.ones(data.nnz) if self.config.weighting == "count" else data.weight.astype(np.float64)
        self.item_scores_ = np.bincount(data.cols, weights=vals, minlength=data.n_titles).astype(np.float32)


#: How many half-lives of age :class:`Trending` counts; older activity weighs ``2**-MAX_HALF_LIVES`` (far
#: above float32's smallest number, so no title's score underflows to 0).
MAX_HALF_LIVES = 100.0


class TrendingConfig(ModelConfig):
    half_life_days: float = Field(7.0, gt=0)
    #: Reference time (unix seconds); by default the latest interaction's time (``Interactions.timestamp``).
    now: int | None = Field(None, ge=0, le=2**62)  # int64 arithmetic with the event times
    weighting: Literal["count", "weight"] = "count"
    #: With ``weighting="count"``, a member counts for a title only from this confidence weight on. Pairs
    #: made of sample plays only (previews; :func:`~reelkit.data.confidence.sample_plays`) never count.
    min_weight: float = Field(0.0, ge=0)


@register
class Trending(_ItemScores):
    """Time-decayed popularity: what is being watched now."""

    name = "trending"
    kind = "top-n"
    Config = TrendingConfig
    config: TrendingConfig

    def _fit(self, data: Interactions, progress: Progress) -> None:
        # the data's latest event, but never past the wall clock: one event dated years ahead made every
        # real view look years old and emptied the list
        t_ref = (
            self.config.now
            if self.config.now is not None
            else min(int(data.timestamp.max()), int(time.time()))
        )
        # a thumb or a rating is no viewing where the data has plays: each pair counts at its last play
        # (three thumbs-up made a title nobody had played for 200 days the first); with none at all (a
        # ratings file), ratings stand for viewings and each pair counts at its latest event
        plays = data.play_timestamp
        viewed = data.viewed()
        self.reference_time_ = t_ref
        #: Whether plays were counted (else every event: the data has no plays).
        self.counts_plays_: bool = plays is not None and bool(((plays != NO_PLAY) & viewed).any())
        vals = self.pair_values(
            data.weight, ~viewed, plays if plays is not None else None, data.timestamp, clamp=True
        )
        self.item_scores_ = np.bincount(data.cols, weights=vals, minlength=data.n_titles).astype(np.float32)

    def pair_values(
        self,
        weight: np.ndarray,
        sample_only: np.ndarray,
        play_timestamp: np.ndarray | None,
        timestamp: np.ndarray,
        *,
        clamp: bool = False,
    ) -> np.ndarray:
        """What each (member, title) pair adds to its title's score, on the scale of ``item_scores_``
        (weights at :attr:`reference_time_`): the rule of the module docstring, one value per pair.

        A pair counts when it weighs something (``weight > 0``, ``>= min_weight`` when counting) and is not
        made of sample plays only (a preview is not a viewing), at its latest play that is not a sample
        (``play_timestamp``; a pair with none counts nothing where plays are counted) or else its latest
        event. ``clamp``: activity after the reference time counts as at it (as fitting does); without,
        it counts more (``2 ** (age / half_life)``), which keeps a later event's weight right when counts
        are kept up to date after fitting (the home page's live rows); the values are then long doubles
        (80-bit on x86: 2^16000 for a play 300 years of 7-day half-lives past the reference time, where a
        float64 stops at 2^1023, 19 years: a service trained on 1998 ratings and played in 2026)."""
        weight = np.asarray(weight, dtype=np.float64)
        viewed = ~np.asarray(sample_only, dtype=bool) & (weight > 0)
        if self.counts_plays_ and play_timestamp is not None:
            played = np.asarray(play_timestamp, dtype=np.int64) != NO_PLAY
            viewed = viewed & played
            when = np.where(played, play_timestamp, self.reference_time_)
        else:
            when = np.asarray(timestamp, dtype=np.int64)
        age_days = (self.reference_time_ - when).astype(np.float64) / 86400.0
        if clamp:
            age_days = np.maximum(age_days, 0.0)
        # activity older than MAX_HALF_LIVES counts at the floor weight: one live play in 2026 made every
        # 1998 view decay to 0 (2^-1460) and the trending row vanished; now the old titles still rank, by
        # their count, below anything recent
        exponent = np.maximum(-age_days / self.config.half_life_days, -MAX_HALF_LIVES)
        decay = np.exp2(exponent) if clamp else np.exp2(np.minimum(exponent, 16000.0).astype(np.longdouble))
        if self.config.weighting == "count":
            return np.where(viewed & (weight >= self.config.min_weight), decay, 0.0)
        return np.where(viewed, decay * weight, 0.0)

    def _state(self) -> dict[str, np.ndarray]:
        return {
            **super()._state(),
            "reference_time": np.asarray(self.reference_time_),
            "counts_plays": np.asarray(self.counts_plays_),
        }

    def _set_state(self, state: Mapping[str, np.ndarray]) -> None:
        super()._set_state(state)
        self.reference_time_ = int(state["reference_time"])
        # a file saved before this was kept counted every event, as plays were named then
        self.counts_plays_ = bool(state["counts_plays"]) if "counts_plays" in state else True
