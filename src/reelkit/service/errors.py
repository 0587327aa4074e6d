"""Errors of the service layer (all in the :mod:`reelkit.errors` tree)."""

from __future__ import annotations

import os
import re

from reelkit.errors import ReelkitError, UnknownIdError, UserInputError

__all__ = [
    "EventConflictError",
    "MemberExistsError",
    "ModelVersionUnusableError",
    "NoModelError",
    "StoreError",
    "StoreFullError",
    "StoreLocationError",
    "TitlesRenamedError",
    "UnknownReferenceError",
    "without_folder",
]


class StoreError(ReelkitError):
    """The store cannot be opened or is in a state this reelkit cannot use."""


class StoreLocationError(StoreError, UserInputError):
    """The data folder given is not a usable store: not a database, read-only, or not there (the CLI exits
    2: the user points at another folder)."""


class StoreFullError(StoreError):
    """A write failed for want of space (or an I/O error, most often the same): SQLite rolled the
    transaction back, so what was stored before stays. ``path`` is the database, ``reason`` the short
    cause ("disk full"); the CLI exits 2, as the user frees space and runs again."""

    exit_code = 2

    def __init__(self, message: str, *, path: str, reason: str) -> None:
        super().__init__(message)
        self.path = path
        self.reason = reason


class UnknownReferenceError(UnknownIdError):
    """Events (or a new member's titles) name members or titles the store does not know.

    ``fields`` lists ``(location, id)`` pairs such as ``("events[3].title_id", "42")``.
    """

    def __init__(self, message: str, fields: list[tuple[str, str]]) -> None:
        super().__init__(message)
        self.fields = fields


class EventConflictError(UserInputError):
    """An event id was already stored (or repeated in the batch) with different content.

    ``fields`` lists ``(location, event_id)`` pairs.
    """

    def __init__(self, message: str, fields: list[tuple[str, str]]) -> None:
        super().__init__(message)
        self.fields = fields


class MemberExistsError(UserInputError):
    """A member with this id already exists."""


class ModelVersionUnusableError(UserInputError):
    """A recorded model version cannot be made current: its files were deleted (pruned by later retrains)
    or do not load (the service's 409)."""


class TitlesRenamedError(UserInputError):
    """An import would rename many stored titles: most likely another catalogue whose ids overlap the stored
    one, whose events would count for the wrong titles. Nothing was imported (the CLI exits 2); ``reelkit
    import --rename-titles`` takes it anyway."""


class NoModelError(ReelkitError):
    """No model version has been trained for this data folder yet."""


def without_folder(text: str, folder: str | os.PathLike[str], label: str = "DATA") -> str:
    """``text`` with the server's ``folder`` (as given, absolute, or resolved) said as ``label``: replies
    keep the server's paths to themselves (the log keeps them). Only whole path components are replaced (a
    data folder given as ``.`` made every dot ``DATA``)."""
    given = os.fspath(folder)
    forms = {os.path.realpath(given), os.path.abspath(given)}
    if given not in ("", ".", "/") and not os.path.isabs(given):
        forms.add(os.path.normpath(given))
    for form in sorted(forms, key=len, reverse=True):
        if form in ("", "/"):
            continue
        text = re.sub(rf"(?<![\w.\-/]){re.escape(form)}(?=/|$|[\s'\":;,)])", label, text)
    return text
