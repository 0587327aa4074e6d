"""Talent scheduling: the exact DP against CP-SAT on every instance of ``shared/data/schedule``.

For each file of ``instances.csv``: our solver (``solve_talent``, method ``dp``) ``--repeats`` times
(median wall and CPU seconds; 3 repeats when one run takes more than 5 s), checked against the listed
optimum; then the CP-SAT model of the same (preprocessed) problem once per distinct instance with the
same time limit (its time and whether it proved optimality). One cold ``reelkit schedule solve`` run
(new process: imports and loading the compiled kernels included) is timed on film103. The load average
is recorded: on a shared machine wall times overstate; CPU seconds are the steadier figure.

Usage::

    python benchmarks/bench_talent.py [--data DIR] [--repeats 5] [--time-limit 10] [--no-cpsat]
        [--only SUBSTRING] [--long-limit 120] [--md benchmarks/RESULTS.d/talent.md]
        [--json benchmarks/out/talent.json] [--render]

Exits 0 with a note when the data folder is absent.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from reelkit.produce.talent import TalentConfig, read_instance, reduce_instance, solve_cpsat, solve_talent

sys.path.insert(0, str(Path(__file__).resolve().parent))
from results_md import write_section

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "schedule"
CLASSIC_FILMS = ("film", "concert", "small", "tiny", "Warwick")


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def _ours(path: Path, repeats: int, time_limit: float) -> dict[str, Any]:
    inst = read_instance(path)
    walls: list[float] = []
    cpus: list[float] = []
    sol = None
    for i in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        sol = solve_talent(inst, TalentConfig(time_limit=time_limit))
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        if i == 0 and walls[0] > 5.0:
            repeats = min(repeats, 3)
        if i + 1 >= repeats:
            break
    assert sol is not None
    red = reduce_instance(inst)
    return {
        "total": sol.total_cost,
        "holding": sol.holding_cost,
        "optimal": sol.optimal,
        "lower_bound": sol.lower_bound,
        "nodes": sol.nodes,
        "status": sol.status,
        "runs": len(walls),
        "wall_median_s": statistics.median(walls),
        "cpu_median_s": statistics.median(cpus),
        "wall_max_s": max(walls),
        "reduced_scenes": red.n_scenes,
        "reduced_actors": red.n_actors,
    }


def _cpsat(path: Path, time_limit: float) -> dict[str, Any]:
    inst = read_instance(path)
    c0, t0 = time.process_time(), time.perf_counter()
    sol = solve_cpsat(inst, time_limit=time_limit, workers=1)
    return {
        "total": sol.total_cost,
        "optimal": sol.optimal,
        "lower_bound": sol.lower_bound,
        "wall_s": time.perf_counter() - t0,
        "cpu_s": time.process_time() - c0,
    }


def _cold_cli(path: Path, time_limit: float) -> float:
    exe = Path(sys.executable).with_name("reelkit")
    cmd = [str(exe), "schedule", "solve", str(path), "--time-limit", str(time_limit), "--json"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    return time.perf_counter() - t0


def _md(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    def fmt(x: float) -> str:
        return f"{x:.3f}"

    ok = sum(1 for r in rows if r["ours"]["optimal"] and r["ours"]["total"] == r["opt_total"])
    classic = [r for r in rows if r["file"].startswith(("classic/", "minizinc/", "csplib/"))]
    films = [r for r in classic if "film" in r["file"]]
    lines = [
        "# Talent scheduling: exact DP vs CP-SAT",
        "",
        f"Command: `{meta['command']}`",
        "",
        f"Data: `shared/data/schedule/` ({len(rows)} files, `instances.csv` optima). "
        f"Machine: {meta['machine']}; "
        f"load average {meta['load_before']} before, {meta['load_after']} after the run "
        f"({meta['note']}). Time limit {meta['time_limit']} s for both solvers. "
        f"Ours: median of up to {meta['repeats']} runs per file (3 when a run takes over 5 s), in one warm "
        "process (kernels compiled and loaded once); CP-SAT: one run per distinct instance, 1 worker, same "
        "preprocessed instance.",
        "",
        f"**Matched the listed optimum and proved it: {ok}/{len(rows)} files.** "
        f"Slowest classic film (wall, median): "
        f"{max((r['ours']['wall_median_s'] for r in films), default=0):.3f} s; slowest file overall "
        f"(wall, median): {max(r['ours']['wall_median_s'] for r in rows):.3f} s "
        f"(CPU {max(r['ours']['cpu_median_s'] for r in rows):.3f} s).",
        f"Cold CLI run (`reelkit schedule solve classic/film103.dat --json`, new process incl. imports and "
        f"kernel loading): {meta['cold_cli_s']}.",
        "",
        "| file | n×m | reduced | opt total | ours total | proved | states | wall s (median) "
        "| CPU s (median) | CP-SAT total | CP-SAT proved | CP-SAT wall s | CP-SAT/ours wall |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        o = r["ours"]
        c = r.get("cpsat")
        ratio = f"{c['wall_s'] / max(o['wall_median_s'], 1e-4):.0f}×" if c else ""
        lines.append(
            f"| {r['file']} | {r['size']} | {o['reduced_scenes']}×{o['reduced_actors']} | {r['opt_total']} | "
            f"{o['total']} | {'yes' if o['optimal'] else 'no (' + o['status'] + ')'} | {o['nodes']} | "
            f"{fmt(o['wall_median_s'])} | {fmt(o['cpu_median_s'])} | "
            + (
                f"{c['total']} | {'yes' if c['optimal'] else 'no (LB ' + str(c['lower_bound']) + ')'} | "
                f"{c['wall_s']:.2f} | {ratio} |"
                if c
                else "| | | |"
            )
        )
    longs = [r for r in rows if "long" in r]
    if longs:
        lines += [
            "",
            f"Files not proved within {meta['time_limit']} s, rerun once with a {meta['long_limit']} s limit "
            "(same process, same load):",
            "",
            "| file | proved | total | states | wall s | CPU s |",
            "|---|---|---|---|---|---|",
        ]
        for r in longs:
            lo = r["long"]
            lines.append(
                f"| {r['file']} | {'yes' if lo['optimal'] else 'no'} | {lo['total']} | {lo['nodes']} | "
                f"{lo['wall_median_s']:.2f} | {lo['cpu_median_s']:.2f} |"
            )
    capped = [r["ours"] for r in rows if r["ours"]["status"] == "time_limit"]
    load_note = (
        f" Under this load {meta['time_limit']} s of wall clock gave the solver "
        f"{min(o['cpu_median_s'] for o in capped):.1f}–{max(o['cpu_median_s'] for o in capped):.1f} s of CPU."
        if capped
        else ""
    )
    # what the files not proved returned, counted (the note had said they all found the optimum unchecked)
    unproved = [r for r in rows if not r["ours"]["optimal"]]
    at_opt = sum(1 for r in unproved if r["ours"]["total"] == r["opt_total"])
    proved_note = (
        f"; {at_opt} of the {len(unproved)} files not proved within the limit returned a schedule of the "
        "listed optimal cost, each with its lower bound; the table above reruns them with a longer limit."
        if unproved
        else f" (all {len(rows)} files in this run). A file not proved within the limit still returns its "
        "best schedule with a lower bound."
    )
    lines += [
        "",
        "Notes:",
        "",
        "* `proved` = our search proved optimality within the limit" + proved_note + load_note,
        "* `states` = states expanded. Each new state's full bound is computed when it is generated, and "
        "only states whose bound is below the incumbent are stored (`TalentConfig.eager_bound=2`, the "
        "default); the states expanded are the same as with the bound computed lazily (`eager_bound=0`), "
        "with less memory and CPU time.",
        "* The CP-SAT/ours ratio compares wall times; where neither proved optimality both ran to the limit "
        "(ratio ≈ 1×).",
        "* A two-ended variant (scenes placed at both ends, state = remaining scenes plus the on-location "
        "actors at each end, bound from both ends) was implemented and measured during development: exact as "
        "well, but it expanded 3–4× more states (film103: 14,135 vs 4,530; instance_22_10_40_20: 140,383 vs "
        "32,847), so the front-to-back search was kept.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--no-cpsat", action="store_true")
    ap.add_argument(
        "--long-limit",
        type=float,
        default=120.0,
        help="rerun files not proved in --time-limit with this limit",
    )
    ap.add_argument("--only", default="")
    ap.add_argument("--note", default="2 cores shared with other engineers' jobs")
    ap.add_argument("--md", type=Path, default=ROOT / "benchmarks" / "RESULTS.d" / "talent.md")
    ap.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "out" / "talent.json")
    ap.add_argument("--render", action="store_true", help="only rewrite --md from an earlier --json")
    args = ap.parse_args()
    if args.render:
        saved = json.loads(args.json.read_text())
        write_section(args.md, _md(saved["rows"], saved["meta"]))
        print(f"wrote {args.md}")
        return
    index = args.data / "instances.csv"
    if not index.exists():
        print(f"note: {index} not found; nothing to benchmark")
        return
    with index.open() as fh:
        table = [r for r in csv.DictReader(fh) if args.only in r["file"]]
    load_before = " ".join(f"{x:.1f}" for x in os.getloadavg())
    # warm-up: load the compiled kernels once (a cold process pays this, measured separately below)
    solve_talent(read_instance(args.data / "classic" / "tiny.dat"))
    solve_talent(read_instance(args.data / "classic" / "film103.dat"))
    rows: list[dict[str, Any]] = []
    seen_cpsat: dict[str, dict[str, Any]] = {}
    for r in table:
        path = args.data / r["file"]
        row: dict[str, Any] = {
            "file": r["file"],
            "size": f"{r['scenes']}×{r['actors']}",
            "opt_total": int(r["opt_total"]),
            "opt_holding": int(r["opt_holding"]),
            "ours": _ours(path, args.repeats, args.time_limit),
        }
        if not args.no_cpsat:
            key = r["same_instance_as"] or r["file"]
            if key not in seen_cpsat:
                seen_cpsat[key] = _cpsat(path, args.time_limit)
            row["cpsat"] = seen_cpsat[key]
        o = row["ours"]
        print(
            f"{r['file']:45s} opt={r['opt_total']:>6s} ours={o['total']:>6d} proved={o['optimal']!s:5s} "
            f"wall={o['wall_median_s']:.3f}s cpu={o['cpu_median_s']:.3f}s states={o['nodes']}"
            + (
                f" | cpsat={row['cpsat']['total']} proved={row['cpsat']['optimal']} "
                f"{row['cpsat']['wall_s']:.2f}s"
                if "cpsat" in row
                else ""
            ),
            flush=True,
        )
        rows.append(row)
    for row in rows:
        if not row["ours"]["optimal"] and args.long_limit > args.time_limit:
            row["long"] = _ours(args.data / row["file"], 1, args.long_limit)
            lo = row["long"]
            print(f"  {row['file']}: proved={lo['optimal']} wall={lo['wall_median_s']:.2f}s", flush=True)
    cold = args.data / "classic" / "film103.dat"
    cold_s = f"{_cold_cli(cold, args.time_limit):.2f} s" if cold.exists() else "n/a"
    meta = {
        "command": "python " + " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python "
        f"{platform.python_version()}",
        "load_before": load_before,
        "load_after": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "note": args.note,
        "time_limit": args.time_limit,
        "repeats": args.repeats,
        "cold_cli_s": cold_s,
        "long_limit": args.long_limit,
    }
    _write_atomic(args.json, json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    write_section(args.md, _md(rows, meta))
    print(f"wrote {args.md} and {args.json}")


if __name__ == "__main__":
    main()
