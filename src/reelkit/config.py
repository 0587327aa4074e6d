"""The base of reelkit's typed configurations.

A config is a frozen pydantic model that refuses unknown fields; an invalid value raises
:class:`~reelkit.errors.ConfigError` (part of the project's exception tree, as every estimator's own
parameters do) naming the field, rather than pydantic's ``ValidationError``. Configs round-trip through JSON
(``model_dump_json`` / ``model_validate_json``).
"""

from __future__ import annotations

import contextlib
import math
import numbers
from typing import Any, Self

import pydantic
from pydantic import BaseModel, ConfigDict

from reelkit.errors import ConfigError

__all__ = ["Config", "check_numbers", "error_message", "pydantic_message"]

_BOUND_TYPES = {"greater_than", "greater_than_equal", "less_than", "less_than_equal", "finite_number"}


def error_message(err: Any) -> str:
    """One pydantic error (an item of ``exc.errors()``) in words a user can act on: a NaN or an infinity
    is said to be one (pydantic reports a NaN as failing whichever bound it checks first), an unknown
    field is a spelling to check, and a validator's own message loses pydantic's ``Value error,``."""
    kind = err.get("type")
    value = err.get("input")
    if isinstance(value, str):  # "nan" in a JSON settings file or a query string is parsed to a float NaN
        with contextlib.suppress(ValueError):
            value = float(value)
    if kind in _BOUND_TYPES and isinstance(value, float) and not math.isfinite(value):
        return f"must be a finite number, not {value}"
    if kind == "extra_forbidden":
        return "unknown field (check the spelling)"
    return str(err.get("msg", "invalid")).removeprefix("Value error, ")


def pydantic_message(exc: pydantic.ValidationError) -> str:
    """``field: message; ...`` for every error of ``exc``."""
    return "; ".join(
        f"{'.'.join(str(x) for x in e['loc']) or '(config)'}: {error_message(e)}" for e in exc.errors()
    )


def _config_error(cls: type, exc: pydantic.ValidationError) -> ConfigError:
    # on the validate paths pydantic runs __init__ and wraps its ConfigError: give that message once
    inner = [str(e.get("ctx", {}).get("error", "")) for e in exc.errors() if not e["loc"]]
    if inner and all(inner):
        return ConfigError("; ".join(inner))
    return ConfigError(f"{cls.__name__}: {pydantic_message(exc)}")


class Config(BaseModel):
    """Frozen, unknown fields refused, invalid values a :class:`~reelkit.errors.ConfigError`, whether the
    config is built from keywords or validated from data or JSON."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except pydantic.ValidationError as exc:
            raise _config_error(type(self), exc) from None

    @classmethod
    def model_validate(cls, obj: Any, **kwargs: Any) -> Self:
        try:
            return super().model_validate(obj, **kwargs)
        except pydantic.ValidationError as exc:
            raise _config_error(cls, exc) from None

    @classmethod
    def model_validate_json(cls, json_data: str | bytes | bytearray, **kwargs: Any) -> Self:
        try:
            return super().model_validate_json(json_data, **kwargs)
        except pydantic.ValidationError as exc:
            raise _config_error(cls, exc) from None


def check_numbers(owner: str, **values: tuple[object, type]) -> None:
    """Refuse values of the wrong type in a dataclass config (``name=(value, int)`` or ``(value, float)``;
    None passes, an int is a float, a bool is neither), so that a ``"5"`` gives a :class:`ConfigError`
    naming the field instead of a ``TypeError`` from the first comparison."""
    for name, (value, kind) in values.items():
        if value is None:
            continue
        ok = numbers.Real if kind is float else numbers.Integral  # numpy's scalars included
        if isinstance(value, bool) or not isinstance(value, ok):
            raise ConfigError(
                f"{owner}.{name} must be a {'number' if kind is float else 'whole number'}, got {value!r}"
            )
