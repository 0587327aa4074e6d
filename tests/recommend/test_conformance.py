"""Every registered model passes the conformance kit."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from reelkit.errors import ModelFormatError
from reelkit.recommend import load_model, registered_models
from reelkit.testing import RecommenderConformance, synthetic_dataset

_MODELS = registered_models()


def _make_suite(name: str) -> type:
    cls = _MODELS[name]
    return type(f"TestConformance_{name.replace('-', '_')}", (RecommenderConformance,), {"model_class": cls})


for _name in sorted(_MODELS):
    globals()[f"TestConformance_{_name.replace('-', '_')}"] = _make_suite(_name)


def test_every_model_is_covered() -> None:
    """The issue's models are all registered, and each one's fast parameters make a valid model."""
    expected = {"popular", "trending", "itemknn", "ease", "als", "rp3beta", "bmf", "community-pop", "blend"}
    assert expected <= set(_MODELS)
    for cls in _MODELS.values():
        assert cls(**cls.fast_params).get_params()


def test_load_rejects_unknown_or_corrupt_model(tmp_path: Path) -> None:
    model = _MODELS["popular"]().fit(synthetic_dataset().interactions())
    path = model.save(tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["__meta__"]))
    bad = tmp_path / "unknown.npz"
    np.savez(bad, **{**arrays, "__meta__": np.asarray(json.dumps({**meta, "model": "no-such-model"}))})
    with pytest.raises(ModelFormatError, match="unknown model"):
        load_model(bad)
    corrupt = tmp_path / "corrupt.npz"
    np.savez(corrupt, **{k: v for k, v in arrays.items() if k != "item_scores"})
    with pytest.raises(ModelFormatError, match="corrupt"):
        load_model(corrupt)


def test_a_model_saved_without_its_extension_loads_by_the_same_name(tmp_path: Path) -> None:
    """``train -o model`` wrote model.npz and ``recommend -m model`` said "no such model file"; ``m.NPZ``
    was saved as m.NPZ.npz."""
    model = _MODELS["popular"]().fit(synthetic_dataset().interactions())
    assert model.save(tmp_path / "model") == tmp_path / "model.npz"
    assert type(load_model(tmp_path / "model")) is type(model)
    assert model.save(tmp_path / "m.NPZ") == tmp_path / "m.NPZ"
    assert type(load_model(tmp_path / "m.NPZ")) is type(model)
