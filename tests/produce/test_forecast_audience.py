"""Audience forecast: concept validation, the time split against baselines, communities of hidden titles."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from threadpoolctl import threadpool_limits

from reelkit.cli import main
from reelkit.produce.forecast import (
    AudienceModel,
    FeatureSet,
    TitlePlacer,
    community_shares,
    concept_base,
    evaluate_assumed_budget,
    evaluate_communities,
    evaluate_time_split,
    load_concept,
    movie_features,
)
from reelkit.produce.production import ProductionFormatError
from reelkit.testing.cli import run_cli as run

ML_SMALL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "movielens" / "ml-latest-small"


def test_concept_errors_name_the_field(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"title": "X", "genres": ["Drama"], "runtime": 100, "rating": "XXX"}))
    with pytest.raises(ProductionFormatError) as info:
        load_concept(path)
    assert str(info.value).startswith(f"{path}:3: rating: unknown MPAA rating")
    path.write_text(yaml.safe_dump({"title": "X", "runtime": 100, "budget": float("inf")}))
    with pytest.raises(ProductionFormatError) as info:
        load_concept(path)
    assert str(info.value).startswith(f"{path}:1: budget")
    path.write_text("title: X\nruntime: true\n")  # YAML true was read as a one-minute film
    with pytest.raises(ProductionFormatError) as info:
        load_concept(path)
    assert str(info.value).startswith(f"{path}:2: runtime") and "not true" in str(info.value)
    # a name YAML read as a number or a yes/no: pydantic said only "Input should be a valid string"
    path.write_text("title: 1917\ngenres: [Drama]\nruntime: 110\nrating: NO\n")
    with pytest.raises(ProductionFormatError) as info:
        load_concept(path)
    said = str(info.value)
    assert said.startswith(f"{path}:1: title: must be text, not the number 1917: quote it")
    assert "rating: must be text, not false: quote it" in said


def test_concept_features() -> None:
    from reelkit.produce.forecast import Concept

    base = concept_base(
        Concept(genres=["drama", "Romance", "Thriller"], runtime=120, budget=1e6, rating="pg-13")
    )
    assert base.shape == (1, 14)
    assert base[0, :7].tolist() == [0, 0, 0, 1, 0, 1, 0]
    assert base[0, 7] == pytest.approx(np.log(120)) and base[0, 8] == pytest.approx(np.log(1e6))
    assert base[0, 9:].tolist() == [0, 0, 1, 0, 0]
    # a running time under a minute is log(1) = 0, not negative (a short's 0.5 min was -0.69)
    short = concept_base(Concept(runtime=0.5, genres=["Drama"], budget=1e6, rating="R"))
    assert short[0, 7] == 0.0


def test_comparables_leave_each_film_out_even_among_identical_ones() -> None:
    """30 films with the same features: each one's k nearest are all at distance 0 and the film itself need
    not be among the k + 1 found; its own audience is never its comparable (the farthest found goes)."""
    from reelkit.produce.forecast import knn_comparables

    ref = np.zeros((30, 3))
    y = np.arange(30.0)
    got = knn_comparables(ref, y, ref, 2, leave_one_out=True)
    assert got.shape == (30,) and np.isfinite(got).all()
    from sklearn.neighbors import NearestNeighbors

    _, idx = NearestNeighbors(n_neighbors=3).fit(ref).kneighbors(ref)
    for i in range(30):
        others = [j for j in idx[i] if j != i][:2]
        assert got[i] == pytest.approx(y[others].mean()), i


def test_title_placer_recovers_a_linear_map() -> None:
    rng = np.random.default_rng(0)
    meta = rng.random((300, 5))
    coef = rng.normal(size=(5, 3))
    placer = TitlePlacer(alpha=1e-6).fit(meta, meta @ coef)
    assert np.allclose(placer.coef_, coef, atol=1e-4)
    comp = np.ones((2, 3))
    out = placer.place(meta[:1], [comp])
    assert np.allclose(out, 0.3 * (meta[:1] @ coef) + 0.7)


def test_title_placer_blends_with_the_mean_of_the_comparables() -> None:
    """Placed = 0.3 x the metadata's place + 0.7 x the comparables' mean (not their largest)."""
    placer = TitlePlacer(alpha=1e-6).fit(np.eye(2), np.eye(2))
    out = placer.place(np.array([[1.0, 0.0]]), [np.array([[0.0, 0.0], [2.0, 4.0]])])
    # 0.3 x [1, 0] + 0.7 x [1, 2]
    assert np.allclose(out, [[1.0, 1.4]], atol=1e-5)


def test_title_placer_is_a_weighted_ridge() -> None:
    """coef = (X'WX + alpha I)^-1 X'WY: with X = Y = I, weights (3, 1) and alpha 1, diag(3/4, 1/2)."""
    placer = TitlePlacer(alpha=1.0).fit(np.eye(2), np.eye(2), weights=np.array([3.0, 1.0]))
    assert np.allclose(placer.coef_, np.diag([0.75, 0.5]))


def _films(genres: np.ndarray, budget: np.ndarray, ratings: list[str]) -> FeatureSet:
    """A feature set of films of 100 minutes from 1990 with these genre flags, budgets and ratings."""
    from reelkit.produce.forecast import GENRES, _base_matrix

    n = len(budget)
    return FeatureSet(
        base=_base_matrix(genres, np.full(n, 100.0), budget, np.array(ratings, dtype=object)),
        target=np.zeros(n),
        year=np.full(n, 1990),
        titles=np.array([f"t{i}" for i in range(n)]),
        genre_key=(genres.astype(np.int64) * (1 << np.arange(len(GENRES)))).sum(axis=1),
        comps_all=np.zeros(n),
        comps_split=np.zeros(n),
    )


@pytest.mark.parametrize(("n_drama", "assumed"), [(20, 1e6), (19, 1e8)])
def test_an_unknown_budget_comes_from_20_or_more_films_of_its_genres(n_drama: int, assumed: float) -> None:
    """With at least 20 Drama films recording a budget, a Drama concept's budget is their median ($1M);
    with 19, the median of every film's ($100M, 30 films of other genres)."""
    from reelkit.produce.forecast import GENRES, Concept, fill_unknowns

    n = n_drama + 30
    genres = np.zeros((n, len(GENRES)))
    genres[:n_drama, GENRES.index("Drama")] = 1.0
    budget = np.array([1e6] * n_drama + [1e8] * 30)
    fs = _films(genres, budget, ["R"] * n)
    known, notes = fill_unknowns(Concept(genres=["Drama"], runtime=100, rating="R"), fs)
    assert known.budget == pytest.approx(assumed) and known.rating == "R"
    assert len(notes) == 1 and ("20 Drama films" in notes[0]) == (n_drama == 20)


def test_the_range_of_a_left_out_budget_and_rating() -> None:
    """A left-out budget ranges over the deciles' midpoints (5th, 15th, ... 95th percentile) of the films
    it is drawn from, equally weighted; a left-out rating over the ratings those films hold, in their
    shares; both left out, every pair (weights multiply). Nothing left out: the concept itself."""
    from reelkit.produce.forecast import GENRES, Concept, assumed_range

    n = 40  # Drama films with budgets exp(1) ... exp(40) (log budgets 1..40), 30 rated R and 10 PG
    genres = np.zeros((n, len(GENRES)))
    genres[:, GENRES.index("Drama")] = 1.0
    log_b = np.arange(1.0, n + 1)
    fs = _films(genres, np.exp(log_b), ["R"] * 30 + ["PG"] * 10)
    given = Concept(genres=["Drama"], runtime=100, budget=5e6, rating="R")
    assert assumed_range(given, fs) == [(given, 1.0)]
    spread = assumed_range(Concept(genres=["Drama"], runtime=100, rating="R"), fs)
    # numpy's linear quantile of 1..40 at q is 1 + 39 q: 2.95, 6.85, ..., 38.05
    assert [np.log(c.budget) for c, _ in spread] == pytest.approx(
        [1 + 39 * q for q in np.arange(0.05, 1, 0.1)]
    )
    assert [w for _, w in spread] == pytest.approx([0.1] * 10) and {c.rating for c, _ in spread} == {"R"}
    both = assumed_range(Concept(genres=["Drama"], runtime=100), fs)
    assert len(both) == 20 and sum(w for _, w in both) == pytest.approx(1.0)
    shares = {r: sum(w for c, w in both if c.rating == r) for r in ("R", "PG")}
    assert shares == pytest.approx({"R": 0.75, "PG": 0.25})


def test_mixture_interval_known_answers() -> None:
    """One component: its own interval back. Two far apart, equal weights: the mixture's 10th percentile
    is the lower one's 20th (z = -0.8416). Skewed halves: each side keeps its own spread."""
    from reelkit.produce.forecast import mixture_interval

    z = 1.2815515655446004
    assert mixture_interval(np.array([0.0]), np.array([-z]), np.array([z]), np.array([1.0])) == pytest.approx(
        (-z, z), abs=1e-7
    )
    assert mixture_interval(
        np.array([2.0]), np.array([1.0]), np.array([5.0]), np.array([3.0])
    ) == pytest.approx((1.0, 5.0), abs=1e-7)
    lo, hi = mixture_interval(
        np.array([-50.0, 50.0]), np.array([-50 - z, 50 - z]), np.array([-50 + z, 50 + z]), np.ones(2)
    )
    assert (lo, hi) == pytest.approx((-50 - 0.8416212335729143, 50 + 0.8416212335729143), abs=1e-6)
    # weights count: with 10% on the lower component, the 10th percentile lies between the two
    lo, _ = mixture_interval(
        np.array([-50.0, 50.0]),
        np.array([-50 - z, 50 - z]),
        np.array([-50 + z, 50 + z]),
        np.array([1.0, 9.0]),
    )
    assert -45 < lo < 45  # between the two: the lower holds exactly the bottom 10%


def test_community_shares_sum_to_one() -> None:
    members = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    shares = community_shares(members, np.array([0, 1, 1]), 2, np.array([[1.0, 0.0]]))
    assert shares.tolist() == [[0.5, 0.5]]


def test_an_average_titles_shares_are_the_mean_over_every_title_up_to_500() -> None:
    """With 250 titles (chunks of 100, 100 and 50) the baseline is the plain mean of every title's shares:
    each title counted once."""
    from reelkit.produce.forecast import average_title_shares

    rng = np.random.default_rng(4)
    members, titles = rng.normal(size=(30, 4)), rng.normal(size=(250, 4))
    labels = np.arange(30) % 3
    want = community_shares(members, labels, 3, titles).mean(axis=0)
    assert average_title_shares(members, labels, 3, titles) == pytest.approx(want, rel=1e-12)


def test_metadata_rows_are_genre_flags_scaled_year_its_square_and_a_bias() -> None:
    """Drama|Horror of 1980 among (Comedy, Drama, Horror): flags 0 1 1, z = (1980 - 1995) / 15 = -1, z^2 = 1,
    bias 1; an unknown year is 1995 (z = 0)."""
    import pandas as pd

    from reelkit.produce.forecast import metadata_matrix

    x = metadata_matrix(
        pd.Series(["Drama|Horror", "Comedy"]), pd.Series([1980, None]), ["Comedy", "Drama", "Horror"]
    )
    assert x.tolist() == [[0, 1, 1, -1, 1, 1], [1, 0, 0, 0, 0, 1]]


def test_a_member_turned_away_from_a_title_is_no_part_of_its_audience() -> None:
    """Negative affinities count as zero: with one member for the title and one against, all its audience
    is the first member's community (counted as |affinity|, it read as half and half)."""
    members = np.array([[1.0, 0.0], [-1.0, 0.0]])
    shares = community_shares(members, np.array([0, 1]), 2, np.array([[1.0, 0.0]]))
    assert shares.tolist() == [[1.0, 0.0]]


def test_time_split_mae_and_genre_mean_baseline_by_hand() -> None:
    """MAE is the mean absolute error, and the genre-mean baseline falls back to the mean of all training
    films for a genre combination it never saw (both worked out by hand on four test films)."""

    class Fixed(AudienceModel):
        def fit(
            self,
            base: np.ndarray,
            target: np.ndarray,
            *,
            comparables: np.ndarray | None = None,
            intervals: bool = False,
        ) -> AudienceModel:
            return self

        def comparables(self, base: np.ndarray, named: object = ()) -> np.ndarray:
            return np.arange(len(base), dtype=np.float64)

        def predict(self, base: np.ndarray, comparables: np.ndarray | None = None) -> np.ndarray:
            return np.array([2.0, 9.0, 1.0, 8.0])

    n = 7
    fs = FeatureSet(
        base=np.zeros((n, 3)),
        target=np.array([1.0, 3.0, 10.0, 2.0, 10.0, 0.0, 8.0]),
        year=np.array([1980, 1980, 1980, 2005, 2005, 2005, 2005]),
        titles=np.array([f"t{i}" for i in range(n)]),
        genre_key=np.array([1, 1, 2, 1, 2, 3, 1]),
        comps_all=np.zeros(n),
        comps_split=np.zeros(n),
    )
    report = evaluate_time_split(fs, cutoff=1990, model=Fixed())
    assert (report.n_train, report.n_test) == (3, 4)
    # test films 2, 10, 0, 8; the model says 2, 9, 1, 8: errors 0, 1, 1, 0
    assert report.mae["gbm"] == pytest.approx(0.5)
    # genre means: key 1 -> (1 + 3) / 2 = 2, key 2 -> 10, key 3 unseen -> (1 + 3 + 10) / 3 = 14/3;
    # errors 0, 0, 14/3, 6
    assert report.mae["genre_mean"] == pytest.approx((14 / 3 + 6) / 4)
    assert report.mae["nearest_comparables"] == pytest.approx((2 + 9 + 2 + 5) / 4)  # 0, 1, 2, 3


@pytest.mark.parametrize("cutoff", [1980, 1995])
def test_the_assumed_budget_evaluation_fits_on_no_film_after_its_cutoff(cutoff: int) -> None:
    """The comparables behind each training film are found among the films up to the cutoff: the cached
    ones (searched among the films up to 1995) only serve the cutoff of 1995. Films from 1981 to 1995 have
    100 log votes, the others at most 3: for the cutoff of 1980 none of them may be a comparable."""
    from reelkit.produce.forecast import GENRES, K_COMPARABLES, _base_matrix, _knn_space, knn_comparables

    seen: list[np.ndarray] = []

    class Spy(AudienceModel):
        def _fit_trees(self, x: np.ndarray, target: np.ndarray, intervals: bool) -> None:
            seen.append(x[:, -1].copy())  # the comparables column the trees are fitted on
            super()._fit_trees(x, target, intervals)

    rng = np.random.default_rng(0)
    year = np.repeat([1975, 1990, 2000], [60, 60, 30])
    n = len(year)
    genres = np.zeros((n, len(GENRES)))
    genres[:, GENRES.index("Drama")] = 1.0
    base = _base_matrix(
        genres, rng.uniform(80, 150, n), rng.uniform(1e6, 1e8, n), np.array(["R"] * n, dtype=object)
    )
    target = np.where((year > 1980) & (year <= 1995), 100.0, rng.uniform(0, 3, n))
    space = _knn_space(base)
    upto = year <= 1995  # as movie_features caches them
    comps_split = np.empty(n)
    comps_split[upto] = knn_comparables(
        space[upto], target[upto], space[upto], K_COMPARABLES, leave_one_out=True
    )
    comps_split[~upto] = knn_comparables(
        space[upto], target[upto], space[~upto], K_COMPARABLES, leave_one_out=False
    )
    fs = FeatureSet(
        base=base,
        target=target,
        year=year,
        titles=np.array([f"t{i}" for i in range(n)]),
        genre_key=np.ones(n, dtype=np.int64),
        comps_all=np.zeros(n),
        comps_split=comps_split,
    )
    report = evaluate_assumed_budget(fs, cutoff=cutoff, model=Spy(max_iter=5))
    tr = year <= cutoff
    assert report.n_films == int((~tr).sum())
    assert len(seen) == 1
    honest = knn_comparables(space[tr], target[tr], space[tr], K_COMPARABLES, leave_one_out=True)
    np.testing.assert_allclose(seen[0], honest)
    if cutoff == 1980:
        assert seen[0].max() <= 3.0


@pytest.mark.data
@pytest.mark.slow
def test_gbm_beats_baselines_on_the_time_split() -> None:
    fs = movie_features()  # cached after the first run (npz, no pickle)
    assert len(fs.target) == 58788
    report = evaluate_time_split(fs, model=AudienceModel(max_iter=60, learning_rate=0.15))
    assert report.n_train > 40000 and report.n_test > 17000
    assert report.spearman["gbm"] > report.spearman["nearest_comparables"] > report.spearman["genre_mean"]
    assert report.mae["gbm"] < report.mae["nearest_comparables"] < report.mae["genre_mean"]


def test_the_time_split_model_stops_early_as_documented() -> None:
    """forecast.md said 150 iterations: above 10,000 films scikit-learn stops early (on 10% held out)."""
    est = AudienceModel()
    evaluate_time_split(movie_features(), model=est)
    assert est.max_iter == 150 and len(est.model_.roots) == 77  # the figure in forecast.md and the docstring


@pytest.mark.data
@pytest.mark.slow
def test_placed_titles_beat_popularity_on_hidden_titles() -> None:
    if not ML_SMALL.exists():
        pytest.skip(f"MovieLens not found at {ML_SMALL}")
    r = evaluate_communities(ML_SMALL / "ratings.csv", n_hidden=100, seed=1)
    assert r.n_hidden == 100
    assert r.overlap["placed"] > r.overlap["popularity"]
    assert r.top_hit["placed"] > r.top_hit["popularity"]


@pytest.mark.data
@pytest.mark.slow
def test_cli_forecast(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not ML_SMALL.exists():
        pytest.skip(f"MovieLens not found at {ML_SMALL}")
    path = tmp_path / "concept.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "title": "Night Harbour",
                "genres": ["Action", "Thriller"],
                "runtime": 118,
                "budget": 40_000_000,
                "rating": "R",
                "comparables": ["Heat", "Ronin", "No Such Film At All"],
                "year": 2024,
            }
        )
    )
    try:
        main(["forecast", "--concept", str(path), "--ratings", str(ML_SMALL / "ratings.csv"), "--json"])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert code == 0, err
    data = json.loads(out)
    assert data["audience_low"] <= data["audience"] <= data["audience_high"]
    assert 1000 < data["audience"] < 1_000_000
    assert data["comparables_found"] == ["Heat", "Ronin"] and data["comparables_missing"] == [
        "No Such Film At All"
    ]
    assert 1 <= len(data["communities"]) <= 5
    assert data["communities"][0]["lift"] >= data["communities"][-1]["lift"]


def test_cli_forecast_prints_the_interval_it_was_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The table line shows the forecast and its 80% interval as computed: about 2,000 votes (1,000–5,000)."""
    import reelkit.produce.forecast as fc

    def fake(c, **kw):  # type: ignore[no-untyped-def]
        return fc.Forecast(c.title, 7.6, 2000.0, 1000.0, 5000.0, (), (), ())

    monkeypatch.setattr(fc, "forecast_concept", fake)
    concept = tmp_path / "c.yaml"
    concept.write_text("title: Night Harbour\ngenres: [Action]\nruntime: 118\n")
    code, out, err = run(capsys, "forecast", "--concept", str(concept))
    assert code == 0, err
    assert "Night Harbour: about 2,000 votes (80% interval 1,000–5,000)" in out
    concept.write_text("title: '[b]Night [INT]'\ngenres: [Action]\nruntime: 118\n")  # text, not markup
    code, out, err = run(capsys, "forecast", "--concept", str(concept))
    assert code == 0 and out.startswith("[b]Night [INT]: about 2,000 votes"), out


def test_a_comparable_with_a_year_is_that_film() -> None:
    from reelkit.produce.forecast import Concept, _split_title, _title_matches, forecast_concept

    assert _split_title("Matrix, The (1999)") == ("the matrix", 1999)
    assert _split_title("Heat") == ("heat", None)
    names, years = ["heat", "heat", "heat", "ronin"], [1972, 1986, 1995, 1998]
    assert _title_matches(names, years, "Heat") == [0, 1, 2]
    assert _title_matches(names, years, "HEAT (1986)") == [1]
    assert _title_matches(names, years, "Heat (2099)") == []

    def audience(comparable: str) -> tuple[float, tuple[str, ...]]:
        f = forecast_concept(Concept(title="X", genres=["Action"], runtime=110, comparables=[comparable]))
        return f.audience, f.comparables_missing

    # ggplot2movies has Heat 1972 (289 votes), 1986 (268) and 1995 (44,588): the year picks the film
    (old, _), (new, _), (best, _) = audience("Heat (1972)"), audience("Heat (1995)"), audience("Heat")
    assert old < new == best
    from reelkit.errors import ReelkitWarning

    with pytest.warns(ReelkitWarning, match=r"not in the catalogue, left out: 'Heat \(2099\)'"):
        assert audience("Heat (2099)")[1] == ("Heat (2099)",)  # said, not dropped in silence


def test_a_comparable_with_a_leading_a_or_an_matches_the_catalogues_trailing_article() -> None:
    """ggplot2movies writes "Beautiful Mind, A" (848 titles end in ", A", 71 in ", An"): "A Beautiful Mind"
    is that film, as "The Matrix" is "Matrix, The"."""
    from reelkit.produce.forecast import _norm_title, _split_title, _title_matches

    assert _split_title("Beautiful Mind, A (2001)") == ("a beautiful mind", 2001)
    assert _split_title("Official Story, An") == ("an official story", None)
    names = [_norm_title(t) for t in ("Beautiful Mind, A", "Official Story, An", "Matrix, The")]
    assert _title_matches(names, [2001, 1985, 1999], "A Beautiful Mind") == [0]
    assert _title_matches(names, [2001, 1985, 1999], "an official story (1985)") == [1]


def test_a_comparable_matches_a_catalogue_title_that_carries_alternate_titles_or_accents() -> None:
    """MovieLens names many films "Main (Alternate) (year)": "Amelie", "Crouching Tiger, Hidden Dragon" and
    "Léon: The Professional" were "not in the MovieLens catalogue"; ggplot2movies is ASCII and often has
    the original title ("Wo hu cang long"), which now names the film in both. An alternate title is read
    only where no film has it as its own ("The Professional" is first the film of that name)."""
    from reelkit.produce.forecast import _title_keys, _title_matches

    listed = [
        "Amelie (Fabuleux destin d'Amélie Poulain, Le) (2001)",
        "Crouching Tiger, Hidden Dragon (Wo hu cang long) (2000)",
        "Léon: The Professional (a.k.a. The Professional) (Léon) (1994)",
        "Professional, The (1981)",
        "Leon the Pig Farmer (1992)",
    ]
    keys = [_title_keys(t) for t in listed]
    names, years = [k for k, _ in keys], [y for _, y in keys]
    assert years == [2001, 2000, 1994, 1981, 1992]
    for wanted, expected in [
        ("Amelie", [0]),
        ("Amélie (2001)", [0]),
        ("Le Fabuleux destin d'Amélie Poulain", [0]),
        ("Crouching Tiger, Hidden Dragon", [1]),
        ("Wo hu cang long (2000)", [1]),
        ("Crouching Tiger, Hidden Dragon (Wo hu cang long) (2000)", [1]),  # as the catalogue writes it
        ("Leon: The Professional", [2]),
        ("Léon", [2]),
        ("The Professional", [3]),  # its own title first
        ("The Professional (1994)", [2]),  # the year names the other
        ("Leon the Pig Farmer", [4]),
        ("Amelie (1999)", []),
    ]:
        assert _title_matches(names, years, wanted) == expected, wanted


def test_a_budget_or_rating_left_out_is_unknown_not_an_obscure_films() -> None:
    """Left out, they went down the trees' missing branch, learnt from the 91% of films without a budget
    (far less voted): an Action/Drama concept without one was forecast 126 votes, with $40M 6,891."""
    from reelkit.produce.forecast import GENRES, Concept, forecast_concept, load_movies

    df = load_movies()
    others = [g for g in GENRES if g not in ("Action", "Drama")]
    ad = df[(df["Action"] == 1) & (df["Drama"] == 1) & (df[others].sum(axis=1) == 0)]
    median, commonest = float(ad["budget"].dropna().median()), str(ad["mpaa"].dropna().mode()[0])
    assert commonest == "R" and round(median) == 11_250_000
    left_out = forecast_concept(Concept(genres=["Action", "Drama"], runtime=118))
    given = forecast_concept(Concept(genres=["Action", "Drama"], runtime=118, budget=median, rating="R"))
    assert left_out.audience == pytest.approx(given.audience) and given.assumed == ()
    assert left_out.assumed == (
        "budget not given: assumed 11,250,000, the median of the 250 Action/Drama films with a budget (the "
        "interval allows for their spread, 150,000 to 100,000,000 from the 5th to the 95th percentile)",
        "rating not given: assumed R, the commonest among the 261 Action/Drama films with a rating (say "
        "'unrated' for none; the interval allows for the others in their shares)",
    )
    # the interval is the mixture of the forecasts over what the budget may be (the rating given)
    import math

    from reelkit.produce.forecast import assumed_range, mixture_interval

    no_budget = Concept(genres=["Action", "Drama"], runtime=118, rating="R")
    each = [(forecast_concept(c), w) for c, w in assumed_range(no_budget, movie_features())]
    logs = np.log1p([[f.audience, f.audience_low, f.audience_high] for f, _ in each])
    lo, hi = mixture_interval(logs[:, 0], logs[:, 1], logs[:, 2], np.array([w for _, w in each]))
    mixed = forecast_concept(no_budget)
    assert (math.log1p(mixed.audience_low), math.log1p(mixed.audience_high)) == pytest.approx(
        (lo, hi), abs=1e-6
    )
    assert mixed.audience_low < given.audience_low and mixed.audience_high > given.audience_high
    # said to be unrated, it is forecast as such (no rating flag), not as the commonest rating
    unrated = forecast_concept(Concept(genres=["Action", "Drama"], runtime=118, budget=median, rating="NR"))
    assert unrated.assumed == () and unrated.audience != pytest.approx(given.audience)
    assert concept_base(Concept(runtime=90, rating="unrated"))[0, 9:].tolist() == [0, 0, 0, 0, 0]


def test_a_left_out_budgets_interval_keeps_the_named_comparables() -> None:
    """With named comparables and no budget, the interval is the mixture of the forecasts, each with those
    comparables, over what the budget may be (the comparables were dropped from the interval's forecasts)."""
    import math

    from reelkit.produce.forecast import Concept, assumed_range, forecast_concept, mixture_interval

    concept = Concept(genres=["Action", "Drama"], runtime=118, rating="R", comparables=["Heat (1995)"])
    each = [(forecast_concept(c), w) for c, w in assumed_range(concept, movie_features())]
    logs = np.log1p([[f.audience, f.audience_low, f.audience_high] for f, _ in each])
    lo, hi = mixture_interval(logs[:, 0], logs[:, 1], logs[:, 2], np.array([w for _, w in each]))
    mixed = forecast_concept(concept)
    assert mixed.comparables_found == ("Heat (1995)",)
    assert (math.log1p(mixed.audience_low), math.log1p(mixed.audience_high)) == pytest.approx(
        (lo, hi), abs=1e-6
    )


def test_the_interval_holds_the_forecast_when_quantiles_cross(monkeypatch: pytest.MonkeyPatch) -> None:
    """The quantile models are fitted apart and can both land below the point forecast: the interval is
    widened to hold it (low from the 10% model, high the forecast itself)."""
    import math

    from reelkit.produce.forecast import Concept, forecast_concept

    def below(self: AudienceModel, base: np.ndarray, comps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        point = self.predict(base, comps)
        return point - 2.0, point - 1.0

    monkeypatch.setattr(AudienceModel, "predict_interval", below)
    f = forecast_concept(Concept(genres=["Drama"], runtime=100, budget=1_000_000, rating="R"))
    assert f.audience_low == pytest.approx(math.expm1(f.log_votes - 2.0))
    assert f.audience_high == pytest.approx(f.audience)


def test_the_interval_holds_the_forecast_when_both_quantiles_land_above(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Both quantile models above the point forecast: low is the forecast itself, high from the 90% model."""
    import math

    from reelkit.produce.forecast import Concept, forecast_concept

    def above(self: AudienceModel, base: np.ndarray, comps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        point = self.predict(base, comps)
        return point + 1.0, point + 2.0

    monkeypatch.setattr(AudienceModel, "predict_interval", above)
    f = forecast_concept(Concept(genres=["Drama"], runtime=100, budget=1_000_000, rating="R"))
    assert f.audience_low == pytest.approx(f.audience)
    assert f.audience_high == pytest.approx(math.expm1(f.log_votes + 2.0))


def test_tree_export_predicts_like_sklearn() -> None:
    from sklearn.ensemble import HistGradientBoostingRegressor

    from reelkit.produce.forecast import TreeEnsemble

    rng = np.random.default_rng(0)
    x = rng.random((2000, 4))
    x[::7, 1] = np.nan
    x[::5, 3] = np.nan
    y = x[:, 0] + np.nan_to_num(x[:, 1]) + rng.normal(0, 0.1, 2000)
    with threadpool_limits(limits=1, user_api="openmp"):  # threads crawl on a shared machine
        gbm = HistGradientBoostingRegressor(max_iter=30, random_state=0).fit(x, y)
    trees = TreeEnsemble.from_sklearn(gbm)
    assert np.allclose(trees.predict(x), gbm.predict(x), rtol=0, atol=1e-12)


def test_audience_model_save_load_round_trip(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n = 600
    genres = (rng.random((n, 7)) < 0.3).astype(float)
    base = np.column_stack(
        [
            genres,
            np.log(rng.uniform(60, 180, n)),
            np.where(rng.random(n) < 0.3, np.log(rng.uniform(1e5, 1e8, n)), np.nan),
        ]
        + [rng.random(n) < 0.2 for _ in range(5)]
    )
    target = base[:, 3] * 2 + base[:, 7] + rng.normal(0, 0.3, n)
    est = AudienceModel(k=5, max_iter=20).fit(base, target, intervals=True)
    # the forecast rises with the comparables' audience, for every film (named hits forecast less than flops)
    grid = np.linspace(target.min() - 1, target.max() + 1, 25)
    for row in base[:20]:
        preds = [est.predict(row[None, :], np.array([g]))[0] for g in grid]
        assert np.all(np.diff(preds) >= -1e-9)
    path = est.save(tmp_path / "m.npz")
    back = AudienceModel.load(path, base, target)
    comps = est.comparables(base[:50])
    assert np.array_equal(back.predict(base[:50], comps), est.predict(base[:50], comps))
    lo, hi = back.predict_interval(base[:50], comps)
    assert np.all(lo <= hi)
    # named comparables take the places of the nearest films: still a mean over k = 5 films
    nearest = np.argsort(np.linalg.norm(est.ref_space_ - est.ref_space_[0], axis=1), kind="stable")
    assert est.comparables(base[:1])[0] == pytest.approx(target[nearest[:5]].mean())
    named = [int(nearest[-1]), int(nearest[0])]  # the farthest film, and the nearest named too (once)
    want = target[[nearest[-1], *nearest[:4]]].mean()
    assert est.comparables(base[:1], named)[0] == pytest.approx(want)
    assert est.comparables(base[:1], list(range(7)))[0] == pytest.approx(target[:7].mean())
    with np.load(path, allow_pickle=False) as z:  # plain arrays only
        assert all(z[k].dtype != object for k in z.files)


def test_the_interval_models_hold_the_10th_and_90th_percentiles() -> None:
    """Films whose log votes are noise (normal, sd 1) around 5: about 10% of them fall below the low model
    and 10% above the high one (the 80% interval), not 20% above (a high model fitted on the 80th)."""
    rng = np.random.default_rng(3)
    n = 2000
    base = np.column_stack(
        [
            (rng.random((n, 7)) < 0.3).astype(float),
            np.log(rng.uniform(60, 180, n)),
            np.where(rng.random(n) < 0.3, np.log(rng.uniform(1e5, 1e8, n)), np.nan),
        ]
        + [rng.random(n) < 0.2 for _ in range(5)]
    )
    target = rng.normal(5, 1, n)
    est = AudienceModel(k=5, max_iter=5).fit(base, target, intervals=True)
    lo, hi = est.predict_interval(base, est.comparables(base))
    assert 0.05 < np.mean(target < lo) < 0.14 and 0.05 < np.mean(target > hi) < 0.14


def test_a_comparable_named_twice_counts_once() -> None:
    """One film named twice ("Heat" and "Heat (1995)") counts once: the feature is the mean of it and the
    k - 1 nearest others, not of that film twice and k - 2 others."""
    rng = np.random.default_rng(2)
    n = 200
    base = np.column_stack(
        [
            (rng.random((n, 7)) < 0.3).astype(float),
            np.log(rng.uniform(60, 180, n)),
            np.where(rng.random(n) < 0.3, np.log(rng.uniform(1e5, 1e8, n)), np.nan),
        ]
        + [rng.random(n) < 0.2 for _ in range(5)]
    )
    target = rng.normal(5, 2, n)
    est = AudienceModel(k=5, max_iter=5).fit(base, target)
    nearest = np.argsort(np.linalg.norm(est.ref_space_ - est.ref_space_[0], axis=1), kind="stable")
    far = int(nearest[-1])
    want = target[[far, *nearest[:4]]].mean()
    assert est.comparables(base[:1], [far, far])[0] == pytest.approx(want)


def test_a_misspelt_genre_is_refused_not_ignored(tmp_path: Path) -> None:
    from reelkit.produce.forecast import Concept

    # "Actoin" matched no flag and no community genre: the forecast silently fell to that of no genre
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"title": "X", "genres": ["Actoin"], "runtime": 100}))
    with pytest.raises(ProductionFormatError, match=r"genres: .*'Actoin'"):
        load_concept(path)
    with pytest.raises(ValueError, match="'Actoin'"):
        Concept(genres=["Nope", "Actoin"], runtime=100)
    assert Concept(genres=[" sci-fi", "Thriller"], runtime=100).genres == ["sci-fi", "Thriller"]


def test_ml100k_genres_match_in_either_spelling_and_one_the_catalogue_lacks_is_refused() -> None:
    """ML-100K writes "Children's": a concept's "Children" was dropped in silence there, and "Children's" was
    refused as unknown."""
    import warnings

    from reelkit.errors import DataFormatError, ReelkitWarning
    from reelkit.produce.forecast import Concept, community_forecast

    ratings = ML_SMALL.parent / "ml-100k" / "u.data"
    if not ratings.exists():
        pytest.skip(f"MovieLens 100K not found at {ratings}")

    def placed(*genres: str) -> list[tuple[str, float]]:
        c = Concept(genres=list(genres), runtime=90, year=1997)
        with warnings.catch_warnings():
            warnings.simplefilter("error", ReelkitWarning)
            return [(x.name, round(x.lift, 9)) for x in community_forecast(c, ratings, top=8)]

    children = placed("Children", "Animation")
    assert children == placed("children's", "Animation") != placed("Animation")
    with pytest.raises(
        DataFormatError, match=r"u\.data: the concept's genre 'IMAX' is not in this catalogue"
    ):
        placed("IMAX", "Animation")
    with pytest.warns(
        ReelkitWarning, match="'Short' is not in the catalogue's genres: used for the audience"
    ):
        community_forecast(Concept(genres=["Short", "Animation"], runtime=9, year=1997), ratings)


def test_a_concept_year_past_the_catalogue_is_its_last_year_and_lift_is_against_an_average_title() -> None:
    """A year of 2026 extrapolated the quadratic year term from films up to 2018 until it outweighed every
    genre; lift against head count put the communities of heavy viewers on top of every concept."""
    if not ML_SMALL.exists():
        pytest.skip(f"MovieLens not found at {ML_SMALL}")
    from reelkit.produce.forecast import Concept, _train_catalog, community_forecast
    from reelkit.progress import SILENT

    ratings = ML_SMALL / "ratings.csv"
    cat = _train_catalog(ratings, 8, SILENT)
    last = int(cat.years[1])

    def top(year: int | None) -> list[tuple[str, float]]:
        c = Concept(title="X", genres=["Horror"], runtime=100, year=year)
        return [(x.name, round(x.lift, 9)) for x in community_forecast(c, ratings)]

    assert top(2026) == top(last) == top(None)  # held at the catalogue's last year, also without one
    assert abs(float(cat.baseline.sum()) - 1.0) < 1e-9  # an average title's audience split: shares sum to 1


def test_community_lift_is_the_share_over_an_average_titles_share_and_size_counts_members(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each community's lift is its share of the concept's audience over its share of an average title's
    (the catalogue's baseline, not its head count), its size is its number of members (60 in all), and a
    year before the catalogue's first is placed at that first year."""
    import reelkit.produce.forecast as fc
    from reelkit.progress import SILENT

    genres = ["Action", "Comedy", "Drama", "Horror"]
    rows = ["userId,movieId,rating,timestamp"] + [
        f"{u},{(u * 7 + i) % 40},{1 + (u + i) % 5},{1_000_000_000 + i}" for u in range(60) for i in range(12)
    ]
    (tmp_path / "ratings.csv").write_text("\n".join(rows) + "\n")
    movies = ["movieId,title,genres"] + [
        f"{m},Film {m} ({1980 + m % 30}),{genres[m % 4]}|{genres[(m // 4) % 4]}" for m in range(40)
    ]
    (tmp_path / "movies.csv").write_text("\n".join(movies) + "\n")
    cat = fc._train_catalog(tmp_path / "ratings.csv", 3, SILENT)
    monkeypatch.setattr(fc, "_train_catalog", lambda *args: cat)  # the same catalogue, trained once
    out = fc.community_forecast(fc.Concept(genres=["Horror"], runtime=90), tmp_path / "ratings.csv", top=3)
    assert sorted(x.id for x in out) == [0, 1, 2] and sum(x.share for x in out) == pytest.approx(1.0)
    assert [x.lift for x in out] == pytest.approx([x.share / cat.baseline[x.id] for x in out], rel=1e-12)
    assert [x.lift for x in out] == sorted((x.lift for x in out), reverse=True)
    assert [x.size for x in out] == [int(np.sum(cat.labels == x.id)) for x in out]
    assert sum(x.size for x in out) == 60
    assert not np.allclose(cat.baseline, np.bincount(cat.labels) / 60)  # head count would read otherwise
    # a year before the catalogue's first (1980) is held at it, as one after its last is at the last

    def placed(year: int) -> list[tuple[int, float]]:
        c = fc.Concept(genres=["Horror"], runtime=90, year=year)
        return [(x.id, x.share) for x in fc.community_forecast(c, tmp_path / "ratings.csv", top=3)]

    assert cat.years == (1980.0, 2009.0) and placed(1890) == placed(1980) != placed(1995)


def test_a_catalogue_without_genres_is_refused_not_forecast_alike(tmp_path: Path) -> None:
    """ratings.csv without movies.csv beside it: every concept got the same communities, without a word."""
    from reelkit.errors import DataFormatError
    from reelkit.produce.forecast import Concept, community_forecast

    rows = ["userId,movieId,rating,timestamp"] + [
        f"{u},{(u * 7 + i) % 40},{1 + (u + i) % 5},{1_000_000_000 + i}" for u in range(60) for i in range(12)
    ]
    (tmp_path / "ratings.csv").write_text("\n".join(rows) + "\n")
    with pytest.raises(DataFormatError, match=r"ratings\.csv: no title has genres.*movies\.csv"):
        community_forecast(Concept(title="X", genres=["Action"], runtime=100), tmp_path / "ratings.csv")


def test_leave_one_out_comparables_drop_the_film_itself_among_duplicates() -> None:
    """Films with the same features tie at distance 0; dropping the first neighbour dropped another film
    about a third of the time and kept the film's own audience in its comparables feature."""
    from reelkit.produce.forecast import knn_comparables

    space = np.zeros((4, 2))  # four films with identical features
    space[3] = 10.0  # ... but the last is far away
    target = np.array([1.0, 2.0, 4.0, 8.0])
    comps = knn_comparables(space, target, space, 2, leave_one_out=True)
    # each of the first three: the mean of the other two (never its own value)
    assert comps[:3].tolist() == [3.0, 2.5, 1.5]
    assert comps[3] in (1.5, 2.5, 3.0)  # the far film: two of the others, not itself
    plain = knn_comparables(space, target, space[:1], 3, leave_one_out=False)
    assert plain.tolist() == [pytest.approx(7 / 3)]


def test_a_comparable_with_a_year_is_that_movielens_film_and_one_missing_is_said_per_catalogue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MovieLens keeps "Film 3" and 1983 apart: "Film 3 (1983)" matched no title there and was dropped from
    the communities in silence (while listed as found); a comparable missing from one catalogue is said for
    that catalogue."""
    import warnings

    import reelkit.produce.forecast as fc
    from reelkit.errors import ReelkitWarning
    from reelkit.progress import SILENT

    genres = ["Action", "Comedy", "Drama", "Horror"]
    rows = ["userId,movieId,rating,timestamp"] + [
        f"{u},{(u * 7 + i) % 40},{1 + (u + i) % 5},{1_000_000_000 + i}" for u in range(60) for i in range(12)
    ]
    (tmp_path / "ratings.csv").write_text("\n".join(rows) + "\n")
    movies = ["movieId,title,genres"] + [
        f"{m},{'Heat' if m == 3 else f'Film {m}'} ({1980 + m % 30}),{genres[m % 4]}|{genres[(m // 4) % 4]}"
        for m in range(40)
    ]
    (tmp_path / "movies.csv").write_text("\n".join(movies) + "\n")
    ratings = tmp_path / "ratings.csv"
    cat = fc._train_catalog(ratings, 3, SILENT)
    monkeypatch.setattr(fc, "_train_catalog", lambda *args: cat)

    def placed(*comparables: str) -> list[tuple[int, float]]:
        c = fc.Concept(genres=["Horror"], runtime=90, comparables=list(comparables))
        return [(x.id, round(x.share, 12)) for x in fc.community_forecast(c, ratings, top=3)]

    with warnings.catch_warnings():
        warnings.simplefilter("error", ReelkitWarning)
        assert placed("Heat (1983)") == placed("Heat") != placed()
    with pytest.warns(ReelkitWarning, match=r"not in the MovieLens catalogue ratings\.csv.*'Heat \(1995\)'"):
        assert placed("Heat (1995)") == placed()
    # Heat (1995) is in ggplot2movies, not in this catalogue; Film 7 in neither: each said for its catalogue
    with pytest.warns(ReelkitWarning):
        f = fc.forecast_concept(
            fc.Concept(genres=["Horror"], runtime=90, comparables=["Heat (1995)", "Film 7 (1987)"]),
            ratings=ratings,
            n_communities=3,
        )
    assert f.comparables_found == ("Heat (1995)",) and f.comparables_missing == ("Film 7 (1987)",)
    assert f.comparables_missing_communities == ("Heat (1995)",)


def test_the_forecast_help_says_what_scale_its_votes_and_budgets_are_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """'about 8,272 votes' read as a modern IMDb count: the help names ggplot2movies' scale (films up to 2005,
    median 30 votes) and nominal dollars of the release year."""
    code, out, _ = run(capsys, "forecast", "--help")
    text = " ".join(out.split())
    assert code == 0
    assert "ggplot2movies' IMDb vote counts (films up to 2005" in text and "has 30 votes" in text
    assert "nominal US dollars of the release year" in text


@pytest.mark.parametrize(
    ("rows", "args", "message"),
    [
        (
            "1,1,4,1000\n1,2,3,1000\n2,1,5,1000\n2,2,4,1000\n",
            [],
            "ratings.csv: --communities 8 asks for more taste communities than the file's 2 members; give "
            "--communities 2 or fewer, ratings of more members (--ratings), or leave --ratings out",
        ),
        (
            "1,1,4,1000\n",
            [],
            "ratings.csv: too little data for taste communities (--communities 8): they need ratings of at "
            "least 2 members and 2 titles; give a larger ratings file (--ratings), or leave --ratings out",
        ),
        (  # 2 members, 1 title: said at once, not "give --communities 2 or fewer" and then this
            "1,1,4,1000\n2,1,5,1000\n",
            [],
            "ratings.csv: too little data for taste communities (--communities 8)",
        ),
        (
            "1,1,4,1000\n1,2,3,1000\n2,1,5,1000\n2,2,4,1000\n",
            ["catalog"],
            "ratings.csv: --communities 8 asks for more taste communities than the file's 2 members; give "
            "--communities 2 or fewer, ratings of more members ('catalog:'), or leave 'catalog:' out",
        ),
    ],
)
def test_cli_forecast_on_too_few_members_names_the_ratings_and_communities(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rows: str, args: list[str], message: str
) -> None:
    """A ratings file of 1 member answered 'asked for 8 communities but the data has only 1 members; ask for
    at most 1' (naming neither the file nor --communities, which takes 2 or more)."""
    (tmp_path / "movies.csv").write_text("movieId,title,genres\n1,Heat (1995),Drama\n2,Ronin (1998),Action\n")
    (tmp_path / "ratings.csv").write_text("userId,movieId,rating,timestamp\n" + rows)
    concept = tmp_path / "c.yaml"
    text = "title: X\ngenres: [Drama]\nruntime: 100\nbudget: 1000000\nrating: R\n"
    if args == ["catalog"]:
        concept.write_text(text + "catalog: ratings.csv\n")
        args = []
    else:
        concept.write_text(text)
        args = ["--ratings", str(tmp_path / "ratings.csv"), *args]
    code, _, err = run(capsys, "forecast", "--concept", str(concept), *args)
    assert code == 2
    assert message in " ".join(err.split()) and "at most 1" not in err


def test_cli_forecast_on_a_movies_file_names_what_forecast_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--ratings movies.csv answered 'pass --columns user,item,...', an option forecast has not."""
    (tmp_path / "movies.csv").write_text("movieId,title,genres\n1,Heat (1995),Action\n")
    concept = tmp_path / "c.yaml"
    concept.write_text("title: X\ngenres: [Action]\nruntime: 100\n")
    code, _, err = run(
        capsys, "forecast", "--concept", str(concept), "--ratings", str(tmp_path / "movies.csv")
    )
    assert code == 2 and "--columns" not in err
    assert "movies.csv: no member_id column" in err and "forecast reads a MovieLens ratings file" in err


def test_the_notes_say_where_an_assumed_budget_comes_from() -> None:
    """Too few films of the genre: "the median of the 50 films with a budget, of any genre" (it read "the
    median of the all 50 films"); a genre the audience model has no flag for is said to be left out."""
    from reelkit.produce.forecast import GENRES, Concept, fill_unknowns

    n = 50
    genres = np.zeros((n, len(GENRES)))
    genres[:19, GENRES.index("Drama")] = 1.0
    fs = _films(genres, np.array([1e6] * 19 + [1e8] * 31), ["R"] * n)
    _, notes = fill_unknowns(Concept(genres=["Drama"], runtime=100, rating="R"), fs)
    assert "the median of the 50 films with a budget, of any genre (fewer than 20 Drama ones)" in notes[0]
    _, notes = fill_unknowns(Concept(genres=["Thriller"], runtime=100, rating="R"), fs)
    assert len(notes) == 2 and notes[0].startswith("Thriller: not among the audience model's genres")
    _, notes = fill_unknowns(Concept(genres=["Thriller"], runtime=100, rating="R", budget=1e6), fs)
    assert notes == ()  # nothing assumed: nothing compared
    # a flagged genre beside it: the films compared are the Drama ones, so no note says they have no genre
    _, notes = fill_unknowns(Concept(genres=["Drama", "Thriller"], runtime=100, rating="R"), fs)
    assert len(notes) == 1 and notes[0].startswith("budget not given"), notes


def test_a_cache_folder_that_cannot_be_written_is_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The npz files only save time: a read-only cache (REELKIT_CACHE on a file here) gave an error after
    the forecast was computed; now the model is returned and the warning names REELKIT_CACHE."""
    from reelkit.errors import ReelkitWarning
    from reelkit.produce.forecast import GENRES, audience_model

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("REELKIT_CACHE", str(blocker))
    rng = np.random.default_rng(0)
    n = 120
    genres = (rng.random((n, len(GENRES))) < 0.3).astype(float)
    fs = _films(genres, rng.uniform(1e5, 1e8, n), ["R"] * n)
    fs = dataclasses.replace(fs, target=rng.normal(5, 1, n), comps_all=rng.normal(5, 1, n))
    with pytest.warns(ReelkitWarning, match="could not write the forecast cache .*REELKIT_CACHE"):
        model = audience_model(fs)
    assert np.isfinite(model.predict(fs.base[:3], comparables=fs.comps_all[:3])).all()
