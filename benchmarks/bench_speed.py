"""Speed benchmark of the top-N models on MovieLens 100K (all 100,000 ratings, every member).

Measures, each as the median of ``--repeats`` runs:

* fit time and peak traced memory (``tracemalloc``, a separate untimed fit) of EASE, session-EASE, ItemKNN,
  RP3beta, ALS (``--models`` picks some);
* ALS time per iteration against ``implicit``'s CPU ALS (conjugate gradient, same factors, same confidence
  ``1 + alpha * w``, same thread count; BLAS limited to the same count when ``threadpoolctl`` is present);
* top-10 for every member in one ``recommend`` call (target < 0.5 s);
* one member's top-10 latency through ``recommend([member], 10)``, p50 and p99 over ``--queries`` calls
  (target p99 < 2 ms).

Usage::

    python benchmarks/bench_speed.py [--data PATH/u.data] [--threads 1] [--repeats 5] [--json]

Exits 0 with a note when the data file is absent.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from reelkit.data.dataset import Dataset, Interactions
from reelkit.recommend.als import ALS
from reelkit.recommend.base import Recommender
from reelkit.recommend.ease import EASE, SessionEASE
from reelkit.recommend.itemknn import ItemKNN
from reelkit.recommend.rp3beta import RP3beta

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "movielens" / "ml-100k" / "u.data"
MODELS: dict[str, Callable[[], Recommender]] = {
    "ease": EASE,
    "session-ease": SessionEASE,
    "itemknn": ItemKNN,
    "rp3beta": RP3beta,
    "als": ALS,
}


def load_ml100k(path: Path) -> Interactions:
    df = pd.read_csv(path, sep="\t", names=["member_id", "title_id", "value", "timestamp"])
    df["kind"] = "rating"
    return Dataset.from_events(df, source=str(path)).interactions()


@contextlib.contextmanager
def blas_threads(n: int) -> Iterator[None]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - optional
        yield
        return
    with threadpool_limits(limits=n):
        yield


def median_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def peak_memory_mb(fn: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def latency_ms(model: Recommender, members: np.ndarray, queries: int, seed: int = 0) -> tuple[float, float]:
    rng = np.random.default_rng(seed)
    picks = members[rng.integers(0, len(members), queries)]
    for m in picks[:20]:  # warm up
        model.recommend([m], 10)
    out = np.empty(queries)
    for i, m in enumerate(picks):
        t = time.perf_counter_ns()
        model.recommend([m], 10)
        out[i] = (time.perf_counter_ns() - t) / 1e6
    return float(np.percentile(out, 50)), float(np.percentile(out, 99))


def bench_models(
    inter: Interactions, threads: int, repeats: int, queries: int, names: list[str] | None = None
) -> list[dict[str, Any]]:
    rows = []
    members = np.asarray(inter.member_ids)
    for name in names if names is not None else list(MODELS):
        factory = MODELS[name]
        params: dict[str, Any] = {"num_threads": threads} if name == "als" else {}
        factory(**params).fit(inter)  # warm up (numba compile, caches)
        fit_s = median_time(lambda f=factory, p=params: f(**p).fit(inter), repeats)
        peak = peak_memory_mb(lambda f=factory, p=params: f(**p).fit(inter))
        model = factory(**params).fit(inter)
        model.recommend(members[:10], 10)
        batch_s = median_time(lambda m=model: m.recommend(members, 10), repeats)
        p50, p99 = latency_ms(model, members, queries)
        rows.append(
            {
                "model": name,
                "fit_s": fit_s,
                "fit_peak_mb": peak,
                "top10_all_members_s": batch_s,
                "top10_one_p50_ms": p50,
                "top10_one_p99_ms": p99,
            }
        )
    return rows


def bench_als_vs_implicit(
    inter: Interactions, threads: int, repeats: int, iterations: int, factors: int | None = None
) -> dict[str, Any]:
    cfg = ALS(**({"factors": factors} if factors else {})).config
    out: dict[str, Any] = {"factors": cfg.factors, "iterations": iterations, "threads": threads}
    params = {**cfg.model_dump(), "iterations": iterations, "num_threads": threads}
    ALS(**params).fit(inter)  # compile, warm up
    out["reelkit_s_per_iter"] = median_time(lambda: ALS(**params).fit(inter), repeats) / iterations
    try:
        from implicit.cpu.als import AlternatingLeastSquares
    except ImportError:
        out["implicit_s_per_iter"] = None
        out["ratio"] = None
        return out
    # the same confidence matrix: implicit uses the stored values as c, ours is c = 1 + alpha * w
    w = inter.matrix("weight")
    cui = w.copy()
    cui.data = (1.0 + cfg.alpha * w.data).astype(np.float32)

    def fit_implicit() -> None:
        m = AlternatingLeastSquares(
            factors=cfg.factors,
            regularization=cfg.regularization,
            alpha=1.0,
            iterations=iterations,
            use_cg=True,
            calculate_training_loss=False,
            num_threads=threads,
            random_state=0,
        )
        m.fit(cui, show_progress=False)

    fit_implicit()
    out["implicit_s_per_iter"] = median_time(fit_implicit, repeats) / iterations
    out["ratio"] = out["reelkit_s_per_iter"] / out["implicit_s_per_iter"]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="ML-100K u.data")
    ap.add_argument("--threads", type=int, default=1, help="threads for ALS (both libraries) and BLAS")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--queries", type=int, default=1000, help="single-member calls for the latency figures")
    ap.add_argument("--iterations", type=int, default=15, help="ALS iterations per timed fit")
    ap.add_argument("--als-factors", type=int, default=None, help="ALS factors (default: the model's)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated models to time")
    ap.add_argument("--skip-implicit", action="store_true", help="leave out the ALS vs implicit timing")
    args = ap.parse_args(argv)
    if not args.data.is_file():
        print(f"skipped: {args.data} not found (pass --data PATH/u.data)")
        return 0
    inter = load_ml100k(args.data)
    with blas_threads(args.threads):
        names = [m for m in args.models.split(",") if m]
        unknown = sorted(set(names) - set(MODELS))
        if unknown:
            ap.error(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(MODELS)}")
        rows = bench_models(inter, args.threads, args.repeats, args.queries, names)
        als = (
            None
            if args.skip_implicit
            else bench_als_vs_implicit(inter, args.threads, args.repeats, args.iterations, args.als_factors)
        )
    result = {
        "data": {"members": inter.n_members, "titles": inter.n_titles, "interactions": inter.nnz},
        "threads": args.threads,
        "repeats": args.repeats,
        "models": rows,
        "als_vs_implicit": als,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"ML-100K: {inter.n_members} members x {inter.n_titles} titles, {inter.nnz} interactions; "
        f"threads={args.threads}, median of {args.repeats}"
    )
    head = (
        f"{'model':<12} {'fit s':>8} {'fit peak MB':>12} {'top10 all s':>12} "
        f"{'one p50 ms':>11} {'one p99 ms':>11}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['model']:<12} {r['fit_s']:>8.3f} {r['fit_peak_mb']:>12.1f} "
            f"{r['top10_all_members_s']:>12.3f} {r['top10_one_p50_ms']:>11.3f} {r['top10_one_p99_ms']:>11.3f}"
        )
    if als is None:
        return 0
    imp = als["implicit_s_per_iter"]
    print(
        f"\nALS per iteration ({als['factors']} factors, CG, {als['threads']} thread(s)): "
        f"reelkit {als['reelkit_s_per_iter'] * 1e3:.1f} ms (incl. loss), "
        + (f"implicit {imp * 1e3:.1f} ms, ratio {als['ratio']:.2f}" if imp else "implicit not installed")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
