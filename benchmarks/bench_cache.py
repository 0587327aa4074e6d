"""Cache simulator benchmark: agreement with libCacheSim, hit ratios of every policy, and speed side by side.

Traces (all written to oracleGeneral so that libCacheSim reads exactly the requests we simulate):

* ``synthetic``: ``synthesize(SynthConfig(seed=0, chunk_s=600))``: 7 days, 2,000 titles, 3 regions, files
  split into 10-minute chunks;
* ``movielens``: ml-latest-small ratings as views (``trace_from_events``), 10-minute chunks;
* ``zipf-speed``: 5 million requests over 1 million objects (Zipf 0.9, unit sizes) for the speed rows.

For each trace and cache size (1%, 5%, 10% of the bytes of all distinct objects):

* our miss ratio next to libCacheSim's for LRU, FIFO, LFU, ARC, S3-FIFO, SIEVE and Belady (our ``belady``,
  libCacheSim's semantics; ``belady-bypass`` is shown with the other hit ratios), and the absolute difference;
* the object and byte hit ratio of every policy and of the offline upper bound;
* speed: requests per second of our kernel (median of ``--repeats`` runs, compiled code only) and of
  libCacheSim's ``process_trace`` with its C reader (median of ``--repeats``; it includes reading the
  memory-mapped trace, which is how libCacheSim is used).

Usage::

    python benchmarks/bench_cache.py [--repeats 5] [--data ../shared/data/movielens/ml-latest-small]
                                     [--out benchmarks/RESULTS.d/cache.md] [--json benchmarks/out/cache.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from reelkit.stream.cache import (
    RequestTrace,
    SynthConfig,
    available_policies,
    make_policy,
    offline_upper_bound,
    simulate,
    synthesize,
    trace_from_events,
    write_trace,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_md import write_section

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = HERE.parent.parent / "shared" / "data" / "movielens" / "ml-latest-small"
FRACTIONS = (0.01, 0.05, 0.10)
# our policy (with libCacheSim's semantics) -> libCacheSim class
AGREE = {
    "lru": ("LRU", {}),
    "fifo": ("FIFO", {}),
    "lfu": ("LFU", {}),
    "arc": ("ARC", {}),
    "s3fifo": ("S3FIFO", {}),
    "sieve": ("Sieve", {}),
    "belady": ("Belady", {}),
}
# the speed rows: libCacheSim's counterpart of each policy, where it has one
SPEED_PEERS = {
    "lru": "LRU",
    "fifo": "FIFO",
    "lfu": "LFU",
    "lfuda": "LFUDA",
    "arc": "ARC",
    "s3fifo": "S3FIFO",
    "sieve": "Sieve",
    "gdsf": "GDSF",
    "tinylfu": "WTinyLFU",
    "belady": "Belady",
    "belady-size": "BeladySize",
}


def lcs_run(lcs: Any, path: Path, cls: str, cap: int) -> tuple[float, float, float]:
    reader = lcs.TraceReader(str(path), lcs.TraceType.ORACLE_GENERAL_TRACE)
    cache = getattr(lcs, cls)(cap, hashpower=20)
    t0 = time.perf_counter()
    mr, bmr = cache.process_trace(reader)
    return float(mr), float(bmr), time.perf_counter() - t0


def build_traces(data: Path, *, speed: bool = True) -> dict[str, RequestTrace]:
    """The benchmark's traces; ``speed=False`` leaves out the 5-million-request speed trace."""
    traces = {"synthetic": synthesize(SynthConfig(seed=0, chunk_s=600.0)).trace}
    ratings = data / "ratings.csv"
    if ratings.exists():
        from reelkit.data.loaders import load_movielens_csv

        traces["movielens"] = trace_from_events(load_movielens_csv(ratings), chunk_s=600.0, seed=0).trace
    else:
        print(f"note: {ratings} not found; the MovieLens rows are skipped", file=sys.stderr)
    if not speed:
        return traces
    rng = np.random.default_rng(0)
    n, n_obj = 5_000_000, 1_000_000
    # Zipf(0.9) over 1M objects by inverse CDF (numpy's zipf needs a > 1)
    cdf = np.cumsum(1.0 / np.arange(1, n_obj + 1) ** 0.9)
    ids = np.searchsorted(cdf / cdf[-1], rng.random(n))
    traces["zipf-speed"] = RequestTrace.from_arrays(
        np.arange(n, dtype=float) / 1000, ids, np.ones(n, np.int64)
    )
    return traces


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=HERE / "RESULTS.d" / "cache.md")
    ap.add_argument("--json", type=Path, default=HERE / "out" / "cache.json")
    ap.add_argument("--plot", type=Path, default=HERE / "RESULTS.d" / "cache_hit_ratio.png")
    ap.add_argument("--render-only", action="store_true", help="Rewrite the markdown and plot from --json.")
    ap.add_argument(
        "--bounds-only",
        action="store_true",
        help="Recompute only the (deterministic) upper bound rows of --json, then rewrite the markdown.",
    )
    ap.add_argument(
        "--offline-only",
        action="store_true",
        help="Recompute only the deterministic offline rows (the Belady variants, upper bound) of --json.",
    )
    ap.add_argument(
        "--print-offline-rows",
        action="store_true",
        help="Print the offline policies' hit-ratio rows (markdown) for each trace; needs no earlier --json.",
    )
    ap.add_argument(
        "--end-to-end",
        action="store_true",
        help="Time ours from the oracleGeneral file (read_trace + simulate) against libCacheSim's "
        "process_trace (reader opened in the timer too) on the 5M-request Zipf trace; prints markdown rows.",
    )
    args = ap.parse_args()
    if args.end_to_end:
        return end_to_end(args.repeats)
    if args.print_offline_rows:
        for tname, tr in build_traces(args.data, speed=False).items():
            wss = tr.working_set_bytes()
            print(f"**{tname}** (object hit ratio / byte hit ratio)")
            for pol in ("belady", "belady-bypass", "belady-size", "upper bound"):
                cells = []
                for frac in FRACTIONS:
                    cap = int(wss * frac)
                    r = offline_upper_bound(tr, cap) if pol == "upper bound" else simulate(tr, pol, cap)
                    cells.append(f"{r.hit_ratio:.3f} / {r.byte_hit_ratio:.3f}")
                print(f"| {pol} | " + " | ".join(cells) + " |")
        return 0
    if (args.render_only or args.bounds_only or args.offline_only) and not args.json.is_file():
        print(
            f"{args.json}: no results of an earlier full run here (benchmarks/out is not committed); run "
            "the benchmark without these flags first, or use --print-offline-rows",
            file=sys.stderr,
        )
        return 2
    if args.render_only:
        write_markdown(json.loads(args.json.read_text()), args.out, args.plot)
        return 0
    if args.bounds_only or args.offline_only:
        report = json.loads(args.json.read_text())
        traces = build_traces(args.data, speed=False)
        offline_rows = {"upper bound", "belady", "belady-bypass", "belady-size"}
        redo = offline_rows if args.offline_only else {"upper bound"}
        for row in report["hit_ratios"]:
            if row["policy"] in redo:
                tr = traces[row["trace"]]
                cap = int(tr.working_set_bytes() * row["size"])
                got = (
                    offline_upper_bound(tr, cap)
                    if row["policy"] == "upper bound"
                    else simulate(tr, row["policy"], cap)
                )
                row.update(hit_ratio=got.hit_ratio, byte_hit_ratio=got.byte_hit_ratio)
        flag = "--offline-only" if args.offline_only else "--bounds-only"
        report["bounds_recomputed"] = f"python benchmarks/bench_cache.py {flag}"
        args.json.write_text(json.dumps(report, indent=2))
        write_markdown(report, args.out, args.plot)
        return 0
    try:
        import libcachesim as lcs
    except ImportError:
        print(
            "libcachesim is not installed (pip install libcachesim); nothing to compare with", file=sys.stderr
        )
        return 0

    traces = build_traces(args.data)
    report: dict[str, Any] = {
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "loadavg_start": os.getloadavg()[0],
    }
    tmp = Path(tempfile.mkdtemp(prefix="bench-cache-"))
    agreement: list[dict[str, Any]] = []
    ratios: list[dict[str, Any]] = []
    speed: list[dict[str, Any]] = []
    for tname, tr in traces.items():
        path = tmp / f"{tname}.oracleGeneral"
        write_trace(tr, path)
        wss = tr.working_set_bytes()
        info = {"requests": tr.n_requests, "objects": tr.n_objects, "working_set_bytes": wss}
        report.setdefault("traces", {})[tname] = info
        print(f"{tname}: {tr.n_requests:,} requests, {tr.n_objects:,} objects", file=sys.stderr)
        if tname != "zipf-speed":
            for frac in FRACTIONS:
                cap = int(wss * frac)
                for name, (cls, params) in AGREE.items():
                    ours = simulate(tr, make_policy(name, **params), cap)
                    mr, bmr, _ = lcs_run(lcs, path, cls, cap)
                    agreement.append(
                        {
                            "trace": tname,
                            "size": frac,
                            "policy": name,
                            "ours": ours.miss_ratio,
                            "libcachesim": mr,
                            "diff": abs(ours.miss_ratio - mr),
                            "ours_bytes": ours.byte_miss_ratio,
                            "libcachesim_bytes": bmr,
                            "diff_bytes": abs(ours.byte_miss_ratio - bmr),
                        }
                    )
                for name in available_policies():
                    res = simulate(tr, name, cap)
                    ratios.append(
                        {
                            "trace": tname,
                            "size": frac,
                            "policy": name,
                            "hit_ratio": res.hit_ratio,
                            "byte_hit_ratio": res.byte_hit_ratio,
                        }
                    )
                ub = offline_upper_bound(tr, cap)
                ratios.append(
                    {
                        "trace": tname,
                        "size": frac,
                        "policy": "upper bound",
                        "hit_ratio": ub.hit_ratio,
                        "byte_hit_ratio": ub.byte_hit_ratio,
                    }
                )
        # speed at 5%
        cap = int(wss * 0.05)
        for name in available_policies():
            ours = [simulate(tr, name, cap).requests_per_s for _ in range(args.repeats)]
            peer = SPEED_PEERS.get(name)
            theirs: list[float] = []
            if peer is not None:
                for _ in range(args.repeats):
                    _, _, secs = lcs_run(lcs, path, peer, cap)
                    theirs.append(tr.n_requests / secs)
            row = {
                "trace": tname,
                "policy": name,
                "ours_rps": statistics.median(ours),
                "libcachesim_class": peer,
                "libcachesim_rps": statistics.median(theirs) if theirs else None,
            }
            speed.append(row)
            print(f"  speed {name}: {row['ours_rps']:,.0f} vs {row['libcachesim_rps']}", file=sys.stderr)
    report.update({"agreement": agreement, "hit_ratios": ratios, "speed": speed, "repeats": args.repeats})
    report["loadavg_end"] = os.getloadavg()[0]
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    write_markdown(report, args.out, args.plot)
    print(f"wrote {args.out} and {args.json}", file=sys.stderr)
    return 0


def end_to_end(repeats: int) -> int:
    """Both simulators from the same file on disk: ours reads it (``read_trace``: records, then object ids
    made dense) and simulates; libCacheSim opens its reader and runs ``process_trace``. The main speed table
    times our kernel alone against libCacheSim reading included, which is not the same work."""
    import libcachesim as lcs

    from reelkit.stream.cache import read_trace

    tr = build_traces(DEFAULT_DATA)["zipf-speed"]
    tmp = Path(tempfile.mkdtemp(prefix="bench-cache-e2e-"))
    path = tmp / "zipf.oracleGeneral"
    write_trace(tr, path)
    cap = int(tr.working_set_bytes() * 0.05)
    print(
        "| policy | ours: kernel | ours: read file + simulate | libCacheSim: open + process_trace | "
        "ratio (kernel) | ratio (end to end) |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name in ("lru", "fifo", "sieve", "s3fifo", "arc", "lfu"):
        simulate(tr, name, cap)  # compile the kernel before timing
        kernel, e2e, theirs = [], [], []
        for _ in range(repeats):
            kernel.append(simulate(tr, name, cap).requests_per_s)
            t0 = time.perf_counter()
            simulate(read_trace(path), name, cap)
            e2e.append(tr.n_requests / (time.perf_counter() - t0))
            t0 = time.perf_counter()
            reader = lcs.TraceReader(str(path), lcs.TraceType.ORACLE_GENERAL_TRACE)
            getattr(lcs, SPEED_PEERS[name])(cap, hashpower=20).process_trace(reader)
            theirs.append(tr.n_requests / (time.perf_counter() - t0))
        k, e, t = (statistics.median(v) for v in (kernel, e2e, theirs))
        print(f"| {name} | {k:,.0f} | {e:,.0f} | {t:,.0f} | {k / t:.1f}x | {e / t:.2f}x |", flush=True)
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


def write_markdown(report: dict[str, Any], out: Path, plot: Path) -> None:
    lines: list[str] = []
    add = lines.append
    add("# Edge cache simulator (`reelkit.stream.cache`)")
    add("")
    add(
        f"Command: `python benchmarks/bench_cache.py --repeats {report['repeats']}` (machine: "
        f"{report['cpus']} CPUs; see the note on load below). Traces:"
    )
    add("")
    add("| trace | requests | objects | distinct bytes |")
    add("|---|---:|---:|---:|")
    for name, t in report["traces"].items():
        wss = t["working_set_bytes"]
        shown = f"{wss / 1e9:,.1f} GB" if wss >= 1e9 else f"{wss:,} (unit sizes)"
        add(f"| {name} | {t['requests']:,} | {t['objects']:,} | {shown} |")
    add("")
    add(
        "`synthetic`: `synthesize(SynthConfig(seed=0, chunk_s=600))` (7 days, 2,000 titles, Zipf-Mandelbrot "
        "background, shot-noise releases, daily cycle, 3 regions, 10-minute chunks). `movielens`: "
        "ml-latest-small ratings as views, default ladder, ABR choice per session, 10-minute chunks. "
        "`zipf-speed`: 5M unit-size requests over 1M objects (Zipf 0.9), for speed only."
    )
    add("")
    add("## Agreement with libCacheSim (miss ratio, absolute difference; target <= 0.005)")
    add("")
    add(
        "Both simulators read the same oracleGeneral file (written by `write_trace`), byte capacities, "
        "variable sizes. Our `belady` has libCacheSim's semantics (every missed object that fits is "
        "admitted), as `reelkit cache simulate --policy belady` runs it."
    )
    add("")
    add("| trace | size | policy | ours | libCacheSim | |diff| | byte miss ours | byte miss libCacheSim |")
    add("|---|---:|---|---:|---:|---:|---:|---:|")
    worst = 0.0
    for r in report["agreement"]:
        worst = max(worst, r["diff"], r["diff_bytes"])
        add(
            f"| {r['trace']} | {r['size']:.0%} | {r['policy']} | {r['ours']:.4f} | {r['libcachesim']:.4f} | "
            f"{r['diff']:.4f} | {r['ours_bytes']:.4f} | {r['libcachesim_bytes']:.4f} |"
        )
    add("")
    add(f"Largest difference over all rows (object or byte miss ratio): **{worst:.4f}**.")
    add("")
    add("## Hit ratios (all policies, and the offline upper bound)")
    add("")
    add(
        "`belady` is MIN admitting every miss (libCacheSim's); `belady-bypass` is MIN with bypass (optimal "
        "for unit sizes only); `belady-size` is a size-aware heuristic; "
        "`upper bound` is `offline_upper_bound`: no demand-fetch policy can exceed it. Its byte hit ratio is "
        "the exact optimum of the fractional relaxation of variable-size OPT with the capacity enforced "
        "between every two requests (FOO's relaxation, solved as an interval packing); its object hit ratio "
        "is the looser PFOO-U (capacity summed over the trace)."
    )
    if "bounds_recomputed" in report:
        add("")
        offline = "--offline-only" in report["bounds_recomputed"]
        add(
            f"The {'`belady`, `belady-size` and ' if offline else ''}`upper bound` rows were recomputed with "
            f"`{report['bounds_recomputed']}` after "
            + (
                "the Belady variants stopped evicting objects before refusing the newcomer and the bound "
                "was tightened"
                if offline
                else "the bound was tightened"
            )
            + " (the other rows are from the run above; these rows are deterministic)."
        )
    add("")
    for tname in dict.fromkeys(r["trace"] for r in report["hit_ratios"]):
        add(f"**{tname}** (object hit ratio / byte hit ratio)")
        add("")
        add("| policy | " + " | ".join(f"{f:.0%}" for f in FRACTIONS) + " |")
        add("|---|" + "---:|" * len(FRACTIONS))
        for pol in dict.fromkeys(r["policy"] for r in report["hit_ratios"] if r["trace"] == tname):
            cells = []
            for f in FRACTIONS:
                r = next(
                    x
                    for x in report["hit_ratios"]
                    if x["trace"] == tname and x["policy"] == pol and x["size"] == f
                )
                cells.append(f"{r['hit_ratio']:.3f} / {r['byte_hit_ratio']:.3f}")
            add(f"| {pol} | " + " | ".join(cells) + " |")
        add("")
    add(f"![hit ratio vs cache size]({plot.name})")
    add("")
    add(f"## Speed (requests/s, median of {report['repeats']} runs, one core, cache = 5% of the bytes)")
    add("")
    add(
        "Ours: the numba kernel alone (compiled beforehand). libCacheSim: `process_trace` with its C reader "
        "over the memory-mapped oracleGeneral file (reading included, as it is used), `hashpower=20`."
    )
    add("")
    add("| trace | policy | ours | libCacheSim | ratio |")
    add("|---|---|---:|---:|---:|")
    for r in report["speed"]:
        peer = r["libcachesim_rps"]
        ratio = f"{r['ours_rps'] / peer:.1f}x" if peer else ""
        theirs = f"{peer:,.0f} ({r['libcachesim_class']})" if peer else "-"
        add(f"| {r['trace']} | {r['policy']} | {r['ours_rps']:,.0f} | {theirs} | {ratio} |")
    add("")
    lru = [r["ours_rps"] for r in report["speed"] if r["policy"] == "lru"]
    add(f"LRU target >= 1,000,000 requests/s on one core: slowest trace **{min(lru):,.0f}** requests/s.")
    add("")
    load = (report.get("loadavg_start"), report.get("loadavg_end"))
    add(
        "**Load.** 1-minute load average of the 2-core machine during this run: "
        + (f"{load[0]:.1f} at the start, {load[1]:.1f} at the end" if None not in load else "not recorded")
        + " (above 2, other jobs shared it and absolute rates are depressed and noisy). The two simulators "
        "ran alternately in the same process, so the ratios compare under the same load; they are our "
        "kernel alone against libCacheSim reading its file (see the end-to-end rows, `--end-to-end`)."
    )
    add("")
    add(
        "Notes. libCacheSim's `WTinyLFU` prints `CBF ... has too few counters` on these byte-sized caches "
        "(its Bloom filter size overflows when the capacity is in bytes), which is why it is so slow on the "
        "MovieLens trace; our `tinylfu` is our own W-TinyLFU (1% window, SLRU main, count-min sketch) and is "
        "not meant to match its miss ratios. On the MovieLens-derived trace SIEVE and LFU give the same "
        "results in both simulators (our hit masks are identical request by request, at every size tried): "
        "the two coincide whenever every eviction finds an object not requested since it was admitted, as "
        "then both evict the oldest such object and keep every object hit since, and on this trace SIEVE's "
        "hand never comes round to its tail (checked at 1,000 and 10,000 unit-size slots: no wrap). "
        "MovieLens rating times are when members rated, not when they watched, so that trace is only a "
        "stand-in for a viewing log."
    )
    add("")
    out.parent.mkdir(parents=True, exist_ok=True)
    write_section(out, "\n".join(lines) + "\n")
    _plot(report, plot)


def _plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(r["trace"] for r in report["hit_ratios"]))
    policies = [p for p in dict.fromkeys(r["policy"] for r in report["hit_ratios"]) if p != "upper bound"]
    colors = {p: plt.get_cmap("tab20")(2 * i % 20 + (2 * i // 20)) for i, p in enumerate(policies)}
    fig, axes = plt.subplots(
        1, len(names), figsize=(5.5 * len(names) + 1.5, 4), layout="constrained", squeeze=False
    )
    for ax, tname in zip(axes[0], names, strict=True):
        for pol in dict.fromkeys(r["policy"] for r in report["hit_ratios"] if r["trace"] == tname):
            rows = [r for r in report["hit_ratios"] if r["trace"] == tname and r["policy"] == pol]
            xs = [100 * r["size"] for r in rows]
            ys = [r["byte_hit_ratio"] for r in rows]
            if pol == "upper bound":
                ax.plot(xs, ys, "k--", label=pol)
            else:
                ax.plot(xs, ys, "-o", color=colors[pol], label=pol, ms=4)
        ax.set_title(tname)
        ax.set_xlabel("cache size (% of distinct bytes)")
        ax.set_ylabel("byte hit ratio")
        ax.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="outside right center")
    fig.savefig(path, dpi=90)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
