"""The base of reelkit's typed configurations.

A config is a frozen pydantic model that refuses unknown fields; an invalid value raises
:class:`~reelkit.errors.ConfigError` (part of the project's exception tree, as every estimator's own
parameters do) naming the field, rather than pydantic's ``ValidationError``. Configs round-trip through JSON
(``model_dump_json`` / ``model_validate_json``).
"""

from __future__ import annotations

import numbers
from typing import Any, Self

import pydantic
from pydantic import BaseModel, ConfigDict

from reelkit.errors import ConfigError

__all__ = ["Config", "check_numbers", "pydantic_message"]


def pydantic_message(exc: pydantic.ValidationError) -> str:
    """``field: message; ...`` for every error of ``exc``."""
    return "; ".join(f"{'.'.join(str(x) for x in e['loc']) or '(config)'}: {e['msg']}" for e in exc.errors())


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
