"""Cache policies: a small base class, one typed config per policy, and a registry by lower-case name.

Each policy runs a numba kernel over a whole :class:`~reelkit.stream.cache.trace.RequestTrace` (see
:mod:`reelkit.stream.cache._kernels`), so a simulation is one compiled loop, not a Python call per request.

What the offline policies bound
-------------------------------
``belady``
    Belady's MIN, as libCacheSim's Belady: admit every missed object that fits, evict the object requested
    furthest in the future. **For unit-size objects it is optimal among policies that admit every miss**
    (the online policies here but ``tinylfu``, whose filter may refuse one; ``belady-bypass`` and
    ``belady-size`` refuse too, and can beat it). With variable sizes it is only a heuristic and bounds
    nothing.
``belady-bypass``
    MIN with bypass (``BeladyConfig(bypass=True)``): an object that would itself be the furthest (or is
    never requested again) is not admitted. **For unit-size objects it is optimal:** no policy, online or
    offline, admitting or not, gets more object hits from the same capacity in objects.
``belady-size``
    evicts the largest ``size x time to next request``; a strong offline reference for variable sizes that
    **is not a bound** (exact variable-size OPT is NP-hard). For a true upper bound on object and byte hit
    ratios with variable sizes use :func:`reelkit.stream.cache.sim.offline_upper_bound`.
"""

from __future__ import annotations

import math
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from reelkit.errors import ConfigError, ReelkitWarning
from reelkit.stream.cache import _kernels as K
from reelkit.stream.cache.trace import RequestTrace

__all__ = [
    "ARC",
    "FIFO",
    "GDSF",
    "LFU",
    "LRU",
    "S3FIFO",
    "SIEVE",
    "ArcConfig",
    "Belady",
    "BeladyBypass",
    "BeladyBypassConfig",
    "BeladyConfig",
    "BeladySize",
    "BeladySizeConfig",
    "CachePolicy",
    "GdsfConfig",
    "LfuConfig",
    "NoConfig",
    "PolicyRun",
    "S3FifoConfig",
    "TinyLFU",
    "TinyLfuConfig",
    "available_policies",
    "make_policy",
    "register_policy",
]

Kernel = Callable[..., int]


@dataclass(frozen=True)
class NoConfig:
    """A policy without parameters."""


@dataclass(frozen=True)
class PolicyRun:
    """What one kernel run returns: the hit mask, the largest number of bytes held at once, the seconds the
    kernel took (compiled code only)."""

    hits: npt.NDArray[np.bool_]
    max_occupied_bytes: int
    seconds: float


class CachePolicy(ABC):
    """A cache policy: a name, a typed config (frozen dataclass), and :meth:`run` over a trace."""

    name: ClassVar[str]
    config_type: ClassVar[type[Any]] = NoConfig
    offline: ClassVar[bool] = False  #: reads the future (next request times)
    #: what the policy bounds, if anything (empty for online heuristics)
    bounds: ClassVar[str] = ""

    def __init__(self, config: Any | None = None) -> None:
        self.config = config if config is not None else self.config_type()
        if not isinstance(self.config, self.config_type):
            raise ConfigError(f"{self.name}: config must be a {self.config_type.__name__}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"

    @property
    def label(self) -> str:
        """The name, with the config fields that differ from this policy's defaults: ``lfu(aging=true)``
        (what results report, so that a run with parameters does not read as the plain policy's); every
        field when the config has no default (a registered policy's config with a required field)."""
        default: Any = None
        for make in (lambda: type(self)().config, self.config_type):  # a policy's own (lfuda: aging on)
            try:
                default = make()
                break
            except TypeError:  # a registered policy, or its config, that needs arguments
                continue
        changed = [
            f"{f.name}={_show(getattr(self.config, f.name))}"
            for f in fields(self.config)
            if default is None or getattr(self.config, f.name) != getattr(default, f.name)
        ]
        return f"{self.name}({', '.join(changed)})" if changed else self.name

    @abstractmethod
    def kernel(self) -> Kernel:
        """The numba kernel (see :mod:`reelkit.stream.cache._kernels` for its signature)."""

    @abstractmethod
    def params(self, trace: RequestTrace) -> npt.NDArray[np.float64]:
        """The kernel's float parameters for this config and trace."""

    def run(self, trace: RequestTrace, capacity_bytes: int) -> PolicyRun:
        """Simulate the whole trace with a cache of ``capacity_bytes``."""
        if capacity_bytes < 0:
            raise ConfigError(f"capacity must be >= 0 bytes, got {capacity_bytes}")
        hits = np.zeros(trace.n_requests, dtype=np.uint8)
        nxt = trace.next_use() if self.offline else _NO_NEXT
        params = self.params(trace)
        kernel = self.kernel()
        _warm(kernel, params)
        t0 = time.perf_counter()
        max_used = kernel(
            trace.objects, trace.sizes, nxt, trace.n_objects, np.int64(capacity_bytes), params, hits
        )
        seconds = time.perf_counter() - t0
        return PolicyRun(hits.view(np.bool_), int(max_used), seconds)


def _show(value: object) -> str:
    """A config value as ``--param`` takes it (``true``, ``0.1``; a float in full, ``0.1000001``, so that
    configs that differ read differently)."""
    return (
        str(value).lower()
        if isinstance(value, bool)
        else repr(value)
        if isinstance(value, float)
        else str(value)
    )


_NO_NEXT = np.zeros(0, dtype=np.int64)
_WARMED: set[int] = set()


def _warm(kernel: Kernel, params: npt.NDArray[np.float64]) -> None:
    """Run a kernel once on a two-request trace so that compiling (or loading the compiled code from numba's
    cache) is not counted in ``requests_per_s``."""
    if id(kernel) in _WARMED:
        return
    one = np.zeros(2, dtype=np.int64)
    kernel(
        one, np.ones(2, np.int64), np.array([1, 2], np.int64), 1, np.int64(1), params, np.zeros(2, np.uint8)
    )
    _WARMED.add(id(kernel))


def _p(*values: float) -> npt.NDArray[np.float64]:
    return np.asarray(values if values else (0.0,), dtype=np.float64)


class LRU(CachePolicy):
    """Least recently used."""

    name = "lru"

    def kernel(self) -> Kernel:
        return K.lru_kernel

    def params(self, trace: RequestTrace) -> npt.NDArray[np.float64]:
        return _p(1.0)


class FIFO(CachePolicy):
    """First in, first out: hits do not change the order."""

    name = "fifo"

    def kernel(self) -> Kernel:
        return K.lru_kernel

    def params(self, trace: RequestTrace) -> npt.NDArray[np.float64]:
        return _p(0.0)


@dataclass(frozen=True)
class LfuConfig:
    """``aging``: dynamic aging (LFU-DA); off gives libCacheSim's LFU exactly."""

    aging: bool = False


class LFU(CachePolicy):
    """Least frequently used over in-cache counts, ties to the oldest count; optional dynamic aging."""

    name = "lfu"
    config_type = LfuConfig

    def kernel(self) -> Kernel:
        # without aging the counts rise by one, so lists per count do in O(1) what the heap does in O(log n)
        return K.lfu_kernel if self.config.aging else K.lfu_bucket_kernel

    def params(self, trace: RequestTrace) -> npt.NDArray[np.float64]:
        return _p(float(self.config.aging))


class LFUDA(LFU):
    """LFU with dynamic aging (``lfu`` with ``aging=True``)."""

    name = "lfuda"

    def __init__(self, config: LfuConfig | None = None) -> None:
        super().__init__(config if config is not None else LfuConfig(aging=True))


@dataclass(frozen=True)
class ArcConfig:
    """ARC has no parameters (it tunes its target itself)."""


class ARC(CachePolicy):
    """Adaptive replacement cache (recency and frequency lists with ghosts)."""

    name = "arc"
    config_type = ArcConfig

    def kernel(self) -> Kernel:
        return K.arc_kernel

    def params(self, trace: RequestTrace) -> npt.NDArray[np.float64]:
        return _p()


@dataclass(frozen=True)
class S3FifoConfig:
    """libCacheSim's defaults: small queue 10% of the bytes, ghost 90%, move to main after 2 reads."""

    small_size_ratio: float = 0.10
    ghost_size_ratio: float = 0.90
    move_to_main_threshold: int = 2

    def __post_init__(self) -> None:
        if not 0 < self.small_size_ratio < 1 or not self.ghost_size_ratio >= 0:
            raise ConfigError("s3fifo: small_size_ratio must be in (0, 1) and ghost_size_ratio >= 0")
        if self.move_to_main_threshold < 1:
            raise ConfigError("s3fifo: move_to_main_threshold must be >= 1")


class S3FIFO(CachePolicy):
    """S3-FIFO: small probationary FIFO, main FIFO with a 2-bit clock, ghost FIFO."""

    name = "s3fifo"
    config_type = S3FifoConfig

    def kernel(self) -> Kernel:
        return K.s3fifo_kernel

    def params(self, trace: RequestTrace) -> npt.NDArray[np.float64]:
        c = self.config
        return _p(c.small_size_ratio, c.ghost_size_ratio, float(c.move_to_main_threshold))

    def run(self, trace: RequestTrace, capacity_bytes: int) -> PolicyRun:
        """As every policy; warns when objects are too large for the small queue, which S3-FIFO never
        admits (libCacheSim refuses such a cache; a silent 0 hit ratio read as a bad policy)."""
        small = int(capacity_bytes * self.config.small_size_ratio)
        too_big = float((trace.sizes >= small).mean()) if capacity_bytes > 0 else 0.0
        if too_big >= 0.001:
            warnings.warn(
                f"s3fifo: {too_big:.1%} of the requests are for objects at least as large as its small queue "
                f"({self.config.small_size_ratio:.0%} of the cache, {small:,} bytes), which it never caches; "
                "give a larger capacity, split files into chunks, or raise small_size_ratio",
                ReelkitWarning,
                stacklevel=2,
            )
        return super().run(trace, capacity_bytes)


class SIEVE(CachePolicy):
    """SIEVE: FIFO with a visited bit and a moving hand."""

    name = "sieve"

    def kernel(self) -> Kernel:
        return K.sieve_kernel

    def params(self, trace: RequestTrace) -> npt.NDArray[np.float64]:
        return _p()


@dataclass(frozen=True)
class GdsfConfig:
    """``cost``: ``object`` (1 per object: maximises object hits) or ``bytes`` (the size: byte hits)."""

    cost: str = "object"

    def __post_init__(self) -> None:
        if self.cost not in ("object", "bytes"):
            raise ConfigError("gdsf: cost must be 'object' or 'bytes'")


class GDSF(CachePolicy):
    """Greedy-Dual-Size-Frequency: size-aware, frequency-aware, with aging (Cherkasova 1998: evict the lowest
    priorities to make room, and always admit the newcomer). libCacheSim's GDSF lets a newcomer of lower
    priority than the cached objects lose instead: on small caches of objects of many sizes the two differ
    (a 500-byte cache of 10-1000-byte objects: miss ratio 0.85 here, 0.69 there); on the benchmarks' traces
    they agree within 0.0025 (RESULTS.d/cache.md)."""

    name = "gdsf"
    config_type = GdsfConfig

    def kernel(self) -> Kernel:
        return K.gdsf_kernel

    def params(self, trace: RequestTrace) -> npt.NDArray[np.float64]:
        return _p(1.0 if self.config.cost == "bytes" else 0.0)


@dataclass(frozen=True)
class TinyLfuConfig:
    """Window 1% of the bytes, protected 80% of main, sketch halved every 10 x expected objects additions."""

    window_ratio: float = 0.01
    protected_ratio: float = 0.80
    sample_factor: float = 10.0

    def __post_init__(self) -> None:
        if not 0 <= self.window_ratio < 1 or not 0 < self.protected_ratio < 1 or self.sample_factor <= 0:
            raise ConfigError("tinylfu: window_ratio in [0, 1), protected_ratio in (0, 1), sample_factor > 0")


class TinyLFU(CachePolicy):
    """W-TinyLFU: window LRU + segmented LRU main, admission by a count-min sketch of frequencies."""

    name = "tinylfu"
    config_type = TinyLfuConfig

    def kernel(self) -> Kernel:
        return K.tinylfu_kernel

    def params(self, trace: RequestTrace) -> npt.NDArray[np.float64]:
        c = self.config
        mean = float(trace.object_sizes().mean())
        return _p(c.window_ratio, c.protected_ratio, c.sample_factor, mean)


@dataclass(frozen=True)
class BeladyConfig:
    """``bypass``: do not admit objects that would be the furthest (the unit-size optimum of any policy); off
    (the default) = always admit what fits, as libCacheSim's Belady."""

    bypass: bool = False


class Belady(CachePolicy):
    """Belady's MIN (next use), libCacheSim's semantics: optimal for unit sizes among policies that admit
    every miss; a heuristic otherwise."""

    name = "belady"
    config_type = BeladyConfig
    offline = True
    bounds = (
        "object hit ratio of any policy that admits every miss, when all objects have the same size "
        "(with bypass=true: of any policy); no bound for variable sizes"
    )

    def kernel(self) -> Kernel:
        return K.belady_kernel

    def params(self, trace: RequestTrace) -> npt.NDArray[np.float64]:
        return _p(float(self.config.bypass))


@dataclass(frozen=True)
class BeladyBypassConfig(BeladyConfig):
    """As :class:`BeladyConfig`, bypassing by default."""

    bypass: bool = True


class BeladyBypass(Belady):
    """Belady's MIN with bypass: optimal for unit sizes among all policies; a heuristic otherwise."""

    name = "belady-bypass"
    config_type = BeladyBypassConfig
    bounds = "object hit ratio of any policy when all objects have the same size; no bound for variable sizes"


@dataclass(frozen=True)
class BeladySizeConfig:
    """``n_samples`` cached objects examined per eviction (all of them when fewer); ``seed`` of the
    sampler, a whole number in [0, 2^64) (its 64-bit state)."""

    n_samples: int = 128
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n_samples < 1:
            raise ConfigError("belady-size: n_samples must be >= 1")
        # the kernel's uint64 cast took -1, -2, 2^64 and 2^70 (and 2.5) to one sampler
        seed = self.seed
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < 2**64:
            raise ConfigError(f"belady-size: seed must be >= 0 and below 2^64, got {seed!r}")


class BeladySize(CachePolicy):
    """Size-aware Belady: evict the largest size x time-to-next-request; an offline reference, not a bound."""

    name = "belady-size"
    config_type = BeladySizeConfig
    offline = True
    bounds = "none (a heuristic); use offline_upper_bound() for a true variable-size bound"

    def kernel(self) -> Kernel:
        return K.belady_size_kernel

    def params(self, trace: RequestTrace) -> npt.NDArray[np.float64]:
        # the seed in two 32-bit halves, each exact as a float (one float would merge seeds from 2^53 on)
        seed = int(self.config.seed)
        return _p(float(self.config.n_samples), float(seed & 0xFFFFFFFF), float(seed >> 32))


_REGISTRY: dict[str, type[CachePolicy]] = {}


def register_policy(cls: type[CachePolicy]) -> type[CachePolicy]:
    """Add a policy class to the registry under ``cls.name`` (lower case)."""
    if cls.name != cls.name.lower():
        raise ConfigError(f"policy names are lower case: {cls.name!r}")
    _REGISTRY[cls.name] = cls
    return cls


for _cls in (LRU, FIFO, LFU, LFUDA, ARC, S3FIFO, SIEVE, GDSF, TinyLFU, Belady, BeladyBypass, BeladySize):
    register_policy(_cls)


def available_policies() -> list[str]:
    """Names of every registered policy, sorted."""
    return sorted(_REGISTRY)


def make_policy(name: str | CachePolicy, **params: Any) -> CachePolicy:
    """A policy by name with config fields as keyword arguments, e.g. ``make_policy("lfu", aging=True)``."""
    if isinstance(name, CachePolicy):
        if params:
            raise ConfigError("parameters are given with a policy name, not with a policy object")
        return name
    key = name.strip().lower()
    if key not in _REGISTRY:
        raise ConfigError(f"unknown cache policy {name!r}; choose one of {', '.join(available_policies())}")
    cls = _REGISTRY[key]
    allowed = {f.name for f in fields(cls.config_type)}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ConfigError(
            f"{key}: unknown parameter(s) {', '.join(unknown)}"
            + (f"; it takes {', '.join(sorted(allowed))}" if allowed else "; it takes none")
        )
    base = asdict(cls().config) if allowed else {}
    base.update({k: _typed_param(key, k, v, base.get(k)) for k, v in params.items()})
    try:
        config = cls.config_type(**base)
    except ConfigError:
        raise
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{key}: {exc}") from None
    return cls(config)


def distinct_policies(policies: Iterable[str | CachePolicy]) -> list[CachePolicy]:
    """The policies made (:func:`make_policy`), each name and config once, in order given (compared by ==,
    not hashing: a registered policy's config may not hash)."""
    out: list[CachePolicy] = []
    for p in map(make_policy, policies):
        if not any(q.name == p.name and q.config == p.config for q in out):
            out.append(p)
    return out


def _typed_param(policy: str, name: str, value: Any, default: Any) -> Any:
    """``value`` as the type of the parameter's default (true/false, or 1/0, for a flag; a whole number for
    a count); a one-line error otherwise."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(default, bool):
        if isinstance(value, str) and value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        if isinstance(value, bool) or (isinstance(value, int) and value in (0, 1)):
            return bool(value)
        raise ConfigError(f"{policy}: {name} takes true or false, got {value!r}")
    finite = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if isinstance(default, int):
        if not finite or value != int(value):
            raise ConfigError(f"{policy}: {name} takes a whole number, got {value!r}")
        return int(value)
    if isinstance(default, float):
        if not finite:
            raise ConfigError(f"{policy}: {name} takes a finite number, got {value!r}")
        return float(value)
    return value
