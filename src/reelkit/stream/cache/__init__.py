"""Edge caching: request traces, workloads, cache policies and their simulator.

The public surface::

    from reelkit.stream.cache import read_trace, simulate, synthesize

    trace = read_trace("trace.parquet")          # or synthesize(SynthConfig(seed=0)).trace,
                                                 # trace_from_events(...).trace
    result = simulate(trace, "s3fifo", "5%")     # 5% of the bytes of all distinct objects
    result.hit_ratio, result.byte_hit_ratio, result.hourly.to_frame(), result.by_region

Policies (``available_policies()``): ``lru``, ``fifo``, ``lfu`` (``aging=True`` or ``lfuda`` for dynamic
aging), ``arc``, ``s3fifo``, ``sieve``, ``gdsf``, ``tinylfu`` (W-TinyLFU), and the offline ``belady``
(libCacheSim's: optimal for unit sizes among policies that admit every miss), ``belady-bypass`` (optimal for
unit sizes) and ``belady-size`` (a size-aware heuristic). :func:`offline_upper_bound` is a true bound for
variable sizes.
"""

from reelkit.stream.cache.policies import (
    CachePolicy,
    PolicyRun,
    available_policies,
    make_policy,
    register_policy,
)
from reelkit.stream.cache.sim import (
    SimResult,
    UpperBound,
    WindowStats,
    compare,
    offline_upper_bound,
    parse_capacity,
    simulate,
    warmup_requests,
)
from reelkit.stream.cache.trace import RequestTrace, read_trace, trace_format, write_trace
from reelkit.stream.cache.workload import (
    CATALOG_COLUMNS,
    AbrChoice,
    Ladder,
    ObjectCatalog,
    Rendition,
    SynthConfig,
    catalog_path,
    default_ladder,
    read_object_catalog,
    synthesize,
    trace_from_events,
)

__all__ = [
    "CATALOG_COLUMNS",
    "AbrChoice",
    "CachePolicy",
    "Ladder",
    "ObjectCatalog",
    "PolicyRun",
    "Rendition",
    "RequestTrace",
    "SimResult",
    "SynthConfig",
    "UpperBound",
    "WindowStats",
    "available_policies",
    "catalog_path",
    "compare",
    "default_ladder",
    "make_policy",
    "offline_upper_bound",
    "parse_capacity",
    "read_object_catalog",
    "read_trace",
    "register_policy",
    "simulate",
    "synthesize",
    "trace_format",
    "trace_from_events",
    "warmup_requests",
    "write_trace",
]
