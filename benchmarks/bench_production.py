"""Shoot scheduling (CP-SAT) on generated productions: solve time, objective, bound and gap as size grows.

    .venv/bin/python benchmarks/bench_production.py [--sizes 10 30 60 100 150] [--seeds 0 1 2] \
        [--time-limit 30]

Writes benchmarks/out/production.json and benchmarks/RESULTS.d/production.md (medians over seeds);
``--out-dir`` and ``--md`` write them elsewhere (a rerun that leaves the repository as it is).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from reelkit.errors import ReelkitError
from reelkit.produce.generator import generate_production
from reelkit.produce.shoot import SolveOptions, check_schedule, plan_shoot

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_md import write_section

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10, 30, 60, 100, 150])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--time-limit", type=float, default=30.0)  # as RESULTS.d/production.md states
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--note", default="")
    ap.add_argument("--out-dir", type=Path, default=HERE / "out", help="folder for production.json")
    ap.add_argument(
        "--md", type=Path, default=HERE / "RESULTS.d" / "production.md", help="the RESULTS section to rewrite"
    )
    args = ap.parse_args()
    rows = []
    for n in args.sizes:
        for seed in args.seeds:
            prod = generate_production(n, seed)
            t0 = time.perf_counter()
            try:
                s = plan_shoot(
                    prod, SolveOptions(time_limit=args.time_limit, num_workers=args.workers, seed=0)
                )
            except ReelkitError as exc:  # no schedule within the limit: recorded, not hidden
                rows.append({"scenes": n, "seed": seed, "status": "NO_SOLUTION", "error": str(exc)})
                print(json.dumps(rows[-1]), flush=True)
                continue
            wall = time.perf_counter() - t0
            row = {
                "scenes": n,
                "seed": seed,
                "people": len(prod.people),
                "locations": len(prod.locations),
                "max_days": prod.calendar.max_days,
                "status": s.status,
                "days": s.n_days,
                "objective": s.objective,
                "bound": s.bound,
                "gap": s.gap,
                "wall_s": wall,
                "variables": s.stats.get("variables"),
                "violations": len(check_schedule(prod, s)),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    out = args.out_dir
    out.mkdir(parents=True, exist_ok=True)
    (out / "production.json").write_text(json.dumps(rows, indent=2) + "\n")
    lines = [
        "# Shoot scheduling on generated productions (CP-SAT)",
        "",
        f"Command: `.venv/bin/python benchmarks/bench_production.py --sizes {' '.join(map(str, args.sizes))} "
        f"--seeds {' '.join(map(str, args.seeds))} --time-limit {args.time_limit:g}`",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; CP-SAT with "
        f"{args.workers} workers, seed 0, time limit {args.time_limit:g} s. {args.note}",
        "",
        "Productions from `reelkit schedule generate --scenes N --seed S` (seeds as listed); "
        "medians over seeds. "
        "Gap = (cost − best bound) / cost; 0 means proven optimal.",
        "",
        "| scenes | people | locations | optimal | median days | median cost | median bound | median gap | "
        "max gap | median solve s |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in args.sizes:
        rs = [r for r in rows if r["scenes"] == n and r["status"] != "NO_SOLUTION"]
        if not rs:
            lines.append(f"| {n} | | | no schedule within the limit | | | | | | |")
            continue
        lines.append(
            f"| {n} | {statistics.median(r['people'] for r in rs):g} | "
            f"{statistics.median(r['locations'] for r in rs):g} | "
            f"{sum(r['status'] == 'OPTIMAL' for r in rs)}/{len([r for r in rows if r['scenes'] == n])} | "
            f"{statistics.median(r['days'] for r in rs):g} | "
            f"{statistics.median(r['objective'] for r in rs):,.0f} | "
            f"{statistics.median(r['bound'] for r in rs):,.0f} | "
            f"{statistics.median(r['gap'] for r in rs):.1%} | {max(r['gap'] for r in rs):.1%} | "
            f"{statistics.median(r['wall_s'] for r in rs):.2f} |"
        )
    lines += [
        "",
        "Every schedule was checked by `check_schedule` (an independent check of availability, hours, "
        "precedences, same-day groups, not-before dates, a continuous shoot from calendar.start, one visit "
        f"per location a day): "
        f"{sum(r.get('violations', 0) for r in rows)} violations in {len(rows)} runs.",
    ]
    args.md.parent.mkdir(parents=True, exist_ok=True)
    write_section(args.md, "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
