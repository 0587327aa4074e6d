"""``reelkit cache simulate | compare | trace | synth``: the cache simulator and its workloads."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from reelkit._files import atomic_path
from reelkit.cli.common import (
    JsonOpt,
    WorkersOpt,
    console,
    emit_json,
    executor_for,
    parse_params,
    print_table,
    progress_for,
)
from reelkit.cli.inputs import HeaderOpt, TitlesOpt, UnknownTitlesOpt
from reelkit.cli.recommend import ColumnsOpt, SepOpt
from reelkit.errors import ConfigError

TraceOpt = Annotated[Path, typer.Option("--trace", help="Request trace: .csv, .parquet or .oracleGeneral.")]
WarmupOpt = Annotated[
    str,
    typer.Option(
        "--warmup",
        help="Leading requests simulated but not counted: a fraction (0.1), a percentage (10%) or a "
        "duration (6h, 1d). Default 0: every request counts, as in libCacheSim.",
    ),
]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option("--param", help="Policy parameter key=value (repeatable), e.g. aging=true."),
]


def _unit(n: float) -> tuple[str, float]:
    """The largest SI unit (as capacities are written) that keeps ``n`` bytes at 1 or more."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return unit, scale
    return "B", 1.0


def _gb(n: float) -> str:
    """Bytes in the largest unit that keeps the number readable."""
    unit, scale = _unit(n)
    return f"{n / scale:,.2f} {unit}" if scale > 1 else f"{n:,.0f} B"


def _split(text: str, what: str, example: str = "lru,arc,s3fifo") -> list[str]:
    """Non-empty comma-separated items; ``example`` (if any) goes into the error message. An empty entry
    (``10%,,20%``) is refused, not skipped: it is a value the user meant and lost."""
    parts = [t.strip() for t in text.split(",")]
    items = [t for t in parts if t]
    hint = f", e.g. {example}" if example else ""
    if not items:
        raise ConfigError(f"{what}: give a comma-separated list{hint}")
    if len(items) < len(parts):
        raise ConfigError(f"{what} {text!r}: an entry is empty (two commas, or one at an end); remove it")
    return items


def _check_plot_path(path: Path | None) -> None:
    """Refuse, before any work is done, a plot path that is a folder, lies under a file, or is in a folder
    that cannot be written (missing folders are created)."""
    if path is not None:
        from reelkit._files import check_creatable

        check_creatable(path, ConfigError, "out.png")


def _save_figure(fig: Any, path: Path) -> None:
    """Write ``fig`` to ``path`` as a PNG atomically (temp file + replace), then close it."""
    import matplotlib.pyplot as plt

    _check_plot_path(path)
    try:
        with atomic_path(path, ".png") as tmp:
            fig.savefig(tmp, dpi=110)
    finally:
        plt.close(fig)


def simulate_cmd(
    trace: TraceOpt,
    policy: Annotated[str, typer.Option("--policy", help="Policy name (lru, fifo, lfu, arc, s3fifo, ...).")],
    capacity: Annotated[str, typer.Option("--capacity", help="Cache size: 50GB, 500MiB, bytes, or 5%.")],
    warmup: WarmupOpt = "0",
    param: ParamOpt = None,
    hourly: Annotated[
        bool,
        typer.Option("--hourly", help="Also print the hit ratios per hour (with --json: an 'hourly' list)."),
    ] = False,
    regions: Annotated[
        bool,
        typer.Option(
            "--regions",
            help="With --json, also a 'regions' list: hit ratios per region (the table always shows them).",
        ),
    ] = False,
    json_out: JsonOpt = False,
) -> None:
    """Simulate one policy at one capacity over a trace."""
    from reelkit.stream.cache import make_policy, parse_capacity, read_trace, simulate

    pol = make_policy(policy, **parse_params(param, "aging=true"))
    tr = read_trace(trace)
    tr.warn_if_sizes_change()
    cap = parse_capacity(capacity, tr)
    res = simulate(tr, pol, cap, warmup=warmup)
    if json_out:
        out = res.summary()
        if hourly:  # only when asked: the plain --json output is the six keys (and the warm-up's two)
            out["hourly"] = res.hourly.to_frame("hour_start_s").to_dict(orient="records")
        if regions:  # [] for a trace without regions
            w = res.by_region
            out["regions"] = (
                []
                if w is None
                else [
                    {"region": int(k), "requests": int(n), "hit_ratio": float(h), "byte_hit_ratio": float(b)}
                    for k, n, h, b in zip(w.key, w.requests, w.hit_ratio, w.byte_hit_ratio, strict=True)
                ]
            )
        emit_json(out)
        return
    print_table(
        f"{trace.name}: {res.requests:,} requests, {tr.n_objects:,} objects",
        ["policy", "capacity", "hit ratio", "byte hit ratio", "requests/s", "warm-up requests"],
        [
            (
                res.policy,
                _gb(res.capacity_bytes),
                res.hit_ratio,
                res.byte_hit_ratio,
                f"{res.requests_per_s:,.0f}",
                res.warmup_requests,
            )
        ],
    )
    if res.by_region is not None:
        w = res.by_region
        print_table(
            "per region",
            ["region", "requests", "hit ratio", "byte hit ratio"],
            list(
                zip(
                    w.key.astype(int).tolist(),
                    w.requests.tolist(),
                    w.hit_ratio.tolist(),
                    w.byte_hit_ratio.tolist(),
                    strict=True,
                )
            ),
        )
    if hourly:
        import pandas as pd

        w = res.hourly
        hours = pd.to_datetime(w.key, unit="s", utc=True).strftime("%Y-%m-%d %H:%M").tolist()
        print_table(
            "per hour (UTC)",
            ["hour", "requests", "hit ratio", "byte hit ratio"],
            list(
                zip(hours, w.requests.tolist(), w.hit_ratio.tolist(), w.byte_hit_ratio.tolist(), strict=True)
            ),
        )


def _write_plot(results: list[Any], bounds: list[Any], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    caps = sorted({r.capacity_bytes for r in results})
    unit, scale = _unit(caps[-1])  # a trace of small objects is not drawn in thousandths of a GB
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    for ax, attr, label in (
        (axes[0], "hit_ratio", "object hit ratio"),
        (axes[1], "byte_hit_ratio", "byte hit ratio"),
    ):
        for name in dict.fromkeys(r.policy for r in results):
            rows = sorted((r for r in results if r.policy == name), key=lambda r: r.capacity_bytes)
            ax.plot(
                [r.capacity_bytes / scale for r in rows],
                [getattr(r, attr) for r in rows],
                marker="o",
                label=name,
            )
        if bounds:
            bounds = sorted(bounds, key=lambda b: b.capacity_bytes)  # as typed (10%,1%,5%) it zigzagged
            ax.plot(
                [b.capacity_bytes / scale for b in bounds],
                [getattr(b, attr) for b in bounds],
                "k--",
                label="upper bound",
            )
        ax.set_xlabel(f"cache size ({unit})")
        ax.set_ylabel(label)
        if len(caps) > 1 and caps[0] > 0 and caps[-1] / caps[0] >= 8:
            from matplotlib.ticker import FuncFormatter, NullFormatter

            ax.set_xscale("log")
            ax.set_xticks([c / scale for c in caps])
            ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}" if x >= 10 else f"{x:.3g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="outside right center")
    fig.suptitle(title)
    _save_figure(fig, path)


def compare_cmd(
    trace: TraceOpt,
    policies: Annotated[str, typer.Option("--policies", help="Comma-separated policy names.")] = (
        "lru,fifo,lfu,arc,s3fifo,sieve,gdsf,tinylfu,belady"
    ),
    capacities: Annotated[
        str, typer.Option("--capacities", help="Comma-separated sizes (1%,5%,10% or 10GB,...).")
    ] = "1%,5%,10%",
    plot: Annotated[Path | None, typer.Option("--plot", help="Write a PNG of hit ratio vs size.")] = None,
    bound: Annotated[
        bool,
        typer.Option(
            "--bound/--no-bound", help="Add the offline upper bound (no demand-fetch policy beats it)."
        ),
    ] = True,
    warmup: WarmupOpt = "0",
    json_out: JsonOpt = False,
    workers: WorkersOpt = 2,
) -> None:
    """Several policies at several capacities: a table, and a plot with --plot."""
    from reelkit.stream.cache import compare, make_policy, offline_upper_bound, parse_capacity, read_trace

    pols = [make_policy(p) for p in _split(policies, "--policies")]
    cap_texts = _split(capacities, "--capacities", "1%,5%,10%")
    if plot is not None and plot.suffix.lower() != ".png":
        raise ConfigError(f"--plot {plot}: the plot is written as PNG; use a name ending in .png")
    _check_plot_path(plot)
    ex = executor_for(workers, "thread")  # the simulators release the GIL: threads share the trace
    tr = read_trace(trace)
    tr.warn_if_sizes_change()
    given = [parse_capacity(c, tr) for c in cap_texts]
    caps = list(dict.fromkeys(given))  # a size given twice ("5%,5%", "40%,20B") is simulated once
    with progress_for(not json_out) as progress:
        results = compare(tr, pols, caps, warmup=warmup, executor=ex, progress=progress)
    bounds = [offline_upper_bound(tr, c, warmup=warmup) for c in caps] if bound else []
    label: dict[int, str] = {}
    for c, text in zip(given, cap_texts, strict=True):  # two texts of one size keep both ("40% = 20B")
        label[c] = text if c not in label or label[c] == text else f"{label[c]} = {text}"
    if json_out:
        out: dict[str, Any] = {"results": [r.summary() for r in results]}
        if bounds:
            out["upper_bound"] = [
                {
                    "capacity_bytes": b.capacity_bytes,
                    "hit_ratio": b.hit_ratio,
                    "byte_hit_ratio": b.byte_hit_ratio,
                }
                for b in bounds
            ]
        if plot is not None:
            _write_plot(results, bounds, plot, trace.name)
            out["plot"] = str(plot)
        emit_json(out)
        return
    rows: list[tuple[Any, ...]] = [
        (
            r.policy,
            label[r.capacity_bytes],
            _gb(r.capacity_bytes),
            r.hit_ratio,
            r.byte_hit_ratio,
            f"{r.requests_per_s:,.0f}",
        )
        for r in results
    ]
    rows += [
        ("upper bound", label[b.capacity_bytes], _gb(b.capacity_bytes), b.hit_ratio, b.byte_hit_ratio, "")
        for b in bounds
    ]
    warm = results[0].warmup_requests if results else 0  # said as simulate's table says it (it was not)
    measured = f"; measured after {warm:,} warm-up requests" if warm else ""
    print_table(
        f"{trace.name}: {tr.n_requests:,} requests, {tr.n_objects:,} objects, "
        f"{_gb(tr.working_set_bytes())} distinct{measured}",
        ["policy", "size", "capacity", "hit ratio", "byte hit ratio", "requests/s"],
        rows,
    )
    if plot is not None:
        _write_plot(results, bounds, plot, trace.name)
        console.print(f"plot -> {plot}")


def _write_workload(workload: Any, out: Path) -> dict[str, Any]:
    """Write the trace and, next to it, its object catalogue (what ``reelkit cache plan`` pools by)."""
    from reelkit._files import atomic_paths, naming_output
    from reelkit.stream.cache import catalog_path, trace_format, write_trace

    target = catalog_path(out)
    if target.is_dir():  # checked before the trace is replaced: the two are written as a pair
        raise ConfigError(f"{target}: is a folder; the trace's object catalogue is written there")
    catalog_text = workload.object_catalog().to_csv(index=False)
    kind = trace_format(out)
    # all or nothing: both written (and synced) to temporary files, then renamed together; a kill among the
    # renames is completed by the next reader (read_trace), so the pair never mixes an old and a new file
    with atomic_paths([out, target], out.parent) as (tmp, tmp_catalog):
        write_trace(workload.trace, tmp, fmt=kind, shown_as=out)
        with naming_output(target):  # a full disk named no file
            tmp_catalog.write_text(catalog_text, encoding="utf-8")
    return _summary(workload, out) | {"objects_file": str(target)}


def _summary(workload: Any, path: Path) -> dict[str, Any]:
    tr = workload.trace
    return {
        "path": str(path),
        "requests": tr.n_requests,
        "objects": tr.n_objects,
        "titles": len(workload.title_ids),
        "bytes_requested": int(tr.sizes.sum()),
        "working_set_bytes": tr.working_set_bytes(),
        "regions": tr.n_regions or 1,  # a trace without regions is one region's
        "start": float(tr.timestamps.min()),
        "end": float(tr.timestamps.max()),
    }


def _report(summary: dict[str, Any], json_out: bool) -> None:
    if json_out:
        emit_json(summary)
        return
    console.print(
        f"wrote {summary['requests']:,} requests for {summary['objects']:,} objects "
        f"({summary['titles']:,} titles, {_gb(summary['working_set_bytes'])} distinct) -> "
        f"{summary['path']} (object catalogue: {summary['objects_file']})"
    )


def _positive(value: float | None, option: str) -> None:
    """A finite number > 0 (or not given), else an error naming the option (the library names its field)."""
    if value is not None and not 0 < value < math.inf:
        raise ConfigError(f"{option} {value:g}: must be a finite number > 0")


ChunkOpt = Annotated[
    float | None,
    typer.Option(
        "--chunk-s", help="Split each file into chunks of this many seconds (default: whole files)."
    ),
]


def trace_cmd(
    from_events: Annotated[
        Path, typer.Option("--from-events", help="Viewing events: a ratings/events file or dataset folder.")
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Trace to write (.parquet, .csv, .oracleGeneral).")
    ],
    chunk_s: ChunkOpt = None,
    regions: Annotated[
        # a bound: 99999999999999999999 reached numpy as a cast warning and an error naming no option
        int, typer.Option("--regions", min=1, max=1_000_000, help="Split members into this many regions.")
    ] = 1,
    kinds: Annotated[str, typer.Option("--kinds", help="Event kinds that count as views.")] = "rating,play",
    seed: Annotated[
        int,
        typer.Option(
            "--seed",
            min=0,
            help="Seed of the ABR throughput draws (which rendition each view fetches); the titles' "
            "durations and file sizes do not depend on it.",
        ),
    ] = 0,
    columns: ColumnsOpt = None,
    sep: SepOpt = None,
    header: HeaderOpt = None,
    unknown_titles: UnknownTitlesOpt = "error",
    titles: TitlesOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Turn viewing events (MovieLens ratings as views, or play events) into a request trace, with its object
    catalogue (<out>.objects.csv: each object's title and rendition) next to it."""
    from reelkit._files import check_output_file
    from reelkit.cli.inputs import read_data
    from reelkit.data.loaders import catalog_beside
    from reelkit.stream.cache import catalog_path, trace_format, trace_from_events

    trace_format(out)  # fail on a bad output name before the work
    _positive(chunk_s, "--chunk-s")
    # the titles' catalogue read beside an events file is an input too (a folder's files are inside it)
    generic = columns is not None or sep is not None or header is not None
    inputs = [from_events, titles if titles is not None else catalog_beside(from_events, generic=generic)]
    check_output_file(out, ConfigError, "trace.parquet", inputs=inputs)
    # the catalogue written beside the trace is an output too (events named q.parquet.objects.csv)
    check_output_file(catalog_path(out), ConfigError, "trace.parquet", inputs=inputs)
    where = (from_events, None) if from_events.is_file() else (None, from_events)
    ds = read_data(
        *where, columns=columns, sep=sep, header=header, unknown_titles=unknown_titles, titles=titles
    )
    wl = trace_from_events(
        ds,
        chunk_s=chunk_s,
        n_regions=regions,
        kinds=tuple(_split(kinds, "--kinds", "play,rating")),
        seed=seed,
    )
    _report(_write_workload(wl, out), json_out)


def synth_cmd(
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Trace to write (.parquet, .csv, .oracleGeneral).")
    ],
    seed: Annotated[int, typer.Option("--seed", min=0, help="Random seed (same seed, same trace).")] = 0,
    days: Annotated[float, typer.Option("--days", help="Length of the trace in days.")] = 7.0,
    titles: Annotated[int, typer.Option("--titles", min=1, max=10_000_000, help="Catalogue size.")] = 2000,
    views_per_day: Annotated[
        float, typer.Option("--views-per-day", help="Background views a day.")
    ] = 20000.0,
    zipf_s: Annotated[float, typer.Option("--zipf-s", help="Zipf-Mandelbrot exponent.")] = 0.9,
    zipf_q: Annotated[float, typer.Option("--zipf-q", help="Zipf-Mandelbrot shift.")] = 10.0,
    releases_per_day: Annotated[float, typer.Option("--releases-per-day", help="New releases a day.")] = 2.0,
    timezones: Annotated[
        str, typer.Option("--timezones", help="One UTC offset (hours) per region, comma-separated.")
    ] = "0,-5,8",
    region_shares: Annotated[
        str | None,
        typer.Option(
            "--region-shares",
            help="Each region's share of demand, comma-separated, one per --timezones entry (default: "
            "0.4,0.35,0.25 for three regions, as SynthConfig; equal shares for another count).",
        ),
    ] = None,
    chunk_s: ChunkOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """A seeded synthetic VoD trace: Zipf-Mandelbrot catalogue, new releases, daily cycle, regions; with its
    object catalogue (<out>.objects.csv: title, rendition, release time) next to it."""
    from reelkit.stream.cache import SynthConfig, synthesize, trace_format

    trace_format(out)
    for value, option in ((days, "--days"), (views_per_day, "--views-per-day"), (chunk_s, "--chunk-s")):
        _positive(value, option)
    try:
        tz = tuple(float(t) for t in _split(timezones, "--timezones", "0,-5,8"))
    except ValueError:
        raise ConfigError(f"--timezones {timezones!r}: expected numbers such as 0,-5,8") from None
    # SynthConfig's shares by default (the benchmark's trace), where they fit the number of regions
    shares = SynthConfig.region_weights if len(tz) == len(SynthConfig.region_weights) else (1.0,) * len(tz)
    if region_shares is not None:
        try:
            shares = tuple(float(w) for w in _split(region_shares, "--region-shares", "0.4,0.35,0.25"))
        except ValueError:
            raise ConfigError(
                f"--region-shares {region_shares!r}: expected numbers such as 0.4,0.35,0.25"
            ) from None
        if not all(0 <= w < math.inf for w in shares) or sum(shares) <= 0:
            raise ConfigError(f"--region-shares {region_shares!r}: shares must be >= 0 and not all 0")
        if len(shares) != len(tz):
            raise ConfigError(
                f"--region-shares {region_shares!r}: {len(shares)} share(s) for {len(tz)} time zone(s) "
                "in --timezones; give one share per region"
            )
    cfg = SynthConfig(
        seed=seed,
        days=days,
        n_titles=titles,
        views_per_day=views_per_day,
        zipf_s=zipf_s,
        zipf_q=zipf_q,
        releases_per_day=releases_per_day,
        timezones=tz,
        region_weights=shares,
        chunk_s=chunk_s,
    )
    wl = synthesize(cfg)
    _report(_write_workload(wl, out), json_out)


def add_commands(group: typer.Typer, app: typer.Typer) -> None:
    """Add this module's commands to the ``cache`` group (``group``) or the root app (``app``)."""
    group.command("simulate")(simulate_cmd)
    group.command("compare")(compare_cmd)
    group.command("trace")(trace_cmd)
    group.command("synth")(synth_cmd)
