"""A synthetic streaming catalog and membership with realistic structure, for demos and tests.

:func:`make_demo` draws a world from a seed:

Taste communities
    ``n_communities`` groups, each with a preference over :data:`GENRES` (a sparse Dirichlet draw, so a
    community favours a few genres) and a latent taste vector aligned with those genres. Each member
    belongs mostly to one community (the ground truth is ``members["community"]``), mixes in a second one
    a little (``Beta(1.2, 6)`` weight), and has personal taste noise on top.
Titles
    each made for a "home" community: genres drawn from its preferences, a latent vector near its taste.
    Popularity is Zipf-like (``rank ** -1``) and correlates with quality (which lifts ratings and
    completion). 20% are series. 80% are back catalog released over the previous decades; 20% are new
    releases during the simulated period (release dates at midnight UTC, some in its last weeks).
Events (sorted by time)
    each member picks titles without replacement (Gumbel top-k over taste affinity, popularity and how
    long the title has been available to them; new releases get a boost). Members only watch titles
    already released, and only after they joined (30% join during the period).
    A title picked is first played either in the "buzz" right after its release (most plays of new
    releases: a spike that decays over a couple of weeks) or at a uniform time afterwards, in the
    evening more often than in the morning.

    * ``play``: ``value`` = the position reached, in seconds, ``fraction`` = that position as a share of
      the movie (for series: of the episode; each episode is its own play). Better-matching titles are
      finished more often; an abandoned movie is sometimes resumed later; some movies are rewatched; series
      are binged.
    * ``rating`` (1-5 stars) for about a quarter of the titles played, more often for finished ones;
      correlated with affinity and quality, with a per-member bias.
    * ``thumb`` (+1/-1) for a few titles, down more often for abandoned ones.

Defaults (2,000 members, 1,000 titles, 8 communities, one year from 2024-01-01) give ~150,000 events in
about a second. On it, personalised models clearly beat popularity, and popularity within a member's
community beats global popularity, as on real data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd

from reelkit.data.dataset import Dataset
from reelkit.errors import ConfigError

__all__ = ["DEFAULT_START", "GENRES", "make_demo"]

GENRES: tuple[str, ...] = (
    "Action", "Comedy", "Drama", "Documentary", "Horror", "Romance",
    "Sci-Fi", "Thriller", "Animation", "Crime", "Family", "Fantasy",
)  # fmt: skip

_DAY = 86_400
_LATENT = 16

_ADJECTIVES = (
    "Silent", "Golden", "Hidden", "Broken", "Electric", "Crimson", "Midnight", "Distant", "Wild", "Gentle",
    "Frozen", "Burning", "Hollow", "Secret", "Last", "Lonely", "Bright", "Velvet", "Iron", "Paper", "Glass",
    "Silver", "Quiet", "Restless", "Endless", "Savage", "Lucky", "Little", "Northern", "Wandering", "Scarlet",
    "Hungry", "Sleeping", "Faraway", "Painted", "Salt", "Stolen", "Falling", "Neon", "Ancient",
)  # fmt: skip
_NOUNS = (
    "River", "Garden", "Empire", "Horizon", "Letter", "Signal", "Harbor", "Orchard", "Machine", "Storm",
    "Kingdom", "Mirror", "Island", "Voyage", "Summer", "Winter", "Shadow", "Lantern", "Compass", "Frontier",
    "Station", "Promise", "Echo", "Forest", "Season", "Crown", "Circus", "Canyon", "Tide", "Archive",
    "Lighthouse", "Carousel", "Comet", "Meadow", "Citadel", "Ember", "Labyrinth", "Melody", "Orbit", "Raven",
)  # fmt: skip
_PLACES = (
    "Paris", "the North", "Tokyo", "Marrakesh", "the Valley", "Havana", "the Moon", "Lisbon", "Brooklyn",
    "the Desert", "Venice", "the Coast", "Kyoto", "the Highlands", "Nairobi", "Reykjavik",
)  # fmt: skip
_PEOPLE = (
    "Ada", "Milo", "Iris", "Felix", "Nora", "Theo", "Luna", "Oscar", "Mira", "Jonah", "Clara", "Hugo",
    "Vera", "Rafael", "Elsa", "Kai", "Amara", "Leo", "Ines", "Tomas", "Yara", "Emil", "Zoe", "Ravi",
    "Sofia", "Omar", "Hana", "Lucas", "Maya", "Niko", "Priya", "Soren", "Tess", "Wren", "Jun", "Aiko",
)  # fmt: skip
_INITIALS = "ABCDEFGHIJKLMNOPRSTVWZ"
_SEQUELS = ("II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")
# relative chance of starting to watch at each hour of the day (UTC), evenings busiest
_HOURS = np.array(
    [3, 2, 1, 1, 1, 1, 1, 2, 2, 2, 3, 3, 4, 4, 4, 4, 5, 6, 8, 10, 12, 12, 9, 6], dtype=np.float64
)


@dataclass(frozen=True)
class _Strengths:
    """How strongly each factor shapes the world (calibrated so models rank as on MovieLens)."""

    member_noise: float = 1.2  # personal taste vs community taste
    member_mix_b: float = 6.0  # Beta(1.2, b) weight of a member's second community
    title_noise: float = 1.2  # a title's own character vs its home community's taste
    title_genre: float = 0.35  # pull of a title's genres on its latent vector
    selectivity: float = 10.0  # how much taste (vs popularity) drives what members pick
    zipf: float = 0.8  # popularity ~ rank ** -zipf


_STRENGTHS = _Strengths()


def _title_name(rng: np.random.Generator) -> str:
    adj = _ADJECTIVES[rng.integers(len(_ADJECTIVES))]
    noun = _NOUNS[rng.integers(len(_NOUNS))]
    noun2 = _NOUNS[rng.integers(len(_NOUNS))]
    place = _PLACES[rng.integers(len(_PLACES))]
    person = _PEOPLE[rng.integers(len(_PEOPLE))]
    article = "An" if noun[0] in "AEIO" else "A"  # every noun with a vowel letter starts with its sound
    patterns = (
        f"The {adj} {noun}",
        f"{adj} {noun}",
        f"{noun} of {place}",
        f"{person}'s {noun}",
        f"{article} {noun} in {place}",
        f"The {noun} and the {noun2}" if noun != noun2 else f"The Last {noun}",
        f"After the {noun}",
        f"{person} and the {adj} {noun}",
        f"{adj} Nights",
        f"The {noun} Affair",
    )
    weights = np.array([4, 3, 2, 2, 1, 1, 1, 1, 0.5, 0.5])
    return patterns[rng.choice(len(patterns), p=weights / weights.sum())]


def _unique_names(rng: np.random.Generator, n: int) -> list[str]:
    seen: dict[str, int] = {}
    names = []
    for _ in range(n):
        name = _title_name(rng)
        k = seen.get(name, 0)
        seen[name] = k + 1
        if k:
            name = f"{name} {_SEQUELS[k - 1]}" if k <= len(_SEQUELS) else f"{name} {k + 1}"
        names.append(name)
    return names


def _unit_rows(x: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.asarray(x / np.where(norms == 0, 1.0, norms), dtype=np.float64)


def _to_unix(start: str | int | date | datetime) -> int:
    if isinstance(start, bool):
        raise ConfigError("start must be a date, an ISO date string or unix seconds")
    if isinstance(start, int):
        stamp = start
    elif isinstance(start, datetime):
        stamp = int((start if start.tzinfo else start.replace(tzinfo=UTC)).timestamp())
    elif isinstance(start, date):
        stamp = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp())
    else:
        try:
            stamp = int(pd.Timestamp(start, tz="UTC").timestamp())
        except ValueError:
            raise ConfigError(f"start {start!r} is not a date; use e.g. '2024-01-01'") from None
    return stamp - stamp % _DAY  # midnight UTC


def _trunc_exp(rng: np.random.Generator, mean: float, upper: np.ndarray) -> np.ndarray:
    """Exponential(mean) draws truncated to ``[0, upper]`` (by inverting the CDF)."""
    u = rng.random(upper.shape[0])
    return -mean * np.log1p(-u * (1.0 - np.exp(-upper / mean)))


def _time_of_day(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """Move each time to a random evening-heavy time of the same (UTC) day."""
    hours = rng.choice(24, size=t.shape[0], p=_HOURS / _HOURS.sum())
    return np.asarray(t - t % _DAY + hours * 3600 + rng.integers(0, 3600, t.shape[0]), dtype=np.int64)


#: The first day of the simulated period unless ``start`` is given: fixed, so the default catalog is the same
#: on every run (``reelkit serve --demo`` dates its catalog to end the day it is set up instead).
DEFAULT_START = "2024-01-01"


def _check(name: str, value: int, low: int) -> None:
    if int(value) < low:
        raise ConfigError(f"{name} must be at least {low}, not {value}")


def make_demo(
    n_members: int = 2000,
    n_titles: int = 1000,
    n_communities: int = 8,
    *,
    seed: int = 0,
    start: str | int | date | datetime = DEFAULT_START,
    days: int = 365,
    titles_per_member: float = 40.0,
) -> Dataset:
    """Generate the synthetic demo dataset (see the module docstring); deterministic for a given ``seed``.

    ``titles_per_member`` is the mean number of distinct titles a member plays (heavy-tailed: a few
    members play many times more). ``members`` has the ground-truth ``community`` (0-based) of each member.
    """
    _check("n_members", n_members, 2)
    _check("n_titles", n_titles, 10)
    _check("n_communities", n_communities, 1)
    _check("days", days, 28)
    if not titles_per_member >= 1:
        raise ConfigError(f"titles_per_member must be at least 1, not {titles_per_member}")
    rng = np.random.default_rng(seed)
    st = _STRENGTHS
    t0 = _to_unix(start)
    t_end = t0 + days * _DAY
    n_genres = len(GENRES)

    # ---------------------------------------------------------------- communities
    genre_vecs = rng.standard_normal((n_genres, _LATENT))
    comm_genres = rng.dirichlet(np.full(n_genres, 0.35), size=n_communities)
    comm_taste = _unit_rows(
        _unit_rows(comm_genres @ genre_vecs) + 0.9 * _unit_rows(rng.standard_normal((n_communities, _LATENT)))
    )
    comm_size = rng.dirichlet(np.full(n_communities, 6.0))

    # ---------------------------------------------------------------- titles
    home = rng.choice(n_communities, size=n_titles, p=np.sqrt(comm_size) / np.sqrt(comm_size).sum())
    genre_pop = comm_genres.mean(axis=0)
    genre_lists: list[list[int]] = []
    for h in home:
        gs = [int(rng.choice(n_genres, p=comm_genres[h]))]
        for _ in range(int(rng.binomial(2, 0.35))):
            g = int(rng.choice(n_genres, p=genre_pop))
            if g not in gs:
                gs.append(g)
        genre_lists.append(gs)
    genre_mean = np.stack([genre_vecs[gs].mean(axis=0) for gs in genre_lists])
    title_vec = _unit_rows(
        1.0 * comm_taste[home]
        + st.title_genre * _unit_rows(genre_mean)
        + st.title_noise * _unit_rows(rng.standard_normal((n_titles, _LATENT)))
    )
    log_pop = -st.zipf * np.log(rng.permutation(n_titles) + 1.0)
    quality = 0.5 * (log_pop - log_pop.mean()) / log_pop.std() + 0.6 * rng.standard_normal(n_titles)
    is_series = rng.random(n_titles) < 0.2
    is_new = rng.random(n_titles) < 0.2
    years_back = 30.0 * rng.beta(1.0, 3.0, n_titles) + 14 / 365
    back_release = t0 - (years_back * 365.25 * _DAY).astype(np.int64)
    new_release = t0 + rng.integers(0, days - 7, n_titles).astype(np.int64) * _DAY
    released = np.where(is_new, new_release, back_release)
    released = released - released % _DAY
    duration = np.where(
        is_series,
        rng.choice([22, 30, 45, 55], size=n_titles) * 60,
        np.clip(rng.normal(105, 18, n_titles), 70, 180).round() * 60,
    ).astype(np.float64)

    # ---------------------------------------------------------------- members
    community = rng.choice(n_communities, size=n_members, p=comm_size)
    other = (community + rng.integers(1, max(n_communities, 2), n_members)) % n_communities
    mix = rng.beta(1.2, st.member_mix_b, n_members)
    member_vec = _unit_rows(
        (1 - mix)[:, None] * comm_taste[community]
        + mix[:, None] * comm_taste[other]
        + st.member_noise * _unit_rows(rng.standard_normal((n_members, _LATENT)))
    )
    sigma = 0.9
    n_pick = np.exp(rng.normal(np.log(titles_per_member) - sigma**2 / 2, sigma, n_members))
    n_pick = np.clip(np.round(n_pick), 3, max(3, int(0.5 * n_titles))).astype(np.int64)
    joins_late = rng.random(n_members) < 0.3
    join = np.where(joins_late, t0 + rng.integers(0, int(0.8 * days), n_members) * _DAY, t0).astype(np.int64)
    selectivity = st.selectivity * np.exp(0.25 * rng.standard_normal(n_members))
    member_bias = 0.4 * rng.standard_normal(n_members)

    # ---------------------------------------------------------------- who picks what (Gumbel top-k)
    pair_m: list[np.ndarray] = []
    pair_t: list[np.ndarray] = []
    pair_aff: list[np.ndarray] = []
    chunk = max(1, 4_000_000 // n_titles)
    new_boost = np.where(is_new, 1.0, 0.0)
    for lo in range(0, n_members, chunk):
        rows = np.arange(lo, min(lo + chunk, n_members))
        aff = member_vec[rows] @ title_vec.T
        avail_from = np.maximum(join[rows, None], np.maximum(released[None, :], t0))
        window = np.clip((t_end - avail_from) / (120.0 * _DAY), 0.01, 1.0)
        logits = selectivity[rows, None] * aff + log_pop[None, :] + np.log(window) + new_boost[None, :]
        keys = logits + rng.gumbel(size=logits.shape)
        k = int(n_pick[rows].max())
        top = (
            np.argpartition(-keys, k - 1, axis=1)[:, :k]
            if k < n_titles
            else np.tile(np.arange(n_titles), (len(rows), 1))
        )
        order = np.argsort(-np.take_along_axis(keys, top, axis=1), axis=1)
        top = np.take_along_axis(top, order, axis=1)
        keep = np.arange(top.shape[1])[None, :] < n_pick[rows, None]
        r_idx = np.broadcast_to(rows[:, None], top.shape)[keep]
        t_idx = top[keep]
        pair_m.append(r_idx)
        pair_t.append(t_idx)
        pair_aff.append(aff[r_idx - lo, t_idx])
    pm = np.concatenate(pair_m)
    pt = np.concatenate(pair_t)
    paff = np.concatenate(pair_aff)
    n_pairs = pm.shape[0]
    aff_z = (paff - paff.mean()) / (paff.std() + 1e-12)

    # ---------------------------------------------------------------- when: buzz after release, or any time
    lower = np.maximum(np.maximum(join[pm], released[pt]), t0).astype(np.float64)
    span = (t_end - _DAY) - lower
    buzz = is_new[pt] & (rng.random(n_pairs) < 0.65)
    offset = np.where(buzz, _trunc_exp(rng, 10.0 * _DAY, span), rng.random(n_pairs) * span)
    first = _time_of_day(rng, (lower + offset).astype(np.int64))

    # ---------------------------------------------------------------- plays
    engaged = 1.0 / (1.0 + np.exp(-(1.6 * aff_z + 0.6 * quality[pt] - 0.1)))
    completes = rng.random(n_pairs) < engaged
    frac_first = np.where(
        completes,
        np.where(rng.random(n_pairs) < 0.5, 1.0, rng.uniform(0.92, 1.0, n_pairs)),
        0.9 * rng.beta(1.3, 2.2, n_pairs),
    )
    series = is_series[pt]
    dur = duration[pt]
    play_m = [pm]
    play_t = [pt]
    play_ts = [first]
    play_frac = [frac_first]
    # movies: an abandoned one is sometimes resumed (to the end: a play's fraction is the position it reached,
    # as the service records plays); good ones are sometimes rewatched
    resume = ~series & ~completes & (rng.random(n_pairs) < 0.3)
    gap = np.asarray(rng.exponential(2.0 * _DAY, n_pairs) + frac_first * dur, dtype=np.int64)
    play_m.append(pm[resume])
    play_t.append(pt[resume])
    play_ts.append(first[resume] + gap[resume])
    play_frac.append(np.ones(int(resume.sum())))
    rewatch = ~series & completes & (rng.random(n_pairs) < 0.04 + 0.12 * engaged)
    play_m.append(pm[rewatch])
    play_t.append(pt[rewatch])
    play_ts.append(_time_of_day(rng, first[rewatch] + rng.integers(7, 120, int(rewatch.sum())) * _DAY))
    play_frac.append(
        np.where(rng.random(int(rewatch.sum())) < 0.7, 1.0, rng.uniform(0.3, 1.0, int(rewatch.sum())))
    )
    # series: more episodes the more engaged, in sessions
    n_eps = np.where(series, rng.poisson(0.5 + 4.0 * engaged), 0)
    ep_pair = np.repeat(np.arange(n_pairs), n_eps)
    if ep_pair.size:
        same_session = rng.random(ep_pair.size) < 0.6
        step = np.where(
            same_session,
            dur[ep_pair] + rng.integers(60, 900, ep_pair.size),
            rng.exponential(2.5 * _DAY, ep_pair.size),
        )
        starts = np.concatenate([[0], np.cumsum(n_eps)[:-1]])
        cum = np.cumsum(step)
        cum_before = np.repeat(
            np.concatenate([[0.0], cum])[starts], n_eps
        )  # cumulative sum before each pair's run
        ep_ts = first[ep_pair] + (cum - cum_before).astype(np.int64)
        ep_frac = np.where(
            rng.random(ep_pair.size) < 0.25 + 0.7 * engaged[ep_pair], 1.0, rng.beta(1.2, 1.8, ep_pair.size)
        )
        play_m.append(pm[ep_pair])
        play_t.append(pt[ep_pair])
        play_ts.append(ep_ts)
        play_frac.append(ep_frac)
    p_m = np.concatenate(play_m)
    p_t = np.concatenate(play_t)
    p_ts = np.concatenate(play_ts).astype(np.int64)
    p_frac = np.clip(np.round(np.concatenate(play_frac), 3), 0.01, 1.0)
    p_ok = p_ts < t_end
    p_m, p_t, p_ts, p_frac = p_m[p_ok], p_t[p_ok], p_ts[p_ok], p_frac[p_ok]
    p_value = np.round(p_frac * duration[p_t])

    # ---------------------------------------------------------------- ratings and thumbs
    opinion = 3.0 + 0.9 * aff_z + 0.4 * quality[pt] + member_bias[pm] + 0.8 * rng.standard_normal(n_pairs)
    rated = rng.random(n_pairs) < 0.08 + 0.25 * completes
    r_ts = first + (frac_first * dur).astype(np.int64) + rng.integers(0, 600, n_pairs)
    rated &= r_ts < t_end
    stars = np.clip(np.round(opinion), 1, 5)
    thumbed = rng.random(n_pairs) < 0.03 + 0.07 * (frac_first < 0.3)
    t_ts = first + (frac_first * dur).astype(np.int64) + rng.integers(0, 300, n_pairs)
    thumbed &= t_ts < t_end
    thumb = np.where(opinion - 0.8 * (frac_first < 0.3) >= 3.0, 1.0, -1.0)

    # ---------------------------------------------------------------- tables
    m_width = len(str(n_members))
    t_width = len(str(n_titles))
    member_ids = np.array([f"m{i + 1:0{m_width}d}" for i in range(n_members)])
    title_ids = np.array([f"t{i + 1:0{t_width}d}" for i in range(n_titles)])
    n_p, n_r, n_th = p_m.shape[0], int(rated.sum()), int(thumbed.sum())
    kinds = np.repeat(np.array(["play", "rating", "thumb"], dtype=object), [n_p, n_r, n_th])
    events = pd.DataFrame(
        {
            "member_id": member_ids[np.concatenate([p_m, pm[rated], pm[thumbed]])],
            "title_id": title_ids[np.concatenate([p_t, pt[rated], pt[thumbed]])],
            "timestamp": np.concatenate([p_ts, r_ts[rated], t_ts[thumbed]]).astype(np.int64),
            "kind": kinds,
            "value": np.concatenate([p_value, stars[rated], thumb[thumbed]]).astype(np.float64),
            "fraction": np.concatenate([p_frac, np.full(n_r + n_th, np.nan)]),
        }
    )
    events = events.sort_values(["timestamp", "member_id", "title_id"], kind="stable", ignore_index=True)
    events = events.drop_duplicates(
        subset=["member_id", "title_id", "kind", "timestamp", "value"], ignore_index=True
    )
    titles = pd.DataFrame(
        {
            "name": _unique_names(rng, n_titles),
            "genres": ["|".join(GENRES[g] for g in gs) for gs in genre_lists],
            "year": pd.array([datetime.fromtimestamp(int(r), UTC).year for r in released], dtype="Int64"),
            "kind": np.where(is_series, "series", "movie"),
            "released": pd.array(released, dtype="Int64"),
        },
        index=pd.Index(title_ids, name="title_id"),
    )
    first_names = np.array(_PEOPLE)[rng.integers(len(_PEOPLE), size=n_members)]
    initials = np.array(list(_INITIALS))[rng.integers(len(_INITIALS), size=n_members)]
    members = pd.DataFrame(
        {"name": [f"{a} {b}." for a, b in zip(first_names, initials, strict=True)]},
        index=pd.Index(member_ids, name="member_id"),
    )
    ds = Dataset.from_events(events, titles, members, source="demo")
    ds.members["community"] = (
        pd.Series(community, index=member_ids).reindex(ds.members.index).to_numpy(np.int64)
    )
    return ds
