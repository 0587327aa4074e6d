"""Our LRU, FIFO, LFU, ARC, S3-FIFO, SIEVE, GDSF and Belady agree with libCacheSim's on the same traces
(within 0.005 absolute miss ratio; in practice all but GDSF match exactly), with byte capacities and variable
sizes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reelkit.stream.cache import RequestTrace, SynthConfig, make_policy, simulate, synthesize, write_trace

lcs = pytest.importorskip("libcachesim")

TOL = 0.005
DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"

# our name (with the parameters that reproduce libCacheSim's semantics) -> libCacheSim class name
PAIRS: dict[str, tuple[str, dict[str, object]]] = {
    "lru": ("LRU", {}),
    "fifo": ("FIFO", {}),
    "lfu": ("LFU", {}),
    "arc": ("ARC", {}),
    "s3fifo": ("S3FIFO", {}),
    "sieve": ("Sieve", {}),
    # within 0.003 on the traces of _check, not exactly: libCacheSim's GDSF keeps A on A A B A with room for
    # one (2 hits) where ours evicts it for B, L rising to A's 2 (1 hit); without aging, or with hits
    # counting 1 / size, ours was up to 0.17 off
    "gdsf": ("GDSF", {}),
    "belady": ("Belady", {}),  # the default: `cache simulate --policy belady` is what the issue checks
}


def lcs_miss_ratios(trace: RequestTrace, tmp: Path, cls_name: str, capacity: int) -> tuple[float, float]:
    """libCacheSim's (object, byte) miss ratios, reading the trace we wrote in its oracleGeneral format."""
    path = tmp / "trace.oracleGeneral"
    if not path.exists():
        write_trace(trace, path)
    reader = lcs.TraceReader(str(path), lcs.TraceType.ORACLE_GENERAL_TRACE)
    cache = getattr(lcs, cls_name)(capacity, hashpower=16)  # the default 2**24 slots take ~1 s to set up
    mr, bmr = cache.process_trace(reader)
    return float(mr), float(bmr)


def _check(trace: RequestTrace, tmp: Path, fractions: tuple[float, ...]) -> None:
    wss = trace.working_set_bytes()
    for name, (cls_name, params) in PAIRS.items():
        for frac in fractions:
            cap = int(wss * frac)
            ours = simulate(trace, make_policy(name, **params), cap)
            mr, bmr = lcs_miss_ratios(trace, tmp, cls_name, cap)
            assert abs(ours.miss_ratio - mr) <= TOL, (name, frac, ours.miss_ratio, mr)
            assert abs(ours.byte_miss_ratio - bmr) <= TOL, (name, frac, ours.byte_miss_ratio, bmr)


def test_agrees_on_synthetic_vod(tmp_path: Path) -> None:
    wl = synthesize(SynthConfig(seed=4, days=2, n_titles=800, views_per_day=6000, chunk_s=1200.0))
    _check(wl.trace, tmp_path, (0.01, 0.05, 0.10))


def _zipf_trace(seed: int, n: int, n_obj: int, alpha: float, sizes: tuple[int, int]) -> RequestTrace:
    """``n`` requests over ``n_obj`` objects, Zipf(``alpha``) popularity, sizes uniform in ``sizes``."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, n_obj + 1) ** alpha
    ids = rng.choice(n_obj, size=n, p=p / p.sum())
    osz = rng.integers(*sizes, size=n_obj)
    return RequestTrace.from_arrays(np.arange(n, dtype=float), ids, osz[ids])


def test_agrees_on_zipf_variable_sizes(tmp_path: Path) -> None:
    _check(_zipf_trace(7, 30000, 3000, 0.9, (100, 10000)), tmp_path, (0.01, 0.05, 0.10))


@pytest.mark.parametrize("policy", ["lru", "fifo", "lfu", "arc", "s3fifo", "belady"])
def test_the_command_the_issue_names_agrees(
    policy: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``reelkit cache simulate --trace FILE --policy NAME --capacity 5% --json``, exactly: ``belady`` was MIN
    with bypass, 0.035 below libCacheSim's miss ratio at 5% (the agreement held only with bypass=false)."""
    import json

    from reelkit.testing.cli import run_cli

    tr = _zipf_trace(3, 5000, 800, 0.8, (1000, 1_000_000))
    path = tmp_path / "t.oracleGeneral"
    write_trace(tr, path)
    code, out, err = run_cli(
        capsys, "cache", "simulate", "--trace", str(path), "--policy", policy, "--capacity", "5%", "--json"
    )
    assert code == 0, err
    got = json.loads(out)
    mr, bmr = lcs_miss_ratios(tr, tmp_path, PAIRS[policy][0], got["capacity_bytes"])
    assert abs((1 - got["hit_ratio"]) - mr) <= TOL and abs((1 - got["byte_hit_ratio"]) - bmr) <= TOL


@pytest.mark.data
def test_agrees_on_movielens(tmp_path: Path) -> None:
    ml = DATA / "movielens" / "ml-latest-small" / "ratings.csv"
    if not ml.exists():
        pytest.skip(f"MovieLens ml-latest-small not found at {ml}")
    from reelkit.data.loaders import load_movielens_csv
    from reelkit.stream.cache import trace_from_events

    tr = trace_from_events(load_movielens_csv(ml), seed=0).trace
    # whole files reach 6 GB; oracleGeneral stores 32-bit sizes, so compare both simulators in KiB
    kib = RequestTrace.from_arrays(tr.timestamps, tr.original_ids[tr.objects], -(-tr.sizes // 1024))
    _check(kib, tmp_path, (0.01, 0.10))


@settings(max_examples=15, deadline=None)
@given(
    ids=st.lists(st.integers(0, 30), min_size=5, max_size=300),
    size_of=st.lists(st.integers(1, 50), min_size=31, max_size=31),
    cap=st.integers(20, 400),
)
def test_exact_on_random_small_traces(ids: list[int], size_of: list[int], cap: int) -> None:
    """On small random traces with sizes the hit counts match exactly (not just within the tolerance)."""
    import tempfile

    tr = RequestTrace.from_arrays(
        np.arange(len(ids), dtype=float), np.asarray(ids) + 1, [size_of[i] for i in ids]
    )
    with tempfile.TemporaryDirectory() as tmp:
        for name, (cls_name, params) in PAIRS.items():
            if name in ("s3fifo", "gdsf"):
                # libCacheSim's S3-FIFO is undefined for objects as large as its small queue; GDSF: see PAIRS
                continue
            ours = simulate(tr, make_policy(name, **params), cap)
            mr, _ = lcs_miss_ratios(tr, Path(tmp), cls_name, cap)
            assert ours.miss_ratio == pytest.approx(mr, abs=1e-9), name


@settings(max_examples=15, deadline=None)
@given(
    ids=st.lists(st.integers(0, 40), min_size=5, max_size=400),
    size_of=st.lists(st.integers(1, 5), min_size=41, max_size=41),
    cap=st.integers(60, 300),
)
def test_s3fifo_exact_on_random_small_traces(ids: list[int], size_of: list[int], cap: int) -> None:
    """S3-FIFO matches exactly whenever every object is smaller than the small queue (10% of the cache)."""
    import tempfile

    tr = RequestTrace.from_arrays(
        np.arange(len(ids), dtype=float), np.asarray(ids) + 1, [size_of[i] for i in ids]
    )
    with tempfile.TemporaryDirectory() as tmp:
        ours = simulate(tr, "s3fifo", cap)
        mr, bmr = lcs_miss_ratios(tr, Path(tmp), "S3FIFO", cap)
        assert ours.miss_ratio == pytest.approx(mr, abs=1e-9)
        assert ours.byte_miss_ratio == pytest.approx(bmr, abs=1e-9)


def test_s3fifo_exact_on_skewed_unit_traces(tmp_path: Path) -> None:
    """S3-FIFO matches exactly on Zipf(1.2) traces of unit objects that fill the cache (the random traces
    above seldom read an object twice in the small queue, so they cannot tell when it moves to main)."""
    for seed in range(40):
        rng = np.random.default_rng(seed)
        p = 1.0 / np.arange(1, 301) ** 1.2
        ids = rng.choice(300, size=600, p=p / p.sum()) + 1
        cap = int(rng.integers(30, 121))
        tr = RequestTrace.from_arrays(np.arange(600, dtype=float), ids, np.ones(600, np.int64))
        (tmp_path / str(seed)).mkdir()
        mr, _ = lcs_miss_ratios(tr, tmp_path / str(seed), "S3FIFO", cap)
        ours = simulate(tr, "s3fifo", cap)
        assert ours.miss_ratio == pytest.approx(mr, abs=1e-9), seed
