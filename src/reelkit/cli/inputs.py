"""Reading the data a command was pointed at (``--ratings FILE`` or ``--data PATH``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reelkit.data.dataset import Dataset
from reelkit.errors import ConfigError


def parse_columns(columns: str | None) -> list[str] | None:
    if columns is None:
        return None
    names = [c.strip() for c in columns.split(",")]
    if not all(names):
        raise ConfigError(
            f"--columns {columns!r}: give comma-separated names, e.g. user,item,rating,timestamp"
        )
    return names


HeaderOpt = Annotated[
    bool | None,
    typer.Option(
        "--header/--no-header",
        help="Whether the file's first line names the columns (detected by default; a header of ids that "
        "are all text cannot be told from data).",
    ),
]


def read_data(
    ratings: Path | None,
    data: Path | None,
    *,
    columns: str | None = None,
    sep: str | None = None,
    header: bool | None = None,
) -> Dataset:
    """Load events from a ratings/events file or a dataset folder (exactly one must be given)."""
    from reelkit.data.loaders import load_dataset, load_events_file

    if (ratings is None) == (data is None):
        raise ConfigError("give exactly one of --ratings FILE or --data PATH")
    if ratings is not None:
        return load_events_file(ratings, columns=parse_columns(columns), sep=sep, header=header)
    assert data is not None
    if data.is_file():
        return load_events_file(data, columns=parse_columns(columns), sep=sep, header=header)
    return load_dataset(data)
