"""``reelkit cache plan | advise``: the nightly fill planner against reactive policies; download advice."""

from __future__ import annotations

import math
import warnings
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from reelkit._files import check_input_file
from reelkit.cli.cache_sim import TraceOpt, _check_plot_path, _gb, _save_figure, _split
from reelkit.cli.common import JsonOpt, console, emit_json, print_table, progress_for
from reelkit.errors import ConfigError, DataFormatError, ReelkitWarning


def _write_plot(rows: list[dict[str, Any]], path: Path, title: str) -> None:
    """A bar chart of each approach's byte and object hit ratio."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    names = [r["name"] for r in rows]
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.8 * len(names) + 2), 4.0), constrained_layout=True)
    ax.bar(x - 0.2, [r["byte_hit_ratio"] for r in rows], 0.4, label="byte hit ratio")
    ax.bar(x + 0.2, [r["hit_ratio"] for r in rows], 0.4, label="hit ratio")
    ax.set_xticks(x, names, rotation=30, ha="right")
    ax.set_ylabel("ratio over the measured requests")
    ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    _save_figure(fig, path)


def plan_cmd(
    trace: TraceOpt,
    capacity: Annotated[str, typer.Option("--capacity", help="Disk size: 50GB, 500MiB, bytes, or 5%.")],
    fill_window: Annotated[
        str, typer.Option("--fill-window", help="Nightly fill window, local to the trace's clock (UTC).")
    ] = "02:00-14:00",
    fill_rate: Annotated[
        str, typer.Option("--fill-rate", help="Fill bandwidth: 1.2Gbps, 800Mbit/s, 100MB/s.")
    ] = "1.2Gbps",
    train_days: Annotated[
        int,
        typer.Option(
            "--train-days",
            min=2,
            help="Days that only train the forecast (not measured). Days are counted from the fill window's "
            "start, the first possibly partial: a 21-day trace from midnight with a 02:00 window is 22 days "
            "(2 h, 20 whole, 22 h), 8 of them measured after 14.",
        ),
    ] = 14,
    fill_cost: Annotated[
        float, typer.Option("--fill-cost", min=0.0, help="Cost of a filled byte, in backbone bytes.")
    ] = 0.05,
    reserve: Annotated[
        str,
        typer.Option(
            "--reserve",
            help="Disk share kept for the reactive policy (in [0, 1)), or 'auto': chosen each night among 0, "
            "0.25, 0.5 by shadow caches over the last 365 days; the forecast (GBM or long-run rates) is "
            "chosen by shadow caches over all nights so far.",
        ),
    ] = "auto",
    reactive: Annotated[
        str,
        typer.Option("--reactive", help="Policy of the reactive part (misses between fills): sieve or lru."),
    ] = "sieve",
    compare: Annotated[
        str, typer.Option("--compare", help="Reactive policies measured on the same requests.")
    ] = "lru,s3fifo",
    plot: Annotated[Path | None, typer.Option("--plot", help="Write a PNG of the hit ratios.")] = None,
    objects: Annotated[
        Path | None,
        typer.Option(
            "--objects",
            help="Object catalogue CSV (object_id,title_id,rendition[,release_s]): the forecast pools each "
            "title's files and sees release ages. Default: <trace>.objects.csv when it exists (written by "
            "'reelkit cache trace' and 'synth'); without one, each object is forecast alone.",
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Nightly fill planner on a trace, against the perfect-knowledge fill, reactive policies and the
    offline references (belady-size; the offline upper bound, which bounds demand-fetch caches only)."""
    from reelkit.stream.cache import (
        catalog_path,
        make_policy,
        parse_capacity,
        read_object_catalog,
        read_trace,
    )
    from reelkit.stream.fill import FillConfig, compare_fill, parse_fill_window, parse_rate

    try:
        window = parse_fill_window(fill_window)
        rate = parse_rate(fill_rate)
    except ConfigError as exc:
        raise ConfigError(f"--fill-window / --fill-rate: {exc}") from None
    policies = [make_policy(p).name for p in _split(compare, "--compare", example="")]
    if any(make_policy(p).offline for p in policies):
        raise ConfigError("--compare: give reactive policies; belady-size and the bound are always added")
    if plot is not None and plot.suffix.lower() != ".png":
        raise ConfigError(f"--plot {plot}: the plot is written as PNG; use a name ending in .png")
    _check_plot_path(plot)
    with warnings.catch_warnings():  # the plan sorts the requests, and says so itself
        warnings.filterwarnings(
            "ignore", message=r".* come before the one above them", category=ReelkitWarning
        )
        tr = read_trace(trace)
    tr.warn_if_sizes_change()
    if objects is None and catalog_path(trace).is_file():
        objects = catalog_path(trace)
    catalog = read_object_catalog(objects, tr) if objects is not None else None
    cap = parse_capacity(capacity, tr)
    if cap <= 0:
        raise ConfigError(f"--capacity {capacity}: the cache must hold at least one byte")
    choices: tuple[float, ...] = (0.0, 0.25, 0.5)
    if reserve.strip().lower() == "auto":
        fixed = 0.0
    else:
        try:
            fixed, choices = float(reserve), ()
        except ValueError:
            fixed = float("nan")
        if not 0 <= fixed < 1:
            raise ConfigError(
                f"--reserve {reserve!r}: give a share of the disk from 0 up to (not) 1, or auto"
            )
    reactive = reactive.lower()  # as --policy LRU is read
    if reactive not in ("sieve", "lru"):
        raise ConfigError(f"--reactive {reactive!r}: use sieve or lru")
    cfg = FillConfig(
        capacity_bytes=cap,
        fill_window=window,
        fill_rate_bytes_per_s=rate,
        fill_cost=fill_cost,
        reserve=fixed,
        adaptive_reserve=choices,
        reactive=reactive,
    )
    with progress_for(not json_out) as progress:
        res = compare_fill(
            tr,
            cfg,
            train_days=train_days,
            policies=policies,
            groups=None if catalog is None else catalog.groups,
            kinds=None if catalog is None else catalog.kinds,
            release_s=None if catalog is None else catalog.release_s,
            progress=progress,
        )
    rows: list[dict[str, Any]] = [
        {
            "name": a.name,
            "kind": a.kind,
            "hit_ratio": a.hit_ratio,
            "byte_hit_ratio": a.byte_hit_ratio,
            "fill_bytes": a.fill_bytes,
            "backbone_bytes": a.backbone_bytes,
        }
        for a in res.approaches
    ]
    ratios = res.ratios("fill")
    best = res.best_reactive()
    out: dict[str, Any] = {
        "trace": str(trace),
        "capacity_bytes": cap,
        "train_days": train_days,
        "measured_days": res.measured_days,
        "measured_requests": res.measured_requests,
        "fill_window": fill_window,
        "fill_rate_bytes_per_s": rate,
        "objects_file": None if objects is None else str(objects),
        "config": cfg.model_dump(mode="json"),
        # what --reserve auto chose (config.reserve reads 0 then), and the forecast used, night by night
        "reserve": "auto" if choices else fixed,
        "reserve_per_day": list(res.reserve_per_day),
        "forecast_per_day": list(res.forecast_per_day),
        "approaches": rows,
        "fill_ratio_to": ratios,
        "best_reactive": best.name if best else None,
    }
    if plot is not None:
        _write_plot(rows, plot, f"{trace.name}: {_gb(cap)} disk")
        out["plot"] = str(plot)
    if json_out:
        emit_json(out)
        return
    print_table(
        f"{trace.name}: {_gb(cap)} disk, measured {res.measured_days} days / {res.measured_requests:,} "
        f"requests after {train_days} training days",
        ["approach", "kind", "byte hit ratio", "hit ratio", "fill", "backbone", "fill / this (BHR)"],
        [
            (
                r["name"],
                r["kind"],
                r["byte_hit_ratio"],
                r["hit_ratio"],
                _gb(r["fill_bytes"]),
                _gb(r["backbone_bytes"]),
                "" if r["name"] == "fill" else f"{ratios[r['name']]:.3f}",
            )
            for r in rows
        ],
    )
    if catalog is not None:
        console.print(f"forecast pooled over {catalog.n_titles:,} titles from {objects}")
    if plot is not None:
        console.print(f"plot -> {plot}")


def _parse_time(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(value):
            raise ConfigError(f"--at {text!r}: expected unix seconds or an ISO time (2026-01-31T20:00Z)")
        return value
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"--at {text!r}: expected unix seconds or an ISO time (2026-01-31T20:00Z)"
        ) from None
    if dt.tzinfo is None:
        from datetime import UTC

        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _read_samples(path: Path) -> tuple[Any, Any]:
    """``timestamp,mbps`` rows (unix seconds or ISO times) -> arrays; errors name the file and line."""
    import csv

    import numpy as np

    from reelkit.stream.advice import MAX_SAMPLE_MBPS, MAX_SAMPLE_TIME_S

    check_input_file(
        path, DataFormatError, "is a folder; give a samples file (timestamp,mbps)", "no such samples file"
    )
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            rows = [(no, r) for no, r in enumerate(csv.reader(fh), start=1) if any(c.strip() for c in r)]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataFormatError(f"not a readable CSV ({str(exc).splitlines()[0]})", path=str(path)) from None
    if not rows:
        raise DataFormatError("the file is empty; expected the header timestamp,mbps", path=str(path))
    header = [c.strip() for c in rows[0][1]]
    missing = [c for c in ("timestamp", "mbps") if c not in header]
    if missing:
        raise DataFormatError(
            f"missing column(s) {', '.join(missing)}; expected the header timestamp,mbps",
            path=str(path),
            line=rows[0][0],
        )
    if len(rows) == 1:
        raise DataFormatError("no samples after the header", path=str(path))
    ti, bi = header.index("timestamp"), header.index("mbps")
    times = np.empty(len(rows) - 1)
    mbps = np.empty(len(rows) - 1)
    for i, (no, row) in enumerate(rows[1:]):
        if len(row) != len(header):  # pandas took a column more than the header as the index, silently
            raise DataFormatError(
                f"{len(row)} fields where the header has {len(header)} ({', '.join(header)})",
                path=str(path),
                line=no,
            )
        t, b = row[ti].strip(), row[bi].strip()
        try:
            times[i] = _parse_time(t)
            mbps[i] = float(b)
        except (ConfigError, ValueError):
            raise DataFormatError(
                f"expected timestamp (unix s or ISO) and mbps (a number), got {t!r},{b!r}",
                path=str(path),
                line=no,
            ) from None
        if not 0 <= times[i] <= MAX_SAMPLE_TIME_S:
            raise DataFormatError(
                f"timestamp {t!r} is outside 1970-2100 (unix seconds 0..{MAX_SAMPLE_TIME_S:.0f})",
                path=str(path),
                line=no,
            )
        if not 0 <= mbps[i] <= MAX_SAMPLE_MBPS:  # (also NaN)
            raise DataFormatError(
                f"mbps must be a number from 0 to {MAX_SAMPLE_MBPS:g}, got {b!r}", path=str(path), line=no
            )
    return times, mbps


#: the longest title --title takes, seconds (as the service's play events): 1e308 advised "download inf min"
MAX_TITLE_S = 1_000_000


def _parse_title(text: str) -> tuple[str, float]:
    tid, sep, dur = text.rpartition(":")
    try:
        seconds = float(dur)
    except ValueError:
        seconds = float("nan")
    if not sep or not tid or not 0 < seconds < math.inf:
        raise ConfigError(f"--title {text!r}: expected ID:DURATION_S, for example tt0111161:8520")
    if seconds > MAX_TITLE_S:
        raise ConfigError(f"--title {text!r}: the duration is at most {MAX_TITLE_S:,} s (about 11 days)")
    return tid, seconds


def advise_cmd(
    samples: Annotated[
        Path,
        typer.Option(
            "--samples",
            help="CSV of throughput samples with the header timestamp,mbps (unix s or ISO times).",
        ),
    ],
    quality: Annotated[
        float,
        typer.Option(
            "--quality", help="Wanted quality, kbit/s: a ladder rung, or the highest rung at or below it."
        ),
    ],
    title: Annotated[
        list[str], typer.Option("--title", help="ID:DURATION_S of a title to advise on (repeatable).")
    ],
    ladder: Annotated[
        str | None, typer.Option("--ladder", help="Ladder bitrates, kbit/s, ascending: 300,750,1200,...")
    ] = None,
    at: Annotated[str | None, typer.Option("--at", help="When (unix s or ISO); default now.")] = None,
    utc_offset: Annotated[
        float, typer.Option("--utc-offset", min=-14.0, max=14.0, help="Member's local time minus UTC, h.")
    ] = 0.0,
    json_out: JsonOpt = False,
) -> None:
    """Stream, download now, or wait: will this network hold the quality for these titles?"""
    from reelkit.stream.advice import MAX_SAMPLE_TIME_S, AdviceConfig, NetworkProfile, TitleToWatch, advise

    titles = [TitleToWatch(*_parse_title(t), reason="requested") for t in title]
    if not titles:
        raise ConfigError("--title: give at least one ID:DURATION_S")
    cfg = AdviceConfig()
    if ladder is not None:
        try:
            rungs = tuple(float(b) for b in _split(ladder, "--ladder", example=""))
        except ValueError:
            raise ConfigError(f"--ladder {ladder!r}: expected numbers such as 300,750,1200") from None
        cfg = AdviceConfig(ladder_kbps=rungs)
    now = None if at is None else _parse_time(at)
    if now is not None and not 0 <= now <= MAX_SAMPLE_TIME_S:  # the samples' bounds: 1e308 was taken
        raise ConfigError(
            f"--at {at!r}: give a time from 1970 to 2100 (unix seconds 0..{MAX_SAMPLE_TIME_S:.0f})"
        )
    times, mbps = _read_samples(samples)
    profile = NetworkProfile.from_samples(times, mbps, utc_offset_h=utc_offset)
    res = advise(profile, titles, quality_kbps=quality, now_s=now, config=cfg)
    if json_out:
        emit_json(
            {
                "hour": res.hour,
                "median_mbps_now": res.median_mbps_now,
                "samples_now": res.samples_now,
                "hours_from_now": res.hours_from_now,
                "note": res.note,
                "titles": [vars(t) for t in res.titles],
            }
        )
        return
    print_table(
        f"local hour {res.hour:02d}:00, median {res.median_mbps_now:.2f} Mbit/s",
        ["title", "action", "kbps", "holds now", "download", "best streamable", "better hour"],
        [
            (
                t.title_id,
                t.action,
                t.quality_kbps,
                f"{t.hold_probability_now:.0%}",
                f"{t.download_s_now / 60:.0f} min",
                "-" if t.best_streamable_kbps is None else f"{t.best_streamable_kbps:g}",
                "-" if t.better_hour is None else f"{t.better_hour:02d}:00",
            )
            for t in res.titles
        ],
    )
    for t in res.titles:
        console.print(f"{t.title_id}: {t.message}", highlight=False, markup=False)
    if res.note:
        console.print(f"note: {res.note}", highlight=False, markup=False)


def add_commands(group: typer.Typer, app: typer.Typer) -> None:
    """Add this module's commands to the ``cache`` group (``group``) or the root app (``app``)."""
    group.command("plan")(plan_cmd)
    group.command("advise")(advise_cmd)
