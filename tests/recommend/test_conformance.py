"""Every registered model passes the conformance kit."""

from __future__ import annotations

import pytest

from reelkit.recommend import registered_models
from reelkit.testing import RecommenderConformance

_MODELS = registered_models()


def _make_suite(name: str) -> type:
    cls = _MODELS[name]
    return type(f"TestConformance_{name.replace('-', '_')}", (RecommenderConformance,), {"model_class": cls})


for _name in sorted(_MODELS):
    globals()[f"TestConformance_{_name.replace('-', '_')}"] = _make_suite(_name)


def test_every_model_is_covered() -> None:
    assert {"popular", "trending", "community-pop"} <= set(_MODELS)
    with pytest.raises(KeyError):
        _ = _MODELS["no-such-model"]
