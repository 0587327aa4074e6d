"""Why our ``lfuda`` and libCacheSim's ``LFUDA`` give different miss ratios: a check, not a benchmark.

Our ``lfuda`` is LFU-DA as Arlitt et al. define it: priority = L + request count, with L the priority of the
last evicted object. libCacheSim's ``LFUDA.c`` (0.3.x) differs in two ways:

* a hit *adds the age L* to the priority (``freq += min_freq``) instead of setting it to L + count: before
  the first eviction (L = 0) a hit leaves the priority as it was, and later each hit is worth L;
* the age is its minimum-bucket pointer: a hit that empties the lowest bucket raises L without an
  eviction, and an insertion (at L + 1) does not raise the highest bucket it scans, so the scan for the
  next minimum can miss it and the next eviction reads an empty bucket (in C: a segfault, or garbage).

``emulate_libcachesim`` is that rule in Python. The script runs libCacheSim's ``LFUDA`` (in a child
interpreter, as it can crash), the emulation and our ``lfuda`` on random small traces, and prints how often
the emulation reproduces libCacheSim exactly and how far ours is from it; ``--bench-traces`` adds the
simulator benchmark's synthetic and MovieLens traces (sizes in KiB, as the agreement test)::

    python benchmarks/check_lfuda.py [--cases 200] [--seed 0] [--bench-traces]
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from reelkit.stream.cache import RequestTrace, simulate, write_trace


def emulate_libcachesim(ids: Sequence[int], sizes: Sequence[int], capacity: int) -> int | None:
    """Hits of libCacheSim's LFUDA.c on the trace, or None where it would evict from an empty bucket."""
    buckets: dict[int, OrderedDict[int, None]] = {1: OrderedDict()}
    prio: dict[int, int] = {}
    size_of: dict[int, int] = {}
    used = min_f = max_f = hits = 0

    def next_min() -> None:
        """update_min_freq: the lowest non-empty bucket above min_freq, up to max_freq only."""
        nonlocal min_f
        min_f = min((f for f, b in buckets.items() if b and min_f < f <= max_f), default=min_f)

    for o, s in zip(ids, sizes, strict=True):
        if o in prio:  # LFUDA_find
            hits += 1
            old = prio[o]
            prio[o] = old + min_f
            max_f = max(max_f, prio[o])
            del buckets[old][o]
            if min_f == old and not buckets[old]:
                next_min()
            buckets.setdefault(prio[o], OrderedDict())[o] = None
            continue
        if s > capacity:
            continue
        while used + s > capacity:  # LFUDA_evict
            key = 1 if min_f in (0, 1) else min_f
            node = buckets.get(key)
            if not node:
                return None
            victim = next(iter(node))
            min_f = key
            del node[victim]
            used -= size_of.pop(victim)
            del prio[victim]
            if not node:
                next_min()
        prio[o] = min_f + 1  # LFUDA_insert (max_freq not updated)
        buckets.setdefault(prio[o], OrderedDict())[o] = None
        size_of[o] = s
        used += s
    return hits


def libcachesim_miss_ratio(
    trace: RequestTrace, capacities: Sequence[int], timeout_s: float = 300.0
) -> list[float | None]:
    """libCacheSim's LFUDA miss ratio at each capacity, each run in a child interpreter (it can crash) on the
    trace written once: None where it crashed, inf where it ran past ``timeout_s`` (its scan for the next
    non-empty bucket walks every priority up to the top)."""
    out: list[float | None] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "trace.oracleGeneral"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the format keeps no regions and whole seconds: irrelevant here
            write_trace(trace, path)
        for capacity in capacities:
            try:
                run = subprocess.run(
                    [sys.executable, "-c", _CHILD, str(path), str(capacity)],
                    capture_output=True,
                    timeout=timeout_s,
                )
            except subprocess.TimeoutExpired:
                out.append(math.inf)
                continue
            lines = run.stdout.decode().split()
            out.append(float(lines[-1]) if run.returncode == 0 and lines else None)
    return out


_CHILD = """
import sys
import libcachesim as lcs
reader = lcs.TraceReader(sys.argv[1], lcs.TraceType.ORACLE_GENERAL_TRACE)
mr, _ = lcs.LFUDA(int(sys.argv[2]), hashpower=16).process_trace(reader)
print(repr(float(mr)))
"""


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--bench-traces", action="store_true")
    ap.add_argument(
        "--data",
        type=Path,
        default=Path(__file__).resolve().parents[2] / "shared" / "data" / "movielens" / "ml-latest-small",
    )
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    same = crashed_both = crashed_lcs_only = crashed_emu_only = differ = 0
    gaps: list[float] = []
    for _ in range(args.cases):
        n, n_obj = int(rng.integers(50, 2000)), int(rng.integers(5, 300))
        p = 1.0 / np.arange(1, n_obj + 1) ** rng.uniform(0.5, 1.3)
        ids = rng.choice(n_obj, size=n, p=p / p.sum()) + 1
        size_of = np.ones(n_obj + 1, np.int64) if rng.random() < 0.5 else rng.integers(1, 50, n_obj + 1)
        sizes = size_of[ids]
        biggest = int(size_of.max())
        cap = int(rng.integers(biggest, max(biggest + 1, int(sizes.sum()) // 4)))
        trace = RequestTrace.from_arrays(np.arange(n, dtype=float), ids, sizes)
        (theirs,) = libcachesim_miss_ratio(trace, [cap])
        emu = emulate_libcachesim(ids.tolist(), sizes.tolist(), cap)
        if theirs is None or emu is None:
            crashed_both += theirs is None and emu is None
            crashed_lcs_only += theirs is None and emu is not None
            crashed_emu_only += emu is None and theirs is not None
            continue
        if abs((1 - emu / n) - theirs) < 1e-12:
            same += 1
        else:
            differ += 1
        gaps.append(abs(simulate(trace, "lfuda", cap).miss_ratio - theirs))
    print(f"cases {args.cases}: emulation == libCacheSim exactly on {same}, differs on {differ}")
    print(f"libCacheSim crashed on {crashed_both + crashed_lcs_only} (the emulation too on {crashed_both})")
    print(f"the emulation reads an empty bucket where libCacheSim ran on {crashed_emu_only}")
    if gaps:
        g = np.asarray(gaps)
        print(
            f"ours (Arlitt's LFU-DA) vs libCacheSim where both ran ({g.size}): |miss-ratio diff| "
            f"median {np.median(g):.4f}, max {g.max():.4f}, > 0.005 on {(g > 0.005).sum()}"
        )
    if args.bench_traces:
        print("| trace | size | ours lfuda | libCacheSim LFUDA | ours lfu |")
        for name, trace in _bench_traces(args.data):
            fracs = (0.01, 0.05, 0.10)
            caps = [int(trace.working_set_bytes() * frac) for frac in fracs]
            for frac, cap, theirs in zip(fracs, caps, libcachesim_miss_ratio(trace, caps), strict=True):
                cells = [
                    simulate(trace, "lfuda", cap).miss_ratio,
                    theirs,
                    simulate(trace, "lfu", cap).miss_ratio,
                ]
                text = " | ".join(
                    "crashed" if c is None else "> 300 s" if c == math.inf else f"{c:.4f}" for c in cells
                )
                print(f"| {name} | {frac:.0%} | {text} |", flush=True)


def _bench_traces(data: Path) -> list[tuple[str, RequestTrace]]:
    """bench_cache.py's synthetic and MovieLens traces (MovieLens sizes in KiB, for the format's 32 bits)."""
    from reelkit.data.loaders import load_movielens_csv
    from reelkit.stream.cache import SynthConfig, synthesize, trace_from_events

    out = [("synthetic", synthesize(SynthConfig(seed=0, chunk_s=600)).trace)]
    ratings = data / "ratings.csv"
    if ratings.exists():
        ml = trace_from_events(load_movielens_csv(ratings), chunk_s=600.0, seed=0).trace
        out.append(
            (
                "movielens",
                RequestTrace.from_arrays(ml.timestamps, ml.original_ids[ml.objects], -(-ml.sizes // 1024)),
            )
        )
    return out


if __name__ == "__main__":
    main()
