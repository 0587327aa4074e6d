"""Library conventions across the pillars: misuse raises the project's errors (reelkit.errors) naming what to
pass, unfitted estimators say so, parameters round-trip, and the error module exports every class."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pandas as pd
import pytest

import reelkit.errors as errors
from reelkit.errors import ConfigError, NotFittedError
from reelkit.testing import synthetic_dataset


@pytest.fixture(scope="module")
def data():  # type: ignore[no-untyped-def]
    return synthetic_dataset(n_members=40, n_titles=30, seed=1)


def test_recommender_misuse_is_a_config_error(data) -> None:  # type: ignore[no-untyped-def]
    from reelkit.recommend.bayes_mf import BayesianMF
    from reelkit.recommend.ease import EASE

    m = BayesianMF(rank=4, n_iter=12, burn_in=2).fit(data)
    members = list(m.member_ids_[:4])
    with pytest.raises(ConfigError, match="4 members but 1 titles"):  # the kernel read past its arrays
        m.predict(members, list(m.title_ids_[:1]))
    assert m.predict(members, list(m.title_ids_[:4])).shape == (4,)
    with pytest.raises(ConfigError, match="not a single string"):
        m.recommend(members[0])  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="n must be"):
        m.recommend(members, n=0)
    with pytest.raises(ConfigError, match="2 query names for 1 histories"):
        m.recommend_history([[m.title_ids_[0]]], 3, queries=["a", "b"])
    with pytest.raises(ConfigError, match="ratings must be numbers"):
        m.recommend_history([{m.title_ids_[0]: "x"}])
    # NaN is "seen, not rated": a history mixing rated and unrated titles is one call
    assert m.recommend_history([{m.title_ids_[0]: 4.0, m.title_ids_[1]: math.nan}], 3).ids.shape == (1, 3)
    with pytest.raises(ConfigError, match=r"Dataset\.from_events"):
        EASE().fit(pd.DataFrame({"user": [1], "item": [2]}))  # type: ignore[arg-type]
    # scikit-learn's clone protocol
    e = EASE(regularization=50.0)
    assert e.get_params(deep=True)["regularization"] == 50.0
    assert e.set_params(regularization=7.0) is e and e.get_params()["regularization"] == 7.0
    with pytest.raises(ConfigError):
        e.set_params(regularization=-1.0)


def test_unfitted_models_say_so() -> None:
    from reelkit.produce.forecast import AudienceModel, TitlePlacer
    from reelkit.recommend.communities import CommunityPopularity
    from reelkit.recommend.ease import EASE

    cp = CommunityPopularity()
    for call in (
        lambda: cp.assign(["m1"]),
        lambda: cp.n_communities_,
        lambda: EASE().cooccurrence_similarity(np.zeros(1, int)),
    ):
        with pytest.raises(NotFittedError):
            call()
    assert not hasattr(cp, "n_communities_") and getattr(cp, "labels_", None) is None  # like scikit-learn
    with pytest.raises(NotFittedError):
        AudienceModel().save("never.npz")
    with pytest.raises(NotFittedError):
        AudienceModel().predict(np.zeros((2, 3)))
    with pytest.raises(NotFittedError):
        TitlePlacer().place(np.zeros((2, 3)))


def test_audience_model_shapes() -> None:
    from reelkit.produce.forecast import AudienceModel

    rng = np.random.default_rng(0)
    base, y = rng.random((60, 4)), rng.random(60)
    with pytest.raises(ConfigError, match="one target per film"):
        AudienceModel(k=5).fit(base, y[:10])
    with pytest.raises(ConfigError, match="k=0"):
        AudienceModel(k=0).fit(base, y)
    m = AudienceModel(k=5, max_iter=5).fit(base, y)
    with pytest.raises(ConfigError, match="films x 4 features"):
        m.predict(base[:3, :2])
    assert m.predict(base[:3]).shape == (3,)


def test_meter_refuses_transposed_or_odd_input() -> None:
    from reelkit.post.loudness import Meter, measure

    x = (0.1 * np.sin(np.arange(48000) / 10)).astype(np.float32)
    stereo = np.stack([x, x], axis=1)
    with pytest.raises(ConfigError, match=r"look like \(channels, frames\)"):
        measure(stereo.T, 48000)
    ref = measure(stereo, 48000).integrated_lufs
    assert (
        measure(stereo, 48000.0).integrated_lufs == measure(stereo, np.float32(48000)).integrated_lufs == ref
    )
    for rate in (44100.5, True, "48000"):
        with pytest.raises(ConfigError, match="sample rate"):
            measure(stereo, rate)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="finite"):
        Meter(channel_weights=[math.nan, 1.0]).measure(stereo, 48000)
    with pytest.raises(ConfigError, match="frame length"):
        Meter().measure(stereo, 48000, speech_mask=(0.0, np.ones(3)))


def test_abr_observations_are_measurements() -> None:
    from reelkit.stream.abr.base import Observation

    Observation(3, 1, 1e5, 0.5, 4.0)
    Observation(0, 0, 0.0, 0.0, 0.0)  # a first request has no measurement yet
    for bad in (
        {"last_download_s": math.inf},
        {"last_download_s": math.nan},
        {"buffer_s": math.nan},
        {"last_chunk_bytes": -1.0},
        {"chunk_index": -1},
    ):
        kw = {
            "chunk_index": 3,
            "last_level": 1,
            "last_chunk_bytes": 1e5,
            "last_download_s": 0.5,
            "buffer_s": 4.0,
        }
        with pytest.raises(ConfigError):
            Observation(**{**kw, **bad})  # type: ignore[arg-type]


def test_fill_planner_and_forecast_inputs() -> None:
    from reelkit.stream.fill import FillConfig, FillPlanner
    from reelkit.stream.forecast import ForecastConfig, daily_counts

    fp = FillPlanner(FillConfig(capacity_bytes=1000))
    f, sizes, present = np.array([3.0, 2.0, 1.0, 0.0]), np.array([400, 400, 400, 10]), np.zeros(4, bool)
    assert fp.plan(f, sizes, present).pinned.tolist() == [0, 1]
    for args, needle in (
        ((f, sizes[:3], present), "one value per object"),
        ((np.array([math.nan, 3, 1, 0]), sizes, present), "finite"),
        ((f, np.array([-400, 400, 400, 10]), present), "positive size"),
    ):
        with pytest.raises(ConfigError, match=needle):
            fp.plan(*args)
    with pytest.raises(ConfigError, match="FillConfig"):
        FillPlanner({"capacity_bytes": 5})  # type: ignore[arg-type]
    for make in (
        lambda: FillConfig(capacity_bytes=-1),
        lambda: ForecastConfig(model="xx"),  # type: ignore[arg-type]
        lambda: FillConfig.model_validate_json('{"capacity_bytes": -1}'),
        lambda: FillConfig.model_validate({"capacity_bytes": 1, "colour": "red"}),
    ):
        with pytest.raises(ConfigError, match=r"(Fill|Forecast)Config: \w+"):
            make()
    cfg = FillConfig(capacity_bytes=10)
    assert FillConfig.model_validate_json(cfg.model_dump_json()) == cfg
    with pytest.raises(ConfigError, match=r"indices 0\.\.2"):
        daily_counts([1.0, 2.0], [0, 5], 3)
    with pytest.raises(ConfigError, match="finite"):
        daily_counts([1.0, math.nan], [0, 1], 3)
    with pytest.raises(ConfigError, match="one value per request"):
        daily_counts([1.0, 2.0], [0, 1], 3, weights=[1.0])
    # items outside the counted window are not counted, nor checked
    assert daily_counts([1.0, 90000.0, 5e6], [0, 1, 7], 2, end_s=200000.0).counts.shape == (2, 3)


def test_a_validated_config_names_its_class_and_field_once() -> None:
    """Pins the message from model_validate and model_validate_json (which run the config's __init__ and
    wrap its error): 'FillConfig: colour: ...', not 'FillConfig: (config): FillConfig: colour: ...'."""
    from reelkit.stream.fill import FillConfig

    want = "FillConfig: colour: unknown field (check the spelling)"
    for make in (
        lambda: FillConfig.model_validate({"capacity_bytes": 1, "colour": "red"}),
        lambda: FillConfig.model_validate_json('{"capacity_bytes": 1, "colour": "red"}'),
    ):
        with pytest.raises(ConfigError) as info:
            make()
        assert str(info.value) == want


def test_produce_configs_are_typed() -> None:
    from reelkit.produce.shoot import SolveOptions
    from reelkit.produce.talent import TalentInstance
    from reelkit.produce.talent.solver import TalentConfig

    with pytest.raises(ConfigError, match=r"TalentConfig\.time_limit"):
        TalentConfig(time_limit="5")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"SolveOptions\.num_workers"):
        SolveOptions(num_workers=1.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"whole numbers \(days, cost units\), got \[1\.5\]"):
        TalentInstance(np.ones((2, 3), bool), np.array([1.5, 2, 1]), np.array([1, 1]))  # 1.5 was 1
    # numpy's scalars are numbers
    SolveOptions(seed=np.int64(3), time_limit=np.float32(5))
    TalentConfig(memory_mb=np.int64(64), time_limit=np.float32(5))


def test_every_error_class_is_exported() -> None:
    defined = {n for n, c in inspect.getmembers(errors, inspect.isclass) if c.__module__ == errors.__name__}
    assert defined == set(errors.__all__)


def test_shown_keeps_a_value_up_to_the_limit_and_cuts_a_longer_one_to_it() -> None:
    """``shown``: 80 characters pass whole; 81 become 77 and '...', 80 in all."""
    assert errors.shown("x" * 80) == "x" * 80
    assert errors.shown("y" * 81) == "y" * 77 + "..." and len(errors.shown("y" * 200)) == 80
    assert errors.shown("abcdef", limit=5) == "ab..."


def test_pydantic_messages_name_the_nested_field_and_drop_value_error() -> None:
    """A nested field is named by its whole path (``inner.items.1``) and a validator's message loses
    pydantic's 'Value error, '."""
    import pydantic

    from reelkit.config import pydantic_message

    class Inner(pydantic.BaseModel):
        items: list[int]

        @pydantic.field_validator("items")
        @classmethod
        def _short(cls, v: list[int]) -> list[int]:
            if len(v) > 2:
                raise ValueError("at most 2 items")
            return v

    class Outer(pydantic.BaseModel):
        inner: Inner

    with pytest.raises(pydantic.ValidationError) as info:
        Outer.model_validate({"inner": {"items": [1, "x"]}})
    assert pydantic_message(info.value).startswith("inner.items.1: Input should be a valid integer")
    with pytest.raises(pydantic.ValidationError) as info:
        Outer.model_validate({"inner": {"items": [1, 2, 3]}})
    assert pydantic_message(info.value) == "inner.items: at most 2 items"


def test_check_numbers_refuses_a_bool_for_a_number() -> None:
    """``True`` is an int to Python but no worker count: ``check_numbers`` refuses it, naming the field."""
    from reelkit.config import check_numbers

    check_numbers("Opt", n=(3, int), x=(2, float), y=(None, float))
    for kind in (int, float):
        with pytest.raises(ConfigError, match=r"^Opt\.n must be a .*, got True$"):
            check_numbers("Opt", n=(True, kind))


def test_check_numbers_says_number_for_a_float_and_whole_number_for_an_int() -> None:
    """Pins the wording: a float field asks for a number, an int field for a whole number."""
    from reelkit.config import check_numbers

    with pytest.raises(ConfigError, match=r"^Opt\.x must be a number, got '5'$"):
        check_numbers("Opt", x=("5", float))
    with pytest.raises(ConfigError, match=r"^Opt\.n must be a whole number, got 1\.5$"):
        check_numbers("Opt", n=(1.5, int))


def test_only_a_failed_bound_on_a_nan_reads_as_a_nan() -> None:
    """Pins that a text 'nan' failing a choice of words keeps pydantic's message (no bound was failed)."""
    from reelkit.config import error_message

    err = {"type": "literal_error", "input": "nan", "msg": "Input should be 'hold' or 'drop'"}
    assert error_message(err) == "Input should be 'hold' or 'drop'"
    assert error_message({**err, "type": "greater_than"}) == "must be a finite number, not nan"


def test_a_nan_or_infinity_is_named_as_one_not_as_a_failed_bound(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import pydantic
    from pydantic import Field

    from reelkit.config import error_message, pydantic_message

    class Bounded(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(extra="forbid")
        rate: float = Field(0.0, ge=0, le=10)

    for bad, said in ((math.nan, "not nan"), (math.inf, "not inf"), (-math.inf, "not -inf")):
        with pytest.raises(pydantic.ValidationError) as info:
            Bounded(rate=bad)
        assert error_message(info.value.errors()[0]) == f"must be a finite number, {said}"
    with pytest.raises(pydantic.ValidationError) as info:
        Bounded.model_validate({"rate": "nan"})  # as a JSON settings file or a query string gives it
    assert error_message(info.value.errors()[0]) == "must be a finite number, not nan"
    with pytest.raises(pydantic.ValidationError) as info:
        Bounded(rate=11.0)  # a finite number out of bounds keeps pydantic's words
    assert pydantic_message(info.value) == "rate: Input should be less than or equal to 10"
    with pytest.raises(pydantic.ValidationError) as info:
        Bounded.model_validate({"rte": 1.0})
    assert error_message(info.value.errors()[0]) == "unknown field (check the spelling)"
    # through a user-facing loader: the file and the field are named
    from reelkit.produce.crew import load_pool
    from reelkit.produce.production import ProductionFormatError

    pool = tmp_path / "pool.yaml"
    pool.write_text("candidates:\n - id: a\n   roles: [actor]\n   daily_rate: .nan\n")
    with pytest.raises(
        ProductionFormatError, match=r"candidates\[0\]\.daily_rate: must be a finite number, not nan"
    ):
        load_pool(pool)
