"""Train/test splits of a :class:`~reelkit.data.Dataset`.

Every split works on (member, title) *pairs*: all events of one pair (a rating, its plays, a thumb) go to the
same side, so a model is never trained on half of a pair it is then asked to find. Each function returns
``(train, test)`` as two datasets sharing the original catalog and members (:meth:`Dataset.with_events`).

* :func:`split_random` — per-member random holdout of a fraction of each member's titles;
* :func:`split_last` — per-member leave-last-out by time (the ``n`` most recent titles);
* :func:`split_time` — one global time cut (a timestamp, or a quantile of the event times).

Given train/test files (MovieLens ``u1.base``/``u1.test``) need no split: load them as two datasets.
Pairs are identified by sorted ids, so results depend only on the events and the seed, not on row order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from reelkit.data.dataset import Dataset
from reelkit.errors import ConfigError, EmptyDataError

__all__ = ["split_last", "split_random", "split_time"]


@dataclass(frozen=True)
class _Pairs:
    """The distinct (member, title) pairs of an events table, sorted by (member id, title id)."""

    event_pair: np.ndarray  # (n_events,) pair index of each event
    member: np.ndarray  # (n_pairs,) member code, non-decreasing
    title: np.ndarray  # (n_pairs,) title code
    n_members: int

    @property
    def n_pairs(self) -> int:
        return int(self.member.shape[0])

    def counts(self) -> np.ndarray:
        """Number of distinct titles of each member (by member code)."""
        return np.bincount(self.member, minlength=self.n_members)

    def rank_within_member(self, order: np.ndarray) -> np.ndarray:
        """0-based rank of each pair within its member when pairs are visited in ``order``.

        ``order`` must keep members contiguous and in ascending code order (a lexsort with the member code
        as the primary key)."""
        counts = self.counts()
        starts = np.cumsum(counts) - counts
        rank = np.empty(self.n_pairs, dtype=np.int64)
        rank[order] = np.arange(self.n_pairs) - starts[self.member[order]]
        return rank


def _pairs(events: pd.DataFrame) -> _Pairs:
    m_codes, m_ids = pd.factorize(events["member_id"], sort=True)
    t_codes, t_ids = pd.factorize(events["title_id"], sort=True)
    n_t = max(len(t_ids), 1)
    key = np.asarray(m_codes, dtype=np.int64) * n_t + np.asarray(t_codes, dtype=np.int64)
    uniq, inv = np.unique(key, return_inverse=True)
    return _Pairs(event_pair=inv.ravel(), member=uniq // n_t, title=uniq % n_t, n_members=len(m_ids))


def _pair_timestamps(events: pd.DataFrame, pairs: _Pairs, how: str) -> np.ndarray:
    ts = events["timestamp"].to_numpy(np.int64)
    if how == "first":
        out = np.full(pairs.n_pairs, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(out, pairs.event_pair, ts)
    else:
        out = np.full(pairs.n_pairs, np.iinfo(np.int64).min, dtype=np.int64)
        np.maximum.at(out, pairs.event_pair, ts)
    return out


def _check_events(ds: Dataset, what: str) -> None:
    if ds.n_events == 0:
        raise EmptyDataError(f"{what}: the dataset has no events to split")


def _finish(
    ds: Dataset,
    pairs: _Pairs,
    test_pair: np.ndarray,
    what: str,
    hint: str,
    drop: np.ndarray | None = None,
) -> tuple[Dataset, Dataset]:
    """Events of test pairs to test, the rest to train (less the events ``drop`` marks, when given)."""
    test_event = test_pair[pairs.event_pair]
    n_test = int(test_event.sum())
    if n_test == 0 or n_test == len(test_event):
        side = "test" if n_test == 0 else "training"
        raise EmptyDataError(f"{what}: the {side} side would be empty; {hint}")
    ev = ds.events
    train_event = ~test_event if drop is None else ~test_event & ~drop
    return ds.with_events(ev.loc[train_event]), ds.with_events(ev.loc[test_event])


def split_random(ds: Dataset, test_fraction: float = 0.2, seed: int = 0) -> tuple[Dataset, Dataset]:
    """Per-member random holdout: ``round(test_fraction * c)`` of each member's ``c`` titles go to test.

    Rounding is half-up, and at most ``c - 1`` titles are held out, so every member keeps at least one
    title in train (a member with a single title keeps it). Vectorised: each pair draws a uniform key from
    ``numpy.random.default_rng(seed)`` (in sorted pair order), pairs are ranked by key within their member,
    and the lowest-ranked ones are held out. Deterministic by ``seed``.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"test_fraction must be in (0, 1), got {test_fraction}")
    _check_events(ds, "split_random")
    pairs = _pairs(ds.events)
    keys = np.random.default_rng(seed).random(pairs.n_pairs)
    rank = pairs.rank_within_member(np.lexsort((keys, pairs.member)))
    counts = pairs.counts()
    n_test = np.minimum(np.floor(test_fraction * counts + 0.5 + 1e-9).astype(np.int64), counts - 1)
    test_pair = rank < n_test[pairs.member]
    # round-half-up holds one of c titles out when test_fraction * c >= 0.5 (and c >= 2)
    need = max(2, math.ceil(0.5 / test_fraction - 1e-9))
    most = int(counts.max()) if len(counts) else 0
    hint = f"at test_fraction {test_fraction:g} a member needs at least {need} titles for one to be held out"
    hint += (
        f" (the most any member has is {most}); use test_fraction {math.ceil(500 / most) / 1000:g} or more"
        if 2 <= most < need
        else " (no member has two)"
        if most < 2
        else ""
    )
    return _finish(ds, pairs, test_pair, "split_random", hint)


def _require_times(ds: Dataset, name: str) -> None:
    """A split by time needs events at more than one time: a file without a timestamp column reads as all
    0, where "the most recent title" would silently be the largest title id."""
    ts = ds.events["timestamp"].to_numpy(np.int64)
    if len(ts) and ts.min() == ts.max():
        raise ConfigError(
            f"{name}: every event has the same time ({int(ts[0])}), so the data carry no order in time; "
            "use a random split (--split random) or give the file a timestamp column"
        )


def split_last(ds: Dataset, n: int = 1) -> tuple[Dataset, Dataset]:
    """Per-member leave-last-out: each member's ``n`` most recent titles go to test.

    A title's time is its latest event. Ties are broken by title id as text (the id later in string
    order counts as more recent: "9" after "10"), so the split does not depend on row order. At most
    ``c - 1`` of a member's ``c`` titles are held out: every member keeps at least one title in train.
    """
    if n < 1:
        raise ConfigError(f"n must be at least 1, got {n}")
    _check_events(ds, "split_last")
    _require_times(ds, "split_last")
    pairs = _pairs(ds.events)
    last_ts = _pair_timestamps(ds.events, pairs, "last")
    rank = pairs.rank_within_member(np.lexsort((pairs.title, last_ts, pairs.member)))
    counts = pairs.counts()
    from_end = counts[pairs.member] - 1 - rank
    test_pair = from_end < np.minimum(n, counts - 1)[pairs.member]
    return _finish(ds, pairs, test_pair, "split_last", "every member has a single title")


def split_time(ds: Dataset, cut: float) -> tuple[Dataset, Dataset]:
    """Global time cut: pairs that begin at or after the cut go to test, earlier ones to train.

    ``cut`` is a unix timestamp (``>= 1``) or, when in ``(0, 1)``, a quantile of the event timestamps (linear
    interpolation; ``0.8`` puts roughly the last 20% of events' pairs in test). A pair's time is its *first*
    event: a title a member began before the cut was already known at that time, so it is not a future
    discovery and stays in train. Its own events after the cut (e.g. a rewatch) are dropped, not kept: the
    training side holds nothing from after the cut, so no model sees the future (a trending model's clock,
    a recency weight).
    """
    if not cut > 0:
        raise ConfigError(f"cut must be a timestamp (>= 1) or a quantile in (0, 1), got {cut}")
    _check_events(ds, "split_time")
    _require_times(ds, "split_time")
    ts = ds.events["timestamp"].to_numpy(np.int64)
    threshold = float(np.quantile(ts, cut)) if cut < 1 else float(cut)
    pairs = _pairs(ds.events)
    first_ts = _pair_timestamps(ds.events, pairs, "first")
    test_pair = first_ts >= threshold
    hint = f"the cut {threshold:.0f} is outside the event times [{ts.min()}, {ts.max()}]; choose one inside"
    return _finish(ds, pairs, test_pair, "split_time", hint, drop=ts >= threshold)
