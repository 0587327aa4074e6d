"""The base of reelkit's typed configurations.

A config is a frozen pydantic model that refuses unknown fields; an invalid value raises
:class:`~reelkit.errors.ConfigError` (part of the project's exception tree, as every estimator's own
parameters do) naming the field, rather than pydantic's ``ValidationError``. Configs round-trip through JSON
(``model_dump_json`` / ``model_validate_json``).
"""

from __future__ import annotations

from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict

from reelkit.errors import ConfigError

__all__ = ["Config", "check_numbers", "pydantic_message"]


def pydantic_message(exc: pydantic.ValidationError) -> str:
    """``field: message; ...`` for every error of ``exc``."""
    return "; ".join(f"{'.'.join(str(x) for x in e['loc']) or '(config)'}: {e['msg']}" for e in exc.errors())


class Config(BaseModel):
    """Frozen, unknown fields refused, invalid values a :class:`~reelkit.errors.ConfigError`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except pydantic.ValidationError as exc:
            raise ConfigError(f"{type(self).__name__}: {pydantic_message(exc)}") from None


def check_numbers(owner: str, **values: tuple[object, type]) -> None:
    """Refuse values of the wrong type in a dataclass config (``name=(value, int)`` or ``(value, float)``;
    None passes, an int is a float, a bool is neither), so that a ``"5"`` gives a :class:`ConfigError`
    naming the field instead of a ``TypeError`` from the first comparison."""
    for name, (value, kind) in values.items():
        if value is None:
            continue
        ok = (int, float) if kind is float else (int,)
        if isinstance(value, bool) or not isinstance(value, ok):
            raise ConfigError(
                f"{owner}.{name} must be a {'number' if kind is float else 'whole number'}, got {value!r}"
            )
