"""Reading the data a command was pointed at (``--ratings FILE`` or ``--data PATH``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from reelkit.errors import ConfigError

if TYPE_CHECKING:  # pandas is imported by the commands that read data, not by every `reelkit --help`
    from reelkit.data.dataset import Dataset


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


UnknownTitlesOpt = Annotated[
    str,
    typer.Option(
        "--unknown-titles",
        help="Event titles missing from the catalog beside the events: error, keep (placeholder titles) or "
        "drop (their events).",
    ),
]


TitlesOpt = Annotated[
    Path | None,
    typer.Option(
        "--titles",
        help="Catalogue (titles) file to read instead of one found beside a ratings file (movies.csv, "
        "titles.csv, u.item, ...): one left there from another data set names its titles.",
    ),
]


def read_data(
    ratings: Path | None,
    data: Path | None,
    *,
    columns: str | None = None,
    sep: str | None = None,
    header: bool | None = None,
    unknown_titles: str = "error",
    titles: Path | None = None,
) -> Dataset:
    """Load events from a ratings/events file or a dataset folder (exactly one must be given)."""
    from reelkit.data.loaders import load_events

    if unknown_titles not in ("error", "keep", "drop"):
        raise ConfigError(f"--unknown-titles {unknown_titles!r}: use error, keep or drop")
    mode: Any = unknown_titles
    if (ratings is None) == (data is None):
        raise ConfigError(
            "give exactly one of --ratings or --data (a file or folder; --help lists other sources)"
        )
    cols = parse_columns(columns)
    path = ratings if ratings is not None else data
    assert path is not None
    # a file or a folder
    return load_events(path, columns=cols, sep=sep, header=header, unknown_titles=mode, titles_path=titles)


def catalog_used(
    path: Path, *, columns: str | None, sep: str | None, header: bool | None, titles: Path | None = None
) -> str:
    """The catalogue (titles) file the loaders read for ``path``, said to the user: a file beside an events
    file is taken whatever its origin (a movies.csv left there from MovieLens named another data set's
    titles, silently)."""
    from reelkit.data.loaders import catalog_beside

    if titles is not None:
        return str(titles)
    if path.is_dir():
        for name in ("titles.parquet", "movies.csv", "u.item", "movies.dat"):
            if (path / name).is_file():
                return str(path / name)
        return "none (placeholder titles)"
    generic = columns is not None or sep is not None or header is not None
    found = catalog_beside(path, generic=generic)
    return str(found) if found is not None else "none (placeholder titles)"
