"""How events become one confidence weight per (member, title) pair.

Events of a pair are first aggregated:

* ``rating``: the last explicit rating by timestamp (a later rating replaces an earlier one);
* ``thumb``: the last thumb (+1 up, -1 down);
* ``watched``: plays are split into *viewings*: in time order (ties in event order), a play that reached
  further into the title than the play before continues that viewing, any other (a restart, a rewatch)
  starts a new one. A play's fraction is the position it reached, as the service records plays, so the
  progress reports of one viewing count once. ``watched`` is the sum over viewings of the furthest
  fraction each reached, capped at 1 (a play with no fraction counts as ``unknown_fraction``);
* ``completions``: viewings that reached ``completion_threshold``;
* ``timestamp``: the latest event that is not a sample play (the latest sample when there is nothing else);
* ``play_timestamp``: the latest play that is not a sample (:data:`NO_PLAY` when there is none: a pair of
  ratings or thumbs only), the time a title was last *watched* (Trending decays by it);
* ``sample_only``: whether every event of the pair is a sample play.

A *sample* play (:func:`sample_plays`: an autoplay preview, a misclick) is too short to be a viewing: it
moves no pair's time and is no part of any viewing, except in a pair made only of samples, a weak
interaction that popularity (Trending, taste communities) does not count as watched.

The weight (engagement strength) is then

.. code-block:: text

    w = play_weight * watched
      + completion_bonus * [completions >= 1]
      + rewatch_bonus * max(0, completions - 1)
      + [rated] * (rating_base + rating_weight * (rating - lo) / (hi - lo))
      + [thumb up] * thumb_weight

and a pair whose last thumb is down gets weight 0 (it is not a positive interaction). With
``low_rating="dislike"`` so does a pair whose last rating lies in the lower half of the scale (a 1-star
rating is a dislike, however far the title was watched; the home page's setting, which found the titles
members rated 4+ better on MovieLens, benchmarks/RESULTS.md section 1). Where a pair has both, the later
says what the member thinks now: a thumbs-down followed by a rating not in the lower half no longer
counts, nor does a low rating followed by a thumb up. The default, ``"positive"``, counts
every rating as an interaction, as the field's offline protocol and its peer libraries do. ``lo``/``hi`` are
the rating scale (inferred from the data unless given). A pair with only a 5-star rating on a 1-5 scale gets
``1 + 1 = 2``; a half-watched title ``0.5``; a title watched to the end in three sittings (plays to 0.3,
0.6 and 1.0) ``1 + 0.5 = 1.5``; a title watched to the end twice ``2 + 0.5 + 0.5 = 3``.
Models that want binary data ignore the weights; implicit ALS uses ``1 + alpha * w`` as its confidence
(Hu, Koren & Volinsky 2008).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "NO_PLAY",
    "SAMPLE_FRACTION",
    "SAMPLE_SECONDS",
    "ConfidenceConfig",
    "PairAggregates",
    "aggregate_events",
    "aggregate_pairs",
    "rated_low",
    "rated_low_now",
    "rated_under",
    "sample_plays",
    "thumb_down",
    "usual_scale",
    "usual_top",
]

#: A play is a sample, not a viewing, under this fraction of the title ...
SAMPLE_FRACTION = 0.02
#: ... or under this many seconds while also under a tenth of the title (30 s of a 22-minute episode is a
#: sample; 100 s of a 200-second title is half of it).
SAMPLE_SECONDS = 120.0
#: ``play_timestamp`` of a pair with no play that is not a sample.
NO_PLAY = int(np.iinfo(np.int64).min)


def sample_plays(
    kind: np.ndarray,
    seconds: np.ndarray,
    fraction: np.ndarray,
    *,
    max_fraction: float = SAMPLE_FRACTION,
    max_seconds: float = SAMPLE_SECONDS,
) -> np.ndarray:
    """Which events are sample plays: plays under ``max_fraction`` of the title, or under ``max_seconds``
    and a tenth of it. A play of unknown fraction is not a sample. The one definition, for training and
    the home page alike."""
    f = np.asarray(fraction, dtype=np.float64)
    sec = np.asarray(seconds, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        short = (f < max_fraction) | ((sec < max_seconds) & (f < 0.1))
    return np.asarray((np.asarray(kind) == "play") & np.isfinite(f) & short, dtype=bool)


class ConfidenceConfig(BaseModel):
    """Coefficients of the confidence formula (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    play_weight: float = Field(1.0, ge=0)
    completion_threshold: float = Field(0.9, gt=0, le=1)
    completion_bonus: float = Field(0.5, ge=0)
    rewatch_bonus: float = Field(0.5, ge=0)
    unknown_fraction: float = Field(0.5, ge=0, le=1)
    rating_base: float = Field(1.0, ge=0)
    rating_weight: float = Field(1.0, ge=0)
    thumb_weight: float = Field(1.5, ge=0)
    #: A rating in the lower half of the scale: an interaction like any (``positive``) or, like a
    #: thumbs-down, weight 0 (``dislike``).
    low_rating: Literal["positive", "dislike"] = "positive"


def usual_top(highest: float) -> float:
    """The top of the usual rating scale that holds ``highest``: 1, 5 or 10 (10 past it too)."""
    return 1.0 if highest <= 1.0 else 5.0 if highest <= 5.0 else 10.0


def usual_scale(ratings: npt.ArrayLike) -> tuple[float, float]:
    """The usual rating scale that holds ``ratings``: from 0 to 1, 5 or 10, the first that holds the
    highest, widened to their own range (the service's, where 2.5 of ratings from 0.5 to 5 is not low; their
    range alone, 0.5-5, makes it a dislike, and a 4 of ratings that are all 4s and 5s). 0-10 with none."""
    r = np.asarray(ratings, dtype=np.float64)
    r = r[~np.isnan(r)]
    if not len(r):
        return 0.0, 10.0
    top = float(r.max())
    return min(0.0, float(r.min())), max(usual_top(top), top)


def rated_low(ratings: npt.ArrayLike, scale: tuple[float, float]) -> np.ndarray:
    """Which ``ratings`` lie in the lower half of ``scale`` (``(lo, hi)``): titles not liked, however far they
    were watched, which name no "because you watched" reason (NaN, no rating, is not low)."""
    lo, hi = scale
    r = np.asarray(ratings, dtype=np.float64)
    return np.asarray(np.nan_to_num((r - lo) / (hi - lo if hi > lo else 1.0), nan=1.0) < 0.5, dtype=bool)


@dataclass(frozen=True)
class PairAggregates:
    """Events aggregated per (member, title) pair, one array entry per pair (see the module docstring)."""

    rating: np.ndarray
    thumb: np.ndarray
    watched: np.ndarray
    completions: np.ndarray
    timestamp: np.ndarray
    weight: np.ndarray
    sample_only: np.ndarray
    play_timestamp: np.ndarray
    #: The pair's last thumb came after its last rating (True for a thumb without a rating): the later of
    #: the two is what the member thinks now (see :func:`thumb_down` and :func:`rated_low_now`).
    thumb_last: np.ndarray


def aggregate_pairs(
    pair: np.ndarray,
    n_pairs: int,
    kind: np.ndarray,
    timestamp: np.ndarray,
    value: np.ndarray,
    fraction: np.ndarray,
    cfg: ConfidenceConfig,
    rating_scale: tuple[float, float],
    sample: np.ndarray | None = None,
) -> PairAggregates:
    """The confidence formula on plain arrays: event ``k`` belongs to pair ``pair[k]`` (0..n_pairs-1).

    The one implementation of the rules; :func:`aggregate_events` (tables) and the home page's per-member
    aggregation (a few events, no pandas) both call it. ``sample``: which events are sample plays (by
    default :func:`sample_plays` with its default thresholds).
    """
    ts = np.asarray(timestamp, dtype=np.int64)
    val = np.asarray(value, dtype=np.float64)
    frac = np.asarray(fraction, dtype=np.float64)
    is_sample = sample_plays(kind, val, frac) if sample is None else np.asarray(sample, dtype=bool)

    def last_value(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each pair's last value among ``mask``'s events, and that event's place in time (-1: none)."""
        out = np.full(n_pairs, np.nan)
        when = np.full(n_pairs, -1, dtype=np.int64)
        idx = np.flatnonzero(mask & ~np.isnan(val))
        if len(idx):
            # order by (pair, timestamp), stable so that ties keep event order; keep each pair's last
            o = idx[np.lexsort((ts[idx], pair[idx]))]
            p = pair[o]
            last = np.r_[p[1:] != p[:-1], True]
            out[p[last]] = val[o[last]]
            when[p[last]] = place[o[last]]
        return out, when

    # every event's place in time (ties in event order), to tell which of a rating and a thumb came last
    place = np.empty(len(ts), dtype=np.int64)
    place[np.argsort(ts, kind="stable")] = np.arange(len(ts))
    rating, rating_at = last_value(kind == "rating")
    thumb, thumb_at = last_value(kind == "thumb")
    thumb_last = thumb_at > rating_at
    # a preview today does not make a title watched 60 days ago recent: a pair's time is its latest event
    # that is not a sample (a pair of samples only: its latest sample)
    sample_only = np.bincount(pair, weights=(~is_sample).astype(np.float64), minlength=n_pairs) == 0
    f = np.where(np.isnan(frac), cfg.unknown_fraction, np.minimum(frac, 1.0))
    watched, completions = _viewings(
        pair, n_pairs, ts, f, (kind == "play") & (~is_sample | sample_only[pair]), cfg.completion_threshold
    )
    last_ts = np.full(n_pairs, np.iinfo(np.int64).min)
    np.maximum.at(last_ts, pair[~is_sample], ts[~is_sample])
    if sample_only.any():
        last_any = np.full(n_pairs, np.iinfo(np.int64).min)
        np.maximum.at(last_any, pair, ts)
        last_ts = np.where(sample_only, last_any, last_ts)
    # a thumb or a rating is no viewing: the time a title was last watched is its latest play alone
    played = (kind == "play") & ~is_sample
    last_play = np.full(n_pairs, NO_PLAY, dtype=np.int64)
    np.maximum.at(last_play, pair[played], ts[played])

    lo, hi = rating_scale
    span = hi - lo if hi > lo else 1.0
    rnorm = np.clip((rating - lo) / span, 0.0, 1.0)
    weight = (
        cfg.play_weight * watched
        + cfg.completion_bonus * (completions >= 1)
        + cfg.rewatch_bonus * np.maximum(0.0, completions - 1)
        + np.where(np.isnan(rating), 0.0, cfg.rating_base + cfg.rating_weight * np.nan_to_num(rnorm))
        + np.where(thumb > 0, cfg.thumb_weight, 0.0)
    )
    # the later of a pair's thumb and rating says what the member thinks of the title now: a thumbs-down
    # followed by a rating not in the lower half of the scale is forgiven, a low rating followed by a thumb
    # up is no dislike (the signals themselves stay, as data)
    low = rated_low(rating, rating_scale)
    weight = np.where(thumb_down(thumb, low, thumb_last), 0.0, weight)
    if cfg.low_rating == "dislike":
        weight = np.where(rated_low_now(thumb, low, thumb_last), 0.0, weight)
    return PairAggregates(
        rating, thumb, watched, completions, last_ts, weight, sample_only, last_play, thumb_last
    )


def thumb_down(thumb: np.ndarray, low: np.ndarray, thumb_last: np.ndarray) -> np.ndarray:
    """Pairs whose thumbs-down stands: not followed by a rating outside the lower half of the scale (``low``:
    :func:`rated_low` of the pair's last rating; ``thumb_last``: :attr:`PairAggregates.thumb_last`)."""
    return np.asarray((thumb < 0) & (thumb_last | low), dtype=bool)


def rated_under(
    rating: np.ndarray, thumb: np.ndarray, thumb_last: np.ndarray, min_rating: float
) -> np.ndarray:
    """Pairs whose rating under ``min_rating`` stands (not followed by a thumb up): what ``min_rating``
    (``--min-rating``) leaves out; a pair without a rating is never under it."""
    r = np.asarray(rating, dtype=np.float64)
    return np.asarray(np.nan_to_num(r, nan=np.inf) < min_rating, dtype=bool) & ~(thumb_last & (thumb > 0))


def rated_low_now(thumb: np.ndarray, low: np.ndarray, thumb_last: np.ndarray) -> np.ndarray:
    """Pairs whose low rating stands: not followed by a thumb up (arguments as :func:`thumb_down`'s)."""
    return np.asarray(low & ~(thumb_last & (thumb > 0)), dtype=bool)


def _viewings(
    pair: np.ndarray, n_pairs: int, ts: np.ndarray, f: np.ndarray, counted: np.ndarray, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """``watched`` and ``completions`` per pair from the ``counted`` plays' fractions ``f`` (see the module
    docstring): 32 progress reports of one viewing weighed 9.87, a rewatch 3."""
    idx = np.flatnonzero(counted)
    if len(idx) == 0:
        return np.zeros(n_pairs), np.zeros(n_pairs, dtype=np.int64)
    o = idx[np.lexsort((ts[idx], pair[idx]))]  # by (pair, time); stable, so ties keep event order
    p, fo = pair[o], f[o]
    # a viewing starts at a pair's first play and at every play that reached no further than the one before
    starts = np.flatnonzero(np.r_[True, (p[1:] != p[:-1]) | (fo[1:] <= fo[:-1])])
    furthest = np.maximum.reduceat(fo, starts)
    watched = np.bincount(p[starts], weights=furthest, minlength=n_pairs)
    done = (furthest >= threshold).astype(np.float64)
    completions = np.bincount(p[starts], weights=done, minlength=n_pairs).astype(np.int64)
    return watched, completions


def aggregate_events(
    events: pd.DataFrame,
    cfg: ConfidenceConfig,
    rating_scale: tuple[float, float],
    *,
    sample_fraction: float = SAMPLE_FRACTION,
    sample_seconds: float = SAMPLE_SECONDS,
) -> pd.DataFrame:
    """One row per (member_id, title_id) with ``rating``, ``thumb``, ``watched``, ``completions``,
    ``timestamp``, ``weight``, ``sample_only``, ``play_timestamp`` and ``thumb_last``; ``events`` must be
    normalised (see :func:`normalize_events`). Sample plays are those of :func:`sample_plays` with the given
    thresholds (a service's home page settings, so that training and the page weigh a history alike)."""
    ev = events
    key_m, members = pd.factorize(ev["member_id"])
    key_t, titles = pd.factorize(ev["title_id"])
    n_t = max(len(titles), 1)
    key = key_m.astype(np.int64) * n_t + key_t
    uniq, inv = np.unique(key, return_inverse=True)
    agg = aggregate_pairs(
        inv.ravel(),
        len(uniq),
        ev["kind"].to_numpy(),
        ev["timestamp"].to_numpy(np.int64),
        ev["value"].to_numpy(np.float64),
        ev["fraction"].to_numpy(np.float64),
        cfg,
        rating_scale,
        sample_plays(
            ev["kind"].to_numpy(),
            ev["value"].to_numpy(np.float64),
            ev["fraction"].to_numpy(np.float64),
            max_fraction=sample_fraction,
            max_seconds=sample_seconds,
        ),
    )
    return pd.DataFrame(
        {
            "member_id": np.asarray(members)[uniq // n_t],
            "title_id": np.asarray(titles)[uniq % n_t],
            "rating": agg.rating,
            "thumb": agg.thumb,
            "watched": agg.watched,
            "completions": agg.completions,
            "timestamp": agg.timestamp,
            "weight": agg.weight,
            "sample_only": agg.sample_only,
            "play_timestamp": agg.play_timestamp,
            "thumb_last": agg.thumb_last,
        }
    )
