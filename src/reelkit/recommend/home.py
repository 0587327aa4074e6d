"""The personal home page: ordered rows of titles, each row and each title with its reason.

:class:`HomeBuilder` turns a member's event history into a :class:`HomePage`, using four fitted models
trained on the same interactions (:class:`HomeModels`). The member is always described by their full history
(fold-in through :meth:`Recommender.score_rows` with row ``-1``), so a known member with fresh events and a
brand-new member are handled alike and no refit is needed.

Rows
----
``continue-watching``
    Titles whose last play stopped between ``continue_min_fraction`` and the completion threshold of the
    confidence formula (not thumbed down, nor rated low where the formula's ``low_rating`` is
    ``"dislike"``), most recent play first. The reason is the progress.
``top-picks``
    The personal model's best titles (fold-in scores), unseen titles only.
``because-you-watched``
    For each of the member's ``because_rows`` most recent *strongly engaged* titles (a completed play, a
    thumb up, or a rating in the top quarter of the rating scale), that title's nearest neighbours by item
    similarity (the :class:`~reelkit.recommend.itemknn.ItemKNN` top-k list, most similar first), but for
    other catalog entries of the same film (the anchor's name and year under another id).
``trending``
    Time-decayed popularity (:class:`~reelkit.recommend.popularity.Trending`: plays, or ratings in data
    without plays), unseen titles only.
``community``
    The most watched titles within the member's taste community
    (:class:`~reelkit.recommend.communities.CommunityPopularity`): a known member's trained community, a
    new member's by projection (the nearest k-means centre).
``new-releases``
    The ``new_release_pool`` most recently released catalog titles (``released``, else 1 January of
    ``year``) within ``new_release_days`` of the newest release (the newest with ``min_row_titles`` releases
    in the ``new_release_days`` before it: a lone premiere long after the rest of the catalog does not
    empty the row): the first :data:`NEW_RELEASE_NEWEST` slots
    go to the newest of them the member may be shown (newest first: a title out yesterday has no plays to
    rank it by), the rest are ranked by the personal model. A catalog title added after training, which
    the models do not know, takes those first slots by its date as well (nothing else can rank it).

The member's own events (Continue Watching, Because You Watched, Top Picks' fold-in, and which titles are
left out as seen) show on their next page. Trending and community popularity are as of the last training
unless kept up to date: :meth:`HomeBuilder.count_member` counts a member's latest history into them by the
rules the models were trained with, and :meth:`HomeBuilder.publish_popularity` makes the counts the pages
read (the service does both for the events stored since). One exception: whether Trending counts plays or, in
data without any play (a ratings file), every event is fixed at training (``Trending.counts_plays_``): the
first plays stored into a ratings-only service are counted with its ratings until a retrain, which then
counts the plays only.

Every row skips titles the member has any event for (except Continue Watching, which is made of them), but for
titles only sampled (plays too short to count as a start).

Dedupe and dropped rows
    Rows are filled in a fixed priority order: Continue Watching, Top Picks, Because You Watched (most
    recent anchor first), New Releases, Popular in Your Taste Community, Trending Now. A title taken by an
    earlier row is skipped by later ones, so a title appears at most once per page. A row with fewer than
    ``min_row_titles`` titles (``min_continue_titles`` for Continue Watching) is dropped and gives its
    titles back to the rows after it.

Row order (expected engagement)
    A row's expected engagement is the mean, over its titles, of the title's *personal percentile*: the
    fraction of catalog titles that the member's personal-model fold-in scores below it (0 = least likely
    to be watched, 1 = most). Percentiles make the scores of any model comparable across rows. Rows are
    shown by decreasing expected engagement (ties in priority order), except that Continue Watching, when
    present, is pinned first with engagement 1: titles a member started are the ones they most often play
    next. A member with no history is scored by global popularity instead of the personal model.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from reelkit.data.confidence import (
    SAMPLE_FRACTION,
    SAMPLE_SECONDS,
    ConfidenceConfig,
    aggregate_pairs,
    rated_low,
    rated_low_now,
    sample_plays,
    thumb_down,
)
from reelkit.errors import ConfigError, UnknownIdError
from reelkit.recommend.base import Recommender
from reelkit.recommend.communities import Community, CommunityPopularity
from reelkit.recommend.itemknn import ItemKNN
from reelkit.recommend.popularity import MAX_HALF_LIVES, Trending

__all__ = [
    "NEW_RELEASE_NEWEST",
    "ROW_KINDS",
    "HomeBuilder",
    "HomeConfig",
    "HomeModels",
    "HomePage",
    "HomeRow",
    "HomeTitle",
    "LatestPlay",
    "MemberAggregate",
    "MemberHistory",
    "RowKind",
    "TitleCommunity",
    "aggregate_member",
    "resume_points",
]

RowKind = Literal[
    "continue-watching", "top-picks", "because-you-watched", "trending", "community", "new-releases"
]
ROW_KINDS: tuple[RowKind, ...] = (
    "continue-watching",
    "top-picks",
    "because-you-watched",
    "trending",
    "community",
    "new-releases",
)
#: How many candidates each row looks at beyond its size (so that dedupe rarely empties it).
_POOL = 200
#: New Releases' first slots go to this many of the newest titles the member may be shown, newest first: a
#: title released yesterday has no plays yet, so the personal score alone ranked it below every older one.
NEW_RELEASE_NEWEST = 3
#: Trending and community popularity counted when the models were trained (not kept live): the rows say so.
_AS_OF_TRAINING = " (up to the last model update)"


class HomeConfig(BaseModel):
    """How the home page is built (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: Titles per row at most.
    row_size: int = Field(10, ge=1, le=100)
    #: Rows with fewer titles are dropped.
    min_row_titles: int = Field(3, ge=1, le=100)
    #: Continue Watching is kept from this many titles.
    min_continue_titles: int = Field(1, ge=1, le=100)
    #: How many "Because You Watched" rows (the member's most recent strongly engaged titles).
    because_rows: int = Field(3, ge=0, le=3)
    #: A rating counts as strong engagement from this normalised value (0 = lowest, 1 = highest rating).
    strong_rating: float = Field(0.75, ge=0, le=1)
    #: A play counts as started (for Continue Watching) from this fraction ...
    continue_min_fraction: float = Field(SAMPLE_FRACTION, ge=0, lt=1)
    #: ... and this many seconds in (or a tenth of the title, for short ones), when its position is known:
    #: 30 s of a 22-minute episode is a sample, not a start (the rule of
    #: :func:`~reelkit.data.confidence.sample_plays`; the service trains with these thresholds too)
    continue_min_seconds: float = Field(SAMPLE_SECONDS, ge=0, allow_inf_nan=False)
    #: New releases: titles released within this many days of the newest release in the catalog ...
    new_release_days: int = Field(365, ge=1)
    #: ... at most this many of the newest.
    new_release_pool: int = Field(200, ge=1)
    #: The confidence formula that turns the member's events into weights (the service trains with it too).
    #: A low rating is a dislike here (weight 0, as a thumbs-down) unless ``low_rating`` says otherwise.
    confidence: ConfidenceConfig = ConfidenceConfig(low_rating="dislike")

    @field_validator("confidence", mode="before")
    @classmethod
    def _dislike_unless_said(cls, value: object) -> object:
        # a partial formula ({"play_weight": 2}, or ConfidenceConfig(play_weight=2)) keeps the page's own
        # default, not the library's
        if isinstance(value, dict) and "low_rating" not in value:
            return {**value, "low_rating": "dislike"}
        if isinstance(value, ConfidenceConfig) and "low_rating" not in value.model_fields_set:
            return value.model_copy(update={"low_rating": "dislike"})
        return value

    @model_validator(mode="after")
    def _rows_can_fill(self) -> HomeConfig:
        # a row needing more titles than it may hold is always dropped: the page would be empty
        for name in ("min_row_titles", "min_continue_titles"):
            if getattr(self, name) > self.row_size:
                raise ValueError(f"{name} ({getattr(self, name)}) is above row_size ({self.row_size})")
        return self


@dataclass(frozen=True)
class MemberHistory:
    """A member's events in store order (oldest first), as parallel arrays.

    ``kinds`` are ``play``/``rating``/``thumb``; ``values`` are the rating, +1/-1, or the position a play
    reached (seconds); ``fractions`` that position over the title's length (NaN when unknown or not a
    play); ``seqs`` the store's sequence numbers (0 when the history did not come from a store).
    """

    title_ids: np.ndarray
    kinds: np.ndarray
    timestamps: np.ndarray
    values: np.ndarray
    fractions: np.ndarray
    seqs: np.ndarray

    def __len__(self) -> int:
        return int(self.title_ids.shape[0])

    @classmethod
    def empty(cls) -> MemberHistory:
        return cls(
            title_ids=np.zeros(0, dtype=object),
            kinds=np.zeros(0, dtype=object),
            timestamps=np.zeros(0, dtype=np.int64),
            values=np.zeros(0, dtype=np.float64),
            fractions=np.zeros(0, dtype=np.float64),
            seqs=np.zeros(0, dtype=np.int64),
        )

    @classmethod
    def from_frame(cls, events: pd.DataFrame) -> MemberHistory:
        """From a normalised events table (see :mod:`reelkit.data.dataset`) of one member, in order."""
        n = len(events)
        return cls(
            title_ids=events["title_id"].astype(str).to_numpy(dtype=object),
            kinds=events["kind"].astype(str).to_numpy(dtype=object),
            timestamps=events["timestamp"].to_numpy(np.int64),
            values=events["value"].to_numpy(np.float64),
            fractions=events["fraction"].to_numpy(np.float64),
            seqs=events["seq"].to_numpy(np.int64) if "seq" in events else np.zeros(n, np.int64),
        )

    @property
    def last_seq(self) -> int:
        return int(self.seqs.max()) if len(self.seqs) else 0

    def latest_plays(
        self, *, known_fraction: bool = False, skip: np.ndarray | None = None
    ) -> dict[str, LatestPlay]:
        """Each played title's latest play: the one with the largest ``(timestamp, seq)`` (then the later
        in store order), so a late-arriving older play does not replace a newer one.

        With ``known_fraction``, plays whose fraction is unknown (NaN) are ignored; ``skip``: a mask over the
        events of plays to ignore (previews).
        """
        out: dict[str, LatestPlay] = {}
        best: dict[str, tuple[int, int, int]] = {}
        plays = self.kinds == "play"
        if skip is not None:
            plays &= ~np.asarray(skip, dtype=bool)
        for i in np.flatnonzero(plays):
            frac = float(self.fractions[i])
            if known_fraction and not np.isfinite(frac):
                continue
            tid = str(self.title_ids[i])
            key = (int(self.timestamps[i]), int(self.seqs[i]), int(i))
            if tid not in best or key >= best[tid]:
                best[tid] = key
                out[tid] = LatestPlay(
                    fraction=frac, timestamp=key[0], order=int(i), seconds=float(self.values[i])
                )
        return out


class LatestPlay(NamedTuple):
    """A title's latest play in a :class:`MemberHistory` (see :meth:`MemberHistory.latest_plays`)."""

    fraction: float
    timestamp: int
    #: The play's index in the history.
    order: int
    #: The position it reached, seconds (NaN when unknown).
    seconds: float = float("nan")


def _sample_plays(history: MemberHistory, config: HomeConfig) -> np.ndarray:
    """The history's plays too short to be a start: under ``continue_min_fraction``, or under
    ``continue_min_seconds`` and a tenth of the title (30 s of a 22-minute episode); an unknown fraction is
    not a sample (:func:`~reelkit.data.confidence.sample_plays` with the config's thresholds)."""
    return sample_plays(
        history.kinds,
        history.values,
        history.fractions,
        max_fraction=config.continue_min_fraction,
        max_seconds=config.continue_min_seconds,
    )


def resume_points(
    history: MemberHistory, config: HomeConfig | None = None, *, known_fraction: bool = False
) -> dict[str, LatestPlay]:
    """Each played title's latest play that is not a sample: where Continue Watching resumes it and the
    title page says how much was watched. A preview after a real start (autoplay, a misclick) does not move
    the resume point. ``known_fraction`` as in :meth:`MemberHistory.latest_plays`."""
    samples = _sample_plays(history, config or HomeConfig())
    return history.latest_plays(known_fraction=known_fraction, skip=samples)


@dataclass(frozen=True)
class MemberAggregate:
    """One member's events aggregated per title by the confidence formula (see :func:`aggregate_member`)."""

    title_ids: list[str]
    rating: np.ndarray
    thumb: np.ndarray
    watched: np.ndarray
    completions: np.ndarray
    timestamp: np.ndarray
    weight: np.ndarray
    sample_only: np.ndarray
    #: As :attr:`reelkit.data.confidence.PairAggregates.thumb_last`: the later of a thumb and a rating counts.
    thumb_last: np.ndarray


def aggregate_member(
    history: MemberHistory,
    cfg: ConfidenceConfig,
    rating_scale: tuple[float, float],
    sample: np.ndarray | None = None,
) -> MemberAggregate:
    """:func:`reelkit.data.confidence.aggregate_events` for a single member, without pandas.

    The same rules (both call :func:`~reelkit.data.confidence.aggregate_pairs`) in a fraction of the time:
    this runs on every uncached home page. Titles are in order of first appearance. ``sample``: which
    events are sample plays (by default as in training).
    """
    codes: dict[str, int] = {}
    inv = np.fromiter(
        (codes.setdefault(str(t), len(codes)) for t in history.title_ids), dtype=np.int64, count=len(history)
    )
    agg = aggregate_pairs(
        inv,
        len(codes),
        history.kinds,
        history.timestamps,
        history.values,
        history.fractions,
        cfg,
        rating_scale,
        sample,
    )
    return MemberAggregate(
        title_ids=list(codes),
        rating=agg.rating,
        thumb=agg.thumb,
        watched=agg.watched,
        completions=agg.completions,
        timestamp=agg.timestamp,
        weight=agg.weight,
        sample_only=agg.sample_only,
        thumb_last=agg.thumb_last,
    )


@dataclass(frozen=True)
class HomeTitle:
    """One title on the page, with why it is there."""

    title_id: str
    name: str
    genres: tuple[str, ...]
    reason: str
    #: Row-specific score: progress for Continue Watching, similarity, share, or the personal score.
    score: float
    #: Watched fraction (Continue Watching only).
    progress: float | None = None


@dataclass(frozen=True)
class HomeRow:
    """One row of the home page."""

    kind: RowKind
    heading: str
    reason: str
    titles: tuple[HomeTitle, ...]
    #: Expected engagement used to order the rows (see the module docstring).
    engagement: float
    #: The title a "Because You Watched" row is about.
    anchor_title_id: str | None = None
    #: The community a "Popular in Your Taste Community" row is about.
    community_id: int | None = None


@dataclass(frozen=True)
class HomePage:
    """A member's home page: rows in display order."""

    member_id: str
    rows: tuple[HomeRow, ...]
    community_id: int | None
    community_name: str | None
    #: Number of titles the page was ranked from: the member's titles with a positive weight, known to the
    #: models and not only sampled (a thumbs-down or a preview plays no part).
    history_titles: int
    #: How the rows were ordered, in words.
    ranking: str = field(default="", repr=False)


@dataclass(frozen=True)
class TitleCommunity:
    """A community that loves a title: ``lift`` = share of the community that watched it / share of all."""

    community_id: int
    name: str
    size: int
    share: float
    lift: float


@dataclass(frozen=True)
class HomeModels:
    """The fitted models a home page is built from; all trained on the same interactions."""

    personal: Recommender
    similar: ItemKNN
    trending: Trending
    communities: CommunityPopularity
    #: The catalog (indexed by ``title_id``; ``name``, ``genres``, ``year``, ``released`` columns).
    titles: pd.DataFrame


RANKING_RULE = (
    "rows are ordered by expected engagement: the mean personal percentile of their titles under the "
    "personal model's fold-in scores; Continue Watching is pinned first"
)


@dataclass(frozen=True)
class _Popularity:
    """What the Trending and community rows read. A live update (:meth:`HomeBuilder.count_member`, then
    :meth:`HomeBuilder.publish_popularity`) replaces it whole, so a page reads one consistent set."""

    #: Trending scores on the trending model's scale (weights at its reference time), per title; long
    #: doubles: a play decades after the model's data weighs 2^(decades / half-life) on that scale.
    trend: np.ndarray
    #: The same as shown on a page (float64): the weighted views at the counts' clock (the latest event
    #: counted), 0 for titles whose last views are more than ~1000 half-lives before it.
    shown: np.ndarray
    trending: np.ndarray  # titles by decreasing score (those with a score), the first _POOL * 5
    trending_rank: np.ndarray  # 1-based rank per title in ``trending``, 0 outside it
    community_sizes: np.ndarray  # members per community
    community_share: np.ndarray  # (communities, titles): the share of each community that watched each title
    community_order: list[np.ndarray]  # per community: titles by decreasing share (watched ones)
    global_share: np.ndarray  # per title: the share of all members that watched it
    global_popularity: np.ndarray  # per title (float32): the members that watched it
    largest_community: int
    profiles: list[Community]  # every community's profile on these counts, largest first
    profile_by_id: dict[int, Community] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "profile_by_id", {c.id: c for c in self.profiles})

    def visible(self, other: _Popularity) -> bool:
        """Whether ``other`` shows the same rows' heads as this one (orders, ranks, sizes, whole-percent
        shares): otherwise a page built on this one is out of date."""
        n = _POOL
        if not np.array_equal(self.trending[:n], other.trending[:n]):
            return False
        if not np.array_equal(self.community_sizes, other.community_sizes):
            return False
        for a, b, sa, sb in zip(
            self.community_order,
            other.community_order,
            self.community_share,
            other.community_share,
            strict=True,
        ):
            if not np.array_equal(a[:n], b[:n]) or not np.array_equal(
                np.round(100 * sa[a[:n]]), np.round(100 * sb[b[:n]])
            ):
                return False
        return True


def _release_dates(cat: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Release times from a catalog: ``released`` (Unix seconds), else 1 January of ``year``; NaN if none.
    With them, which are that 1 January only (no ``released`` day): shown as the year, not as a day the
    catalog does not give ("released 2018-01-01" for a film of 2018)."""
    released = (
        pd.to_numeric(cat["released"], errors="coerce").astype("float64").to_numpy()
        if "released" in cat
        else np.full(len(cat), np.nan)
    )
    dates = released
    if "year" in cat:
        years = pd.to_numeric(cat["year"], errors="coerce").astype("float64").to_numpy()
        from_year = np.array(
            [
                _dt.datetime(int(y), 1, 1, tzinfo=_dt.UTC).timestamp()
                if np.isfinite(y) and 1800 < y < 3000
                else np.nan
                for y in years
            ],
            dtype=np.float64,
        )
        dates = np.where(np.isnan(released), from_year, released)
    dates = np.asarray(dates, dtype=np.float64)
    return dates, np.asarray(np.isnan(released) & np.isfinite(dates), dtype=bool)


@dataclass(frozen=True)
class _Extras:
    """Catalog titles the models do not know (added after training) with a release date, newest first."""

    dates: np.ndarray
    titles: list[HomeTitle]  # as New Releases shows them


def _window_start(dates: np.ndarray, days: float, enough: int) -> float:
    """Where the New Releases window starts: ``days`` before the newest of ``dates`` (the titles out) that
    has ``enough`` of them within ``days`` before it, else before the newest. A title or two released long
    after the rest of the catalog (data that ends two years ago, and a premiere today) are in the window
    with the titles before them, instead of alone in it, too few for a row."""
    if len(dates) == 0:
        return np.inf
    d = np.sort(dates)
    within = np.arange(1, len(d) + 1) - np.searchsorted(d, d - days, side="left")
    dense = np.flatnonzero(within >= enough)
    return float(d[dense[-1] if len(dense) else -1]) - days


def _genres(text: str) -> tuple[str, ...]:
    return tuple(g for g in text.split("|") if g and g != "(no genres listed)")


def _day(ts: float, year_only: bool = False) -> str:
    """A release time as its day (``2018-05-04``), or as its year when that is all the catalog gives."""
    fmt = "%Y" if year_only else "%Y-%m-%d"
    return _dt.datetime.fromtimestamp(ts, tz=_dt.UTC).strftime(fmt) if np.isfinite(ts) else "release"


def _history_subset(history: MemberHistory, keep: np.ndarray) -> MemberHistory:
    return MemberHistory(*(getattr(history, f.name)[keep] for f in dataclasses.fields(MemberHistory)))


@dataclass
class _Folded:
    """A member's history folded into model space."""

    seen: np.ndarray  # bool mask over titles: any event
    scores: np.ndarray  # personal scores (float32, n_titles)
    sorted_scores: np.ndarray
    history_cols: np.ndarray  # titles with positive weight
    history_weights: np.ndarray
    anchor_cols: np.ndarray  # history titles that may explain a pick ("like X"): not rated low
    community: int
    personal: bool  # scored from the member's own titles (False: global popularity, nothing liked yet)
    continue_rows: list[tuple[str, float, int]]  # (title_id, fraction, timestamp), most recent first
    strong: list[tuple[str, str]]  # (title_id, verb), most recent first
    n_titles_seen: int


class HomeBuilder:
    """Builds home pages and the title-level lists (top picks, similar titles) for one set of models.

    Construction precomputes what does not depend on the member (trending order, community popularity
    orders and profiles, sorted similarity lists, the new-release pool), so a page costs one fold-in.
    """

    def __init__(self, models: HomeModels, config: HomeConfig | None = None) -> None:
        self.models = models
        self.config = config or HomeConfig()
        p = models.personal
        ids = p.title_ids_
        for other in (models.similar, models.trending, models.communities):
            if other.title_ids_.shape != ids.shape or not np.array_equal(other.title_ids_, ids):
                raise ConfigError(
                    "home page models were trained on different title sets; "
                    "train them on the same interactions"
                )
        self.title_ids: np.ndarray = np.asarray(ids, dtype=str)
        self.n_titles = int(ids.shape[0])
        self._col_of: dict[str, int] = {str(t): i for i, t in enumerate(self.title_ids)}
        comm = models.communities
        #: each community's name as trained (kept while its counts move: see CommunityPopularity.communities)
        self._community_names: dict[int, str] | None = None
        # popularity counts (kept up to date by count_members; Trending's in long doubles, see _Popularity)
        # and the snapshot the pages read
        self._trend_counts = np.asarray(models.trending.item_scores_, dtype=np.longdouble).copy()
        self._community_counts = np.asarray(comm.community_popularity_, dtype=np.float64).copy()
        self._size_counts = np.bincount(comm.labels_, minlength=comm.n_communities_).astype(np.float64)
        self._global_counts = np.asarray(comm.global_popularity_, dtype=np.float64).copy()
        #: (member, title column) -> (what the pair adds to the title's trending score, watched): the pairs
        #: counted since training (count_members); the others are as the trained counts have them
        self._pairs: dict[tuple[str, int], tuple[Any, bool]] = {}
        #: members the models do not know -> (the community they are counted in, the titles they watched)
        self._new_members: dict[str, tuple[int | None, frozenset[int]]] = {}
        self._live_lock = threading.Lock()
        #: Whether the Trending and community counts are kept up to date from events (the service's
        #: :meth:`count_member` calls); their rows then say "now", not "up to the last model update".
        self.live_popularity = False
        #: Moves when a :meth:`publish_popularity` changed what pages show (pages built before are stale).
        self.popularity_epoch = 0
        #: The clock of the counts: the latest event counted (never past the wall clock), as Trending's own
        #: reference time is the latest training event; the scores shown are the weighted views then.
        self._popularity_clock = float(models.trending.reference_time_)
        self._popularity = self._make_popularity(self._popularity_clock)
        self._community_names = {c.id: c.name for c in self._popularity.profiles}
        # similarity lists, each sorted by decreasing similarity
        s = sp.csr_matrix(models.similar.similarity_)
        s.sort_indices()
        row_of = np.repeat(np.arange(s.shape[0]), np.diff(s.indptr))
        order = np.lexsort((-s.data, row_of))
        self._sim_indptr = s.indptr
        self._sim_indices = s.indices[order]
        self._sim_data = s.data[order]
        self._rating_scale = p.rating_scale_
        self._set_catalog(models.titles)

    # ------------------------------------------------------------------ live popularity
    def _make_popularity(self, as_of: float) -> _Popularity:
        trending = self.models.trending
        trend = self._trend_counts.copy()
        order = np.argsort(-trend, kind="stable")[: max(_POOL * 5, 1000)]
        # every pair counted adds at least the floor weight: what is left of a subtracted one is rounding
        order = order[trend[order] > 0.5 * 2.0**-MAX_HALF_LIVES]
        rank = np.zeros(self.n_titles, dtype=np.int64)
        rank[order] = np.arange(1, len(order) + 1)
        pop = self._community_counts.copy()
        sizes = self._size_counts.copy()
        share = pop / np.maximum(sizes, 1.0)[:, None]
        glob = self._global_counts.copy()
        age = max(0.0, as_of - float(trending.reference_time_)) / 86400.0
        scale = np.exp2(np.longdouble(-age / trending.config.half_life_days))
        return _Popularity(
            trend=trend,
            shown=np.asarray(trend * scale, dtype=np.float64),
            trending=order,
            trending_rank=rank,
            community_sizes=sizes,
            community_share=share,
            community_order=[
                np.asarray(o[pop[c, o] > 0.5])
                for c, o in enumerate(np.argsort(-pop, axis=1, kind="stable")[:, : max(_POOL * 5, 1000)])
            ],
            global_share=glob / max(float(sizes.sum()), 1.0),
            global_popularity=glob.astype(np.float32),
            largest_community=int(np.argmax(sizes)) if len(sizes) else 0,
            profiles=self.models.communities.communities(
                top=20, popularity=pop, sizes=sizes, names=self._community_names
            ),
        )

    @property
    def community_profiles(self) -> list[Community]:
        """Every community's profile, largest first, with the counts the pages show (see
        :meth:`publish_popularity`): sizes, favourites and distinctive titles move with them; names stay."""
        return self._popularity.profiles

    def _pair_values(
        self, histories: Mapping[str, MemberHistory], *, trained: bool
    ) -> dict[tuple[str, int], tuple[Any, bool]]:
        """Per (member, title) pair of the histories (titles the model knows): what it adds to the title's
        trending score and whether it counts as watched for community popularity, as the models counted it
        when trained (``trained``) or now. One aggregation for them all (the confidence formula on every
        pair at once: one call per member cost 1 ms each)."""
        names = [m for m, h in histories.items() if len(h)]
        if not names:
            return {}
        hs = [histories[m] for m in names]
        sizes = np.fromiter((len(h) for h in hs), dtype=np.int64, count=len(hs))
        whole = MemberHistory(
            *(np.concatenate([getattr(h, f.name) for h in hs]) for f in dataclasses.fields(MemberHistory))
        )
        owner = np.repeat(np.arange(len(names), dtype=np.int64), sizes)
        cols = np.fromiter(
            (self._col_of.get(str(t), -1) for t in whole.title_ids), dtype=np.int64, count=len(owner)
        )
        # one pair per (member, title); a member's titles unknown to the model share one pair, counted nowhere
        keys, pair = np.unique(owner * (self.n_titles + 1) + cols + 1, return_inverse=True)
        agg = aggregate_pairs(
            pair,
            len(keys),
            whole.kinds,
            whole.timestamps,
            whole.values,
            whole.fractions,
            self.config.confidence,
            self._rating_scale,
            _sample_plays(whole, self.config),
        )
        p_owner, p_col = keys // (self.n_titles + 1), keys % (self.n_titles + 1) - 1
        vals = self.models.trending.pair_values(
            agg.weight, agg.sample_only, agg.play_timestamp, agg.timestamp, clamp=trained
        )
        viewed = ~agg.sample_only & (agg.weight > 0)
        known = np.flatnonzero(p_col >= 0)
        return {(names[int(p_owner[i])], int(p_col[i])): (vals[i], bool(viewed[i])) for i in known}

    def count_members(self, histories: Mapping[str, MemberHistory], trained_through: int) -> None:
        """Bring the Trending and community counts up to date with members' events: ``histories`` holds,
        per member, every event of the titles to count again (their other titles stay as counted; a full
        history counts them all). Events with store sequence numbers up to ``trained_through`` are in the
        trained counts already; what each (member, title) pair adds now replaces what it added before, by
        the rules the models were trained with (each pair once, at its latest viewing); a member the model
        does not know is counted in the community their watched titles project to, as their page has it.
        Pages see it after :meth:`publish_popularity`."""
        with self._live_lock:
            after = self._pair_values(histories, trained=False)
            # what each pair added when trained: read only for the pairs not counted since
            trained = self._pair_values(
                {m: _history_subset(h, np.asarray(h.seqs) <= trained_through) for m, h in histories.items()},
                trained=True,
            )
            comm = self.models.communities
            names = list(histories)
            rows = comm.member_rows(names, missing_ok=True) if names else np.zeros(0, dtype=np.int64)
            label_of = {m: int(comm.labels_[r]) for m, r in zip(names, rows, strict=True) if r >= 0}
            changed: dict[str, list[tuple[int, bool]]] = {}
            for key, (value, watched) in after.items():
                old_value, old_watched = self._pairs.get(key) or trained.get(key, (0.0, False))
                self._trend_counts[key[1]] += value - old_value
                self._pairs[key] = (value, watched)
                if watched != old_watched:
                    changed.setdefault(key[0], []).append((key[1], watched))
            for m, h in histories.items():
                if len(h):
                    latest = min(float(np.max(h.timestamps)), time.time())
                    self._popularity_clock = max(self._popularity_clock, latest)
                flips = changed.get(m, [])
                if m in label_of:  # a known member stays in their community
                    for c, watched in flips:
                        sign = 1.0 if watched else -1.0
                        self._community_counts[label_of[m], c] += sign
                        self._global_counts[c] += sign
                    continue
                label, seen = self._new_members.get(m, (None, frozenset()))
                now_seen = set(seen)
                for c, watched in flips:
                    (now_seen.add if watched else now_seen.discard)(c)
                new_label = self._assign_community(np.asarray(sorted(now_seen))) if now_seen else None
                for lab, cols_, sign in ((label, seen, -1.0), (new_label, now_seen, 1.0)):
                    if lab is None:
                        continue
                    idx = np.fromiter(cols_, dtype=np.int64, count=len(cols_))
                    self._community_counts[lab, idx] += sign
                    self._size_counts[lab] += sign
                    self._global_counts[idx] += sign
                self._new_members[m] = (new_label, frozenset(now_seen))

    def count_member(self, member_id: str, history: MemberHistory, trained_through: int) -> None:
        """:meth:`count_members` for one member."""
        self.count_members({member_id: history}, trained_through)

    def publish_popularity(self) -> bool:
        """Make the counts the pages read; True when the rows' heads changed, so that pages built before are
        out of date (``popularity_epoch`` moves)."""
        with self._live_lock:
            new = self._make_popularity(self._popularity_clock)
            changed = not self._popularity.visible(new)
            self._popularity = new
            if changed:
                self.popularity_epoch += 1
            return changed

    def _set_catalog(self, titles: pd.DataFrame) -> None:
        """Names, genres and new releases from the catalog (the model's own names where it has none)."""
        cat = titles.reindex(self.title_ids)
        names = cat["name"] if "name" in cat else pd.Series(np.nan, index=cat.index)
        fallback = pd.Series(self.models.personal.title_names_, index=cat.index)
        names = names.where(names.notna() & (names.astype(str) != ""), fallback)
        genres = cat["genres"].fillna("").astype(str) if "genres" in cat else pd.Series("", index=cat.index)
        self.genres: list[tuple[str, ...]] = [_genres(s) for s in genres]
        self.names: np.ndarray = names.astype(str).to_numpy(dtype=object)
        # (name, year) per title: one film listed under two ids (ml-100k's u.item 304 and 500) is one film
        years = (
            pd.to_numeric(cat["year"], errors="coerce").astype("float64").to_numpy()
            if "year" in cat
            else np.full(self.n_titles, np.nan)
        )
        self._film_keys: list[tuple[str, float | None]] = [
            (str(n).strip().casefold(), float(y) if np.isfinite(y) else None)
            for n, y in zip(self.names, years, strict=True)
        ]
        # catalog titles the models do not know (added after training) that have a date: New Releases only
        extra = titles.loc[~titles.index.astype(str).isin(list(self._col_of))]
        dates, by_year = _release_dates(extra)
        extra, dates, by_year = (
            extra[np.isfinite(dates)],
            dates[np.isfinite(dates)],
            by_year[np.isfinite(dates)],
        )
        order = np.argsort(-dates, kind="stable")
        ids = [str(t) for t in extra.index[order]]
        extra_names = extra["name"] if "name" in extra else pd.Series("", index=extra.index)
        extra_genres = extra["genres"] if "genres" in extra else pd.Series("", index=extra.index)
        # one object, replaced whole: a page built while the catalog is taken again reads one set
        self._extras = _Extras(
            dates=dates[order],
            titles=[
                HomeTitle(
                    t,
                    str(n) if pd.notna(n) and str(n) != "" else f"Title {t}",
                    _genres(str(gs) if pd.notna(gs) else ""),
                    f"New: released {_day(float(d), bool(y))}",
                    0.0,
                )
                for t, n, gs, d, y in zip(
                    ids,
                    extra_names.iloc[order],
                    extra_genres.iloc[order],
                    dates[order],
                    by_year[order],
                    strict=True,
                )
            ],
        )
        self._new_releases = self._release_pool(cat)

    def update_catalog(self, titles: pd.DataFrame) -> None:
        """Take a new catalog (titles renamed, re-dated or re-genred since training) without retraining."""
        self.models = dataclasses.replace(self.models, titles=titles)
        self._set_catalog(titles)

    # ------------------------------------------------------------------ precomputation
    def _release_pool(self, cat: pd.DataFrame) -> np.ndarray:
        """Sets ``release_dates`` from the catalog (``released``, else 1 January of ``year``) and returns
        the New Releases pool (:meth:`_release_window`)."""
        released, self._dated_by_year = _release_dates(cat)
        self.release_dates: np.ndarray = released
        # what is out, for release_epoch: the titles the models do not know come out too
        self._release_sorted = np.sort(np.concatenate([released[np.isfinite(released)], self._extras.dates]))
        return self._release_window()

    def _release_window(self) -> np.ndarray:
        """The New Releases pool from ``release_dates`` at :meth:`_now`: a title dated more than a day after
        it is not out yet (and a far-future date must not move the window past every real release). The
        wall clock counts, as in :meth:`_not_out_yet`: a title released after the data's last event is out
        (on Top Picks), so it is new; the pool is made again once the next announced title comes out."""
        cfg = self.config
        released = self.release_dates
        now = self._now() + 86400.0
        finite = np.isfinite(released)
        extras = self._extras
        extra = extras.dates
        with np.errstate(invalid="ignore"):
            upcoming = np.concatenate([released[finite & (released > now)], extra[extra > now]])
        self._release_pool_until = float(upcoming.min()) - 86400.0 if len(upcoming) else np.inf
        ok = np.flatnonzero(finite)
        ok = ok[released[ok] <= now]
        extra_out = np.flatnonzero(extra <= now)  # newest first, as the dates are sorted
        out = np.concatenate([released[ok], extra[extra_out]])
        since = _window_start(out, cfg.new_release_days * 86400.0, cfg.min_row_titles)
        # the row's heading: "in the last N days of the catalog" only where the window is that
        newest = float(out.max()) if len(out) else np.inf
        self._released_since = None if since >= newest - cfg.new_release_days * 86400.0 else _day(since)
        # titles the models do not know (added since training) in the same window: a retrain that comes to
        # know one moves nothing
        self._new_extras = (extras, extra_out[extra[extra_out] >= since][: cfg.new_release_pool])
        recent = ok[released[ok] >= since]
        recent = recent[np.argsort(-released[recent], kind="stable")][: cfg.new_release_pool]
        return np.asarray(recent, dtype=np.int64)

    def _now(self) -> float:
        """Now, for what is out: the later of the data's clock (the trending model's) and the wall clock."""
        return max(float(getattr(self.models.trending, "reference_time_", 0)), time.time())

    def _new_release_cols(self) -> np.ndarray:
        """The New Releases pool, made again when an announced title has come out since it was made."""
        if time.time() >= self._release_pool_until:
            self._new_releases = self._release_window()
        return self._new_releases

    def release_epoch(self) -> int:
        """How many catalog titles are out now (dated up to a day past :meth:`_now`, as the New Releases
        pool and :meth:`_not_out_yet` take them): a page built at another count may be stale (a title came
        out since). A binary search, cheap enough for every cached page served."""
        return int(np.searchsorted(self._release_sorted, self._now() + 86400.0, side="right"))

    def _not_out_yet(self) -> np.ndarray:
        """Titles dated after now that nobody has watched: a catalog title without events scores 0 under
        EASE, above every title a member with a clear taste dislikes, and filled the end of Top Picks. "Now"
        is the later of the data's clock and the wall clock (a title announced for next week is out once that
        day comes, without a retrain; one watched in the data is out, whatever its catalog date says)."""
        now = self._now()
        with np.errstate(invalid="ignore"):
            future = np.isfinite(self.release_dates) & (self.release_dates > now + 86400.0)
        return np.asarray(future & (self._popularity.global_popularity <= 0), dtype=bool)

    # ------------------------------------------------------------------ fold-in
    def _col(self, title_id: str) -> int:
        return self._col_of.get(title_id, -1)

    def fold(self, history: MemberHistory, member_id: str | None = None) -> _Folded:
        """Aggregate a history with the confidence formula and score it with the personal model.
        ``member_id``: the member, when known to the models, is in the community they were clustered into."""
        cfg = self.config
        n = self.n_titles
        seen = np.zeros(n, dtype=bool)
        continue_rows: list[tuple[str, float, int]] = []
        strong: list[tuple[str, str]] = []
        cols_pos = np.zeros(0, dtype=np.int64)
        w_pos = np.zeros(0, dtype=np.float32)
        anchor_cols = np.zeros(0, dtype=np.int64)
        ratings_csr = sp.csr_matrix((1, n), dtype=np.float32)
        n_seen = 0
        seen |= self._not_out_yet()  # offered on no row (seen means "not to offer" below)
        if len(history):
            agg = aggregate_member(
                history, cfg.confidence, self._rating_scale, _sample_plays(history, self.config)
            )
            tids = agg.title_ids
            cols = np.fromiter((self._col_of.get(t, -1) for t in tids), dtype=np.int64, count=len(tids))
            known = cols >= 0
            # a title only sampled (an autoplay preview, a misclick) is not seen: it would leave every row
            shown = known & ~agg.sample_only
            seen[cols[shown]] = True
            weight = agg.weight
            # a sampled-only title says nothing of taste either: three 20 s previews made a "personal" page
            pos = shown & (weight > 0)
            cols_pos = cols[pos]
            # the titles the ranking is made from ("from your 5 titles" counted previews and a thumbs-down)
            n_seen = int(pos.sum())
            w_pos = weight[pos].astype(np.float32)
            rating = agg.rating
            has_r = pos & ~np.isnan(rating)
            if has_r.any():
                ratings_csr = sp.csr_matrix(
                    (rating[has_r].astype(np.float32), (np.zeros(int(has_r.sum()), np.int64), cols[has_r])),
                    shape=(1, n),
                )
            # strongly engaged titles, most recent first (by their latest event that is not a sample: a
            # preview today does not make a title watched a month ago the most recent)
            lo, hi = self._rating_scale
            rnorm = (rating - lo) / (hi - lo if hi > lo else 1.0)
            thumb = agg.thumb
            completions = agg.completions
            # a title rated in the lower half of the scale was not liked, however far it was watched: it
            # names no "Because You Watched" row and supports no "like X" reason (unless a thumb up came
            # after the rating: the later of the two counts, as in training)
            low = rated_low(rating, self._rating_scale)
            disliked = rated_low_now(thumb, low, agg.thumb_last)
            is_strong = (
                pos
                & ~disliked
                & ((completions >= 1) | (thumb > 0) | (np.nan_to_num(rnorm, nan=-1.0) >= cfg.strong_rating))
            )
            anchor_cols = cols[pos & ~disliked]
            ts = agg.timestamp
            for i in np.flatnonzero(is_strong)[np.argsort(-ts[is_strong], kind="stable")][: cfg.because_rows]:
                verb = "watched" if completions[i] >= 1 else ("liked" if thumb[i] > 0 else "rated")
                strong.append((tids[i], verb))
            # neither a thumbs-down nor a low rating is a title to resume, when the formula makes a low
            # rating a dislike: with "positive" it is an interaction, as the service has it while the rating
            # scale is not known (a 4 read on the 0-10 assumed may be a 4 of 5)
            dropped_low = disliked if cfg.confidence.low_rating == "dislike" else np.zeros_like(disliked)
            dropped = {tids[i] for i in np.flatnonzero(thumb_down(thumb, low, agg.thumb_last) | dropped_low)}
            continue_rows = self._continue_watching(history, dropped)
        order = np.argsort(cols_pos, kind="stable")
        hist = sp.csr_matrix(
            (w_pos[order], cols_pos[order], np.array([0, len(cols_pos)], dtype=np.int64)), shape=(1, n)
        )
        if hist.nnz:
            rows = np.full(1, -1, dtype=np.int64)
            scores = np.asarray(self.models.personal.score_rows(rows, hist, ratings_csr)[0], dtype=np.float32)
            community = self._assign_community(cols_pos, member_id)
        else:
            scores = self._popularity.global_popularity.copy()
            community = self._popularity.largest_community
        scores = np.where(np.isfinite(scores), scores, np.float32(-np.inf)).astype(np.float32)
        return _Folded(
            seen=seen,
            scores=scores,
            sorted_scores=np.sort(scores),
            history_cols=cols_pos,
            history_weights=w_pos,
            anchor_cols=anchor_cols,
            community=community,
            personal=bool(hist.nnz),
            continue_rows=continue_rows,
            strong=strong,
            n_titles_seen=n_seen,
        )

    def _assign_community(self, cols: np.ndarray, member_id: str | None = None) -> int:
        """A member's community: :meth:`CommunityPopularity.assign_rows`. A member the model was trained on
        has their trained label; another is placed by the titles they engaged with (idf-weighted,
        normalised, projected on the SVD components, nearest k-means centre), computed on the member's few
        titles instead of sparse rows."""
        comm = self.models.communities
        row = int(comm.member_rows([member_id], missing_ok=True)[0]) if member_id is not None else -1
        if row >= 0:
            return int(comm.labels_[row])
        v = comm.idf_[cols].astype(np.float64)
        norm = np.sqrt(float(v @ v))
        if norm == 0:
            return self._popularity.largest_community
        emb = (comm.components_[:, cols].astype(np.float64) @ (v / norm)).astype(np.float32)
        length = np.linalg.norm(emb)
        if length > 0:
            emb = emb / length
        return int(comm.nearest_centre(emb[None, :])[0])

    def _continue_watching(
        self, history: MemberHistory, thumbed_down: set[str]
    ) -> list[tuple[str, float, int]]:
        threshold = self.config.confidence.completion_threshold
        out = [
            (t, play.fraction, play.timestamp, play.order)
            for t, play in resume_points(history, self.config).items()
            if np.isfinite(play.fraction) and play.fraction < threshold and t not in thumbed_down
        ]
        out.sort(key=lambda r: (-r[2], -r[3]))
        return [(t, f, ts) for t, f, ts, _ in out]

    def _percentile(self, folded: _Folded, cols: np.ndarray) -> np.ndarray:
        if len(cols) == 0:
            return np.zeros(0)
        pos = np.searchsorted(folded.sorted_scores, folded.scores[cols], side="left")
        return np.asarray(pos / max(self.n_titles - 1, 1), dtype=np.float64)

    # ------------------------------------------------------------------ lists
    def _title(self, col: int, reason: str, score: float, progress: float | None = None) -> HomeTitle:
        return HomeTitle(
            title_id=str(self.title_ids[col]),
            name=str(self.names[col]),
            genres=self.genres[col],
            reason=reason,
            score=float(score),
            progress=progress,
        )

    def has_title(self, title_id: str) -> bool:
        """Whether the models know the title."""
        return self._col(title_id) >= 0

    def genres_of(self, title_id: str) -> tuple[str, ...]:
        col = self._col(title_id)
        return self.genres[col] if col >= 0 else ()

    def knows(self, title_id: str) -> bool:
        """Whether the models were trained with ``title_id`` (its name and genres are known here)."""
        return bool(self._col(title_id) >= 0)

    def name_of(self, title_id: str) -> str:
        col = self._col(title_id)
        return str(self.names[col]) if col >= 0 else f"Title {title_id}"

    def _best_anchor(self, folded: _Folded, cols: np.ndarray) -> list[int]:
        """For each candidate, the history title that most supports it: the largest similarity x weight
        among the candidate's neighbours in the member's history (-1 when none of them is there)."""
        out = [-1] * len(cols)
        if len(folded.history_cols) == 0 or len(cols) == 0:
            return out
        weights = np.zeros(self.n_titles, dtype=np.float32)
        weights[folded.history_cols] = folded.history_weights
        liked = np.zeros(self.n_titles, dtype=bool)
        liked[folded.anchor_cols] = True
        weights[~liked] = 0.0  # a title rated low explains nothing
        for i, c in enumerate(cols.tolist()):
            lo, hi = self._sim_indptr[c], self._sim_indptr[c + 1]
            neigh = self._sim_indices[lo:hi]
            support = self._sim_data[lo:hi] * weights[neigh]
            if len(support):
                j = int(np.argmax(support))
                if support[j] > 0:
                    out[i] = int(neigh[j])
        return out

    def _top_pick_titles(self, folded: _Folded, cols: np.ndarray) -> list[HomeTitle]:
        anchors = self._best_anchor(folded, cols)
        model = self.models.personal.name
        out: list[HomeTitle] = []
        for c, a in zip(cols.tolist(), anchors, strict=True):
            if not folded.personal:  # nothing of the member's own taste is known: say what the order is
                reason = "Popular with all members"
            else:
                reason = f"Picked for you: like {self.names[a]}" if a >= 0 else f"Picked for you by {model}"
            out.append(self._title(c, reason, float(folded.scores[c])))
        return out

    def _ranked(
        self, folded: _Folded, candidates: np.ndarray | None, k: int, blocked: np.ndarray
    ) -> np.ndarray:
        scores = folded.scores.copy()
        scores[blocked] = -np.inf
        if candidates is not None:
            mask = np.zeros(self.n_titles, dtype=bool)
            mask[candidates] = True
            scores[~mask] = -np.inf
        k = min(k, self.n_titles)
        if k <= 0:
            return np.zeros(0, dtype=np.int64)
        part = np.argpartition(-scores, k - 1)[:k] if k < self.n_titles else np.arange(self.n_titles)
        part = part[np.lexsort((part, -scores[part]))]
        return np.asarray(part[np.isfinite(scores[part])], dtype=np.int64)

    def top_picks(self, history: MemberHistory, n: int = 10) -> tuple[HomeTitle, ...]:
        """The personal model's top-``n`` unseen titles for a member given by history, with reasons."""
        folded = self.fold(history)
        cols = self._ranked(folded, None, n, folded.seen)
        return tuple(self._top_pick_titles(folded, cols))

    def similar(self, title_id: str, n: int = 10) -> tuple[HomeTitle, ...]:
        """The ``n`` titles most similar to ``title_id`` (item-item similarity), with reasons."""
        col = self._col(title_id)
        if col < 0:
            raise UnknownIdError(f"unknown title id {title_id}; the current model was not trained on it")
        lo, hi = self._sim_indptr[col], self._sim_indptr[col + 1]
        name = self.names[col]
        return tuple(
            self._title(int(j), f"Similar to {name} ({v:.2f})", float(v))
            for j, v in zip(self._sim_indices[lo:hi][:n], self._sim_data[lo:hi][:n], strict=True)
        )

    def title_communities(self, title_id: str, top: int = 3) -> tuple[TitleCommunity, ...]:
        """Communities that love a title most: highest lift among those where at least 5% watched it."""
        col = self._col(title_id)
        if col < 0:
            return ()
        pop = self._popularity
        share = pop.community_share[:, col]
        glob = pop.global_share[col]
        if glob <= 0:
            return ()
        lift = share / glob
        order = np.argsort(-lift, kind="stable")
        out: list[TitleCommunity] = []
        for c in order:
            if share[c] < 0.05 or lift[c] <= 1.0 or len(out) >= top:
                continue
            prof = pop.profile_by_id.get(int(c))
            if prof is None:
                continue
            out.append(
                TitleCommunity(
                    community_id=int(c),
                    name=prof.name,
                    size=prof.size,
                    share=float(share[c]),
                    lift=float(lift[c]),
                )
            )
        return tuple(out)

    def community(self, community_id: int) -> Community:
        prof = self._popularity.profile_by_id.get(community_id)
        if prof is None:
            raise UnknownIdError(f"unknown community id {community_id}")
        return prof

    # ------------------------------------------------------------------ the page
    def build(self, member_id: str, history: MemberHistory) -> HomePage:
        """The member's home page (see the module docstring for the rules)."""
        cfg = self.config
        folded = self.fold(history, member_id)
        pop = self._popularity  # read once: a live update replaces it whole
        used = folded.seen.copy()
        size = cfg.row_size
        rows: list[tuple[int, HomeRow]] = []  # (priority, row)

        def take(cols: Sequence[int] | np.ndarray) -> list[int]:
            """The first ``size`` of ``cols`` (in order) not taken by an earlier row nor seen."""
            arr = np.asarray(cols, dtype=np.int64)
            return [int(c) for c in arr[~used[arr]][:size]] if len(arr) else []

        def keep(priority: int, row: HomeRow, cols: Sequence[int], minimum: int) -> None:
            if len(row.titles) < minimum:
                return
            used[np.asarray(cols, dtype=np.int64)] = True
            rows.append((priority, row))

        # 1. Continue Watching
        cw_titles: list[HomeTitle] = []
        cw_cols: list[int] = []
        for tid, frac, _ts in folded.continue_rows[:size]:
            c = self._col(tid)
            name = str(self.names[c]) if c >= 0 else self._catalog_name(tid)
            genres = self.genres[c] if c >= 0 else ()
            cw_titles.append(
                HomeTitle(
                    tid, name, genres, f"Resume: {round(frac * 100)}% watched", float(frac), progress=frac
                )
            )
            if c >= 0:
                cw_cols.append(c)
        keep(
            0,
            HomeRow(
                "continue-watching",
                "Continue Watching",
                "Titles you started and have not finished, most recent first",
                tuple(cw_titles),
                1.0,
            ),
            cw_cols,
            cfg.min_continue_titles,
        )

        # 2. Top Picks
        tp = take(self._ranked(folded, None, size + _POOL, used))
        keep(
            1,
            HomeRow(
                "top-picks",
                "Top Picks for You",
                f"Ranked for you by the {self.models.personal.name} model "
                f"from your {folded.n_titles_seen} title{'' if folded.n_titles_seen == 1 else 's'}"
                if folded.personal
                else "The most popular titles, until we learn what you like",
                tuple(self._top_pick_titles(folded, np.asarray(tp, dtype=np.int64))),
                self._engagement(folded, tp),
            ),
            tp,
            cfg.min_row_titles,
        )

        # 3. Because You Watched
        for i, (anchor, verb) in enumerate(folded.strong[: cfg.because_rows]):
            a = self._col(anchor)
            if a < 0:
                continue
            lo, hi = self._sim_indptr[a], self._sim_indptr[a + 1]
            neigh = self._sim_indices[lo:hi]
            sims = self._sim_data[lo:hi]
            # a duplicate catalog entry of the anchor (same name and year, another id) is the film itself
            key = self._film_keys[a]
            cols = take(np.asarray([c for c in neigh.tolist() if self._film_keys[c] != key], dtype=np.int64))
            sim_of = dict(zip(neigh.tolist(), sims.tolist(), strict=True))
            name = str(self.names[a])
            keep(
                2 + i,
                HomeRow(
                    "because-you-watched",
                    # the heading says what the member did: a thumbed-up title was liked, not watched
                    f"Because You {verb.capitalize()} {name}",
                    f"You {verb} {name} recently; these are the titles most similar to it",
                    tuple(self._title(c, f"Similar to {name} ({sim_of[c]:.2f})", sim_of[c]) for c in cols),
                    self._engagement(folded, cols),
                    anchor_title_id=anchor,
                ),
                cols,
                cfg.min_row_titles,
            )

        # 4. New Releases: the newest few the member may be shown (newest first: a title out yesterday has no
        # plays, and the personal score alone put it below every older one), then the rest ranked for them
        # (a title the models do not know, added to the catalog since, takes these slots by its date too)
        pool = self._new_release_cols()
        n_newest = min(NEW_RELEASE_NEWEST, size)
        dated: list[tuple[float, int | HomeTitle]] = [
            (float(self.release_dates[c]), c) for c in take(pool)[:n_newest]
        ]
        dated += self._new_extra_titles(history, n_newest)
        newest_all = sorted(dated, key=lambda d: -d[0])[:n_newest]  # stable: a known title first on a tie
        newest = [c for _, c in newest_all if isinstance(c, int)]
        used[np.asarray(newest, dtype=np.int64)] = True  # for the ranked rest; kept or given back below
        ranked = take(self._ranked(folded, pool, size + _POOL, used))[: size - len(newest_all)]
        used[np.asarray(newest, dtype=np.int64)] = False
        shown = newest + ranked
        pcts = self._percentile(folded, np.asarray(shown, dtype=np.int64)).tolist()
        pct = dict(zip(shown, pcts, strict=True))
        nr_titles = [
            self._title(c, f"New: released {self._date(c)}", float(pct[c])) if isinstance(c, int) else c
            for _, c in newest_all
        ] + [
            self._title(
                c,
                f"New {self._date(c)}; in your top {_top_share(pct[c])}%"
                if folded.personal  # a new member's order is everyone's: no claim of their taste
                else f"New {self._date(c)}; popular with all members",
                float(pct[c]),
            )
            for c in ranked
        ]
        keep(
            6,
            HomeRow(
                "new-releases",
                "New Releases",
                (
                    f"Released in the last {cfg.new_release_days} days of the catalog"
                    if self._released_since is None
                    else f"Released since {self._released_since}"  # a premiere long after the rest
                )
                + ": the newest first, then "
                + ("ranked for you" if folded.personal else "most popular first"),
                tuple(nr_titles),
                self._engagement(folded, shown),
            ),
            shown,
            cfg.min_row_titles,
        )

        # what the popularity rows are as of: the last training, or now where the counts are kept live
        as_of = "" if self.live_popularity else _AS_OF_TRAINING
        when = "on the service now" if self.live_popularity else "up to the last model update"

        # 5. Popular in Your Taste Community
        cid = folded.community
        prof = pop.profile_by_id.get(cid)
        cname = prof.name if prof is not None else f"community {cid}"
        cc = take(pop.community_order[cid]) if cid < len(pop.community_order) else []
        share = pop.community_share[cid] if cid < len(pop.community_share) else np.zeros(self.n_titles)
        csize = int(pop.community_sizes[cid]) if cid < len(pop.community_sizes) else 0
        keep(
            7,
            HomeRow(
                "community",
                f"Popular in Your Taste Community: {cname}"
                if folded.personal
                else f"Popular in Our Largest Taste Community: {cname}",
                # counted when the model was trained, as Trending, unless the counts are kept live
                f"Most watched by the {csize} members whose taste is closest to yours{as_of}"
                if folded.personal
                # a member with no liked title yet has no taste to be close to: say which community this is
                else f"Most watched by our largest taste community ({csize} members) until we know you"
                f"{as_of}",
                tuple(
                    self._title(c, f"Watched by {100 * share[c]:.0f}% of {cname}", float(share[c]))
                    for c in cc
                ),
                self._engagement(folded, cc),
                community_id=cid,
            ),
            cc,
            cfg.min_row_titles,
        )

        # 6. Trending Now
        half_life = self.models.trending.config.half_life_days
        tr = take(pop.trending)
        keep(
            8,
            HomeRow(
                "trending",
                "Trending Now",
                # counted when the model was trained unless the counts are kept live: not "recently"
                f"Most watched {when} (plays halve in weight every {half_life:g} days)"
                if self.models.trending.counts_plays_
                # a ratings data set has no plays: say what was counted
                else f"Most rated {when} (ratings stand for views and halve in weight every "
                f"{half_life:g} days)",
                tuple(
                    self._title(
                        c,
                        f"Trending now: #{pop.trending_rank[c]} on the service",
                        float(pop.shown[c]),
                    )
                    for c in tr
                ),
                self._engagement(folded, tr),
            ),
            tr,
            cfg.min_row_titles,
        )

        ordered = sorted(rows, key=lambda pr: (pr[0] != 0, -pr[1].engagement, pr[0]))
        return HomePage(
            member_id=member_id,
            rows=tuple(r for _, r in ordered),
            community_id=cid if prof is not None else None,
            community_name=cname if prof is not None and folded.personal else None,
            history_titles=folded.n_titles_seen,
            ranking=RANKING_RULE,
        )

    def _engagement(self, folded: _Folded, cols: Sequence[int]) -> float:
        if not cols:
            return 0.0
        return float(np.mean(self._percentile(folded, np.asarray(cols, dtype=np.int64))))

    def _date(self, col: int) -> str:
        return _day(float(self.release_dates[col]), bool(self._dated_by_year[col]))

    def _new_extra_titles(self, history: MemberHistory, n: int) -> list[tuple[float, int | HomeTitle]]:
        """The newest ``n`` of the New Releases window's titles the models do not know that the member has
        no event of (a sample play aside, as on every row), as (date, title); the window is the one the
        caller's :meth:`_new_release_cols` just brought up to date."""
        extras, window = self._new_extras  # one read: the catalog may be taken again meanwhile
        if n <= 0 or len(window) == 0:
            return []
        had = set(history.title_ids[~_sample_plays(history, self.config)].tolist()) if len(history) else set()
        out: list[tuple[float, int | HomeTitle]] = [
            (float(extras.dates[i]), extras.titles[i]) for i in window if extras.titles[i].title_id not in had
        ]
        return out[:n]

    def _catalog_name(self, title_id: str) -> str:
        titles = self.models.titles
        if title_id in titles.index and "name" in titles:
            return str(titles.at[title_id, "name"])
        return f"Title {title_id}"


def _top_share(percentile: float) -> int:
    """``0.97`` -> ``3`` (the title is in the member's top 3%); at least 1. Rounded before the ceiling:
    ``1 - 0.97`` is ``0.030000000000000027`` in floats, which said "top 4%"."""
    return max(1, int(np.ceil(round(100.0 * (1.0 - percentile), 6))))
