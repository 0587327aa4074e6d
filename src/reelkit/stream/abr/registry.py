"""Policies by name: :func:`make_policy` and :func:`available_policies`.

``best`` is the policy reelkit ships as its strongest: ``models/best.json`` (package data) names the
algorithm and its model file beside it, loaded through :mod:`importlib.resources`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from reelkit.errors import ConfigError, ModelFormatError
from reelkit.stream.abr.base import AbrPolicy

if TYPE_CHECKING:
    from reelkit.stream.abr.stochastic import StochasticMPC

__all__ = [
    "MODELS_PACKAGE",
    "available_policies",
    "is_optimal",
    "load_any_model",
    "make_policy",
    "policy_name",
    "shipped_model_path",
    "takes_model",
]

MODELS_PACKAGE = "reelkit.stream.abr.models"


def shipped_model_path(filename: str) -> Path:
    """Path of a model file shipped in ``reelkit/stream/abr/models``."""
    res = resources.files(MODELS_PACKAGE).joinpath(filename)
    if not res.is_file():
        raise ModelFormatError(f"shipped ABR model {filename!r} is missing from the reelkit installation")
    return Path(str(res))


def _rate(model: str | Path | None) -> AbrPolicy:
    from reelkit.stream.abr.algos import RateBased

    return RateBased()


def _bba(model: str | Path | None) -> AbrPolicy:
    from reelkit.stream.abr.algos import BBA

    return BBA()


def _bola(model: str | Path | None) -> AbrPolicy:
    from reelkit.stream.abr.algos import Bola

    return Bola()


def _mpc(model: str | Path | None) -> AbrPolicy:
    from reelkit.stream.abr.algos import MPC

    return MPC()


def _robustmpc(model: str | Path | None) -> AbrPolicy:
    from reelkit.stream.abr.algos import RobustMPC

    return RobustMPC()


def _mpc_ewma(model: str | Path | None) -> AbrPolicy:
    from reelkit.stream.abr.algos import MPC

    p = MPC(predictor="ewma", robust=True)
    p.name = "mpc_ewma"  # type: ignore[misc]
    return p


@functools.lru_cache(maxsize=8)
def _loaded_fugu(path: str, mtime_ns: int, size: int) -> StochasticMPC:
    """One read per model file version (the key includes its mtime and size)."""
    from reelkit.stream.abr.stochastic import StochasticMPC

    return StochasticMPC.load(path)


def _fugu(model: str | Path | None) -> AbrPolicy:
    from reelkit.stream.abr.stochastic import StochasticMPC

    path = Path(model) if model is not None else shipped_model_path("fugu_ttp.npz")
    if not path.is_file():
        return StochasticMPC.load(path)  # raises the clear "does not exist" error
    st = path.stat()
    return _loaded_fugu(str(path.resolve()), st.st_mtime_ns, st.st_size).fresh()


def load_any_model(path: str | Path) -> AbrPolicy:
    """The learned policy saved in ``path`` (its kind is read from the file's metadata)."""
    return _fugu(path)  # the only learned kind; StochasticMPC.load checks the file's kind


def _best(model: str | Path | None) -> AbrPolicy:
    if model is not None:
        return load_any_model(model)
    meta_path = shipped_model_path("best.json")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        algo, fname = str(meta["algo"]), str(meta["model"])
    except (KeyError, ValueError, TypeError) as exc:
        raise ModelFormatError(f"{meta_path}: not a valid best-policy descriptor ({exc})") from None
    pol = _FACTORIES[algo](shipped_model_path(fname))
    return pol


_FACTORIES: dict[str, Callable[[str | Path | None], AbrPolicy]] = {
    "rate": _rate,
    "bba": _bba,
    "bola": _bola,
    "mpc": _mpc,
    "robustmpc": _robustmpc,
    "mpc_ewma": _mpc_ewma,
    "fugu": _fugu,
    "best": _best,
}
_ALIASES = {
    "rb": "rate",
    "rmpc": "robustmpc",
    "robust_mpc": "robustmpc",
    "smpc": "fugu",
    "stochastic_mpc": "fugu",
    "bb": "bba",
}


def available_policies() -> list[str]:
    """Names :func:`make_policy` accepts (``optimal`` is not a policy: it needs the whole trace)."""
    return list(_FACTORIES)


#: names of the offline optimum: not a policy (it needs the whole trace), run by ``evaluate.run_optimal``
_OPTIMAL = {"optimal", "opt", "offline_optimal"}
#: policies whose model file ``make_policy(..., model=)`` replaces
_LEARNED = {"fugu", "best"}


def _key(name: str) -> str:
    key = str(name).strip().lower().replace("-", "_")
    return _ALIASES.get(key, key)


def is_optimal(name: str) -> bool:
    """Whether ``name`` names the offline optimum rather than a policy."""
    return _key(name) in _OPTIMAL


def takes_model(name: str) -> bool:
    """Whether the policy ``name`` is a learned one that a ``--model`` file replaces."""
    return _key(name) in _LEARNED


def policy_name(name: str) -> str | None:
    """The policy a name means (``RMPC``, ``bb``, ``robust-mpc``: its aliases and spellings), or ``None``."""
    key = _key(name)
    return key if key in _FACTORIES else None


def make_policy(name: str, *, model: str | Path | None = None) -> AbrPolicy:
    """A fresh policy object (call ``reset(video)`` before ``choose``); ``model`` overrides a learned
    policy's shipped model file."""
    key = _key(name)
    if key not in _FACTORIES:
        raise ConfigError(
            f"unknown ABR algorithm {name!r}; choose one of {', '.join(available_policies())} (or optimal, "
            "the offline optimum, where a whole trace is known: simulate, compare)"
        )
    return _FACTORIES[key](model)
