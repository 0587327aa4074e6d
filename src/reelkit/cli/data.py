"""``reelkit data fetch | demo | info | convert``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from reelkit.cli.common import JsonOpt, console, emit_json, print_table, progress_for
from reelkit.cli.inputs import HeaderOpt, TitlesOpt, UnknownTitlesOpt
from reelkit.cli.recommend import ColumnsOpt, SepOpt

app = typer.Typer(help="Fetch, generate and inspect datasets.", no_args_is_help=True)


@app.command("fetch")
def fetch_cmd(
    name: Annotated[
        str, typer.Argument(help="movielens-100k | movielens-latest-small | movielens-1m | movielens-25m")
    ],
    cache_dir: Annotated[
        Path | None, typer.Option(help="Cache folder (default $REELKIT_CACHE or ~/.cache/reelkit).")
    ] = None,
    base_url: Annotated[
        str | None, typer.Option(help="Mirror to download from instead of GroupLens.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Download again even if cached.")] = False,
    insecure_skip_checksum: Annotated[
        bool,
        typer.Option(
            "--insecure-skip-checksum",
            help="Accept a download that has no known checksum, or does not match it (e.g. a "
            "movielens-latest-small that GroupLens regenerated after the pinned 2018-09-26 snapshot). "
            "Nothing then checks the file's integrity.",
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Download a public dataset into the cache (checksum-verified)."""
    from reelkit.data.fetch import URL_SCHEMES, fetch
    from reelkit.errors import ConfigError

    if base_url is not None and not base_url.lower().startswith(URL_SCHEMES):
        raise ConfigError(
            f"--base-url {base_url!r}: give a URL (https://..., ftp://, or file:// for a local mirror)"
        )
    with progress_for(not json_out) as progress:
        path = fetch(
            name,
            cache_dir=cache_dir,
            base_url=base_url,
            force=force,
            progress=progress,
            allow_unverified=insecure_skip_checksum,
        )
    if json_out:
        emit_json({"dataset": name, "path": str(path)})
    else:
        console.print(f"{name}: {path}")


@app.command("demo")
def demo_cmd(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the dataset to (Parquet).")],
    members: Annotated[int, typer.Option(min=10, max=10_000_000, help="How many members.")] = 2000,
    titles: Annotated[int, typer.Option(min=10, max=1_000_000, help="How many titles.")] = 1000,
    seed: Annotated[int, typer.Option(min=0, help="Seed (the same seed, the same catalog).")] = 0,
    json_out: JsonOpt = False,
) -> None:
    """Generate the synthetic demo catalog and membership."""
    from reelkit.data.dataset import check_dataset_output
    from reelkit.data.demo import make_demo

    check_dataset_output(out)  # before the work: a user's folder or file is never replaced
    ds = make_demo(n_members=members, n_titles=titles, seed=seed)
    ds.save(out)
    info = {"path": str(out), "members": len(ds.members), "titles": len(ds.titles), "events": ds.n_events}
    if json_out:
        emit_json(info)
    else:
        console.print(
            f"demo dataset: {info['members']:,} members, {info['titles']:,} titles, "
            f"{info['events']:,} events -> {out}"
        )


@app.command("info")
def info_cmd(
    path: Annotated[Path, typer.Argument(help="A ratings/events file or dataset folder.")],
    columns: ColumnsOpt = None,
    sep: SepOpt = None,
    header: HeaderOpt = None,
    unknown_titles: UnknownTitlesOpt = "error",
    titles: TitlesOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Summarise a dataset: counts, event kinds, time span, density."""
    from reelkit.cli.inputs import catalog_used, read_data

    ds = read_data(
        None, path, columns=columns, sep=sep, header=header, unknown_titles=unknown_titles, titles=titles
    )
    ev = ds.events
    kinds = {str(k): int(v) for k, v in ev["kind"].value_counts().items() if v}
    n_m, n_t = ev["member_id"].nunique(), ev["title_id"].nunique()
    info = {
        "events": len(ev),
        "members": int(n_m),
        "titles_with_events": int(n_t),
        "catalog_titles": len(ds.titles),
        # the titles file read (one beside an events file is taken whatever data set it came with)
        "catalog": catalog_used(path, columns=columns, sep=sep, header=header, titles=titles),
        "kinds": kinds,
        "first_timestamp": int(ev["timestamp"].min()),
        "last_timestamp": int(ev["timestamp"].max()),
        # distinct (member, title) pairs over all possible pairs: repeated events do not count again
        "density": float(len(ev[["member_id", "title_id"]].drop_duplicates()) / max(n_m * n_t, 1)),
    }
    if json_out:
        emit_json(info)
    else:
        print_table(str(path), ["field", "value"], [(k, v) for k, v in info.items()])


@app.command("convert")
def convert_cmd(
    source: Annotated[Path, typer.Argument(help="A ratings/events file or dataset folder.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write (Parquet dataset).")],
    columns: ColumnsOpt = None,
    sep: SepOpt = None,
    header: HeaderOpt = None,
    unknown_titles: UnknownTitlesOpt = "error",
    titles: TitlesOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Convert any supported input into a reelkit Parquet dataset folder."""
    from reelkit.cli.inputs import catalog_used, read_data
    from reelkit.data.dataset import check_dataset_output

    check_dataset_output(out)  # a file (the input itself) or a folder of other files is never replaced
    ds = read_data(
        None, source, columns=columns, sep=sep, header=header, unknown_titles=unknown_titles, titles=titles
    )
    ds.save(out)
    if json_out:
        emit_json(
            {"path": str(out), "events": ds.n_events, "titles": len(ds.titles), "members": len(ds.members)}
        )
        return
    console.print(
        f"wrote {ds.n_events:,} events, {len(ds.titles):,} titles, {len(ds.members):,} members -> {out} "
        f"(titles from {catalog_used(source, columns=columns, sep=sep, header=header, titles=titles)})"
    )
