"""How events become one confidence weight per (member, title) pair.

Events of a pair are first aggregated:

* ``rating``: the last explicit rating by timestamp (a later rating replaces an earlier one);
* ``thumb``: the last thumb (+1 up, -1 down);
* ``watched``: the sum over plays of the fraction watched, each capped at 1 (a play with no fraction counts
  as ``unknown_fraction``);
* ``completions``: plays with fraction >= ``completion_threshold``;
* ``timestamp``: the latest event.

The weight (engagement strength) is then

.. code-block:: text

    w = play_weight * watched
      + completion_bonus * [completions >= 1]
      + rewatch_bonus * max(0, completions - 1)
      + [rated] * (rating_base + rating_weight * (rating - lo) / (hi - lo))
      + [thumb up] * thumb_weight

and a pair whose last thumb is down gets weight 0 (it is not a positive interaction). ``lo``/``hi`` are
the rating scale (inferred from the data unless given). A pair with only a 5-star rating on a 1-5 scale gets
``1 + 1 = 2``; a half-watched title ``0.5``; a title watched to the end twice ``2 + 0.5 + 0.5 = 3``.
Models that want binary data ignore the weights; implicit ALS uses ``1 + alpha * w`` as its confidence
(Hu, Koren & Volinsky 2008).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ConfidenceConfig", "PairAggregates", "aggregate_events", "aggregate_pairs"]


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


@dataclass(frozen=True)
class PairAggregates:
    """Events aggregated per (member, title) pair, one array entry per pair (see the module docstring)."""

    rating: np.ndarray
    thumb: np.ndarray
    watched: np.ndarray
    completions: np.ndarray
    timestamp: np.ndarray
    weight: np.ndarray


def aggregate_pairs(
    pair: np.ndarray,
    n_pairs: int,
    kind: np.ndarray,
    timestamp: np.ndarray,
    value: np.ndarray,
    fraction: np.ndarray,
    cfg: ConfidenceConfig,
    rating_scale: tuple[float, float],
) -> PairAggregates:
    """The confidence formula on plain arrays: event ``k`` belongs to pair ``pair[k]`` (0..n_pairs-1).

    The one implementation of the rules; :func:`aggregate_events` (tables) and the home page's per-member
    aggregation (a few events, no pandas) both call it.
    """
    ts = np.asarray(timestamp, dtype=np.int64)
    val = np.asarray(value, dtype=np.float64)
    frac = np.asarray(fraction, dtype=np.float64)

    def last_value(mask: np.ndarray) -> np.ndarray:
        out = np.full(n_pairs, np.nan)
        idx = np.flatnonzero(mask & ~np.isnan(val))
        if len(idx):
            # order by (pair, timestamp), stable so that ties keep event order; keep each pair's last
            o = idx[np.lexsort((ts[idx], pair[idx]))]
            p = pair[o]
            last = np.r_[p[1:] != p[:-1], True]
            out[p[last]] = val[o[last]]
        return out

    rating = last_value(kind == "rating")
    thumb = last_value(kind == "thumb")
    is_play = kind == "play"
    f = np.where(np.isnan(frac), cfg.unknown_fraction, np.minimum(frac, 1.0))
    watched = np.bincount(pair, weights=np.where(is_play, f, 0.0), minlength=n_pairs)
    completions = np.bincount(
        pair, weights=(is_play & (f >= cfg.completion_threshold)).astype(np.float64), minlength=n_pairs
    ).astype(np.int64)
    last_ts = np.full(n_pairs, np.iinfo(np.int64).min)
    np.maximum.at(last_ts, pair, ts)

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
    weight = np.where(thumb < 0, 0.0, weight)
    return PairAggregates(rating, thumb, watched, completions, last_ts, weight)


def aggregate_events(
    events: pd.DataFrame, cfg: ConfidenceConfig, rating_scale: tuple[float, float]
) -> pd.DataFrame:
    """One row per (member_id, title_id) with ``rating``, ``thumb``, ``watched``, ``completions``,
    ``timestamp`` and ``weight``; ``events`` must be normalised (see :func:`normalize_events`)."""
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
        }
    )
