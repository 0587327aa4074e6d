"""The one exception tree of reelkit.

Every error reelkit raises on purpose derives from :class:`ReelkitError`. Errors caused by what a user gave
us (a file, a parameter, an id) derive from :class:`UserInputError`; the CLI turns those into a one-line
message and exit status 2. Messages say what was wrong, where (file, line, field) and what to do.
"""

from __future__ import annotations

__all__ = [
    "ChecksumError",
    "ConfigError",
    "DataFormatError",
    "DuplicateEventsWarning",
    "EmptyDataError",
    "FetchError",
    "InfeasibleError",
    "MediaError",
    "MissingColumnsError",
    "ModelFormatError",
    "NotFittedError",
    "RatingScaleWarning",
    "ReelkitError",
    "ReelkitWarning",
    "SyncRefusedError",
    "TimeLimitError",
    "TimestampUnitWarning",
    "ToolError",
    "UnknownIdError",
    "UnverifiableDownloadError",
    "UserInputError",
]


class ReelkitError(Exception):
    """Base class of every error reelkit raises on purpose."""


class UserInputError(ReelkitError):
    """Something the user supplied is wrong; the message says what to do. The CLI exits 2."""


class ConfigError(UserInputError, ValueError):
    """An invalid parameter or configuration value."""


class DataFormatError(UserInputError, ValueError):
    """A data file cannot be read as the format says; names the file and, where known, the line."""

    def __init__(self, message: str, *, path: str | None = None, line: int | None = None) -> None:
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)
        self.message = message  # without the place, to name another one
        self.path = path
        self.line = line


class MissingColumnsError(DataFormatError):
    """A table lacks columns that are required."""


class EmptyDataError(DataFormatError):
    """A file or table holds no usable rows."""


class UnknownIdError(UserInputError, KeyError):
    """A member or title id that the model or dataset does not know."""

    def __str__(self) -> str:  # KeyError quotes its message; we want it plain
        return str(self.args[0]) if self.args else ""


class NotFittedError(ReelkitError, ValueError, AttributeError):
    """A model was used before ``fit`` (an AttributeError too, as scikit-learn's, so that ``hasattr`` and
    ``getattr(model, "x_", None)`` on an unfitted model answer instead of raising)."""


class ModelFormatError(UserInputError):
    """A saved model file is missing, corrupt, or from an incompatible format version."""


class FetchError(ReelkitError):
    """A data set could not be downloaded."""


class UnverifiableDownloadError(FetchError, UserInputError):
    """A data set with no published checksum was asked for without allowing an unverified download (the
    user's choice to make: the CLI exits 2)."""


class ChecksumError(FetchError, UserInputError):
    """A downloaded file does not match its published sha256; it was not kept."""


class MediaError(DataFormatError):
    """A media file is missing, unreadable, has no stream of the kind needed, or uses an unsupported codec."""


class ToolError(ReelkitError):
    """An external tool (ffmpeg) failed on input it should have handled; the message quotes its last words."""


class TimeLimitError(ToolError):
    """External tools ran past the time limit set for the job (:func:`reelkit.media.time_limit`)."""


class InfeasibleError(UserInputError):
    """A problem has no solution; the message names the constraints that conflict."""

    def __init__(self, message: str, *, conflicts: list[str] | None = None) -> None:
        super().__init__(message)
        self.conflicts = list(conflicts or [])


class SyncRefusedError(ReelkitError):
    """An alignment (subtitle sync) fit is not trustworthy; nothing was written. The CLI exits 3."""

    exit_code = 3

    def __init__(self, message: str, *, confidence: float | None = None) -> None:
        super().__init__(message)
        self.confidence = confidence


def shown(text: str, limit: int = 80) -> str:
    """A value or line for a message, cut to ``limit`` characters (a 1 MB field would fill the terminal)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ReelkitWarning(UserWarning):
    """Base class of reelkit's warnings, so users can filter them as a group."""


class TimestampUnitWarning(ReelkitWarning):
    """Timestamps were given in milli-, micro- or nanoseconds and were read as such (divided to seconds)."""


class DuplicateEventsWarning(ReelkitWarning):
    """Duplicate events were found and resolved by the documented rule."""


class RatingScaleWarning(ReelkitWarning):
    """The rating scale taken from the data is stretched by a few ratings far outside the rest."""
