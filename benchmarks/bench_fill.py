"""Nightly fill planner vs the perfect-knowledge fill, every reactive policy and the offline references.

Traces: synthetic VoD (``synthesize(SynthConfig(seed=s, days=21, n_titles=3000, views_per_day=20000))``) and
ml-latest-small (ratings from 2015-01-01 on as views, ``trace_from_events``). Capacities 1%, 5%, 10% of the
catalogue bytes. Everything is measured on the requests after the training days; reactive policies skip the
same leading requests (``warmup``). Also: the forecast error on the measured days (``evaluate_forecast``) and,
on ml-latest-small, the recommender signal (weekly EASE top-20 counts over members active in the last 90
days) with and without it.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_fill.py            # everything
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_fill.py --quick    # one seed, no signal
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_fill.py --skip-synth --no-signal   # ML, no EASE fits

The planner is offered two forecasts (the GBM and the long-run rates, both given each object's title and
rendition) and picks one nightly by shadow caches; ``fill gbm only`` / ``fill rates only`` show each alone.
Also reported: the share of measured requests that are the first of their object or title (no demand-fetch
cache can hit them, no history-based forecast can anticipate them).

Writes benchmarks/out/fill.json and benchmarks/out/fill_<trace>.png; prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reelkit.stream.cache import RequestTrace, SynthConfig, parse_capacity, synthesize, trace_from_events
from reelkit.stream.cache.workload import Workload, decode_object_ids
from reelkit.stream.fill import FillConfig, compare_fill, order_by_id, simulate_fill
from reelkit.stream.forecast import (
    DailyCounts,
    ForecastConfig,
    RequestForecaster,
    daily_counts,
    evaluate_forecast,
    top_pick_counts,
)

ROOT = Path(__file__).resolve().parents[1]
ML = ROOT.parent / "shared" / "data" / "movielens" / "ml-latest-small"
OUT = ROOT / "benchmarks" / "out"
POLICIES = ("lru", "fifo", "lfu", "arc", "s3fifo", "sieve", "gdsf", "tinylfu")
CAPS = ("1%", "5%", "10%")
RESERVES = (0.0, 0.25, 0.5)  # fixed reserves, next to the default nightly choice among them


def _titles(trace: RequestTrace) -> tuple[np.ndarray, np.ndarray]:
    """Each object's title and rendition (from the ids ``reelkit.stream.cache.workload`` makes)."""
    title, rend, _ = decode_object_ids(trace.original_ids.astype(np.int64))
    return title, rend


def _counts(trace: RequestTrace, window_start: float, release_s: np.ndarray | None = None) -> DailyCounts:
    title, rend = _titles(trace)
    return daily_counts(
        trace.timestamps,
        trace.objects,
        trace.n_objects,
        day_start_hour=window_start,
        release_s=release_s,
        groups=title,
        kinds=rend,
    )


def first_request_share(trace: RequestTrace, measured_from: int) -> dict[str, float]:
    """Share of the measured requests (and bytes) that are the first request of their object, or of their
    title, in the whole trace: no demand-fetch cache can hit them, and no forecast from the trace's own
    history can anticipate them (a title-level forecast can anticipate a new rendition of a known title)."""
    title, _ = _titles(trace)
    obj = trace.objects
    first_obj = np.zeros(len(obj), dtype=bool)
    first_obj[np.unique(obj, return_index=True)[1]] = True
    first_title = np.zeros(len(obj), dtype=bool)
    first_title[np.unique(title[obj], return_index=True)[1]] = True
    b = trace.sizes[measured_from:].astype(np.float64)
    fo, ft = first_obj[measured_from:], first_title[measured_from:]
    return {
        "object_requests": float(fo.mean()),
        "object_bytes": float(b[fo].sum() / b.sum()),
        "title_requests": float(ft.mean()),
        "title_bytes": float(b[ft].sum() / b.sum()),
    }


def _object_release(wl: Workload) -> np.ndarray:
    return wl.object_catalog()["release_s"].to_numpy(dtype=np.float64)


def _forecast_errors(
    data: DailyCounts, train_days: int, fc: RequestForecaster, signal: np.ndarray | None = None
) -> dict[str, Any]:
    test = range(train_days, data.n_days)
    ewma = RequestForecaster(ForecastConfig(model="ewma")).fit(data, range(1, train_days))
    rates = RequestForecaster(ForecastConfig(model="rates")).fit(data, range(1, train_days))
    forecasts: dict[str, Any] = {
        "gbm": fc.predict_days(data, test, signal=signal),
        "rates": rates.predict_days(data, test),
        "ewma": ewma,
    }
    rep = evaluate_forecast(data, test, forecasts, signal=signal)
    return {"days": rep.days, "wape": rep.wape, "mae": rep.mae, "spearman": rep.spearman}


def _permuted(forecasts: dict[str, np.ndarray], perm: np.ndarray | None) -> dict[str, np.ndarray]:
    """Per-object forecasts in ``order_by_id``'s order (as ``compare_fill`` plans)."""
    return forecasts if perm is None else {k: np.asarray(v)[perm] for k, v in forecasts.items()}


def run_trace(
    name: str,
    trace: RequestTrace,
    train_days: int,
    release_s: np.ndarray | None,
    *,
    signal: np.ndarray | None = None,
    log: Any = print,
) -> dict[str, Any]:
    """Every approach at every capacity on one trace (one forecaster fitted, its forecasts shared)."""
    base = FillConfig(capacity_bytes=1)
    data = _counts(trace, base.fill_window[0], release_s)
    measured = range(train_days, data.n_days)
    t0 = time.perf_counter()
    fc = RequestForecaster().fit(data, range(1, train_days))
    gbm = fc.predict_days(data, measured)
    forecast_s = time.perf_counter() - t0
    rates = RequestForecaster(ForecastConfig(model="rates")).fit(data, range(1, train_days))
    forecasts = {"gbm": gbm, "rates": rates.predict_days(data, measured)}
    start = int(np.searchsorted(trace.timestamps, data.day0_s + train_days * 86400.0))
    out: dict[str, Any] = {
        "trace": name,
        "requests": trace.n_requests,
        "objects": trace.n_objects,
        "days": data.n_days,
        "train_days": train_days,
        "forecast_s": forecast_s,
        "forecast_error": _forecast_errors(data, train_days, fc),
        "first_requests": first_request_share(trace, start),
        "capacities": [],
    }
    sig_forecasts = None
    if signal is not None:
        sig_fc = RequestForecaster().fit(data, range(1, train_days), signal=signal)
        sig_forecasts = {
            "gbm": sig_fc.predict_days(data, measured, signal=signal),
            "rates": forecasts["rates"],
        }
        out["forecast_error_signal"] = _forecast_errors(data, train_days, sig_fc, signal)
    by_id, perm = order_by_id(trace)
    by_id_sizes = by_id.object_sizes()
    for cap_text in CAPS:
        cap = parse_capacity(cap_text, trace)
        cfg = FillConfig(capacity_bytes=cap)
        t0 = time.perf_counter()
        res = compare_fill(trace, cfg, train_days=train_days, policies=POLICIES, forecast=forecasts)
        row: dict[str, Any] = {
            "capacity": cap_text,
            "capacity_bytes": cap,
            "measured_requests": res.measured_requests,
            "approaches": {a.name: vars(a) for a in res.approaches},
            "fill_ratio_to": res.ratios("fill"),
            "best_reactive": (best := res.best_reactive()) and best.name,
        }
        extra: dict[str, float] = {}
        variants: list[tuple[str, Any, FillConfig]] = [
            (
                f"fill fixed reserve={r}",
                forecasts,
                FillConfig(capacity_bytes=cap, reserve=r, adaptive_reserve=()),
            )
            for r in RESERVES
        ]
        variants += [(f"fill {k} only", {k: v}, cfg) for k, v in forecasts.items()]
        variants.append(
            ("fill fixed residency", forecasts, FillConfig(capacity_bytes=cap, observed_residency=False))
        )
        if sig_forecasts is not None:
            variants.append(("fill +signal", sig_forecasts, cfg))
        for label, fcs, vcfg in variants:  # planned on the objects as compare_fill numbers them
            r = simulate_fill(
                by_id.timestamps,
                by_id.objects,
                by_id.sizes,
                by_id_sizes,
                vcfg,
                train_days=train_days,
                forecast=_permuted(fcs, perm),
            )
            extra[label] = r.byte_hit_ratio
        row["forecast_chosen"] = {k: res.forecast_per_day.count(k) for k in forecasts}
        row["variants_bhr"] = extra
        row["seconds"] = time.perf_counter() - t0
        out["capacities"].append(row)
        a = res.approaches
        log(
            f"{name} {cap_text}: "
            + " ".join(f"{x.name}={x.byte_hit_ratio:.3f}" for x in a)
            + " "
            + " ".join(f"{k}={v:.3f}" for k, v in extra.items())
            + f" ({row['seconds']:.0f}s)"
        )
    return out


def ml_signal(
    wl: Workload,
    events: pd.DataFrame,
    dataset: Any,
    data: DailyCounts,
    *,
    every_days: int,
    min_ratings: int,
    log: Any = print,
) -> np.ndarray:
    """``signal[o, d]``: members (active in the 90 days before) with object ``o``'s title in their EASE
    top-20, from a model trained on the ratings before the block of days that contains day ``d + 1`` (so
    known at the end of day ``d``). Titles with fewer than ``min_ratings`` ratings before the cut-off are
    left out of the model (the EASE inverse is cubic in the titles)."""
    from reelkit.recommend import EASE

    title_of_obj, _, _ = decode_object_ids(wl.trace.original_ids.astype(np.int64))
    obj_title_id = wl.title_ids[title_of_obj]
    n_days = data.n_days
    sig = np.zeros((len(obj_title_id), n_days))
    ts = pd.to_numeric(events["timestamp"]).to_numpy(dtype=np.float64)
    for start in range(1, n_days + 1, every_days):
        cut = data.day0_s + start * 86400.0
        before = events.loc[ts < cut]
        counts = before["title_id"].astype(str).value_counts()
        keep = set(counts.index[counts >= min_ratings])
        ev = before.loc[before["title_id"].astype(str).isin(keep)]
        model = EASE(regularization=300.0).fit(dataset.with_events(ev))
        tsb = pd.to_numeric(ev["timestamp"]).to_numpy(dtype=np.float64)
        active = ev.loc[tsb >= cut - 90 * 86400.0, "member_id"].astype(str).unique()
        rows = model.member_rows(active, missing_ok=True)
        rows = rows[rows >= 0]
        per_title = np.zeros(model.n_titles)
        if len(rows):
            idx, _ = model.recommend_rows(rows, 20)
            per_title = top_pick_counts(idx.astype(np.int64), model.n_titles)
        lookup = dict(zip(model.title_ids_.tolist(), per_title.tolist(), strict=True))
        col = np.array([lookup.get(t, 0.0) for t in obj_title_id])
        # known at the end of day start - 1 .. used for the days start .. start + every_days - 1
        lo, hi = max(0, start - 1), min(n_days, start - 1 + every_days)
        sig[:, lo:hi] = col[:, None]
    log(f"signal: {len(range(1, n_days + 1, every_days))} EASE fits")
    return sig


def _plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    caps = [c["capacity"] for c in result["capacities"]]
    names = list(result["capacities"][0]["approaches"])
    fig, ax = plt.subplots(figsize=(8, 4.5), constrained_layout=True)
    x = np.arange(len(caps))
    variants = list(result["capacities"][0]["variants_bhr"])
    colors = plt.get_cmap("tab20")(np.linspace(0, 1, len(names) + len(variants)))
    for n, color in zip(names, colors, strict=False):
        y = [c["approaches"][n]["byte_hit_ratio"] for c in result["capacities"]]
        style = "-" if n.startswith("fill") else ("--" if n in ("belady-size", "offline-bound") else ":")
        ax.plot(x, y, style, marker="o", label=n, color=color, linewidth=2.4 if n == "fill" else 1.2)
    for v, color in zip(variants, colors[len(names) :], strict=False):
        y = [c["variants_bhr"][v] for c in result["capacities"]]
        ax.plot(x, y, "-.", marker="s", label=v, color=color)
    ax.set_xticks(x, caps)
    ax.set_xlabel("cache size (share of the catalogue bytes)")
    ax.set_ylabel("byte hit ratio (measured days)")
    ax.set_title(result["trace"])
    ax.grid(alpha=0.3)
    fig.legend(fontsize=7, loc="outside right center")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(results: list[dict[str, Any]]) -> str:
    lines = []
    for r in results:
        lines.append(
            f"\n### {r['trace']} ({r['requests']:,} requests, {r['objects']:,} objects, {r['days']} days, "
            f"{r['train_days']} training)\n"
        )
        names = list(r["capacities"][0]["approaches"]) + list(r["capacities"][0]["variants_bhr"])
        lines.append("| approach | " + " | ".join(f"BHR {c['capacity']}" for c in r["capacities"]) + " |")
        lines.append("|---" * (1 + len(r["capacities"])) + "|")
        for n in names:
            vals = []
            for c in r["capacities"]:
                v = c["approaches"][n]["byte_hit_ratio"] if n in c["approaches"] else c["variants_bhr"][n]
                vals.append(f"{v:.3f}")
            lines.append(f"| {n} | " + " | ".join(vals) + " |")
        lines.append(
            "| fill / best reactive | "
            + " | ".join(
                f"{c['fill_ratio_to'][c['best_reactive']]:.3f} ({c['best_reactive']})"
                for c in r["capacities"]
            )
            + " |"
        )
        for bound in ("fill-oracle", "belady-size", "offline-bound"):
            lines.append(
                f"| fill / {bound} | "
                + " | ".join(f"{c['fill_ratio_to'][bound]:.3f}" for c in r["capacities"])
                + " |"
            )
        fr = r["first_requests"]
        lines.append(
            f"\nfirst requests in the measured period: of their object {fr['object_requests']:.3f} of the "
            f"requests / {fr['object_bytes']:.3f} of the bytes; of their title {fr['title_requests']:.3f} / "
            f"{fr['title_bytes']:.3f} (demand-fetch ceiling: byte hit ratio <= {1 - fr['object_bytes']:.3f})"
        )
        lines.append(
            "\nforecast used by `fill` (nights): "
            + "; ".join(
                f"{c['capacity']}: " + ", ".join(f"{k} {v}" for k, v in c["forecast_chosen"].items())
                for c in r["capacities"]
            )
        )
        for key in ("forecast_error", "forecast_error_signal"):
            if key in r:
                e = r[key]
                lines.append(
                    f"\n{key.replace('_', ' ')} over {e['days']} days (per object and day): "
                    + ", ".join(
                        f"{n} WAPE {e['wape'][n]:.3f} / Spearman {e['spearman'][n]:.3f}" for n in e["wape"]
                    )
                )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="one synthetic seed, no recommender signal")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--skip-ml", action="store_true")
    ap.add_argument("--skip-synth", action="store_true")
    ap.add_argument("--json-out", default="fill.json", help="file name under benchmarks/out")
    ap.add_argument("--ml-train-days", type=int, default=28)
    ap.add_argument("--signal-every", type=int, default=7, help="days between EASE refits")
    ap.add_argument("--signal-min-ratings", type=int, default=5)
    ap.add_argument("--no-signal", action="store_true", help="skip the recommender signal on ml-latest-small")
    args = ap.parse_args()

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    seeds = [0] if args.quick else [int(s) for s in args.seeds.split(",") if s]
    if args.skip_synth:
        seeds = []
    results = []
    for s in seeds:
        wl = synthesize(SynthConfig(seed=s, days=21, n_titles=3000, views_per_day=20000))
        res = run_trace(f"synthetic seed {s}", wl.trace, 14, _object_release(wl), log=log)
        _plot(res, OUT / f"fill_synth{s}.png")
        results.append(res)
    if not args.skip_ml and ML.is_dir():
        from reelkit.data.loaders import load_dataset

        ds = load_dataset(str(ML))
        ev = ds.events
        ev15 = ev[pd.to_numeric(ev["timestamp"]) >= pd.Timestamp("2015-01-01").timestamp()]
        wl = trace_from_events(ev15)
        signal = None
        if not (args.quick or args.no_signal):
            t0 = time.perf_counter()
            data = _counts(wl.trace, FillConfig(capacity_bytes=1).fill_window[0])
            signal = ml_signal(
                wl, ev, ds, data, every_days=args.signal_every, min_ratings=args.signal_min_ratings, log=log
            )
            log(f"signal built in {time.perf_counter() - t0:.0f}s")
        res = run_trace(
            "ml-latest-small from 2015", wl.trace, args.ml_train_days, None, signal=signal, log=log
        )
        _plot(res, OUT / "fill_ml.png")
        results.append(res)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / args.json_out).write_text(json.dumps(results, indent=2, default=float))
    print(markdown(results))


if __name__ == "__main__":
    main()
